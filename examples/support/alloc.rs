//! Allocator set-up shared by the examples and benches (not by the library: the binary picks
//! its allocator).
//!
//! Tensor buffers of a training step are tens of MB each. glibc (and mimalloc's defaults) hand
//! such buffers back to the kernel when they are freed, so every step page-faults and zeroes
//! them again: ~15–20 % of a QM9-shape training step went to `clear_page` in the kernel
//! (docs/performance.md). mimalloc with purging disabled keeps freed memory for reuse.

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_arena_eager_commit` in mimalloc v3's `mi_option_e` (libmimalloc-sys 0.1.49).
const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
/// `mi_option_purge_delay` in mimalloc v3's `mi_option_e` (libmimalloc-sys 0.1.49).
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Keep freed memory mapped (no purging) and commit arenas eagerly.
pub fn keep_freed_memory() {
    // SAFETY: plain option setters of the global allocator, valid at any time.
    unsafe {
        libmimalloc_sys::mi_option_set(PURGE_DELAY, -1);
        libmimalloc_sys::mi_option_set(ARENA_EAGER_COMMIT, 1);
    }
}
