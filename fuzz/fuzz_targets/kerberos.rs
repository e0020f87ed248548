//! Fuzz target: the Kerberos decoder on hostile bytes: the DER parser, UDP datagrams on 88 and
//! 464 (kpasswd), TCP record marking (the input behind a record mark fed with its 4 mark bytes
//! one at a time, and raw input cut at positions the input chooses, with gaps), the GSS-API
//! AP-REQ entry point and the probe. Seeds: `src/proto/kerberos/testdata/*.bin`.
//!
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run kerberos -- -max_total_time=60`
#![no_main]
use dcsensor::proto::kerberos::{self, parse};
use dcsensor::proto::{Ctx, DecoderConfig, Dir, FlowInfo, Shared};
use dcsensor::record::{Carrier, Transport};
use dcsensor::stats::Counters;
use libfuzzer_sys::fuzz_target;

fn flow(transport: Transport, port: u16) -> FlowInfo {
    FlowInfo {
        client: "192.0.2.2".parse().unwrap(),
        client_port: 49152,
        server: "192.0.2.1".parse().unwrap(),
        server_port: port,
        transport,
        tunnel: Default::default(),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&ctl, body)) = data.split_first() else { return };
    let _ = parse::message(body);
    let _ = kerberos::probe_tcp(Dir::ToServer, body);

    let counters = Counters::default();
    let shared = Shared::default();
    let mut config = DecoderConfig::default();
    if ctl & 1 != 0 {
        // A small cap, so that skipping by length is exercised too.
        config.kerberos_max_message = 96;
    }
    let mut out = Vec::new();
    let port = if ctl & 2 != 0 { 464 } else { 88 };

    // UDP: the body as one datagram each way.
    let uf = flow(Transport::Udp, port);
    let mut u = kerberos::udp();
    {
        let mut cx = Ctx { now: 1, flow: &uf, out: &mut out, counters: &counters, config: &config, shared: &shared };
        u.datagram(&mut cx, Dir::ToServer, body);
        u.datagram(&mut cx, Dir::ToClient, body);
        kerberos::ap_req(&mut cx, Carrier::Smb2, body);
        u.close(&mut cx);
    }

    // TCP: the body behind a record mark whose 4 bytes come one at a time, then the body
    // itself as a stream cut where the control byte says, with a gap when asked.
    let tf = flow(Transport::Tcp, port);
    let mut t = kerberos::tcp();
    let mut now = 1;
    let mut cx = Ctx { now, flow: &tf, out: &mut out, counters: &counters, config: &config, shared: &shared };
    let mark = (body.len() as u32).to_be_bytes();
    for b in mark {
        t.data(&mut cx, Dir::ToServer, &[b]);
    }
    let step = usize::from(ctl >> 3) + 1;
    for chunk in body.chunks(step) {
        t.data(&mut cx, Dir::ToServer, chunk);
    }
    for (i, chunk) in body.chunks(step).enumerate() {
        if ctl & 4 != 0 && i == 1 {
            t.gap(&mut cx, Dir::ToClient, chunk.len() as u64);
            continue;
        }
        t.data(&mut cx, Dir::ToClient, chunk);
    }
    now += 60_000_000_000;
    cx.now = now;
    t.tick(&mut cx);
    t.close(&mut cx);
});
