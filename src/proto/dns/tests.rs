//! Tests of the DNS decoder: the lab exchanges, pairing, caps, TCP framing with splits and
//! gaps, zone transfers, updates.

use super::parse::lab::{self, hex, msg, soa, AXFR_TCP, BENIGN, NX};
use super::*;
use crate::proto::testutil::Harness;
use crate::record::{Record, Transport, NS};

fn dns(r: &Record) -> &Dns {
    match &r.body {
        Body::Dns(d) => d,
        b => panic!("not dns: {b:?}"),
    }
}

fn udp_feed(h: &mut Harness, d: &mut dyn UdpApp, frames: &[(u64, &str)]) {
    for (ts, p) in frames {
        let b = hex(p);
        d.datagram(&mut h.cx(*ts), Dir::ToServer, &b);
    }
}

fn name(s: &'static str) -> Option<Code> {
    Some(Code::Name(s))
}

/// Query, qtype, rcode, answers, TTLs.
type Want = (
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static [u32],
);

#[test]
fn lab_udp_exchanges_are_exact() {
    let mut h = Harness::new(Transport::Udp, 53);
    let mut d = udp();
    udp_feed(&mut h, d.as_mut(), BENIGN);
    assert_eq!(h.out.len(), 14);
    const SOA: &str = "dc1.lab.example hostmaster.lab.example 2 900 600 86400 3600";
    let want: [Want; 14] = [
        ("dc1.lab.example", "A", "NOERROR", &["10.99.0.1"], &[900]),
        (
            "_ldap._tcp.lab.example",
            "SRV",
            "NOERROR",
            &["0 100 389 dc1.lab.example"],
            &[900],
        ),
        (
            "_kerberos._tcp.lab.example",
            "SRV",
            "NOERROR",
            &["0 100 88 dc1.lab.example"],
            &[900],
        ),
        (
            "_kerberos._udp.lab.example",
            "SRV",
            "NOERROR",
            &["0 100 88 dc1.lab.example"],
            &[900],
        ),
        (
            "_kpasswd._tcp.lab.example",
            "SRV",
            "NOERROR",
            &["0 100 464 dc1.lab.example"],
            &[900],
        ),
        (
            "_gc._tcp.lab.example",
            "SRV",
            "NOERROR",
            &["0 100 3268 dc1.lab.example"],
            &[900],
        ),
        (
            "_ldap._tcp.dc._msdcs.lab.example",
            "SRV",
            "NOERROR",
            &["0 100 389 dc1.lab.example"],
            &[900],
        ),
        (
            "_ldap._tcp.Default-First-Site-Name._sites.dc._msdcs.lab.example",
            "SRV",
            "NOERROR",
            &["0 100 389 dc1.lab.example"],
            &[900],
        ),
        ("lab.example", "SOA", "NOERROR", &[SOA], &[3600]),
        ("lab.example", "A", "NOERROR", &["10.99.0.1"], &[900]),
        ("ws01.lab.example", "A", "NOERROR", &["10.99.0.2"], &[900]),
        (
            "1.0.99.10.in-addr.arpa",
            "PTR",
            "NOERROR",
            &["dc1.lab.example"],
            &[900],
        ),
        (
            "2.0.99.10.in-addr.arpa",
            "PTR",
            "NOERROR",
            &["ws01.lab.example"],
            &[900],
        ),
        ("wpad.lab.example", "A", "NXDOMAIN", &[], &[]),
    ];
    for (k, (r, w)) in h.out.iter().zip(want).enumerate() {
        let x = dns(r);
        assert_eq!(r.ts, BENIGN[2 * k].0, "{k}");
        assert_eq!(x.rtt, Some(BENIGN[2 * k + 1].0 - BENIGN[2 * k].0), "{k}");
        assert_eq!(x.query.as_deref(), Some(w.0), "{k}");
        assert_eq!(
            (x.qtype, x.qclass, x.rcode),
            (name(w.1), name("IN"), name(w.2)),
            "{k}"
        );
        assert_eq!(x.answers, w.3, "{k}");
        assert_eq!(x.ttls, w.4, "{k}");
        assert_eq!(
            (x.opcode, &x.flags.to_vec()[..], x.answer_count),
            (Code::Name("QUERY"), &["aa", "rd"][..], None)
        );
        assert!(x.updates.is_empty());
    }
    assert_eq!(dns(&h.out[0]).id, 0xf138);
    assert_eq!(dns(&h.out[0]).rtt, Some(431_000));
    assert_eq!(h.counters.get(Counter::MalformedDns), 0);
    let j = serde_json::to_value(&h.out[1]).unwrap();
    assert_eq!(j["answers"][0], "0 100 389 dc1.lab.example");
    assert_eq!(j["rtt"], 0.000182);
    assert!(j.get("answer_count").is_none() && j.get("updates").is_none());
}

#[test]
fn nxdomain_and_lone_response_and_unanswered_query() {
    let mut h = Harness::new(Transport::Udp, 53);
    let mut d = udp();
    // The response alone: its own time, no rtt.
    udp_feed(&mut h, d.as_mut(), &NX[1..]);
    assert_eq!(h.out.len(), 1);
    let x = dns(&h.out[0]);
    assert_eq!(h.out[0].ts, NX[1].0);
    assert_eq!(
        (x.id, x.query.as_deref(), x.rcode, x.rtt),
        (0xb9c7, Some("host-001.lab.example"), name("NXDOMAIN"), None)
    );
    assert_eq!(x.flags, ["aa", "rd"]);
    // The query alone: nothing until the timeout, then the query without rcode.
    udp_feed(&mut h, d.as_mut(), &NX[..1]);
    let t0 = NX[0].0;
    d.tick(&mut h.cx(t0 + 29 * NS));
    assert_eq!(h.out.len(), 1);
    assert_eq!(h.counters.get(Counter::RequestsTimedOut), 0);
    d.tick(&mut h.cx(t0 + 30 * NS));
    assert_eq!(h.out.len(), 2);
    assert_eq!(h.counters.get(Counter::RequestsTimedOut), 1);
    let x = dns(&h.out[1]);
    assert_eq!(h.out[1].ts, t0);
    assert_eq!(
        (x.query.as_deref(), x.qtype, x.rcode, x.rtt),
        (Some("host-001.lab.example"), name("A"), None, None)
    );
    assert_eq!(x.flags, ["rd"]);
    // At close.
    udp_feed(&mut h, d.as_mut(), &BENIGN[..1]);
    d.close(&mut h.cx(t0 + 31 * NS));
    assert_eq!(h.out.len(), 3);
    assert_eq!(
        (dns(&h.out[2]).query.as_deref(), dns(&h.out[2]).rcode),
        (Some("dc1.lab.example"), None)
    );
    d.close(&mut h.cx(t0 + 32 * NS));
    assert_eq!(h.out.len(), 3);
    // The query flushed at close was neither evicted nor timed out.
    assert_eq!(h.counters.get(Counter::RequestsTimedOut), 1);
    assert_eq!(h.counters.get(Counter::RequestsEvicted), 0);
}

#[test]
fn pending_is_capped_oldest_first() {
    let mut h = Harness::new(Transport::Udp, 53);
    h.config.max_pending = 2;
    let mut d = udp();
    let queries: Vec<(u64, &str)> = BENIGN.iter().step_by(2).take(3).copied().collect();
    udp_feed(&mut h, d.as_mut(), &queries);
    assert_eq!(h.out.len(), 1);
    assert_eq!((dns(&h.out[0]).id, dns(&h.out[0]).rcode), (0xf138, None));
    // The eviction reaches the thread's counters at the next tick.
    assert_eq!(h.counters.get(Counter::RequestsEvicted), 0);
    d.tick(&mut h.cx(queries[2].0));
    assert_eq!(h.counters.get(Counter::RequestsEvicted), 1);
    // The two still waiting pair with their responses, out of order.
    udp_feed(&mut h, d.as_mut(), &[BENIGN[5], BENIGN[3]]);
    let ids: Vec<(u16, Option<Code>)> = h.out.iter().map(|r| (dns(r).id, dns(r).rcode)).collect();
    assert_eq!(
        ids,
        [
            (0xf138, None),
            (0xc554, name("NOERROR")),
            (0x85cc, name("NOERROR"))
        ]
    );
}

#[test]
fn malformed_response_after_a_good_query_still_emits_it() {
    let mut h = Harness::new(Transport::Udp, 53);
    let mut d = udp();
    udp_feed(&mut h, d.as_mut(), &NX[..1]);
    // The response cut inside its question: the header survives.
    let r = hex(NX[1].1);
    d.datagram(&mut h.cx(NX[1].0), Dir::ToClient, &r[..20]);
    assert_eq!(h.counters.get(Counter::MalformedDns), 1);
    assert_eq!(h.out.len(), 1);
    let x = dns(&h.out[0]);
    assert_eq!(
        (x.query.as_deref(), x.rcode, x.rtt),
        (
            Some("host-001.lab.example"),
            name("NXDOMAIN"),
            Some(470_000)
        )
    );
    // Too short for a header: counted and dropped; junk queries too.
    d.datagram(&mut h.cx(NX[1].0), Dir::ToClient, &r[..11]);
    d.datagram(
        &mut h.cx(NX[1].0),
        Dir::ToServer,
        &[0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1],
    );
    assert_eq!(h.counters.get(Counter::MalformedDns), 3);
    d.close(&mut h.cx(NX[1].0));
    assert_eq!(h.out.len(), 1);
    // Every truncation of a real response: never a panic, one record per exchange.
    for n in 0..r.len() {
        let mut h = Harness::new(Transport::Udp, 53);
        let mut d = udp();
        udp_feed(&mut h, d.as_mut(), &NX[..1]);
        d.datagram(&mut h.cx(NX[1].0), Dir::ToClient, &r[..n]);
        d.close(&mut h.cx(NX[1].0));
        assert_eq!(h.out.len(), 1, "{n}");
        let x = dns(&h.out[0]);
        assert_eq!(x.rcode, if n < 12 { None } else { name("NXDOMAIN") }, "{n}");
        assert_eq!(
            h.counters.get(Counter::MalformedDns),
            (n < r.len()) as u64,
            "{n}"
        );
    }
}

#[test]
fn answer_with_a_compression_loop_keeps_what_parsed() {
    let mut h = Harness::new(Transport::Udp, 53);
    let mut d = udp();
    udp_feed(&mut h, d.as_mut(), &BENIGN[..1]);
    let mut r = hex(BENIGN[1].1);
    r[34] = 33; // the answer's name points to itself
    d.datagram(&mut h.cx(BENIGN[1].0), Dir::ToClient, &r);
    assert_eq!(h.counters.get(Counter::MalformedDns), 1);
    let x = dns(&h.out[0]);
    assert_eq!(
        (x.query.as_deref(), x.rcode, x.answers.len()),
        (Some("dc1.lab.example"), name("NOERROR"), 0)
    );
}

fn tcp_exchange(splits: &[usize]) -> Harness {
    let mut h = Harness::new(Transport::Tcp, 53);
    let mut d = tcp();
    for (k, (ts, p)) in AXFR_TCP.iter().enumerate() {
        let b = hex(p);
        let dir = if k == 0 { Dir::ToServer } else { Dir::ToClient };
        let mut at = 0;
        for &s in splits.iter().chain([&b.len()]) {
            let s = s.min(b.len()).max(at);
            d.data(&mut h.cx(*ts), dir, &b[at..s]);
            at = s;
        }
    }
    d.close(&mut h.cx(AXFR_TCP[1].0));
    h
}

fn check_refused_axfr(h: &Harness) {
    assert_eq!(h.out.len(), 1);
    let x = dns(&h.out[0]);
    assert_eq!(h.out[0].ts, AXFR_TCP[0].0);
    assert_eq!(
        (x.id, x.query.as_deref(), x.qtype, x.rcode),
        (0xcb44, Some("lab.example"), name("AXFR"), name("NOERROR"))
    );
    assert_eq!(
        (&x.flags.to_vec()[..], x.answers.len(), x.answer_count),
        (&["aa"][..], 0, None)
    );
    assert_eq!(x.rtt, Some(544_000));
    assert_eq!(h.counters.get(Counter::MalformedDns), 0);
}

#[test]
fn tcp_split_at_every_byte() {
    check_refused_axfr(&tcp_exchange(&[]));
    let n = hex(AXFR_TCP[1].1).len();
    for s in 0..=n {
        check_refused_axfr(&tcp_exchange(&[s]));
        check_refused_axfr(&tcp_exchange(&[s, s + 1, s + 3]));
    }
    // One byte at a time.
    let all: Vec<usize> = (0..n).collect();
    check_refused_axfr(&tcp_exchange(&all));
}

/// Length-prefixes a message.
fn framed(m: &[u8]) -> Vec<u8> {
    [&(m.len() as u16).to_be_bytes()[..], m].concat()
}

#[test]
fn several_messages_in_one_segment() {
    let mut h = Harness::new(Transport::Tcp, 53);
    let mut d = tcp();
    let t = BENIGN[0].0;
    let qs: Vec<u8> = BENIGN
        .iter()
        .step_by(2)
        .take(3)
        .flat_map(|(_, p)| framed(&hex(p)))
        .collect();
    let rs: Vec<u8> = BENIGN
        .iter()
        .skip(1)
        .step_by(2)
        .take(3)
        .flat_map(|(_, p)| framed(&hex(p)))
        .collect();
    d.data(&mut h.cx(t), Dir::ToServer, &qs);
    // The responses, the third cut in two.
    d.data(&mut h.cx(t + 1000), Dir::ToClient, &rs[..rs.len() - 5]);
    assert_eq!(h.out.len(), 2);
    assert_eq!(d.buffered(), hex(BENIGN[5].1).len() + 2 - 5);
    d.data(&mut h.cx(t + 2000), Dir::ToClient, &rs[rs.len() - 5..]);
    let got: Vec<(&str, &str, u64)> = h
        .out
        .iter()
        .map(|r| {
            (
                dns(r).query.as_deref().unwrap(),
                dns(r).answers[0].as_str(),
                dns(r).rtt.unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("dc1.lab.example", "10.99.0.1", 1000),
            ("_ldap._tcp.lab.example", "0 100 389 dc1.lab.example", 1000),
            (
                "_kerberos._tcp.lab.example",
                "0 100 88 dc1.lab.example",
                2000
            )
        ]
    );
    assert_eq!(
        (d.buffered(), h.counters.get(Counter::MalformedDns)),
        (0, 0)
    );
}

#[test]
fn tcp_gaps_resynchronise() {
    let t = BENIGN[0].0;
    let q: Vec<Vec<u8>> = BENIGN
        .iter()
        .step_by(2)
        .take(3)
        .map(|(_, p)| framed(&hex(p)))
        .collect();
    // A gap inside a message of known length: skip to its end, go on with the next.
    let mut h = Harness::new(Transport::Tcp, 53);
    let mut d = tcp();
    d.data(&mut h.cx(t), Dir::ToServer, &q[0][..10]);
    d.gap(&mut h.cx(t), Dir::ToServer, 20);
    d.data(
        &mut h.cx(t),
        Dir::ToServer,
        &[&q[0][30..], &q[1][..]].concat(),
    );
    d.close(&mut h.cx(t));
    let ids: Vec<u16> = h.out.iter().map(|r| dns(r).id).collect();
    assert_eq!(ids, [0x85cc]);
    // A gap over a boundary: the next data is a message start (kept) or not (dropped).
    let mut h = Harness::new(Transport::Tcp, 53);
    let mut d = tcp();
    d.data(&mut h.cx(t), Dir::ToServer, &q[0][..10]);
    d.gap(&mut h.cx(t), Dir::ToServer, q[0].len() as u64 + 7);
    d.data(&mut h.cx(t), Dir::ToServer, &q[1][7..]);
    assert_eq!(h.counters.get(Counter::MalformedDns), 1);
    assert_eq!(d.buffered(), 0);
    d.data(&mut h.cx(t), Dir::ToServer, &q[2]);
    d.close(&mut h.cx(t));
    let ids: Vec<u16> = h.out.iter().map(|r| dns(r).id).collect();
    assert_eq!(ids, [0xc554]);
    // A partial message at close is counted.
    let mut h = Harness::new(Transport::Tcp, 53);
    let mut d = tcp();
    d.data(&mut h.cx(t), Dir::ToServer, &q[0][..10]);
    d.close(&mut h.cx(t));
    assert_eq!((h.out.len(), h.counters.get(Counter::MalformedDns)), (0, 1));
}

fn a(n: u8) -> lab::Rec<'static> {
    ("host.zone.test", 1, 1, 300, vec![10, 0, 0, n])
}

#[test]
fn zone_transfer_over_several_messages_is_one_record() {
    let mut h = Harness::new(Transport::Tcp, 53);
    let mut d = tcp();
    let t = 1_000 * NS;
    let first = (
        "zone.test",
        6,
        1,
        3600,
        soa("ns.zone.test", "admin.zone.test", 7),
    );
    let query = msg(0x4242, 0x0000, Some(("zone.test", 252)), &[], &[]);
    d.data(&mut h.cx(t), Dir::ToServer, &framed(&query));
    // 1 SOA + 68 A + closing SOA = 70 answers in three messages.
    let m1: Vec<_> = std::iter::once(first.clone())
        .chain((0..30).map(a))
        .collect();
    let m2: Vec<_> = (30..60).map(a).collect();
    let m3: Vec<_> = (60..68).map(a).chain(std::iter::once(first)).collect();
    for (k, an) in [m1, m2, m3].iter().enumerate() {
        let q = (k == 0).then_some(("zone.test", 252));
        let r = msg(0x4242, 0x8400, q, an, &[]);
        d.data(
            &mut h.cx(t + (k as u64 + 1) * 1000),
            Dir::ToClient,
            &framed(&r),
        );
        assert_eq!(h.out.len(), (k == 2) as usize, "{k}");
    }
    let x = dns(&h.out[0]);
    assert_eq!(
        (x.query.as_deref(), x.qtype, x.rcode, x.rtt),
        (Some("zone.test"), name("AXFR"), name("NOERROR"), Some(1000))
    );
    assert_eq!(
        (x.answers.len(), x.ttls.len(), x.answer_count),
        (64, 64, Some(70))
    );
    assert_eq!(
        x.answers[0],
        "ns.zone.test admin.zone.test 7 900 600 86400 3600"
    );
    assert_eq!(
        (x.answers[1].as_str(), x.answers[63].as_str(), x.ttls[1]),
        ("10.0.0.0", "10.0.0.62", 300)
    );
    // A stalled transfer is emitted at the timeout after its last message.
    let query = msg(0x4343, 0x0000, Some(("zone.test", 251)), &[], &[]);
    d.data(&mut h.cx(t), Dir::ToServer, &framed(&query));
    let an = [
        (
            "zone.test",
            6,
            1,
            3600,
            soa("ns.zone.test", "admin.zone.test", 9),
        ),
        a(1),
    ];
    d.data(
        &mut h.cx(t + 5 * NS),
        Dir::ToClient,
        &framed(&msg(0x4343, 0x8400, Some(("zone.test", 251)), &an, &[])),
    );
    d.tick(&mut h.cx(t + 34 * NS));
    assert_eq!(h.out.len(), 1);
    d.tick(&mut h.cx(t + 35 * NS));
    assert_eq!(h.out.len(), 2);
    let x = dns(&h.out[1]);
    assert_eq!(
        (x.qtype, x.answers.len(), x.answer_count),
        (name("IXFR"), 2, None)
    );
}

#[test]
fn ixfr_ends_at_the_closing_soa() {
    let mut h = Harness::new(Transport::Tcp, 53);
    let mut d = tcp();
    let s = |n| {
        (
            "zone.test",
            6,
            1,
            3600,
            soa("ns.zone.test", "admin.zone.test", n),
        )
    };
    d.data(
        &mut h.cx(0),
        Dir::ToServer,
        &framed(&msg(9, 0, Some(("zone.test", 251)), &[], &[])),
    );
    // new SOA 3; old 1, deletions, SOA 2, additions; old 2, SOA 3, additions; SOA 3.
    let an1 = [s(3), s(1), a(1), s(2), a(2)];
    let an2 = [s(2), s(3), a(3), s(3)];
    d.data(
        &mut h.cx(1),
        Dir::ToClient,
        &framed(&msg(9, 0x8400, Some(("zone.test", 251)), &an1, &[])),
    );
    assert!(h.out.is_empty());
    d.data(
        &mut h.cx(2),
        Dir::ToClient,
        &framed(&msg(9, 0x8400, None, &an2, &[])),
    );
    assert_eq!(h.out.len(), 1);
    assert_eq!(
        (dns(&h.out[0]).answers.len(), dns(&h.out[0]).answer_count),
        (9, Some(9))
    );
    // Up to date: a single SOA ends it at once; over UDP any reply ends it.
    d.data(
        &mut h.cx(3),
        Dir::ToServer,
        &framed(&msg(10, 0, Some(("zone.test", 251)), &[], &[])),
    );
    d.data(
        &mut h.cx(4),
        Dir::ToClient,
        &framed(&msg(10, 0x8400, Some(("zone.test", 251)), &[s(3)], &[])),
    );
    assert_eq!(h.out.len(), 2);
    assert_eq!(dns(&h.out[1]).answer_count, None);
}

#[test]
fn update_renders_additions_and_deletions() {
    let mut h = Harness::new(Transport::Udp, 53);
    let mut d = udp();
    let ups = [
        ("ws9.zone.test", 28, 255, 0, vec![]),
        ("old.zone.test", 255, 255, 0, vec![]),
        ("ws9.zone.test", 1, 254, 0, vec![10, 0, 0, 9]),
        ("ws9.zone.test", 1, 1, 1200, vec![10, 0, 0, 5]),
    ];
    let q = msg(0x77, 0x2800, Some(("zone.test", 6)), &[], &ups);
    d.datagram(&mut h.cx(10), Dir::ToServer, &q);
    d.datagram(
        &mut h.cx(15),
        Dir::ToClient,
        &msg(0x77, 0xac05, Some(("zone.test", 6)), &[], &[]),
    );
    let x = dns(&h.out[0]);
    assert_eq!(
        (x.opcode, x.query.as_deref(), x.qtype, x.rcode),
        (
            Code::Name("UPDATE"),
            Some("zone.test"),
            name("SOA"),
            name("REFUSED")
        )
    );
    assert_eq!(
        x.updates,
        [
            "delete ws9.zone.test AAAA",
            "delete old.zone.test ANY",
            "delete ws9.zone.test A 10.0.0.9",
            "ws9.zone.test A 10.0.0.5"
        ]
    );
    assert_eq!(
        (&x.flags.to_vec()[..], x.rtt, x.answers.len()),
        (&["aa"][..], Some(5), 0)
    );
    // Unknown codes fall back to numbers.
    let q = msg(0x78, 0x3800, Some(("zone.test", 4000)), &[], &[]);
    d.datagram(&mut h.cx(20), Dir::ToServer, &q);
    d.close(&mut h.cx(20));
    let x = dns(&h.out[1]);
    assert_eq!((x.opcode, x.qtype), (Code::Num(7), Some(Code::Num(4000))));
}
