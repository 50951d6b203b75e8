//! Process-wide allocator settings for training.
//!
//! glibc's malloc serves every block of 128 KiB or more with a fresh `mmap`
//! and returns it to the kernel on `free`. A training step allocates and
//! frees hundreds of activation and gradient buffers of that size, so each
//! one was mapped, page-faulted on first touch and unmapped again, every
//! phase of every iteration. Raising the mmap threshold to 32 MiB and the
//! trim threshold to its maximum keeps those buffers in the heap for reuse.
//! This is what `MALLOC_MMAP_THRESHOLD_` / `MALLOC_TRIM_THRESHOLD_` would
//! do, set from inside the program so users need not know about them.

/// Blocks up to this size are served from the heap instead of `mmap`.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: i32 = 32 * 1024 * 1024;

/// Tunes the allocator for training; call once at start-up, before the
/// first tensor. A no-op where the allocator is not glibc's.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes malloc's tuning parameters; it is called
    // at start-up with valid parameter codes and values.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
    }
}
