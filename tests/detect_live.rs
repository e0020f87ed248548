//! Detection in the running sensor, end to end, as root: `dcsensor run` with `[detect] enabled`
//! captures in a network namespace of its own while `tcpreplay` sends a lab capture from another
//! namespace over a veth pair; alerts go to a real nats-server (subject `dcsensor.<id>.alerts`)
//! and in CEF to a syslog collector over TCP (a listener here), both inside the sensor's
//! namespace (nothing leaves the namespaces). After TERM, the alerts on NATS and on syslog are
//! the ones `dcsensor detect` raises on the same capture, each in its final state (TERM flushed
//! the updates still held).

#[path = "support/nats.rs"]
mod nats;
#[path = "support/netns.rs"]
mod netns;
#[path = "support/skip.rs"]
mod skip;

use netns::{enter, sh, Lab};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_dcsensor")
}

/// A syslog collector on TCP inside a namespace: every connection read to its end.
struct Collector {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Vec<Vec<u8>>>,
}

impl Collector {
    fn start(ns_path: String) -> Collector {
        let (tx, rx) = std::sync::mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let st = stop.clone();
        let thread = std::thread::spawn(move || {
            enter(&ns_path);
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.set_nonblocking(true).unwrap();
            tx.send(l.local_addr().unwrap().port()).unwrap();
            let got = Arc::new(Mutex::new(Vec::new()));
            let mut readers = Vec::new();
            while !st.load(Ordering::Relaxed) {
                match l.accept() {
                    Ok((mut s, _)) => {
                        s.set_nonblocking(false).unwrap();
                        let got = got.clone();
                        readers.push(std::thread::spawn(move || {
                            let mut b = Vec::new();
                            let _ = s.read_to_end(&mut b);
                            got.lock().unwrap().push(b);
                        }));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
            for r in readers {
                r.join().unwrap();
            }
            Arc::try_unwrap(got).unwrap().into_inner().unwrap()
        });
        let port = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        Collector { port, stop, thread }
    }

    fn finish(self) -> Vec<Vec<u8>> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap()
    }
}

/// RFC 6587 octet-counted frames.
fn frames(buf: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < buf.len() {
        let sp = buf[i..].iter().position(|&b| b == b' ').unwrap() + i;
        let n: usize = std::str::from_utf8(&buf[i..sp]).unwrap().parse().unwrap();
        out.push(String::from_utf8(buf[sp + 1..sp + 1 + n].to_vec()).unwrap());
        i = sp + 1 + n;
    }
    out
}

/// (externalId, cnt, event class id) of a CEF message in a syslog frame.
fn cef_fields(frame: &str) -> (String, u64, String) {
    let cef = &frame[frame.find("CEF:0|").expect("CEF in the syslog message")..];
    let header: Vec<&str> = cef.splitn(8, '|').collect();
    let ext = header[7];
    let val = |k: &str| {
        let start = ext
            .find(&format!(" {k}="))
            .map(|p| p + 1)
            .or_else(|| ext.starts_with(&format!("{k}=")).then_some(0))?;
        let v = &ext[start + k.len() + 1..];
        Some(v.split(' ').next().unwrap().to_string())
    };
    (
        val("externalId").unwrap(),
        val("cnt").unwrap().parse().unwrap(),
        header[4].to_string(),
    )
}

/// An alert without what differs between a live capture and a replay of its file (times, the
/// id made from the first time, the summary that names the span, record times).
fn normalise(a: &Value) -> String {
    let mut a = a.clone();
    let m = a.as_object_mut().unwrap();
    for k in ["ts", "last_ts", "id", "summary"] {
        m.remove(k);
    }
    if let Some(s) = m.get_mut("source").and_then(Value::as_object_mut) {
        s.remove("host_by");
    }
    if let Some(ev) = m.get_mut("evidence").and_then(Value::as_array_mut) {
        for r in ev {
            if let Some(r) = r.as_object_mut() {
                for k in ["ts", "rtt", "till"] {
                    r.remove(k);
                }
            }
        }
    }
    a.to_string()
}

/// The last emission of every alert id, normalised, sorted.
fn final_states(emissions: &[Value]) -> Vec<String> {
    let mut by_id: BTreeMap<String, &Value> = BTreeMap::new();
    for a in emissions {
        by_id.insert(a["id"].as_str().unwrap().to_string(), a);
    }
    let mut v: Vec<String> = by_id.values().map(|a| normalise(a)).collect();
    v.sort();
    v
}

const CAPTURE: &str = "testdata-pcaps/lab/22_attack_ldap_recon.pcap";
const SENSOR: &str = "dc-live";

#[test]
fn run_with_detect_ships_the_alerts_of_detect_to_nats_and_syslog_and_flushes_on_term() {
    let test = "run_with_detect_ships_alerts";
    let Some(nats_bin) = nats::server_or_skip(test) else {
        return;
    };
    let Some(lab) = Lab::new("det") else { return };
    let dir = tempfile::tempdir().unwrap();
    let ns_path = lab.sensor_ns_path();

    // nats-server and the syslog collector, inside the sensor's namespace
    let store = dir.path().join("js");
    std::fs::create_dir_all(&store).unwrap();
    let port = 4222;
    let mut server: Child = lab
        .in_sensor(&[
            nats_bin.to_str().unwrap(),
            "-js",
            "-sd",
            store.to_str().unwrap(),
            "-p",
            &port.to_string(),
            "-a",
            "127.0.0.1",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let up = lab.inside(move || {
        let end = Instant::now() + Duration::from_secs(20);
        while Instant::now() < end {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    });
    assert!(up, "nats-server did not listen in the sensor's namespace");
    let collector = Collector::start(ns_path.clone());

    let m = std::fs::read_to_string("testdata-pcaps/lab/manifest.tsv").unwrap();
    let dcs: Vec<String> = m
        .lines()
        .filter(|l| l.starts_with("lab\tdc\t"))
        .flat_map(|l| {
            l.split(char::is_whitespace)
                .filter(|t| t.parse::<std::net::IpAddr>().is_ok())
                .map(|t| format!("\"{t}\""))
                .collect::<Vec<_>>()
        })
        .collect();
    let cfg = dir.path().join("dcsensor.toml");
    std::fs::write(
        &cfg,
        format!(
            "[capture]\ninterfaces = [\"{}\"]\nmode = \"mirror\"\n\
             [pipeline]\nworkers = 1\n\
             [output]\nsinks = [\"nats://127.0.0.1:{port}\"]\nspool = \"{}\"\nsensor_id = \"{SENSOR}\"\n\
             [metrics]\nlisten = \"\"\n\
             [detect]\nenabled = true\ndomain_controllers = [{}]\nsyslog = [\"tcp://127.0.0.1:{}\"]\n\
             [detect.golden_ticket]\ntest_mode = true\n[detect.silver_ticket]\ntest_mode = true\n",
            lab.sensor_if,
            dir.path().join("spool").display(),
            dcs.join(", "),
            collector.port
        ),
    )
    .unwrap();

    // what `dcsensor detect` raises on the file, with the same tuning and sensor id
    let out = Command::new(bin())
        .args(["detect", "--sensor-id", SENSOR, "--config"])
        .arg(&cfg)
        .arg(CAPTURE)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected_emissions: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let expected = final_states(&expected_emissions);
    assert!(
        expected.len() >= 3,
        "the capture raises several alerts: {expected:#?}"
    );

    // the sensor
    let mut sensor = lab
        .in_sensor(&[bin(), "run", "--config", cfg.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = std::io::BufReader::new(sensor.stderr.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut log = String::new();
    loop {
        let mut line = String::new();
        let n = std::io::BufRead::read_line(&mut err, &mut line).unwrap_or(0);
        assert!(n > 0, "the sensor exited before capturing: {log}");
        log.push_str(&line);
        if line.contains("capturing") {
            break;
        }
        assert!(Instant::now() < deadline, "the sensor did not start: {log}");
    }
    let log_reader = std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = err.read_to_string(&mut rest);
        rest
    });
    lab.send(Path::new(CAPTURE), 1000);
    std::thread::sleep(Duration::from_millis(1500)); // the last packets through the queues
    assert!(sh(&["kill", "-TERM", &sensor.id().to_string()]));
    let end = Instant::now() + Duration::from_secs(40);
    let status = loop {
        if let Some(s) = sensor.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < end,
            "the sensor did not stop within 40 s of TERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let rest = log_reader.join().unwrap();
    assert!(status.success(), "exit {status:?}: {log}{rest}");

    // NATS: batches of alerts on dcsensor.<id>.alerts
    let url = format!("nats://127.0.0.1:{port}");
    let msgs = lab.inside(move || nats::read_stream(&url, "DCSENSOR", Duration::from_secs(20)));
    let _ = server.kill();
    let _ = server.wait();
    #[derive(serde::Deserialize)]
    struct Batch {
        sensor: String,
        seq: u64,
        records: Vec<Value>,
    }
    let mut emissions = Vec::new();
    let mut records = 0;
    let mut ids = std::collections::BTreeSet::new();
    for m in &msgs {
        let b: Batch = rmp_serde::from_slice(&m.payload).unwrap();
        assert_eq!(b.sensor, SENSOR);
        let id = m.msg_id.clone().expect("Nats-Msg-Id");
        assert!(ids.insert(id.clone()), "message id {id} twice");
        if m.subject == format!("dcsensor.{SENSOR}.alerts") {
            // alert batches have their own seq: their ids must not be those of record batches,
            // or JetStream drops one as a copy of the other
            assert_eq!(id, format!("{SENSOR}-alerts-{}", b.seq));
            assert!(b.records.iter().all(|r| r["type"] == "alert"));
            emissions.extend(b.records);
        } else {
            assert_eq!(m.subject, format!("dcsensor.{SENSOR}.records"));
            assert_eq!(id, format!("{SENSOR}-{}", b.seq));
            records += b.records.iter().filter(|r| r["type"] != "stats").count();
        }
    }
    // every record of the capture was seen live and shipped (none lost on the way)
    let replay = Command::new(bin())
        .args(["replay", "--workers", "1", CAPTURE])
        .output()
        .unwrap();
    let replayed = String::from_utf8_lossy(&replay.stdout)
        .lines()
        .filter(|l| !l.contains("\"type\":\"stats\""))
        .count();
    assert!(replayed > 0);
    assert_eq!(records, replayed, "records shipped vs `dcsensor replay`");
    assert_eq!(
        final_states(&emissions),
        expected,
        "the alerts on NATS are those of `dcsensor detect` {CAPTURE}"
    );

    // syslog: every emission, in CEF, in the same order as on NATS
    let conns = collector.finish();
    let cef: Vec<(String, u64, String)> = conns
        .iter()
        .flat_map(|c| frames(c))
        .map(|f| cef_fields(&f))
        .collect();
    let nats_order: Vec<(String, u64, String)> = emissions
        .iter()
        .map(|a| {
            (
                a["id"].as_str().unwrap().to_string(),
                a["count"].as_u64().unwrap(),
                a["detection"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(cef, nats_order, "syslog carried every alert NATS did");
}
