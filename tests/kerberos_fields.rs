//! Kerberos evidence fields on the lab's ticket attacks: `presented_etype` (the TGT of a
//! TGS-REQ, the ticket of an AP-REQ) and `presented_hash` seen from two hosts, checked exactly
//! per scenario and against tshark's reading of every TGS-REQ and AP-REQ of the lab.
//! S4U2self, S4U2proxy, user-to-user and PKINIT from a real MIT KDC (`testdata-pcaps/krb5/`).

use dcsensor::pipeline::{replay_to_vec, Options};
use dcsensor::record::{Body, Kerberos, Record};
use dcsensor::stats::Counter;
use std::path::{Path, PathBuf};

fn lab(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata-pcaps/lab")
        .join(name)
}

fn records(p: &Path) -> Vec<Record> {
    let opts = Options {
        workers: 1,
        ..Default::default()
    };
    replay_to_vec(&[p.to_path_buf()], &opts).unwrap().records
}

/// (source address, request, presented_etype, presented_hash) of the records presenting a
/// ticket.
fn presented(p: &Path) -> Vec<(String, &'static str, i32, String)> {
    records(p)
        .iter()
        .filter_map(|r| match &r.body {
            Body::Kerberos(k) if k.presented_hash.is_some() => Some(pres(r, k)),
            _ => None,
        })
        .collect()
}

fn pres(r: &Record, k: &Kerberos) -> (String, &'static str, i32, String) {
    (
        r.src.unwrap().to_string(),
        k.request.unwrap(),
        k.presented_etype.unwrap(),
        k.presented_hash.clone().unwrap(),
    )
}

#[test]
fn silver_ticket_presents_rc4() {
    // impacket's ticketer forges the service ticket with the service account's NT hash: RC4 in
    // a realm whose tickets are AES.
    let p = presented(&lab("27_attack_silver_ticket.pcap"));
    assert_eq!(p.len(), 1);
    assert_eq!((p[0].1, p[0].2), ("AP-REQ", 23));
}

#[test]
fn golden_tickets_and_overpass_present_aes_tgts() {
    for (name, want) in [
        // A forged TGT for a user that does not exist: the KDC refuses it.
        (
            "28_attack_golden_ticket_fake_user.pcap",
            vec![("TGS-REQ", 18)],
        ),
        (
            "19_attack_golden_ticket.pcap",
            vec![("TGS-REQ", 18), ("AP-REQ", 18)],
        ),
        (
            "18_attack_overpass_the_hash.pcap",
            vec![("TGS-REQ", 18), ("AP-REQ", 18)],
        ),
    ] {
        let got: Vec<(&str, i32)> = presented(&lab(name)).iter().map(|p| (p.1, p.2)).collect();
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn pass_the_ticket_presents_one_tgt_from_two_hosts() {
    let p = presented(&lab("26_attack_pass_the_ticket.pcap"));
    let tgs: Vec<_> = p.iter().filter(|x| x.1 == "TGS-REQ").collect();
    assert_eq!(tgs.len(), 2);
    assert_eq!(
        (tgs[0].0.as_str(), tgs[1].0.as_str()),
        ("10.99.0.2", "10.99.0.3")
    );
    assert_eq!(tgs[0].3, tgs[1].3, "the same TGT");
    assert_eq!((tgs[0].2, tgs[1].2), (18, 18));
    // The stolen ticket's service tickets are then presented from 10.99.0.3.
    let ap: Vec<_> = p.iter().filter(|x| x.1 == "AP-REQ").collect();
    assert!(!ap.is_empty());
    assert!(ap.iter().all(|x| x.0 == "10.99.0.3" && x.2 == 18));
}

#[test]
fn presented_etypes_agree_with_tshark_on_every_lab_capture() {
    if std::process::Command::new("tshark")
        .arg("-v")
        .output()
        .is_err()
    {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "CI=true: tshark is required"
        );
        println!("SKIP: tshark is absent (apt-get install tshark)");
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata-pcaps/lab");
    let mut pcaps: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
        .collect();
    pcaps.sort();
    let mut total = 0;
    for p in &pcaps {
        // In a TGS-REQ or AP-REQ the first etype tshark lists is the presented ticket's.
        let out = std::process::Command::new("tshark")
            .args(["-n", "-r"])
            .arg(p)
            .args(["-Y", "kerberos.msg_type == 12 || kerberos.msg_type == 14"])
            .args(["-T", "fields", "-E", "occurrence=f", "-e", "kerberos.etype"])
            .output()
            .unwrap();
        let mut want: Vec<i32> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect();
        let mut got: Vec<i32> = records(p)
            .iter()
            .filter_map(|r| match &r.body {
                Body::Kerberos(k) if matches!(k.request, Some("TGS-REQ" | "AP-REQ")) => {
                    k.presented_etype
                }
                _ => None,
            })
            .collect();
        want.sort();
        got.sort();
        assert_eq!(got, want, "{}", p.display());
        total += want.len();
    }
    println!("presented tickets compared: {total}");
    assert!(total > 50);
}

fn krb5(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata-pcaps/krb5")
        .join(name)
}

fn kerberos(p: &Path) -> Vec<Kerberos> {
    records(p)
        .into_iter()
        .filter_map(|r| match r.body {
            Body::Kerberos(k) => Some(*k),
            _ => None,
        })
        .collect()
}

#[test]
fn mit_s4u2self_s4u2proxy_and_user_to_user() {
    let k = kerberos(&krb5("mit-s4u-u2u.pcap"));
    let tgs: Vec<&Kerberos> = k.iter().filter(|k| k.request == Some("TGS-REQ")).collect();
    assert_eq!(tgs.len(), 3);
    // S4U2self: the service asks a ticket to itself on alice's behalf.
    let s4u_self = tgs[0];
    assert_eq!(s4u_self.s4u_user.as_deref(), Some("alice"));
    assert_eq!(s4u_self.service.as_deref(), Some("host/svc.krbtun.test"));
    assert_eq!(s4u_self.preauth, [1, 136, 130, 129]);
    assert_eq!(s4u_self.additional_ticket_hash, None);
    // S4U2proxy: that ticket is the evidence in additional-tickets.
    let proxy = tgs[1];
    assert_eq!(proxy.service.as_deref(), Some("cifs/other.krbtun.test"));
    assert!(proxy.kdc_options.contains("cname-in-addl-tkt"));
    assert_eq!(proxy.additional_ticket_hash, s4u_self.ticket_hash);
    assert!(proxy.additional_ticket_hash.is_some());
    assert_eq!(proxy.s4u_user, None);
    // User-to-user: one of alice's TGTs (issued in an AS-REP) in additional-tickets.
    let u2u = tgs[2];
    assert!(u2u.kdc_options.contains("enc-tkt-in-skey"));
    assert!(u2u.additional_ticket_hash.is_some());
    assert!(k.iter().any(|k| k.request == Some("AS-REQ")
        && k.client.as_deref() == Some("alice")
        && k.ticket_hash == u2u.additional_ticket_hash));
    assert!(tgs.iter().all(|t| t.presented_etype == Some(18)));
}

#[test]
fn mit_pkinit_client_certificate() {
    let k = kerberos(&krb5("mit-pkinit.pcap"));
    let pk: Vec<&Kerberos> = k.iter().filter(|k| k.preauth.contains(&16)).collect();
    assert_eq!(pk.len(), 1);
    assert_eq!(
        pk[0].pkinit_subject.as_deref(),
        Some("CN=alice,CN=Users,DC=krbtun,DC=test")
    );
    assert_eq!(
        pk[0].pkinit_issuer.as_deref(),
        Some("CN=Krbtun Test CA,DC=krbtun,DC=test")
    );
    assert_eq!(
        pk[0].pkinit_san,
        ["alice@krbtun.test", "alice@KRBTUN.TEST", "ws01.krbtun.test"]
    );
    assert_eq!(pk[0].reply, Some("AS-REP"));
    // Requests without PA-PK-AS-REQ say nothing of certificates.
    assert!(k
        .iter()
        .filter(|k| !k.preauth.contains(&16))
        .all(|k| k.pkinit_subject.is_none() && k.pkinit_san.is_empty()));
}

#[test]
fn gss_tsig_ap_req_in_dns_tkey_queries() {
    // BIND's nsupdate -g (algorithm gss-tsig) and -g -o (gss.microsoft.com, as Windows clients
    // send it), from 127.0.0.2 to a real BIND with a real MIT KDC: each TKEY query carries an
    // AP-REQ for DNS/ns.tkey.test, presenting the ticket the KDC issued in its TGS-REP.
    let pcap = krb5("bind-gss-tsig.pcap");
    let opts = Options {
        workers: 1,
        ..Default::default()
    };
    let r = replay_to_vec(std::slice::from_ref(&pcap), &opts).unwrap();
    let issued: Vec<&Kerberos> = r
        .records
        .iter()
        .filter_map(|x| match &x.body {
            Body::Kerberos(k) if k.request == Some("TGS-REQ") => Some(&**k),
            _ => None,
        })
        .collect();
    assert_eq!(issued.len(), 1);
    assert_eq!(issued[0].service.as_deref(), Some("DNS/ns.tkey.test"));
    let ap: Vec<(&Record, &Kerberos)> = r
        .records
        .iter()
        .filter_map(|x| match &x.body {
            Body::Kerberos(k) if k.request == Some("AP-REQ") => Some((x, &**k)),
            _ => None,
        })
        .collect();
    assert_eq!(ap.len(), 2, "one AP-REQ per TKEY query");
    for (rec, k) in &ap {
        assert_eq!(k.carrier, Some(dcsensor::record::Carrier::Dns));
        assert_eq!(k.service.as_deref(), Some("DNS/ns.tkey.test"));
        assert_eq!(k.realm.as_deref(), Some("TKEY.TEST"));
        assert_eq!(k.ticket_etype, Some(18));
        assert_eq!(k.presented_hash, issued[0].ticket_hash);
        assert!(k.presented_hash.is_some());
        // The query's sender, whatever the ports say.
        assert_eq!(rec.src.unwrap().to_string(), "127.0.0.2");
        assert_eq!(
            (rec.dst.unwrap().to_string(), rec.dport),
            ("127.0.0.1".into(), Some(53))
        );
    }
    let tkey_queries = r
        .records
        .iter()
        .filter(|x| matches!(&x.body, Body::Dns(d) if d.qtype == Some(dcsensor::record::Code::Name("TKEY"))))
        .count();
    assert_eq!(tkey_queries, 2);
    for c in [
        Counter::MalformedGssapi,
        Counter::MalformedDns,
        Counter::MalformedKerberos,
    ] {
        assert_eq!(r.stats.snapshot.get(c), 0, "{c:?}");
    }
}
