//! A local stand-in for Microsoft Defender for Endpoint's API and its token endpoint, answering
//! as the documentation says (defender-docs `defender-endpoint/api/get-machines.md`,
//! `get-machine-related-alerts.md`, `get-user-related-alerts.md`, `common-errors.md`): the real
//! service cannot be reached from a test or a one-machine demo (`dcsensor center mde-standin`).
//!
//! - `POST /{tenant}/oauth2/v2.0/token` (client credentials, form): `{token_type, expires_in,
//!   access_token}`; a wrong client: 401 `{"error": "invalid_client", ...}`
//! - `GET /api/machines?$filter=computerDnsName eq '...'`: `{"@odata.context", "value": [...]}`
//! - `GET /api/machines/{id}/alerts`: the machine's alerts; 404 `ResourceNotFound` for an unknown id
//! - `GET /api/users/{name}/alerts`: alerts whose `relatedUser.userName` is `name`; 200 with an
//!   empty list for a user it does not know
//! - no, a wrong or an expired bearer token: 401 `Unauthorized`; more calls than
//!   `calls_per_minute`: 429 `TooManyRequests` with `Retry-After`.
//!
//! Its data is a JSON file: `{"machines": [machine, ...], "alerts": [alert, ...]}` in the
//! documented shapes (an alert names its `machineId` and `relatedUser`).

use axum::extract::{Form, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The stand-in's data and behaviour.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct StandinData {
    pub machines: Vec<Value>,
    pub alerts: Vec<Value>,
}

/// How the stand-in behaves.
#[derive(Debug, Clone)]
pub struct StandinConfig {
    pub client_id: String,
    pub client_secret: String,
    /// Seconds a token lives.
    pub token_lifetime: u64,
    /// API calls allowed per minute (0: no limit); past it, 429 with `Retry-After`.
    pub calls_per_minute: usize,
}

/// The stand-in's state (shared with tests, which can expire tokens and count calls).
pub struct Standin {
    cfg: StandinConfig,
    data: StandinData,
    tokens: Mutex<HashMap<String, Instant>>,
    window: Mutex<VecDeque<Instant>>,
    /// API calls answered (any status), token requests apart.
    pub calls: AtomicU64,
    pub token_requests: AtomicU64,
    next: AtomicU64,
}

impl Standin {
    pub fn new(cfg: StandinConfig, data: StandinData) -> Arc<Standin> {
        Arc::new(Standin {
            cfg,
            data,
            tokens: Mutex::new(HashMap::new()),
            window: Mutex::new(VecDeque::new()),
            calls: AtomicU64::new(0),
            token_requests: AtomicU64::new(0),
            next: AtomicU64::new(1),
        })
    }

    /// Makes every token issued so far expired.
    pub fn expire_tokens(&self) {
        if let Ok(mut t) = self.tokens.lock() {
            for v in t.values_mut() {
                *v = Instant::now() - Duration::from_secs(1);
            }
        }
    }

    fn target(&self) -> String {
        format!(
            "{:08x}-0000-4000-8000-{:012x}",
            std::process::id(),
            self.next.fetch_add(1, Ordering::Relaxed)
        )
    }

    fn error(&self, status: StatusCode, code: &str, message: &str) -> Response {
        (
            status,
            Json(json!({ "error": { "code": code, "message": message, "target": self.target() } })),
        )
            .into_response()
    }

    /// Checks the bearer token and the rate limit; the response to send instead, if any.
    fn admit(&self, headers: &HeaderMap) -> Option<Response> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let tok = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let valid = tok.is_some_and(|t| {
            self.tokens
                .lock()
                .ok()
                .and_then(|m| m.get(t).copied())
                .is_some_and(|until| until > Instant::now())
        });
        if !valid {
            return Some(self.error(
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                "Unauthorized (invalid or expired authorization header).",
            ));
        }
        if self.cfg.calls_per_minute > 0 {
            let now = Instant::now();
            let mut w = self.window.lock().ok()?;
            while w
                .front()
                .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(60))
            {
                w.pop_front();
            }
            if w.len() >= self.cfg.calls_per_minute {
                let retry = w
                    .front()
                    .map(|t| {
                        60u64
                            .saturating_sub(now.duration_since(*t).as_secs())
                            .max(1)
                    })
                    .unwrap_or(1);
                let mut r = self.error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "TooManyRequests",
                    "Response represents reaching quota limit either by number of requests or by CPU.",
                );
                if let Ok(v) = retry.to_string().parse() {
                    r.headers_mut().insert(header::RETRY_AFTER, v);
                }
                return Some(r);
            }
            w.push_back(now);
        }
        None
    }
}

/// The stand-in's routes.
pub fn router(s: Arc<Standin>) -> Router {
    Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(token))
        .route("/api/machines", get(machines))
        .route("/api/machines/{id}/alerts", get(machine_alerts))
        .route("/api/users/{id}/alerts", get(user_alerts))
        .with_state(s)
}

#[derive(Deserialize)]
struct TokenForm {
    grant_type: String,
    client_id: String,
    client_secret: String,
    #[serde(default)]
    scope: String,
}

async fn token(
    State(s): State<Arc<Standin>>,
    Path(_tenant): Path<String>,
    Form(f): Form<TokenForm>,
) -> Response {
    s.token_requests.fetch_add(1, Ordering::Relaxed);
    if f.grant_type != "client_credentials" {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "unsupported_grant_type", "error_description": "only client_credentials"})),
        )
            .into_response();
    }
    if f.client_id != s.cfg.client_id
        || f.client_secret != s.cfg.client_secret
        || f.scope.is_empty()
    {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_client", "error_description": "Invalid client secret provided."})),
        )
            .into_response();
    }
    let t = format!(
        "standin-{}-{}",
        s.target(),
        s.next.fetch_add(1, Ordering::Relaxed)
    );
    if let Ok(mut m) = s.tokens.lock() {
        m.retain(|_, until| *until > Instant::now());
        m.insert(
            t.clone(),
            Instant::now() + Duration::from_secs(s.cfg.token_lifetime),
        );
    }
    Json(json!({
        "token_type": "Bearer",
        "expires_in": s.cfg.token_lifetime,
        "ext_expires_in": s.cfg.token_lifetime,
        "access_token": t,
    }))
    .into_response()
}

fn collection(kind: &str, value: Vec<Value>) -> Response {
    Json(json!({
        "@odata.context": format!("https://api.security.microsoft.com/api/$metadata#{kind}"),
        "value": value,
    }))
    .into_response()
}

async fn machines(
    State(s): State<Arc<Standin>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = s.admit(&headers) {
        return r;
    }
    let list: Vec<Value> = match q.get("$filter") {
        None => s.data.machines.clone(),
        Some(f) => {
            let Some(name) = f
                .strip_prefix("computerDnsName eq '")
                .and_then(|r| r.strip_suffix('\''))
            else {
                return s.error(StatusCode::BAD_REQUEST, "ODataError", "Invalid OData URI query: this stand-in filters on computerDnsName eq '...' only.");
            };
            let name = name.replace("''", "'");
            s.data
                .machines
                .iter()
                .filter(|m| {
                    m["computerDnsName"]
                        .as_str()
                        .is_some_and(|n| n.eq_ignore_ascii_case(&name))
                })
                .cloned()
                .collect()
        }
    };
    collection("Machines", list)
}

async fn machine_alerts(
    State(s): State<Arc<Standin>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(r) = s.admit(&headers) {
        return r;
    }
    if !s
        .data
        .machines
        .iter()
        .any(|m| m["id"].as_str() == Some(id.as_str()))
    {
        return s.error(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            &format!("Machine {id} was not found"),
        );
    }
    let list = s
        .data
        .alerts
        .iter()
        .filter(|a| a["machineId"].as_str() == Some(id.as_str()))
        .cloned()
        .collect();
    collection("Alerts", list)
}

async fn user_alerts(
    State(s): State<Arc<Standin>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(r) = s.admit(&headers) {
        return r;
    }
    let list = s
        .data
        .alerts
        .iter()
        .filter(|a| {
            a["relatedUser"]["userName"]
                .as_str()
                .is_some_and(|u| u.eq_ignore_ascii_case(&id))
        })
        .cloned()
        .collect();
    collection("Alerts", list)
}

#[cfg(test)]
mod tests;
