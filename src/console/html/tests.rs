use super::*;

const HOSTILE: &str = "<script>alert(1)</script>\"' onmouseover=\"x\" <img src=x onerror=y>";

#[test]
fn every_interpolated_string_is_escaped() {
    let nav = Nav {
        user: HOSTILE,
        role: HOSTILE,
        csrf: HOSTILE,
        section: "alerts",
    };
    let b = BadgeView {
        product: HOSTILE.into(),
        known: true,
        alerts: 3,
        url: Some(format!("https://portal.example/{HOSTILE}")),
        note: None,
    };
    let s = page(
        HOSTILE,
        Some(&nav),
        html! { p { (HOSTILE) } (badge(&b)) (severity(HOSTILE)) (status(HOSTILE)) (flash("error", HOSTILE)) },
    )
    .into_string();
    assert!(!s.contains("<script>"), "{s}");
    assert!(!s.contains("<img"), "{s}");
    assert!(s.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    // Inside attributes the quotes are escaped too, so no attribute can be opened.
    assert!(!s.contains("\" onmouseover"), "{s}");
    assert!(s.contains("&quot;"));
}

#[test]
fn badge_states_and_links() {
    let mut b = BadgeView {
        product: "Defender for Endpoint".into(),
        known: true,
        alerts: 4,
        url: Some("https://security.example/machines/abc".into()),
        note: None,
    };
    let s = badge(&b).into_string();
    assert!(
        s.starts_with("<a class=\"badge alerts\" href=\"https://security.example/machines/abc\""),
        "{s}"
    );
    assert!(s.contains(">4<"));
    b.alerts = 0;
    assert!(badge(&b).into_string().contains("badge clean"));
    b.known = false;
    b.url = None;
    let s = badge(&b).into_string();
    assert!(s.starts_with("<span class=\"badge unknown\""), "{s}");
    assert!(s.contains("not known to the endpoint product"));
    // A link that is not http(s) is dropped.
    b.known = true;
    b.url = Some("javascript:alert(1)".into());
    let s = badge(&b).into_string();
    assert!(!s.contains("javascript:"), "{s}");
    assert!(s.starts_with("<span"));
}

#[test]
fn safe_href_only_http() {
    assert_eq!(safe_href("https://a/b"), Some("https://a/b"));
    assert_eq!(safe_href("HTTP://a/b"), Some("HTTP://a/b"));
    assert_eq!(safe_href("javascript:x"), None);
    assert_eq!(safe_href(" https://a"), None);
    assert_eq!(safe_href("//evil"), None);
    assert_eq!(safe_href(""), None);
}

#[test]
fn times_are_utc_calendar_dates() {
    assert_eq!(time(0.0), "1970-01-01 00:00:00");
    assert_eq!(time(951_782_400.0), "2000-02-29 00:00:00");
    assert_eq!(time(1_796_137_445.9), "2026-12-01 15:04:05");
    assert_eq!(time(f64::NAN), "");
    assert_eq!(time(-1.0), "");
    assert_eq!(time(1e300), "");
}

#[test]
fn chart_draws_one_bar_per_point_in_range() {
    let pts = [
        Point { t: 3600.0, v: 10.0 },
        Point { t: 7200.0, v: 5.0 },
        Point {
            t: 99_999_999.0,
            v: 7.0,
        },
        Point {
            t: 10_800.0,
            v: 0.0,
        },
    ];
    let s = bar_chart(&pts, 0.0, 4.0 * 3600.0, 3600.0, "logons per hour").into_string();
    assert_eq!(s.matches("<rect class=\"bar\"").count(), 2, "{s}");
    assert!(s.contains("logons per hour"));
    assert!(s.contains(">10<"));
    // The tallest bar fills the plot height, the other half of it.
    assert!(s.contains("height=\"112.0\""), "{s}");
    assert!(s.contains("height=\"56.0\""), "{s}");
    // An empty chart is still a chart.
    let e = bar_chart(&[], 0.0, 0.0, 3600.0, "none").into_string();
    assert!(e.contains("<svg") && !e.contains("<rect"));
}

#[test]
fn numbers_and_cells() {
    assert_eq!(fmt_num(3.0), "3");
    assert_eq!(fmt_num(2.5), "2.50");
    assert_eq!(fmt_num(1234.56), "1235");
    assert_eq!(cell(&serde_json::json!("x")), "x");
    assert_eq!(cell(&serde_json::json!(null)), "");
    assert_eq!(cell(&serde_json::json!([1, "a"])), "[1,\"a\"]");
}
