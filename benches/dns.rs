//! Criterion benchmark: dns. Messages per second through the parser (real queries and responses
//! from the lab capture `05_benign_dns.pcap`, and a response with a set of eight SRV answers made
//! of that capture's SRV record), answers rendered as text, and records per second through the
//! UDP decoder.
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use dcsensor::proto::dns::{self, parse};
use dcsensor::proto::{Ctx, DecoderConfig, Dir, FlowInfo, Shared};
use dcsensor::record::{Record, Transport};
use dcsensor::stats::Counters;
use std::hint::black_box;

/// `05_benign_dns.pcap`: seven queries and their responses (A, SRV, SOA, PTR, NXDOMAIN).
const LAB: &[&str] = &[
    "f1380120000100000000000103646331036c6162076578616d706c65000001000100002904d000000000000c000a0008e4c0d322d393a43f",
    "f1388520000100010001000003646331036c6162076578616d706c650000010001c00c000100010000038400040a630001c0100006000100000e100023c00c0a686f73746d6173746572c0100000000200000384000002580001518000000e10",
    "85cc01200001000000000001055f6c646170045f746370036c6162076578616d706c65000021000100002904d000000000000c000a0008e4c0d322d393a43f",
    "85cc85200001000100010000055f6c646170045f746370036c6162076578616d706c650000210001c00c0021000100000384000c00000064018503646331c017c0170006000100000e100023c03a0a686f73746d6173746572c0170000000200000384000002580001518000000e10",
    "625e01200001000000000001055f6c646170045f7463701744656661756c742d46697273742d536974652d4e616d65065f7369746573026463065f6d73646373036c6162076578616d706c65000021000100002904d000000000000c000a0008e4c0d322d393a43f",
    "625e85200001000100010000055f6c646170045f7463701744656661756c742d46697273742d536974652d4e616d65065f7369746573026463065f6d73646373036c6162076578616d706c650000210001c00c0021000100000384000c00000064018503646331c040c0390006000100000e100023c0630a686f73746d6173746572c0400000000100000384000002580001518000000e10",
    "803c01200001000000000001036c6162076578616d706c65000006000100002904d000000000000c000a0008e4c0d322d393a43f",
    "803c85200001000100010000036c6162076578616d706c650000060001c00c0006000100000e10002703646331c00c0a686f73746d6173746572c00c0000000200000384000002580001518000000e10c00c0006000100000e100018c029c02f0000000200000384000002580001518000000e10",
    "9a96012000010000000000010131013002393902313007696e2d61646472046172706100000c000100002904d000000000000c000a0008e4c0d322d393a43f",
    "9a96852000010001000100000131013002393902313007696e2d61646472046172706100000c0001c00c000c000100000384001103646331036c6162076578616d706c6500c00e0006000100000e100023c0340a686f73746d6173746572c0380000000300000384000002580001518000000e10",
    "3e74012000010000000000010477733031036c6162076578616d706c65000001000100002904d000000000000c000a0008e4c0d322d393a43f",
    "3e74852000010001000100000477733031036c6162076578616d706c650000010001c00c000100010000038400040a630002c0110006000100000e10002703646331c0110a686f73746d6173746572c0110000000200000384000002580001518000000e10",
    "bfee012000010000000000010477706164036c6162076578616d706c65000001000100002904d000000000000c000a0008e4c0d322d393a43f",
    "bfee852300010000000100000477706164036c6162076578616d706c650000010001c0110006000100000e10002703646331c0110a686f73746d6173746572c0110000000200000384000002580001518000000e10",
];

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// The lab's `_ldap._tcp.lab.example` SRV response with its SRV answer repeated eight times
/// (as a domain with eight DCs answers), the authority SOA dropped.
fn srv_set() -> Vec<u8> {
    let m = hex(LAB[3]);
    let answer = &m[40..40 + 24];
    assert_eq!(&answer[..4], &[0xc0, 0x0c, 0x00, 0x21]);
    let mut v = m[..40].to_vec();
    v[6..12].copy_from_slice(&[0, 8, 0, 0, 0, 0]);
    for _ in 0..8 {
        v.extend_from_slice(answer);
    }
    v
}

fn bench(c: &mut Criterion) {
    let lab: Vec<Vec<u8>> = LAB.iter().map(|s| hex(s)).collect();
    let srv = srv_set();
    assert_eq!(parse::parse_message(&srv).unwrap().answers.count, 8);

    let mut g = c.benchmark_group("dns/parse");
    g.throughput(Throughput::Elements(1));
    g.bench_function("query", |b| {
        b.iter(|| parse::parse_message(black_box(&lab[2])).map(|m| m.header.id))
    });
    g.bench_function("response_srv", |b| {
        b.iter(|| parse::parse_message(black_box(&lab[3])).map(|m| m.header.id))
    });
    g.bench_function("response_srv_set_8", |b| {
        b.iter(|| parse::parse_message(black_box(&srv)).map(|m| m.header.id))
    });
    g.throughput(Throughput::Elements(lab.len() as u64));
    g.bench_function("lab_mix_14", |b| {
        b.iter(|| {
            let mut n = 0u32;
            for m in &lab {
                n += parse::parse_message(black_box(m)).map_or(0, |m| m.answers.count as u32);
            }
            n
        })
    });
    g.finish();

    let mut g = c.benchmark_group("dns/render");
    g.throughput(Throughput::Elements(1));
    g.bench_function("response_srv_set_8", |b| {
        let mut s = String::new();
        b.iter(|| {
            let m = parse::parse_message(black_box(&srv)).unwrap();
            for r in m.records(m.answers) {
                s.clear();
                parse::write_rdata(m.msg, &r, &mut s);
            }
            s.len()
        })
    });
    g.finish();

    let flow = FlowInfo {
        client: "192.0.2.2".parse().unwrap(),
        client_port: 49152,
        server: "192.0.2.1".parse().unwrap(),
        server_port: 53,
        transport: Transport::Udp,
        tunnel: Default::default(),
    };
    let counters = Counters::default();
    let config = DecoderConfig::default();
    let shared = Shared::default();
    let mut g = c.benchmark_group("dns/udp_decoder");
    g.throughput(Throughput::Elements(lab.len() as u64 / 2));
    g.bench_function("records_lab_mix", |b| {
        let mut d = dns::udp();
        let mut out: Vec<Record> = Vec::with_capacity(64);
        b.iter(|| {
            out.clear();
            for (k, m) in lab.iter().enumerate() {
                let dir = if k % 2 == 0 {
                    Dir::ToServer
                } else {
                    Dir::ToClient
                };
                let mut cx = Ctx {
                    now: k as u64,
                    flow: &flow,
                    out: &mut out,
                    counters: &counters,
                    config: &config,
                    shared: &shared,
                };
                d.datagram(&mut cx, dir, m);
            }
            assert_eq!(out.len(), lab.len() / 2);
            out.len()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
