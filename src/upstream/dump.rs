//! `dcsensor dump PATH...`: the records of batch files, `file:` sink directories or spool
//! directories, as JSON lines, byte for byte what the JSON output prints for the same records.
//!
//! Batches are printed in (sensor, seq) order; a batch found twice (the same sensor and seq in a
//! spool and in a sink directory) is printed once. Records are decoded from MessagePack into
//! `serde_json::Value` (maps keep their order) and printed with `serde_json`: integers, strings
//! and floats come out as the JSON output writes them (a float is the same `f64` either way).

use super::batch::{read_header, SCHEMA};
use super::spool::seq_of_name;
use super::OutputError;
use serde::Deserialize;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// What [`dump`] printed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DumpSummary {
    pub batches: u64,
    pub records: u64,
    /// Batches seen twice and printed once.
    pub duplicates: u64,
}

#[derive(Deserialize)]
struct Batch {
    schema: u64,
    records: Vec<serde_json::Value>,
}

/// Prints the records of the batches in `paths` (files or directories) as JSON lines on `out`.
pub fn dump(paths: &[PathBuf], out: &mut dyn Write) -> Result<DumpSummary, OutputError> {
    let mut found: Vec<(String, u64, PathBuf)> = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| format!("{}: {e}", p.display()))?;
        if meta.is_dir() {
            let mut n = 0;
            for ent in std::fs::read_dir(p).map_err(|e| format!("{}: {e}", p.display()))? {
                let ent = ent.map_err(|e| format!("{}: {e}", p.display()))?;
                let name = ent.file_name();
                if name.to_str().and_then(seq_of_name).is_some() {
                    let (sensor, seq) = head(&ent.path())?;
                    found.push((sensor, seq, ent.path()));
                    n += 1;
                }
            }
            if n == 0 {
                tracing::warn!(dir = %p.display(), "no batch files (batch-<seq>.msgpack) in this directory");
            }
        } else {
            let (sensor, seq) = head(p)?;
            found.push((sensor, seq, p.clone()));
        }
    }
    found.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    let mut sum = DumpSummary::default();
    let mut w = BufWriter::with_capacity(256 * 1024, out);
    let mut line = Vec::with_capacity(1024);
    let mut last: Option<(&str, u64)> = None;
    for (sensor, seq, path) in &found {
        if last == Some((sensor.as_str(), *seq)) {
            sum.duplicates += 1;
            continue;
        }
        last = Some((sensor.as_str(), *seq));
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let b: Batch = rmp_serde::from_slice(&bytes)
            .map_err(|e| format!("{}: not a readable dcsensor batch: {e}", path.display()))?;
        if b.schema != SCHEMA {
            return Err(format!(
                "{}: record schema {} (this dcsensor reads schema {SCHEMA}; use the dcsensor that wrote it)",
                path.display(),
                b.schema
            )
            .into());
        }
        for r in &b.records {
            line.clear();
            serde_json::to_writer(&mut line, r)?;
            line.push(b'\n');
            w.write_all(&line)?;
        }
        sum.batches += 1;
        sum.records += b.records.len() as u64;
    }
    w.flush()?;
    Ok(sum)
}

fn head(path: &Path) -> Result<(String, u64), OutputError> {
    let mut head = Vec::with_capacity(4096);
    std::fs::File::open(path)
        .and_then(|f| f.take(4096).read_to_end(&mut head))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let h = read_header(&head).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((h.sensor, h.seq))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::{JsonLines, Output};
    use crate::record::{Body, Code, Kerberos, Record, Smb, NS};
    use crate::upstream::batch::{Batcher, Limits};
    use crate::upstream::spool::{batch_name, write_durably};
    use std::time::Instant;

    fn records() -> Vec<Record> {
        let mut v: Vec<Record> = (0..5).map(crate::upstream::batch::tests::dns).collect();
        v.push(Record::new(
            1_700_000_000_123_456_789,
            None,
            Body::Kerberos(Box::new(Kerberos {
                request: Some("AS-REQ"),
                client: Some("alice".into()),
                realm: Some("EXAMPLE.ORG".into()),
                etypes: vec![18, 17, 23],
                kdc_options: crate::record::Names::list(&["forwardable", "renewable"]),
                preauth: vec![128],
                pac_request: Some(true),
                till: Some(2_000_000_000 * NS),
                reply: Some("KRB-ERROR"),
                error: Some(Code::Num(-1765328360)),
                rtt: Some(1_234_567),
                ..Default::default()
            })),
        ));
        v.push(Record::new(
            3 * NS + 500,
            None,
            Body::Smb(Smb {
                action: "open",
                status: Some(Code::Num(0xc000_0022)),
                ..Default::default()
            }),
        ));
        v
    }

    fn json_lines(recs: &[Record]) -> Vec<u8> {
        let mut buf = Vec::new();
        {
            let mut j = JsonLines::new(&mut buf);
            for r in recs {
                j.record(r).unwrap();
            }
            j.finish().unwrap();
        }
        buf
    }

    #[test]
    fn dump_prints_what_the_json_output_prints() {
        let recs = records();
        let d = tempfile::tempdir().unwrap();
        let mut b = Batcher::new(
            Limits {
                max_records: 3,
                ..Default::default()
            },
            "s",
            "h",
            1,
        );
        for r in &recs {
            b.push(r, Instant::now()).unwrap();
        }
        b.flush();
        // Written in reverse: dump orders by seq, not by directory order.
        let mut closed: Vec<_> = std::iter::from_fn(|| b.pop_ready()).collect();
        assert_eq!(closed.len(), 3);
        closed.reverse();
        for c in &closed {
            write_durably(d.path(), &batch_name(c.seq), &c.bytes).unwrap();
        }
        let mut out = Vec::new();
        let sum = dump(&[d.path().to_owned()], &mut out).unwrap();
        let want = json_lines(&recs);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            String::from_utf8(want.clone()).unwrap()
        );
        assert_eq!(
            sum,
            DumpSummary {
                batches: 3,
                records: 7,
                duplicates: 0
            }
        );
        let text = String::from_utf8(want).unwrap();
        assert!(
            text.contains(r#""ts":1700000000.123456,"type":"kerberos""#),
            "{text}"
        );
        assert!(text.contains(r#""rtt":0.001234}"#), "{text}");
        assert!(text.contains(r#""ts":3.0,"type":"smb""#), "{text}");

        // The same batch given twice (a file and its directory) is printed once.
        let mut out2 = Vec::new();
        let one = d.path().join(batch_name(2));
        let sum = dump(&[one, d.path().to_owned()], &mut out2).unwrap();
        assert_eq!(sum.duplicates, 1);
        assert_eq!(out2, json_lines(&recs));
    }

    #[test]
    fn dump_says_what_is_wrong_with_a_file() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x.msgpack");
        std::fs::write(&p, b"{\"json\": 1}").unwrap();
        let e = dump(&[p], &mut Vec::new()).unwrap_err().to_string();
        assert!(e.contains("x.msgpack: not a dcsensor batch"), "{e}");
        let missing = d.path().join("nope");
        let e = dump(&[missing], &mut Vec::new()).unwrap_err().to_string();
        assert!(e.contains("nope: No such file"), "{e}");
    }
}
