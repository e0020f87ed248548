//! The flow table under pressure: eviction order, the room kept for authentication ports, the
//! emergency mode and the memory budget.

use super::*;
use crate::flow::pressure::{BASE_COST, TCP_BASE_COST};

/// What a connection with a test decoder costs (the decoder's size, as `pressure::cost` counts
/// it).
const FLOW_COST: usize = TCP_BASE_COST + std::mem::size_of::<Rec>() + 64;

fn cfg(max_flows: usize, reserve: usize) -> FlowConfig {
    FlowConfig {
        max_flows,
        auth_reserve_percent: reserve,
        ..FlowConfig::default()
    }
}

fn closed(events: &[(u16, Ev)]) -> Vec<u16> {
    events
        .iter()
        .filter(|(_, e)| matches!(e, Ev::Close(_)))
        .map(|(p, _)| *p)
        .collect()
}

#[test]
fn a_full_table_evicts_quiet_flows_first_then_the_least_recently_seen() {
    let mut t = T::new(cfg(3, 0));
    handshake(&mut t, NS);
    t.tcp(NS, C, S, 1001, 5001, ACK, b"a");
    t.tcp(2 * NS, "10.0.0.9:1234", S, 1, 0, SYN, b""); // half-open
    t.tcp(3 * NS, "10.0.0.7:7", S, 1, 0, SYN, b"");
    t.tcp(3 * NS, "10.0.0.7:7", S, 2, 0, ACK, b"c");
    assert_eq!(t.c(Counter::FlowEmergency), 0);
    // Full: the half-open flow goes, though it is not the oldest.
    t.tcp(4 * NS, "10.0.0.8:8", S, 1, 0, SYN, b"");
    assert_eq!(closed(&t.events()), vec![1234]);
    assert_eq!(t.c(Counter::FlowsEvictedHalfOpen), 1);
    assert_eq!(t.c(Counter::FlowEmergency), 1);
    t.tcp(5 * NS, C, S, 1002, 5001, ACK, b"b");
    // Full again: the new half-open flow goes before any flow with data.
    t.tcp(6 * NS, "10.0.0.6:6", S, 1, 0, ACK, b"e");
    assert_eq!(closed(&t.events()), vec![8]);
    // Only flows with data left: the least recently seen goes (10.0.0.7, last seen at 3 s),
    // closed as at a timeout.
    t.tcp(7 * NS, "10.0.0.5:5", S, 1, 0, ACK, b"f");
    assert_eq!(closed(&t.events()), vec![7]);
    assert_eq!(t.c(Counter::FlowsEvictedHalfOpen), 2);
    assert_eq!(t.c(Counter::FlowsEvictedIdle), 1);
    assert_eq!(t.c(Counter::DropFlowTable), 0);
    assert_eq!(t.c(Counter::Flows), 6);
    assert_eq!(t.table.len(), 3);
}

#[test]
fn authentication_ports_keep_their_room() {
    let mut t = T::new(cfg(10, 20));
    let server = "10.0.0.3:5000";
    for p in 1..=8u64 {
        t.udp(p * NS, &format!("10.0.0.1:{p}"), server, b"q");
    }
    // Eight flows on other ports fill their 80 %: a ninth evicts one of them.
    t.udp(9 * NS, "10.0.0.1:9", server, b"q");
    assert_eq!(t.c(Counter::FlowsEvictedHalfOpen), 1);
    assert_eq!(t.table.len(), 8);
    // Flows on authentication ports take the reserved room without evicting.
    t.udp(10 * NS, "10.0.0.1:100", "10.0.0.3:53", b"q");
    t.udp(10 * NS, "10.0.0.1:101", "10.0.0.3:53", b"q");
    assert_eq!(t.table.len(), 10);
    assert_eq!(t.c(Counter::FlowsEvictedHalfOpen), 1);
    // Another one finds the table full and evicts the oldest quiet flow, whatever its port.
    t.udp(11 * NS, "10.0.0.1:102", "10.0.0.3:88", b"q");
    assert_eq!(t.c(Counter::FlowsEvictedHalfOpen), 2);
    assert_eq!(t.c(Counter::DropFlowTable), 0);

    // A table full of authentication flows refuses a flow on another port (counted) rather
    // than evict one of them.
    let mut t = T::new(cfg(2, 20));
    t.udp(NS, "10.0.0.1:1", "10.0.0.3:88", b"q");
    t.udp(NS, "10.0.0.1:2", "10.0.0.3:389", b"q");
    t.udp(NS, "10.0.0.1:3", server, b"q");
    assert_eq!(t.c(Counter::DropFlowTable), 1);
    assert_eq!(t.c(Counter::FlowsEvictedHalfOpen), 0);
    // ... and a flow on an authentication port still gets in.
    t.udp(2 * NS, "10.0.0.1:4", "10.0.0.3:445", b"q");
    assert_eq!(t.c(Counter::FlowsEvictedHalfOpen), 1);
    assert_eq!(t.c(Counter::DropFlowTable), 1);
}

#[test]
fn emergency_mode_shortens_timeouts_until_the_table_is_half_empty() {
    // Not in emergency mode, a half-open connection waits for the TCP idle timeout.
    let mut t = T::new(cfg(4, 0));
    t.tcp(NS, "10.0.0.9:1", S, 1, 0, SYN, b"");
    t.table.advance(NS, &mut t.out);
    t.table.advance(20 * NS, &mut t.out);
    assert_eq!(t.table.len(), 1);

    let mut t = T::new(cfg(4, 0));
    handshake(&mut t, NS);
    t.tcp(NS, C, S, 1001, 5001, ACK, b"a");
    for p in 1..=3 {
        t.tcp(NS, &format!("10.0.0.9:{p}"), S, 1, 0, SYN, b"");
    }
    t.table.advance(NS, &mut t.out);
    t.tcp(2 * NS, "10.0.0.9:4", S, 1, 0, SYN, b"");
    assert_eq!(t.c(Counter::FlowEmergency), 1);
    assert_eq!(t.table.len(), 4);
    // Six seconds on: the half-open connections are gone, the one with data is kept (30 s).
    t.table.advance(8 * NS, &mut t.out);
    assert_eq!(t.table.len(), 1);
    assert_eq!(closed(&t.events()), vec![1, 2, 3, 4]);
    // Below half the table: emergency mode ends.
    assert_eq!(t.c(Counter::FlowEmergency), 0);
    t.table.advance(40 * NS, &mut t.out);
    assert_eq!(t.table.len(), 1, "back to the normal 300 s");
}

#[test]
fn the_memory_budget_bounds_flows_and_held_bytes_together() {
    let mut t = T::new(FlowConfig {
        memory: 2 * FLOW_COST + 100,
        ..cfg(1000, 0)
    });
    // the capacity counts the cheapest flows (UDP without a decoder)
    assert_eq!(t.table.capacity(), (2 * FLOW_COST + 100) / BASE_COST);
    handshake(&mut t, NS);
    t.tcp(NS, C, S, 1101, 5001, ACK, &[b'x'; 100]); // out of order: held
    assert_eq!(t.table.held_bytes(), 100);
    t.tcp(NS, "10.0.0.9:1", S, 1, 0, SYN, b"");
    assert_eq!(t.table.len(), 2);
    assert_eq!(t.table.used(), 2 * FLOW_COST + 100);
    // No room left: the half-open flow is evicted for the next one.
    t.tcp(2 * NS, "10.0.0.9:2", S, 1, 0, SYN, b"");
    assert_eq!(t.c(Counter::FlowsEvictedHalfOpen), 1);
    // Held bytes may not grow past what the flows leave.
    t.tcp(2 * NS, C, S, 1201, 5001, ACK, &[b'y'; 10]);
    assert_eq!(t.c(Counter::DropTcpMemory), 10);
    assert!(t.table.used() <= 2 * FLOW_COST + 100);
    assert_eq!(t.c(Counter::StateBytes), t.table.used() as u64);
}

#[test]
fn decoder_buffers_over_the_budget_evict_the_least_recently_seen_flow() {
    struct Holds;
    impl TcpApp for Holds {
        fn data(&mut self, _: &mut Ctx<'_>, _: Dir, _: &[u8]) {}
        fn gap(&mut self, _: &mut Ctx<'_>, _: Dir, _: u64) {}
        fn close(&mut self, _: &mut Ctx<'_>) {}
        fn buffered(&self) -> usize {
            100
        }
    }
    struct HoldAll;
    impl Selector for HoldAll {
        fn tcp_by_port(&self, _: &FlowInfo, _: &Shared, _: Ts) -> Option<Box<dyn TcpApp>> {
            Some(Box::new(Holds))
        }
        fn tcp_by_content(&self, _: &FlowInfo, _: Dir, _: &[u8]) -> Option<Box<dyn TcpApp>> {
            None
        }
        fn udp_by_port(&self, _: &FlowInfo) -> Option<Box<dyn UdpApp>> {
            None
        }
    }
    let counters = Arc::new(Counters::default());
    let mut table = FlowTable::with_selector(
        FlowConfig {
            memory: 2 * (TCP_BASE_COST + 64) + 150,
            ..cfg(1000, 0)
        },
        DecoderConfig::default(),
        Arc::new(Shared::default()),
        counters.clone(),
        Box::new(HoldAll),
    );
    let mut out = Vec::new();
    for (ts, port) in [(NS, "10.0.0.1:1"), (2 * NS, "10.0.0.1:2")] {
        table.packet(
            &meta(ts, port, S, Transport::Tcp, 10, 0, ACK),
            b"data",
            &mut out,
        );
    }
    assert_eq!(counters.get(Counter::FlowsEvictedIdle), 1);
    assert_eq!(table.len(), 1);
    assert_eq!(table.used(), TCP_BASE_COST + 64 + 100);
    assert_eq!(counters.get(Counter::FlowEmergency), 1);
}
