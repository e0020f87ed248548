//! Flows: a bidirectional flow table with idle timeouts and a memory cap, TCP reassembly into
//! in-order byte streams per direction (with gaps made explicit), and the hand-off to the
//! application decoders of [`crate::proto`].
//!
//! One [`FlowTable`] per worker thread. A flow is keyed by its 5-tuple put in a fixed order, so
//! both directions find the same entry. Roles are decided once, when the flow is created: the
//! sender of a SYN is the client, the sender of a SYN+ACK the server; for a connection picked up
//! mid-stream or a UDP conversation, the side on a service port ([`proto::is_service_port`])
//! is the server when the other side is not, else the first packet's destination is.
//!
//! The decoder is chosen by port when the flow is created, else (TCP) by the first payload in
//! either direction. A flow no decoder wants is kept only so that its packets are recognised
//! cheaply until it times out or closes: nothing is buffered or reassembled for it.
//!
//! Flows live in a slab indexed through an `FxHashMap`; time only moves in [`FlowTable::advance`],
//! which once per second of `now` expires idle flows and runs the decoders' timers, so the
//! per-packet path never scans the table. Reassembly itself is in [`tcp`].

mod tcp;

use crate::packet::{tcp_flags, PacketMeta};
use crate::proto::{self, Ctx, DecoderConfig, Dir, FlowInfo, Shared, TcpApp, UdpApp};
use crate::record::{Record, Transport, Ts, NS};
use crate::stats::{Counter, Counters};
use rustc_hash::FxHashMap;
use std::net::IpAddr;
use std::sync::Arc;
use tcp::{Budget, Sink, Stream};

/// Limits and timeouts of the flow layer.
#[derive(Debug, Clone)]
pub struct FlowConfig {
    /// Idle time after which a TCP connection is closed.
    pub tcp_idle: Ts,
    /// Idle time after which a UDP conversation is closed.
    pub udp_idle: Ts,
    /// Flows per worker; a new flow beyond it is refused, and each packet that would have
    /// started it is counted ([`Counter::DropFlowTable`]).
    pub max_flows: usize,
    /// Out-of-order bytes held per direction of a connection. When more would be held, the
    /// oldest hole is given up as a gap and the data after it delivered, so no byte we have is
    /// lost to this cap.
    pub per_flow_buffer: usize,
    /// Out-of-order bytes held by all connections of a worker. Out-of-order bytes beyond it are
    /// refused and counted ([`Counter::DropTcpMemory`]); they come out later as part of a gap.
    pub reassembly_memory: usize,
}

impl Default for FlowConfig {
    fn default() -> Self {
        FlowConfig {
            tcp_idle: 300 * NS,
            udp_idle: 60 * NS,
            max_flows: 200_000,
            per_flow_buffer: 256 * 1024,
            reassembly_memory: 32 * 1024 * 1024,
        }
    }
}

/// How a flow table picks the decoder of a new flow. [`ProtoSelector`] (what
/// [`FlowTable::new`] uses) asks [`crate::proto`]; tests, benches and fuzzers plug in their own.
pub trait Selector: Send {
    /// The decoder of a TCP connection, by its endpoints (called when the flow is created).
    fn tcp_by_port(&self, flow: &FlowInfo, shared: &Shared, now: Ts) -> Option<Box<dyn TcpApp>>;
    /// The decoder of a TCP connection nobody claimed by port, by its first payload in `dir`.
    fn tcp_by_content(&self, flow: &FlowInfo, dir: Dir, first: &[u8]) -> Option<Box<dyn TcpApp>>;
    /// The decoder of a UDP conversation.
    fn udp_by_port(&self, flow: &FlowInfo) -> Option<Box<dyn UdpApp>>;
    /// The decoder of a UDP conversation nobody claimed by port, by its first datagram.
    fn udp_by_content(&self, _first: &[u8]) -> Option<Box<dyn UdpApp>> {
        None
    }
}

/// The production [`Selector`]: [`proto::tcp_by_port`], [`proto::tcp_by_content`],
/// [`proto::udp_by_port`].
#[derive(Debug, Default, Clone, Copy)]
pub struct ProtoSelector;

impl Selector for ProtoSelector {
    fn tcp_by_port(&self, flow: &FlowInfo, shared: &Shared, now: Ts) -> Option<Box<dyn TcpApp>> {
        proto::tcp_by_port(flow, shared, now)
    }
    fn tcp_by_content(&self, _flow: &FlowInfo, dir: Dir, first: &[u8]) -> Option<Box<dyn TcpApp>> {
        proto::tcp_by_content(dir, first)
    }
    fn udp_by_port(&self, flow: &FlowInfo) -> Option<Box<dyn UdpApp>> {
        proto::udp_by_port(flow)
    }
    fn udp_by_content(&self, first: &[u8]) -> Option<Box<dyn UdpApp>> {
        proto::udp_by_content(first)
    }
}

/// A flow's 5-tuple with the two endpoints in a fixed order (`lo` ≤ `hi`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    lo: u128,
    hi: u128,
    lo_port: u16,
    hi_port: u16,
    /// Transport, and whether the addresses are IPv6 (an IPv4 address and the IPv6 address with
    /// the same bits are different endpoints).
    tag: u8,
}

impl Key {
    /// The key of a packet, and whether its source is the `lo` endpoint.
    #[inline]
    fn of(m: &PacketMeta) -> (Key, bool) {
        fn bits(ip: &IpAddr) -> (u128, u8) {
            match ip {
                IpAddr::V4(a) => (u128::from(u32::from(*a)), 0),
                IpAddr::V6(a) => (u128::from(*a), 2),
            }
        }
        let (s, v6) = bits(&m.src);
        let (d, _) = bits(&m.dst);
        let tag = v6 | (m.transport == Transport::Udp) as u8;
        let src_lo = (s, m.sport) <= (d, m.dport);
        let key = if src_lo {
            Key {
                lo: s,
                hi: d,
                lo_port: m.sport,
                hi_port: m.dport,
                tag,
            }
        } else {
            Key {
                lo: d,
                hi: s,
                lo_port: m.dport,
                hi_port: m.sport,
                tag,
            }
        };
        (key, src_lo)
    }
}

/// The decoder of a TCP connection, once known.
enum TcpDecoder {
    /// No decoder by port; the first payload decides.
    Undecided,
    App(Box<dyn TcpApp>),
    /// No decoder wants it: its packets are only recognised (and the flow timed out or closed).
    Ignored,
}

struct TcpState {
    dec: TcpDecoder,
    /// Reassembly per direction, indexed by [`Dir::idx`].
    streams: [Stream; 2],
    /// FIN seen per direction.
    fin: [bool; 2],
}

enum State {
    Tcp(TcpState),
    Udp(Option<Box<dyn UdpApp>>),
}

struct Flow {
    /// Creation order within the table (deterministic close order).
    id: u64,
    key: Key,
    info: FlowInfo,
    /// Whether the client is the key's `lo` endpoint.
    client_lo: bool,
    last_seen: Ts,
    state: State,
}

/// The flows of one worker.
pub struct FlowTable {
    cfg: FlowConfig,
    dec: DecoderConfig,
    shared: Arc<Shared>,
    counters: Arc<Counters>,
    selector: Box<dyn Selector>,
    index: FxHashMap<Key, u32>,
    slab: Vec<Option<Flow>>,
    free: Vec<u32>,
    next_id: u64,
    /// Out-of-order bytes held by all streams.
    held: usize,
    /// Bytes decoders said they buffer, at the last sweep.
    app_buffered: usize,
    /// When the next sweep (timeouts, ticks) is due.
    next_sweep: Ts,
    /// Reused list of flows to close in a sweep: (id, slot).
    expired: Vec<(u64, u32)>,
    /// The latest time seen (packets and `advance`).
    latest: Ts,
}

/// The environment a flow's packet is processed in (split from the table so that a flow can be
/// borrowed mutably beside it).
struct Env<'a> {
    counters: &'a Counters,
    dec: &'a DecoderConfig,
    shared: &'a Shared,
    held: &'a mut usize,
    memory: usize,
    per_flow: usize,
}

impl Env<'_> {
    fn budget(&mut self) -> Budget<'_> {
        Budget {
            held: self.held,
            memory: self.memory,
            per_flow: self.per_flow,
            counters: self.counters,
        }
    }
}

/// Hands a stream's bytes and gaps to a TCP decoder.
struct AppSink<'s, 'c> {
    app: &'s mut dyn TcpApp,
    cx: &'s mut Ctx<'c>,
    dir: Dir,
}

impl Sink for AppSink<'_, '_> {
    #[inline]
    fn data(&mut self, data: &[u8]) {
        self.app.data(self.cx, self.dir, data);
    }
    fn gap(&mut self, len: u64) {
        self.app.gap(self.cx, self.dir, len);
    }
}

/// What a packet did to its flow.
#[derive(PartialEq, Eq)]
enum After {
    Keep,
    /// The connection ended (FIN both ways, RST): close and remove it.
    Close,
}

impl FlowTable {
    pub fn new(
        cfg: FlowConfig,
        dec: DecoderConfig,
        shared: Arc<Shared>,
        counters: Arc<Counters>,
    ) -> Self {
        Self::with_selector(cfg, dec, shared, counters, Box::new(ProtoSelector))
    }

    /// A table whose decoders are chosen by `selector` instead of [`crate::proto`].
    pub fn with_selector(
        cfg: FlowConfig,
        dec: DecoderConfig,
        shared: Arc<Shared>,
        counters: Arc<Counters>,
        selector: Box<dyn Selector>,
    ) -> Self {
        FlowTable {
            cfg,
            dec,
            shared,
            counters,
            selector,
            index: FxHashMap::default(),
            slab: Vec::new(),
            free: Vec::new(),
            next_id: 0,
            held: 0,
            app_buffered: 0,
            next_sweep: 0,
            expired: Vec::new(),
            latest: 0,
        }
    }

    /// Flows in the table.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether the table has no flow.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Out-of-order TCP bytes held by all connections now.
    pub fn held_bytes(&self) -> usize {
        self.held
    }

    /// One packet of this worker's flows; records it completes are pushed to `out`.
    pub fn packet(&mut self, meta: &PacketMeta, payload: &[u8], out: &mut Vec<Record>) {
        let (key, src_lo) = Key::of(meta);
        self.latest = self.latest.max(meta.ts);
        let slot = match self.index.get(&key) {
            Some(&i) => {
                if meta.transport == Transport::Tcp && self.is_new_connection(i, meta, src_lo) {
                    // A SYN that does not belong to the connection we have: the old one is over.
                    self.close_slot(i, meta.ts, out);
                    match self.create(key, src_lo, meta, payload) {
                        Some(i) => i,
                        None => return,
                    }
                } else {
                    i
                }
            }
            None => match self.create(key, src_lo, meta, payload) {
                Some(i) => i,
                None => return,
            },
        };
        let held_before = self.held;
        let Some(flow) = self.slab.get_mut(slot as usize).and_then(Option::as_mut) else {
            return;
        };
        flow.last_seen = meta.ts;
        let dir = if src_lo == flow.client_lo {
            Dir::ToServer
        } else {
            Dir::ToClient
        };
        let mut env = Env {
            counters: &self.counters,
            dec: &self.dec,
            shared: &self.shared,
            held: &mut self.held,
            memory: self.cfg.reassembly_memory,
            per_flow: self.cfg.per_flow_buffer,
        };
        let after = match &mut flow.state {
            State::Udp(app) => {
                if let Some(app) = app {
                    let mut cx = Ctx {
                        now: meta.ts,
                        flow: &flow.info,
                        out: &mut *out,
                        counters: env.counters,
                        config: env.dec,
                        shared: env.shared,
                    };
                    app.datagram(&mut cx, dir, payload);
                }
                After::Keep
            }
            State::Tcp(t) => tcp_packet(
                t,
                &flow.info,
                self.selector.as_ref(),
                &mut env,
                meta,
                dir,
                payload,
                &mut *out,
            ),
        };
        if after == After::Close {
            self.close_slot(slot, meta.ts, out);
        }
        if self.held != held_before {
            self.set_reassembly_gauge();
        }
    }

    /// Whether a TCP packet for an existing flow is the SYN of a new connection on the same
    /// 5-tuple (port reuse).
    fn is_new_connection(&self, slot: u32, meta: &PacketMeta, src_lo: bool) -> bool {
        if meta.flags & (tcp_flags::SYN | tcp_flags::ACK) != tcp_flags::SYN {
            return false;
        }
        let Some(Some(flow)) = self.slab.get(slot as usize) else {
            return false;
        };
        let State::Tcp(t) = &flow.state else {
            return false;
        };
        if src_lo != flow.client_lo {
            return true; // the old server opens a connection: roles are reversed
        }
        match t.streams[Dir::ToServer.idx()].base() {
            None => false,
            Some(base) => base != meta.seq.wrapping_add(1), // not a retransmitted SYN
        }
    }

    /// Creates the flow of a packet that has none; `None` if the packet does not start one or
    /// the table is full.
    fn create(&mut self, key: Key, src_lo: bool, meta: &PacketMeta, payload: &[u8]) -> Option<u32> {
        let f = meta.flags;
        let tcp = meta.transport == Transport::Tcp;
        // A TCP flow starts with a SYN or with data; a lone ACK, FIN or RST is most often the
        // tail of a connection already closed and would only make an empty flow.
        if tcp && (f & tcp_flags::RST != 0 || (f & tcp_flags::SYN == 0 && payload.is_empty())) {
            return None;
        }
        if self.index.len() >= self.cfg.max_flows {
            self.counters.inc(Counter::DropFlowTable);
            return None;
        }
        let src_client = if tcp && f & tcp_flags::SYN != 0 {
            f & tcp_flags::ACK == 0
        } else {
            if tcp {
                self.counters.inc(Counter::TcpMidstream);
            }
            let svc_src = proto::is_service_port(meta.transport, meta.sport);
            let svc_dst = proto::is_service_port(meta.transport, meta.dport);
            !svc_src || svc_dst
        };
        let info = if src_client {
            FlowInfo {
                client: meta.src,
                client_port: meta.sport,
                server: meta.dst,
                server_port: meta.dport,
                transport: meta.transport,
            }
        } else {
            FlowInfo {
                client: meta.dst,
                client_port: meta.dport,
                server: meta.src,
                server_port: meta.sport,
                transport: meta.transport,
            }
        };
        let state = if tcp {
            let dec = match self.selector.tcp_by_port(&info, &self.shared, meta.ts) {
                Some(app) => TcpDecoder::App(app),
                None => TcpDecoder::Undecided,
            };
            State::Tcp(TcpState {
                dec,
                streams: Default::default(),
                fin: [false; 2],
            })
        } else {
            State::Udp(
                self.selector
                    .udp_by_port(&info)
                    .or_else(|| self.selector.udp_by_content(payload)),
            )
        };
        let flow = Flow {
            id: self.next_id,
            key,
            info,
            client_lo: src_lo == src_client,
            last_seen: meta.ts,
            state,
        };
        self.next_id += 1;
        let slot = match self.free.pop() {
            Some(i) => {
                self.slab[i as usize] = Some(flow);
                i
            }
            None => {
                self.slab.push(Some(flow));
                (self.slab.len() - 1) as u32
            }
        };
        self.index.insert(key, slot);
        self.counters.inc(Counter::Flows);
        self.counters
            .set(Counter::FlowsActive, self.index.len() as u64);
        Some(slot)
    }

    /// Closes the flow in `slot` (flushing reassembly, closing its decoder) and removes it.
    fn close_slot(&mut self, slot: u32, now: Ts, out: &mut Vec<Record>) {
        let Some(mut flow) = self.slab.get_mut(slot as usize).and_then(Option::take) else {
            return;
        };
        self.index.remove(&flow.key);
        self.free.push(slot);
        let mut env = Env {
            counters: &self.counters,
            dec: &self.dec,
            shared: &self.shared,
            held: &mut self.held,
            memory: self.cfg.reassembly_memory,
            per_flow: self.cfg.per_flow_buffer,
        };
        close_flow(&mut flow, &mut env, now, out);
        self.counters
            .set(Counter::FlowsActive, self.index.len() as u64);
        self.set_reassembly_gauge();
    }

    fn set_reassembly_gauge(&self) {
        self.counters.set(
            Counter::ReassemblyBytes,
            (self.held + self.app_buffered) as u64,
        );
    }

    /// Time moved on to `now` (packet time in replay, the clock live): expire idle flows, run
    /// decoder timers.
    pub fn advance(&mut self, now: Ts, out: &mut Vec<Record>) {
        // Once per second of `now` (or when time jumped back by more than that).
        if now < self.next_sweep && self.next_sweep - now <= NS {
            return;
        }
        self.next_sweep = now.saturating_add(NS);
        self.latest = self.latest.max(now);
        self.expired.clear();
        let mut buffered = 0usize;
        for (i, slot) in self.slab.iter_mut().enumerate() {
            let Some(flow) = slot else { continue };
            let idle = match flow.state {
                State::Tcp(_) => self.cfg.tcp_idle,
                State::Udp(_) => self.cfg.udp_idle,
            };
            if now.saturating_sub(flow.last_seen) >= idle {
                self.expired.push((flow.id, i as u32));
                continue;
            }
            let mut cx = Ctx {
                now,
                flow: &flow.info,
                out: &mut *out,
                counters: &self.counters,
                config: &self.dec,
                shared: &self.shared,
            };
            match &mut flow.state {
                State::Tcp(TcpState {
                    dec: TcpDecoder::App(app),
                    ..
                }) => {
                    app.tick(&mut cx);
                    buffered = buffered.saturating_add(app.buffered());
                }
                State::Udp(Some(app)) => app.tick(&mut cx),
                _ => {}
            }
        }
        self.app_buffered = buffered;
        let mut expired = std::mem::take(&mut self.expired);
        expired.sort_unstable();
        for &(_, slot) in &expired {
            self.close_slot(slot, now, out);
        }
        self.expired = expired;
        self.set_reassembly_gauge();
    }

    /// End of input: close every flow so that decoders emit what they hold.
    pub fn finish(&mut self, out: &mut Vec<Record>) {
        let mut all: Vec<(u64, u32)> = self
            .slab
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|f| (f.id, i as u32)))
            .collect();
        all.sort_unstable();
        for (_, slot) in all {
            self.close_slot(slot, self.latest, out);
        }
        self.slab.clear();
        self.free.clear();
        self.app_buffered = 0;
        self.set_reassembly_gauge();
    }
}

/// One TCP packet of an existing flow.
#[allow(clippy::too_many_arguments)]
#[inline]
fn tcp_packet(
    t: &mut TcpState,
    info: &FlowInfo,
    selector: &dyn Selector,
    env: &mut Env<'_>,
    meta: &PacketMeta,
    dir: Dir,
    payload: &[u8],
    out: &mut Vec<Record>,
) -> After {
    let f = meta.flags;
    let rst = f & tcp_flags::RST != 0;
    if f & tcp_flags::FIN != 0 {
        t.fin[dir.idx()] = true;
    }
    let ends = rst || (t.fin[0] && t.fin[1]);
    if let TcpDecoder::Undecided = t.dec {
        if !payload.is_empty() {
            t.dec = match selector.tcp_by_content(info, dir, payload) {
                Some(app) => TcpDecoder::App(app),
                None => TcpDecoder::Ignored,
            };
        }
    }
    let app = match &mut t.dec {
        TcpDecoder::App(app) => app.as_mut(),
        TcpDecoder::Ignored => {
            return if ends { After::Close } else { After::Keep };
        }
        TcpDecoder::Undecided => {
            // No data yet: keep track of where each stream starts.
            if f & tcp_flags::SYN != 0 {
                t.streams[dir.idx()].start_at(meta.seq.wrapping_add(1));
                if f & tcp_flags::ACK != 0 {
                    t.streams[dir.flip().idx()].start_at(meta.ack);
                }
            }
            return if ends { After::Close } else { After::Keep };
        }
    };
    let mut cx = Ctx {
        now: meta.ts,
        flow: info,
        out,
        counters: env.counters,
        config: env.dec,
        shared: env.shared,
    };
    let mut b = env.budget();
    let [s0, s1] = &mut t.streams;
    let (this, other) = if dir == Dir::ToServer {
        (s0, s1)
    } else {
        (s1, s0)
    };
    let mut seq = meta.seq;
    if f & tcp_flags::SYN != 0 {
        seq = seq.wrapping_add(1);
        this.start_at(seq);
        if f & tcp_flags::ACK != 0 {
            other.start_at(meta.ack);
        }
    }
    // The acknowledgement says what the other side sent: what we missed of it is a gap.
    if f & tcp_flags::ACK != 0 && !rst {
        if let Some(target) = other.acked(meta.ack) {
            let mut sink = AppSink {
                app,
                cx: &mut cx,
                dir: dir.flip(),
            };
            if payload.is_empty() {
                other.ack_later(target);
            } else {
                other.ack_now(target, &mut b, &mut sink);
            }
        }
    }
    if !payload.is_empty() {
        // Complete the other direction before this one goes on (request before response).
        let mut sink = AppSink {
            app,
            cx: &mut cx,
            dir: dir.flip(),
        };
        other.apply_pending(&mut b, &mut sink);
        let mut sink = AppSink {
            app,
            cx: &mut cx,
            dir,
        };
        this.segment(seq, payload, &mut b, &mut sink);
    }
    // An acknowledgement of this direction that came before this packet: if this packet did
    // not fill the hole, the data is not coming.
    {
        let mut sink = AppSink {
            app,
            cx: &mut cx,
            dir,
        };
        this.apply_pending(&mut b, &mut sink);
    }
    if f & tcp_flags::FIN != 0 {
        this.fin(seq, payload.len());
    }
    if ends {
        After::Close
    } else {
        After::Keep
    }
}

/// Ends a flow: flushes both directions of a TCP connection (gaps for what is missing) and
/// closes its decoder.
fn close_flow(flow: &mut Flow, env: &mut Env<'_>, now: Ts, out: &mut Vec<Record>) {
    let mut cx = Ctx {
        now,
        flow: &flow.info,
        out,
        counters: env.counters,
        config: env.dec,
        shared: env.shared,
    };
    match &mut flow.state {
        State::Udp(Some(app)) => app.close(&mut cx),
        State::Udp(None) => {}
        State::Tcp(t) => {
            let mut b = Budget {
                held: &mut *env.held,
                memory: env.memory,
                per_flow: env.per_flow,
                counters: env.counters,
            };
            match &mut t.dec {
                TcpDecoder::App(app) => {
                    for dir in [Dir::ToServer, Dir::ToClient] {
                        let mut sink = AppSink {
                            app: app.as_mut(),
                            cx: &mut cx,
                            dir,
                        };
                        t.streams[dir.idx()].flush(&mut b, &mut sink);
                    }
                    app.close(&mut cx);
                }
                _ => {
                    for s in &mut t.streams {
                        s.discard(&mut b);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::tcp_flags::{ACK, FIN, PSH, RST, SYN};
    use std::net::SocketAddr;
    use std::sync::Mutex;

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
        fn close(&mut self, cx: &mut Ctx<'_>) {
            self.push(cx, Ev::Close(cx.now));
        }
    }

    /// Decodes TCP server port 4444 and UDP server port 53; by content, TCP payloads that
    /// start with "HELO". Every flow it is asked about is remembered.
    struct Sel {
        log: Log,
        infos: Arc<Mutex<Vec<FlowInfo>>>,
    }

    impl Selector for Sel {
        fn tcp_by_port(&self, flow: &FlowInfo, _: &Shared, _: Ts) -> Option<Box<dyn TcpApp>> {
            self.infos.lock().unwrap().push(*flow);
            (flow.server_port == 4444).then(|| {
                Box::new(Rec {
                    log: self.log.clone(),
                }) as Box<dyn TcpApp>
            })
        }
        fn tcp_by_content(&self, _: &FlowInfo, _: Dir, first: &[u8]) -> Option<Box<dyn TcpApp>> {
            first.starts_with(b"HELO").then(|| {
                Box::new(Rec {
                    log: self.log.clone(),
                }) as Box<dyn TcpApp>
            })
        }
        fn udp_by_port(&self, flow: &FlowInfo) -> Option<Box<dyn UdpApp>> {
            self.infos.lock().unwrap().push(*flow);
            (flow.server_port == 53).then(|| {
                Box::new(Rec {
                    log: self.log.clone(),
                }) as Box<dyn UdpApp>
            })
        }
    }

    struct T {
        table: FlowTable,
        counters: Arc<Counters>,
        log: Log,
        infos: Arc<Mutex<Vec<FlowInfo>>>,
        out: Vec<Record>,
    }

    impl T {
        fn new(cfg: FlowConfig) -> Self {
            let counters = Arc::new(Counters::default());
            let log = Log::default();
            let infos = Arc::new(Mutex::new(Vec::new()));
            let sel = Sel {
                log: log.clone(),
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
                infos,
                out: Vec::new(),
            }
        }

        #[allow(clippy::too_many_arguments)]
        fn tcp(
            &mut self,
            ts: Ts,
            src: &str,
            dst: &str,
            seq: u32,
            ack: u32,
            flags: u8,
            data: &[u8],
        ) {
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

    #[test]
    fn idle_timeouts_and_ticks() {
        let cfg = FlowConfig {
            tcp_idle: 10 * NS,
            udp_idle: 5 * NS,
            ..FlowConfig::default()
        };
        let mut t = T::new(cfg);
        handshake(&mut t, NS);
        t.tcp(NS, C, S, 1001, 5001, ACK, b"q");
        t.udp(NS, "10.0.0.1:40000", "10.0.0.3:53", b"query");
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
    fn a_full_table_refuses_new_flows_and_counts_their_packets() {
        let cfg = FlowConfig {
            max_flows: 1,
            ..FlowConfig::default()
        };
        let mut t = T::new(cfg);
        handshake(&mut t, NS);
        t.tcp(NS, "10.0.0.9:1234", S, 1, 0, SYN, b"");
        t.tcp(NS, "10.0.0.9:1234", S, 2, 0, ACK, b"data");
        t.udp(NS, "10.0.0.9:1234", "10.0.0.3:53", b"q");
        t.tcp(NS, C, S, 1001, 5001, ACK, b"ok");
        assert_eq!(t.c(Counter::DropFlowTable), 3);
        assert_eq!(t.c(Counter::Flows), 1);
        assert_eq!(t.events(), vec![d(TS, b"ok")]);
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

    /// Counts what every flow delivers.
    #[derive(Debug, Default, Clone, PartialEq)]
    struct Totals {
        tcp_bytes: u64,
        gap_bytes: u64,
        datagrams: u64,
        udp_bytes: u64,
        closes: u64,
    }

    struct Counting(Arc<Mutex<Totals>>);

    impl TcpApp for Counting {
        fn data(&mut self, _: &mut Ctx<'_>, _: Dir, data: &[u8]) {
            self.0.lock().unwrap().tcp_bytes += data.len() as u64;
        }
        fn gap(&mut self, _: &mut Ctx<'_>, _: Dir, len: u64) {
            self.0.lock().unwrap().gap_bytes += len;
        }
        fn close(&mut self, _: &mut Ctx<'_>) {
            self.0.lock().unwrap().closes += 1;
        }
    }

    impl UdpApp for Counting {
        fn datagram(&mut self, _: &mut Ctx<'_>, _: Dir, data: &[u8]) {
            let mut t = self.0.lock().unwrap();
            t.datagrams += 1;
            t.udp_bytes += data.len() as u64;
        }
        fn close(&mut self, _: &mut Ctx<'_>) {
            self.0.lock().unwrap().closes += 1;
        }
    }

    struct CountAll(Arc<Mutex<Totals>>);

    impl Selector for CountAll {
        fn tcp_by_port(&self, _: &FlowInfo, _: &Shared, _: Ts) -> Option<Box<dyn TcpApp>> {
            Some(Box::new(Counting(self.0.clone())))
        }
        fn tcp_by_content(&self, _: &FlowInfo, _: Dir, _: &[u8]) -> Option<Box<dyn TcpApp>> {
            None
        }
        fn udp_by_port(&self, _: &FlowInfo) -> Option<Box<dyn UdpApp>> {
            Some(Box::new(Counting(self.0.clone())))
        }
    }

    /// Replays a capture file through the packet layer and a flow table with counting decoders.
    fn replay(path: &std::path::Path) -> (Totals, Arc<Counters>) {
        use crate::capture::file::FileSource;
        use crate::packet::{Decoder, PacketConfig};
        let totals = Arc::new(Mutex::new(Totals::default()));
        let counters = Arc::new(Counters::default());
        let mut table = FlowTable::with_selector(
            FlowConfig::default(),
            DecoderConfig::default(),
            Arc::new(Shared::default()),
            counters.clone(),
            Box::new(CountAll(totals.clone())),
        );
        let mut src = FileSource::open(path).unwrap();
        let mut dec = Decoder::new(PacketConfig::default());
        let mut out = Vec::new();
        while let Some(frame) = src.next_frame().unwrap() {
            if let Some((meta, payload)) = dec.decode(&frame, &counters) {
                table.packet(&meta, payload, &mut out);
                table.advance(meta.ts, &mut out);
            }
        }
        table.finish(&mut out);
        let t = totals.lock().unwrap().clone();
        (t, counters)
    }

    /// The lab captures through the flow layer: every TCP payload byte is delivered once, no gap,
    /// no drop, one flow per TCP connection and UDP conversation. Expected values from tshark:
    /// TCP bytes = sum of `tcp.len` over segments that are not retransmissions; connections and
    /// conversations from `-z conv,tcp` / `-z conv,udp`; datagrams and their payload from `udp`.
    #[test]
    fn lab_captures_match_tshark() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata-pcaps/lab");
        if !dir.exists() {
            eprintln!("skipped: {} is absent", dir.display());
            return;
        }
        // (file, tcp bytes, tcp connections, udp conversations, datagrams, udp bytes)
        let expected: [(&str, u64, u64, u64, u64, u64); 19] = [
            ("01_benign_kerberos_logon", 15453, 5, 4, 8, 1915),
            ("02_benign_smb_kerberos", 17006, 6, 2, 4, 957),
            ("03_benign_smb_ntlm", 8987, 3, 0, 0, 0),
            ("04_benign_rpc_queries", 19844, 1, 0, 0, 0),
            ("05_benign_dns", 0, 0, 14, 28, 2469),
            ("06_dns_zone_transfer", 286, 2, 0, 0, 0),
            ("07_dns_many_lookups", 0, 0, 400, 800, 72600),
            ("10_attack_kerberoasting", 20063, 12, 0, 0, 0),
            ("11_attack_asrep_roasting", 8202, 10, 0, 0, 0),
            ("12_attack_dcsync", 75774, 3, 0, 0, 0),
            ("13_attack_recon_samr_lsarpc", 155766, 3, 0, 0, 0),
            ("14_attack_password_spray_kerberos", 1785, 1, 17, 34, 7993),
            ("15_attack_bruteforce_ntlm", 33288, 20, 0, 0, 0),
            ("16_attack_account_enumeration", 0, 0, 63, 126, 20818),
            ("17_attack_pass_the_hash", 88063, 5, 0, 0, 0),
            ("18_attack_overpass_the_hash", 7103, 4, 0, 0, 0),
            ("19_attack_golden_ticket", 13002, 2, 0, 0, 0),
            (
                "20_attack_recon_samr_lsarpc_smb_cleartext",
                141058,
                3,
                0,
                0,
                0,
            ),
            ("21_attack_pass_the_hash_smb_cleartext", 81270, 5, 0, 0, 0),
        ];
        for (name, tcp_bytes, conns, convs, datagrams, udp_bytes) in expected {
            let (t, c) = replay(&dir.join(format!("{name}.pcap")));
            let got = (
                t.tcp_bytes,
                c.get(Counter::Flows),
                t.datagrams,
                t.udp_bytes,
                t.closes,
            );
            let want = (
                tcp_bytes,
                conns + convs,
                datagrams,
                udp_bytes,
                conns + convs,
            );
            assert_eq!(got, want, "{name}");
            assert_eq!(t.gap_bytes, 0, "{name}");
            assert_eq!(c.get(Counter::TcpGaps), 0, "{name}");
            assert_eq!(c.get(Counter::TcpMidstream), 0, "{name}");
            assert_eq!(
                c.get(Counter::DropTcpMemory) + c.get(Counter::DropFlowTable),
                0,
                "{name}"
            );
            assert_eq!(c.get(Counter::FlowsActive), 0, "{name}");
            assert_eq!(c.get(Counter::ReassemblyBytes), 0, "{name}");
        }
    }

    /// Every capture of the shared corpus (`../shared/pcaps`, when present) through the flow
    /// layer. Per connection direction, the bytes delivered were compared with tshark (the union
    /// of the `tcp.seq`/`tcp.len` ranges of its segments): 521 of 524 equal; the others are
    /// a capture on FDDI (a link type the packet layer does not read, so the file is skipped)
    /// and one frame cut by the snap length, whose missing 2004 bytes come out as a gap. The
    /// totals below are that comparison's; every flow is closed and every byte held released.
    #[test]
    fn shared_corpus_matches_tshark_totals() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/pcaps");
        if !dir.exists() {
            eprintln!("skipped: {} is absent", dir.display());
            return;
        }
        fn walk(d: &std::path::Path, acc: &mut Vec<std::path::PathBuf>) {
            for e in std::fs::read_dir(d).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, acc);
                } else if p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().contains(".pcap"))
                {
                    acc.push(p);
                }
            }
        }
        let mut files = Vec::new();
        walk(&dir, &mut files);
        files.sort();
        let (mut bytes, mut gaps, mut read) = (0, 0, 0);
        for f in &files {
            if crate::capture::file::FileSource::open(f).is_err() {
                continue;
            }
            read += 1;
            let (t, c) = replay(f);
            bytes += t.tcp_bytes;
            gaps += t.gap_bytes;
            assert_eq!(c.get(Counter::TcpGapBytes), t.gap_bytes, "{}", f.display());
            assert_eq!(c.get(Counter::FlowsActive), 0, "{}", f.display());
            assert_eq!(c.get(Counter::ReassemblyBytes), 0, "{}", f.display());
            assert_eq!(c.get(Counter::DropTcpMemory), 0, "{}", f.display());
        }
        if files.len() != 153 {
            eprintln!(
                "skipped the totals: the corpus changed ({} captures, not 153)",
                files.len()
            );
            return;
        }
        // The FDDI capture (dns-inverse-query) adds 73 TCP bytes, as tshark counts them.
        assert_eq!((read, bytes, gaps), (153, 9_020_066, 2253));
    }

    #[test]
    fn reassembly_gauge_adds_what_decoders_buffer_at_each_sweep() {
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
        assert_eq!(counters.get(Counter::ReassemblyBytes), 4);
        table.advance(NS, &mut out);
        assert_eq!(counters.get(Counter::ReassemblyBytes), 204);
        table.finish(&mut out);
        assert_eq!(counters.get(Counter::ReassemblyBytes), 0);
    }
}
