//! Alerts and records in the forms security teams ingest: Elastic Common Schema documents
//! ([`ecs_alert`], [`ecs_record`]) and ArcSight Common Event Format lines in syslog
//! ([`cef_alert`], [`syslog_line`]). The field mapping is documented in the README ("Alert
//! formats"); the tests check it field by field against the two specifications.

use super::alert::Alert;
use super::input::Rec;
use serde_json::{json, Map, Value};

/// The ECS version the documents follow.
pub const ECS_VERSION: &str = "8.11.0";

/// `1795886861.46801` as `2026-11-28T13:27:41.468010Z` (RFC 3339, UTC, microseconds).
pub fn iso8601(ts: f64) -> String {
    let micros = (ts * 1e6).round() as i64;
    let secs = micros.div_euclid(1_000_000);
    let us = micros.rem_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{us:06}Z",
        sod / 3600,
        (sod / 60) % 60,
        sod % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// ECS `event.severity` and CEF severity (0-10) of an alert severity.
pub fn severity_number(s: &str) -> u8 {
    match s {
        "low" => 3,
        "medium" => 5,
        _ => 8,
    }
}

/// The ECS `threat.tactic` of a kill-chain phase: (ATT&CK tactic id, name).
fn tactic(phase: &str) -> Option<(&'static str, &'static str)> {
    Some(match phase {
        "reconnaissance" => ("TA0007", "Discovery"),
        "credential_access" => ("TA0006", "Credential Access"),
        "lateral_movement" => ("TA0008", "Lateral Movement"),
        "persistence" => ("TA0003", "Persistence"),
        "privilege_escalation" => ("TA0004", "Privilege Escalation"),
        "domain_dominance" => ("TA0003", "Persistence"),
        "exfiltration" => ("TA0010", "Exfiltration"),
        _ => return None,
    })
}

/// The ATT&CK page of a technique or sub-technique (`T1558.003` -> `.../techniques/T1558/003/`).
fn attack_url(id: &str) -> String {
    format!(
        "https://attack.mitre.org/techniques/{}/",
        id.replace('.', "/")
    )
}

fn put(m: &mut Map<String, Value>, path: &str, v: Value) {
    let mut cur = m;
    let mut parts = path.split('.').peekable();
    while let Some(p) = parts.next() {
        if parts.peek().is_none() {
            cur.insert(p.to_string(), v);
            return;
        }
        let next = cur
            .entry(p.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if !next.is_object() {
            *next = Value::Object(Map::new());
        }
        cur = next.as_object_mut().expect("object");
    }
}

fn put_opt<T: Into<Value>>(m: &mut Map<String, Value>, path: &str, v: Option<T>) {
    if let Some(v) = v {
        put(m, path, v.into());
    }
}

/// An alert as an ECS document (`event.kind: alert`).
pub fn ecs_alert(a: &Alert, observer: &str) -> Value {
    let mut m = Map::new();
    put(&mut m, "@timestamp", iso8601(a.ts).into());
    put(&mut m, "ecs.version", ECS_VERSION.into());
    put(&mut m, "event.kind", "alert".into());
    // `indicator` is for threat-intelligence indicators (category `threat`); an IDS alert is
    // `intrusion_detection` (and `network`: it comes from traffic) of type `info`, expected by both
    put(
        &mut m,
        "event.category",
        json!(["intrusion_detection", "network"]),
    );
    put(&mut m, "event.type", json!(["info"]));
    put(&mut m, "event.module", "dcsensor".into());
    put(&mut m, "event.dataset", "dcsensor.alert".into());
    put(&mut m, "event.id", a.id.clone().into());
    put(&mut m, "event.action", a.detection.clone().into());
    put(&mut m, "event.start", iso8601(a.ts).into());
    put(&mut m, "event.end", iso8601(a.last_ts).into());
    put(
        &mut m,
        "event.severity",
        severity_number(&a.severity).into(),
    );
    put(
        &mut m,
        "event.risk_score",
        (severity_number(&a.severity) as u64 * 10).into(),
    );
    put(&mut m, "message", a.summary.clone().into());
    put(&mut m, "rule.name", a.title.clone().into());
    put(&mut m, "rule.id", a.detection.clone().into());
    put(&mut m, "rule.category", a.phase.clone().into());
    put(&mut m, "rule.ruleset", "dcsensor".into());
    // (`rule.reference` is a URL in ECS; the MDI id stays in `dcsensor.mdi_id`)
    put(&mut m, "threat.framework", "MITRE ATT&CK".into());
    let mut techniques: Vec<&str> = Vec::new();
    for t in &a.attack {
        let t = t.split('.').next().unwrap_or(t);
        if !techniques.contains(&t) {
            techniques.push(t);
        }
    }
    put(&mut m, "threat.technique.id", json!(techniques));
    put(
        &mut m,
        "threat.technique.reference",
        json!(techniques.iter().map(|t| attack_url(t)).collect::<Vec<_>>()),
    );
    let subs: Vec<&str> = a
        .attack
        .iter()
        .map(|t| &**t)
        .filter(|t| t.contains('.'))
        .collect();
    if !subs.is_empty() {
        put(&mut m, "threat.technique.subtechnique.id", json!(subs));
        put(
            &mut m,
            "threat.technique.subtechnique.reference",
            json!(subs.iter().map(|t| attack_url(t)).collect::<Vec<_>>()),
        );
    }
    if let Some((id, name)) = tactic(&a.phase) {
        put(&mut m, "threat.tactic.id", json!([id]));
        put(&mut m, "threat.tactic.name", json!([name]));
    }
    put_opt(&mut m, "source.ip", a.source.ip.clone());
    put_opt(&mut m, "source.domain", a.source.host.clone());
    put_opt(&mut m, "user.name", a.source.user.clone());
    if !a.targets.is_empty() {
        put(&mut m, "user.target.name", a.targets[0].clone().into());
    }
    put(&mut m, "observer.product", "dcsensor".into());
    put(&mut m, "observer.vendor", "dcsensor".into());
    put(&mut m, "observer.type", "ids".into());
    put(&mut m, "observer.name", observer.into());
    let mut related_ip: Vec<String> = a.source.ip.iter().cloned().collect();
    let mut related_user: Vec<String> = a.source.user.iter().cloned().collect();
    for e in &a.evidence {
        for ip in [e.src, e.dst].into_iter().flatten() {
            let s = ip.to_string();
            if !related_ip.contains(&s) {
                related_ip.push(s);
            }
        }
        for u in [&e.client, &e.user].into_iter().flatten() {
            if !related_user.contains(u) {
                related_user.push(u.clone());
            }
        }
    }
    if !related_ip.is_empty() {
        put(&mut m, "related.ip", json!(related_ip));
    }
    if !related_user.is_empty() {
        put(&mut m, "related.user", json!(related_user));
    }
    if let Some(h) = &a.source.host {
        put(&mut m, "related.hosts", json!([h]));
    }
    // the alert as dcsensor writes it, under its own namespace
    put(
        &mut m,
        "dcsensor",
        serde_json::to_value(a).unwrap_or(Value::Null),
    );
    Value::Object(m)
}

fn outcome(r: &Rec) -> Option<&'static str> {
    if let Some(s) = r.success {
        return Some(if s { "success" } else { "failure" });
    }
    if r.error.is_some() || r.fault.is_some() {
        return Some("failure");
    }
    if r.reply.is_some() || r.rcode.is_some() {
        return Some("success");
    }
    None
}

/// A record as an ECS document (`event.kind: event`); `record` is the record as it was read,
/// every field it had (the engine's [`Rec`] keeps only those it reads), put under `dcsensor`.
pub fn ecs_record(r: &Rec, record: Value, observer: &str) -> Value {
    let mut m = Map::new();
    put(&mut m, "@timestamp", iso8601(r.ts).into());
    put(&mut m, "ecs.version", ECS_VERSION.into());
    // the sensor's own health is a metric; an alert read back as a record is still an alert
    let kind = match r.kind.as_str() {
        "stats" => "metric",
        "alert" => "alert",
        _ => "event",
    };
    put(&mut m, "event.kind", kind.into());
    // every type is one ECS expects for at least one of the categories given with it
    let (category, typ): (&[&str], &[&str]) = match r.kind.as_str() {
        "kerberos" | "ntlm" => (&["authentication", "network"], &["start", "protocol"]),
        "dns" | "dcerpc" => (&["network"], &["protocol"]),
        "smb" => (&["network", "file"], &["access", "protocol"]),
        "ldap" => (&["network", "iam"], &["protocol", "info"]),
        "alert" => (&["intrusion_detection", "network"], &["info"]),
        _ => (&["network"], &["info"]),
    };
    put(&mut m, "event.category", json!(category));
    put(&mut m, "event.type", json!(typ));
    put(&mut m, "event.module", "dcsensor".into());
    put(
        &mut m,
        "event.dataset",
        format!("dcsensor.{}", r.kind).into(),
    );
    let action = r
        .request
        .clone()
        .or_else(|| r.operation.clone())
        .or_else(|| r.op.clone())
        .or_else(|| r.action.clone())
        .or_else(|| r.opcode.as_ref().map(|o| o.to_string()));
    put_opt(&mut m, "event.action", action);
    put_opt(&mut m, "event.outcome", outcome(r));
    put_opt(
        &mut m,
        "event.duration",
        r.rtt.map(|s| (s * 1e9).round() as u64),
    );
    put_opt(&mut m, "source.ip", r.src.map(|i| i.to_string()));
    put_opt(&mut m, "source.port", r.sport);
    put_opt(&mut m, "destination.ip", r.dst.map(|i| i.to_string()));
    put_opt(&mut m, "destination.port", r.dport);
    put_opt(&mut m, "network.transport", r.proto.clone());
    put(&mut m, "network.protocol", r.kind.clone().into());
    let user = r
        .client
        .clone()
        .or_else(|| r.user.clone())
        .or_else(|| r.name.clone());
    put_opt(&mut m, "user.name", user.clone());
    put_opt(
        &mut m,
        "user.domain",
        r.realm.clone().or_else(|| r.domain.clone()),
    );
    if r.kind == "ntlm" {
        put_opt(&mut m, "source.domain", r.workstation.clone());
    }
    if r.kind == "dns" {
        put_opt(&mut m, "dns.id", r.id.as_ref().map(|i| i.to_string()));
        put_opt(
            &mut m,
            "dns.op_code",
            r.opcode.as_ref().map(|i| i.to_string()),
        );
        put_opt(&mut m, "dns.question.name", r.query.clone());
        put_opt(
            &mut m,
            "dns.question.type",
            r.qtype.as_ref().map(|i| i.to_string()),
        );
        put_opt(
            &mut m,
            "dns.question.class",
            r.qclass.as_ref().map(|i| i.to_string()),
        );
        put_opt(
            &mut m,
            "dns.response_code",
            r.rcode.as_ref().map(|i| i.to_string()),
        );
        // ECS allows AA, TC, RD, RA, AD, CD and DO
        let flags: Vec<String> = r
            .flags
            .iter()
            .map(|f| f.to_ascii_uppercase())
            .filter(|f| ["AA", "TC", "RD", "RA", "AD", "CD", "DO"].contains(&f.as_str()))
            .collect();
        if !flags.is_empty() {
            put(&mut m, "dns.header_flags", json!(flags));
        }
        let resolved: Vec<String> = r
            .answers
            .iter()
            .filter_map(|a| a.parse::<std::net::IpAddr>().ok())
            .map(|ip| ip.to_string())
            .collect();
        if !resolved.is_empty() {
            put(&mut m, "dns.resolved_ip", json!(resolved));
        }
        if !r.answers.is_empty() {
            let ans: Vec<Value> = r
                .answers
                .iter()
                .enumerate()
                .map(|(i, d)| {
                    let mut a = json!({ "data": d });
                    if let Some(t) = r.ttls.get(i) {
                        a["ttl"] = json!(t);
                    }
                    a
                })
                .collect();
            put(&mut m, "dns.answers", Value::Array(ans));
            put(&mut m, "dns.type", "answer".into());
        } else {
            put(&mut m, "dns.type", "query".into());
        }
    }
    if r.kind == "smb" {
        put_opt(&mut m, "file.path", r.path.clone());
    }
    let mut related_ip = Vec::new();
    for ip in [r.src, r.dst].into_iter().flatten() {
        related_ip.push(ip.to_string());
    }
    if !related_ip.is_empty() {
        put(&mut m, "related.ip", json!(related_ip));
    }
    if let Some(u) = user {
        put(&mut m, "related.user", json!([u]));
    }
    put(&mut m, "observer.product", "dcsensor".into());
    put(&mut m, "observer.vendor", "dcsensor".into());
    put(&mut m, "observer.type", "sensor".into());
    put(&mut m, "observer.name", observer.into());
    put(&mut m, "dcsensor", record);
    Value::Object(m)
}

/// Escapes a CEF header field: `\` and `|`; line breaks become spaces.
pub fn cef_header_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => o.push_str("\\\\"),
            '|' => o.push_str("\\|"),
            '\r' | '\n' => o.push(' '),
            c if c.is_control() => {}
            c => o.push(c),
        }
    }
    o
}

/// Escapes a CEF extension value: `\`, `=`, and line breaks as `\n` / `\r`.
pub fn cef_value_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => o.push_str("\\\\"),
            '=' => o.push_str("\\="),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            c if c.is_control() => {}
            c => o.push(c),
        }
    }
    o
}

/// Truncates to at most `n` characters (the CEF lengths of the extension keys).
fn cap(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// The first evidence records as a JSON array of at most `max` characters: whole records only,
/// as many as fit (so the value is always valid JSON).
fn evidence_json(a: &Alert, max: usize) -> String {
    let mut out = String::from("[");
    for r in &a.evidence {
        let Ok(j) = serde_json::to_string(r) else {
            continue;
        };
        let sep = usize::from(out.len() > 1);
        if out.chars().count() + sep + j.chars().count() + 1 > max {
            break;
        }
        if sep == 1 {
            out.push(',');
        }
        out.push_str(&j);
    }
    out.push(']');
    out
}

/// An alert as a CEF line (without the syslog header). The mapping:
/// header: vendor `dcsensor`, product `dcsensor`, version, event class id = `detection`,
/// name = `title`, severity 3/5/8 for low/medium/high. Extension: `rt` and `start` = `ts`, `end`
/// = `last_ts` (milliseconds since the epoch), `externalId` = `id`, `cnt` = `count`, `msg` =
/// `summary`, `cat` = `phase`, `src` / `shost` / `suser` = `source.ip` / `host` / `user`,
/// `duser` = first target, `cs1` = ATT&CK ids (`attack`), `cs2` = targets (comma-separated),
/// `cs3` = `sensors`, `cs4` = `source.host_by`, `cs5` = evidence (a JSON array of the first
/// whole records that fit in 4000 characters),
/// `cn1` = `mdi_id`, `cn2` = `target_count` or the number of targets, `cn3` =
/// `evidence_trimmed` (when not 0, as in the JSON alert), `deviceExternalId` = the observer.
pub fn cef_alert(a: &Alert, observer: &str) -> String {
    let mut ext: Vec<(&str, String)> = Vec::new();
    let ms = |t: f64| format!("{}", (t * 1000.0).round() as i64);
    ext.push(("rt", ms(a.last_ts)));
    ext.push(("start", ms(a.ts)));
    ext.push(("end", ms(a.last_ts)));
    ext.push(("externalId", cap(&a.id, 40)));
    ext.push(("cnt", a.count.to_string()));
    ext.push(("cat", cap(&a.phase, 1023)));
    ext.push(("msg", cap(&a.summary, 1023)));
    if let Some(ip) = &a.source.ip {
        if ip.contains(':') {
            ext.push(("c6a2", ip.clone()));
            ext.push(("c6a2Label", "source IPv6 address".into()));
        } else {
            ext.push(("src", ip.clone()));
        }
    }
    if let Some(h) = &a.source.host {
        ext.push(("shost", cap(h, 1023)));
    }
    if let Some(u) = &a.source.user {
        ext.push(("suser", cap(u, 1023)));
    }
    if let Some(t) = a.targets.first() {
        ext.push(("duser", cap(t, 1023)));
    }
    ext.push(("cs1", cap(&a.attack.join(","), 4000)));
    ext.push(("cs1Label", "ATT&CK techniques".into()));
    if !a.targets.is_empty() {
        ext.push(("cs2", cap(&a.targets.join(","), 4000)));
        ext.push(("cs2Label", "targets".into()));
    }
    ext.push(("cs3", cap(&a.sensors.join(","), 4000)));
    ext.push(("cs3Label", "sensors".into()));
    if let Some(b) = &a.source.host_by {
        ext.push(("cs4", cap(b, 4000)));
        ext.push(("cs4Label", "host name resolved by".into()));
    }
    ext.push(("cs5", evidence_json(a, 4000)));
    ext.push(("cs5Label", "evidence".into()));
    if let Some(m) = a.mdi_id {
        ext.push(("cn1", m.to_string()));
        ext.push(("cn1Label", "MDI id".into()));
    }
    ext.push((
        "cn2",
        a.target_count.unwrap_or(a.targets.len() as u64).to_string(),
    ));
    ext.push(("cn2Label", "target count".into()));
    if a.evidence_trimmed > 0 {
        ext.push(("cn3", a.evidence_trimmed.to_string()));
        ext.push(("cn3Label", "evidence trimmed".into()));
    }
    ext.push(("deviceExternalId", cap(observer, 255)));
    let extension: Vec<String> = ext
        .into_iter()
        .map(|(k, v)| format!("{k}={}", cef_value_escape(&v)))
        .collect();
    format!(
        "CEF:0|dcsensor|dcsensor|{}|{}|{}|{}|{}",
        cef_header_escape(env!("CARGO_PKG_VERSION")),
        cef_header_escape(&a.detection),
        cef_header_escape(&a.title),
        severity_number(&a.severity),
        extension.join(" ")
    )
}

/// A syslog message (RFC 5424, facility local4 (20), severity by the alert: warning for low and
/// medium, error for high) carrying `msg`: `<PRI>1 TIMESTAMP HOST dcsensor - - - MSG`. A
/// message that is not plain ASCII is UTF-8 and starts with the byte order mark, as RFC 5424
/// (6.4) requires.
pub fn syslog_line(msg: &str, severity: &str, host: &str, ts: f64) -> String {
    let sev = if severity == "high" { 3 } else { 4 };
    let pri = 20 * 8 + sev;
    let host: String = host
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(255)
        .collect();
    let host = if host.is_empty() {
        "-".to_string()
    } else {
        host
    };
    let bom = if msg.is_ascii() { "" } else { "\u{feff}" };
    format!("<{pri}>1 {} {host} dcsensor - - - {bom}{msg}", iso8601(ts))
}
