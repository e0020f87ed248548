//! Unit tests of the ingest's ordering: `Reorder` (each sensor's seq order) and `Recovery`
//! (the stream's order after a restart).

use super::*;
use crate::upstream::batch::{Batcher, Limits};
use std::time::{Duration, Instant};

/// A one-record batch of `sensor` with `seq`, as fetched from the stream at `stream_seq`.
fn batch(sensor: &str, seq: u64, stream_seq: u64, redelivered: bool) -> Incoming {
    let mut b = Batcher::new(Limits::default(), sensor, "host", seq);
    let rec = serde_json::json!({"ts": 1.0, "type": "dns"});
    b.push(&rec, Instant::now()).unwrap();
    b.flush();
    let closed = b.pop_ready().unwrap();
    Incoming {
        bytes: closed.bytes,
        ack: Ack::File {
            path: PathBuf::from(format!("{sensor}-{seq}")),
            remove: false,
        },
        stream_seq: Some(stream_seq),
        redelivered,
    }
}

fn order(v: &[Incoming]) -> Vec<u64> {
    v.iter().map(|i| i.stream_seq.unwrap()).collect()
}

#[test]
fn recovery_holds_until_the_unacknowledged_batches_come_again_then_gives_stream_order() {
    let mut r = Recovery::new(2, Duration::from_secs(60), 100);
    let now = Instant::now();
    assert!(r.active());
    // The batches after the stopped center's last group come first.
    assert!(r
        .push(vec![batch("b", 1, 5, false), batch("b", 2, 6, false)], now)
        .is_empty());
    assert!(r.push(vec![batch("a", 3, 3, true)], now).is_empty());
    let out = r.push(vec![batch("a", 4, 4, true), batch("b", 3, 7, false)], now);
    assert_eq!(order(&out), [3, 4, 5, 6, 7]);
    assert!(!r.active());
    // Then batches pass as they come.
    assert_eq!(order(&r.push(vec![batch("b", 4, 9, false)], now)), [9]);
}

#[test]
fn recovery_counts_alert_batches_that_came_again() {
    let mut r = Recovery::new(2, Duration::from_secs(60), 100);
    let now = Instant::now();
    assert!(r.push(vec![batch("b", 1, 5, false)], now).is_empty());
    // one of the two awaited was a sensor's alert batch (acknowledged, not applied)
    r.came_again(1);
    assert!(r.active());
    let out = r.push(vec![batch("a", 3, 3, true)], now);
    assert_eq!(order(&out), [3, 5]);
    assert!(!r.active());
}

#[test]
fn recovery_goes_on_when_the_wait_is_over_or_the_cap_is_reached() {
    let now = Instant::now();
    let mut r = Recovery::new(3, Duration::from_secs(5), 100);
    assert!(r.push(vec![batch("a", 2, 2, false)], now).is_empty());
    assert!(r.push(vec![], now + Duration::from_secs(4)).is_empty());
    let out = r.push(vec![batch("a", 1, 1, true)], now + Duration::from_secs(6));
    assert_eq!(order(&out), [1, 2]);
    assert!(!r.active());

    let mut r = Recovery::new(3, Duration::from_secs(60), 2);
    assert!(r.push(vec![batch("a", 5, 5, false)], now).is_empty());
    let out = r.push(vec![batch("a", 4, 4, false)], now);
    assert_eq!(order(&out), [4, 5]);
}

#[test]
fn nothing_awaited_nothing_held() {
    let mut r = Recovery::new(0, Duration::from_secs(60), 10);
    assert!(!r.active());
    assert_eq!(
        order(&r.push(vec![batch("a", 1, 8, false)], Instant::now())),
        [8]
    );
}

#[test]
fn reorder_puts_each_sensor_back_in_seq_order_and_counts_a_gap_given_up() {
    let stats = Arc::new(CenterStats::default());
    let mut high = std::collections::HashMap::new();
    high.insert("a".to_string(), 2);
    let mut r = Reorder::new(high, Duration::from_secs(0), 100, stats.clone());
    // Applied already: passes (and is skipped by the processor).
    assert_eq!(order(&r.push(batch("a", 2, 1, false))), [1]);
    // Ahead of the next seq: held until its gap fills.
    assert!(r.push(batch("a", 4, 2, false)).is_empty());
    assert_eq!(r.held(), 1);
    assert_eq!(order(&r.push(batch("a", 3, 3, false))), [3, 2]);
    // A gap never filled: released when the wait (0 here) is over, counted.
    assert!(r.push(batch("a", 7, 4, false)).is_empty());
    assert_eq!(order(&r.expired()), [4]);
    assert_eq!(stats.gaps.load(Ordering::Relaxed), 2);
    // Another sensor is not held by the first one's gap.
    assert_eq!(order(&r.push(batch("b", 1, 5, false))), [5]);
}
