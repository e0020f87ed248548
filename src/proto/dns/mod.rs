//! DNS over UDP and TCP: one `dns` record per query and its response.
//!
//! The pure parsers are in [`parse`]; this module keeps the per-flow state. Queries wait in a
//! per-flow list (capped by [`DecoderConfig::max_pending`](crate::proto::DecoderConfig), the
//! oldest emitted alone when over) until a response with the same transaction id arrives; an
//! unanswered query is emitted alone after `request_timeout` or when the flow closes, and a
//! response whose query was not seen is emitted alone at its own time. Query or response is
//! told by the QR bit, not by direction, so a flow whose roles were guessed wrong still pairs.
//!
//! Over TCP each direction is a stream of messages with a two-byte length prefix; several may
//! share a segment and one may span many. A gap inside a message whose length is known skips to
//! the next message boundary; a gap that swallowed a boundary drops what is buffered and takes
//! the next data after the gap as a new message when its header looks like one. A zone transfer
//! (AXFR, IXFR) over TCP sends many response messages with one id: they make one record, with
//! the first [`MAX_ANSWERS`] answers and the total in `answer_count`.

pub mod parse;

use self::parse::{Header, Message, Rr};
use super::{Ctx, Dir, TcpApp, UdpApp};
use crate::record::{Body, Code, Dns, Ts};
use crate::stats::Counter;
use std::collections::VecDeque;
use std::fmt::Write as _;

/// Answers (and TTLs) kept in a record; `answer_count` tells the total when there were more.
pub const MAX_ANSWERS: usize = 64;
/// Records of an UPDATE's update section rendered in `updates`.
pub const MAX_UPDATES: usize = 64;
/// Largest TCP message buffered: the two-byte length prefix and the longest message it allows.
pub const MAX_TCP_MESSAGE: usize = 65535 + 2;

const OPCODE_UPDATE: u8 = 5;
const TYPE_SOA: u16 = 6;
const TYPE_OPT: u16 = 41;
const TYPE_IXFR: u16 = 251;
const TYPE_AXFR: u16 = 252;
const TYPE_ANY: u16 = 255;
const CLASS_NONE: u16 = 254;
const CLASS_ANY: u16 = 255;

/// A decoder for a DNS TCP connection.
pub fn tcp() -> Box<dyn TcpApp> {
    Box::new(DnsTcp::default())
}

/// A decoder for a DNS UDP conversation.
pub fn udp() -> Box<dyn UdpApp> {
    Box::new(DnsUdp::default())
}

/// Where a zone transfer stands.
#[derive(Debug, Default)]
struct Xfr {
    /// Serial of the first answer's SOA.
    first_serial: Option<u32>,
    /// SOA records seen after the first.
    soas: u32,
}

/// A query waiting for its response, or an exchange still gathering response messages.
#[derive(Debug)]
struct Pending {
    ts: Ts,
    /// Time of the last message of the exchange.
    last: Ts,
    qtype: Option<u16>,
    rec: Box<Dns>,
    /// Response messages absorbed so far.
    messages: u32,
    /// Answers seen in all of them (OPT left out).
    total: u64,
    xfr: Xfr,
}

impl Pending {
    fn emit(mut self, cx: &mut Ctx<'_>) {
        if self.total > self.rec.answers.len() as u64 || self.messages > 1 {
            self.rec.answer_count = Some(self.total);
        }
        cx.emit(self.ts, Body::Dns(self.rec));
    }

    /// Adds a response message's answers. Returns whether the exchange is complete (a zone
    /// transfer over a stream is complete at its closing SOA).
    fn absorb(&mut self, m: &Message<'_>, stream: bool, now: Ts) -> bool {
        self.messages += 1;
        self.last = now;
        let xfr = stream && matches!(self.qtype, Some(TYPE_AXFR | TYPE_IXFR)) && m.rcode() == 0;
        let mut done = !xfr;
        for r in m.records(m.answers).filter(|r| r.rtype != TYPE_OPT) {
            if xfr && !done {
                let serial = (r.rtype == TYPE_SOA).then(|| soa_serial(m.msg, &r)).flatten();
                if self.total == 0 {
                    // The first answer of a transfer is the zone's SOA; anything else ends it.
                    self.xfr.first_serial = serial;
                    done = serial.is_none();
                } else if r.rtype == TYPE_SOA {
                    self.xfr.soas += 1;
                    // AXFR ends at the second SOA. IXFR (RFC 1995): SOAs after the first come
                    // in old/new pairs; the new serial where an old one would be ends it (this
                    // also covers an AXFR-style reply to IXFR).
                    done = self.qtype == Some(TYPE_AXFR)
                        || (self.xfr.soas % 2 == 1 && serial == self.xfr.first_serial);
                }
            }
            self.total += 1;
            if self.rec.answers.len() < MAX_ANSWERS {
                let mut s = String::with_capacity(24);
                parse::write_rdata(m.msg, &r, &mut s);
                self.rec.answers.push(s);
                self.rec.ttls.push(r.ttl);
            }
        }
        // A reply of a single SOA (IXFR: up to date) or nothing ends a transfer at once.
        done || (self.messages == 1 && self.total <= 1)
    }
}

/// Serial of an SOA record.
fn soa_serial(msg: &[u8], r: &Rr<'_>) -> Option<u32> {
    let i = msg.get(r.rdata_off..)?;
    let (i, _) = parse::name(msg, i).ok()?;
    let (i, _) = parse::name(msg, i).ok()?;
    let b = i.get(..4)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn flags(h: &Header) -> Vec<&'static str> {
    let mut f = Vec::new();
    for (set, name) in [(h.aa(), "aa"), (h.tc(), "tc"), (h.rd(), "rd"), (h.ra(), "ra")] {
        if set {
            f.push(name);
        }
    }
    f
}

fn type_code(t: u16) -> Code {
    Code::new(t as i64, parse::type_name(t))
}

fn rcode_code(m: &Message<'_>) -> Code {
    let r = m.rcode();
    Code::new(r as i64, parse::rcode_name(r))
}

/// The record's fields that one message tells: id, opcode, question, flags.
fn base(m: &Message<'_>) -> Box<Dns> {
    let h = &m.header;
    let op = h.opcode();
    Box::new(Dns {
        id: h.id,
        opcode: Code::new(op as i64, parse::opcode_name(op)),
        query: m.question.map(|q| q.name.to_text()),
        qtype: m.question.map(|q| type_code(q.qtype)),
        qclass: m.question.map(|q| Code::new(q.qclass as i64, parse::class_name(q.qclass))),
        rcode: None,
        flags: flags(h),
        answers: Vec::new(),
        ttls: Vec::new(),
        answer_count: None,
        updates: updates(m),
        rtt: None,
    })
}

fn type_text(t: u16, out: &mut String) {
    match parse::type_name(t) {
        Some(n) => out.push_str(n),
        None => {
            let _ = write!(out, "TYPE{t}");
        }
    }
}

/// The update section of an UPDATE (RFC 2136 2.5) as text: an addition is `name TYPE data`;
/// a deletion is `delete name ANY` (all RRsets of a name), `delete name TYPE` (one RRset) or
/// `delete name TYPE data` (one record).
fn updates(m: &Message<'_>) -> Vec<String> {
    if m.header.opcode() != OPCODE_UPDATE {
        return Vec::new();
    }
    let mut v = Vec::new();
    for r in m.records(m.authority).take(MAX_UPDATES) {
        let mut s = String::with_capacity(48);
        let delete = matches!(r.class, CLASS_ANY | CLASS_NONE);
        if delete {
            s.push_str("delete ");
        }
        r.name.write(&mut s);
        s.push(' ');
        if r.class == CLASS_ANY && r.rtype == TYPE_ANY {
            s.push_str("ANY");
        } else {
            type_text(r.rtype, &mut s);
            if !(r.class == CLASS_ANY && r.rdata.is_empty()) {
                s.push(' ');
                parse::write_rdata(m.msg, &r, &mut s);
            }
        }
        v.push(s);
    }
    v
}

/// The queries of one flow waiting for responses.
#[derive(Debug, Default)]
struct Matcher {
    pending: VecDeque<Pending>,
}

impl Matcher {
    /// One message (a datagram, or one framed message of a stream).
    fn message(&mut self, cx: &mut Ctx<'_>, data: &[u8], stream: bool) {
        match parse::parse_message(data) {
            Ok(m) => {
                if m.incomplete {
                    cx.count(Counter::MalformedDns);
                }
                if m.header.is_response() {
                    self.response(cx, &m, stream);
                } else {
                    self.query(cx, &m);
                }
            }
            Err(_) => {
                cx.count(Counter::MalformedDns);
                // A response whose header survived still answers its query: keep its rcode.
                if let Ok((_, h)) = parse::header(data) {
                    if h.is_response() {
                        self.salvage(cx, &h);
                    }
                }
            }
        }
    }

    fn query(&mut self, cx: &mut Ctx<'_>, m: &Message<'_>) {
        if self.pending.len() >= cx.config.max_pending.max(1) {
            if let Some(old) = self.pending.pop_front() {
                old.emit(cx);
            }
        }
        self.pending.push_back(Pending {
            ts: cx.now,
            last: cx.now,
            qtype: m.question.map(|q| q.qtype),
            rec: base(m),
            messages: 0,
            total: 0,
            xfr: Xfr::default(),
        });
    }

    /// The waiting query that a response with `id` (and question type `qtype`) answers.
    fn find(&self, id: u16, qtype: Option<u16>) -> Option<usize> {
        let open = |p: &Pending| p.messages == 0 && p.rec.id == id;
        self.pending
            .iter()
            .position(|p| open(p) && (qtype.is_none() || p.qtype == qtype))
            .or_else(|| self.pending.iter().position(open))
    }

    fn response(&mut self, cx: &mut Ctx<'_>, m: &Message<'_>, stream: bool) {
        let id = m.header.id;
        // The next message of a zone transfer under way.
        if let Some(i) = self.pending.iter().position(|p| p.messages > 0 && p.rec.id == id) {
            let done = self.pending.get_mut(i).is_some_and(|p| p.absorb(m, stream, cx.now));
            if done {
                if let Some(p) = self.pending.remove(i) {
                    p.emit(cx);
                }
            }
            return;
        }
        let (mut p, i) = match self.find(id, m.question.map(|q| q.qtype)) {
            Some(i) => match self.pending.remove(i) {
                Some(p) => (p, Some(i)),
                None => return,
            },
            None => {
                let p = Pending {
                    ts: cx.now,
                    last: cx.now,
                    qtype: m.question.map(|q| q.qtype),
                    rec: base(m),
                    messages: 0,
                    total: 0,
                    xfr: Xfr::default(),
                };
                (p, None)
            }
        };
        p.rec.rcode = Some(rcode_code(m));
        p.rec.flags = flags(&m.header);
        if i.is_some() {
            p.rec.rtt = Some(cx.now.saturating_sub(p.ts));
        }
        if p.absorb(m, stream, cx.now) {
            p.emit(cx);
        } else {
            // A transfer goes on: keep it where it was.
            let at = i.unwrap_or(self.pending.len()).min(self.pending.len());
            self.pending.insert(at, p);
        }
    }

    /// A response that failed to parse beyond its header: completes its query with the rcode.
    fn salvage(&mut self, cx: &mut Ctx<'_>, h: &Header) {
        let Some(i) = self.find(h.id, None) else { return };
        let Some(mut p) = self.pending.remove(i) else { return };
        let r = h.rcode() as u16;
        p.rec.rcode = Some(Code::new(r as i64, parse::rcode_name(r)));
        p.rec.flags = flags(h);
        p.rec.rtt = Some(cx.now.saturating_sub(p.ts));
        p.emit(cx);
    }

    /// Emits what waited past the request timeout: unanswered queries, stalled transfers.
    fn tick(&mut self, cx: &mut Ctx<'_>) {
        let timeout = cx.config.request_timeout;
        let now = cx.now;
        if !self.pending.iter().any(|p| now.saturating_sub(p.last) >= timeout) {
            return;
        }
        let mut keep = VecDeque::with_capacity(self.pending.len());
        for p in self.pending.drain(..) {
            if now.saturating_sub(p.last) >= timeout {
                p.emit(cx);
            } else {
                keep.push_back(p);
            }
        }
        self.pending = keep;
    }

    fn close(&mut self, cx: &mut Ctx<'_>) {
        for p in self.pending.drain(..) {
            p.emit(cx);
        }
    }
}

/// A DNS UDP conversation.
#[derive(Debug, Default)]
struct DnsUdp {
    m: Matcher,
}

impl UdpApp for DnsUdp {
    fn datagram(&mut self, cx: &mut Ctx<'_>, _dir: Dir, data: &[u8]) {
        self.m.message(cx, data, false);
    }
    fn tick(&mut self, cx: &mut Ctx<'_>) {
        self.m.tick(cx);
    }
    fn close(&mut self, cx: &mut Ctx<'_>) {
        self.m.close(cx);
    }
}

/// The framing state of one TCP direction.
#[derive(Debug, Default)]
struct Stream {
    /// A message cut by the segment boundary: its length prefix (or part of it) and bytes so far.
    /// Never longer than [`MAX_TCP_MESSAGE`].
    buf: Vec<u8>,
    /// Bytes still to skip of a message a gap cut (its end is known).
    skip: usize,
    /// A gap swallowed a message boundary: the next data is taken as a new message if its
    /// header looks like one.
    lost: bool,
}

fn prefix(b: &[u8]) -> Option<usize> {
    Some(u16::from_be_bytes([*b.first()?, *b.get(1)?]) as usize)
}

/// Whether `d` (after a lost boundary) starts like a length-prefixed DNS message.
fn plausible(d: &[u8]) -> bool {
    let (Some(len), Ok((_, h))) = (prefix(d), parse::header(d.get(2..).unwrap_or_default())) else {
        // Too short to tell: give it the benefit of the doubt.
        return d.len() < 2 + parse::HEADER_LEN;
    };
    let min = parse::HEADER_LEN
        + 5 * h.qdcount as usize
        + 11 * (h.ancount as usize + h.nscount as usize + h.arcount as usize);
    parse::opcode_name(h.opcode()).is_some() && h.qdcount <= 1 && min <= len
}

/// A DNS TCP connection.
#[derive(Debug, Default)]
struct DnsTcp {
    m: Matcher,
    dirs: [Stream; 2],
}

impl TcpApp for DnsTcp {
    fn data(&mut self, cx: &mut Ctx<'_>, dir: Dir, data: &[u8]) {
        let Some(st) = self.dirs.get_mut(dir.idx()) else { return };
        let m = &mut self.m;
        let mut d = data;
        if st.skip > 0 {
            let n = st.skip.min(d.len());
            st.skip -= n;
            d = d.get(n..).unwrap_or_default();
        }
        if d.is_empty() {
            return;
        }
        if st.lost {
            if !plausible(d) {
                // Not a message start: drop this data and wait for the next.
                cx.count(Counter::MalformedDns);
                return;
            }
            st.lost = false;
        }
        if !st.buf.is_empty() {
            if st.buf.len() < 2 {
                let n = (2 - st.buf.len()).min(d.len());
                st.buf.extend_from_slice(d.get(..n).unwrap_or_default());
                d = d.get(n..).unwrap_or_default();
            }
            let Some(len) = prefix(&st.buf) else { return };
            let need = 2 + len;
            let n = need.saturating_sub(st.buf.len()).min(d.len());
            st.buf.extend_from_slice(d.get(..n).unwrap_or_default());
            d = d.get(n..).unwrap_or_default();
            if st.buf.len() < need {
                return;
            }
            m.message(cx, st.buf.get(2..).unwrap_or_default(), true);
            st.buf.clear();
            if st.buf.capacity() > 4096 {
                st.buf = Vec::new();
            }
        }
        while let Some(len) = prefix(d) {
            let Some(msg) = d.get(2..2 + len) else { break };
            m.message(cx, msg, true);
            d = d.get(2 + len..).unwrap_or_default();
        }
        // Less than one message is left: at most MAX_TCP_MESSAGE - 1 bytes.
        st.buf.extend_from_slice(d);
    }

    fn gap(&mut self, _cx: &mut Ctx<'_>, dir: Dir, len: u64) {
        let Some(st) = self.dirs.get_mut(dir.idx()) else { return };
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        if st.skip > 0 {
            // Still inside the message a previous gap cut.
            match st.skip.checked_sub(len) {
                Some(left) => st.skip = left,
                None => {
                    st.skip = 0;
                    st.lost = true;
                }
            }
            return;
        }
        match prefix(&st.buf) {
            // Inside a message of known length: its end is the next boundary.
            Some(n) => {
                let remaining = (2 + n).saturating_sub(st.buf.len());
                match remaining.checked_sub(len) {
                    Some(left) => st.skip = left,
                    None => st.lost = true,
                }
            }
            None => st.lost = true,
        }
        st.buf.clear();
    }

    fn tick(&mut self, cx: &mut Ctx<'_>) {
        self.m.tick(cx);
    }

    fn close(&mut self, cx: &mut Ctx<'_>) {
        for st in &mut self.dirs {
            if !st.buf.is_empty() {
                // A message cut short by the end of the connection.
                cx.count(Counter::MalformedDns);
                st.buf = Vec::new();
            }
        }
        self.m.close(cx);
    }

    fn buffered(&self) -> usize {
        self.dirs.iter().map(|s| s.buf.len()).sum()
    }
}
