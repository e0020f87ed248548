//! DCE-RPC over TCP (135, endpoint-mapper ports, probed ports), over SMB named pipes and over
//! UDP: one `dcerpc` record per call.
//!
//! [`Conn`] holds the state of one connection-oriented association, whatever carries it: the
//! presentation contexts bound (context id → interface and version, accepted or not), the calls
//! in flight matched by call id, fragment reassembly by PFC_FIRST_FRAG/PFC_LAST_FRAG (counted
//! against [`DecoderConfig::dcerpc_max_stub`]; only endpoint-mapper answers keep their bytes, to
//! read the towers), the auth verifier, and the NTLM authentication handed to
//! [`crate::proto::gssapi::inspect`]. The TCP decoder ([`tcp`]) and [`PipeConn`] (bytes of an SMB
//! named pipe, fed by the SMB decoder) are thin wrappers around it. Connectionless DCE-RPC over
//! UDP is in [`cl`]. Pure parsers are in [`parse`], the interface/operation table in
//! [`interfaces`].
//!
//! [`DecoderConfig::dcerpc_max_stub`]: crate::proto::DecoderConfig::dcerpc_max_stub

pub mod args;
pub mod cl;
pub mod interfaces;
pub mod ndr;
pub mod parse;

use super::ntlm::NtlmAuth;
use super::{Ctx, Dir, TcpApp, UdpApp};
use crate::record::{Body, Carrier, Code, Dcerpc, Ts};
use crate::stats::Counter;
use parse::{pfc, ptype, CoHeader, HeaderError, Uuid};
use std::net::IpAddr;

/// A decoder for a DCE-RPC TCP connection.
pub fn tcp() -> Box<dyn TcpApp> {
    Box::new(TcpConn {
        conn: Conn::new(None),
    })
}

/// A decoder for connectionless DCE-RPC over UDP.
pub fn udp() -> Box<dyn UdpApp> {
    Box::new(cl::ClConn::default())
}

/// Whether a UDP datagram on an unclaimed port is a connectionless DCE-RPC request: a v4
/// header of type request whose body length (plus an auth trailer when it names one) is exactly
/// what the datagram holds.
pub fn probe_udp(data: &[u8]) -> bool {
    match parse::cl_header(data) {
        Some((h, _)) if h.ptype == 0 => {
            let want = parse::CL_HEADER_LEN + usize::from(h.body_len);
            data.len() == want || (h.auth_proto != 0 && data.len() > want)
        }
        _ => false,
    }
}

/// Whether the first bytes of a TCP connection look like connection-oriented DCE-RPC: a v5.0/5.1
/// header with the ASCII data representation (little- or big-endian integers, IEEE/VAX/Cray/IBM
/// floats, two zero bytes) and a sane frag_length for its type. A BIND or ALTER_CONTEXT from the
/// client starts a connection; so that a connection picked up midstream (the capture began
/// after its bind) is still decoded, a REQUEST, RESPONSE, FAULT, AUTH3 or bind answer is
/// accepted too, in either direction (the roles of a midstream flow are a guess).
pub fn probe(dir: Dir, data: &[u8]) -> bool {
    let Ok(h) = parse::co_header(data) else {
        return false;
    };
    if h.drep[2] != 0 || h.drep[3] != 0 {
        return false;
    }
    let len = usize::from(h.frag_len);
    match h.ptype {
        // A bind holds at least the 12 fixed bytes and one 44-byte context element.
        ptype::BIND | ptype::ALTER_CONTEXT => dir == Dir::ToServer && len >= 16 + 12 + 44,
        ptype::REQUEST | ptype::RESPONSE | ptype::FAULT => len >= 24,
        ptype::BIND_ACK | ptype::ALTER_CONTEXT_RESP => len >= 16 + 12,
        ptype::AUTH3 => len >= 20,
        _ => false,
    }
}

/// DCE-RPC carried over one SMB named pipe: the SMB decoder feeds it the pipe's bytes.
pub struct PipeConn {
    /// The pipe's name as opened (`\pipe\samr` or `samr`).
    pub pipe: String,
    conn: Conn,
}

impl PipeConn {
    /// A DCE-RPC connection over the named pipe `pipe`.
    pub fn new(pipe: String) -> Self {
        let named = pipe_name(&pipe);
        PipeConn {
            pipe,
            conn: Conn::new(Some(named)),
        }
    }

    /// Bytes written to (`ToServer`) or read from (`ToClient`) the pipe, in order.
    pub fn data(&mut self, cx: &mut Ctx<'_>, dir: Dir, data: &[u8]) {
        self.conn.data(cx, dir, data);
    }

    /// Bytes of the pipe were lost (not seen, or over a cap).
    pub fn gap(&mut self, cx: &mut Ctx<'_>, dir: Dir, len: u64) {
        self.conn.gap(cx, dir, len);
    }

    /// Emits calls that waited past the request timeout.
    pub fn tick(&mut self, cx: &mut Ctx<'_>) {
        self.conn.tick(cx);
    }

    /// The pipe was closed or the connection ended: emit pending calls.
    pub fn close(&mut self, cx: &mut Ctx<'_>) {
        self.conn.close(cx);
    }

    /// Bytes held in buffers.
    pub fn buffered(&self) -> usize {
        self.conn.buffered()
    }
}

/// `\pipe\name` for a pipe opened as `name`, `\name` or `\PIPE\name`.
fn pipe_name(opened: &str) -> String {
    let t = opened.trim_start_matches('\\');
    if t.len() >= 5 && t.get(..5).is_some_and(|p| p.eq_ignore_ascii_case("pipe\\")) {
        format!("\\{t}")
    } else {
        format!("\\pipe\\{t}")
    }
}

struct TcpConn {
    conn: Conn,
}

impl TcpApp for TcpConn {
    fn data(&mut self, cx: &mut Ctx<'_>, dir: Dir, data: &[u8]) {
        self.conn.data(cx, dir, data);
    }
    fn gap(&mut self, cx: &mut Ctx<'_>, dir: Dir, len: u64) {
        self.conn.gap(cx, dir, len);
    }
    fn tick(&mut self, cx: &mut Ctx<'_>) {
        self.conn.tick(cx);
    }
    fn close(&mut self, cx: &mut Ctx<'_>) {
        self.conn.close(cx);
    }
    fn buffered(&self) -> usize {
        self.conn.buffered()
    }
}

/// The endpoint mapper's interface.
const EPM: Uuid = 0xe1af8308_5d1f_11c9_91a4_08002b14a0fa;
/// `ept_map`'s opnum.
const EPT_MAP: u16 = 3;
/// Most bytes of an endpoint-mapper answer kept to read its towers.
const EPM_MAX_STUB: usize = 64 * 1024;
/// Most request stub bytes kept to read a call's `args` (larger requests are recorded without).
const ARGS_MAX_STUB: usize = 64 * 1024;
/// The `privacy` authentication level: the stubs are sealed.
const AUTH_LEVEL_PRIVACY: u8 = 6;
/// Windows' fault status for access denied (nca_s_fault_access_denied).
const FAULT_ACCESS_DENIED: u32 = 5;

/// One presentation context of the association.
#[derive(Debug, Clone, Copy)]
struct Context {
    id: u16,
    uuid: Uuid,
    major: u16,
    minor: u16,
    /// The server's answer: accepted, rejected, or not seen.
    accepted: Option<bool>,
    /// The server accepted the NDR64 transfer syntax for it.
    ndr64: bool,
}

/// A call in flight: its request (possibly still being reassembled) and response so far.
#[derive(Debug)]
struct Call {
    call_id: u32,
    ts: Ts,
    ctx_id: u16,
    opnum: u16,
    /// Request stub bytes (after reassembly).
    stub: u64,
    /// Stub over `dcerpc_max_stub`: recorded without it.
    over_cap: bool,
    auth: Option<(u8, u8)>,
    /// Time of the first response fragment.
    resp_ts: Option<Ts>,
    /// An `ept_map` call: the response's stub is kept to read its towers.
    epm_map: bool,
    resp: Vec<u8>,
    resp_drep: u8,
    /// The operation's argument decoder, when dcsensor reads its `args` and the stub is not
    /// sealed; its request stub is kept in `req` (up to [`ARGS_MAX_STUB`]).
    args: Option<(args::Decoder, args::Ret)>,
    req: Vec<u8>,
    /// The request's integers are big-endian; the context negotiated NDR64.
    req_big: bool,
    ndr64: bool,
    /// The last four bytes of the response stub (the return code) and their byte order.
    resp_tail: Vec<u8>,
    resp_big: bool,
}

/// A BIND or ALTER_CONTEXT that no call has used yet: recorded alone if none does.
#[derive(Debug)]
struct Bind {
    call_id: u32,
    ts: Ts,
    /// Offered contexts, in order (the ack's results follow this order).
    ctx_ids: Vec<u16>,
    ack_ts: Option<Ts>,
    auth: Option<(u8, u8)>,
    /// Whether a call used one of its contexts.
    used: bool,
    /// Why the server rejected the bind (BIND_NAK, or every context refused).
    fault: Option<String>,
}

/// The state of one connection-oriented association (a TCP connection or an SMB pipe).
struct Conn {
    named_pipe: Option<String>,
    bufs: [Vec<u8>; 2],
    /// After a gap or an invalid header: look for the next plausible header.
    resync: [bool; 2],
    contexts: Vec<Context>,
    calls: Vec<Call>,
    bind: Option<Bind>,
    /// The auth type and level of the association's last bind with a verifier.
    auth: Option<(u8, u8)>,
    ntlm: NtlmAuth,
    /// Security tokens seen from the client (bind, alter_context, auth3).
    client_tokens: u32,
    /// The client sent its final authentication leg; the server's next answer is the verdict.
    awaiting_verdict: bool,
    /// The verdict was given (only the first response counts).
    verdict_given: bool,
    /// The interface an endpoint-mapper answer named for this server port (TCP), looked up once.
    learned: Option<Option<Uuid>>,
    /// The direction of the association's requests (that of its first request or bind).
    req_dir: Option<Dir>,
}

impl Conn {
    fn new(named_pipe: Option<String>) -> Self {
        Conn {
            named_pipe,
            bufs: [Vec::new(), Vec::new()],
            resync: [false; 2],
            contexts: Vec::new(),
            calls: Vec::new(),
            bind: None,
            auth: None,
            ntlm: NtlmAuth::default(),
            client_tokens: 0,
            awaiting_verdict: false,
            verdict_given: false,
            learned: None,
            req_dir: None,
        }
    }

    fn buffered(&self) -> usize {
        self.bufs[0].len()
            + self.bufs[1].len()
            + self.calls.iter().map(|c| c.resp.len()).sum::<usize>()
    }

    fn data(&mut self, cx: &mut Ctx<'_>, dir: Dir, data: &[u8]) {
        let d = dir.idx();
        if self.bufs[d].is_empty() {
            let used = self.process(cx, dir, data);
            if let Some(rest) = data.get(used..) {
                self.bufs[d].extend_from_slice(rest);
            }
        } else {
            let mut buf = std::mem::take(&mut self.bufs[d]);
            buf.extend_from_slice(data);
            let used = self.process(cx, dir, &buf).min(buf.len());
            buf.drain(..used);
            self.bufs[d] = buf;
        }
    }

    fn gap(&mut self, _cx: &mut Ctx<'_>, dir: Dir, _len: u64) {
        let d = dir.idx();
        self.bufs[d].clear();
        self.resync[d] = true;
    }

    /// Decodes the whole PDUs at the start of `bytes`; returns how many bytes were consumed (the
    /// rest is an incomplete PDU to keep).
    fn process(&mut self, cx: &mut Ctx<'_>, dir: Dir, bytes: &[u8]) -> usize {
        let d = dir.idx();
        let mut off = 0;
        while let Some(rest) = bytes.get(off..).filter(|r| !r.is_empty()) {
            if self.resync[d] {
                match find_header(rest) {
                    Scan::Found(p) => {
                        off += p;
                        self.resync[d] = false;
                    }
                    Scan::Partial(p) => return off + p,
                    Scan::None => return bytes.len(),
                }
                continue;
            }
            match parse::co_header(rest) {
                Err(HeaderError::Incomplete) => break,
                Err(HeaderError::Invalid) => {
                    cx.count(Counter::MalformedDcerpc);
                    self.resync[d] = true;
                    off += 1;
                }
                Ok(h) => {
                    let fl = usize::from(h.frag_len);
                    let Some(pdu) = rest.get(..fl) else { break };
                    self.pdu(cx, dir, &h, pdu);
                    off += fl;
                }
            }
        }
        off
    }

    /// One whole PDU.
    fn pdu(&mut self, cx: &mut Ctx<'_>, dir: Dir, h: &CoHeader, pdu: &[u8]) {
        let Some((body, auth)) = parse::co_split(h, pdu) else {
            cx.count(Counter::MalformedDcerpc);
            return;
        };
        match h.ptype {
            // Requests travel one way on an association: one seen the other way is an echo
            // (an SMB IOCTL answer repeating its input) or noise, not a new call.
            // The side that sends requests is the client, the side that answers the server,
            // whichever the flow saw first (a connection picked up mid-stream may begin with an
            // answer).
            ptype::REQUEST if *self.req_dir.get_or_insert(dir) != dir => {}
            ptype::REQUEST => self.request(cx, h, body, auth),
            ptype::RESPONSE => {
                self.req_dir.get_or_insert(dir.flip());
                self.response(cx, h, body)
            }
            ptype::FAULT => {
                self.req_dir.get_or_insert(dir.flip());
                self.fault(cx, h, body)
            }
            ptype::BIND | ptype::ALTER_CONTEXT => {
                self.req_dir.get_or_insert(dir);
                self.bind_pdu(cx, h, body, auth)
            }
            ptype::BIND_ACK | ptype::ALTER_CONTEXT_RESP => {
                self.req_dir.get_or_insert(dir.flip());
                self.bind_ack(cx, h, body, auth)
            }
            ptype::BIND_NAK => {
                self.req_dir.get_or_insert(dir.flip());
                self.bind_nak(cx, h, body)
            }
            ptype::AUTH3 => {
                if let Some(a) = auth {
                    self.token(cx, &a, true);
                }
                self.awaiting_verdict = true;
            }
            ptype::SHUTDOWN | ptype::CO_CANCEL | ptype::ORPHANED => {}
            // Connectionless-only types have no place on a connection.
            _ => cx.count(Counter::MalformedDcerpc),
        }
    }

    /// A security token of a bind, alter_context, their answers or AUTH3: GSS-API mechanisms
    /// (SPNEGO, NTLMSSP, Kerberos) go to the GSS-API/NTLM decoders; Netlogon's own secure
    /// channel tokens do not.
    fn token(&mut self, cx: &mut Ctx<'_>, auth: &parse::Auth<'_>, from_client: bool) {
        if auth.token.is_empty() {
            return;
        }
        if from_client {
            self.client_tokens += 1;
        }
        if matches!(auth.auth_type, 9 | 10 | 16) {
            crate::proto::gssapi::inspect(cx, Carrier::Dcerpc, auth.token, &mut self.ntlm);
        }
    }

    fn verdict(&mut self, cx: &mut Ctx<'_>, ok: bool, status: Code) {
        if self.awaiting_verdict || self.ntlm.pending() {
            self.ntlm.verdict(cx, ok, status);
            self.verdict_given = true;
        }
        self.awaiting_verdict = false;
    }

    fn request(
        &mut self,
        cx: &mut Ctx<'_>,
        h: &CoHeader,
        body: &[u8],
        auth: Option<parse::Auth<'_>>,
    ) {
        let Ok((_, req)) = parse::request(h, body) else {
            cx.count(Counter::MalformedDcerpc);
            return;
        };
        let len = req.stub.len() as u64;
        let max = cx.config.dcerpc_max_stub as u64;
        let existing = self.calls.iter().position(|c| c.call_id == h.call_id);
        let first = h.flags & pfc::FIRST_FRAG != 0;
        let idx = match existing {
            // A continuation fragment of a call being reassembled.
            Some(i) if !first => i,
            _ => {
                if let Some(i) = existing {
                    // The same call id started again: the old call ends here.
                    let old = self.calls.remove(i);
                    self.emit(cx, old, None, None);
                }
                if self.calls.len() >= cx.config.dcerpc_max_calls.max(1) {
                    cx.count(Counter::DropDecoderCap);
                    let old = self.calls.remove(0);
                    self.emit(cx, old, None, None);
                }
                let uuid = self.context_uuid(cx, req.ctx_id);
                let epm_map = req.opnum == EPT_MAP && uuid == Some(EPM);
                let level = auth.map(|a| a.auth_level).or(self.auth.map(|a| a.1));
                let args = uuid
                    .filter(|_| level != Some(AUTH_LEVEL_PRIVACY))
                    .and_then(|u| args::lookup(u, req.opnum));
                let ndr64 = self.contexts.iter().any(|c| c.id == req.ctx_id && c.ndr64);
                if let Some(b) = self.bind.as_mut() {
                    if b.ctx_ids.contains(&req.ctx_id) {
                        b.used = true;
                    }
                }
                self.calls.push(Call {
                    call_id: h.call_id,
                    ts: cx.now,
                    ctx_id: req.ctx_id,
                    opnum: req.opnum,
                    stub: 0,
                    over_cap: false,
                    auth: auth.map(|a| (a.auth_type, a.auth_level)),
                    resp_ts: None,
                    epm_map,
                    resp: Vec::new(),
                    resp_drep: 0x10,
                    args,
                    req: Vec::new(),
                    req_big: h.drep[0] & 0x10 == 0,
                    ndr64,
                    resp_tail: Vec::new(),
                    resp_big: false,
                });
                self.calls.len() - 1
            }
        };
        let call = &mut self.calls[idx];
        if call.over_cap {
            cx.count_n(Counter::DropDecoderCap, len);
        } else if call.stub + len > max {
            cx.count_n(Counter::DropDecoderCap, call.stub + len);
            call.over_cap = true;
        } else {
            call.stub += len;
        }
        if call.args.is_some() {
            if call.req.len() + req.stub.len() > ARGS_MAX_STUB {
                cx.count_n(Counter::DropDecoderCap, req.stub.len() as u64);
                call.args = None;
                call.req = Vec::new();
            } else {
                call.req.extend_from_slice(req.stub);
            }
        }
    }

    fn response(&mut self, cx: &mut Ctx<'_>, h: &CoHeader, body: &[u8]) {
        let Ok((_, (_ctx, stub))) = parse::response(h, body) else {
            cx.count(Counter::MalformedDcerpc);
            return;
        };
        if !self.verdict_given && self.awaiting_verdict {
            self.verdict(cx, true, Code::Name("STATUS_SUCCESS"));
        }
        let Some(i) = self.calls.iter().position(|c| c.call_id == h.call_id) else {
            return;
        };
        let call = &mut self.calls[i];
        // No fragment flags at all on a response not yet started: a whole response.
        let started = call.resp_ts.is_some();
        call.resp_ts.get_or_insert(cx.now);
        if call.args.is_some() {
            call.resp_big = h.drep[0] & 0x10 == 0;
            call.resp_tail.extend_from_slice(stub);
            let cut = call.resp_tail.len().saturating_sub(4);
            call.resp_tail.drain(..cut);
        }
        if call.epm_map {
            call.resp_drep = h.drep[0];
            let room = EPM_MAX_STUB.saturating_sub(call.resp.len());
            if stub.len() > room {
                cx.count_n(Counter::DropDecoderCap, (stub.len() - room) as u64);
            }
            call.resp
                .extend_from_slice(stub.get(..room.min(stub.len())).unwrap_or(&[]));
        }
        let last = h.flags & pfc::LAST_FRAG != 0 || (h.flags & pfc::FIRST_FRAG == 0 && !started);
        if last {
            let call = self.calls.remove(i);
            let endpoint = if call.epm_map {
                self.learn(cx, &call)
            } else {
                None
            };
            self.emit(cx, call, None, endpoint);
        }
    }

    fn fault(&mut self, cx: &mut Ctx<'_>, h: &CoHeader, body: &[u8]) {
        let Ok((_, (_ctx, status))) = parse::fault(h, body) else {
            cx.count(Counter::MalformedDcerpc);
            return;
        };
        if status == FAULT_ACCESS_DENIED {
            self.verdict(cx, false, Code::Name("nca_s_fault_access_denied"));
        }
        if let Some(i) = self.calls.iter().position(|c| c.call_id == h.call_id) {
            let mut call = self.calls.remove(i);
            call.resp_ts.get_or_insert(cx.now);
            self.emit(cx, call, Some(status), None);
        }
    }

    fn bind_pdu(
        &mut self,
        cx: &mut Ctx<'_>,
        h: &CoHeader,
        body: &[u8],
        auth: Option<parse::Auth<'_>>,
    ) {
        let Ok((_, elems)) = parse::bind(h, body) else {
            cx.count(Counter::MalformedDcerpc);
            return;
        };
        if let Some(b) = self.bind.take() {
            if !b.used {
                self.emit_bind(cx, b);
            }
        }
        let mut ctx_ids = Vec::with_capacity(elems.len());
        for e in &elems {
            ctx_ids.push(e.ctx_id);
            let c = Context {
                id: e.ctx_id,
                uuid: e.uuid,
                major: e.major,
                minor: e.minor,
                accepted: None,
                ndr64: false,
            };
            if let Some(old) = self.contexts.iter_mut().find(|c| c.id == e.ctx_id) {
                *old = c;
            } else if self.contexts.len() < cx.config.dcerpc_max_contexts {
                self.contexts.push(c);
            } else {
                cx.count(Counter::DropDecoderCap);
            }
        }
        let a = auth.map(|a| (a.auth_type, a.auth_level));
        if a.is_some() {
            self.auth = a;
        }
        if !elems.is_empty() {
            self.bind = Some(Bind {
                call_id: h.call_id,
                ts: cx.now,
                ctx_ids,
                ack_ts: None,
                auth: a,
                used: false,
                fault: None,
            });
        }
        if let Some(a) = auth {
            self.token(cx, &a, true);
            // A second client token (SPNEGO's final leg in an ALTER_CONTEXT) awaits the verdict.
            if self.client_tokens >= 2 && !a.token.is_empty() {
                self.awaiting_verdict = true;
            }
        }
    }

    fn bind_ack(
        &mut self,
        cx: &mut Ctx<'_>,
        h: &CoHeader,
        body: &[u8],
        auth: Option<parse::Auth<'_>>,
    ) {
        let Ok((_, results)) = parse::bind_ack(h, body) else {
            cx.count(Counter::MalformedDcerpc);
            return;
        };
        let mut accepted_any = false;
        if let Some(b) = self.bind.as_mut().filter(|b| b.call_id == h.call_id) {
            b.ack_ts.get_or_insert(cx.now);
            for (id, r) in b.ctx_ids.iter().zip(&results) {
                if let Some(c) = self.contexts.iter_mut().find(|c| c.id == *id) {
                    c.accepted = Some(r.result == 0);
                    c.ndr64 = r.result == 0 && r.transfer == parse::NDR64;
                }
                accepted_any |= r.result == 0;
            }
            // Every context refused: the bind was rejected, for the first context's reason.
            if !accepted_any {
                if let Some(r) = results.first() {
                    b.fault = Some(provider_reason(r.reason));
                }
            }
        } else {
            accepted_any = results.iter().any(|r| r.result == 0);
        }
        if let Some(a) = auth {
            self.token(cx, &a, false);
        }
        if accepted_any && self.awaiting_verdict {
            self.verdict(cx, true, Code::Name("STATUS_SUCCESS"));
        }
    }

    fn bind_nak(&mut self, cx: &mut Ctx<'_>, h: &CoHeader, body: &[u8]) {
        let reason = body.get(..2).map(|r| match h.endian() {
            nom::number::Endianness::Big => u16::from_be_bytes([r[0], r[1]]),
            _ => u16::from_le_bytes([r[0], r[1]]),
        });
        let status = match reason.and_then(reject_reason) {
            Some(n) => Code::Name(n),
            None => Code::Num(i64::from(reason.unwrap_or(0))),
        };
        if self.awaiting_verdict || self.ntlm.pending() || self.client_tokens > 0 {
            self.awaiting_verdict = true;
            self.verdict(cx, false, status);
        }
        if let Some(b) = self.bind.as_mut().filter(|b| b.call_id == h.call_id) {
            b.ack_ts.get_or_insert(cx.now);
            b.fault = Some(match reason.and_then(reject_reason) {
                Some(n) => n.to_string(),
                None => format!("0x{:x}", reason.unwrap_or(0)),
            });
        }
    }

    fn tick(&mut self, cx: &mut Ctx<'_>) {
        let timeout = cx.config.request_timeout;
        let now = cx.now;
        let mut i = 0;
        while i < self.calls.len() {
            if now.saturating_sub(self.calls[i].ts) >= timeout {
                let call = self.calls.remove(i);
                self.emit(cx, call, None, None);
            } else {
                i += 1;
            }
        }
    }

    fn close(&mut self, cx: &mut Ctx<'_>) {
        for call in std::mem::take(&mut self.calls) {
            self.emit(cx, call, None, None);
        }
        if let Some(b) = self.bind.take() {
            if !b.used {
                self.emit_bind(cx, b);
            }
        }
        self.ntlm.flush(cx);
        self.bufs = [Vec::new(), Vec::new()];
    }

    /// The interface UUID of context `id`, or what the endpoint mapper said this server port
    /// serves.
    fn context_uuid(&mut self, cx: &Ctx<'_>, id: u16) -> Option<Uuid> {
        if let Some(c) = self.contexts.iter().find(|c| c.id == id) {
            return Some(c.uuid);
        }
        self.learned_uuid(cx)
    }

    fn learned_uuid(&mut self, cx: &Ctx<'_>) -> Option<Uuid> {
        if self.named_pipe.is_some() {
            return None;
        }
        let (server, port) = self.server(cx);
        *self.learned.get_or_insert_with(|| {
            cx.shared
                .endpoint(server, port, cx.now)
                .and_then(|s| parse_uuid_str(&s))
        })
    }

    /// Reads the towers of an `ept_map` answer, remembers the TCP endpoints they hand out and
    /// returns the first endpoint as `tcp/PORT` (or `udp/PORT`).
    fn learn(&mut self, cx: &mut Ctx<'_>, call: &Call) -> Option<String> {
        let towers = parse::ept_map_response(call.resp_drep, &call.resp)?;
        let (server, _) = self.server(cx);
        let mut first = None;
        for t in &towers {
            if let (Some(port), Some(uuid)) = (t.tcp_port, t.interface) {
                let s = parse::uuid_string(uuid);
                cx.shared.learn_endpoint(server, port, s.clone(), cx.now);
                if let Some(ip) = t.ip.filter(|ip| *ip != [0; 4]).map(IpAddr::from) {
                    if ip != server {
                        cx.shared.learn_endpoint(ip, port, s, cx.now);
                    }
                }
            }
            if first.is_none() {
                first = match (t.tcp_port, t.udp_port) {
                    (Some(p), _) => Some(format!("tcp/{p}")),
                    (None, Some(p)) => Some(format!("udp/{p}")),
                    _ => None,
                };
            }
        }
        first
    }

    /// The interface fields of context `ctx_id`.
    fn interface_fields(
        &mut self,
        cx: &Ctx<'_>,
        ctx_id: u16,
        rec: &mut Dcerpc,
    ) -> Option<&'static interfaces::Interface> {
        let (uuid, version) = match self.contexts.iter().find(|c| c.id == ctx_id) {
            Some(c) => (c.uuid, Some((c.major, c.minor))),
            None => (self.learned_uuid(cx)?, None),
        };
        let known = interfaces::lookup(uuid);
        rec.interface = Some(match known {
            Some(i) => i.name.to_string(),
            None => parse::uuid_string(uuid),
        });
        rec.interface_uuid = Some(parse::uuid_string(uuid));
        rec.interface_version = version.map(|(a, b)| format!("{a}.{b}"));
        known
    }

    fn emit(&mut self, cx: &mut Ctx<'_>, call: Call, fault: Option<u32>, endpoint: Option<String>) {
        let mut rec = Dcerpc::default();
        let known = self.interface_fields(cx, call.ctx_id, &mut rec);
        rec.opnum = Some(call.opnum);
        rec.operation = known.and_then(|i| i.operation(call.opnum));
        rec.named_pipe = self.named_pipe.clone();
        if let Some((t, l)) = call.auth.or(self.auth) {
            rec.auth_type = Some(auth_type(t));
            rec.auth_level = Some(auth_level(l));
        }
        rec.fault = fault.map(fault_string);
        rec.stub_bytes = (!call.over_cap).then_some(call.stub);
        rec.endpoint = endpoint;
        if let Some((dec, ret)) = call.args.filter(|_| !call.over_cap) {
            rec.args = args::decode(dec, &call.req, call.req_big, call.ndr64);
            if rec.args.is_none() {
                cx.count(Counter::MalformedDcerpc);
            }
            if fault.is_none() && call.resp_ts.is_some() {
                rec.status = args::status(ret, &call.resp_tail, call.resp_big);
            }
        }
        rec.rtt = call.resp_ts.map(|t| t.saturating_sub(call.ts));
        self.emit_record(cx, call.ts, rec);
    }

    /// Emits a record with the requests' sender as the client: when the flow took the other
    /// side for the client (picked up mid-stream on an answer), the roles are swapped.
    fn emit_record(&self, cx: &mut Ctx<'_>, ts: Ts, rec: Dcerpc) {
        cx.emit(ts, Body::Dcerpc(Box::new(rec)));
        if self.req_dir == Some(Dir::ToClient) {
            if let Some(r) = cx.out.last_mut() {
                std::mem::swap(&mut r.src, &mut r.dst);
                std::mem::swap(&mut r.sport, &mut r.dport);
            }
        }
    }

    /// The server's address and port: the side that receives the requests.
    fn server(&self, cx: &Ctx<'_>) -> (IpAddr, u16) {
        if self.req_dir == Some(Dir::ToClient) {
            (cx.flow.client, cx.flow.client_port)
        } else {
            (cx.flow.server, cx.flow.server_port)
        }
    }

    /// A bind that no call used: its own record, interface fields set, no operation.
    fn emit_bind(&mut self, cx: &mut Ctx<'_>, b: Bind) {
        let mut rec = Dcerpc::default();
        // The context the server accepted, else the first offered.
        let id = b
            .ctx_ids
            .iter()
            .copied()
            .find(|id| {
                self.contexts
                    .iter()
                    .any(|c| c.id == *id && c.accepted == Some(true))
            })
            .or_else(|| b.ctx_ids.first().copied());
        if let Some(id) = id {
            self.interface_fields(cx, id, &mut rec);
        }
        rec.named_pipe = self.named_pipe.clone();
        if let Some((t, l)) = b.auth.or(self.auth) {
            rec.auth_type = Some(auth_type(t));
            rec.auth_level = Some(auth_level(l));
        }
        rec.fault = b.fault;
        rec.rtt = b.ack_ts.map(|t| t.saturating_sub(b.ts));
        self.emit_record(cx, b.ts, rec);
    }
}

enum Scan {
    /// A whole valid header at this offset.
    Found(usize),
    /// A plausible header start too short to check, at this offset: keep from here.
    Partial(usize),
    None,
}

/// Looks for the next plausible connection-oriented header in `b` (after a gap or garbage).
fn find_header(b: &[u8]) -> Scan {
    let mut p = 0;
    while p < b.len() {
        let Some(q) = b[p..].iter().position(|&x| x == 5) else {
            return Scan::None;
        };
        let at = p + q;
        match parse::co_header(&b[at..]) {
            Ok(h)
                if h.ptype <= ptype::ORPHANED
                    && h.ptype != ptype::PING
                    && !(4..=10).contains(&h.ptype) =>
            {
                return Scan::Found(at)
            }
            Err(HeaderError::Incomplete) => return Scan::Partial(at),
            _ => p = at + 1,
        }
    }
    Scan::None
}

/// Parses a canonical UUID string (`xxxxxxxx-xxxx-...`).
fn parse_uuid_str(s: &str) -> Option<Uuid> {
    let mut v: u128 = 0;
    let mut n = 0;
    for c in s.chars() {
        if c == '-' {
            continue;
        }
        v = (v << 4) | u128::from(c.to_digit(16)?);
        n += 1;
    }
    (n == 32).then_some(v)
}

/// The auth type name (`ntlmssp`, `kerberos`, `spnego`, `netlogon`, `none`) or its number.
pub fn auth_type(t: u8) -> Code {
    let name = match t {
        0 => Some("none"),
        9 => Some("spnego"),
        10 => Some("ntlmssp"),
        16 => Some("kerberos"),
        68 => Some("netlogon"),
        _ => None,
    };
    Code::new(i64::from(t), name)
}

/// The auth level name (`none`, `connect`, `call`, `pkt`, `integrity`, `privacy`) or its number.
pub fn auth_level(l: u8) -> Code {
    let name = match l {
        1 => Some("none"),
        2 => Some("connect"),
        3 => Some("call"),
        4 => Some("pkt"),
        5 => Some("integrity"),
        6 => Some("privacy"),
        _ => None,
    };
    Code::new(i64::from(l), name)
}

/// The reason a server gave for refusing a presentation context in a bind answer.
fn provider_reason(r: u16) -> String {
    match r {
        0 => "reason_not_specified".to_string(),
        1 => "abstract_syntax_not_supported".to_string(),
        2 => "proposed_transfer_syntaxes_not_supported".to_string(),
        3 => "local_limit_exceeded".to_string(),
        _ => format!("0x{r:x}"),
    }
}

fn reject_reason(r: u16) -> Option<&'static str> {
    Some(match r {
        0 => "reason_not_specified",
        1 => "temporary_congestion",
        2 => "local_limit_exceeded",
        3 => "called_paddr_unknown",
        4 => "protocol_version_not_supported",
        5 => "default_context_not_supported",
        6 => "user_data_not_readable",
        7 => "no_psap_available",
        8 => "authentication_type_not_recognized",
        9 => "invalid_checksum",
        _ => return None,
    })
}

/// The name of a fault status (DCE `nca_s_*` codes and the Windows ones seen in faults).
pub fn fault_name(status: u32) -> Option<&'static str> {
    Some(match status {
        0x0000_0005 => "nca_s_fault_access_denied",
        0x0000_06f7 => "nca_s_fault_ndr",
        0x0000_06d8 => "nca_s_fault_cant_perform",
        0x1c00_0001 => "nca_s_fault_int_div_by_zero",
        0x1c00_0002 => "nca_s_fault_addr_error",
        0x1c00_0003 => "nca_s_fault_fp_div_zero",
        0x1c00_0004 => "nca_s_fault_fp_underflow",
        0x1c00_0005 => "nca_s_fault_fp_overflow",
        0x1c00_0006 => "nca_s_fault_invalid_tag",
        0x1c00_0007 => "nca_s_fault_invalid_bound",
        0x1c00_0008 => "nca_s_rpc_version_mismatch",
        0x1c00_0009 => "nca_s_unspec_reject",
        0x1c00_000a => "nca_s_bad_actid",
        0x1c00_000b => "nca_s_who_are_you_failed",
        0x1c00_000c => "nca_s_manager_not_entered",
        0x1c00_000d => "nca_s_fault_cancel",
        0x1c00_000e => "nca_s_fault_ill_inst",
        0x1c00_000f => "nca_s_fault_fp_error",
        0x1c00_0010 => "nca_s_fault_int_overflow",
        0x1c00_0012 => "nca_s_fault_unspec",
        0x1c00_0013 => "nca_s_fault_remote_comm_failure",
        0x1c00_0014 => "nca_s_fault_pipe_empty",
        0x1c00_0015 => "nca_s_fault_pipe_closed",
        0x1c00_0016 => "nca_s_fault_pipe_order",
        0x1c00_0017 => "nca_s_fault_pipe_discipline",
        0x1c00_0018 => "nca_s_fault_pipe_comm_error",
        0x1c00_0019 => "nca_s_fault_pipe_memory",
        0x1c00_001a => "nca_s_fault_context_mismatch",
        0x1c00_001b => "nca_s_fault_remote_no_memory",
        0x1c00_001c => "nca_s_invalid_pres_context_id",
        0x1c00_001d => "nca_s_unsupported_authn_level",
        0x1c00_001f => "nca_s_invalid_checksum",
        0x1c00_0020 => "nca_s_invalid_crc",
        0x1c00_0021 => "nca_s_fault_user_defined",
        0x1c00_0022 => "nca_s_fault_tx_open_failed",
        0x1c00_0023 => "nca_s_fault_codeset_conv_error",
        0x1c00_0024 => "nca_s_fault_object_not_found",
        0x1c00_0025 => "nca_s_fault_no_client_stub",
        0x1c01_0001 => "nca_s_comm_failure",
        0x1c01_0002 => "nca_s_op_rng_error",
        0x1c01_0003 => "nca_s_unk_if",
        0x1c01_0006 => "nca_s_wrong_boot_time",
        0x1c01_0009 => "nca_s_you_crashed",
        0x1c01_000b => "nca_s_proto_error",
        0x1c01_0013 => "nca_s_out_args_too_big",
        0x1c01_0014 => "nca_s_server_too_busy",
        0x1c01_0015 => "nca_s_fault_string_too_long",
        0x1c01_0017 => "nca_s_unsupported_type",
        _ => return None,
    })
}

/// A fault status as its name, else `0x%08x`.
pub fn fault_string(status: u32) -> String {
    match fault_name(status) {
        Some(n) => n.to_string(),
        None => format!("0x{status:08x}"),
    }
}

#[cfg(test)]
mod tests {
    //! Real bytes: the lab captures in `testdata-pcaps/lab/` (ours), read at test time with the
    //! capture reader and packet decoder (the captures have no loss or reordering), and for
    //! SMB pipes a minimal SMB2 walker that hands pipe bytes to [`PipeConn`] like the SMB decoder.
    use super::*;
    use crate::proto::testutil::Harness;
    use crate::proto::Shared;
    use crate::record::{Record, Transport};
    use std::collections::HashMap;

    use crate::proto::testutil::{lab_tcp_segments as segments, Seg};

    fn dce(r: &Record) -> &Dcerpc {
        match &r.body {
            Body::Dcerpc(d) => d,
            other => panic!("not dcerpc: {other:?}"),
        }
    }

    /// Feeds every TCP segment to or from `port` into one connection decoder, splitting each
    /// segment into pieces of `chunk` bytes.
    fn feed_tcp(h: &mut Harness, conn: &mut Conn, segs: &[Seg], port: u16, chunk: usize) {
        h.flow.server_port = port;
        for s in segs.iter().filter(|s| s.sport == port || s.dport == port) {
            h.flow.client_port = if s.dport == port { s.sport } else { s.dport };
            let dir = if s.dport == port {
                Dir::ToServer
            } else {
                Dir::ToClient
            };
            for piece in s.payload.chunks(chunk) {
                conn.data(&mut h.cx(s.ts), dir, piece);
            }
        }
        let last = segs.last().map(|s| s.ts).unwrap_or(0);
        conn.close(&mut h.cx(last));
    }

    fn dcsync(chunk: usize) -> Harness {
        let segs = segments("12_attack_dcsync.pcap");
        let mut h = Harness::new(Transport::Tcp, 135);
        let mut epm = Conn::new(None);
        feed_tcp(&mut h, &mut epm, &segs, 135, chunk);
        // The endpoint the mapper handed out now routes to this decoder.
        let mut flow = h.flow;
        flow.server_port = 49153;
        let now = segs[0].ts;
        assert!(crate::proto::tcp_by_port(&flow, &h.shared, now).is_some());
        assert_eq!(
            h.shared.endpoint(h.flow.server, 49153, now).as_deref(),
            Some("e3514235-4b06-11d1-ab04-00c04fc2dcd2")
        );
        let mut drs = Conn::new(None);
        feed_tcp(&mut h, &mut drs, &segs, 49153, chunk);
        // NTLM: bind (NEGOTIATE), bind_ack (CHALLENGE), AUTH3 (AUTHENTICATE), then the first
        // response gave the verdict to the NTLM decoder.
        assert_eq!(drs.client_tokens, 2);
        assert!(drs.verdict_given && !epm.verdict_given);
        // What the NTLM decoder made of the hand-off: one record, carrier dcerpc, with the
        // verdict given by the first response. Only the dcerpc records are kept after this.
        let ntlm: Vec<_> = h
            .out
            .iter()
            .filter_map(|r| match &r.body {
                Body::Ntlm(n) => Some(n.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(ntlm.len(), 1);
        assert_eq!(ntlm[0].carrier, Some(Carrier::Dcerpc));
        assert_eq!(ntlm[0].success, Some(true));
        assert_eq!(ntlm[0].status, Some(Code::Name("STATUS_SUCCESS")));
        h.out.retain(|r| matches!(r.body, Body::Dcerpc(_)));
        h
    }

    #[test]
    fn dcsync_epm_then_drsuapi_on_the_learned_port() {
        let h = dcsync(usize::MAX);
        assert_eq!(h.out.len(), 19);
        let epm = dce(&h.out[0]);
        assert_eq!(epm.interface.as_deref(), Some("epm"));
        assert_eq!(
            epm.interface_uuid.as_deref(),
            Some("e1af8308-5d1f-11c9-91a4-08002b14a0fa")
        );
        assert_eq!(epm.interface_version.as_deref(), Some("3.0"));
        assert_eq!((epm.opnum, epm.operation), (Some(3), Some("ept_map")));
        assert_eq!(epm.endpoint.as_deref(), Some("tcp/49153"));
        assert_eq!(epm.stub_bytes, Some(132));
        assert_eq!(
            (
                epm.auth_type,
                epm.auth_level,
                epm.fault.as_deref(),
                epm.named_pipe.as_deref()
            ),
            (None, None, None, None)
        );
        assert!(epm.rtt.is_some());
        assert_eq!(h.out[0].dport, Some(135));

        let mut ops = Vec::new();
        for r in &h.out[1..] {
            let d = dce(r);
            assert_eq!(r.dport, Some(49153));
            assert_eq!(d.interface.as_deref(), Some("drsuapi"));
            assert_eq!(
                d.interface_uuid.as_deref(),
                Some("e3514235-4b06-11d1-ab04-00c04fc2dcd2")
            );
            assert_eq!(d.interface_version.as_deref(), Some("4.0"));
            assert_eq!(d.auth_type, Some(Code::Name("ntlmssp")));
            assert_eq!(d.auth_level, Some(Code::Name("privacy")));
            assert_eq!((d.fault.as_deref(), d.endpoint.as_deref()), (None, None));
            ops.push((
                d.opnum.unwrap(),
                d.operation.unwrap(),
                d.stub_bytes.unwrap(),
            ));
        }
        assert_eq!(ops[0], (0, "DRSBind", 84));
        assert_eq!(ops[1], (16, "DRSDomainControllerInfo", 56));
        assert_eq!(ops[2..].len(), 16);
        assert!(ops[2..].iter().all(|o| *o == (3, "DRSGetNCChanges", 329)));
        assert_eq!(h.counters.get(Counter::MalformedDcerpc), 0);
        // Calls are emitted in request order with the request's time.
        assert!(h.out.windows(2).all(|w| w[0].ts <= w[1].ts));
    }

    #[test]
    fn arbitrary_splits_give_the_same_records() {
        let whole = dcsync(usize::MAX).out;
        for chunk in [1, 7, 16, 17, 1000] {
            assert_eq!(dcsync(chunk).out, whole, "chunk {chunk}");
        }
    }

    #[test]
    fn midstream_pickup_on_a_learned_port_names_the_interface() {
        let h0 = dcsync(usize::MAX);
        let segs = segments("12_attack_dcsync.pcap");
        // The DRSUAPI connection without its bind, bind_ack and AUTH3.
        let later: Vec<Seg> = segs
            .into_iter()
            .filter(|s| s.sport == 49153 || s.dport == 49153)
            .skip(3)
            .collect();
        let mut h = Harness::new(Transport::Tcp, 49153);
        h.shared = Shared::default();
        let uuid = "e3514235-4b06-11d1-ab04-00c04fc2dcd2";
        h.shared
            .learn_endpoint(h.flow.server, 49153, uuid.into(), later[0].ts);
        let mut c = Conn::new(None);
        feed_tcp(&mut h, &mut c, &later, 49153, usize::MAX);
        assert_eq!(h.out.len(), 18);
        for (r, full) in h.out.iter().zip(&h0.out[1..]) {
            let (d, f) = (dce(r), dce(full));
            assert_eq!(d.interface.as_deref(), Some("drsuapi"));
            assert_eq!(d.interface_uuid.as_deref(), Some(uuid));
            assert_eq!(d.interface_version, None);
            assert_eq!(
                (d.opnum, d.operation, d.stub_bytes),
                (f.opnum, f.operation, f.stub_bytes)
            );
            assert_eq!(
                (d.auth_type, d.auth_level),
                (Some(Code::Name("ntlmssp")), Some(Code::Name("privacy")))
            );
        }
    }

    /// Splits one whole request PDU into `n` fragments (stub split in equal parts, auth-less).
    fn fragment_request(pdu: &[u8], n: usize) -> Vec<Vec<u8>> {
        let h = parse::co_header(pdu).unwrap();
        assert_eq!(h.auth_len, 0);
        let stub = &pdu[24..usize::from(h.frag_len)];
        let per = stub.len().div_ceil(n);
        let parts: Vec<&[u8]> = stub.chunks(per).collect();
        parts
            .iter()
            .enumerate()
            .map(|(i, part)| {
                let mut f = pdu[..24].to_vec();
                f[3] = if i == 0 { pfc::FIRST_FRAG } else { 0 }
                    | if i + 1 == parts.len() {
                        pfc::LAST_FRAG
                    } else {
                        0
                    };
                f.extend_from_slice(part);
                let len = f.len() as u16;
                f[8..10].copy_from_slice(&len.to_le_bytes());
                f
            })
            .collect()
    }

    #[test]
    fn fragmented_request_is_reassembled_and_capped() {
        let segs = segments("12_attack_dcsync.pcap");
        let epm: Vec<&Seg> = segs
            .iter()
            .filter(|s| s.dport == 135 || s.sport == 135)
            .collect();
        let (bind, ack, req, resp) = (&epm[0], &epm[1], &epm[2], &epm[3]);
        for (cap, want, dropped) in [(1 << 20, Some(132), 0), (100, None, 132)] {
            let mut h = Harness::new(Transport::Tcp, 135);
            h.config.dcerpc_max_stub = cap;
            let mut c = Conn::new(None);
            c.data(&mut h.cx(bind.ts), Dir::ToServer, &bind.payload);
            c.data(&mut h.cx(ack.ts), Dir::ToClient, &ack.payload);
            for f in fragment_request(&req.payload, 3) {
                c.data(&mut h.cx(req.ts), Dir::ToServer, &f);
            }
            c.data(&mut h.cx(resp.ts), Dir::ToClient, &resp.payload);
            assert_eq!(h.out.len(), 1);
            let d = dce(&h.out[0]);
            assert_eq!(
                (d.opnum, d.operation, d.stub_bytes),
                (Some(3), Some("ept_map"), want)
            );
            // The answer is still read even when the request was over the cap.
            assert_eq!(d.endpoint.as_deref(), Some("tcp/49153"));
            assert_eq!(h.counters.get(Counter::DropDecoderCap), dropped);
        }
    }

    /// Rewrites a little-endian PDU's header and fixed request/bind fields as big-endian.
    fn to_big_endian(pdu: &[u8]) -> Vec<u8> {
        let mut b = pdu.to_vec();
        let h = parse::co_header(pdu).unwrap();
        b[4] = 0x00;
        let sw16 = |b: &mut Vec<u8>, at: usize| b.swap(at, at + 1);
        let sw32 = |b: &mut Vec<u8>, at: usize| {
            b.swap(at, at + 3);
            b.swap(at + 1, at + 2);
        };
        sw16(&mut b, 8);
        sw16(&mut b, 10);
        sw32(&mut b, 12);
        match h.ptype {
            ptype::REQUEST => {
                sw32(&mut b, 16);
                sw16(&mut b, 20);
                sw16(&mut b, 22);
            }
            ptype::BIND => {
                sw16(&mut b, 16);
                sw16(&mut b, 18);
                sw32(&mut b, 20);
                sw16(&mut b, 28);
                sw32(&mut b, 32);
                sw16(&mut b, 36);
                sw16(&mut b, 38);
                sw16(&mut b, 48);
                sw16(&mut b, 50);
            }
            ptype::RESPONSE => {
                sw32(&mut b, 16);
                sw16(&mut b, 20);
            }
            _ => {}
        }
        b
    }

    #[test]
    fn big_endian_association_is_named_like_little_endian() {
        let segs = segments("12_attack_dcsync.pcap");
        let epm: Vec<&Seg> = segs
            .iter()
            .filter(|s| s.dport == 135 || s.sport == 135)
            .collect();
        let mut h = Harness::new(Transport::Tcp, 135);
        let mut c = Conn::new(None);
        c.data(
            &mut h.cx(epm[0].ts),
            Dir::ToServer,
            &to_big_endian(&epm[0].payload),
        );
        c.data(
            &mut h.cx(epm[2].ts),
            Dir::ToServer,
            &to_big_endian(&epm[2].payload),
        );
        c.data(
            &mut h.cx(epm[3].ts),
            Dir::ToClient,
            &to_big_endian(&epm[3].payload),
        );
        assert_eq!(h.out.len(), 1);
        let d = dce(&h.out[0]);
        assert_eq!(d.interface.as_deref(), Some("epm"));
        assert_eq!(d.interface_version.as_deref(), Some("3.0"));
        assert_eq!(
            (d.opnum, d.operation, d.stub_bytes),
            (Some(3), Some("ept_map"), Some(132))
        );
        assert_eq!(h.counters.get(Counter::MalformedDcerpc), 0);
    }

    #[test]
    fn hostile_frag_lengths_are_counted_and_skipped() {
        let segs = segments("12_attack_dcsync.pcap");
        let epm: Vec<&Seg> = segs
            .iter()
            .filter(|s| s.dport == 135 || s.sport == 135)
            .collect();
        let mut h = Harness::new(Transport::Tcp, 135);
        let mut c = Conn::new(None);
        c.data(&mut h.cx(1), Dir::ToServer, &epm[0].payload);
        // frag_length 4 (below the header), then one claiming an auth verifier it cannot hold.
        let mut bad = epm[2].payload.clone();
        bad[8..10].copy_from_slice(&4u16.to_le_bytes());
        c.data(&mut h.cx(2), Dir::ToServer, &bad);
        // A valid request after the garbage is found again.
        c.data(&mut h.cx(4), Dir::ToServer, &epm[2].payload);
        c.data(&mut h.cx(5), Dir::ToClient, &epm[3].payload);
        let mut bad2 = epm[2].payload.clone();
        bad2[10..12].copy_from_slice(&0xfff0u16.to_le_bytes());
        c.data(&mut h.cx(5), Dir::ToServer, &bad2);
        // A frag_length larger than what follows, then a gap: nothing waits forever.
        let mut long = epm[2].payload.clone();
        long[8..10].copy_from_slice(&60000u16.to_le_bytes());
        long[12] = 9;
        c.data(&mut h.cx(6), Dir::ToServer, &long);
        assert!(c.buffered() > 0 && c.buffered() <= 60000);
        c.gap(&mut h.cx(7), Dir::ToServer, 59000);
        assert_eq!(c.buffered(), 0);
        c.close(&mut h.cx(8));
        assert_eq!(h.out.len(), 1);
        assert_eq!(dce(&h.out[0]).endpoint.as_deref(), Some("tcp/49153"));
        assert_eq!(dce(&h.out[0]).opnum, Some(3));
        assert_eq!(h.counters.get(Counter::MalformedDcerpc), 2);
    }

    #[test]
    fn unanswered_call_is_emitted_at_timeout_and_bind_alone_at_close() {
        let segs = segments("12_attack_dcsync.pcap");
        let epm: Vec<&Seg> = segs
            .iter()
            .filter(|s| s.dport == 135 || s.sport == 135)
            .collect();
        let mut h = Harness::new(Transport::Tcp, 135);
        let mut c = Conn::new(None);
        c.data(&mut h.cx(10), Dir::ToServer, &epm[0].payload);
        c.data(&mut h.cx(11), Dir::ToClient, &epm[1].payload);
        c.data(&mut h.cx(12), Dir::ToServer, &epm[2].payload);
        c.tick(&mut h.cx(12 + 5 * crate::record::NS));
        assert!(h.out.is_empty());
        c.tick(&mut h.cx(12 + 31 * crate::record::NS));
        assert_eq!(h.out.len(), 1);
        let d = dce(&h.out[0]);
        assert_eq!(
            (h.out[0].ts, d.opnum, d.rtt, d.stub_bytes),
            (12, Some(3), None, Some(132))
        );
        // A second bind with no call after it is its own record at close.
        let mut c = Conn::new(None);
        c.data(&mut h.cx(20), Dir::ToServer, &epm[0].payload);
        c.data(&mut h.cx(25), Dir::ToClient, &epm[1].payload);
        c.close(&mut h.cx(30));
        assert_eq!(h.out.len(), 2);
        let d = dce(&h.out[1]);
        assert_eq!(h.out[1].ts, 20);
        assert_eq!(
            (d.interface.as_deref(), d.opnum, d.operation, d.rtt),
            (Some("epm"), None, None, Some(5))
        );
    }

    /// One SMB2 conversation: pipe bytes out of WRITE/READ/IOCTL, one [`PipeConn`] per file id.
    #[derive(Default)]
    struct Smb2 {
        bufs: [Vec<u8>; 2],
        names: HashMap<u64, String>,
        msg_fid: HashMap<u64, [u8; 16]>,
        pipes: HashMap<[u8; 16], PipeConn>,
        order: Vec<[u8; 16]>,
    }

    impl Smb2 {
        fn feed(&mut self, h: &mut Harness, ts: Ts, dir: Dir, data: &[u8]) {
            let buf = &mut self.bufs[dir.idx()];
            buf.extend_from_slice(data);
            let mut msgs = Vec::new();
            while buf.len() >= 4 {
                let len =
                    usize::from(buf[1]) << 16 | usize::from(buf[2]) << 8 | usize::from(buf[3]);
                if buf.len() < 4 + len {
                    break;
                }
                msgs.push(buf[4..4 + len].to_vec());
                buf.drain(..4 + len);
            }
            for m in msgs {
                let mut at = 0;
                while let Some(s) = m.get(at..) {
                    self.message(h, ts, dir, s);
                    let next = u32::from_le_bytes(s[20..24].try_into().unwrap()) as usize;
                    if next == 0 {
                        break;
                    }
                    at += next;
                }
            }
        }

        fn message(&mut self, h: &mut Harness, ts: Ts, dir: Dir, s: &[u8]) {
            let u16at = |at: usize| usize::from(u16::from_le_bytes([s[at], s[at + 1]]));
            let u32at = |at: usize| u32::from_le_bytes(s[at..at + 4].try_into().unwrap()) as usize;
            let fid = |at: usize| -> [u8; 16] { s[at..at + 16].try_into().unwrap() };
            let cmd = u16at(12);
            let status = u32at(8);
            let msg = u64::from_le_bytes(s[24..32].try_into().unwrap());
            let b = 64;
            let mut pipe = |me: &mut Self, f: [u8; 16], data: &[u8]| {
                if let Some(p) = me.pipes.get_mut(&f) {
                    p.data(&mut h.cx(ts), dir, data);
                }
            };
            match (cmd, dir) {
                (5, Dir::ToServer) => {
                    let (off, len) = (u16at(b + 44), u16at(b + 46));
                    let name: Vec<u16> = s[off..off + len]
                        .chunks(2)
                        .map(|c| u16::from_le_bytes([c[0], c[1]]))
                        .collect();
                    self.names.insert(msg, String::from_utf16(&name).unwrap());
                }
                (5, Dir::ToClient) if status == 0 => {
                    // Only pipes (the IPC$ opens of this capture have no dot; files uploaded do).
                    if let Some(n) = self.names.remove(&msg).filter(|n| !n.contains('.')) {
                        self.pipes.insert(fid(b + 64), PipeConn::new(n));
                        self.order.push(fid(b + 64));
                    }
                }
                (6, Dir::ToServer) => {
                    if let Some(p) = self.pipes.get_mut(&fid(b + 8)) {
                        p.close(&mut h.cx(ts));
                    }
                }
                (9, Dir::ToServer) => {
                    let (off, len) = (u16at(b + 2), u32at(b + 4));
                    pipe(self, fid(b + 16), &s[off..off + len]);
                }
                (8 | 11, Dir::ToServer) => {
                    let f = if cmd == 8 { fid(b + 16) } else { fid(b + 8) };
                    self.msg_fid.insert(msg, f);
                    if cmd == 11 {
                        let (off, len) = (u32at(b + 24), u32at(b + 28));
                        pipe(self, f, &s[off..off + len]);
                    }
                }
                (8 | 11, Dir::ToClient) if status == 0 || status == 0x8000_0005 => {
                    let Some(f) = self.msg_fid.remove(&msg) else {
                        return;
                    };
                    let (off, len) = if cmd == 8 {
                        (usize::from(s[b + 2]), u32at(b + 4))
                    } else {
                        (u32at(b + 32), u32at(b + 36))
                    };
                    pipe(self, f, &s[off..off + len]);
                }
                _ => {}
            }
        }
    }

    /// Replays the SMB2 streams of a lab capture through [`PipeConn`]s.
    fn smb_pipes(name: &str) -> Harness {
        let segs = segments(name);
        let mut h = Harness::new(Transport::Tcp, 445);
        let mut convs: HashMap<u16, Smb2> = HashMap::new();
        let mut last = 0;
        for s in segs.iter().filter(|s| s.sport == 445 || s.dport == 445) {
            let client = if s.dport == 445 { s.sport } else { s.dport };
            h.flow.client_port = client;
            let dir = if s.dport == 445 {
                Dir::ToServer
            } else {
                Dir::ToClient
            };
            convs
                .entry(client)
                .or_default()
                .feed(&mut h, s.ts, dir, &s.payload);
            last = s.ts;
        }
        for (port, mut c) in convs {
            h.flow.client_port = port;
            for f in c.order.clone() {
                if let Some(p) = c.pipes.get_mut(&f) {
                    p.close(&mut h.cx(last));
                }
            }
        }
        h
    }

    /// (interface, operation, stub bytes, fault) of each record.
    type Summary = (String, Option<&'static str>, Option<u64>, Option<String>);

    fn summary(h: &Harness) -> Vec<Summary> {
        h.out
            .iter()
            .map(dce)
            .map(|d| {
                (
                    d.interface.clone().unwrap(),
                    d.operation,
                    d.stub_bytes,
                    d.fault.clone(),
                )
            })
            .collect()
    }

    #[test]
    fn samr_and_lsarpc_recon_over_smb_pipes() {
        let h = smb_pipes("20_attack_recon_samr_lsarpc_smb_cleartext.pcap");
        // tshark shows 13 lsarpc request PDUs: 4 calls, two of them in several fragments.
        assert_eq!(h.out.len(), 38 + 4 + 9);
        assert_eq!(h.counters.get(Counter::MalformedDcerpc), 0);
        let samr: Vec<&Dcerpc> = h
            .out
            .iter()
            .map(dce)
            .filter(|d| d.interface.as_deref() == Some("samr"))
            .collect();
        assert_eq!(samr.len(), 47);
        let first: Vec<_> = samr.iter().take(8).map(|d| d.operation.unwrap()).collect();
        assert_eq!(
            first,
            [
                "SamrConnect",
                "SamrEnumerateDomainsInSamServer",
                "SamrLookupDomainInSamServer",
                "SamrOpenDomain",
                "SamrEnumerateUsersInDomain",
                "SamrOpenUser",
                "SamrQueryInformationUser2",
                "SamrCloseHandle",
            ]
        );
        assert!(samr
            .iter()
            .all(|d| d.named_pipe.as_deref() == Some("\\pipe\\samr")
                && d.interface_version.as_deref() == Some("1.0")
                && d.auth_type.is_none()
                && d.auth_level.is_none()
                && d.fault.is_none()
                && d.rtt.is_some()));
        assert_eq!(
            samr.iter()
                .filter(|d| d.operation == Some("SamrGetMembersInGroup"))
                .count(),
            1
        );
        let lsa: Vec<&Dcerpc> = h
            .out
            .iter()
            .map(dce)
            .filter(|d| d.interface.as_deref() == Some("lsarpc"))
            .collect();
        let ops: Vec<_> = lsa.iter().map(|d| d.operation.unwrap()).collect();
        assert_eq!(
            ops[..3],
            [
                "LsarOpenPolicy2",
                "LsarQueryInformationPolicy2",
                "LsarLookupSids"
            ]
        );
        assert_eq!(ops.iter().filter(|o| **o == "LsarLookupSids").count(), 2);
        // The fragmented LsarLookupSids calls: stub bytes of all fragments together.
        let big: Vec<u64> = lsa
            .iter()
            .filter(|d| d.operation == Some("LsarLookupSids"))
            .map(|d| d.stub_bytes.unwrap())
            .collect();
        assert_eq!(big, [8 * 4152 + 2832, 4152 + 3096]);
        assert!(lsa
            .iter()
            .all(|d| d.named_pipe.as_deref() == Some("\\pipe\\lsarpc")));
    }

    #[test]
    fn pass_the_hash_svcctl_fault_and_dcom_bind_alone() {
        let h = smb_pipes("21_attack_pass_the_hash_smb_cleartext.pcap");
        let s = summary(&h);
        let scm: Vec<_> = s.iter().filter(|r| r.0 == "svcctl").collect();
        assert_eq!(scm.len(), 7);
        let fault = scm.iter().find(|r| r.3.is_some()).unwrap();
        assert_eq!(fault.1, Some("RCreateServiceW"));
        assert_eq!(fault.3.as_deref(), Some("nca_s_op_rng_error"));
        assert_eq!(
            scm.iter()
                .filter(|r| r.1 == Some("ROpenSCManagerW"))
                .count(),
            2
        );
        assert_eq!(
            s.iter()
                .filter(|r| r.0 == "srvsvc" && r.1 == Some("NetrShareEnum"))
                .count(),
            2
        );
        assert_eq!(h.out.len(), 9);

        // The DCOM activation bind on 135: NTLM, rejected, no call: a record with no operation.
        let segs = segments("21_attack_pass_the_hash_smb_cleartext.pcap");
        let mut h = Harness::new(Transport::Tcp, 135);
        let mut c = Conn::new(None);
        feed_tcp(&mut h, &mut c, &segs, 135, usize::MAX);
        assert_eq!(h.out.len(), 1);
        let d = dce(&h.out[0]);
        assert_eq!(d.interface.as_deref(), Some("IRemoteSCMActivator"));
        assert_eq!(
            d.interface_uuid.as_deref(),
            Some("000001a0-0000-0000-c000-000000000046")
        );
        assert_eq!(d.interface_version.as_deref(), Some("0.0"));
        assert_eq!((d.opnum, d.operation), (None, None));
        assert_eq!(d.auth_type, Some(Code::Name("ntlmssp")));
        assert_eq!(d.auth_level, Some(Code::Name("privacy")));
        assert!(d.rtt.is_some());
    }

    #[test]
    fn benign_queries_over_several_pipes_of_one_session() {
        let h = smb_pipes("04_benign_rpc_queries.pcap");
        let s = summary(&h);
        assert_eq!(s.len(), 1 + 7 + 5 + 5 + 3 + 3 + 1);
        assert_eq!(
            s.iter()
                .filter(|r| r.1 == Some("NetrServerGetInfo"))
                .count(),
            1
        );
        assert_eq!(s.iter().filter(|r| r.1 == Some("NetrShareEnum")).count(), 1);
        assert_eq!(s.iter().filter(|r| r.1 == Some("SamrConnect5")).count(), 3);
        assert_eq!(
            s.iter().filter(|r| r.1 == Some("LsarOpenPolicy")).count(),
            2
        );
        assert_eq!(s.iter().filter(|r| r.0 == "lsarpc").count(), 6);
        assert_eq!(h.counters.get(Counter::MalformedDcerpc), 0);
    }

    #[test]
    fn probe_accepts_connection_openings_and_midstream_pdus() {
        let segs = segments("12_attack_dcsync.pcap");
        let bind = &segs.iter().find(|s| s.dport == 135).unwrap().payload;
        assert!(probe(Dir::ToServer, bind));
        assert!(!probe(Dir::ToClient, bind));
        assert!(!probe(Dir::ToServer, &bind[..10]));
        // Midstream: a request or response opens a connection too; other types do not.
        let req = &segs
            .iter()
            .filter(|s| s.dport == 135)
            .nth(1)
            .unwrap()
            .payload;
        assert!(probe(Dir::ToServer, req));
        let mut other = bind.clone();
        other[2] = ptype::SHUTDOWN;
        assert!(!probe(Dir::ToServer, &other));
        let mut other = bind.clone();
        other[6] = 1; // drep[2] must be zero
        assert!(!probe(Dir::ToServer, &other));
        assert!(!probe(Dir::ToServer, b"GET / HTTP/1.1\r\n\r\n"));
    }

    #[test]
    fn names_of_auth_faults_and_pipes() {
        assert_eq!(auth_type(10), Code::Name("ntlmssp"));
        assert_eq!(auth_type(14), Code::Num(14));
        assert_eq!(auth_level(6), Code::Name("privacy"));
        assert_eq!(fault_string(0x1c01_0002), "nca_s_op_rng_error");
        assert_eq!(fault_string(5), "nca_s_fault_access_denied");
        assert_eq!(fault_string(0xdead_beef), "0xdeadbeef");
        assert_eq!(pipe_name("samr"), "\\pipe\\samr");
        assert_eq!(pipe_name("\\PIPE\\lsarpc"), "\\PIPE\\lsarpc");
        assert_eq!(pipe_name("\\srvsvc"), "\\pipe\\srvsvc");
    }
}
