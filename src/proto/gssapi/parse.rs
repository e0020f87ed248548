//! Pure parsers for GSS-API tokens (RFC 2743 3.1) and SPNEGO (RFC 4178, MS-SPNG): [`unwrap`]
//! peels a security token down to the mechanism token it carries (NTLMSSP or a Kerberos
//! AP-REQ). The DER reader is the kit's ([`crate::proto::kit::ber`]), re-exported here.
//!
//! Lengths are checked against the bytes present before anything is sliced; nothing allocates.

/// OID 1.3.6.1.5.5.2 (SPNEGO), DER content bytes.
pub const OID_SPNEGO: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x02];
/// OID 1.2.840.113554.1.2.2 (Kerberos 5).
pub const OID_KRB5: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02];
/// OID 1.2.840.48018.1.2.2 (Microsoft's Kerberos 5 OID).
pub const OID_MS_KRB5: &[u8] = &[0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02];
/// OID 1.3.6.1.4.1.311.2.2.10 (NTLMSSP).
pub const OID_NTLMSSP: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a];

/// Nested tokens followed at most (a mechToken inside SPNEGO inside a GSS wrapper is 3).
pub const MAX_DEPTH: usize = 4;

pub use crate::proto::kit::ber::{elements, header, header_incomplete, tlv, Elements, Tlv};

/// What a security token carries, once unwrapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inner<'a> {
    /// An NTLMSSP message.
    Ntlmssp(&'a [u8]),
    /// A Kerberos AP-REQ, starting at its `[APPLICATION 14]` tag.
    ApReq(&'a [u8]),
    /// Nothing we decode, but a valid token: an AP-REP or KRB-ERROR (bare or wrapped), a
    /// per-message token, a NegTokenInit or NegTokenResp without a mechanism token, another
    /// mechanism.
    Nothing,
}

/// Why a token could not be unwrapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// A DER element is truncated or has an unacceptable length.
    Der,
    /// The structure is not what the token's type requires (a missing OID, a wrong tag).
    Structure,
    /// The first byte matches no token type we know.
    Unknown,
    /// Tokens nested deeper than [`MAX_DEPTH`].
    TooDeep,
}

/// Unwraps `token` (a GSS-API InitialContextToken, a SPNEGO NegTokenInit or NegTokenResp, a raw
/// NTLMSSP message or raw Kerberos) down to the mechanism token it carries.
pub fn unwrap(token: &[u8]) -> Result<Inner<'_>, Error> {
    let mut t = token;
    for _ in 0..MAX_DEPTH {
        match step(t)? {
            Step::Done(inner) => return Ok(inner),
            Step::Inner(next) => t = next,
        }
    }
    Err(Error::TooDeep)
}

enum Step<'a> {
    Done(Inner<'a>),
    Inner(&'a [u8]),
}

fn der(i: &[u8]) -> Result<(&[u8], Tlv<'_>), Error> {
    tlv(i).map_err(|_| Error::Der)
}

fn step(t: &[u8]) -> Result<Step<'_>, Error> {
    match t.first() {
        None => Ok(Step::Done(Inner::Nothing)),
        Some(b'N') if t.starts_with(crate::proto::ntlm::parse::SIGNATURE) => {
            Ok(Step::Done(Inner::Ntlmssp(t)))
        }
        // GSS-API InitialContextToken: [APPLICATION 0] { thisMech OID, innerContextToken }.
        Some(0x60) => {
            let (_, app) = der(t)?;
            let (inner, oid) = der(app.value)?;
            if oid.tag != 0x06 {
                return Err(Error::Structure);
            }
            match oid.value {
                OID_SPNEGO => Ok(Step::Inner(inner)),
                OID_KRB5 | OID_MS_KRB5 => Ok(Step::Done(krb5_inner(inner))),
                OID_NTLMSSP => Ok(Step::Inner(inner)),
                _ => Ok(Step::Done(Inner::Nothing)),
            }
        }
        // SPNEGO NegTokenInit: [0] SEQUENCE { [0] mechTypes, [1] reqFlags, [2] mechToken, [3] mechListMIC }.
        Some(0xa0) => spnego_fields(t, 2),
        // SPNEGO NegTokenResp: [1] SEQUENCE { [0] negState, [1] supportedMech, [2] responseToken, [3] mechListMIC }.
        Some(0xa1) => spnego_fields(t, 2),
        // A bare Kerberos AP-REQ.
        Some(0x6e) => {
            let (_, _) = der(t)?;
            Ok(Step::Done(Inner::ApReq(t)))
        }
        // A bare AP-REP or KRB-ERROR ([APPLICATION 15], [APPLICATION 30]): the answers of a
        // Kerberos context, sent without the GSS wrapper in DCE style (MS-KILE 3.4.5.1) and as
        // SPNEGO response tokens. Valid tokens, nothing to decode.
        Some(0x6f | 0x7e) => {
            let (_, _) = der(t)?;
            Ok(Step::Done(Inner::Nothing))
        }
        // RFC 4121 per-message tokens (MIC 04 04, Wrap 05 04): nothing to decode.
        Some(0x04 | 0x05) if t.get(1) == Some(&0x04) => Ok(Step::Done(Inner::Nothing)),
        Some(_) => Err(Error::Unknown),
    }
}

/// The Kerberos inner context token: a 2-byte token id, then the message (RFC 1964 1.1).
fn krb5_inner(inner: &[u8]) -> Inner<'_> {
    match inner {
        [0x01, 0x00, rest @ ..] if rest.first() == Some(&0x6e) => Inner::ApReq(rest),
        _ => Inner::Nothing,
    }
}

/// Finds the context-tagged element `[want]` (the mechanism token) in a NegTokenInit or
/// NegTokenResp and continues with the OCTET STRING's content.
fn spnego_fields(t: &[u8], want: u8) -> Result<Step<'_>, Error> {
    let (_, outer) = der(t)?;
    let (_, seq) = der(outer.value)?;
    if seq.tag != 0x30 {
        return Err(Error::Structure);
    }
    let mut fields = elements(seq.value);
    let mut token = None;
    for f in fields.by_ref() {
        if f.tag == 0xa0 + want && token.is_none() {
            let (_, octets) = der(f.value)?;
            if octets.tag != 0x04 {
                return Err(Error::Structure);
            }
            token = Some(octets.value);
        }
    }
    if fields.bad {
        return Err(Error::Der);
    }
    Ok(match token {
        Some(tok) if !tok.is_empty() => Step::Inner(tok),
        _ => Step::Done(Inner::Nothing),
    })
}

#[cfg(test)]
mod tests;
