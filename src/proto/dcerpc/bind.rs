//! The association's binds: BIND and ALTER_CONTEXT (the contexts offered, the security token),
//! their answers (which contexts the server accepted, whether it negotiated NDR64, why it refused
//! them), the record of a bind that no call used, and the contexts a pipe shares with the other
//! channels of its SMB session.

use super::names::{provider_reason, reject_reason};
use super::{auth_level, auth_type, parse, Bind, Conn, Context, CtxIds};
use crate::proto::smb::registry::BoundContext;
use crate::proto::Ctx;
use crate::record::{Code, Dcerpc};
use crate::stats::Counter;
use parse::CoHeader;
use std::borrow::Cow;

impl Conn {
    pub(super) fn bind_pdu(
        &mut self,
        cx: &mut Ctx<'_>,
        h: &CoHeader,
        body: &[u8],
        auth: Option<parse::Auth<'_>>,
    ) {
        let Ok((_, elems)) = parse::bind(h, body) else {
            cx.count(Counter::MalformedDcerpc);
            return;
        };
        if let Some(b) = self.bind.take() {
            if !b.used {
                self.emit_bind(cx, b);
            }
        }
        let mut ctx_ids = CtxIds::with_capacity(elems.len());
        for e in &elems {
            ctx_ids.push(e.ctx_id);
            let c = Context {
                id: e.ctx_id,
                uuid: e.uuid,
                major: e.major,
                minor: e.minor,
                accepted: None,
                ndr64: false,
            };
            if let Some(old) = self.contexts.iter_mut().find(|c| c.id == e.ctx_id) {
                *old = c;
            } else if self.contexts.len() < cx.config.dcerpc_max_contexts {
                self.contexts.push(c);
            } else {
                cx.count(Counter::DropDecoderCap);
            }
        }
        self.share_contexts(cx, &ctx_ids);
        let a = auth.map(|a| (a.auth_type, a.auth_level));
        if a.is_some() {
            self.auth = a;
        }
        if !elems.is_empty() {
            self.bind = Some(Bind {
                call_id: h.call_id,
                ts: cx.now,
                ctx_ids,
                ack_ts: None,
                auth: a,
                used: false,
                fault: None,
            });
        }
        if let Some(a) = auth {
            self.token(cx, &a, true);
            // A second client token (SPNEGO's final leg in an ALTER_CONTEXT) awaits the verdict.
            if self.client_tokens >= 2 && !a.token.is_empty() {
                self.awaiting_verdict = true;
            }
        }
    }

    pub(super) fn bind_ack(
        &mut self,
        cx: &mut Ctx<'_>,
        h: &CoHeader,
        body: &[u8],
        auth: Option<parse::Auth<'_>>,
    ) {
        let Ok((_, results)) = parse::bind_ack(h, body) else {
            cx.count(Counter::MalformedDcerpc);
            return;
        };
        let mut accepted_any = false;
        if let Some(b) = self.bind.as_mut().filter(|b| b.call_id == h.call_id) {
            b.ack_ts.get_or_insert(cx.now);
            for (id, r) in b.ctx_ids.iter().zip(&results) {
                if let Some(c) = self.contexts.iter_mut().find(|c| c.id == *id) {
                    c.accepted = Some(r.result == 0);
                    c.ndr64 = r.result == 0 && r.transfer == parse::NDR64;
                }
                accepted_any |= r.result == 0;
            }
            // Every context refused: the bind was rejected, for the first context's reason.
            if !accepted_any {
                if let Some(r) = results.first() {
                    b.fault = Some(provider_reason(r.reason));
                }
            }
        } else {
            accepted_any = results.iter().any(|r| r.result == 0);
        }
        if self.link.is_some() {
            if let Some(ids) = self
                .bind
                .as_ref()
                .filter(|b| b.call_id == h.call_id)
                .map(|b| b.ctx_ids.clone())
            {
                self.share_contexts(cx, &ids);
            }
        }
        if let Some(a) = auth {
            self.token(cx, &a, false);
        }
        if accepted_any && self.awaiting_verdict {
            self.verdict(cx, true, Code::Name("STATUS_SUCCESS"));
        }
    }

    pub(super) fn bind_nak(&mut self, cx: &mut Ctx<'_>, h: &CoHeader, body: &[u8]) {
        let reason = body.get(..2).map(|r| match h.endian() {
            nom::number::Endianness::Big => u16::from_be_bytes([r[0], r[1]]),
            _ => u16::from_le_bytes([r[0], r[1]]),
        });
        let status = match reason.and_then(reject_reason) {
            Some(n) => Code::Name(n),
            None => Code::Num(i64::from(reason.unwrap_or(0))),
        };
        if self.awaiting_verdict || self.ntlm.pending() || self.client_tokens > 0 {
            self.awaiting_verdict = true;
            self.verdict(cx, false, status);
        }
        if let Some(b) = self.bind.as_mut().filter(|b| b.call_id == h.call_id) {
            b.ack_ts.get_or_insert(cx.now);
            b.fault = Some(match reason.and_then(reject_reason) {
                Some(n) => Cow::Borrowed(n),
                None => Cow::Owned(format!("0x{:x}", reason.unwrap_or(0))),
            });
        }
    }

    /// A bind that no call used: its own record, interface fields set, no operation.
    pub(super) fn emit_bind(&mut self, cx: &mut Ctx<'_>, b: Bind) {
        let mut rec = Dcerpc::default();
        // The context the server accepted, else the first offered.
        let id = b
            .ctx_ids
            .iter()
            .copied()
            .find(|id| {
                self.contexts
                    .iter()
                    .any(|c| c.id == *id && c.accepted == Some(true))
            })
            .or_else(|| b.ctx_ids.first().copied());
        if let Some(id) = id {
            self.interface_fields(cx, id, &mut rec);
        }
        rec.named_pipe = self.named_pipe.clone();
        if let Some((t, l)) = b.auth.or(self.auth) {
            rec.auth_type = Some(auth_type(t));
            rec.auth_level = Some(auth_level(l));
        }
        rec.fault = b.fault;
        rec.rtt = b.ack_ts.map(|t| t.saturating_sub(b.ts));
        self.emit_record(cx, b.ts, rec);
    }
}

impl Conn {
    /// Writes contexts `ids` of this pipe to the SMB registry, for the session's other channels.
    fn share_contexts(&self, cx: &Ctx<'_>, ids: &[u16]) {
        let Some(k) = self.link else {
            return;
        };
        let bound: smallvec::SmallVec<[BoundContext; 4]> = self
            .contexts
            .iter()
            .filter(|c| ids.contains(&c.id))
            .map(|c| BoundContext {
                id: c.id,
                uuid: c.uuid,
                major: c.major,
                minor: c.minor,
                accepted: c.accepted,
                ndr64: c.ndr64,
            })
            .collect();
        if !bound.is_empty() {
            cx.shared.smb.bind(cx, k, &bound);
        }
    }

    /// A call names context `id`, not bound on this pipe's channel: takes it from the SMB
    /// registry when another channel of the session bound it (SMB3 multichannel).
    pub(super) fn linked_context(&mut self, cx: &Ctx<'_>, id: u16) {
        let Some(k) = self.link else {
            return;
        };
        if self.contexts.iter().any(|c| c.id == id)
            || self.contexts.len() >= cx.config.dcerpc_max_contexts
        {
            return;
        }
        if let Some(c) = cx.shared.smb.context(cx, k, id) {
            self.contexts.push(Context {
                id: c.id,
                uuid: c.uuid,
                major: c.major,
                minor: c.minor,
                accepted: c.accepted,
                ndr64: c.ndr64,
            });
        }
    }
}
