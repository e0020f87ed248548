//! `dcsensor run`: the sensor as a service, from its configuration file: logging, capture on
//! the configured interfaces, upstream sinks and detection, privileges dropped, reload on HUP
//! (what cannot change while running is reported), systemd notification and watchdog, and the
//! resource guard.

use super::*;

/// Logs what a reload cannot change while running.
fn report_fixed(old: &Config, new: &Config) {
    let fixed = [
        (
            "capture.interfaces",
            old.capture.interfaces != new.capture.interfaces,
        ),
        ("capture.mode", old.capture.mode != new.capture.mode),
        (
            "capture.snaplen",
            old.capture.snaplen != new.capture.snaplen,
        ),
        (
            "capture.buffer_mb",
            old.capture.buffer_mb != new.capture.buffer_mb,
        ),
        ("pipeline", old.pipeline != new.pipeline),
        ("flow", old.flow != new.flow),
        ("decoder", old.decoder != new.decoder),
        ("metrics", old.metrics != new.metrics),
        ("guard", old.guard != new.guard),
        ("service", old.service != new.service),
    ];
    for (key, changed) in fixed {
        if changed {
            tracing::warn!("reload: {key} changed but cannot change while running; restart dcsensor to apply it");
        }
    }
}

pub(crate) fn run_service(path: PathBuf, log: FilterHandle, cli_level: bool) -> ExitCode {
    let cfg = match Config::load(&path) {
        Ok(c) => c,
        Err(e) => return fail(2, &e),
    };
    if !cli_level {
        let _ = log.modify(|f| *f = EnvFilter::new(&cfg.log.level));
    }
    let mut interfaces = cfg.capture.interfaces.clone();
    if interfaces.is_empty() {
        match dcsensor::daemon::config::default_interface() {
            Some(i) => interfaces.push(i),
            None => {
                return fail(2, &format!(
                    "{}: capture.interfaces is empty and there is no default route; name the interface(s) to capture on",
                    path.display()
                ))
            }
        }
    }
    let mut opts = cfg.options();
    let rings = (cfg.capture.buffer_mb as usize) << 20;
    opts.memory_budget = opts
        .memory_budget
        .saturating_sub(rings.saturating_mul(interfaces.len()));
    let promisc = cfg.capture.mode == Mode::Mirror;
    let mut sources = match open_interfaces(
        &interfaces,
        Some(&cfg.capture.bpf),
        promisc,
        cfg.capture.snaplen as i32,
        cfg.capture.buffer_mb.min(i32::MAX as u64 / (1024 * 1024)) as i32,
        cfg.capture.fanout,
    ) {
        Ok(s) => s,
        Err(e) => return fail(2, &e),
    };
    let telemetry = Arc::new(Telemetry::default());
    let _metrics = if cfg.metrics.listen.is_empty() {
        None
    } else {
        match metrics::MetricsServer::start(
            &cfg.metrics.listen,
            telemetry.clone(),
            cfg.metrics.limits(),
        ) {
            Ok(s) => Some(s),
            Err(e) => return fail(2, &e),
        }
    };
    if let Err(e) = drop_privileges(Some(&cfg.service.user)) {
        return fail(2, &e);
    }
    let output = match open_sinks(&cfg) {
        Ok(o) => o,
        Err(e) => return fail(2, &e),
    };
    let detector = match sensor_detection(&cfg) {
        Ok(d) => d,
        Err(e) => return fail(2, &e),
    };
    let output = match &detector {
        Some(d) => dcsensor::detect::run::sensor_output(d, output),
        None => output,
    };
    let stop = stop_flag();
    let guard_stop = Arc::new(AtomicBool::new(false));
    let budget = guard::Budget {
        cpu: cfg.guard.cpu_percent / 100.0,
        memory: cfg.guard.memory_percent / 100.0,
        interval: Duration::from_secs_f64(cfg.guard.interval),
    };
    let guard = guard::start(budget, telemetry.clone(), guard_stop.clone());
    let hup = Arc::new(AtomicBool::new(false));
    register(signal_hook::consts::SIGHUP, &hup);
    let mut current = cfg.clone();
    let reloader = Box::new(move || {
        tracing::info!("reloading {}", path.display());
        let new = match Config::load(&path) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!("reload refused, keeping the running configuration: {e}");
                return Reload::default();
            }
        };
        report_fixed(&current, &new);
        if new.log != current.log {
            let _ = log.modify(|f| *f = EnvFilter::new(&new.log.level));
            if new.log.format != current.log.format {
                tracing::warn!("reload: log.format changed but cannot change while running; restart dcsensor to apply it");
            }
        }
        let mut r = Reload::default();
        if new.capture.bpf != current.capture.bpf {
            r.bpf = Some(new.capture.bpf.clone());
        }
        if new.output != current.output {
            match open_sinks(&new) {
                Ok(o) => {
                    r.output = Some(match &detector {
                        Some(d) => dcsensor::detect::run::sensor_output(d, o),
                        None => o,
                    })
                }
                Err(e) => tracing::error!("reload: keeping the running sinks: {e}"),
            }
        }
        if new.detect != current.detect {
            match (&detector, new.tuning()) {
                (Some(d), Ok(t)) => {
                    if let Ok(mut d) = d.lock() {
                        d.engine.set_tuning(t);
                        tracing::info!("reload: detection tuning applied (exclusions, thresholds, levels)");
                    }
                }
                (None, _) => tracing::warn!("reload: [detect] changed but detection was off at start; restart dcsensor to turn it on"),
                (_, Err(e)) => tracing::error!("reload: keeping the running detection tuning: {e}"),
            }
        }
        current = new;
        r
    });
    let control = Control {
        stop,
        reload: hup,
        reloader: Some(reloader),
        heartbeat: Some(systemd_heartbeat()),
    };
    tracing::info!(interfaces = ?interfaces, mode = ?cfg.capture.mode, "capturing");
    let r = pipeline::run(&mut sources, &opts, output, control, telemetry);
    notify::notify("STOPPING=1");
    guard_stop.store(true, Ordering::Relaxed);
    let _ = guard.join();
    finish(r)
}

/// The detection engine of `run` when `[detect] enabled`.
fn sensor_detection(cfg: &Config) -> Result<Option<SharedDetector>, String> {
    let up = cfg.output.upstream()?;
    dcsensor::detect::run::for_sensor(cfg.tuning()?, &up)
}
