use super::read::AlertFilter;
use super::write::{AlertWrite, BatchMark, Effects, EntityKey, SensorStat};
use super::*;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn effects(seq: u64) -> Effects {
    let mut fx = Effects::default();
    fx.batches.push(BatchMark {
        sensor: "dc01".into(),
        host: "dc01.lab.example".into(),
        seq,
        records: 3,
        max_ts: 7205.0,
        body: Some(vec![1, 2, 3]),
    });
    let alice = EntityKey::user("lab.example", "Alice");
    let ws = EntityKey::computer("WS01.lab.example.");
    fx.count(&alice, 7200.5, "logon", "kerberos/aes256-cts");
    fx.count(&alice, 7201.0, "logon", "kerberos/aes256-cts");
    fx.count(&alice, 3600.0, "failure", "KDC_ERR_PREAUTH_FAILED");
    fx.address(&ws, "192.0.2.10", 7200.0, "kerberos");
    fx.alerts.insert(
        "a1".into(),
        AlertWrite {
            id: "a1".into(),
            detection: "kerberoasting".into(),
            title: "Suspected Kerberos SPN exposure".into(),
            severity: "high".into(),
            phase: "credential_access".into(),
            ts: 7200.0,
            last_ts: 7205.0,
            count: 3,
            summary: "alice asked 3 service tickets in RC4".into(),
            source_ip: Some("192.0.2.10".into()),
            source_host: Some("ws01.lab.example".into()),
            source_user: Some("alice".into()),
            sensors: vec!["dc01".into()],
            body: r#"{"id":"a1","evidence":[]}"#.into(),
            entities: vec![(alice.clone(), "source"), (ws.clone(), "source")],
        },
    );
    fx.stats.push(SensorStat {
        sensor: "dc01".into(),
        host: "dc01.lab.example".into(),
        ts: 7205.0,
        packets: 100,
        drops: 0,
        records: 3,
        records_per_s: 1.5,
    });
    fx
}

#[test]
fn a_batch_applies_once_and_reads_back() {
    rt().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("c.db").display());
        let store = Store::open(&url).await.unwrap();
        let done = store.commit(&effects(1)).await.unwrap();
        assert_eq!(done.batches, 1);
        assert!(store.applied("dc01", 1).await.unwrap());
        assert!(!store.applied("dc01", 2).await.unwrap());
        // The same (sensor, seq) again: refused, nothing changes.
        let again = store.commit(&effects(1)).await;
        assert!(again.is_err());
        let alice = store.user("LAB.EXAMPLE", "alice").await.unwrap().unwrap();
        assert_eq!(alice.url(), "/entity/user/LAB.EXAMPLE/alice");
        let totals = store.totals(alice.id, 0, 86400).await.unwrap();
        let logons: i64 = totals
            .iter()
            .filter(|t| t.metric == "logon")
            .map(|t| t.n)
            .sum();
        assert_eq!(logons, 2);
        let hours = store.activity(alice.id, 0, 86400).await.unwrap();
        assert_eq!(
            hours.iter().map(|h| h.hour).collect::<Vec<_>>(),
            [3600, 7200]
        );
        let ws = store.computer("ws01.LAB.example").await.unwrap().unwrap();
        let addrs = store.addresses(ws.id).await.unwrap();
        assert_eq!(addrs[0].addr, "192.0.2.10");
        assert_eq!(store.search("192.0.2.10", 10).await.unwrap()[0].id, ws.id);
        assert_eq!(store.search("LIC", 10).await.unwrap()[0].id, alice.id);
        // A second batch adds to the same hour.
        store.commit(&effects(2)).await.unwrap();
        let totals = store.totals(alice.id, 0, 86400).await.unwrap();
        let logons: i64 = totals
            .iter()
            .filter(|t| t.metric == "logon")
            .map(|t| t.n)
            .sum();
        assert_eq!(logons, 4);
        let f = AlertFilter {
            entity_id: Some(ws.id),
            ..Default::default()
        };
        let alerts = store.alerts(&f).await.unwrap();
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].status, "open");
        assert_eq!(store.alert_counts(alice.id).await.unwrap(), (1, 1));
        let sensors = store.sensors(300).await.unwrap();
        assert_eq!(sensors[0].packets, 100);
        assert!(!sensors[0].silent);
        assert_eq!(store.recent_batches(0.0).await.unwrap().len(), 2);
        assert_eq!(store.prune_bodies(1e12).await.unwrap(), 2);
        assert!(store.recent_batches(0.0).await.unwrap().is_empty());
    });
}

#[test]
fn status_changes_keep_through_updates_and_are_audited() {
    rt().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("c.db").display());
        let store = Store::open(&url).await.unwrap();
        store.commit(&effects(1)).await.unwrap();
        assert!(store
            .set_alert_status("a1", "false_positive", "scanner", "ana")
            .await
            .unwrap());
        assert!(!store
            .set_alert_status("nope", "resolved", "", "ana")
            .await
            .unwrap());
        assert!(store
            .set_alert_status("a1", "closed", "", "ana")
            .await
            .is_err());
        // The engine updates the alert: its status stays.
        store.commit(&effects(2)).await.unwrap();
        let a = store.alert("a1").await.unwrap().unwrap();
        assert_eq!(a.row.status, "false_positive");
        assert_eq!(a.notes.len(), 1);
        assert_eq!(a.entities.len(), 2);
        assert_eq!(a.record["id"], "a1");
        let id = store
            .add_exclusion("kerberoasting", "source_ip", "192.0.2.10", "scanner", "adm")
            .await
            .unwrap();
        assert_eq!(
            store
                .add_exclusion("kerberoasting", "source_ip", "192.0.2.10", "again", "adm")
                .await
                .unwrap(),
            id
        );
        assert_eq!(store.exclusions().await.unwrap().len(), 1);
        assert!(store.remove_exclusion(id, "adm").await.unwrap());
        let log = store.audit_log(10, 0).await.unwrap();
        let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(
            actions,
            [
                "exclusion.remove",
                "exclusion.add",
                "exclusion.add",
                "alert.status"
            ]
        );
        // Reopening runs no migration twice.
        drop(store);
        let store = Store::open(&url).await.unwrap();
        assert_eq!(store.exclusions().await.unwrap().len(), 0);
    });
}

#[test]
fn urls_are_redacted_and_checked() {
    assert_eq!(
        redact("postgres://center:s3cret@db/center"),
        "postgres://center:***@db/center"
    );
    let e = rt().block_on(Store::open("mysql://x")).err().unwrap();
    assert!(e.0.contains("sqlite:PATH"), "{e}");
}
