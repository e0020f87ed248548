//! Test and bench support: the records of the lab captures (`testdata-pcaps/lab`) replayed
//! through the pipeline, or records of every type built by hand while captures cannot be read.

#![allow(dead_code)]

use dcsensor::record::Record;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Every record of the lab captures (replayed once per test binary). Until the capture layer
/// reads files, records built by hand of every type stand in (said on stderr).
pub fn lab_records() -> &'static [Record] {
    static R: OnceLock<Vec<Record>> = OnceLock::new();
    R.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata-pcaps/lab");
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
            .collect();
        paths.sort();
        match dcsensor::pipeline::replay_to_vec(&paths, &Default::default()) {
            Ok(r) if r.records.len() > 100 => r.records,
            Ok(r) => {
                eprintln!(
                    "lab captures gave {} records; using records built by hand",
                    r.records.len()
                );
                by_hand()
            }
            Err(e) => {
                eprintln!("lab captures not replayable ({e}); using records built by hand");
                by_hand()
            }
        }
    })
}

/// 600 records of every type with varied fields.
pub fn by_hand() -> Vec<Record> {
    use dcsensor::proto::FlowInfo;
    use dcsensor::record::*;
    (0..600u64)
        .map(|i| {
            let flow = FlowInfo {
                client: format!("192.0.2.{}", i % 200 + 1).parse().unwrap(),
                client_port: 49152 + i as u16,
                server: "192.0.2.250".parse().unwrap(),
                server_port: [88, 53, 135, 445, 445][i as usize % 5],
                transport: if i % 5 == 1 {
                    Transport::Udp
                } else {
                    Transport::Tcp
                },
            };
            let ts = 1_700_000_000 * NS + i * 7_654_321;
            let body = match i % 5 {
                0 => Body::Kerberos(Box::new(Kerberos {
                    request: Some("TGS-REQ"),
                    client: Some(format!("user{i}")),
                    realm: Some("EXAMPLE.ORG".into()),
                    service: Some(format!("cifs/host{i}.example.org")),
                    etypes: vec![18, 17, 23],
                    kdc_options: vec!["forwardable", "renewable", "canonicalize"],
                    reply: Some(if i % 10 == 0 { "TGS-REP" } else { "KRB-ERROR" }),
                    error: (i % 10 != 0).then_some(Code::Name("KDC_ERR_S_PRINCIPAL_UNKNOWN")),
                    ticket_etype: (i % 10 == 0).then_some(23),
                    ticket_hash: Some(format!("{:032x}", i.wrapping_mul(0x9e37_79b9_7f4a_7c15))),
                    rtt: Some(i * 1_234 + 567),
                    ..Default::default()
                })),
                1 => Body::Dns(Box::new(Dns {
                    id: i as u16,
                    opcode: Code::Name("QUERY"),
                    query: Some(format!("_ldap._tcp.dc._msdcs.site{i}.example.org")),
                    qtype: Some(Code::Name("SRV")),
                    qclass: Some(Code::Name("IN")),
                    rcode: Some(if i % 3 == 0 {
                        Code::Name("NXDOMAIN")
                    } else {
                        Code::Num(11)
                    }),
                    flags: vec!["aa", "rd", "ra"],
                    answers: vec![format!("0 100 389 dc{i}.example.org")],
                    ttls: vec![600],
                    answer_count: None,
                    updates: vec![],
                    rtt: Some(i * 999),
                })),
                2 => Body::Dcerpc(Box::new(Dcerpc {
                    interface: Some("samr".into()),
                    interface_uuid: Some("12345778-1234-abcd-ef00-0123456789ac".into()),
                    interface_version: Some("1.0".into()),
                    opnum: Some(13),
                    operation: Some("SamrEnumerateUsersInDomain"),
                    auth_level: Some(Code::Name("privacy")),
                    stub_bytes: Some(i * 17),
                    rtt: Some(1),
                    ..Default::default()
                })),
                3 => Body::Ntlm(Box::new(Ntlm {
                    carrier: Some(Carrier::Smb2),
                    user: Some(format!("svc{i}")),
                    domain: Some("EXAMPLE".into()),
                    workstation: Some("WS01".into()),
                    version: Some("NTLMv2"),
                    flags: vec!["sign", "seal", "key_exch"],
                    mic: Some(i % 2 == 0),
                    success: Some(i % 4 == 0),
                    status: Some(Code::Num(-1_073_741_715)),
                    ..Default::default()
                })),
                _ => Body::Smb(Box::new(Smb {
                    action: "open",
                    share: Some("\\\\DC01\\IPC$".into()),
                    path: Some("samr".into()),
                    dialect: Some("SMB 3.1.1"),
                    status: Some(Code::Name("STATUS_SUCCESS")),
                    ..Default::default()
                })),
            };
            Record::new(ts, Some(&flow), body)
        })
        .collect()
}
