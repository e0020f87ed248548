//! Tuning as data: the `[detect]` section of the configuration file (or a file of its own for
//! `dcsensor detect --config`). Per detection: `enabled`, `level`, `test_mode`, its thresholds
//! and exclusions as lists of accounts, hosts and subnets; global lists of domain controllers,
//! DNS servers, sensitive accounts and groups, honeytokens and exclusions. An unknown detection or
//! threshold is refused with its name. Every default is in `systemd/dcsensor.toml`.

use super::catalog::{by_name, Def, ALL, CATALOG};
use std::net::IpAddr;

/// How eager a detection is (MDI's levels): `high` raises on the written thresholds; `medium`
/// halves the count thresholds; `low` quarters them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Level {
    #[default]
    High,
    Medium,
    Low,
}

/// Addresses or networks (`10.0.0.0/8`, `fd00::/8`, `10.1.2.3`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Subnets(pub Vec<(IpAddr, u8)>);

impl Subnets {
    /// Whether `ip` is in one of them.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|&(net, bits)| in_subnet(ip, net, bits))
    }
}

fn in_subnet(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits.min(32))
            };
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits.min(128))
            };
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

/// Parses `10.0.0.0/8` or a bare address.
pub fn parse_subnet(s: &str) -> Result<(IpAddr, u8), String> {
    let (addr, bits) = match s.split_once('/') {
        Some((a, b)) => (a, Some(b)),
        None => (s, None),
    };
    let ip: IpAddr = addr
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not an address or subnet (write 10.0.0.0/8 or 10.1.2.3)"))?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let bits = match bits {
        Some(b) => b
            .trim()
            .parse::<u8>()
            .ok()
            .filter(|&b| b <= max)
            .ok_or_else(|| format!("`{s}`: the prefix length must be 0 to {max}"))?,
        None => max,
    };
    Ok((ip, bits))
}

/// Who a detection leaves alone.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Exclusions {
    /// Account names, compared without case and without a `DOMAIN\` prefix or `@realm` suffix.
    pub accounts: Vec<String>,
    /// Host names (resolved names of the source, without case; the first label also matches).
    pub hosts: Vec<String>,
    pub subnets: Subnets,
}

impl Exclusions {
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty() && self.hosts.is_empty() && self.subnets.0.is_empty()
    }

    /// Whether the source (address, resolved host name, account) is excluded.
    pub fn matches(&self, ip: Option<IpAddr>, host: Option<&str>, user: Option<&str>) -> bool {
        if let Some(ip) = ip {
            if self.subnets.contains(ip) {
                return true;
            }
        }
        if let Some(h) = host {
            let short = h.split('.').next().unwrap_or(h);
            if self
                .hosts
                .iter()
                .any(|x| x.eq_ignore_ascii_case(h) || x.eq_ignore_ascii_case(short))
            {
                return true;
            }
        }
        if let Some(u) = user {
            let u = bare_account(u);
            if self.accounts.iter().any(|x| x.eq_ignore_ascii_case(u)) {
                return true;
            }
        }
        false
    }
}

/// An account name without `DOMAIN\` before it or `@realm` after it.
pub fn bare_account(u: &str) -> &str {
    let u = u.rsplit('\\').next().unwrap_or(u);
    u.split('@').next().unwrap_or(u)
}

/// The tuning of one detection.
#[derive(Debug, Clone, PartialEq)]
pub struct DetTuning {
    pub enabled: bool,
    pub level: Level,
    /// Skip the learning period (None: the global `test_mode`).
    pub test_mode: Option<bool>,
    /// Threshold values in the order of the catalog's thresholds, level applied.
    pub values: Vec<f64>,
    pub exclude: Exclusions,
}

/// The whole `[detect]` section.
#[derive(Debug, Clone, PartialEq)]
pub struct Tuning {
    /// Run the engine in `live` and `run`.
    pub enabled: bool,
    /// Skip every learning period.
    pub test_mode: bool,
    /// Seconds (record time) between two emissions of an alert that keeps being updated.
    pub update_every: f64,
    /// Entries per state table (sources, accounts, tickets, hosts); the oldest go first.
    pub max_entries: usize,
    /// Tallies of all detections together (each holds up to 32 evidence records until its alert
    /// is raised); when full, the least recently touched half of the largest detection's go.
    pub max_tallies: usize,
    /// Open alerts kept; the least recently updated go first.
    pub max_alerts: usize,
    /// Seconds of quiet after which an alert is closed; the same activity later opens a new one.
    pub alert_ttl: f64,
    /// Distinct targets a tally remembers (as hashes) to tell new ones; further targets are
    /// counted as new without being remembered (counted in `distinct_dropped`).
    pub max_distinct: usize,
    /// The longest JSON line read as a record; longer lines are skipped and counted.
    pub max_record_bytes: usize,
    /// The most records a MessagePack batch may hold (as its list declares them, before any is
    /// read); a larger batch is skipped and counted (`dcsensor detect`) or kept unapplied (the
    /// center): a record takes about 1.8 KiB in memory however few bytes it had in the batch.
    pub max_batch_records: usize,
    /// Bytes of evidence records each tally and each alert holds (records as they lie in
    /// memory); records beyond it are kept trimmed to their time, type, addresses and ports,
    /// counted in `evidence_trimmed` ([`super::evidence`]). At least 32 trimmed records' worth.
    pub max_evidence_bytes: usize,
    /// Bytes of target names each tally and each alert holds (their text); a name beyond it is
    /// not kept (still counted in `target_count`), counted in `targets_dropped`. At least 256.
    pub max_target_bytes: usize,
    pub domain_controllers: Vec<IpAddr>,
    pub dns_servers: Vec<IpAddr>,
    pub sensitive_accounts: Vec<String>,
    pub sensitive_groups: Vec<String>,
    pub honeytokens: Vec<String>,
    /// Left alone by every detection.
    pub exclude: Exclusions,
    /// Syslog collectors that receive every alert in CEF (`udp://`, `tcp://`, `tls://host:port`).
    pub syslog: Vec<String>,
    /// CA certificates (PEM) for `tls://` collectors; empty: the system's.
    pub syslog_ca_file: String,
    /// Per detection, in catalog order.
    pub det: Vec<DetTuning>,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            enabled: false,
            test_mode: false,
            update_every: 60.0,
            max_entries: 20_000,
            max_tallies: 2_000,
            max_alerts: 3_000,
            alert_ttl: 86_400.0,
            max_distinct: 1024,
            max_record_bytes: 8 * 1024,
            max_batch_records: 100_000,
            max_evidence_bytes: 128 * 1024,
            max_target_bytes: 16 * 1024,
            domain_controllers: Vec::new(),
            dns_servers: Vec::new(),
            sensitive_accounts: Vec::new(),
            sensitive_groups: Vec::new(),
            honeytokens: Vec::new(),
            exclude: Exclusions::default(),
            syslog: Vec::new(),
            syslog_ca_file: String::new(),
            det: CATALOG
                .iter()
                .map(|d| DetTuning {
                    enabled: true,
                    level: Level::High,
                    test_mode: None,
                    values: d.thresholds.iter().map(|t| t.default).collect(),
                    exclude: Exclusions::default(),
                })
                .collect(),
        }
    }
}

/// The least `max_target_bytes` can be: room for one long name.
pub const MIN_TARGET_BYTES: usize = 256;

const GLOBAL_KEYS: &[&str] = &[
    "enabled",
    "test_mode",
    "update_every",
    "max_entries",
    "max_tallies",
    "max_alerts",
    "alert_ttl",
    "max_distinct",
    "max_record_bytes",
    "max_batch_records",
    "max_evidence_bytes",
    "max_target_bytes",
    "domain_controllers",
    "dns_servers",
    "sensitive_accounts",
    "sensitive_groups",
    "honeytokens",
    "exclude_accounts",
    "exclude_hosts",
    "exclude_subnets",
    "syslog",
    "syslog_ca_file",
];

const DET_KEYS: &[&str] = &[
    "enabled",
    "level",
    "test_mode",
    "exclude_accounts",
    "exclude_hosts",
    "exclude_subnets",
];

fn want_bool(v: &toml::Value, at: &str) -> Result<bool, String> {
    v.as_bool()
        .ok_or_else(|| format!("{at}: expected true or false"))
}

fn want_num(v: &toml::Value, at: &str) -> Result<f64, String> {
    let n = v
        .as_float()
        .or_else(|| v.as_integer().map(|i| i as f64))
        .ok_or_else(|| format!("{at}: expected a number"))?;
    if n.is_finite() && n >= 0.0 {
        Ok(n)
    } else {
        Err(format!("{at}: expected a number of 0 or more"))
    }
}

fn want_strings(v: &toml::Value, at: &str) -> Result<Vec<String>, String> {
    let arr = v
        .as_array()
        .ok_or_else(|| format!("{at}: expected a list of strings, like [\"a\", \"b\"]"))?;
    arr.iter()
        .map(|x| {
            x.as_str()
                .map(str::to_string)
                .ok_or_else(|| format!("{at}: expected a list of strings"))
        })
        .collect()
}

fn want_addrs(v: &toml::Value, at: &str) -> Result<Vec<IpAddr>, String> {
    want_strings(v, at)?
        .iter()
        .map(|s| {
            s.parse()
                .map_err(|_| format!("{at}: `{s}` is not an IP address"))
        })
        .collect()
}

fn exclusion(ex: &mut Exclusions, key: &str, v: &toml::Value, at: &str) -> Result<bool, String> {
    match key {
        "exclude_accounts" => ex.accounts = want_strings(v, at)?,
        "exclude_hosts" => ex.hosts = want_strings(v, at)?,
        "exclude_subnets" => {
            ex.subnets = Subnets(
                want_strings(v, at)?
                    .iter()
                    .map(|s| parse_subnet(s).map_err(|e| format!("{at}: {e}")))
                    .collect::<Result<_, _>>()?,
            )
        }
        _ => return Ok(false),
    }
    Ok(true)
}

fn detection_names() -> String {
    CATALOG
        .iter()
        .map(|d| d.name)
        .collect::<Vec<_>>()
        .join(", ")
}

fn parse_det(def: &Def, t: &toml::Table, out: &mut DetTuning) -> Result<(), String> {
    let mut explicit = vec![false; def.thresholds.len()];
    for (k, v) in t {
        let at = format!("[detect.{}] {k}", def.name);
        if exclusion(&mut out.exclude, k, v, &at)? {
            continue;
        }
        match k.as_str() {
            "enabled" => out.enabled = want_bool(v, &at)?,
            "test_mode" => out.test_mode = Some(want_bool(v, &at)?),
            "level" => {
                out.level = match v.as_str() {
                    Some("high") => Level::High,
                    Some("medium") => Level::Medium,
                    Some("low") => Level::Low,
                    _ => return Err(format!("{at}: expected \"high\", \"medium\" or \"low\"")),
                }
            }
            _ => {
                let Some(i) = def.thresholds.iter().position(|th| th.name == k) else {
                    let known: Vec<&str> = def.thresholds.iter().map(|t| t.name).collect();
                    return Err(format!(
                        "unknown threshold `{k}` for detection `{}`; its settings are {}{}",
                        def.name,
                        DET_KEYS.join(", "),
                        if known.is_empty() {
                            String::new()
                        } else {
                            format!(", {}", known.join(", "))
                        }
                    ));
                };
                out.values[i] = want_num(v, &at)?;
                explicit[i] = true;
            }
        }
    }
    let factor = match out.level {
        Level::High => 1.0,
        Level::Medium => 0.5,
        Level::Low => 0.25,
    };
    for (i, th) in def.thresholds.iter().enumerate() {
        if th.count && !explicit[i] {
            out.values[i] = (th.default * factor).ceil().max(1.0);
        }
    }
    Ok(())
}

impl Tuning {
    /// Reads the `[detect]` table. Errors name the unknown detection or threshold, or the key
    /// with a bad value.
    pub fn from_table(t: &toml::Table) -> Result<Tuning, String> {
        let mut tu = Tuning::default();
        for (k, v) in t {
            let at = format!("[detect] {k}");
            if let Some(d) = by_name(k) {
                let table = v
                    .as_table()
                    .ok_or_else(|| format!("[detect.{k}] must be a table of settings"))?;
                parse_det(d.def(), table, &mut tu.det[d as usize])?;
                continue;
            }
            if exclusion(&mut tu.exclude, k, v, &at)? {
                continue;
            }
            match k.as_str() {
                "enabled" => tu.enabled = want_bool(v, &at)?,
                "test_mode" => tu.test_mode = want_bool(v, &at)?,
                "update_every" => tu.update_every = want_num(v, &at)?,
                "alert_ttl" => tu.alert_ttl = want_num(v, &at)?,
                "max_entries" => tu.max_entries = (want_num(v, &at)? as usize).max(16),
                "max_tallies" => tu.max_tallies = (want_num(v, &at)? as usize).max(16),
                "max_alerts" => tu.max_alerts = (want_num(v, &at)? as usize).max(16),
                "max_distinct" => tu.max_distinct = (want_num(v, &at)? as usize).max(16),
                "max_evidence_bytes" => {
                    tu.max_evidence_bytes = (want_num(v, &at)?.min(u32::MAX as f64) as usize)
                        .max(super::evidence::min_budget())
                }
                "max_target_bytes" => {
                    tu.max_target_bytes =
                        (want_num(v, &at)?.min(u32::MAX as f64) as usize).max(MIN_TARGET_BYTES)
                }
                "max_record_bytes" => {
                    tu.max_record_bytes = (want_num(v, &at)? as usize).max(256)
                }
                "max_batch_records" => {
                    tu.max_batch_records = (want_num(v, &at)? as usize).max(1)
                }
                "domain_controllers" => tu.domain_controllers = want_addrs(v, &at)?,
                "dns_servers" => tu.dns_servers = want_addrs(v, &at)?,
                "sensitive_accounts" => tu.sensitive_accounts = want_strings(v, &at)?,
                "sensitive_groups" => tu.sensitive_groups = want_strings(v, &at)?,
                "honeytokens" => tu.honeytokens = want_strings(v, &at)?,
                "syslog" => {
                    tu.syslog = want_strings(v, &at)?;
                    for t in &tu.syslog {
                        super::sinks::SyslogTarget::parse(t).map_err(|e| format!("{at}: {e}"))?;
                    }
                }
                "syslog_ca_file" => {
                    tu.syslog_ca_file = v
                        .as_str()
                        .ok_or_else(|| format!("{at}: expected a path"))?
                        .to_string()
                }
                _ if v.is_table() => {
                    return Err(format!(
                        "unknown detection `{k}` in [detect]; the detections are {}",
                        detection_names()
                    ))
                }
                _ => {
                    return Err(format!(
                        "unknown setting `{k}` in [detect]; the settings are {} and one table per detection",
                        GLOBAL_KEYS.join(", ")
                    ))
                }
            }
        }
        Ok(tu)
    }

    /// Reads a TOML text: either a whole configuration file (its `[detect]` table) or a file
    /// holding only the `[detect]` settings at top level.
    pub fn from_toml(text: &str) -> Result<Tuning, String> {
        let t: toml::Table = text.parse().map_err(|e: toml::de::Error| e.to_string())?;
        match t.get("detect") {
            Some(toml::Value::Table(d)) => Tuning::from_table(d),
            Some(_) => Err("`detect` must be a table: write [detect]".into()),
            None => Tuning::from_table(&t),
        }
    }

    /// The value of a detection's threshold by name (the catalog's default if the name is not
    /// one of its thresholds, which the catalog tests rule out).
    pub fn value(&self, d: super::catalog::D, name: &str) -> f64 {
        let def = d.def();
        def.thresholds
            .iter()
            .position(|t| t.name == name)
            .map(|i| self.det[d as usize].values[i])
            .unwrap_or(0.0)
    }

    /// Whether a detection's learning period is skipped.
    pub fn test_mode(&self, d: super::catalog::D) -> bool {
        self.det[d as usize].test_mode.unwrap_or(self.test_mode)
    }

    /// Every detection enabled and every default, for tests and listings.
    pub fn all_names() -> impl Iterator<Item = &'static str> {
        ALL.iter().map(|d| d.def().name)
    }
}

/// The `[detect]` section of the example configuration: every setting with its default, every
/// detection with its thresholds (`systemd/dcsensor.toml` holds exactly this text).
pub fn example_section() -> String {
    let t = Tuning::default();
    let mut s = String::new();
    s.push_str("[detect]\n");
    s.push_str(
        "# Run the detection engine in `dcsensor run`; alerts go to the output sinks as `alerts`\n",
    );
    s.push_str("# batches (NATS subject dcsensor.<id>.alerts, file:DIR/alerts) and to the syslog collectors.\n");
    s.push_str(&format!("enabled = {}\n", t.enabled));
    s.push_str("# Skip every learning period (pass_the_hash, golden_ticket, silver_ticket); each detection\n# can also say test_mode = true on its own.\n");
    s.push_str(&format!("test_mode = {}\n", t.test_mode));
    s.push_str(
        "# Seconds (record time) between two emissions of an alert that keeps being updated.\n",
    );
    s.push_str(&format!("update_every = {}\n", t.update_every));
    s.push_str("# Entries per state table (sources, accounts, tickets, host names); the least recently seen\n# half goes when one is full, counted in dcsensor_detect_evictions_total.\n");
    s.push_str(&format!("max_entries = {}\n", t.max_entries));
    s.push_str("# Tallies (a source's or account's count of events in a detection's window, with up to 32\n# evidence records) of all detections together; when full, the least recently touched half of\n# the largest detection's go, counted as evictions. This bounds the engine's memory (README).\n");
    s.push_str(&format!("max_tallies = {}\n", t.max_tallies));
    s.push_str("# Open alerts kept, and seconds of quiet after which an alert closes.\n");
    s.push_str(&format!(
        "max_alerts = {}\nalert_ttl = {}\n",
        t.max_alerts, t.alert_ttl
    ));
    s.push_str("# Distinct targets a tally remembers to tell a new one from one seen (as 8-byte hashes);\n# beyond it every target counts as new, counted in the distinct_dropped counter.\n");
    s.push_str(&format!("max_distinct = {}\n", t.max_distinct));
    s.push_str("# The longest record read from a JSON-lines input (bytes); a longer line is skipped,\n# counted and named in a warning like a line that is not a record.\n");
    s.push_str(&format!("max_record_bytes = {}\n", t.max_record_bytes));
    s.push_str("# The most records a MessagePack batch may hold (as its list declares them); a larger batch\n# is skipped and counted by dcsensor detect, kept unapplied by the center. At least the\n# sensors' batch_records (default 1000).\n");
    s.push_str(&format!("max_batch_records = {}\n", t.max_batch_records));
    s.push_str("# Bytes of evidence records each tally and each alert holds (as they lie in memory, up to\n# 32 records); records beyond it are kept trimmed to their time, type, addresses and ports\n# (the alert's evidence_trimmed says how many), counted in dcsensor_detect_evidence_trimmed_total.\n# At least 32 trimmed records' worth (about 58 KiB). This bounds the engine's memory (README).\n");
    s.push_str(&format!("max_evidence_bytes = {}\n", t.max_evidence_bytes));
    s.push_str("# Bytes of target names (their text) each tally and each alert holds, up to 64 names; a\n# name beyond it is not kept (the alert's target_count still counts it), counted in\n# dcsensor_detect_targets_dropped_total. At least 256. This bounds the engine's memory (README).\n");
    s.push_str(&format!("max_target_bytes = {}\n", t.max_target_bytes));
    s.push_str("# Domain controllers and DNS servers besides those learned from traffic (hosts answering\n# Kerberos, LDAP, DRSUAPI; DNS).\n");
    s.push_str("domain_controllers = []\ndns_servers = []\n");
    s.push_str("# Accounts and groups treated as sensitive besides the built-in ones (Administrator, krbtgt;\n# Domain Admins, Enterprise Admins, Schema Admins, Administrators, the operator groups, ...).\n");
    s.push_str("sensitive_accounts = []\nsensitive_groups = []\n");
    s.push_str(
        "# Decoy accounts: any authentication or lookup naming one raises honeytoken_activity.\n",
    );
    s.push_str("honeytokens = []\n");
    s.push_str("# Left alone by every detection: accounts, host names, subnets (\"10.0.0.0/8\", \"10.1.2.3\").\n");
    s.push_str("exclude_accounts = []\nexclude_hosts = []\nexclude_subnets = []\n");
    s.push_str("# Syslog collectors receiving every alert in CEF: \"udp://host:514\", \"tcp://host:601\",\n# \"tls://host:6514\"; syslog_ca_file: CA certificates (PEM) for tls, empty: the system's.\n");
    s.push_str("syslog = []\nsyslog_ca_file = \"\"\n");
    s.push_str("\n# Each detection: enabled, level (\"high\" as written; \"medium\" halves the count thresholds,\n# \"low\" quarters them), test_mode, exclude_accounts / exclude_hosts / exclude_subnets, and its\n# thresholds.\n");
    for d in CATALOG {
        s.push_str(&format!(
            "\n# {}{}: {}\n",
            d.title,
            d.mdi.map(|m| format!(" (MDI {m})")).unwrap_or_default(),
            d.doc
        ));
        s.push_str(&format!(
            "[detect.{}]\nenabled = true\nlevel = \"high\"\n",
            d.name
        ));
        for th in d.thresholds {
            s.push_str(&format!("# {}\n{} = {}\n", th.doc, th.name, th.default));
        }
    }
    s
}
