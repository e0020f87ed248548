//! NTLMSSP: NEGOTIATE, CHALLENGE and AUTHENTICATE of one authentication become one `ntlm` record,
//! with the carrier's verdict. (Stub: decoder pending.)

use super::Ctx;
use crate::record::{Carrier, Code};

/// The NTLM authentication in progress on one connection (or one SMB session setup).
///
/// Carriers own one, pass every NTLMSSP message to it (through [`crate::proto::gssapi::inspect`]),
/// and report the verdict of their answer with [`NtlmAuth::verdict`].
#[derive(Debug, Default)]
pub struct NtlmAuth {}

impl NtlmAuth {
    /// An NTLMSSP message (starting with `NTLMSSP\0`) seen in `carrier`.
    pub fn message(&mut self, _cx: &mut Ctx<'_>, _carrier: Carrier, _msg: &[u8]) {}

    /// The carrier's answer to the AUTHENTICATE: emits the pending record with the verdict.
    pub fn verdict(&mut self, _cx: &mut Ctx<'_>, _success: bool, _status: Code) {}

    /// Whether an AUTHENTICATE is waiting for its verdict.
    pub fn pending(&self) -> bool {
        false
    }

    /// The connection ended: emit a pending AUTHENTICATE without a verdict.
    pub fn flush(&mut self, _cx: &mut Ctx<'_>) {}

    /// The user and domain named by the most recent AUTHENTICATE (pending or emitted), for
    /// carriers that label later activity with the session's user.
    pub fn user(&self) -> Option<(&str, Option<&str>)> {
        None
    }
}
