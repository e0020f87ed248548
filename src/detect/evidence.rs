//! What evidence costs and how much of it is held: the bytes a record holds in memory
//! ([`held_bytes`]), the budget each evidence list (a tally's, an alert's) keeps to
//! (`max_evidence_bytes`), and the record that stands for one beyond the budget ([`trimmed`]).
//!
//! Each list of evidence records (at most 32) holds at most `max_evidence_bytes`, counting each
//! record at [`held_bytes`] (a record shared by several lists is counted in each). A record that
//! would take the list over its budget is kept trimmed: its time, type, addresses, ports and
//! transport only ([`trimmed`], about the size of an empty record), so the alert still names
//! every evidence record, and says how many it trimmed (`evidence_trimmed`); once a list has
//! trimmed one, every later record of it is trimmed too, so the trimmed records are always the
//! last of the list. Room for trimmed records is kept: a record is kept whole only when the list
//! can still take trimmed records in every slot left, so no list ever holds more than its budget.
//! The budget is per list, not shared by all, so that records crafted to be large (lists of
//! empty strings, a call's `args` of empty lists) trim only the evidence of the alerts they are
//! part of, never that of other alerts.

use super::input::Rec;
use serde::ser::{self, Serialize};
use std::fmt;

/// What a trimmed record costs (its struct, its type's text).
pub fn trimmed_bytes() -> usize {
    std::mem::size_of::<Rec>() + 16
}

/// The least `max_evidence_bytes` can be: room for a whole list of trimmed records.
pub fn min_budget() -> usize {
    super::alert::MAX_EVIDENCE * trimmed_bytes()
}

/// The record kept in place of `r` beyond the budget: its time, type, addresses, ports and
/// transport, nothing else.
pub fn trimmed(r: &Rec) -> Rec {
    let mut t = Rec {
        ts: r.ts,
        src: r.src,
        sport: r.sport,
        dst: r.dst,
        dport: r.dport,
        ..Default::default()
    };
    t.kind.clone_from(&r.kind);
    t.proto.clone_from(&r.proto);
    t
}

/// Whether the record that would be a list's `len + 1`-th, costing `cost`, is kept whole (true)
/// or must be trimmed (false; the caller counts it), given the list's `bytes` so far (brought up
/// to date) and whether it trimmed a record already: whole only if it did not and the list still
/// has room for trimmed records in every one of its `slots` after this one.
pub fn take(
    bytes: &mut u32,
    trimmed_before: bool,
    len: usize,
    cost: usize,
    budget: usize,
    slots: usize,
) -> bool {
    let after = slots.saturating_sub(len + 1) * trimmed_bytes();
    let whole =
        !trimmed_before && (*bytes as usize).saturating_add(cost).saturating_add(after) <= budget;
    let add = if whole { cost } else { trimmed_bytes() };
    *bytes = bytes.saturating_add(add.min(u32::MAX as usize) as u32);
    whole
}

/// The bytes `r` holds in memory: its struct and what its fields hold on the heap (text, list
/// slots at twice their items for the lists' growth, a call's `args` as JSON values with their
/// map's slots). An estimate from above, taken from the record's fields as it serializes them,
/// so that it follows the record's fields as they change.
pub fn held_bytes(r: &Rec) -> usize {
    let mut c = Count::default();
    let _ = r.serialize(&mut c);
    std::mem::size_of::<Rec>() + c.heap
}

/// Bytes a list item takes in its list, counted twice for the list's growth: an integer, a
/// string (its `String`), a JSON value, a map entry (its key, value and index slot).
const INT_SLOT: usize = 2 * 8;
const STR_SLOT: usize = 2 * 24;
const VALUE_SLOT: usize = 2 * 32;
const ENTRY_SLOT: usize = 2 * (24 + 8 + 8);

/// A serializer that adds up heap bytes (see [`held_bytes`]).
#[derive(Default)]
struct Count {
    heap: usize,
    /// Lists and maps entered (0: a field of the record itself).
    depth: usize,
    /// Inside a call's `args` (items are JSON values).
    maps: usize,
}

impl Count {
    fn item(&mut self, slot: usize) {
        if self.depth > 0 {
            self.heap += if self.maps > 0 { VALUE_SLOT } else { slot };
        }
    }
}

#[derive(Debug)]
struct Never;
impl fmt::Display for Never {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not counted")
    }
}
impl std::error::Error for Never {}
impl ser::Error for Never {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Never
    }
}

type R = Result<(), Never>;

impl<'a> ser::Serializer for &'a mut Count {
    type Ok = ();
    type Error = Never;
    type SerializeSeq = &'a mut Count;
    type SerializeTuple = &'a mut Count;
    type SerializeTupleStruct = &'a mut Count;
    type SerializeTupleVariant = &'a mut Count;
    type SerializeMap = &'a mut Count;
    type SerializeStruct = &'a mut Count;
    type SerializeStructVariant = &'a mut Count;

    fn serialize_bool(self, _: bool) -> R {
        self.item(INT_SLOT);
        Ok(())
    }
    fn serialize_i8(self, _: i8) -> R {
        self.item(INT_SLOT);
        Ok(())
    }
    fn serialize_i16(self, _: i16) -> R {
        self.item(INT_SLOT);
        Ok(())
    }
    fn serialize_i32(self, _: i32) -> R {
        self.item(INT_SLOT);
        Ok(())
    }
    fn serialize_i64(self, _: i64) -> R {
        self.item(INT_SLOT);
        Ok(())
    }
    fn serialize_u8(self, _: u8) -> R {
        self.item(INT_SLOT);
        Ok(())
    }
    fn serialize_u16(self, _: u16) -> R {
        self.item(INT_SLOT);
        Ok(())
    }
    fn serialize_u32(self, _: u32) -> R {
        self.item(INT_SLOT);
        Ok(())
    }
    fn serialize_u64(self, _: u64) -> R {
        self.item(INT_SLOT);
        Ok(())
    }
    fn serialize_f32(self, _: f32) -> R {
        self.item(INT_SLOT);
        Ok(())
    }
    fn serialize_f64(self, _: f64) -> R {
        self.item(INT_SLOT);
        Ok(())
    }
    fn serialize_char(self, _: char) -> R {
        self.item(INT_SLOT);
        Ok(())
    }
    fn serialize_str(self, v: &str) -> R {
        self.item(STR_SLOT);
        self.heap += v.len();
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> R {
        self.item(STR_SLOT);
        self.heap += v.len();
        Ok(())
    }
    fn serialize_none(self) -> R {
        self.item(INT_SLOT);
        Ok(())
    }
    fn serialize_some<T: ?Sized + Serialize>(self, v: &T) -> R {
        v.serialize(self)
    }
    fn serialize_unit(self) -> R {
        self.item(INT_SLOT);
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> R {
        self.item(INT_SLOT);
        Ok(())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> R {
        self.item(INT_SLOT);
        Ok(())
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(self, _: &'static str, v: &T) -> R {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        v: &T,
    ) -> R {
        v.serialize(self)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self, Never> {
        self.item(STR_SLOT);
        self.depth += 1;
        Ok(self)
    }
    fn serialize_tuple(self, n: usize) -> Result<Self, Never> {
        self.serialize_seq(Some(n))
    }
    fn serialize_tuple_struct(self, _: &'static str, n: usize) -> Result<Self, Never> {
        self.serialize_seq(Some(n))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        n: usize,
    ) -> Result<Self, Never> {
        self.serialize_seq(Some(n))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self, Never> {
        // the map itself (shared, with its index table's header)
        self.heap += 128;
        self.item(STR_SLOT);
        self.depth += 1;
        self.maps += 1;
        Ok(self)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, Never> {
        // the record itself (its fields are in its struct) or a struct inside a field
        if self.depth > 0 {
            self.item(STR_SLOT);
        }
        self.depth += 1;
        Ok(self)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        n: usize,
    ) -> Result<Self, Never> {
        self.serialize_struct("", n)
    }
    fn collect_str<T: ?Sized + fmt::Display>(self, _: &T) -> R {
        // text written from a value held inline (an address): no heap of its own
        self.item(STR_SLOT);
        Ok(())
    }
}

/// The lists (sequences, tuples): each item is counted where it lies; the end closes a level.
macro_rules! count_items {
    ($($tr:ident :: $method:ident),*) => {$(
        impl ser::$tr for &mut Count {
            type Ok = ();
            type Error = Never;
            fn $method<T: ?Sized + Serialize>(&mut self, v: &T) -> R {
                v.serialize(&mut **self)
            }
            fn end(self) -> R {
                self.depth -= 1;
                Ok(())
            }
        }
    )*};
}

count_items!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl ser::SerializeMap for &mut Count {
    type Ok = ();
    type Error = Never;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, k: &T) -> R {
        // the entry's slots; the key's text is counted as a string's heap only
        self.heap += ENTRY_SLOT;
        let (depth, maps) = (self.depth, self.maps);
        self.depth = 0;
        let r = k.serialize(&mut **self);
        (self.depth, self.maps) = (depth, maps);
        r
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, v: &T) -> R {
        v.serialize(&mut **self)
    }
    fn end(self) -> R {
        self.depth -= 1;
        self.maps -= 1;
        Ok(())
    }
}

impl ser::SerializeStruct for &mut Count {
    type Ok = ();
    type Error = Never;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, _: &'static str, v: &T) -> R {
        // a field of the record itself lies in its struct: only its heap counts
        let top = self.depth == 1;
        if top {
            self.depth = 0;
        }
        let r = v.serialize(&mut **self);
        if top {
            self.depth = 1;
        }
        r
    }
    fn end(self) -> R {
        self.depth -= 1;
        Ok(())
    }
}

impl ser::SerializeStructVariant for &mut Count {
    type Ok = ();
    type Error = Never;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, _: &'static str, v: &T) -> R {
        v.serialize(&mut **self)
    }
    fn end(self) -> R {
        self.depth -= 1;
        Ok(())
    }
}
