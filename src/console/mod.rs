//! The center's web console: server-rendered pages over the center's store, for people who
//! triage alerts and look up users and computers, with their own sign-in.
//!
//! - [`auth`]: roles, password hashes, session and API token secrets, the login throttle;
//! - [`html`]: the page layout and its pieces (escaping by default, no scripts, inline SVG).

pub mod auth;
pub mod html;
