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
//! Flows live in a slab indexed by key through a compact hash table ([`index`]); time only moves in [`FlowTable::advance`],
//! which once per second of `now` expires idle flows and runs the decoders' timers, so the
//! per-packet path never scans the table. Reassembly itself is in [`tcp`].

mod app;
mod index;
mod pressure;
mod sweep;

pub use pressure::index_bytes;
mod tcp;

use crate::packet::{tcp_flags, PacketMeta};
use crate::proto::{self, Ctx, DecoderConfig, Dir, FlowInfo, Shared, TcpApp, UdpApp};
use crate::record::{Record, Transport, Ts, NS};
use crate::stats::{Counter, Counters};
use app::{close_flow, tcp_packet, After};
use std::net::IpAddr;
use std::sync::Arc;
use tcp::{Budget, Stream};

/// Limits and timeouts of one flow table (one worker). [`crate::pipeline::Options::flow`] holds
/// the sensor's totals; [`FlowConfig::per_worker`] divides them among the workers.
#[derive(Debug, Clone)]
pub struct FlowConfig {
    /// Idle time after which a TCP connection is closed.
    pub tcp_idle: Ts,
    /// Idle time after which a UDP conversation is closed.
    pub udp_idle: Ts,
    /// In emergency mode (the table had to evict): idle time of a flow that carried no data
    /// (a TCP connection without payload, a UDP conversation heard one way).
    pub emergency_half_open_idle: Ts,
    /// In emergency mode: idle time of a TCP connection that carried data.
    pub emergency_tcp_idle: Ts,
    /// In emergency mode: idle time of a UDP conversation heard both ways.
    pub emergency_udp_idle: Ts,
    /// Flows in the table. A new flow beyond it (or beyond [`FlowConfig::memory`]) makes room
    /// by evicting flows (see [`pressure`]); only when nothing may be evicted is it refused,
    /// and each packet that would have started it counted ([`Counter::DropFlowTable`]).
    pub max_flows: usize,
    /// Out-of-order bytes held per direction of a connection. When more would be held, the
    /// oldest hole is given up as a gap and the data after it delivered, so no byte we have is
    /// lost to this cap.
    pub per_flow_buffer: usize,
    /// Out-of-order bytes held by all connections of the table. Out-of-order bytes beyond it are
    /// refused and counted ([`Counter::DropTcpMemory`]); they come out later as part of a gap.
    pub reassembly_memory: usize,
    /// Bytes the table's flows, held out-of-order data and decoder buffers may use together
    /// (this worker's share of the sensor's memory budget); 0: only the caps above.
    pub memory: usize,
    /// Percent of the table that flows on no authentication port ([`pressure::is_auth_port`])
    /// may not take: room kept for Kerberos, LDAP, SMB, RPC and DNS under a flood.
    pub auth_reserve_percent: usize,
}

impl Default for FlowConfig {
    fn default() -> Self {
        FlowConfig {
            tcp_idle: 300 * NS,
            udp_idle: 60 * NS,
            emergency_half_open_idle: 5 * NS,
            emergency_tcp_idle: 30 * NS,
            emergency_udp_idle: 10 * NS,
            max_flows: 1_000_000,
            per_flow_buffer: 256 * 1024,
            reassembly_memory: 256 * 1024 * 1024,
            memory: 0,
            auth_reserve_percent: 20,
        }
    }
}

impl FlowConfig {
    /// One worker's table when the sensor's totals (`max_flows`, `reassembly_memory`) are
    /// shared by `workers`, with `memory` bytes of the budget for its state.
    pub fn per_worker(&self, workers: usize, memory: usize) -> FlowConfig {
        let n = workers.max(1);
        FlowConfig {
            max_flows: (self.max_flows / n).max(1),
            reassembly_memory: self.reassembly_memory / n,
            memory,
            ..self.clone()
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
///
/// Packed to 8-byte alignment: 40 bytes instead of the 48 that the addresses' 16-byte alignment
/// would round it to, and the flow that holds it no longer needs 16-byte alignment either.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(Rust, packed(8))]
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

// TCP state boxed: one allocation per connection (freed at its close and taken again by the
// next one), where inline every slot paid for it. UDP conversations, most of a domain
// controller's flows (a DNS or Kerberos exchange, then kept until the idle timeout), outnumber
// the connections open at once, and their slots are what the table's growth touches.
enum State {
    Tcp(Box<TcpState>),
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
    /// Whether its entry in [`FlowTable::due`] may be other than 0 (the sweep set it): the
    /// next packet sets it back to 0, and only that packet writes to that array.
    due_later: bool,
    state: State,
    /// Directions that carried payload (bit [`Dir::idx`]): a flow with none (TCP) or one (UDP)
    /// is cheap to lose and evicted first.
    heard: u8,
    /// Whether either port is an authentication port ([`pressure::is_auth_port`]).
    auth: bool,
    /// What its decoder said it buffers, when last asked.
    buffered: usize,
    /// What it costs against the memory budget besides that ([`pressure::cost`]).
    cost: usize,
}

impl Flow {
    /// Whether the flow never carried data (TCP) or was heard one way only (UDP): a handshake
    /// or a query nobody answered, what a flood is made of.
    fn quiet(&self) -> bool {
        match self.state {
            State::Tcp(_) => self.heard == 0,
            State::Udp(_) => self.heard != 3,
        }
    }
}

/// The flows of one worker.
pub struct FlowTable {
    cfg: FlowConfig,
    dec: DecoderConfig,
    shared: Arc<Shared>,
    counters: Arc<Counters>,
    selector: Box<dyn Selector>,
    index: index::Index,
    slab: Vec<Option<Flow>>,
    /// Beside each slot: the packet time from which the sweep has something to do with it
    /// (0: at the next sweep; `Ts::MAX`: a free slot). A flow whose decoder has nothing waiting
    /// ([`TcpApp::waiting`]) needs no tick until its next packet, only its idle timeout, so the
    /// sweep reads this dense array instead of every flow.
    due: Vec<Ts>,
    free: Vec<u32>,
    next_id: u64,
    /// Out-of-order bytes held by all streams.
    held: usize,
    /// Bytes decoders said they buffer (each flow's last answer, summed).
    app_buffered: usize,
    /// Flows on an authentication port.
    auth_flows: usize,
    /// The sum of the flows' [`Flow::cost`].
    flow_bytes: usize,
    /// Emergency mode: the table had to evict; timeouts are shorter until it is half empty.
    emergency: bool,
    /// Reused list of eviction candidates: (rank, last seen, id, slot).
    victims: Vec<(u8, Ts, u64, u32)>,
    /// When the next sweep (timeouts, ticks) is due.
    next_sweep: Ts,
    /// Reused list of flows to close in a sweep: (id, slot).
    expired: Vec<(u64, u32)>,
    /// The latest time seen (packets and `advance`).
    latest: Ts,
    /// The key and slot of the flow of the last packet, until that flow closes: the next
    /// packet is often of the same flow (a response after its request, a segment after
    /// another), and then needs neither the key's hash nor the index.
    recent: Option<(Key, u32)>,
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
        let mut t = FlowTable {
            cfg,
            dec,
            shared,
            counters,
            selector,
            index: index::Index::default(),
            slab: Vec::new(),
            due: Vec::new(),
            free: Vec::new(),
            next_id: 0,
            held: 0,
            app_buffered: 0,
            auth_flows: 0,
            flow_bytes: 0,
            emergency: false,
            victims: Vec::new(),
            next_sweep: 0,
            expired: Vec::new(),
            latest: 0,
            recent: None,
        };
        if t.cfg.memory > 0 {
            // Slots for the most flows the budget allows, reserved (not touched) up front:
            // growing the slab by doubling would briefly hold both copies, and freed slots are
            // reused first, so only as many pages as flows were open at once become resident.
            // The index grows instead: flows land in its buckets at random, so a table sized
            // for the budget becomes resident page by page as flows come and go, whatever
            // their number at once (the budget counts its growth: [`index_bytes`]).
            let n = t.capacity();
            t.slab.reserve_exact(n);
            t.due.reserve_exact(n);
        }
        t
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
        let known = match &self.recent {
            Some((k, slot)) if *k == key => Some(*slot),
            _ => self.index.get(&key, &self.slab),
        };
        let slot = match known {
            Some(i) => {
                if meta.transport == Transport::Tcp && self.is_new_connection(i, meta, src_lo) {
                    // A SYN that does not belong to the connection we have: the old one is over.
                    self.close_slot(i, meta.ts, out);
                    match self.create(key, src_lo, meta, payload, out) {
                        Some(i) => i,
                        None => return,
                    }
                } else {
                    i
                }
            }
            None => match self.create(key, src_lo, meta, payload, out) {
                Some(i) => i,
                None => return,
            },
        };
        self.recent = Some((key, slot));
        let held_before = self.held;
        let reassembly_cap = self.reassembly_cap();
        let Some(flow) = self.slab.get_mut(slot as usize).and_then(Option::as_mut) else {
            return;
        };
        // Its decoder may now hold something that times out: look at it in the next sweep.
        if flow.due_later {
            self.due[slot as usize] = 0;
            flow.due_later = false;
        }
        flow.last_seen = meta.ts;
        let dir = if src_lo == flow.client_lo {
            Dir::ToServer
        } else {
            Dir::ToClient
        };
        if !payload.is_empty() || meta.transport == Transport::Udp {
            flow.heard |= 1 << dir.idx();
        }
        let mut env = Env {
            counters: &self.counters,
            dec: &self.dec,
            shared: &self.shared,
            held: &mut self.held,
            memory: reassembly_cap,
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
        if let State::Tcp(t) = &flow.state {
            if let (TcpDecoder::App(app), false) = (&t.dec, payload.is_empty()) {
                let now = app.buffered();
                self.app_buffered = (self.app_buffered + now).saturating_sub(flow.buffered);
                flow.buffered = now;
                if flow.cost == pressure::TCP_BASE_COST {
                    // The first payload chose a decoder.
                    flow.cost = pressure::cost(&flow.state);
                    self.flow_bytes += flow.cost - pressure::TCP_BASE_COST;
                }
            }
        }
        if after == After::Close {
            self.close_slot(slot, meta.ts, out);
        }
        if self.held != held_before {
            self.set_reassembly_gauge();
        }
        if self.over_memory() {
            self.relieve(meta.ts, out);
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
    fn create(
        &mut self,
        key: Key,
        src_lo: bool,
        meta: &PacketMeta,
        payload: &[u8],
        out: &mut Vec<Record>,
    ) -> Option<u32> {
        let f = meta.flags;
        let tcp = meta.transport == Transport::Tcp;
        // A TCP flow starts with a SYN or with data; a lone ACK, FIN or RST is most often the
        // tail of a connection already closed and would only make an empty flow.
        if tcp && (f & tcp_flags::RST != 0 || (f & tcp_flags::SYN == 0 && payload.is_empty())) {
            return None;
        }
        let auth = pressure::is_auth_port(meta.sport) || pressure::is_auth_port(meta.dport);
        if !self.admit(auth, meta.ts, out) {
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
                tunnel: meta.tunnel,
            }
        } else {
            FlowInfo {
                client: meta.dst,
                client_port: meta.dport,
                server: meta.src,
                server_port: meta.sport,
                transport: meta.transport,
                tunnel: meta.tunnel,
            }
        };
        let state = if tcp {
            let dec = match self.selector.tcp_by_port(&info, &self.shared, meta.ts) {
                Some(app) => TcpDecoder::App(app),
                None => TcpDecoder::Undecided,
            };
            State::Tcp(Box::new(TcpState {
                dec,
                streams: Default::default(),
                fin: [false; 2],
            }))
        } else {
            State::Udp(
                self.selector
                    .udp_by_port(&info)
                    .or_else(|| self.selector.udp_by_content(payload)),
            )
        };
        let mut flow = Flow {
            id: self.next_id,
            key,
            info,
            client_lo: src_lo == src_client,
            last_seen: meta.ts,
            due_later: false,
            state,
            heard: 0,
            auth,
            buffered: 0,
            cost: 0,
        };
        flow.cost = pressure::cost(&flow.state);
        self.flow_bytes += flow.cost;
        self.next_id += 1;
        self.auth_flows += auth as usize;
        let slot = match self.free.pop() {
            Some(i) => {
                self.slab[i as usize] = Some(flow);
                self.due[i as usize] = 0;
                i
            }
            None => {
                self.slab.push(Some(flow));
                self.due.push(0);
                (self.slab.len() - 1) as u32
            }
        };
        self.index.insert(&key, slot);
        self.counters.inc(Counter::Flows);
        self.counters
            .set(Counter::FlowsActive, self.index.len() as u64);
        self.counters.set(Counter::StateBytes, self.used() as u64);
        Some(slot)
    }

    /// Closes the flow in `slot` (flushing reassembly, closing its decoder) and removes it.
    fn close_slot(&mut self, slot: u32, now: Ts, out: &mut Vec<Record>) {
        let Some(mut flow) = self.slab.get_mut(slot as usize).and_then(Option::take) else {
            return;
        };
        self.index.remove(&flow.key, slot);
        if self.recent.is_some_and(|(_, s)| s == slot) {
            self.recent = None;
        }
        self.free.push(slot);
        self.due[slot as usize] = Ts::MAX;
        self.auth_flows -= flow.auth as usize;
        self.flow_bytes -= flow.cost;
        self.app_buffered = self.app_buffered.saturating_sub(flow.buffered);
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
        self.counters.set(Counter::StateBytes, self.used() as u64);
    }
}

#[cfg(test)]
mod tests;
