//! The ticket table behind pass-the-ticket and forged-ticket detections: which host each Kerberos
//! ticket was issued to (or first presented from), keyed by `ticket_hash`. It sits behind the
//! [`TicketStore`] trait so that a center shared by several instances can keep it in a shared
//! store (a JetStream key-value bucket); [`MemoryTickets`] is the capped in-memory default.

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

/// A table of tickets by hash. Implementations must be bounded and count what they drop.
pub trait TicketStore: Send {
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
