//! Capture files: pcap (microsecond and nanosecond, either byte order) and pcapng (several
//! interfaces with their own link types and time resolutions). (Stub: reader pending.)

use super::{CaptureError, Frame};
use std::path::Path;

/// A capture file read frame by frame.
pub struct FileSource {
    name: String,
}

impl FileSource {
    /// Opens `path` and reads its header.
    pub fn open(path: &Path) -> Result<Self, CaptureError> {
        Err(CaptureError::Open {
            source: path.display().to_string(),
            reason: "not implemented".into(),
        })
    }

    /// The next frame, `Ok(None)` at the end of the file (or where a truncated file stops:
    /// see [`FileSource::warning`]).
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, CaptureError> {
        Ok(None)
    }

    /// Set when the file ended in the middle of a record: names the file and the byte offset.
    pub fn warning(&self) -> Option<String> {
        None
    }

    /// Bytes of the file consumed so far.
    pub fn offset(&self) -> u64 {
        0
    }

    /// The file's name as given.
    pub fn name(&self) -> &str {
        &self.name
    }
}
