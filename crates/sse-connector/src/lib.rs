//! A reconnecting Server-Sent Events client: Alpakka's `EventSource`
//! connector, done right.
//!
//! [`EventSourceConnector::connect`] yields the same
//! [`EventSource`](sse_marshal::EventSource) stream that unmarshalling one
//! response gives, but it outlives connections: it resumes with
//! `Last-Event-ID` after every reconnection, waits what the server's `retry:`
//! asks, backs off with jitter when the server is down, stops for good on
//! `204 No Content`, tells retryable failures (`5xx`, lost connections,
//! silence past the idle timeout) from final ones (`4xx`, a wrong content
//! type, an untrusted certificate), and follows redirects without taking
//! credentials to another origin.
//!
//! It fetches `http` and `https` URLs itself: rustls with the Mozilla roots
//! (and any CA you add), HTTP/2 where the server offers it, proxies from
//! `HTTP_PROXY` / `HTTPS_PROXY` / `NO_PROXY` or set here.
//!
//! Where Alpakka's connector falls short, this one does not: it checks the
//! status and the content type, honours `retry:`, backs off instead of
//! looping, and treats `204` as the end rather than as a reason to reconnect.
//!
//! ```no_run
//! use std::time::Duration;
//! use futures_util::StreamExt;
//! use sse_connector::{ConnectionEvent, EventSourceConnector, ReconnectOptions};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let mut events = EventSourceConnector::new("http://127.0.0.1:8000/events")?
//!     .with_reconnect(ReconnectOptions::default().with_max_delay(Duration::from_secs(60)))
//!     .with_idle_timeout(Duration::from_secs(5))
//!     .with_observer(|step: &ConnectionEvent<'_>| eprintln!("{step:?}"))
//!     .connect();
//! while let Some(event) = events.next().await {
//!     let event = event?; // only final errors arrive here
//!     println!("{:?} {}", event.id(), event.data());
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Transient failures never appear in the stream: they are reported to the
//! observer and through `tracing`, and the client reconnects. The stream
//! yields an error only when it ends because of it; its message says why,
//! and [`Error::find`] gets the connector's own error out of it.

mod connector;
mod error;
mod handle;
mod lifecycle;
mod reconnect;
mod redirect;
mod send;
mod session;
mod transport;

pub use connector::EventSourceConnector;
pub use error::Error;
pub use handle::ReconnectHandle;
pub use lifecycle::ConnectionEvent;
pub use reconnect::ReconnectOptions;
pub use send::{ClientBody, SendFuture, SendRequest};
/// The rustls crate this one is built with, for
/// [`EventSourceConnector::with_tls_config`].
pub use tokio_rustls::rustls;
