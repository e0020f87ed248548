//! Fuzz target: NTLMSSP messages and NtlmAuth sequences, and the HTTP and LDAP carriers.
//!
//! The first byte picks the mode: 0 parses one NTLMSSP message (and its AV pairs); 1 splits the
//! rest at `|` into messages fed to one `NtlmAuth` with verdicts and flushes in between; 2 and 3
//! feed the rest to an HTTP or LDAP connection, alternating direction at each `\0\0` and splitting
//! it in uneven pieces.
#![no_main]
use dcsensor::proto::ntlm::{parse, NtlmAuth};
use dcsensor::proto::{http, ldap, Ctx, DecoderConfig, Dir, FlowInfo, Shared};
use dcsensor::record::{Carrier, Code, Transport};
use dcsensor::stats::Counters;
use libfuzzer_sys::fuzz_target;

fn flow(port: u16) -> FlowInfo {
    FlowInfo {
        client: [192, 0, 2, 2].into(),
        client_port: 49152,
        server: [192, 0, 2, 1].into(),
        server_port: port,
        transport: Transport::Tcp,
        tunnel: Default::default(),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let config = DecoderConfig {
        max_header: 4096,
        ..Default::default()
    };
    let (counters, shared) = (Counters::default(), Shared::default());
    let mut out = Vec::new();
    let f = flow(if mode % 4 == 3 { 389 } else { 80 });
    let mut cx = Ctx {
        now: 1,
        flow: &f,
        out: &mut out,
        counters: &counters,
        config: &config,
        shared: &shared,
    };
    match mode % 4 {
        0 => {
            if let Ok(parse::Message::Authenticate(a)) = parse::parse(rest) {
                if let Some(p) = parse::ntlmv2_av_pairs(a.nt_response) {
                    let _ = parse::av_flags(p);
                }
                let _ = (parse::utf16le(a.user), parse::oem(a.domain));
            } else if let Ok(parse::Message::Challenge(c)) = parse::parse(rest) {
                let _ = parse::av_pairs(c.target_info).count();
            }
        }
        1 => {
            let mut auth = NtlmAuth::default();
            for (k, m) in rest.split(|&b| b == b'|').enumerate() {
                let mut msg = b"NTLMSSP\0".to_vec();
                msg.extend_from_slice(m);
                auth.message(&mut cx, Carrier::Smb2, &msg);
                match k % 3 {
                    0 => auth.verdict(&mut cx, m.len() % 2 == 0, Code::Num(k as i64)),
                    1 => {}
                    _ => auth.flush(&mut cx),
                }
                let _ = (auth.pending(), auth.user());
            }
            auth.flush(&mut cx);
            assert!(!auth.pending());
        }
        m => {
            let mut app = if m == 2 { http::tcp() } else { ldap::tcp() };
            let mut dir = Dir::ToServer;
            for (k, part) in rest.split(|&b| b == 0).enumerate() {
                if part.is_empty() {
                    dir = dir.flip();
                    continue;
                }
                if k % 7 == 6 {
                    app.gap(&mut cx, dir, part.len() as u64);
                }
                for piece in part.chunks(1 + k % 5) {
                    app.data(&mut cx, dir, piece);
                }
                app.tick(&mut cx);
            }
            app.close(&mut cx);
            assert!(app.buffered() <= 2 * 4096 + 64);
        }
    }
});
