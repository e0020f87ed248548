//! pcapng blocks: section headers (byte order, interfaces reset), interface descriptions (link
//! type, snap length, timestamp resolution and offset), enhanced, simple and obsolete packet
//! blocks; other block types are skipped and counted.

use super::{
    pcapng_ts, rd16, rd32, FileSource, Format, Iface, Loc, Step, MAX_BLOCK, PCAPNG_EPB, PCAPNG_IDB,
    PCAPNG_PB, PCAPNG_SHB, PCAPNG_SPB,
};
use crate::capture::{CaptureError, LinkType};

impl FileSource {
    pub(super) fn pcapng_block(&mut self, opening: bool) -> Result<Step, CaptureError> {
        if !self.fill(8)? {
            return Ok(self.ended("pcapng block header", 8));
        }
        let Format::Pcapng { be, .. } = self.format else {
            return Ok(Step::End);
        };
        let mut be = be;
        let btype = rd32(self.data(), self.pos, be);
        if btype == PCAPNG_SHB {
            if !self.fill(12)? {
                return Ok(self.ended("pcapng section header", 12));
            }
            be = match self.data().get(self.pos + 8..self.pos + 12) {
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
        let blen = rd32(self.data(), self.pos + 4, be) as usize;
        if blen < 12 || blen % 4 != 0 || blen > MAX_BLOCK {
            return Err(self.corrupt(format!(
                "a pcapng block of type {btype:#x} claims {blen} bytes: the file is corrupt"
            )));
        }
        if !self.fill(blen)? {
            return Ok(self.ended("pcapng block", blen));
        }
        let start = self.pos;
        if rd32(self.data(), start + blen - 4, be) as usize != blen {
            return Err(self.corrupt(format!(
                "a pcapng block of type {btype:#x} has different lengths at its start and end: the file is corrupt"
            )));
        }
        let body_start = start + 8;
        let body_len = blen - 12;
        let body = &self.data()[body_start..body_start + body_len];
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
