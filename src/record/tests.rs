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
    let body = Body::Smb(Smb {
        action: "open",
        path: Some("samr".into()),
        status: Some(Code::Num(0xc000_0022)),
        ..Default::default()
    });
    let r = Record::new(2 * NS, None, body);
    let j = serde_json::to_string(&r).unwrap();
    assert_eq!(
        j,
        r#"{"ts":2.0,"type":"smb","action":"open","path":"samr","status":3221225506}"#
    );
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
        assert_eq!(IpText::ip(&ip).as_str(), ip.to_string());
    }
}

#[test]
fn uuids_are_written_in_the_canonical_form() {
    let mut x: u128 = 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210;
    for _ in 0..1000 {
        let want = format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            x >> 96,
            (x >> 80) & 0xffff,
            (x >> 64) & 0xffff,
            (x >> 48) & 0xffff,
            x & 0xffff_ffff_ffff
        );
        assert_eq!(UuidText::uuid(x).as_str(), want);
        x = x
            .rotate_left(7)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835);
    }
    assert_eq!(
        UuidText::uuid(0).as_str(),
        "00000000-0000-0000-0000-000000000000"
    );
    assert_eq!(
        UuidText::uuid(u128::MAX).as_str(),
        "ffffffff-ffff-ffff-ffff-ffffffffffff"
    );
}

#[test]
fn endpoint_text_is_what_format_writes() {
    for port in [0u16, 7, 9, 10, 99, 135, 1000, 49153, 65535] {
        assert_eq!(
            EndpointText::endpoint(false, port).as_str(),
            format!("tcp/{port}")
        );
        assert_eq!(
            EndpointText::endpoint(true, port).as_str(),
            format!("udp/{port}")
        );
    }
    let d = Dcerpc {
        endpoint: Some(EndpointText::endpoint(false, 49153)),
        ..Default::default()
    };
    assert_eq!(
        serde_json::to_string(&d).unwrap(),
        r#"{"endpoint":"tcp/49153"}"#
    );
}
