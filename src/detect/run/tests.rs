//! [`Detector::json_lines`] against a model of it written line by line (split at line feeds,
//! each line checked for its length, its text, then read): for inputs whose lines fall across
//! the reader's blocks in every way (a line in two or more blocks, a line feed first or last in
//! a block, a character of several bytes cut by a block's end, lines of exactly the cap and one
//! over it, a last line without a line feed, CRLF), what is read, what is skipped and the
//! warnings naming each skipped line are the model's.

use super::*;
use crate::detect::{Engine, Tuning};
use std::io::BufReader;

/// Bytes written by a detector or a tracing subscriber, shared with the test.
#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Buf {
    fn lines(&self) -> Vec<String> {
        let b = self.0.lock().unwrap();
        String::from_utf8_lossy(&b)
            .lines()
            .map(|l| l.trim().to_string())
            .collect()
    }
}

/// What reading `input` gives: the lines read as records (as `--records` writes them), the
/// warnings, and the counts of lines skipped and of those over the cap.
#[derive(Debug, PartialEq)]
struct Outcome {
    records: Vec<String>,
    warnings: Vec<String>,
    skipped: u64,
    oversized: u64,
}

/// `json_lines` with `max_record_bytes` `cap`, the input read `block` bytes at a time.
fn run(input: &[u8], cap: usize, block: usize) -> Outcome {
    let t = Tuning {
        max_record_bytes: cap,
        ..Tuning::default()
    };
    let out = Buf::default();
    let mut d = Detector::new(
        Engine::new(t),
        Box::new(out.clone()),
        Format::Json,
        true,
        "t",
    );
    let logs = Buf::default();
    let sub = tracing_subscriber::fmt()
        .with_writer({
            let l = logs.clone();
            move || l.clone()
        })
        .with_ansi(false)
        .without_time()
        .with_level(false)
        .with_target(false)
        .finish();
    tracing::subscriber::with_default(sub, || {
        d.json_lines(BufReader::with_capacity(block, input), "in")
            .unwrap()
    });
    d.flush().unwrap();
    Outcome {
        // the alerts the records raise are not what is looked at
        records: out
            .lines()
            .into_iter()
            .filter(|l| !l.contains(r#""type":"alert""#))
            .collect(),
        warnings: logs.lines(),
        skipped: d.skipped,
        oversized: d.oversized,
    }
}

/// The model: the input split at line feeds (a last line without one is a line; nothing after
/// a last line feed is), each line numbered, then too long, not text, blank, not a record, or
/// read.
fn model(input: &[u8], cap: usize) -> Outcome {
    let mut o = Outcome {
        records: Vec::new(),
        warnings: Vec::new(),
        skipped: 0,
        oversized: 0,
    };
    let mut lines: Vec<&[u8]> = input.split(|b| *b == b'\n').collect();
    if input.ends_with(b"\n") || input.is_empty() {
        lines.pop();
    }
    let skip = |o: &mut Outcome, n: usize, why: String| {
        o.skipped += 1;
        if o.skipped <= 10 {
            o.warnings
                .push(format!("in:{n}: not a record, skipped: {why}"));
        } else if o.skipped == 11 {
            o.warnings.push(
                "in: more lines are not records; only their count is reported at the end".into(),
            );
        }
    };
    for (i, l) in lines.iter().enumerate() {
        let n = i + 1;
        if l.len() > cap {
            o.oversized += 1;
            skip(&mut o, n, format!("longer than max_record_bytes ({cap})"));
            continue;
        }
        let t = match std::str::from_utf8(l) {
            Ok(t) => t.trim(),
            Err(e) => {
                skip(&mut o, n, format!("not UTF-8 text: {e}"));
                continue;
            }
        };
        if t.is_empty() {
            continue;
        }
        match Rec::from_json(t) {
            Ok(_) => o.records.push(t.to_string()),
            Err(e) => skip(&mut o, n, e.to_string()),
        }
    }
    o
}

/// Block sizes that cut lines everywhere, and the cap's neighbours.
fn blocks(cap: usize) -> Vec<usize> {
    vec![
        1,
        2,
        3,
        5,
        8,
        15,
        16,
        17,
        31,
        64,
        cap - 1,
        cap,
        cap + 1,
        cap + 2,
        8192,
    ]
}

fn check(input: &[u8], cap: usize) {
    let want = model(input, cap);
    for b in blocks(cap) {
        assert_eq!(
            run(input, cap, b),
            want,
            "cap {cap}, blocks of {b}: {:?}",
            String::from_utf8_lossy(input)
        );
    }
}

/// A record line of exactly `len` bytes, its query filled with `fill` repeated (cut to fit).
fn line_of(len: usize, fill: &str) -> Vec<u8> {
    let head = br#"{"ts":1.5,"type":"dns","query":""#;
    let mut l = head.to_vec();
    while l.len() + 2 < len {
        l.extend_from_slice(fill.as_bytes());
    }
    while l.len() + 2 > len {
        l.pop();
    }
    // a character cut by the fill's end is taken off, and ASCII put in its place
    while std::str::from_utf8(&l).is_err() {
        l.pop();
    }
    while l.len() + 2 < len {
        l.push(b'a');
    }
    l.extend_from_slice(b"\"}");
    assert_eq!(l.len(), len);
    l
}

const CAP: usize = 64;

#[test]
fn lines_at_the_cap_are_read_and_one_over_it_skipped_wherever_blocks_end() {
    for end in [&b"\n"[..], b"\r\n", b""] {
        for extra in [0, 1, 2] {
            for fill in ["a", "é", "東", "🔑"] {
                let mut input = line_of(34 + extra * 7, fill);
                input.push(b'\n');
                // exactly the cap (with a carriage return: the return counts)
                let at = line_of(CAP - (end.len() > 1) as usize, fill);
                input.extend_from_slice(&at);
                input.extend_from_slice(if end.is_empty() { b"\n" } else { end });
                // one over the cap, then the cap again as the last line
                input.extend_from_slice(&line_of(CAP + 1, fill));
                input.push(b'\n');
                input.extend_from_slice(&at);
                input.extend_from_slice(end);
                let o = model(&input, CAP);
                assert_eq!((o.records.len(), o.oversized), (3, 1), "the model");
                check(&input, CAP);
                // and far over it: several blocks of the line skipped
                input.extend_from_slice(b"\n");
                input.extend_from_slice(&line_of(5 * CAP, fill));
                input.extend_from_slice(end);
                check(&input, CAP);
            }
        }
    }
}

#[test]
fn lines_that_are_not_text_are_named_wherever_blocks_end() {
    // a valid ASCII start longer than the sixteen bytes checked at a time (or none), then a byte that is
    // never UTF-8, a character cut short, a surrogate's encoding, an overlong form
    for bad in [
        &b"\xff"[..],
        b"\xe6\x9d",
        b"\xed\xa0\x80",
        b"\xc0\xaf",
        b"\xf0\x9f\x94",
    ] {
        let l = line_of(50, "a");
        let n = l.len();
        // and in the last bytes, which the sixteen-byte check leaves to its tail
        for at in [0, 1, 15, 16, 17, 23, 33, 40, n - 3, n - 2, n - 1, n] {
            let l = [&l[..at], bad, &l[at..]].concat();
            let mut input = line_of(36, "é");
            input.push(b'\n');
            input.extend_from_slice(&l);
            input.push(b'\n');
            input.extend_from_slice(&line_of(40, "🔑"));
            input.push(b'\n');
            let o = model(&input, CAP);
            assert_eq!((o.records.len(), o.skipped), (2, 1), "the model");
            assert!(o.warnings[0].starts_with("in:2: not a record, skipped: not UTF-8 text"));
            check(&input, CAP);
        }
    }
}

/// Inputs made at random of record lines (ASCII and characters of two, three and four bytes),
/// lines over the cap, lines that are not text or not records, blank lines, CRLF, with or
/// without a last line feed.
#[test]
fn random_inputs_read_as_the_model_reads_them() {
    let mut next = crate::base::xorshift(0x517c_c1b7_2722_0a0bu64);
    const FILL: &[&str] = &["a", "é", "東", "🔑", " ", "\\\\", "\\\""];
    for _ in 0..300 {
        let mut input = Vec::new();
        for _ in 0..(1 + next() % 12) {
            let len = 34 + (next() % 40) as usize;
            let mut l = line_of(len, FILL[(next() % FILL.len() as u64) as usize]);
            match next() % 10 {
                0 => l = b"not json".to_vec(),
                1 => l = b" \t ".to_vec(),
                2 => l.clear(),
                3 => {
                    let at = (next() as usize) % l.len();
                    l.insert(at, 0x80 + (next() % 0x80) as u8);
                }
                4 => l = [&b"  "[..], &l].concat(),
                _ => {}
            };
            input.extend_from_slice(&l);
            if next() % 4 == 0 {
                input.push(b'\r');
            }
            input.push(b'\n');
        }
        if next() % 2 == 0 {
            input.pop();
        }
        // a cap some lines are over
        let cap = 40 + (next() % 40) as usize;
        let want = model(&input, cap);
        let b = blocks(cap)[(next() % 15) as usize];
        assert_eq!(
            run(&input, cap, b),
            want,
            "cap {cap}, blocks of {b}: {:?}",
            String::from_utf8_lossy(&input)
        );
    }
}

#[test]
fn ascii_is_told_from_every_other_byte_at_every_place() {
    for len in 0..40 {
        let plain = vec![b'a'; len];
        assert!(ascii(&plain));
        for at in 0..len {
            for b in [0x80u8, 0xc3, 0xff] {
                let mut t = plain.clone();
                t[at] = b;
                assert!(!ascii(&t), "{len} {at} {b:x}");
            }
            let mut t = plain.clone();
            t[at] = 0x7f;
            assert!(ascii(&t));
        }
    }
}
