//! GSS-TSIG (RFC 3645): the security token a client sends in a DNS TKEY query to set up the key
//! that signs its secure dynamic updates. Every Windows client does it for its own host record,
//! with a Kerberos AP-REQ for `DNS/<server>` wrapped in SPNEGO or in a bare GSS-API token; that
//! AP-REQ becomes a `kerberos` record with `carrier: "dns"`, like one seen in SMB or LDAP.
//!
//! Only queries are read (the TKEY answer carries the server's AP-REP, which says nothing
//! new). A TKEY record in mode 3 (GSS-API, RFC 2930 §2.5) may sit in the answer or the
//! additional section (RFC 3645 names the additional section; some implementations use the
//! answer section), so both are searched. The token goes through [`crate::proto::gssapi`]'s
//! unwrapping; an NTLMSSP token (not defined for GSS-TSIG) is ignored, a token that does not
//! parse is counted as `malformed.gssapi`, a TKEY record whose fields run past its data as
//! `malformed.dns`.

use super::parse::{rdata_name, Message, Rr};
use crate::proto::gssapi::parse::{unwrap, Inner};
use crate::proto::{kerberos, Ctx, Dir};
use crate::record::Carrier;
use crate::stats::Counter;

/// The TKEY record type (RFC 2930).
pub const TYPE_TKEY: u16 = 249;
/// TKEY mode 3: GSS-API negotiation.
const MODE_GSSAPI: u16 = 3;
/// TKEY records looked at in one message (a real query carries one).
const MAX_TKEYS: usize = 4;

/// The fields of a TKEY record's data that matter here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tkey<'a> {
    pub mode: u16,
    pub key: &'a [u8],
}

/// Reads a TKEY record's data (`r`, a record of message `msg`): algorithm name, inception,
/// expiration, mode, error, key size and key data (the other data after it is not needed).
/// `None` when a field runs past the data.
pub fn parse<'a>(msg: &'a [u8], r: &Rr<'a>) -> Option<Tkey<'a>> {
    let d = r.rdata;
    // The algorithm name is a domain name that RFC 2930 forbids to compress; a pointer is
    // stepped over all the same, since nothing after it depends on where it points.
    let (_, end) = rdata_name(msg, r.rdata_off)?;
    let i = end.checked_sub(r.rdata_off)?;
    // inception (4), expiration (4), mode (2), error (2), key size (2)
    let fixed = d.get(i..i.checked_add(14)?)?;
    let mode = u16::from_be_bytes([fixed[8], fixed[9]]);
    let size = u16::from_be_bytes([fixed[12], fixed[13]]) as usize;
    let start = i + 14;
    let key = d.get(start..start.checked_add(size)?)?;
    Some(Tkey { mode, key })
}

/// Looks for GSS-TSIG tokens in a query `m` that went `dir`, emitting the Kerberos AP-REQs
/// found (with `src` the side that sent the query).
pub fn query(cx: &mut Ctx<'_>, dir: Dir, m: &Message<'_>) {
    let tkeys = m
        .records(m.answers)
        .chain(m.records(m.additional))
        .filter(|r| r.rtype == TYPE_TKEY)
        .take(MAX_TKEYS);
    for r in tkeys {
        let Some(t) = parse(m.msg, &r) else {
            cx.count(Counter::MalformedDns);
            continue;
        };
        if t.mode != MODE_GSSAPI || t.key.is_empty() {
            continue;
        }
        match unwrap(t.key) {
            Ok(Inner::ApReq(der)) => {
                kerberos::ap_req_from(cx, Carrier::Dns, der, dir);
            }
            Ok(Inner::Ntlmssp(_) | Inner::Nothing) => {}
            Err(_) => cx.count(Counter::MalformedGssapi),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A TKEY record's data: algorithm `gss-tsig`, mode, key.
    fn rdata(alg: &[u8], mode: u16, key: &[u8], key_size: u16) -> Vec<u8> {
        let mut d = alg.to_vec();
        d.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 2]);
        d.extend_from_slice(&mode.to_be_bytes());
        d.extend_from_slice(&[0, 0]);
        d.extend_from_slice(&key_size.to_be_bytes());
        d.extend_from_slice(key);
        d.extend_from_slice(&[0, 0]);
        d
    }

    /// A TKEY record whose data is the whole message `d` (so a name pointer points into it).
    fn rr(d: &[u8]) -> Rr<'_> {
        let root: &[u8] = &[0];
        Rr {
            name: super::super::parse::name(root, root).unwrap().1,
            rtype: TYPE_TKEY,
            class: 255,
            ttl: 0,
            rdata: d,
            rdata_off: 0,
        }
    }

    fn parsed(d: &[u8]) -> Option<Tkey<'_>> {
        parse(d, &rr(d))
    }

    const GSS_TSIG: &[u8] = b"\x08gss-tsig\x00";

    #[test]
    fn reads_mode_and_key() {
        let d = rdata(GSS_TSIG, 3, b"\x60\x01\x00", 3);
        assert_eq!(
            parsed(&d),
            Some(Tkey {
                mode: 3,
                key: b"\x60\x01\x00"
            })
        );
        // A compressed algorithm name is stepped over.
        let d = rdata(b"\xc0\x0c", 3, b"ab", 2);
        assert_eq!(parsed(&d).map(|t| t.key), Some(&b"ab"[..]));
    }

    #[test]
    fn lengths_past_the_data_are_refused() {
        // A key size beyond the data, every cut of a valid record, a bad label type.
        assert_eq!(parsed(&rdata(GSS_TSIG, 3, b"ab", 0xffff)), None);
        let d = rdata(GSS_TSIG, 3, b"abcd", 4);
        for cut in 0..d.len() - 2 {
            assert_eq!(parsed(&d[..cut]), None, "cut at {cut}");
        }
        assert_eq!(parsed(&rdata(b"\x48x\x00", 3, b"", 0)), None);
        // A label longer than what is left.
        assert_eq!(parsed(b"\x3fabc"), None);
    }
}
