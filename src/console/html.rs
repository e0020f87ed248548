//! The console's page layout and the pieces pages are made of, as maud templates: maud escapes
//! every string it interpolates, so a name, a summary or a field from the wire renders as text
//! whatever it holds (`<script>`, quotes, attributes). Nothing here emits markup from a string
//! without escaping it, and links from outside (the endpoint product's page) are kept only when
//! they are `http:` or `https:`.
//!
//! Pages carry no script: the console works without JavaScript and its Content-Security-Policy
//! forbids scripts altogether. Charts are inline SVG drawn here.

use maud::{html, Markup, DOCTYPE};

/// The style sheet, served at `/static/console.css`.
pub const CSS: &str = include_str!("console.css");

/// Who is signed in, for the navigation bar and the sign-out form.
#[derive(Debug, Clone)]
pub struct Nav<'a> {
    pub user: &'a str,
    pub role: &'a str,
    /// The session's CSRF token, put in every form.
    pub csrf: &'a str,
    /// Which section is shown (`alerts`, `entities`, `sensors`, `audit`...), for the highlight.
    pub section: &'a str,
}

/// A whole page: `title`, the navigation when someone is signed in, and `body`.
pub fn page(title: &str, nav: Option<&Nav>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · dcsensor" }
                link rel="stylesheet" href="/static/console.css";
            }
            body {
                header.top {
                    a.brand href="/" { "dcsensor" span.sub { "center" } }
                    @if let Some(n) = nav {
                        nav {
                            @for (key, label, href) in [("alerts", "Alerts", "/alerts"), ("sensors", "Sensors", "/sensors"), ("exclusions", "Exclusions", "/exclusions"), ("audit", "Audit", "/audit")] {
                                a class=(if n.section == key { "on" } else { "" }) href=(href) { (label) }
                            }
                        }
                        form.search method="get" action="/search" {
                            input type="search" name="q" placeholder="User, computer or address" aria-label="Search";
                            button type="submit" { "Search" }
                        }
                        form.signout method="post" action="/logout" {
                            input type="hidden" name="csrf" value=(n.csrf);
                            span.who { (n.user) " " span.role { (n.role) } }
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// A message box: `kind` is `error`, `ok` or `info`.
pub fn flash(kind: &str, text: &str) -> Markup {
    html! { p class={ "flash " (kind) } { (text) } }
}

/// The endpoint product's view of one entity, for its badge.
#[derive(Debug, Clone, PartialEq)]
pub struct BadgeView {
    /// The product's name (e.g. "Defender for Endpoint").
    pub product: String,
    /// Whether the product knows the entity; grey when not.
    pub known: bool,
    /// The product's alerts for the entity.
    pub alerts: i64,
    /// The product's page for the entity.
    pub url: Option<String>,
    /// Why there is no answer (the product unreachable, not configured), shown on hover.
    pub note: Option<String>,
}

/// `url` when it is an absolute `http:` or `https:` URL, else nothing (no `javascript:`).
pub fn safe_href(url: &str) -> Option<&str> {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://")).then_some(url)
}

/// The endpoint badge: the product's shield with the entity's alert count, red when it has
/// alerts, green when none, grey when the product does not know the entity; a link to the
/// product's page for it when there is one.
pub fn badge(b: &BadgeView) -> Markup {
    let (class, count, title) = if !b.known {
        (
            "badge unknown",
            "?".to_string(),
            match &b.note {
                Some(n) => format!("{}: {n}", b.product),
                None => format!("{}: not known to the endpoint product", b.product),
            },
        )
    } else if b.alerts > 0 {
        (
            "badge alerts",
            b.alerts.to_string(),
            format!("{}: {} alerts", b.product, b.alerts),
        )
    } else {
        (
            "badge clean",
            "0".to_string(),
            format!("{}: no alerts", b.product),
        )
    };
    let inner = html! {
        svg.shield viewBox="0 0 16 16" width="14" height="14" aria-hidden="true" {
            path d="M8 1 L14 3.5 V8 C14 11.5 11.3 14 8 15 C4.7 14 2 11.5 2 8 V3.5 Z" {}
        }
        span.count { (count) }
    };
    match b.url.as_deref().and_then(safe_href) {
        Some(href) => html! {
            a class=(class) href=(href) title=(title) rel="noopener noreferrer" target="_blank" data-known=(b.known) data-alerts=(b.alerts) { (inner) }
        },
        None => html! {
            span class=(class) title=(title) data-known=(b.known) data-alerts=(b.alerts) { (inner) }
        },
    }
}

/// A severity as a coloured label.
pub fn severity(s: &str) -> Markup {
    let class = match s {
        "critical" | "high" | "medium" | "low" | "info" => s,
        _ => "other",
    };
    html! { span class={ "sev " (class) } { (s) } }
}

/// An alert status as a label with its words.
pub fn status(s: &str) -> Markup {
    html! { span class={ "status " (status_class(s)) } { (status_label(s)) } }
}

fn status_class(s: &str) -> &'static str {
    match s {
        "open" => "open",
        "resolved" => "resolved",
        "false_positive" | "benign_true_positive" => "closed",
        _ => "other",
    }
}

/// The words for an alert status.
pub fn status_label(s: &str) -> &str {
    match s {
        "open" => "open",
        "resolved" => "resolved",
        "false_positive" => "closed: false positive",
        "benign_true_positive" => "closed: benign true positive",
        other => other,
    }
}

/// Unix seconds as `YYYY-MM-DD HH:MM:SS` (UTC); empty for a time that is not one.
pub fn time(ts: f64) -> String {
    if !(0.0..=253_402_300_799.0).contains(&ts) {
        return String::new();
    }
    let secs = ts as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day), by 400-year eras.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// One bar of a chart: where it starts (Unix seconds) and its value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub t: f64,
    pub v: f64,
}

/// A bar chart over time as inline SVG: one bar per point, `step` seconds wide, between
/// `from` and `to`; the largest value and the time span labelled. `label` says what is counted.
pub fn bar_chart(points: &[Point], from: f64, to: f64, step: f64, label: &str) -> Markup {
    const W: f64 = 720.0;
    const H: f64 = 140.0;
    const PAD_L: f64 = 44.0;
    const PAD_B: f64 = 20.0;
    let span = (to - from).max(step.max(1.0));
    let max = points.iter().map(|p| p.v).fold(0.0f64, f64::max);
    let plot_w = W - PAD_L - 4.0;
    let plot_h = H - PAD_B - 8.0;
    let bar_w = (plot_w * step / span).max(1.0);
    html! {
        figure.chart {
            svg viewBox={ "0 0 " (W) " " (H) } width="100%" role="img" aria-label=(label) {
                line.axis x1=(PAD_L) y1=(H - PAD_B) x2=(W - 4.0) y2=(H - PAD_B) {}
                line.axis x1=(PAD_L) y1="8" x2=(PAD_L) y2=(H - PAD_B) {}
                text.tick x=(PAD_L - 4.0) y="14" text-anchor="end" { (fmt_num(max)) }
                text.tick x=(PAD_L - 4.0) y=(H - PAD_B) text-anchor="end" { "0" }
                text.tick x=(PAD_L) y=(H - 4.0) { (time(from)) }
                text.tick x=(W - 4.0) y=(H - 4.0) text-anchor="end" { (time(to)) }
                @for p in points.iter().filter(|p| p.t >= from && p.t < to && p.v > 0.0) {
                    @let h = if max > 0.0 { plot_h * p.v / max } else { 0.0 };
                    @let x = PAD_L + plot_w * (p.t - from) / span;
                    rect.bar x=(format!("{x:.1}")) y=(format!("{:.1}", H - PAD_B - h)) width=(format!("{bar_w:.1}")) height=(format!("{h:.1}")) {
                        title { (time(p.t)) ": " (fmt_num(p.v)) }
                    }
                }
            }
            figcaption { (label) }
        }
    }
}

/// A number for people: integers without decimals, others with one or two.
pub fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// A short JSON value for a table cell: strings as they are, the rest as JSON text.
pub fn cell(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests;
