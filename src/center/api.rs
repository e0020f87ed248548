//! The center's JSON API (for other products and the console's scripts), its `/metrics` and
//! `/healthz`. Handlers are thin over the store. The console (pages, login, sessions, tokens)
//! wraps this router with its authentication; on its own the API listens on loopback only by
//! default.
//!
//! - `GET /api/entities/user/{realm}/{name}`, `GET /api/entities/computer/{fqdn}`: the entity's
//!   profile (addresses, activity totals over `?days=` (default 30), alerts and counts, the
//!   stable console URL)
//! - `GET /api/entities/{kind}/.../activity?days=`: its activity per hour
//! - `GET /api/alerts?severity=&phase=&status=&detection=&since=&until=&limit=&offset=`
//! - `GET /api/alerts/{id}`: the alert with its evidence, notes and entities
//! - `GET /api/sensors`, `GET /api/sensors/{id}/stats?since=`
//! - `GET /api/search?q=`: users and computers by name or address

use super::store::read::AlertFilter;
use super::store::{Store, StoreError};
use super::CenterStats;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use std::sync::Arc;

/// What the handlers share.
#[derive(Clone)]
pub struct ApiState {
    pub store: Store,
    pub stats: Arc<CenterStats>,
    /// Seconds of silence after which a sensor shows as silent.
    pub silent_after: i64,
    /// The endpoint product, when one is configured.
    pub endpoint: Option<super::endpoint::Endpoint>,
}

/// An entity's profile with the endpoint product's badge.
#[derive(serde::Serialize)]
pub struct EntityAnswer {
    #[serde(flatten)]
    pub profile: super::store::read::Profile,
    /// What the endpoint product says (absent when none is configured).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<super::endpoint::Badge>,
}

/// An API error as JSON: `{"error": "..."}`.
pub struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(serde_json::json!({ "error": self.1 }))).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        tracing::error!("api: {e}");
        ApiError(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the store did not answer; see the center's log".into(),
        )
    }
}

fn not_found(what: &str) -> ApiError {
    ApiError(StatusCode::NOT_FOUND, format!("no such {what}"))
}

/// The API's routes (state included).
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/api/entities/user/{realm}/{name}", get(user))
        .route(
            "/api/entities/user/{realm}/{name}/activity",
            get(user_activity),
        )
        .route("/api/entities/computer/{fqdn}", get(computer))
        .route(
            "/api/entities/computer/{fqdn}/activity",
            get(computer_activity),
        )
        .route("/api/alerts", get(alerts))
        .route("/api/alerts/{id}", get(alert))
        .route("/api/sensors", get(sensors))
        .route("/api/sensors/{id}/stats", get(sensor_stats))
        .route("/api/search", get(search))
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .with_state(state)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Range {
    /// Days back from now (default 30, at most 366).
    days: Option<i64>,
}

impl Range {
    fn bounds(&self) -> (i64, i64) {
        let now = super::store::now_secs();
        let days = self.days.unwrap_or(30).clamp(1, 366);
        (now - days * 86400, now + 3600)
    }
}

async fn profile_of(
    s: &ApiState,
    e: Option<super::store::read::Entity>,
    r: &Range,
) -> Result<Json<EntityAnswer>, ApiError> {
    let e = e.ok_or_else(|| not_found("entity"))?;
    let (from, to) = r.bounds();
    let endpoint = match &s.endpoint {
        None => None,
        Some(ep) if e.kind == "user" => Some(ep.user(&e.realm, &e.name).await),
        Some(ep) => Some(ep.computer(&e.name).await),
    };
    let profile = s.store.profile(e, from, to, 50).await?;
    Ok(Json(EntityAnswer { profile, endpoint }))
}

async fn user(
    State(s): State<ApiState>,
    Path((realm, name)): Path<(String, String)>,
    Query(r): Query<Range>,
) -> Result<impl IntoResponse, ApiError> {
    let e = s.store.user(&realm, &name).await?;
    profile_of(&s, e, &r).await
}

async fn computer(
    State(s): State<ApiState>,
    Path(fqdn): Path<String>,
    Query(r): Query<Range>,
) -> Result<impl IntoResponse, ApiError> {
    let e = s.store.computer(&fqdn).await?;
    profile_of(&s, e, &r).await
}

async fn user_activity(
    State(s): State<ApiState>,
    Path((realm, name)): Path<(String, String)>,
    Query(r): Query<Range>,
) -> Result<impl IntoResponse, ApiError> {
    let e = s
        .store
        .user(&realm, &name)
        .await?
        .ok_or_else(|| not_found("user"))?;
    let (from, to) = r.bounds();
    Ok(Json(s.store.activity(e.id, from, to).await?))
}

async fn computer_activity(
    State(s): State<ApiState>,
    Path(fqdn): Path<String>,
    Query(r): Query<Range>,
) -> Result<impl IntoResponse, ApiError> {
    let e = s
        .store
        .computer(&fqdn)
        .await?
        .ok_or_else(|| not_found("computer"))?;
    let (from, to) = r.bounds();
    Ok(Json(s.store.activity(e.id, from, to).await?))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AlertQuery {
    severity: Option<String>,
    phase: Option<String>,
    status: Option<String>,
    detection: Option<String>,
    since: Option<f64>,
    until: Option<f64>,
    limit: Option<i64>,
    offset: Option<i64>,
}

async fn alerts(
    State(s): State<ApiState>,
    Query(q): Query<AlertQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let f = AlertFilter {
        severity: q.severity,
        phase: q.phase,
        status: q.status,
        detection: q.detection,
        entity_id: None,
        since: q.since,
        until: q.until,
        limit: q.limit.unwrap_or(100),
        offset: q.offset.unwrap_or(0),
    };
    Ok(Json(s.store.alerts(&f).await?))
}

async fn alert(
    State(s): State<ApiState>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let a = s
        .store
        .alert(&id)
        .await?
        .ok_or_else(|| not_found("alert"))?;
    Ok(Json(a))
}

async fn sensors(State(s): State<ApiState>) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(s.store.sensors(s.silent_after).await?))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Since {
    since: Option<f64>,
}

async fn sensor_stats(
    State(s): State<ApiState>,
    Path(id): Path<String>,
    Query(q): Query<Since>,
) -> Result<impl IntoResponse, ApiError> {
    let since = q.since.unwrap_or(super::store::now_secs() as f64 - 86400.0);
    Ok(Json(s.store.sensor_series(&id, since).await?))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Search {
    q: String,
    limit: Option<i64>,
}

async fn search(
    State(s): State<ApiState>,
    Query(q): Query<Search>,
) -> Result<impl IntoResponse, ApiError> {
    if q.q.trim().is_empty() || q.q.len() > 256 {
        return Err(ApiError(
            StatusCode::BAD_REQUEST,
            "give q= (1 to 256 characters): a name or an address".into(),
        ));
    }
    Ok(Json(s.store.search(&q.q, q.limit.unwrap_or(50)).await?))
}

async fn metrics(State(s): State<ApiState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        s.stats.render(),
    )
}
