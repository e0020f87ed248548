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
//! recycled.
//! Time is packet time in replay (every worker is told when a second of capture time passed,
//! so timeouts fire even on a quiet worker) and the wall clock live.

use crate::capture::file::FileSource;
use crate::capture::{CaptureError, Frame};
pub use crate::capture::{FrameSource, Step};
use crate::flow::{FlowConfig, FlowTable};
use crate::output::{Output, OutputError};
use crate::packet::{flow_hash, Decoder, PacketConfig, PacketMeta};
use crate::proto::{DecoderConfig, Shared};
use crate::record::{Body, Record, RecordType, Ts, NS};
use crate::stats::{Counter, Counters, Snapshot, StatsRecord};
use queue::{bounded, Receiver, Sender, TrySendError};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

mod queue;

/// Packets per batch handed to a worker.
const BATCH_PACKETS: usize = 256;
/// Payload bytes per batch (a batch is sent when either limit is reached).
const BATCH_BYTES: usize = 256 * 1024;
/// Batches queued per worker.
const QUEUE_BATCHES: usize = 8;
/// Messages of records queued to the output per worker.
const QUEUE_RECORDS: usize = 16;
/// Records per message to the output, at most.
const RECORDS_PER_MESSAGE: usize = 256;
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
    /// The number of workers to start.
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

/// Capture files read one after the other. Every file is opened up front, so that a missing
/// or unreadable file fails the run before anything is printed.
pub struct Files {
    files: Vec<FileSource>,
    current: usize,
    warnings: Vec<String>,
    total: u64,
    done_bytes: u64,
}

impl Files {
    pub fn open(paths: &[PathBuf]) -> Result<Self, CaptureError> {
        let mut files = Vec::with_capacity(paths.len());
        let mut total = 0;
        for p in paths {
            total += std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
            files.push(FileSource::open(p)?);
        }
        Ok(Files {
            files,
            current: 0,
            warnings: Vec::new(),
            total,
            done_bytes: 0,
        })
    }
}

impl FrameSource for Files {
    fn next<F: FnMut(Frame<'_>)>(&mut self, mut f: F) -> Result<Step, CaptureError> {
        loop {
            let Some(file) = self.files.get_mut(self.current) else {
                return Ok(Step::End);
            };
            match file.next_frame() {
                Ok(Some(frame)) => {
                    f(frame);
                    return Ok(Step::Frame);
                }
                Ok(None) => {
                    if let Some(w) = file.warning() {
                        tracing::warn!("{w}");
                        self.warnings.push(w);
                    }
                }
                // A corrupt record (or a read error) ends this file as a cut would: the frames
                // before it were read, the next files still are.
                Err(e) => {
                    let w = format!(
                        "{e}; the frames before it were read, the rest of this file is skipped"
                    );
                    tracing::warn!("{w}");
                    self.warnings.push(w);
                }
            }
            self.done_bytes += file.offset();
            self.current += 1;
        }
    }

    fn is_replay(&self) -> bool {
        true
    }

    fn warnings(&self) -> Vec<String> {
        self.warnings.clone()
    }

    fn total_bytes(&self) -> Option<u64> {
        Some(self.total)
    }

    fn bytes_read(&self) -> u64 {
        self.done_bytes
            + self
                .files
                .get(self.current)
                .map(|f| f.offset())
                .unwrap_or(0)
    }
}

/// Packets for one worker: metadata and payloads side by side in one reusable buffer.
struct Batch {
    metas: Vec<PacketMeta>,
    /// End offset in `data` of each packet's payload.
    ends: Vec<u32>,
    data: Vec<u8>,
    /// The time when the batch was sent (packet time in replay).
    now: Ts,
}

impl Batch {
    fn new() -> Self {
        Batch {
            metas: Vec::with_capacity(BATCH_PACKETS),
            ends: Vec::with_capacity(BATCH_PACKETS),
            data: Vec::with_capacity(BATCH_BYTES + 65_536),
            now: 0,
        }
    }

    fn push(&mut self, meta: PacketMeta, payload: &[u8]) {
        self.data.extend_from_slice(payload);
        self.metas.push(meta);
        self.ends.push(self.data.len() as u32);
    }

    fn full(&self) -> bool {
        self.metas.len() >= BATCH_PACKETS || self.data.len() >= BATCH_BYTES
    }

    fn clear(&mut self) {
        self.metas.clear();
        self.ends.clear();
        self.data.clear();
    }
}

/// The capture side's view of the workers: one queue each, and recycled batches.
struct Dispatch {
    batches: Vec<Batch>,
    queues: Vec<Sender<Batch>>,
    free: Receiver<Batch>,
    /// Live: drop a batch when its worker's queue is full (counted); replay: wait.
    drop_when_full: bool,
}

impl Dispatch {
    /// A capture thread's side: an empty batch for each worker queue.
    fn new(queues: &[Sender<Batch>], free: &Receiver<Batch>, drop_when_full: bool) -> Self {
        Dispatch {
            batches: queues.iter().map(|_| Batch::new()).collect(),
            queues: queues.to_vec(),
            free: free.clone(),
            drop_when_full,
        }
    }

    /// Sends worker `w`'s batch (even an empty one, which carries the time) and takes a fresh one.
    fn send(&mut self, w: usize, now: Ts, counters: &Counters) {
        let fresh = self.free.try_recv().unwrap_or_else(Batch::new);
        let mut b = std::mem::replace(&mut self.batches[w], fresh);
        b.now = now;
        if self.drop_when_full {
            match self.queues[w].try_send(b) {
                Ok(()) => {}
                Err(TrySendError::Full(mut b)) => {
                    counters.add(Counter::DropQueue, b.metas.len() as u64);
                    b.clear();
                    self.batches[w] = b;
                }
                Err(TrySendError::Disconnected(_)) => {}
            }
        } else {
            let _ = self.queues[w].send(b);
        }
    }

    /// Sends every worker its batch, so that each learns the time `now`.
    fn send_all(&mut self, now: Ts, counters: &Counters) {
        for w in 0..self.batches.len() {
            self.send(w, now, counters);
        }
    }

    /// Sends the batches that hold packets.
    fn flush(&mut self, now: Ts, counters: &Counters) {
        for w in 0..self.batches.len() {
            if !self.batches[w].metas.is_empty() {
                self.send(w, now, counters);
            }
        }
    }
}

fn wall_ts() -> Ts {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as Ts)
        .unwrap_or(0)
}

/// Replay pacing: sleeps so that packets come `speed` times faster than they were captured.
struct Pacer {
    speed: f64,
    origin: Option<(Ts, Instant)>,
}

impl Pacer {
    /// How long to wait before the packet at `ts` is due.
    fn wait(&mut self, ts: Ts) -> Option<Duration> {
        let (t0, start) = *self.origin.get_or_insert((ts, Instant::now()));
        let due = Duration::from_secs_f64(ts.saturating_sub(t0) as f64 / 1e9 / self.speed);
        due.checked_sub(start.elapsed())
            .filter(|d| *d > Duration::from_micros(500))
    }
}

fn progress_bar(enabled: bool, total: Option<u64>) -> Option<indicatif::ProgressBar> {
    if !enabled || !std::io::stderr().is_terminal() {
        return None;
    }
    let pb =
        indicatif::ProgressBar::with_draw_target(total, indicatif::ProgressDrawTarget::stderr());
    let style = indicatif::ProgressStyle::with_template(
        "{bar:30} {percent:>3}% {bytes}/{total_bytes} {binary_bytes_per_sec} {msg} eta {eta}",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    pb.set_style(style);
    Some(pb)
}

/// The capture loop: reads, decodes, shards, paces. Runs on the calling thread.
/// What the capture loop shares with the rest of the pipeline.
struct CaptureEnv<'a> {
    counters: &'a Counters,
    workers: &'a [Arc<Counters>],
    stop: &'a AtomicBool,
    last_ts: &'a AtomicU64,
    telemetry: &'a Telemetry,
}

fn capture_loop<S: FrameSource>(
    src: &mut S,
    opts: &Options,
    dispatch: &mut Dispatch,
    env: &CaptureEnv<'_>,
    every_second: &mut dyn FnMut(&mut S),
) -> Result<(), CaptureError> {
    let CaptureEnv {
        counters,
        workers,
        stop,
        last_ts,
        telemetry,
    } = *env;
    let n = dispatch.batches.len() as u64;
    let mut decoder = Decoder::new(opts.packet.clone());
    let replay = src.is_replay();
    let mut pacer = opts
        .speed
        .filter(|s| *s > 0.0 && replay)
        .map(|speed| Pacer {
            speed,
            origin: None,
        });
    let pb = progress_bar(opts.progress && replay, src.total_bytes());
    let mut now: Ts = 0;
    let mut next_mark: Ts = 0;
    let mut next_drop_poll = Instant::now();
    let mut next_live_poll: Ts = 0;
    let mut seen: u64 = 0;
    let started = Instant::now();
    loop {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let step = src.next(|frame| {
            counters.inc(Counter::Packets);
            counters.add(
                Counter::Bytes,
                frame.orig_len.max(frame.data.len() as u32) as u64,
            );
            now = frame.ts;
            if let Some(p) = pacer.as_mut() {
                if let Some(wait) = p.wait(frame.ts) {
                    dispatch.flush(now, counters);
                    // Sleep in short steps so that TERM is noticed during a slow replay.
                    let until = Instant::now() + wait;
                    while !stop.load(Ordering::Relaxed) {
                        let left = until.saturating_duration_since(Instant::now());
                        if left.is_zero() {
                            break;
                        }
                        std::thread::sleep(left.min(Duration::from_millis(50)));
                    }
                }
            }
            if let Some((meta, payload)) = decoder.decode(&frame, counters) {
                let shed = telemetry.shed_level.load(Ordering::Relaxed);
                if shed > 0 && shed_class(&meta, payload.len()) <= shed {
                    counters.add(Counter::DropShed, payload.len() as u64);
                    return;
                }
                let w = (flow_hash(&meta) % n) as usize;
                dispatch.batches[w].push(meta, payload);
                if dispatch.batches[w].full() {
                    dispatch.send(w, now, counters);
                }
            }
        })?;
        match step {
            Step::Frame => {}
            Step::Idle => {
                now = now.max(wall_ts());
                dispatch.flush(now, counters);
            }
            Step::End => break,
        }
        seen += 1;
        // Tell every worker that a second of time passed, so idle flows expire everywhere.
        if now >= next_mark {
            if next_mark != 0 {
                dispatch.send_all(now, counters);
            }
            next_mark = now - now % NS + NS;
            last_ts.store(now, Ordering::Relaxed);
        }
        if seen % 65_536 == 0 {
            last_ts.store(now, Ordering::Relaxed);
            if let Some(pb) = &pb {
                let records: u64 = workers.iter().map(|c| c.get(Counter::Records)).sum();
                let pps = seen as f64 / started.elapsed().as_secs_f64().max(1e-9);
                pb.set_position(src.bytes_read());
                pb.set_message(format!(
                    "{seen} packets ({:.0} kpps), {records} records",
                    pps / 1e3
                ));
            }
        }
        // Reading the clock costs about as much as a packet's dispatch: look every 1024 frames,
        // when the source is idle, and live when the packets' own time (the wall clock) says a
        // second passed, so the watchdog's heartbeat keeps its pace at any rate.
        let due = seen % 1024 == 0 || step == Step::Idle || (!replay && now >= next_live_poll);
        if due && Instant::now() >= next_drop_poll {
            next_live_poll = now.saturating_add(NS);
            if let Some((kernel, iface)) = src.drops() {
                counters.set(Counter::DropKernel, kernel);
                counters.set(Counter::DropInterface, iface);
            }
            decoder.expire_fragments(now, counters);
            every_second(src);
            next_drop_poll = Instant::now() + Duration::from_secs(1);
        }
    }
    if let Some((kernel, iface)) = src.drops() {
        counters.set(Counter::DropKernel, kernel);
        counters.set(Counter::DropInterface, iface);
    }
    decoder.flush_fragments(counters);
    last_ts.store(now, Ordering::Relaxed);
    dispatch.send_all(now, counters);
    if let Some(pb) = pb {
        pb.finish_and_clear();
    }
    Ok(())
}

/// A worker: owns the flows its queue brings, runs them through the flow table and decoders.
///
/// Its records go to the output in messages of [`RECORDS_PER_MESSAGE`], or sooner when its
/// queue is empty (before it sleeps), so that the output thread wakes once per message, not
/// once per batch.
fn worker_loop(
    rx: Receiver<Batch>,
    free: Sender<Batch>,
    records: RecordPipe,
    mut table: FlowTable,
) {
    let mut out = records.fresh();
    let mut last_advance: Ts = 0;
    loop {
        let mut b = match rx.try_recv() {
            Some(b) => b,
            None => {
                if !out.is_empty() && records.send(&mut out).is_err() {
                    return;
                }
                match rx.recv() {
                    Some(b) => b,
                    None => break,
                }
            }
        };
        let mut start = 0usize;
        for (meta, &end) in b.metas.iter().zip(&b.ends) {
            let end = end as usize;
            table.packet(meta, b.data.get(start..end).unwrap_or(&[]), &mut out);
            start = end;
            if out.len() >= RECORDS_PER_MESSAGE && records.send(&mut out).is_err() {
                return;
            }
        }
        if b.now >= last_advance.saturating_add(NS / 10) || b.metas.is_empty() {
            table.advance(b.now, &mut out);
            last_advance = b.now;
        }
        if out.len() >= RECORDS_PER_MESSAGE && records.send(&mut out).is_err() {
            return;
        }
        b.clear();
        let _ = free.try_send(b);
    }
    table.finish(&mut out);
    if !out.is_empty() {
        let _ = records.send(&mut out);
    }
}

/// The output thread's side of the records: the messages, and a way back to each worker.
struct RecordInbox {
    rx: Receiver<RecordMsg>,
    back: Vec<Sender<Vec<Record>>>,
}

/// One worker's records on their way to the output thread.
struct RecordMsg {
    worker: usize,
    records: Vec<Record>,
}

/// A worker's way to the output, and back: the output returns every message's vector, records
/// and all, so that the records are freed by the thread that allocated them (no cross-thread
/// frees contending for the allocator's arenas) and the vector is reused.
struct RecordPipe {
    worker: usize,
    tx: Sender<RecordMsg>,
    back: Receiver<Vec<Record>>,
}

impl RecordPipe {
    /// An empty vector of capacity [`MESSAGE_CAPACITY`]: one the output gave back, or a new one.
    /// Every returned vector is emptied here (its records freed on this thread); only one is
    /// kept, so the vectors a worker holds stay bounded by the queues' depth.
    fn fresh(&self) -> Vec<Record> {
        let mut spare: Option<Vec<Record>> = None;
        while let Some(mut v) = self.back.try_recv() {
            v.clear();
            if spare.is_none() && v.capacity() == MESSAGE_CAPACITY {
                spare = Some(v);
            }
        }
        spare.unwrap_or_else(|| Vec::with_capacity(MESSAGE_CAPACITY))
    }

    /// Sends `out` to the output in messages of at most [`RECORDS_PER_MESSAGE`] records, so
    /// that the records in flight (the channel holds [`QUEUE_RECORDS`] messages per worker)
    /// stay bounded in memory even when an eviction or a timeout closes thousands of flows at
    /// once; `out` is left empty. Each message is a vector of capacity [`MESSAGE_CAPACITY`]: a
    /// message must not carry the capacity of the whole burst (16 queued messages, each holding
    /// the buffer of a 10,000-record eviction, were the largest allocation under a flood).
    /// `out` itself goes as the message when it fits (no copy, the common case); after a burst
    /// it is cut back to that capacity. Err when the output thread is gone.
    fn send(&self, out: &mut Vec<Record>) -> Result<(), ()> {
        if out.is_empty() {
            return Ok(());
        }
        if out.len() <= RECORDS_PER_MESSAGE && out.capacity() == MESSAGE_CAPACITY {
            let records = std::mem::replace(out, self.fresh());
            return self.push(records);
        }
        let mut rest = out.drain(..);
        loop {
            let mut records = self.fresh();
            records.extend(rest.by_ref().take(RECORDS_PER_MESSAGE));
            if records.is_empty() {
                break;
            }
            self.push(records)?;
        }
        drop(rest);
        if out.capacity() != MESSAGE_CAPACITY {
            *out = self.fresh();
        }
        Ok(())
    }

    fn push(&self, records: Vec<Record>) -> Result<(), ()> {
        self.tx
            .send(RecordMsg {
                worker: self.worker,
                records,
            })
            .map_err(|_| ())
    }
}

/// Everything the output thread needs to make `stats` records, besides the run's [`Telemetry`]
/// (every thread's counters and the records per type).
struct StatsSource {
    started: Instant,
    last_ts: Arc<AtomicU64>,
}

impl StatsSource {
    fn record(&self, telemetry: &Telemetry, backlog: Option<u64>, last: bool) -> Record {
        let stats = StatsRecord {
            snapshot: telemetry.snapshot(),
            records_by_type: telemetry.records_by_type(),
            elapsed: self.started.elapsed().as_secs_f64(),
            upstream_backlog: backlog,
            last,
        };
        let ts = match self.last_ts.load(Ordering::Relaxed) {
            0 => wall_ts(),
            t => t,
        };
        Record::new(ts, None, Body::Stats(Box::new(stats)))
    }
}

/// The output thread: counts records per type, hands them to the output, emits `stats`.
fn output_loop(
    inbox: RecordInbox,
    output: &mut Box<dyn Output>,
    stats: &StatsSource,
    interval: Option<Duration>,
    stop: &AtomicBool,
    telemetry: &Telemetry,
    swap: &Receiver<Box<dyn Output>>,
) -> Result<StatsRecord, OutputError> {
    let tick = Duration::from_secs(1);
    let mut next_tick = Instant::now() + tick;
    let mut next_stats = interval.map(|d| Instant::now() + d);
    let mut failed: Option<OutputError> = None;
    let RecordInbox { rx, back } = inbox;
    loop {
        let deadline = next_stats.map_or(next_tick, |s| s.min(next_tick));
        match rx.recv_deadline(deadline) {
            Ok(msg) => {
                if failed.is_some() {
                    continue; // drain so that workers can finish
                }
                for r in &msg.records {
                    telemetry.by_type[r.kind as usize].fetch_add(1, Ordering::Relaxed);
                    if let Err(e) = output.record(r) {
                        stop.store(true, Ordering::Relaxed);
                        failed = Some(e);
                        break;
                    }
                }
                // Back to the worker, which frees the records (when its return queue is full,
                // they are freed here).
                if let Some(b) = back.get(msg.worker) {
                    let _ = b.try_send(msg.records);
                }
            }
            Err(queue::RecvTimeoutError::Timeout) => {}
            Err(queue::RecvTimeoutError::Disconnected) => break,
        }
        if failed.is_some() {
            continue;
        }
        if let Some(mut new) = swap.try_recv() {
            // A reload: the old output delivers what it holds before the new one takes over.
            std::mem::swap(output, &mut new);
            if let Err(e) = new.finish() {
                tracing::error!("the replaced output failed to flush: {e}");
            }
            tracing::info!("output reloaded");
        }
        let now = Instant::now();
        if now >= next_tick {
            if let Err(e) = output.tick() {
                stop.store(true, Ordering::Relaxed);
                failed = Some(e);
                continue;
            }
            if let Ok(mut extra) = telemetry.extra.lock() {
                *extra = output.metrics();
            }
            next_tick = now + tick;
        }
        if let (Some(at), Some(every)) = (next_stats, interval) {
            if now >= at {
                let rec = stats.record(telemetry, output.backlog(), false);
                telemetry.by_type[RecordType::Stats as usize].fetch_add(1, Ordering::Relaxed);
                if let Err(e) = output.record(&rec) {
                    stop.store(true, Ordering::Relaxed);
                    failed = Some(e);
                    continue;
                }
                next_stats = Some(now + every);
            }
        }
    }
    if let Some(e) = failed {
        return Err(e);
    }
    let rec = stats.record(telemetry, output.backlog(), true);
    output.record(&rec)?;
    telemetry.by_type[RecordType::Stats as usize].fetch_add(1, Ordering::Relaxed);
    output.finish()?;
    if let Ok(mut extra) = telemetry.extra.lock() {
        *extra = output.metrics();
    }
    match rec.body {
        Body::Stats(s) => Ok(*s),
        _ => Ok(StatsRecord::default()),
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
    let n = opts.worker_count();
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
    for (i, wc) in worker_counters.iter().enumerate() {
        let (tx, rx) = bounded::<Batch>(QUEUE_BATCHES);
        queues.push(tx);
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
        for (i, src) in rest.iter_mut().enumerate() {
            let mut dispatch = Dispatch::new(&queues, &free_rx, !src.is_replay());
            let env = CaptureEnv {
                counters: &capture_counters[i + 1],
                workers: &worker_counters,
                stop: &stop,
                last_ts: &last_ts,
                telemetry: &telemetry,
            };
            let filter = &filter;
            joins.push(scope.spawn(move || {
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
                capture_loop(src, opts, &mut dispatch, &env, &mut apply)
            }));
        }
        let mut dispatch = Dispatch::new(&queues, &free_rx, !first.is_replay());
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
            let alive = handles.iter().all(|h| !h.is_finished()) && !out_handle.is_finished();
            if alive {
                telemetry.mark_alive();
                if let Some(hb) = control.heartbeat.as_mut() {
                    hb();
                }
            }
        };
        let r = capture_loop(first, opts, &mut dispatch, &env, &mut primary);
        drop(dispatch);
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

/// Live capture on one interface, as a [`FrameSource`].
pub struct Live(pub crate::capture::live::LiveSource);

impl FrameSource for Live {
    fn next<F: FnMut(Frame<'_>)>(&mut self, mut f: F) -> Result<Step, CaptureError> {
        match self.0.next_frame()? {
            Some(frame) => {
                f(frame);
                Ok(Step::Frame)
            }
            None => Ok(Step::Idle),
        }
    }

    fn is_replay(&self) -> bool {
        false
    }

    fn drops(&mut self) -> Option<(u64, u64)> {
        self.0.stats().ok().map(|s| (s.dropped, s.if_dropped))
    }

    fn set_filter(&mut self, bpf: &str) -> Result<(), CaptureError> {
        self.0.set_filter(bpf)
    }
}

#[cfg(test)]
mod tests;
