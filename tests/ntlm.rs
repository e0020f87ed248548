//! NTLM end to end: captures replayed through the whole pipeline give exact `ntlm` (and `ldap`)
//! records for the HTTP and LDAP carriers, and every AUTHENTICATE tshark finds in the shared
//! corpus and the lab captures has its record (user, domain, workstation), reported per carrier.

#[path = "support/skip.rs"]
mod skip;

#[path = "support/corpus.rs"]
mod corpus;

use dcsensor::pipeline::{replay_to_vec, Options};
use dcsensor::record::{Body, Carrier, Record};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

fn replay(paths: &[PathBuf]) -> Vec<Record> {
    let opts = Options {
        workers: 1,
        ..Default::default()
    };
    replay_to_vec(paths, &opts)
        .unwrap_or_else(|e| panic!("replay of {paths:?}: {e}"))
        .records
}

fn lab(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata-pcaps/lab")
        .join(name)
}

fn json_of(recs: &[Record], kind: &str) -> Vec<serde_json::Value> {
    recs.iter()
        .map(|r| serde_json::to_value(r).unwrap())
        .filter(|j| j["type"] == kind)
        .collect()
}

#[test]
fn lab_ldap_sasl_ntlm_bind_is_exact() {
    let recs = replay(&[lab("10_attack_kerberoasting.pcap")]);
    let ntlm = json_of(&recs, "ntlm");
    let ldap = json_of(&recs, "ldap");
    assert_eq!(
        ntlm,
        [serde_json::json!({
            "ts": 1795886861.46801, "type": "ntlm", "src": "10.99.0.2", "sport": 49092, "dst": "10.99.0.1",
            "dport": 389, "proto": "tcp", "carrier": "ldap", "user": "alice", "domain": "lab.example",
            "version": "NTLMv2", "server_nb_name": "DC1", "server_dns_name": "dc1.lab.example",
            "server_dns_domain": "lab.example",
            "flags": ["unicode", "request_target", "sign", "seal", "ntlm", "always_sign", "extended_session_security",
                "target_info", "version", "negotiate_128", "key_exch", "negotiate_56"],
            "mic": false, "target_name": "ldap/dc1.lab.example", "channel_bindings": false,
            "success": true, "status": "success"
        })]
    );
    let common = |ts: f64, rest: serde_json::Value| {
        let mut v = serde_json::json!({"ts": ts, "type": "ldap", "src": "10.99.0.2", "sport": 49092,
            "dst": "10.99.0.1", "dport": 389, "proto": "tcp", "op": "bind", "bind": "sasl", "mechanism": "GSS-SPNEGO"});
        v.as_object_mut()
            .unwrap()
            .extend(rest.as_object().unwrap().clone());
        v
    };
    assert_eq!(
        ldap,
        [
            common(
                1795886861.46801,
                serde_json::json!({"result": "saslBindInProgress", "rtt": 0.002478})
            ),
            common(
                1795886861.474825,
                serde_json::json!({"sealed": true, "success": true, "result": "success", "rtt": 0.0061})
            ),
        ]
    );
}

#[test]
fn arkime_http_proxy_ntlm_is_exact() {
    let pcap = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/pcaps/arkime/http-ntlm-auth/http-ntlm-auth.pcap");
    if !skip::need_shared("arkime_http_proxy_ntlm_is_exact") {
        return;
    }
    let recs = replay(&[pcap]);
    assert_eq!(
        json_of(&recs, "ntlm"),
        [serde_json::json!({
            "ts": 1486411981.688163, "type": "ntlm", "src": "10.122.142.190", "sport": 10258,
            "dst": "10.122.144.182", "dport": 80, "proto": "tcp", "carrier": "http", "user": "user1",
            "domain": "ciscolab.com", "workstation": "RECREATE2", "version": "NTLMv2", "server_nb_name": "POSEIDON",
            "server_dns_name": "poseidon.ciscolab.com", "server_dns_domain": "ciscolab.com",
            "flags": ["unicode", "request_target", "ntlm", "always_sign", "extended_session_security", "target_info",
                "version", "negotiate_128", "negotiate_56"],
            "mic": false, "target_name": "HTTP/10.122.144.182:80", "channel_bindings": false,
            "success": true, "status": 200
        })]
    );
}

/// The carrier tshark saw an NTLMSSP message in, from `frame.protocols`.
fn tshark_carrier(protocols: &str) -> &'static str {
    let has = |p: &str| protocols.split(':').any(|x| x == p);
    if has("dcerpc") {
        "dcerpc"
    } else if has("smb2") {
        "smb2"
    } else if has("smb") {
        "smb1"
    } else if has("http") {
        "http"
    } else if has("ldap") {
        "ldap"
    } else {
        "other"
    }
}

fn carrier_name(c: Option<Carrier>) -> &'static str {
    match c {
        Some(Carrier::Smb1) => "smb1",
        Some(Carrier::Smb2) => "smb2",
        Some(Carrier::Dcerpc) => "dcerpc",
        Some(Carrier::Http) => "http",
        Some(Carrier::Ldap) => "ldap",
        Some(Carrier::Dns) => "dns",
        None => "other",
    }
}

type Identity = (String, String, String);

/// The AUTHENTICATEs of one capture as tshark read them: (user, domain, workstation) and carrier.
fn tshark_authenticates(tsv: &Path) -> Vec<(Identity, &'static str)> {
    let text = std::fs::read_to_string(tsv).unwrap();
    let mut lines = text.lines();
    let head: Vec<&str> = lines.next().unwrap_or_default().split('\t').collect();
    let col = |name: &str| {
        head.iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("{tsv:?}: no {name}"))
    };
    let (c_type, c_user, c_domain, c_host, c_proto) = (
        col("ntlmssp.messagetype"),
        col("ntlmssp.auth.username"),
        col("ntlmssp.auth.domain"),
        col("ntlmssp.auth.hostname"),
        col("frame.protocols"),
    );
    let mut v = Vec::new();
    for line in lines {
        let f: Vec<&str> = line.split('\t').collect();
        let get = |c: usize| f.get(c).copied().unwrap_or_default();
        let n_auth = get(c_type)
            .split(',')
            .filter(|t| *t == "0x00000003")
            .count();
        // tshark writes "NULL" for an empty string; several messages in a frame are joined by ','.
        let clean = |s: &str| {
            if s == "NULL" {
                String::new()
            } else {
                s.to_string()
            }
        };
        let users: Vec<&str> = get(c_user).split(',').collect();
        let domains: Vec<&str> = get(c_domain).split(',').collect();
        let hosts: Vec<&str> = get(c_host).split(',').collect();
        for k in 0..n_auth {
            let at = |l: &[&str]| clean(l.get(k).copied().unwrap_or_default());
            v.push((
                (at(&users), at(&domains), at(&hosts)),
                tshark_carrier(get(c_proto)),
            ));
        }
    }
    v
}

/// Every capture with a `tshark-ntlmssp.tsv` beside it (lab: under `cases/<name>/`).
fn corpus() -> Vec<(PathBuf, PathBuf)> {
    corpus::cases("tshark-ntlmssp.tsv")
}

/// Per carrier (tshark's): AUTHENTICATEs expected and matched by one of our records.
#[derive(Debug, Default)]
struct Tally {
    expected: BTreeMap<&'static str, usize>,
    matched: BTreeMap<&'static str, usize>,
    ours: usize,
    lines: Vec<String>,
}

fn measure() -> Tally {
    let mut t = Tally::default();
    for (pcap, tsv) in corpus() {
        let exp = tshark_authenticates(&tsv);
        if exp.is_empty() {
            continue;
        }
        let rel = pcap
            .strip_prefix(env!("CARGO_MANIFEST_DIR"))
            .unwrap_or(&pcap)
            .display()
            .to_string();
        let opts = Options {
            workers: 1,
            ..Default::default()
        };
        let recs = match replay_to_vec(std::slice::from_ref(&pcap), &opts) {
            Ok(r) => r.records,
            Err(e) => {
                t.lines.push(format!("{rel}: unreadable: {e}"));
                for (_, c) in &exp {
                    *t.expected.entry(c).or_default() += 1;
                }
                continue;
            }
        };
        let mut ours: HashMap<Identity, Vec<&'static str>> = HashMap::new();
        let mut n_ours = 0;
        for r in &recs {
            if let Body::Ntlm(n) = &r.body {
                n_ours += 1;
                let s = |o: &Option<String>| o.clone().unwrap_or_default();
                ours.entry((s(&n.user), s(&n.domain), s(&n.workstation)))
                    .or_default()
                    .push(carrier_name(n.carrier));
            }
        }
        t.ours += n_ours;
        let mut missing = Vec::new();
        for (id, c) in &exp {
            *t.expected.entry(c).or_default() += 1;
            match ours.get_mut(id).filter(|v| !v.is_empty()) {
                Some(v) => {
                    v.pop();
                    *t.matched.entry(c).or_default() += 1;
                }
                None => missing.push(format!("{c} {}\\{}@{}", id.1, id.0, id.2)),
            }
        }
        let extra: Vec<String> = ours
            .iter()
            .flat_map(|(id, v)| {
                v.iter()
                    .map(move |c| format!("{c} {}\\{}@{}", id.1, id.0, id.2))
            })
            .collect();
        if !missing.is_empty() || !extra.is_empty() {
            t.lines.push(format!(
                "{rel}: tshark {} ours {n_ours}; missing {:?}{} extra {:?}",
                exp.len(),
                missing.iter().take(4).collect::<Vec<_>>(),
                if missing.len() > 4 {
                    format!(" (+{})", missing.len() - 4)
                } else {
                    String::new()
                },
                extra.iter().take(4).collect::<Vec<_>>()
            ));
        }
    }
    t
}

fn report(t: &Tally) -> f64 {
    println!("per capture (mismatches only):");
    for l in &t.lines {
        println!("  {l}");
    }
    println!("per carrier (tshark's carrier): matched / AUTHENTICATEs");
    for (c, n) in &t.expected {
        let m = t.matched.get(c).copied().unwrap_or(0);
        println!(
            "  {c:<7} {m:>4} / {n:<4} = {:6.2} %",
            100.0 * m as f64 / (*n).max(1) as f64
        );
    }
    let (m, n): (usize, usize) = (t.matched.values().sum(), t.expected.values().sum());
    let pct = 100.0 * m as f64 / n.max(1) as f64;
    println!("all: {m} / {n} = {pct:.2} %; our ntlm records: {}", t.ours);
    pct
}

/// The carriers this decoder owns (HTTP, LDAP) reach the aim on their own.
#[test]
fn conformance_http_and_ldap_carriers() {
    if !skip::need_shared("conformance_http_and_ldap_carriers") {
        return;
    }
    let t = measure();
    report(&t);
    for c in ["http", "ldap"] {
        let n = t.expected.get(c).copied().unwrap_or(0);
        let m = t.matched.get(c).copied().unwrap_or(0);
        assert!(n > 0, "no {c} AUTHENTICATE in the corpus");
        assert!(100 * m >= 99 * n, "{c}: {m}/{n}");
    }
}

/// Every AUTHENTICATE of every carrier (SMB and DCE-RPC come from their own decoders): ≥ 99 %.
#[test]
fn conformance_all_carriers() {
    if !skip::need_shared("conformance_all_carriers") {
        return;
    }
    let t = measure();
    let pct = report(&t);
    let other = t.expected.get("other").copied().unwrap_or(0);
    println!("(carrier 'other' = {other}: NTLM in protocols nobody decodes, e.g. TDS)");
    assert!(pct >= 99.0, "{pct:.2} %");
}

/// MsvAvTargetName and MsvAvChannelBindings of every NTLMv2 AUTHENTICATE in the lab captures,
/// as tshark reads them, against the records' `target_name` and `channel_bindings`.
#[test]
fn lab_target_names_and_channel_bindings_agree_with_tshark() {
    if std::process::Command::new("tshark")
        .arg("-v")
        .output()
        .is_err()
    {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "CI=true: tshark is required"
        );
        println!("SKIP: tshark is absent (apt-get install tshark)");
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata-pcaps/lab");
    let mut pcaps: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
        .collect();
    pcaps.sort();
    let (mut compared, mut named) = (0, 0);
    for p in &pcaps {
        let out = std::process::Command::new("tshark")
            .args(["-n", "-r"])
            .arg(p)
            .args(["-Y", "ntlmssp.messagetype == 3 && ntlmssp.ntlmv2_response"])
            .args(["-T", "fields", "-E", "occurrence=f"])
            .args(["-e", "ntlmssp.ntlmv2_response.target_name"])
            .args(["-e", "ntlmssp.ntlmv2_response.channel_bindings"])
            .output()
            .unwrap();
        let mut want: Vec<(String, bool)> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| {
                let (t, cb) = l.split_once('\t').unwrap_or((l, ""));
                (t.to_string(), cb.chars().any(|c| c != '0'))
            })
            .collect();
        let mut got: Vec<(String, bool)> = replay(std::slice::from_ref(p))
            .iter()
            .filter_map(|r| match &r.body {
                Body::Ntlm(n) if n.version == Some("NTLMv2") => Some((
                    n.target_name.clone().unwrap_or_default(),
                    n.channel_bindings.unwrap(),
                )),
                _ => None,
            })
            .collect();
        want.sort();
        got.sort();
        assert_eq!(got, want, "{}", p.display());
        compared += want.len();
        named += want.iter().filter(|w| !w.0.is_empty()).count();
    }
    println!("NTLMv2 AUTHENTICATEs compared: {compared}, with a target name: {named}");
    assert!(named > 20);
}
