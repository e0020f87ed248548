//! Where frames come from: capture files (pcap and pcapng, [`file`]) and live interfaces through
//! libpcap ([`live`]). Both yield [`Frame`]s, borrowed from the source's own buffer. The
//! pipeline reads any [`FrameSource`] (implemented for files and live interfaces in
//! [`crate::pipeline`]).

pub mod fanout;
pub mod file;
pub mod live;

use crate::record::Ts;
use file::map::Map;
use std::fmt;
use std::sync::Arc;

/// A link-layer header type (the pcap `LINKTYPE_*` value).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LinkType(pub u32);

impl LinkType {
    /// BSD loopback / null: a 4-byte address family in host byte order.
    pub const NULL: LinkType = LinkType(0);
    pub const ETHERNET: LinkType = LinkType(1);
    /// FDDI, with IP in 802.2 SNAP.
    pub const FDDI: LinkType = LinkType(10);
    /// Raw IP (IPv4 or IPv6 by the version nibble).
    pub const RAW: LinkType = LinkType(101);
    /// OpenBSD loopback: a 4-byte address family in network byte order.
    pub const LOOP: LinkType = LinkType(108);
    pub const LINUX_SLL: LinkType = LinkType(113);
    pub const IPV4: LinkType = LinkType(228);
    pub const IPV6: LinkType = LinkType(229);
    pub const LINUX_SLL2: LinkType = LinkType(276);
    /// The DLT_RAW value some systems write instead of 101.
    pub const RAW_ALT: LinkType = LinkType(12);

    /// Whether the packet layer can decode this link type.
    pub fn supported(self) -> bool {
        matches!(
            self.0,
            0 | 1 | 10 | 12 | 14 | 101 | 108 | 113 | 228 | 229 | 276
        )
    }
}

impl fmt::Display for LinkType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.0 {
            0 => "NULL",
            1 => "ETHERNET",
            10 => "FDDI",
            12 | 14 | 101 => "RAW",
            108 => "LOOP",
            113 => "LINUX_SLL",
            228 => "IPV4",
            229 => "IPV6",
            276 => "LINUX_SLL2",
            _ => return write!(f, "link type {}", self.0),
        };
        write!(f, "{name} ({})", self.0)
    }
}

/// One captured frame.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    pub ts: Ts,
    pub link: LinkType,
    /// The captured bytes (possibly fewer than `orig_len` when a snap length cut them).
    pub data: &'a [u8],
    /// The frame's length on the wire.
    pub orig_len: u32,
}

/// Why a capture could not be read. The message names the file or interface and what to do.
#[derive(Debug)]
pub enum CaptureError {
    /// The source could not be opened (missing file, no permission, no such interface, ...).
    Open { source: String, reason: String },
    /// The file is not a pcap or pcapng capture.
    NotACapture { source: String, reason: String },
    /// The capture uses a link type dcsensor does not decode.
    UnsupportedLink { source: String, link: LinkType },
    /// Reading failed in the middle (I/O error, or a corrupt block that cannot be skipped).
    Read {
        source: String,
        offset: u64,
        reason: String,
    },
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaptureError::Open { source, reason } => write!(f, "{source}: cannot open: {reason}"),
            CaptureError::NotACapture { source, reason } => write!(
                f,
                "{source}: not a pcap or pcapng capture ({reason}); give dcsensor a file written by tcpdump, tshark or dumpcap"
            ),
            CaptureError::UnsupportedLink { source, link } => write!(
                f,
                "{source}: unsupported {link}; dcsensor decodes Ethernet, Linux cooked (SLL, SLL2), raw IP, BSD loopback and FDDI: re-capture on such an interface"
            ),
            CaptureError::Read { source, offset, reason } => {
                write!(f, "{source}: read error at byte {offset}: {reason}")
            }
        }
    }
}

impl std::error::Error for CaptureError {}

/// What one call to [`FrameSource::next`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// One frame or more were handed to the callback (a live source hands every frame
    /// waiting in its ring in one step).
    Frame,
    /// Nothing arrived for a while (live capture read timeout): a chance to flush and check
    /// for a stop.
    Idle,
    /// The source is exhausted.
    End,
}

/// A source of frames: capture files in turn, or a live interface.
pub trait FrameSource {
    /// Reads the next frame, or the next frames that are waiting, and hands each to `f` (frames
    /// borrow the source's buffer for the call).
    fn next<F: FnMut(Frame<'_>)>(&mut self, f: F) -> Result<Step, CaptureError>;
    /// Like [`FrameSource::next`], and names the memory map the frame lies in when the source
    /// reads one ([`file::map::Map`]), so that the frame's bytes can be borrowed beyond the call.
    fn next_mapped<F: FnMut(Frame<'_>, Option<&Arc<Map>>)>(
        &mut self,
        mut f: F,
    ) -> Result<Step, CaptureError> {
        self.next(|frame| f(frame, None))
    }
    /// Whether packet time drives the clock (replay) rather than the wall clock (live).
    fn is_replay(&self) -> bool;
    /// Kernel and interface drop totals so far (live).
    fn drops(&mut self) -> Option<(u64, u64)> {
        None
    }
    /// Warnings collected so far (truncated files).
    fn warnings(&self) -> Vec<String> {
        Vec::new()
    }
    /// Total bytes to read, if known (for the progress bar).
    fn total_bytes(&self) -> Option<u64> {
        None
    }
    /// Bytes read so far.
    fn bytes_read(&self) -> u64 {
        0
    }
    /// Replaces the capture filter (live; a no-op for files).
    fn set_filter(&mut self, _bpf: &str) -> Result<(), CaptureError> {
        Ok(())
    }
    /// Whether every packet of this source's flows comes through this source alone: a member
    /// of a kernel fanout group ([`fanout`]), which the kernel gives every packet between two
    /// hosts. Its capture thread can then run a flow table of its own.
    fn owns_its_flows(&self) -> bool {
        false
    }
}
