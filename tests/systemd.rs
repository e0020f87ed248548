//! The shipped systemd unit, checked by the real `systemd-analyze`: it verifies, and its
//! exposure rating is 2.0 or lower.

#[path = "support/skip.rs"]
mod skip;

use std::path::Path;
use std::process::Command;

fn analyze() -> Option<&'static str> {
    let ok = Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    skip::need(
        "systemd",
        ok,
        "systemd-analyze",
        "apt-get install systemd (or run .ci/setup)",
    )
    .then_some("systemd-analyze")
}

/// The unit with its ExecStart pointed at the binary cargo built (verify checks it exists).
fn unit_for_this_build(dir: &Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string("systemd/dcsensor.service").unwrap();
    let text = text.replace("/usr/bin/dcsensor", env!("CARGO_BIN_EXE_dcsensor"));
    let path = dir.join("dcsensor.service");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn the_unit_verifies() {
    let Some(sa) = analyze() else { return };
    let dir = tempdir("verify");
    let unit = unit_for_this_build(&dir);
    let out = Command::new(sa).arg("verify").arg(&unit).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // verify prints nothing about a clean unit (it may note unrelated units of the host).
    let about_us: Vec<&str> = stderr.lines().filter(|l| l.contains("dcsensor")).collect();
    assert!(
        out.status.success() && about_us.is_empty(),
        "systemd-analyze verify: {stderr}"
    );
}

#[test]
fn the_unit_is_rated_2_or_lower_and_has_what_the_issue_names() {
    let Some(sa) = analyze() else { return };
    let out = Command::new(sa)
        .args(["security", "--offline=yes", "--no-pager"])
        .arg("systemd/dcsensor.service")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .expect("an overall rating");
    let rating: f64 = line
        .split(':')
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|r| r.parse().ok())
        .expect("a number");
    assert!(rating <= 2.0, "{line}");
    let unit = std::fs::read_to_string("systemd/dcsensor.service").unwrap();
    for needed in [
        "Type=notify",
        "WatchdogSec=",
        "User=dcsensor",
        "CapabilityBoundingSet=CAP_NET_RAW CAP_NET_ADMIN",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ReadWritePaths=/var/lib/dcsensor",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "RestrictAddressFamilies=",
        "SystemCallFilter=@system-service",
        "MemoryMax=",
        "CPUQuota=",
    ] {
        assert!(
            unit.lines().any(|l| l.starts_with(needed)),
            "the unit lacks {needed}"
        );
    }
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("dcsensor-test-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn the_center_unit_verifies_and_is_rated_2_5_or_lower() {
    let Some(sa) = analyze() else { return };
    let dir = tempdir("center");
    let text = std::fs::read_to_string("systemd/dcsensor-center.service").unwrap();
    let unit = dir.join("dcsensor-center.service");
    std::fs::write(
        &unit,
        text.replace("/usr/bin/dcsensor", env!("CARGO_BIN_EXE_dcsensor")),
    )
    .unwrap();
    let out = Command::new(sa).arg("verify").arg(&unit).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let about_us: Vec<&str> = stderr.lines().filter(|l| l.contains("dcsensor")).collect();
    assert!(
        out.status.success() && about_us.is_empty(),
        "systemd-analyze verify: {stderr}"
    );
    let out = Command::new(sa)
        .args(["security", "--offline=yes", "--no-pager"])
        .arg("systemd/dcsensor-center.service")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .expect("an overall rating");
    let rating: f64 = line
        .split(':')
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|r| r.parse().ok())
        .expect("a number");
    assert!(rating <= 2.5, "{line}");
    // The example configuration it names is one the center accepts.
    let out = Command::new(env!("CARGO_BIN_EXE_dcsensor"))
        .args(["center", "check-config", "systemd/dcsensor-center.toml"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
