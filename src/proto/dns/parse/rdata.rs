//! The text of resource record data ([`write_rdata`]): typed formats for the record types
//! dcsensor names (addresses, names, SOA, SRV, TXT, SVCB/HTTPS, DNSSEC, ...) and RFC 3597's
//! generic `\# LEN HEX` for the rest.

use super::{rdata_name, type_name, write_label, Name, Rr, MAX_HEX_RDATA};
use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

fn u16_at(msg: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*msg.get(off)?, *msg.get(off + 1)?]))
}

fn u32_at(msg: &[u8], off: usize) -> Option<u32> {
    let b = msg.get(off..off + 4)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn write_hex(b: &[u8], out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for &c in b {
        out.push(HEX[(c >> 4) as usize] as char);
        out.push(HEX[(c & 0xf) as usize] as char);
    }
}

/// Writes character-strings (TXT, SPF) concatenated, escaping as in names (`\DDD`; `\` as
/// `\\`; space and `.` kept).
fn write_strings(mut d: &[u8], out: &mut String) -> Option<()> {
    while let Some((&n, rest)) = d.split_first() {
        let s = rest.get(..n as usize)?;
        for &c in s {
            match c {
                b'\\' => out.push_str("\\\\"),
                0x20..=0x7e => out.push(c as char),
                _ => {
                    let _ = write!(out, "\\{c:03}");
                }
            }
        }
        d = &rest[n as usize..];
    }
    Some(())
}

/// Writes the rdata of `r` as text; on rdata that does not fit its type, writes the RFC 3597
/// form (`\# len hex`, the hex cut at [`MAX_HEX_RDATA`] bytes and marked `...`).
pub fn write_rdata(msg: &[u8], r: &Rr<'_>, out: &mut String) {
    let start = out.len();
    if typed_rdata(msg, r, out).is_none() {
        out.truncate(start);
        generic_rdata(r.rdata, out);
    }
}

/// The RFC 3597 form of rdata.
pub fn generic_rdata(d: &[u8], out: &mut String) {
    let _ = write!(out, "\\# {}", d.len());
    if !d.is_empty() {
        out.push(' ');
        write_hex(&d[..d.len().min(MAX_HEX_RDATA)], out);
        if d.len() > MAX_HEX_RDATA {
            out.push_str("...");
        }
    }
}

fn typed_rdata(msg: &[u8], r: &Rr<'_>, out: &mut String) -> Option<()> {
    let d = r.rdata;
    let off = r.rdata_off;
    let end = off + d.len();
    // A name in rdata must end inside the rdata (its pointers may reach anywhere before).
    let name_at = |at: usize| -> Option<(Name<'_>, usize)> {
        let (n, next) = rdata_name(msg, at)?;
        (next <= end).then_some((n, next))
    };
    match r.rtype {
        1 => {
            let b: [u8; 4] = d.try_into().ok()?;
            let _ = write!(out, "{}", Ipv4Addr::from(b));
        }
        28 => {
            let b: [u8; 16] = d.try_into().ok()?;
            let _ = write!(out, "{}", Ipv6Addr::from(b));
        }
        // NS, MD, MF, CNAME, MB, MG, MR, PTR, DNAME
        2..=5 | 7..=9 | 12 | 39 => {
            let (n, next) = name_at(off)?;
            if next != end {
                return None;
            }
            n.write(out);
        }
        6 => {
            let (m, next) = name_at(off)?;
            let (rn, next) = name_at(next)?;
            if end.checked_sub(next)? != 20 {
                return None;
            }
            m.write(out);
            out.push(' ');
            rn.write(out);
            for k in 0..5 {
                let _ = write!(out, " {}", u32_at(msg, next + 4 * k)?);
            }
        }
        // MX, AFSDB, RT, KX: preference and a name.
        15 | 18 | 21 | 36 => {
            let pref = u16_at(msg, off).filter(|_| d.len() >= 3)?;
            let (n, next) = name_at(off + 2)?;
            if next != end {
                return None;
            }
            let _ = write!(out, "{pref} ");
            n.write(out);
        }
        33 => {
            if d.len() < 7 {
                return None;
            }
            let (n, next) = name_at(off + 6)?;
            if next != end {
                return None;
            }
            let _ = write!(
                out,
                "{} {} {} ",
                u16_at(msg, off)?,
                u16_at(msg, off + 2)?,
                u16_at(msg, off + 4)?
            );
            n.write(out);
        }
        // TXT, SPF
        16 | 99 => write_strings(d, out)?,
        // HINFO: cpu os
        13 => {
            let (&n, rest) = d.split_first()?;
            let cpu = rest.get(..n as usize)?;
            let os = rest.get(n as usize..)?;
            write_strings(&d[..1 + cpu.len()], out)?;
            out.push(' ');
            write_strings(os, out)?;
        }
        // CAA: flags tag value
        257 => {
            let (&flags, rest) = d.split_first()?;
            let (&tl, rest) = rest.split_first()?;
            let tag = rest.get(..tl as usize)?;
            let value = &rest[tl as usize..];
            let _ = write!(out, "{flags} ");
            write_label(tag, out);
            out.push(' ');
            write_strings_raw(value, out);
        }
        // DS, CDS: key tag, algorithm, digest type, digest
        43 | 59 => {
            if d.len() < 4 {
                return None;
            }
            let _ = write!(out, "{} {} {} ", u16_at(d, 0)?, d[2], d[3]);
            write_hex(&d[4..], out);
        }
        // SSHFP: algorithm, fingerprint type, fingerprint
        44 => {
            if d.len() < 2 {
                return None;
            }
            let _ = write!(out, "{} {} ", d[0], d[1]);
            write_hex(&d[2..], out);
        }
        // SVCB, HTTPS (RFC 9460): priority, target, parameters as key=value.
        64 | 65 => {
            let prio = u16_at(msg, off).filter(|_| d.len() >= 3)?;
            let (n, next) = name_at(off + 2)?;
            let _ = write!(out, "{prio} ");
            n.write(out);
            svc_params(msg.get(next..end)?, out)?;
        }
        // RRSIG: type covered, algorithm, labels, original TTL, expiration, inception (seconds
        // since the epoch), key tag, signer; the signature is left out.
        46 => {
            if d.len() < 18 {
                return None;
            }
            let (signer, _) = name_at(off + 18)?;
            type_text(u16_at(d, 0)?, out);
            let _ = write!(
                out,
                " {} {} {} {} {} {} ",
                d[2],
                d[3],
                u32_at(d, 4)?,
                u32_at(d, 8)?,
                u32_at(d, 12)?,
                u16_at(d, 16)?
            );
            signer.write(out);
        }
        // DNSKEY, CDNSKEY: flags, protocol, algorithm, key (base64)
        48 | 60 => {
            if d.len() < 4 {
                return None;
            }
            let _ = write!(out, "{} {} {} ", u16_at(d, 0)?, d[2], d[3]);
            write_base64(&d[4..], out);
        }
        // NSEC: next name and the types of the bitmap
        47 => {
            let (n, next) = name_at(off)?;
            n.write(out);
            type_bitmap(msg.get(next..end)?, out)?;
        }
        _ => return None,
    }
    Some(())
}

/// Writes a type's name, or `TYPEn` (RFC 3597) when it has none.
pub fn type_text(t: u16, out: &mut String) {
    match type_name(t) {
        Some(n) => out.push_str(n),
        None => {
            let _ = write!(out, "TYPE{t}");
        }
    }
}

fn write_base64(b: &[u8], out: &mut String) {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for c in b.chunks(3) {
        let v = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for k in 0..4 {
            if k <= c.len() {
                out.push(A[(v >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
}

/// Appends ` TYPE` for each type of an NSEC/NSEC3 type bitmap (RFC 4034 4.1.2).
fn type_bitmap(mut b: &[u8], out: &mut String) -> Option<()> {
    while let [window, len, rest @ ..] = b {
        let map = rest
            .get(..*len as usize)
            .filter(|m| (1..=32).contains(&m.len()))?;
        for (i, byte) in map.iter().enumerate() {
            for bit in 0..8 {
                if byte & (0x80 >> bit) != 0 {
                    out.push(' ');
                    type_text((*window as u16) << 8 | (i * 8 + bit) as u16, out);
                }
            }
        }
        b = &rest[map.len()..];
    }
    Some(())
}

/// Appends ` key=value` for each SVCB parameter (RFC 9460 7): names for the defined keys,
/// `keyN` otherwise; values as text where defined (alpn, port, hints, mandatory), else hex.
fn svc_params(mut b: &[u8], out: &mut String) -> Option<()> {
    while !b.is_empty() {
        let key = u16_at(b, 0)?;
        let len = u16_at(b, 2)? as usize;
        let v = b.get(4..4 + len)?;
        b = &b[4 + len..];
        out.push(' ');
        match key {
            0 => {
                out.push_str("mandatory=");
                if v.len() % 2 != 0 {
                    return None;
                }
                for (i, k) in v.chunks(2).enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    svc_key(u16::from_be_bytes([k[0], k[1]]), out);
                }
            }
            1 => {
                out.push_str("alpn=");
                let mut r = v;
                let mut first = true;
                while let Some((&n, rest)) = r.split_first() {
                    let id = rest.get(..n as usize).filter(|id| !id.is_empty())?;
                    if !first {
                        out.push(',');
                    }
                    first = false;
                    write_strings_raw(id, out);
                    r = &rest[n as usize..];
                }
            }
            2 if v.is_empty() => out.push_str("no-default-alpn"),
            3 => {
                let _ = write!(out, "port={}", u16_at(v, 0).filter(|_| v.len() == 2)?);
            }
            4 | 6 => {
                let w = if key == 4 { 4 } else { 16 };
                if v.is_empty() || v.len() % w != 0 {
                    return None;
                }
                out.push_str(if key == 4 { "ipv4hint=" } else { "ipv6hint=" });
                for (i, a) in v.chunks(w).enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    let _ = match <[u8; 4]>::try_from(a) {
                        Ok(a4) => write!(out, "{}", Ipv4Addr::from(a4)),
                        Err(_) => write!(out, "{}", Ipv6Addr::from(<[u8; 16]>::try_from(a).ok()?)),
                    };
                }
            }
            5 => {
                out.push_str("ech=");
                write_base64(v, out);
            }
            _ => {
                svc_key(key, out);
                out.push('=');
                write_hex(v, out);
            }
        }
    }
    Some(())
}

fn svc_key(k: u16, out: &mut String) {
    let name = match k {
        0 => "mandatory",
        1 => "alpn",
        2 => "no-default-alpn",
        3 => "port",
        4 => "ipv4hint",
        5 => "ech",
        6 => "ipv6hint",
        _ => {
            let _ = write!(out, "key{k}");
            return;
        }
    };
    out.push_str(name);
}

/// Writes bytes escaped like character-string contents (no length byte).
fn write_strings_raw(s: &[u8], out: &mut String) {
    for &c in s {
        match c {
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(c as char),
            _ => {
                let _ = write!(out, "\\{c:03}");
            }
        }
    }
}
