//! The transaction table: requests waiting for their answers, paired by a key.
//!
//! Every decoder that pairs a request with its answer keeps one [`Txns`] per flow (or per
//! connection): DNS by transaction id, LDAP by message id, DCE-RPC by call id, Kerberos over TCP
//! in order (the key is `()` and [`Txns::take_first`] pairs the oldest). The rules are the same
//! for all of them:
//!
//! - **cap**: at most `cap` requests wait; a new one over the cap evicts the *oldest*, which
//!   [`Txns::insert`] hands back for the decoder to emit alone (counted in [`TxnStats::evicted`]).
//!   A cap of 0 is taken as 1: the newest request always waits, so a request and its immediate
//!   answer still pair, and nothing panics.
//! - **timeout**: [`Txns::expire`] hands back, oldest first, every request whose last activity is
//!   at least `timeout` old by packet time: `now - last >= timeout` (one rule for the boundary,
//!   for every protocol). Counted in [`TxnStats::timed_out`].
//! - **flush**: [`Txns::drain`] hands back everything still waiting, oldest first, when the flow
//!   closes (not counted as a loss: the connection simply ended).
//!
//! ```ignore
//! // a request
//! if let Some(old) = self.txns.insert(cx.now, id, rec) { emit_alone(cx, old.value) }
//! // its answer
//! match self.txns.take(&id) { Some(t) => emit_pair(cx, t, answer), None => emit_lone(cx, answer) }
//! // tick and close
//! for t in self.txns.expire(cx.now, cx.config.request_timeout) { emit_alone(cx, t.value) }
//! for t in self.txns.drain() { emit_alone(cx, t.value) }
//! ```
//!
//! [`TxnStats`] accumulates what the table evicted and timed out; a decoder adds them to the
//! thread's counters with [`Txns::report`] (reported in `stats` as `requests_evicted` and
//! `requests_timed_out`), or reads them with [`Txns::take_stats`] in tests.

use crate::record::Ts;
use crate::stats::{Counter, Counters};
use std::collections::VecDeque;

/// One waiting request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Txn<K, V> {
    pub key: K,
    /// Packet time the request was seen.
    pub since: Ts,
    /// Packet time of its last activity (the request, or a partial answer the decoder
    /// recorded with [`Txns::touch`]): timeouts count from here.
    pub last: Ts,
    pub value: V,
}

/// What a table dropped since the decoder last looked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TxnStats {
    /// Requests evicted by the cap (emitted alone before their time).
    pub evicted: u64,
    /// Requests that waited past the timeout (emitted alone).
    pub timed_out: u64,
}

/// Requests of one flow waiting for answers, oldest first.
#[derive(Debug, Clone)]
pub struct Txns<K, V> {
    q: VecDeque<Txn<K, V>>,
    cap: usize,
    stats: TxnStats,
}

impl<K: PartialEq, V> Default for Txns<K, V> {
    fn default() -> Self {
        Txns::new(1)
    }
}

impl<K: PartialEq, V> Txns<K, V> {
    /// A table holding at most `cap` requests (0 is taken as 1).
    pub fn new(cap: usize) -> Self {
        Txns {
            q: VecDeque::new(),
            cap: cap.max(1),
            stats: TxnStats::default(),
        }
    }

    /// Changes the cap (taking effect at the next insert).
    pub fn set_cap(&mut self, cap: usize) {
        self.cap = cap.max(1);
    }

    /// Requests waiting.
    pub fn len(&self) -> usize {
        self.q.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.q.is_empty()
    }

    /// A request seen at `now`. When the table is full the oldest request is evicted and
    /// returned, for the decoder to emit alone.
    pub fn insert(&mut self, now: Ts, key: K, value: V) -> Option<Txn<K, V>> {
        let old = if self.q.len() >= self.cap {
            self.stats.evicted += 1;
            self.q.pop_front()
        } else {
            None
        };
        if self.q.capacity() == 0 {
            // Most flows (a DNS or Kerberos exchange over UDP) see one request: room for one,
            // not the four a first push would reserve (a waiting record is hundreds of bytes).
            self.q.reserve_exact(1);
        }
        self.q.push_back(Txn {
            key,
            since: now,
            last: now,
            value,
        });
        old
    }

    /// Gives the table's room back when nothing waits. A UDP conversation (a DNS or Kerberos
    /// exchange) is answered once and then kept until its idle timeout: the room of its one
    /// request, hundreds of bytes, would stay with it all that time, and the next
    /// conversation's request would take fresh memory instead of what this one freed.
    pub fn release_if_empty(&mut self) {
        if self.q.is_empty() && self.q.capacity() != 0 {
            self.q = VecDeque::new();
        }
    }

    /// How many requests the table has room for without growing (tests of its memory).
    #[cfg(test)]
    pub fn capacity(&self) -> usize {
        self.q.capacity()
    }

    /// Takes the oldest request with `key`.
    pub fn take(&mut self, key: &K) -> Option<Txn<K, V>> {
        let i = self.q.iter().position(|t| t.key == *key)?;
        self.q.remove(i)
    }

    /// Takes the oldest request (in-order pairing: Kerberos over TCP answers in order).
    pub fn take_first(&mut self) -> Option<Txn<K, V>> {
        self.q.pop_front()
    }

    /// Takes the oldest request for which `pred` holds.
    pub fn take_where(&mut self, pred: impl FnMut(&Txn<K, V>) -> bool) -> Option<Txn<K, V>> {
        let i = self.q.iter().position(pred)?;
        self.q.remove(i)
    }

    /// The position (0 = oldest) of the first request for which `pred` holds.
    pub fn position(&self, pred: impl FnMut(&Txn<K, V>) -> bool) -> Option<usize> {
        self.q.iter().position(pred)
    }

    /// Takes the request at `i` (from [`Txns::position`]).
    pub fn remove(&mut self, i: usize) -> Option<Txn<K, V>> {
        self.q.remove(i)
    }

    /// Puts a request taken with [`Txns::remove`] back at `i` (its age unchanged), so that one
    /// answer of several (a zone transfer) keeps its place. Never grows the table past the cap:
    /// when full, the oldest is evicted and returned.
    pub fn put_back(&mut self, i: usize, t: Txn<K, V>) -> Option<Txn<K, V>> {
        let i = i.min(self.q.len());
        self.q.insert(i, t);
        if self.q.len() > self.cap {
            self.stats.evicted += 1;
            return self.q.pop_front();
        }
        None
    }

    /// The oldest request with `key`.
    pub fn get(&self, key: &K) -> Option<&Txn<K, V>> {
        self.q.iter().find(|t| t.key == *key)
    }

    /// The oldest request with `key`, to update in place.
    pub fn get_mut(&mut self, key: &K) -> Option<&mut Txn<K, V>> {
        self.q.iter_mut().find(|t| t.key == *key)
    }

    /// Marks activity on the request at `i` (timeouts count from `now`).
    pub fn touch(&mut self, i: usize, now: Ts) {
        if let Some(t) = self.q.get_mut(i) {
            t.last = now;
        }
    }

    /// The waiting requests, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &Txn<K, V>> {
        self.q.iter()
    }

    /// Hands back, oldest first, every request with `now - last >= timeout`: each is taken out
    /// of the table as the iterator reaches it (no vector is allocated), so the iterator is to
    /// be run to its end; the requests it has not reached stay waiting.
    pub fn expire(&mut self, now: Ts, timeout: Ts) -> Expired<'_, K, V> {
        Expired {
            txns: self,
            at: 0,
            now,
            timeout,
        }
    }

    /// Hands back everything still waiting, oldest first (the flow closed).
    pub fn drain(&mut self) -> impl Iterator<Item = Txn<K, V>> + '_ {
        self.q.drain(..)
    }

    /// Adds what was evicted and timed out since the last call to the thread's counters
    /// ([`Counter::RequestsEvicted`], [`Counter::RequestsTimedOut`]), then zero: decoders call
    /// it from [`TcpApp::tick`](crate::proto::TcpApp::tick) and `close`.
    pub fn report(&mut self, counters: &Counters) {
        let s = self.take_stats();
        counters.add(Counter::RequestsEvicted, s.evicted);
        counters.add(Counter::RequestsTimedOut, s.timed_out);
    }

    /// What was evicted and timed out since the last call, then zero.
    pub fn take_stats(&mut self) -> TxnStats {
        std::mem::take(&mut self.stats)
    }

    /// What was evicted and timed out since the last [`Txns::take_stats`].
    pub fn stats(&self) -> TxnStats {
        self.stats
    }
}

/// The requests [`Txns::expire`] hands back, taken out of the table one at a time.
pub struct Expired<'a, K, V> {
    txns: &'a mut Txns<K, V>,
    /// Position of the next request to look at (those before it are not due).
    at: usize,
    now: Ts,
    timeout: Ts,
}

impl<K, V> Iterator for Expired<'_, K, V> {
    type Item = Txn<K, V>;

    fn next(&mut self) -> Option<Txn<K, V>> {
        let q = &mut self.txns.q;
        while let Some(t) = q.get(self.at) {
            if self.now.saturating_sub(t.last) >= self.timeout {
                self.txns.stats.timed_out += 1;
                return q.remove(self.at);
            }
            self.at += 1;
        }
        None
    }
}
