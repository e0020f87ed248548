//! The hand-off from a flow to its application decoder: a TCP packet is reassembled into its
//! direction's stream and what comes out in order (bytes, explicit gaps) goes to the decoder
//! chosen by port or, on the first payload, by content; a closing flow flushes both directions
//! and closes its decoder.

use super::tcp::{Budget, Sink};
use super::{Env, Flow, Selector, State, TcpDecoder, TcpState};
use crate::packet::{tcp_flags, PacketMeta};
use crate::proto::{Ctx, Dir, FlowInfo, TcpApp};
use crate::record::{Record, Ts};

/// Hands a stream's bytes and gaps to a TCP decoder.
pub(super) struct AppSink<'s, 'c> {
    app: &'s mut dyn TcpApp,
    cx: &'s mut Ctx<'c>,
    dir: Dir,
}

impl Sink for AppSink<'_, '_> {
    #[inline]
    fn data(&mut self, data: &[u8]) {
        self.app.data(self.cx, self.dir, data);
    }
    fn gap(&mut self, len: u64) {
        self.app.gap(self.cx, self.dir, len);
    }
}

/// What a packet did to its flow.
#[derive(PartialEq, Eq)]
pub(super) enum After {
    Keep,
    /// The connection ended (FIN both ways, RST): close and remove it.
    Close,
}

/// One TCP packet of an existing flow.
#[allow(clippy::too_many_arguments)]
#[inline]
pub(super) fn tcp_packet(
    t: &mut TcpState,
    info: &FlowInfo,
    selector: &dyn Selector,
    env: &mut Env<'_>,
    meta: &PacketMeta,
    dir: Dir,
    payload: &[u8],
    out: &mut Vec<Record>,
) -> After {
    let f = meta.flags;
    let rst = f & tcp_flags::RST != 0;
    if f & tcp_flags::FIN != 0 {
        t.fin[dir.idx()] = true;
    }
    let ends = rst || (t.fin[0] && t.fin[1]);
    if let TcpDecoder::Undecided = t.dec {
        if !payload.is_empty() {
            t.dec = match selector.tcp_by_content(info, dir, payload) {
                Some(app) => TcpDecoder::App(app),
                None => TcpDecoder::Ignored,
            };
        }
    }
    let app = match &mut t.dec {
        TcpDecoder::App(app) => app.as_mut(),
        TcpDecoder::Ignored => {
            return if ends { After::Close } else { After::Keep };
        }
        TcpDecoder::Undecided => {
            // No data yet: keep track of where each stream starts.
            if f & tcp_flags::SYN != 0 {
                t.streams[dir.idx()].start_at(meta.seq.wrapping_add(1));
                if f & tcp_flags::ACK != 0 {
                    t.streams[dir.flip().idx()].start_at(meta.ack);
                }
            }
            return if ends { After::Close } else { After::Keep };
        }
    };
    let mut cx = Ctx {
        now: meta.ts,
        flow: info,
        out,
        counters: env.counters,
        config: env.dec,
        shared: env.shared,
    };
    let mut b = env.budget();
    let [s0, s1] = &mut t.streams;
    let (this, other) = if dir == Dir::ToServer {
        (s0, s1)
    } else {
        (s1, s0)
    };
    let mut seq = meta.seq;
    if f & tcp_flags::SYN != 0 {
        seq = seq.wrapping_add(1);
        this.start_at(seq);
        if f & tcp_flags::ACK != 0 {
            other.start_at(meta.ack);
        }
    }
    // The acknowledgement says what the other side sent: what we missed of it is a gap.
    if f & tcp_flags::ACK != 0 && !rst {
        if let Some(target) = other.acked(meta.ack) {
            let mut sink = AppSink {
                app,
                cx: &mut cx,
                dir: dir.flip(),
            };
            if payload.is_empty() {
                other.ack_later(target);
            } else {
                other.ack_now(target, &mut b, &mut sink);
            }
        }
    }
    if !payload.is_empty() {
        // Complete the other direction before this one goes on (request before response).
        let mut sink = AppSink {
            app,
            cx: &mut cx,
            dir: dir.flip(),
        };
        other.apply_pending(&mut b, &mut sink);
        let mut sink = AppSink {
            app,
            cx: &mut cx,
            dir,
        };
        this.segment(seq, payload, &mut b, &mut sink);
    }
    // An acknowledgement of this direction that came before this packet: if this packet did
    // not fill the hole, the data is not coming.
    {
        let mut sink = AppSink {
            app,
            cx: &mut cx,
            dir,
        };
        this.apply_pending(&mut b, &mut sink);
    }
    if f & tcp_flags::FIN != 0 {
        this.fin(seq, payload.len());
    }
    if ends {
        After::Close
    } else {
        After::Keep
    }
}

/// Ends a flow: flushes both directions of a TCP connection (gaps for what is missing) and
/// closes its decoder.
pub(super) fn close_flow(flow: &mut Flow, env: &mut Env<'_>, now: Ts, out: &mut Vec<Record>) {
    let mut cx = Ctx {
        now,
        flow: &flow.info,
        out,
        counters: env.counters,
        config: env.dec,
        shared: env.shared,
    };
    match &mut flow.state {
        State::Udp(Some(app)) => app.close(&mut cx),
        State::Udp(None) => {}
        State::Tcp(t) => {
            let mut b = Budget {
                held: &mut *env.held,
                memory: env.memory,
                per_flow: env.per_flow,
                counters: env.counters,
            };
            match &mut t.dec {
                TcpDecoder::App(app) => {
                    for dir in [Dir::ToServer, Dir::ToClient] {
                        let mut sink = AppSink {
                            app: app.as_mut(),
                            cx: &mut cx,
                            dir,
                        };
                        t.streams[dir.idx()].flush(&mut b, &mut sink);
                    }
                    app.close(&mut cx);
                }
                _ => {
                    for s in &mut t.streams {
                        s.discard(&mut b);
                    }
                }
            }
        }
    }
}
