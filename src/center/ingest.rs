//! Ingest: batches from the sensors' batch directories or from NATS JetStream, applied to the
//! store in groups. For each group: skip the batches whose `(sensor, seq)` was applied already,
//! roll up the rest, feed them to the detection engine in order, commit everything in one
//! transaction, and only then acknowledge (remove the file if asked, ack the JetStream message).
//!
//! After a restart the engine is fed the recent batches again (kept in the store for
//! `replay_hours`), in the order they were first applied, so its state is what it was: killing
//! the center loses nothing (unacknowledged batches come again) and doubles nothing (applied
//! ones are skipped, alerts keep their ids).

use super::engine::{alert_write, Detector};
use super::rollup::{Activity, Rollup};
use super::store::admin::Exclusion;
use super::store::write::{BatchMark, Effects};
use super::store::{Store, StoreError};
use super::tickets::KvTickets;
use super::CenterStats;
use crate::upstream::batch::{read_header, Header, SCHEMA};
use crate::upstream::spool::seq_of_name;
use serde::Deserialize;
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// How a batch is acknowledged once its effects are committed.
pub enum Ack {
    /// A batch file: removed if `remove`, else only remembered as done.
    File { path: PathBuf, remove: bool },
    /// A JetStream message.
    Nats(Box<async_nats::jetstream::Message>),
    /// A JetStream message that cannot be applied: terminated (never redelivered; it stays in
    /// the stream for a person to look at).
    NatsTerm(Box<async_nats::jetstream::Message>),
}

/// One batch as it came.
pub struct Incoming {
    pub bytes: Vec<u8>,
    pub ack: Ack,
    /// Its place in the JetStream stream (None for a batch file).
    pub stream_seq: Option<u64>,
    /// Delivered before, to a center that stopped without acknowledging it.
    pub redelivered: bool,
}

#[derive(Deserialize)]
struct Records {
    records: Vec<Activity>,
}

#[derive(Deserialize)]
struct RawRecords {
    records: Vec<serde_json::Value>,
}

/// Applies batches: the rollup, the engine and the store together.
pub struct Processor {
    store: Store,
    engine: Box<dyn Detector>,
    rollup: Rollup,
    exclusions: Vec<Exclusion>,
    stats: Arc<CenterStats>,
    replay_hours: f64,
    tickets: Option<Arc<KvTickets>>,
}

/// What a center shares with others (several centers on one store).
#[derive(Default)]
pub struct Sharing {
    /// The NATS subject filters of this center's share of the sensors (empty: every sensor).
    /// After a restart only their batches are fed to the engine again.
    pub share: Vec<String>,
    /// The ticket table kept in a JetStream key-value bucket, the engine's own table being
    /// its [`super::tickets::SharedTickets`].
    pub tickets: Option<Arc<KvTickets>>,
}

/// Whether NATS subject `subject` matches `filter` (`*` one token, `>` the rest).
pub fn subject_matches(filter: &str, subject: &str) -> bool {
    let mut s = subject.split('.');
    for f in filter.split('.') {
        match (f, s.next()) {
            (">", Some(_)) => return true,
            ("*", Some(_)) => {}
            (f, Some(t)) if f == t => {}
            _ => return false,
        }
    }
    s.next().is_none()
}

/// Whether `sensor`'s batches (subjects `dcsensor.<sensor>.records` and `.alerts`) are in the
/// share `filters` (empty: every sensor is).
pub fn in_share(filters: &[String], sensor: &str) -> bool {
    filters.is_empty()
        || filters.iter().any(|f| {
            ["records", "alerts"]
                .iter()
                .any(|k| subject_matches(f, &format!("dcsensor.{sensor}.{k}")))
        })
}

impl Processor {
    /// Feeds the engine (and the rollup's memory of names) the batches applied in the last
    /// `replay_hours` of record time, then is ready.
    pub async fn start(
        store: Store,
        engine: Box<dyn Detector>,
        replay_hours: f64,
        stats: Arc<CenterStats>,
    ) -> Result<Processor, StoreError> {
        Self::start_shared(store, engine, replay_hours, stats, Sharing::default()).await
    }

    /// [`Processor::start`] for a center sharing the store with others.
    pub async fn start_shared(
        store: Store,
        engine: Box<dyn Detector>,
        replay_hours: f64,
        stats: Arc<CenterStats>,
        sharing: Sharing,
    ) -> Result<Processor, StoreError> {
        let mut p = Processor {
            store,
            engine,
            rollup: Rollup::default(),
            exclusions: Vec::new(),
            stats,
            replay_hours,
            tickets: sharing.tickets,
        };
        p.exclusions = p.store.exclusions().await?;
        if let Some(latest) = p.store.latest_ts().await? {
            let since = latest - replay_hours * 3600.0;
            let mut recent = p.store.recent_batches(since).await?;
            recent.retain(|(sensor, _)| in_share(&sharing.share, sensor));
            let n = recent.len();
            let max = p.engine.max_batch_records() as u64;
            for (sensor, body) in recent {
                let mut scratch = Effects::default();
                match read_header(&body) {
                    Ok(h) if h.records > max => continue, // kept unapplied when it came
                    Ok(h) => {
                        p.rollup_batch(&h, &body, &mut scratch);
                    }
                    Err(_) => {}
                }
                // Alerts coming out now were committed when these batches were first applied.
                let _ = p.engine.feed(&sensor, &body);
            }
            if n > 0 {
                tracing::info!(batches = n, "engine state rebuilt from recent batches");
            }
        }
        if let Some(k) = &p.tickets {
            // Written to the bucket when these batches were first applied.
            k.discard_pending();
        }
        Ok(p)
    }

    /// Lets the engine take other centers' facts while no batch comes (several centers).
    pub fn absorb_shared(&mut self) {
        if self.tickets.is_some() {
            self.engine.absorb_shared();
        }
    }

    /// Reloads the exclusions (the console changes them).
    pub async fn reload_exclusions(&mut self) -> Result<(), StoreError> {
        self.exclusions = self.store.exclusions().await?;
        Ok(())
    }

    fn excluded(&self, a: &super::store::write::AlertWrite) -> bool {
        self.exclusions.iter().any(|x| {
            (x.detection == "*" || x.detection == a.detection)
                && match x.field.as_str() {
                    "source_ip" => a.source_ip.as_deref() == Some(x.value.as_str()),
                    "source_host" => a
                        .source_host
                        .as_deref()
                        .is_some_and(|h| h.eq_ignore_ascii_case(&x.value)),
                    "source_user" => a
                        .source_user
                        .as_deref()
                        .is_some_and(|u| u.eq_ignore_ascii_case(&x.value)),
                    _ => false,
                }
        })
    }

    fn rollup_batch(&mut self, h: &Header, bytes: &[u8], fx: &mut Effects) -> Option<f64> {
        let recs: Records = rmp_serde::from_slice(bytes).ok()?;
        let mut max_ts = 0f64;
        for r in &recs.records {
            max_ts = max_ts.max(r.ts);
            self.rollup.apply(&h.sensor, &h.host, r, fx);
        }
        self.stats
            .records
            .fetch_add(recs.records.len() as u64, Ordering::Relaxed);
        if recs.records.iter().any(|r| r.kind == "alert") {
            // Alerts the sensor raised at the edge: stored as they are.
            if let Ok(raw) = rmp_serde::from_slice::<RawRecords>(bytes) {
                for v in raw.records.iter().filter(|v| v["type"] == "alert") {
                    self.add_alert(v, fx);
                }
            }
        }
        Some(max_ts)
    }

    fn add_alert(&mut self, v: &serde_json::Value, fx: &mut Effects) {
        match alert_write(v) {
            Some(a) if self.excluded(&a) => {
                self.stats.alerts_excluded.fetch_add(1, Ordering::Relaxed);
            }
            Some(a) => {
                fx.alerts.insert(a.id.clone(), a);
            }
            None => {
                self.stats.malformed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Applies a group of batches and returns the acknowledgements to send now that it is
    /// committed (including those of batches skipped as already applied or unreadable).
    pub async fn apply(&mut self, items: Vec<Incoming>) -> Result<Vec<Ack>, StoreError> {
        let mut fx = Effects::default();
        let mut acks = Vec::with_capacity(items.len());
        let mut in_group: HashSet<(String, u64)> = HashSet::new();
        if let (Some(k), false) = (&self.tickets, items.is_empty()) {
            // what other centers learned before this group is known before its records
            k.catch_up(std::time::Duration::from_secs(5)).await;
        }
        for it in items {
            let h = match read_header(&it.bytes) {
                Ok(h) if h.schema == SCHEMA => h,
                Ok(h) => {
                    tracing::error!(sensor = %h.sensor, seq = h.seq, schema = h.schema,
                        "batch of another record schema: kept, not applied; upgrade the center");
                    self.stats.malformed.fetch_add(1, Ordering::Relaxed);
                    keep(it.ack, &mut acks);
                    continue;
                }
                Err(e) => {
                    tracing::error!("unreadable batch kept, not applied: {e}");
                    self.stats.malformed.fetch_add(1, Ordering::Relaxed);
                    keep(it.ack, &mut acks);
                    continue;
                }
            };
            let max = self.engine.max_batch_records() as u64;
            if h.records > max {
                tracing::error!(sensor = %h.sensor, seq = h.seq, records = h.records,
                    "batch of more records than max_batch_records ({max}): kept, not applied; \
                     raise max_batch_records in the detection tuning if the sensor's \
                     batch_records is this large");
                self.stats.malformed.fetch_add(1, Ordering::Relaxed);
                keep(it.ack, &mut acks);
                continue;
            }
            let key = (h.sensor.clone(), h.seq);
            if in_group.contains(&key) || self.store.applied(&h.sensor, h.seq).await? {
                self.stats.duplicates.fetch_add(1, Ordering::Relaxed);
                acks.push(it.ack);
                continue;
            }
            let Some(max_ts) = self.rollup_batch(&h, &it.bytes, &mut fx) else {
                tracing::error!(sensor = %h.sensor, seq = h.seq, "batch records unreadable: kept, not applied");
                self.stats.malformed.fetch_add(1, Ordering::Relaxed);
                keep(it.ack, &mut acks);
                continue;
            };
            if let Some(k) = &self.tickets {
                k.prefetch(super::tickets::hashes_of(&it.bytes))
                    .await
                    .map_err(StoreError)?;
            }
            for v in self.engine.feed(&h.sensor, &it.bytes) {
                self.add_alert(&v, &mut fx);
            }
            in_group.insert(key);
            fx.batches.push(BatchMark {
                sensor: h.sensor.clone(),
                host: h.host.clone(),
                seq: h.seq,
                records: h.records,
                max_ts,
                body: (self.replay_hours > 0.0).then(|| it.bytes.clone()),
            });
            acks.push(it.ack);
        }
        if let Some(k) = &self.tickets {
            // Tickets first: once a batch is acknowledged every center finds what it issued.
            k.flush().await.map_err(StoreError)?;
        }
        if !fx.is_empty() {
            self.commit(&fx).await?;
        }
        Ok(acks)
    }

    async fn commit(&mut self, fx: &Effects) -> Result<(), StoreError> {
        let done = self.store.commit(fx).await.inspect_err(|_| {
            self.stats.commit_errors.fetch_add(1, Ordering::Relaxed);
        })?;
        self.stats
            .batches
            .fetch_add(done.batches, Ordering::Relaxed);
        self.stats.alerts.fetch_add(done.alerts, Ordering::Relaxed);
        if let Some(ts) = fx.batches.iter().map(|b| b.max_ts).reduce(f64::max) {
            self.stats.newest_ts.store(ts.to_bits(), Ordering::Relaxed);
        }
        Ok(())
    }

    /// Commits what the engine still holds (at shutdown).
    pub async fn flush(&mut self) -> Result<(), StoreError> {
        let mut fx = Effects::default();
        for v in self.engine.flush() {
            self.add_alert(&v, &mut fx);
        }
        if !fx.is_empty() {
            self.commit(&fx).await?;
        }
        Ok(())
    }

    /// Drops the kept bodies of batches older than the replay window.
    pub async fn prune(&self) -> Result<u64, StoreError> {
        match self.store.latest_ts().await? {
            Some(latest) => {
                self.store
                    .prune_bodies(latest - self.replay_hours * 3600.0)
                    .await
            }
            None => Ok(0),
        }
    }
}

/// An unreadable batch is never acknowledged as applied: a file stays where it is, a JetStream
/// message is terminated (not redelivered) and stays in the stream.
fn keep(ack: Ack, acks: &mut Vec<Ack>) {
    match ack {
        Ack::File { path, .. } => acks.push(Ack::File {
            path,
            remove: false,
        }),
        Ack::Nats(m) | Ack::NatsTerm(m) => acks.push(Ack::NatsTerm(m)),
    }
}

/// Batch directories, scanned for `batch-<seq>.msgpack` files not handled yet in this run.
pub struct DirSource {
    dirs: Vec<PathBuf>,
    remove: bool,
    done: HashSet<PathBuf>,
}

impl DirSource {
    pub fn new(dirs: Vec<PathBuf>, remove: bool) -> DirSource {
        DirSource {
            dirs,
            remove,
            done: HashSet::new(),
        }
    }

    /// Up to `max` batch files not handled yet, each directory in seq order.
    pub fn scan(&mut self, max: usize) -> Vec<Incoming> {
        let mut out = Vec::new();
        for dir in &self.dirs {
            let Ok(rd) = std::fs::read_dir(dir) else {
                continue;
            };
            let mut files: Vec<(u64, PathBuf)> = rd
                .filter_map(|e| e.ok())
                .filter_map(|e| {
                    let seq = e.file_name().to_str().and_then(seq_of_name)?;
                    Some((seq, e.path()))
                })
                .filter(|(_, p)| !self.done.contains(p))
                .collect();
            files.sort();
            for (_, path) in files {
                if out.len() >= max {
                    return out;
                }
                match std::fs::read(&path) {
                    Ok(bytes) => out.push(Incoming {
                        bytes,
                        ack: Ack::File {
                            path,
                            remove: self.remove,
                        },
                        stream_seq: None,
                        redelivered: false,
                    }),
                    Err(e) => tracing::warn!(file = %path.display(), "cannot read batch: {e}"),
                }
            }
        }
        out
    }

    /// Marks a file handled (and removes it when so configured).
    pub fn done(&mut self, path: PathBuf, remove: bool) {
        if remove {
            if let Err(e) = std::fs::remove_file(&path) {
                tracing::warn!(file = %path.display(), "cannot remove applied batch: {e}");
            }
        }
        self.done.insert(path);
    }
}

/// Puts each sensor's batches back in `seq` order before they are applied: after a restart,
/// JetStream redelivers the batches the stopped center had fetched but not acknowledged only
/// after their ack wait, while newer ones arrive at once. A batch ahead of the next expected
/// `seq` waits (unacknowledged) until the gap fills or `wait` passes; then it goes on without
/// the missing ones (a sensor whose spool overflowed never sends them), counted as a gap.
pub struct Reorder {
    high: std::collections::HashMap<String, u64>,
    held: std::collections::BTreeMap<(String, u64), (std::time::Instant, Incoming)>,
    wait: std::time::Duration,
    max_held: usize,
    stats: Arc<CenterStats>,
}

impl Reorder {
    /// `high`: the highest seq applied per sensor (from the store).
    pub fn new(
        high: std::collections::HashMap<String, u64>,
        wait: std::time::Duration,
        max_held: usize,
        stats: Arc<CenterStats>,
    ) -> Reorder {
        Reorder {
            high,
            held: Default::default(),
            wait,
            max_held: max_held.max(1),
            stats,
        }
    }

    /// Batches held now.
    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// Takes a batch; returns those ready to apply, in order.
    pub fn push(&mut self, it: Incoming) -> Vec<Incoming> {
        let Ok(h) = read_header(&it.bytes) else {
            return vec![it]; // the processor keeps it as unreadable
        };
        let high = self.high.get(&h.sensor).copied().unwrap_or(0);
        if h.seq <= high {
            return vec![it]; // applied already: skipped and acknowledged
        }
        if h.seq > high + 1 {
            self.held
                .insert((h.sensor, h.seq), (std::time::Instant::now(), it));
            let mut out = Vec::new();
            while self.held.len() > self.max_held {
                if let Some(s) = self.held.keys().next().map(|k| k.0.clone()) {
                    out.extend(self.release(&s));
                }
            }
            return out;
        }
        self.high.insert(h.sensor.clone(), h.seq);
        let mut out = vec![it];
        out.extend(self.drain(&h.sensor));
        out
    }

    /// The held batches of `sensor` that follow on from its highest seq.
    fn drain(&mut self, sensor: &str) -> Vec<Incoming> {
        let mut out = Vec::new();
        loop {
            let next = self.high.get(sensor).copied().unwrap_or(0) + 1;
            match self.held.remove(&(sensor.to_string(), next)) {
                Some((_, it)) => {
                    self.high.insert(sensor.to_string(), next);
                    out.push(it);
                }
                None => return out,
            }
        }
    }

    /// Gives up waiting for the gap before `sensor`'s lowest held batch.
    fn release(&mut self, sensor: &str) -> Vec<Incoming> {
        let Some(((_, seq), (_, it))) = self
            .held
            .range((sensor.to_string(), 0)..=(sensor.to_string(), u64::MAX))
            .next()
            .map(|(k, _)| k.clone())
            .and_then(|k| self.held.remove_entry(&k))
        else {
            return Vec::new();
        };
        let from = self.high.get(sensor).copied().unwrap_or(0) + 1;
        tracing::warn!(
            sensor,
            from,
            to = seq - 1,
            "batches missing; going on without them"
        );
        self.stats.gaps.fetch_add(seq - from, Ordering::Relaxed);
        self.high.insert(sensor.to_string(), seq);
        let mut out = vec![it];
        out.extend(self.drain(sensor));
        out
    }

    /// Batches whose gap was not filled within the wait, released in order.
    pub fn expired(&mut self) -> Vec<Incoming> {
        let now = std::time::Instant::now();
        let late: Vec<String> = self
            .held
            .iter()
            .filter(|(_, (at, _))| now.duration_since(*at) >= self.wait)
            .map(|(k, _)| k.0.clone())
            .collect();
        let mut out = Vec::new();
        for s in late {
            out.extend(self.release(&s));
        }
        out
    }
}

/// After a restart, the stream's order restored: JetStream redelivers the batches the stopped
/// center had fetched but not acknowledged only once their ack wait has passed, while the
/// batches after them come at once. Applied as they come, another sensor's later batches would
/// go to the engine before the redelivered ones, and what depends on the order across sensors
/// (a host's name learned from one sensor's records and used for another's, "an address that
/// sent a MIC before") would differ from an uninterrupted run. So until the batches awaited
/// (the consumers' acknowledgements pending at start) have come again, or the wait is over, or
/// `max_held` batches are held, everything fetched is held; then all of it goes on sorted by
/// stream sequence, which is the order of the uninterrupted run.
pub struct Recovery {
    awaited: u64,
    seen: u64,
    until: std::time::Instant,
    held: Vec<Incoming>,
    max_held: usize,
}

impl Recovery {
    /// `awaited`: batches fetched by the stopped center and not acknowledged; `wait`: the
    /// longest to wait for them (their ack wait and a poll).
    pub fn new(awaited: u64, wait: std::time::Duration, max_held: usize) -> Recovery {
        if awaited > 0 {
            tracing::info!(
                batches = awaited,
                wait_s = wait.as_secs_f64(),
                "restoring the stream's order: waiting for the batches the stopped center had fetched"
            );
        }
        Recovery {
            awaited,
            seen: 0,
            until: std::time::Instant::now() + wait,
            held: Vec::new(),
            max_held: max_held.max(1),
        }
    }

    /// Counts batches awaited that came again and are not applied (a sensor's alert batches,
    /// acknowledged as they come).
    pub fn came_again(&mut self, n: u64) {
        self.seen += n;
    }

    /// Whether batches are still being held.
    pub fn active(&self) -> bool {
        self.awaited > 0
    }

    /// Takes the batches fetched; returns those to apply now (all held ones, in stream order,
    /// when the recovery ends).
    pub fn push(&mut self, items: Vec<Incoming>, now: std::time::Instant) -> Vec<Incoming> {
        if !self.active() {
            return items;
        }
        self.seen += items.iter().filter(|i| i.redelivered).count() as u64;
        self.held.extend(items);
        let why = if self.seen >= self.awaited {
            None
        } else if now >= self.until {
            Some("the wait is over")
        } else if self.held.len() >= self.max_held {
            Some("the batches held reached their cap")
        } else {
            return Vec::new();
        };
        if let Some(why) = why {
            tracing::warn!(
                awaited = self.awaited,
                came = self.seen,
                "{why} before every batch of the stopped center came again: going on in the order they came"
            );
        }
        self.awaited = 0;
        let mut out = std::mem::take(&mut self.held);
        out.sort_by_key(|i| i.stream_seq.unwrap_or(u64::MAX));
        out
    }
}

#[cfg(test)]
#[path = "ingest_tests.rs"]
mod tests;
