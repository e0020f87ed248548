//! The center: every sensor's batches (from batch directories or NATS JetStream) through one
//! detection engine into one store (SQLite or PostgreSQL), served as a JSON API (and the
//! console) over the project's HTTP stack, with the endpoint product's view of each entity.
//!
//! ```text
//! batch dirs ─┐                    ┌─ rollup ─┐
//!             ├─ ingest (groups) ──┤          ├─ store.commit ─▶ ack ─▶ API / console
//! JetStream ──┘                    └─ engine ─┘   (one transaction)
//! ```

pub mod api;
pub mod cli;
pub mod config;
pub mod endpoint;
pub mod engine;
pub mod ingest;
pub mod rollup;
pub mod service;
pub mod store;
pub mod tickets;

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

/// The center's counters, for its `/metrics`.
#[derive(Debug, Default)]
pub struct CenterStats {
    /// Batches applied (committed).
    pub batches: AtomicU64,
    /// Records in the batches applied.
    pub records: AtomicU64,
    /// Batches skipped because their `(sensor, seq)` was applied already.
    pub duplicates: AtomicU64,
    /// Sensors' own alert batches (edge detection) acknowledged without being applied.
    pub edge_alert_batches: AtomicU64,
    /// Batches or alerts that could not be read (kept, not applied).
    pub malformed: AtomicU64,
    /// Alerts written (raised or updated).
    pub alerts: AtomicU64,
    /// Alerts not stored because an exclusion matched.
    pub alerts_excluded: AtomicU64,
    /// Commits that failed.
    pub commit_errors: AtomicU64,
    /// The newest record time applied (f64 bits).
    pub newest_ts: AtomicU64,
    /// Batches waiting (JetStream consumer's pending count, files not yet read).
    pub pending: AtomicU64,
    /// Batches never received: gaps in a sensor's seq given up on after the reorder wait.
    pub gaps: AtomicU64,
    /// Bumped by the console when it adds or removes an exclusion: the ingest reloads them
    /// before its next group (exclusions written by another center sharing the store are
    /// picked up within 10 s).
    pub exclusion_changes: AtomicU64,
    /// Calls to the endpoint product's API, and those that failed.
    pub connector_calls: AtomicU64,
    pub connector_errors: AtomicU64,
    /// The shared bucket's counters, when the center keeps its tickets and facts there.
    pub shared: std::sync::OnceLock<std::sync::Arc<tickets::TicketStats>>,
}

impl CenterStats {
    /// Seconds from the newest record applied to now (0 before the first).
    pub fn lag(&self) -> f64 {
        let ts = f64::from_bits(self.newest_ts.load(Ordering::Relaxed));
        if ts <= 0.0 {
            return 0.0;
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        (now - ts).max(0.0)
    }

    /// The Prometheus text of these counters.
    pub fn render(&self) -> String {
        let mut s = String::with_capacity(2048);
        let counters: [(&str, &str, &AtomicU64); 11] = [
            (
                "missing_batches",
                "batches never received (seq gaps given up on)",
                &self.gaps,
            ),
            ("batches", "batches applied", &self.batches),
            (
                "edge_alert_batches",
                "sensors' own alert batches acknowledged, not applied (the center raises its own)",
                &self.edge_alert_batches,
            ),
            ("records", "records in the batches applied", &self.records),
            (
                "duplicate_batches",
                "batches skipped as already applied",
                &self.duplicates,
            ),
            (
                "malformed",
                "batches or alerts unreadable (kept, not applied)",
                &self.malformed,
            ),
            ("alerts", "alerts raised or updated", &self.alerts),
            (
                "alerts_excluded",
                "alerts not stored: an exclusion matched",
                &self.alerts_excluded,
            ),
            (
                "commit_errors",
                "store commits that failed",
                &self.commit_errors,
            ),
            (
                "connector_calls",
                "calls to the endpoint product's API",
                &self.connector_calls,
            ),
            (
                "connector_errors",
                "calls to the endpoint product's API that failed",
                &self.connector_errors,
            ),
        ];
        counter_lines(&mut s, &counters);
        if let Some(t) = self.shared.get() {
            let shared: [(&str, &str, &AtomicU64); 8] = [
                ("tickets_put", "tickets put into the shared bucket", &t.puts),
                (
                    "tickets_fetched",
                    "tickets fetched from the bucket on a miss",
                    &t.fetched,
                ),
                (
                    "tickets_watched",
                    "tickets received from the bucket's watch",
                    &t.watched,
                ),
                (
                    "tickets_bad_keys",
                    "ticket hashes that cannot be a bucket key (kept locally)",
                    &t.bad_keys,
                ),
                (
                    "facts_put",
                    "learned facts put into the bucket",
                    &t.facts_put,
                ),
                (
                    "facts_received",
                    "other centers' facts received",
                    &t.facts_received,
                ),
                (
                    "facts_dropped",
                    "other centers' facts dropped: too many waiting for the engine",
                    &t.facts_dropped,
                ),
                (
                    "shared_behind",
                    "groups applied before the bucket's watch caught up (after 5 s)",
                    &t.behind,
                ),
            ];
            counter_lines(&mut s, &shared);
        }
        let _ = writeln!(
            s,
            "# HELP dcsensor_center_ingest_lag_seconds now minus the newest record applied\n# TYPE dcsensor_center_ingest_lag_seconds gauge\ndcsensor_center_ingest_lag_seconds {:.3}",
            self.lag()
        );
        let _ = writeln!(
            s,
            "# HELP dcsensor_center_pending_batches batches waiting to be applied\n# TYPE dcsensor_center_pending_batches gauge\ndcsensor_center_pending_batches {}",
            self.pending.load(Ordering::Relaxed)
        );
        s
    }
}

/// Writes counters in the Prometheus text format: name (without the `dcsensor_center_` prefix
/// and `_total` suffix), help text, value.
fn counter_lines(s: &mut String, counters: &[(&str, &str, &AtomicU64)]) {
    for (name, help, v) in counters {
        let _ = writeln!(
            s,
            "# HELP dcsensor_center_{name}_total {help}\n# TYPE dcsensor_center_{name}_total counter\ndcsensor_center_{name}_total {}",
            v.load(Ordering::Relaxed)
        );
    }
}
