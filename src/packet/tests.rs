//! Tests of the flow hash.

use super::*;

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
    assert_eq!(flow_hash(&m), flow_hash(&r));
    let other = PacketMeta { sport: 1235, ..m };
    assert_ne!(flow_hash(&m), flow_hash(&other));
    // SMB: every connection between two addresses hashes alike (multichannel), both ways;
    // another client address, or UDP on the same ports, does not.
    let smb = PacketMeta { dport: 445, ..m };
    let channel = PacketMeta {
        sport: 50000,
        ..smb
    };
    let back = PacketMeta {
        src: smb.dst,
        dst: smb.src,
        sport: 445,
        dport: 60000,
        ..m
    };
    assert_eq!(flow_hash(&smb), flow_hash(&channel));
    assert_eq!(flow_hash(&smb), flow_hash(&back));
    assert_eq!(
        flow_hash(&smb),
        flow_hash(&PacketMeta { dport: 139, ..smb })
    );
    let client2 = PacketMeta {
        src: "10.0.0.3".parse().unwrap(),
        ..smb
    };
    assert_ne!(flow_hash(&smb), flow_hash(&client2));
    let udp = PacketMeta {
        transport: Transport::Udp,
        ..smb
    };
    assert_ne!(
        flow_hash(&udp),
        flow_hash(&PacketMeta {
            sport: 50000,
            ..udp
        })
    );
}
