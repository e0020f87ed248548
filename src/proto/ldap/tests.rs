//! Unit tests of the LDAP decoder: framing, binds, operations, sealed sessions, CLDAP.
use super::parse::tests::{
    LAB10_BIND_CHALLENGE, LAB10_BIND_NEGOTIATE, LAB10_BIND_SUCCESS, LAB10_SEALED,
};
use super::*;
use crate::proto::ntlm::parse::tests::hex;
use crate::proto::testutil::Harness;
use crate::record::{Carrier, Code, Transport, NS};

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
                "dport": 389, "proto": "tcp", "op": "bind", "bind": "sasl", "mechanism": "GSS-SPNEGO",
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
                    "extended_session_security", "target_info", "version", "negotiate_128", "key_exch", "negotiate_56"],
                "mic": false, "target_name": "ldap/dc1.lab.example", "channel_bindings": false,
                "success": true, "status": "success"})
        );
        assert_eq!(
            out[2],
            serde_json::json!({"ts": 10.005, "type": "ldap", "src": "192.0.2.2", "sport": 49152, "dst": "192.0.2.1",
                "dport": 389, "proto": "tcp", "op": "bind", "bind": "sasl", "mechanism": "GSS-SPNEGO",
                "sealed": true, "success": true, "result": "success", "rtt": 0.004})
        );
        // The sealed traffic after the bind is counted as such, not as malformed.
        assert_eq!(h.counters.get(Counter::LdapSealed), 1);
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
pub(crate) fn ber(tag: u8, content: &[u8]) -> Vec<u8> {
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

// ---------------------------------------------------------------------------------------------
// Operations other than binds. No lab capture carries them in clear text (the writes in the lab
// are sealed): these messages are built field by field after RFC 4511.

fn resp(id: u8, tag: u8, rc: u8) -> Vec<u8> {
    ldap_message(
        id,
        ber(
            tag,
            &[ber(0x0a, &[rc]), ber(0x04, b""), ber(0x04, b"")].concat(),
        ),
    )
}

fn json(h: &Harness) -> Vec<serde_json::Value> {
    h.out
        .iter()
        .map(|r| {
            let mut v = serde_json::to_value(r).unwrap();
            for k in ["type", "src", "sport", "dst", "dport", "proto"] {
                v.as_object_mut().unwrap().remove(k);
            }
            v
        })
        .collect()
}

fn attribute(ty: &str, vals: &[&[u8]]) -> Vec<u8> {
    let vals: Vec<u8> = vals.iter().flat_map(|v| ber(0x04, v)).collect();
    ber(0x30, &[ber(0x04, ty.as_bytes()), ber(0x31, &vals)].concat())
}

fn change(op: u8, attr: Vec<u8>) -> Vec<u8> {
    ber(0x30, &[ber(0x0a, &[op]), attr].concat())
}

#[test]
fn writes_show_what_changed_and_never_a_secret() {
    let dn = b"CN=Domain Admins,CN=Users,DC=lab,DC=example";
    let sd = vec![1u8; 104];
    let modify = ldap_message(
        5,
        ber(
            0x66,
            &[
                ber(0x04, dn),
                ber(
                    0x30,
                    &[
                        change(
                            0,
                            attribute("member", &[b"CN=eve,CN=Users,DC=lab,DC=example"]),
                        ),
                        change(
                            2,
                            attribute("msDS-AllowedToActOnBehalfOfOtherIdentity", &[&sd]),
                        ),
                        change(2, attribute("unicodePwd", &[b"\"\0P\0w\0\"\0"])),
                        change(1, attribute("servicePrincipalName", &[])),
                    ]
                    .concat(),
                ),
            ]
            .concat(),
        ),
    );
    let add = ldap_message(
        6,
        ber(
            0x68,
            &[
                ber(0x04, b"CN=EVILPC,CN=Computers,DC=lab,DC=example"),
                ber(
                    0x30,
                    &[
                        attribute("objectClass", &[b"top", b"computer"]),
                        attribute("userPassword", &[b"Secret1!"]),
                        attribute("serviceprincipalname", &[b"HOST/EVILPC", b"cifs/EVILPC"]),
                        attribute("userAccountControl", &[b"4096"]),
                    ]
                    .concat(),
                ),
            ]
            .concat(),
        ),
    );
    let del = ldap_message(7, ber(0x4a, b"CN=old,DC=lab,DC=example"));
    let moddn = ldap_message(
        8,
        ber(
            0x6c,
            &[
                ber(0x04, b"CN=a,DC=lab,DC=example"),
                ber(0x04, b"CN=b"),
                ber(0x01, &[0xff]),
            ]
            .concat(),
        ),
    );
    let compare = ldap_message(
        9,
        ber(
            0x6e,
            &[
                ber(0x04, b"CN=a,DC=lab,DC=example"),
                ber(0x30, &[ber(0x04, b"cn"), ber(0x04, b"a")].concat()),
            ]
            .concat(),
        ),
    );
    let whoami = ldap_message(10, ber(0x77, &ber(0x80, b"1.3.6.1.4.1.4203.1.11.3")));
    let ms = NS / 1000;
    let h = run(
        &[
            (Dir::ToServer, modify, NS),
            (Dir::ToClient, resp(5, 0x67, 50), NS + ms),
            (Dir::ToServer, add, 2 * NS),
            (Dir::ToClient, resp(6, 0x69, 0), 2 * NS + ms),
            (Dir::ToServer, del, 3 * NS),
            (Dir::ToClient, resp(7, 0x6b, 32), 3 * NS + ms),
            (Dir::ToServer, moddn, 4 * NS),
            (Dir::ToClient, resp(8, 0x6d, 0), 4 * NS + ms),
            (Dir::ToServer, compare, 5 * NS),
            (Dir::ToClient, resp(9, 0x6f, 5), 5 * NS + ms),
            (Dir::ToServer, whoami, 6 * NS),
            (Dir::ToClient, resp(10, 0x78, 0), 6 * NS + ms),
        ],
        7,
    );
    let out = json(&h);
    assert_eq!(
        out,
        vec![
            serde_json::json!({"ts": 1.0, "op": "modify", "dn": "CN=Domain Admins,CN=Users,DC=lab,DC=example",
                "changes": ["add member CN=eve,CN=Users,DC=lab,DC=example",
                    "replace msDS-AllowedToActOnBehalfOfOtherIdentity 104", "replace unicodePwd",
                    "delete servicePrincipalName"],
                "success": false, "result": "insufficientAccessRights", "rtt": 0.001}),
            serde_json::json!({"ts": 2.0, "op": "add", "dn": "CN=EVILPC,CN=Computers,DC=lab,DC=example",
                "changes": ["add objectClass", "add userPassword", "add serviceprincipalname HOST/EVILPC",
                    "add serviceprincipalname cifs/EVILPC", "add userAccountControl 4096"],
                "success": true, "result": "success", "rtt": 0.001}),
            serde_json::json!({"ts": 3.0, "op": "delete", "dn": "CN=old,DC=lab,DC=example",
                "success": false, "result": "noSuchObject", "rtt": 0.001}),
            serde_json::json!({"ts": 4.0, "op": "modify_dn", "dn": "CN=a,DC=lab,DC=example",
                "success": true, "result": "success", "rtt": 0.001}),
            serde_json::json!({"ts": 5.0, "op": "compare", "dn": "CN=a,DC=lab,DC=example",
                "success": true, "result": "compareFalse", "rtt": 0.001}),
            serde_json::json!({"ts": 6.0, "op": "extended", "oid": "1.3.6.1.4.1.4203.1.11.3",
                "success": true, "result": "success", "rtt": 0.001}),
        ]
    );
    let text = serde_json::to_string(&out).unwrap();
    assert!(!text.contains("Secret1") && !text.contains("P\\u0000w"));
}

fn search_request(id: u8, filter: Vec<u8>, attrs: &[&str]) -> Vec<u8> {
    let attrs: Vec<u8> = attrs.iter().flat_map(|a| ber(0x04, a.as_bytes())).collect();
    ldap_message(
        id,
        ber(
            0x63,
            &[
                ber(0x04, b""),
                ber(0x0a, &[0]),
                ber(0x0a, &[0]),
                ber(0x02, &[0]),
                ber(0x02, &[0]),
                ber(0x01, &[0]),
                filter,
                ber(0x30, &attrs),
            ]
            .concat(),
        ),
    )
}

#[test]
fn cldap_ping() {
    use crate::proto::ldap::filter::tests::{and, eq};
    // The DC locator's LDAP ping (MS-ADTS 6.3.3): a rootDSE search for Netlogon with the
    // domain, host and NtVer (binary) in the filter; entry and done in one answer datagram.
    let ping = search_request(
        1,
        and(&[
            eq("DnsDomain", b"lab.example"),
            eq("Host", b"WS01"),
            eq("NtVer", &[6, 0, 0, 0]),
        ]),
        &["Netlogon"],
    );
    let entry = ldap_message(
        1,
        ber(
            0x64,
            &[
                ber(0x04, b""),
                ber(0x30, &attribute("netlogon", &[&[0x17, 0, 0, 0]])),
            ]
            .concat(),
        ),
    );
    let answer = [entry, resp(1, 0x65, 0)].concat();
    let mut h = Harness::new(Transport::Udp, 389);
    let mut app = udp();
    app.datagram(&mut h.cx(NS), Dir::ToServer, &ping);
    app.datagram(&mut h.cx(NS + 500_000), Dir::ToClient, &answer);
    // A datagram that is not LDAP: counted.
    app.datagram(&mut h.cx(2 * NS), Dir::ToServer, b"\x30\x05junk");
    app.close(&mut h.cx(3 * NS));
    assert_eq!(
        json(&h),
        vec![
            serde_json::json!({"ts": 1.0, "op": "search", "scope": "base",
            "filter": r"(&(DnsDomain=lab.example)(Host=WS01)(NtVer=\06\00\00\00))",
            "attributes": ["Netlogon"], "entries": 1, "success": true, "result": "success",
            "rtt": 0.0005})
        ]
    );
    assert_eq!(h.counters.get(Counter::MalformedLdap), 1);
    assert_eq!(h.flow.transport, Transport::Udp);
}

#[test]
fn starttls_turns_the_stream_into_counted_tls_records() {
    let req = ldap_message(1, ber(0x77, &ber(0x80, parse::OID_STARTTLS)));
    let ok = resp(1, 0x78, 0);
    // A TLS ClientHello record header and 20 bytes of it; then a server record in two pieces.
    let mut hello = vec![0x16, 0x03, 0x01, 0x00, 0x14];
    hello.extend_from_slice(&[0xab; 20]);
    let mut server = vec![0x16, 0x03, 0x03, 0x00, 0x02, 1, 2];
    server.extend_from_slice(&[0x17, 0x03, 0x03, 0x00, 0x01, 9]);
    let h = run(
        &[
            (Dir::ToServer, req, NS),
            (Dir::ToClient, ok, NS + 1000),
            (Dir::ToServer, hello, 2 * NS),
            (Dir::ToClient, server, 2 * NS + 1000),
        ],
        3,
    );
    assert_eq!(
        json(&h),
        vec![
            serde_json::json!({"ts": 1.0, "op": "extended", "oid": "1.3.6.1.4.1.1466.20037",
            "sealed": true, "success": true, "result": "success", "rtt": 0.000001})
        ]
    );
    assert_eq!(h.counters.get(Counter::LdapSealed), 3);
    assert_eq!(h.counters.get(Counter::MalformedLdap), 0);
}

#[test]
fn a_bind_followed_by_clear_text_is_not_sealed_and_caps_hold() {
    // A sicily bind that succeeded, then a search in clear text: not sealed.
    let bind = ldap_message(
        1,
        ber(
            0x60,
            &[ber(0x02, &[3]), ber(0x04, b""), ber(0x89, b"")].concat(),
        ),
    );
    let search = search_request(2, ber(0x87, b"objectClass"), &[]);
    let mut h = Harness::new(Transport::Tcp, 389);
    // No pending requests allowed: every request is emitted at once without an answer, no panic.
    h.config.max_pending = 0;
    let mut app = tcp();
    for (dir, m, t) in [
        (Dir::ToServer, bind, NS),
        (Dir::ToClient, resp(1, 0x61, 0), NS),
        (Dir::ToServer, search, 2 * NS),
        (
            Dir::ToServer,
            search_request(3, ber(0x87, b"cn"), &[]),
            2 * NS,
        ),
    ] {
        app.data(&mut h.cx(t), dir, &m);
    }
    app.close(&mut h.cx(3 * NS));
    let out = json(&h);
    assert_eq!(out.len(), 3, "{out:?}");
    assert_eq!(out[0]["op"], "bind");
    assert!(out[0].get("sealed").is_none());
    assert_eq!(out[1]["filter"], "(objectClass=*)");
    assert!(out[1].get("result").is_none());
    // The first search was evicted by the second (a cap of 0 holds one); the second was
    // flushed at close, which is no loss.
    assert_eq!(h.counters.get(Counter::RequestsEvicted), 1);
    assert_eq!(h.counters.get(Counter::RequestsTimedOut), 0);
}

#[test]
fn requests_time_out_at_the_timeout_and_are_counted() {
    let mut h = Harness::new(Transport::Tcp, 389);
    let timeout = h.config.request_timeout;
    let mut app = tcp();
    let search = |id| search_request(id, ber(0x87, b"objectClass"), &[]);
    app.data(&mut h.cx(NS), Dir::ToServer, &search(1));
    app.data(&mut h.cx(2 * NS), Dir::ToServer, &search(2));
    // One nanosecond short of the timeout: nothing yet.
    app.tick(&mut h.cx(NS + timeout - 1));
    assert!(h.out.is_empty());
    // At the timeout exactly (now - request >= request_timeout): the first, alone.
    app.tick(&mut h.cx(NS + timeout));
    assert_eq!(json(&h).len(), 1);
    assert_eq!(h.counters.get(Counter::RequestsTimedOut), 1);
    // An answer to the timed-out request pairs with nothing; the second is answered.
    app.data(&mut h.cx(NS + timeout), Dir::ToClient, &resp(1, 0x65, 0));
    app.data(&mut h.cx(NS + timeout), Dir::ToClient, &resp(2, 0x65, 0));
    app.close(&mut h.cx(NS + timeout));
    let out = json(&h);
    assert_eq!(out.len(), 2, "{out:?}");
    assert!(out[0].get("result").is_none());
    assert_eq!(out[1]["result"], "success");
    assert_eq!(h.counters.get(Counter::RequestsTimedOut), 1);
    assert_eq!(h.counters.get(Counter::RequestsEvicted), 0);
}

#[test]
fn oversized_entries_still_count() {
    let mut h = Harness::new(Transport::Tcp, 389);
    h.config.max_header = 1024;
    let mut app = tcp();
    let search = search_request(4, ber(0x87, b"objectClass"), &["*"]);
    let big = ldap_message(
        4,
        ber(
            0x64,
            &[
                ber(0x04, b"CN=x"),
                ber(0x30, &attribute("description", &[&[b'a'; 5000]])),
            ]
            .concat(),
        ),
    );
    app.data(&mut h.cx(NS), Dir::ToServer, &search);
    for piece in [big.clone(), big].concat().chunks(700) {
        app.data(&mut h.cx(NS), Dir::ToClient, piece);
    }
    app.data(&mut h.cx(NS), Dir::ToClient, &resp(4, 0x65, 0));
    app.close(&mut h.cx(2 * NS));
    let out = json(&h);
    assert_eq!(out[0]["entries"], 2);
    assert_eq!(h.counters.get(Counter::DropDecoderCap), 0);
    assert_eq!(h.counters.get(Counter::MalformedLdap), 0);
}

#[test]
fn an_oversized_message_counts_only_the_bytes_seen() {
    // A modify request whose BER length claims 2 GiB; 300 bytes of it ever come, in pieces.
    let mut claim = vec![0x30, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x02, 0x01, 0x07, 0x66];
    claim.resize(300, 0x41);
    for split in [1, 7, 64, 100_000] {
        let h = run(&[(Dir::ToServer, claim.clone(), NS)], split);
        assert_eq!(
            h.counters.get(Counter::DropDecoderCap),
            300,
            "split {split}: the bytes seen, not the length claimed"
        );
    }
    // A message over the cap that comes whole counts every byte once; a gap inside the rest is
    // not a drop of the decoder's (the flow layer counts it), and what follows it still counts.
    let mut h = Harness::new(Transport::Tcp, 389);
    h.config.max_header = 1024;
    let mut app = tcp();
    let big = ldap_message(9, ber(0x66, &[b'b'; 5000]));
    app.data(&mut h.cx(NS), Dir::ToServer, &big[..2000]);
    app.gap(&mut h.cx(NS), Dir::ToServer, 1000);
    app.data(&mut h.cx(NS), Dir::ToServer, &big[3000..]);
    app.data(
        &mut h.cx(NS),
        Dir::ToServer,
        &search_request(10, ber(0x87, b"cn"), &[]),
    );
    app.close(&mut h.cx(2 * NS));
    assert_eq!(
        h.counters.get(Counter::DropDecoderCap),
        big.len() as u64 - 1000
    );
    assert_eq!(h.counters.get(Counter::MalformedLdap), 0);
    assert_eq!(json(&h).len(), 1, "the search after it is decoded");
}

#[test]
fn a_gap_inside_a_message_loses_only_that_message() {
    let cut = ldap_message(6, ber(0x66, &[b'm'; 300]));
    let next = search_request(7, ber(0x87, b"cn"), &[]);
    for split in [1, 7, 100_000] {
        let mut h = Harness::new(Transport::Tcp, 389);
        let mut app = tcp();
        for piece in cut[..100].chunks(split) {
            app.data(&mut h.cx(NS), Dir::ToServer, piece);
        }
        // 50 bytes of the modify request are lost; the rest of it comes, then a search.
        app.gap(&mut h.cx(NS), Dir::ToServer, 50);
        for piece in [&cut[150..], &next[..]].concat().chunks(split) {
            app.data(&mut h.cx(2 * NS), Dir::ToServer, piece);
        }
        app.data(&mut h.cx(3 * NS), Dir::ToClient, &resp(7, 0x65, 0));
        app.close(&mut h.cx(4 * NS));
        let out = json(&h);
        assert_eq!(out.len(), 1, "split {split}: {out:?}");
        assert_eq!(out[0]["op"], "search", "split {split}");
        assert_eq!(out[0]["result"], "success", "split {split}");
        assert_eq!(out[0]["ts"], 2.0, "split {split}");
        assert_eq!(h.counters.get(Counter::MalformedLdap), 0);
        assert_eq!(h.counters.get(Counter::DropDecoderCap), 0);
    }
    // A gap that runs past the message's end loses the boundary: nothing after it is read.
    let mut h = Harness::new(Transport::Tcp, 389);
    let mut app = tcp();
    app.data(&mut h.cx(NS), Dir::ToServer, &cut[..100]);
    app.gap(&mut h.cx(NS), Dir::ToServer, cut.len() as u64);
    app.data(&mut h.cx(2 * NS), Dir::ToServer, &next);
    app.close(&mut h.cx(4 * NS));
    assert!(json(&h).is_empty());
}
