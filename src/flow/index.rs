//! The flow table's index: from a flow's key to its slot in the slab, in 8 bytes a flow.
//!
//! A hash map from [`Key`] to slot number held the 48-byte key beside each slot number, so a
//! lookup read three places a packet: the map's control bytes, its 64-byte bucket and then the
//! flow's slot. The index holds only the slot number and 32 bits of the key's hash; a lookup
//! compares those bits and then the key kept in the slot, which the packet reads next anyway.
//! The table is an eighth of the size and stays in cache longer; growing it needs no key (the
//! kept bits are the hash).
//!
//! The key's hash is keyed with a seed drawn at random for each table (foldhash's
//! `RandomState`): keys come from the wire, and with an unkeyed hash a sender who picks its
//! addresses and ports (an IPv6 address alone is 128 bits of choice) could make every flow land
//! in one probe sequence, each packet then comparing against all of them.

use super::{Flow, Key};
use foldhash::fast::RandomState;
use hashbrown::HashTable;
use std::hash::BuildHasher;

/// One flow in the index.
#[derive(Debug, Clone, Copy)]
struct Entry {
    slot: u32,
    /// The key's 32-bit hash ([`Index::fingerprint`]).
    hash: u32,
}

/// Bytes of one index entry (besides its control byte).
pub(super) const ENTRY_BYTES: usize = std::mem::size_of::<Entry>();

/// Key to slot number.
#[derive(Default)]
pub(super) struct Index {
    t: HashTable<Entry>,
    /// This table's hash key (random).
    seed: RandomState,
}

/// The table's hash of a fingerprint: its low bits (the bucket) and its top seven (the control
/// byte) both depend on every bit of the fingerprint.
#[inline]
fn spread(hash: u32) -> u64 {
    u64::from(hash).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ u64::from(hash)
}

impl Index {
    /// The 32 bits of a key's (keyed) hash the index keeps.
    #[inline]
    fn fingerprint(&self, key: &Key) -> u32 {
        let h = self.seed.hash_one(key);
        (h ^ (h >> 32)) as u32
    }

    /// The slot of the flow with `key`, whose flows are in `slab`.
    #[inline]
    pub fn get(&self, key: &Key, slab: &[Option<Flow>]) -> Option<u32> {
        self.find(key, |slot| {
            slab.get(slot as usize)
                .and_then(Option::as_ref)
                .map(|f| &f.key)
        })
    }

    /// The slot whose key (`key_at`) is `key`: slots whose 32 bits of hash match are compared
    /// by their whole key.
    #[inline]
    fn find<'k>(&self, key: &Key, key_at: impl Fn(u32) -> Option<&'k Key>) -> Option<u32> {
        let hash = self.fingerprint(key);
        self.t
            .find(spread(hash), |e| {
                e.hash == hash && key_at(e.slot).is_some_and(|k| k == key)
            })
            .map(|e| e.slot)
    }

    /// Adds the flow with `key` in `slot` (not in the index yet).
    pub fn insert(&mut self, key: &Key, slot: u32) {
        let hash = self.fingerprint(key);
        self.t
            .insert_unique(spread(hash), Entry { slot, hash }, |e| spread(e.hash));
    }

    /// Removes the flow with `key` in `slot`.
    pub fn remove(&mut self, key: &Key, slot: u32) {
        if let Ok(e) = self
            .t
            .find_entry(spread(self.fingerprint(key)), |e| e.slot == slot)
        {
            e.remove();
        }
    }

    pub fn len(&self) -> usize {
        self.t.len()
    }

    pub fn is_empty(&self) -> bool {
        self.t.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: u32) -> Key {
        Key {
            lo: u128::from(i),
            hi: u128::from(i) << 64 | 1,
            lo_port: (i % 60_000) as u16,
            hi_port: 88,
            tag: (i & 1) as u8,
        }
    }

    #[test]
    fn finds_every_key_and_forgets_removed_ones() {
        let keys: Vec<Key> = (0..20_000).map(key).collect();
        let at = |slot: u32| keys.get(slot as usize);
        let mut ix = Index::default();
        for (slot, k) in keys.iter().enumerate() {
            ix.insert(k, slot as u32);
        }
        assert_eq!(ix.len(), keys.len());
        for (slot, k) in keys.iter().enumerate() {
            assert_eq!(ix.find(k, at), Some(slot as u32));
        }
        for (slot, k) in keys.iter().enumerate().filter(|(s, _)| s % 3 == 0) {
            ix.remove(k, slot as u32);
        }
        for (slot, k) in keys.iter().enumerate() {
            let want = (slot % 3 != 0).then_some(slot as u32);
            assert_eq!(ix.find(k, at), want, "slot {slot}");
        }
        assert_eq!(ix.len(), keys.len() - keys.len().div_ceil(3));
        assert!(ix.find(&key(20_001), at).is_none());
    }

    #[test]
    fn a_matching_hash_is_not_enough() {
        // The slot's own key decides: an entry whose slot now holds another key is no match
        // (the 32 bits of hash are a filter, not an identity).
        let (a, b) = (key(1), key(2));
        let mut ix = Index::default();
        ix.insert(&a, 0);
        assert_eq!(ix.find(&a, |_| Some(&a)), Some(0));
        assert_eq!(ix.find(&a, |_| Some(&b)), None);
        assert_eq!(ix.find(&a, |_| None), None);
        // removal is by slot: another slot with the same key stays
        ix.insert(&a, 1);
        ix.remove(&a, 0);
        assert_eq!(ix.find(&a, |_| Some(&a)), Some(1));
        assert!(!ix.is_empty());
    }

    #[test]
    fn keys_chosen_to_collide_in_an_unkeyed_hash_spread_out() {
        // Addresses a sender can pick so that an unkeyed hash (rustc-hash's FxHasher, which the
        // index used before) gives every key the same 64 bits: the address's high half cancels
        // what its low half added. With a keyed hash they spread as any keys do.
        const K: u64 = 0xf135_7aea_2e62_a9c5; // FxHasher's multiplier on 64-bit targets
        let keys: Vec<Key> = (1..=4_000u64)
            .map(|a| {
                let b = 0x1234_u64.wrapping_sub(a.wrapping_mul(K));
                Key {
                    lo: u128::from(a) | u128::from(b) << 64,
                    hi: 0x2001_0db8 << 96 | 1,
                    lo_port: 49_152,
                    hi_port: 445,
                    tag: 7,
                }
            })
            .collect();
        let fx: std::collections::HashSet<u64> = keys
            .iter()
            .map(|k| rustc_hash::FxBuildHasher.hash_one(k))
            .collect();
        assert_eq!(
            fx.len(),
            1,
            "the keys no longer collide in FxHasher: remake them"
        );
        let ix = Index::default();
        let seen: std::collections::HashSet<u32> = keys.iter().map(|k| ix.fingerprint(k)).collect();
        // 4,000 random 32-bit values share one with probability ~0.2 %: allow a few
        assert!(seen.len() >= keys.len() - 3, "{} distinct", seen.len());
        // and each table has its own key
        let other = Index::default();
        let same = keys
            .iter()
            .filter(|k| ix.fingerprint(k) == other.fingerprint(k))
            .count();
        assert!(same <= 3, "{same} keys hash alike in two tables");
    }
}
