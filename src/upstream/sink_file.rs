//! The `file:DIR` sink: each batch becomes its own file `DIR/batch-<seq>.msgpack` (a new file per
//! batch: rotation by batch), written to a temporary name, fsynced, renamed, and the directory
//! fsynced. The batch is acknowledged once that is done. Writing the same seq twice (a resend after
//! a restart) replaces the file with identical bytes, so the directory never holds duplicates.
//! `dcsensor dump DIR` prints it back as JSON lines.

use super::spool::{batch_name, sync_dir, write_durably};
use super::Failure;
use std::path::PathBuf;

/// Writes batches into one directory.
pub struct FileSink {
    dir: PathBuf,
    ready: bool,
}

impl FileSink {
    pub fn new(dir: PathBuf) -> Self {
        FileSink { dir, ready: false }
    }

    /// Where it writes.
    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }

    /// Writes batch `seq` durably (on tokio's blocking pool: the disk never stalls the network).
    pub async fn deliver(&mut self, seq: u64, bytes: bytes::Bytes) -> Result<(), Failure> {
        let dir = self.dir.clone();
        let create = !self.ready;
        let r = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            if create {
                std::fs::create_dir_all(&dir)?;
            }
            write_durably(&dir, &batch_name(seq), &bytes)?;
            sync_dir(&dir)
        })
        .await;
        match r {
            Ok(Ok(())) => {
                self.ready = true;
                Ok(())
            }
            Ok(Err(e)) => Err(Failure::Retry(format!(
                "file sink {}: {e}",
                self.dir.display()
            ))),
            Err(e) => Err(Failure::Retry(format!(
                "file sink {}: writer task failed: {e}",
                self.dir.display()
            ))),
        }
    }
}
