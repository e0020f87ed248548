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
//! Time is the benchmark thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), not wall time, so that
//! the figures are per core even on a machine shared with other work; on an idle machine the
//! two agree.
//!
//! `cargo bench --bench kerberos -- --quick`

use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use dcsensor::proto::kerberos::{self, parse};
use dcsensor::proto::{Ctx, DecoderConfig, Dir, FlowInfo, Shared};
use dcsensor::record::Transport;
use dcsensor::stats::Counters;
use std::hint::black_box;

const AS_REQ: &[u8] = include_bytes!("../src/proto/kerberos/testdata/logon_as_req_pa_udp.bin");
const KRB_ERROR: &[u8] =
    include_bytes!("../src/proto/kerberos/testdata/logon_preauth_required_udp.bin");
const AS_REQ0: &[u8] = include_bytes!("../src/proto/kerberos/testdata/logon_as_req_udp.bin");
const TGS_REQ_TCP: &[u8] =
    include_bytes!("../src/proto/kerberos/testdata/logon_tgs_req_cifs_tcp.bin");
const TGS_REP_TCP: &[u8] =
    include_bytes!("../src/proto/kerberos/testdata/logon_tgs_rep_cifs_tcp.bin");

/// The calling thread's CPU time in nanoseconds.
fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Criterion measurement: CPU time of the benchmark thread.
struct ThreadCpu;

impl Measurement for ThreadCpu {
    type Intermediate = u64;
    type Value = u64;
    fn start(&self) -> u64 {
        thread_cpu_ns()
    }
    fn end(&self, i: u64) -> u64 {
        thread_cpu_ns().saturating_sub(i)
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, v: &u64) -> f64 {
        *v as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &CpuFormat
    }
}

/// Formats CPU nanoseconds, and throughput in elements per CPU second.
struct CpuFormat;

impl ValueFormatter for CpuFormat {
    fn scale_values(&self, typical: f64, values: &mut [f64]) -> &'static str {
        let (div, unit) = if typical < 1e3 {
            (1.0, "ns (cpu)")
        } else if typical < 1e6 {
            (1e3, "µs (cpu)")
        } else {
            (1e6, "ms (cpu)")
        };
        values.iter_mut().for_each(|v| *v /= div);
        unit
    }

    fn scale_throughputs(&self, _typical: f64, t: &Throughput, values: &mut [f64]) -> &'static str {
        let n = match t {
            Throughput::Elements(n) | Throughput::ElementsAndBytes { elements: n, .. } => *n as f64,
            Throughput::Bytes(n) | Throughput::BytesDecimal(n) => *n as f64,
            Throughput::Bits(n) => *n as f64,
        };
        values.iter_mut().for_each(|v| *v = n * 1e9 / *v);
        "elem/s (per core)"
    }

    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

fn parsers(c: &mut Criterion<ThreadCpu>) {
    let tgs_rep = &TGS_REP_TCP[4..];
    let msgs: [(&str, &[u8]); 3] = [
        ("as_req", AS_REQ),
        ("tgs_rep", tgs_rep),
        ("krb_error", KRB_ERROR),
    ];
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
        b.iter(|| {
            black_box(kerberos_parser::krb5_parser::parse_tgs_rep(black_box(tgs_rep)).unwrap())
        })
    });
    // The function form; `KrbError::from_der` is the same call behind a trait.
    #[allow(deprecated)]
    g.bench_function("kerberos-parser/krb_error", |b| {
        b.iter(|| {
            black_box(kerberos_parser::krb5_parser::parse_krb_error(black_box(KRB_ERROR)).unwrap())
        })
    });
    g.finish();
}

fn decoder(c: &mut Criterion<ThreadCpu>) {
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
        tunnel: Default::default(),
    };
    let mut u = kerberos::udp();
    g.bench_function("udp_as_req_krb_error", |b| {
        b.iter(|| {
            let mut cx = Ctx {
                now: 1,
                flow: &udp_flow,
                out: &mut out,
                counters: &counters,
                config: &config,
                shared: &shared,
            };
            u.datagram(&mut cx, Dir::ToServer, black_box(AS_REQ0));
            u.datagram(&mut cx, Dir::ToClient, black_box(KRB_ERROR));
            out.clear();
        })
    });
    let tcp_flow = FlowInfo {
        transport: Transport::Tcp,
        tunnel: Default::default(),
        ..udp_flow
    };
    let mut t = kerberos::tcp();
    g.bench_function("tcp_tgs_req_tgs_rep", |b| {
        b.iter(|| {
            let mut cx = Ctx {
                now: 1,
                flow: &tcp_flow,
                out: &mut out,
                counters: &counters,
                config: &config,
                shared: &shared,
            };
            t.data(&mut cx, Dir::ToServer, black_box(TGS_REQ_TCP));
            t.data(&mut cx, Dir::ToClient, black_box(TGS_REP_TCP));
            out.clear();
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(ThreadCpu);
    targets = parsers, decoder
}
criterion_main!(benches);
