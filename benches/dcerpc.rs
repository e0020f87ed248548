//! Criterion benchmark: the DCE-RPC decoder over real calls, in calls per second on one core.
//!
//! Input: the TCP payloads of `testdata-pcaps/lab/12_attack_dcsync.pcap` (an endpoint-mapper
//! call on 135, then DRSBind, DRSDomainControllerInfo and 16 DRSGetNCChanges with NTLM privacy
//! and fragmented responses on the port it handed out): 19 calls per pass, fed in the captured
//! segments to a fresh decoder per connection, records built and collected.
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use dcsensor::capture::file::FileSource;
use dcsensor::packet::{Decoder, PacketConfig};
use dcsensor::proto::{dcerpc, Ctx, DecoderConfig, Dir, FlowInfo, Shared};
use dcsensor::record::Transport;
use dcsensor::stats::Counters;

struct Seg {
    ts: u64,
    server_port: u16,
    dir: Dir,
    payload: Vec<u8>,
}

/// The TCP payloads of a lab capture, read with the real capture reader and packet decoder, in
/// order, with their direction relative to `ports` (the server ports).
fn segments(name: &str, ports: &[u16]) -> Vec<Seg> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata-pcaps/lab")
        .join(name);
    let mut src = FileSource::open(&path).expect("lab capture");
    let mut dec = Decoder::new(PacketConfig::default());
    let counters = Counters::default();
    let mut out = Vec::new();
    while let Some(frame) = src.next_frame().expect("readable capture") {
        let Some((m, payload)) = dec.decode(&frame, &counters) else {
            continue;
        };
        if m.transport != Transport::Tcp || payload.is_empty() {
            continue;
        }
        let (server_port, dir) = if ports.contains(&m.dport) {
            (m.dport, Dir::ToServer)
        } else if ports.contains(&m.sport) {
            (m.sport, Dir::ToClient)
        } else {
            continue;
        };
        out.push(Seg {
            ts: m.ts,
            server_port,
            dir,
            payload: payload.to_vec(),
        });
    }
    out
}

fn bench(c: &mut Criterion) {
    let segs = segments("12_attack_dcsync.pcap", &[135, 49153]);
    let counters = Counters::default();
    let shared = Shared::default();
    let config = DecoderConfig::default();
    let flows: Vec<FlowInfo> = [135u16, 49153]
        .iter()
        .map(|&p| FlowInfo {
            client: "192.0.2.2".parse().unwrap(),
            client_port: 50000,
            server: "192.0.2.1".parse().unwrap(),
            server_port: p,
            transport: Transport::Tcp,
            tunnel: Default::default(),
        })
        .collect();
    let mut out = Vec::with_capacity(64);
    let calls = {
        run(&segs, &flows, &counters, &config, &shared, &mut out);
        out.iter()
            .filter(|r| r.kind == dcsensor::record::RecordType::Dcerpc)
            .count() as u64
    };
    // 19 calls (the NTLM authentication of the connection is a record of its own).
    assert_eq!(calls, 19);
    let mut g = c.benchmark_group("dcerpc");
    g.throughput(Throughput::Elements(calls));
    g.bench_function("dcsync_calls", |b| {
        b.iter(|| {
            out.clear();
            run(&segs, &flows, &counters, &config, &shared, &mut out);
            std::hint::black_box(out.len())
        })
    });
    g.finish();
}

fn run(
    segs: &[Seg],
    flows: &[FlowInfo],
    counters: &Counters,
    config: &DecoderConfig,
    shared: &Shared,
    out: &mut Vec<dcsensor::record::Record>,
) {
    let mut conns = [dcerpc::tcp(), dcerpc::tcp()];
    let mut now = 0;
    for s in segs {
        let k = usize::from(s.server_port != 135);
        now = s.ts;
        let mut cx = Ctx {
            now,
            flow: &flows[k],
            out,
            counters,
            config,
            shared,
        };
        conns[k].data(&mut cx, s.dir, &s.payload);
    }
    for (k, conn) in conns.iter_mut().enumerate() {
        let mut cx = Ctx {
            now,
            flow: &flows[k],
            out,
            counters,
            config,
            shared,
        };
        conn.close(&mut cx);
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
