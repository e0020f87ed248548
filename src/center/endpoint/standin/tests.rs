use super::super::mde::{Mde, MdeSettings};
use super::super::{Connector, ConnectorError, Endpoint};
use super::*;
use crate::center::store::Store;
use crate::center::CenterStats;
use crate::web::{Limits, ThreadServer};

fn data() -> StandinData {
    serde_json::from_value(json!({
        "machines": [
            {"id": "7f3c0a", "computerDnsName": "ws01.corp.test", "firstSeen": "2026-11-01T08:00:00Z",
             "lastSeen": "2026-12-01T08:00:00Z", "osPlatform": "Windows11", "lastIpAddress": "192.0.2.10",
             "healthStatus": "Active", "riskScore": "Medium", "exposureLevel": "Low", "machineTags": []},
            {"id": "99aa01", "computerDnsName": "clean.corp.test", "healthStatus": "Active", "machineTags": []}
        ],
        "alerts": [
            {"id": "da1", "title": "Suspicious process", "severity": "High", "status": "New",
             "machineId": "7f3c0a", "computerDnsName": "ws01.corp.test",
             "alertCreationTime": "2026-12-01T09:00:00Z", "relatedUser": {"userName": "alice", "domainName": "CORP"},
             "mitreTechniques": ["T1059"], "evidence": []},
            {"id": "da2", "title": "Old finding", "severity": "Low", "status": "Resolved",
             "machineId": "7f3c0a", "computerDnsName": "ws01.corp.test",
             "alertCreationTime": "2026-11-01T09:00:00Z", "relatedUser": null, "evidence": []}
        ]
    }))
    .unwrap()
}

struct Fixture {
    _server: ThreadServer,
    standin: Arc<Standin>,
    settings: MdeSettings,
    _secret: tempfile::NamedTempFile,
}

fn fixture(calls_per_minute: usize) -> Fixture {
    let standin = Standin::new(
        StandinConfig {
            client_id: "app-1".into(),
            client_secret: "s3cret-value".into(),
            token_lifetime: 3600,
            calls_per_minute,
        },
        data(),
    );
    let server = ThreadServer::start(
        "standin",
        "t-standin",
        "127.0.0.1:0",
        router(standin.clone()),
        Limits::default(),
        None,
    )
    .unwrap();
    let secret = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(secret.path(), "s3cret-value\n").unwrap();
    let base = format!("http://{}", server.addr);
    let settings = MdeSettings {
        api_url: base.clone(),
        token_url: format!("{base}/tenant-1/oauth2/v2.0/token"),
        client_id: "app-1".into(),
        client_secret_file: Some(secret.path().to_path_buf()),
        portal_url: "https://portal.test".into(),
        max_retry_wait: 0.0,
        ..MdeSettings::default()
    };
    Fixture {
        _server: server,
        standin,
        settings,
        _secret: secret,
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn machines_and_users_as_documented() {
    let f = fixture(0);
    let mde = Mde::new(f.settings.clone()).unwrap();
    rt().block_on(async {
        let v = mde.computer("WS01.corp.test").await.unwrap();
        assert!(v.known);
        assert_eq!((v.open_alerts, v.alerts), (1, 2));
        assert_eq!(
            v.url.as_deref(),
            Some("https://portal.test/machines/7f3c0a/overview")
        );
        let clean = mde.computer("clean.corp.test").await.unwrap();
        assert!(clean.known);
        assert_eq!(clean.alerts, 0);
        assert!(!mde.computer("nowhere.corp.test").await.unwrap().known);
        let alice = mde.user("CORP.TEST", "alice").await.unwrap();
        assert!(alice.known);
        assert_eq!(alice.open_alerts, 1);
        assert!(!mde.user("CORP.TEST", "nobody").await.unwrap().known);
        // One token served all of that.
        assert_eq!(f.standin.token_requests.load(Ordering::Relaxed), 1);
        // An expired token is renewed once and the call goes through.
        f.standin.expire_tokens();
        assert!(mde.computer("ws01.corp.test").await.unwrap().known);
        assert_eq!(f.standin.token_requests.load(Ordering::Relaxed), 2);
    });
}

#[test]
fn the_stand_in_answers_404_for_an_unknown_machine_and_401_without_a_token() {
    let f = fixture(0);
    rt().block_on(async {
        let c = reqwest::Client::new();
        let r = c
            .get(format!("{}/api/machines/nope/alerts", f.settings.api_url))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "Unauthorized");
        let tok: Value = c
            .post(f.settings.token_url.clone())
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", "app-1"),
                ("client_secret", "s3cret-value"),
                ("scope", "x/.default"),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let t = tok["access_token"].as_str().unwrap();
        let r = c
            .get(format!("{}/api/machines/nope/alerts", f.settings.api_url))
            .bearer_auth(t)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "ResourceNotFound");
    });
}

#[test]
fn a_wrong_secret_is_reported_without_the_secret() {
    let f = fixture(0);
    let secret = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(secret.path(), "not-the-secret").unwrap();
    let mde = Mde::new(MdeSettings {
        client_secret_file: Some(secret.path().to_path_buf()),
        ..f.settings.clone()
    })
    .unwrap();
    let e = rt().block_on(mde.computer("ws01.corp.test")).unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("401") && text.contains("invalid_client"),
        "{text}"
    );
    assert!(!text.contains("not-the-secret"), "{text}");
}

#[test]
fn answers_are_cached_and_429_falls_back_to_the_cache() {
    let f = fixture(3);
    let mde = Arc::new(Mde::new(f.settings.clone()).unwrap());
    rt().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&format!("sqlite:{}", dir.path().join("c.db").display()))
            .await
            .unwrap();
        let stats = Arc::new(CenterStats::default());
        let ep = Endpoint::new(mde.clone(), store.clone(), 900, stats.clone());
        let b = ep.computer("ws01.corp.test").await;
        assert_eq!(b.view.as_ref().unwrap().open_alerts, 1);
        let calls = f.standin.calls.load(Ordering::Relaxed);
        assert_eq!(calls, 2); // the machine lookup and its alerts
        let again = ep.computer("WS01.corp.test").await;
        assert_eq!(again.view, b.view);
        assert_eq!(
            f.standin.calls.load(Ordering::Relaxed),
            calls,
            "served from the cache"
        );
        // A fourth call within the minute gets 429 with Retry-After: reported, not waited
        // out (max_retry_wait 0), and the connector holds back until then.
        let _ = mde.user("CORP.TEST", "alice").await.unwrap();
        match mde.computer("clean.corp.test").await {
            Err(ConnectorError::RateLimited(s)) => assert!((1..=60).contains(&s), "{s}"),
            other => panic!("expected rate limited, got {other:?}"),
        }
        let before = f.standin.calls.load(Ordering::Relaxed);
        assert!(matches!(
            mde.computer("clean.corp.test").await,
            Err(ConnectorError::RateLimited(_))
        ));
        assert_eq!(
            f.standin.calls.load(Ordering::Relaxed),
            before,
            "no call while told to wait"
        );
        // With no cache (ttl 0), the badge keeps the last answer and says why it is old.
        let ep0 = Endpoint::new(mde.clone(), store, 0, stats.clone());
        let stale = ep0.computer("ws01.corp.test").await;
        assert_eq!(stale.view.as_ref().unwrap().open_alerts, 1);
        assert!(stale.note.unwrap().contains("rate limited"));
        assert!(stats.connector_errors.load(Ordering::Relaxed) >= 1);
    });
}
