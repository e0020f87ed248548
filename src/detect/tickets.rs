//! The ticket table behind pass-the-ticket and forged-ticket detections: which host each Kerberos
//! ticket was issued to (or first presented from), keyed by `ticket_hash`. It sits behind the
//! [`TicketStore`] trait so that a center shared by several instances can keep it in a shared
//! store (a JetStream key-value bucket); [`MemoryTickets`] is the capped in-memory default.
//!
//! The same store carries the engine's learned [`Fact`]s (domain controllers, DNS servers, host
//! names, MIC senders, the NTLM baseline) between centers that each read a share of the
//! sensors, so that what one DC's traffic taught is known when another DC's is read. The
//! in-memory store shares nothing.

use super::table::{Capped, Touched};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// What is known of one ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ticket {
    /// When it was issued (or first presented).
    pub ts: f64,
    /// The address it was issued to (or first presented from).
    pub addr: IpAddr,
    /// Whether a KDC reply issuing it was seen (else it was first seen presented).
    pub issued: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The KDC that issued it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kdc: Option<IpAddr>,
    /// The sensor that saw it issued or first presented.
    pub sensor: String,
}

impl Touched for Ticket {
    fn last(&self) -> f64 {
        self.ts
    }
}

/// Knowledge the engine learned from some sensor's records that an engine reading other
/// sensors' records needs as well (several centers, each with a share of the sensors).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "fact", rename_all = "snake_case")]
pub enum Fact {
    /// An address seen answering as a domain controller (Kerberos, LDAP, DRSUAPI).
    Dc { addr: IpAddr },
    /// An address seen answering DNS.
    DnsServer { addr: IpAddr },
    /// A host name an address had, how it was found and when.
    Host {
        addr: IpAddr,
        name: String,
        by: String,
        ts: f64,
    },
    /// A source (`ntlm_tampering`'s key) whose NTLMv2 logons carried a MIC.
    MicSender { key: String, ts: f64 },
    /// An account and host pair seen with NTLM (`pass_the_hash`'s baseline key).
    NtlmPair { key: String, ts: f64 },
    /// When `pass_the_hash`'s baseline began (its first NTLM logon).
    NtlmSince { ts: f64 },
    /// An open alert (by detection and key): the engine that raises the same one later within
    /// `alert_ttl` of `last_ts` takes its id, first time and source, so the store adds both
    /// engines' counts to one alert.
    Opened {
        key: String,
        id: String,
        ts: f64,
        last_ts: f64,
        source: super::alert::Source,
    },
}

impl Fact {
    /// What the fact is about: two facts with the same identity replace each other in a shared
    /// store (a host's name is one fact per address and name).
    pub fn identity(&self) -> String {
        match self {
            Fact::Dc { addr } => format!("dc|{addr}"),
            Fact::DnsServer { addr } => format!("dns|{addr}"),
            Fact::Host { addr, name, .. } => format!("host|{addr}|{}", name.to_ascii_lowercase()),
            Fact::MicSender { key, .. } => format!("mic|{key}"),
            Fact::NtlmPair { key, .. } => format!("ntlm|{key}"),
            Fact::NtlmSince { .. } => "ntlm_since".into(),
            Fact::Opened { key, .. } => format!("alert|{key}"),
        }
    }
}

/// A table of tickets by hash. Implementations must be bounded and count what they drop.
pub trait TicketStore: Send {
    /// Whether this store passes learned facts to other engines (then the engine hands it what
    /// it learns, [`TicketStore::share`]).
    fn shares(&self) -> bool {
        false
    }
    /// Passes on a fact this engine learned (the default keeps nothing).
    fn share(&mut self, _fact: Fact) {}
    /// Facts other engines learned, delivered since the last call (the default has none).
    fn learned(&mut self) -> Vec<Fact> {
        Vec::new()
    }
    /// The ticket of `hash`, if known.
    fn get(&mut self, hash: &str) -> Option<Ticket>;
    /// Records a ticket (issued, or first presented). Replaces an earlier entry.
    fn put(&mut self, hash: &str, t: Ticket);
    /// Whether `hash` is known (without copying it out).
    fn contains(&self, hash: &str) -> bool;
    /// Tickets held.
    fn len(&self) -> usize;
    /// Whether no ticket is held.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Tickets dropped because the store was full.
    fn evictions(&self) -> u64;
    /// The record time of the latest eviction (forged-ticket detections do not trust "never
    /// issued" while a ticket of that age may have been dropped).
    fn last_eviction(&self) -> Option<f64>;
}

/// The in-memory ticket table, capped (the oldest tickets go first).
pub struct MemoryTickets {
    t: Capped<Ticket>,
    newest: f64,
    last_eviction: Option<f64>,
}

impl MemoryTickets {
    pub fn new(cap: usize) -> Self {
        MemoryTickets {
            t: Capped::new(cap),
            newest: 0.0,
            last_eviction: None,
        }
    }
}

impl TicketStore for MemoryTickets {
    fn get(&mut self, hash: &str) -> Option<Ticket> {
        self.t.get(hash).cloned()
    }

    fn put(&mut self, hash: &str, t: Ticket) {
        self.newest = self.newest.max(t.ts);
        let before = self.t.evictions;
        let slot = self.t.entry(hash, || t.clone());
        *slot = t;
        if self.t.evictions != before {
            self.last_eviction = Some(self.newest);
        }
    }

    fn contains(&self, hash: &str) -> bool {
        self.t.get(hash).is_some()
    }

    fn len(&self) -> usize {
        self.t.len()
    }

    fn evictions(&self) -> u64 {
        self.t.evictions
    }

    fn last_eviction(&self) -> Option<f64> {
        self.last_eviction
    }
}
