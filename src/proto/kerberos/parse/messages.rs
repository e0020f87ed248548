//! The messages of the RFC 4120 schema over the DER reader of [`super`]: KDC-REQ, KDC-REP,
//! KRB-ERROR, AP-REQ and AP-REP ([`message`]), the contents of the PA-DATA the records name, the
//! GSS-API wrapper of a Kerberos token and KerberosTime.

use super::*;

/// A KDC-REQ (AS-REQ or TGS-REQ): what a record needs of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdcReq<'a> {
    /// [`AS_REQ`] or [`TGS_REQ`].
    pub msg_type: u32,
    pub padata: PaList<'a>,
    /// KDCOptions, flag 0 in the most significant bit.
    pub kdc_options: u32,
    pub cname: Option<Principal<'a>>,
    pub realm: &'a [u8],
    pub sname: Option<Principal<'a>>,
    /// `till` as GeneralizedTime text.
    pub till: Option<&'a [u8]>,
    pub etypes: Int32s<'a>,
    /// The first ticket of `additional-tickets` (S4U2proxy's evidence, user-to-user's TGT).
    pub additional_ticket: Option<Ticket<'a>>,
}

/// A KDC-REP (AS-REP or TGS-REP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdcRep<'a> {
    /// [`AS_REP`] or [`TGS_REP`].
    pub msg_type: u32,
    pub crealm: &'a [u8],
    pub cname: Principal<'a>,
    pub ticket: Ticket<'a>,
    pub enc: EncData<'a>,
}

/// A KRB-ERROR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KrbError<'a> {
    pub error_code: i32,
    pub crealm: Option<&'a [u8]>,
    pub cname: Option<Principal<'a>>,
    pub realm: &'a [u8],
    pub sname: Option<Principal<'a>>,
    pub e_data: Option<&'a [u8]>,
}

/// An AP-REQ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApReq<'a> {
    /// APOptions, flag 0 in the most significant bit.
    pub ap_options: u32,
    pub ticket: Ticket<'a>,
    pub authenticator: EncData<'a>,
}

/// An AP-REP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApRep<'a> {
    pub enc: EncData<'a>,
}

/// Any Kerberos message this decoder understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message<'a> {
    KdcReq(KdcReq<'a>),
    KdcRep(KdcRep<'a>),
    Error(KrbError<'a>),
    ApReq(ApReq<'a>),
    ApRep(ApRep<'a>),
}

/// Checks `pvno [n0]` and `msg-type [n1]` of a message whose tag is `tag`.
fn pvno_type<'a>(f: &mut Fields<'a>, n0: u32, tag: u32) -> Result<(), nom::Err<Error<&'a [u8]>>> {
    let pvno = whole(f.req(n0)?, integer)?;
    let ty = whole(f.req(n0 + 1)?, integer)?;
    if pvno != 5 || ty != i64::from(tag) {
        return Err(nom::Err::Error(Error::new(f.rest, ErrorKind::Verify)));
    }
    Ok(())
}

fn kdc_req(content: &[u8], tag: u32) -> Result<KdcReq<'_>, nom::Err<Error<&[u8]>>> {
    let mut f = Fields::new(whole(content, sequence)?);
    pvno_type(&mut f, 1, tag)?;
    let padata = match f.opt(3)? {
        Some(v) => whole(v, method_data)?,
        None => PaList::default(),
    };
    let body = whole(f.req(4)?, sequence)?;
    f.finish()?;
    let mut b = Fields::new(body);
    let kdc_options = whole(b.req(0)?, flags)?;
    let cname = b.opt(1)?.map(|v| whole(v, principal)).transpose()?;
    let realm = whole(b.req(2)?, kstring)?;
    let sname = b.opt(3)?.map(|v| whole(v, principal)).transpose()?;
    // till is required by RFC 4120 but optional in its later revisions; accept either.
    let till = b.opt(5)?.map(|v| whole(v, ktime)).transpose()?;
    let etypes = Int32s(whole(b.req(8)?, |x| seq_of(x, int32))?);
    let additional_ticket = match b.opt(11)? {
        Some(v) => {
            let list = whole(v, sequence)?;
            if list.is_empty() {
                None
            } else {
                Some(ticket(list)?.1)
            }
        }
        None => None,
    };
    b.finish()?;
    Ok(KdcReq {
        msg_type: tag,
        padata,
        kdc_options,
        cname,
        realm,
        sname,
        till,
        etypes,
        additional_ticket,
    })
}

fn kdc_rep(content: &[u8], tag: u32) -> Result<KdcRep<'_>, nom::Err<Error<&[u8]>>> {
    let mut f = Fields::new(whole(content, sequence)?);
    pvno_type(&mut f, 0, tag)?;
    if let Some(v) = f.opt(2)? {
        whole(v, method_data)?;
    }
    let crealm = whole(f.req(3)?, kstring)?;
    let cname = whole(f.req(4)?, principal)?;
    let ticket = whole(f.req(5)?, ticket)?;
    let enc = whole(f.req(6)?, enc_data)?;
    f.finish()?;
    Ok(KdcRep {
        msg_type: tag,
        crealm,
        cname,
        ticket,
        enc,
    })
}

fn krb_error(content: &[u8]) -> Result<KrbError<'_>, nom::Err<Error<&[u8]>>> {
    let mut f = Fields::new(whole(content, sequence)?);
    pvno_type(&mut f, 0, KRB_ERROR)?;
    let error_code = whole(f.req(6)?, int32)?;
    let crealm = f.opt(7)?.map(|v| whole(v, kstring)).transpose()?;
    let cname = f.opt(8)?.map(|v| whole(v, principal)).transpose()?;
    let realm = whole(f.req(9)?, kstring)?;
    let sname = f.opt(10)?.map(|v| whole(v, principal)).transpose()?;
    let e_data = f.opt(12)?.map(|v| whole(v, octets)).transpose()?;
    f.finish()?;
    Ok(KrbError {
        error_code,
        crealm,
        cname,
        realm,
        sname,
        e_data,
    })
}

fn ap_req_body(content: &[u8]) -> Result<ApReq<'_>, nom::Err<Error<&[u8]>>> {
    let mut f = Fields::new(whole(content, sequence)?);
    pvno_type(&mut f, 0, AP_REQ)?;
    let ap_options = whole(f.req(2)?, flags)?;
    let ticket = whole(f.req(3)?, ticket)?;
    let authenticator = whole(f.req(4)?, enc_data)?;
    f.finish()?;
    Ok(ApReq {
        ap_options,
        ticket,
        authenticator,
    })
}

fn ap_rep_body(content: &[u8]) -> Result<ApRep<'_>, nom::Err<Error<&[u8]>>> {
    let mut f = Fields::new(whole(content, sequence)?);
    pvno_type(&mut f, 0, AP_REP)?;
    let enc = whole(f.req(2)?, enc_data)?;
    f.finish()?;
    Ok(ApRep { enc })
}

/// Parses one Kerberos message (AS-REQ, AS-REP, TGS-REQ, TGS-REP, AP-REQ, AP-REP, KRB-ERROR);
/// returns the bytes after it.
pub fn message(i: &[u8]) -> Res<'_, Message<'_>> {
    let (r, t) = tlv(i)?;
    if t.class != APPLICATION || !t.constructed {
        return fail(i, ErrorKind::Tag);
    }
    let m = match t.tag {
        AS_REQ | TGS_REQ => Message::KdcReq(kdc_req(t.value, t.tag)?),
        AS_REP | TGS_REP => Message::KdcRep(kdc_rep(t.value, t.tag)?),
        KRB_ERROR => Message::Error(krb_error(t.value)?),
        AP_REQ => Message::ApReq(ap_req_body(t.value)?),
        AP_REP => Message::ApRep(ap_rep_body(t.value)?),
        _ => return fail(i, ErrorKind::Tag),
    };
    Ok((r, m))
}

/// The user named in PA-FOR-USER (MS-SFU 2.2.1: `userName [0] PrincipalName`, `userRealm [1]`,
/// ...) or PA-S4U-X509-USER (`user-id [0] S4UUserID`, whose `cname [1]` is optional).
pub fn s4u_user(ty: i32, value: &[u8]) -> Option<Principal<'_>> {
    let mut f = Fields::new(whole(value, sequence).ok()?);
    match ty {
        PA_FOR_USER => whole(f.req(0).ok()?, principal).ok(),
        PA_S4U_X509_USER => {
            let mut u = Fields::new(whole(f.req(0).ok()?, sequence).ok()?);
            whole(u.opt(1).ok()??, principal).ok()
        }
        _ => None,
    }
}

/// The `signedAuthPack [0] IMPLICIT OCTET STRING` of a PA-PK-AS-REQ (RFC 4556 3.2.1): the DER
/// of a CMS ContentInfo.
pub fn pk_as_req_signed(value: &[u8]) -> Option<&[u8]> {
    let (_, t) = tlv(whole(value, sequence).ok()?).ok()?;
    (t.class == CONTEXT && t.tag == 0).then_some(t.value)
}

/// Parses an AP-REQ (`[APPLICATION 14]`), as in PA-TGS-REQ or a GSS-API token.
pub fn ap_req(i: &[u8]) -> Res<'_, ApReq<'_>> {
    let (r, v) = expect(i, APPLICATION, true, AP_REQ)?;
    Ok((r, ap_req_body(v)?))
}

/// The Kerberos V5 GSS-API mechanism OID 1.2.840.113554.1.2.2 (DER value octets).
pub const OID_KRB5: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02];
/// Microsoft's variant of it, 1.2.840.48018.1.2.2.
pub const OID_MS_KRB5: &[u8] = &[0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02];

/// Unwraps a GSS-API InitialContextToken (`[APPLICATION 0]`, RFC 2743 §3.1) of the Kerberos
/// mechanism (RFC 4121 §4.1): returns the 2-byte token id and the inner token.
pub fn gss_krb5(i: &[u8]) -> Res<'_, ([u8; 2], &[u8])> {
    let (r, v) = expect(i, APPLICATION, true, 0)?;
    let (inner, oid) = expect(v, UNIVERSAL, false, 6)?;
    if oid != OID_KRB5 && oid != OID_MS_KRB5 {
        return fail(i, ErrorKind::Tag);
    }
    let (inner, id) = take(2usize)(inner)?;
    Ok((r, ([id[0], id[1]], inner)))
}

/// The encryption type of a PA-ENC-TIMESTAMP value (an `EncryptedData`).
pub fn pa_enc_timestamp_etype(value: &[u8]) -> Option<i32> {
    whole(value, enc_data).ok().map(|e| e.etype)
}

/// The `include-pac` of a PA-PAC-REQUEST value (`KERB-PA-PAC-REQUEST`, MS-KILE §2.2.3).
pub fn pa_pac_request(value: &[u8]) -> Option<bool> {
    let content = whole(value, sequence).ok()?;
    let mut f = Fields::new(content);
    whole(f.req(0).ok()?, boolean).ok()
}

/// Most encryption types [`etype_info_etypes`] keeps.
pub const MAX_ETYPES: usize = 64;

/// The encryption types of an ETYPE-INFO2 (or ETYPE-INFO) value, in order, into `out` (at most
/// [`MAX_ETYPES`]).
pub fn etype_info_etypes(value: &[u8], out: &mut Vec<i32>) -> bool {
    let Ok(seq) = whole(value, sequence) else {
        return false;
    };
    let mut rest = seq;
    while !rest.is_empty() {
        let Ok((r, entry)) = sequence(rest) else {
            return false;
        };
        rest = r;
        let mut f = Fields::new(entry);
        match f.req(0).ok().and_then(|v| whole(v, int32).ok()) {
            Some(e) if out.len() < MAX_ETYPES => out.push(e),
            Some(_) => {}
            None => return false,
        }
    }
    true
}

/// The encryption types a KRB-ERROR's e-data offers: the ETYPE-INFO2 (else ETYPE-INFO) inside
/// a METHOD-DATA, in order, into `out`, in one pass. False (and `out` untouched) when the
/// e-data is no METHOD-DATA or carries neither.
pub fn error_etypes(e_data: &[u8], out: &mut Vec<i32>) -> bool {
    let Ok(content) = whole(e_data, sequence) else {
        return false;
    };
    let mut rest = content;
    let mut info = None;
    while !rest.is_empty() {
        let Ok((r, pa)) = pa_data(rest) else {
            return false;
        };
        rest = r;
        match pa.ty {
            PA_ETYPE_INFO2 => {
                info = Some(pa.value);
                break;
            }
            PA_ETYPE_INFO if info.is_none() => info = Some(pa.value),
            _ => {}
        }
    }
    let Some(v) = info else { return false };
    let before = out.len();
    if etype_info_etypes(v, out) {
        return true;
    }
    out.truncate(before);
    false
}

/// Parses a KerberosTime text `YYYYMMDDHHMMSSZ` into nanoseconds since the Unix epoch
/// (None before 1970 or past what a u64 holds).
pub fn kerberos_time(t: &[u8]) -> Option<u64> {
    if t.len() != 15 || t[14] != b'Z' || !t[..14].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let num = |a: usize, b: usize| {
        t[a..b]
            .iter()
            .fold(0i64, |acc, &c| acc * 10 + i64::from(c - b'0'))
    };
    let (y, mo, d) = (num(0, 4), num(4, 6), num(6, 8));
    let (h, mi, s) = (num(8, 10), num(10, 12), num(12, 14));
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    // Days from the civil date (proleptic Gregorian), after H. Hinnant's algorithm.
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + mi * 60 + s;
    u64::try_from(secs).ok()?.checked_mul(1_000_000_000)
}
