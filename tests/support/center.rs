//! Test support: a center store fed with real records (lab captures replayed by the sensor into
//! a batch directory, applied by the center's ingest; alerts from `dcsensor detect` on those
//! batches), the Defender for Endpoint stand-in knowing one of the lab's computers, and the
//! console served on loopback with users of each role.

#![allow(dead_code)]

use dcsensor::center::api::ApiState;
use dcsensor::center::endpoint::mde::{Mde, MdeSettings};
use dcsensor::center::endpoint::standin::{self, Standin, StandinConfig, StandinData};
use dcsensor::center::endpoint::Endpoint;
use dcsensor::center::engine::{alert_write, NoEngine};
use dcsensor::center::ingest::{DirSource, Processor};
use dcsensor::center::store::read::Entity;
use dcsensor::center::store::write::{Effects, EntityKey};
use dcsensor::center::store::Store;
use dcsensor::center::CenterStats;
use dcsensor::console::auth::{Role, ThrottleSettings};
use dcsensor::console::{server, users};
use dcsensor::web::{Limits, ThreadServer, WebStats};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

pub const PASSWORD: &str = "a long test password";

/// Strings from the wire at their most hostile.
pub const HOSTILE_USER: &str = "<script>window.__pwned=1</script>";
pub const HOSTILE_REALM: &str = "EVIL\"'><img src=x onerror=window.__pwned=2>";

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_dcsensor")
}

fn lab(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata-pcaps/lab")
        .join(name)
}

const CAPTURES: &[&str] = &[
    "01_benign_kerberos_logon.pcap",
    "03_benign_smb_ntlm.pcap",
    "10_attack_kerberoasting.pcap",
    "11_attack_asrep_roasting.pcap",
];

/// A running console over a fed store.
pub struct Center {
    pub url: String,
    pub store: Store,
    /// The computer the endpoint stand-in knows (with two alerts, one open).
    pub known: Entity,
    /// A user it does not know.
    pub unknown: Entity,
    pub alert_ids: Vec<String>,
    pub hostile_alert: String,
    _console: tokio::sync::oneshot::Sender<()>,
    _standin: ThreadServer,
    _dir: tempfile::TempDir,
}

fn run(c: &mut Command) -> Vec<u8> {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{c:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

impl Center {
    pub async fn start(throttle: ThrottleSettings) -> Center {
        let dir = tempfile::tempdir().unwrap();
        let batches = dir.path().join("batches");
        std::fs::create_dir_all(&batches).unwrap();
        let mut replay = Command::new(bin());
        replay.args([
            "replay",
            "--no-progress",
            "--workers",
            "1",
            "--sensor-id",
            "dc-lab",
        ]);
        replay.args(["--sink", &format!("file:{}", batches.display())]);
        for p in CAPTURES {
            replay.arg(lab(p));
        }
        run(&mut replay);

        let store = Store::open(&format!(
            "sqlite:{}",
            dir.path().join("center.db").display()
        ))
        .await
        .unwrap();
        let stats = Arc::new(CenterStats::default());
        let mut proc = Processor::start(store.clone(), Box::new(NoEngine), 24.0, stats.clone())
            .await
            .unwrap();
        let mut src = DirSource::new(vec![batches.clone()], false);
        let items = tokio::task::block_in_place(|| src.scan(10_000));
        assert!(!items.is_empty(), "the sensor wrote no batch");
        proc.apply(items).await.unwrap();

        // The detection engine over the same batches, as the center's engine would raise them.
        let out = run(Command::new(bin())
            .args(["detect", "--sensor-id", "dc-lab"])
            .arg(&batches));
        let mut alert_ids = Vec::new();
        for line in String::from_utf8(out)
            .unwrap()
            .lines()
            .filter(|l| !l.is_empty())
        {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let a = alert_write(&v).unwrap_or_else(|| panic!("not an alert: {line}"));
            // An alert seen again comes out again, updated: one id, one alert.
            if !alert_ids.contains(&a.id) {
                alert_ids.push(a.id.clone());
            }
            store.put_alert(&a).await.unwrap();
        }
        assert!(
            !alert_ids.is_empty(),
            "the lab's attack captures raised no alert"
        );

        // The endpoint product will know the first computer the captures showed, and not the
        // first user.
        let computers = store.entities("computer", 100, 0).await.unwrap();
        let people = store.entities("user", 100, 0).await.unwrap();
        assert!(
            !computers.is_empty() && !people.is_empty(),
            "the lab captures gave no computer or no user"
        );
        let (known, unknown) = (computers[0].clone(), people[0].clone());

        // What a hostile packet could carry: an account name and realm made of markup, and an
        // alert about it.
        let ts = store.latest_ts().await.unwrap().unwrap_or(1.0e9);
        let mut fx = Effects::default();
        let evil = EntityKey::user(HOSTILE_REALM, HOSTILE_USER);
        fx.seen(&evil, ts);
        fx.count(&evil, ts, "logon", HOSTILE_USER);
        store.commit(&fx).await.unwrap();
        let hostile = serde_json::json!({
            "type": "alert", "id": format!("hostile-{HOSTILE_USER}"), "detection": "kerberoasting",
            "title": format!("Hostile {HOSTILE_USER}"), "severity": "high", "phase": "credential_access",
            "ts": ts, "last_ts": ts, "count": 1, "attack": ["T1558.003", HOSTILE_REALM],
            "summary": format!("{HOSTILE_USER} did {HOSTILE_REALM}"),
            "source": {"ip": HOSTILE_REALM, "host": HOSTILE_USER, "user": format!("{HOSTILE_USER}@{HOSTILE_REALM}"), "host_by": HOSTILE_REALM},
            "targets": [HOSTILE_USER], "sensors": [HOSTILE_USER],
            "evidence": [{"type": "kerberos", "ts": ts, "cname": HOSTILE_USER, HOSTILE_REALM: HOSTILE_USER}],
        });
        let hostile_alert = alert_write(&hostile).unwrap();
        store.put_alert(&hostile_alert).await.unwrap();

        // The endpoint product's stand-in knows the first computer, with two alerts.
        let data: StandinData = serde_json::from_value(serde_json::json!({
            "machines": [{"id": "m-0001", "computerDnsName": known.name, "healthStatus": "Active", "machineTags": []}],
            "alerts": [
                {"id": "da1", "title": "Suspicious process", "severity": "High", "status": "New",
                 "machineId": "m-0001", "computerDnsName": known.name, "alertCreationTime": "2026-12-01T09:00:00Z",
                 "relatedUser": null, "evidence": []},
                {"id": "da2", "title": "Suspicious service", "severity": "Medium", "status": "InProgress",
                 "machineId": "m-0001", "computerDnsName": known.name, "alertCreationTime": "2026-12-01T10:00:00Z",
                 "relatedUser": null, "evidence": []}
            ]
        }))
        .unwrap();
        let sa = Standin::new(
            StandinConfig {
                client_id: "console-test".into(),
                client_secret: "standin-secret".into(),
                token_lifetime: 3600,
                calls_per_minute: 0,
            },
            data,
        );
        let standin_srv = ThreadServer::start(
            "standin",
            "t-standin",
            "127.0.0.1:0",
            standin::router(sa),
            Limits::default(),
            None,
        )
        .unwrap();
        let secret = dir.path().join("mde-secret");
        std::fs::write(&secret, "standin-secret\n").unwrap();
        let base = format!("http://{}", standin_srv.addr);
        let mde = Mde::new(MdeSettings {
            api_url: base.clone(),
            token_url: format!("{base}/tenant/oauth2/v2.0/token"),
            client_id: "console-test".into(),
            client_secret_file: Some(secret),
            portal_url: "https://portal.invalid".into(),
            max_retry_wait: 0.0,
            ..MdeSettings::default()
        })
        .unwrap();
        let endpoint = Endpoint::new(Arc::new(mde), store.clone(), 60, stats.clone());

        let api = ApiState {
            store: store.clone(),
            stats,
            silent_after: 300,
            endpoint: Some(endpoint),
        };
        let console = server::Console::new(api, throttle).await.unwrap();
        for (name, role) in [
            ("ana", Role::Analyst),
            ("vic", Role::Viewer),
            ("adam", Role::Admin),
        ] {
            users::add_user(&store, name, role, PASSWORD, "test")
                .await
                .unwrap();
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(dcsensor::web::serve(
            listener,
            server::router(console),
            Limits::default(),
            None,
            Arc::new(WebStats::default()),
            async move {
                let _ = stopped.await;
            },
        ));
        Center {
            url: format!("http://{addr}"),
            store,
            known,
            unknown,
            alert_ids,
            hostile_alert: hostile_alert.id,
            _console: stop,
            _standin: standin_srv,
            _dir: dir,
        }
    }
}
