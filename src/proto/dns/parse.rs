//! Pure DNS message parsers (RFC 1035, 2136, 3597, 6891) over `&[u8]`, with no state and no
//! allocation: [`parse_message`] checks the whole message (header, questions, every resource
//! record's framing, names with their compression pointers, the EDNS OPT record) and returns a
//! [`Message`] of borrowed views. Text is only produced on request ([`Name::write`],
//! [`write_rdata`]) when a record is built.
//!
//! Names are hostile input: a name is followed through at most [`MAX_POINTERS`] compression
//! pointers and at most [`MAX_NAME_LEN`] bytes of labels, so a pointer loop (or a pointer to
//! itself) ends in an error instead of a hang. Forward pointers are accepted (some stacks emit
//! them and other tools read them); the bounds above make them harmless.

use nom::bytes::complete::take;
use nom::number::complete::{be_u16, be_u32};
use nom::IResult;
use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Result of a parser over a DNS message.
pub type PResult<'a, T> = IResult<&'a [u8], T>;

/// Most compression pointers followed in one name.
pub const MAX_POINTERS: usize = 64;
/// Longest name on the wire (RFC 1035 3.1), labels and their length bytes included.
pub const MAX_NAME_LEN: usize = 255;
/// Length of the fixed header.
pub const HEADER_LEN: usize = 12;
/// Rdata bytes rendered as hex in the RFC 3597 fallback; longer rdata is cut and marked `...`.
pub const MAX_HEX_RDATA: usize = 128;

/// Why a message could not be parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DnsError {
    /// Shorter than the 12-byte header.
    Short,
    /// The first question is cut short or its name is malformed.
    Question,
}

/// The fixed 12-byte header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub id: u16,
    pub flags: u16,
    pub qdcount: u16,
    pub ancount: u16,
    pub nscount: u16,
    pub arcount: u16,
}

impl Header {
    /// QR: a response.
    pub fn is_response(&self) -> bool {
        self.flags & 0x8000 != 0
    }
    /// The 4-bit opcode.
    pub fn opcode(&self) -> u8 {
        ((self.flags >> 11) & 0xf) as u8
    }
    /// Authoritative answer.
    pub fn aa(&self) -> bool {
        self.flags & 0x0400 != 0
    }
    /// Truncated.
    pub fn tc(&self) -> bool {
        self.flags & 0x0200 != 0
    }
    /// Recursion desired.
    pub fn rd(&self) -> bool {
        self.flags & 0x0100 != 0
    }
    /// Recursion available.
    pub fn ra(&self) -> bool {
        self.flags & 0x0080 != 0
    }
    /// The 4-bit response code of the header (without the EDNS extension).
    pub fn rcode(&self) -> u8 {
        (self.flags & 0xf) as u8
    }
}

/// Parses the fixed header.
pub fn header(i: &[u8]) -> PResult<'_, Header> {
    let (i, id) = be_u16(i)?;
    let (i, flags) = be_u16(i)?;
    let (i, qdcount) = be_u16(i)?;
    let (i, ancount) = be_u16(i)?;
    let (i, nscount) = be_u16(i)?;
    let (i, arcount) = be_u16(i)?;
    Ok((
        i,
        Header {
            id,
            flags,
            qdcount,
            ancount,
            nscount,
            arcount,
        },
    ))
}

/// A domain name inside a message: where it starts. Validated when parsed; rendered on demand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Name<'a> {
    msg: &'a [u8],
    off: usize,
}

/// Walks the name at `off` in `msg`, calling `label` for each label in order. Returns the offset
/// just after the name's in-place part (its last label, terminating zero or first pointer).
fn walk<'a>(msg: &'a [u8], off: usize, mut label: impl FnMut(&'a [u8])) -> Option<usize> {
    let mut pos = off;
    let mut end = None;
    let mut pointers = 0;
    let mut len = 1; // the root's zero byte
    loop {
        let b = *msg.get(pos)?;
        match b & 0xc0 {
            0x00 => {
                if b == 0 {
                    return Some(end.unwrap_or(pos + 1));
                }
                let n = b as usize;
                len += n + 1;
                if len > MAX_NAME_LEN {
                    return None;
                }
                label(msg.get(pos + 1..pos + 1 + n)?);
                pos += 1 + n;
            }
            0xc0 => {
                let lo = *msg.get(pos + 1)?;
                pointers += 1;
                if pointers > MAX_POINTERS {
                    return None;
                }
                if end.is_none() {
                    end = Some(pos + 2);
                }
                pos = (((b & 0x3f) as usize) << 8) | lo as usize;
            }
            // 0x40 (extended label types, RFC 6891 deprecated them) and 0x80 (reserved).
            _ => return None,
        }
    }
}

impl<'a> Name<'a> {
    /// Whether this is the root (no labels).
    pub fn is_root(&self) -> bool {
        self.msg.get(self.off) == Some(&0)
    }

    /// Appends the name in presentation form without the trailing dot (`.` for the root).
    /// Bytes outside printable ASCII, and space, are written as `\DDD`; `.` and `\` inside a
    /// label are escaped with `\`. The case is kept as on the wire.
    pub fn write(&self, out: &mut String) {
        let start = out.len();
        let mut first = true;
        // Validated when parsed: cannot fail here, and a failure would only cut the text.
        let _ = walk(self.msg, self.off, |l| {
            if !first {
                out.push('.');
            }
            first = false;
            write_label(l, out);
        });
        if out.len() == start {
            out.push('.');
        }
    }

    /// The name as a new string (see [`Name::write`]).
    pub fn to_text(&self) -> String {
        let mut s = String::with_capacity(32);
        self.write(&mut s);
        s
    }
}

fn write_label(l: &[u8], out: &mut String) {
    for &c in l {
        match c {
            b'.' | b'\\' => {
                out.push('\\');
                out.push(c as char);
            }
            0x21..=0x7e => out.push(c as char),
            _ => {
                let _ = write!(out, "\\{c:03}");
            }
        }
    }
}

/// Parses a (possibly compressed) name at the start of `i`, a suffix of `msg`.
pub fn name<'a>(msg: &'a [u8], i: &'a [u8]) -> PResult<'a, Name<'a>> {
    let off = msg.len().saturating_sub(i.len());
    match walk(msg, off, |_| {}) {
        Some(end) => Ok((msg.get(end..).unwrap_or_default(), Name { msg, off })),
        None => Err(nom::Err::Error(nom::error::Error::new(
            i,
            nom::error::ErrorKind::Verify,
        ))),
    }
}

/// One question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Question<'a> {
    pub name: Name<'a>,
    pub qtype: u16,
    pub qclass: u16,
}

/// Parses one question.
pub fn question<'a>(msg: &'a [u8], i: &'a [u8]) -> PResult<'a, Question<'a>> {
    let (i, name) = name(msg, i)?;
    let (i, qtype) = be_u16(i)?;
    let (i, qclass) = be_u16(i)?;
    Ok((
        i,
        Question {
            name,
            qtype,
            qclass,
        },
    ))
}

/// One resource record, its rdata borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rr<'a> {
    pub name: Name<'a>,
    pub rtype: u16,
    pub class: u16,
    pub ttl: u32,
    pub rdata: &'a [u8],
    /// Offset of the rdata in the message (names inside rdata may point anywhere before).
    pub rdata_off: usize,
}

/// Parses one resource record.
pub fn rr<'a>(msg: &'a [u8], i: &'a [u8]) -> PResult<'a, Rr<'a>> {
    let (i, name) = name(msg, i)?;
    let (i, rtype) = be_u16(i)?;
    let (i, class) = be_u16(i)?;
    let (i, ttl) = be_u32(i)?;
    let (i, rdlen) = be_u16(i)?;
    let rdata_off = msg.len().saturating_sub(i.len());
    let (i, rdata) = take(rdlen)(i)?;
    Ok((
        i,
        Rr {
            name,
            rtype,
            class,
            ttl,
            rdata,
            rdata_off,
        },
    ))
}

/// The records of one section that parsed: where they start and how many.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Section {
    pub off: usize,
    pub count: u16,
}

/// The EDNS OPT pseudo-record (RFC 6891).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opt {
    pub udp_size: u16,
    /// Upper 8 bits of the 12-bit extended response code.
    pub ext_rcode: u8,
    pub version: u8,
    pub flags: u16,
}

/// A parsed message: the header, the first question and the record sections, all borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message<'a> {
    pub msg: &'a [u8],
    pub header: Header,
    /// The first question (a message may carry none).
    pub question: Option<Question<'a>>,
    pub answers: Section,
    pub authority: Section,
    pub additional: Section,
    pub opt: Option<Opt>,
    /// Some records declared in the header were missing or malformed (the sections hold the
    /// ones before the first bad one).
    pub incomplete: bool,
}

impl<'a> Message<'a> {
    /// The records of a section.
    pub fn records(&self, s: Section) -> Rrs<'a> {
        Rrs {
            msg: self.msg,
            pos: s.off,
            left: s.count,
        }
    }

    /// The response code, extended by the OPT record when there is one (12 bits).
    pub fn rcode(&self) -> u16 {
        let ext = self.opt.map_or(0, |o| o.ext_rcode as u16);
        (ext << 4) | self.header.rcode() as u16
    }
}

/// Iterator over the records of a section (already checked by [`parse_message`]).
#[derive(Debug, Clone)]
pub struct Rrs<'a> {
    msg: &'a [u8],
    pos: usize,
    left: u16,
}

impl<'a> Iterator for Rrs<'a> {
    type Item = Rr<'a>;
    fn next(&mut self) -> Option<Rr<'a>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let i = self.msg.get(self.pos..)?;
        let (rest, r) = rr(self.msg, i).ok()?;
        self.pos = self.msg.len() - rest.len();
        Some(r)
    }
}

/// Parses `count` records from `pos`; returns the section and the offset after it, or the
/// records before the first bad one and `None`.
fn section(msg: &[u8], pos: usize, count: u16, opt: &mut Option<Opt>) -> (Section, Option<usize>) {
    let mut s = Section { off: pos, count: 0 };
    let mut i = match msg.get(pos..) {
        Some(i) => i,
        None => return (s, None),
    };
    for _ in 0..count {
        match rr(msg, i) {
            Ok((rest, r)) => {
                if r.rtype == 41 && opt.is_none() {
                    *opt = Some(Opt {
                        udp_size: r.class,
                        ext_rcode: (r.ttl >> 24) as u8,
                        version: (r.ttl >> 16) as u8,
                        flags: r.ttl as u16,
                    });
                }
                s.count += 1;
                i = rest;
            }
            Err(_) => return (s, None),
        }
    }
    (s, Some(msg.len() - i.len()))
}

/// Parses a whole message. The header and the first question must be sound; records that
/// follow a malformed one are left out and flagged with [`Message::incomplete`].
pub fn parse_message(msg: &[u8]) -> Result<Message<'_>, DnsError> {
    let (mut i, header) = header(msg).map_err(|_| DnsError::Short)?;
    let mut q = None;
    let mut incomplete = false;
    for n in 0..header.qdcount {
        match question(msg, i) {
            Ok((rest, qq)) => {
                if n == 0 {
                    q = Some(qq);
                }
                i = rest;
            }
            Err(_) if n == 0 => return Err(DnsError::Question),
            Err(_) => {
                incomplete = true;
                break;
            }
        }
    }
    let mut opt = None;
    let empty = Section {
        off: msg.len(),
        count: 0,
    };
    let (mut answers, mut authority, mut additional) = (empty, empty, empty);
    if !incomplete {
        let pos = msg.len() - i.len();
        let (s, next) = section(msg, pos, header.ancount, &mut opt);
        answers = s;
        match next {
            None => incomplete = true,
            Some(pos) => {
                let (s, next) = section(msg, pos, header.nscount, &mut opt);
                authority = s;
                match next {
                    None => incomplete = true,
                    Some(pos) => {
                        let (s, next) = section(msg, pos, header.arcount, &mut opt);
                        additional = s;
                        incomplete = next.is_none();
                    }
                }
            }
        }
    }
    Ok(Message {
        msg,
        header,
        question: q,
        answers,
        authority,
        additional,
        opt,
        incomplete,
    })
}

/// Reads a name inside rdata at `off`; returns it and the offset after it.
pub(super) fn rdata_name<'a>(msg: &'a [u8], off: usize) -> Option<(Name<'a>, usize)> {
    let end = walk(msg, off, |_| {})?;
    Some((Name { msg, off }, end))
}

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

/// Name of an opcode.
pub fn opcode_name(v: u8) -> Option<&'static str> {
    Some(match v {
        0 => "QUERY",
        1 => "IQUERY",
        2 => "STATUS",
        4 => "NOTIFY",
        5 => "UPDATE",
        6 => "DSO",
        _ => return None,
    })
}

/// Name of a (possibly EDNS-extended) response code.
pub fn rcode_name(v: u16) -> Option<&'static str> {
    Some(match v {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        11 => "DSOTYPENI",
        16 => "BADVERS",
        17 => "BADKEY",
        18 => "BADTIME",
        19 => "BADMODE",
        20 => "BADNAME",
        21 => "BADALG",
        22 => "BADTRUNC",
        23 => "BADCOOKIE",
        _ => return None,
    })
}

/// Name of a class.
pub fn class_name(v: u16) -> Option<&'static str> {
    Some(match v {
        1 => "IN",
        3 => "CH",
        4 => "HS",
        254 => "NONE",
        255 => "ANY",
        _ => return None,
    })
}

/// Name of a record type (or query type).
pub fn type_name(v: u16) -> Option<&'static str> {
    Some(match v {
        1 => "A",
        2 => "NS",
        3 => "MD",
        4 => "MF",
        5 => "CNAME",
        6 => "SOA",
        7 => "MB",
        8 => "MG",
        9 => "MR",
        10 => "NULL",
        11 => "WKS",
        12 => "PTR",
        13 => "HINFO",
        14 => "MINFO",
        15 => "MX",
        16 => "TXT",
        17 => "RP",
        18 => "AFSDB",
        19 => "X25",
        20 => "ISDN",
        21 => "RT",
        22 => "NSAP",
        23 => "NSAP-PTR",
        24 => "SIG",
        25 => "KEY",
        26 => "PX",
        27 => "GPOS",
        28 => "AAAA",
        29 => "LOC",
        30 => "NXT",
        31 => "EID",
        32 => "NIMLOC",
        33 => "SRV",
        34 => "ATMA",
        35 => "NAPTR",
        36 => "KX",
        37 => "CERT",
        38 => "A6",
        39 => "DNAME",
        40 => "SINK",
        41 => "OPT",
        42 => "APL",
        43 => "DS",
        44 => "SSHFP",
        45 => "IPSECKEY",
        46 => "RRSIG",
        47 => "NSEC",
        48 => "DNSKEY",
        49 => "DHCID",
        50 => "NSEC3",
        51 => "NSEC3PARAM",
        52 => "TLSA",
        53 => "SMIMEA",
        55 => "HIP",
        56 => "NINFO",
        57 => "RKEY",
        58 => "TALINK",
        59 => "CDS",
        60 => "CDNSKEY",
        61 => "OPENPGPKEY",
        62 => "CSYNC",
        63 => "ZONEMD",
        64 => "SVCB",
        65 => "HTTPS",
        99 => "SPF",
        104 => "NID",
        105 => "L32",
        106 => "L64",
        107 => "LP",
        108 => "EUI48",
        109 => "EUI64",
        249 => "TKEY",
        250 => "TSIG",
        251 => "IXFR",
        252 => "AXFR",
        253 => "MAILB",
        254 => "MAILA",
        255 => "ANY",
        256 => "URI",
        257 => "CAA",
        258 => "AVC",
        259 => "DOA",
        260 => "AMTRELAY",
        32768 => "TA",
        32769 => "DLV",
        65281 => "WINS",
        65282 => "WINS-R",
        _ => return None,
    })
}

/// Real messages from the project's lab captures, and a builder for hostile or missing cases.
#[cfg(test)]
pub(crate) mod lab {
    /// Decodes hex.
    pub fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// `05_benign_dns.pcap`: (epoch ns, client port or 53, udp payload) of all 28 frames.
    pub const BENIGN: &[(u64, &str)] = &[
        (1795886857136281000, "f1380120000100000000000103646331036c6162076578616d706c65000001000100002904d000000000000c000a0008e4c0d322d393a43f"),
        (1795886857136712000, "f1388520000100010001000003646331036c6162076578616d706c650000010001c00c000100010000038400040a630001c0100006000100000e100023c00c0a686f73746d6173746572c0100000000200000384000002580001518000000e10"),
        (1795886857137027000, "85cc01200001000000000001055f6c646170045f746370036c6162076578616d706c65000021000100002904d000000000000c000a0008e4c0d322d393a43f"),
        (1795886857137209000, "85cc85200001000100010000055f6c646170045f746370036c6162076578616d706c650000210001c00c0021000100000384000c00000064018503646331c017c0170006000100000e100023c03a0a686f73746d6173746572c0170000000200000384000002580001518000000e10"),
        (1795886857137296000, "c55401200001000000000001095f6b65726265726f73045f746370036c6162076578616d706c65000021000100002904d000000000000c000a0008e4c0d322d393a43f"),
        (1795886857137478000, "c55485200001000100010000095f6b65726265726f73045f746370036c6162076578616d706c650000210001c00c0021000100000384000c00000064005803646331c01bc01b0006000100000e100023c03e0a686f73746d6173746572c01b0000000200000384000002580001518000000e10"),
        (1795886857137683000, "b08a01200001000000000001095f6b65726265726f73045f756470036c6162076578616d706c65000021000100002904d000000000000c000a0008e4c0d322d393a43f"),
        (1795886857137854000, "b08a85200001000100010000095f6b65726265726f73045f756470036c6162076578616d706c650000210001c00c0021000100000384000c00000064005803646331c01bc01b0006000100000e100023c03e0a686f73746d6173746572c01b0000000200000384000002580001518000000e10"),
        (1795886857138019000, "958d01200001000000000001085f6b706173737764045f746370036c6162076578616d706c65000021000100002904d000000000000c000a0008e4c0d322d393a43f"),
        (1795886857138187000, "958d85200001000100010000085f6b706173737764045f746370036c6162076578616d706c650000210001c00c0021000100000384000c0000006401d003646331c01ac01a0006000100000e100023c03d0a686f73746d6173746572c01a0000000200000384000002580001518000000e10"),
        (1795886857138270000, "3ad501200001000000000001035f6763045f746370036c6162076578616d706c65000021000100002904d000000000000c000a0008e4c0d322d393a43f"),
        (1795886857138437000, "3ad585200001000100010000035f6763045f746370036c6162076578616d706c650000210001c00c0021000100000384000c000000640cc403646331c015c0150006000100000e100023c0380a686f73746d6173746572c0150000000200000384000002580001518000000e10"),
        (1795886857138531000, "eeda01200001000000000001055f6c646170045f746370026463065f6d73646373036c6162076578616d706c65000021000100002904d000000000000c000a0008e4c0d322d393a43f"),
        (1795886857138702000, "eeda85200001000100010000055f6c646170045f746370026463065f6d73646373036c6162076578616d706c650000210001c00c0021000100000384000c00000064018503646331c021c01a0006000100000e100023c0440a686f73746d6173746572c0210000000100000384000002580001518000000e10"),
        (1795886857138877000, "625e01200001000000000001055f6c646170045f7463701744656661756c742d46697273742d536974652d4e616d65065f7369746573026463065f6d73646373036c6162076578616d706c65000021000100002904d000000000000c000a0008e4c0d322d393a43f"),
        (1795886857139047000, "625e85200001000100010000055f6c646170045f7463701744656661756c742d46697273742d536974652d4e616d65065f7369746573026463065f6d73646373036c6162076578616d706c650000210001c00c0021000100000384000c00000064018503646331c040c0390006000100000e100023c0630a686f73746d6173746572c0400000000100000384000002580001518000000e10"),
        (1795886857139133000, "803c01200001000000000001036c6162076578616d706c65000006000100002904d000000000000c000a0008e4c0d322d393a43f"),
        (1795886857139379000, "803c85200001000100010000036c6162076578616d706c650000060001c00c0006000100000e10002703646331c00c0a686f73746d6173746572c00c0000000200000384000002580001518000000e10c00c0006000100000e100018c029c02f0000000200000384000002580001518000000e10"),
        (1795886857139465000, "6edb01200001000000000001036c6162076578616d706c65000001000100002904d000000000000c000a0008e4c0d322d393a43f"),
        (1795886857139678000, "6edb85200001000100010000036c6162076578616d706c650000010001c00c000100010000038400040a630001c00c0006000100000e10002703646331c00c0a686f73746d6173746572c00c0000000200000384000002580001518000000e10"),
        (1795886857139869000, "3e74012000010000000000010477733031036c6162076578616d706c65000001000100002904d000000000000c000a0008e4c0d322d393a43f"),
        (1795886857140040000, "3e74852000010001000100000477733031036c6162076578616d706c650000010001c00c000100010000038400040a630002c0110006000100000e10002703646331c0110a686f73746d6173746572c0110000000200000384000002580001518000000e10"),
        (1795886857140179000, "9a96012000010000000000010131013002393902313007696e2d61646472046172706100000c000100002904d000000000000c000a0008e4c0d322d393a43f"),
        (1795886857140345000, "9a96852000010001000100000131013002393902313007696e2d61646472046172706100000c0001c00c000c000100000384001103646331036c6162076578616d706c6500c00e0006000100000e100023c0340a686f73746d6173746572c0380000000300000384000002580001518000000e10"),
        (1795886857140432000, "db70012000010000000000010132013002393902313007696e2d61646472046172706100000c000100002904d000000000000c000a0008e4c0d322d393a43f"),
        (1795886857140598000, "db70852000010001000100000132013002393902313007696e2d61646472046172706100000c0001c00c000c00010000038400120477733031036c6162076578616d706c6500c00e0006000100000e10002703646331c0390a686f73746d6173746572c0390000000300000384000002580001518000000e10"),
        (1795886857140773000, "bfee012000010000000000010477706164036c6162076578616d706c65000001000100002904d000000000000c000a0008e4c0d322d393a43f"),
        (1795886857140990000, "bfee852300010000000100000477706164036c6162076578616d706c650000010001c0110006000100000e10002703646331c0110a686f73746d6173746572c0110000000200000384000002580001518000000e10"),
    ];

    /// `07_dns_many_lookups.pcap`, frames 1 and 2: an A query and its NXDOMAIN.
    pub const NX: [(u64, &str); 2] = [
        (1795886859916242000, "b9c70120000100000000000108686f73742d303031036c6162076578616d706c65000001000100002904d000000000000c000a0008b87903e3f673d40b"),
        (1795886859916712000, "b9c78523000100000001000008686f73742d303031036c6162076578616d706c650000010001c0150006000100000e10002703646331c0150a686f73746d6173746572c0150000000200000384000002580001518000000e10"),
    ];

    /// `06_dns_zone_transfer.pcap`, frames 4 and 6: an AXFR over TCP (length prefix included),
    /// refused the BIND way (no answers, the SOA in the authority section).
    pub const AXFR_TCP: [(u64, &str); 2] = [
        (1795886858295888000, "0034cb4400200001000000000001036c6162076578616d706c650000fc000100002904d000000000000c000a00089401d23fbc2e80d3"),
        (1795886858296432000, "0050cb4484200001000000010000036c6162076578616d706c650000fc0001c00c0006000100000e10002703646331c00c0a686f73746d6173746572c00c0000000200000384000002580001518000000e10"),
    ];

    /// Encodes a name without compression.
    pub fn name(out: &mut Vec<u8>, n: &str) {
        for l in n.split('.').filter(|l| !l.is_empty()) {
            out.push(l.len() as u8);
            out.extend_from_slice(l.as_bytes());
        }
        out.push(0);
    }

    /// A resource record for [`msg`]: name, type, class, ttl, rdata.
    pub type Rec<'a> = (&'a str, u16, u16, u32, Vec<u8>);

    /// Builds a message without compression.
    pub fn msg(
        id: u16,
        flags: u16,
        q: Option<(&str, u16)>,
        an: &[Rec<'_>],
        ns: &[Rec<'_>],
    ) -> Vec<u8> {
        let mut m = Vec::new();
        for v in [
            id,
            flags,
            q.is_some() as u16,
            an.len() as u16,
            ns.len() as u16,
            0,
        ] {
            m.extend_from_slice(&v.to_be_bytes());
        }
        if let Some((n, t)) = q {
            name(&mut m, n);
            m.extend_from_slice(&t.to_be_bytes());
            m.extend_from_slice(&1u16.to_be_bytes());
        }
        for (n, t, c, ttl, rd) in an.iter().chain(ns) {
            name(&mut m, n);
            m.extend_from_slice(&t.to_be_bytes());
            m.extend_from_slice(&c.to_be_bytes());
            m.extend_from_slice(&ttl.to_be_bytes());
            m.extend_from_slice(&(rd.len() as u16).to_be_bytes());
            m.extend_from_slice(rd);
        }
        m
    }

    /// SOA rdata, uncompressed.
    pub fn soa(mname: &str, rname: &str, serial: u32) -> Vec<u8> {
        let mut v = Vec::new();
        name(&mut v, mname);
        name(&mut v, rname);
        for x in [serial, 900, 600, 86400, 3600] {
            v.extend_from_slice(&x.to_be_bytes());
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::lab::{self, hex, msg, BENIGN, NX};
    use super::*;

    fn answers(m: &Message<'_>, s: Section) -> Vec<(String, String, u32)> {
        m.records(s)
            .map(|r| {
                let mut d = String::new();
                write_rdata(m.msg, &r, &mut d);
                (r.name.to_text(), d, r.ttl)
            })
            .collect()
    }

    #[test]
    fn srv_response_from_the_lab() {
        let b = hex(BENIGN[3].1);
        let m = parse_message(&b).unwrap();
        assert_eq!(m.header.id, 0x85cc);
        assert!(
            m.header.is_response()
                && m.header.aa()
                && m.header.rd()
                && !m.header.ra()
                && !m.header.tc()
        );
        assert_eq!(m.header.opcode(), 0);
        assert_eq!(m.rcode(), 0);
        let q = m.question.unwrap();
        assert_eq!(
            (q.name.to_text().as_str(), q.qtype, q.qclass),
            ("_ldap._tcp.lab.example", 33, 1)
        );
        assert_eq!(
            answers(&m, m.answers),
            vec![(
                "_ldap._tcp.lab.example".into(),
                "0 100 389 dc1.lab.example".into(),
                900
            )]
        );
        assert_eq!(
            answers(&m, m.authority),
            vec![(
                "lab.example".into(),
                "dc1.lab.example hostmaster.lab.example 2 900 600 86400 3600".into(),
                3600
            )]
        );
        assert_eq!((m.additional.count, m.opt, m.incomplete), (0, None, false));
    }

    #[test]
    fn query_with_edns_cookie() {
        let b = hex(BENIGN[0].1);
        let m = parse_message(&b).unwrap();
        assert!(!m.header.is_response());
        assert_eq!(m.question.unwrap().name.to_text(), "dc1.lab.example");
        assert_eq!(
            m.opt,
            Some(Opt {
                udp_size: 1232,
                ext_rcode: 0,
                version: 0,
                flags: 0
            })
        );
        assert_eq!(
            (m.answers.count, m.authority.count, m.additional.count),
            (0, 0, 1)
        );
    }

    #[test]
    fn soa_ptr_a_and_nxdomain_from_the_lab() {
        let b = hex(BENIGN[17].1);
        let m = parse_message(&b).unwrap();
        let soa = "dc1.lab.example hostmaster.lab.example 2 900 600 86400 3600".to_string();
        assert_eq!(
            answers(&m, m.answers),
            vec![("lab.example".into(), soa.clone(), 3600)]
        );
        // The authority SOA of that message is all pointers into the answer.
        assert_eq!(
            answers(&m, m.authority),
            vec![("lab.example".into(), soa, 3600)]
        );
        let b = hex(BENIGN[25].1);
        let m = parse_message(&b).unwrap();
        assert_eq!(
            answers(&m, m.answers),
            vec![(
                "2.0.99.10.in-addr.arpa".into(),
                "ws01.lab.example".into(),
                900
            )]
        );
        let b = hex(BENIGN[21].1);
        let m = parse_message(&b).unwrap();
        assert_eq!(
            answers(&m, m.answers),
            vec![("ws01.lab.example".into(), "10.99.0.2".into(), 900)]
        );
        let b = hex(NX[1].1);
        let m = parse_message(&b).unwrap();
        assert_eq!((m.rcode(), m.answers.count, m.authority.count), (3, 0, 1));
    }

    #[test]
    fn every_truncation_of_a_real_response_is_an_error_or_incomplete() {
        let b = hex(BENIGN[3].1);
        for n in 0..b.len() {
            match parse_message(&b[..n]) {
                Err(DnsError::Short) => assert!(n < 12, "{n}"),
                // The question ends at byte 40.
                Err(DnsError::Question) => assert!((12..40).contains(&n), "{n}"),
                Ok(m) => {
                    assert!(n >= 40, "{n}");
                    assert!(m.incomplete, "{n}");
                }
            }
        }
        assert!(!parse_message(&b).unwrap().incomplete);
    }

    fn with_question_bytes(qname: &[u8]) -> Vec<u8> {
        let mut m = hex("123401000001000000000000");
        m.extend_from_slice(qname);
        m.extend_from_slice(&[0, 1, 0, 1]);
        m
    }

    #[test]
    fn compression_loops_are_errors() {
        // A pointer to itself (offset 12).
        assert_eq!(
            parse_message(&with_question_bytes(&[0xc0, 12])),
            Err(DnsError::Question)
        );
        // Two pointers to each other.
        assert_eq!(
            parse_message(&with_question_bytes(&[0xc0, 14, 0xc0, 12])),
            Err(DnsError::Question)
        );
        // A label then a pointer back to it: `a.a.a...` for ever.
        assert_eq!(
            parse_message(&with_question_bytes(&[1, b'a', 0xc0, 12])),
            Err(DnsError::Question)
        );
        // A pointer out of the message, a reserved label type.
        assert_eq!(
            parse_message(&with_question_bytes(&[0xc3, 0xff])),
            Err(DnsError::Question)
        );
        assert_eq!(
            parse_message(&with_question_bytes(&[0x41, b'a', 0])),
            Err(DnsError::Question)
        );
        // A loop in an answer's name leaves the message incomplete, not lost.
        let mut b = hex(BENIGN[1].1);
        let at = 33; // the answer's name: c00c
        assert_eq!(&b[at..at + 2], &[0xc0, 0x0c]);
        b[at + 1] = at as u8;
        let m = parse_message(&b).unwrap();
        assert!(m.incomplete);
        assert_eq!((m.answers.count, m.authority.count), (0, 0));
    }

    #[test]
    fn forward_pointers_and_chains_within_bounds() {
        // The question name points forward to `x.example` stored after it.
        let mut m = hex("123401000001000000000000");
        m.extend_from_slice(&[0xc0, 18, 0, 1, 0, 1]);
        lab::name(&mut m, "x.example");
        assert_eq!(
            parse_message(&m).unwrap().question.unwrap().name.to_text(),
            "x.example"
        );
        // 64 chained pointers are followed, 65 are not.
        for (hops, ok) in [(MAX_POINTERS, true), (MAX_POINTERS + 1, false)] {
            let mut m = hex("123401000001000000000000");
            let base = 12 + 2 * hops + 4;
            for k in 0..hops {
                let to = if k + 1 == hops {
                    base
                } else {
                    12 + 2 * (k + 1)
                };
                m.extend_from_slice(&[0xc0 | (to >> 8) as u8, to as u8]);
            }
            m.extend_from_slice(&[0, 1, 0, 1]);
            lab::name(&mut m, "deep");
            assert_eq!(parse_message(&m).is_ok(), ok, "{hops}");
        }
    }

    #[test]
    fn name_length_and_text_escapes() {
        // 127 one-byte labels: 255 bytes on the wire, the longest allowed; one more is too long.
        for (labels, ok) in [(127, true), (128, false)] {
            let mut q = Vec::new();
            for _ in 0..labels {
                q.extend_from_slice(&[1, b'z']);
            }
            q.push(0);
            assert_eq!(
                parse_message(&with_question_bytes(&q)).is_ok(),
                ok,
                "{labels}"
            );
        }
        let m = with_question_bytes(b"\x05a.b c\x03Ex\xff\x00");
        assert_eq!(
            parse_message(&m).unwrap().question.unwrap().name.to_text(),
            "a\\.b\\032c.Ex\\255"
        );
        let m = with_question_bytes(&[0]);
        let q = parse_message(&m).unwrap().question.unwrap();
        assert!(q.name.is_root());
        assert_eq!(q.name.to_text(), ".");
    }

    #[test]
    fn extended_rcode_and_rdata_fallbacks() {
        let mut b = msg(
            7,
            0x8000,
            Some(("example", 1)),
            &[
                ("example", 1, 1, 60, vec![10, 0, 0, 1, 9]),
                ("example", 4242, 1, 60, vec![1, 2, 3]),
                (
                    "example",
                    16,
                    1,
                    60,
                    b"\x06v=spf1\x05 -all\x02\\\x01".to_vec(),
                ),
                (
                    "example",
                    15,
                    1,
                    60,
                    [&[0, 10][..], b"\x02mx\x07example\x00"].concat(),
                ),
                ("example", 257, 1, 60, b"\x00\x05issueca.example".to_vec()),
            ],
            &[],
        );
        // An OPT record with extended rcode 1 in the additional section.
        b[11] = 1;
        b.extend_from_slice(&[0, 0, 41, 16, 0, 1, 0, 0, 0, 0, 0]);
        let m = parse_message(&b).unwrap();
        assert_eq!(m.rcode(), 16);
        assert_eq!(rcode_name(m.rcode()), Some("BADVERS"));
        let a: Vec<String> = answers(&m, m.answers).into_iter().map(|x| x.1).collect();
        assert_eq!(
            a,
            [
                "\\# 5 0a00000109",
                "\\# 3 010203",
                "v=spf1 -all\\\\\\001",
                "10 mx.example",
                "0 issue ca.example"
            ]
        );
        let mut s = String::new();
        generic_rdata(&[0xab; MAX_HEX_RDATA + 1], &mut s);
        assert_eq!(s.len(), "\\# 129 ".len() + 2 * MAX_HEX_RDATA + 3);
        assert!(s.ends_with("ab..."));
    }

    #[test]
    fn dnssec_and_svcb_rdata_as_text() {
        let mut rrsig = vec![
            0, 1, 5, 4, 0, 0, 0, 30, 0x5b, 0x84, 0xfa, 0x51, 0x5b, 0x5d, 0x5f, 0xd0, 0xc5, 0x2b,
        ];
        lab::name(&mut rrsig, "upenn.edu");
        rrsig.extend_from_slice(&[0xaa; 40]);
        // NSEC: next name, then window 0 with A, NS, RRSIG (46), NSEC (47); window 1 with CAA (257).
        let mut nsec = Vec::new();
        lab::name(&mut nsec, "b.example");
        nsec.extend_from_slice(&[0, 6, 0x60, 0, 0, 0, 0, 3, 1, 1, 0x40]);
        let dnskey = vec![1, 1, 3, 8, b'a', b'b', b'c', b'd'];
        let mut https = vec![0, 1, 0];
        https.extend_from_slice(&[0, 1, 0, 6, 2, b'h', b'2', 2, b'h', b'3']);
        https.extend_from_slice(&[
            0, 3, 0, 2, 1, 187, 0, 4, 0, 8, 104, 16, 132, 229, 104, 16, 133, 229,
        ]);
        https.extend_from_slice(&[0, 9, 0, 2, 0xbe, 0xef]);
        let bad_https = vec![0, 1, 0, 0, 3, 0, 3, 0, 0, 0];
        let b = msg(
            7,
            0x8000,
            Some(("example", 1)),
            &[
                ("example", 46, 1, 60, rrsig),
                ("example", 47, 1, 60, nsec),
                ("example", 48, 1, 60, dnskey),
                ("example", 65, 1, 60, https),
                ("example", 65, 1, 60, bad_https),
            ],
            &[],
        );
        let m = parse_message(&b).unwrap();
        let a: Vec<String> = answers(&m, m.answers).into_iter().map(|x| x.1).collect();
        assert_eq!(
            a,
            [
                "A 5 4 30 1535441489 1532846032 50475 upenn.edu",
                "b.example A NS RRSIG NSEC CAA",
                "257 3 8 YWJjZA==",
                "1 . alpn=h2,h3 port=443 ipv4hint=104.16.132.229,104.16.133.229 key9=beef",
                "\\# 10 00010000030003000000",
            ]
        );
    }

    #[test]
    fn names_of_codes() {
        assert_eq!(
            (
                type_name(33),
                type_name(252),
                type_name(65),
                type_name(3000)
            ),
            (Some("SRV"), Some("AXFR"), Some("HTTPS"), None)
        );
        assert_eq!(
            (opcode_name(4), opcode_name(5), opcode_name(3)),
            (Some("NOTIFY"), Some("UPDATE"), None)
        );
        assert_eq!(
            (rcode_name(3), rcode_name(10), rcode_name(12)),
            (Some("NXDOMAIN"), Some("NOTZONE"), None)
        );
        assert_eq!(
            (class_name(1), class_name(255), class_name(2)),
            (Some("IN"), Some("ANY"), None)
        );
    }
}
