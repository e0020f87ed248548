use super::*;
use axum::routing::get;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Instant;

fn app() -> Router {
    Router::new().route(
        "/peer",
        get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.ip().to_string() }),
    )
}

fn exchange(addr: SocketAddr, request: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn handlers_see_the_peer_address() {
    let srv =
        ThreadServer::start("t", "t-http", "127.0.0.1:0", app(), Limits::default(), None).unwrap();
    let r = exchange(
        srv.addr,
        b"GET /peer HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    assert!(r.ends_with("127.0.0.1"), "{r}");
}

#[test]
fn an_oversized_head_is_refused_with_431() {
    let limits = Limits {
        max_header_bytes: 8192,
        ..Limits::default()
    };
    let srv = ThreadServer::start("t", "t-http", "127.0.0.1:0", app(), limits, None).unwrap();
    let mut req = b"GET /peer HTTP/1.1\r\nHost: x\r\nX-Big: ".to_vec();
    req.extend(std::iter::repeat_n(b'a', 64 * 1024));
    req.extend(b"\r\n\r\n");
    let r = exchange(srv.addr, &req);
    assert!(r.starts_with("HTTP/1.1 431"), "{r}");
}

#[test]
fn a_slow_head_is_cut_off_after_the_header_timeout() {
    let limits = Limits {
        header_read_timeout: Duration::from_millis(300),
        ..Limits::default()
    };
    let srv = ThreadServer::start("t", "t-http", "127.0.0.1:0", app(), limits, None).unwrap();
    let started = Instant::now();
    // Half a request line, then nothing: the server closes the connection.
    let r = exchange(srv.addr, b"GET /pe");
    assert!(!r.contains("200 OK"), "{r}");
    assert!(started.elapsed() < Duration::from_secs(5));
    // The server's task counts it right after closing.
    let until = Instant::now() + Duration::from_secs(5);
    while srv.stats.failed.load(Ordering::Relaxed) == 0 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(srv.stats.failed.load(Ordering::Relaxed), 1);
}

#[test]
fn tls_with_a_certificate_from_pem_files() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-nodes", "-days", "1", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost"])
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output();
    match made {
        Ok(o) if o.status.success() => {}
        _ => {
            assert!(
                std::env::var("CI").is_err(),
                "openssl is needed to make a test certificate"
            );
            eprintln!("SKIP: openssl not found, TLS test not run");
            return;
        }
    }
    let config = tls_config(&cert, &key).unwrap();
    let srv = ThreadServer::start(
        "t",
        "t-https",
        "127.0.0.1:0",
        app(),
        Limits::default(),
        Some(config),
    )
    .unwrap();
    // A real TLS client: rustls with the certificate as its only root.
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_file_iter(&cert).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let client = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut conn = rustls::ClientConnection::new(Arc::new(client), name).unwrap();
    let mut sock = TcpStream::connect(srv.addr).unwrap();
    let mut tls = rustls::Stream::new(&mut conn, &mut sock);
    tls.write_all(b"GET /peer HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut out = Vec::new();
    let _ = tls.read_to_end(&mut out);
    let r = String::from_utf8_lossy(&out);
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    // A wrong key for the certificate is an error that says so.
    let other = dir.path().join("other.pem");
    std::process::Command::new("openssl")
        .args(["genpkey", "-algorithm", "ed25519", "-out"])
        .arg(&other)
        .output()
        .unwrap();
    let e = tls_config(&cert, &other).unwrap_err();
    assert!(e.contains("do not go together"), "{e}");
}
