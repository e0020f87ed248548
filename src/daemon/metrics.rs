//! Prometheus metrics over HTTP: `GET /metrics` in the text exposition format, served by one
//! small thread with bounded reads and timeouts (it is reachable from the network, so its input
//! is as hostile as the wire's).

use crate::pipeline::Telemetry;
use crate::stats::Counter;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Renders every metric in the Prometheus text format.
pub fn render(t: &Telemetry) -> String {
    let snap = t.snapshot();
    let mut s = String::with_capacity(8 * 1024);
    let header = |s: &mut String, name: &str, help: &str, kind: &str| {
        let _ = writeln!(
            s,
            "# HELP dcsensor_{name} {help}\n# TYPE dcsensor_{name} {kind}"
        );
    };
    for &c in Counter::ALL.iter().filter(|c| c.group().is_empty()) {
        if c.is_gauge() {
            header(&mut s, c.name(), c.help(), "gauge");
            let _ = writeln!(s, "dcsensor_{} {}", c.name(), snap.get(c));
        } else {
            header(&mut s, &format!("{}_total", c.name()), c.help(), "counter");
            let _ = writeln!(s, "dcsensor_{}_total {}", c.name(), snap.get(c));
        }
    }
    header(
        &mut s,
        "drops_total",
        "data not analysed, by cause (a drop is never silent)",
        "counter",
    );
    for &c in Counter::ALL.iter().filter(|c| c.group() == "drops") {
        let _ = writeln!(
            s,
            "dcsensor_drops_total{{cause=\"{}\"}} {}",
            c.name(),
            snap.get(c)
        );
    }
    header(
        &mut s,
        "malformed_total",
        "malformed messages, by protocol",
        "counter",
    );
    for &c in Counter::ALL.iter().filter(|c| c.group() == "malformed") {
        let _ = writeln!(
            s,
            "dcsensor_malformed_total{{protocol=\"{}\"}} {}",
            c.name(),
            snap.get(c)
        );
    }
    header(
        &mut s,
        "records_by_type_total",
        "records emitted, by record type",
        "counter",
    );
    for (ty, n) in t.records_by_type() {
        let _ = writeln!(s, "dcsensor_records_by_type_total{{type=\"{ty}\"}} {n}");
    }
    header(
        &mut s,
        "shedding_level",
        "load shedding level of the resource guard (0: full analysis)",
        "gauge",
    );
    let _ = writeln!(
        s,
        "dcsensor_shedding_level {}",
        t.shed_level.load(Ordering::Relaxed)
    );
    for m in t.output_metrics() {
        header(
            &mut s,
            m.name,
            m.help,
            if m.counter { "counter" } else { "gauge" },
        );
        let _ = writeln!(s, "dcsensor_{} {}", m.name, m.value);
    }
    s
}

/// A running metrics server.
pub struct MetricsServer {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl MetricsServer {
    /// Listens on `addr` and serves `telemetry` until dropped.
    pub fn start(addr: &str, telemetry: Arc<Telemetry>) -> Result<MetricsServer, String> {
        let listener = TcpListener::bind(addr).map_err(|e| {
            format!(
                "metrics: cannot listen on {addr}: {e}; pick a free ADDR:PORT or leave metrics off"
            )
        })?;
        let local = listener.local_addr().map_err(|e| format!("metrics: {e}"))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| format!("metrics: {e}"))?;
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let handle = std::thread::Builder::new()
            .name("dcsensor-metrics".into())
            .spawn(move || serve(listener, telemetry, stop2))
            .map_err(|e| format!("metrics: cannot start a thread: {e}"))?;
        Ok(MetricsServer {
            addr: local,
            stop,
            handle: Some(handle),
        })
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn serve(listener: TcpListener, telemetry: Arc<Telemetry>, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((stream, _)) => {
                let _ = answer(stream, &telemetry);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(50))
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

fn answer(mut stream: TcpStream, telemetry: &Telemetry) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    stream.set_write_timeout(Some(Duration::from_secs(2)))?;
    let mut buf = [0u8; 4096];
    let mut len = 0;
    while len < buf.len() && !buf[..len].windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf[len..])?;
        if n == 0 {
            break;
        }
        len += n;
    }
    let head = &buf[..len];
    let (status, body) = if head.starts_with(b"GET /metrics ") || head.starts_with(b"GET /metrics?")
    {
        ("200 OK", render(telemetry))
    } else if head.starts_with(b"GET ") {
        ("404 Not Found", "dcsensor serves /metrics\n".to_string())
    } else {
        ("405 Method Not Allowed", "GET /metrics\n".to_string())
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(addr: SocketAddr, path: &str) -> String {
        let mut s = TcpStream::connect(addr).unwrap();
        write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn serves_counters_in_prometheus_format() {
        let t = Arc::new(Telemetry::default());
        let server = MetricsServer::start("127.0.0.1:0", t.clone()).unwrap();
        let body = get(server.addr, "/metrics");
        assert!(body.starts_with("HTTP/1.1 200 OK"), "{body}");
        assert!(
            body.contains("# TYPE dcsensor_packets_total counter"),
            "{body}"
        );
        assert!(body.contains("dcsensor_packets_total 0"), "{body}");
        assert!(
            body.contains("dcsensor_drops_total{cause=\"queue\"} 0"),
            "{body}"
        );
        assert!(
            body.contains("dcsensor_malformed_total{protocol=\"kerberos\"} 0"),
            "{body}"
        );
        assert!(
            body.contains("# TYPE dcsensor_flows_active gauge"),
            "{body}"
        );
        assert!(get(server.addr, "/").starts_with("HTTP/1.1 404"));
    }
}
