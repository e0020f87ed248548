//! The center's store on both of its databases: SQLite (a file in a temporary directory) and
//! PostgreSQL (a throwaway cluster of Debian's binaries started by the test,
//! `tests/support/postgres.rs`). Every check runs on both with the same expectations; those
//! about several centers sharing one store (migrations at the same time, one batch committed by
//! two centers at once) run on PostgreSQL, the database for that.

#[path = "support/postgres.rs"]
mod postgres;
#[path = "support/skip.rs"]
mod skip;

use dcsensor::center::store::read::AlertFilter;
use dcsensor::center::store::write::{AlertWrite, BatchMark, Effects, EntityKey, SensorStat};
use dcsensor::center::store::{redact, Store};
use dcsensor::console::auth::Role;
use dcsensor::console::users;
use std::future::Future;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Runs `check` on a new SQLite store's URL.
fn on_sqlite<F, Fut>(check: F)
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("c.db").display());
    rt().block_on(check(url));
}

/// Runs `check` on a new database of a throwaway PostgreSQL cluster (skipped when PostgreSQL is
/// not installed; a failure under CI=true).
fn on_postgres<F, Fut>(test: &str, check: F)
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = ()>,
{
    let Some(bin) = postgres::or_skip(test) else {
        return;
    };
    let mut pg = postgres::Cluster::start(&bin, postgres::FAST);
    let url = pg.create_db();
    rt().block_on(check(url));
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

async fn applies_once_and_reads_back(url: String) {
    {
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
    }
}

async fn status_and_exclusions(url: String) {
    {
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
    }
}

#[test]
fn urls_are_redacted_and_checked() {
    let rt = rt();
    assert_eq!(
        redact("postgres://center:s3cret@db/center"),
        "postgres://center:***@db/center"
    );
    let e = rt.block_on(Store::open("mysql://x")).err().unwrap();
    assert!(e.0.contains("sqlite:PATH"), "{e}");
}

/// The console's own tables (users, tokens, sessions) in the same store.
async fn console_users_tokens_sessions(url: String) {
    let store = Store::open(&url).await.unwrap();
    users::migrate(&store).await.unwrap();
    users::migrate(&store).await.unwrap(); // a second start migrates nothing
    users::add_user(&store, "ana", Role::Analyst, "a long test password", "test")
        .await
        .unwrap();
    assert_eq!(
        users::check_password(&store, "ana", "a long test password").await,
        Some(Role::Analyst)
    );
    assert_eq!(users::check_password(&store, "ana", "wrong").await, None);
    let token = users::add_token(&store, "grafana", Role::Viewer, "test")
        .await
        .unwrap();
    assert_eq!(
        users::token(&store, &token).await.map(|i| i.role),
        Some(Role::Viewer)
    );
    assert!(users::add_token(&store, "grafana", Role::Viewer, "test")
        .await
        .is_err());
    let (secret, csrf) = users::open_session(&store, "ana", 3600).await.unwrap();
    let who = users::session(&store, &secret).await.unwrap();
    assert_eq!((who.name.as_str(), who.csrf), ("ana", Some(csrf)));
    users::close_session(&store, &secret).await;
    assert!(users::session(&store, &secret).await.is_none());
    assert_eq!(users::users(&store).await.unwrap().len(), 1);
}

#[test]
fn a_batch_applies_once_and_reads_back_sqlite() {
    on_sqlite(applies_once_and_reads_back);
}

#[test]
fn a_batch_applies_once_and_reads_back_postgresql() {
    on_postgres(
        "a_batch_applies_once_and_reads_back_postgresql",
        applies_once_and_reads_back,
    );
}

#[test]
fn status_changes_keep_through_updates_and_are_audited_sqlite() {
    on_sqlite(status_and_exclusions);
}

#[test]
fn status_changes_keep_through_updates_and_are_audited_postgresql() {
    on_postgres(
        "status_changes_keep_through_updates_and_are_audited_postgresql",
        status_and_exclusions,
    );
}

#[test]
fn console_users_tokens_and_sessions_sqlite() {
    on_sqlite(console_users_tokens_sessions);
}

#[test]
fn console_users_tokens_and_sessions_postgresql() {
    on_postgres(
        "console_users_tokens_and_sessions_postgresql",
        console_users_tokens_sessions,
    );
}

/// Effects of batch `seq` of sensor `sensor`: one logon for each of `users` accounts (the
/// same accounts for every sensor, so two centers' transactions touch the same rows).
fn shared_effects(sensor: &str, seq: u64, users: usize) -> Effects {
    let mut fx = Effects::default();
    fx.batches.push(BatchMark {
        sensor: sensor.into(),
        host: format!("{sensor}.lab.example"),
        seq,
        records: users as u64,
        max_ts: 7200.0 + seq as f64,
        body: None,
    });
    for u in 0..users {
        let e = EntityKey::user("lab.example", &format!("user{u}"));
        fx.count(&e, 7200.0 + seq as f64, "logon", "kerberos/aes256-cts");
        fx.count(&e, 7200.0 + seq as f64, "source", &format!("{sensor}-ws"));
    }
    fx
}

#[test]
fn centers_sharing_one_postgresql_migrate_once_and_never_apply_a_batch_twice() {
    on_postgres(
        "centers_sharing_one_postgresql_migrate_once_and_never_apply_a_batch_twice",
        |url| async move {
            // Four centers start at once on an empty database: one of them migrates, the
            // others wait for it.
            let opens = (0..4).map(|_| {
                let url = url.clone();
                tokio::spawn(async move { Store::open(&url).await })
            });
            let mut stores = Vec::new();
            for h in opens {
                stores.push(h.await.unwrap().unwrap());
            }
            let (a, b) = (stores[0].clone(), stores[1].clone());
            // The same batch committed by two centers at the same moment: exactly one wins.
            for seq in 1..=20 {
                let (fa, fb) = (
                    shared_effects("dc-x", seq, 50),
                    shared_effects("dc-x", seq, 50),
                );
                let (ra, rb) = tokio::join!(a.commit(&fa), b.commit(&fb));
                assert!(
                    ra.is_ok() != rb.is_ok(),
                    "seq {seq}: {:?} / {:?}",
                    ra.err(),
                    rb.err()
                );
            }
            // Different batches touching the same entities from two centers at once: all
            // commit (rows locked in one order: no deadlock).
            let ha = tokio::spawn(async move {
                for seq in 1..=20 {
                    a.commit(&shared_effects("dc-a", seq, 50)).await.unwrap();
                }
            });
            let hb = tokio::spawn(async move {
                for seq in 1..=20 {
                    b.commit(&shared_effects("dc-b", seq, 50)).await.unwrap();
                }
            });
            ha.await.unwrap();
            hb.await.unwrap();
            let s = &stores[2];
            assert_eq!(s.applied_count().await.unwrap(), 60);
            let u = s.user("LAB.EXAMPLE", "user7").await.unwrap().unwrap();
            let logons: i64 = s
                .totals(u.id, 0, i64::MAX)
                .await
                .unwrap()
                .iter()
                .filter(|t| t.metric == "logon")
                .map(|t| t.n)
                .sum();
            assert_eq!(logons, 60, "each batch counted once");
        },
    );
}
