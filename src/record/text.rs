//! Text in records without an allocation per record: short texts held inline ([`SmallText`]:
//! addresses, [`IpText`], uuids and versions), flag lists
//! as bit sets over a static table of names ([`Names`]), and DCE-RPC interface names
//! ([`InterfaceName`]). Each serializes exactly as the `String` or list it replaces.

use serde::{Serialize, Serializer};
use std::net::IpAddr;

/// Short text held inline (at most `N` bytes, no heap allocation), serialized and compared as
/// the string it holds: addresses, and the UUIDs and versions of `dcerpc` records.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SmallText<const N: usize> {
    buf: [u8; N],
    len: u8,
}

impl<const N: usize> SmallText<N> {
    /// `s` if it fits in `N` bytes (and 255), else `None`.
    pub fn new(s: &str) -> Option<Self> {
        let mut t = SmallText {
            buf: [0; N],
            len: 0,
        };
        std::fmt::Write::write_str(&mut t, s).ok()?;
        Some(t)
    }

    pub fn as_str(&self) -> &str {
        // SAFETY: `buf[..len]` only ever receives whole `&str`s (`fmt::Write::write_str` copies
        // all of one or nothing) or ASCII bytes (the `uuid`, `version` and `ip` constructors),
        // so it is UTF-8. (The checked conversion cost as much as formatting an address: two
        // addresses are written per record.)
        unsafe { std::str::from_utf8_unchecked(&self.buf[..usize::from(self.len)]) }
    }
}

impl<const N: usize> SmallText<N> {
    /// Appends `v` in decimal; the caller leaves room for its (up to 5) digits.
    fn push_decimal(&mut self, v: u16) {
        let mut digits = [0u8; 5];
        let mut n = 0;
        let mut v = v;
        loop {
            digits[n] = b'0' + (v % 10) as u8;
            n += 1;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        for &d in digits[..n].iter().rev() {
            self.buf[usize::from(self.len)] = d;
            self.len += 1;
        }
    }
}

impl<const N: usize> std::fmt::Write for SmallText<N> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let start = usize::from(self.len);
        let end = start + s.len();
        if end > usize::from(u8::MAX) {
            return Err(std::fmt::Error);
        }
        let slot = self.buf.get_mut(start..end).ok_or(std::fmt::Error)?;
        slot.copy_from_slice(s.as_bytes());
        self.len = end as u8;
        Ok(())
    }
}

impl<const N: usize> std::ops::Deref for SmallText<N> {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl<const N: usize> std::fmt::Debug for SmallText<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl<const N: usize> std::fmt::Display for SmallText<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<const N: usize> Serialize for SmallText<N> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A UUID as its canonical lowercase text (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`), inline.
pub type UuidText = SmallText<36>;

impl SmallText<36> {
    /// The canonical text of `u` (the UUID's 128 bits, first field in the high bits).
    pub fn uuid(u: u128) -> Self {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut t = SmallText {
            buf: [0; 36],
            len: 36,
        };
        let mut at = 0;
        for (i, b) in u.to_be_bytes().into_iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                t.buf[at] = b'-';
                at += 1;
            }
            t.buf[at] = HEX[usize::from(b >> 4)];
            t.buf[at + 1] = HEX[usize::from(b & 0xf)];
            at += 2;
        }
        t
    }
}

/// An interface version `major.minor` as text, inline (at most `65535.65535`).
pub type VersionText = SmallText<11>;

impl SmallText<11> {
    /// `major.minor` in decimal.
    pub fn version(major: u16, minor: u16) -> Self {
        let mut t = SmallText {
            buf: [0; 11],
            len: 0,
        };
        t.push_decimal(major);
        t.buf[usize::from(t.len)] = b'.';
        t.len += 1;
        t.push_decimal(minor);
        t
    }
}

/// A `dcerpc` record's endpoint, `tcp/PORT` or `udp/PORT`, inline.
pub type EndpointText = SmallText<9>;

impl SmallText<9> {
    /// `udp/PORT` when `udp`, else `tcp/PORT`.
    pub fn endpoint(udp: bool, port: u16) -> Self {
        let mut t = SmallText {
            buf: [0; 9],
            len: 0,
        };
        t.buf[..3].copy_from_slice(if udp { b"udp" } else { b"tcp" });
        t.buf[3] = b'/';
        t.len = 4;
        t.push_decimal(port);
        t
    }
}

/// An address as text (what `Display` writes), inline: an IPv4 address octet by octet from a
/// table of their decimal forms, without the formatting machinery (two per record); IPv6
/// through `Display` (at most 45 bytes, "ffff:...:255.255.255.255" forms included).
pub type IpText = SmallText<48>;

/// Each octet's decimal digits, padded to three, and how many of them are its text (addresses
/// in records and in their JSON).
pub(crate) static OCTETS: [([u8; 3], u8); 256] = {
    let mut t = [([0u8; 3], 0u8); 256];
    let mut i = 0;
    while i < 256 {
        let o = i as u8;
        t[i] = if o >= 100 {
            ([b'0' + o / 100, b'0' + o / 10 % 10, b'0' + o % 10], 3)
        } else if o >= 10 {
            ([b'0' + o / 10, b'0' + o % 10, 0], 2)
        } else {
            ([b'0' + o, 0, 0], 1)
        };
        i += 1;
    }
    t
};

impl SmallText<48> {
    /// The text of `ip`.
    pub fn ip(ip: &IpAddr) -> Self {
        let mut t = SmallText {
            buf: [0; 48],
            len: 0,
        };
        match ip {
            IpAddr::V4(a) => {
                // At most 4 x 4 bytes written at 0..16: within the buffer.
                let mut at = 0;
                for o in a.octets() {
                    let (digits, n) = OCTETS[usize::from(o)];
                    t.buf[at..at + 3].copy_from_slice(&digits);
                    t.buf[at + usize::from(n)] = b'.';
                    at += usize::from(n) + 1;
                }
                t.len = (at - 1) as u8;
            }
            IpAddr::V6(a) => {
                use std::fmt::Write;
                let _ = write!(t, "{a}");
            }
        }
        t
    }
}

/// Names from a static table of `(value, name)` pairs: those whose index is set in a bit set,
/// in table order. Serialized exactly as the `Vec<&'static str>` of those names would be, with
/// no allocation (flag and option lists: DNS flags, KDC options, NTLM flags, SMB access).
#[derive(Clone, Copy)]
pub struct Names {
    table: NameTable,
    set: u64,
}

#[derive(Clone, Copy)]
enum NameTable {
    Pairs(&'static [(u32, &'static str)]),
    List(&'static [&'static str]),
}

impl NameTable {
    fn len(&self) -> usize {
        match self {
            NameTable::Pairs(t) => t.len(),
            NameTable::List(t) => t.len(),
        }
    }

    fn get(&self, i: usize) -> Option<&'static str> {
        match self {
            NameTable::Pairs(t) => t.get(i).map(|(_, n)| *n),
            NameTable::List(t) => t.get(i).copied(),
        }
    }
}

impl Default for Names {
    fn default() -> Self {
        Names::list(&[])
    }
}

impl Names {
    /// The entries of `table` for which `pick(value)` holds (at most the first 64 entries).
    pub fn pick(table: &'static [(u32, &'static str)], mut pick: impl FnMut(u32) -> bool) -> Self {
        let mut set = 0;
        for (i, (v, _)) in table.iter().take(64).enumerate() {
            if pick(*v) {
                set |= 1 << i;
            }
        }
        Names {
            table: NameTable::Pairs(table),
            set,
        }
    }

    /// All of `names` (at most the first 64).
    pub fn list(names: &'static [&'static str]) -> Self {
        let n = names.len().min(64);
        Names {
            table: NameTable::List(names),
            set: if n == 64 { u64::MAX } else { (1 << n) - 1 },
        }
    }

    /// The names, in table order.
    pub fn iter(&self) -> impl Iterator<Item = &'static str> + '_ {
        (0..self.table.len().min(64))
            .filter(|i| self.set >> i & 1 != 0)
            .filter_map(|i| self.table.get(i))
    }

    pub fn len(&self) -> usize {
        self.set.count_ones() as usize
    }

    pub fn is_empty(&self) -> bool {
        self.set == 0
    }

    /// Whether `name` is among the names.
    pub fn contains(&self, name: &str) -> bool {
        self.iter().any(|n| n == name)
    }

    pub fn to_vec(&self) -> Vec<&'static str> {
        self.iter().collect()
    }
}

impl PartialEq for Names {
    fn eq(&self, other: &Names) -> bool {
        self.iter().eq(other.iter())
    }
}

impl<const N: usize> PartialEq<[&str; N]> for Names {
    fn eq(&self, other: &[&str; N]) -> bool {
        self.iter().eq(other.iter().copied())
    }
}

impl std::fmt::Debug for Names {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Serialize for Names {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(Some(self.len()))?;
        for n in self.iter() {
            seq.serialize_element(n)?;
        }
        seq.end()
    }
}

/// The name of a `dcerpc` record's interface: its name from dcsensor's table, else its UUID.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum InterfaceName {
    Known(&'static str),
    Uuid(UuidText),
}

impl std::ops::Deref for InterfaceName {
    type Target = str;
    fn deref(&self) -> &str {
        match self {
            InterfaceName::Known(n) => n,
            InterfaceName::Uuid(u) => u.as_str(),
        }
    }
}

impl std::fmt::Debug for InterfaceName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&**self, f)
    }
}

impl Serialize for InterfaceName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self)
    }
}
