//! The accept loop: a route served on a TCP listener with a
//! [`ServerConfig`], a connection limit, and graceful shutdown.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::connection::{self, Shared};
use crate::{Route, ServerConfig};

/// A route with the configuration to serve it: HTTP/1.1, and HTTP/2 over
/// cleartext (prior knowledge), on every connection of a `TcpListener`.
///
/// HTTP/1.1 requests without a body, which is every event stream request,
/// go through this crate's direct writer, which holds no buffer while a
/// response streams (see [`ServerConfig::with_direct_http1`]); hyper serves
/// the rest. Every wait a client can cause is bounded by the
/// [`ServerConfig`].
///
/// ```no_run
/// use sse_routing::{path, Server, ServerConfig};
///
/// # async fn run() -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
/// Server::new(path("").get().complete("hello"))
///     .with_config(ServerConfig::new().with_max_connections(Some(50_000)))
///     .serve_with_shutdown(listener, async {
///         let _ = tokio::signal::ctrl_c().await;
///     })
///     .await
/// # }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a server does nothing until `serve` or `serve_with_shutdown` is awaited"]
pub struct Server {
    route: Route,
    config: ServerConfig,
    #[cfg(feature = "tls")]
    tls: Option<crate::TlsConfig>,
}

impl Server {
    /// A server of `route` with the default [`ServerConfig`].
    pub fn new(route: Route) -> Self {
        Server {
            route,
            config: ServerConfig::default(),
            #[cfg(feature = "tls")]
            tls: None,
        }
    }

    /// Replaces the configuration.
    pub fn with_config(mut self, config: ServerConfig) -> Self {
        self.config = config;
        self
    }

    /// The configuration in effect.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// Serves HTTPS instead of cleartext (feature `tls`): every connection
    /// starts with a TLS handshake, which the
    /// [first-byte timeout](ServerConfig::with_first_byte_timeout) bounds,
    /// and speaks the HTTP its ALPN chose: HTTP/2, where every event stream
    /// of a page shares one connection, or HTTP/1.1. hyper serves both; the
    /// direct HTTP/1.1 writer is for cleartext (where a proxy in front
    /// terminates TLS). A failed handshake closes that connection only.
    ///
    /// ```
    /// use sse_routing::{path, Server, TlsConfig};
    ///
    /// let generated = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    /// let tls = TlsConfig::from_pem(
    ///     generated.cert.pem().as_bytes(),
    ///     generated.key_pair.serialize_pem().as_bytes(),
    /// )
    /// .unwrap();
    /// let server = Server::new(path("").get().complete("hello")).with_tls(tls);
    /// # drop(server);
    /// ```
    #[cfg(feature = "tls")]
    pub fn with_tls(mut self, tls: crate::TlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Serves until the process ends.
    pub async fn serve(self, listener: TcpListener) -> io::Result<()> {
        self.serve_with_shutdown(listener, std::future::pending())
            .await
    }

    /// Serves until `signal` completes, then shuts down gracefully: it stops
    /// accepting, ends every open event stream (cleanly, so its client
    /// reconnects, to another instance if there is one), lets the
    /// connections finish their responses, closes those still busy after
    /// the [grace period](ServerConfig::with_shutdown_grace), and returns.
    ///
    /// A client that disconnects has its response dropped at once, event
    /// stream source included, as soon as the connection notices (a closed
    /// socket is seen on the next read or write; a heartbeat guarantees a
    /// write).
    pub async fn serve_with_shutdown<F>(self, listener: TcpListener, signal: F) -> io::Result<()>
    where
        F: Future<Output = ()> + Send,
    {
        let slots = self
            .config
            .max_connections
            .map(|max| Arc::new(Semaphore::new(max.min(Semaphore::MAX_PERMITS))));
        let shared = Arc::new(Shared {
            route: self.route,
            config: self.config,
            shutdown: CancellationToken::new(),
            #[cfg(feature = "tls")]
            tls: self.tls,
        });
        let connections = TaskTracker::new();
        let mut signal = std::pin::pin!(signal);
        let mut backoff = AcceptBackoff::default();
        loop {
            // At the limit, wait for a connection to close before accepting:
            // new clients wait in the accept queue meanwhile.
            let slot = match &slots {
                None => None,
                Some(slots) => tokio::select! {
                    slot = Arc::clone(slots).acquire_owned() => match slot {
                        Ok(slot) => Some(slot),
                        Err(_closed) => break,
                    },
                    () = &mut signal => break,
                },
            };
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                () = &mut signal => break,
            };
            match accepted {
                Ok((stream, _peer)) => {
                    backoff.reset();
                    // Events are small writes that must go out at once.
                    let _ = stream.set_nodelay(true);
                    connections.spawn(connection::serve(stream, Arc::clone(&shared), slot));
                }
                Err(error) => {
                    let wait = backoff.next(&error);
                    tokio::select! {
                        () = tokio::time::sleep(wait) => {}
                        () = &mut signal => break,
                    }
                }
            }
        }
        drop(listener);
        tracing::debug!("shutting down: ending open responses");
        shared.shutdown.cancel();
        connections.close();
        connections.wait().await;
        Ok(())
    }
}

/// How long to wait after a failed accept. Out of file descriptors (or
/// memory), every accept fails at once until a connection closes: trying
/// again without a pause would spin a core. The pause doubles while the
/// failures last, up to a second, so a lasting shortage costs one attempt a
/// second and a passing one only a few milliseconds.
#[derive(Debug)]
struct AcceptBackoff {
    wait: Duration,
}

const FIRST_ACCEPT_BACKOFF: Duration = Duration::from_millis(5);
const MAX_ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

impl Default for AcceptBackoff {
    fn default() -> Self {
        AcceptBackoff {
            wait: FIRST_ACCEPT_BACKOFF,
        }
    }
}

impl AcceptBackoff {
    fn reset(&mut self) {
        self.wait = FIRST_ACCEPT_BACKOFF;
    }

    fn next(&mut self, error: &io::Error) -> Duration {
        // A client that gave up before it was accepted says nothing about
        // the server: go on at once.
        if matches!(
            error.kind(),
            io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
        ) {
            tracing::debug!(%error, "a connection went away before it was accepted");
            return Duration::ZERO;
        }
        let wait = self.wait;
        if wait == FIRST_ACCEPT_BACKOFF {
            tracing::warn!(%error, "accepting a connection failed; trying again with a pause");
        }
        self.wait = (wait * 2).min(MAX_ACCEPT_BACKOFF);
        wait
    }
}

/// Serves `route` on `listener` until the process ends, with the default
/// [`ServerConfig`]: `Server::new(route).serve(listener)`.
///
/// ```no_run
/// use sse_routing::{path, serve};
///
/// # async fn run() -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
/// serve(listener, path("").get().complete("hello")).await
/// # }
/// ```
pub async fn serve(listener: TcpListener, route: Route) -> io::Result<()> {
    Server::new(route).serve(listener).await
}

/// Serves `route` on `listener` until `signal` completes, then shuts down
/// gracefully, with the default [`ServerConfig`]:
/// `Server::new(route).serve_with_shutdown(listener, signal)`; see
/// [`Server::serve_with_shutdown`].
pub async fn serve_with_shutdown<F>(
    listener: TcpListener,
    route: Route,
    signal: F,
) -> io::Result<()>
where
    F: Future<Output = ()> + Send,
{
    Server::new(route)
        .serve_with_shutdown(listener, signal)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpStream;

    /// Every open connection is one task of this size: a future that grows
    /// (a buffer held across an `await`) costs that much per open stream.
    /// The load test remains the real measure (see `connection::serve`).
    #[tokio::test]
    async fn a_connection_task_stays_small() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let _client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (stream, _) = listener.accept().await.unwrap();
        let shared = Arc::new(Shared {
            route: crate::path("").get().complete("hello"),
            config: ServerConfig::default(),
            shutdown: CancellationToken::new(),
            #[cfg(feature = "tls")]
            tls: None,
        });
        let task = connection::serve(stream, shared, None);
        let size = std::mem::size_of_val(&task);
        assert!(size < 4 * 1024, "a connection task takes {size} bytes");
    }

    #[test]
    fn accept_failures_back_off_up_to_a_second_and_aborted_clients_do_not() {
        let mut backoff = AcceptBackoff::default();
        let exhausted = io::Error::other("too many open files");
        let waits: Vec<Duration> = (0..12).map(|_| backoff.next(&exhausted)).collect();
        assert_eq!(waits[0], FIRST_ACCEPT_BACKOFF);
        assert!(waits.windows(2).all(|w| w[1] >= w[0]));
        assert_eq!(waits[11], MAX_ACCEPT_BACKOFF);
        let aborted = io::Error::from(io::ErrorKind::ConnectionAborted);
        assert_eq!(backoff.next(&aborted), Duration::ZERO);
        backoff.reset();
        assert_eq!(backoff.next(&exhausted), FIRST_ACCEPT_BACKOFF);
    }
}
