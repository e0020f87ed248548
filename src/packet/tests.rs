//! Tests of the flow hash.

use super::*;

/// Ports hashed by address pair in these tests (the pipeline passes SMB's).
const BY_PAIR: &[u16] = &[7139, 7445];

#[test]
fn flow_hash_is_symmetric() {
    let m = PacketMeta {
        ts: 0,
        src: "10.0.0.1".parse().unwrap(),
        dst: "10.0.0.2".parse().unwrap(),
        sport: 1234,
        dport: 88,
        transport: Transport::Tcp,
        seq: 0,
        ack: 0,
        flags: 0,
        tunnel: Default::default(),
    };
    let r = PacketMeta {
        src: m.dst,
        dst: m.src,
        sport: m.dport,
        dport: m.sport,
        ..m
    };
    assert_eq!(flow_hash(&m, BY_PAIR), flow_hash(&r, BY_PAIR));
    let other = PacketMeta { sport: 1235, ..m };
    assert_ne!(flow_hash(&m, BY_PAIR), flow_hash(&other, BY_PAIR));
    // A by-pair port: every connection between two addresses hashes alike (SMB multichannel),
    // both ways; another client address, or UDP on the same ports, does not.
    let smb = PacketMeta { dport: 7445, ..m };
    let channel = PacketMeta {
        sport: 50000,
        ..smb
    };
    let back = PacketMeta {
        src: smb.dst,
        dst: smb.src,
        sport: 7445,
        dport: 60000,
        ..m
    };
    assert_eq!(flow_hash(&smb, BY_PAIR), flow_hash(&channel, BY_PAIR));
    assert_eq!(flow_hash(&smb, BY_PAIR), flow_hash(&back, BY_PAIR));
    assert_eq!(
        flow_hash(&smb, BY_PAIR),
        flow_hash(&PacketMeta { dport: 7139, ..smb }, BY_PAIR)
    );
    let client2 = PacketMeta {
        src: "10.0.0.3".parse().unwrap(),
        ..smb
    };
    assert_ne!(flow_hash(&smb, BY_PAIR), flow_hash(&client2, BY_PAIR));
    let udp = PacketMeta {
        transport: Transport::Udp,
        ..smb
    };
    assert_ne!(
        flow_hash(&udp, BY_PAIR),
        flow_hash(
            &PacketMeta {
                sport: 50000,
                ..udp
            },
            BY_PAIR
        )
    );
}
