//! Detections on `kerberos` records: account enumeration, Kerberoasting, AS-REP roasting, brute
//! force and spray, overpass-the-hash, pass-the-ticket, golden and silver tickets, skeleton key,
//! S4U delegation, PKINIT certificates for another principal, honeytokens.

use super::{ip_key, ip_key_and, ip_key_lower, ip_text, no_aes, rc4_first, Seen};
use crate::detect::config::bare_account;
use crate::detect::tickets::Ticket;
use crate::detect::{Engine, Evid, Hit, Rec, D};

fn err_is(r: &Rec, name: &str, num: i64) -> bool {
    r.error.as_ref().is_some_and(|e| e.is(name, num))
}

impl Engine {
    pub(in crate::detect) fn kerberos(&mut self, sensor: &str, r: &Rec) {
        let req = r.request.as_deref().unwrap_or("");
        if let Some(c) = r.client.as_deref() {
            if self.domain.has_honeytokens() {
                self.honeytoken(sensor, r, c, "Kerberos");
            }
        }
        match req {
            "AS-REQ" => self.as_req(sensor, r),
            "TGS-REQ" => self.tgs_req(sensor, r),
            "AP-REQ" => self.presented(sensor, r, false),
            _ => {}
        }
        if let Some(hash) = r.ticket_hash.as_deref() {
            if matches!(r.reply.as_deref(), Some("AS-REP") | Some("TGS-REP")) {
                if let Some(src) = r.src {
                    let t = Ticket {
                        ts: r.ts,
                        addr: src,
                        issued: true,
                        client: r.client.clone(),
                        service: r.service.clone(),
                        kdc: r.dst,
                        sensor: sensor.to_string(),
                    };
                    self.tickets.put(hash, t);
                }
            }
        }
    }

    fn as_req(&mut self, sensor: &str, r: &Rec) {
        let client = r.client.as_deref().unwrap_or("");
        if err_is(r, "KDC_ERR_C_PRINCIPAL_UNKNOWN", 6)
            && self.on(D::AccountEnumeration)
            && !self.excluded(D::AccountEnumeration, r.src, None, r.ts)
        {
            let key = ip_key(r);
            let w = self.th(D::AccountEnumeration, "window");
            let (n, _) = self.tally(D::AccountEnumeration, &key, w, Some(client), r);
            if n as f64 >= self.th(D::AccountEnumeration, "unknown_names") {
                let what = format!("asked the KDC about {n} account names that do not exist");
                self.raise_tally(sensor, D::AccountEnumeration, &key, r, None, what);
            }
        }
        if err_is(r, "KDC_ERR_PREAUTH_FAILED", 24) {
            self.failed_logon(sensor, r, client, "Kerberos");
        }
        let no_preauth =
            !r.preauth.contains(&2) && !r.preauth.contains(&16) && !r.preauth.contains(&17);
        // an AES-capable client meeting an account without pre-authentication counts only where
        // the KDC was seen requiring it of others (MIT realms do not by default)
        let aes_counts =
            no_aes(&r.etypes) || r.dst.is_some_and(|d| self.domain.preauth_kdcs.contains(&d));
        if no_preauth
            && aes_counts
            && r.reply.as_deref() == Some("AS-REP")
            && self.on(D::AsrepRoasting)
            && !self.excluded(D::AsrepRoasting, r.src, None, r.ts)
        {
            // roasting tools ask RC4 alone (fastest to crack); a client offering AES that meets
            // an account without pre-authentication counts only in numbers
            let (key, th) = if no_aes(&r.etypes) {
                (ip_key(r), "accounts")
            } else {
                (ip_key_and(r, "aes"), "aes_accounts")
            };
            let w = self.th(D::AsrepRoasting, "window");
            let (n, _) = self.tally(D::AsrepRoasting, &key, w, Some(client), r);
            if n as f64 >= self.th(D::AsrepRoasting, th) {
                let what = format!("obtained AS-REPs without pre-authentication (crackable offline) for {n} account(s)");
                self.raise_tally(sensor, D::AsrepRoasting, &key, r, None, what);
            }
        }
        if r.preauth_etype == Some(23)
            && no_aes(&r.etypes)
            && r.error.is_none()
            && self.on(D::OverpassTheHash)
        {
            let aes_realm = self.realm_is_aes(r.realm.as_deref());
            if aes_realm && !self.excluded(D::OverpassTheHash, r.src, Some(client), r.ts) {
                let key = ip_key_lower(r, client);
                let what = format!("logged on to Kerberos as {client} with an RC4 key alone, no AES type offered, in a realm whose clients use AES");
                self.single(
                    sensor,
                    D::OverpassTheHash,
                    &key,
                    r,
                    Some(client),
                    Some(client),
                    what,
                );
            }
        }
        // skeleton key: an account offered AES before, now RC4 only, to a client asking AES
        if err_is(r, "KDC_ERR_PREAUTH_REQUIRED", 25) && !r.error_etypes.is_empty() {
            let key = format!(
                "{}|{}",
                r.dst.map(ip_text).unwrap_or_default(),
                client.to_ascii_lowercase()
            );
            let offered_aes = r
                .error_etypes
                .iter()
                .any(|&e| crate::detect::domain::is_aes(e));
            let asked_aes = r.etypes.iter().any(|&e| crate::detect::domain::is_aes(e));
            if offered_aes {
                let s = self.rules.aes_offers.entry(&key, Seen::default);
                s.last = r.ts;
                s.flag = true;
            } else if asked_aes
                && self.on(D::SkeletonKey)
                && self.rules.aes_offers.get(&key).is_some_and(|s| s.flag)
            {
                let dc = r.dst.map(ip_text).unwrap_or_default();
                let what = format!("(a domain controller) offered only RC4 pre-authentication for {client}, which it offered AES before: its KDC may be patched (skeleton key)");
                let hit_key = format!("dc|{dc}");
                if !self.excluded(D::SkeletonKey, r.dst, None, r.ts) {
                    self.tally(D::SkeletonKey, &hit_key, f64::INFINITY, Some(client), r);
                    // the actor is the domain controller that answered
                    let mut rr = r.clone();
                    std::mem::swap(&mut rr.src, &mut rr.dst);
                    self.raise_tally(sensor, D::SkeletonKey, &hit_key, &rr, None, what);
                }
            }
        }
        for san in &r.pkinit_san {
            let Some((user, _)) = san.split_once('@') else {
                continue;
            };
            if !user.eq_ignore_ascii_case(bare_account(client))
                && self.on(D::CertificateAbuse)
                && !self.excluded(D::CertificateAbuse, r.src, Some(client), r.ts)
            {
                let key = format!(
                    "{}|{}|{}",
                    ip_key(r),
                    client.to_ascii_lowercase(),
                    san.to_ascii_lowercase()
                );
                let what = format!("logged on with PKINIT as {client} using a certificate whose subject alternative name is {san}");
                self.single(
                    sensor,
                    D::CertificateAbuse,
                    &key,
                    r,
                    Some(client),
                    Some(san),
                    what,
                );
            }
        }
    }

    fn tgs_req(&mut self, sensor: &str, r: &Rec) {
        let client = r.client.as_deref();
        let service = r.service.as_deref().unwrap_or("");
        if rc4_first(&r.etypes)
            && !service.to_ascii_lowercase().starts_with("krbtgt")
            && !service.is_empty()
            && r.s4u_user.is_none()
            && self.on(D::Kerberoasting)
            && !self.excluded(D::Kerberoasting, r.src, client, r.ts)
        {
            let key = ip_key(r);
            let w = self.th(D::Kerberoasting, "window");
            let (n, _) = self.tally(D::Kerberoasting, &key, w, Some(service), r);
            if n as f64 >= self.th(D::Kerberoasting, "services") {
                let what = format!("asked service tickets offering RC4 first for {n} services");
                self.raise_tally(sensor, D::Kerberoasting, &key, r, client, what);
            }
        }
        self.golden_ticket(sensor, r);
        if let Some(u) = r.s4u_user.as_deref() {
            if self.domain.has_honeytokens() {
                self.honeytoken(sensor, r, u, "S4U2self");
            }
            if self.domain.is_sensitive_account(u)
                && self.on(D::DelegationAbuse)
                && !self.excluded(D::DelegationAbuse, r.src, client, r.ts)
            {
                let key = format!("{}|s4u|{}", ip_key(r), u.to_ascii_lowercase());
                let what = format!("asked a ticket on behalf of the sensitive account {u} (S4U2self) for {service}");
                self.single(sensor, D::DelegationAbuse, &key, r, client, Some(u), what);
            }
        }
        self.presented(sensor, r, true);
    }

    /// Whether a realm's clients use AES: learned once enough of its AS-REQs were seen, assumed
    /// before.
    fn realm_is_aes(&self, realm: Option<&str>) -> bool {
        let u = realm.and_then(|x| self.domain.realms.get(&x.to_ascii_uppercase()).copied());
        match u {
            Some(u) if u.requests as f64 >= self.th(D::OverpassTheHash, "min_samples") => {
                u.aes as f64 / u.requests as f64 >= self.th(D::OverpassTheHash, "aes_share")
            }
            _ => true,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn golden(
        &mut self,
        sensor: &str,
        key: &str,
        r: &Rec,
        user: Option<&str>,
        target: Option<&str>,
        what: String,
        mdi: u32,
    ) {
        self.tally(D::GoldenTicket, key, f64::INFINITY, target, r);
        let Some(t) = self.tables[D::GoldenTicket as usize].get_mut(key) else {
            return;
        };
        let first = !t.raised;
        t.raised = true;
        let targets = t.targets.clone();
        let (first_ts, distinct, n) = (t.start, t.distinct, t.n);
        let ev = Evid::of(t, first, r);
        let hit = Hit {
            d: D::GoldenTicket,
            key,
            first_ts,
            src: r.src,
            user,
            targets: &targets,
            new_from: 0,
            distinct,
            what,
            mdi: Some(mdi),
        };
        self.raise(sensor, hit, ev, if first { n } else { 1 });
    }

    /// A ticket presented (the TGT of a TGS-REQ, the ticket of an AP-REQ).
    fn presented(&mut self, sensor: &str, r: &Rec, tgt: bool) {
        let (Some(hash), Some(src)) = (r.presented_hash.as_deref(), r.src) else {
            return;
        };
        match self.tickets.get(hash) {
            Some(t) if t.addr != src => {
                if self.on(D::PassTheTicket)
                    && !self.excluded(D::PassTheTicket, r.src, t.client.as_deref(), r.ts)
                {
                    let owner = t.client.clone();
                    let what_ticket = if tgt { "a TGT" } else { "a service ticket" };
                    let how = if t.issued {
                        "issued to"
                    } else {
                        "first used from"
                    };
                    let what = format!(
                        "presented {what_ticket}{} {how} another host, {} (seen by sensor {})",
                        owner
                            .as_deref()
                            .map(|o| format!(" of {o}"))
                            .unwrap_or_default(),
                        t.addr,
                        t.sensor
                    );
                    let key = hash.to_string();
                    let target = r.service.clone().or_else(|| t.service.clone());
                    self.single(
                        sensor,
                        D::PassTheTicket,
                        &key,
                        r,
                        owner.as_deref(),
                        target.as_deref(),
                        what,
                    );
                }
            }
            Some(_) => {}
            None => {
                if !tgt {
                    self.silver_ticket(sensor, r);
                }
                let t = Ticket {
                    ts: r.ts,
                    addr: src,
                    issued: false,
                    client: r.client.clone(),
                    service: r.service.clone(),
                    kdc: None,
                    sensor: sensor.to_string(),
                };
                self.tickets.put(hash, t);
            }
        }
    }

    /// Whether a presented ticket that no watched KDC issued counts as forged: once the KDC was
    /// watched longer than a ticket lives (or in test mode), and no ticket of that age was evicted.
    fn unseen_is_forged(&self, r: &Rec, d: D) -> bool {
        let Some(hash) = r.presented_hash.as_deref() else {
            return false;
        };
        if !self.on(d) || self.tickets_known(hash) {
            return false;
        }
        if self.tuning.test_mode(d) {
            return true;
        }
        let life = self.th(d, "ticket_lifetime");
        let since = r
            .dst
            .and_then(|k| self.domain.kdc_since.get(&k).copied())
            .or_else(|| self.domain.kdc_since.values().copied().reduce(f64::min));
        let watched = since.is_some_and(|s| r.ts - s >= life);
        let evicted = self
            .tickets
            .last_eviction()
            .is_some_and(|e| r.ts - e < life);
        watched && !evicted
    }

    fn tickets_known(&self, hash: &str) -> bool {
        self.tickets.contains(hash)
    }

    /// A TGS-REQ presenting a TGT that only a forger makes: for an account the KDC does not know,
    /// in RC4 where the realm issues AES, or never issued by a watched KDC. One alert per ticket,
    /// every reason in it.
    fn golden_ticket(&mut self, sensor: &str, r: &Rec) {
        if !self.on(D::GoldenTicket) {
            return;
        }
        let client = r.client.as_deref();
        let mut reasons: Vec<(u32, String)> = Vec::new();
        if err_is(r, "KDC_ERR_C_PRINCIPAL_UNKNOWN", 6) {
            reasons.push((2027, "for an account the KDC does not know".into()));
        }
        if r.presented_etype == Some(23) && self.realm_is_aes(r.realm.as_deref()) {
            reasons.push((
                2009,
                "encrypted with RC4 in a realm that issues AES tickets".into(),
            ));
        }
        if self.unseen_is_forged(r, D::GoldenTicket) {
            reasons.push((2032, "that no watched KDC issued".into()));
        }
        if reasons.is_empty() || self.excluded(D::GoldenTicket, r.src, client, r.ts) {
            return;
        }
        let service = r.service.as_deref().unwrap_or("?");
        let ticket = r.presented_hash.as_deref().or(client).unwrap_or("?");
        let key = ip_key_lower(r, ticket);
        let why: Vec<&str> = reasons.iter().map(|x| x.1.as_str()).collect();
        let what = format!(
            "presented a TGT{} {}, asking for {service}",
            client.map(|c| format!(" of {c}")).unwrap_or_default(),
            why.join(" and ")
        );
        let target = client.unwrap_or(service).to_string();
        self.golden(sensor, &key, r, client, Some(&target), what, reasons[0].0);
    }

    /// An AP-REQ presenting a service ticket that no watched KDC issued.
    fn silver_ticket(&mut self, sensor: &str, r: &Rec) {
        if !self.unseen_is_forged(r, D::SilverTicket)
            || self.excluded(D::SilverTicket, r.src, None, r.ts)
        {
            return;
        }
        let service = r.service.as_deref().unwrap_or("?");
        let key = ip_key_lower(r, service);
        let etype = r
            .ticket_etype
            .map(|e| format!(" (etype {e})"))
            .unwrap_or_default();
        let what =
            format!("presented a service ticket for {service}{etype} that no watched KDC issued");
        self.single(sensor, D::SilverTicket, &key, r, None, Some(service), what);
    }
}
