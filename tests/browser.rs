//! The clock page in a real browser: headless Chromium's own `EventSource`
//! must receive the ticks, and never a heartbeat as a message; and ten
//! `EventSource`s on one page all receive them over HTTPS (HTTP/2), where
//! over cleartext HTTP/1.1 Chromium's six connections per origin leave
//! five of them waiting.
//!
//! The test installs what it needs through `scripts/setup-browser.sh` (Debian
//! `chromium`, npm `playwright-core` into `.tools/`; a no-op once done) and
//! drives the page with `tests/browser/eventsource_page.mjs`. Set
//! `SSE_SKIP_BROWSER=1` to skip it on a machine that cannot install them.

#[path = "../examples/clock/app.rs"]
#[allow(dead_code)]
mod app;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use sse_routing::{path, Route, Server};
use sse_test_support::start_with;
use sse_test_support::tls::TestCertificate;
use tokio::net::TcpListener;
use tokio::process::Command;
use tokio::sync::{oneshot, Mutex};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Installs Chromium and playwright-core once; `false`: skip the test.
async fn browser_ready() -> bool {
    if std::env::var_os("SSE_SKIP_BROWSER").is_some() {
        eprintln!("SSE_SKIP_BROWSER is set: skipping the browser test");
        return false;
    }
    // The two tests run at once; the script installs once.
    static SETUP: Mutex<bool> = Mutex::const_new(false);
    let mut done = SETUP.lock().await;
    if !*done {
        let setup = Command::new("bash")
            .arg(Path::new(ROOT).join("scripts/setup-browser.sh"))
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit())
            .status()
            .await
            .expect("run scripts/setup-browser.sh");
        assert!(setup.success(), "scripts/setup-browser.sh failed: {setup}");
        *done = true;
    }
    true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_eventsource_receives_ticks_and_no_heartbeat_messages() {
    if !browser_ready().await {
        return;
    }

    // Ticks every 300 ms with a heartbeat after 100 ms of silence: two
    // heartbeats go out between any two ticks.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(sse_routing::serve_with_shutdown(
        listener,
        app::app_with(Duration::from_millis(300), Duration::from_millis(100)),
        async {
            let _ = stopped.await;
        },
    ));

    let stdout = browser_check(
        "eventsource_page.mjs",
        &[url.as_str(), "--ticks", "3", "--timeout-ms", "20000"],
    )
    .await;
    assert!(
        stdout.contains("\"ok\":true"),
        "unexpected summary: {stdout}"
    );
    // Every tick is a local time such as 14:05:09.123.
    let messages = stdout
        .split("\"messages\":[")
        .nth(1)
        .and_then(|rest| rest.split(']').next())
        .expect("messages in the summary");
    let ticks: Vec<&str> = messages.split(',').map(|m| m.trim_matches('"')).collect();
    assert!(ticks.len() >= 3, "{stdout}");
    for tick in ticks {
        let b = tick.as_bytes();
        let looks_like_time = b.len() == 12
            && b[2] == b':'
            && b[5] == b':'
            && b[8] == b'.'
            && tick.chars().filter(char::is_ascii_digit).count() == 9;
        assert!(looks_like_time, "not a local time: {tick:?}");
    }

    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("the server shuts down")
        .unwrap()
        .unwrap();
}

/// Runs the browser script `tests/browser/<script>` with `args`; its stdout
/// when it succeeds (within 90 s).
async fn browser_check(script: &str, args: &[&str]) -> String {
    let run = Command::new("node")
        .arg(Path::new(ROOT).join("tests/browser").join(script))
        .args(args)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(90), run)
        .await
        .expect("the browser check stops by itself")
        .expect("run node");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{script} {args:?} failed ({}):\n{stderr}\n{stdout}",
        output.status
    );
    stdout
}

/// The clock, and `/version`: the HTTP version the server saw.
fn clock_with_version() -> Route {
    app::app_with(Duration::from_millis(300), Duration::from_millis(100)).or(path("version")
        .get()
        .complete_with(|request| format!("{:?}", request.version())))
}

/// Runs `tests/browser/many_streams.mjs` on `url`: the HTTP version the page
/// was served with, and how many messages each of ten `EventSource`s got.
async fn ten_streams_on_one_page(url: &str) -> (String, Vec<u32>) {
    let stdout = browser_check(
        "many_streams.mjs",
        &[url, "--streams", "10", "--wait-ms", "3000"],
    )
    .await;
    let summary: serde_json::Value = serde_json::from_str(stdout.trim()).expect("a JSON summary");
    let version = summary["version"].as_str().unwrap_or_default().to_owned();
    let counts = summary["counts"]
        .as_array()
        .expect("counts")
        .iter()
        .map(|n| n.as_u64().unwrap_or(0) as u32)
        .collect();
    (version, counts)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_event_streams_on_one_page_need_http2_over_tls() {
    if !browser_ready().await {
        return;
    }
    let cert = TestCertificate::new();
    let https = start_with(Server::new(clock_with_version()).with_tls(cert.server_config())).await;
    let (version, counts) = ten_streams_on_one_page(&format!("https://{}/", https.addr)).await;
    println!("measured: over HTTPS, {version}, messages per stream {counts:?}");
    assert_eq!(version, "HTTP/2.0");
    assert!(counts.iter().all(|&n| n >= 2), "{counts:?}");
    https.shutdown().await;

    let http = sse_test_support::start(clock_with_version()).await;
    let (version, counts) = ten_streams_on_one_page(&format!("http://{}/", http.addr)).await;
    println!("measured: over HTTP/1.1, messages per stream {counts:?}");
    assert_eq!(version, "HTTP/1.1");
    // Six connections per origin: the page's own stream holds one, five of
    // the ten get the others, and the rest wait for a connection.
    let served = counts.iter().filter(|&&n| n > 0).count();
    assert_eq!(served, 5, "{counts:?}");
    http.shutdown().await;
}
