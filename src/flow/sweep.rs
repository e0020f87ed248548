//! Time in the flow table: the once-a-second sweep that closes idle flows and ticks the
//! decoders that have something waiting (each slot's due time beside the slab says which), and
//! the end of input, which closes every flow.

use super::{FlowTable, State, TcpDecoder};
use crate::proto::Ctx;
use crate::record::{Record, Ts, NS};

impl FlowTable {
    /// Time moved on to `now` (packet time in replay, the clock live): expire idle flows, run
    /// decoder timers.
    pub fn advance(&mut self, now: Ts, out: &mut Vec<Record>) {
        // Once per second of `now` (or when time jumped back by more than that).
        if now < self.next_sweep && self.next_sweep - now <= NS {
            return;
        }
        self.next_sweep = now.saturating_add(NS);
        self.latest = self.latest.max(now);
        self.expired.clear();
        // In emergency mode a flow's idle time depends on what it carried: look at every flow.
        let every = self.emergency;
        let n = self.slab.len().min(self.due.len());
        let mut i = 0;
        while i < n {
            let at = i;
            i += 1;
            if !every {
                // Most slots are not due: pass them over eight at a time (a comparison the
                // compiler does in vector registers), then one at a time.
                if let Some(eight) = self.due.get(at..at + 8) {
                    if eight.iter().fold(true, |none, &d| none & (d > now)) {
                        i = at + 8;
                        continue;
                    }
                }
                if self.due[at] > now {
                    continue;
                }
            }
            let Some(flow) = &mut self.slab[at] else {
                continue;
            };
            let (normal, emergency) = match &flow.state {
                State::Tcp(_) => (self.cfg.tcp_idle, self.cfg.emergency_tcp_idle),
                State::Udp(_) => (self.cfg.udp_idle, self.cfg.emergency_udp_idle),
            };
            let idle = match self.emergency {
                false => normal,
                true if flow.quiet() => self.cfg.emergency_half_open_idle,
                true => emergency.min(normal),
            };
            if now.saturating_sub(flow.last_seen) >= idle {
                self.expired.push((flow.id, at as u32));
                continue;
            }
            let mut cx = Ctx {
                now,
                flow: &flow.info,
                out: &mut *out,
                counters: &self.counters,
                config: &self.dec,
                shared: &self.shared,
            };
            let waiting = match &mut flow.state {
                State::Tcp(t) => match &mut t.dec {
                    TcpDecoder::App(app) => {
                        app.tick(&mut cx);
                        let held = app.buffered();
                        self.app_buffered =
                            (self.app_buffered + held).saturating_sub(flow.buffered);
                        flow.buffered = held;
                        app.waiting()
                    }
                    _ => false,
                },
                State::Udp(Some(app)) => {
                    app.tick(&mut cx);
                    app.waiting()
                }
                State::Udp(None) => false,
            };
            // Nothing waits: only the idle timeout (outside emergency mode) or a packet can
            // change it.
            self.due[at] = if waiting {
                0
            } else {
                flow.last_seen.saturating_add(normal)
            };
            flow.due_later = !waiting;
        }
        let mut expired = std::mem::take(&mut self.expired);
        expired.sort_unstable();
        for &(_, slot) in &expired {
            self.close_slot(slot, now, out);
        }
        self.expired = expired;
        self.calm_down();
        if self.over_memory() {
            self.relieve(now, out);
        }
        self.set_reassembly_gauge();
    }

    /// End of input: close every flow so that decoders emit what they hold.
    pub fn finish(&mut self, out: &mut Vec<Record>) {
        let mut all: Vec<(u64, u32)> = self
            .slab
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|f| (f.id, i as u32)))
            .collect();
        all.sort_unstable();
        for (_, slot) in all {
            self.close_slot(slot, self.latest, out);
        }
        self.slab.clear();
        self.due.clear();
        self.free.clear();
        self.app_buffered = 0;
        self.set_reassembly_gauge();
    }
}
