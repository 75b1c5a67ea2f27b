//! Our client side against servers we did not write:
//! `tests/third_party/sse_server.py` (Python's standard library, HTTP/1.0,
//! read-until-close bodies, CRLF on some events) and
//! `tests/third_party/sse_server.mjs` (Node's plain `http` module, HTTP/1.1
//! chunked, LF, CR-alone and CRLF line ends, every event split over two
//! chunks, one of them between a CR and its LF, comments, default-typed
//! events, a data value that keeps a leading space). Both send `retry: 50`,
//! resume from `Last-Event-ID`, reset the connection in the middle of an
//! event after every 7 events, and answer 204 once everything was delivered.
//!
//! - The unmarshaller: one GET with a hyper client and
//!   `Unmarshal::new(response).to::<EventSource>()` yields exactly the events
//!   of the first connection, and the lost connection as an error, never the
//!   half event that preceded the reset (both servers).
//! - The reconnecting client: `EventSourceConnector` receives all N events
//!   once, in order, through the resets, resuming with the right
//!   `Last-Event-ID` and waiting the server's `retry: 50` (not its own 3 s
//!   default), and ends on 204 (the Node server here;
//!   `crates/sse-connector/tests/third_party.rs` does this against the Python
//!   server).

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::Empty;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use sse_connector::{ConnectionEvent, EventSourceConnector};
use sse_marshal::{EventSource, Unmarshal};
use sse_model::ServerSentEvent;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
/// Events per connection before a server resets it.
const PER_CONNECTION: u64 = 7;

/// A server process, killed when dropped (each also exits when its standard
/// input closes, or after 60 s).
struct Server {
    _child: Child,
    port: u16,
}

async fn start(program: &str, script: &str, n: u64) -> Server {
    let path = format!("{ROOT}/tests/third_party/{script}");
    let mut child = match Command::new(program)
        .arg(&path)
        .arg(n.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
    {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "{program} is needed for this test (a third-party SSE server) but was not found on PATH: {e}"
        ),
        Err(e) => panic!("cannot start {program} {path}: {e}"),
    };
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let port = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
        .await
        .unwrap_or_else(|_| panic!("{script} prints its port within 10 s"))
        .unwrap()
        .unwrap_or_else(|| panic!("{script} printed nothing"))
        .trim()
        .parse()
        .expect("the first line is the port");
    Server {
        _child: child,
        port,
    }
}

/// An event as (type, data, id), the type defaulting to `message`.
type Seen = (String, String, Option<String>);

fn seen(event: &ServerSentEvent) -> Seen {
    (
        event.event_type().unwrap_or("message").to_owned(),
        event.data().to_owned(),
        event.id().map(str::to_owned),
    )
}

/// What `sse_server.py` sends as event `n` of `total`.
fn python_event(n: u64, total: u64) -> Seen {
    let kind = if n % 2 == 1 { "tick" } else { "tock" };
    (
        kind.to_owned(),
        format!("event {n}\nof {total}"),
        Some(n.to_string()),
    )
}

/// What `sse_server.mjs` sends as event `n` of `total`.
fn node_event(n: u64, total: u64) -> Seen {
    let odd = n % 2 == 1;
    let kind = match (n % 3, odd) {
        (0, _) => "message",
        (_, true) => "alpha",
        (_, false) => "beta",
    };
    let mut data = format!("event {n}\nof {total}");
    if !odd {
        data.push_str("\n indented");
    }
    (kind.to_owned(), data, Some(n.to_string()))
}

/// One GET, unmarshalled: the events until the stream ends, and how it ended.
async fn one_response(port: u16) -> (Vec<Seen>, Option<sse_marshal::Error>) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let request = http::Request::get(format!("http://127.0.0.1:{port}/events"))
        .header(http::header::ACCEPT, "text/event-stream")
        .body(Empty::new())
        .unwrap();
    let response = tokio::time::timeout(Duration::from_secs(10), client.request(request))
        .await
        .expect("the server answers within 10 s")
        .expect("the request succeeds");
    assert_eq!(response.status(), 200);
    let mut events = Unmarshal::new(response)
        .to::<EventSource>()
        .await
        .expect("a text/event-stream response");
    let mut got = Vec::new();
    loop {
        let next = tokio::time::timeout(Duration::from_secs(10), events.next())
            .await
            .expect("the stream moves within 10 s");
        match next {
            Some(Ok(event)) => got.push(seen(&event)),
            Some(Err(error)) => return (got, Some(error)),
            None => return (got, None),
        }
    }
}

async fn unmarshals_the_first_connection(
    program: &str,
    script: &str,
    expected: fn(u64, u64) -> Seen,
) {
    const N: u64 = 20;
    let server = start(program, script, N).await;
    let (got, end) = one_response(server.port).await;
    let want: Vec<Seen> = (1..=PER_CONNECTION).map(|n| expected(n, N)).collect();
    assert_eq!(
        got, want,
        "{script}: exactly the events before the first reset"
    );
    // The reset comes after half of event 8: the stream fails, and the half
    // event is never delivered.
    let error =
        end.unwrap_or_else(|| panic!("{script}: the reset must end the stream with an error"));
    println!("{script}: {} events, then: {error}", got.len());
}

#[tokio::test]
async fn unmarshalling_a_python_stdlib_server() {
    unmarshals_the_first_connection("python3", "sse_server.py", python_event).await;
}

#[tokio::test]
async fn unmarshalling_a_node_http_server() {
    unmarshals_the_first_connection("node", "sse_server.mjs", node_event).await;
}

#[tokio::test]
async fn the_connector_resumes_through_a_node_http_server_until_204() {
    const N: u64 = 40;
    let server = start("node", "sse_server.mjs", N).await;
    let started = std::time::Instant::now();

    #[derive(Debug, Default)]
    struct Log {
        sent_ids: Vec<Option<String>>,
        waits: Vec<Duration>,
        failures: usize,
        ended: usize,
    }
    let log = Arc::new(Mutex::new(Log::default()));
    let observed = log.clone();
    // Default reconnect options: without the server's `retry: 50` the client
    // would wait 3 s between connections.
    let mut events = EventSourceConnector::new(format!("http://127.0.0.1:{}/events", server.port))
        .unwrap()
        .with_idle_timeout(Duration::from_secs(5))
        .with_observer(move |step: &ConnectionEvent<'_>| {
            let mut log = observed.lock().unwrap();
            match step {
                ConnectionEvent::Connecting { last_event_id, .. } => {
                    log.sent_ids.push(last_event_id.map(str::to_owned));
                }
                ConnectionEvent::Retrying { delay, .. } => log.waits.push(*delay),
                ConnectionEvent::Failed { .. } => log.failures += 1,
                ConnectionEvent::Ended => log.ended += 1,
                _ => {}
            }
        })
        .connect();

    let mut got = Vec::new();
    let outcome = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(event) = events.next().await {
            got.push(seen(&event.expect("no final error")));
        }
    })
    .await;
    assert!(
        outcome.is_ok(),
        "the stream did not end in 20 s; got {} events",
        got.len()
    );
    let want: Vec<Seen> = (1..=N).map(|n| node_event(n, N)).collect();
    assert_eq!(got, want, "all events, once, in order");

    let log = log.lock().unwrap();
    // Connections deliver 1..=7, 8..=14, .., 36..=40 (a clean end), then 204.
    let cuts = (N - 1) / PER_CONNECTION;
    let mut want_ids = vec![None];
    want_ids.extend((1..=cuts).map(|c| Some((c * PER_CONNECTION).to_string())));
    want_ids.push(Some(N.to_string()));
    assert_eq!(log.sent_ids, want_ids, "Last-Event-ID of every request");
    assert_eq!(log.failures as u64, cuts, "one failure per reset: {log:?}");
    assert_eq!(log.ended, 2, "the clean end and the 204: {log:?}");
    assert!(
        log.waits.iter().all(|w| *w == Duration::from_millis(50)),
        "every reconnection waits the server's retry: 50: {:?}",
        log.waits
    );
    println!(
        "node: {N} events over {} connections, {cuts} resets, in {:?}",
        log.sent_ids.len(),
        started.elapsed()
    );
}
