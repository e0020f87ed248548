//! The framing of one direction of an SMB connection: NetBIOS session headers, then one SMB1
//! message or one SMB2 compound element at a time, looked at in steps (a header first, then as
//! many bytes as the command needs); bytes nobody reads are skipped by count, never buffered;
//! after a gap, a scan for the next NetBIOS header followed by an SMB magic.

use super::parse;
use super::SmbConn;
use crate::proto::{Ctx, Dir};
use crate::record::Ts;
use crate::stats::Counter;

/// Bytes of a message looked at before deciding what to do with the rest.
const PEEK: usize = 64;
/// Buffer capacity kept between messages (a larger one is released).
const KEEP_CAPACITY: usize = 16 * 1024;
/// Bytes kept while scanning for a header after a gap.
const RESYNC_CARRY: usize = 7;

/// What one step of looking at a message decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    /// Buffer until the first `n` bytes of the unit are present, then look again.
    Need(usize),
    /// The unit is `n` bytes long and is handled: skip what was not seen.
    Done(u64),
    /// The stream is not where it should be: scan for the next header.
    Resync,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) enum FrameState {
    /// Reading a NetBIOS header.
    #[default]
    NbHeader,
    /// Reading a unit (an SMB message or compound element) of the current frame.
    Unit,
    /// Skipping bytes of the current frame.
    Skip,
    /// Lost: scanning for a NetBIOS header followed by an SMB magic.
    Resync,
}

/// The framing of one direction.
#[derive(Debug, Default)]
pub(super) struct Framer {
    pub(super) state: FrameState,
    pub(super) hdr: [u8; parse::NB_HEADER],
    pub(super) hdr_len: usize,
    /// Bytes of the current NetBIOS frame not taken from the input yet.
    pub(super) frame_left: u64,
    /// Whether the next unit continues an SMB2 compound chain.
    pub(super) compound: bool,
    /// The current unit's bytes, when it spans several calls.
    pub(super) buf: Vec<u8>,
    /// Bytes of the unit wanted before looking at it again.
    pub(super) want: usize,
    pub(super) skip: u64,
    /// Time of the current unit's first byte.
    pub(super) unit_ts: Ts,
    pub(super) carry: Vec<u8>,
}

impl Framer {
    pub(super) fn next_unit(&mut self) {
        if self.frame_left > 0 {
            self.state = FrameState::Unit;
            self.compound = true;
            self.want = PEEK.min(self.frame_left as usize);
        } else {
            self.state = FrameState::NbHeader;
            self.hdr_len = 0;
        }
    }

    /// The unit is done except for `n` bytes to pass over: skip them, then take the next unit.
    pub(super) fn skip_then_next(&mut self, n: u64) {
        self.skip = n;
        if n > 0 {
            self.state = FrameState::Skip;
        } else {
            self.next_unit();
        }
    }

    pub(super) fn release(&mut self) {
        self.buf.clear();
        if self.buf.capacity() > KEEP_CAPACITY {
            self.buf = Vec::new();
        }
    }

    pub(super) fn lose(&mut self) {
        self.release();
        self.state = FrameState::Resync;
        self.carry.clear();
        self.frame_left = 0;
        self.skip = 0;
    }
}

impl SmbConn {
    pub(super) fn feed(&mut self, cx: &mut Ctx<'_>, dir: Dir, mut data: &[u8]) {
        let d = dir.idx();
        while !data.is_empty() {
            let f = &mut self.fr[d];
            match f.state {
                FrameState::Skip => {
                    let n = f.skip.min(data.len() as u64);
                    f.skip -= n;
                    f.frame_left = f.frame_left.saturating_sub(n);
                    data = &data[n as usize..];
                    if f.skip == 0 {
                        f.next_unit();
                    }
                }
                FrameState::NbHeader => {
                    let n = (parse::NB_HEADER - f.hdr_len).min(data.len());
                    f.hdr[f.hdr_len..f.hdr_len + n].copy_from_slice(&data[..n]);
                    f.hdr_len += n;
                    data = &data[n..];
                    if f.hdr_len < parse::NB_HEADER {
                        continue;
                    }
                    f.hdr_len = 0;
                    match parse::nb_header(&f.hdr) {
                        None => {
                            cx.count(Counter::MalformedSmb);
                            let hdr = f.hdr;
                            f.lose();
                            f.carry.extend_from_slice(&hdr[1..]);
                            self.st.pipes_gap(cx, dir, 0);
                        }
                        Some(h) if h.len == 0 => {}
                        Some(h) if !h.is_message() => {
                            f.frame_left = u64::from(h.len);
                            f.skip = u64::from(h.len);
                            f.state = FrameState::Skip;
                        }
                        Some(h) => {
                            f.frame_left = u64::from(h.len);
                            f.compound = false;
                            f.state = FrameState::Unit;
                            f.want = PEEK.min(h.len as usize);
                        }
                    }
                }
                FrameState::Unit => {
                    let avail = (data.len() as u64).min(f.frame_left) as usize;
                    if f.buf.is_empty() && avail >= f.want {
                        // The input holds what is wanted: look at it in place.
                        f.unit_ts = cx.now;
                        let (frame_left, compound, ts) = (f.frame_left, f.compound, f.unit_ts);
                        let step = self
                            .st
                            .unit(cx, dir, &data[..avail], frame_left, compound, ts);
                        let f = &mut self.fr[d];
                        match step {
                            Step::Need(n) if n > avail && n as u64 <= frame_left => {
                                f.buf.extend_from_slice(&data[..avail]);
                                f.frame_left -= avail as u64;
                                f.want = n;
                                data = &data[avail..];
                            }
                            Step::Need(_) => {
                                // No progress possible: give up on this frame.
                                cx.count(Counter::MalformedSmb);
                                f.skip = f.frame_left;
                                f.state = FrameState::Skip;
                            }
                            Step::Done(len) => {
                                let len = len.min(frame_left).max(1);
                                let took = len.min(avail as u64);
                                f.frame_left -= took;
                                data = &data[took as usize..];
                                f.skip_then_next(len - took);
                            }
                            Step::Resync => {
                                cx.count(Counter::MalformedSmb);
                                f.lose();
                                self.st.pipes_gap(cx, dir, 0);
                            }
                        }
                    } else {
                        if f.buf.is_empty() {
                            f.unit_ts = cx.now;
                        }
                        let n = (f.want.saturating_sub(f.buf.len())).min(avail);
                        f.buf.extend_from_slice(&data[..n]);
                        f.frame_left -= n as u64;
                        data = &data[n..];
                        if f.buf.len() < f.want {
                            continue;
                        }
                        let buf = std::mem::take(&mut f.buf);
                        let (frame_left, compound, ts) =
                            (buf.len() as u64 + f.frame_left, f.compound, f.unit_ts);
                        let step = self.st.unit(cx, dir, &buf, frame_left, compound, ts);
                        let f = &mut self.fr[d];
                        f.buf = buf;
                        match step {
                            Step::Need(n) if n > f.buf.len() && n as u64 <= frame_left => {
                                f.want = n
                            }
                            Step::Need(_) => {
                                cx.count(Counter::MalformedSmb);
                                f.release();
                                f.skip = f.frame_left;
                                f.state = FrameState::Skip;
                            }
                            Step::Done(len) => {
                                let seen = f.buf.len() as u64;
                                f.release();
                                f.skip_then_next(len.saturating_sub(seen).min(f.frame_left));
                            }
                            Step::Resync => {
                                cx.count(Counter::MalformedSmb);
                                f.lose();
                                self.st.pipes_gap(cx, dir, 0);
                            }
                        }
                    }
                }
                FrameState::Resync => {
                    // A header may straddle the previous input and this one.
                    let head = &data[..data.len().min(parse::NB_HEADER + 4)];
                    let mut joined = std::mem::take(&mut f.carry);
                    let carried = joined.len();
                    joined.extend_from_slice(head);
                    if let Some(p) = parse::find_resync(&joined).filter(|&p| p < carried) {
                        f.state = FrameState::NbHeader;
                        f.hdr_len = 0;
                        self.feed(cx, dir, &joined[p..carried]);
                        continue;
                    }
                    if let Some(p) = parse::find_resync(data) {
                        f.state = FrameState::NbHeader;
                        f.hdr_len = 0;
                        data = &data[p..];
                        continue;
                    }
                    if data.len() >= RESYNC_CARRY {
                        joined.clear();
                        joined.extend_from_slice(&data[data.len() - RESYNC_CARRY..]);
                    } else {
                        let keep = joined.len().min(RESYNC_CARRY);
                        joined.drain(..joined.len() - keep);
                    }
                    f.carry = joined;
                    data = &[];
                }
            }
        }
    }
}
