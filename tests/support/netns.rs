//! Test support: a lab of two network namespaces joined by a veth pair, for the tests that run
//! the sensor on a live interface (`tests/live.rs`, `tests/detect_live.rs`). The sensor listens
//! in `<tag>s`, `tcpreplay` sends captures from `<tag>t`; the namespaces have no other interface
//! and no route, so nothing leaves them. Needs root, `ip` and `tcpreplay` (a test without them is
//! skipped through [`super::skip`]); the namespaces are deleted when the [`Lab`] is dropped.
//!
//! ```ignore
//! #[path = "support/skip.rs"] mod skip;
//! #[path = "support/netns.rs"] mod netns;
//! let Some(lab) = netns::Lab::new("l") else { return };
//! ```

#![allow(dead_code)]

use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::{Command, Output};

/// Runs a command; whether it succeeded.
pub fn sh(args: &[&str]) -> bool {
    Command::new(args[0])
        .args(&args[1..])
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Two namespaces, `dcs<tag><pid>s` (sensor) and `dcs<tag><pid>t` (traffic), joined by veth
/// `d<tag><pid>a` (in the sensor's) and `d<tag><pid>b` (in the traffic's).
pub struct Lab {
    pub sensor_ns: String,
    pub traffic_ns: String,
    pub sensor_if: String,
    pub traffic_if: String,
}

impl Lab {
    /// Sets the lab up for test `tag` (a few letters: interface names are at most 15 bytes);
    /// None, with the skip reported, when root, `ip` or `tcpreplay` is missing.
    pub fn new(tag: &str) -> Option<Lab> {
        if !super::skip::need_root(tag)
            || !super::skip::need_tool(tag, "ip", "iproute2")
            || !super::skip::need_tool(tag, "tcpreplay", "tcpreplay")
        {
            return None;
        }
        let id = std::process::id() % 100_000;
        let lab = Lab {
            sensor_ns: format!("dcs{tag}{id}s"),
            traffic_ns: format!("dcs{tag}{id}t"),
            sensor_if: format!("d{tag}{id}a"),
            traffic_if: format!("d{tag}{id}b"),
        };
        let (s, t) = (&lab.sensor_ns, &lab.traffic_ns);
        let ok = sh(&["ip", "netns", "add", s])
            && sh(&["ip", "netns", "add", t])
            && sh(&[
                "ip",
                "link",
                "add",
                &lab.sensor_if,
                // the largest MTU: the lab captures hold frames coalesced by the capturing
                // host's GRO, some past 9000 bytes, which tcpreplay must send whole
                "mtu",
                "65535",
                "type",
                "veth",
                "peer",
                "name",
                &lab.traffic_if,
                "mtu",
                "65535",
            ])
            && sh(&["ip", "link", "set", &lab.sensor_if, "netns", s])
            && sh(&["ip", "link", "set", &lab.traffic_if, "netns", t])
            && sh(&["ip", "-n", s, "link", "set", &lab.sensor_if, "up"])
            && sh(&["ip", "-n", t, "link", "set", &lab.traffic_if, "up"])
            && sh(&["ip", "-n", s, "link", "set", "lo", "up"]);
        assert!(
            ok,
            "could not set up the namespaces (is another test holding them?)"
        );
        Some(lab)
    }

    /// A command run inside the sensor's namespace (`ip netns exec`).
    pub fn in_sensor(&self, cmd: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.sensor_ns]).args(cmd);
        c
    }

    /// Runs a command inside the sensor's namespace to its end.
    pub fn in_sensor_ns(&self, cmd: &[&str]) -> Output {
        self.in_sensor(cmd).output().unwrap()
    }

    /// Runs `f` on a thread inside the sensor's namespace (sockets it opens live there).
    pub fn inside<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        let path = self.sensor_ns_path();
        std::thread::spawn(move || {
            enter(&path);
            f()
        })
        .join()
        .unwrap()
    }

    /// The namespace file of the sensor's namespace (for [`enter`]).
    pub fn sensor_ns_path(&self) -> String {
        format!("/var/run/netns/{}", self.sensor_ns)
    }

    /// Sends a capture from the traffic namespace at `pps` packets per second.
    pub fn send(&self, pcap: &Path, pps: u32) {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.traffic_ns, "tcpreplay", "-q", "-i"])
            .arg(&self.traffic_if)
            .arg(format!("--pps={pps}"))
            .arg(pcap)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "tcpreplay: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = sh(&["ip", "netns", "del", &self.sensor_ns]);
        let _ = sh(&["ip", "netns", "del", &self.traffic_ns]);
    }
}

/// Moves the calling thread into the network namespace at `path`.
pub fn enter(path: &str) {
    let f = std::fs::File::open(path).unwrap();
    // SAFETY: setns on an open namespace file descriptor affects only the calling thread's
    // network namespace.
    let rc = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
    assert_eq!(rc, 0, "setns {path}: {}", std::io::Error::last_os_error());
}
