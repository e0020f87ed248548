//! Tests of the pipeline.

use super::*;

#[test]
fn a_burst_of_records_goes_out_in_messages_of_their_own_size() {
    let (tx, rx) = bounded::<Vec<Record>>(1000);
    let mut out: Vec<Record> = (0..10_000)
        .map(|i| Record::new(i, None, Body::Stats(Box::default())))
        .collect();
    send_records(&tx, &mut out).unwrap();
    drop(tx);
    let msgs: Vec<Vec<Record>> = rx.iter().collect();
    assert_eq!(msgs.iter().map(Vec::len).sum::<usize>(), 10_000);
    for m in &msgs {
        assert!(m.len() <= RECORDS_PER_MESSAGE);
        assert!(m.capacity() <= RECORDS_PER_MESSAGE, "{}", m.capacity());
    }
    // In order, and the worker's buffer does not keep the burst's size.
    let ts: Vec<Ts> = msgs.iter().flatten().map(|r| r.ts).collect();
    assert!(ts.windows(2).all(|w| w[0] < w[1]));
    assert!(out.is_empty() && out.capacity() <= 4 * RECORDS_PER_MESSAGE);
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
