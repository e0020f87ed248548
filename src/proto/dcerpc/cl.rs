//! Connectionless DCE-RPC (v4) over UDP: every datagram carries the interface, activity,
//! sequence number and opnum in its 80-byte header. A REQUEST is matched with its RESPONSE,
//! FAULT or REJECT by activity and sequence number; one `dcerpc` record per call.

use super::parse::{self, cl_flags, ptype, Uuid};
use super::{auth_type, fault_string, interfaces};
use crate::proto::{Ctx, Dir, UdpApp};
use crate::record::{Body, Dcerpc, Ts};
use crate::stats::Counter;

/// One call in flight.
#[derive(Debug)]
struct ClCall {
    activity: Uuid,
    seq: u32,
    ts: Ts,
    interface: Uuid,
    major: u16,
    minor: u16,
    opnum: u16,
    stub: u64,
    over_cap: bool,
    /// Highest request fragment number counted (retransmissions are not counted twice).
    next_frag: u16,
    auth_proto: u8,
    resp_ts: Option<Ts>,
}

/// The connectionless decoder of one UDP conversation.
#[derive(Debug, Default)]
pub struct ClConn {
    calls: Vec<ClCall>,
}

impl ClConn {
    fn emit(cx: &mut Ctx<'_>, c: ClCall, fault: Option<u32>) {
        let known = interfaces::lookup(c.interface);
        let rec = Dcerpc {
            interface: Some(match known {
                Some(i) => i.name.to_string(),
                None => parse::uuid_string(c.interface),
            }),
            interface_uuid: Some(parse::uuid_string(c.interface)),
            interface_version: Some(format!("{}.{}", c.major, c.minor)),
            opnum: Some(c.opnum),
            operation: known.and_then(|i| i.operation(c.opnum)),
            auth_type: (c.auth_proto != 0).then(|| auth_type(c.auth_proto)),
            fault: fault.map(fault_string),
            stub_bytes: (!c.over_cap).then_some(c.stub),
            rtt: c.resp_ts.map(|t| t.saturating_sub(c.ts)),
            ..Default::default()
        };
        cx.emit(c.ts, Body::Dcerpc(Box::new(rec)));
    }

    fn find(&self, h: &parse::ClHeader) -> Option<usize> {
        self.calls
            .iter()
            .position(|c| c.activity == h.activity && c.seq == h.seqnum)
    }
}

impl UdpApp for ClConn {
    fn datagram(&mut self, cx: &mut Ctx<'_>, _dir: Dir, data: &[u8]) {
        let Some((h, body)) = parse::cl_header(data) else {
            cx.count(Counter::MalformedDcerpc);
            return;
        };
        let len = body.len() as u64;
        match h.ptype {
            ptype::REQUEST => {
                let i = match self.find(&h) {
                    Some(i) => i,
                    None => {
                        if self.calls.len() >= cx.config.dcerpc_max_calls.max(1) {
                            cx.count(Counter::DropDecoderCap);
                            let old = self.calls.remove(0);
                            Self::emit(cx, old, None);
                        }
                        self.calls.push(ClCall {
                            activity: h.activity,
                            seq: h.seqnum,
                            ts: cx.now,
                            interface: h.interface,
                            major: h.if_major,
                            minor: h.if_minor,
                            opnum: h.opnum,
                            stub: 0,
                            over_cap: false,
                            next_frag: 0,
                            auth_proto: h.auth_proto,
                            resp_ts: None,
                        });
                        self.calls.len() - 1
                    }
                };
                let c = &mut self.calls[i];
                let frag = if h.flags1 & cl_flags::FRAG != 0 {
                    h.fragnum
                } else {
                    0
                };
                if frag < c.next_frag {
                    return; // a retransmission
                }
                c.next_frag = frag.saturating_add(1);
                if c.over_cap {
                    cx.count_n(Counter::DropDecoderCap, len);
                } else if c.stub + len > cx.config.dcerpc_max_stub as u64 {
                    cx.count_n(Counter::DropDecoderCap, c.stub + len);
                    c.over_cap = true;
                } else {
                    c.stub += len;
                }
            }
            ptype::RESPONSE => {
                let Some(i) = self.find(&h) else { return };
                self.calls[i].resp_ts.get_or_insert(cx.now);
                if h.flags1 & cl_flags::FRAG == 0 || h.flags1 & cl_flags::LASTFRAG != 0 {
                    let c = self.calls.remove(i);
                    Self::emit(cx, c, None);
                }
            }
            ptype::FAULT | ptype::REJECT => {
                let Some(i) = self.find(&h) else { return };
                let mut c = self.calls.remove(i);
                c.resp_ts.get_or_insert(cx.now);
                Self::emit(cx, c, Some(parse::cl_status(&h, body).unwrap_or(0)));
            }
            // ping, working, nocall, ack, cancel, fack, cancel_ack: flow control only.
            _ => {}
        }
    }

    fn tick(&mut self, cx: &mut Ctx<'_>) {
        let timeout = cx.config.request_timeout;
        let now = cx.now;
        let mut i = 0;
        while i < self.calls.len() {
            if now.saturating_sub(self.calls[i].ts) >= timeout {
                let c = self.calls.remove(i);
                Self::emit(cx, c, None);
            } else {
                i += 1;
            }
        }
    }

    fn close(&mut self, cx: &mut Ctx<'_>) {
        for c in std::mem::take(&mut self.calls) {
            Self::emit(cx, c, None);
        }
    }
}
