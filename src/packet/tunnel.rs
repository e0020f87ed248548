//! Encapsulations a sensor on a mirror port or a provider link receives: GRE (RFC 2784/2890 with
//! key and sequence number, RFC 1701 routing, the enhanced GRE of PPTP carrying PPP), ERSPAN
//! types I, II and III, VXLAN (RFC 7348) and Geneve (RFC 8926) on configurable UDP ports, MPLS
//! label stacks (with or without a pseudowire control word), PPPoE sessions and IP-in-IP (4in4,
//! 6in4, 4in6, 6in6).
//!
//! Each function here takes the bytes after one encapsulation's outer header and returns what it
//! carries ([`Inner`]: an Ethernet frame or an IP packet); the packet layer ([`super`]) follows
//! them until it reaches TCP or UDP that is not a tunnel, recording each layer in a
//! [`TunnelPath`] (outermost first). At most [`MAX_DEPTH`] layers are followed; a packet nested
//! deeper is counted (`drops.tunnel_depth`) and skipped. Every length is checked against the
//! bytes present: a malformed encapsulation is counted (`malformed.tunnel`), never a panic.

use serde::{Serialize, Serializer};

/// Tunnel layers followed in one packet; a packet nested deeper is counted and skipped.
pub const MAX_DEPTH: usize = 4;
/// MPLS label stack entries read before giving up on a packet.
const MAX_LABELS: usize = 16;

/// One kind of encapsulation, as the `tunnel` field names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Kind {
    Gre = 1,
    Erspan = 2,
    Vxlan = 3,
    Geneve = 4,
    Mpls = 5,
    Pppoe = 6,
    Ipip = 7,
}

impl Kind {
    /// The name in the `tunnel` field.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Gre => "gre",
            Kind::Erspan => "erspan",
            Kind::Vxlan => "vxlan",
            Kind::Geneve => "geneve",
            Kind::Mpls => "mpls",
            Kind::Pppoe => "pppoe",
            Kind::Ipip => "ipip",
        }
    }

    fn from_nibble(n: u16) -> Option<Kind> {
        Some(match n {
            1 => Kind::Gre,
            2 => Kind::Erspan,
            3 => Kind::Vxlan,
            4 => Kind::Geneve,
            5 => Kind::Mpls,
            6 => Kind::Pppoe,
            7 => Kind::Ipip,
            _ => return None,
        })
    }
}

/// The encapsulations a packet came through, outermost first (up to [`MAX_DEPTH`]), packed in
/// four bits each so that it is `Copy` and free to carry beside every packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TunnelPath(u16);

/// A packet nested in more than [`MAX_DEPTH`] encapsulations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooDeep;

impl TunnelPath {
    /// No encapsulation: the packet came as captured.
    pub const NONE: TunnelPath = TunnelPath(0);

    /// Whether the packet came without encapsulation.
    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }

    /// Layers recorded.
    pub fn depth(&self) -> usize {
        (16 - self.0.leading_zeros() as usize).div_ceil(4)
    }

    /// Records one more (inner) layer.
    pub fn push(&mut self, k: Kind) -> Result<(), TooDeep> {
        let d = self.depth();
        if d >= MAX_DEPTH {
            return Err(TooDeep);
        }
        self.0 |= (k as u16) << (4 * d);
        Ok(())
    }

    /// The layers, outermost first.
    pub fn kinds(self) -> impl Iterator<Item = Kind> {
        (0..MAX_DEPTH).map_while(move |i| Kind::from_nibble((self.0 >> (4 * i)) & 0xf))
    }
}

impl std::fmt::Display for TunnelPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, k) in self.kinds().enumerate() {
            if i > 0 {
                f.write_str("/")?;
            }
            f.write_str(k.name())?;
        }
        Ok(())
    }
}

impl Serialize for TunnelPath {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// What an encapsulation carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inner<'b> {
    /// An Ethernet frame (from its destination address on).
    Ether(&'b [u8]),
    /// An IPv4 or IPv6 packet.
    Ip(&'b [u8]),
    /// Something else (PPP control, a non-IP protocol): not analysed.
    Other,
}

/// Why an encapsulation yields nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bad {
    /// A header shorter than it says, or values the specification forbids.
    Malformed,
}

#[inline]
fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

/// What an EtherType-like protocol number carries directly (IP), or `Other`.
fn by_ethertype(proto: u16, rest: &[u8]) -> Inner<'_> {
    match proto {
        0x0800 | 0x86dd => Inner::Ip(rest),
        0x6558 => Inner::Ether(rest),
        _ => Inner::Other,
    }
}

/// A GRE packet (IP protocol 47): the kind of tunnel it is (`gre`, or `erspan` for GRE
/// protocols 0x88be and 0x22eb) and what it carries. MPLS inside GRE is returned as
/// [`GreInner::Mpls`] for the caller to follow.
pub fn gre(data: &[u8]) -> Result<(Kind, GreInner<'_>), Bad> {
    let flags = be16(data, 0).ok_or(Bad::Malformed)?;
    let proto = be16(data, 2).ok_or(Bad::Malformed)?;
    let version = flags & 0x7;
    let (csum, routing, key, seq) = (
        flags & 0x8000 != 0,
        flags & 0x4000 != 0,
        flags & 0x2000 != 0,
        flags & 0x1000 != 0,
    );
    let mut at = 4;
    match version {
        0 => {
            if csum || routing {
                at += 4; // checksum and offset (present when either bit is set, RFC 1701)
            }
            if key {
                at += 4;
            }
            if seq {
                at += 4;
            }
            if routing {
                // RFC 1701 source route entries, ended by one with address family 0, length 0.
                loop {
                    let af = be16(data, at).ok_or(Bad::Malformed)?;
                    let len = *data.get(at + 3).ok_or(Bad::Malformed)? as usize;
                    at += 4 + len;
                    if af == 0 && len == 0 {
                        break;
                    }
                }
            }
        }
        1 => {
            // Enhanced GRE (RFC 2637, PPTP): key (payload length, call id) always present,
            // sequence and acknowledgement numbers optional; carries PPP only.
            if !key || csum || routing || proto != 0x880b {
                return Err(Bad::Malformed);
            }
            at += 4;
            if seq {
                at += 4;
            }
            if flags & 0x0080 != 0 {
                at += 4;
            }
        }
        _ => return Err(Bad::Malformed),
    }
    let rest = data.get(at..).ok_or(Bad::Malformed)?;
    Ok(match proto {
        0x88be if seq => (Kind::Erspan, GreInner::Inner(erspan2(rest)?)),
        // ERSPAN type I: no ERSPAN header, no sequence number; the mirrored frame follows.
        0x88be => (Kind::Erspan, GreInner::Inner(Inner::Ether(rest))),
        0x22eb => (Kind::Erspan, GreInner::Inner(erspan3(rest)?)),
        0x880b => (Kind::Gre, GreInner::Inner(ppp(rest)?)),
        0x8847 | 0x8848 => (Kind::Gre, GreInner::Mpls(rest)),
        p => (Kind::Gre, GreInner::Inner(by_ethertype(p, rest))),
    })
}

/// What a GRE packet carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GreInner<'b> {
    Inner(Inner<'b>),
    /// An MPLS label stack.
    Mpls(&'b [u8]),
}

/// ERSPAN type II: an 8-byte header (version 1), then the mirrored Ethernet frame.
fn erspan2(d: &[u8]) -> Result<Inner<'_>, Bad> {
    let h = d.get(..8).ok_or(Bad::Malformed)?;
    if h[0] >> 4 != 1 {
        return Err(Bad::Malformed);
    }
    Ok(Inner::Ether(&d[8..]))
}

/// ERSPAN type III: a 12-byte header (version 2), an optional 8-byte platform sub-header, then
/// the mirrored frame: Ethernet (frame type 0) or IP (frame type 2).
fn erspan3(d: &[u8]) -> Result<Inner<'_>, Bad> {
    let h = d.get(..12).ok_or(Bad::Malformed)?;
    if h[0] >> 4 != 2 {
        return Err(Bad::Malformed);
    }
    let ft = (h[10] >> 2) & 0x1f;
    let opt = h[11] & 1 != 0;
    let rest = d.get(if opt { 20 } else { 12 }..).ok_or(Bad::Malformed)?;
    Ok(match ft {
        0 => Inner::Ether(rest),
        2 => Inner::Ip(rest),
        _ => Inner::Other,
    })
}

/// A PPP frame (in enhanced GRE or PPPoE): optional address and control (FF 03), the protocol
/// (one byte when compressed), then IPv4 (0x21) or IPv6 (0x57); other protocols are not IP.
fn ppp(d: &[u8]) -> Result<Inner<'_>, Bad> {
    let d = match d {
        [0xff, 0x03, rest @ ..] => rest,
        _ => d,
    };
    let first = *d.first().ok_or(Bad::Malformed)?;
    let (proto, rest) = if first & 1 == 1 {
        (u16::from(first), &d[1..])
    } else {
        (be16(d, 0).ok_or(Bad::Malformed)?, &d[2..])
    };
    Ok(match proto {
        0x21 | 0x57 => Inner::Ip(rest),
        _ => Inner::Other,
    })
}

/// A PPPoE session frame (EtherType 0x8864): version and type 1, code 0, the session id, the
/// length, then PPP.
pub fn pppoe(d: &[u8]) -> Result<Inner<'_>, Bad> {
    let h = d.get(..6).ok_or(Bad::Malformed)?;
    if h[0] != 0x11 || h[1] != 0 {
        return Err(Bad::Malformed);
    }
    let len = be16(h, 4).unwrap_or(0) as usize;
    // A frame captured short is passed as far as it goes; Ethernet padding is cut off.
    let body = &d[6..];
    ppp(body.get(..len).unwrap_or(body))
}

/// An MPLS label stack: entries up to the one with the bottom-of-stack bit, then IPv4, IPv6,
/// or (first nibble 0) a pseudowire control word and an Ethernet frame.
pub fn mpls(d: &[u8]) -> Result<Inner<'_>, Bad> {
    for i in 0..MAX_LABELS {
        let e = d.get(4 * i..4 * i + 4).ok_or(Bad::Malformed)?;
        if e[2] & 1 == 1 {
            let rest = &d[4 * i + 4..];
            return Ok(match rest.first().map(|b| b >> 4) {
                Some(4 | 6) => Inner::Ip(rest),
                Some(0) => Inner::Ether(rest.get(4..).ok_or(Bad::Malformed)?),
                Some(_) => Inner::Other,
                None => return Err(Bad::Malformed),
            });
        }
    }
    Err(Bad::Malformed)
}

/// A VXLAN header (8 bytes, the I flag set) and the Ethernet frame after it; `None` when the
/// datagram is not VXLAN (the I flag clear: some other use of the port).
pub fn vxlan(d: &[u8]) -> Option<Result<Inner<'_>, Bad>> {
    let flags = *d.first()?;
    if flags & 0x08 == 0 {
        return None;
    }
    Some(
        d.get(8..)
            .filter(|r| !r.is_empty())
            .map(Inner::Ether)
            .ok_or(Bad::Malformed),
    )
}

/// A Geneve header (version 0, options in 4-byte words) and what it carries; `None` when the
/// datagram is not Geneve (another version).
pub fn geneve(d: &[u8]) -> Option<Result<Inner<'_>, Bad>> {
    let b0 = *d.first()?;
    if b0 >> 6 != 0 {
        return None;
    }
    let opt = (b0 & 0x3f) as usize * 4;
    Some((|| {
        let proto = be16(d, 2).ok_or(Bad::Malformed)?;
        let rest = d.get(8 + opt..).ok_or(Bad::Malformed)?;
        Ok(by_ethertype(proto, rest))
    })())
}

/// IP-in-IP: IP protocol 4 carries IPv4, 41 IPv6 (in an IPv4 or IPv6 outer header).
pub fn ip_in_ip(proto: u8, d: &[u8]) -> Option<Inner<'_>> {
    matches!(proto, 4 | 41).then_some(Inner::Ip(d))
}

#[cfg(test)]
mod tests;
