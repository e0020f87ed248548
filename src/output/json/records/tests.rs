//! The records' encoder against `serde_json`: random records of every type, every field present
//! or absent at random, strings with every kind of byte JSON escapes, numbers at their extremes.
//! The bodies are built with every field named (no `..Default::default()`), so a field added to
//! a record type must be given here, and then the comparison checks the encoder writes it.

use super::*;
use crate::record::{EndpointText, Kerberos, UuidText, VersionText};
use crate::stats::StatsRecord;
use std::net::{Ipv4Addr, Ipv6Addr};

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn coin(&mut self) -> bool {
        self.next() & 1 == 1
    }
    fn pick<T: Copy>(&mut self, of: &[T]) -> T {
        of[self.below(of.len() as u64) as usize]
    }
    fn opt<T>(&mut self, f: impl FnOnce(&mut Rng) -> T) -> Option<T> {
        if self.coin() {
            Some(f(self))
        } else {
            None
        }
    }
    fn vec<T>(&mut self, mut f: impl FnMut(&mut Rng) -> T) -> Vec<T> {
        let n = match self.below(4) {
            0 | 1 => 0,
            2 => 1,
            _ => self.below(6) as usize,
        };
        (0..n).map(|_| f(self)).collect()
    }
    /// A number at an extreme, a small one, or any.
    fn u64(&mut self) -> u64 {
        match self.below(5) {
            0 => self.pick(&[0, 1, 9, 10, 99, 100, 999, 1000, u64::MAX, u64::MAX - 1]),
            1 => 10u64.pow(self.below(20) as u32) - self.below(2),
            2 => self.below(1000),
            3 => self.below(100_000),
            _ => self.next() >> self.below(64),
        }
    }
    fn i64(&mut self) -> i64 {
        match self.below(4) {
            0 => self.pick(&[0, -1, 1, i64::MIN, i64::MAX, -10, -99, -100]),
            _ => {
                let v = self.u64() as i64;
                if self.coin() {
                    v.wrapping_neg()
                } else {
                    v
                }
            }
        }
    }
    fn i32(&mut self) -> i32 {
        match self.below(3) {
            0 => self.pick(&[0, -1, 1, i32::MIN, i32::MAX, 17, 18, 23, -128]),
            _ => self.i64() as i32,
        }
    }
    fn string(&mut self) -> String {
        const CHARS: &[char] = &[
            'a', 'Z', '0', '9', ' ', '.', '/', '-', '$', '@', '"', '\\', '\n', '\r', '\t', '\u{0}',
            '\u{1}', '\u{8}', '\u{c}', '\u{1f}', '\u{7f}', 'é', '€', '😀', '\u{2028}',
        ];
        let len = match self.below(4) {
            0 => self.below(4),
            1 => self.below(12),
            2 => self.below(40),
            _ => self.below(90),
        };
        let plain = self.below(3) == 0;
        (0..len)
            .map(|_| {
                if plain {
                    self.pick(&CHARS[..8])
                } else {
                    self.pick(CHARS)
                }
            })
            .collect()
    }
    fn name(&mut self) -> &'static str {
        self.pick(NAMES)
    }
    fn code(&mut self) -> Code {
        if self.coin() {
            Code::Name(self.name())
        } else {
            Code::Num(self.i64())
        }
    }
    fn names(&mut self) -> Names {
        let bits = self.next();
        if self.coin() {
            Names::pick(TABLE, |v| bits >> v & 1 == 1)
        } else if self.coin() {
            Names::list(NAMES)
        } else {
            Names::default()
        }
    }
    fn secs(&mut self) -> u64 {
        match self.below(3) {
            0 => self.below(10_000_000_000),
            1 => 1_600_000_000_000_000_000 + self.below(400_000_000_000_000_000),
            _ => self.next(),
        }
    }
    fn ip(&mut self) -> IpAddr {
        match self.below(6) {
            0..=3 => Ipv4Addr::from(self.next() as u32 >> (8 * self.below(4))).into(),
            4 => Ipv6Addr::from(u128::from(self.next()) << 64 | u128::from(self.next())).into(),
            _ => self
                .pick(&[
                    "::",
                    "::1",
                    "fe80::1",
                    "::ffff:10.1.2.3",
                    "2001:db8::8a2e:370:7334",
                ])
                .parse::<Ipv6Addr>()
                .unwrap()
                .into(),
        }
    }
    fn carrier(&mut self) -> Carrier {
        self.pick(&[
            Carrier::Smb1,
            Carrier::Smb2,
            Carrier::Dcerpc,
            Carrier::Http,
            Carrier::Ldap,
            Carrier::Dns,
        ])
    }
    fn arg(&mut self) -> ArgValue {
        match self.below(5) {
            0 => ArgValue::Str(self.string()),
            1 => ArgValue::Name(self.name()),
            2 => ArgValue::Int(self.i64()),
            3 => ArgValue::Bool(self.coin()),
            _ => ArgValue::List(self.vec(Rng::string)),
        }
    }
    fn tunnel(&mut self) -> TunnelPath {
        use crate::packet::tunnel::Kind;
        let mut t = TunnelPath::NONE;
        for _ in 0..self.below(6) {
            let k = self.pick(&[
                Kind::Gre,
                Kind::Erspan,
                Kind::Vxlan,
                Kind::Geneve,
                Kind::Mpls,
                Kind::Pppoe,
                Kind::Ipip,
            ]);
            let _ = t.push(k);
        }
        t
    }
}

/// Static names as the tables give them, and some they never would.
const NAMES: &[&str] = &[
    "AS-REQ",
    "TGS-REP",
    "KDC_ERR_PREAUTH_REQUIRED",
    "samr",
    "",
    "a\"quote",
    "back\\slash",
    "ctl\u{1}",
    "nl\n",
    "ünïcödé €",
];

const TABLE: &[(u32, &str)] = &[
    (0, "forwardable"),
    (1, "renewable"),
    (2, "canonicalize"),
    (3, "q\"uoted"),
    (4, "x"),
    (5, "NEGOTIATE_UNICODE"),
    (63, "high"),
];

fn kerberos(g: &mut Rng) -> Body {
    Body::Kerberos(Box::new(Kerberos {
        request: g.opt(Rng::name),
        client: g.opt(Rng::string),
        realm: g.opt(Rng::string),
        service: g.opt(Rng::string),
        etypes: g.vec(Rng::i32),
        kdc_options: g.names(),
        preauth: g.vec(Rng::i32),
        preauth_etype: g.opt(Rng::i32),
        pac_request: g.opt(Rng::coin),
        till: g.opt(Rng::secs),
        reply: g.opt(Rng::name),
        error: g.opt(Rng::code),
        error_etypes: g.vec(Rng::i32),
        ticket_etype: g.opt(Rng::i32),
        reply_etype: g.opt(Rng::i32),
        ticket_hash: g.opt(Rng::string),
        presented_hash: g.opt(Rng::string),
        presented_etype: g.opt(Rng::i32),
        s4u_user: g.opt(Rng::string),
        additional_ticket_hash: g.opt(Rng::string),
        pkinit_subject: g.opt(Rng::string),
        pkinit_issuer: g.opt(Rng::string),
        pkinit_san: g.vec(Rng::string),
        carrier: g.opt(Rng::carrier),
        rtt: g.opt(Rng::secs),
    }))
}

fn dns(g: &mut Rng) -> Body {
    Body::Dns(Dns {
        id: g.next() as u16,
        opcode: g.code(),
        query: g.opt(Rng::string),
        qtype: g.opt(Rng::code),
        qclass: g.opt(Rng::code),
        rcode: g.opt(Rng::code),
        flags: g.names(),
        answers: g.vec(Rng::string),
        ttls: g.vec(|g| g.u64() as u32),
        answer_count: g.opt(Rng::u64),
        updates: g.vec(Rng::string),
        rtt: g.opt(Rng::secs),
    })
}

fn dcerpc(g: &mut Rng) -> Body {
    Body::Dcerpc(Dcerpc {
        interface: g.opt(|g| {
            if g.coin() {
                InterfaceName::Known(g.name())
            } else {
                InterfaceName::Uuid(UuidText::uuid(u128::from(g.next()) << 64 | 7))
            }
        }),
        interface_uuid: g.opt(|g| UuidText::uuid(u128::from(g.next()) * 3)),
        interface_version: g.opt(|g| VersionText::version(g.next() as u16, g.next() as u16)),
        opnum: g.opt(|g| g.u64() as u16),
        operation: g.opt(Rng::name),
        named_pipe: g.opt(|g| Arc::from(g.string())),
        auth_type: g.opt(Rng::code),
        auth_level: g.opt(Rng::code),
        fault: g.opt(|g| {
            if g.coin() {
                Cow::Borrowed(g.name())
            } else {
                Cow::Owned(g.string())
            }
        }),
        stub_bytes: g.opt(Rng::u64),
        endpoint: g.opt(|g| EndpointText::endpoint(g.coin(), g.next() as u16)),
        args: g.opt(|g| Args(g.vec(|g| (g.name(), g.arg())))),
        status: g.opt(Rng::code),
        rtt: g.opt(Rng::secs),
    })
}

fn ntlm(g: &mut Rng) -> Body {
    Body::Ntlm(Ntlm {
        carrier: g.opt(Rng::carrier),
        user: g.opt(Rng::string),
        domain: g.opt(Rng::string),
        workstation: g.opt(Rng::string),
        version: g.opt(Rng::name),
        server_nb_name: g.opt(Rng::string),
        server_dns_name: g.opt(Rng::string),
        server_dns_domain: g.opt(Rng::string),
        flags: g.names(),
        mic: g.opt(Rng::coin),
        target_name: g.opt(Rng::string),
        channel_bindings: g.opt(Rng::coin),
        success: g.opt(Rng::coin),
        status: g.opt(Rng::code),
    })
}

fn smb(g: &mut Rng) -> Body {
    Body::Smb(Smb {
        action: g.name(),
        access: g.names(),
        disposition: g.opt(Rng::code),
        bytes_read: g.opt(Rng::u64),
        bytes_written: g.opt(Rng::u64),
        share: g.opt(|g| Arc::from(g.string())),
        path: g.opt(Rng::string),
        user: g.opt(|g| Arc::from(g.string())),
        dialect: g.opt(Rng::name),
        status: g.opt(Rng::code),
    })
}

fn ldap(g: &mut Rng) -> Body {
    Body::Ldap(Ldap {
        op: g.name(),
        bind: g.opt(Rng::name),
        mechanism: g.opt(Rng::string),
        name: g.opt(Rng::string),
        sealed: g.opt(Rng::coin),
        base: g.opt(Rng::string),
        scope: g.opt(Rng::code),
        filter: g.opt(Rng::string),
        attributes: g.vec(Rng::string),
        size_limit: g.opt(Rng::i64),
        entries: g.opt(Rng::u64),
        dn: g.opt(Rng::string),
        changes: g.vec(Rng::string),
        oid: g.opt(Rng::string),
        success: g.opt(Rng::coin),
        result: g.opt(Rng::code),
        rtt: g.opt(Rng::secs),
    })
}

fn record(g: &mut Rng, body: Body) -> Record {
    let transport = [Transport::Tcp, Transport::Udp];
    Record {
        ts: g.secs(),
        kind: body.kind(),
        tunnel: if g.below(4) == 0 {
            g.tunnel()
        } else {
            TunnelPath::NONE
        },
        src: g.opt(Rng::ip),
        sport: g.opt(|g| g.u64() as u16),
        dst: g.opt(Rng::ip),
        dport: g.opt(|g| g.u64() as u16),
        proto: g.opt(|g| g.pick(&transport)),
        body,
    }
}

fn ours(r: &Record) -> String {
    let mut out = b"prefix ".to_vec();
    write_record(&mut out, r).unwrap();
    String::from_utf8(out[7..].to_vec()).unwrap()
}

fn check(r: &Record) {
    let want = serde_json::to_string(r).unwrap();
    assert_eq!(ours(r), want, "{r:?}");
}

#[test]
fn random_records_of_every_type_are_written_as_serde_json_writes_them() {
    let makers: [fn(&mut Rng) -> Body; 6] = [kerberos, dns, dcerpc, ntlm, smb, ldap];
    let mut g = Rng(0x9e37_79b9_7f4a_7c15);
    for i in 0..60_000 {
        let body = makers[i % makers.len()](&mut g);
        check(&record(&mut g, body));
    }
}

#[test]
fn records_with_every_field_absent_and_the_stats_record_are_serde_jsons() {
    let mut g = Rng(1);
    for body in [
        Body::Kerberos(Box::default()),
        Body::Dcerpc(Dcerpc::default()),
        Body::Ntlm(Ntlm::default()),
        Body::Smb(Smb::default()),
        Body::Ldap(Ldap::default()),
        Body::Stats(Box::new(StatsRecord {
            upstream_backlog: Some(3),
            last: true,
            records_by_type: vec![("dns", 7), ("kerberos", u64::MAX)],
            ..Default::default()
        })),
    ] {
        check(&Record::new(0, None, body.clone()));
        check(&record(&mut g, body));
    }
    check(&Record::new(u64::MAX, None, dns(&mut g)));
}

#[test]
fn integers_and_addresses_are_written_as_serde_json_writes_them() {
    let mut g = Rng(7);
    let mut vals: Vec<u64> = (0..=20)
        .flat_map(|p| {
            let x = 10u128.pow(p);
            [x - 1, x, x + 1].map(|v| v.min(u128::from(u64::MAX)) as u64)
        })
        .collect();
    vals.extend((0..10_000).map(|_| g.u64()));
    for v in vals {
        let mut out = Vec::new();
        write_u64(&mut out, v);
        assert_eq!(out, serde_json::to_vec(&v).unwrap());
        let s = v as i64;
        let mut out = Vec::new();
        s.write(&mut out);
        assert_eq!(out, serde_json::to_vec(&s).unwrap());
    }
    for a in 0..=255u8 {
        for b in [0u8, 1, 9, 10, 99, 100, 255] {
            let ip = IpAddr::from([a, b, 255 - a, a / 7]);
            let mut out = b"x".to_vec();
            ip.write(&mut out);
            assert_eq!(out[1..], *format!("\"{ip}\"").as_bytes());
        }
    }
}
