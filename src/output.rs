//! Where records go once the workers made them: the [`Output`] trait, and JSON lines to stdout or
//! a file ([`JsonLines`], encoded by [`json`]). The upstream batcher and spool implement
//! [`Output`] too.

pub mod json;

use crate::record::Record;
use std::io::Write;

/// An error from an output, said so that the user knows what to do.
pub type OutputError = Box<dyn std::error::Error + Send + Sync>;

/// One figure an output reports for metrics: name (Prometheus style, without the `dcsensor_`
/// prefix), help text, whether it is a counter (else a gauge), and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    pub name: &'static str,
    pub help: &'static str,
    pub counter: bool,
    pub value: f64,
}

/// A consumer of records, run on the pipeline's single output thread.
pub trait Output: Send {
    /// One record.
    fn record(&mut self, rec: &Record) -> Result<(), OutputError>;
    /// Called about once a second of wall-clock time, whether records came or not (closes
    /// batches by age, retries deliveries).
    fn tick(&mut self) -> Result<(), OutputError> {
        Ok(())
    }
    /// Batches or bytes not yet acknowledged by the upstream, for `stats` (None: no upstream).
    fn backlog(&self) -> Option<u64> {
        None
    }
    /// Gives the output the counters it should count its own drops in (the pipeline calls this
    /// once, before the first record).
    fn attach_counters(&mut self, _counters: std::sync::Arc<crate::stats::Counters>) {}
    /// Figures for metrics (batches spooled, acknowledged, dropped; upstream errors; age of the
    /// last acknowledgement).
    fn metrics(&self) -> Vec<Metric> {
        Vec::new()
    }
    /// The end: flush and deliver everything held (TERM, end of replay).
    fn finish(&mut self) -> Result<(), OutputError>;
}

/// Bytes of JSON lines gathered before they are written (one `write(2)` per this much).
pub const JSON_BUFFER: usize = 256 * 1024;

/// Records as JSON lines on any writer (stdout, a file).
///
/// Each record is encoded straight into one reused buffer (by the records' own encoder,
/// [`json::records::write_record`]: the bytes of their `Serialize` impls), written out whenever
/// it holds [`JSON_BUFFER`] bytes and on every tick, so a record costs no allocation and no copy
/// of its own.
pub struct JsonLines<W: Write + Send> {
    w: W,
    buf: Vec<u8>,
}

impl<W: Write + Send> JsonLines<W> {
    pub fn new(w: W) -> Self {
        JsonLines {
            w,
            buf: Vec::with_capacity(JSON_BUFFER + 4096),
        }
    }

    fn write_out(&mut self) -> Result<(), OutputError> {
        if !self.buf.is_empty() {
            let r = self.w.write_all(&self.buf);
            self.buf.clear();
            r?;
        }
        self.w.flush()?;
        Ok(())
    }
}

impl<W: Write + Send> Output for JsonLines<W> {
    fn record(&mut self, rec: &Record) -> Result<(), OutputError> {
        let at = self.buf.len();
        if let Err(e) = json::records::write_record(&mut self.buf, rec) {
            // Nothing of a record that failed to encode is written.
            self.buf.truncate(at);
            return Err(e.into());
        }
        self.buf.push(b'\n');
        if self.buf.len() >= JSON_BUFFER {
            let r = self.w.write_all(&self.buf);
            self.buf.clear();
            r?;
        }
        Ok(())
    }

    fn tick(&mut self) -> Result<(), OutputError> {
        self.write_out()
    }

    fn finish(&mut self) -> Result<(), OutputError> {
        self.write_out()
    }
}
