//! Unit tests of the tunnel layer: real frames from the lab captures wrapped in each
//! encapsulation as its specification lays it out, decoded through the whole packet layer and
//! compared with the same frames decoded bare; hostile lengths and bytes at every position.

use super::*;
use crate::capture::file::tests::{lab, read_path};
use crate::capture::{Frame, LinkType};
use crate::packet::{Decoder, PacketConfig, PacketMeta};
use crate::stats::{Counter, Counters};

type Got = Option<(PacketMeta, Vec<u8>)>;

fn decode_with(cfg: PacketConfig, link: LinkType, data: &[u8], orig: usize) -> (Got, Counters) {
    let c = Counters::default();
    let mut d = Decoder::new(cfg);
    let f = Frame {
        ts: 7,
        link,
        data,
        orig_len: orig as u32,
    };
    let r = d.decode(&f, &c).map(|(m, p)| (m, p.to_vec()));
    (r, c)
}

fn decode(link: LinkType, data: &[u8]) -> (Got, Counters) {
    decode_with(PacketConfig::default(), link, data, data.len())
}

fn nonzero(c: &Counters) -> Vec<(&'static str, &'static str, u64)> {
    Counter::ALL
        .iter()
        .filter(|&&k| c.get(k) != 0)
        .map(|&k| (k.group(), k.name(), c.get(k)))
        .collect()
}

/// A real DNS query over UDP (Ethernet frame) and a real Kerberos segment over TCP.
fn real_frames() -> Vec<Vec<u8>> {
    let dns = read_path(&lab("05_benign_dns.pcap")).remove(0).2;
    let krb = read_path(&lab("01_benign_kerberos_logon.pcap"))
        .into_iter()
        .map(|f| f.2)
        .find(|f| f.len() > 200 && f[23] == 6)
        .unwrap();
    vec![dns, krb]
}

fn eth(et: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1];
    v.extend_from_slice(&et.to_be_bytes());
    v.extend_from_slice(payload);
    v
}

fn ipv4(proto: u8, payload: &[u8]) -> Vec<u8> {
    let total = (20 + payload.len()) as u16;
    let mut v = vec![0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, proto, 0, 0];
    v[2..4].copy_from_slice(&total.to_be_bytes());
    v.extend_from_slice(&[198, 51, 100, 1, 198, 51, 100, 2]);
    v.extend_from_slice(payload);
    v
}

fn ipv6(nh: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0x60, 0, 0, 0];
    v.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    v.extend_from_slice(&[nh, 64]);
    for last in [1u8, 2] {
        v.extend_from_slice(&[
            0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, last,
        ]);
    }
    v.extend_from_slice(payload);
    v
}

fn udp(dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = 49999u16.to_be_bytes().to_vec();
    v.extend_from_slice(&dport.to_be_bytes());
    v.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(payload);
    v
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

const VXLAN: [u8; 8] = [0x08, 0, 0, 0, 0, 0x10, 0x92, 0];

/// The bare frame's IP packet (from the Ethernet frame).
fn ip_of(f: &[u8]) -> &[u8] {
    &f[14..]
}

/// Every encapsulation around `inner` (a real Ethernet frame): (what, frame, `tunnel`).
fn wrapped(inner: &[u8]) -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let ip = ip_of(inner);
    let mut v = vec![
        (
            "vxlan",
            eth(0x0800, &ipv4(17, &udp(4789, &cat(&[&VXLAN, inner])))),
            "vxlan",
        ),
        (
            "geneve with options, Ethernet",
            eth(
                0x0800,
                &ipv4(
                    17,
                    &udp(
                        6081,
                        &cat(&[
                            &[0x02, 0, 0x65, 0x58, 0, 0, 42, 0],
                            &[1, 2, 3, 4, 5, 6, 7, 8],
                            inner,
                        ]),
                    ),
                ),
            ),
            "geneve",
        ),
        (
            "geneve, IPv4",
            eth(
                0x86dd,
                &ipv6(17, &udp(6081, &cat(&[&[0, 0, 0x08, 0, 0, 0, 42, 0], ip]))),
            ),
            "geneve",
        ),
        (
            "gre with key and sequence",
            eth(
                0x0800,
                &ipv4(
                    47,
                    &cat(&[&[0x30, 0, 0x08, 0], &[0, 0, 0, 9], &[0, 0, 1, 0], ip]),
                ),
            ),
            "gre",
        ),
        (
            "gre with checksum and RFC 1701 routing",
            eth(
                0x0800,
                &ipv4(
                    47,
                    &cat(&[
                        &[0xc0, 0, 0x08, 0],
                        &[0, 0, 0, 0],
                        &[0x08, 0, 0, 4, 10, 0, 0, 1],
                        &[0, 0, 0, 0],
                        ip,
                    ]),
                ),
            ),
            "gre",
        ),
        (
            "gre, transparent Ethernet bridging",
            eth(0x0800, &ipv4(47, &cat(&[&[0, 0, 0x65, 0x58], inner]))),
            "gre",
        ),
        (
            "erspan type I",
            eth(0x0800, &ipv4(47, &cat(&[&[0, 0, 0x88, 0xbe], inner]))),
            "erspan",
        ),
        (
            "erspan type II",
            eth(
                0x0800,
                &ipv4(
                    47,
                    &cat(&[
                        &[0x10, 0, 0x88, 0xbe, 0, 0, 0, 5],
                        &[0x10, 0x00, 0x00, 0x0b, 0, 0, 0, 5],
                        inner,
                    ]),
                ),
            ),
            "erspan",
        ),
        (
            "erspan type III with the platform sub-header, over IPv6",
            eth(
                0x86dd,
                &ipv6(
                    47,
                    &cat(&[
                        &[0x10, 0, 0x22, 0xeb, 0, 0, 0, 5],
                        &[0x20, 0, 0, 0x0c, 0, 0, 0, 1, 0, 0, 0x00, 0x71],
                        &[0; 8],
                        inner,
                    ]),
                ),
            ),
            "erspan",
        ),
        (
            "enhanced gre (PPTP) with PPP",
            eth(
                0x0800,
                &ipv4(
                    47,
                    &cat(&[
                        &[0x30, 0x81, 0x88, 0x0b],
                        &[0, 10, 0, 1],
                        &[0, 0, 0, 3],
                        &[0, 0, 0, 2],
                        &[0xff, 0x03, 0x00, 0x21],
                        ip,
                    ]),
                ),
            ),
            "gre",
        ),
        (
            "enhanced gre, PPP with compressed fields",
            eth(
                0x0800,
                &ipv4(
                    47,
                    &cat(&[&[0x20, 0x01, 0x88, 0x0b, 0, 10, 0, 1, 0x21], ip]),
                ),
            ),
            "gre",
        ),
        (
            "mpls, two labels",
            eth(0x8847, &cat(&[&[0, 1, 0x00, 64], &[0, 2, 0x01, 64], ip])),
            "mpls",
        ),
        (
            "mpls pseudowire with control word",
            eth(0x8847, &cat(&[&[0, 3, 0x01, 64], &[0, 0, 0, 0], inner])),
            "mpls",
        ),
        (
            "mpls in gre",
            eth(
                0x0800,
                &ipv4(47, &cat(&[&[0, 0, 0x88, 0x47], &[0, 3, 0x01, 64], ip])),
            ),
            "gre/mpls",
        ),
        ("pppoe session", pppoe(ip, false), "pppoe"),
        ("pppoe session, padded", pppoe(ip, true), "pppoe"),
        ("4in4", eth(0x0800, &ipv4(4, ip)), "ipip"),
        ("4in6", eth(0x86dd, &ipv6(4, ip)), "ipip"),
        (
            "vlan-tagged frame in vxlan in gre",
            eth(
                0x0800,
                &ipv4(
                    47,
                    &cat(&[
                        &[0, 0, 0x08, 0],
                        &ipv4(17, &udp(4789, &cat(&[&VXLAN, &vlan(inner)]))),
                    ]),
                ),
            ),
            "gre/vxlan",
        ),
    ];
    // Four layers: the deepest followed.
    let mut four = inner.to_vec();
    for _ in 0..4 {
        four = eth(0x0800, &ipv4(17, &udp(4789, &cat(&[&VXLAN, &four]))));
    }
    v.push(("four vxlan layers", four, "vxlan/vxlan/vxlan/vxlan"));
    v
}

fn pppoe(ip: &[u8], padded: bool) -> Vec<u8> {
    let mut p = vec![0x11, 0, 0, 7];
    p.extend_from_slice(&((2 + ip.len()) as u16).to_be_bytes());
    p.extend_from_slice(&[0x00, 0x21]);
    p.extend_from_slice(ip);
    if padded {
        p.extend_from_slice(&[0xee; 20]);
    }
    eth(0x8864, &p)
}

fn vlan(frame: &[u8]) -> Vec<u8> {
    cat(&[&frame[..12], &[0x81, 0, 0, 42], &frame[12..]])
}

#[test]
fn every_encapsulation_gives_the_inner_packet() {
    for inner in real_frames() {
        let (bare, _) = decode(LinkType::ETHERNET, &inner);
        let bare = bare.unwrap();
        assert!(bare.0.tunnel.is_empty());
        for (what, frame, path) in wrapped(&inner) {
            let (got, c) = decode(LinkType::ETHERNET, &frame);
            let (m, p) = got.unwrap_or_else(|| panic!("{what}: {:?}", nonzero(&c)));
            assert_eq!(m.tunnel.to_string(), path, "{what}");
            assert_eq!(
                PacketMeta {
                    tunnel: TunnelPath::NONE,
                    ..m
                },
                bare.0,
                "{what}"
            );
            assert_eq!(p, bare.1, "{what}");
            assert_eq!(nonzero(&c), [("", "tunnelled", 1)], "{what}");
        }
    }
}

#[test]
fn ipv6_inside_ipv4_and_ipv6() {
    // A real DNS datagram (UDP header and message) in an IPv6 packet, carried 6in4 and 6in6.
    let dns = &real_frames()[0][34..];
    let inner = ipv6(17, dns);
    let (bare, _) = decode(LinkType::IPV6, &inner);
    let bare = bare.unwrap();
    for (frame, path) in [
        (eth(0x0800, &ipv4(41, &inner)), "ipip"),
        (eth(0x86dd, &ipv6(41, &inner)), "ipip"),
        (
            eth(
                0x0800,
                &ipv4(
                    17,
                    &udp(6081, &cat(&[&[0, 0, 0x86, 0xdd, 0, 0, 1, 0], &inner])),
                ),
            ),
            "geneve",
        ),
    ] {
        let (m, p) = decode(LinkType::ETHERNET, &frame).0.unwrap();
        assert_eq!(m.tunnel.to_string(), path);
        assert_eq!(
            PacketMeta {
                tunnel: TunnelPath::NONE,
                ..m
            },
            bare.0
        );
        assert_eq!(p, bare.1);
    }
}

#[test]
fn a_fifth_layer_is_counted_not_followed() {
    let mut f = real_frames().remove(0);
    for _ in 0..5 {
        f = eth(0x0800, &ipv4(17, &udp(4789, &cat(&[&VXLAN, &f]))));
    }
    let (r, c) = decode(LinkType::ETHERNET, &f);
    assert!(r.is_none());
    assert_eq!(nonzero(&c), [("drops", "tunnel_depth", 1)]);
    // MPLS layers (pseudowires carrying Ethernet) count too.
    let mut f = real_frames().remove(0);
    for _ in 0..5 {
        f = eth(0x8847, &cat(&[&[0, 0, 0x01, 64], &[0, 0, 0, 0], &f]));
    }
    let (r, c) = decode(LinkType::ETHERNET, &f);
    assert!(r.is_none());
    assert_eq!(nonzero(&c), [("drops", "tunnel_depth", 1)]);
}

#[test]
fn udp_ports_decide_and_are_settings() {
    let inner = real_frames().remove(0);
    let (bare, _) = decode(LinkType::ETHERNET, &inner);
    let bare = bare.unwrap();
    let on = |port| eth(0x0800, &ipv4(17, &udp(port, &cat(&[&VXLAN, &inner]))));
    // Port 8472 is not VXLAN unless configured.
    let (r, _) = decode(LinkType::ETHERNET, &on(8472));
    assert_eq!(r.unwrap().0.dport, 8472);
    let cfg = PacketConfig {
        vxlan_ports: vec![4789, 8472],
        ..PacketConfig::default()
    };
    let f = on(8472);
    let (r, _) = decode_with(cfg, LinkType::ETHERNET, &f, f.len());
    let (m, p) = r.unwrap();
    assert_eq!((m.tunnel.to_string(), p), ("vxlan".to_string(), bare.1));
    // A datagram to 4789 without the VXLAN I flag is some other use of the port: plain UDP.
    let mut f = on(4789);
    f[14 + 20 + 8] = 0;
    let (r, c) = decode(LinkType::ETHERNET, &f);
    let m = r.unwrap().0;
    assert_eq!((m.dport, m.tunnel), (4789, TunnelPath::NONE));
    assert_eq!(nonzero(&c), []);
    // Geneve of another version: plain UDP too.
    let f = eth(
        0x0800,
        &ipv4(17, &udp(6081, &[0x40, 0, 0x65, 0x58, 0, 0, 0, 0])),
    );
    assert_eq!(decode(LinkType::ETHERNET, &f).0.unwrap().0.dport, 6081);
}

#[test]
fn malformed_encapsulations_are_counted() {
    let inner = real_frames().remove(0);
    let ip = ip_of(&inner);
    let cases: Vec<(&str, Vec<u8>, (&str, &str))> = vec![
        (
            "gre version 2",
            eth(0x0800, &ipv4(47, &cat(&[&[0, 2, 0x08, 0], ip]))),
            ("malformed", "tunnel"),
        ),
        (
            "gre header cut",
            eth(0x0800, &ipv4(47, &[0x30, 0, 0x08, 0, 0, 0])),
            ("malformed", "tunnel"),
        ),
        (
            "gre routing without its end",
            eth(
                0x0800,
                &ipv4(47, &[0x40, 0, 0x08, 0, 0, 0, 0, 0, 8, 0, 0, 200]),
            ),
            ("malformed", "tunnel"),
        ),
        (
            "enhanced gre without a key",
            eth(0x0800, &ipv4(47, &cat(&[&[0x00, 0x01, 0x88, 0x0b], ip]))),
            ("malformed", "tunnel"),
        ),
        (
            "erspan II of version 2",
            eth(
                0x0800,
                &ipv4(
                    47,
                    &cat(&[&[0x10, 0, 0x88, 0xbe, 0, 0, 0, 1], &[0x20; 8], &inner]),
                ),
            ),
            ("malformed", "tunnel"),
        ),
        (
            "erspan III cut in its sub-header",
            eth(
                0x0800,
                &ipv4(
                    47,
                    &cat(&[
                        &[0, 0, 0x22, 0xeb],
                        &[0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0],
                    ]),
                ),
            ),
            ("malformed", "tunnel"),
        ),
        (
            "vxlan with nothing inside",
            eth(0x0800, &ipv4(17, &udp(4789, &VXLAN))),
            ("malformed", "tunnel"),
        ),
        (
            "vxlan with a frame too short for Ethernet",
            eth(0x0800, &ipv4(17, &udp(4789, &cat(&[&VXLAN, &[1, 2, 3]])))),
            ("malformed", "tunnel"),
        ),
        (
            "mpls without a bottom of stack",
            eth(0x8847, &[0, 0, 0, 64, 0, 0, 0, 64]),
            ("malformed", "tunnel"),
        ),
        (
            "pppoe of version 2",
            eth(0x8864, &cat(&[&[0x21, 0, 0, 1, 0, 40, 0, 0x21], ip])),
            ("malformed", "tunnel"),
        ),
        (
            "pppoe carrying LCP",
            eth(0x8864, &[0x11, 0, 0, 1, 0, 4, 0xc0, 0x21, 1, 1]),
            ("", "non_ip"),
        ),
        (
            "a broken IPv4 header inside 4in4",
            eth(0x0800, &ipv4(4, &[0x45, 0, 0, 10])),
            ("malformed", "packet"),
        ),
    ];
    for (what, frame, want) in cases {
        let (r, c) = decode(LinkType::ETHERNET, &frame);
        assert!(r.is_none(), "{what}");
        assert_eq!(nonzero(&c), [(want.0, want.1, 1)], "{what}");
    }
}

#[test]
fn fragments_inside_and_outside_a_tunnel_reassemble() {
    let inner = real_frames().remove(0);
    let (bare, _) = decode(LinkType::ETHERNET, &inner);
    let bare = bare.unwrap();
    // Inner: the DNS datagram in two IPv4 fragments, each mirrored in its own VXLAN packet.
    let ip = ip_of(&inner);
    let body = &ip[20..];
    let frag = |off: usize, end: usize, more: bool| {
        let mut h = ip[..20].to_vec();
        h[2..4].copy_from_slice(&((20 + end - off) as u16).to_be_bytes());
        h[6..8].copy_from_slice(&(u16::from(more) << 13 | (off / 8) as u16).to_be_bytes());
        let f = cat(&[&inner[..14], &h, &body[off..end]]);
        eth(0x0800, &ipv4(17, &udp(4789, &cat(&[&VXLAN, &f]))))
    };
    let c = Counters::default();
    let mut d = Decoder::new(PacketConfig::default());
    let pieces = [frag(16, body.len(), false), frag(0, 16, true)];
    let mut out = Vec::new();
    for p in &pieces {
        let f = Frame {
            ts: 7,
            link: LinkType::ETHERNET,
            data: p,
            orig_len: p.len() as u32,
        };
        out.extend(d.decode(&f, &c).map(|(m, p)| (m, p.to_vec())));
    }
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0.tunnel.to_string(), "vxlan");
    assert_eq!(out[0].1, bare.1);
    // Outer: a VXLAN datagram fragmented on the underlay.
    let whole = ipv4(17, &udp(4789, &cat(&[&VXLAN, &inner])));
    let obody = &whole[20..];
    let ofrag = |off: usize, end: usize, more: bool| {
        let mut h = whole[..20].to_vec();
        h[2..4].copy_from_slice(&((20 + end - off) as u16).to_be_bytes());
        h[6..8].copy_from_slice(&(u16::from(more) << 13 | (off / 8) as u16).to_be_bytes());
        eth(0x0800, &cat(&[&h, &obody[off..end]]))
    };
    let mut d = Decoder::new(PacketConfig::default());
    let mut out = Vec::new();
    for p in [ofrag(0, 40, true), ofrag(40, obody.len(), false)] {
        let f = Frame {
            ts: 7,
            link: LinkType::ETHERNET,
            data: &p,
            orig_len: p.len() as u32,
        };
        out.extend(d.decode(&f, &c).map(|(m, p)| (m, p.to_vec())));
    }
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0.tunnel.to_string(), "vxlan");
    assert_eq!(out[0].1, bare.1);
}

#[test]
fn hostile_lengths_and_bytes_never_panic_and_are_counted() {
    let inner = real_frames().remove(1);
    for (what, frame, _) in wrapped(&inner) {
        let outer_len = frame.len() - inner.len();
        for cut in 0..frame.len() {
            let part = &frame[..cut];
            // Cut by the snap length, and the same bytes claiming to be complete.
            for orig in [frame.len(), cut] {
                let (r, c) = decode_with(PacketConfig::default(), LinkType::ETHERNET, part, orig);
                let counted: u64 = Counter::ALL.iter().map(|&k| c.get(k)).sum();
                assert!(r.is_some() || counted > 0, "{what} cut at {cut}");
            }
        }
        // Every byte of the encapsulation headers set to hostile values.
        for at in 0..outer_len + 40 {
            for b in [0x00, 0x01, 0x3f, 0x80, 0xff] {
                let mut f = frame.clone();
                f[at] = b;
                let c = Counters::default();
                let mut d = Decoder::new(PacketConfig::default());
                let fr = Frame {
                    ts: 7,
                    link: LinkType::ETHERNET,
                    data: &f,
                    orig_len: f.len() as u32,
                };
                let some = d.decode(&fr, &c).is_some();
                let counted: u64 = Counter::ALL.iter().map(|&k| c.get(k)).sum();
                // Nothing out and nothing counted only for a fragment held for reassembly.
                let held = d.fragments_pending() > 0;
                assert!(some || counted > 0 || held, "{what} byte {at} = {b}");
            }
        }
    }
}

#[test]
fn path_packs_four_layers_outermost_first() {
    let mut p = TunnelPath::NONE;
    assert!(p.is_empty());
    assert_eq!(p.to_string(), "");
    for k in [Kind::Mpls, Kind::Gre, Kind::Vxlan, Kind::Ipip] {
        p.push(k).unwrap();
    }
    assert_eq!(p.depth(), 4);
    assert_eq!(p.to_string(), "mpls/gre/vxlan/ipip");
    assert_eq!(p.push(Kind::Pppoe), Err(TooDeep));
    assert_eq!(
        serde_json::to_string(&p).unwrap(),
        "\"mpls/gre/vxlan/ipip\""
    );
    let mut q = TunnelPath::NONE;
    q.push(Kind::Erspan).unwrap();
    q.push(Kind::Geneve).unwrap();
    q.push(Kind::Pppoe).unwrap();
    assert_eq!(q.to_string(), "erspan/geneve/pppoe");
}
