//! The sweep: which flows it ticks and when idle flows close.

use super::*;

#[test]
fn a_decoder_with_nothing_waiting_is_ticked_again_only_after_a_packet() {
    let mut t = short_idle_flows(false);
    t.table.advance(NS, &mut t.out); // a packet since the last sweep: both ticked once
    t.table.advance(2 * NS, &mut t.out);
    t.table.advance(3 * NS, &mut t.out);
    assert_eq!(
        t.events(),
        vec![
            d(TS, b"q"),
            (40000, Ev::Datagram(TS, b"query".to_vec())),
            (50000, Ev::Tick(NS)),
            (40000, Ev::Tick(NS)),
        ]
    );
    t.tcp(3 * NS + 1, C, S, 1002, 5001, ACK, b"r"); // the TCP one again: ticked once more
    t.table.advance(4 * NS, &mut t.out);
    t.table.advance(5 * NS, &mut t.out);
    assert_eq!(t.events(), vec![d(TS, b"r"), (50000, Ev::Tick(4 * NS))]);
    // Idle timeouts still close both, each on the sweep it falls due.
    t.table.advance(6 * NS, &mut t.out);
    assert_eq!(t.events(), vec![(40000, Ev::Close(6 * NS))]);
    t.table.advance(13 * NS, &mut t.out);
    assert!(
        t.events().is_empty(),
        "TCP idle for 10 s only at 3 s + 10 s"
    );
    t.table.advance(14 * NS, &mut t.out);
    assert_eq!(t.events(), vec![(50000, Ev::Close(14 * NS))]);
    assert!(t.table.is_empty());
    // A decoder that says it waits is ticked on every sweep, packets or not.
    t.waits.store(true, Ordering::Relaxed);
    t.udp(20 * NS, "10.0.0.1:40001", "10.0.0.3:53", b"query");
    t.table.advance(21 * NS, &mut t.out);
    t.table.advance(22 * NS, &mut t.out);
    let ticks: Vec<_> = t.events().into_iter().skip(1).collect();
    assert_eq!(
        ticks,
        vec![(40001, Ev::Tick(21 * NS)), (40001, Ev::Tick(22 * NS))]
    );
}
