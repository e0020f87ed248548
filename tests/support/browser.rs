//! Test support: a real headless Chromium driven through WebDriver (Debian's `chromium` and
//! `chromium-driver`), one chromedriver and one fresh browser profile per test, killed at the
//! end; screenshots saved under `target/console-screenshots/`. A test skips (prints why,
//! passes) when either binary is missing, and fails instead under `CI=true`.

#![allow(dead_code)]

use fantoccini::{Client, ClientBuilder};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn find(env: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(env) {
        return Some(PathBuf::from(p));
    }
    let mut cands: Vec<PathBuf> = names
        .iter()
        .flat_map(|n| {
            [
                Path::new("/usr/bin").join(n),
                Path::new("/usr/lib/chromium").join(n),
            ]
        })
        .collect();
    if let Some(path) = std::env::var_os("PATH") {
        for d in std::env::split_paths(&path) {
            cands.extend(names.iter().map(|n| d.join(n)));
        }
    }
    cands.into_iter().find(|p| p.is_file())
}

/// A browser session, its chromedriver and its profile directory.
pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium; None (after printing SKIP) when they are
    /// not installed, a panic under `CI=true`.
    pub async fn start(test: &str) -> Option<Browser> {
        let chromium = find("CHROMIUM", &["chromium", "chromium-browser", "chrome"]);
        let driver = find("CHROMEDRIVER", &["chromedriver"]);
        let (Some(chromium), Some(driver)) = (chromium, driver) else {
            let msg = format!(
                "SKIP {test}: chromium or chromedriver not found (apt-get install chromium chromium-driver, or set CHROMIUM and CHROMEDRIVER)"
            );
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{msg}; CI must have them (.ci/setup)"
            );
            eprintln!("{msg}");
            return None;
        };
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").expect("a free port");
            l.local_addr().unwrap().port()
        };
        let mut child = Command::new(&driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", driver.display()));
        let profile = tempfile::tempdir().unwrap();
        let caps = serde_json::json!({
            "browserName": "chrome",
            "acceptInsecureCerts": true,
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--window-size=1366,900",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            },
        });
        let caps = match caps {
            serde_json::Value::Object(m) => m,
            _ => unreachable!(),
        };
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(60);
        let client = loop {
            let conn = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(conn)
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(c) => break c,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => {
                    let _ = child.kill();
                    panic!("chromedriver on {url} gave no browser session: {e}");
                }
            }
        };
        Some(Browser {
            client,
            driver: child,
            _profile: profile,
        })
    }

    /// Saves a screenshot of the window as `target/console-screenshots/NAME.png` and returns
    /// its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("screenshot");
        assert!(png.starts_with(b"\x89PNG"), "the screenshot is not a PNG");
        let dir = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
            .join("console-screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(format!("{name}.png"));
        std::fs::write(&p, png).unwrap();
        p
    }

    /// Runs `script` in the page and returns its value.
    pub async fn js(&self, script: &str) -> serde_json::Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("script `{script}`: {e}"))
    }

    /// Clicks the element `css` finds and waits (up to 15 s) until the page that click submits
    /// to or links to has loaded: WebDriver may answer a click before the navigation it started
    /// has replaced the document, so reading the URL or the text at once can see the old page.
    pub async fn click_and_wait(&self, css: &str) {
        self.js("window.__dcsensor_old_page = true; return null")
            .await;
        self.client
            .find(fantoccini::Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
        for _ in 0..150 {
            // While the old document unloads a script may fail: that is "not yet".
            let loaded = self
                .client
                .execute(
                    "return window.__dcsensor_old_page === undefined \
                     && document.readyState === 'complete'",
                    vec![],
                )
                .await
                .ok()
                .and_then(|v| v.as_bool());
            if loaded == Some(true) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{css}: the click led to no new page within 15 s");
    }

    /// The page's visible text.
    pub async fn text(&self) -> String {
        self.js("return document.body.innerText")
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Ends the browser session and chromedriver.
    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
