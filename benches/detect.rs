//! Criterion benchmark: the detection engine alone on the records of the bench capture.
//!
//! The capture is built at bench time with `../shared/bench/make-bench-pcap.sh` (every shared
//! public and lab capture, copied `DCSENSOR_DETECT_COPIES` times with fresh addresses; 4 by
//! default, which builds in under a minute) into `target/bench-detect/`, never committed. It is
//! decoded to records once, in process, as `dcsensor detect` reads a capture (each record in its
//! MessagePack shape, read back into the engine's `Rec`, shared as `dcsensor detect` hands them
//! over); what is measured is only `Engine::feed` over all of them plus the final `flush`, with a
//! fresh engine per iteration (default tuning), so records/s is the engine's own rate on one
//! core. The alerts emitted are dropped inside the measured pass (as a consumer would); the
//! engine itself is dropped after it, outside the measurement (`teardown`), because the figure is
//! the rate of a running engine, which is not torn down after each batch of records. Under
//! callgrind, `--toggle-collect='*teardown*'` counts the teardown on its own.
//!
//! `DCSENSOR_DETECT_CPU=N` runs N passes (20 by default) and reports records per second of the
//! thread's CPU time instead (less disturbed than wall time when other processes share the
//! cores; the teardown timed apart and reported beside); `DCSENSOR_DETECT_ONCE=1` runs one
//! pass, for callgrind.
//!
//! `DCSENSOR_DETECT_JSONL=1` also writes the records as JSON lines beside the capture (what
//! `benches/e2e-detect.sh` feeds to the binary).
use criterion::{criterion_group, Criterion, Throughput};
use dcsensor::detect::{Engine, Rec, Tuning};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

fn bench_pcap() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let copies: u32 = std::env::var("DCSENSOR_DETECT_COPIES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4);
    let dir = root.join("target/bench-detect");
    std::fs::create_dir_all(&dir).expect("create target/bench-detect");
    let pcap = dir.join(format!("bench-{copies}.pcap"));
    if !pcap.exists() {
        let script = root.join("../shared/bench/make-bench-pcap.sh");
        assert!(
            script.exists(),
            "{} is missing: the bench capture is built from ../shared (the shared captures)",
            script.display()
        );
        let tmp = dir.join(format!("bench-{copies}.pcap.part"));
        eprintln!("building {} ({copies} copies)", pcap.display());
        // tcprewrite warns for every tunnelled packet: its output goes to a log beside
        let log = std::fs::File::create(dir.join("make-bench-pcap.log")).expect("log file");
        let st = Command::new("bash")
            .arg(&script)
            .arg(&tmp)
            .arg(copies.to_string())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .status()
            .expect("run make-bench-pcap.sh");
        assert!(
            st.success(),
            "make-bench-pcap.sh failed (it needs wireshark-common and tcpreplay); see target/bench-detect/make-bench-pcap.log"
        );
        std::fs::rename(&tmp, &pcap).expect("rename the bench capture");
    }
    pcap
}

fn records(pcap: &Path) -> Vec<Arc<Rec>> {
    let opts = dcsensor::pipeline::Options {
        workers: 1,
        ..Default::default()
    };
    let r = dcsensor::pipeline::replay_to_vec(&[pcap.to_path_buf()], &opts)
        .unwrap_or_else(|e| panic!("{}: {e}", pcap.display()));
    let recs: Vec<Arc<Rec>> = r
        .records
        .iter()
        .map(|x| Arc::new(Rec::from_record(x).expect("a record reads back")))
        .collect();
    if std::env::var_os("DCSENSOR_DETECT_JSONL").is_some() {
        let mut text = String::new();
        for x in &r.records {
            text.push_str(&serde_json::to_string(x).expect("json"));
            text.push('\n');
        }
        std::fs::write(pcap.with_extension("jsonl"), text).expect("write the records");
    }
    recs
}

/// One pass of a fresh engine over every record, then the final flush; the alert emissions
/// (dropped here) and the engine, which the caller drops with [`teardown`], outside the pass.
/// Not inlined, so that callgrind can count this alone (`--toggle-collect=*engine_pass*`).
#[inline(never)]
fn engine_pass(tuning: &Tuning, recs: &[Arc<Rec>]) -> (usize, Engine) {
    let mut e = Engine::new(tuning.clone());
    let mut n = 0usize;
    for r in recs {
        n += black_box(e.feed("bench", r)).len();
    }
    n += e.flush().len();
    (n, e)
}

/// Drops an engine after a pass (not part of a running engine's rate; counted apart).
#[inline(never)]
fn teardown(e: Engine) {
    drop(black_box(e));
}

fn bench(c: &mut Criterion) {
    let pcap = bench_pcap();
    let recs = records(&pcap);
    let tuning = Tuning::default();
    let run = |recs: &[Arc<Rec>]| engine_pass(&tuning, recs);
    let (alerts, e) = run(&recs);
    teardown(e);
    let mut kinds = std::collections::BTreeMap::<&str, usize>::new();
    for r in &recs {
        *kinds.entry(r.kind.as_str()).or_default() += 1;
    }
    eprintln!(
        "{}: {} records {kinds:?}, {alerts} alert emissions",
        pcap.display(),
        recs.len()
    );
    assert!(alerts > 0, "the bench capture raises alerts");
    let mut g = c.benchmark_group("detect");
    g.throughput(Throughput::Elements(recs.len() as u64));
    g.sample_size(10);
    // the engine is dropped outside the timed loop (see the module documentation)
    g.bench_function("engine_bench_capture", |b| {
        b.iter_with_large_drop(|| run(black_box(&recs)))
    });
    g.finish();
}

criterion_group!(benches, bench);

/// CPU seconds used by the calling thread.
fn thread_cpu_seconds() -> f64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the current value of a valid clock into `t`, which we own.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    t.tv_sec as f64 + t.tv_nsec as f64 / 1e9
}

fn main() {
    // DCSENSOR_DETECT_ONCE=1: one engine pass and exit, for
    // valgrind --tool=callgrind --toggle-collect='*engine_pass*' target/release/deps/detect-*
    if std::env::var_os("DCSENSOR_DETECT_ONCE").is_some() {
        let recs = records(&bench_pcap());
        let (n, e) = engine_pass(&Tuning::default(), &recs);
        teardown(e);
        eprintln!("{} records, {n} alert emissions", recs.len());
        return;
    }
    // DCSENSOR_DETECT_CPU=N: N engine passes timed in this thread's CPU time, not wall time
    // (on a shared machine the wall clock counts the time other processes held the core)
    if let Some(n) = std::env::var_os("DCSENSOR_DETECT_CPU") {
        let passes: u32 = n.to_str().and_then(|s| s.parse().ok()).unwrap_or(20).max(1);
        let recs = records(&bench_pcap());
        let tuning = Tuning::default();
        teardown(engine_pass(&tuning, &recs).1); // warm-up
        let (mut cpu, mut down) = (0.0, 0.0);
        for _ in 0..passes {
            let start = thread_cpu_seconds();
            let (n, e) = engine_pass(&tuning, black_box(&recs));
            let end = thread_cpu_seconds();
            black_box(n);
            teardown(e);
            cpu += end - start;
            down += thread_cpu_seconds() - end;
        }
        let total = recs.len() as f64 * f64::from(passes);
        eprintln!(
            "{passes} passes over {} records: {cpu:.3} s of thread CPU time, {:.0} records per CPU second \
             (engine teardown after each pass, not counted: {down:.3} s; counted, {:.0} records per CPU second)",
            recs.len(),
            total / cpu,
            total / (cpu + down)
        );
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
