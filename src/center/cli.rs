//! `dcsensor center ...`: the center's subcommands (`run`; the console adds its own here).

use super::config::CenterConfig;
use clap::Subcommand;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Subcommand, Debug)]
pub enum CenterCommand {
    /// Run the center from a configuration file (what dcsensor-center.service starts).
    Run {
        /// The configuration file (TOML).
        #[arg(long, short = 'c', default_value = "/etc/dcsensor/center.toml")]
        config: PathBuf,
    },
    /// A local stand-in for Microsoft Defender for Endpoint's API, answering as its documentation
    /// says, for a one-machine demo and tests (the real service cannot be reached from there).
    #[command(hide = true)]
    MdeStandin {
        /// Where to listen.
        #[arg(long, default_value = "127.0.0.1:8490")]
        listen: String,
        /// Machines and alerts (JSON: {"machines": [...], "alerts": [...]}).
        #[arg(long)]
        data: PathBuf,
        /// The client id it accepts.
        #[arg(long, default_value = "dcsensor-demo")]
        client_id: String,
        /// A file holding the client secret it accepts.
        #[arg(long)]
        client_secret_file: PathBuf,
        /// Seconds a token lives.
        #[arg(long, default_value_t = 3600)]
        token_lifetime: u64,
        /// Calls per minute before it answers 429 (0: no limit).
        #[arg(long, default_value_t = 100)]
        calls_per_minute: usize,
    },
    /// Console users (`user add NAME --role viewer|analyst|admin`, the password on stdin).
    User {
        #[command(subcommand)]
        command: crate::console::cli::UserCommand,
    },
    /// API bearer tokens (`token add NAME --role ...`, printed once).
    Token {
        #[command(subcommand)]
        command: crate::console::cli::TokenCommand,
    },
    /// Check a center configuration file (exit 0 when valid, 2 with the problem).
    CheckConfig {
        /// The configuration file (TOML).
        file: PathBuf,
    },
}

fn fail(code: u8, msg: &str) -> ExitCode {
    eprintln!("dcsensor center: {msg}");
    ExitCode::from(code)
}

/// Runs a center subcommand.
pub fn main(cmd: CenterCommand) -> ExitCode {
    match cmd {
        CenterCommand::Run { config } => {
            let cfg = match CenterConfig::load(&config) {
                Ok(c) => c,
                Err(e) => return fail(2, &e),
            };
            let engine = match super::engine::default_engine(cfg.detect.tuning.as_deref()) {
                Ok(e) => e,
                Err(e) => return fail(2, &e),
            };
            let rt = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("dcsensor-center")
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => return fail(1, &format!("cannot start the runtime: {e}")),
            };
            let r = rt.block_on(async move {
                let (tx, rx) = tokio::sync::watch::channel(false);
                tokio::spawn(async move {
                    let mut term = match tokio::signal::unix::signal(
                        tokio::signal::unix::SignalKind::terminate(),
                    ) {
                        Ok(s) => s,
                        Err(_) => return,
                    };
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = tokio::signal::ctrl_c() => {}
                    }
                    tracing::info!("TERM: draining and committing");
                    let _ = tx.send(true);
                });
                super::service::run(cfg, engine, rx, |addr| {
                    if let Some(a) = addr {
                        tracing::info!(%a, "center ready");
                    }
                    crate::daemon::notify::notify("READY=1");
                })
                .await
            });
            match r {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(1, &e),
            }
        }
        CenterCommand::MdeStandin {
            listen,
            data,
            client_id,
            client_secret_file,
            token_lifetime,
            calls_per_minute,
        } => {
            use super::endpoint::standin::{router, Standin, StandinConfig, StandinData};
            let data: StandinData = match std::fs::read_to_string(&data)
                .map_err(|e| e.to_string())
                .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
            {
                Ok(d) => d,
                Err(e) => return fail(2, &format!("{}: {e}", data.display())),
            };
            let secret = match std::fs::read_to_string(&client_secret_file) {
                Ok(s) => s.trim_end_matches(['\n', '\r']).to_string(),
                Err(e) => return fail(2, &format!("{}: {e}", client_secret_file.display())),
            };
            let s = Standin::new(
                StandinConfig {
                    client_id,
                    client_secret: secret,
                    token_lifetime,
                    calls_per_minute,
                },
                data,
            );
            let server = match crate::web::ThreadServer::start(
                "mde-standin",
                "mde-standin",
                &listen,
                router(s),
                crate::web::Limits::default(),
                None,
            ) {
                Ok(s) => s,
                Err(e) => return fail(2, &e),
            };
            eprintln!("mde-standin: listening on http://{}", server.addr);
            let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
                let _ = signal_hook::flag::register(sig, stop.clone());
            }
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
            ExitCode::SUCCESS
        }
        CenterCommand::User { command } => crate::console::cli::user(command),
        CenterCommand::Token { command } => crate::console::cli::token(command),
        CenterCommand::CheckConfig { file } => match CenterConfig::load(&file) {
            Ok(_) => {
                println!("{}: valid", file.display());
                ExitCode::SUCCESS
            }
            Err(e) => fail(2, &e),
        },
    }
}
