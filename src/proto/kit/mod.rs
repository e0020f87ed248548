//! The decoder kit: what every protocol decoder shares, written once.
//!
//! - [`framer`]: cuts a TCP direction into length-prefixed PDUs (cap, skip by count, explicit
//!   gaps, resynchronisation by probe), with the length headers of dcsensor's protocols
//!   ([`framer::Prefix`]);
//! - [`txn`]: pairs requests with answers by key (cap with evict-oldest, timeout by packet time
//!   with `>=`, flush on close, evictions and timeouts counted);
//! - [`ber`]: the BER/DER reader of the ASN.1 protocols (no input-driven recursion, lengths
//!   checked once);
//! - [`text`]: UTF-16 and Latin-1 decoded into strings allocated once at their size.
//!
//! A decoder is then its parser plus its state: a [`framer::Framer`] per direction fed by
//! [`TcpApp::data`](super::TcpApp::data) and [`TcpApp::gap`](super::TcpApp::gap), a
//! [`txn::Txns`] swept by [`TcpApp::tick`](super::TcpApp::tick) and drained by
//! [`TcpApp::close`](super::TcpApp::close).

pub mod ber;
pub mod framer;
pub mod text;
pub mod txn;

#[cfg(test)]
mod tests;
