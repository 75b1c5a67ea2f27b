//! The interop server: one scripted Server-Sent Events scenario, served by our
//! routing and marshalling layers, for clients we did not write (headless
//! Chromium's `EventSource`, the npm `eventsource` package, Python's
//! `httpx-sse`) to receive; `scripts/interop.sh` drives them against it.
//!
//! ```text
//! cargo run --example interop_server            # port 8001
//! cargo run --example interop_server -- 0       # an ephemeral port (PORT=… works too)
//! ```
//!
//! The first line on standard output is `listening http://127.0.0.1:PORT/`.
//! Options: `--lifetime SECS` exits after that long; `--exit-with-parent`
//! exits when the process that started it goes away (so a harness killed
//! without its cleanup leaves nothing behind).
//!
//! # The scenario, per client (`/events?client=KEY`, one state per KEY)
//!
//! Connection 1 (no `Last-Event-ID` expected):
//!
//! ```text
//! :                                       a comment line
//! data:hello  event:greeting id:1 retry:300   (retry: 300 ms, browsers default to 3000)
//! data:line1  data:line2      id:2        (multi-line data, LF)
//! data:a data:b data:c data:d id:3        ("a\rb\nc\r\nd": CR and CRLF in the data)
//! :  :                                    heartbeats from `keep_alive` during 250 ms of silence
//! ```
//!
//! then the server ends the response. Connection 2 must carry
//! `Last-Event-ID: 3` and come 250..2000 ms after that end (the client
//! honoured `retry: 300`; one that waits a browser's default 3 s fails); it
//! gets `data:bye event:final id:4` and ends. Connection 3 must carry
//! `Last-Event-ID: 4`, as late as the same bounds say, and gets
//! `204 No Content`: the stream is over, and a conforming client stops. Any
//! further connection is a failure (answered 204 again).
//!
//! `/report?client=KEY` tells, as JSON, what every connection of KEY
//! carried and which checks passed; `/report` covers every client. `/`
//! serves a page whose `EventSource` runs the scenario in a browser and
//! records what it receives in `window.received`.
//!
//! `INTEROP_BREAK` makes the server misbehave on purpose, so the harness's
//! failure path can be proven: `wrong-id` (event 3 carries id `33`),
//! `no-retry` (no `retry:` field), `drop-event` (event 2 is never sent),
//! `no-204` (connection 3 gets the last event again instead of 204);
//! several may be given, comma-separated.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::{stream, StreamExt};
use http::header::{HeaderValue, ACCEPT, CONTENT_TYPE};
use http::{Response, StatusCode};
use serde_json::{json, Value};
use sse_marshal::{EventStreamExt, Html, ResponseBody, ToResponse};
use sse_model::{EventId, EventType, ServerSentEvent};
use sse_routing::{path, serve_with_shutdown, RequestContext, Route};
use tokio::net::TcpListener;
use tokio::time::Instant;

/// The `retry:` the scenario sends, in milliseconds.
const RETRY_MS: u64 = 300;
/// A reconnection this soon after the end of the previous response did not
/// wait for `retry:` (50 ms of slack for timers).
const MIN_DELAY_MS: f64 = 250.0;
/// A reconnection this late did not honour `retry: 300`: clients default to
/// 3000 ms (browsers, the npm package), so a client that ignores the field is
/// caught, with ample room for a busy machine.
const MAX_DELAY_MS: f64 = 2000.0;
/// Spacing of the first events, so that each reaches the client in a chunk
/// of its own.
const SPACING: Duration = Duration::from_millis(10);
/// The silence before the end of the first response, and the heartbeat
/// interval within it: two heartbeats go out.
const SILENCE: Duration = Duration::from_millis(250);
const HEARTBEAT: Duration = Duration::from_millis(100);

/// The page at `/`.
const PAGE: &str = r#"<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>SSE interop</title>
<h1>SSE interop</h1>
<p>Events received (<code>window.received</code>):</p>
<ol id="received"></ol>
<script>
  // The session key of this page's client: /?client=KEY (default "browser").
  const client = new URLSearchParams(location.search).get('client') || 'browser';
  window.received = [];
  window.opens = 0;
  window.errors = [];
  const es = new EventSource('/events?client=' + encodeURIComponent(client));
  window.es = es;
  const list = document.getElementById('received');
  // Named events reach only listeners for their type: listen to every type
  // the scenario sends.
  for (const type of ['message', 'greeting', 'final']) {
    es.addEventListener(type, (e) => {
      window.received.push({ type: e.type, data: e.data, lastEventId: e.lastEventId });
      const li = document.createElement('li');
      li.textContent = `${e.type} ${JSON.stringify(e.data)} (id ${e.lastEventId})`;
      list.append(li);
    });
  }
  es.addEventListener('open', () => { window.opens += 1; });
  es.addEventListener('error', () => {
    window.errors.push({ readyState: es.readyState, at: Math.round(performance.now()) });
  });
</script>
</html>
"#;

/// Ways to misbehave, from `INTEROP_BREAK`.
#[derive(Debug, Clone, Copy, Default)]
struct Breakage {
    wrong_id: bool,
    no_retry: bool,
    drop_event: bool,
    no_204: bool,
}

impl Breakage {
    fn from_env() -> Result<Self, String> {
        let mut breakage = Breakage::default();
        let value = std::env::var("INTEROP_BREAK").unwrap_or_default();
        for mode in value.split(',').map(str::trim).filter(|m| !m.is_empty()) {
            match mode {
                "wrong-id" => breakage.wrong_id = true,
                "no-retry" => breakage.no_retry = true,
                "drop-event" => breakage.drop_event = true,
                "no-204" => breakage.no_204 = true,
                other => return Err(format!("unknown INTEROP_BREAK mode {other:?}")),
            }
        }
        Ok(breakage)
    }

    fn any(&self) -> bool {
        self.wrong_id || self.no_retry || self.drop_event || self.no_204
    }
}

/// One check the server made of a connection.
#[derive(Debug)]
struct Check {
    name: &'static str,
    ok: bool,
    detail: String,
}

/// What the server saw of one connection.
#[derive(Debug)]
struct Connection {
    /// When it came, in milliseconds since the server started.
    at_ms: f64,
    last_event_id: Option<String>,
    accept: Option<String>,
    /// Since the end of the previous response, in milliseconds.
    delay_ms: Option<f64>,
    status: u16,
    heartbeats: Arc<AtomicUsize>,
    /// How the response ended: `server-closed` (the scenario's end) or
    /// `client-dropped` (the client went away first); `None` while open or
    /// for a response without a stream.
    ended: Option<&'static str>,
    checks: Vec<Check>,
}

#[derive(Debug, Default)]
struct ClientState {
    connections: Vec<Connection>,
    /// When the last event stream response ended.
    last_close: Option<Instant>,
}

#[derive(Debug)]
struct Server {
    started: Instant,
    breakage: Breakage,
    clients: Mutex<BTreeMap<String, ClientState>>,
}

type Shared = Arc<Server>;

impl Server {
    fn clients(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, ClientState>> {
        self.clients.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn since_start_ms(&self, at: Instant) -> f64 {
        millis(at.duration_since(self.started))
    }
}

fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 10_000.0).round() / 10.0
}

/// The `client` query parameter: letters, digits, `-`, `_` and `.`, at most
/// 64 of them; "default" without one.
fn client_key(request: &RequestContext) -> Result<String, String> {
    let query = request.uri().query().unwrap_or("");
    let key = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("client="))
        .unwrap_or("default");
    let valid = !key.is_empty()
        && key.len() <= 64
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if valid {
        Ok(key.to_owned())
    } else {
        Err(format!(
            "bad client key {key:?}: use [A-Za-z0-9._-]{{1,64}}"
        ))
    }
}

fn header(request: &RequestContext, name: &str) -> Option<String> {
    request
        .headers()
        .get(name)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
}

/// An optional header value for people: `"3"` or `none`.
fn shown(value: Option<&str>) -> String {
    value.map_or("none".to_owned(), |v| format!("{v:?}"))
}

fn check(name: &'static str, ok: bool, detail: String) -> Check {
    Check { name, ok, detail }
}

/// Marks the end of a response for the reconnection delay: explicitly when
/// the scenario ends the stream, or when the stream is dropped early.
struct CloseGuard {
    server: Shared,
    client: String,
    index: usize,
    done: bool,
}

impl CloseGuard {
    fn close(&mut self, how: &'static str) {
        if std::mem::replace(&mut self.done, true) {
            return;
        }
        let now = Instant::now();
        let mut clients = self.server.clients();
        if let Some(state) = clients.get_mut(&self.client) {
            state.last_close = Some(now);
            if let Some(connection) = state.connections.get_mut(self.index) {
                connection.ended = Some(how);
            }
        }
        eprintln!(
            "[{:>8.1} ms] {} #{}: response ended ({how})",
            self.server.since_start_ms(now),
            self.client,
            self.index + 1
        );
    }
}

impl Drop for CloseGuard {
    fn drop(&mut self) {
        self.close("client-dropped");
    }
}

/// Events sent after `pause`, then `silence` with heartbeats, then the end
/// of the response (recorded by `guard`).
fn scripted(
    events: Vec<ServerSentEvent>,
    pause: Duration,
    silence: Duration,
    heartbeats: Arc<AtomicUsize>,
    mut guard: CloseGuard,
) -> impl futures_util::Stream<Item = ServerSentEvent> + Send + 'static {
    let ending = stream::once(async move {
        tokio::time::sleep(silence).await;
        guard.close("server-closed");
        None
    })
    .filter_map(std::future::ready);
    stream::iter(events)
        .then(move |event| async move {
            tokio::time::sleep(pause).await;
            event
        })
        .chain(ending)
        .keep_alive(HEARTBEAT, move || {
            heartbeats.fetch_add(1, Ordering::Relaxed);
            ServerSentEvent::heartbeat()
        })
}

fn first_connection(breakage: Breakage) -> Vec<ServerSentEvent> {
    let mut greeting = ServerSentEvent::new("hello")
        .with_event_type(EventType::from_static("greeting"))
        .with_id(1);
    if !breakage.no_retry {
        greeting = greeting.with_retry(RETRY_MS);
    }
    let third_id = if breakage.wrong_id {
        EventId::from_static("33")
    } else {
        EventId::from(3)
    };
    let mut events = vec![
        // A comment line first (the heartbeat is the comment `:`).
        ServerSentEvent::heartbeat(),
        greeting,
        ServerSentEvent::new("line1\nline2").with_id(2),
        ServerSentEvent::new("a\rb\nc\r\nd").with_id(third_id),
    ];
    if breakage.drop_event {
        let _second = events.remove(2);
    }
    events
}

fn last_event() -> ServerSentEvent {
    ServerSentEvent::new("bye")
        .with_event_type(EventType::from_static("final"))
        .with_id(4)
}

/// `/events`: the scenario, one step per connection of a client.
fn events(server: &Shared, request: RequestContext) -> Response<ResponseBody> {
    let client = match client_key(&request) {
        Ok(client) => client,
        Err(message) => return (StatusCode::BAD_REQUEST, message).to_response(),
    };
    let now = Instant::now();
    let last_event_id = header(&request, "last-event-id");
    let accept = header(&request, ACCEPT.as_str());
    let heartbeats = Arc::new(AtomicUsize::new(0));

    let mut clients = server.clients();
    let state = clients.entry(client.clone()).or_default();
    let index = state.connections.len();
    let delay_ms = state
        .last_close
        .map(|close| millis(now.duration_since(close)));
    let mut checks = vec![check(
        "accept",
        accept
            .as_deref()
            .is_some_and(|a| a.contains("text/event-stream")),
        format!("Accept: {}", shown(accept.as_deref())),
    )];
    let expected_id = match index {
        0 => None,
        1 => Some("3"),
        _ => Some("4"),
    };
    checks.push(check(
        "last-event-id",
        last_event_id.as_deref() == expected_id,
        format!(
            "Last-Event-ID {}, expected {}",
            shown(last_event_id.as_deref()),
            shown(expected_id)
        ),
    ));
    if index > 0 {
        let ok = delay_ms.is_some_and(|d| (MIN_DELAY_MS..MAX_DELAY_MS).contains(&d));
        checks.push(check(
            "retry-delay",
            ok,
            match delay_ms {
                Some(delay) => format!(
                    "reconnected {delay} ms after the previous response ended; \
                     retry: {RETRY_MS} asks for {MIN_DELAY_MS}..{MAX_DELAY_MS} ms"
                ),
                None => "the previous response has not ended: two connections at once".to_owned(),
            },
        ));
    }
    if index >= 3 {
        checks.push(check(
            "stopped-on-204",
            false,
            format!("connection #{} after the 204 of #3", index + 1),
        ));
    }
    let serve_stream = index < 2 || (index == 2 && server.breakage.no_204);
    let status = if serve_stream { 200 } else { 204 };
    eprintln!(
        "[{:>8.1} ms] {client} #{}: Last-Event-ID {}, delay {} -> {status}{}",
        server.since_start_ms(now),
        index + 1,
        shown(last_event_id.as_deref()),
        delay_ms.map_or("-".to_owned(), |d| format!("{d} ms")),
        if checks.iter().all(|c| c.ok) {
            ""
        } else {
            "  (CHECK FAILED)"
        },
    );
    state.connections.push(Connection {
        at_ms: server.since_start_ms(now),
        last_event_id,
        accept,
        delay_ms,
        status,
        heartbeats: heartbeats.clone(),
        ended: None,
        checks,
    });
    drop(clients);

    if !serve_stream {
        return StatusCode::NO_CONTENT.to_response();
    }
    let guard = CloseGuard {
        server: server.clone(),
        client,
        index,
        done: false,
    };
    if index == 0 {
        let events = first_connection(server.breakage);
        scripted(events, SPACING, SILENCE, heartbeats, guard).to_response()
    } else {
        scripted(vec![last_event()], SPACING, SPACING, heartbeats, guard).to_response()
    }
}

fn connection_json(index: usize, c: &Connection) -> Value {
    json!({
        "connection": index + 1,
        "at_ms": c.at_ms,
        "last_event_id": c.last_event_id,
        "accept": c.accept,
        "delay_ms": c.delay_ms,
        "status": c.status,
        "heartbeats_sent": c.heartbeats.load(Ordering::Relaxed),
        "ended": c.ended,
        "checks": c.checks.iter().map(|k| json!({
            "check": k.name, "ok": k.ok, "detail": k.detail,
        })).collect::<Vec<_>>(),
    })
}

fn client_json(client: &str, state: &ClientState) -> Value {
    let mut problems: Vec<String> = state
        .connections
        .iter()
        .enumerate()
        .flat_map(|(i, c)| {
            c.checks
                .iter()
                .filter(|k| !k.ok)
                .map(move |k| format!("connection #{}: {}: {}", i + 1, k.name, k.detail))
        })
        .collect();
    for (i, c) in state.connections.iter().enumerate() {
        if c.ended == Some("client-dropped") {
            problems.push(format!(
                "connection #{}: the client closed it before the server ended the stream",
                i + 1
            ));
        }
    }
    let count = state.connections.len();
    if count < 3 {
        problems.push(format!(
            "{count} connection(s); the scenario takes 3 (start, resume after id 3, 204 after id 4)"
        ));
    }
    json!({
        "client": client,
        "ok": problems.is_empty(),
        "problems": problems,
        "retry_ms": RETRY_MS,
        "delay_bounds_ms": [MIN_DELAY_MS, MAX_DELAY_MS],
        "connections": state.connections.iter().enumerate()
            .map(|(i, c)| connection_json(i, c)).collect::<Vec<_>>(),
    })
}

/// `/report[?client=KEY]`.
fn report(server: &Shared, request: RequestContext) -> Response<ResponseBody> {
    let clients = server.clients();
    let body = if request.uri().query().is_some_and(|q| q.contains("client=")) {
        let client = match client_key(&request) {
            Ok(client) => client,
            Err(message) => return (StatusCode::BAD_REQUEST, message).to_response(),
        };
        match clients.get(&client) {
            Some(state) => client_json(&client, state),
            None => client_json(&client, &ClientState::default()),
        }
    } else {
        json!({
            "breakage": format!("{:?}", server.breakage),
            "clients": clients.iter().map(|(k, s)| client_json(k, s)).collect::<Vec<_>>(),
        })
    };
    let mut response = Response::new(ResponseBody::full(body.to_string()));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn app(server: Shared) -> Route {
    let for_events = server.clone();
    let for_report = server;
    path("events")
        .get()
        .complete_with(move |request| events(&for_events, request))
        .or(path("report")
            .get()
            .complete_with(move |request| report(&for_report, request)))
        .or(path("").get().complete(Html(PAGE)))
}

struct Options {
    port: u16,
    lifetime: Option<Duration>,
    exit_with_parent: bool,
}

fn options() -> Result<Options, String> {
    let mut port = std::env::var("PORT").ok();
    let mut lifetime = None;
    let mut exit_with_parent = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--lifetime" => {
                let secs: f64 = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .filter(|s: &f64| s.is_finite() && *s > 0.0)
                    .ok_or("--lifetime takes a number of seconds")?;
                lifetime = Some(Duration::from_secs_f64(secs));
            }
            "--exit-with-parent" => exit_with_parent = true,
            other if !other.starts_with('-') => port = Some(other.to_owned()),
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    let port = match port {
        Some(port) => port
            .parse()
            .map_err(|_| format!("the port must be a number, not {port:?}"))?,
        None => 8001,
    };
    Ok(Options {
        port,
        lifetime,
        exit_with_parent,
    })
}

/// Completes when the parent process has gone (this process was re-parented).
async fn parent_gone() {
    let parent = std::os::unix::process::parent_id();
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        if std::os::unix::process::parent_id() != parent {
            return;
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = options()?;
    let breakage = Breakage::from_env()?;
    let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, options.port))).await?;
    let address = listener.local_addr()?;
    // The first line of standard output, for harnesses.
    println!("listening http://{address}/");
    if breakage.any() {
        eprintln!("INTEROP_BREAK: misbehaving on purpose: {breakage:?}");
    }
    let server = Arc::new(Server {
        started: Instant::now(),
        breakage,
        clients: Mutex::new(BTreeMap::new()),
    });
    let stop = async move {
        let lifetime = async {
            match options.lifetime {
                Some(lifetime) => tokio::time::sleep(lifetime).await,
                None => std::future::pending().await,
            }
        };
        let parent = async {
            if options.exit_with_parent {
                parent_gone().await;
            } else {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => eprintln!("interrupted: shutting down"),
            () = lifetime => eprintln!("lifetime over: shutting down"),
            () = parent => eprintln!("the parent process is gone: shutting down"),
        }
    };
    serve_with_shutdown(listener, app(server), stop).await?;
    Ok(())
}
