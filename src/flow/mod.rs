//! Flows: a bidirectional flow table with idle timeouts and a memory cap, TCP reassembly into
//! in-order byte streams per direction (with gaps made explicit), and the hand-off to the
//! application decoders of [`crate::proto`]. (Stub: pending.)

use crate::packet::PacketMeta;
use crate::proto::{DecoderConfig, Shared};
use crate::record::{Record, Ts, NS};
use crate::stats::Counters;
use std::sync::Arc;

/// Limits and timeouts of the flow layer.
#[derive(Debug, Clone)]
pub struct FlowConfig {
    /// Idle time after which a TCP connection is closed.
    pub tcp_idle: Ts,
    /// Idle time after which a UDP conversation is closed.
    pub udp_idle: Ts,
    /// Flows per worker; a new flow beyond it is refused and counted.
    pub max_flows: usize,
    /// Out-of-order bytes held per direction of a connection.
    pub per_flow_buffer: usize,
    /// Out-of-order bytes held by all connections of a worker.
    pub reassembly_memory: usize,
}

impl Default for FlowConfig {
    fn default() -> Self {
        FlowConfig {
            tcp_idle: 300 * NS,
            udp_idle: 60 * NS,
            max_flows: 200_000,
            per_flow_buffer: 256 * 1024,
            reassembly_memory: 32 * 1024 * 1024,
        }
    }
}

/// The flows of one worker.
pub struct FlowTable {
    _cfg: FlowConfig,
    _dec: DecoderConfig,
    _shared: Arc<Shared>,
    _counters: Arc<Counters>,
}

impl FlowTable {
    pub fn new(
        cfg: FlowConfig,
        dec: DecoderConfig,
        shared: Arc<Shared>,
        counters: Arc<Counters>,
    ) -> Self {
        FlowTable {
            _cfg: cfg,
            _dec: dec,
            _shared: shared,
            _counters: counters,
        }
    }

    /// One packet of this worker's flows; records it completes are pushed to `out`.
    pub fn packet(&mut self, _meta: &PacketMeta, _payload: &[u8], _out: &mut Vec<Record>) {}

    /// Time moved on to `now` (packet time in replay, the clock live): expire idle flows, run
    /// decoder timers.
    pub fn advance(&mut self, _now: Ts, _out: &mut Vec<Record>) {}

    /// End of input: close every flow so that decoders emit what they hold.
    pub fn finish(&mut self, _out: &mut Vec<Record>) {}
}
