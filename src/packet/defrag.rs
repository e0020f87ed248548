//! IPv4 and IPv6 fragment reassembly for the packet layer.
//!
//! Fragments are keyed by (source, destination, identification, protocol). Data may arrive in
//! any order; where fragments overlap the data that arrived first wins (later copies of the same
//! bytes are ignored, as most end hosts do). Every limit input could push is capped: the bytes
//! held at once ([`super::PacketConfig::fragment_memory`]), the fragments per datagram
//! ([`MAX_FRAGMENTS`]), the size of a datagram ([`MAX_DATAGRAM`]) and the time a datagram may
//! stay incomplete ([`super::PacketConfig::fragment_timeout`], in packet time). Buffers of
//! finished datagrams are reused.

use crate::base::WireMap;
use crate::record::{Ts, NS};
use crate::stats::{Counter, Counters};
use std::net::IpAddr;

/// The largest reassembled payload (everything after the IP header and the fragment header):
/// the IPv4 total length field cannot describe more.
pub const MAX_DATAGRAM: u32 = 65_535;
/// Fragments accepted for one datagram (duplicates included); beyond it the datagram is dropped.
pub const MAX_FRAGMENTS: u16 = 256;
/// Bytes charged per datagram held, besides its data.
const OVERHEAD: usize = 128;
/// Finished buffers kept for reuse.
const POOL: usize = 16;

/// Which datagram a fragment belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FragKey {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub id: u32,
    pub proto: u8,
}

/// One fragment: where its data goes in the datagram's payload.
#[derive(Debug, Clone, Copy)]
pub struct Fragment<'a> {
    pub key: FragKey,
    /// Byte offset of `data` in the reassembled payload.
    pub offset: u32,
    /// More fragments follow (the MF flag / M bit).
    pub more: bool,
    pub data: &'a [u8],
}

#[derive(Default)]
struct Datagram {
    first_ts: Ts,
    data: Vec<u8>,
    /// Byte ranges received, sorted and merged.
    ranges: Vec<(u32, u32)>,
    /// Payload length, known once the last fragment arrived.
    total: Option<u32>,
    frags: u16,
}

impl Datagram {
    fn charge(&self) -> usize {
        OVERHEAD + self.data.len()
    }

    /// Copies the parts of `data` at `start` that no earlier fragment covered, then records the
    /// range.
    fn fill(&mut self, start: u32, data: &[u8]) {
        let end = start + data.len() as u32;
        let mut cur = start;
        for &(rs, re) in &self.ranges {
            if re <= cur {
                continue;
            }
            if rs >= end {
                break;
            }
            if rs > cur {
                copy(
                    &mut self.data,
                    cur,
                    &data[(cur - start) as usize..(rs - start) as usize],
                );
            }
            cur = cur.max(re);
            if cur >= end {
                break;
            }
        }
        if cur < end {
            copy(&mut self.data, cur, &data[(cur - start) as usize..]);
        }
        // Insert and merge.
        let at = self.ranges.partition_point(|r| r.0 < start);
        self.ranges.insert(at, (start, end));
        let mut merged = 0;
        for i in 1..self.ranges.len() {
            let (s, e) = self.ranges[i];
            let last = &mut self.ranges[merged];
            if s <= last.1 {
                last.1 = last.1.max(e);
            } else {
                merged += 1;
                self.ranges[merged] = (s, e);
            }
        }
        self.ranges.truncate(merged + 1);
    }

    fn complete(&self) -> Option<u32> {
        let t = self.total?;
        (self.ranges.len() == 1 && self.ranges[0] == (0, t)).then_some(t)
    }
}

fn copy(dst: &mut [u8], at: u32, src: &[u8]) {
    if let Some(d) = dst.get_mut(at as usize..at as usize + src.len()) {
        d.copy_from_slice(src);
    }
}

/// Fragments held until their datagrams are complete.
pub struct Defrag {
    timeout: Ts,
    memory: usize,
    used: usize,
    map: WireMap<FragKey, Datagram>,
    pool: Vec<Datagram>,
    /// The last datagram reassembled; [`Defrag::insert`] returns a slice of it.
    out: Vec<u8>,
    last_sweep: Ts,
}

impl Defrag {
    pub fn new(timeout: Ts, memory: usize) -> Self {
        Defrag {
            timeout,
            memory,
            used: 0,
            map: WireMap::default(),
            pool: Vec::new(),
            out: Vec::new(),
            last_sweep: 0,
        }
    }

    /// Bytes held now (fragment data plus a fixed overhead per datagram).
    pub fn used(&self) -> usize {
        self.used
    }

    /// Datagrams waiting for fragments.
    pub fn pending(&self) -> usize {
        self.map.len()
    }

    fn recycle(&mut self, mut d: Datagram) {
        self.used = self.used.saturating_sub(d.charge());
        if self.pool.len() < POOL {
            d.data.clear();
            d.ranges.clear();
            d.total = None;
            d.frags = 0;
            self.pool.push(d);
        }
    }

    /// Drops datagrams older than the timeout at `now`, counting each.
    pub fn expire(&mut self, now: Ts, counters: &Counters) {
        self.last_sweep = now;
        if self.map.is_empty() {
            return;
        }
        let timeout = self.timeout;
        let mut expired = Vec::new();
        self.map.retain(|_, d| {
            if now.saturating_sub(d.first_ts) > timeout {
                expired.push(std::mem::take(d));
                false
            } else {
                true
            }
        });
        counters.add(Counter::DropFragmentTimeout, expired.len() as u64);
        for d in expired {
            self.recycle(d);
        }
    }

    /// Under memory pressure: drops the oldest incomplete datagrams (an eighth of them, or more
    /// until `need` bytes fit), except `keep`, counting their fragments
    /// ([`Counter::DropFragmentMemory`]). Fragments that never complete a datagram (a flood of
    /// dangling fragments) so cannot keep new datagrams out until they time out.
    fn evict_oldest(&mut self, keep: &FragKey, need: usize, counters: &Counters) {
        let mut old: Vec<(Ts, FragKey)> = self
            .map
            .iter()
            .filter(|(k, _)| *k != keep)
            .map(|(k, d)| (d.first_ts, *k))
            .collect();
        // by age, then key: the map's order is random (its hash is seeded), the evicted are not
        old.sort_unstable();
        let batch = (old.len() / 8).max(1);
        for (i, (_, k)) in old.into_iter().enumerate() {
            if i >= batch && self.used + need <= self.memory {
                break;
            }
            if let Some(d) = self.map.remove(&k) {
                counters.add(Counter::DropFragmentMemory, u64::from(d.frags));
                self.recycle(d);
            }
        }
    }

    /// Drops every datagram still incomplete (end of input), counting each as timed out.
    pub fn clear(&mut self, counters: &Counters) {
        self.expire(Ts::MAX, counters);
    }

    /// Adds a fragment seen at `ts`. Returns the reassembled payload (from the first byte after
    /// the fragment header) when this fragment completed its datagram.
    pub fn insert(&mut self, ts: Ts, f: Fragment<'_>, counters: &Counters) -> Option<&[u8]> {
        if ts.saturating_sub(self.last_sweep) >= NS.min(self.timeout.max(1)) {
            self.expire(ts, counters);
        }
        let len = f.data.len() as u32;
        let end = match f.offset.checked_add(len) {
            Some(e) if e <= MAX_DATAGRAM && (len > 0 || !f.more) => e,
            _ => {
                counters.inc(Counter::MalformedPacket);
                return None;
            }
        };
        // A datagram past its timeout is dropped before this fragment starts a new one.
        if let Some(d) = self.map.get(&f.key) {
            if ts.saturating_sub(d.first_ts) > self.timeout {
                if let Some(d) = self.map.remove(&f.key) {
                    counters.inc(Counter::DropFragmentTimeout);
                    self.recycle(d);
                }
            }
        }
        let grow = match self.map.get(&f.key) {
            Some(d) => (end as usize).saturating_sub(d.data.len()),
            None => OVERHEAD + end as usize,
        };
        if self.used + grow > self.memory {
            self.expire(ts, counters);
        }
        if self.used + grow > self.memory {
            self.evict_oldest(&f.key, grow, counters);
        }
        if self.used + grow > self.memory {
            let held = self.map.remove(&f.key);
            let mut dropped = 1;
            if let Some(d) = held {
                // The datagram cannot complete without this fragment: free what it held.
                dropped += d.frags as u64;
                self.recycle(d);
            }
            counters.add(Counter::DropFragmentMemory, dropped);
            return None;
        }
        let pool = &mut self.pool;
        let used = &mut self.used;
        let d = self.map.entry(f.key).or_insert_with(|| {
            let mut d = pool.pop().unwrap_or_default();
            d.first_ts = ts;
            *used += OVERHEAD;
            d
        });
        d.frags = d.frags.saturating_add(1);
        if d.frags > MAX_FRAGMENTS {
            let dropped = d.frags as u64;
            if let Some(d) = self.map.remove(&f.key) {
                self.recycle(d);
            }
            counters.add(Counter::DropFragmentMemory, dropped);
            return None;
        }
        // The last fragment fixes the length; data beyond it, or two different lengths, is
        // inconsistent: that fragment is ignored.
        let beyond = d.ranges.last().is_some_and(|r| r.1 > end);
        let inconsistent = match (d.total, f.more) {
            (Some(t), true) => end > t,
            (Some(t), false) => t != end,
            (None, false) => beyond,
            (None, true) => false,
        };
        if inconsistent {
            counters.inc(Counter::MalformedPacket);
            return None;
        }
        if !f.more {
            d.total = Some(end);
        }
        if d.data.len() < end as usize {
            self.used += end as usize - d.data.len();
            d.data.resize(end as usize, 0);
        }
        d.fill(f.offset, f.data);
        let total = d.complete()?;
        let mut d = self.map.remove(&f.key)?;
        std::mem::swap(&mut self.out, &mut d.data);
        self.recycle_swapped(d);
        counters.inc(Counter::FragmentsReassembled);
        self.out.get(..total as usize)
    }

    /// Recycles a datagram whose data was swapped with `out` (its charge was that of the data).
    fn recycle_swapped(&mut self, d: Datagram) {
        let charge = OVERHEAD + self.out.len();
        self.used = self.used.saturating_sub(charge);
        if self.pool.len() < POOL {
            let mut d = d;
            d.data.clear();
            d.ranges.clear();
            d.total = None;
            d.frags = 0;
            self.pool.push(d);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn frag(id: u32, offset: u32, more: bool, data: &[u8]) -> Fragment<'_> {
        Fragment {
            key: FragKey {
                src: IpAddr::V4(Ipv4Addr::new(10, 0, 0, (id % 250) as u8)),
                dst: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 254)),
                id,
                proto: 17,
            },
            offset,
            more,
            data,
        }
    }

    #[test]
    fn dangling_fragments_make_room_oldest_first_and_a_whole_datagram_still_completes() {
        let c = Counters::default();
        let mut d = Defrag::new(30 * NS, 1000);
        let piece = [7u8; 100];
        for id in 0..20 {
            assert!(d
                .insert(NS + id as Ts, frag(id, 0, true, &piece), &c)
                .is_none());
            assert!(d.used() <= 1000);
        }
        // Each dangling datagram costs 228 bytes: four fit, the oldest went first.
        let evicted = c.get(Counter::DropFragmentMemory);
        assert_eq!(evicted, 16);
        assert!(d.map.contains_key(&frag(19, 0, true, &[]).key));
        assert!(!d.map.contains_key(&frag(0, 0, true, &[]).key));
        // A datagram in two fragments still gets through, long before the timeout.
        assert!(d.insert(2 * NS, frag(500, 0, true, &[1; 8]), &c).is_none());
        let whole = d.insert(2 * NS, frag(500, 8, false, &[2; 8]), &c).unwrap();
        assert_eq!(whole, [[1u8; 8], [2u8; 8]].concat());
        assert_eq!(c.get(Counter::FragmentsReassembled), 1);
    }

    #[test]
    fn fragments_of_one_instant_are_evicted_by_key_whatever_the_maps_seed() {
        // The map's hash is seeded at random, so its order differs from map to map; which
        // datagrams are given up under memory pressure must not (records would differ between
        // two replays). Twenty datagrams at the same instant: the smallest keys go first.
        let piece = [7u8; 100];
        for _ in 0..8 {
            let c = Counters::default();
            let mut d = Defrag::new(30 * NS, 1000);
            for id in 0..20 {
                assert!(d.insert(NS, frag(id, 0, true, &piece), &c).is_none());
            }
            let mut kept: Vec<u32> = d.map.keys().map(|k| k.id).collect();
            kept.sort_unstable();
            assert_eq!(kept, [16, 17, 18, 19]);
        }
    }
}
