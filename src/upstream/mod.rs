//! Upstream: records into MessagePack batches, a spool on disk, and sinks (a directory of batch
//! files, NATS JetStream, JSON lines on stdout), as one [`Output`].
//!
//! ```text
//! output thread                          upstream thread (tokio, current-thread)
//! record() ─▶ Batcher ─closed─▶ Spool::put ──wake──▶ one task per sink: claim ─▶ deliver ─▶ ack
//!            (encode once)      (fsync, rename)        (file: DIR, nats://)      (file gone when
//!                                                                                 all sinks acked)
//! ```
//!
//! Delivery is at least once. What a crash (SIGKILL, power loss) can lose is only the batch being
//! built: a closed batch is on disk before `record()` or `tick()` returns. Everything in the spool
//! is sent again on the next start, in seq order; receivers drop duplicates by (sensor, seq)
//! (JetStream does it by `Nats-Msg-Id` within its duplicate window). When the spool is full, the
//! oldest batches are dropped, counted ([`Counter::DropUpstream`], [`UpstreamStats`]) and logged
//! with `error!`: capture is never held up by the upstream. `record()` does disk work only when a
//! batch closes and never touches the network.

pub mod batch;
pub mod config;
pub mod dump;
pub mod sink_file;
pub mod sink_nats;
pub mod spool;

pub use config::{check_sensor_id, hostname, NatsOptions, SinkSpec, UpstreamConfig};
pub use dump::{dump, DumpSummary};

use crate::output::{JsonLines, Metric, Output, OutputError};
use crate::record::Record;
use crate::stats::{Counter, Counters};
use batch::{Batcher, Limits, MAX_NAME};
use config::SINK_FORMS;
use spool::Spool;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::{watch, Notify};

/// Why a sink could not deliver a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Try again later (server away, timeout, disk full for now).
    Retry(String),
    /// It will never work (the batch is larger than the server takes, bad credentials file):
    /// the batch is dropped for this sink and counted.
    Permanent(String),
}

/// Counters of the upstream, shared by the output thread and the sinks (atomics: any reader).
#[derive(Debug, Default)]
pub struct Metrics {
    pub batches_spooled: AtomicU64,
    pub records_spooled: AtomicU64,
    /// Batches acknowledged by every sink (and so removed from the spool).
    pub batches_acked: AtomicU64,
    pub records_acked: AtomicU64,
    pub batches_dropped: AtomicU64,
    pub records_dropped: AtomicU64,
    /// Failed attempts (a retry each), unreadable spool files, write errors.
    pub errors: AtomicU64,
    /// PubAcks that JetStream marked duplicate (a resend of a batch it had).
    pub duplicates: AtomicU64,
    pub backlog_batches: AtomicU64,
    pub backlog_bytes: AtomicU64,
    /// Nanoseconds after `base` of the last acknowledgement, plus one (0: none yet).
    last_ack: AtomicU64,
    base: OnceLock<Instant>,
}

impl Metrics {
    fn base(&self) -> Instant {
        *self.base.get_or_init(Instant::now)
    }

    pub(crate) fn set_last_ack(&self, t: Instant) {
        let ns = t.saturating_duration_since(self.base()).as_nanos() as u64;
        self.last_ack.store(ns + 1, Relaxed);
    }

    /// A snapshot.
    pub fn stats(&self) -> UpstreamStats {
        let last = self.last_ack.load(Relaxed);
        UpstreamStats {
            batches_spooled: self.batches_spooled.load(Relaxed),
            records_spooled: self.records_spooled.load(Relaxed),
            batches_acked: self.batches_acked.load(Relaxed),
            records_acked: self.records_acked.load(Relaxed),
            batches_dropped: self.batches_dropped.load(Relaxed),
            records_dropped: self.records_dropped.load(Relaxed),
            errors: self.errors.load(Relaxed),
            duplicates: self.duplicates.load(Relaxed),
            backlog_batches: self.backlog_batches.load(Relaxed),
            backlog_bytes: self.backlog_bytes.load(Relaxed),
            last_ack_age: (last > 0).then(|| {
                let at = self.base() + Duration::from_nanos(last - 1);
                Instant::now().saturating_duration_since(at)
            }),
        }
    }
}

/// The upstream's figures at one moment (for `stats` and metrics).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpstreamStats {
    pub batches_spooled: u64,
    pub records_spooled: u64,
    pub batches_acked: u64,
    pub records_acked: u64,
    pub batches_dropped: u64,
    pub records_dropped: u64,
    pub errors: u64,
    pub duplicates: u64,
    pub backlog_batches: u64,
    pub backlog_bytes: u64,
    /// Time since the last acknowledgement by any sink (None: none yet).
    pub last_ack_age: Option<Duration>,
}

impl UpstreamStats {
    /// The figures as metrics (`dcsensor_upstream_...` once rendered).
    pub fn metrics(&self) -> Vec<Metric> {
        let c = |name, help, v: u64| Metric {
            name,
            help,
            counter: true,
            value: v as f64,
        };
        let g = |name, help, v: f64| Metric {
            name,
            help,
            counter: false,
            value: v,
        };
        let mut v = vec![
            c(
                "upstream_batches_spooled_total",
                "batches written to the spool",
                self.batches_spooled,
            ),
            c(
                "upstream_records_spooled_total",
                "records in batches written to the spool",
                self.records_spooled,
            ),
            c(
                "upstream_batches_acked_total",
                "batches acknowledged by every sink",
                self.batches_acked,
            ),
            c(
                "upstream_records_acked_total",
                "records in batches acknowledged by every sink",
                self.records_acked,
            ),
            c(
                "upstream_batches_dropped_total",
                "batches dropped (spool full, refused by a sink)",
                self.batches_dropped,
            ),
            c(
                "upstream_records_dropped_total",
                "records in dropped batches",
                self.records_dropped,
            ),
            c(
                "upstream_errors_total",
                "failed deliveries (each retried) and spool errors",
                self.errors,
            ),
            c(
                "upstream_duplicates_total",
                "batches JetStream already had (resends)",
                self.duplicates,
            ),
            g(
                "upstream_backlog_batches",
                "batches in the spool waiting for an acknowledgement",
                self.backlog_batches as f64,
            ),
            g(
                "upstream_backlog_bytes",
                "bytes in the spool waiting for an acknowledgement",
                self.backlog_bytes as f64,
            ),
        ];
        if let Some(age) = self.last_ack_age {
            v.push(g(
                "upstream_last_ack_age_seconds",
                "seconds since the last acknowledgement",
                age.as_secs_f64(),
            ));
        }
        v
    }
}

/// A handle on the upstream's figures that outlives the boxed [`Output`].
#[derive(Debug, Clone)]
pub struct StatsHandle(Arc<Metrics>);

impl StatsHandle {
    pub fn stats(&self) -> UpstreamStats {
        self.0.stats()
    }
}

enum AnySink {
    File(sink_file::FileSink),
    Nats(Box<sink_nats::NatsSink>),
}

impl AnySink {
    fn name(&self) -> String {
        match self {
            AnySink::File(f) => format!("file:{}", f.dir().display()),
            AnySink::Nats(n) => n.urls(),
        }
    }

    async fn deliver(&mut self, seq: u64, bytes: bytes::Bytes, m: &Metrics) -> Result<(), Failure> {
        match self {
            AnySink::File(f) => f.deliver(seq, bytes).await,
            AnySink::Nats(n) => {
                if n.deliver(seq, bytes).await? {
                    m.duplicates.fetch_add(1, Relaxed);
                }
                Ok(())
            }
        }
    }
}

struct Net {
    shutdown: watch::Sender<bool>,
    wakes: Vec<Arc<Notify>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Net {
    fn wake(&self) {
        for w in &self.wakes {
            w.notify_one();
        }
    }

    fn stop(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// What [`Upstream::start`] needs, checked by [`Upstream::open`].
struct Plan {
    dir: PathBuf,
    limit: u64,
    sinks: Vec<SinkSpec>,
    sensor: String,
    host: String,
    limits: Limits,
    nats: NatsOptions,
    kind: String,
}

/// The upstream as an [`Output`]: batcher, spool and sinks.
pub struct Upstream {
    stdout: Option<JsonLines<std::io::Stdout>>,
    batcher: Option<Batcher>,
    spool: Option<Arc<Spool>>,
    net: Option<Net>,
    /// Set when the spool was still owned by the output this one replaces (a reload).
    deferred: Option<Plan>,
    metrics: Arc<Metrics>,
    counters: Option<Arc<Counters>>,
    drops_reported: u64,
    finish_timeout: Duration,
    finished: bool,
}

/// Opens the upstream described by `cfg` as a boxed [`Output`].
pub fn open(cfg: UpstreamConfig) -> Result<Box<dyn Output>, OutputError> {
    Ok(Box::new(Upstream::open(cfg)?))
}

impl Upstream {
    /// Opens the spool (recovering what it holds), starts the upstream thread and the sinks.
    pub fn open(cfg: UpstreamConfig) -> Result<Upstream, OutputError> {
        if cfg.sinks.is_empty() {
            return Err(format!("no sink: {SINK_FORMS}").into());
        }
        let stdout = cfg
            .sinks
            .contains(&SinkSpec::Stdout)
            .then(|| JsonLines::new(std::io::stdout()));
        let spooled: Vec<SinkSpec> = cfg.sinks.iter().filter(|s| s.spooled()).cloned().collect();
        let mut up = Upstream {
            stdout,
            batcher: None,
            spool: None,
            net: None,
            deferred: None,
            metrics: Arc::new(Metrics::default()),
            counters: None,
            drops_reported: 0,
            finish_timeout: cfg.finish_timeout,
            finished: false,
        };
        if spooled.is_empty() {
            return Ok(up);
        }
        let sensor = cfg.sensor()?;
        let host = cfg.host.clone().unwrap_or_else(hostname);
        if host.len() > MAX_NAME {
            return Err(format!("host `{host}` is longer than {MAX_NAME} bytes").into());
        }
        let mut limits = cfg.batch;
        if limits.max_records == 0 || limits.max_bytes == 0 || limits.max_age.is_zero() {
            return Err("batch limits must be above zero (records, bytes, age)".into());
        }
        limits.max_records = limits.max_records.min(u32::MAX as usize);
        if spooled.iter().any(|s| matches!(s, SinkSpec::Nats(_))) {
            // nats-server takes 1 MiB per message by default, headers included.
            let cap = (1 << 20) - sink_nats::HEADER_ROOM;
            if limits.max_bytes > cap {
                tracing::info!(
                    from = limits.max_bytes,
                    to = cap,
                    "batch size lowered to fit a NATS message"
                );
                limits.max_bytes = cap;
            }
        }
        let plan = Plan {
            dir: cfg.spool_dir(),
            limit: cfg.spool_limit,
            sinks: spooled,
            sensor,
            host,
            limits,
            nats: cfg.nats.clone(),
            kind: cfg.kind.clone(),
        };
        if spool::held_here(&plan.dir) {
            // A reload: the output being replaced still owns this spool; it hands over (finish,
            // drop) on the output thread before this one gets its first record.
            std::fs::create_dir_all(&plan.dir)
                .map_err(|e| format!("spool {}: cannot create it: {e}", plan.dir.display()))?;
            up.deferred = Some(plan);
        } else {
            up.start(plan)?;
        }
        Ok(up)
    }

    /// Opens the spool (recovering what it holds), starts the upstream thread and the sinks.
    fn start(&mut self, plan: Plan) -> Result<(), OutputError> {
        let metrics = self.metrics.clone();
        let Plan {
            dir,
            limit,
            sinks: spooled,
            sensor,
            host,
            limits,
            nats,
            kind,
        } = plan;
        let (spool, rec) = Spool::open(&dir, limit, spooled.len(), metrics.clone())?;
        if rec.batches > 0 {
            tracing::info!(spool = %dir.display(), batches = rec.batches, records = rec.records,
                next_seq = rec.next_seq, "unsent batches found in the spool; they go first");
        }
        let spool = Arc::new(spool);
        self.batcher = Some(Batcher::new(limits, &sensor, &host, rec.next_seq));
        self.spool = Some(spool.clone());

        let (tx, rx) = watch::channel(false);
        let wakes: Vec<Arc<Notify>> = spooled.iter().map(|_| Arc::new(Notify::new())).collect();
        let thread_wakes = wakes.clone();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the upstream runtime: {e}"))?;
        let thread = std::thread::Builder::new()
            .name("dcsensor-upstream".into())
            .spawn(move || {
                rt.block_on(async move {
                    let mut loops = Vec::new();
                    for (i, (spec, wake)) in spooled.into_iter().zip(thread_wakes).enumerate() {
                        let sink = match spec {
                            SinkSpec::File(d) => AnySink::File(sink_file::FileSink::new(d)),
                            SinkSpec::Nats(urls) => AnySink::Nats(Box::new(
                                sink_nats::NatsSink::new(urls, nats.clone(), &sensor)
                                    .for_kind(&kind),
                            )),
                            SinkSpec::Stdout => continue,
                        };
                        loops.push(sink_loop(
                            sink,
                            1 << i,
                            spool.clone(),
                            wake,
                            rx.clone(),
                            metrics.clone(),
                        ));
                    }
                    futures_util::future::join_all(loops).await;
                });
                rt.shutdown_timeout(Duration::from_secs(1));
            })
            .map_err(|e| format!("cannot start the upstream thread: {e}"))?;
        self.net = Some(Net {
            shutdown: tx,
            wakes,
            thread: Some(thread),
        });
        Ok(())
    }

    /// Starts a deferred upstream (see [`Upstream::open`]) at its first use.
    fn ensure_started(&mut self) -> Result<(), OutputError> {
        if let Some(plan) = self.deferred.take() {
            self.start(plan)?;
        }
        Ok(())
    }

    /// Counts dropped records into `counters` ([`Counter::DropUpstream`]); they must be the
    /// output thread's own counters (this is their only writer among the upstream's threads).
    pub fn count_into(&mut self, counters: Arc<Counters>) {
        self.counters = Some(counters);
    }

    /// A handle on the figures, usable after the Output is boxed.
    pub fn stats_handle(&self) -> StatsHandle {
        StatsHandle(self.metrics.clone())
    }

    /// The figures now.
    pub fn stats(&self) -> UpstreamStats {
        self.metrics.stats()
    }

    /// The spool directory (None with only `stdout`).
    pub fn spool_dir(&self) -> Option<&Path> {
        self.spool.as_deref().map(Spool::dir)
    }

    fn spool_ready(&mut self) {
        let (Some(b), Some(sp)) = (self.batcher.as_mut(), self.spool.as_ref()) else {
            return;
        };
        let mut any = false;
        while let Some(c) = b.pop_ready() {
            sp.put(&c);
            any = true;
        }
        if any {
            if let Some(n) = &self.net {
                n.wake();
            }
        }
        self.report_drops();
    }

    fn report_drops(&mut self) {
        if let Some(c) = &self.counters {
            let now = self.metrics.records_dropped.load(Relaxed);
            if now > self.drops_reported {
                c.add(Counter::DropUpstream, now - self.drops_reported);
                self.drops_reported = now;
            }
        }
    }
}

impl Upstream {
    /// Batches an element that is not a [`Record`] (an alert, for an `alerts` upstream); a
    /// `stdout` sink prints it as a JSON line.
    pub fn push_value<T: serde::Serialize + ?Sized>(&mut self, v: &T) -> Result<(), OutputError> {
        self.ensure_started()?;
        if self.stdout.is_some() {
            let line = serde_json::to_string(v)?;
            let out = std::io::stdout();
            let mut lock = out.lock();
            std::io::Write::write_all(&mut lock, line.as_bytes())?;
            std::io::Write::write_all(&mut lock, b"\n")?;
        }
        if let Some(b) = &mut self.batcher {
            b.push(v, Instant::now())?;
            self.spool_ready();
        }
        Ok(())
    }
}

impl Output for Upstream {
    fn attach_counters(&mut self, counters: Arc<Counters>) {
        self.count_into(counters);
    }

    fn record(&mut self, rec: &Record) -> Result<(), OutputError> {
        self.ensure_started()?;
        if let Some(s) = &mut self.stdout {
            s.record(rec)?;
        }
        if let Some(b) = &mut self.batcher {
            b.push(rec, Instant::now())?;
            self.spool_ready();
        }
        Ok(())
    }

    fn tick(&mut self) -> Result<(), OutputError> {
        self.ensure_started()?;
        if let Some(s) = &mut self.stdout {
            s.tick()?;
        }
        if let Some(b) = &mut self.batcher {
            b.tick(Instant::now());
        }
        self.spool_ready();
        Ok(())
    }

    fn backlog(&self) -> Option<u64> {
        self.spool.as_ref().map(|s| s.backlog())
    }

    fn metrics(&self) -> Vec<Metric> {
        if self.spool.is_none() {
            return Vec::new();
        }
        self.metrics.stats().metrics()
    }

    fn finish(&mut self) -> Result<(), OutputError> {
        if self.finished {
            return Ok(());
        }
        self.finished = true;
        self.ensure_started()?;
        if let Some(s) = &mut self.stdout {
            s.finish()?;
        }
        if let Some(b) = &mut self.batcher {
            b.flush();
        }
        self.spool_ready();
        if let Some(sp) = self.spool.clone() {
            let left = sp.wait_empty(Instant::now() + self.finish_timeout);
            sp.close();
            if let Some(n) = &mut self.net {
                n.stop();
            }
            let st = self.metrics.stats();
            if left > 0 {
                tracing::warn!(spool = %sp.dir().display(), batches = st.backlog_batches, bytes = st.backlog_bytes,
                    "not acknowledged in time; left in the spool for the next start");
            }
            if st.batches_dropped > 0 {
                tracing::error!(
                    batches = st.batches_dropped,
                    records = st.records_dropped,
                    "upstream batches were dropped during this run"
                );
            }
        }
        self.report_drops();
        Ok(())
    }
}

impl Drop for Upstream {
    /// Without `finish` (a crash or an abort): stop the sinks at once; the open batch is lost,
    /// every closed batch stays in the spool.
    fn drop(&mut self) {
        if let Some(sp) = &self.spool {
            sp.close();
        }
        if let Some(n) = &mut self.net {
            n.stop();
        }
    }
}

/// Runs a spool update that may fsync on tokio's blocking pool.
async fn off_runtime(spool: &Arc<Spool>, f: impl FnOnce(&Spool) + Send + 'static) {
    let sp = spool.clone();
    if let Err(e) = tokio::task::spawn_blocking(move || f(&sp)).await {
        tracing::error!(error = %e, "spool update failed");
    }
}

/// One sink's loop: takes the spool's batches in seq order, delivers each until acknowledged
/// (retrying with backoff), and stops on shutdown, giving back what it held.
async fn sink_loop(
    mut sink: AnySink,
    bit: u32,
    spool: Arc<Spool>,
    wake: Arc<Notify>,
    mut shutdown: watch::Receiver<bool>,
    m: Arc<Metrics>,
) {
    let name = sink.name();
    let mut after = 0u64;
    loop {
        if *shutdown.borrow() {
            return;
        }
        let Some((seq, path)) = spool.claim(bit, after) else {
            tokio::select! {
                _ = wake.notified() => {}
                _ = shutdown.changed() => return,
            }
            continue;
        };
        after = seq;
        let read = tokio::task::spawn_blocking(move || std::fs::read(path)).await;
        let bytes = match read {
            Ok(Ok(b)) => bytes::Bytes::from(b),
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                // Dropped from a full spool meanwhile.
                spool.release(seq, bit);
                continue;
            }
            Ok(Err(e)) => {
                tracing::error!(sink = %name, seq, error = %e, "cannot read a spooled batch; skipped for this sink");
                m.errors.fetch_add(1, Relaxed);
                off_runtime(&spool, move |sp| sp.give_up(seq, bit)).await;
                continue;
            }
            Err(e) => {
                tracing::error!(sink = %name, seq, error = %e, "spool reader failed");
                spool.release(seq, bit);
                return;
            }
        };
        let mut backoff = Duration::from_millis(100);
        let mut failures = 0u32;
        loop {
            let r = tokio::select! {
                r = sink.deliver(seq, bytes.clone(), &m) => r,
                _ = shutdown.changed() => { spool.release(seq, bit); return; }
            };
            match r {
                Ok(()) => {
                    if failures > 0 {
                        tracing::info!(sink = %name, seq, failures, "delivering again");
                    }
                    off_runtime(&spool, move |sp| sp.ack(seq, bit)).await;
                    break;
                }
                Err(Failure::Retry(e)) => {
                    m.errors.fetch_add(1, Relaxed);
                    failures += 1;
                    if failures == 1 || failures.is_power_of_two() {
                        tracing::warn!(sink = %name, seq, failures, error = %e, "delivery failed; retrying");
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = shutdown.changed() => { spool.release(seq, bit); return; }
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
                Err(Failure::Permanent(e)) => {
                    m.errors.fetch_add(1, Relaxed);
                    tracing::error!(sink = %name, seq, error = %e, "UPSTREAM DATA LOST: the sink refuses this batch for good; dropped for this sink");
                    off_runtime(&spool, move |sp| sp.give_up(seq, bit)).await;
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
