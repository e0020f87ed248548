//! Fuzz target: TCP reassembly through a flow table. The input picks the caps, the initial
//! sequence numbers and a list of segments (direction, flags, offset, length) cut from two
//! known byte streams, plus acknowledgements and time steps. Checked: no panic; what a decoder
//! receives per direction (bytes and gaps) never runs past what was sent; every byte delivered
//! sits at its right place in the stream; held memory stays under the caps and is all released
//! at the end.
#![no_main]
use dcsensor::flow::{FlowConfig, FlowTable, Selector};
use dcsensor::packet::{tcp_flags, PacketMeta};
use dcsensor::proto::{Ctx, DecoderConfig, Dir, FlowInfo, Shared, TcpApp, UdpApp};
use dcsensor::record::{Transport, Ts, NS};
use dcsensor::stats::{Counter, Counters};
use libfuzzer_sys::fuzz_target;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};

/// Side A's byte at stream offset `o` is `o % 251`, side B's `o % 241`: a byte delivered at the
/// wrong place shows.
const MOD: [u64; 2] = [251, 241];
const A_PORT: u16 = 1000;

fn byte(side: usize, o: u64) -> u8 {
    (o % MOD[side]) as u8
}

/// End offset of the data each side sent so far (shared with the decoders).
type Sent = Arc<Mutex<[u64; 2]>>;

struct Check {
    sent: Sent,
    /// Side of each direction (0 = A), from the flow's roles.
    side: [usize; 2],
    /// Bytes delivered plus gap bytes, per direction.
    pos: [u64; 2],
    /// Offset of the stream's start modulo the side's pattern, once a byte showed it.
    residue: [Option<u64>; 2],
}

impl Check {
    fn advance(&mut self, dir: Dir, n: u64) {
        let d = dir.idx();
        self.pos[d] += n;
        let sent = self.sent.lock().unwrap()[self.side[d]];
        assert!(
            self.pos[d] <= sent,
            "{dir:?}: delivered and gaps {} beyond the {} bytes sent",
            self.pos[d],
            sent
        );
    }
}

impl TcpApp for Check {
    fn data(&mut self, _cx: &mut Ctx<'_>, dir: Dir, data: &[u8]) {
        assert!(!data.is_empty());
        let d = dir.idx();
        let m = MOD[self.side[d]];
        for (i, &b) in data.iter().enumerate() {
            let p = (self.pos[d] + i as u64) % m;
            assert!(u64::from(b) < m, "byte of the other side");
            let r = *self.residue[d].get_or_insert((u64::from(b) + m - p) % m);
            assert_eq!(u64::from(b), (r + p) % m, "byte out of place");
        }
        self.advance(dir, data.len() as u64);
    }
    fn gap(&mut self, _cx: &mut Ctx<'_>, dir: Dir, len: u64) {
        assert!(len > 0);
        self.advance(dir, len);
    }
    fn close(&mut self, _cx: &mut Ctx<'_>) {}
}

struct Sel(Sent);

impl Sel {
    fn app(&self, flow: &FlowInfo) -> Box<dyn TcpApp> {
        let a_is_client = flow.client_port == A_PORT;
        let side = if a_is_client { [0, 1] } else { [1, 0] };
        Box::new(Check {
            sent: self.0.clone(),
            side,
            pos: [0; 2],
            residue: [None; 2],
        })
    }
}

impl Selector for Sel {
    fn tcp_by_port(&self, flow: &FlowInfo, _: &Shared, _: Ts) -> Option<Box<dyn TcpApp>> {
        Some(self.app(flow))
    }
    fn tcp_by_content(&self, flow: &FlowInfo, _: Dir, _: &[u8]) -> Option<Box<dyn TcpApp>> {
        Some(self.app(flow))
    }
    fn udp_by_port(&self, _: &FlowInfo) -> Option<Box<dyn UdpApp>> {
        None
    }
}

struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn u8(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }
    fn u16(&mut self) -> Option<u16> {
        Some(u16::from(self.u8()?) << 8 | u16::from(self.u8()?))
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from(self.u16()?) << 16 | u32::from(self.u16()?))
    }
}

fuzz_target!(|data: &[u8]| {
    let mut inp = Input(data);
    let (Some(caps), Some(mem), Some(isn_a), Some(isn_b)) =
        (inp.u8(), inp.u8(), inp.u32(), inp.u32())
    else {
        return;
    };
    let cfg = FlowConfig {
        tcp_idle: 10 * NS,
        per_flow_buffer: 1 + usize::from(caps) * 16,
        reassembly_memory: 1 + usize::from(mem) * 24,
        ..FlowConfig::default()
    };
    let (per_flow, memory) = (cfg.per_flow_buffer, cfg.reassembly_memory);
    let sent: Sent = Arc::default();
    let counters = Arc::new(Counters::default());
    let mut table = FlowTable::with_selector(
        cfg,
        DecoderConfig::default(),
        Arc::new(Shared::default()),
        counters.clone(),
        Box::new(Sel(sent.clone())),
    );
    let isn = [isn_a, isn_b];
    let addr = [
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
    ];
    let port = [A_PORT, 4444];
    let mut out = Vec::new();
    let mut payload = Vec::new();
    let mut ts: Ts = NS;
    while let (Some(op), Some(off), Some(len)) = (inp.u8(), inp.u16(), inp.u8()) {
        let side = usize::from(op & 1);
        let other = 1 - side;
        let flags = (op >> 1) & 0x1f; // FIN SYN RST PSH ACK
        if op >> 6 == 3 {
            // A time step of up to 16 s.
            ts += u64::from(off % 16_000) * 1_000_000;
            table.advance(ts, &mut out);
            continue;
        }
        let syn = flags & tcp_flags::SYN != 0;
        let off = if syn { 0 } else { u64::from(off) };
        let len = usize::from(len) * 3;
        let seq = if syn {
            isn[side]
        } else {
            isn[side].wrapping_add(1).wrapping_add(off as u32)
        };
        payload.clear();
        payload.extend((0..len as u64).map(|i| byte(side, off + i)));
        {
            let mut s = sent.lock().unwrap();
            s[side] = s[side].max(off + len as u64);
        }
        // An acknowledgement never goes beyond what the other side sent.
        let ack_to = {
            let s = sent.lock().unwrap()[other];
            u64::from(op >> 6).min(1) * (s.saturating_sub(u64::from(len as u8 % 7)))
        };
        let ack = isn[other].wrapping_add(1).wrapping_add(ack_to as u32);
        let meta = PacketMeta {
            ts,
            src: addr[side],
            dst: addr[other],
            sport: port[side],
            dport: port[other],
            transport: Transport::Tcp,
            seq,
            ack,
            flags,
            tunnel: Default::default(),
        };
        table.packet(&meta, &payload, &mut out);
        assert!(
            table.held_bytes() <= memory,
            "held {} > memory cap {}",
            table.held_bytes(),
            memory
        );
        assert!(
            table.held_bytes() <= 2 * per_flow,
            "held {} > 2 × per-flow cap {}",
            table.held_bytes(),
            per_flow
        );
        assert_eq!(
            counters.get(Counter::ReassemblyBytes),
            table.held_bytes() as u64
        );
    }
    table.finish(&mut out);
    assert_eq!(table.held_bytes(), 0);
    assert_eq!(counters.get(Counter::ReassemblyBytes), 0);
    assert_eq!(counters.get(Counter::FlowsActive), 0);
});
