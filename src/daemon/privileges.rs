//! Dropping root: when started as root outside systemd, the sensor opens its captures and then
//! becomes an unprivileged user (`--user` / `service.user`), keeping nothing of root.

use std::ffi::CString;

/// Becomes `user` (its uid, primary gid, and only that group). Call after the captures are
/// open. Fails with a message saying what to do when the user is unknown or the switch fails.
pub fn drop_to(user: &str) -> Result<(), String> {
    let name = CString::new(user).map_err(|_| format!("user `{user}`: not a valid user name"))?;
    // SAFETY: getpwnam returns a pointer to static storage or null; we copy the fields out at once.
    let pw = unsafe { libc::getpwnam(name.as_ptr()) };
    if pw.is_null() {
        return Err(format!(
            "user `{user}` does not exist; create it (useradd --system {user}) or name another"
        ));
    }
    // SAFETY: pw is non-null and points to a valid passwd entry.
    let (uid, gid) = unsafe { ((*pw).pw_uid, (*pw).pw_gid) };
    // SAFETY: plain system calls with valid arguments; order matters (groups, gid, then uid).
    unsafe {
        if libc::setgroups(1, &gid) != 0 {
            return Err(format!(
                "cannot set the groups of `{user}`: {}",
                std::io::Error::last_os_error()
            ));
        }
        if libc::setresgid(gid, gid, gid) != 0 {
            return Err(format!(
                "cannot become group {gid}: {}",
                std::io::Error::last_os_error()
            ));
        }
        if libc::setresuid(uid, uid, uid) != 0 {
            return Err(format!(
                "cannot become user `{user}`: {}",
                std::io::Error::last_os_error()
            ));
        }
        // Regaining root must now fail.
        if libc::setuid(0) == 0 && uid != 0 {
            return Err("privileges could not be dropped: setuid(0) still succeeds".into());
        }
    }
    tracing::info!(user, uid, gid, "dropped privileges");
    Ok(())
}

/// Whether the process runs as root.
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_user_is_refused_with_advice() {
        let e = drop_to("no-such-user-dcsensor-test").unwrap_err();
        assert!(e.contains("does not exist") && e.contains("useradd"), "{e}");
    }
}
