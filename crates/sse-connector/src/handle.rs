//! A handle that makes a running stream reconnect now.

use std::sync::Arc;

use tokio::sync::Notify;

/// Makes the stream of [`connect_with_handle`] drop its connection and
/// reconnect at once, resuming with `Last-Event-ID`: after rotating a
/// credential that [`with_request`] reads, for instance. It resumes after
/// the last event the caller has taken from the stream; whatever the old
/// connection had brought beyond it is dropped unread and sent again by the
/// server, so nothing is lost or delivered twice (for a server that resumes
/// by id). Cloneable; dropping it changes nothing.
///
/// [`connect_with_handle`]: crate::EventSourceConnector::connect_with_handle
/// [`with_request`]: crate::EventSourceConnector::with_request
#[derive(Debug, Clone)]
pub struct ReconnectHandle {
    requested: Arc<Notify>,
}

impl ReconnectHandle {
    pub(crate) fn new() -> Self {
        ReconnectHandle {
            requested: Arc::new(Notify::new()),
        }
    }

    /// Asks the stream to reconnect now. If it is connecting or waiting to,
    /// the next connection it opens is dropped and made again; several calls
    /// before it acts count as one.
    pub fn reconnect(&self) {
        self.requested.notify_one();
    }

    /// Completes when a reconnection has been asked for.
    pub(crate) async fn requested(&self) {
        self.requested.notified().await;
    }
}
