//! The record as the detection engine reads it: [`Rec`], one owned struct holding every field of
//! RECORDS.md, deserialized alike from a JSON line, an element of a MessagePack batch, or a
//! record of the in-process pipeline ([`Rec::from_record`]).
//!
//! Every field is optional so that a record of any `type` (and of any schema that only adds
//! fields) reads into it; fields the engine does not know are dropped. Serializing a `Rec` leaves
//! absent fields out, as the sensor does, so an alert's `evidence` reads like the records it came
//! from.

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

mod fast;
mod pack;
mod write;

/// An enumerated protocol value: its name where the protocol defines one, else its number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Code {
    Name(String),
    Num(i64),
}

impl Code {
    /// The name, when the value is one.
    pub fn name(&self) -> Option<&str> {
        match self {
            Code::Name(n) => Some(n),
            Code::Num(_) => None,
        }
    }

    /// Whether the value is `name` or the number `num` (status codes arrive either way).
    pub fn is(&self, name: &str, num: i64) -> bool {
        match self {
            Code::Name(n) => n.eq_ignore_ascii_case(name),
            Code::Num(v) => *v == num,
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Code::Name(n) => f.write_str(n),
            Code::Num(v) => write!(f, "{v}"),
        }
    }
}

impl Serialize for Code {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Code::Name(n) => s.serialize_str(n),
            Code::Num(v) => s.serialize_i64(*v),
        }
    }
}

impl<'de> Deserialize<'de> for Code {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Code;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a name or a number")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Code, E> {
                Ok(Code::Name(v.to_string()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Code, E> {
                Ok(Code::Name(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Code, E> {
                Ok(Code::Num(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Code, E> {
                Ok(Code::Num(v as i64))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Code, E> {
                Ok(Code::Num(v as i64))
            }
        }
        d.deserialize_any(V)
    }
}

fn ser_args<S: Serializer>(a: &Option<Arc<Args>>, s: S) -> Result<S::Ok, S::Error> {
    match a {
        Some(a) => s.serialize_some(&**a),
        None => s.serialize_none(),
    }
}

fn ser_ip<S: Serializer>(ip: &Option<IpAddr>, s: S) -> Result<S::Ok, S::Error> {
    match ip {
        Some(ip) => s.collect_str(ip),
        None => s.serialize_none(),
    }
}

/// The `args` of a DCE-RPC call: argument name to value (strings, numbers, booleans, lists).
pub type Args = serde_json::Map<String, serde_json::Value>;

macro_rules! rec {
    ($( $(#[$m:meta])* $name:ident : $ty:ty ),* $(,)?) => {
        /// One activity record, every RECORDS.md field optional (see the module documentation).
        #[derive(Debug, Clone, Default, PartialEq, Serialize)]
        pub struct Rec {
            /// Seconds since the Unix epoch.
            pub ts: f64,
            /// `kerberos`, `dns`, `dcerpc`, `ntlm`, `smb`, `ldap`, `stats`, `alert`.
            #[serde(rename = "type")]
            pub kind: String,
            $( $(#[$m])* #[serde(skip_serializing_if = "Skip::skip")] pub $name: $ty, )*
        }

        /// The fields of a record, in [`Rec`]'s order (the order the sensor writes them).
        #[allow(non_camel_case_types)]
        #[derive(Clone, Copy, PartialEq, Eq, Debug)]
        #[repr(u8)]
        enum F { ts, kind, $( $name, )* }

        /// Every field, by its index.
        const FIELDS: &[F] = &[F::ts, F::kind, $( F::$name, )*];

        /// Every field's name as written, by its index.
        const NAMES: &[&str] = &["ts", "type", $( stringify!($name), )*];

        /// Reads the value of field `f` into `r`.
        fn read_field<'de, A: de::MapAccess<'de>>(
            r: &mut Rec,
            f: F,
            m: &mut A,
        ) -> Result<(), A::Error> {
            match f {
                F::ts => r.ts = m.next_value()?,
                F::kind => r.kind = m.next_value()?,
                $( F::$name => r.$name = <$ty as FieldDe>::next(m)?, )*
            }
            Ok(())
        }

        /// Reads the value of field `f` into `r` on the fast path (`None`: not a value it takes),
        /// reusing the memory of what the field held.
        fn fast_field(r: &mut Rec, f: F, p: &mut fast::P<'_>) -> Option<()> {
            match f {
                F::ts => r.ts = p.f64()?,
                F::kind => p.owned_into(&mut r.kind)?,
                $( F::$name => <$ty as fast::Fast>::fast_into(p, &mut r.$name)?, )*
            }
            Some(())
        }

        /// Makes the fields of `r` whose bit is set in `held` absent (as [`Rec::default`] has them),
        /// keeping the memory of what they held in `spare` for the next record that has them;
        /// the other fields are left as they are. One step per bit set, not one per field.
        fn park_held(r: &mut Rec, mut held: u128, spare: &mut fast::Spare) {
            while held != 0 {
                let i = held.trailing_zeros() as usize;
                held &= held - 1;
                let Some(&f) = FIELDS.get(i) else {
                    return;
                };
                match f {
                    F::ts => r.ts = 0.0,
                    F::kind => r.kind.clear(),
                    $( F::$name => <$ty as fast::Fast>::park(&mut r.$name, i, spare), )*
                }
            }
        }

        /// Reads the value of field `f` into `r` from a batch (`None`: not a value the batch
        /// fast path takes), reusing the memory of what the field held.
        fn pack_field(r: &mut Rec, f: F, p: &mut pack::P<'_, '_>) -> Option<()> {
            match f {
                F::ts => r.ts = p.f64()?,
                F::kind => p.str_into(&mut r.kind)?,
                $( F::$name => <$ty as pack::Pack>::pack_into(p, &mut r.$name)?, )*
            }
            Some(())
        }

        /// Whether [`pack_field`] reads the value of field `f` at `m` (read past it), no
        /// record written (see [`pack::Pack::check`]).
        fn check_field(
            f: F,
            m: &mut pack::M<'_>,
            ck: &mut pack::Ck<'_>,
        ) -> Option<()> {
            match f {
                F::ts => {
                    m.f64()?;
                }
                F::kind => {
                    m.str()?;
                }
                $( F::$name => <$ty as pack::Pack>::check(m, ck)?, )*
            }
            Some(())
        }

    };
}

/// Makes a field absent, keeping the memory of a list.
trait Clear {
    fn clear(&mut self);
}
impl<T> Clear for Option<T> {
    #[inline]
    fn clear(&mut self) {
        *self = None;
    }
}
impl<T> Clear for Vec<T> {
    #[inline]
    fn clear(&mut self) {
        Vec::clear(self);
    }
}

/// Whether a field is absent (left out when serialized).
pub trait Skip {
    fn skip(&self) -> bool;
}
impl<T> Skip for Option<T> {
    fn skip(&self) -> bool {
        self.is_none()
    }
}
impl<T> Skip for Vec<T> {
    fn skip(&self) -> bool {
        self.is_empty()
    }
}

rec! {
    tunnel: Option<String>,
    #[serde(serialize_with = "ser_ip")]
    src: Option<IpAddr>,
    sport: Option<u16>,
    #[serde(serialize_with = "ser_ip")]
    dst: Option<IpAddr>,
    dport: Option<u16>,
    proto: Option<String>,
    // kerberos
    request: Option<String>,
    client: Option<String>,
    realm: Option<String>,
    service: Option<String>,
    etypes: Vec<i32>,
    kdc_options: Vec<String>,
    preauth: Vec<i32>,
    preauth_etype: Option<i32>,
    pac_request: Option<bool>,
    till: Option<f64>,
    reply: Option<String>,
    error: Option<Code>,
    error_etypes: Vec<i32>,
    ticket_etype: Option<i32>,
    reply_etype: Option<i32>,
    ticket_hash: Option<String>,
    presented_hash: Option<String>,
    presented_etype: Option<i32>,
    s4u_user: Option<String>,
    additional_ticket_hash: Option<String>,
    pkinit_subject: Option<String>,
    pkinit_issuer: Option<String>,
    pkinit_san: Vec<String>,
    carrier: Option<String>,
    // dns
    id: Option<Code>,
    opcode: Option<Code>,
    query: Option<String>,
    qtype: Option<Code>,
    qclass: Option<Code>,
    rcode: Option<Code>,
    flags: Vec<String>,
    answers: Vec<String>,
    ttls: Vec<u32>,
    answer_count: Option<u64>,
    updates: Vec<String>,
    // dcerpc
    interface: Option<String>,
    interface_uuid: Option<String>,
    interface_version: Option<String>,
    opnum: Option<u16>,
    operation: Option<String>,
    named_pipe: Option<String>,
    auth_type: Option<Code>,
    auth_level: Option<Code>,
    fault: Option<String>,
    stub_bytes: Option<u64>,
    endpoint: Option<String>,
    #[serde(serialize_with = "ser_args")]
    args: Option<Arc<Args>>,
    // ntlm
    user: Option<String>,
    domain: Option<String>,
    workstation: Option<String>,
    version: Option<String>,
    server_nb_name: Option<String>,
    server_dns_name: Option<String>,
    server_dns_domain: Option<String>,
    mic: Option<bool>,
    target_name: Option<String>,
    channel_bindings: Option<bool>,
    // smb
    action: Option<String>,
    access: Vec<String>,
    disposition: Option<String>,
    bytes_read: Option<u64>,
    bytes_written: Option<u64>,
    share: Option<String>,
    path: Option<String>,
    dialect: Option<String>,
    // ldap
    op: Option<String>,
    bind: Option<String>,
    mechanism: Option<String>,
    name: Option<String>,
    sealed: Option<bool>,
    base: Option<String>,
    scope: Option<String>,
    filter: Option<String>,
    attributes: Vec<String>,
    size_limit: Option<u64>,
    entries: Option<u64>,
    dn: Option<String>,
    changes: Vec<String>,
    // shared by several types
    success: Option<bool>,
    result: Option<Code>,
    status: Option<Code>,
    rtt: Option<f64>,
}

// every field has a bit of a u128 (`seen`), and an index below the table's empty mark
const _: () = assert!(NAMES.len() < 128);

/// Every field's bit.
const ALL: u128 = (1 << NAMES.len()) - 1;

/// How a field's value is read: as its type reads itself, except addresses (text parsed
/// without a copy) and a call's arguments (shared).
trait FieldDe: Sized {
    fn next<'de, A: de::MapAccess<'de>>(m: &mut A) -> Result<Self, A::Error>;
}

macro_rules! plain_fields {
    ($($t:ty),*) => {$(
        impl FieldDe for $t {
            #[inline]
            fn next<'de, A: de::MapAccess<'de>>(m: &mut A) -> Result<Self, A::Error> {
                m.next_value()
            }
        }
    )*};
}

plain_fields!(
    Option<String>,
    Option<u16>,
    Option<i32>,
    Option<u64>,
    Option<bool>,
    Option<f64>,
    Option<Code>,
    Vec<i32>,
    Vec<u32>,
    Vec<String>
);

/// An address, written as text in every encoding (MessagePack's serde default would be an
/// enum): parsed from the text as read, no copy of it made.
struct IpText(Option<IpAddr>);

impl<'de> Deserialize<'de> for IpText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = IpText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an address as text")
            }
            fn visit_none<E: de::Error>(self) -> Result<IpText, E> {
                Ok(IpText(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<IpText, E> {
                Ok(IpText(None))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<IpText, D::Error> {
                d.deserialize_str(self)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<IpText, E> {
                v.parse().map(|ip| IpText(Some(ip))).map_err(E::custom)
            }
        }
        d.deserialize_option(V)
    }
}

impl FieldDe for Option<IpAddr> {
    fn next<'de, A: de::MapAccess<'de>>(m: &mut A) -> Result<Self, A::Error> {
        Ok(m.next_value::<IpText>()?.0)
    }
}

impl FieldDe for Option<Arc<Args>> {
    fn next<'de, A: de::MapAccess<'de>>(m: &mut A) -> Result<Self, A::Error> {
        Ok(m.next_value::<Option<Args>>()?.map(Arc::new))
    }
}

/// A record read line after line into the same memory, with which of its fields may hold
/// something: reading the next line clears only those of them the line lacks (one step each),
/// not every field of [`Rec`]. Only [`LineRec::read_json`] changes the record and that set,
/// together, so the set always describes the record it is kept with. The default holds an
/// empty record (every field absent) and so an empty set.
#[derive(Default)]
pub struct LineRec {
    rec: Arc<Rec>,
    /// A bit per field ([`F`]) that may hold something in `rec`; every other field is absent.
    held: u128,
}

impl LineRec {
    /// Reads one JSON line as [`Rec::read_json`] does, into the record read last when no one
    /// else holds a share of it (its memory reused), else into a new one, and gives the record.
    /// On an error the record holds part of the line; the next line is read as ever.
    pub fn read_json(&mut self, line: &str) -> Result<&Arc<Rec>, serde_json::Error> {
        if Arc::get_mut(&mut self.rec).is_none() {
            *self = LineRec::default();
        }
        // the only share now: no copy made
        let r = Arc::make_mut(&mut self.rec);
        Rec::read_json_held(line, r, &mut self.held)?;
        Ok(&self.rec)
    }
}

/// The records of one MessagePack batch after another, read into the memory of the records of
/// earlier batches that no one else holds a share of, each kept with which of its fields may
/// hold something (reading it again clears only those the next record lacks, as [`LineRec`]
/// does), and what the batch reader keeps from batch to batch (parked memory, the key
/// prediction, calls' arguments read lately; see [`pack`]).
#[derive(Default)]
pub struct BatchRecs {
    /// The last batch's records, each with a bit per field ([`F`]) that may hold something;
    /// after [`BatchRecs::stream`], those of its records the engine kept a share of.
    recs: Vec<(Arc<Rec>, u128)>,
    /// The records [`BatchRecs::stream`] reads records into while no one else holds a share
    /// of them, with their fields' bits: one for each kind of record (as the check found it),
    /// so a record is read into the last of its kind (the same fields, mostly the same text,
    /// compared rather than copied).
    ones: [(Arc<Rec>, u128); fast::KINDS],
    /// Records of earlier batches no one else holds a share of, with their fields' bits.
    pool: Vec<(Arc<Rec>, u128)>,
    spare: Box<pack::Spare>,
}

impl BatchRecs {
    /// Puts the records no one else holds a share of (the engine kept none) into the pool.
    fn recycle(&mut self) {
        for (mut r, held) in self.recs.drain(..) {
            if Arc::get_mut(&mut r).is_some() {
                self.pool.push((r, held));
            }
        }
    }

    /// Reads the records of a MessagePack batch (those of the last batch let go) and gives the
    /// batch's `sensor` and `seq` as [`Rec::batch_key`] gives them; `None` when the batch is
    /// not in the form the sensor writes, which the caller then reads with `rmp_serde` (the
    /// fast path gives exactly what `rmp_serde` gives on the batches it takes; see [`pack`]),
    /// and then [`BatchRecs::records`] holds part of the batch.
    pub fn read(&mut self, batch: &[u8]) -> Option<(String, u64)> {
        self.recycle();
        let key = pack::read_batch(batch, &mut self.pool, &mut self.recs, &mut self.spare)?;
        Some((key.0.to_string(), key.1))
    }

    /// Whether [`BatchRecs::read`] would read `batch` (its records not read; see
    /// [`pack::check_batch`]): `Some` exactly when it would, with the key it would give and
    /// where the records are, for [`BatchRecs::stream`].
    pub fn check<'a>(&mut self, batch: &'a [u8]) -> Option<Checked<'a>> {
        pack::check_batch(batch, &mut self.spare).map(Checked)
    }

    /// Reads the records of `batch`, which [`BatchRecs::check`] took (`c`), one at a time, each
    /// handed to `each` before the next is read (while it is in the cache), as
    /// [`BatchRecs::read`] reads them; those of the last batch are let go first. A record is
    /// read into the one read last of its kind when no one else holds a share of it, else into
    /// one of the pool, else a new one (the one held is kept in [`BatchRecs::records`] until the next
    /// batch, for the pool then). The error of `each` ends it; `Ok(false)` if a record did not
    /// read after all, which `check` taking the batch rules out.
    pub fn stream<E>(
        &mut self,
        batch: &[u8],
        c: &Checked<'_>,
        mut each: impl FnMut(&Arc<Rec>) -> Result<(), E>,
    ) -> Result<bool, E> {
        self.recycle();
        let mut at = c.0.at;
        for i in 0..c.0.len {
            let one = &mut self.ones[self.spare.kind(c.0.n, i)];
            if Arc::get_mut(&mut one.0).is_none() {
                let next = self.pool.pop().unwrap_or_default();
                self.recs.push(std::mem::replace(one, next));
            }
            let (rec, held) = one;
            let Some(r) = Arc::get_mut(rec) else {
                return Ok(false);
            };
            match pack::read_one(batch, c.0.n, &mut at, r, *held, &mut self.spare) {
                Some(seen) => *held = seen,
                None => {
                    // part of a record read: any field may hold something
                    *held = ALL;
                    return Ok(false);
                }
            }
            each(rec)?;
        }
        Ok(true)
    }

    /// Makes `recs` (read by another reader) the records held, those of the last batch let go.
    pub fn set(&mut self, recs: impl IntoIterator<Item = Rec>) {
        self.recycle();
        self.recs
            .extend(recs.into_iter().map(|r| (Arc::new(r), ALL)));
    }

    /// Lets the last batch's records go.
    pub fn clear(&mut self) {
        self.recycle();
    }

    /// The records read last.
    pub fn records(&self) -> impl Iterator<Item = &Arc<Rec>> {
        self.recs.iter().map(|(r, _)| r)
    }
}

/// A batch [`BatchRecs::check`] took: its key and where its records are.
pub struct Checked<'a>(pack::Checked<'a>);

impl Checked<'_> {
    /// The batch's `sensor` and `seq`, as [`BatchRecs::read`] gives them.
    pub fn key(&self) -> (&str, u64) {
        self.0.key
    }
}

/// The field a key names, if the record has it. The field after the previous one is tried
/// first (the sensor writes fields in [`Rec`]'s order, so many keys are found there with one
/// comparison), then a table of every name, open-addressed by a hash of the key's length and
/// three of its bytes (cheaper than hashing every byte; names differ in those).
fn field_of(key: &[u8], hint: usize) -> Option<F> {
    if let Some(n) = NAMES.get(hint) {
        if n.as_bytes() == key {
            return Some(FIELDS[hint]);
        }
    }
    const SLOTS: usize = 512;
    fn slot(k: &[u8]) -> usize {
        match k {
            [] => 0,
            [a, ..] => {
                let n = k.len();
                let (m, z) = (k[n / 2], k[n - 1]);
                (n ^ (usize::from(*a) << 3) ^ (usize::from(m) << 1) ^ (usize::from(z) << 5)) % SLOTS
            }
        }
    }
    static TABLE: std::sync::OnceLock<[u8; SLOTS]> = std::sync::OnceLock::new();
    let t = TABLE.get_or_init(|| {
        let mut t = [u8::MAX; SLOTS];
        for (i, n) in NAMES.iter().enumerate() {
            let mut h = slot(n.as_bytes());
            while t[h] != u8::MAX {
                h = (h + 1) % SLOTS;
            }
            t[h] = i as u8;
        }
        t
    });
    let mut h = slot(key);
    loop {
        let i = usize::from(t[h]);
        let n = NAMES.get(i)?; // an empty slot: no such name
        if n.as_bytes() == key {
            return Some(FIELDS[i]);
        }
        h = (h + 1) % SLOTS;
    }
}

/// An address as text, a dotted quad in its usual form read without the general parser (which
/// reads every other form, and refuses what is not an address).
fn parse_ip(s: &str) -> Option<IpAddr> {
    let b = s.as_bytes();
    let mut quad = [0u8; 4];
    let mut i = 0;
    for (k, q) in quad.iter_mut().enumerate() {
        let start = i;
        let mut v = 0u32;
        while let Some(c) = b.get(i).filter(|c| c.is_ascii_digit() && i - start < 3) {
            v = v * 10 + u32::from(c - b'0');
            i += 1;
        }
        let n = i - start;
        let Ok(o) = u8::try_from(v) else {
            break;
        };
        if n == 0 || (n > 1 && b[start] == b'0') {
            break;
        }
        *q = o;
        if k == 3 {
            if i == b.len() {
                return Some(IpAddr::from(quad));
            }
        } else if b.get(i) == Some(&b'.') {
            i += 1;
            continue;
        }
        break;
    }
    s.parse().ok()
}

/// Reads a key as the field it names (`None`: a field the engine does not know), matching the
/// bytes as read (no copy of the key made).
struct KeySeed {
    hint: usize,
}

impl<'de> de::DeserializeSeed<'de> for KeySeed {
    type Value = Option<F>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<F>, D::Error> {
        d.deserialize_identifier(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Option<F>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<F>, E> {
        Ok(field_of(v.as_bytes(), self.hint))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Option<F>, E> {
        Ok(field_of(v, self.hint))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Option<F>, E> {
        Ok(None)
    }
}

/// Fills a record from a map of its fields (a JSON object, a MessagePack map): each key is
/// matched as read, each known field read in place, the others skipped unread; a field given
/// twice makes the record unreadable (as a derived reader would), absent fields stay absent.
struct Fill<'r>(&'r mut Rec);

impl<'de> Visitor<'de> for Fill<'_> {
    /// The fields read, a bit each.
    type Value = u128;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a record (a map of its fields)")
    }
    fn visit_map<A: de::MapAccess<'de>>(self, mut m: A) -> Result<u128, A::Error> {
        let mut seen = 0u128;
        let mut hint = 0;
        while let Some(k) = m.next_key_seed(KeySeed { hint })? {
            let Some(f) = k else {
                m.next_value::<de::IgnoredAny>()?;
                continue;
            };
            let bit = 1u128 << (f as u8);
            if seen & bit != 0 {
                return Err(de::Error::duplicate_field(NAMES[f as usize]));
            }
            seen |= bit;
            hint = f as usize + 1;
            read_field(self.0, f, &mut m)?;
        }
        Ok(seen)
    }
}

impl<'de> Deserialize<'de> for Rec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut r = Rec::default();
        d.deserialize_map(Fill(&mut r))?;
        Ok(r)
    }
}

impl Rec {
    /// The record of the in-process pipeline, read exactly as a receiver of its MessagePack
    /// encoding would (so the engine sees the same fields at the edge and in the center).
    pub fn from_record(r: &crate::record::Record) -> Result<Rec, String> {
        let packed = rmp_serde::to_vec_named(r).map_err(|e| e.to_string())?;
        rmp_serde::from_slice(&packed).map_err(|e| e.to_string())
    }

    /// Reads one JSON line.
    pub fn from_json(line: &str) -> Result<Rec, serde_json::Error> {
        let mut r = Rec::default();
        Rec::read_json(line, &mut r)?;
        Ok(r)
    }

    /// Reads one JSON line into `r`, any record (its strings and lists are reused, and every
    /// field the line lacks is cleared): written in place, no copy of the record made. A line in the sensor's own form (no spaces, no escapes, numbers as it
    /// writes them) is read by [`fast`], which gives exactly what the general reader
    /// (serde_json) gives; any other line, or one that is not a record, is read by serde_json
    /// (whose error then says what is wrong). On an error `r` holds part of the line.
    pub fn read_json(line: &str, r: &mut Rec) -> Result<(), serde_json::Error> {
        Rec::read_json_held(line, r, &mut { ALL })
    }

    /// [`Rec::read_json`] into a record whose fields not in `held` (a bit each, [`F`]) are
    /// absent, so that only those in `held` need clearing when the line lacks them; `held` is
    /// then the fields the record read may hold (every field after an error).
    fn read_json_held(line: &str, r: &mut Rec, held: &mut u128) -> Result<(), serde_json::Error> {
        if let Some(seen) = fast::read(line, r, *held) {
            *held = seen;
            return Ok(());
        }
        // the fast path wrote some fields before it gave up: the general reader starts afresh
        *r = Rec::default();
        *held = ALL;
        let mut de = serde_json::Deserializer::from_str(line);
        let seen = de::Deserializer::deserialize_map(&mut de, Fill(r))?;
        de.end()?;
        *held = seen;
        Ok(())
    }

    /// The `sensor` and `seq` of a MessagePack batch (what orders batches) without reading its
    /// records; `None` when the batch is not in the form the sensor writes, which the caller
    /// then reads with `rmp_serde` (where this gives an answer, it is `rmp_serde`'s).
    pub fn batch_key(batch: &[u8]) -> Option<(String, u64)> {
        pack::batch_key(batch)
    }

    /// The `sensor` and `seq` of a MessagePack batch read from the members before its records,
    /// when both come there (as the sensor writes them), nothing after them looked at: the key
    /// [`Rec::batch_key`] (or `rmp_serde`) reads whenever the whole batch reads as one; but the
    /// rest may not, which [`BatchRecs::read`] giving a key, or else the key read whole, tells.
    pub fn batch_head(batch: &[u8]) -> Option<(String, u64)> {
        pack::batch_head(batch)
    }

    /// An argument of a DCE-RPC call. A call has a few arguments: comparing their names in order
    /// is cheaper than hashing the name (the map's hasher is SipHash); a long map is hashed.
    pub fn arg_value(&self, key: &str) -> Option<&serde_json::Value> {
        let a = self.args.as_deref()?;
        if a.len() <= 16 {
            a.iter().find(|(k, _)| k.as_str() == key).map(|(_, v)| v)
        } else {
            a.get(key)
        }
    }

    /// An argument of a DCE-RPC call as text (strings as they are, numbers and booleans printed).
    pub fn arg(&self, key: &str) -> Option<String> {
        self.arg_cow(key).map(Cow::into_owned)
    }

    /// [`Rec::arg`] without copying a string argument.
    pub fn arg_cow(&self, key: &str) -> Option<Cow<'_, str>> {
        let v = self.arg_value(key)?;
        match v {
            serde_json::Value::String(s) => Some(Cow::Borrowed(s)),
            serde_json::Value::Null => None,
            other => Some(Cow::Owned(other.to_string())),
        }
    }

    /// A boolean argument of a DCE-RPC call.
    pub fn arg_bool(&self, key: &str) -> Option<bool> {
        self.arg_value(key)?.as_bool()
    }

    /// A numeric argument of a DCE-RPC call.
    pub fn arg_u64(&self, key: &str) -> Option<u64> {
        let v = self.arg_value(key)?;
        v.as_u64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
    }

    /// Whether a record is of `kind`.
    #[inline]
    pub fn is(&self, kind: &str) -> bool {
        self.kind == kind
    }

    /// The `status` or `error` code name, if any.
    pub fn status_name(&self) -> Option<&str> {
        self.status.as_ref().and_then(Code::name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_is_found_in_the_table_and_other_keys_are_not() {
        for (i, n) in NAMES.iter().enumerate() {
            // with no hint that helps: the table
            assert_eq!(field_of(n.as_bytes(), NAMES.len()), Some(FIELDS[i]), "{n}");
            assert_eq!(field_of(n.as_bytes(), 0), Some(FIELDS[i]), "{n}");
        }
        for k in [
            "",
            "t",
            "tss",
            "Type",
            "src ",
            "argss",
            "extra_field",
            "packets",
            "é",
        ] {
            assert_eq!(field_of(k.as_bytes(), 3), None, "{k}");
        }
    }

    /// Address texts that readers must read as the standard parser reads them: dotted quads in
    /// their usual form and near misses (leading zeros, too many or few parts, octets over 255,
    /// spaces, IPv6, an escape after the quad), for every octet value.
    pub(super) fn address_texts() -> Vec<String> {
        let mut texts: Vec<String> = [
            "0.0.0.0",
            "10.0.0.1",
            "255.255.255.255",
            "1.2.3.4",
            "9.99.199.249",
            "256.0.0.1",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.",
            "1.2.3.4.5",
            "1..3.4",
            "1.2.3.04",
            "1.2.3.400",
            "1234.1.1.1",
            "::1",
            "fe80::1",
            "::ffff:1.2.3.4",
            "1.2.3.4 ",
            " 1.2.3.4",
            "",
            ".",
            "a.b.c.d",
            "999.999.999.999",
            "1.2.3.0255",
            "1.2.3.4\\",
        ]
        .iter()
        .map(|t| t.to_string())
        .collect();
        for a in 0..=255u8 {
            texts.push(format!("{a}.{a}.0.{a}"));
            texts.push(format!("0{a}.1.1.1"));
            texts.push(format!("1.1.1.{a}0"));
        }
        texts
    }

    /// Lines read one after another into one [`LineRec`] (fields of many kinds, none, lines
    /// the fast path gives up on early or late, lines that are not records), in every order of
    /// three, records now and then held as the engine holds evidence: each line reads as it
    /// reads alone, no field of an earlier line left over, and a held record never changes.
    #[test]
    fn lines_read_into_the_last_record_read_as_each_reads_alone() {
        let lines = [
            r#"{"ts":1.5,"type":"dns","src":"10.0.0.1","query":"a.example","flags":["rd"],"rcode":"NOERROR"}"#,
            r#"{"ts":2.5,"type":"ldap","user":"bob","attributes":["cn","mail"],"result":7}"#,
            r#"{"type":"smb","share":"C$"}"#,
            r#"{}"#,
            r#"{"ts":3,"type":"dns","query":"caf\u00e9","rcode":"REFUSED","ttls":[5]}"#,
            r#"{"ts":4,"type":"dns","query":"x","ts":5}"#,
            r#"{"ts":1.0,"type":"dns","src":"not an address"}"#,
            r#"{"ts":6,"type":"kerberos","client":"alice","etypes":[18,23],"src":null,"query":null}"#,
            r#"{"ts":7,"type":"ntlm","user":"u","domain":"d","args":{"a":1},"workstation":"w\u0041"}"#,
        ];
        let alone = |l: &str| serde_json::from_str::<Rec>(l).map_err(|e| e.to_string());
        let mut slot = LineRec::default();
        let mut held: Vec<(Arc<Rec>, Rec)> = Vec::new();
        for (n, x) in lines.iter().enumerate() {
            for (m, y) in lines.iter().enumerate() {
                for z in &lines {
                    for l in [x, y, z] {
                        let got = slot.read_json(l).map_err(|e| e.to_string());
                        assert_eq!(got.map(|r| (**r).clone()), alone(l), "{x} {y} {z}");
                    }
                    if (n + m) % 3 == 0 {
                        held.push((Arc::clone(&slot.rec), (*slot.rec).clone()));
                    }
                }
            }
        }
        for (h, was) in &held {
            assert_eq!(&**h, was);
        }
    }

    #[test]
    fn addresses_read_as_the_general_parser_reads_them() {
        for t in address_texts() {
            assert_eq!(parse_ip(&t), t.parse().ok(), "{t:?}");
        }
    }
}
