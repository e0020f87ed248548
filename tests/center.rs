//! The center end to end, with real parts: lab captures replayed by the sensor into batch
//! directories and into a real nats-server (JetStream), applied by `dcsensor center run` into
//! SQLite. Killing the center (SIGKILL) part-way and starting it again loses nothing and doubles
//! nothing: the store ends up exactly as after one uninterrupted run.

#[path = "support/nats.rs"]
mod nats;
#[path = "support/skip.rs"]
mod skip;

use dcsensor::center::store::Store;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_dcsensor")
}

fn lab(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata-pcaps/lab")
        .join(name)
}

const SENSOR_A: &[&str] = &[
    "01_benign_kerberos_logon.pcap",
    "03_benign_smb_ntlm.pcap",
    "10_attack_kerberoasting.pcap",
];
const SENSOR_B: &[&str] = &[
    "02_benign_smb_kerberos.pcap",
    "05_benign_dns.pcap",
    "11_attack_asrep_roasting.pcap",
];

/// Replays `pcaps` as sensor `id` into the given sinks, one run (and so at least one batch)
/// per capture; the batches' seq goes on from run to run.
fn replay(id: &str, pcaps: &[&str], sinks: &[String]) {
    for p in pcaps {
        let mut c = Command::new(bin());
        c.args([
            "replay",
            "--no-progress",
            "--workers",
            "1",
            "--sensor-id",
            id,
        ]);
        for s in sinks {
            c.args(["--sink", s]);
        }
        let out = c.arg(lab(p)).output().unwrap();
        assert!(
            out.status.success(),
            "replay: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn batch_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "msgpack"))
        .collect();
    v.sort();
    v
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Center {
    child: Child,
    port: u16,
}

impl Center {
    fn start(dir: &Path, ingest: &str) -> Center {
        let port = free_port();
        let cfg = dir.join("center.toml");
        std::fs::write(
            &cfg,
            format!(
                "[store]\nurl = \"sqlite:{}\"\n[ingest]\n{ingest}\npoll = 0.1\ngroup_batches = 2\nack_wait = 2\nreorder_wait = 20\n[api]\nlisten = \"127.0.0.1:{port}\"\n[console]\nenabled = false\n",
                dir.join("center.db").display()
            ),
        )
        .unwrap();
        let child = Command::new(bin())
            .args(["center", "run", "--config"])
            .arg(&cfg)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let c = Center { child, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        while c.get("/healthz").is_none() {
            assert!(Instant::now() < deadline, "the center did not come up");
            std::thread::sleep(Duration::from_millis(100));
        }
        c
    }

    fn get(&self, path: &str) -> Option<String> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).ok()?;
        Some(out)
    }

    fn metric(&self, name: &str) -> u64 {
        let text = self.get("/metrics").unwrap_or_default();
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
            .unwrap_or(0)
    }

    /// Waits until `applied + skipped` batches went through this process.
    fn wait_batches(&self, applied: u64, skipped: u64) {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let a = self.metric("dcsensor_center_batches_total");
            let s = self.metric("dcsensor_center_duplicate_batches_total");
            if a >= applied && s >= skipped {
                assert_eq!(
                    (a, s),
                    (applied, skipped),
                    "more than expected went through"
                );
                return;
            }
            assert!(
                Instant::now() < deadline,
                "only {a} applied, {s} skipped of {applied}/{skipped}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    fn term(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                assert!(st.success(), "the center exited with {st} after TERM");
                return;
            }
            assert!(Instant::now() < deadline, "no exit within 30 s of TERM");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Center {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Everything the store holds that ingest writes, in one comparable text.
fn digest(db: &Path) -> Vec<String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = Store::open(&format!("sqlite:{}", db.display()))
            .await
            .unwrap();
        let mut out = Vec::new();
        for e in store.entities("", 100_000, 0).await.unwrap() {
            let who = format!("{} {} {}", e.kind, e.realm, e.name);
            for t in store.activity(e.id, 0, i64::MAX).await.unwrap() {
                out.push(format!(
                    "{who} {} {} {} {}",
                    t.hour, t.metric, t.detail, t.n
                ));
            }
            for a in store.addresses(e.id).await.unwrap() {
                out.push(format!(
                    "{who} addr {} {} {} {}",
                    a.addr, a.first_seen, a.last_seen, a.how
                ));
            }
        }
        for a in store.alerts(&Default::default()).await.unwrap() {
            out.push(format!(
                "alert {} {} {} {}",
                a.id, a.detection, a.count, a.last_ts
            ));
        }
        for s in store.sensors(300).await.unwrap() {
            out.push(format!("sensor {} {} {}", s.id, s.packets, s.records));
        }
        out.sort();
        out
    })
}

/// Waits until the store holds `total` applied batches.
fn wait_applied(db: &Path, total: u64) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = Store::open(&format!("sqlite:{}", db.display()))
            .await
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let n: u64 = store.applied_high().await.unwrap().len() as u64;
            let count: i64 = sqlx_count(&store).await;
            if count as u64 >= total {
                assert_eq!(count as u64, total, "{n} sensors");
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{count} of {total} batches applied"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
}

async fn sqlx_count(store: &Store) -> i64 {
    store.applied_count().await.unwrap()
}

/// The alerts `dcsensor detect` raises on `inputs`, latest version of each, as `digest` writes
/// them.
fn detect_alerts(inputs: &[&Path]) -> Vec<String> {
    let out = Command::new(bin())
        .arg("detect")
        .args(inputs)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "detect: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut latest = std::collections::BTreeMap::new();
    for l in String::from_utf8_lossy(&out.stdout).lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        if v["type"] == "alert" {
            latest.insert(v["id"].as_str().unwrap().to_string(), v);
        }
    }
    let mut v: Vec<String> = latest
        .values()
        .map(|a| {
            format!(
                "alert {} {} {} {}",
                a["id"].as_str().unwrap(),
                a["detection"].as_str().unwrap(),
                a["count"],
                a["last_ts"].as_f64().unwrap()
            )
        })
        .collect();
    v.sort();
    v
}

/// Batches of two sensors in their own directories.
fn make_batches(root: &Path) -> (PathBuf, PathBuf) {
    let (a, b) = (root.join("dc-a"), root.join("dc-b"));
    replay("dc-a", SENSOR_A, &[format!("file:{}", a.display())]);
    replay("dc-b", SENSOR_B, &[format!("file:{}", b.display())]);
    (a, b)
}

#[test]
fn killed_mid_stream_the_center_loses_nothing_and_doubles_nothing() {
    let root = tempfile::tempdir().unwrap();
    let (a, b) = make_batches(root.path());
    let files: Vec<PathBuf> = batch_files(&a).into_iter().chain(batch_files(&b)).collect();
    let total = files.len() as u64;
    assert!(total >= 6, "{total} batches");

    // One uninterrupted run.
    let one = root.path().join("one");
    std::fs::create_dir_all(&one).unwrap();
    let dirs = format!("dirs = [\"{}\", \"{}\"]", a.display(), b.display());
    let c = Center::start(&one, &dirs);
    c.wait_batches(total, 0);
    c.term();
    let reference = digest(&one.join("center.db"));
    assert!(
        reference
            .iter()
            .any(|l| l.starts_with("user LAB.EXAMPLE alice") && l.contains(" logon kerberos/")),
        "{reference:#?}"
    );
    assert!(
        reference.iter().any(|l| l.starts_with("sensor dc-a")),
        "{reference:#?}"
    );
    // The alerts are those `dcsensor detect` raises on the same batches.
    let alerts: Vec<&String> = reference
        .iter()
        .filter(|l| l.starts_with("alert "))
        .collect();
    let expected = detect_alerts(&[&a, &b]);
    assert_eq!(alerts, expected.iter().collect::<Vec<_>>());
    assert!(
        alerts.iter().any(|l| l.contains(" kerberoasting ")),
        "{alerts:#?}"
    );

    // The same batches arriving in two parts, the center killed between them.
    let two = root.path().join("two");
    let (a2, b2) = (two.join("in-a"), two.join("in-b"));
    std::fs::create_dir_all(&a2).unwrap();
    std::fs::create_dir_all(&b2).unwrap();
    let copy = |from: &[PathBuf]| {
        for f in from {
            let to = if f.starts_with(&a) { &a2 } else { &b2 };
            std::fs::copy(f, to.join(f.file_name().unwrap())).unwrap();
        }
    };
    let half = files.len() / 2;
    copy(&files[..half]);
    let dirs2 = format!("dirs = [\"{}\", \"{}\"]", a2.display(), b2.display());
    let c = Center::start(&two, &dirs2);
    c.wait_batches(half as u64, 0);
    c.kill();
    copy(&files[half..]);
    let c = Center::start(&two, &dirs2);
    // The first half is seen again and skipped; the rest is applied once.
    c.wait_batches(total - half as u64, half as u64);
    c.term();
    assert_eq!(digest(&two.join("center.db")), reference);
}

#[test]
fn through_nats_jetstream_the_store_matches_the_batch_directories() {
    let Some(nbin) = nats::server_or_skip("center via NATS") else {
        assert!(
            std::env::var("CI").is_err(),
            "nats-server is needed under CI (.ci/setup)"
        );
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let srv = nats::Server::start(&nbin, &root.path().join("js"), nats::free_port());
    let url = format!("nats://127.0.0.1:{}", srv.port);
    // Each sensor sends to NATS and, for the reference, to a directory.
    let (a, b) = (root.path().join("dc-a"), root.path().join("dc-b"));
    replay(
        "dc-a",
        SENSOR_A,
        &[format!("file:{}", a.display()), url.clone()],
    );
    replay(
        "dc-b",
        SENSOR_B,
        &[format!("file:{}", b.display()), url.clone()],
    );
    let total = (batch_files(&a).len() + batch_files(&b).len()) as u64;

    let one = root.path().join("one");
    std::fs::create_dir_all(&one).unwrap();
    let c = Center::start(
        &one,
        &format!("dirs = [\"{}\", \"{}\"]", a.display(), b.display()),
    );
    c.wait_batches(total, 0);
    c.term();
    let reference = digest(&one.join("center.db"));

    let js = root.path().join("via-nats");
    std::fs::create_dir_all(&js).unwrap();
    let ingest = format!("nats = [\"{url}\"]");
    let c = Center::start(&js, &ingest);
    // Killed once a first group is in, started again: the rest comes, nothing twice.
    let deadline = Instant::now() + Duration::from_secs(60);
    while c.metric("dcsensor_center_batches_total") == 0 {
        assert!(Instant::now() < deadline, "nothing applied from JetStream");
        std::thread::sleep(Duration::from_millis(20));
    }
    c.kill();
    let c = Center::start(&js, &ingest);
    wait_applied(&js.join("center.db"), total);
    // Messages of the killed run's last group may come again (not acknowledged): skipped.
    c.term();
    assert_eq!(digest(&js.join("center.db")), reference);
}
