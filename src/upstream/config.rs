//! The upstream's own configuration: where batches go ([`SinkSpec`]), NATS options, batch and
//! spool limits, the sensor id. The daemon maps its configuration file onto these types
//! (`OutputSection::upstream` in `daemon::config`); the command line builds them directly. Nothing
//! here knows of either.

use super::batch::{Limits, MAX_NAME};
use std::path::PathBuf;
use std::time::Duration;

/// Where batches go. Parsed from the `--sink` strings by [`SinkSpec::parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SinkSpec {
    /// JSON lines on stdout (no batches, no spool).
    Stdout,
    /// Batch files in a directory.
    File(PathBuf),
    /// NATS JetStream: one or more server URLs of one cluster.
    Nats(Vec<String>),
}

pub(super) const SINK_FORMS: &str =
    "write `stdout`, `file:DIR` or `nats://HOST:PORT[,nats://HOST:PORT...]`";

impl SinkSpec {
    /// Parses `stdout`, `file:DIR`, `nats://HOST[:PORT][,...]` (`tls://` for TLS).
    pub fn parse(s: &str) -> Result<SinkSpec, String> {
        let t = s.trim();
        if t.is_empty() {
            return Err(format!("empty sink: {SINK_FORMS}"));
        }
        if t == "stdout" || t == "-" {
            return Ok(SinkSpec::Stdout);
        }
        if let Some(dir) = t.strip_prefix("file:") {
            let dir = dir.strip_prefix("//").unwrap_or(dir);
            if dir.is_empty() {
                return Err(format!(
                    "sink `{t}` names no directory: write file:DIR, e.g. file:/var/lib/dcsensor/batches"
                ));
            }
            return Ok(SinkSpec::File(PathBuf::from(dir)));
        }
        if t.starts_with("nats://") || t.starts_with("tls://") {
            let mut urls = Vec::new();
            for part in t.split(',') {
                let part = part.trim();
                let (scheme, rest) = match part.split_once("://") {
                    Some((sc @ ("nats" | "tls"), rest)) => (sc, rest),
                    Some((sc, _)) => {
                        return Err(format!(
                            "sink `{t}`: `{sc}://` is not a NATS URL: write nats://HOST:PORT (tls://HOST:PORT for TLS)"
                        ))
                    }
                    None => ("nats", part),
                };
                let hostport = rest.rsplit_once('@').map_or(rest, |(_, hp)| hp);
                let hostport = hostport.trim_end_matches('/');
                let (host, port) = match hostport.rsplit_once(':') {
                    Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => (h, Some(p)),
                    _ => (hostport, None),
                };
                if host.is_empty() {
                    return Err(format!(
                        "sink `{t}`: `{part}` names no host: write nats://HOST:PORT"
                    ));
                }
                if let Some(p) = port {
                    if p.parse::<u16>().map_or(true, |p| p == 0) {
                        return Err(format!(
                            "sink `{t}`: `{p}` is not a port: write nats://HOST:PORT, e.g. nats://127.0.0.1:4222"
                        ));
                    }
                }
                urls.push(format!("{scheme}://{rest}"));
            }
            return Ok(SinkSpec::Nats(urls));
        }
        if let Some((scheme, _)) = t.split_once("://") {
            return Err(format!(
                "unknown sink scheme `{scheme}://` in `{t}`: {SINK_FORMS}"
            ));
        }
        if t.starts_with('/') || t.starts_with('.') {
            return Err(format!(
                "sink `{t}`: did you mean `file:{t}`? ({SINK_FORMS})"
            ));
        }
        Err(format!("unknown sink `{t}`: {SINK_FORMS}"))
    }

    pub(super) fn spooled(&self) -> bool {
        !matches!(self, SinkSpec::Stdout)
    }
}

impl std::str::FromStr for SinkSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        SinkSpec::parse(s)
    }
}

/// NATS options (shared by every `nats://` sink).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsOptions {
    /// JetStream stream (created if missing with subjects `dcsensor.>`).
    pub stream: String,
    /// Replicas of the stream when dcsensor creates it (3 on a cluster).
    pub replicas: usize,
    /// Duplicate window of the stream when dcsensor creates it.
    pub duplicate_window: Duration,
    /// Require TLS (also implied by a `tls://` URL).
    pub tls: bool,
    /// CA certificate(s) (PEM) to verify the server with, besides the system's.
    pub tls_ca: Option<PathBuf>,
    /// Client certificate and key (PEM) for mutual TLS.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub user: Option<String>,
    pub password: Option<String>,
    pub token: Option<String>,
    /// A `.creds` file (JWT and NKey seed).
    pub credentials_file: Option<PathBuf>,
    /// Time to wait for a connection attempt.
    pub connect_timeout: Duration,
    /// Time to wait for a PubAck (or any JetStream answer) before trying again.
    pub ack_timeout: Duration,
}

impl Default for NatsOptions {
    fn default() -> Self {
        NatsOptions {
            stream: "DCSENSOR".into(),
            replicas: 1,
            duplicate_window: Duration::from_secs(120),
            tls: false,
            tls_ca: None,
            tls_cert: None,
            tls_key: None,
            user: None,
            password: None,
            token: None,
            credentials_file: None,
            connect_timeout: Duration::from_secs(5),
            ack_timeout: Duration::from_secs(5),
        }
    }
}

/// Everything the upstream needs; no command-line parsing here (main.rs fills it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamConfig {
    pub sinks: Vec<SinkSpec>,
    /// The spool directory. None: `<first file sink DIR>/.spool`, else `/var/lib/dcsensor/spool`.
    pub spool: Option<PathBuf>,
    /// Bytes of batches the spool may hold; past that the oldest are dropped.
    pub spool_limit: u64,
    pub batch: Limits,
    /// The sensor's id in batches, subjects and message ids (`A-Z a-z 0-9 _ -`). None: the
    /// host name, with every other character turned into `_`.
    pub sensor_id: Option<String>,
    /// The `host` of batches. None: the host name.
    pub host: Option<String>,
    pub nats: NatsOptions,
    /// How long `finish` waits for acknowledgements; what is left stays in the spool.
    pub finish_timeout: Duration,
    /// What the batches hold: `records`, or `alerts` (NATS subject `dcsensor.<id>.<kind>`).
    pub kind: String,
}

impl Default for UpstreamConfig {
    fn default() -> Self {
        UpstreamConfig {
            sinks: vec![],
            spool: None,
            spool_limit: 1 << 30,
            batch: Limits::default(),
            sensor_id: None,
            host: None,
            nats: NatsOptions::default(),
            finish_timeout: Duration::from_secs(10),
            kind: "records".into(),
        }
    }
}

impl UpstreamConfig {
    /// A configuration with these sinks and defaults for everything else.
    pub fn with_sinks(sinks: Vec<SinkSpec>) -> Self {
        UpstreamConfig {
            sinks,
            ..Default::default()
        }
    }

    /// The spool directory in use (see [`UpstreamConfig::spool`]).
    pub fn spool_dir(&self) -> PathBuf {
        if let Some(s) = &self.spool {
            return s.clone();
        }
        for s in &self.sinks {
            if let SinkSpec::File(d) = s {
                return d.join(".spool");
            }
        }
        PathBuf::from("/var/lib/dcsensor/spool")
    }

    /// The sensor id in use.
    pub fn sensor(&self) -> Result<String, String> {
        match &self.sensor_id {
            Some(id) => check_sensor_id(id).map(|_| id.clone()),
            None => {
                let h = hostname();
                let id: String = h
                    .chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                            c
                        } else {
                            '_'
                        }
                    })
                    .collect();
                let id: String = id.chars().take(MAX_NAME).collect();
                Ok(if id.is_empty() { "sensor".into() } else { id })
            }
        }
    }
}

/// Checks a sensor id: it becomes a NATS subject token and part of a message id.
pub fn check_sensor_id(id: &str) -> Result<(), String> {
    if id.is_empty()
        || id.len() > MAX_NAME
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(format!(
            "sensor id `{id}`: use 1 to {MAX_NAME} characters of A-Z, a-z, 0-9, `-` and `_` (it names a NATS subject), e.g. dc01"
        ));
    }
    Ok(())
}

/// The machine's host name (empty if it has none).
pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into buf, which we own.
    let r = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if r != 0 {
        return String::new();
    }
    let n = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..n]).into_owned()
}
