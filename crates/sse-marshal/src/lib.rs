//! Marshalling for Server-Sent Events: the spec-exact incremental parser and
//! the encoder, and the typeclasses that turn event streams into HTTP
//! responses and back.
//!
//! # Parsing
//!
//! [`EventStreamParser`] turns `text/event-stream` bytes into
//! [`ServerSentEvent`](sse_model::ServerSentEvent)s. It is sans-IO and
//! implements [`tokio_util::codec::Decoder`], so it works on any buffer and
//! under `FramedRead`:
//!
//! ```
//! use bytes::BytesMut;
//! use sse_marshal::EventStreamParser;
//! use tokio_util::codec::Decoder;
//!
//! let mut parser = EventStreamParser::new();
//! let mut buf = BytesMut::from(&b"event: tick\ndata: 1\r\n\r\ndata: 2\n"[..]);
//! let first = parser.decode(&mut buf)?.expect("one event");
//! assert_eq!((first.event_type(), first.data()), (Some("tick"), "1"));
//! // The second block never ends: at the end of the stream it is discarded.
//! assert!(parser.decode_eof(&mut buf)?.is_none());
//! # Ok::<(), sse_marshal::Error>(())
//! ```
//!
//! [`ServerSentEventSettings`] bounds what the parser holds (lines of 4096
//! bytes and events of 8192 bytes by default) and says what happens to input
//! beyond the limits ([`OversizePolicy`]).
//!
//! # Encoding
//!
//! [`EventStreamEncoder`] is the matching
//! [`tokio_util::codec::Encoder`]; it writes what
//! [`ServerSentEvent::encode`](sse_model::ServerSentEvent::encode) writes.

mod encoder;
mod error;
mod parser;
mod settings;

pub use encoder::EventStreamEncoder;
pub use error::Error;
pub use parser::EventStreamParser;
pub use settings::{
    OversizeCallback, OversizePolicy, Oversized, OversizedKind, ServerSentEventSettings,
};
