//! A record's JSON text written by hand ([`Rec::write_json`]), for an alert's evidence records:
//! byte for byte what serde_json writes for [`Rec`]'s derived `Serialize` (the fields in their
//! order, absent ones left out as `Skip` says, strings escaped as serde_json escapes them,
//! floats in serde_json's own form, a call's `args` by serde_json itself), without going through
//! serde's serializer field by field. Every field of [`Rec`] is named here (a field added to the
//! record and not here does not compile); the tests compare the text with serde_json's.

use super::{Args, Code, Rec, Skip};
use std::net::IpAddr;
use std::sync::Arc;

impl Rec {
    /// Writes the record as JSON at the end of `out`: the text serde_json writes for it.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        macro_rules! fields {
            ($($name:ident),* $(,)?) => {{
                let Rec { ts, kind, $($name),* } = self;
                out.extend_from_slice(b"{\"ts\":");
                ts.put(out);
                out.extend_from_slice(b",\"type\":");
                kind.put(out);
                $(
                    if !Skip::skip($name) {
                        out.extend_from_slice(concat!(",\"", stringify!($name), "\":").as_bytes());
                        $name.put(out);
                    }
                )*
                out.push(b'}');
            }};
        }
        fields!(
            tunnel,
            src,
            sport,
            dst,
            dport,
            proto,
            request,
            client,
            realm,
            service,
            etypes,
            kdc_options,
            preauth,
            preauth_etype,
            pac_request,
            till,
            reply,
            error,
            error_etypes,
            ticket_etype,
            reply_etype,
            ticket_hash,
            presented_hash,
            presented_etype,
            s4u_user,
            additional_ticket_hash,
            pkinit_subject,
            pkinit_issuer,
            pkinit_san,
            carrier,
            id,
            opcode,
            query,
            qtype,
            qclass,
            rcode,
            flags,
            answers,
            ttls,
            answer_count,
            updates,
            interface,
            interface_uuid,
            interface_version,
            opnum,
            operation,
            named_pipe,
            auth_type,
            auth_level,
            fault,
            stub_bytes,
            endpoint,
            args,
            user,
            domain,
            workstation,
            version,
            server_nb_name,
            server_dns_name,
            server_dns_domain,
            mic,
            target_name,
            channel_bindings,
            action,
            access,
            disposition,
            bytes_read,
            bytes_written,
            share,
            path,
            dialect,
            op,
            bind,
            mechanism,
            name,
            sealed,
            base,
            scope,
            filter,
            attributes,
            size_limit,
            entries,
            dn,
            changes,
            success,
            result,
            status,
            rtt,
        );
    }
}

/// A value written as JSON (as serde_json writes it).
trait Put {
    fn put(&self, out: &mut Vec<u8>);
}

impl<T: Put> Put for Option<T> {
    #[inline]
    fn put(&self, out: &mut Vec<u8>) {
        match self {
            Some(v) => v.put(out),
            None => out.extend_from_slice(b"null"),
        }
    }
}

impl<T: Put> Put for Vec<T> {
    fn put(&self, out: &mut Vec<u8>) {
        out.push(b'[');
        for (i, v) in self.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            v.put(out);
        }
        out.push(b']');
    }
}

impl Put for String {
    #[inline]
    fn put(&self, out: &mut Vec<u8>) {
        put_str(self, out);
    }
}

impl Put for bool {
    #[inline]
    fn put(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(if *self { b"true" } else { b"false" });
    }
}

impl Put for f64 {
    /// serde_json's own form (through serde_json, so the same digits whatever it formats them
    /// with; `null` when not finite, as it writes).
    #[inline]
    fn put(&self, out: &mut Vec<u8>) {
        let _ = serde_json::to_writer(&mut *out, self);
    }
}

impl Put for u64 {
    #[inline]
    fn put(&self, out: &mut Vec<u8>) {
        put_u64(*self, false, out);
    }
}

impl Put for i64 {
    #[inline]
    fn put(&self, out: &mut Vec<u8>) {
        put_u64(self.unsigned_abs(), *self < 0, out);
    }
}

impl Put for i32 {
    #[inline]
    fn put(&self, out: &mut Vec<u8>) {
        i64::from(*self).put(out);
    }
}

impl Put for u32 {
    #[inline]
    fn put(&self, out: &mut Vec<u8>) {
        put_u64(u64::from(*self), false, out);
    }
}

impl Put for u16 {
    #[inline]
    fn put(&self, out: &mut Vec<u8>) {
        put_u64(u64::from(*self), false, out);
    }
}

impl Put for Code {
    #[inline]
    fn put(&self, out: &mut Vec<u8>) {
        match self {
            Code::Name(n) => put_str(n, out),
            Code::Num(v) => v.put(out),
        }
    }
}

impl Put for IpAddr {
    /// As text (the field's `serialize_with`), a v4 address written digit by digit.
    fn put(&self, out: &mut Vec<u8>) {
        match self {
            IpAddr::V4(a) => {
                let mut t = [0u8; 17];
                t[0] = b'"';
                let mut n = 1;
                for (i, o) in a.octets().into_iter().enumerate() {
                    if i > 0 {
                        t[n] = b'.';
                        n += 1;
                    }
                    if o >= 100 {
                        t[n] = b'0' + o / 100;
                        n += 1;
                    }
                    if o >= 10 {
                        t[n] = b'0' + o / 10 % 10;
                        n += 1;
                    }
                    t[n] = b'0' + o % 10;
                    n += 1;
                }
                t[n] = b'"';
                out.extend_from_slice(&t[..=n]);
            }
            IpAddr::V6(a) => {
                use std::io::Write;
                let _ = write!(out, "\"{a}\"");
            }
        }
    }
}

impl Put for Arc<Args> {
    /// By serde_json (values of any shape, in the map's order).
    fn put(&self, out: &mut Vec<u8>) {
        let _ = serde_json::to_writer(&mut *out, &**self);
    }
}

/// A number in decimal, `-` first when `neg`.
#[inline]
fn put_u64(mut v: u64, neg: bool, out: &mut Vec<u8>) {
    let mut d = [b'-'; 21];
    let mut i = d.len();
    loop {
        i -= 1;
        d[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if neg {
        i -= 1; // (d[i] is '-')
    }
    out.extend_from_slice(&d[i..]);
}

/// Whether any of the eight bytes of `w` must be escaped in a JSON string: a control character
/// (below 0x20), `"` or `\`. (Each test is exact for the word as a whole: bytes of 0x80 and over,
/// text that is not ASCII, never set it.)
#[inline]
fn needs_escape(w: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below = |x: u64, n: u64| x.wrapping_sub(ONES * n) & !x & HIGH;
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    (below(w, 0x20) | zero(w ^ (ONES * u64::from(b'"'))) | zero(w ^ (ONES * u64::from(b'\\')))) != 0
}

/// How byte `b` is written inside a JSON string as serde_json writes it: `None` as it is, else
/// the letter after the backslash (`u` for `\u00XX`).
const fn escape_of(b: u8) -> Option<u8> {
    match b {
        b'"' => Some(b'"'),
        b'\\' => Some(b'\\'),
        0x08 => Some(b'b'),
        0x09 => Some(b't'),
        0x0a => Some(b'n'),
        0x0c => Some(b'f'),
        0x0d => Some(b'r'),
        0..0x20 => Some(b'u'),
        _ => None,
    }
}

/// [`escape_of`] of every byte (0: none).
const ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        if let Some(e) = escape_of(i as u8) {
            t[i] = e;
        }
        i += 1;
    }
    t
};

/// Where the first byte to escape is in `b`, if anywhere: eight bytes at a time (the last eight
/// overlapping the word before), a byte at a time in a text shorter than eight.
#[inline]
fn first_escape(b: &[u8]) -> Option<usize> {
    let word = |i: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&b[i..i + 8]);
        needs_escape(u64::from_le_bytes(w))
    };
    let n = b.len();
    if n < 8 {
        return b.iter().position(|c| ESCAPE[usize::from(*c)] != 0);
    }
    let mut i = 0;
    while i + 8 <= n {
        if word(i) {
            return b[i..]
                .iter()
                .position(|c| ESCAPE[usize::from(*c)] != 0)
                .map(|k| i + k);
        }
        i += 8;
    }
    if i < n && word(n - 8) {
        return b[i..]
            .iter()
            .position(|c| ESCAPE[usize::from(*c)] != 0)
            .map(|k| i + k);
    }
    None
}

/// A string as JSON: quoted, `"` and `\` escaped, control characters as `\b \t \n \f \r` or
/// `\u00XX` (lowercase hex), everything else (non-ASCII included) as it is. A text with nothing
/// to escape (most are) is found so eight bytes at a time and copied whole.
#[inline]
fn put_str(s: &str, out: &mut Vec<u8>) {
    let b = s.as_bytes();
    out.reserve(b.len() + 2);
    out.push(b'"');
    match first_escape(b) {
        None => out.extend_from_slice(b),
        Some(i) => put_escaped(b, i, out),
    }
    out.push(b'"');
}

/// The bytes of `b`, escaped, the first to escape at `first`.
#[cold]
fn put_escaped(b: &[u8], first: usize, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.extend_from_slice(&b[..first]);
    let mut done = first;
    for (i, c) in b.iter().enumerate().skip(first) {
        let e = ESCAPE[usize::from(*c)];
        if e == 0 {
            continue;
        }
        out.extend_from_slice(&b[done..i]);
        out.push(b'\\');
        out.push(e);
        if e == b'u' {
            out.extend_from_slice(&[
                b'0',
                b'0',
                HEX[usize::from(c >> 4)],
                HEX[usize::from(c & 15)],
            ]);
        }
        done = i + 1;
    }
    out.extend_from_slice(&b[done..]);
}

#[cfg(test)]
mod tests {
    use super::super::{Code, Rec, NAMES};
    use std::sync::Arc;

    fn check(r: &Rec) {
        let mut mine = Vec::new();
        r.write_json(&mut mine);
        let theirs = serde_json::to_string(r).unwrap();
        assert_eq!(String::from_utf8(mine).unwrap(), theirs, "{r:?}");
    }

    /// Texts that an escaper gets wrong: every character serde_json escapes, at every place in a
    /// word of eight, next to non-ASCII of every length.
    fn awkward() -> Vec<String> {
        let mut v: Vec<String> = [
            "",
            "a",
            "\"",
            "\\",
            "\\\\\"\"",
            "plain text of some length, longer than a word",
            "\u{2028}\u{2029}",
            "é東京🔑",
            "\u{7f}\u{80}\u{ff}",
            "tab\there\nnew\rline\u{8}\u{c}",
            "C:\\Windows\\System32\\svchost.exe \"quoted\"",
            "/slash/ is not escaped",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for c in 0u8..0x80 {
            for at in 0..9 {
                let mut s = "x".repeat(at);
                s.push(char::from(c));
                s.push_str("yyyyyyyy");
                v.push(s);
            }
        }
        v
    }

    /// A record with every field set: the keys come out in NAMES's order (the order the derived
    /// serializer writes), and the text is serde_json's.
    #[test]
    fn every_field_is_written_in_order_as_serde_json_writes_it() {
        let mut args = super::Args::new();
        args.insert(
            "k\"ey".into(),
            serde_json::json!([1, "x\ny", {"z": null}, 2.5]),
        );
        let s = |t: &str| Some(t.to_string());
        let l = |t: &str| vec![t.to_string(), "\u{1}".to_string()];
        let r = Rec {
            ts: 1704067230.102565,
            kind: "kerberos".into(),
            tunnel: s("gre"),
            src: Some("10.0.0.1".parse().unwrap()),
            sport: Some(65535),
            dst: Some("fe80::1".parse().unwrap()),
            dport: Some(0),
            proto: s("tcp"),
            request: s("AS-REQ"),
            client: s("bob"),
            realm: s("EX"),
            service: s("krbtgt/EX"),
            etypes: vec![18, -128, i32::MIN, i32::MAX],
            kdc_options: l("forwardable"),
            preauth: vec![2],
            preauth_etype: Some(23),
            pac_request: Some(false),
            till: Some(2e9),
            reply: s("AS-REP"),
            error: Some(Code::Num(-5)),
            error_etypes: vec![17],
            ticket_etype: Some(18),
            reply_etype: Some(17),
            ticket_hash: s("ab"),
            presented_hash: s("cd"),
            presented_etype: Some(3),
            s4u_user: s("x"),
            additional_ticket_hash: s("y"),
            pkinit_subject: s("CN=a"),
            pkinit_issuer: s("CN=b"),
            pkinit_san: l("san"),
            carrier: s("smb2"),
            id: Some(Code::Num(4369)),
            opcode: Some(Code::Name("QUERY".into())),
            query: s("example.com"),
            qtype: Some(Code::Name("A".into())),
            qclass: Some(Code::Num(1)),
            rcode: Some(Code::Name("NOERROR".into())),
            flags: l("rd"),
            answers: l("1.2.3.4"),
            ttls: vec![0, u32::MAX],
            answer_count: Some(u64::MAX),
            updates: l("u"),
            interface: s("drsuapi"),
            interface_uuid: s("e3514235-4b06-11d1-ab04-00c04fc2dcd2"),
            interface_version: s("4.0"),
            opnum: Some(3),
            operation: s("DRSGetNCChanges"),
            named_pipe: s("\\pipe\\lsass"),
            auth_type: Some(Code::Name("spnego".into())),
            auth_level: Some(Code::Num(6)),
            fault: s("nca_s_op_rng_error"),
            stub_bytes: Some(120),
            endpoint: s("ncacn_np"),
            args: Some(Arc::new(args)),
            user: s("Administrator"),
            domain: s("EX"),
            workstation: s("WS"),
            version: s("NTLMv2"),
            server_nb_name: s("DC1"),
            server_dns_name: s("dc1.ex"),
            server_dns_domain: s("ex"),
            mic: Some(true),
            target_name: s("cifs/dc1"),
            channel_bindings: Some(false),
            action: s("create"),
            access: l("read"),
            disposition: s("open"),
            bytes_read: Some(1),
            bytes_written: Some(2),
            share: s("C$"),
            path: s("a\\b"),
            dialect: s("3.1.1"),
            op: s("search"),
            bind: s("simple"),
            mechanism: s("GSS-SPNEGO"),
            name: s("cn=x"),
            sealed: Some(true),
            base: s("dc=ex"),
            scope: s("subtree"),
            filter: s("(objectClass=*)"),
            attributes: l("cn"),
            size_limit: Some(0),
            entries: Some(7),
            dn: s("cn=y"),
            changes: l("add"),
            success: Some(true),
            result: Some(Code::Name("success".into())),
            status: Some(Code::Num(0)),
            rtt: Some(0.001094),
        };
        check(&r);
        let mut out = Vec::new();
        r.write_json(&mut out);
        let v: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&out).unwrap();
        let keys: Vec<&str> = v.keys().map(String::as_str).collect();
        assert_eq!(keys, NAMES);
        // and with every field absent but the two always written
        check(&Rec::default());
    }

    /// Numbers at their limits and floats of every kind, not-finite ones included (serde_json
    /// writes `null` for them).
    #[test]
    fn numbers_are_written_as_serde_json_writes_them() {
        for ts in [
            0.0,
            -0.0,
            1.0,
            0.1,
            1e-7,
            1e16,
            1e21,
            123_456_789.123_456_79,
            f64::MAX,
            f64::MIN_POSITIVE,
            5e-324,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ] {
            check(&Rec {
                ts,
                till: Some(-ts),
                rtt: Some(ts / 3.0),
                ..Rec::default()
            });
        }
        let mut next = crate::base::xorshift(0x9e37_79b9_7f4a_7c15);
        for _ in 0..20_000 {
            let x = next();
            check(&Rec {
                ts: f64::from_bits(x),
                kind: "dns".into(),
                sport: Some(x as u16),
                etypes: vec![x as i32, (x >> 32) as i32],
                ttls: vec![x as u32],
                answer_count: Some(x >> (x % 64)),
                error: Some(Code::Num(x as i64 >> (x % 64))),
                ..Rec::default()
            });
        }
    }

    /// Awkward texts in every kind of string field (plain, in a list, a code's name), and
    /// strings made at random of the characters that matter, as serde_json writes them.
    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        for t in awkward() {
            check(&Rec {
                kind: t.clone(),
                client: Some(t.clone()),
                flags: vec![t.clone(), String::new(), t.clone()],
                status: Some(Code::Name(t.clone())),
                ..Rec::default()
            });
        }
        const PARTS: &[&str] = &[
            "a", "Z", "0", " ", "\"", "\\", "/", "\n", "\r", "\t", "\u{0}", "\u{1f}", "\u{7f}",
            "é", "\u{2028}", "🔑", "東", "\u{8}", "\u{c}", "\u{b}",
        ];
        let mut next = crate::base::xorshift(0x2545_f491_4f6c_dd1d);
        for _ in 0..20_000 {
            let n = (next() % 40) as usize;
            let t: String = (0..n)
                .map(|_| PARTS[(next() % PARTS.len() as u64) as usize])
                .collect();
            check(&Rec {
                query: Some(t.clone()),
                answers: vec![t],
                ..Rec::default()
            });
        }
    }
}
