//! SMB1 and SMB2/3 over TCP 445 and NetBIOS 139: who logged on, which shares were connected,
//! which files and pipes were opened, and the named-pipe bytes handed to DCE-RPC.
//!
//! Per connection: the framing of each direction (the kit's [`Framer`] with [`SmbFraming`]:
//! NetBIOS header, then one SMB1 message or one SMB2 compound element at a time, as the parts
//! of a stepwise PDU) and the connection's state ([`state`]:
//! negotiated dialect, session id → user, tree id → share, FileId → DCE-RPC pipe connection,
//! requests waiting for their response by MessageId), read by [`smb2`] and [`smb1`].
//!
//! A message is looked at in steps ([`Step`]): its header first, then only as many bytes as the
//! command needs. Bulk file data (READ responses and WRITE requests on files that are not pipes, and any
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

use super::kit::framer::{Event, Framer, Framers, Framing, Head, Step};
use super::{Ctx, Dir, TcpApp};
use crate::base::WireMap;
use crate::record::Code;
use crate::stats::Counter;
use parse::{Magic, Smb1Header};

macro_rules! try_p {
    ($e:expr) => {
        match $e {
            P::Ok(v) => v,
            P::Need(n) => return P::Need(n),
            P::Bad => return P::Bad,
        }
    };
}

mod smb1;
mod smb2;
mod state;

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

/// SMB's framing for the kit's [`Framer`]: a NetBIOS session message is a stepwise PDU whose
/// parts are its SMB1 message or SMB2 compound elements; the other session-service packets
/// (and empty messages) are passed over. While lost, a NetBIOS header followed by an SMB magic
/// ([`parse::resync_start`]) is searched for, across chunk boundaries; a bad header is searched
/// again from its second byte.
#[derive(Debug, Clone, Copy, Default)]
pub struct SmbFraming;

impl Framing for SmbFraming {
    fn head(&mut self, d: &[u8]) -> Head {
        match parse::nb_header(d) {
            None if d.len() < parse::NB_HEADER => Head::Need(parse::NB_HEADER),
            None => Head::Bad,
            Some(h) if h.len == 0 || !h.is_message() => {
                Head::Pass(parse::NB_HEADER + h.len as usize)
            }
            Some(h) => Head::Steps {
                head: parse::NB_HEADER,
                len: parse::NB_HEADER + h.len as usize,
            },
        }
    }

    fn probe(&mut self, d: &[u8]) -> bool {
        parse::resync_start(d)
    }

    fn probe_len(&self) -> usize {
        parse::RESYNC_LEN
    }

    fn bad_len(&self) -> usize {
        1
    }

    fn keep_partial(&self) -> bool {
        true
    }
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
    map: &mut WireMap<K, V>,
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
    /// The kit's framer of each direction, made with `smb_max_message` as its cap on first use.
    fr: Framers,
    st: State,
}

impl SmbConn {
    /// The framers and the state, the framers made on first use.
    fn parts(&mut self, cx: &Ctx<'_>) -> (&mut [Framer; 2], &mut State) {
        (self.fr.both(cx.config.smb_max_message), &mut self.st)
    }

    /// Bytes handed to pipes so far, for tests.
    #[cfg(test)]
    fn tap(&self) -> &[(String, Dir, Vec<u8>)] {
        &self.st.tap
    }
}

impl TcpApp for SmbConn {
    fn data(&mut self, cx: &mut Ctx<'_>, dir: Dir, data: &[u8]) {
        let (fr, st) = self.parts(cx);
        let now = cx.now;
        fr[dir.idx()].steps(now, data, &mut SmbFraming, &mut |ev| match ev {
            Event::Part {
                start,
                part,
                left,
                first,
            } => st.unit(cx, dir, part, left, !first, start),
            // A bad NetBIOS header, or a message that starts with no SMB magic: resynchronise.
            Event::Bad { .. } => {
                cx.count(Counter::MalformedSmb);
                st.pipes_gap(cx, dir, 0);
                Step::Lost
            }
            // A message that cannot be read as far as it asked: its rest is skipped.
            Event::Unmet { .. } => {
                cx.count(Counter::MalformedSmb);
                Step::Lost
            }
            // Nothing is buffered whole (no cap to go over); what a search passes over and
            // what a gap cuts are not counted.
            Event::Pdu { .. }
            | Event::Oversize { .. }
            | Event::Skipped { .. }
            | Event::Cut { .. }
            | Event::Resync { .. } => Step::Lost,
        });
    }

    fn gap(&mut self, cx: &mut Ctx<'_>, dir: Dir, len: u64) {
        let (fr, st) = self.parts(cx);
        let fr = &mut fr[dir.idx()];
        let was_lost = fr.is_lost();
        fr.gap(len, &mut |_| {});
        // A gap inside data being skipped anyway needs no resynchronisation; anywhere else the
        // framer searches for the next header and every open pipe may have lost bytes.
        if fr.is_lost() && !was_lost {
            st.pipes_gap(cx, dir, len);
        }
    }

    fn tick(&mut self, cx: &mut Ctx<'_>) {
        // Oldest first, each waiting `request_timeout` or longer (the kit's rule).
        // Collected first: answering one changes the rest of the state (nothing is allocated
        // when nothing is due).
        let due: Vec<_> = self
            .st
            .pending
            .expire(cx.now, cx.config.request_timeout)
            .collect();
        for t in due {
            self.st.unanswered(cx, t.value);
        }
        self.st.pending.report(cx.counters);
    }

    fn waiting(&self) -> bool {
        !self.st.pending.is_empty()
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
        self.fr.close(&mut |_| {});
    }

    fn buffered(&self) -> usize {
        self.fr.buffered()
    }

    fn buffered_one_way(&self) -> usize {
        self.fr.buffered_one_way()
    }
}

#[cfg(test)]
mod tests;
