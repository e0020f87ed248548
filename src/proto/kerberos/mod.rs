//! Kerberos on UDP and TCP 88/464: one `kerberos` record per KDC exchange, and the entry point
//! for AP-REQs found inside other protocols ([`ap_req`]).
//!
//! - UDP: one message per datagram. TCP: RFC 4120 §7.2.2 record marking (a 4-byte big-endian
//!   length before each message), split anywhere across segments, several per segment; a
//!   message over [`DecoderConfig::kerberos_max_message`](super::DecoderConfig) is skipped by
//!   its length and counted ([`Counter::DropDecoderCap`]); after a gap or garbage the stream is
//!   scanned for the next plausible record mark.
//! - kpasswd (RFC 3244) on 464: its AP-REQ becomes an `AP-REQ` record paired with the AP-REP or
//!   KRB-ERROR of the answer; the KRB-PRIV it carries is encrypted and not decoded.
//! - Requests wait in a queue per flow (UDP: one client port; TCP: one connection) and are
//!   paired in order with the next answer of a compatible type; a request with no answer is
//!   emitted alone after [`DecoderConfig::request_timeout`](super::DecoderConfig) or at close,
//!   an answer with no request alone at once.
//!
//! - What a waiting request holds is bounded: [`DecoderConfig::max_pending`](super::DecoderConfig)
//!   requests per flow, names cut at 1 KiB and lists at 64 entries (no real message comes near).
//!
//! The parsers are in [`parse`]; this module keeps per-flow state and builds records.

pub mod parse;
pub mod pkinit;

use super::{Ctx, Dir, TcpApp, UdpApp};
use crate::record::{Body, Carrier, Code, Kerberos, Ts};
use crate::stats::Counter;
use parse::{Message, Principal};
use sha2::{Digest, Sha256};
use std::collections::VecDeque;

/// A decoder for a Kerberos TCP connection.
pub fn tcp() -> Box<dyn TcpApp> {
    Box::new(KrbTcp::default())
}

/// A decoder for a Kerberos UDP conversation.
pub fn udp() -> Box<dyn UdpApp> {
    Box::new(KrbUdp::default())
}

/// Largest record mark [`probe_tcp`] accepts (it has no configuration at hand).
const PROBE_MAX: usize = 1 << 20;

/// Whether the first bytes of a TCP connection on an unclaimed port look like Kerberos: a
/// record mark whose length matches the DER length of an AS-REQ or TGS-REQ that follows it.
pub fn probe_tcp(dir: Dir, data: &[u8]) -> bool {
    if dir != Dir::ToServer {
        return false;
    }
    let Some((len, body)) = mark(data) else {
        return false;
    };
    if len > PROBE_MAX || !matches!(body.first(), Some(0x6a | 0x6c)) {
        return false;
    }
    match parse::header(body) {
        Ok((rest, (_, true, _, content))) => {
            let hdr = body.len() - rest.len();
            hdr.checked_add(content) == Some(len) && rest.first().is_none_or(|&b| b == 0x30)
        }
        _ => false,
    }
}

/// A Kerberos message found inside `carrier` (the inner token of GSS-API, DER starting with
/// `[APPLICATION 14]`, or a whole GSS-API InitialContextToken of the Kerberos mechanism):
/// emits an `AP-REQ` record with that carrier and returns true when it was one; returns false
/// (emitting nothing) for anything else. A malformed AP-REQ is counted.
pub fn ap_req(cx: &mut Ctx<'_>, carrier: Carrier, der: &[u8]) -> bool {
    ap_req_from(cx, carrier, der, Dir::ToServer)
}

/// [`ap_req`] for a carrier whose messages tell who asked: `sent` is the direction the token
/// went, so the record's `src` is its sender whatever the flow layer took for the client (a
/// DNS query between two port-53 hosts, a flow picked up mid-way).
pub fn ap_req_from(cx: &mut Ctx<'_>, carrier: Carrier, der: &[u8], sent: Dir) -> bool {
    let inner = match der.first() {
        Some(0x60) => match parse::gss_krb5(der) {
            Ok((_, ([1, 0], inner))) => inner,
            Ok(_) => return false,
            Err(_) => {
                cx.count(Counter::MalformedKerberos);
                return false;
            }
        },
        _ => der,
    };
    if inner.first() != Some(&0x6e) {
        return false;
    }
    match parse::ap_req(inner) {
        Ok((_, ap)) => {
            let mut k = Kerberos {
                carrier: Some(carrier),
                ..Default::default()
            };
            fill_ap_req(&mut k, &ap);
            cx.emit_from(cx.now, Body::Kerberos(Box::new(k)), sent);
            true
        }
        Err(_) => {
            cx.count(Counter::MalformedKerberos);
            false
        }
    }
}

/// The length of a record mark and the bytes after it.
fn mark(data: &[u8]) -> Option<(usize, &[u8])> {
    let (m, rest) = data.split_first_chunk::<4>()?;
    let len = u32::from_be_bytes(*m);
    // The high bit is reserved (RFC 4120 §7.2.2); no Kerberos message is empty.
    if len & 0x8000_0000 != 0 || len < 2 {
        return None;
    }
    Some((len as usize, rest))
}

/// Whether `b` is the first byte of a Kerberos message (`[APPLICATION n]`, constructed).
fn app_tag(b: u8) -> bool {
    matches!(b, 0x6a..=0x6f | 0x7e)
}

/// Whether the two bytes after a record mark of `len` begin a kpasswd message (RFC 3244: its own
/// length, then version 1 or 0xff80).
fn kpasswd_start(len: usize, b: &[u8]) -> bool {
    match b {
        [l0, l1, v0, v1, ..] => {
            usize::from(u16::from_be_bytes([*l0, *l1])) == len
                && matches!((v0, v1), (0, 1) | (0xff, 0x80))
        }
        [l0, l1] => usize::from(u16::from_be_bytes([*l0, *l1])) == len,
        _ => false,
    }
}

/// The result of looking at the first bytes of a record.
enum Head {
    /// A plausible message of this length.
    Ok(usize),
    /// Not a record mark followed by Kerberos (or kpasswd).
    Bad,
}

/// Checks a record mark and the first bytes after it (at least 2).
fn check_head(h: &[u8], kpasswd: bool) -> Head {
    let Some((len, body)) = mark(h) else {
        return Head::Bad;
    };
    let Some(&b0) = body.first() else {
        return Head::Bad;
    };
    if app_tag(b0) {
        // 0x80 after the tag is an indefinite length: not DER.
        if body.get(1) == Some(&0x80) {
            return Head::Bad;
        }
        if let Ok((rest, (_, _, _, content))) = parse::header(body) {
            if (body.len() - rest.len()).checked_add(content) != Some(len) {
                return Head::Bad;
            }
        } else if let Some(&l) = body.get(1) {
            // Only part of a long-form length is here: check what the first octet allows.
            if l < 0x80 && usize::from(l) + 2 != len {
                return Head::Bad;
            }
        }
        return Head::Ok(len);
    }
    if kpasswd && kpasswd_start(len, body) {
        return Head::Ok(len);
    }
    Head::Bad
}

/// Bytes of a record gathered before deciding whether it is plausible: the mark and 2 more.
const HEAD: usize = 6;
/// Bytes scanned ahead for a record mark while resynchronising.
const SCAN: usize = 12;

/// One direction of a TCP connection: record-marking state.
#[derive(Default)]
struct Framer {
    head: [u8; HEAD],
    head_len: usize,
    /// Length of the message being gathered in `buf`, when one is.
    want: Option<usize>,
    buf: Vec<u8>,
    /// Bytes still to skip (the rest of a message over the cap or cut by a gap).
    skip: u64,
    /// Lost our place (gap, garbage): scanning for the next record mark.
    resync: bool,
    /// When the first byte of the message being gathered arrived.
    start: Ts,
}

impl Framer {
    /// Feeds in-order bytes; calls `msg` with each complete message and its start time.
    fn data(
        &mut self,
        cx: &mut Ctx<'_>,
        kpasswd: bool,
        mut d: &[u8],
        msg: &mut dyn FnMut(&mut Ctx<'_>, Ts, &[u8]),
    ) {
        let max = cx.config.kerberos_max_message;
        while !d.is_empty() {
            if self.skip > 0 {
                let n = d
                    .len()
                    .min(usize::try_from(self.skip).unwrap_or(usize::MAX));
                self.skip -= n as u64;
                // Counted as seen: a mark may claim far more than ever comes.
                cx.count_n(Counter::DropDecoderCap, n as u64);
                d = &d[n..];
                continue;
            }
            if self.resync {
                match find_mark(d, kpasswd, max) {
                    Some(off) => {
                        self.resync = false;
                        d = &d[off..];
                    }
                    None => {
                        // A mark split across the end of this chunk is missed; the next
                        // complete one is found.
                        d = &[];
                    }
                }
                continue;
            }
            if let Some(want) = self.want {
                let n = (want - self.buf.len()).min(d.len());
                self.buf.extend_from_slice(&d[..n]);
                d = &d[n..];
                if self.buf.len() == want {
                    self.want = None;
                    msg(cx, self.start, &self.buf);
                    self.release();
                }
                continue;
            }
            // Fast path: a whole record at the start of the chunk is decoded in place.
            if self.head_len == 0 && d.len() >= HEAD {
                if let Head::Ok(len) = check_head(&d[..HEAD.max(SCAN).min(d.len())], kpasswd) {
                    if len <= max && d.len() - 4 >= len {
                        msg(cx, cx.now, &d[4..4 + len]);
                        d = &d[4 + len..];
                        continue;
                    }
                }
            }
            if self.head_len == 0 {
                self.start = cx.now;
            }
            let n = (HEAD - self.head_len).min(d.len());
            self.head[self.head_len..self.head_len + n].copy_from_slice(&d[..n]);
            self.head_len += n;
            d = &d[n..];
            if self.head_len < HEAD {
                continue;
            }
            self.head_len = 0;
            match check_head(&self.head, kpasswd) {
                Head::Bad => {
                    cx.count(Counter::MalformedKerberos);
                    self.resync = true;
                }
                Head::Ok(len) if len > max => {
                    cx.count_n(Counter::DropDecoderCap, HEAD as u64 - 4);
                    self.skip = len as u64 - (HEAD as u64 - 4);
                }
                Head::Ok(len) => {
                    self.buf.clear();
                    self.buf.extend_from_slice(&self.head[4..]);
                    self.want = Some(len);
                    if self.buf.len() == len {
                        self.want = None;
                        msg(cx, self.start, &self.buf);
                        self.release();
                    }
                }
            }
        }
    }

    /// Forgets a gathered message, returning a large buffer's memory.
    fn release(&mut self) {
        self.buf.clear();
        if self.buf.capacity() > 16 * 1024 {
            self.buf = Vec::new();
        }
    }

    /// `len` bytes were lost.
    fn gap(&mut self, len: u64) {
        if self.skip > 0 {
            if len <= self.skip {
                self.skip -= len;
                return;
            }
            self.skip = 0;
            self.resync = true;
            return;
        }
        if let Some(want) = self.want.take() {
            let need = (want - self.buf.len()) as u64;
            self.release();
            if len <= need {
                // The message is lost; the next one starts right after it.
                self.skip = need - len;
                return;
            }
        }
        self.head_len = 0;
        self.resync = true;
    }

    /// End of the stream: a message cut short is counted.
    fn close(&mut self, cx: &Ctx<'_>) {
        if self.want.take().is_some() || self.head_len > 0 {
            cx.count(Counter::MalformedKerberos);
        }
        self.head_len = 0;
        self.release();
    }
}

/// The offset of the first plausible record mark in `d` (one whose whole DER header is here).
fn find_mark(d: &[u8], kpasswd: bool, max: usize) -> Option<usize> {
    (0..d.len().saturating_sub(HEAD - 1)).find(|&i| {
        let h = &d[i..d.len().min(i + SCAN)];
        matches!(check_head(h, kpasswd), Head::Ok(len) if len <= max.max(PROBE_MAX))
    })
}

/// A request waiting for its answer.
struct Pending {
    ts: Ts,
    /// The request's message type (for pairing with a compatible answer).
    msg_type: u32,
    rec: Kerberos,
}

/// Requests waiting for their answers, in order.
#[derive(Default)]
struct Exchanges {
    pending: VecDeque<Pending>,
}

impl Exchanges {
    /// One complete message (UDP datagram or TCP record) that began at `ts`.
    fn message(&mut self, cx: &mut Ctx<'_>, ts: Ts, data: &[u8]) {
        match parse::message(data) {
            Ok((_, m)) => self.handle(cx, ts, m),
            Err(_) => {
                if !self.kpasswd(cx, ts, data) {
                    cx.count(Counter::MalformedKerberos);
                }
            }
        }
    }

    fn handle(&mut self, cx: &mut Ctx<'_>, ts: Ts, m: Message<'_>) {
        match m {
            Message::KdcReq(r) => {
                let mut k = Kerberos::default();
                fill_kdc_req(&mut k, &r);
                self.request(cx, ts, r.msg_type, k);
            }
            Message::ApReq(ap) => {
                let mut k = Kerberos::default();
                fill_ap_req(&mut k, &ap);
                self.request(cx, ts, parse::AP_REQ, k);
            }
            Message::KdcRep(r) => self.answer(cx, ts, r.msg_type, |k| fill_kdc_rep(k, &r)),
            Message::Error(e) => self.answer(cx, ts, parse::KRB_ERROR, |k| fill_error(k, &e)),
            Message::ApRep(_) => self.answer(cx, ts, parse::AP_REP, |k| k.reply = Some("AP-REP")),
        }
    }

    fn request(&mut self, cx: &mut Ctx<'_>, ts: Ts, msg_type: u32, rec: Kerberos) {
        if self.pending.len() >= cx.config.max_pending.max(1) {
            if let Some(old) = self.pending.pop_front() {
                cx.emit(old.ts, Body::Kerberos(Box::new(old.rec)));
            }
        }
        self.pending.push_back(Pending { ts, msg_type, rec });
    }

    /// An answer of type `msg_type` at `ts`: completes the oldest compatible request, or is
    /// emitted alone.
    fn answer(
        &mut self,
        cx: &mut Ctx<'_>,
        ts: Ts,
        msg_type: u32,
        fill: impl FnOnce(&mut Kerberos),
    ) {
        let pos = self.pending.iter().position(|p| match msg_type {
            parse::KRB_ERROR => true,
            t => p.msg_type + 1 == t,
        });
        match pos.and_then(|i| self.pending.remove(i)) {
            Some(p) => {
                let mut k = p.rec;
                fill(&mut k);
                k.rtt = Some(ts.saturating_sub(p.ts));
                cx.emit(p.ts, Body::Kerberos(Box::new(k)));
            }
            None => {
                let mut k = Kerberos::default();
                fill(&mut k);
                cx.emit(ts, Body::Kerberos(Box::new(k)));
            }
        }
    }

    /// A kpasswd message (RFC 3244): the AP-REQ of a request, the AP-REP or KRB-ERROR of an
    /// answer. False when `data` is not one.
    fn kpasswd(&mut self, cx: &mut Ctx<'_>, ts: Ts, data: &[u8]) -> bool {
        let port = 464;
        if cx.flow.server_port != port && cx.flow.client_port != port {
            return false;
        }
        let [l0, l1, v0, v1, a0, a1, rest @ ..] = data else {
            return false;
        };
        if usize::from(u16::from_be_bytes([*l0, *l1])) != data.len()
            || !matches!((v0, v1), (0, 1) | (0xff, 0x80))
        {
            return false;
        }
        let ap_len = usize::from(u16::from_be_bytes([*a0, *a1]));
        let Some((ap, after)) = rest.split_at_checked(ap_len) else {
            return false;
        };
        if ap_len == 0 {
            // An answer without AP-REP carries a KRB-ERROR.
            return match parse::message(after) {
                Ok((_, m @ Message::Error(_))) => {
                    self.handle(cx, ts, m);
                    true
                }
                _ => false,
            };
        }
        match parse::message(ap) {
            Ok((_, m @ (Message::ApReq(_) | Message::ApRep(_)))) => {
                self.handle(cx, ts, m);
                true
            }
            _ => false,
        }
    }

    /// Emits requests older than the timeout.
    fn expire(&mut self, cx: &mut Ctx<'_>) {
        let timeout = cx.config.request_timeout;
        while self
            .pending
            .front()
            .is_some_and(|p| cx.now.saturating_sub(p.ts) >= timeout)
        {
            if let Some(p) = self.pending.pop_front() {
                cx.emit(p.ts, Body::Kerberos(Box::new(p.rec)));
            }
        }
    }

    /// Emits every request still waiting.
    fn flush(&mut self, cx: &mut Ctx<'_>) {
        while let Some(p) = self.pending.pop_front() {
            cx.emit(p.ts, Body::Kerberos(Box::new(p.rec)));
        }
    }
}

/// Kerberos over TCP.
#[derive(Default)]
struct KrbTcp {
    dirs: [Framer; 2],
    ex: Exchanges,
}

impl TcpApp for KrbTcp {
    fn data(&mut self, cx: &mut Ctx<'_>, dir: Dir, data: &[u8]) {
        let kpasswd = cx.flow.server_port == 464;
        let ex = &mut self.ex;
        self.dirs[dir.idx()].data(cx, kpasswd, data, &mut |cx, ts, m| ex.message(cx, ts, m));
    }

    fn gap(&mut self, _cx: &mut Ctx<'_>, dir: Dir, len: u64) {
        self.dirs[dir.idx()].gap(len);
    }

    fn tick(&mut self, cx: &mut Ctx<'_>) {
        self.ex.expire(cx);
    }

    fn close(&mut self, cx: &mut Ctx<'_>) {
        for f in &mut self.dirs {
            f.close(cx);
        }
        self.ex.flush(cx);
    }

    fn buffered(&self) -> usize {
        self.dirs.iter().map(|f| f.buf.capacity()).sum()
    }
}

/// Kerberos over UDP.
#[derive(Default)]
struct KrbUdp {
    ex: Exchanges,
}

impl UdpApp for KrbUdp {
    fn datagram(&mut self, cx: &mut Ctx<'_>, _dir: Dir, data: &[u8]) {
        self.ex.message(cx, cx.now, data);
    }

    fn tick(&mut self, cx: &mut Ctx<'_>) {
        self.ex.expire(cx);
    }

    fn close(&mut self, cx: &mut Ctx<'_>) {
        self.ex.flush(cx);
    }
}

/// Longest name (client, realm, service) a record keeps, in bytes: real principal names are far
/// shorter; the cap bounds what a hostile peer can make waiting requests hold.
const MAX_NAME: usize = 1024;
/// Most entries a record keeps of a list (etypes, PA-DATA types, offered etypes).
const MAX_LIST: usize = 64;

/// Cuts `s` to at most [`MAX_NAME`] bytes, at a character boundary.
fn cap(mut s: String) -> String {
    if s.len() > MAX_NAME {
        let mut end = MAX_NAME;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

/// Name components joined with `/`.
fn join(p: &Principal<'_>) -> Option<String> {
    let mut s = String::new();
    for (i, c) in p.components().enumerate() {
        if s.len() > MAX_NAME {
            break;
        }
        if i > 0 {
            s.push('/');
        }
        s.push_str(&String::from_utf8_lossy(&c[..c.len().min(MAX_NAME + 1)]));
    }
    (!s.is_empty()).then(|| cap(s))
}

fn text(b: &[u8]) -> Option<String> {
    (!b.is_empty())
        .then(|| cap(String::from_utf8_lossy(&b[..b.len().min(MAX_NAME + 1)]).into_owned()))
}

/// The first 16 bytes of the SHA-256 of a ticket's enc-part ciphertext, as hex.
pub fn ticket_hash(cipher: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(cipher);
    let mut s = String::with_capacity(32);
    for b in &digest[..16] {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 15)]));
    }
    s
}

/// KDCOptions flag names by bit (RFC 4120 §5.4.1, RFC 6806, RFC 6112, MS-KILE §2.2.8, MS-SFU).
const KDC_OPTIONS: [(u32, &str); 16] = [
    (1, "forwardable"),
    (2, "forwarded"),
    (3, "proxiable"),
    (4, "proxy"),
    (5, "allow-postdate"),
    (6, "postdated"),
    (8, "renewable"),
    (11, "opt-hardware-auth"),
    (14, "cname-in-addl-tkt"),
    (15, "canonicalize"),
    (16, "request-anonymous"),
    (26, "disable-transited-check"),
    (27, "renewable-ok"),
    (28, "enc-tkt-in-skey"),
    (30, "renew"),
    (31, "validate"),
];

/// The names of the KDCOptions set in `bits` (flag 0 in the most significant bit).
pub fn kdc_option_names(bits: u32) -> Vec<&'static str> {
    KDC_OPTIONS
        .iter()
        .filter(|(b, _)| bits & (0x8000_0000 >> b) != 0)
        .map(|(_, n)| *n)
        .collect()
}

/// The name of a KRB-ERROR code (RFC 4120 §7.5.9, RFC 4556, RFC 6113, MS-KILE).
pub fn error_name(code: i32) -> Option<&'static str> {
    Some(match code {
        0 => "KDC_ERR_NONE",
        1 => "KDC_ERR_NAME_EXP",
        2 => "KDC_ERR_SERVICE_EXP",
        3 => "KDC_ERR_BAD_PVNO",
        4 => "KDC_ERR_C_OLD_MAST_KVNO",
        5 => "KDC_ERR_S_OLD_MAST_KVNO",
        6 => "KDC_ERR_C_PRINCIPAL_UNKNOWN",
        7 => "KDC_ERR_S_PRINCIPAL_UNKNOWN",
        8 => "KDC_ERR_PRINCIPAL_NOT_UNIQUE",
        9 => "KDC_ERR_NULL_KEY",
        10 => "KDC_ERR_CANNOT_POSTDATE",
        11 => "KDC_ERR_NEVER_VALID",
        12 => "KDC_ERR_POLICY",
        13 => "KDC_ERR_BADOPTION",
        14 => "KDC_ERR_ETYPE_NOSUPP",
        15 => "KDC_ERR_SUMTYPE_NOSUPP",
        16 => "KDC_ERR_PADATA_TYPE_NOSUPP",
        17 => "KDC_ERR_TRTYPE_NOSUPP",
        18 => "KDC_ERR_CLIENT_REVOKED",
        19 => "KDC_ERR_SERVICE_REVOKED",
        20 => "KDC_ERR_TGT_REVOKED",
        21 => "KDC_ERR_CLIENT_NOTYET",
        22 => "KDC_ERR_SERVICE_NOTYET",
        23 => "KDC_ERR_KEY_EXPIRED",
        24 => "KDC_ERR_PREAUTH_FAILED",
        25 => "KDC_ERR_PREAUTH_REQUIRED",
        26 => "KDC_ERR_SERVER_NOMATCH",
        27 => "KDC_ERR_MUST_USE_USER2USER",
        28 => "KDC_ERR_PATH_NOT_ACCEPTED",
        29 => "KDC_ERR_SVC_UNAVAILABLE",
        31 => "KRB_AP_ERR_BAD_INTEGRITY",
        32 => "KRB_AP_ERR_TKT_EXPIRED",
        33 => "KRB_AP_ERR_TKT_NYV",
        34 => "KRB_AP_ERR_REPEAT",
        35 => "KRB_AP_ERR_NOT_US",
        36 => "KRB_AP_ERR_BADMATCH",
        37 => "KRB_AP_ERR_SKEW",
        38 => "KRB_AP_ERR_BADADDR",
        39 => "KRB_AP_ERR_BADVERSION",
        40 => "KRB_AP_ERR_MSG_TYPE",
        41 => "KRB_AP_ERR_MODIFIED",
        42 => "KRB_AP_ERR_BADORDER",
        44 => "KRB_AP_ERR_BADKEYVER",
        45 => "KRB_AP_ERR_NOKEY",
        46 => "KRB_AP_ERR_MUT_FAIL",
        47 => "KRB_AP_ERR_BADDIRECTION",
        48 => "KRB_AP_ERR_METHOD",
        49 => "KRB_AP_ERR_BADSEQ",
        50 => "KRB_AP_ERR_INAPP_CKSUM",
        51 => "KRB_AP_PATH_NOT_ACCEPTED",
        52 => "KRB_ERR_RESPONSE_TOO_BIG",
        60 => "KRB_ERR_GENERIC",
        61 => "KRB_ERR_FIELD_TOOLONG",
        62 => "KDC_ERR_CLIENT_NOT_TRUSTED",
        63 => "KDC_ERR_KDC_NOT_TRUSTED",
        64 => "KDC_ERR_INVALID_SIG",
        65 => "KDC_ERR_DH_KEY_PARAMETERS_NOT_ACCEPTED",
        66 => "KDC_ERR_CERTIFICATE_MISMATCH",
        67 => "KRB_AP_ERR_NO_TGT",
        68 => "KDC_ERR_WRONG_REALM",
        69 => "KRB_AP_ERR_USER_TO_USER_REQUIRED",
        70 => "KDC_ERR_CANT_VERIFY_CERTIFICATE",
        71 => "KDC_ERR_INVALID_CERTIFICATE",
        72 => "KDC_ERR_REVOKED_CERTIFICATE",
        73 => "KDC_ERR_REVOCATION_STATUS_UNKNOWN",
        74 => "KDC_ERR_REVOCATION_STATUS_UNAVAILABLE",
        75 => "KDC_ERR_CLIENT_NAME_MISMATCH",
        76 => "KDC_ERR_KDC_NAME_MISMATCH",
        77 => "KDC_ERR_INCONSISTENT_KEY_PURPOSE",
        78 => "KDC_ERR_DIGEST_IN_CERT_NOT_ACCEPTED",
        79 => "KDC_ERR_PA_CHECKSUM_MUST_BE_INCLUDED",
        80 => "KDC_ERR_DIGEST_IN_SIGNED_DATA_NOT_ACCEPTED",
        81 => "KDC_ERR_PUBLIC_KEY_ENCRYPTION_NOT_SUPPORTED",
        90 => "KDC_ERR_PREAUTH_EXPIRED",
        91 => "KDC_ERR_MORE_PREAUTH_DATA_REQUIRED",
        92 => "KDC_ERR_PREAUTH_BAD_AUTHENTICATION_SET",
        93 => "KDC_ERR_UNKNOWN_CRITICAL_FAST_OPTIONS",
        _ => return None,
    })
}

fn fill_kdc_req(k: &mut Kerberos, r: &parse::KdcReq<'_>) {
    k.request = Some(if r.msg_type == parse::AS_REQ {
        "AS-REQ"
    } else {
        "TGS-REQ"
    });
    k.client = r.cname.as_ref().and_then(join);
    k.realm = text(r.realm);
    k.service = r.sname.as_ref().and_then(join);
    k.etypes = r.etypes.iter().take(MAX_LIST).collect();
    k.kdc_options = kdc_option_names(r.kdc_options);
    k.till = r.till.and_then(parse::kerberos_time);
    k.additional_ticket_hash = r.additional_ticket.map(|t| ticket_hash(t.enc.cipher));
    if !r.padata.0.is_empty() {
        k.preauth = Vec::with_capacity(4);
    }
    for pa in r.padata.iter() {
        if k.preauth.len() < MAX_LIST {
            k.preauth.push(pa.ty);
        }
        match pa.ty {
            parse::PA_ENC_TIMESTAMP if k.preauth_etype.is_none() => {
                k.preauth_etype = parse::pa_enc_timestamp_etype(pa.value);
            }
            parse::PA_PAC_REQUEST if k.pac_request.is_none() => {
                k.pac_request = parse::pa_pac_request(pa.value)
            }
            parse::PA_TGS_REQ if k.presented_hash.is_none() => {
                if let Ok((_, ap)) = parse::ap_req(pa.value) {
                    k.presented_hash = Some(ticket_hash(ap.ticket.enc.cipher));
                    k.presented_etype = Some(ap.ticket.enc.etype);
                }
            }
            parse::PA_FOR_USER | parse::PA_S4U_X509_USER if k.s4u_user.is_none() => {
                k.s4u_user = parse::s4u_user(pa.ty, pa.value).as_ref().and_then(join);
            }
            parse::PA_PK_AS_REQ if k.pkinit_subject.is_none() => {
                if let Some(c) = parse::pk_as_req_signed(pa.value).and_then(pkinit::client_cert) {
                    k.pkinit_subject = c.subject.map(cap);
                    k.pkinit_issuer = c.issuer.map(cap);
                    k.pkinit_san = c.san;
                }
            }
            _ => {}
        }
    }
}

fn fill_ap_req(k: &mut Kerberos, ap: &parse::ApReq<'_>) {
    k.presented_etype = Some(ap.ticket.enc.etype);
    k.request = Some("AP-REQ");
    k.realm = text(ap.ticket.realm);
    k.service = join(&ap.ticket.sname);
    k.ticket_etype = Some(ap.ticket.enc.etype);
    k.presented_hash = Some(ticket_hash(ap.ticket.enc.cipher));
}

fn fill_kdc_rep(k: &mut Kerberos, r: &parse::KdcRep<'_>) {
    k.reply = Some(if r.msg_type == parse::AS_REP {
        "AS-REP"
    } else {
        "TGS-REP"
    });
    if k.client.is_none() {
        k.client = join(&r.cname);
    }
    if k.realm.is_none() {
        k.realm = text(r.crealm);
    }
    if k.service.is_none() {
        k.service = join(&r.ticket.sname);
    }
    k.ticket_etype = Some(r.ticket.enc.etype);
    k.reply_etype = Some(r.enc.etype);
    k.ticket_hash = Some(ticket_hash(r.ticket.enc.cipher));
}

fn fill_error(k: &mut Kerberos, e: &parse::KrbError<'_>) {
    k.reply = Some("KRB-ERROR");
    k.error = Some(Code::new(i64::from(e.error_code), error_name(e.error_code)));
    if k.client.is_none() {
        k.client = e.cname.as_ref().and_then(join);
    }
    if k.realm.is_none() {
        k.realm = e.crealm.and_then(text).or_else(|| text(e.realm));
    }
    if k.service.is_none() {
        k.service = e.sname.as_ref().and_then(join);
    }
    // e-data is METHOD-DATA for pre-authentication errors; other errors carry other things.
    if let Some(ed) = e.e_data {
        parse::error_etypes(ed, &mut k.error_etypes);
    }
}

#[cfg(test)]
mod tests;
