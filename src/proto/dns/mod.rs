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

pub mod parse;

use self::parse::{Header, Message, Rr};
use super::{Ctx, Dir, TcpApp, UdpApp};
use crate::record::{Body, Code, Dns, Ts};
use crate::stats::Counter;
use std::collections::VecDeque;

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
    fn emit(mut self, cx: &mut Ctx<'_>) {
        if self.total > self.rec.answers.len() as u64 || self.messages > 1 {
            self.rec.answer_count = Some(self.total);
        }
        cx.emit_from(self.ts, Body::Dns(self.rec), self.req);
    }

    /// Adds a response message's answers. Returns whether the exchange is complete (a zone
    /// transfer over a stream is complete at its closing SOA).
    fn absorb(&mut self, m: &Message<'_>, stream: bool, now: Ts) -> bool {
        self.messages += 1;
        self.last = now;
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

fn flags(h: &Header) -> Vec<&'static str> {
    let mut f = Vec::new();
    for (set, name) in [
        (h.aa(), "aa"),
        (h.tc(), "tc"),
        (h.rd(), "rd"),
        (h.ra(), "ra"),
    ] {
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
    })
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

/// The queries of one flow waiting for responses.
#[derive(Debug, Default)]
struct Matcher {
    pending: VecDeque<Pending>,
}

impl Matcher {
    /// One message (a datagram, or one framed message of a stream).
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
            req: dir,
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

    fn response(&mut self, cx: &mut Ctx<'_>, dir: Dir, m: &Message<'_>, stream: bool) {
        let id = m.header.id;
        // The next message of a zone transfer under way.
        if let Some(i) = self
            .pending
            .iter()
            .position(|p| p.messages > 0 && p.rec.id == id)
        {
            let done = self
                .pending
                .get_mut(i)
                .is_some_and(|p| p.absorb(m, stream, cx.now));
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
                    req: dir.flip(),
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
        let Some(i) = self.find(h.id, None) else {
            return;
        };
        let Some(mut p) = self.pending.remove(i) else {
            return;
        };
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
        if !self
            .pending
            .iter()
            .any(|p| now.saturating_sub(p.last) >= timeout)
        {
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
    fn datagram(&mut self, cx: &mut Ctx<'_>, dir: Dir, data: &[u8]) {
        self.m.message(cx, dir, data, false);
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
        let Some(st) = self.dirs.get_mut(dir.idx()) else {
            return;
        };
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
            m.message(cx, dir, st.buf.get(2..).unwrap_or_default(), true);
            st.buf.clear();
            if st.buf.capacity() > 4096 {
                st.buf = Vec::new();
            }
        }
        while let Some(len) = prefix(d) {
            let Some(msg) = d.get(2..2 + len) else { break };
            m.message(cx, dir, msg, true);
            d = d.get(2 + len..).unwrap_or_default();
        }
        // Less than one message is left: at most MAX_TCP_MESSAGE - 1 bytes.
        st.buf.extend_from_slice(d);
    }

    fn gap(&mut self, _cx: &mut Ctx<'_>, dir: Dir, len: u64) {
        let Some(st) = self.dirs.get_mut(dir.idx()) else {
            return;
        };
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

#[cfg(test)]
mod tests {
    use super::parse::lab::{self, hex, msg, soa, AXFR_TCP, BENIGN, NX};
    use super::*;
    use crate::proto::testutil::Harness;
    use crate::record::{Record, Transport, NS};

    fn dns(r: &Record) -> &Dns {
        match &r.body {
            Body::Dns(d) => d,
            b => panic!("not dns: {b:?}"),
        }
    }

    fn udp_feed(h: &mut Harness, d: &mut dyn UdpApp, frames: &[(u64, &str)]) {
        for (ts, p) in frames {
            let b = hex(p);
            d.datagram(&mut h.cx(*ts), Dir::ToServer, &b);
        }
    }

    fn name(s: &'static str) -> Option<Code> {
        Some(Code::Name(s))
    }

    /// Query, qtype, rcode, answers, TTLs.
    type Want = (
        &'static str,
        &'static str,
        &'static str,
        &'static [&'static str],
        &'static [u32],
    );

    #[test]
    fn lab_udp_exchanges_are_exact() {
        let mut h = Harness::new(Transport::Udp, 53);
        let mut d = udp();
        udp_feed(&mut h, d.as_mut(), BENIGN);
        assert_eq!(h.out.len(), 14);
        const SOA: &str = "dc1.lab.example hostmaster.lab.example 2 900 600 86400 3600";
        let want: [Want; 14] = [
            ("dc1.lab.example", "A", "NOERROR", &["10.99.0.1"], &[900]),
            (
                "_ldap._tcp.lab.example",
                "SRV",
                "NOERROR",
                &["0 100 389 dc1.lab.example"],
                &[900],
            ),
            (
                "_kerberos._tcp.lab.example",
                "SRV",
                "NOERROR",
                &["0 100 88 dc1.lab.example"],
                &[900],
            ),
            (
                "_kerberos._udp.lab.example",
                "SRV",
                "NOERROR",
                &["0 100 88 dc1.lab.example"],
                &[900],
            ),
            (
                "_kpasswd._tcp.lab.example",
                "SRV",
                "NOERROR",
                &["0 100 464 dc1.lab.example"],
                &[900],
            ),
            (
                "_gc._tcp.lab.example",
                "SRV",
                "NOERROR",
                &["0 100 3268 dc1.lab.example"],
                &[900],
            ),
            (
                "_ldap._tcp.dc._msdcs.lab.example",
                "SRV",
                "NOERROR",
                &["0 100 389 dc1.lab.example"],
                &[900],
            ),
            (
                "_ldap._tcp.Default-First-Site-Name._sites.dc._msdcs.lab.example",
                "SRV",
                "NOERROR",
                &["0 100 389 dc1.lab.example"],
                &[900],
            ),
            ("lab.example", "SOA", "NOERROR", &[SOA], &[3600]),
            ("lab.example", "A", "NOERROR", &["10.99.0.1"], &[900]),
            ("ws01.lab.example", "A", "NOERROR", &["10.99.0.2"], &[900]),
            (
                "1.0.99.10.in-addr.arpa",
                "PTR",
                "NOERROR",
                &["dc1.lab.example"],
                &[900],
            ),
            (
                "2.0.99.10.in-addr.arpa",
                "PTR",
                "NOERROR",
                &["ws01.lab.example"],
                &[900],
            ),
            ("wpad.lab.example", "A", "NXDOMAIN", &[], &[]),
        ];
        for (k, (r, w)) in h.out.iter().zip(want).enumerate() {
            let x = dns(r);
            assert_eq!(r.ts, BENIGN[2 * k].0, "{k}");
            assert_eq!(x.rtt, Some(BENIGN[2 * k + 1].0 - BENIGN[2 * k].0), "{k}");
            assert_eq!(x.query.as_deref(), Some(w.0), "{k}");
            assert_eq!(
                (x.qtype, x.qclass, x.rcode),
                (name(w.1), name("IN"), name(w.2)),
                "{k}"
            );
            assert_eq!(x.answers, w.3, "{k}");
            assert_eq!(x.ttls, w.4, "{k}");
            assert_eq!(
                (x.opcode, &x.flags[..], x.answer_count),
                (Code::Name("QUERY"), &["aa", "rd"][..], None)
            );
            assert!(x.updates.is_empty());
        }
        assert_eq!(dns(&h.out[0]).id, 0xf138);
        assert_eq!(dns(&h.out[0]).rtt, Some(431_000));
        assert_eq!(h.counters.get(Counter::MalformedDns), 0);
        let j = serde_json::to_value(&h.out[1]).unwrap();
        assert_eq!(j["answers"][0], "0 100 389 dc1.lab.example");
        assert_eq!(j["rtt"], 0.000182);
        assert!(j.get("answer_count").is_none() && j.get("updates").is_none());
    }

    #[test]
    fn nxdomain_and_lone_response_and_unanswered_query() {
        let mut h = Harness::new(Transport::Udp, 53);
        let mut d = udp();
        // The response alone: its own time, no rtt.
        udp_feed(&mut h, d.as_mut(), &NX[1..]);
        assert_eq!(h.out.len(), 1);
        let x = dns(&h.out[0]);
        assert_eq!(h.out[0].ts, NX[1].0);
        assert_eq!(
            (x.id, x.query.as_deref(), x.rcode, x.rtt),
            (0xb9c7, Some("host-001.lab.example"), name("NXDOMAIN"), None)
        );
        assert_eq!(x.flags, ["aa", "rd"]);
        // The query alone: nothing until the timeout, then the query without rcode.
        udp_feed(&mut h, d.as_mut(), &NX[..1]);
        let t0 = NX[0].0;
        d.tick(&mut h.cx(t0 + 29 * NS));
        assert_eq!(h.out.len(), 1);
        d.tick(&mut h.cx(t0 + 30 * NS));
        assert_eq!(h.out.len(), 2);
        let x = dns(&h.out[1]);
        assert_eq!(h.out[1].ts, t0);
        assert_eq!(
            (x.query.as_deref(), x.qtype, x.rcode, x.rtt),
            (Some("host-001.lab.example"), name("A"), None, None)
        );
        assert_eq!(x.flags, ["rd"]);
        // At close.
        udp_feed(&mut h, d.as_mut(), &BENIGN[..1]);
        d.close(&mut h.cx(t0 + 31 * NS));
        assert_eq!(h.out.len(), 3);
        assert_eq!(
            (dns(&h.out[2]).query.as_deref(), dns(&h.out[2]).rcode),
            (Some("dc1.lab.example"), None)
        );
        d.close(&mut h.cx(t0 + 32 * NS));
        assert_eq!(h.out.len(), 3);
    }

    #[test]
    fn pending_is_capped_oldest_first() {
        let mut h = Harness::new(Transport::Udp, 53);
        h.config.max_pending = 2;
        let mut d = udp();
        let queries: Vec<(u64, &str)> = BENIGN.iter().step_by(2).take(3).copied().collect();
        udp_feed(&mut h, d.as_mut(), &queries);
        assert_eq!(h.out.len(), 1);
        assert_eq!((dns(&h.out[0]).id, dns(&h.out[0]).rcode), (0xf138, None));
        // The two still waiting pair with their responses, out of order.
        udp_feed(&mut h, d.as_mut(), &[BENIGN[5], BENIGN[3]]);
        let ids: Vec<(u16, Option<Code>)> =
            h.out.iter().map(|r| (dns(r).id, dns(r).rcode)).collect();
        assert_eq!(
            ids,
            [
                (0xf138, None),
                (0xc554, name("NOERROR")),
                (0x85cc, name("NOERROR"))
            ]
        );
    }

    #[test]
    fn malformed_response_after_a_good_query_still_emits_it() {
        let mut h = Harness::new(Transport::Udp, 53);
        let mut d = udp();
        udp_feed(&mut h, d.as_mut(), &NX[..1]);
        // The response cut inside its question: the header survives.
        let r = hex(NX[1].1);
        d.datagram(&mut h.cx(NX[1].0), Dir::ToClient, &r[..20]);
        assert_eq!(h.counters.get(Counter::MalformedDns), 1);
        assert_eq!(h.out.len(), 1);
        let x = dns(&h.out[0]);
        assert_eq!(
            (x.query.as_deref(), x.rcode, x.rtt),
            (
                Some("host-001.lab.example"),
                name("NXDOMAIN"),
                Some(470_000)
            )
        );
        // Too short for a header: counted and dropped; junk queries too.
        d.datagram(&mut h.cx(NX[1].0), Dir::ToClient, &r[..11]);
        d.datagram(
            &mut h.cx(NX[1].0),
            Dir::ToServer,
            &[0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1],
        );
        assert_eq!(h.counters.get(Counter::MalformedDns), 3);
        d.close(&mut h.cx(NX[1].0));
        assert_eq!(h.out.len(), 1);
        // Every truncation of a real response: never a panic, one record per exchange.
        for n in 0..r.len() {
            let mut h = Harness::new(Transport::Udp, 53);
            let mut d = udp();
            udp_feed(&mut h, d.as_mut(), &NX[..1]);
            d.datagram(&mut h.cx(NX[1].0), Dir::ToClient, &r[..n]);
            d.close(&mut h.cx(NX[1].0));
            assert_eq!(h.out.len(), 1, "{n}");
            let x = dns(&h.out[0]);
            assert_eq!(x.rcode, if n < 12 { None } else { name("NXDOMAIN") }, "{n}");
            assert_eq!(
                h.counters.get(Counter::MalformedDns),
                (n < r.len()) as u64,
                "{n}"
            );
        }
    }

    #[test]
    fn answer_with_a_compression_loop_keeps_what_parsed() {
        let mut h = Harness::new(Transport::Udp, 53);
        let mut d = udp();
        udp_feed(&mut h, d.as_mut(), &BENIGN[..1]);
        let mut r = hex(BENIGN[1].1);
        r[34] = 33; // the answer's name points to itself
        d.datagram(&mut h.cx(BENIGN[1].0), Dir::ToClient, &r);
        assert_eq!(h.counters.get(Counter::MalformedDns), 1);
        let x = dns(&h.out[0]);
        assert_eq!(
            (x.query.as_deref(), x.rcode, x.answers.len()),
            (Some("dc1.lab.example"), name("NOERROR"), 0)
        );
    }

    fn tcp_exchange(splits: &[usize]) -> Harness {
        let mut h = Harness::new(Transport::Tcp, 53);
        let mut d = tcp();
        for (k, (ts, p)) in AXFR_TCP.iter().enumerate() {
            let b = hex(p);
            let dir = if k == 0 { Dir::ToServer } else { Dir::ToClient };
            let mut at = 0;
            for &s in splits.iter().chain([&b.len()]) {
                let s = s.min(b.len()).max(at);
                d.data(&mut h.cx(*ts), dir, &b[at..s]);
                at = s;
            }
        }
        d.close(&mut h.cx(AXFR_TCP[1].0));
        h
    }

    fn check_refused_axfr(h: &Harness) {
        assert_eq!(h.out.len(), 1);
        let x = dns(&h.out[0]);
        assert_eq!(h.out[0].ts, AXFR_TCP[0].0);
        assert_eq!(
            (x.id, x.query.as_deref(), x.qtype, x.rcode),
            (0xcb44, Some("lab.example"), name("AXFR"), name("NOERROR"))
        );
        assert_eq!(
            (&x.flags[..], x.answers.len(), x.answer_count),
            (&["aa"][..], 0, None)
        );
        assert_eq!(x.rtt, Some(544_000));
        assert_eq!(h.counters.get(Counter::MalformedDns), 0);
    }

    #[test]
    fn tcp_split_at_every_byte() {
        check_refused_axfr(&tcp_exchange(&[]));
        let n = hex(AXFR_TCP[1].1).len();
        for s in 0..=n {
            check_refused_axfr(&tcp_exchange(&[s]));
            check_refused_axfr(&tcp_exchange(&[s, s + 1, s + 3]));
        }
        // One byte at a time.
        let all: Vec<usize> = (0..n).collect();
        check_refused_axfr(&tcp_exchange(&all));
    }

    /// Length-prefixes a message.
    fn framed(m: &[u8]) -> Vec<u8> {
        [&(m.len() as u16).to_be_bytes()[..], m].concat()
    }

    #[test]
    fn several_messages_in_one_segment() {
        let mut h = Harness::new(Transport::Tcp, 53);
        let mut d = tcp();
        let t = BENIGN[0].0;
        let qs: Vec<u8> = BENIGN
            .iter()
            .step_by(2)
            .take(3)
            .flat_map(|(_, p)| framed(&hex(p)))
            .collect();
        let rs: Vec<u8> = BENIGN
            .iter()
            .skip(1)
            .step_by(2)
            .take(3)
            .flat_map(|(_, p)| framed(&hex(p)))
            .collect();
        d.data(&mut h.cx(t), Dir::ToServer, &qs);
        // The responses, the third cut in two.
        d.data(&mut h.cx(t + 1000), Dir::ToClient, &rs[..rs.len() - 5]);
        assert_eq!(h.out.len(), 2);
        assert_eq!(d.buffered(), hex(BENIGN[5].1).len() + 2 - 5);
        d.data(&mut h.cx(t + 2000), Dir::ToClient, &rs[rs.len() - 5..]);
        let got: Vec<(&str, &str, u64)> = h
            .out
            .iter()
            .map(|r| {
                (
                    dns(r).query.as_deref().unwrap(),
                    dns(r).answers[0].as_str(),
                    dns(r).rtt.unwrap(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("dc1.lab.example", "10.99.0.1", 1000),
                ("_ldap._tcp.lab.example", "0 100 389 dc1.lab.example", 1000),
                (
                    "_kerberos._tcp.lab.example",
                    "0 100 88 dc1.lab.example",
                    2000
                )
            ]
        );
        assert_eq!(
            (d.buffered(), h.counters.get(Counter::MalformedDns)),
            (0, 0)
        );
    }

    #[test]
    fn tcp_gaps_resynchronise() {
        let t = BENIGN[0].0;
        let q: Vec<Vec<u8>> = BENIGN
            .iter()
            .step_by(2)
            .take(3)
            .map(|(_, p)| framed(&hex(p)))
            .collect();
        // A gap inside a message of known length: skip to its end, go on with the next.
        let mut h = Harness::new(Transport::Tcp, 53);
        let mut d = tcp();
        d.data(&mut h.cx(t), Dir::ToServer, &q[0][..10]);
        d.gap(&mut h.cx(t), Dir::ToServer, 20);
        d.data(
            &mut h.cx(t),
            Dir::ToServer,
            &[&q[0][30..], &q[1][..]].concat(),
        );
        d.close(&mut h.cx(t));
        let ids: Vec<u16> = h.out.iter().map(|r| dns(r).id).collect();
        assert_eq!(ids, [0x85cc]);
        // A gap over a boundary: the next data is a message start (kept) or not (dropped).
        let mut h = Harness::new(Transport::Tcp, 53);
        let mut d = tcp();
        d.data(&mut h.cx(t), Dir::ToServer, &q[0][..10]);
        d.gap(&mut h.cx(t), Dir::ToServer, q[0].len() as u64 + 7);
        d.data(&mut h.cx(t), Dir::ToServer, &q[1][7..]);
        assert_eq!(h.counters.get(Counter::MalformedDns), 1);
        assert_eq!(d.buffered(), 0);
        d.data(&mut h.cx(t), Dir::ToServer, &q[2]);
        d.close(&mut h.cx(t));
        let ids: Vec<u16> = h.out.iter().map(|r| dns(r).id).collect();
        assert_eq!(ids, [0xc554]);
        // A partial message at close is counted.
        let mut h = Harness::new(Transport::Tcp, 53);
        let mut d = tcp();
        d.data(&mut h.cx(t), Dir::ToServer, &q[0][..10]);
        d.close(&mut h.cx(t));
        assert_eq!((h.out.len(), h.counters.get(Counter::MalformedDns)), (0, 1));
    }

    fn a(n: u8) -> lab::Rec<'static> {
        ("host.zone.test", 1, 1, 300, vec![10, 0, 0, n])
    }

    #[test]
    fn zone_transfer_over_several_messages_is_one_record() {
        let mut h = Harness::new(Transport::Tcp, 53);
        let mut d = tcp();
        let t = 1_000 * NS;
        let first = (
            "zone.test",
            6,
            1,
            3600,
            soa("ns.zone.test", "admin.zone.test", 7),
        );
        let query = msg(0x4242, 0x0000, Some(("zone.test", 252)), &[], &[]);
        d.data(&mut h.cx(t), Dir::ToServer, &framed(&query));
        // 1 SOA + 68 A + closing SOA = 70 answers in three messages.
        let m1: Vec<_> = std::iter::once(first.clone())
            .chain((0..30).map(a))
            .collect();
        let m2: Vec<_> = (30..60).map(a).collect();
        let m3: Vec<_> = (60..68).map(a).chain(std::iter::once(first)).collect();
        for (k, an) in [m1, m2, m3].iter().enumerate() {
            let q = (k == 0).then_some(("zone.test", 252));
            let r = msg(0x4242, 0x8400, q, an, &[]);
            d.data(
                &mut h.cx(t + (k as u64 + 1) * 1000),
                Dir::ToClient,
                &framed(&r),
            );
            assert_eq!(h.out.len(), (k == 2) as usize, "{k}");
        }
        let x = dns(&h.out[0]);
        assert_eq!(
            (x.query.as_deref(), x.qtype, x.rcode, x.rtt),
            (Some("zone.test"), name("AXFR"), name("NOERROR"), Some(1000))
        );
        assert_eq!(
            (x.answers.len(), x.ttls.len(), x.answer_count),
            (64, 64, Some(70))
        );
        assert_eq!(
            x.answers[0],
            "ns.zone.test admin.zone.test 7 900 600 86400 3600"
        );
        assert_eq!(
            (x.answers[1].as_str(), x.answers[63].as_str(), x.ttls[1]),
            ("10.0.0.0", "10.0.0.62", 300)
        );
        // A stalled transfer is emitted at the timeout after its last message.
        let query = msg(0x4343, 0x0000, Some(("zone.test", 251)), &[], &[]);
        d.data(&mut h.cx(t), Dir::ToServer, &framed(&query));
        let an = [
            (
                "zone.test",
                6,
                1,
                3600,
                soa("ns.zone.test", "admin.zone.test", 9),
            ),
            a(1),
        ];
        d.data(
            &mut h.cx(t + 5 * NS),
            Dir::ToClient,
            &framed(&msg(0x4343, 0x8400, Some(("zone.test", 251)), &an, &[])),
        );
        d.tick(&mut h.cx(t + 34 * NS));
        assert_eq!(h.out.len(), 1);
        d.tick(&mut h.cx(t + 35 * NS));
        assert_eq!(h.out.len(), 2);
        let x = dns(&h.out[1]);
        assert_eq!(
            (x.qtype, x.answers.len(), x.answer_count),
            (name("IXFR"), 2, None)
        );
    }

    #[test]
    fn ixfr_ends_at_the_closing_soa() {
        let mut h = Harness::new(Transport::Tcp, 53);
        let mut d = tcp();
        let s = |n| {
            (
                "zone.test",
                6,
                1,
                3600,
                soa("ns.zone.test", "admin.zone.test", n),
            )
        };
        d.data(
            &mut h.cx(0),
            Dir::ToServer,
            &framed(&msg(9, 0, Some(("zone.test", 251)), &[], &[])),
        );
        // new SOA 3; old 1, deletions, SOA 2, additions; old 2, SOA 3, additions; SOA 3.
        let an1 = [s(3), s(1), a(1), s(2), a(2)];
        let an2 = [s(2), s(3), a(3), s(3)];
        d.data(
            &mut h.cx(1),
            Dir::ToClient,
            &framed(&msg(9, 0x8400, Some(("zone.test", 251)), &an1, &[])),
        );
        assert!(h.out.is_empty());
        d.data(
            &mut h.cx(2),
            Dir::ToClient,
            &framed(&msg(9, 0x8400, None, &an2, &[])),
        );
        assert_eq!(h.out.len(), 1);
        assert_eq!(
            (dns(&h.out[0]).answers.len(), dns(&h.out[0]).answer_count),
            (9, Some(9))
        );
        // Up to date: a single SOA ends it at once; over UDP any reply ends it.
        d.data(
            &mut h.cx(3),
            Dir::ToServer,
            &framed(&msg(10, 0, Some(("zone.test", 251)), &[], &[])),
        );
        d.data(
            &mut h.cx(4),
            Dir::ToClient,
            &framed(&msg(10, 0x8400, Some(("zone.test", 251)), &[s(3)], &[])),
        );
        assert_eq!(h.out.len(), 2);
        assert_eq!(dns(&h.out[1]).answer_count, None);
    }

    #[test]
    fn update_renders_additions_and_deletions() {
        let mut h = Harness::new(Transport::Udp, 53);
        let mut d = udp();
        let ups = [
            ("ws9.zone.test", 28, 255, 0, vec![]),
            ("old.zone.test", 255, 255, 0, vec![]),
            ("ws9.zone.test", 1, 254, 0, vec![10, 0, 0, 9]),
            ("ws9.zone.test", 1, 1, 1200, vec![10, 0, 0, 5]),
        ];
        let q = msg(0x77, 0x2800, Some(("zone.test", 6)), &[], &ups);
        d.datagram(&mut h.cx(10), Dir::ToServer, &q);
        d.datagram(
            &mut h.cx(15),
            Dir::ToClient,
            &msg(0x77, 0xac05, Some(("zone.test", 6)), &[], &[]),
        );
        let x = dns(&h.out[0]);
        assert_eq!(
            (x.opcode, x.query.as_deref(), x.qtype, x.rcode),
            (
                Code::Name("UPDATE"),
                Some("zone.test"),
                name("SOA"),
                name("REFUSED")
            )
        );
        assert_eq!(
            x.updates,
            [
                "delete ws9.zone.test AAAA",
                "delete old.zone.test ANY",
                "delete ws9.zone.test A 10.0.0.9",
                "ws9.zone.test A 10.0.0.5"
            ]
        );
        assert_eq!(
            (x.flags.as_slice(), x.rtt, x.answers.len()),
            (&["aa"][..], Some(5), 0)
        );
        // Unknown codes fall back to numbers.
        let q = msg(0x78, 0x3800, Some(("zone.test", 4000)), &[], &[]);
        d.datagram(&mut h.cx(20), Dir::ToServer, &q);
        d.close(&mut h.cx(20));
        let x = dns(&h.out[1]);
        assert_eq!((x.opcode, x.qtype), (Code::Num(7), Some(Code::Num(4000))));
    }
}
