//! The encoder against `serde_json`: the same bytes for every kind of value records hold.

use super::*;
use serde::Serialize;
use std::collections::BTreeMap;

fn ours<T: Serialize + ?Sized>(v: &T) -> String {
    let mut out = Vec::new();
    to_vec(&mut out, v).unwrap();
    String::from_utf8(out).unwrap()
}

fn same<T: Serialize + ?Sized>(v: &T) {
    assert_eq!(ours(v), serde_json::to_string(v).unwrap());
}

#[test]
fn strings_escape_as_serde_json_does_at_every_length_and_position() {
    // Every byte below 0x80 and some multi-byte characters, each at every offset of strings
    // from 0 to 40 bytes long, so each one is met inside a word scan and in the byte loop.
    let mut specials: Vec<char> = (0u8..0x80).map(char::from).collect();
    specials.extend(['é', '€', '😀', '\u{7f}', '\u{2028}']);
    for c in specials {
        for len in 0..40 {
            for at in 0..=len {
                let mut s: String = "a".repeat(at);
                s.push(c);
                s.push_str(&"b".repeat(len - at));
                same(&s);
            }
        }
    }
    same("");
    same("\"\\\"\\\n\r\t\u{8}\u{c}\u{1}\u{1f}");
    same(&"x\u{0}".repeat(33));
}

#[test]
fn numbers_and_floats_are_serde_jsons() {
    for f in [
        0.0,
        -0.0,
        1.0,
        0.1,
        1_700_000_000.123456,
        1e300,
        -2.5e-300,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::MIN_POSITIVE,
    ] {
        same(&f);
        same(&(f as f32));
    }
    same(&(
        i64::MIN,
        u64::MAX,
        i128::MIN,
        u128::MAX,
        -1i8,
        65535u16,
        'x',
        true,
        false,
    ));
}

#[derive(Serialize)]
enum E {
    Unit,
    New(u32),
    Tuple(u8, String),
    Struct { a: Option<u8>, b: Vec<u8> },
}

#[derive(Serialize)]
struct Inner {
    name: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    skipped: Option<u8>,
    none: Option<u8>,
}

#[derive(Serialize)]
struct Outer {
    #[serde(rename = "type")]
    kind: E,
    #[serde(flatten)]
    inner: Inner,
    list: Vec<E>,
    empty: Vec<u8>,
    unit: (),
    #[serde(with = "serde_bytes_like")]
    bytes: Vec<u8>,
    by_number: BTreeMap<u16, String>,
    by_bool: BTreeMap<bool, u8>,
    empty_map: BTreeMap<String, u8>,
}

mod serde_bytes_like {
    pub fn serialize<S: serde::Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(b)
    }
}

#[test]
fn structures_flatten_enums_and_maps_are_serde_jsons() {
    let v = Outer {
        kind: E::Unit,
        inner: Inner {
            name: "n\"q",
            skipped: None,
            none: None,
        },
        list: vec![
            E::New(7),
            E::Tuple(1, "t".into()),
            E::Struct {
                a: Some(3),
                b: vec![1, 2],
            },
            E::Struct { a: None, b: vec![] },
        ],
        empty: vec![],
        unit: (),
        bytes: vec![0, 255],
        by_number: [(80, "http".into()), (445, "smb".into())].into(),
        by_bool: [(true, 1), (false, 0)].into(),
        empty_map: BTreeMap::new(),
    };
    same(&v);
    same(&Some(std::net::Ipv4Addr::new(10, 0, 0, 1)));
    same(&std::net::IpAddr::from([0xfe80, 0, 0, 0, 0, 0, 0, 1]));
}

#[test]
fn a_key_that_is_not_a_string_is_refused_as_serde_json_refuses_it() {
    let m: BTreeMap<Vec<u8>, u8> = [(vec![1], 1)].into();
    let mut out = Vec::new();
    assert!(to_vec(&mut out, &m).is_err());
    assert!(serde_json::to_string(&m).is_err());
}
