//! The `dcsensor` command line: `replay` capture files, capture `live`, and the tools around them.

use clap::{Args, Parser, Subcommand};
use dcsensor::output::{JsonLines, Output};
use dcsensor::pipeline::{self, Files, Options};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

/// A network sensor for Active Directory domain controllers: Kerberos, DNS, DCE-RPC, SMB and
/// NTLM activity as compact records.
#[derive(Parser, Debug)]
#[command(name = "dcsensor", version, about, long_about = None)]
struct Cli {
    /// Log level for messages on stderr (error, warn, info, debug, trace).
    #[arg(long, global = true, default_value = "info")]
    log_level: String,
    /// Log format on stderr: text or json.
    #[arg(long, global = true, default_value = "text")]
    log_format: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Replay pcap or pcapng files and print their records as JSON lines.
    Replay(ReplayArgs),
    /// Check a configuration file without capturing (exit 0 when valid, 2 with the problem).
    CheckConfig {
        /// The configuration file (TOML).
        file: PathBuf,
    },
}

/// Settings shared by every mode that runs the pipeline.
#[derive(Args, Debug, Clone)]
struct PipelineArgs {
    /// Worker threads (default: cores - 1, at least 1).
    #[arg(long, default_value_t = 0)]
    workers: usize,
    /// Write records to FILE instead of standard output.
    #[arg(long, short = 'o')]
    output: Option<PathBuf>,
    /// Emit a `stats` record every SECS seconds (besides the one at the end).
    #[arg(long, value_name = "SECS")]
    stats_interval: Option<f64>,
}

#[derive(Args, Debug)]
struct ReplayArgs {
    /// Capture files (pcap or pcapng), replayed one after the other.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Pace packets by their timestamps, X times faster than captured (default: as fast as
    /// possible).
    #[arg(long, value_name = "X")]
    speed: Option<f64>,
    /// No progress bar even on a terminal.
    #[arg(long)]
    no_progress: bool,
    #[command(flatten)]
    pipeline: PipelineArgs,
}

fn init_logging(level: &str, format: &str) -> Result<(), String> {
    let filter = tracing_subscriber::EnvFilter::try_new(level)
        .map_err(|e| format!("--log-level {level}: {e}; use error, warn, info, debug or trace"))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        "text" => builder.with_ansi(false).init(),
        "json" => builder.json().init(),
        other => return Err(format!("--log-format {other}: use text or json")),
    }
    Ok(())
}

fn stop_flag() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        if let Err(e) = signal_hook::flag::register(sig, stop.clone()) {
            tracing::warn!("cannot handle signal {sig}: {e}");
        }
    }
    stop
}

fn open_output(path: &Option<PathBuf>) -> Result<Box<dyn Output>, String> {
    Ok(match path {
        Some(p) => {
            let f = std::fs::File::create(p)
                .map_err(|e| format!("{}: cannot create the output file: {e}; check the directory exists and is writable", p.display()))?;
            Box::new(JsonLines::new(f))
        }
        None => Box::new(JsonLines::new(std::io::stdout())),
    })
}

fn options(p: &PipelineArgs) -> Result<Options, String> {
    let stats_interval = match p.stats_interval {
        Some(s) if s > 0.0 && s.is_finite() => Some(Duration::from_secs_f64(s)),
        Some(s) => {
            return Err(format!(
                "--stats-interval {s}: give a number of seconds above 0"
            ))
        }
        None => None,
    };
    Ok(Options {
        workers: p.workers,
        stats_interval,
        ..Options::default()
    })
}

/// Whether an output error is only the reader going away (`dcsensor replay x | head`).
fn is_broken_pipe(e: &pipeline::RunError) -> bool {
    match e {
        pipeline::RunError::Output(o) => o
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe),
        _ => false,
    }
}

fn replay(a: ReplayArgs) -> ExitCode {
    let mut opts = match options(&a.pipeline) {
        Ok(o) => o,
        Err(e) => return fail(2, &e),
    };
    if let Some(x) = a.speed {
        if !(x > 0.0 && x.is_finite()) {
            return fail(
                2,
                &format!(
                    "--speed {x}: give a factor above 0 (1 = as captured, 10 = ten times faster)"
                ),
            );
        }
        opts.speed = Some(x);
    }
    opts.progress = !a.no_progress;
    let mut files = match Files::open(&a.files) {
        Ok(f) => f,
        Err(e) => return fail(2, &e.to_string()),
    };
    let output = match open_output(&a.pipeline.output) {
        Ok(o) => o,
        Err(e) => return fail(2, &e),
    };
    match pipeline::run(&mut files, &opts, output, stop_flag(), Default::default()) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(pipeline::RunError::Capture(e)) => fail(2, &e.to_string()),
        Err(e) => fail(1, &e.to_string()),
    }
}

fn fail(code: u8, msg: &str) -> ExitCode {
    eprintln!("dcsensor: {msg}");
    ExitCode::from(code)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = init_logging(&cli.log_level, &cli.log_format) {
        return fail(2, &e);
    }
    match cli.command {
        Command::Replay(a) => replay(a),
        Command::CheckConfig { file } => match dcsensor::daemon::config::Config::load(&file) {
            Ok(_) => {
                println!("{}: valid", file.display());
                ExitCode::SUCCESS
            }
            Err(e) => fail(2, &e),
        },
    }
}
