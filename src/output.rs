//! Where records go once the workers made them: the [`Output`] trait, and JSON lines to stdout or
//! a file ([`JsonLines`]). The upstream batcher and spool implement [`Output`] too.

use crate::record::Record;
use std::io::{self, Write};

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
    /// Figures for metrics (batches spooled, acknowledged, dropped; upstream errors; age of the
    /// last acknowledgement).
    fn metrics(&self) -> Vec<Metric> {
        Vec::new()
    }
    /// The end: flush and deliver everything held (TERM, end of replay).
    fn finish(&mut self) -> Result<(), OutputError>;
}

/// Records as JSON lines on any writer (stdout, a file).
pub struct JsonLines<W: Write + Send> {
    w: io::BufWriter<W>,
    line: Vec<u8>,
}

impl<W: Write + Send> JsonLines<W> {
    pub fn new(w: W) -> Self {
        JsonLines {
            w: io::BufWriter::with_capacity(256 * 1024, w),
            line: Vec::with_capacity(1024),
        }
    }
}

impl<W: Write + Send> Output for JsonLines<W> {
    fn record(&mut self, rec: &Record) -> Result<(), OutputError> {
        self.line.clear();
        serde_json::to_writer(&mut self.line, rec)?;
        self.line.push(b'\n');
        self.w.write_all(&self.line)?;
        Ok(())
    }

    fn tick(&mut self) -> Result<(), OutputError> {
        self.w.flush()?;
        Ok(())
    }

    fn finish(&mut self) -> Result<(), OutputError> {
        self.w.flush()?;
        Ok(())
    }
}
