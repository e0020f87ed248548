//! SMB1 message parsers: the header, parameter and data blocks, AndX chains, strings, and the
//! commands the decoder reads (write and read AndX, transactions on named pipes).

use super::*;

/// SMB1 commands.
pub mod cmd1 {
    pub const CLOSE: u8 = 0x04;
    pub const TRANSACTION: u8 = 0x25;
    pub const READ_ANDX: u8 = 0x2e;
    pub const WRITE_ANDX: u8 = 0x2f;
    pub const TREE_DISCONNECT: u8 = 0x71;
    pub const NEGOTIATE: u8 = 0x72;
    pub const SESSION_SETUP_ANDX: u8 = 0x73;
    pub const LOGOFF_ANDX: u8 = 0x74;
    pub const TREE_CONNECT_ANDX: u8 = 0x75;
    pub const NT_CREATE_ANDX: u8 = 0xa2;
    /// No further command in an AndX chain.
    pub const NONE: u8 = 0xff;
}

/// SMB1 Flags: the message is a reply.
pub const SMB1_FLAGS_REPLY: u8 = 0x80;
/// SMB1 Flags2: strings are UTF-16LE.
pub const SMB1_FLAGS2_UNICODE: u16 = 0x8000;
/// SMB1 Flags2: the status is an NT status (else a DOS error class and code).
pub const SMB1_FLAGS2_NT_STATUS: u16 = 0x4000;
/// SMB1 Flags2: extended security negotiation (SPNEGO blobs in session setup).
pub const SMB1_FLAGS2_EXTENDED_SECURITY: u16 = 0x0800;

/// The SMB1 header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Smb1Header {
    pub command: u8,
    /// NT status, or the DOS error class (low byte) and code (high 16 bits) as on the wire.
    pub status: u32,
    pub flags: u8,
    pub flags2: u16,
    pub pid_high: u16,
    pub tid: u16,
    pub pid: u16,
    pub uid: u16,
    pub mid: u16,
}

impl Smb1Header {
    pub fn is_reply(&self) -> bool {
        self.flags & SMB1_FLAGS_REPLY != 0
    }
    pub fn unicode(&self) -> bool {
        self.flags2 & SMB1_FLAGS2_UNICODE != 0
    }
    /// Request/response matching key: process id and multiplex id.
    pub fn key(&self) -> u64 {
        (u64::from(self.pid_high) << 32) | (u64::from(self.pid) << 16) | u64::from(self.mid)
    }
}

fn smb1_header_nom(i: &[u8]) -> IResult<&[u8], Smb1Header> {
    let (i, _magic) = nom::bytes::complete::tag(&[0xff, b'S', b'M', b'B'][..])(i)?;
    let (i, (command, status, flags, flags2, pid_high)) =
        (le_u8, le_u32, le_u8, le_u16, le_u16).parse(i)?;
    let (i, _security) = nom::bytes::complete::take(8usize)(i)?;
    let (i, (_reserved, tid, pid, uid, mid)) = (le_u16, le_u16, le_u16, le_u16, le_u16).parse(i)?;
    Ok((
        i,
        Smb1Header {
            command,
            status,
            flags,
            flags2,
            pid_high,
            tid,
            pid,
            uid,
            mid,
        },
    ))
}

/// Parses an SMB1 header from the start of `b`.
pub fn smb1_header(b: &[u8]) -> Option<Smb1Header> {
    smb1_header_nom(b).ok().map(|(_, h)| h)
}

/// One command block of an SMB1 message: its parameter words and data bytes, located by their
/// offsets from the start of the SMB header (strings are aligned relative to it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block<'a> {
    pub command: u8,
    /// Offset of the WordCount byte from the header.
    pub offset: usize,
    pub words: &'a [u8],
    pub bytes: &'a [u8],
    /// Offset of `bytes` from the header.
    pub bytes_offset: usize,
}

impl Block<'_> {
    pub fn word_count(&self) -> usize {
        self.words.len() / 2
    }
    pub fn u8_at(&self, at: usize) -> u8 {
        self.words.get(at).copied().unwrap_or(0)
    }
    pub fn u16_at(&self, at: usize) -> u16 {
        u16_at(self.words, at)
    }
    pub fn u32_at(&self, at: usize) -> u32 {
        u32_at(self.words, at)
    }
    /// The AndX follow-up `(command, offset)`, for AndX commands with at least two words.
    pub fn andx(&self) -> Option<(u8, usize)> {
        (self.words.len() >= 4).then(|| (self.u8_at(0), usize::from(self.u16_at(2))))
    }
}

/// The command block at `offset` in the message `msg` (WordCount, words, ByteCount, bytes), or
/// how many bytes of the message are needed.
pub fn smb1_block(msg: &[u8], offset: usize, command: u8) -> P<Block<'_>> {
    let Some(&wc) = msg.get(offset) else {
        return P::Need(offset + 1);
    };
    let words_end = offset + 1 + 2 * usize::from(wc);
    let Some(words) = msg.get(offset + 1..words_end) else {
        return P::Need(words_end + 2);
    };
    let Some(bc) = msg.get(words_end..words_end + 2) else {
        return P::Need(words_end + 2);
    };
    let bc = usize::from(u16::from_le_bytes([bc[0], bc[1]]));
    let bytes_offset = words_end + 2;
    let bytes = msg
        .get(bytes_offset..(bytes_offset + bc).min(msg.len()))
        .unwrap_or(&[]);
    P::Ok(Block {
        command,
        offset,
        words,
        bytes,
        bytes_offset,
    })
}

/// The bytes an SMB1 message's first block claims (header, words, byte count, bytes).
pub fn smb1_first_block_len(msg: &[u8]) -> P<usize> {
    if msg.len() < SMB1_HEADER {
        return P::Need(SMB1_HEADER);
    }
    if smb1_header(msg).is_none() {
        return P::Bad;
    }
    let Some(&wc) = msg.get(SMB1_HEADER) else {
        return P::Need(SMB1_HEADER + 1);
    };
    let words_end = SMB1_HEADER + 1 + 2 * usize::from(wc);
    match msg.get(words_end..words_end + 2) {
        Some(bc) => P::Ok(words_end + 2 + usize::from(u16::from_le_bytes([bc[0], bc[1]]))),
        None => P::Need(words_end + 2),
    }
}

/// Whether an SMB1 command has an AndX header in its first words.
pub fn smb1_is_andx(command: u8) -> bool {
    matches!(
        command,
        0x24 | 0x2d | 0x2e | 0x2f | 0x73 | 0x74 | 0x75 | 0xa2
    )
}

/// Walks an SMB1 message's AndX chain: the blocks in order, at most `max` (at least one), each
/// strictly after the previous one (no loops), all inside the message. `None` when the first
/// block is not whole; the walk ends at the first later block that is not.
pub fn smb1_chain(msg: &[u8], max: usize) -> Option<Chain<'_>> {
    let h = smb1_header(msg)?;
    match smb1_block(msg, SMB1_HEADER, h.command) {
        P::Ok(b) => Some(Chain {
            msg,
            next: Some((b, SMB1_HEADER)),
            left: max.max(1),
        }),
        _ => None,
    }
}

/// The blocks of an SMB1 AndX chain ([`smb1_chain`]), read one by one as they are asked for
/// (nothing is collected).
#[derive(Debug, Clone)]
pub struct Chain<'a> {
    msg: &'a [u8],
    /// The next block and its offset.
    next: Option<(Block<'a>, usize)>,
    /// Blocks still allowed.
    left: usize,
}

impl<'a> Iterator for Chain<'a> {
    type Item = Block<'a>;

    fn next(&mut self) -> Option<Block<'a>> {
        let (b, offset) = self.next.take()?;
        self.left -= 1;
        if self.left > 0 && smb1_is_andx(b.command) {
            // An AndX response with no words (an error) ends the chain.
            if let Some((next, next_off)) = b.andx() {
                if next != cmd1::NONE && next_off > offset && next_off < self.msg.len() {
                    if let P::Ok(nb) = smb1_block(self.msg, next_off, next) {
                        self.next = Some((nb, next_off));
                    }
                }
            }
        }
        Some(b)
    }
}

/// Reads a NUL-terminated string at `at` (offset from the SMB header) in `msg`: UTF-16LE
/// aligned to an even offset when `unicode`, else 8-bit. Returns the string and the offset after
/// its terminator.
pub fn smb1_string(msg: &[u8], at: usize, unicode: bool) -> Option<(String, usize)> {
    if unicode {
        let start = at + (at & 1);
        let rest = msg.get(start..)?;
        let mut n = 0;
        while n + 1 < rest.len() && (rest[n] != 0 || rest[n + 1] != 0) {
            n += 2;
        }
        let s = utf16(&rest[..n]);
        Some((s, start + (n + 2).min(rest.len())))
    } else {
        let rest = msg.get(at..)?;
        let n = rest.iter().position(|&c| c == 0).unwrap_or(rest.len());
        Some((ascii(&rest[..n]), at + (n + 1).min(rest.len())))
    }
}

/// The fixed fields of an SMB1 WRITE_ANDX request: FID, write mode and where the data is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteAndx {
    pub fid: u16,
    pub write_mode: u16,
    pub data_offset: usize,
    pub data_len: usize,
}

/// Parses the words of a WRITE_ANDX request (12 or 14 words) of a message of `msg_len` bytes.
/// DataLengthHigh counts only when the length it makes fits in the message (some clients leave
/// garbage there).
pub fn smb1_write_andx(b: &Block<'_>, msg_len: usize) -> Option<WriteAndx> {
    if b.word_count() < 12 {
        return None;
    }
    let data_offset = usize::from(b.u16_at(22));
    let low = usize::from(b.u16_at(20));
    let long = (usize::from(b.u16_at(18)) << 16) | low;
    let data_len = if data_offset + long <= msg_len {
        long
    } else {
        low
    };
    Some(WriteAndx {
        fid: b.u16_at(4),
        write_mode: b.u16_at(14),
        data_offset,
        data_len,
    })
}

/// Where the data of an SMB1 READ_ANDX response is: `(offset from the header, length)`.
pub fn smb1_read_andx_resp(b: &Block<'_>) -> Option<(usize, usize)> {
    if b.word_count() < 12 {
        return None;
    }
    let len = (usize::from(b.u16_at(14)) << 16) | usize::from(b.u16_at(10));
    Some((usize::from(b.u16_at(12)), len))
}

/// An SMB1 TRANSACTION request or response: setup words, and where its data is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trans<'a> {
    pub setup: &'a [u8],
    pub data_offset: usize,
    pub data_len: usize,
}

/// Parses the words of a TRANSACTION request (14 + setup count words).
pub fn smb1_trans_req<'a>(b: &Block<'a>) -> Option<Trans<'a>> {
    if b.word_count() < 14 {
        return None;
    }
    let setup_count = usize::from(b.u8_at(26));
    let setup = b.words.get(28..28 + 2 * setup_count)?;
    Some(Trans {
        setup,
        data_offset: usize::from(b.u16_at(24)),
        data_len: usize::from(b.u16_at(22)),
    })
}

/// Parses the words of a TRANSACTION response (10 + setup count words).
pub fn smb1_trans_resp<'a>(b: &Block<'a>) -> Option<Trans<'a>> {
    if b.word_count() < 10 {
        return None;
    }
    let setup_count = usize::from(b.u8_at(18));
    let setup = b.words.get(20..20 + 2 * setup_count).unwrap_or(&[]);
    Some(Trans {
        setup,
        data_offset: usize::from(b.u16_at(14)),
        data_len: usize::from(b.u16_at(12)),
    })
}

/// TRANSACTION subcommand on a named pipe: TransactNmPipe.
pub const TRANS_TRANSACT_NMPIPE: u16 = 0x0026;
/// NT_CREATE_ANDX response FileType of a byte-mode named pipe.
pub const FILE_TYPE_BYTE_PIPE: u16 = 1;
/// NT_CREATE_ANDX response FileType of a message-mode named pipe.
pub const FILE_TYPE_MESSAGE_PIPE: u16 = 2;
/// WRITE_ANDX write mode bits on a named pipe: raw mode and start of message; both set means
/// the data starts with a 2-byte message length.
pub const WRITE_MODE_RAW: u16 = 0x0004;
pub const WRITE_MODE_MSG_START: u16 = 0x0008;

/// A slice of `msg` at `(offset, len)`, if inside.
pub fn slice(msg: &[u8], off: usize, len: usize) -> Option<&[u8]> {
    msg.get(off..off.checked_add(len)?)
}
