//! Fuzz target: dns. The message parser and its text rendering on arbitrary bytes; the UDP
//! decoder on the bytes as one datagram; the TCP decoder on the bytes cut at arbitrary points
//! (chosen by the first four bytes), in both directions, with gaps, ticks and a close.
#![no_main]
use dcsensor::proto::dns::{self, parse};
use dcsensor::proto::{Ctx, DecoderConfig, Dir, FlowInfo, Shared};
use dcsensor::record::{Record, Transport, NS};
use dcsensor::stats::Counters;
use libfuzzer_sys::fuzz_target;

fn render(data: &[u8]) {
    let Ok(m) = parse::parse_message(data) else { return };
    let mut s = String::new();
    if let Some(q) = m.question {
        q.name.write(&mut s);
    }
    for sec in [m.answers, m.authority, m.additional] {
        for r in m.records(sec) {
            r.name.write(&mut s);
            parse::write_rdata(m.msg, &r, &mut s);
            // A name is at most 255 bytes on the wire, so at most 4 x 255 of text.
            assert!(s.len() < 64 * 1024 + 4 * 255 * 3);
            s.clear();
        }
    }
}

fuzz_target!(|data: &[u8]| {
    render(data);
    let flow = FlowInfo {
        client: "192.0.2.2".parse().unwrap(),
        client_port: 49152,
        server: "192.0.2.1".parse().unwrap(),
        server_port: 53,
        transport: Transport::Udp,
        tunnel: Default::default(),
    };
    let mut out: Vec<Record> = Vec::new();
    let counters = Counters::default();
    let config = DecoderConfig { max_pending: 8, ..Default::default() };
    let shared = Shared::default();
    macro_rules! cx {
        ($now:expr) => {
            &mut Ctx { now: $now, flow: &flow, out: &mut out, counters: &counters, config: &config, shared: &shared }
        };
    }

    let mut u = dns::udp();
    u.datagram(cx!(NS), Dir::ToServer, data);
    u.datagram(cx!(2 * NS), Dir::ToClient, data);
    u.tick(cx!(100 * NS));
    u.close(cx!(100 * NS));

    let Some((seed, body)) = data.split_first_chunk::<4>() else { return };
    let mut x = u32::from_le_bytes(*seed) | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x
    };
    let mut t = dns::tcp();
    let mut rest = body;
    let mut now = NS;
    while !rest.is_empty() {
        let r = next();
        let n = (r as usize % 97 + 1).min(rest.len());
        let dir = if r & 0x100 != 0 { Dir::ToClient } else { Dir::ToServer };
        if r & 0x7000 == 0 {
            t.gap(cx!(now), dir, (r >> 16) as u64 % 300);
        }
        t.data(cx!(now), dir, &rest[..n]);
        assert!(t.buffered() <= 2 * dns::MAX_TCP_MESSAGE);
        rest = &rest[n..];
        now += (r as u64 >> 20) * NS / 64;
        t.tick(cx!(now));
    }
    t.close(cx!(now));
    assert_eq!(t.buffered(), 0);
});
