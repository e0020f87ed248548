//! The protocol registry: one table saying, for each protocol dcsensor decodes, its name, its
//! server ports, its content probe, its shedding class, the ports that keep room in the flow
//! table, its malformed-message counter and its decoder constructors.
//!
//! Everything that used to know ports on its own reads this table: dispatch
//! ([`tcp_by_port`], [`udp_by_port`], [`tcp_by_content`], [`udp_by_content`],
//! [`is_service_port`]), the resource guard's shedding ([`shed_class`], used by
//! [`crate::pipeline::shed_class`]), the flow table's room for authentication
//! ([`is_reserved_port`], used by [`crate::flow::pressure`]), the `/metrics` protocol labels
//! ([`by_malformed`]) and the README's protocol table (checked against [`PROTOCOLS`] by a unit
//! test). Adding a protocol is adding a row.

use super::{dcerpc, dns, http, kerberos, ldap, smb};
use super::{Dir, FlowInfo, Shared, TcpApp, UdpApp};
use crate::record::{Transport, Ts};
use crate::stats::Counter;

/// When the resource guard may shed a protocol's packets (see [`shed_class`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shed {
    /// Never shed: the class is above the guard's highest level.
    Never,
    /// Shed from this level on.
    At(u8),
    /// Packets with at least `bytes` of payload (bulk data) are shed from `level` on; smaller
    /// ones (session setup, tree connect) never.
    BulkAt { bytes: usize, level: u8 },
}

/// One protocol: what dispatch, shedding, the flow table and metrics know of it.
pub struct Protocol {
    /// The protocol's name: its `/metrics` label and its folder under `src/proto/`.
    pub name: &'static str,
    /// Server ports over TCP that select its decoder.
    pub tcp_ports: &'static [u16],
    /// Server ports over UDP that select its decoder.
    pub udp_ports: &'static [u16],
    /// Whether the first bytes of a TCP direction on an unclaimed port are this protocol.
    pub probe_tcp: Option<fn(Dir, &[u8]) -> bool>,
    /// Whether the first datagram of a UDP conversation on an unclaimed port is this protocol.
    pub probe_udp: Option<fn(&[u8]) -> bool>,
    /// When the resource guard may shed its packets (by port, either side).
    pub shed: Shed,
    /// Ports (either side, either transport) whose flows keep the flow table's room for
    /// authentication ([`crate::flow::FlowConfig::auth_reserve_percent`]).
    pub reserved: &'static [u16],
    /// The counter of its malformed messages.
    pub malformed: Counter,
    /// Its TCP decoder.
    pub tcp: Option<fn() -> Box<dyn TcpApp>>,
    /// Its UDP decoder.
    pub udp: Option<fn() -> Box<dyn UdpApp>>,
}

/// The protocols, in order of precedence: a packet whose two ports belong to two protocols is
/// shed by the first one's class, and content probes are tried in this order (they accept
/// disjoint first bytes, so the order does not change the choice). NTLM and GSS-API have no
/// port: they are reached inside the others ([`gssapi::inspect`](super::gssapi::inspect)).
pub const PROTOCOLS: &[Protocol] = &[
    Protocol {
        name: "kerberos",
        tcp_ports: &[88, 464],
        udp_ports: &[88, 464],
        probe_tcp: Some(kerberos::probe_tcp),
        probe_udp: None,
        shed: Shed::Never,
        reserved: &[88, 464],
        malformed: Counter::MalformedKerberos,
        tcp: Some(kerberos::tcp),
        udp: Some(kerberos::udp),
    },
    SMB,
    Protocol {
        name: "dns",
        tcp_ports: &[53],
        udp_ports: &[53],
        probe_tcp: None,
        probe_udp: None,
        shed: Shed::At(2),
        reserved: &[53],
        malformed: Counter::MalformedDns,
        tcp: Some(dns::tcp),
        udp: Some(dns::udp),
    },
    Protocol {
        name: "ldap",
        tcp_ports: &[389, 3268],
        udp_ports: &[389],
        probe_tcp: None,
        probe_udp: None,
        shed: Shed::Never,
        reserved: &[389, 3268],
        malformed: Counter::MalformedLdap,
        tcp: Some(ldap::tcp),
        udp: Some(ldap::udp),
    },
    Protocol {
        name: "dcerpc",
        tcp_ports: &[135],
        udp_ports: &[135],
        probe_tcp: Some(dcerpc::probe),
        probe_udp: Some(dcerpc::probe_udp),
        shed: Shed::At(OTHER_SHED_LEVEL),
        reserved: &[135],
        malformed: Counter::MalformedDcerpc,
        tcp: Some(dcerpc::tcp),
        udp: Some(dcerpc::udp),
    },
    Protocol {
        name: "http",
        tcp_ports: &[80, 8080, 5985],
        udp_ports: &[],
        probe_tcp: Some(http::probe),
        probe_udp: None,
        shed: Shed::At(OTHER_SHED_LEVEL),
        reserved: &[],
        malformed: Counter::MalformedHttp,
        tcp: Some(http::tcp),
        udp: None,
    },
    Protocol::inner("ntlm", Counter::MalformedNtlm),
    Protocol::inner("gssapi", Counter::MalformedGssapi),
];

/// SMB's row, named on its own for what reads its ports outside dispatch: the pipeline has the
/// packet layer shard SMB connections by address pair ([`crate::packet::flow_hash`]).
pub const SMB: Protocol = Protocol {
    name: "smb",
    tcp_ports: &[139, 445],
    udp_ports: &[],
    probe_tcp: Some(smb::probe),
    probe_udp: None,
    shed: Shed::BulkAt {
        bytes: 1024,
        level: 1,
    },
    reserved: &[445],
    malformed: Counter::MalformedSmb,
    tcp: Some(smb::tcp),
    udp: None,
};

/// The shedding level of a packet on no registered port (and of DCE-RPC on its dynamic ports).
pub const OTHER_SHED_LEVEL: u8 = 3;

/// The class [`Shed::Never`] stands for: above the guard's highest level.
pub const NEVER_SHED: u8 = 4;

impl Protocol {
    /// A protocol reached only inside others: no port, probe or decoder of its own, shed with
    /// its carrier's packets.
    const fn inner(name: &'static str, malformed: Counter) -> Protocol {
        Protocol {
            name,
            tcp_ports: &[],
            udp_ports: &[],
            probe_tcp: None,
            probe_udp: None,
            shed: Shed::At(OTHER_SHED_LEVEL),
            reserved: &[],
            malformed,
            tcp: None,
            udp: None,
        }
    }

    /// Its server ports over `transport`.
    pub fn ports(&self, transport: Transport) -> &'static [u16] {
        match transport {
            Transport::Tcp => self.tcp_ports,
            Transport::Udp => self.udp_ports,
        }
    }

    #[cfg(test)]
    fn on_port(&self, port: u16) -> bool {
        self.tcp_ports.contains(&port) || self.udp_ports.contains(&port)
    }
}

/// What every port is, read from [`PROTOCOLS`] once: the index of the first protocol on it over
/// TCP, over UDP and over either ([`NONE`] for none), and whether it is reserved. The lookups run
/// per packet and per new flow; scanning the table's port lists each time cost more.
struct PortMap {
    tcp: Box<[u8]>,
    udp: Box<[u8]>,
    any: Box<[u8]>,
    reserved: Box<[bool]>,
}

/// No protocol on the port.
const NONE: u8 = u8::MAX;

fn port_map() -> &'static PortMap {
    static MAP: std::sync::OnceLock<PortMap> = std::sync::OnceLock::new();
    MAP.get_or_init(|| {
        let n = 1 << 16;
        let mut m = PortMap {
            tcp: vec![NONE; n].into_boxed_slice(),
            udp: vec![NONE; n].into_boxed_slice(),
            any: vec![NONE; n].into_boxed_slice(),
            reserved: vec![false; n].into_boxed_slice(),
        };
        // in table order, the first protocol on a port keeps it
        for (i, p) in PROTOCOLS.iter().enumerate() {
            let i = u8::try_from(i).expect("fewer than 255 protocols");
            for (ports, table) in [(p.tcp_ports, &mut m.tcp), (p.udp_ports, &mut m.udp)] {
                for &port in ports {
                    if table[port as usize] == NONE {
                        table[port as usize] = i;
                    }
                    if m.any[port as usize] == NONE {
                        m.any[port as usize] = i;
                    }
                }
            }
            for &port in p.reserved {
                m.reserved[port as usize] = true;
            }
        }
        m
    })
}

fn at(table: &[u8], port: u16) -> Option<&'static Protocol> {
    PROTOCOLS.get(table[port as usize] as usize)
}

/// The first protocol (in table order) on either port, over either transport.
fn first_on_either(a: u16, b: u16) -> Option<&'static Protocol> {
    let m = port_map();
    PROTOCOLS.get(m.any[a as usize].min(m.any[b as usize]) as usize)
}

/// The protocol whose server port over `transport` is `port`.
pub fn by_port(transport: Transport, port: u16) -> Option<&'static Protocol> {
    let m = port_map();
    match transport {
        Transport::Tcp => at(&m.tcp, port),
        Transport::Udp => at(&m.udp, port),
    }
}

/// The protocol named `name`.
pub fn by_name(name: &str) -> Option<&'static Protocol> {
    PROTOCOLS.iter().find(|p| p.name == name)
}

/// The protocol whose malformed messages `c` counts (the `/metrics` label of `c`).
pub fn by_malformed(c: Counter) -> Option<&'static Protocol> {
    PROTOCOLS.iter().find(|p| p.malformed == c)
}

/// Well-known server ports of the protocols dcsensor decodes (used to tell client from server
/// when a flow is picked up mid-stream or a response is seen first).
pub fn is_service_port(transport: Transport, port: u16) -> bool {
    by_port(transport, port).is_some()
}

/// Whether a flow on `port` (either side) keeps the flow table's room for authentication.
pub fn is_reserved_port(port: u16) -> bool {
    port_map().reserved[port as usize]
}

/// The lowest shedding level that drops a packet with these ports and this much payload: the
/// class of the first protocol (in [`PROTOCOLS`] order) on either port, [`OTHER_SHED_LEVEL`]
/// when none is, [`NEVER_SHED`] for a protocol never shed.
pub fn shed_class(sport: u16, dport: u16, payload_len: usize) -> u8 {
    let Some(p) = first_on_either(sport, dport) else {
        return OTHER_SHED_LEVEL;
    };
    match p.shed {
        Shed::Never => NEVER_SHED,
        Shed::At(level) => level,
        Shed::BulkAt { bytes, level } => {
            if payload_len >= bytes {
                level
            } else {
                NEVER_SHED
            }
        }
    }
}

/// The decoder for a TCP connection chosen by its server port; on a port nobody claims, DCE-RPC
/// when the endpoint mapper handed that port out.
pub fn tcp_by_port(flow: &FlowInfo, shared: &Shared, now: Ts) -> Option<Box<dyn TcpApp>> {
    match by_port(Transport::Tcp, flow.server_port).and_then(|p| p.tcp) {
        Some(new) => Some(new()),
        None => shared
            .endpoint(flow.server, flow.server_port, now)
            .map(|_| dcerpc::tcp()),
    }
}

/// The decoder for a TCP connection on an unclaimed port, chosen by its first bytes in `dir`.
pub fn tcp_by_content(dir: Dir, first: &[u8]) -> Option<Box<dyn TcpApp>> {
    PROTOCOLS
        .iter()
        .find(|p| p.probe_tcp.is_some_and(|probe| probe(dir, first)))
        .and_then(|p| p.tcp)
        .map(|new| new())
}

/// The decoder for a UDP conversation, chosen by its server port.
pub fn udp_by_port(flow: &FlowInfo) -> Option<Box<dyn UdpApp>> {
    by_port(Transport::Udp, flow.server_port)
        .and_then(|p| p.udp)
        .map(|new| new())
}

/// The decoder for a UDP conversation on an unclaimed port, chosen by its first datagram
/// (connectionless DCE-RPC: a v4 request whose lengths add up exactly).
pub fn udp_by_content(first: &[u8]) -> Option<Box<dyn UdpApp>> {
    PROTOCOLS
        .iter()
        .find(|p| p.probe_udp.is_some_and(|probe| probe(first)))
        .and_then(|p| p.udp)
        .map(|new| new())
}

#[cfg(test)]
mod tests;
