//! Pure parsers for the part of LDAP (RFC 4511, BER) that carries authentication: LDAPMessage
//! framing, BindRequest (simple, SASL, and Microsoft's "sicily" NTLM choices [9], [10], [11]),
//! BindResponse (resultCode, matchedDN, serverSaslCreds) and the StartTLS extended operation.

use crate::proto::gssapi::parse::{elements, tlv, Tlv};
use nom::IResult;

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
    ExtendedRequest {
        name: &'a [u8],
    },
    ExtendedResponse {
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

/// A BER INTEGER or ENUMERATED content (at most 8 octets, two's complement).
pub fn integer(v: &[u8]) -> Option<i64> {
    if v.is_empty() || v.len() > 8 {
        return None;
    }
    let neg = v[0] & 0x80 != 0;
    let init: i64 = if neg { -1 } else { 0 };
    Some(v.iter().fold(init, |acc, &b| (acc << 8) | i64::from(b)))
}

fn expect(i: &[u8], tag: u8) -> IResult<&[u8], Tlv<'_>> {
    let (rest, t) = tlv(i)?;
    if t.tag != tag {
        return Err(err(i));
    }
    Ok((rest, t))
}

/// Parses one complete LDAPMessage (`SEQUENCE { messageID, protocolOp, controls }`).
pub fn message(i: &[u8]) -> IResult<&[u8], Message<'_>> {
    let (rest, seq) = expect(i, 0x30)?;
    let (body, id) = expect(seq.value, 0x02)?;
    let id = integer(id.value).ok_or_else(|| err(i))?;
    let (_, op) = tlv(body)?;
    let op = match op.tag {
        0x60 => bind_request(op.value)?,
        0x61 => {
            let (result, matched_dn, tail) = ldap_result(op.value)?;
            let sasl_creds = elements(tail).find(|t| t.tag == 0x87).map(|t| t.value);
            Op::BindResponse {
                result,
                matched_dn,
                sasl_creds,
            }
        }
        0x77 => {
            let name = elements(op.value)
                .find(|t| t.tag == 0x80)
                .map(|t| t.value)
                .unwrap_or(&[]);
            Op::ExtendedRequest { name }
        }
        0x78 => Op::ExtendedResponse {
            result: ldap_result(op.value)?.0,
        },
        t => Op::Other(t),
    };
    Ok((rest, Message { id, op }))
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
pub(crate) mod tests {
    use super::*;
    use crate::proto::ntlm::parse::tests::hex;

    // testdata-pcaps/lab/10_attack_kerberoasting.pcap, TCP payloads of frames 4, 6, 8 and 9:
    // impacket's GetUserSPNs binding as alice with SASL GSS-SPNEGO (NTLM), then frame 10, the
    // first sealed message after the bind (cut after its first 40 bytes).
    pub(crate) const LAB10_BIND_NEGOTIATE: &str = "3067020476c37b94605f0201030400a358040a4753532d53504e45474f044a604806062b0601050502a03e303ca00e300c060a2b06010401823702020aa22a04284e544c4d5353500001000000358288e2000000000000000000000000000000000a00614a0000000f";
    pub(crate) const LAB10_BIND_CHALLENGE: &str = "3081d0020476c37b946181c70a010e040004008781bda181ba3081b7a0030a0101a10c060a2b06010401823702020aa281a104819e4e544c4d53535000020000000600060038000000358289e248198b91d6516f350000000000000000600060003e000000060100000000000f4c0041004200020006004c004100420001000600440043003100040016006c00610062002e006500780061006d0070006c00650003001e006400630031002e006c00610062002e006500780061006d0070006c00650007000800766b97c55d7fdd0100000000";
    pub(crate) const LAB10_BIND_SUCCESS: &str = "302e02043d5f3c9261260a010004000400871da11b3019a0030a0100a3120410010000002fda46217151409d00000000";
    pub(crate) const LAB10_SEALED: &str =
        "0000012a01000000c952314f2335bf660100000041c3b41b1ffdda36a86be38de609ec0f41a9125b";

    #[test]
    fn sasl_bind_request_and_responses() {
        let m = hex(LAB10_BIND_NEGOTIATE);
        let (rest, msg) = message(&m).unwrap();
        assert!(rest.is_empty());
        assert_eq!(msg.id, 0x76c3_7b94);
        let Op::BindRequest {
            name,
            auth:
                Auth::Sasl {
                    mechanism,
                    credentials: Some(c),
                },
        } = msg.op
        else {
            panic!("{msg:?}")
        };
        assert_eq!((name, mechanism), (&b""[..], &b"GSS-SPNEGO"[..]));
        assert_eq!(c.len(), 0x4a);
        assert_eq!(c[0], 0x60);

        let m = hex(LAB10_BIND_CHALLENGE);
        let (_, msg) = message(&m).unwrap();
        let Op::BindResponse {
            result: 14,
            matched_dn: b"",
            sasl_creds: Some(c),
        } = msg.op
        else {
            panic!("{msg:?}")
        };
        assert_eq!(c[0], 0xa1);

        let m = hex(LAB10_BIND_SUCCESS);
        let (_, msg) = message(&m).unwrap();
        assert_eq!(msg.id, 0x3d5f_3c92);
        assert!(matches!(
            msg.op,
            Op::BindResponse {
                result: 0,
                sasl_creds: Some(_),
                ..
            }
        ));
        assert_eq!(result_name(14), Some("saslBindInProgress"));
        assert_eq!(result_name(49), Some("invalidCredentials"));
        assert_eq!(result_name(99), None);
    }

    #[test]
    fn integers_and_truncations() {
        assert_eq!(integer(&[0x01]), Some(1));
        assert_eq!(integer(&[0xff]), Some(-1));
        assert_eq!(integer(&[0x00, 0x80]), Some(128));
        assert_eq!(integer(&[]), None);
        assert_eq!(integer(&[1; 9]), None);
        for h in [
            LAB10_BIND_NEGOTIATE,
            LAB10_BIND_CHALLENGE,
            LAB10_BIND_SUCCESS,
        ] {
            let m = hex(h);
            for n in 0..m.len() {
                assert!(message(&m[..n]).is_err());
            }
        }
        assert!(message(&hex(LAB10_SEALED)).is_err());
    }
}
