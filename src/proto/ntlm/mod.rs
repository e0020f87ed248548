//! NTLMSSP (MS-NLMP): NEGOTIATE, CHALLENGE and AUTHENTICATE of one authentication become one
//! `ntlm` record, with the carrier's verdict.
//!
//! A carrier (SMB session setup, DCE-RPC auth verifiers, HTTP, LDAP) owns one [`NtlmAuth`] per
//! connection or session, feeds it every NTLMSSP message (through
//! [`crate::proto::gssapi::inspect`]) and reports the answer to the AUTHENTICATE with
//! [`NtlmAuth::verdict`]. The record is emitted at the verdict, at [`NtlmAuth::flush`] (the
//! connection ended without one), or when a new NEGOTIATE or AUTHENTICATE arrives while one is
//! still waiting. The wire parsers are in [`parse`]; NT status names in [`status`].

pub mod parse;
pub mod status;

pub use status::nt_status_name;

use super::Ctx;
use crate::record::{Body, Carrier, Code, Ntlm, Ts};
use crate::stats::Counter;
use parse::{av, Message};

/// The server names a CHALLENGE announced in its target info.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct ServerNames {
    nb_name: Option<String>,
    dns_name: Option<String>,
    dns_domain: Option<String>,
}

/// The NTLM authentication in progress on one connection (or one SMB session setup).
///
/// Carriers own one, pass every NTLMSSP message to it (through [`crate::proto::gssapi::inspect`]),
/// and report the verdict of their answer with [`NtlmAuth::verdict`].
#[derive(Debug, Default)]
pub struct NtlmAuth {
    /// Time of the first message of the authentication in progress (NEGOTIATE or CHALLENGE).
    start: Option<Ts>,
    /// What the last CHALLENGE said about the server; used by the next AUTHENTICATE.
    server: Option<ServerNames>,
    /// Flags of the last NEGOTIATE or CHALLENGE: the string encoding of an old AUTHENTICATE that
    /// has no flags field of its own.
    flags: Option<u32>,
    /// An AUTHENTICATE waiting for its verdict, with the time its exchange began.
    pending: Option<(Ts, Ntlm)>,
    /// User (and domain) of the last AUTHENTICATE, for carriers that label sessions.
    last_user: Option<(String, Option<String>)>,
}

impl NtlmAuth {
    /// No authentication seen yet (same as `NtlmAuth::default()`).
    pub fn new() -> Self {
        NtlmAuth::default()
    }

    /// An NTLMSSP message (starting with `NTLMSSP\0`) seen in `carrier`.
    pub fn message(&mut self, cx: &mut Ctx<'_>, carrier: Carrier, msg: &[u8]) {
        let m = match parse::parse(msg) {
            Ok(m) => m,
            Err(_) => {
                cx.count(Counter::MalformedNtlm);
                return;
            }
        };
        match m {
            Message::Negotiate(n) => {
                self.flush(cx);
                self.start = Some(cx.now);
                self.server = None;
                self.flags = Some(n.flags);
            }
            Message::Challenge(c) => {
                if c.overlap {
                    cx.count(Counter::MalformedNtlm);
                }
                let mut names = ServerNames::default();
                let mut pairs = parse::av_pairs(c.target_info);
                for (id, value) in pairs.by_ref() {
                    let slot = match id {
                        av::NB_COMPUTER_NAME => &mut names.nb_name,
                        av::DNS_COMPUTER_NAME => &mut names.dns_name,
                        av::DNS_DOMAIN_NAME => &mut names.dns_domain,
                        _ => continue,
                    };
                    if slot.is_none() && !value.is_empty() {
                        *slot = Some(parse::utf16le(value));
                    }
                }
                if pairs.truncated {
                    cx.count(Counter::MalformedNtlm);
                }
                self.start.get_or_insert(cx.now);
                self.server = Some(names);
                self.flags = Some(c.flags);
            }
            Message::Authenticate(a) => {
                self.flush(cx);
                if a.overlap {
                    cx.count(Counter::MalformedNtlm);
                }
                let rec = self.record(carrier, &a);
                self.last_user = rec.user.clone().map(|u| (u, rec.domain.clone()));
                let start = self.start.take().unwrap_or(cx.now);
                self.pending = Some((start, rec));
            }
        }
    }

    /// Builds the record of an AUTHENTICATE with what the CHALLENGE said (consumed).
    fn record(&mut self, carrier: Carrier, a: &parse::Authenticate<'_>) -> Ntlm {
        let flags = a.flags.unwrap_or(0);
        let unicode = a
            .flags
            .or(self.flags)
            .is_none_or(|f| f & parse::FLAG_UNICODE != 0);
        let text = |b: &[u8]| {
            if b.is_empty() {
                None
            } else if unicode {
                Some(parse::utf16le(b))
            } else {
                Some(parse::oem(b))
            }
        };
        let server = self.server.take().unwrap_or_default();
        let v2_pairs = parse::ntlmv2_av_pairs(a.nt_response);
        let mic_flag = v2_pairs
            .and_then(parse::av_flags)
            .is_some_and(|f| f & parse::AV_FLAG_MIC != 0);
        let mic_present = a.mic.is_some_and(|m| m.iter().any(|&b| b != 0));
        let (mut target_name, mut channel_bindings) = (None, None);
        if let Some(pairs) = v2_pairs {
            channel_bindings = Some(false);
            for (id, v) in parse::av_pairs(pairs) {
                match id {
                    parse::av::TARGET_NAME if target_name.is_none() && !v.is_empty() => {
                        target_name = Some(parse::utf16le(v));
                    }
                    parse::av::CHANNEL_BINDINGS if v.iter().any(|&b| b != 0) => {
                        channel_bindings = Some(true);
                    }
                    _ => {}
                }
            }
        }
        Ntlm {
            carrier: Some(carrier),
            user: text(a.user),
            domain: text(a.domain),
            workstation: text(a.workstation),
            version: parse::version(a.user.is_empty(), a.lm_response.len(), a.nt_response.len()),
            server_nb_name: server.nb_name,
            server_dns_name: server.dns_name,
            server_dns_domain: server.dns_domain,
            flags: parse::flag_names(flags),
            mic: Some(mic_flag && mic_present),
            target_name,
            channel_bindings,
            success: None,
            status: None,
        }
    }

    /// The carrier's answer to the AUTHENTICATE: emits the pending record with the verdict.
    pub fn verdict(&mut self, cx: &mut Ctx<'_>, success: bool, status: Code) {
        if let Some((ts, mut rec)) = self.pending.take() {
            rec.success = Some(success);
            rec.status = Some(status);
            cx.emit(ts, Body::Ntlm(rec));
        }
    }

    /// Whether an AUTHENTICATE is waiting for its verdict.
    pub fn pending(&self) -> bool {
        self.pending.is_some()
    }

    /// The connection ended: emit a pending AUTHENTICATE without a verdict.
    pub fn flush(&mut self, cx: &mut Ctx<'_>) {
        if let Some((ts, rec)) = self.pending.take() {
            cx.emit(ts, Body::Ntlm(rec));
        }
    }

    /// The user and domain named by the most recent AUTHENTICATE (pending or emitted), for
    /// carriers that label later activity with the session's user.
    pub fn user(&self) -> Option<(&str, Option<&str>)> {
        self.last_user
            .as_ref()
            .map(|(u, d)| (u.as_str(), d.as_deref()))
    }
}

#[cfg(test)]
mod tests {
    use super::parse::tests::{
        hex, ntlmssp, LAB03_AUTHENTICATE, LAB03_CHALLENGE, LAB03_NEGOTIATE, LAB12_AUTH3,
    };
    use super::*;
    use crate::proto::testutil::Harness;
    use crate::record::{Names, Transport, NS};

    // testdata-pcaps/lab/15_attack_bruteforce_ntlm.pcap, smb2.security_blob of frames 9 and 10:
    // the CHALLENGE and one of the refused AUTHENTICATEs of the brute force (the answer in frame
    // 11 is STATUS_LOGON_FAILURE).
    const LAB15_CHALLENGE: &str = "a181ba3081b7a0030a0101a10c060a2b06010401823702020aa281a104819e4e544c4d53535000020000000600060038000000158289620e6c86b24342a4fe0000000000000000600060003e000000060100000000000f4c0041004200020006004c004100420001000600440043003100040016006c00610062002e006500780061006d0070006c00650003001e006400630031002e006c00610062002e006500780061006d0070006c006500070008005a96bfca5d7fdd0100000000";
    const LAB15_AUTHENTICATE: &str = "a18201b0308201aca2820194048201904e544c4d53535000030000001800180058000000fc00fc0070000000060006006c01000006000600720100000800080078010000100010008001000015820862060100000000000fafa046245b96426cb2de60e44c58220e0000000000000000000000000000000000000000000000005f49f383ac8604b9db5fb1dc61348de701010000000000005a96bfca5d7fdd0101ecb4edc62fa77100000000020006004c004100420001000600440043003100040016006c00610062002e006500780061006d0070006c00650003001e006400630031002e006c00610062002e006500780061006d0070006c006500070008005a96bfca5d7fdd01060004000200000008003000300000000000000000000000000000003c4223ed496edaada4c8ef758ad3eca4955b2aef01d19f6914f45facdfcac1cc0a0010000000000000000000000000000000000009001c0063006900660073002f00310030002e00390039002e0030002e003100000000004c004100420062006f00620057005300300031008c7fdda8509aa67c4ac99a14ab853fcca312041001000000185a4a4afad7dc3400000000";

    fn expected_bob() -> Ntlm {
        Ntlm {
            carrier: Some(Carrier::Smb2),
            user: Some("bob".into()),
            domain: Some("LAB".into()),
            workstation: Some("WS01".into()),
            version: Some("NTLMv2"),
            server_nb_name: Some("DC1".into()),
            server_dns_name: Some("dc1.lab.example".into()),
            server_dns_domain: Some("lab.example".into()),
            flags: Names::list(&[
                "unicode",
                "request_target",
                "sign",
                "ntlm",
                "always_sign",
                "extended_session_security",
                "version",
                "negotiate_128",
                "key_exch",
            ]),
            mic: Some(true),
            // Samba's client names the SPN it meant (MsvAvTargetName) and sends an all-zero
            // MsvAvChannelBindings (no TLS underneath).
            target_name: Some("cifs/10.99.0.1".into()),
            channel_bindings: Some(false),
            success: Some(true),
            status: Some(Code::Name("STATUS_SUCCESS")),
        }
    }

    fn ntlm_of(r: &crate::record::Record) -> &Ntlm {
        match &r.body {
            Body::Ntlm(n) => n,
            b => panic!("not ntlm: {b:?}"),
        }
    }

    #[test]
    fn smb_exchange_makes_one_record_at_the_verdict() {
        let mut h = Harness::new(Transport::Tcp, 445);
        let mut auth = NtlmAuth::default();
        let (n, c, a) = (
            hex(LAB03_NEGOTIATE),
            hex(LAB03_CHALLENGE),
            hex(LAB03_AUTHENTICATE),
        );
        auth.message(&mut h.cx(10 * NS), Carrier::Smb2, ntlmssp(&n));
        auth.message(&mut h.cx(11 * NS), Carrier::Smb2, ntlmssp(&c));
        auth.message(&mut h.cx(12 * NS), Carrier::Smb2, ntlmssp(&a));
        assert!(auth.pending());
        assert!(h.out.is_empty());
        assert_eq!(auth.user(), Some(("bob", Some("LAB"))));
        auth.verdict(&mut h.cx(13 * NS), true, Code::new(0, nt_status_name(0)));
        assert!(!auth.pending());
        assert_eq!(h.out.len(), 1);
        assert_eq!(h.out[0].ts, 10 * NS);
        assert_eq!(ntlm_of(&h.out[0]), &expected_bob());
        assert_eq!(h.counters.get(Counter::MalformedNtlm), 0);
        // A second verdict has nothing to attach to.
        auth.verdict(&mut h.cx(14 * NS), false, Code::Num(1));
        assert_eq!(h.out.len(), 1);
    }

    #[test]
    fn channel_bindings_and_target_name_from_the_av_pairs() {
        // Samba's AUTHENTICATE with its all-zero MsvAvChannelBindings made non-zero (as a client
        // over TLS sends it), then without a MsvAvTargetName (its value emptied).
        let zero_cb = format!("0a001000{}", "0".repeat(32));
        let cases = [
            (
                LAB15_AUTHENTICATE.replace(&zero_cb, &format!("0a001000{}", "5a".repeat(16))),
                Some("cifs/10.99.0.1"),
                Some(true),
            ),
            (
                LAB15_AUTHENTICATE.to_string(),
                Some("cifs/10.99.0.1"),
                Some(false),
            ),
            (
                LAB15_AUTHENTICATE.replace(
                    "09001c0063006900660073002f00310030002e00390039002e0030002e0031",
                    "090000000000000000000000000000000000000000000000000000000000",
                ),
                None,
                Some(false),
            ),
        ];
        for (auth_hex, target, cb) in cases {
            let mut h = Harness::new(Transport::Tcp, 445);
            let mut auth = NtlmAuth::new();
            let (c, a) = (hex(LAB15_CHALLENGE), hex(&auth_hex));
            auth.message(&mut h.cx(NS), Carrier::Smb2, ntlmssp(&c));
            auth.message(&mut h.cx(NS), Carrier::Smb2, ntlmssp(&a));
            auth.verdict(&mut h.cx(2 * NS), true, Code::Num(0));
            let r = ntlm_of(&h.out[0]);
            assert_eq!((r.target_name.as_deref(), r.channel_bindings), (target, cb));
        }
    }

    #[test]
    fn refused_logon_then_flush_and_replacement() {
        let mut h = Harness::new(Transport::Tcp, 445);
        let mut auth = NtlmAuth::new();
        let (n, c, a) = (
            hex(LAB03_NEGOTIATE),
            hex(LAB15_CHALLENGE),
            hex(LAB15_AUTHENTICATE),
        );
        auth.message(&mut h.cx(NS), Carrier::Smb2, ntlmssp(&n));
        auth.message(&mut h.cx(NS), Carrier::Smb2, ntlmssp(&c));
        auth.message(&mut h.cx(NS), Carrier::Smb2, ntlmssp(&a));
        auth.verdict(
            &mut h.cx(2 * NS),
            false,
            Code::new(0xc000_006d, nt_status_name(0xc000_006d)),
        );
        let rec = ntlm_of(&h.out[0]);
        assert_eq!(rec.success, Some(false));
        assert_eq!(
            serde_json::to_value(rec).unwrap()["status"],
            "STATUS_LOGON_FAILURE"
        );
        // AUTHENTICATE without a verdict, replaced by a new NEGOTIATE: emitted without one, and
        // without server names (no CHALLENGE preceded it this time).
        auth.message(&mut h.cx(3 * NS), Carrier::Smb2, ntlmssp(&a));
        auth.message(&mut h.cx(4 * NS), Carrier::Smb2, ntlmssp(&n));
        assert_eq!(h.out.len(), 2);
        let rec = ntlm_of(&h.out[1]);
        assert_eq!(
            (rec.success, rec.status, rec.server_nb_name.as_deref()),
            (None, None, None)
        );
        assert_eq!(h.out[1].ts, 3 * NS);
        // Flush at connection end with nothing pending emits nothing.
        auth.flush(&mut h.cx(5 * NS));
        assert_eq!(h.out.len(), 2);
    }

    #[test]
    fn dcerpc_auth3_without_mic_or_workstation() {
        let mut h = Harness::new(Transport::Tcp, 49667);
        let mut auth = NtlmAuth::default();
        let pdu = hex(LAB12_AUTH3);
        auth.message(&mut h.cx(NS), Carrier::Dcerpc, ntlmssp(&pdu));
        auth.flush(&mut h.cx(2 * NS));
        let rec = ntlm_of(&h.out[0]);
        assert_eq!(rec.user.as_deref(), Some("Administrator"));
        assert_eq!(rec.domain.as_deref(), Some("lab.example"));
        assert_eq!(rec.workstation, None);
        assert_eq!(rec.version, Some("NTLMv2"));
        assert_eq!(rec.mic, Some(false));
        assert_eq!(
            rec.flags,
            [
                "unicode",
                "request_target",
                "sign",
                "seal",
                "ntlm",
                "always_sign",
                "extended_session_security",
                "target_info",
                "negotiate_128",
                "key_exch",
                "negotiate_56"
            ]
        );
    }

    /// An old AUTHENTICATE whose payload starts at 52 (no session key, flags or version fields)
    /// is read with the encoding the NEGOTIATE asked for.
    #[test]
    fn old_authenticate_without_flags_uses_the_negotiated_encoding() {
        let mut h = Harness::new(Transport::Tcp, 139);
        let mut auth = NtlmAuth::default();
        let mut m = b"NTLMSSP\0\x03\0\0\0".to_vec();
        let payload: [&[u8]; 5] = [&[0x11; 24], &[0x22; 24], b"WG", b"guest", b"PC"];
        let mut off = 52u32;
        for p in payload {
            let len = p.len() as u16;
            m.extend_from_slice(&[len.to_le_bytes(), len.to_le_bytes()].concat());
            m.extend_from_slice(&off.to_le_bytes());
            off += u32::from(len);
        }
        assert_eq!(m.len(), 52);
        for p in payload {
            m.extend_from_slice(p);
        }
        // NEGOTIATE with oem | ntlm only.
        auth.message(
            &mut h.cx(NS),
            Carrier::Smb1,
            b"NTLMSSP\0\x01\0\0\0\x02\x02\0\0",
        );
        auth.message(&mut h.cx(2 * NS), Carrier::Smb1, &m);
        auth.flush(&mut h.cx(3 * NS));
        let rec = ntlm_of(&h.out[0]);
        assert_eq!(
            (
                rec.user.as_deref(),
                rec.domain.as_deref(),
                rec.workstation.as_deref()
            ),
            (Some("guest"), Some("WG"), Some("PC"))
        );
        assert_eq!(
            (rec.version, rec.mic, rec.flags.len(), h.out[0].ts),
            (Some("NTLMv1"), Some(false), 0, NS)
        );
        assert_eq!(h.counters.get(Counter::MalformedNtlm), 0);
    }

    #[test]
    fn oem_strings_and_hostile_messages() {
        let mut h = Harness::new(Transport::Tcp, 445);
        let mut auth = NtlmAuth::default();
        // A hand-made NTLMv1 AUTHENTICATE with OEM strings (flags without unicode) from the
        // fields of the lab message: header of 64 bytes, then domain, user, workstation, LM, NT.
        let mut m = Vec::new();
        m.extend_from_slice(b"NTLMSSP\0\x03\0\0\0");
        let payload: [&[u8]; 5] = [&[0x11; 24], &[0x22; 24], b"LAB", b"bob", b"WS01"];
        let mut off = 64u32;
        let mut fields = Vec::new();
        for p in payload {
            fields.push((p.len() as u16, off));
            off += p.len() as u32;
        }
        for (len, o) in &fields {
            m.extend_from_slice(&len.to_le_bytes());
            m.extend_from_slice(&len.to_le_bytes());
            m.extend_from_slice(&o.to_le_bytes());
        }
        m.extend_from_slice(&[0; 8]); // no session key
        m.extend_from_slice(&0x0000_0202u32.to_le_bytes()); // oem, ntlm
        for p in payload {
            m.extend_from_slice(p);
        }
        auth.message(&mut h.cx(NS), Carrier::Smb1, &m);
        auth.flush(&mut h.cx(NS));
        let rec = ntlm_of(&h.out[0]);
        assert_eq!(
            (
                rec.user.as_deref(),
                rec.domain.as_deref(),
                rec.workstation.as_deref()
            ),
            (Some("bob"), Some("LAB"), Some("WS01"))
        );
        assert_eq!(
            (rec.version, rec.mic, rec.flags),
            (Some("NTLMv1"), Some(false), Names::list(&["oem", "ntlm"]))
        );
        assert_eq!(h.counters.get(Counter::MalformedNtlm), 0);

        // Out of bounds: counted, nothing pending.
        let mut bad = m.clone();
        bad[44..48].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
        auth.message(&mut h.cx(NS), Carrier::Smb1, &bad);
        assert!(!auth.pending());
        assert_eq!(h.counters.get(Counter::MalformedNtlm), 1);
        // Overlapping user and domain: counted, still recorded.
        let mut ov = m.clone();
        ov[40..44].copy_from_slice(&(64u32 + 48).to_le_bytes());
        auth.message(&mut h.cx(NS), Carrier::Smb1, &ov);
        assert!(auth.pending());
        assert_eq!(h.counters.get(Counter::MalformedNtlm), 2);
        // Garbage after the signature, and a huge length in a challenge's target info.
        auth.message(&mut h.cx(NS), Carrier::Smb1, b"NTLMSSP\0\x02\0\0");
        let c = hex(LAB03_CHALLENGE);
        let mut c = ntlmssp(&c).to_vec();
        c[40..42].copy_from_slice(&0xffffu16.to_le_bytes());
        auth.message(&mut h.cx(NS), Carrier::Smb1, &c);
        assert_eq!(h.counters.get(Counter::MalformedNtlm), 4);
    }
}
