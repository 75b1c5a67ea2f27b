//! The checks behind the fuzz targets, as plain functions so that they can
//! also be replayed without libFuzzer. This module holds the parser's and
//! the unmarshaller's; [`http1`] the server's direct HTTP/1.1 path's.
//!
//! # Input layout
//!
//! Both targets read the same layout: an 8-byte header, then the stream.
//!
//! | byte | meaning |
//! |------|---------|
//! | 0 | `max_line_size`: `0xFF` unlimited, else `1 + b % 128` |
//! | 1 | `max_event_size`: `0xFF` unlimited, else `1 + b % 256` |
//! | 2 | bits 0-1: line policy, bits 2-3: event policy (fail, skip, truncate, callback); bit 4: emit empty events off; bit 5 (unmarshal only): the body fails after its last chunk |
//! | 3-6 | seed of the chunking (little endian) |
//! | 7 | the largest chunk: `1 + b % 64` bytes |
//! | 8.. | the stream |
//!
//! An input shorter than the header is the stream itself, with default
//! limits and one chunk. The committed seeds in `fuzz/corpus/<target>/` start
//! with such a header.
//!
//! # Invariants
//!
//! `check_parser`:
//! - no panic, whatever the bytes, limits and chunking;
//! - after each `decode` that returns `Ok(None)`, the buffer holds at most
//!   `max_line_size` bytes (or the two bytes of a partial BOM), and never more
//!   than `max_line_size` + the last chunk before decoding;
//! - no event's data exceeds `max_event_size`, no oversize callback gets a
//!   prefix longer than the limit;
//! - the outcome (events, errors, callbacks, last event id, retry) does not
//!   depend on the chunking: with unlimited settings and with the fuzzed
//!   limits alike, a chunked parse equals a one-shot parse;
//! - encode → parse is the identity for events built from the same bytes.
//!
//! `check_unmarshal`: the unmarshaller over a `StreamBody` of the fuzzed
//! chunks yields exactly what the parser yields on the whole input, up to and
//! including its first error (after which the stream ends), and a failing
//! body ends the stream with a body error.

pub mod http1;

#[cfg(test)]
mod corpus {
    /// The committed seeds of the fuzz target `target`
    /// (`fuzz/corpus/<target>/`), with their paths.
    pub(crate) fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
        let dir = format!("{}/corpus/{target}", env!("CARGO_MANIFEST_DIR"));
        let mut seeds: Vec<_> = std::fs::read_dir(&dir)
            .expect("the seed corpus")
            .map(|entry| {
                let path = entry.unwrap().path();
                (path.display().to_string(), std::fs::read(&path).unwrap())
            })
            .collect();
        seeds.sort();
        assert!(seeds.len() >= 5, "only {} seeds in {dir}", seeds.len());
        seeds
    }
}

use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use http_body::Frame;
use http_body_util::StreamBody;
use sse_marshal::{
    EventStreamUnmarshalling, OversizeCallback, OversizePolicy, OversizedKind,
    ServerSentEventSettings,
};
use sse_model::{EventId, EventType, ServerSentEvent};
use tokio_util::codec::Decoder;

const HEADER: usize = 8;

/// The parameters the header chooses.
#[derive(Debug, Clone)]
pub struct Config {
    max_line: usize,
    max_event: usize,
    line_policy: u8,
    event_policy: u8,
    emit_empty: bool,
    body_fails: bool,
    chunk_seed: u32,
    max_chunk: usize,
}

impl Config {
    /// Splits an input into its header and its stream.
    pub fn split(input: &[u8]) -> (Config, &[u8]) {
        if input.len() < HEADER {
            let config = Config {
                max_line: 4096,
                max_event: 8192,
                line_policy: 0,
                event_policy: 0,
                emit_empty: true,
                body_fails: false,
                chunk_seed: 0,
                max_chunk: usize::MAX,
            };
            return (config, input);
        }
        let (h, stream) = input.split_at(HEADER);
        let limit = |b: u8, modulo: usize| {
            if b == 0xFF {
                0
            } else {
                1 + usize::from(b) % modulo
            }
        };
        let config = Config {
            max_line: limit(h[0], 128),
            max_event: limit(h[1], 256),
            line_policy: h[2] & 3,
            event_policy: (h[2] >> 2) & 3,
            emit_empty: h[2] & 0x10 == 0,
            body_fails: h[2] & 0x20 != 0,
            chunk_seed: u32::from_le_bytes([h[3], h[4], h[5], h[6]]),
            max_chunk: 1 + usize::from(h[7]) % 64,
        };
        (config, stream)
    }

    /// The chunks of `stream`, cut by a generator seeded from the header.
    pub fn chunks<'a>(&self, stream: &'a [u8]) -> Vec<&'a [u8]> {
        if self.max_chunk == usize::MAX {
            return vec![stream];
        }
        let mut state = u64::from(self.chunk_seed) | 1 << 40;
        let mut rest = stream;
        let mut out = Vec::new();
        while !rest.is_empty() {
            // xorshift64
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let size = 1 + (state % self.max_chunk as u64) as usize;
            let (chunk, after) = rest.split_at(size.min(rest.len()));
            out.push(chunk);
            rest = after;
        }
        out
    }

    /// The settings, with callbacks that append to `log`.
    fn settings(&self, log: &Log) -> ServerSentEventSettings {
        ServerSentEventSettings::default()
            .with_max_line_size(self.max_line)
            .with_max_event_size(self.max_event)
            .with_emit_empty_events(self.emit_empty)
            .with_oversized_line(policy(self.line_policy, log))
            .with_oversized_event(policy(self.event_policy, log))
    }
}

/// What oversize callbacks saw: (kind is line, prefix).
type Log = Arc<Mutex<Vec<(bool, Vec<u8>)>>>;

fn policy(bits: u8, log: &Log) -> OversizePolicy {
    match bits {
        0 => OversizePolicy::Fail,
        1 => OversizePolicy::Skip,
        2 => OversizePolicy::Truncate,
        _ => {
            let log = Arc::clone(log);
            OversizePolicy::Callback(OversizeCallback::new(move |oversized| {
                assert!(
                    oversized.prefix().len() <= oversized.limit(),
                    "a callback got {} bytes over a limit of {}",
                    oversized.prefix().len(),
                    oversized.limit()
                );
                log.lock().unwrap().push((
                    oversized.kind() == OversizedKind::Line,
                    oversized.prefix().to_vec(),
                ));
            }))
        }
    }
}

/// One item of a parse, in stream order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// An event, with the parser's last event id right after it.
    Event(ServerSentEvent, String),
    /// An error: (line too long, event too large).
    Error(bool, bool),
}

/// Everything a parse produced.
#[derive(Debug, PartialEq, Eq)]
pub struct Parse {
    items: Vec<Item>,
    callbacks: Vec<(bool, Vec<u8>)>,
    last_event_id: String,
    retry: Option<u64>,
}

/// Parses `chunks` like a `FramedRead`: decode after each chunk until the
/// parser needs more (errors are recorded and decoding goes on, as
/// [`OversizePolicy::Fail`] allows), `decode_eof` at the end. Checks the
/// memory and size bounds on the way.
fn parse(config: &Config, unlimited: bool, chunks: &[&[u8]]) -> Parse {
    let log: Log = Arc::default();
    let settings = if unlimited {
        ServerSentEventSettings::unlimited()
    } else {
        config.settings(&log)
    };
    let max_line = settings.max_line_size();
    let max_event = settings.max_event_size();
    let mut parser = sse_marshal::EventStreamParser::with_settings(settings);
    let mut buf = BytesMut::new();
    let mut items = Vec::new();
    let mut push = |result: Result<Option<ServerSentEvent>, sse_marshal::Error>,
                    parser: &sse_marshal::EventStreamParser|
     -> bool {
        match result {
            Ok(Some(event)) => {
                if max_event != 0 {
                    assert!(
                        event.data().len() <= max_event,
                        "an event of {} bytes passed a limit of {max_event}",
                        event.data().len()
                    );
                }
                items.push(Item::Event(event, parser.last_event_id().to_owned()));
                true
            }
            Ok(None) => false,
            Err(error) => {
                assert!(error.is_oversized(), "unexpected error {error:?}");
                items.push(Item::Error(
                    error.is_line_too_long(),
                    error.is_event_too_large(),
                ));
                true
            }
        }
    };
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        if max_line != 0 {
            assert!(
                buf.len() <= max_line.max(2) + chunk.len(),
                "{} bytes buffered before decoding (limit {max_line}, chunk {})",
                buf.len(),
                chunk.len()
            );
        }
        loop {
            let result = parser.decode(&mut buf);
            if !push(result, &parser) {
                break;
            }
        }
        if max_line != 0 {
            assert!(
                buf.len() <= max_line.max(2),
                "{} bytes buffered after decoding (limit {max_line})",
                buf.len()
            );
        }
    }
    loop {
        let result = parser.decode_eof(&mut buf);
        if !push(result, &parser) {
            break;
        }
    }
    assert!(buf.is_empty(), "decode_eof left {} bytes", buf.len());
    let callbacks = std::mem::take(&mut *log.lock().unwrap());
    Parse {
        items,
        callbacks,
        last_event_id: parser.last_event_id().to_owned(),
        retry: parser.retry(),
    }
}

/// All parser invariants on one input.
pub fn check_parser(input: &[u8]) {
    let (config, stream) = Config::split(input);
    let chunks = config.chunks(stream);
    for unlimited in [false, true] {
        let one_shot = parse(&config, unlimited, &[stream]);
        let chunked = parse(&config, unlimited, &chunks);
        assert_eq!(
            one_shot, chunked,
            "the chunking changed the outcome (unlimited: {unlimited})"
        );
    }
    check_round_trip(stream, &config);
}

/// Builds events from `bytes`, encodes them, parses them back (chunked as the
/// config says) and expects the same events.
fn check_round_trip(bytes: &[u8], config: &Config) {
    let events = events_from(bytes);
    let mut wire = BytesMut::new();
    for event in &events {
        event.encode_into(&mut wire);
    }
    let parsed = parse(config, true, &config.chunks(&wire));
    let mut expected = Vec::new();
    let mut last_event_id = String::new();
    let mut retry = None;
    for event in &events {
        if event.is_heartbeat() {
            continue;
        }
        if let Some(id) = event.id() {
            id.clone_into(&mut last_event_id);
        }
        retry = event.retry().or(retry);
        // Line breaks in data come back as LF; a heartbeat-free event keeps
        // its type, id and retry.
        let data = event.data().replace("\r\n", "\n").replace('\r', "\n");
        let mut back = ServerSentEvent::new(data);
        if let Some(t) = event.event_type_value() {
            back = back.with_event_type(t.clone());
        }
        if let Some(id) = event.id_value() {
            back = back.with_id(id.clone());
        }
        if let Some(r) = event.retry() {
            back = back.with_retry(r);
        }
        expected.push(Item::Event(back, last_event_id.clone()));
    }
    assert_eq!(parsed.items, expected, "encode -> parse changed the events");
    assert_eq!(parsed.last_event_id, last_event_id);
    assert_eq!(parsed.retry, retry);
}

/// Events made of the bytes: records separated by 0xFF, fields within a
/// record by 0xFE: data, event type, id, retry digits, heartbeat flag. Invalid
/// UTF-8 is replaced; invalid types and ids are left out (construction
/// refuses them, which is checked too).
fn events_from(bytes: &[u8]) -> Vec<ServerSentEvent> {
    bytes
        .split(|&b| b == 0xFF)
        .take(64)
        .map(|record| {
            let mut fields = record.split(|&b| b == 0xFE);
            let text = |f: Option<&[u8]>| f.map(|b| String::from_utf8_lossy(b).into_owned());
            let mut event = ServerSentEvent::new(text(fields.next()).unwrap_or_default());
            if let Some(t) = text(fields.next()) {
                match EventType::new(t.as_str()) {
                    Ok(t) => event = event.with_event_type(t),
                    Err(_) => assert!(t.is_empty() || t.contains(['\r', '\n'])),
                }
            }
            if let Some(id) = text(fields.next()) {
                match EventId::new(id.as_str()) {
                    Ok(id) => event = event.with_id(id),
                    Err(_) => assert!(id.contains(['\r', '\n', '\0'])),
                }
            }
            if let Some(digits) = fields.next() {
                let n = digits
                    .iter()
                    .fold(0u64, |n, &b| n.wrapping_mul(31).wrapping_add(u64::from(b)));
                event = event.with_retry(n);
            }
            if fields.next().is_some_and(|f| f.first() == Some(&b'h')) {
                event = ServerSentEvent::heartbeat();
            }
            event
        })
        .collect()
}

/// The unmarshaller on fuzzed chunks agrees with the parser.
pub fn check_unmarshal(input: &[u8]) {
    let (config, stream) = Config::split(input);
    let log: Log = Arc::default();
    let settings = config.settings(&log);
    let chunks: Vec<Result<Frame<Bytes>, std::io::Error>> = config
        .chunks(stream)
        .into_iter()
        .map(|c| Ok(Frame::data(Bytes::copy_from_slice(c))))
        .chain(
            config
                .body_fails
                .then(|| Err(std::io::Error::other("connection reset"))),
        )
        .collect();
    let body = StreamBody::new(futures_util::stream::iter(chunks));
    let source = EventStreamUnmarshalling::new(settings).from_body(body);
    let got: Vec<Result<ServerSentEvent, sse_marshal::Error>> =
        futures_executor::block_on(source.collect());

    // What the parser alone makes of the whole stream, up to its first error.
    let reference = parse(&config, false, &[stream]);
    let mut expected: Vec<Item> = Vec::new();
    for item in reference.items {
        let stop = matches!(item, Item::Error(..));
        expected.push(item);
        if stop {
            break;
        }
    }
    let parser_failed = matches!(expected.last(), Some(Item::Error(..)));

    let mut got_items = Vec::new();
    let mut body_error = false;
    for (i, result) in got.iter().enumerate() {
        match result {
            Ok(event) => {
                if config.max_event != 0 {
                    assert!(event.data().len() <= config.max_event);
                }
                got_items.push(event.clone());
            }
            Err(error) => {
                assert_eq!(i, got.len() - 1, "the stream goes on after an error");
                if error.is_body() {
                    body_error = true;
                } else {
                    assert!(error.is_oversized(), "unexpected error {error:?}");
                }
            }
        }
    }
    let expected_events: Vec<ServerSentEvent> = expected
        .iter()
        .filter_map(|item| match item {
            Item::Event(event, _) => Some(event.clone()),
            Item::Error(..) => None,
        })
        .collect();
    if body_error {
        // The body failed after its last chunk, and the parser had not failed
        // before (its error would have ended the stream first): every
        // complete event arrived, then the body error.
        assert!(config.body_fails && !parser_failed);
        assert_eq!(
            got_items, expected_events,
            "events lost before a body error"
        );
    } else {
        assert!(!config.body_fails || parser_failed, "a body error was lost");
        assert_eq!(got_items, expected_events);
        assert_eq!(
            got.last().is_some_and(Result::is_err),
            parser_failed,
            "the stream and the parser disagree on failing"
        );
    }
}

#[cfg(test)]
mod tests {
    //! The checks without libFuzzer, on the stable toolchain: the committed
    //! seeds, and seeds with pseudo-random mutations.

    use super::*;

    fn seeds() -> Vec<(String, Vec<u8>)> {
        let mut out = crate::corpus::seeds("parser");
        out.extend(crate::corpus::seeds("unmarshal"));
        out
    }

    #[test]
    fn the_seeds_pass() {
        for (name, input) in seeds() {
            eprintln!("{name}");
            check_parser(&input);
            check_unmarshal(&input);
        }
    }

    #[test]
    fn mutated_seeds_pass() {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for (_, seed) in seeds() {
            for _ in 0..200 {
                let mut input = seed.clone();
                for _ in 0..1 + next() % 8 {
                    let at = (next() % (input.len() as u64 + 1)) as usize;
                    let byte = [b'\n', b'\r', b':', b' ', 0, 0xEF, 0xFF, 0xFE, b'a']
                        [(next() % 9) as usize];
                    match next() % 3 {
                        0 if at < input.len() => input[at] = byte,
                        1 if at < input.len() => {
                            input.remove(at);
                        }
                        _ => input.insert(at, byte),
                    }
                }
                check_parser(&input);
                check_unmarshal(&input);
            }
        }
    }
}
