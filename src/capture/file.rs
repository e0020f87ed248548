//! Capture files: pcap (microsecond and nanosecond, either byte order) and pcapng (several
//! sections, several interfaces with their own link types, time resolutions and offsets).
//!
//! The reader is our own, not libpcap's: it reads through one large reusable buffer and hands
//! out frames that borrow it, so reading allocates nothing per packet. Every length in the file
//! is checked against a cap before anything is sized by it. A file cut short (a capture copied
//! while it was written, a disk full) yields every complete frame, then ends with
//! [`FileSource::warning`] naming the byte where it stopped.

use super::{CaptureError, Frame, LinkType};
use crate::record::Ts;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

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
    /// Unconsumed bytes are `buf[pos..end]`.
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

impl FileSource {
    /// Opens `path` (`-` is standard input) and reads its header.
    pub fn open(path: &Path) -> Result<Self, CaptureError> {
        let name = path.display().to_string();
        if name == "-" {
            return Self::from_reader(name, io::stdin());
        }
        match File::open(path) {
            Ok(f) => Self::from_reader(name, f),
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

    fn with_buffer(
        name: String,
        reader: Box<dyn Read + Send>,
        size: usize,
    ) -> Result<Self, CaptureError> {
        let mut s = FileSource {
            name,
            reader,
            buf: vec![0; size],
            pos: 0,
            end: 0,
            base: 0,
            eof: false,
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
        let data = self.buf.get(loc.start..loc.start + loc.len).unwrap_or(&[]);
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
            self.buf[self.pos],
            self.buf[self.pos + 1],
            self.buf[self.pos + 2],
            self.buf[self.pos + 3],
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
            let h = &self.buf[self.pos..self.pos + 24];
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
        let h = &self.buf[self.pos..self.pos + 16];
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

    fn pcapng_block(&mut self, opening: bool) -> Result<Step, CaptureError> {
        if !self.fill(8)? {
            return Ok(self.ended("pcapng block header", 8));
        }
        let Format::Pcapng { be, .. } = self.format else {
            return Ok(Step::End);
        };
        let mut be = be;
        let btype = rd32(&self.buf, self.pos, be);
        if btype == PCAPNG_SHB {
            if !self.fill(12)? {
                return Ok(self.ended("pcapng section header", 12));
            }
            be = match self.buf.get(self.pos + 8..self.pos + 12) {
                Some([0x4d, 0x3c, 0x2b, 0x1a]) => false,
                Some([0x1a, 0x2b, 0x3c, 0x4d]) => true,
                _ => {
                    return Err(
                        self.corrupt("a pcapng section header with a bad byte-order magic".into())
                    )
                }
            };
        } else if opening && matches!(btype, PCAPNG_EPB | PCAPNG_SPB | PCAPNG_PB) {
            return Ok(Step::PacketAhead);
        }
        let blen = rd32(&self.buf, self.pos + 4, be) as usize;
        if blen < 12 || blen % 4 != 0 || blen > MAX_BLOCK {
            return Err(self.corrupt(format!(
                "a pcapng block of type {btype:#x} claims {blen} bytes: the file is corrupt"
            )));
        }
        if !self.fill(blen)? {
            return Ok(self.ended("pcapng block", blen));
        }
        let start = self.pos;
        if rd32(&self.buf, start + blen - 4, be) as usize != blen {
            return Err(self.corrupt(format!(
                "a pcapng block of type {btype:#x} has different lengths at its start and end: the file is corrupt"
            )));
        }
        let body_start = start + 8;
        let body_len = blen - 12;
        let body = &self.buf[body_start..body_start + body_len];
        let step = match btype {
            PCAPNG_SHB => {
                let major = rd16(body, 4, be);
                if body_len < 16 || major != 1 {
                    return Err(self.corrupt(format!(
                        "pcapng section header of version {major} (only 1 exists)"
                    )));
                }
                self.format = Format::Pcapng {
                    be,
                    ifaces: Vec::new(),
                };
                Step::Other
            }
            PCAPNG_IDB => {
                if body_len < 8 {
                    return Err(self.corrupt(
                        "a pcapng interface description block shorter than 8 bytes".into(),
                    ));
                }
                let link = LinkType(rd16(body, 0, be) as u32);
                let snaplen = rd32(body, 4, be);
                let mut iface = Iface {
                    link,
                    snaplen,
                    units: 1_000_000,
                    offset: 0,
                };
                let mut o = 8;
                while o + 4 <= body_len {
                    let code = rd16(body, o, be);
                    let len = rd16(body, o + 2, be) as usize;
                    let Some(val) = body.get(o + 4..o + 4 + len) else {
                        break;
                    };
                    match (code, len) {
                        (0, _) => break,
                        (9, 1) => {
                            let r = val[0];
                            let units = if r & 0x80 != 0 {
                                1u64.checked_shl((r & 0x7f) as u32)
                                    .filter(|_| r & 0x7f < 64)
                            } else {
                                10u64.checked_pow(r as u32)
                            };
                            match units {
                                Some(u) => iface.units = u,
                                None => {
                                    return Err(self.corrupt(format!(
                                        "pcapng if_tsresol {r:#x} is out of range"
                                    )));
                                }
                            }
                        }
                        (14, 8) => {
                            let v = [
                                val[0], val[1], val[2], val[3], val[4], val[5], val[6], val[7],
                            ];
                            iface.offset = if be {
                                i64::from_be_bytes(v)
                            } else {
                                i64::from_le_bytes(v)
                            };
                        }
                        _ => {}
                    }
                    o += 4 + len.div_ceil(4) * 4;
                }
                if let Format::Pcapng { ifaces, .. } = &mut self.format {
                    if ifaces.len() >= 65_536 {
                        return Err(
                            self.corrupt("more than 65536 pcapng interfaces in one section".into())
                        );
                    }
                    ifaces.push(iface);
                }
                Step::Other
            }
            PCAPNG_EPB | PCAPNG_PB => {
                if body_len < 20 {
                    return Err(
                        self.corrupt("a pcapng packet block shorter than its fixed fields".into())
                    );
                }
                let (ifid, th, tl) = if btype == PCAPNG_EPB {
                    (
                        rd32(body, 0, be) as usize,
                        rd32(body, 4, be),
                        rd32(body, 8, be),
                    )
                } else {
                    (
                        rd16(body, 0, be) as usize,
                        rd32(body, 4, be),
                        rd32(body, 8, be),
                    )
                };
                let caplen = rd32(body, 12, be) as usize;
                let orig = rd32(body, 16, be);
                if caplen > body_len - 20 {
                    return Err(self.corrupt(format!(
                        "a pcapng packet block claims {caplen} captured bytes in a {blen}-byte block: the file is corrupt"
                    )));
                }
                let iface = self.iface(ifid)?;
                if iface.link.supported() {
                    let ticks = ((th as u64) << 32) | tl as u64;
                    let ts = pcapng_ts(ticks, iface.units, iface.offset);
                    Step::Frame(Loc {
                        ts,
                        link: iface.link,
                        start: body_start + 20,
                        len: caplen,
                        orig_len: orig.max(caplen as u32),
                    })
                } else {
                    self.skipped += 1;
                    Step::Other
                }
            }
            PCAPNG_SPB => {
                if body_len < 4 {
                    return Err(
                        self.corrupt("a pcapng simple packet block shorter than 4 bytes".into())
                    );
                }
                let orig = rd32(body, 0, be);
                let iface = self.iface(0)?;
                let mut caplen = (orig as usize).min(body_len - 4);
                if iface.snaplen > 0 {
                    caplen = caplen.min(iface.snaplen as usize);
                }
                if iface.link.supported() {
                    Step::Frame(Loc {
                        ts: self.last_ts,
                        link: iface.link,
                        start: body_start + 4,
                        len: caplen,
                        orig_len: orig,
                    })
                } else {
                    self.skipped += 1;
                    Step::Other
                }
            }
            _ => Step::Other,
        };
        self.pos = start + blen;
        Ok(step)
    }

    fn iface(&self, id: usize) -> Result<Iface, CaptureError> {
        if let Format::Pcapng { ifaces, .. } = &self.format {
            if let Some(i) = ifaces.get(id) {
                return Ok(*i);
            }
        }
        Err(self.corrupt(format!(
            "a packet of interface {id}, which the section does not describe: the file is corrupt"
        )))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::path::PathBuf;

    /// A frame read back: timestamp, link type, bytes, length on the wire.
    pub(crate) type Owned = (Ts, LinkType, Vec<u8>, u32);

    pub(crate) fn lab(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("testdata-pcaps/lab")
            .join(name)
    }

    pub(crate) fn packet_testdata(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("src/packet/testdata")
            .join(name)
    }

    pub(crate) fn read_all(src: &mut FileSource) -> Vec<Owned> {
        let mut v = Vec::new();
        while let Some(f) = src.next_frame().unwrap() {
            v.push((f.ts, f.link, f.data.to_vec(), f.orig_len));
        }
        v
    }

    pub(crate) fn read_path(p: &Path) -> Vec<Owned> {
        let mut src = FileSource::open(p).unwrap();
        let v = read_all(&mut src);
        assert_eq!(src.warning(), None);
        v
    }

    fn put16(out: &mut Vec<u8>, be: bool, v: u16) {
        out.extend_from_slice(&if be { v.to_be_bytes() } else { v.to_le_bytes() });
    }

    fn put32(out: &mut Vec<u8>, be: bool, v: u32) {
        out.extend_from_slice(&if be { v.to_be_bytes() } else { v.to_le_bytes() });
    }

    /// Writes a pcap file (our test writer; its output is checked against the lab files).
    pub(crate) fn pcap_bytes(
        be: bool,
        nanos: bool,
        link: LinkType,
        snaplen: u32,
        frames: &[Owned],
    ) -> Vec<u8> {
        let mut o = Vec::new();
        put32(&mut o, be, if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 });
        put16(&mut o, be, 2);
        put16(&mut o, be, 4);
        put32(&mut o, be, 0);
        put32(&mut o, be, 0);
        put32(&mut o, be, snaplen);
        put32(&mut o, be, link.0);
        for (ts, _, data, orig) in frames {
            let div = if nanos { 1 } else { 1000 };
            put32(&mut o, be, (ts / 1_000_000_000) as u32);
            put32(&mut o, be, ((ts % 1_000_000_000) / div) as u32);
            put32(&mut o, be, data.len() as u32);
            put32(&mut o, be, *orig);
            o.extend_from_slice(data);
        }
        o
    }

    /// One pcapng block: type, body (padded here), in the given byte order.
    fn block(o: &mut Vec<u8>, be: bool, btype: u32, body: &[u8]) {
        let padded = body.len().div_ceil(4) * 4;
        let total = (12 + padded) as u32;
        put32(o, be, btype);
        put32(o, be, total);
        o.extend_from_slice(body);
        o.resize(o.len() + padded - body.len(), 0);
        put32(o, be, total);
    }

    pub(crate) fn shb(o: &mut Vec<u8>, be: bool) {
        let mut b = Vec::new();
        put32(&mut b, be, 0x1a2b_3c4d);
        put16(&mut b, be, 1);
        put16(&mut b, be, 0);
        b.extend_from_slice(&(-1i64).to_le_bytes());
        block(o, be, PCAPNG_SHB, &b);
    }

    pub(crate) fn idb(
        o: &mut Vec<u8>,
        be: bool,
        link: LinkType,
        snaplen: u32,
        tsresol: Option<u8>,
        tsoffset: Option<i64>,
    ) {
        let mut b = Vec::new();
        put16(&mut b, be, link.0 as u16);
        put16(&mut b, be, 0);
        put32(&mut b, be, snaplen);
        // An option we do not read first (if_name), then the two we do.
        put16(&mut b, be, 2);
        put16(&mut b, be, 3);
        b.extend_from_slice(b"lo\0\0");
        if let Some(r) = tsresol {
            put16(&mut b, be, 9);
            put16(&mut b, be, 1);
            b.extend_from_slice(&[r, 0, 0, 0]);
        }
        if let Some(off) = tsoffset {
            put16(&mut b, be, 14);
            put16(&mut b, be, 8);
            b.extend_from_slice(&if be {
                off.to_be_bytes()
            } else {
                off.to_le_bytes()
            });
        }
        put16(&mut b, be, 0);
        put16(&mut b, be, 0);
        block(o, be, PCAPNG_IDB, &b);
    }

    pub(crate) fn epb(o: &mut Vec<u8>, be: bool, iface: u32, ticks: u64, data: &[u8], orig: u32) {
        let mut b = Vec::new();
        put32(&mut b, be, iface);
        put32(&mut b, be, (ticks >> 32) as u32);
        put32(&mut b, be, ticks as u32);
        put32(&mut b, be, data.len() as u32);
        put32(&mut b, be, orig);
        b.extend_from_slice(data);
        b.resize(b.len().div_ceil(4) * 4, 0);
        // An epb_flags option, to be skipped.
        put16(&mut b, be, 2);
        put16(&mut b, be, 4);
        put32(&mut b, be, 1);
        put16(&mut b, be, 0);
        put16(&mut b, be, 0);
        block(o, be, PCAPNG_EPB, &b);
    }

    /// A simple packet block holding `data` cut to `snaplen`.
    fn spb(o: &mut Vec<u8>, be: bool, data: &[u8], snaplen: usize) {
        let mut b = Vec::new();
        put32(&mut b, be, data.len() as u32);
        b.extend_from_slice(&data[..data.len().min(snaplen)]);
        block(o, be, PCAPNG_SPB, &b);
    }

    fn obsolete_pb(o: &mut Vec<u8>, be: bool, iface: u16, ticks: u64, data: &[u8]) {
        let mut b = Vec::new();
        put16(&mut b, be, iface);
        put16(&mut b, be, 0);
        put32(&mut b, be, (ticks >> 32) as u32);
        put32(&mut b, be, ticks as u32);
        put32(&mut b, be, data.len() as u32);
        put32(&mut b, be, data.len() as u32);
        b.extend_from_slice(data);
        block(o, be, PCAPNG_PB, &b);
    }

    const DNS_TS1: Ts = 1_795_886_857_136_281_000;
    const DNS_LENS: [usize; 28] = [
        98, 138, 105, 153, 109, 157, 109, 157, 108, 156, 103, 151, 115, 163, 146, 194, 94, 158, 94,
        138, 99, 143, 105, 158, 105, 163, 99, 127,
    ];

    #[test]
    fn lab_pcap_frames_match_tshark() {
        let path = lab("05_benign_dns.pcap");
        let mut src = FileSource::open(&path).unwrap();
        assert_eq!(src.link(), Some(LinkType::ETHERNET));
        assert_eq!(src.name(), path.display().to_string());
        let frames = read_all(&mut src);
        assert_eq!(frames.len(), 28);
        let lens: Vec<usize> = frames.iter().map(|f| f.2.len()).collect();
        assert_eq!(lens, DNS_LENS);
        assert!(frames
            .iter()
            .all(|f| f.1 == LinkType::ETHERNET && f.3 as usize == f.2.len()));
        assert_eq!(frames[0].0, DNS_TS1);
        assert_eq!(frames[27].0, 1_795_886_857_140_990_000);
        assert_eq!(src.offset(), std::fs::metadata(&path).unwrap().len());
        assert_eq!(src.warning(), None);
        // After the end it stays at the end.
        assert!(src.next_frame().unwrap().is_none());
    }

    #[test]
    fn every_lab_capture_has_the_capinfos_frame_count() {
        let counts = [
            ("01_benign_kerberos_logon.pcap", 59),
            ("02_benign_smb_kerberos.pcap", 94),
            ("03_benign_smb_ntlm.pcap", 83),
            ("04_benign_rpc_queries.pcap", 127),
            ("05_benign_dns.pcap", 28),
            ("06_dns_zone_transfer.pcap", 20),
            ("07_dns_many_lookups.pcap", 800),
            ("10_attack_kerberoasting.pcap", 125),
            ("11_attack_asrep_roasting.pcap", 104),
            ("12_attack_dcsync.pcap", 132),
            ("13_attack_recon_samr_lsarpc.pcap", 359),
            ("14_attack_password_spray_kerberos.pcap", 44),
            ("15_attack_bruteforce_ntlm.pcap", 293),
            ("16_attack_account_enumeration.pcap", 126),
            ("17_attack_pass_the_hash.pcap", 217),
            ("18_attack_overpass_the_hash.pcap", 44),
            ("19_attack_golden_ticket.pcap", 66),
            ("20_attack_recon_samr_lsarpc_smb_cleartext.pcap", 361),
            ("21_attack_pass_the_hash_smb_cleartext.pcap", 222),
        ];
        for (name, n) in counts {
            assert_eq!(read_path(&lab(name)).len(), n, "{name}");
        }
    }

    #[test]
    fn pcap_both_byte_orders_and_resolutions_read_back_the_same_frames() {
        let frames = read_path(&lab("05_benign_dns.pcap"));
        for be in [false, true] {
            for nanos in [false, true] {
                // With nanosecond resolution, give the frames nanoseconds the microsecond file
                // could not hold.
                let want: Vec<Owned> = frames
                    .iter()
                    .enumerate()
                    .map(|(i, f)| {
                        (
                            f.0 + if nanos { 1 + i as u64 } else { 0 },
                            f.1,
                            f.2.clone(),
                            f.3 + 4,
                        )
                    })
                    .collect();
                let bytes = pcap_bytes(be, nanos, LinkType::ETHERNET, 262_144, &want);
                let mut src = FileSource::from_bytes("mem.pcap", bytes.clone()).unwrap();
                assert_eq!(read_all(&mut src), want, "be={be} nanos={nanos}");
                assert_eq!(src.offset(), bytes.len() as u64);
                assert_eq!(src.warning(), None);
            }
        }
        // Our writer reproduces the lab file byte for byte apart from its header.
        let orig = std::fs::read(lab("05_benign_dns.pcap")).unwrap();
        let ours = pcap_bytes(false, false, LinkType::ETHERNET, 262_144, &frames);
        assert_eq!(orig[24..], ours[24..]);
    }

    #[test]
    fn pcapng_written_by_mergecap_has_two_link_types() {
        let frames = read_path(&packet_testdata("merged-two-interfaces.pcapng"));
        assert_eq!(frames.len(), 14);
        let links: Vec<u32> = frames.iter().map(|f| f.1 .0).collect();
        assert_eq!(
            links,
            [276, 1, 276, 1, 276, 1, 276, 1, 276, 1, 276, 1, 276, 1]
        );
        let lens: Vec<usize> = frames.iter().map(|f| f.2.len()).collect();
        assert_eq!(
            lens,
            [1296, 1290, 1296, 1290, 536, 530, 1300, 1294, 1300, 1294, 612, 606, 62, 56]
        );
        assert_eq!(frames[0].0, 1_795_887_778_281_076_000);
        assert_eq!(frames[13].0, 1_795_887_778_281_444_000);
        // The same frames as the two pcaps it was merged from.
        let lo = read_path(&packet_testdata("lo-fragments.pcap"));
        let any = read_path(&packet_testdata("any-sll2-fragments.pcap"));
        for i in 0..7 {
            assert_eq!(frames[2 * i], any[i]);
            assert_eq!(frames[2 * i + 1], lo[i]);
        }
    }

    /// Two sections (little then big endian), interfaces with different link types, time
    /// resolutions and offsets, all three packet block kinds, and blocks to skip.
    fn pcapng_fixture(frames: &[Owned]) -> Vec<u8> {
        let mut o = Vec::new();
        shb(&mut o, false);
        idb(&mut o, false, LinkType::ETHERNET, 0, None, None);
        idb(&mut o, false, LinkType(105), 65535, None, None); // 802.11: not supported
        idb(
            &mut o,
            false,
            LinkType::ETHERNET,
            262_144,
            Some(9),
            Some(-10),
        );
        // A Name Resolution Block and an Interface Statistics Block, to be skipped.
        block(&mut o, false, 4, &[0, 0, 0, 0]);
        block(&mut o, false, 5, &[0; 12]);
        epb(
            &mut o,
            false,
            0,
            frames[0].0 / 1000,
            &frames[0].2,
            frames[0].3,
        );
        epb(&mut o, false, 1, 0, &frames[1].2, frames[1].3);
        epb(
            &mut o,
            false,
            2,
            frames[2].0 + 10_000_000_000 + 7,
            &frames[2].2,
            frames[2].3,
        );
        // A second section, big endian: its interface 0 counts in 2^-20 s with an offset.
        shb(&mut o, true);
        idb(
            &mut o,
            true,
            LinkType::ETHERNET,
            96,
            Some(0x80 | 20),
            Some(100),
        );
        let ticks = (((frames[3].0 - 100_000_000_000) as u128) << 20) / 1_000_000_000;
        let ticks = ticks as u64;
        epb(&mut o, true, 0, ticks, &frames[3].2, frames[3].3);
        obsolete_pb(&mut o, true, 0, ticks + (1 << 20), &frames[4].2);
        spb(&mut o, true, &frames[5].2, 96);
        block(&mut o, true, 0x0BAD, &[1, 2, 3]); // a custom block: skipped
        o
    }

    #[test]
    fn pcapng_sections_interfaces_resolutions_and_block_kinds() {
        let frames = read_path(&lab("05_benign_dns.pcap"));
        let bytes = pcapng_fixture(&frames);
        let mut src = FileSource::from_bytes("mem.pcapng", bytes.clone()).unwrap();
        let got = read_all(&mut src);
        assert_eq!(src.warning(), None);
        assert_eq!(src.skipped_unsupported(), 1);
        assert_eq!(src.offset(), bytes.len() as u64);
        assert_eq!(got.len(), 5);
        assert_eq!(got[0], frames[0].clone());
        assert_eq!(
            got[1],
            (
                frames[2].0 + 7,
                LinkType::ETHERNET,
                frames[2].2.clone(),
                frames[2].3
            )
        );
        // 2^-20 s ticks: within a microsecond of the original.
        let t3 = ((((frames[3].0 - 100_000_000_000) as u128) << 20) / 1_000_000_000) as u64;
        let want3 = 100_000_000_000
            + (t3 >> 20) * 1_000_000_000
            + (t3 & 0xfffff) * 1_000_000_000 / (1 << 20);
        assert_eq!(got[2].0, want3);
        assert!(frames[3].0 - got[2].0 < 1000);
        assert_eq!(got[2].2, frames[3].2);
        assert_eq!(got[3].0, want3 + 1_000_000_000);
        assert_eq!(got[3].2, frames[4].2);
        // The simple packet block: cut to the interface's snap length, time of the last frame.
        assert_eq!(got[4].2, frames[5].2[..96].to_vec());
        assert_eq!(got[4].3 as usize, frames[5].2.len());
        assert_eq!(got[4].0, got[3].0);
        // tshark agrees on the little-endian half (written out once with `pcapng_fixture`):
        // frame 1 at DNS_TS1, frame 2 at frames[2].0 + 7 ns.
        assert_eq!(got[0].0, DNS_TS1);
    }

    #[test]
    fn a_file_cut_at_any_byte_yields_the_frames_before_the_cut() {
        let frames = read_path(&lab("05_benign_dns.pcap"));
        let few = &frames[..3];
        let pcap = pcap_bytes(false, false, LinkType::ETHERNET, 65535, few);
        let mut ng = Vec::new();
        shb(&mut ng, true);
        idb(&mut ng, true, LinkType::ETHERNET, 0, Some(9), None);
        for f in few {
            epb(&mut ng, true, 0, f.0, &f.2, f.3);
        }
        for (kind, bytes) in [("pcap", pcap), ("pcapng", ng)] {
            // Where each record ends.
            let mut ends = Vec::new();
            let mut src = FileSource::from_bytes("x", bytes.clone()).unwrap();
            let header_end = src.offset() as usize;
            while src.next_frame().unwrap().is_some() {
                ends.push(src.offset() as usize);
            }
            assert_eq!(ends.len(), 3);
            for cut in 0..bytes.len() {
                let name = format!("cut-{cut}.{kind}");
                let r = FileSource::from_bytes(name.clone(), bytes[..cut].to_vec());
                let first_block = if kind == "pcap" { 24 } else { 28 };
                if cut < first_block {
                    match r {
                        Err(CaptureError::NotACapture { source, .. }) => assert_eq!(source, name),
                        Err(e) => panic!("{kind} cut at {cut}: {e}"),
                        Ok(_) => panic!("{kind} cut at {cut} opened"),
                    }
                    continue;
                }
                let mut src = r.unwrap_or_else(|e| panic!("{kind} cut at {cut}: {e}"));
                let got = read_all(&mut src);
                let complete = ends.iter().filter(|&&e| e <= cut).count();
                assert_eq!(got.len(), complete, "{kind} cut at {cut}");
                for (g, f) in got.iter().zip(few) {
                    assert_eq!(g.2, f.2);
                }
                let boundary = cut == header_end || cut == first_block || ends.contains(&cut);
                match src.warning() {
                    None => assert!(boundary, "{kind} cut at {cut}: no warning"),
                    Some(w) => {
                        assert!(!boundary, "{kind} cut at {cut}: {w}");
                        let at = if complete == 0 {
                            header_end.min(cut)
                        } else {
                            ends[complete - 1]
                        };
                        let at = if cut < header_end { first_block } else { at };
                        assert!(
                            w.starts_with(&format!("{name}: file ends in the middle of a ")),
                            "{w}"
                        );
                        assert!(
                            w.contains(&format!(" at byte {at} (")),
                            "{kind} cut at {cut}: {w}"
                        );
                    }
                }
                assert!(src.next_frame().unwrap().is_none());
            }
        }
    }

    #[test]
    fn inputs_that_are_not_captures_are_refused_with_the_reason() {
        let e = FileSource::from_bytes("notes.txt", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec())
            .err()
            .unwrap();
        assert_eq!(
            e.to_string(),
            "notes.txt: not a pcap or pcapng capture (unknown magic number 47455420); give dcsensor a file written by tcpdump, tshark or dumpcap"
        );
        let e = FileSource::from_bytes("empty", Vec::new()).err().unwrap();
        assert!(
            matches!(&e, CaptureError::NotACapture { reason, .. } if reason == "the file is empty"),
            "{e}"
        );
        let e = FileSource::from_bytes("tiny", vec![0xd4, 0xc3])
            .err()
            .unwrap();
        assert!(
            matches!(&e, CaptureError::NotACapture { reason, .. } if reason == "the file is only 2 bytes long")
        );
        // pcapng whose byte-order magic is wrong.
        let mut ng = Vec::new();
        shb(&mut ng, false);
        ng[8] = 0;
        let e = FileSource::from_bytes("bad.pcapng", ng).err().unwrap();
        assert!(
            matches!(&e, CaptureError::NotACapture { reason, .. } if reason.contains("byte-order magic")),
            "{e}"
        );
        let e = FileSource::open(Path::new("/nonexistent/x.pcap"))
            .err()
            .unwrap();
        assert!(
            e.to_string()
                .starts_with("/nonexistent/x.pcap: cannot open: "),
            "{e}"
        );
        assert!(e.to_string().ends_with("; check the path"), "{e}");
    }

    #[test]
    fn unsupported_link_types_are_refused_or_skipped() {
        let frames = read_path(&lab("05_benign_dns.pcap"));
        let e = FileSource::from_bytes(
            "wifi.pcap",
            pcap_bytes(true, false, LinkType(105), 65535, &frames),
        )
        .err()
        .unwrap();
        assert!(matches!(
            e,
            CaptureError::UnsupportedLink {
                link: LinkType(105),
                ..
            }
        ));
        assert!(
            e.to_string()
                .starts_with("wifi.pcap: unsupported link type 105; "),
            "{e}"
        );
        let mut ng = Vec::new();
        shb(&mut ng, false);
        idb(&mut ng, false, LinkType(105), 0, None, None);
        epb(&mut ng, false, 0, 0, &frames[0].2, frames[0].3);
        let e = FileSource::from_bytes("wifi.pcapng", ng).err().unwrap();
        assert!(
            matches!(
                e,
                CaptureError::UnsupportedLink {
                    link: LinkType(105),
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn oversized_records_are_corruption() {
        let frames = read_path(&lab("05_benign_dns.pcap"));
        let mut bytes = pcap_bytes(false, false, LinkType::ETHERNET, 65535, &frames[..2]);
        // The second record claims 100 MB.
        let second = 24 + 16 + frames[0].2.len();
        bytes[second + 8..second + 12].copy_from_slice(&100_000_000u32.to_le_bytes());
        let mut src = FileSource::from_bytes("big.pcap", bytes).unwrap();
        assert!(src.next_frame().unwrap().is_some());
        let e = src.next_frame().err().unwrap();
        assert!(
            matches!(e, CaptureError::Read { offset, .. } if offset == second as u64),
            "{e}"
        );
        assert!(src.next_frame().unwrap().is_none());
        // A pcapng block length that is not a multiple of 4.
        let mut ng = Vec::new();
        shb(&mut ng, false);
        idb(&mut ng, false, LinkType::ETHERNET, 0, None, None);
        let at = ng.len();
        epb(&mut ng, false, 0, 0, &frames[0].2, frames[0].3);
        ng[at + 4] += 1;
        let mut src = FileSource::from_bytes("odd.pcapng", ng).unwrap();
        let e = src.next_frame().err().unwrap();
        assert!(
            e.to_string()
                .starts_with(&format!("odd.pcapng: read error at byte {at}: ")),
            "{e}"
        );
    }

    #[test]
    fn large_records_grow_the_buffer() {
        // Frames larger than the initial buffer, through a reader that returns few bytes at a
        // time.
        struct Slow(io::Cursor<Vec<u8>>);
        impl Read for Slow {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = buf.len().min(1000);
                self.0.read(&mut buf[..n])
            }
        }
        let big: Vec<u8> = (0..3 * BUF_SIZE).map(|i| (i % 251) as u8).collect();
        let frames: Vec<Owned> = (0..3)
            .map(|i| (i * 1000, LinkType::ETHERNET, big[i as usize..].to_vec(), 0))
            .collect();
        let frames: Vec<Owned> = frames
            .into_iter()
            .map(|(t, l, d, _)| (t, l, d.clone(), d.len() as u32))
            .collect();
        let bytes = pcap_bytes(
            false,
            true,
            LinkType::ETHERNET,
            4 * BUF_SIZE as u32,
            &frames,
        );
        let mut src = FileSource::from_reader("slow", Slow(io::Cursor::new(bytes))).unwrap();
        assert_eq!(read_all(&mut src), frames);
    }
}

#[cfg(test)]
mod shared_corpus {
    use super::tests::read_all;
    use super::*;
    use crate::packet::{Decoder, PacketConfig};
    use crate::stats::Counters;
    use std::path::PathBuf;

    /// Every capture of the shared corpus opens (or is refused for its link type), decodes
    /// without panic, and has the frame count INDEX.md lists (capinfos -c).
    #[test]
    fn shared_pcaps_open_and_count_like_capinfos() {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/pcaps");
        let Ok(index) = std::fs::read_to_string(dir.join("INDEX.md")) else {
            eprintln!("skipping: {} is absent", dir.join("INDEX.md").display());
            return;
        };
        let mut checked = 0;
        let mut listed = 0;
        let mut refused = Vec::new();
        let c = Counters::default();
        for line in index.lines() {
            let cols: Vec<&str> = line.split('|').map(str::trim).collect();
            // | path | source | license | category | size B | packets | ...
            let Some(packets) = cols.get(6).and_then(|p| p.parse::<usize>().ok()) else {
                continue;
            };
            if !cols[1].contains('/') {
                continue;
            }
            listed += 1;
            let path = dir.join(cols[1]);
            let mut src = match FileSource::open(&path) {
                Ok(s) => s,
                Err(CaptureError::UnsupportedLink { link, .. }) => {
                    assert!(!link.supported());
                    refused.push((cols[1].to_string(), link));
                    continue;
                }
                Err(e) => panic!("{e}"),
            };
            let mut d = Decoder::new(PacketConfig::default());
            let mut n = 0;
            while let Some(f) = src.next_frame().unwrap() {
                n += 1;
                let _ = d.decode(&f, &c);
            }
            assert_eq!(src.warning(), None, "{}", path.display());
            assert_eq!(
                n + src.skipped_unsupported() as usize,
                packets,
                "{}",
                path.display()
            );
            checked += 1;
        }
        eprintln!(
            "{checked} shared captures read; refused for their link type: {refused:?}; {c:?}"
        );
        // Every capture INDEX.md lists was opened (the corpus grows; the count comes from it).
        assert!(listed >= 153, "INDEX.md lists {listed} captures");
        assert_eq!(checked + refused.len(), listed);
        // tshark -Y '!ip && !ipv6' over the same captures finds 241 frames; none is malformed.
        assert_eq!(c.get(crate::stats::Counter::NonIp), 241);
        assert_eq!(c.get(crate::stats::Counter::MalformedPacket), 0);
        // capinfos: every link type of the corpus is decoded, FDDI included.
        assert_eq!(refused, []);
    }

    #[test]
    fn an_empty_pcap_has_no_frames() {
        let bytes = super::tests::pcap_bytes(false, false, LinkType::ETHERNET, 65535, &[]);
        let mut src = FileSource::from_bytes("empty.pcap", bytes).unwrap();
        assert!(read_all(&mut src).is_empty());
        assert_eq!(src.warning(), None);
    }
}
