//! Edge cases of the server's own HTTP/1.1 path (crates/sse-routing/src/direct_http1),
//! each from a review that compared it with RFC 9112 and with hyper: framing
//! of handler responses, the hand-over decision, closing without destroying a
//! response, cooperative scheduling, shutdown, and the head timeout after a
//! hand-over.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::{self, StreamExt};
use http::{Response, StatusCode};
use http_body_util::StreamBody;
use hyper::body::Frame;
use sse_marshal::ResponseBody;
use sse_routing::{path, Route};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use sse_test_support::{start, within};

const BIG: usize = 16 * 1024 * 1024;

fn big_body() -> Bytes {
    Bytes::from((0..BIG).map(|i| (i % 251) as u8).collect::<Vec<u8>>())
}

fn route() -> Route {
    let big = big_body();
    path("hello")
        .get()
        .complete("hello")
        .or(path("echo").post().handle(|request| async move {
            let body = request.body_bytes(64).await.unwrap_or_default();
            format!("got {}", String::from_utf8_lossy(&body))
        }))
        // A handler that wants this connection closed after its response.
        .or(path("bye").get().complete_with(|_| {
            Response::builder()
                .header("connection", "close")
                .body(ResponseBody::full("bye"))
                .unwrap()
        }))
        .or(path("bye").post().complete_with(|_| {
            Response::builder()
                .header("connection", "close")
                .body(ResponseBody::full("bye"))
                .unwrap()
        }))
        .or(path("big")
            .get()
            .complete(move || Response::new(ResponseBody::full(big.clone()))))
        // Never ending, always ready, large frames: a fast producer.
        .or(path("firehose").get().complete(|| {
            let chunk = Bytes::from(vec![b'x'; 64 * 1024]);
            let frames =
                stream::repeat_with(move || Ok::<_, Infallible>(Frame::data(chunk.clone())));
            Response::new(ResponseBody::new(StreamBody::new(frames)))
        }))
        .or(path("firehose").post().complete(|| {
            let chunk = Bytes::from(vec![b'x'; 64 * 1024]);
            let frames =
                stream::repeat_with(move || Ok::<_, Infallible>(Frame::data(chunk.clone())));
            Response::new(ResponseBody::new(StreamBody::new(frames)))
        }))
        // Three large frames of distinct patterns, unknown length: chunked.
        .or(path("chunks").get().complete(|| {
            let frames = stream::iter((0u8..3).map(|k| {
                let data: Vec<u8> = (0..(1 << 20) + 7)
                    .map(|i: usize| (i as u8).wrapping_mul(3).wrapping_add(k))
                    .collect();
                Ok::<_, Infallible>(Frame::data(Bytes::from(data)))
            }))
            .chain(stream::once(async {
                tokio::task::yield_now().await;
                Ok(Frame::data(Bytes::from_static(b"tail")))
            }));
            Response::new(ResponseBody::new(StreamBody::new(frames)))
        }))
        .or(path("nocontent").get().complete_with(|_| {
            Response::builder()
                .status(StatusCode::NO_CONTENT)
                .header("content-length", "0")
                .body(ResponseBody::empty())
                .unwrap()
        }))
        .or(path("early")
            .get()
            .complete(StatusCode::from_u16(103).unwrap()))
        .or(path("twolengths").get().complete_with(|_| {
            Response::builder()
                .header("content-length", "3")
                .header("content-length", "5")
                .body(ResponseBody::full("hello"))
                .unwrap()
        }))
        .or(path("pluslength").get().complete_with(|_| {
            Response::builder()
                .header("content-length", "+5")
                .body(ResponseBody::full("hello"))
                .unwrap()
        }))
}

/// Reads until EOF, an error, or `quiet` without bytes; returns the bytes
/// and how it ended.
async fn read_for(stream: &mut TcpStream, quiet: Duration) -> (Vec<u8>, &'static str) {
    let mut wire = Vec::new();
    let mut buf = vec![0; 64 * 1024];
    loop {
        match tokio::time::timeout(quiet, stream.read(&mut buf)).await {
            Err(_) => return (wire, "still open"),
            Ok(Ok(0)) => return (wire, "eof"),
            Ok(Ok(n)) => wire.extend_from_slice(&buf[..n]),
            Ok(Err(e)) if e.kind() == io::ErrorKind::ConnectionReset => return (wire, "reset"),
            Ok(Err(_)) => return (wire, "error"),
        }
    }
}

fn lossy(wire: &[u8]) -> String {
    String::from_utf8_lossy(wire).into_owned()
}

async fn exchange(addr: SocketAddr, request: &[u8]) -> (String, &'static str) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let (wire, end) = read_for(&mut stream, Duration::from_millis(500)).await;
    (lossy(&wire), end)
}

// ---------------------------------------------------------------------------
// Request framing / the fast-path-vs-hyper decision
// ---------------------------------------------------------------------------

/// RFC 9112 6.3 (5): a request with an invalid Content-Length (empty is
/// invalid: 1*DIGIT) MUST get 400 and a close. hyper does that; the fast
/// path takes an empty value as "no body" (`.any(|b| b != b'0')` is false
/// for an empty value).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_content_length_is_a_bad_request() {
    let server = start(route()).await;
    // Control: a non-digit length goes to hyper, which refuses it.
    let (wire, _) = exchange(
        server.addr,
        b"GET /hello HTTP/1.1\r\nHost: t\r\nContent-Length: x\r\n\r\n",
    )
    .await;
    assert!(wire.starts_with("HTTP/1.1 400"), "control: {wire:?}");
    let (wire, end) = exchange(
        server.addr,
        b"GET /hello HTTP/1.1\r\nHost: t\r\nContent-Length:\r\n\r\n",
    )
    .await;
    assert!(
        wire.starts_with("HTTP/1.1 400"),
        "empty Content-Length answered as a bodiless request ({end}): {wire:?}"
    );
    server.shutdown().await;
}

/// A request line that is the HTTP/2 preface after HTTP/1.1 requests on the
/// same connection: the fast path hands it to hyper's auto builder, which
/// then speaks HTTP/2 in the middle of an HTTP/1.1 connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2_preface_mid_connection_does_not_switch_protocols() {
    let server = start(route()).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\nPRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        .await
        .unwrap();
    let (wire, end) = read_for(&mut stream, Duration::from_millis(300)).await;
    let text = lossy(&wire);
    let after = &wire[text.find("hello").map(|i| i + 5).unwrap_or(0)..];
    // An HTTP/2 SETTINGS frame: 3-byte length, type 0x4, flags, stream 0.
    let h2_settings = after.len() >= 9 && after[3] == 4;
    assert!(
        !h2_settings,
        "after an HTTP/1.1 exchange the server answered with HTTP/2 frames ({end}): {after:?}"
    );
    server.shutdown().await;
}

/// Things the fast path gets right (expected to pass).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn framing_edge_cases_that_are_fine() {
    let server = start(route()).await;
    // Leading empty line before the request line (RFC 9112 2.2 SHOULD ignore).
    let (wire, _) = exchange(
        server.addr,
        b"\r\nGET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(
        wire.starts_with("HTTP/1.1 200") && wire.ends_with("hello"),
        "{wire:?}"
    );
    // TE + CL: hyper takes it, reads the chunked body, and closes (RFC 9112 6.1).
    let (wire, end) = exchange(
        server.addr,
        b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\nGET /hello HTTP/1.1\r\nHost: t\r\n\r\n",
    )
    .await;
    assert!(
        wire.contains("got hi") && !wire.ends_with("hello") && end == "eof",
        "{end} {wire:?}"
    );
    // Obs-fold in a request and whitespace before the colon: 400.
    for bad in [
        &b"GET /hello HTTP/1.1\r\nHost: t\r\nX: a\r\n b\r\n\r\n"[..],
        &b"GET /hello HTTP/1.1\r\nHost: t\r\nTransfer-Encoding : chunked\r\n\r\n"[..],
    ] {
        let (wire, _) = exchange(server.addr, bad).await;
        assert!(
            wire.starts_with("HTTP/1.1 400"),
            "{:?}: {wire:?}",
            lossy(bad)
        );
    }
    // HTTP/1.0 with Transfer-Encoding goes to hyper: 400.
    let (wire, _) = exchange(
        server.addr,
        b"POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    )
    .await;
    assert!(wire.starts_with("HTTP/1.1 400"), "{wire:?}");
    // A body without a length is no body: the bytes are the next "request".
    let (wire, end) = exchange(
        server.addr,
        b"POST /echo HTTP/1.1\r\nHost: t\r\n\r\nhello\r\n\r\n",
    )
    .await;
    assert!(
        wire.starts_with("HTTP/1.1 200") && wire.contains("got ") && wire.contains("HTTP/1.1 400"),
        "{end} {wire:?}"
    );
    server.shutdown().await;
}

// ---------------------------------------------------------------------------
// Response framing
// ---------------------------------------------------------------------------

/// hyper ends the connection after a response whose handler set
/// `Connection: close` (role.rs, `is_last`). The fast path removes the
/// header and keeps the connection alive, answering the next request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handlers_connection_close_is_honoured() {
    let server = start(route()).await;
    // Control: the same route answered by hyper (the request has a body).
    let (wire, end) = exchange(
        server.addr,
        b"POST /bye HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\nx\
          GET /hello HTTP/1.1\r\nHost: t\r\n\r\n",
    )
    .await;
    assert!(
        wire.contains("connection: close") && wire.ends_with("bye") && end == "eof",
        "control (hyper): {end} {wire:?}"
    );
    let (wire, end) = exchange(
        server.addr,
        b"GET /bye HTTP/1.1\r\nHost: t\r\n\r\nGET /hello HTTP/1.1\r\nHost: t\r\n\r\n",
    )
    .await;
    assert!(
        wire.contains("connection: close") && wire.ends_with("bye") && end == "eof",
        "fast path: {end} {wire:?}"
    );
    server.shutdown().await;
}

/// A final response with a 1xx status: hyper turns it into 500 and closes;
/// the fast path sends it as is with no final response (a client waits for
/// the real one forever).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_1xx_final_response_is_not_sent_as_is() {
    let server = start(route()).await;
    let (wire, end) = exchange(server.addr, b"GET /early HTTP/1.1\r\nHost: t\r\n\r\n").await;
    assert!(
        !wire.starts_with("HTTP/1.1 103"),
        "a 103 as the only response ({end}): {wire:?}"
    );
    server.shutdown().await;
}

/// RFC 9110 8.6: a server MUST NOT send Content-Length in a 204.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_content_length_in_a_204() {
    let server = start(route()).await;
    let (wire, end) = exchange(
        server.addr,
        b"GET /nocontent HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(
        wire.starts_with("HTTP/1.1 204") && !wire.contains("content-length"),
        "{end} {wire:?}"
    );
    server.shutdown().await;
}

/// Handler framing headers the writer trusts: two different content-length
/// values, and "+5" (Rust's u64 parse takes a sign). Either is an invalid
/// response for a client / intermediary; hyper refuses both (user header
/// error) rather than sending them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handler_content_length_headers_are_sent_only_when_valid() {
    let server = start(route()).await;
    let (two, _) = exchange(
        server.addr,
        b"GET /twolengths HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    )
    .await;
    let (plus, _) = exchange(
        server.addr,
        b"GET /pluslength HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    )
    .await;
    let lengths = two.matches("content-length:").count();
    assert!(
        lengths <= 1 && !plus.contains("content-length: +5"),
        "two lengths: {two:?}\nplus: {plus:?}"
    );
    server.shutdown().await;
}

/// Partial writes of a head + huge chunk writev to a slow reader with a small
/// receive buffer: every byte arrives, in order (expected to pass).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_chunks_survive_partial_writes() {
    let server = start(route()).await;
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket.connect(server.addr).await.unwrap();
    stream
        .write_all(b"GET /chunks HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut wire = Vec::new();
    within("the body arrives", async {
        let mut buf = [0; 3000];
        loop {
            let n = stream.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            wire.extend_from_slice(&buf[..n]);
        }
    })
    .await;
    let head_end = wire.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert!(lossy(&wire[..head_end]).contains("transfer-encoding: chunked"));
    let mut rest = &wire[head_end..];
    let mut body = Vec::new();
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n").unwrap();
        let size =
            usize::from_str_radix(std::str::from_utf8(&rest[..line_end]).unwrap(), 16).unwrap();
        rest = &rest[line_end + 2..];
        if size == 0 {
            assert_eq!(rest, b"\r\n");
            break;
        }
        body.extend_from_slice(&rest[..size]);
        assert_eq!(&rest[size..size + 2], b"\r\n");
        rest = &rest[size + 2..];
    }
    let mut expected = Vec::new();
    for k in 0u8..3 {
        expected.extend((0..(1usize << 20) + 7).map(|i| (i as u8).wrapping_mul(3).wrapping_add(k)));
    }
    expected.extend_from_slice(b"tail");
    assert_eq!(body.len(), expected.len());
    assert!(body == expected, "body bytes differ");
    server.shutdown().await;
}

// ---------------------------------------------------------------------------
// Closing
// ---------------------------------------------------------------------------

/// RFC 9112 9.6: closing with unread input resets the connection and can
/// destroy a response the client has not read yet; a server closes in
/// stages (half-close, then drain). The fast path drains only after 400/431;
/// after a `Connection: close` response it shuts down and drops the socket at
/// once. A client that pipelined bytes after the request loses the tail of a
/// large response.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_close_with_unread_client_bytes_does_not_destroy_the_response() {
    let server = start(route()).await;
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(8192).unwrap();
    let mut stream = socket.connect(server.addr).await.unwrap();
    stream
        .write_all(b"GET /big HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut first = [0; 1024];
    let n = within("the response starts", stream.read(&mut first))
        .await
        .unwrap();
    assert!(n > 0);
    // The server is now writing the body; it has read the head and will not
    // read again. Pipelined bytes arrive unread.
    stream
        .write_all(b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut wire = first[..n].to_vec();
    let (rest, end) = within("read", read_for(&mut stream, Duration::from_secs(2))).await;
    wire.extend_from_slice(&rest);
    let head_end = wire.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let got = wire.len() - head_end;
    assert!(
        got == BIG && end == "eof",
        "received {got} of {BIG} body bytes, then {end}"
    );
    server.shutdown().await;
}

fn tiny_firehose_route() -> Route {
    let body = || {
        let frames =
            stream::repeat_with(|| Ok::<_, Infallible>(Frame::data(Bytes::from_static(b"x"))));
        Response::new(ResponseBody::new(StreamBody::new(frames)))
    };
    path("tiny")
        .get()
        .complete(body)
        .or(path("tiny").post().complete(body))
}

/// Runs a blocking reader on its own thread for `for_ms`, while a ticker task
/// on the (single-threaded) server runtime counts 1 ms sleeps. Returns ticks.
async fn ticks_while_a_fast_reader_drains(request: &'static [u8], for_ms: u64) -> u64 {
    use std::io::{Read, Write};
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    let server = start(tiny_firehose_route()).await;
    let ticks = Arc::new(AtomicU64::new(0));
    let ticker = {
        let ticks = Arc::clone(&ticks);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(1)).await;
                ticks.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    // Let the ticker start.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let addr = server.addr;
    let seen = Arc::clone(&ticks);
    let reader = std::thread::spawn(move || {
        let mut client = std::net::TcpStream::connect(addr).unwrap();
        client.write_all(request).unwrap();
        let start = std::time::Instant::now();
        let before = seen.load(Ordering::SeqCst);
        let mut buf = vec![0; 1 << 20];
        while start.elapsed() < Duration::from_millis(for_ms) {
            if client.read(&mut buf).unwrap_or(0) == 0 {
                break;
            }
        }
        let during = seen.load(Ordering::SeqCst) - before;
        drop(client);
        during
    });
    // Wait for the reader without blocking the runtime thread.
    let during = loop {
        if reader.is_finished() {
            break reader.join().unwrap();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    ticker.abort();
    server.shutdown().await;
    during
}

/// `readable()/writable()` + `try_write*` take no cooperative budget
/// (tokio's Registration::readiness has no poll_proceed), and an always-ready
/// body never returns Pending: while a fast client keeps the socket
/// writable, the connection task never yields. On a current-thread runtime
/// every other task (timers included) starves. hyper's poll_write goes
/// through poll_proceed and yields every 128 writes.
#[tokio::test]
async fn an_always_ready_body_does_not_starve_the_runtime() {
    let during =
        ticks_while_a_fast_reader_drains(b"GET /tiny HTTP/1.1\r\nHost: t\r\n\r\n", 500).await;
    assert!(
        during >= 50,
        "a 1 ms ticker ticked {during} times in 500 ms"
    );
}

async fn slow_response_during_shutdown(request: &'static [u8]) -> (String, &'static str) {
    let slow = || async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        "hello"
    };
    let server = start(
        path("slow")
            .get()
            .handle(move |_| slow())
            .or(path("slow").post().handle(move |_| slow())),
    )
    .await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    tokio::time::sleep(Duration::from_millis(10)).await;
    server.stop.send(()).unwrap();
    let (wire, end) = read_for(&mut stream, Duration::from_secs(1)).await;
    within("serve_with_shutdown returns", server.task)
        .await
        .unwrap()
        .unwrap();
    (lossy(&wire), end)
}

/// A response whose handler was already running when shutdown began: the
/// handler completes with a whole, fixed-length body, but UntilShutdown
/// ends the body before its first frame, so the head promises 5 bytes and
/// none follow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fixed_response_in_flight_at_shutdown_is_sent_whole() {
    let (wire, end) = slow_response_during_shutdown(b"GET /slow HTTP/1.1\r\nHost: t\r\n\r\n").await;
    assert!(wire.ends_with("\r\n\r\nhello"), "{end}: {wire:?}");
}

/// 81a653f bounds a trickled head to 30 s on the fast path only. Once one
/// request with a body has handed the connection to hyper (built without a
/// timer, so hyper's own header_read_timeout is inert), a trickled head on
/// the same connection is waited for without limit.
#[tokio::test(start_paused = true)]
async fn a_trickled_head_after_a_hand_over_also_times_out() {
    let server = start(route()).await;
    let mut slow = TcpStream::connect(server.addr).await.unwrap();
    slow.write_all(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\nx")
        .await
        .unwrap();
    let mut wire = Vec::new();
    let mut buf = [0; 1024];
    while !lossy(&wire).contains("got x") {
        let n = tokio::time::timeout(Duration::from_secs(5), slow.read(&mut buf))
            .await
            .expect("echo answered")
            .unwrap();
        assert!(n > 0);
        wire.extend_from_slice(&buf[..n]);
    }
    slow.write_all(b"GET /hello HTTP/1.1\r\nHost: t\r\n")
        .await
        .unwrap();
    let mut rest = Vec::new();
    let ended = tokio::time::timeout(Duration::from_secs(120), slow.read_to_end(&mut rest)).await;
    assert!(
        ended.is_ok(),
        "a partial head on a handed-over connection still waited for after 120 s"
    );
    server.shutdown().await;
}

/// A client that stopped reading keeps its response's write waiting for
/// ever; shutdown closes it after the grace period (10 s), so
/// `serve_with_shutdown` returns. On the paused clock.
#[tokio::test(start_paused = true)]
async fn shutdown_closes_a_connection_whose_client_stopped_reading_after_a_grace_period() {
    let server = start(route()).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"GET /big HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .unwrap();
    let mut first = [0; 1024];
    stream.read_exact(&mut first).await.unwrap();
    // The client reads no more: the server's write waits.

    let started = tokio::time::Instant::now();
    server.stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(30), server.task)
        .await
        .expect("serve_with_shutdown returns after the grace period")
        .unwrap()
        .unwrap();
    let waited = started.elapsed();
    assert!(
        (Duration::from_secs(10)..Duration::from_secs(12)).contains(&waited),
        "{waited:?}"
    );
}
