//! A global allocator that counts live bytes, for the memory workload.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicUsize, Ordering};

/// Wraps [`System`] and, while enabled, counts the bytes requested minus the
/// bytes freed (Rust-level sizes; malloc's own headers and rounding are not
/// included) and the number of allocations.
///
/// Counting is off by default so that the timed workloads pay one relaxed
/// load per allocation and no shared-counter contention. Frees of blocks
/// allocated before counting was enabled are subtracted too, so the live
/// count may go below zero: only deltas taken within one enabled window mean
/// anything.
///
/// Install it in a binary with
/// `#[global_allocator] static ALLOC: CountingAlloc = CountingAlloc::new();`.
pub struct CountingAlloc {
    enabled: AtomicBool,
    live: AtomicIsize,
    allocations: AtomicUsize,
}

impl CountingAlloc {
    /// A disabled counter at zero.
    pub const fn new() -> CountingAlloc {
        CountingAlloc {
            enabled: AtomicBool::new(false),
            live: AtomicIsize::new(0),
            allocations: AtomicUsize::new(0),
        }
    }

    /// Starts or stops counting.
    pub fn set_enabled(&self, enabled: bool) {
        self.enabled.store(enabled, Ordering::SeqCst);
    }

    /// Live bytes counted so far (may be negative, see the type docs).
    pub fn live_bytes(&self) -> isize {
        self.live.load(Ordering::SeqCst)
    }

    /// Allocations counted so far (reallocations not included).
    pub fn allocations(&self) -> usize {
        self.allocations.load(Ordering::SeqCst)
    }

    fn on_alloc(&self, size: usize) {
        if self.enabled.load(Ordering::Relaxed) {
            self.live.fetch_add(size as isize, Ordering::Relaxed);
            self.allocations.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn on_dealloc(&self, size: usize) {
        if self.enabled.load(Ordering::Relaxed) {
            self.live.fetch_sub(size as isize, Ordering::Relaxed);
        }
    }
}

impl Default for CountingAlloc {
    fn default() -> CountingAlloc {
        CountingAlloc::new()
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged; the counting touches only atomics and never allocates.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded contract.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            self.on_alloc(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded contract.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            self.on_alloc(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded contract.
        unsafe { System.dealloc(ptr, layout) };
        self.on_dealloc(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded contract.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() && self.enabled.load(Ordering::Relaxed) {
            let delta = new_size as isize - layout.size() as isize;
            self.live.fetch_add(delta, Ordering::Relaxed);
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_only_while_enabled() {
        let counter = CountingAlloc::new();
        let layout = Layout::from_size_align(48, 8).unwrap();
        // SAFETY: layouts are non-zero and each pointer is freed with its layout.
        unsafe {
            let before = counter.alloc(layout);
            counter.set_enabled(true);
            let a = counter.alloc(layout);
            let b = counter.alloc_zeroed(layout);
            assert_eq!(counter.live_bytes(), 96);
            assert_eq!(counter.allocations(), 2);
            let b = counter.realloc(b, layout, 100);
            assert_eq!(counter.live_bytes(), 148);
            counter.dealloc(a, layout);
            counter.dealloc(b, Layout::from_size_align(100, 8).unwrap());
            assert_eq!(counter.live_bytes(), 0);
            // A block from before the window is subtracted too.
            counter.dealloc(before, layout);
            assert_eq!(counter.live_bytes(), -48);
            counter.set_enabled(false);
            let c = counter.alloc(layout);
            counter.dealloc(c, layout);
            assert_eq!(counter.live_bytes(), -48);
            assert_eq!(counter.allocations(), 2);
        }
    }
}
