//! Tests of the DNS message parsers.

use super::lab::{self, hex, msg, BENIGN, NX};
use super::*;

fn answers(m: &Message<'_>, s: Section) -> Vec<(String, String, u32)> {
    m.records(s)
        .map(|r| {
            let mut d = String::new();
            write_rdata(m.msg, &r, &mut d);
            (r.name.to_text(), d, r.ttl)
        })
        .collect()
}

#[test]
fn srv_response_from_the_lab() {
    let b = hex(BENIGN[3].1);
    let m = parse_message(&b).unwrap();
    assert_eq!(m.header.id, 0x85cc);
    assert!(
        m.header.is_response()
            && m.header.aa()
            && m.header.rd()
            && !m.header.ra()
            && !m.header.tc()
    );
    assert_eq!(m.header.opcode(), 0);
    assert_eq!(m.rcode(), 0);
    let q = m.question.unwrap();
    assert_eq!(
        (q.name.to_text().as_str(), q.qtype, q.qclass),
        ("_ldap._tcp.lab.example", 33, 1)
    );
    assert_eq!(
        answers(&m, m.answers),
        vec![(
            "_ldap._tcp.lab.example".into(),
            "0 100 389 dc1.lab.example".into(),
            900
        )]
    );
    assert_eq!(
        answers(&m, m.authority),
        vec![(
            "lab.example".into(),
            "dc1.lab.example hostmaster.lab.example 2 900 600 86400 3600".into(),
            3600
        )]
    );
    assert_eq!((m.additional.count, m.opt, m.incomplete), (0, None, false));
}

#[test]
fn query_with_edns_cookie() {
    let b = hex(BENIGN[0].1);
    let m = parse_message(&b).unwrap();
    assert!(!m.header.is_response());
    assert_eq!(m.question.unwrap().name.to_text(), "dc1.lab.example");
    assert_eq!(
        m.opt,
        Some(Opt {
            udp_size: 1232,
            ext_rcode: 0,
            version: 0,
            flags: 0
        })
    );
    assert_eq!(
        (m.answers.count, m.authority.count, m.additional.count),
        (0, 0, 1)
    );
}

#[test]
fn soa_ptr_a_and_nxdomain_from_the_lab() {
    let b = hex(BENIGN[17].1);
    let m = parse_message(&b).unwrap();
    let soa = "dc1.lab.example hostmaster.lab.example 2 900 600 86400 3600".to_string();
    assert_eq!(
        answers(&m, m.answers),
        vec![("lab.example".into(), soa.clone(), 3600)]
    );
    // The authority SOA of that message is all pointers into the answer.
    assert_eq!(
        answers(&m, m.authority),
        vec![("lab.example".into(), soa, 3600)]
    );
    let b = hex(BENIGN[25].1);
    let m = parse_message(&b).unwrap();
    assert_eq!(
        answers(&m, m.answers),
        vec![(
            "2.0.99.10.in-addr.arpa".into(),
            "ws01.lab.example".into(),
            900
        )]
    );
    let b = hex(BENIGN[21].1);
    let m = parse_message(&b).unwrap();
    assert_eq!(
        answers(&m, m.answers),
        vec![("ws01.lab.example".into(), "10.99.0.2".into(), 900)]
    );
    let b = hex(NX[1].1);
    let m = parse_message(&b).unwrap();
    assert_eq!((m.rcode(), m.answers.count, m.authority.count), (3, 0, 1));
}

#[test]
fn every_truncation_of_a_real_response_is_an_error_or_incomplete() {
    let b = hex(BENIGN[3].1);
    for n in 0..b.len() {
        match parse_message(&b[..n]) {
            Err(DnsError::Short) => assert!(n < 12, "{n}"),
            // The question ends at byte 40.
            Err(DnsError::Question) => assert!((12..40).contains(&n), "{n}"),
            Ok(m) => {
                assert!(n >= 40, "{n}");
                assert!(m.incomplete, "{n}");
            }
        }
    }
    assert!(!parse_message(&b).unwrap().incomplete);
}

fn with_question_bytes(qname: &[u8]) -> Vec<u8> {
    let mut m = hex("123401000001000000000000");
    m.extend_from_slice(qname);
    m.extend_from_slice(&[0, 1, 0, 1]);
    m
}

#[test]
fn compression_loops_are_errors() {
    // A pointer to itself (offset 12).
    assert_eq!(
        parse_message(&with_question_bytes(&[0xc0, 12])),
        Err(DnsError::Question)
    );
    // Two pointers to each other.
    assert_eq!(
        parse_message(&with_question_bytes(&[0xc0, 14, 0xc0, 12])),
        Err(DnsError::Question)
    );
    // A label then a pointer back to it: `a.a.a...` for ever.
    assert_eq!(
        parse_message(&with_question_bytes(&[1, b'a', 0xc0, 12])),
        Err(DnsError::Question)
    );
    // A pointer out of the message, a reserved label type.
    assert_eq!(
        parse_message(&with_question_bytes(&[0xc3, 0xff])),
        Err(DnsError::Question)
    );
    assert_eq!(
        parse_message(&with_question_bytes(&[0x41, b'a', 0])),
        Err(DnsError::Question)
    );
    // A loop in an answer's name leaves the message incomplete, not lost.
    let mut b = hex(BENIGN[1].1);
    let at = 33; // the answer's name: c00c
    assert_eq!(&b[at..at + 2], &[0xc0, 0x0c]);
    b[at + 1] = at as u8;
    let m = parse_message(&b).unwrap();
    assert!(m.incomplete);
    assert_eq!((m.answers.count, m.authority.count), (0, 0));
}

#[test]
fn forward_pointers_and_chains_within_bounds() {
    // The question name points forward to `x.example` stored after it.
    let mut m = hex("123401000001000000000000");
    m.extend_from_slice(&[0xc0, 18, 0, 1, 0, 1]);
    lab::name(&mut m, "x.example");
    assert_eq!(
        parse_message(&m).unwrap().question.unwrap().name.to_text(),
        "x.example"
    );
    // 64 chained pointers are followed, 65 are not.
    for (hops, ok) in [(MAX_POINTERS, true), (MAX_POINTERS + 1, false)] {
        let mut m = hex("123401000001000000000000");
        let base = 12 + 2 * hops + 4;
        for k in 0..hops {
            let to = if k + 1 == hops {
                base
            } else {
                12 + 2 * (k + 1)
            };
            m.extend_from_slice(&[0xc0 | (to >> 8) as u8, to as u8]);
        }
        m.extend_from_slice(&[0, 1, 0, 1]);
        lab::name(&mut m, "deep");
        assert_eq!(parse_message(&m).is_ok(), ok, "{hops}");
    }
}

#[test]
fn name_length_and_text_escapes() {
    // 127 one-byte labels: 255 bytes on the wire, the longest allowed; one more is too long.
    for (labels, ok) in [(127, true), (128, false)] {
        let mut q = Vec::new();
        for _ in 0..labels {
            q.extend_from_slice(&[1, b'z']);
        }
        q.push(0);
        assert_eq!(
            parse_message(&with_question_bytes(&q)).is_ok(),
            ok,
            "{labels}"
        );
    }
    let m = with_question_bytes(b"\x05a.b c\x03Ex\xff\x00");
    assert_eq!(
        parse_message(&m).unwrap().question.unwrap().name.to_text(),
        "a\\.b\\032c.Ex\\255"
    );
    let m = with_question_bytes(&[0]);
    let q = parse_message(&m).unwrap().question.unwrap();
    assert!(q.name.is_root());
    assert_eq!(q.name.to_text(), ".");
}

#[test]
fn extended_rcode_and_rdata_fallbacks() {
    let mut b = msg(
        7,
        0x8000,
        Some(("example", 1)),
        &[
            ("example", 1, 1, 60, vec![10, 0, 0, 1, 9]),
            ("example", 4242, 1, 60, vec![1, 2, 3]),
            (
                "example",
                16,
                1,
                60,
                b"\x06v=spf1\x05 -all\x02\\\x01".to_vec(),
            ),
            (
                "example",
                15,
                1,
                60,
                [&[0, 10][..], b"\x02mx\x07example\x00"].concat(),
            ),
            ("example", 257, 1, 60, b"\x00\x05issueca.example".to_vec()),
        ],
        &[],
    );
    // An OPT record with extended rcode 1 in the additional section.
    b[11] = 1;
    b.extend_from_slice(&[0, 0, 41, 16, 0, 1, 0, 0, 0, 0, 0]);
    let m = parse_message(&b).unwrap();
    assert_eq!(m.rcode(), 16);
    assert_eq!(rcode_name(m.rcode()), Some("BADVERS"));
    let a: Vec<String> = answers(&m, m.answers).into_iter().map(|x| x.1).collect();
    assert_eq!(
        a,
        [
            "\\# 5 0a00000109",
            "\\# 3 010203",
            "v=spf1 -all\\\\\\001",
            "10 mx.example",
            "0 issue ca.example"
        ]
    );
    let mut s = String::new();
    generic_rdata(&[0xab; MAX_HEX_RDATA + 1], &mut s);
    assert_eq!(s.len(), "\\# 129 ".len() + 2 * MAX_HEX_RDATA + 3);
    assert!(s.ends_with("ab..."));
}

#[test]
fn dnssec_and_svcb_rdata_as_text() {
    let mut rrsig = vec![
        0, 1, 5, 4, 0, 0, 0, 30, 0x5b, 0x84, 0xfa, 0x51, 0x5b, 0x5d, 0x5f, 0xd0, 0xc5, 0x2b,
    ];
    lab::name(&mut rrsig, "upenn.edu");
    rrsig.extend_from_slice(&[0xaa; 40]);
    // NSEC: next name, then window 0 with A, NS, RRSIG (46), NSEC (47); window 1 with CAA (257).
    let mut nsec = Vec::new();
    lab::name(&mut nsec, "b.example");
    nsec.extend_from_slice(&[0, 6, 0x60, 0, 0, 0, 0, 3, 1, 1, 0x40]);
    let dnskey = vec![1, 1, 3, 8, b'a', b'b', b'c', b'd'];
    let mut https = vec![0, 1, 0];
    https.extend_from_slice(&[0, 1, 0, 6, 2, b'h', b'2', 2, b'h', b'3']);
    https.extend_from_slice(&[
        0, 3, 0, 2, 1, 187, 0, 4, 0, 8, 104, 16, 132, 229, 104, 16, 133, 229,
    ]);
    https.extend_from_slice(&[0, 9, 0, 2, 0xbe, 0xef]);
    let bad_https = vec![0, 1, 0, 0, 3, 0, 3, 0, 0, 0];
    let b = msg(
        7,
        0x8000,
        Some(("example", 1)),
        &[
            ("example", 46, 1, 60, rrsig),
            ("example", 47, 1, 60, nsec),
            ("example", 48, 1, 60, dnskey),
            ("example", 65, 1, 60, https),
            ("example", 65, 1, 60, bad_https),
        ],
        &[],
    );
    let m = parse_message(&b).unwrap();
    let a: Vec<String> = answers(&m, m.answers).into_iter().map(|x| x.1).collect();
    assert_eq!(
        a,
        [
            "A 5 4 30 1535441489 1532846032 50475 upenn.edu",
            "b.example A NS RRSIG NSEC CAA",
            "257 3 8 YWJjZA==",
            "1 . alpn=h2,h3 port=443 ipv4hint=104.16.132.229,104.16.133.229 key9=beef",
            "\\# 10 00010000030003000000",
        ]
    );
}

#[test]
fn names_of_codes() {
    assert_eq!(
        (
            type_name(33),
            type_name(252),
            type_name(65),
            type_name(3000)
        ),
        (Some("SRV"), Some("AXFR"), Some("HTTPS"), None)
    );
    assert_eq!(
        (opcode_name(4), opcode_name(5), opcode_name(3)),
        (Some("NOTIFY"), Some("UPDATE"), None)
    );
    assert_eq!(
        (rcode_name(3), rcode_name(10), rcode_name(12)),
        (Some("NXDOMAIN"), Some("NOTZONE"), None)
    );
    assert_eq!(
        (class_name(1), class_name(255), class_name(2)),
        (Some("IN"), Some("ANY"), None)
    );
}
