//! The read side of the store: entities and their profiles, rolled-up activity, alerts,
//! sensors. What the console's pages and the JSON API show comes from here.

use super::{opt_text, Result, Store};
use serde::Serialize;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, Row};

/// A user or computer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entity {
    pub id: i64,
    /// `user` or `computer`.
    pub kind: String,
    /// Upper case; empty for computers.
    pub realm: String,
    /// Account (lower case) or FQDN.
    pub name: String,
    pub first_seen: f64,
    pub last_seen: f64,
}

impl Entity {
    /// The console's stable URL of this entity (`/entity/user/REALM/NAME`,
    /// `/entity/computer/FQDN`), path segments percent-encoded.
    pub fn url(&self) -> String {
        if self.kind == "user" {
            format!("/entity/user/{}/{}", seg(&self.realm), seg(&self.name))
        } else {
            format!("/entity/computer/{}", seg(&self.name))
        }
    }
}

/// A path segment with everything but unreserved characters percent-encoded.
pub fn seg(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~$".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// An address a computer had, and when.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Address {
    pub addr: String,
    pub first_seen: f64,
    pub last_seen: f64,
    /// How it was learned: `kerberos`, `ntlm`, `dns`.
    pub how: String,
}

/// One hour of one metric.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActivityRow {
    pub hour: i64,
    pub metric: String,
    pub detail: String,
    pub n: i64,
}

/// A metric's total over a time range.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tally {
    pub metric: String,
    pub detail: String,
    pub n: i64,
}

/// An alert as listed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertRow {
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
    /// `open`, `resolved`, `false_positive`, `benign_true_positive`.
    pub status: String,
    pub updated_at: i64,
}

/// A note on an alert (with the status it set, if any).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Note {
    pub at: i64,
    pub actor: String,
    pub status: Option<String>,
    pub note: String,
}

/// An alert with everything its page shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertDetail {
    #[serde(flatten)]
    pub row: AlertRow,
    /// The alert record as raised (evidence records included).
    pub record: serde_json::Value,
    pub notes: Vec<Note>,
    /// The entities it names, with their role (`source`, `target`).
    pub entities: Vec<(Entity, String)>,
}

/// Which alerts to list. Empty fields do not filter.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlertFilter {
    pub severity: Option<String>,
    pub phase: Option<String>,
    pub status: Option<String>,
    pub detection: Option<String>,
    /// Alerts naming this entity.
    pub entity_id: Option<i64>,
    /// Latest evidence at or after.
    pub since: Option<f64>,
    /// First evidence at or before.
    pub until: Option<f64>,
    /// At most this many (0: 100), newest first.
    pub limit: i64,
    pub offset: i64,
}

/// A sensor's health.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SensorRow {
    pub id: String,
    pub host: String,
    pub first_seen: i64,
    /// Wall-clock time of its last batch or stats.
    pub last_seen: i64,
    pub packets: i64,
    pub drops: i64,
    pub records: i64,
    pub records_per_s: f64,
    /// Nothing heard from it for longer than the silence limit.
    pub silent: bool,
}

/// One `stats` of a sensor (for its charts).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SensorPoint {
    pub ts: f64,
    pub packets: i64,
    pub drops: i64,
    pub records: i64,
    pub records_per_s: f64,
}

/// An entity's profile: itself, its addresses, its activity totals over a range, its alerts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Profile {
    pub entity: Entity,
    pub url: String,
    pub addresses: Vec<Address>,
    pub totals: Vec<Tally>,
    pub alerts: Vec<AlertRow>,
    pub alerts_open: i64,
    pub alerts_total: i64,
}

enum Bind {
    Text(String),
    Real(f64),
    Int(i64),
}

fn bind_all<'q>(
    mut q: Query<'q, Any, AnyArguments<'q>>,
    binds: &'q [Bind],
) -> Query<'q, Any, AnyArguments<'q>> {
    for b in binds {
        q = match b {
            Bind::Text(s) => q.bind(s.as_str()),
            Bind::Real(v) => q.bind(*v),
            Bind::Int(v) => q.bind(*v),
        };
    }
    q
}

fn entity(r: &AnyRow) -> Entity {
    Entity {
        id: r.get("id"),
        kind: r.get("kind"),
        realm: r.get("realm"),
        name: r.get("name"),
        first_seen: r.get("first_seen"),
        last_seen: r.get("last_seen"),
    }
}

const ALERT_COLS: &str =
    "a.id, a.detection, a.title, a.severity, a.phase, a.ts, a.last_ts, a.count, a.summary,
    a.source_ip, a.source_host, a.source_user, a.sensors, a.status, a.updated_at";

fn alert_row(r: &AnyRow) -> AlertRow {
    let sensors: String = r.get("sensors");
    AlertRow {
        id: r.get("id"),
        detection: r.get("detection"),
        title: r.get("title"),
        severity: r.get("severity"),
        phase: r.get("phase"),
        ts: r.get("ts"),
        last_ts: r.get("last_ts"),
        count: r.get("count"),
        summary: r.get("summary"),
        source_ip: opt_text(r, "source_ip"),
        source_host: opt_text(r, "source_host"),
        source_user: opt_text(r, "source_user"),
        sensors: sensors
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        status: r.get("status"),
        updated_at: r.get("updated_at"),
    }
}

impl Store {
    /// A user by realm and account (any case).
    pub async fn user(&self, realm: &str, name: &str) -> Result<Option<Entity>> {
        self.entity(
            "user",
            &realm.to_ascii_uppercase(),
            &name.to_ascii_lowercase(),
        )
        .await
    }

    /// A computer by FQDN (any case).
    pub async fn computer(&self, fqdn: &str) -> Result<Option<Entity>> {
        self.entity(
            "computer",
            "",
            &fqdn.trim_end_matches('.').to_ascii_lowercase(),
        )
        .await
    }

    async fn entity(&self, kind: &str, realm: &str, name: &str) -> Result<Option<Entity>> {
        let r = sqlx::query(
            "SELECT id, kind, realm, name, first_seen, last_seen FROM entities
             WHERE kind = $1 AND realm = $2 AND name = $3",
        )
        .bind(kind)
        .bind(realm)
        .bind(name)
        .fetch_optional(self.pool())
        .await?;
        Ok(r.as_ref().map(entity))
    }

    /// An entity by id.
    pub async fn entity_by_id(&self, id: i64) -> Result<Option<Entity>> {
        let r = sqlx::query(
            "SELECT id, kind, realm, name, first_seen, last_seen FROM entities WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        Ok(r.as_ref().map(entity))
    }

    /// Entities of `kind` (`user`, `computer`, or "" for both), most recently seen first.
    pub async fn entities(&self, kind: &str, limit: i64, offset: i64) -> Result<Vec<Entity>> {
        let rows = sqlx::query(
            "SELECT id, kind, realm, name, first_seen, last_seen FROM entities
             WHERE ($1 = '' OR kind = $1) ORDER BY last_seen DESC, id LIMIT $2 OFFSET $3",
        )
        .bind(kind)
        .bind(limit.clamp(1, 10_000))
        .bind(offset.max(0))
        .fetch_all(self.pool())
        .await?;
        Ok(rows.iter().map(entity).collect())
    }

    /// Entities whose name contains `q` (any case), or that had address `q`.
    pub async fn search(&self, q: &str, limit: i64) -> Result<Vec<Entity>> {
        let like = format!(
            "%{}%",
            q.to_ascii_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        let rows = sqlx::query(
            "SELECT id, kind, realm, name, first_seen, last_seen FROM entities
             WHERE name LIKE $1 ESCAPE '\\' OR id IN (SELECT entity_id FROM entity_addresses WHERE addr = $2)
             ORDER BY last_seen DESC, id LIMIT $3",
        )
        .bind(like)
        .bind(q.trim())
        .bind(limit.clamp(1, 1000))
        .fetch_all(self.pool())
        .await?;
        Ok(rows.iter().map(entity).collect())
    }

    /// A computer's addresses, most recent first.
    pub async fn addresses(&self, entity_id: i64) -> Result<Vec<Address>> {
        let rows = sqlx::query(
            "SELECT addr, first_seen, last_seen, how FROM entity_addresses WHERE entity_id = $1
             ORDER BY last_seen DESC",
        )
        .bind(entity_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .iter()
            .map(|r| Address {
                addr: r.get("addr"),
                first_seen: r.get("first_seen"),
                last_seen: r.get("last_seen"),
                how: r.get("how"),
            })
            .collect())
    }

    /// An entity's activity per hour in `[from, to)` (Unix seconds), oldest first.
    pub async fn activity(&self, entity_id: i64, from: i64, to: i64) -> Result<Vec<ActivityRow>> {
        let rows = sqlx::query(
            "SELECT hour, metric, detail, n FROM activity
             WHERE entity_id = $1 AND hour >= $2 AND hour < $3 ORDER BY hour, metric, detail",
        )
        .bind(entity_id)
        .bind(from / 3600 * 3600)
        .bind(to)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .iter()
            .map(|r| ActivityRow {
                hour: r.get("hour"),
                metric: r.get("metric"),
                detail: r.get("detail"),
                n: r.get("n"),
            })
            .collect())
    }

    /// An entity's activity totals per metric and detail in `[from, to)`, largest first.
    pub async fn totals(&self, entity_id: i64, from: i64, to: i64) -> Result<Vec<Tally>> {
        let rows = sqlx::query(
            "SELECT metric, detail, CAST(SUM(n) AS BIGINT) AS n FROM activity
             WHERE entity_id = $1 AND hour >= $2 AND hour < $3
             GROUP BY metric, detail ORDER BY metric, n DESC, detail",
        )
        .bind(entity_id)
        .bind(from / 3600 * 3600)
        .bind(to)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .iter()
            .map(|r| Tally {
                metric: r.get("metric"),
                detail: r.get("detail"),
                n: r.get("n"),
            })
            .collect())
    }

    /// Alerts matching `f`, latest evidence first.
    pub async fn alerts(&self, f: &AlertFilter) -> Result<Vec<AlertRow>> {
        let mut sql = format!("SELECT {ALERT_COLS} FROM alerts a WHERE 1 = 1");
        let mut binds = Vec::new();
        let mut add = |cond: &str, b: Bind, sql: &mut String| {
            binds.push(b);
            sql.push_str(&cond.replace('?', &format!("${}", binds.len())));
        };
        for (col, v) in [
            ("severity", &f.severity),
            ("phase", &f.phase),
            ("status", &f.status),
            ("detection", &f.detection),
        ] {
            if let Some(v) = v.as_ref().filter(|v| !v.is_empty()) {
                add(
                    &format!(" AND a.{col} = ?"),
                    Bind::Text(v.clone()),
                    &mut sql,
                );
            }
        }
        if let Some(id) = f.entity_id {
            add(
                " AND a.id IN (SELECT alert_id FROM alert_entities WHERE entity_id = ?)",
                Bind::Int(id),
                &mut sql,
            );
        }
        if let Some(t) = f.since {
            add(" AND a.last_ts >= ?", Bind::Real(t), &mut sql);
        }
        if let Some(t) = f.until {
            add(" AND a.ts <= ?", Bind::Real(t), &mut sql);
        }
        let limit = if f.limit <= 0 {
            100
        } else {
            f.limit.min(10_000)
        };
        add(
            " ORDER BY a.last_ts DESC, a.id LIMIT ?",
            Bind::Int(limit),
            &mut sql,
        );
        add(" OFFSET ?", Bind::Int(f.offset.max(0)), &mut sql);
        let rows = bind_all(sqlx::query(&sql), &binds)
            .fetch_all(self.pool())
            .await?;
        Ok(rows.iter().map(alert_row).collect())
    }

    /// One alert with its record, notes and entities.
    pub async fn alert(&self, id: &str) -> Result<Option<AlertDetail>> {
        let sql = format!("SELECT {ALERT_COLS}, a.body FROM alerts a WHERE a.id = $1");
        let Some(r) = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(self.pool())
            .await?
        else {
            return Ok(None);
        };
        let body: String = r.get("body");
        let notes = sqlx::query(
            "SELECT at, actor, status, note FROM alert_notes WHERE alert_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|n| Note {
            at: n.get("at"),
            actor: n.get("actor"),
            status: opt_text(n, "status"),
            note: n.get("note"),
        })
        .collect();
        let entities = sqlx::query(
            "SELECT e.id, e.kind, e.realm, e.name, e.first_seen, e.last_seen, ae.role
             FROM alert_entities ae JOIN entities e ON e.id = ae.entity_id
             WHERE ae.alert_id = $1 ORDER BY ae.role, e.kind, e.name",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|r| (entity(r), r.get::<String, _>("role")))
        .collect();
        Ok(Some(AlertDetail {
            row: alert_row(&r),
            record: serde_json::from_str(&body).unwrap_or(serde_json::Value::Null),
            notes,
            entities,
        }))
    }

    /// An entity's alerts: (open, all).
    pub async fn alert_counts(&self, entity_id: i64) -> Result<(i64, i64)> {
        let r = sqlx::query(
            "SELECT CAST(COALESCE(SUM(CASE WHEN a.status = 'open' THEN 1 ELSE 0 END), 0) AS BIGINT) AS open,
                    COUNT(*) AS total
             FROM alerts a WHERE a.id IN (SELECT alert_id FROM alert_entities WHERE entity_id = $1)",
        )
        .bind(entity_id)
        .fetch_one(self.pool())
        .await?;
        Ok((r.get("open"), r.get("total")))
    }

    /// An entity's profile over `[from, to)`, with its latest `alerts` alerts.
    pub async fn profile(&self, e: Entity, from: i64, to: i64, alerts: i64) -> Result<Profile> {
        let addresses = self.addresses(e.id).await?;
        let totals = self.totals(e.id, from, to).await?;
        let list = self
            .alerts(&AlertFilter {
                entity_id: Some(e.id),
                limit: alerts,
                ..Default::default()
            })
            .await?;
        let (open, total) = self.alert_counts(e.id).await?;
        Ok(Profile {
            url: e.url(),
            entity: e,
            addresses,
            totals,
            alerts: list,
            alerts_open: open,
            alerts_total: total,
        })
    }

    /// Every sensor; `silent_after` seconds without a batch or stats makes one silent.
    pub async fn sensors(&self, silent_after: i64) -> Result<Vec<SensorRow>> {
        let now = super::now_secs();
        let rows = sqlx::query(
            "SELECT id, host, first_seen, last_seen, packets, drops, records, records_per_s
             FROM sensors ORDER BY id",
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .iter()
            .map(|r| {
                let last_seen: i64 = r.get("last_seen");
                SensorRow {
                    id: r.get("id"),
                    host: r.get("host"),
                    first_seen: r.get("first_seen"),
                    last_seen,
                    packets: r.get("packets"),
                    drops: r.get("drops"),
                    records: r.get("records"),
                    records_per_s: r.get("records_per_s"),
                    silent: now - last_seen > silent_after,
                }
            })
            .collect())
    }

    /// A sensor's `stats` since `since` (record time), oldest first, at most 10,000.
    pub async fn sensor_series(&self, sensor: &str, since: f64) -> Result<Vec<SensorPoint>> {
        let rows = sqlx::query(
            "SELECT ts, packets, drops, records, records_per_s FROM sensor_stats
             WHERE sensor = $1 AND ts >= $2 ORDER BY ts LIMIT 10000",
        )
        .bind(sensor)
        .bind(since)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .iter()
            .map(|r| SensorPoint {
                ts: r.get("ts"),
                packets: r.get("packets"),
                drops: r.get("drops"),
                records: r.get("records"),
                records_per_s: r.get("records_per_s"),
            })
            .collect())
    }
}
