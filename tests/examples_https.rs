//! The clock and chat examples serve HTTPS (HTTP/2 by ALPN) when `TLS_CERT`
//! and `TLS_KEY` name PEM files, and refuse to start, naming the file, when
//! one is bad. The examples run as the processes `cargo run --example`
//! starts (`cargo test` builds them beside the tests).

use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::Empty;
use hyper_util::rt::{TokioExecutor, TokioIo};
use sse_test_support::example_process::{example_path, Example};
use sse_test_support::tls::TestCertificate;
use sse_test_support::within;
use tokio::process::Command;

async fn https_events_over_http2(name: &str) {
    let dir = std::env::temp_dir().join(format!("sse-example-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cert = TestCertificate::new();
    let (cert_path, key_path) = cert.write_to(&dir);
    let example = Example::start(name, &[("TLS_CERT", &cert_path), ("TLS_KEY", &key_path)]).await;
    let url = example.url.clone();
    let addr = url
        .strip_prefix("https://")
        .unwrap_or_else(|| panic!("{name} does not say https: {url}"))
        .trim_end_matches('/')
        .parse()
        .unwrap();

    let tls = cert.connect(addr, &[b"h2", b"http/1.1"]).await;
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
            .await
            .unwrap();
    tokio::spawn(connection);
    let request = Request::get("https://localhost/events")
        .body(Empty::<Bytes>::new())
        .unwrap();
    let response = within("the event stream's head", sender.send_request(request))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.version(), http::Version::HTTP_2);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    drop((response, sender, example));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clock_serves_https_with_http2() {
    https_events_over_http2("clock").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chat_serves_https_with_http2() {
    https_events_over_http2("chat").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_certificate_file_stops_the_example_naming_the_file() {
    let missing = std::env::temp_dir().join("sse-example-no-such-cert.pem");
    let output = Command::new(example_path("clock"))
        .env("PORT", "0")
        .env("TLS_CERT", &missing)
        .env("TLS_KEY", &missing)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(20), output)
        .await
        .expect("the example stops")
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("sse-example-no-such-cert.pem"), "{stderr}");

    let output = Command::new(example_path("clock"))
        .env("PORT", "0")
        .env("TLS_CERT", &missing)
        .env_remove("TLS_KEY")
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success() && stderr.contains("TLS_KEY"),
        "{stderr}"
    );
}
