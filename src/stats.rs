//! The sensor's own health: counters kept by every thread, summed into `stats` records.
//!
//! Each thread (capture, every worker, the output) owns one [`Counters`] and is its only writer,
//! so an increment is a relaxed load and store, not a locked read-modify-write. Readers (the
//! periodic `stats` record, metrics) sum all of them. Every drop of data has a counter here:
//! a drop is never silent.

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

macro_rules! counters {
    ($( $var:ident => ($group:literal, $name:literal, $help:literal, $gauge:literal) ),* $(,)?) => {
        /// One counter or gauge of the sensor.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(usize)]
        pub enum Counter { $( $var ),* }

        impl Counter {
            /// Every counter, in declaration order.
            pub const ALL: &'static [Counter] = &[ $( Counter::$var ),* ];
            /// Number of counters.
            pub const COUNT: usize = Counter::ALL.len();
            /// The group it is reported under in `stats` (`""` for the top level).
            pub fn group(self) -> &'static str { match self { $( Counter::$var => $group ),* } }
            /// Its name inside the group.
            pub fn name(self) -> &'static str { match self { $( Counter::$var => $name ),* } }
            /// One line saying what it counts (metrics help text).
            pub fn help(self) -> &'static str { match self { $( Counter::$var => $help ),* } }
            /// Whether it is a gauge (a level, summed over threads) rather than a running total.
            pub fn is_gauge(self) -> bool { match self { $( Counter::$var => $gauge ),* } }
        }
    };
}

counters! {
    Packets => ("", "packets", "frames read from the capture", false),
    Bytes => ("", "bytes", "bytes of frames read from the capture", false),
    NonIp => ("", "non_ip", "frames that carry neither IPv4 nor IPv6 (ARP, LLDP, ...), not analysed", false),
    OtherTransport => ("", "other_transport", "IP packets that are neither TCP nor UDP (ICMP, ...), not analysed", false),
    Truncated => ("", "truncated", "frames cut short by the capture's snap length", false),
    FragmentsReassembled => ("", "fragments_reassembled", "IP datagrams rebuilt from fragments", false),
    Tunnelled => ("", "tunnelled", "packets taken out of tunnels (GRE, ERSPAN, VXLAN, Geneve, MPLS, PPPoE, IP-in-IP)", false),
    Flows => ("", "flows", "flows (TCP connections and UDP conversations) created", false),
    FlowsActive => ("", "flows_active", "flows in the flow tables now", true),
    ReassemblyBytes => ("", "reassembly_bytes", "bytes held for TCP reassembly and decoder buffers now", true),
    TcpGaps => ("", "tcp_gaps", "holes in TCP streams handed to decoders as gaps", false),
    TcpGapBytes => ("", "tcp_gap_bytes", "bytes missing in TCP streams", false),
    TcpMidstream => ("", "tcp_midstream", "TCP connections picked up without their handshake", false),
    FlowsEvictedHalfOpen => ("", "flows_evicted_half_open", "flows evicted to make room that carried no data or were heard one way only (unanswered), oldest first", false),
    FlowsEvictedIdle => ("", "flows_evicted_idle", "flows with data evicted to make room, least recently seen first (closed as at a timeout: their records are kept)", false),
    FlowEmergency => ("", "flow_emergency", "workers whose flow table is in emergency mode now (it had to evict: shorter idle timeouts)", true),
    StateBytes => ("", "state_bytes", "bytes of flows, held TCP data and decoder buffers counted against the memory budget now", true),
    Records => ("", "records", "records emitted", false),
    SmbEncrypted => ("", "smb_encrypted", "SMB3 encrypted messages, counted and skipped", false),
    SmbCompressed => ("", "smb_compressed", "SMB3 compressed messages, counted and skipped", false),
    LdapSealed => ("", "ldap_sealed", "LDAP messages signed or sealed by a SASL security layer, or TLS records after StartTLS, counted and skipped", false),
    RequestsEvicted => ("", "requests_evicted", "requests no longer awaited, oldest first, because max_pending requests of their flow already waited for answers (emitted alone; HTTP, which has no record of its own, forgets them)", false),
    RequestsTimedOut => ("", "requests_timed_out", "requests emitted alone because no answer came within request_timeout (decoders on the kit's transaction table)", false),

    DropKernel => ("drops", "kernel", "packets dropped by the kernel (libpcap ps_drop)", false),
    DropInterface => ("drops", "interface", "packets dropped by the interface or driver (libpcap ps_ifdrop)", false),
    DropQueue => ("drops", "queue", "frames dropped because a worker queue was full (live only)", false),
    DropFragmentMemory => ("drops", "fragment_memory", "IP fragments dropped by the fragment memory cap", false),
    DropFragmentTimeout => ("drops", "fragment_timeout", "incomplete fragmented datagrams expired", false),
    DropTunnelDepth => ("drops", "tunnel_depth", "packets nested in more tunnels than are followed (4), not analysed", false),
    DropFlowTable => ("drops", "flow_table", "packets of new flows refused because the flow table was full", false),
    DropTcpFlowCap => ("drops", "tcp_flow_cap", "TCP bytes dropped by the per-flow out-of-order cap", false),
    DropTcpMemory => ("drops", "tcp_memory", "TCP bytes dropped by the global reassembly memory cap", false),
    DropTcpLate => ("drops", "tcp_late", "TCP bytes that arrived after their hole had been given up as a gap, not analysed", false),
    DropDecoderCap => ("drops", "decoder_cap", "bytes decoders dropped because a message exceeded its cap", false),
    DropSmbRegistry => ("drops", "smb_registry", "SMB sessions, trees and opens the multichannel registry forgot, least recently used first, to stay under smb_registry_entries", false),
    DropShed => ("drops", "shed", "bytes not analysed because the resource guard shed load", false),
    DropUpstream => ("drops", "upstream", "records in batches dropped because the spool was full", false),

    MalformedPacket => ("malformed", "packet", "frames whose link, IP, TCP or UDP headers were malformed", false),
    MalformedTunnel => ("malformed", "tunnel", "packets whose encapsulation (GRE, ERSPAN, VXLAN, Geneve, MPLS, PPPoE) was malformed", false),
    MalformedDns => ("malformed", "dns", "malformed DNS messages", false),
    MalformedKerberos => ("malformed", "kerberos", "malformed Kerberos messages", false),
    MalformedDcerpc => ("malformed", "dcerpc", "malformed DCE-RPC PDUs", false),
    MalformedSmb => ("malformed", "smb", "malformed SMB messages", false),
    MalformedNtlm => ("malformed", "ntlm", "malformed NTLMSSP messages", false),
    MalformedGssapi => ("malformed", "gssapi", "malformed GSS-API / SPNEGO tokens", false),
    MalformedHttp => ("malformed", "http", "malformed HTTP headers", false),
    MalformedLdap => ("malformed", "ldap", "malformed LDAP messages", false),
}

/// The counters of one thread. Only that thread writes; anyone may read.
pub struct Counters {
    v: [AtomicU64; Counter::COUNT],
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            v: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

impl std::fmt::Debug for Counters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut m = f.debug_map();
        for &c in Counter::ALL {
            let v = self.get(c);
            if v != 0 {
                m.entry(&c.name(), &v);
            }
        }
        m.finish()
    }
}

impl Counters {
    /// Adds `n` to `c`. Only the owning thread may call this.
    #[inline]
    pub fn add(&self, c: Counter, n: u64) {
        let a = &self.v[c as usize];
        a.store(a.load(Relaxed).wrapping_add(n), Relaxed);
    }

    /// Adds one to `c`.
    #[inline]
    pub fn inc(&self, c: Counter) {
        self.add(c, 1)
    }

    /// Sets a gauge. Only the owning thread may call this.
    #[inline]
    pub fn set(&self, c: Counter, n: u64) {
        self.v[c as usize].store(n, Relaxed);
    }

    /// Reads `c`.
    #[inline]
    pub fn get(&self, c: Counter) -> u64 {
        self.v[c as usize].load(Relaxed)
    }
}

/// A sum of several threads' counters at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub values: Vec<u64>,
}

impl Default for Snapshot {
    fn default() -> Self {
        Snapshot {
            values: vec![0; Counter::COUNT],
        }
    }
}

impl Snapshot {
    /// Sums `sets` of counters.
    pub fn sum<'a>(sets: impl IntoIterator<Item = &'a Counters>) -> Self {
        let mut s = Snapshot::default();
        for c in sets {
            s.add(c);
        }
        s
    }

    /// Adds one thread's counters.
    pub fn add(&mut self, c: &Counters) {
        for &k in Counter::ALL {
            self.values[k as usize] += c.get(k);
        }
    }

    /// The value of `c`.
    pub fn get(&self, c: Counter) -> u64 {
        self.values[c as usize]
    }
}

/// The body of a `stats` record: a snapshot, grouped as `drops`, `malformed` and the top level,
/// plus the per-type record counts and the upstream backlog.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StatsRecord {
    pub snapshot: Snapshot,
    /// Records emitted per type, in [`crate::record::RecordType::ALL`] order.
    pub records_by_type: Vec<(&'static str, u64)>,
    /// Seconds since the sensor started (wall clock).
    pub elapsed: f64,
    /// Batches waiting in the spool for an acknowledgement, when an upstream is configured.
    pub upstream_backlog: Option<u64>,
    /// Whether this is the final record of a run.
    pub last: bool,
}

impl StatsRecord {
    /// Whether any data was lost: any drop counter above zero.
    pub fn partial(&self) -> bool {
        Counter::ALL
            .iter()
            .any(|&c| c.group() == "drops" && self.snapshot.get(c) > 0)
    }
}

struct Group<'a>(&'a Snapshot, &'static str);

impl Serialize for Group<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        for &c in Counter::ALL.iter().filter(|c| c.group() == self.1) {
            m.serialize_entry(c.name(), &self.0.get(c))?;
        }
        m.end()
    }
}

struct Pairs<'a>(&'a [(&'static str, u64)]);

impl Serialize for Pairs<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl Serialize for StatsRecord {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        for &c in Counter::ALL.iter().filter(|c| c.group().is_empty()) {
            m.serialize_entry(c.name(), &self.snapshot.get(c))?;
        }
        m.serialize_entry("records_by_type", &Pairs(&self.records_by_type))?;
        m.serialize_entry("drops", &Group(&self.snapshot, "drops"))?;
        m.serialize_entry("malformed", &Group(&self.snapshot, "malformed"))?;
        m.serialize_entry("partial", &self.partial())?;
        if let Some(b) = self.upstream_backlog {
            m.serialize_entry("upstream_backlog", &b)?;
        }
        m.serialize_entry("elapsed", &self.elapsed)?;
        m.serialize_entry("last", &self.last)?;
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_sum_over_threads_and_group_in_stats() {
        let a = Counters::default();
        let b = Counters::default();
        a.add(Counter::Packets, 3);
        b.inc(Counter::Packets);
        b.add(Counter::DropQueue, 2);
        a.inc(Counter::MalformedDns);
        let snap = Snapshot::sum([&a, &b]);
        assert_eq!(snap.get(Counter::Packets), 4);
        let rec = StatsRecord {
            snapshot: snap,
            ..Default::default()
        };
        assert!(rec.partial());
        let v = serde_json::to_value(&rec).unwrap();
        assert_eq!(v["packets"], 4);
        assert_eq!(v["drops"]["queue"], 2);
        assert_eq!(v["malformed"]["dns"], 1);
        assert_eq!(v["partial"], true);
    }

    #[test]
    fn names_are_unique_within_a_group() {
        let mut seen = std::collections::HashSet::new();
        for &c in Counter::ALL {
            assert!(seen.insert((c.group(), c.name())), "{c:?}");
        }
    }
}
