//! A counting global allocator shared by the tests that measure heap use.
//!
//! Including this module installs it (`#[global_allocator]`): every test binary does,
//! through `tests/support/mod.rs` (`crate::support::counting_alloc`), and the
//! benches' peak-memory test includes it by path. It delegates every
//! call to the system allocator and keeps
//! - a per-thread count of allocations ([`allocations_during`]), so tests running in
//!   parallel do not disturb each other's zero-allocation checks;
//! - the live heap bytes of the whole process and their high-water mark ([`live`],
//!   [`peak`], [`reset_peak`]), for memory bounds. A `realloc` counts old and new
//!   blocks as live at once, as they are when the block moves.

#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn allocated(bytes: usize) {
    ALLOCATIONS.with(|c| c.set(c.get() + 1));
    let now = LIVE.fetch_add(bytes, Ordering::SeqCst) + bytes;
    PEAK.fetch_max(now, Ordering::SeqCst);
}

fn freed(bytes: usize) {
    LIVE.fetch_sub(bytes, Ordering::SeqCst);
}

// Delegates every call to `System` unchanged; only the counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            allocated(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            allocated(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        freed(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            allocated(new_size);
            freed(layout.size());
        }
        new
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// How many allocations (and reallocations) this thread made while running `f`.
pub fn allocations_during<T>(f: impl FnOnce() -> T) -> (usize, T) {
    let before = ALLOCATIONS.with(Cell::get);
    let out = f();
    (ALLOCATIONS.with(Cell::get) - before, out)
}

/// Live heap bytes of the process now.
pub fn live() -> usize {
    LIVE.load(Ordering::SeqCst)
}

/// The highest [`live`] value since the last [`reset_peak`].
pub fn peak() -> usize {
    PEAK.load(Ordering::SeqCst)
}

/// Starts a new peak measurement; returns the live bytes it starts from.
pub fn reset_peak() -> usize {
    let now = live();
    PEAK.store(now, Ordering::SeqCst);
    now
}

/// Peak live bytes above the level at the start of `f`.
pub fn peak_during<T>(f: impl FnOnce() -> T) -> (usize, T) {
    let base = reset_peak();
    let out = f();
    (peak() - base, out)
}
