//! Against a server that is not ours: `tests/third_party/sse_server.py`, a
//! standard-library Python SSE server (HTTP/1.0, `http.server`), drives the
//! reconnect scenario: `retry: 50`, events with a type and two data lines,
//! some with CRLF line ends, a reset in the middle of an event after every 7
//! events, resumption from `Last-Event-ID`, and `204` once everything was
//! delivered. So we know we speak the protocol, not just our own dialect.
//!
//! A separate process: this test runs on the real clock (about half a second:
//! seven reconnections 50 ms apart).

use std::process::Stdio;
use std::time::Duration;

use futures_util::StreamExt;
use sse_connector::{ConnectionEvent, EventSourceConnector, ReconnectOptions};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/third_party/sse_server.py"
);
const N: u64 = 50;

#[tokio::test]
async fn a_third_party_server_drives_the_reconnect_scenario() {
    let started = std::time::Instant::now();
    let mut child = match Command::new("python3")
        .arg(SCRIPT)
        .arg(N.to_string())
        .stdin(Stdio::piped()) // the server exits when this closes
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
    {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            panic!("python3 is needed for this test (a third-party SSE server) but was not found on PATH: {e}")
        }
        Err(e) => panic!("cannot start python3 {SCRIPT}: {e}"),
    };
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let port: u16 = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
        .await
        .expect("the Python server prints its port within 10 s")
        .unwrap()
        .expect("the Python server printed nothing")
        .trim()
        .parse()
        .expect("the first line is the port");

    let failures = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = failures.clone();
    let mut events = EventSourceConnector::new(format!("http://127.0.0.1:{port}/events"))
        .unwrap()
        .with_reconnect(
            ReconnectOptions::default()
                .with_initial_delay(Duration::from_millis(50))
                .with_max_attempts(Some(5)),
        )
        .with_idle_timeout(Duration::from_secs(5))
        .with_observer(move |step: &ConnectionEvent<'_>| {
            if let ConnectionEvent::Failed { error, .. } = step {
                seen.lock()
                    .unwrap()
                    .push((error.is_body(), error.to_string()));
            }
        })
        .connect();

    let mut got = Vec::new();
    let outcome = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(event) = events.next().await {
            got.push(event.expect("no final error"));
        }
    })
    .await;
    assert!(
        outcome.is_ok(),
        "the stream did not end in 20 s; got {} events",
        got.len()
    );

    let ids: Vec<u64> = got
        .iter()
        .map(|e| e.id().expect("every event has an id").parse().unwrap())
        .collect();
    assert_eq!(
        ids,
        (1..=N).collect::<Vec<_>>(),
        "all events, once, in order"
    );
    for (event, n) in got.iter().zip(1..) {
        let kind = if n % 2 == 1 { "tick" } else { "tock" };
        assert_eq!(event.event_type(), Some(kind), "event {n}");
        assert_eq!(event.data(), format!("event {n}\nof {N}"), "event {n}");
    }
    // Seven resets (after events 7, 14, .., 49); the last connection ends
    // cleanly and the next answer is 204.
    let failures = failures.lock().unwrap().clone();
    assert_eq!(failures.len(), 7, "{failures:?}");
    assert!(
        failures.iter().all(|(body, _)| *body),
        "every drop is a body failure: {failures:?}"
    );
    println!(
        "third party: {N} events over 8 connections, {} failures, {:?} of real time",
        failures.len(),
        started.elapsed()
    );
    drop(child); // kill_on_drop
}
