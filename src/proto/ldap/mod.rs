//! LDAP on TCP 389 and 3268 and CLDAP on UDP 389: one `ldap` record per operation in clear text
//! (bind, search, modify, add, delete, modify_dn, compare, extended) with its result; the NTLM
//! or Kerberos tokens binds carry go to [`super::gssapi::inspect`] (carrier `ldap`).
//!
//! Over TCP, messages are framed by their BER length and buffered up to
//! [`super::DecoderConfig::max_header`]; larger ones (big search entries) are skipped by length
//! without buffering, a SearchResultEntry still counted for its search from its first bytes.
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

use super::gssapi::parse::{header, header_incomplete};
use super::{Ctx, Dir, TcpApp, UdpApp};
use crate::record::{Body, Ldap, Ts};
use crate::stats::Counter;
use ops::{Answer, Ops};
use parse::{tag, Op};

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
                && matches!(super::gssapi::parse::tlv(after), Ok((rest, id)) if id.tag == 0x02 && rest.first() == Some(&0x60))
        }
    }
}

#[derive(Debug, Default)]
struct Side {
    buf: Vec<u8>,
    /// Bytes of an oversized message still to skip.
    skip: u64,
    /// Whether those bytes are a drop, counted as they arrive ([`Counter::DropDecoderCap`]):
    /// a BER length may claim far more than ever comes.
    skip_counted: bool,
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
    sides: [Side; 2],
    ops: Ops,
    /// A SASL or sicily bind succeeded, or StartTLS was asked for: the stream may turn into
    /// wrapped or TLS bytes.
    may_wrap: bool,
    held: Option<Held>,
    /// The stream is wrapped (SASL security layer or TLS): counted, not decoded.
    wrapped: Option<[WrapSide; 2]>,
    /// The stream is no longer readable (lost after an error or a gap): ignore it.
    stopped: bool,
}

impl LdapConn {
    /// Emits the held record, saying whether the session turned sealed.
    fn release(&mut self, cx: &mut Ctx<'_>, sealed: bool) {
        if let Some(h) = self.held.take() {
            let mut rec = h.rec;
            if sealed {
                rec.sealed = Some(true);
            }
            cx.emit(h.ts, Body::Ldap(rec));
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

    /// The stream turned into wrapped bytes (first seen in `dir`).
    fn wrap(&mut self, cx: &mut Ctx<'_>, dir: Dir) {
        self.release(cx, true);
        let mut w: [WrapSide; 2] = Default::default();
        let other = dir.flip().idx();
        let pending = std::mem::take(&mut self.sides[other].buf);
        if !w[other].feed(cx, &pending) {
            self.stopped = true;
        }
        self.sides = Default::default();
        self.wrapped = Some(w);
    }

    /// Decodes the complete messages at the start of `view`; returns how many bytes were used.
    /// An oversized message is consumed as far as present and the rest left to skip.
    fn frames(&mut self, cx: &mut Ctx<'_>, dir: Dir, view: &[u8]) -> usize {
        let cap = cx.config.max_header;
        let mut used = 0;
        while let Some(rest) = view.get(used..).filter(|r| !r.is_empty()) {
            if rest[0] != 0x30 {
                if self.may_wrap {
                    self.wrap(cx, dir);
                } else {
                    cx.count(Counter::MalformedLdap);
                    self.stopped = true;
                }
                break;
            }
            let Some((_, hl, len)) = header(rest) else {
                if !header_incomplete(rest) {
                    cx.count(Counter::MalformedLdap);
                    self.stopped = true;
                }
                break;
            };
            // A message in clear: the session is not sealed.
            self.release(cx, false);
            let total = hl.saturating_add(len);
            if total > cap {
                if rest.len() < PEEK {
                    break;
                }
                // Too large to buffer: skip it; an entry still counts for its search, anything
                // else is a drop.
                let have = rest.len().min(total);
                let dropped = match parse::peek(rest) {
                    Some((id, tag::SEARCH_ENTRY)) => {
                        self.ops.entry_skipped(id);
                        false
                    }
                    Some((_, tag::SEARCH_REFERENCE)) => false,
                    _ => true,
                };
                // Only the bytes seen count: the rest as it arrives (a gap is no drop).
                if dropped {
                    cx.count_n(Counter::DropDecoderCap, have as u64);
                }
                let side = &mut self.sides[dir.idx()];
                side.skip = (total - have) as u64;
                side.skip_counted = dropped;
                return used + have;
            }
            if rest.len() < total {
                break;
            }
            self.message(cx, dir, &rest[..total]);
            used += total;
            if self.stopped {
                break;
            }
        }
        used
    }
}

impl TcpApp for LdapConn {
    fn data(&mut self, cx: &mut Ctx<'_>, dir: Dir, mut data: &[u8]) {
        let cap = cx.config.max_header;
        while !data.is_empty() && !self.stopped {
            if let Some(w) = &mut self.wrapped {
                if !w[dir.idx()].feed(cx, data) {
                    self.stopped = true;
                }
                break;
            }
            let side = &mut self.sides[dir.idx()];
            if side.skip > 0 {
                let k = side.skip.min(data.len() as u64);
                side.skip -= k;
                if side.skip_counted {
                    cx.count_n(Counter::DropDecoderCap, k);
                }
                data = &data[k as usize..];
                continue;
            }
            if side.buf.is_empty() {
                let used = self.frames(cx, dir, data);
                data = &data[used..];
                if self.wrapped.is_some() {
                    continue;
                }
                let side = &mut self.sides[dir.idx()];
                if !self.stopped && side.skip == 0 {
                    // An incomplete message (at most `cap` bytes, or its header is incomplete).
                    side.buf.extend_from_slice(data);
                    return;
                }
            } else {
                let room = cap.saturating_add(8).saturating_sub(side.buf.len());
                let take = data.len().min(room);
                side.buf.extend_from_slice(&data[..take]);
                data = &data[take..];
                let buf = std::mem::take(&mut side.buf);
                let used = self.frames(cx, dir, &buf);
                if let Some(w) = &mut self.wrapped {
                    if !w[dir.idx()].feed(cx, &buf[used..]) {
                        self.stopped = true;
                    }
                    continue;
                }
                let side = &mut self.sides[dir.idx()];
                if !self.stopped && side.skip == 0 {
                    side.buf = buf;
                    side.buf.drain(..used);
                }
            }
        }
        if self.stopped {
            self.sides = Default::default();
        }
    }

    fn gap(&mut self, cx: &mut Ctx<'_>, dir: Dir, len: u64) {
        if let Some(w) = &mut self.wrapped {
            let w = &mut w[dir.idx()];
            if w.n == 0 && w.skip >= len {
                w.skip -= len;
            } else {
                self.stopped = true;
            }
            return;
        }
        let side = &mut self.sides[dir.idx()];
        if side.skip >= len && side.buf.is_empty() {
            side.skip -= len;
        } else {
            // Message boundaries are lost: LDAP has no resynchronisation marker.
            self.stopped = true;
            side.buf = Vec::new();
            self.release(cx, false);
        }
    }

    fn tick(&mut self, cx: &mut Ctx<'_>) {
        if self
            .held
            .as_ref()
            .is_some_and(|h| cx.now.saturating_sub(h.answered) > cx.config.request_timeout)
        {
            self.release(cx, false);
        }
        self.ops.tick(cx);
    }

    fn close(&mut self, cx: &mut Ctx<'_>) {
        self.release(cx, false);
        self.ops.close(cx);
    }

    fn buffered(&self) -> usize {
        self.sides.iter().map(|s| s.buf.capacity()).sum::<usize>() + self.ops.held()
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
                        cx.emit(ts, Body::Ldap(rec));
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

    fn close(&mut self, cx: &mut Ctx<'_>) {
        self.ops.close(cx);
    }
}

#[cfg(test)]
mod tests;
