//! The ingest side of the store: the effects of a group of batches, committed in one
//! transaction together with the batches' `(sensor, seq)`, so that a batch is either wholly
//! applied or not at all, and applying it a second time is refused (and changes nothing).

use super::{now_secs, Dialect, Result, Store, StoreError};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use std::collections::HashMap;

/// An entity's identity: kind (`user` or `computer`), realm (upper case; empty for computers)
/// and name (account or FQDN, lower case).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntityKey {
    pub kind: &'static str,
    pub realm: String,
    pub name: String,
}

impl EntityKey {
    pub fn user(realm: &str, name: &str) -> EntityKey {
        EntityKey {
            kind: "user",
            realm: realm.to_ascii_uppercase(),
            name: name.to_ascii_lowercase(),
        }
    }

    pub fn computer(fqdn: &str) -> EntityKey {
        EntityKey {
            kind: "computer",
            realm: String::new(),
            name: fqdn.trim_end_matches('.').to_ascii_lowercase(),
        }
    }

    /// `REALM\name` for users, the FQDN for computers.
    pub fn display(&self) -> String {
        if self.kind == "user" {
            format!("{}\\{}", self.realm, self.name)
        } else {
            self.name.clone()
        }
    }
}

/// A batch as applied: its identity, size, latest record time and (kept for the engine's replay
/// after a restart) its bytes.
#[derive(Debug, Clone)]
pub struct BatchMark {
    pub sensor: String,
    /// The sensor's host name, from the batch header.
    pub host: String,
    pub seq: u64,
    pub records: u64,
    pub max_ts: f64,
    pub body: Option<Vec<u8>>,
}

/// An alert to store (insert, or update the one with the same id, keeping its status).
#[derive(Debug, Clone, PartialEq)]
pub struct AlertWrite {
    pub id: String,
    pub detection: String,
    pub title: String,
    pub severity: String,
    pub phase: String,
    pub ts: f64,
    pub last_ts: f64,
    pub count: i64,
    pub summary: String,
    pub source_ip: Option<String>,
    pub source_host: Option<String>,
    pub source_user: Option<String>,
    pub sensors: Vec<String>,
    /// The whole alert record, JSON.
    pub body: String,
    /// The entities it names, with their role (`source`, `target`).
    pub entities: Vec<(EntityKey, &'static str)>,
}

/// One `stats` record of a sensor.
#[derive(Debug, Clone, PartialEq)]
pub struct SensorStat {
    pub sensor: String,
    pub host: String,
    pub ts: f64,
    pub packets: i64,
    pub drops: i64,
    pub records: i64,
    pub records_per_s: f64,
}

/// Rolled-up effects of a group of batches, ready to commit.
#[derive(Debug, Default)]
pub struct Effects {
    pub batches: Vec<BatchMark>,
    /// First and last time each entity was seen.
    pub entities: HashMap<EntityKey, (f64, f64)>,
    /// (computer, address) -> first, last, how it was learned.
    pub addresses: HashMap<(EntityKey, String), (f64, f64, &'static str)>,
    /// (entity, hour, metric, detail) -> count.
    pub activity: HashMap<(EntityKey, i64, &'static str, String), i64>,
    /// Latest version of each alert, by id.
    pub alerts: HashMap<String, AlertWrite>,
    pub stats: Vec<SensorStat>,
}

impl Effects {
    /// Notes that `e` was seen at `ts`.
    pub fn seen(&mut self, e: &EntityKey, ts: f64) {
        match self.entities.get_mut(e) {
            Some(v) => {
                v.0 = v.0.min(ts);
                v.1 = v.1.max(ts);
            }
            None => {
                self.entities.insert(e.clone(), (ts, ts));
            }
        }
    }

    /// Counts one `metric`/`detail` for `e` in the hour of `ts` (and notes `e` seen).
    pub fn count(&mut self, e: &EntityKey, ts: f64, metric: &'static str, detail: &str) {
        self.seen(e, ts);
        let hour = (ts.max(0.0) as i64) / 3600 * 3600;
        *self
            .activity
            .entry((e.clone(), hour, metric, detail.to_string()))
            .or_insert(0) += 1;
    }

    /// Notes that computer `e` had address `addr` at `ts`, learned by `how`.
    pub fn address(&mut self, e: &EntityKey, addr: &str, ts: f64, how: &'static str) {
        self.seen(e, ts);
        let v = self
            .addresses
            .entry((e.clone(), addr.to_string()))
            .or_insert((ts, ts, how));
        v.0 = v.0.min(ts);
        v.1 = v.1.max(ts);
    }

    pub fn is_empty(&self) -> bool {
        self.batches.is_empty() && self.alerts.is_empty() && self.stats.is_empty()
    }
}

/// What a commit did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Committed {
    pub batches: u64,
    pub activity_rows: u64,
    pub alerts: u64,
}

fn least(d: Dialect) -> &'static str {
    match d {
        Dialect::Sqlite => "MIN",
        Dialect::Postgres => "LEAST",
    }
}

fn greatest(d: Dialect) -> &'static str {
    match d {
        Dialect::Sqlite => "MAX",
        Dialect::Postgres => "GREATEST",
    }
}

impl Store {
    /// Whether batch `(sensor, seq)` was applied already.
    pub async fn applied(&self, sensor: &str, seq: u64) -> Result<bool> {
        let r: Option<AnyRow> =
            sqlx::query("SELECT seq FROM batches WHERE sensor = $1 AND seq = $2")
                .bind(sensor)
                .bind(seq as i64)
                .fetch_optional(self.pool())
                .await?;
        Ok(r.is_some())
    }

    /// How many batches were applied in all.
    pub async fn applied_count(&self) -> Result<i64> {
        let r = sqlx::query("SELECT COUNT(*) AS n FROM batches")
            .fetch_one(self.pool())
            .await?;
        Ok(r.get("n"))
    }

    /// The highest seq applied per sensor.
    pub async fn applied_high(&self) -> Result<HashMap<String, u64>> {
        let rows = sqlx::query("SELECT sensor, MAX(seq) AS s FROM batches GROUP BY sensor")
            .fetch_all(self.pool())
            .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get::<String, _>("sensor"), r.get::<i64, _>("s") as u64))
            .collect())
    }

    /// Commits `fx` in one transaction. If any of its batches was applied already (by this or
    /// another center), nothing is written and the error says which. On PostgreSQL, a
    /// transaction that lost a deadlock or a serialization conflict with another center's is
    /// tried again (up to 5 times).
    pub async fn commit(&self, fx: &Effects) -> Result<Committed> {
        let mut tries = 0;
        loop {
            match self.commit_once(fx).await {
                Err(Fail::Sql(e)) if tries < 5 && retryable(&e) => {
                    tries += 1;
                    tracing::info!("store: {e}; trying the transaction again ({tries})");
                    tokio::time::sleep(std::time::Duration::from_millis(20 * tries)).await;
                }
                Err(Fail::Sql(e)) => return Err(e.into()),
                Err(Fail::Store(e)) => return Err(e),
                Ok(c) => return Ok(c),
            }
        }
    }

    async fn commit_once(&self, fx: &Effects) -> std::result::Result<Committed, Fail> {
        let d = self.dialect();
        let now = now_secs();
        let mut tx = self.pool().begin().await?;
        let mut done = Committed::default();
        for b in &fx.batches {
            let r = sqlx::query(
                "INSERT INTO batches (sensor, seq, records, max_ts, applied_at, body)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (sensor, seq) DO NOTHING",
            )
            .bind(&b.sensor)
            .bind(b.seq as i64)
            .bind(b.records as i64)
            .bind(b.max_ts)
            .bind(now)
            .bind(b.body.clone())
            .execute(&mut *tx)
            .await?;
            if r.rows_affected() == 0 {
                return Err(Fail::Store(StoreError(format!(
                    "batch {} seq {} was applied already",
                    b.sensor, b.seq
                ))));
            }
            sqlx::query(
                "INSERT INTO sensors (id, host, first_seen, last_seen, last_ts, packets, drops, records, records_per_s)
                 VALUES ($1, $2, $3, $4, $5, 0, 0, 0, 0)
                 ON CONFLICT (id) DO UPDATE SET host = excluded.host, last_seen = excluded.last_seen,
                   silent_alerted = 0",
            )
            .bind(&b.sensor)
            .bind(&b.host)
            .bind(now)
            .bind(now)
            .bind(b.max_ts)
            .execute(&mut *tx)
            .await?;
            done.batches += 1;
        }
        let mut ids: HashMap<&EntityKey, i64> = HashMap::with_capacity(fx.entities.len());
        let upsert_entity = format!(
            "INSERT INTO entities (kind, realm, name, first_seen, last_seen) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (kind, realm, name) DO UPDATE SET
               first_seen = {}(entities.first_seen, excluded.first_seen),
               last_seen = {}(entities.last_seen, excluded.last_seen)
             RETURNING id",
            least(d),
            greatest(d)
        );
        let mut keys: Vec<&EntityKey> = fx.entities.keys().collect();
        keys.sort(); // one order for every center: no deadlock between two of them
        for k in keys {
            let (first, last) = fx.entities[k];
            let id: i64 = sqlx::query(&upsert_entity)
                .bind(k.kind)
                .bind(&k.realm)
                .bind(&k.name)
                .bind(first)
                .bind(last)
                .fetch_one(&mut *tx)
                .await?
                .get(0);
            ids.insert(k, id);
        }
        let upsert_addr = format!(
            "INSERT INTO entity_addresses (entity_id, addr, first_seen, last_seen, how) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (entity_id, addr) DO UPDATE SET
               first_seen = {}(entity_addresses.first_seen, excluded.first_seen),
               last_seen = {}(entity_addresses.last_seen, excluded.last_seen)",
            least(d),
            greatest(d)
        );
        let mut addrs: Vec<_> = fx.addresses.iter().collect();
        addrs.sort_by(|a, b| a.0.cmp(b.0)); // one order for every center, as above
        for ((k, addr), (first, last, how)) in addrs {
            let id = entity_id(&mut tx, &ids, k).await?;
            sqlx::query(&upsert_addr)
                .bind(id)
                .bind(addr)
                .bind(*first)
                .bind(*last)
                .bind(*how)
                .execute(&mut *tx)
                .await?;
        }
        let mut rows: Vec<_> = fx.activity.iter().collect();
        rows.sort_by(|a, b| a.0.cmp(b.0));
        for ((k, hour, metric, detail), n) in rows {
            let id = entity_id(&mut tx, &ids, k).await?;
            sqlx::query(
                "INSERT INTO activity (entity_id, hour, metric, detail, n) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (entity_id, hour, metric, detail) DO UPDATE SET n = activity.n + excluded.n",
            )
            .bind(id)
            .bind(*hour)
            .bind(*metric)
            .bind(detail)
            .bind(*n)
            .execute(&mut *tx)
            .await?;
            done.activity_rows += 1;
        }
        let mut alerts: Vec<&AlertWrite> = fx.alerts.values().collect();
        alerts.sort_by(|a, b| a.id.cmp(&b.id));
        for a in alerts {
            upsert_alert(&mut tx, a, now, self.part.as_deref()).await?;
            for (k, role) in &a.entities {
                let id = match ids.get(k) {
                    Some(id) => *id,
                    None => {
                        let id: i64 = sqlx::query(&upsert_entity)
                            .bind(k.kind)
                            .bind(&k.realm)
                            .bind(&k.name)
                            .bind(a.ts)
                            .bind(a.last_ts)
                            .fetch_one(&mut *tx)
                            .await?
                            .get(0);
                        ids.insert(k, id);
                        id
                    }
                };
                sqlx::query(
                    "INSERT INTO alert_entities (alert_id, entity_id, role) VALUES ($1, $2, $3)
                     ON CONFLICT (alert_id, entity_id, role) DO NOTHING",
                )
                .bind(&a.id)
                .bind(id)
                .bind(*role)
                .execute(&mut *tx)
                .await?;
            }
            done.alerts += 1;
        }
        for s in &fx.stats {
            sensor_stat(&mut tx, s, now).await?;
        }
        tx.commit().await?;
        Ok(done)
    }

    /// Stores alerts outside a batch (the center's own, e.g. a silent sensor).
    pub async fn put_alert(&self, a: &AlertWrite) -> Result<()> {
        let mut tx = self.pool().begin().await?;
        upsert_alert(&mut tx, a, now_secs(), self.part.as_deref()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Bodies of the batches applied with a record at or after `since`, in the order they were
    /// applied (the detection engine is fed them again after a restart).
    pub async fn recent_batches(&self, since: f64) -> Result<Vec<(String, Vec<u8>)>> {
        let rows = sqlx::query(
            "SELECT sensor, body FROM batches WHERE max_ts >= $1 AND body IS NOT NULL ORDER BY ord",
        )
        .bind(since)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .iter()
            .filter_map(|r| Some((r.get("sensor"), r.try_get::<Vec<u8>, _>("body").ok()?)))
            .collect())
    }

    /// The latest record time of any applied batch.
    pub async fn latest_ts(&self) -> Result<Option<f64>> {
        let r = sqlx::query("SELECT MAX(max_ts) AS m FROM batches")
            .fetch_one(self.pool())
            .await?;
        Ok(r.try_get::<Option<f64>, _>("m").ok().flatten())
    }

    /// Forgets the bodies of batches whose records all precede `before` (their `(sensor, seq)`
    /// stays, so they are never applied twice).
    pub async fn prune_bodies(&self, before: f64) -> Result<u64> {
        let r =
            sqlx::query("UPDATE batches SET body = NULL WHERE max_ts < $1 AND body IS NOT NULL")
                .bind(before)
                .execute(self.pool())
                .await?;
        Ok(r.rows_affected())
    }
}

/// Why a commit failed: the database, or the store's own refusal.
enum Fail {
    Sql(sqlx::Error),
    Store(StoreError),
}

impl From<sqlx::Error> for Fail {
    fn from(e: sqlx::Error) -> Self {
        Fail::Sql(e)
    }
}

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Self {
        Fail::Store(e)
    }
}

/// PostgreSQL's deadlock_detected and serialization_failure: another center's transaction
/// won; this one can be tried again.
fn retryable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => matches!(d.code().as_deref(), Some("40P01") | Some("40001")),
        _ => false,
    }
}

async fn entity_id(
    tx: &mut Transaction<'_, Any>,
    ids: &HashMap<&EntityKey, i64>,
    k: &EntityKey,
) -> sqlx::Result<i64> {
    if let Some(id) = ids.get(k) {
        return Ok(*id);
    }
    let r = sqlx::query("SELECT id FROM entities WHERE kind = $1 AND realm = $2 AND name = $3")
        .bind(k.kind)
        .bind(&k.realm)
        .bind(&k.name)
        .fetch_one(&mut **tx)
        .await?;
    Ok(r.get(0))
}

async fn upsert_alert(
    tx: &mut Transaction<'_, Any>,
    a: &AlertWrite,
    now: i64,
    part: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO alerts (id, detection, title, severity, phase, ts, last_ts, count, summary,
           source_ip, source_host, source_user, sensors, body, status, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 'open', $15, $16)
         ON CONFLICT (id) DO UPDATE SET
           title = excluded.title, severity = excluded.severity, phase = excluded.phase,
           ts = excluded.ts, last_ts = excluded.last_ts, count = excluded.count,
           summary = excluded.summary, source_ip = excluded.source_ip,
           source_host = excluded.source_host, source_user = excluded.source_user,
           sensors = excluded.sensors, body = excluded.body, updated_at = excluded.updated_at",
    )
    .bind(&a.id)
    .bind(&a.detection)
    .bind(&a.title)
    .bind(&a.severity)
    .bind(&a.phase)
    .bind(a.ts)
    .bind(a.last_ts)
    .bind(a.count)
    .bind(&a.summary)
    .bind(a.source_ip.clone())
    .bind(a.source_host.clone())
    .bind(a.source_user.clone())
    .bind(a.sensors.join(","))
    .bind(&a.body)
    .bind(now)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    let Some(center) = part else {
        return Ok(());
    };
    // The alert's row is locked by the upsert above: a center writing its part of the same
    // alert waits here, then reads every committed part.
    sqlx::query(
        "INSERT INTO alert_parts (alert_id, center, ts, last_ts, count, sensors, body)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (alert_id, center) DO UPDATE SET ts = excluded.ts,
           last_ts = excluded.last_ts, count = excluded.count, sensors = excluded.sensors,
           body = excluded.body",
    )
    .bind(&a.id)
    .bind(center)
    .bind(a.ts)
    .bind(a.last_ts)
    .bind(a.count)
    .bind(a.sensors.join(","))
    .bind(&a.body)
    .execute(&mut **tx)
    .await?;
    let parts = sqlx::query(
        "SELECT ts, last_ts, count, sensors, body FROM alert_parts WHERE alert_id = $1",
    )
    .bind(&a.id)
    .fetch_all(&mut **tx)
    .await?;
    if parts.len() < 2 {
        return Ok(());
    }
    let mut ts = f64::INFINITY;
    let mut last_ts = f64::NEG_INFINITY;
    let mut count = 0i64;
    let mut sensors: Vec<String> = Vec::new();
    for p in &parts {
        ts = ts.min(p.get::<f64, _>("ts"));
        last_ts = last_ts.max(p.get::<f64, _>("last_ts"));
        count += p.get::<i64, _>("count");
        for s in p
            .get::<String, _>("sensors")
            .split(',')
            .filter(|s| !s.is_empty())
        {
            sensors.push(s.to_string());
        }
    }
    sensors.sort();
    sensors.dedup();
    // every part's evidence, oldest first, as many as one alert carries; every part's targets
    let bodies: Vec<serde_json::Value> = parts
        .iter()
        .filter_map(|p| p.try_get::<Option<String>, _>("body").ok().flatten())
        .filter_map(|b| serde_json::from_str(&b).ok())
        .collect();
    let list = |key: &str| -> Vec<serde_json::Value> {
        bodies
            .iter()
            .filter_map(|b| b.get(key).and_then(|e| e.as_array()).cloned())
            .flatten()
            .collect()
    };
    let mut evidence = list("evidence");
    let mut targets: Vec<serde_json::Value> = Vec::new();
    for t in list("targets") {
        if targets.len() < crate::detect::alert::MAX_TARGETS && !targets.contains(&t) {
            targets.push(t);
        }
    }
    let mut body: serde_json::Value =
        serde_json::from_str(&a.body).unwrap_or(serde_json::Value::Null);
    evidence.sort_by(|x, y| {
        let t = |v: &serde_json::Value| v.get("ts").and_then(|t| t.as_f64()).unwrap_or(0.0);
        t(x).total_cmp(&t(y))
    });
    evidence.truncate(crate::detect::alert::MAX_EVIDENCE);
    if let Some(o) = body.as_object_mut() {
        o.insert("ts".into(), ts.into());
        o.insert("last_ts".into(), last_ts.into());
        o.insert("count".into(), count.into());
        o.insert("sensors".into(), sensors.clone().into());
        o.insert("evidence".into(), evidence.into());
        if !targets.is_empty() {
            o.insert("targets".into(), targets.into());
        }
        if let Some(s) = o.get("summary").and_then(|s| s.as_str()) {
            let s = recount(s, count, last_ts - ts);
            o.insert("summary".into(), s.into());
        }
    }
    let summary = body
        .get("summary")
        .and_then(|s| s.as_str())
        .unwrap_or(&a.summary)
        .to_string();
    sqlx::query(
        "UPDATE alerts SET ts = $1, last_ts = $2, count = $3, sensors = $4, body = $5,
           summary = $6 WHERE id = $7",
    )
    .bind(ts)
    .bind(last_ts)
    .bind(count)
    .bind(sensors.join(","))
    .bind(body.to_string())
    .bind(summary)
    .bind(&a.id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// An alert's summary with its closing "N records over SPAN." told again for the parts of
/// several centers together (the engine ends every summary so; another ending is kept).
fn recount(summary: &str, count: i64, span: f64) -> String {
    let Some(at) = summary.rfind(": ") else {
        return summary.to_string();
    };
    let tail = &summary[at + 2..];
    let ends_so = tail.ends_with('.')
        && tail
            .split_once(' ')
            .is_some_and(|(n, rest)| n.parse::<u64>().is_ok() && rest.starts_with("record"))
        && tail.contains(" over ");
    if !ends_so {
        return summary.to_string();
    }
    let times = if count == 1 {
        "1 record".to_string()
    } else {
        format!("{count} records")
    };
    format!(
        "{}: {times} over {}.",
        &summary[..at],
        crate::detect::alert::span_words(span)
    )
}

async fn sensor_stat(tx: &mut Transaction<'_, Any>, s: &SensorStat, now: i64) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO sensor_stats (sensor, ts, packets, drops, records, records_per_s)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (sensor, ts) DO NOTHING",
    )
    .bind(&s.sensor)
    .bind(s.ts)
    .bind(s.packets)
    .bind(s.drops)
    .bind(s.records)
    .bind(s.records_per_s)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO sensors (id, host, first_seen, last_seen, last_ts, packets, drops, records, records_per_s)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (id) DO UPDATE SET host = excluded.host, last_seen = excluded.last_seen,
           last_ts = excluded.last_ts, packets = excluded.packets, drops = excluded.drops,
           records = excluded.records, records_per_s = excluded.records_per_s,
           silent_alerted = 0
         WHERE sensors.last_ts <= excluded.last_ts",
    )
    .bind(&s.sensor)
    .bind(&s.host)
    .bind(now)
    .bind(now)
    .bind(s.ts)
    .bind(s.packets)
    .bind(s.drops)
    .bind(s.records)
    .bind(s.records_per_s)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::recount;

    #[test]
    fn a_summary_is_recounted_for_the_parts_together() {
        let s = "ws1 (10.0.0.5) sent NTLM without a MIC: records over (x) (alice): 1 record over under a second.";
        assert_eq!(
            recount(s, 3, 120.0),
            "ws1 (10.0.0.5) sent NTLM without a MIC: records over (x) (alice): 3 records over 2 minutes."
        );
        // an ending the engine does not write is kept
        assert_eq!(recount("no count here.", 3, 1.0), "no count here.");
        assert_eq!(recount("a: b over c.", 3, 1.0), "a: b over c.");
    }
}
