//! Test support: a test whose dependency is missing says so, is counted as skipped, and fails
//! under `CI=true`.
//!
//! Some tests need what a developer's machine may lack: root, network namespaces, nats-server,
//! tcpreplay, editcap, systemd-analyze, the shared corpus in `../shared`. Such a test asks
//! [`need`] first; when the dependency is missing it
//! - prints `SKIP <test>: <what> is missing: <how to get it>` (on stderr, shown by
//!   `cargo test -- --nocapture`, and appended to the file named by `DCSENSOR_SKIP_LOG`,
//!   which `.ci/test` sets, reports and counts as skipped in its summary line);
//! - panics when `CI=true`: `.ci/setup` installs every dependency, so a missing one on CI is a
//!   broken setup, never a pass.
//!
//! ```ignore
//! if !skip::need("conformance_with_tshark", corpus::shared_present(), "../shared/pcaps",
//!                "check out the shared corpus beside the repository") { return; }
//! ```

#![allow(dead_code)]

use std::io::Write;
use std::path::Path;

/// Whether a test may go on: `present` says whether `what` is there. When it is not, reports
/// the skip (see the module doc) and returns `false`; under `CI=true` it panics instead.
pub fn need(test: &str, present: bool, what: &str, how: &str) -> bool {
    if present {
        return true;
    }
    let line = format!("SKIP {test}: {what} is missing: {how}");
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{line} (CI=true: .ci/setup should have installed it, so this is a failure)");
    }
    eprintln!("{line}");
    if let Some(log) = std::env::var_os("DCSENSOR_SKIP_LOG") {
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
        {
            let _ = writeln!(f, "{line}");
        }
    }
    false
}

/// Whether `tool` runs (`tool --version`, or `tool -h` for those without it, exits at all).
pub fn has_tool(tool: &str) -> bool {
    ["--version", "-h"].iter().any(|arg| {
        std::process::Command::new(tool)
            .arg(arg)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok()
    })
}

/// [`need`] for a program on the PATH, with the package that provides it.
pub fn need_tool(test: &str, tool: &str, package: &str) -> bool {
    need(
        test,
        has_tool(tool),
        tool,
        &format!("apt-get install {package} (or run .ci/setup)"),
    )
}

/// Whether the shared corpus (`../shared/pcaps`) is beside the repository.
pub fn shared_present() -> bool {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/pcaps")
        .is_dir()
}

/// [`need`] for the shared corpus.
pub fn need_shared(test: &str) -> bool {
    need(
        test,
        shared_present(),
        "../shared/pcaps (the shared corpus of public captures)",
        "put the shared material beside the repository (../shared)",
    )
}

/// Whether the tests run as root (network namespaces, raw capture).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// [`need`] for root.
pub fn need_root(test: &str) -> bool {
    need(
        test,
        is_root(),
        "root",
        "run the tests as root (sudo -E cargo test), as .ci/test does on CI",
    )
}
