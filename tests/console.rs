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
