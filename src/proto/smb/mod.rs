//! SMB1 and SMB2/3 over TCP 445 and NetBIOS 139: who logged on, which shares were connected,
//! which files and pipes were opened, and the named-pipe bytes handed to DCE-RPC.
//!
//! Per connection: the framing of each direction ([`framer`]: NetBIOS header, then one SMB1
//! message or one SMB2 compound element at a time) and the connection's state ([`state`]:
//! negotiated dialect, session id → user, tree id → share, FileId → DCE-RPC pipe connection,
//! requests waiting for their response by MessageId), read by [`smb2`] and [`smb1`].
//!
//! A message is looked at in steps: its header first, then only as many bytes as the command
//! needs. Bulk file data (READ responses and WRITE requests on files that are not pipes, and any
//! command whose body is not read) is skipped by count as it streams past, never buffered, also
//! across TCP segments and gaps. What is read is buffered up to [`DecoderConfig`] caps
//! (`smb_max_message`, `smb_max_pipe_payload`). SMB3 transform (encrypted) and compression
//! frames are counted and skipped. After a gap the stream resynchronises on the next NetBIOS
//! header followed by an SMB magic.
//!
//! A FileId becomes a pipe when it is opened on an IPC tree, when an SMB1 open answers that it
//! is a pipe (FileType), or, for a file whose tree connect was not seen (mid-stream, one-sided
//! and multichannel captures), when it is used with a pipe transceive (SMB2 IOCTL, SMB1
//! TransactNmPipe) or written or read with data that starts like a DCE-RPC PDU.
//!
//! Records: `smb` with `action` `tree_connect` (share from the request, status from the
//! response) or `open` (path as in the request, share of its tree), carrying the session's
//! `user` (from its NTLM AUTHENTICATE; absent for Kerberos), the `dialect` and the `status`.
//! Session setup security blobs go to [`super::gssapi::inspect`], the response status is the
//! verdict.
//!
//! [`DecoderConfig`]: super::DecoderConfig

pub mod parse;
pub mod registry;

use super::{Ctx, Dir, TcpApp};
use crate::record::Code;
use parse::{Magic, Smb1Header};
use rustc_hash::FxHashMap;

macro_rules! try_p {
    ($e:expr) => {
        match $e {
            P::Ok(v) => v,
            P::Need(n) => return P::Need(n),
            P::Bad => return P::Bad,
        }
    };
}

mod framer;
mod smb1;
mod smb2;
mod state;

use framer::{FrameState, Framer};
use state::{emit_plain, Pending, Pipe, State};

/// A decoder for one connection.
pub fn tcp() -> Box<dyn TcpApp> {
    Box::new(SmbConn::default())
}

/// Whether the first bytes of a TCP connection on an unclaimed port look like SMB: a NetBIOS
/// session message header followed by an SMB1, SMB2 or SMB3 transform magic.
pub fn probe(_dir: Dir, data: &[u8]) -> bool {
    let Some(h) = parse::nb_header(data) else {
        return false;
    };
    h.is_message()
        && h.len >= parse::SMB1_HEADER as u32
        && matches!(
            data.get(parse::NB_HEADER..).and_then(parse::magic),
            Some(Magic::Smb1 | Magic::Smb2 | Magic::Transform)
        )
}

/// Sessions remembered per connection.
const MAX_SESSIONS: usize = 64;
/// Tree connects remembered per connection.
const MAX_TREES: usize = 256;
/// Open named pipes per connection.
const MAX_PIPES: usize = 64;
/// Files (not pipes) whose bytes are counted per connection; beyond it the oldest is given its
/// `close` record early.
const MAX_FILES: usize = 256;
/// Session setups in progress per connection.
const MAX_SETUPS: usize = 16;
/// Commands followed in one SMB1 AndX chain.
const MAX_ANDX: usize = 8;

const STATUS_SUCCESS: u32 = 0;
const STATUS_PENDING: u32 = 0x0000_0103;
const STATUS_BUFFER_OVERFLOW: u32 = 0x8000_0005;
const STATUS_MORE_PROCESSING_REQUIRED: u32 = 0xc000_0016;

/// Makes room in a capped map: when `map` holds `cap` entries and `key` is not one of them,
/// takes out the entry with the lowest sequence number (the oldest) and returns it, so that the
/// caller can close or emit it before inserting.
fn evict_oldest<K: Copy + Eq + std::hash::Hash, V>(
    map: &mut FxHashMap<K, V>,
    key: &K,
    cap: usize,
    seq: impl Fn(&V) -> u64,
) -> Option<V> {
    if map.contains_key(key) || map.len() < cap {
        return None;
    }
    let oldest = map.iter().min_by_key(|(_, v)| seq(v)).map(|(&k, _)| k)?;
    map.remove(&oldest)
}

/// An NT status as a record value.
fn nt_status(s: u32) -> Code {
    Code::new(i64::from(s), crate::proto::ntlm::status::nt_status_name(s))
}

/// The status of an SMB1 message: an NT status, or the raw DOS class and code.
fn smb1_status(h: &Smb1Header) -> Code {
    if h.flags2 & parse::SMB1_FLAGS2_NT_STATUS != 0 {
        nt_status(h.status)
    } else {
        Code::Num(i64::from(h.status))
    }
}

/// The name a DCE-RPC pipe connection gets: `\pipe\` and the name as opened without leading
/// backslashes or `pipe\`; empty when no name is left (the open was not seen), which the
/// records leave out rather than write a bare `\pipe\`.
fn pipe_name(path: &str) -> String {
    let p = path.trim_start_matches('\\');
    let p = match p.get(..5) {
        Some(pre) if pre.eq_ignore_ascii_case("pipe\\") => &p[5..],
        _ => p,
    };
    if p.trim_start_matches('\\').is_empty() {
        return String::new();
    }
    format!("\\pipe\\{p}")
}

/// The SMB decoder of one connection.
#[derive(Default)]
pub struct SmbConn {
    fr: [Framer; 2],
    st: State,
}

impl SmbConn {
    /// Bytes handed to pipes so far, for tests.
    #[cfg(test)]
    fn tap(&self) -> &[(String, Dir, Vec<u8>)] {
        &self.st.tap
    }
}

impl TcpApp for SmbConn {
    fn data(&mut self, cx: &mut Ctx<'_>, dir: Dir, data: &[u8]) {
        self.feed(cx, dir, data);
    }

    fn gap(&mut self, cx: &mut Ctx<'_>, dir: Dir, len: u64) {
        let f = &mut self.fr[dir.idx()];
        match f.state {
            // Lost bytes inside data being skipped anyway: nothing to resynchronise.
            FrameState::Skip if len < f.skip => {
                f.skip -= len;
                f.frame_left = f.frame_left.saturating_sub(len);
            }
            FrameState::Skip if len == f.skip => {
                f.frame_left = f.frame_left.saturating_sub(len);
                f.skip = 0;
                f.next_unit();
            }
            FrameState::Resync => {
                f.carry.clear();
            }
            _ => {
                f.lose();
                self.st.pipes_gap(cx, dir, len);
            }
        }
    }

    fn tick(&mut self, cx: &mut Ctx<'_>) {
        // Oldest first, each waiting `request_timeout` or longer (the kit's rule).
        for t in self.st.pending.expire(cx.now, cx.config.request_timeout) {
            self.st.unanswered(cx, t.value);
        }
        self.st.pending.report(cx.counters);
    }

    fn close(&mut self, cx: &mut Ctx<'_>) {
        let st = &mut self.st;
        let pending: Vec<Pending> = st.pending.drain().map(|t| t.value).collect();
        for p in pending {
            st.unanswered(cx, p);
        }
        st.pending.report(cx.counters);
        st.flush_files(cx);
        let mut pipes: Vec<Pipe> = st.pipes.drain().map(|(_, p)| p).collect();
        pipes.sort_by_key(|p| p.seq);
        for mut p in pipes {
            p.conn.close(cx);
        }
        for mut s in std::mem::take(&mut st.setups) {
            s.auth.flush(cx);
            if let Some((ts, plain)) = s.plain.take() {
                emit_plain(cx, ts, plain, None);
            }
        }
        for f in &mut self.fr {
            f.release();
            f.carry = Vec::new();
        }
    }

    fn buffered(&self) -> usize {
        self.fr.iter().map(|f| f.buf.len() + f.carry.len()).sum()
    }

    fn buffered_one_way(&self) -> usize {
        self.fr
            .iter()
            .map(|f| f.buf.len() + f.carry.len())
            .max()
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests;
