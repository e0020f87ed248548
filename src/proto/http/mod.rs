//! HTTP/1.x headers, just enough to find NTLM and Negotiate authentication and its status. (Stub: decoder pending.)

use super::{Ctx, Dir, TcpApp};

/// A decoder for one connection.
pub fn tcp() -> Box<dyn TcpApp> {
    Box::new(Nothing)
}

/// Whether the first bytes of a TCP connection on an unclaimed port look like this protocol.
pub fn probe(_dir: Dir, _data: &[u8]) -> bool {
    false
}

struct Nothing;

impl TcpApp for Nothing {
    fn data(&mut self, _cx: &mut Ctx<'_>, _dir: Dir, _data: &[u8]) {}
    fn gap(&mut self, _cx: &mut Ctx<'_>, _dir: Dir, _len: u64) {}
    fn close(&mut self, _cx: &mut Ctx<'_>) {}
}
