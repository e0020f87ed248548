//! DCE-RPC over TCP (135, endpoint-mapper ports, probed ports), over SMB named pipes and over
//! UDP: one `dcerpc` record per call. (Stub: decoder pending.)

use super::{Ctx, Dir, TcpApp, UdpApp};

/// A decoder for a DCE-RPC TCP connection.
pub fn tcp() -> Box<dyn TcpApp> {
    Box::new(Nothing)
}

/// A decoder for connectionless DCE-RPC over UDP.
pub fn udp() -> Box<dyn UdpApp> {
    Box::new(Nothing)
}

/// Whether the first bytes of a TCP connection look like connection-oriented DCE-RPC.
pub fn probe(_dir: Dir, _data: &[u8]) -> bool {
    false
}

/// DCE-RPC carried over one SMB named pipe: the SMB decoder feeds it the pipe's bytes.
pub struct PipeConn {
    /// The pipe's name as opened (`\pipe\samr` or `samr`).
    pub pipe: String,
}

impl PipeConn {
    /// A DCE-RPC connection over the named pipe `pipe`.
    pub fn new(pipe: String) -> Self {
        PipeConn { pipe }
    }

    /// Bytes written to (`ToServer`) or read from (`ToClient`) the pipe, in order.
    pub fn data(&mut self, _cx: &mut Ctx<'_>, _dir: Dir, _data: &[u8]) {}

    /// Bytes of the pipe were lost (not seen, or over a cap).
    pub fn gap(&mut self, _cx: &mut Ctx<'_>, _dir: Dir, _len: u64) {}

    /// The pipe was closed or the connection ended: emit pending calls.
    pub fn close(&mut self, _cx: &mut Ctx<'_>) {}
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
