//! DNS over UDP and TCP: one `dns` record per query and its response.
//!
//! The pure parsers are in [`parse`]; this module keeps the per-flow state. Queries wait in a
//! per-flow list (capped by [`DecoderConfig::max_pending`](crate::proto::DecoderConfig), the
//! oldest emitted alone when over) until a response with the same transaction id arrives; an
//! unanswered query is emitted alone after `request_timeout` or when the flow closes, and a
//! response whose query was not seen is emitted alone at its own time. Query or response is
//! told by the QR bit, not by direction, so a flow whose roles were guessed wrong still pairs;
//! the record's `src` is the side that sent the query (for a lone response: the side it went
//! to), whatever the ports say.
//!
//! Queries wait in the kit's transaction table ([`crate::proto::kit::txn`]), keyed by id. Over
//! TCP each direction is a stream of messages with a two-byte length prefix, cut by the kit's
//! framer ([`crate::proto::kit::framer`]); several may share a segment and one may span many. A gap inside a message whose length is known skips to
//! the next message boundary; a gap that swallowed a boundary drops what is buffered and takes
//! the next data after the gap as a new message when its header looks like one. A zone transfer
//! (AXFR, IXFR) over TCP sends many response messages with one id: they make one record, with
//! the first [`MAX_ANSWERS`] answers and the total in `answer_count`.
//!
//! Fields: `flags` are the response's header flags (the query's when no response was seen);
//! `rcode` includes the EDNS extension when the response carries an OPT record (never rendered as
//! an answer); `answers` are the answer section as text ([`parse::write_rdata`]), `answer_count`
//! the total when not all fit or they came in several messages. An UPDATE's `updates` are its
//! update section: `name TYPE data` to add, `delete name ANY` / `delete name TYPE` /
//! `delete name TYPE data` to delete (RFC 2136 2.5); its prerequisites are not answers.
//! A message whose header or first question does not parse is counted
//! (`malformed.dns`) and skipped; a response whose header survived still completes its query
//! with the rcode. Records after a malformed one are left out of that message (also counted).
//! A TKEY query's GSS-TSIG token gives its own `kerberos` AP-REQ record ([`tkey`]).

pub mod parse;
pub mod tkey;

use self::parse::{Header, Message, Rr};
use super::kit::framer::{Event, Framer, Framing, Head, Prefix};
use super::kit::txn::{Txn, Txns};
use super::{Ctx, Dir, TcpApp, UdpApp};
use crate::record::{Body, Code, Dns, Names, Ts};
use crate::stats::Counter;

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

/// A query waiting for its response, or an exchange still gathering response messages (its
/// times are the transaction table's: `since` the query, `last` the latest message).
#[derive(Debug)]
struct Pending {
    qtype: Option<u16>,
    rec: Dns,
    /// The direction the query went (for a lone response: the other one). A response was sent
    /// by the server whatever the ports say, so this decides the record's roles.
    req: Dir,
    /// Response messages absorbed so far.
    messages: u32,
    /// Answers seen in all of them (OPT left out).
    total: u64,
    xfr: Xfr,
}

impl Pending {
    fn emit(mut self, cx: &mut Ctx<'_>, ts: Ts) {
        if self.total > self.rec.answers.len() as u64 || self.messages > 1 {
            self.rec.answer_count = Some(self.total);
        }
        cx.emit_from(ts, Body::Dns(self.rec), self.req);
    }

    /// A query (or a lone response's exchange) of message `m`, the query having gone `req`.
    fn new(m: &Message<'_>, req: Dir) -> Self {
        Pending {
            qtype: m.question.map(|q| q.qtype),
            rec: base(m),
            req,
            messages: 0,
            total: 0,
            xfr: Xfr::default(),
        }
    }

    /// Adds a response message's answers. Returns whether the exchange is complete (a zone
    /// transfer over a stream is complete at its closing SOA).
    fn absorb(&mut self, m: &Message<'_>, stream: bool) -> bool {
        self.messages += 1;
        let xfr = stream && matches!(self.qtype, Some(TYPE_AXFR | TYPE_IXFR)) && m.rcode() == 0;
        let mut done = !xfr;
        // An UPDATE's second section holds prerequisites, not answers.
        let answers = if m.header.opcode() == OPCODE_UPDATE {
            parse::Section::default()
        } else {
            m.answers
        };
        for r in m.records(answers).filter(|r| r.rtype != TYPE_OPT) {
            if xfr && !done {
                let serial = (r.rtype == TYPE_SOA)
                    .then(|| soa_serial(m.msg, &r))
                    .flatten();
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

/// The header flags a record names, by their bit in the header's flags word.
const FLAG_NAMES: [(u32, &str); 4] = [
    (0x0400, "aa"),
    (0x0200, "tc"),
    (0x0100, "rd"),
    (0x0080, "ra"),
];

fn flags(h: &Header) -> Names {
    Names::pick(&FLAG_NAMES, |bit| u32::from(h.flags) & bit != 0)
}

fn type_code(t: u16) -> Code {
    Code::new(t as i64, parse::type_name(t))
}

fn rcode_code(m: &Message<'_>) -> Code {
    let r = m.rcode();
    Code::new(r as i64, parse::rcode_name(r))
}

/// The record's fields that one message tells: id, opcode, question, flags.
fn base(m: &Message<'_>) -> Dns {
    let h = &m.header;
    let op = h.opcode();
    Dns {
        id: h.id,
        opcode: Code::new(op as i64, parse::opcode_name(op)),
        query: m.question.map(|q| q.name.to_text()),
        qtype: m.question.map(|q| type_code(q.qtype)),
        qclass: m
            .question
            .map(|q| Code::new(q.qclass as i64, parse::class_name(q.qclass))),
        rcode: None,
        flags: flags(h),
        answers: Vec::new(),
        ttls: Vec::new(),
        answer_count: None,
        updates: updates(m),
        rtt: None,
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
            parse::type_text(r.rtype, &mut s);
            if !(r.class == CLASS_ANY && r.rdata.is_empty()) {
                s.push(' ');
                parse::write_rdata(m.msg, &r, &mut s);
            }
        }
        v.push(s);
    }
    v
}

/// The queries of one flow waiting for responses, by transaction id.
#[derive(Debug, Default)]
struct Matcher {
    pending: Txns<u16, Pending>,
}

impl Matcher {
    /// One message (a datagram, or one framed message of a stream) that went `dir`.
    fn message(&mut self, cx: &mut Ctx<'_>, dir: Dir, data: &[u8], stream: bool) {
        match parse::parse_message(data) {
            Ok(m) => {
                if m.incomplete {
                    cx.count(Counter::MalformedDns);
                }
                if m.header.is_response() {
                    self.response(cx, dir, &m, stream);
                } else {
                    self.query(cx, dir, &m);
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

    fn query(&mut self, cx: &mut Ctx<'_>, dir: Dir, m: &Message<'_>) {
        if m.question.is_some_and(|q| q.qtype == tkey::TYPE_TKEY) {
            tkey::query(cx, dir, m);
        }
        self.pending.set_cap(cx.config.max_pending);
        if let Some(old) = self
            .pending
            .insert(cx.now, m.header.id, Pending::new(m, dir))
        {
            old.value.emit(cx, old.since);
        }
    }

    /// The waiting query that a response with `id` (and question type `qtype`) answers.
    fn find(&self, id: u16, qtype: Option<u16>) -> Option<usize> {
        let open = |t: &Txn<u16, Pending>| t.value.messages == 0 && t.key == id;
        self.pending
            .position(|t| open(t) && (qtype.is_none() || t.value.qtype == qtype))
            .or_else(|| self.pending.position(open))
    }

    fn response(&mut self, cx: &mut Ctx<'_>, dir: Dir, m: &Message<'_>, stream: bool) {
        let id = m.header.id;
        // The next message of a zone transfer under way.
        if let Some(i) = self
            .pending
            .position(|t| t.value.messages > 0 && t.key == id)
        {
            self.pending.touch(i, cx.now);
            let Some(mut t) = self.pending.remove(i) else {
                return;
            };
            if t.value.absorb(m, stream) {
                t.value.emit(cx, t.since);
            } else if let Some(old) = self.pending.put_back(i, t) {
                old.value.emit(cx, old.since);
            }
            return;
        }
        let (mut t, i) = match self.find(id, m.question.map(|q| q.qtype)) {
            Some(i) => match self.pending.remove(i) {
                Some(t) => (t, Some(i)),
                None => return,
            },
            None => {
                let t = Txn {
                    key: id,
                    since: cx.now,
                    last: cx.now,
                    value: Pending::new(m, dir.flip()),
                };
                (t, None)
            }
        };
        t.last = cx.now;
        let p = &mut t.value;
        p.rec.rcode = Some(rcode_code(m));
        p.rec.flags = flags(&m.header);
        if i.is_some() {
            p.rec.rtt = Some(cx.now.saturating_sub(t.since));
        }
        if t.value.absorb(m, stream) {
            t.value.emit(cx, t.since);
        } else {
            // A transfer goes on: keep it where it was.
            let at = i.unwrap_or(self.pending.len());
            if let Some(old) = self.pending.put_back(at, t) {
                old.value.emit(cx, old.since);
            }
        }
    }

    /// A response that failed to parse beyond its header: completes its query with the rcode.
    fn salvage(&mut self, cx: &mut Ctx<'_>, h: &Header) {
        let Some(i) = self.find(h.id, None) else {
            return;
        };
        let Some(mut t) = self.pending.remove(i) else {
            return;
        };
        let r = h.rcode() as u16;
        let p = &mut t.value;
        p.rec.rcode = Some(Code::new(r as i64, parse::rcode_name(r)));
        p.rec.flags = flags(h);
        p.rec.rtt = Some(cx.now.saturating_sub(t.since));
        t.value.emit(cx, t.since);
    }

    /// Emits what waited past the request timeout: unanswered queries, stalled transfers.
    fn tick(&mut self, cx: &mut Ctx<'_>) {
        for t in self.pending.expire(cx.now, cx.config.request_timeout) {
            t.value.emit(cx, t.since);
        }
        self.pending.report(cx.counters);
    }

    fn close(&mut self, cx: &mut Ctx<'_>) {
        for t in self.pending.drain() {
            t.value.emit(cx, t.since);
        }
        self.pending.report(cx.counters);
    }
}

/// A DNS UDP conversation.
#[derive(Debug, Default)]
struct DnsUdp {
    m: Matcher,
}

impl UdpApp for DnsUdp {
    fn datagram(&mut self, cx: &mut Ctx<'_>, dir: Dir, data: &[u8]) {
        self.m.message(cx, dir, data, false);
        self.m.pending.release_if_empty();
    }
    fn tick(&mut self, cx: &mut Ctx<'_>) {
        self.m.tick(cx);
        self.m.pending.release_if_empty();
    }

    fn waiting(&self) -> bool {
        !self.m.pending.is_empty()
    }
    fn close(&mut self, cx: &mut Ctx<'_>) {
        self.m.close(cx);
    }
}

/// DNS over TCP: the kit's two-byte length prefix; after a lost boundary a message start must
/// look like a DNS header.
struct DnsFraming;

impl Framing for DnsFraming {
    fn head(&mut self, d: &[u8]) -> Head {
        Prefix::Be16.head(d)
    }

    fn probe(&mut self, d: &[u8]) -> bool {
        plausible(d)
    }

    fn probe_len(&self) -> usize {
        2 + parse::HEADER_LEN
    }

    /// A message after a gap is looked for at the start of the next segment only.
    fn scan(&self) -> bool {
        false
    }
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

/// A DNS TCP connection: a framer per direction, one matcher.
#[derive(Debug)]
struct DnsTcp {
    m: Matcher,
    dirs: [Framer; 2],
}

impl Default for DnsTcp {
    fn default() -> Self {
        DnsTcp {
            m: Matcher::default(),
            dirs: [Framer::new(MAX_TCP_MESSAGE), Framer::new(MAX_TCP_MESSAGE)],
        }
    }
}

impl TcpApp for DnsTcp {
    fn data(&mut self, cx: &mut Ctx<'_>, dir: Dir, data: &[u8]) {
        let Some(fr) = self.dirs.get_mut(dir.idx()) else {
            return;
        };
        let m = &mut self.m;
        fr.data(cx.now, data, &mut DnsFraming, &mut |ev| match ev {
            Event::Pdu { pdu, .. } => m.message(cx, dir, pdu.get(2..).unwrap_or_default(), true),
            // Data passed over while looking for a message start after a gap.
            Event::Resync { .. } | Event::Bad { .. } => cx.count(Counter::MalformedDns),
            Event::Skipped { bytes } => cx.count_n(Counter::DropDecoderCap, bytes as u64),
            Event::Oversize { .. } | Event::Cut { .. } => {}
            // The framing has no stepwise PDUs.
            Event::Part { .. } | Event::Unmet { .. } => {}
        });
    }

    fn gap(&mut self, _cx: &mut Ctx<'_>, dir: Dir, len: u64) {
        if let Some(fr) = self.dirs.get_mut(dir.idx()) {
            // A message a gap cut is lost with the gap (counted by the flow layer).
            fr.gap(len, &mut |_| {});
        }
    }

    fn tick(&mut self, cx: &mut Ctx<'_>) {
        self.m.tick(cx);
    }

    fn waiting(&self) -> bool {
        !self.m.pending.is_empty()
    }

    fn close(&mut self, cx: &mut Ctx<'_>) {
        for fr in &mut self.dirs {
            fr.close(&mut |ev| {
                if let Event::Cut { .. } = ev {
                    // A message cut short by the end of the connection.
                    cx.count(Counter::MalformedDns);
                }
            });
        }
        self.m.close(cx);
    }

    fn buffered(&self) -> usize {
        self.dirs.iter().map(|f| f.buffered()).sum()
    }
}

#[cfg(test)]
mod tests;
