//! The sensor's metrics server under hostile clients: a live capture on the loopback interface
//! while many connections sit idle or half-written and one sends an oversized header; a scrape
//! still answers within a second, the packet counters keep moving, and every metric the README
//! lists is there with its label.

use std::io::{BufRead, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_dcsensor")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One scrape with a one-second limit on the whole exchange.
fn scrape(addr: SocketAddr, path: &str) -> Result<String, String> {
    let started = Instant::now();
    let mut s =
        TcpStream::connect_timeout(&addr, Duration::from_secs(1)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    s.read_to_end(&mut out)
        .map_err(|e| format!("no answer within a second: {e}"))?;
    if started.elapsed() > Duration::from_secs(1) {
        return Err(format!("answered after {:?}", started.elapsed()));
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

fn value(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in: {text}"))
}

/// The metric names (and label names) the README's Metrics paragraph lists.
fn readme_metrics() -> Vec<(String, Option<String>)> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme
        .find("**Metrics.**")
        .expect("README has a Metrics paragraph");
    let para = &readme[start
        ..readme[start..]
            .find("\n\n")
            .map_or(readme.len(), |e| start + e)];
    let mut out = Vec::new();
    for piece in para.split('`').skip(1).step_by(2) {
        let Some(m) = piece.strip_prefix("dcsensor_") else {
            continue;
        };
        if m.ends_with('*') {
            continue; // a family (dcsensor_upstream_*), present only with an upstream sink
        }
        let (name, label) = match m.split_once('{') {
            Some((n, l)) => (n, l.split('=').next().map(str::to_string)),
            None => (m, None),
        };
        out.push((format!("dcsensor_{name}"), label));
    }
    out
}

#[test]
fn a_scrape_answers_while_hostile_clients_hold_connections_and_capture_goes_on() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        assert!(
            std::env::var("CI").is_err(),
            "under CI this test runs as root"
        );
        eprintln!("SKIP: capturing on lo needs root");
        return;
    }
    let port = free_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut child = Command::new(bin())
        .args(["live", "-i", "lo", "--workers", "2", "-o", "/dev/null"])
        .args(["--metrics", &addr.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
    let sensor = Killed(child);
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            err.read_line(&mut line).unwrap() > 0,
            "the sensor exited before capturing"
        );
        if line.contains("capturing") {
            break;
        }
    }
    std::thread::spawn(move || for _ in err.lines() {});

    // Traffic on lo for the whole test: UDP datagrams to the discard port.
    let stop = Arc::new(AtomicBool::new(false));
    let traffic = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
            while !stop.load(Ordering::Relaxed) {
                let _ = sock.send_to(b"dcsensor metrics test", "127.0.0.1:9");
                std::thread::sleep(Duration::from_micros(500));
            }
        })
    };

    // Hostile clients: 100 idle connections, 100 with half a request line or half a head.
    let mut held = Vec::new();
    for i in 0..200 {
        let mut s = TcpStream::connect(addr).unwrap();
        if i % 2 == 1 {
            let part: &[u8] = if i % 4 == 1 {
                b"GET /metr"
            } else {
                b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: a"
            };
            s.write_all(part).unwrap();
        }
        held.push(s);
    }
    // One oversized head: refused with 431, promptly.
    let mut big = TcpStream::connect(addr).unwrap();
    big.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut req = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ".to_vec();
    req.extend(std::iter::repeat_n(b'b', 256 * 1024));
    req.extend(b"\r\n\r\n");
    let _ = big.write_all(&req);
    let mut answer = Vec::new();
    let _ = big.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 431"),
        "oversized head answered: {answer}"
    );

    // Scrapes answer within a second each, and the counters move between them.
    let first = scrape(addr, "/metrics").unwrap();
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    let p1 = value(&first, "dcsensor_packets_total");
    std::thread::sleep(Duration::from_millis(1500));
    let second = scrape(addr, "/metrics").unwrap();
    let p2 = value(&second, "dcsensor_packets_total");
    assert!(p2 > p1, "packet counter stood still: {p1} then {p2}");
    let health = scrape(addr, "/healthz").unwrap();
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    // The hostile connections were still open during those scrapes (their head timeout is 5 s).
    assert_eq!(held.len(), 200);

    // Every metric the README names is exposed, with the label it names.
    let listed = readme_metrics();
    assert!(listed.len() >= 9, "README lists {listed:?}");
    for (name, label) in listed {
        let found = second.lines().any(|l| match &label {
            Some(lab) => l.starts_with(&format!("{name}{{{lab}=\"")),
            None => l.starts_with(&format!("{name} ")),
        });
        assert!(found, "{name} {label:?} missing from: {second}");
    }

    stop.store(true, Ordering::Relaxed);
    traffic.join().unwrap();
    drop(held);
    let mut sensor = sensor;
    let _ = Command::new("kill")
        .args(["-TERM", &sensor.0.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = sensor.0.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "no exit within 20 s of TERM");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "{status}");
}
