//! Tests of the packet decoder on real and hand-made frames.

use super::*;
use crate::capture::file::tests::{lab, packet_testdata, read_path, Owned};
use crate::capture::LinkType;
use crate::record::NS;

fn frame(link: LinkType, data: &[u8]) -> Frame<'_> {
    Frame {
        ts: 1_000 * NS,
        link,
        data,
        orig_len: data.len() as u32,
    }
}

/// Decodes and copies the result out (so the decoder can be used again).
fn dec(d: &mut Decoder, f: &Frame<'_>, c: &Counters) -> Option<(PacketMeta, Vec<u8>)> {
    d.decode(f, c).map(|(m, p)| (m, p.to_vec()))
}

fn one(link: LinkType, data: &[u8]) -> (Option<(PacketMeta, Vec<u8>)>, Counters) {
    let c = Counters::default();
    let r = dec(
        &mut Decoder::new(PacketConfig::default()),
        &frame(link, data),
        &c,
    );
    (r, c)
}

/// Counters that are not zero, by name.
fn nonzero(c: &Counters) -> Vec<(&'static str, u64)> {
    Counter::ALL
        .iter()
        .filter(|&&k| c.get(k) != 0)
        .map(|&k| (k.name(), c.get(k)))
        .collect()
}

fn dns_frames() -> Vec<Owned> {
    read_path(&lab("05_benign_dns.pcap"))
}

/// The UDP payload tshark reports for the 28 frames: udp.length - 8.
const DNS_UDP_LENS: [usize; 28] = [
    64, 104, 71, 119, 75, 123, 75, 123, 74, 122, 69, 117, 81, 129, 112, 160, 60, 124, 60, 104, 65,
    109, 71, 124, 71, 129, 65, 93,
];

#[test]
fn udp_over_ethernet_matches_tshark() {
    let frames = dns_frames();
    let c = Counters::default();
    let mut d = Decoder::new(PacketConfig::default());
    let client: IpAddr = "10.99.0.2".parse().unwrap();
    let server: IpAddr = "10.99.0.1".parse().unwrap();
    let sports = [48504, 53, 33345, 53];
    for (i, f) in frames.iter().enumerate() {
        let fr = Frame {
            ts: f.0,
            link: f.1,
            data: &f.2,
            orig_len: f.3,
        };
        let (m, p) = d.decode(&fr, &c).unwrap();
        assert_eq!(m.ts, f.0);
        assert_eq!(m.transport, Transport::Udp);
        assert_eq!(p.len(), DNS_UDP_LENS[i] - 8, "frame {}", i + 1);
        let (src, dst) = if i % 2 == 0 {
            (client, server)
        } else {
            (server, client)
        };
        assert_eq!((m.src, m.dst), (src, dst));
        if i < 4 {
            assert_eq!(m.sport, sports[i]);
        }
        assert_eq!((m.seq, m.ack, m.flags), (0, 0, 0));
        // The payload is the end of the frame (no padding here).
        assert_eq!(p, &f.2[f.2.len() - p.len()..]);
    }
    assert_eq!(nonzero(&c), []);
}

#[test]
fn tcp_fields_match_tshark() {
    let frames = read_path(&lab("06_dns_zone_transfer.pcap"));
    // frame, seq, ack, flags, payload length: tshark -e tcp.seq_raw -e tcp.ack_raw ...
    let want: [(u32, u32, u8, usize); 10] = [
        (2691329128, 0, 0x02, 0),
        (1278924033, 2691329129, 0x12, 0),
        (2691329129, 1278924034, 0x10, 0),
        (2691329129, 1278924034, 0x18, 54),
        (1278924034, 2691329183, 0x10, 0),
        (1278924034, 2691329183, 0x18, 82),
        (2691329183, 1278924116, 0x10, 0),
        (2691329183, 1278924116, 0x11, 0),
        (1278924116, 2691329184, 0x11, 0),
        (2691329184, 1278924117, 0x10, 0),
    ];
    let c = Counters::default();
    let mut d = Decoder::new(PacketConfig::default());
    for (f, w) in frames.iter().zip(want) {
        let (m, p) = dec(&mut d, &frame(f.1, &f.2), &c).unwrap();
        assert_eq!((m.seq, m.ack, m.flags, p.len()), w);
        assert_eq!(m.transport, Transport::Tcp);
        assert_eq!(if m.sport == 53 { m.dport } else { m.sport }, 37175);
    }
    let (m, p) = dec(&mut d, &frame(frames[3].1, &frames[3].2), &c).unwrap();
    assert_eq!(m.flags, tcp_flags::PSH | tcp_flags::ACK);
    // tshark's tcp.payload of frame 4: a length-prefixed DNS AXFR query.
    assert_eq!(&p[..8], &[0x00, 0x34, 0xcb, 0x44, 0x00, 0x20, 0x00, 0x01]);
    assert_eq!(nonzero(&c), []);
}

#[test]
fn lab_capture_counts_tcp_udp_and_the_rest() {
    // tshark: 58 frames match tcp||udp, one (an ICMPv6 router solicitation) does not.
    let frames = read_path(&lab("01_benign_kerberos_logon.pcap"));
    let c = Counters::default();
    let mut d = Decoder::new(PacketConfig::default());
    let n = frames
        .iter()
        .filter(|f| d.decode(&frame(f.1, &f.2), &c).is_some())
        .count();
    assert_eq!(n, 58);
    assert_eq!(nonzero(&c), [("other_transport", 1)]);
}

/// The IP packet of a real frame, re-wrapped in each link layer, decodes the same.
#[test]
fn every_link_type_reaches_the_same_packet() {
    let f = &dns_frames()[1];
    let ip = &f.2[14..];
    let (want, _) = one(LinkType::ETHERNET, &f.2);
    let want = want.unwrap();
    let cat = |h: &[u8]| [h, ip].concat();
    let sll = cat(&[0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x08, 0x00]);
    let sll2 = cat(&[
        0x08, 0x00, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0,
    ]);
    let vlan = [&f.2[..12], &[0x81, 0x00, 0x00, 0x64], &f.2[12..]].concat();
    let qinq = [
        &f.2[..12],
        &[0x88, 0xa8, 0x00, 0x0a, 0x81, 0x00, 0x00, 0x64],
        &f.2[12..],
    ]
    .concat();
    let old_qinq = [
        &f.2[..12],
        &[
            0x91, 0x00, 0x00, 0x0a, 0x91, 0x00, 0x00, 0x0b, 0x81, 0x00, 0x00, 0x64,
        ],
        &f.2[12..],
    ]
    .concat();
    let fddi = cat(&[
        0x50, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00,
    ]);
    let cases: Vec<(LinkType, Vec<u8>)> = vec![
        (LinkType::NULL, cat(&[2, 0, 0, 0])),
        (LinkType::NULL, cat(&[0, 0, 0, 2])),
        (LinkType::LOOP, cat(&[0, 0, 0, 2])),
        (LinkType::RAW, ip.to_vec()),
        (LinkType::RAW_ALT, ip.to_vec()),
        (LinkType(14), ip.to_vec()),
        (LinkType::IPV4, ip.to_vec()),
        (LinkType::LINUX_SLL, sll),
        (LinkType::LINUX_SLL2, sll2),
        (LinkType::ETHERNET, vlan),
        (LinkType::ETHERNET, qinq),
        (LinkType::ETHERNET, old_qinq),
        (LinkType::FDDI, fddi),
    ];
    for (link, data) in cases {
        let (got, c) = one(link, &data);
        assert_eq!(got.as_ref(), Some(&want), "{link} {:02x?}", &data[..20]);
        assert_eq!(nonzero(&c), [], "{link}");
    }
    // IPv4 on the IPv6 link type is malformed; an unknown address family is not IP.
    assert_eq!(nonzero(&one(LinkType::IPV6, ip).1), [("packet", 1)]);
    assert_eq!(
        nonzero(&one(LinkType::NULL, &cat(&[7, 0, 0, 0])).1),
        [("non_ip", 1)]
    );
}

#[test]
fn ethernet_padding_is_trimmed_by_the_ip_length() {
    let f = &dns_frames()[0];
    let (want, _) = one(LinkType::ETHERNET, &f.2);
    let mut padded = f.2.clone();
    padded.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef, 0, 0]); // padding or an FCS
    let (got, c) = one(LinkType::ETHERNET, &padded);
    assert_eq!(got, want);
    assert_eq!(got.unwrap().1.len(), 56);
    assert_eq!(nonzero(&c), []);
    // A TCP ACK of 54 bytes padded to the Ethernet minimum of 60 carries no payload.
    let ack = &read_path(&lab("06_dns_zone_transfer.pcap"))[2];
    let short_ack = [&ack.2[..14 + 20 + 20], &[0u8; 6][..]].concat();
    let mut short_ack = short_ack;
    short_ack[16..18].copy_from_slice(&40u16.to_be_bytes()); // IP total length without options
    short_ack[14 + 20 + 12] = 0x50; // TCP header without options
    let (got, _) = one(LinkType::ETHERNET, &short_ack);
    assert_eq!(got.unwrap().1, Vec::<u8>::new());
}

#[test]
fn a_frame_cut_by_the_snap_length_passes_what_was_captured() {
    let f = &dns_frames()[1];
    let (want, _) = one(LinkType::ETHERNET, &f.2);
    let want = want.unwrap();
    let c = Counters::default();
    let mut d = Decoder::new(PacketConfig::default());
    let cut = Frame {
        ts: 1,
        link: LinkType::ETHERNET,
        data: &f.2[..100],
        orig_len: f.2.len() as u32,
    };
    let (m, p) = dec(&mut d, &cut, &c).unwrap();
    assert_eq!(
        (m.sport, m.dport, m.src),
        (want.0.sport, want.0.dport, want.0.src)
    );
    assert_eq!(p, want.1[..100 - 42].to_vec());
    assert_eq!(nonzero(&c), [("truncated", 1)]);
    // Cut inside the UDP header: nothing to pass, counted as truncated, not malformed.
    let cut = Frame {
        ts: 1,
        link: LinkType::ETHERNET,
        data: &f.2[..38],
        orig_len: f.2.len() as u32,
    };
    assert!(d.decode(&cut, &c).is_none());
    // Cut inside the Ethernet header.
    let cut = Frame {
        ts: 1,
        link: LinkType::ETHERNET,
        data: &f.2[..10],
        orig_len: f.2.len() as u32,
    };
    assert!(d.decode(&cut, &c).is_none());
    assert_eq!(nonzero(&c), [("truncated", 3)]);
}

#[test]
fn malformed_and_foreign_frames_are_counted() {
    let f = &dns_frames()[0].2;
    let edit = |at: usize, b: &[u8]| {
        let mut v = f.clone();
        v[at..at + b.len()].copy_from_slice(b);
        v
    };
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (edit(12, &[0x08, 0x06]), "non_ip"),    // ARP
        (edit(12, &[0x00, 0x40]), "non_ip"),    // an 802.3 length
        (edit(14, &[0x44]), "packet"),          // IHL 4
        (edit(14, &[0x75]), "packet"),          // IP version 7
        (edit(16, &[0x00, 0x10]), "packet"),    // total length below the header
        (edit(16, &[0x0f, 0xff]), "truncated"), // total length beyond the frame: cut
        (edit(23, &[1]), "other_transport"),    // ICMP
        (edit(38, &[0x00, 0x04]), "packet"),    // UDP length 4
        (edit(38, &[0x01, 0x00]), "packet"),    // UDP length beyond the datagram
        (edit(23, &[6]), "packet"),             // "TCP" with a data offset of 0
        (f[..20].to_vec(), "packet"),           // IPv4 header cut, frame complete
    ];
    for (data, want) in cases {
        let (r, c) = one(LinkType::ETHERNET, &data);
        if want == "truncated" {
            assert!(r.is_some());
        } else {
            assert!(r.is_none(), "{want}");
        }
        assert_eq!(nonzero(&c), [(want, 1)], "{:02x?}", &data[..40]);
    }
    // Too many VLAN tags.
    let mut tags = f[..12].to_vec();
    for _ in 0..10 {
        tags.extend_from_slice(&[0x81, 0x00, 0x00, 0x01]);
    }
    tags.extend_from_slice(&f[12..]);
    assert_eq!(nonzero(&one(LinkType::ETHERNET, &tags).1), [("packet", 1)]);
}

/// The IPv6 fragments of the real 3000-byte datagram, and the bytes python sent.
fn sent() -> Vec<u8> {
    (0..3000u32).map(|i| ((i * 7 + 3) & 0xff) as u8).collect()
}

#[test]
fn real_fragments_reassemble_on_every_link_type() {
    for (file, link) in [
        ("lo-fragments.pcap", LinkType::ETHERNET),
        ("any-sll-fragments.pcap", LinkType::LINUX_SLL),
        ("any-sll2-fragments.pcap", LinkType::LINUX_SLL2),
    ] {
        let frames = read_path(&packet_testdata(file));
        assert_eq!(frames.len(), 7);
        let c = Counters::default();
        let mut d = Decoder::new(PacketConfig::default());
        let mut out = Vec::new();
        for f in &frames {
            assert_eq!(f.1, link);
            let fr = Frame {
                ts: f.0,
                link: f.1,
                data: &f.2,
                orig_len: f.3,
            };
            if let Some((m, p)) = dec(&mut d, &fr, &c) {
                out.push((m, p));
            }
        }
        assert_eq!(out.len(), 3, "{file}");
        assert_eq!(out[0].0.src, "127.0.0.1".parse::<IpAddr>().unwrap());
        assert_eq!(out[0].0.dport, 4444);
        assert_eq!(out[0].0.ts, frames[2].0);
        assert_eq!(out[0].1, sent());
        assert_eq!(out[1].0.src, "::1".parse::<IpAddr>().unwrap());
        assert_eq!(out[1].0.dport, 4444);
        assert_eq!(out[1].1, sent());
        assert_eq!(out[2].1, b"small datagram");
        assert_eq!(nonzero(&c), [("fragments_reassembled", 2)], "{file}");
        assert_eq!(d.fragments_pending(), 0);
        assert_eq!(d.fragment_memory(), 0);
    }
}

#[test]
fn fragments_of_other_transports_are_not_held() {
    let frames = read_path(&packet_testdata("lo-fragments.pcap"));
    let c = Counters::default();
    let mut d = Decoder::new(PacketConfig::default());
    for f in &frames[..3] {
        let mut icmp = f.2.clone();
        icmp[14 + 9] = 1; // protocol ICMP
        assert!(dec(&mut d, &frame(f.1, &icmp), &c).is_none());
    }
    assert_eq!(nonzero(&c), [("other_transport", 3)]);
    assert_eq!(d.fragments_pending(), 0);
}

#[test]
fn fragments_in_any_order_reassemble() {
    let frames = read_path(&packet_testdata("lo-fragments.pcap"));
    for order in [[2, 1, 0], [1, 2, 0], [0, 2, 1], [2, 0, 1]] {
        for base in [0, 3] {
            let c = Counters::default();
            let mut d = Decoder::new(PacketConfig::default());
            let mut got = None;
            for (k, i) in order.iter().enumerate() {
                let f = &frames[base + i];
                let r = dec(&mut d, &frame(f.1, &f.2), &c);
                assert_eq!(r.is_some(), k == 2, "{order:?}");
                got = got.or(r);
            }
            assert_eq!(got.unwrap().1, sent());
        }
    }
}

/// Fragments a real IPv4 frame (Ethernet) at 8-byte boundaries: (offset, length) pairs.
fn fragment_v4(eth: &[u8], pieces: &[(usize, usize)], id: u16) -> Vec<Vec<u8>> {
    let ihl = (eth[14] & 0xf) as usize * 4;
    let total = u16::from_be_bytes([eth[16], eth[17]]) as usize;
    let payload = &eth[14 + ihl..14 + total];
    pieces
        .iter()
        .map(|&(off, len)| {
            let end = (off + len).min(payload.len());
            let mut v = eth[..14 + ihl].to_vec();
            v[16..18].copy_from_slice(&((ihl + end - off) as u16).to_be_bytes());
            v[18..20].copy_from_slice(&id.to_be_bytes());
            let mf = if end < payload.len() { 0x2000 } else { 0 };
            v[20..22].copy_from_slice(&(mf | (off / 8) as u16).to_be_bytes());
            v.extend_from_slice(&payload[off..end]);
            v
        })
        .collect()
}

fn big_tcp_frame() -> Owned {
    // The largest TCP segment of a lab capture (coalesced by the capturing host's receive
    // offload): 4482 bytes.
    let frames = read_path(&lab("13_attack_recon_samr_lsarpc.pcap"));
    frames.into_iter().max_by_key(|f| f.2.len()).unwrap()
}

#[test]
fn a_real_segment_fragmented_here_reassembles_to_the_original() {
    let f = big_tcp_frame();
    assert_eq!(f.2.len(), 4482);
    let (want, _) = one(LinkType::ETHERNET, &f.2);
    let want = want.unwrap();
    assert_eq!(want.0.transport, Transport::Tcp);
    // 4448 bytes of TCP: 18 pieces of 256 (the last shorter), sent last first.
    let pieces: Vec<(usize, usize)> = (0..18).rev().map(|i| (i * 256, 256)).collect();
    let frags = fragment_v4(&f.2, &pieces, 0x4242);
    let c = Counters::default();
    let mut d = Decoder::new(PacketConfig::default());
    let mut got = Vec::new();
    for fr in &frags {
        got.extend(dec(&mut d, &frame(LinkType::ETHERNET, fr), &c));
    }
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].0,
        PacketMeta {
            ts: 1_000 * NS,
            ..want.0
        }
    );
    assert_eq!(got[0].1, want.1);
    assert_eq!(nonzero(&c), [("fragments_reassembled", 1)]);
}

#[test]
fn overlapping_fragments_keep_the_first_data() {
    let f = big_tcp_frame();
    let (want, _) = one(LinkType::ETHERNET, &f.2);
    let want = want.unwrap();
    let mut frags = fragment_v4(
        &f.2,
        &[(0, 512), (256, 512), (1024, 4448 - 1024), (512, 768)],
        7,
    );
    // The second fragment (arriving second) overlaps the first and claims other bytes in the
    // overlap: the first data wins; its new bytes 512..768 are kept.
    let ihl = 34;
    for b in &mut frags[1][ihl..ihl + 256] {
        *b ^= 0xff;
    }
    // The fourth overlaps the second and third with garbage everywhere: ignored but needed
    // for nothing (the range was complete).
    for b in &mut frags[3][ihl..] {
        *b = 0xee;
    }
    let c = Counters::default();
    let mut d = Decoder::new(PacketConfig::default());
    let mut got = Vec::new();
    for fr in &frags {
        got.extend(dec(&mut d, &frame(LinkType::ETHERNET, fr), &c));
    }
    // Complete after the third: 0..768 and 1024..1480 leave 768..1024 missing; the fourth
    // fills it (with its garbage, the only data there).
    assert_eq!(got.len(), 1);
    let tcp_hdr = 20 + (f.2[14 + 20 + 12] >> 4) as usize * 4 - 20;
    let mut expect = want.1.clone();
    for b in &mut expect[768 - tcp_hdr..1024 - tcp_hdr] {
        *b = 0xee;
    }
    assert_eq!(got[0].1, expect);
    assert_eq!(nonzero(&c), [("fragments_reassembled", 1)]);
}

#[test]
fn memory_cap_and_timeout_drop_and_count() {
    let f = big_tcp_frame();
    let frags = fragment_v4(&f.2, &[(0, 512), (512, 512), (1024, 512)], 9);
    // Room for one fragment's datagram but not for three open datagrams' data.
    let cfg = PacketConfig {
        fragment_timeout: 30 * NS,
        fragment_memory: 1200,
        ..PacketConfig::default()
    };
    let c = Counters::default();
    let mut d = Decoder::new(cfg);
    fn at(data: &[u8], ts: Ts) -> Frame<'_> {
        Frame {
            ts,
            link: LinkType::ETHERNET,
            data,
            orig_len: data.len() as u32,
        }
    }
    // First fragment of datagram 9: 128 + 512 bytes held.
    assert!(d.decode(&at(&frags[0], NS), &c).is_none());
    assert_eq!(d.fragment_memory(), 640);
    // Its second fragment would need 1152: fits.
    assert!(d.decode(&at(&frags[1], NS), &c).is_none());
    // A third would need 1664: over the cap: this fragment and the two held are dropped.
    assert!(d.decode(&at(&frags[2], NS), &c).is_none());
    assert_eq!(nonzero(&c), [("fragment_memory", 3)]);
    assert_eq!(d.fragment_memory(), 0);
    assert_eq!(d.fragments_pending(), 0);

    // Timeout: the last fragment arrives 31 s after the first.
    let c = Counters::default();
    let mut d = Decoder::new(PacketConfig::default());
    assert!(d.decode(&at(&frags[0], NS), &c).is_none());
    assert!(d.decode(&at(&frags[1], 2 * NS), &c).is_none());
    assert!(d.decode(&at(&frags[2], 32 * NS), &c).is_none());
    assert_eq!(nonzero(&c), [("fragment_timeout", 1)]);
    assert_eq!(d.fragments_pending(), 1); // the last fragment started a new datagram
    d.expire_fragments(63 * NS, &c);
    assert_eq!(nonzero(&c), [("fragment_timeout", 2)]);
    assert_eq!((d.fragments_pending(), d.fragment_memory()), (0, 0));
    // And at the end of input, whatever is held is counted.
    assert!(d.decode(&at(&frags[0], 64 * NS), &c).is_none());
    d.flush_fragments(&c);
    assert_eq!(nonzero(&c), [("fragment_timeout", 3)]);
}

#[test]
fn oversized_and_too_many_fragments_are_refused() {
    let f = big_tcp_frame();
    // A fragment ending beyond 65535 bytes (ping of death).
    let mut frags = fragment_v4(&f.2, &[(0, 512)], 3);
    frags[0][20..22].copy_from_slice(&(0x2000u16 | 8150).to_be_bytes());
    let (r, c) = one(LinkType::ETHERNET, &frags[0]);
    assert!(r.is_none());
    assert_eq!(nonzero(&c), [("packet", 1)]);
    // 300 8-byte fragments of one datagram, none the last: dropped at the 257th.
    let pieces: Vec<(usize, usize)> = (0..300).map(|i| (i * 8, 8)).collect();
    let frags = fragment_v4(&f.2, &pieces[..], 5);
    let c = Counters::default();
    let mut d = Decoder::new(PacketConfig::default());
    for fr in &frags {
        assert!(d.decode(&frame(LinkType::ETHERNET, fr), &c).is_none());
    }
    // 257 dropped when the cap hit, then the 43 after it started over.
    assert_eq!(nonzero(&c), [("fragment_memory", 257)]);
    assert_eq!(d.fragments_pending(), 1);
}

#[test]
fn ipv6_extension_headers_are_walked() {
    // The IPv6 header of a real fragment from lo, a real UDP datagram (DNS) after a
    // hop-by-hop and a destination options header and an atomic fragment header.
    let v6 = &read_path(&packet_testdata("lo-fragments.pcap"))[3].2[14..54];
    let dns = &dns_frames()[0].2[34..];
    let mut p = v6.to_vec();
    p[6] = 0; // hop-by-hop
    p.extend_from_slice(&[60, 0, 1, 4, 0, 0, 0, 0]); // -> destination options, PadN
    p.extend_from_slice(&[44, 0, 1, 4, 0, 0, 0, 0]); // -> fragment
    p.extend_from_slice(&[17, 0, 0, 0, 0, 0, 0, 1]); // atomic fragment -> UDP
    p.extend_from_slice(dns);
    let plen = (p.len() - 40) as u16;
    p[4..6].copy_from_slice(&plen.to_be_bytes());
    let (r, c) = one(LinkType::IPV6, &p);
    let (m, payload) = r.unwrap();
    assert_eq!(
        (m.src, m.sport, m.dport),
        ("::1".parse::<IpAddr>().unwrap(), 48504, 53)
    );
    assert_eq!(payload, dns[8..].to_vec());
    assert_eq!(nonzero(&c), []);
    // The same on the NULL link with the three IPv6 address families.
    for af in [24u8, 28, 30] {
        let (r, _) = one(LinkType::NULL, &[&[af, 0, 0, 0][..], &p].concat());
        assert_eq!(r.unwrap().1, dns[8..].to_vec());
    }
    // An extension header cut short.
    let mut bad = p[..50].to_vec();
    bad[4..6].copy_from_slice(&10u16.to_be_bytes());
    assert_eq!(nonzero(&one(LinkType::RAW, &bad).1), [("packet", 1)]);
    // A real ICMPv6 frame (lab capture 01, frame 59).
    let icmp = &read_path(&lab("01_benign_kerberos_logon.pcap"))[58].2;
    assert_eq!(
        nonzero(&one(LinkType::ETHERNET, icmp).1),
        [("other_transport", 1)]
    );
}
