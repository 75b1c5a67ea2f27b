//! The server's own HTTP/1.1 writer, byte for byte over real sockets:
//! keep-alive and pipelining, HTTP/1.0, the hand-over to hyper for requests
//! with a body, malformed and oversized heads, a client that leaves or keeps
//! talking during a stream, and a stream that fails.

use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use sse_marshal::BoxError;
use sse_model::ServerSentEvent;
use sse_routing::{path, Route};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use sse_test_support::{read_to_close, read_until, start, within, without_dates, Live};

/// A source that sends one event and then nothing, counted by `live`.
fn endless(live: &Live) -> impl futures_util::Stream<Item = ServerSentEvent> + Send + 'static {
    let guard = live.guard();
    stream::iter([ServerSentEvent::new("first")])
        .chain(stream::pending())
        .map(move |event| {
            let _ = &guard;
            event
        })
}

fn route(live: &Live) -> Route {
    let live = live.clone();
    path("events")
        .get()
        .complete(|| stream::iter([ServerSentEvent::new("a"), ServerSentEvent::new("b")]))
        .or(path("hello").get().complete("hello"))
        .or(path("echo").post().handle(|request| async move {
            let body = request.body_bytes(64).await.unwrap_or_default();
            format!("got {}", String::from_utf8_lossy(&body))
        }))
        .or(path("endless").get().complete(move || endless(&live)))
        .or(path("broken").get().complete(|| {
            stream::iter([
                Ok(ServerSentEvent::new("before")),
                Err(BoxError::from("the source failed")),
            ])
        }))
}

/// The body of a `/events` response on the wire, chunked: both events are
/// ready at once, so they go out in one chunk.
const EVENTS_CHUNKED: &str = "10\r\ndata:a\n\ndata:b\n\n\r\n0\r\n\r\n";

/// Everything the server sends until it closes the connection, as text.
async fn text_to_close(stream: &mut TcpStream) -> String {
    String::from_utf8(read_to_close(stream).await).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_requests_are_answered_in_order_on_one_connection() {
    let server = start(route(&Live::default())).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(
            b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n\
              GET /events HTTP/1.1\r\nHost: t\r\n\r\n\
              GET /nowhere HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        )
        .await
        .unwrap();
    let wire = without_dates(&text_to_close(&mut stream).await);
    let expected = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: 5\r\n\r\nhello\
         HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n\
         transfer-encoding: chunked\r\n\r\n{EVENTS_CHUNKED}\
         HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    );
    assert_eq!(wire, expected);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_with_a_body_after_a_get_goes_to_hyper_on_the_same_connection() {
    let server = start(route(&Live::default())).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .unwrap();
    let mut wire = Vec::new();
    read_until(&mut stream, &mut wire, b"hello").await;
    // The head and part of the body first: the hand-over replays what was
    // read, and hyper reads the rest from the socket.
    stream
        .write_all(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nhello")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    stream.write_all(b" world").await.unwrap();
    stream
        .write_all(b"GET /events HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let rest = text_to_close(&mut stream).await;
    assert!(rest.starts_with("HTTP/1.1 200 OK\r\n"), "{rest:?}");
    assert!(rest.contains("\r\n\r\ngot hello world"), "{rest:?}");
    assert!(rest.ends_with(EVENTS_CHUNKED), "{rest:?}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http10_client_gets_the_stream_delimited_by_the_close() {
    let server = start(route(&Live::default())).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"GET /events HTTP/1.0\r\n\r\n")
        .await
        .unwrap();
    let wire = without_dates(&text_to_close(&mut stream).await);
    assert_eq!(
        wire,
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n\
         connection: close\r\n\r\ndata:a\n\ndata:b\n\n"
    );

    // With keep-alive and a known length, the connection stays open.
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        .await
        .unwrap();
    let mut wire = Vec::new();
    read_until(&mut stream, &mut wire, b"hello").await;
    let wire = String::from_utf8(wire).unwrap();
    assert!(wire.contains("connection: keep-alive\r\n"), "{wire:?}");
    stream
        .write_all(b"GET /hello HTTP/1.0\r\n\r\n")
        .await
        .unwrap();
    let wire = text_to_close(&mut stream).await;
    assert!(wire.ends_with("\r\n\r\nhello"), "{wire:?}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_oversized_heads_are_refused_and_closed() {
    let server = start(route(&Live::default())).await;
    let cases = [
        (
            "GET /hello HTTP/1.1\r\nBad Header\r\n\r\n".to_owned(),
            "HTTP/1.1 400 Bad Request\r\n",
        ),
        (
            format!("GET /hello HTTP/1.1\r\nX: {}\r\n\r\n", "x".repeat(70_000)),
            "HTTP/1.1 431 Request Header Fields Too Large\r\n",
        ),
        // A head that never ends is refused once it passes the limit.
        (
            format!("GET /hello HTTP/1.1\r\nX: {}", "x".repeat(100_000)),
            "HTTP/1.1 431 Request Header Fields Too Large\r\n",
        ),
    ];
    for (request, status_line) in cases {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        // The server may answer and close before the whole head is sent.
        let _ = stream.write_all(request.as_bytes()).await;
        let mut wire = Vec::new();
        within("the server closes", stream.read_to_end(&mut wire))
            .await
            .expect("the response arrives whole: the server drains before closing");
        let wire = String::from_utf8(wire).unwrap();
        assert!(wire.starts_with(status_line), "{wire:?}");
        assert!(wire.contains("connection: close\r\n"), "{wire:?}");
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_that_trickles_in_byte_by_byte_is_answered() {
    let server = start(route(&Live::default())).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    for byte in b"GET /events HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n" {
        stream.write_all(&[*byte]).await.unwrap();
        tokio::task::yield_now().await;
    }
    let wire = text_to_close(&mut stream).await;
    assert!(wire.ends_with(EVENTS_CHUNKED), "{wire:?}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_talks_during_a_stream_then_leaves_has_its_source_dropped() {
    let live = Live::default();
    let server = start(route(&live)).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"GET /endless HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .unwrap();
    let mut wire = Vec::new();
    read_until(&mut stream, &mut wire, b"data:first\n\n\r\n").await;
    assert_eq!(live.count(), 1);
    // A pipelined request waits for the endless response; the stream goes on.
    stream
        .write_all(b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(live.count(), 1, "the stream still runs");
    drop(stream);
    live.wait_for(0, "the source is dropped when the client leaves")
        .await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_a_stream_with_the_last_chunk_and_closes_idle_connections() {
    let live = Live::default();
    let server = start(route(&live)).await;
    let mut streaming = TcpStream::connect(server.addr).await.unwrap();
    streaming
        .write_all(b"GET /endless HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .unwrap();
    let mut wire = Vec::new();
    read_until(&mut streaming, &mut wire, b"data:first\n\n\r\n").await;
    let mut idle = TcpStream::connect(server.addr).await.unwrap();
    idle.write_all(b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .unwrap();
    let mut idle_wire = Vec::new();
    read_until(&mut idle, &mut idle_wire, b"hello").await;

    server.shutdown().await;
    let rest = text_to_close(&mut streaming).await;
    assert_eq!(rest, "0\r\n\r\n", "the stream ends properly");
    assert_eq!(text_to_close(&mut idle).await, "");
    assert_eq!(live.count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_stream_ends_the_connection_without_the_last_chunk() {
    let server = start(route(&Live::default())).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"GET /broken HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .unwrap();
    let wire = text_to_close(&mut stream).await;
    assert!(
        wire.ends_with("\r\n\r\nd\r\ndata:before\n\n\r\n"),
        "{wire:?}"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_request_gets_the_head_and_the_connection_stays_open() {
    let server = start(route(&Live::default())).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(
            b"HEAD /events HTTP/1.1\r\nHost: t\r\n\r\n\
              GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        )
        .await
        .unwrap();
    let wire = without_dates(&text_to_close(&mut stream).await);
    assert_eq!(
        wire,
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n\r\n\
         HTTP/1.1 200 OK\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: 5\r\n\
         connection: close\r\n\r\nhello"
    );
    server.shutdown().await;
}

/// A head that never ends is answered `408` thirty seconds after its first
/// byte (`tests/hostile_clients.rs` has the other timeouts).
#[tokio::test(start_paused = true)]
async fn a_head_that_never_ends_times_out() {
    let server = start(route(&Live::default())).await;
    let mut slow = TcpStream::connect(server.addr).await.unwrap();
    slow.write_all(b"GET /hello HTTP/1.1\r\nHost: t\r\n")
        .await
        .unwrap();
    let started = tokio::time::Instant::now();

    let mut wire = Vec::new();
    tokio::time::timeout(Duration::from_secs(40), slow.read_to_end(&mut wire))
        .await
        .expect("the server gives up on the head")
        .unwrap();
    let waited = started.elapsed();
    let wire = String::from_utf8(wire).unwrap();
    assert!(
        wire.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
        "{wire:?}"
    );
    assert!(
        (Duration::from_secs(30)..Duration::from_secs(32)).contains(&waited),
        "{waited:?}"
    );
    server.shutdown().await;
}
