//! One test per detection without a lab scenario (and the variants the lab cannot show), on
//! records in the shape of RECORDS.md, with the fields issue 11 adds (`args`, `status`, LDAP
//! `op`/`filter`/`changes`, SMB `access`/`close`, Kerberos `presented_etype`/`s4u_user`/`pkinit_*`,
//! NTLM `target_name`).

use super::tests::rec;
use super::*;
use serde_json::{json, Value};

const DC: &str = "10.1.0.1";
const WS: &str = "10.1.0.50";

fn tuned(extra: &str) -> Engine {
    Engine::from_toml(&format!(
        "[detect]\ndomain_controllers = [\"{DC}\"]\n{extra}"
    ))
    .unwrap()
}

fn run(e: &mut Engine, recs: &[Value]) -> Vec<Alert> {
    let mut out = Vec::new();
    for r in recs {
        out.extend(e.feed("s1", &std::sync::Arc::new(rec(r.clone()))));
    }
    out.extend(e.flush());
    out
}

fn one(alerts: &[Alert], det: &str) -> Alert {
    let v: Vec<&Alert> = alerts.iter().filter(|a| a.detection == det).collect();
    assert!(
        !v.is_empty(),
        "no {det} in {:?}",
        alerts.iter().map(|a| &a.detection).collect::<Vec<_>>()
    );
    v.last().unwrap().to_owned().clone()
}

fn rpc(ts: f64, src: &str, iface: &str, op: &str, args: Value) -> Value {
    json!({"ts": ts, "type": "dcerpc", "src": src, "sport": 50000, "dst": DC, "dport": 445, "proto": "tcp",
        "interface": iface, "operation": op, "named_pipe": format!("\\pipe\\{iface}"), "args": args})
}

#[test]
fn dpapi_backup_key_retrieval() {
    let mut e = tuned("");
    let a = run(
        &mut e,
        &[rpc(
            1.0,
            WS,
            "bkrp",
            "BackuprKey",
            json!({"action": "retrieve_backup_key"}),
        )],
    );
    let a = one(&a, "dpapi_backup_key");
    assert_eq!(a.mdi_id, Some(2020));
    assert_eq!(a.source.ip.as_deref(), Some(WS));
    // the protect action (ordinary clients) raises nothing
    let mut e = tuned("");
    assert!(run(
        &mut e,
        &[rpc(
            1.0,
            WS,
            "bkrp",
            "BackuprKey",
            json!({"action": "backup"})
        )]
    )
    .is_empty());
    let mut e = tuned("");
    let a = run(
        &mut e,
        &[rpc(
            1.0,
            WS,
            "lsarpc",
            "LsarRetrievePrivateData",
            json!({"name": "G$BCKUPKEY_PREFERRED"}),
        )],
    );
    one(&a, "dpapi_backup_key");
}

#[test]
fn honeytokens_in_kerberos_ntlm_ldap_and_lookups() {
    let cfg = "honeytokens = [\"svc_decoy\"]\n";
    let mut e = tuned(cfg);
    let a = run(
        &mut e,
        &[
            json!({"ts": 1.0, "type": "kerberos", "src": WS, "dst": DC, "request": "AS-REQ", "client": "svc_decoy", "realm": "EX.ORG", "reply": "KRB-ERROR", "error": "KDC_ERR_PREAUTH_REQUIRED"}),
        ],
    );
    assert_eq!(one(&a, "honeytoken_activity").targets, ["svc_decoy"]);
    let mut e = tuned(cfg);
    let a = run(
        &mut e,
        &[
            json!({"ts": 1.0, "type": "ntlm", "src": WS, "dst": DC, "user": "SVC_DECOY", "domain": "EX", "version": "NTLMv2"}),
        ],
    );
    one(&a, "honeytoken_activity");
    let mut e = tuned(cfg);
    let a = run(
        &mut e,
        &[rpc(
            1.0,
            WS,
            "samr",
            "SamrLookupNamesInDomain",
            json!({"names": ["alice", "svc_decoy"], "count": 2}),
        )],
    );
    one(&a, "honeytoken_activity");
    let mut e = tuned(cfg);
    assert!(run(&mut e, &[json!({"ts": 1.0, "type": "ntlm", "src": WS, "dst": DC, "user": "alice", "version": "NTLMv2"})]).is_empty());
}

#[test]
fn remote_registry_hive_save_and_gmsa_key() {
    let mut e = tuned("");
    let a = run(
        &mut e,
        &[rpc(
            1.0,
            WS,
            "winreg",
            "BaseRegSaveKey",
            json!({"key": "HKLM\\SAM", "file": "C:\\Windows\\Temp\\s"}),
        )],
    );
    assert_eq!(one(&a, "remote_registry_secrets").targets, ["HKLM\\SAM"]);
    let mut e = tuned("");
    let a = run(&mut e, &[rpc(1.0, WS, "gkdi", "GetKey", json!({}))]);
    one(&a, "gmsa_key_retrieval");
    // from a domain controller: nothing
    let mut e = tuned("");
    assert!(run(&mut e, &[rpc(1.0, DC, "gkdi", "GetKey", json!({}))]).is_empty());
}

#[test]
fn dcsync_from_a_dc_is_replication_and_dcshadow_from_a_host_is_not() {
    let mut e = tuned("");
    assert!(run(
        &mut e,
        &[rpc(1.0, DC, "drsuapi", "DRSGetNCChanges", json!({}))]
    )
    .is_empty());
    let mut e = tuned("");
    let a = run(
        &mut e,
        &[rpc(
            1.0,
            WS,
            "drsuapi",
            "DRSAddEntry",
            json!({"object": "CN=NTDS Settings,CN=WS,CN=Servers"}),
        )],
    );
    assert_eq!(one(&a, "dcshadow").mdi_id, Some(2028));
    let mut e = tuned("");
    let a = run(
        &mut e,
        &[
            json!({"ts": 1.0, "type": "ldap", "src": WS, "dst": DC, "proto": "tcp", "op": "add", "dn": "CN=NTDS Settings,CN=ROGUE,CN=Servers,CN=Default-First-Site-Name,CN=Sites,CN=Configuration,DC=ex,DC=org", "result": "success"}),
        ],
    );
    one(&a, "dcshadow");
}

#[test]
fn dcsync_exclusion_by_subnet_and_account_at_runtime() {
    let mut e = tuned("");
    let first = run(
        &mut e,
        &[rpc(1.0, WS, "drsuapi", "DRSGetNCChanges", json!({}))],
    );
    assert_eq!(first.len(), 1);
    // the console adds "exclude this source from dcsync": a new tuning, no restart
    let mut t = e.tuning().clone();
    t.det[D::Dcsync as usize].exclude.subnets =
        config::Subnets(vec![config::parse_subnet("10.1.0.0/24").unwrap()]);
    e.set_tuning(t);
    assert!(run(
        &mut e,
        &[rpc(100.0, WS, "drsuapi", "DRSGetNCChanges", json!({}))]
    )
    .is_empty());
    assert_eq!(e.counters().excluded, 1);
    // bulk lists in TOML
    let mut e = tuned("[detect.dcsync]\nexclude_hosts = [\"aadconnect\"]\nexclude_subnets = [\"192.0.2.0/24\", \"2001:db8::/32\"]\n");
    let named = json!({"ts": 0.5, "type": "ntlm", "src": WS, "dst": DC, "user": "MSOL_1", "workstation": "AADCONNECT", "version": "NTLMv2", "success": true});
    assert!(run(
        &mut e,
        &[named, rpc(1.0, WS, "drsuapi", "DRSGetNCChanges", json!({}))]
    )
    .iter()
    .all(|a| a.detection != "dcsync"));
}

#[test]
fn samr_sensitive_group_members_and_additions() {
    let mut e = tuned("");
    let a = run(
        &mut e,
        &[
            rpc(1.0, WS, "samr", "SamrOpenGroup", json!({"rid": 512})),
            rpc(1.1, WS, "samr", "SamrGetMembersInGroup", json!({})),
        ],
    );
    assert_eq!(one(&a, "samr_reconnaissance").mdi_id, Some(2021));
    let mut e = tuned("");
    assert!(
        run(
            &mut e,
            &[
                rpc(1.0, WS, "samr", "SamrOpenGroup", json!({"rid": 1105})),
                rpc(1.1, WS, "samr", "SamrGetMembersInGroup", json!({}))
            ]
        )
        .is_empty(),
        "an ordinary group"
    );
    let mut e = tuned("");
    let a = run(
        &mut e,
        &[
            rpc(1.0, WS, "samr", "SamrOpenAlias", json!({"rid": 544})),
            rpc(
                1.1,
                WS,
                "samr",
                "SamrAddMemberToAlias",
                json!({"member": "S-1-5-21-1-2-3-1107"}),
            ),
        ],
    );
    assert_eq!(
        one(&a, "sensitive_group_addition").targets,
        ["S-1-5-21-1-2-3-1107"]
    );
    let mut e = tuned("");
    let a = run(
        &mut e,
        &[
            json!({"ts": 1.0, "type": "ldap", "src": WS, "dst": DC, "op": "modify", "dn": "CN=Domain Admins,CN=Users,DC=ex,DC=org", "changes": ["add member"], "result": "success"}),
        ],
    );
    assert_eq!(
        one(&a, "sensitive_group_addition").targets,
        ["Domain Admins"]
    );
    let mut e = tuned("sensitive_groups = [\"Tier0 Operators\"]\n");
    let a = run(
        &mut e,
        &[
            json!({"ts": 1.0, "type": "ldap", "src": WS, "dst": DC, "op": "modify", "dn": "CN=Tier0 Operators,OU=Groups,DC=ex,DC=org", "changes": ["add member"], "result": "success"}),
        ],
    );
    one(&a, "sensitive_group_addition");
}

#[test]
fn ldap_reconnaissance_counts_kinds_of_queries() {
    let q = |ts: f64, f: &str| json!({"ts": ts, "type": "ldap", "src": WS, "dst": DC, "proto": "tcp", "op": "search", "base": "DC=ex,DC=org", "scope": "sub", "filter": f, "entries": 10});
    let mut e = tuned("");
    let a = run(
        &mut e,
        &[
            q(1.0, "(&(objectCategory=person)(objectClass=user))"),
            q(2.0, "(objectClass=group)"),
            q(3.0, "(&(samAccountType=805306368)(servicePrincipalName=*))"),
            q(4.0, "(objectClass=trustedDomain)"),
        ],
    );
    let a = one(&a, "ldap_reconnaissance");
    assert_eq!(a.mdi_id, Some(2038));
    assert!(
        a.targets.contains(&"spns".to_string()) && a.targets.contains(&"trusts".to_string()),
        "{:?}",
        a.targets
    );
    let mut e = tuned("");
    assert!(
        run(
            &mut e,
            &[
                q(1.0, "(sAMAccountName=alice)"),
                q(2.0, "(objectClass=group)")
            ]
        )
        .is_empty(),
        "a logon's own queries"
    );
}

#[test]
fn cldap_pings_and_ntlm_unknown_users_are_account_enumeration() {
    let mut e = tuned("[detect.account_enumeration]\nunknown_names = 3\n");
    let ping = |ts: f64, u: &str| json!({"ts": ts, "type": "ldap", "src": WS, "dst": DC, "proto": "udp", "op": "search", "filter": format!("(&(DnsDomain=ex.org)(User={u})(NtVer=\\06\\00\\00\\00))")});
    let a = run(&mut e, &[ping(1.0, "a1"), ping(1.1, "a2"), ping(1.2, "a3")]);
    assert_eq!(one(&a, "account_enumeration").targets, ["a1", "a2", "a3"]);
    let mut e = tuned("[detect.account_enumeration]\nunknown_names = 2\n");
    let n = |ts: f64, u: &str| json!({"ts": ts, "type": "ntlm", "src": WS, "dst": DC, "user": u, "version": "NTLMv2", "success": false, "status": "STATUS_NO_SUCH_USER"});
    one(
        &run(&mut e, &[n(1.0, "x1"), n(2.0, "x2")]),
        "account_enumeration",
    );
}

#[test]
fn ldap_simple_bind_brute_force() {
    let mut e = tuned("[detect.brute_force]\nfailures = 3\n");
    let b = |ts: f64| json!({"ts": ts, "type": "ldap", "src": WS, "dst": DC, "bind": "simple", "name": "CN=bob,CN=Users,DC=ex,DC=org", "success": false, "result": "invalidCredentials"});
    let a = run(&mut e, &[b(1.0), b(2.0), b(3.0)]);
    let a = one(&a, "brute_force");
    assert_eq!(a.targets, ["bob"]);
    assert_eq!(a.count, 3);
}

#[test]
fn ntlm_relay_by_target_name_and_dc_account() {
    let mut e = tuned("");
    let n = json!({"ts": 1.0, "type": "ntlm", "src": WS, "dst": DC, "user": "alice", "version": "NTLMv2", "server_nb_name": "DC1", "server_dns_name": "dc1.ex.org", "target_name": "cifs/attacker.ex.org", "success": true});
    assert_eq!(one(&run(&mut e, &[n]), "ntlm_relay").mdi_id, Some(2037));
    let mut e = tuned("");
    let ok = json!({"ts": 1.0, "type": "ntlm", "src": WS, "dst": DC, "user": "alice", "version": "NTLMv2", "server_nb_name": "DC1", "server_dns_name": "dc1.ex.org", "target_name": "cifs/dc1.ex.org", "success": true});
    assert!(run(&mut e, &[ok]).is_empty());
    // the DC's machine account (name learned from its Kerberos host principal) logging on elsewhere
    let mut e = tuned("");
    let a = run(
        &mut e,
        &[
            json!({"ts": 1.0, "type": "kerberos", "src": DC, "dst": "10.1.0.2", "request": "AS-REQ", "client": "DC1$", "realm": "EX.ORG", "reply": "AS-REP"}),
            json!({"ts": 2.0, "type": "ntlm", "src": "10.1.0.66", "dst": "10.1.0.77", "user": "DC1$", "version": "NTLMv2", "success": true}),
        ],
    );
    one(&a, "ntlm_relay");
}

#[test]
fn ntlm_tampering_is_a_missing_mic_from_a_host_that_sends_one() {
    let n = |ts: f64, mic: bool| json!({"ts": ts, "type": "ntlm", "src": WS, "dst": DC, "user": "alice", "version": "NTLMv2", "mic": mic, "success": true});
    let mut e = tuned("");
    assert_eq!(
        one(
            &run(&mut e, &[n(1.0, true), n(2.0, false)]),
            "ntlm_tampering"
        )
        .count,
        1
    );
    let mut e = tuned("");
    assert!(run(&mut e, &[n(1.0, false), n(2.0, false)]).is_empty());
}

#[test]
fn pass_the_hash_after_learning_and_in_test_mode() {
    let n = |ts: f64, src: &str| json!({"ts": ts, "type": "ntlm", "src": src, "dst": DC, "user": "carol", "workstation": "", "version": "NTLMv2", "success": true});
    let mut e = tuned("[detect.pass_the_hash]\nlearning = 100\n");
    let a = run(
        &mut e,
        &[
            n(1.0, WS),
            n(50.0, "10.1.0.60"),
            n(200.0, WS),
            n(300.0, "10.1.0.99"),
        ],
    );
    let a = one(&a, "pass_the_hash");
    assert_eq!(
        a.source.ip.as_deref(),
        Some("10.1.0.99"),
        "only the pair new after learning"
    );
    let mut e = tuned("[detect.pass_the_hash]\ntest_mode = true\n");
    one(&run(&mut e, &[n(1.0, WS)]), "pass_the_hash");
}

#[test]
fn smb_executable_on_a_dc_share_and_exfiltration() {
    let mut e = tuned("");
    let open = json!({"ts": 1.0, "type": "smb", "src": WS, "dst": DC, "action": "open", "share": "\\\\DC1\\ADMIN$", "path": "Temp\\x.exe", "access": ["write"], "disposition": "create", "user": "carol"});
    let a = one(&run(&mut e, &[open]), "admin_share_executable");
    assert_eq!(a.source.user.as_deref(), Some("carol"));
    let mut e = tuned("");
    let read = json!({"ts": 1.0, "type": "smb", "src": WS, "dst": DC, "action": "open", "share": "\\\\DC1\\NETLOGON", "path": "logon.bat", "access": ["read"], "disposition": "open"});
    assert!(run(&mut e, &[read]).is_empty(), "reading a logon script");
    let mut e = tuned("");
    let close = json!({"ts": 1.0, "type": "smb", "src": WS, "dst": DC, "action": "close", "share": "\\\\DC1\\C$", "path": "Windows\\NTDS\\ntds.dit", "bytes_read": 33554432});
    let a = one(&run(&mut e, &[close]), "smb_exfiltration");
    assert_eq!(a.phase, "exfiltration");
}

#[test]
fn golden_ticket_rc4_downgrade_and_never_issued_after_learning() {
    let tgs = |ts: f64, h: &str, etype: i32| json!({"ts": ts, "type": "kerberos", "src": WS, "dst": DC, "request": "TGS-REQ", "client": "Administrator", "realm": "EX.ORG", "service": "cifs/dc1.ex.org", "etypes": [18, 17], "presented_hash": h, "presented_etype": etype, "reply": "TGS-REP"});
    let mut e = tuned("");
    let a = one(&run(&mut e, &[tgs(1.0, "aa", 23)]), "golden_ticket");
    assert_eq!(a.mdi_id, Some(2009));
    // never issued: only once the KDC was watched longer than a TGT lives
    let asrep = |ts: f64| json!({"ts": ts, "type": "kerberos", "src": "10.1.0.9", "dst": DC, "request": "AS-REQ", "client": "bob", "realm": "EX.ORG", "etypes": [18], "preauth": [2], "reply": "AS-REP", "ticket_hash": format!("t{ts}")});
    let mut e = tuned("[detect.golden_ticket]\nticket_lifetime = 100\n");
    assert!(
        run(&mut e, &[asrep(0.0), tgs(50.0, "bb", 18)]).is_empty(),
        "still learning"
    );
    let a = one(&run(&mut e, &[tgs(150.0, "cc", 18)]), "golden_ticket");
    assert_eq!(a.mdi_id, Some(2032));
    // a TGT the KDC issued is no forgery
    let mut e = tuned("[detect.golden_ticket]\nticket_lifetime = 100\n");
    assert!(run(&mut e, &[asrep(0.0), tgs(150.0, "t0", 18)])
        .iter()
        .all(|a| a.detection != "golden_ticket"));
}

#[test]
fn skeleton_key_is_a_dc_offering_rc4_only_after_aes() {
    let pre = |ts: f64, offered: Value| json!({"ts": ts, "type": "kerberos", "src": WS, "dst": DC, "request": "AS-REQ", "client": "alice", "realm": "EX.ORG", "etypes": [18, 17, 23], "reply": "KRB-ERROR", "error": "KDC_ERR_PREAUTH_REQUIRED", "error_etypes": offered});
    let mut e = tuned("");
    let a = one(
        &run(&mut e, &[pre(1.0, json!([18, 23])), pre(2.0, json!([23]))]),
        "skeleton_key",
    );
    assert_eq!(
        a.source.ip.as_deref(),
        Some(DC),
        "the actor is the DC that answered"
    );
    let mut e = tuned("");
    assert!(
        run(&mut e, &[pre(1.0, json!([23])), pre(2.0, json!([23]))]).is_empty(),
        "an RC4-only account"
    );
}

#[test]
fn zerologon_by_content_attempt_then_success() {
    let mut e = tuned("");
    let a = run(
        &mut e,
        &[
            rpc(
                1.0,
                WS,
                "netlogon",
                "NetrServerAuthenticate3",
                json!({"account": "DC1$", "credential_zero": true}),
            ),
            rpc(
                2.0,
                WS,
                "netlogon",
                "NetrServerPasswordSet2",
                json!({"account": "DC1$"}),
            ),
        ],
    );
    let z = one(&a, "zerologon");
    assert!(z.summary.contains("succeeded"), "{}", z.summary);
    // ordinary secure-channel setups with real credentials: nothing, however many
    let mut e = tuned("");
    let ok: Vec<Value> = (0..50)
        .map(|i| {
            rpc(
                i as f64 * 0.01,
                WS,
                "netlogon",
                "NetrServerAuthenticate3",
                json!({"account": "WS$", "credential_zero": false}),
            )
        })
        .collect();
    assert!(run(&mut e, &ok).is_empty());
}

#[test]
fn coercion_with_arguments_and_printnightmare() {
    let mut e = Engine::new(Tuning::default());
    let a = run(
        &mut e,
        &[rpc(
            1.0,
            WS,
            "efsrpc",
            "EfsRpcOpenFileRaw",
            json!({"file_name": "\\\\10.1.0.66\\share\\x"}),
        )],
    );
    let c = one(&a, "coercion");
    assert_eq!(
        c.targets,
        ["10.1.0.66"],
        "the host named, even when the server is not known as a DC"
    );
    let mut e = tuned("");
    let a = run(
        &mut e,
        &[rpc(
            1.0,
            WS,
            "spoolss",
            "RpcAddPrinterDriverEx",
            json!({"driver_path": "\\\\10.1.0.66\\x\\evil.dll"}),
        )],
    );
    assert_eq!(one(&a, "print_nightmare").mdi_id, Some(2415));
}

#[test]
fn delegation_and_certificate_abuse() {
    let mut e = tuned("");
    let s4u = json!({"ts": 1.0, "type": "kerberos", "src": WS, "dst": DC, "request": "TGS-REQ", "client": "websvc", "realm": "EX.ORG", "service": "websvc", "etypes": [18], "preauth": [1, 129], "s4u_user": "Administrator", "reply": "TGS-REP"});
    assert_eq!(
        one(&run(&mut e, &[s4u]), "delegation_abuse").targets,
        ["Administrator"]
    );
    let mut e = tuned("");
    let rbcd = json!({"ts": 1.0, "type": "ldap", "src": WS, "dst": DC, "op": "modify", "dn": "CN=SRV1,CN=Computers,DC=ex,DC=org", "changes": ["replace msDS-AllowedToActOnBehalfOfOtherIdentity 112"]});
    one(&run(&mut e, &[rbcd]), "delegation_abuse");
    let mut e = tuned("");
    let pk = json!({"ts": 1.0, "type": "kerberos", "src": WS, "dst": DC, "request": "AS-REQ", "client": "lowpriv", "realm": "EX.ORG", "etypes": [18], "preauth": [16], "pkinit_subject": "CN=lowpriv", "pkinit_san": ["administrator@ex.org"], "reply": "AS-REP"});
    assert_eq!(
        one(&run(&mut e, &[pk]), "certificate_abuse").targets,
        ["administrator@ex.org"]
    );
}

#[test]
fn host_names_are_time_aware_and_say_how() {
    let mut e = tuned("[detect.dcsync]\n");
    let a = run(
        &mut e,
        &[
            json!({"ts": 1.0, "type": "kerberos", "src": WS, "dst": DC, "request": "AS-REQ", "client": "host/ws01.ex.org", "realm": "EX.ORG", "reply": "AS-REP"}),
            rpc(2.0, WS, "drsuapi", "DRSGetNCChanges", json!({})),
            json!({"ts": 10.0, "type": "ntlm", "src": WS, "dst": DC, "user": "x", "workstation": "LAPTOP9", "version": "NTLMv2", "success": true}),
            rpc(100000.0, WS, "drsuapi", "DRSGetNCChanges", json!({})),
        ],
    );
    let first = a.iter().find(|x| x.detection == "dcsync").unwrap();
    assert_eq!(first.source.host.as_deref(), Some("ws01.ex.org"));
    assert!(
        first
            .source
            .host_by
            .as_deref()
            .unwrap()
            .starts_with("kerberos host principal at 1"),
        "{:?}",
        first.source.host_by
    );
    assert_eq!(
        e.domain().host_at(WS.parse().unwrap(), 20.0).unwrap().name,
        "LAPTOP9",
        "the address moved"
    );
    assert_eq!(
        e.domain().host_at(WS.parse().unwrap(), 5.0).unwrap().name,
        "ws01.ex.org"
    );
}

#[test]
fn a_million_sources_stay_under_the_caps_with_evictions_counted() {
    let mut e = Engine::from_toml("[detect]\nmax_entries = 10000\n").unwrap();
    let mut r = rec(
        json!({"ts": 0.0, "type": "kerberos", "dst": DC, "request": "AS-REQ", "client": "bob", "realm": "EX.ORG", "reply": "KRB-ERROR", "error": "KDC_ERR_PREAUTH_FAILED"}),
    );
    for i in 0..1_000_000u32 {
        r.ts = i as f64 * 0.001;
        r.src = Some(std::net::IpAddr::V4(std::net::Ipv4Addr::from(
            0x0a00_0000 + i,
        )));
        e.feed("s1", &std::sync::Arc::new(r.clone()));
    }
    let c = e.counters();
    assert!(e.largest_table() <= 10_000, "{}", e.largest_table());
    assert!(
        c.evictions >= 2 * (1_000_000 - 10_000),
        "brute force and spray tables both evicted: {c:?}"
    );
    assert_eq!(c.records, 1_000_000);
}

#[test]
fn max_tallies_caps_the_tallies_of_all_detections_together() {
    let mut e = Engine::from_toml("[detect]\nmax_tallies = 100\n").unwrap();
    let mut r = rec(
        json!({"ts": 0.0, "type": "kerberos", "dst": DC, "request": "AS-REQ", "client": "bob", "realm": "EX.ORG", "reply": "KRB-ERROR", "error": "KDC_ERR_PREAUTH_FAILED"}),
    );
    let mut most = 0;
    for i in 0..5_000u32 {
        r.ts = i as f64 * 0.01;
        r.src = Some(std::net::IpAddr::V4(std::net::Ipv4Addr::from(
            0x0a00_0000 + i,
        )));
        e.feed("s1", &std::sync::Arc::new(r.clone()));
        most = most.max(e.tallies());
    }
    // brute force and spray each count every source: 10,000 tallies without the cap
    assert!(most <= 100, "{most} tallies held");
    let c = e.counters();
    assert!(
        c.evictions >= 10_000 - 100,
        "every tally dropped is counted: {c:?}"
    );
    // the newest sources are still counted
    assert!(e.tallies() > 0);
}

/// The engine's count of its tallies (kept as they change, not added up per record) is the
/// tallies its tables hold, through evictions of a full table and of all tables together.
#[test]
fn the_tally_count_follows_the_tables_through_evictions() {
    for tuning in [
        "[detect]\nmax_tallies = 100\n",
        "[detect]\nmax_entries = 16\n",
        "[detect]\nmax_entries = 40\nmax_tallies = 50\n",
    ] {
        let mut e = Engine::from_toml(tuning).unwrap();
        let mut r = rec(
            json!({"ts": 0.0, "type": "kerberos", "dst": DC, "request": "AS-REQ", "client": "bob", "realm": "EX.ORG", "reply": "KRB-ERROR", "error": "KDC_ERR_PREAUTH_FAILED"}),
        );
        for i in 0..3_000u32 {
            r.ts = i as f64 * 0.01;
            r.src = Some(std::net::IpAddr::V4(std::net::Ipv4Addr::from(
                0x0a00_0000 + i % 700,
            )));
            r.client = Some(format!("user{}", i % 13));
            e.feed("s1", &std::sync::Arc::new(r.clone()));
            assert_eq!(e.tally_count, e.tallies(), "{tuning} record {i}");
        }
        assert!(e.counters().evictions > 0, "{tuning}");
    }
}

#[test]
fn max_distinct_caps_the_targets_a_tally_remembers_and_counts_the_rest() {
    let mut e = Engine::from_toml("[detect]\nmax_distinct = 16\n").unwrap();
    let mut recs = Vec::new();
    for i in 0..100 {
        recs.push(json!({"ts": 1.0 + i as f64 * 0.1, "type": "kerberos", "src": WS, "dst": DC, "request": "AS-REQ",
            "client": format!("user{i}"), "realm": "EX.ORG", "reply": "KRB-ERROR", "error": "KDC_ERR_PREAUTH_FAILED"}));
    }
    let alerts = run(&mut e, &recs);
    let c = e.counters();
    // the spray tally of the one source remembers 16 accounts; the 84 others are still counted
    assert!(c.distinct_dropped >= 84, "{c:?}");
    let a = one(&alerts, "password_spray");
    assert!(
        a.target_count.unwrap_or(a.targets.len() as u64) >= 100,
        "{a:?}"
    );
    // the default remembers them all
    let mut e = Engine::new(Tuning::default());
    run(&mut e, &recs);
    assert_eq!(e.counters().distinct_dropped, 0);
    assert_eq!(Tuning::default().max_distinct, 1024);
}
