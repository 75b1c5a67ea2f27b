//! The reconnecting client against a fault-injecting server (see
//! `support/mod.rs`): requests and their headers, connections cut mid-event
//! (at every byte, by reset, close and broken chunking), a server killed and
//! restarted, `5xx` with backoff and `Retry-After`, `204`, `4xx`, a wrong
//! content type, `retry:`, a silent server (idle timeout), redirects,
//! dropping the stream, one-shot mode, `max_attempts`, the observer.
//!
//! Everything runs on tokio's paused clock (`start_paused`, current-thread
//! runtime, the server on the same runtime). Tests that measure delays keep
//! no other timer pending and assert exact gaps; tests with an idle timeout
//! or an upper bound pace the clock (1 ms steps) and allow a little slack
//! (under 25 ms on a 1 s timeout; in practice 1 to 3 ms). The module docs of
//! `support` explain why.

mod support;

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use futures_util::StreamExt;
use sse_connector::{EventSourceConnector, ReconnectOptions};
use sse_marshal::ServerSentEventSettings;
use sse_model::{EventId, ServerSentEvent};
use support::{
    answer, body, drain, head, ids_and_data, ms, no_content, pace_clock, sse_head,
    sse_head_chunked, stream, watchdog, within, Observed, Recorder, Seen, Step, TestServer,
    Watchdog,
};
use tokio::time::Instant;

/// Quick reconnections, no jitter: delays are exact.
fn options() -> ReconnectOptions {
    ReconnectOptions::default()
        .with_initial_delay(ms(100))
        .with_jitter(0.0)
}

fn client(server: &TestServer, recorder: &Recorder) -> EventSourceConnector {
    EventSourceConnector::new(server.uri("/events"))
        .unwrap()
        .with_reconnect(options())
        .with_observer(recorder.observer())
}

fn guard(name: &'static str) -> Watchdog {
    watchdog(name, Duration::from_secs(20))
}

fn data(events: &[ServerSentEvent]) -> Vec<&str> {
    events.iter().map(ServerSentEvent::data).collect()
}

fn lei(requests: &[Seen]) -> Vec<Option<&str>> {
    requests.iter().map(Seen::last_event_id).collect()
}

/// The paused-clock time from the end of request `i`'s connection to the
/// arrival of request `i + 1`.
fn gaps(requests: &[Seen]) -> Vec<Duration> {
    requests
        .windows(2)
        .map(|w| w[1].arrived - w[0].finished.expect("a finished connection"))
        .collect()
}

fn ok_events(text: &str) -> Vec<Step> {
    stream(text)
}

fn assert_all_client_headers(requests: &[Seen]) {
    for request in requests {
        request.assert_client_headers();
        assert_eq!(request.path, "/events");
    }
}

/// Waits long after the stream ended and checks no request followed.
async fn assert_no_more_requests(server: &TestServer, count: usize) {
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(server.requests().len(), count, "requests after the end");
}

// ---------------------------------------------------------------------------
// Requests

#[tokio::test(start_paused = true)]
async fn every_request_carries_accept_cache_control_and_the_last_event_id_when_known() {
    let _guard = guard("headers");
    let server = TestServer::scripted(vec![
        ok_events("id: 1\ndata: a\n\n"),
        // A bare `id` clears the last event id: the next request has none.
        ok_events("data: b\nid\n\n"),
        ok_events("id: 7\ndata: c\n\n"),
        // Also in a block that dispatches nothing.
        ok_events("id\n\ndata: d\n\n"),
    ])
    .await;
    let recorder = Recorder::default();
    let (events, error) = drain(&mut client(&server, &recorder).connect()).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(data(&events), ["a", "b", "c", "d"]);
    let requests = server.requests();
    assert_all_client_headers(&requests);
    assert_eq!(lei(&requests), [None, Some("1"), None, Some("7"), None]);
    // A healthy connection resets the backoff: every reconnection waits
    // exactly the initial delay.
    assert_eq!(gaps(&requests), [ms(100); 4]);
    assert_no_more_requests(&server, 5).await;
}

#[tokio::test(start_paused = true)]
async fn the_initial_last_event_id_is_sent_on_the_first_request() {
    let _guard = guard("initial id");
    let server = TestServer::scripted(vec![ok_events("id: 42\ndata: x\n\n")]).await;
    let recorder = Recorder::default();
    let connector = client(&server, &recorder).with_last_event_id(EventId::from(41));
    let (events, error) = drain(&mut connector.connect()).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(data(&events), ["x"]);
    let requests = server.requests();
    assert_all_client_headers(&requests);
    assert_eq!(lei(&requests), [Some("41"), Some("42")]);
    assert_eq!(
        recorder.steps()[0],
        Observed::Connecting {
            uri: server.uri("/events").to_string(),
            last_event_id: Some("41".into()),
        }
    );
}

#[tokio::test(start_paused = true)]
async fn an_empty_initial_last_event_id_sends_no_header() {
    let _guard = guard("empty initial id");
    let server = TestServer::scripted(vec![ok_events("data: x\n\n")]).await;
    let recorder = Recorder::default();
    let connector = client(&server, &recorder).with_last_event_id(EventId::new("").unwrap());
    let (events, error) = drain(&mut connector.connect()).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(data(&events), ["x"]);
    let requests = server.requests();
    assert_all_client_headers(&requests);
    assert_eq!(lei(&requests), [None, None]);
}

#[tokio::test(start_paused = true)]
async fn a_custom_sender_gets_the_prepared_request() {
    use bytes::Bytes;
    use http_body_util::Empty;
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;

    let _guard = guard("sender");
    let server = TestServer::scripted(vec![ok_events("id: 1\ndata: a\n\n")]).await;
    let http = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let recorder = Recorder::default();
    let connector = client(&server, &recorder).with_sender(move |request: http::Request<()>| {
        let (mut parts, ()) = request.into_parts();
        parts
            .headers
            .insert("authorization", "Bearer t0ken".parse().unwrap());
        http.request(http::Request::from_parts(parts, Empty::new()))
    });
    let (events, error) = drain(&mut connector.connect()).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(data(&events), ["a"]);
    let requests = server.requests();
    assert_all_client_headers(&requests);
    assert_eq!(lei(&requests), [None, Some("1")]);
    for request in &requests {
        assert_eq!(request.header("authorization"), Some("Bearer t0ken"));
    }
}

// ---------------------------------------------------------------------------
// Connections cut mid-event

const TWO_EVENTS: &str = "id: 1\ndata: one\n\nid: 2\ndata: two\n\n";
const FIRST_END: usize = "id: 1\ndata: one\n\n".len();

#[derive(Debug, Clone, Copy, PartialEq)]
enum Cut {
    /// A reset, on a close-delimited body.
    Reset,
    /// A clean close (FIN), on a close-delimited body: to the client, the
    /// body simply ends.
    Close,
    /// A clean close in the middle of a chunked body: an incomplete body.
    ChunkedClose,
}

/// The first connection sends `TWO_EVENTS[..at]` and is cut; later ones
/// serve from the `Last-Event-ID` and end cleanly.
async fn cut_server(at: usize, cut: Cut) -> TestServer {
    TestServer::start(move |seen| {
        if seen.index == 0 {
            let prefix = TWO_EVENTS.as_bytes()[..at].to_vec();
            return match cut {
                Cut::Reset => vec![sse_head(), Step::Write(prefix), Step::Reset],
                Cut::Close => vec![sse_head(), Step::Write(prefix), Step::Close],
                Cut::ChunkedClose => {
                    let mut steps = vec![sse_head_chunked()];
                    if !prefix.is_empty() {
                        steps.push(Step::Chunk(prefix));
                    }
                    steps.push(Step::Close);
                    steps
                }
            };
        }
        match seen.last_event_id() {
            None => stream(TWO_EVENTS),
            Some("1") => stream("id: 2\ndata: two\n\n"),
            Some("2") => no_content(),
            Some(other) => panic!("unexpected Last-Event-ID {other:?}"),
        }
    })
    .await
}

/// Cuts the first connection at every byte of two events, three ways: the
/// client delivers both events exactly once, never a partial one, and
/// resumes after the last complete event.
#[tokio::test(start_paused = true)]
async fn a_cut_at_any_byte_loses_and_repeats_nothing() {
    let _guard = guard("cut at every byte");
    for cut in [Cut::Reset, Cut::Close, Cut::ChunkedClose] {
        for at in 0..=TWO_EVENTS.len() {
            let server = cut_server(at, cut).await;
            let recorder = Recorder::default();
            let (events, error) = drain(&mut client(&server, &recorder).connect()).await;
            let case = format!("{cut:?} after {at} bytes");
            assert!(error.is_none(), "{case}: {error:?}");
            assert_eq!(
                ids_and_data(&events),
                [
                    (Some("1".into()), "one".into()),
                    (Some("2".into()), "two".into())
                ],
                "{case}"
            );
            let requests = server.requests();
            assert_all_client_headers(&requests);
            let resumed_from = requests[1].last_event_id();
            let want = if at == TWO_EVENTS.len() {
                Some("2")
            } else if at >= FIRST_END {
                Some("1")
            } else {
                None
            };
            assert_eq!(resumed_from, want, "{case}");
            // Data arrived before the cut (the head at least): the first
            // reconnection waits exactly the initial delay.
            assert_eq!(gaps(&requests)[0], ms(100), "{case}");
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_reset_mid_event_is_a_body_failure() {
    let _guard = guard("reset mid-event");
    let server = cut_server(FIRST_END + 10, Cut::Reset).await;
    let recorder = Recorder::default();
    let (events, error) = drain(&mut client(&server, &recorder).connect()).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(data(&events), ["one", "two"]);
    assert_eq!(recorder.failures(), ["body"]);
    // A reset is a failure, not a clean end.
    let steps = recorder.steps();
    assert!(
        matches!(
            &steps[..3],
            [
                Observed::Connecting { .. },
                Observed::Open { .. },
                Observed::Failed { .. }
            ]
        ),
        "{steps:?}"
    );
    assert_eq!(lei(&server.requests()), [None, Some("1"), Some("2")]);
}

#[tokio::test(start_paused = true)]
async fn a_close_mid_event_ends_the_body_and_drops_the_partial_event() {
    let _guard = guard("close mid-event");
    let server = cut_server(FIRST_END + 10, Cut::Close).await;
    let recorder = Recorder::default();
    let (events, error) = drain(&mut client(&server, &recorder).connect()).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(data(&events), ["one", "two"]);
    assert_eq!(recorder.failures(), Vec::<String>::new());
    assert_eq!(lei(&server.requests()), [None, Some("1"), Some("2")]);
}

#[tokio::test(start_paused = true)]
async fn a_chunked_body_cut_mid_chunk_is_a_body_failure() {
    let _guard = guard("chunked cut");
    let server = cut_server(FIRST_END + 10, Cut::ChunkedClose).await;
    let recorder = Recorder::default();
    let (events, error) = drain(&mut client(&server, &recorder).connect()).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(data(&events), ["one", "two"]);
    assert_eq!(recorder.failures(), ["body"]);
    assert_eq!(lei(&server.requests()), [None, Some("1"), Some("2")]);
}

// ---------------------------------------------------------------------------
// The server killed and restarted

#[tokio::test(start_paused = true)]
async fn a_server_killed_and_restarted_is_resumed_where_it_stopped() {
    let _guard = guard("kill and restart");
    // The test sleeps while the client's connections are refused: pace the
    // clock so that its timer does not jump ahead of them.
    let _pacer = pace_clock();
    let mut server = TestServer::start(|seen| match seen.last_event_id() {
        None => vec![
            sse_head(),
            body("id: 1\ndata: one\n\nid: 2\ndata: two\n\n"),
            Step::Hold,
        ],
        Some("2") => stream("id: 3\ndata: three\n\n"),
        Some("3") => no_content(),
        Some(other) => panic!("unexpected Last-Event-ID {other:?}"),
    })
    .await;
    let recorder = Recorder::default();
    let mut events = client(&server, &recorder).connect();
    for want in ["one", "two"] {
        let event = within("an event", ms(1000), events.next()).await;
        assert_eq!(event.unwrap().unwrap().data(), want);
    }
    // Read the rest in the background while the server is down.
    let reader = tokio::spawn(async move { drain(&mut events).await });
    let killed = Instant::now();
    server.kill().await;
    tokio::time::sleep(ms(1000)).await;
    server.restart().await;
    let (rest, error) = within("the end of the stream", Duration::from_secs(10), reader)
        .await
        .unwrap();
    assert!(error.is_none(), "{error:?}");
    assert_eq!(data(&rest), ["three"]);

    // The cut first (a reset), then refused connections, backing off from
    // the initial delay: 100 + 200 + 400 ms pass before the restart at
    // 1000 ms, the attempt 800 ms later succeeds.
    assert_eq!(
        recorder.failures(),
        ["body", "connect", "connect", "connect"]
    );
    let retrying: Vec<_> = recorder
        .steps()
        .into_iter()
        .filter_map(|o| match o {
            Observed::Retrying { delay, attempt } => Some((delay, attempt)),
            _ => None,
        })
        .collect();
    assert_eq!(
        retrying,
        [
            (ms(100), 1),
            (ms(200), 2),
            (ms(400), 3),
            (ms(800), 4),
            // After the restarted server's healthy stream ends.
            (ms(100), 1),
        ]
    );
    let requests = server.requests();
    assert_all_client_headers(&requests);
    assert_eq!(lei(&requests), [None, Some("2"), Some("3")]);
    let back = requests[1].arrived - killed;
    assert!(
        back >= ms(1500) && back < ms(1550),
        "the first request after the restart came {back:?} after the kill"
    );
}

// ---------------------------------------------------------------------------
// Server errors: backoff, recovery, Retry-After

#[tokio::test(start_paused = true)]
async fn server_errors_back_off_then_recover() {
    let _guard = guard("5xx backoff");
    let server = TestServer::scripted(vec![
        answer(500, &[]),
        answer(500, &[]),
        answer(503, &[]),
        ok_events("id: 1\ndata: a\n\nid: 2\ndata: b\n\n"),
    ])
    .await;
    let recorder = Recorder::default();
    let (events, error) = drain(&mut client(&server, &recorder).connect()).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(data(&events), ["a", "b"]);
    let requests = server.requests();
    assert_all_client_headers(&requests);
    assert_eq!(lei(&requests), [None, None, None, None, Some("2")]);
    // Failures in a row double the wait; the healthy stream resets it.
    assert_eq!(gaps(&requests), [ms(100), ms(200), ms(400), ms(100)]);
    assert_eq!(
        recorder.failures(),
        ["status 500", "status 500", "status 503"]
    );
    assert_eq!(
        recorder.retry_delays(),
        [ms(100), ms(200), ms(400), ms(100)]
    );
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_honoured() {
    let _guard = guard("Retry-After");
    let server = TestServer::scripted(vec![
        answer(503, &[("Retry-After", "2")]),
        ok_events("id: 1\ndata: a\n\n"),
    ])
    .await;
    let recorder = Recorder::default();
    let (events, error) = drain(&mut client(&server, &recorder).connect()).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(data(&events), ["a"]);
    let requests = server.requests();
    assert_eq!(gaps(&requests), [Duration::from_secs(2), ms(100)]);
    assert_eq!(recorder.failures(), ["status 503"]);
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_capped_by_the_maximum_delay() {
    let _guard = guard("Retry-After cap");
    let server = TestServer::scripted(vec![
        answer(503, &[("Retry-After", "3600")]),
        ok_events("data: a\n\n"),
    ])
    .await;
    let recorder = Recorder::default();
    let connector =
        client(&server, &recorder).with_reconnect(options().with_max_delay(Duration::from_secs(5)));
    let (events, error) = drain(&mut connector.connect()).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(data(&events), ["a"]);
    assert_eq!(gaps(&server.requests()), [Duration::from_secs(5), ms(100)]);
}

#[tokio::test(start_paused = true)]
async fn backoff_is_capped_by_the_maximum_delay() {
    let _guard = guard("backoff cap");
    let server = TestServer::start(|_| answer(502, &[])).await;
    let recorder = Recorder::default();
    let connector = client(&server, &recorder)
        .with_reconnect(options().with_max_delay(ms(300)).with_max_attempts(Some(4)));
    let (events, error) = drain(&mut connector.connect()).await;
    assert!(events.is_empty());
    assert_eq!(error.unwrap().status_code().map(|s| s.as_u16()), Some(502));
    assert_eq!(
        gaps(&server.requests()),
        [ms(100), ms(200), ms(300), ms(300)]
    );
}

#[tokio::test(start_paused = true)]
async fn jittered_delays_stay_within_their_share_and_are_the_waits() {
    let _guard = guard("jitter");
    let server = TestServer::start(|_| answer(500, &[])).await;
    let recorder = Recorder::default();
    let connector = client(&server, &recorder).with_reconnect(
        options()
            .with_jitter(0.5)
            .with_max_delay(Duration::from_secs(60))
            .with_max_attempts(Some(5)),
    );
    let (_, error) = drain(&mut connector.connect()).await;
    assert!(error.unwrap().is_status());
    let delays = recorder.retry_delays();
    assert_eq!(delays.len(), 5);
    // The first reconnection waits exactly the base; later ones back off
    // with up to half of the delay taken off at random.
    assert_eq!(delays[0], ms(100));
    for (i, delay) in delays.iter().enumerate().skip(1) {
        let full = ms(100) * 2u32.pow(i as u32);
        assert!(
            *delay > full / 2 && *delay <= full,
            "delay {i}: {delay:?} outside ({:?}, {full:?}]",
            full / 2
        );
    }
    // The announced delays are the waits.
    let gaps = gaps(&server.requests());
    for (gap, delay) in gaps.iter().zip(&delays) {
        let off = gap.abs_diff(*delay);
        assert!(off < ms(1), "waited {gap:?}, announced {delay:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_server_error_is_final_when_not_retried() {
    let _guard = guard("5xx final");
    let server = TestServer::scripted(vec![answer(500, &[])]).await;
    let recorder = Recorder::default();
    let connector =
        client(&server, &recorder).with_reconnect(options().with_retry_server_errors(false));
    let (events, error) = drain(&mut connector.connect()).await;
    assert!(events.is_empty());
    let error = error.expect("a final error");
    assert!(error.is_status(), "{error:?}");
    assert_eq!(
        error.status_code(),
        Some(http::StatusCode::INTERNAL_SERVER_ERROR)
    );
    assert_no_more_requests(&server, 1).await;
}

#[tokio::test(start_paused = true)]
async fn max_attempts_gives_up_with_the_last_error() {
    let _guard = guard("max attempts");
    let server = TestServer::start(|_| answer(500, &[])).await;
    let recorder = Recorder::default();
    let connector = client(&server, &recorder).with_reconnect(options().with_max_attempts(Some(3)));
    let (events, error) = drain(&mut connector.connect()).await;
    assert!(events.is_empty());
    let error = error.expect("the last error");
    assert_eq!(
        error.status_code(),
        Some(http::StatusCode::INTERNAL_SERVER_ERROR)
    );
    // The first attempt and three failed reconnections.
    let requests = server.requests();
    assert_eq!(requests.len(), 4);
    assert_eq!(gaps(&requests), [ms(100), ms(200), ms(400)]);
    let attempts: Vec<u32> = recorder
        .steps()
        .into_iter()
        .filter_map(|o| match o {
            Observed::Retrying { attempt, .. } => Some(attempt),
            _ => None,
        })
        .collect();
    assert_eq!(attempts, [1, 2, 3]);
    assert_no_more_requests(&server, 4).await;
}

#[tokio::test(start_paused = true)]
async fn max_attempts_counts_failures_in_a_row_only() {
    let _guard = guard("max attempts in a row");
    let server = TestServer::scripted(vec![
        answer(500, &[]),
        answer(500, &[]),
        ok_events("id: 1\ndata: a\n\n"),
        answer(500, &[]),
        answer(500, &[]),
        answer(503, &[]),
        ok_events("data: never\n\n"),
    ])
    .await;
    let recorder = Recorder::default();
    let connector = client(&server, &recorder).with_reconnect(options().with_max_attempts(Some(2)));
    let (events, error) = drain(&mut connector.connect()).await;
    assert_eq!(data(&events), ["a"]);
    assert_eq!(
        error
            .expect("the last error")
            .status_code()
            .map(|s| s.as_u16()),
        Some(500)
    );
    assert_eq!(server.requests().len(), 5);
}

#[tokio::test(start_paused = true)]
async fn max_attempts_counts_refused_connections() {
    let _guard = guard("refused");
    let addr = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let recorder = Recorder::default();
    let connector = EventSourceConnector::new(format!("http://{addr}/events"))
        .unwrap()
        .with_reconnect(options().with_max_attempts(Some(2)))
        .with_observer(recorder.observer());
    let start = Instant::now();
    let (events, error) = drain(&mut connector.connect()).await;
    assert!(events.is_empty());
    let error = error.expect("the last error");
    assert!(
        sse_connector::Error::find(&error).is_some_and(sse_connector::Error::is_connect),
        "{error:?}"
    );
    assert_eq!(recorder.failures(), ["connect"; 3]);
    assert_eq!(recorder.retry_delays(), [ms(100), ms(200)]);
    assert_eq!(start.elapsed(), ms(300));
}

// ---------------------------------------------------------------------------
// Final answers: 204, 4xx, a wrong content type

#[tokio::test(start_paused = true)]
async fn no_content_ends_the_stream_for_good() {
    let _guard = guard("204");
    let server = TestServer::scripted(vec![no_content()]).await;
    let recorder = Recorder::default();
    let (events, error) = drain(&mut client(&server, &recorder).connect()).await;
    assert!(events.is_empty());
    assert!(error.is_none(), "204 is a clean end: {error:?}");
    assert_eq!(recorder.failures(), Vec::<String>::new());
    assert_eq!(recorder.retry_delays(), Vec::<Duration>::new());
    assert_no_more_requests(&server, 1).await;
}

#[tokio::test(start_paused = true)]
async fn no_content_after_a_stream_ends_it() {
    let _guard = guard("204 after a stream");
    let server = TestServer::scripted(vec![ok_events("id: 1\ndata: a\n\n"), no_content()]).await;
    let recorder = Recorder::default();
    let (events, error) = drain(&mut client(&server, &recorder).connect()).await;
    assert_eq!(data(&events), ["a"]);
    assert!(error.is_none(), "{error:?}");
    assert_no_more_requests(&server, 2).await;
}

#[tokio::test(start_paused = true)]
async fn client_errors_are_final_with_their_status() {
    let _guard = guard("4xx");
    for status in [400u16, 401, 403, 404, 410] {
        let server = TestServer::start(move |_| answer(status, &[])).await;
        let recorder = Recorder::default();
        let (events, error) = drain(&mut client(&server, &recorder).connect()).await;
        assert!(events.is_empty());
        let error = error.expect("a final error");
        assert!(error.is_status(), "{status}: {error:?}");
        assert_eq!(error.status_code().map(|s| s.as_u16()), Some(status));
        assert_eq!(recorder.failures(), [format!("status {status}")]);
        assert_eq!(recorder.retry_delays(), Vec::<Duration>::new());
        assert_no_more_requests(&server, 1).await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_wrong_content_type_is_final() {
    let _guard = guard("content type");
    for content_type in [Some("text/html"), Some("application/json"), None] {
        let server = TestServer::start(move |_| {
            let mut headers = vec![("Connection", "close")];
            if let Some(content_type) = content_type {
                headers.push(("Content-Type", content_type));
            }
            vec![
                head(200, &headers),
                body("data: looks like an event\n\n"),
                Step::Close,
            ]
        })
        .await;
        let recorder = Recorder::default();
        let (events, error) = drain(&mut client(&server, &recorder).connect()).await;
        assert!(events.is_empty(), "{content_type:?}");
        let error = error.expect("a final error");
        assert!(error.is_content_type(), "{content_type:?}: {error:?}");
        assert_eq!(error.status_code(), None);
        assert_no_more_requests(&server, 1).await;
    }
}

#[tokio::test(start_paused = true)]
async fn content_type_parameters_and_case_are_accepted() {
    let _guard = guard("content type ok");
    for content_type in ["text/event-stream; charset=utf-8", "Text/Event-Stream"] {
        let server = TestServer::scripted(vec![vec![
            head(
                200,
                &[("Content-Type", content_type), ("Connection", "close")],
            ),
            body("data: a\n\n"),
            Step::Close,
        ]])
        .await;
        let recorder = Recorder::default();
        let (events, error) = drain(&mut client(&server, &recorder).connect()).await;
        assert!(error.is_none(), "{content_type}: {error:?}");
        assert_eq!(data(&events), ["a"]);
    }
}

/// An oversized event ends the stream with its error, and the observer is
/// told (`Failed`), as it is of every other error that ends the stream.
#[tokio::test(start_paused = true)]
async fn an_oversized_event_is_final_and_observed() {
    let _guard = guard("oversized");
    let big = "x".repeat(100);
    let server =
        TestServer::scripted(vec![ok_events(&format!("data: small\n\ndata: {big}\n\n"))]).await;
    let recorder = Recorder::default();
    let connector = client(&server, &recorder)
        .with_settings(ServerSentEventSettings::default().with_max_event_size(32));
    let (events, error) = drain(&mut connector.connect()).await;
    assert_eq!(data(&events), ["small"]);
    let error = error.expect("a final error");
    assert!(error.is_event_too_large(), "{error:?}");
    assert_no_more_requests(&server, 1).await;
    // The observer hears of every error that ends the stream, as it does of
    // a final status.
    assert_eq!(recorder.failures(), ["oversized"], "{:?}", recorder.steps());
}

// ---------------------------------------------------------------------------
// retry:

#[tokio::test(start_paused = true)]
async fn retry_sets_the_reconnection_time_and_backoff_starts_from_it() {
    let _guard = guard("retry:");
    let server = TestServer::scripted(vec![
        ok_events("retry: 250\nid: 1\ndata: a\n\n"),
        // An invalid retry is ignored.
        ok_events("retry: 40\nid: 2\ndata: b\n\nretry: 4o0\n\n"),
        answer(500, &[]),
        answer(500, &[]),
    ])
    .await;
    let recorder = Recorder::default();
    let (events, error) = drain(&mut client(&server, &recorder).connect()).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(data(&events), ["a", "b"]);
    let requests = server.requests();
    assert_all_client_headers(&requests);
    assert_eq!(
        lei(&requests),
        [None, Some("1"), Some("2"), Some("2"), Some("2")]
    );
    // The first reconnection waits exactly what retry: says; failures in a
    // row back off from it, but from no less than `min_backoff` (100 ms by
    // default), so a tiny retry: cannot turn failures into a tight loop.
    assert_eq!(gaps(&requests), [ms(250), ms(40), ms(200), ms(400)]);
}

/// `retry: 0` allows an immediate first reconnection, but failures in a row
/// must still back off: a server that said `retry: 0` and then went down
/// must not be hammered in a tight loop.
#[tokio::test(start_paused = true)]
async fn retry_zero_still_backs_off_on_failures_in_a_row() {
    let _guard = guard("retry: 0");
    // The server asks for immediate reconnection, then fails for a while.
    let mut scripts = vec![ok_events("retry: 0\nid: 1\ndata: a\n\n")];
    scripts.extend((0..8).map(|_| answer(503, &[])));
    scripts.push(ok_events("id: 2\ndata: b\n\n"));
    let server = TestServer::scripted(scripts).await;
    let recorder = Recorder::default();
    let (events, error) = drain(&mut client(&server, &recorder).connect()).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(data(&events), ["a", "b"]);
    let gaps = gaps(&server.requests());
    println!("gaps: {gaps:?}");
    // The first reconnection may follow at once, as retry: 0 asks; but
    // failures in a row must back off rather than hammer a server that is
    // down ("backs off instead of looping").
    assert_eq!(gaps[0], Duration::ZERO);
    assert!(
        gaps[1..9].iter().all(|gap| !gap.is_zero()),
        "failures in a row reconnect at once: {gaps:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn non_ascii_ids_are_resumed_from() {
    let _guard = guard("non-ASCII id");
    let server = TestServer::scripted(vec![
        ok_events("id: \u{e9}v\u{e8}nement-1\ndata: a\n\n"),
        ok_events("id: 2\ndata: b\n\n"),
    ])
    .await;
    let recorder = Recorder::default();
    let (events, error) = drain(&mut client(&server, &recorder).connect()).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(data(&events), ["a", "b"]);
    assert_eq!(
        lei(&server.requests()),
        [None, Some("\u{e9}v\u{e8}nement-1"), Some("2")]
    );
}

#[tokio::test(start_paused = true)]
async fn a_retry_in_a_cut_connection_still_counts() {
    let _guard = guard("retry: then cut");
    let server = TestServer::scripted(vec![
        vec![
            sse_head(),
            body("retry: 700\n\nid: 1\ndata: a\n\nid: 2\nda"),
            Step::Reset,
        ],
        ok_events("id: 2\ndata: b\n\n"),
    ])
    .await;
    let recorder = Recorder::default();
    let (events, error) = drain(&mut client(&server, &recorder).connect()).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(data(&events), ["a", "b"]);
    let requests = server.requests();
    assert_eq!(lei(&requests), [None, Some("1"), Some("2")]);
    assert_eq!(gaps(&requests), [ms(700), ms(700)]);
}

// ---------------------------------------------------------------------------
// Silence: the idle timeout

#[tokio::test(start_paused = true)]
async fn a_silent_server_times_out_and_is_reconnected() {
    let _guard = guard("silent");
    let _pacer = pace_clock();
    let server = TestServer::scripted(vec![
        vec![sse_head(), body("id: 1\ndata: a\n\n"), Step::Hold],
        ok_events("id: 2\ndata: b\n\n"),
    ])
    .await;
    let recorder = Recorder::default();
    let connector = client(&server, &recorder).with_idle_timeout(ms(1000));
    let (events, error) = within(
        "the stream",
        Duration::from_secs(10),
        drain(&mut connector.connect()),
    )
    .await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(data(&events), ["a", "b"]);
    assert_eq!(recorder.failures(), ["timeout"]);
    let requests = server.requests();
    assert_eq!(lei(&requests), [None, Some("1"), Some("2")]);
    // The client hung up after a second of silence (the server saw EOF)...
    let silent = requests[0].client_closed.expect("the client closed") - requests[0].arrived;
    assert!(
        silent >= ms(1000) && silent < ms(1025),
        "hung up after {silent:?}"
    );
    // ...and came back after the initial delay.
    let back = requests[1].arrived - requests[0].client_closed.unwrap();
    assert!(
        back >= ms(100) && back < ms(125),
        "came back after {back:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_server_that_never_answers_times_out() {
    let _guard = guard("no answer");
    let _pacer = pace_clock();
    let server = TestServer::scripted(vec![vec![Step::Hold], ok_events("data: a\n\n")]).await;
    let recorder = Recorder::default();
    let connector = client(&server, &recorder).with_idle_timeout(ms(1000));
    let (events, error) = within(
        "the stream",
        Duration::from_secs(10),
        drain(&mut connector.connect()),
    )
    .await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(data(&events), ["a"]);
    assert_eq!(recorder.failures(), ["timeout"]);
    let requests = server.requests();
    let waited = requests[0].client_closed.expect("the client closed") - requests[0].arrived;
    assert!(
        waited >= ms(1000) && waited < ms(1025),
        "hung up after {waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn comments_keep_a_quiet_stream_alive() {
    let _guard = guard("heartbeats");
    let _pacer = pace_clock();
    let mut script = vec![sse_head()];
    for _ in 0..5 {
        script.push(Step::Sleep(ms(600)));
        script.push(body(": ping\n\n"));
    }
    script.push(body("id: 1\ndata: a\n\n"));
    script.push(Step::Close);
    let server = TestServer::scripted(vec![script]).await;
    let recorder = Recorder::default();
    let connector = client(&server, &recorder).with_idle_timeout(ms(1000));
    let (events, error) = within(
        "the stream",
        Duration::from_secs(10),
        drain(&mut connector.connect()),
    )
    .await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(data(&events), ["a"]);
    assert_eq!(recorder.failures(), Vec::<String>::new());
    assert_eq!(server.requests().len(), 2);
}

// ---------------------------------------------------------------------------
// Redirects

#[tokio::test(start_paused = true)]
async fn redirects_are_followed_with_the_same_headers() {
    let _guard = guard("redirects");
    let addr: Arc<OnceLock<String>> = Arc::default();
    let redirects = Arc::new(Mutex::new(0usize));
    let server = {
        let addr = addr.clone();
        TestServer::start(move |seen| match seen.path.as_str() {
            "/events" => {
                let mut n = redirects.lock().unwrap();
                *n += 1;
                let absolute = format!("http://{}/moved", addr.get().unwrap());
                let (status, location) = match *n {
                    1 => (302, "/moved".to_owned()),
                    2 => (307, absolute),
                    3 => (308, "moved".to_owned()),
                    _ => (301, "/moved".to_owned()),
                };
                answer(status, &[("Location", &location)])
            }
            "/moved" => match seen.last_event_id() {
                None => stream("id: 1\ndata: a\n\n"),
                Some("1") => stream("id: 2\ndata: b\n\n"),
                Some("2") => stream("id: 3\ndata: c\n\n"),
                _ => no_content(),
            },
            _ => answer(404, &[]),
        })
        .await
    };
    addr.set(server.addr().to_string()).unwrap();
    let recorder = Recorder::default();
    let (events, error) = drain(&mut client(&server, &recorder).connect()).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(data(&events), ["a", "b", "c"]);
    let requests = server.requests();
    let paths: Vec<&str> = requests.iter().map(|r| r.path.as_str()).collect();
    println!("paths: {paths:?}");
    for (i, request) in requests.iter().enumerate() {
        request.assert_client_headers();
        if request.path == "/events" {
            // A redirect is followed at once, with the same Last-Event-ID.
            let next = &requests[i + 1];
            assert_eq!(next.path, "/moved");
            assert_eq!(next.last_event_id(), request.last_event_id());
            assert_eq!(next.arrived, request.finished.unwrap());
        }
    }
    let moved: Vec<_> = requests.iter().filter(|r| r.path == "/moved").collect();
    assert_eq!(
        moved.iter().map(|r| r.last_event_id()).collect::<Vec<_>>(),
        [None, Some("1"), Some("2"), Some("3")]
    );
    let opened: Vec<String> = recorder
        .steps()
        .into_iter()
        .filter_map(|o| match o {
            Observed::Open { uri, .. } => Some(uri),
            _ => None,
        })
        .collect();
    assert_eq!(opened, vec![server.uri("/moved").to_string(); 3]);
}

#[tokio::test(start_paused = true)]
async fn too_many_redirects_are_final() {
    let _guard = guard("redirect loop");
    for max in [0u32, 3] {
        let server = TestServer::start(|_| answer(302, &[("Location", "/events")])).await;
        let recorder = Recorder::default();
        let connector = client(&server, &recorder).with_max_redirects(max);
        let (events, error) = drain(&mut connector.connect()).await;
        assert!(events.is_empty());
        let error = error.expect("a final error");
        assert!(
            sse_connector::Error::find(&error).is_some_and(sse_connector::Error::is_redirect),
            "{error:?}"
        );
        assert_no_more_requests(&server, max as usize + 1).await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_redirect_without_location_is_final() {
    let _guard = guard("no location");
    let server = TestServer::start(|_| answer(302, &[])).await;
    let recorder = Recorder::default();
    let (events, error) = drain(&mut client(&server, &recorder).connect()).await;
    assert!(events.is_empty());
    let error = error.expect("a final error");
    assert!(sse_connector::Error::find(&error).is_some_and(sse_connector::Error::is_redirect));
    assert_no_more_requests(&server, 1).await;
}

// ---------------------------------------------------------------------------
// Dropping the stream

#[tokio::test(start_paused = true)]
async fn dropping_the_stream_closes_the_connection_at_once() {
    let _guard = guard("drop");
    let pacer = pace_clock();
    let server = TestServer::scripted(vec![vec![
        sse_head(),
        body("id: 1\ndata: a\n\n"),
        Step::Hold,
    ]])
    .await;
    let recorder = Recorder::default();
    let mut events = client(&server, &recorder).connect();
    let first = within("the first event", ms(1000), events.next()).await;
    assert_eq!(first.unwrap().unwrap().data(), "a");
    let dropped = Instant::now();
    drop(events);
    let requests = within(
        "the server sees the client close",
        ms(1000),
        server.wait_until(|log| log[0].client_closed.is_some()),
    )
    .await;
    let took = requests[0].client_closed.unwrap() - dropped;
    assert!(took <= ms(10), "the server saw EOF {took:?} after the drop");
    // Nothing is in flight any more: let the clock jump.
    drop(pacer);
    assert_no_more_requests(&server, 1).await;
}

#[tokio::test(start_paused = true)]
async fn dropping_the_stream_while_it_waits_sends_nothing_more() {
    let _guard = guard("drop while waiting");
    let pacer = pace_clock();
    let server = TestServer::scripted(vec![ok_events("id: 1\ndata: a\n\n")]).await;
    let recorder = Recorder::default();
    let connector =
        client(&server, &recorder).with_reconnect(options().with_initial_delay(ms(2000)));
    let mut events = connector.connect();
    let first = within("the first event", ms(1000), events.next()).await;
    assert_eq!(first.unwrap().unwrap().data(), "a");
    // The server closed: the client waits 2 s before reconnecting.
    assert!(tokio::time::timeout(ms(500), events.next()).await.is_err());
    assert_eq!(
        recorder.steps().last(),
        Some(&Observed::Retrying {
            delay: ms(2000),
            attempt: 1
        })
    );
    drop(events);
    drop(pacer);
    assert_no_more_requests(&server, 1).await;
}

// ---------------------------------------------------------------------------
// One-shot mode

#[tokio::test(start_paused = true)]
async fn one_shot_ends_cleanly_when_the_server_closes() {
    let _guard = guard("one-shot");
    let server =
        TestServer::scripted(vec![ok_events("id: 1\ndata: a\n\nid: 2\ndata: b\n\n")]).await;
    let recorder = Recorder::default();
    let connector = client(&server, &recorder).one_shot();
    let (events, error) = drain(&mut connector.connect()).await;
    assert!(error.is_none(), "one-shot ends without an error: {error:?}");
    assert_eq!(data(&events), ["a", "b"]);
    let uri = server.uri("/events").to_string();
    assert_eq!(
        recorder.steps(),
        [
            Observed::Connecting {
                uri: uri.clone(),
                last_event_id: None
            },
            Observed::Open { uri, status: 200 },
            Observed::Ended,
        ]
    );
    assert_no_more_requests(&server, 1).await;
}

#[tokio::test(start_paused = true)]
async fn one_shot_ends_with_the_error_on_a_failure() {
    let _guard = guard("one-shot failure");
    let server = TestServer::scripted(vec![vec![
        sse_head(),
        body("id: 1\ndata: a\n\nid: 2\ndata: b"),
        Step::Reset,
    ]])
    .await;
    let recorder = Recorder::default();
    let connector = client(&server, &recorder).one_shot();
    let (events, error) = drain(&mut connector.connect()).await;
    assert_eq!(data(&events), ["a"]);
    assert!(error.expect("the failure").is_body());
    assert_no_more_requests(&server, 1).await;
}

#[tokio::test(start_paused = true)]
async fn one_shot_does_not_retry_server_errors() {
    let _guard = guard("one-shot 503");
    let server = TestServer::scripted(vec![answer(503, &[("Retry-After", "1")])]).await;
    let recorder = Recorder::default();
    let connector = client(&server, &recorder).one_shot();
    let (events, error) = drain(&mut connector.connect()).await;
    assert!(events.is_empty());
    assert_eq!(
        error.expect("the failure").status_code(),
        Some(http::StatusCode::SERVICE_UNAVAILABLE)
    );
    assert_no_more_requests(&server, 1).await;
}

// ---------------------------------------------------------------------------
// The observer

#[tokio::test(start_paused = true)]
async fn the_observer_sees_every_step() {
    let _guard = guard("observer");
    let server = TestServer::scripted(vec![
        answer(500, &[]),
        ok_events("id: 1\ndata: a\n\n"),
        vec![sse_head(), body("id: 2\ndata: b\n\nda"), Step::Reset],
    ])
    .await;
    let recorder = Recorder::default();
    let (events, error) = drain(&mut client(&server, &recorder).connect()).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(data(&events), ["a", "b"]);
    let uri = server.uri("/events").to_string();
    let connecting = |id: Option<&str>| Observed::Connecting {
        uri: uri.clone(),
        last_event_id: id.map(str::to_owned),
    };
    let open = Observed::Open {
        uri: uri.clone(),
        status: 200,
    };
    let retrying = |millis, attempt| Observed::Retrying {
        delay: ms(millis),
        attempt,
    };
    let steps = recorder.steps();
    let want = [
        connecting(None),
        Observed::Failed {
            kind: "status 500".into(),
        },
        retrying(100, 1),
        connecting(None),
        open.clone(),
        Observed::Ended,
        retrying(100, 1),
        connecting(Some("1")),
        open,
        Observed::Failed {
            kind: "body".into(),
        },
        retrying(100, 1),
        connecting(Some("2")),
    ];
    assert_eq!(steps[..want.len()], want, "{steps:#?}");
    // Then 204: the end, without a failure or another wait.
    assert!(
        steps[want.len()..]
            .iter()
            .all(|o| !matches!(o, Observed::Failed { .. } | Observed::Retrying { .. })),
        "{steps:#?}"
    );
    // Each step at its time: the wait announced is the wait.
    let timed = recorder.timed();
    for (i, (at, step)) in timed.iter().enumerate() {
        if let Observed::Retrying { delay, .. } = step {
            let (next_at, next) = &timed[i + 1];
            assert!(matches!(next, Observed::Connecting { .. }));
            assert_eq!(*next_at - *at, *delay);
        }
    }
}
