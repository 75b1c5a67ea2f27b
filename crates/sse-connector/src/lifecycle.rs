//! What the caller can see of the connection's life.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::{StatusCode, Uri};
use sse_marshal::Error;

/// A step in the life of the client's connection, for an observer set with
/// [`EventSourceConnector::with_observer`](crate::EventSourceConnector::with_observer).
/// The same steps are logged through `tracing`.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConnectionEvent<'a> {
    /// A request is about to be sent.
    Connecting {
        /// The URI requested (a redirect target after a redirect).
        uri: &'a Uri,
        /// The `Last-Event-ID` sent, if any.
        last_event_id: Option<&'a str>,
    },
    /// The server accepted: the event stream is open.
    Open {
        /// The URI that answered.
        uri: &'a Uri,
        /// Its status.
        status: StatusCode,
    },
    /// The server ended the stream cleanly, or answered `204 No Content`
    /// (after which the stream is over).
    Ended,
    /// The connection failed or was lost.
    Failed {
        /// What went wrong.
        error: &'a Error,
        /// Whether the client reconnects; if not, the stream ends with this
        /// error.
        retrying: bool,
    },
    /// The server sent a comment line: its text after the `:` (`""` for a
    /// heartbeat). For debugging and for watching heartbeats; comments are
    /// never events.
    Comment {
        /// The comment's text.
        text: &'a str,
    },
    /// The client waits before its next attempt.
    Retrying {
        /// How long it waits.
        delay: Duration,
        /// The number of attempts in a row without a healthy connection, this
        /// one included.
        attempt: u32,
    },
}

/// A shared observer callback.
#[derive(Clone)]
pub(crate) struct Observer(Arc<dyn Fn(&ConnectionEvent<'_>) + Send + Sync>);

impl Observer {
    pub(crate) fn new(f: impl Fn(&ConnectionEvent<'_>) + Send + Sync + 'static) -> Self {
        Observer(Arc::new(f))
    }

    pub(crate) fn notify(&self, event: &ConnectionEvent<'_>) {
        (self.0)(event)
    }
}

impl fmt::Debug for Observer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Observer(..)")
    }
}
