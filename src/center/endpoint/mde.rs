//! Microsoft Defender for Endpoint: OAuth2 client credentials for a token, then
//!
//! - a computer: `GET /api/machines?$filter=computerDnsName eq '<fqdn>'` (an empty list or 404:
//!   unknown), then `GET /api/machines/{id}/alerts` (404: unknown);
//! - a user: `GET /api/users/{name}/alerts` (the account name, not the UPN; an empty list: not
//!   known to the product).
//!
//! Every base URL is a setting (the tests and the one-machine demo point them at the local
//! stand-in, [`super::standin`]). The client secret comes from a file or the environment and is
//! never logged. The documented limits (100 calls a minute, 1,500 an hour) are kept by a local
//! budget; a 429 is waited out for its `Retry-After` when that is short, else reported; an
//! expired token (401) is renewed once.

use super::{Connector, ConnectorError, View};
use futures_util::future::BoxFuture;
use serde::Deserialize;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// `[endpoint.mde]` settings.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MdeSettings {
    /// The API (default `https://api.security.microsoft.com`).
    pub api_url: String,
    /// The OAuth2 token endpoint (default
    /// `https://login.microsoftonline.com/<tenant_id>/oauth2/v2.0/token`).
    pub token_url: String,
    /// The Entra tenant, when `token_url` is the default.
    pub tenant_id: String,
    /// The application (client) id.
    pub client_id: String,
    /// A file holding the client secret; else the environment variable `client_secret_env`.
    pub client_secret_file: Option<PathBuf>,
    /// The environment variable holding the client secret (default `DCSENSOR_MDE_CLIENT_SECRET`).
    pub client_secret_env: String,
    /// The token's scope (default `https://api.securitycenter.microsoft.com/.default`).
    pub scope: String,
    /// The portal, for links: `<portal_url>/machines/<id>/overview` (default
    /// `https://security.microsoft.com`).
    pub portal_url: String,
    /// Minutes an answer is cached (default 15).
    pub cache_minutes: i64,
    /// Calls allowed per minute and per hour (defaults 100 and 1,500, the documented limits).
    pub calls_per_minute: usize,
    pub calls_per_hour: usize,
    /// The longest `Retry-After` waited out before answering "rate limited" (default 10 s).
    pub max_retry_wait: f64,
    /// Seconds a call may take (default 10).
    pub timeout: f64,
}

impl Default for MdeSettings {
    fn default() -> Self {
        MdeSettings {
            api_url: "https://api.security.microsoft.com".into(),
            token_url: String::new(),
            tenant_id: String::new(),
            client_id: String::new(),
            client_secret_file: None,
            client_secret_env: "DCSENSOR_MDE_CLIENT_SECRET".into(),
            scope: "https://api.securitycenter.microsoft.com/.default".into(),
            portal_url: "https://security.microsoft.com".into(),
            cache_minutes: 15,
            calls_per_minute: 100,
            calls_per_hour: 1500,
            max_retry_wait: 10.0,
            timeout: 10.0,
        }
    }
}

/// A secret that never prints.
#[derive(Clone)]
struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

struct Token {
    value: Secret,
    until: Instant,
}

/// The Defender for Endpoint connector.
pub struct Mde {
    s: MdeSettings,
    token_url: String,
    secret: Secret,
    http: reqwest::Client,
    token: tokio::sync::Mutex<Option<Token>>,
    /// Times of the calls in the last hour.
    calls: Mutex<VecDeque<Instant>>,
    /// No call before this (after a long Retry-After).
    blocked_until: Mutex<Option<Instant>>,
}

#[derive(Deserialize)]
struct TokenReply {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct List {
    #[serde(default)]
    value: Vec<serde_json::Value>,
}

enum Got {
    Ok(serde_json::Value),
    NotFound,
}

fn failed(e: impl std::fmt::Display) -> ConnectorError {
    ConnectorError::Failed(e.to_string())
}

impl Mde {
    /// A connector from settings; reads the client secret now.
    pub fn new(s: MdeSettings) -> Result<Mde, String> {
        if s.client_id.is_empty() {
            return Err("endpoint.mde.client_id is empty: give the application (client) id".into());
        }
        let token_url = if !s.token_url.is_empty() {
            s.token_url.clone()
        } else if !s.tenant_id.is_empty() {
            format!(
                "https://login.microsoftonline.com/{}/oauth2/v2.0/token",
                s.tenant_id
            )
        } else {
            return Err("endpoint.mde: give tenant_id (or token_url)".into());
        };
        let secret = match &s.client_secret_file {
            Some(p) => std::fs::read_to_string(p)
                .map_err(|e| {
                    format!(
                        "endpoint.mde.client_secret_file {}: {e}; give a file readable by the center holding the secret",
                        p.display()
                    )
                })?
                .trim_end_matches(['\n', '\r'])
                .to_string(),
            None => std::env::var(&s.client_secret_env).map_err(|_| {
                format!(
                    "endpoint.mde: no client secret: set client_secret_file or the environment variable {}",
                    s.client_secret_env
                )
            })?,
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs_f64(s.timeout.clamp(0.5, 300.0)))
            .user_agent(concat!("dcsensor-center/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("endpoint.mde: {e}"))?;
        Ok(Mde {
            token_url,
            secret: Secret(secret),
            http,
            token: tokio::sync::Mutex::new(None),
            calls: Mutex::new(VecDeque::new()),
            blocked_until: Mutex::new(None),
            s,
        })
    }

    /// Takes a call from the budget, or says how long to wait.
    fn spend(&self) -> Result<(), ConnectorError> {
        let now = Instant::now();
        if let Ok(b) = self.blocked_until.lock() {
            if let Some(t) = *b {
                if t > now {
                    return Err(ConnectorError::RateLimited((t - now).as_secs().max(1)));
                }
            }
        }
        let mut calls = self.calls.lock().map_err(|_| failed("budget lock"))?;
        while calls
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(3600))
        {
            calls.pop_front();
        }
        let minute = calls
            .iter()
            .filter(|t| now.duration_since(**t) < Duration::from_secs(60))
            .count();
        if calls.len() >= self.s.calls_per_hour.max(1) {
            let wait = calls
                .front()
                .map(|t| 3600 - now.duration_since(*t).as_secs())
                .unwrap_or(60);
            return Err(ConnectorError::RateLimited(wait.max(1)));
        }
        if minute >= self.s.calls_per_minute.max(1) {
            return Err(ConnectorError::RateLimited(60));
        }
        calls.push_back(now);
        Ok(())
    }

    async fn token(&self, renew: bool) -> Result<Secret, ConnectorError> {
        let mut t = self.token.lock().await;
        if !renew {
            if let Some(tok) = t.as_ref() {
                if tok.until > Instant::now() {
                    return Ok(tok.value.clone());
                }
            }
        }
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.s.client_id.as_str()),
            ("client_secret", self.secret.0.as_str()),
            ("scope", self.s.scope.as_str()),
        ];
        let r = self
            .http
            .post(&self.token_url)
            .form(&form)
            .send()
            .await
            .map_err(|e| {
                failed(format!(
                    "token endpoint {}: {}",
                    self.token_url,
                    e.without_url()
                ))
            })?;
        let status = r.status();
        if !status.is_success() {
            let body = r.text().await.unwrap_or_default();
            let why = serde_json::from_str::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
                .unwrap_or_default();
            return Err(failed(format!(
                "token endpoint {} answered {status} {why}; check client_id, the secret and tenant_id",
                self.token_url
            )));
        }
        let tr: TokenReply = r
            .json()
            .await
            .map_err(|e| failed(format!("token endpoint: unreadable answer: {e}")))?;
        let life = tr.expires_in.unwrap_or(3599);
        let tok = Token {
            value: Secret(tr.access_token),
            // Renewed a minute early (or at half its life when that is shorter).
            until: Instant::now() + Duration::from_secs(life.saturating_sub(60.min(life / 2))),
        };
        let v = tok.value.clone();
        *t = Some(tok);
        Ok(v)
    }

    /// GET `path` (with query), renewing the token once on 401 and waiting out a short 429.
    async fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<Got, ConnectorError> {
        let url = format!("{}{path}", self.s.api_url.trim_end_matches('/'));
        let mut renewed = false;
        let mut waited = false;
        loop {
            self.spend()?;
            let tok = self.token(false).await?;
            let r = self
                .http
                .get(&url)
                .query(query)
                .bearer_auth(&tok.0)
                .send()
                .await
                .map_err(|e| failed(format!("{url}: {}", e.without_url())))?;
            let status = r.status().as_u16();
            match status {
                200 => {
                    return r
                        .json()
                        .await
                        .map(Got::Ok)
                        .map_err(|e| failed(format!("{url}: unreadable answer: {e}")))
                }
                404 => return Ok(Got::NotFound),
                401 if !renewed => {
                    renewed = true;
                    self.token(true).await?;
                }
                429 => {
                    let secs = r
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .unwrap_or(60);
                    if !waited && (secs as f64) <= self.s.max_retry_wait {
                        waited = true;
                        tokio::time::sleep(Duration::from_secs(secs)).await;
                    } else {
                        if let Ok(mut b) = self.blocked_until.lock() {
                            *b = Some(Instant::now() + Duration::from_secs(secs));
                        }
                        return Err(ConnectorError::RateLimited(secs));
                    }
                }
                _ => {
                    let body = r.text().await.unwrap_or_default();
                    let code = serde_json::from_str::<serde_json::Value>(&body)
                        .ok()
                        .and_then(|v| v["error"]["code"].as_str().map(str::to_string))
                        .unwrap_or_default();
                    return Err(failed(format!("{url} answered {status} {code}")));
                }
            }
        }
    }

    fn view(&self, alerts: &[serde_json::Value], url: Option<String>) -> View {
        let open = alerts
            .iter()
            .filter(|a| a["status"].as_str() != Some("Resolved"))
            .count() as i64;
        let detail: Vec<serde_json::Value> = alerts
            .iter()
            .take(50)
            .map(|a| {
                serde_json::json!({
                    "id": a["id"], "title": a["title"], "severity": a["severity"],
                    "status": a["status"], "alertCreationTime": a["alertCreationTime"],
                })
            })
            .collect();
        View {
            known: true,
            open_alerts: open,
            alerts: alerts.len() as i64,
            url,
            detail: serde_json::Value::Array(detail),
        }
    }

    async fn machine(&self, fqdn: &str) -> Result<View, ConnectorError> {
        let filter = format!("computerDnsName eq '{}'", fqdn.replace('\'', "''"));
        let machines = match self.get("/api/machines", &[("$filter", &filter)]).await? {
            Got::NotFound => return Ok(unknown()),
            Got::Ok(v) => serde_json::from_value::<List>(v).map_err(failed)?.value,
        };
        let Some(id) = machines.first().and_then(|m| m["id"].as_str()) else {
            return Ok(unknown());
        };
        let enc = super::super::store::read::seg(id);
        let alerts = match self
            .get(&format!("/api/machines/{enc}/alerts"), &[])
            .await?
        {
            Got::NotFound => return Ok(unknown()),
            Got::Ok(v) => serde_json::from_value::<List>(v).map_err(failed)?.value,
        };
        let url = format!(
            "{}/machines/{enc}/overview",
            self.s.portal_url.trim_end_matches('/')
        );
        Ok(self.view(&alerts, Some(url)))
    }

    async fn user_alerts(&self, name: &str) -> Result<View, ConnectorError> {
        let enc = super::super::store::read::seg(name);
        let alerts = match self.get(&format!("/api/users/{enc}/alerts"), &[]).await? {
            Got::NotFound => return Ok(unknown()),
            Got::Ok(v) => serde_json::from_value::<List>(v).map_err(failed)?.value,
        };
        if alerts.is_empty() {
            // The documented answer for a user the product does not know: an empty list.
            return Ok(unknown());
        }
        Ok(self.view(&alerts, None))
    }
}

fn unknown() -> View {
    View {
        known: false,
        open_alerts: 0,
        alerts: 0,
        url: None,
        detail: serde_json::Value::Array(vec![]),
    }
}

impl Connector for Mde {
    fn product(&self) -> &'static str {
        "mde"
    }

    fn computer<'a>(&'a self, fqdn: &'a str) -> BoxFuture<'a, Result<View, ConnectorError>> {
        Box::pin(self.machine(fqdn))
    }

    fn user<'a>(
        &'a self,
        _realm: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Result<View, ConnectorError>> {
        Box::pin(self.user_alerts(name))
    }
}
