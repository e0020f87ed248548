use super::*;
use std::io::{Read, Write};
use std::net::TcpStream;

fn get(addr: SocketAddr, path: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn serves_counters_in_prometheus_format() {
    let t = Arc::new(Telemetry::default());
    let server = MetricsServer::start("127.0.0.1:0", t.clone(), Limits::default()).unwrap();
    let body = get(server.addr, "/metrics");
    assert!(body.starts_with("HTTP/1.1 200 OK"), "{body}");
    assert!(
        body.contains("content-type: text/plain; version=0.0.4"),
        "{body}"
    );
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

#[test]
fn healthz_follows_the_runs_sign_of_life() {
    let t = Arc::new(Telemetry::default());
    let server = MetricsServer::start("127.0.0.1:0", t.clone(), Limits::default()).unwrap();
    let r = get(server.addr, "/healthz");
    assert!(r.starts_with("HTTP/1.1 503"), "{r}");
    t.mark_alive();
    let r = get(server.addr, "/healthz");
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
}

#[test]
fn refuses_past_the_connection_cap() {
    let t = Arc::new(Telemetry::default());
    let limits = Limits {
        max_connections: 2,
        ..Limits::default()
    };
    let server = MetricsServer::start("127.0.0.1:0", t, limits).unwrap();
    let _a = TcpStream::connect(server.addr).unwrap();
    let _b = TcpStream::connect(server.addr).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    let mut c = TcpStream::connect(server.addr).unwrap();
    c.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let _ = write!(c, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut out = Vec::new();
    // Closed at once without an answer.
    let _ = c.read_to_end(&mut out);
    assert!(out.is_empty(), "{}", String::from_utf8_lossy(&out));
    assert_eq!(server.refused(), 1);
}
