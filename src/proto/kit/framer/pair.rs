//! The two framers of a connection, one per direction, made when its first bytes come.

use super::{Event, Framer};
use crate::proto::Dir;

/// A [`Framer`] per direction, made with the decoder's cap on first use (a connection that never
/// carries a byte for the decoder holds none) and dropped with [`Framers::clear`] when the
/// stream is no longer read.
#[derive(Debug, Default)]
pub struct Framers(Option<[Framer; 2]>);

impl Framers {
    /// Both framers, made with `cap` if they do not exist yet.
    pub fn both(&mut self, cap: usize) -> &mut [Framer; 2] {
        self.0
            .get_or_insert_with(|| [Framer::new(cap), Framer::new(cap)])
    }

    /// The framer of `dir`, made with `cap` if they do not exist yet.
    pub fn dir(&mut self, cap: usize, dir: Dir) -> &mut Framer {
        &mut self.both(cap)[dir.idx()]
    }

    /// The framer of `dir`, if made.
    pub fn get(&self, dir: Dir) -> Option<&Framer> {
        self.0.as_ref().map(|f| &f[dir.idx()])
    }

    /// Drops both framers and what they hold.
    pub fn clear(&mut self) {
        self.0 = None;
    }

    /// Closes both framers (if made), each reporting what it held to `on`.
    pub fn close(&mut self, on: &mut dyn FnMut(Event<'_>)) {
        for f in self.0.iter_mut().flatten() {
            f.close(on);
        }
    }

    /// Bytes both framers hold.
    pub fn buffered(&self) -> usize {
        self.0.iter().flatten().map(Framer::buffered).sum()
    }

    /// Bytes the fuller of the two holds (a decoder's caps are per direction).
    pub fn buffered_one_way(&self) -> usize {
        self.0
            .iter()
            .flatten()
            .map(Framer::buffered)
            .max()
            .unwrap_or(0)
    }
}
