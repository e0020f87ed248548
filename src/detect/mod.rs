//! The detection engine: reads activity records one at a time (from the in-process pipeline,
//! JSON lines, batch files or NATS), keeps per-entity state in capped tables, and raises `alert`
//! records that explain themselves.
//!
//! Time is the records' time, so a replay gives the same alerts (and the same alert ids) every
//! time. The same engine runs at the edge (`dcsensor detect`, `[detect] enabled` in the sensor)
//! and in the center, over every sensor's records together (cross-DC correlation through the
//! [`tickets::TicketStore`]).
//!
//! A record is handed over shared (`Arc<Rec>`, made once where it is read): the tallies and
//! alerts that keep it as evidence hold the same record, so no record is ever copied.
//!
//! ```text
//! let mut e = Engine::new(Tuning::from_toml(text)?)?;
//! for (sensor, rec) in input { for alert in e.feed(sensor, &Arc::new(rec)) { emit(alert) } }
//! for alert in e.flush() { emit(alert) }
//! ```

pub mod alert;
pub mod catalog;
pub mod config;
pub mod domain;
pub mod evidence;
pub mod input;
pub mod output;
pub mod run;
pub mod sinks;

mod rules;
pub mod table;
pub mod tickets;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_evidence;
#[cfg(test)]
mod tests_rules;
#[cfg(test)]
mod tests_shared;

pub use alert::{Alert, Source};
pub use catalog::{Def, D};
pub use config::Tuning;
pub use input::Rec;
pub use tickets::{Fact, MemoryTickets, Ticket, TicketStore};

use alert::{alert_id, push_span_words, MAX_EVIDENCE, MAX_TARGETS};
use domain::Domain;
use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::Arc;
use table::{Capped, Tally, Touched};

/// The engine's counters (for `stats`, metrics and the end of `dcsensor detect`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counters {
    /// Records read.
    pub records: u64,
    /// Alerts raised (new ids).
    pub alerts: u64,
    /// Updates of open alerts emitted.
    pub updates: u64,
    /// Evidence left alone because an exclusion matched.
    pub excluded: u64,
    /// Entries dropped from full state tables (per-source tallies, host names, tickets, alerts).
    pub evictions: u64,
    /// Of those, tickets.
    pub ticket_evictions: u64,
    /// Of those, open alerts.
    pub alert_evictions: u64,
    /// Entries held in all state tables now.
    pub entries: u64,
    /// Targets counted as new without being remembered because their tally already held
    /// `max_distinct` (each may have been seen before in the window).
    pub distinct_dropped: u64,
    /// Evidence records kept trimmed (time, type, addresses, ports) because the evidence of
    /// their tally or alert held `max_evidence_bytes`.
    pub evidence_trimmed: u64,
    /// Target names not kept because their tally's or alert's names held `max_target_bytes`
    /// (still counted in the alert's `target_count`).
    pub targets_dropped: u64,
}

/// An alert being kept up to date.
struct Open {
    alert: Alert,
    dirty: bool,
    emitted: f64,
    /// The middle of the summary's sentence as the latest evidence put it; `alert.summary` is
    /// written from it when the alert is emitted (not on every update).
    what: String,
    /// Bytes of `alert.evidence` (`max_evidence_bytes`, [`evidence`]).
    evidence_bytes: u32,
}

impl Open {
    /// The alert as emitted now, its summary brought up to date.
    fn emit(&mut self) -> Alert {
        self.alert.summary = summary(&self.alert, &self.what);
        self.alert.clone()
    }
}

impl Touched for Open {
    fn last(&self) -> f64 {
        self.alert.last_ts
    }
}

/// The detection engine. See the module documentation.
pub struct Engine {
    tuning: Tuning,
    domain: Domain,
    tickets: Box<dyn TicketStore>,
    /// Whether `tickets` passes learned facts between engines (several centers).
    sharing: bool,
    /// One tally table per detection.
    tables: Vec<Capped<Tally>>,
    /// Tallies held by `tables` together ([`Engine::tallies`]), kept as they change: a tally is
    /// made only by [`Engine::tally`], and dropped only by the evictions there and in
    /// [`Engine::tally_room`].
    tally_count: usize,
    rules: rules::State,
    alerts: Capped<Open>,
    out: Vec<Alert>,
    counters: Counters,
    /// Scratch space for the open alerts' keys (no text allocated per raise).
    key_buf: String,
    /// The record being read, shared with the evidence that keeps it.
    cur: Option<Arc<Rec>>,
    /// What `cur` costs as evidence ([`evidence::held_bytes`]), once asked.
    cur_cost: Option<usize>,
}

impl Engine {
    /// An engine with the in-memory ticket table.
    pub fn new(tuning: Tuning) -> Engine {
        let tickets = Box::new(MemoryTickets::new(tuning.max_entries));
        Engine::with_tickets(tuning, tickets)
    }

    /// An engine keeping its tickets in `tickets` (a store shared by several centers).
    pub fn with_tickets(tuning: Tuning, tickets: Box<dyn TicketStore>) -> Engine {
        let cap = tuning.max_entries;
        let sharing = tickets.shares();
        let mut domain = Domain::new(&tuning);
        if sharing {
            domain.outbox = Some(Vec::new());
        }
        Engine {
            domain,
            sharing,
            tickets,
            tables: catalog::ALL.iter().map(|_| Capped::new(cap)).collect(),
            tally_count: 0,
            rules: rules::State::new(cap),
            alerts: Capped::new(tuning.max_alerts),
            out: Vec::new(),
            counters: Counters::default(),
            key_buf: String::new(),
            cur: None,
            cur_cost: None,
            tuning,
        }
    }

    /// An engine from a TOML text (a whole configuration file or the `[detect]` settings).
    pub fn from_toml(text: &str) -> Result<Engine, String> {
        Ok(Engine::new(Tuning::from_toml(text)?))
    }

    /// Replaces the tuning at run time (HUP, or an exclusion added in the console). State and
    /// open alerts are kept; new exclusions apply to evidence from now on.
    pub fn set_tuning(&mut self, tuning: Tuning) {
        self.domain.configure(&tuning);
        self.tuning = tuning;
    }

    /// The tuning in force.
    pub fn tuning(&self) -> &Tuning {
        &self.tuning
    }

    /// What the engine learned about the domain.
    pub fn domain(&self) -> &Domain {
        &self.domain
    }

    /// Reads one record seen by sensor `sensor`; returns the alerts it raised or that are due for
    /// an update. The record is kept as evidence by sharing it, not by copying it.
    pub fn feed(&mut self, sensor: &str, shared: &Arc<Rec>) -> Vec<Alert> {
        self.counters.records += 1;
        if shared.kind == "stats" || shared.kind == "alert" {
            return Vec::new();
        }
        let rec: &Rec = shared;
        self.cur = Some(shared.clone());
        self.cur_cost = None;
        if self.sharing {
            self.absorb();
        }
        self.domain.observe(rec);
        match rec.kind.as_str() {
            "kerberos" => self.kerberos(sensor, rec),
            "ntlm" => self.ntlm(sensor, rec),
            "dcerpc" => self.dcerpc(sensor, rec),
            "ldap" => self.ldap(sensor, rec),
            "dns" => self.dns(sensor, rec),
            "smb" => self.smb(sensor, rec),
            _ => {}
        }
        if let Some(o) = &mut self.domain.outbox {
            for f in o.drain(..) {
                self.tickets.share(f);
            }
        }
        self.cur = None;
        std::mem::take(&mut self.out)
    }

    /// Takes what other engines learned so far, without a record (a center whose own sensors
    /// are quiet keeps up with the others: their facts wait in a capped queue until taken).
    pub fn absorb_shared(&mut self) {
        if self.sharing {
            self.absorb();
        }
    }

    /// Takes what other engines learned (several centers sharing a store), as if this engine
    /// had learned it from their records.
    fn absorb(&mut self) {
        for f in self.tickets.learned() {
            if self.domain.absorb(&f) {
                continue;
            }
            self.rules.absorb(&f);
        }
    }

    /// Passes a fact a rule learned on to other engines (when the store shares).
    fn share(&mut self, f: impl FnOnce() -> Fact) {
        if self.sharing {
            self.tickets.share(f());
        }
    }

    /// Every alert updated since it was last emitted (end of input, TERM, or a periodic tick).
    pub fn flush(&mut self) -> Vec<Alert> {
        let mut v: Vec<(f64, String, Alert)> = Vec::new();
        for (_, o) in self.alerts.iter_mut() {
            if o.dirty {
                o.dirty = false;
                o.emitted = o.alert.last_ts;
                let a = o.emit();
                v.push((a.ts, a.id.clone(), a));
            }
        }
        v.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
        self.counters.updates += v.len() as u64;
        let mut out = std::mem::take(&mut self.out);
        out.extend(v.into_iter().map(|x| x.2));
        out
    }

    /// The counters, with the state tables' current sizes and evictions.
    pub fn counters(&self) -> Counters {
        let mut c = self.counters.clone();
        let tallies: u64 = self.tables.iter().map(|t| t.evictions).sum();
        c.ticket_evictions = self.tickets.evictions();
        c.alert_evictions = self.alerts.evictions;
        c.evictions = tallies
            + c.ticket_evictions
            + c.alert_evictions
            + self.domain.host_evictions()
            + self.rules.evictions()
            + self.domain.dropped;
        c.entries = (self.tables.iter().map(|t| t.len()).sum::<usize>()
            + self.tickets.len()
            + self.alerts.len()
            + self.domain.host_entries()
            + self.rules.entries()) as u64;
        c
    }

    /// Tallies held by all detections together (at most `max_tallies`).
    pub fn tallies(&self) -> usize {
        self.tables.iter().map(|t| t.len()).sum()
    }

    /// Entries held by the largest state table (at most `max_entries`).
    pub fn largest_table(&self) -> usize {
        self.tables
            .iter()
            .map(|t| t.len())
            .chain([
                self.tickets.len(),
                self.domain.host_entries(),
                self.rules.largest(),
            ])
            .max()
            .unwrap_or(0)
    }

    // ---- shared by the rules ----

    fn on(&self, d: D) -> bool {
        self.tuning.det[d as usize].enabled
    }

    fn th(&self, d: D, name: &str) -> f64 {
        self.tuning.value(d, name)
    }

    /// Whether the source of a piece of evidence is excluded from `d` (counted when it is).
    fn excluded(&mut self, d: D, ip: Option<IpAddr>, user: Option<&str>, ts: f64) -> bool {
        let per = &self.tuning.det[d as usize].exclude;
        let global = &self.tuning.exclude;
        if per.is_empty() && global.is_empty() {
            return false;
        }
        let host = ip
            .and_then(|ip| self.domain.host_at(ip, ts))
            .map(|h| h.name.as_str());
        let hit = per.matches(ip, host, user) || global.matches(ip, host, user);
        if hit {
            self.counters.excluded += 1;
        }
        hit
    }

    /// `rec` as a shared record: the one being read (`cur`) is shared, another (a rule's
    /// altered copy) is made shared here. A function of `cur` alone, so that it can be called
    /// while an open alert is borrowed.
    fn shared(cur: &Option<Arc<Rec>>, rec: &Rec) -> Arc<Rec> {
        match cur {
            Some(c) if std::ptr::eq(&**c, rec) => c.clone(),
            _ => Arc::new(rec.clone()),
        }
    }

    /// Counts `rec` in detection `d`'s tally for `key`; returns (distinct targets, events).
    fn tally(
        &mut self,
        d: D,
        key: &str,
        window: f64,
        target: Option<&str>,
        rec: &Rec,
    ) -> (u64, u64) {
        let rec = Self::shared(&self.cur, rec);
        self.tally_room(d, key);
        let caps = table::Caps {
            max_distinct: self.tuning.max_distinct,
            max_target_bytes: self.tuning.max_target_bytes,
            budget: self.tuning.max_evidence_bytes,
        };
        let table = &mut self.tables[d as usize];
        let before = table.len();
        let t = table.entry(key, Tally::default);
        let trimmed = t.evidence_trimmed;
        let (cur, cache) = (&self.cur, &mut self.cur_cost);
        let cost = || Self::cost(cur, cache, &rec);
        let added = t.add(window, target, &rec, MAX_EVIDENCE, &caps, cost);
        if added.distinct_dropped {
            self.counters.distinct_dropped += 1;
        }
        if added.target_dropped {
            self.counters.targets_dropped += 1;
        }
        // (a new window starts with none trimmed)
        if t.evidence_trimmed > trimmed || (t.n == 1 && t.evidence_trimmed > 0) {
            self.counters.evidence_trimmed += 1;
        }
        let counts = (t.distinct, t.n);
        // (one tally made, or the table full and half of it dropped first)
        self.tally_count = self.tally_count - before + self.tables[d as usize].len();
        counts
    }

    /// What `rec` costs as evidence: the record being read is costed once, however many lists
    /// keep it.
    fn cost(cur: &Option<Arc<Rec>>, cache: &mut Option<usize>, rec: &Rec) -> usize {
        match cur {
            Some(c) if std::ptr::eq(&**c, rec) => {
                *cache.get_or_insert_with(|| evidence::held_bytes(rec))
            }
            _ => evidence::held_bytes(rec),
        }
    }

    /// Makes room for a new tally when all detections together hold `max_tallies`: the least
    /// recently touched half of the largest detection's tallies goes (counted as evictions).
    fn tally_room(&mut self, d: D, key: &str) {
        debug_assert_eq!(self.tally_count, self.tallies());
        if self.tally_count < self.tuning.max_tallies || self.tables[d as usize].get(key).is_some()
        {
            return;
        }
        if let Some(big) = self.tables.iter_mut().max_by_key(|t| t.len()) {
            big.evict_half();
        }
        self.tally_count = self.tallies();
    }

    /// Raises (or updates) the alert of `d` for `key` from its tally: on the first crossing the
    /// tally's first records become the evidence; later records are added one by one.
    fn raise_tally(
        &mut self,
        sensor: &str,
        d: D,
        key: &str,
        rec: &Rec,
        user: Option<&str>,
        what: String,
    ) {
        // the tables are set aside while the alert is raised ([`Engine::raise`] reads none of
        // them), so that the tally's targets are lent to the alert as they are, with one lookup
        let mut tables = std::mem::take(&mut self.tables);
        if let Some(t) = tables[d as usize].get_mut(key) {
            let first = !t.raised;
            t.raised = true;
            // those before `sent` reached the alert before
            let new_from = if first {
                0
            } else {
                t.sent.min(t.targets.len())
            };
            t.sent = t.targets.len();
            let (first_ts, distinct, n) = (t.start, t.distinct, t.n);
            let ev = Evid::of(t, first, rec);
            let hit = Hit {
                d,
                key,
                first_ts,
                src: rec.src,
                user,
                targets: &t.targets,
                new_from,
                distinct,
                what,
                mdi: None,
            };
            self.raise(sensor, hit, ev, if first { n } else { 1 });
        }
        self.tables = tables;
    }

    /// Raises or updates an alert. A tally's first records are moved into the alert, a single
    /// record is shared with it.
    fn raise(&mut self, sensor: &str, h: Hit<'_>, evidence: Evid<'_>, added: u64) {
        let def = h.d.def();
        let last_ts = match &evidence {
            Evid::Tally(v, ..) => v.iter().map(|r| r.ts).fold(h.first_ts, f64::max),
            Evid::One(r) => h.first_ts.max(r.ts),
        };
        // the open alerts' key, written into a buffer kept for the next raise
        let mut map_key = std::mem::take(&mut self.key_buf);
        map_key.clear();
        map_key.push_str(def.name);
        map_key.push('\u{0}');
        map_key.push_str(h.key);
        let ttl = self.tuning.alert_ttl;
        let every = self.tuning.update_every;
        // an open alert (found with one lookup) takes the user and host name it still misses
        // (looked up only then); an alert quiet for `alert_ttl` is closed, and the same activity
        // opens a new one
        let found = self.alerts.get_mut(&map_key);
        let expired = found
            .as_ref()
            .is_some_and(|o| last_ts - o.alert.last_ts > ttl);
        let (open, source, created) = match found {
            Some(o) if !expired => {
                let s = &o.alert.source;
                let host = if s.host.is_none() {
                    h.src.and_then(|ip| self.domain.host_at(ip, last_ts))
                } else {
                    None
                };
                let user = if s.user.is_none() { h.user } else { None };
                let missing = (host.is_some() || user.is_some()).then(|| Source {
                    ip: None,
                    host: host.map(|h| h.name.clone()),
                    host_by: host.map(|h| format!("{} at {}", h.by, h.ts)),
                    user: user.map(str::to_string),
                });
                (o, missing, false)
            }
            _ => {
                if expired {
                    self.alerts.remove(&map_key);
                }
                // an alert another engine has open (several centers) is taken over: its id,
                // first time and source
                let adopted = if self.sharing {
                    self.rules
                        .elsewhere
                        .get(&map_key)
                        .filter(|o| last_ts - o.last_ts <= ttl && o.ts <= last_ts)
                        .map(|o| (o.id.clone(), o.ts, o.source.clone()))
                } else {
                    None
                };
                // a new alert's source is resolved whole
                let (id, first_ts, source) = match adopted {
                    Some((id, ts, source)) => (id, ts, source),
                    None => (
                        String::new(),
                        h.first_ts,
                        self.source(h.src, h.user, last_ts),
                    ),
                };
                // (made evicting when full)
                let open = self.alerts.entry(&map_key, || Open {
                    alert: Alert {
                        ts: first_ts,
                        kind: Cow::Borrowed("alert"),
                        last_ts,
                        id: if id.is_empty() {
                            alert_id(def.name, h.key, first_ts)
                        } else {
                            id
                        },
                        detection: Cow::Borrowed(def.name),
                        title: Cow::Borrowed(def.title),
                        mdi_id: h.mdi.or(def.mdi),
                        attack: def
                            .attack
                            .iter()
                            .map(|s| Cow::Borrowed(*s))
                            .collect::<Vec<_>>()
                            .into(),
                        phase: Cow::Borrowed(def.phase),
                        severity: Cow::Borrowed(def.severity),
                        source,
                        targets: Default::default(),
                        target_count: None,
                        summary: String::new(),
                        evidence: Default::default(),
                        evidence_trimmed: 0,
                        count: 0,
                        sensors: Default::default(),
                    },
                    dirty: false,
                    emitted: first_ts,
                    what: String::new(),
                    evidence_bytes: 0,
                });
                (open, None, true)
            }
        };
        let a = &mut open.alert;
        a.last_ts = a.last_ts.max(last_ts);
        a.count += added;
        let room = MAX_EVIDENCE.saturating_sub(a.evidence.len());
        // (the list is touched only when a record is added: an alert whose evidence is full, or
        // that gets none, never copies it even while an emitted copy still shares it)
        // (each list keeps to `max_evidence_bytes`: records beyond it are kept trimmed)
        let budget = self.tuning.max_evidence_bytes;
        match evidence {
            // a new alert takes the tally's records as they are (no copy), with their bytes
            Evid::Tally(mut v, bytes, trimmed) if a.evidence.is_empty() => {
                v.truncate(room);
                a.evidence = v.into();
                a.evidence_trimmed = u64::from(trimmed);
                open.evidence_bytes = bytes;
            }
            // (an open alert given a new window's records: each costed again)
            Evid::Tally(v, _, trimmed) if room > 0 && !v.is_empty() => {
                let from = v.len() - usize::from(trimmed).min(v.len());
                let list = a.evidence.make_mut();
                for (i, r) in v.into_iter().take(room).enumerate() {
                    let before = a.evidence_trimmed > 0 || i >= from;
                    let c = if before { 0 } else { evidence::held_bytes(&r) };
                    let len = list.len();
                    if evidence::take(
                        &mut open.evidence_bytes,
                        before,
                        len,
                        c,
                        budget,
                        MAX_EVIDENCE,
                    ) {
                        list.push(alert::Ev::new(r));
                    } else {
                        if i < from {
                            self.counters.evidence_trimmed += 1;
                        }
                        a.evidence_trimmed += 1;
                        list.push(alert::Ev::new(Arc::new(evidence::trimmed(&r))));
                    }
                }
            }
            Evid::One(r) if room > 0 => {
                let before = a.evidence_trimmed > 0;
                let c = if before {
                    0
                } else {
                    Self::cost(&self.cur, &mut self.cur_cost, r)
                };
                let len = a.evidence.len();
                let list = a.evidence.make_mut();
                if evidence::take(
                    &mut open.evidence_bytes,
                    before,
                    len,
                    c,
                    budget,
                    MAX_EVIDENCE,
                ) {
                    list.push(alert::Ev::new(Self::shared(&self.cur, r)));
                } else {
                    self.counters.evidence_trimmed += 1;
                    a.evidence_trimmed += 1;
                    list.push(alert::Ev::new(Arc::new(evidence::trimmed(r))));
                }
            }
            _ => {}
        }
        // a new alert takes every target of the hit, an open one those it did not have yet
        let new = if created {
            h.targets
        } else {
            &h.targets[h.new_from.min(h.targets.len())..]
        };
        // (the shared list is touched only when a target is added; names beyond
        // `max_target_bytes` are not kept)
        let max_target_bytes = self.tuning.max_target_bytes;
        for t in new {
            if a.targets.len() >= MAX_TARGETS {
                break;
            }
            if !a.targets.iter().any(|x| x.eq_ignore_ascii_case(t)) {
                if table::target_fits(&a.targets, t, max_target_bytes) {
                    a.targets.make_mut().push(t.clone());
                } else {
                    self.counters.targets_dropped += 1;
                }
            }
        }
        let distinct = h.distinct.max(a.targets.len() as u64);
        a.target_count = (distinct > a.targets.len() as u64).then_some(distinct);
        if let Some(source) = source {
            if a.source.user.is_none() {
                a.source.user = source.user;
            }
            if a.source.host.is_none() {
                a.source.host = source.host;
                a.source.host_by = source.host_by;
            }
        }
        if !a.sensors.iter().any(|s| s == sensor) && a.sensors.len() < 64 {
            a.sensors.make_mut().push(sensor.to_string());
        }
        open.what = h.what;
        let emitted = if created {
            self.counters.alerts += 1;
            open.emitted = open.alert.last_ts;
            true
        } else if open.alert.last_ts - open.emitted >= every {
            open.emitted = open.alert.last_ts;
            open.dirty = false;
            self.counters.updates += 1;
            true
        } else {
            open.dirty = true;
            false
        };
        if emitted {
            let e = open.emit();
            if self.sharing {
                self.tickets.share(Fact::Opened {
                    key: map_key.clone(),
                    id: e.id.clone(),
                    ts: e.ts,
                    last_ts: e.last_ts,
                    source: e.source.clone(),
                });
            }
            self.out.push(e);
        }
        self.key_buf = map_key;
    }

    fn source(&self, ip: Option<IpAddr>, user: Option<&str>, ts: f64) -> Source {
        let host = ip.and_then(|ip| self.domain.host_at(ip, ts));
        Source {
            ip: ip.map(rules::ip_text),
            host: host.map(|h| h.name.clone()),
            host_by: host.map(|h| format!("{} at {}", h.by, h.ts)),
            user: user.map(str::to_string),
        }
    }
}

/// The evidence a raise brings: a tally's first records (moved into a new alert), or the one
/// record being read.
enum Evid<'a> {
    /// A tally's records with their bytes and how many of them (the last) it trimmed.
    Tally(Vec<Arc<Rec>>, u32, u8),
    One(&'a Rec),
}

impl<'a> Evid<'a> {
    /// What a raise from tally `t` brings: on the first crossing its records, moved out of it
    /// with their bytes and trimmed count; later the record being read.
    fn of(t: &mut Tally, first: bool, rec: &'a Rec) -> Evid<'a> {
        if first {
            Evid::Tally(
                std::mem::take(&mut t.evidence),
                std::mem::take(&mut t.evidence_bytes),
                std::mem::take(&mut t.evidence_trimmed),
            )
        } else {
            Evid::One(rec)
        }
    }
}

/// What a rule found, for [`Engine::raise`].
struct Hit<'a> {
    d: D,
    /// What the alert groups by (with the detection, it makes the alert's id).
    key: &'a str,
    first_ts: f64,
    src: Option<IpAddr>,
    user: Option<&'a str>,
    /// The targets of the evidence; an open alert takes those from `new_from` on.
    targets: &'a [String],
    new_from: usize,
    distinct: u64,
    /// What the source did, as the middle of a sentence: "asked service tickets with RC4 for 5
    /// services".
    what: String,
    /// The MDI id when a variant of the detection has its own.
    mdi: Option<u32>,
}

/// The alert's one sentence: who did what to what, how many times, over what time
/// ("host (ip) as user what (t1, t2 and 3 more): 5 records over 4 seconds."), written into one
/// string.
fn summary(a: &Alert, what: &str) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(128 + what.len());
    match (&a.source.host, &a.source.ip) {
        (Some(h), Some(ip)) => {
            s.push_str(h);
            s.push_str(" (");
            s.push_str(ip);
            s.push(')');
        }
        (None, Some(ip)) => s.push_str(ip),
        (Some(h), None) => s.push_str(h),
        (None, None) => s.push_str("an unknown source"),
    }
    if let Some(u) = &a.source.user {
        s.push_str(" as ");
        s.push_str(u);
    }
    s.push(' ');
    s.push_str(what);
    let n = a.target_count.unwrap_or(a.targets.len() as u64);
    if !a.targets.is_empty() {
        let shown = a.targets.len().min(5);
        s.push_str(" (");
        for (i, t) in a.targets[..shown].iter().enumerate() {
            if i > 0 {
                s.push_str(", ");
            }
            s.push_str(t);
        }
        if n > shown as u64 {
            let _ = write!(s, " and {} more", n - shown as u64);
        }
        s.push(')');
    }
    if a.count == 1 {
        s.push_str(": 1 record over ");
    } else {
        let _ = write!(s, ": {} records over ", a.count);
    }
    push_span_words(&mut s, a.last_ts - a.ts);
    s.push('.');
    s
}
