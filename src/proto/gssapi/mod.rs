//! GSS-API and SPNEGO, shared by every carrier: unwraps a security token down to NTLMSSP (to
//! [`crate::proto::ntlm::NtlmAuth`]) or a Kerberos AP-REQ (to [`crate::proto::kerberos::ap_req`]).
//!
//! SMB session setup blobs, DCE-RPC auth verifiers, HTTP `Negotiate` headers and LDAP SASL
//! credentials all come through [`inspect`]; the parsers are in [`parse`].

pub mod parse;

use super::ntlm::NtlmAuth;
use super::Ctx;
use crate::record::Carrier;
use crate::stats::Counter;
use parse::Inner;

/// Inspects one security token (SPNEGO NegTokenInit/NegTokenResp, a raw GSS-API Kerberos token,
/// or raw NTLMSSP) seen in `carrier`, feeding NTLMSSP to `auth` and AP-REQs to the Kerberos
/// decoder. A token that does not parse is counted as [`Counter::MalformedGssapi`].
pub fn inspect(cx: &mut Ctx<'_>, carrier: Carrier, token: &[u8], auth: &mut NtlmAuth) {
    match parse::unwrap(token) {
        Ok(Inner::Ntlmssp(msg)) => auth.message(cx, carrier, msg),
        Ok(Inner::ApReq(der)) => {
            super::kerberos::ap_req(cx, carrier, der);
        }
        Ok(Inner::Nothing) => {}
        Err(_) => cx.count(Counter::MalformedGssapi),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::ntlm::parse::tests::{
        hex, LAB03_AUTHENTICATE, LAB03_CHALLENGE, LAB03_NEGOTIATE,
    };
    use crate::proto::testutil::Harness;
    use crate::record::{Body, Code, Transport, NS};

    #[test]
    fn spnego_blobs_reach_the_ntlm_tracker() {
        let mut h = Harness::new(Transport::Tcp, 445);
        let mut auth = NtlmAuth::default();
        for (t, tok) in [LAB03_NEGOTIATE, LAB03_CHALLENGE, LAB03_AUTHENTICATE]
            .iter()
            .enumerate()
        {
            inspect(
                &mut h.cx(t as u64 * NS),
                Carrier::Smb2,
                &hex(tok),
                &mut auth,
            );
        }
        auth.verdict(&mut h.cx(4 * NS), true, Code::Name("STATUS_SUCCESS"));
        assert_eq!(h.out.len(), 1);
        let Body::Ntlm(n) = &h.out[0].body else {
            panic!()
        };
        assert_eq!(
            (n.user.as_deref(), n.server_dns_name.as_deref()),
            (Some("bob"), Some("dc1.lab.example"))
        );
        assert_eq!(h.counters.get(Counter::MalformedGssapi), 0);
    }

    #[test]
    fn malformed_tokens_are_counted() {
        let mut h = Harness::new(Transport::Tcp, 445);
        let mut auth = NtlmAuth::default();
        let tok = hex(LAB03_AUTHENTICATE);
        inspect(&mut h.cx(NS), Carrier::Smb2, &tok[..100], &mut auth);
        inspect(&mut h.cx(NS), Carrier::Smb2, &[0xff, 0x00], &mut auth);
        assert_eq!(h.counters.get(Counter::MalformedGssapi), 2);
        assert!(!auth.pending());
        assert!(h.out.is_empty());
    }
}
