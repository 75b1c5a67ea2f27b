//! Bounded memory: whatever a peer sends, and however it is chunked, the
//! parser holds at most about a line limit of unfinished input, and each
//! oversize policy does what it promises. Also: linear time on huge events
//! fed one byte at a time (checked by finishing, never by timing).

use std::sync::{Arc, Mutex};

use bytes::BytesMut;
use sse_marshal::{
    Error, EventStreamParser, OversizeCallback, OversizePolicy, OversizedKind,
    ServerSentEventSettings,
};
use sse_model::ServerSentEvent;
use tokio_util::codec::Decoder;

const MIB: usize = 1 << 20;
/// The default limits.
const LINE_LIMIT: usize = 4096;
const EVENT_LIMIT: usize = 8192;

/// Characters of 1, 2, 3 and 4 bytes, so that a cut lands anywhere in one.
const MIXED: &str = "é€😀a";

/// A parser, the buffer the test feeds it through, and what came out.
struct Harness {
    parser: EventStreamParser,
    buf: BytesMut,
    events: Vec<ServerSentEvent>,
    errors: Vec<Error>,
}

impl Harness {
    fn new(settings: ServerSentEventSettings) -> Self {
        Harness {
            parser: EventStreamParser::with_settings(settings),
            buf: BytesMut::new(),
            events: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// Appends `input` in chunks of `chunk` bytes and decodes after each one
    /// until the parser needs more. Errors are recorded and decoding goes on.
    /// Checks after every chunk that the buffer never holds more than the
    /// line limit plus one chunk, and no more than the line limit once the
    /// parser has taken what it can.
    fn feed(&mut self, input: &[u8], chunk: usize) {
        let limit = self.parser.settings().max_line_size();
        for piece in input.chunks(chunk) {
            self.buf.extend_from_slice(piece);
            if limit != 0 {
                assert!(
                    self.buf.len() <= limit + piece.len(),
                    "buffer holds {} bytes before decoding (limit {limit}, chunk {})",
                    self.buf.len(),
                    piece.len()
                );
            }
            self.drain();
            if limit != 0 {
                assert!(
                    self.buf.len() <= limit,
                    "buffer holds {} bytes after decoding (limit {limit})",
                    self.buf.len()
                );
            }
        }
    }

    fn drain(&mut self) {
        loop {
            match self.parser.decode(&mut self.buf) {
                Ok(Some(event)) => self.events.push(event),
                Ok(None) => return,
                Err(err) => self.errors.push(err),
            }
        }
    }

    /// Ends the stream.
    fn finish(&mut self) {
        loop {
            match self.parser.decode_eof(&mut self.buf) {
                Ok(Some(event)) => self.events.push(event),
                Ok(None) => return,
                Err(err) => self.errors.push(err),
            }
        }
    }

    fn data(&self) -> Vec<&str> {
        self.events.iter().map(ServerSentEvent::data).collect()
    }
}

/// One call of an [`OversizeCallback`]: kind, limit and prefix.
type Call = (OversizedKind, usize, Vec<u8>);

/// Records every call of an [`OversizeCallback`].
#[derive(Clone, Default)]
struct Calls(Arc<Mutex<Vec<Call>>>);

impl Calls {
    fn policy(&self) -> OversizePolicy {
        let calls = self.clone();
        OversizePolicy::Callback(OversizeCallback::new(move |oversized| {
            calls.0.lock().unwrap().push((
                oversized.kind(),
                oversized.limit(),
                oversized.prefix().to_vec(),
            ));
        }))
    }

    fn take(&self) -> Vec<Call> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character
/// boundary: what truncation must keep.
fn char_prefix(s: &str, max: usize) -> &str {
    let mut end = max.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Compares long texts, printing only their lengths and ends on failure.
fn assert_text(actual: &str, want: &str, context: &str) {
    let end = |s: &str| {
        let start = s.char_indices().rev().nth(7).map_or(0, |(i, _)| i);
        s[start..].to_owned()
    };
    assert!(
        actual == want,
        "{context}: got {} bytes ending {:?}, want {} bytes ending {:?}",
        actual.len(),
        end(actual),
        want.len(),
        end(want)
    );
}

/// `text` repeated until it is at least `len` bytes long.
fn repeat_to(text: &str, len: usize) -> String {
    text.repeat(len.div_ceil(text.len()))
}

/// After any oversized line or event: the stream goes on and the next event
/// arrives whole. The leading LF ends the line being dropped (if any); the
/// second one ends the block.
const RECOVER: &[u8] = b"\n\ndata: ok\n\n";

// --- A peer that never sends a line break ------------------------------------

/// `data:` and then `fill` without end (`total` bytes in all).
fn endless_line(fill: &str, total: usize) -> Vec<u8> {
    let mut input = b"data:".to_vec();
    input.extend_from_slice(repeat_to(fill, total).as_bytes());
    input.truncate(total);
    input
}

/// The sizes to try: 1 MiB in 1000-byte chunks, 64 KiB one byte at a time.
const FEEDS: [(usize, usize); 2] = [(MIB, 1000), (64 * 1024, 1)];

#[test]
fn endless_line_fail_reports_once_and_recovers() {
    for (total, chunk) in FEEDS {
        let mut h = Harness::new(ServerSentEventSettings::default());
        h.feed(&endless_line("a", total), chunk);
        assert_eq!(h.errors.len(), 1, "chunk {chunk}: {:?}", h.errors);
        assert!(h.errors[0].is_line_too_long(), "{:?}", h.errors[0]);
        assert!(h.events.is_empty());

        h.feed(RECOVER, chunk);
        h.finish();
        assert_eq!(h.errors.len(), 1, "chunk {chunk}: one error only");
        assert_eq!(h.data(), ["ok"], "chunk {chunk}");
    }
}

#[test]
fn endless_line_skip_drops_it_silently() {
    for (total, chunk) in FEEDS {
        let settings = ServerSentEventSettings::default().with_oversized_line(OversizePolicy::Skip);
        let mut h = Harness::new(settings);
        h.feed(&endless_line("a", total), chunk);
        h.feed(RECOVER, chunk);
        h.finish();
        assert!(h.errors.is_empty(), "chunk {chunk}: {:?}", h.errors);
        assert_eq!(h.data(), ["ok"], "chunk {chunk}");
    }
}

#[test]
fn endless_line_truncate_keeps_a_prefix_cut_at_a_char_boundary() {
    for (total, chunk) in FEEDS {
        let settings =
            ServerSentEventSettings::default().with_oversized_line(OversizePolicy::Truncate);
        let mut h = Harness::new(settings);
        let input = endless_line(MIXED, total);
        h.feed(&input, chunk);
        h.feed(RECOVER, chunk);
        h.finish();
        assert!(h.errors.is_empty(), "chunk {chunk}: {:?}", h.errors);

        // The line is cut to at most LINE_LIMIT bytes, `data:` included.
        let fill = repeat_to(MIXED, total);
        let want = char_prefix(&fill, LINE_LIMIT - b"data:".len());
        assert!(
            want.len() < LINE_LIMIT - b"data:".len(),
            "the cut splits a char"
        );
        assert_eq!(h.events.len(), 2, "chunk {chunk}");
        assert_text(h.events[0].data(), want, &format!("chunk {chunk}"));
        assert_eq!(h.events[1].data(), "ok");
    }
}

#[test]
fn endless_line_callback_gets_kind_limit_and_prefix() {
    for (total, chunk) in FEEDS {
        let calls = Calls::default();
        let settings = ServerSentEventSettings::default().with_oversized_line(calls.policy());
        let mut h = Harness::new(settings);
        let input = endless_line("a", total);
        h.feed(&input, chunk);
        h.feed(RECOVER, chunk);
        h.finish();
        assert!(h.errors.is_empty(), "chunk {chunk}: {:?}", h.errors);
        assert_eq!(h.data(), ["ok"], "chunk {chunk}");

        let calls = calls.take();
        assert_eq!(calls.len(), 1, "chunk {chunk}: called once per line");
        let (kind, limit, prefix) = &calls[0];
        assert_eq!((*kind, *limit), (OversizedKind::Line, LINE_LIMIT));
        assert!(!prefix.is_empty() && prefix.len() <= LINE_LIMIT);
        assert!(input.starts_with(prefix), "the prefix is the line's start");
    }
}

// --- A peer that sends one endless event --------------------------------------

/// The value of every data line of an endless event: mixed-width characters,
/// 90 bytes.
fn endless_event_value() -> String {
    "€😀xé".repeat(9)
}

/// `data: <value>` lines without end (at least `total` bytes, whole lines),
/// and the data they add up to.
fn endless_event(total: usize) -> (Vec<u8>, String) {
    let value = endless_event_value();
    let line = format!("data: {value}\n");
    let lines = total.div_ceil(line.len());
    let joined = vec![value.as_str(); lines].join("\n");
    (line.repeat(lines).into_bytes(), joined)
}

#[test]
fn endless_event_fail_reports_once_and_recovers() {
    for (total, chunk) in FEEDS {
        let mut h = Harness::new(ServerSentEventSettings::default());
        h.feed(&endless_event(total).0, chunk);
        assert_eq!(h.errors.len(), 1, "chunk {chunk}: {:?}", h.errors);
        assert!(h.errors[0].is_event_too_large(), "{:?}", h.errors[0]);
        assert!(h.events.is_empty());

        h.feed(RECOVER, chunk);
        h.finish();
        assert_eq!(h.errors.len(), 1, "chunk {chunk}: one error only");
        assert_eq!(h.data(), ["ok"], "chunk {chunk}");
    }
}

#[test]
fn endless_event_skip_drops_it_silently() {
    for (total, chunk) in FEEDS {
        let settings =
            ServerSentEventSettings::default().with_oversized_event(OversizePolicy::Skip);
        let mut h = Harness::new(settings);
        h.feed(&endless_event(total).0, chunk);
        h.feed(RECOVER, chunk);
        h.finish();
        assert!(h.errors.is_empty(), "chunk {chunk}: {:?}", h.errors);
        assert_eq!(h.data(), ["ok"], "chunk {chunk}");
    }
}

#[test]
fn endless_event_truncate_keeps_a_prefix_cut_at_a_char_boundary() {
    for (total, chunk) in FEEDS {
        let settings =
            ServerSentEventSettings::default().with_oversized_event(OversizePolicy::Truncate);
        let mut h = Harness::new(settings);
        let (input, joined) = endless_event(total);
        h.feed(&input, chunk);
        h.feed(RECOVER, chunk);
        h.finish();
        assert!(h.errors.is_empty(), "chunk {chunk}: {:?}", h.errors);
        assert_eq!(h.events.len(), 2, "chunk {chunk}");
        let want = char_prefix(&joined, EVENT_LIMIT);
        assert!(want.len() < EVENT_LIMIT, "the cut splits a char");
        assert_text(h.events[0].data(), want, &format!("chunk {chunk}"));
        assert_eq!(h.events[1].data(), "ok");
    }
}

#[test]
fn endless_event_callback_gets_kind_limit_and_prefix() {
    for (total, chunk) in FEEDS {
        let calls = Calls::default();
        let settings = ServerSentEventSettings::default().with_oversized_event(calls.policy());
        let mut h = Harness::new(settings);
        let (input, joined) = endless_event(total);
        h.feed(&input, chunk);
        h.feed(RECOVER, chunk);
        h.finish();
        assert!(h.errors.is_empty(), "chunk {chunk}: {:?}", h.errors);
        assert_eq!(h.data(), ["ok"], "chunk {chunk}");

        let calls = calls.take();
        assert_eq!(calls.len(), 1, "chunk {chunk}: called once per event");
        let (kind, limit, prefix) = &calls[0];
        assert_eq!((*kind, *limit), (OversizedKind::Event, EVENT_LIMIT));
        assert!(!prefix.is_empty() && prefix.len() <= EVENT_LIMIT);
        assert!(
            joined.as_bytes().starts_with(prefix),
            "the prefix is the event's start"
        );
    }
}

// --- Exact limits and cuts -----------------------------------------------------

#[test]
fn a_line_of_exactly_the_limit_is_accepted() {
    let settings = ServerSentEventSettings::default().with_max_line_size(16);
    for line_break in ["\n", "\r", "\r\n"] {
        for chunk in [1, 5, 100] {
            let mut h = Harness::new(settings.clone());
            // 16 bytes, then 17.
            let input = format!(
                "data:0123456789a{line_break}{line_break}data:0123456789ab{line_break}{line_break}"
            );
            h.feed(input.as_bytes(), chunk);
            h.finish();
            assert_eq!(h.data(), ["0123456789a"], "{line_break:?} chunk {chunk}");
            assert_eq!(h.errors.len(), 1, "{line_break:?} chunk {chunk}");
            assert!(h.errors[0].is_line_too_long());
        }
    }
}

#[test]
fn an_event_of_exactly_the_limit_is_accepted() {
    let settings = ServerSentEventSettings::unlimited().with_max_event_size(16);
    let inputs: [(&str, Option<&str>); 4] = [
        ("data:0123456789abcdef\n\n", Some("0123456789abcdef")),
        ("data:0123456789abcdefg\n\n", None),
        ("data:0123456\ndata:89abcdef\n\n", Some("0123456\n89abcdef")),
        ("data:0123456\ndata:89abcdef\ndata\n\n", None),
    ];
    for (input, want) in inputs {
        let mut h = Harness::new(settings.clone());
        h.feed(input.as_bytes(), 3);
        h.finish();
        match want {
            Some(data) => {
                assert!(h.errors.is_empty(), "{input:?}: {:?}", h.errors);
                assert_eq!(h.data(), [data], "{input:?}");
            }
            None => {
                assert!(h.events.is_empty(), "{input:?}");
                assert_eq!(h.errors.len(), 1, "{input:?}");
                assert!(h.errors[0].is_event_too_large());
            }
        }
    }
}

#[test]
fn an_event_callback_gets_at_most_the_limit() {
    let calls = Calls::default();
    let settings = ServerSentEventSettings::unlimited()
        .with_max_event_size(16)
        .with_oversized_event(calls.policy());
    let mut h = Harness::new(settings);
    // 16 bytes of data, then one more line.
    h.feed(b"data:0123456\ndata:89abcdef\ndata:x\n\ndata:ok\n\n", 4);
    h.finish();
    assert!(h.errors.is_empty());
    assert_eq!(h.data(), ["ok"]);
    assert_eq!(
        calls.take(),
        [(OversizedKind::Event, 16, b"0123456\n89abcdef".to_vec())]
    );
}

#[test]
fn truncated_lines_are_cut_at_every_kind_of_char_boundary() {
    let fill = MIXED.repeat(8);
    for limit in 6..=40 {
        let settings = ServerSentEventSettings::unlimited()
            .with_max_line_size(limit)
            .with_oversized_line(OversizePolicy::Truncate);
        // Whole lines (the cut is found in a complete line) and one byte at a
        // time (the cut is found in the unterminated tail).
        for chunk in [1, 3, 1000] {
            let mut h = Harness::new(settings.clone());
            h.feed(format!("data:{fill}\n\ndata:x\n\n").as_bytes(), chunk);
            h.finish();
            let want = char_prefix(&fill, limit - b"data:".len());
            assert!(h.errors.is_empty(), "limit {limit} chunk {chunk}");
            assert_eq!(h.data(), [want, "x"], "limit {limit} chunk {chunk}");
        }
    }
}

#[test]
fn truncated_events_are_cut_at_every_kind_of_char_boundary() {
    let values = ["é€", "😀x", "", "aé", "€€😀", "b"];
    let joined = values.join("\n");
    let mut input = String::new();
    for value in values {
        input.push_str(&format!("data:{value}\n"));
    }
    input.push_str("\ndata:next\n\n");
    for limit in 1..=joined.len() + 2 {
        let settings = ServerSentEventSettings::unlimited()
            .with_max_event_size(limit)
            .with_oversized_event(OversizePolicy::Truncate);
        for chunk in [1, 1000] {
            let mut h = Harness::new(settings.clone());
            h.feed(input.as_bytes(), chunk);
            h.finish();
            assert!(h.errors.is_empty(), "limit {limit} chunk {chunk}");
            assert_eq!(
                h.data(),
                [char_prefix(&joined, limit), char_prefix("next", limit)],
                "limit {limit} chunk {chunk}"
            );
        }
    }
}

// --- Empty events ---------------------------------------------------------------

#[test]
fn without_empty_events_ids_still_count() {
    let settings = ServerSentEventSettings::default().with_emit_empty_events(false);
    let input = b"id: 1\ndata:\n\nevent: t\ndata\n\ndata: x\n\nid: 2\nretry: 5\ndata:\n\n";
    for chunk in [1, 1000] {
        let mut h = Harness::new(settings.clone());
        h.feed(input, chunk);
        h.finish();
        assert!(h.errors.is_empty());
        assert_eq!(h.events.len(), 1, "chunk {chunk}: {:?}", h.events);
        let event = &h.events[0];
        assert_eq!(
            (event.event_type(), event.data(), event.id()),
            (None, "x", None),
            "chunk {chunk}: the dropped event's type and id stay with it"
        );
        assert_eq!(h.parser.last_event_id(), "2", "chunk {chunk}");
        assert_eq!(h.parser.retry(), Some(5), "chunk {chunk}");
    }

    // The default emits them, as the specification does.
    let mut h = Harness::new(ServerSentEventSettings::default());
    h.feed(input, 1000);
    h.finish();
    assert_eq!(h.data(), ["", "", "x", ""]);
}

// --- Linear time -----------------------------------------------------------------

/// Feeds `input` one byte at a time with unlimited settings and returns the
/// events.
fn byte_by_byte_unlimited(input: &[u8]) -> Vec<ServerSentEvent> {
    let mut parser = EventStreamParser::with_settings(ServerSentEventSettings::unlimited());
    let mut buf = BytesMut::new();
    let mut events = Vec::new();
    for &byte in input {
        buf.extend_from_slice(&[byte]);
        while let Some(event) = parser.decode(&mut buf).unwrap() {
            events.push(event);
        }
    }
    while let Some(event) = parser.decode_eof(&mut buf).unwrap() {
        events.push(event);
    }
    events
}

/// Fed one byte at a time, a parser that rescanned its buffer, or copied the
/// data collected so far for every line, would be quadratic and take minutes
/// to hours on these; a linear one takes about a second in a debug build.
const HUGE: usize = 10 * MIB;

#[test]
fn a_huge_event_of_many_lines_byte_by_byte() {
    let value = "0123456789".repeat(100);
    let line = format!("data:{value}\n");
    let lines = HUGE / line.len();
    let mut input = line.repeat(lines);
    input.push('\n');
    let events = byte_by_byte_unlimited(input.as_bytes());
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].data().len(), lines * (value.len() + 1) - 1);
}

#[test]
fn a_huge_single_line_byte_by_byte() {
    let mut input = Vec::with_capacity(HUGE + 8);
    input.extend_from_slice(b"data:");
    input.resize(HUGE + 5, b'x');
    input.extend_from_slice(b"\r\n\r\n");
    let events = byte_by_byte_unlimited(&input);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].data().len(), HUGE);
    assert!(events[0].data().bytes().all(|b| b == b'x'));
}
