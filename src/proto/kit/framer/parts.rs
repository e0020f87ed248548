//! The stepwise side of the framer: the parts of a PDU read by [`Head::Steps`](super::Head::Steps), shown to the
//! decoder ([`Event::Part`]) in place or gathered, and its answers ([`Step`]) carried out.

use super::{Event, Framer, Step, MAX_HEAD};
use crate::record::Ts;

impl Framer {
    /// A stepwise PDU of `body` bytes after its header begins.
    pub(super) fn begin_parts(&mut self, body: usize) {
        self.parts = body > 0;
        self.left = body as u64;
        self.first = true;
    }

    /// The part was handled: the PDU's next part follows, if any.
    pub(super) fn part_done(&mut self) {
        self.first = false;
        if self.left == 0 {
            self.parts = false;
        }
    }

    pub(super) fn end_parts(&mut self) {
        self.parts = false;
        self.left = 0;
    }

    /// Reads a part of the stepwise PDU from `d` (not empty) and acts on the decoder's answer;
    /// returns the data that follows.
    pub(super) fn part<'d, O>(&mut self, now: Ts, mut d: &'d [u8], on: &mut O) -> &'d [u8]
    where
        O: FnMut(Event<'_>) -> Step,
    {
        let avail = usize::try_from(self.left).map_or(d.len(), |l| l.min(d.len()));
        if self.buf.is_empty() {
            let want = usize::try_from(self.left).map_or(MAX_HEAD, |l| l.min(MAX_HEAD));
            if avail >= want {
                // The part is in the chunk: shown in place.
                let left = self.left;
                let part = &d[..avail];
                match on(Event::Part {
                    start: now,
                    part,
                    left,
                    first: self.first,
                }) {
                    Step::Need(n) if n > avail && n as u64 <= left && n <= self.cap => {
                        self.buf.extend_from_slice(part);
                        self.start = now;
                        self.marks.clear();
                        self.marks.push((0, now));
                        self.left -= avail as u64;
                        self.want = n;
                        return &d[avail..];
                    }
                    Step::Need(_) => self.unmet(left, on),
                    Step::Done(len) => {
                        let len = len.min(left).max(1);
                        let took = len.min(avail as u64);
                        self.left -= took;
                        self.skip_rest(len - took);
                        return &d[took as usize..];
                    }
                    Step::Lost => {
                        self.end_parts();
                        self.bad(part, on);
                    }
                }
                return d;
            }
            self.start = now;
            self.want = want;
            self.marks.clear();
        }
        loop {
            let avail = usize::try_from(self.left).map_or(d.len(), |l| l.min(d.len()));
            let n = self.want.saturating_sub(self.buf.len()).min(avail);
            if n > 0 {
                self.marks.push((self.buf.len(), now));
                self.buf.extend_from_slice(&d[..n]);
                self.left -= n as u64;
                d = &d[n..];
            }
            if self.buf.len() < self.want {
                return d;
            }
            let total = self.buf.len() as u64 + self.left;
            match on(Event::Part {
                start: self.start,
                part: &self.buf,
                left: total,
                first: self.first,
            }) {
                Step::Need(n) if n > self.buf.len() && n as u64 <= total && n <= self.cap => {
                    self.want = n;
                    continue;
                }
                Step::Need(_) => {
                    self.release();
                    self.unmet(total, on);
                }
                Step::Done(len) => {
                    let len = usize::try_from(len.max(1)).unwrap_or(usize::MAX);
                    if len < self.buf.len() {
                        // The part ended inside the gathered bytes: the rest is the next part's
                        // start, from the time its first byte came.
                        let rest = self.buf.split_off(len);
                        let start = self.marks.iter().rev().find(|m| m.0 <= len).map(|m| m.1);
                        self.marks.retain(|m| m.0 > len);
                        for m in &mut self.marks {
                            m.0 -= len;
                        }
                        self.marks.insert(0, (0, start.unwrap_or(self.start)));
                        self.start = self.marks[0].1;
                        self.buf = rest;
                        self.first = false;
                        self.want = usize::try_from(self.buf.len() as u64 + self.left)
                            .map_or(MAX_HEAD, |l| l.min(MAX_HEAD));
                        continue;
                    }
                    let seen = self.buf.len();
                    self.release();
                    self.skip_rest(((len - seen) as u64).min(self.left));
                }
                Step::Lost => {
                    let gathered = std::mem::take(&mut self.buf);
                    self.release();
                    self.end_parts();
                    self.bad(&gathered, on);
                }
            }
            return d;
        }
    }

    /// The part was handled except for `n` bytes to skip unread.
    fn skip_rest(&mut self, n: u64) {
        self.skip = n;
        self.skip_counted = false;
        if n == 0 {
            self.part_done();
        }
    }

    /// A part's [`Step::Need`] cannot be met: the rest of the PDU (`left` bytes from the part's
    /// first on; what is not taken from the input yet is skipped) goes by unread.
    fn unmet<O: FnMut(Event<'_>) -> Step>(&mut self, left: u64, on: &mut O) {
        on(Event::Unmet { left });
        self.first = false;
        self.skip_rest(self.left);
    }
}
