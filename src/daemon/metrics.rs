//! Prometheus metrics over HTTP: `GET /metrics` in the text exposition format and `GET /healthz`
//! (capture running, every worker and the output alive), served by the project's HTTP stack
//! ([`crate::web`]) on a small runtime in a thread of its own, with its connection cap and header
//! limits: it is reachable from the network, so its clients are as hostile as the wire, and
//! nothing they do reaches the capture threads (a scrape only reads atomic counters).
//!
//! The text is written here rather than by a metrics crate: the counters already live in the
//! pipeline's atomics and are summed once per scrape, and the names, types and labels are fixed
//! by the README. prometheus-client would need each counter re-registered as its own type (or a
//! custom collector doing what [`render`] does) and writes OpenMetrics (`# EOF`, another content
//! type); measured with `cargo bench --bench metrics`, see the README.

use crate::pipeline::Telemetry;
use crate::stats::Counter;
use crate::web::{Limits, ThreadServer};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Renders every metric in the Prometheus text format.
pub fn render(t: &Telemetry) -> String {
    let snap = t.snapshot();
    let mut s = String::with_capacity(8 * 1024);
    let header = |s: &mut String, name: &str, help: &str, kind: &str| {
        let _ = writeln!(
            s,
            "# HELP dcsensor_{name} {help}\n# TYPE dcsensor_{name} {kind}"
        );
    };
    for &c in Counter::ALL.iter().filter(|c| c.group().is_empty()) {
        if c.is_gauge() {
            header(&mut s, c.name(), c.help(), "gauge");
            let _ = writeln!(s, "dcsensor_{} {}", c.name(), snap.get(c));
        } else {
            header(&mut s, &format!("{}_total", c.name()), c.help(), "counter");
            let _ = writeln!(s, "dcsensor_{}_total {}", c.name(), snap.get(c));
        }
    }
    header(
        &mut s,
        "drops_total",
        "data not analysed, by cause (a drop is never silent)",
        "counter",
    );
    for &c in Counter::ALL.iter().filter(|c| c.group() == "drops") {
        let _ = writeln!(
            s,
            "dcsensor_drops_total{{cause=\"{}\"}} {}",
            c.name(),
            snap.get(c)
        );
    }
    header(
        &mut s,
        "malformed_total",
        "malformed messages, by protocol",
        "counter",
    );
    for &c in Counter::ALL.iter().filter(|c| c.group() == "malformed") {
        let _ = writeln!(
            s,
            "dcsensor_malformed_total{{protocol=\"{}\"}} {}",
            crate::proto::registry::by_malformed(c).map_or(c.name(), |p| p.name),
            snap.get(c)
        );
    }
    header(
        &mut s,
        "records_by_type_total",
        "records emitted, by record type",
        "counter",
    );
    for (ty, n) in t.records_by_type() {
        let _ = writeln!(s, "dcsensor_records_by_type_total{{type=\"{ty}\"}} {n}");
    }
    header(
        &mut s,
        "shedding_level",
        "load shedding level of the resource guard (0: full analysis)",
        "gauge",
    );
    let _ = writeln!(
        s,
        "dcsensor_shedding_level {}",
        t.shed_level.load(Ordering::Relaxed)
    );
    for m in t.output_metrics() {
        header(
            &mut s,
            m.name,
            m.help,
            if m.counter { "counter" } else { "gauge" },
        );
        let _ = writeln!(s, "dcsensor_{} {}", m.name, m.value);
    }
    s
}

/// Seconds without a sign of life from capture and every worker before `/healthz` says 503.
pub const HEALTH_STALE_SECS: u64 = 5;

/// The metrics server's routes: `/metrics`, `/healthz`; anything else 404.
pub fn router(telemetry: Arc<Telemetry>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .fallback(|| async {
            (
                StatusCode::NOT_FOUND,
                "dcsensor serves /metrics and /healthz\n",
            )
        })
        .with_state(telemetry)
}

async fn metrics(State(t): State<Arc<Telemetry>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        render(&t),
    )
}

async fn healthz(State(t): State<Arc<Telemetry>>) -> impl IntoResponse {
    if t.alive_within(HEALTH_STALE_SECS) {
        (StatusCode::OK, "ok: capture running, every worker alive\n")
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ok: capture stopped or a worker or the output thread is gone\n",
        )
    }
}

/// A running metrics server; it stops when dropped.
pub struct MetricsServer {
    pub addr: SocketAddr,
    server: ThreadServer,
}

impl MetricsServer {
    /// Listens on `addr` (bound before this returns) and serves `telemetry` with `limits`.
    pub fn start(
        addr: &str,
        telemetry: Arc<Telemetry>,
        limits: Limits,
    ) -> Result<MetricsServer, String> {
        let server = ThreadServer::start(
            "metrics",
            "dcsensor-metrics",
            addr,
            router(telemetry),
            limits,
            None,
        )
        .map_err(|e| format!("{e}, or leave metrics off"))?;
        Ok(MetricsServer {
            addr: server.addr,
            server,
        })
    }

    /// Connections refused because the cap was reached, so far.
    pub fn refused(&self) -> u64 {
        self.server.stats.refused.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests;
