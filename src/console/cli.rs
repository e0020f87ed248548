//! `dcsensor center user add NAME --role ROLE` (the password on standard input) and
//! `dcsensor center token add NAME --role ROLE` (the token printed once), and the console's
//! `[console]` settings.

use super::auth::{Role, ThrottleSettings};
use super::users;
use crate::center::config::CenterConfig;
use crate::center::store::Store;
use clap::Subcommand;
use serde::Deserialize;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// `[console]`: the web console in front of the API. Every field has this default.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ConsoleSection {
    /// Serve the console, and put the API behind its sign-in (default true). False: the bare
    /// API, for a loopback address only.
    pub enabled: bool,
    /// Hours a sign-in lasts (default 12).
    pub session_hours: f64,
    /// Wrong passwords allowed per user name and per address before sign-in is slowed
    /// (default 3).
    pub free_failures: u32,
    /// Seconds of the first wait after those (default 2), doubling each time up to
    /// `max_delay` (default 60).
    pub base_delay: f64,
    pub max_delay: f64,
    /// Without `[api] tls_cert` and `tls_key`, a self-signed pair is made here on first start
    /// and reused (default `/var/lib/dcsensor-center/tls`).
    pub tls_dir: PathBuf,
    /// Serve plain HTTP when no certificate is given (default false), e.g. behind a proxy that
    /// terminates TLS on the same machine.
    pub plain_http: bool,
}

impl Default for ConsoleSection {
    fn default() -> Self {
        let t = ThrottleSettings::default();
        ConsoleSection {
            enabled: true,
            session_hours: 12.0,
            free_failures: t.free_failures,
            base_delay: t.base_delay.as_secs_f64(),
            max_delay: t.max_delay.as_secs_f64(),
            tls_dir: PathBuf::from("/var/lib/dcsensor-center/tls"),
            plain_http: false,
        }
    }
}

impl ConsoleSection {
    /// The login throttle these settings describe.
    pub fn throttle(&self) -> ThrottleSettings {
        ThrottleSettings {
            free_failures: self.free_failures,
            base_delay: Duration::from_secs_f64(self.base_delay.clamp(0.0, 3600.0)),
            max_delay: Duration::from_secs_f64(self.max_delay.clamp(0.0, 86_400.0)),
            ..ThrottleSettings::default()
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Add a console user, or set an existing user's role and password (read from standard
    /// input: one line).
    Add {
        name: String,
        /// viewer (reads), analyst (also changes alert status), admin (also exclusions, users).
        #[arg(long)]
        role: String,
        #[arg(long, short = 'c', default_value = "/etc/dcsensor/center.toml")]
        config: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Add an API bearer token; it is printed once, only its digest is kept.
    Add {
        name: String,
        #[arg(long)]
        role: String,
        #[arg(long, short = 'c', default_value = "/etc/dcsensor/center.toml")]
        config: PathBuf,
    },
}

fn fail(msg: &str) -> ExitCode {
    eprintln!("dcsensor center: {msg}");
    ExitCode::from(2)
}

fn with_store<T>(
    config: &Path,
    f: impl AsyncFnOnce(Store) -> Result<T, String>,
) -> Result<T, String> {
    let cfg = CenterConfig::load(config)?;
    let url = cfg.store_url()?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    rt.block_on(async move {
        let store = Store::open(&url).await.map_err(|e| e.to_string())?;
        users::migrate(&store).await?;
        let r = f(store.clone()).await;
        store.close().await;
        r
    })
}

fn actor() -> String {
    format!(
        "cli:{}",
        std::env::var("SUDO_USER")
            .or_else(|_| std::env::var("USER"))
            .unwrap_or_else(|_| "unknown".into())
    )
}

/// `dcsensor center user ...`.
pub fn user(cmd: UserCommand) -> ExitCode {
    let UserCommand::Add { name, role, config } = cmd;
    let role = match Role::parse(&role) {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    let mut pw = String::new();
    if let Err(e) = std::io::stdin().lock().read_line(&mut pw) {
        return fail(&format!(
            "cannot read the password from standard input: {e}"
        ));
    }
    let pw = pw.trim_end_matches(['\r', '\n']).to_string();
    match with_store(&config, async |s| {
        users::add_user(&s, &name, role, &pw, &actor()).await
    }) {
        Ok(()) => {
            println!("user {name}: role {}", role.as_str());
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}

/// `dcsensor center token ...`.
pub fn token(cmd: TokenCommand) -> ExitCode {
    let TokenCommand::Add { name, role, config } = cmd;
    let role = match Role::parse(&role) {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    match with_store(&config, async |s| {
        users::add_token(&s, &name, role, &actor()).await
    }) {
        Ok(t) => {
            eprintln!(
                "token {name} (role {}): shown once, keep it now",
                role.as_str()
            );
            println!("{t}");
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}
