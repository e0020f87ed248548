//! `dcsensor detect`: reads inputs of every kind the engine takes (pcap and pcapng decoded in
//! process, JSON-lines record files or `-` for standard input, MessagePack batch files or
//! directories of them), feeds one engine in input order and writes alerts (and with
//! `--records` the records too) as JSON lines or ECS documents.

use super::input::LineRec;
use super::{output, Alert, Engine, Rec};
use crate::output::{Output, OutputError};
use crate::record::Record;
use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

mod batches;
#[cfg(test)]
mod tests;
pub use batches::batches;

/// How records and alerts are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// As the sensor writes them (RECORDS.md).
    #[default]
    Json,
    /// Elastic Common Schema documents.
    Ecs,
}

/// What an input file holds, by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    Capture,
    Batch,
    JsonLines,
}

/// The kind of a file by its magic: pcap, pcapng, a MessagePack map (a batch), else JSON lines.
pub fn sniff(head: &[u8]) -> InputKind {
    match head {
        [0xd4, 0xc3, 0xb2, 0xa1, ..]
        | [0xa1, 0xb2, 0xc3, 0xd4, ..]
        | [0x4d, 0x3c, 0xb2, 0xa1, ..]
        | [0xa1, 0xb2, 0x3c, 0x4d, ..]
        | [0x0a, 0x0d, 0x0d, 0x0a, ..] => InputKind::Capture,
        [b, ..] if (0x80..=0x8f).contains(b) || *b == 0xde || *b == 0xdf => InputKind::Batch,
        _ => InputKind::JsonLines,
    }
}

/// A record as it was read, for `--records`: written out unchanged (the engine's [`Rec`] keeps
/// only the fields it reads, so it is never what is written).
#[derive(Clone, Copy)]
pub enum Raw<'a> {
    /// A JSON line as read (written byte for byte).
    Line(&'a str),
    /// A record of the in-process pipeline (written as the sensor writes it).
    Record(&'a Record),
    /// A record of a batch, every field it had.
    Value(&'a serde_json::Value),
    /// Only the engine's record was kept (a batch read straight into records when `--records`
    /// is off): written as the engine's record.
    Parsed,
}

/// The engine with where its output goes.
pub struct Detector {
    pub engine: Engine,
    out: Box<dyn Write + Send>,
    pub format: Format,
    /// Write the records too, each followed by the alerts it raised.
    pub records: bool,
    /// The sensor id given to records that do not come with one (pcaps, JSON lines).
    pub sensor: String,
    /// Lines that were not records.
    pub skipped: u64,
    /// Of those, lines longer than `max_record_bytes`.
    pub oversized: u64,
    /// Records read.
    pub read: u64,
    /// Alerts written (new and updated).
    pub written: u64,
    /// Other destinations of the alerts (the sensor's upstream, syslog).
    pub sinks: Vec<Box<dyn super::sinks::AlertSink>>,
    line: Vec<u8>,
}

impl Detector {
    pub fn new(
        engine: Engine,
        out: Box<dyn Write + Send>,
        format: Format,
        records: bool,
        sensor: &str,
    ) -> Self {
        Detector {
            engine,
            out,
            format,
            records,
            sensor: sensor.to_string(),
            skipped: 0,
            oversized: 0,
            read: 0,
            written: 0,
            sinks: Vec::new(),
            line: Vec::with_capacity(1024),
        }
    }

    fn write_value<T: serde::Serialize>(&mut self, v: &T) -> std::io::Result<()> {
        self.line.clear();
        serde_json::to_writer(&mut self.line, v).map_err(std::io::Error::other)?;
        self.line.push(b'\n');
        self.out.write_all(&self.line)
    }

    fn write_alerts(&mut self, alerts: Vec<Alert>) -> std::io::Result<()> {
        for a in alerts {
            for s in self.sinks.iter_mut() {
                if let Err(e) = s.alert(&a) {
                    tracing::warn!("an alert destination failed: {e}");
                }
            }
            self.written += 1;
            match self.format {
                // (written by hand: the text serde_json writes for it, without its serializer)
                Format::Json => {
                    self.line.clear();
                    a.write_json(&mut self.line);
                    self.line.push(b'\n');
                    self.out.write_all(&self.line)?
                }
                Format::Ecs => {
                    let sensor = self.sensor.clone();
                    self.write_value(&output::ecs_alert(&a, &sensor))?
                }
            }
        }
        Ok(())
    }

    /// One record from sensor `sensor` (None: this detector's own id); `raw` is the record as
    /// it was read, which `--records` writes unchanged (every field, the engine's or not).
    pub fn feed(
        &mut self,
        sensor: Option<&str>,
        rec: &Arc<Rec>,
        raw: Raw<'_>,
    ) -> std::io::Result<()> {
        self.read += 1;
        if self.records {
            match self.format {
                Format::Json => match raw {
                    Raw::Line(l) => {
                        self.line.clear();
                        self.line.extend_from_slice(l.as_bytes());
                        self.line.push(b'\n');
                        self.out.write_all(&self.line)?
                    }
                    Raw::Record(r) => self.write_value(r)?,
                    Raw::Value(v) => self.write_value(v)?,
                    Raw::Parsed => self.write_value(&**rec)?,
                },
                Format::Ecs => {
                    let s = sensor.unwrap_or(&self.sensor).to_string();
                    let full = match raw {
                        Raw::Line(l) => serde_json::from_str(l).ok(),
                        Raw::Record(r) => serde_json::to_value(r).ok(),
                        Raw::Value(v) => Some(v.clone()),
                        Raw::Parsed => None,
                    }
                    .unwrap_or_else(|| serde_json::to_value(rec).unwrap_or_default());
                    self.write_value(&output::ecs_record(rec, full, &s))?
                }
            }
        }
        let alerts = match sensor {
            Some(s) => self.engine.feed(s, rec),
            None => {
                let s = std::mem::take(&mut self.sensor);
                let a = self.engine.feed(&s, rec);
                self.sensor = s;
                a
            }
        };
        self.write_alerts(alerts)
    }

    /// Writes the alerts updated since their last emission, and flushes the writer.
    pub fn flush(&mut self) -> std::io::Result<()> {
        let alerts = self.engine.flush();
        self.write_alerts(alerts)?;
        for s in self.sinks.iter_mut() {
            if let Err(e) = s.tick() {
                tracing::warn!("an alert destination failed: {e}");
            }
        }
        self.out.flush()
    }

    /// Flushes and closes the alert destinations (end of input, TERM).
    pub fn finish(&mut self) -> std::io::Result<()> {
        self.flush()?;
        for s in self.sinks.iter_mut() {
            if let Err(e) = s.finish() {
                tracing::warn!("an alert destination failed to finish: {e}");
            }
        }
        Ok(())
    }

    /// Reads JSON lines; a line that is not a record (not JSON, not text, or longer than
    /// `max_record_bytes`) is skipped, counted, and named in a warning (the first ten, then a
    /// count). Lines are found in the reader's blocks (`memchr`) and read where they lie; only a
    /// line that runs from one block into the next is copied (into one buffer kept from line to
    /// line), and a line over the cap is skipped without being kept.
    pub fn json_lines<R: BufRead>(&mut self, mut r: R, name: &str) -> std::io::Result<()> {
        let mut at = Lines {
            cap: self.engine.tuning().max_record_bytes,
            name,
            n: 0,
            slot: LineRec::default(),
        };
        // the start of a line begun in an earlier block, or (`over`) only that it is too long
        let mut part: Vec<u8> = Vec::new();
        let mut over = false;
        loop {
            let block = match r.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if block.is_empty() {
                break;
            }
            let mut start = 0;
            for end in memchr::memchr_iter(b'\n', block) {
                let line = &block[start..end];
                start = end + 1;
                if over || !part.is_empty() {
                    if over || part.len() + line.len() > at.cap {
                        self.oversized_line(&mut at);
                    } else {
                        part.extend_from_slice(line);
                        self.one_line(&mut at, &part)?;
                    }
                    part.clear();
                    over = false;
                } else {
                    self.one_line(&mut at, line)?;
                }
            }
            let tail = &block[start..];
            if !over {
                if part.len() + tail.len() > at.cap {
                    // the rest of the line is skipped unread into memory
                    part.clear();
                    over = true;
                } else {
                    part.extend_from_slice(tail);
                }
            }
            let used = block.len();
            r.consume(used);
        }
        // a last line without a line feed
        if over {
            self.oversized_line(&mut at);
        } else if !part.is_empty() {
            self.one_line(&mut at, &part)?;
        }
        Ok(())
    }

    /// The next line (its line feed taken off), read as a record if it is one.
    fn one_line(&mut self, at: &mut Lines<'_>, line: &[u8]) -> std::io::Result<()> {
        if line.len() > at.cap {
            self.oversized_line(at);
            return Ok(());
        }
        at.n += 1;
        let t = match text(line) {
            Ok(t) => t.trim(),
            Err(e) => {
                self.skip_line(at.name, at.n, &format!("not UTF-8 text: {e}"));
                return Ok(());
            }
        };
        if t.is_empty() {
            return Ok(());
        }
        // the record is read in place into the last one's memory (its strings and lists
        // reused) when the engine kept no share of it, else into a new one
        match at.slot.read_json(t) {
            Ok(rec) => self.feed(None, rec, Raw::Line(t))?,
            Err(e) => self.skip_line(at.name, at.n, &e.to_string()),
        }
        Ok(())
    }

    /// The next line, longer than `max_record_bytes`: counted and skipped.
    fn oversized_line(&mut self, at: &mut Lines<'_>) {
        at.n += 1;
        self.oversized += 1;
        let why = format!("longer than max_record_bytes ({})", at.cap);
        self.skip_line(at.name, at.n, &why);
    }

    /// Counts a line that is not a record, naming it in a warning (the first ten only).
    fn skip_line(&mut self, name: &str, line: u64, why: &str) {
        self.skipped += 1;
        if self.skipped <= 10 {
            tracing::warn!("{name}:{line}: not a record, skipped: {why}");
        } else if self.skipped == 11 {
            tracing::warn!(
                "{name}: more lines are not records; only their count is reported at the end"
            );
        }
    }
}

/// Where [`Detector::json_lines`] is in its input.
struct Lines<'a> {
    /// `max_record_bytes`.
    cap: usize,
    /// The input's name, for warnings.
    name: &'a str,
    /// The number of the last line read.
    n: u64,
    /// The last record read, whose memory the next one reuses when the engine kept none of it.
    slot: LineRec,
}

/// A line as text: checked as ASCII sixteen bytes at a time, and by `std::str::from_utf8` (whose
/// error says where it stops being UTF-8) only when it is not.
fn text(b: &[u8]) -> Result<&str, std::str::Utf8Error> {
    if ascii(b) {
        // SAFETY: ASCII is UTF-8.
        Ok(unsafe { std::str::from_utf8_unchecked(b) })
    } else {
        std::str::from_utf8(b)
    }
}

/// Whether every byte is below 0x80: the bytes or-ed together sixteen at a time (no branch per
/// word), then the rest.
fn ascii(b: &[u8]) -> bool {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut chunks = b.chunks_exact(16);
    let mut acc = 0u64;
    for c in &mut chunks {
        let (x, y) = c.split_at(8);
        acc |= u64::from_le_bytes(x.try_into().unwrap_or([0xff; 8]))
            | u64::from_le_bytes(y.try_into().unwrap_or([0xff; 8]));
    }
    acc & HIGH == 0 && chunks.remainder().iter().all(|c| *c < 0x80)
}

/// The pipeline's output when the engine reads capture files (or runs in the sensor): every
/// record is handed to the engine in its MessagePack shape.
pub struct DetectOutput {
    pub detector: Arc<Mutex<Detector>>,
    /// Where records go besides the engine (the sensor's upstream), if anywhere.
    pub inner: Option<Box<dyn Output>>,
    pub bad: u64,
}

impl Output for DetectOutput {
    fn record(&mut self, rec: &Record) -> Result<(), OutputError> {
        if let Some(i) = self.inner.as_mut() {
            i.record(rec)?;
        }
        match Rec::from_record(rec) {
            Ok(r) => {
                let mut d = self.detector.lock().map_err(|_| "detector lock poisoned")?;
                d.feed(None, &Arc::new(r), Raw::Record(rec))?;
            }
            Err(e) => {
                self.bad += 1;
                tracing::warn!("a record could not be read back for detection: {e}");
            }
        }
        Ok(())
    }

    fn tick(&mut self) -> Result<(), OutputError> {
        if let Some(i) = self.inner.as_mut() {
            i.tick()?;
        }
        let mut d = self.detector.lock().map_err(|_| "detector lock poisoned")?;
        d.flush()?;
        Ok(())
    }

    fn backlog(&self) -> Option<u64> {
        self.inner.as_ref().and_then(|i| i.backlog())
    }

    fn attach_counters(&mut self, c: Arc<crate::stats::Counters>) {
        if let Some(i) = self.inner.as_mut() {
            i.attach_counters(c);
        }
    }

    fn metrics(&self) -> Vec<crate::output::Metric> {
        let mut m = self.inner.as_ref().map(|i| i.metrics()).unwrap_or_default();
        if let Ok(d) = self.detector.lock() {
            let c = d.engine.counters();
            let g = |name, help, counter, value: u64| crate::output::Metric {
                name,
                help,
                counter,
                value: value as f64,
            };
            m.push(g(
                "detect_alerts_total",
                "Alerts raised by the detection engine",
                true,
                c.alerts,
            ));
            m.push(g(
                "detect_evictions_total",
                "Detection state entries dropped because a table was full",
                true,
                c.evictions,
            ));
            m.push(g(
                "detect_excluded_total",
                "Evidence left alone because an exclusion matched",
                true,
                c.excluded,
            ));
            m.push(g(
                "detect_distinct_dropped_total",
                "Targets counted without being remembered because their tally held max_distinct",
                true,
                c.distinct_dropped,
            ));
            m.push(g(
                "detect_evidence_trimmed_total",
                "Evidence records kept trimmed because their tally or alert held max_evidence_bytes",
                true,
                c.evidence_trimmed,
            ));
            m.push(g(
                "detect_targets_dropped_total",
                "Target names not kept because their tally or alert held max_target_bytes",
                true,
                c.targets_dropped,
            ));
            m.push(g(
                "detect_entries",
                "Entries held in the detection engine's state tables",
                false,
                c.entries,
            ));
        }
        m
    }

    fn finish(&mut self) -> Result<(), OutputError> {
        {
            let mut d = self.detector.lock().map_err(|_| "detector lock poisoned")?;
            d.finish()?;
        }
        if let Some(i) = self.inner.as_mut() {
            i.finish()?;
        }
        Ok(())
    }
}

/// The first bytes of a file (to tell its kind).
pub fn head_of(p: &Path) -> std::io::Result<Vec<u8>> {
    let mut f = std::fs::File::open(p)?;
    let mut b = vec![0u8; 8];
    let n = f.read(&mut b)?;
    b.truncate(n);
    Ok(b)
}

/// The settings of `dcsensor detect`.
#[derive(Debug, Clone, Default)]
pub struct DetectArgs {
    /// Capture files, record files (`-` for standard input), batch files or directories.
    pub inputs: Vec<String>,
    /// The tuning (a whole configuration file or the `[detect]` settings).
    pub config: Option<PathBuf>,
    pub records: bool,
    pub format: Format,
    pub sensor: String,
    pub output: Option<PathBuf>,
    /// Pipeline workers for capture files (1 keeps the records' order, so alerts repeat exactly).
    pub workers: usize,
}

/// Runs `dcsensor detect`. Errors carry the exit code: 2 for a configuration or input that
/// cannot be used, 1 for a failure while running.
pub fn run_detect(a: &DetectArgs) -> Result<super::Counters, (u8, String)> {
    let tuning = match &a.config {
        Some(p) => {
            let text =
                std::fs::read_to_string(p).map_err(|e| (2, format!("{}: {e}", p.display())))?;
            super::Tuning::from_toml(&text).map_err(|e| (2, format!("{}: {e}", p.display())))?
        }
        None => super::Tuning::default(),
    };
    let out: Box<dyn Write + Send> = match &a.output {
        Some(p) => Box::new(std::io::BufWriter::new(std::fs::File::create(p).map_err(
            |e| {
                (
                    2,
                    format!("{}: cannot create the output file: {e}", p.display()),
                )
            },
        )?)),
        None => Box::new(std::io::BufWriter::with_capacity(
            256 * 1024,
            std::io::stdout(),
        )),
    };
    let sensor = if a.sensor.is_empty() {
        "local".to_string()
    } else {
        a.sensor.clone()
    };
    let det = Arc::new(Mutex::new(Detector::new(
        Engine::new(tuning),
        out,
        a.format,
        a.records,
        &sensor,
    )));
    let io = |e: std::io::Error| (1u8, e.to_string());
    for input in &a.inputs {
        if input == "-" {
            let stdin = std::io::stdin();
            let mut d = det.lock().map_err(|_| (1, "lock".to_string()))?;
            // read in blocks as large as a file's
            let r = std::io::BufReader::with_capacity(256 * 1024, stdin.lock());
            d.json_lines(r, "stdin").map_err(io)?;
            continue;
        }
        let p = PathBuf::from(input);
        let kind = if p.is_dir() {
            InputKind::Batch
        } else {
            sniff(&head_of(&p).map_err(|e| {
                (
                    2,
                    format!("{input}: {e}; give a capture, record or batch file"),
                )
            })?)
        };
        match kind {
            InputKind::JsonLines => {
                let f = std::fs::File::open(&p).map_err(|e| (2, format!("{input}: {e}")))?;
                let mut d = det.lock().map_err(|_| (1, "lock".to_string()))?;
                d.json_lines(std::io::BufReader::with_capacity(256 * 1024, f), input)
                    .map_err(io)?;
            }
            InputKind::Batch => {
                let mut d = det.lock().map_err(|_| (1, "lock".to_string()))?;
                batches(&mut d, std::slice::from_ref(&p)).map_err(|e| (2, e))?;
            }
            InputKind::Capture => {
                let mut files = crate::pipeline::Files::open(std::slice::from_ref(&p))
                    .map_err(|e| (2, e.to_string()))?;
                let opts = crate::pipeline::Options {
                    workers: a.workers.max(1),
                    ..Default::default()
                };
                let output = Box::new(DetectOutput {
                    detector: det.clone(),
                    inner: None,
                    bad: 0,
                });
                crate::pipeline::run(
                    std::slice::from_mut(&mut files),
                    &opts,
                    output,
                    Default::default(),
                    Default::default(),
                )
                .map_err(|e| (1, e.to_string()))?;
            }
        }
    }
    let mut d = det.lock().map_err(|_| (1, "lock".to_string()))?;
    d.flush().map_err(io)?;
    if d.skipped > 0 {
        tracing::warn!(
            "{} input lines or files were not records and were skipped",
            d.skipped
        );
    }
    if d.oversized > 0 {
        tracing::warn!(
            "{} of them were longer than max_record_bytes ({}); raise it in the [detect] settings if the records are genuine",
            d.oversized,
            d.engine.tuning().max_record_bytes
        );
    }
    let c = d.engine.counters();
    tracing::info!(
        records = d.read,
        alerts = c.alerts,
        written = d.written,
        skipped = d.skipped,
        oversized = d.oversized,
        evictions = c.evictions,
        distinct_dropped = c.distinct_dropped,
        evidence_trimmed = c.evidence_trimmed,
        targets_dropped = c.targets_dropped,
        "detect done"
    );
    Ok(c)
}

/// The upstream that ships alerts like records: the same sinks, batches of alerts in
/// `DIR/alerts` for a `file:DIR` sink and on the subject `dcsensor.<id>.alerts` for NATS, with
/// a spool of its own beside the records' (`<spool>-alerts`).
pub fn alerts_upstream(
    records: &crate::upstream::UpstreamConfig,
) -> Result<crate::upstream::Upstream, String> {
    use crate::upstream::SinkSpec;
    let mut c = records.clone();
    c.kind = "alerts".into();
    let spool = records.spool_dir();
    let name = spool
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "spool".into());
    c.spool = Some(spool.with_file_name(format!("{name}-alerts")));
    c.sinks = c
        .sinks
        .into_iter()
        .map(|s| match s {
            SinkSpec::File(d) => SinkSpec::File(d.join("alerts")),
            o => o,
        })
        .collect();
    crate::upstream::Upstream::open(c).map_err(|e| format!("alerts upstream: {e}"))
}

/// The engine of a sensor (`[detect] enabled`): its alerts go to `alerts` (the alerts upstream,
/// or a file), and to the syslog collectors of the tuning.
pub fn sensor_detector(
    tuning: super::Tuning,
    sensor: &str,
    alerts: Vec<Box<dyn super::sinks::AlertSink>>,
    out: Box<dyn Write + Send>,
) -> Result<Arc<Mutex<Detector>>, String> {
    let host = sensor.to_string();
    let ca = (!tuning.syslog_ca_file.is_empty()).then(|| PathBuf::from(&tuning.syslog_ca_file));
    let mut sinks = alerts;
    for t in &tuning.syslog {
        let target = super::sinks::SyslogTarget::parse(t)?;
        sinks.push(Box::new(super::sinks::Syslog::new(
            target,
            ca.as_deref(),
            &host,
            sensor,
        )?));
    }
    let mut d = Detector::new(Engine::new(tuning), out, Format::Json, false, sensor);
    d.sinks = sinks;
    Ok(Arc::new(Mutex::new(d)))
}

/// The pipeline output of a sensor with detection on: records to `records`, and to the engine.
pub fn sensor_output(detector: &Arc<Mutex<Detector>>, records: Box<dyn Output>) -> Box<dyn Output> {
    Box::new(DetectOutput {
        detector: detector.clone(),
        inner: Some(records),
        bad: 0,
    })
}

/// The engine of a sensor whose records go to `up`, when the tuning enables it: alerts shipped
/// like records (same sinks, `alerts` batches and NATS subject) and to the syslog collectors.
pub fn for_sensor(
    tuning: super::Tuning,
    up: &crate::upstream::UpstreamConfig,
) -> Result<Option<Arc<Mutex<Detector>>>, String> {
    if !tuning.enabled {
        return Ok(None);
    }
    let sensor = up.sensor()?;
    let alerts = alerts_upstream(up)?;
    let d = sensor_detector(
        tuning,
        &sensor,
        vec![Box::new(alerts)],
        Box::new(std::io::sink()),
    )?;
    tracing::info!("detection on: alerts go to the sinks as `alerts` batches");
    Ok(Some(d))
}
