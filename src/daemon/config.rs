//! The configuration file (`/etc/dcsensor/dcsensor.toml`): everything the command line can say.
//!
//! Unknown keys and bad values are errors that name the key and the line (the TOML parser
//! reports the position; value checks run while deserializing so they get it too).
//! `dcsensor check-config FILE` validates a file without capturing.

use crate::flow::FlowConfig;
use crate::packet::PacketConfig;
use crate::pipeline::Options;
use crate::proto::DecoderConfig;
use crate::record::NS;
use crate::upstream::batch::Limits;
use crate::upstream::{check_sensor_id, NatsOptions, SinkSpec, UpstreamConfig};
use serde::{Deserialize, Deserializer};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize, Default, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub capture: CaptureSection,
    pub pipeline: PipelineSection,
    pub flow: FlowSection,
    pub tunnels: TunnelSection,
    pub decoder: DecoderSection,
    pub output: OutputSection,
    pub metrics: MetricsSection,
    pub log: LogSection,
    pub guard: GuardSection,
    pub service: ServiceSection,
    /// The detection engine's settings (checked by [`crate::detect::Tuning::from_table`]).
    pub detect: toml::Table,
}

/// The interface of the IPv4 default route (from `/proc/net/route`), used when the configuration
/// names none.
pub fn default_interface() -> Option<String> {
    let table = std::fs::read_to_string("/proc/net/route").ok()?;
    parse_default_route(&table)
}

fn parse_default_route(table: &str) -> Option<String> {
    table.lines().skip(1).find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        (f.get(1) == Some(&"00000000") && f.get(7) == Some(&"00000000")).then(|| f[0].to_string())
    })
}

/// Where the sensor sits: on the DC itself, or on a mirror port.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// On the domain controller, watching its own interface.
    #[default]
    Local,
    /// On a mirror (SPAN) port: promiscuous, the traffic is between other hosts.
    Mirror,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CaptureSection {
    /// Interfaces to capture on (one capture thread each).
    pub interfaces: Vec<String>,
    pub mode: Mode,
    /// A BPF filter (tcpdump syntax); empty: everything.
    pub bpf: String,
    #[serde(deserialize_with = "snaplen")]
    pub snaplen: u32,
    /// Kernel capture buffer per interface, in MiB (shared by the interface's fanout members).
    #[serde(deserialize_with = "positive_u64")]
    pub buffer_mb: u64,
    /// Capture threads on the one interface, joined in a kernel fanout group that gives each
    /// every packet between the address pairs it has, each running a flow table of its own
    /// (`pipeline.workers` is then ignored); 1: one capture socket.
    pub fanout: usize,
}

impl Default for CaptureSection {
    fn default() -> Self {
        CaptureSection {
            interfaces: Vec::new(),
            mode: Mode::Local,
            bpf: String::new(),
            snaplen: 65535,
            buffer_mb: 64,
            fanout: 1,
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PipelineSection {
    /// Worker threads; 0: cores - 1, at least 1 (live on one interface: one, run on the
    /// capture thread; `capture.fanout` spreads a busier link).
    pub workers: usize,
    /// Seconds between `stats` records.
    #[serde(deserialize_with = "positive_f64")]
    pub stats_interval: f64,
    /// The sensor's memory budget in MiB: flows, reassembly, fragments and decoder state of
    /// every worker together stay within it (see the README, "Under a flood").
    #[serde(deserialize_with = "positive_usize")]
    pub memory_budget_mb: usize,
}

impl Default for PipelineSection {
    fn default() -> Self {
        PipelineSection {
            workers: 0,
            stats_interval: 60.0,
            memory_budget_mb: crate::pipeline::DEFAULT_MEMORY_BUDGET >> 20,
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct FlowSection {
    /// Seconds of silence after which a TCP connection is closed.
    #[serde(deserialize_with = "positive_f64")]
    pub tcp_idle: f64,
    /// Seconds of silence after which a UDP conversation is closed.
    #[serde(deserialize_with = "positive_f64")]
    pub udp_idle: f64,
    /// In emergency mode (a flow table had to evict): seconds of silence after which a flow
    /// that carried no data (or a UDP conversation heard one way) is closed.
    #[serde(deserialize_with = "positive_f64")]
    pub emergency_half_open_idle: f64,
    /// In emergency mode: the TCP idle timeout.
    #[serde(deserialize_with = "positive_f64")]
    pub emergency_tcp_idle: f64,
    /// In emergency mode: the UDP idle timeout.
    #[serde(deserialize_with = "positive_f64")]
    pub emergency_udp_idle: f64,
    /// Flows tracked by the whole sensor (shared evenly by the workers).
    #[serde(deserialize_with = "positive_usize")]
    pub max_flows: usize,
    /// Percent of the flow table kept for flows on the authentication ports.
    #[serde(deserialize_with = "percent_usize")]
    pub auth_reserve_percent: usize,
    /// Out-of-order bytes held per direction of a connection, in KiB.
    #[serde(deserialize_with = "positive_usize")]
    pub per_flow_buffer_kb: usize,
    /// Out-of-order bytes held by the whole sensor, in MiB.
    #[serde(deserialize_with = "positive_usize")]
    pub reassembly_memory_mb: usize,
    /// Seconds an incomplete fragmented IP datagram is kept.
    #[serde(deserialize_with = "positive_f64")]
    pub fragment_timeout: f64,
    /// Bytes of IP fragments held, in MiB.
    #[serde(deserialize_with = "positive_usize")]
    pub fragment_memory_mb: usize,
}

impl Default for FlowSection {
    fn default() -> Self {
        let f = FlowConfig::default();
        let p = PacketConfig::default();
        FlowSection {
            tcp_idle: f.tcp_idle as f64 / 1e9,
            udp_idle: f.udp_idle as f64 / 1e9,
            emergency_half_open_idle: f.emergency_half_open_idle as f64 / 1e9,
            emergency_tcp_idle: f.emergency_tcp_idle as f64 / 1e9,
            emergency_udp_idle: f.emergency_udp_idle as f64 / 1e9,
            max_flows: f.max_flows,
            auth_reserve_percent: f.auth_reserve_percent,
            per_flow_buffer_kb: f.per_flow_buffer / 1024,
            reassembly_memory_mb: f.reassembly_memory / (1024 * 1024),
            fragment_timeout: p.fragment_timeout as f64 / 1e9,
            fragment_memory_mb: p.fragment_memory / (1024 * 1024),
        }
    }
}

/// `[tunnels]`: the UDP ports of the tunnels recognised by port (GRE, ERSPAN, MPLS, PPPoE and
/// IP-in-IP are recognised by their protocol numbers).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TunnelSection {
    /// UDP destination ports carrying VXLAN.
    #[serde(deserialize_with = "ports")]
    pub vxlan_ports: Vec<u16>,
    /// UDP destination ports carrying Geneve.
    #[serde(deserialize_with = "ports")]
    pub geneve_ports: Vec<u16>,
}

impl Default for TunnelSection {
    fn default() -> Self {
        let p = PacketConfig::default();
        TunnelSection {
            vxlan_ports: p.vxlan_ports,
            geneve_ports: p.geneve_ports,
        }
    }
}

/// A list of UDP ports: 1 to 65535 each, at most 64.
fn ports<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u16>, D::Error> {
    let v = Vec::<u16>::deserialize(d)?;
    if v.contains(&0) || v.len() > 64 {
        return Err(serde::de::Error::custom(
            "give at most 64 UDP ports between 1 and 65535, e.g. [4789, 8472]",
        ));
    }
    Ok(v)
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DecoderSection {
    /// Seconds after which a request with no answer is recorded alone.
    #[serde(deserialize_with = "positive_f64")]
    pub request_timeout: f64,
    #[serde(deserialize_with = "positive_usize")]
    pub max_pending: usize,
    #[serde(deserialize_with = "positive_usize")]
    pub kerberos_max_message_kb: usize,
    #[serde(deserialize_with = "positive_usize")]
    pub smb_max_pipe_payload_kb: usize,
    #[serde(deserialize_with = "positive_usize")]
    pub dcerpc_max_stub_kb: usize,
    #[serde(deserialize_with = "positive_usize")]
    pub dcerpc_max_calls: usize,
    #[serde(deserialize_with = "positive_usize")]
    pub dcerpc_max_contexts: usize,
    /// SMB sessions, trees and opens (each kind) remembered for multichannel; 0: off.
    pub smb_registry_entries: usize,
    /// Seconds after which an unused entry of the SMB multichannel registry is forgotten.
    #[serde(deserialize_with = "positive_f64")]
    pub smb_registry_idle: f64,
}

impl Default for DecoderSection {
    fn default() -> Self {
        let d = DecoderConfig::default();
        DecoderSection {
            request_timeout: d.request_timeout as f64 / 1e9,
            max_pending: d.max_pending,
            kerberos_max_message_kb: d.kerberos_max_message / 1024,
            smb_max_pipe_payload_kb: d.smb_max_pipe_payload / 1024,
            dcerpc_max_stub_kb: d.dcerpc_max_stub / 1024,
            dcerpc_max_calls: d.dcerpc_max_calls,
            dcerpc_max_contexts: d.dcerpc_max_contexts,
            smb_registry_entries: d.smb_registry_entries,
            smb_registry_idle: d.smb_registry_idle as f64 / 1e9,
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct OutputSection {
    /// Sinks: `stdout`, `file:DIR`, `nats://HOST:PORT`.
    pub sinks: Vec<String>,
    /// Where batches wait for their acknowledgement.
    pub spool: PathBuf,
    /// Spool size limit in MiB; when full the oldest batches are dropped (and counted).
    #[serde(deserialize_with = "positive_u64")]
    pub spool_max_mb: u64,
    /// The sensor's id in batches and NATS subjects (default: the host name).
    pub sensor_id: String,
    #[serde(deserialize_with = "positive_usize")]
    pub batch_records: usize,
    #[serde(deserialize_with = "positive_usize")]
    pub batch_kb: usize,
    #[serde(deserialize_with = "positive_f64")]
    pub batch_age: f64,
    pub nats: NatsSection,
}

impl Default for OutputSection {
    fn default() -> Self {
        OutputSection {
            sinks: vec!["file:/var/lib/dcsensor/batches".into()],
            spool: PathBuf::from("/var/lib/dcsensor/spool"),
            spool_max_mb: 1024,
            sensor_id: String::new(),
            batch_records: 1000,
            batch_kb: 1024,
            batch_age: 1.0,
            nats: NatsSection::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct NatsSection {
    /// JetStream stream (created if missing).
    pub stream: String,
    pub user: String,
    pub password: String,
    pub token: String,
    pub credentials_file: Option<PathBuf>,
    /// Require TLS; `ca_file` adds a root certificate.
    pub tls: bool,
    pub ca_file: Option<PathBuf>,
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
}

impl Default for NatsSection {
    fn default() -> Self {
        NatsSection {
            stream: "DCSENSOR".into(),
            user: String::new(),
            password: String::new(),
            token: String::new(),
            credentials_file: None,
            tls: false,
            ca_file: None,
            client_cert: None,
            client_key: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsSection {
    /// `ADDR:PORT` for Prometheus (`/metrics`, `/healthz`); empty: no metrics server.
    pub listen: String,
    /// Open connections at most (default 256); past it a new one is closed at once and counted.
    pub max_connections: usize,
    /// Seconds a client has to send its request head (default 5).
    #[serde(deserialize_with = "positive_f64")]
    pub header_timeout: f64,
}

impl Default for MetricsSection {
    fn default() -> Self {
        MetricsSection {
            listen: String::new(),
            max_connections: 256,
            header_timeout: 5.0,
        }
    }
}

impl MetricsSection {
    /// The HTTP limits of the metrics server.
    pub fn limits(&self) -> crate::web::Limits {
        crate::web::Limits {
            max_connections: self.max_connections.max(1),
            header_read_timeout: std::time::Duration::from_secs_f64(
                self.header_timeout.clamp(0.1, 3600.0),
            ),
            max_header_bytes: 8 * 1024,
            connection_lifetime: std::time::Duration::from_secs(60),
        }
    }
}

/// Log format on stderr.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LogSection {
    #[serde(deserialize_with = "log_level")]
    pub level: String,
    pub format: LogFormat,
}

impl Default for LogSection {
    fn default() -> Self {
        LogSection {
            level: "info".into(),
            format: LogFormat::Text,
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct GuardSection {
    /// Most of the host's CPU the sensor may use, in percent of all cores.
    #[serde(deserialize_with = "percent")]
    pub cpu_percent: f64,
    /// Most of the host's memory the sensor may use, in percent.
    #[serde(deserialize_with = "percent")]
    pub memory_percent: f64,
    /// Seconds between two samples of the sensor's usage.
    #[serde(deserialize_with = "positive_f64")]
    pub interval: f64,
}

impl Default for GuardSection {
    fn default() -> Self {
        // Keep at least 15 % of the host free, as Microsoft's sensor does.
        GuardSection {
            cpu_percent: 85.0,
            memory_percent: 85.0,
            interval: 1.0,
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ServiceSection {
    /// When started as root outside systemd: the user to become once the captures are open.
    pub user: String,
}

fn positive_f64<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let v = f64::deserialize(d)?;
    if v > 0.0 && v.is_finite() {
        Ok(v)
    } else {
        Err(serde::de::Error::custom(format!(
            "{v} is not a positive number of seconds"
        )))
    }
}

fn positive_u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let v = u64::deserialize(d)?;
    if v > 0 {
        Ok(v)
    } else {
        Err(serde::de::Error::custom("must be at least 1"))
    }
}

fn positive_usize<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    positive_u64(d).map(|v| v as usize)
}

fn snaplen<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let v = u32::deserialize(d)?;
    if (256..=262_144).contains(&v) {
        Ok(v)
    } else {
        Err(serde::de::Error::custom(format!(
            "snaplen {v} is outside 256..=262144"
        )))
    }
}

fn percent<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let v = f64::deserialize(d)?;
    if v > 0.0 && v <= 100.0 {
        Ok(v)
    } else {
        Err(serde::de::Error::custom(format!(
            "{v} is not a percentage in (0, 100]"
        )))
    }
}

fn percent_usize<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    let v = u64::deserialize(d)?;
    if v < 100 {
        Ok(v as usize)
    } else {
        Err(serde::de::Error::custom(format!(
            "{v} is not a percentage in [0, 100)"
        )))
    }
}

fn log_level<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let v = String::deserialize(d)?;
    match v.as_str() {
        "error" | "warn" | "info" | "debug" | "trace" => Ok(v),
        _ => Err(serde::de::Error::custom(format!(
            "log level `{v}`: use error, warn, info, debug or trace"
        ))),
    }
}

fn secs(v: f64) -> u64 {
    (v * 1e9) as u64
}

impl Config {
    /// Parses a configuration from TOML text; `name` is used in error messages.
    pub fn parse(text: &str, name: &str) -> Result<Config, String> {
        let cfg: Config = toml::from_str(text).map_err(|e| format!("{name}: {e}"))?;
        cfg.check().map_err(|e| format!("{name}: {e}"))?;
        Ok(cfg)
    }

    /// The detection engine's tuning from the `[detect]` section.
    pub fn tuning(&self) -> Result<crate::detect::Tuning, String> {
        crate::detect::Tuning::from_table(&self.detect)
    }

    /// Reads and parses a configuration file.
    pub fn load(path: &Path) -> Result<Config, String> {
        let name = path.display().to_string();
        let bytes = std::fs::read(path)
            .map_err(|e| format!("{name}: cannot read the configuration: {e}"))?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let line = good.iter().filter(|&&b| b == b'\n').count() + 1;
            let col = good.len() - good.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1) + 1;
            format!(
                "{name}: not UTF-8 text: invalid byte at line {line}, column {col} (byte {}); save the file as UTF-8",
                good.len()
            )
        })?;
        Config::parse(&text, &name)
    }

    /// Checks that need more than one value.
    fn check(&self) -> Result<(), String> {
        self.tuning()?;
        for s in &self.output.sinks {
            if !(s == "stdout"
                || s.starts_with("file:")
                || s.starts_with("nats://")
                || s.starts_with("tls://"))
            {
                return Err(format!(
                    "output.sinks: `{s}` is not a sink; write `stdout`, `file:/path/to/dir` or `nats://host:4222`"
                ));
            }
        }
        crate::capture::fanout::check(self.capture.fanout, self.capture.interfaces.len())
            .map_err(|e| format!("capture.fanout: {e}"))?;
        if let Some(bad) = self
            .capture
            .interfaces
            .iter()
            .find(|i| i.is_empty() || i.len() > 64)
        {
            return Err(format!(
                "capture.interfaces: `{bad}` is not an interface name"
            ));
        }
        Ok(())
    }

    /// The pipeline settings this configuration describes.
    pub fn options(&self) -> Options {
        let f = &self.flow;
        let d = &self.decoder;
        Options {
            workers: self.pipeline.workers,
            speed: None,
            stats_interval: Some(Duration::from_secs_f64(self.pipeline.stats_interval)),
            progress: false,
            packet: PacketConfig {
                fragment_timeout: secs(f.fragment_timeout),
                fragment_memory: f.fragment_memory_mb * 1024 * 1024,
                vxlan_ports: self.tunnels.vxlan_ports.clone(),
                geneve_ports: self.tunnels.geneve_ports.clone(),
            },
            flow: FlowConfig {
                tcp_idle: secs(f.tcp_idle),
                udp_idle: secs(f.udp_idle),
                emergency_half_open_idle: secs(f.emergency_half_open_idle),
                emergency_tcp_idle: secs(f.emergency_tcp_idle),
                emergency_udp_idle: secs(f.emergency_udp_idle),
                max_flows: f.max_flows,
                auth_reserve_percent: f.auth_reserve_percent,
                per_flow_buffer: f.per_flow_buffer_kb * 1024,
                reassembly_memory: f.reassembly_memory_mb * 1024 * 1024,
                memory: 0,
            },
            memory_budget: self.pipeline.memory_budget_mb << 20,
            decoder: DecoderConfig {
                request_timeout: secs(d.request_timeout).max(NS / 1000),
                max_pending: d.max_pending,
                kerberos_max_message: d.kerberos_max_message_kb * 1024,
                smb_max_pipe_payload: d.smb_max_pipe_payload_kb * 1024,
                dcerpc_max_stub: d.dcerpc_max_stub_kb * 1024,
                dcerpc_max_calls: d.dcerpc_max_calls,
                dcerpc_max_contexts: d.dcerpc_max_contexts,
                smb_registry_entries: d.smb_registry_entries,
                smb_registry_idle: secs(d.smb_registry_idle).max(NS / 1000),
                ..DecoderConfig::default()
            },
        }
    }
}

impl OutputSection {
    /// This section as the upstream's own configuration (the upstream knows nothing of the
    /// configuration file).
    pub fn upstream(&self) -> Result<UpstreamConfig, String> {
        let o = self;
        let sinks = o
            .sinks
            .iter()
            .map(|s| SinkSpec::parse(s).map_err(|e| format!("output.sinks: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        let sensor_id = some(&o.sensor_id);
        if let Some(id) = &sensor_id {
            check_sensor_id(id).map_err(|e| format!("output.sensor_id: {e}"))?;
        }
        let n = &o.nats;
        Ok(UpstreamConfig {
            sinks,
            spool: Some(o.spool.clone()),
            spool_limit: o.spool_max_mb.saturating_mul(1 << 20),
            batch: Limits {
                max_records: o.batch_records,
                max_bytes: o.batch_kb.saturating_mul(1024),
                max_age: Duration::try_from_secs_f64(o.batch_age)
                    .map_err(|e| format!("output.batch_age {}: {e}", o.batch_age))?,
            },
            sensor_id,
            host: None,
            nats: NatsOptions {
                stream: n.stream.clone(),
                tls: n.tls,
                tls_ca: n.ca_file.clone(),
                tls_cert: n.client_cert.clone(),
                tls_key: n.client_key.clone(),
                user: some(&n.user),
                password: some(&n.password),
                token: some(&n.token),
                credentials_file: n.credentials_file.clone(),
                ..NatsOptions::default()
            },
            ..UpstreamConfig::default()
        })
    }
}

#[cfg(test)]
mod tests;
