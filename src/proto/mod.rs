//! Dispatch: how application decoders plug into the flow layer.
//!
//! The flow layer ([`crate::flow`]) owns connections; for each one it picks a decoder here, first
//! by port ([`tcp_by_port`], [`udp_by_port`]), then, for a TCP connection on a port nobody
//! claims, by a content probe on the first bytes ([`tcp_by_content`]). Ports, probes and
//! constructors are rows of one table, the [`registry`]. A decoder receives UDP
//! datagrams ([`UdpApp`]) or the in-order bytes of each TCP direction with explicit gaps
//! ([`TcpApp`]), and emits records through [`Ctx::emit`]. One worker thread owns a flow, so
//! decoders keep plain per-connection state and need no locks.
//!
//! Protocols found inside other protocols are reached through functions, not ports:
//! [`gssapi::inspect`] (SPNEGO, NTLMSSP, Kerberos AP-REQ in any carrier),
//! [`kerberos::ap_req`], [`ntlm::NtlmAuth`] and [`dcerpc::PipeConn`] (DCE-RPC over SMB pipes).

pub mod dcerpc;
pub mod dns;
pub mod gssapi;
pub mod http;
pub mod kerberos;
pub mod kit;
pub mod ldap;
pub mod ntlm;
pub mod registry;
pub mod smb;

pub use registry::{is_service_port, tcp_by_content, tcp_by_port, udp_by_content, udp_by_port};

use crate::record::{Body, Record, Transport, Ts, NS};
use crate::stats::{Counter, Counters};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::RwLock;

/// The endpoints of a flow, with the roles decided: the client opened the connection or sent
/// the first request; the server answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlowInfo {
    pub client: IpAddr,
    pub client_port: u16,
    pub server: IpAddr,
    pub server_port: u16,
    pub transport: Transport,
    /// The encapsulations the flow's first packet came in (empty: none).
    pub tunnel: crate::packet::tunnel::TunnelPath,
}

/// Direction of data within a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dir {
    /// Client to server (requests).
    ToServer,
    /// Server to client (responses).
    ToClient,
}

impl Dir {
    /// The other direction.
    pub fn flip(self) -> Dir {
        match self {
            Dir::ToServer => Dir::ToClient,
            Dir::ToClient => Dir::ToServer,
        }
    }

    /// 0 for [`Dir::ToServer`], 1 for [`Dir::ToClient`]: an index for per-direction arrays.
    pub fn idx(self) -> usize {
        self as usize
    }
}

impl Record {
    /// A record of `body` at `ts` between a flow's client and server (defined here, beside
    /// [`FlowInfo`], so that `record` needs nothing of `proto`).
    pub fn new(ts: Ts, flow: Option<&FlowInfo>, body: Body) -> Self {
        Record {
            ts,
            kind: body.kind(),
            tunnel: flow.map(|f| f.tunnel).unwrap_or_default(),
            src: flow.map(|f| f.client),
            sport: flow.map(|f| f.client_port),
            dst: flow.map(|f| f.server),
            dport: flow.map(|f| f.server_port),
            proto: flow.map(|f| f.transport),
            body,
        }
    }
}

/// Limits and timeouts of the decoders. Every buffer that input can grow is capped here.
#[derive(Debug, Clone)]
pub struct DecoderConfig {
    /// A request with no answer is emitted alone after this long (packet time in replay).
    pub request_timeout: Ts,
    /// Requests waiting for an answer per flow; beyond it the oldest is emitted alone.
    pub max_pending: usize,
    /// Largest Kerberos message over TCP that is buffered and decoded.
    pub kerberos_max_message: usize,
    /// Largest SMB message buffered (file data beyond what is parsed is skipped, not buffered).
    pub smb_max_message: usize,
    /// Bytes of named-pipe payload buffered per SMB message for the DCE-RPC decoder.
    pub smb_max_pipe_payload: usize,
    /// SMB sessions, trees and opens (each kind) remembered for the other channels of a
    /// multichannel session ([`smb::registry`]); beyond it the least recently used is forgotten
    /// and counted. 0 turns the registry off.
    pub smb_registry_entries: usize,
    /// An SMB session, tree or open neither written nor read for this long is forgotten by the
    /// multichannel registry (the default is the TCP idle timeout's).
    pub smb_registry_idle: Ts,
    /// Stub bytes buffered per DCE-RPC call (fragment reassembly).
    pub dcerpc_max_stub: usize,
    /// DCE-RPC calls in flight per connection.
    pub dcerpc_max_calls: usize,
    /// DCE-RPC presentation contexts per connection.
    pub dcerpc_max_contexts: usize,
    /// Largest HTTP header block or LDAP message buffered.
    pub max_header: usize,
}

impl Default for DecoderConfig {
    fn default() -> Self {
        DecoderConfig {
            request_timeout: 30 * NS,
            max_pending: 256,
            kerberos_max_message: 256 * 1024,
            smb_max_message: 16 * 1024 * 1024,
            smb_max_pipe_payload: 1024 * 1024,
            smb_registry_entries: 16 * 1024,
            smb_registry_idle: 300 * NS,
            dcerpc_max_stub: 4 * 1024 * 1024,
            dcerpc_max_calls: 64,
            dcerpc_max_contexts: 64,
            max_header: 64 * 1024,
        }
    }
}

/// What the endpoint mapper handed out: an interface reachable at `server:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LearnedEndpoint {
    /// The interface's UUID (its 128 bits, first field in the high bits).
    pub interface: u128,
    /// When it was learned (packet time); entries expire after [`Shared::ENDPOINT_TTL`].
    pub learned: Ts,
}

/// State shared by all workers (rarely written, read when a flow starts).
#[derive(Debug, Default)]
pub struct Shared {
    /// Endpoints learned from EPM answers: `(server, port) → interface`.
    pub endpoints: RwLock<HashMap<(IpAddr, u16), LearnedEndpoint>>,
    /// SMB sessions, trees and opens, for the channels of a multichannel session.
    pub smb: smb::registry::Registry,
}

impl Shared {
    /// How long a learned endpoint is trusted.
    pub const ENDPOINT_TTL: Ts = 3600 * NS;
    /// Most endpoints remembered; beyond it the oldest are forgotten.
    pub const MAX_ENDPOINTS: usize = 16 * 1024;

    /// Remembers that `server:port` serves `interface` (a UUID, from an EPM answer).
    pub fn learn_endpoint(&self, server: IpAddr, port: u16, interface: u128, now: Ts) {
        let Ok(mut map) = self.endpoints.write() else {
            return;
        };
        if map.len() >= Self::MAX_ENDPOINTS {
            map.retain(|_, e| now.saturating_sub(e.learned) < Self::ENDPOINT_TTL);
            if map.len() >= Self::MAX_ENDPOINTS {
                if let Some(oldest) = map.iter().min_by_key(|(_, e)| e.learned).map(|(k, _)| *k) {
                    map.remove(&oldest);
                }
            }
        }
        map.insert(
            (server, port),
            LearnedEndpoint {
                interface,
                learned: now,
            },
        );
    }

    /// The interface learned for `server:port`, if still fresh.
    pub fn endpoint(&self, server: IpAddr, port: u16, now: Ts) -> Option<u128> {
        let map = self.endpoints.read().ok()?;
        let e = map.get(&(server, port))?;
        (now.saturating_sub(e.learned) < Self::ENDPOINT_TTL).then_some(e.interface)
    }
}

/// What a decoder gets with every call: the time, the flow, where records go, counters, limits.
pub struct Ctx<'a> {
    /// Time of the packet being processed (or, in [`TcpApp::tick`], the current time).
    pub now: Ts,
    pub flow: &'a FlowInfo,
    pub out: &'a mut Vec<Record>,
    pub counters: &'a Counters,
    pub config: &'a DecoderConfig,
    pub shared: &'a Shared,
}

impl Ctx<'_> {
    /// Emits a record of this flow that began at `ts`.
    pub fn emit(&mut self, ts: Ts, body: Body) {
        self.counters.inc(Counter::Records);
        self.out.push(Record::new(ts, Some(self.flow), body));
    }

    /// Emits a record of this flow that began at `ts`, its roles from the messages rather than
    /// from the flow: `requests` is the direction the requests went. When the flow layer took
    /// the answering side for the client (a flow picked up on an answer, two hosts on the same
    /// port), the record's source and destination are swapped, so `src` is always the side
    /// that asked.
    pub fn emit_from(&mut self, ts: Ts, body: Body, requests: Dir) {
        self.emit(ts, body);
        if requests == Dir::ToClient {
            if let Some(r) = self.out.last_mut() {
                std::mem::swap(&mut r.src, &mut r.dst);
                std::mem::swap(&mut r.sport, &mut r.dport);
            }
        }
    }

    /// Counts one event (a malformed message, a drop, ...).
    pub fn count(&self, c: Counter) {
        self.counters.inc(c);
    }

    /// Adds `n` to a counter.
    pub fn count_n(&self, c: Counter, n: u64) {
        self.counters.add(c, n);
    }
}

/// A decoder of one TCP connection.
pub trait TcpApp: Send {
    /// The next in-order bytes of direction `dir`.
    fn data(&mut self, cx: &mut Ctx<'_>, dir: Dir, data: &[u8]);
    /// `len` bytes of `dir` were lost before the next call to `data`: resynchronise.
    fn gap(&mut self, cx: &mut Ctx<'_>, dir: Dir, len: u64);
    /// Called about once a second (packet time in replay): emit what waited past its timeout.
    fn tick(&mut self, _cx: &mut Ctx<'_>) {}
    /// Whether [`TcpApp::tick`] could still do anything without another packet (a request
    /// waits for its answer, a message is held). When false the flow table does not tick the
    /// connection again until its next packet; a decoder that keeps timers must say so.
    fn waiting(&self) -> bool {
        true
    }
    /// The connection ended (FIN/RST, idle timeout, end of input): emit everything pending.
    fn close(&mut self, cx: &mut Ctx<'_>);
    /// Bytes held in this decoder's buffers, for memory accounting.
    fn buffered(&self) -> usize {
        0
    }
    /// The largest of [`TcpApp::buffered`]'s shares held for one direction (a decoder's caps
    /// are per direction: each may hold one partial message), for the fuzz targets' checks.
    fn buffered_one_way(&self) -> usize {
        self.buffered()
    }
}

/// A decoder of one UDP conversation (one client address and port with one server).
pub trait UdpApp: Send {
    /// One datagram in direction `dir`.
    fn datagram(&mut self, cx: &mut Ctx<'_>, dir: Dir, data: &[u8]);
    /// Called about once a second: emit what waited past its timeout.
    fn tick(&mut self, _cx: &mut Ctx<'_>) {}
    /// Whether [`UdpApp::tick`] could still do anything without another datagram (as
    /// [`TcpApp::waiting`]).
    fn waiting(&self) -> bool {
        true
    }
    /// The conversation ended (idle timeout, end of input): emit everything pending.
    fn close(&mut self, cx: &mut Ctx<'_>);
}

#[cfg(test)]
#[allow(dead_code)]
pub(crate) mod testutil {
    //! Helpers for decoder unit tests: a context that collects records.
    use super::*;

    /// One TCP segment's payload from a capture, with its time and ports.
    pub struct Seg {
        pub ts: Ts,
        pub sport: u16,
        pub dport: u16,
        pub payload: Vec<u8>,
    }

    /// Every TCP payload of one of our lab captures (`testdata-pcaps/lab/NAME`), in capture
    /// order, read with the real capture reader and packet decoder.
    pub fn lab_tcp_segments(name: &str) -> Vec<Seg> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata-pcaps/lab")
            .join(name);
        let mut src = crate::capture::file::FileSource::open(&path).unwrap();
        let mut dec = crate::packet::Decoder::new(crate::packet::PacketConfig::default());
        let counters = Counters::default();
        let mut out = Vec::new();
        while let Some(frame) = src.next_frame().unwrap() {
            if let Some((m, payload)) = dec.decode(&frame, &counters) {
                if m.transport == Transport::Tcp && !payload.is_empty() {
                    out.push(Seg {
                        ts: m.ts,
                        sport: m.sport,
                        dport: m.dport,
                        payload: payload.to_vec(),
                    });
                }
            }
        }
        out
    }

    /// A flow, counters and an output vector to build a [`Ctx`] from in tests.
    pub struct Harness {
        pub flow: FlowInfo,
        pub out: Vec<Record>,
        pub counters: Counters,
        pub config: DecoderConfig,
        pub shared: Shared,
    }

    impl Harness {
        pub fn new(transport: Transport, server_port: u16) -> Self {
            Harness {
                flow: FlowInfo {
                    client: "192.0.2.2".parse().unwrap(),
                    client_port: 49152,
                    server: "192.0.2.1".parse().unwrap(),
                    server_port,
                    transport,
                    tunnel: Default::default(),
                },
                out: Vec::new(),
                counters: Counters::default(),
                config: DecoderConfig::default(),
                shared: Shared::default(),
            }
        }

        pub fn cx(&mut self, now: Ts) -> Ctx<'_> {
            Ctx {
                now,
                flow: &self.flow,
                out: &mut self.out,
                counters: &self.counters,
                config: &self.config,
                shared: &self.shared,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! A record made from a flow ([`Record::new`]), encoded both ways.
    use super::FlowInfo;
    use crate::record::*;

    #[test]
    fn messagepack_carries_the_same_names_and_values() {
        let flow = FlowInfo {
            client: "10.0.0.2".parse().unwrap(),
            client_port: 50000,
            server: "10.0.0.1".parse().unwrap(),
            server_port: 53,
            transport: Transport::Udp,
            tunnel: Default::default(),
        };
        let body = Body::Dns(Dns {
            id: 7,
            opcode: Code::Name("QUERY"),
            query: Some("dc01.example".into()),
            qtype: Some(Code::Name("A")),
            qclass: Some(Code::Name("IN")),
            rcode: None,
            flags: crate::record::Names::list(&["rd"]),
            answers: vec![],
            ttls: vec![],
            answer_count: None,
            updates: vec![],
            rtt: Some(1_000),
        });
        let r = Record::new(NS, Some(&flow), body);
        let packed = rmp_serde::to_vec_named(&r).unwrap();
        let back: serde_json::Value = rmp_serde::from_slice(&packed).unwrap();
        let json: serde_json::Value = serde_json::to_value(&r).unwrap();
        assert_eq!(back, json);
        assert_eq!(json["src"], "10.0.0.2");
        assert_eq!(json["rtt"], 0.000001);
    }
}
