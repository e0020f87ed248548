//! The alert formats checked field by field against their specifications, with parsers written
//! here from the specifications (not with the code that writes them):
//!
//! - CEF (ArcSight "Implementing ArcSight Common Event Format"): the header's seven fields with
//!   `|` and `\` escaped, severity 0-10, extension keys from the spec's dictionary (or the custom
//!   `csN`/`cnN`/`c6aN` keys, each with its label), values with `\`, `=` and line breaks escaped
//!   and within the dictionary's lengths, time stamps in milliseconds since the epoch, `src` an
//!   IPv4 address and `c6a2` an IPv6 one; for every alert the lab captures raise and for a hostile
//!   alert (`|`, `=`, `\`, line breaks, non-ASCII, text that looks like a key) whose every field
//!   must come back unchanged.
//! - Syslog (RFC 5424 header, RFC 6587 octet counting over TCP, one message per UDP datagram)
//!   through the real sink and real sockets.
//! - ECS: every field of every document is an ECS field of the right type (or under the
//!   `dcsensor` namespace: custom fields nested under a product's proper name, as ECS advises),
//!   categorisation values from ECS's allowed lists, for records of every type and for alerts.

use dcsensor::detect::output::{cef_alert, ecs_alert, ecs_record, iso8601, syslog_line};
use dcsensor::detect::sinks::{AlertSink, Syslog, SyslogTarget};
use dcsensor::detect::{Alert, Engine, Rec, Source, Tuning};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The lab's DC from its manifest, and no learning period for the forged-ticket detections
/// (as tests/detect.rs tunes the engine).
fn lab_tuning() -> Tuning {
    let m = std::fs::read_to_string(root().join("testdata-pcaps/lab/manifest.tsv")).unwrap();
    let dcs: Vec<String> = m
        .lines()
        .filter(|l| l.starts_with("lab\tdc\t"))
        .flat_map(|l| {
            l.split(char::is_whitespace)
                .filter(|t| t.parse::<IpAddr>().is_ok())
                .map(|t| format!("\"{t}\""))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(!dcs.is_empty());
    Tuning::from_toml(&format!(
        "[detect]\ndomain_controllers = [{}]\n[detect.golden_ticket]\ntest_mode = true\n[detect.silver_ticket]\ntest_mode = true\n",
        dcs.join(", ")
    ))
    .unwrap()
}

fn lab_captures() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("testdata-pcaps/lab"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
        .collect();
    v.sort();
    v
}

fn records_of(pcap: &Path) -> Vec<Rec> {
    let opts = dcsensor::pipeline::Options {
        workers: 1,
        ..Default::default()
    };
    dcsensor::pipeline::replay_to_vec(&[pcap.to_path_buf()], &opts)
        .unwrap()
        .records
        .iter()
        .map(|r| Rec::from_record(r).unwrap())
        .collect()
}

/// Every record of the lab captures, and every alert emission (new and updated) they raise,
/// each capture through its own engine.
fn lab() -> &'static (Vec<Rec>, Vec<Alert>) {
    static L: std::sync::OnceLock<(Vec<Rec>, Vec<Alert>)> = std::sync::OnceLock::new();
    L.get_or_init(|| {
        let mut recs = Vec::new();
        let mut alerts = Vec::new();
        for c in lab_captures() {
            let r = records_of(&c);
            let mut e = Engine::new(lab_tuning());
            for x in &r {
                alerts.extend(e.feed("lab-sensor", &std::sync::Arc::new(x.clone())));
            }
            alerts.extend(e.flush());
            recs.extend(r);
        }
        assert!(
            alerts.len() >= 20,
            "the lab raises alerts: {}",
            alerts.len()
        );
        (recs, alerts)
    })
}

/// An alert written to break careless escaping: every text field holds the CEF and syslog
/// special characters, line breaks, non-ASCII, and text shaped like `key=value`.
fn hostile_alert() -> Alert {
    let nasty = "a|b\\c=d e=f \\= \\\\| x\ny\r\nz é 東京 🔑 cs1=evil msg=x\\";
    let mut ev = Rec::from_json(
        r#"{"ts":1795886861.5,"type":"kerberos","src":"10.0.0.9","dst":"10.0.0.1","proto":"tcp","request":"TGS-REQ"}"#,
    )
    .unwrap();
    ev.client = Some(nasty.to_string());
    ev.service = Some("MSSQLSvc/sql=01|x:1433".into());
    Alert {
        ts: 1795886861.468,
        kind: "alert".into(),
        last_ts: 1795886925.001,
        id: "0123456789abcdef01234567".into(),
        detection: "kerberoasting|x\\y".into(),
        title: format!("Title {nasty}").into(),
        mdi_id: Some(2410),
        attack: vec!["T1558.003".into(), "T1558".into()].into(),
        phase: "credential_access".into(),
        severity: "high".into(),
        source: Source {
            ip: Some("fe80::1:2".into()),
            host: Some(format!("host {nasty}")),
            host_by: Some(format!("kerberos host principal {nasty} at 1795886861.5")),
            user: Some(format!("LAB\\{nasty}")),
        },
        targets: vec![nasty.to_string(), "svc=web|01".into(), "ümlaut\\".into()].into(),
        target_count: Some(7),
        summary: format!("Summary {nasty} = done"),
        evidence: vec![ev].into(),
        evidence_trimmed: 1,
        count: 12,
        sensors: vec!["dc=1|a".into(), "dc-2".into()].into(),
    }
}

// ---------------------------------------------------------------------------------------------
// CEF

/// A CEF event: the seven header fields after `CEF:` (version, vendor, product, device version,
/// event class id, name, severity), unescaped, and the extension's (key, value) pairs in order,
/// unescaped.
#[derive(Debug)]
struct Cef {
    header: Vec<String>,
    ext: Vec<(String, String)>,
}

impl Cef {
    fn get(&self, k: &str) -> Option<&str> {
        self.ext
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses a CEF line as the specification defines it. Header: fields separated by `|`, in which
/// only `\|` and `\\` are escapes. Extension: space-separated `key=value`; a key is letters and
/// digits; in a value `\=`, `\\`, `\n` and `\r` are escapes and an unescaped `=` can only be the
/// one after the next key, so the boundary between a value and the next key is the last space
/// before that `=`. Anything else (an unknown escape, a raw line break, an empty key) is an error.
fn parse_cef(line: &str) -> Result<Cef, String> {
    let rest = line
        .strip_prefix("CEF:")
        .ok_or("does not start with CEF:")?;
    let mut header = Vec::new();
    let mut cur = String::new();
    let mut chars = rest.char_indices();
    let mut ext_start = None;
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, '|')) => cur.push('|'),
                Some((_, '\\')) => cur.push('\\'),
                other => return Err(format!("header: bad escape \\{other:?}")),
            },
            '|' => {
                header.push(std::mem::take(&mut cur));
                if header.len() == 7 {
                    ext_start = Some(i + 1);
                    break;
                }
            }
            '\n' | '\r' => return Err("header: raw line break".into()),
            c => cur.push(c),
        }
    }
    let ext_start = ext_start.ok_or_else(|| format!("header has {} fields", header.len()))?;
    let ext_text = &rest[ext_start..];
    if ext_text.contains(['\n', '\r']) {
        return Err("extension: raw line break".into());
    }
    // positions of unescaped `=`
    let b: Vec<char> = ext_text.chars().collect();
    let mut eqs = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            '\\' => i += 2,
            '=' => {
                eqs.push(i);
                i += 1
            }
            _ => i += 1,
        }
    }
    let mut ext = Vec::new();
    let mut key_starts = Vec::new();
    for &e in &eqs {
        let mut s = e;
        while s > 0 && b[s - 1] != ' ' {
            s -= 1;
        }
        let key: String = b[s..e].iter().collect();
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(format!("extension: `{key}` before `=` is not a key"));
        }
        if s != 0 && key_starts.is_empty() && b[..s].iter().any(|c| *c != ' ') {
            return Err("extension: text before the first key".into());
        }
        key_starts.push((s, e, key));
    }
    for (n, (_, e, key)) in key_starts.iter().enumerate() {
        let end = key_starts
            .get(n + 1)
            .map(|(s, _, _)| s - 1)
            .unwrap_or(b.len());
        let raw = &b[e + 1..end.max(e + 1)];
        let mut v = String::new();
        let mut j = 0;
        while j < raw.len() {
            if raw[j] == '\\' {
                match raw.get(j + 1) {
                    Some('\\') => v.push('\\'),
                    Some('=') => v.push('='),
                    Some('n') => v.push('\n'),
                    Some('r') => v.push('\r'),
                    other => return Err(format!("{key}: bad escape \\{other:?}")),
                }
                j += 2;
            } else {
                v.push(raw[j]);
                j += 1;
            }
        }
        if ext.iter().any(|(k, _): &(String, String)| k == key) {
            return Err(format!("{key} twice"));
        }
        ext.push((key.clone(), v));
    }
    Ok(Cef { header, ext })
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Ty {
    Str(usize),
    /// Milliseconds since the epoch (the spec's other time formats are not used).
    Time,
    Int,
    Long,
    Ipv4,
    Ipv6,
}

/// The keys of the CEF extension dictionary dcsensor may use, with their type and length.
fn dictionary(key: &str) -> Option<Ty> {
    let t = match key {
        "rt" | "start" | "end" => Ty::Time,
        "externalId" => Ty::Str(40),
        "cnt" => Ty::Int,
        "cat" | "msg" | "shost" | "suser" | "duser" | "dhost" | "reason" | "request" => {
            Ty::Str(1023)
        }
        "act" | "outcome" => Ty::Str(63),
        "app" | "proto" => Ty::Str(31),
        "deviceExternalId" | "sntdom" | "dntdom" => Ty::Str(255),
        "dvchost" => Ty::Str(100),
        "src" | "dst" | "dvc" => Ty::Ipv4,
        "spt" | "dpt" => Ty::Int,
        "cs1" | "cs2" | "cs3" | "cs4" | "cs5" | "cs6" => Ty::Str(4000),
        "cn1" | "cn2" | "cn3" => Ty::Long,
        "c6a1" | "c6a2" | "c6a3" | "c6a4" => Ty::Ipv6,
        k if k.strip_suffix("Label").is_some_and(is_custom_key) => Ty::Str(1023),
        _ => return None,
    };
    Some(t)
}

/// Checks one CEF line against the specification and returns it parsed.
fn check_cef(line: &str) -> Cef {
    let c = parse_cef(line).unwrap_or_else(|e| panic!("not CEF ({e}): {line}"));
    assert_eq!(c.header[0], "0", "CEF version");
    for (i, h) in c.header.iter().enumerate().take(6).skip(1) {
        assert!(!h.is_empty(), "header field {i} empty: {line}");
    }
    let sev: u8 = c.header[6]
        .parse()
        .unwrap_or_else(|_| panic!("severity `{}` is not 0-10", c.header[6]));
    assert!(sev <= 10);
    for (k, v) in &c.ext {
        let ty = dictionary(k).unwrap_or_else(|| panic!("`{k}` is not a CEF dictionary key"));
        match ty {
            Ty::Str(n) => assert!(v.chars().count() <= n, "{k}: longer than {n}"),
            Ty::Time => {
                let ms: i64 = v.parse().unwrap_or_else(|_| panic!("{k}={v}: not ms"));
                // 2001 .. 2286: milliseconds, not seconds
                assert!(
                    (1_000_000_000_000..10_000_000_000_000).contains(&ms),
                    "{k}={v}"
                );
            }
            Ty::Int => {
                v.parse::<i32>()
                    .unwrap_or_else(|_| panic!("{k}={v}: not int"));
            }
            Ty::Long => {
                v.parse::<i64>()
                    .unwrap_or_else(|_| panic!("{k}={v}: not long"));
            }
            Ty::Ipv4 => {
                v.parse::<Ipv4Addr>()
                    .unwrap_or_else(|_| panic!("{k}={v}: not IPv4"));
            }
            Ty::Ipv6 => {
                v.parse::<Ipv6Addr>()
                    .unwrap_or_else(|_| panic!("{k}={v}: not IPv6"));
            }
        }
        // a custom key goes with its label
        let base = k.strip_suffix("Label").unwrap_or(k);
        if is_custom_key(base) {
            if !k.ends_with("Label") {
                let label = c.get(&format!("{k}Label"));
                assert!(label.is_some_and(|l| !l.is_empty()), "{k} without label");
            } else {
                assert!(c.get(&k[..k.len() - 5]).is_some(), "{k} without its value");
            }
        }
    }
    c
}

fn ms(t: f64) -> String {
    ((t * 1000.0).round() as i64).to_string()
}

/// The alert's fields, read back from the CEF event, are the alert's (the documented mapping).
fn check_cef_mapping(a: &Alert, c: &Cef, observer: &str) {
    let h = &c.header;
    assert_eq!((h[1].as_str(), h[2].as_str()), ("dcsensor", "dcsensor"));
    assert_eq!(h[3], env!("CARGO_PKG_VERSION"));
    assert_eq!(h[4], a.detection);
    // the header cannot carry line breaks: they become spaces
    assert_eq!(h[5], a.title.replace(['\r', '\n'], " "));
    let sev = match &*a.severity {
        "low" => "3",
        "medium" => "5",
        _ => "8",
    };
    assert_eq!(h[6], sev);
    let cap = |s: &str, n: usize| s.chars().take(n).collect::<String>();
    let get = |k| c.get(k).map(str::to_string);
    assert_eq!(get("rt"), Some(ms(a.last_ts)));
    assert_eq!(get("start"), Some(ms(a.ts)));
    assert_eq!(get("end"), Some(ms(a.last_ts)));
    assert_eq!(get("externalId"), Some(a.id.clone()));
    assert_eq!(get("cnt"), Some(a.count.to_string()));
    assert_eq!(get("cat"), Some(a.phase.to_string()));
    assert_eq!(get("msg"), Some(cap(&a.summary, 1023)));
    match a.source.ip.as_deref().map(|s| s.parse::<IpAddr>().unwrap()) {
        Some(IpAddr::V4(ip)) => assert_eq!(get("src"), Some(ip.to_string())),
        Some(IpAddr::V6(ip)) => {
            assert_eq!(
                get("c6a2").map(|v| v.parse::<Ipv6Addr>().unwrap()),
                Some(ip)
            );
            assert!(get("src").is_none());
        }
        None => assert!(get("src").is_none() && get("c6a2").is_none()),
    }
    assert_eq!(get("shost"), a.source.host.as_deref().map(|s| cap(s, 1023)));
    assert_eq!(get("suser"), a.source.user.as_deref().map(|s| cap(s, 1023)));
    assert_eq!(get("duser"), a.targets.first().map(|s| cap(s, 1023)));
    assert_eq!(get("cs1"), Some(a.attack.join(",")));
    assert_eq!(
        get("cs2"),
        (!a.targets.is_empty()).then(|| cap(&a.targets.join(","), 4000))
    );
    assert_eq!(get("cs3"), Some(a.sensors.join(",")));
    assert_eq!(get("cs4"), a.source.host_by.clone());
    // evidence: a JSON array of the first records, whole
    let ev: Vec<Rec> = serde_json::from_str(c.get("cs5").unwrap()).expect("cs5 is JSON");
    assert!(ev.len() <= a.evidence.len());
    let first: Vec<&Rec> = a.evidence[..ev.len()].iter().map(|r| &**r).collect();
    assert_eq!(ev.iter().collect::<Vec<_>>(), first);
    assert_eq!(get("cn1"), a.mdi_id.map(|m| m.to_string()));
    assert_eq!(
        get("cn2"),
        Some(a.target_count.unwrap_or(a.targets.len() as u64).to_string())
    );
    // evidence_trimmed: absent when 0, as in the JSON alert
    assert_eq!(
        get("cn3"),
        (a.evidence_trimmed > 0).then(|| a.evidence_trimmed.to_string())
    );
    assert_eq!(
        get("cn3Label").as_deref(),
        (a.evidence_trimmed > 0).then_some("evidence trimmed")
    );
    assert_eq!(get("deviceExternalId"), Some(observer.to_string()));
}

#[test]
fn cef_of_every_lab_alert_follows_the_specification_field_by_field() {
    let (_, alerts) = lab();
    let mut detections = BTreeSet::new();
    for a in alerts {
        let line = cef_alert(a, "lab-sensor");
        let c = check_cef(&line);
        check_cef_mapping(a, &c, "lab-sensor");
        detections.insert(a.detection.clone());
    }
    assert!(detections.len() >= 10, "{detections:?}");
}

#[test]
fn cef_escapes_a_hostile_alert_and_every_field_comes_back() {
    let a = hostile_alert();
    let line = cef_alert(&a, "obs|erver=1\\");
    assert!(!line.contains(['\n', '\r']), "one line: {line}");
    let c = check_cef(&line);
    check_cef_mapping(&a, &c, "obs|erver=1\\");
    // what a naive split would get wrong is right
    assert_eq!(c.header.len(), 7);
    assert!(c.get("suser").unwrap().contains("cs1=evil msg=x\\"));
    assert_eq!(c.get("cs1"), Some("T1558.003,T1558"));
    assert_eq!(c.get("c6a2Label").map(|l| !l.is_empty()), Some(true));
    assert_eq!(c.get("cn3"), Some("1"));
    // and the parser itself refuses what the spec forbids
    assert!(parse_cef("CEF:0|a|b|1|x|n|5|msg=a=b").is_err());
    assert!(parse_cef("CEF:0|a|b|1|x|n|5|msg=a\\qb").is_err());
    assert!(parse_cef("CEF:0|a\\x|b|1|x|n|5|msg=a").is_err());
    assert!(parse_cef("CEF:0|a|b|1|x|n|5|msg=a\nb").is_err());
    assert!(parse_cef("CEF:0|a|b|1|x|n|5|msg=a b\\=c d=e").is_ok());
}

// ---------------------------------------------------------------------------------------------
// Syslog

/// An RFC 5424 message: (PRI, TIMESTAMP, HOSTNAME, APP-NAME, MSG as text without the BOM).
#[derive(Debug)]
struct Syslog5424 {
    pri: u8,
    ts: String,
    host: String,
    app: String,
    msg: String,
}

fn printusascii(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && s.bytes().all(|b| (33..=126).contains(&b))
}

/// Days since 1970-01-01 of a date (written here from the calendar rules).
fn days(y: i64, m: i64, d: i64) -> i64 {
    let leap = |y: i64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let mut n = 0;
    for yy in 1970..y {
        n += if leap(yy) { 366 } else { 365 };
    }
    let ml = [
        31,
        if leap(y) { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    n + ml[..(m - 1) as usize].iter().sum::<i64>() + d - 1
}

/// An RFC 3339 time stamp as RFC 5424 and ECS take it: `YYYY-MM-DDTHH:MM:SS[.frac]Z` (or an
/// offset); returns seconds since the epoch.
fn rfc3339(s: &str, max_frac: usize) -> Option<f64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        t.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| t.parse().ok())?
    };
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (y, mo, d, h, mi, se) = (
        num(0..4)?,
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    );
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 59 {
        return None;
    }
    let mut i = 19;
    let mut frac = 0.0;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        i = start;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start || i - start > max_frac {
            return None;
        }
        frac = format!("0.{}", &s[start..i]).parse().ok()?;
    }
    let off = match &s[i..] {
        "Z" => 0,
        o if o.len() == 6 && (o.starts_with('+') || o.starts_with('-')) && &o[3..4] == ":" => {
            let v = num(i + 1..i + 3)? * 3600 + num(i + 4..i + 6)? * 60;
            if o.starts_with('+') {
                v
            } else {
                -v
            }
        }
        _ => return None,
    };
    let secs = days(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - off;
    Some(secs as f64 + frac)
}

fn parse_5424(bytes: &[u8]) -> Result<Syslog5424, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8: {e}"))?;
    let rest = text.strip_prefix('<').ok_or("no PRI")?;
    let (pri, rest) = rest.split_once('>').ok_or("PRI not closed")?;
    if pri.is_empty()
        || pri.len() > 3
        || !pri.bytes().all(|c| c.is_ascii_digit())
        || (pri.len() > 1 && pri.starts_with('0'))
    {
        return Err(format!("PRI `{pri}`"));
    }
    let pri: u16 = pri.parse().unwrap();
    if pri > 191 {
        return Err(format!("PRI {pri} > 191"));
    }
    let mut it = rest.splitn(8, ' ');
    let mut next = || it.next().ok_or("header too short");
    if next()? != "1" {
        return Err("VERSION is not 1".into());
    }
    let ts = next()?.to_string();
    if ts != "-" && rfc3339(&ts, 6).is_none() {
        return Err(format!("TIMESTAMP `{ts}`"));
    }
    let host = next()?.to_string();
    let app = next()?.to_string();
    let procid = next()?;
    let msgid = next()?;
    let sd = next()?;
    if !(printusascii(&host, 255)
        && printusascii(&app, 48)
        && printusascii(procid, 128)
        && printusascii(msgid, 32))
    {
        return Err("HOSTNAME, APP-NAME, PROCID or MSGID not 1*N PRINTUSASCII".into());
    }
    if sd != "-" {
        return Err(format!("STRUCTURED-DATA `{sd}`"));
    }
    let msg = next().unwrap_or("");
    let msg = match msg.strip_prefix('\u{feff}') {
        Some(m) => m.to_string(),
        None if !msg.is_ascii() => return Err("UTF-8 MSG without BOM".into()),
        None => msg.to_string(),
    };
    Ok(Syslog5424 {
        pri: pri as u8,
        ts,
        host,
        app,
        msg,
    })
}

fn check_syslog(a: &Alert, m: &Syslog5424, host: &str) {
    assert_eq!(m.pri / 8, 20, "facility local4");
    assert_eq!(m.pri % 8, if a.severity == "high" { 3 } else { 4 });
    let t = rfc3339(&m.ts, 6).unwrap();
    assert!((t - a.last_ts).abs() < 1e-5, "{} vs {}", m.ts, a.last_ts);
    assert_eq!(m.host, host);
    assert_eq!(m.app, "dcsensor");
    let c = check_cef(&m.msg);
    assert_eq!(c.get("externalId"), Some(a.id.as_str()));
}

#[test]
fn syslog_header_follows_rfc_5424() {
    let (_, alerts) = lab();
    let mut all: Vec<Alert> = alerts.clone();
    all.push(hostile_alert());
    for a in &all {
        let line = syslog_line(
            &cef_alert(a, "s1"),
            &a.severity,
            "dc1.lab.example",
            a.last_ts,
        );
        let m = parse_5424(line.as_bytes()).unwrap_or_else(|e| panic!("{e}: {line}"));
        check_syslog(a, &m, "dc1.lab.example");
    }
    // a host name that is not PRINTUSASCII is cleaned, an empty one is the nil value
    let a = hostile_alert();
    let line = syslog_line("CEF:0|a|b|1|x|n|5|", "low", "dc 1\tü", a.last_ts);
    assert_eq!(parse_5424(line.as_bytes()).unwrap().host, "dc1");
    let line = syslog_line("CEF:0|a|b|1|x|n|5|", "low", " ", a.last_ts);
    assert_eq!(parse_5424(line.as_bytes()).unwrap().host, "-");
    // the parser refuses what RFC 5424 forbids
    assert!(parse_5424(b"<192>1 - - - - - - x").is_err());
    assert!(parse_5424("<13>1 - h a - - - é".as_bytes()).is_err());
    assert!(parse_5424(b"<13>1 2026-13-01T00:00:00Z h a - - - x").is_err());
    assert!(parse_5424(b"<13>1 2026-01-01T00:00:00.1234567Z h a - - - x").is_err());
}

fn all_alerts() -> Vec<Alert> {
    let mut v = lab().1.clone();
    v.push(hostile_alert());
    v
}

#[test]
fn syslog_over_tcp_is_octet_counted_one_frame_per_alert() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let reader = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).unwrap();
        buf
    });
    let alerts = all_alerts();
    {
        let mut sink = Syslog::new(
            SyslogTarget::Tcp(addr.to_string()),
            None,
            "dc1.lab.example",
            "lab-sensor",
        )
        .unwrap();
        for a in &alerts {
            sink.alert(a).unwrap();
        }
        sink.finish().unwrap();
        assert_eq!(sink.dropped(), 0);
    }
    let buf = reader.join().unwrap();
    // RFC 6587 3.4.1: SYSLOG-FRAME = MSG-LEN SP SYSLOG-MSG, MSG-LEN = NONZERO-DIGIT *DIGIT octets
    let mut frames = Vec::new();
    let mut i = 0;
    while i < buf.len() {
        let sp = buf[i..]
            .iter()
            .position(|&b| b == b' ')
            .expect("MSG-LEN SP")
            + i;
        let len = std::str::from_utf8(&buf[i..sp]).unwrap();
        assert!(
            !len.is_empty() && !len.starts_with('0') && len.bytes().all(|b| b.is_ascii_digit()),
            "MSG-LEN `{len}`"
        );
        let n: usize = len.parse().unwrap();
        assert!(sp + 1 + n <= buf.len(), "frame longer than the stream");
        frames.push(&buf[sp + 1..sp + 1 + n]);
        i = sp + 1 + n;
    }
    assert_eq!(frames.len(), alerts.len());
    for (a, f) in alerts.iter().zip(frames) {
        let m = parse_5424(f).unwrap_or_else(|e| panic!("{e}"));
        check_syslog(a, &m, "dc1.lab.example");
        check_cef_mapping(a, &check_cef(&m.msg), "lab-sensor");
    }
}

#[test]
fn syslog_over_udp_is_one_message_per_datagram() {
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let addr = sock.local_addr().unwrap();
    // fewer than the receive buffer holds, read as they come
    let alerts: Vec<Alert> = all_alerts().into_iter().rev().take(16).collect();
    let mut sink = Syslog::new(
        SyslogTarget::Udp(addr.to_string()),
        None,
        "dc1.lab.example",
        "lab-sensor",
    )
    .unwrap();
    let mut buf = vec![0u8; 65536];
    for a in &alerts {
        sink.alert(a).unwrap();
        let n = sock.recv(&mut buf).expect("a datagram per alert");
        let m = parse_5424(&buf[..n]).unwrap_or_else(|e| panic!("{e}"));
        check_syslog(a, &m, "dc1.lab.example");
    }
    assert_eq!(sink.dropped(), 0);
}

// ---------------------------------------------------------------------------------------------
// ECS

#[derive(Clone, Copy, PartialEq, Debug)]
enum Ecs {
    Keyword,
    Text,
    Date,
    Ip,
    Long,
    Float,
    /// An array of objects (`dns.answers`), its fields listed under its name.
    Objects,
}

/// The ECS fields dcsensor may write, with their ECS types (from the ECS field reference).
fn ecs_field(name: &str) -> Option<Ecs> {
    use Ecs::*;
    Some(match name {
        "@timestamp" | "event.start" | "event.end" => Date,
        "message" => Text,
        "ecs.version"
        | "event.kind"
        | "event.category"
        | "event.type"
        | "event.module"
        | "event.dataset"
        | "event.id"
        | "event.action"
        | "event.outcome"
        | "rule.name"
        | "rule.id"
        | "rule.category"
        | "rule.ruleset"
        | "rule.reference"
        | "threat.framework"
        | "threat.technique.id"
        | "threat.technique.name"
        | "threat.technique.reference"
        | "threat.technique.subtechnique.id"
        | "threat.technique.subtechnique.reference"
        | "threat.tactic.id"
        | "threat.tactic.name"
        | "source.domain"
        | "destination.domain"
        | "user.name"
        | "user.domain"
        | "user.target.name"
        | "observer.product"
        | "observer.vendor"
        | "observer.type"
        | "observer.name"
        | "related.user"
        | "related.hosts"
        | "network.transport"
        | "network.protocol"
        | "dns.id"
        | "dns.op_code"
        | "dns.question.name"
        | "dns.question.type"
        | "dns.question.class"
        | "dns.response_code"
        | "dns.header_flags"
        | "dns.type"
        | "dns.answers.data"
        | "dns.answers.name"
        | "dns.answers.type"
        | "dns.answers.class"
        | "file.path" => Keyword,
        "source.ip" | "destination.ip" | "related.ip" | "dns.resolved_ip" => Ip,
        "source.port" | "destination.port" | "event.severity" | "event.duration"
        | "dns.answers.ttl" => Long,
        "event.risk_score" => Float,
        "dns.answers" => Objects,
        _ => return None,
    })
}

/// ECS's allowed `event.kind` values.
const KINDS: &[&str] = &[
    "alert",
    "asset",
    "enrichment",
    "event",
    "metric",
    "state",
    "pipeline_error",
    "signal",
];

/// ECS's allowed `event.category` values with the `event.type` values each expects.
fn expected_types(category: &str) -> Option<&'static [&'static str]> {
    Some(match category {
        "api" => &[
            "access", "admin", "allowed", "change", "creation", "deletion", "denied", "end",
            "info", "start", "user",
        ],
        "authentication" => &["start", "end", "info"],
        "configuration" => &["access", "change", "creation", "deletion", "info"],
        "database" => &["access", "change", "info", "error"],
        "driver" => &["change", "end", "info", "start"],
        "email" => &["info"],
        "file" => &["access", "change", "creation", "deletion", "info"],
        "host" => &["access", "change", "end", "info", "start"],
        "iam" => &[
            "admin", "change", "creation", "deletion", "group", "info", "user",
        ],
        "intrusion_detection" => &["allowed", "denied", "info"],
        "library" => &["start"],
        "malware" => &["info"],
        "network" => &[
            "access",
            "allowed",
            "connection",
            "denied",
            "end",
            "info",
            "protocol",
            "start",
        ],
        "package" => &[
            "access",
            "change",
            "deletion",
            "info",
            "installation",
            "start",
        ],
        "process" => &["access", "change", "end", "info", "start"],
        "registry" => &["access", "change", "creation", "deletion"],
        "session" => &["start", "end", "info"],
        "threat" => &["indicator"],
        "vulnerability" => &["info"],
        "web" => &["access", "error", "info"],
        _ => return None,
    })
}

/// Every leaf of a document as (dotted path, value); arrays of scalars are one leaf, arrays of
/// objects are walked with the array's path.
fn leaves<'a>(prefix: &str, v: &'a Value, out: &mut Vec<(String, &'a Value)>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                leaves(&p, x, out);
            }
        }
        Value::Array(a) if a.iter().any(Value::is_object) => {
            out.push((prefix.to_string(), v));
            for x in a {
                assert!(x.is_object(), "{prefix}: a mixed array");
                leaves(prefix, x, out);
            }
        }
        _ => out.push((prefix.to_string(), v)),
    }
}

fn scalars(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(a) => a.iter().collect(),
        x => vec![x],
    }
}

fn strs(doc: &Value, path: &str) -> Vec<String> {
    let mut v = doc;
    for p in path.split('.') {
        v = &v[p];
    }
    scalars(v)
        .into_iter()
        .filter_map(|x| x.as_str().map(str::to_string))
        .collect()
}

/// Checks one ECS document: names, types, allowed values; returns its leaves by path.
fn check_ecs(doc: &Value) -> BTreeMap<String, Value> {
    let mut ls = Vec::new();
    leaves("", doc, &mut ls);
    let mut by_path = BTreeMap::new();
    for (path, v) in &ls {
        if path == "dcsensor" || path.starts_with("dcsensor.") {
            continue; // the custom namespace
        }
        let ty = ecs_field(path).unwrap_or_else(|| panic!("`{path}` is not an ECS field"));
        for x in scalars(v) {
            let ok = match ty {
                Ecs::Keyword | Ecs::Text => x.is_string() && !x.as_str().unwrap().is_empty(),
                Ecs::Date => x.as_str().and_then(|s| rfc3339(s, 9)).is_some(),
                Ecs::Ip => x.as_str().is_some_and(|s| s.parse::<IpAddr>().is_ok()),
                Ecs::Long => x.is_i64() || x.is_u64(),
                Ecs::Float => x.is_number(),
                Ecs::Objects => x.is_object(),
            };
            assert!(ok, "`{path}`: {x} is not a {ty:?}");
        }
        by_path.insert(path.clone(), (*v).clone());
    }
    for must in ["@timestamp", "ecs.version", "event.kind"] {
        assert!(by_path.contains_key(must), "no {must}: {doc}");
    }
    let kind = doc["event"]["kind"].as_str().unwrap();
    assert!(KINDS.contains(&kind), "event.kind {kind}");
    let cats = strs(doc, "event.category");
    let types = strs(doc, "event.type");
    for c in &cats {
        let exp = expected_types(c).unwrap_or_else(|| panic!("event.category {c}"));
        assert!(
            types.iter().any(|t| exp.contains(&t.as_str())),
            "no event.type {types:?} expected for category {c}"
        );
    }
    for t in &types {
        assert!(
            cats.iter()
                .any(|c| expected_types(c).unwrap().contains(&t.as_str())),
            "event.type {t} is expected by none of {cats:?}"
        );
    }
    for o in strs(doc, "event.outcome") {
        assert!(
            ["success", "failure", "unknown"].contains(&o.as_str()),
            "{o}"
        );
    }
    for t in strs(doc, "network.transport") {
        assert_eq!(t, t.to_ascii_lowercase());
    }
    for t in strs(doc, "network.protocol") {
        assert_eq!(t, t.to_ascii_lowercase());
    }
    for f in strs(doc, "dns.header_flags") {
        assert!(
            ["AA", "TC", "RD", "RA", "AD", "CD", "DO"].contains(&f.as_str()),
            "{f}"
        );
    }
    // the `reference` fields of ECS are URLs
    for (path, v) in &by_path {
        if path.ends_with(".reference") {
            for x in scalars(v) {
                let u = x.as_str().unwrap_or("");
                assert!(
                    u.starts_with("https://") || u.starts_with("http://"),
                    "{path}: {u}"
                );
            }
        }
    }
    for t in strs(doc, "dns.type") {
        assert!(["answer", "query"].contains(&t.as_str()), "{t}");
    }
    let v = doc["ecs"]["version"].as_str().unwrap();
    assert_eq!(
        v.split('.').filter(|p| p.parse::<u32>().is_ok()).count(),
        3,
        "{v}"
    );
    by_path
}

fn is_technique(t: &str, sub: bool) -> bool {
    let (main, rest) = t.split_at(t.len().min(5));
    let ok =
        main.len() == 5 && main.starts_with('T') && main[1..].bytes().all(|b| b.is_ascii_digit());
    if sub {
        ok && rest.len() == 4
            && rest.starts_with('.')
            && rest[1..].bytes().all(|b| b.is_ascii_digit())
    } else {
        ok && rest.is_empty()
    }
}

#[test]
fn ecs_of_every_lab_alert_is_ecs_field_by_field() {
    let mut all = all_alerts();
    // an alert with no source at all, and one from an IPv4 source with no targets
    let mut bare = hostile_alert();
    bare.source = Source::default();
    bare.targets = Default::default();
    bare.target_count = None;
    bare.mdi_id = None;
    all.push(bare);
    for a in &all {
        let doc = ecs_alert(a, "lab-sensor");
        let f = check_ecs(&doc);
        assert_eq!(doc["event"]["kind"], "alert");
        assert!((rfc3339(doc["@timestamp"].as_str().unwrap(), 9).unwrap() - a.ts).abs() < 1e-5);
        assert!(
            (rfc3339(doc["event"]["end"].as_str().unwrap(), 9).unwrap() - a.last_ts).abs() < 1e-5
        );
        assert_eq!(doc["event"]["id"], a.id.as_str());
        assert_eq!(doc["rule"]["id"], &*a.detection);
        assert_eq!(doc["rule"]["name"], &*a.title);
        assert_eq!(doc["message"], a.summary.as_str());
        let sev = doc["event"]["severity"].as_u64().unwrap();
        assert!((1..=10).contains(&sev));
        let risk = doc["event"]["risk_score"].as_f64().unwrap();
        assert!((0.0..=100.0).contains(&risk));
        assert_eq!(doc["threat"]["framework"], "MITRE ATT&CK");
        let techniques = strs(&doc, "threat.technique.id");
        assert!(!techniques.is_empty());
        for t in &techniques {
            assert!(is_technique(t, false), "technique {t}");
        }
        for t in strs(&doc, "threat.technique.subtechnique.id") {
            assert!(is_technique(&t, true), "sub-technique {t}");
            assert!(
                techniques.contains(&t[..5].to_string()),
                "{t} without its technique"
            );
        }
        for id in &a.attack {
            let main = &id[..5];
            assert!(techniques.iter().any(|t| t == main), "{id} not in threat");
        }
        for r in strs(&doc, "threat.technique.reference") {
            assert!(
                r.starts_with("https://attack.mitre.org/techniques/T"),
                "{r}"
            );
        }
        for t in strs(&doc, "threat.tactic.id") {
            assert!(
                t.len() == 6 && t.starts_with("TA") && t[2..].bytes().all(|b| b.is_ascii_digit()),
                "{t}"
            );
        }
        assert_eq!(
            f.get("source.ip")
                .and_then(Value::as_str)
                .map(|s| s.parse::<IpAddr>().unwrap()),
            a.source.ip.as_deref().map(|s| s.parse::<IpAddr>().unwrap())
        );
        assert_eq!(
            f.get("user.name").and_then(Value::as_str),
            a.source.user.as_deref()
        );
        assert_eq!(
            f.get("user.target.name").and_then(Value::as_str),
            a.targets.first().map(String::as_str)
        );
        for ip in strs(&doc, "related.ip") {
            ip.parse::<IpAddr>().unwrap();
        }
        // the alert itself, unchanged, under the custom namespace
        let back: Alert = serde_json::from_value(doc["dcsensor"].clone()).unwrap();
        assert_eq!(&back, a);
    }
}

#[test]
fn ecs_of_records_of_every_type_is_ecs_field_by_field() {
    let (recs, _) = lab();
    let stats = Rec::from_json(r#"{"ts":1795886861.5,"type":"stats","packets":10}"#).unwrap();
    let alert_rec =
        Rec::from_json(r#"{"ts":1795886861.5,"type":"alert","src":"10.0.0.9"}"#).unwrap();
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for r in recs.iter().chain([&stats, &alert_rec]) {
        let doc = ecs_record(r, serde_json::to_value(r).unwrap(), "lab-sensor");
        let f = check_ecs(&doc);
        *kinds.entry(r.kind.clone()).or_default() += 1;
        let kind = doc["event"]["kind"].as_str().unwrap();
        let want = match r.kind.as_str() {
            "stats" => "metric",
            "alert" => "alert",
            _ => "event",
        };
        assert_eq!(kind, want, "{}", r.kind);
        assert!((rfc3339(doc["@timestamp"].as_str().unwrap(), 9).unwrap() - r.ts).abs() < 1e-5);
        assert_eq!(
            f.get("source.ip")
                .and_then(Value::as_str)
                .map(|s| s.parse::<IpAddr>().unwrap()),
            r.src
        );
        assert_eq!(
            f.get("destination.ip")
                .and_then(Value::as_str)
                .map(|s| s.parse::<IpAddr>().unwrap()),
            r.dst
        );
        assert_eq!(
            f.get("source.port").and_then(Value::as_u64),
            r.sport.map(u64::from)
        );
        assert_eq!(
            f.get("destination.port").and_then(Value::as_u64),
            r.dport.map(u64::from)
        );
        assert_eq!(
            f.get("network.transport").and_then(Value::as_str),
            r.proto.as_deref()
        );
        assert_eq!(doc["event"]["dataset"], format!("dcsensor.{}", r.kind));
        if r.kind == "dns" {
            assert_eq!(
                f.get("dns.question.name").and_then(Value::as_str),
                r.query.as_deref()
            );
            let resolved = strs(&doc, "dns.resolved_ip");
            for a in &r.answers {
                if a.parse::<IpAddr>().is_ok() {
                    assert!(resolved.contains(a), "{a} not in dns.resolved_ip");
                }
            }
        }
        // the record itself, unchanged, under the custom namespace
        let back: Rec = serde_json::from_value(doc["dcsensor"].clone()).unwrap();
        assert_eq!(&back, r);
    }
    for k in [
        "kerberos", "ntlm", "dns", "dcerpc", "smb", "ldap", "stats", "alert",
    ] {
        assert!(
            kinds.get(k).copied().unwrap_or(0) > 0,
            "no {k} record: {kinds:?}"
        );
    }
}

#[test]
fn iso8601_agrees_with_an_independent_calendar() {
    for ts in [
        0.0,
        951782400.25,
        1709164800.999999,
        1795886861.46801,
        4102444799.5,
    ] {
        let s = iso8601(ts);
        let back = rfc3339(&s, 6).unwrap_or_else(|| panic!("{s}"));
        assert!((back - ts).abs() < 1e-6, "{ts} -> {s} -> {back}");
    }
}

/// Whether `k` is one of CEF's custom extension keys (each goes with a `<key>Label`).
fn is_custom_key(k: &str) -> bool {
    matches!(
        k,
        "cs1"
            | "cs2"
            | "cs3"
            | "cs4"
            | "cs5"
            | "cs6"
            | "cn1"
            | "cn2"
            | "cn3"
            | "c6a1"
            | "c6a2"
            | "c6a3"
            | "c6a4"
    )
}
