//! The common case, decoded without the general walk: an Ethernet II frame (no VLAN tag)
//! carrying IPv4 without options or fragmentation, or IPv6 without extension headers, carrying
//! TCP or UDP that is not a tunnel, with every header and the whole IP packet captured. Anything
//! else (tags, options, fragments, tunnels, cut or odd lengths) returns `None` and takes the
//! general path of [`super::Decoder`], which gives the same answer for what this one accepts (a
//! test checks both on every frame of the lab captures and on damaged copies of them).

use super::{PacketConfig, PacketMeta, TunnelPath};
use crate::record::{Transport, Ts};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

#[inline]
fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

#[inline]
fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// The packet and payload of an untunnelled Ethernet frame, or `None` for the general path.
#[inline]
pub(super) fn ethernet<'a>(
    ts: Ts,
    data: &'a [u8],
    cfg: &PacketConfig,
) -> Option<(PacketMeta, &'a [u8])> {
    if data.len() < 14 {
        return None;
    }
    let ip = &data[14..];
    let (src, dst, proto, l4) = match be16(data, 12) {
        0x0800 => {
            // Version 4, a 20-byte header; no fragment (only DF may be set).
            if ip.len() < 20 || ip[0] != 0x45 || be16(ip, 6) & 0xbfff != 0 {
                return None;
            }
            let total = usize::from(be16(ip, 2));
            if total < 20 || total > ip.len() {
                return None;
            }
            let mut a = [0u8; 8];
            a.copy_from_slice(&ip[12..20]);
            let src = Ipv4Addr::new(a[0], a[1], a[2], a[3]);
            let dst = Ipv4Addr::new(a[4], a[5], a[6], a[7]);
            (IpAddr::V4(src), IpAddr::V4(dst), ip[9], &ip[20..total])
        }
        0x86dd => {
            if ip.len() < 40 || ip[0] >> 4 != 6 {
                return None;
            }
            let plen = usize::from(be16(ip, 4));
            if plen == 0 || 40 + plen > ip.len() {
                return None;
            }
            let mut s = [0u8; 16];
            let mut d = [0u8; 16];
            s.copy_from_slice(&ip[8..24]);
            d.copy_from_slice(&ip[24..40]);
            let src = IpAddr::V6(Ipv6Addr::from(s));
            let dst = IpAddr::V6(Ipv6Addr::from(d));
            (src, dst, ip[6], &ip[40..40 + plen])
        }
        _ => return None,
    };
    let mut meta = PacketMeta {
        ts,
        src,
        dst,
        sport: 0,
        dport: 0,
        transport: Transport::Tcp,
        seq: 0,
        ack: 0,
        flags: 0,
        tunnel: TunnelPath::NONE,
    };
    match proto {
        6 => {
            if l4.len() < 20 {
                return None;
            }
            let hl = usize::from(l4[12] >> 4) * 4;
            if hl < 20 || hl > l4.len() {
                return None;
            }
            meta.sport = be16(l4, 0);
            meta.dport = be16(l4, 2);
            meta.seq = be32(l4, 4);
            meta.ack = be32(l4, 8);
            meta.flags = l4[13];
            Some((meta, &l4[hl..]))
        }
        17 => {
            if l4.len() < 8 {
                return None;
            }
            let len = usize::from(be16(l4, 4));
            if len < 8 || len > l4.len() {
                return None;
            }
            meta.sport = be16(l4, 0);
            meta.dport = be16(l4, 2);
            if cfg.vxlan_ports.contains(&meta.dport) || cfg.geneve_ports.contains(&meta.dport) {
                return None;
            }
            meta.transport = Transport::Udp;
            Some((meta, &l4[8..len]))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::Decoder;
    use super::*;
    use crate::capture::file::tests::{read_path, Owned};
    use crate::capture::{Frame, LinkType};
    use crate::stats::{Counter, Counters};

    /// Every frame the fast path takes must decode the same on the general path, without a
    /// counter (truncated, tunnelled, malformed) moving there.
    fn check(d: &mut Decoder, link: LinkType, data: &[u8], orig_len: u32) -> bool {
        let frame = Frame {
            ts: 7,
            link,
            data,
            orig_len,
        };
        let Some(fast) = ethernet(7, data, &PacketConfig::default()) else {
            return false;
        };
        let c = Counters::default();
        let general = d.decode_general(&frame, &c).ok();
        assert_eq!(Some(fast), general, "frame {data:02x?}");
        for k in Counter::ALL {
            assert_eq!(c.get(*k), 0, "{} on the general path", k.name());
        }
        true
    }

    fn captures() -> Vec<Vec<Owned>> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        for dir in ["testdata-pcaps/lab", "src/packet/testdata"] {
            for e in std::fs::read_dir(root.join(dir)).unwrap() {
                let p = e.unwrap().path();
                if matches!(
                    p.extension().and_then(|x| x.to_str()),
                    Some("pcap" | "pcapng")
                ) {
                    files.push(p);
                }
            }
        }
        files.sort();
        assert!(files.len() > 20, "lab captures missing: {files:?}");
        files.iter().map(|p| read_path(p)).collect()
    }

    #[test]
    fn the_fast_path_agrees_with_the_general_one_on_real_and_damaged_frames() {
        let mut taken = 0;
        let mut tunnels = 0;
        for frames in captures() {
            let mut d = Decoder::new(PacketConfig::default());
            for (i, (_, link, data, orig)) in frames.iter().enumerate() {
                if check(&mut d, *link, data, *orig) {
                    taken += 1;
                } else if link.0 == 1
                    && d.decode_general(
                        &Frame {
                            ts: 7,
                            link: *link,
                            data,
                            orig_len: *orig,
                        },
                        &Counters::default(),
                    )
                    .is_ok_and(|(m, _)| !m.tunnel.is_empty())
                {
                    tunnels += 1;
                }
                if i >= 150 || link.0 != 1 {
                    continue;
                }
                // Cut short at every length, and every header byte set to odd values.
                for cut in 0..data.len().min(100) {
                    check(&mut d, *link, &data[..cut], *orig);
                }
                let mut bad = data.clone();
                for at in 0..data.len().min(80) {
                    for v in [0u8, 0x0f, 0x45, 0x50, 0xff, data[at] ^ 0x80] {
                        bad[at] = v;
                        check(&mut d, *link, &bad, *orig);
                    }
                    bad[at] = data[at];
                }
            }
        }
        // Most lab frames are plain; the mirror captures' tunnels all took the general path.
        assert!(taken > 10_000, "fast path taken {taken} times");
        assert!(tunnels > 100, "tunnelled frames {tunnels}");
    }
}
