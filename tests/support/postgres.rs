//! Test support: a throwaway PostgreSQL cluster, started by the test with Debian's own binaries
//! (`/usr/lib/postgresql/*/bin`, or `$DCSENSOR_PG_BIN`) and stopped when dropped.
//!
//! `initdb` makes a cluster in a temporary directory, and `postgres` serves it on a free
//! loopback port (its unix socket in the same directory, so nothing of the system's PostgreSQL
//! is touched). PostgreSQL refuses to run as root: as root, both run as the `postgres` user
//! (the Debian package creates it), in a directory that user owns. Authentication is `trust`
//! on loopback; every database is the test's own. A test asks [`or_skip`] first, which goes
//! through `skip.rs` (SKIP when the binaries are missing, a failure under `CI=true`).

#![allow(dead_code)]

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The directory of PostgreSQL's server binaries: `$DCSENSOR_PG_BIN`, else the newest
/// `/usr/lib/postgresql/<version>/bin` holding `initdb` and `postgres`.
pub fn bin_dir() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("DCSENSOR_PG_BIN") {
        return Some(PathBuf::from(p));
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            (bin.join("initdb").is_file() && bin.join("postgres").is_file()).then_some((v, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, b)| b)
}

/// The binaries' directory, or None after reporting the skip (a failure under `CI=true`).
pub fn or_skip(test: &str) -> Option<PathBuf> {
    let b = bin_dir();
    let present = b.is_some() && (!is_root() || postgres_user().is_some());
    super::skip::need(
        test,
        present,
        "PostgreSQL's server (initdb, postgres; as root also the `postgres` user)",
        "apt-get install postgresql (or run .ci/setup), or set DCSENSOR_PG_BIN",
    );
    if present {
        b
    } else {
        None
    }
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// The `postgres` user's uid and gid.
fn postgres_user() -> Option<(u32, u32)> {
    let name = std::ffi::CString::new("postgres").ok()?;
    // SAFETY: getpwnam takes a NUL-terminated name and returns NULL or a pointer to a static
    // passwd entry, read at once (the tests call it before starting any other thread that
    // could call getpwnam).
    let pw = unsafe { libc::getpwnam(name.as_ptr()) };
    if pw.is_null() {
        return None;
    }
    // SAFETY: pw is non-null and points to a valid passwd entry.
    Some(unsafe { ((*pw).pw_uid, (*pw).pw_gid) })
}

/// A command that runs as the `postgres` user when we are root (PostgreSQL refuses root).
fn as_owner(program: PathBuf) -> Command {
    let mut c = Command::new(program);
    if is_root() {
        let (uid, gid) = postgres_user().expect("the postgres user (apt-get install postgresql)");
        c.uid(uid).gid(gid);
    }
    c
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running cluster. Stopped (fast shutdown, then SIGKILL) and its directory removed when
/// dropped.
pub struct Cluster {
    bin: PathBuf,
    child: Option<Child>,
    pub port: u16,
    dir: tempfile::TempDir,
    next_db: u32,
}

/// Settings for a cluster only a test uses: no fsync (a test never survives a power cut), so
/// many tests on a shared machine stay quick.
pub const FAST: &[(&str, &str)] = &[
    ("fsync", "off"),
    ("synchronous_commit", "off"),
    ("full_page_writes", "off"),
];

impl Cluster {
    /// initdb and start a cluster with `settings` (`-c name=value`, e.g. [`FAST`]).
    pub fn start(bin: &Path, settings: &[(&str, &str)]) -> Cluster {
        let dir = tempfile::Builder::new()
            .prefix("dcsensor-pg-")
            .tempdir()
            .unwrap();
        if is_root() {
            let (uid, gid) = postgres_user().unwrap();
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).unwrap();
        }
        let data = dir.path().join("data");
        let out = as_owner(bin.join("initdb"))
            .current_dir(dir.path())
            .args(["-D"])
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "initdb: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let mut c = Cluster {
            bin: bin.to_owned(),
            child: None,
            port: free_port(),
            dir,
            next_db: 0,
        };
        let log = std::fs::File::create(c.log_path()).unwrap();
        let mut cmd = as_owner(bin.join("postgres"));
        cmd.current_dir(c.dir.path())
            .arg("-D")
            .arg(&data)
            .args(["-h", "127.0.0.1", "-p", &c.port.to_string(), "-k"])
            .arg(c.dir.path())
            .args(["-c", "max_connections=200"]);
        for (k, v) in settings {
            cmd.args(["-c", &format!("{k}={v}")]);
        }
        c.child = Some(
            cmd.stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .unwrap(),
        );
        c.wait_ready();
        c
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("postgres.log")
    }

    fn log_tail(&self) -> String {
        let t = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        t.lines()
            .rev()
            .take(20)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(st) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("postgres exited with {st}:\n{}", self.log_tail());
            }
            let ok = Command::new(self.bin.join("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-p", &self.port.to_string()])
                .args(["-U", "postgres", "-t", "2"])
                .status()
                .is_ok_and(|s| s.success());
            if ok {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "postgres not ready on port {} within 60 s:\n{}",
                self.port,
                self.log_tail()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The URL of database `db` (as the `postgres` superuser, trusted on loopback).
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// Creates a new empty database and returns its URL.
    pub fn create_db(&mut self) -> String {
        self.next_db += 1;
        let name = format!("dcsensor_test_{}", self.next_db);
        let out = Command::new(self.bin.join("createdb"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-U", "postgres", &name])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "createdb {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.url(&name)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // SIGINT is PostgreSQL's fast shutdown: it ends its own backends and exits.
        // SAFETY: kill with a pid of our own child and a valid signal number.
        unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}
