//! Tests of the pipeline.

use super::*;

#[test]
fn a_burst_of_records_goes_out_in_messages_of_their_own_size() {
    let (tx, rx) = bounded::<RecordMsg>(1000);
    let (back_tx, back_rx) = bounded::<Vec<Record>>(4);
    let pipe = RecordPipe {
        worker: 3,
        tx,
        back: back_rx,
    };
    // A vector given back by the output is reused, its records freed.
    let mut given = Vec::with_capacity(MESSAGE_CAPACITY);
    given.push(Record::new(0, None, Body::Stats(Box::default())));
    back_tx.try_send(given).unwrap();
    let mut out: Vec<Record> = (0..10_000)
        .map(|i| Record::new(i, None, Body::Stats(Box::default())))
        .collect();
    pipe.send(&mut out).unwrap();
    drop(pipe);
    let msgs: Vec<RecordMsg> = std::iter::from_fn(|| rx.recv()).collect();
    assert_eq!(msgs.iter().map(|m| m.records.len()).sum::<usize>(), 10_000);
    for m in &msgs {
        assert_eq!(m.worker, 3);
        assert!(m.records.len() <= RECORDS_PER_MESSAGE);
        assert_eq!(m.records.capacity(), MESSAGE_CAPACITY);
    }
    // In order, and the worker's buffer does not keep the burst's size.
    let ts: Vec<Ts> = msgs.iter().flat_map(|m| &m.records).map(|r| r.ts).collect();
    assert_eq!(ts, (0..10_000).collect::<Vec<Ts>>());
    assert!(out.is_empty() && out.capacity() == MESSAGE_CAPACITY);
}

#[test]
fn a_message_within_its_capacity_goes_without_a_copy() {
    let (tx, rx) = bounded::<RecordMsg>(4);
    let (_back_tx, back_rx) = bounded::<Vec<Record>>(4);
    let pipe = RecordPipe {
        worker: 0,
        tx,
        back: back_rx,
    };
    let mut out = pipe.fresh();
    out.extend((0..10).map(|i| Record::new(i, None, Body::Stats(Box::default()))));
    let at = out.as_ptr();
    pipe.send(&mut out).unwrap();
    let m = rx.try_recv().unwrap();
    assert_eq!(m.records.as_ptr(), at);
    assert_eq!(m.records.len(), 10);
    assert!(out.is_empty() && out.capacity() == MESSAGE_CAPACITY);
    // Nothing is sent for nothing.
    pipe.send(&mut out).unwrap();
    assert!(rx.try_recv().is_none());
}

#[test]
fn each_table_share_leaves_room_for_its_index() {
    for (mb, workers) in [(128, 1), (128, 2), (128, 4), (1024, 1), (1024, 7), (64, 1)] {
        let o = Options {
            memory_budget: mb << 20,
            ..Default::default()
        };
        let (share, frag) = o.memory_shares(workers, 1).unwrap();
        let fixed = BASE_MEMORY + workers * WORKER_MEMORY + frag;
        let half = ((mb << 20) - fixed) / 2 / workers;
        let index = crate::flow::index_bytes(share, o.flow.max_flows / workers);
        assert!(index > 0);
        assert!(
            share + index <= half,
            "{mb} MiB, {workers}: {share} + {index} > {half}"
        );
        // Not much wasted either: a table a little larger would not fit.
        let more = share + half / 50;
        assert!(more + crate::flow::index_bytes(more, o.flow.max_flows / workers) > half);
    }
}

/// Capture files read as if they were a live interface: the pipeline then runs its one worker
/// on the capture thread ([`records::Inline`]); like a live source, each step hands up to the
/// given number of frames (what is waiting in the ring).
struct AsLive(Files, usize);

impl FrameSource for AsLive {
    fn next<F: FnMut(Frame<'_>)>(&mut self, mut f: F) -> Result<Step, CaptureError> {
        let step = self.0.next(&mut f)?;
        if step == Step::Frame {
            for _ in 1..self.1 {
                if self.0.next(&mut f)? != Step::Frame {
                    break;
                }
            }
        }
        Ok(step)
    }
    fn is_replay(&self) -> bool {
        false
    }
}

fn inline_run(paths: &[PathBuf], per_step: usize) -> Vec<String> {
    let mut live = [AsLive(Files::open(paths).unwrap(), per_step)];
    let store = Arc::new(Mutex::new(Vec::new()));
    let opts = Options {
        workers: 1,
        ..Default::default()
    };
    run(
        &mut live,
        &opts,
        Box::new(VecOutput(store.clone())),
        Control::default(),
        Arc::default(),
    )
    .unwrap();
    let records = std::mem::take(&mut *store.lock().unwrap());
    let mut lines: Vec<String> = records
        .iter()
        .filter(|r| r.kind != RecordType::Stats)
        .map(|r| serde_json::to_string(r).unwrap())
        .collect();
    lines.sort();
    lines
}

#[test]
fn one_live_worker_on_the_capture_thread_makes_the_records_a_replay_makes() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata-pcaps/lab");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcap"))
        .collect();
    paths.sort();
    assert!(paths.len() > 20, "the lab captures in {}", dir.display());
    let mut records = 0;
    for p in &paths {
        let replay = replay_to_vec(
            std::slice::from_ref(p),
            &Options {
                workers: 1,
                ..Default::default()
            },
        )
        .unwrap();
        let mut want: Vec<String> = replay
            .records
            .iter()
            .map(|r| serde_json::to_string(r).unwrap())
            .collect();
        want.sort();
        // One frame a step, and many (as libpcap's ring hands them): the same records.
        for per_step in [1, 7, sources::LIVE_BATCH] {
            let got = inline_run(std::slice::from_ref(p), per_step);
            assert_eq!(got, want, "{} at {per_step} frames a step", p.display());
        }
        records += want.len();
    }
    assert!(records > 1000, "{records} records");
}

#[test]
fn payloads_are_borrowed_from_the_map_and_held_until_their_worker_is_done() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("capture");
    let bytes: Vec<u8> = (0..64 * 1024).map(|i| (i % 251) as u8).collect();
    std::fs::write(&path, &bytes).unwrap();
    let map = Arc::new(Map::of(&std::fs::File::open(&path).unwrap()).unwrap());
    let (tx, rx) = bounded::<Batch>(4);
    let (_free_tx, free_rx) = bounded::<Batch>(4);
    let counters = Counters::default();
    let mut d = Dispatch::new(&[tx], &free_rx, false);
    let meta = PacketMeta {
        ts: 1,
        src: "10.0.0.1".parse().unwrap(),
        dst: "10.0.0.2".parse().unwrap(),
        sport: 1000,
        dport: 88,
        transport: crate::record::Transport::Tcp,
        seq: 0,
        ack: 0,
        flags: 0,
        tunnel: Default::default(),
    };
    let m = map.bytes();
    d.packet(meta, &m[5000..5100], Some(&map), 1, &counters);
    assert_eq!(
        map.held(),
        5000,
        "a batch being filled holds its first payload"
    );
    d.packet(meta, &m[9000..9010], Some(&map), 1, &counters);
    // A payload outside the map (a reassembled fragment) is copied.
    d.packet(meta, &[1, 2, 3], Some(&map), 1, &counters);
    d.tick(2, &counters);
    assert_eq!(map.held(), 5000, "sent, not finished: still held");
    let mut b = rx.try_recv().unwrap();
    assert!(b.data.len() == 3, "only the fragment was copied");
    let payloads: Vec<&[u8]> = b.spans.iter().map(|s| b.payload(s)).collect();
    assert_eq!(payloads, [&m[5000..5100], &m[9000..9010], &[1u8, 2, 3][..]]);
    // The worker's word that it is done lets the pages go.
    let (board, seq) = b.done.take().unwrap();
    board[0].store(seq, Ordering::Release);
    d.hold();
    assert_eq!(map.held(), usize::MAX);
}

#[test]
fn batch_scheduling_applies_to_the_thread_and_the_threads_it_starts() {
    // SAFETY: sched_getscheduler(0) only reads the calling thread's policy.
    let policy = || unsafe { libc::sched_getscheduler(0) };
    let (own, child) = std::thread::spawn(move || {
        batch_scheduling().unwrap();
        (policy(), std::thread::spawn(policy).join().unwrap())
    })
    .join()
    .unwrap();
    assert_eq!(own, libc::SCHED_BATCH);
    assert_eq!(
        child,
        libc::SCHED_BATCH,
        "a thread started after inherits the policy"
    );
    assert_ne!(policy(), libc::SCHED_BATCH, "other threads keep theirs");
}

#[test]
fn live_on_one_interface_runs_one_worker_unless_told_otherwise() {
    let auto = Options::default();
    let cores_less_one = auto.worker_count();
    assert!(cores_less_one >= 1);
    assert_eq!(auto.worker_count_for(1, true), 1);
    assert_eq!(auto.worker_count_for(1, false), cores_less_one);
    assert_eq!(auto.worker_count_for(2, true), cores_less_one);
    let three = Options {
        workers: 3,
        ..Default::default()
    };
    assert_eq!(three.worker_count_for(1, true), 3);
    assert_eq!(three.worker_count_for(1, false), 3);
}

/// A live source with no traffic that ends (as a failed capture would) once `until` has come.
struct Quiet {
    until: Instant,
}

impl FrameSource for Quiet {
    fn next<F: FnMut(Frame<'_>)>(&mut self, _: F) -> Result<Step, CaptureError> {
        if Instant::now() >= self.until {
            return Ok(Step::End);
        }
        std::thread::sleep(Duration::from_millis(10));
        Ok(Step::Idle)
    }
    fn is_replay(&self) -> bool {
        false
    }
}

/// How many heartbeats a run of two quiet live sources gives, the second ending after `second`.
fn heartbeats_with_second_source_for(second: Duration) -> usize {
    let start = Instant::now();
    let mut sources = [
        Quiet {
            until: start + Duration::from_millis(2600),
        },
        Quiet {
            until: start + second,
        },
    ];
    let beats = Arc::new(AtomicU64::new(0));
    let counted = beats.clone();
    let control = Control {
        heartbeat: Some(Box::new(move || {
            counted.fetch_add(1, Ordering::Relaxed);
        })),
        ..Default::default()
    };
    let opts = Options {
        workers: 1,
        ..Default::default()
    };
    let out = Box::new(VecOutput(Arc::default()));
    run(&mut sources, &opts, out, control, Arc::default()).unwrap();
    beats.load(Ordering::Relaxed) as usize
}

#[test]
fn a_capture_thread_that_ended_stops_the_heartbeat() {
    // Both alive: a heartbeat at the start and about once a second after.
    assert!(heartbeats_with_second_source_for(Duration::from_secs(5)) >= 2);
    // The second capture thread gone at once: at most the first heartbeat (taken before it
    // ended), none after.
    assert!(heartbeats_with_second_source_for(Duration::ZERO) <= 1);
}
