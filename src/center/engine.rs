//! The one place where the center calls the detection engine: every batch's records go through
//! [`Detector::feed`] in the order the batches are applied, over all sensors together, and what
//! comes out is alert records (RECORDS.md `alert`, as JSON) turned into store rows here.

use super::store::write::{AlertWrite, EntityKey};
use serde_json::Value;

/// The detection engine as the center sees it.
pub trait Detector: Send {
    /// Feeds the records of one batch (MessagePack, as the sensor wrote it) from `sensor`;
    /// returns the alerts raised or updated (`alert` records as JSON).
    fn feed(&mut self, sensor: &str, batch: &[u8]) -> Vec<Value>;
    /// Returns the alerts still held (at shutdown).
    fn flush(&mut self) -> Vec<Value>;
    /// A name for logs.
    fn name(&self) -> &'static str;
    /// Keeps the engine's ticket table in `tickets` (a table shared by several centers) from
    /// now on; the state held so far is dropped (call it before any batch). False when the
    /// engine has no ticket table.
    fn share_tickets(&mut self, _tickets: Box<dyn crate::detect::TicketStore>) -> bool {
        false
    }
    /// Takes what other centers' engines learned, between batches (no-op by default).
    fn absorb_shared(&mut self) {}
    /// The longest ticket lifetime of the engine's tuning, seconds (0 without a ticket table),
    /// and the number of tickets it holds at most.
    fn ticket_limits(&self) -> (f64, usize) {
        (0.0, 0)
    }
    /// The most records a batch may hold to be applied (`max_batch_records` of the detection
    /// tuning): a record takes about 1.8 KiB decoded however few bytes it had in the batch.
    fn max_batch_records(&self) -> usize {
        crate::detect::Tuning::default().max_batch_records
    }
}

/// No engine: the center stores activity and the alerts sensors raised themselves.
pub struct NoEngine;

impl Detector for NoEngine {
    fn feed(&mut self, _sensor: &str, _batch: &[u8]) -> Vec<Value> {
        Vec::new()
    }
    fn flush(&mut self) -> Vec<Value> {
        Vec::new()
    }
    fn name(&self) -> &'static str {
        "none"
    }
}

/// The project's detection engine ([`crate::detect`]) over every sensor's records.
pub struct DetectEngine(pub crate::detect::Engine);

#[derive(serde::Deserialize)]
struct BatchRecords {
    records: Vec<crate::detect::Rec>,
}

fn values(alerts: Vec<crate::detect::Alert>) -> Vec<Value> {
    alerts
        .iter()
        .filter_map(|a| serde_json::to_value(a).ok())
        .collect()
}

impl Detector for DetectEngine {
    fn feed(&mut self, sensor: &str, batch: &[u8]) -> Vec<Value> {
        let Ok(b) = rmp_serde::from_slice::<BatchRecords>(batch) else {
            return Vec::new(); // counted by the ingest, which could not read it either
        };
        let mut out = Vec::new();
        for r in b.records {
            out.extend(values(self.0.feed(sensor, &std::sync::Arc::new(r))));
        }
        out
    }

    fn flush(&mut self) -> Vec<Value> {
        values(self.0.flush())
    }

    fn name(&self) -> &'static str {
        "detect"
    }

    fn share_tickets(&mut self, tickets: Box<dyn crate::detect::TicketStore>) -> bool {
        let tuning = self.0.tuning().clone();
        self.0 = crate::detect::Engine::with_tickets(tuning, tickets);
        true
    }

    fn absorb_shared(&mut self) {
        self.0.absorb_shared();
    }

    fn max_batch_records(&self) -> usize {
        self.0.tuning().max_batch_records
    }

    fn ticket_limits(&self) -> (f64, usize) {
        let t = self.0.tuning();
        let life = crate::detect::catalog::ALL
            .iter()
            .map(|d| t.value(*d, "ticket_lifetime"))
            .fold(0.0, f64::max);
        (life, t.max_entries)
    }
}

/// The engine the center runs, tuned by `tuning` (a TOML file: a whole configuration file or
/// the `[detect]` settings, as `dcsensor detect --config` reads it) or by its defaults.
pub fn default_engine(tuning: Option<&std::path::Path>) -> Result<Box<dyn Detector>, String> {
    let t = match tuning {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| {
                format!(
                    "detect.tuning {}: {e}; give the engine's settings file",
                    p.display()
                )
            })?;
            crate::detect::Tuning::from_toml(&text)
                .map_err(|e| format!("detect.tuning {}: {e}", p.display()))?
        }
        None => crate::detect::Tuning::from_toml("")?,
    };
    Ok(Box::new(DetectEngine(crate::detect::Engine::new(t))))
}

fn text(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .map(|s| s.chars().take(4096).collect())
        .unwrap_or_default()
}

fn opt(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(|s| s.chars().take(1024).collect())
}

/// An `alert` record as a store row; None when it has no id or detection.
pub fn alert_write(v: &Value) -> Option<AlertWrite> {
    let id = text(v, "id");
    let detection = text(v, "detection");
    if id.is_empty() || detection.is_empty() {
        return None;
    }
    let source = v.get("source");
    let source_ip = opt(source.and_then(|s| s.get("ip")));
    let source_host = opt(source.and_then(|s| s.get("host")));
    let source_user = opt(source.and_then(|s| s.get("user")));
    // The realm of the alert's user: the first evidence record that names one.
    let realm = v
        .get("evidence")
        .and_then(Value::as_array)
        .and_then(|ev| {
            ev.iter()
                .find_map(|r| r.get("realm").and_then(Value::as_str).map(str::to_string))
        })
        .unwrap_or_default();
    let mut entities = Vec::new();
    if let Some(u) = &source_user {
        let key = match (u.split_once('\\'), u.split_once('@')) {
            (Some((d, n)), _) => EntityKey::user(d, n),
            (None, Some((n, r))) => EntityKey::user(r, n),
            _ => EntityKey::user(&realm, u),
        };
        entities.push((key, "source"));
    }
    if let Some(h) = &source_host {
        entities.push((EntityKey::computer(h), "source"));
    }
    let sensors = v
        .get("sensors")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    Some(AlertWrite {
        id,
        detection,
        title: text(v, "title"),
        severity: text(v, "severity"),
        phase: text(v, "phase"),
        ts: v.get("ts").and_then(Value::as_f64).unwrap_or(0.0),
        last_ts: v
            .get("last_ts")
            .and_then(Value::as_f64)
            .or_else(|| v.get("ts").and_then(Value::as_f64))
            .unwrap_or(0.0),
        count: v.get("count").and_then(Value::as_i64).unwrap_or(1),
        summary: text(v, "summary"),
        source_ip,
        source_host,
        source_user,
        sensors,
        body: v.to_string(),
        entities,
    })
}
