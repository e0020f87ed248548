//! Tests of the Kerberos DER parsers.

use super::*;

const AS_REQ_UDP: &[u8] = include_bytes!("../testdata/logon_as_req_udp.bin");
const AS_REQ_PA: &[u8] = include_bytes!("../testdata/logon_as_req_pa_udp.bin");
const PREAUTH_REQUIRED: &[u8] = include_bytes!("../testdata/logon_preauth_required_udp.bin");
const TGS_REQ_TCP: &[u8] = include_bytes!("../testdata/logon_tgs_req_cifs_tcp.bin");
const TGS_REP_TCP: &[u8] = include_bytes!("../testdata/logon_tgs_rep_cifs_tcp.bin");

fn names(p: &Principal<'_>) -> Vec<String> {
    p.components()
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect()
}

#[test]
fn as_req_from_mit_kinit() {
    let (rest, m) = message(AS_REQ_UDP).unwrap();
    assert!(rest.is_empty());
    let Message::KdcReq(r) = m else {
        panic!("{m:?}")
    };
    assert_eq!(r.msg_type, AS_REQ);
    assert_eq!(names(&r.cname.unwrap()), ["alice"]);
    assert_eq!(r.realm, b"LAB.EXAMPLE");
    assert_eq!(names(&r.sname.unwrap()), ["krbtgt", "LAB.EXAMPLE"]);
    assert_eq!(
        r.etypes.iter().collect::<Vec<_>>(),
        [18, 17, 20, 19, 16, 23, 25, 26]
    );
    assert_eq!(
        r.padata.iter().map(|p| p.ty).collect::<Vec<_>>(),
        [150, 149]
    );
}

#[test]
fn as_req_with_encrypted_timestamp() {
    let (_, Message::KdcReq(r)) = message(AS_REQ_PA).unwrap() else {
        panic!()
    };
    let ts = r.padata.find(PA_ENC_TIMESTAMP).unwrap();
    assert_eq!(pa_enc_timestamp_etype(ts), Some(18));
}

#[test]
fn krb_error_preauth_required_offers_etypes() {
    let (_, Message::Error(e)) = message(PREAUTH_REQUIRED).unwrap() else {
        panic!()
    };
    assert_eq!(e.error_code, 25);
    let (_, md) = method_data(e.e_data.unwrap()).unwrap();
    let mut out = Vec::new();
    assert!(etype_info_etypes(
        md.find(PA_ETYPE_INFO2).unwrap(),
        &mut out
    ));
    assert_eq!(out, [18]);
}

#[test]
fn tgs_req_carries_its_tgt() {
    let (_, Message::KdcReq(r)) = message(&TGS_REQ_TCP[4..]).unwrap() else {
        panic!()
    };
    assert_eq!(r.msg_type, TGS_REQ);
    assert!(r.cname.is_none());
    assert_eq!(names(&r.sname.unwrap()), ["cifs", "dc1.lab.example"]);
    let (_, ap) = ap_req(r.padata.find(PA_TGS_REQ).unwrap()).unwrap();
    assert_eq!(ap.ticket.realm, b"LAB.EXAMPLE");
    assert_eq!(names(&ap.ticket.sname), ["krbtgt", "LAB.EXAMPLE"]);
    assert_eq!(ap.ticket.enc.etype, 18);
}

#[test]
fn tgs_rep_ticket() {
    let (_, Message::KdcRep(r)) = message(&TGS_REP_TCP[4..]).unwrap() else {
        panic!()
    };
    assert_eq!(r.msg_type, TGS_REP);
    assert_eq!(names(&r.cname), ["alice"]);
    assert_eq!(names(&r.ticket.sname), ["cifs", "dc1.lab.example"]);
    assert_eq!(r.ticket.enc.etype, 18);
    assert_eq!(r.enc.etype, 18);
}

#[test]
fn every_truncation_fails_cleanly() {
    for msg in [
        AS_REQ_UDP,
        AS_REQ_PA,
        PREAUTH_REQUIRED,
        &TGS_REQ_TCP[4..],
        &TGS_REP_TCP[4..],
    ] {
        for n in 0..msg.len() {
            assert!(message(&msg[..n]).is_err(), "prefix of {n} bytes parsed");
        }
    }
}

#[test]
fn indefinite_and_oversized_lengths_are_refused() {
    // [APPLICATION 10] with an indefinite length.
    assert!(message(&[0x6a, 0x80, 0x30, 0x00, 0x00, 0x00]).is_err());
    // A 5-octet long-form length.
    assert!(message(&[0x6a, 0x85, 0xff, 0xff, 0xff, 0xff, 0xff, 0x30]).is_err());
    // A length far larger than the data.
    assert!(message(&[0x6a, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x30, 0x00]).is_err());
    // The real AS-REQ with its outer length made larger than the data.
    let mut m = AS_REQ_UDP.to_vec();
    m[2] = m[2].wrapping_add(1);
    assert!(message(&m).is_err());
}

#[test]
fn deep_nesting_fails_without_recursion() {
    // 10 000 nested SEQUENCEs where the request body should be.
    let mut inner: Vec<u8> = Vec::new();
    for _ in 0..10_000 {
        let mut n = vec![0x30];
        let len = inner.len();
        n.extend_from_slice(&[
            0x84,
            (len >> 24) as u8,
            (len >> 16) as u8,
            (len >> 8) as u8,
            len as u8,
        ]);
        n.extend_from_slice(&inner);
        inner = n;
    }
    let mut msg = vec![0x6a, 0x84];
    let body_len = inner.len() + 6;
    let seq_len = body_len + 6;
    msg.extend_from_slice(&(seq_len as u32 + 6).to_be_bytes());
    msg.extend_from_slice(&[0x30, 0x84]);
    msg.extend_from_slice(&(seq_len as u32).to_be_bytes());
    msg.extend_from_slice(&[0xa4, 0x84]);
    msg.extend_from_slice(&(inner.len() as u32).to_be_bytes());
    msg.extend_from_slice(&inner);
    assert!(message(&msg).is_err());
}

#[test]
fn kerberos_time_to_epoch() {
    assert_eq!(kerberos_time(b"19700101000000Z"), Some(0));
    assert_eq!(
        kerberos_time(b"20370913024805Z"),
        Some(2_136_422_885 * 1_000_000_000)
    );
    assert_eq!(kerberos_time(b"19691231235959Z"), None);
    assert_eq!(kerberos_time(b"2037091302480Z"), None);
    assert_eq!(kerberos_time(b"20371313024805Z"), None);
}

#[test]
fn gss_wrapper_is_unwrapped() {
    let (_, Message::KdcReq(r)) = message(&TGS_REQ_TCP[4..]).unwrap() else {
        panic!()
    };
    let ap = r.padata.find(PA_TGS_REQ).unwrap();
    let mut tok = vec![0x06, 0x09];
    tok.extend_from_slice(OID_KRB5);
    tok.extend_from_slice(&[0x01, 0x00]);
    tok.extend_from_slice(ap);
    let mut gss = vec![0x60, 0x82, (tok.len() >> 8) as u8, tok.len() as u8];
    gss.extend_from_slice(&tok);
    let (_, (id, inner)) = gss_krb5(&gss).unwrap();
    assert_eq!(id, [1, 0]);
    assert_eq!(inner, ap);
}
