//! End-to-end tests of `sse-routing` over real sockets: a route served by
//! `serve_with_shutdown` on `127.0.0.1:0`, and real clients (hyper's HTTP/1.1
//! and HTTP/2 client connections, and a plain `TcpStream` for the exact bytes
//! on the wire).
//!
//! # Timing
//!
//! Every test here does real socket IO, so every test runs on the real clock.
//! tokio's paused clock auto-advances whenever the runtime is idle, and a
//! runtime waiting on a socket *is* idle: a `timeout` could fire early, long
//! before the peer had a chance to answer. So nothing here waits for time to
//! pass. `tokio::time::timeout` ([`within`]) is only an upper bound (5 s) on
//! something that should happen promptly, so that a bug fails the test instead
//! of hanging it; each test finishes in milliseconds. The keep-alive timings
//! themselves are checked on the paused clock, without sockets, in
//! `tests/clock.rs` and `crates/sse-marshal/tests/keep_alive.rs`.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{stream, Stream, StreamExt};
use http::header::{ALLOW, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, HOST};
use http::{Method, Request, Response, StatusCode, Version};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use sse_marshal::{EventSource, EventStreamExt, Unmarshal};
use sse_model::{EventId, EventType, ServerSentEvent};
use sse_routing::{path, path_prefix, Route};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::Instant;

use sse_test_support::{dechunk, find, start_configured, within, TestServer};

/// Serves `route` with the configuration of the test binary that includes
/// this file.
async fn start(route: Route) -> TestServer {
    start_configured(route, crate::config()).await
}

// ---------------------------------------------------------------------------
// Sources that report being dropped
// ---------------------------------------------------------------------------

/// Hands out drop guards and counts the sources they belong to.
#[derive(Clone)]
struct Tracker {
    created: Arc<AtomicUsize>,
    dropped: mpsc::UnboundedSender<()>,
}

/// The receiving side of a [`Tracker`].
struct Drops {
    created: Arc<AtomicUsize>,
    dropped: mpsc::UnboundedReceiver<()>,
}

fn tracker() -> (Tracker, Drops) {
    let created = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = mpsc::unbounded_channel();
    (
        Tracker {
            created: Arc::clone(&created),
            dropped: tx,
        },
        Drops {
            created,
            dropped: rx,
        },
    )
}

impl Tracker {
    fn guard(&self) -> DropGuard {
        self.created.fetch_add(1, Ordering::SeqCst);
        DropGuard(self.dropped.clone())
    }

    /// A source that yields `first` and then stays open forever, and reports
    /// when it is dropped.
    fn endless(&self, first: &[&str]) -> impl Stream<Item = ServerSentEvent> + Send + 'static {
        let first: Vec<ServerSentEvent> = first.iter().map(|d| ServerSentEvent::new(*d)).collect();
        Guarded {
            inner: Box::pin(stream::iter(first).chain(stream::pending())),
            _guard: self.guard(),
        }
    }
}

impl Drops {
    fn created(&self) -> usize {
        self.created.load(Ordering::SeqCst)
    }

    /// How many sources have been dropped so far, without waiting.
    fn dropped_now(&mut self) -> usize {
        let mut n = 0;
        while self.dropped.try_recv().is_ok() {
            n += 1;
        }
        n
    }

    /// Waits (at most [`LIMIT`]) for `n` sources to be dropped.
    async fn wait_dropped(&mut self, n: usize, what: &str) {
        within(what, async {
            for _ in 0..n {
                self.dropped.recv().await.expect("the tracker is alive");
            }
        })
        .await;
    }
}

/// Sends one message when dropped.
struct DropGuard(mpsc::UnboundedSender<()>);

impl Drop for DropGuard {
    fn drop(&mut self) {
        let _ = self.0.send(());
    }
}

/// A stream with a [`DropGuard`]: dropping the stream drops the guard.
struct Guarded<S> {
    inner: Pin<Box<S>>,
    _guard: DropGuard,
}

impl<S: Stream> Stream for Guarded<S> {
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

// ---------------------------------------------------------------------------
// Clients
// ---------------------------------------------------------------------------

/// One request on a fresh HTTP/1.1 connection (hyper's client connection);
/// the connection lives until the response body is done or dropped.
async fn h1_send(
    addr: SocketAddr,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: &'static str,
) -> Response<Incoming> {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header(HOST, addr.to_string());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Full::new(Bytes::from_static(body.as_bytes())));
    within("the response head", sender.send_request(request.unwrap()))
        .await
        .unwrap()
}

async fn h1_get(addr: SocketAddr, path: &str) -> Response<Incoming> {
    h1_send(addr, Method::GET, path, &[], "").await
}

/// An HTTP/2 cleartext (prior knowledge) client connection.
async fn h2_connect(addr: SocketAddr) -> hyper::client::conn::http2::SendRequest<Full<Bytes>> {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(connection);
    sender
}

async fn h2_get(
    sender: &mut hyper::client::conn::http2::SendRequest<Full<Bytes>>,
    addr: SocketAddr,
    path: &str,
) -> Response<Incoming> {
    let request = Request::get(format!("http://{addr}{path}"))
        .body(Full::new(Bytes::new()))
        .unwrap();
    within("the HTTP/2 response head", sender.send_request(request))
        .await
        .unwrap()
}

async fn text(response: Response<Incoming>) -> String {
    let body = within("the whole body", response.into_body().collect())
        .await
        .unwrap()
        .to_bytes();
    String::from_utf8(body.to_vec()).unwrap()
}

async fn event_source(response: Response<Incoming>) -> EventSource {
    Unmarshal::new(response)
        .to::<EventSource>()
        .await
        .expect("a text/event-stream response")
}

/// Every event of the response, until its stream ends.
async fn all_events(response: Response<Incoming>) -> Vec<ServerSentEvent> {
    let events = event_source(response).await;
    within(
        "the event stream ends",
        events.map(|event| event.expect("no error")).collect(),
    )
    .await
}

async fn next_event(events: &mut EventSource) -> ServerSentEvent {
    within("the next event", events.next())
        .await
        .expect("the stream goes on")
        .expect("no error")
}

fn datas(events: &[ServerSentEvent]) -> Vec<&str> {
    events.iter().map(ServerSentEvent::data).collect()
}

// ---------------------------------------------------------------------------
// Raw HTTP/1.1 over a plain TcpStream
// ---------------------------------------------------------------------------

/// A response read off the wire up to the connection's end.
struct RawResponse {
    head: String,
    /// The body, de-chunked when it was chunked.
    body: Vec<u8>,
}

impl RawResponse {
    fn status_line(&self) -> &str {
        self.head.lines().next().unwrap()
    }

    /// The value of the one header named `name` (case-insensitive).
    fn header(&self, name: &str) -> Option<&str> {
        let mut values = self.head.lines().skip(1).filter_map(|line| {
            let (n, v) = line.split_once(':').expect("a header line");
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        });
        let value = values.next();
        assert!(values.next().is_none(), "one {name} header");
        value
    }
}

/// Sends `request` (which must say `Connection: close`) and reads the whole
/// response until the server closes the connection.
async fn raw_exchange(addr: SocketAddr, request: &str) -> RawResponse {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut wire = Vec::new();
    within(
        "the server ends the response and closes",
        stream.read_to_end(&mut wire),
    )
    .await
    .unwrap();
    let end = find(&wire, b"\r\n\r\n").expect("a complete response head");
    let head = String::from_utf8(wire[..end].to_vec()).unwrap();
    let rest = &wire[end + 4..];
    let mut response = RawResponse {
        head,
        body: Vec::new(),
    };
    response.body = match response.header("transfer-encoding") {
        Some("chunked") => dechunk(rest),
        Some(other) => panic!("unexpected transfer-encoding {other}"),
        None => rest.to_vec(),
    };
    if let Some(length) = response.header("content-length") {
        assert_eq!(response.body.len(), length.parse::<usize>().unwrap());
    }
    response
}

/// Reads from `stream` until the bytes read contain `needle`.
async fn read_until(stream: &mut TcpStream, needle: &[u8]) -> Vec<u8> {
    let mut wire = Vec::new();
    let mut buf = [0u8; 4096];
    within("the expected bytes arrive", async {
        while find(&wire, needle).is_none() {
            let n = stream.read(&mut buf).await.unwrap();
            assert!(n > 0, "the server closed early: {wire:?}");
            wire.extend_from_slice(&buf[..n]);
        }
    })
    .await;
    wire
}

// ---------------------------------------------------------------------------
// The sample events
// ---------------------------------------------------------------------------

const UPDATE: EventType = EventType::from_static("update");

/// What the routes serve: line breaks of every kind in the data, a type, ids,
/// a retry, a heartbeat, empty data, a leading space, a trailing line break,
/// and non-ASCII text.
fn sample_events() -> Vec<ServerSentEvent> {
    vec![
        ServerSentEvent::new("first"),
        ServerSentEvent::new("lf\nline"),
        ServerSentEvent::new("cr\rline"),
        ServerSentEvent::new("crlf\r\nline"),
        ServerSentEvent::new("mixed\n\r\n\rend"),
        ServerSentEvent::heartbeat(),
        ServerSentEvent::new("typed")
            .with_event_type(UPDATE)
            .with_id(7)
            .with_retry(1500),
        ServerSentEvent::new(""),
        ServerSentEvent::new(" spaced"),
        ServerSentEvent::new("trailing\n"),
        ServerSentEvent::new("ünïcödé ✓").with_id(EventId::from_static("id-8")),
    ]
}

/// What a client receives from [`sample_events`]: every line break is LF, and
/// the heartbeat is no event.
fn sample_received() -> Vec<ServerSentEvent> {
    vec![
        ServerSentEvent::new("first"),
        ServerSentEvent::new("lf\nline"),
        ServerSentEvent::new("cr\nline"),
        ServerSentEvent::new("crlf\nline"),
        ServerSentEvent::new("mixed\n\n\nend"),
        ServerSentEvent::new("typed")
            .with_event_type(UPDATE)
            .with_id(7)
            .with_retry(1500),
        ServerSentEvent::new(""),
        ServerSentEvent::new(" spaced"),
        ServerSentEvent::new("trailing\n"),
        ServerSentEvent::new("ünïcödé ✓").with_id(EventId::from_static("id-8")),
    ]
}

/// The exact body of [`sample_events`] on the wire.
const SAMPLE_WIRE: &str = "data:first\n\n\
    data:lf\ndata:line\n\n\
    data:cr\ndata:line\n\n\
    data:crlf\ndata:line\n\n\
    data:mixed\ndata:\ndata:\ndata:end\n\n\
    :\n\n\
    data:typed\nevent:update\nid:7\nretry:1500\n\n\
    data:\n\n\
    data:  spaced\n\n\
    data:trailing\ndata:\n\n\
    data:ünïcödé ✓\nid:id-8\n\n";

fn sample_route() -> Route {
    // A cloneable stream: every request gets its own clone.
    path("events").get().complete(stream::iter(sample_events()))
}

// ---------------------------------------------------------------------------
// Events end to end
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http1_client_receives_the_exact_events_then_the_stream_ends() {
    let server = start(sample_route()).await;

    let response = h1_get(server.addr, "/events").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.version(), Version::HTTP_11);
    assert_eq!(response.headers()[CONTENT_TYPE], "text/event-stream");
    assert_eq!(response.headers()[CACHE_CONTROL], "no-cache");
    assert_eq!(all_events(response).await, sample_received());

    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bytes_on_the_wire_are_exact() {
    let server = start(sample_route()).await;

    let response = raw_exchange(
        server.addr,
        "GET /events HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(response.status_line(), "HTTP/1.1 200 OK");
    assert_eq!(response.header("content-type"), Some("text/event-stream"));
    assert_eq!(response.header("cache-control"), Some("no-cache"));
    assert_eq!(response.header("transfer-encoding"), Some("chunked"));
    assert_eq!(response.header("content-length"), None);
    assert_eq!(
        String::from_utf8(response.body).unwrap(),
        SAMPLE_WIRE,
        "the de-chunked body"
    );

    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_cleartext_client_receives_the_same_events() {
    let server = start(sample_route()).await;

    let mut h2 = h2_connect(server.addr).await;
    let response = h2_get(&mut h2, server.addr, "/events").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.version(), Version::HTTP_2);
    assert_eq!(response.headers()[CONTENT_TYPE], "text/event-stream");
    assert_eq!(response.headers()[CACHE_CONTROL], "no-cache");
    assert_eq!(all_events(response).await, sample_received());

    // The connection carries another stream after the first one ended.
    let again = h2_get(&mut h2, server.addr, "/events").await;
    assert_eq!(all_events(again).await, sample_received());

    server.shutdown().await;
}

// ---------------------------------------------------------------------------
// complete, complete_with, handle
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn complete_with_a_factory_gives_every_client_a_fresh_stream() {
    let calls = Arc::new(AtomicUsize::new(0));
    let factory = {
        let calls = Arc::clone(&calls);
        move || {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            stream::iter(vec![
                ServerSentEvent::new(format!("stream {n}")),
                ServerSentEvent::new("a"),
                ServerSentEvent::new("b"),
            ])
        }
    };
    let server = start(path("events").get().complete(factory)).await;

    // Both responses are open at once before either is read.
    let first = h1_get(server.addr, "/events").await;
    let second = h1_get(server.addr, "/events").await;
    assert_eq!(calls.load(Ordering::SeqCst), 2, "one call per request");
    assert_eq!(datas(&all_events(second).await), ["stream 1", "a", "b"]);
    assert_eq!(datas(&all_events(first).await), ["stream 0", "a", "b"]);

    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn complete_with_a_cloneable_stream_gives_every_client_all_of_it() {
    let source = stream::iter(vec![
        ServerSentEvent::new("1"),
        ServerSentEvent::new("2"),
        ServerSentEvent::new("3"),
    ]);
    let server = start(path("events").get().complete(source)).await;

    let first = h1_get(server.addr, "/events").await;
    let second = h1_get(server.addr, "/events").await;
    assert_eq!(datas(&all_events(first).await), ["1", "2", "3"]);
    assert_eq!(datas(&all_events(second).await), ["1", "2", "3"]);
    // And a third, after the first two were consumed.
    let third = h1_get(server.addr, "/events").await;
    assert_eq!(datas(&all_events(third).await), ["1", "2", "3"]);

    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn complete_with_sees_last_event_id_and_resumes_after_it() {
    let route = path("events").get().complete_with(|request| {
        let start: u64 = request
            .last_event_id()
            .and_then(|id| id.as_str().parse().ok())
            .map_or(0, |last: u64| last + 1);
        stream::iter(
            (start..start + 3).map(|n| ServerSentEvent::new(format!("event {n}")).with_id(n)),
        )
    });
    let server = start(route).await;

    let resumed = h1_send(
        server.addr,
        Method::GET,
        "/events",
        &[("Last-Event-ID", "5")],
        "",
    )
    .await;
    let events = all_events(resumed).await;
    assert_eq!(datas(&events), ["event 6", "event 7", "event 8"]);
    let ids: Vec<_> = events.iter().map(|e| e.id()).collect();
    assert_eq!(ids, [Some("6"), Some("7"), Some("8")]);

    let fresh = h1_get(server.addr, "/events").await;
    assert_eq!(
        datas(&all_events(fresh).await),
        ["event 0", "event 1", "event 2"]
    );

    server.shutdown().await;
}

/// `handle` with an async completion that reads the request body, within a
/// limit. (This compiles only since `body_bytes` stopped using
/// `http_body_util::Limited`, whose bounds made its future fail the `Send`
/// check that `handle` needs.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handle_reads_the_request_body_within_a_limit() {
    let route = path("echo").post().handle(|request| async move {
        match request.body_bytes(8).await {
            Ok(body) => (
                StatusCode::OK,
                format!("got {}", String::from_utf8_lossy(&body)),
            ),
            Err(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too large".to_owned()),
        }
    });
    let server = start(route).await;

    let response = h1_send(server.addr, Method::POST, "/echo", &[], "hello").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(text(response).await, "got hello");

    let response = h1_send(server.addr, Method::POST, "/echo", &[], "123456789").await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);

    server.shutdown().await;
}

// ---------------------------------------------------------------------------
// Dispatch: 404, 405, HEAD, prefixes, precedence
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_path_is_404() {
    let server = start(sample_route()).await;

    for unknown in ["/nope", "/eventsx", "/events/more", "/"] {
        let response = h1_get(server.addr, unknown).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "GET {unknown}");
        assert!(response.headers().get(ALLOW).is_none());
    }

    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_method_is_405_with_allow() {
    let route = sample_route()
        .or(path("items").get().complete("list"))
        .or(path("items").post().complete("created"));
    let server = start(route).await;

    let response = h1_send(server.addr, Method::POST, "/events", &[], "x").await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()[ALLOW], "GET, HEAD");

    for method in [Method::PUT, Method::DELETE] {
        let response = h1_send(server.addr, method.clone(), "/items", &[], "").await;
        assert_eq!(
            response.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method}"
        );
        assert_eq!(response.headers()[ALLOW], "GET, HEAD, POST", "{method}");
    }
    // Both methods of the path still answer.
    let get = h1_get(server.addr, "/items").await;
    assert_eq!(text(get).await, "list");
    let post = h1_send(server.addr, Method::POST, "/items", &[], "").await;
    assert_eq!(text(post).await, "created");

    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_on_a_get_route_sends_the_event_stream_head_without_body_and_drops_the_source() {
    let (tracker, mut drops) = tracker();
    let route = path("events")
        .get()
        .complete(move || tracker.endless(&["never sent"]));
    let server = start(route).await;

    // The source never ends: had the server kept it, the response would
    // never end and reading to the end would time out.
    let response = raw_exchange(
        server.addr,
        "HEAD /events HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(response.status_line(), "HTTP/1.1 200 OK");
    assert_eq!(response.header("content-type"), Some("text/event-stream"));
    assert_eq!(response.header("cache-control"), Some("no-cache"));
    // A HEAD response must not claim a length the GET response would not have.
    assert_eq!(response.header("content-length"), None);
    assert!(response.body.is_empty(), "no body: {:?}", response.body);

    // Every source built for the HEAD request is dropped.
    let created = drops.created();
    assert!(created <= 1, "{created} sources for one request");
    drops
        .wait_dropped(created, "the HEAD request's source is dropped")
        .await;

    server.shutdown().await;
}

/// Over HTTP/2 a HEAD response must end right after its headers; a body
/// frame would be a protocol error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_over_http2_sends_the_head_only_and_drops_the_source() {
    let (tracker, mut drops) = tracker();
    let route = path("events")
        .get()
        .complete(move || tracker.endless(&["never sent"]));
    let server = start(route).await;

    let mut h2 = h2_connect(server.addr).await;
    let request = Request::head(format!("http://{}/events", server.addr))
        .body(Full::new(Bytes::new()))
        .unwrap();
    let response = within("the HEAD response", h2.send_request(request))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CONTENT_TYPE], "text/event-stream");
    assert_eq!(response.headers()[CACHE_CONTROL], "no-cache");
    assert!(response.headers().get(CONTENT_LENGTH).is_none());
    assert_eq!(text(response).await, "", "no body");
    let created = drops.created();
    assert!(created <= 1, "{created} sources for one request");
    drops
        .wait_dropped(created, "the HEAD request's source is dropped")
        .await;

    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn path_prefix_matches_whole_segments_and_passes_the_remaining_path() {
    let route = path_prefix("files")
        .get()
        .complete_with(|request| format!("[{}]", request.remaining_path()));
    let server = start(route).await;

    for (uri, remaining) in [
        ("/files/a/b.txt", "[a/b.txt]"),
        ("/files/x?y=1", "[x]"),
        ("/files/", "[]"),
        ("/files", "[]"),
    ] {
        let response = h1_get(server.addr, uri).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {uri}");
        assert_eq!(text(response).await, remaining, "GET {uri}");
    }
    let response = h1_get(server.addr, "/filesystem").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn or_takes_the_first_route_that_matches() {
    let route = path("x")
        .get()
        .complete("first")
        .or(path("x").get().complete("second"))
        .or(path_prefix("a").get().complete("prefix"))
        .or(path("a/b").get().complete("exact"))
        .or(path("m").post().complete("post"))
        .or(path("m").get().complete("get"))
        .or(path("y").get().complete("only in the last"));
    let server = start(route).await;

    for (uri, expected) in [
        ("/x", "first"),
        ("/a/b", "prefix"),
        ("/m", "get"),
        ("/y", "only in the last"),
    ] {
        let response = h1_get(server.addr, uri).await;
        assert_eq!(text(response).await, expected, "GET {uri}");
    }

    server.shutdown().await;
}

// ---------------------------------------------------------------------------
// Client disconnects
// ---------------------------------------------------------------------------

/// Opens `/events` on a plain socket, reads until the event `data:first` has
/// arrived, then drops the connection, and returns when that was.
async fn read_first_event_then_disconnect(addr: SocketAddr) -> Instant {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /events HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .unwrap();
    let wire = read_until(&mut stream, b"data:first\n\n").await;
    assert!(wire.starts_with(b"HTTP/1.1 200 OK\r\n"));
    drop(stream);
    Instant::now()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_disconnect_drops_an_idle_source_with_heartbeats() {
    let (tracker, mut drops) = tracker();
    let route = path("events").get().complete(move || {
        tracker
            .endless(&["first"])
            .keep_alive(Duration::from_millis(50), ServerSentEvent::heartbeat)
    });
    let server = start(route).await;

    let gone = read_first_event_then_disconnect(server.addr).await;
    drops
        .wait_dropped(1, "the server drops the source after the client left")
        .await;
    eprintln!(
        "idle source with heartbeats dropped {:?} after the disconnect",
        gone.elapsed()
    );
    assert_eq!(drops.created(), 1);

    server.shutdown().await;
}

/// No heartbeats: the server never writes again after the first event, so
/// only reading the socket can notice that the client went away.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_disconnect_drops_a_pending_source_without_heartbeats() {
    let (tracker, mut drops) = tracker();
    let route = path("events")
        .get()
        .complete(move || tracker.endless(&["first"]));
    let server = start(route).await;

    let gone = read_first_event_then_disconnect(server.addr).await;
    drops
        .wait_dropped(1, "the server drops the source after the client left")
        .await;
    eprintln!(
        "pending source without heartbeats dropped {:?} after the disconnect",
        gone.elapsed()
    );
    assert_eq!(drops.created(), 1);

    server.shutdown().await;
}

/// HTTP/2: dropping the response resets the stream while the connection stays
/// up; the server drops that stream's source and goes on serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_client_dropping_the_response_drops_the_source() {
    let (tracker, mut drops) = tracker();
    let route = path("events")
        .get()
        .complete(move || tracker.endless(&["first"]));
    let server = start(route).await;

    let mut h2 = h2_connect(server.addr).await;
    let mut events = event_source(h2_get(&mut h2, server.addr, "/events").await).await;
    assert_eq!(next_event(&mut events).await.data(), "first");
    assert_eq!(
        drops.dropped_now(),
        0,
        "the source lives while the client reads"
    );
    drop(events);
    drops
        .wait_dropped(1, "the server drops the reset stream's source")
        .await;

    // The same connection serves the next stream.
    let mut again = event_source(h2_get(&mut h2, server.addr, "/events").await).await;
    assert_eq!(next_event(&mut again).await.data(), "first");
    drop(again);
    drops
        .wait_dropped(1, "the second source is dropped too")
        .await;
    drop(h2);

    server.shutdown().await;
}

// ---------------------------------------------------------------------------
// Graceful shutdown
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_open_event_streams_drops_their_sources_and_returns() {
    let (tracker, mut drops) = tracker();
    let route = path("events")
        .get()
        .complete(move || tracker.endless(&["first"]));
    let server = start(route).await;
    let addr = server.addr;

    let mut a = event_source(h1_get(addr, "/events").await).await;
    let mut b = event_source(h1_get(addr, "/events").await).await;
    assert_eq!(next_event(&mut a).await.data(), "first");
    assert_eq!(next_event(&mut b).await.data(), "first");
    assert_eq!(drops.dropped_now(), 0);

    server.stop.send(()).unwrap();
    // Both streams end cleanly: `None`, not an error.
    let (end_a, end_b) = within("both event streams end", async {
        tokio::join!(a.next(), b.next())
    })
    .await;
    assert!(end_a.is_none(), "client a: {end_a:?}");
    assert!(end_b.is_none(), "client b: {end_b:?}");
    drops.wait_dropped(2, "both sources are dropped").await;
    assert_eq!(drops.created(), 2);
    within("serve_with_shutdown returns", server.task)
        .await
        .unwrap()
        .unwrap();

    // The listener is closed: nobody is accepted any more.
    assert!(TcpStream::connect(addr).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_http2_event_streams_too() {
    let (tracker, mut drops) = tracker();
    let route = path("events")
        .get()
        .complete(move || tracker.endless(&["first"]));
    let server = start(route).await;
    let addr = server.addr;

    let mut h2 = h2_connect(addr).await;
    let mut a = event_source(h2_get(&mut h2, addr, "/events").await).await;
    let mut b = event_source(h2_get(&mut h2, addr, "/events").await).await;
    assert_eq!(next_event(&mut a).await.data(), "first");
    assert_eq!(next_event(&mut b).await.data(), "first");

    server.stop.send(()).unwrap();
    let (end_a, end_b) = within("both event streams end", async {
        tokio::join!(a.next(), b.next())
    })
    .await;
    assert!(end_a.is_none(), "stream a: {end_a:?}");
    assert!(end_b.is_none(), "stream b: {end_b:?}");
    drops.wait_dropped(2, "both sources are dropped").await;
    within("serve_with_shutdown returns", server.task)
        .await
        .unwrap()
        .unwrap();
}
