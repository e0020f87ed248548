//! TCP reassembly of one direction of a connection: turns segments (in any order, repeated,
//! overlapping, across the 2^32 sequence wrap) into one in-order byte stream with explicit gaps.
//!
//! Sequence numbers are mapped to 64-bit offsets from the start of the stream (the byte after
//! the SYN, or the first segment seen), always relative to the next byte expected, so a stream
//! may wrap the 32-bit space any number of times. In-order data goes straight from the packet to
//! the [`Sink`] (no copy); out-of-order data is copied and held, ordered by offset, within a
//! per-direction cap and the worker's [`Budget`]. The first copy of a byte wins: a later
//! retransmission or overlap never replaces data already delivered or held.
//!
//! A hole (bytes we never saw) becomes a gap handed to the sink when the peer acknowledges
//! beyond it, when the held data would outgrow the per-direction cap, or when the stream is
//! flushed at close.

use crate::stats::{Counter, Counters};
use std::collections::BTreeMap;

/// Where a stream's in-order bytes and gaps go.
pub(crate) trait Sink {
    /// The next in-order bytes.
    fn data(&mut self, data: &[u8]);
    /// `len` bytes were lost before the next `data`.
    fn gap(&mut self, len: u64);
}

/// The limits a stream works within, and where it accounts memory and drops.
pub(crate) struct Budget<'a> {
    /// Out-of-order bytes held by all streams of the worker (updated by the stream).
    pub held: &'a mut usize,
    /// Cap on `held`: out-of-order bytes beyond it are refused (counted, [`Counter::DropTcpMemory`]).
    pub memory: usize,
    /// Out-of-order bytes one direction may hold: beyond it, the oldest hole becomes a gap.
    pub per_flow: usize,
    pub counters: &'a Counters,
}

/// One direction of a TCP connection being reassembled.
#[derive(Debug, Default)]
pub(crate) struct Stream {
    /// Whether `base` is set (SYN or first segment seen).
    known: bool,
    /// Sequence number of offset 0.
    base: u32,
    /// Offset of the next byte to deliver: everything before it was delivered or declared a gap.
    next: u64,
    /// Out-of-order data, by offset; pieces never overlap one another and all start after `next`.
    held: BTreeMap<u64, Vec<u8>>,
    /// Sum of the lengths in `held`.
    held_bytes: usize,
    /// Offset of the FIN, once seen.
    fin: Option<u64>,
    /// An acknowledgement beyond `next` seen on a packet without payload, not yet acted on (the
    /// acknowledged data may just be late in the capture).
    pending_ack: Option<u64>,
    /// The latest run of offsets given up as a gap (start, end): bytes for it that come later
    /// are not analysed, and counted ([`Counter::DropTcpLate`]).
    last_gap: (u64, u64),
}

impl Stream {
    /// Sets offset 0 at sequence number `seq` unless the stream already started.
    pub fn start_at(&mut self, seq: u32) {
        if !self.known {
            self.known = true;
            self.base = seq;
        }
    }

    /// The initial sequence number (offset 0), if known.
    pub fn base(&self) -> Option<u32> {
        self.known.then_some(self.base)
    }

    /// Offset of the next byte to deliver.
    #[cfg(test)]
    pub fn next(&self) -> u64 {
        self.next
    }

    /// Out-of-order bytes held.
    #[cfg(test)]
    pub fn held_bytes(&self) -> usize {
        self.held_bytes
    }

    /// The offset of `seq`, taken as the nearest one to `next` (within 2^31 either way).
    fn offset(&self, seq: u32) -> i64 {
        let expected = self.base.wrapping_add(self.next as u32);
        self.next as i64 + i64::from(seq.wrapping_sub(expected) as i32)
    }

    /// One segment's payload starting at sequence number `seq`.
    pub fn segment(&mut self, seq: u32, data: &[u8], b: &mut Budget<'_>, sink: &mut impl Sink) {
        if data.is_empty() {
            return;
        }
        self.start_at(seq);
        let start = self.offset(seq);
        self.segment_at(start, data, b, sink);
    }

    /// `data` at offset `start` (negative: it begins before the stream's start).
    fn segment_at(&mut self, start: i64, data: &[u8], b: &mut Budget<'_>, sink: &mut impl Sink) {
        let next = self.next as i64;
        let end = start.saturating_add(data.len() as i64);
        if start < next {
            // Bytes of a hole already given up came after all: they cannot be analysed now.
            let (gs, ge) = (self.last_gap.0 as i64, self.last_gap.1 as i64);
            let late = end.min(next).min(ge) - start.max(gs);
            if late > 0 {
                b.counters.add(Counter::DropTcpLate, late as u64);
            }
        }
        if end <= next {
            return; // all delivered already (or declared missing): a retransmission
        }
        let (start, data) = if start < next {
            let skip = usize::try_from(next - start).unwrap_or(usize::MAX);
            (self.next, data.get(skip..).unwrap_or(&[]))
        } else {
            (start as u64, data)
        };
        if start == self.next {
            self.deliver(start, data, b, sink);
        } else {
            self.hold(start, data, b, sink);
        }
    }

    /// Delivers `data`, which starts at `next`, merged with held pieces (held bytes were seen
    /// first, so they win where both cover an offset).
    fn deliver(&mut self, mut cur: u64, mut data: &[u8], b: &mut Budget<'_>, sink: &mut impl Sink) {
        loop {
            if self.deliver_held_front(b, sink) {
                continue;
            }
            if cur + data.len() as u64 <= self.next {
                break;
            }
            if cur < self.next {
                data = data.get((self.next - cur) as usize..).unwrap_or(&[]);
            }
            // `cur == next`, and any held piece starts after `next`.
            let room = match self.held.keys().next() {
                Some(&k) => usize::try_from(k - self.next)
                    .unwrap_or(usize::MAX)
                    .min(data.len()),
                None => data.len(),
            };
            let (now, rest) = data.split_at(room);
            sink.data(now);
            self.next += room as u64;
            data = rest;
            cur = self.next;
        }
    }

    /// If the first held piece starts at or before `next`, delivers what of it lies beyond
    /// `next` and returns true.
    fn deliver_held_front(&mut self, b: &mut Budget<'_>, sink: &mut impl Sink) -> bool {
        let Some(e) = self.held.first_entry() else {
            return false;
        };
        if *e.key() > self.next {
            return false;
        }
        let (k, v) = e.remove_entry();
        self.release(v.len(), b);
        let end = k + v.len() as u64;
        if end > self.next {
            if let Some(rest) = v.get((self.next - k) as usize..) {
                sink.data(rest);
            }
            self.next = end;
        }
        true
    }

    fn release(&mut self, n: usize, b: &mut Budget<'_>) {
        self.held_bytes -= n;
        *b.held = b.held.saturating_sub(n);
    }

    /// The parts of `[start, start + len)` that no held piece covers.
    fn uncovered(&self, start: u64, len: u64) -> Vec<(u64, u64)> {
        let end = start + len;
        let mut cur = start;
        if let Some((&k, v)) = self.held.range(..start).next_back() {
            cur = cur.max(k + v.len() as u64);
        }
        let mut pieces = Vec::new();
        for (&k, v) in self.held.range(start..end) {
            if cur >= end {
                break;
            }
            if k > cur {
                pieces.push((cur, k - cur));
            }
            cur = cur.max(k + v.len() as u64);
        }
        if cur < end {
            pieces.push((cur, end - cur));
        }
        pieces
    }

    /// Holds `data`, which starts after `next`.
    fn hold(&mut self, start: u64, data: &[u8], b: &mut Budget<'_>, sink: &mut impl Sink) {
        let pieces = self.uncovered(start, data.len() as u64);
        let total: u64 = pieces.iter().map(|p| p.1).sum();
        if total == 0 {
            return; // held already: first copy wins
        }
        let total_us = usize::try_from(total).unwrap_or(usize::MAX);
        // Too much for this direction: the oldest hole is given up as a gap, so that the data
        // after it can go on; repeat until this segment fits or becomes in order.
        while self.held_bytes.saturating_add(total_us) > b.per_flow {
            match self.held.keys().next() {
                Some(&k) if k < start => {
                    self.gap(k - self.next, b, sink);
                    self.next = k;
                    while self.deliver_held_front(b, sink) {}
                    if start <= self.next {
                        return self.segment_at(start as i64, data, b, sink);
                    }
                }
                _ => {
                    // This segment is the earliest data we have: the hole before it goes.
                    self.gap(start - self.next, b, sink);
                    self.next = start;
                    return self.deliver(start, data, b, sink);
                }
            }
        }
        if b.held.saturating_add(total_us) > b.memory {
            b.counters.add(Counter::DropTcpMemory, total);
            return;
        }
        for (off, len) in pieces {
            let s = (off - start) as usize;
            if let Some(bytes) = data.get(s..s + len as usize) {
                self.held.insert(off, bytes.to_vec());
            }
        }
        self.held_bytes += total_us;
        *b.held += total_us;
    }

    /// Declares `len` bytes at `next` missing (the caller moves `next`).
    fn gap(&mut self, len: u64, b: &mut Budget<'_>, sink: &mut impl Sink) {
        if len == 0 {
            return;
        }
        b.counters.inc(Counter::TcpGaps);
        b.counters.add(Counter::TcpGapBytes, len);
        let end = self.next.saturating_add(len);
        if self.last_gap.1 == self.next && self.last_gap.1 > self.last_gap.0 {
            self.last_gap.1 = end;
        } else {
            self.last_gap = (self.next, end);
        }
        sink.gap(len);
    }

    /// Delivers everything up to offset `target`, held data where we have it and gaps where we
    /// do not, then any held data that follows on.
    fn fill_to(&mut self, target: u64, b: &mut Budget<'_>, sink: &mut impl Sink) {
        while self.next < target {
            if self.deliver_held_front(b, sink) {
                continue;
            }
            let to = self.held.keys().next().map_or(target, |&k| k.min(target));
            self.gap(to - self.next, b, sink);
            self.next = to;
        }
        while self.deliver_held_front(b, sink) {}
    }

    /// Records the position of a FIN sent after `len` bytes at `seq`.
    pub fn fin(&mut self, seq: u32, len: usize) {
        if !self.known {
            self.start_at(seq);
        }
        let at = self.offset(seq).saturating_add(len as i64);
        if self.fin.is_none() && at >= 0 {
            self.fin = Some(at as u64);
        }
    }

    /// Where an acknowledgement number `ack` from the peer puts the end of the data sent, if
    /// beyond what was delivered.
    pub fn acked(&self, ack: u32) -> Option<u64> {
        if !self.known {
            return None;
        }
        let at = self.offset(ack);
        if at <= self.next as i64 {
            return None;
        }
        let mut at = at as u64;
        if let Some(f) = self.fin {
            at = at.min(f); // the FIN takes a sequence number but carries no byte
        }
        (at > self.next).then_some(at)
    }

    /// The peer acknowledged up to `target`: what we missed before it is a gap, now.
    pub fn ack_now(&mut self, target: u64, b: &mut Budget<'_>, sink: &mut impl Sink) {
        self.pending_ack = None;
        self.fill_to(target, b, sink);
    }

    /// The peer acknowledged up to `target` on a packet without data: the acknowledged data may
    /// still come (a capture can show an ACK before the data it acknowledges), so wait for
    /// [`Stream::apply_pending`].
    pub fn ack_later(&mut self, target: u64) {
        self.pending_ack = Some(self.pending_ack.map_or(target, |p| p.max(target)));
    }

    /// Acts on a waiting acknowledgement: the hole before it is a gap.
    pub fn apply_pending(&mut self, b: &mut Budget<'_>, sink: &mut impl Sink) {
        if let Some(t) = self.pending_ack.take() {
            self.fill_to(t, b, sink);
        }
    }

    /// End of the stream: delivers what is held, with gaps for the holes and for missing data
    /// before a FIN, and frees it.
    pub fn flush(&mut self, b: &mut Budget<'_>, sink: &mut impl Sink) {
        self.pending_ack = None;
        let held_end = self
            .held
            .last_key_value()
            .map_or(0, |(&k, v)| k + v.len() as u64);
        let target = held_end.max(self.fin.unwrap_or(0));
        self.fill_to(target, b, sink);
    }

    /// Frees held data without delivering it (the flow stopped being analysed).
    pub fn discard(&mut self, b: &mut Budget<'_>) {
        let n = self.held_bytes;
        self.release(n, b);
        self.held.clear();
        self.pending_ack = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a sink received, as runs of bytes and gaps.
    #[derive(Debug, Default, PartialEq)]
    struct Got {
        bytes: Vec<u8>,
        events: Vec<Ev>,
    }

    #[derive(Debug, PartialEq, Clone)]
    enum Ev {
        Data(Vec<u8>),
        Gap(u64),
    }

    impl Sink for Got {
        fn data(&mut self, data: &[u8]) {
            assert!(!data.is_empty(), "empty data call");
            self.bytes.extend_from_slice(data);
            self.events.push(Ev::Data(data.to_vec()));
        }
        fn gap(&mut self, len: u64) {
            self.events.push(Ev::Gap(len));
        }
    }

    struct T {
        s: Stream,
        held: usize,
        counters: Counters,
        memory: usize,
        per_flow: usize,
        got: Got,
    }

    impl T {
        fn new(per_flow: usize, memory: usize) -> Self {
            T {
                s: Stream::default(),
                held: 0,
                counters: Counters::default(),
                memory,
                per_flow,
                got: Got::default(),
            }
        }
        fn seg(&mut self, seq: u32, data: &[u8]) {
            let mut b = Budget {
                held: &mut self.held,
                memory: self.memory,
                per_flow: self.per_flow,
                counters: &self.counters,
            };
            self.s.segment(seq, data, &mut b, &mut self.got);
        }
        fn ack(&mut self, ack: u32) {
            let mut b = Budget {
                held: &mut self.held,
                memory: self.memory,
                per_flow: self.per_flow,
                counters: &self.counters,
            };
            if let Some(t) = self.s.acked(ack) {
                self.s.ack_now(t, &mut b, &mut self.got);
            }
        }
        fn flush(&mut self) {
            let mut b = Budget {
                held: &mut self.held,
                memory: self.memory,
                per_flow: self.per_flow,
                counters: &self.counters,
            };
            self.s.flush(&mut b, &mut self.got);
        }
        fn c(&self, c: Counter) -> u64 {
            self.counters.get(c)
        }
    }

    fn d(b: &[u8]) -> Ev {
        Ev::Data(b.to_vec())
    }

    #[test]
    fn in_order_is_delivered_as_is() {
        let mut t = T::new(1000, 1000);
        t.s.start_at(101);
        t.seg(101, b"hello ");
        t.seg(107, b"world");
        assert_eq!(t.got.events, vec![d(b"hello "), d(b"world")]);
        assert_eq!(t.s.next(), 11);
        assert_eq!(t.held, 0);
    }

    #[test]
    fn reordered_segments_are_held_then_delivered_in_order() {
        let mut t = T::new(1000, 1000);
        t.s.start_at(1000);
        t.seg(1006, b"CD");
        t.seg(1003, b"BBB");
        assert_eq!(t.s.held_bytes(), 5);
        assert_eq!(t.held, 5);
        assert!(t.got.events.is_empty());
        t.seg(1000, b"AAA");
        assert_eq!(t.got.events, vec![d(b"AAA"), d(b"BBB"), d(b"CD")]);
        assert_eq!(t.s.held_bytes(), 0);
        assert_eq!(t.held, 0);
    }

    #[test]
    fn retransmissions_are_ignored() {
        let mut t = T::new(1000, 1000);
        t.seg(5, b"abcd");
        t.seg(5, b"abcd");
        t.seg(7, b"cd");
        t.seg(9, b"ef");
        t.seg(9, b"ef");
        assert_eq!(t.got.bytes, b"abcdef");
        assert_eq!(t.got.events.len(), 2);
    }

    #[test]
    fn overlaps_first_data_seen_wins() {
        let mut t = T::new(1000, 1000);
        t.s.start_at(0);
        // Held out of order: offsets 4..8 "EFGH".
        t.seg(4, b"EFGH");
        // A second copy of 6..10 with different bytes: only 8..10 is new.
        t.seg(6, b"xxIJ");
        assert_eq!(t.s.held_bytes(), 6);
        // In-order data overlapping the held piece: 0..6, of which 4..6 was seen first as "EF".
        t.seg(0, b"ABCDyy");
        assert_eq!(t.got.bytes, b"ABCDEFGHIJ");
        // After delivery, an overlapping late copy is ignored.
        t.seg(8, b"zzK");
        assert_eq!(t.got.bytes, b"ABCDEFGHIJK");
        assert_eq!(t.held, 0);
    }

    #[test]
    fn sequence_numbers_wrap_around_2_pow_32() {
        let mut t = T::new(1000, 1000);
        let isn = u32::MAX - 2; // SYN at 2^32-3: data starts at 2^32-2
        t.s.start_at(isn.wrapping_add(1));
        // Out of order across the wrap: 2^32-2 "ab", 0 "cd", 2 "ef".
        t.seg(2, b"ef");
        t.seg(0, b"cd");
        t.seg(u32::MAX - 1, b"ab");
        assert_eq!(t.got.bytes, b"abcdef");
        assert_eq!(t.s.next(), 6);
        // An ACK across the wrap beyond the data: 4 bytes missing.
        t.ack(8);
        assert_eq!(t.got.events.last(), Some(&Ev::Gap(4)));
        assert_eq!(t.s.next(), 10);
    }

    #[test]
    fn a_long_stream_wraps_many_times() {
        struct Count(u64, u64);
        impl Sink for Count {
            fn data(&mut self, data: &[u8]) {
                self.0 += data.len() as u64;
            }
            fn gap(&mut self, len: u64) {
                self.1 += len;
            }
        }
        let counters = Counters::default();
        let mut held = 0;
        let mut s = Stream::default();
        let mut sink = Count(0, 0);
        let chunk = vec![7u8; 60_000];
        let mut seq = 12345u32;
        s.start_at(seq);
        let mut total = 0u64;
        for i in 0..150_000u32 {
            let mut b = Budget {
                held: &mut held,
                memory: 1 << 20,
                per_flow: 1 << 20,
                counters: &counters,
            };
            // Every 1000th pair arrives swapped.
            if i % 1000 == 0 {
                let next = seq.wrapping_add(chunk.len() as u32);
                s.segment(next, &chunk, &mut b, &mut sink);
                s.segment(seq, &chunk, &mut b, &mut sink);
                seq = next.wrapping_add(chunk.len() as u32);
                total += 2 * chunk.len() as u64;
            } else {
                s.segment(seq, &chunk, &mut b, &mut sink);
                seq = seq.wrapping_add(chunk.len() as u32);
                total += chunk.len() as u64;
            }
        }
        assert!(total > 2 * (1u64 << 32));
        assert_eq!(s.next(), total);
        assert_eq!(sink.0, total);
        assert_eq!(sink.1, 0);
        assert_eq!(held, 0);
    }

    #[test]
    fn ack_beyond_a_hole_makes_a_gap_and_releases_held_data() {
        let mut t = T::new(1000, 1000);
        t.s.start_at(0);
        t.seg(0, b"AAAA");
        t.seg(10, b"CCCC"); // 4..10 missing
        t.ack(14);
        assert_eq!(t.got.events, vec![d(b"AAAA"), Ev::Gap(6), d(b"CCCC")]);
        assert_eq!(t.c(Counter::TcpGaps), 1);
        assert_eq!(t.c(Counter::TcpGapBytes), 6);
        assert_eq!(t.held, 0);
        // The missing bytes arriving late are not delivered twice.
        t.seg(4, b"BBBBBB");
        assert_eq!(t.got.bytes, b"AAAACCCC");
        // An ACK beyond all data: the tail was missed too.
        t.ack(20);
        assert_eq!(t.got.events.last(), Some(&Ev::Gap(6)));
        assert_eq!(t.c(Counter::TcpGapBytes), 12);
        // An ACK of data already delivered does nothing.
        t.ack(15);
        assert_eq!(t.c(Counter::TcpGaps), 2);
    }

    #[test]
    fn ack_of_a_fin_does_not_count_the_fin_as_data() {
        let mut t = T::new(1000, 1000);
        t.seg(0, b"abc");
        t.s.fin(3, 0);
        t.ack(4);
        assert_eq!(t.c(Counter::TcpGaps), 0);
        t.flush();
        assert_eq!(t.c(Counter::TcpGaps), 0);
    }

    #[test]
    fn bytes_of_a_hole_given_up_that_come_later_are_counted_as_not_analysed() {
        let mut t = T::new(4, 1000);
        t.s.start_at(0);
        t.seg(0, b"aa");
        t.seg(4, b"cccc"); // hole 2..4; held 4 = cap
        t.seg(8, b"dd"); // the hole goes: gap, cccc, dd
        assert_eq!(
            t.got.events,
            vec![d(b"aa"), Ev::Gap(2), d(b"cccc"), d(b"dd")]
        );
        t.seg(0, b"aa"); // a retransmission of delivered bytes: nothing lost
        assert_eq!(t.c(Counter::DropTcpLate), 0);
        t.seg(2, b"bb"); // the missing bytes, too late
        assert_eq!(t.c(Counter::DropTcpLate), 2);
        t.seg(1, b"abcde"); // overlaps the hole by 2 bytes
        assert_eq!(t.c(Counter::DropTcpLate), 4);
        assert_eq!(t.got.events.len(), 4);
    }

    #[test]
    fn per_flow_cap_gives_up_the_oldest_hole() {
        let mut t = T::new(8, 1000);
        t.s.start_at(0);
        t.seg(0, b"aa");
        t.seg(4, b"cccc"); // hole 2..4
        t.seg(10, b"eeee"); // hole 8..10; held 8 = cap
        assert_eq!(t.s.held_bytes(), 8);
        t.seg(16, b"gg"); // would hold 10 > 8: hole 2..4 goes
        assert_eq!(t.got.events, vec![d(b"aa"), Ev::Gap(2), d(b"cccc")]);
        assert_eq!(t.s.held_bytes(), 6);
        t.seg(20, b"iiiiiii"); // 13 > 8: hole 8..10 goes, then 14..16
        assert_eq!(
            t.got.events[3..],
            [Ev::Gap(2), d(b"eeee"), Ev::Gap(2), d(b"gg")]
        );
        assert_eq!(t.s.held_bytes(), 7);
        assert_eq!(t.held, 7);
        assert_eq!(t.c(Counter::TcpGaps), 3);
        assert_eq!(t.c(Counter::TcpGapBytes), 6);
        assert_eq!(t.c(Counter::DropTcpFlowCap), 0);
        // A segment larger than the cap on its own: the hole before it goes, it is delivered.
        t.seg(40, &[b'z'; 12]);
        assert_eq!(
            t.got.events[7..],
            [Ev::Gap(2), d(b"iiiiiii"), Ev::Gap(13), d(&[b'z'; 12])]
        );
        assert_eq!(t.s.next(), 52);
        assert_eq!(t.held, 0);
    }

    #[test]
    fn per_flow_cap_gap_stops_at_an_earlier_new_segment() {
        let mut t = T::new(6, 1000);
        t.s.start_at(0);
        t.seg(10, b"xxxxxx"); // held 6 = cap
        t.seg(4, b"yyy"); // earlier than what is held: the hole 0..4 goes, not 0..10
        assert_eq!(t.got.events, vec![Ev::Gap(4), d(b"yyy")]);
        assert_eq!(t.s.held_bytes(), 6);
        assert_eq!(t.c(Counter::TcpGapBytes), 4);
    }

    #[test]
    fn worker_memory_cap_refuses_and_counts_bytes() {
        let mut t = T::new(100, 10);
        t.s.start_at(0);
        t.seg(10, b"12345678");
        t.seg(20, b"abcdef"); // 8 + 6 > 10: refused
        assert_eq!(t.c(Counter::DropTcpMemory), 6);
        assert_eq!(t.held, 8);
        t.seg(30, b"zz");
        assert_eq!(t.held, 10);
        t.seg(0, &[b'-'; 10]);
        assert_eq!(t.got.bytes, b"----------12345678");
        assert_eq!(t.held, 2);
        // The refused bytes come out as a gap once acknowledged.
        t.ack(32);
        assert_eq!(t.got.events[2..], [Ev::Gap(12), d(b"zz")]);
        assert_eq!(t.held, 0);
    }

    #[test]
    fn flush_delivers_held_with_gaps_up_to_the_fin() {
        let mut t = T::new(100, 100);
        t.s.start_at(0);
        t.seg(0, b"ab");
        t.seg(5, b"f");
        t.s.fin(9, 0);
        t.flush();
        assert_eq!(
            t.got.events,
            vec![d(b"ab"), Ev::Gap(3), d(b"f"), Ev::Gap(3)]
        );
        assert_eq!(t.held, 0);
        assert_eq!(t.c(Counter::TcpGapBytes), 6);
    }

    #[test]
    fn data_before_the_start_is_trimmed() {
        let mut t = T::new(100, 100);
        t.s.start_at(100);
        t.seg(96, b"xxxxabc");
        assert_eq!(t.got.bytes, b"abc");
    }
}
