//! The packet layer: link headers (Ethernet, 802.1Q/QinQ, Linux cooked, raw IP, BSD loopback),
//! IPv4 and IPv6 (extension headers, fragment reassembly with a timeout and a memory cap), TCP
//! and UDP, decoded with `etherparse`. Bad checksums are not a reason to drop anything.
//! (Stub: decoder pending.)

use crate::capture::Frame;
use crate::record::{Transport, Ts};
use crate::stats::Counters;
use std::net::IpAddr;

/// TCP flag bits as on the wire.
pub mod tcp_flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
}

/// What the flow layer needs of one TCP or UDP packet (the payload travels beside it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketMeta {
    pub ts: Ts,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub sport: u16,
    pub dport: u16,
    pub transport: Transport,
    /// TCP sequence number (0 for UDP).
    pub seq: u32,
    /// TCP acknowledgement number (0 for UDP).
    pub ack: u32,
    /// TCP flags ([`tcp_flags`]; 0 for UDP).
    pub flags: u8,
}

/// Limits of the packet layer.
#[derive(Debug, Clone)]
pub struct PacketConfig {
    /// Incomplete fragmented datagrams are dropped after this long (packet time).
    pub fragment_timeout: Ts,
    /// Bytes of fragments held at once; beyond it new fragments are dropped and counted.
    pub fragment_memory: usize,
}

impl Default for PacketConfig {
    fn default() -> Self {
        PacketConfig {
            fragment_timeout: 30 * crate::record::NS,
            fragment_memory: 4 * 1024 * 1024,
        }
    }
}

/// Decodes frames into [`PacketMeta`] and payload, reassembling IP fragments.
pub struct Decoder {
    _config: PacketConfig,
}

impl Decoder {
    pub fn new(config: PacketConfig) -> Self {
        Decoder { _config: config }
    }

    /// Decodes one frame. Returns `None` for frames that carry no TCP or UDP payload to analyse
    /// (not IP, another transport, malformed: each counted), and for fragments held until their
    /// datagram is complete.
    pub fn decode<'a>(
        &'a mut self,
        _frame: &Frame<'a>,
        _counters: &Counters,
    ) -> Option<(PacketMeta, &'a [u8])> {
        None
    }
}

/// A hash of the flow's 5-tuple that is the same for both directions, so both halves of a
/// connection go to the same worker.
pub fn flow_hash(m: &PacketMeta) -> u64 {
    fn ip_bits(ip: &IpAddr) -> u128 {
        match ip {
            IpAddr::V4(a) => u32::from(*a) as u128,
            IpAddr::V6(a) => u128::from(*a),
        }
    }
    let a = (ip_bits(&m.src), m.sport);
    let b = (ip_bits(&m.dst), m.dport);
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    // A multiply-xorshift mix over the ordered pair: cheap and well spread.
    let mut h: u64 = 0x9e37_79b9_7f4a_7c15 ^ (m.transport as u64);
    for v in [
        lo.0 as u64,
        (lo.0 >> 64) as u64,
        lo.1 as u64,
        hi.0 as u64,
        (hi.0 >> 64) as u64,
        hi.1 as u64,
    ] {
        h = (h ^ v).wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 32;
    }
    h
}

#[cfg(test)]
mod tests {
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
    }
}
