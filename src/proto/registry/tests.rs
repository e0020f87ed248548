//! Tests of the protocol registry: the table is consistent, the lookups read it, and the
//! README's protocol table says what it says.

use super::*;
use crate::proto::testutil::{lab_tcp_segments, Harness};

/// The numbers in `cell` before any parenthesis.
fn numbers(cell: &str) -> Vec<u16> {
    let head = cell.split('(').next().unwrap_or("");
    head.split(|c: char| !c.is_ascii_digit())
        .filter(|t| !t.is_empty())
        .map(|t| t.parse().unwrap())
        .collect()
}

#[test]
fn names_ports_and_counters_are_unique() {
    for (i, a) in PROTOCOLS.iter().enumerate() {
        assert_eq!(by_name(a.name).map(|p| p.name), Some(a.name));
        assert_eq!(
            a.malformed.name(),
            a.name,
            "the malformed counter of {} is its /metrics label",
            a.name
        );
        assert_eq!(by_malformed(a.malformed).map(|p| p.name), Some(a.name));
        assert_eq!(
            a.tcp_ports.is_empty(),
            a.tcp.is_none() && a.probe_tcp.is_none()
        );
        assert!(a.probe_udp.is_none() || a.udp.is_some());
        for b in &PROTOCOLS[i + 1..] {
            assert_ne!(a.name, b.name);
            for t in [Transport::Tcp, Transport::Udp] {
                for port in a.ports(t) {
                    assert!(!b.ports(t).contains(port), "{port} claimed twice");
                }
            }
        }
        for port in a.reserved {
            assert!(a.on_port(*port), "{} reserves {port}, not its own", a.name);
        }
    }
    assert!(by_malformed(Counter::MalformedPacket).is_none());
}

#[test]
fn service_and_reserved_ports() {
    for port in [53, 88, 135, 139, 389, 445, 464, 3268, 80, 8080, 5985] {
        assert!(is_service_port(Transport::Tcp, port), "tcp {port}");
    }
    for port in [53, 88, 135, 389, 464] {
        assert!(is_service_port(Transport::Udp, port), "udp {port}");
    }
    for port in [139, 445, 3268, 80, 0, 636, 1024, 49152] {
        assert!(!is_service_port(Transport::Udp, port), "udp {port}");
    }
    for port in [0, 443, 636, 1024, 49152] {
        assert!(!is_service_port(Transport::Tcp, port), "tcp {port}");
    }
    for port in [88, 389, 445, 135, 464, 3268, 53] {
        assert!(is_reserved_port(port), "{port}");
    }
    for port in [139, 80, 8080, 5985, 0, 443, 49152] {
        assert!(!is_reserved_port(port), "{port}");
    }
}

#[test]
fn shed_classes_follow_the_table_order() {
    // Kerberos never, SMB bulk first, DNS next, LDAP never, the rest at level 3.
    assert_eq!(shed_class(50000, 88, 10_000), NEVER_SHED);
    assert_eq!(shed_class(464, 50000, 0), NEVER_SHED);
    assert_eq!(shed_class(50000, 445, 1024), 1);
    assert_eq!(shed_class(139, 50000, 1023), NEVER_SHED);
    assert_eq!(shed_class(50000, 53, 10), 2);
    assert_eq!(shed_class(3268, 50000, 10_000), NEVER_SHED);
    assert_eq!(shed_class(50000, 389, 0), NEVER_SHED);
    assert_eq!(shed_class(50000, 135, 100), OTHER_SHED_LEVEL);
    assert_eq!(shed_class(80, 50000, 100), OTHER_SHED_LEVEL);
    assert_eq!(shed_class(50000, 50001, 100), OTHER_SHED_LEVEL);
    // Two protocols' ports: the first in the table decides.
    assert_eq!(shed_class(53, 88, 10), NEVER_SHED);
    assert_eq!(shed_class(445, 53, 5000), 1);
    assert_eq!(shed_class(389, 445, 5000), 1);
    assert_eq!(shed_class(135, 53, 10), 2);
}

#[test]
fn dispatch_by_port_and_content() {
    let mut h = Harness::new(Transport::Tcp, 445);
    assert!(tcp_by_port(&h.flow, &h.shared, 0).is_some());
    h.flow.server_port = 50000;
    assert!(tcp_by_port(&h.flow, &h.shared, 0).is_none());
    h.shared.learn_endpoint(
        h.flow.server,
        50000,
        0x12345778_1234_abcd_ef00_0123456789ac,
        0,
    );
    assert!(tcp_by_port(&h.flow, &h.shared, 0).is_some());
    h.flow.server_port = 139;
    assert!(udp_by_port(&h.flow).is_none());
    h.flow.server_port = 389;
    assert!(udp_by_port(&h.flow).is_some());
    assert!(tcp_by_content(Dir::ToServer, b"GET / HTTP/1.1\r\n").is_some());
    assert!(tcp_by_content(Dir::ToClient, b"GET / HTTP/1.1\r\n").is_none());
    assert!(tcp_by_content(Dir::ToServer, b"\x16\x03\x01\x00\x10").is_none());
    assert!(udp_by_content(b"\x16\x03\x01\x00\x10").is_none());
}

/// Every first segment of the lab's conversations is accepted by at most one content probe, so
/// the order of [`PROTOCOLS`] does not change which decoder a connection gets.
#[test]
fn content_probes_are_disjoint_on_the_lab_captures() {
    let mut accepted = std::collections::BTreeMap::<&str, usize>::new();
    for name in [
        "02_benign_smb_kerberos.pcap",
        "04_benign_rpc_queries.pcap",
        "12_attack_dcsync.pcap",
        "24_attack_coerce.pcap",
        "10_attack_kerberoasting.pcap",
        "29_benign_admin_day.pcap",
    ] {
        for seg in lab_tcp_segments(name) {
            for dir in [Dir::ToServer, Dir::ToClient] {
                let yes: Vec<&str> = PROTOCOLS
                    .iter()
                    .filter(|p| p.probe_tcp.is_some_and(|probe| probe(dir, &seg.payload)))
                    .map(|p| p.name)
                    .collect();
                assert!(yes.len() <= 1, "{name}: {yes:?} all accept a segment");
                if let Some(p) = yes.first() {
                    *accepted.entry(p).or_default() += 1;
                }
            }
        }
    }
    for p in ["kerberos", "smb", "dcerpc"] {
        assert!(accepted.get(p).is_some_and(|&n| n > 0), "{p}: {accepted:?}");
    }
}

#[test]
fn readme_lists_the_registry() {
    let readme = include_str!("../../../README.md");
    let rows: Vec<Vec<&str>> = readme
        .lines()
        .skip_while(|l| !l.starts_with("| protocol | TCP ports |"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| l.trim_matches('|').split('|').map(str::trim).collect())
        .collect();
    let names: Vec<&str> = rows.iter().map(|r| r[0]).collect();
    let want: Vec<&str> = PROTOCOLS.iter().map(|p| p.name).collect();
    assert_eq!(
        names, want,
        "the README's protocol table, in the registry's order"
    );
    for (row, p) in rows.iter().zip(PROTOCOLS) {
        assert_eq!(numbers(row[1]), p.tcp_ports, "{} TCP ports", p.name);
        assert_eq!(numbers(row[2]), p.udp_ports, "{} UDP ports", p.name);
        assert_eq!(
            row[3].contains("TCP"),
            p.probe_tcp.is_some(),
            "{} probe",
            p.name
        );
        assert_eq!(
            row[3].contains("UDP"),
            p.probe_udp.is_some(),
            "{} probe",
            p.name
        );
        let shed = row[4].split_whitespace().next().unwrap_or("");
        match p.shed {
            Shed::Never => assert_eq!(shed, "never", "{} shed", p.name),
            Shed::At(l) => assert_eq!(shed, l.to_string(), "{} shed", p.name),
            Shed::BulkAt { bytes, level } => {
                assert_eq!(shed, level.to_string(), "{} shed", p.name);
                assert!(row[4].contains(&bytes.to_string()), "{} shed", p.name);
            }
        }
        assert_eq!(numbers(row[5]), p.reserved, "{} reserved", p.name);
    }
}

/// The port map says, for every port, what scanning the table's port lists says.
#[test]
fn the_port_map_agrees_with_the_table_on_every_port() {
    for port in 0..=u16::MAX {
        for t in [Transport::Tcp, Transport::Udp] {
            let scan = PROTOCOLS.iter().find(|p| p.ports(t).contains(&port));
            assert_eq!(
                by_port(t, port).map(|p| p.name),
                scan.map(|p| p.name),
                "{port}"
            );
        }
        assert_eq!(
            is_reserved_port(port),
            PROTOCOLS.iter().any(|p| p.reserved.contains(&port)),
            "{port}"
        );
    }
    // the first protocol in table order on either port decides the shedding class
    let ports: Vec<u16> = PROTOCOLS
        .iter()
        .flat_map(|p| p.tcp_ports.iter().chain(p.udp_ports).copied())
        .chain([0, 1, 8080, 65535])
        .collect();
    for &a in &ports {
        for &b in &ports {
            let scan = PROTOCOLS.iter().find(|p| p.on_port(a) || p.on_port(b));
            assert_eq!(
                first_on_either(a, b).map(|p| p.name),
                scan.map(|p| p.name),
                "{a} {b}"
            );
        }
    }
}

#[test]
fn smb_connections_between_two_addresses_hash_alike() {
    // As the pipeline picks a worker: SMB's ports hashed by address pair (multichannel).
    use crate::packet::{flow_hash, PacketMeta};
    let m = PacketMeta {
        ts: 0,
        src: "10.0.0.1".parse().unwrap(),
        dst: "10.0.0.2".parse().unwrap(),
        sport: 50000,
        dport: 445,
        transport: Transport::Tcp,
        seq: 0,
        ack: 0,
        flags: 0,
        tunnel: Default::default(),
    };
    let h = |m: &PacketMeta| flow_hash(m, SMB.tcp_ports);
    assert_eq!(h(&m), h(&PacketMeta { sport: 50001, ..m }));
    assert_eq!(h(&m), h(&PacketMeta { dport: 139, ..m }));
    let kerberos = PacketMeta { dport: 88, ..m };
    assert_ne!(
        h(&kerberos),
        h(&PacketMeta {
            sport: 50001,
            ..kerberos
        })
    );
}
