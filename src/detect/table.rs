//! Capped state tables: a map that never holds more than its cap (the least recently touched
//! half goes when it is full, counted as evictions) and the windowed tally most detections keep
//! per source or account.

use super::alert::MAX_TARGETS;
use super::input::Rec;
use rustc_hash::FxHashSet;
use std::borrow::Borrow;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::Arc;

/// A value with the time it was last touched.
pub trait Touched {
    fn last(&self) -> f64;
}

/// A map with a hard cap on its entries, keyed by text (the default) or by anything hashable and
/// ordered (addresses: no text made per lookup). A hashbrown map seeded as
/// [`crate::base::WireMap`] is, whose entry taken by a borrowed key finds an entry present with
/// one lookup and copies the key only to insert it ([`Capped::entry`]).
pub struct Capped<V, K = String> {
    map: hashbrown::HashMap<K, V, foldhash::fast::RandomState>,
    cap: usize,
    /// Entries dropped because the table was full.
    pub evictions: u64,
}

impl<V: Touched, K: Hash + Eq + Ord + Clone> Capped<V, K> {
    pub fn new(cap: usize) -> Self {
        Capped {
            map: Default::default(),
            cap: cap.max(2),
            evictions: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn get<Q: ?Sized + Hash + Eq>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        self.map.get(key)
    }

    pub fn get_mut<Q: ?Sized + Hash + Eq>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
    {
        self.map.get_mut(key)
    }

    pub fn remove<Q: ?Sized + Hash + Eq>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        self.map.remove(key)
    }

    /// The entry of `key`, made with `make` when absent (evicting first when full). One lookup
    /// unless the table is full.
    pub fn entry<Q>(&mut self, key: &Q, make: impl FnOnce() -> V) -> &mut V
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq + ToOwned<Owned = K>,
    {
        if self.map.len() >= self.cap && !self.map.contains_key(key) {
            self.evict_half();
        }
        self.map.entry_ref(key).or_insert_with(make)
    }

    /// Drops the least recently touched half (at least one entry), counted in `evictions`.
    pub fn evict_half(&mut self) {
        let mut times: Vec<f64> = self.map.values().map(Touched::last).collect();
        let mid = times.len() / 2;
        times.select_nth_unstable_by(mid, |a, b| a.total_cmp(b));
        let cut = times[mid];
        let before = self.map.len();
        self.map.retain(|_, v| v.last() > cut);
        if self.map.len() == before {
            // every entry has the same time: drop one deterministically (the smallest key)
            if let Some(k) = self.map.keys().min().cloned() {
                self.map.remove(&k);
            }
        }
        self.evictions += (before - self.map.len()) as u64;
    }

    /// Removes entries last touched before `cutoff`; returns how many.
    pub fn expire(&mut self, cutoff: f64) -> usize {
        let before = self.map.len();
        self.map.retain(|_, v| v.last() >= cutoff);
        before - self.map.len()
    }

    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.map.values()
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&K, &mut V)> {
        self.map.iter_mut()
    }
}

/// What bounds a tally: the `[detect]` settings [`Tally::add`] applies.
pub struct Caps {
    /// `max_distinct`: distinct-target hashes remembered.
    pub max_distinct: usize,
    /// `max_target_bytes`: bytes of target names kept.
    pub max_target_bytes: usize,
    /// `max_evidence_bytes`: bytes of evidence records kept whole.
    pub budget: usize,
}

/// What [`Tally::add`] could not keep of a record's target.
#[derive(Debug, Default, PartialEq)]
pub struct Added {
    /// The target counted as new without its hash remembered (`max_distinct`).
    pub distinct_dropped: bool,
    /// The target's name not kept (`max_target_bytes`).
    pub target_dropped: bool,
}

/// Whether name `t` may join `names` without their text exceeding `max` bytes.
pub fn target_fits(names: &[String], t: &str, max: usize) -> bool {
    names.iter().map(String::len).sum::<usize>() + t.len() <= max
}

/// Evidence records a tally holds before its alert is raised.
pub const PRE_EVIDENCE: usize = 32;

/// Events of one entity in a time window: how many, how many distinct targets (and the first
/// names), the first evidence records.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    pub start: f64,
    pub last: f64,
    pub n: u64,
    seen: FxHashSet<u64>,
    pub distinct: u64,
    pub targets: Vec<String>,
    /// Of `targets`, how many were handed to the alert already.
    pub sent: usize,
    /// The first records of the window, shared with the reader and the alert (not copied).
    pub evidence: Vec<Arc<Rec>>,
    /// An alert was raised from this window.
    pub raised: bool,
    /// Bytes of `evidence` (`max_evidence_bytes`, [`super::evidence`]).
    pub evidence_bytes: u32,
    /// Of `evidence`, the last records kept trimmed.
    pub evidence_trimmed: u8,
}

impl Touched for Tally {
    fn last(&self) -> f64 {
        self.last
    }
}

/// The key of [`h64`], drawn at random once a process.
static TARGET_KEY: std::sync::LazyLock<foldhash::fast::RandomState> =
    std::sync::LazyLock::new(Default::default);

/// A keyed hash of `s` without ASCII case (lower-cased 64 bytes at a time on the stack): a tally
/// counts distinct targets by it, and with a fixed hash a sender could pick names that collide
/// and so count as one.
fn h64(s: &str) -> u64 {
    h64_keyed(&TARGET_KEY, s)
}

fn h64_keyed(key: &foldhash::fast::RandomState, s: &str) -> u64 {
    let mut h = key.build_hasher();
    let mut buf = [0u8; 64];
    for chunk in s.as_bytes().chunks(64) {
        let low = &mut buf[..chunk.len()];
        low.copy_from_slice(chunk);
        low.make_ascii_lowercase();
        h.write(low);
    }
    h.write_usize(s.len());
    h.finish()
}

impl Tally {
    /// Counts `rec` at its time. A gap longer than `window` starts over; before the alert is
    /// raised, the window also restarts once it is `window` long. A target not seen in this
    /// window is remembered (as a hash) while the tally holds fewer than `max_distinct`; beyond
    /// that every target counts as new without being remembered (a distinct drop). Its name is
    /// kept while the tally holds fewer than [`MAX_TARGETS`] names and it fits
    /// `max_target_bytes` ([`target_fits`]; else a target drop). The record is kept as evidence
    /// while the tally holds fewer than `keep` (and [`PRE_EVIDENCE`]): whole while its evidence
    /// holds at most `budget` bytes, each record costing `cost()` (asked only then), else
    /// trimmed ([`super::evidence`]).
    pub fn add(
        &mut self,
        window: f64,
        target: Option<&str>,
        rec: &Arc<Rec>,
        keep: usize,
        caps: &Caps,
        cost: impl FnOnce() -> usize,
    ) -> Added {
        let budget = caps.budget;
        let ts = rec.ts;
        if self.n == 0 || ts - self.last > window || (!self.raised && ts - self.start > window) {
            *self = Tally {
                start: ts,
                ..Default::default()
            };
        }
        self.last = self.last.max(ts);
        self.n += 1;
        // once raised, the alert takes later records itself: the tally keeps none
        let slots = keep.min(PRE_EVIDENCE);
        if !self.raised && self.evidence.len() < slots {
            // (the cost is asked only while records are kept whole)
            let c = if self.evidence_trimmed == 0 {
                cost()
            } else {
                0
            };
            let len = self.evidence.len();
            let before = self.evidence_trimmed > 0;
            if super::evidence::take(&mut self.evidence_bytes, before, len, c, budget, slots) {
                self.evidence.push(rec.clone());
            } else {
                self.evidence_trimmed = self.evidence_trimmed.saturating_add(1);
                self.evidence.push(Arc::new(super::evidence::trimmed(rec)));
            }
        }
        let mut added = Added::default();
        let Some(t) = target else { return added };
        let h = h64(t);
        if self.seen.contains(&h) {
            return added;
        }
        added.distinct_dropped = self.seen.len() >= caps.max_distinct;
        if !added.distinct_dropped {
            self.seen.insert(h);
        }
        self.distinct += 1;
        if self.targets.len() < MAX_TARGETS {
            if target_fits(&self.targets, t, caps.max_target_bytes) {
                self.targets.push(t.to_string());
            } else {
                added.target_dropped = true;
            }
        }
        added
    }
}

#[cfg(test)]
mod tests {
    use super::{h64, h64_keyed};

    #[test]
    fn target_hashes_ignore_case_and_are_keyed() {
        // case folds in every 64-byte piece, the last one short
        let long = "Svc_Backup/".repeat(20);
        assert_eq!(h64(&long), h64(&long.to_ascii_lowercase()));
        assert_eq!(h64("Administrator"), h64("aDMINISTRATOR"));
        assert_ne!(h64(&long), h64(&long[1..]));
        assert_ne!(h64("ab"), h64("ab\0"));
        // the same names hash apart under another key (a fixed hash would not)
        let (a, b) = (Default::default(), Default::default());
        let names: Vec<String> = (0..1_000).map(|i| format!("user{i}")).collect();
        let alike = names
            .iter()
            .filter(|n| h64_keyed(&a, n) == h64_keyed(&b, n))
            .count();
        assert!(
            alike <= 1,
            "{alike} of 1,000 names hash alike under two keys"
        );
    }
}
