//! Unmarshalling: a `text/event-stream` response becomes an `EventSource`.
//!
//! Covers the content-type check, bodies split into frames of every size,
//! failing bodies, the end of the body, trailers, custom parser settings
//! through `EventStreamUnmarshalling`, and the `Send + 'static` bound of
//! `EventSource`.

use std::error::Error as _;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use futures_util::{stream, FutureExt, Stream, StreamExt};
use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderValue, Response};
use http_body::Frame;
use http_body_util::{Empty, Full, StreamBody};
use sse_marshal::{
    Error, EventSource, EventStreamMarshalling, EventStreamUnmarshalling, FromEntity,
    OversizeCallback, OversizePolicy, ServerSentEventSettings, Unmarshal,
};
use sse_model::{EventId, EventType, ServerSentEvent};

// `EventSource` can be moved into a spawned task.
const _: () = {
    const fn assert_send_static<T: Send + 'static>() {}
    assert_send_static::<EventSource>();
    assert_send_static::<Error>();
};

type Chunk = Result<Frame<Bytes>, io::Error>;

fn data(bytes: &'static [u8]) -> Chunk {
    Ok(Frame::data(Bytes::from_static(bytes)))
}

fn response<B>(content_type: Option<&'static str>, body: B) -> Response<B> {
    let mut response = Response::new(body);
    if let Some(value) = content_type {
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(value));
    }
    response
}

fn sse<B>(body: B) -> Response<B> {
    response(Some("text/event-stream"), body)
}

fn full(bytes: &'static [u8]) -> Full<Bytes> {
    Full::new(Bytes::from_static(bytes))
}

/// A body that sends `input` in frames of `size` bytes.
fn chunked(input: &[u8], size: usize) -> StreamBody<impl Stream<Item = Chunk> + Send + 'static> {
    let frames: Vec<Chunk> = input
        .chunks(size)
        .map(|chunk| Ok(Frame::data(Bytes::copy_from_slice(chunk))))
        .collect();
    StreamBody::new(stream::iter(frames))
}

async fn unmarshal<B>(response: Response<B>) -> EventSource
where
    EventSource: FromEntity<Response<B>, Error = Error>,
{
    Unmarshal::new(response)
        .to::<EventSource>()
        .await
        .expect("an event stream")
}

/// Every event until the end; panics on an error.
async fn all_events(mut events: EventSource) -> Vec<ServerSentEvent> {
    let mut out = Vec::new();
    while let Some(event) = events.next().await {
        out.push(event.expect("no error"));
    }
    out
}

fn ty(value: &'static str) -> EventType {
    EventType::from_static(value)
}

/// A stream using every feature the parser must handle, and what it means.
const RICH: &[u8] = b"\xEF\xBB\xBFretry: 1500\r\n\
id: 1\r\n\
event: greeting\r\n\
data: hello\r\n\
data:  world\r\n\
\r\n\
: a comment\n\
data\n\
\n\
data: cr\rdata: only\r\r\
id: 2\n\
data: {\"k\": \"v: w\"}\n\
\n\
event: ignored-for-no-data\n\
id: 3\n\
\n\
unknown: field\n\
data: caf\xC3\xA9 \xFF\n\
\n\
data: unterminated";

fn rich_events() -> Vec<ServerSentEvent> {
    vec![
        ServerSentEvent::new("hello\n world")
            .with_event_type(ty("greeting"))
            .with_id(1)
            .with_retry(1_500),
        ServerSentEvent::new(""),
        ServerSentEvent::new("cr\nonly"),
        ServerSentEvent::new("{\"k\": \"v: w\"}").with_id(2),
        ServerSentEvent::new("café \u{FFFD}"),
    ]
}

// ---------------------------------------------------------------------------
// Content type
// ---------------------------------------------------------------------------

#[tokio::test]
async fn wrong_content_type_is_a_content_type_error() {
    for wrong in [
        "text/plain",
        "application/json",
        "text/event-streams",
        "text/html; charset=utf-8",
        "",
    ] {
        let error = Unmarshal::new(response(Some(wrong), full(b"data: x\n\n")))
            .to::<EventSource>()
            .await
            .expect_err(wrong);
        assert!(error.is_content_type(), "{wrong:?}: {error:?}");
        assert!(!error.is_body() && !error.is_oversized() && !error.is_io());
        if !wrong.is_empty() {
            assert!(error.to_string().contains(wrong), "{error}");
        }
    }
}

#[tokio::test]
async fn missing_content_type_is_a_content_type_error() {
    let error = Unmarshal::new(response(None, full(b"data: x\n\n")))
        .to::<EventSource>()
        .await
        .expect_err("no content type");
    assert!(error.is_content_type(), "{error:?}");
    assert!(error.source().is_none());
}

#[tokio::test]
async fn content_type_check_is_case_insensitive_and_ignores_parameters() {
    for ok in [
        "text/event-stream",
        "Text/Event-Stream; charset=utf-8",
        "TEXT/EVENT-STREAM",
        "text/event-stream;charset=UTF-8",
    ] {
        let events = unmarshal(response(Some(ok), full(b"data: x\n\n"))).await;
        assert_eq!(
            all_events(events).await,
            [ServerSentEvent::new("x")],
            "{ok}"
        );
    }
}

#[tokio::test]
async fn from_entity_and_custom_unmarshalling_check_the_content_type_too() {
    let error = EventSource::from_entity(response(Some("text/plain"), Empty::<Bytes>::new()))
        .await
        .unwrap_err();
    assert!(error.is_content_type());

    let custom = EventStreamUnmarshalling::new(ServerSentEventSettings::unlimited());
    let error = custom
        .unmarshal(response(None, Empty::<Bytes>::new()))
        .unwrap_err();
    assert!(error.is_content_type());
}

#[tokio::test]
async fn the_first_content_type_header_decides() {
    let mut headers = HeaderMap::new();
    headers.append(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.append(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    let mut ok = Response::new(full(b"data: x\n\n"));
    *ok.headers_mut() = headers;
    assert_eq!(
        all_events(unmarshal(ok).await).await,
        [ServerSentEvent::new("x")]
    );
}

// ---------------------------------------------------------------------------
// Parsing whole and chunked bodies
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_whole_body_gives_the_spec_events() {
    let events = unmarshal(sse(full(RICH))).await;
    assert_eq!(all_events(events).await, rich_events());
}

#[tokio::test]
async fn tiny_frames_give_the_same_events() {
    for size in [1, 2, 3, 5, 7, 16, 64] {
        let events = unmarshal(sse(chunked(RICH, size))).await;
        assert_eq!(all_events(events).await, rich_events(), "frames of {size}");
    }
}

#[tokio::test]
async fn every_split_point_gives_the_same_events() {
    for split in 0..=RICH.len() {
        let (head, tail) = RICH.split_at(split);
        let frames = vec![
            Ok(Frame::data(Bytes::copy_from_slice(head))),
            Ok(Frame::data(Bytes::new())),
            Ok(Frame::data(Bytes::copy_from_slice(tail))),
        ];
        let body = StreamBody::new(stream::iter::<Vec<Chunk>>(frames));
        let events = unmarshal(sse(body)).await;
        assert_eq!(all_events(events).await, rich_events(), "split at {split}");
    }
}

#[tokio::test]
async fn crlf_split_across_frames_is_one_line_break() {
    // CR at the end of one frame, LF at the start of the next: one line
    // break, not two (which would dispatch an event early).
    let body = StreamBody::new(stream::iter(vec![
        data(b"data: a\r"),
        data(b"\ndata: b\r"),
        data(b"\n\r"),
        data(b"\n"),
    ]));
    let events = unmarshal(sse(body)).await;
    assert_eq!(all_events(events).await, [ServerSentEvent::new("a\nb")]);
}

#[tokio::test]
async fn a_bom_is_stripped_once_even_when_split() {
    let body = StreamBody::new(stream::iter(vec![
        data(b"\xEF"),
        data(b"\xBB"),
        data(b"\xBFdata: 1\n\n\xEF\xBB\xBFdata: 2\n\n"),
    ]));
    let events = unmarshal(sse(body)).await;
    assert_eq!(
        all_events(events).await,
        [ServerSentEvent::new("1")],
        "a second BOM makes the field name `\\u{{FEFF}}data`, which is ignored"
    );
}

#[tokio::test]
async fn events_arrive_as_soon_as_their_frame_does() {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Chunk>();
    let body = StreamBody::new(tokio_stream::wrappers::UnboundedReceiverStream::new(rx));
    let mut events = unmarshal(sse(body)).await;

    assert!(events.next().now_or_never().is_none(), "nothing yet");
    tx.send(data(b"data: first\n")).unwrap();
    assert!(events.next().now_or_never().is_none(), "block not ended");
    tx.send(data(b"\ndata: sec")).unwrap();
    let first = events.next().now_or_never().unwrap().unwrap().unwrap();
    assert_eq!(first, ServerSentEvent::new("first"));
    assert!(
        events.next().now_or_never().is_none(),
        "the rest is pending"
    );
    tx.send(data(b"ond\n\n")).unwrap();
    let second = events.next().now_or_never().unwrap().unwrap().unwrap();
    assert_eq!(second, ServerSentEvent::new("second"));
    drop(tx);
    assert!(events.next().now_or_never().unwrap().is_none());
}

#[tokio::test]
async fn trailers_are_ignored() {
    let mut trailers = HeaderMap::new();
    trailers.insert("x-checksum", HeaderValue::from_static("abc"));
    let body = StreamBody::new(stream::iter(vec![
        data(b"data: a\n"),
        Ok(Frame::trailers(trailers)),
        data(b"\n"),
    ]));
    let events = unmarshal(sse(body)).await;
    assert_eq!(all_events(events).await, [ServerSentEvent::new("a")]);
}

// ---------------------------------------------------------------------------
// End of body and body errors
// ---------------------------------------------------------------------------

#[tokio::test]
async fn clean_end_discards_an_unterminated_last_event() {
    let cases: [(&'static [u8], Vec<ServerSentEvent>); 6] = [
        (b"", vec![]),
        (b"data: a\n\ndata: b", vec![ServerSentEvent::new("a")]),
        (b"data: a\n\ndata: b\n", vec![ServerSentEvent::new("a")]),
        (b"data: a\n\ndata: b\r\n", vec![ServerSentEvent::new("a")]),
        (
            b"data: a\n\nid: 9\nevent: x\ndata: b\n",
            vec![ServerSentEvent::new("a")],
        ),
        (b"data: a\r\r", vec![ServerSentEvent::new("a")]),
    ];
    for (input, expected) in cases {
        for size in [1, input.len().max(1)] {
            let mut events = unmarshal(sse(chunked(input, size))).await;
            let mut got = Vec::new();
            while let Some(event) = events.next().await {
                got.push(event.unwrap());
            }
            assert_eq!(got, expected, "{:?}", String::from_utf8_lossy(input));
            assert!(events.next().await.is_none(), "stays ended");
        }
    }
}

#[tokio::test]
async fn a_body_error_mid_stream_is_yielded_once_then_the_stream_ends() {
    let body = StreamBody::new(stream::iter(vec![
        data(b"data: a\n\ndata: b"),
        data(b"\n\ndata: partial\n"),
        Err(io::Error::new(
            io::ErrorKind::ConnectionReset,
            "reset by peer",
        )),
        data(b"\ndata: never\n\n"),
    ]));
    let mut events = unmarshal(sse(body)).await;

    assert_eq!(
        events.next().await.unwrap().unwrap(),
        ServerSentEvent::new("a")
    );
    assert_eq!(
        events.next().await.unwrap().unwrap(),
        ServerSentEvent::new("b")
    );
    let error = events.next().await.unwrap().expect_err("the body error");
    assert!(error.is_body(), "{error:?}");
    assert!(!error.is_content_type() && !error.is_oversized() && !error.is_io());
    let cause = error
        .source()
        .expect("the cause")
        .downcast_ref::<io::Error>()
        .expect("the body's own error");
    assert_eq!(cause.kind(), io::ErrorKind::ConnectionReset);
    assert_eq!(cause.to_string(), "reset by peer");

    assert!(events.next().await.is_none(), "then the end");
    assert!(events.next().await.is_none(), "and it stays ended");
}

#[tokio::test]
async fn a_body_error_before_any_event() {
    let body = StreamBody::new(stream::iter(vec![Err::<Frame<Bytes>, _>(
        io::Error::other("no route"),
    )]));
    let mut events = unmarshal(sse(body)).await;
    let error = events.next().await.unwrap().unwrap_err();
    assert!(error.is_body());
    assert!(events.next().await.is_none());
}

#[tokio::test]
async fn a_marshalled_error_reaches_the_reader_as_a_body_error() {
    #[derive(Debug)]
    struct Boom;
    impl std::fmt::Display for Boom {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("boom")
        }
    }
    impl std::error::Error for Boom {}

    let served = EventStreamMarshalling::response(stream::iter([
        Ok(ServerSentEvent::new("before").with_id(1)),
        Err(Boom),
    ]));
    let mut events = unmarshal(served).await;
    assert_eq!(
        events.next().await.unwrap().unwrap(),
        ServerSentEvent::new("before").with_id(1)
    );
    let error = events.next().await.unwrap().unwrap_err();
    assert!(error.is_body());
    assert!(error.source().unwrap().is::<Boom>());
    assert!(events.next().await.is_none());
}

// ---------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------

#[tokio::test]
async fn custom_settings_apply_an_oversized_line_fails() {
    let input: &[u8] =
        b"data: short\n\ndata: this line is much longer than sixteen bytes\n\ndata: after\n\n";

    // The default settings read it all.
    let events = unmarshal(sse(full(input))).await;
    assert_eq!(all_events(events).await.len(), 3);

    let unmarshalling =
        EventStreamUnmarshalling::new(ServerSentEventSettings::new().with_max_line_size(16));
    assert_eq!(unmarshalling.settings().max_line_size(), 16);
    for size in [1, 4, input.len()] {
        let mut events = unmarshalling.unmarshal(sse(chunked(input, size))).unwrap();
        assert_eq!(
            events.next().await.unwrap().unwrap(),
            ServerSentEvent::new("short")
        );
        let error = events.next().await.unwrap().expect_err("line too long");
        assert!(error.is_line_too_long(), "{error:?}");
        assert!(error.is_oversized() && !error.is_body());
        assert!(events.next().await.is_none(), "the error ends the stream");
    }
}

#[tokio::test]
async fn an_oversized_unterminated_line_fails_without_waiting_for_its_end() {
    // The peer never ends its line: the limit still holds, at once.
    let body = StreamBody::new(
        stream::iter(vec![data(b"data: 0123456789"), data(b"0123456789")]).chain(stream::pending()),
    );
    let unmarshalling =
        EventStreamUnmarshalling::new(ServerSentEventSettings::new().with_max_line_size(16));
    let mut events = unmarshalling.unmarshal(sse(body)).unwrap();
    let error = events
        .next()
        .now_or_never()
        .expect("the error comes without more input")
        .unwrap()
        .unwrap_err();
    assert!(error.is_line_too_long(), "{error:?}");
}

#[tokio::test]
async fn custom_settings_apply_an_oversized_event_fails() {
    let unmarshalling =
        EventStreamUnmarshalling::new(ServerSentEventSettings::new().with_max_event_size(10));
    let body = full(b"data: 12345\n\ndata: 12345\ndata: 67890\n\ndata: x\n\n");
    let mut events = unmarshalling.unmarshal(sse(body)).unwrap();
    assert_eq!(
        events.next().await.unwrap().unwrap(),
        ServerSentEvent::new("12345")
    );
    let error = events.next().await.unwrap().unwrap_err();
    assert!(error.is_event_too_large(), "{error:?}");
    assert!(events.next().await.is_none());
}

#[tokio::test]
async fn custom_settings_apply_skip_and_callback_policies() {
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&seen);
    let settings = ServerSentEventSettings::new()
        .with_max_line_size(16)
        .with_oversized_line(OversizePolicy::Callback(OversizeCallback::new(
            move |oversized| {
                counter.fetch_add(oversized.prefix().len(), Ordering::SeqCst);
            },
        )));
    let input = b"data: a\n\ndata: this line is far too long\n\ndata: b\n\n";
    for size in [1, 3, input.len()] {
        seen.store(0, Ordering::SeqCst);
        let events = EventStreamUnmarshalling::new(settings.clone())
            .unmarshal(sse(chunked(input, size)))
            .unwrap();
        assert_eq!(
            all_events(events).await,
            [ServerSentEvent::new("a"), ServerSentEvent::new("b")],
            "frames of {size}"
        );
        assert_eq!(seen.load(Ordering::SeqCst), 16, "frames of {size}");
    }

    let skip = ServerSentEventSettings::new()
        .with_max_line_size(16)
        .with_oversized_line(OversizePolicy::Skip);
    let events = EventStreamUnmarshalling::new(skip)
        .unmarshal(sse(full(input)))
        .unwrap();
    assert_eq!(
        all_events(events).await,
        [ServerSentEvent::new("a"), ServerSentEvent::new("b")]
    );
}

#[tokio::test]
async fn custom_settings_apply_empty_events_off() {
    let input = b"data\n\ndata:\n\ndata: x\n\n";
    let on = unmarshal(sse(full(input))).await;
    assert_eq!(
        all_events(on).await,
        [
            ServerSentEvent::new(""),
            ServerSentEvent::new(""),
            ServerSentEvent::new("x")
        ]
    );
    let off =
        EventStreamUnmarshalling::new(ServerSentEventSettings::new().with_emit_empty_events(false))
            .unmarshal(sse(full(input)))
            .unwrap();
    assert_eq!(all_events(off).await, [ServerSentEvent::new("x")]);
}

#[tokio::test]
async fn from_body_skips_the_header_check() {
    let events = EventStreamUnmarshalling::default().from_body(full(b"data: raw\n\n"));
    assert_eq!(all_events(events).await, [ServerSentEvent::new("raw")]);
}

// ---------------------------------------------------------------------------
// EventSource itself
// ---------------------------------------------------------------------------

#[tokio::test]
async fn event_source_wraps_any_stream_and_crosses_tasks() {
    let source = EventSource::new(stream::iter([Ok(
        ServerSentEvent::new("x").with_id(EventId::from_static("7"))
    )]));
    assert!(format!("{source:?}").starts_with("EventSource"));
    let handle = tokio::spawn(all_events(source));
    assert_eq!(
        handle.await.unwrap(),
        [ServerSentEvent::new("x").with_id(EventId::from_static("7"))]
    );

    let parsed = unmarshal(sse(chunked(RICH, 3))).await;
    let handle = tokio::spawn(all_events(parsed));
    assert_eq!(handle.await.unwrap(), rich_events());
}

#[tokio::test]
async fn a_line_of_exactly_max_line_size_is_accepted() {
    // "data: " + 10 bytes = 16 bytes, the limit: accepted; 17 bytes: refused.
    let settings = ServerSentEventSettings::new().with_max_line_size(16);
    for size in [1, 64] {
        let events = EventStreamUnmarshalling::new(settings.clone())
            .unmarshal(sse(chunked(b"data: 0123456789\n\n", size)))
            .unwrap();
        assert_eq!(
            all_events(events).await,
            [ServerSentEvent::new("0123456789")],
            "frames of {size}"
        );

        let mut events = EventStreamUnmarshalling::new(settings.clone())
            .unmarshal(sse(chunked(b"data: 0123456789A\n\n", size)))
            .unwrap();
        let error = events.next().await.unwrap().unwrap_err();
        assert!(error.is_line_too_long(), "frames of {size}: {error:?}");
    }
}

#[tokio::test]
async fn an_event_of_exactly_max_event_size_is_accepted() {
    // The limit counts the event's data: its data values joined by LF.
    let settings = ServerSentEventSettings::new().with_max_event_size(10);
    for (input, data) in [
        (&b"data: 0123456789\n\n"[..], "0123456789"),
        (&b"data: 01234\ndata: 5678\n\n"[..], "01234\n5678"),
    ] {
        let events = EventStreamUnmarshalling::new(settings.clone())
            .unmarshal(sse(full(input)))
            .unwrap();
        let got: Vec<_> = events.collect().await;
        let got: Vec<_> = got
            .into_iter()
            .map(|e| e.map_err(|e| format!("{e:?}")))
            .collect();
        assert_eq!(got, [Ok(ServerSentEvent::new(data))], "{data:?}");
    }

    let mut events = EventStreamUnmarshalling::new(settings)
        .unmarshal(sse(full(b"data: 0123456789A\n\n")))
        .unwrap();
    let error = events.next().await.unwrap().unwrap_err();
    assert!(error.is_event_too_large(), "{error:?}");
}

#[tokio::test]
async fn custom_settings_apply_truncation_at_a_character_boundary() {
    // Lines: cut to 16 bytes, then interpreted; never inside a character.
    let lines = ServerSentEventSettings::new()
        .with_max_line_size(16)
        .with_oversized_line(OversizePolicy::Truncate);
    let input = "data: 0123456789ABCDEF\n\ndata: 012345678é\n\ndata: ok\n\n".as_bytes();
    for size in [1, 2, 5, input.len()] {
        let events = EventStreamUnmarshalling::new(lines.clone())
            .unmarshal(sse(chunked(input, size)))
            .unwrap();
        assert_eq!(
            all_events(events).await,
            [
                ServerSentEvent::new("0123456789"),
                ServerSentEvent::new("012345678"),
                ServerSentEvent::new("ok"),
            ],
            "frames of {size}"
        );
    }

    // Events: the first 10 bytes of the data, never inside a character.
    let events_limit = ServerSentEventSettings::new()
        .with_max_event_size(10)
        .with_oversized_event(OversizePolicy::Truncate);
    let input =
        "data: 01234\ndata: 56789xyz\ndata: more\n\ndata: 0éééééé\n\ndata: ok\n\n".as_bytes();
    for size in [1, 3, input.len()] {
        let events = EventStreamUnmarshalling::new(events_limit.clone())
            .unmarshal(sse(chunked(input, size)))
            .unwrap();
        assert_eq!(
            all_events(events).await,
            [
                ServerSentEvent::new("01234\n5678"),
                ServerSentEvent::new("0éééé"), // 9 bytes: the 10th is half an é
                ServerSentEvent::new("ok"),
            ],
            "frames of {size}"
        );
    }
}
