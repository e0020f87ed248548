//! The replay path end to end, through the real binary: every shared capture replays cleanly,
//! bad input gets a clear answer, formats and worker counts do not change the records.

#[path = "support/skip.rs"]
mod skip;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_dcsensor"))
}

/// The shared corpus, or None after reporting the skip (a failure under `CI=true`).
fn shared(test: &str) -> Option<PathBuf> {
    skip::need_shared(test).then(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/pcaps"))
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("dcsensor-replay-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn captures_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            captures_under(&p, out);
        } else if matches!(
            p.extension().and_then(|e| e.to_str()),
            Some("pcap" | "pcapng" | "cap")
        ) {
            out.push(p);
        }
    }
}

fn lines(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// Records without the stats, each as its JSON text, sorted: a multiset to compare runs.
fn record_set(out: &Output) -> Vec<String> {
    let mut v: Vec<String> = lines(out)
        .into_iter()
        .filter(|r| r["type"] != "stats")
        .map(|r| r.to_string())
        .collect();
    v.sort();
    v
}

#[test]
fn every_shared_capture_replays_with_exit_0_and_a_final_stats_record() {
    let Some(root) = shared("every_shared_capture_replays_with_exit_0_and_a_final_stats_record")
    else {
        return;
    };
    let mut files = Vec::new();
    captures_under(&root, &mut files);
    assert!(
        files.len() > 100,
        "expected the shared corpus, found {}",
        files.len()
    );
    let mut total_records = 0;
    for f in &files {
        let out = bin()
            .args(["replay", "--workers", "2"])
            .arg(f)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{}: {stderr}", f.display());
        assert!(!stderr.contains("panicked"), "{}: {stderr}", f.display());
        let recs = lines(&out);
        let last = recs
            .last()
            .unwrap_or_else(|| panic!("{}: no output", f.display()));
        assert_eq!(last["type"], "stats", "{}", f.display());
        assert_eq!(last["last"], true);
        assert!(last["packets"].as_u64().unwrap() > 0, "{}", f.display());
        total_records += recs.len() - 1;
    }
    assert!(
        total_records > 1000,
        "the corpus should give many records, got {total_records}"
    );
}

#[test]
fn a_file_that_is_not_a_capture_is_a_one_line_error_and_exit_2() {
    let d = tmp("notcap");
    let f = d.join("notes.txt");
    std::fs::write(&f, b"this is not a capture file at all\n").unwrap();
    let out = bin().arg("replay").arg(&f).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("notes.txt") && stderr.contains("not a pcap"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());

    let missing = bin()
        .arg("replay")
        .arg(d.join("missing.pcap"))
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("missing.pcap"));
}

#[test]
fn an_unknown_link_type_is_an_error_naming_it() {
    let d = tmp("link");
    let f = d.join("user0.pcap");
    let mut bytes = Vec::new();
    bytes.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    bytes.extend_from_slice(&2u16.to_le_bytes());
    bytes.extend_from_slice(&4u16.to_le_bytes());
    bytes.extend_from_slice(&[0; 8]);
    bytes.extend_from_slice(&65535u32.to_le_bytes());
    bytes.extend_from_slice(&147u32.to_le_bytes()); // LINKTYPE_USER0
    std::fs::write(&f, &bytes).unwrap();
    let out = bin().arg("replay").arg(&f).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("user0.pcap") && stderr.contains("147"),
        "{stderr}"
    );
}

#[test]
fn a_capture_cut_short_keeps_every_record_before_the_cut() {
    let full_path = Path::new("testdata-pcaps/lab/07_dns_many_lookups.pcap");
    let full = bin()
        .args(["replay", "--workers", "1"])
        .arg(full_path)
        .output()
        .unwrap();
    assert_eq!(full.status.code(), Some(0));
    let all = record_set(&full);
    let bytes = std::fs::read(full_path).unwrap();
    let d = tmp("cut");
    let cut = d.join("cut.pcap");
    let at = bytes.len() / 2 + 7; // in the middle of some record
    std::fs::write(&cut, &bytes[..at]).unwrap();
    let out = bin()
        .args(["replay", "--workers", "1"])
        .arg(&cut)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cut.pcap") && stderr.contains("byte"),
        "{stderr}"
    );
    let part = record_set(&out);
    assert!(
        part.len() > all.len() / 3,
        "{} of {}",
        part.len(),
        all.len()
    );
    // Every query answered before the cut is there exactly as in the full replay.
    let full_dns: std::collections::HashSet<&String> = all.iter().collect();
    let answered: Vec<&String> = part.iter().filter(|r| r.contains("\"rcode\"")).collect();
    assert!(answered.len() > all.len() / 4);
    for r in answered {
        assert!(full_dns.contains(r), "not in the full replay: {r}");
    }
}

#[test]
fn the_worker_count_does_not_change_the_records() {
    let f = Path::new("testdata-pcaps/lab/17_attack_pass_the_hash.pcap");
    let one = bin()
        .args(["replay", "--workers", "1"])
        .arg(f)
        .output()
        .unwrap();
    let three = bin()
        .args(["replay", "--workers", "3"])
        .arg(f)
        .output()
        .unwrap();
    assert_eq!(one.status.code(), Some(0));
    let a = record_set(&one);
    assert!(!a.is_empty());
    assert_eq!(a, record_set(&three));
}

#[test]
fn pcapng_and_nanosecond_files_give_the_same_records_as_pcap() {
    let editcap_ok = Command::new("editcap")
        .arg("-h")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !skip::need(
        "formats",
        editcap_ok,
        "editcap",
        "apt-get install wireshark-common (or run .ci/setup)",
    ) {
        return;
    }
    let f = Path::new("testdata-pcaps/lab/01_benign_kerberos_logon.pcap");
    let d = tmp("formats");
    let ng = d.join("k.pcapng");
    let ns = d.join("k-ns.pcap");
    assert!(Command::new("editcap")
        .args(["-F", "pcapng"])
        .arg(f)
        .arg(&ng)
        .status()
        .unwrap()
        .success());
    assert!(Command::new("editcap")
        .args(["-F", "nsecpcap"])
        .arg(f)
        .arg(&ns)
        .status()
        .unwrap()
        .success());
    let base = record_set(
        &bin()
            .args(["replay", "--workers", "1"])
            .arg(f)
            .output()
            .unwrap(),
    );
    assert!(!base.is_empty());
    for other in [&ng, &ns] {
        let out = bin()
            .args(["replay", "--workers", "1"])
            .arg(other)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", other.display());
        assert_eq!(record_set(&out), base, "{}", other.display());
    }
}

#[test]
fn output_goes_to_a_file_when_asked() {
    let d = tmp("outfile");
    let out_path = d.join("records.jsonl");
    let f = Path::new("testdata-pcaps/lab/05_benign_dns.pcap");
    let out = bin()
        .args(["replay", "--output"])
        .arg(&out_path)
        .arg(f)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    let text = std::fs::read_to_string(&out_path).unwrap();
    let n = text
        .lines()
        .filter(|l| l.contains("\"type\":\"dns\""))
        .count();
    assert!(n > 0);
    assert!(text.lines().last().unwrap().contains("\"type\":\"stats\""));
}

#[test]
fn term_during_a_paced_replay_flushes_every_record() {
    let f = Path::new("testdata-pcaps/lab/07_dns_many_lookups.pcap");
    // 0.127 s of capture at 1/20 speed lasts about 2.5 s; TERM comes after 1 s.
    let child = bin()
        .args(["replay", "--workers", "2", "--speed", "0.05"])
        .arg(f)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1000));
    // SAFETY: kill with a valid pid of our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let recs = lines(&out);
    let last = recs.last().unwrap();
    assert_eq!(last["type"], "stats");
    assert_eq!(last["last"], true);
    let printed = recs.iter().filter(|r| r["type"] != "stats").count() as u64;
    assert_eq!(
        last["records"].as_u64().unwrap(),
        printed,
        "every record the decoders made was printed"
    );
    let full = record_set(
        &bin()
            .args(["replay", "--workers", "1"])
            .arg(f)
            .output()
            .unwrap(),
    );
    assert!(
        printed > 0 && (printed as usize) < full.len(),
        "stopped in the middle: {printed} of {}",
        full.len()
    );
}
