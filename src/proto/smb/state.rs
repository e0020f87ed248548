//! The state of one SMB connection shared by both directions: negotiated dialect, sessions
//! (id → user), trees (id → share), open named pipes (FileId → DCE-RPC connection), files opened
//! on trees whose connect was not seen, session setups in progress and requests waiting for
//! their answer; the records they make. On SMB2/3, what another channel of the same session may
//! need is also written to, and what this connection does not know looked up in, the sensor's
//! [`registry`](super::registry) (multichannel).

use super::parse::{self, Magic};
use super::{
    evict_oldest, pipe_name, MAX_FILES, MAX_PIPES, MAX_SESSIONS, MAX_SETUPS, MAX_TREES,
    STATUS_MORE_PROCESSING_REQUIRED, STATUS_SUCCESS,
};
use crate::base::WireMap;
use crate::proto::dcerpc::PipeConn;
use crate::proto::gssapi;
use crate::proto::kit::framer::Step;
use crate::proto::kit::txn::Txns;
use crate::proto::ntlm::NtlmAuth;
use crate::proto::{Ctx, Dir};
use crate::record::{Body, Carrier, Code, Ntlm, Smb, Ts};
use crate::stats::Counter;
use std::net::IpAddr;
use std::sync::Arc;

/// One SMB session on the connection.
#[derive(Debug, Default)]
pub(super) struct Session {
    /// Shared with the session's records.
    pub(super) user: Option<Arc<str>>,
    pub(super) seq: u64,
}

/// One tree connect.
#[derive(Debug)]
pub(super) struct Tree {
    /// Shared with the tree's records.
    pub(super) share: Arc<str>,
    pub(super) pipe: bool,
    pub(super) seq: u64,
}

/// An open named pipe and its DCE-RPC connection.
pub(super) struct Pipe {
    pub(super) conn: PipeConn,
    pub(super) seq: u64,
}

/// An SMB1 session setup without extended security: account and domain in the clear.
#[derive(Debug, Clone)]
pub(super) struct PlainAuth {
    pub(super) user: Option<String>,
    pub(super) domain: Option<String>,
    pub(super) version: &'static str,
}

/// A session setup in progress.
pub(super) struct Setup {
    pub(super) token: u64,
    /// The session id (0 until the server assigned one).
    pub(super) sid: u64,
    pub(super) auth: NtlmAuth,
    pub(super) plain: Option<(Ts, PlainAuth)>,
}

/// A request waiting for its response.
#[derive(Debug)]
pub(super) struct Pending {
    pub(super) ts: Ts,
    pub(super) seq: u64,
    pub(super) kind: Wait,
}

#[derive(Debug)]
pub(super) enum Wait {
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
        /// The access mask and CreateDisposition asked.
        access: u32,
        disposition: u32,
    },
    /// A read of a file (not a pipe) that is being counted.
    FileRead {
        file: u128,
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

/// A file (not a pipe) open: where, and the bytes moved through it so far.
#[derive(Debug)]
pub(super) struct FileOpen {
    pub(super) sid: u64,
    pub(super) tid: u32,
    pub(super) path: String,
    pub(super) read: u64,
    pub(super) written: u64,
    pub(super) seq: u64,
}

/// The connection's state, shared by both directions.
#[derive(Default)]
pub(super) struct State {
    pub(super) dialect: Option<&'static str>,
    pub(super) sessions: WireMap<u64, Session>,
    pub(super) trees: WireMap<(u64, u32), Tree>,
    pub(super) pipes: WireMap<u128, Pipe>,
    /// Files opened on trees whose connect was not seen (mid-stream): FileId → (path, seq).
    /// A pipe transceive on one, or data that starts like DCE-RPC, makes it a pipe.
    pub(super) opens: WireMap<u128, (String, u64)>,
    /// Files (not pipes) open, with the bytes read and written through them.
    pub(super) files: WireMap<u128, FileOpen>,
    /// Requests waiting for their answers, by SMB2 MessageId or SMB1 key ([`smb1_key`]).
    ///
    /// [`smb1_key`]: super::smb1
    pub(super) pending: Txns<u64, Pending>,
    pub(super) setups: Vec<Setup>,
    pub(super) seq: u64,
    /// An SMB2/3 message was seen: ids are the server's, shared by the session's channels.
    pub(super) smb2: bool,
    /// Session and tree of the previous request element (for related compound requests).
    pub(super) chain: (u64, u32),
    /// Bytes handed to pipes, for tests: (pipe, direction, bytes).
    #[cfg(test)]
    pub(super) tap: Vec<(String, Dir, Vec<u8>)>,
}

/// Emits the `ntlm` record of an SMB1 session setup without extended security.
pub(super) fn emit_plain(cx: &mut Ctx<'_>, ts: Ts, a: PlainAuth, verdict: Option<(bool, Code)>) {
    cx.emit(
        ts,
        Body::Ntlm(Ntlm {
            carrier: Some(Carrier::Smb1),
            user: a.user,
            domain: a.domain,
            version: Some(a.version),
            success: verdict.map(|v| v.0),
            status: verdict.map(|v| v.1),
            ..Default::default()
        }),
    );
}

pub(super) fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

impl State {
    pub(super) fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// Looks at a unit: `b` is its first bytes (at least what was wanted, possibly more than the
    /// unit), `frame_left` the bytes of the NetBIOS frame from the unit's start.
    pub(super) fn unit(
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
            _ => Step::Lost,
        }
    }

    /// Bytes of `dir` were lost: every open pipe may have lost some.
    pub(super) fn pipes_gap(&mut self, cx: &mut Ctx<'_>, dir: Dir, len: u64) {
        let mut keys: Vec<(u64, u128)> = self.pipes.iter().map(|(&k, p)| (p.seq, k)).collect();
        keys.sort_unstable();
        for (_, k) in keys {
            if let Some(p) = self.pipes.get_mut(&k) {
                p.conn.gap(cx, dir, len);
            }
        }
    }

    /// Hands pipe bytes to the pipe's DCE-RPC connection, or a gap when over the cap.
    pub(super) fn pipe_data(&mut self, cx: &mut Ctx<'_>, file: u128, dir: Dir, data: &[u8]) {
        let Some(p) = self.pipes.get_mut(&file) else {
            return;
        };
        #[cfg(test)]
        self.tap.push((p.conn.pipe.clone(), dir, data.to_vec()));
        p.conn.data(cx, dir, data);
    }

    pub(super) fn pipe_over_cap(
        &mut self,
        cx: &mut Ctx<'_>,
        file: u128,
        dir: Dir,
        len: usize,
    ) -> bool {
        if len <= cx.config.smb_max_pipe_payload {
            return false;
        }
        cx.count_n(Counter::DropDecoderCap, len as u64);
        if let Some(p) = self.pipes.get_mut(&file) {
            p.conn.gap(cx, dir, len as u64);
        }
        true
    }

    /// The server's address when this connection speaks SMB2/3, whose ids are the server's and
    /// shared by the channels of a session: the key of the [`registry`](super::registry).
    pub(super) fn registry_server(&self, cx: &Ctx<'_>) -> Option<IpAddr> {
        self.smb2.then_some(cx.flow.server)
    }

    /// `file`, of session `sid`, is a pipe opened as `path` (empty: its open was not seen).
    pub(super) fn open_pipe(&mut self, cx: &mut Ctx<'_>, file: u128, sid: u64, path: &str) {
        self.files.remove(&file);
        let link = self.registry_server(cx).map(|s| (s, sid, file));
        if let Some(mut p) = evict_oldest(&mut self.pipes, &file, MAX_PIPES, |p| p.seq) {
            p.conn.close(cx);
        }
        let seq = self.next_seq();
        if let Some(mut old) = self.pipes.insert(
            file,
            Pipe {
                conn: PipeConn::linked(pipe_name(path), link),
                seq,
            },
        ) {
            old.conn.close(cx);
        }
    }

    /// `file` of session `sid` was closed.
    pub(super) fn close_pipe(&mut self, cx: &mut Ctx<'_>, file: u128, sid: u64) {
        self.opens.remove(&file);
        if let Some(server) = self.registry_server(cx) {
            cx.shared.smb.remove_open(cx, (server, sid, file));
        }
        if let Some(mut p) = self.pipes.remove(&file) {
            p.conn.close(cx);
        }
    }

    /// Whether files of tree `tid` of session `sid` may be pipes: the tree is IPC, or its
    /// connect was not seen.
    pub(super) fn tree_may_pipe(&mut self, cx: &Ctx<'_>, sid: u64, tid: u32) -> bool {
        self.tree(cx, sid, tid).is_none_or(|t| t.pipe)
    }

    /// Tree `tid` of session `sid`: connected on this connection, or (SMB2/3) on another channel
    /// of the session, then remembered here.
    pub(super) fn tree(&mut self, cx: &Ctx<'_>, sid: u64, tid: u32) -> Option<&Tree> {
        if !self.trees.contains_key(&(sid, tid)) {
            let server = self.registry_server(cx)?;
            let t = cx.shared.smb.tree(cx, (server, sid, tid))?;
            self.remember_tree((sid, tid), t.share, t.pipe);
        }
        self.trees.get(&(sid, tid))
    }

    /// A file was opened as `path` on an IPC tree or on a tree whose connect was not seen: tells
    /// the session's other channels (SMB2/3), which may use it.
    pub(super) fn share_open(&self, cx: &Ctx<'_>, sid: u64, file: u128, path: &str) {
        if let Some(server) = self.registry_server(cx) {
            cx.shared.smb.add_open(cx, (server, sid, file), path);
        }
    }

    /// Remembers a file opened on a tree whose connect was not seen.
    pub(super) fn remember_open(&mut self, file: u128, path: &str) {
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
    /// multichannel). Its name is the path it was opened with on this connection, else (SMB2/3)
    /// on another channel of the session, else that of the last open on the same tree still
    /// waiting for its answer, else unknown (left out of the records).
    pub(super) fn adopt(&mut self, cx: &mut Ctx<'_>, file: u128, sid: u64, tid: u32) {
        if self.pipes.contains_key(&file) {
            return;
        }
        let server = self.registry_server(cx);
        let shared = || {
            let o = cx.shared.smb.open(cx, (server?, sid, file))?;
            non_empty(o.path)
        };
        let path = match self.opens.remove(&file) {
            Some((path, _)) => path,
            None => shared().unwrap_or_else(|| {
                self.pending
                    .iter()
                    .map(|t| &t.value)
                    .filter_map(|p| match &p.kind {
                        Wait::Create {
                            sid: s,
                            tid: t,
                            path,
                            ..
                        } if *s == sid && *t == tid => Some((p.seq, path)),
                        _ => None,
                    })
                    .max_by_key(|(seq, _)| *seq)
                    .map(|(_, path)| path.clone())
                    .unwrap_or_default()
            }),
        };
        self.open_pipe(cx, file, sid, &path);
    }

    pub(super) fn wait(&mut self, cx: &mut Ctx<'_>, key: u64, ts: Ts, kind: Wait) {
        // A request reusing an id still waiting ends the old one; a new one over the cap
        // evicts the oldest (both recorded without an answer).
        let reused = self.pending.take(&key);
        self.pending.set_cap(cx.config.max_pending);
        let seq = self.next_seq();
        if let Some(t) = self.pending.insert(ts, key, Pending { ts, seq, kind }) {
            self.unanswered(cx, t.value);
        }
        if let Some(t) = reused {
            self.unanswered(cx, t.value);
        }
    }

    /// A request that got no answer: tree connects and opens are emitted without a status.
    pub(super) fn unanswered(&mut self, cx: &mut Ctx<'_>, p: Pending) {
        match p.kind {
            Wait::TreeConnect { sid, share } => self.emit(
                cx,
                p.ts,
                "tree_connect",
                Some(share.into()),
                None,
                sid,
                None,
            ),
            Wait::Create {
                sid,
                tid,
                path,
                access,
                disposition,
            } => self.emit_open(cx, p.ts, sid, tid, path, (access, disposition), None),
            Wait::SessionSetup { .. }
            | Wait::PipeRead { .. }
            | Wait::MaybeRead { .. }
            | Wait::FileRead { .. } => {}
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn emit(
        &self,
        cx: &mut Ctx<'_>,
        ts: Ts,
        action: &'static str,
        share: Option<Arc<str>>,
        path: Option<String>,
        sid: u64,
        status: Option<Code>,
    ) {
        let rec = Smb {
            action,
            share,
            path,
            status,
            ..Default::default()
        };
        self.emit_rec(cx, ts, sid, rec);
    }

    /// Emits `rec` with the session's user (set up on this connection, else, SMB2/3, on another
    /// channel of the session) and the dialect.
    pub(super) fn emit_rec(&self, cx: &mut Ctx<'_>, ts: Ts, sid: u64, mut rec: Smb) {
        rec.user = match self.sessions.get(&sid) {
            Some(s) => s.user.clone(),
            None => self
                .registry_server(cx)
                .and_then(|server| cx.shared.smb.session(cx, (server, sid)))
                .flatten(),
        };
        rec.dialect = self.dialect;
        cx.emit(ts, Body::Smb(rec));
    }

    /// Emits the `open` of `path` on tree `tid` with the access and disposition asked.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn emit_open(
        &self,
        cx: &mut Ctx<'_>,
        ts: Ts,
        sid: u64,
        tid: u32,
        path: String,
        (access, disposition): (u32, u32),
        status: Option<Code>,
    ) {
        let rec = Smb {
            action: "open",
            access: parse::access_names(access),
            disposition: Some(Code::new(
                i64::from(disposition),
                parse::disposition_name(disposition),
            )),
            share: self.trees.get(&(sid, tid)).map(|t| t.share.clone()),
            path: non_empty(path),
            status,
            ..Default::default()
        };
        self.emit_rec(cx, ts, sid, rec);
    }

    /// Starts counting the bytes moved through `file` (a file, not a pipe).
    pub(super) fn track_file(
        &mut self,
        cx: &mut Ctx<'_>,
        file: u128,
        sid: u64,
        tid: u32,
        path: &str,
    ) {
        if let Some(old) = evict_oldest(&mut self.files, &file, MAX_FILES, |f| f.seq) {
            self.emit_close(cx, cx.now, old);
        }
        let seq = self.next_seq();
        let f = FileOpen {
            sid,
            tid,
            path: path.to_string(),
            read: 0,
            written: 0,
            seq,
        };
        if let Some(old) = self.files.insert(file, f) {
            self.emit_close(cx, cx.now, old);
        }
    }

    /// Counts `n` bytes read (`read`) or written through `file`, if it is a file being counted.
    pub(super) fn file_moved(&mut self, file: u128, read: bool, n: u64) {
        if let Some(f) = self.files.get_mut(&file) {
            let c = if read { &mut f.read } else { &mut f.written };
            *c = c.saturating_add(n);
        }
    }

    /// `file` was closed (at `ts`): its `close` record, when data moved through it.
    pub(super) fn close_file(&mut self, cx: &mut Ctx<'_>, file: u128, ts: Ts) {
        if let Some(f) = self.files.remove(&file) {
            self.emit_close(cx, ts, f);
        }
    }

    fn emit_close(&self, cx: &mut Ctx<'_>, ts: Ts, f: FileOpen) {
        if f.read == 0 && f.written == 0 {
            return;
        }
        let rec = Smb {
            action: "close",
            bytes_read: Some(f.read),
            bytes_written: Some(f.written),
            share: self.trees.get(&(f.sid, f.tid)).map(|t| t.share.clone()),
            path: non_empty(f.path),
            ..Default::default()
        };
        self.emit_rec(cx, ts, f.sid, rec);
    }

    /// The connection ended: the files still open that moved data, oldest first.
    pub(super) fn flush_files(&mut self, cx: &mut Ctx<'_>) {
        let mut files: Vec<FileOpen> = self.files.drain().map(|(_, f)| f).collect();
        files.sort_by_key(|f| f.seq);
        for f in files {
            self.emit_close(cx, cx.now, f);
        }
    }

    /// The session setup in progress for session `sid` (0: a new one), created if needed.
    pub(super) fn setup_for(&mut self, cx: &mut Ctx<'_>, sid: u64) -> usize {
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
    pub(super) fn setup_answer(
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
                self.add_session(cx, sid, None);
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
        let mut user: Option<Arc<str>> = setup
            .auth
            .user()
            .filter(|(u, _)| !u.is_empty())
            .map(|(u, _)| u.into());
        if setup.auth.pending() {
            setup.auth.verdict(cx, success, code);
        }
        if let Some((ts, plain)) = setup.plain.take() {
            user = user.or_else(|| plain.user.as_deref().map(Arc::from));
            emit_plain(cx, ts, plain, Some((success, code)));
        }
        if success {
            self.add_session(cx, sid, user);
        }
    }

    /// Session `sid` was set up on this connection (SMB2/3: written to the registry too, where
    /// a user known from another channel is kept when this setup named none).
    pub(super) fn add_session(&mut self, cx: &Ctx<'_>, sid: u64, user: Option<Arc<str>>) {
        if let Some(server) = self.registry_server(cx) {
            cx.shared.smb.add_session(cx, (server, sid), user.clone());
        }
        evict_oldest(&mut self.sessions, &sid, MAX_SESSIONS, |s| s.seq);
        let seq = self.next_seq();
        let s = self.sessions.entry(sid).or_default();
        s.seq = seq;
        if user.is_some() {
            s.user = user;
        }
    }

    /// Session `sid` logged off.
    pub(super) fn logoff(&mut self, cx: &Ctx<'_>, sid: u64) {
        self.sessions.remove(&sid);
        if let Some(server) = self.registry_server(cx) {
            cx.shared.smb.remove_session(cx, (server, sid));
        }
    }

    /// Tree `key` was connected on this connection (SMB2/3: written to the registry too).
    pub(super) fn add_tree(&mut self, cx: &Ctx<'_>, key: (u64, u32), share: Arc<str>, pipe: bool) {
        if let Some(server) = self.registry_server(cx) {
            let t = super::registry::TreeInfo {
                share: share.clone(),
                pipe,
            };
            cx.shared.smb.add_tree(cx, (server, key.0, key.1), t);
        }
        self.remember_tree(key, share, pipe);
    }

    fn remember_tree(&mut self, key: (u64, u32), share: Arc<str>, pipe: bool) {
        evict_oldest(&mut self.trees, &key, MAX_TREES, |t| t.seq);
        let seq = self.next_seq();
        self.trees.insert(key, Tree { share, pipe, seq });
    }

    /// Tree `key` was disconnected.
    pub(super) fn tree_disconnect(&mut self, cx: &Ctx<'_>, key: (u64, u32)) {
        self.trees.remove(&key);
        if let Some(server) = self.registry_server(cx) {
            cx.shared.smb.remove_tree(cx, (server, key.0, key.1));
        }
    }
}
