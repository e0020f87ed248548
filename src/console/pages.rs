//! The console's pages (GET, read-only): the alerts timeline with its filters, an alert with its
//! evidence and workflow, entity profiles at their stable URLs with the endpoint badge and an
//! activity chart, sensors, search, exclusions and the audit log. Each reads the store through
//! the same queries as the JSON API.

use super::html::{self, badge, bar_chart, page, severity, status, BadgeView, Nav, Point};
use super::server::{problem, Console};
use super::users::Ident;
use crate::center::endpoint::Badge;
use crate::center::store::admin::{EXCLUSION_FIELDS, STATUSES};
use crate::center::store::now_secs;
use crate::center::store::read::{seg, AlertFilter, AlertRow, Entity};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The navigation bar for `i` on `section`.
pub fn nav<'a>(i: &'a Ident, section: &'a str) -> Nav<'a> {
    Nav {
        user: &i.name,
        role: i.role.as_str(),
        csrf: i.csrf.as_deref().unwrap_or(""),
        section,
    }
}

/// An alert's page.
pub fn alert_url(id: &str) -> String {
    format!("/alerts/{}", seg(id))
}

fn store_failed(i: &Ident, e: impl std::fmt::Display) -> Response {
    tracing::error!("console: {e}");
    problem(
        StatusCode::INTERNAL_SERVER_ERROR,
        Some(i),
        "The store did not answer; see the center's log.",
    )
}

/// The endpoint answer as the badge shows it; None when no product is configured.
fn badge_view(b: &Badge) -> BadgeView {
    BadgeView {
        product: product_name(&b.product),
        known: b.view.as_ref().is_some_and(|v| v.known),
        alerts: b.view.as_ref().map_or(0, |v| v.alerts),
        url: b.view.as_ref().and_then(|v| v.url.clone()),
        note: b.note.clone(),
    }
}

fn product_name(p: &str) -> String {
    match p {
        "mde" => "Microsoft Defender for Endpoint".into(),
        other => other.into(),
    }
}

async fn entity_badge(c: &Console, e: &Entity) -> Option<Badge> {
    let ep = c.api.endpoint.as_ref()?;
    Some(if e.kind == "user" {
        ep.user(&e.realm, &e.name).await
    } else {
        ep.computer(&e.name).await
    })
}

/// An entity in a list: its link, its kind and its endpoint badge.
async fn mini_profile(c: &Console, e: &Entity) -> Markup {
    let b = entity_badge(c, e).await;
    html! {
        span.mini {
            a href=(e.url()) { (display_name(e)) }
            " "
            @if let Some(b) = &b { (badge(&badge_view(b))) }
        }
    }
}

fn display_name(e: &Entity) -> String {
    if e.kind == "user" {
        format!("{}\\{}", e.realm, e.name)
    } else {
        e.name.clone()
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AlertsQuery {
    severity: String,
    phase: String,
    status: String,
    entity: String,
    /// Hours back from now (empty: all).
    hours: String,
    offset: i64,
}

const PAGE: i64 = 100;

fn alert_table(rows: &[AlertRow]) -> Markup {
    html! {
        table.alerts {
            thead { tr { th { "Last seen" } th { "Severity" } th { "Alert" } th { "Source" } th.num { "Count" } th { "Status" } } }
            tbody {
                @for a in rows {
                    tr {
                        td.mono { (html::time(a.last_ts)) }
                        td { (severity(&a.severity)) }
                        td { a href=(alert_url(&a.id)) { (a.title) } div.muted { (a.summary) } }
                        td {
                            @if let Some(u) = &a.source_user { div { (u) } }
                            @if let Some(h) = &a.source_host { div { (h) } }
                            @if let Some(ip) = &a.source_ip { div.mono { (ip) } }
                        }
                        td.num { (a.count) }
                        td { (status(&a.status)) }
                    }
                }
            }
        }
    }
}

fn select(name: &str, label: &str, current: &str, options: &[&str]) -> Markup {
    html! {
        label { (label)
            select name=(name) {
                option value="" { "any" }
                @for o in options {
                    option value=(o) selected[*o == current] { (html::status_label(o)) }
                }
            }
        }
    }
}

/// `/alerts`: the timeline, newest first, with filters.
pub async fn alerts(
    State(c): State<Arc<Console>>,
    Extension(i): Extension<Ident>,
    Query(q): Query<AlertsQuery>,
) -> Response {
    let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
    let mut entity_id = None;
    let mut unknown_entity = false;
    if !q.entity.trim().is_empty() {
        match c.store.search(q.entity.trim(), 1).await {
            Ok(v) if !v.is_empty() => entity_id = Some(v[0].id),
            Ok(_) => unknown_entity = true,
            Err(e) => return store_failed(&i, e),
        }
    }
    let since = q
        .hours
        .parse::<f64>()
        .ok()
        .map(|h| now_secs() as f64 - h * 3600.0);
    let f = AlertFilter {
        severity: opt(&q.severity),
        phase: opt(&q.phase),
        status: opt(&q.status),
        detection: None,
        entity_id,
        since,
        until: None,
        limit: PAGE,
        offset: q.offset.max(0),
    };
    let rows = if unknown_entity {
        Vec::new()
    } else {
        match c.store.alerts(&f).await {
            Ok(r) => r,
            Err(e) => return store_failed(&i, e),
        }
    };
    let phases = [
        "reconnaissance",
        "credential_access",
        "lateral_movement",
        "persistence",
        "privilege_escalation",
        "domain_dominance",
        "exfiltration",
        "health",
    ];
    let body = html! {
        h1 { "Alerts" }
        form.filters method="get" action="/alerts" {
            (select("severity", "Severity", &q.severity, &["high", "medium", "low"]))
            (select("phase", "Phase", &q.phase, &phases))
            (select("status", "Status", &q.status, STATUSES))
            label { "Entity" input type="text" name="entity" value=(q.entity) placeholder="user, computer or address"; }
            label { "Time"
                select name="hours" {
                    @for (v, l) in [("", "all"), ("1", "last hour"), ("24", "last day"), ("168", "last week"), ("720", "last 30 days")] {
                        option value=(v) selected[v == q.hours] { (l) }
                    }
                }
            }
            button type="submit" { "Filter" }
        }
        @if unknown_entity { (html::flash("info", &format!("No user, computer or address matches “{}”.", q.entity))) }
        @if rows.is_empty() { p.muted { "No alert matches." } } @else { (alert_table(&rows)) }
        div.pager {
            @if q.offset > 0 { a href=(page_link(&q, (q.offset - PAGE).max(0))) { "← newer" } }
            @if rows.len() as i64 == PAGE { a href=(page_link(&q, q.offset + PAGE)) { "older →" } }
        }
    };
    page("Alerts", Some(&nav(&i, "alerts")), body).into_response()
}

fn page_link(q: &AlertsQuery, offset: i64) -> String {
    let enc = |s: &str| seg(s);
    format!(
        "/alerts?severity={}&phase={}&status={}&entity={}&hours={}&offset={offset}",
        enc(&q.severity),
        enc(&q.phase),
        enc(&q.status),
        enc(&q.entity),
        enc(&q.hours)
    )
}

/// The evidence records as one table: a column per field (nested fields as JSON text).
fn evidence_table(ev: &[Value]) -> Markup {
    let mut cols: Vec<String> = Vec::new();
    for r in ev {
        if let Value::Object(m) = r {
            for k in m.keys() {
                if !cols.contains(k) && cols.len() < 40 {
                    cols.push(k.clone());
                }
            }
        }
    }
    html! {
        div.scroll {
            table.evidence {
                thead { tr { @for c in &cols { th { (c) } } } }
                tbody {
                    @for r in ev {
                        tr {
                            @for c in &cols {
                                @let v = r.get(c).unwrap_or(&Value::Null);
                                @if c == "ts" { td.mono { (v.as_f64().map(html::time).unwrap_or_else(|| html::cell(v))) } }
                                @else { td.mono { (html::cell(v)) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn attack_links(rec: &Value) -> Markup {
    let ids: Vec<&str> = rec
        .get("attack")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    html! {
        @if ids.is_empty() { span.muted { "none given" } }
        ul.techniques {
            @for t in ids {
                @if let Some(path) = attack_path(t) {
                    li { a href={ "https://attack.mitre.org/techniques/" (path) "/" } rel="noopener noreferrer" { (t) } }
                } @else { li { (t) } }
            }
        }
    }
}

/// `T1558.003` as ATT&CK's path `T1558/003`; None for anything not shaped like an id.
fn attack_path(id: &str) -> Option<String> {
    let (base, sub) = match id.split_once('.') {
        Some((b, s)) => (b, Some(s)),
        None => (id, None),
    };
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if !(base.len() == 5 && base.starts_with('T') && digits(&base[1..], 4)) {
        return None;
    }
    match sub {
        Some(s) if digits(s, 3) => Some(format!("{base}/{s}")),
        Some(_) => None,
        None => Some(base.to_string()),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Changed {
    changed: String,
}

/// `/alerts/{id}`: the alert explained, its evidence, its entities and its workflow.
pub async fn alert(
    State(c): State<Arc<Console>>,
    Extension(i): Extension<Ident>,
    Path(id): Path<String>,
    Query(ch): Query<Changed>,
) -> Response {
    let a = match c.store.alert(&id).await {
        Ok(Some(a)) => a,
        Ok(None) => return problem(StatusCode::NOT_FOUND, Some(&i), "There is no such alert."),
        Err(e) => return store_failed(&i, e),
    };
    let r = &a.row;
    let ev: Vec<Value> = a
        .record
        .get("evidence")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut ents = Vec::new();
    for (e, role) in &a.entities {
        ents.push((mini_profile(&c, e).await, role.clone()));
    }
    let csrf = i.csrf.clone().unwrap_or_default();
    let host_by = a.record.pointer("/source/host_by").map(html::cell);
    let targets = a.record.get("targets").map(html::cell);
    let body = html! {
        h1 { (severity(&r.severity)) " " (r.title) }
        @if !ch.changed.is_empty() { (html::flash("ok", "Status changed.")) }
        div.panel {
            p { (r.summary) }
            dl.profile {
                div { dt { "Status" } dd { (status(&r.status)) } }
                div { dt { "Detection" } dd.mono { (r.detection) } }
                div { dt { "Phase" } dd { (r.phase) } }
                div { dt { "First evidence" } dd.mono { (html::time(r.ts)) } }
                div { dt { "Latest evidence" } dd.mono { (html::time(r.last_ts)) } }
                div { dt { "Evidence records" } dd { (r.count) } }
                div { dt { "Source user" } dd { (r.source_user.as_deref().unwrap_or("—")) } }
                div { dt { "Source host" } dd { (r.source_host.as_deref().unwrap_or("—")) @if let Some(b) = &host_by { span.muted { " (" (b) ")" } } } }
                div { dt { "Source address" } dd.mono { (r.source_ip.as_deref().unwrap_or("—")) } }
                div { dt { "Targets" } dd.mono { (targets.as_deref().unwrap_or("—")) } }
                div { dt { "Sensors" } dd { (r.sensors.join(", ")) } }
                div { dt { "ATT&CK" } dd { (attack_links(&a.record)) } }
            }
        }
        @if !ents.is_empty() {
            h2 { "Entities" }
            table { thead { tr { th { "Entity" } th { "Role" } } }
                tbody { @for (m, role) in &ents { tr { td { (m) } td { (role) } } } } }
        }
        h2 { "Evidence (" (ev.len()) " of " (r.count) ")" }
        (evidence_table(&ev))
        h2 { "Workflow" }
        div.workflow {
            form.panel method="post" action={ (alert_url(&r.id)) "/status" } {
                input type="hidden" name="csrf" value=(csrf);
                label { "Status " select name="status" {
                    @for s in STATUSES { option value=(s) selected[*s == r.status] { (html::status_label(s)) } }
                } }
                textarea name="note" placeholder="Note: what you found, why" {}
                button type="submit" { "Set status" }
            }
            form.panel method="post" action={ (alert_url(&r.id)) "/exclude" } {
                input type="hidden" name="csrf" value=(csrf);
                p { "Exclude this source from " span.mono { (r.detection) } " (admins):" }
                select name="field" {
                    @for f in EXCLUSION_FIELDS {
                        @let v = match *f { "source_ip" => &r.source_ip, "source_host" => &r.source_host, _ => &r.source_user };
                        @if let Some(v) = v { option value=(f) { (f) " = " (v) } }
                    }
                }
                textarea name="note" placeholder="Why this source is benign" {}
                button.secondary type="submit" { "Exclude" }
            }
        }
        @if !a.notes.is_empty() {
            h2 { "History" }
            table { thead { tr { th { "When" } th { "Who" } th { "Status" } th { "Note" } } }
                tbody { @for n in &a.notes { tr {
                    td.mono { (html::time(n.at as f64)) } td { (n.actor) }
                    td { @if let Some(s) = &n.status { (status(s)) } } td { (n.note) }
                } } } }
        }
    };
    page(&r.title, Some(&nav(&i, "alerts")), body).into_response()
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Days {
    days: Option<i64>,
}

async fn entity_page(c: &Console, i: &Ident, e: Option<Entity>, d: &Days) -> Response {
    let Some(e) = e else {
        return problem(
            StatusCode::NOT_FOUND,
            Some(i),
            "This user or computer has not been seen.",
        );
    };
    let days = d.days.unwrap_or(30).clamp(1, 366);
    let to = now_secs() + 3600;
    let from = to - days * 86400;
    let b = entity_badge(c, &e).await;
    let activity = match c
        .store
        .activity(e.id, from.min(e.first_seen as i64), to)
        .await
    {
        Ok(a) => a,
        Err(err) => return store_failed(i, err),
    };
    let p = match c
        .store
        .profile(e.clone(), from.min(e.first_seen as i64), to, 50)
        .await
    {
        Ok(p) => p,
        Err(err) => return store_failed(i, err),
    };
    // The chart spans what was seen (at least a day), hour by hour.
    let mut per_hour: BTreeMap<i64, f64> = BTreeMap::new();
    for r in &activity {
        *per_hour.entry(r.hour).or_default() += r.n as f64;
    }
    let first = per_hour.keys().next().copied().unwrap_or(from) as f64;
    let last = per_hour.keys().last().copied().unwrap_or(to) as f64 + 3600.0;
    let (cfrom, cto) = if last - first < 86400.0 {
        (last - 86400.0, last)
    } else {
        (first, last)
    };
    let points: Vec<Point> = per_hour
        .iter()
        .map(|(h, v)| Point {
            t: *h as f64,
            v: *v,
        })
        .collect();
    let mut by_metric: BTreeMap<&str, Vec<(&str, i64)>> = BTreeMap::new();
    for t in &p.totals {
        by_metric
            .entry(&t.metric)
            .or_default()
            .push((&t.detail, t.n));
    }
    let kind = if e.kind == "user" { "User" } else { "Computer" };
    let body = html! {
        h1 { (kind) " " (display_name(&e)) " " @if let Some(b) = &b { (badge(&badge_view(b))) } }
        div.panel {
            dl.profile {
                div { dt { "First seen" } dd.mono { (html::time(e.first_seen)) } }
                div { dt { "Last seen" } dd.mono { (html::time(e.last_seen)) } }
                div { dt { "Open alerts" } dd { (p.alerts_open) } }
                div { dt { "Alerts" } dd { (p.alerts_total) } }
                @if let Some(b) = &b {
                    div { dt { (product_name(&b.product)) } dd {
                        (badge(&badge_view(b)))
                        @if let Some(n) = &b.note { span.muted { " " (n) } }
                        @else if b.view.as_ref().is_some_and(|v| !v.known) { span.muted { " not known to the endpoint product" } }
                    } }
                }
                div { dt { "Stable link" } dd.mono { (e.url()) } }
            }
        }
        h2 { "Activity" }
        (bar_chart(&points, cfrom, cto, 3600.0, "records per hour"))
        @if !p.addresses.is_empty() {
            h2 { "Addresses" }
            table { thead { tr { th { "Address" } th { "First" } th { "Last" } th { "Learned from" } } }
                tbody { @for a in &p.addresses { tr { td.mono { (a.addr) } td.mono { (html::time(a.first_seen)) } td.mono { (html::time(a.last_seen)) } td { (a.how) } } } } }
        }
        @for (metric, rows) in &by_metric {
            h2 { (metric_title(metric)) }
            table { thead { tr { th { "What" } th.num { "Count" } } }
                tbody { @for (d, n) in rows.iter().take(50) { tr { td.mono { (d) } td.num { (n) } } } } }
        }
        h2 { "Alerts" }
        @if p.alerts.is_empty() { p.muted { "No alert names this entity." } } @else { (alert_table(&p.alerts)) }
    };
    page(&display_name(&e), Some(&nav(i, "")), body).into_response()
}

fn metric_title(m: &str) -> &str {
    match m {
        "logon" => "Logons by protocol and encryption",
        "source" => "Came from",
        "service" => "Services reached",
        "share" => "Shares reached",
        "failure" => "Failures",
        "user" => "Users seen",
        other => other,
    }
}

/// `/entity/user/{realm}/{name}`.
pub async fn user(
    State(c): State<Arc<Console>>,
    Extension(i): Extension<Ident>,
    Path((realm, name)): Path<(String, String)>,
    Query(d): Query<Days>,
) -> Response {
    match c.store.user(&realm, &name).await {
        Ok(e) => entity_page(&c, &i, e, &d).await,
        Err(e) => store_failed(&i, e),
    }
}

/// `/entity/computer/{fqdn}`.
pub async fn computer(
    State(c): State<Arc<Console>>,
    Extension(i): Extension<Ident>,
    Path(fqdn): Path<String>,
    Query(d): Query<Days>,
) -> Response {
    match c.store.computer(&fqdn).await {
        Ok(e) => entity_page(&c, &i, e, &d).await,
        Err(e) => store_failed(&i, e),
    }
}

/// `/sensors`: each sensor's health and its records per second over the last day.
pub async fn sensors(State(c): State<Arc<Console>>, Extension(i): Extension<Ident>) -> Response {
    let list = match c.store.sensors(c.api.silent_after).await {
        Ok(l) => l,
        Err(e) => return store_failed(&i, e),
    };
    let mut charts = Vec::new();
    for s in &list {
        let since = s.last_seen as f64 - 86400.0;
        let pts = c
            .store
            .sensor_series(&s.id, since)
            .await
            .unwrap_or_default();
        let (from, to) = match (pts.first(), pts.last()) {
            (Some(a), Some(b)) if b.ts - a.ts >= 60.0 => (a.ts, b.ts + 60.0),
            (_, Some(b)) => (b.ts - 3600.0, b.ts + 60.0),
            _ => (since, since + 86400.0),
        };
        let points: Vec<Point> = pts
            .iter()
            .map(|p| Point {
                t: p.ts,
                v: p.records_per_s,
            })
            .collect();
        let step = ((to - from) / 120.0).max(1.0);
        charts.push(bar_chart(
            &points,
            from,
            to,
            step,
            &format!("{}: records per second", s.id),
        ));
    }
    let body = html! {
        h1 { "Sensors" }
        @if list.is_empty() { p.muted { "No sensor has reported yet." } }
        @else {
            table { thead { tr { th { "Sensor" } th { "Host" } th { "Health" } th { "Last heard" } th.num { "Packets" } th.num { "Drops" } th.num { "Records" } th.num { "Records/s" } } }
                tbody { @for s in &list { tr {
                    td.mono { (s.id) } td { (s.host) }
                    td { @if s.silent { span.status.open { "silent" } } @else { span.status.resolved { "reporting" } } }
                    td.mono { (html::time(s.last_seen as f64)) }
                    td.num { (s.packets) } td.num { (s.drops) } td.num { (s.records) } td.num { (html::fmt_num(s.records_per_s)) }
                } } } }
            @for ch in &charts { h2 { "" } (ch) }
        }
    };
    page("Sensors", Some(&nav(&i, "sensors")), body).into_response()
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SearchQuery {
    q: String,
}

/// `/search?q=`: users and computers by name or address, each with its badge.
pub async fn search(
    State(c): State<Arc<Console>>,
    Extension(i): Extension<Ident>,
    Query(q): Query<SearchQuery>,
) -> Response {
    let term = q.q.trim();
    let found = if term.is_empty() || term.len() > 256 {
        Vec::new()
    } else {
        match c.store.search(term, 50).await {
            Ok(v) => v,
            Err(e) => return store_failed(&i, e),
        }
    };
    let mut rows = Vec::new();
    for e in &found {
        rows.push((mini_profile(&c, e).await, e));
    }
    let body = html! {
        h1 { "Search" }
        form.filters method="get" action="/search" {
            label { "User, computer or address" input type="search" name="q" value=(q.q); }
            button type="submit" { "Search" }
        }
        @if !term.is_empty() && rows.is_empty() { p.muted { "Nothing matches." } }
        @if !rows.is_empty() {
            table { thead { tr { th { "Entity" } th { "Kind" } th { "Last seen" } } }
                tbody { @for (m, e) in &rows { tr { td { (m) } td { (e.kind) } td.mono { (html::time(e.last_seen)) } } } } }
        }
    };
    page("Search", Some(&nav(&i, "")), body).into_response()
}

/// `/exclusions`: what the engine does not raise, and who said so.
pub async fn exclusions(State(c): State<Arc<Console>>, Extension(i): Extension<Ident>) -> Response {
    let list = match c.store.exclusions().await {
        Ok(l) => l,
        Err(e) => return store_failed(&i, e),
    };
    let csrf = i.csrf.clone().unwrap_or_default();
    let body = html! {
        h1 { "Exclusions" }
        @if list.is_empty() { p.muted { "No exclusion: every detection raises for every source." } }
        @else {
            table { thead { tr { th { "Detection" } th { "Source field" } th { "Value" } th { "Note" } th { "By" } th { "When" } th {} } }
                tbody { @for x in &list { tr {
                    td.mono { (x.detection) } td { (x.field) } td.mono { (x.value) } td { (x.note) } td { (x.created_by) } td.mono { (html::time(x.created_at as f64)) }
                    td { form method="post" action={ "/exclusions/" (x.id) "/remove" } {
                        input type="hidden" name="csrf" value=(csrf);
                        button.secondary type="submit" { "Remove" }
                    } }
                } } } }
        }
    };
    page("Exclusions", Some(&nav(&i, "exclusions")), body).into_response()
}

/// `/audit`: every change, newest first.
pub async fn audit(State(c): State<Arc<Console>>, Extension(i): Extension<Ident>) -> Response {
    let list = match c.store.audit_log(500, 0).await {
        Ok(l) => l,
        Err(e) => return store_failed(&i, e),
    };
    let body = html! {
        h1 { "Audit log" }
        table { thead { tr { th { "When" } th { "Who" } th { "Action" } th { "Object" } th { "Detail" } } }
            tbody { @for a in &list { tr {
                td.mono { (html::time(a.at as f64)) } td { (a.actor) } td.mono { (a.action) } td.mono { (a.object) } td { (a.detail) }
            } } } }
    };
    page("Audit", Some(&nav(&i, "audit")), body).into_response()
}
