//! Tests of the record types: timestamps, absent fields, JSON and MessagePack names.

use super::*;

#[test]
fn ts_prints_with_microsecond_precision() {
    let ts = 1_700_000_000_123_456_789u64;
    assert_eq!(
        serde_json::to_string(&ts_secs(ts)).unwrap(),
        "1700000000.123456"
    );
    assert_eq!(duration_secs(10 * NS, 10 * NS + 1_500_000), 0.0015);
    assert_eq!(duration_secs(11 * NS, 10 * NS), 0.0);
}

#[test]
fn absent_fields_are_left_out_and_type_comes_second() {
    let body = Body::Smb(Box::new(Smb {
        action: "open",
        path: Some("samr".into()),
        status: Some(Code::Num(0xc000_0022)),
        ..Default::default()
    }));
    let r = Record::new(2 * NS, None, body);
    let j = serde_json::to_string(&r).unwrap();
    assert_eq!(
        j,
        r#"{"ts":2.0,"type":"smb","action":"open","path":"samr","status":3221225506}"#
    );
}

#[test]
fn messagepack_carries_the_same_names_and_values() {
    let flow = crate::proto::FlowInfo {
        client: "10.0.0.2".parse().unwrap(),
        client_port: 50000,
        server: "10.0.0.1".parse().unwrap(),
        server_port: 53,
        transport: Transport::Udp,
        tunnel: Default::default(),
    };
    let body = Body::Dns(Box::new(Dns {
        id: 7,
        opcode: Code::Name("QUERY"),
        query: Some("dc01.example".into()),
        qtype: Some(Code::Name("A")),
        qclass: Some(Code::Name("IN")),
        rcode: None,
        flags: vec!["rd"],
        answers: vec![],
        ttls: vec![],
        answer_count: None,
        updates: vec![],
        rtt: Some(1_000),
    }));
    let r = Record::new(NS, Some(&flow), body);
    let packed = rmp_serde::to_vec_named(&r).unwrap();
    let back: serde_json::Value = rmp_serde::from_slice(&packed).unwrap();
    let json: serde_json::Value = serde_json::to_value(&r).unwrap();
    assert_eq!(back, json);
    assert_eq!(json["src"], "10.0.0.2");
    assert_eq!(json["rtt"], 0.000001);
}

#[test]
fn addresses_are_written_as_display_writes_them() {
    use std::net::{Ipv4Addr, Ipv6Addr};
    let mut ips: Vec<IpAddr> = Vec::new();
    for o in 0..=255u8 {
        ips.push(Ipv4Addr::new(o, 255 - o, o / 3, o.wrapping_mul(7)).into());
    }
    ips.push(Ipv4Addr::new(0, 0, 0, 0).into());
    ips.push(Ipv4Addr::new(255, 255, 255, 255).into());
    for v6 in [
        "::",
        "::1",
        "fe80::1",
        "2001:db8:85a3::8a2e:370:7334",
        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        "::ffff:192.168.100.200",
        "::ffff:255.255.255.255",
        "1:0:0:1:0:0:0:1",
    ] {
        ips.push(v6.parse::<Ipv6Addr>().unwrap().into());
    }
    for ip in ips {
        assert_eq!(IpText::new(&ip).as_str(), ip.to_string());
    }
}
