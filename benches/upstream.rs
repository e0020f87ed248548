//! Criterion benchmark: upstream. Records encoded into MessagePack batches per second (against
//! JSON lines, the other encoding), and records delivered per second through the whole upstream
//! `Output` (encode, spool with fsync, deliver, acknowledge) with a `file:` sink and, when
//! nats-server is installed, a NATS JetStream sink. Prints bytes per record in MessagePack and
//! in JSON first.

#[path = "../tests/support/nats.rs"]
mod nats;
#[path = "../tests/support/records.rs"]
mod records;
#[path = "../tests/support/skip.rs"]
mod skip;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use dcsensor::output::{JsonLines, Output};
use dcsensor::record::Record;
use dcsensor::upstream::batch::{Batcher, Limits};
use dcsensor::upstream::{SinkSpec, Upstream, UpstreamConfig};
use std::time::{Duration, Instant};

fn sizes(recs: &[Record]) {
    let packed: usize = recs
        .iter()
        .map(|r| rmp_serde::to_vec_named(r).unwrap().len())
        .sum();
    let text: usize = recs
        .iter()
        .map(|r| serde_json::to_vec(r).unwrap().len() + 1)
        .sum();
    let mut b = Batcher::new(Limits::default(), "sensor01", "dc01.example.org", 1);
    let now = Instant::now();
    for r in recs {
        b.push(r, now).unwrap();
    }
    b.flush();
    let batched: usize = std::iter::from_fn(|| b.pop_ready())
        .map(|c| c.bytes.len())
        .sum();
    let n = recs.len() as f64;
    eprintln!(
        "upstream: {} records; bytes per record: MessagePack {:.1} ({:.1} in batches of 1000), JSON lines {:.1}",
        recs.len(),
        packed as f64 / n,
        batched as f64 / n,
        text as f64 / n
    );
}

fn bench(c: &mut Criterion) {
    let recs = records::lab_records().to_vec();
    sizes(&recs);
    let mut g = c.benchmark_group("upstream");
    g.throughput(Throughput::Elements(recs.len() as u64));
    g.bench_function("encode_msgpack_batches", |bch| {
        let mut b = Batcher::new(Limits::default(), "sensor01", "dc01.example.org", 1);
        bch.iter(|| {
            let now = Instant::now();
            for r in &recs {
                b.push(r, now).unwrap();
            }
            b.flush();
            while let Some(x) = b.pop_ready() {
                std::hint::black_box(x);
            }
        })
    });
    g.bench_function("encode_json_lines", |bch| {
        let mut j = JsonLines::new(std::io::sink());
        bch.iter(|| {
            for r in &recs {
                j.record(r).unwrap();
            }
        })
    });
    // Steady state: one upstream open all along; an iteration is 4000 records (4 batches of
    // 1000) encoded, spooled (fsync), delivered and acknowledged (the spool file removed).
    let steady: Vec<Record> = recs.iter().cycle().take(4000).cloned().collect();
    g.throughput(Throughput::Elements(steady.len() as u64));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(5));
    let dir = tempfile::tempdir().unwrap();
    let through = |up: &mut Upstream, iters: u64| -> Duration {
        let start = Instant::now();
        for _ in 0..iters {
            let want = up.stats().batches_acked + 4;
            for r in &steady {
                up.record(r).unwrap();
            }
            let deadline = Instant::now() + Duration::from_secs(30);
            while up.stats().batches_acked < want {
                assert!(
                    Instant::now() < deadline,
                    "not acknowledged: {:?}",
                    up.stats()
                );
                std::thread::sleep(Duration::from_micros(200));
            }
        }
        start.elapsed()
    };
    let mut cfg = UpstreamConfig::with_sinks(vec![SinkSpec::File(dir.path().join("out"))]);
    cfg.sensor_id = Some("bench".into());
    let mut up = Upstream::open(cfg).unwrap();
    g.bench_function("deliver_file_sink", |bch| {
        bch.iter_custom(|n| through(&mut up, n))
    });
    up.finish().unwrap();
    drop(up);
    if let Some(bin) = nats::server_bin() {
        let srv = nats::Server::start(&bin, &dir.path().join("store"), nats::free_port());
        let mut cfg = UpstreamConfig::with_sinks(vec![SinkSpec::parse(&srv.url()).unwrap()]);
        cfg.spool = Some(dir.path().join("spool"));
        cfg.sensor_id = Some("bench".into());
        let mut up = Upstream::open(cfg).unwrap();
        g.bench_function("deliver_nats_sink", |bch| {
            bch.iter_custom(|n| through(&mut up, n))
        });
        up.finish().unwrap();
    } else {
        eprintln!("upstream/deliver_nats_sink skipped: nats-server not found");
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
