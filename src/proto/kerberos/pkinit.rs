//! PKINIT (RFC 4556): the client certificate of a PA-PK-AS-REQ, read from the CMS SignedData
//! (RFC 5652) the request carries in clear: its subject and issuer as RFC 4514 strings and its
//! subject alternative names (UPNs, PKINIT principal names, DNS names, e-mail addresses, URIs).
//!
//! The certificate is the one the signer info names (issuer and serial number), else the first.
//! Everything is read by walking the known X.509 and CMS layouts with [`parse::tlv`]: no
//! recursion on what the input says, every list bounded, every string capped.

use super::parse::{self, Tlv, CONTEXT, UNIVERSAL};
use crate::proto::kit::text;

/// What a record says of the client certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientCert {
    pub subject: Option<String>,
    pub issuer: Option<String>,
    pub san: Vec<String>,
}

/// Certificates looked at in one SignedData.
const MAX_CERTS: usize = 16;
/// Elements read of any one list (RDNs, attributes, extensions, names).
const MAX_ITEMS: usize = 64;
/// Subject alternative names kept.
const MAX_SAN: usize = 16;
/// Characters kept of one rendered name.
const MAX_TEXT: usize = 512;

/// id-signedData, 1.2.840.113549.1.7.2.
const OID_SIGNED_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02];
/// id-ce-subjectAltName, 2.5.29.17.
const OID_SAN: &[u8] = &[0x55, 0x1d, 0x11];
/// Microsoft's user principal name, 1.3.6.1.4.1.311.20.2.3.
const OID_UPN: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x14, 0x02, 0x03];
/// id-pkinit-san, 1.3.6.1.5.2.2 (KRB5PrincipalName).
const OID_PKINIT_SAN: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x02, 0x02];

/// The elements of a constructed value, in order, until the end or the first malformed one.
fn items(content: &[u8]) -> impl Iterator<Item = Tlv<'_>> {
    let mut rest = content;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let (r, t) = parse::tlv(rest).ok()?;
        rest = r;
        Some(t)
    })
    .take(MAX_ITEMS)
}

fn is(t: &Tlv<'_>, class: u8, constructed: bool, tag: u32) -> bool {
    t.class == class && t.constructed == constructed && t.tag == tag
}

/// The content of a lone SEQUENCE.
fn seq(i: &[u8]) -> Option<&[u8]> {
    let (_, t) = parse::tlv(i).ok()?;
    is(&t, UNIVERSAL, true, 16).then_some(t.value)
}

/// The client certificate of a CMS ContentInfo holding SignedData.
pub fn client_cert(content_info: &[u8]) -> Option<ClientCert> {
    let mut ci = items(seq(content_info)?);
    let oid = ci.next()?;
    if !is(&oid, UNIVERSAL, false, 6) || oid.value != OID_SIGNED_DATA {
        return None;
    }
    let explicit = ci.next().filter(|t| is(t, CONTEXT, true, 0))?;
    let mut certs = None;
    let mut signer_infos = None;
    for t in items(seq(explicit.value)?) {
        if is(&t, CONTEXT, true, 0) {
            certs = Some(t.value);
        } else if is(&t, UNIVERSAL, true, 17) {
            // digestAlgorithms comes first, signerInfos last: keep the last SET.
            signer_infos = Some(t.value);
        }
    }
    let sid = signer_infos.and_then(signer_id);
    let mut first = None;
    for c in items(certs?).take(MAX_CERTS) {
        let Some(tbs) = tbs(c.value) else { continue };
        if sid.is_some_and(|(issuer, serial)| issuer == tbs.issuer && serial == tbs.serial) {
            return Some(tbs.render());
        }
        first.get_or_insert(tbs);
    }
    first.map(|t| t.render())
}

/// The issuer (whole Name element) and serial number (INTEGER content) the first signer info
/// names, when it names the certificate that way (not by subject key identifier).
fn signer_id(set: &[u8]) -> Option<(&[u8], &[u8])> {
    let si = items(set).next().filter(|t| is(t, UNIVERSAL, true, 16))?;
    let mut f = items(si.value);
    let _version = f.next()?;
    let sid = f.next().filter(|t| is(t, UNIVERSAL, true, 16))?;
    let mut s = items(sid.value);
    let issuer = s.next().filter(|t| is(t, UNIVERSAL, true, 16))?;
    let serial = s.next().filter(|t| is(t, UNIVERSAL, false, 2))?;
    Some((issuer.value, serial.value))
}

/// What is read of a TBSCertificate.
struct Tbs<'a> {
    serial: &'a [u8],
    issuer: &'a [u8],
    subject: &'a [u8],
    extensions: Option<&'a [u8]>,
}

fn tbs(cert: &[u8]) -> Option<Tbs<'_>> {
    let t = items(cert).next().filter(|t| is(t, UNIVERSAL, true, 16))?;
    let mut f = items(t.value).peekable();
    if f.peek().is_some_and(|v| is(v, CONTEXT, true, 0)) {
        f.next(); // version
    }
    let serial = f.next().filter(|t| is(t, UNIVERSAL, false, 2))?.value;
    let _signature = f.next()?;
    let issuer = f.next().filter(|t| is(t, UNIVERSAL, true, 16))?.value;
    let _validity = f.next()?;
    let subject = f.next().filter(|t| is(t, UNIVERSAL, true, 16))?.value;
    let extensions = f.find(|t| is(t, CONTEXT, true, 3)).map(|t| t.value);
    Some(Tbs {
        serial,
        issuer,
        subject,
        extensions,
    })
}

impl Tbs<'_> {
    fn render(&self) -> ClientCert {
        ClientCert {
            subject: name(self.subject),
            issuer: name(self.issuer),
            san: self.extensions.map(san).unwrap_or_default(),
        }
    }
}

/// Dotted decimal of an OID's content.
fn dotted(oid: &[u8]) -> String {
    let mut out = String::new();
    let mut v: u64 = 0;
    for (i, &b) in oid.iter().enumerate().take(64) {
        v = (v << 7) | u64::from(b & 0x7f);
        if b & 0x80 != 0 {
            if v > u64::MAX >> 8 {
                return "?".into();
            }
            continue;
        }
        if out.is_empty() && i < oid.len() {
            let (a, b) = if v < 80 {
                (v / 40, v % 40)
            } else {
                (2, v - 80)
            };
            out = format!("{a}.{b}");
        } else {
            out.push_str(&format!(".{v}"));
        }
        v = 0;
    }
    out
}

fn attr_name(oid: &[u8]) -> String {
    match oid {
        [0x55, 0x04, 0x03] => "CN".into(),
        [0x55, 0x04, 0x06] => "C".into(),
        [0x55, 0x04, 0x07] => "L".into(),
        [0x55, 0x04, 0x08] => "ST".into(),
        [0x55, 0x04, 0x09] => "STREET".into(),
        [0x55, 0x04, 0x0a] => "O".into(),
        [0x55, 0x04, 0x0b] => "OU".into(),
        [0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19] => "DC".into(),
        [0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x01] => "UID".into(),
        [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01] => "emailAddress".into(),
        o => dotted(o),
    }
}

/// A directory string as text (UTF-8, printable, IA5, Teletex as Latin-1, BMP); `None` for
/// other types.
fn dstring(t: &Tlv<'_>) -> Option<String> {
    if t.class != UNIVERSAL || t.constructed {
        return None;
    }
    Some(match t.tag {
        12 | 19 | 22 | 26 | 27 => String::from_utf8_lossy(t.value).into_owned(),
        20 => text::latin1(t.value),
        30 => text::utf16(t.value, true, usize::MAX),
        _ => return None,
    })
}

/// RFC 4514 escaping of an attribute value.
fn escape(v: &str, out: &mut String) {
    let n = v.chars().count();
    for (i, c) in v.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';')
            || (i == 0 && (c == '#' || c == ' '))
            || (i + 1 == n && c == ' ');
        if special {
            out.push('\\');
        }
        out.push(c);
    }
}

/// A Name (the content of its RDNSequence) as an RFC 4514 string: the last RDN first.
fn name(rdns: &[u8]) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    for rdn in items(rdns).filter(|t| is(t, UNIVERSAL, true, 17)) {
        let mut s = String::new();
        for atv in items(rdn.value).filter(|t| is(t, UNIVERSAL, true, 16)) {
            let mut f = items(atv.value);
            let (Some(oid), Some(val)) = (f.next(), f.next()) else {
                continue;
            };
            if !s.is_empty() {
                s.push('+');
            }
            s.push_str(&attr_name(oid.value));
            s.push('=');
            match dstring(&val) {
                Some(v) => escape(&v, &mut s),
                None => {
                    s.push('#');
                    for b in val.value.iter().take(64) {
                        s.push_str(&format!("{b:02x}"));
                    }
                }
            }
        }
        parts.push(s);
    }
    parts.reverse();
    let s = parts.join(",");
    (!s.is_empty()).then(|| s.chars().take(MAX_TEXT).collect())
}

/// The subject alternative names among the extensions (`[3] { SEQUENCE OF Extension }`).
fn san(ext: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let Some(list) = seq(ext) else {
        return out;
    };
    for e in items(list).filter(|t| is(t, UNIVERSAL, true, 16)) {
        let mut f = items(e.value);
        if f.next().is_none_or(|o| o.value != OID_SAN) {
            continue;
        }
        let Some(value) = f.find(|t| is(t, UNIVERSAL, false, 4)) else {
            continue;
        };
        for gn in items(seq(value.value).unwrap_or_default()) {
            if out.len() >= MAX_SAN {
                break;
            }
            let text = match (gn.class, gn.tag) {
                (CONTEXT, 0) => other_name(gn.value),
                // rfc822Name, dNSName, uniformResourceIdentifier (IA5String, implicit).
                (CONTEXT, 1 | 2 | 6) if !gn.constructed => {
                    Some(String::from_utf8_lossy(gn.value).into_owned())
                }
                _ => None,
            };
            if let Some(t) = text.filter(|t| !t.is_empty()) {
                out.push(t.chars().take(MAX_TEXT).collect());
            }
        }
    }
    out
}

/// An otherName: a UPN (UTF8String) or a PKINIT KRB5PrincipalName (`name@REALM`).
fn other_name(v: &[u8]) -> Option<String> {
    let mut f = items(v);
    let oid = f.next().filter(|t| is(t, UNIVERSAL, false, 6))?;
    let explicit = f.next().filter(|t| is(t, CONTEXT, true, 0))?;
    let inner = items(explicit.value).next()?;
    match oid.value {
        OID_UPN => dstring(&inner),
        OID_PKINIT_SAN => {
            let mut k = items(seq(explicit.value)?);
            let realm = k.next().filter(|t| is(t, CONTEXT, true, 0))?;
            let realm = dstring(&items(realm.value).next()?)?;
            let pn = k.next().filter(|t| is(t, CONTEXT, true, 1))?;
            let mut pf = items(seq(pn.value)?);
            let _type = pf.next()?;
            let names = pf.next().filter(|t| is(t, CONTEXT, true, 1))?;
            let comps: Vec<String> = items(seq(names.value)?)
                .filter_map(|c| dstring(&c))
                .collect();
            Some(format!("{}@{realm}", comps.join("/")))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oids_and_names_render() {
        assert_eq!(dotted(OID_UPN), "1.3.6.1.4.1.311.20.2.3");
        assert_eq!(dotted(OID_SIGNED_DATA), "1.2.840.113549.1.7.2");
        let mut s = String::new();
        escape(" a,b+c ", &mut s);
        assert_eq!(s, "\\ a\\,b\\+c\\ ");
    }

    #[test]
    fn hostile_input_gives_nothing_without_panic() {
        assert_eq!(client_cert(&[]), None);
        assert_eq!(client_cert(&[0x30, 0x80]), None);
        assert_eq!(client_cert(&[0x30, 0x03, 0x06, 0x01, 0x2a]), None);
        assert_eq!(dotted(&[0xff; 80]), "?");
    }
}
