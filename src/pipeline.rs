//! The threads and channels, wired in one place.
//!
//! ```text
//! capture thread ──batches of packets──▶ worker 0..N ──Vec<Record>──▶ output thread ──▶ Output
//!  (read, decode      (bounded queue per    (flow table, TCP           (stats, per-type
//!   to TCP/UDP,        worker, parking;      reassembly, decoders)      counts, JSON or
//!   defragment,        back-pressure in                                 upstream batches)
//!   shard by a         replay, counted
//!   symmetric hash)    drops live)
//! ```
//!
//! The capture thread decodes the packet layer itself so that only TCP/UDP payloads and a small
//! [`PacketMeta`] cross the channel, in batches (one channel operation per batch, not per
//! packet), to the worker that owns the flow: both directions of a connection hash alike, so a
//! flow lives in exactly one worker and decoders need no locks (SMB connections between the same
//! two addresses all go to one worker, for multichannel: see [`flow_hash`]). Batch buffers are
//! recycled. In replay the payloads are not copied: a batch borrows them from the capture
//! file's memory map (shared with the reader), and the reader gives pages back to the kernel
//! only behind the oldest batch a worker has not finished ([`Map::hold`]).
//! Time is packet time in replay (every worker is told when a second of capture time passed,
//! so timeouts fire even on a quiet worker) and the wall clock live.
//!
//! Live capture on one interface with one worker runs that worker on the capture thread
//! ([`records::Inline`]): each packet is decoded from libpcap's ring as it is read, with no copy
//! into a batch and no wake-up of another thread; the kernel's ring is then the only buffer.
//! Replay keeps a worker thread of its own, which the capture thread reads ahead of.

use crate::capture::file::map::Map;
use crate::capture::file::FileSource;
use crate::capture::{CaptureError, Frame};
pub use crate::capture::{FrameSource, Step};
use crate::flow::{FlowConfig, FlowTable};
use crate::output::{Output, OutputError};
use crate::packet::{flow_hash, Decoder, PacketConfig, PacketMeta};
use crate::proto::{registry, DecoderConfig, Shared};
use crate::record::{Body, Record, RecordType, Ts, NS};
use crate::stats::{Counter, Counters, Snapshot, StatsRecord};
use queue::{bounded, Receiver, Sender, TrySendError};
use std::collections::VecDeque;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

mod dispatch;
mod queue;
mod records;
mod sources;

use dispatch::{capture_loop, wall_ts, Batch, CaptureEnv, Deliver, Dispatch};
use records::{output_loop, worker_loop, Inline, RecordInbox, RecordMsg, RecordPipe, StatsSource};
pub use sources::{Files, Live};

/// Packets per batch handed to a worker.
const BATCH_PACKETS: usize = 256;
/// Payload bytes per batch (a batch is sent when either limit is reached).
const BATCH_BYTES: usize = 256 * 1024;
/// Batches queued per worker (live and replay alike). A replay once queued 32: the capture
/// thread was woken a quarter as often (about 4 % of the 60-copy bench replay), but the batches
/// in flight held up to four times the capture file's pages and copied payloads, and a
/// fragment flood with four workers peaked at 244 MiB against 69 under a 128 MiB budget
/// (`tests/flood.rs`).
const QUEUE_BATCHES: usize = 8;
/// Messages of records queued to the output per worker.
const QUEUE_RECORDS: usize = 8;
/// Records per message to the output, at most: a live round's records (about 430 at 100 k
/// packets/s of the bench capture, one round every [`crate::capture::live::ROUND_GAP`]) go in
/// one message, one wake-up of the output thread. The queue holds as many records as before
/// (8 x 512, formerly 16 x 256).
const RECORDS_PER_MESSAGE: usize = 512;
/// The capacity of every vector of records between a worker and the output: room for one
/// message and the records a packet may add past it before the worker sends.
const MESSAGE_CAPACITY: usize = 2 * RECORDS_PER_MESSAGE;

/// The sensor's memory budget when none is configured: 1 GiB, half the systemd unit's
/// `MemoryMax=2G`, which leaves room for the capture rings and the upstream spool.
pub const DEFAULT_MEMORY_BUDGET: usize = 1 << 30;
/// What the process needs besides flows, reassembly, fragments and decoder state: code, the
/// output and its buffers, allocator slack.
const BASE_MEMORY: usize = 24 << 20;
/// What each worker needs besides its flow table: its queue of batches, its stack, its records
/// in flight and its share of allocator slack.
const WORKER_MEMORY: usize = 8 << 20;
/// The least flow-table memory a worker can work with.
const MIN_WORKER_STATE: usize = 2 << 20;

/// Settings of a run.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Worker threads (0: cores - 1, at least 1).
    pub workers: usize,
    /// Replay pacing: `Some(x)` plays packets x times faster than captured; None: at full speed.
    pub speed: Option<f64>,
    /// A `stats` record every this many seconds (wall clock); None: only at the end.
    pub stats_interval: Option<Duration>,
    /// Show a progress bar on stderr when it is a terminal (replay).
    pub progress: bool,
    pub packet: PacketConfig,
    /// The sensor's flow settings; `max_flows` and `reassembly_memory` are totals, shared
    /// evenly by the workers ([`FlowConfig::per_worker`]).
    pub flow: FlowConfig,
    pub decoder: DecoderConfig,
    /// The memory budget of the whole run in bytes (0: none beyond the caps): what is left of
    /// it after a fixed allowance for the process and for each worker's queue, and after the
    /// fragment memory of each capture thread, is shared evenly by the workers' flow tables.
    pub memory_budget: usize,
}

impl Options {
    /// The number of workers a run over `sources` capture sources starts, `live` or replay: the
    /// setting when given; else one for live capture on one interface (run on the capture
    /// thread itself, the cheapest per packet: on a domain controller every cycle the sensor
    /// takes is the DC's, and one thread keeps up with far more than a DC's traffic; a busier
    /// link takes fanout, `capture.fanout`), else [`Options::worker_count`].
    pub fn worker_count_for(&self, sources: usize, live: bool) -> usize {
        if self.workers == 0 && live && sources == 1 {
            1
        } else {
            self.worker_count()
        }
    }

    /// The number of workers to start when the setting is 0 (cores - 1, at least 1), or the
    /// setting.
    pub fn worker_count(&self) -> usize {
        if self.workers > 0 {
            return self.workers;
        }
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        cores.saturating_sub(1).max(1)
    }

    /// The budget's share of each worker's flow table (bytes; 0 when there is no budget), and
    /// the fragment memory of each capture thread, for `workers` workers and `sources`
    /// capture threads; an error when the budget is too small for them.
    pub fn memory_shares(&self, workers: usize, sources: usize) -> Result<(usize, usize), String> {
        let frag = self.packet.fragment_memory;
        if self.memory_budget == 0 {
            return Ok((0, frag));
        }
        let workers = workers.max(1);
        // Fragments get at most a sixteenth of the budget.
        let frag = frag.min(self.memory_budget / 16 / sources.max(1));
        let fixed = BASE_MEMORY + workers * WORKER_MEMORY + sources * frag;
        // Half of what is left is headroom for the allocator: under a flood's churn (flows
        // evicted, records made and freed by other threads) the heap holds more than the bytes
        // the tables account (fragmentation, records in flight to the output).
        let half = self.memory_budget.saturating_sub(fixed) / 2 / workers;
        // The table's index is reserved whole when the table is made: its bytes come out of
        // the worker's half, the table gets the largest share that leaves room for them.
        let max_flows = (self.flow.max_flows / workers).max(1);
        let fits = |share: usize| share + crate::flow::index_bytes(share, max_flows) <= half;
        let (mut lo, mut hi) = (0, half);
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            if fits(mid) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        let state = lo;
        if state < MIN_WORKER_STATE {
            let min = MIN_WORKER_STATE + crate::flow::index_bytes(MIN_WORKER_STATE, max_flows);
            let need = (fixed + 2 * workers * min).div_ceil(1 << 20);
            return Err(format!(
                "a memory budget of {} MiB is too small for {workers} worker(s): give at least {need} MiB (memory_budget_mb, --memory-mb) or fewer workers",
                self.memory_budget >> 20
            ));
        }
        Ok((state, frag))
    }
}

/// What a replay produced, for tests and tools: every record (sorted by `ts`, stable), the
/// final stats, and warnings (a capture cut short names its file and byte offset).
#[derive(Debug, Default)]
pub struct ReplayResult {
    pub records: Vec<Record>,
    pub stats: StatsRecord,
    pub warnings: Vec<String>,
}

/// How a run ended.
#[derive(Debug, Default)]
pub struct RunSummary {
    /// The final stats record's body.
    pub stats: StatsRecord,
    /// Non-fatal problems (a truncated capture file, ...), already logged.
    pub warnings: Vec<String>,
}

/// What a running pipeline shows the outside (metrics, the resource guard): every thread's
/// counters, records per type, the output's own figures, and the shedding level.
#[derive(Default)]
pub struct Telemetry {
    counters: Mutex<Vec<Arc<Counters>>>,
    by_type: [AtomicU64; RecordType::ALL.len()],
    extra: Mutex<Vec<crate::output::Metric>>,
    /// Load shedding level set by the resource guard (0: none; see [`shed_class`]).
    pub shed_level: std::sync::atomic::AtomicU8,
    /// Unix seconds when the run last saw capture running and every worker and the output
    /// alive (0: not yet, or the run ended); `/healthz` reads it.
    alive_at: AtomicU64,
}

impl Telemetry {
    /// The sum of every thread's counters now.
    pub fn snapshot(&self) -> Snapshot {
        let list = self.counters.lock().map(|l| l.clone()).unwrap_or_default();
        Snapshot::sum(list.iter().map(|c| c.as_ref()))
    }

    /// Records emitted per type so far.
    pub fn records_by_type(&self) -> Vec<(&'static str, u64)> {
        RecordType::ALL
            .iter()
            .zip(&self.by_type)
            .map(|(t, n)| (t.as_str(), n.load(Ordering::Relaxed)))
            .collect()
    }

    /// The output's own metrics (batches, acknowledgements, upstream errors), as of its last tick.
    pub fn output_metrics(&self) -> Vec<crate::output::Metric> {
        self.extra.lock().map(|e| e.clone()).unwrap_or_default()
    }

    /// Notes that capture runs and every thread is alive now.
    pub fn mark_alive(&self) {
        self.alive_at.store(unix_secs(), Ordering::Relaxed);
    }

    /// Whether capture ran with every thread alive within the last `secs` seconds.
    pub fn alive_within(&self, secs: u64) -> bool {
        let at = self.alive_at.load(Ordering::Relaxed);
        at != 0 && unix_secs().saturating_sub(at) <= secs
    }

    fn register(&self, c: Arc<Counters>) {
        if let Ok(mut l) = self.counters.lock() {
            l.push(c);
        }
    }
}

fn unix_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The lowest shedding level that drops a packet with these ports and this much payload, from
/// the protocol registry ([`crate::proto::registry::shed_class`]): bulk SMB data first (level 1),
/// then DNS (2), then DCE-RPC and every other port (3). Authentication — Kerberos, LDAP binds and
/// small SMB messages (session setup, tree connect) — is never shed: its class is above the
/// guard's highest level.
pub fn shed_class(meta: &PacketMeta, payload_len: usize) -> u8 {
    crate::proto::registry::shed_class(meta.sport, meta.dport, payload_len)
}

/// Why a run failed.
#[derive(Debug)]
pub enum RunError {
    Capture(CaptureError),
    /// The settings cannot work (a memory budget too small for the workers, ...).
    Config(String),
    Output(OutputError),
    Thread(String),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Capture(e) => write!(f, "{e}"),
            RunError::Config(e) => write!(f, "{e}"),
            RunError::Output(e) => write!(f, "output failed: {e}"),
            RunError::Thread(e) => write!(
                f,
                "internal error: {e}; please report it with the capture that caused it"
            ),
        }
    }
}

impl std::error::Error for RunError {}

impl From<CaptureError> for RunError {
    fn from(e: CaptureError) -> Self {
        RunError::Capture(e)
    }
}

/// What a reload (HUP) changes while running.
#[derive(Default)]
pub struct Reload {
    /// A new capture filter for every live source.
    pub bpf: Option<String>,
    /// A new output; the old one is flushed and closed first, so no record is lost.
    pub output: Option<Box<dyn Output>>,
}

/// How the outside steers a run: stop (TERM/INT), reload (HUP), and a heartbeat while every
/// thread is alive (systemd's watchdog).
#[derive(Default)]
pub struct Control {
    pub stop: Arc<AtomicBool>,
    /// Set by HUP; the run clears it and calls `reloader`.
    pub reload: Arc<AtomicBool>,
    pub reloader: Option<Box<dyn FnMut() -> Reload + Send>>,
    /// Called about once a second while every worker and the output are alive.
    pub heartbeat: Option<Box<dyn FnMut() + Send>>,
}

/// Runs a whole pipeline over `sources` (one capture thread each) until they end or
/// `control.stop` is set, writing to `output`.
///
/// On stop (TERM, INT) capture ends, the workers drain their queues and close every flow, so
/// that decoders emit what they hold, and the output is flushed before this returns.
///
/// `telemetry` is this run's: its counters and per-type counts are what the `stats` records
/// report, so give each run a fresh one.
pub fn run<S: FrameSource + Send>(
    sources: &mut [S],
    opts: &Options,
    mut output: Box<dyn Output>,
    mut control: Control,
    telemetry: Arc<Telemetry>,
) -> Result<RunSummary, RunError> {
    let live = !sources.is_empty() && sources.iter().all(|s| !s.is_replay());
    // The members of a kernel fanout group each run a worker of their own on their capture
    // thread, whatever the workers setting: the kernel already gave each member every packet
    // between the hosts it has.
    let fanout = live && sources.len() > 1 && sources.iter().all(|s| s.owns_its_flows());
    let n = match fanout {
        true => sources.len(),
        false => opts.worker_count_for(sources.len(), live),
    };
    let (table_memory, frag_memory) = opts
        .memory_shares(n, sources.len())
        .map_err(RunError::Config)?;
    let mut opts = opts.clone();
    opts.packet.fragment_memory = frag_memory;
    let opts = &opts;
    let shared = Arc::new(Shared::default());
    let capture_counters: Vec<Arc<Counters>> = sources
        .iter()
        .map(|_| Arc::new(Counters::default()))
        .collect();
    let output_counters = Arc::new(Counters::default());
    let worker_counters: Vec<Arc<Counters>> =
        (0..n).map(|_| Arc::new(Counters::default())).collect();
    let last_ts = Arc::new(AtomicU64::new(0));
    let mut all = capture_counters.clone();
    all.push(output_counters.clone());
    all.extend(worker_counters.iter().cloned());
    for c in &all {
        telemetry.register(c.clone());
    }
    let stats = StatsSource {
        started: Instant::now(),
        last_ts: last_ts.clone(),
    };

    let (rec_tx, rec_rx) = bounded::<RecordMsg>(QUEUE_RECORDS * n);
    let mut back_txs = Vec::with_capacity(n);
    let (free_tx, free_rx) = bounded::<Batch>(n * (QUEUE_BATCHES + 2) * sources.len().max(1));
    let mut queues = Vec::with_capacity(n);
    let mut handles = Vec::with_capacity(n);
    // Live on one interface with one worker, the worker runs on the capture thread (see
    // `records::Inline`), and so does each fanout member's; a replay keeps its own worker
    // thread, which reads ahead of it.
    let mut inlines = Vec::new();
    let run_inline = fanout || (live && n == 1 && sources.len() == 1);
    for (i, wc) in worker_counters.iter().enumerate() {
        let table = FlowTable::new(
            opts.flow.per_worker(n, table_memory),
            opts.decoder.clone(),
            shared.clone(),
            wc.clone(),
        );
        let (back_tx, back_rx) = bounded::<Vec<Record>>(QUEUE_RECORDS + 2);
        back_txs.push(back_tx);
        let records = RecordPipe {
            worker: i,
            tx: rec_tx.clone(),
            back: back_rx,
        };
        if run_inline {
            inlines.push(Inline::new(table, records));
            continue;
        }
        let (tx, rx) = bounded::<Batch>(QUEUE_BATCHES);
        queues.push(tx);
        let free = free_tx.clone();
        let h = std::thread::Builder::new()
            .name(format!("dcsensor-worker-{i}"))
            .spawn(move || worker_loop(rx, free, records, table))
            .map_err(|e| RunError::Thread(format!("cannot start a worker thread: {e}")))?;
        handles.push(h);
    }
    drop(rec_tx);
    drop(free_tx);

    output.attach_counters(output_counters.clone());
    let interval = opts.stats_interval;
    let out_stop = control.stop.clone();
    let out_telemetry = telemetry.clone();
    let (swap_tx, swap_rx) = bounded::<Box<dyn Output>>(1);
    let out_handle = std::thread::Builder::new()
        .name("dcsensor-output".into())
        .spawn(move || {
            let inbox = RecordInbox {
                rx: rec_rx,
                back: back_txs,
            };
            let r = output_loop(
                inbox,
                &mut output,
                &stats,
                interval,
                &out_stop,
                &out_telemetry,
                &swap_rx,
            );
            (r, output)
        })
        .map_err(|e| RunError::Thread(format!("cannot start the output thread: {e}")))?;

    // The capture filter as last reloaded, with a generation so every capture thread applies it.
    let filter: Mutex<(u64, String)> = Mutex::new((0, String::new()));
    let stop = control.stop.clone();
    let captured: Vec<Result<(), CaptureError>> = std::thread::scope(|scope| {
        let mut results = Vec::new();
        let mut joins = Vec::new();
        let (first, rest) = match sources.split_first_mut() {
            Some(x) => x,
            None => return results,
        };
        let mut inlines = inlines.into_iter();
        let first_inline = inlines.next();
        for (i, src) in rest.iter_mut().enumerate() {
            let env = CaptureEnv {
                counters: &capture_counters[i + 1],
                workers: &worker_counters,
                stop: &stop,
                last_ts: &last_ts,
                telemetry: &telemetry,
            };
            let filter = &filter;
            let inline = inlines.next();
            let (queues, free_rx) = (&queues, &free_rx);
            joins.push(scope.spawn(move || match inline {
                Some(mut worker) => {
                    let r = secondary_capture(src, opts, &mut worker, &env, filter);
                    worker.finish();
                    r
                }
                None => {
                    let mut dispatch = Dispatch::new(queues, free_rx, !src.is_replay());
                    secondary_capture(src, opts, &mut dispatch, &env, filter)
                }
            }));
        }
        let env = CaptureEnv {
            counters: &capture_counters[0],
            workers: &worker_counters,
            stop: &stop,
            last_ts: &last_ts,
            telemetry: &telemetry,
        };
        let mut primary = |s: &mut S| {
            if control.reload.swap(false, Ordering::Relaxed) {
                if let Some(reloader) = control.reloader.as_mut() {
                    let r = reloader();
                    if let Some(bpf) = r.bpf {
                        match s.set_filter(&bpf) {
                            Ok(()) => tracing::info!(bpf, "capture filter reloaded"),
                            Err(e) => tracing::error!("{e}"),
                        }
                        if let Ok(mut f) = filter.lock() {
                            *f = (f.0 + 1, bpf);
                        }
                    }
                    if let Some(o) = r.output {
                        let _ = swap_tx.send(o);
                    }
                }
            }
            // Every thread: the workers, the output, and the other capture threads (a fanout
            // member's capture thread is its worker too).
            let alive = handles.iter().all(|h| !h.is_finished())
                && joins.iter().all(|j| !j.is_finished())
                && !out_handle.is_finished();
            if alive {
                telemetry.mark_alive();
                if let Some(hb) = control.heartbeat.as_mut() {
                    hb();
                }
            }
        };
        let r = match first_inline {
            Some(mut worker) => {
                let r = capture_loop(first, opts, &mut worker, &env, &mut primary);
                worker.finish();
                r
            }
            None => {
                let mut dispatch = Dispatch::new(&queues, &free_rx, !first.is_replay());
                capture_loop(first, opts, &mut dispatch, &env, &mut primary)
            }
        };
        results.push(r);
        for j in joins {
            results.push(j.join().unwrap_or_else(|_| {
                Err(CaptureError::Read {
                    source: "capture thread".into(),
                    offset: 0,
                    reason: "panicked".into(),
                })
            }));
        }
        results
    });
    telemetry.alive_at.store(0, Ordering::Relaxed);
    if sources.len() > 1 {
        // How the packets were spread over the capture threads (fanout members, interfaces).
        for (i, c) in capture_counters.iter().enumerate() {
            tracing::info!(
                capture_thread = i,
                packets = c.get(Counter::Packets),
                "capture thread ended"
            );
        }
    }
    drop(queues); // closes the queues: workers drain, close their flows and exit
    drop(swap_tx);
    for h in handles {
        h.join()
            .map_err(|_| RunError::Thread("a worker thread panicked".into()))?;
    }
    let (out_result, _output) = out_handle
        .join()
        .map_err(|_| RunError::Thread("the output thread panicked".into()))?;
    for c in captured {
        c?;
    }
    let stats = out_result.map_err(RunError::Output)?;
    let warnings = sources.iter().flat_map(|s| s.warnings()).collect();
    Ok(RunSummary { stats, warnings })
}

/// The capture loop of every source but the first: it applies a reloaded capture filter (the
/// first source's thread takes the reload and publishes the filter in `filter` with a new
/// generation).
fn secondary_capture<S: FrameSource, D: Deliver>(
    src: &mut S,
    opts: &Options,
    deliver: &mut D,
    env: &CaptureEnv<'_>,
    filter: &Mutex<(u64, String)>,
) -> Result<(), CaptureError> {
    let mut seen_gen = 0;
    let mut apply = |s: &mut S| {
        let Ok(f) = filter.lock() else { return };
        if f.0 != seen_gen {
            seen_gen = f.0;
            if let Err(e) = s.set_filter(&f.1) {
                tracing::error!("{e}");
            }
        }
    };
    capture_loop(src, opts, deliver, env, &mut apply)
}

/// Puts the calling thread, and every thread it starts from now on, under the kernel's
/// `SCHED_BATCH` policy (sched(7)): the batch job a replay is. Its weight is unchanged (it gets
/// its fair share of the CPU), but a thread it wakes no longer preempts the one running, so the
/// capture and output threads, woken hundreds of times a second, stop taking the worker's core
/// from it while the other core is free. On 2 cores a replay of the bench capture ran 9-12 %
/// faster (interleaved runs; README, "Speed work, fifth round"). Allowed without privileges; an
/// error (a kernel without the policy) leaves the policy as it was.
pub fn batch_scheduling() -> Result<(), String> {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: `param` is a valid sched_param; pid 0 is the calling thread.
    let r = unsafe { libc::sched_setscheduler(0, libc::SCHED_BATCH, &param) };
    if r == 0 {
        Ok(())
    } else {
        Err(format!(
            "cannot schedule the replay as a batch job (SCHED_BATCH): {}; it runs under the normal policy",
            std::io::Error::last_os_error()
        ))
    }
}

/// An output that keeps records in memory (for [`replay_to_vec`] and tests).
pub struct VecOutput(pub Arc<Mutex<Vec<Record>>>);

impl Output for VecOutput {
    fn record(&mut self, rec: &Record) -> Result<(), OutputError> {
        self.0
            .lock()
            .map_err(|_| "record store poisoned")?
            .push(rec.clone());
        Ok(())
    }

    fn finish(&mut self) -> Result<(), OutputError> {
        Ok(())
    }
}

/// Replays capture files through the whole pipeline and collects the records in memory
/// (without the `stats` records, which come back as [`ReplayResult::stats`]).
pub fn replay_to_vec(paths: &[PathBuf], opts: &Options) -> Result<ReplayResult, String> {
    let mut files = Files::open(paths).map_err(|e| e.to_string())?;
    let store = Arc::new(Mutex::new(Vec::new()));
    let summary = run(
        std::slice::from_mut(&mut files),
        opts,
        Box::new(VecOutput(store.clone())),
        Control::default(),
        Arc::default(),
    )
    .map_err(|e| e.to_string())?;
    let mut records: Vec<Record> =
        std::mem::take(&mut *store.lock().map_err(|_| "record store poisoned")?);
    records.retain(|r| r.kind != RecordType::Stats);
    records.sort_by_key(|r| r.ts);
    Ok(ReplayResult {
        records,
        stats: summary.stats,
        warnings: summary.warnings,
    })
}

#[cfg(test)]
mod tests;
