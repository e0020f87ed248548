//! The detections, grouped by the record type they read: each function looks at one record,
//! counts it where a threshold applies, and raises through [`Engine::raise`] or
//! [`Engine::raise_tally`]. The per-detection state beyond tallies (baselines, open handles) is
//! in [`State`], every table capped.

mod dcerpc;
mod kerberos;
mod other;

use super::table::{Capped, Touched};
use super::{Engine, Rec, D};
use std::fmt::Write;
use std::net::IpAddr;

/// A remembered fact with the time it was last seen.
#[derive(Debug, Clone, Default)]
pub(super) struct Seen {
    pub last: f64,
    pub value: u64,
    pub flag: bool,
}

impl Touched for Seen {
    fn last(&self) -> f64 {
        self.last
    }
}

/// State of the detections that is not a windowed tally.
pub(super) struct State {
    /// pass_the_hash: account and host pairs seen with NTLM.
    pub ntlm_pairs: Capped<Seen>,
    /// When the NTLM baseline started (record time).
    pub ntlm_since: Option<f64>,
    /// ntlm_tampering: sources that sent a MIC before.
    pub mic_senders: Capped<Seen>,
    /// skeleton_key: DC and account pairs offered AES in PREAUTH_REQUIRED.
    pub aes_offers: Capped<Seen>,
    /// samr: the sensitive group or alias opened on a connection (rid).
    pub samr_open: Capped<Seen>,
    /// zerologon: sources that sent a zero credential.
    pub zero_creds: Capped<Seen>,
    /// Alerts other engines opened (several centers), by detection and key.
    pub elsewhere: Capped<Elsewhere>,
}

/// An alert another engine opened: its id, first and last time and source.
pub(in crate::detect) struct Elsewhere {
    pub id: String,
    pub ts: f64,
    pub last_ts: f64,
    pub source: crate::detect::Source,
}

impl Touched for Elsewhere {
    fn last(&self) -> f64 {
        self.last_ts
    }
}

impl State {
    pub fn new(cap: usize) -> Self {
        State {
            ntlm_pairs: Capped::new(cap),
            ntlm_since: None,
            mic_senders: Capped::new(cap),
            aes_offers: Capped::new(cap),
            samr_open: Capped::new(cap),
            zero_creds: Capped::new(cap),
            elsewhere: Capped::new(cap),
        }
    }

    fn tables(&self) -> [&Capped<Seen>; 5] {
        [
            &self.ntlm_pairs,
            &self.mic_senders,
            &self.aes_offers,
            &self.samr_open,
            &self.zero_creds,
        ]
    }

    /// Takes a fact another engine learned (see [`crate::detect::Fact`]).
    pub fn absorb(&mut self, f: &crate::detect::Fact) {
        use crate::detect::Fact;
        match f {
            Fact::MicSender { key, ts } => {
                let s = self.mic_senders.entry(key, Seen::default);
                s.last = s.last.max(*ts);
                s.flag = true;
            }
            Fact::NtlmPair { key, ts } => {
                let s = self.ntlm_pairs.entry(key, Seen::default);
                s.last = s.last.max(*ts);
            }
            Fact::NtlmSince { ts } => {
                let since = self.ntlm_since.get_or_insert(*ts);
                *since = since.min(*ts);
            }
            Fact::Opened {
                key,
                id,
                ts,
                last_ts,
                source,
            } => {
                let fresh = || Elsewhere {
                    id: id.clone(),
                    ts: *ts,
                    last_ts: *last_ts,
                    source: source.clone(),
                };
                let e = self.elsewhere.entry(key, fresh);
                if e.id == *id {
                    e.last_ts = e.last_ts.max(*last_ts);
                } else if *ts >= e.ts {
                    // a later alert of the same detection and key (the first one closed)
                    *e = fresh();
                }
            }
            _ => {}
        }
    }

    pub fn evictions(&self) -> u64 {
        self.tables().iter().map(|t| t.evictions).sum::<u64>() + self.elsewhere.evictions
    }

    pub fn entries(&self) -> usize {
        self.tables().iter().map(|t| t.len()).sum::<usize>() + self.elsewhere.len()
    }

    pub fn largest(&self) -> usize {
        self.tables().iter().map(|t| t.len()).max().unwrap_or(0)
    }
}

/// Each octet's decimal text (table keys are made for most records: no formatting, no text
/// checked as it is made).
static OCTET_TEXT: [&str; 256] = {
    let mut t = [""; 256];
    let mut i = 0;
    while i < 256 {
        let (digits, n) = &crate::record::OCTETS[i];
        t[i] = match std::str::from_utf8(digits.split_at(*n as usize).0) {
            Ok(s) => s,
            Err(_) => panic!("an octet's digits are ASCII"),
        };
        i += 1;
    }
    t
};

/// Writes an address as its `Display` does (IPv4 without the formatting machinery: table keys
/// are made for most records), or `none` when there is no address.
pub(in crate::detect) fn push_ip(k: &mut String, ip: Option<IpAddr>, none: &str) {
    match ip {
        Some(IpAddr::V4(a)) => {
            let [o1, o2, o3, o4] = a.octets().map(|o| OCTET_TEXT[usize::from(o)]);
            k.reserve(o1.len() + o2.len() + o3.len() + o4.len() + 3);
            for (i, o) in [o1, o2, o3, o4].into_iter().enumerate() {
                if i > 0 {
                    k.push('.');
                }
                k.push_str(o);
            }
        }
        Some(ip) => {
            let _ = write!(k, "{ip}");
        }
        None => k.push_str(none),
    }
}

/// An address as text, as its `Display` writes it (without the formatting machinery for IPv4).
pub(in crate::detect) fn ip_text(ip: IpAddr) -> String {
    let mut s = String::with_capacity(15);
    push_ip(&mut s, Some(ip), "");
    s
}

/// The source address (or `-`) as a table key.
pub(super) fn ip_key(r: &Rec) -> String {
    let mut k = String::with_capacity(48);
    push_ip(&mut k, r.src, "-");
    k
}

/// `<source>|<rest>` as a table key.
pub(super) fn ip_key_and(r: &Rec, rest: &str) -> String {
    let mut k = String::with_capacity(48 + rest.len());
    push_ip(&mut k, r.src, "-");
    k.push('|');
    k.push_str(rest);
    k
}

/// `<source>|<rest in lower case>` as a table key.
pub(super) fn ip_key_lower(r: &Rec, rest: &str) -> String {
    let mut k = String::with_capacity(48 + rest.len());
    push_ip(&mut k, r.src, "-");
    k.push('|');
    k.extend(rest.chars().map(|c| c.to_ascii_lowercase()));
    k
}

/// `<source>|<destination or nothing>` as a table key.
pub(super) fn ip_pair_key(r: &Rec) -> String {
    let mut k = String::with_capacity(48);
    push_ip(&mut k, r.src, "-");
    k.push('|');
    push_ip(&mut k, r.dst, "");
    k
}

/// Whether etypes offer RC4 first or alone and no AES ahead of it.
pub(super) fn rc4_first(etypes: &[i32]) -> bool {
    etypes.first() == Some(&23)
}

/// Whether no AES type is offered.
pub(super) fn no_aes(etypes: &[i32]) -> bool {
    !etypes.is_empty() && !etypes.iter().any(|&e| super::domain::is_aes(e))
}

impl Engine {
    /// A failed logon (Kerberos, NTLM, LDAP simple bind) for `account`: brute force per source
    /// and account, password spray per source.
    pub(super) fn failed_logon(&mut self, sensor: &str, r: &Rec, account: &str, how: &str) {
        let account = super::config::bare_account(account);
        if account.is_empty() {
            return;
        }
        if self.on(D::BruteForce) && !self.excluded(D::BruteForce, r.src, Some(account), r.ts) {
            let key = ip_key_lower(r, account);
            let w = self.th(D::BruteForce, "window");
            let (_, n) = self.tally(D::BruteForce, &key, w, Some(account), r);
            if n as f64 >= self.th(D::BruteForce, "failures") {
                let what = format!("failed {n} {how} logons for {account}");
                self.raise_tally(sensor, D::BruteForce, &key, r, Some(account), what);
            }
        }
        if self.on(D::PasswordSpray) && !self.excluded(D::PasswordSpray, r.src, None, r.ts) {
            let key = ip_key(r);
            let w = self.th(D::PasswordSpray, "window");
            let (distinct, _) = self.tally(D::PasswordSpray, &key, w, Some(account), r);
            if distinct as f64 >= self.th(D::PasswordSpray, "accounts") {
                let what = format!("failed {how} logons for {distinct} different accounts");
                self.raise_tally(sensor, D::PasswordSpray, &key, r, None, what);
            }
        }
    }

    /// Any use of a configured honeytoken.
    pub(super) fn honeytoken(&mut self, sensor: &str, r: &Rec, name: &str, how: &str) {
        if !self.domain.has_honeytokens() || !self.on(D::HoneytokenActivity) {
            return;
        }
        let Some(token) = self.domain.honeytoken(name).map(str::to_string) else {
            return;
        };
        if self.excluded(D::HoneytokenActivity, r.src, Some(&token), r.ts) {
            return;
        }
        let key = ip_key_lower(r, &token);
        let w = f64::INFINITY;
        self.tally(D::HoneytokenActivity, &key, w, Some(&token), r);
        let what = format!("used the honeytoken account {token} ({how})");
        self.raise_tally(sensor, D::HoneytokenActivity, &key, r, None, what);
    }

    /// An alert raised by a single kind of record (no threshold): grouped by `key`, every
    /// further record updates it.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn single(
        &mut self,
        sensor: &str,
        d: D,
        key: &str,
        r: &Rec,
        user: Option<&str>,
        target: Option<&str>,
        what: String,
    ) {
        self.tally(d, key, f64::INFINITY, target, r);
        self.raise_tally(sensor, d, key, r, user, what);
    }
}
