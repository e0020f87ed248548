//! SMB2 and SMB3 messages: each request or response element of a compound read as far as its
//! command needs (session setup, tree connect, create, close, read, write, pipe transceive).

use super::parse::{self, cmd2, Smb2Header, P};
use super::state::{Pending, State, Wait};
use super::{
    nt_status, STATUS_BUFFER_OVERFLOW, STATUS_MORE_PROCESSING_REQUIRED, STATUS_PENDING,
    STATUS_SUCCESS,
};
use crate::proto::gssapi;
use crate::proto::kit::framer::Step;
use crate::proto::{Ctx, Dir};
use crate::record::{Carrier, Ts};
use crate::stats::Counter;
use std::sync::Arc;

impl State {
    pub(super) fn smb2(
        &mut self,
        cx: &mut Ctx<'_>,
        _dir: Dir,
        b: &[u8],
        frame_left: u64,
        ts: Ts,
    ) -> Step {
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
        self.smb2 = true;
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
    pub(super) fn smb2_request(
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
                self.logoff(cx, sid);
            }
            cmd2::TREE_CONNECT => {
                let path = try_p!(parse::smb2_tree_connect_req(b, el));
                let share = parse::utf16(path);
                self.wait(cx, h.message_id, ts, Wait::TreeConnect { sid, share });
            }
            cmd2::TREE_DISCONNECT => {
                self.tree_disconnect(cx, (sid, h.tree_id));
            }
            cmd2::CREATE => {
                let c = try_p!(parse::smb2_create_req(b, el));
                let path = parse::utf16(c.name);
                self.wait(
                    cx,
                    h.message_id,
                    ts,
                    Wait::Create {
                        sid,
                        tid: h.tree_id,
                        path,
                        access: c.access,
                        disposition: c.disposition,
                    },
                );
            }
            cmd2::CLOSE => {
                let file = try_p!(parse::smb2_close_req(b));
                self.close_pipe(cx, file, sid);
                self.close_file(cx, file, ts);
            }
            cmd2::READ => {
                let file = try_p!(parse::smb2_read_req(b));
                if self.pipes.contains_key(&file) {
                    self.wait(cx, h.message_id, ts, Wait::PipeRead { file });
                } else if self.tree_may_pipe(cx, sid, h.tree_id) {
                    let tid = h.tree_id;
                    self.wait(cx, h.message_id, ts, Wait::MaybeRead { file, sid, tid });
                } else if self.files.contains_key(&file) {
                    self.wait(cx, h.message_id, ts, Wait::FileRead { file });
                }
            }
            cmd2::WRITE => {
                let w = try_p!(parse::smb2_write_req(b));
                if !self.pipes.contains_key(&w.file_id) && self.tree_may_pipe(cx, sid, h.tree_id) {
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
                if !self.pipes.contains_key(&w.file_id) {
                    self.file_moved(w.file_id, false, w.data_len as u64);
                }
            }
            cmd2::IOCTL => {
                let io = try_p!(parse::smb2_ioctl_req(b));
                if io.ctl_code == parse::FSCTL_PIPE_TRANSCEIVE
                    && !self.pipes.contains_key(&io.file_id)
                    && self.tree_may_pipe(cx, sid, h.tree_id)
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
    pub(super) fn smb2_response(
        &mut self,
        cx: &mut Ctx<'_>,
        h: &Smb2Header,
        b: &[u8],
        el: usize,
    ) -> P<()> {
        if h.status == STATUS_PENDING {
            // An interim response: the final one comes later with the same MessageId.
            return P::Ok(());
        }
        let ok = h.status == STATUS_SUCCESS;
        let waiting = self
            .pending
            .get(&h.message_id)
            .map(|t| &t.value)
            .map(|p| &p.kind);
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
                    self.pending.take(&h.message_id);
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
                }) = self.pending.take(&h.message_id).map(|t| t.value)
                {
                    let share: Arc<str> = share.into();
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
                        let pipe = t == parse::SHARE_TYPE_PIPE;
                        self.add_tree(cx, (sid, h.tree_id), share, pipe);
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
                    kind:
                        Wait::Create {
                            sid,
                            tid,
                            path,
                            access,
                            disposition,
                        },
                    ..
                }) = self.pending.take(&h.message_id).map(|t| t.value)
                {
                    let tree = self.tree(cx, sid, tid);
                    let known = tree.is_some();
                    let pipe = tree.is_some_and(|t| t.pipe);
                    match (file, pipe, known) {
                        (Some(file), true, _) => {
                            self.share_open(cx, sid, file, &path);
                            self.open_pipe(cx, file, sid, &path);
                        }
                        (Some(file), false, known) => {
                            if !known {
                                self.share_open(cx, sid, file, &path);
                                self.remember_open(file, &path);
                            }
                            self.track_file(cx, file, sid, tid, &path);
                        }
                        _ => {}
                    }
                    let status = Some(nt_status(h.status));
                    self.emit_open(cx, ts, sid, tid, path, (access, disposition), status);
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
                    if !self.pipes.contains_key(&file) {
                        self.file_moved(file, true, len as u64);
                    }
                }
                self.pending.take(&h.message_id);
            }
            (cmd2::READ, Some(&Wait::FileRead { file })) => {
                if (ok || h.status == STATUS_BUFFER_OVERFLOW) && !error_body() {
                    let (_, len) = try_p!(parse::smb2_read_resp(b));
                    self.file_moved(file, true, len as u64);
                }
                self.pending.take(&h.message_id);
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
                self.pending.take(&h.message_id);
            }
            (_, Some(_)) => {
                // An answer of another command under the same MessageId: the request is done.
                if let Some(p) = self.pending.take(&h.message_id).map(|t| t.value) {
                    self.unanswered(cx, p);
                }
            }
            _ => {}
        }
        P::Ok(())
    }
}
