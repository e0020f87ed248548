//! The center's store: one data layer over SQLite (the embedded default, in WAL mode) and
//! PostgreSQL (when several centers share one store), through sqlx's `Any` driver with queries
//! checked at run time. The schema is in [`migrations`], applied at open.
//!
//! [`write`] is the ingest side (one transaction per group of batches: entities, rolled-up
//! activity, alerts, sensors' health and the batches' `(sensor, seq)` together); [`read`] is
//! what the console and the JSON API ask; [`admin`] holds alert status and notes, exclusions and
//! the audit log. Parameters are written `$1, $2, ...` in order of first use, which both
//! databases accept.

pub mod admin;
pub mod migrations;
pub mod read;
pub mod write;

pub use migrations::Dialect;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor, Row};
use std::time::Duration;

/// A store error, with what to do about it.
#[derive(Debug)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StoreError {}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError(format!("store: {e}"))
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// An open store.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    dialect: Dialect,
    /// This center's name when several centers share the store: each writes its own part of
    /// an alert raised by more than one (see [`Store::set_part`]).
    part: Option<std::sync::Arc<str>>,
}

/// Unix seconds now.
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl Store {
    /// Opens (and creates, for SQLite) the database at `url` and brings its schema up to date.
    ///
    /// `url`: `sqlite:///var/lib/dcsensor-center/center.db` (or `sqlite:relative.db`), or
    /// `postgres://user:password@host/db`.
    pub async fn open(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let (dialect, url) = if url.starts_with("sqlite:") {
            let u = if url.contains('?') {
                url.to_string()
            } else {
                format!("{url}?mode=rwc")
            };
            (Dialect::Sqlite, u)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (Dialect::Postgres, url.to_string())
        } else {
            return Err(StoreError(format!(
                "store url `{}`: give sqlite:PATH or postgres://USER@HOST/DB",
                redact(url)
            )));
        };
        let mut opts = AnyPoolOptions::new()
            .max_connections(if dialect == Dialect::Sqlite { 4 } else { 8 })
            .acquire_timeout(Duration::from_secs(30));
        if dialect == Dialect::Sqlite {
            opts = opts.after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    conn.execute("PRAGMA synchronous = NORMAL").await?;
                    conn.execute("PRAGMA busy_timeout = 10000").await?;
                    conn.execute("PRAGMA foreign_keys = ON").await?;
                    Ok(())
                })
            });
        }
        let pool = opts.connect(&url).await.map_err(|e| {
            StoreError(format!(
                "store {}: cannot open: {e}; check the path or server and its permissions",
                redact(&url)
            ))
        })?;
        let store = Store {
            pool,
            dialect,
            part: None,
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Several centers share this store, each taking a share of the sensors: the same attack
    /// seen by sensors of two shares is raised by two centers under one alert id, each counting
    /// its own evidence. Each center then keeps its part (`alert_parts`, under `name`) and the
    /// alert shows them together: the evidence counts summed, the first and latest times, the
    /// sensors of all (the evidence records and summary are those of the latest part written).
    pub fn set_part(&mut self, name: &str) {
        self.part = Some(name.into());
    }

    /// The database's dialect (for a caller's own migrations and queries).
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The connection pool (the console keeps its own tables in the same database).
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Closes every connection (after the last commit).
    pub async fn close(&self) {
        self.pool.close().await
    }

    async fn migrate(&self) -> Result<()> {
        self.apply_migrations("", migrations::MIGRATIONS).await
    }

    /// Applies `list` (numbered within `scope`, e.g. "console"; "" is the center's own) in
    /// order, each in its own transaction, skipping those already applied. On PostgreSQL,
    /// several centers may start at once on one database: a session-level advisory lock lets
    /// one of them migrate while the others wait, then find the work done.
    pub async fn apply_migrations(
        &self,
        scope: &str,
        list: &[migrations::Migration],
    ) -> Result<()> {
        let mut conn = self.pool.acquire().await?;
        if self.dialect == Dialect::Postgres {
            sqlx::query("SELECT COUNT(*) AS n FROM (SELECT pg_advisory_lock($1)) AS l")
                .bind(MIGRATION_LOCK)
                .fetch_one(&mut *conn)
                .await?;
        }
        let r = self.apply_locked(&mut conn, scope, list).await;
        if self.dialect == Dialect::Postgres {
            let unlocked = sqlx::query("SELECT pg_advisory_unlock($1) AS u")
                .bind(MIGRATION_LOCK)
                .fetch_one(&mut *conn)
                .await;
            if unlocked.is_err() {
                // The lock goes with the session: never hand this connection out again.
                conn.detach();
            }
        }
        r
    }

    async fn apply_locked(
        &self,
        conn: &mut sqlx::pool::PoolConnection<sqlx::Any>,
        scope: &str,
        list: &[migrations::Migration],
    ) -> Result<()> {
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
        )
        .await?;
        for m in list {
            let version = scoped_version(scope, m.version);
            let done: Option<AnyRow> =
                sqlx::query("SELECT version FROM schema_migrations WHERE version = $1")
                    .bind(version)
                    .fetch_optional(&mut **conn)
                    .await?;
            if done.is_some() {
                continue;
            }
            let mut tx = sqlx::Connection::begin(&mut **conn).await?;
            for s in m.statements {
                tx.execute(self.dialect.sql(s).as_str())
                    .await
                    .map_err(|e| {
                        StoreError(format!("migration {scope}{} ({}): {e}", m.version, m.name))
                    })?;
            }
            sqlx::query(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            )
            .bind(version)
            .bind(format!("{scope}{}", m.name))
            .bind(now_secs())
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            tracing::info!(
                version = m.version,
                scope,
                name = m.name,
                "store: migration applied"
            );
        }
        Ok(())
    }
}

/// The PostgreSQL advisory lock key held while migrating (any fixed number: "dcsn").
const MIGRATION_LOCK: i64 = 0x6463_736e;

/// A scope's migration numbers live apart: the center's are 1.., another scope's start at a
/// million times a number derived from its name.
fn scoped_version(scope: &str, v: i64) -> i64 {
    if scope.is_empty() {
        return v;
    }
    let h = scope.bytes().fold(0i64, |a, b| (a * 31 + b as i64) % 1000);
    (h + 1) * 1_000_000 + v
}

/// A URL with its password replaced, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Reads an optional text column.
pub(crate) fn opt_text(r: &AnyRow, col: &str) -> Option<String> {
    r.try_get::<Option<String>, _>(col).ok().flatten()
}
