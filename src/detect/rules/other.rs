//! Detections on `ntlm`, `ldap`, `dns` and `smb` records: failed logons, pass-the-hash, NTLM
//! relay and tampering, LDAP reconnaissance and CLDAP account pings, directory changes (sensitive
//! groups, resource-based delegation, DCShadow), DNS mapping, executables on DC shares, SMB
//! exfiltration, honeytokens.

use super::{ip_key, ip_key_and, ip_key_lower, ip_pair_key, ip_text, Seen};
use crate::detect::config::bare_account;
use crate::detect::{Engine, Fact, Rec, D};

const EXEC_EXT: &[&str] = &[
    ".exe", ".dll", ".ps1", ".bat", ".cmd", ".vbs", ".js", ".sys", ".scr", ".msi", ".hta",
];
const SECRET_FILES: &[&str] = &[
    "ntds.dit",
    "sam",
    "security",
    "system",
    "sam.save",
    "security.save",
    "system.save",
];

/// The kinds of directory-wide query a filter is (collectors ask each of these once).
fn ldap_kinds(filter: &str) -> Vec<&'static str> {
    let f = filter.to_ascii_lowercase().replace(' ', "");
    let mut k = Vec::new();
    let mut add = |cond: bool, name: &'static str| {
        if cond && !k.contains(&name) {
            k.push(name)
        }
    };
    add(
        f.contains("objectcategory=person")
            || f.contains("objectclass=user")
            || f.contains("samaccounttype=805306368"),
        "users",
    );
    add(
        f.contains("objectclass=computer")
            || f.contains("objectcategory=computer")
            || f.contains("samaccounttype=805306369"),
        "computers",
    );
    add(
        f.contains("objectclass=group")
            || f.contains("objectcategory=group")
            || f.contains("samaccounttype=268435456"),
        "groups",
    );
    add(f.contains("serviceprincipalname="), "spns");
    add(f.contains("admincount=1"), "admincount");
    add(
        f.contains("msds-allowedtodelegateto")
            || f.contains("msds-allowedtoactonbehalfofotheridentity")
            || f.contains(":=524288")
            || f.contains(":=16777216"),
        "delegation",
    );
    add(f.contains("grouppolicycontainer"), "gpos");
    add(f.contains("trusteddomain"), "trusts");
    add(f.contains(":=8192"), "domain_controllers");
    add(f.contains("objectclass=organizationalunit"), "ous");
    add(f.contains(":=4194304"), "no_preauth");
    add(f.contains("ms-mcs-admpwd") || f.contains("mslaps"), "laps");
    add(
        f.contains("objectclass=pkicertificatetemplate") || f.contains("pkienrollmentservice"),
        "certificate_templates",
    );
    k
}

impl Engine {
    pub(in crate::detect) fn ntlm(&mut self, sensor: &str, r: &Rec) {
        let user = r.user.as_deref().unwrap_or("");
        if user.is_empty() || r.version.as_deref() == Some("anonymous") {
            return;
        }
        if self.domain.has_honeytokens() {
            self.honeytoken(sensor, r, user, "NTLM");
        }
        let status = r.status.as_ref();
        if status.is_some_and(|s| s.is("STATUS_NO_SUCH_USER", 0xc000_0064)) {
            if self.on(D::AccountEnumeration)
                && !self.excluded(D::AccountEnumeration, r.src, None, r.ts)
            {
                let key = ip_key(r);
                let w = self.th(D::AccountEnumeration, "window");
                let (n, _) = self.tally(D::AccountEnumeration, &key, w, Some(user), r);
                if n as f64 >= self.th(D::AccountEnumeration, "unknown_names") {
                    let what = format!("tried NTLM logons for {n} account names that do not exist");
                    self.raise_tally(sensor, D::AccountEnumeration, &key, r, None, what);
                }
            }
            return;
        }
        let failed = r.success == Some(false)
            && status.is_none_or(|s| {
                s.is("STATUS_LOGON_FAILURE", 0xc000_006d)
                    || s.is("STATUS_WRONG_PASSWORD", 0xc000_006a)
            });
        if failed {
            self.failed_logon(sensor, r, user, "NTLM");
            return;
        }
        self.pass_the_hash(sensor, r, user);
        self.ntlm_relay(sensor, r, user);
        self.ntlm_tampering(sensor, r, user);
    }

    fn pass_the_hash(&mut self, sensor: &str, r: &Rec, user: &str) {
        if !self.on(D::PassTheHash) || user.ends_with('$') {
            return;
        }
        let since = match self.rules.ntlm_since {
            Some(s) => s,
            None => {
                self.share(|| Fact::NtlmSince { ts: r.ts });
                *self.rules.ntlm_since.insert(r.ts)
            }
        };
        let host = self
            .domain
            .host_at_or_ip(r.src, r.ts)
            .unwrap_or_default()
            .to_ascii_lowercase();
        let key = format!("{}|{host}", bare_account(user).to_ascii_lowercase());
        let known = self.rules.ntlm_pairs.get(&key).is_some();
        let s = self.rules.ntlm_pairs.entry(&key, Seen::default);
        s.last = r.ts;
        if !known {
            self.share(|| Fact::NtlmPair {
                key: key.clone(),
                ts: r.ts,
            });
        }
        let learning = r.ts - since < self.th(D::PassTheHash, "learning")
            && !self.tuning.test_mode(D::PassTheHash);
        if known || learning || self.excluded(D::PassTheHash, r.src, Some(user), r.ts) {
            return;
        }
        let what = format!("logged on with NTLM as {user} from a host this account did not use during the learned baseline");
        self.single(
            sensor,
            D::PassTheHash,
            &key,
            r,
            Some(user),
            Some(user),
            what,
        );
    }

    fn ntlm_relay(&mut self, sensor: &str, r: &Rec, user: &str) {
        if !self.on(D::NtlmRelay) {
            return;
        }
        let dst_names: Vec<String> = [
            r.server_nb_name.clone(),
            r.server_dns_name.clone(),
            self.domain.host_at_or_ip(r.dst, r.ts),
            r.dst.map(ip_text),
        ]
        .into_iter()
        .flatten()
        .map(|s| s.to_ascii_lowercase())
        .collect();
        let mut why = None;
        // an SPN (class/host); some RPC clients put other names there
        if let Some(t) = r.target_name.as_deref().filter(|t| t.contains('/')) {
            let host = t
                .split('/')
                .nth(1)
                .unwrap_or(t)
                .split(':')
                .next()
                .unwrap_or("")
                .to_ascii_lowercase();
            let short = host.split('.').next().unwrap_or("").to_string();
            let matches = dst_names
                .iter()
                .any(|n| *n == host || n.split('.').next() == Some(short.as_str()));
            // a client addressing the server through a local port forward names loopback
            let loopback = host == "localhost"
                || host
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|a| a.is_loopback());
            if !host.is_empty() && !loopback && !matches {
                why = Some(format!(
                    "an NTLM authentication meant for {t} arrived at {}",
                    dst_names.first().cloned().unwrap_or_default()
                ));
            }
        }
        if why.is_none() {
            if let Some(machine) = user.strip_suffix('$') {
                let dc_name = r
                    .src
                    .filter(|_| self.domain.is_dc(r.src))
                    .and_then(|s| self.domain.host_at(s, r.ts))
                    .map(|h| h.name.split('.').next().unwrap_or("").to_ascii_lowercase());
                let is_dc_account =
                    dc_name.as_deref() == Some(machine.to_ascii_lowercase().as_str());
                if !is_dc_account
                    && !self.domain.is_dc(r.dst)
                    && self.domain_dc_named(machine, r.ts)
                {
                    why = Some(format!(
                        "the domain controller account {user} authenticated with NTLM from {}",
                        ip_key(r)
                    ));
                }
            }
        }
        let Some(what) = why else { return };
        if self.excluded(D::NtlmRelay, r.src, Some(user), r.ts) {
            return;
        }
        let key = ip_key_lower(r, user);
        self.single(
            sensor,
            D::NtlmRelay,
            &key,
            r,
            Some(user),
            r.target_name.as_deref(),
            what,
        );
    }

    fn ntlm_tampering(&mut self, sensor: &str, r: &Rec, user: &str) {
        if r.version.as_deref() != Some("NTLMv2") {
            return;
        }
        let key = ip_key(r);
        match r.mic {
            Some(true) => {
                let s = self.rules.mic_senders.entry(&key, Seen::default);
                s.last = r.ts;
                let new = !s.flag;
                s.flag = true;
                if new {
                    self.share(|| Fact::MicSender {
                        key: key.to_string(),
                        ts: r.ts,
                    });
                }
            }
            Some(false)
                if self.on(D::NtlmTampering)
                    && self.rules.mic_senders.get(&key).is_some_and(|s| s.flag) =>
            {
                if self.excluded(D::NtlmTampering, r.src, Some(user), r.ts) {
                    return;
                }
                let what = format!("sent an NTLMv2 authentication for {user} without a MIC, from an address whose logons carried one (drop-the-MIC)");
                self.single(
                    sensor,
                    D::NtlmTampering,
                    &key,
                    r,
                    Some(user),
                    Some(user),
                    what,
                );
            }
            _ => {}
        }
    }

    /// Whether a known domain controller has the host name `machine` (first label).
    fn domain_dc_named(&self, machine: &str, ts: f64) -> bool {
        self.domain.dc_names(ts).iter().any(|n| {
            n.split('.')
                .next()
                .is_some_and(|f| f.eq_ignore_ascii_case(machine))
        })
    }

    pub(in crate::detect) fn ldap(&mut self, sensor: &str, r: &Rec) {
        if r.bind.is_some() {
            let name = r.name.as_deref().unwrap_or("");
            if !name.is_empty() {
                let account = name
                    .split(',')
                    .next()
                    .unwrap_or(name)
                    .trim_start_matches("CN=")
                    .trim_start_matches("cn=");
                if self.domain.has_honeytokens() {
                    self.honeytoken(sensor, r, account, "LDAP bind");
                }
                if r.bind.as_deref() == Some("simple")
                    && r.result
                        .as_ref()
                        .is_some_and(|x| x.is("invalidCredentials", 49))
                {
                    self.failed_logon(sensor, r, account, "LDAP simple bind");
                }
            }
            return;
        }
        match r.op.as_deref() {
            Some("search") => self.ldap_search(sensor, r),
            Some("modify") | Some("add") => self.ldap_change(sensor, r),
            _ => {}
        }
    }

    fn ldap_search(&mut self, sensor: &str, r: &Rec) {
        let Some(filter) = r.filter.as_deref() else {
            return;
        };
        if r.proto.as_deref() == Some("udp") {
            // CLDAP ping naming a user: account enumeration (MDI 2437)
            let f = filter.to_ascii_lowercase();
            if let Some(i) = f.find("(user=") {
                let name: String = filter[i + 6..].chars().take_while(|&c| c != ')').collect();
                if !name.is_empty()
                    && self.on(D::AccountEnumeration)
                    && !self.excluded(D::AccountEnumeration, r.src, None, r.ts)
                {
                    let key = ip_key_and(r, "cldap");
                    let w = self.th(D::AccountEnumeration, "window");
                    let (n, _) = self.tally(D::AccountEnumeration, &key, w, Some(&name), r);
                    if n as f64 >= self.th(D::AccountEnumeration, "unknown_names") {
                        let what = format!("sent CLDAP pings naming {n} different accounts");
                        self.raise_tally(sensor, D::AccountEnumeration, &key, r, None, what);
                    }
                }
            }
            return;
        }
        if !self.on(D::LdapReconnaissance) || self.domain.is_dc(r.src) {
            return;
        }
        let kinds = ldap_kinds(filter);
        if kinds.is_empty() || self.excluded(D::LdapReconnaissance, r.src, None, r.ts) {
            return;
        }
        let key = ip_key(r);
        let w = self.th(D::LdapReconnaissance, "window");
        let mut n = 0;
        for k in kinds {
            n = self.tally(D::LdapReconnaissance, &key, w, Some(k), r).0;
        }
        if n as f64 >= self.th(D::LdapReconnaissance, "query_kinds") {
            let what =
                format!("searched the directory for {n} kinds of security principals and objects");
            self.raise_tally(sensor, D::LdapReconnaissance, &key, r, None, what);
        }
    }

    fn ldap_change(&mut self, sensor: &str, r: &Rec) {
        let dn = r.dn.as_deref().unwrap_or("");
        let has = |attr: &str| {
            r.changes.iter().any(|c| {
                c.split_whitespace()
                    .nth(1)
                    .is_some_and(|a| a.eq_ignore_ascii_case(attr))
            })
        };
        let adds_member = r.changes.iter().any(|c| {
            let mut w = c.split_whitespace();
            matches!(w.next(), Some("add") | Some("replace"))
                && w.next().is_some_and(|a| a.eq_ignore_ascii_case("member"))
        });
        if adds_member
            && self.domain.is_sensitive_group(dn)
            && self.on(D::SensitiveGroupAddition)
            && !self.excluded(D::SensitiveGroupAddition, r.src, None, r.ts)
        {
            let group = dn
                .split(',')
                .next()
                .unwrap_or(dn)
                .trim_start_matches("CN=")
                .to_string();
            let key = ip_key_lower(r, dn);
            let what = format!("added a member to the sensitive group {group} over LDAP");
            self.single(
                sensor,
                D::SensitiveGroupAddition,
                &key,
                r,
                None,
                Some(&group),
                what,
            );
        }
        if has("msDS-AllowedToActOnBehalfOfOtherIdentity")
            && self.on(D::DelegationAbuse)
            && !self.excluded(D::DelegationAbuse, r.src, None, r.ts)
        {
            let key = format!("{}|rbcd|{}", ip_key(r), dn.to_ascii_lowercase());
            let what = format!("wrote msDS-AllowedToActOnBehalfOfOtherIdentity on {dn} (resource-based constrained delegation)");
            self.single(sensor, D::DelegationAbuse, &key, r, None, Some(dn), what);
        }
        if r.op.as_deref() == Some("add")
            && dn.to_ascii_lowercase().starts_with("cn=ntds settings")
            && !self.domain.is_dc(r.src)
            && self.on(D::Dcshadow)
            && !self.excluded(D::Dcshadow, r.src, None, r.ts)
        {
            let key = ip_key(r);
            let what =
                format!("added an NTDS Settings object ({dn}), registering a domain controller");
            self.single(sensor, D::Dcshadow, &key, r, None, Some(dn), what);
        }
    }

    pub(in crate::detect) fn dns(&mut self, sensor: &str, r: &Rec) {
        if !self.on(D::DnsReconnaissance) || self.domain.is_dns_server(r.src) {
            return;
        }
        let Some(q) = r.query.as_deref() else { return };
        let qtype = r.qtype.as_ref();
        if qtype.is_some_and(|t| t.is("AXFR", 252) || t.is("IXFR", 251)) {
            if self.excluded(D::DnsReconnaissance, r.src, None, r.ts) {
                return;
            }
            let key = ip_key_and(r, "xfr");
            let what = "asked zone transfers, though it is not a DNS server".to_string();
            self.single(sensor, D::DnsReconnaissance, &key, r, None, Some(q), what);
            return;
        }
        let (kind, th, what) = if qtype.is_some_and(|t| t.is("PTR", 12)) {
            ("ptr", "reverse_lookups", "made reverse lookups of")
        } else if r.rcode.as_ref().is_some_and(|c| c.is("NXDOMAIN", 3)) {
            ("nx", "unknown_names", "looked up names that do not exist:")
        } else {
            return;
        };
        if self.excluded(D::DnsReconnaissance, r.src, None, r.ts) {
            return;
        }
        let key = ip_key_and(r, kind);
        let w = self.th(D::DnsReconnaissance, "window");
        let (n, _) = self.tally(D::DnsReconnaissance, &key, w, Some(q), r);
        if n as f64 >= self.th(D::DnsReconnaissance, th) {
            let what = format!("{what} {n} names");
            self.raise_tally(sensor, D::DnsReconnaissance, &key, r, None, what);
        }
    }

    pub(in crate::detect) fn smb(&mut self, sensor: &str, r: &Rec) {
        if let Some(u) = r.user.as_deref() {
            if self.domain.has_honeytokens() && r.action.as_deref() == Some("tree_connect") {
                self.honeytoken(sensor, r, u, "SMB");
            }
        }
        let path = r.path.as_deref().unwrap_or("");
        let lower = path.to_ascii_lowercase();
        let share = r.share.as_deref().unwrap_or("");
        match r.action.as_deref() {
            Some("open") => {
                let writes = r.access.iter().any(|a| a == "write" || a == "append")
                    || r.disposition.as_deref().is_some_and(|d| d != "open");
                let exec = EXEC_EXT.iter().any(|e| lower.ends_with(e));
                let disk = !share.to_ascii_uppercase().ends_with("\\IPC$");
                if writes
                    && exec
                    && disk
                    && self.domain.is_dc(r.dst)
                    && self.on(D::AdminShareExecutable)
                    && !self.excluded(D::AdminShareExecutable, r.src, r.user.as_deref(), r.ts)
                {
                    let key = ip_pair_key(r);
                    let target = format!("{share}\\{path}");
                    let what = format!("wrote the executable {target} on a domain controller");
                    self.single(
                        sensor,
                        D::AdminShareExecutable,
                        &key,
                        r,
                        r.user.as_deref(),
                        Some(&target),
                        what,
                    );
                }
            }
            Some("close") => {
                let base = lower.rsplit(['\\', '/']).next().unwrap_or("");
                let read = r.bytes_read.unwrap_or(0);
                if SECRET_FILES.contains(&base)
                    && read as f64 >= self.th(D::SmbExfiltration, "bytes")
                    && self.domain.is_dc(r.dst)
                    && self.on(D::SmbExfiltration)
                    && !self.excluded(D::SmbExfiltration, r.src, r.user.as_deref(), r.ts)
                {
                    let key = ip_pair_key(r);
                    let target = format!("{share}\\{path}");
                    let what = format!("copied {target} ({read} bytes) from a domain controller");
                    self.single(
                        sensor,
                        D::SmbExfiltration,
                        &key,
                        r,
                        r.user.as_deref(),
                        Some(&target),
                        what,
                    );
                }
            }
            _ => {}
        }
    }
}
