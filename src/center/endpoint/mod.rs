//! Endpoint products: what the endpoint protection product says about an entity (does it know
//! the computer or user, how many alerts it holds, its portal page), behind the [`Connector`]
//! trait so that other products can follow Microsoft Defender for Endpoint ([`mde`]).
//!
//! [`Endpoint`] puts a cache (in the store, `endpoint_cache`) and a call budget in front of a
//! connector: the console asks it for every entity it shows, and it calls the product only when
//! its answer is older than the cache time and the budget allows; otherwise the last answer
//! (or "not asked yet") is shown.

pub mod mde;
pub mod standin;

use super::store::admin::EndpointEntry;
use super::store::{now_secs, Store};
use super::CenterStats;
use futures_util::future::BoxFuture;
use serde::Serialize;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// What the product says about one entity.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct View {
    /// Whether the product knows the entity (a grey badge when not).
    pub known: bool,
    /// Its alerts that are not resolved.
    pub open_alerts: i64,
    /// All its alerts.
    pub alerts: i64,
    /// The product's page for the entity, where there is one.
    pub url: Option<String>,
    /// The alerts' ids, titles, severities and statuses (at most 50).
    pub detail: serde_json::Value,
}

/// Why a call to the product gave no answer.
#[derive(Debug, Clone, PartialEq)]
pub enum ConnectorError {
    /// The product asked to wait (HTTP 429) for this many seconds, or our own budget is spent.
    RateLimited(u64),
    /// Anything else, with what to check.
    Failed(String),
}

impl std::fmt::Display for ConnectorError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectorError::RateLimited(s) => write!(f, "rate limited: retry in {s} s"),
            ConnectorError::Failed(e) => f.write_str(e),
        }
    }
}

/// An endpoint product's API.
pub trait Connector: Send + Sync {
    /// A short name (`mde`), the cache's key.
    fn product(&self) -> &'static str;
    /// A computer by its FQDN.
    fn computer<'a>(&'a self, fqdn: &'a str) -> BoxFuture<'a, Result<View, ConnectorError>>;
    /// A user by realm and account name.
    fn user<'a>(
        &'a self,
        realm: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Result<View, ConnectorError>>;
}

/// A cached answer and how old it is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Badge {
    pub product: String,
    /// None: never asked successfully yet.
    pub view: Option<View>,
    pub fetched_at: Option<i64>,
    /// Why the answer is missing or old, if it is.
    pub note: Option<String>,
}

/// A connector with its cache.
#[derive(Clone)]
pub struct Endpoint {
    connector: Arc<dyn Connector>,
    store: Store,
    /// Seconds an answer is used before asking again.
    ttl: i64,
    stats: Arc<CenterStats>,
}

impl Endpoint {
    pub fn new(
        connector: Arc<dyn Connector>,
        store: Store,
        ttl: i64,
        stats: Arc<CenterStats>,
    ) -> Self {
        Endpoint {
            connector,
            store,
            ttl,
            stats,
        }
    }

    /// The badge of a computer.
    pub async fn computer(&self, fqdn: &str) -> Badge {
        let key = fqdn.to_ascii_lowercase();
        self.badge("computer", &key, || self.connector.computer(&key))
            .await
    }

    /// The badge of a user.
    pub async fn user(&self, realm: &str, name: &str) -> Badge {
        let key = format!(
            "{}\\{}",
            realm.to_ascii_uppercase(),
            name.to_ascii_lowercase()
        );
        let (r, n) = (realm.to_ascii_uppercase(), name.to_ascii_lowercase());
        self.badge("user", &key, || self.connector.user(&r, &n))
            .await
    }

    async fn badge<'a, F>(&'a self, kind: &str, key: &str, call: F) -> Badge
    where
        F: FnOnce() -> BoxFuture<'a, Result<View, ConnectorError>>,
    {
        let product = self.connector.product();
        let cached = self
            .store
            .endpoint_cached(product, kind, key)
            .await
            .ok()
            .flatten();
        let now = now_secs();
        let from_cache = |c: &EndpointEntry, note: Option<String>| Badge {
            product: product.to_string(),
            view: Some(View {
                known: c.known,
                open_alerts: c.alerts,
                alerts: serde_json::from_str::<serde_json::Value>(&c.body)
                    .ok()
                    .and_then(|v| v.get("alerts").and_then(|a| a.as_i64()))
                    .unwrap_or(c.alerts),
                url: c.url.clone(),
                detail: serde_json::from_str::<serde_json::Value>(&c.body)
                    .ok()
                    .and_then(|mut v| v.get_mut("list").map(serde_json::Value::take))
                    .unwrap_or_default(),
            }),
            fetched_at: Some(c.fetched_at),
            note,
        };
        if let Some(c) = &cached {
            if now - c.fetched_at < self.ttl {
                return from_cache(c, None);
            }
        }
        self.stats.connector_calls.fetch_add(1, Ordering::Relaxed);
        match call().await {
            Ok(v) => {
                let body = serde_json::json!({ "alerts": v.alerts, "list": v.detail });
                let e = EndpointEntry {
                    product: product.to_string(),
                    kind: kind.to_string(),
                    key: key.to_string(),
                    fetched_at: now,
                    known: v.known,
                    alerts: v.open_alerts,
                    url: v.url.clone(),
                    body: body.to_string(),
                };
                if let Err(e) = self.store.endpoint_put(&e).await {
                    tracing::warn!("endpoint cache: {e}");
                }
                Badge {
                    product: product.to_string(),
                    view: Some(v),
                    fetched_at: Some(now),
                    note: None,
                }
            }
            Err(err) => {
                self.stats.connector_errors.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(product, kind, key, "endpoint: {err}");
                let note = Some(format!("{product}: {err}"));
                match &cached {
                    Some(c) => from_cache(c, note),
                    None => Badge {
                        product: product.to_string(),
                        view: None,
                        fetched_at: None,
                        note,
                    },
                }
            }
        }
    }
}
