//! The batcher: records into MessagePack batches, closed by count, size or age, whichever comes
//! first, and the batch format itself (encoding the header, reading it back).
//!
//! A batch is one MessagePack map with named fields, in this order: `schema`, `sensor`, `host`,
//! `seq`, `records` (see `../shared/RECORDS.md`, "Batches upstream"). Each record is encoded once,
//! when it arrives, exactly as `rmp_serde::to_vec_named` encodes a
//! [`Record`](crate::record::Record); closing a batch
//! writes the header and appends the encoded records, so the bytes equal `to_vec_named` of the
//! whole batch (a unit test checks that).

use serde::Serialize;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// The version of the record schema carried in every batch.
pub const SCHEMA: u64 = 1;

/// The longest sensor id or host name a batch header may carry.
pub const MAX_NAME: usize = 255;

/// When a batch is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Records per batch at most.
    pub max_records: usize,
    /// Encoded size of a batch at most (header included). A single record larger than this makes
    /// a batch of its own.
    pub max_bytes: usize,
    /// Age of the oldest record in the open batch at most.
    pub max_age: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_records: 1000,
            max_bytes: 1 << 20,
            max_age: Duration::from_secs(1),
        }
    }
}

/// A closed batch: its sequence number, how many records it holds and its encoded bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closed {
    pub seq: u64,
    pub records: u64,
    pub bytes: Vec<u8>,
}

/// Encodes records as they come and closes batches by count, size or age.
pub struct Batcher {
    limits: Limits,
    sensor: String,
    host: String,
    next_seq: u64,
    /// The encoded records of the open batch, back to back.
    body: Vec<u8>,
    scratch: Vec<u8>,
    count: usize,
    opened: Option<Instant>,
    /// Upper bound of the header's size (the seq and the array length at their widest).
    header_max: usize,
    ready: VecDeque<Closed>,
}

impl Batcher {
    /// A batcher for `sensor` on `host` whose first batch gets `next_seq`.
    pub fn new(limits: Limits, sensor: &str, host: &str, next_seq: u64) -> Self {
        let header_max = 1 // map of 5
            + 7 + 1 // "schema" 1
            + 7 + 5 + sensor.len()
            + 5 + 5 + host.len()
            + 4 + 9 // "seq" u64
            + 8 + 5; // "records" array32
        Batcher {
            limits,
            sensor: sensor.to_owned(),
            host: host.to_owned(),
            next_seq,
            body: Vec::with_capacity(64 * 1024),
            scratch: Vec::with_capacity(1024),
            count: 0,
            opened: None,
            header_max,
            ready: VecDeque::new(),
        }
    }

    /// The seq the next batch will carry.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Records in the open batch.
    pub fn open_records(&self) -> usize {
        self.count
    }

    /// Adds one record; batches it closes are queued for [`Batcher::pop_ready`].
    pub fn push<T: Serialize + ?Sized>(
        &mut self,
        rec: &T,
        now: Instant,
    ) -> Result<(), rmp_serde::encode::Error> {
        // Encoded straight onto the open batch; moved to the next one only when it does not fit.
        let at = self.body.len();
        if let Err(e) =
            rec.serialize(&mut rmp_serde::Serializer::new(&mut self.body).with_struct_map())
        {
            self.body.truncate(at);
            return Err(e);
        }
        if self.count > 0 && self.header_max + self.body.len() > self.limits.max_bytes {
            self.scratch.clear();
            self.scratch.extend_from_slice(&self.body[at..]);
            self.body.truncate(at);
            self.close();
            self.body.extend_from_slice(&self.scratch);
        }
        if self.count == 0 {
            self.opened = Some(now);
        }
        self.count += 1;
        if self.count >= self.limits.max_records
            || self.header_max + self.body.len() >= self.limits.max_bytes
            || self.too_old(now)
        {
            self.close();
        }
        Ok(())
    }

    /// Closes the open batch if it is older than the age limit (call about once a second).
    pub fn tick(&mut self, now: Instant) {
        if self.too_old(now) {
            self.close();
        }
    }

    /// Closes the open batch whatever its size (the end of a run). Nothing happens when empty.
    pub fn flush(&mut self) {
        self.close();
    }

    /// The oldest closed batch not yet taken.
    pub fn pop_ready(&mut self) -> Option<Closed> {
        self.ready.pop_front()
    }

    fn too_old(&self, now: Instant) -> bool {
        self.count > 0
            && self
                .opened
                .is_some_and(|t| now.saturating_duration_since(t) >= self.limits.max_age)
    }

    fn close(&mut self) {
        if self.count == 0 {
            return;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let mut bytes = Vec::with_capacity(self.header_max + self.body.len());
        write_header(&mut bytes, &self.sensor, &self.host, seq, self.count as u32);
        bytes.extend_from_slice(&self.body);
        self.ready.push_back(Closed {
            seq,
            records: self.count as u64,
            bytes,
        });
        self.body.clear();
        self.count = 0;
        self.opened = None;
    }
}

/// Writes a batch header (everything before the records) for `records` records.
fn write_header(w: &mut Vec<u8>, sensor: &str, host: &str, seq: u64, records: u32) {
    use rmp::encode::{write_array_len, write_map_len, write_str, write_uint};
    // Writing into a Vec cannot fail.
    let _ = write_map_len(w, 5);
    let _ = write_str(w, "schema");
    let _ = write_uint(w, SCHEMA);
    let _ = write_str(w, "sensor");
    let _ = write_str(w, sensor);
    let _ = write_str(w, "host");
    let _ = write_str(w, host);
    let _ = write_str(w, "seq");
    let _ = write_uint(w, seq);
    let _ = write_str(w, "records");
    let _ = write_array_len(w, records);
}

/// What a batch's header says, read without decoding its records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub schema: u64,
    pub sensor: String,
    pub host: String,
    pub seq: u64,
    /// Number of records.
    pub records: u64,
}

/// Reads the header of a batch from its first bytes (4 KiB are plenty: names are at most
/// [`MAX_NAME`] bytes). Fields may come in any order as long as `records` is last, as dcsensor
/// writes them; anything else is an error that says what was found.
pub fn read_header(mut b: &[u8]) -> Result<Header, String> {
    use rmp::decode::{read_array_len, read_int, read_map_len, read_str_len};
    let rd = &mut b;
    let n = read_map_len(rd)
        .map_err(|e| format!("not a dcsensor batch (no MessagePack map at the start: {e})"))?;
    fn str_of<'a>(rd: &mut &'a [u8]) -> Result<&'a str, String> {
        let len = read_str_len(rd).map_err(|e| format!("expected a string: {e}"))? as usize;
        let s = rd.get(..len).ok_or("string cut short")?;
        *rd = &rd[len..];
        std::str::from_utf8(s).map_err(|_| "string not UTF-8".to_string())
    }
    let (mut schema, mut sensor, mut host, mut seq) = (None, None, None, None);
    for _ in 0..n {
        let key = str_of(rd)?;
        match key {
            "schema" => schema = Some(read_int::<u64, _>(rd).map_err(|e| format!("schema: {e}"))?),
            "sensor" => sensor = Some(str_of(rd)?.to_owned()),
            "host" => host = Some(str_of(rd)?.to_owned()),
            "seq" => seq = Some(read_int::<u64, _>(rd).map_err(|e| format!("seq: {e}"))?),
            "records" => {
                let records = read_array_len(rd).map_err(|e| format!("records: {e}"))? as u64;
                return Ok(Header {
                    schema: schema.ok_or("no schema before the records")?,
                    sensor: sensor.ok_or("no sensor before the records")?,
                    host: host.unwrap_or_default(),
                    seq: seq.ok_or("no seq before the records")?,
                    records,
                });
            }
            other => return Err(format!("unexpected field `{other}` in the batch header")),
        }
    }
    Err("no records in the batch".into())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::record::{Body, Code, Dns, Record, Smb, Transport, NS};

    pub(crate) fn dns(i: u64) -> Record {
        let flow = crate::proto::FlowInfo {
            client: "192.0.2.7".parse().unwrap(),
            client_port: 50000 + (i % 1000) as u16,
            server: "192.0.2.1".parse().unwrap(),
            server_port: 53,
            transport: Transport::Udp,
            tunnel: Default::default(),
        };
        Record::new(
            1_700_000_000 * NS + i * 1_000_123,
            Some(&flow),
            Body::Dns(Dns {
                id: i as u16,
                opcode: Code::Name("QUERY"),
                query: Some(format!("host{i}.example.org")),
                qtype: Some(Code::Name("A")),
                qclass: Some(Code::Name("IN")),
                rcode: Some(Code::Name("NOERROR")),
                flags: crate::record::Names::list(&["rd", "ra"]),
                answers: vec![format!("198.51.100.{}", i % 250)],
                ttls: vec![300],
                answer_count: None,
                updates: vec![],
                rtt: Some(123_456),
            }),
        )
    }

    #[derive(Serialize)]
    struct Whole<'a> {
        schema: u64,
        sensor: &'a str,
        host: &'a str,
        seq: u64,
        records: &'a [Record],
    }

    fn drain(b: &mut Batcher) -> Vec<Closed> {
        std::iter::from_fn(|| b.pop_ready()).collect()
    }

    #[test]
    fn closes_by_count_and_bytes_equal_to_vec_named_of_the_whole_batch() {
        let t = Instant::now();
        let limits = Limits {
            max_records: 3,
            ..Default::default()
        };
        let mut b = Batcher::new(limits, "s1", "h1.example", 41);
        let recs: Vec<Record> = (0..7).map(dns).collect();
        for r in &recs {
            b.push(r, t).unwrap();
        }
        let out = drain(&mut b);
        assert_eq!(
            out.iter().map(|c| (c.seq, c.records)).collect::<Vec<_>>(),
            vec![(41, 3), (42, 3)]
        );
        assert_eq!(b.open_records(), 1);
        let want = rmp_serde::to_vec_named(&Whole {
            schema: 1,
            sensor: "s1",
            host: "h1.example",
            seq: 42,
            records: &recs[3..6],
        })
        .unwrap();
        assert_eq!(out[1].bytes, want);
        b.flush();
        let last = drain(&mut b);
        assert_eq!((last[0].seq, last[0].records), (43, 1));
        assert_eq!(b.next_seq(), 44);
        let h = read_header(&last[0].bytes).unwrap();
        assert_eq!(
            h,
            Header {
                schema: 1,
                sensor: "s1".into(),
                host: "h1.example".into(),
                seq: 43,
                records: 1
            }
        );
        // Nothing open: flush closes nothing.
        b.flush();
        assert!(b.pop_ready().is_none());
    }

    #[test]
    fn closes_by_size_before_the_limit_is_crossed() {
        let t = Instant::now();
        let one = rmp_serde::to_vec_named(&dns(1)).unwrap().len();
        // Room for 4 records and the header, not 5.
        let limits = Limits {
            max_records: 1000,
            max_bytes: 100 + 4 * one + one / 2,
            ..Default::default()
        };
        let mut b = Batcher::new(limits, "s", "h", 1);
        for i in 0..10 {
            b.push(&dns(i), t).unwrap();
        }
        let out = drain(&mut b);
        assert_eq!(
            out.iter().map(|c| c.records).collect::<Vec<_>>(),
            vec![4, 4]
        );
        for c in &out {
            assert!(
                c.bytes.len() <= limits.max_bytes,
                "{} > {}",
                c.bytes.len(),
                limits.max_bytes
            );
        }
        // A record larger than the limit makes a batch of its own.
        let big = Record::new(
            NS,
            None,
            Body::Smb(Smb {
                action: "open",
                path: Some("x".repeat(2 * limits.max_bytes)),
                ..Default::default()
            }),
        );
        b.push(&big, t).unwrap();
        let out = drain(&mut b);
        assert_eq!(
            out.iter().map(|c| (c.seq, c.records)).collect::<Vec<_>>(),
            vec![(3, 2), (4, 1)]
        );
        assert_eq!(b.open_records(), 0);
    }

    #[test]
    fn closes_by_age_on_tick_or_push() {
        let t = Instant::now();
        let limits = Limits {
            max_age: Duration::from_secs(1),
            ..Default::default()
        };
        let mut b = Batcher::new(limits, "s", "h", 1);
        b.push(&dns(0), t).unwrap();
        b.tick(t + Duration::from_millis(999));
        assert!(b.pop_ready().is_none());
        b.push(&dns(1), t + Duration::from_millis(500)).unwrap();
        b.tick(t + Duration::from_millis(1000));
        let c = b.pop_ready().unwrap();
        assert_eq!((c.seq, c.records), (1, 2));
        // The age counts from the batch's first record; a push past the age closes at once.
        b.push(&dns(2), t + Duration::from_secs(2)).unwrap();
        b.push(&dns(3), t + Duration::from_secs(3)).unwrap();
        let c = b.pop_ready().unwrap();
        assert_eq!((c.seq, c.records), (2, 2));
        assert!(b.pop_ready().is_none());
    }

    #[test]
    fn read_header_refuses_what_is_not_a_batch() {
        assert!(read_header(b"").is_err());
        assert!(read_header(&rmp_serde::to_vec_named(&dns(1)).unwrap())
            .unwrap_err()
            .contains("unexpected field"));
        let mut v = Vec::new();
        write_header(&mut v, "s", "h", 9, 0);
        assert_eq!(
            read_header(&v[..v.len() - 3]).unwrap_err(),
            "string cut short"
        );
    }
}
