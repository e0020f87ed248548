//! Fuzz target: the decoder kit. The input drives one framer (its framing, cap and a list of
//! operations: data chunks, gaps, losses of place, a close) and one transaction table (inserts,
//! answers by key or in order, timeouts, a flush). Stepwise framings (SMB's, and a toy one
//! with passed-over PDUs) have their parts answered from the parts' bytes (gather more, done
//! with any length, lost). Checked: no panic; the framer's buffer never exceeds its cap; every
//! PDU it hands over is what its framing says, no longer than the cap; every part is within
//! its PDU and at least as long as the framer promises; the bytes it reports (PDUs, skipped,
//! cut, passed over) never exceed what it was fed; the table never holds more than its cap,
//! and everything inserted comes out exactly once (answered, evicted, timed out or flushed),
//! evictions and timeouts counted.
#![no_main]
use dcsensor::proto::dcerpc::DceFraming;
use dcsensor::proto::kit::ber::BerFraming;
use dcsensor::proto::kit::framer::{Event, Framer, Framing, Head, Prefix, Step, MAX_HEAD};
use dcsensor::proto::smb::SmbFraming;
use dcsensor::proto::kit::txn::Txns;
use libfuzzer_sys::fuzz_target;

/// A stepwise framing: DNS's 2-byte length, a PDU read in parts, or passed over when the
/// length's high bit is set.
struct Stepped;

impl Framing for Stepped {
    fn head(&mut self, d: &[u8]) -> Head {
        match Prefix::Be16.head(d) {
            Head::Len(len) if d[0] & 0x80 != 0 => Head::Pass(len),
            Head::Len(len) => Head::Steps { head: 2, len },
            h => h,
        }
    }
}

fn framing(sel: u8) -> Box<dyn Framing> {
    match sel % 8 {
        0 => Box::new(Prefix::Be16),
        1 => Box::new(Prefix::RecordMark),
        2 => Box::new(Prefix::NetBios),
        3 => Box::new(Prefix::DceRpc),
        4 => Box::new(DceFraming),
        5 => Box::new(SmbFraming),
        6 => Box::new(Stepped),
        _ => Box::new(BerFraming { tag: 0x30 }),
    }
}

/// The answer to a part, picked by its last byte.
fn answer(part: &[u8]) -> Step {
    let b = part[part.len() - 1];
    match b % 8 {
        0..=2 => Step::Need(part.len() + usize::from(b) * 4),
        3 => Step::Need(usize::from(b)),
        4 | 5 => Step::Done(u64::from(b) * 64),
        6 => Step::Done(u64::from(b) % 8),
        _ => Step::Lost,
    }
}

fn framer(data: &[u8]) {
    let [sel, cap, rest @ ..] = data else { return };
    let cap = usize::from(*cap) * 8;
    let mut f = framing(*sel);
    let mut check = framing(*sel);
    let mut fr = Framer::new(cap);
    let cap = cap.max(dcsensor::proto::kit::framer::MAX_HEAD);
    let mut fed = 0usize;
    let mut reported = 0usize;
    let mut rest = rest;
    let mut t = 0;
    while let [op, n, more @ ..] = rest {
        let n = usize::from(*n);
        t += 1;
        let mut on = |e: Event<'_>| match e {
            Event::Pdu { start, pdu } => {
                assert!(start <= t);
                assert!(!pdu.is_empty() && pdu.len() <= cap);
                assert_eq!(check.head(pdu), Head::Len(pdu.len()));
                reported += pdu.len();
                Step::Lost
            }
            Event::Skipped { bytes } | Event::Cut { bytes } | Event::Resync { bytes } => {
                reported += bytes;
                Step::Lost
            }
            Event::Oversize { len, head } => {
                assert!(len > cap as u64);
                assert!(head.len() as u64 <= len);
                Step::Lost
            }
            Event::Part {
                start, part, left, ..
            } => {
                assert!(start <= t);
                assert!(!part.is_empty() && part.len() as u64 <= left);
                assert!(part.len() as u64 >= left.min(MAX_HEAD as u64));
                answer(part)
            }
            Event::Unmet { left } => {
                assert!(left > 0);
                Step::Lost
            }
            Event::Bad { .. } => Step::Lost,
        };
        if op % 8 == 0 {
            fr.gap(n as u64, &mut |e| {
                on(e);
            });
            rest = more;
        } else if op % 16 == 1 {
            fr.lose(&mut |e| {
                on(e);
            });
            rest = more;
        } else {
            let take = n.min(more.len());
            fr.steps(t, &more[..take], f.as_mut(), &mut on);
            fed += take;
            rest = &more[take..];
        }
        assert!(fr.buffered() <= cap);
        assert!(reported + fr.buffered() <= fed, "{reported} + {} > {fed}", fr.buffered());
    }
    fr.close(&mut |e| {
        if let Event::Cut { bytes } = e {
            reported += bytes;
        }
    });
    assert!(reported <= fed);
    assert_eq!(fr.buffered(), 0);
}

fn table(data: &[u8]) {
    let [cap, rest @ ..] = data else { return };
    let cap = usize::from(cap % 16);
    let mut t: Txns<u8, u32> = Txns::new(cap);
    let (mut inserted, mut out, mut evicted, mut timed) = (0u32, 0u32, 0u64, 0u64);
    let mut now = 0u64;
    for (i, op) in rest.chunks(2).enumerate() {
        let (a, b) = (op[0], op.get(1).copied().unwrap_or(0));
        now += u64::from(b % 4);
        match a % 4 {
            0 | 1 => {
                inserted += 1;
                if t.insert(now, b, i as u32).is_some() {
                    out += 1;
                    evicted += 1;
                }
            }
            2 => {
                let hit = if b % 2 == 0 { t.take(&b) } else { t.take_first() };
                out += u32::from(hit.is_some());
            }
            _ => {
                let n = t.expire(now, u64::from(b % 8)).count();
                for _ in 0..n {
                    out += 1;
                    timed += 1;
                }
            }
        }
        assert!(t.len() <= cap.max(1));
    }
    let s = t.take_stats();
    assert_eq!((s.evicted, s.timed_out), (evicted, timed));
    out += t.drain().count() as u32;
    assert_eq!(inserted, out);
}

fuzz_target!(|data: &[u8]| {
    framer(data);
    table(data);
});
