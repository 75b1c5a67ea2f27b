//! The parser benchmark's corpora and the parsers under test, shared by the
//! timed benchmark (`parser.rs`) and the allocation count (`allocations.rs`).
//!
//! Every corpus is generated here, and every parser reads it the way a
//! client reads a socket: in reads of a fixed size, each copied into the
//! parser's buffer (or handed over as a stream item).

// Each bench binary that includes this module uses a part of it.
#![allow(dead_code)]

use std::convert::Infallible;
use std::hint::black_box;
use std::io;
use std::pin::{pin, Pin};
use std::task::{Context, Poll, Waker};

use bytes::BytesMut;
use futures_util::Stream;
use sse_marshal::{EventStreamParser, ServerSentEventSettings};
use tokio_util::codec::Decoder;

use crate::common::json;

/// One corpus and how it is delivered.
pub(crate) struct Corpus {
    /// The criterion group name is `parse/<name>`.
    pub(crate) name: &'static str,
    pub(crate) what: &'static str,
    pub(crate) bytes: Vec<u8>,
    /// The size of each read.
    pub(crate) chunk: usize,
    /// What a correct parser finds.
    pub(crate) expect: Summary,
}

/// What a parse found: the check that every parser did the same work.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Summary {
    pub(crate) events: usize,
    pub(crate) data_bytes: usize,
}

impl Summary {
    fn add(&mut self, data_len: usize) {
        self.events += 1;
        self.data_bytes += data_len;
    }
}

/// Corpus (i), or (iii) with `eol = "\r\n"`: 100 000 events of `id`,
/// `event: tick` and one line of JSON data.
fn small_events(eol: &str) -> (Vec<u8>, Summary) {
    let mut out = String::new();
    let mut expect = Summary::default();
    for n in 0..100_000u64 {
        let data = json(n);
        out.push_str(&format!(
            "id: {n}{eol}event: tick{eol}data: {data}{eol}{eol}"
        ));
        expect.add(data.len());
    }
    (out.into_bytes(), expect)
}

/// Text without line breaks, varied enough that no parser gets a free ride.
fn text(len: usize, seed: usize) -> String {
    const ALPHABET: &[u8] =
        b"abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789 {}\":,.-_";
    (0..len)
        .map(|i| ALPHABET[(i * 7 + seed * 13 + i / 11) % ALPHABET.len()] as char)
        .collect()
}

/// Corpus (ii): 1000 events of 64 KiB data in 256 lines of 255 characters.
fn large_events() -> (Vec<u8>, Summary) {
    let mut out = String::new();
    let mut expect = Summary::default();
    for n in 0..1000usize {
        out.push_str(&format!("event: snapshot\nid: {n}\n"));
        let mut data_len = 0;
        for line in 0..256 {
            let value = text(255, n + line);
            out.push_str("data: ");
            out.push_str(&value);
            out.push('\n');
            data_len += value.len() + 1;
        }
        out.push('\n');
        expect.add(data_len - 1);
    }
    (out.into_bytes(), expect)
}

/// Corpus (v): one event whose data is a single 8 MiB line.
fn huge_event() -> (Vec<u8>, Summary) {
    let value = text(8 << 20, 0);
    let mut expect = Summary::default();
    expect.add(value.len());
    (format!("data: {value}\n\n").into_bytes(), expect)
}

/// The corpora whose name `wanted` accepts (generating all of them takes a
/// moment, which matters under valgrind).
pub(crate) fn corpora(wanted: impl Fn(&str) -> bool) -> Vec<Corpus> {
    type Make = fn() -> (Vec<u8>, Summary);
    let specs: [(&'static str, &'static str, usize, Make); 6] = [
        (
            "i-small",
            "(i) 100 000 small events, 64 KiB reads",
            64 << 10,
            || small_events("\n"),
        ),
        (
            "ii-large",
            "(ii) 1 000 events of 64 KiB multi-line data, 64 KiB reads",
            64 << 10,
            large_events,
        ),
        (
            "iii-crlf",
            "(iii) corpus (i) with CRLF, 64 KiB reads",
            64 << 10,
            || small_events("\r\n"),
        ),
        ("iv-7b-reads", "(iv) corpus (i) in 7-byte reads", 7, || {
            small_events("\n")
        }),
        (
            "iv-16k-reads",
            "(iv) corpus (i) in 16 KiB reads",
            16 << 10,
            || small_events("\n"),
        ),
        (
            "v-8mib-event",
            "(v) one 8 MiB event, 8 KiB reads",
            8 << 10,
            huge_event,
        ),
    ];
    specs
        .into_iter()
        .filter(|(name, ..)| wanted(name))
        .map(|(name, what, chunk, make)| {
            let (bytes, expect) = make();
            Corpus {
                name,
                what,
                bytes,
                chunk,
                expect,
            }
        })
        .collect()
}

/// Ours, without limits (none of the others has any).
fn ours(corpus: &[u8], chunk: usize) -> Summary {
    let mut parser = EventStreamParser::with_settings(ServerSentEventSettings::unlimited());
    let mut buf = BytesMut::new();
    let mut found = Summary::default();
    for read in corpus.chunks(chunk) {
        buf.extend_from_slice(read);
        while let Some(event) = parser.decode(&mut buf).expect("valid input") {
            found.add(black_box(event).data().len());
        }
    }
    while let Some(event) = parser.decode_eof(&mut buf).expect("valid input") {
        found.add(black_box(event).data().len());
    }
    found
}

/// sse-codec 0.3: a `futures_codec` decoder, driven like ours.
fn sse_codec(corpus: &[u8], chunk: usize) -> Summary {
    use futures_codec::Decoder as _;
    let mut codec = sse_codec::SSECodec::default();
    let mut buf = BytesMut::new();
    let mut found = Summary::default();
    let mut take = |event: sse_codec::Event| {
        if let sse_codec::Event::Message { data, .. } = black_box(event) {
            found.add(data.len());
        }
    };
    for read in corpus.chunks(chunk) {
        buf.extend_from_slice(read);
        while let Some(event) = codec.decode(&mut buf).expect("valid input") {
            take(event);
        }
    }
    while let Some(event) = codec.decode_eof(&mut buf).expect("valid input") {
        take(event);
    }
    found
}

/// Polls a stream that never waits (its input is all in memory) to the end.
fn drain<S: Stream>(stream: S, mut each: impl FnMut(S::Item)) {
    let mut stream = pin!(stream);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        match stream.as_mut().poll_next(&mut cx) {
            Poll::Ready(Some(item)) => each(item),
            Poll::Ready(None) => return,
            Poll::Pending => unreachable!("in-memory input never waits"),
        }
    }
}

/// eventsource-stream 0.2: a `Stream` adapter over a stream of byte chunks.
fn eventsource_stream(corpus: &[u8], chunk: usize) -> Summary {
    use eventsource_stream::Eventsource;
    let reads = futures_util::stream::iter(corpus.chunks(chunk).map(Ok::<_, Infallible>));
    let mut found = Summary::default();
    drain(reads.eventsource(), |event| {
        found.add(black_box(event.expect("valid input")).data.len())
    });
    found
}

/// A reader over memory that hands out `chunk` bytes per read.
struct ChunkedReader<'a> {
    data: &'a [u8],
    pos: usize,
    end: usize,
    chunk: usize,
}

impl futures_io::AsyncRead for ChunkedReader<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let available = match futures_io::AsyncBufRead::poll_fill_buf(self.as_mut(), cx) {
            Poll::Ready(Ok(available)) => available,
            other => return other.map_ok(|_| 0),
        };
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        futures_io::AsyncBufRead::consume(self, n);
        Poll::Ready(Ok(n))
    }
}

impl futures_io::AsyncBufRead for ChunkedReader<'_> {
    fn poll_fill_buf(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let this = self.get_mut();
        if this.pos == this.end {
            this.end = (this.pos + this.chunk).min(this.data.len());
        }
        Poll::Ready(Ok(&this.data[this.pos..this.end]))
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        self.get_mut().pos += amt;
    }
}

/// async-sse 5: a `Stream` over an `AsyncBufRead`.
fn async_sse(corpus: &[u8], chunk: usize) -> Summary {
    let reader = ChunkedReader {
        data: corpus,
        pos: 0,
        end: 0,
        chunk,
    };
    let mut found = Summary::default();
    drain(async_sse::decode(reader), |event| {
        if let async_sse::Event::Message(message) = black_box(event.expect("valid input")) {
            found.add(message.data().len());
        }
    });
    found
}

pub(crate) type Parser = fn(&[u8], usize) -> Summary;

pub(crate) const PARSERS: &[(&str, Parser)] = &[
    ("ours", ours),
    ("eventsource-stream", eventsource_stream),
    ("sse-codec", sse_codec),
    ("async-sse", async_sse),
];

/// The limits measured over the same bytes, beside the parsers: counting
/// line feeds, copying the corpus, and the read loop alone (each read copied
/// into a buffer, as the parsers above get their input).
pub(crate) const LIMITS: &[&str] = &["limit-memchr-newlines", "limit-memcpy", "limit-reads"];

/// Whether corpus `corpus` has a benchmark whose name contains `filter`.
pub(crate) fn corpus_selected(filter: &Option<String>, corpus: &str) -> bool {
    let Some(filter) = filter else {
        return true;
    };
    PARSERS
        .iter()
        .map(|(parser, _)| *parser)
        .chain(LIMITS.iter().copied())
        .any(|bench| format!("parse/{corpus}/{bench}").contains(filter.as_str()))
}
