//! Tests of the framer's stepwise PDUs ([`Head::Steps`], [`Head::Pass`], [`Framer::steps`]):
//! parts shown in place or gathered, bulk skipped by count and never buffered, at every split
//! point; gaps, lost parts, unmet needs and resynchronisation across chunks.

use super::{own, Ev};
use crate::proto::kit::framer::{Event, Framer, Framing, Head, Step, MAX_HEAD};

/// A stepwise toy protocol. `0xbb L1 L2` heads a PDU of `3 + L` bytes read in parts; `0xcc L`
/// heads `2 + L` bytes nobody reads. A part is `r L` then `L` bytes (read whole), `s L1 L2`
/// then `L` bytes (looked at by its first three bytes, its body skipped), or `x` (no part).
struct Toy;

impl Framing for Toy {
    fn head(&mut self, d: &[u8]) -> Head {
        match d {
            [0xbb, a, b, ..] => Head::Steps {
                head: 3,
                len: 3 + usize::from(u16::from_be_bytes([*a, *b])),
            },
            [0xcc, l, ..] => Head::Pass(2 + usize::from(*l)),
            [] | [0xbb] | [0xbb, _] => Head::Need(3),
            [0xcc] => Head::Need(2),
            _ => Head::Bad,
        }
    }

    fn probe(&mut self, d: &[u8]) -> bool {
        d.first() == Some(&0xbb) && d.get(3).is_none_or(|k| matches!(k, b'r' | b's'))
    }

    fn probe_len(&self) -> usize {
        4
    }

    fn bad_len(&self) -> usize {
        1
    }

    fn keep_partial(&self) -> bool {
        true
    }
}

/// What the toy decoder read: `(start, part, first)`; a skimmed part is its first 3 bytes.
type Log = Vec<(u64, Vec<u8>, bool)>;

/// The toy decoder: answers parts, logs what it read and every other event.
fn answer(log: &mut Log, other: &mut Vec<Ev>, e: Event<'_>) -> Step {
    let Event::Part {
        start, part, first, ..
    } = e
    else {
        other.push(own(e));
        return Step::Lost;
    };
    match part {
        [b'r', l, ..] => {
            let n = 2 + usize::from(*l);
            if part.len() < n {
                return Step::Need(n);
            }
            log.push((start, part[..n].to_vec(), first));
            Step::Done(n as u64)
        }
        [b's', a, b, ..] => {
            log.push((start, part[..3].to_vec(), first));
            Step::Done(3 + u64::from(u16::from_be_bytes([*a, *b])))
        }
        [b'x', ..] => Step::Lost,
        _ => Step::Need(3),
    }
}

fn pdu(parts: &[Vec<u8>]) -> Vec<u8> {
    let body = parts.concat();
    [&[0xbb][..], &(body.len() as u16).to_be_bytes(), &body].concat()
}

fn r(body: &[u8]) -> Vec<u8> {
    [&[b'r', body.len() as u8][..], body].concat()
}

fn s(len: usize) -> Vec<u8> {
    let mut v = vec![b's'];
    v.extend((len as u16).to_be_bytes());
    v.resize(3 + len, 0xa5);
    v
}

/// Feeds `chunks` (time, bytes) and returns what was read, the other events and the most
/// bytes the framer held.
fn run(fr: &mut Framer, chunks: &[(u64, &[u8])]) -> (Log, Vec<Ev>, usize) {
    let (mut log, mut other, mut held) = (Vec::new(), Vec::new(), 0);
    for (t, c) in chunks {
        fr.steps(*t, c, &mut Toy, &mut |e| answer(&mut log, &mut other, e));
        held = held.max(fr.buffered());
    }
    (log, other, held)
}

/// Where each part starts in a stream, what the decoder reads of it, whether it is its PDU's
/// first.
type Want = Vec<(usize, Vec<u8>, bool)>;

/// A stream with parts read in place and gathered, a 4 KiB bulk part, a passed-over PDU, an
/// empty stepwise PDU; and its parts.
fn stream() -> (Vec<u8>, Want) {
    let hundred: Vec<u8> = (0..100u8).map(|i| b'a' + i % 26).collect();
    let a = [r(b"hello"), s(4096), r(&hundred)];
    let b = [r(b""), s(0)];
    let d = [r(b"ok")];
    let stream = [
        pdu(&a),
        vec![0xcc, 3, b'a', b'b', b'c'],
        pdu(&b),
        pdu(&[]),
        pdu(&d),
    ]
    .concat();
    let mut want = Vec::new();
    let mut at = 0;
    for (i, parts) in [&a[..], &b[..], &[][..], &d[..]].iter().enumerate() {
        at += 3;
        for (j, p) in parts.iter().enumerate() {
            let read = if p[0] == b's' {
                p[..3].to_vec()
            } else {
                p.clone()
            };
            want.push((at, read, j == 0));
            at += p.len();
        }
        if i == 0 {
            at += 5; // the passed-over PDU
        }
    }
    assert_eq!(at, stream.len());
    (stream, want)
}

#[test]
fn parts_are_read_the_same_at_every_split_and_bulk_is_never_buffered() {
    let (stream, want) = stream();
    for cut in 0..=stream.len() {
        let mut fr = Framer::new(256);
        let (log, other, held) = run(&mut fr, &[(1, &stream[..cut]), (2, &stream[cut..])]);
        let expect: Log = want
            .iter()
            .map(|(at, p, first)| (if *at < cut { 1 } else { 2 }, p.clone(), *first))
            .collect();
        assert_eq!(log, expect, "cut at {cut}");
        assert!(other.is_empty(), "cut at {cut}: {other:?}");
        assert!(held <= 102, "cut at {cut}: held {held}");
        assert!(fr.at_boundary(), "cut at {cut}");
    }
    // Byte by byte: the same parts; nothing beyond the largest part read whole is held.
    let mut fr = Framer::new(256);
    let chunks: Vec<(u64, &[u8])> = stream.chunks(1).map(|c| (1, c)).collect();
    let (log, other, held) = run(&mut fr, &chunks);
    assert_eq!(log.len(), want.len());
    assert!(other.is_empty());
    assert!(held <= 102, "held {held}");
}

#[test]
fn a_gap_inside_skipped_bulk_keeps_the_place_one_elsewhere_resynchronises() {
    let (stream, want) = stream();
    let bulk = want[1].0 + 3; // the 4 KiB part's body
    let reads = |log: &Log| log.iter().map(|l| l.1.clone()).collect::<Vec<_>>();
    let all: Vec<Vec<u8>> = want.iter().map(|w| w.1.clone()).collect();
    // Inside the bulk (its first 100 bytes came), and up to its exact end: nothing lost.
    let seen = bulk + 100;
    for len in [1, 1000, 3996 - 1, 3996] {
        let mut fr = Framer::new(256);
        let (mut log, mut other, _) = run(&mut fr, &[(1, &stream[..seen])]);
        fr.gap(len as u64, &mut |e| other.push(own(e)));
        assert!(!fr.is_lost());
        let (more, o, _) = run(&mut fr, &[(2, &stream[seen + len..])]);
        log.extend(more);
        other.extend(o);
        assert_eq!(reads(&log), all, "gap of {len}");
        assert!(other.is_empty(), "gap of {len}: {other:?}");
    }
    // Past the bulk's end, into the part after it: lost; the next PDU start is found.
    let mut fr = Framer::new(256);
    let (mut log, mut other, _) = run(&mut fr, &[(1, &stream[..seen])]);
    fr.gap(3996 + 2, &mut |e| other.push(own(e)));
    assert!(fr.is_lost());
    let (more, o, _) = run(&mut fr, &[(2, &stream[seen + 3996 + 2..])]);
    log.extend(more);
    other.extend(o);
    assert_eq!(reads(&log), [&all[..2], &all[3..]].concat());
    assert!(matches!(other[..], [Ev::Resync(_)]), "{other:?}");
    // Inside a part being gathered: its bytes are dropped (cut), the place is lost.
    let hundred = want[2].0;
    let mut fr = Framer::new(256);
    let (_, mut other, _) = run(&mut fr, &[(1, &stream[..hundred + 50])]);
    fr.gap(10, &mut |e| other.push(own(e)));
    assert_eq!(other, vec![Ev::Cut(50)]);
    assert!(fr.is_lost());
    let (log, _, _) = run(&mut fr, &[(2, &stream[hundred + 60..])]);
    assert_eq!(reads(&log), all[3..].to_vec());
}

#[test]
fn a_lost_header_start_split_across_chunks_is_found_at_every_split() {
    let ok = pdu(&[r(b"ok")]);
    // Junk, a near miss (a PDU head with no part kind after it), then a PDU.
    let stream = [&b"\x01\x02\xbb\x00"[..], b"\xbb\x00\x05z", &ok].concat();
    for cut in 0..=stream.len() {
        let mut fr = Framer::new(256);
        fr.lose(&mut |_| {});
        let (log, other, held) = run(&mut fr, &[(1, &stream[..cut]), (2, &stream[cut..])]);
        assert_eq!(log.len(), 1, "cut at {cut}");
        assert_eq!(log[0].1, r(b"ok"), "cut at {cut}");
        assert!(held < 4, "cut at {cut}: held {held}");
        let passed: usize = other
            .iter()
            .map(|e| match e {
                Ev::Resync(n) => *n,
                _ => panic!("cut at {cut}: {e:?}"),
            })
            .sum();
        assert_eq!(passed, stream.len() - ok.len(), "cut at {cut}");
    }
    // A kept start is dropped by a gap.
    let mut fr = Framer::new(256);
    fr.lose(&mut |_| {});
    run(&mut fr, &[(1, b"\x00\xbb\x00")]);
    assert_eq!(fr.buffered(), 2);
    let mut ev = Vec::new();
    fr.gap(3, &mut |e| ev.push(own(e)));
    assert_eq!((ev, fr.buffered()), (vec![Ev::Resync(2)], 0));
}

#[test]
fn a_lost_part_resynchronises_and_an_unmet_need_skips_its_pdu() {
    let ok = pdu(&[r(b"ok")]);
    // `x` is no part: reported as bad, then searched from its first byte.
    let stream = [pdu(&[r(b"a"), b"x-junk".to_vec()]), ok.clone()].concat();
    for cut in 0..=stream.len() {
        let mut fr = Framer::new(256);
        let (log, other, _) = run(&mut fr, &[(1, &stream[..cut]), (2, &stream[cut..])]);
        assert_eq!(log.len(), 2, "cut at {cut}");
        assert_eq!(other.first(), Some(&Ev::Bad), "cut at {cut}");
        assert!(fr.at_boundary());
    }
    // A part needing more than the cap (never in one chunk: chunks of at most 50 bytes), a part
    // claiming more than its PDU holds: the rest of each PDU is skipped, the next read.
    let big = pdu(&[r(&[b'q'; 200]), r(b"unread")]);
    let short = [&[0xbb, 0, 4, b'r', 9][..], b"xy"].concat();
    let stream = [big.clone(), short, ok.clone()].concat();
    for size in 1..=50 {
        let mut fr = Framer::new(100);
        let chunks: Vec<(u64, &[u8])> = stream.chunks(size).map(|c| (1, c)).collect();
        let (log, other, held) = run(&mut fr, &chunks);
        assert_eq!(log.len(), 1, "chunks of {size}");
        assert_eq!(log[0].1, r(b"ok"));
        assert_eq!(
            other,
            vec![Ev::Unmet(big.len() as u64 - 3), Ev::Unmet(4)],
            "chunks of {size}"
        );
        assert!(held <= MAX_HEAD, "chunks of {size}: held {held}");
    }
}

#[test]
fn stepwise_pdus_fed_as_data_show_their_first_part_only() {
    let (stream, want) = stream();
    let mut fr = Framer::new(256);
    let mut parts = Vec::new();
    fr.data(1, &stream, &mut Toy, &mut |e| {
        if let Event::Part { part, first, .. } = e {
            assert!(first);
            parts.push(part[0]);
        }
    });
    assert_eq!(parts, vec![b'r', b'r', b'r']);
    assert!(fr.at_boundary());
    assert!(want.len() > parts.len());
}
