//! Kerberos on UDP and TCP 88/464: one `kerberos` record per KDC exchange, and the entry point
//! for AP-REQs found inside other protocols ([`ap_req`]).
//!
//! - UDP: one message per datagram. TCP: RFC 4120 §7.2.2 record marking (a 4-byte big-endian
//!   length before each message), split anywhere across segments, several per segment; a
//!   message over [`DecoderConfig::kerberos_max_message`](super::DecoderConfig) is skipped by
//!   its length and counted ([`Counter::DropDecoderCap`]); after a gap or garbage the stream is
//!   scanned for the next plausible record mark. The kit's framer does the cutting
//!   ([`super::kit::framer`], with the record marking of [`KrbFraming`]).
//! - kpasswd (RFC 3244) on 464: its AP-REQ becomes an `AP-REQ` record paired with the AP-REP or
//!   KRB-ERROR of the answer; the KRB-PRIV it carries is encrypted and not decoded.
//! - Requests wait per flow (UDP: one client port; TCP: one connection) on the kit's
//!   transaction table ([`super::kit::txn`]) and are paired in order with the next answer of a
//!   compatible type; a request with no answer is emitted alone after
//!   [`DecoderConfig::request_timeout`](super::DecoderConfig) (counted in `requests_timed_out`)
//!   or at close, an answer with no request alone at once.
//!
//! - What a waiting request holds is bounded: [`DecoderConfig::max_pending`](super::DecoderConfig)
//!   requests per flow, names cut at 1 KiB and lists at 64 entries (no real message comes near).
//!
//! The parsers are in [`parse`]; this module keeps per-flow state and builds records.

pub mod parse;
pub mod pkinit;

use super::kit::framer::{self, Event, Framers, Framing};
use super::kit::txn::Txns;
use super::{Ctx, Dir, TcpApp, UdpApp};
use crate::record::{Body, Carrier, Kerberos, Ts};
use crate::stats::Counter;
use parse::Message;

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

/// Bytes of a record judged before deciding whether it is plausible: the mark and 2 more.
const HEAD: usize = 6;
/// Bytes looked at while resynchronising on a record mark.
const SCAN: usize = 12;

/// Kerberos' record marking for the kit's framer ([`framer::Framer`]): the 4-byte mark checked
/// with the 2 bytes after it (an `[APPLICATION n]` tag whose DER length agrees, or a kpasswd
/// header on port 464); a bad header is passed over whole; resynchronisation looks for a mark
/// whose whole DER header agrees, of at most [`DecoderConfig::kerberos_max_message`](super::DecoderConfig)
/// (or 1 MiB, whichever is larger).
struct KrbFraming {
    kpasswd: bool,
    max: usize,
}

impl Framing for KrbFraming {
    fn head(&mut self, d: &[u8]) -> framer::Head {
        match d.get(..HEAD).map(|h| check_head(h, self.kpasswd)) {
            None => framer::Head::Need(HEAD),
            Some(Head::Ok(len)) => framer::Head::Len(4 + len),
            Some(Head::Bad) => framer::Head::Bad,
        }
    }

    fn probe(&mut self, d: &[u8]) -> bool {
        d.len() >= HEAD
            && matches!(check_head(&d[..d.len().min(SCAN)], self.kpasswd),
                Head::Ok(len) if len <= self.max.max(PROBE_MAX))
    }

    fn probe_len(&self) -> usize {
        HEAD
    }

    fn bad_len(&self) -> usize {
        HEAD
    }
}

/// A request waiting for its answer (its time is the transaction's `since`).
struct Pending {
    /// The request's message type (for pairing with a compatible answer).
    msg_type: u32,
    rec: Kerberos,
}

/// Requests waiting for their answers, in order, on the kit's transaction table (cap with the
/// oldest emitted alone, timeout by packet time, flush at close, evictions and timeouts
/// counted).
#[derive(Default)]
struct Exchanges {
    pending: Txns<(), Pending>,
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
        self.pending.set_cap(cx.config.max_pending);
        if let Some(old) = self.pending.insert(ts, (), Pending { msg_type, rec }) {
            cx.emit(old.since, Body::Kerberos(Box::new(old.value.rec)));
        }
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
        let req = self.pending.take_where(|t| match msg_type {
            parse::KRB_ERROR => true,
            m => t.value.msg_type + 1 == m,
        });
        match req {
            Some(t) => {
                let mut k = t.value.rec;
                fill(&mut k);
                k.rtt = Some(ts.saturating_sub(t.since));
                cx.emit(t.since, Body::Kerberos(Box::new(k)));
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
        for t in self.pending.expire(cx.now, cx.config.request_timeout) {
            cx.emit(t.since, Body::Kerberos(Box::new(t.value.rec)));
        }
        self.pending.report(cx.counters);
    }

    /// Emits every request still waiting.
    fn flush(&mut self, cx: &mut Ctx<'_>) {
        for t in self.pending.drain() {
            cx.emit(t.since, Body::Kerberos(Box::new(t.value.rec)));
        }
        self.pending.report(cx.counters);
    }
}

/// Kerberos over TCP: a kit framer per direction (created with the configured cap on first
/// use), one exchange table.
#[derive(Default)]
struct KrbTcp {
    dirs: Framers,
    ex: Exchanges,
}

/// The framers' cap: the largest message and its record mark.
fn tcp_cap(cx: &Ctx<'_>) -> usize {
    cx.config.kerberos_max_message.saturating_add(4)
}

impl TcpApp for KrbTcp {
    fn data(&mut self, cx: &mut Ctx<'_>, dir: Dir, data: &[u8]) {
        let mut framing = KrbFraming {
            kpasswd: cx.flow.server_port == 464,
            max: cx.config.kerberos_max_message,
        };
        let now = cx.now;
        let fr = self.dirs.dir(tcp_cap(cx), dir);
        // The rest of a message a gap cut is skipped and counted as seen, as a message over
        // the cap is.
        let quiet = fr.unreported_skip().min(data.len() as u64);
        cx.count_n(Counter::DropDecoderCap, quiet);
        let ex = &mut self.ex;
        // A message over the cap is counted from the byte after its record mark.
        let mut mark = 0;
        fr.data(now, data, &mut framing, &mut |ev| match ev {
            Event::Pdu { start, pdu } => ex.message(cx, start, &pdu[4..]),
            Event::Oversize { .. } => mark = 4,
            Event::Skipped { bytes } => {
                cx.count_n(Counter::DropDecoderCap, (bytes - mark.min(bytes)) as u64);
                mark = 0;
            }
            Event::Bad { .. } => cx.count(Counter::MalformedKerberos),
            Event::Cut { .. } | Event::Resync { .. } => {}
            // The framing has no stepwise PDUs.
            Event::Part { .. } | Event::Unmet { .. } => {}
        });
    }

    fn gap(&mut self, cx: &mut Ctx<'_>, dir: Dir, len: u64) {
        self.dirs.dir(tcp_cap(cx), dir).gap(len, &mut |_| {});
    }

    fn tick(&mut self, cx: &mut Ctx<'_>) {
        self.ex.expire(cx);
    }

    fn waiting(&self) -> bool {
        !self.ex.pending.is_empty()
    }

    fn close(&mut self, cx: &mut Ctx<'_>) {
        self.dirs.close(&mut |ev| {
            if let Event::Cut { .. } = ev {
                cx.count(Counter::MalformedKerberos);
            }
        });
        self.ex.flush(cx);
    }

    fn buffered(&self) -> usize {
        self.dirs.buffered()
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
        self.ex.pending.release_if_empty();
    }

    fn tick(&mut self, cx: &mut Ctx<'_>) {
        self.ex.expire(cx);
        self.ex.pending.release_if_empty();
    }

    fn waiting(&self) -> bool {
        !self.ex.pending.is_empty()
    }

    fn close(&mut self, cx: &mut Ctx<'_>) {
        self.ex.flush(cx);
    }
}

mod fields;

pub use fields::{error_name, kdc_option_names, ticket_hash};
use fields::{fill_ap_req, fill_error, fill_kdc_rep, fill_kdc_req};

#[cfg(test)]
mod tests;
