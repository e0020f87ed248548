//! DCE-RPC call arguments (`args`) and return codes (`status`) through the whole pipeline, on
//! the lab's attack captures and on public captures of the same attacks in `../shared/pcaps`
//! (skipped with a message when absent, a failure under `CI=true`).

use dcsensor::pipeline::{replay_to_vec, Options};
use dcsensor::record::{ArgValue, Body, Code, Dcerpc};
use std::path::{Path, PathBuf};

fn lab(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata-pcaps/lab")
        .join(name)
}

fn shared(rel: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/pcaps")
        .join(rel);
    if p.is_file() {
        return Some(p);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{} is missing: CI needs ../shared beside the checkout",
        p.display()
    );
    eprintln!("SKIP: {} not present", p.display());
    None
}

fn calls(path: &Path) -> Vec<Dcerpc> {
    let r = replay_to_vec(&[path.to_path_buf()], &Options::default()).expect("replay");
    r.records
        .into_iter()
        .filter_map(|rec| match rec.body {
            Body::Dcerpc(d) => Some(d),
            _ => None,
        })
        .collect()
}

fn op<'a>(calls: &'a [Dcerpc], name: &str) -> Vec<&'a Dcerpc> {
    calls.iter().filter(|d| d.operation == Some(name)).collect()
}

fn s<'a>(d: &'a Dcerpc, key: &str) -> Option<&'a str> {
    d.args.as_ref()?.str(key)
}

fn get<'a>(d: &'a Dcerpc, key: &str) -> Option<&'a ArgValue> {
    d.args.as_ref()?.get(key)
}

#[test]
fn coercion_calls_name_the_host_the_dc_should_reach() {
    let c = calls(&lab("24_attack_coerce.pcap"));
    let unc = "\\\\10.99.0.2\\share\\x";
    for name in ["EfsRpcOpenFileRaw", "EfsRpcEncryptFileSrv"] {
        let d = op(&c, name);
        assert_eq!(d.len(), 1, "{name}");
        assert_eq!(s(d[0], "file_name"), Some(unc));
        // Sent on a context the server refused: the fault, and no return code.
        assert_eq!(d[0].fault.as_deref(), Some("nca_s_unk_if"));
        assert_eq!(d[0].status, None);
    }
    let f = op(&c, "RpcRemoteFindFirstPrinterChangeNotificationEx");
    assert_eq!(s(f[0], "local_machine"), Some("\\\\10.99.0.2"));
    assert_eq!(f[0].status, Some(Code::Name("RPC_S_SERVER_UNAVAILABLE")));
    let o = op(&c, "RpcOpenPrinter");
    assert_eq!(s(o[0], "printer"), Some("\\\\10.99.0.1"));
    assert_eq!(o[0].status, Some(Code::Num(0)));
    for name in ["NetrDfsAddStdRoot", "NetrDfsRemoveStdRoot"] {
        let d = op(&c, name)[0];
        assert_eq!(s(d, "server"), Some("10.99.0.2"));
        assert_eq!(s(d, "root_share"), Some("share"));
    }
}

#[test]
fn zerologon_attempts_show_zero_challenges_and_credentials() {
    let c = calls(&lab("25_attack_zerologon_attempt.pcap"));
    let ch = op(&c, "NetrServerReqChallenge");
    assert_eq!(ch.len(), 200);
    for d in &ch {
        assert_eq!(get(d, "challenge_zero"), Some(&ArgValue::Bool(true)));
        assert_eq!(s(d, "computer"), Some("DC1"));
    }
    let au = op(&c, "NetrServerAuthenticate3");
    assert_eq!(au.len(), 200);
    for d in &au {
        assert_eq!(s(d, "account"), Some("DC1$"));
        assert_eq!(s(d, "channel_type"), Some("ServerSecureChannel"));
        assert_eq!(get(d, "credential_zero"), Some(&ArgValue::Bool(true)));
        assert!(matches!(get(d, "flags"), Some(ArgValue::Int(_))));
        assert_eq!(d.status, Some(Code::Name("STATUS_ACCESS_DENIED")));
    }
    // Public capture of a successful attempt: one accepted authentication, then the
    // machine password set with a zero authenticator, answered with success.
    let Some(p) = shared("suricata-verify/dcerpc__zerologon/input.pcap") else {
        return;
    };
    let c = calls(&p);
    let au = op(&c, "NetrServerAuthenticate3");
    assert_eq!(au.len(), 21);
    assert_eq!(
        au.iter().filter(|d| d.status == Some(Code::Num(0))).count(),
        1
    );
    let ps = op(&c, "NetrServerPasswordSet2");
    assert_eq!(ps.len(), 1);
    assert_eq!(get(ps[0], "credential_zero"), Some(&ArgValue::Bool(true)));
    assert_eq!(s(ps[0], "account"), Some("BAS-AD-01$"));
    assert_eq!(ps[0].status, Some(Code::Num(0)));
}

#[test]
fn pass_the_hash_service_creation_and_scheduled_jobs() {
    let c = calls(&lab("21_attack_pass_the_hash_smb_cleartext.pcap"));
    let cs = op(&c, "RCreateServiceW");
    assert_eq!(cs.len(), 1);
    let svc = s(cs[0], "service").unwrap();
    assert_eq!(s(cs[0], "display_name"), Some(svc));
    let bin = s(cs[0], "binary_path").unwrap();
    assert!(
        bin.starts_with("\\\\DC1\\sysvol\\") && bin.ends_with(".exe"),
        "{bin}"
    );
    assert_eq!(get(cs[0], "start_type"), Some(&ArgValue::Int(3)));
    assert_eq!(get(cs[0], "service_type"), Some(&ArgValue::Int(16)));
    let os = op(&c, "ROpenServiceW");
    assert_eq!(s(os[0], "service"), Some(svc));
    assert_eq!(
        os[0].status,
        Some(Code::Name("ERROR_SERVICE_DOES_NOT_EXIST"))
    );
    // 17 is the same attack over encrypted SMB: no call is visible, so no args.
    let c = calls(&lab("17_attack_pass_the_hash.pcap"));
    assert!(c.iter().all(|d| d.args.is_none()));

    let Some(p) = shared("suricata-verify/smb2-07/20171220_smb_psexec_add_user.pcap") else {
        return;
    };
    let c = calls(&p);
    let cs = op(&c, "RCreateServiceWOW64W");
    assert_eq!(s(cs[0], "service"), Some("PSEXESVC"));
    assert_eq!(s(cs[0], "binary_path"), Some("%SystemRoot%\\PSEXESVC.exe"));
    assert_eq!(cs[0].status, Some(Code::Num(0)));
    // The same tool with a sealed association: the calls, never their arguments.
    let Some(p) = shared(
        "suricata-verify/dcerpc__dcerpc-dce-iface-01/20171220_smb_psexec_mimikatz_ticket_dump-s2.pcap",
    ) else {
        return;
    };
    let c = calls(&p);
    let cs = op(&c, "RCreateServiceWOW64W");
    assert_eq!(cs.len(), 1);
    assert_eq!(cs[0].auth_level, Some(Code::Name("privacy")));
    assert!(c.iter().all(|d| d.args.is_none() && d.status.is_none()));
    // NetrJobAdd in NDR64 (the bind negotiated it): the job's command.
    let Some(p) = shared("suricata-verify/smb2-04/20171220_smb_at_schedule.pcap") else {
        return;
    };
    let c = calls(&p);
    let j = op(&c, "NetrJobAdd");
    assert_eq!(s(j[0], "command"), Some("c:\\mimikatz.exe"));
    assert_eq!(j[0].status, Some(Code::Num(0)));
}

#[test]
fn session_and_user_enumeration_levels() {
    let c = calls(&lab("23_attack_smb_session_enum.pcap"));
    let mut se: Vec<_> = op(&c, "NetrSessionEnum")
        .iter()
        .map(|d| (get(d, "level").cloned(), d.status))
        .collect();
    se.sort_by_key(|(l, _)| format!("{l:?}"));
    assert_eq!(
        se,
        [
            (
                Some(ArgValue::Int(10)),
                Some(Code::Name("ERROR_ACCESS_DENIED"))
            ),
            (
                Some(ArgValue::Int(502)),
                Some(Code::Name("ERROR_ACCESS_DENIED"))
            )
        ]
    );
    // No filter given: none recorded.
    assert!(op(&c, "NetrSessionEnum")
        .iter()
        .all(|d| s(d, "client").is_none() && s(d, "user").is_none()));
    let mut wk: Vec<_> = op(&c, "NetrWkstaUserEnum")
        .iter()
        .map(|d| get(d, "level").cloned())
        .collect();
    wk.sort_by_key(|l| format!("{l:?}"));
    assert_eq!(wk, [Some(ArgValue::Int(0)), Some(ArgValue::Int(1))]);
}

#[test]
fn samr_and_lsa_lookups_name_what_was_looked_up() {
    let c = calls(&lab("20_attack_recon_samr_lsarpc_smb_cleartext.pcap"));
    let ln = op(&c, "SamrLookupNamesInDomain");
    assert_eq!(
        get(ln[0], "names"),
        Some(&ArgValue::List(vec!["Domain Admins".into()]))
    );
    assert_eq!(get(ln[0], "count"), Some(&ArgValue::Int(1)));
    assert_eq!(
        get(op(&c, "SamrOpenGroup")[0], "rid"),
        Some(&ArgValue::Int(512))
    );
    let users: Vec<_> = op(&c, "SamrOpenUser")
        .iter()
        .map(|d| get(d, "rid").cloned())
        .collect();
    assert_eq!(users.len(), 11);
    assert!(users.contains(&Some(ArgValue::Int(1103))));
    // lookupsid's SID brute force: 1000 and 200 SIDs, some not mapped.
    let mut ls: Vec<_> = op(&c, "LsarLookupSids")
        .iter()
        .map(|d| (get(d, "count").cloned(), d.status))
        .collect();
    ls.sort_by_key(|(n, _)| format!("{n:?}"));
    assert_eq!(
        ls,
        [
            (
                Some(ArgValue::Int(1000)),
                Some(Code::Name("STATUS_SOME_NOT_MAPPED"))
            ),
            (
                Some(ArgValue::Int(200)),
                Some(Code::Name("STATUS_SOME_NOT_MAPPED"))
            )
        ]
    );
    // 13 is the same reconnaissance over encrypted SMB: nothing readable.
    let c = calls(&lab("13_attack_recon_samr_lsarpc.pcap"));
    assert!(c.iter().all(|d| d.args.is_none()));
    // The administrator's day: one user opened by RID, as rpcclient does.
    let c = calls(&lab("29_benign_admin_day.pcap"));
    let ou = op(&c, "SamrOpenUser");
    assert_eq!(get(ou[0], "rid"), Some(&ArgValue::Int(500)));
    assert_eq!(ou[0].status, Some(Code::Num(0)));

    let Some(p) = shared("suricata-verify/smb2-06/20171220_smb_net_user.pcap") else {
        return;
    };
    let c = calls(&p);
    let l3 = op(&c, "LsarLookupNames3");
    assert_eq!(
        get(l3[0], "names"),
        Some(&ArgValue::List(vec!["CONTOSO\\ronhd".into()]))
    );
}

#[test]
fn print_nightmare_driver_paths_and_registry_keys() {
    let Some(p) = shared("suricata-verify/smb-dce_iface/input.pcap") else {
        return;
    };
    let c = calls(&p);
    let d = op(&c, "RpcAddPrinterDriverEx");
    assert_eq!(d.len(), 1);
    assert_eq!(
        s(d[0], "data_file"),
        Some("\\\\ws02.cylera.lab\\security\\mimilib.dll")
    );
    assert!(s(d[0], "driver_path").unwrap().ends_with("UNIDRV.DLL"));
    assert_eq!(
        s(d[0], "config_file"),
        Some("C:\\Windows\\System32\\winhttp.dll")
    );
    assert_eq!(d[0].status, Some(Code::Name("ERROR_ACCESS_DENIED")));
    let Some(p) = shared("suricata-verify/dcerpc__dcerpc-dce-stub-data-04/input.pcap") else {
        return;
    };
    let c = calls(&p);
    let k = op(&c, "BaseRegOpenKey");
    assert_eq!(
        s(k[0], "key"),
        Some("SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run")
    );
}
