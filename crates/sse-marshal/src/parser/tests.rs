//! Tests of what the parser's shortcuts must not change: a first data value
//! kept in the input across reads and flushes, ids kept as numbers, event
//! types reused by their bytes, and the buffer the caller sees.

use bytes::BytesMut;
use sse_model::EventId;
use tokio_util::codec::Decoder;

use super::EventStreamParser;
use crate::ServerSentEventSettings;

/// An event as (type, data, id).
type Seen = (Option<String>, String, Option<String>);

/// Feeds `chunks` one by one; every event, and the last event id after each
/// decode.
fn parse(parser: &mut EventStreamParser, chunks: &[&[u8]]) -> (Vec<Seen>, Vec<String>) {
    let mut buf = BytesMut::new();
    let (mut events, mut ids) = (Vec::new(), Vec::new());
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        while let Some(event) = parser.decode(&mut buf).expect("valid input") {
            let owned = |s: Option<&str>| s.map(str::to_owned);
            events.push((
                owned(event.event_type()),
                event.data().to_owned(),
                owned(event.id()),
            ));
            ids.push(parser.last_event_id().to_owned());
        }
        ids.push(parser.last_event_id().to_owned());
    }
    (events, ids)
}

fn event(
    ty: Option<&str>,
    data: &str,
    id: Option<&str>,
) -> (Option<String>, String, Option<String>) {
    (
        ty.map(str::to_owned),
        data.to_owned(),
        id.map(str::to_owned),
    )
}

#[test]
fn a_first_data_value_survives_the_flush_between_reads() {
    let mut parser = EventStreamParser::new();
    let chunks: &[&[u8]] = &[
        b"data: first",
        b" half\n",
        b"data: two\n",
        b"\n",
        b"data: x\n",
        b"\n",
    ];
    let (events, _) = parse(&mut parser, chunks);
    assert_eq!(
        events,
        [event(None, "first half\ntwo", None), event(None, "x", None)]
    );
    // One data line, flushed before its block ends, then one in the same read.
    let (events, _) = parse(&mut parser, &[b"data: a\xff\n", b"\ndata: b\n\n"]);
    assert_eq!(
        events,
        [event(None, "a\u{FFFD}", None), event(None, "b", None)]
    );
}

#[test]
fn numeric_and_other_ids_read_back_as_their_text() {
    let mut parser = EventStreamParser::new();
    let input: &[u8] =
        b"id: 42\ndata: a\n\nid: 007\ndata: b\n\nid: 18446744073709551616\ndata: c\n\n\
                         id: 0\ndata: d\n\nid\ndata: e\n\nid: 5\n";
    let (events, ids) = parse(&mut parser, &[input]);
    let got: Vec<_> = events.iter().map(|e| e.2.as_deref()).collect();
    assert_eq!(
        got,
        [
            Some("42"),
            Some("007"),
            Some("18446744073709551616"),
            Some("0"),
            Some("")
        ]
    );
    assert_eq!(ids[..5], ["42", "007", "18446744073709551616", "0", ""]);
    // The `id: 5` block has not ended: it does not count yet.
    assert_eq!(parser.last_event_id(), "");
    let mut buf = BytesMut::from(&b"\n"[..]);
    assert!(parser.decode(&mut buf).unwrap().is_none());
    assert_eq!(parser.last_event_id(), "5");
}

#[test]
fn a_resume_id_given_mid_block_is_the_blocks_id() {
    let mut parser = EventStreamParser::new();
    let mut buf = BytesMut::from(&b"id: 1\ndata: a\n"[..]);
    assert!(parser.decode(&mut buf).unwrap().is_none());
    let mut parser = parser.with_last_event_id(&EventId::new("resume").unwrap());
    assert_eq!(parser.last_event_id(), "resume");
    buf.extend_from_slice(b"\n");
    let event = parser.decode(&mut buf).unwrap().expect("an event");
    assert_eq!(event.id(), Some("resume"));
    assert_eq!(parser.last_event_id(), "resume");
}

#[test]
fn event_types_are_reused_by_their_bytes_only() {
    let mut parser = EventStreamParser::new();
    let input: &[u8] = b"event: tick\ndata: 1\n\nevent: tick\ndata: 2\n\nevent: tock\ndata: 3\n\n\
                         event: \xff\ndata: 4\n\nevent: \xfe\ndata: 5\n\nevent: tock\nevent:\ndata: 6\n\n\
                         event: tick\n\ndata: 7\n\n";
    let (events, _) = parse(&mut parser, &[input]);
    let types: Vec<_> = events.iter().map(|e| e.0.as_deref()).collect();
    assert_eq!(
        types,
        [
            Some("tick"),
            Some("tick"),
            Some("tock"),
            Some("\u{FFFD}"),
            Some("\u{FFFD}"),
            None,
            None
        ]
    );
}

#[test]
fn after_a_decode_the_buffer_holds_only_the_unfinished_line() {
    let mut parser = EventStreamParser::with_settings(ServerSentEventSettings::unlimited());
    let mut buf = BytesMut::from(&b"id: 1\ndata: a\n\ndata: b\r\n\r"[..]);
    assert!(parser.decode(&mut buf).unwrap().is_some());
    assert!(parser.decode(&mut buf).unwrap().is_some());
    assert!(parser.decode(&mut buf).unwrap().is_none());
    assert!(buf.is_empty());
    buf.extend_from_slice(b"\ndata: par");
    assert!(parser.decode(&mut buf).unwrap().is_none());
    assert_eq!(&buf[..], b"data: par");
}

#[test]
fn large_events_get_buffers_of_their_own_size() {
    /// `lines` data lines of `width` characters, as one event.
    fn block(lines: usize, width: usize) -> (Vec<u8>, String) {
        let line = "x".repeat(width);
        let mut wire = Vec::new();
        for _ in 0..lines {
            wire.extend_from_slice(format!("data: {line}\n").as_bytes());
        }
        wire.push(b'\n');
        (wire, vec![line; lines].join("\n"))
    }
    let mut parser = EventStreamParser::with_settings(ServerSentEventSettings::unlimited());
    let mut buf = BytesMut::new();
    // Large, then smaller and larger ones (each starts from the last one's
    // size), then a small multi-line one: every event's data is what was
    // sent, in a string not much larger than itself.
    for (lines, width) in [(256, 255), (64, 255), (300, 255), (2, 10), (256, 255)] {
        let (wire, expect) = block(lines, width);
        buf.extend_from_slice(&wire);
        let data = parser
            .decode(&mut buf)
            .unwrap()
            .expect("an event")
            .into_data();
        assert_eq!(data, expect, "{lines} lines");
        assert!(
            data.capacity() <= data.len() + data.len() / 8,
            "{lines} lines: capacity {} for {} bytes",
            data.capacity(),
            data.len()
        );
        assert!(buf.is_empty());
    }
}
