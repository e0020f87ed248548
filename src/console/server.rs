//! The console's router: sign-in and sign-out, the authentication every other route goes
//! through (a session cookie or an API bearer token), the changes people make (alert status,
//! exclusions) with their CSRF and role checks, and the security headers on every answer. The
//! center's JSON API ([`crate::center::api`]) is served behind the same authentication.

// Handlers answer early with a whole response; boxing it would only add noise.
#![allow(clippy::result_large_err)]

use super::auth::{same_secret, Role, Throttle, ThrottleSettings};
use super::html::{self, flash, page};
use super::pages;
use super::users::{self, Ident};
use crate::center::api::{self, ApiState};
use crate::center::store::Store;
use axum::extract::{ConnectInfo, Form, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use maud::html;
use serde::Deserialize;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The session cookie's name.
pub const COOKIE: &str = "dcs_session";

/// What the console's handlers share.
pub struct Console {
    pub store: Store,
    pub api: ApiState,
    pub throttle: Mutex<Throttle>,
    /// Seconds a session lasts (default 12 h).
    pub session_lifetime: i64,
}

impl Console {
    /// A console over `api`'s store (and its endpoint product: badges show only when one is
    /// configured); the console's tables are brought up to date.
    pub async fn new(api: ApiState, throttle: ThrottleSettings) -> Result<Arc<Console>, String> {
        users::migrate(&api.store).await?;
        Ok(Arc::new(Console {
            store: api.store.clone(),
            api,
            throttle: Mutex::new(Throttle::new(throttle)),
            session_lifetime: 12 * 3600,
        }))
    }
}

/// The whole console: its pages, the JSON API, `/metrics` and `/healthz`, all behind
/// authentication but `/login` and the style sheet.
pub fn router(c: Arc<Console>) -> Router {
    let protected = Router::new()
        .route("/", get(|| async { Redirect::to("/alerts") }))
        .route("/alerts", get(pages::alerts))
        .route("/alerts/{id}", get(pages::alert))
        .route("/alerts/{id}/status", post(set_status))
        .route("/alerts/{id}/exclude", post(exclude))
        .route("/entity/user/{realm}/{name}", get(pages::user))
        .route("/entity/computer/{fqdn}", get(pages::computer))
        .route("/sensors", get(pages::sensors))
        .route("/search", get(pages::search))
        .route("/exclusions", get(pages::exclusions))
        .route("/exclusions/{id}/remove", post(remove_exclusion))
        .route("/audit", get(pages::audit))
        .route("/logout", post(logout))
        .route("/api/alerts/{id}/status", post(api_set_status))
        .with_state(c.clone())
        .merge(api::router(c.api.clone()))
        .layer(middleware::from_fn_with_state(c.clone(), authenticate));
    Router::new()
        .route("/login", get(login_form).post(login))
        .route("/static/console.css", get(css))
        .with_state(c)
        .merge(protected)
        .layer(middleware::map_response(security_headers))
}

async fn security_headers(mut r: Response) -> Response {
    let h = r.headers_mut();
    let set = |h: &mut HeaderMap, k: header::HeaderName, v: &'static str| {
        h.insert(k, HeaderValue::from_static(v));
    };
    set(
        h,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::REFERRER_POLICY, "no-referrer");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    if !h.contains_key(header::CACHE_CONTROL) {
        set(h, header::CACHE_CONTROL, "no-store");
    }
    r
}

async fn css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        html::CSS,
    )
}

fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// Whether `path` is answered as JSON (401) rather than sent to the sign-in page.
fn is_api(path: &str) -> bool {
    path.starts_with("/api/") || path == "/metrics" || path == "/healthz"
}

async fn authenticate(State(c): State<Arc<Console>>, mut req: Request, next: Next) -> Response {
    let ident = match bearer(req.headers()) {
        Some(t) if t.len() <= 128 => users::token(&c.store, t).await,
        Some(_) => None,
        None => match cookie_value(req.headers(), COOKIE) {
            Some(s) if s.len() <= 128 => users::session(&c.store, s).await,
            _ => None,
        },
    };
    match ident {
        Some(i) => {
            req.extensions_mut().insert(i);
            next.run(req).await
        }
        None if is_api(req.uri().path()) => (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer realm=\"dcsensor\"")],
            Json(serde_json::json!({"error": "sign in or give an API token: Authorization: Bearer TOKEN (dcsensor center token add)"})),
        )
            .into_response(),
        None => {
            let path = req.uri().path();
            let next = if path.starts_with('/') && !path.starts_with("//") && req.method() == axum::http::Method::GET {
                path
            } else {
                "/alerts"
            };
            let mut to = String::from("/login?next=");
            for b in next.bytes() {
                if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
                    to.push(b as char);
                } else {
                    to.push_str(&format!("%{b:02X}"));
                }
            }
            Redirect::to(&to).into_response()
        }
    }
}

/// A page telling what went wrong, with `status`.
pub fn problem(status: StatusCode, ident: Option<&Ident>, text: &str) -> Response {
    let nav = ident.map(|i| pages::nav(i, ""));
    (
        status,
        page(
            status.canonical_reason().unwrap_or("Error"),
            nav.as_ref(),
            html! { h1 { (status.canonical_reason().unwrap_or("Error")) } (flash("error", text)) },
        ),
    )
        .into_response()
}

/// Refuses a change whose CSRF token is not the session's (a bearer token needs none).
fn check_csrf(i: &Ident, given: &str) -> Result<(), Response> {
    match &i.csrf {
        Some(expected) if !same_secret(expected, given) => Err(problem(
            StatusCode::FORBIDDEN,
            Some(i),
            "This form is not from your session (its CSRF token does not match). Reload the page and try again.",
        )),
        _ => Ok(()),
    }
}

fn need(i: &Ident, ok: bool, what: &str, role: Role) -> Result<(), Response> {
    if ok {
        return Ok(());
    }
    Err(problem(
        StatusCode::FORBIDDEN,
        Some(i),
        &format!(
            "Your role ({}) cannot {what}; ask an admin for the {} role.",
            i.role.as_str(),
            role.as_str()
        ),
    ))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LoginQuery {
    next: String,
}

fn safe_next(next: &str) -> &str {
    if next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') {
        next
    } else {
        "/alerts"
    }
}

fn login_page(next: &str, message: Option<&str>) -> maud::Markup {
    page(
        "Sign in",
        None,
        html! {
            div.login.panel {
                h1 { "Sign in" }
                @if let Some(m) = message { (flash("error", m)) }
                form method="post" action="/login" {
                    input type="hidden" name="next" value=(safe_next(next));
                    label for="name" { "User name" }
                    input #name type="text" name="name" autocomplete="username" required autofocus;
                    label for="password" { "Password" }
                    input #password type="password" name="password" autocomplete="current-password" required;
                    button type="submit" { "Sign in" }
                }
            }
        },
    )
}

async fn login_form(
    axum::extract::Query(q): axum::extract::Query<LoginQuery>,
) -> impl IntoResponse {
    login_page(&q.next, None)
}

#[derive(Deserialize)]
struct LoginForm {
    name: String,
    password: String,
    #[serde(default)]
    next: String,
}

async fn login(
    State(c): State<Arc<Console>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Form(f): Form<LoginForm>,
) -> Response {
    let keys = [format!("user:{}", f.name), format!("addr:{}", peer.ip())];
    let now = Instant::now();
    let wait = {
        let mut t = c.throttle.lock().unwrap_or_else(|p| p.into_inner());
        keys.iter().filter_map(|k| t.check(k, now).err()).max()
    };
    if let Some(w) = wait {
        let secs = w.as_secs().max(1);
        tracing::warn!(user = %f.name.escape_debug(), addr = %peer.ip(), "console: sign-in refused, too many wrong passwords");
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, secs.to_string())],
            login_page(
                &f.next,
                Some(&format!(
                    "Too many wrong passwords: wait {secs} s before trying again."
                )),
            ),
        )
            .into_response();
    }
    match users::check_password(&c.store, &f.name, &f.password).await {
        Some(_) => {
            {
                let mut t = c.throttle.lock().unwrap_or_else(|p| p.into_inner());
                keys.iter().for_each(|k| t.success(k));
            }
            let (secret, _csrf) =
                match users::open_session(&c.store, &f.name, c.session_lifetime).await {
                    Ok(x) => x,
                    Err(e) => {
                        tracing::error!("console: {e}");
                        return problem(
                            StatusCode::INTERNAL_SERVER_ERROR,
                            None,
                            "The store did not answer; see the center's log.",
                        );
                    }
                };
            let _ = c
                .store
                .audit(&f.name, "login", &f.name, &format!("from {}", peer.ip()))
                .await;
            let cookie = format!(
                "{COOKIE}={secret}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age={}",
                c.session_lifetime
            );
            (
                [(header::SET_COOKIE, cookie)],
                Redirect::to(safe_next(&f.next)),
            )
                .into_response()
        }
        None => {
            {
                let mut t = c.throttle.lock().unwrap_or_else(|p| p.into_inner());
                keys.iter().for_each(|k| {
                    t.failure(k, now);
                });
            }
            tracing::warn!(user = %f.name.escape_debug(), addr = %peer.ip(), "console: wrong user name or password");
            let _ = c
                .store
                .audit(
                    &f.name,
                    "login.failed",
                    &f.name,
                    &format!("from {}", peer.ip()),
                )
                .await;
            (
                StatusCode::UNAUTHORIZED,
                login_page(&f.next, Some("Wrong user name or password.")),
            )
                .into_response()
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CsrfOnly {
    csrf: String,
}

async fn logout(
    State(c): State<Arc<Console>>,
    Extension(i): Extension<Ident>,
    headers: HeaderMap,
    Form(f): Form<CsrfOnly>,
) -> Response {
    if let Err(r) = check_csrf(&i, &f.csrf) {
        return r;
    }
    if let Some(s) = cookie_value(&headers, COOKIE) {
        users::close_session(&c.store, s).await;
    }
    let gone = format!("{COOKIE}=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0");
    ([(header::SET_COOKIE, gone)], Redirect::to("/login")).into_response()
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct StatusForm {
    csrf: String,
    status: String,
    note: String,
}

async fn change_status(c: &Console, i: &Ident, id: &str, f: &StatusForm) -> Result<(), Response> {
    need(
        i,
        i.role.can_triage(),
        "change an alert's status",
        Role::Analyst,
    )?;
    if f.note.len() > 4096 {
        return Err(problem(
            StatusCode::BAD_REQUEST,
            Some(i),
            "The note is too long: at most 4096 bytes.",
        ));
    }
    match c
        .store
        .set_alert_status(id, &f.status, &f.note, &i.name)
        .await
    {
        Ok(true) => Ok(()),
        Ok(false) => Err(problem(
            StatusCode::NOT_FOUND,
            Some(i),
            "There is no such alert.",
        )),
        Err(e) => Err(problem(StatusCode::BAD_REQUEST, Some(i), &e.to_string())),
    }
}

async fn set_status(
    State(c): State<Arc<Console>>,
    Extension(i): Extension<Ident>,
    Path(id): Path<String>,
    Form(f): Form<StatusForm>,
) -> Response {
    if let Err(r) = check_csrf(&i, &f.csrf) {
        return r;
    }
    match change_status(&c, &i, &id, &f).await {
        Ok(()) => Redirect::to(&format!("{}?changed=1", pages::alert_url(&id))).into_response(),
        Err(r) => r,
    }
}

async fn api_set_status(
    State(c): State<Arc<Console>>,
    Extension(i): Extension<Ident>,
    Path(id): Path<String>,
    Json(f): Json<serde_json::Value>,
) -> Response {
    let f = StatusForm {
        csrf: f["csrf"].as_str().unwrap_or_default().into(),
        status: f["status"].as_str().unwrap_or_default().into(),
        note: f["note"].as_str().unwrap_or_default().into(),
    };
    if let Err(r) = check_csrf(&i, &f.csrf) {
        return (
            r.status(),
            Json(serde_json::json!({"error": "CSRF token missing or wrong"})),
        )
            .into_response();
    }
    match change_status(&c, &i, &id, &f).await {
        Ok(()) => Json(serde_json::json!({"id": id, "status": f.status})).into_response(),
        Err(r) => {
            let s = r.status();
            (s, Json(serde_json::json!({"error": s.canonical_reason()}))).into_response()
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ExcludeForm {
    csrf: String,
    field: String,
    note: String,
}

async fn exclude(
    State(c): State<Arc<Console>>,
    Extension(i): Extension<Ident>,
    Path(id): Path<String>,
    Form(f): Form<ExcludeForm>,
) -> Response {
    if let Err(r) = check_csrf(&i, &f.csrf) {
        return r;
    }
    if let Err(r) = need(&i, i.role.can_admin(), "edit exclusions", Role::Admin) {
        return r;
    }
    let a = match c.store.alert(&id).await {
        Ok(Some(a)) => a,
        _ => return problem(StatusCode::NOT_FOUND, Some(&i), "There is no such alert."),
    };
    let value = match f.field.as_str() {
        "source_ip" => a.row.source_ip.clone(),
        "source_host" => a.row.source_host.clone(),
        "source_user" => a.row.source_user.clone(),
        _ => None,
    };
    let Some(value) = value else {
        return problem(
            StatusCode::BAD_REQUEST,
            Some(&i),
            "This alert has no such source field to exclude.",
        );
    };
    match c
        .store
        .add_exclusion(&a.row.detection, &f.field, &value, &f.note, &i.name)
        .await
    {
        Ok(_) => {
            c.api
                .stats
                .exclusion_changes
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Redirect::to("/exclusions").into_response()
        }
        Err(e) => problem(StatusCode::BAD_REQUEST, Some(&i), &e.to_string()),
    }
}

async fn remove_exclusion(
    State(c): State<Arc<Console>>,
    Extension(i): Extension<Ident>,
    Path(id): Path<i64>,
    Form(f): Form<CsrfOnly>,
) -> Response {
    if let Err(r) = check_csrf(&i, &f.csrf) {
        return r;
    }
    if let Err(r) = need(&i, i.role.can_admin(), "edit exclusions", Role::Admin) {
        return r;
    }
    match c.store.remove_exclusion(id, &i.name).await {
        Ok(_) => {
            c.api
                .stats
                .exclusion_changes
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Redirect::to("/exclusions").into_response()
        }
        Err(e) => problem(StatusCode::BAD_REQUEST, Some(&i), &e.to_string()),
    }
}
