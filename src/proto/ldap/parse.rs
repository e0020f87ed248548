//! Pure parsers for LDAP messages (RFC 4511, BER): LDAPMessage framing (with CLDAP's optional
//! `user` field, RFC 1798), BindRequest (simple, SASL, and Microsoft's "sicily" NTLM choices [9],
//! [10], [11]), BindResponse (resultCode, matchedDN, serverSaslCreds), SearchRequest, the entry,
//! reference and done answers, Modify, Add, Del, ModifyDN, Compare and Extended requests, and
//! the LDAPResult of every response.
//!
//! Nothing here recurses on input: filters are rendered by [`super::filter`] with an explicit
//! stack; lists (attributes, changes) are walked by iterators over one level.

use crate::proto::kit::ber::{elements, header, tlv, Tlv};
use nom::IResult;

/// The elements of a constructed value (attributes, changes, values).
pub use crate::proto::kit::ber::elements as elements_of;
/// A BER INTEGER or ENUMERATED content (at most 8 octets, two's complement).
pub use crate::proto::kit::ber::integer;

/// The StartTLS extended operation's OID.
pub const OID_STARTTLS: &[u8] = b"1.3.6.1.4.1.1466.20037";

/// The authentication choice of a BindRequest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth<'a> {
    /// `[0]` simple (the password is not kept).
    Simple,
    /// `[3]` SASL: mechanism and optional credentials.
    Sasl {
        mechanism: &'a [u8],
        credentials: Option<&'a [u8]>,
    },
    /// `[9]` sicilyPackageDiscovery.
    SicilyDiscovery,
    /// `[10]` sicilyNegotiate: an NTLM NEGOTIATE.
    SicilyNegotiate(&'a [u8]),
    /// `[11]` sicilyResponse: an NTLM AUTHENTICATE.
    SicilyResponse(&'a [u8]),
    /// Another choice (its context tag number).
    Other(u8),
}

/// Application tags of the protocol operations (RFC 4511 4.2 to 4.12).
pub mod tag {
    pub const BIND_REQUEST: u8 = 0x60;
    pub const BIND_RESPONSE: u8 = 0x61;
    pub const UNBIND_REQUEST: u8 = 0x42;
    pub const SEARCH_REQUEST: u8 = 0x63;
    pub const SEARCH_ENTRY: u8 = 0x64;
    pub const SEARCH_DONE: u8 = 0x65;
    pub const SEARCH_REFERENCE: u8 = 0x73;
    pub const MODIFY_REQUEST: u8 = 0x66;
    pub const MODIFY_RESPONSE: u8 = 0x67;
    pub const ADD_REQUEST: u8 = 0x68;
    pub const ADD_RESPONSE: u8 = 0x69;
    pub const DEL_REQUEST: u8 = 0x4a;
    pub const DEL_RESPONSE: u8 = 0x6b;
    pub const MODDN_REQUEST: u8 = 0x6c;
    pub const MODDN_RESPONSE: u8 = 0x6d;
    pub const COMPARE_REQUEST: u8 = 0x6e;
    pub const COMPARE_RESPONSE: u8 = 0x6f;
    pub const ABANDON_REQUEST: u8 = 0x50;
    pub const EXTENDED_REQUEST: u8 = 0x77;
    pub const EXTENDED_RESPONSE: u8 = 0x78;
    pub const INTERMEDIATE_RESPONSE: u8 = 0x79;
}

/// A SearchRequest's fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Search<'a> {
    pub base: &'a [u8],
    pub scope: i64,
    pub size_limit: i64,
    /// The filter element (rendered by [`super::filter::render`]).
    pub filter: Tlv<'a>,
    /// The content of the AttributeSelection (a SEQUENCE OF OCTET STRING).
    pub attributes: &'a [u8],
}

/// The operations we look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op<'a> {
    BindRequest {
        name: &'a [u8],
        auth: Auth<'a>,
    },
    BindResponse {
        result: i64,
        matched_dn: &'a [u8],
        sasl_creds: Option<&'a [u8]>,
    },
    SearchRequest(Search<'a>),
    /// ModifyRequest: the object and the content of its `changes` SEQUENCE OF.
    ModifyRequest {
        dn: &'a [u8],
        changes: &'a [u8],
    },
    /// AddRequest: the entry and the content of its `attributes` SEQUENCE OF.
    AddRequest {
        dn: &'a [u8],
        attributes: &'a [u8],
    },
    DelRequest {
        dn: &'a [u8],
    },
    ModDnRequest {
        dn: &'a [u8],
    },
    CompareRequest {
        dn: &'a [u8],
    },
    ExtendedRequest {
        name: &'a [u8],
    },
    /// A SearchResultEntry (counted, not read).
    SearchEntry,
    /// A SearchResultReference (a referral, not an entry).
    SearchReference,
    /// The LDAPResult of a response other than a bind (`op` is its tag).
    Result {
        op: u8,
        result: i64,
    },
    /// Any other operation (its tag).
    Other(u8),
}

/// An LDAPMessage: its id and operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message<'a> {
    pub id: i64,
    pub op: Op<'a>,
}

/// The error of these parsers.
type Fail<'a> = nom::Err<nom::error::Error<&'a [u8]>>;

fn err(i: &[u8]) -> Fail<'_> {
    nom::Err::Error(nom::error::Error::new(i, nom::error::ErrorKind::Verify))
}

fn expect(i: &[u8], tag: u8) -> IResult<&[u8], Tlv<'_>> {
    let (rest, t) = tlv(i)?;
    if t.tag != tag {
        return Err(err(i));
    }
    Ok((rest, t))
}

/// The messageID and the operation's element of an LDAPMessage's content, skipping CLDAP's
/// `user` (an LDAPDN between them, RFC 1798; Windows leaves it out).
fn id_and_op(seq: &[u8]) -> Result<(i64, Tlv<'_>), Fail<'_>> {
    let (body, id) = expect(seq, 0x02)?;
    let id = integer(id.value).ok_or_else(|| err(seq))?;
    let (after, mut op) = tlv(body)?;
    if op.tag == 0x04 {
        op = tlv(after)?.1;
    }
    Ok((id, op))
}

/// The messageID and operation tag of a message from its first bytes only (the rest may be
/// absent): for messages too large to buffer, which are counted and skipped.
pub fn peek(i: &[u8]) -> Option<(i64, u8)> {
    let (0x30, hl, _) = header(i)? else {
        return None;
    };
    let (rest, id) = expect(i.get(hl..)?, 0x02).ok()?;
    let id = integer(id.value)?;
    let op = match rest.first() {
        Some(0x04) => {
            let (_, uhl, ulen) = header(rest)?;
            *rest.get(uhl.checked_add(ulen)?)?
        }
        o => *o?,
    };
    Some((id, op))
}

/// Parses one complete LDAPMessage (`SEQUENCE { messageID, protocolOp, controls }`).
pub fn message(i: &[u8]) -> IResult<&[u8], Message<'_>> {
    let (rest, seq) = expect(i, 0x30)?;
    let (id, op) = id_and_op(seq.value)?;
    let op = match op.tag {
        tag::BIND_REQUEST => bind_request(op.value)?,
        tag::BIND_RESPONSE => {
            let (result, matched_dn, tail) = ldap_result(op.value)?;
            let sasl_creds = elements(tail).find(|t| t.tag == 0x87).map(|t| t.value);
            Op::BindResponse {
                result,
                matched_dn,
                sasl_creds,
            }
        }
        tag::SEARCH_REQUEST => Op::SearchRequest(search_request(op.value)?),
        tag::SEARCH_ENTRY => Op::SearchEntry,
        tag::SEARCH_REFERENCE => Op::SearchReference,
        tag::MODIFY_REQUEST => {
            let (i, dn) = expect(op.value, 0x04)?;
            let (_, changes) = expect(i, 0x30)?;
            Op::ModifyRequest {
                dn: dn.value,
                changes: changes.value,
            }
        }
        tag::ADD_REQUEST => {
            let (i, dn) = expect(op.value, 0x04)?;
            let (_, attributes) = expect(i, 0x30)?;
            Op::AddRequest {
                dn: dn.value,
                attributes: attributes.value,
            }
        }
        tag::DEL_REQUEST => Op::DelRequest { dn: op.value },
        tag::MODDN_REQUEST => Op::ModDnRequest {
            dn: expect(op.value, 0x04)?.1.value,
        },
        tag::COMPARE_REQUEST => Op::CompareRequest {
            dn: expect(op.value, 0x04)?.1.value,
        },
        tag::EXTENDED_REQUEST => {
            let name = elements(op.value)
                .find(|t| t.tag == 0x80)
                .map(|t| t.value)
                .unwrap_or(&[]);
            Op::ExtendedRequest { name }
        }
        tag::SEARCH_DONE
        | tag::MODIFY_RESPONSE
        | tag::ADD_RESPONSE
        | tag::DEL_RESPONSE
        | tag::MODDN_RESPONSE
        | tag::COMPARE_RESPONSE
        | tag::EXTENDED_RESPONSE => Op::Result {
            op: op.tag,
            result: ldap_result(op.value)?.0,
        },
        t => Op::Other(t),
    };
    Ok((rest, Message { id, op }))
}

fn search_request(v: &[u8]) -> Result<Search<'_>, Fail<'_>> {
    let (i, base) = expect(v, 0x04)?;
    let (i, scope) = expect(i, 0x0a)?;
    let (i, _deref) = expect(i, 0x0a)?;
    let (i, size) = expect(i, 0x02)?;
    let (i, _time) = expect(i, 0x02)?;
    let (i, _types_only) = expect(i, 0x01)?;
    let (i, filter) = tlv(i)?;
    let attributes = match tlv(i) {
        Ok((_, t)) if t.tag == 0x30 => t.value,
        _ => &[],
    };
    Ok(Search {
        base: base.value,
        scope: integer(scope.value).ok_or_else(|| err(v))?,
        size_limit: integer(size.value).ok_or_else(|| err(v))?,
        filter,
        attributes,
    })
}

/// The type and values of a PartialAttribute (`SEQUENCE { type, vals SET OF value }`).
pub fn partial_attribute(v: &[u8]) -> Option<(&[u8], &[u8])> {
    let (i, ty) = expect(v, 0x04).ok()?;
    let (_, vals) = expect(i, 0x31).ok()?;
    Some((ty.value, vals.value))
}

/// One change of a ModifyRequest: the operation number and the PartialAttribute's content.
pub fn change(v: &[u8]) -> Option<(i64, &[u8])> {
    let (i, op) = expect(v, 0x0a).ok()?;
    let (_, attr) = expect(i, 0x30).ok()?;
    Some((integer(op.value)?, attr.value))
}

/// The name of a scope (RFC 4511 4.5.1.2).
pub fn scope_name(scope: i64) -> Option<&'static str> {
    match scope {
        0 => Some("base"),
        1 => Some("one"),
        2 => Some("sub"),
        _ => None,
    }
}

/// The name of a ModifyRequest operation (RFC 4511 4.6, RFC 4525 increment).
pub fn change_name(op: i64) -> Option<&'static str> {
    match op {
        0 => Some("add"),
        1 => Some("delete"),
        2 => Some("replace"),
        3 => Some("increment"),
        _ => None,
    }
}

/// LDAPResult: resultCode, matchedDN, diagnosticMessage; returns what follows them.
fn ldap_result(v: &[u8]) -> Result<(i64, &[u8], &[u8]), Fail<'_>> {
    let (i, code) = expect(v, 0x0a)?;
    let result = integer(code.value).ok_or_else(|| err(v))?;
    let (i, matched) = expect(i, 0x04)?;
    let (i, _diag) = expect(i, 0x04)?;
    Ok((result, matched.value, i))
}

fn bind_request(v: &[u8]) -> Result<Op<'_>, Fail<'_>> {
    let (i, _version) = expect(v, 0x02)?;
    let (i, name) = expect(i, 0x04)?;
    let (_, a) = tlv(i)?;
    let auth = match a.tag {
        0x80 => Auth::Simple,
        0xa3 => {
            let (rest, mech) = expect(a.value, 0x04)?;
            let credentials = match tlv(rest) {
                Ok((_, c)) if c.tag == 0x04 => Some(c.value),
                _ => None,
            };
            Auth::Sasl {
                mechanism: mech.value,
                credentials,
            }
        }
        0x89 => Auth::SicilyDiscovery,
        0x8a => Auth::SicilyNegotiate(a.value),
        0x8b => Auth::SicilyResponse(a.value),
        t => Auth::Other(t & 0x1f),
    };
    Ok(Op::BindRequest {
        name: name.value,
        auth,
    })
}

/// The name of an LDAP resultCode (RFC 4511 4.1.9).
pub fn result_name(code: i64) -> Option<&'static str> {
    Some(match code {
        0 => "success",
        1 => "operationsError",
        2 => "protocolError",
        3 => "timeLimitExceeded",
        4 => "sizeLimitExceeded",
        5 => "compareFalse",
        6 => "compareTrue",
        7 => "authMethodNotSupported",
        8 => "strongerAuthRequired",
        10 => "referral",
        11 => "adminLimitExceeded",
        12 => "unavailableCriticalExtension",
        13 => "confidentialityRequired",
        14 => "saslBindInProgress",
        16 => "noSuchAttribute",
        17 => "undefinedAttributeType",
        18 => "inappropriateMatching",
        19 => "constraintViolation",
        20 => "attributeOrValueExists",
        21 => "invalidAttributeSyntax",
        32 => "noSuchObject",
        33 => "aliasProblem",
        34 => "invalidDNSyntax",
        36 => "aliasDereferencingProblem",
        48 => "inappropriateAuthentication",
        49 => "invalidCredentials",
        50 => "insufficientAccessRights",
        51 => "busy",
        52 => "unavailable",
        53 => "unwillingToPerform",
        54 => "loopDetect",
        64 => "namingViolation",
        65 => "objectClassViolation",
        66 => "notAllowedOnNonLeaf",
        67 => "notAllowedOnRDN",
        68 => "entryAlreadyExists",
        69 => "objectClassModsProhibited",
        71 => "affectsMultipleDSAs",
        80 => "other",
        _ => return None,
    })
}

#[cfg(test)]
pub(crate) mod tests;
