//! Unit tests of the engine: the catalog, the configuration check, the record and alert shapes,
//! and each detection on records in the shape of RECORDS.md.

use super::*;
use serde_json::json;

/// A record from JSON (the shape the sensor writes).
pub(crate) fn rec(v: serde_json::Value) -> Rec {
    serde_json::from_value(v).expect("a record")
}

fn names(alerts: &[Alert]) -> Vec<&str> {
    alerts.iter().map(|a| &*a.detection).collect()
}

fn feed_all(e: &mut Engine, recs: &[Rec]) -> Vec<Alert> {
    let mut out = Vec::new();
    for r in recs {
        out.extend(e.feed("s1", &std::sync::Arc::new(r.clone())));
    }
    out.extend(e.flush());
    out
}

#[test]
fn catalog_order_matches_the_enum() {
    assert_eq!(catalog::CATALOG.len(), catalog::ALL.len());
    for (i, d) in catalog::ALL.iter().enumerate() {
        assert_eq!(*d as usize, i);
        assert_eq!(catalog::by_name(d.def().name), Some(*d));
        let n = d.def().name;
        assert!(n.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{n}");
        assert!([
            "reconnaissance",
            "credential_access",
            "lateral_movement",
            "persistence",
            "privilege_escalation",
            "domain_dominance",
            "exfiltration"
        ]
        .contains(&d.def().phase));
        assert!(["low", "medium", "high"].contains(&d.def().severity));
        assert!(!d.def().attack.is_empty());
        assert!(d.def().attack.iter().all(|t| t.starts_with('T')));
    }
}

#[test]
fn unknown_detection_or_threshold_is_refused_by_name() {
    let e = Tuning::from_toml("[detect.kerberoastin]\nenabled = false\n").unwrap_err();
    assert!(e.contains("unknown detection `kerberoastin`"), "{e}");
    let e = Tuning::from_toml("[detect.kerberoasting]\nservice = 3\n").unwrap_err();
    assert!(
        e.contains("unknown threshold `service` for detection `kerberoasting`"),
        "{e}"
    );
    assert!(e.contains("services"), "names the right ones: {e}");
    let e = Tuning::from_toml("[detect]\nbogus = 1\n").unwrap_err();
    assert!(e.contains("unknown setting `bogus`"), "{e}");
    let e = Tuning::from_toml("[detect]\nexclude_subnets = [\"10.0.0.0/33\"]\n").unwrap_err();
    assert!(e.contains("10.0.0.0/33"), "{e}");
}

#[test]
fn levels_lower_count_thresholds_and_explicit_values_win() {
    let t = Tuning::from_toml("[detect.kerberoasting]\nlevel = \"low\"\n[detect.brute_force]\nlevel = \"medium\"\nfailures = 7\n").unwrap();
    assert_eq!(t.value(D::Kerberoasting, "services"), 1.0);
    assert_eq!(t.value(D::Kerberoasting, "window"), 600.0, "durations stay");
    assert_eq!(t.value(D::BruteForce, "failures"), 7.0);
    let t = Tuning::from_toml("[detect.password_spray]\nlevel = \"medium\"\n").unwrap();
    assert_eq!(t.value(D::PasswordSpray, "accounts"), 3.0);
}

#[test]
fn records_read_alike_from_json_and_messagepack() {
    let v = json!({"ts": 10.5, "type": "dcerpc", "src": "10.0.0.2", "dst": "10.0.0.1", "interface": "netlogon",
        "operation": "NetrServerAuthenticate3", "args": {"account": "DC1$", "credential_zero": true}, "status": "STATUS_ACCESS_DENIED"});
    let r = rec(v.clone());
    let packed = rmp_serde::to_vec_named(&v).unwrap();
    let r2: Rec = rmp_serde::from_slice(&packed).unwrap();
    assert_eq!(r, r2);
    assert_eq!(r.arg_bool("credential_zero"), Some(true));
    assert_eq!(
        serde_json::to_value(&r).unwrap(),
        v,
        "absent fields stay absent; evidence reads as the record"
    );
    let back: Rec = rmp_serde::from_slice(&rmp_serde::to_vec_named(&r).unwrap()).unwrap();
    assert_eq!(back, r);
}

#[test]
fn in_process_records_read_as_their_wire_form() {
    let body = crate::record::Body::Ntlm(crate::record::Ntlm {
        user: Some("bob".into()),
        success: Some(false),
        ..Default::default()
    });
    let flow = crate::proto::FlowInfo {
        client: "10.0.0.2".parse().unwrap(),
        client_port: 5,
        server: "10.0.0.1".parse().unwrap(),
        server_port: 445,
        transport: crate::record::Transport::Tcp,
        tunnel: Default::default(),
    };
    let r = crate::record::Record::new(3 * crate::record::NS, Some(&flow), body);
    let got = Rec::from_record(&r).unwrap();
    let wire: Rec = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
    assert_eq!(got, wire);
    assert_eq!(got.user.as_deref(), Some("bob"));
    assert_eq!(got.src, Some("10.0.0.2".parse().unwrap()));
}

fn tgs(ts: f64, src: &str, service: &str) -> Rec {
    rec(
        json!({"ts": ts, "type": "kerberos", "src": src, "dst": "10.0.0.1", "request": "TGS-REQ", "client": "alice",
        "realm": "EXAMPLE.ORG", "service": service, "etypes": [23, 16, 3], "reply": "TGS-REP", "ticket_etype": 23}),
    )
}

#[test]
fn alert_has_the_fields_of_records_md_and_a_stable_id() {
    let mut e = Engine::new(Tuning::default());
    let recs: Vec<Rec> = (0..4)
        .map(|i| tgs(100.0 + i as f64, "10.0.0.9", &format!("svc{i}")))
        .collect();
    let alerts = feed_all(&mut e, &recs);
    assert_eq!(
        names(&alerts),
        ["kerberoasting", "kerberoasting"],
        "raised at 3, updated at flush"
    );
    let a = &alerts[1];
    let v = serde_json::to_value(a).unwrap();
    for k in [
        "ts",
        "type",
        "last_ts",
        "id",
        "detection",
        "title",
        "mdi_id",
        "attack",
        "phase",
        "severity",
        "source",
        "targets",
        "summary",
        "evidence",
        "count",
        "sensors",
    ] {
        assert!(v.get(k).is_some(), "alert lacks {k}: {v}");
    }
    assert_eq!(v["type"], "alert");
    assert_eq!(v["mdi_id"], 2410);
    assert_eq!(v["attack"], json!(["T1558.003"]));
    assert_eq!(v["source"]["ip"], "10.0.0.9");
    assert_eq!(v["source"]["user"], "alice");
    assert_eq!(a.count, 4);
    assert_eq!(a.evidence.len(), 4);
    assert_eq!(a.ts, 100.0);
    assert_eq!(a.last_ts, 103.0);
    assert_eq!(a.sensors, ["s1"]);
    assert_eq!(a.id, alerts[0].id, "an update keeps the id");
    assert!(a.summary.contains("4 services"), "{}", a.summary);
    let back: Alert = serde_json::from_value(v).unwrap();
    assert_eq!(&back, a);
    // the same input again gives the same alerts
    let mut e2 = Engine::new(Tuning::default());
    assert_eq!(feed_all(&mut e2, &recs), alerts);
}

#[test]
fn capped_table_evicts_and_counts() {
    let mut t: table::Capped<table::Tally> = table::Capped::new(100);
    let caps = table::Caps {
        max_distinct: 4096,
        max_target_bytes: usize::MAX,
        budget: usize::MAX,
    };
    for i in 0..1000 {
        let r = std::sync::Arc::new(rec(json!({"ts": i as f64, "type": "dns"})));
        t.entry(&format!("k{i}"), Default::default)
            .add(10.0, None, &r, 1, &caps, || 0);
    }
    assert!(t.len() <= 100);
    assert_eq!(t.evictions as usize + t.len(), 1000);
    assert!(t.get("k999").is_some(), "the newest stay");
}

#[test]
fn table_keys_write_addresses_as_display_does() {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    let mut ips: Vec<IpAddr> = Vec::new();
    for a in [0u8, 1, 9, 10, 99, 100, 199, 200, 255] {
        for b in [0u8, 7, 42, 255] {
            ips.push(IpAddr::V4(Ipv4Addr::new(a, b, 255 - b, a ^ b)));
        }
    }
    // every octet value in every place
    for o in 0..=255u8 {
        ips.push(IpAddr::V4(Ipv4Addr::new(o, 255 - o, o / 2, o ^ 0x5a)));
    }
    ips.push("::1".parse().unwrap());
    ips.push("fe80::1:2".parse().unwrap());
    ips.push(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 1, 0, 0, 1)));
    ips.push("::ffff:10.1.2.3".parse().unwrap());
    for ip in ips {
        let mut k = String::from("x");
        super::rules::push_ip(&mut k, Some(ip), "-");
        assert_eq!(k, format!("x{ip}"));
    }
    let mut k = String::new();
    super::rules::push_ip(&mut k, None, "-");
    assert_eq!(k, "-");
}

#[test]
fn the_example_configuration_holds_every_default() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/systemd/dcsensor.toml");
    let text = std::fs::read_to_string(path).unwrap();
    let section = config::example_section();
    if std::env::var("DCSENSOR_WRITE_EXAMPLE").is_ok() {
        let start = text.find("[detect]").unwrap_or(text.len());
        std::fs::write(path, format!("{}{section}", &text[..start])).unwrap();
        return;
    }
    assert!(text.ends_with(&section), "systemd/dcsensor.toml must end with config::example_section() (DCSENSOR_WRITE_EXAMPLE=1 cargo test --lib example writes it)");
    // and it reads back as the defaults
    let t = Tuning::from_toml(&section).unwrap();
    assert_eq!(t, Tuning::default());
    let whole = crate::daemon::config::Config::parse(&text, "example").unwrap();
    assert_eq!(whole.tuning().unwrap(), Tuning::default());
}

/// The sizes the README's bound on the engine's memory is computed from ("Detection speed",
/// memory): a change that makes them larger must redo the bound there.
#[test]
fn state_sizes_stay_within_the_documented_memory_bound() {
    use std::mem::size_of;
    let sizes = [
        ("Rec", size_of::<Rec>(), 1824),
        ("Tally", size_of::<table::Tally>(), 128),
        ("Alert", size_of::<Alert>(), 352),
        ("Ticket", size_of::<Ticket>(), 128),
    ];
    for (name, size, bound) in sizes {
        eprintln!("{name}: {size} bytes");
        assert!(
            size <= bound,
            "{name} is {size} bytes, over the {bound} the README counts"
        );
    }
    // the worst case of the README's table, from the default caps: about 1.3 GiB, evidence
    // bounded by max_evidence_bytes a list (an alert's with its JSON text, at most as much again)
    let t = Tuning::default();
    let name = 280; // a target or sensor name with its String
    let hashes = (t.max_distinct * 8 / 7).next_power_of_two() * 9; // hashbrown's buckets
    let tally = 128 + 300 + hashes + 64 * name + t.max_evidence_bytes;
    let alert = 2048 + 2 * t.max_evidence_bytes + 64 * name + 64 * 32;
    let others = 8 * t.max_entries * 1300;
    let total = t.max_tallies * tally + t.max_alerts * alert + others;
    eprintln!(
        "worst case with the defaults: {:.2} GiB, {} MiB (tally {tally} B, alert {alert} B)",
        total as f64 / (1u64 << 30) as f64,
        total >> 20
    );
    assert!(
        total < 1340 << 20,
        "the defaults allow {total} bytes, over the 1.3 GiB the README states"
    );
    assert!(
        t.max_record_bytes <= 8192,
        "the README counts records of at most 8 KiB of text"
    );
}

#[test]
fn json_lines_longer_than_max_record_bytes_are_skipped_and_counted() {
    let t = Tuning::from_toml("[detect]\nmax_record_bytes = 300\n").unwrap();
    assert_eq!(t.max_record_bytes, 300);
    let short = r#"{"ts":1.0,"type":"dns","src":"10.0.0.1","query":"a.example"}"#;
    let long = format!(
        r#"{{"ts":2.0,"type":"dns","src":"10.0.0.1","query":"{}"}}"#,
        "a".repeat(400)
    );
    let head = r#"{"ts":3.0,"type":"dns","src":"10.0.0.1","query":""#;
    let fits = format!("{head}{}\"}}", "b".repeat(300 - head.len() - 2));
    assert_eq!(fits.len(), 300);
    let input = format!("{short}\n{long}\nnot json\n{fits}\n{short}");
    let mut d = run::Detector::new(
        Engine::new(t),
        Box::new(std::io::sink()),
        run::Format::Json,
        false,
        "t",
    );
    d.json_lines(std::io::BufReader::with_capacity(64, input.as_bytes()), "x")
        .unwrap();
    assert_eq!(d.read, 3, "the short lines and the one at the cap are read");
    assert_eq!(d.skipped, 2, "the long line and the garbage line");
    assert_eq!(d.oversized, 1);
    // the default takes every record the sensor writes (an LDAP filter is at most 4 KiB)
    assert_eq!(Tuning::default().max_record_bytes, 8 * 1024);
}

#[test]
fn json_lines_that_are_not_text_are_skipped_not_fatal() {
    let mut input = b"{\"ts\":1.0,\"type\":\"dns\"}\n".to_vec();
    input.extend_from_slice(b"{\"ts\":1.0,\"type\":\"dns\",\"query\":\"\xff\xfe\"}\n");
    input.extend_from_slice(b"{\"ts\":2.0,\"type\":\"dns\"}\n");
    let mut d = run::Detector::new(
        Engine::new(Tuning::default()),
        Box::new(std::io::sink()),
        run::Format::Json,
        false,
        "t",
    );
    d.json_lines(&input[..], "x").unwrap();
    assert_eq!((d.read, d.skipped), (2, 1));
}
