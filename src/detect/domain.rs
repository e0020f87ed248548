//! What the engine knows about the domain: domain controllers and DNS servers (configured, and
//! learned from the hosts that answer Kerberos, LDAP, DRSUAPI and DNS), sensitive accounts and
//! groups (built in, plus configured), honeytokens, the encryption types a realm's clients use,
//! and host names for addresses (time-aware: from the Kerberos host principal or machine account
//! an address used, the NTLM workstation it named, DNS answers and SMB tree connects).

use super::config::{bare_account, Tuning};
use super::input::Rec;
use super::table::{Capped, Touched};
use super::tickets::Fact;
use crate::base::{WireMap, WireSet};
use std::net::IpAddr;

/// Groups sensitive in every domain (names as Windows shows them).
pub const SENSITIVE_GROUPS: &[&str] = &[
    "Domain Admins",
    "Enterprise Admins",
    "Schema Admins",
    "Administrators",
    "Account Operators",
    "Backup Operators",
    "Server Operators",
    "Print Operators",
    "Domain Controllers",
    "Read-only Domain Controllers",
    "Enterprise Read-only Domain Controllers",
    "Group Policy Creator Owners",
    "Key Admins",
    "Enterprise Key Admins",
    "DnsAdmins",
    "Cert Publishers",
    "Remote Desktop Users",
    "Replicator",
];

/// Relative ids of the well-known sensitive groups and aliases (Domain Admins 512, Domain
/// Controllers 516, Schema Admins 518, Enterprise Admins 519, Group Policy Creator Owners 520,
/// Read-only DCs 521, Key Admins 526, Enterprise Key Admins 527, Administrators 544, Account
/// Operators 548, Server Operators 549, Print Operators 550, Backup Operators 551, Replicator 552).
pub const SENSITIVE_RIDS: &[u64] = &[
    512, 516, 518, 519, 520, 521, 526, 527, 544, 548, 549, 550, 551, 552,
];

/// Accounts sensitive in every domain.
pub const SENSITIVE_ACCOUNTS: &[&str] = &["Administrator", "krbtgt"];

/// How an address was tied to a host name.
#[derive(Debug, Clone, PartialEq)]
pub struct HostName {
    pub name: String,
    /// `kerberos host principal`, `kerberos machine account`, `ntlm workstation`, `dns answer`,
    /// `smb tree connect`.
    pub by: &'static str,
    pub ts: f64,
}

/// Names an address had, newest last (a few, since addresses move).
#[derive(Debug, Clone, Default)]
struct Names {
    v: Vec<HostName>,
}

impl Touched for Names {
    fn last(&self) -> f64 {
        self.v.last().map(|n| n.ts).unwrap_or(0.0)
    }
}

const NAMES_PER_ADDRESS: usize = 4;

/// Counts of a realm's AS-REQs and of those offering AES.
#[derive(Debug, Clone, Copy, Default)]
pub struct EtypeUse {
    pub requests: u64,
    pub aes: u64,
}

/// The domain model.
pub struct Domain {
    configured_dcs: WireSet<IpAddr>,
    learned_dcs: WireSet<IpAddr>,
    configured_dns: WireSet<IpAddr>,
    learned_dns: WireSet<IpAddr>,
    max_learned: usize,
    sensitive_accounts: Vec<String>,
    sensitive_groups: Vec<String>,
    honeytokens: Vec<String>,
    hosts: Capped<Names, IpAddr>,
    /// Realm (upper case) to its AS-REQs' encryption types.
    pub realms: WireMap<String, EtypeUse>,
    /// First record time seen per KDC address (how long its tickets were watched).
    pub kdc_since: WireMap<IpAddr, f64>,
    /// KDCs seen answering PREAUTH_REQUIRED (their realm requires pre-authentication by default).
    pub preauth_kdcs: WireSet<IpAddr>,
    /// Learned addresses dropped because the learned sets were full.
    pub dropped: u64,
    /// What was learned since the engine last took it, when the engine shares what it learns
    /// (None: nothing is kept).
    pub(super) outbox: Option<Vec<Fact>>,
}

/// How a host name can have been found (the `by` of [`HostName`]).
const HOST_BY: &[&str] = &[
    "kerberos host principal",
    "kerberos machine account",
    "ntlm workstation",
    "dns answer",
    "smb tree connect",
];

/// Whether an etype is AES (17, 18, and the RFC 8009 types 19, 20).
pub fn is_aes(e: i32) -> bool {
    matches!(e, 17..=20)
}

impl Domain {
    pub fn new(t: &Tuning) -> Self {
        let mut d = Domain {
            configured_dcs: WireSet::default(),
            learned_dcs: WireSet::default(),
            configured_dns: WireSet::default(),
            learned_dns: WireSet::default(),
            max_learned: 4096,
            sensitive_accounts: Vec::new(),
            sensitive_groups: Vec::new(),
            honeytokens: Vec::new(),
            hosts: Capped::new(t.max_entries),
            realms: WireMap::default(),
            kdc_since: WireMap::default(),
            preauth_kdcs: WireSet::default(),
            dropped: 0,
            outbox: None,
        };
        d.configure(t);
        d
    }

    /// Takes the configured lists (at start and on reload; what was learned stays).
    pub fn configure(&mut self, t: &Tuning) {
        self.configured_dcs = t.domain_controllers.iter().copied().collect();
        self.configured_dns = t.dns_servers.iter().copied().collect();
        self.sensitive_accounts = SENSITIVE_ACCOUNTS
            .iter()
            .map(|s| s.to_string())
            .chain(t.sensitive_accounts.iter().cloned())
            .collect();
        self.sensitive_groups = SENSITIVE_GROUPS
            .iter()
            .map(|s| s.to_string())
            .chain(t.sensitive_groups.iter().cloned())
            .collect();
        self.honeytokens = t.honeytokens.clone();
    }

    /// Whether `ip` is a domain controller (configured, or seen answering as one).
    pub fn is_dc(&self, ip: Option<IpAddr>) -> bool {
        ip.is_some_and(|ip| self.configured_dcs.contains(&ip) || self.learned_dcs.contains(&ip))
    }

    /// Whether `ip` is a DNS server (configured, learned, or a domain controller).
    pub fn is_dns_server(&self, ip: Option<IpAddr>) -> bool {
        self.is_dc(ip)
            || ip.is_some_and(|ip| {
                self.configured_dns.contains(&ip) || self.learned_dns.contains(&ip)
            })
    }

    /// How many domain controllers are known (configured and learned).
    pub fn dc_count(&self) -> usize {
        self.configured_dcs.union(&self.learned_dcs).count()
    }

    /// Adds `ip` to a learned set; true when it was not there before.
    fn learn(set: &mut WireSet<IpAddr>, ip: IpAddr, max: usize, dropped: &mut u64) -> bool {
        if set.contains(&ip) {
            return false;
        }
        if set.len() >= max {
            *dropped += 1;
            return false;
        }
        set.insert(ip)
    }

    /// Adds `ip` to the learned domain controllers (`dc`) or DNS servers; true when it is new.
    fn learn_server(&mut self, dc: bool, ip: IpAddr) -> bool {
        let set = if dc {
            &mut self.learned_dcs
        } else {
            &mut self.learned_dns
        };
        Self::learn(set, ip, self.max_learned, &mut self.dropped)
    }

    /// Learns a domain controller (`dc`) or DNS server from the traffic, and passes it on when
    /// the engine shares what it learns.
    fn observe_server(&mut self, dc: bool, ip: IpAddr) {
        if self.learn_server(dc, ip) {
            if let Some(o) = &mut self.outbox {
                o.push(if dc {
                    Fact::Dc { addr: ip }
                } else {
                    Fact::DnsServer { addr: ip }
                });
            }
        }
    }

    /// Takes a fact another engine learned (see [`super::tickets::Fact`]); false for a fact that
    /// is not the domain model's.
    pub(super) fn absorb(&mut self, f: &Fact) -> bool {
        match f {
            Fact::Dc { addr } => {
                self.learn_server(true, *addr);
            }
            Fact::DnsServer { addr } => {
                self.learn_server(false, *addr);
            }
            Fact::Host { addr, name, by, ts } => {
                if let Some(by) = HOST_BY.iter().find(|b| **b == by.as_str()) {
                    self.place_host(*addr, name, by, *ts);
                }
            }
            _ => return false,
        }
        true
    }

    /// Puts a name another engine found for `ip` in time order among the names it had (the
    /// names this engine found itself come in time order already).
    fn place_host(&mut self, ip: IpAddr, name: &str, by: &'static str, ts: f64) {
        if name.is_empty() || name.len() > 255 || !ts.is_finite() {
            return;
        }
        let names = self.hosts.entry(&ip, Names::default);
        let mut at = names.v.partition_point(|n| n.ts <= ts);
        // the same name just before or after: one sighting of the same binding
        for i in [at.checked_sub(1), Some(at)].into_iter().flatten() {
            if let Some(n) = names.v.get_mut(i) {
                if n.name.eq_ignore_ascii_case(name) {
                    if by.starts_with("kerberos") {
                        n.by = by;
                    }
                    return;
                }
            }
        }
        if names.v.len() >= NAMES_PER_ADDRESS {
            if at == 0 {
                return; // older than every name kept
            }
            names.v.remove(0);
            at -= 1;
        }
        names.v.insert(
            at,
            HostName {
                name: name.to_string(),
                by,
                ts,
            },
        );
    }

    pub fn is_sensitive_account(&self, user: &str) -> bool {
        let u = bare_account(user);
        self.sensitive_accounts
            .iter()
            .any(|s| s.eq_ignore_ascii_case(u))
    }

    /// Whether a group name or a DN's first RDN (`CN=Domain Admins,CN=Users,...`) is sensitive.
    pub fn is_sensitive_group(&self, name_or_dn: &str) -> bool {
        let n = name_or_dn
            .strip_prefix("CN=")
            .or_else(|| name_or_dn.strip_prefix("cn="))
            .map(|r| r.split(',').next().unwrap_or(r))
            .unwrap_or(name_or_dn);
        self.sensitive_groups
            .iter()
            .any(|s| s.eq_ignore_ascii_case(n))
    }

    /// The honeytoken a name is, if any.
    pub fn honeytoken(&self, name: &str) -> Option<&str> {
        let u = bare_account(name);
        let u = u.split('/').next().unwrap_or(u);
        self.honeytokens
            .iter()
            .find(|h| h.eq_ignore_ascii_case(u))
            .map(String::as_str)
    }

    pub fn has_honeytokens(&self) -> bool {
        !self.honeytokens.is_empty()
    }

    fn name_host(&mut self, ip: IpAddr, name: &str, by: &'static str, ts: f64) {
        if name.is_empty() || name.len() > 255 {
            return;
        }
        let names = self.hosts.entry(&ip, Names::default);
        if let Some(last) = names.v.last_mut() {
            if last.name.eq_ignore_ascii_case(name) {
                last.ts = last.ts.max(ts);
                if last.by != by && by.starts_with("kerberos") {
                    last.by = by;
                }
                return;
            }
        }
        if names.v.len() >= NAMES_PER_ADDRESS {
            names.v.remove(0);
        }
        names.v.push(HostName {
            name: name.to_string(),
            by,
            ts,
        });
        if let Some(o) = &mut self.outbox {
            o.push(Fact::Host {
                addr: ip,
                name: name.to_string(),
                by: by.to_string(),
                ts,
            });
        }
    }

    /// The host name `ip` had at `ts`: the latest name seen at or before `ts`, else the first
    /// one seen after it.
    pub fn host_at(&self, ip: IpAddr, ts: f64) -> Option<&HostName> {
        let names = self.hosts.get(&ip)?;
        names
            .v
            .iter()
            .rev()
            .find(|n| n.ts <= ts)
            .or_else(|| names.v.first())
    }

    /// Host-name table evictions.
    pub fn host_evictions(&self) -> u64 {
        self.hosts.evictions
    }

    pub fn host_entries(&self) -> usize {
        self.hosts.len()
    }

    /// Learns from one record (before the detections read it).
    pub fn observe(&mut self, r: &Rec) {
        match r.kind.as_str() {
            "kerberos" => self.observe_kerberos(r),
            "ntlm" => {
                if let (Some(src), Some(ws)) = (r.src, r.workstation.as_deref()) {
                    self.name_host(src, ws, "ntlm workstation", r.ts);
                }
            }
            "ldap" if r.result.is_some() => {
                if let Some(dst) = r.dst {
                    self.observe_server(true, dst);
                }
            }
            "dcerpc"
                if r.interface.as_deref() == Some("drsuapi")
                    && r.fault.is_none()
                    && r.opnum.is_some() =>
            {
                if let Some(dst) = r.dst {
                    self.observe_server(true, dst);
                }
            }
            "dns" => self.observe_dns(r),
            "smb" if r.action.as_deref() == Some("tree_connect") => {
                if let (Some(dst), Some(share)) = (r.dst, r.share.as_deref()) {
                    let host = share
                        .trim_start_matches('\\')
                        .split('\\')
                        .next()
                        .unwrap_or("");
                    if !host.is_empty() && host.parse::<IpAddr>().is_err() {
                        self.name_host(dst, host, "smb tree connect", r.ts);
                    }
                }
            }
            _ => {}
        }
    }

    fn observe_kerberos(&mut self, r: &Rec) {
        if r.reply.is_some() && r.request.as_deref() != Some("AP-REQ") {
            if let Some(dst) = r.dst {
                self.observe_server(true, dst);
                self.kdc_since.entry(dst).or_insert(r.ts);
                if r.error
                    .as_ref()
                    .is_some_and(|e| e.is("KDC_ERR_PREAUTH_REQUIRED", 25))
                {
                    Self::learn(
                        &mut self.preauth_kdcs,
                        dst,
                        self.max_learned,
                        &mut self.dropped,
                    );
                }
            }
        }
        let (Some(src), Some(client)) = (r.src, r.client.as_deref()) else {
            return;
        };
        let ok = matches!(r.reply.as_deref(), Some("AS-REP") | Some("TGS-REP"));
        if !ok {
            return;
        }
        if let Some(host) = client.strip_prefix("host/") {
            self.name_host(src, host, "kerberos host principal", r.ts);
        } else if let Some(m) = client.strip_suffix('$') {
            if !m.is_empty() && !m.contains('/') {
                self.name_host(src, m, "kerberos machine account", r.ts);
            }
        }
        if r.request.as_deref() == Some("AS-REQ") && !r.etypes.is_empty() {
            if let Some(realm) = r.realm.as_deref() {
                let key = realm.to_ascii_uppercase();
                if self.realms.len() < self.max_learned || self.realms.contains_key(&key) {
                    let e = self.realms.entry(key).or_default();
                    e.requests += 1;
                    if r.etypes.iter().any(|&e| is_aes(e)) {
                        e.aes += 1;
                    }
                }
            }
        }
    }

    fn observe_dns(&mut self, r: &Rec) {
        if r.rcode.is_some() {
            if let Some(dst) = r.dst {
                self.observe_server(false, dst);
            }
        }
        let is_a = r
            .qtype
            .as_ref()
            .is_some_and(|q| q.is("A", 1) || q.is("AAAA", 28));
        if !is_a {
            return;
        }
        let Some(q) = r.query.as_deref() else { return };
        for a in r.answers.iter().take(8) {
            if let Ok(ip) = a.parse::<IpAddr>() {
                self.name_host(ip, q, "dns answer", r.ts);
            }
        }
    }
}

impl Domain {
    /// The host name of `ip` at `ts`, else the address as text.
    pub fn host_at_or_ip(&self, ip: Option<IpAddr>, ts: f64) -> Option<String> {
        let ip = ip?;
        Some(
            self.host_at(ip, ts)
                .map(|h| h.name.clone())
                .unwrap_or_else(|| super::rules::ip_text(ip)),
        )
    }
}

impl Domain {
    /// The host names of the known domain controllers at `ts`.
    pub fn dc_names(&self, ts: f64) -> Vec<String> {
        self.configured_dcs
            .iter()
            .chain(self.learned_dcs.iter())
            .filter_map(|ip| self.host_at(*ip, ts).map(|h| h.name.clone()))
            .collect()
    }
}
