//! The model of Server-Sent Events: what an event is, how it looks on the
//! wire, and the two HTTP names that go with it.
//!
//! A server sends a stream of [`ServerSentEvent`]s as one long HTTP response
//! of media type [`TEXT_EVENT_STREAM`]. Each event carries text data and,
//! optionally, a type, an id and a reconnection time. When a client
//! reconnects it sends the id of the last event it saw in the
//! [`LastEventId`] header, so the server can resume after it.
//!
//! This crate is the bottom layer of the toolkit and depends on no async
//! runtime and no HTTP implementation (only the `http` types for header names
//! and values). Depend on it alone when all you need are the types, for
//! example to build events in a library that does not serve them itself.
//!
//! # Encoding
//!
//! [`ServerSentEvent::encode`] writes the exact bytes of one event block, in
//! Akka HTTP's field order. The event type and id are validated values
//! ([`EventType`], [`EventId`]): a value with a line break is refused when it
//! is built, so encoding cannot fail and no field can inject another.
//!
//! ```
//! use sse_model::{EventType, ServerSentEvent};
//!
//! let event = ServerSentEvent::new("hello\nworld")
//!     .with_event_type(EventType::from_static("greeting"))
//!     .with_id(1);
//! assert_eq!(
//!     &event.encode()[..],
//!     b"data:hello\ndata:world\nevent:greeting\nid:1\n\n"
//! );
//!
//! // Values from outside the program are checked, never trusted:
//! let from_user = "chat\ndata: injected";
//! assert!(EventType::new(from_user).is_err());
//! ```
//!
//! # Features
//!
//! - `axum` (off by default): `LastEventId` and `Option<LastEventId>` as
//!   axum extractors, through `axum-core` only.
//!
//! # Difference from Akka HTTP
//!
//! [`ServerSentEvent::heartbeat`] encodes as the comment `:\n\n`, which
//! clients never dispatch. Akka's heartbeat is an event with empty data
//! (`data:\n\n`), which browsers deliver to `onmessage` as an empty message.

#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "axum")]
mod axum;
mod encode;
mod encoded;
mod error;
mod event;
mod field;
mod last_event_id;
mod media_type;
mod text;

pub use encode::HEARTBEAT_BYTES;
pub use encoded::EncodedEvent;
pub use error::Error;
pub use event::ServerSentEvent;
pub use field::{EventId, EventType};
pub use last_event_id::LastEventId;
pub use media_type::{is_event_stream, TEXT_EVENT_STREAM};
