//! A scriptable, fault-injecting HTTP/1.1 test server for the client's tests,
//! written by hand on a raw `tokio::net::TcpListener` bound to `127.0.0.1:0`,
//! and the helpers around it.
//!
//! Every connection carries exactly one request. The server reads the request
//! head up to CRLFCRLF, records its method, path and headers (with the paused
//! clock's time of arrival) in a shared log, asks the handler for a script and
//! plays it: bytes written as they are or as chunks, yields, sleeps, an abrupt
//! reset (`SO_LINGER` 0, so the client reads `ECONNRESET`), a clean close
//! (FIN; for a close-delimited body that is its normal end), or silence until
//! the client hangs up. Event stream responses use `Connection: close` and no
//! length, so the body ends when the socket closes, unless a script asks for
//! chunked framing.
//!
//! # Time
//!
//! The tests run on tokio's paused clock, with this server on the same
//! current-thread runtime. When that runtime has nothing to run, the clock
//! jumps to the next pending timer, and a runtime waiting on a socket has
//! nothing to run: tokio polls the sockets once without blocking and then
//! advances the clock whether or not bytes were ready. So a timer that is
//! pending while bytes are in flight fires "early" (the client's idle
//! timeout, for instance, would fire while its request is on its way).
//!
//! Two regimes avoid that without loosening what is checked:
//!
//! - Tests that measure delays exactly keep no timer pending while bytes are
//!   in flight: no idle timeout, no server sleeps, no `timeout` around the
//!   client. The only timers are the client's own reconnection waits, during
//!   which nothing is in flight, so every measured gap is exact.
//! - Tests that need a timer while bytes move (an idle timeout, an upper
//!   bound) run a [`Pacer`]: a task that sleeps 1 ms in a loop, so the clock
//!   never jumps more than 1 ms at a time and loopback I/O always lands
//!   within a few ms of virtual time. Their time checks allow a little
//!   slack (the pacer advances the clock a ms per idle turn of the runtime,
//!   so a slow kernel shows up as a few extra ms).
//!
//! A real-time [`Watchdog`] ends a hung test (one stuck on a socket with no
//! timer pending would otherwise wait forever).

#![allow(dead_code)] // each test file uses a different part

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use sse_connector::ConnectionEvent;
use sse_marshal::{Error, EventSource};
use sse_model::ServerSentEvent;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

pub(crate) fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

// ---------------------------------------------------------------------------
// What the server saw

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    /// Its position in the log (0 for the first request).
    pub(crate) index: usize,
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) version: String,
    /// Names as sent; compare them case-insensitively.
    pub(crate) headers: Vec<(String, String)>,
    /// When the whole head had arrived.
    pub(crate) arrived: Instant,
    /// When the server ended the connection (after its script's last step).
    pub(crate) finished: Option<Instant>,
    /// When the server read EOF from the client during a `Hold`.
    pub(crate) client_closed: Option<Instant>,
}

impl Seen {
    /// Every value of the header `name`.
    pub(crate) fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The value of the header `name`; panics if it is sent more than once.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        let all = self.all(name);
        assert!(
            all.len() <= 1,
            "request {} sent {name} {} times: {all:?}",
            self.index,
            all.len()
        );
        all.first().copied()
    }

    pub(crate) fn last_event_id(&self) -> Option<&str> {
        self.header("last-event-id")
    }

    /// Asserts what every request of the client must carry: a `GET` with
    /// `Accept: text/event-stream` and `Cache-Control: no-cache`, each once,
    /// and never an empty `Last-Event-ID`.
    pub(crate) fn assert_client_headers(&self) {
        assert_eq!(self.method, "GET", "request {}", self.index);
        assert_eq!(self.version, "HTTP/1.1", "request {}", self.index);
        assert_eq!(
            self.header("accept"),
            Some("text/event-stream"),
            "request {}: {:?}",
            self.index,
            self.headers
        );
        assert_eq!(
            self.header("cache-control"),
            Some("no-cache"),
            "request {}: {:?}",
            self.index,
            self.headers
        );
        if let Some(id) = self.last_event_id() {
            assert!(
                !id.is_empty(),
                "request {} sent an empty Last-Event-ID",
                self.index
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Scripts

/// One step of the server's answer to a request.
#[derive(Debug, Clone)]
pub(crate) enum Step {
    /// Writes bytes as they are: a status line and headers, or body bytes of
    /// a close-delimited body.
    Write(Vec<u8>),
    /// Writes bytes as one chunk of a chunked body.
    Chunk(Vec<u8>),
    /// Lets the other tasks (the client) run.
    Yield,
    /// Waits, on the (paused) clock.
    Sleep(Duration),
    /// Cuts the connection abruptly: the socket is closed with `SO_LINGER` 0,
    /// so the client gets a reset, not an end of stream.
    Reset,
    /// Closes cleanly: for a close-delimited body, the end of the body.
    Close,
    /// Stays silent, the connection open, until the client closes it.
    Hold,
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        410 => "Gone",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Whatever",
    }
}

/// A status line and headers, as one `Write`.
pub(crate) fn head(status: u16, headers: &[(&str, &str)]) -> Step {
    let mut text = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("\r\n");
    Step::Write(text.into_bytes())
}

/// The head of an event stream whose body ends when the socket closes.
pub(crate) fn sse_head() -> Step {
    head(
        200,
        &[
            ("Content-Type", "text/event-stream"),
            ("Cache-Control", "no-cache"),
            ("Connection", "close"),
        ],
    )
}

/// The head of a chunked event stream.
pub(crate) fn sse_head_chunked() -> Step {
    head(
        200,
        &[
            ("Content-Type", "text/event-stream"),
            ("Cache-Control", "no-cache"),
            ("Transfer-Encoding", "chunked"),
        ],
    )
}

pub(crate) fn body(text: &str) -> Step {
    Step::Write(text.as_bytes().to_vec())
}

/// An event stream with this body, then a clean close.
pub(crate) fn stream(text: &str) -> Vec<Step> {
    vec![sse_head(), body(text), Step::Close]
}

/// An answer without a body: status, headers, `Content-Length: 0`, close.
pub(crate) fn answer(status: u16, headers: &[(&str, &str)]) -> Vec<Step> {
    let mut all = headers.to_vec();
    all.push(("Content-Length", "0"));
    all.push(("Connection", "close"));
    vec![head(status, &all), Step::Close]
}

pub(crate) fn no_content() -> Vec<Step> {
    answer(204, &[])
}

// ---------------------------------------------------------------------------
// The server

type Handler = dyn Fn(&Seen) -> Vec<Step> + Send + Sync;

struct Shared {
    log: Mutex<Vec<Seen>>,
    /// Bumped at every change of the log.
    changed: watch::Sender<u64>,
    handler: Box<Handler>,
}

impl Shared {
    fn update(&self, f: impl FnOnce(&mut Vec<Seen>)) {
        f(&mut self.log.lock().unwrap());
        self.changed.send_modify(|n| *n += 1);
    }
}

/// The fault-injecting server. Dropping it stops it (connections close).
pub(crate) struct TestServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    kill: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl TestServer {
    /// A server on `127.0.0.1:0` that answers every request with the script
    /// `handler` returns for it.
    pub(crate) async fn start(
        handler: impl Fn(&Seen) -> Vec<Step> + Send + Sync + 'static,
    ) -> TestServer {
        let shared = Arc::new(Shared {
            log: Mutex::new(Vec::new()),
            changed: watch::Sender::new(0),
            handler: Box::new(handler),
        });
        let mut server = TestServer {
            addr: "127.0.0.1:0".parse().unwrap(),
            shared,
            kill: watch::Sender::new(false),
            task: None,
        };
        server.listen().await;
        server
    }

    /// A server that answers the n-th request with `scripts[n]`, and any
    /// request beyond them with `204 No Content` (which ends the client).
    pub(crate) async fn scripted(scripts: Vec<Vec<Step>>) -> TestServer {
        TestServer::start(move |seen| scripts.get(seen.index).cloned().unwrap_or_else(no_content))
            .await
    }

    async fn listen(&mut self) {
        let socket = TcpSocket::new_v4().unwrap();
        // Restarting on the same port must not wait for TIME_WAIT.
        socket.set_reuseaddr(true).unwrap();
        socket.bind(self.addr).unwrap();
        let listener = socket.listen(64).unwrap();
        self.addr = listener.local_addr().unwrap();
        self.kill.send_replace(false);
        let kill = self.kill.subscribe();
        self.task = Some(tokio::spawn(accept_loop(
            listener,
            self.shared.clone(),
            kill,
        )));
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub(crate) fn uri(&self, path: &str) -> http::Uri {
        format!("http://{}{path}", self.addr).parse().unwrap()
    }

    /// The server dies: every open connection is reset and the port closes
    /// (connections are refused) until [`restart`](Self::restart).
    pub(crate) async fn kill(&mut self) {
        self.kill.send_replace(true);
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
    }

    /// Listens again on the same port, with the same handler and log.
    pub(crate) async fn restart(&mut self) {
        assert!(self.task.is_none(), "restart a killed server only");
        self.listen().await;
    }

    /// A snapshot of the log.
    pub(crate) fn requests(&self) -> Vec<Seen> {
        self.shared.log.lock().unwrap().clone()
    }

    /// Waits until `done` holds for the log, and returns that log.
    pub(crate) async fn wait_until(&self, done: impl Fn(&[Seen]) -> bool) -> Vec<Seen> {
        let mut changes = self.shared.changed.subscribe();
        loop {
            changes.borrow_and_update();
            {
                let log = self.shared.log.lock().unwrap();
                if done(&log) {
                    return log.clone();
                }
            }
            changes.changed().await.unwrap();
        }
    }

    /// Waits for the n-th request (0-based) to have arrived.
    pub(crate) async fn request(&self, index: usize) -> Seen {
        self.wait_until(|log| log.len() > index).await[index].clone()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

async fn killed(kill: &mut watch::Receiver<bool>) {
    if kill.wait_for(|k| *k).await.is_err() {
        std::future::pending::<()>().await;
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, mut kill: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            () = killed(&mut kill) => break,
            accepted = listener.accept() => {
                if let Ok((stream, _)) = accepted {
                    connections.spawn(connection(stream, shared.clone(), kill.clone()));
                }
            }
        }
        while let Some(done) = connections.try_join_next() {
            done.unwrap();
        }
    }
    drop(listener);
    while let Some(done) = connections.join_next().await {
        done.unwrap();
    }
}

/// How a connection ends.
enum End {
    Reset,
    Close,
    /// The client closed it (during a `Hold`) or went away.
    Gone,
}

async fn connection(mut stream: TcpStream, shared: Arc<Shared>, mut kill: watch::Receiver<bool>) {
    stream.set_nodelay(true).unwrap();
    let mut index = None;
    let end = tokio::select! {
        () = killed(&mut kill) => End::Reset,
        end = exchange(&mut stream, &shared, &mut index) => end,
    };
    match end {
        End::Reset => reset(stream),
        End::Close => {
            let _ = stream.shutdown().await;
            drop(stream);
        }
        End::Gone => drop(stream),
    }
    if let Some(index) = index {
        let now = Instant::now();
        shared.update(|log| log[index].finished = Some(now));
    }
}

/// Closes with `SO_LINGER` 0: the peer gets a reset.
fn reset(stream: TcpStream) {
    // `set_linger` is deprecated because a non-zero linger blocks on drop; a
    // zero linger does not, and this works on every tokio the workspace allows.
    #[allow(deprecated)]
    stream.set_linger(Some(Duration::ZERO)).unwrap();
    drop(stream);
}

/// Reads one request and plays the handler's script for it.
async fn exchange(stream: &mut TcpStream, shared: &Shared, index: &mut Option<usize>) -> End {
    let Some(head) = read_head(stream).await else {
        return End::Gone;
    };
    let mut seen = parse_head(&head);
    shared.update(|log| {
        seen.index = log.len();
        log.push(seen.clone());
    });
    *index = Some(seen.index);
    let script = (shared.handler)(&seen);
    for step in script {
        let written = match step {
            Step::Write(bytes) => stream.write_all(&bytes).await,
            Step::Chunk(bytes) => {
                let mut chunk = format!("{:x}\r\n", bytes.len()).into_bytes();
                chunk.extend_from_slice(&bytes);
                chunk.extend_from_slice(b"\r\n");
                stream.write_all(&chunk).await
            }
            Step::Yield => {
                tokio::task::yield_now().await;
                Ok(())
            }
            Step::Sleep(delay) => {
                tokio::time::sleep(delay).await;
                Ok(())
            }
            Step::Reset => return End::Reset,
            Step::Close => return End::Close,
            Step::Hold => {
                let mut buf = [0u8; 1024];
                loop {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {}
                    }
                }
                let now = Instant::now();
                let i = seen.index;
                shared.update(|log| log[i].client_closed = Some(now));
                return End::Gone;
            }
        };
        if written.is_err() {
            return End::Gone;
        }
    }
    End::Close
}

async fn read_head(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        if let Some(end) = find(&head, b"\r\n\r\n") {
            head.truncate(end);
            return Some(head);
        }
        assert!(head.len() < 64 * 1024, "request head too large");
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
}

pub(crate) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn parse_head(head: &[u8]) -> Seen {
    let text = std::str::from_utf8(head).expect("a UTF-8 request head");
    let mut lines = text.split("\r\n");
    let request_line = lines.next().unwrap();
    let mut parts = request_line.split(' ');
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let version = parts.next().unwrap_or_default().to_owned();
    let headers = lines
        .map(|line| {
            let (name, value) = line.split_once(':').expect("a header line");
            (name.trim().to_owned(), value.trim().to_owned())
        })
        .collect();
    Seen {
        index: 0,
        method,
        path,
        version,
        headers,
        arrived: Instant::now(),
        finished: None,
        client_closed: None,
    }
}

// ---------------------------------------------------------------------------
// The replay server of the no-loss test

/// A tiny xorshift64* generator: reproducible from its seed.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n`.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// Event `n` of the replay stream as the client should see it: its type and
/// data.
pub(crate) fn replay_expected(n: u64) -> (Option<&'static str>, String) {
    match n % 5 {
        1 => (Some("tick"), format!("event {n}\nline 2")),
        _ => (None, format!("event {n}")),
    }
}

/// Event `n` on the wire, in one of five shapes: the id before or after the
/// data, an event type, multi-line data, comments, and LF, CRLF or CR line
/// ends.
fn replay_wire(n: u64) -> String {
    match n % 5 {
        0 => format!("id: {n}\ndata: event {n}\n\n"),
        1 => format!("event: tick\nid: {n}\ndata: event {n}\ndata: line 2\n\n"),
        2 => format!("data: event {n}\nid: {n}\n\n"),
        3 => format!(": a comment\r\nid:{n}\r\ndata:event {n}\r\n\r\n"),
        _ => format!("id: {n}\rretry: 10\rdata: event {n}\r\r"),
    }
}

/// What the replay server did.
#[derive(Debug, Default, Clone)]
pub(crate) struct ReplayStats {
    /// The `Last-Event-ID` of every request (`None` when absent).
    pub(crate) resumed_from: Vec<Option<String>>,
    /// Per cut: its absolute byte offset in the stream of events, and
    /// whether it was a reset (else a close mid-stream).
    pub(crate) cuts: Vec<(usize, bool)>,
    /// The number of events the server has sent in full, over all
    /// connections (so resent ones count again).
    pub(crate) events_sent: usize,
}

struct Replay {
    /// `offsets[i]` is where event `i + 1` starts in the stream of all
    /// events; `offsets[n]` is the stream's length.
    offsets: Vec<usize>,
    /// `dispatched[i]`: how many bytes of the stream the client needs to
    /// dispatch event `i + 1`: up to its end, but the LF of a final CRLF is
    /// not needed (the CR already ends the block).
    dispatched: Vec<usize>,
    wire: Vec<u8>,
    /// Cut points still to come, as absolute offsets, ascending.
    cuts: std::collections::VecDeque<usize>,
    rng: Rng,
    stats: Arc<Mutex<ReplayStats>>,
}

impl Replay {
    fn script(&mut self, seen: &Seen) -> Vec<Step> {
        let n = self.offsets.len() - 1;
        let resume = seen.last_event_id().map(str::to_owned);
        self.stats.lock().unwrap().resumed_from.push(resume.clone());
        let after: usize = match resume {
            None => 0,
            Some(id) => match id.parse() {
                Ok(id) if id <= n => id,
                _ => return answer(400, &[]),
            },
        };
        if after == n {
            // Everything was delivered: the stream is over.
            return no_content();
        }
        let start = self.offsets[after];
        let mut steps = vec![sse_head(), body("retry: 10\n\n")];
        let (end, last) = match self.cuts.pop_front() {
            Some(cut) => {
                let cut = cut.max(start);
                let reset = self.rng.below(4) != 0;
                self.stats.lock().unwrap().cuts.push((cut, reset));
                (cut, if reset { Step::Reset } else { Step::Close })
            }
            None => (self.wire.len(), Step::Close),
        };
        let complete = self
            .dispatched
            .iter()
            .filter(|&&d| d > start && d <= end)
            .count();
        self.stats.lock().unwrap().events_sent += complete;
        let mut at = start;
        while at < end {
            let piece = 1 + self.rng.below(700) as usize;
            let to = (at + piece).min(end);
            steps.push(Step::Write(self.wire[at..to].to_vec()));
            steps.push(Step::Yield);
            at = to;
        }
        steps.push(last);
        steps
    }
}

/// A server that keeps events `1..=n` and serves from `Last-Event-ID + 1`;
/// its first `k` connections are cut (reset, or closed mid-stream one time
/// in four) at pseudo-random byte offsets of the event stream drawn from
/// `seed`; then it sends everything left and closes, and answers
/// `204 No Content` once the client has it all.
pub(crate) async fn replay_server(
    n: usize,
    k: usize,
    seed: u64,
) -> (TestServer, Arc<Mutex<ReplayStats>>) {
    let mut wire = Vec::new();
    let mut offsets = vec![0];
    let mut dispatched = Vec::new();
    for id in 1..=n as u64 {
        let event = replay_wire(id);
        wire.extend_from_slice(event.as_bytes());
        offsets.push(wire.len());
        dispatched.push(wire.len() - usize::from(event.ends_with("\r\n")));
    }
    let mut rng = Rng::new(seed);
    let mut cuts: Vec<usize> = (0..k)
        .map(|_| rng.below(wire.len() as u64) as usize)
        .collect();
    cuts.sort_unstable();
    let stats = Arc::new(Mutex::new(ReplayStats::default()));
    let replay = Mutex::new(Replay {
        offsets,
        dispatched,
        wire,
        cuts: cuts.into(),
        rng,
        stats: stats.clone(),
    });
    let server = TestServer::start(move |seen| replay.lock().unwrap().script(seen)).await;
    (server, stats)
}

// ---------------------------------------------------------------------------
// Time

/// Keeps the paused clock from jumping more than 1 ms at a time while it
/// lives (see the module docs). Aborted on drop.
pub(crate) struct Pacer(JoinHandle<()>);

pub(crate) fn pace_clock() -> Pacer {
    Pacer(tokio::spawn(async {
        loop {
            tokio::time::sleep(ms(1)).await;
        }
    }))
}

impl Drop for Pacer {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Ends the test binary if the test still runs after `limit` of real time:
/// a test stuck on a socket with no timer pending would otherwise hang.
pub(crate) struct Watchdog(#[allow(dead_code)] std::sync::mpsc::Sender<()>);

pub(crate) fn watchdog(name: &'static str, limit: Duration) -> Watchdog {
    let (done, wait) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = wait.recv_timeout(limit) {
            eprintln!("{name}: still running after {limit:?} of real time; aborting");
            std::process::exit(101);
        }
    });
    Watchdog(done)
}

/// Paced tests: `future` must finish within `limit` of paused-clock time.
pub(crate) async fn within<F: std::future::Future>(
    what: &str,
    limit: Duration,
    future: F,
) -> F::Output {
    match tokio::time::timeout(limit, future).await {
        Ok(output) => output,
        Err(_) => panic!("not within {limit:?}: {what}"),
    }
}

// ---------------------------------------------------------------------------
// The client side

/// A step the observer saw, owned, with its time.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Observed {
    Connecting {
        uri: String,
        last_event_id: Option<String>,
    },
    Open {
        uri: String,
        status: u16,
    },
    Ended,
    Failed {
        /// `status 503`, `body`, `connect`, `timeout`, `content-type`,
        /// `redirect`, `other`.
        kind: String,
    },
    Retrying {
        delay: Duration,
        attempt: u32,
    },
}

fn connector_error(error: &Error) -> Option<&sse_connector::Error> {
    sse_connector::Error::find(error)
}

pub(crate) fn kind(error: &Error) -> String {
    if let Some(status) = error.status_code() {
        format!("status {}", status.as_u16())
    } else if error.is_body() {
        "body".into()
    } else if connector_error(error).is_some_and(sse_connector::Error::is_connect) {
        "connect".into()
    } else if connector_error(error).is_some_and(sse_connector::Error::is_timeout) {
        "timeout".into()
    } else if error.is_content_type() {
        "content-type".into()
    } else if connector_error(error).is_some_and(sse_connector::Error::is_redirect) {
        "redirect".into()
    } else if error.is_oversized() {
        "oversized".into()
    } else {
        format!("other: {error:?}")
    }
}

/// Records what an observer sees: the steps of the connection's life, and
/// apart from them, the comments.
#[derive(Clone, Default)]
pub(crate) struct Recorder(
    Arc<Mutex<Vec<(Instant, Observed)>>>,
    Arc<Mutex<Vec<String>>>,
);

impl Recorder {
    pub(crate) fn observer(&self) -> impl Fn(&ConnectionEvent<'_>) + Send + Sync + 'static {
        let log = self.0.clone();
        let comments = self.1.clone();
        move |event: &ConnectionEvent<'_>| {
            let observed = match event {
                ConnectionEvent::Comment { text } => {
                    comments.lock().unwrap().push((*text).to_owned());
                    return;
                }
                ConnectionEvent::Connecting { uri, last_event_id } => Observed::Connecting {
                    uri: uri.to_string(),
                    last_event_id: last_event_id.map(str::to_owned),
                },
                ConnectionEvent::Open { uri, status } => Observed::Open {
                    uri: uri.to_string(),
                    status: status.as_u16(),
                },
                ConnectionEvent::Ended => Observed::Ended,
                ConnectionEvent::Failed { error, .. } => Observed::Failed { kind: kind(error) },
                ConnectionEvent::Retrying { delay, attempt } => Observed::Retrying {
                    delay: *delay,
                    attempt: *attempt,
                },
                other => panic!("an unknown connection event: {other:?}"),
            };
            log.lock().unwrap().push((Instant::now(), observed));
        }
    }

    pub(crate) fn steps(&self) -> Vec<Observed> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|(_, o)| o.clone())
            .collect()
    }

    pub(crate) fn comments(&self) -> Vec<String> {
        self.1.lock().unwrap().clone()
    }

    pub(crate) fn timed(&self) -> Vec<(Instant, Observed)> {
        self.0.lock().unwrap().clone()
    }

    pub(crate) fn retry_delays(&self) -> Vec<Duration> {
        self.steps()
            .into_iter()
            .filter_map(|o| match o {
                Observed::Retrying { delay, .. } => Some(delay),
                _ => None,
            })
            .collect()
    }

    pub(crate) fn failures(&self) -> Vec<String> {
        self.steps()
            .into_iter()
            .filter_map(|o| match o {
                Observed::Failed { kind } => Some(kind),
                _ => None,
            })
            .collect()
    }
}

/// Reads the stream to its end: the events, then the error that ended it,
/// if any. Panics if anything follows an error.
pub(crate) async fn drain(events: &mut EventSource) -> (Vec<ServerSentEvent>, Option<Error>) {
    let mut got = Vec::new();
    while let Some(item) = events.next().await {
        match item {
            Ok(event) => got.push(event),
            Err(error) => {
                assert!(
                    events.next().await.is_none(),
                    "the stream goes on after an error"
                );
                return (got, Some(error));
            }
        }
    }
    (got, None)
}

/// `(id, data)` of each event.
pub(crate) fn ids_and_data(events: &[ServerSentEvent]) -> Vec<(Option<String>, String)> {
    events
        .iter()
        .map(|e| (e.id().map(str::to_owned), e.data().to_owned()))
        .collect()
}
