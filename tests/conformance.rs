//! Spec conformance: runs every case of `tests/conformance/vectors.txt` (cases
//! from the WHATWG "interpreting an event stream" text and the
//! web-platform-tests `eventsource/` format tests; the file documents its
//! format) through [`EventStreamParser`].
//!
//! Each case runs whole, one byte at a time, and cut at 20 seeded
//! pseudo-random chunkings per connection. For every event the runner records
//! what a browser exposes: the type (`message` by default), the data, and
//! `lastEventId`, which is the parser's last event ID string right after the
//! event was decoded (`decode` returns at the dispatching blank line, so it is
//! current). After the last connection it checks the final last event id and
//! reconnection time. A `reconnect` line in a case ends the connection
//! (`decode_eof`) and feeds the next one to the same parser, as a
//! reconnecting client does.
//!
//! A failure lists every failing case with its line in the file, how it was
//! fed (the seed and chunk sizes of a random chunking), and the expected and
//! actual outcomes.

use std::fmt::Write as _;

use bytes::BytesMut;
use sse_marshal::{EventStreamParser, ServerSentEventSettings};
use tokio_util::codec::Decoder;

const VECTORS: &str = include_str!("conformance/vectors.txt");

/// How many random chunkings every case runs at.
const RANDOM_SPLITS: u64 = 20;
/// The seed all random chunkings derive from.
const BASE_SEED: u64 = 0x5EED_C0FF_EE00_0001;

// ---------------------------------------------------------------------------
// The file format
// ---------------------------------------------------------------------------

/// What a browser's `MessageEvent` exposes.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Event {
    event_type: String,
    data: String,
    last_event_id: String,
}

/// Everything a case expects, or everything a run produced.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Outcome {
    events: Vec<Event>,
    final_last_event_id: String,
    final_retry: Option<u64>,
}

#[derive(Debug)]
struct Case {
    name: String,
    /// The line of `case:` in the file.
    line: usize,
    /// The bytes of each connection.
    connections: Vec<Vec<u8>>,
    expected: Outcome,
    known_differences: Vec<String>,
}

/// Parses the vectors file; panics with the offending line on any error.
fn parse_vectors(text: &str) -> Vec<Case> {
    let mut cases: Vec<Case> = Vec::new();
    let mut builder: Option<CaseBuilder> = None;
    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        let line = raw.trim_end();
        if line.trim_start().is_empty() || line.starts_with('#') {
            continue;
        }
        let fail = |message: &str| -> ! { panic!("vectors.txt:{line_no}: {message}\n  {raw}") };
        if line == "reconnect" {
            match builder.as_mut() {
                Some(b) => b.connections.push(Vec::new()),
                None => fail("`reconnect` outside a case"),
            }
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            fail("expected `key: value`");
        };
        let value = value.trim();
        if key == "case" {
            if let Some(done) = builder.take() {
                cases.push(done.finish());
            }
            if value.is_empty() {
                fail("a case needs a name");
            }
            builder = Some(CaseBuilder::new(value, line_no));
            continue;
        }
        let Some(b) = builder.as_mut() else {
            fail("a field outside a case");
        };
        let result = match key {
            "source" => {
                b.has_source = true;
                Ok(())
            }
            "known_difference" => {
                b.known_differences.push(value.to_owned());
                Ok(())
            }
            "input" => parse_literals(value).map(|bytes| {
                b.connections
                    .last_mut()
                    .expect("a case starts with one connection")
                    .extend_from_slice(&bytes);
                b.has_input = true;
            }),
            "event" => parse_event(value).map(|event| b.events.push(event)),
            "final_last_event_id" => parse_text(value).map(|id| b.final_last_event_id = Some(id)),
            "final_retry" => match value {
                "none" => {
                    b.final_retry = Some(None);
                    Ok(())
                }
                digits => digits
                    .parse::<u64>()
                    .map(|ms| b.final_retry = Some(Some(ms)))
                    .map_err(|e| format!("final_retry: {e}")),
            },
            other => Err(format!("unknown key {other:?}")),
        };
        if let Err(message) = result {
            fail(&message);
        }
    }
    if let Some(done) = builder.take() {
        cases.push(done.finish());
    }
    cases
}

struct CaseBuilder {
    name: String,
    line: usize,
    has_source: bool,
    has_input: bool,
    connections: Vec<Vec<u8>>,
    events: Vec<Event>,
    final_last_event_id: Option<String>,
    final_retry: Option<Option<u64>>,
    known_differences: Vec<String>,
}

impl CaseBuilder {
    fn new(name: &str, line: usize) -> Self {
        CaseBuilder {
            name: name.to_owned(),
            line,
            has_source: false,
            has_input: false,
            connections: vec![Vec::new()],
            events: Vec::new(),
            final_last_event_id: None,
            final_retry: None,
            known_differences: Vec::new(),
        }
    }

    fn finish(self) -> Case {
        let missing = |what: &str| -> ! {
            panic!(
                "vectors.txt:{}: case {:?} has no {what}",
                self.line, self.name
            )
        };
        if !self.has_source {
            missing("`source`");
        }
        if !self.has_input {
            missing("`input`");
        }
        let Some(final_last_event_id) = self.final_last_event_id.clone() else {
            missing("`final_last_event_id`");
        };
        let Some(final_retry) = self.final_retry else {
            missing("`final_retry`");
        };
        Case {
            name: self.name,
            line: self.line,
            connections: self.connections,
            expected: Outcome {
                events: self.events,
                final_last_event_id,
                final_retry,
            },
            known_differences: self.known_differences,
        }
    }
}

/// Parses `type=<s> data=<s> last_event_id=<s>`.
fn parse_event(value: &str) -> Result<Event, String> {
    let mut rest = value;
    let mut fields = Vec::new();
    for key in ["type", "data", "last_event_id"] {
        rest = rest.trim_start();
        rest = rest
            .strip_prefix(key)
            .and_then(|r| r.strip_prefix('='))
            .ok_or_else(|| format!("expected `{key}=` in the event"))?;
        let (bytes, after) = parse_literal(rest)?;
        fields.push(expected_text(bytes)?);
        rest = after;
    }
    if !rest.trim().is_empty() {
        return Err(format!("unexpected text after the event: {rest:?}"));
    }
    let last_event_id = fields.pop().expect("three fields");
    let data = fields.pop().expect("three fields");
    let event_type = fields.pop().expect("three fields");
    Ok(Event {
        event_type,
        data,
        last_event_id,
    })
}

/// Parses one literal that must be the whole value and must be text.
fn parse_text(value: &str) -> Result<String, String> {
    let (bytes, rest) = parse_literal(value)?;
    if !rest.trim().is_empty() {
        return Err(format!("unexpected text after the value: {rest:?}"));
    }
    expected_text(bytes)
}

fn expected_text(bytes: Vec<u8>) -> Result<String, String> {
    String::from_utf8(bytes).map_err(|_| {
        "an expected value must be text: write non-ASCII as \\u{...}, not \\xHH".to_owned()
    })
}

/// Parses a sequence of literals separated by spaces and concatenates them.
fn parse_literals(value: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut rest = value.trim_start();
    while !rest.is_empty() {
        let (bytes, after) = parse_literal(rest)?;
        out.extend_from_slice(&bytes);
        rest = after.trim_start();
    }
    Ok(out)
}

/// Parses one `"..."` literal with escapes and an optional `*N` repeat at the
/// start of `s`; returns its bytes and the text after it.
fn parse_literal(s: &str) -> Result<(Vec<u8>, &str), String> {
    let body = s
        .strip_prefix('"')
        .ok_or_else(|| format!("expected a string literal at {s:?}"))?;
    let mut out = Vec::new();
    let mut chars = body.char_indices();
    let end = loop {
        let Some((i, c)) = chars.next() else {
            return Err("unterminated string literal".to_owned());
        };
        match c {
            '"' => break i + 1,
            '\\' => {
                let (_, escape) = chars.next().ok_or("a backslash at the end")?;
                match escape {
                    'n' => out.push(b'\n'),
                    'r' => out.push(b'\r'),
                    't' => out.push(b'\t'),
                    '0' => out.push(0),
                    '\\' => out.push(b'\\'),
                    '"' => out.push(b'"'),
                    'x' => {
                        let hex: String = chars.by_ref().take(2).map(|(_, c)| c).collect();
                        let byte = u8::from_str_radix(&hex, 16)
                            .ok()
                            .filter(|_| hex.len() == 2)
                            .ok_or_else(|| format!("bad \\x escape {hex:?}"))?;
                        out.push(byte);
                    }
                    'u' => {
                        if chars.next().map(|(_, c)| c) != Some('{') {
                            return Err("expected \\u{...}".to_owned());
                        }
                        let hex: String = chars
                            .by_ref()
                            .map(|(_, c)| c)
                            .take_while(|&c| c != '}')
                            .collect();
                        let scalar = u32::from_str_radix(&hex, 16)
                            .ok()
                            .and_then(char::from_u32)
                            .ok_or_else(|| format!("bad \\u escape {hex:?}"))?;
                        let mut utf8 = [0; 4];
                        out.extend_from_slice(scalar.encode_utf8(&mut utf8).as_bytes());
                    }
                    other => return Err(format!("unknown escape \\{other}")),
                }
            }
            c => {
                let mut utf8 = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
            }
        }
    };
    let mut rest = &body[end..];
    if let Some(after_star) = rest.strip_prefix('*') {
        let digits = after_star
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(after_star.len());
        let count: usize = after_star[..digits]
            .parse()
            .map_err(|_| "expected a count after `*`".to_owned())?;
        out = out.repeat(count);
        rest = &after_star[digits..];
    }
    Ok((out, rest))
}

// ---------------------------------------------------------------------------
// Running a case
// ---------------------------------------------------------------------------

/// How the bytes of each connection are cut into chunks.
#[derive(Debug, Clone)]
enum Feeding {
    Whole,
    ByteByByte,
    /// Chunk sizes per connection, from a seeded generator.
    Random {
        seed: u64,
        sizes: Vec<Vec<usize>>,
    },
}

impl Feeding {
    fn chunks<'a>(&self, connection: usize, bytes: &'a [u8]) -> Vec<&'a [u8]> {
        match self {
            Feeding::Whole => vec![bytes],
            Feeding::ByteByByte => bytes.chunks(1).collect(),
            Feeding::Random { sizes, .. } => {
                let mut rest = bytes;
                let mut out = Vec::new();
                for &size in &sizes[connection] {
                    let (chunk, after) = rest.split_at(size.min(rest.len()));
                    out.push(chunk);
                    rest = after;
                }
                out.push(rest);
                out
            }
        }
    }
}

/// SplitMix64: small, seedable, good enough to pick chunk sizes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A random chunking of every connection of `case`. Each connection gets a
/// size cap (1, 2, 3, 5, 8, 17 or 64 bytes) and chunks of 1..=cap bytes, so
/// that boundaries land everywhere: between CR and LF, inside a BOM, inside a
/// UTF-8 sequence, right after a colon.
fn random_feeding(case: &Case, seed: u64) -> Feeding {
    let mut rng = Rng(seed);
    let sizes = case
        .connections
        .iter()
        .map(|bytes| {
            let cap = [1, 2, 3, 5, 8, 17, 64][rng.below(7)];
            let mut left = bytes.len();
            let mut sizes = Vec::new();
            while left > 0 {
                let size = (1 + rng.below(cap)).min(left);
                sizes.push(size);
                left -= size;
            }
            sizes
        })
        .collect();
    Feeding::Random { seed, sizes }
}

fn seed_for(case_index: usize, pattern: u64) -> u64 {
    let mut rng = Rng(BASE_SEED ^ ((case_index as u64) << 16) ^ pattern);
    rng.next()
}

fn run(case: &Case, feeding: &Feeding) -> Result<Outcome, sse_marshal::Error> {
    let mut parser = EventStreamParser::with_settings(ServerSentEventSettings::unlimited());
    let mut buf = BytesMut::new();
    let mut events = Vec::new();
    let mut record = |event: sse_model::ServerSentEvent, parser: &EventStreamParser| {
        events.push(Event {
            event_type: event.event_type().unwrap_or("message").to_owned(),
            data: event.data().to_owned(),
            last_event_id: parser.last_event_id().to_owned(),
        });
    };
    for (index, bytes) in case.connections.iter().enumerate() {
        for chunk in feeding.chunks(index, bytes) {
            buf.extend_from_slice(chunk);
            while let Some(event) = parser.decode(&mut buf)? {
                record(event, &parser);
            }
        }
        // The connection ends: the parser discards what is unfinished and is
        // ready for the next connection.
        while let Some(event) = parser.decode_eof(&mut buf)? {
            record(event, &parser);
        }
        assert!(buf.is_empty(), "decode_eof leaves nothing behind");
    }
    Ok(Outcome {
        events,
        final_last_event_id: parser.last_event_id().to_owned(),
        final_retry: parser.retry(),
    })
}

/// Escapes bytes the way the vectors file writes them.
fn show_bytes(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\0' => out.push_str("\\0"),
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                c if c.is_control() || c == '\u{FEFF}' => {
                    let _ = write!(out, "\\u{{{:X}}}", c as u32);
                }
                c => out.push(c),
            }
        }
        for byte in chunk.invalid() {
            let _ = write!(out, "\\x{byte:02X}");
        }
    }
    out.push('"');
    out
}

fn show_outcome(outcome: &Outcome) -> String {
    let mut out = String::new();
    for e in &outcome.events {
        let _ = writeln!(
            out,
            "      event: type={} data={} last_event_id={}",
            show_bytes(e.event_type.as_bytes()),
            show_bytes(e.data.as_bytes()),
            show_bytes(e.last_event_id.as_bytes())
        );
    }
    let _ = writeln!(
        out,
        "      final_last_event_id: {}",
        show_bytes(outcome.final_last_event_id.as_bytes())
    );
    let retry = outcome
        .final_retry
        .map_or_else(|| "none".to_owned(), |ms| ms.to_string());
    let _ = write!(out, "      final_retry: {retry}");
    out
}

/// Runs every case with the feedings `feedings_of` gives it; fails listing
/// every case that went wrong (the first failing feeding of each).
fn check_all(feedings_of: impl Fn(usize, &Case) -> Vec<Feeding>) {
    let cases = parse_vectors(VECTORS);
    let mut failures = Vec::new();
    let mut runs = 0;
    for (index, case) in cases.iter().enumerate() {
        for feeding in feedings_of(index, case) {
            runs += 1;
            let actual = run(case, &feeding);
            if actual.as_ref().ok() == Some(&case.expected) {
                continue;
            }
            let mut report = format!(
                "case {:?} (vectors.txt:{}) fed {}\n  input:\n",
                case.name,
                case.line,
                match &feeding {
                    Feeding::Whole => "whole".to_owned(),
                    Feeding::ByteByByte => "byte by byte".to_owned(),
                    Feeding::Random { seed, sizes } =>
                        format!("at random splits: seed {seed:#018x}, chunk sizes {sizes:?}"),
                }
            );
            for (i, bytes) in case.connections.iter().enumerate() {
                if i > 0 {
                    report.push_str("    reconnect\n");
                }
                let _ = writeln!(report, "    input: {}", show_bytes(bytes));
            }
            let _ = writeln!(report, "  expected:\n{}", show_outcome(&case.expected));
            match &actual {
                Ok(outcome) => {
                    let _ = write!(report, "  actual:\n{}", show_outcome(outcome));
                }
                Err(error) => {
                    let _ = write!(report, "  actual: error {error:?}");
                }
            }
            failures.push(report);
            break;
        }
    }
    assert!(runs > 0, "no runs");
    assert!(
        failures.is_empty(),
        "{} of {} conformance cases failed:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[test]
fn the_file_has_enough_cases_with_unique_names() {
    let cases = parse_vectors(VECTORS);
    assert!(cases.len() >= 60, "only {} cases", cases.len());
    let mut names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    names.sort_unstable();
    for pair in names.windows(2) {
        assert_ne!(pair[0], pair[1], "duplicate case name");
    }
    let wpt = cases.iter().filter(|c| c.name.starts_with("wpt ")).count();
    assert!(wpt >= 20, "only {wpt} web-platform-tests cases");
    // Differences are free text, but each names the client it was measured in.
    for case in &cases {
        for difference in &case.known_differences {
            assert!(
                difference.contains(':'),
                "{:?}: a known difference starts with `client version:`",
                case.name
            );
        }
    }
}

#[test]
fn conformance_whole() {
    check_all(|_, _| vec![Feeding::Whole]);
}

#[test]
fn conformance_byte_by_byte() {
    check_all(|_, _| vec![Feeding::ByteByByte]);
}

#[test]
fn conformance_at_random_splits() {
    check_all(|index, case| {
        (0..RANDOM_SPLITS)
            .map(|pattern| random_feeding(case, seed_for(index, pattern)))
            .collect()
    });
}

#[test]
fn literals_and_their_escapes() {
    let bytes = |s: &str| parse_literals(s).unwrap();
    assert_eq!(bytes(r#""a\n\r\t\0\\\"""#), b"a\n\r\t\0\\\"");
    assert_eq!(bytes(r#""\xEF\xBB\xBF" "\xff""#), b"\xEF\xBB\xBF\xFF");
    assert_eq!(
        bytes(r#""\u{2026}\u{1F600}""#),
        "\u{2026}\u{1F600}".as_bytes()
    );
    assert_eq!(bytes(r#""ab"*3 "c""#), b"abababc");
    assert_eq!(bytes(r#""é""#), "é".as_bytes());
    assert!(parse_literals(r#""unterminated"#).is_err());
    assert!(parse_literals(r#""\q""#).is_err());
    assert!(parse_literals(r#""\x4""#).is_err());
    assert!(
        parse_text(r#""\xFF""#).is_err(),
        "expected text must be UTF-8"
    );
    let event = parse_event(r#"type="t" data="a\nb" last_event_id="""#).unwrap();
    assert_eq!(
        event,
        Event {
            event_type: "t".into(),
            data: "a\nb".into(),
            last_event_id: String::new()
        }
    );
    assert!(parse_event(r#"data="x" type="t" last_event_id="""#).is_err());
    assert_eq!(
        show_bytes(b"a\r\n\xFF\xEF\xBB\xBF"),
        r#""a\r\n\xFF\u{FEFF}""#
    );
}

#[test]
fn random_feedings_cover_every_byte_exactly_once() {
    let cases = parse_vectors(VECTORS);
    for (index, case) in cases.iter().enumerate() {
        for pattern in 0..RANDOM_SPLITS {
            let feeding = random_feeding(case, seed_for(index, pattern));
            for (i, bytes) in case.connections.iter().enumerate() {
                let joined: Vec<u8> = feeding.chunks(i, bytes).concat();
                assert_eq!(&joined, bytes, "{:?} pattern {pattern}", case.name);
            }
        }
    }
}
