//! HTTPS: a route served over TLS (rustls, a certificate made at test
//! time), with HTTP/2 chosen by ALPN, over real sockets. Many event streams
//! share one connection, each dropped when its stream is reset; a stream
//! whose client stops reading does not make the server buffer; the stream
//! limit, keep-alive, shutdown and the timeouts hold as in cleartext; a bad
//! handshake disturbs no one; bad certificate files are clear errors.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::{self, StreamExt};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo};
use sse_marshal::{EventSource, EventStreamExt, Unmarshal};
use sse_model::ServerSentEvent;
use sse_routing::{path, Route, Server, ServerConfig, TlsConfig};
use sse_test_support::tls::TestCertificate;
use sse_test_support::{pace_clock, start_with, within, Live, TestServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

const SECOND: Duration = Duration::from_secs(1);

/// `/ticks`: an event every 10 ms, counted by `live`; `/firehose`: 16 KiB
/// events as fast as they are taken, each one counted in `produced`.
fn route(live: &Live, produced: &Arc<AtomicUsize>) -> Route {
    let ticks_live = live.clone();
    let firehose_live = live.clone();
    let produced = Arc::clone(produced);
    path("hello")
        .get()
        .complete("hello")
        .or(path("ticks").get().complete(move || {
            let guard = ticks_live.guard();
            let ticks = tokio_stream::wrappers::IntervalStream::new(tokio::time::interval(
                Duration::from_millis(10),
            ));
            ticks
                .enumerate()
                .map(move |(n, _)| {
                    let _ = &guard;
                    ServerSentEvent::new(n.to_string())
                })
                .keep_alive(SECOND, ServerSentEvent::heartbeat)
        }))
        .or(path("firehose").get().complete(move || {
            let guard = firehose_live.guard();
            let produced = Arc::clone(&produced);
            let data = "x".repeat(16 * 1024);
            stream::repeat_with(move || {
                let _ = &guard;
                produced.fetch_add(1, Ordering::SeqCst);
                ServerSentEvent::new(data.clone())
            })
        }))
}

async fn start_tls(cert: &TestCertificate, route: Route, config: ServerConfig) -> TestServer {
    start_with(
        Server::new(route)
            .with_config(config)
            .with_tls(cert.server_config()),
    )
    .await
}

async fn h2_client(cert: &TestCertificate, server: &TestServer) -> SendRequest<Empty<Bytes>> {
    let tls = cert.connect(server.addr, &[b"h2", b"http/1.1"]).await;
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
            .await
            .unwrap();
    tokio::spawn(connection);
    sender
}

fn get(path: &str) -> Request<Empty<Bytes>> {
    Request::get(format!("https://localhost{path}"))
        .body(Empty::new())
        .unwrap()
}

async fn events(response: Response<Incoming>) -> EventSource {
    assert_eq!(response.status(), StatusCode::OK);
    Unmarshal::new(response).to::<EventSource>().await.unwrap()
}

async fn next_data(events: &mut EventSource) -> String {
    within("the next event", events.next())
        .await
        .expect("an event")
        .expect("no error")
        .data()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_event_streams_share_one_http2_connection_and_a_reset_drops_only_its_own() {
    let cert = TestCertificate::new();
    let live = Live::default();
    let server = start_tls(&cert, route(&live, &Arc::default()), ServerConfig::new()).await;
    let mut sender = h2_client(&cert, &server).await;
    let mut streams = Vec::new();
    for _ in 0..10 {
        let response = within("a response", sender.send_request(get("/ticks")))
            .await
            .unwrap();
        assert_eq!(response.version(), http::Version::HTTP_2);
        streams.push(events(response).await);
    }
    for stream in &mut streams {
        next_data(stream).await;
    }
    assert_eq!(live.count(), 10, "ten sources on one connection");

    // Dropping a response resets its stream: its source goes, the rest go on.
    drop(streams.remove(3));
    live.wait_for(9, "the reset stream's source is dropped")
        .await;
    for stream in &mut streams {
        next_data(stream).await;
    }
    drop(streams);
    live.wait_for(0, "every source is dropped").await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http11_client_is_served_over_tls_too() {
    let cert = TestCertificate::new();
    let live = Live::default();
    let server = start_tls(&cert, route(&live, &Arc::default()), ServerConfig::new()).await;
    let tls = cert.connect(server.addr, &[b"http/1.1"]).await;
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .unwrap();
    tokio::spawn(connection);
    let request = Request::get("/ticks")
        .header("host", "localhost")
        .body(Empty::<Bytes>::new())
        .unwrap();
    let response = within("a response", sender.send_request(request))
        .await
        .unwrap();
    let mut stream = events(response).await;
    assert_eq!(next_data(&mut stream).await, "0");
    assert_eq!(next_data(&mut stream).await, "1");
    drop(stream);
    drop(sender);
    live.wait_for(0, "the source is dropped").await;

    // No ALPN at all is HTTP/1.1 as well.
    let mut plain = cert.connect(server.addr, &[]).await;
    plain
        .write_all(b"GET /hello HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut wire = Vec::new();
    within("the answer", plain.read_to_end(&mut wire))
        .await
        .unwrap();
    let wire = String::from_utf8(wire).unwrap();
    assert!(
        wire.starts_with("HTTP/1.1 200 OK") && wire.ends_with("hello"),
        "{wire:?}"
    );
    server.shutdown().await;
}

/// HTTP/2 flow control: a stream whose client reads nothing stops being
/// fed once its window is full; the server does not keep polling its
/// source into a buffer. Another stream on the same connection goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_whose_client_stops_reading_does_not_grow_server_memory() {
    let cert = TestCertificate::new();
    let live = Live::default();
    let produced = Arc::new(AtomicUsize::new(0));
    let server = start_tls(&cert, route(&live, &produced), ServerConfig::new()).await;
    let mut sender = h2_client(&cert, &server).await;
    let stalled = within("a response", sender.send_request(get("/firehose")))
        .await
        .unwrap();
    let mut ticking = events(
        within("a response", sender.send_request(get("/ticks")))
            .await
            .unwrap(),
    )
    .await;
    // The client reads the ticks, never the firehose.
    for _ in 0..20 {
        next_data(&mut ticking).await;
    }
    let after_a_while = produced.load(Ordering::SeqCst);
    for _ in 0..20 {
        next_data(&mut ticking).await;
    }
    let later = produced.load(Ordering::SeqCst);
    assert_eq!(after_a_while, later, "the source is still polled");
    // What the client's window let through is with the client; the server
    // holds at most the rest: hyper's send buffer for the stream (400 KiB)
    // and the frame in hand.
    let mut body = stalled.into_body();
    let mut received = 0;
    while let Some(Some(Ok(frame))) = futures_util::FutureExt::now_or_never(body.frame()) {
        received += frame.into_data().map_or(0, |data| data.len());
    }
    let produced_bytes = later * "data:\n\n".len() + later * 16 * 1024;
    let held = produced_bytes - received;
    println!(
        "measured: {produced_bytes} bytes produced, {received} with the client, {held} at most held by the server"
    );
    assert!(
        held <= 432 * 1024,
        "{held} bytes held for a stream that is not read"
    );
    drop(body);
    drop(ticking);
    live.wait_for(0, "both sources are dropped").await;
    server.shutdown().await;
}

/// At the stream limit a client's next request waits for a free stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_concurrent_stream_limit_holds_per_connection() {
    let cert = TestCertificate::new();
    let live = Live::default();
    let config = ServerConfig::new().with_http2_max_concurrent_streams(2);
    let server = start_tls(&cert, route(&live, &Arc::default()), config).await;
    let mut sender = h2_client(&cert, &server).await;
    let mut first = events(sender.send_request(get("/ticks")).await.unwrap()).await;
    let mut second = events(sender.send_request(get("/ticks")).await.unwrap()).await;
    next_data(&mut first).await;
    next_data(&mut second).await;
    let third = tokio::spawn(sender.send_request(get("/ticks")));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !third.is_finished(),
        "a third stream opened beyond the limit"
    );
    assert_eq!(live.count(), 2);
    drop(first);
    let third = within("the third stream opens", third)
        .await
        .unwrap()
        .unwrap();
    let mut third = events(third).await;
    next_data(&mut third).await;
    drop((second, third));
    live.wait_for(0, "the sources are dropped").await;
    server.shutdown().await;
}

/// A client that is not speaking TLS, or aborts its handshake, costs its
/// own connection only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_handshake_disturbs_no_other_connection() {
    let cert = TestCertificate::new();
    let live = Live::default();
    let server = start_tls(&cert, route(&live, &Arc::default()), ServerConfig::new()).await;
    let mut sender = h2_client(&cert, &server).await;
    let mut open = events(sender.send_request(get("/ticks")).await.unwrap()).await;
    next_data(&mut open).await;

    let mut cleartext = TcpStream::connect(server.addr).await.unwrap();
    cleartext
        .write_all(b"GET /hello HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut wire = Vec::new();
    let _ = within(
        "the server drops the cleartext client",
        cleartext.read_to_end(&mut wire),
    )
    .await;
    assert!(!String::from_utf8_lossy(&wire).contains("hello"));
    let untrusting = TestCertificate::new(); // trusts a different certificate
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    let refused = tokio_rustls::TlsConnector::from(untrusting.client_config(&[b"h2"]))
        .connect(
            rustls_pki_types::ServerName::try_from("localhost").unwrap(),
            tcp,
        )
        .await;
    assert!(
        refused.is_err(),
        "the handshake with an untrusted certificate succeeded"
    );

    for _ in 0..5 {
        next_data(&mut open).await;
    }
    let mut again = h2_client(&cert, &server).await;
    let response = again.send_request(get("/hello")).await.unwrap();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"hello");
    drop(open);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_the_streams_of_a_tls_connection_and_returns() {
    let cert = TestCertificate::new();
    let live = Live::default();
    let server = start_tls(&cert, route(&live, &Arc::default()), ServerConfig::new()).await;
    let mut sender = h2_client(&cert, &server).await;
    let mut a = events(sender.send_request(get("/ticks")).await.unwrap()).await;
    let mut b = events(sender.send_request(get("/ticks")).await.unwrap()).await;
    next_data(&mut a).await;
    next_data(&mut b).await;
    server.shutdown().await;
    for stream in [&mut a, &mut b] {
        let end = within("the stream ends", async {
            while let Some(item) = stream.next().await {
                let _ = item.expect("a clean end");
            }
        });
        end.await;
    }
    live.wait_for(0, "the sources are dropped").await;
}

/// The first-byte timeout bounds the handshake; the idle timeout closes an
/// HTTP/2 connection without streams, over TLS as in cleartext.
#[tokio::test(start_paused = true)]
async fn silent_and_idle_tls_connections_are_closed_after_30_s() {
    let _pacer = pace_clock();
    let cert = TestCertificate::new();
    let server = start_tls(
        &cert,
        route(&Live::default(), &Arc::default()),
        ServerConfig::new(),
    )
    .await;

    let mut silent = TcpStream::connect(server.addr).await.unwrap();
    let connected = Instant::now();
    let mut sink = Vec::new();
    tokio::time::timeout(60 * SECOND, silent.read_to_end(&mut sink))
        .await
        .expect("the silent connection is closed")
        .unwrap();
    let waited = connected.elapsed();
    assert!((30 * SECOND..31 * SECOND).contains(&waited), "{waited:?}");

    let tls = cert.connect(server.addr, &[b"h2"]).await;
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
            .await
            .unwrap();
    let connection = tokio::spawn(connection);
    let response = sender.send_request(get("/hello")).await.unwrap();
    response.into_body().collect().await.unwrap();
    let answered = Instant::now();
    tokio::time::timeout(60 * SECOND, connection)
        .await
        .expect("the idle connection is closed")
        .unwrap()
        .unwrap();
    let idle = answered.elapsed();
    assert!((30 * SECOND..31 * SECOND).contains(&idle), "{idle:?}");
    server.shutdown().await;
}

#[test]
fn bad_certificate_and_key_files_are_errors_that_name_the_file() {
    let dir = std::env::temp_dir().join(format!("sse-routing-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cert = TestCertificate::new();
    let (cert_path, key_path) = cert.write_to(&dir);
    let missing = dir.join("missing.pem");
    let garbage = dir.join("garbage.pem");
    std::fs::write(&garbage, "not PEM at all\n").unwrap();
    let other_key = dir.join("other-key.pem");
    std::fs::write(&other_key, TestCertificate::new().key_pem).unwrap();

    assert!(TlsConfig::from_pem_files(&cert_path, &key_path).is_ok());
    let cases = [
        (&missing, &key_path, "missing.pem", "cannot read"),
        (&cert_path, &missing, "missing.pem", "cannot read"),
        (&garbage, &key_path, "garbage.pem", "no PEM certificate"),
        (&key_path, &key_path, "key.pem", "no PEM certificate"),
        (&cert_path, &cert_path, "cert.pem", "no PEM private key"),
        (&cert_path, &other_key, "other-key.pem", "refuses"),
    ];
    for (cert_file, key_file, named, says) in cases {
        let error = TlsConfig::from_pem_files(cert_file, key_file).unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains(named) && message.contains(says),
            "{cert_file:?} + {key_file:?}: {message}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
