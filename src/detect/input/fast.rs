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

use super::{clear_unseen, fast_field, field_of, Args, Code, Rec};
use std::net::IpAddr;
use std::sync::Arc;

/// Nesting this reader follows in a call's arguments; deeper is left to serde_json.
const MAX_DEPTH: usize = 32;

/// The line being read and where.
pub(super) struct P<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
}

/// Reads `line` into `r` (any record: the strings and lists it holds are reused, the fields the
/// line does not have are cleared); `None` when the line is not in the sensor's form (then `r`
/// holds part of it).
pub(super) fn read(line: &str, r: &mut Rec) -> Option<()> {
    let mut p = P {
        s: line,
        b: line.as_bytes(),
        i: 0,
    };
    p.eat(b'{')?;
    if p.eat(b'}').is_some() {
        clear_unseen(r, 0);
        return (p.i == p.b.len()).then_some(());
    }
    let mut seen = 0u128;
    let mut hint = 0;
    loop {
        let key = p.string()?;
        p.eat(b':')?;
        match field_of(key.as_bytes(), hint) {
            Some(f) => {
                let bit = 1u128 << (f as u8);
                if seen & bit != 0 {
                    return None;
                }
                seen |= bit;
                hint = f as usize + 1;
                fast_field(r, f, &mut p)?;
            }
            None => {
                p.serde::<serde::de::IgnoredAny>()?;
            }
        }
        match p.b.get(p.i)? {
            b',' => p.i += 1,
            b'}' => {
                p.i += 1;
                clear_unseen(r, seen);
                return (p.i == p.b.len()).then_some(());
            }
            _ => return None,
        }
    }
}

impl<'a> P<'a> {
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
        let mut out = String::new();
        self.owned_into(&mut out)?;
        Some(out)
    }

    /// [`P::owned`] into `out` (cleared first), reusing its memory.
    #[inline]
    pub(super) fn owned_into(&mut self, out: &mut String) -> Option<()> {
        out.clear();
        self.eat(b'"')?;
        let b = self.b;
        let mut start = self.i;
        let mut j = self.plain_run(start);
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
        let mut j = start;
        let mut v: u64 = 0;
        while let Some(&c) = b.get(j) {
            if !c.is_ascii_digit() {
                break;
            }
            v = v * 10 + u64::from(c - b'0');
            j += 1;
            if j - start > 17 {
                return None;
            }
        }
        let int_digits = j - start;
        if int_digits == 0 || (int_digits > 1 && b[start] == b'0') {
            return None;
        }
        let mut frac = 0usize;
        if b.get(j) == Some(&b'.') {
            j += 1;
            while let Some(&c) = b.get(j) {
                if !c.is_ascii_digit() {
                    break;
                }
                v = v * 10 + u64::from(c - b'0');
                j += 1;
                frac += 1;
                if int_digits + frac > 17 {
                    return None;
                }
            }
            if frac == 0 {
                return None;
            }
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
pub(super) trait Fast: Sized {
    fn fast(p: &mut P<'_>) -> Option<Self>;

    /// Reads into `slot`, reusing what it holds where the type can (strings, lists).
    #[inline]
    fn fast_into(p: &mut P<'_>, slot: &mut Self) -> Option<()> {
        *slot = Self::fast(p)?;
        Some(())
    }
}

impl Fast for Option<String> {
    #[inline]
    fn fast(p: &mut P<'_>) -> Option<Self> {
        opt(p, P::owned)
    }

    #[inline]
    fn fast_into(p: &mut P<'_>, slot: &mut Self) -> Option<()> {
        if p.null() {
            *slot = None;
            return Some(());
        }
        p.owned_into(slot.get_or_insert_with(String::new))
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
        match (p.b.get(p.i)?, slot) {
            (b'"', Some(Code::Name(s))) => p.owned_into(s),
            (_, slot) => {
                *slot = Self::fast(p)?;
                Some(())
            }
        }
    }
}

impl Fast for Vec<String> {
    fn fast(p: &mut P<'_>) -> Option<Self> {
        p.list(P::owned)
    }

    /// The list's strings are read into those `slot` holds, then into new ones.
    fn fast_into(p: &mut P<'_>, slot: &mut Self) -> Option<()> {
        p.eat(b'[')?;
        let mut n = 0;
        if p.eat(b']').is_none() {
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
}

impl Fast for Option<IpAddr> {
    #[inline]
    fn fast(p: &mut P<'_>) -> Option<Self> {
        opt(p, |p| super::parse_ip(p.string()?))
    }
}

impl Fast for Option<Arc<Args>> {
    fn fast(p: &mut P<'_>) -> Option<Self> {
        opt(p, |p| Some(Arc::new(p.object(0)?)))
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Fill, Rec};

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
        super::read(line, &mut r).map(|()| r)
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
        let mut used = Rec::default();
        for line in SENSOR_LINES.iter().chain(SENSOR_LINES.iter().rev()) {
            let f = fast(line).unwrap_or_else(|| panic!("not on the fast path: {line}"));
            assert_eq!(Ok(f.clone()), general(line), "{line}");
            // into a record that held another line: the same
            assert!(super::read(line, &mut used).is_some());
            assert_eq!(used, f, "{line}");
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

    /// The run of plain text found eight bytes at a time ends where a byte-by-byte scan ends.
    #[test]
    fn the_plain_run_ends_where_a_byte_by_byte_scan_ends() {
        let alphabet = [
            0x00, 0x01, 0x1f, 0x20, 0x21, b'"', b'\\', 0x5b, 0x5d, 0x7f, 0x80, 0xa2, 0xdc, 0xff,
            b'a',
        ];
        let mut seed = 0x1234_5678_9abc_def1u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..5_000 {
            let n = (next() % 40) as usize;
            let b: Vec<u8> = (0..n)
                .map(|_| match next() % 4 {
                    0 => alphabet[(next() % alphabet.len() as u64) as usize],
                    1 => next() as u8,
                    _ => b'a' + (next() % 26) as u8,
                })
                .collect();
            let p = super::P { s: "", b: &b, i: 0 };
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
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut taken = 0;
        // read into one record from line to line too: what the last line left in it (read or
        // not) must not show
        let mut used = Rec::default();
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
            let reused = super::read(line, &mut used).map(|()| used.clone());
            if let Some(f) = fast(line) {
                taken += 1;
                assert_eq!(Ok(f.clone()), general(line), "{line}");
                assert_eq!(reused, Some(f), "{line}");
            } else {
                assert_eq!(reused, None, "{line}");
            }
        }
        assert!(taken > 1000, "the fast path took {taken} altered lines");
    }
}
