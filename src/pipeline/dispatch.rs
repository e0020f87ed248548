//! The capture side of a run: batches of packets for the workers ([`Batch`]), the queues to
//! them ([`Dispatch`]), replay pacing, the progress bar, and the capture loop that reads,
//! decodes, shards and paces. Where the loop puts packets is a [`Deliver`]: worker threads'
//! queues, or the one worker run on the capture thread itself ([`super::records::Inline`]).

use super::*;

/// Packets for one worker: metadata and payloads side by side in one reusable buffer.
pub(super) struct Batch {
    pub(super) metas: Vec<PacketMeta>,
    /// End offset in `data` of each packet's payload.
    pub(super) ends: Vec<u32>,
    pub(super) data: Vec<u8>,
    /// The time when the batch was sent (packet time in replay).
    pub(super) now: Ts,
}

impl Batch {
    pub(super) fn new() -> Self {
        Batch {
            metas: Vec::with_capacity(BATCH_PACKETS),
            ends: Vec::with_capacity(BATCH_PACKETS),
            data: Vec::with_capacity(BATCH_BYTES + 65_536),
            now: 0,
        }
    }

    pub(super) fn push(&mut self, meta: PacketMeta, payload: &[u8]) {
        self.data.extend_from_slice(payload);
        self.metas.push(meta);
        self.ends.push(self.data.len() as u32);
    }

    pub(super) fn full(&self) -> bool {
        self.metas.len() >= BATCH_PACKETS || self.data.len() >= BATCH_BYTES
    }

    pub(super) fn clear(&mut self) {
        self.metas.clear();
        self.ends.clear();
        self.data.clear();
    }
}

/// The capture side's view of the workers: one queue each, and recycled batches.
pub(super) struct Dispatch {
    pub(super) batches: Vec<Batch>,
    pub(super) queues: Vec<Sender<Batch>>,
    pub(super) free: Receiver<Batch>,
    /// Live: drop a batch when its worker's queue is full (counted); replay: wait.
    pub(super) drop_when_full: bool,
}

impl Dispatch {
    /// A capture thread's side: an empty batch for each worker queue.
    pub(super) fn new(
        queues: &[Sender<Batch>],
        free: &Receiver<Batch>,
        drop_when_full: bool,
    ) -> Self {
        Dispatch {
            batches: queues.iter().map(|_| Batch::new()).collect(),
            queues: queues.to_vec(),
            free: free.clone(),
            drop_when_full,
        }
    }

    /// Sends worker `w`'s batch (even an empty one, which carries the time) and takes a fresh one.
    pub(super) fn send(&mut self, w: usize, now: Ts, counters: &Counters) {
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
    pub(super) fn send_all(&mut self, now: Ts, counters: &Counters) {
        for w in 0..self.batches.len() {
            self.send(w, now, counters);
        }
    }

    /// Sends the batches that hold packets.
    pub(super) fn flush(&mut self, now: Ts, counters: &Counters) {
        for w in 0..self.batches.len() {
            if !self.batches[w].metas.is_empty() {
                self.send(w, now, counters);
            }
        }
    }
}

/// Where the capture loop puts the packets it decoded, and how it tells the workers the time.
pub(super) trait Deliver {
    /// One packet of capture time `now`.
    fn packet(&mut self, meta: PacketMeta, payload: &[u8], now: Ts, counters: &Counters);
    /// The source is idle (or replay pacing waits): hand on what is held.
    fn flush(&mut self, now: Ts, counters: &Counters);
    /// A second of capture time passed, or capture ended: every worker learns the time `now`.
    fn tick(&mut self, now: Ts, counters: &Counters);
}

impl Deliver for Dispatch {
    #[inline]
    fn packet(&mut self, meta: PacketMeta, payload: &[u8], now: Ts, counters: &Counters) {
        let n = self.batches.len() as u64;
        let w = (flow_hash(&meta, registry::SMB.tcp_ports) % n) as usize;
        self.batches[w].push(meta, payload);
        if self.batches[w].full() {
            self.send(w, now, counters);
        }
    }
    fn flush(&mut self, now: Ts, counters: &Counters) {
        Dispatch::flush(self, now, counters);
    }
    fn tick(&mut self, now: Ts, counters: &Counters) {
        self.send_all(now, counters);
    }
}

pub(super) fn wall_ts() -> Ts {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as Ts)
        .unwrap_or(0)
}

/// Replay pacing: sleeps so that packets come `speed` times faster than they were captured.
pub(super) struct Pacer {
    pub(super) speed: f64,
    pub(super) origin: Option<(Ts, Instant)>,
}

impl Pacer {
    /// How long to wait before the packet at `ts` is due.
    pub(super) fn wait(&mut self, ts: Ts) -> Option<Duration> {
        let (t0, start) = *self.origin.get_or_insert((ts, Instant::now()));
        let due = Duration::from_secs_f64(ts.saturating_sub(t0) as f64 / 1e9 / self.speed);
        due.checked_sub(start.elapsed())
            .filter(|d| *d > Duration::from_micros(500))
    }
}

pub(super) fn progress_bar(enabled: bool, total: Option<u64>) -> Option<indicatif::ProgressBar> {
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
pub(super) struct CaptureEnv<'a> {
    pub(super) counters: &'a Counters,
    pub(super) workers: &'a [Arc<Counters>],
    pub(super) stop: &'a AtomicBool,
    pub(super) last_ts: &'a AtomicU64,
    pub(super) telemetry: &'a Telemetry,
}

pub(super) fn capture_loop<S: FrameSource, D: Deliver>(
    src: &mut S,
    opts: &Options,
    dispatch: &mut D,
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
                dispatch.packet(meta, payload, now, counters);
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
                dispatch.tick(now, counters);
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
    dispatch.tick(now, counters);
    if let Some(pb) = pb {
        pb.finish_and_clear();
    }
    Ok(())
}
