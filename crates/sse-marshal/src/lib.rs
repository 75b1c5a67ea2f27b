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
//! [`EventStreamEncoder`] is the matching [`tokio_util::codec::Encoder`]; it
//! writes what [`ServerSentEvent::encode`](sse_model::ServerSentEvent::encode)
//! writes.
//!
//! # Marshalling: events become a response
//!
//! [`ToResponse`] is the typeclass of values that become an HTTP response.
//! Through [`EventStreamMarshalling`], every `Stream` of events is one: the
//! response is `200 OK`, `text/event-stream`, `Cache-Control: no-cache`, and
//! its [`ResponseBody`] flushes each event as soon as it is ready.
//! [`EventStreamExt::keep_alive`] adds heartbeats to idle streams.
//!
//! ```
//! use std::time::Duration;
//! use futures_util::stream;
//! use sse_marshal::{EventStreamExt, ToResponse};
//! use sse_model::ServerSentEvent;
//!
//! let events = stream::iter(vec![ServerSentEvent::new("tick")])
//!     .keep_alive(Duration::from_secs(1), ServerSentEvent::heartbeat);
//! let response = events.to_response();
//! assert_eq!(response.headers()["content-type"], "text/event-stream");
//! ```
//!
//! In an axum handler, `events.to_response()` is already a response;
//! [`EventStream`] wraps a stream as a response type of its own, which with
//! feature `axum` is axum's `IntoResponse`.
//!
//! # Unmarshalling: a response becomes events
//!
//! [`FromEntity`] is the typeclass of values read from an entity, used as
//! `Unmarshal::new(response).to::<EventSource>()`. [`EventSource`] is a
//! `Stream` of `Result<ServerSentEvent, Error>`; the response must be
//! `text/event-stream`, and [`EventStreamUnmarshalling`] chooses the parser
//! settings.
//!
//! # Features
//!
//! - `axum` (off by default): [`EventStream`] is axum's `IntoResponse`,
//!   and `sse_model::LastEventId` an extractor (through `axum-core` only).

mod encoder;
mod error;
mod marshal;
mod parser;
mod settings;
mod unmarshal;

pub use encoder::EventStreamEncoder;
pub use error::Error;
pub use marshal::{
    EventStream, EventStreamBody, EventStreamExt, EventStreamItem, EventStreamMarshalling, Html,
    KeepAlive, ResponseBody, ResultMarker, ToResponse,
};
pub use parser::EventStreamParser;
pub use settings::{
    CommentCallback, OversizeCallback, OversizePolicy, Oversized, OversizedKind,
    ServerSentEventSettings,
};
pub use unmarshal::{
    EventReader, EventSource, EventStreamUnmarshalling, FromEntity, ResponseKind, Unmarshal,
};

/// A boxed error that can cross threads: the error type of response bodies.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;
