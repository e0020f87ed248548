//! Live capture end to end, as root: two network namespaces joined by a veth pair; the sensor
//! listens on one end (`live`, and `run --config` in mirror mode), `tcpreplay` sends one of our
//! captures from the other; after TERM the sensor has printed the same records as `replay` of
//! that file. The namespaces have no other interface and no route: nothing leaves them.

#[path = "support/netns.rs"]
mod netns;
#[path = "support/skip.rs"]
mod skip;

use netns::{sh, Lab};

use serde_json::Value;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_dcsensor")
}

/// Starts the sensor inside the lab's sensor namespace; its stdout is read as it comes.
fn start_sensor(lab: &Lab, args: &[&str]) -> Sensor {
    let mut child = lab
        .in_sensor(&[bin()])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut s);
        s
    });
    Sensor { child, reader }
}

/// A running sensor and the thread collecting its records.
struct Sensor {
    child: Child,
    reader: std::thread::JoinHandle<String>,
}

/// Waits until the sensor's stderr says it captures (it logs `capturing`).
fn wait_capturing(sensor: &mut Sensor) -> std::io::BufReader<std::process::ChildStderr> {
    use std::io::BufRead;
    let mut err = std::io::BufReader::new(sensor.child.stderr.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut line = String::new();
    while Instant::now() < deadline {
        line.clear();
        if err.read_line(&mut line).unwrap_or(0) == 0 {
            panic!("the sensor exited before capturing");
        }
        if line.contains("capturing") {
            return err;
        }
    }
    panic!("the sensor did not start capturing");
}

fn term_and_collect(sensor: Sensor) -> (i32, Vec<Value>) {
    let Sensor { mut child, reader } = sensor;
    std::thread::sleep(Duration::from_millis(1500)); // let the last packets through the queues
    let _ = sh(&["kill", "-TERM", &child.id().to_string()]);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(_status) = child.try_wait().unwrap() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the sensor did not stop within 30 s of TERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = child.wait().unwrap();
    let text = reader.join().unwrap();
    let recs = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (status.code().unwrap_or(-1), recs)
}

/// A record without what differs between live and replay (the time and round-trip times).
fn normalise(mut r: Value) -> String {
    if let Some(m) = r.as_object_mut() {
        m.remove("ts");
        m.remove("rtt");
        m.remove("till");
    }
    r.to_string()
}

fn records_of(recs: Vec<Value>) -> Vec<String> {
    let mut v: Vec<String> = recs
        .into_iter()
        .filter(|r| r["type"] != "stats")
        .map(normalise)
        .collect();
    v.sort();
    v
}

fn replay_records(pcap: &Path) -> Vec<String> {
    let out = Command::new(bin())
        .args(["replay", "--workers", "1"])
        .arg(pcap)
        .output()
        .unwrap();
    assert!(out.status.success());
    records_of(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect(),
    )
}

const CAPTURE: &str = "testdata-pcaps/lab/07_dns_many_lookups.pcap";

#[test]
fn live_capture_prints_what_replay_prints_and_serves_metrics() {
    let Some(lab) = Lab::new("l") else { return };
    let pcap = Path::new(CAPTURE);
    let expected = replay_records(pcap);
    assert!(!expected.is_empty());
    let mut child = start_sensor(
        &lab,
        &[
            "live",
            "-i",
            &lab.sensor_if,
            "--promisc",
            "--metrics",
            "127.0.0.1:9469",
            "--stats-interval",
            "1",
        ],
    );
    let _err = wait_capturing(&mut child);
    lab.send(pcap, 2000);
    std::thread::sleep(Duration::from_millis(500));
    let metrics = lab.in_sensor_ns(&["curl", "-s", "http://127.0.0.1:9469/metrics"]);
    let text = String::from_utf8_lossy(&metrics.stdout);
    let packets: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("dcsensor_packets_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no packets metric in: {text}"));
    assert!(packets > 0, "metrics answered during the run: {text}");
    let (code, recs) = term_and_collect(child);
    assert_eq!(code, 0);
    let last = recs.last().unwrap();
    assert_eq!(last["type"], "stats");
    assert_eq!(last["last"], true);
    assert_eq!(last["drops"]["queue"], 0);
    assert_eq!(records_of(recs), expected);
}

#[test]
fn run_with_a_config_in_mirror_mode_and_hup_reload_lose_nothing() {
    let Some(lab) = Lab::new("r") else { return };
    let dir = std::env::temp_dir().join(format!("dcsensor-live-run-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("dcsensor.toml");
    let write_cfg = |bpf: &str| {
        std::fs::write(
            &cfg,
            format!(
                "[capture]\ninterfaces = [\"{}\"]\nmode = \"mirror\"\nbpf = \"{bpf}\"\n[output]\nsinks = [\"stdout\"]\n[metrics]\nlisten = \"\"\n[pipeline]\nstats_interval = 1\n",
                lab.sensor_if
            ),
        )
        .unwrap()
    };
    write_cfg("");
    let first = Path::new("testdata-pcaps/lab/01_benign_kerberos_logon.pcap");
    let second = Path::new("testdata-pcaps/lab/05_benign_dns.pcap");
    let mut child = start_sensor(&lab, &["run", "--config", cfg.to_str().unwrap()]);
    let _err = wait_capturing(&mut child);
    lab.send(first, 2000);
    std::thread::sleep(Duration::from_millis(500));
    write_cfg("tcp or udp");
    let _ = sh(&["kill", "-HUP", &child.child.id().to_string()]);
    std::thread::sleep(Duration::from_millis(2500)); // the reload is applied within a second
    lab.send(second, 2000);
    let (code, recs) = term_and_collect(child);
    assert_eq!(code, 0);
    let mut expected = replay_records(first);
    expected.extend(replay_records(second));
    expected.sort();
    assert!(!expected.is_empty());
    assert_eq!(records_of(recs), expected);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn over_budget_the_guard_sheds_load_but_authentication_still_arrives() {
    let Some(lab) = Lab::new("g") else { return };
    let dir = std::env::temp_dir().join(format!("dcsensor-live-guard-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("dcsensor.toml");
    std::fs::write(
        &cfg,
        format!(
            "[capture]\ninterfaces = [\"{}\"]\nmode = \"mirror\"\n[output]\nsinks = [\"stdout\"]\n[metrics]\nlisten = \"\"\n[guard]\ncpu_percent = 0.01\ninterval = 0.2\n",
            lab.sensor_if
        ),
    )
    .unwrap();
    let heavy = Path::new("testdata-pcaps/lab/07_dns_many_lookups.pcap");
    let auth = Path::new("testdata-pcaps/lab/01_benign_kerberos_logon.pcap");
    let mut sensor = start_sensor(&lab, &["run", "--config", cfg.to_str().unwrap()]);
    let _err = wait_capturing(&mut sensor);
    // About four seconds of load: the guard raises the level every 0.2 s while over budget.
    let out = Command::new("ip")
        .args([
            "netns",
            "exec",
            &lab.traffic_ns,
            "tcpreplay",
            "-q",
            "-i",
            &lab.traffic_if,
            "--pps=20000",
            "--loop=220",
        ])
        .arg(heavy)
        .output()
        .unwrap();
    assert!(out.status.success());
    lab.send(auth, 2000);
    let (code, recs) = term_and_collect(sensor);
    assert_eq!(code, 0);
    let last = recs.last().unwrap();
    assert!(
        last["drops"]["shed"].as_u64().unwrap() > 0,
        "shedding is reported: {last}"
    );
    assert_eq!(last["partial"], true);
    let kerberos: Vec<String> = records_of(recs)
        .into_iter()
        .filter(|r| r.contains("\"type\":\"kerberos\""))
        .collect();
    let expected: Vec<String> = replay_records(auth)
        .into_iter()
        .filter(|r| r.contains("\"type\":\"kerberos\""))
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(kerberos, expected, "authentication is never shed");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn started_as_root_it_captures_as_the_user_it_was_told_to_become() {
    let Some(lab) = Lab::new("u") else { return };
    let pcap = Path::new("testdata-pcaps/lab/05_benign_dns.pcap");
    let expected = replay_records(pcap);
    let mut sensor = start_sensor(
        &lab,
        &[
            "live",
            "-i",
            &lab.sensor_if,
            "--promisc",
            "--user",
            "nobody",
        ],
    );
    let _err = wait_capturing(&mut sensor);
    let status = std::fs::read_to_string(format!("/proc/{}/status", sensor.child.id())).unwrap();
    let ids = |key: &str| -> Vec<u32> {
        let line = status.lines().find(|l| l.starts_with(key)).unwrap();
        line.split_whitespace()
            .skip(1)
            .map(|v| v.parse().unwrap())
            .collect()
    };
    let nobody: u32 = String::from_utf8(
        Command::new("id")
            .args(["-u", "nobody"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .parse()
    .unwrap();
    assert_eq!(
        ids("Uid:"),
        vec![nobody; 4],
        "real, effective, saved and filesystem uid"
    );
    assert!(
        ids("Gid:").iter().all(|&g| g != 0),
        "no group of root left: {status}"
    );
    lab.send(pcap, 2000);
    let (code, recs) = term_and_collect(sensor);
    assert_eq!(code, 0);
    assert_eq!(
        records_of(recs),
        expected,
        "the capture opened as root keeps working"
    );
}

#[test]
fn systemd_hears_ready_watchdog_and_stopping() {
    let Some(lab) = Lab::new("n") else { return };
    let dir = std::env::temp_dir().join(format!("dcsensor-notify-live-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sock_path = dir.join("notify.sock");
    let sock = std::os::unix::net::UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut child = Command::new("ip")
        .args([
            "netns",
            "exec",
            &lab.sensor_ns,
            bin(),
            "live",
            "-i",
            &lab.sensor_if,
        ])
        .env("NOTIFY_SOCKET", &sock_path)
        .env("WATCHDOG_USEC", "1000000")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // WATCHDOG_PID is not set, so the sensor accepts the watchdog for itself.
    let mut seen = Vec::new();
    let mut buf = [0u8; 256];
    while seen.len() < 3 {
        let n = sock.recv(&mut buf).expect("a notification within 10 s");
        seen.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    assert_eq!(seen[0], "READY=1", "{seen:?}");
    assert!(seen[1..].iter().all(|m| m == "WATCHDOG=1"), "{seen:?}");
    let _ = sh(&["kill", "-TERM", &child.id().to_string()]);
    let mut last = String::new();
    while let Ok(n) = sock.recv(&mut buf) {
        last = String::from_utf8_lossy(&buf[..n]).into_owned();
        if last == "STOPPING=1" {
            break;
        }
    }
    assert_eq!(last, "STOPPING=1");
    assert!(child.wait().unwrap().success());
    let _ = std::fs::remove_dir_all(&dir);
}

/// `n` copies of each capture, the copy `k` with the lab's client addresses (10.99.0.2 and
/// 10.99.0.3) moved to 10.99.k.2 and 10.99.k.3 (`tcprewrite --pnat`): `n` address pairs with
/// the DC (10.99.0.1) where the lab has one or two.
fn copies_between_many_hosts(dir: &Path, captures: &[&str], n: u32) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for k in 1..=n {
        for c in captures {
            let to = dir.join(format!(
                "{k}-{}",
                Path::new(c).file_name().unwrap().to_str().unwrap()
            ));
            let pnat = format!("--pnat=10.99.0.2/32:10.99.{k}.2/32,10.99.0.3/32:10.99.{k}.3/32");
            assert!(sh(&[
                "tcprewrite",
                &pnat,
                "-i",
                c,
                "-o",
                to.to_str().unwrap()
            ]));
            out.push(to);
        }
    }
    out
}

#[test]
fn fanout_threads_split_the_hosts_and_together_print_what_replay_prints() {
    let Some(lab) = Lab::new("f") else { return };
    if !skip::need_tool("fanout", "tcprewrite", "tcpreplay") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let files = copies_between_many_hosts(
        dir.path(),
        &[
            "testdata-pcaps/lab/01_benign_kerberos_logon.pcap",
            "testdata-pcaps/lab/13_attack_recon_samr_lsarpc.pcap",
            "testdata-pcaps/lab/17_attack_pass_the_hash.pcap",
        ],
        8,
    );
    let out = Command::new(bin())
        .args(["replay", "--workers", "1"])
        .args(&files)
        .output()
        .unwrap();
    assert!(out.status.success());
    let expected = records_of(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect(),
    );
    assert!(expected.len() > 100, "{} records", expected.len());
    let mut child = start_sensor(
        &lab,
        &["live", "-i", &lab.sensor_if, "--promisc", "--fanout", "2"],
    );
    let mut err = wait_capturing(&mut child);
    for f in &files {
        lab.send(f, 5000);
    }
    // Each member's capture thread runs its own flow table: no worker thread of their own
    // (looked at while the run is on: the threads start after `capturing` is logged).
    let threads: Vec<String> = std::fs::read_dir(format!("/proc/{}/task", child.child.id()))
        .unwrap()
        .map(|t| std::fs::read_to_string(t.unwrap().path().join("comm")).unwrap())
        .collect();
    assert!(
        threads.iter().any(|t| t.trim() == "dcsensor-output")
            && !threads.iter().any(|t| t.starts_with("dcsensor-worker")),
        "{threads:?}"
    );
    let (code, recs) = term_and_collect(child);
    assert_eq!(code, 0);
    let last = recs.last().unwrap().clone();
    assert_eq!(last["type"], "stats");
    assert_eq!(last["drops"]["kernel"], 0);
    assert_eq!(records_of(recs), expected);
    // Each thread had its share of the hosts: both read packets, together all of them.
    let mut log = String::new();
    std::io::Read::read_to_string(&mut err, &mut log).unwrap();
    let per_thread: Vec<u64> = log
        .lines()
        .filter(|l| l.contains("capture thread ended"))
        .map(|l| {
            let v = l.split("packets=").nth(1).unwrap();
            v.split_whitespace().next().unwrap().parse().unwrap()
        })
        .collect();
    assert_eq!(per_thread.len(), 2, "{log}");
    assert!(per_thread.iter().all(|&p| p > 0), "{per_thread:?}");
    assert_eq!(
        per_thread.iter().sum::<u64>(),
        last["packets"].as_u64().unwrap()
    );
}
