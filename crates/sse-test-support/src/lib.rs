//! What the workspace's end-to-end tests share, written once: a route
//! served on `127.0.0.1:0`, a bound on anything that should happen
//! promptly, a pacer for tests on tokio's paused clock, and readers of raw
//! HTTP/1.1 bytes.
//!
//! # Sockets on the paused clock
//!
//! A runtime whose clock is paused jumps to its next timer as soon as it
//! has nothing to run, and a runtime waiting on a socket has nothing to
//! run: a timer pending while bytes are in flight on loopback may fire
//! before they land. A test that needs both (a server's idle timeout while
//! its client talks) runs a [`Pacer`], which keeps a 1 ms timer pending, so
//! that the clock moves a millisecond at a time and loopback I/O lands
//! within a few milliseconds of virtual time.

pub mod balancer;
pub mod broker_faults;
pub mod brokers;
pub mod example_process;
pub mod log_conformance;
pub mod proxy;
pub mod tls;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sse_routing::{Route, Server, ServerConfig};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The upper bound on anything that should happen promptly.
pub const LIMIT: Duration = Duration::from_secs(5);

/// Awaits `future`, failing the test if it takes longer than [`LIMIT`].
pub async fn within<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(LIMIT, future).await {
        Ok(output) => output,
        Err(_) => panic!("timed out after {LIMIT:?}: {what}"),
    }
}

/// A route served on `127.0.0.1:0` by [`Server::serve_with_shutdown`] on its
/// own task.
#[derive(Debug)]
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Sends the shutdown signal.
    pub stop: oneshot::Sender<()>,
    /// The serving task; it ends after the signal.
    pub task: JoinHandle<io::Result<()>>,
}

/// Serves `route` with the default configuration until
/// [`TestServer::shutdown`].
pub async fn start(route: Route) -> TestServer {
    start_with(Server::new(route)).await
}

/// Serves `route` with `config`.
pub async fn start_configured(route: Route, config: ServerConfig) -> TestServer {
    start_with(Server::new(route).with_config(config)).await
}

/// Serves `server` until [`TestServer::shutdown`].
pub async fn start_with(server: Server) -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(server.serve_with_shutdown(listener, async {
        let _ = stopped.await;
    }));
    TestServer { addr, stop, task }
}

impl TestServer {
    /// Triggers the shutdown signal; `serve_with_shutdown` must return `Ok`
    /// within [`LIMIT`].
    pub async fn shutdown(self) {
        self.stop.send(()).unwrap();
        within("serve_with_shutdown returns", self.task)
            .await
            .unwrap()
            .unwrap();
    }
}

/// Keeps the paused clock moving a millisecond at a time while it lives;
/// see the crate docs.
#[derive(Debug)]
pub struct Pacer(JoinHandle<()>);

/// Starts a [`Pacer`] on the current runtime.
pub fn pace_clock() -> Pacer {
    Pacer(tokio::spawn(async {
        loop {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }))
}

impl Drop for Pacer {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Counts what is alive of the things that hold one of its guards: the
/// sources of event streams, to see them dropped when their client leaves.
#[derive(Debug, Clone, Default)]
pub struct Live(Arc<AtomicUsize>);

/// Counted by its [`Live`] until dropped.
#[derive(Debug)]
pub struct LiveGuard(Arc<AtomicUsize>);

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Live {
    /// A guard counted until it is dropped: move it into a source.
    pub fn guard(&self) -> LiveGuard {
        self.0.fetch_add(1, Ordering::SeqCst);
        LiveGuard(Arc::clone(&self.0))
    }

    /// How many guards are alive.
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }

    /// Waits until `n` guards are alive, within [`LIMIT`].
    pub async fn wait_for(&self, n: usize, what: &str) {
        self.wait_for_within(n, LIMIT, what).await;
    }

    /// Waits until `n` guards are alive, within `limit` (on the paused
    /// clock, a limit of virtual time).
    pub async fn wait_for_within(&self, n: usize, limit: Duration, what: &str) {
        let polled = async {
            while self.count() != n {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        if tokio::time::timeout(limit, polled).await.is_err() {
            panic!("{what}: {} alive, not {n}, after {limit:?}", self.count());
        }
    }
}

/// Everything the server sends until it closes the connection, within
/// [`LIMIT`]. A reset after some bytes ends the read like a close.
pub async fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut wire = Vec::new();
    let mut buf = [0; 4096];
    within("the server closes the connection", async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => wire.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    wire
}

/// Reads until `wire` contains `needle`, within [`LIMIT`].
pub async fn read_until(stream: &mut TcpStream, wire: &mut Vec<u8>, needle: &[u8]) {
    let mut buf = [0; 4096];
    within("the expected bytes arrive", async {
        while find(wire, needle).is_none() {
            let n = stream.read(&mut buf).await.unwrap();
            assert!(
                n > 0,
                "closed early after {:?}",
                String::from_utf8_lossy(wire)
            );
            wire.extend_from_slice(&buf[..n]);
        }
    })
    .await;
}

/// Where `needle` starts in `haystack`.
pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// `wire` with its `date: ...` lines removed (they change every second).
pub fn without_dates(wire: &str) -> String {
    wire.split("\r\n")
        .filter(|line| !line.to_ascii_lowercase().starts_with("date: "))
        .collect::<Vec<_>>()
        .join("\r\n")
}

/// The payload of a complete chunked body, decoded strictly: chunks, the
/// last chunk, no trailers, nothing after. Panics on anything else.
pub fn dechunk(mut wire: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let line_end = find(wire, b"\r\n").expect("a chunk size line");
        let size = std::str::from_utf8(&wire[..line_end]).unwrap();
        let size = usize::from_str_radix(size, 16).expect("a hex chunk size");
        wire = &wire[line_end + 2..];
        if size == 0 {
            assert_eq!(wire, b"\r\n", "the last chunk ends the body");
            return body;
        }
        body.extend_from_slice(&wire[..size]);
        assert_eq!(&wire[size..size + 2], b"\r\n", "a chunk ends with CRLF");
        wire = &wire[size + 2..];
    }
}
