//! The center's speed: records ingested per second (batches through the rollup into the store,
//! committed in groups as `dcsensor center run` does) into SQLite and into PostgreSQL, with
//! and without the detection engine; and the time of an entity's page and of its JSON API
//! request when the entity has a month of activity.
//!
//! Ingest data is made at bench time: the sensor (`dcsensor replay`) turns captures into
//! batches, by default the shipped lab captures, or the capture named by
//! `DCSENSOR_BENCH_PCAP` (the DC-style bench capture of `../shared/bench/make-bench-pcap.sh`,
//! see the README). Each measured iteration applies every batch to a new, empty store.
//! PostgreSQL is a throwaway cluster of Debian's binaries with its default (durable) settings;
//! without them the PostgreSQL cases are skipped (tests/support/skip.rs).
//!
//! The month of activity is synthetic: one user and one computer with activity in every hour of
//! the last 30 days (logons by protocol and encryption, sources, services, shares, failures;
//! the computer's users), 200 other users beside them, 50 alerts naming the user.

#[path = "../tests/support/postgres.rs"]
mod postgres;
#[path = "../tests/support/skip.rs"]
mod skip;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use dcsensor::center::engine::{default_engine, Detector, NoEngine};
use dcsensor::center::ingest::{Ack, Incoming, Processor};
use dcsensor::center::store::write::{AlertWrite, Effects, EntityKey};
use dcsensor::center::store::{now_secs, Store};
use dcsensor::center::CenterStats;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Batches per transaction, as `[ingest] group_batches` defaults to.
const GROUP: usize = 64;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// The batches the sensor makes of the bench captures, in seq order, and their record count.
fn make_batches() -> (Vec<Vec<u8>>, u64) {
    let dir = tempfile::tempdir().unwrap();
    let pcaps: Vec<PathBuf> = match std::env::var_os("DCSENSOR_BENCH_PCAP") {
        Some(p) => vec![PathBuf::from(p)],
        None => {
            let lab = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata-pcaps/lab");
            let mut v: Vec<PathBuf> = std::fs::read_dir(lab)
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "pcap"))
                .collect();
            v.sort();
            v
        }
    };
    let out = Command::new(env!("CARGO_BIN_EXE_dcsensor"))
        .args(["replay", "--no-progress", "--sensor-id", "bench-dc"])
        .args(["--sink", &format!("file:{}", dir.path().display())])
        .args(&pcaps)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "replay: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut files: Vec<(u64, PathBuf)> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| {
            let p = e.ok()?.path();
            let seq = dcsensor::upstream::spool::seq_of_name(p.file_name()?.to_str()?)?;
            Some((seq, p))
        })
        .collect();
    files.sort();
    let mut records = 0;
    let batches: Vec<Vec<u8>> = files
        .into_iter()
        .map(|(_, p)| {
            let b = std::fs::read(p).unwrap();
            records += dcsensor::upstream::batch::read_header(&b).unwrap().records;
            b
        })
        .collect();
    (batches, records)
}

/// Where each iteration's new store comes from.
enum Backend {
    Sqlite(tempfile::TempDir),
    Postgres(postgres::Cluster),
}

impl Backend {
    fn new_url(&mut self, n: usize) -> String {
        match self {
            Backend::Sqlite(d) => format!("sqlite:{}", d.path().join(format!("c{n}.db")).display()),
            Backend::Postgres(pg) => pg.create_db(),
        }
    }
}

/// Applies every batch to a new store, `GROUP` at a time; the time of the applies only.
async fn ingest_once(url: &str, engine: Box<dyn Detector>, batches: &[Vec<u8>]) -> Duration {
    let store = Store::open(url).await.unwrap();
    let stats = Arc::new(CenterStats::default());
    let mut p = Processor::start(store.clone(), engine, 12.0, stats.clone())
        .await
        .unwrap();
    let t = Instant::now();
    for group in batches.chunks(GROUP) {
        let items = group
            .iter()
            .map(|b| Incoming {
                bytes: b.clone(),
                ack: Ack::File {
                    path: PathBuf::new(),
                    remove: false,
                },
                stream_seq: None,
                redelivered: false,
            })
            .collect();
        p.apply(items).await.unwrap();
    }
    p.flush().await.unwrap();
    let took = t.elapsed();
    assert_eq!(
        stats.batches.load(std::sync::atomic::Ordering::Relaxed),
        batches.len() as u64
    );
    store.close().await;
    took
}

fn ingest(c: &mut Criterion) {
    let (batches, records) = make_batches();
    eprintln!(
        "center ingest: {} batches, {records} records",
        batches.len()
    );
    let rt = rt();
    let mut backends = vec![("sqlite", Backend::Sqlite(tempfile::tempdir().unwrap()))];
    if let Some(bin) = postgres::or_skip("center ingest into PostgreSQL") {
        backends.push((
            "postgresql",
            Backend::Postgres(postgres::Cluster::start(&bin, &[])),
        ));
    }
    let mut g = c.benchmark_group("center_ingest");
    g.throughput(Throughput::Elements(records));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(20));
    let mut n = 0;
    for (name, backend) in backends.iter_mut() {
        for with_engine in [false, true] {
            let id = if with_engine {
                format!("{name}_rollup_and_engine")
            } else {
                format!("{name}_rollup")
            };
            g.bench_function(id, |b| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        n += 1;
                        let url = backend.new_url(n);
                        let engine: Box<dyn Detector> = if with_engine {
                            default_engine(None).unwrap()
                        } else {
                            Box::new(NoEngine)
                        };
                        total += rt.block_on(ingest_once(&url, engine, &batches));
                    }
                    total
                })
            });
        }
    }
    g.finish();
}

const REALM: &str = "BENCH.EXAMPLE";
const USER: &str = "month.user";
const HOST: &str = "month-ws.bench.example";

/// A month of activity, ending now, for one user and one computer (and 200 other users).
async fn month_of_activity(store: &Store) {
    let user = EntityKey::user(REALM, USER);
    let host = EntityKey::computer(HOST);
    let end = now_secs() / 3600 * 3600;
    let hours = 30 * 24;
    for day in 0..30 {
        let mut fx = Effects::default();
        for h in 0..24 {
            let ts = (end - (hours - (day * 24 + h)) * 3600) as f64 + 17.0;
            for enc in ["kerberos/aes256-cts", "kerberos/rc4-hmac", "ntlm/v2"] {
                fx.count(&user, ts, "logon", enc);
                fx.count(&host, ts, "logon", enc);
            }
            for i in 0..10 {
                fx.count(&user, ts, "source", &format!("ws{i:02}.bench.example"));
            }
            for i in 0..20 {
                fx.count(
                    &user,
                    ts,
                    "service",
                    &format!("cifs/srv{i:02}.bench.example"),
                );
                fx.count(&host, ts, "user", &format!("{REALM}\\user{i:02}"));
            }
            for i in 0..5 {
                fx.count(&user, ts, "share", &format!("\\\\srv{i}\\share"));
            }
            fx.count(&user, ts, "failure", "KDC_ERR_PREAUTH_FAILED");
            fx.address(&host, &format!("192.0.2.{}", 10 + day), ts, "kerberos");
            for u in 0..200 {
                let other = EntityKey::user(REALM, &format!("user{u:03}"));
                fx.count(&other, ts, "logon", "kerberos/aes256-cts");
            }
        }
        if day % 3 == 0 {
            for k in 0..5 {
                let ts = (end - (hours - day * 24) * 3600 + k * 600) as f64;
                let id = format!("bench-alert-{day}-{k}");
                fx.alerts.insert(
                    id.clone(),
                    AlertWrite {
                        id,
                        detection: "kerberoasting".into(),
                        title: "Suspected Kerberos SPN exposure".into(),
                        severity: "high".into(),
                        phase: "credential_access".into(),
                        ts,
                        last_ts: ts + 5.0,
                        count: 12,
                        summary: format!("{USER} asked 12 service tickets in RC4"),
                        source_ip: Some("192.0.2.10".into()),
                        source_host: Some(HOST.into()),
                        source_user: Some(USER.into()),
                        sensors: vec!["bench-dc".into()],
                        body: format!(r#"{{"id":"bench-alert-{day}-{k}","evidence":[]}}"#),
                        entities: vec![(user.clone(), "source"), (host.clone(), "source")],
                    },
                );
            }
        }
        store.commit(&fx).await.unwrap();
    }
}

/// A console over `store` on a loopback port: its base URL, a session cookie and an API
/// token, and what keeps it running.
async fn serve(store: &Store) -> (String, String, String, tokio::sync::oneshot::Sender<()>) {
    use dcsensor::console::{auth, server, users};
    let api = dcsensor::center::api::ApiState {
        store: store.clone(),
        stats: Arc::new(CenterStats::default()),
        silent_after: 300,
        endpoint: None,
    };
    let console = server::Console::new(api, auth::ThrottleSettings::default())
        .await
        .unwrap();
    users::add_user(
        store,
        "bench",
        auth::Role::Viewer,
        "a long bench password",
        "bench",
    )
    .await
    .unwrap();
    let token = users::add_token(store, "bench", auth::Role::Viewer, "bench")
        .await
        .unwrap();
    let (secret, _) = users::open_session(store, "bench", 86400).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(dcsensor::web::serve(
        listener,
        server::router(console),
        dcsensor::web::Limits::default(),
        None,
        Arc::new(dcsensor::web::WebStats::default()),
        async move {
            let _ = stopped.await;
        },
    ));
    (
        format!("http://{addr}"),
        format!("{}={secret}", server::COOKIE),
        token,
        stop,
    )
}

async fn fetch(client: &reqwest::Client, url: &str, header: (&str, &str), expect: &str) {
    let r = client
        .get(url)
        .header(header.0, header.1)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{url}");
    let body = r.text().await.unwrap();
    assert!(
        body.contains(expect),
        "{url}: {}",
        &body[..body.len().min(500)]
    );
}

fn entity_page(c: &mut Criterion) {
    let rt = rt();
    let dir = tempfile::tempdir().unwrap();
    let mut stores = vec![(
        "sqlite",
        format!("sqlite:{}", dir.path().join("month.db").display()),
    )];
    let mut pg = None;
    if let Some(bin) = postgres::or_skip("center entity page on PostgreSQL") {
        let mut cluster = postgres::Cluster::start(&bin, &[]);
        stores.push(("postgresql", cluster.create_db()));
        pg = Some(cluster);
    }
    let client = reqwest::Client::new();
    let mut g = c.benchmark_group("center_entity_month");
    g.sample_size(20);
    for (name, url) in &stores {
        let (base, cookie, token, _stop) = rt.block_on(async {
            let store = Store::open(url).await.unwrap();
            month_of_activity(&store).await;
            serve(&store).await
        });
        let page = format!("{base}/entity/user/{REALM}/{USER}");
        let api = format!("{base}/api/entities/user/{REALM}/{USER}?days=30");
        let bearer = format!("Bearer {token}");
        g.bench_function(format!("{name}_user_page"), |b| {
            b.iter(|| rt.block_on(fetch(&client, &page, ("cookie", &cookie), USER)))
        });
        g.bench_function(format!("{name}_user_api"), |b| {
            b.iter(|| rt.block_on(fetch(&client, &api, ("authorization", &bearer), USER)))
        });
        let page = format!("{base}/entity/computer/{HOST}");
        g.bench_function(format!("{name}_computer_page"), |b| {
            b.iter(|| rt.block_on(fetch(&client, &page, ("cookie", &cookie), HOST)))
        });
    }
    g.finish();
    drop(pg);
}

criterion_group!(benches, ingest, entity_page);
criterion_main!(benches);
