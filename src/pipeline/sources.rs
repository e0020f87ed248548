//! Frame sources of a run: capture files read one after the other ([`Files`]) and live
//! capture on one interface ([`Live`]).

use super::*;

/// Capture files read one after the other. Every file is opened up front, so that a missing
/// or unreadable file fails the run before anything is printed.
pub struct Files {
    files: Vec<FileSource>,
    /// Each file's memory map, when it is mapped (frames are borrowed from it).
    maps: Vec<Option<Arc<Map>>>,
    current: usize,
    warnings: Vec<String>,
    total: u64,
    done_bytes: u64,
}

impl Files {
    pub fn open(paths: &[PathBuf]) -> Result<Self, CaptureError> {
        let mut files = Vec::with_capacity(paths.len());
        let mut total = 0;
        for p in paths {
            total += std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
            files.push(FileSource::open(p)?);
        }
        Ok(Files {
            maps: files.iter().map(|f| f.map().cloned()).collect(),
            files,
            current: 0,
            warnings: Vec::new(),
            total,
            done_bytes: 0,
        })
    }
}

impl FrameSource for Files {
    fn next<F: FnMut(Frame<'_>)>(&mut self, mut f: F) -> Result<Step, CaptureError> {
        self.next_mapped(|frame, _| f(frame))
    }

    fn next_mapped<F: FnMut(Frame<'_>, Option<&Arc<Map>>)>(
        &mut self,
        mut f: F,
    ) -> Result<Step, CaptureError> {
        loop {
            let Some(file) = self.files.get_mut(self.current) else {
                return Ok(Step::End);
            };
            match file.next_frame() {
                Ok(Some(frame)) => {
                    f(frame, self.maps.get(self.current).and_then(|m| m.as_ref()));
                    return Ok(Step::Frame);
                }
                Ok(None) => {
                    if let Some(w) = file.warning() {
                        tracing::warn!("{w}");
                        self.warnings.push(w);
                    }
                }
                // A corrupt record (or a read error) ends this file as a cut would: the frames
                // before it were read, the next files still are.
                Err(e) => {
                    let w = format!(
                        "{e}; the frames before it were read, the rest of this file is skipped"
                    );
                    tracing::warn!("{w}");
                    self.warnings.push(w);
                }
            }
            self.done_bytes += file.offset();
            self.current += 1;
        }
    }

    fn is_replay(&self) -> bool {
        true
    }

    fn warnings(&self) -> Vec<String> {
        self.warnings.clone()
    }

    fn total_bytes(&self) -> Option<u64> {
        Some(self.total)
    }

    fn bytes_read(&self) -> u64 {
        self.done_bytes
            + self
                .files
                .get(self.current)
                .map(|f| f.offset())
                .unwrap_or(0)
    }
}

/// Live capture on one interface, as a [`FrameSource`].
pub struct Live(pub crate::capture::live::LiveSource);

/// The most frames a live source hands in one step: the capture loop checks its stop flag and
/// its once-a-second chores between steps, so a step stays short (about 2.5 ms at 100 k
/// packets a second).
pub const LIVE_BATCH: usize = 256;

impl FrameSource for Live {
    /// Every frame waiting in the ring, up to [`LIVE_BATCH`], in one step.
    fn next<F: FnMut(Frame<'_>)>(&mut self, f: F) -> Result<Step, CaptureError> {
        Ok(match self.0.dispatch(LIVE_BATCH, f)? {
            0 => Step::Idle,
            _ => Step::Frame,
        })
    }

    fn is_replay(&self) -> bool {
        false
    }

    fn drops(&mut self) -> Option<(u64, u64)> {
        self.0.stats().ok().map(|s| (s.dropped, s.if_dropped))
    }

    fn set_filter(&mut self, bpf: &str) -> Result<(), CaptureError> {
        self.0.set_filter(bpf)
    }

    fn owns_its_flows(&self) -> bool {
        self.0.fanout().is_some()
    }
}
