//! What a Kerberos record says of each message: the fields of a KDC request, an AP-REQ, a KDC
//! reply and a KRB-ERROR written into a [`Kerberos`] record, with names capped and lists cut,
//! and the names of KDC options and error codes.

use super::parse::{self, Principal};
use super::pkinit;
use crate::record::{Code, Kerberos, Names};
use sha2::{Digest, Sha256};

/// Longest name (client, realm, service) a record keeps, in bytes: real principal names are far
/// shorter; the cap bounds what a hostile peer can make waiting requests hold.
const MAX_NAME: usize = 1024;
/// Most entries a record keeps of a list (etypes, PA-DATA types, offered etypes).
const MAX_LIST: usize = 64;

/// Cuts `s` to at most [`MAX_NAME`] bytes, at a character boundary.
fn cap(mut s: String) -> String {
    if s.len() > MAX_NAME {
        let mut end = MAX_NAME;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

/// Name components joined with `/`.
fn join(p: &Principal<'_>) -> Option<String> {
    // Sized once for valid UTF-8 components (the usual case).
    let size: usize = p
        .components()
        .map(|c| c.len().min(MAX_NAME + 1) + 1)
        .sum::<usize>()
        .min(2 * MAX_NAME + 2);
    let mut s = String::with_capacity(size.saturating_sub(1));
    for (i, c) in p.components().enumerate() {
        if s.len() > MAX_NAME {
            break;
        }
        if i > 0 {
            s.push('/');
        }
        s.push_str(&String::from_utf8_lossy(&c[..c.len().min(MAX_NAME + 1)]));
    }
    (!s.is_empty()).then(|| cap(s))
}

fn text(b: &[u8]) -> Option<String> {
    (!b.is_empty())
        .then(|| cap(String::from_utf8_lossy(&b[..b.len().min(MAX_NAME + 1)]).into_owned()))
}

/// The first 16 bytes of the SHA-256 of a ticket's enc-part ciphertext, as hex.
pub fn ticket_hash(cipher: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(cipher);
    let mut s = String::with_capacity(32);
    for b in &digest[..16] {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 15)]));
    }
    s
}

/// KDCOptions flag names by bit (RFC 4120 §5.4.1, RFC 6806, RFC 6112, MS-KILE §2.2.8, MS-SFU).
const KDC_OPTIONS: [(u32, &str); 16] = [
    (1, "forwardable"),
    (2, "forwarded"),
    (3, "proxiable"),
    (4, "proxy"),
    (5, "allow-postdate"),
    (6, "postdated"),
    (8, "renewable"),
    (11, "opt-hardware-auth"),
    (14, "cname-in-addl-tkt"),
    (15, "canonicalize"),
    (16, "request-anonymous"),
    (26, "disable-transited-check"),
    (27, "renewable-ok"),
    (28, "enc-tkt-in-skey"),
    (30, "renew"),
    (31, "validate"),
];

/// The names of the KDCOptions set in `bits` (flag 0 in the most significant bit).
pub fn kdc_option_names(bits: u32) -> Names {
    Names::pick(&KDC_OPTIONS, |b| bits & (0x8000_0000 >> b) != 0)
}

/// The name of a KRB-ERROR code (RFC 4120 §7.5.9, RFC 4556, RFC 6113, MS-KILE).
pub fn error_name(code: i32) -> Option<&'static str> {
    Some(match code {
        0 => "KDC_ERR_NONE",
        1 => "KDC_ERR_NAME_EXP",
        2 => "KDC_ERR_SERVICE_EXP",
        3 => "KDC_ERR_BAD_PVNO",
        4 => "KDC_ERR_C_OLD_MAST_KVNO",
        5 => "KDC_ERR_S_OLD_MAST_KVNO",
        6 => "KDC_ERR_C_PRINCIPAL_UNKNOWN",
        7 => "KDC_ERR_S_PRINCIPAL_UNKNOWN",
        8 => "KDC_ERR_PRINCIPAL_NOT_UNIQUE",
        9 => "KDC_ERR_NULL_KEY",
        10 => "KDC_ERR_CANNOT_POSTDATE",
        11 => "KDC_ERR_NEVER_VALID",
        12 => "KDC_ERR_POLICY",
        13 => "KDC_ERR_BADOPTION",
        14 => "KDC_ERR_ETYPE_NOSUPP",
        15 => "KDC_ERR_SUMTYPE_NOSUPP",
        16 => "KDC_ERR_PADATA_TYPE_NOSUPP",
        17 => "KDC_ERR_TRTYPE_NOSUPP",
        18 => "KDC_ERR_CLIENT_REVOKED",
        19 => "KDC_ERR_SERVICE_REVOKED",
        20 => "KDC_ERR_TGT_REVOKED",
        21 => "KDC_ERR_CLIENT_NOTYET",
        22 => "KDC_ERR_SERVICE_NOTYET",
        23 => "KDC_ERR_KEY_EXPIRED",
        24 => "KDC_ERR_PREAUTH_FAILED",
        25 => "KDC_ERR_PREAUTH_REQUIRED",
        26 => "KDC_ERR_SERVER_NOMATCH",
        27 => "KDC_ERR_MUST_USE_USER2USER",
        28 => "KDC_ERR_PATH_NOT_ACCEPTED",
        29 => "KDC_ERR_SVC_UNAVAILABLE",
        31 => "KRB_AP_ERR_BAD_INTEGRITY",
        32 => "KRB_AP_ERR_TKT_EXPIRED",
        33 => "KRB_AP_ERR_TKT_NYV",
        34 => "KRB_AP_ERR_REPEAT",
        35 => "KRB_AP_ERR_NOT_US",
        36 => "KRB_AP_ERR_BADMATCH",
        37 => "KRB_AP_ERR_SKEW",
        38 => "KRB_AP_ERR_BADADDR",
        39 => "KRB_AP_ERR_BADVERSION",
        40 => "KRB_AP_ERR_MSG_TYPE",
        41 => "KRB_AP_ERR_MODIFIED",
        42 => "KRB_AP_ERR_BADORDER",
        44 => "KRB_AP_ERR_BADKEYVER",
        45 => "KRB_AP_ERR_NOKEY",
        46 => "KRB_AP_ERR_MUT_FAIL",
        47 => "KRB_AP_ERR_BADDIRECTION",
        48 => "KRB_AP_ERR_METHOD",
        49 => "KRB_AP_ERR_BADSEQ",
        50 => "KRB_AP_ERR_INAPP_CKSUM",
        51 => "KRB_AP_PATH_NOT_ACCEPTED",
        52 => "KRB_ERR_RESPONSE_TOO_BIG",
        60 => "KRB_ERR_GENERIC",
        61 => "KRB_ERR_FIELD_TOOLONG",
        62 => "KDC_ERR_CLIENT_NOT_TRUSTED",
        63 => "KDC_ERR_KDC_NOT_TRUSTED",
        64 => "KDC_ERR_INVALID_SIG",
        65 => "KDC_ERR_DH_KEY_PARAMETERS_NOT_ACCEPTED",
        66 => "KDC_ERR_CERTIFICATE_MISMATCH",
        67 => "KRB_AP_ERR_NO_TGT",
        68 => "KDC_ERR_WRONG_REALM",
        69 => "KRB_AP_ERR_USER_TO_USER_REQUIRED",
        70 => "KDC_ERR_CANT_VERIFY_CERTIFICATE",
        71 => "KDC_ERR_INVALID_CERTIFICATE",
        72 => "KDC_ERR_REVOKED_CERTIFICATE",
        73 => "KDC_ERR_REVOCATION_STATUS_UNKNOWN",
        74 => "KDC_ERR_REVOCATION_STATUS_UNAVAILABLE",
        75 => "KDC_ERR_CLIENT_NAME_MISMATCH",
        76 => "KDC_ERR_KDC_NAME_MISMATCH",
        77 => "KDC_ERR_INCONSISTENT_KEY_PURPOSE",
        78 => "KDC_ERR_DIGEST_IN_CERT_NOT_ACCEPTED",
        79 => "KDC_ERR_PA_CHECKSUM_MUST_BE_INCLUDED",
        80 => "KDC_ERR_DIGEST_IN_SIGNED_DATA_NOT_ACCEPTED",
        81 => "KDC_ERR_PUBLIC_KEY_ENCRYPTION_NOT_SUPPORTED",
        90 => "KDC_ERR_PREAUTH_EXPIRED",
        91 => "KDC_ERR_MORE_PREAUTH_DATA_REQUIRED",
        92 => "KDC_ERR_PREAUTH_BAD_AUTHENTICATION_SET",
        93 => "KDC_ERR_UNKNOWN_CRITICAL_FAST_OPTIONS",
        _ => return None,
    })
}

pub(super) fn fill_kdc_req(k: &mut Kerberos, r: &parse::KdcReq<'_>) {
    k.request = Some(if r.msg_type == parse::AS_REQ {
        "AS-REQ"
    } else {
        "TGS-REQ"
    });
    k.client = r.cname.as_ref().and_then(join);
    k.realm = text(r.realm);
    k.service = r.sname.as_ref().and_then(join);
    k.etypes = r.etypes.iter().take(MAX_LIST).collect();
    k.kdc_options = kdc_option_names(r.kdc_options);
    k.till = r.till.and_then(parse::kerberos_time);
    k.additional_ticket_hash = r.additional_ticket.map(|t| ticket_hash(t.enc.cipher));
    if !r.padata.0.is_empty() {
        k.preauth = Vec::with_capacity(4);
    }
    for pa in r.padata.iter() {
        if k.preauth.len() < MAX_LIST {
            k.preauth.push(pa.ty);
        }
        match pa.ty {
            parse::PA_ENC_TIMESTAMP if k.preauth_etype.is_none() => {
                k.preauth_etype = parse::pa_enc_timestamp_etype(pa.value);
            }
            parse::PA_PAC_REQUEST if k.pac_request.is_none() => {
                k.pac_request = parse::pa_pac_request(pa.value)
            }
            parse::PA_TGS_REQ if k.presented_hash.is_none() => {
                if let Ok((_, ap)) = parse::ap_req(pa.value) {
                    k.presented_hash = Some(ticket_hash(ap.ticket.enc.cipher));
                    k.presented_etype = Some(ap.ticket.enc.etype);
                }
            }
            parse::PA_FOR_USER | parse::PA_S4U_X509_USER if k.s4u_user.is_none() => {
                k.s4u_user = parse::s4u_user(pa.ty, pa.value).as_ref().and_then(join);
            }
            parse::PA_PK_AS_REQ if k.pkinit_subject.is_none() => {
                if let Some(c) = parse::pk_as_req_signed(pa.value).and_then(pkinit::client_cert) {
                    k.pkinit_subject = c.subject.map(cap);
                    k.pkinit_issuer = c.issuer.map(cap);
                    k.pkinit_san = c.san;
                }
            }
            _ => {}
        }
    }
}

pub(super) fn fill_ap_req(k: &mut Kerberos, ap: &parse::ApReq<'_>) {
    k.presented_etype = Some(ap.ticket.enc.etype);
    k.request = Some("AP-REQ");
    k.realm = text(ap.ticket.realm);
    k.service = join(&ap.ticket.sname);
    k.ticket_etype = Some(ap.ticket.enc.etype);
    k.presented_hash = Some(ticket_hash(ap.ticket.enc.cipher));
}

pub(super) fn fill_kdc_rep(k: &mut Kerberos, r: &parse::KdcRep<'_>) {
    k.reply = Some(if r.msg_type == parse::AS_REP {
        "AS-REP"
    } else {
        "TGS-REP"
    });
    if k.client.is_none() {
        k.client = join(&r.cname);
    }
    if k.realm.is_none() {
        k.realm = text(r.crealm);
    }
    if k.service.is_none() {
        k.service = join(&r.ticket.sname);
    }
    k.ticket_etype = Some(r.ticket.enc.etype);
    k.reply_etype = Some(r.enc.etype);
    k.ticket_hash = Some(ticket_hash(r.ticket.enc.cipher));
}

pub(super) fn fill_error(k: &mut Kerberos, e: &parse::KrbError<'_>) {
    k.reply = Some("KRB-ERROR");
    k.error = Some(Code::new(i64::from(e.error_code), error_name(e.error_code)));
    if k.client.is_none() {
        k.client = e.cname.as_ref().and_then(join);
    }
    if k.realm.is_none() {
        k.realm = e.crealm.and_then(text).or_else(|| text(e.realm));
    }
    if k.service.is_none() {
        k.service = e.sname.as_ref().and_then(join);
    }
    // e-data is METHOD-DATA for pre-authentication errors; other errors carry other things.
    if let Some(ed) = e.e_data {
        parse::error_etypes(ed, &mut k.error_etypes);
    }
}
