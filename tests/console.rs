//! The console in a real browser (headless Chromium through WebDriver): what people see.

#[path = "support/browser.rs"]
mod browser;

use browser::Browser;
use dcsensor::console::html::{self, BadgeView, Nav};
use maud::html;

/// Strings a record from the wire could carry: a script, quotes that would close an attribute,
/// an element with a handler.
const HOSTILE: &[&str] = &[
    "<script>window.__pwned = 1</script>",
    "\" onfocus=\"window.__pwned=2\" autofocus x=\"",
    "' onmouseover='window.__pwned=3",
    "<img src=x onerror=\"window.__pwned=4\">",
    "<svg onload=\"window.__pwned=5\"></svg>",
];

#[tokio::test]
async fn layout_renders_hostile_strings_inert_in_chromium() {
    let Some(b) = Browser::start("layout_renders_hostile_strings_inert_in_chromium").await else {
        return;
    };
    let all = HOSTILE.join(" ");
    let nav = Nav {
        user: &all,
        role: "viewer",
        csrf: &all,
        section: "alerts",
    };
    let badge = BadgeView {
        product: all.clone(),
        known: true,
        alerts: 2,
        url: Some(format!("https://portal.invalid/{}", HOSTILE[1])),
        note: None,
    };
    let body = html! {
        h1 { (all) }
        table { @for h in HOSTILE { tr { td { (h) } td { (html::severity(h)) } td { (html::status(h)) } } } }
        (html::badge(&badge))
        a href={ "/entity/user/R/" (HOSTILE[1]) } { (HOSTILE[2]) }
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hostile.html");
    std::fs::write(&file, html::page(&all, Some(&nav), body).into_string()).unwrap();
    b.client
        .goto(&format!("file://{}", file.display()))
        .await
        .unwrap();
    // Nothing ran, nothing was added: no script or img element, no handler attribute.
    assert_eq!(b.js("return window.__pwned === undefined").await, true);
    assert_eq!(
        b.js("return document.querySelectorAll('script, img, main svg[onload]').length")
            .await,
        0
    );
    let handlers = b
        .js("return [...document.querySelectorAll('*')].flatMap(e => [...e.attributes].map(a => a.name)).filter(n => n.startsWith('on')).length")
        .await;
    assert_eq!(handlers, 0);
    // The strings show as the text they are.
    let text = b.text().await;
    for h in HOSTILE {
        assert!(text.contains(h), "`{h}` is not shown as text: {text}");
    }
    assert_eq!(
        b.js("return document.title").await.as_str().unwrap(),
        format!("{all} · dcsensor")
    );
    b.screenshot("hostile-layout").await;
    b.close().await;
}

#[path = "support/center.rs"]
mod center;

use center::{Center, HOSTILE_REALM, HOSTILE_USER, PASSWORD};
use dcsensor::console::auth::{Role, ThrottleSettings};
use fantoccini::Locator;

async fn sign_in(b: &Browser, c: &Center, name: &str) {
    b.client.goto(&format!("{}/login", c.url)).await.unwrap();
    b.client
        .find(Locator::Css("#name"))
        .await
        .unwrap()
        .send_keys(name)
        .await
        .unwrap();
    b.client
        .find(Locator::Css("#password"))
        .await
        .unwrap()
        .send_keys(PASSWORD)
        .await
        .unwrap();
    b.click_and_wait(".login button").await;
    let url = b.client.current_url().await.unwrap();
    assert_eq!(
        url.path(),
        "/alerts",
        "{name} was not signed in: {}",
        b.text().await
    );
}

async fn sign_out(b: &Browser) {
    b.click_and_wait("form.signout button").await;
    assert_eq!(b.client.current_url().await.unwrap().path(), "/login");
}

async fn nothing_ran(b: &Browser, what: &str) {
    assert_eq!(
        b.js("return window.__pwned === undefined").await,
        true,
        "{what}: a script ran"
    );
    assert_eq!(
        b.js("return document.querySelectorAll('script, img').length")
            .await,
        0,
        "{what}: markup from a record became an element"
    );
}

async fn alert_status(c: &Center, id: &str) -> String {
    c.store.alert(id).await.unwrap().unwrap().row.status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_in_chromium_sign_in_alerts_evidence_badges_workflow() {
    let Some(b) = Browser::start("console_in_chromium").await else {
        return;
    };
    let c = Center::start(ThrottleSettings::default()).await;

    // Not signed in: any page leads to the sign-in form.
    b.client.goto(&format!("{}/alerts", c.url)).await.unwrap();
    assert_eq!(b.client.current_url().await.unwrap().path(), "/login");
    b.screenshot("login").await;
    sign_in(&b, &c, "ana").await;

    // The alerts list shows the engine's alerts from the lab captures.
    let rows = b
        .js("return document.querySelectorAll('table.alerts tbody tr').length")
        .await;
    assert_eq!(
        rows.as_u64().unwrap() as usize,
        c.alert_ids.len() + 1,
        "{}",
        b.text().await
    );
    b.screenshot("alerts").await;

    // An alert from the lab, with its evidence records as a table.
    let lab_alert = c
        .alert_ids
        .iter()
        .find(|id| !id.starts_with("hostile"))
        .unwrap()
        .clone();
    let link = format!(
        "a[href='/alerts/{}']",
        dcsensor::center::store::read::seg(&lab_alert)
    );
    b.click_and_wait(&link).await;
    let ev = b
        .js("return document.querySelectorAll('table.evidence tbody tr').length")
        .await;
    assert!(
        ev.as_u64().unwrap() >= 1,
        "no evidence row: {}",
        b.text().await
    );
    let attack = b
        .js("return [...document.querySelectorAll('ul.techniques a')].map(a => a.href)")
        .await;
    assert!(
        attack.as_array().is_some_and(|a| !a.is_empty()),
        "no ATT&CK link: {attack}"
    );
    b.screenshot("alert").await;

    // The analyst closes it as a false positive, with a note.
    b.client
        .find(Locator::Css("select[name=status]"))
        .await
        .unwrap()
        .select_by_value("false_positive")
        .await
        .unwrap();
    b.client
        .find(Locator::Css("form[action$='/status'] textarea"))
        .await
        .unwrap()
        .send_keys("lab run: expected")
        .await
        .unwrap();
    b.click_and_wait("form[action$='/status'] button").await;
    assert!(b.text().await.contains("closed: false positive"));
    assert_eq!(alert_status(&c, &lab_alert).await, "false_positive");
    b.screenshot("alert-closed").await;

    // The computer the endpoint product knows: its badge with the stand-in's two alerts,
    // linking to the portal; one it does not know: a grey badge.
    b.client
        .goto(&format!("{}{}", c.url, c.known.url()))
        .await
        .unwrap();
    let badge = b.client.find(Locator::Css("h1 .badge")).await.unwrap();
    assert_eq!(
        badge.attr("class").await.unwrap().as_deref(),
        Some("badge alerts")
    );
    assert_eq!(badge.text().await.unwrap().trim(), "2");
    let href = badge.attr("href").await.unwrap().unwrap_or_default();
    assert!(
        href.starts_with("https://portal.invalid/machines/m-0001"),
        "{href}"
    );
    assert_eq!(
        b.js("return document.querySelectorAll('figure.chart rect.bar').length > 0")
            .await,
        true
    );
    b.screenshot("entity-known").await;
    b.client
        .goto(&format!("{}{}", c.url, c.unknown.url()))
        .await
        .unwrap();
    let badge = b.client.find(Locator::Css("h1 .badge")).await.unwrap();
    assert_eq!(
        badge.attr("class").await.unwrap().as_deref(),
        Some("badge unknown")
    );
    assert_eq!(badge.text().await.unwrap().trim(), "?");
    b.screenshot("entity-unknown").await;

    // The mini-profile in search results carries the badge too.
    b.client
        .goto(&format!("{}/search?q={}", c.url, c.known.name))
        .await
        .unwrap();
    assert!(
        b.client
            .find(Locator::Css(".mini .badge.alerts"))
            .await
            .is_ok(),
        "{}",
        b.text().await
    );
    b.client.goto(&format!("{}/sensors", c.url)).await.unwrap();
    assert!(b.text().await.contains("dc-lab"));
    b.screenshot("sensors").await;

    // A viewer is refused.
    sign_out(&b).await;
    sign_in(&b, &c, "vic").await;
    let other = c
        .alert_ids
        .iter()
        .find(|id| **id != lab_alert)
        .unwrap()
        .clone();
    b.client
        .goto(&format!(
            "{}/alerts/{}",
            c.url,
            dcsensor::center::store::read::seg(&other)
        ))
        .await
        .unwrap();
    b.client
        .find(Locator::Css("select[name=status]"))
        .await
        .unwrap()
        .select_by_value("resolved")
        .await
        .unwrap();
    b.click_and_wait("form[action$='/status'] button").await;
    let text = b.text().await;
    assert!(
        text.contains("Your role (viewer) cannot change an alert's status"),
        "{text}"
    );
    assert_eq!(alert_status(&c, &other).await, "open");
    b.screenshot("viewer-refused").await;

    // Hostile strings from records stay text on every page that shows them.
    let evil = format!(
        "/entity/user/{}/{}",
        dcsensor::center::store::read::seg(&HOSTILE_REALM.to_uppercase()),
        dcsensor::center::store::read::seg(&HOSTILE_USER.to_lowercase())
    );
    for path in [
        "/alerts".to_string(),
        format!(
            "/alerts/{}",
            dcsensor::center::store::read::seg(&c.hostile_alert)
        ),
        evil,
        "/search?q=script".to_string(),
    ] {
        b.client.goto(&format!("{}{path}", c.url)).await.unwrap();
        nothing_ran(&b, &path).await;
        assert!(
            b.text().await.contains(HOSTILE_USER),
            "{path}: the hostile name is not shown as text: {}",
            b.text().await
        );
    }
    b.client
        .goto(&format!(
            "{}/alerts/{}",
            c.url,
            dcsensor::center::store::read::seg(&c.hostile_alert)
        ))
        .await
        .unwrap();
    b.screenshot("hostile-alert").await;
    b.close().await;
    let _ = Role::Viewer;
}
