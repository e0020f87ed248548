//! Upstream end to end, through the library: the file sink and `dump`, and NATS JetStream on a
//! real nats-server started here (round trip, a server killed and restarted mid-stream, a sensor
//! killed mid-stream, a three-node R3 cluster losing a node, a full spool with the upstream down).
//! The records are the lab captures' (`testdata-pcaps/lab`), replayed through the pipeline.

#[path = "support/nats.rs"]
mod nats;
#[path = "support/skip.rs"]
mod skip;
#[path = "support/records.rs"]
mod support_records;

use dcsensor::output::{JsonLines, Output};
use dcsensor::record::Record;
use dcsensor::stats::{Counter, Counters};
use dcsensor::upstream::{self, SinkSpec, Upstream, UpstreamConfig};
use serde::Deserialize;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support_records::lab_records;

/// `n` records: the lab records over and over, each round shifted by a day so that every record
/// is different.
fn records(n: usize) -> Vec<Record> {
    let lab = lab_records();
    (0..n)
        .map(|i| {
            let mut r = lab[i % lab.len()].clone();
            r.ts += (i / lab.len()) as u64 * 86_400 * dcsensor::record::NS;
            r
        })
        .collect()
}

fn json(recs: &[Record]) -> Vec<String> {
    recs.iter()
        .map(|r| serde_json::to_string(r).unwrap())
        .collect()
}

#[derive(Deserialize)]
struct Batch {
    schema: u64,
    sensor: String,
    host: String,
    seq: u64,
    records: Vec<serde_json::Value>,
}

fn batch_of(bytes: &[u8]) -> Batch {
    rmp_serde::from_slice(bytes).unwrap()
}

fn nats_cfg(url: &str, spool: &Path, sensor: &str, per_batch: usize) -> UpstreamConfig {
    let mut c = UpstreamConfig::with_sinks(vec![SinkSpec::parse(url).unwrap()]);
    c.spool = Some(spool.to_owned());
    c.sensor_id = Some(sensor.into());
    c.host = Some("test-host".into());
    c.batch.max_records = per_batch;
    c.finish_timeout = Duration::from_secs(30);
    c.nats.ack_timeout = Duration::from_secs(2);
    c
}

/// Checks what the stream holds: batches of `sensor` with seqs `first..` in order, each with its
/// message id, nothing twice; returns the records as JSON text, in order.
fn check_stream(msgs: &[nats::Msg], sensor: &str, first: u64) -> Vec<String> {
    let mut out = Vec::new();
    let mut ids = std::collections::HashSet::new();
    for (i, m) in msgs.iter().enumerate() {
        let b = batch_of(&m.payload);
        assert_eq!(
            (b.schema, b.sensor.as_str(), b.host.as_str()),
            (1, sensor, "test-host")
        );
        assert_eq!(b.seq, first + i as u64, "batches out of seq order");
        assert_eq!(m.subject, format!("dcsensor.{sensor}.records"));
        let id = m.msg_id.clone().expect("every message carries Nats-Msg-Id");
        assert_eq!(id, format!("{sensor}-{}", b.seq));
        assert!(ids.insert(id.clone()), "message id {id} twice");
        out.extend(b.records.iter().map(|r| serde_json::to_string(r).unwrap()));
    }
    out
}

fn spool_batches(dir: &Path) -> Vec<u64> {
    let mut v: Vec<u64> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| upstream::spool::seq_of_name(e.unwrap().file_name().to_str()?))
        .collect();
    v.sort();
    v
}

#[test]
fn file_sink_then_dump_prints_the_json_output() {
    let recs = records(lab_records().len());
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("out");
    let mut cfg =
        UpstreamConfig::with_sinks(vec![
            SinkSpec::parse(&format!("file:{}", out.display())).unwrap()
        ]);
    cfg.sensor_id = Some("t1".into());
    cfg.batch.max_records = 100;
    let mut up = Upstream::open(cfg.clone()).unwrap();
    assert_eq!(up.spool_dir(), Some(out.join(".spool").as_path()));
    for r in &recs {
        up.record(r).unwrap();
    }
    up.finish().unwrap();
    let st = up.stats();
    let batches = recs.len().div_ceil(100) as u64;
    assert_eq!(
        (st.batches_spooled, st.batches_acked, st.backlog_batches),
        (batches, batches, 0)
    );
    assert_eq!(st.records_acked, recs.len() as u64);
    assert_eq!(up.backlog(), Some(0));
    drop(up);
    assert_eq!(spool_batches(&out), (1..=batches).collect::<Vec<_>>());
    assert!(spool_batches(&out.join(".spool")).is_empty());

    let mut dumped = Vec::new();
    let sum = upstream::dump(std::slice::from_ref(&out), &mut dumped).unwrap();
    assert_eq!(sum.records, recs.len() as u64);
    let mut want = Vec::new();
    let mut j = JsonLines::new(&mut want);
    for r in &recs {
        j.record(r).unwrap();
    }
    j.finish().unwrap();
    drop(j);
    assert!(dumped == want, "dump differs from the JSON output");

    // The seq continues in the next run.
    let mut up = Upstream::open(cfg).unwrap();
    up.record(&recs[0]).unwrap();
    up.finish().unwrap();
    assert_eq!(spool_batches(&out).last(), Some(&(batches + 1)));
}

#[test]
fn messagepack_is_smaller_than_json_for_the_lab_records() {
    let recs = lab_records();
    let packed: usize = recs
        .iter()
        .map(|r| rmp_serde::to_vec_named(r).unwrap().len())
        .sum();
    let text: usize = recs
        .iter()
        .map(|r| serde_json::to_vec(r).unwrap().len() + 1)
        .sum();
    let n = recs.len() as f64;
    eprintln!(
        "lab records: {}; bytes per record: MessagePack {:.1}, JSON lines {:.1} ({:.0}%)",
        recs.len(),
        packed as f64 / n,
        text as f64 / n,
        100.0 * packed as f64 / text as f64
    );
    assert!(packed < text, "MessagePack {packed} bytes, JSON {text}");
}

#[test]
fn nats_round_trip() {
    let Some(bin) = nats::server_or_skip("nats_round_trip") else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let srv = nats::Server::start(&bin, &d.path().join("store"), nats::free_port());
    let recs = records(3 * lab_records().len());
    let spool = d.path().join("spool");
    let mut up = Upstream::open(nats_cfg(&srv.url(), &spool, "rt1", 200)).unwrap();
    for r in &recs {
        up.record(r).unwrap();
    }
    up.finish().unwrap();
    let st = up.stats();
    let batches = recs.len().div_ceil(200) as u64;
    assert_eq!(
        (
            st.batches_spooled,
            st.batches_acked,
            st.backlog_batches,
            st.batches_dropped
        ),
        (batches, batches, 0, 0)
    );
    assert_eq!(st.duplicates, 0);
    assert!(st.last_ack_age.is_some());
    assert!(spool_batches(&spool).is_empty());
    drop(up);

    let msgs = nats::read_stream(&srv.url(), "DCSENSOR", Duration::from_secs(10));
    assert_eq!(msgs.len() as u64, batches);
    assert_eq!(check_stream(&msgs, "rt1", 1), json(&recs));
}

/// Feeds `recs` over about `over` of wall time, calling `tick` as the pipeline does, and calls
/// `at(elapsed)` between records. Returns the longest `record` or `tick` call.
fn feed(
    up: &mut Upstream,
    recs: &[Record],
    over: Duration,
    mut at: impl FnMut(Duration),
) -> Duration {
    let start = Instant::now();
    let mut slowest = Duration::ZERO;
    let mut last_tick = start;
    let chunk = 50;
    let pause = over / (recs.len() / chunk).max(1) as u32;
    for (i, r) in recs.iter().enumerate() {
        let t = Instant::now();
        up.record(r).unwrap();
        if t.duration_since(last_tick) >= Duration::from_millis(200) {
            up.tick().unwrap();
            last_tick = t;
        }
        slowest = slowest.max(t.elapsed());
        if i % chunk == chunk - 1 {
            std::thread::sleep(pause);
            at(start.elapsed());
        }
    }
    slowest
}

#[test]
fn nats_outage_every_record_arrives_once() {
    let Some(bin) = nats::server_or_skip("nats_outage_every_record_arrives_once") else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let mut srv = nats::Server::start(&bin, &d.path().join("store"), nats::free_port());
    let recs = records(6000);
    let spool = d.path().join("spool");
    let mut up = Upstream::open(nats_cfg(&srv.url(), &spool, "out1", 50)).unwrap();
    let (mut killed, mut restarted) = (None, None);
    feed(&mut up, &recs, Duration::from_secs(6), |t| {
        if killed.is_none() && t >= Duration::from_millis(1500) {
            srv.kill();
            killed = Some(t);
        }
        if restarted.is_none() && t >= Duration::from_millis(4500) {
            srv.restart();
            restarted = Some(t);
        }
    });
    assert!(
        killed.is_some() && restarted.is_some(),
        "the server was not killed and restarted mid-stream"
    );
    up.finish().unwrap();
    let st = up.stats();
    assert_eq!(
        (
            st.batches_spooled,
            st.batches_acked,
            st.backlog_batches,
            st.batches_dropped
        ),
        (120, 120, 0, 0)
    );
    assert!(
        st.errors > 0,
        "the outage caused no failed delivery: the kill came too late"
    );
    drop(up);
    let msgs = nats::read_stream(&srv.url(), "DCSENSOR", Duration::from_secs(10));
    assert_eq!(msgs.len(), 120);
    assert_eq!(check_stream(&msgs, "out1", 1), json(&recs));
}

/// Run as a child process by `sensor_crash_loses_at_most_the_open_batch`: writes records into
/// an upstream whose NATS server is not there, says READY, and waits to be killed.
#[test]
#[ignore = "helper: run as a child process by sensor_crash_loses_at_most_the_open_batch"]
fn crash_child() {
    let (Ok(spool), Ok(url), Ok(n)) = (
        std::env::var("CRASH_SPOOL"),
        std::env::var("CRASH_URL"),
        std::env::var("CRASH_RECORDS"),
    ) else {
        return;
    };
    let n: usize = n.parse().unwrap();
    let mut up = Upstream::open(nats_cfg(&url, Path::new(&spool), "crash1", 100)).unwrap();
    for r in &records(n) {
        up.record(r).unwrap();
    }
    println!("READY {}", up.stats().batches_spooled);
    use std::io::Write;
    std::io::stdout().flush().unwrap();
    std::thread::sleep(Duration::from_secs(30));
}

#[test]
fn sensor_crash_loses_at_most_the_open_batch() {
    use std::io::BufRead;
    let Some(bin) = nats::server_or_skip("sensor_crash_loses_at_most_the_open_batch") else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let spool = d.path().join("spool");
    let port = nats::free_port();
    let url = format!("nats://127.0.0.1:{port}");
    // 1050 records at 100 per batch: 10 batches closed and spooled, 50 records in the open one.
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "crash_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("CRASH_SPOOL", &spool)
        .env("CRASH_URL", &url)
        .env("CRASH_RECORDS", "1050")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = lines.find_map(|l| {
        // libtest may have printed `test crash_child ... ` on the same line.
        let l = l.ok()?;
        l.find("READY").map(|at| l[at..].to_owned())
    });
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert_eq!(ready.as_deref(), Some("READY 10"));
    assert_eq!(spool_batches(&spool), (1..=10).collect::<Vec<_>>());

    // Start again on the same spool, with the server up: the 10 go first, the seq continues.
    let srv = nats::Server::start(&bin, &d.path().join("store"), port);
    let mut up = Upstream::open(nats_cfg(&url, &spool, "crash1", 100)).unwrap();
    let more = records(1300)[1100..].to_vec();
    for r in &more {
        up.record(r).unwrap();
    }
    up.finish().unwrap();
    assert_eq!(up.stats().batches_acked, 12);
    drop(up);
    let msgs = nats::read_stream(&srv.url(), "DCSENSOR", Duration::from_secs(10));
    let got = check_stream(&msgs, "crash1", 1);
    let first = records(1050);
    // Lost: exactly the 50 records of the batch being built.
    let mut want = json(&first[..1000]);
    want.extend(json(&more));
    assert_eq!(got.len(), 1200);
    assert_eq!(got, want);
}

#[test]
fn nats_cluster_r3_loses_nothing_when_a_node_stops() {
    let Some(bin) = nats::server_or_skip("nats_cluster_r3_loses_nothing_when_a_node_stops") else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let mut cluster = nats::Cluster::start(&bin, d.path());
    let recs = records(4000);
    let spool = d.path().join("spool");
    let mut cfg = nats_cfg(&cluster.urls(), &spool, "r3", 50);
    cfg.nats.replicas = 3;
    cfg.nats.stream = "DCSENSOR_R3".into();
    let mut up = Upstream::open(cfg).unwrap();
    let mut stopped = false;
    feed(&mut up, &recs, Duration::from_secs(5), |t| {
        if !stopped && t >= Duration::from_millis(2000) {
            cluster.nodes[0].kill();
            stopped = true;
        }
    });
    assert!(stopped);
    up.finish().unwrap();
    let st = up.stats();
    assert_eq!(
        (st.batches_spooled, st.batches_acked, st.backlog_batches),
        (80, 80, 0)
    );
    drop(up);
    let msgs = nats::read_stream(
        &cluster.nodes[1].url(),
        "DCSENSOR_R3",
        Duration::from_secs(20),
    );
    assert_eq!(msgs.len(), 80);
    assert_eq!(check_stream(&msgs, "r3", 1), json(&recs));
}

#[test]
fn spool_full_with_upstream_down_drops_the_oldest_and_counts() {
    let d = tempfile::tempdir().unwrap();
    let spool = d.path().join("spool");
    // Nothing listens on this port: the upstream is down all along.
    let url = format!("nats://127.0.0.1:{}", nats::free_port());
    // One record over and over (a microsecond apart): every batch has the same size.
    let recs: Vec<Record> = (0..2000u64)
        .map(|i| {
            let mut r = lab_records()[0].clone();
            r.ts += i * 1000;
            r
        })
        .collect();
    let mut cfg = nats_cfg(&url, &spool, "full1", 50);
    cfg.finish_timeout = Duration::from_millis(500);
    // Room for about five batches of 50 records.
    let one: usize = recs[..50]
        .iter()
        .map(|r| rmp_serde::to_vec_named(r).unwrap().len())
        .sum();
    cfg.spool_limit = 5 * one as u64 + one as u64 / 2;
    let counters = Arc::new(Counters::default());
    let mut up = Upstream::open(cfg).unwrap();
    up.count_into(counters.clone());
    let slowest = feed(&mut up, &recs, Duration::from_millis(500), |_| {});
    let t = Instant::now();
    up.finish().unwrap();
    let finish_took = t.elapsed();
    let st = up.stats();
    let left = spool_batches(&spool);
    assert_eq!(st.batches_spooled, 40);
    assert_eq!(st.batches_acked, 0);
    assert_eq!(st.batches_dropped + left.len() as u64, 40);
    assert_eq!(st.records_dropped, 50 * st.batches_dropped);
    assert_eq!(counters.get(Counter::DropUpstream), st.records_dropped);
    assert_eq!(up.backlog(), Some(left.len() as u64));
    assert_eq!(st.backlog_batches, left.len() as u64);
    // The newest batches are kept (the one the sink is trying to send may stay too).
    let newest: Vec<u64> = (36..=40).collect();
    assert!(left.ends_with(&newest[1..]), "left in the spool: {left:?}");
    assert!(
        left == newest || left == [&[1][..], &newest[1..]].concat(),
        "left in the spool: {left:?}"
    );
    assert!(st.batches_dropped >= 34, "{st:?}");
    // Capture is never held up by the upstream: generous bounds on a loaded 2-core machine.
    assert!(
        slowest < Duration::from_secs(1),
        "a record() call took {slowest:?}"
    );
    assert!(
        finish_took < Duration::from_secs(5),
        "finish took {finish_took:?}"
    );
}

/// Through the binary: `replay X --sink file:DIR` then `dump DIR` prints what `replay X` prints.
#[test]
fn binary_replay_sink_file_then_dump_equals_replay() {
    let exe = env!("CARGO_BIN_EXE_dcsensor");
    let d = tempfile::tempdir().unwrap();
    let pcap = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata-pcaps/lab/02_benign_smb_kerberos.pcap");
    let plain = std::process::Command::new(exe)
        .arg("replay")
        .arg(&pcap)
        .args(["--no-progress", "--workers", "1"])
        .output()
        .unwrap();
    assert!(plain.status.success());
    let dir = d.path().join("batches");
    let sunk = std::process::Command::new(exe)
        .arg("replay")
        .arg(&pcap)
        .args(["--no-progress", "--workers", "1"])
        .arg("--sink")
        .arg(format!("file:{}", dir.display()))
        .arg("--sensor-id")
        .arg("bin1")
        .output()
        .unwrap();
    assert!(
        sunk.status.success(),
        "{}",
        String::from_utf8_lossy(&sunk.stderr)
    );
    let dumped = std::process::Command::new(exe)
        .arg("dump")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        dumped.status.success(),
        "{}",
        String::from_utf8_lossy(&dumped.stderr)
    );
    // `stats` records carry wall-clock figures; every other record must be identical.
    let keep = |out: &[u8]| -> Vec<String> {
        String::from_utf8_lossy(out)
            .lines()
            .filter(|l| !l.contains(r#""type":"stats""#))
            .map(str::to_owned)
            .collect()
    };
    let want = keep(&plain.stdout);
    assert!(!want.is_empty());
    assert_eq!(keep(&dumped.stdout), want);
}

/// A reload (HUP) opens the new output while the old one still runs; the old one finishes and
/// goes before the new one's first record, which then takes over the spool and the seq.
#[test]
fn reload_hands_the_spool_over() {
    let recs = records(250);
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("out");
    let mut cfg = UpstreamConfig::with_sinks(vec![SinkSpec::File(out.clone())]);
    cfg.sensor_id = Some("rl1".into());
    cfg.batch.max_records = 100;
    let mut old = Upstream::open(cfg.clone()).unwrap();
    for r in &recs[..150] {
        old.record(r).unwrap();
    }
    let mut new = Upstream::open(cfg.clone()).unwrap();
    old.finish().unwrap();
    drop(old);
    for r in &recs[150..] {
        new.record(r).unwrap();
    }
    new.finish().unwrap();
    assert_eq!(new.stats().batches_acked, 1);
    drop(new);
    assert_eq!(spool_batches(&out), vec![1, 2, 3]);
    let mut dumped = Vec::new();
    upstream::dump(std::slice::from_ref(&out), &mut dumped).unwrap();
    let lines: Vec<String> = String::from_utf8(dumped)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(lines, json(&recs));
}
