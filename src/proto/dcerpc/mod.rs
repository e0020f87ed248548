//! DCE-RPC over TCP (135, endpoint-mapper ports, probed ports), over SMB named pipes and over
//! UDP: one `dcerpc` record per call.
//!
//! [`Conn`] holds the state of one connection-oriented association, whatever carries it: the
//! presentation contexts bound (context id → interface and version, accepted or not), the calls
//! in flight matched by call id, fragment reassembly by PFC_FIRST_FRAG/PFC_LAST_FRAG (counted
//! against [`DecoderConfig::dcerpc_max_stub`]; only endpoint-mapper answers keep their bytes, to
//! read the towers), the auth verifier, and the NTLM authentication handed to
//! [`crate::proto::gssapi::inspect`]. Each direction is cut into PDUs by the kit's framer
//! ([`super::kit::framer`], with [`DceFraming`]): after a gap or an invalid header it searches
//! for the next plausible header, keeping a header start cut by the end of a segment. The TCP
//! decoder ([`tcp`]) and [`PipeConn`] (bytes of an SMB
//! named pipe, fed by the SMB decoder) are thin wrappers around it. Connectionless DCE-RPC over
//! UDP is in [`cl`]. Pure parsers are in [`parse`], the interface/operation table in
//! [`interfaces`].
//!
//! [`DecoderConfig::dcerpc_max_stub`]: crate::proto::DecoderConfig::dcerpc_max_stub

pub mod args;
mod bind;
pub mod cl;
mod emit;
pub mod interfaces;
mod names;
pub mod ndr;
pub mod parse;

pub use names::{auth_level, auth_type, fault_name, fault_string};

use super::kit::framer::{Event, Framer, Framing, Head};
use super::ntlm::NtlmAuth;
use super::smb::registry::OpenKey;
use super::{Ctx, Dir, TcpApp, UdpApp};
use crate::record::{Carrier, Code, Ts};
use crate::stats::Counter;
use parse::{pfc, ptype, CoHeader, HeaderError, Uuid, CO_HEADER_LEN};
use std::borrow::Cow;
use std::sync::Arc;

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
    /// The pipe's name as opened (`\pipe\samr` or `samr`); empty when its open was not seen.
    pub pipe: String,
    conn: Conn,
}

impl PipeConn {
    /// A DCE-RPC connection over the named pipe `pipe` (empty: its name is not known, and left
    /// out of the records).
    pub fn new(pipe: String) -> Self {
        Self::linked(pipe, None)
    }

    /// A DCE-RPC connection over the named pipe `pipe` whose contexts are shared, under `link`,
    /// with the other channels of its SMB session ([`crate::proto::smb::registry`]): a bind
    /// seen here is written there, a context id not bound here is looked up there.
    pub fn linked(pipe: String, link: Option<OpenKey>) -> Self {
        let mut conn = Conn::new(pipe_name(&pipe));
        conn.over_pipe = true;
        conn.link = link;
        PipeConn { pipe, conn }
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

/// `\pipe\name` for a pipe opened as `name`, `\name` or `\PIPE\name`; `None` when no name is
/// left (an open not seen, or a bare `\PIPE\`): an unknown name is left out, never empty.
fn pipe_name(opened: &str) -> Option<Arc<str>> {
    let t = opened.trim_start_matches('\\');
    let prefixed = t.len() >= 5 && t.get(..5).is_some_and(|p| p.eq_ignore_ascii_case("pipe\\"));
    let name = if prefixed { &t[5..] } else { t };
    if name.trim_start_matches('\\').is_empty() {
        None
    } else if prefixed && opened.len() == t.len() + 1 {
        // Already `\pipe\name` (as the SMB decoder opens it): copied once, into the Arc.
        Some(Arc::from(opened))
    } else if prefixed {
        Some(format!("\\{t}").into())
    } else {
        Some(format!("\\pipe\\{t}").into())
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
    fn waiting(&self) -> bool {
        !self.conn.calls.is_empty()
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
/// Largest request stub buffer an association keeps for its next call (a larger one is freed).
const SPARE_STUB: usize = 4 * 1024;
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
    resp_tail: Tail,
    resp_big: bool,
}

/// The last (up to) four bytes of a response stub, held inline.
#[derive(Debug, Default, Clone, Copy)]
struct Tail {
    buf: [u8; 4],
    len: usize,
}

impl Tail {
    /// Appends `b`, keeping the last four bytes.
    fn push(&mut self, b: &[u8]) {
        for &x in &b[b.len().saturating_sub(4)..] {
            if self.len == 4 {
                self.buf.copy_within(1.., 0);
                self.len = 3;
            }
            self.buf[self.len] = x;
            self.len += 1;
        }
    }

    fn as_slice(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// The context ids a bind offered: held inline up to eight (binds offer one to three).
type CtxIds = smallvec::SmallVec<[u16; 8]>;

/// A BIND or ALTER_CONTEXT that no call has used yet: recorded alone if none does.
#[derive(Debug)]
struct Bind {
    call_id: u32,
    ts: Ts,
    /// Offered contexts, in order (the ack's results follow this order); a few held inline.
    ctx_ids: CtxIds,
    ack_ts: Option<Ts>,
    auth: Option<(u8, u8)>,
    /// Whether a call used one of its contexts.
    used: bool,
    /// Why the server rejected the bind (BIND_NAK, or every context refused).
    fault: Option<Cow<'static, str>>,
}

/// The state of one connection-oriented association (a TCP connection or an SMB pipe).
struct Conn {
    /// Shared by the pipe's records.
    named_pipe: Option<Arc<str>>,
    /// Carried by an SMB named pipe (its name may be unknown).
    over_pipe: bool,
    /// The pipe's key in the SMB registry, for contexts bound on another channel.
    link: Option<OpenKey>,
    /// The kit's framer of each direction.
    framers: [Framer; 2],
    /// Bound contexts (at most [`crate::proto::DecoderConfig::dcerpc_max_contexts`]): the
    /// first two held inline, as most associations bind one or two.
    contexts: smallvec::SmallVec<[Context; 2]>,
    /// Calls in flight (at most [`crate::proto::DecoderConfig::dcerpc_max_calls`]): the first
    /// held inline, as most associations make one call at a time.
    calls: smallvec::SmallVec<[Call; 1]>,
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
    /// The request stub buffer of the last call emitted, emptied, for the next call whose
    /// `args` are read (kept only up to [`SPARE_STUB`] bytes of capacity).
    spare: Vec<u8>,
}

impl Conn {
    fn new(named_pipe: Option<Arc<str>>) -> Self {
        Conn {
            named_pipe,
            over_pipe: false,
            link: None,
            framers: [Framer::new(MAX_PDU), Framer::new(MAX_PDU)],
            contexts: smallvec::SmallVec::new(),
            calls: smallvec::SmallVec::new(),
            bind: None,
            auth: None,
            ntlm: NtlmAuth::default(),
            client_tokens: 0,
            awaiting_verdict: false,
            verdict_given: false,
            learned: None,
            req_dir: None,
            spare: Vec::new(),
        }
    }

    fn buffered(&self) -> usize {
        self.framers.iter().map(Framer::buffered).sum::<usize>()
            + self.calls.iter().map(|c| c.resp.len()).sum::<usize>()
    }

    fn data(&mut self, cx: &mut Ctx<'_>, dir: Dir, data: &[u8]) {
        // The framer is taken out while its PDUs are decoded (they change the rest of `self`).
        let mut fr = std::mem::take(&mut self.framers[dir.idx()]);
        fr.data(cx.now, data, &mut DceFraming, &mut |ev| match ev {
            Event::Pdu { pdu, .. } => match parse::co_header(pdu) {
                Ok(h) => self.pdu(cx, dir, &h, pdu),
                Err(_) => cx.count(Counter::MalformedDcerpc),
            },
            Event::Bad { .. } => cx.count(Counter::MalformedDcerpc),
            // Nothing is over the cap (frag_length is 16 bits); what a search passes over and
            // what a gap cuts are not counted.
            Event::Oversize { .. }
            | Event::Skipped { .. }
            | Event::Cut { .. }
            | Event::Resync { .. } => {}
            // The framing has no stepwise PDUs.
            Event::Part { .. } | Event::Unmet { .. } => {}
        });
        self.framers[dir.idx()] = fr;
    }

    fn gap(&mut self, _cx: &mut Ctx<'_>, dir: Dir, _len: u64) {
        // A frag_length is not trusted across a gap: search for the next header.
        self.framers[dir.idx()].lose(&mut |_| {});
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
                self.linked_context(cx, req.ctx_id);
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
                    req: if args.is_some() {
                        std::mem::take(&mut self.spare)
                    } else {
                        Vec::new()
                    },
                    args,
                    req_big: h.drep[0] & 0x10 == 0,
                    ndr64,
                    resp_tail: Tail::default(),
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
            call.resp_tail.push(stub);
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
        for fr in &mut self.framers {
            fr.close(&mut |_| {});
        }
    }
}

/// Largest connection-oriented PDU: frag_length is 16 bits.
const MAX_PDU: usize = u16::MAX as usize;

/// Connection-oriented DCE-RPC's framing for the kit's framer: the 16-byte header checked by
/// [`parse::co_header`], its frag_length the whole PDU. An invalid header is passed over by one
/// byte; the search for the next header (after a gap or an invalid header) stops at a version 5
/// header whose type has a place on a connection, or at the start of one cut by the end of the
/// data, which is kept and judged with the next data ([`Framing::keep_partial`]).
pub struct DceFraming;

impl Framing for DceFraming {
    fn head(&mut self, d: &[u8]) -> Head {
        match parse::co_header(d) {
            Ok(h) => Head::Len(usize::from(h.frag_len)),
            Err(HeaderError::Incomplete) => Head::Need(CO_HEADER_LEN),
            Err(HeaderError::Invalid) => Head::Bad,
        }
    }

    fn probe(&mut self, d: &[u8]) -> bool {
        match parse::co_header(d) {
            Ok(h) => {
                h.ptype <= ptype::ORPHANED && h.ptype != ptype::PING && !(4..=10).contains(&h.ptype)
            }
            Err(HeaderError::Incomplete) => true,
            Err(HeaderError::Invalid) => false,
        }
    }

    fn bad_len(&self) -> usize {
        1
    }

    fn keep_partial(&self) -> bool {
        true
    }

    /// [`parse::co_header`] refuses any data not starting with version 5.
    fn lead(&self) -> Option<u8> {
        Some(5)
    }
}

/// Parses a canonical UUID string (`xxxxxxxx-xxxx-...`).
#[cfg(test)]
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

#[cfg(test)]
mod tests;
