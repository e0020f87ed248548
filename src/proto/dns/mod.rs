//! DNS over UDP and TCP: one `dns` record per query and its response. (Stub: decoder pending.)

use super::{Ctx, Dir, TcpApp, UdpApp};

/// A decoder for a DNS TCP connection.
pub fn tcp() -> Box<dyn TcpApp> {
    Box::new(Nothing)
}

/// A decoder for a DNS UDP conversation.
pub fn udp() -> Box<dyn UdpApp> {
    Box::new(Nothing)
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
