//! `examples/tail.rs`, run as a user runs it (the binary `cargo test`
//! builds): one JSON object per event on stdout, headers with `-H`, resuming
//! with `Last-Event-ID`, exit 0 on the server's `204`; HTTPS with
//! `--cacert`; a proxy with `--proxy`; `PORT` for the default URL; and a
//! final error (a bad scheme, an untrusted certificate) ends it at once with
//! a non-zero status and a message that says why.

use std::path::PathBuf;
use std::process::Output;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::stream;
use http::{HeaderMap, StatusCode};
use sse_model::ServerSentEvent;
use sse_routing::{path, Route, Server};
use sse_test_support::proxy::{start_proxy, ProxyLog};
use sse_test_support::start_with;
use sse_test_support::tls::TestCertificate;
use tokio::process::Command;

/// The `tail` example binary, built by `cargo test` beside this test.
fn tail() -> PathBuf {
    let deps = std::env::current_exe().expect("the test binary");
    let binary = deps
        .parent()
        .and_then(|d| d.parent())
        .expect("target/<profile>")
        .join("examples/tail");
    assert!(
        binary.exists(),
        "{} is missing: `cargo test` builds the examples (or run `cargo build --examples`)",
        binary.display()
    );
    binary
}

async fn run(args: &[&str], port: Option<u16>) -> (Output, Duration) {
    let mut command = Command::new(tail());
    command.args(args).kill_on_drop(true).env_remove("PORT");
    for name in [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        command.env_remove(name);
    }
    if let Some(port) = port {
        command.env("PORT", port.to_string());
    }
    let started = Instant::now();
    let output = tokio::time::timeout(Duration::from_secs(30), command.output())
        .await
        .expect("tail stops by itself")
        .expect("tail runs");
    (output, started.elapsed())
}

/// Two events with ids, then the end; a client that comes back with a
/// `Last-Event-ID` gets `204`. Every request's headers are logged.
fn two_then_no_content(log: &Arc<Mutex<Vec<HeaderMap>>>) -> Route {
    let log = Arc::clone(log);
    path("events").get().complete_with(move |request| {
        log.lock().unwrap().push(request.headers().clone());
        if request.last_event_id().is_some() {
            return sse_marshal::ToResponse::to_response(StatusCode::NO_CONTENT);
        }
        let events = [
            ServerSentEvent::new("hello\nworld").with_id(1),
            ServerSentEvent::new("second")
                .with_event_type(sse_model::EventType::from_static("note"))
                .with_id(2)
                .with_retry(10),
        ];
        sse_marshal::ToResponse::to_response(stream::iter(events))
    })
}

const PRINTED: &str = "{\"type\":\"message\",\"data\":\"hello\\nworld\",\"id\":\"1\"}\n\
                       {\"type\":\"note\",\"data\":\"second\",\"id\":\"2\"}\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_as_json_lines_resumed_until_204_with_headers() {
    let log = Arc::default();
    let server = start_with(Server::new(two_then_no_content(&log))).await;
    let url = format!("http://{}/events", server.addr);
    let (output, _) = run(&["-H", "X-Token: abc", "--header", "X-Other:2", &url], None).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(stdout, PRINTED);
    let requests = log.lock().unwrap().clone();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0]["x-token"], "abc");
    assert_eq!(requests[0]["x-other"], "2");
    assert_eq!(requests[1]["last-event-id"], "2");

    // PORT gives the default URL; --last-event-id resumes at once (204).
    let (output, _) = run(&["--last-event-id", "7"], Some(server.addr.port())).await;
    assert!(output.status.success(), "{output:?}");
    assert!(output.stdout.is_empty());
    assert_eq!(log.lock().unwrap()[2]["last-event-id"], "7");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_cacert_and_through_a_proxy() {
    let cert = TestCertificate::new();
    let dir = std::env::temp_dir().join(format!("sse-tail-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert_path, _) = cert.write_to(&dir);
    let server = start_with(
        Server::new(two_then_no_content(&Arc::default())).with_tls(cert.server_config()),
    )
    .await;
    let url = format!("https://localhost:{}/events", server.addr.port());
    let proxy_log = ProxyLog::default();
    let proxy = start_proxy(&proxy_log).await;
    let proxy_url = format!("http://{proxy}");
    let (output, _) = run(
        &[
            "--cacert",
            cert_path.to_str().unwrap(),
            "--proxy",
            &proxy_url,
            &url,
        ],
        None,
    )
    .await;
    assert!(output.status.success(), "{output:?}");
    assert_eq!(String::from_utf8_lossy(&output.stdout), PRINTED);
    assert!(proxy_log
        .requests()
        .iter()
        .any(|(line, _)| line.starts_with("CONNECT localhost:")));

    // Without the CA: final, at once, and the message says why.
    let (output, took) = run(&[&url], None).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(took < Duration::from_secs(2), "{took:?}");
    assert!(stderr.contains("certificate"), "{stderr}");
    server.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_scheme_or_url_exits_at_once_saying_why() {
    for (url, says) in [
        ("ftp://127.0.0.1/events", "unsupported URL scheme"),
        ("not a url", "invalid URL"),
    ] {
        let (output, took) = run(&[url], None).await;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{url}");
        assert!(took < Duration::from_secs(2), "{url}: {took:?}");
        assert!(stderr.contains(says), "{url}: {stderr}");
    }
}
