//! `dcsensor detect` on MessagePack batch files (the sensor's spool, a center's input): read in
//! (sensor, seq) order one batch at a time, so memory holds one batch however many there are.

use super::{Detector, Raw};
use crate::detect::input::BatchRecs;
use crate::detect::Rec;
use serde::Deserialize;
use std::path::PathBuf;
use std::sync::Arc;

/// What orders the batches; the records are skipped while it is read.
#[derive(Deserialize)]
struct Key {
    #[serde(default)]
    sensor: String,
    #[serde(default)]
    seq: u64,
}

/// The most bytes of a file [`read_head`] reads: room for the sensor's header with the longest
/// sensor id and host name it writes.
const HEAD: u64 = 4096;

/// The first [`HEAD`] bytes of a file (all of a shorter one).
fn read_head(f: &std::path::Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut head = Vec::with_capacity(HEAD as usize);
    std::fs::File::open(f)?.take(HEAD).read_to_end(&mut head)?;
    Ok(head)
}

/// A batch's key read whole (every member looked at), by the hand-written reader where it takes
/// the batch, else by `rmp_serde` (whose answer the other always is).
fn whole_key(bytes: &[u8]) -> Result<Key, rmp_serde::decode::Error> {
    match Rec::batch_key(bytes) {
        Some((sensor, seq)) => Ok(Key { sensor, seq }),
        None => rmp_serde::from_slice::<Key>(bytes),
    }
}

/// The length of a batch's `records` list, every record skipped unread (no memory per record):
/// what `rmp_serde` takes as the list (a field named by its number too) when the members before
/// it are not named by strings.
#[derive(Deserialize)]
struct Count {
    #[serde(default)]
    records: Len,
}

#[derive(Default)]
struct Len(u64);

impl<'de> Deserialize<'de> for Len {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Len, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Len;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list of records")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut a: A) -> Result<Len, A::Error> {
                let mut n = 0;
                while a.next_element::<serde::de::IgnoredAny>()?.is_some() {
                    n += 1;
                }
                Ok(Len(n))
            }
        }
        d.deserialize_seq(V)
    }
}

/// How many records a batch holds, before any is read: as its header declares them (the
/// sensor's form, [`crate::upstream::batch::read_header`]), else counted by `rmp_serde` without
/// keeping them; an error when `rmp_serde` does not read the batch as one (then no reader takes
/// it).
fn records_in(bytes: &[u8]) -> Result<u64, rmp_serde::decode::Error> {
    match crate::upstream::batch::read_header(bytes) {
        Ok(h) => Ok(h.records),
        Err(_) => rmp_serde::from_slice::<Count>(bytes).map(|c| c.records.0),
    }
}

/// A batch as the sensor ships it; its records are kept whole (for `--records`) and read into
/// the engine's [`Rec`] one by one.
#[derive(Deserialize)]
struct Batch {
    records: Vec<serde_json::Value>,
}

/// A batch read straight into the engine's records (when `--records` does not need them whole):
/// no intermediate values.
#[derive(Deserialize)]
struct RecBatch {
    records: Vec<Rec>,
}

/// Reads the batches in `paths` (files, or directories of `.msgpack` files) in (sensor, seq)
/// order and feeds their records with their sensor's id. Each file is read twice: once for its
/// sensor and number (the order; from the members before the records, where the sensor writes
/// them), then, in order, for its records; only one batch is held.
pub fn batches(d: &mut Detector, paths: &[PathBuf]) -> Result<(), String> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let rd = std::fs::read_dir(p).map_err(|e| format!("{}: {e}", p.display()))?;
            for ent in rd.flatten() {
                let path = ent.path();
                if path.extension().is_some_and(|x| x == "msgpack") {
                    files.push(path);
                }
            }
        } else {
            files.push(p.clone());
        }
    }
    // Each batch's key, from the members before its records when the sensor's order puts it
    // there (`true`: still to be read whole, which the records' reader does as it goes), else
    // read whole now, as `rmp_serde` reads it.
    let mut order: Vec<(Key, PathBuf, bool)> = Vec::with_capacity(files.len());
    for f in files {
        // the head is read from the file's first bytes (what it reads there, it reads alike
        // in the whole file); the whole file only when the head is not there
        let head = read_head(&f).map_err(|e| format!("{}: {e}", f.display()))?;
        let key = match Rec::batch_head(&head) {
            Some((sensor, seq)) => Ok((Key { sensor, seq }, true)),
            None => {
                let bytes = std::fs::read(&f).map_err(|e| format!("{}: {e}", f.display()))?;
                whole_key(&bytes).map(|k| (k, false))
            }
        };
        match key {
            Ok((k, head)) => order.push((k, f, head)),
            Err(e) => {
                d.skipped += 1;
                tracing::warn!("{}: not a batch, skipped: {e}", f.display());
            }
        }
    }
    // Stable: batches with the same key keep the order they were found in.
    order.sort_by(|(a, _, _), (b, _, _)| (&a.sensor, a.seq).cmp(&(&b.sensor, b.seq)));
    // The records of one batch, and those the engine kept no share of, read into again.
    let mut recs = BatchRecs::default();
    let max = d.engine.tuning().max_batch_records;
    for (key, f, head) in order {
        let bytes = std::fs::read(&f).map_err(|e| format!("{}: {e}", f.display()))?;
        // A record takes about 1.8 KiB however few bytes it had in the batch (an empty map is
        // one): the records a batch declares are bounded before any is read.
        match records_in(&bytes) {
            Ok(n) if n > max as u64 => {
                d.skipped += 1;
                tracing::warn!(
                    "{}: a batch of {n} records, more than max_batch_records ({max}), skipped; \
                     raise max_batch_records in [detect] if a sensor writes batches this large",
                    f.display()
                );
                continue;
            }
            Ok(_) => {}
            Err(e) => {
                d.skipped += 1;
                tracing::warn!("{}: not a batch, skipped: {e}", f.display());
                continue;
            }
        }
        let sensor = (!key.sensor.is_empty()).then_some(key.sensor.as_str());
        // Where every record reads (checked first, none read), each is read and fed in turn
        // while it is in the cache, rather than all read before the first is fed (a thousand
        // records of 1.8 KiB fill the cache); else as before.
        let checked = if d.records { None } else { recs.check(&bytes) };
        let all = match &checked {
            None if !d.records => recs.read(&bytes),
            _ => None,
        };
        let fast = match &checked {
            Some(c) => Some(c.key()),
            None => all.as_ref().map(|(s, q)| (s.as_str(), *q)),
        };
        // A key read from the batch's head counts only if the whole batch gives it (as when it
        // is read whole before the order is made): else the batch is skipped, as it would
        // have been then (no record of it read).
        if head && fast.is_none_or(|k| k != (key.sensor.as_str(), key.seq)) {
            if let Err(e) = whole_key(&bytes) {
                recs.clear();
                d.skipped += 1;
                tracing::warn!("{}: not a batch, skipped: {e}", f.display());
                continue;
            }
        }
        if let Some(c) = &checked {
            let whole = recs
                .stream(&bytes, c, |r| d.feed(sensor, r, Raw::Parsed))
                .map_err(|e| e.to_string())?;
            if !whole {
                // not reached: check takes a batch only if every record reads
                d.skipped += 1;
                tracing::warn!("{}: a record did not read, the rest skipped", f.display());
            }
            continue;
        }
        if !d.records {
            let read = all.is_some() || {
                match rmp_serde::from_slice::<RecBatch>(&bytes) {
                    Ok(b) => {
                        recs.set(b.records);
                        true
                    }
                    Err(_) => {
                        recs.clear();
                        false
                    }
                }
            };
            if read {
                drop(bytes);
                for r in recs.records() {
                    d.feed(sensor, r, Raw::Parsed).map_err(|e| e.to_string())?;
                }
                continue;
            }
        }
        // Whole values: for `--records`, or to skip only the records that do not read.
        let b = match rmp_serde::from_slice::<Batch>(&bytes) {
            Ok(b) => b,
            Err(e) => {
                d.skipped += 1;
                tracing::warn!("{}: not a batch, skipped: {e}", f.display());
                continue;
            }
        };
        drop(bytes);
        for v in &b.records {
            match Rec::deserialize(v) {
                Ok(r) => d
                    .feed(sensor, &Arc::new(r), Raw::Value(v))
                    .map_err(|e| e.to_string())?,
                Err(e) => {
                    d.skipped += 1;
                    tracing::warn!(
                        "a record of sensor {:?} batch {} was not read, skipped: {e}",
                        key.sensor,
                        key.seq
                    );
                }
            }
        }
    }
    Ok(())
}
