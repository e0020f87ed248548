//! The console as shipped: `dcsensor center user add` and `token add` on a configuration file,
//! then `dcsensor center run` serving the console over the lab's batches, signed in to.

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_dcsensor")
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_and_tokens_from_the_command_line_sign_in_to_a_running_center() {
    let dir = tempfile::tempdir().unwrap();
    let batches = dir.path().join("batches");
    std::fs::create_dir_all(&batches).unwrap();
    let lab = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata-pcaps/lab");
    let out = Command::new(bin())
        .args([
            "replay",
            "--no-progress",
            "--workers",
            "1",
            "--sensor-id",
            "dc-lab",
            "--sink",
        ])
        .arg(format!("file:{}", batches.display()))
        .arg(lab.join("01_benign_kerberos_logon.pcap"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = dir.path().join("center.toml");
    std::fs::write(
        &cfg,
        format!(
            "[store]\nurl = \"sqlite:{}\"\n[ingest]\ndirs = [\"{}\"]\npoll = 0.1\n[api]\nlisten = \"127.0.0.1:{port}\"\n[console]\ntls_dir = \"{}\"\n",
            dir.path().join("center.db").display(),
            batches.display(),
            dir.path().join("tls").display()
        ),
    )
    .unwrap();

    // A password from standard input; too short is refused with what to do.
    let add = |pw: &str| {
        let mut c = Command::new(bin())
            .args(["center", "user", "add", "ana", "--role", "analyst", "-c"])
            .arg(&cfg)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        c.stdin
            .take()
            .unwrap()
            .write_all(format!("{pw}\n").as_bytes())
            .unwrap();
        c.wait_with_output().unwrap()
    };
    let short = add("short");
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 12 characters"));
    let ok = add("a long enough password");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let bad_role = Command::new(bin())
        .args(["center", "token", "add", "bot", "--role", "root", "-c"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&bad_role.stderr).contains("use viewer, analyst or admin"));
    let tok = Command::new(bin())
        .args(["center", "token", "add", "bot", "--role", "viewer", "-c"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(
        tok.status.success(),
        "{}",
        String::from_utf8_lossy(&tok.stderr)
    );
    let token = String::from_utf8(tok.stdout).unwrap().trim().to_string();
    assert!(token.starts_with("dcs_") && token.len() == 47, "{token}");

    let _center = Killed(
        Command::new(bin())
            .args(["center", "run", "-c"])
            .arg(&cfg)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // No certificate configured: HTTPS with the self-signed pair made on first start.
    let base = format!("https://127.0.0.1:{port}");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    // The sensor appears once the center has applied the batches.
    loop {
        let r = http
            .get(format!("{base}/api/sensors"))
            .bearer_auth(&token)
            .send()
            .await;
        if let Ok(r) = r {
            assert_eq!(r.status(), reqwest::StatusCode::OK);
            let v: serde_json::Value = r.json().await.unwrap();
            if v.to_string().contains("dc-lab") {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the center did not serve the lab's sensor"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let r = http
        .get(format!("{base}/api/sensors"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::UNAUTHORIZED);
    let r = http
        .post(format!("{base}/login"))
        .form(&[("name", "ana"), ("password", "a long enough password")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::SEE_OTHER);
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let r = http
        .get(format!("{base}/sensors"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(html.contains("dc-lab") && html.contains("ana"), "{html}");
}
