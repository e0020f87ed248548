//! DNS end to end: the lab captures replayed through the whole pipeline give exact records, and
//! every capture of the shared corpus (and the lab) agrees with tshark on the query names and the
//! number of exchanges.

#[path = "support/corpus.rs"]
mod corpus;
#[path = "support/skip.rs"]
mod skip;

use dcsensor::pipeline::{replay_to_vec, Options};
use dcsensor::record::{Body, Code, Dns, Record, Transport};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

fn replay(paths: &[PathBuf]) -> Vec<Record> {
    let opts = Options {
        workers: 1,
        ..Default::default()
    };
    let r = replay_to_vec(paths, &opts).unwrap_or_else(|e| panic!("replay of {paths:?}: {e}"));
    r.records
}

fn dns_records(recs: &[Record]) -> Vec<(&Record, &Dns)> {
    recs.iter()
        .filter_map(|r| match &r.body {
            Body::Dns(d) => Some((r, d)),
            _ => None,
        })
        .collect()
}

fn lab(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata-pcaps/lab")
        .join(name)
}

fn n(s: &'static str) -> Option<Code> {
    Some(Code::Name(s))
}

#[test]
fn lab_benign_dns_is_exact() {
    let recs = replay(&[lab("05_benign_dns.pcap")]);
    let d = dns_records(&recs);
    assert_eq!(d.len(), 14);
    let soa = "dc1.lab.example hostmaster.lab.example 2 900 600 86400 3600";
    let want: [(&str, &str, &str, &[&str]); 14] = [
        ("dc1.lab.example", "A", "NOERROR", &["10.99.0.1"]),
        (
            "_ldap._tcp.lab.example",
            "SRV",
            "NOERROR",
            &["0 100 389 dc1.lab.example"],
        ),
        (
            "_kerberos._tcp.lab.example",
            "SRV",
            "NOERROR",
            &["0 100 88 dc1.lab.example"],
        ),
        (
            "_kerberos._udp.lab.example",
            "SRV",
            "NOERROR",
            &["0 100 88 dc1.lab.example"],
        ),
        (
            "_kpasswd._tcp.lab.example",
            "SRV",
            "NOERROR",
            &["0 100 464 dc1.lab.example"],
        ),
        (
            "_gc._tcp.lab.example",
            "SRV",
            "NOERROR",
            &["0 100 3268 dc1.lab.example"],
        ),
        (
            "_ldap._tcp.dc._msdcs.lab.example",
            "SRV",
            "NOERROR",
            &["0 100 389 dc1.lab.example"],
        ),
        (
            "_ldap._tcp.Default-First-Site-Name._sites.dc._msdcs.lab.example",
            "SRV",
            "NOERROR",
            &["0 100 389 dc1.lab.example"],
        ),
        ("lab.example", "SOA", "NOERROR", &[soa]),
        ("lab.example", "A", "NOERROR", &["10.99.0.1"]),
        ("ws01.lab.example", "A", "NOERROR", &["10.99.0.2"]),
        (
            "1.0.99.10.in-addr.arpa",
            "PTR",
            "NOERROR",
            &["dc1.lab.example"],
        ),
        (
            "2.0.99.10.in-addr.arpa",
            "PTR",
            "NOERROR",
            &["ws01.lab.example"],
        ),
        ("wpad.lab.example", "A", "NXDOMAIN", &[]),
    ];
    for (k, ((r, x), w)) in d.iter().zip(want).enumerate() {
        assert_eq!(x.query.as_deref(), Some(w.0), "{k}");
        assert_eq!(
            (x.qtype, x.qclass, x.rcode),
            (n(w.1), n("IN"), n(w.2)),
            "{k}"
        );
        assert_eq!(x.answers, w.3, "{k}");
        assert_eq!(x.ttls.len(), w.3.len(), "{k}");
        assert_eq!(
            (x.opcode, &x.flags.to_vec()[..]),
            (Code::Name("QUERY"), &["aa", "rd"][..]),
            "{k}"
        );
        assert!(x.rtt.is_some_and(|t| t > 0 && t < 1_000_000), "{k}");
        assert_eq!(r.src, Some("10.99.0.2".parse().unwrap()), "{k}");
        assert_eq!(
            (r.dst, r.dport, r.proto),
            (
                Some("10.99.0.1".parse().unwrap()),
                Some(53),
                Some(Transport::Udp)
            ),
            "{k}"
        );
    }
    let first = d[0].0;
    assert_eq!(
        (first.ts, first.sport, d[0].1.id, d[0].1.rtt),
        (1795886857136281000, Some(48504), 0xf138, Some(431_000))
    );
}

#[test]
fn lab_zone_transfer_attempts_over_tcp() {
    let recs = replay(&[lab("06_dns_zone_transfer.pcap")]);
    let d = dns_records(&recs);
    type Got<'a> = (
        Option<&'a str>,
        Option<Code>,
        Option<Code>,
        usize,
        Option<Transport>,
    );
    let got: Vec<Got<'_>> = d
        .iter()
        .map(|(r, x)| {
            (
                x.query.as_deref(),
                x.qtype,
                x.rcode,
                x.answers.len(),
                r.proto,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                Some("lab.example"),
                n("AXFR"),
                n("NOERROR"),
                0,
                Some(Transport::Tcp)
            ),
            (
                Some("_msdcs.lab.example"),
                n("AXFR"),
                n("NOERROR"),
                0,
                Some(Transport::Tcp)
            ),
        ]
    );
    assert_eq!(
        (d[0].0.ts, d[0].1.id, d[0].1.rtt),
        (1795886858295888000, 0xcb44, Some(544_000))
    );
}

#[test]
fn lab_many_lookups_are_all_nxdomain() {
    let recs = replay(&[lab("07_dns_many_lookups.pcap")]);
    let d = dns_records(&recs);
    assert_eq!(d.len(), 400);
    assert!(d
        .iter()
        .all(|(_, x)| x.rcode == n("NXDOMAIN") && x.answers.is_empty() && x.flags == ["aa", "rd"]));
    let hosts = d
        .iter()
        .filter(|(_, x)| {
            x.qtype == n("A") && x.query.as_deref().is_some_and(|q| q.starts_with("host-"))
        })
        .count();
    // Long random labels asked for TXT: the tunnel-like pattern.
    let tunnel = d
        .iter()
        .filter(|(_, x)| {
            x.qtype == n("TXT")
                && x.query
                    .as_deref()
                    .is_some_and(|q| q.ends_with(".t.lab.example") && q.len() == 48 + 14)
        })
        .count();
    assert_eq!((hosts, tunnel), (250, 150));
    assert_eq!(d[0].1.query.as_deref(), Some("host-001.lab.example"));
    assert_eq!(
        (d[0].0.ts, d[0].1.rtt),
        (1795886859916242000, Some(470_000))
    );
}

/// What tshark saw in one capture, counted the way our records count: one exchange per query,
/// plus one per response that answers no earlier query of its stream (a zone transfer's
/// further messages excepted).
#[derive(Debug, Default)]
struct Expected {
    names: Vec<String>,
    exchanges: usize,
}

fn tshark_expected(tsv: &Path) -> Expected {
    let text = std::fs::read_to_string(tsv).unwrap();
    let mut lines = text.lines();
    let head: Vec<&str> = lines.next().unwrap_or_default().split('\t').collect();
    let col = |name: &str| {
        head.iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("{tsv:?}: no {name}"))
    };
    let (c_resp, c_id, c_name, c_type) = (
        col("dns.flags.response"),
        col("dns.id"),
        col("dns.qry.name"),
        col("dns.qry.type"),
    );
    let (c_tcp, c_udp, c_proto) = (col("tcp.stream"), col("udp.stream"), col("frame.protocols"));
    let mut e = Expected::default();
    let mut open: HashMap<(String, String), usize> = HashMap::new();
    let mut xfr: std::collections::HashSet<(String, String)> = Default::default();
    for line in lines {
        let f: Vec<&str> = line.split('\t').collect();
        let get = |c: usize| f.get(c).copied().unwrap_or_default();
        let protos = get(c_proto);
        // Not ours: multicast DNS, LLMNR, DNS over HTTP(S) or TLS, and copies quoted in ICMP.
        if ["mdns", "llmnr", "http", "tls", "icmp"]
            .iter()
            .any(|p| protos.split(':').any(|x| x.starts_with(p)))
        {
            continue;
        }
        // Inside a tunnel tshark lists the outer stream first: the inner one is the last.
        let last = |c: usize| get(c).rsplit(',').next().unwrap_or_default();
        let stream = if get(c_tcp).is_empty() {
            format!("u{}", last(c_udp))
        } else {
            format!("t{}", last(c_tcp))
        };
        let resp: Vec<&str> = get(c_resp).split(',').filter(|s| !s.is_empty()).collect();
        let ids: Vec<&str> = get(c_id).split(',').collect();
        let names: Vec<&str> = get(c_name).split(',').filter(|s| !s.is_empty()).collect();
        let types: Vec<&str> = get(c_type).split(',').collect();
        for (k, r) in resp.iter().enumerate() {
            let key = (
                stream.clone(),
                ids.get(k).copied().unwrap_or_default().to_string(),
            );
            // One name per message where the counts agree, else the first for a lone message.
            let name = if names.len() == resp.len() {
                names.get(k)
            } else {
                names.first().filter(|_| resp.len() == 1)
            };
            let qtype = if types.len() == resp.len() {
                types.get(k)
            } else {
                types.first()
            };
            let counted = if *r == "0" {
                *open.entry(key).or_default() += 1;
                true
            } else if let Some(c) = open.get_mut(&key).filter(|c| **c > 0) {
                *c -= 1;
                if stream.starts_with('t') && matches!(qtype.copied(), Some("251" | "252")) {
                    xfr.insert(key);
                }
                false
            } else {
                !xfr.contains(&key)
            };
            if counted {
                e.exchanges += 1;
                if let Some(n) = name {
                    e.names.push(if *n == "<Root>" {
                        ".".to_string()
                    } else {
                        n.to_string()
                    });
                }
            }
        }
    }
    e
}

/// Every capture with a `tshark-dns.tsv` beside it (lab: under `cases/<name>/`).
fn corpus() -> Option<Vec<(PathBuf, PathBuf)>> {
    corpus::shared_present().then(|| corpus::cases("tshark-dns.tsv"))
}

#[test]
fn conformance_with_tshark() {
    if !skip::need_shared("conformance_with_tshark") {
        return;
    }
    let cases = corpus().unwrap_or_default();
    let (mut names_total, mut names_ok, mut ex_total, mut ex_off) =
        (0usize, 0usize, 0usize, 0usize);
    let mut table = Vec::new();
    let mut unreadable = Vec::new();
    for (pcap, tsv) in &cases {
        let exp = tshark_expected(tsv);
        if exp.exchanges == 0 {
            continue;
        }
        let rel = pcap
            .strip_prefix(env!("CARGO_MANIFEST_DIR"))
            .unwrap_or(pcap);
        let opts = Options {
            workers: 1,
            ..Default::default()
        };
        let recs = match replay_to_vec(std::slice::from_ref(pcap), &opts) {
            Ok(r) => r.records,
            Err(e) => {
                // A link layer the packet decoder does not read is not a DNS question.
                unreadable.push(format!(
                    "{} ({} exchanges): {e}",
                    rel.display(),
                    exp.exchanges
                ));
                continue;
            }
        };
        let d = dns_records(&recs);
        let mut ours: HashMap<&str, usize> = HashMap::new();
        for (_, x) in &d {
            if let Some(q) = &x.query {
                *ours.entry(q.as_str()).or_default() += 1;
            }
        }
        let mut ok = 0;
        let mut missing = Vec::new();
        for name in &exp.names {
            match ours.get_mut(name.as_str()).filter(|c| **c > 0) {
                Some(c) => {
                    *c -= 1;
                    ok += 1;
                }
                None => missing.push(name.clone()),
            }
        }
        let extra: Vec<&str> = ours
            .iter()
            .filter(|(_, c)| **c > 0)
            .map(|(n, _)| *n)
            .collect();
        names_total += exp.names.len();
        names_ok += ok;
        ex_total += exp.exchanges;
        ex_off += exp.exchanges.abs_diff(d.len());
        if ok != exp.names.len() || exp.exchanges != d.len() || !extra.is_empty() {
            table.push(format!(
                "{:<70} names {:>4}/{:<4} exchanges ours {:>4} tshark {:>4}  missing {:?} extra {:?}",
                rel.display(),
                ok,
                exp.names.len(),
                d.len(),
                exp.exchanges,
                missing.iter().take(3).collect::<Vec<_>>(),
                extra.iter().take(3).collect::<Vec<_>>()
            ));
        }
    }
    let names_pct = 100.0 * names_ok as f64 / names_total.max(1) as f64;
    let ex_pct = 100.0 * (1.0 - ex_off as f64 / ex_total.max(1) as f64);
    println!("captures compared: {}", cases.len());
    println!("mismatches:");
    for l in &table {
        println!("  {l}");
    }
    println!("captures the packet layer cannot read (left out):");
    for l in &unreadable {
        println!("  {l}");
    }
    println!("names: {names_ok}/{names_total} = {names_pct:.2} %");
    println!("exchanges: {ex_off} off of {ex_total} = {ex_pct:.2} %");
    assert!(names_total > 0);
    assert!(names_pct >= 99.0, "names {names_pct:.2} %");
    assert!(ex_pct >= 98.0, "exchanges {ex_pct:.2} %");
}

/// Who sent each DNS response (QR=1) over UDP, by transaction id: read from the capture with the
/// sensor's own capture reader and packet decoder, independently of the DNS decoder.
fn responders(pcap: &Path) -> HashMap<u16, Vec<(std::net::IpAddr, u16)>> {
    let mut src = dcsensor::capture::file::FileSource::open(pcap).unwrap();
    let mut dec = dcsensor::packet::Decoder::new(Default::default());
    let counters = dcsensor::stats::Counters::default();
    let mut out: HashMap<u16, Vec<_>> = HashMap::new();
    while let Some(frame) = src.next_frame().unwrap() {
        let Some((m, p)) = dec.decode(&frame, &counters) else {
            continue;
        };
        let is_dns = m.sport == 53 || m.dport == 53;
        if m.transport == Transport::Udp && is_dns && p.len() >= 12 && p[2] & 0x80 != 0 {
            let id = u16::from_be_bytes([p[0], p[1]]);
            let who = (m.src, m.sport);
            let v = out.entry(id).or_default();
            if !v.contains(&who) {
                v.push(who);
            }
        }
    }
    out
}

/// A message with QR=1 was sent by the server, whatever the ports say: in every record that saw
/// a response, the responder is the destination. The zeek captures hold one lone answer between
/// two port-53 hosts; the lab captures hold ordinary exchanges.
#[test]
fn roles_come_from_the_message_direction() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut caps: Vec<PathBuf> = ["05_benign_dns.pcap", "07_dns_many_lookups.pcap"]
        .iter()
        .map(|n| root.join("testdata-pcaps/lab").join(n))
        .filter(|p| p.is_file())
        .collect();
    assert!(
        !caps.is_empty(),
        "the lab captures are part of the repository"
    );
    if skip::need_shared("roles_come_from_the_message_direction") {
        for d in [
            "zeek/dns53/dns53.pcap",
            "zeek/dns-huge-ttl/dns-huge-ttl.pcap",
        ] {
            caps.push(root.join("../shared/pcaps").join(d));
        }
    }
    for pcap in &caps {
        let resp = responders(pcap);
        let recs = replay(std::slice::from_ref(pcap));
        let mut checked = 0;
        for (r, d) in dns_records(&recs) {
            if r.proto != Some(Transport::Udp) || d.rcode.is_none() {
                continue;
            }
            let Some(who) = resp.get(&d.id) else { continue };
            let dst = (r.dst.unwrap(), r.dport.unwrap());
            assert!(
                who.contains(&dst),
                "{}: id {} answered by {who:?}, but the record's destination is {dst:?}",
                pcap.display(),
                d.id
            );
            if who.len() == 1 {
                assert_ne!((r.src.unwrap(), r.sport.unwrap()), who[0]);
            }
            checked += 1;
        }
        assert!(checked > 0, "{}: no answered DNS record", pcap.display());
    }
}
