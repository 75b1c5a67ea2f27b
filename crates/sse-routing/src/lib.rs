//! A small route DSL on hyper 1.x for serving Server-Sent Events, in the
//! spirit of Akka HTTP's routing directives.
//!
//! ```
//! use std::time::Duration;
//! use futures_util::stream;
//! use sse_marshal::EventStreamExt;
//! use sse_model::ServerSentEvent;
//! use sse_routing::{path, Route};
//!
//! fn app() -> Route {
//!     let events = || {
//!         stream::iter(vec![ServerSentEvent::new("hello"), ServerSentEvent::new("world")])
//!             .keep_alive(Duration::from_secs(1), ServerSentEvent::heartbeat)
//!     };
//!     path("events").get().complete(events)
//!         .or(path("").get().complete("see /events"))
//! }
//! # let _ = app();
//! ```
//!
//! - [`path`] and [`path_prefix`] start a route; a method (`get()`,
//!   `post()`, …) and a completion finish it. [`MethodRoute::complete`] takes
//!   a factory or a cloneable value and serves a fresh response to every
//!   request; [`MethodRoute::complete_with`] and [`MethodRoute::handle`] see
//!   the [`RequestContext`], with the client's `Last-Event-ID`.
//! - Anything [`ToResponse`](sse_marshal::ToResponse) completes a route: a
//!   `Stream` of events becomes a `text/event-stream` response.
//! - [`Route::or`] combines routes; unmatched paths get `404`, a wrong method
//!   `405` with `Allow`, and `HEAD` is answered for `GET` routes.
//! - [`Server`] runs a route on a `tokio::net::TcpListener` over HTTP/1.1
//!   and cleartext HTTP/2, bounded by a [`ServerConfig`] (timeouts for idle,
//!   silent and slow clients, head limits, a connection limit);
//!   [`serve`] and [`serve_with_shutdown`] do so with the defaults.
//!   Shutdown ends open event streams, and a client that goes away has its
//!   stream's source dropped.
//!
//! # Inside the server
//!
//! The accept loop (`server`) hands each connection to `connection`, which
//! gives it to the direct HTTP/1.1 path (`direct_http1`: request heads read
//! and responses written on the socket itself, no buffer held while an event
//! stream is open) and, for what that path does not answer (bodies,
//! upgrades, HTTP/2), to hyper (`hyper_handoff`). Both paths answer through
//! the same [`Route`].

mod completion;
mod config;
mod connection;
mod direct_http1;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod host;
mod hyper_handoff;
mod path;
mod request;
mod route;
mod server;
mod service;
#[cfg(feature = "tls")]
mod tls;
mod until_shutdown;

pub use completion::Completion;
pub use config::ServerConfig;
pub use request::{RequestBody, RequestContext};
pub use route::{path, path_prefix, MethodRoute, PathRoute, Route};
pub use server::{serve, serve_with_shutdown, Server};
pub use service::RouteFuture;
#[cfg(feature = "tls")]
pub use tls::{TlsConfig, TlsError};
/// The rustls crate this one is built with, for [`TlsConfig::from_rustls`]
/// (feature `tls`).
#[cfg(feature = "tls")]
pub use tokio_rustls::rustls;
