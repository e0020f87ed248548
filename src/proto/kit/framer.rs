//! The framer: cuts one direction of a TCP stream into length-prefixed PDUs.
//!
//! Every TCP decoder of dcsensor reads PDUs whose header says how long they are: Kerberos'
//! 4-byte record mark, DNS's 2-byte length, the NetBIOS session header in front of SMB, the
//! `frag_length` of DCE-RPC's 16-byte header, LDAP's BER length. The protocol describes its
//! header with a [`Framing`] (how long is the PDU that starts here; does a PDU plausibly start
//! here); the [`Framer`] does the rest, the same way for everyone:
//!
//! - **cap**: a PDU longer than [`Framer::new`]'s cap is never buffered; its bytes are skipped
//!   as they arrive and reported with [`Event::Skipped`] *as they are seen*, so a header that
//!   claims 4 GiB on a connection that then closes counts only the bytes that really came;
//! - **skip by count**: the rest of an oversized PDU, or of a PDU a gap cut, is skipped without
//!   looking at it;
//! - **explicit gaps**: [`Framer::gap`] is the flow layer's "`len` bytes are missing here"; inside
//!   a PDU of known length the framer skips to its end (the PDU is dropped, [`Event::Cut`]);
//!   when the gap swallowed a boundary it resynchronises;
//! - **resync by probe**: after a gap that lost a boundary, or a header that does not parse
//!   ([`Event::Bad`]), every offset of the following data is offered to [`Framing::probe`] until
//!   one looks like a PDU start (or only the start of each chunk, [`Framing::scan`]); what is
//!   passed over is reported with [`Event::Resync`].
//!   A framing whose protocol has no marker to resynchronise on (LDAP) answers `false` and the
//!   direction stays lost (every byte reported as passed over). A framing that keeps partial
//!   headers ([`Framing::keep_partial`], DCE-RPC) has a header start cut by the end of a chunk
//!   kept and judged again with the next chunk, and the bytes gathered for a header that turns
//!   out bad searched again instead of dropped;
//! - **lose on demand**: [`Framer::lose`] forgets the PDU in progress and searches for the next
//!   header, for a protocol that does not trust a length across a gap (DCE-RPC).
//!
//! - **stepwise PDUs**: a framing whose PDUs carry bulk data nobody needs (SMB's READ and WRITE
//!   payloads) answers [`Head::Steps`]: the framer reads the header, then shows the rest to the
//!   decoder part by part ([`Event::Part`], fed with [`Framer::steps`]); the decoder answers
//!   each part with a [`Step`]: gather more of it ([`Step::Need`], within the cap), it is done
//!   and the rest of it is skipped by count, never buffered ([`Step::Done`]), or the stream is
//!   not where it should be ([`Step::Lost`]). A PDU nobody reads at all is [`Head::Pass`]ed.
//!
//! A PDU over the cap is reported with its first bytes ([`Framing::peek_len`] of them, or all
//! that came in the chunk), so that a decoder can still tell what it was (LDAP counts a search
//! entry too large to keep for its search).
//!
//! A decoder keeps one `Framer` per direction and its own framing, and turns events into
//! records and counters:
//!
//! ```ignore
//! self.framers[dir.idx()].data(cx.now, data, &mut DnsFraming, &mut |ev| match ev {
//!     Event::Pdu { start, pdu } => matcher.message(cx, start, &pdu[2..]),
//!     Event::Skipped { bytes } => cx.count_n(Counter::DropDecoderCap, bytes as u64),
//!     Event::Bad { .. } | Event::Cut { .. } => cx.count(Counter::MalformedDns),
//!     Event::Resync { .. } => {}
//! });
//! ```
//!
//! A whole PDU at the start of a chunk is handed over in place (no copy); only a PDU split
//! across chunks is gathered, in a buffer never longer than the cap.

use crate::record::Ts;

mod pair;
mod parts;

pub use pair::Framers;

/// What the bytes at the start of a PDU say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Head {
    /// A PDU of this many bytes, its header included.
    Len(usize),
    /// More bytes are needed to tell: at least this many from the PDU's start.
    Need(usize),
    /// No PDU starts here.
    Bad,
    /// A PDU of `len` bytes read in parts ([`Framer::steps`]): its first `head` bytes (at least
    /// 1, at most `len`) are its header, read here; the rest is shown to the decoder part by
    /// part ([`Event::Part`]) and is never buffered whole, so `len` may exceed the cap.
    Steps { head: usize, len: usize },
    /// A PDU of this many bytes (at least 1) that nobody reads: passed over by count,
    /// unreported.
    Pass(usize),
}

/// The decoder's answer to a part of a stepwise PDU ([`Event::Part`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Show the part again once its first `n` bytes are here: the framer gathers them. `n` must
    /// be more than the part was shown, at most what is left of its PDU and at most the cap;
    /// otherwise the rest of the PDU is skipped ([`Event::Unmet`]).
    Need(usize),
    /// The part is `n` bytes long (at least 1, at most what is left of its PDU) and handled:
    /// what of it was not shown is skipped by count, unread; the PDU's next part follows (shown
    /// from what was already seen of it), or the next PDU.
    Done(u64),
    /// No part starts here: the part is reported as [`Event::Bad`] and the framer
    /// resynchronises, from the part's first byte when it was shown in place, after the chunk's
    /// bytes gathered for it otherwise (those are dropped).
    Lost,
}

/// How a protocol's PDUs say their length.
pub trait Framing {
    /// Reads the header at the start of `d` (every byte seen from the PDU's first, which may be
    /// fewer than a header or more than the PDU). Must not panic on any input.
    fn head(&mut self, d: &[u8]) -> Head;

    /// While resynchronising: whether a PDU plausibly starts at `d` (which may be short; the
    /// answer for a short `d` decides). The default accepts any readable header; a protocol
    /// with no marker to resynchronise on returns `false`.
    fn probe(&mut self, d: &[u8]) -> bool {
        matches!(self.head(d), Head::Len(_))
    }

    /// Bytes [`Framing::probe`] needs to judge. While resynchronising, an offset past the start
    /// of a chunk with fewer bytes after it is passed over (a PDU start split across two chunks
    /// is missed; the next whole one is found), so a probe that gives short data the benefit of
    /// the doubt cannot take a chunk's tail for a PDU.
    fn probe_len(&self) -> usize {
        1
    }

    /// Whether resynchronisation tries every offset (the default) or only the start of each
    /// chunk of data: for a protocol whose PDUs usually start a segment and whose header is a
    /// weak signal (DNS), a chunk that does not start with a PDU is passed over whole.
    fn scan(&self) -> bool {
        true
    }

    /// Bytes of a header [`Framing::head`] called bad at the start of a chunk that are passed
    /// over before resynchronisation starts (the default, 0, resynchronises from the bad
    /// header's first byte; a framing that judges a fixed-size header, as Kerberos' record mark
    /// and the two bytes after it, passes the whole header over as when it was gathered).
    fn bad_len(&self) -> usize {
        0
    }

    /// Bytes of a PDU over the cap gathered before it is reported ([`Event::Oversize`]'s
    /// `head`; never more than the cap): 0 (the default) reports it as soon as its header says
    /// so.
    fn peek_len(&self) -> usize {
        0
    }

    /// Whether a header start cut by the end of a chunk while resynchronising is kept and judged
    /// again with the next chunk (instead of passed over), and the bytes gathered for a header
    /// that [`Framing::head`] then calls bad are searched again from [`Framing::bad_len`] on
    /// (instead of dropped). Off by default.
    fn keep_partial(&self) -> bool {
        false
    }

    /// The byte every PDU starts with, when there is one and [`Framing::probe`] refuses any
    /// other first byte: resynchronisation then jumps from one occurrence of it to the next
    /// (memchr) instead of probing every offset, with the same result. None by default.
    fn lead(&self) -> Option<u8> {
        None
    }
}

/// What the framer found, handed to the decoder's callback in stream order.
#[derive(Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// A whole PDU, header included, and the packet time of its first byte.
    Pdu { start: Ts, pdu: &'a [u8] },
    /// `bytes` of a PDU over the cap went by unread (reported as they arrive).
    Skipped { bytes: usize },
    /// A PDU whose header said `len` (over the cap) begins: its bytes will be skipped. `head`
    /// is its first bytes: at least [`Framing::peek_len`] (or `len`) of them when the framing
    /// asks for some, and all of it that came with the chunk when the header was read in place.
    Oversize { len: u64, head: &'a [u8] },
    /// A header that is no header: the framer lost its place and resynchronises. `at` is the
    /// bytes from the bad header on (the rest of the chunk, or what was gathered of the header).
    Bad { at: &'a [u8] },
    /// A gap cut a PDU that was being gathered; `bytes` of it had been seen (dropped).
    Cut { bytes: usize },
    /// `bytes` were passed over while looking for the next PDU start.
    Resync { bytes: usize },
    /// A part of a stepwise PDU ([`Head::Steps`]), answered with a [`Step`] by the callback of
    /// [`Framer::steps`]. `part` is its first bytes, at least `MAX_HEAD` of them or the `n` of
    /// the last [`Step::Need`] (all that is left of the PDU when that is fewer) and possibly
    /// more, never past the PDU's end; `left` is the bytes of the PDU from the part's first
    /// on; `first` says whether the part starts right after the PDU's header; `start` is the
    /// packet time of the part's first byte.
    Part {
        start: Ts,
        part: &'a [u8],
        left: u64,
        first: bool,
    },
    /// A part asked ([`Step::Need`]) for no more than it was shown, more than its PDU holds or
    /// more than the cap: the rest of the PDU, `left` bytes from the part's first on (what was
    /// gathered of it included), is skipped unread.
    Unmet { left: u64 },
}

/// Largest header the framer gathers before [`Framing::head`] must decide.
pub const MAX_HEAD: usize = 64;

/// One direction's framing state.
#[derive(Debug, Default)]
pub struct Framer {
    cap: usize,
    /// The start of a PDU split across chunks (never longer than `cap`).
    buf: Vec<u8>,
    /// Packet time of the first byte in `buf`.
    start: Ts,
    /// Bytes still to skip: the rest of an oversized PDU, or of a PDU a gap cut.
    skip: u64,
    /// Whether the skipped bytes belong to an oversized PDU (reported as [`Event::Skipped`]).
    skip_counted: bool,
    /// A boundary was lost: looking for the next PDU start.
    lost: bool,
    /// The length of the PDU in `buf`, once its header was read.
    known: Option<usize>,
    /// Inside a stepwise PDU: reading its parts (`buf` holds the part being gathered).
    parts: bool,
    /// Bytes of the stepwise PDU not taken from the input yet (its bytes to skip included).
    left: u64,
    /// The next part is the first after the stepwise PDU's header.
    first: bool,
    /// Bytes of the part in `buf` wanted before it is shown (again).
    want: usize,
    /// Where each chunk's bytes begin in the part in `buf`, and the chunk's packet time.
    marks: Vec<(usize, Ts)>,
}

impl Framer {
    /// A framer that buffers PDUs of at most `cap` bytes (a cap below [`MAX_HEAD`] is raised to
    /// it, so that every header can be read).
    pub fn new(cap: usize) -> Self {
        Framer {
            cap: cap.max(MAX_HEAD),
            ..Default::default()
        }
    }

    /// Bytes held in the buffer (for the flow layer's memory accounting).
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Bytes still to be skipped without being reported as [`Event::Skipped`]: the rest of a
    /// PDU a gap cut, of a stepwise part or of a passed-over PDU (a decoder that counts them as
    /// drops counts what it feeds, up to this).
    pub fn unreported_skip(&self) -> u64 {
        if self.skip_counted {
            0
        } else {
            self.skip
        }
    }

    /// Whether the framer lost its place and is looking for a PDU start.
    pub fn is_lost(&self) -> bool {
        self.lost
    }

    /// Whether the next byte starts a PDU: nothing gathered or to skip, not inside a stepwise
    /// PDU, not lost.
    pub fn at_boundary(&self) -> bool {
        self.buf.is_empty() && self.skip == 0 && !self.parts && !self.lost
    }

    /// Feeds the next in-order bytes of this direction, which arrived at `now`. A stepwise PDU
    /// ([`Head::Steps`]) fed this way has each part shown once and skipped (use
    /// [`Framer::steps`] to answer them).
    pub fn data<F: Framing + ?Sized>(
        &mut self,
        now: Ts,
        d: &[u8],
        f: &mut F,
        on: &mut dyn FnMut(Event<'_>),
    ) {
        self.steps(now, d, f, &mut |ev| {
            on(ev);
            Step::Done(u64::MAX)
        });
    }

    /// [`Framer::data`] for a framing with stepwise PDUs: the callback answers each
    /// [`Event::Part`] with a [`Step`] (its answer to the other events is not read).
    pub fn steps<F, O>(&mut self, now: Ts, mut d: &[u8], f: &mut F, on: &mut O)
    where
        F: Framing + ?Sized,
        O: FnMut(Event<'_>) -> Step,
    {
        while !d.is_empty() {
            if self.skip > 0 {
                let n = d
                    .len()
                    .min(usize::try_from(self.skip).unwrap_or(usize::MAX));
                self.skip -= n as u64;
                d = &d[n..];
                if self.skip_counted {
                    on(Event::Skipped { bytes: n });
                } else if self.parts {
                    self.left -= n as u64;
                    if self.skip == 0 {
                        self.part_done();
                    }
                }
                continue;
            }
            if self.parts {
                d = self.part(now, d, on);
                continue;
            }
            if self.lost {
                if !self.buf.is_empty() {
                    // A header start kept from the last chunk (keep_partial): search it and
                    // this chunk as one.
                    let mut joined = std::mem::take(&mut self.buf);
                    joined.extend_from_slice(d);
                    self.steps(now, &joined, f, on);
                    return;
                }
                // Offsets past the chunk's start are judged only with `probe_len` bytes, unless
                // a start cut by the chunk's end is kept (keep_partial).
                let need = f.probe_len().max(1);
                let keep = f.keep_partial();
                let at = if f.scan() {
                    let lead = f.lead();
                    let mut starts =
                        |i: usize| (i == 0 || keep || d.len() - i >= need) && startable(f, &d[i..]);
                    match lead {
                        Some(b) => memchr::memchr_iter(b, d).find(|&i| starts(i)),
                        None => (0..d.len()).find(|&i| starts(i)),
                    }
                } else {
                    startable(f, d).then_some(0)
                };
                let passed = at.unwrap_or(d.len());
                if passed > 0 {
                    on(Event::Resync { bytes: passed });
                }
                d = &d[passed..];
                if at.is_some() {
                    if keep && (d.len() < need || matches!(f.head(d), Head::Need(_))) {
                        // Too short to judge: keep it for the next chunk, still lost.
                        self.buf.extend_from_slice(d);
                        self.start = now;
                        return;
                    }
                    self.lost = false;
                }
                continue;
            }
            if self.buf.is_empty() {
                // Fast path: whole PDUs at the start of the chunk are handed over in place.
                match sane(f.head(d)) {
                    Head::Len(len) if len <= self.cap && len <= d.len() => {
                        on(Event::Pdu {
                            start: now,
                            pdu: &d[..len],
                        });
                        d = &d[len..];
                        continue;
                    }
                    Head::Bad => {
                        self.bad(d, on);
                        d = &d[f.bad_len().min(d.len())..];
                        continue;
                    }
                    Head::Len(len) if len > self.cap && d.len() >= self.peek(f, len) => {
                        on(Event::Oversize {
                            len: len as u64,
                            head: &d[..len.min(d.len())],
                        });
                        self.skip = len as u64;
                        self.skip_counted = true;
                        continue;
                    }
                    Head::Need(n) if n > MAX_HEAD => {
                        self.bad(d, on);
                        continue;
                    }
                    Head::Steps { head, len } if head <= d.len() => {
                        d = &d[head..];
                        self.begin_parts(len - head);
                        continue;
                    }
                    Head::Pass(len) => {
                        self.skip = len as u64;
                        self.skip_counted = false;
                        continue;
                    }
                    // A PDU (or its header) continues in a later chunk: gather it.
                    _ => self.start = now,
                }
            }
            let want = match sane(f.head(&self.buf)) {
                Head::Bad => {
                    let gathered = std::mem::take(&mut self.buf);
                    self.release();
                    self.bad(&gathered, on);
                    if f.keep_partial() {
                        // Search what was gathered after the bad header's first bytes, then
                        // the rest of this chunk.
                        let mut joined = gathered;
                        joined.drain(..f.bad_len().min(joined.len()));
                        joined.extend_from_slice(d);
                        self.steps(now, &joined, f, on);
                        return;
                    }
                    continue;
                }
                Head::Steps { head, .. } if self.buf.len() < head => head,
                Head::Steps { head, len } => {
                    // The header is gathered: what came after it (if the framing asked for
                    // more than its header) is the first part's start.
                    let rest = self.buf.split_off(head);
                    self.release();
                    self.begin_parts(len - head);
                    self.steps(now, &rest, f, on);
                    continue;
                }
                Head::Pass(len) => {
                    let rest = self.buf.split_off(len.min(self.buf.len()));
                    self.skip = (len - (self.buf.len())) as u64;
                    self.skip_counted = false;
                    self.release();
                    self.steps(now, &rest, f, on);
                    continue;
                }
                Head::Len(len) if len > self.cap && self.buf.len() < self.peek(f, len) => {
                    // Over the cap, but the framing wants to see its first bytes.
                    self.peek(f, len)
                }
                Head::Len(len) if len > self.cap => {
                    // The header said too much once its last byte came: skip the rest.
                    let seen = self.buf.len();
                    on(Event::Oversize {
                        len: len as u64,
                        head: &self.buf,
                    });
                    self.release();
                    on(Event::Skipped { bytes: seen });
                    self.skip = (len - seen) as u64;
                    self.skip_counted = true;
                    continue;
                }
                Head::Len(len) => {
                    self.known = Some(len);
                    len
                }
                Head::Need(n) => {
                    let w = n.max(self.buf.len() + 1);
                    if w > MAX_HEAD {
                        let gathered = std::mem::take(&mut self.buf);
                        self.release();
                        self.bad(&gathered, on);
                        continue;
                    }
                    w
                }
            };
            let n = want.saturating_sub(self.buf.len()).min(d.len());
            self.buf.extend_from_slice(&d[..n]);
            d = &d[n..];
            if let Some(len) = self.known.filter(|&l| l <= self.buf.len()) {
                let rest = self.buf.split_off(len);
                on(Event::Pdu {
                    start: self.start,
                    pdu: &self.buf,
                });
                self.release();
                if !rest.is_empty() {
                    // A framing whose header changed its mind: the surplus is the next data.
                    self.buf = rest;
                    self.start = now;
                }
            }
        }
    }

    /// `len` bytes of this direction are missing before the next [`Framer::data`].
    pub fn gap(&mut self, len: u64, on: &mut dyn FnMut(Event<'_>)) {
        if self.lost {
            // A header start kept while resynchronising is not followed by what it needs.
            self.drop_buffered(on);
            return;
        }
        if self.skip > 0 {
            match self.skip.checked_sub(len) {
                Some(left) => {
                    self.skip = left;
                    if self.parts && !self.skip_counted {
                        self.left -= len;
                        if left == 0 {
                            self.part_done();
                        }
                    }
                }
                None => {
                    self.skip = 0;
                    self.end_parts();
                    self.lost = true;
                }
            }
            return;
        }
        if self.parts {
            // Between the parts of a stepwise PDU or inside one: the decoder's reading of the
            // PDU lost bytes it may have needed; the next PDU start is searched for.
            self.drop_buffered(on);
            self.end_parts();
            self.lost = true;
            return;
        }
        if self.buf.is_empty() {
            // Between PDUs: the next one may start anywhere after the gap.
            self.lost = len > 0;
            return;
        }
        let seen = self.buf.len();
        // The head is asked with what was gathered; a framing never sees the missing bytes.
        let known = self.known;
        self.release();
        on(Event::Cut { bytes: seen });
        match known.and_then(|total| (total.saturating_sub(seen) as u64).checked_sub(len)) {
            // The gap ended inside the PDU: the next one starts right after it.
            Some(left) => {
                self.skip = left;
                self.skip_counted = false;
            }
            None => self.lost = true,
        }
    }

    /// Forgets the PDU in progress (reported as [`Event::Cut`]) and what was to be skipped, and
    /// looks for the next PDU start in the following data: for a protocol that does not trust a
    /// length across a gap, [`Framer::lose`] instead of [`Framer::gap`] (DCE-RPC searches for a
    /// header after every gap).
    pub fn lose(&mut self, on: &mut dyn FnMut(Event<'_>)) {
        self.drop_buffered(on);
        self.end_parts();
        self.skip = 0;
        self.lost = true;
    }

    /// The connection ended: a PDU cut short is reported ([`Event::Cut`]; a header start kept
    /// while resynchronising, [`Event::Resync`]) and forgotten.
    pub fn close(&mut self, on: &mut dyn FnMut(Event<'_>)) {
        self.drop_buffered(on);
        self.buf = Vec::new();
        self.end_parts();
        self.skip = 0;
        self.lost = false;
    }

    /// Forgets the bytes held: a PDU in progress ([`Event::Cut`]) or, while resynchronising, a
    /// header start kept for the next chunk ([`Event::Resync`]).
    fn drop_buffered(&mut self, on: &mut dyn FnMut(Event<'_>)) {
        if !self.buf.is_empty() {
            let bytes = self.buf.len();
            on(if self.lost {
                Event::Resync { bytes }
            } else {
                Event::Cut { bytes }
            });
        }
        self.release();
    }

    /// Bytes of a PDU of `len` over the cap gathered before it is reported (never more than
    /// the cap).
    fn peek<F: Framing + ?Sized>(&self, f: &F, len: usize) -> usize {
        f.peek_len().min(len).min(self.cap)
    }

    fn bad<O: FnMut(Event<'_>) -> Step>(&mut self, at: &[u8], on: &mut O) {
        self.lost = true;
        on(Event::Bad { at });
    }

    /// Forgets the gathered bytes, returning a large buffer's memory.
    fn release(&mut self) {
        self.known = None;
        self.buf.clear();
        if self.buf.capacity() > 16 * 1024 {
            self.buf = Vec::new();
        }
    }
}

/// A header that promises no progress, or a stepwise header the framer cannot gather, read as
/// [`Head::Bad`]: an empty PDU, a header of no byte, longer than its PDU or than [`MAX_HEAD`].
fn sane(h: Head) -> Head {
    match h {
        Head::Len(0) | Head::Pass(0) => Head::Bad,
        Head::Steps { head, len } if head == 0 || head > len.min(MAX_HEAD) => Head::Bad,
        h => h,
    }
}

/// Whether resynchronisation may restart at `d`: the probe accepts it and the header promises
/// progress (a framing whose probe accepts what its header refuses cannot loop).
fn startable<F: Framing + ?Sized>(f: &mut F, d: &[u8]) -> bool {
    f.probe(d)
        && match sane(f.head(d)) {
            Head::Need(n) => n <= MAX_HEAD,
            Head::Bad => false,
            Head::Len(_) | Head::Steps { .. } | Head::Pass(_) => true,
        }
}

/// The length headers of dcsensor's protocols, ready to use (a decoder wraps one in its own
/// [`Framing`] to give a stricter [`Framing::probe`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prefix {
    /// DNS over TCP (RFC 1035 4.2.2): a 2-byte big-endian length of what follows.
    Be16,
    /// Kerberos over TCP (RFC 4120 7.2.2): a 4-byte big-endian record mark whose high bit is
    /// reserved (0).
    RecordMark,
    /// NetBIOS session service (RFC 1002 4.3.1) and SMB over TCP 445: a type byte, then a
    /// 3-byte big-endian length (17 bits for NetBIOS, 24 for direct TCP; both read as 24).
    NetBios,
    /// DCE-RPC connection-oriented PDUs (C706 12.6.3): a 16-byte header whose `frag_length`
    /// (offset 8, byte order from the data representation at offset 4) is the whole PDU.
    DceRpc,
}

impl Framing for Prefix {
    fn head(&mut self, d: &[u8]) -> Head {
        match self {
            Prefix::Be16 => match d {
                [a, b, ..] => Head::Len(2 + usize::from(u16::from_be_bytes([*a, *b]))),
                _ => Head::Need(2),
            },
            Prefix::RecordMark => match d.first_chunk::<4>() {
                Some(m) if m[0] & 0x80 != 0 => Head::Bad,
                Some(m) => Head::Len(4 + u32::from_be_bytes(*m) as usize),
                None => Head::Need(4),
            },
            Prefix::NetBios => match d {
                [_, a, b, c, ..] => Head::Len(4 + u32::from_be_bytes([0, *a, *b, *c]) as usize),
                _ => Head::Need(4),
            },
            Prefix::DceRpc => match d.first_chunk::<16>() {
                Some(h) if h[0] != 5 => Head::Bad,
                Some(h) => {
                    let f = [h[8], h[9]];
                    let len = if h[4] & 0x10 != 0 {
                        u16::from_le_bytes(f)
                    } else {
                        u16::from_be_bytes(f)
                    };
                    match usize::from(len) {
                        n if n < 16 => Head::Bad,
                        n => Head::Len(n),
                    }
                }
                None => Head::Need(16),
            },
        }
    }
}
