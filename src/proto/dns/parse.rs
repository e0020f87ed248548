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
        // Sized once: the text's length is counted first (a walk of the labels is cheaper
        // than a string grown on the way).
        let mut len = 0;
        let _ = walk(self.msg, self.off, |l| {
            len += 1 + l
                .iter()
                .map(|&c| match c {
                    b'.' | b'\\' => 2,
                    0x21..=0x7e => 1,
                    _ => 4,
                })
                .sum::<usize>();
        });
        let mut s = String::with_capacity(len.max(1));
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

mod names;
mod rdata;

pub use names::{class_name, opcode_name, rcode_name, type_name};
pub use rdata::{generic_rdata, type_text, write_rdata};

#[cfg(test)]
pub(crate) mod lab;

#[cfg(test)]
mod tests;
