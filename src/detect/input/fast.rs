//! The fast path of the JSON-lines reader: a line in the form the sensor writes it (one object,
//! no spaces, strings without escapes, numbers as `serde_json` writes them) read straight into a
//! [`Rec`], keys matched as bytes, no intermediate values.
//!
//! It takes only what it reads exactly as `serde_json` would, and gives up (`None`) on anything
//! else: a space, an escape or control character in a string, an exponent, a negative number, a
//! number with more digits than an `f64` holds exactly, a field given twice, a value of the
//! wrong kind. The caller then reads the line with `serde_json`, so the result (or the error
//! that names what is wrong) is always the general reader's. A call's `args` are read into
//! serde_json's values here (integers, strings, lists and objects; anything else gives up);
//! fields the engine does not know are skipped by `serde_json` in place.
//!
//! Between lines the reader keeps (per thread, [`Spare`]) the memory of fields a record lacked
//! and which key followed which, so that reading a line allocates little and finds most keys
//! with one comparison; what it reads never depends on what it kept.

use super::{field_of, park_held, Args, Code, Rec, F, FIELDS, NAMES};
use std::cell::RefCell;
use std::net::IpAddr;
use std::sync::Arc;

/// Nesting this reader follows in a call's arguments; deeper is left to serde_json.
const MAX_DEPTH: usize = 32;

/// Number of fields, and the index standing for "no key read yet" in [`Spare::next`].
pub(super) const N: usize = NAMES.len();

/// The most calls' arguments [`Spare`] keeps with their text.
const ARGS_KEPT: usize = 8;

/// Kinds of record the key prediction tells apart (see [`kind_of`]).
pub(super) const KINDS: usize = 8;

/// What the reader keeps from one line to the next (one per thread, see [`read`]): the memory
/// of fields the last record had and this one lacks (parked here, taken back by the next record
/// that has them, so that records of different types in turn do not allocate their strings
/// again), and the key that followed each key in the last record of each kind.
pub(super) struct Spare {
    pub(super) strings: [String; N],
    pub(super) lists: [Vec<String>; N],
    /// Calls' arguments read lately, each with the text it was read from (the object's bytes,
    /// braces included), the last read first, at most [`ARGS_KEPT`]. A line whose `args` begin
    /// with one of these texts has those arguments: the object ends where the text ends (the
    /// reader reads the same bytes alike and reads nothing past the closing brace), so the map
    /// is shared, not read again.
    args: Vec<(String, Arc<Args>)>,
    /// By kind of record ([`kind_of`]) and field (or [`N`] before the first key): the field
    /// whose key followed it last time (at first, the next one in [`Rec`]'s order).
    pub(super) next: [[u8; N + 1]; KINDS],
}

impl Spare {
    pub(super) const fn new() -> Spare {
        let mut next = [[0u8; N + 1]; KINDS];
        let mut k = 0;
        while k < KINDS {
            let mut i = 0;
            while i < N {
                next[k][i] = (i + 1) as u8;
                i += 1;
            }
            k += 1;
        }
        Spare {
            strings: [const { String::new() }; N],
            lists: [const { Vec::new() }; N],
            args: Vec::new(),
            next,
        }
    }

    /// The string parked for field `f` (empty, maybe with room), taken.
    #[inline]
    pub(super) fn take(&mut self, f: usize) -> String {
        self.strings
            .get_mut(f)
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// Parks `s` for field `f`.
    #[inline]
    pub(super) fn put(&mut self, f: usize, s: String) {
        if let Some(slot) = self.strings.get_mut(f) {
            *slot = s;
        }
    }
}

thread_local! {
    static SPARE: RefCell<Spare> = const { RefCell::new(Spare::new()) };
}

/// The kind of a record for the key prediction: the sensor's types apart, the rest together.
pub(super) fn kind_of(kind: &str) -> usize {
    match kind {
        "dns" => 1,
        "dcerpc" => 2,
        "kerberos" => 3,
        "ldap" => 4,
        "ntlm" => 5,
        "smb" => 6,
        _ => 7,
    }
}

/// A key as the sensor writes it, with its quotes and colon (`"name":`), as words of eight
/// bytes to compare a line's bytes with.
#[derive(Clone, Copy)]
pub(super) struct Key {
    /// The bytes, eight to a word, the first in the low byte; zero past the end.
    w: [u64; 4],
    /// The last eight bytes (keys of eight bytes or more).
    tail: u64,
    /// The bits of `w[0]` that are the key's (keys shorter than eight bytes).
    mask: u64,
    pub(super) len: usize,
}

const fn key_of(name: &str) -> Key {
    let n = name.as_bytes();
    let len = n.len() + 3;
    assert!(len <= 32 && len >= 5);
    let mut b = [0u8; 32];
    b[0] = b'"';
    let mut i = 0;
    while i < n.len() {
        b[i + 1] = n[i];
        i += 1;
    }
    b[len - 2] = b'"';
    b[len - 1] = b':';
    key_from(&b, len)
}

/// The key of the first `len` bytes of `b` (1 to 32), to compare bytes with (see [`key_at`]).
pub(super) const fn key_from(b: &[u8; 32], len: usize) -> Key {
    assert!(len <= 32 && len >= 1);
    const fn word(b: &[u8; 32], at: usize) -> u64 {
        let mut v = 0u64;
        let mut k = 0;
        while k < 8 {
            v |= (b[at + k] as u64) << (8 * k);
            k += 1;
        }
        v
    }
    Key {
        w: [word(b, 0), word(b, 8), word(b, 16), word(b, 24)],
        tail: if len >= 8 { word(b, len - 8) } else { 0 },
        mask: if len >= 8 {
            u64::MAX
        } else {
            (1u64 << (8 * len)) - 1
        },
        len,
    }
}

/// Every field's key as written, by its index.
static KEYS: [Key; N] = {
    let mut k = [key_of("ts"); N];
    let mut i = 0;
    while i < N {
        k[i] = key_of(NAMES[i]);
        i += 1;
    }
    k
};

/// Eight bytes of `b` from `at` (which has them).
#[inline]
fn word(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(w)
}

/// Whether `b` has key `k` (with its quotes and colon) at `i`; `false` also when fewer than
/// eight bytes are left (the caller then reads the key as any other).
#[inline(always)]
pub(super) fn key_at(b: &[u8], i: usize, k: &Key) -> bool {
    let n = k.len;
    if n <= 8 {
        return i + 8 <= b.len() && (word(b, i) ^ k.w[0]) & k.mask == 0;
    }
    let Some(s) = b.get(i..i + n) else {
        return false;
    };
    let mut j = 0;
    while j + 8 < n {
        if word(s, j) != k.w[j / 8] {
            return false;
        }
        j += 8;
    }
    word(s, n - 8) == k.tail
}

/// The line being read and where.
pub(super) struct P<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
    /// The memory kept from line to line.
    spare: &'a mut Spare,
    /// The field being read (its index).
    f: usize,
}

/// Reads `line` into `r` (a record whose fields not in `held`, a bit each, are absent: the
/// strings and lists it holds are reused, the fields in `held` the line does not have are
/// cleared), giving the fields the line has (those `r` may now hold); `None` when the line is
/// not in the sensor's form (then `r` holds part of it, any field maybe written).
pub(super) fn read(line: &str, r: &mut Rec, held: u128) -> Option<u128> {
    SPARE.with(|s| match s.try_borrow_mut() {
        Ok(mut s) => read_with(line, r, held, &mut s),
        Err(_) => read_with(line, r, held, &mut Spare::new()),
    })
}

/// [`read`] with the memory kept from line to line.
fn read_with(line: &str, r: &mut Rec, held: u128, spare: &mut Spare) -> Option<u128> {
    let mut p = P {
        s: line,
        b: line.as_bytes(),
        i: 0,
        spare,
        f: 0,
    };
    p.eat(b'{')?;
    if p.eat(b'}').is_some() {
        park_held(r, held, p.spare);
        return (p.i == p.b.len()).then_some(0);
    }
    // the fields read, as bits; every field from `after` on is unread
    let mut seen = [0u64; 2];
    let mut after = 0;
    let mut kind = 0;
    let mut prev = N;
    loop {
        // the key that followed the last one in the last record of this kind, compared as
        // bytes; else the key read as any string and looked up
        let guess = usize::from(p.spare.next[kind][prev]);
        let f = match KEYS.get(guess) {
            Some(k) if key_at(p.b, p.i, k) => {
                p.i += k.len;
                FIELDS[guess]
            }
            _ => {
                let key = p.string()?;
                p.eat(b':')?;
                match field_of(key.as_bytes(), prev + 1) {
                    Some(f) => {
                        p.spare.next[kind][prev] = f as u8;
                        f
                    }
                    None => {
                        p.serde::<serde::de::IgnoredAny>()?;
                        if p.next_member()? {
                            continue;
                        }
                        break;
                    }
                }
            }
        };
        let fi = f as usize;
        let (word, bit) = (fi >> 6, 1u64 << (fi & 63));
        if fi < after {
            if seen[word] & bit != 0 {
                return None;
            }
        } else {
            after = fi + 1;
        }
        seen[word] |= bit;
        p.f = fi;
        super::fast_field(r, f, &mut p)?;
        if f == F::kind {
            kind = kind_of(&r.kind);
        }
        prev = fi;
        if !p.next_member()? {
            break;
        }
    }
    let seen = u128::from(seen[0]) | (u128::from(seen[1]) << 64);
    park_held(r, held & !seen, p.spare);
    (p.i == p.b.len()).then_some(seen)
}

impl<'a> P<'a> {
    /// After a member of an object: `true` after a comma (another member follows), `false`
    /// after the closing brace, `None` on anything else.
    #[inline]
    fn next_member(&mut self) -> Option<bool> {
        let c = *self.b.get(self.i)?;
        self.i += 1;
        match c {
            b',' => Some(true),
            b'}' => Some(false),
            _ => None,
        }
    }

    #[inline]
    fn eat(&mut self, c: u8) -> Option<()> {
        if self.b.get(self.i) == Some(&c) {
            self.i += 1;
            Some(())
        } else {
            None
        }
    }

    #[inline]
    fn word(&mut self, w: &[u8]) -> bool {
        if self.b[self.i..].starts_with(w) {
            self.i += w.len();
            true
        } else {
            false
        }
    }

    /// `null` (then `true`), else nothing read.
    #[inline]
    fn null(&mut self) -> bool {
        self.word(b"null")
    }

    /// A string without escapes or control characters, as it is in the line (keys).
    #[inline]
    pub(super) fn string(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.i;
        let j = self.plain_run(start);
        if self.b.get(j)? != &b'"' {
            return None;
        }
        self.i = j + 1;
        // both ends are at an ASCII quote, so on character boundaries
        self.s.get(start..j)
    }

    /// Where the run of characters from `j` that need no decoding ends (at a quote, a
    /// backslash, a control character, or the end of the line).
    #[inline]
    fn plain_run(&self, mut j: usize) -> usize {
        let b = self.b;
        // eight bytes at a time, then byte by byte
        while let Some(w) = b.get(j..j + 8) {
            let Ok(w) = <[u8; 8]>::try_from(w) else {
                break;
            };
            let m = stops(u64::from_le_bytes(w));
            if m != 0 {
                return j + (m.trailing_zeros() / 8) as usize;
            }
            j += 8;
        }
        while let Some(&c) = b.get(j) {
            if c == b'"' || c == b'\\' || c < 0x20 {
                break;
            }
            j += 1;
        }
        j
    }

    /// A string value as its own text: escapes of one character (`\\`, `\"`, `\/`, `\b`,
    /// `\f`, `\n`, `\r`, `\t`) decoded as serde_json decodes them; a `\u` escape or a control
    /// character is left to serde_json.
    #[inline]
    pub(super) fn owned(&mut self) -> Option<String> {
        // without escapes: copied at its length
        let at = self.i;
        if let Some(s) = self.string() {
            return Some(s.to_owned());
        }
        self.i = at;
        let mut out = String::new();
        self.owned_into(&mut out)?;
        Some(out)
    }

    /// [`P::owned`] into `out` (what it held replaced), reusing its memory: a string without
    /// escapes that `out` holds already (records repeat names) is left as it is, not copied.
    #[inline]
    pub(super) fn owned_into(&mut self, out: &mut String) -> Option<()> {
        self.eat(b'"')?;
        let b = self.b;
        let start = self.i;
        let j = self.plain_run(start);
        if b.get(j) == Some(&b'"') {
            // compared as bytes: the text is taken as `str` only when copied
            if out.as_bytes() != b.get(start..j)? {
                out.clear();
                // from `start` to `j` is plain text between ASCII bytes: on character boundaries
                out.push_str(self.s.get(start..j)?);
            }
            self.i = j + 1;
            return Some(());
        }
        out.clear();
        self.escaped_into(out, start, j)
    }

    /// The rest of [`P::owned_into`]: a string with escapes, plain from `start` to `j`.
    #[inline(never)]
    fn escaped_into(&mut self, out: &mut String, mut start: usize, mut j: usize) -> Option<()> {
        let b = self.b;
        loop {
            // from `start` to `j` is plain text between ASCII bytes: on character boundaries
            out.push_str(self.s.get(start..j)?);
            match b.get(j)? {
                b'"' => {
                    self.i = j + 1;
                    return Some(());
                }
                b'\\' => {
                    out.push(match b.get(j + 1)? {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        _ => return None,
                    });
                    start = j + 2;
                    j = self.plain_run(start);
                }
                _ => return None,
            }
        }
    }

    /// A string holding a dotted quad in its usual form (each number 0 to 255 in at most three
    /// digits, no leading zero), as an address; else nothing read. What this takes,
    /// [`super::parse_ip`] reads alike.
    #[inline]
    fn quad(&mut self) -> Option<IpAddr> {
        let b = self.b;
        if b.get(self.i) != Some(&b'"') {
            return None;
        }
        let (quad, i) = quad_at(b, self.i + 1)?;
        if b.get(i) != Some(&b'"') {
            return None;
        }
        self.i = i + 1;
        Some(IpAddr::from(quad))
    }

    /// A non-negative integer as JSON writes it (no leading zero, no fraction or exponent
    /// following) that fits in a `u64`.
    #[inline]
    fn uint(&mut self) -> Option<u64> {
        let b = self.b;
        let start = self.i;
        let mut j = start;
        let mut v: u64 = 0;
        while let Some(&c) = b.get(j) {
            if !c.is_ascii_digit() {
                break;
            }
            v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
            j += 1;
        }
        let n = j - start;
        if n == 0 || (n > 1 && b[start] == b'0') {
            return None;
        }
        if matches!(b.get(j), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        self.i = j;
        Some(v)
    }

    /// An `i32` (Kerberos encryption types are negative too).
    #[inline]
    fn int(&mut self) -> Option<i32> {
        if self.eat(b'-').is_some() {
            let v = self.uint()?;
            i32::try_from(-i64::try_from(v).ok()?).ok()
        } else {
            i32::try_from(self.uint()?).ok()
        }
    }

    /// A non-negative number without exponent whose digits make an integer below 2^53: read as
    /// serde_json reads it (the digits as an integer, exact in an `f64`, divided by the power of
    /// ten of the fraction, exact too: one correctly rounded division).
    #[inline]
    pub(super) fn f64(&mut self) -> Option<f64> {
        const POW10: [f64; 18] = [
            1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
            1e16, 1e17,
        ];
        let b = self.b;
        let start = self.i;
        let (mut v, mut j) = digits(b, start, 0);
        let int_digits = j - start;
        if int_digits == 0 || int_digits > 17 || (int_digits > 1 && b[start] == b'0') {
            return None;
        }
        let mut frac = 0usize;
        if b.get(j) == Some(&b'.') {
            let (w, k) = digits(b, j + 1, v);
            frac = k - (j + 1);
            if frac == 0 || int_digits + frac > 17 {
                return None;
            }
            (v, j) = (w, k);
        }
        if matches!(b.get(j), Some(b'e' | b'E')) || v > 1 << 53 {
            return None;
        }
        self.i = j;
        Some(v as f64 / POW10[frac])
    }

    /// A value of a call's arguments as serde_json reads it into a `Value`: strings, integers,
    /// `true`, `false`, `null`, lists and objects (a key given twice: the last value, at the
    /// first one's place); a fraction, an exponent, `-0` or nesting deeper than [`MAX_DEPTH`]
    /// is left to serde_json.
    fn value(&mut self, depth: usize) -> Option<serde_json::Value> {
        use serde_json::Value;
        if depth >= MAX_DEPTH {
            return None;
        }
        Some(match *self.b.get(self.i)? {
            b'"' => Value::String(self.owned()?),
            b'{' => Value::Object(self.object(depth + 1)?),
            b'[' => Value::Array(self.list(|p| p.value(depth + 1))?),
            b't' if self.word(b"true") => Value::Bool(true),
            b'f' if self.word(b"false") => Value::Bool(false),
            b'n' if self.null() => Value::Null,
            b'-' => {
                self.i += 1;
                let v = i64::try_from(self.uint()?).ok()?;
                if v == 0 {
                    return None;
                }
                Value::from(-v)
            }
            _ => Value::from(self.uint()?),
        })
    }

    /// An object of [`P::value`]s.
    fn object(&mut self, depth: usize) -> Option<Args> {
        self.eat(b'{')?;
        let mut o = Args::new();
        if self.eat(b'}').is_some() {
            return Some(o);
        }
        loop {
            let k = self.owned()?;
            self.eat(b':')?;
            let v = self.value(depth)?;
            o.insert(k, v);
            match self.b.get(self.i)? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    return Some(o);
                }
                _ => return None,
            }
        }
    }

    /// [`P::object`] into `o` (any map: what it holds is replaced), reusing its entries while
    /// the keys come in its order: each such value is read in place (a string into its
    /// string). At the first other key the rest of `o` is dropped and the members are inserted
    /// as [`P::object`] inserts them, so `o` ends as [`P::object`] would make it.
    fn object_into(&mut self, o: &mut Args, depth: usize) -> Option<()> {
        self.eat(b'{')?;
        let mut kept = 0;
        // a key that is not the next of `o`'s, with the member's value still to read
        let mut other: Option<String> = None;
        if self.eat(b'}').is_none() {
            let mut it = o.iter_mut();
            loop {
                let at = self.i;
                let Some(k) = self.string() else {
                    self.i = at;
                    other = Some(self.owned()?);
                    break;
                };
                match it.next() {
                    Some((have, v)) if have.as_str() == k => {
                        self.eat(b':')?;
                        self.value_into(v, depth)?;
                        kept += 1;
                    }
                    _ => {
                        other = Some(k.to_owned());
                        break;
                    }
                }
                if !self.next_member()? {
                    break;
                }
            }
        }
        if kept < o.len() {
            let mut n = 0;
            o.retain(|_, _| {
                n += 1;
                n <= kept
            });
        }
        let Some(mut k) = other else {
            return Some(());
        };
        loop {
            self.eat(b':')?;
            let v = self.value(depth)?;
            o.insert(k, v);
            if !self.next_member()? {
                return Some(());
            }
            k = self.owned()?;
        }
    }

    /// [`P::value`] into `v`, a string into the string `v` holds.
    #[inline]
    fn value_into(&mut self, v: &mut serde_json::Value, depth: usize) -> Option<()> {
        match (self.b.get(self.i)?, &mut *v) {
            (b'"', serde_json::Value::String(s)) => self.owned_into(s),
            _ => {
                *v = self.value(depth)?;
                Some(())
            }
        }
    }

    /// [`P::list`] into `v` (cleared first), reusing its memory.
    #[inline]
    fn list_into<T>(
        &mut self,
        v: &mut Vec<T>,
        mut item: impl FnMut(&mut Self) -> Option<T>,
    ) -> Option<()> {
        self.eat(b'[')?;
        v.clear();
        if self.eat(b']').is_some() {
            return Some(());
        }
        loop {
            v.push(item(self)?);
            match self.b.get(self.i)? {
                b',' => self.i += 1,
                b']' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// A value read by serde_json where it stands (a call's arguments, an unknown field).
    fn serde<T: serde::de::DeserializeOwned>(&mut self) -> Option<T> {
        let rest = self.s.get(self.i..)?;
        let mut it = serde_json::Deserializer::from_str(rest).into_iter::<T>();
        let v = it.next()?.ok()?;
        self.i += it.byte_offset();
        Some(v)
    }

    /// A list of `item`s.
    #[inline]
    fn list<T>(&mut self, mut item: impl FnMut(&mut Self) -> Option<T>) -> Option<Vec<T>> {
        self.eat(b'[')?;
        let mut v = Vec::new();
        if self.eat(b']').is_some() {
            return Some(v);
        }
        loop {
            v.push(item(self)?);
            match self.b.get(self.i)? {
                b',' => self.i += 1,
                b']' => {
                    self.i += 1;
                    return Some(v);
                }
                _ => return None,
            }
        }
    }
}

/// The four numbers of a dotted quad in its usual form (each 0 to 255 in at most three digits,
/// no leading zero, a dot between them) from `b[i..]`, and where they end; the caller says what
/// must follow (a quote in a JSON line, the end of a MessagePack string). Shared by both readers.
#[inline(always)]
pub(super) fn quad_at(b: &[u8], mut i: usize) -> Option<([u8; 4], usize)> {
    let mut quad = [0u8; 4];
    for (k, q) in quad.iter_mut().enumerate() {
        let d0 = b.get(i)?.wrapping_sub(b'0');
        if d0 > 9 {
            return None;
        }
        let mut v = u32::from(d0);
        let mut n = 1;
        while n < 3 {
            let Some(d) = b
                .get(i + n)
                .map(|c| c.wrapping_sub(b'0'))
                .filter(|&d| d <= 9)
            else {
                break;
            };
            v = v * 10 + u32::from(d);
            n += 1;
        }
        if (n > 1 && d0 == 0) || v > 255 {
            return None;
        }
        *q = v as u8;
        i += n;
        if k < 3 {
            if b.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
    }
    Some((quad, i))
}

/// The run of ASCII digits of `b` from `j` read onto `v` (`v * 10 + digit` each, wrapping
/// past `u64`: the caller refuses runs that long), and where the run ends: eight bytes at a
/// time while there are eight, and the digits of the last eight bytes together when there are
/// four or more of them, else one by one.
#[inline(always)]
fn digits(b: &[u8], mut j: usize, mut v: u64) -> (u64, usize) {
    /// `10^n` for `n` below 8.
    const POW10: [u64; 8] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000];
    const ZEROS: u64 = 0x3030_3030_3030_3030;
    while j + 8 <= b.len() {
        let w = word(b, j);
        let n = leading_digits(w);
        if n == 8 {
            v = v.wrapping_mul(100_000_000).wrapping_add(eight_digits(w));
            j += 8;
            continue;
        }
        if n >= 4 {
            // the `n` digits moved up to the top bytes (the last digit the lowest place), the
            // bytes below them made zeros: the same value
            let w = (w << (8 * (8 - n))) | (ZEROS >> (8 * n));
            v = v.wrapping_mul(POW10[n]).wrapping_add(eight_digits(w));
            return (v, j + n);
        }
        break;
    }
    while let Some(&c) = b.get(j) {
        if !c.is_ascii_digit() {
            break;
        }
        v = v.wrapping_mul(10).wrapping_add(u64::from(c - b'0'));
        j += 1;
    }
    (v, j)
}

/// How many of the bytes of `w` (eight bytes of a line, the first in the low byte), from the
/// first, are ASCII digits (8: all).
#[inline]
fn leading_digits(w: u64) -> usize {
    const HIGH: u64 = 0xF0F0_F0F0_F0F0_F0F0;
    const THREES: u64 = 0x3030_3030_3030_3030;
    // a byte is a digit when its high half is 3, and still 3 with 6 added; a byte that is not
    // a digit has a bit set here. A byte carries into the next one only when it is not a digit
    // itself, so the lowest byte with a bit set is the first byte that is not a digit.
    let x = ((w & HIGH) ^ THREES) | ((w.wrapping_add(0x0606_0606_0606_0606) & HIGH) ^ THREES);
    (x.trailing_zeros() / 8) as usize
}

/// The value of the eight ASCII digits of `w` (the first in the low byte, the highest place).
#[inline]
fn eight_digits(w: u64) -> u64 {
    // pairs, fours, then all eight
    let w = w - 0x3030_3030_3030_3030;
    let w = (w.wrapping_mul(10).wrapping_add(w >> 8)) & 0x00FF_00FF_00FF_00FF;
    let w = (w.wrapping_mul(100).wrapping_add(w >> 16)) & 0x0000_FFFF_0000_FFFF;
    (w.wrapping_mul(10_000).wrapping_add(w >> 32)) & 0xFFFF_FFFF
}

/// The bytes of `w` (eight bytes of a line, the first in the low byte) that stop a run of plain
/// string text: a quote, a backslash or a control character. The lowest byte flagged (its high
/// bit set) is the first such byte; bytes above it may be flagged wrongly (a borrow carried up),
/// which does not matter as only the first is used.
#[inline]
fn stops(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let q = w ^ (ONES * u64::from(b'"'));
    let s = w ^ (ONES * u64::from(b'\\'));
    let zero = |x: u64| x.wrapping_sub(ONES) & !x;
    (zero(q) | zero(s) | (w.wrapping_sub(ONES * 0x20) & !w)) & HIGH
}

/// `null` as `None`, else the value `read` reads.
#[inline]
fn opt<'a, T>(p: &mut P<'a>, read: impl FnOnce(&mut P<'a>) -> Option<T>) -> Option<Option<T>> {
    if p.null() {
        return Some(None);
    }
    read(p).map(Some)
}

/// A field's type as the fast path reads it.
pub(super) trait Fast: Sized + super::Clear {
    fn fast(p: &mut P<'_>) -> Option<Self>;

    /// Reads into `slot`, reusing what it holds where the type can (strings, lists), and what
    /// is parked for the field ([`P::f`]).
    #[inline]
    fn fast_into(p: &mut P<'_>, slot: &mut Self) -> Option<()> {
        *slot = Self::fast(p)?;
        Some(())
    }

    /// Makes field `f` absent (see [`super::Clear`]), parking the memory it held in `spare`.
    #[inline]
    fn park(slot: &mut Self, _f: usize, _spare: &mut Spare) {
        super::Clear::clear(slot);
    }
}

impl Fast for Option<String> {
    #[inline]
    fn fast(p: &mut P<'_>) -> Option<Self> {
        opt(p, P::owned)
    }

    #[inline]
    fn fast_into(p: &mut P<'_>, slot: &mut Self) -> Option<()> {
        if p.b.get(p.i) != Some(&b'"') {
            p.null().then_some(())?;
            Self::park(slot, p.f, p.spare);
            return Some(());
        }
        if slot.is_none() {
            *slot = Some(p.spare.take(p.f));
        }
        p.owned_into(slot.as_mut()?)
    }

    #[inline]
    fn park(slot: &mut Self, f: usize, spare: &mut Spare) {
        if let Some(s) = slot.take() {
            spare.put(f, s);
        }
    }
}

macro_rules! fast_uint {
    ($($t:ty),*) => {$(
        impl Fast for Option<$t> {
            #[inline]
            fn fast(p: &mut P<'_>) -> Option<Self> {
                opt(p, |p| <$t>::try_from(p.uint()?).ok())
            }
        }
        impl Fast for Vec<$t> {
            fn fast(p: &mut P<'_>) -> Option<Self> {
                p.list(|p| <$t>::try_from(p.uint()?).ok())
            }

            fn fast_into(p: &mut P<'_>, slot: &mut Self) -> Option<()> {
                p.list_into(slot, |p| <$t>::try_from(p.uint()?).ok())
            }
        }
    )*};
}

fast_uint!(u16, u64, u32);

impl Fast for Option<i32> {
    #[inline]
    fn fast(p: &mut P<'_>) -> Option<Self> {
        opt(p, P::int)
    }
}

impl Fast for Vec<i32> {
    fn fast(p: &mut P<'_>) -> Option<Self> {
        p.list(P::int)
    }

    fn fast_into(p: &mut P<'_>, slot: &mut Self) -> Option<()> {
        p.list_into(slot, P::int)
    }
}

impl Fast for Option<f64> {
    #[inline]
    fn fast(p: &mut P<'_>) -> Option<Self> {
        opt(p, P::f64)
    }
}

impl Fast for Option<bool> {
    #[inline]
    fn fast(p: &mut P<'_>) -> Option<Self> {
        if p.word(b"true") {
            Some(Some(true))
        } else if p.word(b"false") {
            Some(Some(false))
        } else if p.null() {
            Some(None)
        } else {
            None
        }
    }
}

impl Fast for Option<Code> {
    fn fast(p: &mut P<'_>) -> Option<Self> {
        match p.b.get(p.i)? {
            b'"' => Some(Some(Code::Name(p.owned()?))),
            b't' if p.word(b"true") => Some(Some(Code::Num(1))),
            b'f' if p.word(b"false") => Some(Some(Code::Num(0))),
            b'n' if p.null() => Some(None),
            // as the general reader: a number above i64's range wraps
            _ => Some(Some(Code::Num(p.uint()? as i64))),
        }
    }

    #[inline]
    fn fast_into(p: &mut P<'_>, slot: &mut Self) -> Option<()> {
        if p.b.get(p.i)? == &b'"' {
            if !matches!(slot, Some(Code::Name(_))) {
                *slot = Some(Code::Name(p.spare.take(p.f)));
            }
            if let Some(Code::Name(s)) = slot {
                return p.owned_into(s);
            }
        }
        let v = Self::fast(p)?;
        Self::park(slot, p.f, p.spare);
        *slot = v;
        Some(())
    }

    #[inline]
    fn park(slot: &mut Self, f: usize, spare: &mut Spare) {
        if let Some(Code::Name(s)) = slot.take() {
            spare.put(f, s);
        }
    }
}

impl Fast for Vec<String> {
    fn fast(p: &mut P<'_>) -> Option<Self> {
        p.list(P::owned)
    }

    /// The list's strings are read into those `slot` holds (or, when it holds none, those
    /// parked for the field), then into new ones.
    fn fast_into(p: &mut P<'_>, slot: &mut Self) -> Option<()> {
        p.eat(b'[')?;
        let mut n = 0;
        if p.eat(b']').is_none() {
            if slot.is_empty() {
                if let Some(parked) = p.spare.lists.get_mut(p.f) {
                    std::mem::swap(slot, parked);
                }
            }
            loop {
                match slot.get_mut(n) {
                    Some(s) => p.owned_into(s)?,
                    None => slot.push(p.owned()?),
                }
                n += 1;
                match p.b.get(p.i)? {
                    b',' => p.i += 1,
                    b']' => {
                        p.i += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        slot.truncate(n);
        Some(())
    }

    #[inline]
    fn park(slot: &mut Self, f: usize, spare: &mut Spare) {
        match spare.lists.get_mut(f) {
            Some(parked) if !slot.is_empty() && parked.is_empty() => std::mem::swap(slot, parked),
            _ => slot.clear(),
        }
    }
}

impl Fast for Option<IpAddr> {
    #[inline]
    fn fast(p: &mut P<'_>) -> Option<Self> {
        opt(p, |p| match p.quad() {
            Some(ip) => Some(ip),
            None => super::parse_ip(p.string()?),
        })
    }
}

impl Fast for Option<Arc<Args>> {
    fn fast(p: &mut P<'_>) -> Option<Self> {
        opt(p, |p| Some(Arc::new(p.object(0)?)))
    }

    /// Shared from [`Spare::args`] when the line's object begins with the text of one kept
    /// there; else read into a new map (into the memory of the map the oldest kept text goes
    /// with, when no record holds it) and kept with its text.
    fn fast_into(p: &mut P<'_>, slot: &mut Self) -> Option<()> {
        *slot = None;
        if p.b.get(p.i) != Some(&b'{') {
            return p.null().then_some(());
        }
        let rest = p.b.get(p.i..)?;
        let kept = &mut p.spare.args;
        if let Some(k) = kept
            .iter()
            .position(|(t, _)| rest.starts_with(t.as_bytes()))
        {
            kept[..=k].rotate_right(1);
            let (t, a) = &kept[0];
            p.i += t.len();
            *slot = Some(Arc::clone(a));
            return Some(());
        }
        let (mut text, mut a) = if kept.len() >= ARGS_KEPT {
            kept.pop().unwrap_or_default()
        } else {
            Default::default()
        };
        if Arc::get_mut(&mut a).is_none() {
            a = Arc::default();
        }
        let start = p.i;
        p.object_into(Arc::get_mut(&mut a)?, 0)?;
        text.clear();
        text.push_str(p.s.get(start..p.i)?);
        *slot = Some(Arc::clone(&a));
        p.spare.args.insert(0, (text, a));
        Some(())
    }

    #[inline]
    fn park(slot: &mut Self, _f: usize, _spare: &mut Spare) {
        *slot = None;
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Fill, Rec};
    use std::sync::Arc;

    /// A parser at the start of `line`, before any field.
    fn parser<'a>(line: &'a str, spare: &'a mut super::Spare) -> super::P<'a> {
        super::P {
            s: line,
            b: line.as_bytes(),
            i: 0,
            spare,
            f: 0,
        }
    }

    /// The general reader's result for a line.
    fn general(line: &str) -> Result<Rec, String> {
        let mut r = Rec::default();
        let mut de = serde_json::Deserializer::from_str(line);
        serde::Deserializer::deserialize_map(&mut de, Fill(&mut r)).map_err(|e| e.to_string())?;
        de.end().map_err(|e| e.to_string())?;
        Ok(r)
    }

    fn fast(line: &str) -> Option<Rec> {
        let mut r = Rec::default();
        super::read(line, &mut r, 0).map(|_| r)
    }

    /// A record read into line after line, with the fields it may hold (as
    /// [`super::super::LineRec`] keeps them; every field after a line the fast path refused, as
    /// the record then holds part of that line).
    #[derive(Default)]
    struct Used {
        r: Rec,
        held: u128,
    }

    impl Used {
        fn read(&mut self, line: &str) -> Option<()> {
            let seen = super::read(line, &mut self.r, self.held);
            self.held = seen.unwrap_or(super::super::ALL);
            seen.map(|_| ())
        }
    }

    const SENSOR_LINES: &[&str] = &[
        r#"{"ts":1704067230.0,"type":"dns","src":"113.234.123.170","sport":12345,"dst":"121.218.105.168","dport":53,"proto":"udp","id":4369,"opcode":"QUERY","query":"example.com","qtype":"LOC","qclass":"IN","rcode":"NOERROR","flags":["rd","ra"],"answers":["\\# 15 000102030405060708090a0b0c0d0e"],"ttls":[60]}"#,
        r#"{"ts":1704067230.030681,"type":"ldap","src":"113.154.58.163","sport":37618,"dst":"113.154.58.168","dport":389,"proto":"tcp","op":"bind","bind":"sicily","name":"User1","success":true,"result":"success","rtt":0.001094}"#,
        r#"{"ts":1704067231.5,"type":"kerberos","src":"10.0.0.5","sport":50000,"dst":"10.0.0.1","dport":88,"proto":"tcp","request":"TGS-REQ","client":"bob","realm":"EX.ORG","service":"cifs/dc1","etypes":[18,17,23,-128],"kdc_options":["forwardable"],"preauth":[2],"till":2000000000.0,"reply":"KRB-ERROR","error":"KDC_ERR_S_PRINCIPAL_UNKNOWN","error_etypes":[],"pac_request":null}"#,
        r#"{"ts":12.25,"type":"dcerpc","src":"fe80::1","dst":"10.0.0.1","interface":"netlogon","opnum":26,"operation":"NetrServerAuthenticate3","args":{"account":"DC1$","credential_zero":true,"names":["a","b"],"n":3},"status":7,"auth_level":"privacy","fault":null,"stub_bytes":120}"#,
        r#"{"ts":3,"type":"smb","extra_field":{"x":[1,2,{"y":null}]},"share":"C$","access":["read"],"bytes_read":18446744073709551615}"#,
        r#"{"ts":1704067230.030681,"type":"dcerpc","named_pipe":"\\pipe\\lsarpc","user":"EX\\bob","query":"a\"b\/c\n\t\r\b\f","kdc_options":["x\\y",""]}"#,
        r#"{"ts":4,"type":"smb","src":"0.0.0.0","dst":"255.255.255.255","action":"read","access":["a","b","c"],"status":"STATUS_SUCCESS"}"#,
        r#"{"ts":4,"type":"smb","src":"::ffff:10.0.0.1","dst":"2001:db8::1","access":[]}"#,
        r#"{"ts":5,"type":"dcerpc","args":{"a":-5,"b":[],"c":{},"d":{"e":[1,-2,"x\\y",true,null]},"a":7,"k\"q":false,"u":18446744073709551615}}"#,
        r#"{}"#,
        r#"{"type":"stats"}"#,
    ];

    #[test]
    fn the_sensors_lines_take_the_fast_path_and_read_as_serde_json_reads_them() {
        let mut used = Used::default();
        for line in SENSOR_LINES.iter().chain(SENSOR_LINES.iter().rev()) {
            let f = fast(line).unwrap_or_else(|| panic!("not on the fast path: {line}"));
            assert_eq!(Ok(f.clone()), general(line), "{line}");
            // into a record that held another line: the same
            assert!(used.read(line).is_some());
            assert_eq!(used.r, f, "{line}");
        }
    }

    #[test]
    fn other_lines_are_left_to_serde_json() {
        let lines = [
            r#"{ "ts":1.0,"type":"dns"}"#,
            r#"{"ts":1.0,"type":"dns","query":"caf\u00e9"}"#,
            r#"{"ts":1e9,"type":"dns"}"#,
            r#"{"ts":-1.5,"type":"dns"}"#,
            r#"{"ts":1704067230.0306812345,"type":"dns"}"#,
            r#"{"ts":1.0,"type":"dns","ts":2.0}"#,
            r#"{"ts":1.0,"type":"dns"} x"#,
            r#"{"ts":1.0,"type":null}"#,
            r#"{"ts":1.0,"type":"dns","sport":70000}"#,
            r#"{"ts":1.0,"type":"dns","sport":-1}"#,
            r#"{"ts":1.0,"type":"dns","src":"not an address"}"#,
            r#"{"ts":1.0,"type":"dns","ttls":null}"#,
            r#"{"ts":1.0,"type":"dns","id":1.5}"#,
            r#"{"ts":01,"type":"dns"}"#,
            r#"{"ts":1.,"type":"dns"}"#,
            r#"{"ts":1.0,"type":"dns","args":[1]}"#,
            r#"{"ts":1.0,"type":"dns""#,
            r#"[1,2]"#,
        ];
        for line in lines {
            assert!(fast(line).is_none(), "taken by the fast path: {line}");
        }
    }

    /// Calls' arguments whose texts share long beginnings (one number longer, one more member,
    /// nested deeper), more of them than are kept, read in a random order with other records
    /// between and some records held (as the engine holds evidence): each reads as serde_json
    /// reads it, a text read again is shared with the last record that had it, and the maps
    /// held never change.
    #[test]
    fn arguments_read_again_are_shared_and_read_as_serde_json_reads_them() {
        let mut args: Vec<String> = Vec::new();
        for i in 1..7 {
            args.push(format!(r#"{{"a":"x","n":{i}}}"#));
            args.push(format!(r#"{{"a":"x","n":{i}0}}"#));
            args.push(format!(r#"{{"a":"x","n":{i},"m":"y"}}"#));
            args.push(format!(r#"{{"a":{{"b":[{i},"c\"d"]}}}}"#));
        }
        args.push("{}".to_string());
        args.push(r#"{"a":"x","n":1,"a":"z"}"#.to_string());
        let mut next = crate::base::xorshift(0x5851_f42d_4c95_7f2du64);
        let json = |r: &Rec| serde_json::to_string(r).unwrap();
        let mut used = Used::default();
        let mut held: Vec<(Rec, String)> = Vec::new();
        let mut last: Vec<Option<Rec>> = vec![None; args.len()];
        let mut shared = 0;
        for _ in 0..20_000 {
            let k = (next() % (args.len() as u64 + 2)) as usize;
            let line = match args.get(k) {
                Some(a) if next() % 2 == 0 => {
                    format!(r#"{{"ts":1.5,"type":"dcerpc","args":{a},"status":7}}"#)
                }
                Some(a) => format!(r#"{{"ts":1.5,"type":"dcerpc","args":{a}}}"#),
                None if k == args.len() => r#"{"ts":2.5,"type":"dns","query":"a"}"#.to_string(),
                None => r#"{"ts":2.5,"type":"dcerpc","args":null}"#.to_string(),
            };
            let g = general(&line).unwrap();
            assert!(used.read(&line).is_some(), "{line}");
            let used = &used.r;
            assert_eq!(used, &g, "{line}");
            assert_eq!(json(used), json(&g), "{line}");
            if let Some(prev) = last.get_mut(k) {
                let a = used.args.as_ref().unwrap();
                if prev
                    .as_ref()
                    .is_some_and(|p| Arc::ptr_eq(p.args.as_ref().unwrap(), a))
                {
                    shared += 1;
                }
                *prev = Some(used.clone());
            }
            if next() % 16 == 0 {
                held.push((used.clone(), json(used)));
            }
        }
        // most texts read again were still kept (8 of 26 at random)
        assert!(shared > 3_000, "{shared} shared");
        for (h, was) in &held {
            assert_eq!(&json(h), was);
        }
    }

    /// Calls' arguments of different keys (shared, reordered, given twice, escaped, nested),
    /// read one after the other into one record in every order of three: each reads as
    /// serde_json reads it, keys in the same order (what an alert's evidence shows).
    #[test]
    fn arguments_read_into_the_last_records_maps_as_serde_json_reads_them() {
        let args = [
            r#"{"a":"x","b":1}"#,
            r#"{"a":"yy","b":"z","c":[1]}"#,
            r#"{"a":2}"#,
            r#"{"b":1,"a":"x"}"#,
            r#"{}"#,
            r#"{"a":"x","a":"w"}"#,
            r#"{"a":"x","b":2,"a":3}"#,
            r#"{"k\"q":"v","a":"x"}"#,
            r#"{"a":"x","k\"q":"v"}"#,
            r#"{"a":{"b":"c"},"b":"d\n"}"#,
            r#"{"a":"x","b":1,"c":2,"d":3,"e":4,"f":5,"g":6,"h":7,"i":8,"j":9}"#,
            "null",
        ];
        let mut lines: Vec<String> = args
            .iter()
            .map(|a| format!(r#"{{"ts":1.5,"type":"dcerpc","args":{a}}}"#))
            .collect();
        lines.push(r#"{"ts":2.5,"type":"dns","query":"a"}"#.to_string());
        let json = |r: &Rec| serde_json::to_string(r).unwrap();
        let mut used = Used::default();
        let mut held = Vec::new();
        for (n, x) in lines.iter().enumerate() {
            for y in &lines {
                for z in &lines {
                    for l in [x, y, z] {
                        let g = general(l).unwrap();
                        assert!(used.read(l).is_some(), "{l}");
                        assert_eq!(used.r, g, "{l}");
                        assert_eq!(json(&used.r), json(&g), "{l}");
                    }
                }
                // now and then a record holds the maps read (as the engine keeps evidence)
                if n % 3 == 0 {
                    held.push((used.r.clone(), json(&used.r)));
                }
            }
        }
        // and later lines did not change them
        for (h, was) in &held {
            assert_eq!(&json(h), was);
        }
    }

    /// Numbers of every length up to 20 digits, with and without a fraction, read eight digits
    /// at a time: what the fast path takes reads as serde_json reads it, and it takes every
    /// number of at most 15 digits.
    #[test]
    fn numbers_read_as_serde_json_reads_them() {
        let mut next = crate::base::xorshift(0x2545_f491_4f6c_dd1du64);
        let mut spare = super::Spare::new();
        for _ in 0..100_000 {
            let int = 1 + (next() % 20) as usize;
            let frac = (next() % 21) as usize;
            let mut t: String = (0..int)
                .map(|_| char::from(b'0' + (next() % 10) as u8))
                .collect();
            if next() % 4 == 0 {
                t.replace_range(0..1, "0");
            }
            if next() % 3 > 0 {
                t.push('.');
                t.extend((0..frac).map(|_| char::from(b'0' + (next() % 10) as u8)));
            }
            let end = [",", "}", "e5", "", "x"][(next() % 5) as usize];
            let line = format!("{t}{end}");
            let mut p = parser(&line, &mut spare);
            let got = p.f64();
            if let Some(v) = got {
                assert_eq!(p.i, t.len(), "{line}");
                assert_eq!(
                    Ok(v),
                    serde_json::from_str::<f64>(&t).map_err(|_| ()),
                    "{line}"
                );
            } else {
                let plain = !t.starts_with('0') || t.len() == 1 || t.starts_with("0.");
                let n = t.len() - usize::from(t.contains('.'));
                let well = !t.ends_with('.') && !end.starts_with('e');
                assert!(!(plain && well && n <= 15), "not taken: {line}");
            }
        }
    }

    /// Runs of digits read eight bytes at a time (whole words, and a word's leading digits)
    /// end where a byte-by-byte scan ends and have its value, whatever follows them (bytes next
    /// to the digits' codes, bytes that carry when added to), from every place in the bytes.
    #[test]
    fn digit_runs_read_as_a_byte_by_byte_scan_reads_them() {
        let alphabet = [
            b'0', b'1', b'5', b'8', b'9', b'/', b':', b'.', b',', b'}', 0x00, 0x29, 0x3f, 0x40,
            0x7f, 0x80, 0xb9, 0xf9, 0xfa, 0xff,
        ];
        let mut next = crate::base::xorshift(0x0bad_cafe_1234_5678u64);
        for _ in 0..20_000 {
            let n = (next() % 40) as usize;
            let b: Vec<u8> = (0..n)
                .map(|_| match next() % 3 {
                    0 => alphabet[(next() % alphabet.len() as u64) as usize],
                    _ => b'0' + (next() % 10) as u8,
                })
                .collect();
            let v0 = next() % 1000;
            for start in 0..=n {
                let mut v = v0;
                let mut j = start;
                while j < n && b[j].is_ascii_digit() {
                    v = v.wrapping_mul(10).wrapping_add(u64::from(b[j] - b'0'));
                    j += 1;
                }
                assert_eq!(
                    super::digits(&b, start, v0),
                    (v, j),
                    "{b:02x?} from {start}"
                );
            }
        }
    }

    /// Addresses read from the line directly where they are dotted quads in their usual form:
    /// as the general parser reads them, and every other text left to it.
    #[test]
    fn dotted_quads_read_as_the_general_parser_reads_them() {
        let mut spare = super::Spare::new();
        for t in super::super::tests::address_texts() {
            let line = format!("\"{t}\",");
            let mut p = parser(&line, &mut spare);
            let general = t.parse::<std::net::Ipv4Addr>().ok();
            match p.quad() {
                Some(ip) => {
                    assert_eq!(Some(ip), general.map(std::net::IpAddr::from), "{t:?}");
                    assert_eq!(p.i, line.len() - 1, "{t:?}");
                }
                None => {
                    assert_eq!(p.i, 0, "{t:?}");
                    // only forms other than the usual one are left
                    assert!(general.is_none_or(|g| g.to_string() != t), "{t:?}");
                }
            }
        }
    }

    /// A string read into a string that held another (the same, one of the same length, a
    /// beginning or a continuation of it, the text an escape decodes to, with room or without):
    /// it then holds the string read, and the reader is past its closing quote.
    #[test]
    fn a_string_read_into_one_that_held_another_holds_the_string_read() {
        let texts = [
            ("", ""),
            ("udp", "udp"),
            ("tcp", "tcp"),
            ("ab", "ab"),
            ("abc", "abc"),
            ("a", "a"),
            ("ab\\c", "ab\\\\c"),
            ("a\"b", "a\\\"b"),
            (
                "12345678-1234-abcd-ef00-0123456789ac",
                "12345678-1234-abcd-ef00-0123456789ac",
            ),
            (
                "12345678-1234-abcd-ef00-0123456789ab",
                "12345678-1234-abcd-ef00-0123456789ab",
            ),
            ("\\pipe\\samr", "\\\\pipe\\\\samr"),
        ];
        let mut spare = super::Spare::new();
        for (held, _) in texts {
            for (want, written) in texts {
                let line = format!("\"{written}\",");
                let mut p = parser(&line, &mut spare);
                let mut out = String::with_capacity(64);
                out.push_str(held);
                assert_eq!(p.owned_into(&mut out), Some(()), "{line}");
                assert_eq!(out, want, "{held:?} then {line}");
                assert_eq!(p.i, line.len() - 1, "{line}");
            }
        }
    }

    /// The run of plain text found eight bytes at a time ends where a byte-by-byte scan ends.
    #[test]
    fn the_plain_run_ends_where_a_byte_by_byte_scan_ends() {
        let alphabet = [
            0x00, 0x01, 0x1f, 0x20, 0x21, b'"', b'\\', 0x5b, 0x5d, 0x7f, 0x80, 0xa2, 0xdc, 0xff,
            b'a',
        ];
        let mut next = crate::base::xorshift(0x1234_5678_9abc_def1u64);
        for _ in 0..5_000 {
            let n = (next() % 40) as usize;
            let b: Vec<u8> = (0..n)
                .map(|_| match next() % 4 {
                    0 => alphabet[(next() % alphabet.len() as u64) as usize],
                    1 => next() as u8,
                    _ => b'a' + (next() % 26) as u8,
                })
                .collect();
            let mut spare = super::Spare::new();
            let p = super::P {
                s: "",
                b: &b,
                i: 0,
                spare: &mut spare,
                f: 0,
            };
            for start in 0..=n {
                let naive = (start..n)
                    .find(|&j| b[j] == b'"' || b[j] == b'\\' || b[j] < 0x20)
                    .unwrap_or(n);
                assert_eq!(p.plain_run(start), naive, "{b:02x?} from {start}");
            }
        }
    }

    /// Every line made by changing a byte or two of the sensor's lines reads the same on both
    /// paths whenever the fast path takes it.
    #[test]
    fn altered_lines_read_alike_on_both_paths() {
        let alphabet = b"0123456789.-eE\"\\{}[],: atfnul\x01x";
        let mut next = crate::base::xorshift(0x9e37_79b9_7f4a_7c15u64);
        let mut taken = 0;
        // read into one record from line to line too: what the last line left in it (read or
        // not) must not show
        let mut used = Used::default();
        for _ in 0..40_000 {
            let base = SENSOR_LINES[(next() % SENSOR_LINES.len() as u64) as usize].as_bytes();
            let mut b = base.to_vec();
            for _ in 0..1 + next() % 2 {
                let at = (next() % b.len() as u64) as usize;
                let c = alphabet[(next() % alphabet.len() as u64) as usize];
                match next() % 3 {
                    0 => b[at] = c,
                    1 => b.insert(at, c),
                    _ => {
                        b.remove(at);
                    }
                }
                if b.is_empty() {
                    break;
                }
            }
            let Ok(line) = std::str::from_utf8(&b) else {
                continue;
            };
            let reused = used.read(line).map(|()| used.r.clone());
            if let Some(f) = fast(line) {
                taken += 1;
                let g = general(line);
                assert_eq!(Ok(f.clone()), g, "{line}");
                let json = |r: &Rec| serde_json::to_string(r).unwrap();
                assert_eq!(json(&f), json(&g.unwrap()), "{line}");
                assert_eq!(reused.as_ref().map(json), Some(json(&f)), "{line}");
                assert_eq!(reused, Some(f), "{line}");
            } else {
                assert_eq!(reused, None, "{line}");
            }
        }
        assert!(taken > 1000, "the fast path took {taken} altered lines");
    }
}
