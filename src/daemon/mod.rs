//! Running as a service: the TOML configuration ([`config`]), systemd notification
//! ([`notify`]), Prometheus metrics over HTTP ([`metrics`]), dropping privileges after the
//! captures are open ([`privileges`]) and the resource guard ([`guard`]).

pub mod config;
pub mod guard;
pub mod metrics;
pub mod notify;
pub mod privileges;
