//! The center's web console: server-rendered pages over the center's store, for people who
//! triage alerts and look up users and computers, with their own sign-in.
//!
//! - [`auth`]: roles, password hashes, session and API token secrets, the login throttle;
//! - [`html`]: the page layout and its pieces (escaping by default, no scripts, inline SVG);
//! - [`users`]: users, API tokens and sessions in the store;
//! - [`server`]: the router, authentication, CSRF and role checks, the changes people make;
//! - [`pages`]: the pages;
//! - [`cli`]: `dcsensor center user add` and `token add`, the `[console]` settings;
//! - [`tls`]: the self-signed certificate made when none is configured.

pub mod auth;
pub mod cli;
pub mod html;
pub mod pages;
pub mod server;
pub mod tls;
pub mod users;
