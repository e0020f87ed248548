//! Kerberos on UDP and TCP 88/464: one `kerberos` record per KDC exchange, and the entry point
//! for AP-REQs found inside other protocols. (Stub: decoder pending.)

use super::{Ctx, Dir, TcpApp, UdpApp};
use crate::record::Carrier;

/// A decoder for a Kerberos TCP connection.
pub fn tcp() -> Box<dyn TcpApp> {
    Box::new(Nothing)
}

/// A decoder for a Kerberos UDP conversation.
pub fn udp() -> Box<dyn UdpApp> {
    Box::new(Nothing)
}

/// Whether the first bytes of a TCP connection on an unclaimed port look like Kerberos.
pub fn probe_tcp(_dir: Dir, _data: &[u8]) -> bool {
    false
}

/// A Kerberos message found inside `carrier` (the inner token of GSS-API, DER starting with
/// `[APPLICATION 14]`): emits an `AP-REQ` record with that carrier and returns true when it was
/// one; returns false (emitting nothing) for anything else.
pub fn ap_req(_cx: &mut Ctx<'_>, _carrier: Carrier, _der: &[u8]) -> bool {
    false
}

struct Nothing;

impl TcpApp for Nothing {
    fn data(&mut self, _cx: &mut Ctx<'_>, _dir: Dir, _data: &[u8]) {}
    fn gap(&mut self, _cx: &mut Ctx<'_>, _dir: Dir, _len: u64) {}
    fn close(&mut self, _cx: &mut Ctx<'_>) {}
}

impl UdpApp for Nothing {
    fn datagram(&mut self, _cx: &mut Ctx<'_>, _dir: Dir, _data: &[u8]) {}
    fn close(&mut self, _cx: &mut Ctx<'_>) {}
}
