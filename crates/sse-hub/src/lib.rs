//! A broadcast hub for Server-Sent Events with a bounded replay log: resume
//! from `Last-Event-ID` on the server side.
//!
//! Applications keep writing this by hand: a client that reconnects with
//! `Last-Event-ID` should get every event it missed, and a slow client must
//! not slow down or bloat everyone else. The [`Hub`] does both:
//!
//! - Publishers [`publish`](Hub::publish) events to named topics. Each event
//!   gets an increasing id (or keeps its own) and is encoded once; every
//!   subscriber is sent the same bytes ([`EncodedEvent`](sse_model::EncodedEvent)).
//! - Each topic keeps a replay log bounded by event count, bytes and age. A
//!   subscriber that comes with a `Last-Event-ID` gets the retained events
//!   after it, then live ones, with no gap and no duplicate at the seam. If
//!   its id was evicted or is unknown, it gets a [`RESYNC_EVENT_TYPE`] event,
//!   so the application can reload its state instead of silently missing
//!   events.
//! - Every subscriber may fall a bounded number of events behind. Past that,
//!   the [`LagPolicy`] disconnects it (its client resumes from its last id)
//!   or sends a [`GAP_EVENT_TYPE`] event. Publishing never waits, so one
//!   stalled client cannot delay the others, and memory stays bounded.
//! - The log is a trait, [`EventLog`]: storage only (append, read, tail).
//!   The embedded [`MemoryLog`] serves one server; `sse-hub-redis` (Redis
//!   Streams) and `sse-hub-nats` (NATS JetStream) let several servers share
//!   topics, so a client may resume on any of them. The hub does the
//!   fan-out: one tail per topic per node.
//! - [`Hub::shutdown`] ends every subscription, after a final event if you
//!   give one; [`Hub::metrics`] counts subscribers, events, bytes, evictions
//!   and lagging subscribers.
//!
//! Serving a topic is one line with `sse-routing`:
//!
//! ```
//! use std::time::Duration;
//! use sse_hub::Hub;
//! use sse_routing::{path, Route};
//!
//! fn app(hub: &Hub) -> Route {
//!     let chat = hub.subscriber("chat");
//!     path("events").get().handle(move |request| chat(request.last_event_id()))
//! }
//! # let _ = app(&Hub::new().with_keep_alive(Duration::from_secs(15)));
//! ```

mod error;
mod feed;
mod hub;
mod log;
mod memory_log;
mod metrics;
mod subscription;

pub use error::Error;
pub use hub::{Hub, LagPolicy, SubscribeFuture};
pub use log::{
    EventLog, Position, ReadFrom, Replay, ResyncReason, StoredEvent, TailRecord, TailStream,
};
pub use memory_log::{MemoryLog, MemoryLogOptions};
pub use metrics::TopicMetrics;
pub use subscription::{Subscription, GAP_EVENT_TYPE, RESYNC_EVENT_TYPE};
