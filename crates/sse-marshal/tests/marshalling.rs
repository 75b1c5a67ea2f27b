//! Marshalling: event streams (and plain values) become HTTP responses.
//!
//! Asserts the exact headers and wire bytes of `EventStreamMarshalling`, how
//! the body groups events into frames (ready events coalesce, a later event is
//! flushed at once), how a stream of `Result`s aborts the body, the plain
//! `ToResponse` impls, and one end-to-end run over a real socket with hyper on
//! both sides, read back with `Unmarshal::new(response).to::<EventSource>()`.

use std::convert::Infallible;
use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{stream, FutureExt, StreamExt};
use http::header::{ACCEPT, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, HOST};
use http::{Request, Response, StatusCode};
use http_body::Body as _;
use http_body_util::{BodyExt, Empty};
use sse_marshal::{
    BoxError, EventSource, EventStreamBody, EventStreamMarshalling, Html, ResponseBody, ToResponse,
    Unmarshal,
};
use sse_model::{EventId, EventType, ServerSentEvent};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

/// Generous bound for tests that wait on real time, so a bug hangs no CI run.
const SOCKET_TIMEOUT: Duration = Duration::from_secs(10);

/// Polls the next frame and returns its data: `None` at the end of the body.
async fn next_data(body: &mut ResponseBody) -> Option<Result<Bytes, BoxError>> {
    body.frame().await.map(|frame| {
        frame.map(|frame| {
            frame
                .into_data()
                .unwrap_or_else(|_| panic!("an event stream body sends no trailers"))
        })
    })
}

/// The next frame if one is ready right now, without waiting.
fn ready_data(body: &mut ResponseBody) -> Option<Option<Result<Bytes, BoxError>>> {
    next_data(body).now_or_never()
}

/// The whole body as bytes.
async fn body_bytes(response: Response<ResponseBody>) -> Bytes {
    response
        .into_body()
        .collect()
        .await
        .expect("the body does not fail")
        .to_bytes()
}

fn ty(value: &'static str) -> EventType {
    EventType::from_static(value)
}

/// An error type of the caller's own, to check that it reaches the body intact.
#[derive(Debug, PartialEq, Eq)]
struct UpstreamFailed(&'static str);

impl fmt::Display for UpstreamFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "upstream failed: {}", self.0)
    }
}

impl std::error::Error for UpstreamFailed {}

// ---------------------------------------------------------------------------
// Headers
// ---------------------------------------------------------------------------

fn assert_event_stream_head(response: &Response<ResponseBody>) {
    assert_eq!(response.status(), StatusCode::OK);
    let content_types: Vec<_> = response.headers().get_all(CONTENT_TYPE).iter().collect();
    assert_eq!(content_types, ["text/event-stream"], "exactly, no charset");
    let cache_controls: Vec<_> = response.headers().get_all(CACHE_CONTROL).iter().collect();
    assert_eq!(cache_controls, ["no-cache"]);
    assert!(
        response.headers().get(CONTENT_LENGTH).is_none(),
        "a stream has no length"
    );
}

#[tokio::test]
async fn response_head_is_200_event_stream_no_cache() {
    let response = EventStreamMarshalling::response(stream::iter([ServerSentEvent::new("x")]));
    assert_event_stream_head(&response);
    assert_eq!(response.headers().len(), 2, "{:?}", response.headers());
}

#[tokio::test]
async fn to_response_selects_event_stream_marshalling_for_streams() {
    let plain = stream::iter([ServerSentEvent::new("a")]).to_response();
    assert_event_stream_head(&plain);
    assert_eq!(&body_bytes(plain).await[..], b"data:a\n\n");

    let results = stream::iter([Ok::<_, UpstreamFailed>(ServerSentEvent::new("b"))]).to_response();
    assert_event_stream_head(&results);
    assert_eq!(&body_bytes(results).await[..], b"data:b\n\n");

    // Marker spelled out, as a generic caller would.
    let explicit = <_ as ToResponse<EventStreamMarshalling>>::to_response(stream::iter([
        ServerSentEvent::heartbeat(),
    ]));
    assert_event_stream_head(&explicit);
    assert_eq!(&body_bytes(explicit).await[..], b":\n\n");
}

#[tokio::test]
async fn stream_of_borrowed_static_events_is_served() {
    let events: &'static [ServerSentEvent] = Vec::leak(vec![
        ServerSentEvent::new("one"),
        ServerSentEvent::new("two").with_id(2),
    ]);
    let response = EventStreamMarshalling::response(stream::iter(events.iter()));
    assert_event_stream_head(&response);
    assert_eq!(
        &body_bytes(response).await[..],
        b"data:one\n\ndata:two\nid:2\n\n"
    );
}

// ---------------------------------------------------------------------------
// Exact body bytes
// ---------------------------------------------------------------------------

#[tokio::test]
async fn body_bytes_are_exact_for_every_field() {
    let cases: Vec<(ServerSentEvent, &[u8])> = vec![
        (ServerSentEvent::new("plain"), b"data:plain\n\n"),
        (ServerSentEvent::new(""), b"data:\n\n"),
        (
            ServerSentEvent::new("a\nb\nc"),
            b"data:a\ndata:b\ndata:c\n\n",
        ),
        (ServerSentEvent::new("a\rb"), b"data:a\ndata:b\n\n"),
        (ServerSentEvent::new("a\r\nb"), b"data:a\ndata:b\n\n"),
        (
            ServerSentEvent::new("lf\ncr\rcrlf\r\nend"),
            b"data:lf\ndata:cr\ndata:crlf\ndata:end\n\n",
        ),
        (
            ServerSentEvent::new("trailing\n"),
            b"data:trailing\ndata:\n\n",
        ),
        (
            ServerSentEvent::new("no\n\nevent: injected"),
            b"data:no\ndata:\ndata:event: injected\n\n",
        ),
        (
            ServerSentEvent::new("d").with_event_type(ty("update")),
            b"data:d\nevent:update\n\n",
        ),
        (ServerSentEvent::new("d").with_id(42), b"data:d\nid:42\n\n"),
        (
            ServerSentEvent::new("d").with_id(EventId::from_static("abc-1")),
            b"data:d\nid:abc-1\n\n",
        ),
        (
            ServerSentEvent::new("d").with_retry(0),
            b"data:d\nretry:0\n\n",
        ),
        (
            ServerSentEvent::new("d").with_retry(2_500),
            b"data:d\nretry:2500\n\n",
        ),
        (
            // Built in another order; the wire order is data, event, id, retry.
            ServerSentEvent::new("x\ny")
                .with_retry(10)
                .with_id(7)
                .with_event_type(ty("tick")),
            b"data:x\ndata:y\nevent:tick\nid:7\nretry:10\n\n",
        ),
        (ServerSentEvent::heartbeat(), b":\n\n"),
    ];
    for (event, wire) in cases {
        let response = EventStreamMarshalling::response(stream::iter([event.clone()]));
        assert_eq!(
            &body_bytes(response).await[..],
            wire,
            "{event:?} as {:?}",
            String::from_utf8_lossy(wire)
        );
    }
}

#[tokio::test]
async fn body_is_the_concatenation_of_events_in_order() {
    let events = vec![
        ServerSentEvent::new("first\nline two").with_event_type(ty("a")),
        ServerSentEvent::heartbeat(),
        ServerSentEvent::new("second").with_id(2).with_retry(1_000),
        ServerSentEvent::new(""),
    ];
    let response = EventStreamMarshalling::response(stream::iter(events));
    assert_eq!(
        &body_bytes(response).await[..],
        b"data:first\ndata:line two\nevent:a\n\n:\n\ndata:second\nid:2\nretry:1000\n\ndata:\n\n"
    );
}

#[tokio::test]
async fn empty_stream_gives_an_empty_body() {
    let mut body =
        EventStreamMarshalling::response(stream::iter(Vec::<ServerSentEvent>::new())).into_body();
    assert!(next_data(&mut body).await.is_none());
    assert!(body.is_end_stream());
}

// ---------------------------------------------------------------------------
// Framing: coalescing and flushing
// ---------------------------------------------------------------------------

#[tokio::test]
async fn ready_events_are_coalesced_into_one_frame() {
    let events = stream::iter([
        ServerSentEvent::new("1"),
        ServerSentEvent::new("2").with_event_type(ty("t")),
        ServerSentEvent::new("3\n4").with_id(3),
    ]);
    let mut body = EventStreamMarshalling::response(events).into_body();
    assert!(!body.is_end_stream());

    let frame = next_data(&mut body).await.expect("one frame").unwrap();
    assert_eq!(
        &frame[..],
        b"data:1\n\ndata:2\nevent:t\n\ndata:3\ndata:4\nid:3\n\n"
    );
    assert!(next_data(&mut body).await.is_none(), "then the end");
    assert!(body.is_end_stream());
    assert!(next_data(&mut body).await.is_none(), "and it stays ended");
}

#[tokio::test]
async fn a_large_burst_is_split_into_bounded_frames_with_exact_bytes() {
    let payload = "x".repeat(1_000);
    let events: Vec<_> = (0..200).map(|_| ServerSentEvent::new(&*payload)).collect();
    let one = format!("data:{payload}\n\n");
    let expected = one.repeat(200);

    let mut body = EventStreamMarshalling::response(stream::iter(events)).into_body();
    let mut frames = Vec::new();
    while let Some(frame) = next_data(&mut body).await {
        frames.push(frame.unwrap());
    }
    assert!(frames.len() > 1, "200 KB of ready events are not one frame");
    for frame in &frames {
        assert!(frame.len() <= 64 * 1024, "frame of {} bytes", frame.len());
        assert_eq!(frame.len() % one.len(), 0, "frames hold whole events");
    }
    assert_eq!(frames.concat(), expected.as_bytes());
}

#[tokio::test]
async fn an_event_produced_later_is_flushed_as_soon_as_it_is_ready() {
    let (tx, rx) = mpsc::channel::<ServerSentEvent>(8);
    let mut body = EventStreamMarshalling::response(ReceiverStream::new(rx)).into_body();

    // Nothing sent: no frame, and the body is not over.
    assert!(ready_data(&mut body).is_none(), "no frame before any event");
    assert!(!body.is_end_stream());

    // One event: a frame with just that event, without waiting for more.
    tx.send(ServerSentEvent::new("early").with_id(1))
        .await
        .unwrap();
    let frame = ready_data(&mut body)
        .expect("a frame is ready as soon as the event is")
        .expect("the body goes on")
        .unwrap();
    assert_eq!(&frame[..], b"data:early\nid:1\n\n");
    assert!(
        ready_data(&mut body).is_none(),
        "then nothing until more comes"
    );

    // Two events sent before the next poll share one frame.
    tx.send(ServerSentEvent::new("a")).await.unwrap();
    tx.send(ServerSentEvent::heartbeat()).await.unwrap();
    let frame = ready_data(&mut body).unwrap().unwrap().unwrap();
    assert_eq!(&frame[..], b"data:a\n\n:\n\n");

    // The stream ending ends the body.
    drop(tx);
    assert!(ready_data(&mut body).expect("the end is ready").is_none());
    assert!(body.is_end_stream());
}

#[tokio::test]
async fn a_waiting_poll_is_woken_by_a_later_event() {
    let (tx, rx) = mpsc::channel::<ServerSentEvent>(1);
    let mut body = EventStreamMarshalling::response(ReceiverStream::new(rx)).into_body();
    let producer = tokio::spawn(async move {
        tokio::task::yield_now().await;
        tx.send(ServerSentEvent::new("woken")).await.unwrap();
        // Keep the stream open until the consumer has read the frame.
        tx.closed().await;
    });

    let frame = tokio::time::timeout(SOCKET_TIMEOUT, next_data(&mut body))
        .await
        .expect("the waiting poll is woken")
        .unwrap()
        .unwrap();
    assert_eq!(&frame[..], b"data:woken\n\n");
    drop(body);
    producer.await.unwrap();
}

// ---------------------------------------------------------------------------
// Streams of Result: an Err aborts the body
// ---------------------------------------------------------------------------

#[tokio::test]
async fn events_before_an_error_are_delivered_then_the_error_then_the_end() {
    let items = stream::iter([
        Ok(ServerSentEvent::new("1")),
        Ok(ServerSentEvent::new("2").with_id(2)),
        Err(UpstreamFailed("db")),
        Ok(ServerSentEvent::new("never sent")),
    ]);
    let mut body = EventStreamMarshalling::response(items).into_body();

    let frame = next_data(&mut body).await.unwrap().expect("events first");
    assert_eq!(&frame[..], b"data:1\n\ndata:2\nid:2\n\n");
    assert!(!body.is_end_stream(), "the error is still to come");

    let error = next_data(&mut body)
        .await
        .unwrap()
        .expect_err("then the error");
    assert_eq!(
        error.downcast_ref::<UpstreamFailed>(),
        Some(&UpstreamFailed("db"))
    );
    assert_eq!(error.to_string(), "upstream failed: db");

    assert!(next_data(&mut body).await.is_none(), "then the end");
    assert!(body.is_end_stream());
}

#[tokio::test]
async fn an_error_as_first_item_is_yielded_at_once() {
    let items = stream::iter([
        Err(std::io::Error::other("refused")),
        Ok(ServerSentEvent::new("never sent")),
    ]);
    let mut body = EventStreamMarshalling::response(items).into_body();
    let error = next_data(&mut body).await.unwrap().expect_err("the error");
    let io = error
        .downcast_ref::<std::io::Error>()
        .expect("an io::Error");
    assert_eq!(io.to_string(), "refused");
    assert!(next_data(&mut body).await.is_none());
    assert!(body.is_end_stream());
}

#[tokio::test]
async fn an_error_after_a_flushed_frame_comes_in_its_own_poll() {
    let (tx, rx) = mpsc::channel::<Result<ServerSentEvent, BoxError>>(4);
    let mut body = EventStreamMarshalling::response(ReceiverStream::new(rx)).into_body();

    tx.send(Ok(ServerSentEvent::new("ok"))).await.unwrap();
    let frame = ready_data(&mut body).unwrap().unwrap().unwrap();
    assert_eq!(&frame[..], b"data:ok\n\n");

    tx.send(Err("gone".into())).await.unwrap();
    let error = ready_data(&mut body).unwrap().unwrap().unwrap_err();
    assert_eq!(error.to_string(), "gone");
    // The body is over even though the sender is still open.
    assert!(ready_data(&mut body).unwrap().is_none());
    drop(tx);
}

#[tokio::test]
async fn error_of_a_result_stream_fails_collect() {
    let items = stream::iter([Ok(ServerSentEvent::new("1")), Err(UpstreamFailed("late"))]);
    let error = EventStreamMarshalling::response(items)
        .into_body()
        .collect()
        .await
        .expect_err("collect fails");
    assert_eq!(error.to_string(), "upstream failed: late");
}

#[test]
fn event_stream_body_works_without_the_response() {
    let mut body = EventStreamBody::new(stream::iter([ServerSentEvent::new("raw")]));
    let frame = body.frame().now_or_never().unwrap().unwrap().unwrap();
    assert_eq!(&frame.into_data().unwrap()[..], b"data:raw\n\n");
    assert!(body.frame().now_or_never().unwrap().is_none());
    assert!(format!("{body:?}").starts_with("EventStreamBody"));
}

// ---------------------------------------------------------------------------
// The plain ToResponse impls
// ---------------------------------------------------------------------------

#[tokio::test]
async fn status_code_is_an_empty_response() {
    let response = StatusCode::NO_CONTENT.to_response();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(response.headers().get(CONTENT_TYPE).is_none());
    assert!(response.body().is_end_stream());
    assert!(body_bytes(response).await.is_empty());
}

#[tokio::test]
async fn string_and_str_are_200_text_plain() {
    for response in [String::from("héllo").to_response(), "héllo".to_response()] {
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()[CONTENT_TYPE],
            "text/plain; charset=utf-8"
        );
        assert_eq!(response.body().size_hint().exact(), Some(6));
        assert_eq!(&body_bytes(response).await[..], "héllo".as_bytes());
    }
}

#[tokio::test]
async fn status_and_text_replaces_the_status() {
    let response = (StatusCode::NOT_FOUND, "no such stream").to_response();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        response.headers()[CONTENT_TYPE],
        "text/plain; charset=utf-8"
    );
    assert_eq!(&body_bytes(response).await[..], b"no such stream");

    let response = (StatusCode::BAD_REQUEST, String::from("bad")).to_response();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(&body_bytes(response).await[..], b"bad");

    let response = (StatusCode::GONE, StatusCode::OK).to_response();
    assert_eq!(response.status(), StatusCode::GONE);
    assert!(body_bytes(response).await.is_empty());
}

#[tokio::test]
async fn status_and_event_stream_keeps_the_event_stream_headers() {
    let response = (
        StatusCode::CREATED,
        stream::iter([ServerSentEvent::new("made")]),
    )
        .to_response();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()[CONTENT_TYPE], "text/event-stream");
    assert_eq!(response.headers()[CACHE_CONTROL], "no-cache");
    assert_eq!(&body_bytes(response).await[..], b"data:made\n\n");
}

#[tokio::test]
async fn a_response_is_its_own_response() {
    let mut built = Response::new(ResponseBody::full("as is"));
    *built.status_mut() = StatusCode::ACCEPTED;
    built
        .headers_mut()
        .insert("x-custom", http::HeaderValue::from_static("1"));
    let response = built.to_response();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(response.headers()["x-custom"], "1");
    assert_eq!(&body_bytes(response).await[..], b"as is");
}

#[tokio::test]
async fn html_is_200_text_html() {
    let response = Html("<h1>Hi</h1>").to_response();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CONTENT_TYPE], "text/html; charset=utf-8");
    assert_eq!(&body_bytes(response).await[..], b"<h1>Hi</h1>");

    let response = (
        StatusCode::SERVICE_UNAVAILABLE,
        Html(String::from("<p>later</p>")),
    )
        .to_response();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(&body_bytes(response).await[..], b"<p>later</p>");
}

#[test]
fn response_body_constructors() {
    assert!(ResponseBody::empty().is_end_stream());
    assert!(ResponseBody::default().is_end_stream());
    assert_eq!(ResponseBody::full("abc").size_hint().exact(), Some(3));
    let wrapped = ResponseBody::new(http_body_util::Full::new(Bytes::from_static(b"xy")));
    assert_eq!(wrapped.size_hint().exact(), Some(2));
}

// ---------------------------------------------------------------------------
// End to end over a real socket
// ---------------------------------------------------------------------------

#[tokio::test]
async fn end_to_end_over_a_real_socket() {
    tokio::time::timeout(SOCKET_TIMEOUT, end_to_end())
        .await
        .expect("the end-to-end test finishes in time");
}

async fn end_to_end() {
    use hyper::body::Incoming;
    use hyper::service::service_fn;
    use hyper_util::rt::TokioIo;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();

    // The server's events come through a channel, so the test can show that
    // the first event crosses the socket before the next one even exists.
    let (tx, rx) = mpsc::channel::<ServerSentEvent>(8);
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let rx = std::sync::Mutex::new(Some(rx));
        let service = service_fn(move |request: Request<Incoming>| {
            assert_eq!(request.uri().path(), "/events");
            assert_eq!(request.headers()[ACCEPT], "text/event-stream");
            let events = ReceiverStream::new(rx.lock().unwrap().take().expect("one request"));
            async move { Ok::<_, Infallible>(EventStreamMarshalling::response(events)) }
        });
        hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(tcp), service)
            .await
    });

    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .unwrap();
    let client_connection = tokio::spawn(connection);

    let request = Request::get("/events")
        .header(HOST, addr.to_string())
        .header(ACCEPT, "text/event-stream")
        .body(Empty::<Bytes>::new())
        .unwrap();
    let response = sender.send_request(request).await.unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CONTENT_TYPE], "text/event-stream");
    assert_eq!(response.headers()[CACHE_CONTROL], "no-cache");
    assert!(response.headers().get(CONTENT_LENGTH).is_none());
    assert_eq!(response.headers()["transfer-encoding"], "chunked");

    let mut events = Unmarshal::new(response)
        .to::<EventSource>()
        .await
        .expect("an event stream");

    // First event: it arrives while the server stream is still open and
    // nothing else has been produced.
    tx.send(
        ServerSentEvent::new("lf\nline")
            .with_event_type(ty("first"))
            .with_id(1)
            .with_retry(1_500),
    )
    .await
    .unwrap();
    let first = events.next().await.expect("an event").expect("no error");
    assert_eq!(
        first,
        ServerSentEvent::new("lf\nline")
            .with_event_type(ty("first"))
            .with_id(1)
            .with_retry(1_500)
    );

    // The rest, a heartbeat among them (which is not delivered).
    let rest = [
        ServerSentEvent::heartbeat(),
        ServerSentEvent::new("cr\rcrlf\r\nlf\nend"),
        ServerSentEvent::new("typed").with_event_type(ty("update")),
        ServerSentEvent::new(" leading space\n"),
        ServerSentEvent::new("").with_id(EventId::from_static("last")),
    ];
    for event in rest {
        tx.send(event).await.unwrap();
    }
    drop(tx);

    let mut received = Vec::new();
    while let Some(event) = events.next().await {
        received.push(event.expect("no error"));
    }
    assert_eq!(
        received,
        [
            ServerSentEvent::new("cr\ncrlf\nlf\nend"),
            ServerSentEvent::new("typed").with_event_type(ty("update")),
            ServerSentEvent::new(" leading space\n"),
            ServerSentEvent::new("").with_id(EventId::from_static("last")),
        ]
    );

    drop(events);
    drop(sender);
    client_connection.await.unwrap().unwrap();
    server
        .await
        .unwrap()
        .expect("the server connection closes cleanly");
}

#[test]
fn a_body_error_is_the_callers_error_boxed_once() {
    // The marshalled body's error is what the caller gave, boxed once.
    let mut body = EventStreamMarshalling::response(stream::iter([Err::<ServerSentEvent, _>(
        UpstreamFailed("x"),
    )]))
    .into_body();
    let error = body
        .frame()
        .now_or_never()
        .unwrap()
        .unwrap()
        .expect_err("error");
    assert!(error.source().is_none());
    assert!(error.is::<UpstreamFailed>());
}

/// A mix of plain and encoded items, for the frame tests below.
#[derive(Debug)]
enum Item {
    Plain(ServerSentEvent),
    Encoded(sse_model::EncodedEvent),
}

impl sse_marshal::EventStreamItem for Item {
    fn write_to(self, dst: &mut bytes::BytesMut) -> Result<(), sse_marshal::BoxError> {
        match self {
            Item::Plain(e) => e.write_to(dst),
            Item::Encoded(e) => e.write_to(dst),
        }
    }
    fn try_into_bytes(self) -> Result<Bytes, Self> {
        match self {
            Item::Encoded(e) => Ok(e.into_bytes()),
            plain => Err(plain),
        }
    }
}

async fn all_frames(items: Vec<Item>) -> Vec<Bytes> {
    let mut body = EventStreamBody::new(futures_util::stream::iter(items));
    let mut frames = Vec::new();
    while let Some(frame) = body.frame().await {
        frames.push(frame.unwrap().into_data().unwrap());
    }
    frames
}

/// An encoded event with nothing ready around it (a broadcast reaching a
/// subscriber that keeps up) is handed to the connection as it is: the frame
/// shares the encoded bytes, no copy per client.
#[tokio::test]
async fn an_encoded_event_alone_becomes_a_frame_without_copying() {
    use sse_model::EncodedEvent;

    let shared = EncodedEvent::new(&ServerSentEvent::new("shared").with_id(1));
    let items: Vec<Result<EncodedEvent, std::io::Error>> = vec![Ok(shared.clone())];
    let mut body = EventStreamBody::new(futures_util::stream::iter(items));
    let frame = body.frame().await.unwrap().unwrap().into_data().unwrap();
    assert_eq!(
        frame.as_ptr(),
        shared.as_bytes().as_ptr(),
        "the bytes are shared"
    );
    assert!(body.frame().await.is_none());

    // One at a time, as a live subscriber sees them: every frame shared.
    let (tx, rx) = item_channel();
    let mut body = EventStreamBody::new(rx);
    for _ in 0..3 {
        tx.send(Item::Encoded(shared.clone())).unwrap();
        let frame = body.frame().await.unwrap().unwrap().into_data().unwrap();
        assert_eq!(frame.as_ptr(), shared.as_bytes().as_ptr());
    }
}

/// A sender and a stream of [`Item`]s that yields only what was sent.
fn item_channel() -> (
    tokio::sync::mpsc::UnboundedSender<Item>,
    tokio_stream::wrappers::UnboundedReceiverStream<Item>,
) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    (tx, tokio_stream::wrappers::UnboundedReceiverStream::new(rx))
}

/// Encoded events ready together with others (a subscriber catching up)
/// are written as one frame, in order: one write instead of one per event.
#[tokio::test]
async fn ready_encoded_events_are_coalesced_with_the_events_around_them() {
    use sse_model::EncodedEvent;

    let shared = EncodedEvent::new(&ServerSentEvent::new("shared").with_id(1));
    let frames = all_frames(vec![
        Item::Encoded(shared.clone()),
        Item::Plain(ServerSentEvent::new("a")),
        Item::Encoded(shared.clone()),
        Item::Plain(ServerSentEvent::new("b")),
    ])
    .await;
    assert_eq!(frames.len(), 1);
    assert_eq!(
        &frames[0][..],
        b"data:shared\nid:1\n\ndata:a\n\ndata:shared\nid:1\n\ndata:b\n\n"
    );
}

/// A large encoded event is never copied, wherever it stands in a batch.
#[tokio::test]
async fn a_large_encoded_event_is_always_a_frame_of_its_own() {
    use sse_model::EncodedEvent;

    let large = EncodedEvent::new(&ServerSentEvent::new("x".repeat(10_000)));
    let frames = all_frames(vec![
        Item::Encoded(large.clone()),
        Item::Plain(ServerSentEvent::new("a")),
        Item::Encoded(large.clone()),
        Item::Encoded(large.clone()),
        Item::Plain(ServerSentEvent::new("b")),
    ])
    .await;
    let shape: Vec<&[u8]> = frames
        .iter()
        .map(|f| {
            if f.as_ptr() == large.as_bytes().as_ptr() {
                &b"large"[..]
            } else {
                &f[..]
            }
        })
        .collect();
    assert_eq!(
        shape,
        [
            &b"large"[..],
            b"data:a\n\n",
            b"large",
            b"large",
            b"data:b\n\n"
        ]
    );
}
