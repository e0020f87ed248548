//! GSS-API tokens in their carriers, end to end: every token kind a carrier holds on healthy
//! traffic (AP-REQ and AP-REP of a Kerberos context, bare as DCE style sends them or inside
//! SPNEGO; NTLMSSP) is taken as valid, so `malformed.gssapi` stays 0 on captures of real
//! Kerberos-authenticated DCE-RPC binds, and the binds themselves are decoded.

#[path = "support/skip.rs"]
mod skip;

use dcsensor::pipeline::{replay_to_vec, Options};
use dcsensor::record::Body;
use dcsensor::stats::Counter;
use std::path::Path;

/// Captures of DCE-RPC binds authenticated with Kerberos (SPNEGO and DCE style), from the
/// shared corpus.
const KERBEROS_BINDS: &[&str] = &[
    "zeek/dce-rpc__kerberos135_auth",
    "suricata-verify/dcerpc__dcerpc-dce-iface-01",
    "zeek/dce-rpc__cs_window7-join_stream092",
];

#[test]
fn kerberos_answers_in_dcerpc_binds_are_not_malformed() {
    if !skip::need_shared("kerberos_answers_in_dcerpc_binds_are_not_malformed") {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/pcaps");
    for dir in KERBEROS_BINDS {
        let pcap = std::fs::read_dir(root.join(dir))
            .unwrap_or_else(|e| panic!("{dir}: {e}"))
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
            .unwrap_or_else(|| panic!("{dir}: no capture"));
        let opts = Options {
            workers: 1,
            ..Default::default()
        };
        let r = replay_to_vec(std::slice::from_ref(&pcap), &opts)
            .unwrap_or_else(|e| panic!("{dir}: {e}"));
        // The carrier was decoded: DCE-RPC records with an authentication type.
        let authed = r
            .records
            .iter()
            .filter(|x| matches!(&x.body, Body::Dcerpc(d) if d.auth_type.is_some()))
            .count();
        assert!(authed > 0, "{dir}: no authenticated DCE-RPC record");
        assert_eq!(
            r.stats.snapshot.get(Counter::MalformedGssapi),
            0,
            "{dir}: valid GSS-API tokens counted as malformed"
        );
        assert_eq!(r.stats.snapshot.get(Counter::MalformedDcerpc), 0, "{dir}");
    }
}
