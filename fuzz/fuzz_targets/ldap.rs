//! Fuzz target: the LDAP decoder (TCP and CLDAP) and the RFC 4515 filter writer, with deep and
//! long filters.
//!
//! The first byte picks the mode: 0 writes the rest as one filter element; 1 builds a filter
//! from the rest (each byte wraps what was built in a not, an and or an or, or adds a term or a
//! substring), up to thousands of levels deep or terms long, and writes it (the string must stay
//! within the cap); 2 feeds the rest to a TCP connection on 389, alternating direction at each
//! `\0\0`, in uneven pieces and with gaps; 3 gives the rest to CLDAP as datagrams split at `|`.
#![no_main]
use dcsensor::proto::gssapi::parse::tlv;
use dcsensor::proto::ldap::{self, filter};
use dcsensor::proto::{Ctx, DecoderConfig, Dir, FlowInfo, Shared};
use dcsensor::record::Transport;
use dcsensor::stats::Counters;
use libfuzzer_sys::fuzz_target;

fn ber(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut v = vec![tag];
    let n = content.len();
    if n < 0x80 {
        v.push(n as u8);
    } else {
        v.extend_from_slice(&[
            0x84,
            (n >> 24) as u8,
            (n >> 16) as u8,
            (n >> 8) as u8,
            n as u8,
        ]);
    }
    v.extend_from_slice(content);
    v
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 4 {
        0 => {
            if let Ok((_, t)) = tlv(rest) {
                if let Ok(s) = filter::render(t) {
                    assert!(s.len() <= filter::MAX_FILTER);
                }
            }
        }
        1 => {
            let mut f = ber(0x87, b"objectClass");
            // Every step copies what was built: bounded (8,192 steps, 32 KiB: over 5,000
            // levels deep or thousands of terms long) so that one input stays cheap and the
            // fuzzer's time goes to many inputs, not to copying one.
            for &b in rest.iter().take(8192) {
                if f.len() > 1 << 15 {
                    break;
                }
                f = match b % 6 {
                    0 => ber(0xa2, &f),
                    1 => ber(0xa0, &[f.clone(), f].concat()),
                    2 => ber(0xa1, &f),
                    3 => {
                        let term = ber(0xa3, &[ber(0x04, b"cn"), ber(0x04, &[b; 3])].concat());
                        ber(0xa0, &[f, term].concat())
                    }
                    4 => {
                        let sub = ber(
                            0xa4,
                            &[
                                ber(0x04, b"cn"),
                                ber(0x30, &[ber(0x80, &[b]), ber(0x82, &[b])].concat()),
                            ]
                            .concat(),
                        );
                        ber(0xa1, &[sub, f].concat())
                    }
                    _ => ber(0xa2, &ber(0xa2, &f)),
                };
            }
            let (_, t) = tlv(&f).expect("a built filter parses");
            let s = filter::render(t).expect("a built filter is well formed");
            assert!(s.len() <= filter::MAX_FILTER);
        }
        m => {
            let flow = FlowInfo {
                client: [192, 0, 2, 2].into(),
                client_port: 49152,
                server: [192, 0, 2, 1].into(),
                server_port: 389,
                transport: if m == 2 {
                    Transport::Tcp
                } else {
                    Transport::Udp
                },
                tunnel: Default::default(),
            };
            let config = DecoderConfig {
                max_header: 4096,
                max_pending: (rest.len() % 3),
                ..Default::default()
            };
            let (counters, shared) = (Counters::default(), Shared::default());
            let mut out = Vec::new();
            let mut cx = Ctx {
                now: 1,
                flow: &flow,
                out: &mut out,
                counters: &counters,
                config: &config,
                shared: &shared,
            };
            if m == 2 {
                let mut app = ldap::tcp();
                let mut dir = Dir::ToServer;
                for (k, part) in rest.split(|&b| b == 0).enumerate() {
                    if part.is_empty() {
                        dir = dir.flip();
                        continue;
                    }
                    if k % 7 == 6 {
                        app.gap(&mut cx, dir, part.len() as u64);
                        continue;
                    }
                    for piece in part.chunks(1 + k % 13) {
                        app.data(&mut cx, dir, piece);
                    }
                    cx.now += 1_000_000_000;
                    app.tick(&mut cx);
                }
                app.close(&mut cx);
            } else {
                let mut app = ldap::udp();
                for (k, d) in rest.split(|&b| b == b'|').enumerate() {
                    let dir = if k % 2 == 0 {
                        Dir::ToServer
                    } else {
                        Dir::ToClient
                    };
                    app.datagram(&mut cx, dir, d);
                    app.tick(&mut cx);
                }
                app.close(&mut cx);
            }
        }
    }
});
