//! Criterion benchmark: upstream. Records encoded into MessagePack batches per second (against
//! JSON lines, the other encoding), the whole upstream `Output` with a `file:` sink (spool and
//! sink fsyncs included) and, when nats-server is installed, with a NATS JetStream sink
//! (delivered and acknowledged). Prints bytes per record in MessagePack and in JSON first.

#[path = "../tests/support/nats.rs"]
mod nats;
#[path = "../tests/support/records.rs"]
mod records;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use dcsensor::output::{JsonLines, Output};
use dcsensor::upstream::batch::{Batcher, Limits};
use dcsensor::upstream::{SinkSpec, Upstream, UpstreamConfig};
use std::time::{Duration, Instant};

fn sizes(recs: &[dcsensor::record::Record]) {
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
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(5));
    let dir = tempfile::tempdir().unwrap();
    let mut run = 0u32;
    g.bench_function("output_file_sink", |bch| {
        bch.iter_batched(
            || {
                run += 1;
                let out = dir.path().join(format!("f{run}"));
                let mut cfg = UpstreamConfig::with_sinks(vec![SinkSpec::File(out)]);
                cfg.sensor_id = Some("bench".into());
                Upstream::open(cfg).unwrap()
            },
            |mut up| {
                for r in &recs {
                    up.record(r).unwrap();
                }
                up.finish().unwrap();
                assert_eq!(up.stats().backlog_batches, 0);
            },
            BatchSize::PerIteration,
        )
    });
    if let Some(bin) = nats::server_bin() {
        let srv = nats::Server::start(&bin, &dir.path().join("store"), nats::free_port());
        g.bench_function("output_nats_sink", |bch| {
            bch.iter_batched(
                || {
                    run += 1;
                    let mut cfg =
                        UpstreamConfig::with_sinks(vec![SinkSpec::parse(&srv.url()).unwrap()]);
                    cfg.spool = Some(dir.path().join(format!("s{run}")));
                    cfg.sensor_id = Some(format!("bench{run}"));
                    Upstream::open(cfg).unwrap()
                },
                |mut up| {
                    for r in &recs {
                        up.record(r).unwrap();
                    }
                    up.finish().unwrap();
                    assert_eq!(up.stats().backlog_batches, 0);
                },
                BatchSize::PerIteration,
            )
        });
    } else {
        eprintln!("upstream/output_nats_sink skipped: nats-server not found");
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
