//! The types every layer shares, below all of them: time ([`Ts`], [`NS`]) and the transport.
//!
//! Records ([`crate::record`]) carry them, the packet and flow layers set them and the decoders
//! ([`crate::proto`]) read them; this module imports nothing of the crate, so none of those
//! layers has to import another to name them. `record` re-exports them under their old paths.
//! (A flow's endpoints, [`crate::proto::FlowInfo`], stay with the decoders; `Record::new`, which
//! takes one, is defined there, so `record` imports nothing of `proto`.)

use serde::Serialize;

/// Time in nanoseconds since the Unix epoch (pcap and pcapng give at most nanosecond precision).
pub type Ts = u64;

/// Nanoseconds per second.
pub const NS: u64 = 1_000_000_000;

/// Converts a [`Ts`] to float seconds with microsecond precision (the Zeek convention).
///
/// The integer number of microseconds divided by 10^6 is the correctly rounded double of the
/// decimal value, so it prints as exactly six decimals or fewer.
pub fn ts_secs(ts: Ts) -> f64 {
    (ts / 1_000) as f64 / 1e6
}

/// A duration between two [`Ts`] as float seconds with microsecond precision (0 if negative).
pub fn duration_secs(from: Ts, to: Ts) -> f64 {
    ts_secs(to.saturating_sub(from))
}

/// Transport protocol of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    Tcp,
    Udp,
}

/// A hash map keyed by what came from the wire (ids, addresses, names): its hash is seeded at
/// random for each map (foldhash), so a sender cannot choose keys that all collide and make every
/// lookup walk all of them, as it can with a fixed hash such as rustc-hash's FxHasher. Code that
/// iterates one must not let the (random) order reach a record.
pub type WireMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// A hash set of what came from the wire, seeded as [`WireMap`] is.
pub type WireSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;

/// Asks the CPU to bring the cache line at `p` into its caches ahead of a read that would
/// otherwise wait for memory: a hint only. Nothing is read, so `p` may point anywhere (past the
/// end of a buffer, at memory not mapped): a prefetch never faults and has no effect a program
/// can see but its timing. A no-op where the target has no such instruction.
#[inline(always)]
pub fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: PREFETCHT0 reads no memory architecturally and cannot fault, whatever the address
    // (Intel SDM, PREFETCHh); SSE, which it needs, is part of every x86_64 CPU. (The intrinsic
    // is a safe function in newer toolchains, hence the allow.)
    #[allow(unused_unsafe)]
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p.cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// A small deterministic generator (xorshift64) for tests that walk many random inputs: the
/// same seed gives the same sequence on every run and machine.
#[cfg(test)]
pub fn xorshift(mut seed: u64) -> impl FnMut() -> u64 {
    move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    }
}

#[cfg(test)]
mod tests {
    use super::{prefetch, WireMap};
    use std::hash::BuildHasher;

    #[test]
    fn a_prefetch_of_any_address_is_harmless() {
        // Null, unmapped, the top of the address space, past the end of a buffer: a hint only.
        let v = [1u8; 3];
        prefetch(std::ptr::null::<u8>());
        prefetch(usize::MAX as *const u8);
        prefetch(0x10 as *const u64);
        prefetch(v.as_ptr().wrapping_add(4096));
        assert_eq!(v, [1; 3]);
    }

    #[test]
    fn wire_maps_hash_with_a_key_of_their_own() {
        // With a fixed hash two maps would hash every key alike (and a sender could find keys
        // that collide in both); each map's seed makes the same ids hash apart.
        let (a, b) = (WireMap::<u64, ()>::default(), WireMap::<u64, ()>::default());
        let alike = (0..1_000u64)
            .filter(|id| a.hasher().hash_one(id) == b.hasher().hash_one(id))
            .count();
        assert!(alike <= 1, "{alike} of 1,000 ids hash alike in two maps");
    }
}
