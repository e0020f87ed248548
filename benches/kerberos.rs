//! Criterion benchmark of the Kerberos decoder on real messages from the lab captures
//! (`src/proto/kerberos/testdata/`): an AS-REQ with pre-authentication, a TGS-REP carrying a
//! service ticket, a KRB-ERROR with METHOD-DATA.
//!
//! - `kerberos/parse/ours/*` against `kerberos/parse/kerberos-parser/*`: the parser alone, ours
//!   and rusticata's `kerberos-parser` on the same bytes (the comparison behind the choice
//!   written at the top of `src/proto/kerberos/parse.rs`).
//! - `kerberos/decoder/*`: the whole decoder (UDP datagrams or TCP record marking, pairing,
//!   the record with its strings and ticket hashes): two messages per iteration.
//!
//! `cargo bench --bench kerberos -- --quick`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use dcsensor::proto::kerberos::{self, parse};
use dcsensor::proto::{Ctx, DecoderConfig, Dir, FlowInfo, Shared};
use dcsensor::record::Transport;
use dcsensor::stats::Counters;
use std::hint::black_box;

const AS_REQ: &[u8] = include_bytes!("../src/proto/kerberos/testdata/logon_as_req_pa_udp.bin");
const KRB_ERROR: &[u8] = include_bytes!("../src/proto/kerberos/testdata/logon_preauth_required_udp.bin");
const AS_REQ0: &[u8] = include_bytes!("../src/proto/kerberos/testdata/logon_as_req_udp.bin");
const TGS_REQ_TCP: &[u8] = include_bytes!("../src/proto/kerberos/testdata/logon_tgs_req_cifs_tcp.bin");
const TGS_REP_TCP: &[u8] = include_bytes!("../src/proto/kerberos/testdata/logon_tgs_rep_cifs_tcp.bin");

fn parsers(c: &mut Criterion) {
    let tgs_rep = &TGS_REP_TCP[4..];
    let msgs: [(&str, &[u8]); 3] = [("as_req", AS_REQ), ("tgs_rep", tgs_rep), ("krb_error", KRB_ERROR)];
    let mut g = c.benchmark_group("kerberos/parse");
    g.throughput(Throughput::Elements(1));
    for (name, m) in msgs {
        g.bench_function(format!("ours/{name}"), |b| {
            b.iter(|| {
                let (_, msg) = parse::message(black_box(m)).unwrap();
                black_box(msg);
            })
        });
    }
    g.bench_function("kerberos-parser/as_req", |b| {
        b.iter(|| black_box(kerberos_parser::krb5_parser::parse_as_req(black_box(AS_REQ)).unwrap()))
    });
    g.bench_function("kerberos-parser/tgs_rep", |b| {
        b.iter(|| black_box(kerberos_parser::krb5_parser::parse_tgs_rep(black_box(tgs_rep)).unwrap()))
    });
    g.bench_function("kerberos-parser/krb_error", |b| {
        b.iter(|| black_box(kerberos_parser::krb5_parser::parse_krb_error(black_box(KRB_ERROR)).unwrap()))
    });
    g.finish();
}

fn decoder(c: &mut Criterion) {
    let counters = Counters::default();
    let config = DecoderConfig::default();
    let shared = Shared::default();
    let mut out = Vec::with_capacity(4);
    let mut g = c.benchmark_group("kerberos/decoder");
    g.throughput(Throughput::Elements(2));
    let udp_flow = FlowInfo {
        client: "192.0.2.2".parse().unwrap(),
        client_port: 49152,
        server: "192.0.2.1".parse().unwrap(),
        server_port: 88,
        transport: Transport::Udp,
    };
    let mut u = kerberos::udp();
    g.bench_function("udp_as_req_krb_error", |b| {
        b.iter(|| {
            let mut cx = Ctx { now: 1, flow: &udp_flow, out: &mut out, counters: &counters, config: &config, shared: &shared };
            u.datagram(&mut cx, Dir::ToServer, black_box(AS_REQ0));
            u.datagram(&mut cx, Dir::ToClient, black_box(KRB_ERROR));
            out.clear();
        })
    });
    let tcp_flow = FlowInfo { transport: Transport::Tcp, ..udp_flow };
    let mut t = kerberos::tcp();
    g.bench_function("tcp_tgs_req_tgs_rep", |b| {
        b.iter(|| {
            let mut cx = Ctx { now: 1, flow: &tcp_flow, out: &mut out, counters: &counters, config: &config, shared: &shared };
            t.data(&mut cx, Dir::ToServer, black_box(TGS_REQ_TCP));
            t.data(&mut cx, Dir::ToClient, black_box(TGS_REP_TCP));
            out.clear();
        })
    });
    g.finish();
}

criterion_group!(benches, parsers, decoder);
criterion_main!(benches);
