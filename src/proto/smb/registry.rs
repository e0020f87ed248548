//! SMB sessions, trees and opens seen on every connection, so that one channel of an SMB3
//! multichannel session (another TCP connection bound to the same session) finds what was set
//! up on another: the session's user, a tree's share and whether it is IPC, a FileId's path and
//! the DCE-RPC contexts bound on it when it is a pipe.
//!
//! SessionIds, TreeIds and FileIds are the server's, unique per server and not per connection,
//! so entries are keyed by (server address, SessionId[, TreeId | FileId]). Each connection keeps
//! its own state first ([`super::state`]) and writes here what another channel may need (a
//! session set up, a tree connected, a file opened on an IPC tree or on a tree whose connect was
//! not seen, a pipe's bound contexts); it reads here only when it meets a session, tree or
//! FileId it does not know. CLOSE, TREE_DISCONNECT and LOGOFF remove entries; an entry neither
//! written nor read for [`DecoderConfig::smb_registry_idle`] expires; beyond
//! [`DecoderConfig::smb_registry_entries`] entries of a kind, the least recently used live one
//! is forgotten and counted ([`Counter::DropSmbRegistry`]).
//!
//! One registry serves the whole sensor (it sits in [`Shared`](crate::proto::Shared)) behind
//! one lock, taken only at those few events, never per data message. The pipeline sends every
//! connection between the same two addresses on the SMB ports to the same worker
//! ([`crate::packet::flow_hash`]), so the channels of a client that reuses its address are read
//! in capture order and what one writes is there when the other reads; channels from other
//! client addresses (several NICs) are found as well, but in replay with several workers only
//! when the writing worker got there first.
//!
//! [`DecoderConfig::smb_registry_idle`]: crate::proto::DecoderConfig::smb_registry_idle
//! [`DecoderConfig::smb_registry_entries`]: crate::proto::DecoderConfig::smb_registry_entries

use crate::base::WireMap;
use crate::proto::Ctx;
use crate::record::Ts;
use crate::stats::Counter;
use std::collections::VecDeque;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// A session: (server, SessionId).
pub type SessionKey = (IpAddr, u64);
/// A tree connect: (server, SessionId, TreeId).
pub type TreeKey = (IpAddr, u64, u32);
/// An open: (server, SessionId, FileId).
pub type OpenKey = (IpAddr, u64, u128);

/// Longest path remembered for an open (a longer one is not shared).
const MAX_PATH: usize = 256;
/// DCE-RPC contexts remembered per open pipe.
const MAX_CONTEXTS: usize = 8;

/// A DCE-RPC presentation context bound on a pipe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoundContext {
    pub id: u16,
    pub uuid: u128,
    pub major: u16,
    pub minor: u16,
    /// The server's answer when it was seen on the binding channel.
    pub accepted: Option<bool>,
    pub ndr64: bool,
}

/// A tree connect: its share and whether it is IPC (its files are named pipes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeInfo {
    pub share: Arc<str>,
    pub pipe: bool,
}

/// An open: the path it was opened with (empty: not seen) and, for a pipe, its bound contexts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenInfo {
    pub path: String,
    pub contexts: Vec<BoundContext>,
}

/// A map of at most `cap` entries that forgets, when full, the entry least recently written or
/// read; entries idle for `ttl` expire (not counted as forgotten).
#[derive(Debug)]
pub(crate) struct Capped<K, V> {
    map: WireMap<K, (V, Ts, u64)>,
    /// Keys by last use, oldest first; an element whose generation differs from its entry's is
    /// stale (the entry was used again or removed) and skipped.
    order: VecDeque<(K, u64)>,
    gen: u64,
}

impl<K, V> Default for Capped<K, V> {
    fn default() -> Self {
        Capped {
            map: WireMap::default(),
            order: VecDeque::new(),
            gen: 0,
        }
    }
}

impl<K: Copy + Eq + Hash, V> Capped<K, V> {
    fn touch(&mut self, k: K) -> u64 {
        self.gen += 1;
        self.order.push_back((k, self.gen));
        if self.order.len() > 2 * self.map.len() + 64 {
            let map = &self.map;
            self.order
                .retain(|(k, g)| map.get(k).is_some_and(|e| e.2 == *g));
        }
        self.gen
    }

    /// Drops the expired entries at the front (the least recently used).
    fn expire(&mut self, now: Ts, ttl: Ts) {
        while let Some(&(k, g)) = self.order.front() {
            match self.map.get(&k) {
                Some(e) if e.2 == g => {
                    if now.saturating_sub(e.1) < ttl {
                        return;
                    }
                    self.map.remove(&k);
                }
                _ => {}
            }
            self.order.pop_front();
        }
    }

    /// The entry of `k`, if live; a hit counts as a use.
    pub(crate) fn get(&mut self, k: &K, now: Ts, ttl: Ts) -> Option<&mut V> {
        self.expire(now, ttl);
        if !self.map.contains_key(k) {
            return None;
        }
        let g = self.touch(*k);
        let e = self.map.get_mut(k)?;
        e.1 = e.1.max(now);
        e.2 = g;
        Some(&mut e.0)
    }

    /// Sets `k` to `v`; returns how many live entries were forgotten to make room.
    pub(crate) fn insert(&mut self, k: K, v: V, now: Ts, ttl: Ts, cap: usize) -> u64 {
        self.expire(now, ttl);
        if cap == 0 {
            return 0;
        }
        let mut forgotten = 0;
        if !self.map.contains_key(&k) {
            while self.map.len() >= cap {
                let Some((old, g)) = self.order.pop_front() else {
                    break;
                };
                if self.map.get(&old).is_some_and(|e| e.2 == g) {
                    self.map.remove(&old);
                    forgotten += 1;
                }
            }
        }
        let g = self.touch(k);
        self.map.insert(k, (v, now, g));
        forgotten
    }

    pub(crate) fn remove(&mut self, k: &K) -> Option<V> {
        self.map.remove(k).map(|e| e.0)
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }
}

#[derive(Debug, Default)]
struct Inner {
    sessions: Capped<SessionKey, Option<Arc<str>>>,
    trees: Capped<TreeKey, TreeInfo>,
    opens: Capped<OpenKey, OpenInfo>,
}

/// The sensor's SMB sessions, trees and opens (see the module's documentation).
#[derive(Debug, Default)]
pub struct Registry {
    inner: Mutex<Inner>,
}

impl Registry {
    fn with<R>(&self, cx: &Ctx<'_>, f: impl FnOnce(&mut Inner, Ts, Ts, usize) -> R) -> Option<R> {
        let cap = cx.config.smb_registry_entries;
        if cap == 0 {
            return None;
        }
        let mut g = self.inner.lock().ok()?;
        Some(f(&mut g, cx.now, cx.config.smb_registry_idle, cap))
    }

    /// Session `k` was set up, its user known or not.
    pub fn add_session(&self, cx: &Ctx<'_>, k: SessionKey, user: Option<Arc<str>>) {
        let n = self.with(cx, |m, now, ttl, cap| {
            let user = user.or_else(|| m.sessions.get(&k, now, ttl).and_then(|u| u.take()));
            m.sessions.insert(k, user, now, ttl, cap)
        });
        count(cx, n);
    }

    /// Whether session `k` is known, and its user.
    pub fn session(&self, cx: &Ctx<'_>, k: SessionKey) -> Option<Option<Arc<str>>> {
        self.with(cx, |m, now, ttl, _| m.sessions.get(&k, now, ttl).cloned())
            .flatten()
    }

    pub fn remove_session(&self, cx: &Ctx<'_>, k: SessionKey) {
        self.with(cx, |m, _, _, _| m.sessions.remove(&k));
    }

    pub fn add_tree(&self, cx: &Ctx<'_>, k: TreeKey, t: TreeInfo) {
        let n = self.with(cx, |m, now, ttl, cap| m.trees.insert(k, t, now, ttl, cap));
        count(cx, n);
    }

    pub fn tree(&self, cx: &Ctx<'_>, k: TreeKey) -> Option<TreeInfo> {
        self.with(cx, |m, now, ttl, _| m.trees.get(&k, now, ttl).cloned())
            .flatten()
    }

    pub fn remove_tree(&self, cx: &Ctx<'_>, k: TreeKey) {
        self.with(cx, |m, _, _, _| m.trees.remove(&k));
    }

    /// File `k` was opened with `path` (an IPC tree's pipe, or a file of a tree not seen).
    pub fn add_open(&self, cx: &Ctx<'_>, k: OpenKey, path: &str) {
        if path.len() > MAX_PATH {
            return;
        }
        let info = OpenInfo {
            path: path.to_string(),
            contexts: Vec::new(),
        };
        let n = self.with(cx, |m, now, ttl, cap| {
            m.opens.insert(k, info, now, ttl, cap)
        });
        count(cx, n);
    }

    pub fn open(&self, cx: &Ctx<'_>, k: OpenKey) -> Option<OpenInfo> {
        self.with(cx, |m, now, ttl, _| m.opens.get(&k, now, ttl).cloned())
            .flatten()
    }

    pub fn remove_open(&self, cx: &Ctx<'_>, k: OpenKey) {
        self.with(cx, |m, _, _, _| m.opens.remove(&k));
    }

    /// Contexts were bound (or their answer seen) on pipe `k`: they replace those of the same
    /// ids. A pipe whose open was not seen is remembered with an empty path.
    pub fn bind(&self, cx: &Ctx<'_>, k: OpenKey, contexts: &[BoundContext]) {
        let n = self.with(cx, |m, now, ttl, cap| {
            let mut forgotten = 0;
            if m.opens.get(&k, now, ttl).is_none() {
                forgotten = m.opens.insert(k, OpenInfo::default(), now, ttl, cap);
            }
            if let Some(o) = m.opens.get(&k, now, ttl) {
                for c in contexts {
                    if let Some(old) = o.contexts.iter_mut().find(|o| o.id == c.id) {
                        *old = *c;
                    } else if o.contexts.len() < MAX_CONTEXTS {
                        o.contexts.push(*c);
                    }
                }
            }
            forgotten
        });
        count(cx, n);
    }

    /// Context `id` bound on pipe `k` on another channel.
    pub fn context(&self, cx: &Ctx<'_>, k: OpenKey, id: u16) -> Option<BoundContext> {
        self.with(cx, |m, now, ttl, _| {
            m.opens
                .get(&k, now, ttl)
                .and_then(|o| o.contexts.iter().find(|c| c.id == id).copied())
        })
        .flatten()
    }

    /// Entries held now (sessions, trees, opens), for tests.
    pub fn len(&self) -> (usize, usize, usize) {
        self.inner.lock().map_or((0, 0, 0), |m| {
            (m.sessions.len(), m.trees.len(), m.opens.len())
        })
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == (0, 0, 0)
    }
}

fn count(cx: &Ctx<'_>, n: Option<u64>) {
    if let Some(n) = n.filter(|&n| n > 0) {
        cx.counters.add(Counter::DropSmbRegistry, n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::{DecoderConfig, FlowInfo, Shared};
    use crate::record::{Transport, NS};
    use crate::stats::Counters;

    fn flow() -> FlowInfo {
        FlowInfo {
            client: "192.0.2.2".parse().unwrap(),
            client_port: 49152,
            server: "192.0.2.1".parse().unwrap(),
            server_port: 445,
            transport: Transport::Tcp,
            tunnel: Default::default(),
        }
    }

    #[test]
    fn capped_forgets_least_recently_used_and_counts_only_live_ones() {
        let mut m: Capped<u32, &str> = Capped::default();
        let ttl = 100 * NS;
        assert_eq!(m.insert(1, "a", NS, ttl, 2), 0);
        assert_eq!(m.insert(2, "b", 2 * NS, ttl, 2), 0);
        // A read makes 1 the most recently used: 2 goes first.
        assert_eq!(m.get(&1, 3 * NS, ttl).copied(), Some("a"));
        assert_eq!(m.insert(3, "c", 4 * NS, ttl, 2), 1);
        assert!(m.get(&2, 5 * NS, ttl).is_none());
        assert_eq!(m.get(&1, 5 * NS, ttl).copied(), Some("a"));
        assert_eq!(m.len(), 2);
        // Rewriting a key present makes no room.
        assert_eq!(m.insert(3, "c2", 6 * NS, ttl, 2), 0);
        assert_eq!(m.len(), 2);
        // Idle entries expire without being counted as forgotten.
        assert_eq!(m.insert(4, "d", 200 * NS, ttl, 2), 0);
        assert_eq!(m.len(), 1);
        assert!(m.get(&3, 200 * NS, ttl).is_none());
        // Removed entries leave stale order elements that are skipped, not counted.
        assert_eq!(m.remove(&4), Some("d"));
        assert_eq!(m.insert(5, "e", 201 * NS, ttl, 1), 0);
        assert_eq!(m.insert(6, "f", 202 * NS, ttl, 1), 1);
        assert_eq!(m.len(), 1);
    }

    #[test]
    fn capped_order_stays_bounded_under_repeated_reads() {
        let mut m: Capped<u32, u32> = Capped::default();
        for k in 0..8 {
            m.insert(k, k, NS, 1000 * NS, 8);
        }
        for i in 0..10_000u64 {
            m.get(&((i % 8) as u32), NS + i, 1000 * NS);
        }
        assert!(m.order.len() <= 2 * 8 + 64 + 1, "{}", m.order.len());
        assert_eq!(m.len(), 8);
    }

    #[test]
    fn registry_cap_counts_evictions_in_drops() {
        let f = flow();
        let mut config = DecoderConfig {
            smb_registry_entries: 3,
            ..DecoderConfig::default()
        };
        let counters = Counters::default();
        let shared = Shared::default();
        let mut out = Vec::new();
        let server = f.server;
        {
            let cx = Ctx {
                now: NS,
                flow: &f,
                out: &mut out,
                counters: &counters,
                config: &config,
                shared: &shared,
            };
            let r = &shared.smb;
            for sid in 1..=5u64 {
                r.add_session(&cx, (server, sid), Some(format!("u{sid}").into()));
            }
            for fid in 1..=4u128 {
                r.add_open(&cx, (server, 1, fid), "srvsvc");
            }
            r.add_tree(
                &cx,
                (server, 1, 7),
                TreeInfo {
                    share: "\\\\dc\\IPC$".into(),
                    pipe: true,
                },
            );
            assert_eq!(r.len(), (3, 1, 3));
            // 2 sessions and 1 open forgotten.
            assert_eq!(counters.get(Counter::DropSmbRegistry), 3);
            assert_eq!(r.session(&cx, (server, 1)), None);
            assert_eq!(r.session(&cx, (server, 5)), Some(Some("u5".into())));
            assert_eq!(r.open(&cx, (server, 1, 1)), None);
            assert_eq!(r.open(&cx, (server, 1, 4)).unwrap().path, "srvsvc");
            // Another server's ids are other sessions.
            let other: IpAddr = "192.0.2.9".parse().unwrap();
            assert_eq!(r.session(&cx, (other, 5)), None);
            // A removed entry is gone and makes room without a count.
            r.remove_open(&cx, (server, 1, 4));
            r.add_open(&cx, (server, 1, 9), "lsarpc");
            assert_eq!(counters.get(Counter::DropSmbRegistry), 3);
            // Bound contexts are kept with the open and found by context id.
            let c = BoundContext {
                id: 0,
                uuid: 0x4b324fc8_1670_01d3_1278_5a47bf6ee188,
                major: 3,
                minor: 0,
                accepted: None,
                ndr64: false,
            };
            r.bind(&cx, (server, 1, 9), &[c]);
            assert_eq!(r.context(&cx, (server, 1, 9), 0), Some(c));
            assert_eq!(r.context(&cx, (server, 1, 9), 1), None);
            assert_eq!(r.open(&cx, (server, 1, 9)).unwrap().path, "lsarpc");
        }
        // Cap 0 turns the registry off: nothing stored, nothing counted.
        config.smb_registry_entries = 0;
        let shared = Shared::default();
        let cx = Ctx {
            now: NS,
            flow: &f,
            out: &mut out,
            counters: &counters,
            config: &config,
            shared: &shared,
        };
        shared.smb.add_session(&cx, (server, 1), None);
        assert!(shared.smb.is_empty());
        assert_eq!(shared.smb.session(&cx, (server, 1)), None);
    }

    #[test]
    fn registry_entries_expire_when_idle() {
        let f = flow();
        let config = DecoderConfig {
            smb_registry_idle: 10 * NS,
            ..DecoderConfig::default()
        };
        let counters = Counters::default();
        let shared = Shared::default();
        let mut out = Vec::new();
        let k = (f.server, 1u64);
        let mut cx = Ctx {
            now: NS,
            flow: &f,
            out: &mut out,
            counters: &counters,
            config: &config,
            shared: &shared,
        };
        shared.smb.add_session(&cx, k, Some("alice".into()));
        cx.now = 8 * NS;
        assert_eq!(shared.smb.session(&cx, k), Some(Some("alice".into())));
        // The read refreshed it: still there 9 s later, gone 10 s after the last use.
        cx.now = 17 * NS;
        assert!(shared.smb.session(&cx, k).is_some());
        cx.now = 27 * NS;
        assert_eq!(shared.smb.session(&cx, k), None);
        assert_eq!(counters.get(Counter::DropSmbRegistry), 0);
    }
}
