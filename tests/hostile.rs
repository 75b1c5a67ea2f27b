//! Hostile input: what a misbehaving peer can do to either side, and what must
//! hold regardless.
//!
//! Client side (the parser and the unmarshaller): an endless line and an
//! endless event over a real socket, failing or skipped per the settings in
//! bounded memory; millions of tiny events; one-byte reads; invalid UTF-8 in
//! every position; NUL bytes; a BOM in the middle of the stream.
//!
//! Server side (`sse-routing`): data that tries to inject fields reaches the
//! client as exactly the data that was sent; event types and ids with line
//! breaks cannot be built; a client that never reads cannot make the server
//! buffer without bound; 10 000 connect/disconnect cycles leak no source, task
//! or file descriptor.
//!
//! # Measuring
//!
//! Memory and file descriptors are process-wide, and the tests of this binary
//! run in parallel, so the tests that measure them run alone in a child
//! process of this same test binary (`support::isolated`): peak memory is the child's
//! `VmHWM` against its `VmRSS` before the test, file descriptors are the
//! entries of `/proc/self/fd`. Where a socket cannot show the parser's buffer,
//! the parser is fed directly and its buffer is measured after every chunk.
//!
//! All traffic is on 127.0.0.1, bounded in size, and every test is bounded in
//! time (`support::within`): a bug fails a test, it never hangs it.

#[path = "hostile/support.rs"]
mod support;

#[path = "hostile/client_side.rs"]
mod client_side;

#[path = "hostile/server_side.rs"]
mod server_side;
