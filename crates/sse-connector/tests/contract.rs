//! What a peer's client contract suite (LaunchDarkly's SSE contract tests)
//! expects of a reconnecting client beyond the basics, over real sockets:
//! large events arrive whole by default, comments can be observed but are
//! never events, and the caller can force a reconnection that resumes with
//! `Last-Event-ID` and loses nothing.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{stream, StreamExt};
use http::Response;
use sse_connector::{ConnectionEvent, EventSourceConnector, ReconnectOptions};
use sse_marshal::{EventSource, ResponseBody, ServerSentEventSettings};
use sse_model::ServerSentEvent;
use sse_routing::{path, Route};
use sse_test_support::{start, within};

fn connector(url: String) -> EventSourceConnector {
    EventSourceConnector::new(url)
        .unwrap()
        .without_proxy()
        .with_reconnect(ReconnectOptions::default().with_initial_delay(Duration::from_millis(10)))
}

async fn next(events: &mut EventSource) -> ServerSentEvent {
    within("an event", events.next())
        .await
        .expect("an event")
        .expect("no error")
}

/// A 7 MB event, then a 14 MB one: LLM answers and base64 images.
fn large_events() -> Route {
    path("events").get().complete(|| {
        stream::iter([
            ServerSentEvent::new("a".repeat(7_000_000)),
            ServerSentEvent::new("b".repeat(14_000_000)),
        ])
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_events_arrive_whole_by_default() {
    let server = start(large_events()).await;
    let mut events = connector(format!("http://{}/events", server.addr))
        .one_shot()
        .connect();
    let first = next(&mut events).await;
    assert_eq!(first.data().len(), 7_000_000);
    let second = next(&mut events).await;
    assert_eq!(second.data().len(), 14_000_000);
    assert!(second.data().bytes().all(|b| b == b'b'));
    drop(events);

    // Beyond the limit the stream ends, and the message says what to raise.
    let mut events = connector(format!("http://{}/events", server.addr))
        .with_settings(ServerSentEventSettings::default().with_max_line_size(1 << 20))
        .connect();
    let error = within("the error", events.next())
        .await
        .expect("an item")
        .expect_err("a final error");
    assert!(error.is_oversized(), "{error}");
    assert!(error.to_string().contains("with_max_line_size"), "{error}");
    assert!(within("the end", events.next()).await.is_none());
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn comments_reach_the_observer_and_never_the_stream() {
    let route = path("events").get().complete_with(|_| {
        Response::builder()
            .header("content-type", "text/event-stream")
            .body(ResponseBody::full(": hello\n:\ndata: x\n\n: after\n\n"))
            .unwrap()
    });
    let server = start(route).await;
    let comments = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&comments);
    let mut events = connector(format!("http://{}/events", server.addr))
        .one_shot()
        .with_observer(move |step: &ConnectionEvent<'_>| {
            if let ConnectionEvent::Comment { text } = step {
                seen.lock().unwrap().push((*text).to_owned());
            }
        })
        .connect();
    assert_eq!(next(&mut events).await.data(), "x");
    assert!(
        within("the end", events.next()).await.is_none(),
        "only one event"
    );
    assert_eq!(*comments.lock().unwrap(), [" hello", "", " after"]);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forced_reconnection_resumes_after_the_last_event_and_loses_nothing() {
    let requests = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&requests);
    // Numbered events after the client's Last-Event-ID, one every 20 ms,
    // for ever.
    let route = path("events").get().complete_with(move |request| {
        let last = request.last_event_id().map(|id| id.as_str().to_owned());
        log.lock().unwrap().push(last.clone());
        let start: u64 = last
            .and_then(|id| id.parse().ok())
            .map_or(1, |id: u64| id + 1);
        let ticks = tokio_stream::wrappers::IntervalStream::new(tokio::time::interval(
            Duration::from_millis(20),
        ));
        ticks.enumerate().map(move |(i, _)| {
            let n = start + i as u64;
            ServerSentEvent::new(n.to_string()).with_id(n)
        })
    });
    let server = start(route).await;
    let (mut events, handle) =
        connector(format!("http://{}/events", server.addr)).connect_with_handle();
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(next(&mut events).await.data().to_owned());
    }
    handle.reconnect();
    for _ in 0..3 {
        got.push(next(&mut events).await.data().to_owned());
    }
    assert_eq!(
        got,
        ["1", "2", "3", "4", "5", "6"],
        "nothing lost, nothing twice"
    );
    let requests = requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert_eq!(requests[0], None);
    // The reconnection resumed after the last event the client had read.
    assert_eq!(requests[1].as_deref(), Some("3"), "{requests:?}");
    drop(events);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_has_the_last_event_id_in_effect_and_its_own_id() {
    let route = path("events").get().complete_with(|_| {
        Response::builder()
            .header("content-type", "text/event-stream")
            .body(ResponseBody::full(
                "id: abc\ndata: first\n\ndata: second\n\n",
            ))
            .unwrap()
    });
    let server = start(route).await;
    let mut events = connector(format!("http://{}/events", server.addr))
        .one_shot()
        .connect();
    let first = next(&mut events).await;
    let second = next(&mut events).await;
    assert_eq!(
        (first.id(), first.last_event_id()),
        (Some("abc"), Some("abc"))
    );
    assert_eq!((second.id(), second.last_event_id()), (None, Some("abc")));
    server.shutdown().await;
}
