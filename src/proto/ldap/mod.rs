//! LDAP on TCP 389 and 3268 and CLDAP on UDP 389: one `ldap` record per operation in clear text
//! (bind, search, modify, add, delete, modify_dn, compare, extended) with its result; the NTLM
//! or Kerberos tokens binds carry go to [`super::gssapi::inspect`] (carrier `ldap`).
//!
//! Over TCP, messages are framed by their BER length and buffered up to
//! [`super::DecoderConfig::max_header`]; larger ones (big search entries) are skipped by length
//! without buffering, a SearchResultEntry still counted for its search from its first bytes. A
//! gap inside a message whose length was read loses that message only: the rest of it is
//! skipped by count and the next one is read; a gap over a message boundary ends the decoding
//! of the connection (BER has no marker to resynchronise on).
//!
//! After a successful SASL or sicily bind, or an accepted StartTLS, the stream may turn into
//! SASL-wrapped buffers (signing or sealing) or TLS records. The record of that bind (or of the
//! StartTLS) is held until the next message shows which: one that does not start like an
//! LDAPMessage makes the record say `sealed: true`, and from there on each wrapped buffer or TLS
//! record is counted (`ldap_sealed` in `stats`) and skipped by its length, never decoded.
//!
//! CLDAP (the "LDAP ping" of the DC locator) is one LDAPMessage or more per datagram.

pub mod filter;
pub mod ops;
pub mod parse;

use super::kit::ber::{self, header, BerFraming};
use super::kit::framer::{Event, Framers, Framing, Head};
use super::{Ctx, Dir, TcpApp, UdpApp};
use crate::record::{Body, Ldap, Ts};
use crate::stats::Counter;
use ops::{Answer, Ops};
use parse::{tag, Op};
use std::cell::Cell;

/// Bytes of a message too large to buffer looked at before skipping it (its id and op tag).
const PEEK: usize = 32;
/// Largest SASL buffer believed (RFC 4422's maximum buffer size field is 24 bits).
const MAX_SASL_BUFFER: u64 = 1 << 24;

/// A decoder for one connection.
pub fn tcp() -> Box<dyn TcpApp> {
    Box::new(LdapConn::default())
}

/// A decoder for one CLDAP conversation.
pub fn udp() -> Box<dyn UdpApp> {
    Box::new(Cldap::default())
}

/// Whether the first bytes of a TCP connection on an unclaimed port look like this protocol: a
/// BindRequest.
pub fn probe(dir: Dir, data: &[u8]) -> bool {
    let Some((0x30, hl, _)) = header(data) else {
        return false;
    };
    let Some(after) = data.get(hl..) else {
        return false;
    };
    match parse::message(data) {
        Ok((_, m)) => dir == Dir::ToServer && matches!(m.op, Op::BindRequest { .. }),
        // A first segment may hold only the start of the message: look for the id and the tag.
        Err(_) => {
            dir == Dir::ToServer
                && matches!(ber::tlv(after), Ok((rest, id)) if id.tag == 0x02 && rest.first() == Some(&0x60))
        }
    }
}

/// LDAP's framing for the kit's framer: one BER SEQUENCE per message ([`BerFraming`]), no
/// resynchronisation (BER has no marker), and the first [`PEEK`] bytes of a message over the cap
/// handed over with it. It notes in `seen` when the header of a message in clear was read,
/// which releases a held bind record as soon as the next message starts.
struct LdapFraming<'a> {
    seen: &'a Cell<bool>,
}

impl Framing for LdapFraming<'_> {
    fn head(&mut self, d: &[u8]) -> Head {
        let h = BerFraming { tag: 0x30 }.head(d);
        if let Head::Len(_) = h {
            self.seen.set(true);
        }
        h
    }

    fn probe(&mut self, _d: &[u8]) -> bool {
        false
    }

    fn peek_len(&self) -> usize {
        PEEK
    }
}

/// The framing of one direction once the stream is wrapped: SASL buffers (a 4-byte length) or
/// TLS records (a 5-byte header), each counted and skipped.
#[derive(Debug, Default)]
struct WrapSide {
    hdr: [u8; 5],
    n: usize,
    skip: u64,
}

impl WrapSide {
    /// Counts the wrapped messages in `data`; false when the bytes are neither.
    fn feed(&mut self, cx: &mut Ctx<'_>, mut data: &[u8]) -> bool {
        while !data.is_empty() {
            if self.skip > 0 {
                let k = self.skip.min(data.len() as u64);
                self.skip -= k;
                data = &data[k as usize..];
                continue;
            }
            let first = if self.n > 0 { self.hdr[0] } else { data[0] };
            let need = match first {
                0x00 => 4,
                0x14..=0x17 => 5,
                _ => return false,
            };
            let k = (need - self.n).min(data.len());
            self.hdr[self.n..self.n + k].copy_from_slice(&data[..k]);
            self.n += k;
            data = &data[k..];
            if self.n < need {
                return true;
            }
            self.n = 0;
            let h = self.hdr;
            self.skip = if need == 4 {
                u64::from(u32::from_be_bytes([h[0], h[1], h[2], h[3]]))
            } else if h[1] == 3 {
                u64::from(u16::from_be_bytes([h[3], h[4]]))
            } else {
                return false;
            };
            if self.skip >= MAX_SASL_BUFFER {
                return false;
            }
            cx.count(Counter::LdapSealed);
        }
        true
    }
}

/// A record held back until the next message tells whether the session is sealed.
#[derive(Debug)]
struct Held {
    ts: Ts,
    rec: Box<Ldap>,
    /// When its answer came.
    answered: Ts,
}

/// The decoder of one LDAP connection.
#[derive(Debug, Default)]
pub struct LdapConn {
    /// The kit's framer of each direction, made with the configured cap on first use (dropped
    /// once the stream is wrapped or no longer readable).
    framers: Framers,
    s: Session,
}

/// What one LDAP connection knows besides its framing.
#[derive(Debug, Default)]
struct Session {
    ops: Ops,
    /// A SASL or sicily bind succeeded, or StartTLS was asked for: the stream may turn into
    /// wrapped or TLS bytes.
    may_wrap: bool,
    held: Option<Held>,
    /// The stream is wrapped (SASL security layer or TLS): counted, not decoded.
    wrapped: Option<[WrapSide; 2]>,
    /// The stream is no longer readable (lost after an error or a gap): ignore it.
    stopped: bool,
    /// Per direction: whether the bytes of the message over the cap being skipped are a drop
    /// ([`Counter::DropDecoderCap`], counted as they arrive: a BER length may claim far more
    /// than ever comes); a search entry or reference is not.
    dropping: [bool; 2],
}

impl Session {
    /// Emits the held record, saying whether the session turned sealed.
    fn release(&mut self, cx: &mut Ctx<'_>, sealed: bool) {
        if let Some(h) = self.held.take() {
            let mut rec = h.rec;
            if sealed {
                rec.sealed = Some(true);
            }
            cx.emit(h.ts, Body::Ldap(*rec));
        }
    }

    fn message(&mut self, cx: &mut Ctx<'_>, dir: Dir, msg: &[u8]) {
        let m = match parse::message(msg) {
            Ok((_, m)) => m,
            Err(_) => {
                cx.count(Counter::MalformedLdap);
                return;
            }
        };
        if let (Dir::ToServer, Op::ExtendedRequest { name }) = (dir, m.op) {
            if name == parse::OID_STARTTLS {
                self.may_wrap = true;
            }
        }
        if let Answer::MayWrap(ts, rec) = self.ops.message(cx, dir, m) {
            self.release(cx, false);
            self.may_wrap = true;
            self.held = Some(Held {
                ts,
                rec,
                answered: cx.now,
            });
        }
    }

    /// A message too large to buffer begins (`head` is its first bytes): an entry still counts
    /// for its search, anything else is a drop.
    fn oversize(&mut self, dir: Dir, head: &[u8]) {
        self.dropping[dir.idx()] = match parse::peek(head) {
            Some((id, tag::SEARCH_ENTRY)) => {
                self.ops.entry_skipped(id);
                false
            }
            Some((_, tag::SEARCH_REFERENCE)) => false,
            _ => true,
        };
    }

    /// The stream turned into wrapped bytes, from `rest` on in `dir`. When the other direction
    /// holds the start of a message in clear (which no wrapped buffer starts like), the stream
    /// is no longer readable.
    fn wrap(&mut self, cx: &mut Ctx<'_>, dir: Dir, other_pending: bool, rest: &[u8]) {
        self.release(cx, true);
        let mut w: [WrapSide; 2] = Default::default();
        self.stopped = other_pending || !w[dir.idx()].feed(cx, rest);
        self.wrapped = Some(w);
    }
}

impl TcpApp for LdapConn {
    fn data(&mut self, cx: &mut Ctx<'_>, dir: Dir, data: &[u8]) {
        let s = &mut self.s;
        if s.stopped || data.is_empty() {
            return;
        }
        if let Some(w) = &mut s.wrapped {
            s.stopped = !w[dir.idx()].feed(cx, data);
            return;
        }
        let cap = cx.config.max_header;
        let framers = self.framers.both(cap);
        let seen = Cell::new(false);
        let mut wrap_at: Option<Vec<u8>> = None;
        let now = cx.now;
        let mut framing = LdapFraming { seen: &seen };
        framers[dir.idx()].data(now, data, &mut framing, &mut |ev| {
            if s.stopped || wrap_at.is_some() {
                return;
            }
            match ev {
                Event::Pdu { pdu, .. } => {
                    // A message in clear: the session is not sealed.
                    seen.set(false);
                    s.release(cx, false);
                    s.message(cx, dir, pdu);
                }
                Event::Oversize { head, .. } => {
                    seen.set(false);
                    s.release(cx, false);
                    s.oversize(dir, head);
                }
                Event::Skipped { bytes } => {
                    if s.dropping[dir.idx()] {
                        cx.count_n(Counter::DropDecoderCap, bytes as u64);
                    }
                }
                Event::Bad { at } if s.may_wrap && at.first() != Some(&0x30) => {
                    wrap_at = Some(at.to_vec());
                }
                Event::Bad { .. } => {
                    cx.count(Counter::MalformedLdap);
                    s.stopped = true;
                }
                Event::Cut { .. } | Event::Resync { .. } => {}
                // The framing has no stepwise PDUs.
                Event::Part { .. } | Event::Unmet { .. } => {}
            }
        });
        if seen.get() {
            // The header of a message still incomplete (or over the cap) was read.
            s.release(cx, false);
        }
        if let Some(rest) = wrap_at {
            let other_pending = framers[dir.flip().idx()].buffered() > 0;
            s.wrap(cx, dir, other_pending, &rest);
            self.framers.clear();
        }
        if s.stopped {
            self.framers.clear();
        }
    }

    fn gap(&mut self, cx: &mut Ctx<'_>, dir: Dir, len: u64) {
        let s = &mut self.s;
        if let Some(w) = &mut s.wrapped {
            let w = &mut w[dir.idx()];
            if w.n == 0 && w.skip >= len {
                w.skip -= len;
            } else {
                s.stopped = true;
            }
            return;
        }
        if s.stopped {
            if len > 0 {
                s.release(cx, false);
            }
            return;
        }
        let cap = cx.config.max_header;
        let fr = self.framers.dir(cap, dir);
        // A gap inside a message whose length was read: the framer skips the rest of it by
        // count and the next message is read (the message is lost with the gap, which the flow
        // layer counts). A gap that swallowed a boundary, or came before a message's length:
        // LDAP has no resynchronisation marker, the stream is given up.
        fr.gap(len, &mut |_| {});
        if fr.is_lost() {
            s.stopped = true;
            self.framers.clear();
            s.release(cx, false);
        }
    }

    fn tick(&mut self, cx: &mut Ctx<'_>) {
        let s = &mut self.s;
        if s.held
            .as_ref()
            .is_some_and(|h| cx.now.saturating_sub(h.answered) >= cx.config.request_timeout)
        {
            s.release(cx, false);
        }
        s.ops.tick(cx);
    }

    fn waiting(&self) -> bool {
        self.s.held.is_some() || self.s.ops.waiting()
    }

    fn close(&mut self, cx: &mut Ctx<'_>) {
        self.s.release(cx, false);
        self.s.ops.close(cx);
    }

    fn buffered(&self) -> usize {
        self.framers.buffered() + self.s.ops.held()
    }
}

/// The decoder of one CLDAP conversation (UDP 389).
#[derive(Debug, Default)]
pub struct Cldap {
    ops: Ops,
}

impl UdpApp for Cldap {
    fn datagram(&mut self, cx: &mut Ctx<'_>, dir: Dir, data: &[u8]) {
        let mut rest = data;
        while !rest.is_empty() {
            match parse::message(rest) {
                Ok((after, m)) => {
                    if let Answer::MayWrap(ts, rec) = self.ops.message(cx, dir, m) {
                        cx.emit(ts, Body::Ldap(*rec));
                    }
                    rest = after;
                }
                Err(_) => {
                    cx.count(Counter::MalformedLdap);
                    return;
                }
            }
        }
    }

    fn tick(&mut self, cx: &mut Ctx<'_>) {
        self.ops.tick(cx);
    }

    fn waiting(&self) -> bool {
        self.ops.waiting()
    }

    fn close(&mut self, cx: &mut Ctx<'_>) {
        self.ops.close(cx);
    }
}

#[cfg(test)]
mod tests;
