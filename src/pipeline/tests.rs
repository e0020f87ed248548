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
