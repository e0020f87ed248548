//! Link layers down to the IP packet: Ethernet II with VLAN tags (802.1Q, 802.1ad, the old QinQ),
//! BSD loopback, FDDI with SNAP, raw IP, Linux cooked SLL and SLL2, and the MPLS and PPPoE
//! encapsulations an EtherType may announce (recorded in the packet's [`TunnelPath`]).

use super::tunnel::{self, Inner, TunnelPath};
use super::{be16, short, Skip, MAX_VLAN_TAGS};
use crate::capture::LinkType;
use etherparse::{ether_type, EtherType, Ethernet2HeaderSlice, SingleVlanHeaderSlice};

/// Strips the link layer: the IP packet (IPv4 or IPv6) the frame carries, following MPLS and
/// PPPoE (recorded in `path`).
pub(super) fn link_payload<'b>(
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
pub(super) fn ethernet<'b>(
    data: &'b [u8],
    cut: bool,
    path: &mut TunnelPath,
) -> Result<&'b [u8], Skip> {
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
pub(super) fn inner_ip<'b>(
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
