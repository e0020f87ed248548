//! Unit tests of the Kerberos decoder on real bytes: messages of the project's own lab captures
//! (`testdata-pcaps/lab/NN_*.pcap`), extracted with
//! `tshark -r F -Y frame.number==N -T fields -e udp.payload -e tcp.payload | xxd -r -p` into
//! `testdata/` (TCP payloads keep their 4-byte record mark). Expected values were checked
//! against tshark's reading of the same frames (etypes, KDCOptions, PA-DATA types, till, and
//! the SHA-256 of `kerberos.cipher`).

use super::*;
use crate::proto::testutil::Harness;
use crate::record::{Record, Transport, NS};
use serde_json::{json, Value};

macro_rules! td {
    ($n:literal) => {
        include_bytes!(concat!("testdata/", $n, ".bin")).as_slice()
    };
}

/// The record's body fields (everything but the common head), as JSON.
fn body(r: &Record) -> Value {
    let mut v = serde_json::to_value(r).unwrap();
    let m = v.as_object_mut().unwrap();
    for k in ["ts", "type", "src", "sport", "dst", "dport", "proto"] {
        m.remove(k);
    }
    v
}

fn bodies(h: &Harness) -> Vec<Value> {
    h.out.iter().map(body).collect()
}

/// Runs request `a` at 1 s and answer `b` at 1.25 s through a UDP decoder, then closes.
fn udp_pair(a: &[u8], b: &[u8]) -> Harness {
    let mut h = Harness::new(Transport::Udp, 88);
    let mut u = udp();
    u.datagram(&mut h.cx(NS), Dir::ToServer, a);
    u.datagram(&mut h.cx(NS + NS / 4), Dir::ToClient, b);
    u.close(&mut h.cx(3 * NS));
    h
}

/// Runs request `a` then answer `b` through a TCP decoder, each fed in pieces cut at `cuts`.
fn tcp_pair_cut(a: &[u8], b: &[u8], cuts: &[usize]) -> Harness {
    let mut h = Harness::new(Transport::Tcp, 88);
    let mut t = tcp();
    for (dir, msg, at) in [(Dir::ToServer, a, NS), (Dir::ToClient, b, NS + NS / 4)] {
        let mut last = 0;
        for (i, &c) in cuts.iter().chain([&msg.len()]).enumerate() {
            let c = c.min(msg.len()).max(last);
            t.data(&mut h.cx(at + i as u64), dir, &msg[last..c]);
            last = c;
        }
    }
    t.close(&mut h.cx(3 * NS));
    h
}

fn tcp_pair(a: &[u8], b: &[u8]) -> Harness {
    tcp_pair_cut(a, b, &[])
}

fn malformed(h: &Harness) -> u64 {
    h.counters.get(Counter::MalformedKerberos)
}

#[test]
fn password_logon_preauth_required_over_udp() {
    // 01_benign_kerberos_logon frames 1-2: MIT kinit for alice without pre-authentication.
    let h = udp_pair(td!("logon_as_req_udp"), td!("logon_preauth_required_udp"));
    assert_eq!(h.out.len(), 1);
    let r = &h.out[0];
    assert_eq!(r.ts, NS);
    assert_eq!(r.proto, Some(Transport::Udp));
    assert_eq!(
        body(r),
        json!({"request":"AS-REQ","client":"alice","realm":"LAB.EXAMPLE","service":"krbtgt/LAB.EXAMPLE",
            "etypes":[18,17,20,19,16,23,25,26],"kdc_options":["renewable"],"preauth":[150,149],
            "till":1795973251.0,"reply":"KRB-ERROR","error":"KDC_ERR_PREAUTH_REQUIRED",
            "error_etypes":[18],"rtt":0.25})
    );
    assert_eq!(malformed(&h), 0);
}

#[test]
fn response_too_big_then_as_rep_over_tcp() {
    // Frames 3-4: the AS-REQ with PA-ENC-TIMESTAMP answered KRB_ERR_RESPONSE_TOO_BIG on UDP.
    let h = udp_pair(td!("logon_as_req_pa_udp"), td!("logon_too_big_udp"));
    assert_eq!(
        bodies(&h),
        [
            json!({"request":"AS-REQ","client":"alice","realm":"LAB.EXAMPLE","service":"krbtgt/LAB.EXAMPLE",
            "etypes":[18,17,20,19,16,23,25,26],"kdc_options":["renewable"],"preauth":[2,150,149],
            "preauth_etype":18,"till":1795973251.0,"reply":"KRB-ERROR","error":"KRB_ERR_RESPONSE_TOO_BIG",
            "error_etypes":[18],"rtt":0.25})
        ]
    );
    // Frames 8 and 10: the same request over TCP, answered with her TGT. The record mark of
    // each message arrives one byte at a time.
    let h = tcp_pair_cut(
        td!("logon_as_req_tcp"),
        td!("logon_as_rep_tcp"),
        &[1, 2, 3, 4],
    );
    assert_eq!(
        bodies(&h),
        [
            json!({"request":"AS-REQ","client":"alice","realm":"LAB.EXAMPLE","service":"krbtgt/LAB.EXAMPLE",
            "etypes":[18,17,20,19,16,23,25,26],"kdc_options":["renewable"],"preauth":[2,150,149],
            "preauth_etype":18,"till":1795973251.0,"reply":"AS-REP","ticket_etype":18,"reply_etype":18,
            "ticket_hash":"fc4a224c60027bfef2908d5c967f31b3","rtt":0.25})
        ]
    );
    assert_eq!(
        h.out[0].ts, NS,
        "a TCP record starts with the first byte of its request"
    );
    assert_eq!(malformed(&h), 0);
}

#[test]
fn wrong_password_is_preauth_failed() {
    // 01 frames 57-58: bob's wrong password.
    let h = udp_pair(td!("bob_as_req_pa_udp"), td!("bob_preauth_failed_udp"));
    assert_eq!(
        bodies(&h),
        [
            json!({"request":"AS-REQ","client":"bob","realm":"LAB.EXAMPLE","service":"krbtgt/LAB.EXAMPLE",
            "etypes":[18,17,20,19,16,23,25,26],"kdc_options":["renewable-ok"],"preauth":[2,150,149],
            "preauth_etype":18,"till":1795973251.0,"reply":"KRB-ERROR","error":"KDC_ERR_PREAUTH_FAILED",
            "error_etypes":[18],"rtt":0.25})
        ]
    );
}

#[test]
fn service_ticket_presents_the_tgt_the_as_rep_issued() {
    // 01 frames 18-20: TGS-REQ for cifs/dc1 with alice's TGT; the client comes from the answer.
    let h = tcp_pair(td!("logon_tgs_req_cifs_tcp"), td!("logon_tgs_rep_cifs_tcp"));
    assert_eq!(
        bodies(&h),
        [
            json!({"request":"TGS-REQ","client":"alice","realm":"LAB.EXAMPLE","service":"cifs/dc1.lab.example",
            "etypes":[18,17,20,19,16,23,25,26],"kdc_options":["renewable","canonicalize"],"preauth":[1,136],
            "till":1795922851.0,"reply":"TGS-REP","ticket_etype":18,"reply_etype":18,
            "ticket_hash":"cfce22290c2c8c1c3509d2ffe1e7ea1a",
            "presented_hash":"fc4a224c60027bfef2908d5c967f31b3","presented_etype":18,"rtt":0.25})
        ]
    );
}

#[test]
fn kerberoasting_gets_rc4_tickets_and_etype_nosupp_for_aes_only() {
    // 10_attack_kerberoasting frames 99-101 and 119-121 (impacket GetUserSPNs -usersfile).
    let h = tcp_pair(td!("roast_tgs_req_sql_tcp"), td!("roast_tgs_rep_sql_tcp"));
    assert_eq!(
        bodies(&h),
        [
            json!({"request":"TGS-REQ","client":"alice","realm":"LAB.EXAMPLE","service":"svc_sql",
            "etypes":[23,16,3,23],"kdc_options":["forwardable","renewable","canonicalize","renewable-ok"],
            "preauth":[1],"till":1795973261.0,"reply":"TGS-REP","ticket_etype":23,"reply_etype":23,
            "ticket_hash":"d6dfc0b47064a2dd99a127686fa5fff4",
            "presented_hash":"ad4f4f12e35ae0a0f9915bda6c88d7bf","presented_etype":18,"rtt":0.25})
        ]
    );
    let h = tcp_pair(
        td!("roast_tgs_req_backup_tcp"),
        td!("roast_etype_nosupp_tcp"),
    );
    assert_eq!(
        bodies(&h),
        [
            json!({"request":"TGS-REQ","realm":"LAB.EXAMPLE","service":"svc_backup","etypes":[23,16,3,23],
            "kdc_options":["forwardable","renewable","canonicalize","renewable-ok"],"preauth":[1],
            "till":1795973261.0,"reply":"KRB-ERROR","error":"KDC_ERR_ETYPE_NOSUPP","client":"alice",
            "presented_hash":"ad4f4f12e35ae0a0f9915bda6c88d7bf","presented_etype":18,"rtt":0.25})
        ]
    );
}

#[test]
fn asrep_roasting_without_preauth_gets_an_rc4_reply() {
    // 11_attack_asrep_roasting frames 22-24: dave has DONT_REQUIRE_PREAUTH.
    let h = tcp_pair(td!("asrep_as_req_dave_tcp"), td!("asrep_as_rep_dave_tcp"));
    assert_eq!(
        bodies(&h),
        [
            json!({"request":"AS-REQ","client":"dave","realm":"LAB.EXAMPLE","service":"krbtgt/LAB.EXAMPLE",
            "etypes":[23],"kdc_options":["forwardable","proxiable","renewable"],"preauth":[128],
            "pac_request":true,"till":1795973263.0,"reply":"AS-REP","ticket_etype":18,"reply_etype":23,
            "ticket_hash":"b1ccd62de079a1cabc3427f9571bfb2a","rtt":0.25})
        ]
    );
    // Frames 98-100: a name that does not exist.
    let h = tcp_pair(td!("asrep_as_req_nosuch_tcp"), td!("asrep_c_unknown_tcp"));
    assert_eq!(body(&h.out[0])["client"], "nosuchuser");
    assert_eq!(body(&h.out[0])["error"], "KDC_ERR_C_PRINCIPAL_UNKNOWN");
    assert_eq!(h.out.len(), 1);
}

#[test]
fn account_enumeration_principal_unknown() {
    // 16_attack_account_enumeration frames 1-2.
    let h = udp_pair(td!("enum_as_req_udp"), td!("enum_c_unknown_udp"));
    assert_eq!(
        bodies(&h),
        [
            json!({"request":"AS-REQ","client":"admin","realm":"LAB.EXAMPLE","service":"krbtgt/LAB.EXAMPLE",
            "etypes":[18,17,20,19,16,23,25,26],"kdc_options":["renewable-ok"],"preauth":[150,149],
            "till":1795973272.0,"reply":"KRB-ERROR","error":"KDC_ERR_C_PRINCIPAL_UNKNOWN","rtt":0.25})
        ]
    );
}

#[test]
fn overpass_the_hash_offers_rc4_only() {
    // 18_attack_overpass_the_hash frames 14-16: impacket getTGT -hashes.
    let h = tcp_pair(td!("opth_as_req_tcp"), td!("opth_as_rep_tcp"));
    assert_eq!(
        bodies(&h),
        [
            json!({"request":"AS-REQ","client":"bob","realm":"LAB.EXAMPLE","service":"krbtgt/LAB.EXAMPLE",
            "etypes":[23],"kdc_options":["forwardable","proxiable","renewable"],"preauth":[2,128],
            "preauth_etype":23,"pac_request":true,"till":1795973276.0,"reply":"AS-REP","ticket_etype":18,
            "reply_etype":23,"ticket_hash":"cb949534fbe05fad4e9b3ecf19140ced","rtt":0.25})
        ]
    );
}

#[test]
fn golden_ticket_presents_a_tgt_never_issued() {
    // 19_attack_golden_ticket frames 13-15.
    let h = tcp_pair(td!("golden_tgs_req_tcp"), td!("golden_tgs_rep_tcp"));
    assert_eq!(
        bodies(&h),
        [
            json!({"request":"TGS-REQ","client":"Administrator","realm":"LAB.EXAMPLE",
            "service":"cifs/dc1.lab.example","etypes":[23,16,3,18],
            "kdc_options":["forwardable","renewable","canonicalize","renewable-ok"],"preauth":[1],
            "till":1795973278.0,"reply":"TGS-REP","ticket_etype":18,"reply_etype":18,
            "ticket_hash":"80b66c66298e8b7db6c674b375b5d36f",
            "presented_hash":"858cdddecbeb0aaafb2949648d5a5fae","presented_etype":18,"rtt":0.25})
        ]
    );
}

#[test]
fn several_messages_per_segment_pair_in_order() {
    let reqs = [
        td!("logon_as_req_tcp"),
        td!("logon_tgs_req_cifs_tcp"),
        td!("roast_tgs_req_backup_tcp"),
    ]
    .concat();
    let reps = [
        td!("logon_as_rep_tcp"),
        td!("logon_tgs_rep_cifs_tcp"),
        td!("roast_etype_nosupp_tcp"),
    ]
    .concat();
    let mut h = Harness::new(Transport::Tcp, 88);
    let mut t = tcp();
    t.data(&mut h.cx(NS), Dir::ToServer, &reqs);
    t.data(&mut h.cx(2 * NS), Dir::ToClient, &reps);
    t.close(&mut h.cx(3 * NS));
    let got: Vec<_> = bodies(&h)
        .iter()
        .map(|b| {
            (
                b["request"].clone(),
                b["reply"].clone(),
                b["service"].clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                json!("AS-REQ"),
                json!("AS-REP"),
                json!("krbtgt/LAB.EXAMPLE")
            ),
            (
                json!("TGS-REQ"),
                json!("TGS-REP"),
                json!("cifs/dc1.lab.example")
            ),
            (json!("TGS-REQ"), json!("KRB-ERROR"), json!("svc_backup")),
        ]
    );
    assert_eq!(malformed(&h), 0);
}

#[test]
fn every_split_of_a_stream_gives_the_same_record() {
    let want = bodies(&tcp_pair(
        td!("logon_tgs_req_cifs_tcp"),
        td!("logon_tgs_rep_cifs_tcp"),
    ));
    let a = td!("logon_tgs_req_cifs_tcp");
    for cut in 1..a.len() {
        let h = tcp_pair_cut(a, td!("logon_tgs_rep_cifs_tcp"), &[cut, cut + 1, cut + 7]);
        assert_eq!(bodies(&h), want, "cut at {cut}");
        assert_eq!(malformed(&h), 0);
    }
    // Two requests and their answers fed one byte at a time.
    let reqs = [td!("logon_as_req_tcp"), td!("logon_tgs_req_cifs_tcp")].concat();
    let reps = [td!("logon_as_rep_tcp"), td!("logon_tgs_rep_cifs_tcp")].concat();
    let mut h = Harness::new(Transport::Tcp, 88);
    let mut t = tcp();
    for (i, b) in reqs.chunks(1).enumerate() {
        t.data(&mut h.cx(NS + i as u64), Dir::ToServer, b);
    }
    for b in reps.chunks(1) {
        t.data(&mut h.cx(2 * NS), Dir::ToClient, b);
    }
    t.close(&mut h.cx(3 * NS));
    assert_eq!(h.out.len(), 2);
    assert_eq!(h.out[0].ts, NS);
    assert_eq!(h.out[1].ts, NS + td!("logon_as_req_tcp").len() as u64);
    let Body::Kerberos(k) = &h.out[1].body else {
        panic!()
    };
    assert_eq!(k.rtt, Some(2 * NS - h.out[1].ts));
    let (mut got, mut want) = (body(&h.out[1]), want[0].clone());
    got.as_object_mut().unwrap().remove("rtt");
    want.as_object_mut().unwrap().remove("rtt");
    assert_eq!(got, want);
}

/// The AP-REQ inside the golden-ticket TGS-REQ's PA-TGS-REQ (what SMB carries looks the same).
fn golden_ap_req() -> Vec<u8> {
    let msg = &td!("golden_tgs_req_tcp")[4..];
    let (_, parse::Message::KdcReq(r)) = parse::message(msg).unwrap() else {
        panic!()
    };
    r.padata.find(parse::PA_TGS_REQ).unwrap().to_vec()
}

#[test]
fn message_over_the_cap_is_skipped_and_counted() {
    let mut h = Harness::new(Transport::Tcp, 88);
    h.config.kerberos_max_message = 1024;
    let big = td!("logon_tgs_req_cifs_tcp");
    let stream = [big, td!("logon_as_req_tcp")].concat();
    let mut t = tcp();
    // Cut inside the big message so the skip spans calls.
    t.data(&mut h.cx(NS), Dir::ToServer, &stream[..700]);
    t.data(&mut h.cx(NS), Dir::ToServer, &stream[700..]);
    t.close(&mut h.cx(2 * NS));
    assert_eq!(
        h.counters.get(Counter::DropDecoderCap),
        (big.len() - 4) as u64
    );
    assert_eq!(malformed(&h), 0);
    assert_eq!(
        bodies(&h)
            .iter()
            .map(|b| b["request"].clone())
            .collect::<Vec<_>>(),
        [json!("AS-REQ")]
    );
}

#[test]
fn gaps_resynchronise() {
    let a = td!("logon_tgs_req_cifs_tcp");
    let b = td!("logon_as_req_tcp");
    let c = td!("asrep_as_req_dave_tcp");
    // A gap inside a message: it is lost, the next one decodes.
    let mut h = Harness::new(Transport::Tcp, 88);
    let mut t = tcp();
    t.data(&mut h.cx(NS), Dir::ToServer, &a[..100]);
    t.gap(&mut h.cx(NS), Dir::ToServer, 200);
    t.data(&mut h.cx(NS), Dir::ToServer, &a[300..]);
    t.data(&mut h.cx(NS), Dir::ToServer, b);
    // A gap that swallows the end of one message and the start of the next: the scan finds
    // the record mark after that.
    t.gap(&mut h.cx(NS), Dir::ToServer, (a.len() + 10) as u64);
    t.data(&mut h.cx(NS), Dir::ToServer, &[&a[10..], c].concat());
    t.close(&mut h.cx(2 * NS));
    let clients: Vec<_> = bodies(&h).iter().map(|b| b["client"].clone()).collect();
    assert_eq!(clients, [json!("alice"), json!("dave")]);
    assert_eq!(malformed(&h), 0);
}

#[test]
fn garbage_is_counted_and_skipped() {
    // TCP: bytes that are no record mark, then a real request.
    let mut h = Harness::new(Transport::Tcp, 88);
    let mut t = tcp();
    let garbage = b"GET / HTTP/1.1
Host: x

";
    t.data(
        &mut h.cx(NS),
        Dir::ToServer,
        &[garbage.as_slice(), td!("logon_as_req_tcp")].concat(),
    );
    // A record mark with the reserved high bit, and one with an indefinite DER length.
    t.data(
        &mut h.cx(NS),
        Dir::ToServer,
        &[0x80, 0, 0, 9, 0x6a, 0x07, 0, 0, 0, 0, 0, 0, 0],
    );
    t.data(
        &mut h.cx(NS),
        Dir::ToServer,
        &[0, 0, 0, 9, 0x6a, 0x80, 0x30, 0x80, 0, 0, 0, 0, 0],
    );
    t.data(&mut h.cx(NS), Dir::ToServer, td!("asrep_as_req_dave_tcp"));
    t.close(&mut h.cx(2 * NS));
    assert_eq!(malformed(&h), 2, "each run of garbage is counted once");
    let clients: Vec<_> = bodies(&h).iter().map(|b| b["client"].clone()).collect();
    assert_eq!(clients, [json!("alice"), json!("dave")]);

    // UDP: a truncated request, a request whose length is larger than the data, random bytes.
    let mut h = Harness::new(Transport::Udp, 88);
    let mut u = udp();
    let req = td!("logon_as_req_udp");
    u.datagram(&mut h.cx(NS), Dir::ToServer, &req[..req.len() - 1]);
    let mut longer = req.to_vec();
    longer[2] = longer[2].wrapping_add(3);
    u.datagram(&mut h.cx(NS), Dir::ToServer, &longer);
    u.datagram(
        &mut h.cx(NS),
        Dir::ToServer,
        &[0x6a, 0x80, 0x30, 0x80, 0, 0, 0, 0],
    );
    u.datagram(
        &mut h.cx(NS),
        Dir::ToServer,
        b"\x00\x01 not kerberos at all",
    );
    u.close(&mut h.cx(2 * NS));
    assert_eq!(malformed(&h), 4);
    assert!(h.out.is_empty());
}

#[test]
fn truncated_stream_at_close_is_counted() {
    let mut h = Harness::new(Transport::Tcp, 88);
    let mut t = tcp();
    t.data(&mut h.cx(NS), Dir::ToServer, &td!("logon_as_req_tcp")[..50]);
    t.close(&mut h.cx(2 * NS));
    assert_eq!(malformed(&h), 1);
    assert!(h.out.is_empty());
}

#[test]
fn lone_request_at_timeout_and_lone_answer() {
    let mut h = Harness::new(Transport::Udp, 88);
    let mut u = udp();
    u.datagram(&mut h.cx(NS), Dir::ToServer, td!("enum_as_req_udp"));
    u.tick(&mut h.cx(NS + h.config.request_timeout - 1));
    assert!(h.out.is_empty(), "not yet timed out");
    let t = NS + h.config.request_timeout;
    u.tick(&mut h.cx(t));
    assert_eq!(h.out.len(), 1);
    assert_eq!(h.out[0].ts, NS);
    assert_eq!(h.counters.get(Counter::RequestsTimedOut), 1);
    let b = body(&h.out[0]);
    assert_eq!(b["request"], "AS-REQ");
    assert_eq!(b.get("reply"), None);
    assert_eq!(b.get("rtt"), None);
    // The answer comes too late: it is emitted alone, with what it tells.
    u.datagram(&mut h.cx(t + NS), Dir::ToClient, td!("enum_c_unknown_udp"));
    assert_eq!(h.out.len(), 2);
    assert_eq!(h.out[1].ts, t + NS);
    assert_eq!(
        body(&h.out[1]),
        json!({"client":"admin","realm":"LAB.EXAMPLE","service":"krbtgt/LAB.EXAMPLE","reply":"KRB-ERROR",
            "error":"KDC_ERR_C_PRINCIPAL_UNKNOWN"})
    );
    // A TGS-REP with no request names the ticket's service and the client.
    let mut h = Harness::new(Transport::Tcp, 88);
    let mut t = tcp();
    t.data(&mut h.cx(NS), Dir::ToClient, td!("golden_tgs_rep_tcp"));
    t.close(&mut h.cx(NS));
    assert_eq!(
        bodies(&h),
        [
            json!({"client":"Administrator","realm":"LAB.EXAMPLE","service":"cifs/dc1.lab.example",
            "reply":"TGS-REP","ticket_etype":18,"reply_etype":18,"ticket_hash":"80b66c66298e8b7db6c674b375b5d36f"})
        ]
    );
}

#[test]
fn requests_beyond_max_pending_are_emitted_alone() {
    let mut h = Harness::new(Transport::Udp, 88);
    h.config.max_pending = 2;
    let mut u = udp();
    for (i, m) in [
        td!("enum_as_req_udp"),
        td!("logon_as_req_udp"),
        td!("bob_as_req_pa_udp"),
    ]
    .iter()
    .enumerate()
    {
        u.datagram(&mut h.cx(NS * (i as u64 + 1)), Dir::ToServer, m);
    }
    assert_eq!(h.out.len(), 1);
    assert_eq!(body(&h.out[0])["client"], "admin");
    // The next answer completes the oldest waiting request (alice's).
    u.datagram(
        &mut h.cx(5 * NS),
        Dir::ToClient,
        td!("logon_preauth_required_udp"),
    );
    assert_eq!(body(&h.out[1])["client"], "alice");
    assert_eq!(body(&h.out[1])["error"], "KDC_ERR_PREAUTH_REQUIRED");
    u.close(&mut h.cx(6 * NS));
    assert_eq!(body(&h.out[2])["client"], "bob");
    assert_eq!(body(&h.out[2]).get("reply"), None);
    // One eviction, counted; bob's request flushed at close is neither evicted nor timed out.
    assert_eq!(h.counters.get(Counter::RequestsEvicted), 1);
    assert_eq!(h.counters.get(Counter::RequestsTimedOut), 0);
}

#[test]
fn ap_req_from_a_carrier() {
    let ap = golden_ap_req();
    let want = json!({"request":"AP-REQ","realm":"LAB.EXAMPLE","service":"krbtgt/LAB.EXAMPLE",
        "ticket_etype":18,"presented_hash":"858cdddecbeb0aaafb2949648d5a5fae","presented_etype":18,"carrier":"smb2"});
    let mut h = Harness::new(Transport::Tcp, 445);
    assert!(ap_req(&mut h.cx(NS), Carrier::Smb2, &ap));
    assert_eq!(bodies(&h), std::slice::from_ref(&want));
    // The same inside a GSS-API InitialContextToken (RFC 4121 §4.1).
    let mut tok = vec![0x06, 0x09];
    tok.extend_from_slice(parse::OID_KRB5);
    tok.extend_from_slice(&[0x01, 0x00]);
    tok.extend_from_slice(&ap);
    let mut gss = vec![0x60, 0x82, (tok.len() >> 8) as u8, tok.len() as u8];
    gss.extend_from_slice(&tok);
    let mut h = Harness::new(Transport::Tcp, 445);
    assert!(ap_req(&mut h.cx(NS), Carrier::Smb2, &gss));
    assert_eq!(bodies(&h), [want]);
    // Not an AP-REQ: nothing, not counted; a broken one: counted.
    let mut h = Harness::new(Transport::Tcp, 445);
    assert!(!ap_req(
        &mut h.cx(NS),
        Carrier::Http,
        b"NTLMSSP\0\x01\0\0\0"
    ));
    assert!(!ap_req(
        &mut h.cx(NS),
        Carrier::Http,
        td!("logon_as_req_udp")
    ));
    assert_eq!(malformed(&h), 0);
    assert!(!ap_req(&mut h.cx(NS), Carrier::Ldap, &ap[..ap.len() - 3]));
    assert_eq!(malformed(&h), 1);
    assert!(h.out.is_empty());
}

#[test]
fn probe_accepts_only_a_kdc_request_after_a_record_mark() {
    assert!(probe_tcp(Dir::ToServer, td!("logon_as_req_tcp")));
    assert!(probe_tcp(Dir::ToServer, td!("golden_tgs_req_tcp")));
    assert!(probe_tcp(Dir::ToServer, &td!("golden_tgs_req_tcp")[..12]));
    assert!(!probe_tcp(Dir::ToClient, td!("logon_as_req_tcp")));
    assert!(!probe_tcp(Dir::ToServer, td!("golden_tgs_rep_tcp")));
    assert!(!probe_tcp(Dir::ToServer, td!("logon_as_req_udp")));
    assert!(!probe_tcp(Dir::ToServer, &td!("logon_as_req_tcp")[..3]));
    let mut wrong_len = td!("logon_as_req_tcp").to_vec();
    wrong_len[3] = wrong_len[3].wrapping_add(1);
    assert!(!probe_tcp(Dir::ToServer, &wrong_len));
    assert!(!probe_tcp(Dir::ToServer, b"\x00\x00\x00\x85\xffSMB"));
}

#[test]
fn kpasswd_carries_an_ap_req() {
    // RFC 3244 framing around a real AP-REQ; the KRB-PRIV after it is opaque.
    let ap = golden_ap_req();
    let priv_part = [0x75, 0x03, 0x30, 0x01, 0x00];
    let mut req = Vec::new();
    let total = 6 + ap.len() + priv_part.len();
    req.extend_from_slice(&(total as u16).to_be_bytes());
    req.extend_from_slice(&[0xff, 0x80]);
    req.extend_from_slice(&(ap.len() as u16).to_be_bytes());
    req.extend_from_slice(&ap);
    req.extend_from_slice(&priv_part);
    // An answer without AP-REP, carrying a KRB-ERROR.
    let err = td!("enum_c_unknown_udp");
    let mut rep = Vec::new();
    rep.extend_from_slice(&((6 + err.len()) as u16).to_be_bytes());
    rep.extend_from_slice(&[0x00, 0x01, 0x00, 0x00]);
    rep.extend_from_slice(err);
    let mut h = Harness::new(Transport::Udp, 464);
    let mut u = udp();
    u.datagram(&mut h.cx(NS), Dir::ToServer, &req);
    u.datagram(&mut h.cx(2 * NS), Dir::ToClient, &rep);
    assert_eq!(malformed(&h), 0);
    assert_eq!(
        bodies(&h),
        [
            json!({"request":"AP-REQ","realm":"LAB.EXAMPLE","service":"krbtgt/LAB.EXAMPLE","ticket_etype":18,
            "presented_hash":"858cdddecbeb0aaafb2949648d5a5fae","presented_etype":18,"reply":"KRB-ERROR",
            "error":"KDC_ERR_C_PRINCIPAL_UNKNOWN","client":"admin","rtt":1.0})
        ]
    );
    // Over TCP, behind a record mark, split inside the mark.
    let mut h = Harness::new(Transport::Tcp, 464);
    let mut t = tcp();
    let framed = [(req.len() as u32).to_be_bytes().as_slice(), &req].concat();
    t.data(&mut h.cx(NS), Dir::ToServer, &framed[..2]);
    t.data(&mut h.cx(NS), Dir::ToServer, &framed[2..]);
    t.close(&mut h.cx(2 * NS));
    assert_eq!(malformed(&h), 0);
    assert_eq!(bodies(&h)[0]["request"], "AP-REQ");
    // The same bytes on port 88 are not Kerberos.
    let mut h = Harness::new(Transport::Udp, 88);
    udp().datagram(&mut h.cx(NS), Dir::ToServer, &req);
    assert_eq!(malformed(&h), 1);
}

#[test]
fn kdc_option_bits_and_error_names() {
    assert_eq!(
        kdc_option_names(0x4081_0010),
        ["forwardable", "renewable", "canonicalize", "renewable-ok"]
    );
    assert_eq!(
        kdc_option_names(0x0002_0000 | 0x0000_0003),
        ["cname-in-addl-tkt", "renew", "validate"]
    );
    assert_eq!(error_name(18), Some("KDC_ERR_CLIENT_REVOKED"));
    assert_eq!(error_name(37), Some("KRB_AP_ERR_SKEW"));
    assert_eq!(error_name(43), None);
}

#[test]
fn hostile_names_and_lists_are_capped() {
    // A real AS-REQ whose cname is replaced by one 5000-byte component and whose etype list
    // has 100 entries: rebuilt with correct DER lengths.
    fn der(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut v = vec![tag, 0x82, (content.len() >> 8) as u8, content.len() as u8];
        v.extend_from_slice(content);
        v
    }
    let name = vec![b'a'; 5000];
    let principal = der(
        0x30,
        &[
            der(0xa0, &[2, 1, 1]),
            der(0xa1, &der(0x30, &der(0x1b, &name))),
        ]
        .concat(),
    );
    let etypes: Vec<u8> = (0..100).flat_map(|_| [2u8, 1, 23]).collect();
    let body = der(
        0x30,
        &[
            der(0xa0, &[3, 5, 0, 0, 0, 0, 0]),
            der(0xa1, &principal),
            der(0xa2, &der(0x1b, b"R")),
            der(0xa7, &[2, 1, 1]),
            der(0xa8, &der(0x30, &etypes)),
        ]
        .concat(),
    );
    let req = der(
        0x6a,
        &der(
            0x30,
            &[
                der(0xa1, &[2, 1, 5]),
                der(0xa2, &[2, 1, 10]),
                der(0xa4, &body),
            ]
            .concat(),
        ),
    );
    let mut h = Harness::new(Transport::Udp, 88);
    let mut u = udp();
    u.datagram(&mut h.cx(NS), Dir::ToServer, &req);
    u.close(&mut h.cx(NS));
    assert_eq!(malformed(&h), 0);
    let Body::Kerberos(k) = &h.out[0].body else {
        panic!()
    };
    assert_eq!(k.client.as_deref().map(str::len), Some(1024));
    assert_eq!(k.etypes.len(), 64);
    assert_eq!(k.realm.as_deref(), Some("R"));
}
