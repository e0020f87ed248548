//! The `dcsensor` command line: `replay` capture files, capture `live`, `run` as a service from
//! a configuration file, and `check-config`.

/// The allocator: mimalloc takes back blocks freed by another thread without a lock, so the
/// output thread frees the records the workers made (with glibc's malloc those frees contended
/// for the worker's arena, so the busiest thread had to free its own records). Built with
/// `no_thp`: asking for transparent huge pages made each thread's heap grow in 2 MiB steps and
/// raised the peak under a flood by up to 50 MiB (README "Speed work, third round").
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "main/service.rs"]
mod service;
use service::run_service;

use clap::{Args, Parser, Subcommand};
use dcsensor::capture::live::LiveSource;
use dcsensor::daemon::config::{Config, LogFormat, Mode};
use dcsensor::daemon::{guard, metrics, notify, privileges};
use dcsensor::output::{JsonLines, Output};
use dcsensor::pipeline::{self, Control, Files, Live, Options, Reload, Telemetry};
use dcsensor::upstream::{self, SinkSpec, UpstreamConfig};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{reload, EnvFilter, Layer, Registry};

/// A network sensor for Active Directory domain controllers: Kerberos, DNS, DCE-RPC, SMB and
/// NTLM activity as compact records.
#[derive(Parser, Debug)]
#[command(name = "dcsensor", version, about, long_about = None)]
struct Cli {
    /// Log level for messages on stderr (error, warn, info, debug, trace).
    #[arg(long, global = true)]
    log_level: Option<String>,
    /// Log format on stderr: text or json.
    #[arg(long, global = true)]
    log_format: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Replay pcap or pcapng files and print their records as JSON lines.
    Replay(ReplayArgs),
    /// Capture on live interfaces until TERM or INT, printing records.
    Live(LiveArgs),
    /// Run as a service from a configuration file (what the systemd unit starts).
    Run {
        /// The configuration file (TOML).
        #[arg(long, short = 'c', default_value = "/etc/dcsensor/dcsensor.toml")]
        config: PathBuf,
    },
    /// Print the records of batch files or spool directories as JSON lines.
    Dump {
        /// Batch files (`.msgpack`) or directories holding them, printed in `seq` order.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Run the detection engine over captures, record files or batches; alerts as JSON lines.
    Detect(DetectCmd),
    /// The center: every sensor's batches, the detection engine, the store, the API.
    Center {
        #[command(subcommand)]
        command: dcsensor::center::cli::CenterCommand,
    },
    /// Check a configuration file without capturing (exit 0 when valid, 2 with the problem).
    CheckConfig {
        /// The configuration file (TOML).
        file: PathBuf,
    },
}

/// Settings shared by every mode that runs the pipeline.
#[derive(Args, Debug, Clone)]
struct PipelineArgs {
    /// Worker threads (default: cores - 1, at least 1; live on one interface: one, run on the
    /// capture thread).
    #[arg(long, default_value_t = 0)]
    workers: usize,
    /// The sensor's memory budget in MiB (flows, reassembly, fragments, decoder state of every
    /// worker together).
    #[arg(long, value_name = "MIB", default_value_t = pipeline::DEFAULT_MEMORY_BUDGET >> 20)]
    memory_mb: usize,
    /// Write records to FILE instead of standard output.
    #[arg(long, short = 'o')]
    output: Option<PathBuf>,
    /// Emit a `stats` record every SECS seconds (besides the one at the end).
    #[arg(long, value_name = "SECS")]
    stats_interval: Option<f64>,
    /// Send records upstream instead of printing them: `file:DIR` (batch files), `nats://HOST:PORT`
    /// (NATS JetStream), `stdout`. Repeat for several sinks.
    #[arg(long, value_name = "SINK")]
    sink: Vec<String>,
    /// Where batches wait until a sink acknowledged them (default: DIR/.spool of the first
    /// file sink, else /var/lib/dcsensor/spool).
    #[arg(long, value_name = "DIR")]
    spool: Option<PathBuf>,
    /// Spool size limit in MiB; when full the oldest batches are dropped and counted.
    #[arg(long, value_name = "MIB")]
    spool_max_mb: Option<u64>,
    /// The sensor's id in batches and NATS subjects (default: the host name).
    #[arg(long, value_name = "ID")]
    sensor_id: Option<String>,
    /// A UDP port carrying VXLAN besides 4789 (repeat for several).
    #[arg(long, value_name = "PORT", value_parser = clap::value_parser!(u16).range(1..))]
    vxlan_port: Vec<u16>,
    /// A UDP port carrying Geneve besides 6081 (repeat for several).
    #[arg(long, value_name = "PORT", value_parser = clap::value_parser!(u16).range(1..))]
    geneve_port: Vec<u16>,
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
    /// Keep the normal scheduling policy (by default a replay runs as the batch job it is,
    /// under SCHED_BATCH: threads it wakes do not preempt its worker).
    #[arg(long)]
    no_batch_sched: bool,
    #[command(flatten)]
    pipeline: PipelineArgs,
}

#[derive(Args, Debug)]
struct DetectCmd {
    /// pcap or pcapng files (decoded here), JSON-lines record files (`-`: standard input),
    /// MessagePack batch files or directories of them; read in the order given.
    #[arg(required = true)]
    inputs: Vec<String>,
    /// The tuning: a configuration file's `[detect]` section, or a file of those settings.
    #[arg(long, short = 'c')]
    config: Option<PathBuf>,
    /// Print the records too, each followed by the alerts it raised.
    #[arg(long)]
    records: bool,
    /// `json` (RECORDS.md) or `ecs` (Elastic Common Schema documents).
    #[arg(long, default_value = "json")]
    format: String,
    /// The sensor id given to records of captures and record files.
    #[arg(long, default_value = "local")]
    sensor_id: String,
    /// Write to FILE instead of standard output.
    #[arg(long, short = 'o')]
    output: Option<PathBuf>,
    /// Pipeline workers for capture files (1 keeps the records' order: identical alerts on
    /// every run).
    #[arg(long, default_value_t = 1)]
    workers: usize,
}

fn detect(a: DetectCmd) -> ExitCode {
    use dcsensor::detect::run::{run_detect, DetectArgs, Format};
    let format = match a.format.as_str() {
        "json" => Format::Json,
        "ecs" => Format::Ecs,
        other => return fail(2, &format!("--format {other}: use json or ecs")),
    };
    let args = DetectArgs {
        inputs: a.inputs,
        config: a.config,
        records: a.records,
        format,
        sensor: a.sensor_id,
        output: a.output,
        workers: a.workers,
    };
    match run_detect(&args) {
        Ok(_) => ExitCode::SUCCESS,
        Err((_, e)) if e.contains("Broken pipe") => ExitCode::SUCCESS,
        Err((code, e)) => fail(code, &e),
    }
}

#[derive(Args, Debug)]
struct LiveArgs {
    /// Interface to capture on (repeat for several; one capture thread each).
    #[arg(long, short = 'i', required = true)]
    interface: Vec<String>,
    /// A BPF capture filter (tcpdump syntax).
    #[arg(long)]
    bpf: Option<String>,
    /// Promiscuous mode: for a mirror port, where the traffic is between other hosts.
    #[arg(long)]
    promisc: bool,
    /// Bytes kept of each packet.
    #[arg(long, default_value_t = 65535)]
    snaplen: i32,
    /// Kernel capture buffer per interface, in MiB (shared by its fanout threads).
    #[arg(long, default_value_t = 64)]
    buffer_mb: i32,
    /// Capture threads on the one interface, joined in a kernel fanout group that gives each
    /// every packet between the address pairs it has; each runs its own flow table (--workers
    /// is then ignored). 1: one capture socket.
    #[arg(long, value_name = "N", default_value_t = 1)]
    fanout: usize,
    /// Serve Prometheus metrics at http://ADDR/metrics.
    #[arg(long, value_name = "ADDR")]
    metrics: Option<String>,
    /// When started as root: become USER once the captures are open.
    #[arg(long)]
    user: Option<String>,
    /// Run the detection engine with this tuning (a configuration file's `[detect]` section, or
    /// its settings); alerts go to the `--sink`s as `alerts` batches.
    #[arg(long, value_name = "FILE")]
    detect: Option<PathBuf>,
    #[command(flatten)]
    pipeline: PipelineArgs,
}

type FilterHandle = reload::Handle<EnvFilter, Registry>;

fn init_logging(level: &str, format: &str) -> Result<FilterHandle, String> {
    let filter = EnvFilter::try_new(level)
        .map_err(|e| format!("log level {level}: {e}; use error, warn, info, debug or trace"))?;
    let (filter, handle) = reload::Layer::new(filter);
    let fmt: Box<dyn Layer<_> + Send + Sync> = match format {
        "text" => Box::new(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(std::io::stderr),
        ),
        "json" => Box::new(
            tracing_subscriber::fmt::layer()
                .json()
                .with_writer(std::io::stderr),
        ),
        other => return Err(format!("log format {other}: use text or json")),
    };
    tracing_subscriber::registry().with(filter).with(fmt).init();
    Ok(handle)
}

fn register(sig: i32, flag: &Arc<AtomicBool>) {
    if let Err(e) = signal_hook::flag::register(sig, flag.clone()) {
        tracing::warn!("cannot handle signal {sig}: {e}");
    }
}

fn stop_flag() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    register(signal_hook::consts::SIGTERM, &stop);
    register(signal_hook::consts::SIGINT, &stop);
    stop
}

/// The output the command line asks for: upstream sinks, or JSON lines to a file or stdout.
fn open_output(p: &PipelineArgs) -> Result<Box<dyn Output>, String> {
    if !p.sink.is_empty() {
        if p.output.is_some() {
            return Err(
                "--output and --sink exclude each other; use --sink stdout beside other sinks"
                    .into(),
            );
        }
        let sinks = p
            .sink
            .iter()
            .map(|s| SinkSpec::parse(s))
            .collect::<Result<Vec<_>, _>>()?;
        let mut cfg = UpstreamConfig::with_sinks(sinks);
        cfg.spool = p.spool.clone();
        if let Some(mb) = p.spool_max_mb {
            cfg.spool_limit = mb.saturating_mul(1 << 20);
        }
        cfg.sensor_id = p.sensor_id.clone();
        return upstream::open(cfg).map_err(|e| e.to_string());
    }
    Ok(match &p.output {
        Some(p) => {
            let f = std::fs::File::create(p).map_err(|e| {
                format!("{}: cannot create the output file: {e}; check the directory exists and is writable", p.display())
            })?;
            Box::new(JsonLines::new(f))
        }
        None => Box::new(JsonLines::new(std::io::stdout())),
    })
}

/// The output the configuration's `[output]` section describes.
fn open_sinks(cfg: &Config) -> Result<Box<dyn Output>, String> {
    let up = cfg.output.upstream()?;
    upstream::open(up).map_err(|e| e.to_string())
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
    if p.memory_mb == 0 {
        return Err("--memory-mb 0: give the memory budget in MiB (above 0)".into());
    }
    let mut o = Options {
        workers: p.workers,
        stats_interval,
        memory_budget: p.memory_mb << 20,
        ..Options::default()
    };
    o.packet.vxlan_ports.extend(&p.vxlan_port);
    o.packet.geneve_ports.extend(&p.geneve_port);
    Ok(o)
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

fn finish(result: Result<pipeline::RunSummary, pipeline::RunError>) -> ExitCode {
    match result {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(pipeline::RunError::Capture(e)) => fail(2, &e.to_string()),
        Err(pipeline::RunError::Config(e)) => fail(2, &e),
        Err(e) => fail(1, &e.to_string()),
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
    if !a.no_batch_sched {
        if let Err(e) = pipeline::batch_scheduling() {
            tracing::warn!("{e}");
        }
    }
    let mut files = match Files::open(&a.files) {
        Ok(f) => f,
        Err(e) => return fail(2, &e.to_string()),
    };
    let output = match open_output(&a.pipeline) {
        Ok(o) => o,
        Err(e) => return fail(2, &e),
    };
    let control = Control {
        stop: stop_flag(),
        ..Default::default()
    };
    finish(pipeline::run(
        std::slice::from_mut(&mut files),
        &opts,
        output,
        control,
        Default::default(),
    ))
}

/// Opens every interface (as root, before privileges are dropped); with `fanout` above 1, that
/// many captures of the one interface joined in a kernel fanout group, sharing `buffer_mb`.
fn open_interfaces(
    names: &[String],
    bpf: Option<&str>,
    promisc: bool,
    snaplen: i32,
    buffer_mb: i32,
    fanout: usize,
) -> Result<Vec<Live>, String> {
    dcsensor::capture::fanout::check(fanout, names.len())?;
    let members = fanout.max(1);
    let buffer = (buffer_mb.max(1) / members as i32)
        .max(1)
        .saturating_mul(1024 * 1024);
    let mut sources = Vec::new();
    for i in names {
        for _ in 0..members {
            let s = LiveSource::open(
                i,
                bpf.filter(|b| !b.is_empty()),
                promisc,
                snaplen,
                buffer,
                100,
            )
            .map_err(|e| e.to_string())?;
            sources.push(Live(s));
        }
    }
    if members > 1 {
        let mut group = None;
        let key = dcsensor::capture::fanout::random_key();
        for s in &mut sources {
            group = Some(s.0.join_fanout(group, key).map_err(|e| e.to_string())?);
        }
        // Until the last member joined, each ring also took the packets meant for the others.
        let discarded: u64 = sources.iter_mut().map(|s| s.0.discard_waiting()).sum();
        tracing::info!(
            group,
            members,
            discarded,
            "capture threads joined in a kernel fanout group (packets captured before every member joined were discarded)"
        );
    }
    Ok(sources)
}

/// Sends READY=1 at the first heartbeat (capture runs) and WATCHDOG=1 at the interval systemd
/// asked for.
fn systemd_heartbeat() -> Box<dyn FnMut() + Send> {
    let interval = notify::watchdog_interval();
    let mut ready = false;
    let mut last = Instant::now();
    Box::new(move || {
        if !ready {
            ready = notify::notify("READY=1");
            return;
        }
        if let Some(every) = interval {
            if last.elapsed() >= every {
                notify::notify("WATCHDOG=1");
                last = Instant::now();
            }
        }
    })
}

fn drop_privileges(user: Option<&str>) -> Result<(), String> {
    match user.filter(|u| !u.is_empty()) {
        Some(u) if privileges::is_root() => privileges::drop_to(u),
        Some(u) => {
            tracing::info!("not root: --user {u} ignored");
            Ok(())
        }
        None => Ok(()),
    }
}

fn live(a: LiveArgs) -> ExitCode {
    let mut opts = match options(&a.pipeline) {
        Ok(o) => o,
        Err(e) => return fail(2, &e),
    };
    opts.stats_interval = opts.stats_interval.or(Some(Duration::from_secs(60)));
    // The kernel's capture rings are mapped into the process: they come out of the budget.
    let rings = (a.buffer_mb.max(0) as usize) << 20;
    opts.memory_budget = opts
        .memory_budget
        .saturating_sub(rings.saturating_mul(a.interface.len()));
    let mut sources = match open_interfaces(
        &a.interface,
        a.bpf.as_deref(),
        a.promisc,
        a.snaplen,
        a.buffer_mb,
        a.fanout,
    ) {
        Ok(s) => s,
        Err(e) => return fail(2, &e),
    };
    let telemetry = Arc::new(Telemetry::default());
    let _metrics = match a.metrics.as_deref().map(|m| {
        let limits = dcsensor::daemon::config::MetricsSection::default().limits();
        metrics::MetricsServer::start(m, telemetry.clone(), limits)
    }) {
        Some(Err(e)) => return fail(2, &e),
        Some(Ok(s)) => Some(s),
        None => None,
    };
    if let Err(e) = drop_privileges(a.user.as_deref()) {
        return fail(2, &e);
    }
    let output = match open_output(&a.pipeline) {
        Ok(o) => o,
        Err(e) => return fail(2, &e),
    };
    let output = match &a.detect {
        None => output,
        Some(f) => match live_detection(f, &a.pipeline) {
            Ok(d) => dcsensor::detect::run::sensor_output(&d, output),
            Err(e) => return fail(2, &e),
        },
    };
    let control = Control {
        stop: stop_flag(),
        heartbeat: Some(systemd_heartbeat()),
        ..Default::default()
    };
    tracing::info!(interfaces = ?a.interface, "capturing");
    let r = pipeline::run(&mut sources, &opts, output, control, telemetry);
    notify::notify("STOPPING=1");
    finish(r)
}

type SharedDetector = Arc<std::sync::Mutex<dcsensor::detect::run::Detector>>;

/// `live --detect FILE`: the engine with that tuning, its alerts shipped to the `--sink`s.
fn live_detection(f: &std::path::Path, p: &PipelineArgs) -> Result<SharedDetector, String> {
    let text = std::fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()))?;
    let mut tuning =
        dcsensor::detect::Tuning::from_toml(&text).map_err(|e| format!("{}: {e}", f.display()))?;
    if p.sink.is_empty() {
        return Err(
            "--detect ships alerts like records: give --sink (file:DIR, nats://..., stdout)".into(),
        );
    }
    let sinks = p
        .sink
        .iter()
        .map(|s| SinkSpec::parse(s))
        .collect::<Result<Vec<_>, _>>()?;
    let mut up = UpstreamConfig::with_sinks(sinks);
    up.spool = p.spool.clone();
    up.sensor_id = p.sensor_id.clone();
    tuning.enabled = true;
    Ok(dcsensor::detect::run::for_sensor(tuning, &up)?.expect("enabled"))
}

fn fail(code: u8, msg: &str) -> ExitCode {
    eprintln!("dcsensor: {msg}");
    ExitCode::from(code)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let format = cli.log_format.clone().unwrap_or_else(|| "text".into());
    let level = cli.log_level.clone().unwrap_or_else(|| "info".into());
    let mut log_format = format.clone();
    if let Command::Run { config } = &cli.command {
        // The configuration's log format applies unless the command line says otherwise.
        if cli.log_format.is_none() {
            if let Ok(cfg) = Config::load(config) {
                log_format = if cfg.log.format == LogFormat::Json {
                    "json".into()
                } else {
                    "text".into()
                };
            }
        }
    }
    let handle = match init_logging(&level, &log_format) {
        Ok(h) => h,
        Err(e) => return fail(2, &e),
    };
    match cli.command {
        Command::Replay(a) => replay(a),
        Command::Live(a) => live(a),
        Command::Detect(a) => detect(a),
        Command::Run { config } => run_service(config, handle, cli.log_level.is_some()),
        Command::Dump { paths } => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            match upstream::dump(&paths, &mut out) {
                Ok(_) => match std::io::Write::flush(&mut out) {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
                    Err(e) => fail(1, &e.to_string()),
                },
                Err(e) => fail(2, &e.to_string()),
            }
        }
        Command::Center { command } => dcsensor::center::cli::main(command),
        Command::CheckConfig { file } => match Config::load(&file) {
            Ok(_) => {
                println!("{}: valid", file.display());
                ExitCode::SUCCESS
            }
            Err(e) => fail(2, &e),
        },
    }
}
