//! dcsensor: a network sensor for Active Directory domain controllers.
//!
//! Frames come from a capture file or a live interface ([`capture`]), are decoded down to TCP
//! and UDP ([`packet`]), handed in batches to worker threads that own flows by a symmetric hash
//! ([`pipeline`]), reassembled ([`flow`]) and decoded by protocol ([`proto`]) into activity
//! records ([`record`]) that go to an output.

pub mod base;
pub mod capture;
#[cfg(feature = "service")]
pub mod center;
#[cfg(feature = "service")]
pub mod console;
#[cfg(feature = "service")]
pub mod daemon;
#[cfg(feature = "service")]
pub mod detect;
/// Without the "service" feature (the fuzz crate's build), only the detection engine's record
/// reader is built: `detect::input`, the JSON line reader the `detect_json` fuzz target checks.
#[cfg(not(feature = "service"))]
pub mod detect {
    pub mod input;
}
pub mod flow;
pub mod output;
pub mod packet;
pub mod pipeline;
pub mod proto;
pub mod record;
pub mod stats;
#[cfg(feature = "service")]
pub mod upstream;
#[cfg(feature = "service")]
pub mod web;

/// Test support shared with the integration tests: a missing dependency is a visible skip.
#[cfg(test)]
#[path = "../tests/support/skip.rs"]
pub(crate) mod skip;
