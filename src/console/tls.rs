//! The console's certificate when the configuration gives none: a self-signed pair (ECDSA P-256,
//! made with rcgen on the ring provider) written on first start and reused afterwards, so the
//! console is HTTPS from the start and browsers keep its `Secure` session cookie.

use std::io::Write;
use std::path::{Path, PathBuf};

/// The certificate and key files in `dir` (`console.crt`, `console.key`), made now when they are
/// not there yet; valid for `localhost`, this machine's name and the address in `listen`.
pub fn self_signed(dir: &Path, listen: &str) -> Result<(PathBuf, PathBuf), String> {
    let cert = dir.join("console.crt");
    let key = dir.join("console.key");
    if cert.is_file() && key.is_file() {
        return Ok((cert, key));
    }
    let mut names = vec!["localhost".to_string()];
    if let Ok(h) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
        let h = h.trim();
        if !h.is_empty() && h != "localhost" {
            names.push(h.to_string());
        }
    }
    if let Ok(a) = listen.parse::<std::net::SocketAddr>() {
        if !a.ip().is_unspecified() {
            names.push(a.ip().to_string());
        }
    }
    let pair = rcgen::generate_simple_self_signed(names.clone())
        .map_err(|e| format!("console: cannot make a self-signed certificate: {e}"))?;
    std::fs::create_dir_all(dir).map_err(|e| {
        format!(
            "console: cannot create {}: {e}; set [console] tls_dir to a writable directory, or give [api] tls_cert and tls_key",
            dir.display()
        )
    })?;
    let write = |p: &Path, text: &str, mode: u32| -> Result<(), String> {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(p)
            .and_then(|mut f| f.write_all(text.as_bytes()))
            .map_err(|e| format!("console: cannot write {}: {e}", p.display()))
    };
    write(&key, &pair.key_pair.serialize_pem(), 0o600)?;
    write(&cert, &pair.cert.pem(), 0o644)?;
    tracing::warn!(
        cert = %cert.display(),
        names = %names.join(", "),
        "console: no [api] tls_cert/tls_key given, made a self-signed certificate (browsers will ask to trust it)"
    );
    Ok((cert, key))
}

#[cfg(test)]
mod tests {
    #[test]
    fn made_once_then_reused_with_a_private_key() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("tls");
        let (c, k) = super::self_signed(&dir, "127.0.0.1:8480").unwrap();
        let pem = std::fs::read_to_string(&c).unwrap();
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert_eq!(
            std::fs::metadata(&k).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(crate::web::tls_config(&c, &k).is_ok());
        let again = super::self_signed(&dir, "127.0.0.1:8480").unwrap();
        assert_eq!(again, (c.clone(), k));
        assert_eq!(std::fs::read_to_string(&c).unwrap(), pem);
    }
}
