//! Tests of the decoder kit: framer, transaction table, BER reader.

use super::ber::{self, BerFraming, Reader};
use super::framer::{Event, Framer, Framing, Head, Prefix, MAX_HEAD};
use super::txn::{TxnStats, Txns};

mod steps;

/// What a framer reported, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ev {
    Pdu(u64, Vec<u8>),
    Skipped(usize),
    Oversize(u64),
    Bad,
    Cut(usize),
    Resync(usize),
    Part(u64, Vec<u8>, u64, bool),
    Unmet(u64),
}

fn own(e: Event<'_>) -> Ev {
    match e {
        Event::Pdu { start, pdu } => Ev::Pdu(start, pdu.to_vec()),
        Event::Skipped { bytes } => Ev::Skipped(bytes),
        Event::Oversize { len, .. } => Ev::Oversize(len),
        Event::Bad { .. } => Ev::Bad,
        Event::Cut { bytes } => Ev::Cut(bytes),
        Event::Resync { bytes } => Ev::Resync(bytes),
        Event::Part {
            start,
            part,
            left,
            first,
        } => Ev::Part(start, part.to_vec(), left, first),
        Event::Unmet { left } => Ev::Unmet(left),
    }
}

/// Feeds `chunks` (time, bytes) and returns the events.
fn feed<F: Framing>(fr: &mut Framer, f: &mut F, chunks: &[(u64, &[u8])]) -> Vec<Ev> {
    let mut v = Vec::new();
    for (t, c) in chunks {
        fr.data(*t, c, f, &mut |e| v.push(own(e)));
    }
    v
}

fn dns(body: &[u8]) -> Vec<u8> {
    [&(body.len() as u16).to_be_bytes()[..], body].concat()
}

fn pdus(ev: &[Ev]) -> Vec<Vec<u8>> {
    ev.iter()
        .filter_map(|e| match e {
            Ev::Pdu(_, p) => Some(p.clone()),
            _ => None,
        })
        .collect()
}

/// Headers of 2 bytes, `0xaa LEN`; anything else is bad, and `bad_len` bytes of a bad header
/// are passed over before resynchronising.
struct Tagged {
    bad_len: usize,
}

impl Framing for Tagged {
    fn head(&mut self, d: &[u8]) -> Head {
        match d {
            [0xaa, l, ..] => Head::Len(2 + usize::from(*l)),
            [] | [0xaa] => Head::Need(2),
            _ => Head::Bad,
        }
    }

    fn bad_len(&self) -> usize {
        self.bad_len
    }
}

#[test]
fn a_bad_header_is_passed_over_by_bad_len_before_resynchronising() {
    let stream: &[u8] = b"\x01\xaa\x00\xaa\x01x";
    let mut fr = Framer::new(64);
    let ev = feed(&mut fr, &mut Tagged { bad_len: 0 }, &[(1, stream)]);
    assert_eq!(
        ev,
        vec![
            Ev::Bad,
            Ev::Resync(1),
            Ev::Pdu(1, b"\xaa\x00".to_vec()),
            Ev::Pdu(1, b"\xaa\x01x".to_vec())
        ]
    );
    let mut fr = Framer::new(64);
    let ev = feed(&mut fr, &mut Tagged { bad_len: 2 }, &[(1, stream)]);
    assert_eq!(
        ev,
        vec![Ev::Bad, Ev::Resync(1), Ev::Pdu(1, b"\xaa\x01x".to_vec())]
    );
}

#[test]
fn the_unreported_rest_of_a_cut_pdu_is_known() {
    let mut fr = Framer::new(64);
    let ev = feed(&mut fr, &mut Prefix::Be16, &[(1, &[0, 10, 1, 2, 3])]);
    assert!(ev.is_empty());
    assert_eq!(fr.unreported_skip(), 0);
    fr.gap(3, &mut |_| {});
    // 12 bytes in all, 5 seen, 3 lost: 4 still to skip, not reported as skipped.
    assert_eq!(fr.unreported_skip(), 4);
    let ev = feed(
        &mut fr,
        &mut Prefix::Be16,
        &[(2, &[9, 9]), (3, &[9, 9, 0, 1, 7])],
    );
    assert_eq!(ev, vec![Ev::Pdu(3, vec![0, 1, 7])]);
    assert_eq!(fr.unreported_skip(), 0);
    // The rest of a PDU over the cap is reported as it comes: nothing unreported.
    let ev = feed(&mut fr, &mut Prefix::Be16, &[(4, &[0, 100, 1])]);
    assert_eq!(ev, vec![Ev::Oversize(102), Ev::Skipped(3)]);
    assert_eq!(fr.unreported_skip(), 0);
}

#[test]
fn split_at_every_byte_gives_the_same_pdus_with_their_start_time() {
    let a = dns(b"first message");
    let b = dns(b"second");
    let stream = [a.clone(), b.clone()].concat();
    for cut in 0..=stream.len() {
        let mut fr = Framer::new(1024);
        let ev = feed(
            &mut fr,
            &mut Prefix::Be16,
            &[(1, &stream[..cut]), (2, &stream[cut..])],
        );
        assert_eq!(pdus(&ev), vec![a.clone(), b.clone()], "cut at {cut}");
        // The first PDU started in the first chunk unless the cut is at 0.
        let Ev::Pdu(t, _) = &ev[0] else { panic!() };
        assert_eq!(*t, if cut == 0 { 2 } else { 1 });
        assert_eq!(fr.buffered(), 0);
    }
    // One byte at a time.
    let mut fr = Framer::new(1024);
    let chunks: Vec<(u64, &[u8])> = stream.chunks(1).map(|c| (7, c)).collect();
    assert_eq!(pdus(&feed(&mut fr, &mut Prefix::Be16, &chunks)), vec![a, b]);
}

#[test]
fn oversized_pdus_are_skipped_and_counted_by_the_bytes_that_came() {
    let big = dns(&[0x55; 300]);
    let small = dns(b"ok");
    let stream = [big.clone(), small.clone()].concat();
    for cut in [0, 1, 2, 3, 100, 302, 303] {
        let mut fr = Framer::new(100);
        let ev = feed(
            &mut fr,
            &mut Prefix::Be16,
            &[(1, &stream[..cut]), (2, &stream[cut..])],
        );
        assert_eq!(pdus(&ev), vec![small.clone()], "cut at {cut}");
        assert!(ev.contains(&Ev::Oversize(302)));
        let skipped: usize = ev
            .iter()
            .map(|e| if let Ev::Skipped(n) = e { *n } else { 0 })
            .sum();
        assert_eq!(skipped, 302, "cut at {cut}");
        assert!(fr.buffered() <= 100);
    }
    // A header claiming 4 GiB on a stream that then ends: only what came is counted.
    let mut fr = Framer::new(1 << 20);
    let mut claim = 0x7fff_fff0u32.to_be_bytes().to_vec();
    claim.extend_from_slice(&[0; 1000]);
    let ev = feed(&mut fr, &mut Prefix::RecordMark, &[(1, &claim)]);
    assert_eq!(ev[0], Ev::Oversize(0x7fff_fff0 + 4));
    assert_eq!(ev[1..], [Ev::Skipped(1004)]);
    let mut closed = Vec::new();
    fr.close(&mut |e| closed.push(own(e)));
    assert!(closed.is_empty());
}

/// Be16 framing that wants to see the first `peek` bytes of a PDU over the cap.
struct Peeking {
    peek: usize,
}

impl Framing for Peeking {
    fn head(&mut self, d: &[u8]) -> Head {
        Prefix::Be16.head(d)
    }

    fn peek_len(&self) -> usize {
        self.peek
    }
}

#[test]
fn an_oversized_pdu_is_reported_with_its_first_bytes() {
    let big = dns(&(0..=255u8).cycle().take(300).collect::<Vec<_>>());
    let small = dns(b"ok");
    let stream = [big.clone(), small.clone()].concat();
    for cut in [0, 1, 2, 5, 9, 10, 11, 100, 302] {
        for step in [1, 3, 1000] {
            let mut fr = Framer::new(100);
            let mut f = Peeking { peek: 10 };
            let (mut heads, mut skipped, mut got) = (Vec::new(), 0, Vec::new());
            let chunks = [&stream[..cut], &stream[cut..]];
            for c in chunks.iter().flat_map(|c| c.chunks(step)) {
                fr.data(1, c, &mut f, &mut |e| match e {
                    Event::Oversize { len, head } => heads.push((len, head.to_vec())),
                    Event::Skipped { bytes } => skipped += bytes,
                    Event::Pdu { pdu, .. } => got.push(pdu.to_vec()),
                    e => panic!("{e:?}"),
                });
            }
            assert_eq!(heads.len(), 1, "cut {cut} step {step}");
            let (len, head) = &heads[0];
            assert_eq!(*len, 302);
            // At least the 10 bytes asked for, all of them the PDU's own first bytes.
            assert!(
                head.len() >= 10 && head[..] == big[..head.len()],
                "{head:?}"
            );
            assert_eq!(skipped, 302, "cut {cut} step {step}");
            assert_eq!(got, vec![small.clone()]);
        }
    }
    // A framing that would peek past the cap sees the cap's worth.
    let mut fr = Framer::new(64);
    let mut heads = Vec::new();
    let pdu = dns(&[7; 70]);
    fr.data(1, &pdu[..5], &mut Peeking { peek: 1000 }, &mut |_| {});
    fr.data(2, &pdu[5..], &mut Peeking { peek: 1000 }, &mut |e| {
        if let Event::Oversize { head, .. } = e {
            heads.push(head.len())
        }
    });
    assert_eq!(heads, vec![64]);
    assert_eq!(fr.buffered(), 0);
}

#[test]
fn a_bad_header_comes_with_the_bytes_from_it_on() {
    let mut fr = Framer::new(64);
    let mut at = Vec::new();
    let stream = [dns(b"ok"), b"\x01zz".to_vec()].concat();
    fr.data(1, &stream, &mut Tagged { bad_len: 0 }, &mut |e| {
        if let Event::Bad { at: a } = e {
            at.push(a.to_vec())
        }
    });
    // The DNS prefix is no Tagged header: bad from the first byte.
    assert_eq!(at, vec![stream.clone()]);
    let mut fr = Framer::new(64);
    let mut f = BerFraming { tag: 0x30 };
    let mut at = Vec::new();
    let msg = [0x30, 0x01, 0x00];
    fr.data(1, &[&msg[..], b"\x17\x03\x03"].concat(), &mut f, &mut |e| {
        if let Event::Bad { at: a } = e {
            at.push(a.to_vec())
        }
    });
    // After a whole message, what is no message is handed over from its first byte.
    assert_eq!(at, vec![b"\x17\x03\x03".to_vec()]);
}

/// Headers of 4 bytes, `0xaa 0xbb LEN !LEN`, judged byte by byte as they come (a partial
/// header that agrees so far is `Need`); bad headers are passed over by one byte; with
/// `keep_partial`, header starts cut by a chunk's end are kept while resynchronising.
struct Checked {
    keep: bool,
}

impl Framing for Checked {
    fn head(&mut self, d: &[u8]) -> Head {
        let ok = d.iter().zip([0xaa, 0xbb]).all(|(a, b)| *a == b) && (d.len() < 4 || d[3] == !d[2]);
        match (ok, d) {
            (false, _) => Head::Bad,
            (true, [_, _, l, _, ..]) => Head::Len(4 + usize::from(*l)),
            (true, _) => Head::Need(4),
        }
    }

    fn probe(&mut self, d: &[u8]) -> bool {
        !matches!(self.head(d), Head::Bad)
    }

    fn bad_len(&self) -> usize {
        1
    }

    fn keep_partial(&self) -> bool {
        self.keep
    }
}

fn checked(body: &[u8]) -> Vec<u8> {
    let l = body.len() as u8;
    [&[0xaa, 0xbb, l, !l][..], body].concat()
}

#[test]
fn a_lost_framer_keeps_a_header_cut_by_the_chunk_end() {
    // Garbage with false starts (0xaa, and 0xaa 0xbb with a bad check), then two PDUs.
    let (a, b) = (checked(b"first"), checked(b"second"));
    let stream = [&[0x01, 0xaa, 0x02, 0xaa, 0xbb, 0x03, 0x00][..], &a, &b].concat();
    for cut in 0..=stream.len() {
        let mut fr = Framer::new(64);
        let mut f = Checked { keep: true };
        fr.lose(&mut |_| panic!("nothing to report"));
        assert!(fr.is_lost());
        let ev = feed(&mut fr, &mut f, &[(1, &stream[..cut]), (2, &stream[cut..])]);
        assert_eq!(pdus(&ev), vec![a.clone(), b.clone()], "cut at {cut}");
        // Every byte is a PDU's or passed over, once.
        let passed: usize = ev
            .iter()
            .map(|e| if let Ev::Resync(n) = e { *n } else { 0 })
            .sum();
        assert_eq!(passed, 7, "cut at {cut}");
        assert!(!ev.contains(&Ev::Bad));
        assert_eq!(fr.buffered(), 0);
    }
    // Without keep_partial, a false start cut by the chunk's end is taken for a header, which
    // then turns out bad.
    let mut fr = Framer::new(64);
    fr.lose(&mut |_| {});
    let ev = feed(
        &mut fr,
        &mut Checked { keep: false },
        &[(1, &stream[..5]), (2, &stream[5..])],
    );
    assert!(ev.contains(&Ev::Bad));
    assert_eq!(pdus(&ev), vec![a.clone(), b.clone()]);
}

#[test]
fn gathered_bytes_of_a_bad_header_are_searched_again() {
    // A header start at a chunk's end that turns out bad; a PDU starts at its second byte.
    let a = checked(b"pdu");
    let stream = [&[0xaa][..], &a].concat();
    for keep in [true, false] {
        let mut fr = Framer::new(64);
        let ev = feed(
            &mut fr,
            &mut Checked { keep },
            &[(1, &stream[..1]), (2, &stream[1..])],
        );
        assert_eq!(ev[0], Ev::Bad);
        if keep {
            assert_eq!(pdus(&ev), vec![a.clone()]);
        } else {
            assert!(pdus(&ev).is_empty());
        }
    }
}

#[test]
fn a_kept_header_start_is_dropped_by_a_gap_and_at_close() {
    let a = checked(b"pdu");
    let mut fr = Framer::new(64);
    let mut f = Checked { keep: true };
    fr.lose(&mut |_| {});
    let ev = feed(&mut fr, &mut f, &[(1, &[0x00, 0xaa, 0xbb])]);
    assert_eq!(ev, vec![Ev::Resync(1)]);
    assert_eq!(fr.buffered(), 2);
    let mut ev = Vec::new();
    fr.gap(10, &mut |e| ev.push(own(e)));
    assert_eq!(ev, vec![Ev::Resync(2)]);
    assert_eq!(fr.buffered(), 0);
    // After the gap the next whole header is found.
    let ev = feed(&mut fr, &mut f, &[(2, &[&[0x10, 0xbb][..], &a].concat())]);
    assert_eq!(pdus(&ev), vec![a.clone()]);
    feed(&mut fr, &mut f, &[(3, &[0xaa])]);
    // In step: a PDU in progress is cut by lose(); a kept start is passed over at close.
    let mut ev = Vec::new();
    fr.lose(&mut |e| ev.push(own(e)));
    assert_eq!(ev, vec![Ev::Cut(1)]);
    feed(&mut fr, &mut f, &[(4, &[0xaa, 0xbb])]);
    let mut ev = Vec::new();
    fr.close(&mut |e| ev.push(own(e)));
    assert_eq!(ev, vec![Ev::Resync(2)]);
    assert!(!fr.is_lost() && fr.buffered() == 0);
}

#[test]
fn a_gap_inside_a_pdu_skips_to_its_end() {
    let a = dns(&[1; 20]);
    let b = dns(&[2; 5]);
    let mut fr = Framer::new(1024);
    let mut ev = feed(&mut fr, &mut Prefix::Be16, &[(1, &a[..8])]);
    // 10 of the remaining 14 bytes are lost.
    fr.gap(10, &mut |e| ev.push(own(e)));
    assert_eq!(ev, vec![Ev::Cut(8)]);
    let rest = [&a[18..], &b[..]].concat();
    let ev = feed(&mut fr, &mut Prefix::Be16, &[(2, &rest)]);
    assert_eq!(ev, vec![Ev::Pdu(2, b.clone())]);
    assert!(!fr.is_lost());
}

#[test]
fn a_gap_over_a_boundary_resynchronises_by_probe() {
    /// DNS-like framing whose probe wants a length of exactly 3 (a stand-in for a header check).
    struct Strict;
    impl Framing for Strict {
        fn head(&mut self, d: &[u8]) -> Head {
            Prefix::Be16.head(d)
        }
        fn probe(&mut self, d: &[u8]) -> bool {
            d.starts_with(&[0, 3])
        }
    }
    let a = dns(&[1; 20]);
    let b = dns(b"abc");
    let mut fr = Framer::new(1024);
    let mut ev = feed(&mut fr, &mut Strict, &[(1, &a[..8])]);
    fr.gap(100, &mut |e| ev.push(own(e)));
    assert!(fr.is_lost());
    let junk_then_b = [&[9u8, 9, 9, 9, 9][..], &b].concat();
    ev.extend(feed(&mut fr, &mut Strict, &[(2, &junk_then_b)]));
    assert_eq!(
        ev,
        vec![Ev::Cut(8), Ev::Resync(5), Ev::Pdu(2, b.clone())],
        "{ev:?}"
    );
    // A gap between PDUs loses the boundary too.
    fr.gap(3, &mut |_| {});
    assert!(fr.is_lost());
    assert_eq!(feed(&mut fr, &mut Strict, &[(3, &b)]), vec![Ev::Pdu(3, b)]);
}

#[test]
fn a_bad_header_is_reported_once_then_resync() {
    let mut fr = Framer::new(1024);
    let mut junk = vec![0xff, 0xff, 0xff, 0xff, 0, 0, 0, 3];
    junk.extend_from_slice(&[0x6a, 0x01, 0x00]);
    let ev = feed(&mut fr, &mut Prefix::RecordMark, &[(1, &junk)]);
    // The probe accepts the next readable mark (at offset 1: ff ff ff 00 is bad, so 4).
    assert_eq!(ev[0], Ev::Bad);
    assert!(matches!(ev[1], Ev::Resync(n) if n > 0));
    assert_eq!(pdus(&ev).len(), 1);
}

#[test]
fn ber_streams_have_no_resync_and_dcerpc_lengths_follow_the_byte_order() {
    let msg = [0x30, 0x03, 0x02, 0x01, 0x07];
    let stream = [&msg[..], &msg[..]].concat();
    let mut fr = Framer::new(1024);
    let mut f = BerFraming { tag: 0x30 };
    for cut in 0..stream.len() {
        let mut fr = Framer::new(1024);
        let ev = feed(&mut fr, &mut f, &[(1, &stream[..cut]), (1, &stream[cut..])]);
        assert_eq!(pdus(&ev).len(), 2);
    }
    let ev = feed(&mut fr, &mut f, &[(1, &[0x04, 0x00]), (2, &msg)]);
    assert_eq!(ev, vec![Ev::Bad, Ev::Resync(2), Ev::Resync(5)]);
    // Long-form length gathered across chunks.
    let mut fr = Framer::new(1024);
    let mut long = vec![0x30, 0x82, 0x01, 0x00];
    long.extend_from_slice(&[0; 256]);
    let ev = feed(
        &mut fr,
        &mut f,
        &[(1, &long[..2]), (1, &long[2..3]), (1, &long[3..])],
    );
    assert_eq!(pdus(&ev), vec![long]);
    // DCE-RPC: frag_length little-endian when the data representation says so.
    let mut bind = vec![5, 0, 11, 3, 0x10, 0, 0, 0, 20, 0, 0, 0, 1, 0, 0, 0];
    bind.extend_from_slice(&[0; 4]);
    assert_eq!(Prefix::DceRpc.head(&bind), Head::Len(20));
    bind[4] = 0;
    assert_eq!(Prefix::DceRpc.head(&bind), Head::Len(20 << 8));
    assert_eq!(Prefix::DceRpc.head(&bind[..10]), Head::Need(16));
    assert_eq!(Prefix::NetBios.head(&[0, 0, 1, 0]), Head::Len(260));
}

#[test]
fn hostile_framings_cannot_loop_or_grow_the_buffer() {
    /// A framing that always asks for more, or says zero.
    struct Greedy(usize);
    impl Framing for Greedy {
        fn head(&mut self, d: &[u8]) -> Head {
            match self.0 {
                0 => Head::Need(d.len() + 1),
                1 => Head::Len(0),
                _ => Head::Need(0),
            }
        }
    }
    for mode in 0..3 {
        let mut fr = Framer::new(10);
        let ev = feed(&mut fr, &mut Greedy(mode), &[(1, &[7; 500])]);
        assert!(fr.buffered() <= MAX_HEAD, "mode {mode}");
        assert!(ev.contains(&Ev::Bad), "mode {mode}: {ev:?}");
    }
}

#[test]
fn close_reports_a_pdu_cut_short() {
    let mut fr = Framer::new(1024);
    let a = dns(&[1; 20]);
    feed(&mut fr, &mut Prefix::Be16, &[(1, &a[..5])]);
    let mut ev = Vec::new();
    fr.close(&mut |e| ev.push(own(e)));
    assert_eq!(ev, vec![Ev::Cut(5)]);
    assert_eq!(fr.buffered(), 0);
}

#[test]
fn transactions_evict_the_oldest_and_count_it() {
    let mut t: Txns<u16, &str> = Txns::new(2);
    assert!(t.insert(1, 10, "a").is_none());
    assert!(t.insert(2, 11, "b").is_none());
    let old = t.insert(3, 12, "c").unwrap();
    assert_eq!((old.key, old.value, old.since), (10, "a", 1));
    assert_eq!(t.stats().evicted, 1);
    assert_eq!(t.take(&12).map(|x| x.value), Some("c"));
    assert!(t.take(&10).is_none());
    assert_eq!(t.len(), 1);
    // A cap of 0 keeps the newest only, without panicking.
    let mut z: Txns<u16, u8> = Txns::new(0);
    assert!(z.insert(1, 1, 1).is_none());
    assert_eq!(z.insert(1, 2, 2).map(|x| x.key), Some(1));
    assert_eq!(z.take(&2).map(|x| x.value), Some(2));
}

#[test]
fn a_first_request_reserves_room_for_one() {
    // A flow's first request takes room for itself only (a waiting record is large and most
    // UDP flows carry one exchange); a second grows the table as usual.
    let mut t: Txns<u16, [u8; 512]> = Txns::new(8);
    assert_eq!(t.capacity(), 0);
    t.insert(1, 1, [0; 512]);
    assert_eq!(t.capacity(), 1);
    t.insert(2, 2, [0; 512]);
    assert!(t.capacity() >= 2);
    assert_eq!(t.len(), 2);
    // given back only once nothing waits
    t.take(&1);
    t.release_if_empty();
    assert!(t.capacity() >= 1);
    t.take(&2);
    t.release_if_empty();
    assert_eq!(t.capacity(), 0);
    assert!(t.is_empty());
    t.insert(3, 3, [0; 512]);
    assert_eq!(t.capacity(), 1);
}

#[test]
fn transactions_time_out_on_one_boundary_rule() {
    let mut t: Txns<(), u8> = Txns::new(8);
    t.insert(100, (), 1);
    t.insert(150, (), 2);
    t.insert(200, (), 3);
    // now - last >= timeout: nothing is due at 199; at 250 the request of 150 is, exactly.
    assert!(t.expire(199, 100).next().is_none());
    let due: Vec<_> = t.expire(250, 100).map(|x| x.value).collect();
    assert_eq!(due, vec![1, 2]);
    assert_eq!(t.iter().map(|x| x.value).collect::<Vec<_>>(), vec![3]);
    assert_eq!(t.stats().timed_out, 2);
    // Activity moves the deadline.
    t.touch(0, 400);
    assert!(t.expire(450, 100).next().is_none());
    assert_eq!(t.expire(500, 100).count(), 1);
    assert_eq!(
        t.take_stats(),
        TxnStats {
            evicted: 0,
            timed_out: 3
        }
    );
    assert_eq!(t.stats(), TxnStats::default());
}

#[test]
fn transactions_pair_in_order_and_flush_oldest_first() {
    let mut t: Txns<(), u8> = Txns::new(8);
    for i in 0..4 {
        t.insert(u64::from(i), (), i);
    }
    assert_eq!(t.take_first().map(|x| x.value), Some(0));
    let i = t.position(|x| x.value == 2).unwrap();
    let x = t.remove(i).unwrap();
    assert!(t.put_back(i, x).is_none());
    assert_eq!(
        t.drain().map(|x| x.value).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert!(t.is_empty());
    // put_back never grows past the cap.
    let mut t: Txns<u8, u8> = Txns::new(1);
    t.insert(1, 1, 1);
    let x = t.take(&1).unwrap();
    t.insert(2, 2, 2);
    assert_eq!(t.put_back(0, x).map(|x| x.key), Some(1));
    assert_eq!(t.len(), 1);
}

#[test]
fn ber_reader_walks_a_sequence_without_recursion() {
    // SEQUENCE { INTEGER 7, [APPLICATION 0] { }, [0] OCTET STRING "x" }
    let m = [
        0x30, 0x0a, 0x02, 0x01, 0x07, 0x60, 0x00, 0xa0, 0x03, 0x04, 0x01, b'x',
    ];
    let (rest, seq) = ber::tlv(&m).unwrap();
    assert!(rest.is_empty());
    let mut r = Reader::new(seq.value);
    assert_eq!(ber::integer(r.expect(0x02).unwrap().value), Some(7));
    assert!(r.optional(0xa1).is_none());
    assert!(r.expect(0x04).is_err());
    assert_eq!(r.next_tlv().unwrap().tag, 0x60);
    assert_eq!(r.optional(0xa0).unwrap().value, &[0x04, 0x01, b'x']);
    assert!(r.is_empty());
    assert!(r.next_tlv().is_err());
    // Lengths: more than 4 octets, indefinite, past the end, high tag numbers are refused.
    for bad in [
        &[0x30, 0x85, 0, 0, 0, 0, 1][..],
        &[0x30, 0x80, 0, 0],
        &[0x30, 0x05, 1],
        &[0x1f, 0x01, 0x00],
    ] {
        assert!(ber::tlv(bad).is_err(), "{bad:?}");
    }
    assert_eq!(ber::integer(&[0xff, 0x00]), Some(-256));
    assert_eq!(ber::integer(&[]), None);
    // Deep nesting is just bytes: reading the outer element does not look inside.
    let mut deep = vec![0x04, 0x00];
    for _ in 0..100 {
        deep = [&[0x30, deep.len() as u8][..], &deep].concat();
        if deep.len() > 120 {
            break;
        }
    }
    assert!(ber::tlv(&deep).is_ok());
}

/// The text decoders give what the standard library's decoders collect, in strings whose
/// capacity is their length (allocated once).
#[test]
fn text_decoders_match_std_with_exact_capacity() {
    use super::text;
    let samples: [&[u16]; 6] = [
        &[],
        &[0x61, 0x62, 0x63, 0],
        &[0x41, 0xe9, 0x20ac, 0xd83d, 0xde00, 0x5a],
        &[0xd800, 0x41, 0xdc00],
        &[0x7f, 0x80, 0x7ff, 0x800, 0xffff],
        &[0xd83d],
    ];
    for units in samples {
        for big in [false, true] {
            let mut b: Vec<u8> = units
                .iter()
                .flat_map(|u| {
                    if big {
                        u.to_be_bytes()
                    } else {
                        u.to_le_bytes()
                    }
                })
                .collect();
            b.push(0x33); // an odd trailing byte is ignored
            for max in [0, 1, 2, 3, 100] {
                let want: String = char::decode_utf16(units.iter().copied())
                    .take(max)
                    .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
                    .collect();
                let got = text::utf16(&b, big, max);
                assert_eq!(got, want, "{units:x?} big={big} max={max}");
                assert_eq!(got.capacity(), got.len(), "{units:x?} big={big} max={max}");
            }
        }
    }
    let bytes: &[u8] = b"a\xe9\x00\xffz";
    let l = text::latin1(bytes);
    assert_eq!(l, bytes.iter().map(|&c| char::from(c)).collect::<String>());
    assert_eq!(l.capacity(), l.len());
    for b in [&b"plain"[..], b"bad \xff\xfe utf8 \xc3\xa9", b""] {
        for max in [0, 3, 6, 100] {
            let want: String = String::from_utf8_lossy(b).chars().take(max).collect();
            assert_eq!(text::utf8_lossy(b, max), want);
        }
    }
}
