//! Clients that would exhaust a server that trusted them, over real sockets,
//! against the default [`ServerConfig`] (the one the examples use): idle
//! keep-alive connections, connections that never send a byte, more
//! connections than file descriptors, junk sent during a stream, heads the
//! RFCs refuse, request bodies that stall, idle and dead HTTP/2 connections,
//! and clients that stop reading. Where both HTTP/1.1 paths could differ,
//! each test runs on the direct path and on hyper's.
//!
//! Time is tokio's paused clock, moved along by a pacer where bytes are in
//! flight while a timeout is pending (see `sse_test_support`); only the
//! file descriptor test, which measures CPU time in a child process, runs on
//! the real clock.

use std::io::{BufRead, BufReader};
use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use http::StatusCode;
use sse_model::ServerSentEvent;
use sse_routing::{path, Route, ServerConfig};
use sse_test_support::{pace_clock, read_until, start_configured, within, Live};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

const SECOND: Duration = Duration::from_secs(1);

/// The event streams and answers the tests need; `live` counts the sources.
fn route(live: &Live) -> Route {
    let endless_live = live.clone();
    let firehose_live = live.clone();
    path("hello")
        .get()
        .complete("hello")
        // One event, then silence: a stream that is open but quiet.
        .or(path("endless").get().complete(move || {
            let guard = endless_live.guard();
            stream::iter([ServerSentEvent::new("first")])
                .chain(stream::pending())
                .map(move |event| {
                    let _ = &guard;
                    event
                })
        }))
        // Large events, always ready: fills any socket that is not read.
        .or(path("firehose").get().complete(move || {
            let guard = firehose_live.guard();
            let data = "x".repeat(64 * 1024);
            stream::repeat_with(move || {
                let _ = &guard;
                ServerSentEvent::new(data.clone())
            })
        }))
        .or(path("echo").post().handle(|request| async move {
            match request.body_bytes(1 << 20).await {
                Ok(body) => (StatusCode::OK, format!("got {}", body.len())),
                Err(error) => (StatusCode::BAD_REQUEST, error.to_string()),
            }
        }))
}

fn config(direct: bool) -> ServerConfig {
    ServerConfig::new().with_direct_http1(direct)
}

/// Reads until the server closes the connection or `limit` of (virtual)
/// time passes; returns the bytes and whether it closed.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (Vec<u8>, bool) {
    let mut wire = Vec::new();
    let mut buf = [0; 16 * 1024];
    let read = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => wire.extend_from_slice(&buf[..n]),
            }
        }
    };
    let closed = tokio::time::timeout(limit, read).await.is_ok();
    (wire, closed)
}

/// A connection that has had one answer and is kept alive.
async fn kept_alive(addr: std::net::SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .unwrap();
    let mut wire = Vec::new();
    read_until(&mut stream, &mut wire, b"hello").await;
    stream
}

// ---------------------------------------------------------------------------
// 1, 2: idle and silent connections
// ---------------------------------------------------------------------------

async fn an_idle_kept_alive_connection_is_closed(direct: bool) {
    let _pacer = pace_clock();
    let server = start_configured(route(&Live::default()), config(direct)).await;
    let mut client = kept_alive(server.addr).await;
    let answered = Instant::now();
    let (wire, closed) = read_until_closed(&mut client, 60 * SECOND).await;
    assert!(closed, "the idle connection is still open after a minute");
    assert!(wire.is_empty(), "{:?}", String::from_utf8_lossy(&wire));
    let idle = answered.elapsed();
    assert!((30 * SECOND..31 * SECOND).contains(&idle), "{idle:?}");
    server.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn an_idle_kept_alive_connection_is_closed_after_30_s_direct() {
    an_idle_kept_alive_connection_is_closed(true).await;
}

#[tokio::test(start_paused = true)]
async fn an_idle_kept_alive_connection_is_closed_after_30_s_hyper() {
    an_idle_kept_alive_connection_is_closed(false).await;
}

async fn a_connection_that_never_sends_is_closed(direct: bool) {
    let server = start_configured(route(&Live::default()), config(direct)).await;
    let mut silent = TcpStream::connect(server.addr).await.unwrap();
    let connected = Instant::now();
    let (wire, closed) = read_until_closed(&mut silent, 60 * SECOND).await;
    assert!(closed && wire.is_empty(), "closed {closed}, {wire:?}");
    let silence = connected.elapsed();
    assert!((30 * SECOND..31 * SECOND).contains(&silence), "{silence:?}");
    server.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_connection_that_never_sends_is_closed_after_30_s_direct() {
    a_connection_that_never_sends_is_closed(true).await;
}

#[tokio::test(start_paused = true)]
async fn a_connection_that_never_sends_is_closed_after_30_s_hyper() {
    a_connection_that_never_sends_is_closed(false).await;
}

/// An open event stream is never idle, however quiet.
#[tokio::test(start_paused = true)]
async fn a_quiet_event_stream_is_not_idle() {
    let live = Live::default();
    for direct in [true, false] {
        let pacer = pace_clock();
        let server = start_configured(route(&live), config(direct)).await;
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream
            .write_all(b"GET /endless HTTP/1.1\r\nHost: t\r\n\r\n")
            .await
            .unwrap();
        let mut wire = Vec::new();
        read_until(&mut stream, &mut wire, b"data:first\n\n").await;
        // Nothing is in flight from here on: the clock may jump.
        drop(pacer);
        let (_, closed) = read_until_closed(&mut stream, 300 * SECOND).await;
        assert!(!closed, "direct {direct}: a quiet stream was closed");
        assert_eq!(live.count(), 1);
        drop(stream);
        live.wait_for(0, "the source is dropped").await;
        server.shutdown().await;
    }
}

// ---------------------------------------------------------------------------
// 1: more clients than the server takes
// ---------------------------------------------------------------------------

/// At the connection limit the server stops accepting; a new client waits
/// in the accept queue and is served once the idle timeout frees a slot.
#[tokio::test(start_paused = true)]
async fn at_the_connection_limit_a_new_client_waits_for_an_idle_one_to_be_closed() {
    let _pacer = pace_clock();
    let config = ServerConfig::new().with_max_connections(Some(2));
    let server = start_configured(route(&Live::default()), config).await;
    let idle = [kept_alive(server.addr).await, kept_alive(server.addr).await];
    let started = Instant::now();

    let mut waiting = TcpStream::connect(server.addr).await.unwrap();
    waiting
        .write_all(b"GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let (wire, closed) = read_until_closed(&mut waiting, 60 * SECOND).await;
    let wire = String::from_utf8(wire).unwrap();
    assert!(closed && wire.ends_with("\r\n\r\nhello"), "{wire:?}");
    let waited = started.elapsed();
    assert!((30 * SECOND..31 * SECOND).contains(&waited), "{waited:?}");
    drop(idle);
    server.shutdown().await;
}

// ---------------------------------------------------------------------------
// 1: out of file descriptors (a child process with a low limit)
// ---------------------------------------------------------------------------

const FD_CHILD: &str = "SSE_ROUTING_FD_CHILD";

/// The server in a process of its own whose file descriptors run out:
/// accepting fails with `EMFILE` for as long as its idle connections hold
/// them. It must not spin a core meanwhile, and must serve again once the
/// idle timeout (1 s here, to keep the real-clock test short) closes them.
#[test]
fn out_of_file_descriptors_the_server_waits_without_spinning_and_recovers() {
    if std::env::var_os(FD_CHILD).is_some() {
        return fd_child();
    }
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "out_of_file_descriptors_the_server_waits_without_spinning_and_recovers",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(FD_CHILD, "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (port, spare) = loop {
        let line = lines.next().expect("the child's port").unwrap();
        // The test harness may have begun the line with the test's name.
        if let Some(rest) = line.split("LISTENING ").nth(1) {
            let (port, spare) = rest.split_once(' ').unwrap();
            break (
                port.parse::<u16>().unwrap(),
                spare.parse::<usize>().unwrap(),
            );
        }
    };
    let pid = child.id();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let outcome = runtime.block_on(async move {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        // More idle connections than the server has descriptors for.
        let mut idle = Vec::new();
        for _ in 0..spare + 8 {
            idle.push(TcpStream::connect(addr).await.unwrap());
        }
        for stream in &mut idle {
            let _ = stream
                .write_all(b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
                .await;
        }
        let cpu_before = cpu_time(pid);
        let wall_before = std::time::Instant::now();
        // The latecomer: waits in the accept queue while accepting fails.
        let mut late = TcpStream::connect(addr).await.unwrap();
        late.write_all(b"GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut wire = Vec::new();
        let read = tokio::time::timeout(10 * SECOND, late.read_to_end(&mut wire)).await;
        let cpu = cpu_time(pid) - cpu_before;
        let wall = wall_before.elapsed();
        drop(idle);
        (
            read.is_ok(),
            String::from_utf8_lossy(&wire).into_owned(),
            cpu,
            wall,
        )
    });
    drop(child.stdin.take());
    let status = child.wait().unwrap();
    let (answered, wire, cpu, wall) = outcome;
    println!("measured: the server used {cpu:?} of CPU in {wall:?} while out of descriptors");
    assert!(status.success(), "the child failed: {status:?}");
    assert!(answered && wire.ends_with("hello"), "{wire:?}");
    assert!(
        wall >= Duration::from_millis(900),
        "served before the idle timeout: {wall:?}"
    );
    // A spinning accept loop would use about all of `wall`.
    assert!(cpu < wall / 4, "{cpu:?} of CPU in {wall:?}");
}

/// The child's side: a server whose descriptor limit leaves `spare` free.
fn fd_child() {
    const SPARE: usize = 16;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let open = std::fs::read_dir("/proc/self/fd").unwrap().count();
        let (_, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE).unwrap();
        rlimit::setrlimit(rlimit::Resource::NOFILE, (open + SPARE) as u64, hard).unwrap();
        println!("LISTENING {port} {SPARE}");
        let config = ServerConfig::new().with_idle_timeout(Some(SECOND));
        let stdin_closed = tokio::task::spawn_blocking(|| {
            let _ = std::io::Read::read(&mut std::io::stdin(), &mut [0; 1]);
        });
        let server = sse_routing::Server::new(route(&Live::default())).with_config(config);
        let served = server.serve_with_shutdown(listener, async {
            let _ = stdin_closed.await;
        });
        tokio::time::timeout(60 * SECOND, served)
            .await
            .expect("the parent closes stdin")
            .unwrap();
    });
}

/// User and system CPU time of process `pid`, from `/proc/<pid>/stat`.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The fields after the command, which is in parentheses.
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // The kernel's USER_HZ is 100 on Linux.
    Duration::from_millis(ticks * 10)
}

// ---------------------------------------------------------------------------
// 3: junk sent during a stream
// ---------------------------------------------------------------------------

/// After the head of an event stream, a client may send up to 4 KiB (a
/// pipelined request waits for the stream); more closes the connection and
/// drops the stream's source.
#[tokio::test]
async fn junk_after_a_stream_request_closes_the_connection_beyond_4_kib() {
    let live = Live::default();
    let server = start_configured(route(&live), config(true)).await;
    for (junk, closes) in [(4 * 1024, false), (4 * 1024 + 1, true), (100 * 1024, true)] {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream
            .write_all(b"GET /endless HTTP/1.1\r\nHost: t\r\n\r\n")
            .await
            .unwrap();
        let mut wire = Vec::new();
        read_until(&mut stream, &mut wire, b"data:first\n\n").await;
        live.wait_for(1, "the stream is open").await;
        // A write may fail once the server has closed: that is the point.
        let _ = stream.write_all(&vec![b'x'; junk]).await;
        if closes {
            live.wait_for(0, "the source is dropped").await;
            let (_, closed) = read_until_closed(&mut stream, 5 * SECOND).await;
            assert!(closed, "{junk} bytes of junk");
        } else {
            let (_, closed) = read_until_closed(&mut stream, SECOND / 5).await;
            assert!(!closed, "{junk} bytes of junk closed the stream");
            assert_eq!(live.count(), 1);
            drop(stream);
            live.wait_for(0, "the source is dropped").await;
        }
    }
    server.shutdown().await;
}

/// Behind a response of known length, a client may pipeline far more than
/// 4 KiB: what the server does not read waits in the kernel, and every
/// request is answered in order.
#[tokio::test]
async fn many_pipelined_requests_behind_a_fixed_response_are_all_answered() {
    let server = start_configured(route(&Live::default()), config(true)).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let mut requests = b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n".repeat(400);
    requests.extend_from_slice(b"GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    let (mut read, mut write) = stream.split();
    let (sent, wire) = tokio::join!(write.write_all(&requests), async {
        let mut wire = Vec::new();
        within("all answers", read.read_to_end(&mut wire))
            .await
            .unwrap();
        wire
    });
    sent.unwrap();
    let answers = String::from_utf8(wire)
        .unwrap()
        .matches("\r\n\r\nhello")
        .count();
    assert_eq!(answers, 401);
    server.shutdown().await;
}

// ---------------------------------------------------------------------------
// 4: what the RFCs say a server answers
// ---------------------------------------------------------------------------

/// One request on a new connection; the response until the server closes.
async fn exchange(addr: std::net::SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let _ = stream.write_all(request).await;
    let (wire, closed) = read_until_closed(&mut stream, 5 * SECOND).await;
    assert!(closed, "the connection stays open after {wire:?}");
    String::from_utf8_lossy(&wire).into_owned()
}

fn status_and_date(wire: &str) -> (&str, bool) {
    let status = wire.get(9..12).unwrap_or("");
    let dated = wire.split("\r\n").any(|line| {
        line.split_once(": ").is_some_and(|(name, date)| {
            name.eq_ignore_ascii_case("date") && httpdate::parse_http_date(date).is_ok()
        })
    });
    (status, dated)
}

/// RFC 9112, 3.2: `400` for an HTTP/1.1 request without `Host`, and for any
/// request with two or an invalid one; HTTP/1.0 may omit it. On both paths,
/// and for requests with a body (which hyper reads) too.
#[tokio::test]
async fn a_missing_repeated_or_invalid_host_is_a_bad_request() {
    for direct in [true, false] {
        let server = start_configured(route(&Live::default()), config(direct)).await;
        for (request, want) in [
            (&b"GET /hello HTTP/1.1\r\n\r\n"[..], "400"),
            (b"GET /hello HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", "400"),
            (b"GET /hello HTTP/1.1\r\nHost: a b\r\n\r\n", "400"),
            (b"GET /hello HTTP/1.1\r\nHost: me@a\r\n\r\n", "400"),
            (b"GET /hello HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", "400"),
            (b"POST /echo HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi", "400"),
            (b"GET /hello HTTP/1.0\r\n\r\n", "200"),
            (
                b"GET /hello HTTP/1.1\r\nHost: [::1]:80\r\nConnection: close\r\n\r\n",
                "200",
            ),
        ] {
            let wire = exchange(server.addr, request).await;
            let (status, dated) = status_and_date(&wire);
            let request = String::from_utf8_lossy(request);
            assert_eq!(status, want, "direct {direct}: {request:?} -> {wire:?}");
            assert!(dated, "direct {direct}: no date in {wire:?}");
        }
        server.shutdown().await;
    }
}

/// Every refusal carries `Date` (RFC 9110, 6.6.1), and a target too long
/// to read gets `414` on the direct path (hyper, which cannot tell, says
/// `431`).
#[tokio::test(start_paused = true)]
async fn refusals_are_dated_and_a_long_target_is_414() {
    let _pacer = pace_clock();
    for direct in [true, false] {
        let server = start_configured(route(&Live::default()), config(direct)).await;
        let long_target = format!("GET /{} HTTP/1.1\r\nHost: a\r\n\r\n", "a".repeat(70_000));
        let long_field = format!(
            "GET / HTTP/1.1\r\nHost: a\r\nA: {}\r\n\r\n",
            "a".repeat(70_000)
        );
        let cases = [
            (&b"G@T / HTTP/1.1\r\nHost: a\r\n\r\n"[..], "400"),
            (long_target.as_bytes(), if direct { "414" } else { "431" }),
            (long_field.as_bytes(), "431"),
        ];
        for (request, want) in cases {
            let wire = exchange(server.addr, request).await;
            let (status, dated) = status_and_date(&wire);
            assert_eq!(status, want, "direct {direct}: {wire:?}");
            assert!(dated, "direct {direct}: {wire:?}");
        }
        // A head that stops arriving: 408 after 30 s (hyper closes silently).
        let mut slow = TcpStream::connect(server.addr).await.unwrap();
        slow.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n")
            .await
            .unwrap();
        let (wire, closed) = read_until_closed(&mut slow, 40 * SECOND).await;
        let wire = String::from_utf8(wire).unwrap();
        assert!(closed, "direct {direct}");
        if direct {
            assert_eq!(status_and_date(&wire), ("408", true), "{wire:?}");
        } else {
            assert_eq!(wire, "");
        }
        server.shutdown().await;
    }
}

// ---------------------------------------------------------------------------
// Request bodies that stall (hyper's path)
// ---------------------------------------------------------------------------

/// A request body that stops arriving fails after 30 s: the handler sees
/// the error, answers, and the connection closes.
#[tokio::test(start_paused = true)]
async fn a_request_body_that_stalls_fails_after_30_s() {
    let _pacer = pace_clock();
    for direct in [true, false] {
        let server = start_configured(route(&Live::default()), config(direct)).await;
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream
            .write_all(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nonly ten b")
            .await
            .unwrap();
        let sent = Instant::now();
        let (wire, closed) = read_until_closed(&mut stream, 60 * SECOND).await;
        let wire = String::from_utf8(wire).unwrap();
        assert!(closed, "direct {direct}: {wire:?}");
        assert!(
            wire.starts_with("HTTP/1.1 400 "),
            "direct {direct}: {wire:?}"
        );
        assert!(wire.contains("within the timeout"), "{wire:?}");
        let waited = sent.elapsed();
        assert!((30 * SECOND..31 * SECOND).contains(&waited), "{waited:?}");
        server.shutdown().await;
    }
}

// ---------------------------------------------------------------------------
// HTTP/2 connections that are idle, or dead
// ---------------------------------------------------------------------------

/// An HTTP/2 connection without an open stream gets `GOAWAY` and is closed
/// after the idle timeout.
#[tokio::test(start_paused = true)]
async fn an_idle_http2_connection_is_closed_after_30_s() {
    let _pacer = pace_clock();
    let server = start_configured(route(&Live::default()), config(true)).await;
    let stream = TcpStream::connect(server.addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    .unwrap();
    let connection = tokio::spawn(connection);
    let request = http::Request::get(format!("http://{}/hello", server.addr))
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .unwrap();
    let response = within("an answer", sender.send_request(request))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    drop(response);
    let answered = Instant::now();
    tokio::time::timeout(60 * SECOND, connection)
        .await
        .expect("the server closes the idle connection")
        .unwrap()
        .unwrap();
    let idle = answered.elapsed();
    assert!((30 * SECOND..31 * SECOND).contains(&idle), "{idle:?}");
    server.shutdown().await;
}

/// The frames of an HTTP/2 client that opens `GET /endless` and then goes
/// silent: preface, empty SETTINGS, and HEADERS (HPACK, no indexing).
fn h2_open_endless() -> Vec<u8> {
    let mut wire = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    wire.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
    let mut block = vec![0x82, 0x86]; // :method GET, :scheme http
    block.push(0x04); // :path, literal value
    block.push(8);
    block.extend_from_slice(b"/endless");
    block.push(0x01); // :authority, literal value
    block.push(1);
    block.push(b't');
    let len = block.len();
    // HEADERS, END_STREAM | END_HEADERS, stream 1.
    wire.extend_from_slice(&[0, 0, len as u8, 1, 0x5, 0, 0, 0, 1]);
    wire.extend_from_slice(&block);
    wire
}

/// A client that stops answering (a dead peer, a vanished NAT entry) has
/// its connection closed when a keep-alive ping goes unanswered: 20 s of
/// silence, then 20 s for the answer; its streams' sources are dropped.
#[tokio::test(start_paused = true)]
async fn an_http2_client_that_answers_no_ping_is_closed_and_its_streams_dropped() {
    let _pacer = pace_clock();
    let live = Live::default();
    let server = start_configured(route(&live), config(true)).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(&h2_open_endless()).await.unwrap();
    live.wait_for(1, "the stream opens").await;
    let opened = Instant::now();
    // Silent from now on: nothing written, nothing read.
    live.wait_for_within(0, 60 * SECOND, "the dead connection's stream is dropped")
        .await;
    let alive = opened.elapsed();
    assert!((39 * SECOND..42 * SECOND).contains(&alive), "{alive:?}");
    drop(stream);
    server.shutdown().await;
}

// ---------------------------------------------------------------------------
// 5: a client that stops reading
// ---------------------------------------------------------------------------

async fn a_client_that_stops_reading_is_closed(direct: bool) {
    let live = Live::default();
    let server = start_configured(route(&live), config(direct)).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"GET /firehose HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .unwrap();
    let mut wire = Vec::new();
    read_until(&mut stream, &mut wire, b"data:xxx").await;
    // Reads nothing more: the server's writes fill the socket and wait.
    let stalled = Instant::now();
    live.wait_for_within(0, 120 * SECOND, "the stalled stream is dropped")
        .await;
    let waited = stalled.elapsed();
    assert!(
        (60 * SECOND..62 * SECOND).contains(&waited),
        "direct {direct}: {waited:?}"
    );
    let (_, closed) = read_until_closed(&mut stream, 5 * SECOND).await;
    assert!(closed);
    server.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_client_that_stops_reading_is_closed_after_60_s_direct() {
    a_client_that_stops_reading_is_closed(true).await;
}

#[tokio::test(start_paused = true)]
async fn a_client_that_stops_reading_is_closed_after_60_s_hyper() {
    a_client_that_stops_reading_is_closed(false).await;
}
