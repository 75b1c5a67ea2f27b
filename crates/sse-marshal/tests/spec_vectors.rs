//! Spec vectors: the WHATWG HTML algorithm "interpreting an event stream",
//! rule by rule, as a table of inputs and the events, last event ID and
//! reconnection time they must produce.
//!
//! Every case runs three ways: the whole input at once, one byte at a time,
//! and split in two at every possible point. A failure names the case and the
//! way it was fed.

use bytes::{Bytes, BytesMut};
use sse_marshal::{EventStreamParser, ServerSentEventSettings};
use sse_model::ServerSentEvent;
use tokio_util::codec::Decoder;

/// An expected event: (event type, data, id, retry). A type of `None` is the
/// default type, `message`.
type Expected = (
    Option<&'static str>,
    &'static str,
    Option<&'static str>,
    Option<u64>,
);

/// One spec vector.
struct Case {
    name: &'static str,
    input: &'static [u8],
    events: &'static [Expected],
    /// `parser.last_event_id()` once the stream has ended.
    last_event_id: &'static str,
    /// `parser.retry()` once the stream has ended.
    retry: Option<u64>,
}

const fn case(
    name: &'static str,
    input: &'static [u8],
    events: &'static [Expected],
    last_event_id: &'static str,
    retry: Option<u64>,
) -> Case {
    Case {
        name,
        input,
        events,
        last_event_id,
        retry,
    }
}

/// A plain message: default type, no id, no retry.
const fn msg(data: &'static str) -> Expected {
    (None, data, None, None)
}

const R: &str = "\u{FFFD}";
const R2: &str = "\u{FFFD}\u{FFFD}";
const R3: &str = "\u{FFFD}\u{FFFD}\u{FFFD}";
const R4: &str = "\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}";

#[rustfmt::skip]
const CASES: &[Case] = &[
    // --- Dispatch and the data buffer -------------------------------------
    case("empty stream", b"", &[], "", None),
    case("one event", b"data: hello\n\n", &[msg("hello")], "", None),
    case("two events", b"data:a\n\ndata:b\n\n", &[msg("a"), msg("b")], "", None),
    case("data lines are joined with LF", b"data:a\ndata:b\ndata:c\n\n", &[msg("a\nb\nc")], "", None),
    case("spec example: three data lines", b"data: YHOO\ndata: +2\ndata: 10\n\n", &[msg("YHOO\n+2\n10")], "", None),
    case("empty data value dispatches an empty message", b"data:\n\n", &[msg("")], "", None),
    case("data without colon is an empty data line", b"data\n\n", &[msg("")], "", None),
    case("two empty data lines give one LF", b"data\ndata\n\n", &[msg("\n")], "", None),
    case("only one trailing LF is removed", b"data:a\ndata:\n\n", &[msg("a\n")], "", None),
    case("a leading empty data line is kept", b"data:\ndata:a\n\n", &[msg("\na")], "", None),
    case("blank lines alone dispatch nothing", b"\n\n\n", &[], "", None),
    case("extra blank lines between events", b"data:a\n\n\n\ndata:b\n\n", &[msg("a"), msg("b")], "", None),
    case("a block without data dispatches nothing", b"event:x\nid\nretry:x\n\n", &[], "", None),
    case("NUL in data is kept", b"data:a\0b\n\n", &[msg("a\0b")], "", None),
    case("spec example: empty data events and an unfinished one",
        b"data\n\ndata\ndata\n\ndata:", &[msg(""), msg("\n")], "", None),
    case("spec example: a space after the colon is optional",
        b"data:test\n\ndata: test\n\n", &[msg("test"), msg("test")], "", None),

    // --- Line endings -----------------------------------------------------
    case("CR line endings", b"data:a\rdata:b\r\r", &[msg("a\nb")], "", None),
    case("CRLF line endings", b"data:a\r\ndata:b\r\n\r\n", &[msg("a\nb")], "", None),
    case("mixed line endings", b"data:a\r\ndata:b\rdata:c\n\r\n", &[msg("a\nb\nc")], "", None),
    case("LF then CR is two line breaks", b"data:a\n\rdata:b\n\n", &[msg("a"), msg("b")], "", None),
    case("CR then CRLF is two line breaks", b"data:a\r\r\ndata:b\n\n", &[msg("a"), msg("b")], "", None),
    case("CRLF then CR is two line breaks", b"data:a\r\n\rdata:b\r\n\r\n", &[msg("a"), msg("b")], "", None),
    case("LF then CRLF dispatches", b"data:a\n\r\n", &[msg("a")], "", None),
    case("a final CR dispatches", b"data:x\n\r", &[msg("x")], "", None),
    case("a lone CR inside a value ends the line", b"data:a\rb\n\n", &[msg("a")], "", None),
    case("CR CR LF LF is three line breaks", b"data:a\r\r\n\ndata:b\n\n", &[msg("a"), msg("b")], "", None),

    // --- Comments ---------------------------------------------------------
    case("a comment between data lines", b"data:a\n:comment\ndata:b\n\n", &[msg("a\nb")], "", None),
    case("a comment with spaces and colons", b": x: y\ndata:a\n\n", &[msg("a")], "", None),
    case("a comment alone dispatches nothing", b":\n\n", &[], "", None),
    case("a comment that looks like a field", b":data: x\n:id: 1\n\n", &[], "", None),
    case("a comment ended by CR", b":c\rdata:a\r\r", &[msg("a")], "", None),
    case("spec example: comment, ids and spaces",
        b": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n\n",
        &[(None, "first event", Some("1"), None), (None, "second event", Some(""), None), msg(" third event")],
        "", None),

    // --- Field names and values -------------------------------------------
    case("exactly one leading space is stripped", b"data: a\n\n", &[msg("a")], "", None),
    case("two leading spaces keep one", b"data:  a\n\n", &[msg(" a")], "", None),
    case("a tab is not stripped", b"data:\ta\n\n", &[msg("\ta")], "", None),
    case("trailing spaces are kept", b"data:a  \n\n", &[msg("a  ")], "", None),
    case("a value of one space is empty", b"data: \n\n", &[msg("")], "", None),
    case("a value of two spaces is one space", b"data:  \n\n", &[msg(" ")], "", None),
    case("only the first colon splits", b"data:a:b: c\n\n", &[msg("a:b: c")], "", None),
    case("a colon after the stripped space", b"data: :\n\n", &[msg(":")], "", None),
    case("a space before the colon makes another field", b"data : a\n\n", &[], "", None),
    case("a leading space makes another field", b" data:x\n\n", &[], "", None),
    case("unknown fields are ignored", b"foo: bar\ndata:a\nx-data:b\n\n", &[msg("a")], "", None),
    case("unknown fields without colon are ignored", b"foo\ndata:a\n\n", &[msg("a")], "", None),
    case("near misses of field names are ignored", b"dat:x\ndatas:y\nevents:t\nids:1\nretrys:5\n\n", &[], "", None),
    case("field names are case-sensitive",
        b"Data: x\nDATA: y\nEvent: t\nID: 1\nId: 2\nRetry: 5\ndata:a\n\n", &[msg("a")], "", None),

    // --- event ------------------------------------------------------------
    case("event sets the type", b"event: add\ndata: 73857293\n\n", &[(Some("add"), "73857293", None, None)], "", None),
    case("event after data in the same block", b"data:1\nevent:add\n\n", &[(Some("add"), "1", None, None)], "", None),
    case("the last event line wins", b"event:a\nevent:b\ndata:x\n\n", &[(Some("b"), "x", None, None)], "", None),
    case("the type is reset after dispatch", b"event:a\ndata:x\n\ndata:y\n\n",
        &[(Some("a"), "x", None, None), msg("y")], "", None),
    case("the type is reset by a block without data", b"event:a\n\ndata:y\n\n", &[msg("y")], "", None),
    case("an empty event value means message", b"event:\ndata:x\n\n", &[msg("x")], "", None),
    case("a bare event field means message", b"event\ndata:x\n\n", &[msg("x")], "", None),
    case("an empty event value resets an earlier one", b"event:a\nevent:\ndata:x\n\n", &[msg("x")], "", None),
    case("the type keeps all but one leading space", b"event:  a \ndata:x\n\n", &[(Some(" a "), "x", None, None)], "", None),
    case("an explicit message type is kept", b"event:message\ndata:x\n\n", &[(Some("message"), "x", None, None)], "", None),
    case("a typed event with empty data", b"event:t\ndata\n\n", &[(Some("t"), "", None, None)], "", None),
    case("spec example: two event types",
        b"event: add\ndata: 73857293\n\nevent: remove\ndata: 2153\n\nevent: add\ndata: 113411\n\n",
        &[(Some("add"), "73857293", None, None), (Some("remove"), "2153", None, None), (Some("add"), "113411", None, None)],
        "", None),

    // --- id ---------------------------------------------------------------
    case("id on its event", b"id:1\ndata:a\n\n", &[(None, "a", Some("1"), None)], "1", None),
    case("the id persists but belongs to its own event only", b"id:1\ndata:a\n\ndata:b\n\n",
        &[(None, "a", Some("1"), None), msg("b")], "1", None),
    case("id after data in the same block", b"data:a\nid: 7\n\n", &[(None, "a", Some("7"), None)], "7", None),
    case("the id keeps all but one leading space", b"id:  x \ndata:a\n\n", &[(None, "a", Some(" x "), None)], " x ", None),
    case("an id in a block without data sets the buffer", b"id: 5\n\n", &[], "5", None),
    case("an id from a block without data is not on the next event", b"id:5\n\ndata:a\n\n", &[msg("a")], "5", None),
    case("a bare id clears the buffer", b"id:5\ndata:a\n\nid\ndata:b\n\n",
        &[(None, "a", Some("5"), None), (None, "b", Some(""), None)], "", None),
    case("an empty id clears the buffer", b"id:5\n\nid:\n\n", &[], "", None),
    case("an id with NUL is ignored", b"id:1\n\nid:a\0b\ndata:x\n\n", &[msg("x")], "1", None),
    case("an id of only NUL is ignored", b"id:\0\n\n", &[], "", None),
    case("a NUL id does not undo an accepted id", b"id:1\nid:\0\ndata:x\n\n", &[(None, "x", Some("1"), None)], "1", None),
    case("the last id line wins", b"id:1\nid:2\ndata:x\n\n", &[(None, "x", Some("2"), None)], "2", None),
    case("a non-ASCII id", "id:é€\ndata:x\n\n".as_bytes(), &[(None, "x", Some("é€"), None)], "é€", None),
    case("an invalid byte in an id is replaced", b"id:\xFF1\ndata:x\n\n", &[(None, "x", Some("\u{FFFD}1"), None)], "\u{FFFD}1", None),
    // The id takes effect when its block ends (dispatch step 1 copies the
    // buffer to the last event ID string): a cut-off block must not move the
    // resume point past an event that never arrived.
    case("an id line in the unfinished last block does not take effect", b"data:a\n\nid:9\ndata:b\n", &[msg("a")], "", None),
    case("an id line takes effect at its block's end", b"data:a\nid:9\n\nid:10\ndata:b\n", &[(None, "a", Some("9"), None)], "9", None),
    case("an unterminated id line at the end is ignored", b"id:1\n\nid:2", &[], "1", None),

    // --- retry ------------------------------------------------------------
    case("retry of digits", b"retry:1000\n\n", &[], "", Some(1000)),
    case("retry with one leading space", b"retry: 500\ndata:x\n\n", &[(None, "x", None, Some(500))], "", Some(500)),
    case("retry zero", b"retry:0\n\n", &[], "", Some(0)),
    case("retry with leading zeros", b"retry:007\n\n", &[], "", Some(7)),
    case("retry with a letter is ignored", b"retry:100\n\nretry: 1a\n\n", &[], "", Some(100)),
    case("negative retry is ignored", b"retry: -1\n\n", &[], "", None),
    case("fractional retry is ignored", b"retry: 1.5\n\n", &[], "", None),
    case("empty retry is ignored", b"retry:10\n\nretry:\n\n", &[], "", Some(10)),
    case("bare retry is ignored", b"retry\n\n", &[], "", None),
    case("retry with two leading spaces is ignored", b"retry:  5\n\n", &[], "", None),
    case("retry with a trailing space is ignored", b"retry:5 \n\n", &[], "", None),
    case("retry with a plus sign is ignored", b"retry:+5\n\n", &[], "", None),
    case("retry with non-ASCII digits is ignored", "retry:\u{0661}\u{0662}\nretry:\u{FF15}\n\n".as_bytes(), &[], "", None),
    case("a huge retry saturates", b"retry:99999999999999999999999\n\n", &[], "", Some(u64::MAX)),
    case("retry of u64::MAX", b"retry:18446744073709551615\n\n", &[], "", Some(u64::MAX)),
    case("retry belongs to its own event only", b"retry:5\ndata:a\n\ndata:b\n\n",
        &[(None, "a", None, Some(5)), msg("b")], "", Some(5)),
    case("retry from a block without data is not on the next event", b"retry:5\n\ndata:a\n\n", &[msg("a")], "", Some(5)),
    case("the last retry line wins", b"retry:1\nretry:2\ndata:a\n\n", &[(None, "a", None, Some(2))], "", Some(2)),
    case("an invalid retry keeps the block's valid one", b"retry:1\nretry:x\ndata:a\n\n", &[(None, "a", None, Some(1))], "", Some(1)),
    case("a retry line in the unfinished last block applies", b"retry:7\ndata:a\n", &[], "", Some(7)),
    case("all fields on one event", b"event:t\nid:i\nretry:3\ndata:d\n\n", &[(Some("t"), "d", Some("i"), Some(3))], "i", Some(3)),

    // --- End of stream ----------------------------------------------------
    case("an unfinished last block is discarded", b"data:a\n\ndata:b\n", &[msg("a")], "", None),
    case("an unterminated last line is discarded", b"data:a\n\ndata:b", &[msg("a")], "", None),
    case("a lone unterminated line", b"data:a", &[], "", None),
    case("a last line ended by CR without a blank line", b"data:a\r", &[], "", None),
    case("a blank line without its line break does not dispatch", b"data:a\n", &[], "", None),

    // --- Byte order mark --------------------------------------------------
    case("a BOM at the start is stripped", b"\xEF\xBB\xBFdata:a\n\n", &[msg("a")], "", None),
    case("a second BOM is kept", b"\xEF\xBB\xBF\xEF\xBB\xBFdata:a\n\ndata:b\n\n", &[msg("b")], "", None),
    case("a BOM without a first one is kept in a field name", b"data:a\n\n\xEF\xBB\xBFdata:b\n\ndata:c\n\n",
        &[msg("a"), msg("c")], "", None),
    case("a BOM in a data value is kept", b"data:\xEF\xBB\xBFa\n\n", &[msg("\u{FEFF}a")], "", None),
    case("a BOM on a later data line is kept", b"data:a\ndata:\xEF\xBB\xBF\n\n", &[msg("a\n\u{FEFF}")], "", None),
    case("a BOM alone", b"\xEF\xBB\xBF", &[], "", None),
    case("a BOM then a blank line", b"\xEF\xBB\xBF\r\ndata:a\r\n\r\n", &[msg("a")], "", None),
    case("a partial BOM is an invalid sequence", b"\xEF\xBBdata:a\n\ndata:b\n\n", &[msg("b")], "", None),
    case("a partial BOM alone", b"\xEF\xBB", &[], "", None),
    case("a partial BOM in a data value", b"data:\xEF\xBB\n\n", &[msg(R)], "", None),

    // --- UTF-8 decoding ---------------------------------------------------
    case("valid multi-byte characters", "data:é€😀\n\n".as_bytes(), &[msg("é€😀")], "", None),
    case("an invalid byte is replaced", b"data:a\xFFb\n\n", &[msg("a\u{FFFD}b")], "", None),
    case("a lone continuation byte is replaced", b"data:\x80\n\n", &[msg(R)], "", None),
    case("a truncated 3-byte sequence before LF", b"data:\xE2\x82\n\n", &[msg(R)], "", None),
    case("a truncated 4-byte sequence before CR", b"data:\xF0\x9F\x98\rdata:x\r\r", &[msg("\u{FFFD}\nx")], "", None),
    case("a truncated 2-byte sequence before CRLF", b"data:a\xC3\r\n\r\n", &[msg("a\u{FFFD}")], "", None),
    case("a truncated sequence then ASCII", b"data:\xE2\x82a\n\n", &[msg("\u{FFFD}a")], "", None),
    case("an overlong 2-byte form", b"data:\xC0\xAF\n\n", &[msg(R2)], "", None),
    case("an overlong 3-byte form", b"data:\xE0\x80\xAF\n\n", &[msg(R3)], "", None),
    case("an overlong 4-byte form", b"data:\xF0\x80\x80\xAF\n\n", &[msg(R4)], "", None),
    case("a high surrogate encoded in UTF-8", b"data:\xED\xA0\x80\n\n", &[msg(R3)], "", None),
    case("a low surrogate encoded in UTF-8", b"data:\xED\xBF\xBF\n\n", &[msg(R3)], "", None),
    case("a surrogate pair encoded in UTF-8", b"data:\xED\xA0\xBD\xED\xB8\x80\n\n", &[msg("\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}")], "", None),
    case("a code point above U+10FFFF", b"data:\xF4\x90\x80\x80\n\n", &[msg(R4)], "", None),
    case("an F5 lead byte", b"data:\xF5\x80\n\n", &[msg(R2)], "", None),
    case("an invalid byte in the event type", b"event:\xFF\ndata:x\n\n", &[(Some(R), "x", None, None)], "", None),
    case("an invalid byte in a field name", b"dat\xFF:x\ndata:y\n\n", &[msg("y")], "", None),
    case("a lead byte before the colon spoils the name", b"data\xC3:x\n\n", &[], "", None),
    case("a truncated sequence before a colon in a value", b"data:\xC3:x\n\n", &[msg("\u{FFFD}:x")], "", None),
    case("a replacement character itself is kept", "data:\u{FFFD}\n\n".as_bytes(), &[msg(R)], "", None),
];

/// A parsed event: (event type, data, id, retry).
type Got = (Option<String>, String, Option<String>, Option<u64>);

/// What a parse produced, in a form that compares and prints well.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    events: Vec<Got>,
    last_event_id: String,
    retry: Option<u64>,
}

impl Outcome {
    fn expected(case: &Case) -> Self {
        Outcome {
            events: case
                .events
                .iter()
                .map(|&(event_type, data, id, retry)| {
                    (
                        event_type.map(str::to_owned),
                        data.to_owned(),
                        id.map(str::to_owned),
                        retry,
                    )
                })
                .collect(),
            last_event_id: case.last_event_id.to_owned(),
            retry: case.retry,
        }
    }
}

fn record(event: ServerSentEvent) -> Got {
    (
        event.event_type().map(str::to_owned),
        event.data().to_owned(),
        event.id().map(str::to_owned),
        event.retry(),
    )
}

/// Feeds `chunks` to a fresh parser the way a `FramedRead` does: append a
/// chunk to the buffer, decode until the parser needs more, repeat; at the end
/// call `decode_eof` until it yields nothing.
fn feed<'a>(
    settings: &ServerSentEventSettings,
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Outcome, sse_marshal::Error> {
    let mut parser = EventStreamParser::with_settings(settings.clone());
    let mut buf = BytesMut::new();
    let mut events = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        while let Some(event) = parser.decode(&mut buf)? {
            events.push(record(event));
        }
    }
    while let Some(event) = parser.decode_eof(&mut buf)? {
        events.push(record(event));
    }
    Ok(Outcome {
        events,
        last_event_id: parser.last_event_id().to_owned(),
        retry: parser.retry(),
    })
}

/// Ways of cutting the input into chunks.
#[derive(Clone, Copy, Debug)]
enum Mode {
    Whole,
    ByteByByte,
    SplitAt(usize),
}

fn run(case: &Case, mode: Mode) -> Result<Outcome, sse_marshal::Error> {
    let settings = ServerSentEventSettings::unlimited();
    let input = case.input;
    match mode {
        Mode::Whole => feed(&settings, [input]),
        Mode::ByteByByte => feed(&settings, input.chunks(1)),
        Mode::SplitAt(at) => feed(&settings, [&input[..at], &input[at..]]),
    }
}

/// Runs every case in the modes `modes_of` gives, and fails listing every case
/// that went wrong (the first failing mode of each), with its name and mode.
fn check_all(modes_of: impl Fn(&Case) -> Vec<Mode>) {
    let mut failures = Vec::new();
    for case in CASES {
        let expected = Outcome::expected(case);
        for mode in modes_of(case) {
            let actual = run(case, mode);
            if actual.as_ref().ok() != Some(&expected) {
                failures.push(format!(
                    "case {:?} fed {:?}\n  input:    {:?}\n  expected: {:?}\n  actual:   {:?}",
                    case.name,
                    mode,
                    Bytes::from_static(case.input),
                    expected,
                    actual
                ));
                break;
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} spec vectors failed:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}

#[test]
fn the_table_is_large_and_its_names_are_unique() {
    assert!(CASES.len() >= 70, "only {} cases", CASES.len());
    let mut names: Vec<&str> = CASES.iter().map(|c| c.name).collect();
    names.sort_unstable();
    let before = names.len();
    names.dedup();
    assert_eq!(before, names.len(), "duplicate case names");
}

#[test]
fn spec_vectors_whole() {
    check_all(|_| vec![Mode::Whole]);
}

#[test]
fn spec_vectors_byte_by_byte() {
    check_all(|_| vec![Mode::ByteByByte]);
}

#[test]
fn spec_vectors_at_every_split_point() {
    check_all(|case| (0..=case.input.len()).map(Mode::SplitAt).collect());
}

#[test]
fn decode_returns_none_on_partial_input() {
    let mut parser = EventStreamParser::with_settings(ServerSentEventSettings::unlimited());
    let mut buf = BytesMut::from(&b"data: par"[..]);
    assert!(parser.decode(&mut buf).unwrap().is_none());
    buf.extend_from_slice(b"tial\n");
    assert!(parser.decode(&mut buf).unwrap().is_none());
    buf.extend_from_slice(b"\n");
    let event = parser.decode(&mut buf).unwrap().unwrap();
    assert_eq!(event.data(), "partial");
    assert!(parser.decode(&mut buf).unwrap().is_none());
    assert!(parser.decode_eof(&mut buf).unwrap().is_none());
    assert!(parser.decode_eof(&mut buf).unwrap().is_none());
}

#[test]
fn reset_stream_accepts_a_bom_again_and_keeps_the_buffers() {
    let mut parser = EventStreamParser::with_settings(ServerSentEventSettings::unlimited());
    let mut buf = BytesMut::from(&b"\xEF\xBB\xBFid: 3\nretry: 9\n\nevent: t\ndata: lost"[..]);
    assert!(parser.decode(&mut buf).unwrap().is_none());
    parser.reset_stream();
    buf.clear();

    // A new connection: its own BOM is stripped, the unfinished block (its
    // type and data) is forgotten, the last event id and retry are kept.
    buf.extend_from_slice(b"\xEF\xBB\xBFdata: new\n\n");
    let event = parser.decode(&mut buf).unwrap().unwrap();
    assert_eq!(
        (event.event_type(), event.data(), event.id()),
        (None, "new", None)
    );
    assert_eq!(parser.last_event_id(), "3");
    assert_eq!(parser.retry(), Some(9));
}

/// `MessageEvent.lastEventId`: every event carries the last event id in
/// effect when it was dispatched; its own `id` stays its own field.
#[test]
fn every_event_carries_the_last_event_id_in_effect() {
    let input: &[u8] =
        b"id: abc\ndata: first\n\ndata: second\n\nid: 5\n\ndata: third\n\nid\ndata: fourth\n\n";
    let whole = [input];
    let bytewise: Vec<&[u8]> = input.chunks(1).collect();
    for (name, chunks) in [("whole", &whole[..]), ("bytewise", &bytewise[..])] {
        let mut parser = EventStreamParser::new();
        let mut buf = BytesMut::new();
        let mut events = Vec::new();
        for chunk in chunks {
            buf.extend_from_slice(chunk);
            while let Some(event) = parser.decode(&mut buf).unwrap() {
                events.push(event);
            }
        }
        let seen: Vec<(&str, Option<&str>, Option<&str>)> = events
            .iter()
            .map(|e| (e.data(), e.id(), e.last_event_id()))
            .collect();
        assert_eq!(
            seen,
            [
                ("first", Some("abc"), Some("abc")),
                ("second", None, Some("abc")),
                // An id-only block changes the id in effect.
                ("third", None, Some("5")),
                // An empty id clears it: a browser shows "".
                ("fourth", Some(""), Some("")),
            ],
            "{name}"
        );
    }
}
