//! The capture side of a run: batches of packets for the workers ([`Batch`]), the queues to
//! them ([`Dispatch`]), replay pacing, the progress bar, and the capture loop that reads,
//! decodes, shards and paces. Where the loop puts packets is a [`Deliver`]: worker threads'
//! queues, or the one worker run on the capture thread itself ([`super::records::Inline`]).

use super::*;

/// Packets for one worker: their metadata, and their payloads copied into one reusable buffer
/// or borrowed from the capture file's memory map.
pub(super) struct Batch {
    pub(super) metas: Vec<PacketMeta>,
    /// Where each packet's payload is.
    pub(super) spans: Vec<Span>,
    pub(super) data: Vec<u8>,
    /// The map that borrowed payloads lie in (one per batch).
    pub(super) map: Option<Arc<Map>>,
    /// The lowest offset in `map` a payload of this batch starts at.
    low: usize,
    /// For a batch with borrowed payloads: the sender's board of finished batches and this
    /// batch's number on it, which the worker writes there when it is done with the payloads.
    pub(super) done: Option<(Arc<[AtomicU64]>, u64)>,
    /// The time when the batch was sent (packet time in replay).
    pub(super) now: Ts,
}

/// Where a packet's payload lies: `len` bytes at `at` in the batch's `data`, or in its `map`.
#[derive(Clone, Copy)]
pub(super) struct Span {
    at: usize,
    len: u32,
    mapped: bool,
}

impl Batch {
    pub(super) fn new() -> Self {
        Batch {
            metas: Vec::with_capacity(BATCH_PACKETS),
            spans: Vec::with_capacity(BATCH_PACKETS),
            // Allocated by the first copied payload: a replay's batches borrow theirs.
            data: Vec::new(),
            map: None,
            low: 0,
            done: None,
            now: 0,
        }
    }

    /// Adds a packet whose payload is copied into the batch.
    pub(super) fn push(&mut self, meta: PacketMeta, payload: &[u8]) {
        if self.data.capacity() == 0 {
            // Room for a full batch and the packet that fills it, allocated once.
            self.data.reserve_exact(BATCH_BYTES + 65_536);
        }
        let at = self.data.len();
        self.data.extend_from_slice(payload);
        self.metas.push(meta);
        self.spans.push(Span {
            at,
            len: payload.len() as u32,
            mapped: false,
        });
    }

    /// Adds a packet whose payload is `len` bytes at `at` in `map`, borrowed (the caller makes
    /// sure the batch holds no other map).
    fn push_mapped(&mut self, meta: PacketMeta, map: &Arc<Map>, at: usize, len: usize) {
        if self.map.is_none() {
            self.map = Some(map.clone());
            self.low = at;
        }
        self.metas.push(meta);
        self.spans.push(Span {
            at,
            len: len as u32,
            mapped: true,
        });
    }

    /// The payload of the packet at `span`.
    #[inline]
    pub(super) fn payload(&self, span: &Span) -> &[u8] {
        let bytes = match (span.mapped, &self.map) {
            (true, Some(m)) => m.bytes(),
            (true, None) => &[],
            (false, _) => &self.data,
        };
        bytes
            .get(span.at..span.at + span.len as usize)
            .unwrap_or(&[])
    }

    pub(super) fn full(&self) -> bool {
        self.metas.len() >= BATCH_PACKETS || self.data.len() >= BATCH_BYTES
    }

    /// Empties the batch (its map, if any, is let go; a worker has told its sender it is done).
    pub(super) fn clear(&mut self) {
        self.metas.clear();
        self.spans.clear();
        self.data.clear();
        self.map = None;
        self.done = None;
    }
}

/// The capture side's view of the workers: one queue each, and recycled batches.
pub(super) struct Dispatch {
    pub(super) batches: Vec<Batch>,
    pub(super) queues: Vec<Sender<Batch>>,
    pub(super) free: Receiver<Batch>,
    /// Live: drop a batch when its worker's queue is full (counted); replay: wait.
    pub(super) drop_when_full: bool,
    /// The capture file's map that payloads are borrowed from now.
    map: Option<Arc<Map>>,
    /// Per worker, the number of the last batch with borrowed payloads it finished.
    board: Arc<[AtomicU64]>,
    /// The number of the last batch sent with borrowed payloads.
    seq: u64,
    /// Per worker, the batches with payloads borrowed from `map` that are sent and maybe not
    /// finished: their numbers and lowest offsets, oldest first.
    inflight: Vec<VecDeque<(u64, usize)>>,
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
            map: None,
            board: queues.iter().map(|_| AtomicU64::new(0)).collect(),
            seq: 0,
            inflight: queues.iter().map(|_| VecDeque::new()).collect(),
        }
    }

    /// Sends worker `w`'s batch (even an empty one, which carries the time) and takes a fresh one.
    pub(super) fn send(&mut self, w: usize, now: Ts, counters: &Counters) {
        let fresh = self.free.try_recv().unwrap_or_else(Batch::new);
        let mut b = std::mem::replace(&mut self.batches[w], fresh);
        b.now = now;
        if let Some(m) = &b.map {
            self.seq += 1;
            b.done = Some((self.board.clone(), self.seq));
            if self.map.as_ref().is_some_and(|cur| Arc::ptr_eq(cur, m)) {
                self.inflight[w].push_back((self.seq, b.low));
            }
        }
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
        self.hold();
    }

    /// Tells the map the lowest offset that batches not yet finished read, so that the reader
    /// does not release those pages under them (see [`Map::hold`]).
    pub(super) fn hold(&mut self) {
        let Some(map) = &self.map else { return };
        let mut low = usize::MAX;
        for (w, sent) in self.inflight.iter_mut().enumerate() {
            let done = self.board[w].load(Ordering::Acquire);
            while sent.front().is_some_and(|(seq, _)| *seq <= done) {
                sent.pop_front();
            }
            if let Some((_, at)) = sent.front() {
                low = low.min(*at);
            }
            let b = &self.batches[w];
            if b.map.as_ref().is_some_and(|m| Arc::ptr_eq(m, map)) {
                low = low.min(b.low);
            }
        }
        map.hold(low);
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
    /// One packet of capture time `now`; `map` is the capture file's map when the frame lies in
    /// one (the payload may be borrowed from it).
    fn packet(
        &mut self,
        meta: PacketMeta,
        payload: &[u8],
        map: Option<&Arc<Map>>,
        now: Ts,
        counters: &Counters,
    );
    /// The source is idle (or replay pacing waits): hand on what is held.
    fn flush(&mut self, now: Ts, counters: &Counters);
    /// A second of capture time passed, or capture ended: every worker learns the time `now`.
    fn tick(&mut self, now: Ts, counters: &Counters);
}

impl Deliver for Dispatch {
    #[inline]
    fn packet(
        &mut self,
        meta: PacketMeta,
        payload: &[u8],
        map: Option<&Arc<Map>>,
        now: Ts,
        counters: &Counters,
    ) {
        // One worker takes every flow: no hash to compute.
        let w = match self.batches.len() as u64 {
            1 => 0,
            n => (flow_hash(&meta, registry::SMB.tcp_ports) % n) as usize,
        };
        // A payload inside the file's map is borrowed (a reassembled fragment is not).
        match map.and_then(|m| Some((m, m.offset_of(payload)?))) {
            Some((m, at)) => {
                if !self.map.as_ref().is_some_and(|cur| Arc::ptr_eq(cur, m)) {
                    // The next file: batches of the last one hold that map, not this one.
                    self.map = Some(m.clone());
                    self.inflight.iter_mut().for_each(VecDeque::clear);
                }
                if self.batches[w]
                    .map
                    .as_ref()
                    .is_some_and(|bm| !Arc::ptr_eq(bm, m))
                {
                    self.send(w, now, counters);
                }
                let starts = self.batches[w].map.is_none();
                self.batches[w].push_mapped(meta, m, at, payload.len());
                if starts {
                    self.hold();
                }
            }
            None => self.batches[w].push(meta, payload),
        }
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

/// What the capture loop shares with the rest of the pipeline.
pub(super) struct CaptureEnv<'a> {
    pub(super) counters: &'a Counters,
    pub(super) workers: &'a [Arc<Counters>],
    pub(super) stop: &'a AtomicBool,
    pub(super) last_ts: &'a AtomicU64,
    pub(super) telemetry: &'a Telemetry,
}

/// Tells every worker that a second of packet time passed (so idle flows expire everywhere)
/// when `now` reached `next_mark`, and moves the mark to the next second.
#[inline]
fn second_mark<D: Deliver>(
    now: Ts,
    next_mark: &mut Ts,
    dispatch: &mut D,
    counters: &Counters,
    last_ts: &AtomicU64,
) {
    if now >= *next_mark {
        if *next_mark != 0 {
            dispatch.tick(now, counters);
        }
        *next_mark = now - now % NS + NS;
        last_ts.store(now, Ordering::Relaxed);
    }
}

/// The capture loop: reads, decodes, shards, paces. Runs on the calling thread.
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
        let before = seen;
        // A live source hands every frame waiting in its ring in one step, so what is due per
        // frame (the second's tick) is done here, frame by frame, as for one frame a step.
        let step = src.next_mapped(|frame, map| {
            counters.inc(Counter::Packets);
            counters.add(
                Counter::Bytes,
                frame.orig_len.max(frame.data.len() as u32) as u64,
            );
            now = frame.ts;
            seen += 1;
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
                } else {
                    dispatch.packet(meta, payload, map, now, counters);
                }
            }
            second_mark(now, &mut next_mark, dispatch, counters, last_ts);
        })?;
        match step {
            Step::Frame => {}
            Step::Idle => {
                now = now.max(wall_ts());
                dispatch.flush(now, counters);
                second_mark(now, &mut next_mark, dispatch, counters, last_ts);
            }
            Step::End => break,
        }
        if seen >> 16 != before >> 16 {
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
        let due =
            seen >> 10 != before >> 10 || step == Step::Idle || (!replay && now >= next_live_poll);
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
