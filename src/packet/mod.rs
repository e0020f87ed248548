//! The packet layer: link headers (Ethernet, 802.1Q/QinQ, Linux cooked SLL and SLL2, raw IP,
//! BSD loopback), IPv4 (options) and IPv6 (extension headers), fragment reassembly with a timeout
//! and a memory cap ([`defrag`]), TCP and UDP, sliced with `etherparse`. Only what
//! [`PacketMeta`] needs is read; nothing is allocated per packet. Bad checksums are not a reason
//! to drop anything (offload fills captures with them), so checksums are never verified.
//!
//! Ethernet padding is trimmed by the IP length. A frame cut by the snap length is passed as
//! far as it was captured and counted as `truncated`; frames that carry no TCP or UDP are
//! counted (`non_ip`, `other_transport`, `malformed.packet`) and skipped.
//!
//! Tunnels ([`tunnel`]: GRE, ERSPAN, VXLAN, Geneve, MPLS, PPPoE, IP-in-IP) are followed to the
//! packet inside, which is what flows and records use; [`PacketMeta::tunnel`] says how it came.

pub mod defrag;
pub mod tunnel;

use crate::capture::{Frame, LinkType};
use crate::record::{Transport, Ts};
use crate::stats::{Counter, Counters};
use defrag::{Defrag, FragKey, Fragment};
use etherparse::{
    ether_type, ip_number, EtherType, Ethernet2HeaderSlice, IpAuthHeaderSlice, IpNumber,
    Ipv4HeaderSlice, Ipv6FragmentHeaderSlice, Ipv6HeaderSlice, Ipv6RawExtHeaderSlice,
    SingleVlanHeaderSlice, TcpHeaderSlice, UdpHeaderSlice,
};
use std::net::IpAddr;
use tunnel::{Inner, TunnelPath};

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
    /// The encapsulations the packet came in (empty when it came as captured).
    pub tunnel: TunnelPath,
}

/// Limits of the packet layer.
#[derive(Debug, Clone)]
pub struct PacketConfig {
    /// Incomplete fragmented datagrams are dropped after this long (packet time).
    pub fragment_timeout: Ts,
    /// Bytes of fragments held at once; beyond it new fragments are dropped and counted.
    pub fragment_memory: usize,
    /// UDP destination ports whose datagrams are VXLAN (the IANA port 4789; Linux's old
    /// default 8472 is a common addition).
    pub vxlan_ports: Vec<u16>,
    /// UDP destination ports whose datagrams are Geneve (6081).
    pub geneve_ports: Vec<u16>,
}

impl Default for PacketConfig {
    fn default() -> Self {
        PacketConfig {
            fragment_timeout: 30 * crate::record::NS,
            fragment_memory: 4 * 1024 * 1024,
            vxlan_ports: vec![4789],
            geneve_ports: vec![6081],
        }
    }
}

/// VLAN tags (802.1Q, 802.1ad, the old 0x9100 QinQ) accepted in front of the IP header.
const MAX_VLAN_TAGS: usize = 8;
/// IPv6 extension headers walked before giving up on a packet.
const MAX_IPV6_EXTS: usize = 16;

/// Why a frame yields nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Skip {
    NonIp,
    OtherTransport,
    Malformed,
    /// A header was cut by the snap length.
    Truncated,
    /// A fragment held for reassembly (or dropped by it, counted there).
    Held,
    /// A malformed encapsulation (GRE, ERSPAN, VXLAN, ...).
    Tunnel,
    /// Nested in more than [`tunnel::MAX_DEPTH`] encapsulations.
    TooDeep,
}

impl Skip {
    fn count(self, counters: &Counters) {
        let c = match self {
            Skip::NonIp => Counter::NonIp,
            Skip::OtherTransport => Counter::OtherTransport,
            Skip::Malformed => Counter::MalformedPacket,
            Skip::Truncated => Counter::Truncated,
            Skip::Tunnel => Counter::MalformedTunnel,
            Skip::TooDeep => Counter::DropTunnelDepth,
            Skip::Held => return,
        };
        counters.inc(c);
    }
}

/// A header shorter than it must be: cut by the snap length, or malformed.
#[inline]
fn short(cut: bool) -> Skip {
    if cut {
        Skip::Truncated
    } else {
        Skip::Malformed
    }
}

#[inline]
fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

/// Strips the link layer: the IP packet (IPv4 or IPv6) the frame carries, following MPLS and
/// PPPoE (recorded in `path`).
fn link_payload<'b>(
    link: LinkType,
    data: &'b [u8],
    cut: bool,
    path: &mut TunnelPath,
) -> Result<&'b [u8], Skip> {
    match link.0 {
        1 => ethernet(data, cut, path),
        0 | 108 => {
            let af = match data.get(..4) {
                Some(&[a, b, c, d]) => u32::from_le_bytes([a, b, c, d]),
                _ => return Err(short(cut)),
            };
            let rest = data.get(4..).unwrap_or(&[]);
            // The family is in the writer's byte order (NULL) or big endian (LOOP): accept both.
            match (af, af.swap_bytes()) {
                (2, _) | (_, 2) => Ok(rest),
                (24 | 28 | 30, _) | (_, 24 | 28 | 30) => Ok(rest),
                _ => Err(Skip::NonIp),
            }
        }
        10 => {
            // FDDI: frame control, destination and source (13 bytes), then 802.2 LLC; IP rides
            // in SNAP (AA AA 03, an OUI, the EtherType).
            match data.get(13..16) {
                Some([0xaa, 0xaa, 0x03]) => {
                    let proto = be16(data, 19).ok_or(short(cut))?;
                    ether_payload(EtherType(proto), data.get(21..).unwrap_or(&[]), cut, path)
                }
                Some(_) => Err(Skip::NonIp),
                None => Err(short(cut)),
            }
        }
        12 | 14 | 101 => match data.first().map(|b| b >> 4) {
            Some(4 | 6) => Ok(data),
            Some(_) => Err(Skip::NonIp),
            None => Err(short(cut)),
        },
        228 => match data.first().map(|b| b >> 4) {
            Some(4) => Ok(data),
            Some(_) => Err(Skip::Malformed),
            None => Err(short(cut)),
        },
        229 => match data.first().map(|b| b >> 4) {
            Some(6) => Ok(data),
            Some(_) => Err(Skip::Malformed),
            None => Err(short(cut)),
        },
        113 => {
            // Linux cooked v1: packet type, ARPHRD type, address length, 8 address bytes, protocol.
            let proto = be16(data, 14).ok_or(short(cut))?;
            ether_payload(EtherType(proto), data.get(16..).unwrap_or(&[]), cut, path)
        }
        276 => {
            // Linux cooked v2: protocol, reserved, interface index, ARPHRD type, packet type,
            // address length, 8 address bytes.
            if data.len() < 20 {
                return Err(short(cut));
            }
            let proto = be16(data, 0).ok_or(short(cut))?;
            ether_payload(EtherType(proto), data.get(20..).unwrap_or(&[]), cut, path)
        }
        _ => Err(Skip::NonIp),
    }
}

/// An Ethernet II frame: the IP packet it carries.
fn ethernet<'b>(data: &'b [u8], cut: bool, path: &mut TunnelPath) -> Result<&'b [u8], Skip> {
    let eth = Ethernet2HeaderSlice::from_slice(data).map_err(|_| short(cut))?;
    let rest = data.get(eth.slice().len()..).unwrap_or(&[]);
    ether_payload(eth.ether_type(), rest, cut, path)
}

/// Follows VLAN tags, MPLS label stacks and PPPoE sessions from an EtherType to the IP packet.
fn ether_payload<'b>(
    mut et: EtherType,
    mut rest: &'b [u8],
    cut: bool,
    path: &mut TunnelPath,
) -> Result<&'b [u8], Skip> {
    for _ in 0..=MAX_VLAN_TAGS {
        match et {
            ether_type::IPV4 | ether_type::IPV6 => return Ok(rest),
            ether_type::VLAN_TAGGED_FRAME
            | ether_type::PROVIDER_BRIDGING
            | ether_type::VLAN_DOUBLE_TAGGED_FRAME => {
                let tag = SingleVlanHeaderSlice::from_slice(rest).map_err(|_| short(cut))?;
                et = tag.ether_type();
                rest = rest.get(tag.slice().len()..).unwrap_or(&[]);
            }
            EtherType(0x8847 | 0x8848) => {
                path.push(tunnel::Kind::Mpls).map_err(|_| Skip::TooDeep)?;
                return inner_ip(tunnel::mpls(rest), cut, path);
            }
            EtherType(0x8864) => {
                path.push(tunnel::Kind::Pppoe).map_err(|_| Skip::TooDeep)?;
                return inner_ip(tunnel::pppoe(rest), cut, path);
            }
            _ => return Err(Skip::NonIp),
        }
    }
    Err(Skip::Malformed)
}

/// The IP packet of what an encapsulation carries (an Ethernet frame is read for it).
fn inner_ip<'b>(
    inner: Result<Inner<'b>, tunnel::Bad>,
    cut: bool,
    path: &mut TunnelPath,
) -> Result<&'b [u8], Skip> {
    match inner {
        Ok(Inner::Ip(ip)) => Ok(ip),
        Ok(Inner::Ether(e)) => ethernet(e, cut, path).map_err(|s| match s {
            Skip::Malformed if !cut => Skip::Tunnel,
            s => s,
        }),
        Ok(Inner::Other) => Err(Skip::NonIp),
        Err(_) if cut => Err(Skip::Truncated),
        Err(_) => Err(Skip::Tunnel),
    }
}

/// The network layer of one packet, up to the transport header (or a fragment).
enum Net<'b> {
    Transport {
        proto: IpNumber,
        data: &'b [u8],
    },
    Fragment {
        proto: IpNumber,
        id: u32,
        offset: u32,
        more: bool,
        data: &'b [u8],
    },
}

/// Walks the headers between the IP header and the transport header: the authentication header,
/// and for IPv6 the extension headers, stopping at a fragment header that fragments.
fn upper(v6: bool, mut proto: IpNumber, mut data: &[u8], cut: bool) -> Result<Net<'_>, Skip> {
    for _ in 0..MAX_IPV6_EXTS {
        match proto {
            ip_number::AUTH => {
                let h = IpAuthHeaderSlice::from_slice(data).map_err(|e| match e {
                    etherparse::err::ip_auth::HeaderSliceError::Len(_) => short(cut),
                    etherparse::err::ip_auth::HeaderSliceError::Content(_) => Skip::Malformed,
                })?;
                proto = h.next_header();
                data = data.get(h.slice().len()..).unwrap_or(&[]);
            }
            ip_number::IPV6_HOP_BY_HOP | ip_number::IPV6_DEST_OPTIONS | ip_number::IPV6_ROUTE
                if v6 =>
            {
                let h = Ipv6RawExtHeaderSlice::from_slice(data).map_err(|_| short(cut))?;
                proto = h.next_header();
                data = data.get(h.slice().len()..).unwrap_or(&[]);
            }
            ip_number::IPV6_FRAG if v6 => {
                let h = Ipv6FragmentHeaderSlice::from_slice(data).map_err(|_| short(cut))?;
                let rest = data.get(h.slice().len()..).unwrap_or(&[]);
                if h.is_fragmenting_payload() {
                    return Ok(Net::Fragment {
                        proto: h.next_header(),
                        id: h.identification(),
                        offset: u32::from(h.fragment_offset().value()) * 8,
                        more: h.more_fragments(),
                        data: rest,
                    });
                }
                proto = h.next_header();
                data = rest;
            }
            _ => return Ok(Net::Transport { proto, data }),
        }
    }
    Err(Skip::Malformed)
}

/// Reads the TCP or UDP header.
fn transport(
    ts: Ts,
    src: IpAddr,
    dst: IpAddr,
    proto: IpNumber,
    data: &[u8],
    cut: bool,
) -> Result<(PacketMeta, &[u8]), Skip> {
    match proto {
        ip_number::TCP => {
            let h = TcpHeaderSlice::from_slice(data).map_err(|e| match e {
                etherparse::err::tcp::HeaderSliceError::Len(_) => short(cut),
                etherparse::err::tcp::HeaderSliceError::Content(_) => Skip::Malformed,
            })?;
            let hdr = h.slice();
            let meta = PacketMeta {
                ts,
                src,
                dst,
                sport: h.source_port(),
                dport: h.destination_port(),
                transport: Transport::Tcp,
                seq: h.sequence_number(),
                ack: h.acknowledgment_number(),
                flags: hdr.get(13).copied().unwrap_or(0),
                tunnel: TunnelPath::NONE,
            };
            Ok((meta, data.get(hdr.len()..).unwrap_or(&[])))
        }
        ip_number::UDP => {
            let h = UdpHeaderSlice::from_slice(data).map_err(|_| short(cut))?;
            let len = h.length() as usize;
            let payload = if len == 0 {
                // Zero: a jumbogram, or a length left for the NIC to fill.
                data.get(8..)
            } else if len < 8 {
                return Err(Skip::Malformed);
            } else if len > data.len() {
                if !cut {
                    return Err(Skip::Malformed);
                }
                data.get(8..)
            } else {
                data.get(8..len)
            };
            let meta = PacketMeta {
                ts,
                src,
                dst,
                sport: h.source_port(),
                dport: h.destination_port(),
                transport: Transport::Udp,
                seq: 0,
                ack: 0,
                flags: 0,
                tunnel: TunnelPath::NONE,
            };
            Ok((meta, payload.unwrap_or(&[])))
        }
        _ => Err(Skip::OtherTransport),
    }
}

/// Decodes frames into [`PacketMeta`] and payload, reassembling IP fragments.
pub struct Decoder {
    config: PacketConfig,
    defrag: Defrag,
}

impl Decoder {
    pub fn new(config: PacketConfig) -> Self {
        let defrag = Defrag::new(config.fragment_timeout, config.fragment_memory);
        Decoder { config, defrag }
    }

    /// The limits this decoder was made with.
    pub fn config(&self) -> &PacketConfig {
        &self.config
    }

    /// Decodes one frame. Returns `None` for frames that carry no TCP or UDP payload to analyse
    /// (not IP, another transport, malformed: each counted), and for fragments held until their
    /// datagram is complete.
    pub fn decode<'a>(
        &'a mut self,
        frame: &Frame<'a>,
        counters: &Counters,
    ) -> Option<(PacketMeta, &'a [u8])> {
        match self.decode_inner(frame, counters) {
            Ok(r) => Some(r),
            Err(skip) => {
                skip.count(counters);
                None
            }
        }
    }

    /// Drops fragmented datagrams incomplete for longer than the timeout at packet time `now`
    /// (the pipeline may call this on its periodic tick; fragments also trigger it).
    pub fn expire_fragments(&mut self, now: Ts, counters: &Counters) {
        self.defrag.expire(now, counters);
    }

    /// Drops every incomplete fragmented datagram (end of input), counting each as timed out.
    pub fn flush_fragments(&mut self, counters: &Counters) {
        self.defrag.clear(counters);
    }

    /// Bytes held by fragment reassembly now.
    pub fn fragment_memory(&self) -> usize {
        self.defrag.used()
    }

    /// Fragmented datagrams waiting for more fragments.
    pub fn fragments_pending(&self) -> usize {
        self.defrag.pending()
    }

    fn decode_inner<'a>(
        &'a mut self,
        frame: &Frame<'a>,
        counters: &Counters,
    ) -> Result<(PacketMeta, &'a [u8]), Skip> {
        let data: &'a [u8] = frame.data;
        let frame_cut = (data.len() as u64) < frame.orig_len as u64;
        let mut path = TunnelPath::NONE;
        let ip = link_payload(frame.link, data, frame_cut, &mut path)?;
        let ts = frame.ts;
        let cfg = &self.config;
        let (mut meta, payload, cut) = match walk(ts, ip, frame_cut, &mut path, cfg)? {
            Step::Done(m, p, cut) => (m, p, cut),
            Step::Inner(..) => return Err(Skip::Malformed),
            Step::Frag(f) => {
                // Fragments of other transports (ICMP, ...) are not worth holding.
                let wanted = match f.proto {
                    ip_number::TCP | ip_number::UDP | ip_number::AUTH => true,
                    // Tunnels: GRE and IP-in-IP.
                    IpNumber(47 | 4 | 41) => true,
                    ip_number::IPV6_DEST_OPTIONS | ip_number::IPV6_ROUTE => f.v6,
                    _ => false,
                };
                if !wanted {
                    return Err(Skip::OtherTransport);
                }
                if f.cut {
                    // A fragment cut short cannot be put back together.
                    return Err(Skip::Truncated);
                }
                let key = FragKey {
                    src: f.src,
                    dst: f.dst,
                    id: f.id,
                    proto: f.proto.0,
                };
                let whole = self
                    .defrag
                    .insert(
                        ts,
                        Fragment {
                            key,
                            offset: f.offset,
                            more: f.more,
                            data: f.data,
                        },
                        counters,
                    )
                    .ok_or(Skip::Held)?;
                let Net::Transport { proto, data } = upper(f.v6, f.proto, whole, false)? else {
                    // A fragment header inside a reassembled datagram.
                    return Err(Skip::Malformed);
                };
                match after_ip(ts, f.src, f.dst, proto, data, false, &mut path, cfg)? {
                    Step::Done(m, p, cut) => (m, p, cut),
                    // A tunnel in a reassembled datagram: followed, except into fragments again.
                    Step::Inner(ip, cut) => match walk(ts, ip, cut, &mut path, cfg)? {
                        Step::Done(m, p, cut) => (m, p, cut),
                        _ => return Err(Skip::Tunnel),
                    },
                    Step::Frag(_) => return Err(Skip::Malformed),
                }
            }
        };
        if cut {
            counters.inc(Counter::Truncated);
        }
        if !path.is_empty() {
            meta.tunnel = path;
            counters.inc(Counter::Tunnelled);
        }
        Ok((meta, payload))
    }
}

/// A fragment of a datagram, as [`ip_step`] found it.
struct Frag<'b> {
    v6: bool,
    src: IpAddr,
    dst: IpAddr,
    proto: IpNumber,
    id: u32,
    offset: u32,
    more: bool,
    data: &'b [u8],
    cut: bool,
}

/// Where one IP layer led.
enum Step<'b> {
    /// TCP or UDP (not a tunnel): the packet, its payload, and whether it was cut short.
    Done(PacketMeta, &'b [u8], bool),
    /// A fragment to hold for reassembly.
    Frag(Frag<'b>),
    /// A tunnel: the IP packet inside (and whether it was cut short).
    Inner(&'b [u8], bool),
}

/// Follows IP layers (and the tunnels between them) until TCP or UDP or a fragment.
fn walk<'b>(
    ts: Ts,
    mut ip: &'b [u8],
    mut cut: bool,
    path: &mut TunnelPath,
    cfg: &PacketConfig,
) -> Result<Step<'b>, Skip> {
    // Every tunnel adds a layer to `path`, which refuses more than MAX_DEPTH.
    for _ in 0..=tunnel::MAX_DEPTH {
        match ip_step(ts, ip, cut, path, cfg)? {
            Step::Inner(i, c) => (ip, cut) = (i, c),
            s => return Ok(s),
        }
    }
    Err(Skip::TooDeep)
}

/// One IP header (IPv4 or IPv6) and what follows it.
fn ip_step<'b>(
    ts: Ts,
    ip: &'b [u8],
    frame_cut: bool,
    path: &mut TunnelPath,
    cfg: &PacketConfig,
) -> Result<Step<'b>, Skip> {
    let (v6, src, dst, net, cut) = match ip.first().map(|b| b >> 4) {
        Some(4) => {
            let h = Ipv4HeaderSlice::from_slice(ip).map_err(|e| match e {
                etherparse::err::ipv4::HeaderSliceError::Len(_) => short(frame_cut),
                etherparse::err::ipv4::HeaderSliceError::Content(_) => Skip::Malformed,
            })?;
            let hl = h.slice().len();
            let total = h.total_len() as usize;
            let (payload, cut) = if total == 0 {
                // Left for segmentation offload to fill: take what was captured.
                (ip.get(hl..), false)
            } else if total < hl {
                return Err(Skip::Malformed);
            } else if total > ip.len() {
                (ip.get(hl..), true)
            } else {
                (ip.get(hl..total), false)
            };
            let payload = payload.unwrap_or(&[]);
            let src = IpAddr::V4(h.source_addr());
            let dst = IpAddr::V4(h.destination_addr());
            let proto = h.protocol();
            let offset = u32::from(h.fragments_offset().value()) * 8;
            let net = if h.more_fragments() || offset != 0 {
                Net::Fragment {
                    proto,
                    id: u32::from(h.identification()),
                    offset,
                    more: h.more_fragments(),
                    data: payload,
                }
            } else {
                upper(false, proto, payload, cut)?
            };
            (false, src, dst, net, cut)
        }
        Some(6) => {
            let h = Ipv6HeaderSlice::from_slice(ip).map_err(|e| match e {
                etherparse::err::ipv6::HeaderSliceError::Len(_) => short(frame_cut),
                etherparse::err::ipv6::HeaderSliceError::Content(_) => Skip::Malformed,
            })?;
            let plen = h.payload_length() as usize;
            let (payload, cut) = if plen == 0 {
                (ip.get(40..), false)
            } else if 40 + plen > ip.len() {
                (ip.get(40..), true)
            } else {
                (ip.get(40..40 + plen), false)
            };
            let payload = payload.unwrap_or(&[]);
            let src = IpAddr::V6(h.source_addr());
            let dst = IpAddr::V6(h.destination_addr());
            (
                true,
                src,
                dst,
                upper(true, h.next_header(), payload, cut)?,
                cut,
            )
        }
        Some(_) => return Err(Skip::Malformed),
        None => return Err(short(frame_cut)),
    };
    match net {
        Net::Transport { proto, data } => after_ip(ts, src, dst, proto, data, cut, path, cfg),
        Net::Fragment {
            proto,
            id,
            offset,
            more,
            data,
        } => Ok(Step::Frag(Frag {
            v6,
            src,
            dst,
            proto,
            id,
            offset,
            more,
            data,
            cut,
        })),
    }
}

/// What follows the IP headers: a tunnel (GRE, IP-in-IP, VXLAN, Geneve) or TCP and UDP.
#[allow(clippy::too_many_arguments)]
fn after_ip<'b>(
    ts: Ts,
    src: IpAddr,
    dst: IpAddr,
    proto: IpNumber,
    data: &'b [u8],
    cut: bool,
    path: &mut TunnelPath,
    cfg: &PacketConfig,
) -> Result<Step<'b>, Skip> {
    let deeper = |path: &mut TunnelPath, k: tunnel::Kind| path.push(k).map_err(|_| Skip::TooDeep);
    match proto.0 {
        47 => {
            let (kind, inner) = tunnel::gre(data).map_err(|_| tunnel_short(cut))?;
            deeper(path, kind)?;
            let ip = match inner {
                tunnel::GreInner::Inner(i) => inner_ip(Ok(i), cut, path)?,
                tunnel::GreInner::Mpls(m) => {
                    deeper(path, tunnel::Kind::Mpls)?;
                    inner_ip(tunnel::mpls(m), cut, path)?
                }
            };
            Ok(Step::Inner(ip, cut))
        }
        4 | 41 => {
            deeper(path, tunnel::Kind::Ipip)?;
            Ok(Step::Inner(data, cut))
        }
        _ => {
            let (meta, payload) = transport(ts, src, dst, proto, data, cut)?;
            if meta.transport == Transport::Udp {
                let found = if cfg.vxlan_ports.contains(&meta.dport) {
                    tunnel::vxlan(payload).map(|r| (tunnel::Kind::Vxlan, r))
                } else if cfg.geneve_ports.contains(&meta.dport) {
                    tunnel::geneve(payload).map(|r| (tunnel::Kind::Geneve, r))
                } else {
                    None
                };
                if let Some((kind, inner)) = found {
                    deeper(path, kind)?;
                    return Ok(Step::Inner(inner_ip(inner, cut, path)?, cut));
                }
            }
            Ok(Step::Done(meta, payload, cut))
        }
    }
}

/// A tunnel header that does not parse: cut by the snap length, or malformed.
fn tunnel_short(cut: bool) -> Skip {
    if cut {
        Skip::Truncated
    } else {
        Skip::Tunnel
    }
}

/// TCP ports of SMB (direct and over NetBIOS), whose connections are sharded by address pair.
pub const SMB_PORTS: [u16; 2] = [445, 139];

/// A hash of the flow's 5-tuple that is the same for both directions, so both halves of a
/// connection go to the same worker (it picks the worker, nothing else).
///
/// SMB connections (TCP 445 or 139 on either side) hash without their ports: every connection
/// between the same two addresses goes to the same worker. SMB3 multichannel spreads one
/// session over several connections (a pipe opened on one, its DCE-RPC bind written on a
/// second and answered on a third); with all of them on one worker, in order, what one
/// connection writes to the SMB registry ([`crate::proto::smb::registry`]) is there when the
/// next reads it, so records do not depend on which worker ran first. One client's SMB traffic
/// to one server stays on one core, which a DC's many clients still spread.
pub fn flow_hash(m: &PacketMeta) -> u64 {
    fn ip_bits(ip: &IpAddr) -> u128 {
        match ip {
            IpAddr::V4(a) => u32::from(*a) as u128,
            IpAddr::V6(a) => u128::from(*a),
        }
    }
    let smb = m.transport == Transport::Tcp
        && (SMB_PORTS.contains(&m.sport) || SMB_PORTS.contains(&m.dport));
    let port = |p: u16| if smb { 0 } else { p };
    let a = (ip_bits(&m.src), port(m.sport));
    let b = (ip_bits(&m.dst), port(m.dport));
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
}

#[cfg(test)]
mod more_tests {
    use super::*;
    use crate::capture::file::tests::{lab, packet_testdata, read_path, Owned};
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
        64, 104, 71, 119, 75, 123, 75, 123, 74, 122, 69, 117, 81, 129, 112, 160, 60, 124, 60, 104,
        65, 109, 71, 124, 71, 129, 65, 93,
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
}
