//! The evidence budget (`max_evidence_bytes`, [`super::evidence`]) and the target names' budget
//! (`max_target_bytes`) on crafted records, and the evidence records' JSON kept for emissions
//! (written byte for byte as the records are).

use super::alert::Ev;
use super::evidence::{held_bytes, min_budget, trimmed_bytes};
use super::*;
use std::fmt::Write;

const WS: &str = "10.1.0.50";
const DC: &str = "10.1.0.1";

/// A DRSGetNCChanges call from a workstation whose `args` are empty lists filling about
/// `bytes` of its line (held as JSON values: about 50 times the line).
fn big_args(ts: f64, bytes: usize) -> String {
    let mut args = String::new();
    let mut i = 0;
    while args.len() < bytes {
        let _ = write!(args, "{}\"{i:x}\":[[],[],[]]", if i > 0 { "," } else { "" });
        i += 1;
    }
    format!(
        r#"{{"ts":{ts},"type":"dcerpc","src":"{WS}","sport":50000,"dst":"{DC}","dport":445,"proto":"tcp","interface":"drsuapi","operation":"DRSGetNCChanges","args":{{{args}}}}}"#
    )
}

/// A Kerberos AS-REQ for a honeytoken whose `kdc_options` are empty strings filling about
/// `bytes` of its line (about 16 times the line as held).
fn wide_list(ts: f64, bytes: usize) -> String {
    let n = bytes / 3;
    let list = vec!["\"\""; n].join(",");
    format!(
        r#"{{"ts":{ts},"type":"kerberos","src":"{WS}","sport":50001,"dst":"{DC}","dport":88,"proto":"tcp","request":"AS-REQ","client":"decoy","realm":"LAB.TEST","kdc_options":[{list}]}}"#
    )
}

/// The crafted file: 40 calls and 40 requests, each line near the default `max_record_bytes`,
/// with a few ordinary ones first.
fn crafted() -> String {
    let mut s = String::new();
    for i in 0..3 {
        s.push_str(&big_args(1.0 + i as f64, 10));
        s.push('\n');
        s.push_str(&wide_list(1.5 + i as f64, 3));
        s.push('\n');
    }
    for i in 0..40 {
        s.push_str(&big_args(10.0 + i as f64, 7900));
        s.push('\n');
        s.push_str(&wide_list(10.5 + i as f64, 7900));
        s.push('\n');
    }
    s
}

/// Reads `input` with `tuning`; returns the detector (its engine still holding its state) and
/// every alert written.
fn detect(tuning: &str, input: &str) -> (run::Detector, Vec<Alert>) {
    let t = Tuning::from_toml(&format!(
        "[detect]\ndomain_controllers = [\"{DC}\"]\nhoneytokens = [\"decoy\"]\n{tuning}"
    ))
    .unwrap();
    let out = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    struct W(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
    impl std::io::Write for W {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut d = run::Detector::new(
        Engine::new(t),
        Box::new(W(out.clone())),
        run::Format::Json,
        false,
        "t",
    );
    d.json_lines(input.as_bytes(), "crafted").unwrap();
    d.flush().unwrap();
    let text = String::from_utf8(out.lock().unwrap().clone()).unwrap();
    let alerts = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("an alert"))
        .collect();
    (d, alerts)
}

/// Reads `input` with the default tuning, checking that its `lines` lines are each within
/// `max_record_bytes` and all read.
fn detect_whole(input: &str, lines: u64) -> (run::Detector, Vec<Alert>) {
    assert!(
        input.lines().all(|l| l.len() <= 8192),
        "lines the default reader takes"
    );
    let (d, alerts) = detect("", input);
    assert_eq!(d.read, lines);
    (d, alerts)
}

/// Bytes of evidence held by each list of the engine: every open alert's and every tally's.
fn lists(e: &Engine) -> Vec<usize> {
    let alerts = e
        .alerts
        .values()
        .map(|o| o.alert.evidence.iter().map(|r| held_bytes(r)).sum());
    let tallies = e
        .tables
        .iter()
        .flat_map(|t| t.values())
        .map(|t| t.evidence.iter().map(|r| held_bytes(r)).sum());
    alerts.chain(tallies).collect()
}

#[test]
fn crafted_records_keep_evidence_within_max_evidence_bytes_and_alerts_name_all_of_it() {
    let input = crafted();
    let (d, alerts) = detect_whole(&input, 86);
    let budget = Tuning::default().max_evidence_bytes;
    let held = lists(&d.engine);
    assert!(!held.is_empty());
    for h in &held {
        assert!(*h <= budget, "a list holds {h} bytes, over {budget}");
    }
    for det in ["dcsync", "honeytoken_activity"] {
        let a = alerts.iter().rfind(|a| a.detection == det).unwrap();
        // every evidence record is still named: time, type, addresses and ports
        assert_eq!(a.evidence.len(), MAX_EVIDENCE, "{det}");
        for r in a.evidence.iter() {
            assert!(r.ts > 0.0 && r.src.is_some() && r.dst.is_some() && r.dport.is_some());
            assert!(r.kind == "dcerpc" || r.kind == "kerberos");
        }
        // the first ones whole, the last `evidence_trimmed` trimmed
        let t = a.evidence_trimmed as usize;
        assert!(t > 0 && t < MAX_EVIDENCE, "{det}: {t} trimmed");
        let whole = a.evidence.len() - t;
        for r in &a.evidence[..whole] {
            assert!(
                r.args.is_some() || !r.kdc_options.is_empty(),
                "{det}: whole"
            );
        }
        for r in &a.evidence[whole..] {
            assert!(r.args.is_none() && r.kdc_options.is_empty() && r.client.is_none());
            assert!(held_bytes(r) <= trimmed_bytes());
        }
        assert_eq!(a.count, 43, "{det}: every record counted");
    }
    let c = d.engine.counters();
    assert!(c.evidence_trimmed >= 2, "{c:?}");

    // without the budget, the same file holds far more: the budget is what bounds it
    let (d, alerts) = detect("max_evidence_bytes = 4000000000\n", &input);
    let most = lists(&d.engine).into_iter().max().unwrap();
    assert!(
        most > 4 * budget,
        "{most} bytes in one list without the budget"
    );
    assert!(alerts.iter().all(|a| a.evidence_trimmed == 0));
    assert_eq!(d.engine.counters().evidence_trimmed, 0);
}

#[test]
fn records_shaped_like_the_sensors_fit_the_default_budget_whole() {
    // 32 records of the bench capture's longest text (951 bytes) with a list of 8 names fit;
    // the README's extreme shape (lists of 64) costs about twice as much: a list of those is
    // trimmed after about 20
    let shaped = |n: usize| {
        super::tests::rec(serde_json::json!({
            "ts": 1.0, "type": "ldap", "src": WS, "dst": DC, "sport": 50000, "dport": 389,
            "op": "search", "base": "DC=lab,DC=test", "filter": "x".repeat(951 - 14),
            "attributes": vec!["member"; n],
        }))
    };
    let budget = Tuning::default().max_evidence_bytes;
    let cost = held_bytes(&shaped(8));
    assert!(cost > std::mem::size_of::<Rec>() + 951, "{cost}");
    assert!(32 * cost <= budget, "{cost}");
    let wide = held_bytes(&shaped(64));
    assert!(32 * wide > budget && 16 * wide < budget, "{wide}");
    assert!(min_budget() <= budget);
    // a budget below the least is raised to it
    let t = Tuning::from_toml("[detect]\nmax_evidence_bytes = 10\n").unwrap();
    assert_eq!(t.max_evidence_bytes, min_budget());
}

#[test]
fn evidence_json_is_written_once_and_byte_for_byte_as_the_record() {
    let r = super::tests::rec(serde_json::json!({
        "ts": 1795886861.123456, "type": "dcerpc", "src": WS, "dst": DC, "sport": 1, "dport": 445,
        "operation": "NetrShareEnum", "stub_bytes": 12,
        "args": {"z": 1, "a": [1, "two", null, {"x": -3.5}], "m": "q\"\\\u{1}é"},
    }));
    let want = serde_json::to_string(&r).unwrap();
    let ev = Ev::new(std::sync::Arc::new(r.clone()));
    assert_eq!(serde_json::to_string(&ev).unwrap(), want);
    // again, from the kept text
    assert_eq!(serde_json::to_string(&ev).unwrap(), want);
    // as a value (ECS) and in MessagePack (batches of alerts), as the record
    assert_eq!(
        serde_json::to_value(&ev).unwrap(),
        serde_json::to_value(&r).unwrap()
    );
    assert_eq!(
        rmp_serde::to_vec_named(&ev).unwrap(),
        rmp_serde::to_vec_named(&r).unwrap()
    );
    // a copy of the list shares the text
    let copy = ev.clone();
    assert_eq!(serde_json::to_string(&copy).unwrap(), want);
}

/// Kerberos AS-REQs answered "principal unknown" for 80 names of `len` bytes each (made of
/// `fill`), one a second from `t0`.
fn long_names(len: usize, fill: &str, t0: f64) -> String {
    let mut s = String::new();
    for i in 0..80 {
        let name = format!("{i:02}{}", fill.repeat(len - 2));
        let _ = writeln!(
            s,
            r#"{{"ts":{},"type":"kerberos","src":"{WS}","sport":50002,"dst":"{DC}","dport":88,"proto":"tcp","request":"AS-REQ","client":"{name}","realm":"LAB.TEST","error":"KDC_ERR_C_PRINCIPAL_UNKNOWN"}}"#,
            t0 + i as f64
        );
    }
    s
}

/// Bytes of target names held by each list of the engine: every open alert's and every tally's.
fn target_lists(e: &Engine) -> Vec<usize> {
    let alerts = e
        .alerts
        .values()
        .map(|o| o.alert.targets.iter().map(String::len).sum());
    let tallies = e
        .tables
        .iter()
        .flat_map(|t| t.values())
        .map(|t| t.targets.iter().map(String::len).sum());
    alerts.chain(tallies).collect()
}

#[test]
fn long_target_names_keep_within_max_target_bytes_and_are_still_counted() {
    let input = long_names(4000, "n", 10.0);
    let (d, alerts) = detect_whole(&input, 80);
    let cap = Tuning::default().max_target_bytes;
    let held = target_lists(&d.engine);
    assert!(held.iter().any(|&h| h > 0));
    for h in &held {
        assert!(*h <= cap, "a list holds {h} bytes of names, over {cap}");
    }
    let a = alerts
        .iter()
        .rfind(|a| a.detection == "account_enumeration")
        .expect("the enumeration is raised");
    // the names kept are whole, the first ones; every name is still counted
    assert_eq!(a.targets.len(), cap / 4000);
    assert!(a.targets.iter().all(|t| t.len() == 4000));
    assert_eq!(a.target_count, Some(80));
    assert_eq!(a.count, 80);
    // the tally drops each name beyond the first four; the alert keeps what the tally kept
    assert_eq!(d.engine.counters().targets_dropped, 76);

    // without the cap, the same file holds far more: the cap is what bounds it
    let (d, alerts) = detect("max_target_bytes = 4000000000\n", &input);
    let most = target_lists(&d.engine).into_iter().max().unwrap();
    assert!(
        most > 10 * cap,
        "{most} bytes of names in one list without the cap"
    );
    let a = alerts
        .iter()
        .rfind(|a| a.detection == "account_enumeration")
        .unwrap();
    assert_eq!(a.targets.len(), alert::MAX_TARGETS);
    assert_eq!(d.engine.counters().targets_dropped, 0);

    // an alert's own list keeps to the cap too when its names come from several windows
    let two = long_names(3000, "n", 10.0) + &long_names(3000, "m", 5000.0);
    let (d, alerts) = detect("", &two);
    let a = alerts
        .iter()
        .rfind(|a| a.detection == "account_enumeration")
        .unwrap();
    let bytes: usize = a.targets.iter().map(String::len).sum();
    assert!(bytes <= cap && a.targets.len() == cap / 3000, "{bytes}");
    // (75 names dropped by each window's tally, the second window's five by the alert)
    assert_eq!(d.engine.counters().targets_dropped, 2 * 75 + 5);

    // a cap below the least is raised to it
    let t = Tuning::from_toml("[detect]\nmax_target_bytes = 10\n").unwrap();
    assert_eq!(t.max_target_bytes, config::MIN_TARGET_BYTES);
}

/// Texts an escaper gets wrong: quotes, backslashes, every control character, DEL, non-ASCII of
/// every length, line and paragraph separators, and the empty text.
fn awkward_texts() -> Vec<String> {
    let mut v: Vec<String> = [
        "",
        "plain",
        "\"quoted\"",
        "C:\\Windows\\System32",
        "tab\there\nnew\rline\u{8}\u{c}\u{b}",
        "\u{7f}é東京🔑\u{2028}\u{2029}",
        "/slash/ is not escaped",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for c in 0u8..0x20 {
        v.push(format!("x{}y\"z\\", char::from(c)));
    }
    // one character to escape at every place of texts longer than the widest vector
    for c in ['"', '\\', '\u{0}', '\u{1f}'] {
        for at in 0..70 {
            v.push(format!("{}{c}{}", "a".repeat(at), "é".repeat(at % 7)));
        }
    }
    v
}

/// An alert with every field set from `t` (lists of `n` items).
fn alert_of(t: &str, n: usize, ts: f64) -> Alert {
    // (a record's time is finite: JSON has no other)
    let rec_ts = if ts.is_finite() { ts } else { 1.0 };
    let r = super::tests::rec(serde_json::json!({
        "ts": rec_ts, "type": "dcerpc", "src": WS, "dst": DC, "sport": 1, "dport": 445,
        "operation": t, "named_pipe": t, "args": {"k": t, "l": [t, 1, null]},
    }));
    let list = |k: &str| (0..n).map(|i| format!("{k}{i}{t}")).collect::<Vec<_>>();
    Alert {
        ts,
        kind: "alert".into(),
        last_ts: ts + 1.5,
        id: t.to_string(),
        detection: t.to_string().into(),
        title: t.to_string().into(),
        mdi_id: Some(2410),
        attack: list("T")
            .into_iter()
            .map(super::alert::Text::from)
            .collect::<Vec<_>>()
            .into(),
        phase: t.to_string().into(),
        severity: t.to_string().into(),
        source: Source {
            ip: Some(t.to_string()),
            host: Some(t.to_string()),
            host_by: Some(t.to_string()),
            user: Some(t.to_string()),
        },
        targets: list("target").into(),
        target_count: Some(u64::MAX),
        summary: t.repeat(3),
        evidence: (0..n)
            .map(|_| std::sync::Arc::new(r.clone()))
            .collect::<Vec<_>>()
            .into(),
        evidence_trimmed: 3,
        count: 7,
        sensors: list("sensor").into(),
    }
}

/// `a` written by hand, twice (the second time from the evidence's kept text), is serde_json's
/// text for it.
fn check_alert(a: &Alert) {
    // (a copy made before any text is kept writes its records first)
    let fresh = a.clone();
    let want = serde_json::to_string(a).unwrap();
    for _ in 0..2 {
        let mut mine = Vec::new();
        fresh.write_json(&mut mine);
        assert_eq!(String::from_utf8(mine).unwrap(), want, "{a:?}");
    }
}

#[test]
fn alerts_are_written_by_hand_as_serde_json_writes_them() {
    for t in awkward_texts() {
        for n in [0, 1, 3] {
            let a = alert_of(&t, n, 1795886861.123456);
            check_alert(&a);
            // every field that may be absent, absent; no source at all
            check_alert(&Alert {
                mdi_id: None,
                target_count: None,
                evidence_trimmed: 0,
                source: Source::default(),
                ..a.clone()
            });
            // each part of the source alone
            for i in 0..4 {
                let mut s = Source::default();
                *[&mut s.ip, &mut s.host, &mut s.host_by, &mut s.user][i] = Some(t.clone());
                check_alert(&Alert {
                    source: s,
                    ..a.clone()
                });
            }
        }
    }
    // times of every kind (serde_json writes a float that is not finite as null)
    for ts in [
        0.0,
        -0.0,
        0.1,
        1e-7,
        1e21,
        -1704067230.5,
        f64::NAN,
        f64::INFINITY,
    ] {
        check_alert(&alert_of("x", 1, ts));
    }
    // evidence records whose text is not kept (longer than what the record holds) and those
    // of an alert read back (owned text)
    let long = "\u{1}".repeat(2000);
    let mut a = alert_of(&long, 2, 5.0);
    check_alert(&a);
    assert!(!a.evidence[0].kept());
    a = serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
    check_alert(&a);
}

#[test]
fn evidence_text_is_kept_only_while_no_longer_than_the_record_holds() {
    let ev = |t: &str| {
        let r = super::tests::rec(serde_json::json!({
            "ts": 1.5, "type": "dcerpc", "src": WS, "dst": DC, "operation": t,
        }));
        let (held, len) = (held_bytes(&r), serde_json::to_string(&r).unwrap().len());
        let a = Alert {
            evidence: vec![std::sync::Arc::new(r)].into(),
            ..alert_of("x", 0, 1.0)
        };
        a.write_json(&mut Vec::new());
        (a.evidence[0].clone(), held, len)
    };
    // short: kept
    let (e, held, len) = ev("NetrShareEnum");
    assert!(e.kept() && len <= held);
    // longer than the record's struct but not than what it holds: kept
    let (e, held, len) = ev(&"a".repeat(3000));
    assert!(
        len > std::mem::size_of::<Rec>() && len <= held,
        "{len} {held}"
    );
    assert!(e.kept());
    // longer than what it holds (each control character written as six bytes): not kept
    let (e, held, len) = ev(&"\u{1}".repeat(1000));
    assert!(len > held, "{len} {held}");
    assert!(!e.kept());
}
