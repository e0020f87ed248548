//! SMB1 messages: AndX chains read command by command (negotiate, session setup with or without
//! extended security, tree connect, NT create, close, read, write, named-pipe transactions).

use super::parse::{self, cmd1, Smb1Header, P};
use super::state::{non_empty, Pending, PlainAuth, State, Wait};
use super::{smb1_status, MAX_ANDX, STATUS_BUFFER_OVERFLOW, STATUS_SUCCESS};
use crate::proto::gssapi;
use crate::proto::kit::framer::Step;
use crate::proto::{Ctx, Dir};
use crate::record::{Carrier, Ts};
use crate::stats::Counter;
use std::sync::Arc;

impl State {
    /// One SMB1 message (the whole NetBIOS frame): asks for more of it only within
    /// `smb_max_message`; a message that would need more is skipped and its bytes counted in
    /// `drops.decoder_cap`, whatever step asked (the first block, a write's or read's data
    /// head, the whole message).
    pub(super) fn smb1(
        &mut self,
        cx: &mut Ctx<'_>,
        dir: Dir,
        b: &[u8],
        frame_left: u64,
        ts: Ts,
    ) -> Step {
        match self.smb1_step(cx, dir, b, frame_left, ts) {
            Step::Need(n) if n > cx.config.smb_max_message && n > b.len() => {
                cx.count_n(Counter::DropDecoderCap, frame_left);
                Step::Done(frame_left)
            }
            step => step,
        }
    }

    fn smb1_step(
        &mut self,
        cx: &mut Ctx<'_>,
        _dir: Dir,
        b: &[u8],
        frame_left: u64,
        ts: Ts,
    ) -> Step {
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
        let read_ok = h.status == STATUS_SUCCESS || h.status == STATUS_BUFFER_OVERFLOW;
        let whole = match (h.command, h.is_reply()) {
            (cmd1::WRITE_ANDX, false) => match parse::smb1_write_andx(&first, el) {
                Some(w) => {
                    let file = smb1_file(w.fid);
                    if !self.pipes.contains_key(&file) {
                        // Worth reading only when it starts like DCE-RPC on a possible pipe.
                        let at = w.data_offset + raw_prefix(w.write_mode);
                        let end = at + parse::DCERPC_PEEK;
                        if !self.tree_may_pipe(cx, uid, tid) || w.data_len < end - w.data_offset {
                            self.file_moved(file, false, w.data_len as u64);
                            return Step::Done(frame_left);
                        }
                        match b.get(at..end) {
                            Some(head) if parse::looks_dcerpc(head) => {}
                            None if end <= el => return Step::Need(end),
                            _ => {
                                self.file_moved(file, false, w.data_len as u64);
                                return Step::Done(frame_left);
                            }
                        }
                    }
                    !self.pipe_over_cap(cx, file, Dir::ToServer, w.data_len)
                }
                None => false,
            },
            (cmd1::READ_ANDX, true) => match self
                .pending
                .get(&smb1_key(&h, cmd1::READ_ANDX))
                .map(|t| &t.value)
            {
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
                            if read_ok {
                                self.file_moved(file, true, len as u64);
                            }
                            self.pending.take(&smb1_key(&h, cmd1::READ_ANDX));
                            false
                        }
                    }
                }
                Some(&Pending {
                    kind: Wait::FileRead { file },
                    ..
                }) => {
                    if read_ok {
                        let len = parse::smb1_read_andx_resp(&first).map_or(0, |r| r.1);
                        self.file_moved(file, true, len as u64);
                    }
                    self.pending.take(&smb1_key(&h, cmd1::READ_ANDX));
                    false
                }
                Some(&Pending {
                    kind: Wait::PipeRead { file },
                    ..
                }) => {
                    let len = parse::smb1_read_andx_resp(&first).map_or(0, |r| r.1);
                    if self.pipe_over_cap(cx, file, Dir::ToClient, len) {
                        self.pending.take(&smb1_key(&h, cmd1::READ_ANDX));
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
        for blk in chain {
            if h.is_reply() {
                self.smb1_response(cx, &h, msg, &blk);
            } else {
                self.smb1_request(cx, &h, msg, &blk, ts);
            }
        }
        Step::Done(frame_left)
    }

    pub(super) fn smb1_request(
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
                            // NT_CREATE_ANDX words: DesiredAccess at 15, CreateDisposition at 35.
                            access: blk.u32_at(15),
                            disposition: blk.u32_at(35),
                        },
                    );
                }
            }
            cmd1::CLOSE if blk.word_count() >= 1 => {
                let file = smb1_file(blk.u16_at(0));
                self.close_pipe(cx, file, uid);
                self.close_file(cx, file, ts);
            }
            cmd1::READ_ANDX if blk.word_count() >= 10 => {
                let file = smb1_file(blk.u16_at(4));
                let tid = u32::from(h.tid);
                if self.pipes.contains_key(&file) {
                    self.wait(cx, key, ts, Wait::PipeRead { file });
                } else if self.tree_may_pipe(cx, uid, tid) {
                    let kind = Wait::MaybeRead {
                        file,
                        sid: uid,
                        tid,
                    };
                    self.wait(cx, key, ts, kind);
                } else if self.files.contains_key(&file) {
                    self.wait(cx, key, ts, Wait::FileRead { file });
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
                    if !self.tree_may_pipe(cx, uid, tid) || !parse::looks_dcerpc(data) {
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
                if self.tree_may_pipe(cx, uid, u32::from(h.tid)) {
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
                self.logoff(cx, uid);
            }
            cmd1::TREE_DISCONNECT => {
                self.tree_disconnect(cx, (uid, u32::from(h.tid)));
            }
            _ => {}
        }
    }

    pub(super) fn smb1_response(
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
                let token = match self.pending.take(&key).map(|t| t.value) {
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
                }) = self.pending.take(&key).map(|t| t.value)
                {
                    let share: Arc<str> = share.into();
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
                        self.add_tree(cx, (sid, u32::from(h.tid)), share, service == "IPC");
                    }
                }
            }
            cmd1::NT_CREATE_ANDX => {
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
                }) = self.pending.take(&key).map(|t| t.value)
                {
                    let tree = self.trees.get(&(sid, tid));
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
                            self.open_pipe(cx, file, sid, &path);
                        } else {
                            if !known {
                                self.remember_open(file, &path);
                            }
                            self.track_file(cx, file, sid, tid, &path);
                        }
                    }
                    let status = Some(smb1_status(h));
                    self.emit_open(cx, ts, sid, tid, path, (access, disposition), status);
                }
            }
            cmd1::READ_ANDX => {
                let file = match self.pending.take(&key).map(|t| t.value) {
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
                }) = self.pending.take(&key).map(|t| t.value)
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
pub(super) fn raw_prefix(write_mode: u16) -> usize {
    let raw_start = parse::WRITE_MODE_RAW | parse::WRITE_MODE_MSG_START;
    if write_mode & raw_start == raw_start {
        2
    } else {
        0
    }
}

/// Pipe key of an SMB1 FID (apart from SMB2 FileIds).
pub(super) fn smb1_file(fid: u16) -> u128 {
    (1u128 << 127) | u128::from(fid)
}

/// Pending key of an SMB1 command: process id, multiplex id and command (apart from SMB2
/// MessageIds).
pub(super) fn smb1_key(h: &Smb1Header, command: u8) -> u64 {
    (1u64 << 63) | (h.key() << 8) | u64::from(command)
}
