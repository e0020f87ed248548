//! LDAP on TCP 389 and 3268, just enough to find binds (simple, SASL, sicily) and their results:
//! one `ldap` record per BindRequest and its BindResponse, and the NTLM or Kerberos tokens they
//! carry handed to [`super::gssapi::inspect`] (carrier `ldap`).
//!
//! Messages are framed by their BER length and buffered up to
//! [`super::DecoderConfig::max_header`]; larger ones (search results) are skipped by length
//! without buffering. After a successful SASL or sicily bind that negotiated a security layer,
//! or after StartTLS, the stream is no longer LDAPMessages (SASL wrap tokens or TLS records): the
//! decoder notices the first message that does not start like one and stops there, counting
//! nothing as malformed.

pub mod parse;

use super::gssapi::parse::{header, header_incomplete};
use super::ntlm::NtlmAuth;
use super::{Ctx, Dir, TcpApp};
use crate::record::{Body, Carrier, Code, Ldap, Ts};
use crate::stats::Counter;
use parse::{Auth, Op};

/// Longest SASL mechanism name kept.
const MAX_MECHANISM: usize = 64;
/// Longest bind name kept (characters of the DN).
const MAX_NAME: usize = 1024;

/// A decoder for one connection.
pub fn tcp() -> Box<dyn TcpApp> {
    Box::new(LdapConn::default())
}

/// Whether the first bytes of a TCP connection on an unclaimed port look like this protocol: a
/// BindRequest.
pub fn probe(dir: Dir, data: &[u8]) -> bool {
    let Some((0x30, hl, _)) = header(data) else {
        return false;
    };
    let Some(after) = data.get(hl..) else {
        return false;
    };
    match parse::message(data) {
        Ok((_, m)) => dir == Dir::ToServer && matches!(m.op, Op::BindRequest { .. }),
        // A first segment may hold only the start of the message: look for the id and the tag.
        Err(_) => {
            dir == Dir::ToServer
                && matches!(super::gssapi::parse::tlv(after), Ok((rest, id)) if id.tag == 0x02 && rest.first() == Some(&0x60))
        }
    }
}

#[derive(Debug, Default)]
struct Side {
    buf: Vec<u8>,
    /// Bytes of an oversized message still to skip.
    skip: u64,
}

/// A bind waiting for its response.
#[derive(Debug)]
struct Bind {
    id: i64,
    ts: Ts,
    kind: &'static str,
    mechanism: Option<String>,
    name: Option<String>,
}

/// The decoder of one LDAP connection.
#[derive(Debug, Default)]
pub struct LdapConn {
    sides: [Side; 2],
    binds: Vec<Bind>,
    auth: NtlmAuth,
    /// A SASL or sicily bind succeeded, or StartTLS was asked for: the stream may turn into
    /// wrapped or TLS bytes.
    may_wrap: bool,
    /// The stream is no longer LDAP (wrapped, TLS, or lost after an error): ignore it.
    stopped: bool,
}

impl LdapConn {
    fn emit_bind(cx: &mut Ctx<'_>, b: Bind, result: Option<i64>) {
        let rec = Ldap {
            bind: Some(b.kind),
            mechanism: b.mechanism,
            name: b.name,
            success: result.filter(|&r| r != 14).map(|r| r == 0),
            result: result.map(|r| Code::new(r, parse::result_name(r))),
            rtt: result.map(|_| cx.now.saturating_sub(b.ts)),
        };
        cx.emit(b.ts, Body::Ldap(Box::new(rec)));
    }

    fn text(b: &[u8], cap: usize) -> Option<String> {
        if b.is_empty() {
            return None;
        }
        Some(String::from_utf8_lossy(b).chars().take(cap).collect())
    }

    fn message(&mut self, cx: &mut Ctx<'_>, dir: Dir, msg: &[u8]) {
        let m = match parse::message(msg) {
            Ok((_, m)) => m,
            Err(_) => {
                cx.count(Counter::MalformedLdap);
                return;
            }
        };
        match (dir, m.op) {
            (Dir::ToServer, Op::BindRequest { name, auth }) => {
                if let Some(k) = self.binds.iter().position(|b| b.id == m.id) {
                    Self::emit_bind(cx, self.binds.swap_remove(k), None);
                }
                if self.binds.len() >= cx.config.max_pending {
                    let b = self.binds.remove(0);
                    Self::emit_bind(cx, b, None);
                }
                let (kind, mechanism) = match auth {
                    Auth::Simple | Auth::Other(_) => ("simple", None),
                    Auth::Sasl {
                        mechanism,
                        credentials,
                    } => {
                        if let Some(c) = credentials.filter(|c| !c.is_empty()) {
                            super::gssapi::inspect(cx, Carrier::Ldap, c, &mut self.auth);
                        }
                        ("sasl", Self::text(mechanism, MAX_MECHANISM))
                    }
                    Auth::SicilyDiscovery => ("sicily", None),
                    Auth::SicilyNegotiate(t) | Auth::SicilyResponse(t) => {
                        super::gssapi::inspect(cx, Carrier::Ldap, t, &mut self.auth);
                        ("sicily", None)
                    }
                };
                let kind = if matches!(auth, Auth::Other(_)) {
                    "other"
                } else {
                    kind
                };
                self.binds.push(Bind {
                    id: m.id,
                    ts: cx.now,
                    kind,
                    mechanism,
                    name: Self::text(name, MAX_NAME),
                });
            }
            (
                Dir::ToClient,
                Op::BindResponse {
                    result,
                    matched_dn,
                    sasl_creds,
                },
            ) => {
                if result != 14 && self.auth.pending() {
                    self.auth.verdict(
                        cx,
                        result == 0,
                        Code::new(result, parse::result_name(result)),
                    );
                }
                if matched_dn.starts_with(crate::proto::ntlm::parse::SIGNATURE) {
                    // Sicily: the CHALLENGE travels in matchedDN.
                    self.auth.message(cx, Carrier::Ldap, matched_dn);
                }
                if let Some(c) = sasl_creds.filter(|c| !c.is_empty()) {
                    super::gssapi::inspect(cx, Carrier::Ldap, c, &mut self.auth);
                }
                if let Some(k) = self.binds.iter().position(|b| b.id == m.id) {
                    let b = self.binds.swap_remove(k);
                    if result == 0 && b.kind != "simple" {
                        self.may_wrap = true;
                    }
                    Self::emit_bind(cx, b, Some(result));
                }
            }
            (Dir::ToServer, Op::ExtendedRequest { name }) if name == parse::OID_STARTTLS => {
                self.may_wrap = true
            }
            _ => {}
        }
    }
}

impl LdapConn {
    /// Decodes the complete messages at the start of `view`; returns how many bytes were used.
    /// An oversized message is consumed as far as present and the rest left to skip.
    fn frames(&mut self, cx: &mut Ctx<'_>, dir: Dir, view: &[u8]) -> usize {
        let cap = cx.config.max_header;
        let mut used = 0;
        while let Some(rest) = view.get(used..).filter(|r| !r.is_empty()) {
            if rest[0] != 0x30 {
                if !self.may_wrap {
                    cx.count(Counter::MalformedLdap);
                }
                self.stopped = true;
                break;
            }
            let Some((_, hl, len)) = header(rest) else {
                if !header_incomplete(rest) {
                    cx.count(Counter::MalformedLdap);
                    self.stopped = true;
                }
                break;
            };
            let total = hl.saturating_add(len);
            if total > cap {
                // Too large to buffer: skip it (counted as a drop when it is a bind).
                let op = rest
                    .get(hl..)
                    .and_then(|b| super::gssapi::parse::tlv(b).ok())
                    .and_then(|(r, _)| r.first());
                if matches!(op, None | Some(0x60) | Some(0x61)) {
                    cx.count_n(Counter::DropDecoderCap, total as u64);
                }
                let have = rest.len().min(total);
                self.sides[dir.idx()].skip = (total - have) as u64;
                return used + have;
            }
            if rest.len() < total {
                break;
            }
            self.message(cx, dir, &rest[..total]);
            used += total;
            if self.stopped {
                break;
            }
        }
        used
    }
}

impl TcpApp for LdapConn {
    fn data(&mut self, cx: &mut Ctx<'_>, dir: Dir, mut data: &[u8]) {
        let cap = cx.config.max_header;
        while !data.is_empty() && !self.stopped {
            let side = &mut self.sides[dir.idx()];
            if side.skip > 0 {
                let k = side.skip.min(data.len() as u64);
                side.skip -= k;
                data = &data[k as usize..];
                continue;
            }
            if side.buf.is_empty() {
                let used = self.frames(cx, dir, data);
                data = &data[used..];
                let side = &mut self.sides[dir.idx()];
                if !self.stopped && side.skip == 0 {
                    // An incomplete message (at most `cap` bytes, or its header is incomplete).
                    side.buf.extend_from_slice(data);
                    return;
                }
            } else {
                let room = cap.saturating_add(8).saturating_sub(side.buf.len());
                let take = data.len().min(room);
                side.buf.extend_from_slice(&data[..take]);
                data = &data[take..];
                let buf = std::mem::take(&mut side.buf);
                let used = self.frames(cx, dir, &buf);
                let side = &mut self.sides[dir.idx()];
                if !self.stopped && side.skip == 0 {
                    side.buf = buf;
                    side.buf.drain(..used);
                }
            }
        }
        if self.stopped {
            self.sides = Default::default();
        }
    }

    fn gap(&mut self, _cx: &mut Ctx<'_>, dir: Dir, len: u64) {
        let side = &mut self.sides[dir.idx()];
        if side.skip >= len && side.buf.is_empty() {
            side.skip -= len;
        } else {
            // Message boundaries are lost: LDAP has no resynchronisation marker.
            self.stopped = true;
            side.buf = Vec::new();
        }
    }

    fn tick(&mut self, cx: &mut Ctx<'_>) {
        let timeout = cx.config.request_timeout;
        let now = cx.now;
        while let Some(k) = self
            .binds
            .iter()
            .position(|b| now.saturating_sub(b.ts) > timeout)
        {
            let b = self.binds.remove(k);
            Self::emit_bind(cx, b, None);
        }
    }

    fn close(&mut self, cx: &mut Ctx<'_>) {
        self.binds.sort_by_key(|b| b.ts);
        for b in std::mem::take(&mut self.binds) {
            Self::emit_bind(cx, b, None);
        }
        self.auth.flush(cx);
    }

    fn buffered(&self) -> usize {
        self.sides.iter().map(|s| s.buf.capacity()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::parse::tests::{
        LAB10_BIND_CHALLENGE, LAB10_BIND_NEGOTIATE, LAB10_BIND_SUCCESS, LAB10_SEALED,
    };
    use super::*;
    use crate::proto::ntlm::parse::tests::hex;
    use crate::proto::testutil::Harness;
    use crate::record::{Transport, NS};

    fn run(msgs: &[(Dir, Vec<u8>, u64)], split: usize) -> Harness {
        let mut h = Harness::new(Transport::Tcp, 389);
        let mut app = tcp();
        for (dir, m, t) in msgs {
            for piece in m.chunks(split) {
                app.data(&mut h.cx(*t), *dir, piece);
            }
        }
        app.close(&mut h.cx(100 * NS));
        h
    }

    fn lab10() -> Vec<(Dir, Vec<u8>, u64)> {
        let ms = NS / 1000;
        vec![
            (Dir::ToServer, hex(LAB10_BIND_NEGOTIATE), 10 * NS),
            (Dir::ToClient, hex(LAB10_BIND_CHALLENGE), 10 * NS + 2 * ms),
            (
                Dir::ToServer,
                hex(LAB10_BIND_AUTHENTICATE),
                10 * NS + 5 * ms,
            ),
            (Dir::ToClient, hex(LAB10_BIND_SUCCESS), 10 * NS + 9 * ms),
            (Dir::ToServer, hex(LAB10_SEALED), 11 * NS),
        ]
    }

    // testdata-pcaps/lab/10_attack_kerberoasting.pcap, TCP payload of frame 8: the second
    // SASL bind with the AUTHENTICATE (alice, domain lab.example, no workstation; impacket fills
    // the MIC field but sets no MsvAvFlags, so `mic` is false).
    const LAB10_BIND_AUTHENTICATE: &str = "3082019f02043d5f3c92608201950201030400a382018c040a4753532d53504e45474f0482017ca182017830820174a282015c048201584e544c4d53535000030000001800180078000000b800b8009000000016001600580000000a000a006e00000000000000780000001000100048010000358288e20a00614a0000000fecc007afe8dd111961c77dae9be87fa36c00610062002e006500780061006d0070006c00650061006c0069006300650017f8b635dd20698b114547a1a4b7917754795a32434553443d0650d1cef2b4fbd2ca74ea39f896180101000000000000766b97c55d7fdd0154795a324345534400000000020006004c004100420001000600440043003100040016006c00610062002e006500780061006d0070006c00650003001e006400630031002e006c00610062002e006500780061006d0070006c00650007000800766b97c55d7fdd01090028006c006400610070002f006400630031002e006c00610062002e006500780061006d0070006c006500000000006bd88d4271c7b72cf795c43439ac4d91a31204100100000012f527c83f31716c00000000";

    #[test]
    fn sasl_ntlm_bind_of_getuserspns() {
        for split in [1, 13, 100_000] {
            let h = run(&lab10(), split);
            let out: Vec<serde_json::Value> = h
                .out
                .iter()
                .map(|r| serde_json::to_value(r).unwrap())
                .collect();
            assert_eq!(out.len(), 3, "split {split}: {out:?}");
            // The first bind round: NEGOTIATE answered by saslBindInProgress (not final).
            assert_eq!(
                out[0],
                serde_json::json!({"ts": 10.0, "type": "ldap", "src": "192.0.2.2", "sport": 49152, "dst": "192.0.2.1",
                    "dport": 389, "proto": "tcp", "bind": "sasl", "mechanism": "GSS-SPNEGO",
                    "result": "saslBindInProgress", "rtt": 0.002})
            );
            // The NTLM record comes at the verdict of the second round.
            assert_eq!(
                out[1],
                serde_json::json!({"ts": 10.0, "type": "ntlm", "src": "192.0.2.2", "sport": 49152, "dst": "192.0.2.1",
                    "dport": 389, "proto": "tcp", "carrier": "ldap", "user": "alice", "domain": "lab.example",
                    "version": "NTLMv2", "server_nb_name": "DC1", "server_dns_name": "dc1.lab.example",
                    "server_dns_domain": "lab.example",
                    "flags": ["unicode", "request_target", "sign", "seal", "ntlm", "always_sign",
                        "extended_session_security", "target_info", "version", "128", "key_exch", "56"],
                    "mic": false, "success": true, "status": "success"})
            );
            assert_eq!(
                out[2],
                serde_json::json!({"ts": 10.005, "type": "ldap", "src": "192.0.2.2", "sport": 49152, "dst": "192.0.2.1",
                    "dport": 389, "proto": "tcp", "bind": "sasl", "mechanism": "GSS-SPNEGO", "success": true,
                    "result": "success", "rtt": 0.004})
            );
            // The sealed traffic after the bind is not counted as malformed.
            assert_eq!(h.counters.get(Counter::MalformedLdap), 0);
            assert_eq!(h.counters.get(Counter::MalformedGssapi), 0);
            assert_eq!(h.counters.get(Counter::MalformedNtlm), 0);
        }
    }

    #[test]
    fn simple_bind_refused_and_unanswered() {
        // A simple bind built field by field: messageID 2, version 3, name, password.
        let name = b"cn=alice,dc=lab,dc=example";
        let mut bind = vec![0x02, 0x01, 0x03, 0x04, name.len() as u8];
        bind.extend_from_slice(name);
        bind.extend_from_slice(&[0x80, 0x03, b'x', b'y', b'z']);
        let mut op = vec![0x60, bind.len() as u8];
        op.extend_from_slice(&bind);
        let mut req = vec![0x30, (op.len() + 3) as u8, 0x02, 0x01, 0x02];
        req.extend_from_slice(&op);
        let resp = vec![
            0x30, 0x0c, 0x02, 0x01, 0x02, 0x61, 0x07, 0x0a, 0x01, 0x31, 0x04, 0x00, 0x04, 0x00,
        ];
        let mut second = req.clone();
        second[4] = 3; // another messageID, never answered
        let h = run(
            &[
                (Dir::ToServer, req, NS),
                (Dir::ToClient, resp, 2 * NS),
                (Dir::ToServer, second, 3 * NS),
            ],
            5,
        );
        assert_eq!(h.out.len(), 2);
        let Body::Ldap(a) = &h.out[0].body else {
            panic!()
        };
        assert_eq!(
            (a.bind, a.name.as_deref(), a.success, a.result, a.rtt),
            (
                Some("simple"),
                Some("cn=alice,dc=lab,dc=example"),
                Some(false),
                Some(Code::Name("invalidCredentials")),
                Some(NS)
            )
        );
        let Body::Ldap(b) = &h.out[1].body else {
            panic!()
        };
        assert_eq!((b.success, b.result, b.rtt), (None, None, None));
        assert_eq!(h.counters.get(Counter::MalformedLdap), 0);
    }

    #[test]
    fn hostile_streams() {
        // Not LDAP at all: counted once, then ignored.
        let h = run(
            &[
                (Dir::ToServer, b"GET / HTTP/1.1\r\n\r\n".to_vec(), NS),
                (Dir::ToServer, vec![0x30, 0x00], NS),
            ],
            3,
        );
        assert_eq!(h.counters.get(Counter::MalformedLdap), 1);
        // A huge length: skipped by length without buffering, the next message still parsed.
        let mut big = vec![0x30, 0x84, 0x00, 0x10, 0x00, 0x00, 0x02, 0x01, 0x05, 0x64];
        big.resize(0x10_0006, 0);
        let mut msgs = vec![(Dir::ToClient, big, NS)];
        msgs.extend(lab10().into_iter().take(4));
        let h = run(&msgs, 4096);
        assert_eq!(h.out.len(), 3);
        assert_eq!(h.counters.get(Counter::DropDecoderCap), 0);
        assert_eq!(h.counters.get(Counter::MalformedLdap), 0);
        // A well-framed message whose content is garbage; an overlong length octet count.
        let h = run(
            &[
                (Dir::ToServer, vec![0x30, 0x03, 0x04, 0x01, 0x00], NS),
                (Dir::ToServer, vec![0x30, 0x89, 1], NS),
            ],
            2,
        );
        assert_eq!(h.counters.get(Counter::MalformedLdap), 2);
    }

    /// A BER element (definite length, long form where needed).
    fn ber(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut v = vec![tag];
        match content.len() {
            n if n < 0x80 => v.push(n as u8),
            n if n < 0x100 => v.extend_from_slice(&[0x81, n as u8]),
            n => v.extend_from_slice(&[0x82, (n >> 8) as u8, n as u8]),
        }
        v.extend_from_slice(content);
        v
    }

    fn ldap_message(id: u8, op: Vec<u8>) -> Vec<u8> {
        ber(0x30, &[ber(0x02, &[id]), op].concat())
    }

    /// The sicily choices carrying the lab's real NTLM messages (SMB lab capture), framed by us:
    /// [10] sicilyNegotiate, the CHALLENGE in the response's matchedDN, [11] sicilyResponse.
    #[test]
    fn sicily_ntlm_bind_refused() {
        use crate::proto::ntlm::parse::tests::{
            ntlmssp, LAB03_AUTHENTICATE, LAB03_CHALLENGE, LAB03_NEGOTIATE,
        };
        let (n, c, a) = (
            hex(LAB03_NEGOTIATE),
            hex(LAB03_CHALLENGE),
            hex(LAB03_AUTHENTICATE),
        );
        let bind = |id: u8, choice: u8, tok: &[u8]| {
            ldap_message(
                id,
                ber(
                    0x60,
                    &[ber(0x02, &[3]), ber(0x04, b"bob"), ber(choice, tok)].concat(),
                ),
            )
        };
        let resp = |id: u8, rc: u8, dn: &[u8]| {
            ldap_message(
                id,
                ber(
                    0x61,
                    &[ber(0x0a, &[rc]), ber(0x04, dn), ber(0x04, b"")].concat(),
                ),
            )
        };
        let msgs = vec![
            (Dir::ToServer, bind(1, 0x89, b""), NS),
            (Dir::ToClient, resp(1, 0, b"NTLM"), NS + 1000),
            (Dir::ToServer, bind(2, 0x8a, ntlmssp(&n)), 2 * NS),
            (Dir::ToClient, resp(2, 0, ntlmssp(&c)), 2 * NS + 1000),
            (Dir::ToServer, bind(3, 0x8b, ntlmssp(&a)), 3 * NS),
            (Dir::ToClient, resp(3, 49, b""), 3 * NS + 5000),
        ];
        let h = run(&msgs, 7);
        let kinds: Vec<(&str, Option<bool>, Option<Code>)> = h
            .out
            .iter()
            .map(|r| match &r.body {
                Body::Ldap(l) => (l.bind.unwrap(), l.success, l.result),
                Body::Ntlm(n) => ("ntlm", n.success, n.status),
                b => panic!("{b:?}"),
            })
            .collect();
        let (ok, bad) = (
            Some(Code::Name("success")),
            Some(Code::Name("invalidCredentials")),
        );
        assert_eq!(
            kinds,
            [
                ("sicily", Some(true), ok),
                ("sicily", Some(true), ok),
                ("ntlm", Some(false), bad),
                ("sicily", Some(false), bad)
            ]
        );
        let Body::Ntlm(rec) = &h.out[2].body else {
            panic!()
        };
        assert_eq!(
            (rec.user.as_deref(), rec.server_dns_name.as_deref()),
            (Some("bob"), Some("dc1.lab.example"))
        );
        assert_eq!((h.out[2].ts, rec.carrier), (2 * NS, Some(Carrier::Ldap)));
        assert_eq!(
            h.counters.get(Counter::MalformedLdap) + h.counters.get(Counter::MalformedNtlm),
            0
        );
    }

    #[test]
    fn probe_finds_binds() {
        assert!(probe(Dir::ToServer, &hex(LAB10_BIND_NEGOTIATE)));
        assert!(probe(Dir::ToServer, &hex(LAB10_BIND_NEGOTIATE)[..20]));
        assert!(!probe(Dir::ToClient, &hex(LAB10_BIND_CHALLENGE)));
        assert!(!probe(Dir::ToServer, b"GET / HTTP/1.1"));
    }
}
