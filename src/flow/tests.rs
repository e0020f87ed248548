//! Tests of the flow table: reassembly through the table, roles, timeouts, caps, eviction.

use super::*;
use crate::packet::tcp_flags::{ACK, FIN, PSH, RST, SYN};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

mod captures;
mod pressure;
mod sweep;

/// What a test decoder saw, in order, with the client port of its flow.
#[derive(Debug, Clone, PartialEq)]
enum Ev {
    Data(Dir, Vec<u8>),
    Gap(Dir, u64),
    Datagram(Dir, Vec<u8>),
    Tick(Ts),
    Close(Ts),
}

type Log = Arc<Mutex<Vec<(u16, Ev)>>>;

struct Rec {
    log: Log,
    /// What [`TcpApp::waiting`] answers (shared by every decoder of a test).
    waits: Arc<AtomicBool>,
}

impl Rec {
    fn push(&self, cx: &Ctx<'_>, ev: Ev) {
        self.log.lock().unwrap().push((cx.flow.client_port, ev));
    }
}

impl TcpApp for Rec {
    fn data(&mut self, cx: &mut Ctx<'_>, dir: Dir, data: &[u8]) {
        self.push(cx, Ev::Data(dir, data.to_vec()));
    }
    fn gap(&mut self, cx: &mut Ctx<'_>, dir: Dir, len: u64) {
        self.push(cx, Ev::Gap(dir, len));
    }
    fn tick(&mut self, cx: &mut Ctx<'_>) {
        self.push(cx, Ev::Tick(cx.now));
    }
    fn waiting(&self) -> bool {
        self.waits.load(Ordering::Relaxed)
    }
    fn close(&mut self, cx: &mut Ctx<'_>) {
        self.push(cx, Ev::Close(cx.now));
    }
}

impl UdpApp for Rec {
    fn datagram(&mut self, cx: &mut Ctx<'_>, dir: Dir, data: &[u8]) {
        self.push(cx, Ev::Datagram(dir, data.to_vec()));
    }
    fn tick(&mut self, cx: &mut Ctx<'_>) {
        self.push(cx, Ev::Tick(cx.now));
    }
    fn waiting(&self) -> bool {
        self.waits.load(Ordering::Relaxed)
    }
    fn close(&mut self, cx: &mut Ctx<'_>) {
        self.push(cx, Ev::Close(cx.now));
    }
}

/// Decodes TCP server port 4444 and UDP server port 53; by content, TCP payloads that
/// start with "HELO". Every flow it is asked about is remembered.
struct Sel {
    log: Log,
    waits: Arc<AtomicBool>,
    infos: Arc<Mutex<Vec<FlowInfo>>>,
}

impl Selector for Sel {
    fn tcp_by_port(&self, flow: &FlowInfo, _: &Shared, _: Ts) -> Option<Box<dyn TcpApp>> {
        self.infos.lock().unwrap().push(*flow);
        (flow.server_port == 4444).then(|| {
            Box::new(Rec {
                log: self.log.clone(),
                waits: self.waits.clone(),
            }) as Box<dyn TcpApp>
        })
    }
    fn tcp_by_content(&self, _: &FlowInfo, _: Dir, first: &[u8]) -> Option<Box<dyn TcpApp>> {
        first.starts_with(b"HELO").then(|| {
            Box::new(Rec {
                log: self.log.clone(),
                waits: self.waits.clone(),
            }) as Box<dyn TcpApp>
        })
    }
    fn udp_by_port(&self, flow: &FlowInfo) -> Option<Box<dyn UdpApp>> {
        self.infos.lock().unwrap().push(*flow);
        (flow.server_port == 53).then(|| {
            Box::new(Rec {
                log: self.log.clone(),
                waits: self.waits.clone(),
            }) as Box<dyn UdpApp>
        })
    }
}

struct T {
    table: FlowTable,
    counters: Arc<Counters>,
    log: Log,
    waits: Arc<AtomicBool>,
    infos: Arc<Mutex<Vec<FlowInfo>>>,
    out: Vec<Record>,
}

impl T {
    fn new(cfg: FlowConfig) -> Self {
        let counters = Arc::new(Counters::default());
        let log = Log::default();
        let infos = Arc::new(Mutex::new(Vec::new()));
        let waits = Arc::new(AtomicBool::new(true));
        let sel = Sel {
            log: log.clone(),
            waits: waits.clone(),
            infos: infos.clone(),
        };
        let table = FlowTable::with_selector(
            cfg,
            DecoderConfig::default(),
            Arc::new(Shared::default()),
            counters.clone(),
            Box::new(sel),
        );
        T {
            table,
            counters,
            log,
            waits,
            infos,
            out: Vec::new(),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn tcp(&mut self, ts: Ts, src: &str, dst: &str, seq: u32, ack: u32, flags: u8, data: &[u8]) {
        let m = meta(ts, src, dst, Transport::Tcp, seq, ack, flags);
        self.table.packet(&m, data, &mut self.out);
    }

    fn udp(&mut self, ts: Ts, src: &str, dst: &str, data: &[u8]) {
        let m = meta(ts, src, dst, Transport::Udp, 0, 0, 0);
        self.table.packet(&m, data, &mut self.out);
    }

    /// Events so far (taken).
    fn events(&self) -> Vec<(u16, Ev)> {
        std::mem::take(&mut *self.log.lock().unwrap())
    }

    fn c(&self, c: Counter) -> u64 {
        self.counters.get(c)
    }
}

fn meta(
    ts: Ts,
    src: &str,
    dst: &str,
    transport: Transport,
    seq: u32,
    ack: u32,
    flags: u8,
) -> PacketMeta {
    let s: SocketAddr = src.parse().unwrap();
    let d: SocketAddr = dst.parse().unwrap();
    PacketMeta {
        ts,
        src: s.ip(),
        dst: d.ip(),
        sport: s.port(),
        dport: d.port(),
        transport,
        seq,
        ack,
        flags,
        tunnel: Default::default(),
    }
}

const C: &str = "10.0.0.1:50000";
const S: &str = "10.0.0.2:4444";

fn d(dir: Dir, b: &[u8]) -> (u16, Ev) {
    (50000, Ev::Data(dir, b.to_vec()))
}

use Dir::{ToClient as TC, ToServer as TS};

/// SYN, SYN+ACK, ACK with client ISN 1000 and server ISN 5000.
fn handshake(t: &mut T, ts: Ts) {
    t.tcp(ts, C, S, 1000, 0, SYN, b"");
    t.tcp(ts, S, C, 5000, 1001, SYN | ACK, b"");
    t.tcp(ts, C, S, 1001, 5001, ACK, b"");
}

#[test]
fn a_whole_connection_in_order() {
    let mut t = T::new(FlowConfig::default());
    handshake(&mut t, NS);
    t.tcp(NS, C, S, 1001, 5001, ACK | PSH, b"request");
    t.tcp(NS, S, C, 5001, 1008, ACK | PSH, b"response");
    t.tcp(NS, C, S, 1008, 5009, ACK, b"");
    assert_eq!(t.table.len(), 1);
    assert_eq!(t.c(Counter::FlowsActive), 1);
    t.tcp(2 * NS, C, S, 1008, 5009, FIN | ACK, b"");
    t.tcp(2 * NS, S, C, 5009, 1009, FIN | ACK, b"");
    assert_eq!(
        t.events(),
        vec![
            d(TS, b"request"),
            d(TC, b"response"),
            (50000, Ev::Close(2 * NS))
        ]
    );
    assert!(t.table.is_empty());
    // The last ACK does not make a new flow.
    t.tcp(2 * NS, C, S, 1009, 5010, ACK, b"");
    assert!(t.table.is_empty());
    assert_eq!(t.c(Counter::Flows), 1);
    assert_eq!(t.c(Counter::FlowsActive), 0);
    assert_eq!(t.c(Counter::TcpMidstream), 0);
    assert_eq!(t.c(Counter::TcpGaps), 0);
    let info = t.infos.lock().unwrap()[0];
    assert_eq!(info.client, "10.0.0.1".parse::<IpAddr>().unwrap());
    assert_eq!((info.client_port, info.server_port), (50000, 4444));
}

#[test]
fn reordered_retransmitted_and_overlapping_segments() {
    let mut t = T::new(FlowConfig::default());
    handshake(&mut t, NS);
    t.tcp(NS, C, S, 1005, 5001, ACK, b"EFGH"); // early
    t.tcp(NS, C, S, 1007, 5001, ACK, b"xxIJ"); // overlaps what is held: "IJ" is new
    assert_eq!(t.table.held_bytes(), 6);
    assert_eq!(t.c(Counter::ReassemblyBytes), 6);
    t.tcp(NS, C, S, 1001, 5001, ACK, b"ABCDyy"); // "yy" loses to the held "EF"
    t.tcp(NS, C, S, 1001, 5001, ACK, b"ABCD"); // retransmission
    t.tcp(NS, C, S, 1011, 5001, ACK, b"K");
    assert_eq!(
        t.events(),
        vec![d(TS, b"ABCD"), d(TS, b"EFGH"), d(TS, b"IJ"), d(TS, b"K")]
    );
    assert_eq!(t.table.held_bytes(), 0);
    assert_eq!(t.c(Counter::ReassemblyBytes), 0);
    assert_eq!(t.c(Counter::TcpGaps), 0);
}

#[test]
fn sequence_wraparound_through_the_table() {
    let mut t = T::new(FlowConfig::default());
    let isn = u32::MAX - 3;
    t.tcp(NS, C, S, isn, 0, SYN, b"");
    t.tcp(NS, S, C, 77, isn.wrapping_add(1), SYN | ACK, b"");
    // Data starts at 2^32-3: "012" ends the sequence space, "3456" starts it again.
    t.tcp(NS, C, S, 0, 78, ACK, b"3456");
    t.tcp(NS, C, S, u32::MAX - 2, 78, ACK, b"012");
    t.tcp(NS, C, S, 4, 78, ACK, b"78");
    assert_eq!(
        t.events(),
        vec![d(TS, b"012"), d(TS, b"3456"), d(TS, b"78")]
    );
}

#[test]
fn ack_beyond_a_hole_is_a_gap_before_the_response() {
    let mut t = T::new(FlowConfig::default());
    handshake(&mut t, NS);
    t.tcp(NS, C, S, 1001, 5001, ACK, b"aaaa");
    t.tcp(NS, C, S, 1009, 5001, ACK, b"cccc"); // 1005..1009 never seen
    t.tcp(NS, S, C, 5001, 1013, ACK | PSH, b"resp");
    assert_eq!(
        t.events(),
        vec![
            d(TS, b"aaaa"),
            (50000, Ev::Gap(TS, 4)),
            d(TS, b"cccc"),
            d(TC, b"resp")
        ]
    );
    assert_eq!(t.c(Counter::TcpGaps), 1);
    assert_eq!(t.c(Counter::TcpGapBytes), 4);
    assert_eq!(t.table.held_bytes(), 0);
}

#[test]
fn a_pure_ack_waits_one_packet_for_late_data() {
    let mut t = T::new(FlowConfig::default());
    handshake(&mut t, NS);
    t.tcp(NS, C, S, 1001, 5001, ACK, b"aaaa");
    // The server's ACK of 1001..1009 shows up before the data it acknowledges.
    t.tcp(NS, S, C, 5001, 1009, ACK, b"");
    t.tcp(NS, C, S, 1005, 5001, ACK, b"bbbb");
    assert_eq!(t.events(), vec![d(TS, b"aaaa"), d(TS, b"bbbb")]);
    assert_eq!(t.c(Counter::TcpGaps), 0);
    // This time the data is really missing: the client's next packet does not fill it.
    t.tcp(NS, S, C, 5001, 1013, ACK, b"");
    t.tcp(NS, C, S, 1013, 5001, ACK, b"dd");
    assert_eq!(t.events(), vec![(50000, Ev::Gap(TS, 4)), d(TS, b"dd")]);
    // Missing, and the server answers first: the gap comes before the answer.
    t.tcp(NS, S, C, 5001, 1020, ACK, b"");
    t.tcp(NS, S, C, 5001, 1020, ACK, b"ok");
    assert_eq!(t.events(), vec![(50000, Ev::Gap(TS, 5)), d(TC, b"ok")]);
    assert_eq!(t.c(Counter::TcpGapBytes), 9);
}

#[test]
fn rst_closes_and_flushes_with_gaps() {
    let mut t = T::new(FlowConfig::default());
    handshake(&mut t, NS);
    t.tcp(NS, C, S, 1001, 5001, ACK, b"ab");
    t.tcp(NS, C, S, 1006, 5001, ACK, b"fg");
    t.tcp(NS, S, C, 5001, 1003, ACK, b"");
    assert_eq!(t.table.held_bytes(), 2);
    t.tcp(3 * NS, S, C, 5001, 0, RST, b"");
    assert_eq!(
        t.events(),
        vec![
            d(TS, b"ab"),
            (50000, Ev::Gap(TS, 3)),
            d(TS, b"fg"),
            (50000, Ev::Close(3 * NS))
        ]
    );
    assert!(t.table.is_empty());
    assert_eq!(t.table.held_bytes(), 0);
    assert_eq!(t.c(Counter::ReassemblyBytes), 0);
}

#[test]
fn fin_both_ways_closes_with_a_gap_for_data_missed_before_the_fin() {
    let mut t = T::new(FlowConfig::default());
    handshake(&mut t, NS);
    t.tcp(NS, C, S, 1001, 5001, ACK, b"ab");
    // 1003..1005 missed; the FIN comes at 1005.
    t.tcp(NS, C, S, 1005, 5001, FIN | ACK, b"");
    t.tcp(NS, S, C, 5001, 1006, FIN | ACK, b"");
    assert_eq!(
        t.events(),
        vec![
            d(TS, b"ab"),
            (50000, Ev::Gap(TS, 2)),
            (50000, Ev::Close(NS))
        ]
    );
    assert_eq!(t.c(Counter::TcpGapBytes), 2);
}

#[test]
fn midstream_pickup_roles_by_service_port_then_destination() {
    let mut t = T::new(FlowConfig::default());
    // Seen first from the server side: port 88 is a service port, 50001 is not.
    t.tcp(NS, "10.0.0.2:88", "10.0.0.1:50001", 7, 9, ACK, b"x");
    // Neither is a service port: the destination is the server.
    t.tcp(NS, "10.0.0.1:50002", "10.0.0.2:4444", 7, 9, ACK, b"y");
    // Both are: the destination is the server.
    t.tcp(NS, "10.0.0.2:88", "10.0.0.1:53", 7, 9, ACK, b"z");
    // A SYN+ACK seen first: its sender is the server, even on a client-looking port.
    t.tcp(NS, "10.0.0.5:50003", "10.0.0.6:88", 7, 9, SYN | ACK, b"");
    let infos = t.infos.lock().unwrap().clone();
    let ends: Vec<(String, u16)> = infos
        .iter()
        .map(|i| (i.server.to_string(), i.server_port))
        .collect();
    assert_eq!(
        ends,
        vec![
            ("10.0.0.2".to_string(), 88),
            ("10.0.0.2".to_string(), 4444),
            ("10.0.0.1".to_string(), 53),
            ("10.0.0.5".to_string(), 50003),
        ]
    );
    assert_eq!(t.c(Counter::TcpMidstream), 3);
    // The mid-stream flow on 4444 has a decoder; its data is delivered from the first byte.
    t.tcp(NS, "10.0.0.1:50002", "10.0.0.2:4444", 8, 9, ACK, b"2");
    t.tcp(NS, "10.0.0.2:4444", "10.0.0.1:50002", 9, 9, ACK, b"r");
    assert_eq!(
        t.events(),
        vec![
            (50002, Ev::Data(TS, b"y".to_vec())),
            (50002, Ev::Data(TS, b"2".to_vec())),
            (50002, Ev::Data(TC, b"r".to_vec()))
        ]
    );
}

#[test]
fn lone_acks_and_resets_make_no_flow() {
    let mut t = T::new(FlowConfig::default());
    t.tcp(NS, C, S, 1, 1, ACK, b"");
    t.tcp(NS, C, S, 1, 1, FIN | ACK, b"");
    t.tcp(NS, C, S, 1, 1, RST | ACK, b"");
    assert!(t.table.is_empty());
    assert_eq!(t.c(Counter::Flows), 0);
}

#[test]
fn content_probe_picks_a_decoder_or_ignores_the_flow() {
    let mut t = T::new(FlowConfig::default());
    let (c, s) = ("10.0.0.1:50010", "10.0.0.2:7000");
    t.tcp(NS, c, s, 100, 0, SYN, b"");
    t.tcp(NS, s, c, 900, 101, SYN | ACK, b"");
    t.tcp(NS, s, c, 901, 101, ACK, b"HELO there"); // the server speaks first
    t.tcp(NS, c, s, 101, 911, ACK, b"hi");
    assert_eq!(
        t.events(),
        vec![
            (50010, Ev::Data(TC, b"HELO there".to_vec())),
            (50010, Ev::Data(TS, b"hi".to_vec()))
        ]
    );
    // Another port, other content: ignored, so nothing out of order is held for it.
    let (c, s) = ("10.0.0.1:50011", "10.0.0.2:7001");
    t.tcp(NS, c, s, 100, 0, SYN, b"");
    t.tcp(NS, c, s, 101, 0, ACK, b"GET");
    t.tcp(NS, c, s, 200, 0, ACK, b"later bytes");
    assert_eq!(t.table.held_bytes(), 0);
    assert!(t.events().is_empty());
    assert_eq!(t.table.len(), 2);
    // Ignored flows still close on RST.
    t.tcp(NS, s, c, 1, 0, RST, b"");
    assert_eq!(t.table.len(), 1);
}

/// A table with TCP idle 10 s and UDP idle 5 s, its decoders answering [`TcpApp::waiting`]
/// with `waits`, holding at 1 s a connection to port 4444 that carried "q" and a DNS query
/// from port 40000.
fn short_idle_flows(waits: bool) -> T {
    let cfg = FlowConfig {
        tcp_idle: 10 * NS,
        udp_idle: 5 * NS,
        ..FlowConfig::default()
    };
    let mut t = T::new(cfg);
    t.waits.store(waits, Ordering::Relaxed);
    handshake(&mut t, NS);
    t.tcp(NS, C, S, 1001, 5001, ACK, b"q");
    t.udp(NS, "10.0.0.1:40000", "10.0.0.3:53", b"query");
    t
}

#[test]
fn idle_timeouts_and_ticks() {
    let mut t = short_idle_flows(true);
    t.table.advance(NS, &mut t.out);
    t.table.advance(NS + NS / 2, &mut t.out); // less than a second later: nothing
    t.table.advance(2 * NS, &mut t.out);
    assert_eq!(
        t.events(),
        vec![
            d(TS, b"q"),
            (40000, Ev::Datagram(TS, b"query".to_vec())),
            (50000, Ev::Tick(NS)),
            (40000, Ev::Tick(NS)),
            (50000, Ev::Tick(2 * NS)),
            (40000, Ev::Tick(2 * NS)),
        ]
    );
    t.table.advance(6 * NS, &mut t.out); // UDP idle for 5 s: closed
    assert_eq!(
        t.events(),
        vec![(50000, Ev::Tick(6 * NS)), (40000, Ev::Close(6 * NS))]
    );
    assert_eq!(t.table.len(), 1);
    t.table.advance(11 * NS, &mut t.out); // TCP idle for 10 s: closed
    assert_eq!(t.events(), vec![(50000, Ev::Close(11 * NS))]);
    assert!(t.table.is_empty());
    assert_eq!(t.c(Counter::FlowsActive), 0);
}

#[test]
fn per_flow_cap_turns_the_hole_into_a_gap() {
    let cfg = FlowConfig {
        per_flow_buffer: 8,
        ..FlowConfig::default()
    };
    let mut t = T::new(cfg);
    handshake(&mut t, NS);
    t.tcp(NS, C, S, 1005, 5001, ACK, b"eeeeee"); // hole 1001..1005
    t.tcp(NS, C, S, 1015, 5001, ACK, b"ooo"); // 9 > 8: the hole is given up
    assert_eq!(t.events(), vec![(50000, Ev::Gap(TS, 4)), d(TS, b"eeeeee")]);
    assert_eq!(t.table.held_bytes(), 3);
    assert_eq!(t.c(Counter::TcpGapBytes), 4);
    assert_eq!(t.c(Counter::DropTcpFlowCap), 0);
    assert_eq!(t.c(Counter::DropTcpMemory), 0);
}

#[test]
fn worker_memory_cap_is_shared_by_flows_and_counts_refused_bytes() {
    let cfg = FlowConfig {
        reassembly_memory: 10,
        ..FlowConfig::default()
    };
    let mut t = T::new(cfg);
    handshake(&mut t, NS);
    let c2 = "10.0.0.1:50001";
    t.tcp(NS, c2, S, 1000, 0, SYN, b"");
    t.tcp(NS, C, S, 1005, 5001, ACK, b"12345678");
    t.tcp(NS, c2, S, 1011, 0, ACK, b"abcdef"); // 8 + 6 > 10
    t.tcp(NS, c2, S, 1021, 0, ACK, b"xy"); // 8 + 2 fits
    assert_eq!(t.c(Counter::DropTcpMemory), 6);
    assert_eq!(t.table.held_bytes(), 10);
    assert_eq!(t.c(Counter::ReassemblyBytes), 10);
    t.table.finish(&mut t.out);
    assert_eq!(t.table.held_bytes(), 0);
    assert_eq!(t.c(Counter::ReassemblyBytes), 0);
    // Closed in creation order, with everything held flushed behind gaps.
    assert_eq!(
        t.events(),
        vec![
            (50000, Ev::Gap(TS, 4)),
            (50000, Ev::Data(TS, b"12345678".to_vec())),
            (50000, Ev::Close(NS)),
            (50001, Ev::Gap(TS, 20)),
            (50001, Ev::Data(TS, b"xy".to_vec())),
            (50001, Ev::Close(NS)),
        ]
    );
}

#[test]
fn a_udp_conversation() {
    let mut t = T::new(FlowConfig::default());
    // The response is seen first: port 53 is the service, so its sender is the server.
    t.udp(NS, "10.0.0.3:53", "10.0.0.1:40000", b"answer0");
    t.udp(NS, "10.0.0.1:40000", "10.0.0.3:53", b"query1");
    t.udp(NS, "10.0.0.3:53", "10.0.0.1:40000", b"answer1");
    // Not a decoded port: counted as a flow, no decoder.
    t.udp(NS, "10.0.0.1:40001", "10.0.0.3:9999", b"other");
    assert_eq!(
        t.events(),
        vec![
            (40000, Ev::Datagram(TC, b"answer0".to_vec())),
            (40000, Ev::Datagram(TS, b"query1".to_vec())),
            (40000, Ev::Datagram(TC, b"answer1".to_vec())),
        ]
    );
    let infos = t.infos.lock().unwrap().clone();
    assert_eq!((infos[0].client_port, infos[0].server_port), (40000, 53));
    assert_eq!((infos[1].client_port, infos[1].server_port), (40001, 9999));
    assert_eq!(t.c(Counter::Flows), 2);
    assert_eq!(t.c(Counter::TcpMidstream), 0);
    t.table.finish(&mut t.out);
    assert_eq!(t.events(), vec![(40000, Ev::Close(NS))]);
}

#[test]
fn a_new_syn_on_the_same_ports_starts_a_new_connection() {
    let mut t = T::new(FlowConfig::default());
    handshake(&mut t, NS);
    t.tcp(NS, C, S, 1001, 5001, ACK, b"one");
    t.tcp(NS, C, S, 1000, 0, SYN, b""); // retransmitted SYN: same connection
    assert_eq!(t.c(Counter::Flows), 1);
    t.tcp(2 * NS, C, S, 90000, 0, SYN, b""); // new ISN: a new connection
    t.tcp(2 * NS, C, S, 90001, 0, ACK, b"two");
    assert_eq!(t.c(Counter::Flows), 2);
    assert_eq!(
        t.events(),
        vec![d(TS, b"one"), (50000, Ev::Close(2 * NS)), d(TS, b"two")]
    );
}

#[test]
fn ipv6_flows_and_both_directions_share_an_entry() {
    let mut t = T::new(FlowConfig::default());
    let (c, s) = ("[2001:db8::1]:50000", "[2001:db8::2]:4444");
    t.tcp(NS, c, s, 10, 0, SYN, b"");
    t.tcp(NS, s, c, 20, 11, SYN | ACK, b"");
    t.tcp(NS, s, c, 21, 11, ACK, b"srv");
    t.tcp(NS, c, s, 11, 24, ACK, b"cli");
    assert_eq!(t.table.len(), 1);
    assert_eq!(t.events(), vec![d(TC, b"srv"), d(TS, b"cli")]);
}

#[test]
fn production_dispatch_goes_through_proto() {
    let counters = Arc::new(Counters::default());
    let mut table = FlowTable::new(
        FlowConfig::default(),
        DecoderConfig::default(),
        Arc::new(Shared::default()),
        counters.clone(),
    );
    let mut out = Vec::new();
    let m = meta(
        NS,
        "10.0.0.1:50000",
        "10.0.0.2:88",
        Transport::Tcp,
        1,
        0,
        SYN,
    );
    table.packet(&m, b"", &mut out);
    let m = meta(
        NS,
        "10.0.0.1:50001",
        "10.0.0.2:7777",
        Transport::Tcp,
        1,
        0,
        ACK,
    );
    table.packet(&m, b"not a known protocol", &mut out);
    let m = meta(
        NS,
        "10.0.0.1:50001",
        "10.0.0.2:7777",
        Transport::Tcp,
        100,
        0,
        ACK,
    );
    table.packet(&m, b"out of order", &mut out);
    assert_eq!(table.len(), 2);
    assert_eq!(table.held_bytes(), 0); // the unclaimed flow is ignored
    table.finish(&mut out);
    assert!(table.is_empty());
    assert_eq!(counters.get(Counter::Flows), 2);
    assert_eq!(counters.get(Counter::TcpMidstream), 1);
}

#[test]
fn reassembly_gauge_adds_what_decoders_buffer() {
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
        FlowConfig::default(),
        DecoderConfig::default(),
        Arc::new(Shared::default()),
        counters.clone(),
        Box::new(HoldAll),
    );
    let mut out = Vec::new();
    for port in ["10.0.0.1:1", "10.0.0.1:2"] {
        table.packet(
            &meta(NS, port, S, Transport::Tcp, 10, 0, SYN),
            b"",
            &mut out,
        );
    }
    table.packet(
        &meta(NS, "10.0.0.1:1", S, Transport::Tcp, 20, 0, ACK),
        b"held",
        &mut out,
    );
    // The flow that carried data said what its decoder holds; the other one is asked at the
    // sweep.
    assert_eq!(counters.get(Counter::ReassemblyBytes), 104);
    table.advance(NS, &mut out);
    assert_eq!(counters.get(Counter::ReassemblyBytes), 204);
    table.finish(&mut out);
    assert_eq!(counters.get(Counter::ReassemblyBytes), 0);
}

#[test]
fn a_flow_slot_holds_no_reassembly_state() {
    // A UDP conversation's slot is what the table grows by: the TCP reassembly state is boxed
    // (and counted in a connection's cost), not carried inline by every slot.
    let slot = std::mem::size_of::<Option<super::Flow>>();
    eprintln!(
        "slot {slot} key at {} state at {} info at {}",
        std::mem::offset_of!(super::Flow, key),
        std::mem::offset_of!(super::Flow, state),
        std::mem::offset_of!(super::Flow, info)
    );
    assert!(slot <= 144, "{slot} bytes a slot");
    assert_eq!(std::mem::size_of::<super::Key>(), 40);
    assert_eq!(
        super::pressure::TCP_BASE_COST,
        super::pressure::BASE_COST + std::mem::size_of::<super::TcpState>()
    );
}
