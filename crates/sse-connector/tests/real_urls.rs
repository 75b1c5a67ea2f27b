//! The connector on real URLs, over real sockets: HTTPS with a certificate
//! made at test time (HTTP/2 by ALPN, a reconnection that resumes with
//! `Last-Event-ID`), an untrusted certificate (final, and the message says
//! so), `http` and `https` through a proxy this test runs (forwarding and
//! `CONNECT`, with the proxy's credentials), and redirects that must not take
//! credentials to another origin or from `https` to `http`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{stream, StreamExt};
use http::header::HeaderName;
use http::{HeaderMap, Response, StatusCode, Version};
use sse_connector::{EventSourceConnector, ReconnectOptions};
use sse_marshal::{EventSource, ResponseBody};
use sse_model::ServerSentEvent;
use sse_routing::{path, Route, Server};
use sse_test_support::proxy::{start_proxy, ProxyLog};
use sse_test_support::tls::TestCertificate;
use sse_test_support::{start, start_with, within};

/// What a server saw of each request.
#[derive(Debug, Clone)]
struct Seen {
    version: Version,
    headers: HeaderMap,
}

#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<Seen>>>);

impl Log {
    fn all(&self) -> Vec<Seen> {
        self.0.lock().unwrap().clone()
    }
}

/// `/events`: three events with ids after the client's `Last-Event-ID`
/// (`retry: 10` first), then the end of the response, so the client comes
/// back; every request is logged.
fn counting_route(log: &Log) -> Route {
    let log = log.clone();
    path("events").get().complete_with(move |request| {
        log.0.lock().unwrap().push(Seen {
            version: request.version(),
            headers: request.headers().clone(),
        });
        let start: u64 = request
            .last_event_id()
            .and_then(|id| id.as_str().parse().ok())
            .map_or(1, |id: u64| id + 1);
        let first = ServerSentEvent::new(start.to_string())
            .with_id(start)
            .with_retry(10);
        let rest = (start + 1..start + 3).map(|n| ServerSentEvent::new(n.to_string()).with_id(n));
        stream::iter(std::iter::once(first).chain(rest))
    })
}

fn quick() -> ReconnectOptions {
    ReconnectOptions::default()
        .with_initial_delay(Duration::from_millis(10))
        .with_max_delay(Duration::from_millis(50))
}

async fn datas(events: &mut EventSource, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for _ in 0..n {
        let event = within("an event", events.next())
            .await
            .expect("an event")
            .expect("no error");
        out.push(event.data().to_owned());
    }
    out
}

/// The one error a stream ends with.
async fn final_error(events: &mut EventSource) -> sse_marshal::Error {
    let error = within("the stream fails", events.next())
        .await
        .expect("an item")
        .expect_err("an error");
    assert!(
        within("the stream ends", events.next()).await.is_none(),
        "the stream goes on after {error}"
    );
    error
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_a_private_ca_speaks_http2_and_resumes_with_last_event_id() {
    let cert = TestCertificate::new();
    let log = Log::default();
    let server = start_with(Server::new(counting_route(&log)).with_tls(cert.server_config())).await;
    let mut events =
        EventSourceConnector::new(format!("https://localhost:{}/events", server.addr.port()))
            .unwrap()
            .with_root_certificates_pem(cert.cert_pem.as_bytes())
            .unwrap()
            .without_proxy()
            .with_reconnect(quick())
            .connect();
    assert_eq!(
        datas(&mut events, 7).await,
        ["1", "2", "3", "4", "5", "6", "7"]
    );
    let seen = log.all();
    assert!(seen.len() >= 3, "{seen:?}");
    assert!(
        seen.iter().all(|s| s.version == Version::HTTP_2),
        "{seen:?}"
    );
    assert_eq!(seen[0].headers.get("last-event-id"), None);
    assert_eq!(seen[1].headers["last-event-id"], "3");
    assert_eq!(seen[2].headers["last-event-id"], "6");
    drop(events);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_certificate_ends_the_stream_at_once_and_says_why() {
    let cert = TestCertificate::new();
    let server =
        start_with(Server::new(counting_route(&Log::default())).with_tls(cert.server_config()))
            .await;
    let mut events =
        EventSourceConnector::new(format!("https://localhost:{}/events", server.addr.port()))
            .unwrap()
            .without_proxy()
            .with_reconnect(quick())
            .connect();
    let error = final_error(&mut events).await;
    let message = error.to_string();
    println!("the message: {message}");
    let ours = sse_connector::Error::find(&error).expect("the connector's error");
    assert!(ours.is_tls() && ours.is_final(), "{ours:?}");
    assert!(
        message.contains("TLS") && message.contains("certificate"),
        "{message}"
    );
    assert!(
        message.contains(&format!("https://localhost:{}", server.addr.port())),
        "{message}"
    );
    server.shutdown().await;
}

// ---------------------------------------------------------------------------
// A proxy of the test's own
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_is_forwarded_and_https_tunnelled_by_a_proxy_with_its_credentials() {
    let proxy_log = ProxyLog::default();
    let proxy = start_proxy(&proxy_log).await;
    let log = Log::default();
    let plain = start(counting_route(&log)).await;
    let cert = TestCertificate::new();
    let tls = start_with(Server::new(counting_route(&log)).with_tls(cert.server_config())).await;

    let mut events = EventSourceConnector::new(format!("http://{}/events", plain.addr))
        .unwrap()
        .with_proxy(format!("http://user:secret@{proxy}"))
        .unwrap()
        .with_reconnect(quick())
        .connect();
    assert_eq!(datas(&mut events, 2).await, ["1", "2"]);
    drop(events);

    let mut events =
        EventSourceConnector::new(format!("https://localhost:{}/events", tls.addr.port()))
            .unwrap()
            .with_root_certificates_pem(cert.cert_pem.as_bytes())
            .unwrap()
            .with_proxy(format!("http://user:secret@{proxy}"))
            .unwrap()
            .with_reconnect(quick())
            .connect();
    assert_eq!(datas(&mut events, 2).await, ["1", "2"]);
    drop(events);

    let seen = proxy_log.requests();
    let basic = "Basic dXNlcjpzZWNyZXQ="; // user:secret
    assert!(
        seen.iter().any(|(line, auth)| line
            == &format!("GET http://{}/events HTTP/1.1", plain.addr)
            && auth.as_deref() == Some(basic)),
        "{seen:?}"
    );
    assert!(
        seen.iter().any(|(line, auth)| line
            == &format!("CONNECT localhost:{} HTTP/1.1", tls.addr.port())
            && auth.as_deref() == Some(basic)),
        "{seen:?}"
    );
    // Through the tunnel the server still spoke HTTP/2 with the client.
    assert!(log.all().iter().any(|s| s.version == Version::HTTP_2));
    plain.shutdown().await;
    tls.shutdown().await;
}

// ---------------------------------------------------------------------------
// Redirects
// ---------------------------------------------------------------------------

/// A route that answers `307` to `location` and logs what it was sent.
fn redirecting(location: String, log: &Log) -> Route {
    let log = log.clone();
    path("events").get().complete_with(move |request| {
        log.0.lock().unwrap().push(Seen {
            version: request.version(),
            headers: request.headers().clone(),
        });
        Response::builder()
            .status(StatusCode::TEMPORARY_REDIRECT)
            .header("location", location.as_str())
            .body(ResponseBody::empty())
            .unwrap()
    })
}

fn with_credentials(url: String) -> EventSourceConnector {
    EventSourceConnector::new(url)
        .unwrap()
        .without_proxy()
        .with_bearer_auth("top-secret")
        .unwrap()
        .with_header("cookie", "session=1")
        .unwrap()
        .with_header("x-api-key", "k")
        .unwrap()
        .with_sensitive_header(HeaderName::from_static("x-api-key"))
        .with_header("x-trace", "t")
        .unwrap()
        .with_reconnect(quick())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_do_not_follow_a_redirect_to_another_origin() {
    let target_log = Log::default();
    let target = start(counting_route(&target_log)).await;
    let origin_log = Log::default();
    // 127.0.0.1 and localhost are different origins, as are two ports.
    let origin = start(redirecting(
        format!("http://localhost:{}/events", target.addr.port()),
        &origin_log,
    ))
    .await;
    let mut events = with_credentials(format!("http://{}/events", origin.addr)).connect();
    assert_eq!(datas(&mut events, 3).await, ["1", "2", "3"]);
    drop(events);

    let sent_to_origin = &origin_log.all()[0].headers;
    assert_eq!(sent_to_origin["authorization"], "Bearer top-secret");
    assert_eq!(sent_to_origin["x-api-key"], "k");
    let sent_to_target = &target_log.all()[0].headers;
    for credential in ["authorization", "cookie", "x-api-key"] {
        assert!(
            !sent_to_target.contains_key(credential),
            "{credential} crossed origins: {sent_to_target:?}"
        );
    }
    assert_eq!(sent_to_target["x-trace"], "t", "other headers follow");
    origin.shutdown().await;
    target.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_follow_a_redirect_within_the_origin() {
    let log = Log::default();
    let route = path("old")
        .get()
        .complete_with(|_| {
            Response::builder()
                .status(StatusCode::PERMANENT_REDIRECT)
                .header("location", "/events")
                .body(ResponseBody::empty())
                .unwrap()
        })
        .or(counting_route(&log));
    let server = start(route).await;
    let mut events = with_credentials(format!("http://{}/old", server.addr)).connect();
    assert_eq!(datas(&mut events, 1).await, ["1"]);
    drop(events);
    let headers = &log.all()[0].headers;
    assert_eq!(headers["authorization"], "Bearer top-secret");
    assert_eq!(headers["x-api-key"], "k");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_from_https_to_http_is_refused() {
    let plain_log = Log::default();
    let plain = start(counting_route(&plain_log)).await;
    let cert = TestCertificate::new();
    let tls = start_with(
        Server::new(redirecting(
            format!("http://localhost:{}/events", plain.addr.port()),
            &Log::default(),
        ))
        .with_tls(cert.server_config()),
    )
    .await;
    let mut events = with_credentials(format!("https://localhost:{}/events", tls.addr.port()))
        .with_root_certificates_pem(cert.cert_pem.as_bytes())
        .unwrap()
        .connect();
    let error = final_error(&mut events).await;
    let ours = sse_connector::Error::find(&error).expect("the connector's error");
    assert!(ours.is_redirect() && ours.is_final(), "{ours:?}");
    assert!(error.to_string().contains("https to plain http"), "{error}");
    assert!(plain_log.all().is_empty(), "the http server was reached");
    plain.shutdown().await;
    tls.shutdown().await;
}
