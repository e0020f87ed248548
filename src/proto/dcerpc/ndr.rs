//! A small NDR reader for the few DCE-RPC call arguments dcsensor records (`args`).
//!
//! It reads one request stub as the transfer syntax the call used: NDR (transfer syntax 2.0,
//! 32-bit pointers and counts) or NDR64 (64-bit ones) where the bind negotiated it, with the
//! integer byte order of the PDU's data representation. It knows the pieces the argument
//! decoders need: integers with their alignment, context handles, unique and full pointers
//! (referent ids), conformant and varying strings, `RPC_UNICODE_STRING`, GUIDs and SIDs.
//!
//! The stub is hostile: every read checks its length against what is left, a count is checked
//! against the bytes that could hold it before anything is allocated, alignment never moves past
//! the end, and no read goes past the stub. Referents are read where NDR places them, never by
//! following an id, so no pointer loop can make a decoder go round; a full pointer naming an id
//! already read shares that referent and has none of its own to read (the ids remembered are
//! capped). Every failure is `None`; nothing here panics.

use crate::proto::kit::text;

/// Most characters kept from one string (the rest is cut).
pub const MAX_STRING_CHARS: usize = 2048;
/// Most referent ids remembered for one stub; a stub with more is refused.
const MAX_REFERENTS: usize = 1024;

/// A cursor over one request or response stub.
#[derive(Debug)]
pub struct Ndr<'a> {
    b: &'a [u8],
    p: usize,
    big: bool,
    ndr64: bool,
    seen: Vec<u64>,
}

impl<'a> Ndr<'a> {
    /// A reader over `stub`, big-endian when the data representation says so, NDR64 when the
    /// presentation context negotiated it.
    pub fn new(stub: &'a [u8], big_endian: bool, ndr64: bool) -> Self {
        Ndr {
            b: stub,
            p: 0,
            big: big_endian,
            ndr64,
            seen: Vec::new(),
        }
    }

    /// Whether this stub is NDR64.
    pub fn ndr64(&self) -> bool {
        self.ndr64
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.b.len().saturating_sub(self.p)
    }

    /// Moves to the next multiple of `n` (a power of two) from the stub's start.
    pub fn align(&mut self, n: usize) -> Option<()> {
        let q = self.p.checked_add(n - 1)? & !(n - 1);
        if q > self.b.len() {
            return None;
        }
        self.p = q;
        Some(())
    }

    /// The alignment of a structure holding pointers or hyper integers: 8 in NDR64, else 4.
    pub fn align_struct(&mut self) -> Option<()> {
        self.align(if self.ndr64 { 8 } else { 4 })
    }

    /// The next `n` bytes.
    pub fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.p.checked_add(n)?;
        let s = self.b.get(self.p..end)?;
        self.p = end;
        Some(s)
    }

    /// Skips `n` bytes.
    pub fn skip(&mut self, n: usize) -> Option<()> {
        self.bytes(n).map(|_| ())
    }

    pub fn u8(&mut self) -> Option<u8> {
        self.bytes(1).map(|b| b[0])
    }

    pub fn u16(&mut self) -> Option<u16> {
        self.align(2)?;
        let b: [u8; 2] = self.bytes(2)?.try_into().ok()?;
        Some(if self.big {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    }

    pub fn u32(&mut self) -> Option<u32> {
        self.align(4)?;
        let b: [u8; 4] = self.bytes(4)?.try_into().ok()?;
        Some(if self.big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    }

    pub fn u64(&mut self) -> Option<u64> {
        self.align(8)?;
        let b: [u8; 8] = self.bytes(8)?.try_into().ok()?;
        Some(if self.big {
            u64::from_be_bytes(b)
        } else {
            u64::from_le_bytes(b)
        })
    }

    /// An enum: 16 bits in NDR, 32 in NDR64 (`[v1_enum]` ones are always 32: use [`Ndr::u32`]).
    pub fn enum16(&mut self) -> Option<u32> {
        if self.ndr64 {
            self.u32()
        } else {
            self.u16().map(u32::from)
        }
    }

    /// A `DWORD_PTR`/`__int3264`: 32 bits in NDR, 64 in NDR64.
    pub fn int3264(&mut self) -> Option<u64> {
        if self.ndr64 {
            self.u64()
        } else {
            self.u32().map(u64::from)
        }
    }

    /// A conformance or variance count: 32 bits in NDR, 64 in NDR64.
    pub fn count(&mut self) -> Option<u64> {
        self.int3264()
    }

    /// A context handle (20 bytes).
    pub fn handle(&mut self) -> Option<()> {
        self.align(4)?;
        self.skip(20)
    }

    /// A unique pointer: its referent id, 0 for null. Its referent (when not null) is read
    /// in place by the caller; unique pointers never share a referent, so the id itself is not
    /// remembered (marshallers reuse ids across parameters: Windows sends 0x20000 for several).
    pub fn unique(&mut self) -> Option<u64> {
        self.int3264()
    }

    /// A full pointer: whether a referent follows (non-null and not seen before; a full pointer
    /// naming an id already read shares that referent and has none of its own).
    pub fn full(&mut self) -> Option<bool> {
        let id = self.int3264()?;
        if id == 0 {
            return Some(false);
        }
        self.remember(id)
    }

    /// Records a referent id: whether it is new. Too many ids refuse the stub.
    fn remember(&mut self, id: u64) -> Option<bool> {
        if self.seen.contains(&id) {
            return Some(false);
        }
        if self.seen.len() >= MAX_REFERENTS {
            return None;
        }
        self.seen.push(id);
        Some(true)
    }

    /// A count of elements of `size` bytes each that must fit in what is left.
    fn fits(&self, n: u64, size: usize) -> Option<usize> {
        let n = usize::try_from(n).ok()?;
        (n.checked_mul(size)? <= self.remaining()).then_some(n)
    }

    /// `n` characters of `wide` (UTF-16) or narrow (8-bit) text, trailing NULs dropped.
    fn chars(&mut self, n: usize, wide: bool) -> Option<String> {
        let raw = self.bytes(if wide { n.checked_mul(2)? } else { n })?;
        let mut s = if wide {
            text::utf16(raw, self.big, MAX_STRING_CHARS)
        } else {
            text::utf8_lossy(raw, MAX_STRING_CHARS)
        };
        while s.ends_with('\0') {
            s.pop();
        }
        Some(s)
    }

    /// `n` UTF-16 units (a conformant array of `unsigned short` or `WCHAR`), as text.
    pub fn utf16(&mut self, n: usize) -> Option<String> {
        self.fits(n as u64, 2)?;
        self.chars(n, true)
    }

    /// Passes over what [`Ndr::utf16`] reads, failing where it fails, without decoding it.
    pub fn skip_utf16(&mut self, n: usize) -> Option<()> {
        self.fits(n as u64, 2)?;
        self.skip(n.checked_mul(2)?)
    }

    /// A conformant and varying string (`[string] wchar_t*` or `char*`): maximum count, offset,
    /// actual count, then the characters. The actual count may not exceed the maximum.
    pub fn string(&mut self, wide: bool) -> Option<String> {
        let n = self.string_header(wide)?;
        self.chars(n, wide)
    }

    /// The counts before a conformant and varying string's characters: how many follow (checked
    /// against the maximum and against what is left).
    fn string_header(&mut self, wide: bool) -> Option<usize> {
        let max = self.count()?;
        let offset = self.count()?;
        let actual = self.count()?;
        if actual > max || offset > max {
            return None;
        }
        self.fits(actual, if wide { 2 } else { 1 })
    }

    /// Passes over what [`Ndr::string`] reads, failing where it fails, without decoding the
    /// text (a parameter that is not recorded costs no allocation).
    pub fn skip_string(&mut self, wide: bool) -> Option<()> {
        let n = self.string_header(wide)?;
        self.skip(if wide { n.checked_mul(2)? } else { n })
    }

    /// Passes over what [`Ndr::unique_string`] reads, as [`Ndr::skip_string`].
    pub fn skip_unique_string(&mut self, wide: bool) -> Option<()> {
        if self.unique()? == 0 {
            return Some(());
        }
        self.skip_string(wide)
    }

    /// A `[string, unique]` pointer and its string: `Some(None)` when null.
    pub fn unique_string(&mut self, wide: bool) -> Option<Option<String>> {
        if self.unique()? == 0 {
            return Some(None);
        }
        self.string(wide).map(Some)
    }

    /// The fixed part of an `RPC_UNICODE_STRING` (length and maximum length in bytes, buffer
    /// pointer): the buffer's referent id, 0 when null. The buffer follows later (deferred).
    pub fn unicode_string_head(&mut self) -> Option<u64> {
        self.align_struct()?;
        let len = self.u16()?;
        let max = self.u16()?;
        if len > max || len % 2 != 0 {
            return None;
        }
        self.unique()
    }

    /// The deferred buffer of an `RPC_UNICODE_STRING`: a conformant varying array of UTF-16
    /// units (not NUL-terminated, though trailing NULs are dropped).
    pub fn unicode_string_body(&mut self) -> Option<String> {
        self.string(true)
    }

    /// An `RPC_UNICODE_STRING` passed by value or by a top-level reference: its fixed part, then
    /// its buffer. `Some(None)` for a null buffer.
    pub fn unicode_string(&mut self) -> Option<Option<String>> {
        if self.unicode_string_head()? == 0 {
            return Some(None);
        }
        self.unicode_string_body().map(Some)
    }

    /// A GUID, as its canonical lowercase string (36 bytes, allocated once).
    pub fn guid(&mut self) -> Option<String> {
        let a = self.u32()?;
        let b = self.u16()?;
        let c = self.u16()?;
        let d = self.bytes(8)?;
        let mut s = String::with_capacity(36);
        hex(&mut s, &a.to_be_bytes());
        s.push('-');
        hex(&mut s, &b.to_be_bytes());
        s.push('-');
        hex(&mut s, &c.to_be_bytes());
        s.push('-');
        hex(&mut s, &d[..2]);
        s.push('-');
        hex(&mut s, &d[2..]);
        Some(s)
    }

    /// Passes over what [`Ndr::guid`] reads, failing where it fails, without writing it.
    pub fn skip_guid(&mut self) -> Option<()> {
        self.u32()?;
        self.u16()?;
        self.u16()?;
        self.skip(8)
    }

    /// An `RPC_SID` (conformant structure: sub-authority count first), as `S-1-5-21-...`,
    /// written into one string.
    pub fn sid(&mut self) -> Option<String> {
        use std::fmt::Write;
        let n = self.count()?;
        let revision = self.u8()?;
        let count = self.u8()?;
        if u64::from(count) != n || count > 15 {
            return None;
        }
        let auth = self.bytes(6)?;
        let ia = auth.iter().fold(0u64, |v, &x| (v << 8) | u64::from(x));
        // "S-" and the two first numbers (at most 3 + 15 digits), then "-" and up to 10
        // digits per sub-authority.
        let mut s = String::with_capacity(22 + 11 * usize::from(count));
        let _ = write!(s, "S-{revision}-{ia}");
        for _ in 0..count {
            let v = self.u32()?;
            let _ = write!(s, "-{v}");
        }
        Some(s)
    }
}

/// Appends the bytes of `b` as lowercase hex.
fn hex(s: &mut String, b: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for &x in b {
        s.push(char::from(HEX[usize::from(x >> 4)]));
        s.push(char::from(HEX[usize::from(x & 15)]));
    }
}

#[cfg(test)]
mod tests;
