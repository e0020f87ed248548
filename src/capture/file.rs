//! Capture files: pcap (microsecond and nanosecond, either byte order) and pcapng (several
//! sections, several interfaces with their own link types, time resolutions and offsets).
//!
//! The reader is our own, not libpcap's. A regular file is memory-mapped ([`map`]) and frames
//! borrow the map, so no byte is copied to read it; a FIFO or standard input is read through one
//! large reusable buffer that frames borrow. Either way reading allocates nothing per packet. Every length in the file
//! is checked against a cap before anything is sized by it. A file cut short (a capture copied
//! while it was written, a disk full) yields every complete frame, then ends with
//! [`FileSource::warning`] naming the byte where it stopped.

pub mod map;

use super::{CaptureError, Frame, LinkType};
use crate::record::Ts;
use map::Map;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::sync::Arc;

mod pcapng;

/// The initial size of the read buffer (it grows, up to [`MAX_BLOCK`], for larger records).
const BUF_SIZE: usize = 1 << 20;
/// The largest pcapng block or pcap record accepted; anything larger is taken as corruption.
pub const MAX_BLOCK: usize = 64 << 20;
/// pcap records may exceed the header's snap length by this much before they count as corrupt
/// (some writers record a smaller snap length than they used).
const SNAP_SLACK: usize = 64 * 1024;
/// pcap files with a snap length below this are still allowed records up to it.
const MIN_SNAP: usize = 262_144;

const PCAPNG_SHB: u32 = 0x0A0D_0D0A;
const PCAPNG_IDB: u32 = 1;
const PCAPNG_PB: u32 = 2;
const PCAPNG_SPB: u32 = 3;
const PCAPNG_EPB: u32 = 6;

/// One pcapng interface (Interface Description Block).
#[derive(Debug, Clone, Copy)]
struct Iface {
    link: LinkType,
    snaplen: u32,
    /// Timestamp ticks per second (`if_tsresol`).
    units: u64,
    /// Seconds added to every timestamp (`if_tsoffset`).
    offset: i64,
}

enum Format {
    Pcap {
        be: bool,
        nanos: bool,
        link: LinkType,
        cap: usize,
    },
    Pcapng {
        be: bool,
        ifaces: Vec<Iface>,
    },
}

/// Where a frame lies in the buffer (kept apart from the borrow so the reading loop can mutate).
struct Loc {
    ts: Ts,
    link: LinkType,
    start: usize,
    len: usize,
    orig_len: u32,
}

enum Step {
    Frame(Loc),
    /// A block that is not a frame (or a frame skipped) was consumed.
    Other,
    /// In `open`: a packet block is next and was left unread.
    PacketAhead,
    End,
}

/// A capture file read frame by frame.
pub struct FileSource {
    name: String,
    reader: Box<dyn Read + Send>,
    buf: Vec<u8>,
    /// The whole file when it is mapped; then `buf` stays empty, `end` is the file's length and
    /// `eof` is set from the start.
    map: Option<Arc<Map>>,
    /// Unconsumed bytes are `data()[pos..end]` (`data()` is the map or `buf`).
    pos: usize,
    end: usize,
    /// File offset of `buf[0]`.
    base: u64,
    eof: bool,
    done: bool,
    format: Format,
    warning: Option<String>,
    skipped: u64,
    last_ts: Ts,
}

#[inline]
fn rd16(b: &[u8], at: usize, be: bool) -> u16 {
    let v = [
        b.get(at).copied().unwrap_or(0),
        b.get(at + 1).copied().unwrap_or(0),
    ];
    if be {
        u16::from_be_bytes(v)
    } else {
        u16::from_le_bytes(v)
    }
}

#[inline]
fn rd32(b: &[u8], at: usize, be: bool) -> u32 {
    let v = match b.get(at..at + 4) {
        Some(s) => [s[0], s[1], s[2], s[3]],
        None => return 0,
    };
    if be {
        u32::from_be_bytes(v)
    } else {
        u32::from_le_bytes(v)
    }
}

/// Converts a pcapng timestamp in `units` ticks per second plus `offset` seconds to nanoseconds
/// since the epoch (clamped at 0 and at the largest [`Ts`]).
fn pcapng_ts(ticks: u64, units: u64, offset: i64) -> Ts {
    let ns: i128 = match units {
        1_000_000 => ticks as i128 * 1000,
        1_000_000_000 => ticks as i128,
        0 => 0,
        u => {
            let secs = (ticks / u) as i128;
            let frac = (ticks % u) as u128 * 1_000_000_000 / u as u128;
            secs * 1_000_000_000 + frac as i128
        }
    };
    let ns = ns + offset as i128 * 1_000_000_000;
    ns.clamp(0, u64::MAX as i128) as Ts
}

/// How long a FIFO may stay silent before [`FileSource::open`] says it is waiting.
pub const FIFO_NOTICE: std::time::Duration = std::time::Duration::from_secs(3);

/// Warns once when a FIFO has not given a capture header after [`FIFO_NOTICE`]; dropping it
/// (the header came, or opening failed) calls the warning off.
struct Waiting(Option<std::sync::Arc<std::sync::atomic::AtomicBool>>);

impl Waiting {
    fn start(path: &Path, name: &str) -> Waiting {
        use std::os::unix::fs::FileTypeExt;
        let meta = if name == "-" {
            std::fs::metadata("/dev/stdin")
        } else {
            std::fs::metadata(path)
        };
        if !meta.is_ok_and(|m| m.file_type().is_fifo()) {
            return Waiting(None);
        }
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = done.clone();
        let name = name.to_string();
        let spawned = std::thread::Builder::new()
            .name("dcsensor-fifo-notice".into())
            .spawn(move || {
                let until = std::time::Instant::now() + FIFO_NOTICE;
                while std::time::Instant::now() < until {
                    if flag.load(std::sync::atomic::Ordering::Relaxed) {
                        return;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                if !flag.load(std::sync::atomic::Ordering::Relaxed) {
                    tracing::warn!(
                        "{name}: waiting for a capture on this FIFO: nothing has been written to it after {} s; start the program that writes the capture (e.g. tcpdump -w {name}), or stop with Ctrl-C",
                        FIFO_NOTICE.as_secs()
                    );
                }
            });
        Waiting(spawned.ok().map(|_| done))
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if let Some(done) = &self.0 {
            done.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

impl FileSource {
    /// Opens `path` (`-` is standard input) and reads its header. A FIFO (or standard input
    /// from one) that yields nothing for [`FIFO_NOTICE`] gets a warning saying what it waits for.
    pub fn open(path: &Path) -> Result<Self, CaptureError> {
        let name = path.display().to_string();
        let _notice = Waiting::start(path, &name);
        if name == "-" {
            return Self::from_reader(name, io::stdin());
        }
        match File::open(path) {
            Ok(f) => match Map::of(&f) {
                Some(map) => Self::from_map(name, Arc::new(map)),
                None => Self::from_reader(name, f),
            },
            Err(e) => {
                let hint = match e.kind() {
                    io::ErrorKind::NotFound => "; check the path",
                    io::ErrorKind::PermissionDenied => "; run as a user that may read it",
                    _ => "",
                };
                Err(CaptureError::Open {
                    source: name,
                    reason: format!("{e}{hint}"),
                })
            }
        }
    }

    /// Reads a capture from any reader (`name` names it in messages).
    pub fn from_reader<R: Read + Send + 'static>(
        name: impl Into<String>,
        reader: R,
    ) -> Result<Self, CaptureError> {
        Self::with_buffer(name.into(), Box::new(reader), BUF_SIZE)
    }

    /// Reads a capture held in memory.
    pub fn from_bytes(name: impl Into<String>, bytes: Vec<u8>) -> Result<Self, CaptureError> {
        // No need for a buffer larger than the capture (it grows if a record needs more).
        let size = bytes.len().clamp(64, BUF_SIZE);
        Self::with_buffer(name.into(), Box::new(io::Cursor::new(bytes)), size)
    }

    /// Reads a mapped file: frames borrow the map.
    fn from_map(name: String, map: Arc<Map>) -> Result<Self, CaptureError> {
        let len = map.bytes().len();
        Self::build(name, Box::new(io::empty()), Vec::new(), Some(map), len)
    }

    fn with_buffer(
        name: String,
        reader: Box<dyn Read + Send>,
        size: usize,
    ) -> Result<Self, CaptureError> {
        Self::build(name, reader, vec![0; size], None, 0)
    }

    fn build(
        name: String,
        reader: Box<dyn Read + Send>,
        buf: Vec<u8>,
        map: Option<Arc<Map>>,
        end: usize,
    ) -> Result<Self, CaptureError> {
        let eof = map.is_some();
        let mut s = FileSource {
            name,
            reader,
            buf,
            map,
            pos: 0,
            end,
            base: 0,
            eof,
            done: false,
            format: Format::Pcapng {
                be: false,
                ifaces: Vec::new(),
            },
            warning: None,
            skipped: 0,
            last_ts: 0,
        };
        s.read_header()?;
        Ok(s)
    }

    /// The next frame, `Ok(None)` at the end of the file (or where a truncated file stops:
    /// see [`FileSource::warning`]).
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, CaptureError> {
        let loc = loop {
            if self.done {
                return Ok(None);
            }
            let step = match self.step(false) {
                Ok(s) => s,
                Err(e) => {
                    self.done = true;
                    return Err(e);
                }
            };
            match step {
                Step::Frame(loc) => break loc,
                Step::Other | Step::PacketAhead => continue,
                Step::End => {
                    self.done = true;
                    return Ok(None);
                }
            }
        };
        self.last_ts = loc.ts;
        if let Some(map) = &self.map {
            // Nothing before this frame is looked at again (by this reader).
            map.release_to(loc.start);
        }
        let data = self
            .data()
            .get(loc.start..loc.start + loc.len)
            .unwrap_or(&[]);
        Ok(Some(Frame {
            ts: loc.ts,
            link: loc.link,
            data,
            orig_len: loc.orig_len,
        }))
    }

    /// Set when the file ended in the middle of a record: names the file and the byte offset.
    pub fn warning(&self) -> Option<String> {
        self.warning.clone()
    }

    /// Bytes of the file consumed so far.
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// The file's name as given.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Frames skipped because their pcapng interface has a link type dcsensor does not decode.
    pub fn skipped_unsupported(&self) -> u64 {
        self.skipped
    }

    /// The link type of a pcap file, or of the first supported interface of a pcapng section.
    pub fn link(&self) -> Option<LinkType> {
        match &self.format {
            Format::Pcap { link, .. } => Some(*link),
            Format::Pcapng { ifaces, .. } => ifaces.iter().map(|i| i.link).find(|l| l.supported()),
        }
    }

    /// The bytes `pos` and `end` index: the map, or the read buffer.
    #[inline]
    fn data(&self) -> &[u8] {
        match &self.map {
            Some(m) => m.bytes(),
            None => &self.buf,
        }
    }

    /// Whether the file is read through a memory map (see [`map`]).
    pub fn is_mapped(&self) -> bool {
        self.map.is_some()
    }

    /// The memory map the frames borrow, when the file is mapped.
    pub fn map(&self) -> Option<&Arc<Map>> {
        self.map.as_ref()
    }

    fn avail(&self) -> usize {
        self.end - self.pos
    }

    /// Makes `n` bytes available at `buf[pos..]`; false when the input ends first.
    fn fill(&mut self, n: usize) -> Result<bool, CaptureError> {
        if self.avail() >= n {
            return Ok(true);
        }
        if self.eof {
            return Ok(false);
        }
        if self.pos + n > self.buf.len() {
            // Move what is left to the front, and grow when one record needs more.
            self.buf.copy_within(self.pos..self.end, 0);
            self.base += self.pos as u64;
            self.end -= self.pos;
            self.pos = 0;
            if n > self.buf.len() {
                let grown = (self.buf.len() * 2).min(MAX_BLOCK).max(n);
                self.buf.resize(grown, 0);
            }
        }
        while self.avail() < n {
            let Some(room) = self.buf.get_mut(self.end..) else {
                break;
            };
            if room.is_empty() {
                break;
            }
            match self.reader.read(room) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(k) => self.end += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(CaptureError::Read {
                        source: self.name.clone(),
                        offset: self.base + self.end as u64,
                        reason: e.to_string(),
                    })
                }
            }
        }
        Ok(self.avail() >= n)
    }

    fn corrupt(&self, reason: String) -> CaptureError {
        CaptureError::Read {
            source: self.name.clone(),
            offset: self.offset(),
            reason,
        }
    }

    fn not_a_capture(&self, reason: String) -> CaptureError {
        CaptureError::NotACapture {
            source: self.name.clone(),
            reason,
        }
    }

    /// The input ended where `need` bytes of a `what` were expected: a clean end between records,
    /// or a cut that leaves a warning.
    fn ended(&mut self, what: &str, need: usize) -> Step {
        if self.avail() > 0 {
            self.warning = Some(format!(
                "{}: file ends in the middle of a {what} at byte {} ({} of {need} bytes present); the frames before it were read",
                self.name,
                self.offset(),
                self.avail()
            ));
        }
        self.done = true;
        Step::End
    }

    fn read_header(&mut self) -> Result<(), CaptureError> {
        if !self.fill(4)? {
            let reason = if self.avail() == 0 {
                "the file is empty".to_string()
            } else {
                format!("the file is only {} bytes long", self.avail())
            };
            return Err(self.not_a_capture(reason));
        }
        let magic = [
            self.data()[self.pos],
            self.data()[self.pos + 1],
            self.data()[self.pos + 2],
            self.data()[self.pos + 3],
        ];
        let pcap = match magic {
            [0xd4, 0xc3, 0xb2, 0xa1] => Some((false, false)),
            [0xa1, 0xb2, 0xc3, 0xd4] => Some((true, false)),
            [0x4d, 0x3c, 0xb2, 0xa1] => Some((false, true)),
            [0xa1, 0xb2, 0x3c, 0x4d] => Some((true, true)),
            _ => None,
        };
        if let Some((be, nanos)) = pcap {
            if !self.fill(24)? {
                return Err(self.not_a_capture(format!(
                    "the file ends at byte {} inside the 24-byte pcap file header",
                    self.avail()
                )));
            }
            let h = &self.data()[self.pos..self.pos + 24];
            let major = rd16(h, 4, be);
            let snaplen = rd32(h, 16, be);
            let link = LinkType(rd32(h, 20, be) & 0xFFFF);
            if major != 2 {
                return Err(
                    self.not_a_capture(format!("pcap version {major} (only version 2 exists)"))
                );
            }
            if !link.supported() {
                return Err(CaptureError::UnsupportedLink {
                    source: self.name.clone(),
                    link,
                });
            }
            let cap = (snaplen as usize).clamp(MIN_SNAP, MAX_BLOCK) + SNAP_SLACK;
            self.pos += 24;
            self.format = Format::Pcap {
                be,
                nanos,
                link,
                cap,
            };
            return Ok(());
        }
        if magic == PCAPNG_SHB.to_le_bytes() {
            // The first section header: its problems mean this is no capture.
            match self.step(true) {
                Ok(Step::End) if self.warning.is_some() => {
                    return Err(self.not_a_capture(format!(
                        "the file ends at byte {} inside the first pcapng section header",
                        self.avail()
                    )))
                }
                Ok(_) => {}
                Err(CaptureError::Read { reason, .. }) => return Err(self.not_a_capture(reason)),
                Err(e) => return Err(e),
            }
            // Interfaces and other blocks up to the first packet.
            while !self.done {
                match self.step(true)? {
                    Step::PacketAhead | Step::End => break,
                    Step::Frame(_) | Step::Other => {}
                }
            }
            if let Format::Pcapng { ifaces, .. } = &self.format {
                if let Some(first) = ifaces.first() {
                    if !ifaces.iter().any(|i| i.link.supported()) {
                        return Err(CaptureError::UnsupportedLink {
                            source: self.name.clone(),
                            link: first.link,
                        });
                    }
                }
            }
            return Ok(());
        }
        let reason = match magic {
            [0xa1, 0xb2, 0xcd, 0x34] | [0x34, 0xcd, 0xb2, 0xa1] => {
                "a modified (Kuznetzov) pcap, which dcsensor does not read; convert it with editcap -F pcap".to_string()
            }
            _ => format!("unknown magic number {:02x}{:02x}{:02x}{:02x}", magic[0], magic[1], magic[2], magic[3]),
        };
        Err(self.not_a_capture(reason))
    }

    fn step(&mut self, opening: bool) -> Result<Step, CaptureError> {
        match self.format {
            Format::Pcap {
                be,
                nanos,
                link,
                cap,
            } => self.pcap_record(be, nanos, link, cap),
            Format::Pcapng { .. } => self.pcapng_block(opening),
        }
    }

    fn pcap_record(
        &mut self,
        be: bool,
        nanos: bool,
        link: LinkType,
        cap: usize,
    ) -> Result<Step, CaptureError> {
        if !self.fill(16)? {
            return Ok(self.ended("pcap record header", 16));
        }
        let h = &self.data()[self.pos..self.pos + 16];
        let secs = rd32(h, 0, be) as u64;
        let frac = rd32(h, 4, be) as u64;
        let incl = rd32(h, 8, be) as usize;
        let orig = rd32(h, 12, be);
        if incl > cap {
            return Err(self.corrupt(format!(
                "a record of {incl} bytes is larger than the snap length allows: the file is corrupt"
            )));
        }
        if !self.fill(16 + incl)? {
            return Ok(self.ended("pcap record", 16 + incl));
        }
        let ts = secs * 1_000_000_000 + if nanos { frac } else { frac * 1000 };
        let start = self.pos + 16;
        self.pos = start + incl;
        Ok(Step::Frame(Loc {
            ts,
            link,
            start,
            len: incl,
            orig_len: orig.max(incl as u32),
        }))
    }
}

#[cfg(test)]
pub(crate) mod tests;

#[cfg(test)]
mod shared_corpus;
