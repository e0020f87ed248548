//! LDAP end to end: the lab captures replayed through the whole pipeline give exact `ldap`
//! records for BloodHound's collection (filters, bases, scopes, attributes, entries), sealed
//! binds say so and their messages are counted, and every clear-text operation tshark dissects
//! in the lab captures and the shared corpus has its record (conformance, reported), with the
//! filters Zeek's `ldap_search.log` baselines name.

#[path = "support/corpus.rs"]
mod corpus;

use dcsensor::pipeline::{replay_to_vec, Options, ReplayResult};
use dcsensor::stats::Counter;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn replay(paths: &[PathBuf]) -> ReplayResult {
    let opts = Options {
        workers: 1,
        ..Default::default()
    };
    replay_to_vec(paths, &opts).unwrap_or_else(|e| panic!("replay of {paths:?}: {e}"))
}

fn lab(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata-pcaps/lab")
        .join(name)
}

/// The `ldap` records as JSON, in time order.
fn ldap(r: &ReplayResult) -> Vec<Value> {
    let mut v: Vec<Value> = r
        .records
        .iter()
        .map(|r| serde_json::to_value(r).unwrap())
        .filter(|j| j["type"] == "ldap")
        .collect();
    v.sort_by(|a, b| a["ts"].as_f64().partial_cmp(&b["ts"].as_f64()).unwrap());
    v
}

/// A dependency is missing: say so; under CI (where `.ci/setup` installs everything) fail.
fn skip(why: &str) {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("missing dependency under CI: {why}");
    }
    println!("SKIP: {why}");
}

fn tshark_present() -> bool {
    Command::new("tshark").arg("-v").output().is_ok()
}

/// The record of the search with this filter (the only one).
fn search<'a>(recs: &'a [Value], filter: &str) -> &'a Value {
    let m: Vec<&Value> = recs
        .iter()
        .filter(|r| r["op"] == "search" && r["filter"] == filter)
        .collect();
    assert_eq!(m.len(), 1, "searches with {filter}: {m:?}");
    m[0]
}

// tshark -r 22_attack_ldap_recon.pcap -Y 'ldap.protocolOp == 3' -T pdml: the searchRequests'
// base, scope, filter and attributes; the entries are the searchResEntry of each messageID.
#[test]
fn lab_bloodhound_collection_is_exact() {
    let r = replay(&[lab("22_attack_ldap_recon.pcap")]);
    let recs = ldap(&r);
    let ops: BTreeMap<&str, usize> = recs.iter().fold(BTreeMap::new(), |mut m, r| {
        *m.entry(r["op"].as_str().unwrap()).or_default() += 1;
        m
    });
    // 73 searchRequests in clear text, 8 binds (2 simple, 2 Kerberos, 2 x 2 NTLM rounds).
    assert_eq!(ops, BTreeMap::from([("bind", 8), ("search", 73)]));
    let strip = |v: &Value| {
        let mut v = v.clone();
        for k in ["ts", "type", "src", "dst", "dport", "proto", "rtt"] {
            v.as_object_mut().unwrap().remove(k);
        }
        v
    };
    // BloodHound's user query.
    assert_eq!(
        strip(search(&recs, "(|(&(objectCategory=person)(objectClass=user))(objectClass=msDS-GroupManagedServiceAccount)(objectClass=msDS-ManagedServiceAccount))")),
        json!({"sport": 44455, "op": "search", "base": "DC=lab,DC=example", "scope": "sub",
            "filter": "(|(&(objectCategory=person)(objectClass=user))(objectClass=msDS-GroupManagedServiceAccount)(objectClass=msDS-ManagedServiceAccount))",
            "attributes": ["sAMAccountName", "distinguishedName", "sAMAccountType", "objectSid",
                "primaryGroupID", "isDeleted", "objectClass", "msDS-GroupMSAMembership",
                "servicePrincipalName", "userAccountControl", "displayName", "lastLogon",
                "lastLogonTimestamp", "pwdLastSet", "mail", "title", "homeDirectory", "description",
                "userPassword", "adminCount", "msDS-AllowedToDelegateTo", "sIDHistory", "whencreated",
                "unicodepwd", "scriptpath", "unixuserpassword", "nTSecurityDescriptor"],
            "entries": 11, "success": true, "result": "success"})
    );
    // Its computer query, domain controllers, GPOs, trusts.
    let computers = search(&recs, "(&(sAMAccountType=805306369)(!(objectClass=msDS-GroupManagedServiceAccount))(!(objectClass=msDS-ManagedServiceAccount)))");
    assert_eq!(
        (
            &computers["base"],
            &computers["scope"],
            &computers["entries"]
        ),
        (&json!("DC=lab,DC=example"), &json!("sub"), &json!(5))
    );
    let dcs = search(&recs, "(userAccountControl:1.2.840.113556.1.4.803:=8192)");
    assert_eq!(
        strip(dcs),
        json!({"sport": 44455, "op": "search", "base": "DC=lab,DC=example", "scope": "sub",
            "filter": "(userAccountControl:1.2.840.113556.1.4.803:=8192)",
            "attributes": ["dnshostname", "samaccounttype", "samaccountname", "serviceprincipalname", "objectSid"],
            "entries": 1, "success": true, "result": "success"})
    );
    let gpos = search(&recs, "(objectCategory=groupPolicyContainer)");
    assert_eq!(gpos["entries"], 2);
    assert!(gpos["attributes"]
        .as_array()
        .unwrap()
        .contains(&json!("gPCFileSysPath")));
    let trusts = search(&recs, "(objectClass=trustedDomain)");
    assert_eq!(
        (&trusts["entries"], &trusts["success"]),
        (&json!(0), &json!(true))
    );
    assert_eq!(search(&recs, "(objectClass=group)")["entries"], 38);
    // The schema walk: 17 pages of 100 entries and one of 39 (tshark: 1,739 searchResEntry).
    let schema: Vec<u64> = recs
        .iter()
        .filter(|r| r["base"] == "CN=Schema,CN=Configuration,DC=lab,DC=example")
        .map(|r| r["entries"].as_u64().unwrap())
        .collect();
    assert_eq!(schema.len(), 18);
    assert_eq!(schema.iter().sum::<u64>(), 1739);
    // SID lookups: a binary value written octet by octet.
    assert!(recs.iter().any(|r| r["filter"]
        == r"(objectSid=\01\05\00\00\00\00\00\05\15\00\00\00\32\b3\6c\05\74\23\95\7c\c3\cf\d3\59\00\02\00\00)"));
    // Every search was answered; only the anonymous subschema reads failed (tshark: two
    // searchResDone operationsError).
    let searches: Vec<&Value> = recs.iter().filter(|r| r["op"] == "search").collect();
    assert!(searches
        .iter()
        .all(|r| r["entries"].is_u64() && r["rtt"].is_f64()));
    let failed: Vec<(&Value, &Value)> = searches
        .iter()
        .filter(|r| r["result"] != "success")
        .map(|r| (&r["base"], &r["result"]))
        .collect();
    let subschema = json!("CN=Aggregate,CN=Schema,CN=Configuration,DC=lab,DC=example");
    assert_eq!(
        failed,
        [
            (&subschema, &json!("operationsError")),
            (&subschema, &json!("operationsError"))
        ]
    );
    // GetADUsers and findDelegation bound with NTLM and sealed: their searches are invisible,
    // their 6 SASL buffers counted (tshark: 6 ldap.sasl_buffer_length).
    let sealed: Vec<&Value> = recs.iter().filter(|r| r["sealed"] == true).collect();
    assert_eq!(sealed.len(), 2);
    assert!(sealed
        .iter()
        .all(|r| r["op"] == "bind" && r["mechanism"] == "GSS-SPNEGO" && r["success"] == true));
    for s in &sealed {
        assert!(!recs
            .iter()
            .any(|r| r["sport"] == s["sport"] && r["op"] != "bind"));
    }
    assert_eq!(r.stats.snapshot.get(Counter::LdapSealed), 6);
    assert_eq!(r.stats.snapshot.get(Counter::MalformedLdap), 0);
}

/// Sealed binds (impacket's NTLM sealing; samba-tool's Kerberos sealing): the bind says
/// `sealed: true`, what follows is counted as tshark counts SASL buffers, nothing else recorded.
#[test]
fn lab_sealed_binds() {
    for (name, binds, buffers) in [
        ("10_attack_kerberoasting.pcap", 1, 2),
        ("11_attack_asrep_roasting.pcap", 1, 2),
        ("29_benign_admin_day.pcap", 4, 130),
    ] {
        let r = replay(&[lab(name)]);
        let recs = ldap(&r);
        let sealed: Vec<&Value> = recs.iter().filter(|r| r["sealed"] == true).collect();
        assert_eq!(sealed.len(), binds, "{name}: {recs:?}");
        assert!(sealed
            .iter()
            .all(|r| r["op"] == "bind" && r["success"] == true));
        assert_eq!(r.stats.snapshot.get(Counter::LdapSealed), buffers, "{name}");
        assert_eq!(r.stats.snapshot.get(Counter::MalformedLdap), 0, "{name}");
        for s in &sealed {
            let after = recs
                .iter()
                .filter(|r| r["sport"] == s["sport"] && r["ts"].as_f64() > s["ts"].as_f64());
            assert_eq!(after.count(), 0, "{name}: records after the sealed bind");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Conformance with tshark (every capture with LDAP) and Zeek's ldap_search.log baselines.

/// One LDAP operation as tshark's PDML shows it.
#[derive(Debug, Clone, Default)]
struct Tm {
    port: u16,
    op: String,
    id: i64,
    base: String,
    scope: String,
    filter: Option<String>,
}

fn unescape_xml(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// The value of `attr="..."` in a PDML line.
fn attr<'a>(line: &'a str, attr: &str) -> Option<&'a str> {
    let at = line.find(&format!(" {attr}=\""))? + attr.len() + 3;
    let end = line[at..].find('"')?;
    Some(&line[at..at + end])
}

/// The LDAP messages of a capture, in frame order, with the entries per (port, id).
fn tshark_ldap(pcap: &Path) -> (Vec<Tm>, BTreeMap<(u16, i64), u64>) {
    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(pcap)
        .args(["-Y", "ldap", "-T", "pdml"])
        .output()
        .expect("tshark runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let (mut msgs, mut entries) = (Vec::new(), BTreeMap::new());
    let (mut sport, mut dport) = (0u16, 0u16);
    for line in text.lines() {
        let name = attr(line, "name").unwrap_or("");
        if name == "tcp.srcport" || name == "udp.srcport" {
            sport = attr(line, "show").and_then(|s| s.parse().ok()).unwrap_or(0);
        } else if name == "tcp.dstport" || name == "udp.dstport" {
            dport = attr(line, "show").and_then(|s| s.parse().ok()).unwrap_or(0);
        } else if name == "ldap.LDAPMessage_element" {
            let show = unescape_xml(attr(line, "showname").unwrap_or(""));
            let Some(rest) = show.strip_prefix("LDAPMessage ") else {
                continue;
            };
            let Some(paren) = rest.find('(') else {
                continue;
            };
            let op = rest[..paren].to_string();
            let close = rest.find(')').unwrap_or(paren);
            let id: i64 = rest[paren + 1..close].parse().unwrap_or(-1);
            let client = if op.ends_with("Request") {
                sport
            } else {
                dport
            };
            let mut m = Tm {
                port: client,
                op,
                id,
                ..Default::default()
            };
            if m.op == "searchRequest" {
                let after = &rest[close + 1..];
                if let (Some(a), Some(b)) = (after.find('"'), after.rfind('"')) {
                    m.base = after[a + 1..b].replace("<ROOT>", "");
                    m.scope = after[b + 1..].trim().to_string();
                }
            }
            if m.op == "searchResEntry" {
                *entries.entry((client, id)).or_insert(0) += 1;
            }
            msgs.push(m);
        } else if let Some(f) = attr(line, "show").and_then(|s| s.strip_prefix("Filter: ")) {
            if let Some(m) = msgs.last_mut().filter(|m| m.filter.is_none()) {
                m.filter = Some(unescape_xml(f));
            }
        }
    }
    (msgs, entries)
}

/// A filter string with nested and/or of the same kind flattened (`(&(&(a)(b))(c))` is
/// `(&(a)(b)(c))`: tshark and Zeek write an n-ary and as nested pairs).
fn flatten(f: &str) -> String {
    fn node(s: &[u8], i: &mut usize) -> Option<(Option<u8>, Vec<String>)> {
        if s.get(*i) != Some(&b'(') {
            return None;
        }
        *i += 1;
        match s.get(*i) {
            Some(&op @ (b'&' | b'|')) => {
                *i += 1;
                let mut kids = Vec::new();
                while s.get(*i) == Some(&b'(') {
                    let (kop, k) = node(s, i)?;
                    if kop == Some(op) {
                        kids.extend(k);
                    } else {
                        kids.push(render(kop, &k));
                    }
                }
                *i += 1;
                Some((Some(op), kids))
            }
            Some(b'!') => {
                *i += 1;
                let (kop, k) = node(s, i)?;
                *i += 1;
                Some((Some(b'!'), vec![render(kop, &k)]))
            }
            _ => {
                let start = *i;
                while s.get(*i).is_some_and(|&c| c != b')') {
                    *i += 1;
                }
                let leaf = String::from_utf8_lossy(&s[start..*i]).to_string();
                *i += 1;
                Some((None, vec![leaf]))
            }
        }
    }
    fn render(op: Option<u8>, kids: &[String]) -> String {
        match op {
            None => format!("({})", kids[0]),
            Some(o) => format!("({}{})", o as char, kids.concat()),
        }
    }
    let mut i = 0;
    match node(f.as_bytes(), &mut i) {
        Some((op, k)) => render(op, &k),
        None => f.to_string(),
    }
}

#[test]
fn flatten_writes_nested_pairs_as_one() {
    assert_eq!(
        flatten("(&(&(a=*)(b=*))(!(c:1.2:=2)))"),
        "(&(a=*)(b=*)(!(c:1.2:=2)))"
    );
    assert_eq!(flatten("(|(&(a=1)(b=2))(c=3))"), "(|(&(a=1)(b=2))(c=3))");
    assert!(same_binary(r"(objectSid=\01\05\00)", "(objectSid=01:05:…)"));
    assert!(!same_binary(
        r"(objectSid=\01\06\00)",
        "(objectSid=01:05:…)"
    ));
}

/// Whether a filter with a binary value is the one tshark shows: tshark writes the octets as
/// `01:05:..` and cuts them with `…`; ours are `\01\05..`.
fn same_binary(ours: &str, tshark: &str) -> bool {
    let Some(cut) = tshark.strip_suffix(")").and_then(|t| t.strip_suffix('…')) else {
        return false;
    };
    let mut hex = String::new();
    let mut it = ours.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            hex.extend(it.next());
            hex.extend(it.next());
            hex.push(':');
        } else {
            hex.push(c);
        }
    }
    hex.starts_with(cut)
}

fn scope_word(s: &str) -> &'static str {
    match s {
        "baseObject" => "base",
        "singleLevel" => "one",
        "wholeSubtree" => "sub",
        _ => "?",
    }
}

const OPS: &[(&str, &str)] = &[
    ("bindRequest", "bind"),
    ("searchRequest", "search"),
    ("modifyRequest", "modify"),
    ("addRequest", "add"),
    ("delRequest", "delete"),
    ("modDNRequest", "modify_dn"),
    ("compareRequest", "compare"),
    ("extendedReq", "extended"),
];

/// Every clear-text LDAP request tshark dissects in the lab captures and the shared corpus has
/// its record (same client port, same op; for searches the same base, scope, filter and
/// entries, in order per connection): reported per capture, ≥ 99 % asserted.
#[test]
fn conformance_with_tshark() {
    if !tshark_present() {
        return skip("tshark is not installed (apt-get install tshark)");
    }
    if !corpus::shared_present() {
        skip("../shared/pcaps is absent: only the lab captures are measured");
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut caps: Vec<PathBuf> = std::fs::read_dir(root.join("testdata-pcaps/lab"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
        .collect();
    let mut dirs = vec![root.join("../shared/pcaps")];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p
                .extension()
                .is_some_and(|x| x == "pcap" || x == "pcapng" || x == "cap")
                && p.to_string_lossy().contains("ldap")
            {
                caps.push(p);
            }
        }
    }
    caps.sort();
    let (mut want, mut got, mut filters, mut filters_same, mut entries, mut entries_same) =
        (0, 0, 0, 0, 0, 0);
    for cap in &caps {
        let (msgs, ent) = tshark_ldap(cap);
        let reqs: Vec<&Tm> = msgs
            .iter()
            .filter(|m| OPS.iter().any(|(t, _)| *t == m.op))
            .collect();
        if reqs.is_empty() {
            continue;
        }
        let r = replay(std::slice::from_ref(cap));
        let recs = ldap(&r);
        let mut by_port: BTreeMap<u64, Vec<&Value>> = BTreeMap::new();
        for rec in &recs {
            by_port
                .entry(rec["sport"].as_u64().unwrap_or(0))
                .or_default()
                .push(rec);
        }
        let mut miss = Vec::new();
        let mut per_port: BTreeMap<u16, usize> = BTreeMap::new();
        for m in &reqs {
            want += 1;
            let k = per_port.entry(m.port).or_insert(0);
            let ours = by_port.get(&u64::from(m.port)).and_then(|v| v.get(*k));
            *k += 1;
            let op = OPS.iter().find(|(t, _)| *t == m.op).unwrap().1;
            let Some(o) = ours.filter(|o| o["op"] == op) else {
                miss.push(format!("{}:{} {} missing", m.port, m.id, m.op));
                continue;
            };
            if op != "search" {
                got += 1;
                continue;
            }
            let base_ok =
                o["base"].as_str().unwrap_or("") == m.base && o["scope"] == scope_word(&m.scope);
            if base_ok {
                got += 1;
            } else {
                miss.push(format!("{}:{} base/scope {o}", m.port, m.id));
            }
            if let Some(tf) = &m.filter {
                filters += 1;
                let of = o["filter"].as_str().unwrap_or("");
                if flatten(of) == flatten(tf) || same_binary(of, tf) {
                    filters_same += 1;
                } else {
                    miss.push(format!("filter: ours {of} tshark {tf}"));
                }
            }
            entries += 1;
            let n = ent.get(&(m.port, m.id)).copied().unwrap_or(0);
            if o["entries"].as_u64() == Some(n) {
                entries_same += 1;
            } else {
                miss.push(format!(
                    "{}:{} entries {} vs {n}",
                    m.port, m.id, o["entries"]
                ));
            }
        }
        println!(
            "{}: {} requests, {} mismatches",
            cap.file_name().unwrap().to_string_lossy(),
            reqs.len(),
            miss.len()
        );
        for x in miss.iter().take(5) {
            println!("    {x}");
        }
    }
    let pct = |a: usize, b: usize| 100.0 * a as f64 / b.max(1) as f64;
    println!(
        "ldap: operations {got}/{want} = {:.2} %; filters {filters_same}/{filters} = {:.2} %; \
         entries {entries_same}/{entries} = {:.2} %",
        pct(got, want),
        pct(filters_same, filters),
        pct(entries_same, entries)
    );
    assert!(want >= 100, "only {want} LDAP requests found");
    assert!(pct(got, want) >= 99.0);
    assert!(pct(filters_same, filters) >= 99.0);
    assert!(pct(entries_same, entries) >= 99.0);
}

/// The searches Zeek's baselines list for the shared LDAP captures (`ldap_search.log`: base,
/// result count, filter) are ours too.
#[test]
fn zeek_ldap_search_baselines() {
    if !corpus::shared_present() {
        return skip("../shared/pcaps is absent");
    }
    let zeek = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/pcaps/zeek");
    let mut checked = 0;
    for e in std::fs::read_dir(&zeek).unwrap().flatten() {
        let dir = e.path();
        if !dir.to_string_lossy().contains("ldap__") {
            continue;
        }
        let pcap = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == "pcap"))
            .unwrap();
        let recs = ldap(&replay(&[pcap]));
        let mut logs = vec![dir.join("Baseline")];
        while let Some(d) = logs.pop() {
            for f in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let p = f.path();
                if p.is_dir() {
                    logs.push(p);
                    continue;
                }
                if !p.to_string_lossy().ends_with("ldap_search.log") {
                    continue;
                }
                let text = std::fs::read_to_string(&p).unwrap();
                let fields: Vec<&str> = text
                    .lines()
                    .find_map(|l| l.strip_prefix("#fields\t"))
                    .unwrap()
                    .split('\t')
                    .collect();
                let col = |row: &[&str], name: &str| {
                    let i = fields.iter().position(|f| *f == name).unwrap();
                    row[i].to_string()
                };
                for line in text.lines().filter(|l| !l.starts_with('#')) {
                    let row: Vec<&str> = line.split('\t').collect();
                    let (base, count, filter) = (
                        col(&row, "base_object"),
                        col(&row, "result_count"),
                        col(&row, "filter"),
                    );
                    let ours = recs.iter().find(|r| {
                        r["op"] == "search"
                            && r["base"] == base.as_str()
                            && flatten(r["filter"].as_str().unwrap_or("")) == flatten(&filter)
                    });
                    let ours = ours.unwrap_or_else(|| panic!("{p:?}: no search {base} {filter}"));
                    assert_eq!(ours["entries"].to_string(), count, "{p:?}");
                    checked += 1;
                }
            }
        }
    }
    assert!(checked >= 5, "only {checked} Zeek search rows");
}
