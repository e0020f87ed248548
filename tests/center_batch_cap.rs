//! The center applies no batch that declares more records than `max_batch_records` (a record
//! takes about 1.8 KiB decoded however few bytes it had in the batch, so a batch of empty maps
//! would take some 2,000 times its size): such a batch is kept unapplied and counted as
//! malformed, and the batches beside it are applied as ever.

use dcsensor::center::engine::default_engine;
use dcsensor::center::ingest::{DirSource, Processor};
use dcsensor::center::store::Store;
use dcsensor::center::CenterStats;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// A batch as the sensor writes it (header members, then the records), of `n` DNS records.
fn batch(seq: u64, n: usize) -> Vec<u8> {
    use rmp::encode::{write_array_len, write_map_len, write_str, write_uint};
    let mut b = Vec::new();
    write_map_len(&mut b, 5).unwrap();
    write_str(&mut b, "schema").unwrap();
    write_uint(&mut b, dcsensor::upstream::batch::SCHEMA).unwrap();
    write_str(&mut b, "sensor").unwrap();
    write_str(&mut b, "dc-cap").unwrap();
    write_str(&mut b, "host").unwrap();
    write_str(&mut b, "dc-cap.example").unwrap();
    write_str(&mut b, "seq").unwrap();
    write_uint(&mut b, seq).unwrap();
    write_str(&mut b, "records").unwrap();
    write_array_len(&mut b, n as u32).unwrap();
    for i in 0..n {
        let r = serde_json::json!({
            "ts": 1_700_000_000.0 + (seq * 100 + i as u64) as f64,
            "type": "dns", "src": "192.0.2.7", "sport": 50000, "dst": "192.0.2.1", "dport": 53,
            "proto": "udp", "query": format!("host{i}.example.org"), "qtype": "A",
        });
        b.extend(rmp_serde::to_vec_named(&r).unwrap());
    }
    b
}

fn write(dir: &Path, seq: u64, n: usize) {
    std::fs::write(dir.join(format!("batch-{seq:020}.msgpack")), batch(seq, n)).unwrap();
}

/// Every batch of `batches` applied by a center on a new SQLite store in `dir`, its engine tuned
/// by `tuning`: how many acknowledgements it gave, and its counters.
async fn apply(dir: &Path, batches: &Path, tuning: Option<&Path>) -> (usize, Arc<CenterStats>) {
    let store = Store::open(&format!("sqlite:{}", dir.join("center.db").display()))
        .await
        .unwrap();
    let stats = Arc::new(CenterStats::default());
    let engine = default_engine(tuning).unwrap();
    let mut proc = Processor::start(store, engine, 24.0, stats.clone())
        .await
        .unwrap();
    let mut src = DirSource::new(vec![batches.to_path_buf()], true);
    let items = tokio::task::block_in_place(|| src.scan(100));
    let acks = proc.apply(items).await.unwrap();
    (acks.len(), stats)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_of_more_records_than_max_batch_records_is_kept_unapplied_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let batches = dir.path().join("batches");
    std::fs::create_dir_all(&batches).unwrap();
    write(&batches, 1, 3);
    write(&batches, 2, 4); // one more than the cap
    write(&batches, 3, 2);
    let tuning = dir.path().join("tuning.toml");
    std::fs::write(&tuning, "[detect]\nmax_batch_records = 3\n").unwrap();
    let (acks, stats) = apply(dir.path(), &batches, Some(&tuning)).await;
    assert_eq!(acks, 3, "every batch answered");
    assert_eq!(stats.batches.load(Ordering::Relaxed), 2);
    assert_eq!(stats.records.load(Ordering::Relaxed), 5);
    assert_eq!(stats.malformed.load(Ordering::Relaxed), 1);
    // With the cap at its default the same batch is applied.
    let dir2 = tempfile::tempdir().unwrap();
    write(dir2.path(), 2, 4);
    let (acks, stats) = apply(dir2.path(), dir2.path(), None).await;
    assert_eq!(acks, 1);
    assert_eq!(stats.batches.load(Ordering::Relaxed), 1);
    assert_eq!(stats.malformed.load(Ordering::Relaxed), 0);
}
