//! Criterion benchmark of the SMB decoder: SMB2 header parsing, and the rate at which bulk file
//! data (a READ response, a WRITE request on a file that is not a pipe) is skipped as it streams
//! through the connection decoder in TCP-segment-sized pieces.
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use dcsensor::proto::smb::{self, parse};
use dcsensor::proto::{Ctx, DecoderConfig, Dir, FlowInfo, Shared};
use dcsensor::record::{Transport, NS};
use dcsensor::stats::Counters;
use std::hint::black_box;

/// A READ response header from testdata-pcaps/lab/20_attack_recon_samr_lsarpc_smb_cleartext.pcap
/// (frame 21), then its 16-byte body start.
const READ_RESPONSE: &str = "fe534d42400010000000000008008e000900000000000000070000000000000000000000c8f3b884c0af707d00000000a107e3a4a601a3c3471922ce8baebb8611005000440000000000000000000000";
/// A WRITE request from the same capture (frame 18): header and its 48-byte body.
const WRITE_REQUEST: &str = "fe534d42400001000000000009007f000800000000000000060000000000000000000000c8f3b884c0af707d0000000061ea257a14bdf5538a3c75c3096f4cb531007000480000000000000000000000a4b4c4e4000000006532d24a0000000000000000000000000000000000000000";

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// A framed message: `fixed` (header and fixed body) with its data length set to `len`, then
/// `len` bytes of data.
fn bulk(fixed: &str, len_at: usize, len: usize) -> Vec<u8> {
    let mut m = hex(fixed);
    m[len_at..len_at + 4].copy_from_slice(&(len as u32).to_le_bytes());
    m.resize(m.len() + len, 0xa5);
    let mut framed = (m.len() as u32).to_be_bytes().to_vec();
    framed.extend_from_slice(&m);
    framed
}

fn bench(c: &mut Criterion) {
    let header = hex(READ_RESPONSE);
    let mut g = c.benchmark_group("smb");
    g.throughput(Throughput::Elements(1));
    g.bench_function("smb2_header", |b| {
        b.iter(|| parse::smb2_header(black_box(&header)))
    });

    let flow = FlowInfo {
        client: "192.0.2.2".parse().unwrap(),
        client_port: 49152,
        server: "192.0.2.1".parse().unwrap(),
        server_port: 445,
        transport: Transport::Tcp,
        tunnel: Default::default(),
    };
    let config = DecoderConfig::default();
    let counters = Counters::default();
    let shared = Shared::default();
    let mut out = Vec::new();
    const DATA: usize = 8 << 20;
    for (name, msg, dir) in [
        (
            "read_skip",
            bulk(READ_RESPONSE, 64 + 4, DATA),
            Dir::ToClient,
        ),
        (
            "write_skip",
            bulk(WRITE_REQUEST, 64 + 4, DATA),
            Dir::ToServer,
        ),
    ] {
        g.throughput(Throughput::Bytes(msg.len() as u64));
        g.bench_function(name, |b| {
            let mut conn = smb::tcp();
            b.iter(|| {
                let mut cx = Ctx {
                    now: NS,
                    flow: &flow,
                    out: &mut out,
                    counters: &counters,
                    config: &config,
                    shared: &shared,
                };
                for seg in msg.chunks(1448) {
                    conn.data(&mut cx, dir, black_box(seg));
                }
                assert_eq!(conn.buffered(), 0);
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
