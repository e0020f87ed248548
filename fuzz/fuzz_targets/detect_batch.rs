//! Fuzz target: the detection engine's MessagePack batch reader (`BatchRecs::read`: the
//! hand-written fast path for batches in the sensor's form, with `Rec::batch_key` and
//! `Rec::batch_head` for the batch's key; `BatchRecs::check` and `BatchRecs::stream`, the same
//! reader a record at a time once the batch is checked) against `rmp_serde` alone (the general
//! path `dcsensor detect` falls back on). `check` must take a batch exactly where `read` does,
//! with the same key, and `stream` then read the same records. Where the fast path takes a
//! batch, `rmp_serde` must read the same key and the same records (floats compared bit for
//! bit); where `batch_key` gives a key, `rmp_serde` must give it; where `batch_head` gives one
//! and `rmp_serde` reads the key, the two must agree. Nothing may panic.
//!
//! An input is one batch or several, split at [`SEP`] (two `0xc1` bytes: `0xc1` begins no
//! MessagePack value and is never in UTF-8, so the sensor's batches hold it only inside a
//! number's bytes), read one after another through one `BatchRecs` kept from input to input
//! (as `dcsensor detect` reads a spool: records, parked memory, the key prediction and calls'
//! arguments carried from batch to batch); where the fast path gives up, the records are set
//! from `rmp_serde` or let go, as the engine does. Each batch is also read through a new
//! `BatchRecs`, which must take or leave it alike and read the same records (what the reader
//! keeps never changes what it reads). Now and then a share of a record is held, as the engine
//! holds evidence: a held record must never change, whatever is read after it.
//! Seeds are the sensor's own batches of the captures (`fuzz_seeds`).
//! Mutants of the fast path it catches from those seeds: kept `args` shared on one byte fewer
//! and `park_held` skipped (on the seeds themselves), dotted quads with a leading zero taken
//! (found by mutation, seconds in).
#![no_main]
use dcsensor::detect::input::{BatchRecs, Rec};
use libfuzzer_sys::fuzz_target;
use serde::Deserialize;
use std::cell::RefCell;
use std::sync::Arc;

/// Between two batches of one input.
const SEP: &[u8] = b"\xc1\xc1";

/// Shares of records held (with what each held when taken), at most this many.
const HELD: usize = 8;

/// A batch as the general path reads its records.
#[derive(Deserialize)]
struct General {
    records: Vec<Rec>,
}

/// What orders batches, as the general path reads it.
#[derive(Deserialize)]
struct Key {
    #[serde(default)]
    sensor: String,
    #[serde(default)]
    seq: u64,
}

thread_local! {
    static STATE: RefCell<(BatchRecs, Vec<(Arc<Rec>, Rec)>)> = RefCell::new(Default::default());
}

/// The same record: every field equal, the floats bit for bit (NaN, -0.0 included).
fn same(a: &Rec, b: &Rec) -> bool {
    let bits = |r: &Rec| {
        (
            r.ts.to_bits(),
            r.till.map(f64::to_bits),
            r.rtt.map(f64::to_bits),
        )
    };
    if bits(a) != bits(b) {
        return false;
    }
    a == b || {
        let zero = |r: &Rec| Rec {
            ts: 0.0,
            till: r.till.map(|_| 0.0),
            rtt: r.rtt.map(|_| 0.0),
            ..r.clone()
        };
        zero(a) == zero(b)
    }
}

fn same_all(a: &[Rec], b: &[Rec]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
}

/// The parts of `data` between separators.
fn batches(data: &[u8]) -> Vec<&[u8]> {
    let mut v = Vec::new();
    let mut rest = data;
    while let Some(at) = rest.windows(SEP.len()).position(|w| w == SEP) {
        v.push(&rest[..at]);
        rest = &rest[at + SEP.len()..];
    }
    v.push(rest);
    v
}

fuzz_target!(|data: &[u8]| {
    STATE.with(|s| {
        let (recs, held) = &mut *s.borrow_mut();
        for (n, b) in batches(data).into_iter().enumerate() {
            one(b, n, recs, held);
        }
    });
});

fn one(b: &[u8], n: usize, recs: &mut BatchRecs, held: &mut Vec<(Arc<Rec>, Rec)>) {
    let key = rmp_serde::from_slice::<Key>(b)
        .ok()
        .map(|k| (k.sensor, k.seq));
    let general = rmp_serde::from_slice::<General>(b).ok().map(|g| g.records);
    if let Some(k) = Rec::batch_key(b) {
        assert_eq!(Some(k), key, "batch_key unlike rmp_serde on {b:02x?}");
    }
    if let (Some(h), Some(k)) = (Rec::batch_head(b), &key) {
        assert_eq!(&h, k, "batch_head unlike rmp_serde on {b:02x?}");
    }
    // a new reader, nothing kept
    let mut new = BatchRecs::default();
    let alone = new.read(b).map(|k| {
        let r: Vec<Rec> = new.records().map(|r| (**r).clone()).collect();
        (k, r)
    });
    // the reader kept from batch to batch: the batch checked first and, where the check takes
    // it, read a record at a time (some held while the rest are read), as `dcsensor detect`
    // reads it; then read at once, which must take it exactly where the check does, with the
    // same key and records
    let streamed = recs.check(b).map(|c| {
        let k = (c.key().0.to_string(), c.key().1);
        let mut got: Vec<Rec> = Vec::new();
        let mut kept: Vec<(Arc<Rec>, Rec)> = Vec::new();
        let whole = recs.stream(b, &c, |r| {
            if (got.len() + n) % 3 == 0 {
                kept.push((Arc::clone(r), (**r).clone()));
            }
            got.push((**r).clone());
            Ok::<(), ()>(())
        });
        assert_eq!(
            whole,
            Ok(true),
            "checked, then a record did not read: {b:02x?}"
        );
        for (h, was) in &kept {
            assert!(
                same(h, was),
                "a record held while streaming changed: {b:02x?}"
            );
        }
        (k, got)
    });
    let got = recs.read(b);
    assert_eq!(
        streamed.as_ref().map(|(k, _)| k),
        got.as_ref(),
        "checked unlike read at once: {b:02x?}"
    );
    if let Some((_, s)) = &streamed {
        let r: Vec<Rec> = recs.records().map(|r| (**r).clone()).collect();
        assert!(same_all(s, &r), "streamed unlike read at once: {b:02x?}");
    }
    match (&got, &alone) {
        (Some(k), Some((k2, r2))) => {
            assert_eq!(k, k2, "the key read unlike by a new reader on {b:02x?}");
            assert_eq!(
                Some(k),
                key.as_ref(),
                "the key unlike rmp_serde's on {b:02x?}"
            );
            let g = general
                .as_ref()
                .unwrap_or_else(|| panic!("taken, rmp_serde refused it: {b:02x?}"));
            let r: Vec<Rec> = recs.records().map(|r| (**r).clone()).collect();
            assert!(same_all(&r, g), "records unlike rmp_serde's on {b:02x?}");
            assert!(
                same_all(r2, g),
                "records of a new reader unlike on {b:02x?}"
            );
        }
        (None, None) => match &general {
            // as the engine: rmp_serde's records, or none
            Some(g) => recs.set(g.iter().cloned()),
            None => recs.clear(),
        },
        _ => panic!(
            "taken by one reader, left by the other ({}): {b:02x?}",
            if got.is_some() { "kept" } else { "new" }
        ),
    }
    // hold a share of some records (as the engine keeps evidence); none may change
    for (i, r) in recs.records().enumerate() {
        if (i + n + b.len()) % 5 == 0 {
            if held.len() >= HELD {
                held.remove(0);
            }
            held.push((Arc::clone(r), (**r).clone()));
        }
    }
    for (h, was) in held.iter() {
        assert!(same(h, was), "a held record changed: {was:?} -> {h:?}");
    }
}
