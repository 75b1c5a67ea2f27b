//! Helpers of the hostile-input tests: bounded waiting, running a test alone
//! in a child process, reading the process's memory and file descriptors,
//! raw servers and clients, direct parsing, and sources that count themselves.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use http::header::HOST;
use http::{Request, Response};
use http_body_util::Empty;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use sse_marshal::{
    EventSource, EventStreamParser, EventStreamUnmarshalling, ServerSentEventSettings,
};
use sse_model::ServerSentEvent;
use sse_routing::{serve_with_shutdown, Route};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_util::codec::Decoder;

pub(crate) const KIB: usize = 1024;
pub(crate) const MIB: usize = 1024 * 1024;

/// The upper bound on anything that should finish promptly.
pub(crate) const LIMIT: Duration = Duration::from_secs(20);

/// Awaits `future`, failing the test if it takes longer than [`LIMIT`].
pub(crate) async fn within<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(LIMIT, future).await {
        Ok(output) => output,
        Err(_) => panic!("timed out after {LIMIT:?}: {what}"),
    }
}

// ---------------------------------------------------------------------------
// Running a test alone, and measuring the process
// ---------------------------------------------------------------------------

pub(crate) const CHILD_ENV: &str = "SSE_HOSTILE_CHILD";

/// Runs the test `name` alone in a child process of this test binary and
/// returns `true` (the caller then returns), unless this process is that
/// child: then it returns `false` and the caller runs the test body.
pub(crate) fn isolated(name: &str) -> bool {
    if std::env::var(CHILD_ENV).as_deref() == Ok(name) {
        return false;
    }
    let started = Instant::now();
    let output = std::process::Command::new(std::env::current_exe().expect("the test binary"))
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, name)
        .output()
        .expect("run the test binary");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "{name} failed in its child process ({:?}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    // Pass the child's measurements on (`cargo test -- --nocapture` shows them).
    for line in stdout.lines().chain(stderr.lines()) {
        if let Some(at) = line.find("measured:") {
            println!("{}", &line[at..]);
        }
    }
    println!(
        "measured: {name} ran in its own process in {:?}",
        started.elapsed()
    );
    true
}

/// A `kB` field of `/proc/self/status`, in bytes.
pub(crate) fn proc_status_bytes(field: &str) -> usize {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .unwrap_or_else(|| panic!("{field} in /proc/self/status"));
    let kb: usize = line[field.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .expect("a number of kB");
    kb * KIB
}

/// How many file descriptors this process has open.
pub(crate) fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .count()
}

/// A sysctl number (the last of several), or `default` where unreadable.
pub(crate) fn sysctl_max(path: &str, default: usize) -> usize {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| s.split_whitespace().last().and_then(|n| n.parse().ok()))
        .unwrap_or(default)
}

// ---------------------------------------------------------------------------
// Raw servers and clients
// ---------------------------------------------------------------------------

/// Accepts one connection on `127.0.0.1:0`, reads the request head, writes
/// `head` and hands the socket to `body`, whose result the task returns.
pub(crate) async fn raw_server<F, Fut, T>(
    head: &'static str,
    body: F,
) -> (SocketAddr, JoinHandle<T>)
where
    F: FnOnce(TcpStream) -> Fut + Send + 'static,
    Fut: Future<Output = T> + Send,
    T: Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        read_head(&mut stream).await;
        stream.write_all(head.as_bytes()).await.unwrap();
        body(stream).await
    });
    (addr, task)
}

/// A close-delimited `text/event-stream` response head.
pub(crate) const CLOSE_DELIMITED: &str =
    "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n";
/// A chunked `text/event-stream` response head.
pub(crate) const CHUNKED: &str =
    "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";

/// Reads until the end of an HTTP head (`\r\n\r\n`); returns what was read.
pub(crate) async fn read_head(stream: &mut TcpStream) -> Vec<u8> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await.expect("read the head");
        assert!(n > 0, "the peer closed before the end of the head");
        head.extend_from_slice(&buf[..n]);
    }
    head
}

/// Writes `prefix`, then `filler` over and over up to `total` bytes (or until
/// the peer goes away), then `suffix`. Returns the filler bytes written and
/// whether everything was written.
pub(crate) async fn write_endless(
    stream: &mut TcpStream,
    prefix: &[u8],
    filler: &[u8],
    total: usize,
    suffix: &[u8],
) -> (usize, bool) {
    if stream.write_all(prefix).await.is_err() {
        return (0, false);
    }
    let mut written = 0;
    while written < total {
        if stream.write_all(filler).await.is_err() {
            return (written, false);
        }
        written += filler.len();
    }
    let complete = stream.write_all(suffix).await.is_ok() && stream.shutdown().await.is_ok();
    (written, complete)
}

/// A GET on a fresh HTTP/1.1 connection (hyper's client); the connection
/// lives as long as the response body.
pub(crate) async fn get(addr: SocketAddr, path: &str) -> Response<Incoming> {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let request = Request::get(path)
        .header(HOST, addr.to_string())
        .body(Empty::<Bytes>::new())
        .unwrap();
    sender.send_request(request).await.unwrap()
}

/// The events of a response, read with `settings`.
pub(crate) async fn events_with(
    addr: SocketAddr,
    settings: ServerSentEventSettings,
) -> EventSource {
    let response = get(addr, "/events").await;
    EventStreamUnmarshalling::new(settings)
        .unmarshal(response)
        .expect("an event stream")
}

/// Collects a whole event stream, errors included.
pub(crate) async fn collect(
    mut events: EventSource,
) -> Vec<Result<ServerSentEvent, sse_marshal::Error>> {
    let mut out = Vec::new();
    while let Some(item) = events.next().await {
        out.push(item);
    }
    out
}

/// The data of each event, and each error as text.
pub(crate) fn datas(items: &[Result<ServerSentEvent, sse_marshal::Error>]) -> Vec<String> {
    items
        .iter()
        .map(|item| match item {
            Ok(event) => event.data().to_owned(),
            Err(error) => format!("<error: {error}>"),
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Parsing directly
// ---------------------------------------------------------------------------

/// What a parse produced: (type, data, own id, retry) per event, the last
/// event id and the reconnection time.
pub(crate) type Parsed = (Vec<Ev>, String, Option<u64>);

/// One parsed event: (type, data, own id, retry).
pub(crate) type Ev = (Option<String>, String, Option<String>, Option<u64>);

/// Parses `chunks` with `settings` the way a `FramedRead` does. Errors are
/// not expected here. Returns the outcome and the most bytes the parser's
/// buffer held after a `decode` that needed more.
pub(crate) fn parse_chunks<'a>(
    settings: ServerSentEventSettings,
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> (Parsed, usize) {
    let mut parser = EventStreamParser::with_settings(settings);
    let mut buf = BytesMut::new();
    let mut events = Vec::new();
    let mut most_buffered = 0;
    let mut record = |e: ServerSentEvent| {
        events.push((
            e.event_type().map(str::to_owned),
            e.data().to_owned(),
            e.id().map(str::to_owned),
            e.retry(),
        ));
    };
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        while let Some(event) = parser.decode(&mut buf).expect("no parse error") {
            record(event);
        }
        most_buffered = most_buffered.max(buf.len());
    }
    while let Some(event) = parser.decode_eof(&mut buf).expect("no parse error") {
        record(event);
    }
    let outcome = (events, parser.last_event_id().to_owned(), parser.retry());
    (outcome, most_buffered)
}

/// Parses `input` in one piece, without limits.
pub(crate) fn parse_whole(input: &[u8]) -> Parsed {
    parse_chunks(ServerSentEventSettings::unlimited(), [input]).0
}

/// Parses `input` one byte at a time, without limits.
pub(crate) fn parse_bytewise(input: &[u8]) -> Parsed {
    parse_chunks(ServerSentEventSettings::unlimited(), input.chunks(1)).0
}

/// One event of a parse, for tables: (type, data, own id), no retry.
pub(crate) fn ev(t: Option<&str>, data: &str, id: Option<&str>) -> Ev {
    (
        t.map(str::to_owned),
        data.to_owned(),
        id.map(str::to_owned),
        None,
    )
}

/// Serves `route` on `127.0.0.1:0` with `serve_with_shutdown`; returns the
/// address, the shutdown trigger and the server task.
pub(crate) async fn start(
    route: Route,
) -> (
    SocketAddr,
    oneshot::Sender<()>,
    JoinHandle<std::io::Result<()>>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve_with_shutdown(listener, route, async {
        let _ = stopped.await;
    }));
    (addr, stop, task)
}

/// Counts live sources: one per guard, down again when it is dropped.
#[derive(Clone, Default)]
pub(crate) struct Live {
    now: Arc<AtomicUsize>,
    created: Arc<AtomicUsize>,
}

/// Holds one count of a [`Live`] until dropped.
pub(crate) struct LiveGuard(Arc<AtomicUsize>);

impl Live {
    fn guard(&self) -> LiveGuard {
        self.created.fetch_add(1, Ordering::SeqCst);
        self.now.fetch_add(1, Ordering::SeqCst);
        LiveGuard(Arc::clone(&self.now))
    }

    pub(crate) fn now(&self) -> usize {
        self.now.load(Ordering::SeqCst)
    }

    pub(crate) fn created(&self) -> usize {
        self.created.load(Ordering::SeqCst)
    }
}

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A source that holds a [`LiveGuard`] as long as it lives.
pub(crate) struct Guarded<S> {
    inner: Pin<Box<S>>,
    _guard: LiveGuard,
}

impl<S> Guarded<S> {
    /// `inner`, counted by `live` until it is dropped.
    pub(crate) fn new(inner: S, live: &Live) -> Self {
        Guarded {
            inner: Box::pin(inner),
            _guard: live.guard(),
        }
    }
}

impl<S: Stream> Stream for Guarded<S> {
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

/// Polls `condition` every 10 ms until it holds; fails after [`LIMIT`].
pub(crate) async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    within(what, async {
        while !condition() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
}

/// Removes the chunked transfer coding.
pub(crate) fn dechunk(mut wire: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let eol = wire
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("a chunk size");
        let size = usize::from_str_radix(std::str::from_utf8(&wire[..eol]).unwrap(), 16).unwrap();
        wire = &wire[eol + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&wire[..size]);
        wire = &wire[size + 2..];
    }
}
