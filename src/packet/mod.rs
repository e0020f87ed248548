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
//! Link layers are in [`link`]; plain Ethernet frames (no tag, no tunnel, no IP options or
//! fragments) take a shorter path first ([`fast`]).

pub mod defrag;
mod fast;
mod link;
pub mod tunnel;

use crate::capture::Frame;
use crate::record::{Transport, Ts};
use crate::stats::{Counter, Counters};
use defrag::{Defrag, FragKey, Fragment};
use etherparse::{
    ip_number, IpAuthHeaderSlice, IpNumber, Ipv4HeaderSlice, Ipv6FragmentHeaderSlice,
    Ipv6HeaderSlice, Ipv6RawExtHeaderSlice, TcpHeaderSlice, UdpHeaderSlice,
};
use link::{inner_ip, link_payload};
use std::net::IpAddr;
use tunnel::TunnelPath;

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
        if frame.link.0 == 1 {
            if let Some(r) = fast::ethernet(frame.ts, frame.data, &self.config) {
                return Ok(r);
            }
        }
        self.decode_general(frame, counters)
    }

    /// [`Decoder::decode`] without the fast path of plain Ethernet frames.
    fn decode_general<'a>(
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

/// A hash of the flow's 5-tuple that is the same for both directions, so both halves of a
/// connection go to the same worker (it picks the worker, nothing else).
///
/// TCP connections with one of the `by_pair` ports on either side hash without their ports:
/// every such connection between the same two addresses goes to the same worker. The pipeline
/// passes SMB's ports (from the protocol registry, `crate::proto::registry::SMB`): SMB3
/// multichannel spreads one session over several connections (a pipe opened on one, its
/// DCE-RPC bind written on a second and answered on a third); with all of them on one worker,
/// in order, what one connection writes to the SMB registry (`crate::proto::smb::registry`) is
/// there when the next reads it, so records do not depend on which worker ran first. One
/// client's SMB traffic to one server stays on one core, which a DC's many clients still spread.
pub fn flow_hash(m: &PacketMeta, by_pair: &[u16]) -> u64 {
    fn ip_bits(ip: &IpAddr) -> u128 {
        match ip {
            IpAddr::V4(a) => u32::from(*a) as u128,
            IpAddr::V6(a) => u128::from(*a),
        }
    }
    let pair =
        m.transport == Transport::Tcp && (by_pair.contains(&m.sport) || by_pair.contains(&m.dport));
    let port = |p: u16| if pair { 0 } else { p };
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
mod tests;

#[cfg(test)]
mod more_tests;
