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
pub mod dump;
pub mod sink_file;
pub mod sink_nats;
pub mod spool;

pub use dump::{dump, DumpSummary};

use crate::output::{JsonLines, Metric, Output, OutputError};
use crate::record::Record;
use crate::stats::{Counter, Counters};
use batch::{Batcher, Limits, MAX_NAME};
use spool::Spool;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::{watch, Notify};

/// Where batches go. Parsed from the `--sink` strings by [`SinkSpec::parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SinkSpec {
    /// JSON lines on stdout (no batches, no spool).
    Stdout,
    /// Batch files in a directory.
    File(PathBuf),
    /// NATS JetStream: one or more server URLs of one cluster.
    Nats(Vec<String>),
}

const SINK_FORMS: &str = "write `stdout`, `file:DIR` or `nats://HOST:PORT[,nats://HOST:PORT...]`";

impl SinkSpec {
    /// Parses `stdout`, `file:DIR`, `nats://HOST[:PORT][,...]` (`tls://` for TLS).
    pub fn parse(s: &str) -> Result<SinkSpec, String> {
        let t = s.trim();
        if t.is_empty() {
            return Err(format!("empty sink: {SINK_FORMS}"));
        }
        if t == "stdout" || t == "-" {
            return Ok(SinkSpec::Stdout);
        }
        if let Some(dir) = t.strip_prefix("file:") {
            let dir = dir.strip_prefix("//").unwrap_or(dir);
            if dir.is_empty() {
                return Err(format!(
                    "sink `{t}` names no directory: write file:DIR, e.g. file:/var/lib/dcsensor/batches"
                ));
            }
            return Ok(SinkSpec::File(PathBuf::from(dir)));
        }
        if t.starts_with("nats://") || t.starts_with("tls://") {
            let mut urls = Vec::new();
            for part in t.split(',') {
                let part = part.trim();
                let (scheme, rest) = match part.split_once("://") {
                    Some((sc @ ("nats" | "tls"), rest)) => (sc, rest),
                    Some((sc, _)) => {
                        return Err(format!(
                            "sink `{t}`: `{sc}://` is not a NATS URL: write nats://HOST:PORT (tls://HOST:PORT for TLS)"
                        ))
                    }
                    None => ("nats", part),
                };
                let hostport = rest.rsplit_once('@').map_or(rest, |(_, hp)| hp);
                let hostport = hostport.trim_end_matches('/');
                let (host, port) = match hostport.rsplit_once(':') {
                    Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => (h, Some(p)),
                    _ => (hostport, None),
                };
                if host.is_empty() {
                    return Err(format!(
                        "sink `{t}`: `{part}` names no host: write nats://HOST:PORT"
                    ));
                }
                if let Some(p) = port {
                    if p.parse::<u16>().map_or(true, |p| p == 0) {
                        return Err(format!(
                            "sink `{t}`: `{p}` is not a port: write nats://HOST:PORT, e.g. nats://127.0.0.1:4222"
                        ));
                    }
                }
                urls.push(format!("{scheme}://{rest}"));
            }
            return Ok(SinkSpec::Nats(urls));
        }
        if let Some((scheme, _)) = t.split_once("://") {
            return Err(format!(
                "unknown sink scheme `{scheme}://` in `{t}`: {SINK_FORMS}"
            ));
        }
        if t.starts_with('/') || t.starts_with('.') {
            return Err(format!(
                "sink `{t}`: did you mean `file:{t}`? ({SINK_FORMS})"
            ));
        }
        Err(format!("unknown sink `{t}`: {SINK_FORMS}"))
    }

    fn spooled(&self) -> bool {
        !matches!(self, SinkSpec::Stdout)
    }
}

impl std::str::FromStr for SinkSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        SinkSpec::parse(s)
    }
}

/// NATS options (shared by every `nats://` sink).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsOptions {
    /// JetStream stream (created if missing with subjects `dcsensor.>`).
    pub stream: String,
    /// Replicas of the stream when dcsensor creates it (3 on a cluster).
    pub replicas: usize,
    /// Duplicate window of the stream when dcsensor creates it.
    pub duplicate_window: Duration,
    /// Require TLS (also implied by a `tls://` URL).
    pub tls: bool,
    /// CA certificate(s) (PEM) to verify the server with, besides the system's.
    pub tls_ca: Option<PathBuf>,
    /// Client certificate and key (PEM) for mutual TLS.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub user: Option<String>,
    pub password: Option<String>,
    pub token: Option<String>,
    /// A `.creds` file (JWT and NKey seed).
    pub credentials_file: Option<PathBuf>,
    /// Time to wait for a connection attempt.
    pub connect_timeout: Duration,
    /// Time to wait for a PubAck (or any JetStream answer) before trying again.
    pub ack_timeout: Duration,
}

impl Default for NatsOptions {
    fn default() -> Self {
        NatsOptions {
            stream: "DCSENSOR".into(),
            replicas: 1,
            duplicate_window: Duration::from_secs(120),
            tls: false,
            tls_ca: None,
            tls_cert: None,
            tls_key: None,
            user: None,
            password: None,
            token: None,
            credentials_file: None,
            connect_timeout: Duration::from_secs(5),
            ack_timeout: Duration::from_secs(5),
        }
    }
}

/// Everything the upstream needs; no command-line parsing here (main.rs fills it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamConfig {
    pub sinks: Vec<SinkSpec>,
    /// The spool directory. None: `<first file sink DIR>/.spool`, else `/var/lib/dcsensor/spool`.
    pub spool: Option<PathBuf>,
    /// Bytes of batches the spool may hold; past that the oldest are dropped.
    pub spool_limit: u64,
    pub batch: Limits,
    /// The sensor's id in batches, subjects and message ids (`A-Z a-z 0-9 _ -`). None: the
    /// host name, with every other character turned into `_`.
    pub sensor_id: Option<String>,
    /// The `host` of batches. None: the host name.
    pub host: Option<String>,
    pub nats: NatsOptions,
    /// How long `finish` waits for acknowledgements; what is left stays in the spool.
    pub finish_timeout: Duration,
}

impl Default for UpstreamConfig {
    fn default() -> Self {
        UpstreamConfig {
            sinks: vec![],
            spool: None,
            spool_limit: 1 << 30,
            batch: Limits::default(),
            sensor_id: None,
            host: None,
            nats: NatsOptions::default(),
            finish_timeout: Duration::from_secs(10),
        }
    }
}

impl UpstreamConfig {
    /// A configuration with these sinks and defaults for everything else.
    pub fn with_sinks(sinks: Vec<SinkSpec>) -> Self {
        UpstreamConfig {
            sinks,
            ..Default::default()
        }
    }

    /// The configuration file's `[output]` section as an upstream configuration.
    pub fn from_section(o: &crate::daemon::config::OutputSection) -> Result<Self, String> {
        let sinks = o
            .sinks
            .iter()
            .map(|s| SinkSpec::parse(s).map_err(|e| format!("output.sinks: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        let sensor_id = some(&o.sensor_id);
        if let Some(id) = &sensor_id {
            check_sensor_id(id).map_err(|e| format!("output.sensor_id: {e}"))?;
        }
        let n = &o.nats;
        Ok(UpstreamConfig {
            sinks,
            spool: Some(o.spool.clone()),
            spool_limit: o.spool_max_mb.saturating_mul(1 << 20),
            batch: Limits {
                max_records: o.batch_records,
                max_bytes: o.batch_kb.saturating_mul(1024),
                max_age: Duration::try_from_secs_f64(o.batch_age)
                    .map_err(|e| format!("output.batch_age {}: {e}", o.batch_age))?,
            },
            sensor_id,
            host: None,
            nats: NatsOptions {
                stream: n.stream.clone(),
                tls: n.tls,
                tls_ca: n.ca_file.clone(),
                tls_cert: n.client_cert.clone(),
                tls_key: n.client_key.clone(),
                user: some(&n.user),
                password: some(&n.password),
                token: some(&n.token),
                credentials_file: n.credentials_file.clone(),
                ..NatsOptions::default()
            },
            ..UpstreamConfig::default()
        })
    }

    /// The spool directory in use (see [`UpstreamConfig::spool`]).
    pub fn spool_dir(&self) -> PathBuf {
        if let Some(s) = &self.spool {
            return s.clone();
        }
        for s in &self.sinks {
            if let SinkSpec::File(d) = s {
                return d.join(".spool");
            }
        }
        PathBuf::from("/var/lib/dcsensor/spool")
    }

    /// The sensor id in use.
    pub fn sensor(&self) -> Result<String, String> {
        match &self.sensor_id {
            Some(id) => check_sensor_id(id).map(|_| id.clone()),
            None => {
                let h = hostname();
                let id: String = h
                    .chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                            c
                        } else {
                            '_'
                        }
                    })
                    .collect();
                let id: String = id.chars().take(MAX_NAME).collect();
                Ok(if id.is_empty() { "sensor".into() } else { id })
            }
        }
    }
}

/// Checks a sensor id: it becomes a NATS subject token and part of a message id.
pub fn check_sensor_id(id: &str) -> Result<(), String> {
    if id.is_empty()
        || id.len() > MAX_NAME
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(format!(
            "sensor id `{id}`: use 1 to {MAX_NAME} characters of A-Z, a-z, 0-9, `-` and `_` (it names a NATS subject), e.g. dc01"
        ));
    }
    Ok(())
}

/// The machine's host name (empty if it has none).
pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into buf, which we own.
    let r = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if r != 0 {
        return String::new();
    }
    let n = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

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
                                sink_nats::NatsSink::new(urls, nats.clone(), &sensor),
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

impl Output for Upstream {
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
                spool.give_up(seq, bit);
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
                    spool.ack(seq, bit);
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
                    spool.give_up(seq, bit);
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sink_specs_parse_and_errors_say_what_to_write() {
        assert_eq!(SinkSpec::parse("stdout"), Ok(SinkSpec::Stdout));
        assert_eq!(
            SinkSpec::parse("file:/var/x"),
            Ok(SinkSpec::File("/var/x".into()))
        );
        assert_eq!(
            SinkSpec::parse("file:rel/dir"),
            Ok(SinkSpec::File("rel/dir".into()))
        );
        assert_eq!(
            SinkSpec::parse("nats://127.0.0.1:4222,nats://127.0.0.1:4223"),
            Ok(SinkSpec::Nats(vec![
                "nats://127.0.0.1:4222".into(),
                "nats://127.0.0.1:4223".into()
            ]))
        );
        assert_eq!(
            SinkSpec::parse("tls://nats.example.org,10.0.0.9:4222"),
            Ok(SinkSpec::Nats(vec![
                "tls://nats.example.org".into(),
                "nats://10.0.0.9:4222".into()
            ]))
        );
        assert_eq!(
            SinkSpec::parse("nats://[::1]:4222"),
            Ok(SinkSpec::Nats(vec!["nats://[::1]:4222".into()]))
        );
        let e = SinkSpec::parse("file:").unwrap_err();
        assert!(e.contains("write file:DIR"), "{e}");
        let e = SinkSpec::parse("/var/lib/x").unwrap_err();
        assert!(e.contains("did you mean `file:/var/lib/x`"), "{e}");
        let e = SinkSpec::parse("kafka://b:9092").unwrap_err();
        assert!(
            e.contains("unknown sink scheme `kafka://`") && e.contains("nats://HOST:PORT"),
            "{e}"
        );
        let e = SinkSpec::parse("nats://h:99999").unwrap_err();
        assert!(e.contains("`99999` is not a port"), "{e}");
        let e = SinkSpec::parse("nats://:4222").unwrap_err();
        assert!(e.contains("names no host"), "{e}");
        let e = SinkSpec::parse("nats://a:1,http://b:2").unwrap_err();
        assert!(e.contains("`http://` is not a NATS URL"), "{e}");
        let e = SinkSpec::parse("").unwrap_err();
        assert!(e.starts_with("empty sink"), "{e}");
        assert!(SinkSpec::parse("json")
            .unwrap_err()
            .contains("unknown sink `json`"));
    }

    #[test]
    fn sensor_ids_are_subject_tokens() {
        assert!(check_sensor_id("dc01_site-2").is_ok());
        for bad in ["", "dc01.lab", "a b", "x>", "*", &"a".repeat(256)] {
            let e = check_sensor_id(bad).unwrap_err();
            assert!(e.contains("A-Z, a-z, 0-9"), "{e}");
        }
        let cfg = UpstreamConfig::default();
        let id = cfg.sensor().unwrap();
        assert!(check_sensor_id(&id).is_ok(), "{id}");
        let want: String = hostname()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if !want.is_empty() {
            assert_eq!(id, want);
        }
    }

    #[test]
    fn the_config_files_output_section_maps_to_the_upstream() {
        let mut o = crate::daemon::config::OutputSection::default();
        let c = UpstreamConfig::from_section(&o).unwrap();
        assert_eq!(
            c.sinks,
            vec![SinkSpec::File("/var/lib/dcsensor/batches".into())]
        );
        assert_eq!(c.spool_dir(), PathBuf::from("/var/lib/dcsensor/spool"));
        assert_eq!((c.spool_limit, c.batch), (1 << 30, Limits::default()));
        assert_eq!(
            (c.sensor_id, c.nats.user, c.nats.stream.as_str()),
            (None, None, "DCSENSOR")
        );
        o.sinks = vec!["nats://10.0.0.9:4222".into(), "stdout".into()];
        o.sensor_id = "dc01".into();
        o.nats.user = "sensor".into();
        o.batch_age = 0.25;
        let c = UpstreamConfig::from_section(&o).unwrap();
        assert_eq!(
            c.sinks,
            vec![
                SinkSpec::Nats(vec!["nats://10.0.0.9:4222".into()]),
                SinkSpec::Stdout
            ]
        );
        assert_eq!(
            (c.sensor_id.as_deref(), c.nats.user.as_deref()),
            (Some("dc01"), Some("sensor"))
        );
        assert_eq!(c.batch.max_age, Duration::from_millis(250));
        o.sensor_id = "dc01.lab".into();
        assert!(UpstreamConfig::from_section(&o)
            .unwrap_err()
            .starts_with("output.sensor_id: sensor id `dc01.lab`"));
        o.sinks = vec!["/tmp/x".into()];
        assert!(UpstreamConfig::from_section(&o)
            .unwrap_err()
            .contains("did you mean `file:/tmp/x`"));
    }

    #[test]
    fn spool_dir_defaults_beside_the_first_file_sink() {
        let mut c =
            UpstreamConfig::with_sinks(vec![SinkSpec::Stdout, SinkSpec::File("/d/out".into())]);
        assert_eq!(c.spool_dir(), PathBuf::from("/d/out/.spool"));
        c.spool = Some("/s".into());
        assert_eq!(c.spool_dir(), PathBuf::from("/s"));
        c.sinks = vec![SinkSpec::Nats(vec!["nats://h:1".into()])];
        c.spool = None;
        assert_eq!(c.spool_dir(), PathBuf::from("/var/lib/dcsensor/spool"));
    }
}
