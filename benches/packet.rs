//! Criterion benchmark of the capture and packet layers: reading a pcap file (from memory) and
//! decoding its frames to TCP/UDP meta and payload, over lab captures looped in memory.
//! Throughput is reported in frames (elements) per second.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use dcsensor::capture::file::FileSource;
use dcsensor::capture::{Frame, LinkType};
use dcsensor::packet::{Decoder, PacketConfig};
use dcsensor::stats::Counters;
use std::hint::black_box;
use std::path::PathBuf;

/// Frames of a lab capture, repeated to `n` frames.
fn looped(name: &str, n: usize) -> Vec<(u64, LinkType, Vec<u8>, u32)> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata-pcaps/lab")
        .join(name);
    let mut src = FileSource::open(&path).expect("lab capture");
    let mut one = Vec::new();
    while let Some(f) = src.next_frame().expect("readable") {
        one.push((f.ts, f.link, f.data.to_vec(), f.orig_len));
    }
    one.iter().cycle().take(n).cloned().collect()
}

/// The same frames as a pcap file in memory.
fn pcap(frames: &[(u64, LinkType, Vec<u8>, u32)]) -> Vec<u8> {
    let mut o = Vec::new();
    for v in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 262_144, 1] {
        o.extend_from_slice(&v.to_le_bytes());
    }
    for (ts, _, data, orig) in frames {
        for v in [
            (ts / 1_000_000_000) as u32,
            ((ts % 1_000_000_000) / 1000) as u32,
            data.len() as u32,
            *orig,
        ] {
            o.extend_from_slice(&v.to_le_bytes());
        }
        o.extend_from_slice(data);
    }
    o
}

fn bench(c: &mut Criterion) {
    const N: usize = 20_000;
    // SMB/DCE-RPC over TCP, and DNS over UDP.
    for name in [
        "13_attack_recon_samr_lsarpc.pcap",
        "07_dns_many_lookups.pcap",
    ] {
        let frames = looped(name, N);
        let file: &'static [u8] = Box::leak(pcap(&frames).into_boxed_slice());
        let short = &name[..2];
        let mut g = c.benchmark_group(format!("packet/{short}"));
        g.throughput(Throughput::Elements(N as u64));
        g.bench_function("read", |b| {
            b.iter(|| {
                let mut src = FileSource::from_reader("bench", std::io::Cursor::new(file)).unwrap();
                let mut bytes = 0usize;
                while let Some(f) = src.next_frame().unwrap() {
                    bytes += f.data.len();
                }
                black_box(bytes)
            })
        });
        let counters = Counters::default();
        let mut dec = Decoder::new(PacketConfig::default());
        g.bench_function("decode", |b| {
            b.iter(|| {
                let mut n = 0usize;
                for (ts, link, data, orig_len) in &frames {
                    let f = Frame {
                        ts: *ts,
                        link: *link,
                        data,
                        orig_len: *orig_len,
                    };
                    if let Some((m, p)) = dec.decode(&f, &counters) {
                        n += p.len() + m.sport as usize;
                    }
                }
                black_box(n)
            })
        });
        g.bench_function("read_and_decode", |b| {
            b.iter(|| {
                let mut src = FileSource::from_reader("bench", std::io::Cursor::new(file)).unwrap();
                let mut n = 0usize;
                while let Some(f) = src.next_frame().unwrap() {
                    if let Some((m, p)) = dec.decode(&f, &counters) {
                        n += p.len() + m.dport as usize;
                    }
                }
                black_box(n)
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
