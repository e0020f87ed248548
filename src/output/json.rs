//! A compact JSON encoder for records, written straight into a byte buffer: the same bytes
//! `serde_json::to_writer` writes (numbers through `serde_json`'s own formatter, the same string
//! escapes, `null` for non-finite floats), with less work per string: a string is scanned eight
//! bytes at a time for the bytes JSON must escape (`"`, `\`, controls below 0x20), so the usual
//! string (a name, an address, a hash) costs a scan and one copy, and map keys go the same way.
//!
//! Map keys follow `serde_json`'s rules: strings, unit variants, characters, booleans and
//! integers (quoted); any other key is an error, as it is there.

pub mod records;

use serde::ser::{self, Impossible, Serialize};
use serde_json::ser::{CharEscape, CompactFormatter, Formatter};
use std::fmt;

/// Why a value could not be encoded (a map key that is not a string, or a `Serialize` impl that
/// failed).
#[derive(Debug)]
pub struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot encode the record as JSON: {}", self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

/// Appends `v` as compact JSON to `out` (on error, what was appended is left for the caller to
/// cut).
pub fn to_vec<T: Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) -> Result<(), Error> {
    v.serialize(&mut Json { out })
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Whether any of the eight bytes of `w` is one JSON escapes. The tests may flag a byte after a
/// true one (a borrow), never a word without one.
#[inline]
fn word_needs_escape(w: u64) -> bool {
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
    let control = w.wrapping_sub(ONES * 0x20) & !w & HIGHS;
    (control | zero(w ^ (ONES * b'"' as u64)) | zero(w ^ (ONES * b'\\' as u64))) != 0
}

/// Bytes JSON escapes: `"`, `\` and controls below 0x20.
static ESCAPED: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = true;
        i += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

#[inline]
fn word_at(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(w)
}

/// The length of the longest prefix of `b` with nothing to escape.
#[inline]
fn clean_prefix(b: &[u8]) -> usize {
    let mut i = 0;
    if b.len() >= 8 {
        while i + 8 <= b.len() {
            if word_needs_escape(word_at(b, i)) {
                break;
            }
            i += 8;
        }
        // The last bytes, in one word that overlaps the ones already seen.
        if i + 8 > b.len() && !word_needs_escape(word_at(b, b.len() - 8)) {
            return b.len();
        }
    }
    while i < b.len() && !ESCAPED[usize::from(b[i])] {
        i += 1;
    }
    i
}

/// Writes `b` with the bytes JSON escapes escaped as `serde_json` escapes them (the rare case).
#[cold]
fn write_escaped(out: &mut Vec<u8>, b: &[u8]) {
    let mut start = 0;
    for (i, &c) in b.iter().enumerate() {
        if !ESCAPED[usize::from(c)] {
            continue;
        }
        out.extend_from_slice(&b[start..i]);
        let e = match c {
            b'"' => CharEscape::Quote,
            b'\\' => CharEscape::ReverseSolidus,
            0x08 => CharEscape::Backspace,
            0x0c => CharEscape::FormFeed,
            b'\n' => CharEscape::LineFeed,
            b'\r' => CharEscape::CarriageReturn,
            b'\t' => CharEscape::Tab,
            _ => CharEscape::AsciiControl(c),
        };
        // Writing into a Vec cannot fail.
        let _ = CompactFormatter.write_char_escape(out, e);
        start = i + 1;
    }
    out.extend_from_slice(&b[start..]);
}

/// Appends `s` as a JSON string (quoted, escaped).
#[inline]
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    out.reserve(b.len() + 2);
    out.push(b'"');
    let clean = clean_prefix(b);
    out.extend_from_slice(&b[..clean]);
    if clean < b.len() {
        write_escaped(out, &b[clean..]);
    }
    out.push(b'"');
}

struct Json<'a> {
    out: &'a mut Vec<u8>,
}

macro_rules! number {
    ($($name:ident $t:ty => $write:ident),* $(,)?) => {$(
        fn $name(self, v: $t) -> Result<(), Error> {
            let _ = CompactFormatter.$write(self.out, v);
            Ok(())
        }
    )*};
}

/// A sequence or map being written: whether an element came before.
pub struct Compound<'s, 'a> {
    json: &'s mut Json<'a>,
    first: bool,
    /// Closing bytes: `]`, `}`, or `]}` / `}}` for a variant.
    close: &'static [u8],
}

impl Compound<'_, '_> {
    fn comma(&mut self) {
        if !self.first {
            self.json.out.push(b',');
        }
        self.first = false;
    }
    fn entry<T: Serialize + ?Sized>(&mut self, key: &str, v: &T) -> Result<(), Error> {
        self.comma();
        write_str(self.json.out, key);
        self.json.out.push(b':');
        v.serialize(&mut *self.json)
    }
    fn finish(self) -> Result<(), Error> {
        self.json.out.extend_from_slice(self.close);
        Ok(())
    }
}

impl<'s, 'a> ser::Serializer for &'s mut Json<'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'s, 'a>;
    type SerializeTuple = Compound<'s, 'a>;
    type SerializeTupleStruct = Compound<'s, 'a>;
    type SerializeTupleVariant = Compound<'s, 'a>;
    type SerializeMap = Compound<'s, 'a>;
    type SerializeStruct = Compound<'s, 'a>;
    type SerializeStructVariant = Compound<'s, 'a>;

    number! {
        serialize_i8 i8 => write_i8, serialize_i16 i16 => write_i16,
        serialize_i32 i32 => write_i32, serialize_i64 i64 => write_i64,
        serialize_i128 i128 => write_i128, serialize_u8 u8 => write_u8,
        serialize_u16 u16 => write_u16, serialize_u32 u32 => write_u32,
        serialize_u64 u64 => write_u64, serialize_u128 u128 => write_u128,
    }

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.out
            .extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        if v.is_finite() {
            let _ = CompactFormatter.write_f32(self.out, v);
        } else {
            self.out.extend_from_slice(b"null");
        }
        Ok(())
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        if v.is_finite() {
            let _ = CompactFormatter.write_f64(self.out, v);
        } else {
            self.out.extend_from_slice(b"null");
        }
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        write_str(self.out, v.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        write_str(self.out, v);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        use ser::SerializeSeq;
        let mut seq = self.serialize_seq(Some(v.len()))?;
        for b in v {
            seq.serialize_element(b)?;
        }
        seq.end()
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.serialize_unit()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<(), Error> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Error> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, v: &'static str) -> Result<(), Error> {
        self.serialize_str(v)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        self.out.push(b'{');
        write_str(self.out, variant);
        self.out.push(b':');
        v.serialize(&mut *self)?;
        self.out.push(b'}');
        Ok(())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Compound<'s, 'a>, Error> {
        self.out.push(b'[');
        Ok(Compound {
            json: self,
            first: true,
            close: b"]",
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<Compound<'s, 'a>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        len: usize,
    ) -> Result<Compound<'s, 'a>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'s, 'a>, Error> {
        self.out.push(b'{');
        write_str(self.out, variant);
        self.out.extend_from_slice(b":[");
        Ok(Compound {
            json: self,
            first: true,
            close: b"]}",
        })
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Compound<'s, 'a>, Error> {
        self.out.push(b'{');
        Ok(Compound {
            json: self,
            first: true,
            close: b"}",
        })
    }
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<Compound<'s, 'a>, Error> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'s, 'a>, Error> {
        self.out.push(b'{');
        write_str(self.out, variant);
        self.out.extend_from_slice(b":{");
        Ok(Compound {
            json: self,
            first: true,
            close: b"}}",
        })
    }
    fn collect_str<T: fmt::Display + ?Sized>(self, v: &T) -> Result<(), Error> {
        // Formatted once into a scratch string, then escaped as a whole (not per fragment).
        write_str(self.out, &v.to_string());
        Ok(())
    }
}

macro_rules! seq_like {
    ($($tr:ident :: $m:ident),*) => {$(
        impl ser::$tr for Compound<'_, '_> {
            type Ok = ();
            type Error = Error;
            fn $m<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
                self.comma();
                v.serialize(&mut *self.json)
            }
            fn end(self) -> Result<(), Error> {
                self.finish()
            }
        }
    )*};
}

seq_like!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl ser::SerializeMap for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.comma();
        key.serialize(KeySer {
            out: &mut *self.json.out,
        })?;
        self.json.out.push(b':');
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        v.serialize(&mut *self.json)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl ser::SerializeStruct for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        self.entry(key, v)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl ser::SerializeStructVariant for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        self.entry(key, v)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

/// A map key: written as a JSON string.
struct KeySer<'a> {
    out: &'a mut Vec<u8>,
}

fn key_must_be_a_string() -> Error {
    Error("key must be a string".into())
}

macro_rules! quoted_number {
    ($($name:ident $t:ty => $write:ident),* $(,)?) => {$(
        fn $name(self, v: $t) -> Result<(), Error> {
            self.out.push(b'"');
            let _ = CompactFormatter.$write(self.out, v);
            self.out.push(b'"');
            Ok(())
        }
    )*};
}

macro_rules! refused {
    ($($name:ident $(<$g:ident>)? ($($arg:ty),*) -> $ret:ty),* $(,)?) => {$(
        fn $name$(<$g: Serialize + ?Sized>)?(self, $(_: $arg),*) -> Result<$ret, Error> {
            Err(key_must_be_a_string())
        }
    )*};
}

impl ser::Serializer for KeySer<'_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Impossible<(), Error>;
    type SerializeTuple = Impossible<(), Error>;
    type SerializeTupleStruct = Impossible<(), Error>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = Impossible<(), Error>;
    type SerializeStruct = Impossible<(), Error>;
    type SerializeStructVariant = Impossible<(), Error>;

    quoted_number! {
        serialize_i8 i8 => write_i8, serialize_i16 i16 => write_i16,
        serialize_i32 i32 => write_i32, serialize_i64 i64 => write_i64,
        serialize_i128 i128 => write_i128, serialize_u8 u8 => write_u8,
        serialize_u16 u16 => write_u16, serialize_u32 u32 => write_u32,
        serialize_u64 u64 => write_u64, serialize_u128 u128 => write_u128,
    }

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.out
            .extend_from_slice(if v { b"\"true\"" } else { b"\"false\"" });
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        write_str(self.out, v.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        write_str(self.out, v);
        Ok(())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, v: &'static str) -> Result<(), Error> {
        write_str(self.out, v);
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        v.serialize(self)
    }
    fn collect_str<T: fmt::Display + ?Sized>(self, v: &T) -> Result<(), Error> {
        write_str(self.out, &v.to_string());
        Ok(())
    }

    refused! {
        serialize_f32(f32) -> (),
        serialize_f64(f64) -> (),
        serialize_bytes(&[u8]) -> (),
        serialize_none() -> (),
        serialize_some<T>(&T) -> (),
        serialize_unit() -> (),
        serialize_unit_struct(&'static str) -> (),
        serialize_newtype_variant<T>(&'static str, u32, &'static str, &T) -> (),
        serialize_seq(Option<usize>) -> Impossible<(), Error>,
        serialize_tuple(usize) -> Impossible<(), Error>,
        serialize_tuple_struct(&'static str, usize) -> Impossible<(), Error>,
        serialize_tuple_variant(&'static str, u32, &'static str, usize) -> Impossible<(), Error>,
        serialize_map(Option<usize>) -> Impossible<(), Error>,
        serialize_struct(&'static str, usize) -> Impossible<(), Error>,
        serialize_struct_variant(&'static str, u32, &'static str, usize) -> Impossible<(), Error>,
    }
}

#[cfg(test)]
mod tests;
