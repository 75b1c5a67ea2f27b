//! The counting global allocator of `allocations.rs`. Only that bench
//! binary counts: the atomic additions it makes per allocation would slow
//! the allocation-heavy crates down in the timed benchmarks.

use std::alloc::System;

use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Heap allocator calls that can allocate (`alloc` and `realloc`) while `f`
/// runs, and what `f` returned.
pub(crate) fn count_allocations<T>(f: impl FnOnce() -> T) -> (u64, T) {
    let region = Region::new(GLOBAL);
    let out = f();
    let change = region.change();
    ((change.allocations + change.reallocations) as u64, out)
}
