//! Fuzz target: `gssapi::inspect` on arbitrary security tokens (SPNEGO NegTokenInit and
//! NegTokenResp, GSS-API wrappers, raw NTLMSSP and Kerberos), and the pure unwrapper.
#![no_main]
use dcsensor::proto::gssapi::{self, parse};
use dcsensor::proto::ntlm::NtlmAuth;
use dcsensor::proto::{Ctx, DecoderConfig, FlowInfo, Shared};
use dcsensor::record::{Carrier, Transport};
use dcsensor::stats::Counters;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(parse::Inner::Ntlmssp(m) | parse::Inner::ApReq(m)) = parse::unwrap(data) {
        assert!(!m.is_empty());
    }
    let _ = parse::header(data);
    let f = FlowInfo {
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
    let mut out = Vec::new();
    let mut cx = Ctx {
        now: 1,
        flow: &f,
        out: &mut out,
        counters: &counters,
        config: &config,
        shared: &shared,
    };
    let mut auth = NtlmAuth::default();
    gssapi::inspect(&mut cx, Carrier::Smb2, data, &mut auth);
    auth.flush(&mut cx);
});
