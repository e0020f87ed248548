//! Criterion benchmark: the LDAP decoder over BloodHound's collection, in operations per second
//! on one core, and the RFC 4515 filter writer on its largest query shape.
//!
//! Input: the TCP payloads of `testdata-pcaps/lab/22_attack_ldap_recon.pcap` (port 389: 81
//! requests in clear text, 1,700-odd search entries, two sealed sessions), read with the real
//! capture reader and packet decoder, fed in the captured segments to a fresh decoder per
//! connection; records built and collected.
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use dcsensor::capture::file::FileSource;
use dcsensor::packet::{Decoder, PacketConfig};
use dcsensor::proto::gssapi::parse::tlv;
use dcsensor::proto::ldap::filter;
use dcsensor::proto::{ldap, Ctx, DecoderConfig, Dir, FlowInfo, Shared};
use dcsensor::record::Transport;
use dcsensor::stats::Counters;
use std::collections::BTreeMap;
use std::hint::black_box;

/// The LDAP segments of a lab capture per client port, in order, with their direction.
fn connections(name: &str) -> BTreeMap<u16, Vec<(u64, Dir, Vec<u8>)>> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata-pcaps/lab")
        .join(name);
    let mut src = FileSource::open(&path).expect("lab capture");
    let mut dec = Decoder::new(PacketConfig::default());
    let counters = Counters::default();
    let mut out: BTreeMap<u16, Vec<(u64, Dir, Vec<u8>)>> = BTreeMap::new();
    while let Some(frame) = src.next_frame().expect("readable capture") {
        let Some((m, payload)) = dec.decode(&frame, &counters) else {
            continue;
        };
        if m.transport != Transport::Tcp || payload.is_empty() {
            continue;
        }
        let (client, dir) = match (m.sport, m.dport) {
            (c, 389) => (c, Dir::ToServer),
            (389, c) => (c, Dir::ToClient),
            _ => continue,
        };
        out.entry(client)
            .or_default()
            .push((m.ts, dir, payload.to_vec()));
    }
    out
}

/// A BER element (definite length).
fn ber(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut v = vec![tag];
    match content.len() {
        n if n < 0x80 => v.push(n as u8),
        n if n < 0x100 => v.extend_from_slice(&[0x81, n as u8]),
        n => v.extend_from_slice(&[0x82, (n >> 8) as u8, n as u8]),
    }
    v.extend_from_slice(content);
    v
}

fn eq(attr: &str, value: &str) -> Vec<u8> {
    ber(
        0xa3,
        &[ber(0x04, attr.as_bytes()), ber(0x04, value.as_bytes())].concat(),
    )
}

fn bench(c: &mut Criterion) {
    let conns = connections("22_attack_ldap_recon.pcap");
    let (counters, shared, config) = (
        Counters::default(),
        Shared::default(),
        DecoderConfig::default(),
    );
    let run = |out: &mut Vec<dcsensor::record::Record>| {
        for (&port, segs) in &conns {
            let flow = FlowInfo {
                client: "192.0.2.2".parse().unwrap(),
                client_port: port,
                server: "192.0.2.1".parse().unwrap(),
                server_port: 389,
                transport: Transport::Tcp,
                tunnel: Default::default(),
            };
            let mut app = ldap::tcp();
            let mut last = 0;
            for (ts, dir, payload) in segs {
                let mut cx = Ctx {
                    now: *ts,
                    flow: &flow,
                    out,
                    counters: &counters,
                    config: &config,
                    shared: &shared,
                };
                app.data(&mut cx, *dir, payload);
                last = *ts;
            }
            let mut cx = Ctx {
                now: last,
                flow: &flow,
                out,
                counters: &counters,
                config: &config,
                shared: &shared,
            };
            app.close(&mut cx);
        }
    };
    let mut out = Vec::new();
    run(&mut out);
    let ops = out
        .iter()
        .filter(|r| r.kind == dcsensor::record::RecordType::Ldap)
        .count();
    assert!(ops >= 80, "only {ops} ldap records");

    let mut g = c.benchmark_group("ldap");
    g.throughput(Throughput::Elements(ops as u64));
    g.bench_function("bloodhound_collection", |b| {
        b.iter(|| {
            out.clear();
            run(&mut out);
            black_box(out.len())
        })
    });
    // BloodHound's container query: an or of five terms, one of them an and.
    let f = ber(
        0xa1,
        &[
            eq("objectClass", "container"),
            eq("objectClass", "organizationalUnit"),
            eq("sAMAccountType", "805306369"),
            eq("objectClass", "group"),
            ber(
                0xa0,
                &[eq("objectCategory", "person"), eq("objectClass", "user")].concat(),
            ),
        ]
        .concat(),
    );
    let (_, t) = tlv(&f).unwrap();
    g.throughput(Throughput::Elements(1));
    g.bench_function("filter_render", |b| {
        b.iter(|| black_box(filter::render(black_box(t))))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
