//! The worker and output side of a run: the worker loop (flow table and decoders), the
//! records' way to the output thread and back ([`RecordPipe`]), `stats` records, and the output
//! loop.

use super::*;

/// A worker: owns the flows its queue brings, runs them through the flow table and decoders.
///
/// Its records go to the output in messages of [`RECORDS_PER_MESSAGE`], or sooner when its
/// queue is empty (before it sleeps), so that the output thread wakes once per message, not
/// once per batch.
pub(super) fn worker_loop(
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
        for (i, (meta, span)) in b.metas.iter().zip(&b.spans).enumerate() {
            if let Some(m) = b.metas.get(i + 4) {
                prefetch(m as *const PacketMeta as *const u8);
            }
            if let Some(s) = b.spans.get(i + 2) {
                prefetch(b.payload(s).as_ptr());
            }
            table.packet(meta, b.payload(span), &mut out);
            if out.len() >= RECORDS_PER_MESSAGE && records.send(&mut out).is_err() {
                return;
            }
        }
        // Done with the payloads: the capture thread may release the map's pages under them.
        if let Some((board, seq)) = b.done.take() {
            if let Some(slot) = board.get(records.worker) {
                slot.store(seq, Ordering::Release);
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

/// The one worker of a live run on one interface, run on the capture thread itself: a packet
/// goes from libpcap's ring through the flow table and decoders as soon as the packet layer has
/// decoded it, without a copy into a batch, a queue or a wake-up of another thread (the kernel's
/// ring is the buffer, and what overflows it is counted as kernel drops). Time and records go as
/// in [`worker_loop`]: the flows advance every tenth of a second of packet time and on every
/// tick; records go to the output in messages of [`RECORDS_PER_MESSAGE`], or sooner when the
/// source is idle or a second passed.
pub(super) struct Inline {
    table: FlowTable,
    records: RecordPipe,
    out: Vec<Record>,
    last_advance: Ts,
    /// The output thread is gone (the run is failing): records are dropped, as a worker thread
    /// would stop.
    closed: bool,
}

impl Inline {
    pub(super) fn new(table: FlowTable, records: RecordPipe) -> Self {
        Inline {
            out: records.fresh(),
            table,
            records,
            last_advance: 0,
            closed: false,
        }
    }

    fn send(&mut self) {
        if self.closed {
            self.out.clear();
        } else if self.records.send(&mut self.out).is_err() {
            self.closed = true;
            self.out.clear();
        }
    }

    fn advance(&mut self, now: Ts) {
        self.table.advance(now, &mut self.out);
        self.last_advance = now;
    }

    /// Capture ended: every flow is closed (decoders emit what they hold) and the records sent.
    pub(super) fn finish(mut self) {
        self.table.finish(&mut self.out);
        self.send();
    }
}

impl Deliver for Inline {
    #[inline]
    fn packet(
        &mut self,
        meta: PacketMeta,
        payload: &[u8],
        _: Option<&Arc<Map>>,
        now: Ts,
        _: &Counters,
    ) {
        self.table.packet(&meta, payload, &mut self.out);
        if now >= self.last_advance.saturating_add(NS / 10) {
            self.advance(now);
        }
        if self.out.len() >= RECORDS_PER_MESSAGE {
            self.send();
        }
    }
    fn flush(&mut self, now: Ts, _: &Counters) {
        if now >= self.last_advance.saturating_add(NS / 10) {
            self.advance(now);
        }
        self.send();
    }
    fn tick(&mut self, now: Ts, _: &Counters) {
        self.advance(now);
        self.send();
    }
}

/// The output thread's side of the records: the messages, and a way back to each worker.
pub(super) struct RecordInbox {
    pub(super) rx: Receiver<RecordMsg>,
    pub(super) back: Vec<Sender<Vec<Record>>>,
}

/// One worker's records on their way to the output thread.
pub(super) struct RecordMsg {
    pub(super) worker: usize,
    pub(super) records: Vec<Record>,
}

/// A worker's way to the output, and back: the output frees each message's records and returns
/// the emptied vector, so that the worker reuses it. Freeing there takes the work off the worker,
/// the pipeline's busiest thread; the allocator (mimalloc, see `main.rs`) takes a block freed by
/// another thread back without a lock.
pub(super) struct RecordPipe {
    pub(super) worker: usize,
    pub(super) tx: Sender<RecordMsg>,
    pub(super) back: Receiver<Vec<Record>>,
}

impl RecordPipe {
    /// An empty vector of capacity [`MESSAGE_CAPACITY`]: one the output gave back, or a new one.
    /// Only one is kept, so the vectors a worker holds stay bounded by the queues' depth.
    pub(super) fn fresh(&self) -> Vec<Record> {
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
    pub(super) fn send(&self, out: &mut Vec<Record>) -> Result<(), ()> {
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

    pub(super) fn push(&self, records: Vec<Record>) -> Result<(), ()> {
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
pub(super) struct StatsSource {
    pub(super) started: Instant,
    pub(super) last_ts: Arc<AtomicU64>,
}

impl StatsSource {
    pub(super) fn record(&self, telemetry: &Telemetry, backlog: Option<u64>, last: bool) -> Record {
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
pub(super) fn output_loop(
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
                // The records are freed here, off the worker (the busiest thread), and the
                // emptied vector goes back to the worker for its next message.
                let mut records = msg.records;
                records.clear();
                if let Some(b) = back.get(msg.worker) {
                    let _ = b.try_send(records);
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

/// Asks the CPU to bring the cache line at `p` in ahead of its use (a hint: nothing happens
/// where there is no such instruction). The capture thread wrote the batch's packet metadata on
/// another core, and the payloads lie in the capture file's pages: fetching them a few packets
/// ahead overlaps the misses with the work on the packets before.
#[inline(always)]
fn prefetch(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint that never faults, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}
