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

#[test]
fn the_sweep_ticks_exactly_the_flows_due_among_many() {
    // 37 flows (so that due slots fall at every place of the eight-slot groups the sweep
    // passes over at once and in the tail), packets again on every fifth.
    let cfg = FlowConfig {
        udp_idle: 5 * NS,
        ..FlowConfig::default()
    };
    let mut t = T::new(cfg);
    t.waits.store(false, Ordering::Relaxed);
    let port = |k: u16| 41000 + k;
    for k in 0..37 {
        t.udp(NS, &format!("10.0.0.1:{}", port(k)), "10.0.0.3:53", b"q");
    }
    t.table.advance(NS, &mut t.out);
    let ticked = |ev: Vec<(u16, Ev)>, at: Ts| -> Vec<u16> {
        ev.into_iter()
            .filter_map(|(p, e)| (e == Ev::Tick(at)).then_some(p))
            .collect()
    };
    assert_eq!(
        ticked(t.events(), NS),
        (0..37).map(port).collect::<Vec<_>>()
    );
    let again: Vec<u16> = (0..37).filter(|k| k % 5 == 3).map(port).collect();
    for &p in &again {
        t.udp(NS + NS / 2, &format!("10.0.0.1:{p}"), "10.0.0.3:53", b"r");
    }
    t.table.advance(2 * NS, &mut t.out);
    let mut got = ticked(t.events(), 2 * NS);
    got.sort_unstable();
    assert_eq!(
        got, again,
        "only the flows with a packet since the last sweep"
    );
    t.table.advance(3 * NS, &mut t.out);
    assert!(ticked(t.events(), 3 * NS).is_empty());
    // Idle for 5 s: the first 37 - 8 close at 6 s, the eight others at 6.5 s (the 7 s sweep).
    t.table.advance(6 * NS, &mut t.out);
    let closed = t
        .events()
        .into_iter()
        .filter(|(_, e)| *e == Ev::Close(6 * NS))
        .count();
    assert_eq!(closed, 37 - again.len());
    t.table.advance(7 * NS, &mut t.out);
    let closed = t
        .events()
        .into_iter()
        .filter(|(_, e)| *e == Ev::Close(7 * NS))
        .count();
    assert_eq!(closed, again.len());
    assert!(t.table.is_empty());
}

#[test]
fn a_packet_after_its_flow_timed_out_makes_a_new_flow() {
    // The table remembers the last packet's flow to skip the index for the next packet of it;
    // once that flow closes (here at the sweep, between two packets of one key) the next
    // packet must find no flow and make one, not reach the emptied slot.
    let mut t = T::new(FlowConfig::default());
    let (c, s) = ("10.0.0.1:40000", "10.0.0.3:53");
    t.udp(NS, c, s, b"first");
    t.table.advance(100 * NS, &mut t.out);
    assert!(t.table.is_empty());
    t.udp(101 * NS, c, s, b"again");
    t.udp(101 * NS, s, c, b"answer");
    assert_eq!(t.table.len(), 1);
    assert_eq!(t.c(Counter::Flows), 2);
    assert_eq!(
        t.events(),
        vec![
            (40000, Ev::Datagram(TS, b"first".to_vec())),
            (40000, Ev::Close(100 * NS)),
            (40000, Ev::Datagram(TS, b"again".to_vec())),
            (40000, Ev::Datagram(TC, b"answer".to_vec())),
        ]
    );
}
