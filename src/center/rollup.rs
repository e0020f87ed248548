//! Records into the store's rolled-up effects: who logged on how (protocol and encryption),
//! from which host, which services and shares they reached, what failed; which addresses a
//! computer had; each sensor's health from its `stats`.
//!
//! Only the fields used here are read ([`Activity`]); strings from the wire are cut to
//! [`MAX_TEXT`] bytes and the address-to-host map is capped ([`MAX_HOSTS`]): input can grow
//! nothing without bound.

use super::store::write::{Effects, EntityKey, SensorStat};
use serde::Deserialize;
use std::collections::HashMap;

/// Longest name or detail kept from a record.
pub const MAX_TEXT: usize = 256;
/// Addresses remembered with their host name (for "came from host X").
pub const MAX_HOSTS: usize = 100_000;
/// Realms remembered (for NTLM's NetBIOS domain names).
pub const MAX_REALMS: usize = 1_000;

/// A status or error: a name, or a number where the protocol has no name for it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Code {
    Name(String),
    Num(i64),
}

impl Code {
    fn text(&self) -> String {
        match self {
            Code::Name(s) => cut(s).to_string(),
            Code::Num(n) => n.to_string(),
        }
    }
}

/// The fields of a record that the rollup reads (RECORDS.md names).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Activity {
    pub ts: f64,
    #[serde(rename = "type")]
    pub kind: String,
    pub src: Option<String>,
    pub request: Option<String>,
    pub client: Option<String>,
    pub realm: Option<String>,
    pub service: Option<String>,
    pub reply: Option<String>,
    pub error: Option<Code>,
    pub ticket_etype: Option<i64>,
    pub reply_etype: Option<i64>,
    pub user: Option<String>,
    pub domain: Option<String>,
    pub workstation: Option<String>,
    pub version: Option<String>,
    pub success: Option<bool>,
    pub status: Option<Code>,
    pub action: Option<String>,
    pub share: Option<String>,
    pub op: Option<String>,
    pub bind: Option<String>,
    pub name: Option<String>,
    pub result: Option<Code>,
    pub query: Option<String>,
    pub qtype: Option<Code>,
    pub answers: Vec<String>,
    // stats
    pub packets: Option<u64>,
    pub records: Option<u64>,
    pub drops: Option<HashMap<String, u64>>,
    pub elapsed: Option<f64>,
}

fn cut(s: &str) -> &str {
    if s.len() <= MAX_TEXT {
        return s;
    }
    let mut end = MAX_TEXT;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A Kerberos encryption type's name.
pub fn etype_name(e: i64) -> String {
    match e {
        1 => "des-cbc-crc".into(),
        3 => "des-cbc-md5".into(),
        17 => "aes128-cts".into(),
        18 => "aes256-cts".into(),
        19 => "aes128-cts-sha256".into(),
        20 => "aes256-cts-sha384".into(),
        23 => "rc4-hmac".into(),
        24 => "rc4-hmac-exp".into(),
        n => format!("etype-{n}"),
    }
}

/// What the rollup remembers between batches: host names of addresses, known realms, each
/// sensor's previous `stats` (for records per second).
#[derive(Debug, Default)]
pub struct Rollup {
    hosts: HashMap<String, String>,
    realms: HashMap<String, String>,
    last_stats: HashMap<String, (f64, u64)>,
}

impl Rollup {
    /// The host name known for an address, else the address.
    fn host_of(&self, addr: &str) -> String {
        self.hosts
            .get(addr)
            .cloned()
            .unwrap_or_else(|| addr.to_string())
    }

    fn learn_host(&mut self, addr: &str, fqdn: &str) {
        if self.hosts.len() >= MAX_HOSTS && !self.hosts.contains_key(addr) {
            self.hosts.clear(); // start over rather than grow; names are learned again
        }
        self.hosts.insert(addr.to_string(), fqdn.to_string());
    }

    fn learn_realm(&mut self, realm: &str) {
        let first = realm
            .split('.')
            .next()
            .unwrap_or(realm)
            .to_ascii_uppercase();
        if (self.realms.len() < MAX_REALMS || self.realms.contains_key(&first))
            && realm.contains('.')
        {
            self.realms.insert(first, realm.to_ascii_uppercase());
        }
    }

    /// The Kerberos realm of an NTLM (NetBIOS) domain name where one was seen, else the name.
    fn realm_of_domain(&self, domain: &str) -> String {
        let d = domain.to_ascii_uppercase();
        if d.contains('.') {
            return d;
        }
        self.realms.get(&d).cloned().unwrap_or(d)
    }

    /// A principal (`alice`, `WS01$`, `host/ws01.lab.example`) in `realm` as an entity.
    fn principal(&self, name: &str, realm: &str) -> Option<EntityKey> {
        let name = cut(name.trim());
        if name.is_empty() {
            return None;
        }
        if let Some(host) = name.strip_prefix("host/") {
            return Some(EntityKey::computer(host.split('/').next().unwrap_or(host)));
        }
        if name.contains('/') {
            return None; // a service principal, not an account that logs on
        }
        if let Some(short) = name.strip_suffix('$') {
            return Some(EntityKey::computer(&fqdn(short, realm)));
        }
        Some(EntityKey::user(cut(realm), name))
    }

    /// An account written `DOMAIN\user`, `user@realm` or `user` (then in `realm`).
    fn account(&self, s: &str, realm: Option<&str>) -> Option<EntityKey> {
        if let Some((d, u)) = s.split_once('\\') {
            return self.principal(u, &self.realm_of_domain(d));
        }
        if let Some((u, r)) = s.split_once('@') {
            return self.principal(u, &r.to_ascii_uppercase());
        }
        self.principal(s, &self.realm_of_domain(realm.unwrap_or("")))
    }

    /// Adds what `r` (from `sensor`, on `host`) shows to `fx`.
    pub fn apply(&mut self, sensor: &str, host: &str, r: &Activity, fx: &mut Effects) {
        let ts = r.ts;
        match r.kind.as_str() {
            "kerberos" => self.kerberos(r, fx),
            "ntlm" => self.ntlm(r, fx),
            "smb" => self.smb(r, fx),
            "ldap" => self.ldap(r, fx),
            "dns" => self.dns(r, fx),
            "stats" => {
                let records = r.records.unwrap_or(0);
                let elapsed = r.elapsed.unwrap_or(0.0);
                let rate = match self.last_stats.get(sensor) {
                    Some(&(e0, n0)) if elapsed > e0 && records >= n0 => {
                        (records - n0) as f64 / (elapsed - e0)
                    }
                    _ if elapsed > 0.0 => records as f64 / elapsed,
                    _ => 0.0,
                };
                self.last_stats
                    .insert(sensor.to_string(), (elapsed, records));
                fx.stats.push(SensorStat {
                    sensor: sensor.to_string(),
                    host: host.to_string(),
                    ts,
                    packets: r.packets.unwrap_or(0) as i64,
                    drops: r
                        .drops
                        .as_ref()
                        .map(|d| d.values().fold(0u64, |a, v| a.saturating_add(*v)))
                        .unwrap_or(0) as i64,
                    records: records as i64,
                    records_per_s: rate,
                });
            }
            _ => {}
        }
    }

    fn smb(&mut self, r: &Activity, fx: &mut Effects) {
        if r.action.as_deref() != Some("tree_connect") {
            return;
        }
        if let (Some(u), Some(share)) = (&r.user, &r.share) {
            if let Some(e) = self.account(u, None) {
                fx.count(&e, r.ts, "share", cut(share));
            }
        }
    }

    fn ldap(&mut self, r: &Activity, fx: &mut Effects) {
        if r.op.as_deref() != Some("bind") {
            return;
        }
        let Some(e) = r.name.as_deref().and_then(|n| self.account(n, None)) else {
            return;
        };
        let how = format!("ldap/{}", r.bind.as_deref().unwrap_or("bind"));
        match r.success {
            Some(true) => fx.count(&e, r.ts, "logon", cut(&how)),
            Some(false) => {
                let why = r.result.as_ref().map(Code::text).unwrap_or_default();
                fx.count(&e, r.ts, "failure", &format!("{}/{why}", cut(&how)));
            }
            None => {}
        }
    }

    fn kerberos(&mut self, r: &Activity, fx: &mut Effects) {
        let ts = r.ts;
        let realm = r.realm.as_deref().unwrap_or("");
        if !realm.is_empty() {
            self.learn_realm(realm);
        }
        let Some(e) = r.client.as_deref().and_then(|c| self.principal(c, realm)) else {
            return;
        };
        let request = r.request.as_deref().unwrap_or("");
        if e.kind == "computer" && request == "AS-REQ" {
            if let Some(src) = &r.src {
                fx.address(&e, src, ts, "kerberos");
                self.learn_host(src, &e.name);
            }
        }
        let ok = matches!(r.reply.as_deref(), Some("AS-REP") | Some("TGS-REP"));
        if ok {
            let etype = r.ticket_etype.or(r.reply_etype).map(etype_name);
            match request {
                "AS-REQ" => fx.count(
                    &e,
                    ts,
                    "logon",
                    &format!("kerberos/{}", etype.as_deref().unwrap_or("unknown")),
                ),
                "TGS-REQ" => {
                    if let Some(s) = &r.service {
                        fx.count(&e, ts, "service", cut(s));
                    }
                }
                _ => {}
            }
        }
        if let Some(err) = &r.error {
            let name = err.text();
            // Protocol steps, not failures: "send pre-authentication", "use TCP".
            let step = name.contains("PREAUTH_REQUIRED")
                || name.contains("RESPONSE_TOO_BIG")
                || name == "25"
                || name == "52";
            if !step {
                fx.count(&e, ts, "failure", &format!("kerberos/{name}"));
            }
        }
        if let Some(src) = &r.src {
            if request == "AS-REQ" || request == "TGS-REQ" {
                let from = self.host_of(src);
                fx.count(&e, ts, "source", &from);
                if e.kind == "user" && from != *src {
                    fx.count(&EntityKey::computer(&from), ts, "user", &e.display());
                }
            }
        }
    }

    fn ntlm(&mut self, r: &Activity, fx: &mut Effects) {
        let ts = r.ts;
        let (Some(user), Some(domain)) = (&r.user, &r.domain) else {
            return;
        };
        if r.version.as_deref() == Some("anonymous") || user.is_empty() {
            return;
        }
        let realm = self.realm_of_domain(domain);
        let Some(e) = self.principal(user, &realm) else {
            return;
        };
        let version = r.version.as_deref().unwrap_or("unknown");
        match r.success {
            Some(true) => fx.count(&e, ts, "logon", &format!("ntlm/{}", cut(version))),
            Some(false) => {
                let why = r.status.as_ref().map(Code::text).unwrap_or_default();
                fx.count(&e, ts, "failure", &format!("ntlm/{why}"));
            }
            None => {}
        }
        let mut from = r.src.as_deref().map(|s| self.host_of(s));
        if let Some(ws) = r.workstation.as_deref().filter(|w| !w.is_empty()) {
            let comp = EntityKey::computer(&fqdn(cut(ws), &realm));
            if let Some(src) = &r.src {
                fx.address(&comp, src, ts, "ntlm");
            }
            if e.kind == "user" {
                fx.count(&comp, ts, "user", &e.display());
            }
            from = Some(comp.name);
        }
        if let Some(from) = from {
            fx.count(&e, ts, "source", &from);
        }
    }

    fn dns(&mut self, r: &Activity, fx: &mut Effects) {
        let Some(q) = &r.query else { return };
        let is_addr = matches!(&r.qtype, Some(Code::Name(t)) if t == "A" || t == "AAAA")
            || matches!(r.qtype, Some(Code::Num(1)) | Some(Code::Num(28)));
        if !is_addr || r.answers.is_empty() {
            return;
        }
        let q = cut(q.trim_end_matches('.')).to_ascii_lowercase();
        // Only names in a realm seen in Kerberos: the domain's own computers, not the web.
        let inside = self
            .realms
            .values()
            .any(|realm| q.ends_with(&format!(".{}", realm.to_ascii_lowercase())));
        if !inside {
            return;
        }
        let comp = EntityKey::computer(&q);
        for a in &r.answers {
            if a.parse::<std::net::IpAddr>().is_ok() {
                fx.address(&comp, a, r.ts, "dns");
                self.learn_host(a, &comp.name);
            }
        }
    }
}

/// A computer's FQDN from its short name and realm.
fn fqdn(short: &str, realm: &str) -> String {
    let s = short.to_ascii_lowercase();
    if s.contains('.') || !realm.contains('.') {
        s
    } else {
        format!("{s}.{}", realm.to_ascii_lowercase())
    }
}

#[cfg(test)]
mod tests;
