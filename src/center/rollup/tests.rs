use super::*;
use crate::pipeline::{replay_to_vec, Options};
use std::path::PathBuf;

fn lab(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata-pcaps/lab")
        .join(name)
}

/// The records of a lab capture, read back from MessagePack as the center reads them.
fn activities(name: &str) -> Vec<Activity> {
    let r = replay_to_vec(&[lab(name)], &Options::default()).unwrap();
    r.records
        .iter()
        .map(|rec| rmp_serde::from_slice(&rmp_serde::to_vec_named(rec).unwrap()).unwrap())
        .collect()
}

fn tally(fx: &Effects, e: &EntityKey, metric: &str) -> Vec<(String, i64)> {
    let mut v: Vec<(String, i64)> = fx
        .activity
        .iter()
        .filter(|((k, _, m, _), _)| k == e && *m == metric)
        .map(|((_, _, _, d), n)| (d.clone(), *n))
        .collect();
    v.sort();
    v
}

#[test]
fn kerberos_then_ntlm_logons_roll_up_per_user() {
    let mut r = Rollup::default();
    let mut fx = Effects::default();
    for a in activities("01_benign_kerberos_logon.pcap") {
        r.apply("dc1", "dc1.lab.example", &a, &mut fx);
    }
    let alice = EntityKey::user("LAB.EXAMPLE", "alice");
    let bob = EntityKey::user("LAB.EXAMPLE", "bob");
    let logons = tally(&fx, &alice, "logon");
    assert_eq!(logons.len(), 1, "{logons:?}");
    assert!(logons[0].0.starts_with("kerberos/aes"), "{logons:?}");
    let services = tally(&fx, &alice, "service");
    assert!(
        services.iter().any(|(s, _)| s.starts_with("cifs/")),
        "{services:?}"
    );
    assert_eq!(
        tally(&fx, &bob, "failure"),
        [("kerberos/KDC_ERR_PREAUTH_FAILED".to_string(), 1)]
    );
    // PREAUTH_REQUIRED and RESPONSE_TOO_BIG are the protocol's normal steps, not failures.
    assert!(
        tally(&fx, &alice, "failure").is_empty(),
        "{:?}",
        tally(&fx, &alice, "failure")
    );

    // NTLM names the NetBIOS domain (LAB): the realm seen in Kerberos is used.
    let mut fx = Effects::default();
    for a in activities("03_benign_smb_ntlm.pcap") {
        r.apply("dc1", "dc1.lab.example", &a, &mut fx);
    }
    let ntlm = tally(&fx, &bob, "logon");
    assert!(
        ntlm.iter()
            .any(|(d, n)| d.starts_with("ntlm/NTLMv2") && *n >= 1),
        "{ntlm:?}; all: {:?}",
        fx.activity.keys().collect::<Vec<_>>()
    );
}

#[test]
fn stats_give_records_per_second_and_drops() {
    let mut r = Rollup::default();
    let mut fx = Effects::default();
    let mut s = Activity {
        kind: "stats".into(),
        ts: 100.0,
        records: Some(100),
        elapsed: Some(10.0),
        packets: Some(1000),
        drops: Some([("queue".to_string(), 2), ("kernel".to_string(), 3)].into()),
        ..Default::default()
    };
    r.apply("s1", "h1", &s, &mut fx);
    s.records = Some(400);
    s.elapsed = Some(20.0);
    s.ts = 110.0;
    r.apply("s1", "h1", &s, &mut fx);
    assert_eq!(fx.stats[0].records_per_s, 10.0);
    assert_eq!(fx.stats[1].records_per_s, 30.0);
    assert_eq!(fx.stats[1].drops, 5);
}

#[test]
fn hostile_strings_are_cut_and_odd_principals_skipped() {
    let mut r = Rollup::default();
    let mut fx = Effects::default();
    let long = "é".repeat(10_000);
    let a = Activity {
        kind: "kerberos".into(),
        request: Some("AS-REQ".into()),
        reply: Some("AS-REP".into()),
        client: Some(long.clone()),
        realm: Some("X.Y".into()),
        ..Default::default()
    };
    r.apply("s", "h", &a, &mut fx);
    let (k, _) = fx.entities.iter().next().unwrap();
    assert!(k.name.len() <= MAX_TEXT);
    let svc = Activity {
        client: Some("ldap/dc1.x.y".into()),
        ..a
    };
    let mut fx = Effects::default();
    r.apply("s", "h", &svc, &mut fx);
    assert!(fx.entities.is_empty());
}
