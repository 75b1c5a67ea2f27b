//! What a server allows its clients: timeouts, limits and the choice of
//! HTTP/1.1 path, as one plain value.

use std::time::Duration;

/// How a [`Server`](crate::Server) treats its connections. Every default is
/// chosen so that idle, silent or hostile clients cannot exhaust the server;
/// a timeout set to `None` never fires.
///
/// | setting | default | what happens beyond it |
/// |---|---|---|
/// | [`first_byte_timeout`](Self::with_first_byte_timeout) | 30 s | a new connection that has sent nothing is closed |
/// | [`idle_timeout`](Self::with_idle_timeout) | 30 s | a kept-alive HTTP/1.1 connection between requests, or an HTTP/2 connection without an open stream, is closed (HTTP/2: `GOAWAY` first) |
/// | [`head_timeout`](Self::with_head_timeout) | 30 s | a request head still incomplete this long after its first byte gets `408` |
/// | [`max_head_size`](Self::with_max_head_size) | 64 KiB | `431`, or `414` when the request line alone is that long |
/// | [`max_headers`](Self::with_max_headers) | 100 | `431` |
/// | [`request_body_timeout`](Self::with_request_body_timeout) | 30 s | a request body that sends nothing this long fails, and the connection closes |
/// | [`write_timeout`](Self::with_write_timeout) | 60 s | a connection whose client accepts no bytes this long (it stopped reading) is closed, its event stream's source dropped |
/// | [`max_connections`](Self::with_max_connections) | none | the server stops accepting until a connection closes |
/// | [`http2_keep_alive`](Self::with_http2_keep_alive) | ping every 20 s, 20 s to answer | an HTTP/2 connection that does not answer a ping is closed |
/// | [`http2_max_concurrent_streams`](Self::with_http2_max_concurrent_streams) | 200 | further streams on the connection are refused until one closes |
/// | [`shutdown_grace`](Self::with_shutdown_grace) | 10 s | connections still busy this long after the shutdown signal are closed |
/// | [`direct_http1`](Self::with_direct_http1) | on | off: hyper serves every request |
///
/// After the head of a request whose response streams (an event stream), a
/// client may send at most 4 KiB more before the connection is closed: a
/// client that talks while it listens is not buffered without bound.
///
/// ```
/// use std::time::Duration;
/// use sse_routing::{path, Server, ServerConfig};
///
/// let config = ServerConfig::new()
///     .with_max_connections(Some(10_000))
///     .with_write_timeout(Some(Duration::from_secs(120)));
/// let server = Server::new(path("").get().complete("hello")).with_config(config);
/// # drop(server);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct ServerConfig {
    pub(crate) first_byte_timeout: Option<Duration>,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) head_timeout: Option<Duration>,
    pub(crate) max_head_size: usize,
    pub(crate) max_headers: usize,
    pub(crate) request_body_timeout: Option<Duration>,
    pub(crate) write_timeout: Option<Duration>,
    pub(crate) max_connections: Option<usize>,
    pub(crate) http2_keep_alive_interval: Option<Duration>,
    pub(crate) http2_keep_alive_timeout: Duration,
    pub(crate) http2_max_concurrent_streams: u32,
    pub(crate) shutdown_grace: Duration,
    pub(crate) direct_http1: bool,
}

/// The smallest head limit: hyper's HTTP/1.1 buffer cannot be smaller, and
/// no browser request fits in less.
pub(crate) const MIN_HEAD_SIZE: usize = 8 * 1024;

/// What a client may send past a request head while its response is
/// written: a streaming response closes the connection beyond it, a
/// response of known length stops reading.
pub(crate) const MAX_READ_AHEAD: usize = 4 * 1024;

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            first_byte_timeout: Some(Duration::from_secs(30)),
            idle_timeout: Some(Duration::from_secs(30)),
            head_timeout: Some(Duration::from_secs(30)),
            max_head_size: 64 * 1024,
            max_headers: 100,
            request_body_timeout: Some(Duration::from_secs(30)),
            write_timeout: Some(Duration::from_secs(60)),
            max_connections: None,
            http2_keep_alive_interval: Some(Duration::from_secs(20)),
            http2_keep_alive_timeout: Duration::from_secs(20),
            http2_max_concurrent_streams: 200,
            shutdown_grace: Duration::from_secs(10),
            direct_http1: true,
        }
    }
}

impl ServerConfig {
    /// The defaults of the table above.
    pub fn new() -> Self {
        ServerConfig::default()
    }

    /// How long a new connection may stay silent before its first byte (over
    /// TLS: before its handshake completes). Browsers open connections
    /// ahead of need and use them within seconds.
    pub fn with_first_byte_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.first_byte_timeout = timeout;
        self
    }

    /// How long a connection may wait for its next request: an HTTP/1.1
    /// connection kept alive after a response, an HTTP/2 connection with no
    /// open stream. An open event stream is never idle.
    ///
    /// Where hyper reads the requests (requests with a body, or
    /// [`with_direct_http1(false)`](Self::with_direct_http1)), its HTTP/1.1
    /// timer for a head starts as soon as the connection waits for one, so
    /// an idle connection there is closed after the shorter of this and the
    /// [head timeout](Self::with_head_timeout).
    pub fn with_idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// How long a request head may take from its first byte to its end; a
    /// client that trickles a head in gets `408 Request Timeout`.
    pub fn with_head_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.head_timeout = timeout;
        self
    }

    /// The largest request head, request line and fields together, in
    /// bytes (at least 8 KiB; smaller values are raised to it). Beyond it:
    /// `431 Request Header Fields Too Large`, or `414 URI Too Long` when the
    /// request line has not even ended.
    pub fn with_max_head_size(mut self, bytes: usize) -> Self {
        self.max_head_size = bytes.max(MIN_HEAD_SIZE);
        self
    }

    /// The most header fields a request may have (`431` beyond).
    pub fn with_max_headers(mut self, count: usize) -> Self {
        self.max_headers = count;
        self
    }

    /// How long a request body may go without sending anything. A body
    /// that stalls fails with an error the handler sees (for example from
    /// [`RequestContext::body_bytes`](crate::RequestContext::body_bytes)),
    /// and the connection closes after the response.
    pub fn with_request_body_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.request_body_timeout = timeout;
        self
    }

    /// How long a write may wait for the client to accept bytes. An event
    /// stream to a client that stopped reading keeps its memory bounded (the
    /// source is not polled while the socket is full), but without this it
    /// would hold its connection until shutdown. Heartbeats make sure a
    /// stalled stream is noticed even when no events flow.
    pub fn with_write_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.write_timeout = timeout;
        self
    }

    /// The most connections open at once. At the limit the server stops
    /// accepting: new clients wait in the kernel's accept queue (their
    /// connection is established, their request unanswered) and are served
    /// in order as connections close, rather than being refused and
    /// retrying all at once. Idle connections are closed by the
    /// [idle timeout](Self::with_idle_timeout), so the queue moves.
    ///
    /// Without a limit, the operating system's limit on open files is the
    /// limit: when accepting fails for it, the server waits a little and
    /// tries again, serving the connections it has meanwhile.
    pub fn with_max_connections(mut self, max: Option<usize>) -> Self {
        self.max_connections = max;
        self
    }

    /// HTTP/2 keep-alive: a `PING` after `interval` without a frame from the
    /// client, and the connection closed if its answer takes longer than
    /// `timeout`. `None` sends no pings.
    pub fn with_http2_keep_alive(mut self, interval: Option<Duration>, timeout: Duration) -> Self {
        self.http2_keep_alive_interval = interval;
        self.http2_keep_alive_timeout = timeout;
        self
    }

    /// The most streams (requests, event streams among them) one HTTP/2
    /// connection may have open at once; a client opening more has them
    /// refused (`REFUSED_STREAM`) and retries them when one closes.
    pub fn with_http2_max_concurrent_streams(mut self, max: u32) -> Self {
        self.http2_max_concurrent_streams = max;
        self
    }

    /// How long connections may take to finish after the shutdown signal.
    /// Event streams end at once; a response to a client that stopped
    /// reading could otherwise keep the server from returning.
    pub fn with_shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    /// Whether HTTP/1.1 requests without a body, every event stream request
    /// among them, are answered by this crate's direct writer (the default)
    /// or by hyper.
    ///
    /// The direct writer holds no buffer while a response streams and
    /// writes each frame straight to the socket, so an open event stream
    /// costs about a quarter of the memory of hyper's HTTP/1.1 connection
    /// (see `BENCHMARKS.md`). Requests with a body, upgrades,
    /// `Expect: 100-continue` and HTTP/2 are hyper's either way. Turn it off
    /// to have hyper, and only hyper, read every request.
    pub fn with_direct_http1(mut self, enabled: bool) -> Self {
        self.direct_http1 = enabled;
        self
    }

    /// See [`with_first_byte_timeout`](Self::with_first_byte_timeout).
    pub fn first_byte_timeout(&self) -> Option<Duration> {
        self.first_byte_timeout
    }

    /// See [`with_idle_timeout`](Self::with_idle_timeout).
    pub fn idle_timeout(&self) -> Option<Duration> {
        self.idle_timeout
    }

    /// See [`with_head_timeout`](Self::with_head_timeout).
    pub fn head_timeout(&self) -> Option<Duration> {
        self.head_timeout
    }

    /// See [`with_max_head_size`](Self::with_max_head_size).
    pub fn max_head_size(&self) -> usize {
        self.max_head_size
    }

    /// See [`with_max_headers`](Self::with_max_headers).
    pub fn max_headers(&self) -> usize {
        self.max_headers
    }

    /// See [`with_request_body_timeout`](Self::with_request_body_timeout).
    pub fn request_body_timeout(&self) -> Option<Duration> {
        self.request_body_timeout
    }

    /// See [`with_write_timeout`](Self::with_write_timeout).
    pub fn write_timeout(&self) -> Option<Duration> {
        self.write_timeout
    }

    /// See [`with_max_connections`](Self::with_max_connections).
    pub fn max_connections(&self) -> Option<usize> {
        self.max_connections
    }

    /// The HTTP/2 ping interval and answer timeout; see
    /// [`with_http2_keep_alive`](Self::with_http2_keep_alive).
    pub fn http2_keep_alive(&self) -> (Option<Duration>, Duration) {
        (
            self.http2_keep_alive_interval,
            self.http2_keep_alive_timeout,
        )
    }

    /// See [`with_http2_max_concurrent_streams`](Self::with_http2_max_concurrent_streams).
    pub fn http2_max_concurrent_streams(&self) -> u32 {
        self.http2_max_concurrent_streams
    }

    /// See [`with_shutdown_grace`](Self::with_shutdown_grace).
    pub fn shutdown_grace(&self) -> Duration {
        self.shutdown_grace
    }

    /// See [`with_direct_http1`](Self::with_direct_http1).
    pub fn direct_http1(&self) -> bool {
        self.direct_http1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_bound_every_wait_and_head_limits_have_a_floor() {
        let config = ServerConfig::new();
        for timeout in [
            config.first_byte_timeout(),
            config.idle_timeout(),
            config.head_timeout(),
            config.request_body_timeout(),
        ] {
            let timeout = timeout.expect("on by default");
            assert!(timeout <= Duration::from_secs(30), "{timeout:?}");
        }
        assert!(config.write_timeout().is_some());
        assert!(config.http2_keep_alive().0.is_some());
        assert_eq!(config.max_head_size(), 64 * 1024);
        assert_eq!(config.with_max_head_size(10).max_head_size(), MIN_HEAD_SIZE);
    }
}
