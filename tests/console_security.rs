//! The console's security over HTTP: nothing without authentication, CSRF tokens checked,
//! roles enforced, wrong passwords slowed, hostile strings escaped in every page.

#[path = "support/center.rs"]
mod center;

use center::{Center, HOSTILE_USER, PASSWORD};
use dcsensor::center::store::read::seg;
use dcsensor::console::auth::{Role, ThrottleSettings};
use dcsensor::console::users;
use reqwest::{redirect::Policy, Client, StatusCode};
use std::time::Duration;

fn client() -> Client {
    Client::builder().redirect(Policy::none()).build().unwrap()
}

/// Signs `name` in; returns the session cookie (`name=value`).
async fn sign_in(c: &Center, name: &str) -> String {
    let r = client()
        .post(format!("{}/login", c.url))
        .form(&[("name", name), ("password", PASSWORD), ("next", "/alerts")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "{name}: {:?}",
        r.text().await
    );
    let set = r.headers()[reqwest::header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_string();
    for attr in ["HttpOnly", "Secure", "SameSite=Strict"] {
        assert!(set.contains(attr), "session cookie without {attr}: {set}");
    }
    set.split(';').next().unwrap().to_string()
}

async fn page(c: &Center, cookie: &str, path: &str) -> (StatusCode, String) {
    let r = client()
        .get(format!("{}{path}", c.url))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

fn csrf_of(html: &str) -> String {
    let i = html
        .find("name=\"csrf\" value=\"")
        .expect("a form with a CSRF token")
        + 19;
    html[i..i + html[i..].find('"').unwrap()].to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_page_or_api_without_authentication() {
    let c = Center::start(ThrottleSettings::default()).await;
    let id = seg(&c.alert_ids[0]);
    let gets = [
        "/".to_string(),
        "/alerts".into(),
        format!("/alerts/{id}"),
        c.known.url(),
        "/sensors".into(),
        "/search?q=a".into(),
        "/exclusions".into(),
        "/audit".into(),
        "/api/alerts".into(),
        format!("/api/alerts/{id}"),
        "/api/sensors".into(),
        "/api/search?q=a".into(),
        format!("/api/entities/computer/{}", seg(&c.known.name)),
        "/metrics".into(),
        "/healthz".into(),
    ];
    for (cookie, bearer) in [("", ""), ("dcs_session=forged", ""), ("", "dcs_forged")] {
        for p in &gets {
            let mut rq = client().get(format!("{}{p}", c.url));
            if !cookie.is_empty() {
                rq = rq.header("cookie", cookie);
            }
            if !bearer.is_empty() {
                rq = rq.bearer_auth(bearer);
            }
            let r = rq.send().await.unwrap();
            if p.starts_with("/api/") || p == "/metrics" || p == "/healthz" {
                assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "GET {p}");
            } else {
                assert_eq!(r.status(), StatusCode::SEE_OTHER, "GET {p}");
                let to = r.headers()["location"].to_str().unwrap();
                assert!(to.starts_with("/login"), "GET {p} -> {to}");
            }
        }
        for p in [
            format!("/alerts/{id}/status"),
            format!("/alerts/{id}/exclude"),
            "/logout".into(),
            "/exclusions/1/remove".into(),
        ] {
            let mut rq = client().post(format!("{}{p}", c.url)).form(&[
                ("status", "resolved"),
                ("field", "source_ip"),
                ("csrf", ""),
            ]);
            if !cookie.is_empty() {
                rq = rq.header("cookie", cookie);
            }
            if !bearer.is_empty() {
                rq = rq.bearer_auth(bearer);
            }
            let r = rq.send().await.unwrap();
            assert_eq!(r.status(), StatusCode::SEE_OTHER, "POST {p}");
        }
    }
    assert_eq!(
        c.store
            .alert(&c.alert_ids[0])
            .await
            .unwrap()
            .unwrap()
            .row
            .status,
        "open"
    );
    // The login form and the style sheet are all there is without signing in.
    assert_eq!(
        client()
            .get(format!("{}/login", c.url))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    // An API token reads; a viewer's token cannot change, an analyst's can.
    let viewer = users::add_token(&c.store, "reader", Role::Viewer, "test")
        .await
        .unwrap();
    let analyst = users::add_token(&c.store, "triage", Role::Analyst, "test")
        .await
        .unwrap();
    let r = client()
        .get(format!("{}/api/alerts", c.url))
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let list: serde_json::Value = r.json().await.unwrap();
    assert_eq!(list.as_array().unwrap().len(), c.alert_ids.len() + 1);
    let body = serde_json::json!({"status": "resolved", "note": "via API"});
    let r = client()
        .post(format!("{}/api/alerts/{id}/status", c.url))
        .bearer_auth(&viewer)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = client()
        .post(format!("{}/api/alerts/{id}/status", c.url))
        .bearer_auth(&analyst)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        c.store
            .alert(&c.alert_ids[0])
            .await
            .unwrap()
            .unwrap()
            .row
            .status,
        "resolved"
    );
    // Every change is in the audit log, and no secret is.
    let audit = c.store.audit_log(100, 0).await.unwrap();
    assert!(audit
        .iter()
        .any(|a| a.action == "alert.status" && a.actor == "token:triage"));
    assert!(audit
        .iter()
        .any(|a| a.action == "token.add" && a.object == "reader"));
    for a in &audit {
        assert!(
            !a.detail.contains(&viewer) && !a.detail.contains(PASSWORD),
            "{a:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_csrf_token_is_refused() {
    let c = Center::start(ThrottleSettings::default()).await;
    let cookie = sign_in(&c, "ana").await;
    let id = seg(&c.alert_ids[0]);
    let (s, html) = page(&c, &cookie, &format!("/alerts/{id}")).await;
    assert_eq!(s, StatusCode::OK);
    let csrf = csrf_of(&html);
    assert!(csrf.len() >= 40);
    let forged = format!("{}x", &csrf[..csrf.len() - 1]);
    for token in [forged.as_str(), "", "0"] {
        let r = client()
            .post(format!("{}/alerts/{id}/status", c.url))
            .header("cookie", &cookie)
            .form(&[("csrf", token), ("status", "resolved"), ("note", "forged")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "csrf `{token}`");
    }
    assert_eq!(
        c.store
            .alert(&c.alert_ids[0])
            .await
            .unwrap()
            .unwrap()
            .row
            .status,
        "open"
    );
    let r = client()
        .post(format!("{}/alerts/{id}/status", c.url))
        .header("cookie", &cookie)
        .form(&[
            ("csrf", csrf.as_str()),
            ("status", "resolved"),
            ("note", "checked"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        c.store
            .alert(&c.alert_ids[0])
            .await
            .unwrap()
            .unwrap()
            .row
            .status,
        "resolved"
    );
    // A session's token does not work for another session.
    let other = sign_in(&c, "adam").await;
    let r = client()
        .post(format!("{}/alerts/{id}/exclude", c.url))
        .header("cookie", &other)
        .form(&[
            ("csrf", csrf.as_str()),
            ("field", "source_ip"),
            ("note", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(c.store.exclusions().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_wrong_passwords_are_slowed() {
    let settings = ThrottleSettings {
        free_failures: 2,
        base_delay: Duration::from_secs(30),
        ..Default::default()
    };
    let c = Center::start(settings).await;
    let attempt = |name: &'static str, pw: &'static str| {
        let url = format!("{}/login", c.url);
        async move {
            client()
                .post(url)
                .form(&[("name", name), ("password", pw)])
                .send()
                .await
                .unwrap()
        }
    };
    for _ in 0..3 {
        assert_eq!(
            attempt("ana", "wrong password!").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    // Now even the right password waits.
    let r = attempt("ana", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&wait), "{wait}");
    assert!(r.text().await.unwrap().contains("Too many wrong passwords"));
    // From the same address, another account waits as well (spraying is slowed too).
    assert_eq!(
        attempt("vic", PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    let audit = c.store.audit_log(100, 0).await.unwrap();
    assert_eq!(
        audit.iter().filter(|a| a.action == "login.failed").count(),
        3
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_strings_from_records_are_escaped_in_every_page() {
    let c = Center::start(ThrottleSettings::default()).await;
    let cookie = sign_in(&c, "adam").await;
    let hostile = format!("/alerts/{}", seg(&c.hostile_alert));
    for path in [
        "/alerts",
        hostile.as_str(),
        "/search?q=script",
        "/audit",
        "/sensors",
        "/exclusions",
    ] {
        let (s, html) = page(&c, &cookie, path).await;
        assert_eq!(s, StatusCode::OK, "{path}");
        assert!(
            !html.contains("<script") && !html.contains("<img"),
            "{path}: {html}"
        );
        // No attribute was closed early by a quote from a record.
        assert!(!html.contains("\"'>"), "{path}");
    }
    let (_, html) = page(&c, &cookie, &hostile).await;
    assert!(html.contains("&lt;script&gt;"), "{html}");
    let (_, search) = page(&c, &cookie, "/search?q=script").await;
    assert!(search.contains("/entity/user/"), "{search}");
    let _ = HOSTILE_USER;
}
