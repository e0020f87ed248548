//! The types every layer shares, below all of them: time ([`Ts`], [`NS`]) and the transport.
//!
//! Records ([`crate::record`]) carry them, the packet and flow layers set them and the decoders
//! ([`crate::proto`]) read them; this module imports nothing of the crate, so none of those
//! layers has to import another to name them. `record` re-exports them under their old paths.
//! (A flow's endpoints, [`crate::proto::FlowInfo`], stay with the decoders; `Record::new`, which
//! takes one, is defined there, so `record` imports nothing of `proto`.)

use serde::Serialize;

/// Time in nanoseconds since the Unix epoch (pcap and pcapng give at most nanosecond precision).
pub type Ts = u64;

/// Nanoseconds per second.
pub const NS: u64 = 1_000_000_000;

/// Converts a [`Ts`] to float seconds with microsecond precision (the Zeek convention).
///
/// The integer number of microseconds divided by 10^6 is the correctly rounded double of the
/// decimal value, so it prints as exactly six decimals or fewer.
pub fn ts_secs(ts: Ts) -> f64 {
    (ts / 1_000) as f64 / 1e6
}

/// A duration between two [`Ts`] as float seconds with microsecond precision (0 if negative).
pub fn duration_secs(from: Ts, to: Ts) -> f64 {
    ts_secs(to.saturating_sub(from))
}

/// Transport protocol of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    Tcp,
    Udp,
}
