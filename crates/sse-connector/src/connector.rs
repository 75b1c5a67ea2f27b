//! The connector: configuration, and the stream it starts.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::Uri;
use sse_marshal::{EventSource, ServerSentEventSettings};
use sse_model::EventId;

use crate::lifecycle::Observer;
use crate::send::HyperSender;
use crate::session::Session;
use crate::{ConnectionEvent, ReconnectOptions, SendRequest};

/// Connects to an event stream and keeps it going: the Rust counterpart of
/// Alpakka's `EventSource(uri, send, initialLastEventId, retryDelay)`.
///
/// [`connect`](Self::connect) returns the same [`EventSource`] stream that
/// unmarshalling a response gives, but one that survives the connection: when
/// the stream ends or fails, the client reconnects and resumes with
/// `Last-Event-ID`, so no event is lost or repeated.
///
/// - Every request is a `GET` with `Accept: text/event-stream`,
///   `Cache-Control: no-cache` and, once an id is known, `Last-Event-ID` (never
///   an empty one). The id is the parser's last event id: an `id:` in any
///   finished block counts, and a bare `id` clears it.
/// - Between connections the client waits the server's latest `retry:`, or
///   the configured delay, backing off with jitter on failures in a row
///   ([`ReconnectOptions`]).
/// - `204 No Content` ends the stream for good. A `4xx`, a content type other
///   than `text/event-stream`, too many redirects or an oversized event end
///   it with an error; a `5xx` is retried (honouring `Retry-After`) unless
///   the options say otherwise. Redirects are followed, up to 10.
/// - An [idle timeout](Self::with_idle_timeout) treats a connection on which
///   nothing at all (not even a comment) arrives as dead.
/// - Dropping the stream closes the connection at once.
///
/// ```no_run
/// use futures_util::StreamExt;
/// use sse_connector::EventSourceConnector;
///
/// # async fn run() -> Result<(), sse_marshal::Error> {
/// let mut events = EventSourceConnector::new("http://127.0.0.1:8000/events".parse().unwrap())
///     .connect();
/// while let Some(event) = events.next().await {
///     println!("{}", event?.data());
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
#[must_use = "call `.connect()` to start the stream"]
pub struct EventSourceConnector {
    pub(crate) config: Config,
}

#[derive(Clone)]
pub(crate) struct Config {
    pub(crate) uri: Uri,
    pub(crate) sender: Arc<dyn SendRequest>,
    pub(crate) last_event_id: Option<EventId>,
    pub(crate) reconnect: ReconnectOptions,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) one_shot: bool,
    pub(crate) max_redirects: u32,
    pub(crate) settings: ServerSentEventSettings,
    pub(crate) observer: Option<Observer>,
}

impl EventSourceConnector {
    /// A connector for `uri` with the default sender (a plain-HTTP hyper-util
    /// client) and options.
    pub fn new(uri: Uri) -> Self {
        EventSourceConnector {
            config: Config {
                uri,
                sender: Arc::new(HyperSender::new()),
                last_event_id: None,
                reconnect: ReconnectOptions::default(),
                idle_timeout: None,
                one_shot: false,
                max_redirects: 10,
                settings: ServerSentEventSettings::default(),
                observer: None,
            },
        }
    }

    /// Sends requests with `sender` instead of the default client: for
    /// custom headers, another method or a body, TLS or a proxy.
    pub fn with_sender(mut self, sender: impl SendRequest) -> Self {
        self.config.sender = Arc::new(sender);
        self
    }

    /// Resumes after this id from the first request on, as Alpakka's
    /// `initialLastEventId`. An empty id sends no header.
    pub fn with_last_event_id(mut self, id: EventId) -> Self {
        self.config.last_event_id = Some(id);
        self
    }

    /// How to reconnect.
    pub fn with_reconnect(mut self, options: ReconnectOptions) -> Self {
        self.config.reconnect = options;
        self
    }

    /// Treats the connection as dead when nothing arrives for this long
    /// (events, comments and heartbeats all count), and also bounds the wait
    /// for the response headers. Off by default; set it a little above the
    /// server's heartbeat interval.
    pub fn with_idle_timeout(mut self, timeout: Duration) -> Self {
        self.config.idle_timeout = Some(timeout);
        self
    }

    /// In one-shot mode the stream ends cleanly when the server closes it,
    /// and any failure ends it with the error: no reconnection at all, for
    /// request/response style streams.
    pub fn one_shot(mut self) -> Self {
        self.config.one_shot = true;
        self
    }

    /// How many redirects one connection attempt follows (default 10).
    pub fn with_max_redirects(mut self, redirects: u32) -> Self {
        self.config.max_redirects = redirects;
        self
    }

    /// The parser's limits (default: 4096-byte lines, 8192-byte events).
    pub fn with_settings(mut self, settings: ServerSentEventSettings) -> Self {
        self.config.settings = settings;
        self
    }

    /// Calls `observer` at every step of the connection's life: connecting,
    /// open, ended, failed, retrying.
    pub fn with_observer(
        mut self,
        observer: impl Fn(&ConnectionEvent<'_>) + Send + Sync + 'static,
    ) -> Self {
        self.config.observer = Some(Observer::new(observer));
        self
    }

    /// Starts the stream. Nothing is sent until it is first polled.
    pub fn connect(self) -> EventSource {
        let session = Session::new(self.config);
        EventSource::new(futures_util::stream::unfold(
            session,
            |mut session| async move {
                let item = session.next().await?;
                Some((item, session))
            },
        ))
    }
}

impl fmt::Debug for EventSourceConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.config;
        f.debug_struct("EventSourceConnector")
            .field("uri", &c.uri)
            .field("last_event_id", &c.last_event_id)
            .field("reconnect", &c.reconnect)
            .field("idle_timeout", &c.idle_timeout)
            .field("one_shot", &c.one_shot)
            .field("max_redirects", &c.max_redirects)
            .field("settings", &c.settings)
            .finish_non_exhaustive()
    }
}
