//! Kerberos end to end: the lab captures of `testdata-pcaps/lab/` replayed through the whole
//! pipeline must give exact `kerberos` records for each attack scenario, and the conformance
//! test compares principal names and KDC request counts with tshark's reading
//! (`tshark-kerberos.tsv` beside each capture) over `../shared/pcaps/` and
//! `testdata-pcaps/lab/cases/`.

use dcsensor::pipeline::{replay_to_vec, Options};
use dcsensor::record::{Body, Kerberos, Record, Transport};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn lab(name: &str) -> PathBuf {
    root()
        .join("testdata-pcaps/lab")
        .join(format!("{name}.pcap"))
}

/// The `kerberos` records of a replay, in time order, with their transport.
fn try_replay(path: &Path) -> Result<Vec<(Transport, Kerberos)>, String> {
    let opts = Options {
        workers: 1,
        ..Default::default()
    };
    let res = replay_to_vec(&[path.to_path_buf()], &opts)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(krb(&res.records))
}

fn replay(path: &Path) -> Vec<(Transport, Kerberos)> {
    try_replay(path).unwrap()
}

fn krb(records: &[Record]) -> Vec<(Transport, Kerberos)> {
    records
        .iter()
        .filter_map(|r| match &r.body {
            Body::Kerberos(k) => Some((r.proto.unwrap_or(Transport::Udp), (**k).clone())),
            _ => None,
        })
        .collect()
}

/// KDC exchanges only (AS and TGS requests, and answers seen alone), without AP-REQs that
/// other protocols carry.
fn kdc(recs: &[(Transport, Kerberos)]) -> Vec<&Kerberos> {
    recs.iter()
        .map(|(_, k)| k)
        .filter(|k| k.request != Some("AP-REQ"))
        .collect()
}

/// One line per record: request, client, service, reply, error.
fn line(k: &Kerberos) -> String {
    let err = match k.error {
        Some(dcsensor::record::Code::Name(n)) => n.to_string(),
        Some(dcsensor::record::Code::Num(n)) => n.to_string(),
        None => "-".into(),
    };
    format!(
        "{} {} {} {} {}",
        k.request.unwrap_or("-"),
        k.client.as_deref().unwrap_or("-"),
        k.service.as_deref().unwrap_or("-"),
        k.reply.unwrap_or("-"),
        err
    )
}

fn lines(recs: &[&Kerberos]) -> Vec<String> {
    recs.iter().map(|k| line(k)).collect()
}

#[test]
fn password_logon_wrong_password_and_service_tickets() {
    let recs = replay(&lab("01_benign_kerberos_logon"));
    let k = kdc(&recs);
    assert_eq!(
        lines(&k),
        [
            "AS-REQ alice krbtgt/LAB.EXAMPLE KRB-ERROR KDC_ERR_PREAUTH_REQUIRED",
            "AS-REQ alice krbtgt/LAB.EXAMPLE KRB-ERROR KRB_ERR_RESPONSE_TOO_BIG",
            "AS-REQ alice krbtgt/LAB.EXAMPLE AS-REP -",
            "TGS-REQ alice cifs/dc1.lab.example TGS-REP -",
            "TGS-REQ alice ldap/dc1.lab.example TGS-REP -",
            "TGS-REQ alice host/dc1.lab.example TGS-REP -",
            "TGS-REQ alice krbtgt/LAB.EXAMPLE TGS-REP -",
            "AS-REQ bob krbtgt/LAB.EXAMPLE KRB-ERROR KDC_ERR_PREAUTH_REQUIRED",
            "AS-REQ bob krbtgt/LAB.EXAMPLE KRB-ERROR KDC_ERR_PREAUTH_FAILED",
        ]
    );
    let transports: Vec<_> = recs
        .iter()
        .filter(|(_, k)| k.request != Some("AP-REQ"))
        .map(|(t, _)| *t)
        .collect();
    use Transport::{Tcp, Udp};
    assert_eq!(transports, [Udp, Udp, Tcp, Tcp, Tcp, Tcp, Tcp, Udp, Udp]);
    // The first exchange, every field (frames 1-2).
    let first = k[0];
    assert_eq!(first.etypes, [18, 17, 20, 19, 16, 23, 25, 26]);
    assert_eq!(first.kdc_options, ["renewable"]);
    assert_eq!(first.preauth, [150, 149]);
    assert_eq!(first.preauth_etype, None);
    assert_eq!(first.realm.as_deref(), Some("LAB.EXAMPLE"));
    assert_eq!(first.till, Some(1_795_973_251_000_000_000));
    assert_eq!(first.error_etypes, [18]);
    assert_eq!(
        first.rtt,
        Some(1_795_886_851_417_278_000 - 1_795_886_851_414_486_000)
    );
    // With pre-authentication: PA-ENC-TIMESTAMP in AES256; the TGT it got is what the
    // TGS-REQs present, and the renewal issues a new one.
    let tgt = k[2].ticket_hash.as_deref().unwrap();
    assert_eq!(tgt, "fc4a224c60027bfef2908d5c967f31b3");
    assert_eq!(
        (k[2].preauth_etype, k[2].ticket_etype, k[2].reply_etype),
        (Some(18), Some(18), Some(18))
    );
    for t in &k[3..7] {
        assert_eq!(t.presented_hash.as_deref(), Some(tgt));
        assert!(t.ticket_hash.is_some());
    }
    assert_ne!(k[6].ticket_hash.as_deref(), Some(tgt));
    assert!(k[6].kdc_options.contains("renew"));
    assert_eq!(k[8].preauth, [2, 150, 149]);
    assert_eq!(k[8].preauth_etype, Some(18));
}

#[test]
fn kerberoasting() {
    let recs = replay(&lab("10_attack_kerberoasting"));
    let k = kdc(&recs);
    let tgs: Vec<_> = k.iter().filter(|k| k.request == Some("TGS-REQ")).collect();
    assert_eq!(tgs.len(), 7);
    for t in &tgs {
        assert_eq!(
            t.etypes.first(),
            Some(&23),
            "RC4 offered first: {}",
            line(t)
        );
    }
    let roasted: Vec<_> = tgs
        .iter()
        .filter(|t| t.reply == Some("TGS-REP"))
        .map(|t| (line(t), t.ticket_etype))
        .collect();
    assert_eq!(
        roasted,
        [
            ("TGS-REQ alice svc_sql TGS-REP -".to_string(), Some(23)),
            ("TGS-REQ alice svc_web TGS-REP -".to_string(), Some(23)),
        ]
    );
    assert_eq!(
        lines(&tgs.iter().map(|t| **t).collect::<Vec<_>>())
            .last()
            .unwrap(),
        "TGS-REQ alice svc_backup KRB-ERROR KDC_ERR_ETYPE_NOSUPP"
    );
    let unknown = tgs
        .iter()
        .filter(|t| line(t).ends_with("KDC_ERR_S_PRINCIPAL_UNKNOWN"))
        .count();
    assert_eq!(unknown, 4);
    // impacket's AS-REQs offer RC4 alone.
    assert!(k
        .iter()
        .filter(|k| k.request == Some("AS-REQ"))
        .all(|a| a.etypes == [23]));
}

#[test]
fn asrep_roasting() {
    let recs = replay(&lab("11_attack_asrep_roasting"));
    let k = kdc(&recs);
    assert_eq!(k.len(), 9);
    let dave: Vec<_> = k
        .iter()
        .filter(|k| k.client.as_deref() == Some("dave"))
        .collect();
    assert_eq!(dave.len(), 2);
    for d in dave {
        assert_eq!(d.request, Some("AS-REQ"));
        assert!(!d.preauth.contains(&2), "no PA-ENC-TIMESTAMP");
        assert_eq!(d.etypes, [23]);
        assert_eq!((d.reply, d.reply_etype), (Some("AS-REP"), Some(23)));
    }
    let mut required: Vec<_> = k
        .iter()
        .filter(|k| line(k).ends_with("PREAUTH_REQUIRED"))
        .map(|k| k.client.clone().unwrap())
        .collect();
    required.sort();
    assert_eq!(required, ["alice", "bob", "carol", "eve", "svc_sql"]);
    assert!(lines(&k).contains(
        &"AS-REQ nosuchuser krbtgt/LAB.EXAMPLE KRB-ERROR KDC_ERR_C_PRINCIPAL_UNKNOWN".to_string()
    ));
}

#[test]
fn password_spray() {
    let recs = replay(&lab("14_attack_password_spray_kerberos"));
    let k = kdc(&recs);
    let mut failed: Vec<_> = k
        .iter()
        .filter(|k| line(k).ends_with("PREAUTH_FAILED"))
        .map(|k| k.client.clone().unwrap())
        .collect();
    failed.sort();
    assert_eq!(
        failed,
        [
            "Administrator",
            "alice",
            "bob",
            "carol",
            "eve",
            "svc_backup",
            "svc_sql",
            "svc_web"
        ]
    );
    assert!(k
        .iter()
        .filter(|k| line(k).ends_with("PREAUTH_FAILED"))
        .all(|k| k.preauth_etype.is_some()));
}

#[test]
fn account_enumeration() {
    let recs = replay(&lab("16_attack_account_enumeration"));
    let k = kdc(&recs);
    assert_eq!(k.len(), 63);
    let count = |e: &str| k.iter().filter(|k| line(k).ends_with(e)).count();
    assert_eq!(count("KDC_ERR_C_PRINCIPAL_UNKNOWN"), 57);
    assert_eq!(count("KDC_ERR_PREAUTH_REQUIRED"), 6);
    let mut exist: Vec<_> = k
        .iter()
        .filter(|k| line(k).ends_with("PREAUTH_REQUIRED"))
        .map(|k| k.client.clone().unwrap())
        .collect();
    exist.sort();
    assert_eq!(
        exist,
        ["alice", "bob", "carol", "eve", "svc_sql", "svc_web"]
    );
}

#[test]
fn overpass_the_hash() {
    let recs = replay(&lab("18_attack_overpass_the_hash"));
    let k = kdc(&recs);
    assert_eq!(
        lines(&k),
        [
            "AS-REQ bob krbtgt/LAB.EXAMPLE KRB-ERROR KDC_ERR_PREAUTH_REQUIRED",
            "AS-REQ bob krbtgt/LAB.EXAMPLE AS-REP -",
            "TGS-REQ bob cifs/dc1.lab.example TGS-REP -",
        ]
    );
    assert_eq!(k[1].etypes, [23], "RC4 alone: the NT hash is the key");
    assert_eq!(k[1].preauth_etype, Some(23));
    assert_eq!(k[2].presented_hash, k[1].ticket_hash);
}

#[test]
fn golden_ticket() {
    let recs = replay(&lab("19_attack_golden_ticket"));
    let k = kdc(&recs);
    assert_eq!(
        lines(&k),
        ["TGS-REQ Administrator cifs/dc1.lab.example TGS-REP -"]
    );
    let presented = k[0].presented_hash.clone().unwrap();
    assert_eq!(presented, "858cdddecbeb0aaafb2949648d5a5fae");
    // No AS-REP of any lab capture issued that TGT.
    let mut issued = HashSet::new();
    for e in std::fs::read_dir(root().join("testdata-pcaps/lab")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "pcap") {
            for (_, k) in replay(&p) {
                if k.reply == Some("AS-REP") {
                    issued.insert(k.ticket_hash.unwrap());
                }
            }
        }
    }
    assert!(
        issued.len() >= 8,
        "AS-REPs seen in the lab: {}",
        issued.len()
    );
    assert!(!issued.contains(&presented));
}

// ---------------------------------------------------------------------------------------------
// Conformance with tshark
// ---------------------------------------------------------------------------------------------

/// One KDC request as tshark read it.
#[derive(Debug)]
struct Req {
    kind: &'static str,
    client: Option<String>,
    realm: Option<String>,
    /// sname components (for a TGS-REQ, those of the presented TGT come first).
    snames: Vec<String>,
}

/// What tshark found in one capture: KDC requests and the names they carry.
#[derive(Debug, Default)]
struct Expected {
    requests: Vec<Req>,
}

/// Reads a `tshark-kerberos.tsv`. In scope: Kerberos directly over TCP or UDP (the first
/// `kerberos` of the frame's protocol chain follows `tcp` or `udp`; PKINIT adds `cms`, ... after
/// it). Out of scope: Kerberos inside GSS-API
/// (SMB, DCE-RPC, LDAP, HTTP: `gss-api`, `spnego-krb5`, ... in the chain), which reaches the
/// decoder through other protocols' carriers as AP-REQ records, and the AP-REQ nested in a
/// TGS-REQ's PA-TGS-REQ (the `14` after a `12` in the same row).
fn read_tsv(path: &Path) -> Expected {
    let text = std::fs::read_to_string(path).unwrap();
    let mut exp = Expected::default();
    for row in text.lines().skip(1) {
        let f: Vec<&str> = row.split('\t').collect();
        if f.len() < 10 {
            continue;
        }
        let protos = f[9];
        let chain: Vec<&str> = protos.split(':').collect();
        let direct = chain
            .windows(2)
            .position(|w| w[1] == "kerberos")
            .is_some_and(|i| matches!(chain[i], "tcp" | "udp"));
        if !direct {
            continue;
        }
        let types: Vec<&str> = f[1].split(',').filter(|s| !s.is_empty()).collect();
        let list = |s: &str| -> Vec<String> {
            s.split(',')
                .filter(|x| !x.is_empty())
                .map(String::from)
                .collect()
        };
        let (cnames, realms, snames) = (list(f[4]), list(f[5]), list(f[6]));
        match types.first().copied() {
            Some("10") => {
                let n = types.iter().filter(|t| **t == "10").count();
                for _ in 0..n {
                    exp.requests.push(Req {
                        kind: "AS-REQ",
                        client: (!cnames.is_empty()).then(|| cnames.join("/")),
                        realm: realms.last().cloned(),
                        snames: snames.clone(),
                    });
                }
            }
            Some("12") => {
                // The realm and sname of the TGT in PA-TGS-REQ come first, the request body's
                // last: the service is a suffix of the list.
                exp.requests.push(Req {
                    kind: "TGS-REQ",
                    client: None,
                    realm: realms.last().cloned(),
                    snames,
                });
            }
            _ => {}
        }
    }
    exp
}

/// The capture beside a tsv of the shared corpus.
fn capture_in(dir: &Path) -> Option<PathBuf> {
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.extension()
                .is_some_and(|x| x == "pcap" || x == "pcapng" || x == "cap")
        })
}

#[derive(Debug, Default, Clone, Copy)]
struct Score {
    names: usize,
    names_ok: usize,
    reqs_expected: usize,
    reqs_seen: usize,
}

/// Compares one capture; returns the score and prints its mismatches.
fn compare(name: &str, exp: &Expected, recs: &[(Transport, Kerberos)]) -> Score {
    let ours: Vec<&Kerberos> = recs
        .iter()
        .map(|(_, k)| k)
        .filter(|k| matches!(k.request, Some("AS-REQ" | "TGS-REQ")))
        .collect();
    let mut used = vec![false; ours.len()];
    let mut s = Score {
        reqs_expected: exp.requests.len(),
        reqs_seen: ours.len(),
        ..Default::default()
    };
    let comps = |k: &Kerberos| -> Vec<String> {
        k.service
            .as_deref()
            .map(|x| x.split('/').map(String::from).collect())
            .unwrap_or_default()
    };
    for Req {
        kind,
        client,
        realm,
        snames,
    } in &exp.requests
    {
        let checks = |k: &Kerberos| -> (usize, usize) {
            let mut total = 0;
            let mut ok = 0;
            if client.is_some() {
                total += 1;
                ok += usize::from(k.client == *client);
            }
            if realm.is_some() {
                total += 1;
                ok += usize::from(k.realm == *realm);
            }
            if !snames.is_empty() {
                total += 1;
                let c = comps(k);
                ok += usize::from(
                    !c.is_empty()
                        && snames.ends_with(&c)
                        && (*kind == "TGS-REQ" || snames.len() == c.len()),
                );
            }
            (ok, total)
        };
        let candidates: Vec<usize> = (0..ours.len())
            .filter(|&i| !used[i] && ours[i].request == Some(kind))
            .collect();
        let best = candidates
            .iter()
            .copied()
            .max_by_key(|&i| (checks(ours[i]).0, usize::MAX - i));
        match best {
            Some(i) => {
                used[i] = true;
                let (ok, total) = checks(ours[i]);
                s.names += total;
                s.names_ok += ok;
                if ok != total {
                    println!(
                        "  {name}: {kind} tshark {client:?} {realm:?} {snames:?} vs ours {}",
                        line(ours[i])
                    );
                }
            }
            None => {
                let total = usize::from(client.is_some())
                    + usize::from(realm.is_some())
                    + usize::from(!snames.is_empty());
                s.names += total;
                println!("  {name}: {kind} {client:?} {realm:?} {snames:?} not found");
            }
        }
    }
    if s.reqs_seen != s.reqs_expected {
        println!(
            "  {name}: {} KDC requests, tshark {}",
            s.reqs_seen, s.reqs_expected
        );
    }
    s
}

#[test]
fn conformance_with_tshark() {
    let mut cases: Vec<(String, PathBuf, PathBuf)> = Vec::new();
    let lab_cases = root().join("testdata-pcaps/lab/cases");
    for e in std::fs::read_dir(&lab_cases).unwrap() {
        let dir = e.unwrap().path();
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        cases.push((
            format!("lab/{name}"),
            lab(&name),
            dir.join("tshark-kerberos.tsv"),
        ));
    }
    let shared = root().join("../shared/pcaps");
    if shared.is_dir() {
        let mut stack = vec![shared.clone()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.file_name().is_some_and(|n| n == "tshark-kerberos.tsv") {
                    if let Some(cap) = capture_in(&d) {
                        let name = d.strip_prefix(&shared).unwrap_or(&d).display().to_string();
                        cases.push((name, cap, p));
                    }
                }
            }
        }
    } else {
        println!("../shared/pcaps is absent: only the lab captures are compared");
    }
    cases.sort();
    let mut by_case = BTreeMap::new();
    let mut total = Score::default();
    for (name, cap, tsv) in &cases {
        let exp = read_tsv(tsv);
        let recs = match try_replay(cap) {
            Ok(r) => r,
            Err(e) if exp.requests.is_empty() => {
                println!("  {name}: skipped, no KDC traffic and the replay failed: {e}");
                continue;
            }
            Err(e) => {
                println!("  {name}: replay failed: {e}");
                Vec::new()
            }
        };
        if exp.requests.is_empty()
            && recs
                .iter()
                .all(|(_, k)| !matches!(k.request, Some("AS-REQ" | "TGS-REQ")))
        {
            continue;
        }
        let s = compare(name, &exp, &recs);
        total.names += s.names;
        total.names_ok += s.names_ok;
        total.reqs_expected += s.reqs_expected;
        total.reqs_seen += s.reqs_seen;
        by_case.insert(name.clone(), s);
    }
    let matched: usize = by_case
        .values()
        .map(|s| s.reqs_seen.min(s.reqs_expected))
        .sum();
    let union: usize = by_case
        .values()
        .map(|s| s.reqs_seen.max(s.reqs_expected))
        .sum();
    let names = total.names_ok as f64 / total.names.max(1) as f64;
    let reqs = matched as f64 / union.max(1) as f64;
    println!(
        "kerberos conformance over {} captures with KDC traffic: names {}/{} = {:.2} %, KDC requests {}/{} = {:.2} % (ours {}, tshark {})",
        by_case.len(),
        total.names_ok,
        total.names,
        names * 100.0,
        matched,
        union,
        reqs * 100.0,
        total.reqs_seen,
        total.reqs_expected
    );
    assert!(
        total.reqs_expected >= 200,
        "the corpus has KDC traffic: {}",
        total.reqs_expected
    );
    assert!(names >= 0.99, "names {:.4}", names);
    assert!(reqs >= 0.98, "requests {:.4}", reqs);
}

#[test]
fn ap_req_in_smb2_session_setup_presents_the_issued_ticket() {
    // 18_attack_overpass_the_hash frame 40: the SPNEGO blob of bob's SMB2 SESSION_SETUP, as the
    // SMB decoder hands it to `gssapi::inspect`.
    use dcsensor::proto::{gssapi, ntlm::NtlmAuth, Ctx, DecoderConfig, FlowInfo, Shared};
    use dcsensor::record::Carrier;
    use dcsensor::stats::Counters;
    let blob = include_bytes!("../src/proto/kerberos/testdata/opth_smb2_session_setup_blob.bin");
    let flow = FlowInfo {
        client: "192.0.2.2".parse().unwrap(),
        client_port: 43144,
        server: "192.0.2.1".parse().unwrap(),
        server_port: 445,
        transport: Transport::Tcp,
        tunnel: Default::default(),
    };
    let (counters, config, shared) = (
        Counters::default(),
        DecoderConfig::default(),
        Shared::default(),
    );
    let mut out = Vec::new();
    let mut cx = Ctx {
        now: 1,
        flow: &flow,
        out: &mut out,
        counters: &counters,
        config: &config,
        shared: &shared,
    };
    gssapi::inspect(&mut cx, Carrier::Smb2, blob, &mut NtlmAuth::default());
    let recs = krb(&out);
    assert_eq!(recs.len(), 1);
    let ap = &recs[0].1;
    assert_eq!(line(ap), "AP-REQ - cifs/dc1.lab.example - -");
    assert_eq!(
        (ap.carrier, ap.realm.as_deref(), ap.ticket_etype),
        (Some(Carrier::Smb2), Some("LAB.EXAMPLE"), Some(18))
    );
    // The ticket it presents is the one the TGS-REP of the same capture issued.
    let issued = replay(&lab("18_attack_overpass_the_hash"))
        .into_iter()
        .find(|(_, k)| k.reply == Some("TGS-REP"))
        .and_then(|(_, k)| k.ticket_hash)
        .unwrap();
    assert_eq!(ap.presented_hash.as_deref(), Some(issued.as_str()));
}

/// Through the whole pipeline: SMB2 session setups carrying Kerberos become `AP-REQ` records
/// with `carrier: "smb2"`, presenting the service ticket the KDC issued in the same capture.
#[test]
fn smb2_session_setup_gives_ap_req_records_through_the_pipeline() {
    let path = std::path::PathBuf::from("testdata-pcaps/lab/02_benign_smb_kerberos.pcap");
    let opts = dcsensor::pipeline::Options {
        workers: 2,
        ..Default::default()
    };
    let res = dcsensor::pipeline::replay_to_vec(&[path], &opts).unwrap();
    let json: Vec<serde_json::Value> = res
        .records
        .iter()
        .map(|r| serde_json::to_value(r).unwrap())
        .collect();
    let ap: Vec<&serde_json::Value> = json.iter().filter(|r| r["request"] == "AP-REQ").collect();
    assert_eq!(ap.len(), 2, "one per SMB2 session setup");
    let issued: Vec<&serde_json::Value> = json
        .iter()
        .filter(|r| r["reply"] == "TGS-REP" && r["service"] == "cifs/dc1.lab.example")
        .collect();
    assert_eq!(issued.len(), 1);
    for a in ap {
        assert_eq!(a["carrier"], "smb2");
        assert_eq!(a["dport"], 445);
        assert_eq!(a["service"], "cifs/dc1.lab.example");
        assert_eq!(a["ticket_etype"], 18);
        assert_eq!(a["presented_hash"], issued[0]["ticket_hash"]);
    }
}
