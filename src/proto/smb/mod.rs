//! SMB1 and SMB2/3 over TCP 445 and NetBIOS 139: who logged on, which shares were connected,
//! which files and pipes were opened, and the named-pipe bytes handed to DCE-RPC.
//!
//! Per connection: the framing of each direction ([`Framer`]: NetBIOS header, then one SMB1
//! message or one SMB2 compound element at a time) and the connection's state ([`State`]:
//! negotiated dialect, session id → user, tree id → share, FileId → [`PipeConn`], requests
//! waiting for their response by MessageId).
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
//! Session setup security blobs go to [`gssapi::inspect`], the response status is the verdict.
//!
//! [`DecoderConfig`]: super::DecoderConfig

pub mod parse;

use super::dcerpc::PipeConn;
use super::gssapi;
use super::ntlm::NtlmAuth;
use super::{Ctx, Dir, TcpApp};
use crate::record::{Body, Carrier, Code, Ntlm, Smb, Ts};
use crate::stats::Counter;
use parse::{cmd1, cmd2, Magic, Smb1Header, Smb2Header, P};
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

/// Bytes of a message looked at before deciding what to do with the rest.
const PEEK: usize = 64;
/// Buffer capacity kept between messages (a larger one is released).
const KEEP_CAPACITY: usize = 16 * 1024;
/// Bytes kept while scanning for a header after a gap.
const RESYNC_CARRY: usize = 7;
/// Sessions remembered per connection.
const MAX_SESSIONS: usize = 64;
/// Tree connects remembered per connection.
const MAX_TREES: usize = 256;
/// Open named pipes per connection.
const MAX_PIPES: usize = 64;
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
/// backslashes or `pipe\`.
fn pipe_name(path: &str) -> String {
    let p = path.trim_start_matches('\\');
    let p = match p.get(..5) {
        Some(pre) if pre.eq_ignore_ascii_case("pipe\\") => &p[5..],
        _ => p,
    };
    format!("\\pipe\\{p}")
}

/// What one step of looking at a message decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Buffer until the first `n` bytes of the unit are present, then look again.
    Need(usize),
    /// The unit is `n` bytes long and is handled: skip what was not seen.
    Done(u64),
    /// The stream is not where it should be: scan for the next header.
    Resync,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum FrameState {
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
struct Framer {
    state: FrameState,
    hdr: [u8; parse::NB_HEADER],
    hdr_len: usize,
    /// Bytes of the current NetBIOS frame not taken from the input yet.
    frame_left: u64,
    /// Whether the next unit continues an SMB2 compound chain.
    compound: bool,
    /// The current unit's bytes, when it spans several calls.
    buf: Vec<u8>,
    /// Bytes of the unit wanted before looking at it again.
    want: usize,
    skip: u64,
    /// Time of the current unit's first byte.
    unit_ts: Ts,
    carry: Vec<u8>,
}

impl Framer {
    fn next_unit(&mut self) {
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
    fn skip_then_next(&mut self, n: u64) {
        self.skip = n;
        if n > 0 {
            self.state = FrameState::Skip;
        } else {
            self.next_unit();
        }
    }

    fn release(&mut self) {
        self.buf.clear();
        if self.buf.capacity() > KEEP_CAPACITY {
            self.buf = Vec::new();
        }
    }

    fn lose(&mut self) {
        self.release();
        self.state = FrameState::Resync;
        self.carry.clear();
        self.frame_left = 0;
        self.skip = 0;
    }
}

/// One SMB session on the connection.
#[derive(Debug, Default)]
struct Session {
    user: Option<String>,
    seq: u64,
}

/// One tree connect.
#[derive(Debug)]
struct Tree {
    share: String,
    pipe: bool,
    seq: u64,
}

/// An open named pipe and its DCE-RPC connection.
struct Pipe {
    conn: PipeConn,
    seq: u64,
}

/// An SMB1 session setup without extended security: account and domain in the clear.
#[derive(Debug, Clone)]
struct PlainAuth {
    user: Option<String>,
    domain: Option<String>,
    version: &'static str,
}

/// A session setup in progress.
struct Setup {
    token: u64,
    /// The session id (0 until the server assigned one).
    sid: u64,
    auth: NtlmAuth,
    plain: Option<(Ts, PlainAuth)>,
}

/// A request waiting for its response.
#[derive(Debug)]
struct Pending {
    ts: Ts,
    seq: u64,
    kind: Wait,
}

#[derive(Debug)]
enum Wait {
    SessionSetup {
        token: u64,
    },
    TreeConnect {
        sid: u64,
        share: String,
    },
    Create {
        sid: u64,
        tid: u32,
        path: String,
    },
    /// A read (or IOCTL transceive, or SMB1 TransactNmPipe) on a pipe: its answer is pipe data.
    PipeRead {
        file: u128,
    },
    /// A read of a file that may be a pipe whose open was not seen (or not on a tree known to be
    /// IPC): its answer makes it a pipe when it starts like a DCE-RPC PDU.
    MaybeRead {
        file: u128,
        sid: u64,
        tid: u32,
    },
}

/// The connection's state, shared by both directions.
#[derive(Default)]
struct State {
    dialect: Option<&'static str>,
    sessions: FxHashMap<u64, Session>,
    trees: FxHashMap<(u64, u32), Tree>,
    pipes: FxHashMap<u128, Pipe>,
    /// Files opened on trees whose connect was not seen (mid-stream): FileId → (path, seq).
    /// A pipe transceive on one, or data that starts like DCE-RPC, makes it a pipe.
    opens: FxHashMap<u128, (String, u64)>,
    pending: FxHashMap<u64, Pending>,
    setups: Vec<Setup>,
    seq: u64,
    /// Session and tree of the previous request element (for related compound requests).
    chain: (u64, u32),
    /// Bytes handed to pipes, for tests: (pipe, direction, bytes).
    #[cfg(test)]
    tap: Vec<(String, Dir, Vec<u8>)>,
}

/// The SMB decoder of one connection.
#[derive(Default)]
pub struct SmbConn {
    fr: [Framer; 2],
    st: State,
}

impl SmbConn {
    fn feed(&mut self, cx: &mut Ctx<'_>, dir: Dir, mut data: &[u8]) {
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
        let deadline = cx.now.saturating_sub(cx.config.request_timeout);
        let mut old: Vec<u64> = self
            .st
            .pending
            .iter()
            .filter(|(_, p)| p.ts < deadline)
            .map(|(&k, _)| k)
            .collect();
        if old.is_empty() {
            return;
        }
        old.sort_by_key(|k| self.st.pending.get(k).map_or(0, |p| p.seq));
        for k in old {
            if let Some(p) = self.st.pending.remove(&k) {
                self.st.unanswered(cx, p);
            }
        }
    }

    fn close(&mut self, cx: &mut Ctx<'_>) {
        let st = &mut self.st;
        let mut pending: Vec<Pending> = st.pending.drain().map(|(_, p)| p).collect();
        pending.sort_by_key(|p| p.seq);
        for p in pending {
            st.unanswered(cx, p);
        }
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
}

/// Emits the `ntlm` record of an SMB1 session setup without extended security.
fn emit_plain(cx: &mut Ctx<'_>, ts: Ts, a: PlainAuth, verdict: Option<(bool, Code)>) {
    cx.emit(
        ts,
        Body::Ntlm(Box::new(Ntlm {
            carrier: Some(Carrier::Smb1),
            user: a.user,
            domain: a.domain,
            version: Some(a.version),
            success: verdict.map(|v| v.0),
            status: verdict.map(|v| v.1),
            ..Default::default()
        })),
    );
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

impl State {
    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// Looks at a unit: `b` is its first bytes (at least what was wanted, possibly more than the
    /// unit), `frame_left` the bytes of the NetBIOS frame from the unit's start.
    fn unit(
        &mut self,
        cx: &mut Ctx<'_>,
        dir: Dir,
        b: &[u8],
        frame_left: u64,
        compound: bool,
        ts: Ts,
    ) -> Step {
        match parse::magic(b) {
            Some(Magic::Smb2) => self.smb2(cx, dir, b, frame_left, ts),
            Some(Magic::Transform) if !compound => {
                cx.count(Counter::SmbEncrypted);
                Step::Done(frame_left)
            }
            Some(Magic::Compressed) if !compound => {
                cx.count(Counter::SmbCompressed);
                Step::Done(frame_left)
            }
            Some(Magic::Smb1) if !compound => self.smb1(cx, dir, b, frame_left, ts),
            _ if b.len() < 4 && frame_left >= 4 => Step::Need(4),
            _ if compound => {
                cx.count(Counter::MalformedSmb);
                Step::Done(frame_left)
            }
            _ => Step::Resync,
        }
    }

    /// Bytes of `dir` were lost: every open pipe may have lost some.
    fn pipes_gap(&mut self, cx: &mut Ctx<'_>, dir: Dir, len: u64) {
        let mut keys: Vec<(u64, u128)> = self.pipes.iter().map(|(&k, p)| (p.seq, k)).collect();
        keys.sort_unstable();
        for (_, k) in keys {
            if let Some(p) = self.pipes.get_mut(&k) {
                p.conn.gap(cx, dir, len);
            }
        }
    }

    /// Hands pipe bytes to the pipe's DCE-RPC connection, or a gap when over the cap.
    fn pipe_data(&mut self, cx: &mut Ctx<'_>, file: u128, dir: Dir, data: &[u8]) {
        let Some(p) = self.pipes.get_mut(&file) else {
            return;
        };
        #[cfg(test)]
        self.tap.push((p.conn.pipe.clone(), dir, data.to_vec()));
        p.conn.data(cx, dir, data);
    }

    fn pipe_over_cap(&mut self, cx: &mut Ctx<'_>, file: u128, dir: Dir, len: usize) -> bool {
        if len <= cx.config.smb_max_pipe_payload {
            return false;
        }
        cx.count_n(Counter::DropDecoderCap, len as u64);
        if let Some(p) = self.pipes.get_mut(&file) {
            p.conn.gap(cx, dir, len as u64);
        }
        true
    }

    fn open_pipe(&mut self, cx: &mut Ctx<'_>, file: u128, path: &str) {
        if let Some(mut p) = evict_oldest(&mut self.pipes, &file, MAX_PIPES, |p| p.seq) {
            p.conn.close(cx);
        }
        let seq = self.next_seq();
        if let Some(mut old) = self.pipes.insert(
            file,
            Pipe {
                conn: PipeConn::new(pipe_name(path)),
                seq,
            },
        ) {
            old.conn.close(cx);
        }
    }

    fn close_pipe(&mut self, cx: &mut Ctx<'_>, file: u128) {
        self.opens.remove(&file);
        if let Some(mut p) = self.pipes.remove(&file) {
            p.conn.close(cx);
        }
    }

    /// Whether files of tree `tid` of session `sid` may be pipes: the tree is IPC, or its
    /// connect was not seen.
    fn tree_may_pipe(&self, sid: u64, tid: u32) -> bool {
        self.trees.get(&(sid, tid)).is_none_or(|t| t.pipe)
    }

    /// Remembers a file opened on a tree whose connect was not seen.
    fn remember_open(&mut self, file: u128, path: &str) {
        if !self.opens.contains_key(&file) && self.opens.len() >= MAX_PIPES {
            if let Some(k) = self.opens.iter().min_by_key(|(_, o)| o.1).map(|(&k, _)| k) {
                self.opens.remove(&k);
            }
        }
        let seq = self.next_seq();
        self.opens.insert(file, (path.to_string(), seq));
    }

    /// Makes `file` (of tree `tid` of session `sid`) a pipe, when it is not one yet: it was used
    /// as one although its open was not seen as one (mid-stream captures, one-sided captures,
    /// multichannel). Its name is the path it was opened with, else that of the last open on the
    /// same tree still waiting for its answer, else empty (`\pipe\`).
    fn adopt(&mut self, cx: &mut Ctx<'_>, file: u128, sid: u64, tid: u32) {
        if self.pipes.contains_key(&file) {
            return;
        }
        let path = match self.opens.remove(&file) {
            Some((path, _)) => path,
            None => self
                .pending
                .values()
                .filter_map(|p| match &p.kind {
                    Wait::Create {
                        sid: s,
                        tid: t,
                        path,
                    } if *s == sid && *t == tid => Some((p.seq, path)),
                    _ => None,
                })
                .max_by_key(|(seq, _)| *seq)
                .map(|(_, path)| path.clone())
                .unwrap_or_default(),
        };
        self.open_pipe(cx, file, &path);
    }

    fn wait(&mut self, cx: &mut Ctx<'_>, key: u64, ts: Ts, kind: Wait) {
        let cap = cx.config.max_pending.max(1);
        if let Some(p) = evict_oldest(&mut self.pending, &key, cap, |p| p.seq) {
            self.unanswered(cx, p);
        }
        let seq = self.next_seq();
        if let Some(old) = self.pending.insert(key, Pending { ts, seq, kind }) {
            self.unanswered(cx, old);
        }
    }

    /// A request that got no answer: tree connects and opens are emitted without a status.
    fn unanswered(&mut self, cx: &mut Ctx<'_>, p: Pending) {
        match p.kind {
            Wait::TreeConnect { sid, share } => {
                self.emit(cx, p.ts, "tree_connect", Some(share), None, sid, None)
            }
            Wait::Create { sid, tid, path } => {
                let share = self.trees.get(&(sid, tid)).map(|t| t.share.clone());
                self.emit(cx, p.ts, "open", share, non_empty(path), sid, None)
            }
            Wait::SessionSetup { .. } | Wait::PipeRead { .. } | Wait::MaybeRead { .. } => {}
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn emit(
        &self,
        cx: &mut Ctx<'_>,
        ts: Ts,
        action: &'static str,
        share: Option<String>,
        path: Option<String>,
        sid: u64,
        status: Option<Code>,
    ) {
        let user = self.sessions.get(&sid).and_then(|s| s.user.clone());
        cx.emit(
            ts,
            Body::Smb(Box::new(Smb {
                action,
                share,
                path,
                user,
                dialect: self.dialect,
                status,
            })),
        );
    }

    /// The session setup in progress for session `sid` (0: a new one), created if needed.
    fn setup_for(&mut self, cx: &mut Ctx<'_>, sid: u64) -> usize {
        if sid != 0 {
            if let Some(i) = self.setups.iter().position(|s| s.sid == sid) {
                return i;
            }
        }
        if self.setups.len() >= MAX_SETUPS {
            let mut old = self.setups.remove(0);
            old.auth.flush(cx);
            if let Some((ts, plain)) = old.plain.take() {
                emit_plain(cx, ts, plain, None);
            }
        }
        let token = self.next_seq();
        self.setups.push(Setup {
            token,
            sid,
            auth: NtlmAuth::default(),
            plain: None,
        });
        self.setups.len() - 1
    }

    /// The answer to a session setup: `blob` goes to the authentication in progress, a final
    /// status is its verdict and, on success, makes the session known with its user.
    #[allow(clippy::too_many_arguments)]
    fn setup_answer(
        &mut self,
        cx: &mut Ctx<'_>,
        carrier: Carrier,
        token: Option<u64>,
        sid: u64,
        blob: &[u8],
        status: u32,
        code: Code,
    ) {
        let Some(i) = token.and_then(|t| self.setups.iter().position(|s| s.token == t)) else {
            if status == STATUS_SUCCESS {
                self.add_session(sid, None);
            }
            return;
        };
        let setup = &mut self.setups[i];
        setup.sid = sid;
        if !blob.is_empty() {
            gssapi::inspect(cx, carrier, blob, &mut setup.auth);
        }
        if status == STATUS_MORE_PROCESSING_REQUIRED {
            return;
        }
        let mut setup = self.setups.remove(i);
        let success = status == STATUS_SUCCESS;
        let mut user = setup
            .auth
            .user()
            .map(|(u, _)| u.to_string())
            .and_then(non_empty);
        if setup.auth.pending() {
            setup.auth.verdict(cx, success, code);
        }
        if let Some((ts, plain)) = setup.plain.take() {
            user = user.or_else(|| plain.user.clone());
            emit_plain(cx, ts, plain, Some((success, code)));
        }
        if success {
            self.add_session(sid, user);
        }
    }

    fn add_session(&mut self, sid: u64, user: Option<String>) {
        evict_oldest(&mut self.sessions, &sid, MAX_SESSIONS, |s| s.seq);
        let seq = self.next_seq();
        let s = self.sessions.entry(sid).or_default();
        s.seq = seq;
        if user.is_some() {
            s.user = user;
        }
    }

    fn add_tree(&mut self, key: (u64, u32), share: String, pipe: bool) {
        evict_oldest(&mut self.trees, &key, MAX_TREES, |t| t.seq);
        let seq = self.next_seq();
        self.trees.insert(key, Tree { share, pipe, seq });
    }

    // -----------------------------------------------------------------------------------------
    // SMB2

    fn smb2(&mut self, cx: &mut Ctx<'_>, _dir: Dir, b: &[u8], frame_left: u64, ts: Ts) -> Step {
        if b.len() < parse::SMB2_HEADER {
            if frame_left < parse::SMB2_HEADER as u64 {
                cx.count(Counter::MalformedSmb);
                return Step::Done(frame_left);
            }
            return Step::Need(parse::SMB2_HEADER);
        }
        let Some(mut h) = parse::smb2_header(b) else {
            cx.count(Counter::MalformedSmb);
            return Step::Done(frame_left);
        };
        let elem_len = if h.next != 0 {
            if (h.next as usize) < parse::SMB2_HEADER || u64::from(h.next) > frame_left {
                cx.count(Counter::MalformedSmb);
                return Step::Done(frame_left);
            }
            u64::from(h.next)
        } else {
            frame_left
        };
        let el = elem_len as usize;
        let elem = &b[..b.len().min(el)];
        let r = if h.is_response() {
            self.smb2_response(cx, &h, elem, el)
        } else {
            if h.is_related() {
                (h.session_id, h.tree_id) = self.chain;
            }
            let r = self.smb2_request(cx, &h, elem, el, ts);
            if !matches!(r, P::Need(_)) {
                self.chain = (h.session_id, h.tree_id);
            }
            r
        };
        match r {
            P::Ok(()) => Step::Done(elem_len),
            P::Need(n) if n > el => {
                cx.count(Counter::MalformedSmb);
                Step::Done(elem_len)
            }
            P::Need(n) if n > cx.config.smb_max_message => {
                cx.count_n(Counter::DropDecoderCap, elem_len);
                Step::Done(elem_len)
            }
            P::Need(n) => Step::Need(n),
            P::Bad => {
                cx.count(Counter::MalformedSmb);
                Step::Done(elem_len)
            }
        }
    }

    /// One request element. Returns [`P::Need`] before any effect when it needs more bytes.
    fn smb2_request(
        &mut self,
        cx: &mut Ctx<'_>,
        h: &Smb2Header,
        b: &[u8],
        el: usize,
        ts: Ts,
    ) -> P<()> {
        let sid = h.session_id;
        match h.command {
            cmd2::SESSION_SETUP => {
                let blob = try_p!(parse::smb2_session_setup_req(b, el));
                let i = self.setup_for(cx, sid);
                let token = self.setups[i].token;
                if !blob.is_empty() {
                    gssapi::inspect(cx, Carrier::Smb2, blob, &mut self.setups[i].auth);
                }
                self.wait(cx, h.message_id, ts, Wait::SessionSetup { token });
            }
            cmd2::LOGOFF => {
                self.sessions.remove(&sid);
            }
            cmd2::TREE_CONNECT => {
                let path = try_p!(parse::smb2_tree_connect_req(b, el));
                let share = parse::utf16(path);
                self.wait(cx, h.message_id, ts, Wait::TreeConnect { sid, share });
            }
            cmd2::TREE_DISCONNECT => {
                self.trees.remove(&(sid, h.tree_id));
            }
            cmd2::CREATE => {
                let name = try_p!(parse::smb2_create_req(b, el));
                let path = parse::utf16(name);
                self.wait(
                    cx,
                    h.message_id,
                    ts,
                    Wait::Create {
                        sid,
                        tid: h.tree_id,
                        path,
                    },
                );
            }
            cmd2::CLOSE => {
                let file = try_p!(parse::smb2_close_req(b));
                self.close_pipe(cx, file);
            }
            cmd2::READ => {
                let file = try_p!(parse::smb2_read_req(b));
                if self.pipes.contains_key(&file) {
                    self.wait(cx, h.message_id, ts, Wait::PipeRead { file });
                } else if self.tree_may_pipe(sid, h.tree_id) {
                    let tid = h.tree_id;
                    self.wait(cx, h.message_id, ts, Wait::MaybeRead { file, sid, tid });
                }
            }
            cmd2::WRITE => {
                let w = try_p!(parse::smb2_write_req(b));
                if !self.pipes.contains_key(&w.file_id) && self.tree_may_pipe(sid, h.tree_id) {
                    let peek = w.data_len.min(parse::DCERPC_PEEK);
                    match parse::smb2_data(b, el, w.data_offset, peek) {
                        P::Ok(head) if parse::looks_dcerpc(head) => {
                            self.adopt(cx, w.file_id, sid, h.tree_id)
                        }
                        P::Need(n) => return P::Need(n),
                        _ => {}
                    }
                }
                if self.pipes.contains_key(&w.file_id)
                    && !self.pipe_over_cap(cx, w.file_id, Dir::ToServer, w.data_len)
                {
                    let data = try_p!(parse::smb2_data(b, el, w.data_offset, w.data_len));
                    self.pipe_data(cx, w.file_id, Dir::ToServer, data);
                }
            }
            cmd2::IOCTL => {
                let io = try_p!(parse::smb2_ioctl_req(b));
                if io.ctl_code == parse::FSCTL_PIPE_TRANSCEIVE
                    && !self.pipes.contains_key(&io.file_id)
                    && self.tree_may_pipe(sid, h.tree_id)
                {
                    self.adopt(cx, io.file_id, sid, h.tree_id);
                }
                if io.ctl_code == parse::FSCTL_PIPE_TRANSCEIVE
                    && self.pipes.contains_key(&io.file_id)
                {
                    if !self.pipe_over_cap(cx, io.file_id, Dir::ToServer, io.data_len) {
                        let data = try_p!(parse::smb2_data(b, el, io.data_offset, io.data_len));
                        self.pipe_data(cx, io.file_id, Dir::ToServer, data);
                    }
                    self.wait(cx, h.message_id, ts, Wait::PipeRead { file: io.file_id });
                }
            }
            _ => {}
        }
        P::Ok(())
    }

    /// One response element. Returns [`P::Need`] before any effect when it needs more bytes.
    fn smb2_response(&mut self, cx: &mut Ctx<'_>, h: &Smb2Header, b: &[u8], el: usize) -> P<()> {
        if h.status == STATUS_PENDING {
            // An interim response: the final one comes later with the same MessageId.
            return P::Ok(());
        }
        let ok = h.status == STATUS_SUCCESS;
        let waiting = self.pending.get(&h.message_id).map(|p| &p.kind);
        let error_body = || parse::smb2_is_error_body(b, h.command);
        match (h.command, waiting) {
            (cmd2::NEGOTIATE, _) if ok => {
                let d = try_p!(parse::smb2_negotiate_resp(b));
                if let Some(name) = parse::dialect_name(d) {
                    self.dialect = Some(name);
                }
            }
            (cmd2::SESSION_SETUP, w) => {
                let token = match w {
                    Some(Wait::SessionSetup { token }) => Some(*token),
                    _ => None,
                };
                let blob = if ok || h.status == STATUS_MORE_PROCESSING_REQUIRED {
                    try_p!(parse::smb2_session_setup_resp(b, el))
                } else {
                    &[]
                };
                if token.is_some() {
                    self.pending.remove(&h.message_id);
                }
                self.setup_answer(
                    cx,
                    Carrier::Smb2,
                    token,
                    h.session_id,
                    blob,
                    h.status,
                    nt_status(h.status),
                );
            }
            (cmd2::TREE_CONNECT, Some(Wait::TreeConnect { .. })) => {
                let share_type = if ok && !error_body() {
                    Some(try_p!(parse::smb2_tree_connect_resp(b)))
                } else {
                    None
                };
                if let Some(Pending {
                    ts,
                    kind: Wait::TreeConnect { sid, share },
                    ..
                }) = self.pending.remove(&h.message_id)
                {
                    self.emit(
                        cx,
                        ts,
                        "tree_connect",
                        Some(share.clone()),
                        None,
                        sid,
                        Some(nt_status(h.status)),
                    );
                    if let Some(t) = share_type {
                        self.add_tree((sid, h.tree_id), share, t == parse::SHARE_TYPE_PIPE);
                    }
                }
            }
            (cmd2::CREATE, Some(Wait::Create { .. })) => {
                let file = if ok && !error_body() {
                    Some(try_p!(parse::smb2_create_resp(b)))
                } else {
                    None
                };
                if let Some(Pending {
                    ts,
                    kind: Wait::Create { sid, tid, path },
                    ..
                }) = self.pending.remove(&h.message_id)
                {
                    let tree = self.trees.get(&(sid, tid));
                    let share = tree.map(|t| t.share.clone());
                    let known = tree.is_some();
                    let pipe = tree.is_some_and(|t| t.pipe);
                    match (file, pipe, known) {
                        (Some(file), true, _) => self.open_pipe(cx, file, &path),
                        (Some(file), false, false) => self.remember_open(file, &path),
                        _ => {}
                    }
                    self.emit(
                        cx,
                        ts,
                        "open",
                        share,
                        non_empty(path),
                        sid,
                        Some(nt_status(h.status)),
                    );
                }
            }
            (cmd2::READ, Some(&Wait::MaybeRead { file, sid, tid })) => {
                if (ok || h.status == STATUS_BUFFER_OVERFLOW) && !error_body() {
                    let (off, len) = try_p!(parse::smb2_read_resp(b));
                    let peek = len.min(parse::DCERPC_PEEK);
                    match parse::smb2_data(b, el, off, peek) {
                        P::Ok(head)
                            if parse::looks_dcerpc(head)
                                && !self.pipe_over_cap(cx, file, Dir::ToClient, len) =>
                        {
                            let data = try_p!(parse::smb2_data(b, el, off, len));
                            self.adopt(cx, file, sid, tid);
                            self.pipe_data(cx, file, Dir::ToClient, data);
                        }
                        P::Need(n) => return P::Need(n),
                        _ => {}
                    }
                }
                self.pending.remove(&h.message_id);
            }
            (cmd2::READ | cmd2::IOCTL, Some(&Wait::PipeRead { file })) => {
                if (ok || h.status == STATUS_BUFFER_OVERFLOW) && !error_body() {
                    let (off, len) = if h.command == cmd2::READ {
                        try_p!(parse::smb2_read_resp(b))
                    } else {
                        let io = try_p!(parse::smb2_ioctl_resp(b));
                        (io.data_offset, io.data_len)
                    };
                    if !self.pipe_over_cap(cx, file, Dir::ToClient, len) {
                        let data = try_p!(parse::smb2_data(b, el, off, len));
                        self.pipe_data(cx, file, Dir::ToClient, data);
                    }
                }
                self.pending.remove(&h.message_id);
            }
            (_, Some(_)) => {
                // An answer of another command under the same MessageId: the request is done.
                if let Some(p) = self.pending.remove(&h.message_id) {
                    self.unanswered(cx, p);
                }
            }
            _ => {}
        }
        P::Ok(())
    }

    // -----------------------------------------------------------------------------------------
    // SMB1

    fn smb1(&mut self, cx: &mut Ctx<'_>, _dir: Dir, b: &[u8], frame_left: u64, ts: Ts) -> Step {
        let el = frame_left as usize;
        match parse::smb1_first_block_len(b) {
            P::Ok(_) => {}
            P::Need(n) if n <= el => return Step::Need(n),
            _ => {
                cx.count(Counter::MalformedSmb);
                return Step::Done(frame_left);
            }
        }
        let Some(h) = parse::smb1_header(b) else {
            cx.count(Counter::MalformedSmb);
            return Step::Done(frame_left);
        };
        // Decide from the first block whether the message is worth buffering whole.
        let first = match parse::smb1_block(b, parse::SMB1_HEADER, h.command) {
            P::Ok(blk) => blk,
            _ => {
                cx.count(Counter::MalformedSmb);
                return Step::Done(frame_left);
            }
        };
        let (uid, tid) = (u64::from(h.uid), u32::from(h.tid));
        let whole = match (h.command, h.is_reply()) {
            (cmd1::WRITE_ANDX, false) => match parse::smb1_write_andx(&first, el) {
                Some(w) => {
                    let file = smb1_file(w.fid);
                    if !self.pipes.contains_key(&file) {
                        // Worth reading only when it starts like DCE-RPC on a possible pipe.
                        let at = w.data_offset + raw_prefix(w.write_mode);
                        let end = at + parse::DCERPC_PEEK;
                        if !self.tree_may_pipe(uid, tid) || w.data_len < end - w.data_offset {
                            return Step::Done(frame_left);
                        }
                        match b.get(at..end) {
                            Some(head) if parse::looks_dcerpc(head) => {}
                            None if end <= el => return Step::Need(end),
                            _ => return Step::Done(frame_left),
                        }
                    }
                    !self.pipe_over_cap(cx, file, Dir::ToServer, w.data_len)
                }
                None => false,
            },
            (cmd1::READ_ANDX, true) => match self.pending.get(&smb1_key(&h, cmd1::READ_ANDX)) {
                Some(&Pending {
                    kind: Wait::MaybeRead { file, .. },
                    ..
                }) => {
                    let (off, len) = parse::smb1_read_andx_resp(&first).unwrap_or_default();
                    let end = off + parse::DCERPC_PEEK;
                    match b.get(off..end) {
                        None if len >= parse::DCERPC_PEEK && end <= el => return Step::Need(end),
                        Some(head)
                            if len >= parse::DCERPC_PEEK
                                && parse::looks_dcerpc(head)
                                && !self.pipe_over_cap(cx, file, Dir::ToClient, len) =>
                        {
                            true
                        }
                        _ => {
                            self.pending.remove(&smb1_key(&h, cmd1::READ_ANDX));
                            false
                        }
                    }
                }
                Some(&Pending {
                    kind: Wait::PipeRead { file },
                    ..
                }) => {
                    let len = parse::smb1_read_andx_resp(&first).map_or(0, |r| r.1);
                    if self.pipe_over_cap(cx, file, Dir::ToClient, len) {
                        self.pending.remove(&smb1_key(&h, cmd1::READ_ANDX));
                        false
                    } else {
                        true
                    }
                }
                _ => false,
            },
            (
                cmd1::NEGOTIATE
                | cmd1::SESSION_SETUP_ANDX
                | cmd1::TREE_CONNECT_ANDX
                | cmd1::NT_CREATE_ANDX
                | cmd1::TRANSACTION
                | cmd1::CLOSE
                | cmd1::LOGOFF_ANDX
                | cmd1::TREE_DISCONNECT
                | cmd1::READ_ANDX,
                _,
            ) => true,
            _ => false,
        };
        if !whole {
            return Step::Done(frame_left);
        }
        if b.len() < el {
            if el > cx.config.smb_max_message {
                cx.count_n(Counter::DropDecoderCap, frame_left);
                return Step::Done(frame_left);
            }
            return Step::Need(el);
        }
        let msg = &b[..el];
        let Some(chain) = parse::smb1_chain(msg, MAX_ANDX) else {
            cx.count(Counter::MalformedSmb);
            return Step::Done(frame_left);
        };
        for blk in &chain {
            if h.is_reply() {
                self.smb1_response(cx, &h, msg, blk);
            } else {
                self.smb1_request(cx, &h, msg, blk, ts);
            }
        }
        Step::Done(frame_left)
    }

    fn smb1_request(
        &mut self,
        cx: &mut Ctx<'_>,
        h: &Smb1Header,
        msg: &[u8],
        blk: &parse::Block<'_>,
        ts: Ts,
    ) {
        let uid = u64::from(h.uid);
        let key = smb1_key(h, blk.command);
        let unicode = h.unicode();
        match blk.command {
            cmd1::SESSION_SETUP_ANDX => match blk.word_count() {
                12 => {
                    let len = usize::from(blk.u16_at(14));
                    let blob = blk.bytes.get(..len).unwrap_or(blk.bytes);
                    let i = self.setup_for(cx, uid);
                    let token = self.setups[i].token;
                    if !blob.is_empty() {
                        gssapi::inspect(cx, Carrier::Smb1, blob, &mut self.setups[i].auth);
                    }
                    self.wait(cx, key, ts, Wait::SessionSetup { token });
                }
                10 | 13 => {
                    let (oem, uni) = if blk.word_count() == 13 {
                        (usize::from(blk.u16_at(14)), usize::from(blk.u16_at(16)))
                    } else {
                        (usize::from(blk.u16_at(14)), 0)
                    };
                    let at = blk.bytes_offset + oem + uni;
                    let unicode = unicode && blk.word_count() == 13;
                    let (user, at) = parse::smb1_string(msg, at, unicode).unwrap_or_default();
                    let domain = parse::smb1_string(msg, at, unicode)
                        .map(|s| s.0)
                        .unwrap_or_default();
                    let user = non_empty(user);
                    let version = if user.is_none() && oem <= 1 && uni == 0 {
                        "anonymous"
                    } else if uni > 24 {
                        "NTLMv2"
                    } else if uni == 24 {
                        "NTLMv1"
                    } else {
                        "LM"
                    };
                    let i = self.setup_for(cx, uid);
                    let token = self.setups[i].token;
                    self.setups[i].plain = Some((
                        ts,
                        PlainAuth {
                            user,
                            domain: non_empty(domain),
                            version,
                        },
                    ));
                    self.wait(cx, key, ts, Wait::SessionSetup { token });
                }
                _ => cx.count(Counter::MalformedSmb),
            },
            cmd1::TREE_CONNECT_ANDX if blk.word_count() >= 4 => {
                let at = blk.bytes_offset + usize::from(blk.u16_at(6));
                if let Some((share, _)) = parse::smb1_string(msg, at, unicode) {
                    self.wait(cx, key, ts, Wait::TreeConnect { sid: uid, share });
                }
            }
            cmd1::NT_CREATE_ANDX if blk.word_count() >= 24 => {
                if let Some((name, _)) = parse::smb1_string(msg, blk.bytes_offset, unicode) {
                    let path = name.trim_start_matches('\\').to_string();
                    self.wait(
                        cx,
                        key,
                        ts,
                        Wait::Create {
                            sid: uid,
                            tid: u32::from(h.tid),
                            path,
                        },
                    );
                }
            }
            cmd1::CLOSE if blk.word_count() >= 1 => self.close_pipe(cx, smb1_file(blk.u16_at(0))),
            cmd1::READ_ANDX if blk.word_count() >= 10 => {
                let file = smb1_file(blk.u16_at(4));
                let tid = u32::from(h.tid);
                if self.pipes.contains_key(&file) {
                    self.wait(cx, key, ts, Wait::PipeRead { file });
                } else if self.tree_may_pipe(uid, tid) {
                    let kind = Wait::MaybeRead {
                        file,
                        sid: uid,
                        tid,
                    };
                    self.wait(cx, key, ts, kind);
                }
            }
            cmd1::WRITE_ANDX => {
                let Some(w) = parse::smb1_write_andx(blk, msg.len()) else {
                    return;
                };
                let file = smb1_file(w.fid);
                let Some(data) = parse::slice(msg, w.data_offset, w.data_len) else {
                    if self.pipes.contains_key(&file) {
                        cx.count(Counter::MalformedSmb);
                    }
                    return;
                };
                let data = data.get(raw_prefix(w.write_mode)..).unwrap_or_default();
                if !self.pipes.contains_key(&file) {
                    let tid = u32::from(h.tid);
                    if !self.tree_may_pipe(uid, tid) || !parse::looks_dcerpc(data) {
                        return;
                    }
                    self.adopt(cx, file, uid, tid);
                }
                self.pipe_data(cx, file, Dir::ToServer, data);
            }
            cmd1::TRANSACTION => {
                let Some(t) = parse::smb1_trans_req(blk) else {
                    return;
                };
                let (Some(sub), Some(fid)) = (t.setup.get(0..2), t.setup.get(2..4)) else {
                    return;
                };
                if u16::from_le_bytes([sub[0], sub[1]]) != parse::TRANS_TRANSACT_NMPIPE {
                    return;
                }
                let file = smb1_file(u16::from_le_bytes([fid[0], fid[1]]));
                if self.tree_may_pipe(uid, u32::from(h.tid)) {
                    // A pipe transaction: the FID is a pipe, whether its open was seen or not.
                    self.adopt(cx, file, uid, u32::from(h.tid));
                }
                if !self.pipes.contains_key(&file)
                    || self.pipe_over_cap(cx, file, Dir::ToServer, t.data_len)
                {
                    return;
                }
                let Some(data) = parse::slice(msg, t.data_offset, t.data_len) else {
                    cx.count(Counter::MalformedSmb);
                    return;
                };
                self.pipe_data(cx, file, Dir::ToServer, data);
                self.wait(cx, key, ts, Wait::PipeRead { file });
            }
            cmd1::LOGOFF_ANDX => {
                self.sessions.remove(&uid);
            }
            cmd1::TREE_DISCONNECT => {
                self.trees.remove(&(uid, u32::from(h.tid)));
            }
            _ => {}
        }
    }

    fn smb1_response(
        &mut self,
        cx: &mut Ctx<'_>,
        h: &Smb1Header,
        msg: &[u8],
        blk: &parse::Block<'_>,
    ) {
        let uid = u64::from(h.uid);
        let key = smb1_key(h, blk.command);
        let ok = h.status == STATUS_SUCCESS;
        match blk.command {
            cmd1::NEGOTIATE if ok && blk.word_count() >= 1 && blk.u16_at(0) != 0xffff => {
                self.dialect = Some("SMB 1");
            }
            cmd1::SESSION_SETUP_ANDX => {
                let token = match self.pending.remove(&key) {
                    Some(Pending {
                        kind: Wait::SessionSetup { token },
                        ..
                    }) => Some(token),
                    _ => None,
                };
                let blob = if blk.word_count() == 4 {
                    let len = usize::from(blk.u16_at(6));
                    blk.bytes.get(..len).unwrap_or(blk.bytes)
                } else {
                    &[]
                };
                self.setup_answer(
                    cx,
                    Carrier::Smb1,
                    token,
                    uid,
                    blob,
                    h.status,
                    smb1_status(h),
                );
            }
            cmd1::TREE_CONNECT_ANDX => {
                if let Some(Pending {
                    ts,
                    kind: Wait::TreeConnect { sid, share },
                    ..
                }) = self.pending.remove(&key)
                {
                    self.emit(
                        cx,
                        ts,
                        "tree_connect",
                        Some(share.clone()),
                        None,
                        sid,
                        Some(smb1_status(h)),
                    );
                    if ok {
                        let service = parse::ascii(blk.bytes);
                        self.add_tree((sid, u32::from(h.tid)), share, service == "IPC");
                    }
                }
            }
            cmd1::NT_CREATE_ANDX => {
                if let Some(Pending {
                    ts,
                    kind: Wait::Create { sid, tid, path },
                    ..
                }) = self.pending.remove(&key)
                {
                    let tree = self.trees.get(&(sid, tid));
                    let share = tree.map(|t| t.share.clone());
                    let known = tree.is_some();
                    // The FileType word after the FID, action, times, attributes and sizes:
                    // byte-mode or message-mode pipe.
                    let pipe = tree.is_some_and(|t| t.pipe)
                        || matches!(
                            blk.u16_at(63),
                            parse::FILE_TYPE_BYTE_PIPE | parse::FILE_TYPE_MESSAGE_PIPE
                        );
                    if ok && blk.word_count() >= 34 {
                        // FID after AndX (4 bytes) and the oplock level.
                        let file = smb1_file(blk.u16_at(5));
                        if pipe {
                            self.open_pipe(cx, file, &path);
                        } else if !known {
                            self.remember_open(file, &path);
                        }
                    }
                    self.emit(
                        cx,
                        ts,
                        "open",
                        share,
                        non_empty(path),
                        sid,
                        Some(smb1_status(h)),
                    );
                }
            }
            cmd1::READ_ANDX => {
                let file = match self.pending.remove(&key) {
                    Some(Pending {
                        kind: Wait::PipeRead { file },
                        ..
                    }) => Some(file),
                    Some(Pending {
                        kind: Wait::MaybeRead { file, sid, tid },
                        ..
                    }) => {
                        let data = parse::smb1_read_andx_resp(blk)
                            .and_then(|(o, l)| parse::slice(msg, o, l));
                        if data.is_some_and(parse::looks_dcerpc) {
                            self.adopt(cx, file, sid, tid);
                            Some(file)
                        } else {
                            None
                        }
                    }
                    _ => None,
                };
                if let Some(file) = file {
                    if ok || h.status == STATUS_BUFFER_OVERFLOW {
                        if let Some(data) = parse::smb1_read_andx_resp(blk)
                            .and_then(|(o, l)| parse::slice(msg, o, l))
                        {
                            self.pipe_data(cx, file, Dir::ToClient, data);
                        }
                    }
                }
            }
            cmd1::TRANSACTION => {
                if let Some(Pending {
                    kind: Wait::PipeRead { file },
                    ..
                }) = self.pending.remove(&key)
                {
                    if ok || h.status == STATUS_BUFFER_OVERFLOW {
                        let data = parse::smb1_trans_resp(blk)
                            .and_then(|t| parse::slice(msg, t.data_offset, t.data_len));
                        if let Some(data) = data.filter(|d| !d.is_empty()) {
                            if !self.pipe_over_cap(cx, file, Dir::ToClient, data.len()) {
                                self.pipe_data(cx, file, Dir::ToClient, data);
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

/// Bytes before the pipe message in a WRITE_ANDX in raw mode starting a message (its length).
fn raw_prefix(write_mode: u16) -> usize {
    let raw_start = parse::WRITE_MODE_RAW | parse::WRITE_MODE_MSG_START;
    if write_mode & raw_start == raw_start {
        2
    } else {
        0
    }
}

/// Pipe key of an SMB1 FID (apart from SMB2 FileIds).
fn smb1_file(fid: u16) -> u128 {
    (1u128 << 127) | u128::from(fid)
}

/// Pending key of an SMB1 command: process id, multiplex id and command (apart from SMB2
/// MessageIds).
fn smb1_key(h: &Smb1Header, command: u8) -> u64 {
    (1u64 << 63) | (h.key() << 8) | u64::from(command)
}

#[cfg(test)]
mod tests;
