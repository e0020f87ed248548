//! Criterion benchmark: the NTLM AUTHENTICATE decoder and SPNEGO unwrapping, on the lab's
//! smbclient handshake (testdata-pcaps/lab/03_benign_smb_ntlm.pcap, security blobs of frames
//! 8, 9 and 10).
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use dcsensor::proto::gssapi::{self, parse as gss};
use dcsensor::proto::ntlm::{parse, NtlmAuth};
use dcsensor::proto::{Ctx, DecoderConfig, FlowInfo, Shared};
use dcsensor::record::{Carrier, Code, Transport};
use dcsensor::stats::Counters;
use std::hint::black_box;

const NEGOTIATE: &str = "604806062b0601050502a03e303ca00e300c060a2b06010401823702020aa22a04284e544c4d53535000010000001582086200000000280000000000000028000000060100000000000f";
const CHALLENGE: &str = "a181ba3081b7a0030a0101a10c060a2b06010401823702020aa281a104819e4e544c4d5353500002000000060006003800000015828962bf5c3b39de5640970000000000000000600060003e000000060100000000000f4c0041004200020006004c004100420001000600440043003100040016006c00610062002e006500780061006d0070006c00650003001e006400630031002e006c00610062002e006500780061006d0070006c006500070008003ce51ac15d7fdd0100000000";
const AUTHENTICATE: &str = "a18201b0308201aca2820194048201904e544c4d53535000030000001800180058000000fc00fc0070000000060006006c01000006000600720100000800080078010000100010008001000015820862060100000000000f2480df3b9841df6a62b7279a1c30be830000000000000000000000000000000000000000000000004e3bbefd8a9bf92d60a77ef3d0d3215901010000000000003ce51ac15d7fdd01cfe5ad9abd2418ec00000000020006004c004100420001000600440043003100040016006c00610062002e006500780061006d0070006c00650003001e006400630031002e006c00610062002e006500780061006d0070006c006500070008003ce51ac15d7fdd0106000400020000000800300030000000000000000000000000000000c9aabd7a5babebe24c3a107715154cdb0cdf86b695df3f9c9a76bbbb7bae09540a0010000000000000000000000000000000000009001c0063006900660073002f00310030002e00390039002e0030002e003100000000004c004100420062006f0062005700530030003100e6a08412453acfaa61433286156bd083a312041001000000ff9996a1c22e538e00000000";

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn bench(c: &mut Criterion) {
    let (neg, chal, auth) = (hex(NEGOTIATE), hex(CHALLENGE), hex(AUTHENTICATE));
    let gss::Inner::Ntlmssp(msg) = gss::unwrap(&auth).unwrap() else {
        panic!("no NTLMSSP")
    };
    let msg = msg.to_vec();

    let mut g = c.benchmark_group("ntlm");
    g.throughput(Throughput::Elements(1));
    g.bench_function("authenticate_parse", |b| {
        b.iter(|| {
            let Ok(parse::Message::Authenticate(a)) = parse::parse(black_box(&msg)) else {
                panic!()
            };
            black_box(parse::av_flags(
                parse::ntlmv2_av_pairs(a.nt_response).unwrap_or(&[]),
            ))
        })
    });
    g.bench_function("spnego_unwrap", |b| {
        b.iter(|| black_box(gss::unwrap(black_box(&auth))))
    });

    let flow = FlowInfo {
        client: [192, 0, 2, 2].into(),
        client_port: 49152,
        server: [192, 0, 2, 1].into(),
        server_port: 445,
        transport: Transport::Tcp,
        tunnel: Default::default(),
    };
    let (counters, shared, config) = (
        Counters::default(),
        Shared::default(),
        DecoderConfig::default(),
    );
    let mut out = Vec::with_capacity(1);
    g.bench_function("handshake_to_record", |b| {
        b.iter(|| {
            let mut cx = Ctx {
                now: 1,
                flow: &flow,
                out: &mut out,
                counters: &counters,
                config: &config,
                shared: &shared,
            };
            let mut a = NtlmAuth::default();
            for t in [&neg, &chal, &auth] {
                gssapi::inspect(&mut cx, Carrier::Smb2, t, &mut a);
            }
            a.verdict(&mut cx, true, Code::Name("STATUS_SUCCESS"));
            out.clear();
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
