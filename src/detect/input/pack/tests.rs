//! The batch fast path against `rmp_serde` (the general reader) on the sensor's batches and on
//! batches altered a byte or two at a time.

use super::super::{BatchRecs, Rec};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

/// A batch read by the general reader, as `dcsensor detect` reads one.
#[derive(Deserialize)]
struct General {
    records: Vec<Rec>,
}

/// What orders batches, read by the general reader as `dcsensor detect` reads it.
#[derive(Deserialize, Debug, PartialEq)]
struct Key {
    #[serde(default)]
    sensor: String,
    #[serde(default)]
    seq: u64,
}

fn general_key(batch: &[u8]) -> Option<(String, u64)> {
    rmp_serde::from_slice::<Key>(batch)
        .ok()
        .map(|k| (k.sensor, k.seq))
}

fn general(batch: &[u8]) -> Option<Vec<Rec>> {
    rmp_serde::from_slice::<General>(batch)
        .ok()
        .map(|b| b.records)
}

/// Records as the sensor writes them (the shapes of every record type, and values at the edges
/// of their types).
fn records() -> Vec<Value> {
    vec![
        json!({"ts": 1704067230.0, "type": "dns", "src": "113.234.123.170", "sport": 12345,
            "dst": "121.218.105.168", "dport": 53, "proto": "udp", "id": 4369, "opcode": "QUERY",
            "query": "example.com", "qtype": "LOC", "qclass": "IN", "rcode": "NOERROR",
            "flags": ["rd", "ra"], "answers": ["\\# 15 000102"], "ttls": [60, 4294967295u32]}),
        json!({"ts": 1704067231.5, "type": "kerberos", "src": "10.0.0.5", "sport": 50000,
            "dst": "10.0.0.1", "dport": 88, "proto": "tcp", "request": "TGS-REQ",
            "client": "bob", "realm": "EX.ORG", "service": "cifs/dc1",
            "etypes": [18, 17, 23, -128, -2147483648i64], "kdc_options": ["forwardable", ""],
            "preauth": [2], "till": 2000000000, "reply": "KRB-ERROR",
            "error": "KDC_ERR_S_PRINCIPAL_UNKNOWN", "error_etypes": [], "pac_request": null,
            "status": 3221225485u32, "result": -5}),
        json!({"ts": 12.25, "type": "dcerpc", "src": "fe80::1", "dst": "10.0.0.1",
            "interface": "netlogon", "opnum": 26, "operation": "NetrServerAuthenticate3",
            "args": {"account": "DC1$", "credential_zero": true, "names": ["a", "b"], "n": 3,
                "neg": -1, "f": 0.5, "none": null, "deep": {"x": [1, {"y": "z"}]}},
            "auth_level": "privacy", "fault": null, "stub_bytes": 120, "success": false}),
        json!({"ts": 3, "type": "smb", "extra_field": {"x": [1, 2, {"y": null}], "z": 1.5},
            "share": "C$", "access": ["read"], "bytes_read": 18446744073709551615u64,
            "unknown_bool": true, "unknown_neg": -7}),
        json!({"ts": 5.5, "type": "ntlm", "user": "é", "domain": "EX", "mic": true,
            "channel_bindings": false, "rtt": 0.001094, "status": true, "id": false}),
        json!({}),
        json!({"type": "stats", "packets": 10}),
    ]
}

fn batch(records: &[Value]) -> Vec<u8> {
    let b = json!({"schema": 1, "sensor": "s1", "host": "h", "seq": 7, "records": records});
    rmp_serde::to_vec_named(&b).expect("a batch encodes")
}

/// The records the fast path reads; where it reads them, the batch's key reads whole as
/// `rmp_serde` reads it, and is the one the fast path gives. The batch is first checked and,
/// where the check takes it (exactly where the fast path does, with the same key), read a record
/// at a time ([`BatchRecs::stream`]) into the same reader, every other record held while the
/// rest are read (none may change): the records streamed are those read at once.
fn fast(batch: &[u8], pool: &mut BatchRecs) -> Option<Vec<Rec>> {
    let checked = pool.check(batch);
    let streamed = checked.map(|c| {
        let key = (c.key().0.to_string(), c.key().1);
        let mut got: Vec<Rec> = Vec::new();
        let mut held: Vec<(Arc<Rec>, Rec)> = Vec::new();
        let whole = pool.stream(batch, &c, |r| {
            if got.len() % 2 == 0 {
                held.push((Arc::clone(r), (**r).clone()));
            }
            got.push((**r).clone());
            Ok::<(), ()>(())
        });
        assert_eq!(whole, Ok(true), "{batch:02x?}");
        for (h, was) in &held {
            assert_eq!(&**h, was, "a record held while the batch was read changed");
        }
        (key, got)
    });
    let key = pool.read(batch);
    assert_eq!(
        streamed.as_ref().map(|(k, _)| k),
        key.as_ref(),
        "checked unlike read: {batch:02x?}"
    );
    let recs = pool.records().map(|r| (**r).clone()).collect();
    if key.is_some() {
        assert_eq!(key, general_key(batch), "{batch:02x?}");
    }
    if let Some((_, s)) = &streamed {
        assert_eq!(s, &recs, "streamed unlike read: {batch:02x?}");
    }
    key.map(|_| recs)
}

#[test]
fn the_sensors_batches_take_the_fast_path_and_read_as_rmp_serde_reads_them() {
    let recs = records();
    let b = batch(&recs);
    let mut pool = BatchRecs::default();
    let f = fast(&b, &mut pool).expect("the sensor's batch is on the fast path");
    assert_eq!(Some(f), general(&b));
    assert_eq!(pool.records().count(), recs.len());
    // read again into the same records, in another order: each comes out as read anew
    let mut rev = recs.clone();
    rev.reverse();
    let b = batch(&rev);
    let f = fast(&b, &mut pool).expect("the sensor's batch is on the fast path");
    assert_eq!(Some(f), general(&b));
    // a batch header in another order, with bytes after the batch (rmp_serde does not look)
    let mut b = rmp_serde::to_vec_named(&json!({"records": recs, "seq": 1})).unwrap();
    b.extend_from_slice(b"\xc1junk");
    assert_eq!(fast(&b, &mut pool), general(&b));
    assert!(general(&b).is_some());
}

#[test]
fn a_batch_key_is_read_without_its_records_as_rmp_serde_reads_it() {
    let all = records();
    let b = batch(&all);
    assert_eq!(Rec::batch_key(&b), Some(("s1".to_string(), 7)));
    assert_eq!(general_key(&b), Some(("s1".to_string(), 7)));
    // Absent fields read as their defaults, on both paths.
    let bare = rmp_serde::to_vec_named(&json!({"records": all})).unwrap();
    assert_eq!(Rec::batch_key(&bare), Some((String::new(), 0)));
    assert_eq!(general_key(&bare), Some((String::new(), 0)));
    // What rmp_serde refuses is not read here: a negative seq, a sensor that is not text.
    for odd in [
        json!({"seq": -1, "records": []}),
        json!({"sensor": 5, "records": []}),
    ] {
        let b = rmp_serde::to_vec_named(&odd).unwrap();
        assert_eq!((Rec::batch_key(&b), general_key(&b)), (None, None));
        assert_eq!(Rec::batch_head(&b), None);
    }
}

/// The key read from a batch's head (the members before its records): the sensor's batches
/// give it, batches whose key comes after the records do not, and where the rest of the batch
/// makes `rmp_serde` refuse the key (a member given twice after the records, records cut
/// short, a record that is not MessagePack), the head gives the key but the records' reader
/// does not, so the caller learns it by reading the key whole.
#[test]
fn a_batch_key_is_read_from_its_head_and_the_rest_is_checked_by_the_records_reader() {
    let all = records();
    let mut pool = BatchRecs::default();
    let b = batch(&all);
    assert_eq!(Rec::batch_head(&b), Some(("s1".to_string(), 7)));
    for late in [
        json!({"records": [], "sensor": "s1", "seq": 7}),
        json!({"sensor": "s1", "records": [], "seq": 7}),
        json!({"seq": 7, "records": []}),
    ] {
        let b = rmp_serde::to_vec_named(&late).unwrap();
        assert_eq!(Rec::batch_head(&b), None);
        assert!(general_key(&b).is_some());
    }
    // a map of these members in this order, a name given twice as often as it is
    let map = |members: &[(&str, Value)]| {
        let mut b = vec![0x80 | members.len() as u8];
        for (k, v) in members {
            b.extend(rmp_serde::to_vec_named(k).unwrap());
            b.extend(rmp_serde::to_vec_named(v).unwrap());
        }
        b
    };
    let head = [
        ("sensor", json!("s1")),
        ("seq", json!(7)),
        ("records", json!(all)),
    ];
    let refused: Vec<Vec<u8>> = vec![
        map(&[
            head[0].clone(),
            head[1].clone(),
            head[2].clone(),
            ("seq", json!(8)),
        ]),
        map(&[
            head[0].clone(),
            head[1].clone(),
            head[2].clone(),
            ("sensor", json!(1)),
        ]),
        map(&[
            head[0].clone(),
            head[1].clone(),
            head[2].clone(),
            ("sensor", json!("s1")),
        ]),
        b[..b.len() - 1].to_vec(),
        {
            let mut b = rmp_serde::to_vec_named(&json!({"sensor": "s1", "seq": 7, "records": [1]}))
                .unwrap();
            *b.last_mut().unwrap() = 0xc1;
            b
        },
    ];
    for b in &refused {
        assert_eq!(Rec::batch_head(b), Some(("s1".to_string(), 7)), "{b:02x?}");
        assert_eq!(general_key(b), None, "{b:02x?}");
        assert_eq!(Rec::batch_key(b), None, "{b:02x?}");
        assert_eq!(fast(b, &mut pool), None, "{b:02x?}");
    }
}

#[test]
fn other_batches_are_left_to_rmp_serde() {
    let mut pool = BatchRecs::default();
    let cases: Vec<Vec<u8>> = vec![
        // a 32-bit float, a binary string, a key that is a number, a field given twice
        rmp_serde::to_vec_named(&json!({"records": [{"ts": 1.0}]}))
            .map(|mut b| {
                let at = b.iter().position(|&c| c == 0xcb).unwrap();
                b.splice(at..at + 9, [0xca, 0x3f, 0x80, 0, 0]);
                b
            })
            .unwrap(),
        vec![
            0x81, 0xa7, b'r', b'e', b'c', b'o', b'r', b'd', b's', 0x91, 0x81, 0xa4, b't', b'y',
            b'p', b'e', 0xc4, 0x01, b'x',
        ],
        vec![
            0x81, 0xa7, b'r', b'e', b'c', b'o', b'r', b'd', b's', 0x91, 0x81, 0x01, 0x02,
        ],
        vec![
            0x81, 0xa7, b'r', b'e', b'c', b'o', b'r', b'd', b's', 0x91, 0x82, 0xa2, b't', b's',
            0x01, 0xa2, b't', b's', 0x02,
        ],
        // no records, records twice, an array for a batch, a batch cut short
        rmp_serde::to_vec_named(&json!({"seq": 1})).unwrap(),
        vec![
            0x82, 0xa7, b'r', b'e', b'c', b'o', b'r', b'd', b's', 0x90, 0xa7, b'r', b'e', b'c',
            b'o', b'r', b'd', b's', 0x90,
        ],
        vec![0x91, 0x90],
        batch(&records()[..3]).split_last().unwrap().1.to_vec(),
        // a hostile length: an array of 2^32-1 records in a few bytes
        vec![
            0x81, 0xa7, b'r', b'e', b'c', b'o', b'r', b'd', b's', 0xdd, 0xff, 0xff, 0xff, 0xff,
        ],
        // an address that is not one, a port out of range, a float where a code goes
        batch(&[json!({"src": "10.0.0.256"})]),
        batch(&[json!({"sport": 65536})]),
        batch(&[json!({"status": 1.5})]),
        batch(&[json!({"args": [1]})]),
    ];
    for b in &cases {
        assert!(
            fast(b, &mut pool).is_none(),
            "taken by the fast path: {b:02x?}"
        );
    }
}

/// Every batch made by changing a byte or two of the sensor's batches reads the same on both
/// paths whenever the fast path takes it, into records reused from batch to batch (whatever
/// the last batch, read or not, left in them).
#[test]
fn altered_batches_read_alike_on_both_paths() {
    let all = records();
    let bases: Vec<Vec<u8>> = (0..all.len())
        .map(|i| batch(&all[i..]))
        .chain([batch(&all[..1]), batch(&all[2..3])])
        .collect();
    let interesting = [
        0x00, 0x7f, 0x80, 0x90, 0xa0, 0xc0, 0xc2, 0xc3, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf, 0xd0,
        0xd3, 0xd9, 0xdc, 0xde, 0xe0, 0xff,
    ];
    let mut next = crate::base::xorshift(0x2545_f491_4f6c_dd1du64);
    let mut pool = BatchRecs::default();
    let (mut taken, mut left, mut keys, mut heads) = (0, 0, 0, 0);
    for _ in 0..20_000 {
        let mut b = bases[(next() % bases.len() as u64) as usize].clone();
        for _ in 0..1 + next() % 2 {
            let at = (next() % b.len() as u64) as usize;
            let c = if next() % 2 == 0 {
                interesting[(next() % interesting.len() as u64) as usize]
            } else {
                next() as u8
            };
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
        let whole = general_key(&b);
        if let Some(k) = Rec::batch_key(&b) {
            keys += 1;
            assert_eq!(Some(k), whole, "{b:02x?}");
        }
        // the key from the head: the whole key wherever the whole batch has one
        if let Some(k) = Rec::batch_head(&b) {
            heads += 1;
            if whole.is_some() {
                assert_eq!(Some(k), whole, "{b:02x?}");
            }
        }
        let g = general(&b);
        match fast(&b, &mut pool) {
            Some(f) => {
                taken += 1;
                assert_eq!(Some(f), g, "{b:02x?}");
            }
            None => left += usize::from(g.is_some()),
        }
    }
    assert!(
        keys > taken,
        "the key is read from more batches than the records ({keys})"
    );
    assert!(heads > keys, "the head gives a key for {heads} batches");
    // (the others are left to rmp_serde, most of them refused by it too)
    assert!(
        taken > 800,
        "the fast path took {taken} altered batches ({left} that rmp_serde reads left to it)"
    );
}

/// `k` arrays (or maps, each the value of key "a") nested one in another, the innermost empty.
fn nested(k: usize, maps: bool) -> Value {
    (0..k).fold(Value::Null, |inner, _| match (maps, inner) {
        (false, Value::Null) => json!([]),
        (false, v) => json!([1, v, "x"]),
        (true, Value::Null) => json!({}),
        (true, v) => json!({"a": v, "b": 2.5, "c": null}),
    })
}

/// A skipped value (an unknown field of a record, and the records while the key is read) is
/// followed to [`MAX_DEPTH`](super::MAX_DEPTH) levels, as `args` are; deeper is left to
/// rmp_serde, which reads it.
#[test]
fn skipped_values_are_followed_to_the_depth_limit_and_no_deeper() {
    let mut pool = BatchRecs::default();
    let limit = super::MAX_DEPTH;
    for maps in [false, true] {
        let ok = batch(&[json!({"ts": 1.0, "zz": nested(limit, maps), "type": "dns"})]);
        assert!(
            fast(&ok, &mut pool).is_some(),
            "{limit} levels, maps {maps}"
        );
        assert_eq!(fast(&ok, &mut pool), general(&ok));
        let deep = batch(&[json!({"ts": 1.0, "zz": nested(limit + 1, maps), "type": "dns"})]);
        assert!(fast(&deep, &mut pool).is_none(), "{} levels", limit + 1);
        assert!(general(&deep).is_some());
        // the key: the records (an array of maps) hold the value two levels down
        let key = batch(&[json!({"zz": nested(limit - 2, maps)})]);
        assert_eq!(Rec::batch_key(&key), Some(("s1".to_string(), 7)));
        let deep_key = batch(&[json!({"zz": nested(limit - 1, maps)})]);
        assert_eq!(Rec::batch_key(&deep_key), None);
        assert_eq!(general_key(&deep_key), Some(("s1".to_string(), 7)));
    }
}

/// A batch of `records` as the sensor writes it (see [`batch`]), read by both paths: the fast
/// path must take it and read it as `rmp_serde` does, into the records of `pool`.
fn read_alike(records: &[Value], pool: &mut BatchRecs) {
    let b = batch(records);
    let f = fast(&b, pool).unwrap_or_else(|| panic!("not on the fast path: {records:?}"));
    let g = general(&b).expect("rmp_serde reads the batch");
    assert_eq!(f, g, "{records:?}");
    let json = |r: &[Rec]| serde_json::to_string(r).unwrap();
    assert_eq!(json(&f), json(&g), "{records:?}");
}

/// Batches of records of many kinds (strings, lists, codes as names and as numbers, nil,
/// absent fields, unknown fields) read one after another into the same records, in every order
/// of three, records now and then held as the engine holds evidence: each reads as
/// `rmp_serde` reads it, no field of an earlier record left over (only the fields a record
/// held are cleared), and a held record never changes.
#[test]
fn records_read_into_earlier_records_read_as_each_reads_alone() {
    let mut kinds = records();
    kinds.extend([
        json!({"ts": 2.5, "type": "ldap", "user": "bob", "attributes": ["cn", "mail"], "result": 7,
            "error": "X", "status": "S", "query": null, "flags": []}),
        json!({"type": "smb", "share": "C$", "error": 5, "status": null, "access": ["w", "x", "y"]}),
        json!({"ts": 6, "type": "kerberos", "client": "alice", "etypes": [18, 23], "src": null,
            "kdc_options": ["a"], "error": null, "result": "ok", "status": 1}),
        json!({"ts": 7, "type": "dns", "query": "b.example", "flags": ["rd"], "answers": ["x", "y"],
            "src": "10.0.0.300", "dst": "::1"}),
    ]);
    let sets: Vec<Vec<Value>> = kinds
        .iter()
        .map(|r| vec![r.clone()])
        .chain([kinds.clone(), kinds[3..].to_vec()])
        .collect();
    let mut pool = BatchRecs::default();
    let mut held: Vec<(Arc<Rec>, Rec)> = Vec::new();
    for (n, x) in sets.iter().enumerate() {
        for (m, y) in sets.iter().enumerate() {
            for z in &sets {
                for recs in [x, y, z] {
                    let b = batch(recs);
                    // not the address that is not one: rmp_serde refuses that batch
                    if general(&b).is_none() {
                        assert!(fast(&b, &mut pool).is_none());
                        continue;
                    }
                    read_alike(recs, &mut pool);
                }
                if (n + m) % 3 == 0 {
                    if let Some(r) = pool.records().next() {
                        held.push((Arc::clone(r), (**r).clone()));
                    }
                }
            }
        }
    }
    assert!(held.len() > 10);
    for (h, was) in &held {
        assert_eq!(&**h, was);
    }
}

/// Calls' arguments whose encodings share long beginnings (one number wider, one more member,
/// nested deeper), more of them than are kept, read in a random order with other records
/// between and some records held (as the engine holds evidence): each reads as `rmp_serde`
/// reads it, arguments read again are shared with the last record that had them, and the maps
/// held never change.
#[test]
fn arguments_read_again_are_shared_and_read_as_rmp_serde_reads_them() {
    let mut args: Vec<Value> = Vec::new();
    for i in 1..7u64 {
        args.push(json!({"a": "x", "n": i}));
        args.push(json!({"a": "x", "n": i * 1000}));
        args.push(json!({"a": "x", "n": i, "m": "y"}));
        args.push(json!({"a": {"b": [i, "c"]}}));
    }
    args.push(json!({}));
    args.push(json!({"a": "x", "n": 1, "f": 0.5, "z": null, "neg": -3}));
    let mut next = crate::base::xorshift(0x5851_f42d_4c95_7f2du64);
    let mut pool = BatchRecs::default();
    let mut held: Vec<(Arc<Rec>, Rec)> = Vec::new();
    let mut last: Vec<Option<Arc<Rec>>> = vec![None; args.len()];
    let mut shared = 0;
    for _ in 0..5_000 {
        // a batch of one to three records, each with arguments or not
        let picks: Vec<usize> = (0..1 + next() % 3)
            .map(|_| (next() % (args.len() as u64 + 2)) as usize)
            .collect();
        let recs: Vec<Value> = picks
            .iter()
            .map(|&k| match args.get(k) {
                Some(a) if next() % 2 == 0 => {
                    json!({"ts": 1.5, "type": "dcerpc", "args": a, "status": 7})
                }
                Some(a) => json!({"ts": 1.5, "type": "dcerpc", "args": a}),
                None if k == args.len() => json!({"ts": 2.5, "type": "dns", "query": "a"}),
                None => json!({"ts": 2.5, "type": "dcerpc", "args": null}),
            })
            .collect();
        read_alike(&recs, &mut pool);
        for (&k, r) in picks.iter().zip(pool.records()) {
            if let Some(prev) = last.get_mut(k) {
                let a = r.args.as_ref().unwrap();
                if prev
                    .as_ref()
                    .is_some_and(|p| Arc::ptr_eq(p.args.as_ref().unwrap(), a))
                {
                    shared += 1;
                }
                *prev = Some(Arc::clone(r));
            }
            if next() % 16 == 0 {
                held.push((Arc::clone(r), (**r).clone()));
            }
        }
    }
    assert!(shared > 1_500, "{shared} shared");
    for (h, was) in &held {
        assert_eq!(&**h, was);
    }
}

/// Addresses read straight from their bytes where they are dotted quads in their usual form:
/// as the general parser reads them, and every other text left to it.
#[test]
fn dotted_quads_read_as_the_general_parser_reads_them() {
    for t in super::super::tests::address_texts() {
        let v4 = t.parse::<std::net::Ipv4Addr>().ok();
        match super::quad(t.as_bytes()) {
            Some(ip) => assert_eq!(Some(ip), v4.map(std::net::IpAddr::from), "{t:?}"),
            // only forms other than the usual one are left
            None => assert!(v4.is_none_or(|g| g.to_string() != t), "{t:?}"),
        }
        // and in a record, whichever way it is read
        let mut pool = BatchRecs::default();
        let b = batch(&[json!({"src": t})]);
        assert_eq!(fast(&b, &mut pool), general(&b), "{t:?}");
    }
}

/// A string read into a string that held another (the same, one of the same length, a
/// beginning or a continuation of it, not UTF-8, with room or without): it then holds the
/// string read, and text that is not UTF-8 is refused whatever the string held.
#[test]
fn a_string_read_into_one_that_held_another_holds_the_string_read() {
    let texts: [&[u8]; 9] = [
        b"",
        b"udp",
        b"tcp",
        b"ab",
        b"abc",
        b"\\pipe\\samr",
        "é".as_bytes(),
        b"\xff\xfe",
        b"ab\xc3",
    ];
    for held in texts {
        for read in texts {
            let mut enc = vec![0xa0 | read.len() as u8];
            enc.extend_from_slice(read);
            let mut m = super::M { b: &enc, i: 0 };
            let mut out = String::with_capacity(64);
            out.push_str(&String::from_utf8_lossy(held));
            let got = m.str_into(&mut out);
            match std::str::from_utf8(read) {
                Ok(want) => {
                    assert_eq!(got, Some(()));
                    assert_eq!(out, want, "{held:?} then {read:?}");
                    assert_eq!(m.i, enc.len());
                }
                Err(_) => assert_eq!(got, None, "{held:?} then {read:?}"),
            }
        }
    }
}

/// A batch of one record whose members are `members` (keys given as their encodings).
fn raw_batch(members: &[(Vec<u8>, &Value)]) -> Vec<u8> {
    let mut b = vec![0x81];
    b.extend(rmp_serde::to_vec_named("records").unwrap());
    b.extend([0x91, 0xde, 0, members.len() as u8]);
    for (k, v) in members {
        b.extend_from_slice(k);
        b.extend(rmp_serde::to_vec_named(v).unwrap());
    }
    b
}

/// Keys compared as bytes where the predicted key's encoding is (the key that followed last
/// time): a key encoded otherwise (as a `str8`), a key one byte off, one byte longer or
/// shorter, and short keys at the very end of the batch (fewer than eight bytes left) read as
/// the general reader reads them, after the prediction learned the usual order.
#[test]
fn keys_compared_as_bytes_read_as_the_general_reader_reads_them() {
    let mut pool = BatchRecs::default();
    let mut tail = records();
    tail.push(json!({"type": "dns", "id": 1}));
    tail.push(json!({"type": "dns", "op": "a"}));
    let (mut n, mut taken) = (0, 0);
    for rec in &tail {
        let Some(members) = rec.as_object() else {
            continue;
        };
        let members: Vec<(String, &Value)> = members.iter().map(|(k, v)| (k.clone(), v)).collect();
        let usual: Vec<(Vec<u8>, &Value)> = members
            .iter()
            .map(|(k, v)| (rmp_serde::to_vec_named(k).unwrap(), *v))
            .collect();
        for j in 0..members.len() {
            let k = members[j].0.as_bytes();
            let mut variants: Vec<Vec<u8>> = vec![[&[0xd9, k.len() as u8], k].concat()];
            let mut off = k.to_vec();
            *off.last_mut().unwrap() ^= 1;
            variants.push(off);
            variants.push([k, b"s"].concat());
            variants.push(k[..k.len() - 1].to_vec());
            for v in variants {
                let v = if v[0] == 0xd9 {
                    v
                } else {
                    rmp_serde::to_vec_named(std::str::from_utf8(&v).unwrap()).unwrap()
                };
                let mut altered = usual.clone();
                altered[j].0 = v;
                for b in [raw_batch(&usual), raw_batch(&altered), raw_batch(&usual)] {
                    n += 1;
                    let f = fast(&b, &mut pool);
                    taken += usize::from(f.is_some());
                    if let Some(f) = f {
                        assert_eq!(Some(f), general(&b), "{b:02x?}");
                    }
                }
            }
        }
    }
    assert!(taken * 10 > n * 9, "the fast path took {taken} of {n}");
}
