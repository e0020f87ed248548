//! The fast path of the batch reader: a MessagePack batch in the form the sensor writes it (a
//! map with string keys whose `records` is an array of maps of the records' fields) read straight
//! into [`Rec`]s, keys matched as bytes, no serde machinery and no intermediate values except a
//! call's `args`.
//!
//! It takes only what it reads exactly as `rmp_serde` would read the batch into records, and
//! gives up (`None`) on anything else: a key that is not a string, a string that is not UTF-8, a
//! binary or extension value, a 32-bit float, a float that is not finite in `args`, a field
//! given twice, a value of the wrong kind or out of its type's range, nesting deeper than
//! [`MAX_DEPTH`], or a batch that ends early. The caller then reads the batch with `rmp_serde`,
//! so the result (or the error) is always the general reader's. Lengths are checked against
//! the bytes left before anything is reserved, so a hostile length costs no memory.

use super::{clear_unseen, field_of, pack_field, Args, Code, Rec};
use std::net::IpAddr;
use std::sync::Arc;

/// Nesting this reader follows (in `args` and in skipped values); deeper is left to rmp_serde.
pub(super) const MAX_DEPTH: usize = 32;

/// The batch being read and where.
pub(super) struct M<'a> {
    b: &'a [u8],
    i: usize,
}

/// Reads the records of `batch` into `out` (cleared first), each into a record taken from
/// `pool` when it has one (its strings and lists reused), else a new one, and gives the batch's
/// `sensor` and `seq` as [`batch_key`] reads them. `None` when the batch is not in the form this
/// reader takes, a `sensor` or `seq` [`batch_key`] refuses included (so that where this reads
/// the records, the batch's key reads whole); `out` then holds part of it.
pub(super) fn read_batch<'a>(
    batch: &'a [u8],
    pool: &mut Vec<Arc<Rec>>,
    out: &mut Vec<Arc<Rec>>,
) -> Option<(&'a str, u64)> {
    out.clear();
    let mut m = M { b: batch, i: 0 };
    let n = m.map_len()?;
    let mut found = false;
    let mut key = (None, None);
    for _ in 0..n {
        let name = m.str()?;
        if name != "records" {
            member(&mut m, name, &mut key)?;
            continue;
        }
        if found {
            return None; // given twice: rmp_serde refuses it
        }
        found = true;
        let len = m.array_len()?;
        out.reserve(len.min(m.left()));
        for _ in 0..len {
            let mut rec = pool
                .pop()
                .filter(|a| Arc::strong_count(a) == 1 && Arc::weak_count(a) == 0)
                .unwrap_or_default();
            read_rec(&mut m, Arc::get_mut(&mut rec)?)?;
            out.push(rec);
        }
    }
    // rmp_serde reads no further than the batch's map: bytes after it are not looked at
    found.then_some((key.0.unwrap_or_default(), key.1.unwrap_or_default()))
}

/// The batch's `sensor` and `seq` (what orders batches; absent ones read as empty and 0, as the
/// caller's derived reader defaults them), its other values, `records` included, skipped unread.
/// `None` on anything this reader does not take (see the module documentation; also a `sensor`
/// or `seq` given twice, or of another kind): the caller then asks `rmp_serde`, whose answer it
/// always is where this one gives one.
pub(super) fn batch_key(batch: &[u8]) -> Option<(String, u64)> {
    let mut m = M { b: batch, i: 0 };
    let mut key = (None, None);
    for _ in 0..m.map_len()? {
        let name = m.str()?;
        member(&mut m, name, &mut key)?;
    }
    Some((
        key.0.unwrap_or_default().to_string(),
        key.1.unwrap_or_default(),
    ))
}

/// The batch's `sensor` and `seq` when both come before its `records` (as the sensor writes
/// them), read from the members before the records (as [`batch_key`] reads them), the rest of
/// the batch not looked at. `None` when they do not both come first, or on anything
/// [`batch_key`] would refuse in those members. Where [`batch_key`] (or `rmp_serde`) reads the
/// batch's key, it is this one (a member given twice is refused, so later members cannot change
/// it); but the rest of the batch may make it refuse the batch, which the caller then learns by
/// reading the key whole ([`read_batch`] gives it, or `batch_key`).
pub(super) fn batch_head(batch: &[u8]) -> Option<(String, u64)> {
    let mut m = M { b: batch, i: 0 };
    let mut key: (Option<&str>, Option<u64>) = (None, None);
    for _ in 0..m.map_len()? {
        let name = m.str()?;
        if name == "records" {
            let (sensor, seq) = (key.0?, key.1?);
            return Some((sensor.to_string(), seq));
        }
        member(&mut m, name, &mut key)?;
    }
    None
}

/// A member of the batch's map other than `records`, its name read: `sensor` and `seq` into
/// `key` (`None`: given twice, or not of their kind, which `rmp_serde` refuses), any other value
/// skipped.
fn member<'a>(m: &mut M<'a>, name: &str, key: &mut (Option<&'a str>, Option<u64>)) -> Option<()> {
    match name {
        "sensor" if key.0.is_none() => key.0 = Some(m.str()?),
        "seq" if key.1.is_none() => key.1 = Some(m.int_as::<u64>()?),
        "sensor" | "seq" => return None,
        _ => m.skip(0)?,
    }
    Some(())
}

/// Reads one record (a map of its fields) into `r`, whatever `r` held before.
fn read_rec(m: &mut M<'_>, r: &mut Rec) -> Option<()> {
    let n = m.map_len()?;
    let mut seen = 0u128;
    let mut hint = 0;
    for _ in 0..n {
        // a field's name is ASCII, so a key that names one is UTF-8 without looking
        let key = m.str_bytes()?;
        match field_of(key, hint) {
            Some(f) => {
                let bit = 1u128 << (f as u8);
                if seen & bit != 0 {
                    return None;
                }
                seen |= bit;
                hint = f as usize + 1;
                pack_field(r, f, m)?;
            }
            None => {
                utf8(key)?;
                m.skip(0)?
            }
        }
    }
    clear_unseen(r, seen);
    Some(())
}

impl<'a> M<'a> {
    /// Bytes not read yet.
    #[inline]
    fn left(&self) -> usize {
        self.b.len() - self.i
    }

    #[inline]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    #[inline]
    fn byte(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.i += 1;
        Some(c)
    }

    #[inline]
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.b.get(self.i..self.i.checked_add(n)?)?;
        self.i += n;
        Some(s)
    }

    #[inline]
    fn be<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    /// A length of `N` bytes (big-endian).
    #[inline]
    fn len_of<const N: usize>(&mut self) -> Option<usize> {
        let b = self.be::<N>()?;
        Some(b.iter().fold(0usize, |v, &c| (v << 8) | usize::from(c)))
    }

    /// `nil` (then `true`, read), else nothing read.
    #[inline]
    pub(super) fn nil(&mut self) -> bool {
        if self.peek() == Some(0xc0) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    #[inline]
    fn map_len(&mut self) -> Option<usize> {
        match self.byte()? {
            c @ 0x80..=0x8f => Some(usize::from(c & 0x0f)),
            0xde => self.len_of::<2>(),
            0xdf => self.len_of::<4>(),
            _ => None,
        }
    }

    #[inline]
    fn array_len(&mut self) -> Option<usize> {
        match self.byte()? {
            c @ 0x90..=0x9f => Some(usize::from(c & 0x0f)),
            0xdc => self.len_of::<2>(),
            0xdd => self.len_of::<4>(),
            _ => None,
        }
    }

    /// A string's bytes (a `str` value, not checked to be UTF-8).
    #[inline]
    fn str_bytes(&mut self) -> Option<&'a [u8]> {
        let n = match self.byte()? {
            c @ 0xa0..=0xbf => usize::from(c & 0x1f),
            0xd9 => self.len_of::<1>()?,
            0xda => self.len_of::<2>()?,
            0xdb => self.len_of::<4>()?,
            _ => return None,
        };
        self.take(n)
    }

    /// A string (a `str` value, UTF-8).
    #[inline]
    pub(super) fn str(&mut self) -> Option<&'a str> {
        utf8(self.str_bytes()?)
    }

    /// A string into `out` (its memory reused).
    #[inline]
    pub(super) fn str_into(&mut self, out: &mut String) -> Option<()> {
        let s = self.str()?;
        out.clear();
        out.push_str(s);
        Some(())
    }

    /// An integer of any width, with the sign its encoding gives it.
    #[inline]
    pub(super) fn int(&mut self) -> Option<Int> {
        Some(match self.byte()? {
            c @ 0x00..=0x7f => Int::U(u64::from(c)),
            c @ 0xe0..=0xff => Int::I(i64::from(c as i8)),
            0xcc => Int::U(u64::from(u8::from_be_bytes(self.be()?))),
            0xcd => Int::U(u64::from(u16::from_be_bytes(self.be()?))),
            0xce => Int::U(u64::from(u32::from_be_bytes(self.be()?))),
            0xcf => Int::U(u64::from_be_bytes(self.be()?)),
            0xd0 => Int::I(i64::from(i8::from_be_bytes(self.be()?))),
            0xd1 => Int::I(i64::from(i16::from_be_bytes(self.be()?))),
            0xd2 => Int::I(i64::from(i32::from_be_bytes(self.be()?))),
            0xd3 => Int::I(i64::from_be_bytes(self.be()?)),
            _ => return None,
        })
    }

    /// An integer that fits `T`.
    #[inline]
    pub(super) fn int_as<T: TryFrom<u64> + TryFrom<i64>>(&mut self) -> Option<T> {
        match self.int()? {
            Int::U(v) => T::try_from(v).ok(),
            Int::I(v) => T::try_from(v).ok(),
        }
    }

    /// A number as serde reads an `f64`: a 64-bit float, or an integer converted.
    #[inline]
    pub(super) fn f64(&mut self) -> Option<f64> {
        if self.peek()? == 0xcb {
            self.i += 1;
            return Some(f64::from_be_bytes(self.be()?));
        }
        Some(match self.int()? {
            Int::U(v) => v as f64,
            Int::I(v) => v as f64,
        })
    }

    #[inline]
    pub(super) fn bool(&mut self) -> Option<bool> {
        match self.byte()? {
            0xc2 => Some(false),
            0xc3 => Some(true),
            _ => None,
        }
    }

    /// A list of `item`s.
    #[inline]
    pub(super) fn list<T>(
        &mut self,
        mut item: impl FnMut(&mut Self) -> Option<T>,
        v: &mut Vec<T>,
    ) -> Option<()> {
        v.clear();
        let n = self.array_len()?;
        v.reserve(n.min(self.left()));
        for _ in 0..n {
            v.push(item(self)?);
        }
        Some(())
    }

    /// Skips one value of any kind this reader takes, nested `depth` deep: without recursion,
    /// the values each open array or map still holds counted on a stack (a map's keys and
    /// values alike); a value nested [`MAX_DEPTH`] deep or more gives up, as the recursive
    /// reading of [`Self::value`] does.
    fn skip(&mut self, depth: usize) -> Option<()> {
        let mut open = [0usize; MAX_DEPTH];
        let mut d = 0;
        loop {
            if depth + d >= MAX_DEPTH {
                return None;
            }
            let c = self.byte()?;
            // bytes after the first that the value holds, or (arrays, maps) values it holds
            let bytes = match c {
                0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => 0,
                // skipped text is not looked at (rmp_serde skips text that is not UTF-8 too)
                0xa0..=0xbf => usize::from(c & 0x1f),
                0xcc | 0xd0 => 1,
                0xcd | 0xd1 => 2,
                0xce | 0xd2 => 4,
                0xcf | 0xd3 | 0xcb => 8,
                0xd9 => self.len_of::<1>()?,
                0xda => self.len_of::<2>()?,
                0xdb => self.len_of::<4>()?,
                0x90..=0x9f | 0xdc | 0xdd | 0x80..=0x8f | 0xde | 0xdf => {
                    let n = match c {
                        0x90..=0x9f => usize::from(c & 0x0f),
                        0xdc => self.len_of::<2>()?,
                        0xdd => self.len_of::<4>()?,
                        0x80..=0x8f => 2 * usize::from(c & 0x0f),
                        0xde => 2 * self.len_of::<2>()?,
                        _ => 2 * self.len_of::<4>()?,
                    };
                    if n > 0 {
                        open[d] = n;
                        d += 1;
                        continue;
                    }
                    0
                }
                _ => return None,
            };
            self.take(bytes)?;
            // one value done: it may be the last of the arrays and maps it closes
            loop {
                if d == 0 {
                    return Some(());
                }
                open[d - 1] -= 1;
                if open[d - 1] > 0 {
                    break;
                }
                d -= 1;
            }
        }
    }

    /// A value as serde_json's `Value` reads it from MessagePack (maps with string keys only).
    fn value(&mut self, depth: usize) -> Option<serde_json::Value> {
        use serde_json::Value;
        if depth >= MAX_DEPTH {
            return None;
        }
        Some(match self.peek()? {
            0xc0 => {
                self.i += 1;
                Value::Null
            }
            0xc2 | 0xc3 => Value::Bool(self.bool()?),
            0x00..=0x7f | 0xe0..=0xff | 0xcc..=0xd3 => match self.int()? {
                Int::U(v) => Value::from(v),
                Int::I(v) => Value::from(v),
            },
            0xcb => {
                let f = self.f64()?;
                Value::Number(serde_json::Number::from_f64(f)?)
            }
            0xa0..=0xbf | 0xd9..=0xdb => Value::String(self.str()?.to_owned()),
            0x90..=0x9f | 0xdc | 0xdd => {
                let n = self.array_len()?;
                let mut v = Vec::with_capacity(n.min(self.left()));
                for _ in 0..n {
                    v.push(self.value(depth + 1)?);
                }
                Value::Array(v)
            }
            0x80..=0x8f | 0xde | 0xdf => Value::Object(self.object(depth)?),
            _ => return None,
        })
    }

    /// A map with string keys as serde_json's `Map` reads it (a key given twice: the last value,
    /// at the first one's place).
    fn object(&mut self, depth: usize) -> Option<Args> {
        let n = self.map_len()?;
        let mut o = Args::new();
        for _ in 0..n {
            let k = self.str()?.to_owned();
            let v = self.value(depth + 1)?;
            o.insert(k, v);
        }
        Some(o)
    }
}

/// `b` as text when it is UTF-8: ASCII (most text) checked a word at a time, anything else by
/// the general check.
#[inline]
fn utf8(b: &[u8]) -> Option<&str> {
    if b.is_ascii() {
        // SAFETY: ASCII is UTF-8
        Some(unsafe { std::str::from_utf8_unchecked(b) })
    } else {
        std::str::from_utf8(b).ok()
    }
}

/// An integer as encoded: unsigned, or signed (rmp_serde hands serde the one or the other).
#[derive(Clone, Copy)]
pub(super) enum Int {
    U(u64),
    I(i64),
}

/// A field's type as this reader reads it into the record, reusing what the field held.
pub(super) trait Pack {
    fn pack_into(m: &mut M<'_>, slot: &mut Self) -> Option<()>;
}

/// `nil` as `None`, else the value `read` reads.
#[inline]
fn opt<'a, T>(
    m: &mut M<'a>,
    slot: &mut Option<T>,
    read: impl FnOnce(&mut M<'a>) -> Option<T>,
) -> Option<()> {
    *slot = if m.nil() { None } else { Some(read(m)?) };
    Some(())
}

impl Pack for Option<String> {
    #[inline]
    fn pack_into(m: &mut M<'_>, slot: &mut Self) -> Option<()> {
        if m.nil() {
            *slot = None;
            return Some(());
        }
        m.str_into(slot.get_or_insert_with(String::new))
    }
}

macro_rules! pack_int {
    ($($t:ty),*) => {$(
        impl Pack for Option<$t> {
            #[inline]
            fn pack_into(m: &mut M<'_>, slot: &mut Self) -> Option<()> {
                opt(m, slot, M::int_as::<$t>)
            }
        }
        impl Pack for Vec<$t> {
            fn pack_into(m: &mut M<'_>, slot: &mut Self) -> Option<()> {
                m.list(M::int_as::<$t>, slot)
            }
        }
    )*};
}

pack_int!(u16, u32, u64, i32);

impl Pack for Option<f64> {
    #[inline]
    fn pack_into(m: &mut M<'_>, slot: &mut Self) -> Option<()> {
        opt(m, slot, M::f64)
    }
}

impl Pack for Option<bool> {
    #[inline]
    fn pack_into(m: &mut M<'_>, slot: &mut Self) -> Option<()> {
        opt(m, slot, M::bool)
    }
}

impl Pack for Option<Code> {
    #[inline]
    fn pack_into(m: &mut M<'_>, slot: &mut Self) -> Option<()> {
        match m.peek()? {
            0xc0 => {
                m.i += 1;
                *slot = None;
            }
            0xa0..=0xbf | 0xd9..=0xdb => match slot {
                Some(Code::Name(s)) => m.str_into(s)?,
                _ => *slot = Some(Code::Name(m.str()?.to_owned())),
            },
            0xc2 | 0xc3 => *slot = Some(Code::Num(i64::from(m.bool()?))),
            // as the general reader: a number above i64's range wraps
            _ => {
                *slot = Some(Code::Num(match m.int()? {
                    Int::U(v) => v as i64,
                    Int::I(v) => v,
                }))
            }
        }
        Some(())
    }
}

impl Pack for Vec<String> {
    /// The list's strings are read into those `slot` holds, then into new ones.
    fn pack_into(m: &mut M<'_>, slot: &mut Self) -> Option<()> {
        let n = m.array_len()?;
        for k in 0..n {
            match slot.get_mut(k) {
                Some(s) => m.str_into(s)?,
                None => slot.push(m.str()?.to_owned()),
            }
        }
        slot.truncate(n);
        Some(())
    }
}

impl Pack for Option<IpAddr> {
    #[inline]
    fn pack_into(m: &mut M<'_>, slot: &mut Self) -> Option<()> {
        opt(m, slot, |m| super::parse_ip(m.str()?))
    }
}

impl Pack for Option<Arc<Args>> {
    fn pack_into(m: &mut M<'_>, slot: &mut Self) -> Option<()> {
        opt(m, slot, |m| Some(Arc::new(m.object(0)?)))
    }
}

#[cfg(test)]
mod tests;
