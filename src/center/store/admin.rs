//! What people change in the store: alert status and notes, exclusions, the audit log (every
//! change writes an audit entry in the same transaction), and the endpoint product's cached
//! answers.

use super::{now_secs, opt_text, Result, Store, StoreError};
use serde::Serialize;
use sqlx::Row;

/// The statuses an alert can have: open, then resolved, or closed as a false positive or as a
/// benign true positive.
pub const STATUSES: &[&str] = &["open", "resolved", "false_positive", "benign_true_positive"];

/// The source fields an exclusion can match.
pub const EXCLUSION_FIELDS: &[&str] = &["source_ip", "source_host", "source_user"];

/// An exclusion: `detection` (or `*`) does not raise for a source whose `field` is `value`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Exclusion {
    pub id: i64,
    pub detection: String,
    pub field: String,
    pub value: String,
    pub note: String,
    pub created_by: String,
    pub created_at: i64,
}

/// One audit entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub object: String,
    pub detail: String,
}

/// The endpoint product's answer for one entity, as cached.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EndpointEntry {
    pub product: String,
    pub kind: String,
    pub key: String,
    pub fetched_at: i64,
    /// Whether the product knows the entity (grey badge when not).
    pub known: bool,
    pub alerts: i64,
    /// The product's page for the entity.
    pub url: Option<String>,
    /// The product's answer, JSON.
    pub body: String,
}

impl Store {
    /// Sets an alert's status (one of [`STATUSES`]) with a note, as `actor`; false when there
    /// is no such alert.
    pub async fn set_alert_status(
        &self,
        id: &str,
        status: &str,
        note: &str,
        actor: &str,
    ) -> Result<bool> {
        if !STATUSES.contains(&status) {
            return Err(StoreError(format!(
                "alert status `{status}`: use one of {}",
                STATUSES.join(", ")
            )));
        }
        let now = now_secs();
        let mut tx = self.pool().begin().await?;
        let r = sqlx::query("UPDATE alerts SET status = $1, updated_at = $2 WHERE id = $3")
            .bind(status)
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if r.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query("INSERT INTO alert_notes (alert_id, at, actor, status, note) VALUES ($1, $2, $3, $4, $5)")
            .bind(id)
            .bind(now)
            .bind(actor)
            .bind(status)
            .bind(note)
            .execute(&mut *tx)
            .await?;
        audit_in(
            &mut tx,
            now,
            actor,
            "alert.status",
            id,
            &format!("{status}: {note}"),
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Adds a note to an alert; false when there is no such alert.
    pub async fn add_note(&self, id: &str, note: &str, actor: &str) -> Result<bool> {
        let now = now_secs();
        let mut tx = self.pool().begin().await?;
        let exists = sqlx::query("SELECT id FROM alerts WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        if !exists {
            return Ok(false);
        }
        sqlx::query("INSERT INTO alert_notes (alert_id, at, actor, status, note) VALUES ($1, $2, $3, NULL, $4)")
            .bind(id)
            .bind(now)
            .bind(actor)
            .bind(note)
            .execute(&mut *tx)
            .await?;
        audit_in(&mut tx, now, actor, "alert.note", id, note).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Adds an exclusion (idempotent: the same one twice is one) and returns its id.
    pub async fn add_exclusion(
        &self,
        detection: &str,
        field: &str,
        value: &str,
        note: &str,
        actor: &str,
    ) -> Result<i64> {
        if !EXCLUSION_FIELDS.contains(&field) {
            return Err(StoreError(format!(
                "exclusion field `{field}`: use one of {}",
                EXCLUSION_FIELDS.join(", ")
            )));
        }
        let now = now_secs();
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO exclusions (detection, field, value, note, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (detection, field, value) DO NOTHING",
        )
        .bind(detection)
        .bind(field)
        .bind(value)
        .bind(note)
        .bind(actor)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let id: i64 = sqlx::query(
            "SELECT id FROM exclusions WHERE detection = $1 AND field = $2 AND value = $3",
        )
        .bind(detection)
        .bind(field)
        .bind(value)
        .fetch_one(&mut *tx)
        .await?
        .get(0);
        audit_in(
            &mut tx,
            now,
            actor,
            "exclusion.add",
            &id.to_string(),
            &format!("{detection} {field}={value}: {note}"),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Removes an exclusion; false when there was none with that id.
    pub async fn remove_exclusion(&self, id: i64, actor: &str) -> Result<bool> {
        let now = now_secs();
        let mut tx = self.pool().begin().await?;
        let r = sqlx::query("DELETE FROM exclusions WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if r.rows_affected() == 0 {
            return Ok(false);
        }
        audit_in(&mut tx, now, actor, "exclusion.remove", &id.to_string(), "").await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Every exclusion.
    pub async fn exclusions(&self) -> Result<Vec<Exclusion>> {
        let rows = sqlx::query(
            "SELECT id, detection, field, value, note, created_by, created_at FROM exclusions ORDER BY id",
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .iter()
            .map(|r| Exclusion {
                id: r.get("id"),
                detection: r.get("detection"),
                field: r.get("field"),
                value: r.get("value"),
                note: r.get("note"),
                created_by: r.get("created_by"),
                created_at: r.get("created_at"),
            })
            .collect())
    }

    /// Writes an audit entry (for changes made outside this module: users, tokens, logins).
    pub async fn audit(&self, actor: &str, action: &str, object: &str, detail: &str) -> Result<()> {
        let mut tx = self.pool().begin().await?;
        audit_in(&mut tx, now_secs(), actor, action, object, detail).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The latest audit entries, newest first.
    pub async fn audit_log(&self, limit: i64, offset: i64) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT id, at, actor, action, object, detail FROM audit ORDER BY id DESC LIMIT $1 OFFSET $2",
        )
        .bind(limit.clamp(1, 10_000))
        .bind(offset.max(0))
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .iter()
            .map(|r| AuditEntry {
                id: r.get("id"),
                at: r.get("at"),
                actor: r.get("actor"),
                action: r.get("action"),
                object: r.get("object"),
                detail: r.get("detail"),
            })
            .collect())
    }

    /// The cached endpoint answer for an entity, if any.
    pub async fn endpoint_cached(
        &self,
        product: &str,
        kind: &str,
        key: &str,
    ) -> Result<Option<EndpointEntry>> {
        let r = sqlx::query(
            "SELECT product, kind, key, fetched_at, known, alerts, url, body FROM endpoint_cache
             WHERE product = $1 AND kind = $2 AND key = $3",
        )
        .bind(product)
        .bind(kind)
        .bind(key)
        .fetch_optional(self.pool())
        .await?;
        Ok(r.map(|r| EndpointEntry {
            product: r.get("product"),
            kind: r.get("kind"),
            key: r.get("key"),
            fetched_at: r.get("fetched_at"),
            known: r.get::<i64, _>("known") != 0,
            alerts: r.get("alerts"),
            url: opt_text(&r, "url"),
            body: r.get("body"),
        }))
    }

    /// Stores an endpoint answer.
    pub async fn endpoint_put(&self, e: &EndpointEntry) -> Result<()> {
        sqlx::query(
            "INSERT INTO endpoint_cache (product, kind, key, fetched_at, known, alerts, url, body)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (product, kind, key) DO UPDATE SET fetched_at = excluded.fetched_at,
               known = excluded.known, alerts = excluded.alerts, url = excluded.url, body = excluded.body",
        )
        .bind(&e.product)
        .bind(&e.kind)
        .bind(&e.key)
        .bind(e.fetched_at)
        .bind(e.known as i64)
        .bind(e.alerts)
        .bind(e.url.clone())
        .bind(&e.body)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Marks sensor `id` as alerted for silence (so the alert is raised once per silence).
    pub async fn mark_silent_alerted(&self, id: &str) -> Result<()> {
        sqlx::query("UPDATE sensors SET silent_alerted = 1 WHERE id = $1")
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Sensors silent for more than `after` seconds that have not been alerted for it yet:
    /// (id, host, last_seen).
    pub async fn newly_silent(&self, after: i64) -> Result<Vec<(String, String, i64)>> {
        let rows = sqlx::query(
            "SELECT id, host, last_seen FROM sensors WHERE silent_alerted = 0 AND last_seen < $1",
        )
        .bind(now_secs() - after)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get("id"), r.get("host"), r.get("last_seen")))
            .collect())
    }
}

async fn audit_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    at: i64,
    actor: &str,
    action: &str,
    object: &str,
    detail: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit (at, actor, action, object, detail) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(at)
    .bind(actor)
    .bind(action)
    .bind(object)
    .bind(detail)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
