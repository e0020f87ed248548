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

use super::fast::{self, kind_of, N};
use super::{check_field, field_of, pack_field, park_held, Args, Code, Rec, F, FIELDS, NAMES};
use std::net::IpAddr;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

/// Nesting this reader follows (in `args` and in skipped values); deeper is left to rmp_serde.
pub(super) const MAX_DEPTH: usize = 32;

/// The batch being read and where.
pub(super) struct M<'a> {
    b: &'a [u8],
    i: usize,
}

/// The most calls' arguments [`Spare`] keeps with their bytes.
const ARGS_KEPT: usize = 8;

/// What the reader keeps from record to record and batch to batch (see [`super::BatchRecs`]):
/// the memory of fields a record lacked (parked, taken back by the next record that has them),
/// the key that followed each key in the last record of each kind, and the calls' arguments
/// read lately. What it reads never depends on what it kept.
pub(super) struct Spare {
    /// Parked strings and lists, and the key prediction, as the JSON-lines reader keeps them.
    fast: fast::Spare,
    /// Calls' arguments read lately, each with the bytes it was read from (the map's whole
    /// encoding), the last read first, at most [`ARGS_KEPT`]. A record whose `args` begin with
    /// one of these has those arguments: a MessagePack value ends where its bytes say (no
    /// encoding of a value begins another's), and the reader reads the same bytes alike and
    /// nothing past the value's end, so the map is shared, not read again.
    args: Vec<(Vec<u8>, Arc<Args>)>,
    /// The addresses [`check_batch`] read in the last batch it took, in the order it read
    /// them (at most two a record: `src` and `dst`, records capped by the caller), for
    /// [`read_one`] to take in the same order instead of reading them again.
    ips: Vec<IpAddr>,
    /// The next of [`Spare::ips`] for [`read_one`] to take.
    ip_at: usize,
    /// The kind of each record ([`kind_of`]) of the last batch [`check_batch`] took, in order
    /// (one a record, records capped by the caller).
    kinds: Vec<u8>,
    /// How many batches [`check_batch`] took: a [`Checked`] whose number is not the last
    /// reads its addresses from the batch.
    checks: u64,
}

impl Default for Spare {
    fn default() -> Spare {
        Spare {
            fast: fast::Spare::new(),
            args: Vec::new(),
            ips: Vec::new(),
            ip_at: 0,
            kinds: Vec::new(),
            checks: 0,
        }
    }
}

/// The batch being read, with what the reader keeps and the field being read (its index).
pub(super) struct P<'a, 's> {
    m: M<'a>,
    spare: &'s mut Spare,
    f: usize,
    /// Whether addresses are taken from [`Spare::ips`] (the batch checked last) rather than read.
    checked: bool,
}

impl<'a> Deref for P<'a, '_> {
    type Target = M<'a>;
    fn deref(&self) -> &M<'a> {
        &self.m
    }
}

impl<'a> DerefMut for P<'a, '_> {
    fn deref_mut(&mut self) -> &mut M<'a> {
        &mut self.m
    }
}

/// Reads the records of `batch` into `out` (cleared first), each into a record taken from
/// `pool` when it has one (no one else holds a share of those; its strings and lists reused),
/// else a new one; each record goes with the fields it may hold (a bit each, [`F`]), in the
/// pool and in `out`. Gives the batch's `sensor` and `seq` as [`batch_key`] reads them. `None`
/// when the batch is not in the form this reader takes, a `sensor` or `seq` [`batch_key`]
/// refuses included (so that where this reads the records, the batch's key reads whole); `out`
/// then holds the records read before the one it gave up on.
pub(super) fn read_batch<'a>(
    batch: &'a [u8],
    pool: &mut Vec<(Arc<Rec>, u128)>,
    out: &mut Vec<(Arc<Rec>, u128)>,
    spare: &mut Spare,
) -> Option<(&'a str, u64)> {
    out.clear();
    let mut p = P {
        m: M { b: batch, i: 0 },
        spare,
        f: 0,
        checked: false,
    };
    let n = p.map_len()?;
    let mut found = false;
    let mut key = (None, None);
    for _ in 0..n {
        let name = p.str()?;
        if name != "records" {
            member(&mut p, name, &mut key)?;
            continue;
        }
        if found {
            return None; // given twice: rmp_serde refuses it
        }
        found = true;
        let len = p.array_len()?;
        out.reserve(len.min(p.left()));
        for _ in 0..len {
            let (mut rec, held) = pool.pop().unwrap_or_default();
            let seen = read_rec(&mut p, Arc::get_mut(&mut rec)?, held)?;
            out.push((rec, seen));
        }
    }
    // rmp_serde reads no further than the batch's map: bytes after it are not looked at
    found.then_some((key.0.unwrap_or_default(), key.1.unwrap_or_default()))
}

/// Where a batch's records are and its key, once [`check_batch`] found that every record reads.
pub(super) struct Checked<'a> {
    /// The batch's `sensor` and `seq`, as [`read_batch`] gives them.
    pub(super) key: (&'a str, u64),
    /// Where the first record begins.
    pub(super) at: usize,
    /// How many records there are.
    pub(super) len: usize,
    /// Which batch [`check_batch`] took this is (see [`Spare::checks`]).
    pub(super) n: u64,
}

/// Whether [`read_batch`] would read `batch` (every record, and the key), found without
/// writing any record: the same walk, each value checked as its field's [`Pack::pack_into`]
/// reads it ([`Pack::check`], beside it) instead of read into a record. `Some` exactly when
/// `read_batch` gives `Some`, with the same key; then [`read_one`] reads each record in turn,
/// so a record can be read and handed on while it is in the cache, the batch known to read
/// whole before the first is handed on. Only the key prediction of `spare` is written (what
/// the reader reads never depends on it); calls' arguments kept there are looked at, not kept.
pub(super) fn check_batch<'a>(batch: &'a [u8], spare: &mut Spare) -> Option<Checked<'a>> {
    let mut m = M { b: batch, i: 0 };
    // the addresses of an earlier check are not this batch's, whether it takes this one or not
    spare.checks += 1;
    spare.ips.clear();
    spare.ip_at = 0;
    spare.kinds.clear();
    let mut ck = Ck {
        args: &spare.args,
        ips: &mut spare.ips,
        kinds: &mut spare.kinds,
    };
    let n = m.map_len()?;
    let mut found = None;
    let mut key = (None, None);
    for _ in 0..n {
        let name = m.str()?;
        if name != "records" {
            member(&mut m, name, &mut key)?;
            continue;
        }
        if found.is_some() {
            return None; // given twice, as read_batch
        }
        let len = m.array_len()?;
        found = Some((m.i, len));
        for _ in 0..len {
            check_rec(&mut m, &mut spare.fast, &mut ck)?;
        }
    }
    let (at, len) = found?;
    Some(Checked {
        key: (key.0.unwrap_or_default(), key.1.unwrap_or_default()),
        at,
        len,
        n: spare.checks,
    })
}

impl Spare {
    /// The kind ([`kind_of`], below [`fast::KINDS`]) of record `i` of the batch [`check_batch`]
    /// took as its check number `c`; 0 when that is not the batch checked last.
    pub(super) fn kind(&self, c: u64, i: usize) -> usize {
        if self.checks != c {
            return 0;
        }
        self.kinds
            .get(i)
            .map_or(0, |&k| usize::from(k) % fast::KINDS)
    }
}

/// Reads the record at `*at` of a batch [`check_batch`] took into `r`, as [`read_batch`] reads
/// each (`held`: the fields `r` may hold; gives those it may hold now), and moves `*at` past
/// it. `None` only where `check_batch` would not have taken the batch (`r` then holds part of
/// the record). `c`: the batch's [`Checked::n`]; where it is the batch checked last, the
/// addresses are those the check read (the records read in order, each once, as checked).
pub(super) fn read_one(
    batch: &[u8],
    c: u64,
    at: &mut usize,
    r: &mut Rec,
    held: u128,
    spare: &mut Spare,
) -> Option<u128> {
    let checked = spare.checks == c;
    let mut p = P {
        m: M { b: batch, i: *at },
        spare,
        f: 0,
        checked,
    };
    let seen = read_rec(&mut p, r, held)?;
    *at = p.m.i;
    Some(seen)
}

/// The fields read of a record, a bit each ([`F`]) in two words (cheaper to test and set than
/// one `u128` at a varying place).
#[derive(Default)]
struct Seen([u64; 2]);

impl Seen {
    /// Adds `f`; `false` when it was there already.
    #[inline(always)]
    fn add(&mut self, f: F) -> bool {
        let i = f as usize;
        let (w, bit) = (&mut self.0[(i >> 6) & 1], 1u64 << (i & 63));
        let new = *w & bit == 0;
        *w |= bit;
        new
    }

    #[inline(always)]
    fn bits(&self) -> u128 {
        u128::from(self.0[0]) | (u128::from(self.0[1]) << 64)
    }
}

/// Checks one record as [`read_rec`] reads it (the same keys found the same way, a field given
/// twice refused, unknown keys' text checked and their values skipped), without a record.
fn check_rec(m: &mut M<'_>, fast: &mut fast::Spare, ck: &mut Ck<'_>) -> Option<()> {
    let n = m.map_len()?;
    let mut seen = Seen::default();
    let mut kind = 0;
    let mut prev = N;
    for _ in 0..n {
        let Some(f) = next_key(m, &mut fast.next[kind][prev], prev)? else {
            continue;
        };
        if !seen.add(f) {
            return None;
        }
        if f == F::kind {
            kind = kind_of(m.str()?);
        } else {
            check_field(f, m, ck)?;
        }
        prev = f as usize;
    }
    ck.kinds.push(kind as u8);
    Some(())
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

/// Every field's key as the sensor writes it in a batch (a `fixstr`: its length byte, then the
/// name), by its index, to compare the batch's bytes with.
static KEYS: [fast::Key; N] = {
    let mut k = [fast::key_from(&[0; 32], 1); N];
    let mut i = 0;
    while i < N {
        let n = NAMES[i].as_bytes();
        assert!(n.len() < 32);
        let mut b = [0u8; 32];
        b[0] = 0xa0 | n.len() as u8;
        let mut j = 0;
        while j < n.len() {
            b[j + 1] = n[j];
            j += 1;
        }
        k[i] = fast::key_from(&b, n.len() + 1);
        i += 1;
    }
    k
};

/// The field the key at `m` names, read past the key, for [`read_rec`] and [`check_rec`] alike
/// (so the check finds keys exactly as the read does): the key that followed field `prev` in
/// the last record of this kind (`guess`) compared as bytes where the sensor's encoding of it
/// is; else the key read as any string and looked up, and `guess` learns it (a field's name is
/// ASCII, so a key that names one is UTF-8 without looking). `Some(None)`: a key naming no
/// field, its text checked and its value skipped; `None`: the bytes do not read.
#[inline(always)]
fn next_key(m: &mut M<'_>, guess: &mut u8, prev: usize) -> Option<Option<F>> {
    let g = usize::from(*guess);
    if let Some(k) = KEYS.get(g) {
        if fast::key_at(m.b, m.i, k) {
            m.i += k.len;
            return Some(Some(FIELDS[g]));
        }
    }
    let key = m.str_bytes()?;
    match field_of(key, prev + 1) {
        Some(f) => {
            *guess = f as u8;
            Some(Some(f))
        }
        None => {
            utf8(key)?;
            m.skip(0)?;
            Some(None)
        }
    }
}

/// Reads one record (a map of its fields) into `r`, a record whose fields not in `held` (a bit
/// each) are absent: those in `held` the record lacks are made absent (their memory parked),
/// the others are written. Gives the fields read (those `r` may now hold). The key that
/// followed the last key in the last record of this kind is compared first, then the key is
/// looked up.
fn read_rec(p: &mut P<'_, '_>, r: &mut Rec, held: u128) -> Option<u128> {
    let n = p.map_len()?;
    let mut seen = Seen::default();
    let mut kind = 0;
    let mut prev = N;
    for _ in 0..n {
        let Some(f) = next_key(&mut p.m, &mut p.spare.fast.next[kind][prev], prev)? else {
            continue;
        };
        if !seen.add(f) {
            return None;
        }
        p.f = f as usize;
        pack_field(r, f, p)?;
        if f == F::kind {
            kind = kind_of(&r.kind);
        }
        prev = f as usize;
    }
    let seen = seen.bits();
    park_held(r, held & !seen, &mut p.spare.fast);
    Some(seen)
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

    /// A string into `out` (its memory reused): a string `out` holds already (records repeat
    /// names) is left as it is, not checked or copied (what equals a `String` is UTF-8).
    #[inline]
    pub(super) fn str_into(&mut self, out: &mut String) -> Option<()> {
        let b = self.str_bytes()?;
        if out.as_bytes() != b {
            let s = utf8(b)?;
            out.clear();
            out.push_str(s);
        }
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

    /// Whether [`Self::value`] reads the value here (read past it), nothing built.
    fn check_value(&mut self, depth: usize) -> Option<()> {
        if depth >= MAX_DEPTH {
            return None;
        }
        match self.peek()? {
            0xc0 => self.i += 1,
            0xc2 | 0xc3 => {
                self.bool()?;
            }
            0x00..=0x7f | 0xe0..=0xff | 0xcc..=0xd3 => {
                self.int()?;
            }
            // serde_json's numbers are finite
            0xcb => {
                self.f64()?.is_finite().then_some(())?;
            }
            0xa0..=0xbf | 0xd9..=0xdb => {
                self.str()?;
            }
            0x90..=0x9f | 0xdc | 0xdd => {
                for _ in 0..self.array_len()? {
                    self.check_value(depth + 1)?;
                }
            }
            0x80..=0x8f | 0xde | 0xdf => self.check_object(depth)?,
            _ => return None,
        }
        Some(())
    }

    /// Whether [`Self::object`] reads the map here (read past it), nothing built.
    fn check_object(&mut self, depth: usize) -> Option<()> {
        for _ in 0..self.map_len()? {
            self.str()?;
            self.check_value(depth + 1)?;
        }
        Some(())
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

/// A field's type as this reader reads it into the record, reusing what the field held and
/// what is parked for the field ([`P::f`]).
pub(super) trait Pack {
    fn pack_into(p: &mut P<'_, '_>, slot: &mut Self) -> Option<()>;

    /// Whether [`Pack::pack_into`] reads the value at `m` (`Some`: read past it, exactly as far
    /// as `pack_into` reads), nothing written; `args`: the calls' arguments `pack_into` may
    /// share, and the addresses it read ([`Ck`]).
    fn check(m: &mut M<'_>, ck: &mut Ck<'_>) -> Option<()>;
}

/// What [`Pack::check`] looks at and keeps: the calls' arguments `pack_into` may share
/// ([`Spare::args`]), the addresses read ([`Spare::ips`]) and each record's kind
/// ([`Spare::kinds`]).
pub(super) struct Ck<'s> {
    args: &'s [(Vec<u8>, Arc<Args>)],
    ips: &'s mut Vec<IpAddr>,
    kinds: &'s mut Vec<u8>,
}

/// `nil`, else the value `check` checks.
#[inline(always)]
fn opt_check<'a, T>(m: &mut M<'a>, check: impl FnOnce(&mut M<'a>) -> Option<T>) -> Option<()> {
    if !m.nil() {
        check(m)?;
    }
    Some(())
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
    fn pack_into(p: &mut P<'_, '_>, slot: &mut Self) -> Option<()> {
        if p.nil() {
            <Self as fast::Fast>::park(slot, p.f, &mut p.spare.fast);
            return Some(());
        }
        if slot.is_none() {
            *slot = Some(p.spare.fast.take(p.f));
        }
        p.m.str_into(slot.as_mut()?)
    }

    #[inline(always)]
    fn check(m: &mut M<'_>, _: &mut Ck<'_>) -> Option<()> {
        opt_check(m, M::str)
    }
}

macro_rules! pack_int {
    ($($t:ty),*) => {$(
        impl Pack for Option<$t> {
            #[inline]
            fn pack_into(p: &mut P<'_, '_>, slot: &mut Self) -> Option<()> {
                opt(p, slot, M::int_as::<$t>)
            }

            #[inline(always)]
            fn check(m: &mut M<'_>, _: &mut Ck<'_>) -> Option<()> {
                opt_check(m, M::int_as::<$t>)
            }
        }
        impl Pack for Vec<$t> {
            fn pack_into(p: &mut P<'_, '_>, slot: &mut Self) -> Option<()> {
                p.list(M::int_as::<$t>, slot)
            }

            fn check(m: &mut M<'_>, _: &mut Ck<'_>) -> Option<()> {
                for _ in 0..m.array_len()? {
                    m.int_as::<$t>()?;
                }
                Some(())
            }
        }
    )*};
}

pack_int!(u16, u32, u64, i32);

impl Pack for Option<f64> {
    #[inline]
    fn pack_into(p: &mut P<'_, '_>, slot: &mut Self) -> Option<()> {
        opt(p, slot, M::f64)
    }

    #[inline(always)]
    fn check(m: &mut M<'_>, _: &mut Ck<'_>) -> Option<()> {
        opt_check(m, M::f64)
    }
}

impl Pack for Option<bool> {
    #[inline]
    fn pack_into(p: &mut P<'_, '_>, slot: &mut Self) -> Option<()> {
        opt(p, slot, M::bool)
    }

    #[inline(always)]
    fn check(m: &mut M<'_>, _: &mut Ck<'_>) -> Option<()> {
        opt_check(m, M::bool)
    }
}

impl Pack for Option<Code> {
    #[inline]
    fn pack_into(p: &mut P<'_, '_>, slot: &mut Self) -> Option<()> {
        let code = match p.peek()? {
            0xa0..=0xbf | 0xd9..=0xdb => {
                if !matches!(slot, Some(Code::Name(_))) {
                    *slot = Some(Code::Name(p.spare.fast.take(p.f)));
                }
                let Some(Code::Name(s)) = slot else {
                    return None;
                };
                return p.m.str_into(s);
            }
            0xc0 => {
                p.i += 1;
                None
            }
            0xc2 | 0xc3 => Some(Code::Num(i64::from(p.bool()?))),
            // as the general reader: a number above i64's range wraps
            _ => Some(Code::Num(match p.int()? {
                Int::U(v) => v as i64,
                Int::I(v) => v,
            })),
        };
        <Self as fast::Fast>::park(slot, p.f, &mut p.spare.fast);
        *slot = code;
        Some(())
    }

    #[inline(always)]
    fn check(m: &mut M<'_>, _: &mut Ck<'_>) -> Option<()> {
        match m.peek()? {
            0xa0..=0xbf | 0xd9..=0xdb => {
                m.str()?;
            }
            0xc0 => m.i += 1,
            0xc2 | 0xc3 => {
                m.bool()?;
            }
            _ => {
                m.int()?;
            }
        }
        Some(())
    }
}

impl Pack for Vec<String> {
    /// The list's strings are read into those `slot` holds (or, when it holds none, those
    /// parked for the field), then into new ones.
    fn pack_into(p: &mut P<'_, '_>, slot: &mut Self) -> Option<()> {
        let n = p.array_len()?;
        if n > 0 && slot.is_empty() {
            if let Some(parked) = p.spare.fast.lists.get_mut(p.f) {
                std::mem::swap(slot, parked);
            }
        }
        for k in 0..n {
            match slot.get_mut(k) {
                Some(s) => p.m.str_into(s)?,
                None => slot.push(p.str()?.to_owned()),
            }
        }
        slot.truncate(n);
        Some(())
    }

    fn check(m: &mut M<'_>, _: &mut Ck<'_>) -> Option<()> {
        for _ in 0..m.array_len()? {
            m.str()?;
        }
        Some(())
    }
}

/// A dotted quad in its usual form (four numbers 0 to 255 in at most three digits, no leading
/// zero, three dots, nothing else), as an address; `None` for any other text, which
/// [`super::parse_ip`] then reads (what this takes, it reads alike).
#[inline]
fn quad(b: &[u8]) -> Option<IpAddr> {
    let (quad, i) = fast::quad_at(b, 0)?;
    (i == b.len()).then(|| IpAddr::from(quad))
}

impl Pack for Option<IpAddr> {
    #[inline]
    fn pack_into(p: &mut P<'_, '_>, slot: &mut Self) -> Option<()> {
        if p.checked {
            // the address the check read here: its text passed over
            if p.m.nil() {
                *slot = None;
                return Some(());
            }
            p.m.str_bytes()?;
            let ip = *p.spare.ips.get(p.spare.ip_at)?;
            p.spare.ip_at += 1;
            *slot = Some(ip);
            return Some(());
        }
        opt(p, slot, M::ip)
    }

    #[inline(always)]
    fn check(m: &mut M<'_>, ck: &mut Ck<'_>) -> Option<()> {
        if !m.nil() {
            let ip = m.ip()?;
            ck.ips.push(ip);
        }
        Some(())
    }
}

impl M<'_> {
    /// An address written as text.
    #[inline(always)]
    fn ip(&mut self) -> Option<IpAddr> {
        let b = self.str_bytes()?;
        match quad(b) {
            Some(ip) => Some(ip),
            None => super::parse_ip(utf8(b)?),
        }
    }
}

impl Pack for Option<Arc<Args>> {
    /// Shared from [`Spare::args`] when the record's map begins with the bytes of one kept
    /// there; else read into a new map and kept with its bytes.
    fn pack_into(p: &mut P<'_, '_>, slot: &mut Self) -> Option<()> {
        *slot = None;
        if p.nil() {
            return Some(());
        }
        let rest = p.b.get(p.i..)?;
        let kept = &mut p.spare.args;
        if let Some(k) = kept.iter().position(|(t, _)| rest.starts_with(t)) {
            kept[..=k].rotate_right(1);
            let (t, a) = &kept[0];
            p.m.i += t.len();
            *slot = Some(Arc::clone(a));
            return Some(());
        }
        let start = p.i;
        let a = Arc::new(p.object(0)?);
        let read = p.b.get(start..p.i)?;
        let kept = &mut p.spare.args;
        let mut text = if kept.len() >= ARGS_KEPT {
            kept.pop().map(|(t, _)| t).unwrap_or_default()
        } else {
            Vec::new()
        };
        text.clear();
        text.extend_from_slice(read);
        kept.insert(0, (text, Arc::clone(&a)));
        *slot = Some(a);
        Some(())
    }

    /// Arguments whose bytes begin as those of arguments `args` keeps are those (the reader
    /// shares them whatever it keeps by then: read again, the same bytes read alike and as
    /// far), else checked as [`M::object`] reads them.
    fn check(m: &mut M<'_>, ck: &mut Ck<'_>) -> Option<()> {
        if m.nil() {
            return Some(());
        }
        let rest = m.b.get(m.i..)?;
        if let Some((t, _)) = ck.args.iter().find(|(t, _)| rest.starts_with(t)) {
            m.i += t.len();
            return Some(());
        }
        m.check_object(0)
    }
}

#[cfg(test)]
mod tests;
