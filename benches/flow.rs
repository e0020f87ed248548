//! Criterion benchmark of the flow layer: packets per second through `FlowTable::packet` for a
//! mix of many TCP connections (handshake, requests and responses, some segments out of order,
//! FIN close) and UDP conversations, with decoders that do nothing.
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use dcsensor::flow::{FlowConfig, FlowTable, Selector};
use dcsensor::packet::{tcp_flags::*, PacketMeta};
use dcsensor::proto::{Ctx, DecoderConfig, Dir, FlowInfo, Shared, TcpApp, UdpApp};
use dcsensor::record::{Transport, Ts};
use dcsensor::stats::Counters;
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

/// A decoder that only looks at the length of what it gets.
struct Nothing(u64);

impl TcpApp for Nothing {
    fn data(&mut self, _cx: &mut Ctx<'_>, _dir: Dir, data: &[u8]) {
        self.0 += data.len() as u64;
        black_box(self.0);
    }
    fn gap(&mut self, _cx: &mut Ctx<'_>, _dir: Dir, _len: u64) {}
    fn close(&mut self, _cx: &mut Ctx<'_>) {}
}

impl UdpApp for Nothing {
    fn datagram(&mut self, _cx: &mut Ctx<'_>, _dir: Dir, data: &[u8]) {
        self.0 += data.len() as u64;
        black_box(self.0);
    }
    fn close(&mut self, _cx: &mut Ctx<'_>) {}
}

struct All;

impl Selector for All {
    fn tcp_by_port(&self, _: &FlowInfo, _: &Shared, _: Ts) -> Option<Box<dyn TcpApp>> {
        Some(Box::new(Nothing(0)))
    }
    fn tcp_by_content(&self, _: &FlowInfo, _: Dir, _: &[u8]) -> Option<Box<dyn TcpApp>> {
        Some(Box::new(Nothing(0)))
    }
    fn udp_by_port(&self, _: &FlowInfo) -> Option<Box<dyn UdpApp>> {
        Some(Box::new(Nothing(0)))
    }
}

/// A packet of the workload: its metadata and the length of its payload.
struct Pkt {
    meta: PacketMeta,
    len: usize,
}

fn ip(n: u32) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | n))
}

/// `conns` TCP connections and `convs` UDP conversations, interleaved as if concurrent.
/// Every 10th connection has one pair of segments swapped in each direction.
fn workload(conns: u32, convs: u32) -> Vec<Pkt> {
    let server = ip(1);
    let mut per_flow: Vec<Vec<Pkt>> = Vec::new();
    for c in 0..conns {
        let client = ip(2 + c % 5000);
        let cport = 40000 + (c % 20000) as u16;
        let mut v = Vec::new();
        let mut t = |ts: Ts, to_server: bool, seq: u32, ack: u32, flags: u8, len: usize| {
            let (src, dst, sport, dport) = if to_server {
                (client, server, cport, 445)
            } else {
                (server, client, 445, cport)
            };
            v.push(Pkt {
                meta: PacketMeta {
                    ts,
                    src,
                    dst,
                    sport,
                    dport,
                    transport: Transport::Tcp,
                    seq,
                    ack,
                    flags,
                    tunnel: Default::default(),
                },
                len,
            });
        };
        let (mut cs, mut ss) = (c.wrapping_mul(2_654_435_761), c.wrapping_mul(40_503));
        t(0, true, cs, 0, SYN, 0);
        t(0, false, ss, cs.wrapping_add(1), SYN | ACK, 0);
        cs = cs.wrapping_add(1);
        ss = ss.wrapping_add(1);
        t(0, true, cs, ss, ACK, 0);
        for _ in 0..8 {
            // A request of two segments and a response of three.
            t(0, true, cs, ss, ACK, 200);
            t(0, true, cs.wrapping_add(200), ss, ACK | PSH, 100);
            cs = cs.wrapping_add(300);
            t(0, false, ss, cs, ACK, 1400);
            t(0, false, ss.wrapping_add(1400), cs, ACK, 1400);
            t(0, false, ss.wrapping_add(2800), cs, ACK | PSH, 500);
            ss = ss.wrapping_add(3300);
            t(0, true, cs, ss, ACK, 0);
        }
        t(0, true, cs, ss, FIN | ACK, 0);
        t(0, false, ss, cs.wrapping_add(1), FIN | ACK, 0);
        t(0, true, cs.wrapping_add(1), ss.wrapping_add(1), ACK, 0);
        if c % 10 == 0 {
            v.swap(3, 4); // request segments
            v.swap(5, 6); // response segments
        }
        per_flow.push(v);
    }
    for u in 0..convs {
        let client = ip(10_000 + u);
        let mut v = Vec::new();
        for q in 0..4u16 {
            let sport = 50000 + q;
            let m = |src, dst, sport, dport| PacketMeta {
                ts: 0,
                src,
                dst,
                sport,
                dport,
                transport: Transport::Udp,
                seq: 0,
                ack: 0,
                flags: 0,
                tunnel: Default::default(),
            };
            v.push(Pkt {
                meta: m(client, server, sport, 53),
                len: 40,
            });
            v.push(Pkt {
                meta: m(server, client, 53, sport),
                len: 120,
            });
        }
        per_flow.push(v);
    }
    // Interleave round-robin, with time moving on a microsecond per packet.
    let mut out = Vec::new();
    let mut idx = vec![0usize; per_flow.len()];
    let mut ts: Ts = 1_000_000_000;
    loop {
        let mut any = false;
        for (f, v) in per_flow.iter().enumerate() {
            if let Some(p) = v.get(idx[f]) {
                idx[f] += 1;
                any = true;
                ts += 1000;
                out.push(Pkt {
                    meta: PacketMeta { ts, ..p.meta },
                    len: p.len,
                });
            }
        }
        if !any {
            break;
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let pkts = workload(2000, 1000);
    let payload = vec![0x5au8; 1500];
    let mut g = c.benchmark_group("flow");
    g.throughput(Throughput::Elements(pkts.len() as u64));
    g.bench_function("mixed_tcp_udp", |b| {
        b.iter(|| {
            let mut table = FlowTable::with_selector(
                FlowConfig::default(),
                DecoderConfig::default(),
                Arc::new(Shared::default()),
                Arc::new(Counters::default()),
                Box::new(All),
            );
            let mut out = Vec::new();
            let mut last = 0;
            for p in &pkts {
                table.packet(&p.meta, &payload[..p.len], &mut out);
                if p.meta.ts - last >= 100_000_000 {
                    table.advance(p.meta.ts, &mut out);
                    last = p.meta.ts;
                }
            }
            table.finish(&mut out);
            black_box(out.len())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
