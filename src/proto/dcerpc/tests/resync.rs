//! The search for the next DCE-RPC header jumps between version bytes (`Framing::lead`) and
//! finds exactly what probing every offset finds.

use super::super::DceFraming;
use crate::proto::kit::framer::{Event, Framer, Framing, Head};

/// DCE-RPC's framing with the jump turned off: every offset is probed.
struct EveryOffset(DceFraming);

impl Framing for EveryOffset {
    fn head(&mut self, d: &[u8]) -> Head {
        self.0.head(d)
    }
    fn probe(&mut self, d: &[u8]) -> bool {
        self.0.probe(d)
    }
    fn bad_len(&self) -> usize {
        self.0.bad_len()
    }
    fn keep_partial(&self) -> bool {
        self.0.keep_partial()
    }
}

/// A small deterministic generator (xorshift64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> usize {
        (self.next() % n) as usize
    }
}

/// A request PDU (little-endian) with `body` bytes after the header.
fn pdu(call_id: u32, body: usize) -> Vec<u8> {
    let len = (16 + body) as u16;
    let mut p = vec![5, 0, 0, 3, 0x10, 0, 0, 0];
    p.extend_from_slice(&len.to_le_bytes());
    p.extend_from_slice(&[0, 0]);
    p.extend_from_slice(&call_id.to_le_bytes());
    p.extend((0..body).map(|i| i as u8));
    p
}

/// Junk rich in false starts: version bytes, some followed by a plausible minor version.
fn junk(r: &mut Rng, n: usize) -> Vec<u8> {
    (0..n)
        .map(|_| match r.below(6) {
            0 | 1 => 5,
            2 => r.below(2) as u8,
            _ => r.next() as u8,
        })
        .collect()
}

fn events<F: Framing>(f: &mut F, chunks: &[Vec<u8>], gaps: &[bool]) -> Vec<String> {
    let mut fr = Framer::new(4096);
    let mut v = Vec::new();
    let mut on = |e: Event<'_>| v.push(format!("{e:?}"));
    fr.lose(&mut on);
    for (c, gap) in chunks.iter().zip(gaps) {
        if *gap {
            fr.gap(3, &mut on);
        }
        fr.data(0, c, f, &mut on);
    }
    fr.close(&mut on);
    v
}

#[test]
fn resynchronising_by_the_version_byte_finds_what_every_offset_finds() {
    let mut r = Rng(0x9e37_79b9_7f4a_7c15);
    let mut found = 0;
    for round in 0..300 {
        let mut stream = Vec::new();
        for k in 0..1 + r.below(6) {
            let n = r.below(40);
            stream.extend(junk(&mut r, n));
            stream.extend(pdu(k as u32, r.below(60)));
        }
        let n = r.below(20);
        stream.extend(junk(&mut r, n));
        let mut chunks = Vec::new();
        let mut at = 0;
        while at < stream.len() {
            let n = (1 + r.below(48)).min(stream.len() - at);
            chunks.push(stream[at..at + n].to_vec());
            at += n;
        }
        let gaps: Vec<bool> = chunks.iter().map(|_| r.below(12) == 0).collect();
        let jumped = events(&mut DceFraming, &chunks, &gaps);
        let probed = events(&mut EveryOffset(DceFraming), &chunks, &gaps);
        assert_eq!(jumped, probed, "round {round}");
        found += jumped.iter().filter(|e| e.starts_with("Pdu")).count();
    }
    assert!(
        found > 300,
        "the streams hold PDUs that resync finds ({found})"
    );
}
