//! `dcsensor center run --config FILE`: the center's TOML configuration. Every setting has a
//! written default (`systemd/dcsensor-center.toml` is the annotated example).

use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct CenterConfig {
    pub store: StoreSection,
    pub ingest: IngestSection,
    pub detect: DetectSection,
    pub api: ApiSection,
    pub health: HealthSection,
    pub tickets: TicketsSection,
    pub endpoint: EndpointSection,
    pub log: LogSection,
    /// The web console (`[console]`, see [`crate::console::cli::ConsoleSection`]).
    pub console: crate::console::cli::ConsoleSection,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct EndpointSection {
    /// Microsoft Defender for Endpoint (`[endpoint.mde]`); absent: no endpoint product.
    pub mde: Option<crate::center::endpoint::mde::MdeSettings>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StoreSection {
    /// `sqlite:PATH` (default `sqlite:/var/lib/dcsensor-center/center.db`) or
    /// `postgres://USER@HOST/DB` (a password in `password_file`, not here).
    pub url: String,
    /// A file holding the PostgreSQL password (read at start; never logged).
    pub password_file: Option<PathBuf>,
    /// Hours of recent batches kept whole, and fed to the engine again after a restart so its
    /// state is what it was (default 12: longer than a default ticket lifetime).
    pub replay_hours: f64,
}

impl Default for StoreSection {
    fn default() -> Self {
        StoreSection {
            url: "sqlite:/var/lib/dcsensor-center/center.db".into(),
            password_file: None,
            replay_hours: 12.0,
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct IngestSection {
    /// Batch directories the sensors' `file:` sinks write (`batch-<seq>.msgpack`).
    pub dirs: Vec<PathBuf>,
    /// Remove a batch file once its effects are committed (default false: the directory is the
    /// sensor's to clean).
    pub remove_applied: bool,
    /// Seconds between scans of the directories (default 1).
    pub poll: f64,
    /// NATS servers (`nats://HOST:PORT`); empty: no NATS.
    pub nats: Vec<String>,
    /// The JetStream stream the sensors publish to (default `DCSENSOR`).
    pub stream: String,
    /// The durable pull consumer's name (default `dcsensor-center`); centers sharing one name
    /// share the work.
    pub consumer: String,
    /// The subject this center takes (default all: empty); e.g. `dcsensor.dc01.>` for a center
    /// that takes one sensor's share (give each center its own `consumer` then).
    pub filter_subject: String,
    /// This center's share of the sensors as several subjects (default none: empty), e.g.
    /// `["dcsensor.dc01.>", "dcsensor.dc02.>"]`: one durable consumer each, named `consumer`
    /// and a digest of the subject. Several centers writing one PostgreSQL each take their own
    /// share (and keep the cross-DC ticket table in `[tickets] bucket`).
    pub filter_subjects: Vec<String>,
    /// Replicas of the stream when the center creates it (default 1; 3 on a three-node
    /// cluster). An existing stream is used as it is.
    pub stream_replicas: usize,
    /// NATS token; empty: none.
    pub token: String,
    /// NATS credentials file (`.creds`).
    pub credentials_file: Option<PathBuf>,
    /// Batches committed in one transaction at most (default 64).
    pub group_batches: usize,
    /// Seconds JetStream waits for an acknowledgement before delivering a batch again (default
    /// 30).
    pub ack_wait: f64,
    /// Seconds a batch ahead of its sensor's next seq waits for the ones before it (redelivered
    /// after a restart) before the center goes on without them (default 60).
    pub reorder_wait: f64,
}

impl Default for IngestSection {
    fn default() -> Self {
        IngestSection {
            dirs: Vec::new(),
            remove_applied: false,
            poll: 1.0,
            nats: Vec::new(),
            stream: "DCSENSOR".into(),
            consumer: "dcsensor-center".into(),
            filter_subject: String::new(),
            filter_subjects: Vec::new(),
            stream_replicas: 1,
            token: String::new(),
            credentials_file: None,
            group_batches: 64,
            ack_wait: 30.0,
            reorder_wait: 60.0,
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct DetectSection {
    /// The detection engine's tuning (TOML file); empty: its defaults.
    pub tuning: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ApiSection {
    /// `ADDR:PORT` of the JSON API, the console and `/metrics` (default `127.0.0.1:8480`); empty:
    /// none.
    pub listen: String,
    /// TLS certificate and key (PEM); without them, plain HTTP.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Open connections at most (default 256).
    pub max_connections: usize,
    /// Seconds a client has to send its request head (default 5).
    pub header_timeout: f64,
}

impl Default for ApiSection {
    fn default() -> Self {
        ApiSection {
            listen: "127.0.0.1:8480".into(),
            tls_cert: None,
            tls_key: None,
            max_connections: 256,
            header_timeout: 5.0,
        }
    }
}

impl ApiSection {
    pub fn limits(&self) -> crate::web::Limits {
        crate::web::Limits {
            max_connections: self.max_connections.max(1),
            header_read_timeout: std::time::Duration::from_secs_f64(
                self.header_timeout.clamp(0.1, 3600.0),
            ),
            ..crate::web::Limits::default()
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct HealthSection {
    /// Seconds without a batch from a sensor before it counts as silent and a health alert is
    /// raised (default 300).
    pub silent_after: i64,
}

impl Default for HealthSection {
    fn default() -> Self {
        HealthSection { silent_after: 300 }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TicketsSection {
    /// The JetStream key-value bucket holding the cross-DC ticket table (pass-the-ticket
    /// across DCs), for centers that each take a share of the sensors; entries expire with the
    /// longest ticket lifetime of the detection tuning. Empty (default): the engine's own
    /// in-memory table, right when one center takes every sensor.
    pub bucket: String,
    /// Replicas of the bucket when the center creates it (default 3, a three-node cluster; 1 on
    /// a single server).
    pub replicas: usize,
}

impl Default for TicketsSection {
    fn default() -> Self {
        TicketsSection {
            bucket: String::new(),
            replicas: 3,
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LogSection {
    pub level: String,
}

impl Default for LogSection {
    fn default() -> Self {
        LogSection {
            level: "info".into(),
        }
    }
}

impl CenterConfig {
    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<CenterConfig, String> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            format!(
                "{}: {e}; give the center's configuration file",
                path.display()
            )
        })?;
        let cfg: CenterConfig =
            toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        cfg.check()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(cfg)
    }

    /// Checks what the types cannot.
    pub fn check(&self) -> Result<(), String> {
        if self.ingest.dirs.is_empty() && self.ingest.nats.is_empty() {
            return Err("ingest: give batch directories (`dirs`) or NATS servers (`nats`)".into());
        }
        if self.ingest.poll.is_nan() || self.ingest.poll <= 0.0 {
            return Err("ingest.poll must be a positive number of seconds".into());
        }
        let (aw, rw) = (self.ingest.ack_wait, self.ingest.reorder_wait);
        if aw.is_nan() || aw < 1.0 || rw.is_nan() || rw < 0.0 {
            return Err("ingest.ack_wait must be at least 1 s and reorder_wait 0 or more".into());
        }
        if self.ingest.group_batches == 0 {
            return Err("ingest.group_batches must be at least 1".into());
        }
        if self.store.replay_hours.is_nan() || self.store.replay_hours < 0.0 {
            return Err("store.replay_hours must be 0 or more".into());
        }
        if self.api.tls_cert.is_some() != self.api.tls_key.is_some() {
            return Err("api: give both tls_cert and tls_key, or neither".into());
        }
        if !self.ingest.filter_subject.is_empty() && !self.ingest.filter_subjects.is_empty() {
            return Err("ingest: give filter_subject or filter_subjects, not both".into());
        }
        if self.ingest.stream_replicas == 0 || self.tickets.replicas == 0 {
            return Err("ingest.stream_replicas and tickets.replicas must be at least 1".into());
        }
        if !self.tickets.bucket.is_empty() && self.ingest.nats.is_empty() {
            return Err(
                "tickets.bucket is a JetStream bucket: give NATS servers (ingest.nats) too".into(),
            );
        }
        if self.health.silent_after <= 0 {
            return Err("health.silent_after must be a positive number of seconds".into());
        }
        Ok(())
    }

    /// The store URL with the password from `password_file` put in.
    pub fn store_url(&self) -> Result<String, String> {
        let Some(pf) = &self.store.password_file else {
            return Ok(self.store.url.clone());
        };
        let pw = std::fs::read_to_string(pf)
            .map_err(|e| format!("store.password_file {}: {e}", pf.display()))?;
        let pw = pw.trim_end_matches(['\n', '\r']);
        let url = &self.store.url;
        let Some(rest) = url
            .strip_prefix("postgres://")
            .or_else(|| url.strip_prefix("postgresql://"))
        else {
            return Err("store.password_file is for a postgres:// url".into());
        };
        let (user, host) = rest
            .split_once('@')
            .ok_or("store.url: name the user (postgres://USER@HOST/DB) to go with password_file")?;
        let enc: String = pw
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        Ok(format!("postgres://{user}:{enc}@{host}"))
    }
}
