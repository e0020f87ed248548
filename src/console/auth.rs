//! The console's security primitives, independent of where they are stored: roles and what each
//! may do, argon2id password hashes, random secrets (session ids, CSRF tokens, API tokens) and
//! the digests under which they are kept, a constant-time comparison, and the login throttle
//! that slows repeated wrong passwords.
//!
//! No secret is kept in the clear: the store holds a password's argon2id hash and the SHA-256
//! of a session id or an API token, so a copy of the database opens no session.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine as _;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

/// What a console user or an API token may do. Each role includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Reads every page and the JSON API.
    Viewer,
    /// Also changes an alert's status and adds notes.
    Analyst,
    /// Also edits exclusions, users and tokens.
    Admin,
}

impl Role {
    /// Every role, least first.
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Analyst, Role::Admin];

    /// The role's name as written in the store and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Analyst => "analyst",
            Role::Admin => "admin",
        }
    }

    /// Parses `viewer`, `analyst` or `admin`.
    pub fn parse(s: &str) -> Result<Role, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("role `{s}`: use viewer, analyst or admin"))
    }

    /// Whether this role may change alert status and add notes.
    pub fn can_triage(self) -> bool {
        self >= Role::Analyst
    }

    /// Whether this role may edit exclusions, users and tokens.
    pub fn can_admin(self) -> bool {
        self >= Role::Admin
    }
}

/// Smallest password accepted (characters).
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Largest password accepted (bytes): argon2 hashes any length, but a request should not make
/// the server hash megabytes.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Hashes `password` with argon2id (the crate's defaults: 19 MiB, 2 passes, 1 lane) and a
/// random salt, as a PHC string.
pub fn hash_password(password: &str) -> Result<String, String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(format!(
            "the password is too short: give at least {MIN_PASSWORD_CHARS} characters"
        ));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(format!(
            "the password is too long: give at most {MAX_PASSWORD_BYTES} bytes"
        ));
    }
    let mut salt = [0u8; 16];
    fill_random(&mut salt)?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| format!("password salt: {e}"))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("password hash: {e}"))
}

/// Whether `password` matches the PHC string `hash` (false for a malformed hash or an
/// over-long password).
pub fn verify_password(hash: &str, password: &str) -> bool {
    if password.len() > MAX_PASSWORD_BYTES {
        return false;
    }
    match PasswordHash::new(hash) {
        Ok(h) => Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash of a password nobody has, to verify against when the user does not exist, so that a
/// wrong user name costs as long as a wrong password.
pub fn dummy_hash() -> &'static str {
    static H: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    H.get_or_init(|| {
        let mut pw = [0u8; 24];
        let _ = fill_random(&mut pw);
        let pw = base64::engine::general_purpose::STANDARD.encode(pw);
        hash_password(&pw).unwrap_or_default()
    })
}

fn fill_random(buf: &mut [u8]) -> Result<(), String> {
    getrandom::getrandom(buf).map_err(|e| format!("the system's random source failed: {e}"))
}

/// A fresh random secret of 32 bytes, URL-safe base64 (43 characters), with `prefix` before
/// it (`dcs_` for API tokens, none for session ids and CSRF tokens).
pub fn random_secret(prefix: &str) -> Result<String, String> {
    let mut b = [0u8; 32];
    fill_random(&mut b)?;
    Ok(format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
    ))
}

/// The SHA-256 (hex) under which a session id or API token is stored and looked up.
pub fn secret_digest(secret: &str) -> String {
    let d = Sha256::digest(secret.as_bytes());
    let mut s = String::with_capacity(64);
    for b in d {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Compares two secrets in time that does not depend on where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// How the login throttle slows repeated failures. Every field is a setting with this default.
#[derive(Debug, Clone, PartialEq)]
pub struct ThrottleSettings {
    /// Wrong passwords allowed for one key (a user name, an address) before attempts are
    /// slowed (default 3).
    pub free_failures: u32,
    /// The wait after the first failure past those; it doubles with each further one
    /// (default 2 s).
    pub base_delay: Duration,
    /// The longest wait (default 60 s): a slow-down, never a lock-out.
    pub max_delay: Duration,
    /// A key's failures are forgotten this long after its last one (default 15 min).
    pub forget_after: Duration,
    /// Keys remembered at most (default 10,000); past it the stalest is forgotten and counted.
    pub max_keys: usize,
}

impl Default for ThrottleSettings {
    fn default() -> Self {
        ThrottleSettings {
            free_failures: 3,
            base_delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(60),
            forget_after: Duration::from_secs(15 * 60),
            max_keys: 10_000,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    n: u32,
    last: Instant,
    not_before: Instant,
}

/// Counts wrong passwords per key and tells how long the next attempt must wait. A login is
/// checked against two keys: the user name (slows guessing one account from many addresses)
/// and the client's address (slows spraying many accounts from one).
#[derive(Debug)]
pub struct Throttle {
    settings: ThrottleSettings,
    keys: HashMap<String, Failures>,
    /// Keys forgotten early because the table was full.
    pub evicted: u64,
}

impl Throttle {
    pub fn new(settings: ThrottleSettings) -> Throttle {
        Throttle {
            settings,
            keys: HashMap::new(),
            evicted: 0,
        }
    }

    /// `Err(wait)` when an attempt for `key` must wait that long yet.
    pub fn check(&mut self, key: &str, now: Instant) -> Result<(), Duration> {
        let forget = self.settings.forget_after;
        match self.keys.get(key) {
            Some(f) if now.duration_since(f.last) >= forget => {
                self.keys.remove(key);
                Ok(())
            }
            Some(f) if f.not_before > now => Err(f.not_before - now),
            _ => Ok(()),
        }
    }

    /// Records a wrong password for `key`; returns the wait now imposed on it (zero while
    /// within the free failures).
    pub fn failure(&mut self, key: &str, now: Instant) -> Duration {
        if !self.keys.contains_key(key) && self.keys.len() >= self.settings.max_keys.max(1) {
            self.forget_stalest();
        }
        let s = &self.settings;
        let f = self.keys.entry(key.to_string()).or_insert(Failures {
            n: 0,
            last: now,
            not_before: now,
        });
        if now.duration_since(f.last) >= s.forget_after {
            f.n = 0;
        }
        f.n = f.n.saturating_add(1);
        f.last = now;
        let wait = if f.n <= s.free_failures {
            Duration::ZERO
        } else {
            let doublings = (f.n - s.free_failures - 1).min(20);
            s.base_delay
                .saturating_mul(1u32 << doublings)
                .min(s.max_delay)
        };
        f.not_before = now + wait;
        wait
    }

    /// Forgets `key`'s failures (after a right password).
    pub fn success(&mut self, key: &str) {
        self.keys.remove(key);
    }

    /// Keys remembered now.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key is remembered.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    fn forget_stalest(&mut self) {
        if let Some(k) = self
            .keys
            .iter()
            .min_by_key(|(_, f)| f.last)
            .map(|(k, _)| k.clone())
        {
            self.keys.remove(&k);
            self.evicted += 1;
        }
    }
}

#[cfg(test)]
mod tests;
