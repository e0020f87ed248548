//! Engines that each read a share of the sensors and pass their learned facts (and tickets)
//! through a shared store raise what one engine over every sensor raises: the property the
//! center's key-value bucket gives several centers (tests/center.rs checks it end to end).

use super::tests::rec;
use super::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

const DC_A: &str = "10.2.0.1";
const DC_B: &str = "10.2.0.2";
const WS: &str = "10.2.0.50";
const OTHER: &str = "10.2.0.77";

/// What the engines share: every fact with the engine that learned it, and one ticket table.
#[derive(Default)]
struct Hub {
    facts: Vec<(usize, Fact)>,
    tickets: Option<MemoryTickets>,
}

/// One engine's view of the hub.
struct HubStore {
    me: usize,
    read: usize,
    hub: Arc<Mutex<Hub>>,
}

impl HubStore {
    fn with<R>(&self, f: impl FnOnce(&mut MemoryTickets) -> R) -> R {
        let mut h = self.hub.lock().unwrap();
        f(h.tickets.get_or_insert_with(|| MemoryTickets::new(1000)))
    }
}

impl TicketStore for HubStore {
    fn get(&mut self, hash: &str) -> Option<Ticket> {
        self.with(|t| t.get(hash))
    }
    fn put(&mut self, hash: &str, t: Ticket) {
        self.with(|m| m.put(hash, t))
    }
    fn contains(&self, hash: &str) -> bool {
        self.with(|t| t.contains(hash))
    }
    fn len(&self) -> usize {
        self.with(|t| t.len())
    }
    fn evictions(&self) -> u64 {
        0
    }
    fn last_eviction(&self) -> Option<f64> {
        None
    }
    fn shares(&self) -> bool {
        true
    }
    fn share(&mut self, fact: Fact) {
        self.hub.lock().unwrap().facts.push((self.me, fact));
    }
    fn learned(&mut self) -> Vec<Fact> {
        let h = self.hub.lock().unwrap();
        let new: Vec<Fact> = h.facts[self.read..]
            .iter()
            .filter(|(who, _)| *who != self.me)
            .map(|(_, f)| f.clone())
            .collect();
        self.read = h.facts.len();
        new
    }
}

const TUNING: &str = "[detect.pass_the_hash]\nlearning = 100\n";

/// DC a's sensor: a workstation's machine account gets a ticket (a learns DC a is a domain
/// controller and the workstation's name), its NTLM logons carry a MIC, carol logs on from it,
/// then one logon comes without a MIC (the drop-the-MIC alert opens on a).
fn dc_a() -> Vec<Value> {
    vec![
        json!({"ts": 1.0, "type": "kerberos", "src": WS, "dst": DC_A, "request": "AS-REQ", "client": "WS1$", "realm": "EX.ORG", "etypes": [18], "reply": "AS-REP"}),
        json!({"ts": 2.0, "type": "ntlm", "src": WS, "dst": DC_A, "user": "carol", "version": "NTLMv2", "mic": true, "success": true}),
        json!({"ts": 3.0, "type": "ntlm", "src": WS, "dst": DC_A, "user": "erin", "version": "NTLMv2", "mic": false, "success": true}),
    ]
}

/// DC b's sensor, later: the same workstation logs on without a MIC again (the same alert, now
/// on b), carol logs on from a host she never used, and DC a replicates from DC b.
fn dc_b() -> Vec<Value> {
    vec![
        json!({"ts": 200.0, "type": "ntlm", "src": WS, "dst": DC_B, "user": "dave", "version": "NTLMv2", "mic": false, "success": true}),
        json!({"ts": 210.0, "type": "ntlm", "src": OTHER, "dst": DC_B, "user": "carol", "version": "NTLMv2", "success": true}),
        json!({"ts": 220.0, "type": "dcerpc", "src": DC_A, "sport": 50000, "dst": DC_B, "dport": 49667, "proto": "tcp",
            "interface": "drsuapi", "operation": "DRSGetNCChanges", "args": {}}),
    ]
}

/// Alerts by id: (detection, count, source host), the last emission of each id, counts of the
/// same id from several engines added (as the center's store adds the parts of an alert).
fn merged(runs: &[Vec<Alert>]) -> BTreeMap<String, (String, u64, Option<String>)> {
    let mut out = BTreeMap::new();
    for alerts in runs {
        let mut last: BTreeMap<String, &Alert> = BTreeMap::new();
        for a in alerts {
            last.insert(a.id.clone(), a);
        }
        for (id, a) in last {
            let e = out
                .entry(id)
                .or_insert((a.detection.to_string(), 0, a.source.host.clone()));
            e.1 += a.count;
        }
    }
    out
}

fn feed(e: &mut Engine, sensor: &str, recs: &[Value]) -> Vec<Alert> {
    let mut out = Vec::new();
    for r in recs {
        out.extend(e.feed(sensor, &std::sync::Arc::new(rec(r.clone()))));
    }
    out.extend(e.flush());
    out
}

#[test]
fn engines_sharing_facts_raise_what_one_engine_raises() {
    let t = Tuning::from_toml(TUNING).unwrap();
    let mut one = Engine::new(t.clone());
    let mut all = feed(&mut one, "a", &dc_a());
    all.extend(feed(&mut one, "b", &dc_b()));
    let reference = merged(&[all]);
    let det: Vec<&str> = reference.values().map(|v| v.0.as_str()).collect();
    assert!(det.contains(&"ntlm_tampering"), "{reference:?}");
    assert!(det.contains(&"pass_the_hash"), "{reference:?}");
    assert!(!det.contains(&"dcsync"), "{reference:?}");

    let hub = Arc::new(Mutex::new(Hub::default()));
    let store = |me| {
        Box::new(HubStore {
            me,
            read: 0,
            hub: hub.clone(),
        })
    };
    let mut a = Engine::with_tickets(t.clone(), store(0));
    let mut b = Engine::with_tickets(t.clone(), store(1));
    let ra = feed(&mut a, "a", &dc_a());
    let rb = feed(&mut b, "b", &dc_b());
    // b continues a's drop-the-MIC alert under a's id
    let id = |v: &[Alert]| {
        v.iter()
            .find(|x| x.detection == "ntlm_tampering")
            .map(|x| (x.id.clone(), x.ts))
    };
    assert!(id(&ra).is_some());
    assert_eq!(id(&ra), id(&rb));
    assert_eq!(merged(&[ra, rb]), reference);
    assert_eq!(
        reference
            .values()
            .find(|v| v.0 == "ntlm_tampering")
            .map(|v| v.1),
        Some(2)
    );
    // the drop-the-MIC alert names the host by what DC a's sensor saw
    let tampering = reference
        .values()
        .find(|v| v.0 == "ntlm_tampering")
        .unwrap();
    assert_eq!(tampering.2.as_deref(), Some("WS1"));

    // an engine takes the others' facts between records too (a quiet center keeps up)
    let mut c = Engine::with_tickets(Tuning::from_toml(TUNING).unwrap(), store(2));
    assert!(!c.domain().is_dc(DC_A.parse().ok()));
    c.absorb_shared();
    assert!(c.domain().is_dc(DC_A.parse().ok()));

    // without sharing, b neither knows the MIC sender, nor carol's baseline, nor DC a
    let mut a = Engine::new(t.clone());
    let mut b = Engine::new(t);
    let split = merged(&[feed(&mut a, "a", &dc_a()), feed(&mut b, "b", &dc_b())]);
    let det: Vec<&str> = split.values().map(|v| v.0.as_str()).collect();
    assert_eq!(
        split
            .values()
            .filter(|v| v.0 == "ntlm_tampering")
            .map(|v| v.1)
            .sum::<u64>(),
        1,
        "{split:?}"
    );
    assert!(!det.contains(&"pass_the_hash"), "{split:?}");
    assert!(det.contains(&"dcsync"), "{split:?}");
}

#[test]
fn a_name_learned_elsewhere_takes_its_place_in_time() {
    let t = Tuning::from_toml("").unwrap();
    let mut d = domain::Domain::new(&t);
    let ip: std::net::IpAddr = WS.parse().unwrap();
    let host = |name: &str, ts: f64| Fact::Host {
        addr: ip,
        name: name.into(),
        by: "ntlm workstation".into(),
        ts,
    };
    assert!(d.absorb(&host("new", 50.0)));
    assert!(d.absorb(&host("old", 10.0)));
    assert_eq!(d.host_at(ip, 20.0).unwrap().name, "old");
    assert_eq!(d.host_at(ip, 60.0).unwrap().name, "new");
    // the same name again is one binding; an unknown way of finding it is not taken
    assert!(d.absorb(&host("OLD", 12.0)));
    assert!(d.absorb(&Fact::Host {
        addr: ip,
        name: "x".into(),
        by: "guess".into(),
        ts: 30.0
    }));
    assert_eq!(d.host_at(ip, 30.0).unwrap().name, "old");
    assert!(!d.absorb(&Fact::NtlmSince { ts: 1.0 }));
}
