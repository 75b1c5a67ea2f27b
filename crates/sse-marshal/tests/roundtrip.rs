//! Properties: encoding events and parsing the bytes back, however they are
//! chunked, gives the same events (with every line break in the data turned
//! into LF), and heartbeats give nothing. And: the chunking of any input never
//! changes what the parser makes of it.

use bytes::BytesMut;
use proptest::prelude::*;
use sse_marshal::EventStreamParser;
use sse_model::{EventId, EventType, ServerSentEvent};
use tokio_util::codec::Decoder;

/// Pieces of text that exercise the encoder and parser: arbitrary text and
/// characters, every kind of line break, spaces and colons where they matter,
/// a BOM, and text that looks like fields.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "\\PC{0,8}",
        2 => any::<char>().prop_map(String::from),
        1 => Just("\r".to_owned()),
        1 => Just("\n".to_owned()),
        1 => Just("\r\n".to_owned()),
        1 => Just(" ".to_owned()),
        1 => Just(":".to_owned()),
        1 => Just("\u{FEFF}".to_owned()),
        1 => Just("data: x".to_owned()),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(piece(), 0..6).prop_map(|pieces| pieces.concat())
}

/// An event, or (one time in seven) a heartbeat. Types and ids that cannot be
/// built (an empty type, CR or LF in either, NUL in an id) are left unset.
fn event() -> impl Strategy<Value = ServerSentEvent> {
    let fields = (
        text(),
        proptest::option::of(prop_oneof!["\\PC{0,8}", text()]),
        proptest::option::of(prop_oneof!["[0-9]{0,4}", text()]),
        proptest::option::of(any::<u64>()),
    );
    let event = fields.prop_map(|(data, event_type, id, retry)| {
        let mut event = ServerSentEvent::new(data);
        if let Some(event_type) = event_type.and_then(|t| EventType::new(t).ok()) {
            event = event.with_event_type(event_type);
        }
        if let Some(id) = id.and_then(|i| EventId::new(i).ok()) {
            event = event.with_id(id);
        }
        if let Some(retry) = retry {
            event = event.with_retry(retry);
        }
        event
    });
    prop_oneof![
        6 => event,
        1 => Just(ServerSentEvent::heartbeat()),
    ]
}

/// Chunk sizes, used in turn (and again from the start) to cut the input.
fn chunk_sizes() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(1usize..64, 1..16)
}

/// What a parse made of its input.
#[derive(Debug, PartialEq, Eq)]
struct Parsed {
    events: Vec<ServerSentEvent>,
    last_event_id: String,
    retry: Option<u64>,
}

/// Feeds `input` to a default parser in chunks of the given sizes (in turn),
/// decoding after each chunk until the parser needs more; then ends the
/// stream.
fn parse_chunked(input: &[u8], sizes: &[usize]) -> Result<Parsed, sse_marshal::Error> {
    let mut parser = EventStreamParser::new();
    let mut buf = BytesMut::new();
    let mut events = Vec::new();
    let mut rest = input;
    for &size in sizes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (chunk, tail) = rest.split_at(size.min(rest.len()));
        rest = tail;
        buf.extend_from_slice(chunk);
        while let Some(event) = parser.decode(&mut buf)? {
            events.push(event);
        }
    }
    while let Some(event) = parser.decode_eof(&mut buf)? {
        events.push(event);
    }
    Ok(Parsed {
        events,
        last_event_id: parser.last_event_id().to_owned(),
        retry: parser.retry(),
    })
}

/// What parsing the encoding of `sent` must give.
fn expected(sent: &[ServerSentEvent]) -> Parsed {
    let mut last_event_id = String::new();
    let mut retry = None;
    let mut events = Vec::new();
    for event in sent.iter().filter(|e| !e.is_heartbeat()) {
        if let Some(id) = event.id() {
            last_event_id = id.to_owned();
        }
        retry = event.retry().or(retry);
        let data = event.data().replace("\r\n", "\n").replace('\r', "\n");
        events.push(event.clone().with_data(data));
    }
    Parsed {
        events,
        last_event_id,
        retry,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn encode_then_parse_is_the_identity(
        sent in prop::collection::vec(event(), 0..12),
        sizes in chunk_sizes(),
    ) {
        let mut wire = BytesMut::new();
        for event in &sent {
            event.encode_into(&mut wire);
        }
        let parsed = parse_chunked(&wire, &sizes).unwrap();
        prop_assert_eq!(parsed, expected(&sent));
    }

    #[test]
    fn chunking_never_changes_the_outcome(
        input in prop::collection::vec(
            prop_oneof![
                Just(&b"data"[..]), Just(&b"event"[..]), Just(&b"id"[..]),
                Just(&b"retry"[..]), Just(&b":"[..]), Just(&b" "[..]),
                Just(&b"\r"[..]), Just(&b"\n"[..]), Just(&b"\r\n"[..]),
                Just(&b"\xEF\xBB\xBF"[..]), Just(&b"\xE2\x82"[..]), Just(&b"\xAC"[..]),
                Just(&b"\0"[..]), Just(&b"7"[..]), Just(&b"x"[..]),
            ],
            0..64,
        ).prop_map(|parts| parts.concat()),
        sizes in chunk_sizes(),
    ) {
        let whole = parse_chunked(&input, &[usize::MAX]).unwrap();
        let chunked = parse_chunked(&input, &sizes).unwrap();
        prop_assert_eq!(chunked, whole);
    }
}
