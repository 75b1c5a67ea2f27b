//! The client side: the parser and the unmarshaller under hostile input.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use futures_util::{stream, StreamExt};
use http_body_util::StreamBody;
use hyper::body::{Body, Frame, SizeHint};
use sse_marshal::{
    EventStreamParser, EventStreamUnmarshalling, OversizePolicy, ServerSentEventSettings,
};
use sse_model::{EventId, EventType, ServerSentEvent};
use tokio::io::AsyncWriteExt;
use tokio_util::codec::Decoder;

use crate::support::*;

// ===========================================================================
// Endless line, endless event
// ===========================================================================

/// The most bytes an endless input may send; reaching it means the client
/// kept reading when it should have given up.
const ENDLESS_CAP: usize = 1 << 30;

#[tokio::test]
async fn an_endless_line_fails_the_stream_and_the_client_hangs_up() {
    let filler = vec![b'x'; 64 * KIB];
    let (addr, server) = raw_server(CLOSE_DELIMITED, move |mut stream| async move {
        write_endless(&mut stream, b"data: ", &filler, ENDLESS_CAP, b"").await
    })
    .await;
    let mut events = events_with(addr, ServerSentEventSettings::default()).await;
    let first = within("the first item", events.next()).await;
    let error = first.expect("an item").expect_err("an error, not an event");
    assert!(error.is_line_too_long(), "{error:?}");
    assert!(within("the end", events.next()).await.is_none());
    drop(events);
    // The client hung up: the server's writes fail long before the cap.
    let (written, complete) = within("the server stops writing", server).await.unwrap();
    assert!(
        !complete && written < ENDLESS_CAP,
        "{written} bytes written"
    );
    println!(
        "measured: endless line, fail: the server wrote {written} bytes before the client hung up"
    );
}

#[tokio::test]
async fn an_endless_event_fails_the_stream_and_the_client_hangs_up() {
    let mut line = b"data: ".to_vec();
    line.extend(std::iter::repeat_n(b'y', 1000));
    line.push(b'\n');
    let (addr, server) = raw_server(CLOSE_DELIMITED, move |mut stream| async move {
        write_endless(&mut stream, b"", &line, ENDLESS_CAP, b"").await
    })
    .await;
    let mut events = events_with(addr, ServerSentEventSettings::default()).await;
    let error = within("the first item", events.next())
        .await
        .expect("an item")
        .expect_err("an error, not an event");
    assert!(error.is_event_too_large(), "{error:?}");
    assert!(within("the end", events.next()).await.is_none());
    drop(events);
    let (written, complete) = within("the server stops writing", server).await.unwrap();
    assert!(
        !complete && written < ENDLESS_CAP,
        "{written} bytes written"
    );
}

#[tokio::test]
async fn an_overlong_line_is_truncated_over_a_socket() {
    let filler = vec![b'x'; 64 * KIB];
    let (addr, server) = raw_server(CLOSE_DELIMITED, move |mut stream| async move {
        write_endless(&mut stream, b"data: ", &filler, MIB, b"\n\ndata: after\n\n").await
    })
    .await;
    let settings = ServerSentEventSettings::default().with_oversized_line(OversizePolicy::Truncate);
    let items = within("the stream", collect(events_with(addr, settings).await)).await;
    // The line keeps its first 4096 bytes, "data: " included.
    assert_eq!(datas(&items), ["x".repeat(4096 - 6), "after".to_owned()]);
    assert!(within("the server", server).await.unwrap().1);
}

/// How much an endless input sends in the bounded-memory tests: far more than
/// the memory the client may use for it.
const STREAMED: usize = 64 * MIB;
/// The most the client process's peak resident memory may grow meanwhile.
const GROWTH_BOUND: usize = 16 * MIB;

/// Runs `scenario` and checks that the process's peak resident memory grew
/// by less than [`GROWTH_BOUND`] meanwhile.
async fn in_bounded_memory<F: Future<Output = ()>>(what: &str, scenario: F) {
    let before = proc_status_bytes("VmRSS:");
    scenario.await;
    let peak = proc_status_bytes("VmHWM:");
    let growth = peak.saturating_sub(before);
    println!(
        "measured: {what}: {} MiB streamed, peak resident memory grew by {:.1} MiB (bound {} MiB)",
        STREAMED / MIB,
        growth as f64 / MIB as f64,
        GROWTH_BOUND / MIB
    );
    assert!(
        growth < GROWTH_BOUND,
        "{what}: resident memory grew by {growth} bytes while {STREAMED} were streamed"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn an_endless_line_is_skipped_over_a_socket_in_bounded_memory() {
    if isolated("client_side::an_endless_line_is_skipped_over_a_socket_in_bounded_memory") {
        return;
    }
    in_bounded_memory("endless line, skip", async {
        let filler = vec![b'x'; 64 * KIB];
        let (addr, server) = raw_server(CLOSE_DELIMITED, move |mut stream| async move {
            write_endless(
                &mut stream,
                b"data: ",
                &filler,
                STREAMED,
                b"\n\ndata: after\n\n",
            )
            .await
        })
        .await;
        let settings = ServerSentEventSettings::default().with_oversized_line(OversizePolicy::Skip);
        let items = within("the stream", collect(events_with(addr, settings).await)).await;
        assert_eq!(datas(&items), ["after"]);
        let (written, complete) = within("the server", server).await.unwrap();
        assert!(written >= STREAMED && complete, "{written} bytes written");
    })
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn an_endless_event_is_skipped_over_a_socket_in_bounded_memory() {
    if isolated("client_side::an_endless_event_is_skipped_over_a_socket_in_bounded_memory") {
        return;
    }
    in_bounded_memory("endless event, skip", async {
        let mut line = b"data: ".to_vec();
        line.extend(std::iter::repeat_n(b'y', 1018));
        line.push(b'\n');
        let (addr, server) = raw_server(CLOSE_DELIMITED, move |mut stream| async move {
            write_endless(&mut stream, b"", &line, STREAMED, b"\ndata: after\n\n").await
        })
        .await;
        let settings =
            ServerSentEventSettings::default().with_oversized_event(OversizePolicy::Skip);
        let items = within("the stream", collect(events_with(addr, settings).await)).await;
        assert_eq!(datas(&items), ["after"]);
        let (written, complete) = within("the server", server).await.unwrap();
        assert!(written >= STREAMED && complete, "{written} bytes written");
    })
    .await;
}

/// Where a socket cannot show the parser's buffer: the same endless inputs fed
/// to the parser in 64 KiB chunks (as a socket delivers them) never leave
/// more than the line limit buffered.
#[test]
fn the_parser_buffer_stays_within_the_line_limit_on_endless_input() {
    let endless_line = [
        b"data: ".as_slice(),
        &vec![b'x'; 16 * MIB],
        b"\n\ndata: after\n\n",
    ]
    .concat();
    let endless_event = [
        b"data: 0123456789\n".repeat(MIB).as_slice(),
        b"\ndata: after\n\n",
    ]
    .concat();
    for (name, input, settings) in [
        (
            "endless line",
            &endless_line,
            ServerSentEventSettings::default().with_oversized_line(OversizePolicy::Skip),
        ),
        (
            "endless event",
            &endless_event,
            ServerSentEventSettings::default().with_oversized_event(OversizePolicy::Skip),
        ),
    ] {
        let limit = settings.max_line_size();
        let ((events, _, _), most_buffered) = parse_chunks(settings, input.chunks(64 * KIB));
        assert_eq!(events, [ev(None, "after", None)], "{name}");
        assert!(
            most_buffered <= limit,
            "{name}: {most_buffered} bytes buffered, limit {limit}"
        );
    }
}

// ===========================================================================
// Millions of tiny events
// ===========================================================================

/// A million `data:x` events (8 MB; two million, 16 MB, in release builds)
/// through the parser in 64 KiB chunks. (Two million take about 2.6 s in a
/// debug build on a 2-core machine, hence one million there.)
/// Counted, and the buffer never holds more than one partial event.
#[test]
fn a_million_tiny_events() {
    const EVENTS: usize = if cfg!(debug_assertions) {
        1_000_000
    } else {
        2_000_000
    };
    let input = b"data:x\n\n".repeat(EVENTS);
    let started = Instant::now();
    let mut parser = EventStreamParser::new();
    let mut buf = BytesMut::with_capacity(64 * KIB);
    let mut count = 0usize;
    for chunk in input.chunks(64 * KIB) {
        buf.extend_from_slice(chunk);
        while let Some(event) = parser.decode(&mut buf).unwrap() {
            debug_assert_eq!(event.data(), "x");
            count += 1;
        }
        assert!(buf.len() < 8, "{} bytes left over", buf.len());
    }
    assert!(parser.decode_eof(&mut buf).unwrap().is_none());
    assert_eq!(count, EVENTS);
    println!(
        "measured: {EVENTS} tiny events parsed in {:?}",
        started.elapsed()
    );
}

// ===========================================================================
// One-byte reads
// ===========================================================================

/// A stream with a bit of everything: BOM, CR, LF, CRLF, comments, ids,
/// retry, types, empty and multi-line data, NUL, invalid UTF-8, unknown
/// fields, and an unfinished last block.
fn rich_stream() -> Vec<u8> {
    let mut s = b"\xEF\xBB\xBF: hello\r\n".to_vec();
    for i in 0..40 {
        s.extend_from_slice(format!("id: {i}\r\nevent: e{}\rdata: line {i}\n", i % 3).as_bytes());
        s.extend_from_slice(b"data:\xE2\x82\xAC \xFF \xF0\x9F\x98\x80\0tail\r\n");
        s.extend_from_slice(b"retry: 1500\nunknown: x\n:comment\r\r\n");
        s.extend_from_slice(b"data\ndata:  spaced\n\n");
    }
    s.extend_from_slice(b"id: never\ndata: unfinished");
    s
}

/// A body that records the size of every data frame it passes on.
struct FrameSizes<B> {
    inner: B,
    sizes: Arc<std::sync::Mutex<Vec<usize>>>,
}

impl<B: Body<Data = Bytes> + Unpin> Body for FrameSizes<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            if let Some(data) = frame.data_ref() {
                self.sizes.lock().unwrap().push(data.len());
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

fn event_tuples(items: &[Result<ServerSentEvent, sse_marshal::Error>]) -> Parsed {
    let events = items
        .iter()
        .map(|item| {
            let e = item.as_ref().expect("no error");
            (
                e.event_type().map(str::to_owned),
                e.data().to_owned(),
                e.id().map(str::to_owned),
                e.retry(),
            )
        })
        .collect();
    (events, String::new(), None)
}

#[tokio::test]
async fn one_byte_chunks_over_a_socket() {
    let stream_bytes = rich_stream();
    let expected = parse_whole(&stream_bytes).0;
    assert_eq!(expected.len(), 40 * 2, "two events per round");

    // Chunked transfer coding with one byte per chunk, one write per chunk:
    // every body frame the client sees is one byte long.
    let body = stream_bytes.clone();
    let (addr, server) = raw_server(CHUNKED, move |mut stream| async move {
        stream.set_nodelay(true).unwrap();
        for &byte in &body {
            let chunk = [b'1', b'\r', b'\n', byte, b'\r', b'\n'];
            stream.write_all(&chunk).await.unwrap();
        }
        stream.write_all(b"0\r\n\r\n").await.unwrap();
    })
    .await;
    let sizes = Arc::default();
    let response = get(addr, "/events").await.map(|inner| FrameSizes {
        inner,
        sizes: Arc::clone(&sizes),
    });
    let events = EventStreamUnmarshalling::new(ServerSentEventSettings::unlimited())
        .unmarshal(response)
        .unwrap();
    let items = within("the stream", collect(events)).await;
    within("the server", server).await.unwrap();
    assert_eq!(event_tuples(&items).0, expected);
    let sizes: Vec<usize> = std::mem::take(&mut *sizes.lock().unwrap());
    assert_eq!(sizes.len(), stream_bytes.len(), "one frame per byte");
    assert!(sizes.iter().all(|&n| n == 1));

    // No transfer coding, one byte per write with TCP_NODELAY: the segments
    // are tiny, however the client's reads coalesce them.
    let body = stream_bytes.clone();
    let (addr, server) = raw_server(CLOSE_DELIMITED, move |mut stream| async move {
        stream.set_nodelay(true).unwrap();
        for byte in body.chunks(1) {
            stream.write_all(byte).await.unwrap();
        }
        stream.shutdown().await.unwrap();
    })
    .await;
    let items = within(
        "the stream",
        collect(events_with(addr, ServerSentEventSettings::unlimited()).await),
    )
    .await;
    within("the server", server).await.unwrap();
    assert_eq!(event_tuples(&items).0, expected);
}

/// A corpus of a quarter of a megabyte, fed to the parser one byte at a time,
/// gives what it gives whole.
#[test]
fn a_big_corpus_one_byte_at_a_time() {
    let corpus = rich_stream().repeat(100);
    let whole = parse_whole(&corpus);
    assert_eq!(whole.0.len(), 100 * 80);
    assert_eq!(parse_bytewise(&corpus), whole);
}

// ===========================================================================
// Invalid UTF-8 everywhere
// ===========================================================================

/// Invalid sequences: a lone continuation byte, bytes never valid, a
/// truncated two-, three- and four-byte sequence, an overlong form, a
/// surrogate, a code point above U+10FFFF, a partial BOM.
const INVALID: &[&[u8]] = &[
    b"\x80",
    b"\xFF",
    b"\xFE\xFE",
    b"\xC3",
    b"\xE2\x82",
    b"\xF0\x9F\x98",
    b"\xC0\xAF",
    b"\xED\xA0\x80",
    b"\xF4\x90\x80\x80",
    b"\xEF\xBB",
];

/// Inserting any invalid sequence at any position of a stream gives exactly
/// what the UTF-8-decoded stream gives (the spec decodes first, then parses),
/// whole and byte by byte, and never an error.
#[test]
fn invalid_utf8_at_every_position_is_decoded_with_replacement() {
    let template = b"event:t\nid:1\ndata:a\nretry:5\n:c\ndata: b\r\n\r\nid:2\rdata:z\r\r";
    let mut checked = 0;
    for at in 0..=template.len() {
        for bad in INVALID {
            let input = [&template[..at], bad, &template[at..]].concat();
            let decoded = String::from_utf8_lossy(&input).into_owned();
            let want = parse_whole(decoded.as_bytes());
            assert_eq!(parse_whole(&input), want, "{bad:?} at {at}");
            assert_eq!(
                parse_bytewise(&input),
                want,
                "{bad:?} at {at}, byte by byte"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, (template.len() + 1) * INVALID.len());
}

#[test]
fn invalid_utf8_in_each_field_position() {
    const R: &str = "\u{FFFD}";
    let cases: Vec<(&str, &[u8], Parsed)> = vec![
        (
            "data value",
            b"data:a\xFFb\n\n",
            (vec![ev(None, &format!("a{R}b"), None)], String::new(), None),
        ),
        (
            "data name",
            b"da\xFFta:x\ndata:y\n\n",
            (vec![ev(None, "y", None)], String::new(), None),
        ),
        (
            "before the colon",
            b"data\xC3:x\n\n",
            (vec![], String::new(), None),
        ),
        (
            "after the colon",
            b"data:\xC3 x\n\n",
            (vec![ev(None, &format!("{R} x"), None)], String::new(), None),
        ),
        (
            "instead of the space",
            b"data:\xA0x\n\n",
            (vec![ev(None, &format!("{R}x"), None)], String::new(), None),
        ),
        (
            "event value",
            b"event:\xE2\x82\ndata:x\n\n",
            (vec![ev(Some(R), "x", None)], String::new(), None),
        ),
        (
            "event name",
            b"even\xFFt:t\ndata:x\n\n",
            (vec![ev(None, "x", None)], String::new(), None),
        ),
        (
            "id value",
            b"id:\xF0\x9F\x98\ndata:x\n\n",
            (vec![ev(None, "x", Some(R))], R.to_owned(), None),
        ),
        (
            "id name",
            b"\xFFid:1\ndata:x\n\n",
            (vec![ev(None, "x", None)], String::new(), None),
        ),
        (
            "retry value",
            b"retry:1\xFF0\ndata:x\n\n",
            (vec![ev(None, "x", None)], String::new(), None),
        ),
        (
            "retry name",
            b"retr\x80y:10\n\n",
            (vec![], String::new(), None),
        ),
        (
            "comment",
            b":\xFF\xFE\ndata:x\n\n",
            (vec![ev(None, "x", None)], String::new(), None),
        ),
        (
            "a whole line",
            b"\xED\xA0\x80\ndata:x\n\n",
            (vec![ev(None, "x", None)], String::new(), None),
        ),
        (
            "before a CR",
            b"data:x\xC3\r\r",
            (vec![ev(None, &format!("x{R}"), None)], String::new(), None),
        ),
        (
            "stream start",
            b"\xFFdata:x\n\ndata:y\n\n",
            (vec![ev(None, "y", None)], String::new(), None),
        ),
        (
            "after the BOM",
            b"\xEF\xBB\xBF\xFFdata:x\n\ndata:y\n\n",
            (vec![ev(None, "y", None)], String::new(), None),
        ),
        (
            "a partial BOM",
            b"\xEF\xBBdata:x\n\ndata:y\n\n",
            (vec![ev(None, "y", None)], String::new(), None),
        ),
    ];
    for (name, input, want) in cases {
        assert_eq!(parse_whole(input), want, "{name}");
        for at in 0..=input.len() {
            let split = parse_chunks(
                ServerSentEventSettings::unlimited(),
                [&input[..at], &input[at..]],
            )
            .0;
            assert_eq!(split, want, "{name}, split at {at}");
        }
    }
}

// ===========================================================================
// NUL bytes
// ===========================================================================

#[test]
fn nul_bytes_in_data_type_id_and_names() {
    let cases: Vec<(&str, &[u8], Parsed)> = vec![
        (
            "in data",
            b"data:a\0b\n\n",
            (vec![ev(None, "a\0b", None)], String::new(), None),
        ),
        (
            "data of one NUL",
            b"data:\0\n\n",
            (vec![ev(None, "\0", None)], String::new(), None),
        ),
        (
            "in the type",
            b"event:t\0\ndata:x\n\n",
            (vec![ev(Some("t\0"), "x", None)], String::new(), None),
        ),
        (
            "id with NUL is ignored",
            b"id:1\n\nid:a\0\ndata:x\n\n",
            (vec![ev(None, "x", None)], "1".into(), None),
        ),
        (
            "in a field name",
            b"data\0:x\nda\0ta:y\n\n",
            (vec![], String::new(), None),
        ),
        (
            "a line of NUL",
            b"\0\ndata:x\n\n",
            (vec![ev(None, "x", None)], String::new(), None),
        ),
        (
            "in retry",
            b"retry:1\x000\n\n",
            (vec![], String::new(), None),
        ),
        (
            "in a comment",
            b":\0\0\ndata:x\n\n",
            (vec![ev(None, "x", None)], String::new(), None),
        ),
    ];
    for (name, input, want) in cases {
        assert_eq!(parse_whole(input), want, "{name}");
        assert_eq!(parse_bytewise(input), want, "{name}, byte by byte");
    }

    // The model: NUL is fine in data and types, refused in ids (a receiver
    // would ignore such an id); what can be built round-trips.
    assert!(EventId::new("a\0b").unwrap_err().is_invalid_event_id());
    let event = ServerSentEvent::new("x\0y").with_event_type(EventType::new("t\0").unwrap());
    let wire = event.encode();
    assert_eq!(parse_whole(&wire).0, [ev(Some("t\0"), "x\0y", None)]);
}

// ===========================================================================
// A BOM in the middle of the stream
// ===========================================================================

#[test]
fn a_bom_mid_stream_is_data_or_part_of_a_field_name() {
    let bom = "\u{FEFF}";
    let cases: Vec<(&str, &[u8], Parsed)> = vec![
        (
            "in data, kept",
            b"data:a\n\ndata:\xEF\xBB\xBFb\n\n",
            (
                vec![ev(None, "a", None), ev(None, &format!("{bom}b"), None)],
                String::new(),
                None,
            ),
        ),
        (
            "before data, a different field",
            b"data:a\n\n\xEF\xBB\xBFdata:b\n\n",
            (vec![ev(None, "a", None)], String::new(), None),
        ),
        (
            "before id, a different field",
            b"data:a\n\n\xEF\xBB\xBFid:1\ndata:b\n\n",
            (
                vec![ev(None, "a", None), ev(None, "b", None)],
                String::new(),
                None,
            ),
        ),
        (
            "before a colon, not a comment",
            b"data:a\n\n\xEF\xBB\xBF:data\n\n",
            (vec![ev(None, "a", None)], String::new(), None),
        ),
        (
            "as a whole line",
            b"data:a\n\xEF\xBB\xBF\ndata:b\n\n",
            (vec![ev(None, "a\nb", None)], String::new(), None),
        ),
        (
            "in the type",
            b"event:\xEF\xBB\xBF\ndata:x\n\n",
            (vec![ev(Some(bom), "x", None)], String::new(), None),
        ),
        (
            "two at the start: the second stays",
            b"\xEF\xBB\xBF\xEF\xBB\xBFdata:a\n\ndata:b\n\n",
            (vec![ev(None, "b", None)], String::new(), None),
        ),
    ];
    for (name, input, want) in cases {
        assert_eq!(parse_whole(input), want, "{name}");
        for at in 0..=input.len() {
            let split = parse_chunks(
                ServerSentEventSettings::unlimited(),
                [&input[..at], &input[at..]],
            )
            .0;
            assert_eq!(split, want, "{name}, split at {at}");
        }
    }
}

#[tokio::test]
async fn a_bom_mid_stream_through_the_unmarshaller_in_pieces() {
    // The first frame ends right before a BOM: it is not the stream's start.
    let frames: Vec<Result<Frame<Bytes>, Infallible>> = [
        b"data:a\n\n".as_slice(),
        b"\xEF",
        b"\xBB\xBFdata:lost\n\ndata:\xEF\xBB",
        b"\xBFkept\n\n",
    ]
    .into_iter()
    .map(|b| Ok(Frame::data(Bytes::copy_from_slice(b))))
    .collect();
    let events =
        EventStreamUnmarshalling::default().from_body(StreamBody::new(stream::iter(frames)));
    let items = collect(events).await;
    assert_eq!(datas(&items), ["a", "\u{FEFF}kept"]);
}
