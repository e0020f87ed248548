//! Tunnels end to end: the lab's mirror captures (the DC's traffic delivered through real VXLAN,
//! ERSPAN II, GRE and ERSPAN III over IPv6 tunnels) give exactly the records their inner traffic
//! gives, with `tunnel` set; the inner traffic is cut out of each capture independently of the
//! sensor, by `editcap -C` (the outer headers have a fixed length in these captures, checked
//! with tshark). Public tunnel captures of the shared corpus give their records too.

use dcsensor::pipeline::{replay_to_vec, Options};
use dcsensor::record::RecordType;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every record but `stats`, as JSON values.
fn records(p: &Path) -> Vec<Value> {
    let opts = Options {
        workers: 1,
        ..Default::default()
    };
    let r = replay_to_vec(&[p.to_path_buf()], &opts).unwrap_or_else(|e| panic!("{p:?}: {e}"));
    r.records
        .iter()
        .filter(|r| r.kind != RecordType::Stats)
        .map(|r| serde_json::to_value(r).unwrap())
        .collect()
}

/// A tool the test needs is missing: a SKIP line, or a failure under CI.
fn missing(what: &str) {
    let msg = format!("SKIP: {what}");
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{msg} (CI=true: required)");
    }
    println!("{msg}");
}

fn have(tool: &str) -> bool {
    Command::new(tool).arg("-v").output().is_ok()
}

/// Cuts `n` bytes off the front of every frame (`editcap -C n`).
fn chop(src: &Path, n: usize) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dcsensor-tunnel-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join(src.file_name().unwrap());
    let st = Command::new("editcap")
        .arg("-C")
        .arg(n.to_string())
        .arg(src)
        .arg(&out)
        .status()
        .unwrap();
    assert!(st.success());
    out
}

/// The protocol stacks tshark reads in a capture (`frame.protocols`, first four layers).
fn stacks(p: &Path) -> Vec<String> {
    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(p)
        .args(["-T", "fields", "-e", "frame.protocols"])
        .output()
        .unwrap();
    let mut v: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split(':').take(4).collect::<Vec<_>>().join(":"))
        .collect();
    v.sort();
    v.dedup();
    v
}

#[test]
fn lab_mirror_captures_give_the_records_of_their_inner_traffic() {
    if !have("editcap") || !have("tshark") {
        missing("editcap and tshark are needed (apt-get install tshark)");
        return;
    }
    // Capture, bytes of outer headers (Ethernet, IP, the tunnel's own), `tunnel`.
    let cases = [
        ("30_mirror_vxlan.pcap", 14 + 20 + 8 + 8, "vxlan"),
        ("31_mirror_erspan.pcap", 14 + 20 + 8 + 8, "erspan"),
        ("32_mirror_gretap.pcap", 14 + 20 + 4, "gre"),
        ("33_mirror_erspan3_ipv6.pcap", 14 + 40 + 8 + 12, "erspan"),
    ];
    for (name, outer, tunnel) in cases {
        let pcap = root().join("testdata-pcaps/lab").join(name);
        let bare = chop(&pcap, outer);
        // The cut leaves plain Ethernet frames with IPv4 TCP or UDP in each: tshark's reading.
        assert_eq!(
            stacks(&bare),
            ["eth:ethertype:ip:tcp", "eth:ethertype:ip:udp"],
            "{name}"
        );
        let want = records(&bare);
        let got = records(&pcap);
        // What the lab ran inside: Kerberos, DNS, NTLM over SMB2, SAMR.
        let count = |t: &str| want.iter().filter(|r| r["type"] == t).count();
        assert_eq!(
            (
                count("kerberos"),
                count("dns"),
                count("ntlm"),
                count("dcerpc")
            ),
            (4, 2, 1, 7),
            "{name}"
        );
        assert!(want.iter().all(|r| r.get("tunnel").is_none()));
        assert_eq!(got.len(), want.len(), "{name}");
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g["tunnel"], tunnel, "{name}: {g}");
            let mut g = g.clone();
            g.as_object_mut().unwrap().remove("tunnel");
            assert_eq!(&g, w, "{name}");
        }
        std::fs::remove_file(&bare).ok();
    }
}

#[test]
fn the_tunnelled_traffic_is_counted() {
    let pcap = root().join("testdata-pcaps/lab/30_mirror_vxlan.pcap");
    let opts = Options {
        workers: 1,
        ..Default::default()
    };
    let r = replay_to_vec(&[pcap], &opts).unwrap();
    let s = serde_json::to_value(&r.stats).unwrap();
    assert_eq!(s["tunnelled"], 71);
    assert_eq!(s["packets"], 71);
    assert_eq!(s["malformed"]["tunnel"], 0);
    assert_eq!(s["drops"]["tunnel_depth"], 0);
}

#[test]
fn public_tunnel_captures_give_records() {
    let shared = root().join("../shared/pcaps");
    if !shared.is_dir() {
        missing("../shared/pcaps is absent (the shared public corpus)");
        return;
    }
    // (capture, the DNS questions inside with their `tunnel`), as tshark's tsv lists them.
    let cases = [
        // IPv4 in GRE; two more DNS messages are only quoted in ICMP errors.
        (
            "zeek/tunnels__gre-sample/gre-sample.pcap",
            vec![("www.gleeble.org", "gre"), ("www.gleeble.org", "gre")],
        ),
        // Three VXLAN layers.
        (
            "zeek/tunnels__vxlan-triple-v2/vxlan-triple-v2.pcap",
            vec![("www.bbc.com", "vxlan/vxlan/vxlan")],
        ),
        // IPv4 in IPv6, then PPTP's enhanced GRE with PPP.
        (
            "arkime/6-4-gre-ppp-udp-4-dns/6-4-gre-ppp-udp-4-dns.pcap",
            vec![(
                "xqt-detect-mode2-97712e88-167a-45b9-93ee-913140e76678",
                "ipip/gre",
            )],
        ),
    ];
    for (rel, want) in cases {
        let got: Vec<(String, String)> = records(&shared.join(rel))
            .iter()
            .filter(|r| r["type"] == "dns")
            .map(|r| {
                (
                    r["query"].as_str().unwrap_or_default().to_string(),
                    r["tunnel"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(q, t)| (q.to_string(), t.to_string()))
            .collect();
        assert_eq!(got, want, "{rel}");
    }
}
