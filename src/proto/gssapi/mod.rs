//! GSS-API and SPNEGO, shared by every carrier: unwraps a security token down to NTLMSSP (to
//! [`crate::proto::ntlm::NtlmAuth`]) or a Kerberos AP-REQ (to [`crate::proto::kerberos::ap_req`]).
//! (Stub: decoder pending.)

use super::ntlm::NtlmAuth;
use super::Ctx;
use crate::record::Carrier;

/// Inspects one security token (SPNEGO NegTokenInit/NegTokenResp, a raw GSS-API Kerberos token,
/// or raw NTLMSSP) seen in `carrier`, feeding NTLMSSP to `auth` and AP-REQs to the Kerberos
/// decoder.
pub fn inspect(cx: &mut Ctx<'_>, carrier: Carrier, token: &[u8], auth: &mut NtlmAuth) {
    if token.starts_with(b"NTLMSSP\0") {
        auth.message(cx, carrier, token);
    }
}
