//! Fuzz target: the SMB decoder of one TCP connection (framing, SMB1 and SMB2 messages, AndX
//! chains, compounds, pipe hand-off), with input split at arbitrary points, gaps, ticks and
//! small caps.
//!
//! Input: byte 0 picks the caps; then commands `[ctl][len][len bytes]`: ctl bit 0 is the
//! direction, bit 1 makes it a gap of `len * 97` bytes instead of data, bit 2 a tick after it.
#![no_main]
use dcsensor::proto::{smb, Ctx, DecoderConfig, Dir, FlowInfo, Shared};
use dcsensor::record::{Transport, NS};
use dcsensor::stats::Counters;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&caps, mut rest)) = data.split_first() else {
        return;
    };
    let flow = FlowInfo {
        client: "192.0.2.2".parse().unwrap(),
        client_port: 49152,
        server: "192.0.2.1".parse().unwrap(),
        server_port: 445,
        transport: Transport::Tcp,
        tunnel: Default::default(),
    };
    let mut config = DecoderConfig::default();
    if caps & 1 != 0 {
        config.smb_max_message = 512;
        config.smb_max_pipe_payload = 64;
        config.max_pending = 4;
    }
    let counters = Counters::default();
    let shared = Shared::default();
    let mut out = Vec::new();
    let mut now = NS;
    let mut conn = smb::tcp();
    let _ = smb::probe(Dir::ToServer, rest);
    while let [ctl, len, tail @ ..] = rest {
        let n = usize::from(*len).min(tail.len());
        let (chunk, next) = tail.split_at(n);
        rest = next;
        let dir = if ctl & 1 == 0 {
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
        if ctl & 2 != 0 {
            conn.gap(&mut cx, dir, u64::from(*len) * 97);
        } else {
            conn.data(&mut cx, dir, chunk);
        }
        if ctl & 4 != 0 {
            now += 31 * NS;
            cx.now = now;
            conn.tick(&mut cx);
        }
        // The cap is per direction: a request and an answer may each be partly buffered at
        // once (seen: 82 and 443 bytes under a 512-byte cap), each within the cap.
        assert!(conn.buffered_one_way() <= config.smb_max_message.max(64) + 8);
        assert!(conn.buffered() <= 2 * (config.smb_max_message.max(64) + 8));
    }
    let mut cx = Ctx {
        now,
        flow: &flow,
        out: &mut out,
        counters: &counters,
        config: &config,
        shared: &shared,
    };
    conn.close(&mut cx);
    assert_eq!(conn.buffered(), 0);
});
