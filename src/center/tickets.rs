//! The cross-DC ticket table shared by several centers: a JetStream key-value bucket.
//!
//! One center sees every sensor, so its engine's in-memory ticket table knows a ticket issued
//! by one DC when another DC sees it presented (pass-the-ticket across DCs). Centers that each
//! take a share of the sensors keep the table in a replicated bucket instead (`[tickets]
//! bucket`), each entry expiring with the longest ticket lifetime of the engine's tuning.
//!
//! The engine's [`TicketStore`] is synchronous, so the bucket is not asked record by record:
//! - every center watches the whole bucket (last value of each key, then every change) into a
//!   local capped table, which is what the engine reads;
//! - before a batch goes to the engine, the tickets it presents that the local table lacks are
//!   fetched from the bucket ([`KvTickets::prefetch`]), so a ticket another center wrote a
//!   moment ago is found even when the watch has not delivered it yet;
//! - the engine's writes are queued and put into the bucket before the group's transaction
//!   commits and its batches are acknowledged ([`KvTickets::flush`]): once a batch is
//!   acknowledged, every center can find the tickets it issued.
//!
//! After a restart the engine is fed the recent batches again; the tickets it writes then were
//! put when those batches were first applied, and are dropped ([`KvTickets::discard_pending`]).
//!
//! The same bucket carries what each center's engine learned that the others need ([`Fact`]:
//! domain controllers, DNS servers, host names, MIC senders, the NTLM baseline), under keys
//! `f.<hash of what the fact is about>`, each with the center that learned it:
//! - the engine's new facts are queued and put with its tickets before the group commits;
//! - the watch hands every other center's facts to the engine, which takes them before its next
//!   record;
//! - before a group goes to the engine, the center waits (at most `catch_up`, 5 s) until its
//!   watch has delivered everything the bucket held when the group began
//!   ([`KvTickets::catch_up`]), so a fact another center committed before is known.
//!
//! What stays per center: the windowed tallies (counts of failures, lookups, tickets asked over a
//! window) and the realm's learned encryption types: one attack whose records are split over
//! two centers' shares is counted by each with its share's records.

use crate::detect::{Fact, MemoryTickets, Ticket, TicketStore};
use async_nats::jetstream::{self, kv};
use futures_util::StreamExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The ticket table's counters, for logs and tests.
#[derive(Debug, Default)]
pub struct TicketStats {
    /// Entries put into the bucket by this center.
    pub puts: AtomicU64,
    /// Entries fetched from the bucket on a miss of the local table.
    pub fetched: AtomicU64,
    /// Entries received from the bucket's watch.
    pub watched: AtomicU64,
    /// Hashes that cannot be a bucket key (kept in the local table only).
    pub bad_keys: AtomicU64,
    /// Facts put into the bucket by this center.
    pub facts_put: AtomicU64,
    /// Facts of other centers received from the watch.
    pub facts_received: AtomicU64,
    /// Facts of other centers dropped because the engine had not taken the earlier ones
    /// (`MAX_INCOMING` waiting).
    pub facts_dropped: AtomicU64,
    /// Groups that went to the engine before the watch had caught up with the bucket (after
    /// waiting `catch_up`).
    pub behind: AtomicU64,
}

/// Facts of other centers waiting for the engine, at most.
const MAX_INCOMING: usize = 100_000;

struct Inner {
    mem: MemoryTickets,
    pending: Vec<(String, Ticket)>,
    /// This engine's new facts, to be put.
    facts_out: Vec<Fact>,
    /// Other centers' facts, for the engine.
    facts_in: Vec<Fact>,
    /// The bucket's latest sequence the watch delivered.
    seen: u64,
}

/// A fact as the bucket holds it: with the center that learned it.
#[derive(serde::Serialize, serde::Deserialize)]
struct SharedFact {
    origin: String,
    #[serde(flatten)]
    fact: Fact,
}

/// The bucket key of a fact: `f.` and the hash of what it is about (a name or an account can
/// hold any character; a key cannot).
fn fact_key(f: &Fact) -> String {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(f.identity().as_bytes());
    let mut k = String::with_capacity(2 + 32);
    k.push_str("f.");
    for b in &d[..16] {
        k.push_str(&format!("{b:02x}"));
    }
    k
}

/// The engine's side: a [`TicketStore`] over the local table, queueing its writes.
pub struct SharedTickets(Arc<Mutex<Inner>>);

fn lock(m: &Mutex<Inner>) -> std::sync::MutexGuard<'_, Inner> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl TicketStore for SharedTickets {
    fn get(&mut self, hash: &str) -> Option<Ticket> {
        lock(&self.0).mem.get(hash)
    }

    fn put(&mut self, hash: &str, t: Ticket) {
        let mut i = lock(&self.0);
        i.mem.put(hash, t.clone());
        i.pending.push((hash.to_string(), t));
    }

    fn contains(&self, hash: &str) -> bool {
        lock(&self.0).mem.contains(hash)
    }

    fn len(&self) -> usize {
        lock(&self.0).mem.len()
    }

    fn evictions(&self) -> u64 {
        lock(&self.0).mem.evictions()
    }

    fn last_eviction(&self) -> Option<f64> {
        lock(&self.0).mem.last_eviction()
    }

    fn shares(&self) -> bool {
        true
    }

    fn share(&mut self, fact: Fact) {
        lock(&self.0).facts_out.push(fact);
    }

    fn learned(&mut self) -> Vec<Fact> {
        let mut i = lock(&self.0);
        if i.facts_in.is_empty() {
            return Vec::new();
        }
        std::mem::take(&mut i.facts_in)
    }
}

/// A bucket key: KV keys are `[-/_=.a-zA-Z0-9]+`, not starting or ending with a dot.
fn valid_key(k: &str) -> bool {
    !k.is_empty()
        && k.len() <= 256
        && !k.starts_with('.')
        && !k.ends_with('.')
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-/_=.".contains(&b))
}

/// The center's side: the bucket, the watch, and the engine's queued writes.
pub struct KvTickets {
    kv: kv::Store,
    inner: Arc<Mutex<Inner>>,
    watch: tokio::task::JoinHandle<()>,
    pub stats: Arc<TicketStats>,
    /// How long a put may keep failing (a cluster electing a leader) before the group fails.
    put_deadline: Duration,
    /// This center, as its facts name it.
    origin: String,
}

impl Drop for KvTickets {
    fn drop(&mut self) {
        self.watch.abort();
    }
}

/// The bucket's settings.
#[derive(Debug, Clone)]
pub struct BucketSettings {
    pub bucket: String,
    pub replicas: usize,
    /// Entries expire this long after they were written: the longest ticket lifetime.
    pub max_age: Duration,
    /// Tickets held in the local table at most (the oldest go first, counted as evictions).
    pub max_entries: usize,
    /// This center, as its facts name it (unique per process: two centers may share a
    /// consumer name).
    pub origin: String,
}

impl KvTickets {
    /// Opens (creating it if missing) the bucket and starts watching it; returns the center's
    /// handle and the engine's ticket store.
    pub async fn open(
        js: &jetstream::Context,
        s: &BucketSettings,
    ) -> Result<(KvTickets, SharedTickets), String> {
        let kv = match js.get_key_value(&s.bucket).await {
            Ok(kv) => kv,
            Err(_) => {
                // The bucket's stream made directly, as a key-value bucket is laid out (one
                // value per key, rollups, no deletes, direct gets): the client's own bucket
                // creation first asks for account details that servers before 2.10 answer in
                // a form it cannot read.
                js.get_or_create_stream(jetstream::stream::Config {
                    name: format!("KV_{}", s.bucket),
                    description: Some(
                        "dcsensor centers: Kerberos tickets by hash (cross-DC table)".into(),
                    ),
                    subjects: vec![format!("$KV.{}.>", s.bucket)],
                    max_messages_per_subject: 1,
                    max_age: s.max_age,
                    storage: jetstream::stream::StorageType::File,
                    num_replicas: s.replicas.max(1),
                    discard: jetstream::stream::DiscardPolicy::New,
                    allow_rollup: true,
                    deny_delete: true,
                    allow_direct: true,
                    duplicate_window: Duration::from_secs(120).min(s.max_age),
                    ..Default::default()
                })
                .await
                .map_err(|e| {
                    format!(
                        "tickets: cannot create key-value bucket {}: {e}; check that JetStream \
                         has {} servers for its replicas (tickets.replicas)",
                        s.bucket, s.replicas
                    )
                })?;
                js.get_key_value(&s.bucket)
                    .await
                    .map_err(|e| format!("tickets: bucket {}: {e}", s.bucket))?
            }
        };
        let inner = Arc::new(Mutex::new(Inner {
            mem: MemoryTickets::new(s.max_entries.max(1)),
            pending: Vec::new(),
            facts_out: Vec::new(),
            facts_in: Vec::new(),
            seen: 0,
        }));
        let stats = Arc::new(TicketStats::default());
        let watch = tokio::spawn(watch(
            kv.clone(),
            inner.clone(),
            stats.clone(),
            s.origin.clone(),
        ));
        Ok((
            KvTickets {
                kv,
                inner: inner.clone(),
                watch,
                stats,
                put_deadline: Duration::from_secs(60),
                origin: s.origin.clone(),
            },
            SharedTickets(inner),
        ))
    }

    /// Fetches from the bucket the tickets of `hashes` that the local table lacks.
    pub async fn prefetch(&self, hashes: Vec<String>) -> Result<(), String> {
        let missing: Vec<String> = {
            let i = lock(&self.inner);
            let mut v: Vec<String> = hashes
                .into_iter()
                .filter(|h| valid_key(h) && !i.mem.contains(h))
                .collect();
            v.sort();
            v.dedup();
            v
        };
        for chunk in missing.chunks(64) {
            let got = futures_util::future::join_all(chunk.iter().map(|h| self.get(h))).await;
            let mut i = lock(&self.inner);
            for (h, t) in chunk.iter().zip(got) {
                if let Some(t) = t? {
                    if !i.mem.contains(h) {
                        i.mem.put(h, t);
                        self.stats.fetched.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
        Ok(())
    }

    async fn get(&self, hash: &str) -> Result<Option<Ticket>, String> {
        let end = Instant::now() + self.put_deadline;
        loop {
            match self.kv.get(hash).await {
                Ok(v) => return Ok(v.and_then(|b| serde_json::from_slice(&b).ok())),
                Err(e) if Instant::now() < end => {
                    tracing::debug!("tickets: get {hash}: {e}; again");
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                Err(e) => return Err(format!("tickets: bucket get: {e}")),
            }
        }
    }

    /// Puts the engine's queued writes into the bucket; an error when the bucket kept refusing
    /// them (then nothing of the group may be acknowledged).
    pub async fn flush(&self) -> Result<(), String> {
        self.flush_facts().await?;
        let pending = std::mem::take(&mut lock(&self.inner).pending);
        let pending: Vec<(String, Ticket)> = pending
            .into_iter()
            .filter(|(h, _)| {
                let ok = valid_key(h);
                if !ok {
                    self.stats.bad_keys.fetch_add(1, Ordering::Relaxed);
                }
                ok
            })
            .collect();
        for chunk in pending.chunks(64) {
            let done =
                futures_util::future::join_all(chunk.iter().map(|(h, t)| self.put(h, t))).await;
            if let Some(e) = done.into_iter().find_map(Result::err) {
                // Keep what was not written for the next try.
                let mut i = lock(&self.inner);
                i.pending.extend(chunk.iter().cloned());
                return Err(e);
            }
        }
        Ok(())
    }

    /// Puts the engine's new facts (the last of each identity).
    async fn flush_facts(&self) -> Result<(), String> {
        let facts = std::mem::take(&mut lock(&self.inner).facts_out);
        if facts.is_empty() {
            return Ok(());
        }
        let mut latest: std::collections::BTreeMap<String, Vec<u8>> = Default::default();
        for f in facts.iter() {
            let body = serde_json::to_vec(&SharedFact {
                origin: self.origin.clone(),
                fact: f.clone(),
            })
            .map_err(|e| format!("tickets: {e}"))?;
            latest.insert(fact_key(f), body);
        }
        let all: Vec<(String, Vec<u8>)> = latest.into_iter().collect();
        for chunk in all.chunks(64) {
            let done = futures_util::future::join_all(
                chunk.iter().map(|(k, b)| self.put_body(k, b.clone())),
            )
            .await;
            if let Some(e) = done.into_iter().find_map(Result::err) {
                // Keep them all for the next try (putting one twice changes nothing).
                lock(&self.inner).facts_out.extend(facts);
                return Err(e);
            }
        }
        self.stats
            .facts_put
            .fetch_add(all.len() as u64, Ordering::Relaxed);
        Ok(())
    }

    /// Waits until the watch has delivered every entry the bucket holds now (at most
    /// `limit`; a group that goes on before is counted in `behind`).
    pub async fn catch_up(&self, limit: Duration) {
        let last = match self.kv.stream.get_info().await {
            Ok(i) if i.state.messages > 0 => i.state.last_sequence,
            Ok(_) => return,
            Err(e) => {
                tracing::debug!("tickets: bucket info: {e}");
                self.stats.behind.fetch_add(1, Ordering::Relaxed);
                return;
            }
        };
        let end = Instant::now() + limit;
        while lock(&self.inner).seen < last {
            if Instant::now() >= end {
                self.stats.behind.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    "tickets: the bucket's watch is behind after {} ms; going on (facts of \
                     other centers may come after the records that needed them)",
                    limit.as_millis()
                );
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    async fn put(&self, hash: &str, t: &Ticket) -> Result<(), String> {
        let body = serde_json::to_vec(t).map_err(|e| format!("tickets: {e}"))?;
        self.put_body(hash, body).await?;
        self.stats.puts.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    async fn put_body(&self, key: &str, body: Vec<u8>) -> Result<(), String> {
        let end = Instant::now() + self.put_deadline;
        loop {
            match self.kv.put(key, body.clone().into()).await {
                Ok(_) => {
                    return Ok(());
                }
                Err(e) if Instant::now() < end => {
                    tracing::debug!("tickets: put {key}: {e}; again");
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                Err(e) => {
                    return Err(format!(
                        "tickets: bucket put kept failing for {} s: {e}; check the NATS cluster",
                        self.put_deadline.as_secs()
                    ))
                }
            }
        }
    }

    /// Drops the queued writes (made while the engine was fed batches applied before).
    pub fn discard_pending(&self) {
        let mut i = lock(&self.inner);
        i.pending.clear();
        i.facts_out.clear();
    }
}

/// Keeps the local table up to date with the bucket: the last value of every key, then every
/// change; started again after an error (a node stopped, a leader elected).
async fn watch(kv: kv::Store, inner: Arc<Mutex<Inner>>, stats: Arc<TicketStats>, origin: String) {
    loop {
        match kv.watch_with_history(">").await {
            Ok(mut w) => {
                while let Some(e) = w.next().await {
                    match e {
                        Ok(e) if e.operation == kv::Operation::Put => {
                            let mut i = lock(&inner);
                            i.seen = i.seen.max(e.revision);
                            if e.key.starts_with("f.") {
                                let Ok(f) = serde_json::from_slice::<SharedFact>(&e.value) else {
                                    continue;
                                };
                                if f.origin == origin {
                                    continue;
                                }
                                if i.facts_in.len() >= MAX_INCOMING {
                                    stats.facts_dropped.fetch_add(1, Ordering::Relaxed);
                                    continue;
                                }
                                i.facts_in.push(f.fact);
                                stats.facts_received.fetch_add(1, Ordering::Relaxed);
                            } else if let Ok(t) = serde_json::from_slice::<Ticket>(&e.value) {
                                i.mem.put(&e.key, t);
                                stats.watched.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        Ok(e) => {
                            let mut i = lock(&inner);
                            i.seen = i.seen.max(e.revision);
                        }
                        Err(err) => {
                            tracing::warn!("tickets: watch: {err}; watching again");
                            break;
                        }
                    }
                }
            }
            Err(err) => tracing::warn!("tickets: cannot watch the bucket: {err}; again"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// The ticket hashes a batch's records name (issued, presented, or as an additional ticket).
pub fn hashes_of(batch: &[u8]) -> Vec<String> {
    #[derive(serde::Deserialize)]
    struct R {
        #[serde(default)]
        ticket_hash: Option<String>,
        #[serde(default)]
        presented_hash: Option<String>,
        #[serde(default)]
        additional_ticket_hash: Option<String>,
    }
    #[derive(serde::Deserialize)]
    struct B {
        records: Vec<R>,
    }
    let Ok(b) = rmp_serde::from_slice::<B>(batch) else {
        return Vec::new();
    };
    b.records
        .into_iter()
        .flat_map(|r| [r.ticket_hash, r.presented_hash, r.additional_ticket_hash])
        .flatten()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_checked() {
        assert!(valid_key("3f2a9c"));
        assert!(!valid_key(""));
        assert!(!valid_key("a b"));
        assert!(!valid_key(".a"));
        assert!(!valid_key("a>"));
    }
}
