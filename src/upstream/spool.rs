//! The spool: closed batches on disk until every sink has acknowledged them.
//!
//! A batch is written to a temporary name, fsynced, renamed to `batch-<seq>.msgpack` (the seq
//! zero-padded to 20 digits, so names sort as seqs do) and the directory fsynced, before any sink
//! sees it. The next seq is kept in the file `seq` the same way, so seqs keep increasing across
//! restarts even when the spool was empty. A file is removed only when every sink acknowledged it.
//! On start, the batches found are sent first, in seq order.
//!
//! The spool has a size limit. When a new batch does not fit, the oldest batches that no sink is
//! sending at that moment are dropped: counted (batches and records), logged with `error!`. The
//! newest batch is always kept, so a limit smaller than one batch still delivers the latest.
//!
//! One process owns a spool at a time (an exclusive `flock` on the file `lock`).
//!
//! Threads: the output thread writes ([`Spool::put`]); the sinks, on the upstream thread, claim,
//! acknowledge and release. All share one mutex, held only for map updates, never during I/O.

use super::batch::{read_header, Closed};
use super::Metrics;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;

/// The file name of the batch with `seq` (in the spool and in `file:` sink directories).
pub fn batch_name(seq: u64) -> String {
    format!("batch-{seq:020}.msgpack")
}

/// The seq of a batch file name made by [`batch_name`].
pub fn seq_of_name(name: &str) -> Option<u64> {
    let digits = name.strip_prefix("batch-")?.strip_suffix(".msgpack")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Writes `bytes` to `dir/name` durably: a temporary file, fsync, rename. The caller fsyncs the
/// directory (once for several files).
pub fn write_durably(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut f = File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    fs::rename(&tmp, dir.join(name))
}

/// Fsyncs a directory, so that renames and new files in it survive a crash.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    size: u64,
    records: u64,
    /// Sinks (one bit each) that have not acknowledged it yet.
    pending: u32,
    /// Sinks sending it now.
    in_flight: u32,
}

#[derive(Debug, Default)]
struct State {
    entries: BTreeMap<u64, Entry>,
    bytes: u64,
    /// Set by `finish` or drop: sinks stop claiming.
    closed: bool,
}

/// Spool directories owned by live [`Spool`]s of this process (canonical paths).
static HELD: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());

fn held() -> MutexGuard<'static, BTreeSet<PathBuf>> {
    HELD.lock().unwrap_or_else(|p| p.into_inner())
}

/// Whether a spool of this process owns `dir` now.
pub fn held_here(dir: &Path) -> bool {
    fs::canonicalize(dir).is_ok_and(|d| held().contains(&d))
}

/// The spool directory shared by the output thread (writer) and the sinks.
pub struct Spool {
    dir: PathBuf,
    limit: u64,
    all_sinks: u32,
    state: Mutex<State>,
    changed: Condvar,
    metrics: Arc<Metrics>,
    _lock: File,
    canonical: PathBuf,
}

impl Drop for Spool {
    fn drop(&mut self) {
        held().remove(&self.canonical);
    }
}

/// What opening a spool found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recovered {
    /// Batches found waiting.
    pub batches: u64,
    pub records: u64,
    /// The seq the next batch gets.
    pub next_seq: u64,
}

impl Spool {
    /// Opens (creating) the spool in `dir` for `sinks` sinks, at most `limit` bytes of batches.
    pub fn open(
        dir: &Path,
        limit: u64,
        sinks: usize,
        metrics: Arc<Metrics>,
    ) -> Result<(Spool, Recovered), String> {
        if sinks == 0 || sinks > 32 {
            return Err(format!(
                "{sinks} sinks: between 1 and 32 sinks may share a spool"
            ));
        }
        let what = |e: io::Error, doing: &str| {
            format!(
                "spool {}: {doing}: {e} (choose a writable directory for the spool)",
                dir.display()
            )
        };
        fs::create_dir_all(dir).map_err(|e| what(e, "cannot create it"))?;
        let canonical = fs::canonicalize(dir).map_err(|e| what(e, "cannot resolve it"))?;
        if held().contains(&canonical) {
            return Err(format!(
                "spool {} is in use by another output of this dcsensor; give each its own spool directory",
                dir.display()
            ));
        }
        let lock = lock_dir(dir)?;
        let mut next_seq = read_seq_file(dir).map_err(|e| what(e, "cannot read its seq file"))?;
        let mut st = State::default();
        for ent in fs::read_dir(dir).map_err(|e| what(e, "cannot list it"))? {
            let ent = ent.map_err(|e| what(e, "cannot list it"))?;
            let name = ent.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.starts_with('.') && name.ends_with(".tmp") {
                // A write cut short by a crash: never renamed, so never announced to a sink.
                let _ = fs::remove_file(ent.path());
                continue;
            }
            let Some(seq) = seq_of_name(name) else {
                continue;
            };
            match peek(&ent.path()) {
                Ok((size, records)) => {
                    st.entries.insert(
                        seq,
                        Entry {
                            size,
                            records,
                            pending: all_bits(sinks),
                            in_flight: 0,
                        },
                    );
                    st.bytes += size;
                    next_seq = next_seq.max(seq + 1);
                }
                Err(e) => {
                    let bad = ent.path().with_extension("bad");
                    tracing::error!(file = %ent.path().display(), error = %e, moved_to = %bad.display(),
                        "unreadable batch in the spool, set aside");
                    let _ = fs::rename(ent.path(), &bad);
                    metrics.errors.fetch_add(1, Relaxed);
                }
            }
        }
        let rec = Recovered {
            batches: st.entries.len() as u64,
            records: st.entries.values().map(|e| e.records).sum(),
            next_seq: next_seq.max(1),
        };
        metrics
            .backlog_batches
            .store(st.entries.len() as u64, Relaxed);
        metrics.backlog_bytes.store(st.bytes, Relaxed);
        let spool = Spool {
            dir: dir.to_owned(),
            limit,
            all_sinks: all_bits(sinks),
            state: Mutex::new(st),
            changed: Condvar::new(),
            metrics,
            _lock: lock,
            canonical: canonical.clone(),
        };
        held().insert(canonical);
        Ok((spool, rec))
    }

    /// The spool directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes a closed batch (after dropping the oldest batches if it does not fit) and makes it
    /// visible to the sinks. Returns the `(batches, records)` dropped, including this batch if it
    /// could not be written.
    pub fn put(&self, b: &Closed) -> (u64, u64) {
        let size = b.bytes.len() as u64;
        let mut dropped = Vec::new();
        {
            let mut st = self.lock();
            let mut over = (st.bytes + size).saturating_sub(self.limit);
            if over > 0 {
                for (&seq, e) in st.entries.iter() {
                    if over == 0 {
                        break;
                    }
                    if e.in_flight == 0 {
                        dropped.push((seq, *e));
                        over = over.saturating_sub(e.size);
                    }
                }
                for (seq, e) in &dropped {
                    st.entries.remove(seq);
                    st.bytes -= e.size;
                }
            }
        }
        let (mut nb, mut nr) = (0u64, 0u64);
        for (seq, e) in &dropped {
            let _ = fs::remove_file(self.dir.join(batch_name(*seq)));
            nb += 1;
            nr += e.records;
        }
        if nb > 0 {
            tracing::error!(
                spool = %self.dir.display(), batches = nb, records = nr,
                first_seq = dropped[0].0, last_seq = dropped[dropped.len() - 1].0, limit_bytes = self.limit,
                "UPSTREAM DATA LOST: the spool is full (the upstream is down or too slow), the oldest batches were dropped"
            );
        }
        if let Err(e) = self.write(b) {
            tracing::error!(spool = %self.dir.display(), seq = b.seq, records = b.records, error = %e,
                "UPSTREAM DATA LOST: cannot write the batch to the spool (disk full? permissions?)");
            self.metrics.errors.fetch_add(1, Relaxed);
            nb += 1;
            nr += b.records;
        } else {
            let mut st = self.lock();
            st.entries.insert(
                b.seq,
                Entry {
                    size,
                    records: b.records,
                    pending: self.all_sinks,
                    in_flight: 0,
                },
            );
            st.bytes += size;
            self.metrics.batches_spooled.fetch_add(1, Relaxed);
            self.metrics.records_spooled.fetch_add(b.records, Relaxed);
            self.publish_backlog(&st);
        }
        if nb > 0 {
            self.metrics.batches_dropped.fetch_add(nb, Relaxed);
            self.metrics.records_dropped.fetch_add(nr, Relaxed);
            let st = self.lock();
            self.publish_backlog(&st);
        }
        (nb, nr)
    }

    fn write(&self, b: &Closed) -> io::Result<()> {
        write_durably(&self.dir, "seq", format!("{}\n", b.seq + 1).as_bytes())?;
        write_durably(&self.dir, &batch_name(b.seq), &b.bytes)?;
        sync_dir(&self.dir)
    }

    fn publish_backlog(&self, st: &State) {
        self.metrics
            .backlog_batches
            .store(st.entries.len() as u64, Relaxed);
        self.metrics.backlog_bytes.store(st.bytes, Relaxed);
    }

    /// The first batch after `after` that sink `bit` has not acknowledged, marked as being sent;
    /// None when there is none (or the spool is closing).
    pub fn claim(&self, bit: u32, after: u64) -> Option<(u64, PathBuf)> {
        let mut st = self.lock();
        if st.closed {
            return None;
        }
        let (&seq, e) = st
            .entries
            .range_mut(after.saturating_add(1)..)
            .find(|(_, e)| e.pending & bit != 0)?;
        e.in_flight |= bit;
        Some((seq, self.dir.join(batch_name(seq))))
    }

    /// Sink `bit` gives a claimed batch back without acknowledging it.
    pub fn release(&self, seq: u64, bit: u32) {
        let mut st = self.lock();
        if let Some(e) = st.entries.get_mut(&seq) {
            e.in_flight &= !bit;
        }
    }

    /// Sink `bit` acknowledged `seq`; the file goes when every sink has.
    pub fn ack(&self, seq: u64, bit: u32) {
        let gone = {
            let mut st = self.lock();
            let gone = match st.entries.get_mut(&seq) {
                Some(e) => {
                    e.pending &= !bit;
                    e.in_flight &= !bit;
                    (e.pending == 0).then_some(*e)
                }
                None => None,
            };
            if let Some(e) = gone {
                st.entries.remove(&seq);
                st.bytes -= e.size;
                self.publish_backlog(&st);
            }
            gone
        };
        self.metrics.set_last_ack(Instant::now());
        if let Some(e) = gone {
            let _ = fs::remove_file(self.dir.join(batch_name(seq)));
            self.metrics.batches_acked.fetch_add(1, Relaxed);
            self.metrics.records_acked.fetch_add(e.records, Relaxed);
        }
        self.changed.notify_all();
    }

    /// Sink `bit` cannot ever deliver `seq` (refused for good): dropped for that sink, counted.
    pub fn give_up(&self, seq: u64, bit: u32) {
        let records = self.lock().entries.get(&seq).map_or(0, |e| e.records);
        self.metrics.batches_dropped.fetch_add(1, Relaxed);
        self.metrics.records_dropped.fetch_add(records, Relaxed);
        // The other sinks still get it; for this one it counts as done.
        let mut st = self.lock();
        if let Some(e) = st.entries.get_mut(&seq) {
            e.pending &= !bit;
            e.in_flight &= !bit;
            if e.pending == 0 {
                let e = *e;
                st.entries.remove(&seq);
                st.bytes -= e.size;
                let _ = fs::remove_file(self.dir.join(batch_name(seq)));
                self.publish_backlog(&st);
            }
        }
        drop(st);
        self.changed.notify_all();
    }

    /// Batches waiting for an acknowledgement.
    pub fn backlog(&self) -> u64 {
        self.lock().entries.len() as u64
    }

    /// Waits until every batch is acknowledged or `deadline` passes; returns the batches left.
    pub fn wait_empty(&self, deadline: Instant) -> u64 {
        let mut st = self.lock();
        loop {
            let now = Instant::now();
            if st.entries.is_empty() || now >= deadline {
                return st.entries.len() as u64;
            }
            st = match self.changed.wait_timeout(st, deadline - now) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
    }

    /// Stops handing out batches (the sinks are being stopped).
    pub fn close(&self) {
        self.lock().closed = true;
        self.changed.notify_all();
    }
}

fn all_bits(sinks: usize) -> u32 {
    if sinks >= 32 {
        u32::MAX
    } else {
        (1u32 << sinks) - 1
    }
}

/// Size and record count of a batch file, from its header.
fn peek(path: &Path) -> Result<(u64, u64), String> {
    let f = File::open(path).map_err(|e| e.to_string())?;
    let size = f.metadata().map_err(|e| e.to_string())?.len();
    let mut head = Vec::with_capacity(4096);
    f.take(4096)
        .read_to_end(&mut head)
        .map_err(|e| e.to_string())?;
    let h = read_header(&head)?;
    Ok((size, h.records))
}

fn read_seq_file(dir: &Path) -> io::Result<u64> {
    match fs::read_to_string(dir.join("seq")) {
        Ok(s) => s.trim().parse().map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("`seq` holds {:?}, not a number", s.trim()),
            )
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(1),
        Err(e) => Err(e),
    }
}

/// Takes the spool's exclusive lock, or says which process holds it.
fn lock_dir(dir: &Path) -> Result<File, String> {
    use std::os::unix::io::AsRawFd;
    let path = dir.join("lock");
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| format!("spool {}: cannot open its lock file: {e}", dir.display()))?;
    // SAFETY: flock on a descriptor we own; no memory is shared with the call.
    let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if r != 0 {
        let mut who = String::new();
        let _ = f.read_to_string(&mut who);
        return Err(format!(
            "spool {} is in use by another dcsensor (pid {}); give each sensor its own spool directory",
            dir.display(),
            who.trim()
        ));
    }
    let _ = f.set_len(0);
    let _ = writeln!(f, "{}", std::process::id());
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::batch::{Batcher, Limits};

    fn batch(seq: u64, n: u64) -> Closed {
        let mut b = Batcher::new(
            Limits {
                max_records: n as usize,
                ..Default::default()
            },
            "s",
            "h",
            seq,
        );
        for i in 0..n {
            b.push(&crate::upstream::batch::tests::dns(i), Instant::now())
                .unwrap();
        }
        b.pop_ready().unwrap()
    }

    fn files(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn names_sort_as_seqs() {
        assert_eq!(batch_name(42), "batch-00000000000000000042.msgpack");
        assert_eq!(seq_of_name(&batch_name(u64::MAX)), Some(u64::MAX));
        assert_eq!(seq_of_name("batch-.msgpack"), None);
        assert_eq!(seq_of_name("batch-12.msgpack.bad"), None);
        assert_eq!(seq_of_name("batch-1x.msgpack"), None);
    }

    #[test]
    fn write_ack_remove_and_seq_survives_reopen() {
        let d = tempfile::tempdir().unwrap();
        let m = Arc::new(Metrics::default());
        let (sp, rec) = Spool::open(d.path(), 1 << 30, 2, m.clone()).unwrap();
        assert_eq!(
            rec,
            Recovered {
                batches: 0,
                records: 0,
                next_seq: 1
            }
        );
        assert_eq!(sp.put(&batch(1, 3)), (0, 0));
        assert_eq!(sp.put(&batch(2, 2)), (0, 0));
        assert_eq!(
            files(d.path()),
            vec![batch_name(1), batch_name(2), "lock".into(), "seq".into()]
        );
        assert_eq!(fs::read_to_string(d.path().join("seq")).unwrap(), "3\n");
        // The lock keeps a second opener out while the first is alive.
        let err = Spool::open(d.path(), 1 << 30, 2, m.clone()).err().unwrap();
        assert!(
            err.contains("is in use by another output of this dcsensor"),
            "{err}"
        );

        // Sink 0 takes both in order; sink 1 too. A file goes when both acknowledged it.
        assert_eq!(sp.claim(1, 0).unwrap().0, 1);
        assert_eq!(sp.claim(1, 1).unwrap().0, 2);
        assert_eq!(sp.claim(1, 2), None);
        sp.ack(1, 1);
        assert!(d.path().join(batch_name(1)).exists());
        assert_eq!(sp.claim(2, 0).unwrap().0, 1);
        sp.ack(1, 2);
        assert!(!d.path().join(batch_name(1)).exists());
        assert_eq!(sp.backlog(), 1);
        assert_eq!(m.batches_acked.load(Relaxed), 1);
        assert_eq!(m.records_acked.load(Relaxed), 3);
        assert!(m.stats().last_ack_age.is_some());
        drop(sp);

        // Reopen: batch 2 is still owed to both sinks; seq continues at 3.
        let (sp, rec) = Spool::open(d.path(), 1 << 30, 2, m.clone()).unwrap();
        assert_eq!(
            rec,
            Recovered {
                batches: 1,
                records: 2,
                next_seq: 3
            }
        );
        assert_eq!(sp.claim(1, 0).unwrap().0, 2);
        sp.ack(2, 1);
        sp.ack(2, 2);
        assert_eq!(sp.backlog(), 0);
        drop(sp);
        // Empty spool: the seq file alone carries the seq.
        let (_sp, rec) = Spool::open(d.path(), 1 << 30, 1, m).unwrap();
        assert_eq!(
            rec,
            Recovered {
                batches: 0,
                records: 0,
                next_seq: 3
            }
        );
    }

    #[test]
    fn reopen_recovers_in_seq_order_and_cleans_temporaries() {
        let d = tempfile::tempdir().unwrap();
        let m = Arc::new(Metrics::default());
        {
            let (sp, _) = Spool::open(d.path(), 1 << 30, 1, m.clone()).unwrap();
            for s in [7, 8, 9, 10, 11] {
                sp.put(&batch(s, 1));
            }
        }
        fs::write(
            d.path().join(".batch-00000000000000000012.msgpack.tmp"),
            b"half",
        )
        .unwrap();
        fs::write(d.path().join(batch_name(5)), b"garbage").unwrap();
        let (sp, rec) = Spool::open(d.path(), 1 << 30, 1, m.clone()).unwrap();
        assert_eq!(
            rec,
            Recovered {
                batches: 5,
                records: 5,
                next_seq: 12
            }
        );
        let mut got = vec![];
        let mut after = 0;
        while let Some((s, p)) = sp.claim(1, after) {
            assert!(p.exists());
            got.push(s);
            after = s;
        }
        assert_eq!(got, vec![7, 8, 9, 10, 11]);
        let names = files(d.path());
        assert!(
            names.contains(&"batch-00000000000000000005.bad".to_string()),
            "{names:?}"
        );
        assert!(!names.iter().any(|n| n.ends_with(".tmp")), "{names:?}");
        assert_eq!(m.errors.load(Relaxed), 1);
    }

    #[test]
    fn full_spool_drops_the_oldest_not_in_flight_and_counts() {
        let d = tempfile::tempdir().unwrap();
        let m = Arc::new(Metrics::default());
        let size = batch(1, 4).bytes.len() as u64;
        // Room for three batches of 4 records.
        let (sp, _) = Spool::open(d.path(), 3 * size + size / 2, 1, m.clone()).unwrap();
        for s in 1..=3 {
            assert_eq!(sp.put(&batch(s, 4)), (0, 0));
        }
        // Batch 1 is being sent: it stays; 2 goes.
        assert_eq!(sp.claim(1, 0).unwrap().0, 1);
        assert_eq!(sp.put(&batch(4, 4)), (1, 4));
        assert_eq!(sp.put(&batch(5, 4)), (1, 4));
        let mut left: Vec<u64> = vec![];
        for n in files(d.path()) {
            if let Some(s) = seq_of_name(&n) {
                left.push(s);
            }
        }
        assert_eq!(left, vec![1, 4, 5]);
        assert_eq!(m.batches_dropped.load(Relaxed), 2);
        assert_eq!(m.records_dropped.load(Relaxed), 8);
        assert_eq!(m.backlog_batches.load(Relaxed), 3);
        // A batch larger than the whole limit is still kept, alone with the one in flight.
        assert_eq!(sp.put(&batch(6, 40)), (2, 8));
        assert_eq!(sp.backlog(), 2);
        assert_eq!(sp.claim(1, 1).unwrap().0, 6);
    }
}
