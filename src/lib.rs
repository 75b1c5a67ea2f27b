//! Examples and end-to-end tests of the SSE toolkit.
//!
//! This package only owns the workspace's top-level `examples/` and `tests/`;
//! the toolkit itself lives in the crates under `crates/`.

// The README's snippets are compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
