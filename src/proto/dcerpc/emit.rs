//! Records of an association: naming a call's interface and operation (from its context, or
//! from what the endpoint mapper said the server's port serves), its `args` and `status`, the
//! endpoints an endpoint-mapper answer hands out, and the roles (the side sending requests is
//! the client).

use super::{args, auth_level, auth_type, fault_string, interfaces, parse, Call, Conn};
use crate::proto::{Ctx, Dir};
use crate::record::{Body, Dcerpc, EndpointText, InterfaceName, Ts, UuidText, VersionText};
use crate::stats::Counter;
use parse::Uuid;
use std::net::IpAddr;

impl Conn {
    /// The interface UUID of context `id`, or what the endpoint mapper said this server port
    /// serves.
    pub(super) fn context_uuid(&mut self, cx: &Ctx<'_>, id: u16) -> Option<Uuid> {
        if let Some(c) = self.contexts.iter().find(|c| c.id == id) {
            return Some(c.uuid);
        }
        self.learned_uuid(cx)
    }

    pub(super) fn learned_uuid(&mut self, cx: &Ctx<'_>) -> Option<Uuid> {
        if self.over_pipe {
            return None;
        }
        let (server, port) = self.server(cx);
        *self
            .learned
            .get_or_insert_with(|| cx.shared.endpoint(server, port, cx.now))
    }

    /// Reads the towers of an `ept_map` answer, remembers the TCP endpoints they hand out and
    /// returns the first endpoint as `tcp/PORT` (or `udp/PORT`).
    pub(super) fn learn(&mut self, cx: &mut Ctx<'_>, call: &Call) -> Option<EndpointText> {
        let towers = parse::ept_map_response(call.resp_drep, &call.resp)?;
        let (server, _) = self.server(cx);
        let mut first = None;
        for t in &towers {
            if let (Some(port), Some(uuid)) = (t.tcp_port, t.interface) {
                cx.shared.learn_endpoint(server, port, uuid, cx.now);
                if let Some(ip) = t.ip.filter(|ip| *ip != [0; 4]).map(IpAddr::from) {
                    if ip != server {
                        cx.shared.learn_endpoint(ip, port, uuid, cx.now);
                    }
                }
            }
            if first.is_none() {
                first = match (t.tcp_port, t.udp_port) {
                    (Some(p), _) => Some(EndpointText::endpoint(false, p)),
                    (None, Some(p)) => Some(EndpointText::endpoint(true, p)),
                    _ => None,
                };
            }
        }
        first
    }

    /// The interface fields of context `ctx_id`.
    pub(super) fn interface_fields(
        &mut self,
        cx: &Ctx<'_>,
        ctx_id: u16,
        rec: &mut Dcerpc,
    ) -> Option<&'static interfaces::Interface> {
        let (uuid, version) = match self.contexts.iter().find(|c| c.id == ctx_id) {
            Some(c) => (c.uuid, Some((c.major, c.minor))),
            None => (self.learned_uuid(cx)?, None),
        };
        let known = interfaces::lookup(uuid);
        let text = UuidText::uuid(uuid);
        rec.interface = Some(match known {
            Some(i) => InterfaceName::Known(i.name),
            None => InterfaceName::Uuid(text),
        });
        rec.interface_uuid = Some(text);
        rec.interface_version = version.map(|(a, b)| VersionText::version(a, b));
        known
    }

    pub(super) fn emit(
        &mut self,
        cx: &mut Ctx<'_>,
        call: Call,
        fault: Option<u32>,
        endpoint: Option<EndpointText>,
    ) {
        let mut rec = Dcerpc::default();
        let known = self.interface_fields(cx, call.ctx_id, &mut rec);
        rec.opnum = Some(call.opnum);
        rec.operation = known.and_then(|i| i.operation(call.opnum));
        rec.named_pipe = self.named_pipe.clone();
        if let Some((t, l)) = call.auth.or(self.auth) {
            rec.auth_type = Some(auth_type(t));
            rec.auth_level = Some(auth_level(l));
        }
        rec.fault = fault.map(fault_string);
        rec.stub_bytes = (!call.over_cap).then_some(call.stub);
        rec.endpoint = endpoint;
        if let Some((dec, ret)) = call.args.filter(|_| !call.over_cap) {
            rec.args = args::decode(dec, &call.req, call.req_big, call.ndr64);
            if rec.args.is_none() {
                cx.count(Counter::MalformedDcerpc);
            }
            if fault.is_none() && call.resp_ts.is_some() {
                rec.status = args::status(ret, call.resp_tail.as_slice(), call.resp_big);
            }
        }
        rec.rtt = call.resp_ts.map(|t| t.saturating_sub(call.ts));
        self.emit_record(cx, call.ts, rec);
        self.keep_spare(call.req);
    }

    /// Keeps a finished call's request stub buffer, emptied, for the association's next call
    /// (the larger of it and the one kept, when not over [`super::SPARE_STUB`]).
    fn keep_spare(&mut self, mut req: Vec<u8>) {
        if req.capacity() > self.spare.capacity() && req.capacity() <= super::SPARE_STUB {
            req.clear();
            self.spare = req;
        }
    }

    /// Emits a record with the requests' sender as the client: when the flow took the other
    /// side for the client (picked up mid-stream on an answer), the roles are swapped.
    pub(super) fn emit_record(&self, cx: &mut Ctx<'_>, ts: Ts, rec: Dcerpc) {
        cx.emit(ts, Body::Dcerpc(rec));
        if self.req_dir == Some(Dir::ToClient) {
            if let Some(r) = cx.out.last_mut() {
                std::mem::swap(&mut r.src, &mut r.dst);
                std::mem::swap(&mut r.sport, &mut r.dport);
            }
        }
    }

    /// The server's address and port: the side that receives the requests.
    pub(super) fn server(&self, cx: &Ctx<'_>) -> (IpAddr, u16) {
        if self.req_dir == Some(Dir::ToClient) {
            (cx.flow.client, cx.flow.client_port)
        } else {
            (cx.flow.server, cx.flow.server_port)
        }
    }
}
