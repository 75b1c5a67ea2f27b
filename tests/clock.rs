//! The clock example end to end: the same app as `cargo run --example clock`,
//! with short timings.
//!
//! # Timing
//!
//! The socket tests run on the real clock with short real periods (200 ms
//! ticks, 60 ms keep-alive): tokio's paused clock auto-advances whenever the
//! runtime is idle, and a runtime waiting on a socket is idle, so on a paused
//! clock timers (and `timeout`s) would fire while bytes are still in flight.
//! They assert only the order of what arrives, never exact times, and
//! `tokio::time::timeout` is only an upper bound. The exact keep-alive timing
//! is checked without sockets, on the paused clock, by driving
//! `Route::respond` and polling the response body directly.

#[path = "../examples/clock/app.rs"]
#[allow(dead_code)] // `app()` is for `main`; the tests use `app_with`.
mod app;

use std::time::Duration;

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HOST};
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use sse_test_support::{start, within, TestServer};

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

/// The clock app with 200 ms ticks and a heartbeat after 60 ms of silence,
/// served on `127.0.0.1:0`.
async fn start_clock() -> TestServer {
    start(app::app_with(ms(200), ms(60))).await
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Decodes the complete chunks at the start of a chunked body that is still
/// arriving; an incomplete last chunk is left out.
fn dechunk_prefix(mut wire: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    while let Some(line_end) = find(wire, b"\r\n") {
        let size = std::str::from_utf8(&wire[..line_end]).unwrap();
        let size = usize::from_str_radix(size, 16).expect("a hex chunk size");
        assert_ne!(size, 0, "the clock never ends its stream");
        let chunk = &wire[line_end + 2..];
        if chunk.len() < size + 2 {
            break;
        }
        body.extend_from_slice(&chunk[..size]);
        assert_eq!(&chunk[size..size + 2], b"\r\n", "a chunk ends with CRLF");
        wire = &chunk[size + 2..];
    }
    body
}

/// Whether `data` is a local time as `HH:MM:SS.mmm`; returns it in
/// milliseconds since midnight.
fn parse_time(data: &str) -> Option<u64> {
    let b = data.as_bytes();
    let shape = b.len() == 12
        && [2, 5].iter().all(|&i| b[i] == b':')
        && b[8] == b'.'
        && [0, 1, 3, 4, 6, 7, 9, 10, 11]
            .iter()
            .all(|&i| b[i].is_ascii_digit());
    if !shape {
        return None;
    }
    let n = |range: std::ops::Range<usize>| data[range].parse::<u64>().unwrap();
    let (h, m, s, milli) = (n(0..2), n(3..5), n(6..8), n(9..12));
    (h < 24 && m < 60 && s < 60).then_some(((h * 60 + m) * 60 + s) * 1000 + milli)
}

/// One block of the clock's stream.
#[derive(Debug, PartialEq)]
enum Block {
    Heartbeat,
    /// A tick, in milliseconds since midnight.
    Tick(u64),
}

/// Splits a body into its blocks; every block must be a heartbeat (`:`) or a
/// tick (`data:HH:MM:SS.mmm`). A trailing incomplete block is left out.
fn blocks(body: &str) -> Vec<Block> {
    let complete = &body[..body.rfind("\n\n").map_or(0, |end| end + 2)];
    complete
        .split_terminator("\n\n")
        .map(|block| match block {
            ":" => Block::Heartbeat,
            _ => {
                let time = block
                    .strip_prefix("data:")
                    .and_then(parse_time)
                    .unwrap_or_else(|| panic!("neither a heartbeat nor a tick: {block:?}"));
                Block::Tick(time)
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_are_ticks_with_heartbeats_between_them_on_the_wire() {
    let server = start_clock().await;

    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"GET /events HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .unwrap();
    let mut wire = Vec::new();
    let mut buf = [0u8; 4096];
    // Read until two ticks have come: about 400 ms.
    let (head, body) = within("two ticks arrive", async {
        loop {
            let n = stream.read(&mut buf).await.unwrap();
            assert!(n > 0, "the server closed the stream");
            wire.extend_from_slice(&buf[..n]);
            let Some(end) = find(&wire, b"\r\n\r\n") else {
                continue;
            };
            let body = String::from_utf8(dechunk_prefix(&wire[end + 4..])).unwrap();
            if body.matches("data:").count() >= 2 {
                break (String::from_utf8(wire[..end].to_vec()).unwrap(), body);
            }
        }
    })
    .await;
    drop(stream);

    let head = head.to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200 ok\r\n"), "{head}");
    assert!(
        head.contains("\r\ncontent-type: text/event-stream\r\n"),
        "{head}"
    );
    assert!(head.contains("\r\ncache-control: no-cache\r\n"), "{head}");
    assert!(
        head.contains("\r\ntransfer-encoding: chunked\r\n"),
        "{head}"
    );

    // Every byte of the body is a heartbeat `:\n\n` or a tick
    // `data:HH:MM:SS.mmm\n\n`, and the body is made of whole blocks.
    assert!(body.ends_with("\n\n"), "{body:?}");
    let got = blocks(&body);
    let ticks: Vec<(usize, u64)> = got
        .iter()
        .enumerate()
        .filter_map(|(i, b)| match b {
            Block::Tick(time) => Some((i, *time)),
            Block::Heartbeat => None,
        })
        .collect();
    let [(first, t1), (second, t2)] = ticks[..] else {
        panic!("two ticks: {got:?}");
    };
    // 60 ms of silence gets a heartbeat, and a tick comes every 200 ms: the
    // first tick comes one period after connecting, with heartbeats before it,
    // and heartbeats separate the ticks.
    assert!(first >= 1, "heartbeats before the first tick: {got:?}");
    assert!(second - first >= 2, "heartbeats between the ticks: {got:?}");
    // The ticks are one period apart (modulo midnight).
    let apart = (t2 + 86_400_000 - t1) % 86_400_000;
    assert!(
        (100..5_000).contains(&apart),
        "ticks {apart} ms apart: {body:?}"
    );

    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_at_root_opens_an_event_source_on_events() {
    let server = start_clock().await;

    let stream = TcpStream::connect(server.addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let request = Request::get("/")
        .header(HOST, server.addr.to_string())
        .body(Empty::<Bytes>::new())
        .unwrap();
    let response = within("the page", sender.send_request(request))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()[CONTENT_TYPE].to_str().unwrap();
    assert!(
        content_type.starts_with("text/html"),
        "content type {content_type}"
    );
    let body = within("the whole page", response.into_body().collect())
        .await
        .unwrap()
        .to_bytes();
    let page = std::str::from_utf8(&body).unwrap();
    assert_eq!(page, app::PAGE);
    assert!(page.contains("new EventSource('/events')"), "{page}");

    server.shutdown().await;
}

/// No sockets here, so the paused clock is exact: with a 2 s period and a 1 s
/// keep-alive, a heartbeat comes at 1 s, a tick at 2 s, a heartbeat at 3 s, a
/// tick at 4 s, and so on; the tick at 4 s also restarts the idle time, so no
/// heartbeat comes with it.
#[tokio::test(start_paused = true)]
async fn keep_alive_timing_on_the_paused_clock() {
    let start = Instant::now();
    let request = Request::get("/events").body(Empty::<Bytes>::new()).unwrap();
    let response = app::app_with(Duration::from_secs(2), Duration::from_secs(1))
        .respond(request)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CONTENT_TYPE], "text/event-stream");
    assert_eq!(response.headers()[CACHE_CONTROL], "no-cache");

    let mut body = response.into_body();
    let mut got = Vec::new();
    for _ in 0..6 {
        let frame = body
            .frame()
            .await
            .expect("the clock goes on")
            .expect("no error");
        let data = frame.into_data().expect("a data frame");
        got.push((start.elapsed(), String::from_utf8(data.to_vec()).unwrap()));
    }

    let expected_times = [1_000, 2_000, 3_000, 4_000, 5_000, 6_000].map(ms);
    let times: Vec<Duration> = got.iter().map(|(t, _)| *t).collect();
    assert_eq!(times, expected_times, "{got:?}");
    for (i, (at, frame)) in got.iter().enumerate() {
        if i % 2 == 0 {
            assert_eq!(frame, ":\n\n", "a heartbeat at {at:?}");
        } else {
            let time = frame
                .strip_prefix("data:")
                .and_then(|rest| rest.strip_suffix("\n\n"))
                .and_then(parse_time);
            assert!(time.is_some(), "a tick at {at:?}: {frame:?}");
        }
    }
}
