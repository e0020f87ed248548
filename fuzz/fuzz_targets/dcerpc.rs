//! Fuzz target: the DCE-RPC decoders (TCP connection, SMB pipe, connectionless UDP).
//!
//! The input is a script of steps: a control byte, a length byte, then that many bytes of data.
//! The control byte picks the direction, and whether the step is data, a gap or a tick, so the
//! fuzzer explores fragments, auth trailers, arbitrary splits of PDUs across calls, lost bytes
//! and timeouts. The tail of the input past the script is fed whole, so plain PDUs found by the
//! fuzzer are exercised too. Small caps make every limit reachable.
#![no_main]
use dcsensor::proto::dcerpc::{self, PipeConn};
use dcsensor::proto::{Ctx, DecoderConfig, Dir, FlowInfo, Shared};
use dcsensor::record::Transport;
use dcsensor::stats::Counters;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, mut rest)) = data.split_first() else {
        return;
    };
    let flow = FlowInfo {
        client: "192.0.2.2".parse().unwrap(),
        client_port: 49152,
        server: "192.0.2.1".parse().unwrap(),
        server_port: 135,
        transport: Transport::Tcp,
        tunnel: Default::default(),
    };
    let counters = Counters::default();
    let shared = Shared::default();
    let config = DecoderConfig {
        dcerpc_max_stub: 4096,
        dcerpc_max_calls: 4,
        dcerpc_max_contexts: 4,
        request_timeout: 10,
        ..DecoderConfig::default()
    };
    let mut out = Vec::new();
    let mut now = 0u64;
    let mut tcp = dcerpc::tcp();
    let mut udp = dcerpc::udp();
    let mut pipe = PipeConn::new("samr".into());
    while let [ctrl, len, tail @ ..] = rest {
        let n = usize::from(*len).min(tail.len());
        let (chunk, next) = tail.split_at(n);
        rest = next;
        now += u64::from(ctrl >> 4);
        let dir = if ctrl & 1 == 0 {
            Dir::ToServer
        } else {
            Dir::ToClient
        };
        let mut cx = Ctx {
            now,
            flow: &flow,
            out: &mut out,
            counters: &counters,
            config: &config,
            shared: &shared,
        };
        match (mode % 3, ctrl >> 1 & 3) {
            (0, 0 | 1) => tcp.data(&mut cx, dir, chunk),
            (0, 2) => tcp.gap(&mut cx, dir, n as u64),
            (0, _) => tcp.tick(&mut cx),
            (1, 0 | 1) => pipe.data(&mut cx, dir, chunk),
            (1, 2) => pipe.gap(&mut cx, dir, n as u64),
            (1, _) => pipe.tick(&mut cx),
            (_, 3) => udp.tick(&mut cx),
            _ => udp.datagram(&mut cx, dir, chunk),
        }
        assert!(tcp.buffered() <= 2 * 65536 + 2 * 256 + 64 * 1024);
        out.clear();
    }
    let mut cx = Ctx {
        now,
        flow: &flow,
        out: &mut out,
        counters: &counters,
        config: &config,
        shared: &shared,
    };
    match mode % 3 {
        0 => tcp.data(&mut cx, Dir::ToServer, rest),
        1 => pipe.data(&mut cx, Dir::ToClient, rest),
        _ => udp.datagram(&mut cx, Dir::ToServer, rest),
    }
    tcp.close(&mut cx);
    pipe.close(&mut cx);
    udp.close(&mut cx);
});
