//! The BER/DER reader shared by the decoders of ASN.1 protocols (GSS-API and SPNEGO, LDAP,
//! Kerberos).
//!
//! It reads one element at a time and never recurses on its own: [`tlv`] reads an element whose
//! content is present in full, [`elements`] iterates over the elements of a constructed value,
//! [`Reader`] walks a SEQUENCE field by field. A decoder descends into a structure by calling
//! these again on a content it chose, so the depth is the decoder's code, never the input's.
//! Each length is checked once, against the bytes present, before anything is sliced; a
//! definite length of at most 4 octets is accepted, indefinite lengths (not DER) are refused;
//! nothing allocates.
//!
//! For stream framing (LDAP messages over TCP), [`header`] reads the identifier and length
//! without the content and [`BerFraming`] plugs that into the kit's
//! [`Framer`](super::framer::Framer).
//!
//! ```ignore
//! let (_, msg) = ber::tlv(pdu)?;                  // SEQUENCE
//! let mut r = ber::Reader::new(msg.value);
//! let id = r.expect(0x02)?;                        // INTEGER messageID
//! let op = r.next()?;                              // protocolOp, [APPLICATION n]
//! let controls = r.optional(0xa0);                 // [0] controls, if present
//! ```

use super::framer::{Framing, Head};
use nom::bytes::complete::take;
use nom::number::complete::u8 as byte;
use nom::IResult;

/// One DER element: its identifier octet, its content and what follows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    pub tag: u8,
    pub value: &'a [u8],
}

/// Reads a definite length (short form, or long form of at most 4 octets).
fn length(i: &[u8]) -> IResult<&[u8], usize> {
    let (i, first) = byte(i)?;
    if first < 0x80 {
        return Ok((i, usize::from(first)));
    }
    let n = usize::from(first & 0x7f);
    if n == 0 || n > 4 {
        // Indefinite (0x80) is not DER; more than 4 octets is no length we accept.
        return Err(nom::Err::Error(nom::error::Error::new(
            i,
            nom::error::ErrorKind::LengthValue,
        )));
    }
    let (i, bytes) = take(n)(i)?;
    let len = bytes
        .iter()
        .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
    Ok((i, len))
}

/// Reads one element with a single-octet identifier (tag numbers below 31, which is all that
/// GSS-API, SPNEGO and LDAP's bind use). The content must be present in full.
pub fn tlv(i: &[u8]) -> IResult<&[u8], Tlv<'_>> {
    let (i, tag) = byte(i)?;
    if tag & 0x1f == 0x1f {
        return Err(nom::Err::Error(nom::error::Error::new(
            i,
            nom::error::ErrorKind::Tag,
        )));
    }
    let (i, len) = length(i)?;
    let (i, value) = take(len)(i)?;
    Ok((i, Tlv { tag, value }))
}

/// The header of the element at the start of `i` without requiring its content: the tag, the
/// header's length and the content length (for stream framing: LDAP messages).
pub fn header(i: &[u8]) -> Option<(u8, usize, usize)> {
    let (rest, tag) = byte::<_, nom::error::Error<&[u8]>>(i).ok()?;
    if tag & 0x1f == 0x1f {
        return None;
    }
    match length(rest) {
        Ok((after, len)) => Some((tag, i.len() - after.len(), len)),
        Err(_) => None,
    }
}

/// Whether the header at the start of `i` is incomplete (more bytes may make it readable).
pub fn header_incomplete(i: &[u8]) -> bool {
    match i {
        [] | [_] => true,
        [_, l, rest @ ..] if *l > 0x80 && *l <= 0x84 => rest.len() < usize::from(l & 0x7f),
        _ => false,
    }
}

/// Iterates over the elements of a constructed value; stops (and sets `bad`) at a malformed one.
#[derive(Debug, Clone)]
pub struct Elements<'a> {
    rest: &'a [u8],
    /// An element did not parse.
    pub bad: bool,
}

/// The elements inside a constructed value.
pub fn elements(value: &[u8]) -> Elements<'_> {
    Elements {
        rest: value,
        bad: false,
    }
}

impl<'a> Iterator for Elements<'a> {
    type Item = Tlv<'a>;

    fn next(&mut self) -> Option<Tlv<'a>> {
        if self.rest.is_empty() {
            return None;
        }
        match tlv(self.rest) {
            Ok((rest, t)) => {
                self.rest = rest;
                Some(t)
            }
            Err(_) => {
                self.bad = true;
                self.rest = &[];
                None
            }
        }
    }
}

/// A cursor over the elements of a constructed value, read in order.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    rest: &'a [u8],
}

/// An element that is not there or does not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BerError;

impl<'a> Reader<'a> {
    /// A reader over `value` (the content of a constructed element).
    pub fn new(value: &'a [u8]) -> Self {
        Reader { rest: value }
    }

    /// Whether every element was read.
    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The bytes not read yet.
    pub fn rest(&self) -> &'a [u8] {
        self.rest
    }

    /// The next element, whatever its tag.
    pub fn next_tlv(&mut self) -> Result<Tlv<'a>, BerError> {
        let (rest, t) = tlv(self.rest).map_err(|_| BerError)?;
        self.rest = rest;
        Ok(t)
    }

    /// The next element, which must have identifier `tag`.
    pub fn expect(&mut self, tag: u8) -> Result<Tlv<'a>, BerError> {
        let (rest, t) = tlv(self.rest).map_err(|_| BerError)?;
        if t.tag != tag {
            return Err(BerError);
        }
        self.rest = rest;
        Ok(t)
    }

    /// The next element if it has identifier `tag` (an OPTIONAL field); nothing is consumed
    /// otherwise.
    pub fn optional(&mut self, tag: u8) -> Option<Tlv<'a>> {
        match tlv(self.rest) {
            Ok((rest, t)) if t.tag == tag => {
                self.rest = rest;
                Some(t)
            }
            _ => None,
        }
    }
}

/// The value of a DER INTEGER content of at most 8 octets, two's complement.
pub fn integer(v: &[u8]) -> Option<i64> {
    if v.is_empty() || v.len() > 8 {
        return None;
    }
    let neg = v[0] & 0x80 != 0;
    Some(v.iter().fold(if neg { -1i64 } else { 0 }, |acc, &b| {
        (acc << 8) | i64::from(b)
    }))
}

/// Framing of a stream of BER elements (LDAP over TCP): each PDU is one element whose first
/// octet is `tag`. BER has no marker to resynchronise on: after a bad header the stream stays
/// lost.
#[derive(Debug, Clone, Copy)]
pub struct BerFraming {
    pub tag: u8,
}

impl Framing for BerFraming {
    fn head(&mut self, d: &[u8]) -> Head {
        match d.first() {
            None => return Head::Need(2),
            Some(&t) if t != self.tag => return Head::Bad,
            Some(_) => {}
        }
        match header(d) {
            Some((_, hl, len)) => Head::Len(hl.saturating_add(len)),
            None if header_incomplete(d) => Head::Need(match d.get(1) {
                Some(&l) if l > 0x80 => 2 + usize::from(l & 0x7f),
                _ => 2,
            }),
            None => Head::Bad,
        }
    }

    fn probe(&mut self, _d: &[u8]) -> bool {
        false
    }
}
