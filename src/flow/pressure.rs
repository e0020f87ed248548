//! The flow table under pressure: what a flow costs, how the table makes room instead of
//! refusing new flows, and the emergency mode.
//!
//! A flood (spoofed SYNs never answered, queries from a million sources) is made of flows that
//! carry no data or are heard one way only ([`Flow::quiet`]). When a new flow finds the table
//! full — by count ([`super::FlowConfig::max_flows`]) or by memory ([`super::FlowConfig::memory`]: flows,
//! held out-of-order bytes and decoder buffers together) — the table evicts a batch of flows:
//! the oldest quiet ones first, then the least recently seen of the others. Evicted flows are
//! closed as at a timeout (held data flushed, decoders emit what they have) and counted
//! ([`Counter::FlowsEvictedHalfOpen`], [`Counter::FlowsEvictedIdle`]). Flows on no
//! authentication port may fill only `100 - auth_reserve_percent` % of the table and never push
//! out a flow on an authentication port, so Kerberos, LDAP, SMB, RPC and DNS always find room.
//!
//! The first eviction puts the table in emergency mode ([`Counter::FlowEmergency`]): shorter
//! idle timeouts until the table is less than half full again.

use super::{FlowTable, State, TcpDecoder, TcpState};
use crate::record::{Record, Ts};
use crate::stats::Counter;

/// Whether `port` carries authentication or the directory: Kerberos (88, 464), LDAP (389) and
/// the global catalog (3268), SMB (445), the RPC endpoint mapper (135), DNS (53) — the ports the
/// protocol registry reserves room for ([`crate::proto::registry::is_reserved_port`]).
#[inline]
pub fn is_auth_port(port: u16) -> bool {
    crate::proto::registry::is_reserved_port(port)
}

/// What any flow costs: its slot and its index entry.
pub const BASE_COST: usize = std::mem::size_of::<Option<super::Flow>>() + 64;
/// Besides [`BASE_COST`], what a TCP connection costs: its reassembly state (boxed, out of the
/// slot, so that UDP flows do not pay for it).
pub(super) const TCP_STATE_COST: usize = std::mem::size_of::<TcpState>();
/// What a TCP connection without a decoder yet costs.
pub(super) const TCP_BASE_COST: usize = BASE_COST + TCP_STATE_COST;
/// Besides its own size, what a TCP decoder costs (its allocation).
const TCP_APP_COST: usize = 64;
/// Besides its own size, what a UDP decoder costs: its allocation and a pending transaction
/// (measured with a flood of unanswered DNS queries: 1.16 KiB per flow in all, with
/// `/usr/bin/time` on 100,000 and 200,000 flows).
const UDP_APP_COST: usize = 768;

/// What a flow costs: [`BASE_COST`], a connection's [`TCP_STATE_COST`], and its decoder.
pub(super) fn cost(state: &State) -> usize {
    BASE_COST
        + match state {
            State::Tcp(t) => {
                TCP_STATE_COST
                    + match &t.dec {
                        TcpDecoder::App(app) => std::mem::size_of_val(&**app) + TCP_APP_COST,
                        _ => 0,
                    }
            }
            State::Udp(Some(app)) => std::mem::size_of_val(&**app) + UDP_APP_COST,
            State::Udp(None) => 0,
        }
}

/// What the index of a table with `memory` bytes and at most `max_flows` flows may take: hash
/// buckets for [`FlowTable::capacity`] flows (a power of two at least 8/7 of the count, as the
/// hash table sizes itself), each an entry of the index (a slot number and 32 bits of the key's
/// hash) and a control byte, plus the table of
/// half that size it was copied from when it last grew (the index grows with the flows open at
/// once; both tables are held while it doubles). The pipeline takes it out of a worker's share
/// before the rest is given to the table ([`crate::pipeline::Options::memory_shares`]).
pub fn index_bytes(memory: usize, max_flows: usize) -> usize {
    if memory == 0 {
        return 0;
    }
    let flows = max_flows.min(memory / BASE_COST).max(1);
    let buckets = (flows.saturating_mul(8).div_ceil(7))
        .next_power_of_two()
        .max(4);
    let table = buckets.saturating_mul(super::index::ENTRY_BYTES + 1);
    table.saturating_add(table / 2)
}

/// Evictions per round: this fraction of the table, so that a flood pays for one scan of the
/// table every `capacity / EVICT_DIVISOR` new flows.
const EVICT_DIVISOR: usize = 16;

impl FlowTable {
    /// Bytes the table accounts against its memory budget now.
    pub fn used(&self) -> usize {
        self.flow_bytes
            .saturating_add(self.held)
            .saturating_add(self.app_buffered)
    }

    /// Whether the table is in emergency mode.
    pub fn emergency(&self) -> bool {
        self.emergency
    }

    /// How many flows the table holds at most (by count and by memory).
    pub fn capacity(&self) -> usize {
        let by_memory = match self.cfg.memory {
            0 => usize::MAX,
            m => (m / BASE_COST).max(1),
        };
        self.cfg.max_flows.min(by_memory).max(1)
    }

    /// The out-of-order bytes the table may hold now: the reassembly cap, within what the
    /// memory budget leaves after flows and decoder buffers.
    pub(super) fn reassembly_cap(&self) -> usize {
        match self.cfg.memory {
            0 => self.cfg.reassembly_memory,
            m => {
                let others = self.flow_bytes + self.app_buffered;
                self.cfg.reassembly_memory.min(m.saturating_sub(others))
            }
        }
    }

    pub(super) fn over_memory(&self) -> bool {
        self.cfg.memory > 0 && self.used() > self.cfg.memory
    }

    /// Whether a new flow (on an authentication port or not) has no room.
    fn full(&self, auth: bool) -> bool {
        let n = self.index.len();
        if n >= self.cfg.max_flows {
            return true;
        }
        if self.cfg.memory > 0 && self.used().saturating_add(BASE_COST) > self.cfg.memory {
            return true;
        }
        if !auth {
            let others = n - self.auth_flows;
            let share = 100 - self.cfg.auth_reserve_percent.min(100);
            return others.saturating_mul(100) >= self.capacity().saturating_mul(share);
        }
        false
    }

    /// Makes room for a new flow, evicting if needed; false if the flow must be refused.
    pub(super) fn admit(&mut self, auth: bool, now: Ts, out: &mut Vec<Record>) -> bool {
        if !self.full(auth) {
            return true;
        }
        self.set_emergency(true);
        // Each round evicts at least one flow or gives up; the bound only guards the loop.
        for _ in 0..64 {
            if self.evict(auth, now, out) == 0 {
                break;
            }
            if !self.full(auth) {
                return true;
            }
        }
        false
    }

    /// Over the memory budget after a packet (a decoder buffered more): evict until under it.
    pub(super) fn relieve(&mut self, now: Ts, out: &mut Vec<Record>) {
        self.set_emergency(true);
        for _ in 0..64 {
            if !self.over_memory() || self.evict(true, now, out) == 0 {
                break;
            }
        }
    }

    /// Evicts one batch: quiet flows oldest first, then the least recently seen. With
    /// `take_auth` false, flows on authentication ports are left alone. Returns how many went.
    fn evict(&mut self, take_auth: bool, now: Ts, out: &mut Vec<Record>) -> usize {
        let want = (self.capacity() / EVICT_DIVISOR).max(1);
        let mut victims = std::mem::take(&mut self.victims);
        victims.clear();
        for (i, slot) in self.slab.iter().enumerate() {
            let Some(f) = slot else { continue };
            if f.auth && !take_auth {
                continue;
            }
            victims.push((u8::from(!f.quiet()), f.last_seen, f.id, i as u32));
        }
        if victims.len() > want {
            victims.select_nth_unstable(want - 1);
            victims.truncate(want);
        }
        // Close in creation order, so that the records come out in a stable order.
        victims.sort_unstable_by_key(|v| v.2);
        for &(rank, _, _, slot) in &victims {
            self.counters.inc(if rank == 0 {
                Counter::FlowsEvictedHalfOpen
            } else {
                Counter::FlowsEvictedIdle
            });
            self.close_slot(slot, now, out);
        }
        let n = victims.len();
        self.victims = victims;
        n
    }

    fn set_emergency(&mut self, on: bool) {
        if self.emergency != on {
            self.emergency = on;
            self.counters.set(Counter::FlowEmergency, u64::from(on));
            if on {
                tracing::warn!(
                    flows = self.index.len(),
                    state_bytes = self.used(),
                    "flow table full: evicting flows (unanswered and data-less first), emergency timeouts on"
                );
            } else {
                tracing::info!(
                    flows = self.index.len(),
                    "flow table below half: emergency timeouts off"
                );
            }
        }
    }

    /// At a sweep: leave emergency mode once the table is below half its capacity and budget.
    pub(super) fn calm_down(&mut self) {
        if !self.emergency {
            return;
        }
        let calm = self.index.len() < self.capacity() / 2
            && (self.cfg.memory == 0 || self.used() < self.cfg.memory / 2);
        if calm {
            self.set_emergency(false);
        }
    }
}
