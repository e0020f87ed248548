//! Floods, corrupt files and counters, through the real binary: each flood is written as a pcap
//! by the test (spoofed SYNs, unanswered DNS from a million sources, dangling IP fragments,
//! TCP streams full of holes) and replayed before a real lab attack; every record of the attack
//! must still come out, and the peak memory of the `dcsensor` process (its `ru_maxrss`, taken
//! with `wait4`) must stay under the memory budget with 1, 2 and 4 workers.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const ATTACK: &str = "testdata-pcaps/lab/10_attack_kerberoasting.pcap";
const DC: [u8; 4] = [10, 99, 0, 1];
/// The budget the floods run under (MiB).
const BUDGET_MB: u64 = 128;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A pcap (microseconds, Ethernet) written frame by frame.
struct Pcap(std::io::BufWriter<std::fs::File>);

impl Pcap {
    fn create(p: &Path) -> Pcap {
        let mut w = std::io::BufWriter::new(std::fs::File::create(p).unwrap());
        let mut h = Vec::new();
        h.extend_from_slice(&0xa1b2c3d4u32.to_le_bytes());
        h.extend_from_slice(&2u16.to_le_bytes());
        h.extend_from_slice(&4u16.to_le_bytes());
        h.extend_from_slice(&[0; 8]);
        h.extend_from_slice(&65535u32.to_le_bytes());
        h.extend_from_slice(&1u32.to_le_bytes());
        w.write_all(&h).unwrap();
        Pcap(w)
    }

    fn frame(&mut self, ts_us: u64, ip: &[u8]) {
        let mut f = Vec::with_capacity(14 + ip.len());
        f.extend_from_slice(&[0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 6, 0x08, 0x00]);
        f.extend_from_slice(ip);
        let mut r = Vec::with_capacity(16);
        r.extend_from_slice(&((ts_us / 1_000_000) as u32).to_le_bytes());
        r.extend_from_slice(&((ts_us % 1_000_000) as u32).to_le_bytes());
        r.extend_from_slice(&(f.len() as u32).to_le_bytes());
        r.extend_from_slice(&(f.len() as u32).to_le_bytes());
        self.0.write_all(&r).unwrap();
        self.0.write_all(&f).unwrap();
    }
}

/// An IPv4 header (no options) for `len` bytes of transport header and payload.
fn ipv4(src: [u8; 4], dst: [u8; 4], proto: u8, len: usize, id: u16, frag: u16) -> Vec<u8> {
    let mut h = vec![0x45, 0];
    h.extend_from_slice(&((20 + len) as u16).to_be_bytes());
    h.extend_from_slice(&id.to_be_bytes());
    h.extend_from_slice(&frag.to_be_bytes());
    h.extend_from_slice(&[64, proto, 0, 0]);
    h.extend_from_slice(&src);
    h.extend_from_slice(&dst);
    h
}

#[allow(clippy::too_many_arguments)]
fn tcp(
    src: [u8; 4],
    sport: u16,
    dst: [u8; 4],
    dport: u16,
    seq: u32,
    flags: u8,
    data: &[u8],
) -> Vec<u8> {
    let mut p = ipv4(src, dst, 6, 20 + data.len(), 0, 0x4000);
    p.extend_from_slice(&sport.to_be_bytes());
    p.extend_from_slice(&dport.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&0u32.to_be_bytes());
    p.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    p.extend_from_slice(data);
    p
}

fn udp(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16, data: &[u8]) -> Vec<u8> {
    let mut p = ipv4(src, dst, 17, 8 + data.len(), 0, 0);
    p.extend_from_slice(&sport.to_be_bytes());
    p.extend_from_slice(&dport.to_be_bytes());
    p.extend_from_slice(&((8 + data.len()) as u16).to_be_bytes());
    p.extend_from_slice(&[0, 0]);
    p.extend_from_slice(data);
    p
}

/// A spoofed source: 16 M distinct addresses in 100.64.0.0/10-ish space, never the lab's.
fn spoofed(i: u32) -> [u8; 4] {
    let x = i.wrapping_mul(2_654_435_761);
    [100, 64 | ((x >> 16) as u8 & 0x3f), (x >> 8) as u8, x as u8]
}

/// The first packet time of the attack capture, in microseconds.
fn attack_start() -> u64 {
    let b = std::fs::read(root().join(ATTACK)).unwrap();
    assert_eq!(
        &b[..4],
        &[0xd4, 0xc3, 0xb2, 0xa1],
        "a little-endian microsecond pcap"
    );
    let s = u32::from_le_bytes(b[24..28].try_into().unwrap()) as u64;
    let us = u32::from_le_bytes(b[28..32].try_into().unwrap()) as u64;
    s * 1_000_000 + us
}

/// What a run printed and how much memory it took at most.
struct Run {
    /// Records by line (stats left out), with how many times each came.
    records: HashMap<String, usize>,
    stats: serde_json::Value,
    stderr: String,
    status: i32,
    peak_kib: i64,
}

/// Replays `files` with the real binary; the peak resident memory comes from `wait4`. Records
/// are kept only when `keep` has them (all when it is None), so that this process stays small:
/// the child's peak counts what its parent held when it was spawned.
// The child is reaped by `wait4` (which gives its rusage), not by `Child::wait`.
#[allow(clippy::zombie_processes)]
fn replay_keep(
    files: &[&Path],
    workers: usize,
    budget_mb: u64,
    dir: &Path,
    keep: Option<&HashMap<String, usize>>,
) -> Run {
    let out = dir.join(format!("out-{workers}.json"));
    let err = dir.join(format!("err-{workers}.txt"));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dcsensor"));
    cmd.args(["replay", "--no-progress", "--workers", &workers.to_string()])
        .args(["--memory-mb", &budget_mb.to_string(), "-o"])
        .arg(&out)
        .args(files)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&err).unwrap());
    let child = cmd.spawn().unwrap();
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(r, pid, "wait4");
    let mut records = HashMap::new();
    let mut stats = serde_json::Value::Null;
    for line in BufReader::new(std::fs::File::open(&out).unwrap()).lines() {
        let line = line.unwrap();
        if line.contains("\"type\":\"stats\"") {
            stats = serde_json::from_str(&line).unwrap();
        } else if keep.is_none_or(|k| k.contains_key(&line)) {
            *records.entry(line).or_insert(0) += 1;
        }
    }
    let _ = std::fs::remove_file(&out);
    Run {
        records,
        stats,
        stderr: std::fs::read_to_string(&err).unwrap_or_default(),
        status: if libc::WIFEXITED(status) {
            libc::WEXITSTATUS(status)
        } else {
            -1
        },
        peak_kib: usage.ru_maxrss,
    }
}

fn replay(files: &[&Path], workers: usize, budget_mb: u64, dir: &Path) -> Run {
    replay_keep(files, workers, budget_mb, dir, None)
}

/// The attack alone: the records every flood run must still contain.
fn attack_records(dir: &Path) -> HashMap<String, usize> {
    let run = replay(&[&root().join(ATTACK)], 1, 1024, dir);
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert!(run.records.len() >= 10, "the attack has records");
    run.records
}

/// Replays `flood` then the attack with 1, 2 and 4 workers: every attack record comes out and
/// the peak memory stays under the budget. Returns the runs' figures for the note.
fn survive(name: &str, flood: &Path, dir: &Path, check: impl Fn(&Run)) {
    let want = attack_records(dir);
    let attack = root().join(ATTACK);
    for workers in [1, 2, 4] {
        let t = std::time::Instant::now();
        let run = replay_keep(&[flood, &attack], workers, BUDGET_MB, dir, Some(&want));
        let secs = t.elapsed().as_secs_f64();
        assert_eq!(run.status, 0, "{name}, {workers} workers: {}", run.stderr);
        let missing: Vec<&String> = want
            .keys()
            .filter(|r| !run.records.contains_key(*r))
            .collect();
        assert!(
            missing.is_empty(),
            "{name}, {workers} workers: {} of {} attack records missing, e.g. {}",
            missing.len(),
            want.len(),
            missing[0]
        );
        let peak_mib = run.peak_kib as f64 / 1024.0;
        eprintln!(
            "flood {name}: {workers} worker(s): peak RSS {peak_mib:.1} MiB (budget {BUDGET_MB} MiB), {:.2} s, {} packets, evicted {} half-open / {} idle, drops {}",
            secs,
            run.stats["packets"],
            run.stats["flows_evicted_half_open"],
            run.stats["flows_evicted_idle"],
            run.stats["drops"]
        );
        assert!(
            peak_mib < BUDGET_MB as f64,
            "{name}, {workers} workers: peak RSS {peak_mib:.1} MiB over the {BUDGET_MB} MiB budget"
        );
        check(&run);
    }
}

#[test]
fn a_syn_flood_does_not_hide_the_kerberoasting_that_follows() {
    let dir = tempfile::tempdir().unwrap();
    let flood = dir.path().join("syn.pcap");
    let mut w = Pcap::create(&flood);
    // 300,000 spoofed SYNs to 88 and 445 over the 3 s before the attack (100 k/s), never answered.
    let start = attack_start() - 3_000_000;
    for i in 0..300_000u32 {
        let port = if i % 2 == 0 { 88 } else { 445 };
        let p = tcp(
            spoofed(i),
            1024 + (i % 60000) as u16,
            DC,
            port,
            i,
            0x02,
            b"",
        );
        w.frame(start + u64::from(i) / 100, &p);
    }
    drop(w);
    survive("SYN", &flood, dir.path(), |run| {
        assert!(run.stats["flows_evicted_half_open"].as_u64().unwrap() > 0);
        assert_eq!(run.stats["drops"]["flow_table"], 0);
        assert!(run.stats.get("flow_emergency").is_some());
    });
}

#[test]
fn a_million_unanswered_dns_queries_stay_within_the_budget() {
    let dir = tempfile::tempdir().unwrap();
    let flood = dir.path().join("dns.pcap");
    let mut w = Pcap::create(&flood);
    let start = attack_start() - 10_000_000;
    for i in 0..1_000_000u32 {
        // A standard query for <i>.example.com, A.
        let mut q = vec![(i >> 8) as u8, i as u8, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        let label = format!("h{i}");
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
        q.extend_from_slice(b"\x07example\x03com\x00\x00\x01\x00\x01");
        w.frame(
            start + u64::from(i) * 10,
            &udp(spoofed(i), 53000, DC, 53, &q),
        );
    }
    drop(w);
    survive("DNS", &flood, dir.path(), |run| {
        assert!(run.stats["flows_evicted_half_open"].as_u64().unwrap() > 0);
    });
}

#[test]
fn dangling_fragments_and_holed_streams_stay_within_the_budget() {
    let dir = tempfile::tempdir().unwrap();
    let flood = dir.path().join("holes.pcap");
    let mut w = Pcap::create(&flood);
    let start = attack_start() - 5_000_000;
    let payload = [0x41u8; 1200];
    for i in 0..100_000u32 {
        let t = start + u64::from(i) * 20;
        // A first fragment whose rest never comes.
        let mut f = ipv4(spoofed(i), DC, 17, 1200, i as u16, 0x2000);
        f.extend_from_slice(&payload);
        w.frame(t, &f);
        // A connection to 445 whose first segment is missing: 1200 bytes held out of order.
        let (src, sport) = (spoofed(i ^ 0x5555), 20000 + (i % 40000) as u16);
        w.frame(t, &tcp(src, sport, DC, 445, 1000, 0x02, b""));
        w.frame(
            t + 1,
            &tcp(src, sport, DC, 445, 1001 + 1200, 0x18, &payload),
        );
    }
    drop(w);
    survive("fragments+holes", &flood, dir.path(), |run| {
        assert!(run.stats["drops"]["fragment_memory"].as_u64().unwrap() > 0);
    });
}

#[test]
fn a_corrupt_record_header_keeps_every_record_before_it_like_a_cut() {
    let dir = tempfile::tempdir().unwrap();
    let lab = std::fs::read(root().join(ATTACK)).unwrap();
    let want = attack_records(dir.path());
    // The last record header claims 4 GiB.
    let mut corrupt = lab.clone();
    corrupt.extend_from_slice(&[
        0x10, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    ]);
    let bad = dir.path().join("corrupt.pcap");
    std::fs::write(&bad, &corrupt).unwrap();
    // The same capture cut in the middle of that header.
    let cut = dir.path().join("cut.pcap");
    std::fs::write(&cut, &corrupt[..lab.len() + 10]).unwrap();
    // A second file after the corrupt one is still read.
    let other = root().join("testdata-pcaps/lab/01_baseline_logon.pcap");
    let other = if other.exists() {
        other
    } else {
        root().join(ATTACK)
    };
    let alone = replay(&[&other], 1, 1024, dir.path());

    let run_bad = replay(&[&bad, &other], 1, 1024, dir.path());
    let run_cut = replay(&[&cut, &other], 1, 1024, dir.path());
    assert_eq!(
        run_bad.status, run_cut.status,
        "one exit status for cut and corrupt"
    );
    assert_eq!(run_bad.status, 0, "{}", run_bad.stderr);
    for r in want.keys().chain(alone.records.keys()) {
        assert!(run_bad.records.contains_key(r), "lost: {r}");
        assert!(run_cut.records.contains_key(r), "lost after a cut: {r}");
    }
    let offset = lab.len().to_string();
    assert!(
        run_bad.stderr.contains("corrupt.pcap") && run_bad.stderr.contains(&offset),
        "the warning names the file and the byte: {}",
        run_bad.stderr
    );
    assert!(run_cut.stderr.contains("cut.pcap") && run_cut.stderr.contains(&offset));
}

#[test]
fn a_record_mark_claiming_2_gib_counts_only_the_bytes_seen() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("mark.pcap");
    let mut w = Pcap::create(&p);
    let (c, s) = ([10, 1, 0, 2], DC);
    w.frame(1_000_000, &tcp(c, 50000, s, 88, 100, 0x02, b""));
    let mut data = vec![0x7f, 0xff, 0xff, 0xff, 0x6c, 0x84, 0x7f, 0xff, 0xff, 0xf9];
    data.extend_from_slice(&[0x30; 200]);
    w.frame(1_000_100, &tcp(c, 50000, s, 88, 101, 0x18, &data));
    drop(w);
    let run = replay(&[&p], 1, 1024, dir.path());
    assert_eq!(run.status, 0, "{}", run.stderr);
    let cap = run.stats["drops"]["decoder_cap"].as_u64().unwrap();
    assert!(cap > 0, "the oversized message is a drop");
    assert!(
        cap <= data.len() as u64,
        "{cap} counted, {} bytes seen",
        data.len()
    );
    assert_eq!(run.stats["partial"], true);
}

#[test]
fn an_ldap_message_claiming_2_gib_counts_only_the_bytes_seen() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("ldap.pcap");
    let mut w = Pcap::create(&p);
    let (c, s) = ([10, 1, 0, 3], DC);
    w.frame(1_000_000, &tcp(c, 50001, s, 389, 100, 0x02, b""));
    // An LDAPMessage (a modify request) whose BER length says 2^31 - 1 bytes; 400 come.
    let mut data = vec![0x30, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x02, 0x01, 0x07, 0x66];
    data.resize(400, 0x41);
    w.frame(1_000_100, &tcp(c, 50001, s, 389, 101, 0x18, &data[..250]));
    w.frame(1_000_200, &tcp(c, 50001, s, 389, 351, 0x18, &data[250..]));
    drop(w);
    let run = replay(&[&p], 1, 1024, dir.path());
    assert_eq!(run.status, 0, "{}", run.stderr);
    let cap = run.stats["drops"]["decoder_cap"].as_u64().unwrap();
    assert_eq!(
        cap,
        data.len() as u64,
        "the bytes seen, not the length claimed"
    );
    assert_eq!(run.stats["partial"], true);
}

#[test]
fn a_budget_too_small_for_the_workers_is_refused_with_what_to_give() {
    let dir = tempfile::tempdir().unwrap();
    let run = replay(&[&root().join(ATTACK)], 4, 40, dir.path());
    assert_eq!(run.status, 2);
    assert!(
        run.stderr.contains("too small") && run.stderr.contains("MiB"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_fifo_that_stays_silent_is_named_then_read_when_the_capture_comes() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("capture.fifo");
    let c = std::ffi::CString::new(fifo.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
    let out = dir.path().join("out.json");
    let err = dir.path().join("err.txt");
    let mut child = Command::new(env!("CARGO_BIN_EXE_dcsensor"))
        .args(["replay", "--no-progress", "-o"])
        .arg(&out)
        .arg(&fifo)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    // Nothing is written: after a few seconds the sensor says what it waits for (generous bound
    // for a loaded machine; no timing is asserted).
    let t = std::time::Instant::now();
    loop {
        let e = std::fs::read_to_string(&err).unwrap_or_default();
        if e.contains("waiting for a capture on this FIFO") {
            assert!(e.contains("capture.fifo"), "the notice names the FIFO: {e}");
            break;
        }
        if t.elapsed() > std::time::Duration::from_secs(120) {
            let _ = child.kill();
            panic!("no word about the silent FIFO: {e}");
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    // Then the capture comes, and is read as from a file.
    std::fs::write(&fifo, std::fs::read(root().join(ATTACK)).unwrap()).unwrap();
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "{}",
        std::fs::read_to_string(&err).unwrap()
    );
    let lines = std::fs::read_to_string(&out).unwrap();
    assert!(
        lines
            .lines()
            .filter(|l| l.contains("\"type\":\"kerberos\""))
            .count()
            >= 5
    );
}
