//! Who may use the console, kept in the center's store beside its data (migrations in the
//! `console` scope): users with argon2id password hashes, API bearer tokens and sign-in
//! sessions, both kept only as SHA-256 digests of their secret. Every change is audited.

use super::auth::{self, Role};
use crate::center::store::migrations::Migration;
use crate::center::store::{now_secs, Store};
use sqlx::Row;

/// The console's tables, applied at start after the center's own.
pub const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "console users, API tokens, sessions",
    statements: &[
        "CREATE TABLE console_users (
            name TEXT PRIMARY KEY,
            role TEXT NOT NULL,
            password TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL)",
        "CREATE TABLE console_tokens (
            digest TEXT PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            role TEXT NOT NULL,
            created_by TEXT NOT NULL,
            created_at BIGINT NOT NULL)",
        "CREATE TABLE console_sessions (
            digest TEXT PRIMARY KEY,
            user_name TEXT NOT NULL,
            csrf TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL)",
    ],
}];

/// Who made a request: a signed-in user (with the session's CSRF token) or an API token.
#[derive(Debug, Clone, PartialEq)]
pub struct Ident {
    pub name: String,
    pub role: Role,
    /// The session's CSRF token; None for a bearer token (no ambient credential to forge).
    pub csrf: Option<String>,
}

fn err(e: impl std::fmt::Display) -> String {
    format!("{e}; check the store (see the center's log)")
}

/// Brings the console's tables up to date.
pub async fn migrate(store: &Store) -> Result<(), String> {
    store
        .apply_migrations("console", MIGRATIONS)
        .await
        .map_err(|e| e.to_string())
}

/// A user name: 1 to 64 characters, no control characters.
pub fn valid_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(format!(
            "user name `{}`: give 1 to 64 characters without control characters",
            name.escape_debug()
        ));
    }
    Ok(())
}

/// Adds a user, or sets an existing user's role and password; as `actor` (audited, without
/// the password).
pub async fn add_user(
    store: &Store,
    name: &str,
    role: Role,
    password: &str,
    actor: &str,
) -> Result<(), String> {
    valid_name(name)?;
    let pw = password.to_string();
    let hash = tokio::task::spawn_blocking(move || auth::hash_password(&pw))
        .await
        .map_err(err)??;
    let now = now_secs();
    sqlx::query(
        "INSERT INTO console_users (name, role, password, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $4)
         ON CONFLICT (name) DO UPDATE SET role = excluded.role, password = excluded.password,
           updated_at = excluded.updated_at",
    )
    .bind(name)
    .bind(role.as_str())
    .bind(hash)
    .bind(now)
    .execute(store.pool())
    .await
    .map_err(err)?;
    // Sessions opened with the old password or role end.
    sqlx::query("DELETE FROM console_sessions WHERE user_name = $1")
        .bind(name)
        .execute(store.pool())
        .await
        .map_err(err)?;
    store
        .audit(actor, "user.set", name, &format!("role {}", role.as_str()))
        .await
        .map_err(err)
}

/// Every user: (name, role, created_at).
pub async fn users(store: &Store) -> Result<Vec<(String, String, i64)>, String> {
    let rows = sqlx::query("SELECT name, role, created_at FROM console_users ORDER BY name")
        .fetch_all(store.pool())
        .await
        .map_err(err)?;
    Ok(rows
        .iter()
        .map(|r| (r.get("name"), r.get("role"), r.get("created_at")))
        .collect())
}

/// Adds an API token named `name`; returns the token, shown once (only its digest is kept).
pub async fn add_token(
    store: &Store,
    name: &str,
    role: Role,
    actor: &str,
) -> Result<String, String> {
    valid_name(name)?;
    let token = auth::random_secret("dcs_")?;
    sqlx::query(
        "INSERT INTO console_tokens (digest, name, role, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(auth::secret_digest(&token))
    .bind(name)
    .bind(role.as_str())
    .bind(actor)
    .bind(now_secs())
    .execute(store.pool())
    .await
    .map_err(|e| {
        format!("token `{name}`: {e}; a token of that name exists already, pick another name")
    })?;
    store
        .audit(actor, "token.add", name, &format!("role {}", role.as_str()))
        .await
        .map_err(err)?;
    Ok(token)
}

/// The identity of an API token, if it is one.
pub async fn token(store: &Store, secret: &str) -> Option<Ident> {
    let r = sqlx::query("SELECT name, role FROM console_tokens WHERE digest = $1")
        .bind(auth::secret_digest(secret))
        .fetch_optional(store.pool())
        .await
        .ok()??;
    Some(Ident {
        name: format!("token:{}", r.get::<String, _>("name")),
        role: Role::parse(&r.get::<String, _>("role")).ok()?,
        csrf: None,
    })
}

/// The role of `name` when `password` is right. A missing user costs one hash verification
/// too, so that timing does not tell which names exist.
pub async fn check_password(store: &Store, name: &str, password: &str) -> Option<Role> {
    let row = sqlx::query("SELECT role, password FROM console_users WHERE name = $1")
        .bind(name)
        .fetch_optional(store.pool())
        .await
        .ok()?;
    let (role, hash) = match &row {
        Some(r) => (
            Some(r.get::<String, _>("role")),
            r.get::<String, _>("password"),
        ),
        None => (None, auth::dummy_hash().to_string()),
    };
    let pw = password.to_string();
    let ok = tokio::task::spawn_blocking(move || auth::verify_password(&hash, &pw))
        .await
        .unwrap_or(false);
    if ok {
        Role::parse(&role?).ok()
    } else {
        None
    }
}

/// Opens a session for `name` lasting `lifetime` seconds: (cookie secret, CSRF token).
pub async fn open_session(
    store: &Store,
    name: &str,
    lifetime: i64,
) -> Result<(String, String), String> {
    let secret = auth::random_secret("")?;
    let csrf = auth::random_secret("")?;
    let now = now_secs();
    sqlx::query(
        "INSERT INTO console_sessions (digest, user_name, csrf, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(auth::secret_digest(&secret))
    .bind(name)
    .bind(&csrf)
    .bind(now)
    .bind(now + lifetime)
    .execute(store.pool())
    .await
    .map_err(err)?;
    // Expired sessions go as new ones come.
    let _ = sqlx::query("DELETE FROM console_sessions WHERE expires_at < $1")
        .bind(now)
        .execute(store.pool())
        .await;
    Ok((secret, csrf))
}

/// The identity of a session that has not expired (its user's current role).
pub async fn session(store: &Store, secret: &str) -> Option<Ident> {
    let r = sqlx::query(
        "SELECT s.user_name, s.csrf, u.role FROM console_sessions s
         JOIN console_users u ON u.name = s.user_name
         WHERE s.digest = $1 AND s.expires_at >= $2",
    )
    .bind(auth::secret_digest(secret))
    .bind(now_secs())
    .fetch_optional(store.pool())
    .await
    .ok()??;
    Some(Ident {
        name: r.get("user_name"),
        role: Role::parse(&r.get::<String, _>("role")).ok()?,
        csrf: Some(r.get("csrf")),
    })
}

/// Ends a session.
pub async fn close_session(store: &Store, secret: &str) {
    let _ = sqlx::query("DELETE FROM console_sessions WHERE digest = $1")
        .bind(auth::secret_digest(secret))
        .execute(store.pool())
        .await;
}
