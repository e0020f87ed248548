//! Detections on `dcerpc` records: DCSync and DCShadow, DPAPI backup keys, remote registry hive
//! saves, gMSA keys, SAM-R reconnaissance and group changes, session enumeration, remote code
//! execution, ZeroLogon, coercion and PrintNightmare, honeytokens in name lookups.

use super::{ip_key, ip_pair_key, ip_text, Seen};
use crate::detect::domain::SENSITIVE_RIDS;
use crate::detect::{Engine, Rec, D};
use std::fmt::Write;

/// The host named in a UNC path or a `\\host` argument.
fn unc_host(s: &str) -> Option<&str> {
    let rest = s.strip_prefix("\\\\").or_else(|| s.strip_prefix("//"))?;
    let h = rest.split(['\\', '/', '@']).next()?;
    (!h.is_empty()).then_some(h)
}

impl Engine {
    pub(in crate::detect) fn dcerpc(&mut self, sensor: &str, r: &Rec) {
        let Some(op) = r.operation.as_deref() else {
            return;
        };
        let iface = r.interface.as_deref().unwrap_or("");
        match iface {
            "drsuapi" => self.drsuapi(sensor, r, op),
            "samr" | "lsarpc" => self.samr_lsa(sensor, r, op),
            "srvsvc" | "wkssvc" if matches!(op, "NetrSessionEnum" | "NetrWkstaUserEnum") => {
                self.session_enum(sensor, r, op)
            }
            "netlogon" => self.netlogon(sensor, r, op),
            "bkrp" if op == "BackuprKey" => {
                let action = r.arg("action");
                if action.as_deref() == Some("retrieve_backup_key")
                    && self.on(D::DpapiBackupKey)
                    && !self.excluded(D::DpapiBackupKey, r.src, None, r.ts)
                {
                    let key = ip_key(r);
                    let what = "retrieved the domain's DPAPI backup key (BackuprKey), which decrypts every user's DPAPI secrets".to_string();
                    self.single(sensor, D::DpapiBackupKey, &key, r, None, None, what);
                }
            }
            "winreg"
                if op.starts_with("BaseRegSaveKey")
                    && self.on(D::RemoteRegistrySecrets)
                    && !self.excluded(D::RemoteRegistrySecrets, r.src, None, r.ts) =>
            {
                let hive = r.arg("key").unwrap_or_else(|| "an unread key".into());
                let key = ip_key(r);
                let what = format!(
                    "saved the registry hive {hive} of {} to a file over remote registry",
                    r.dst.map(ip_text).unwrap_or_default()
                );
                self.single(
                    sensor,
                    D::RemoteRegistrySecrets,
                    &key,
                    r,
                    None,
                    Some(&hive),
                    what,
                );
            }
            "gkdi" | "ISDKey"
                if op == "GetKey"
                    && !self.domain.is_dc(r.src)
                    && self.on(D::GmsaKeyRetrieval)
                    && !self.excluded(D::GmsaKeyRetrieval, r.src, None, r.ts) =>
            {
                let key = ip_key(r);
                let what = "asked a Group Key Distribution Service root key (GetKey), from which gMSA passwords are derived".to_string();
                self.single(sensor, D::GmsaKeyRetrieval, &key, r, None, None, what);
            }
            _ => {}
        }
        self.rce(sensor, r, iface, op);
        self.coercion(sensor, r, iface, op);
    }

    fn drsuapi(&mut self, sensor: &str, r: &Rec, op: &str) {
        if self.domain.is_dc(r.src) {
            return;
        }
        let (d, what) = match op {
            "DRSGetNCChanges" | "DRSReplicaSync" => {
                let exop = r.arg("extended_op").map(|e| format!(" ({e})")).unwrap_or_default();
                (D::Dcsync, format!("asked a domain controller to replicate directory data{exop}, as only domain controllers do"))
            }
            "DRSAddEntry" | "DRSReplicaAdd" => (D::Dcshadow, format!("called {op}, registering or adding a replication partner, as only domain controllers do")),
            _ => return,
        };
        if !self.on(d) || self.excluded(d, r.src, None, r.ts) {
            return;
        }
        let target = r
            .arg("naming_context")
            .or_else(|| r.arg("object"))
            .or_else(|| r.dst.map(ip_text));
        let key = ip_key(r);
        self.single(sensor, d, &key, r, None, target.as_deref(), what);
    }

    fn samr_lsa(&mut self, sensor: &str, r: &Rec, op: &str) {
        // the connection (source, source port, pipe), for the calls that open or use a group
        let conn = if op.starts_with("SamrOpen")
            || op.starts_with("SamrGetMembersIn")
            || op.starts_with("SamrAddMemberTo")
        {
            let mut conn = ip_key(r);
            conn.push('|');
            let _ = write!(conn, "{}", r.sport.unwrap_or(0));
            conn.push('|');
            conn.push_str(r.named_pipe.as_deref().unwrap_or(""));
            conn
        } else {
            String::new()
        };
        match op {
            "SamrOpenGroup" | "SamrOpenAlias" => {
                if let Some(rid) = r.arg_u64("rid") {
                    let s = self.rules.samr_open.entry(&conn, Seen::default);
                    s.last = r.ts;
                    s.value = rid;
                    s.flag = SENSITIVE_RIDS.contains(&rid);
                }
            }
            "SamrGetMembersInGroup" | "SamrGetMembersInAlias" => {
                let rid = self
                    .rules
                    .samr_open
                    .get(&conn)
                    .filter(|s| s.flag)
                    .map(|s| s.value);
                if let Some(rid) = rid {
                    if self.on(D::SamrReconnaissance)
                        && !self.domain.is_dc(r.src)
                        && !self.excluded(D::SamrReconnaissance, r.src, None, r.ts)
                    {
                        let key = ip_key(r);
                        let w = self.th(D::SamrReconnaissance, "window");
                        let target = format!("rid {rid}");
                        let (_, n) = self.tally(D::SamrReconnaissance, &key, w, Some(&target), r);
                        if n as f64 >= self.th(D::SamrReconnaissance, "lookups") {
                            let what =
                                "listed the members of sensitive groups over SAM-R".to_string();
                            self.raise_tally(sensor, D::SamrReconnaissance, &key, r, None, what);
                        }
                    }
                }
            }
            "SamrAddMemberToGroup" | "SamrAddMemberToAlias" => {
                let rid = self
                    .rules
                    .samr_open
                    .get(&conn)
                    .filter(|s| s.flag)
                    .map(|s| s.value);
                if let Some(rid) = rid {
                    if self.on(D::SensitiveGroupAddition)
                        && !self.excluded(D::SensitiveGroupAddition, r.src, None, r.ts)
                    {
                        let member = r
                            .arg("member")
                            .or_else(|| r.arg("rid"))
                            .unwrap_or_else(|| "a member".into());
                        let key = format!("{}|{rid}", ip_key(r));
                        let what = format!(
                            "added {member} to the sensitive group with rid {rid} over SAM-R"
                        );
                        self.single(
                            sensor,
                            D::SensitiveGroupAddition,
                            &key,
                            r,
                            None,
                            Some(&member),
                            what,
                        );
                    }
                }
            }
            "LsarRetrievePrivateData" | "LsarOpenSecret" => {
                let name = r.arg("name").unwrap_or_default();
                if name.to_ascii_uppercase().starts_with("G$BCKUPKEY")
                    && self.on(D::DpapiBackupKey)
                    && !self.excluded(D::DpapiBackupKey, r.src, None, r.ts)
                {
                    let key = ip_key(r);
                    let what = format!("read the LSA secret {name}, the domain's DPAPI backup key");
                    self.single(sensor, D::DpapiBackupKey, &key, r, None, Some(&name), what);
                }
            }
            _ => {}
        }
        if op.starts_with("SamrLookupNames") || op.starts_with("LsarLookupNames") {
            if let Some(serde_json::Value::Array(names)) = r.arg_value("names") {
                let names: Vec<String> = names
                    .iter()
                    .filter_map(|n| n.as_str().map(str::to_string))
                    .collect();
                for n in names {
                    self.honeytoken(sensor, r, &n, op);
                }
            }
        }
    }

    fn session_enum(&mut self, sensor: &str, r: &Rec, op: &str) {
        if !self.on(D::SmbSessionEnumeration)
            || self.domain.is_dc(r.src)
            || self.excluded(D::SmbSessionEnumeration, r.src, None, r.ts)
        {
            return;
        }
        let key = ip_key(r);
        let w = self.th(D::SmbSessionEnumeration, "window");
        let target = r.dst.map(ip_text);
        let (_, n) = self.tally(D::SmbSessionEnumeration, &key, w, target.as_deref(), r);
        if n as f64 >= self.th(D::SmbSessionEnumeration, "calls") {
            let what = format!("enumerated sessions and logged-on users ({op}), {n} call(s)");
            self.raise_tally(sensor, D::SmbSessionEnumeration, &key, r, None, what);
        }
    }

    fn netlogon(&mut self, sensor: &str, r: &Rec, op: &str) {
        if !self.on(D::Zerologon) || self.excluded(D::Zerologon, r.src, None, r.ts) {
            return;
        }
        let auth = op.starts_with("NetrServerAuthenticate");
        if !auth && op != "NetrServerPasswordSet2" {
            return;
        }
        let key = ip_pair_key(r);
        let account = r.arg_cow("account");
        if auth {
            match r.arg_bool("credential_zero") {
                Some(true) => {
                    let s = self.rules.zero_creds.entry(&key, Seen::default);
                    s.last = r.ts;
                    s.flag = true;
                    let mut what = String::with_capacity(128);
                    what.push_str(
                        "sent Netlogon authentications with an all-zero client credential",
                    );
                    if let Some(a) = account.as_deref() {
                        what.push_str(" for ");
                        what.push_str(a);
                    }
                    what.push_str(" (ZeroLogon)");
                    self.single(
                        sensor,
                        D::Zerologon,
                        &key,
                        r,
                        None,
                        account.as_deref(),
                        what,
                    );
                }
                Some(false) => {}
                None => {
                    // the credential is not in the record: a burst of authentications is the sign
                    let w = self.th(D::Zerologon, "window");
                    let (_, n) = self.tally(D::Zerologon, &key, w, account.as_deref(), r);
                    if n as f64 >= self.th(D::Zerologon, "attempts") {
                        let what = format!("sent {n} Netlogon authentications in a burst, as ZeroLogon tools do (the credentials were not readable)");
                        self.raise_tally(sensor, D::Zerologon, &key, r, None, what);
                    }
                }
            }
        } else if op == "NetrServerPasswordSet2"
            && self.rules.zero_creds.get(&key).is_some_and(|s| s.flag)
        {
            let ok = r
                .status
                .as_ref()
                .is_none_or(|s| s.is("STATUS_SUCCESS", 0) || s.is("0", 0));
            if ok && r.fault.is_none() {
                let what = "reset a machine account password with NetrServerPasswordSet2 after a zero-credential Netlogon authentication: ZeroLogon succeeded".to_string();
                self.single(
                    sensor,
                    D::Zerologon,
                    &key,
                    r,
                    None,
                    account.as_deref(),
                    what,
                );
            }
        }
    }

    fn rce(&mut self, sensor: &str, r: &Rec, iface: &str, op: &str) {
        let how = match (iface, op) {
            ("svcctl", o)
                if o.starts_with("RCreateService") || o.starts_with("RChangeServiceConfig") =>
            {
                let bin = r
                    .arg("binary_path")
                    .map(|b| format!(" running {b}"))
                    .unwrap_or_default();
                format!("created or changed a service{bin} ({op})")
            }
            ("tsch", "SchRpcRegisterTask") | ("atsvc", "JobAdd") => {
                let cmd = r
                    .arg("command")
                    .map(|c| format!(" running {c}"))
                    .unwrap_or_default();
                format!("registered a scheduled task{cmd} ({op})")
            }
            ("IWbemServices", "ExecMethod") => {
                let m = r.arg("method").unwrap_or_default();
                let c = r.arg("class").unwrap_or_default();
                if !(m.eq_ignore_ascii_case("Create") || c.eq_ignore_ascii_case("Win32_Process")) {
                    return;
                }
                format!("started a process over WMI ({c}.{m})")
            }
            (_, "RemoteCreateInstance") | (_, "RemoteActivation") => {
                format!("activated a DCOM object remotely ({iface} {op})")
            }
            _ => return,
        };
        if !self.on(D::RemoteCodeExecution)
            || self.excluded(D::RemoteCodeExecution, r.src, None, r.ts)
        {
            return;
        }
        let key = ip_pair_key(r);
        let target = self.domain.host_at_or_ip(r.dst, r.ts);
        let failed = if r.fault.is_some() {
            " (the call failed)"
        } else {
            ""
        };
        let what = format!("{how} on {}{failed}", target.as_deref().unwrap_or("?"));
        self.single(
            sensor,
            D::RemoteCodeExecution,
            &key,
            r,
            None,
            target.as_deref(),
            what,
        );
    }

    fn coercion(&mut self, sensor: &str, r: &Rec, iface: &str, op: &str) {
        let (d, arg, mdi_note) = match iface {
            "efsrpc" | "lsarpc" | "efsr" if op.starts_with("EfsRpc") => {
                (D::Coercion, "file_name", "MS-EFSR")
            }
            "spoolss" | "IRemoteWinspool"
                if op.starts_with("RpcRemoteFindFirstPrinterChangeNotification") =>
            {
                (D::Coercion, "local_machine", "MS-RPRN")
            }
            "netdfs" if op == "NetrDfsAddStdRoot" || op == "NetrDfsRemoveStdRoot" => {
                (D::Coercion, "server", "MS-DFSNM")
            }
            "fsrvp" | "FileServerVssAgent"
                if op == "IsPathSupported" || op == "IsPathShadowCopied" =>
            {
                (D::Coercion, "share_path", "MS-FSRVP")
            }
            "spoolss" | "IRemoteWinspool" if op.contains("AddPrinterDriver") => {
                (D::PrintNightmare, "driver_path", "MS-RPRN")
            }
            _ => return,
        };
        let named = r.arg(arg);
        let named_host = named.as_deref().and_then(unc_host).map(str::to_string);
        // with arguments: the host named must be another than the caller; without, the call
        // counts when it goes to a domain controller
        let suspicious = match (&named_host, d) {
            (Some(h), D::Coercion) => {
                r.src.map(ip_text).as_deref() != Some(h.as_str()) || self.domain.is_dc(r.dst)
            }
            (_, D::PrintNightmare) => self.domain.is_dc(r.dst) || named_host.is_some(),
            (None, _) => self.domain.is_dc(r.dst),
            _ => false,
        };
        if !suspicious || !self.on(d) || self.excluded(d, r.src, None, r.ts) {
            return;
        }
        let dst = self.domain.host_at_or_ip(r.dst, r.ts).unwrap_or_default();
        let key = ip_pair_key(r);
        let what =
            if d == D::PrintNightmare {
                format!(
                    "asked {dst} to install a printer driver ({op}{})",
                    named
                        .as_deref()
                        .map(|p| format!(" from {p}"))
                        .unwrap_or_default()
                )
            } else {
                format!(
                "called {op} ({mdi_note}) on {dst}{}, which makes it authenticate to another host",
                named_host.as_deref().map(|h| format!(" naming {h}")).unwrap_or_default()
            )
            };
        let target = named_host.clone().unwrap_or(dst);
        self.single(sensor, d, &key, r, None, Some(&target), what);
    }
}
