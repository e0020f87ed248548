//! A read-only memory map of a whole capture file, so that frames borrow the page cache instead
//! of being copied out of it by `read(2)`.
//!
//! The map is private and read-only; what the reader has consumed is handed back to the kernel
//! as it goes ([`Map::release_to`], `MADV_DONTNEED`), so the process's resident memory stays
//! at a few MiB however large the file is (the pages stay in the page cache). The pipeline's
//! batches borrow payloads from the map too (shared as `Arc<Map>`); while they are in flight the
//! bytes from their lowest offset on are held ([`Map::hold`]) and not released. Only regular,
//! non-empty files are mapped: a FIFO, standard input or a file that cannot be mapped is read
//! with `read(2)` as before.
//!
//! A file that another program truncates while it is mapped makes the reader fault (SIGBUS) on
//! the pages that are gone; set `DCSENSOR_NO_MMAP=1` when replaying files that may shrink while
//! they are read.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Bytes consumed between two `MADV_DONTNEED` calls (the most the map adds to resident memory).
pub const RELEASE_STEP: usize = 2 << 20;

/// The most bytes behind the reader that [`Map::hold`] keeps mapped: older ones are released
/// all the same (a batch reading them faults them in again from the page cache), so that a
/// slow worker cannot make the map resident whole.
pub const MAX_HELD: usize = 16 << 20;

/// The environment variable that turns mapping off (any value but `0` or empty).
pub const NO_MMAP_ENV: &str = "DCSENSOR_NO_MMAP";

/// A read-only private mapping of a whole file.
pub struct Map {
    ptr: *mut libc::c_void,
    len: usize,
    /// Bytes at the start already given back to the kernel (written by the reader only).
    released: AtomicUsize,
    /// The lowest offset that batches in flight still read (`usize::MAX`: none).
    held: AtomicUsize,
}

// SAFETY: the mapping is read-only and owned by this value alone; nothing else unmaps it.
unsafe impl Send for Map {}
// SAFETY: shared references only read the mapping.
unsafe impl Sync for Map {}

impl Map {
    /// Maps `file` when it is a regular, non-empty file and mapping is not turned off; `None`
    /// means: read it with `read(2)`.
    pub fn of(file: &File) -> Option<Map> {
        if std::env::var_os(NO_MMAP_ENV).is_some_and(|v| !v.is_empty() && v != "0") {
            return None;
        }
        let meta = file.metadata().ok()?;
        if !meta.file_type().is_file() || meta.len() == 0 {
            return None;
        }
        let len = usize::try_from(meta.len()).ok()?;
        // SAFETY: a fresh read-only private mapping of a descriptor we hold; the result is
        // checked against MAP_FAILED before use.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_PRIVATE,
                file.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return None;
        }
        // SAFETY: advice on the range just mapped; failure only loses read-ahead.
        unsafe {
            libc::madvise(ptr, len, libc::MADV_SEQUENTIAL);
        }
        Some(Map {
            ptr,
            len,
            released: AtomicUsize::new(0),
            held: AtomicUsize::new(usize::MAX),
        })
    }

    /// The whole file.
    #[inline]
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: `ptr` maps `len` readable bytes for as long as `self` lives.
        unsafe { std::slice::from_raw_parts(self.ptr as *const u8, self.len) }
    }

    /// Whether `part` lies inside the map, and where: its offset.
    #[inline]
    pub fn offset_of(&self, part: &[u8]) -> Option<usize> {
        let start = (part.as_ptr() as usize).checked_sub(self.ptr as usize)?;
        (start.checked_add(part.len())? <= self.len).then_some(start)
    }

    /// Bytes at the start given back to the kernel so far.
    pub fn released(&self) -> usize {
        self.released.load(Ordering::Relaxed)
    }

    /// The offset held by [`Map::hold`] (`usize::MAX`: none).
    pub fn held(&self) -> usize {
        self.held.load(Ordering::Relaxed)
    }

    /// Keeps the bytes from `offset` on (the lowest that batches in flight read; `usize::MAX`
    /// for none) from being released, up to [`MAX_HELD`] behind the reader.
    #[inline]
    pub fn hold(&self, offset: usize) {
        self.held.store(offset, Ordering::Release);
    }

    /// Gives the pages wholly before `offset` (and before what is held) back to the kernel once
    /// [`RELEASE_STEP`] bytes were consumed since the last time (the reader never looks back
    /// before `offset`; a later access would fault the page in again from the page cache, not
    /// fail).
    #[inline]
    pub fn release_to(&self, offset: usize) {
        let released = self.released.load(Ordering::Relaxed);
        if offset < released + RELEASE_STEP {
            return;
        }
        let page = page_size();
        let held = self
            .held
            .load(Ordering::Acquire)
            .max(offset.saturating_sub(MAX_HELD));
        let upto = offset.min(held).min(self.len) / page * page;
        if upto < released + RELEASE_STEP {
            return;
        }
        // SAFETY: a page-aligned range inside the mapping; MADV_DONTNEED on a private read-only
        // file mapping only drops this process's page table entries (a later read of those
        // bytes faults them in again from the page cache).
        unsafe {
            libc::madvise(
                (self.ptr as *mut u8).add(released) as *mut libc::c_void,
                upto - released,
                libc::MADV_DONTNEED,
            );
        }
        self.released.store(upto, Ordering::Relaxed);
    }
}

impl Drop for Map {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in `of`, once.
        unsafe {
            libc::munmap(self.ptr, self.len);
        }
    }
}

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 {
        p as usize
    } else {
        4096
    }
}
