//! The connector: configuration, and the stream it starts.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::header::{HeaderName, HeaderValue, AUTHORIZATION};
use http::{HeaderMap, Request, Uri};
use sse_marshal::{EventSource, ServerSentEventSettings};
use sse_model::EventId;

use crate::error::{Error, Kind};
use crate::handle::ReconnectHandle;
use crate::lifecycle::Observer;
use crate::session::Session;
use crate::transport::{ProxySettings, TlsSettings};
use crate::{ConnectionEvent, ReconnectOptions, SendRequest};

/// Connects to an event stream and keeps it going: the Rust counterpart of
/// Alpakka's `EventSource(uri, send, initialLastEventId, retryDelay)`.
///
/// [`connect`](Self::connect) returns the same [`EventSource`] stream that
/// unmarshalling a response gives, but one that survives the connection: when
/// the stream ends or fails, the client reconnects and resumes with
/// `Last-Event-ID`, so no event is lost or repeated.
///
/// - `http` and `https` URLs; HTTPS with rustls and the Mozilla roots
///   (`webpki-roots`), plus any CA you add; an HTTPS server that offers
///   HTTP/2 gets it. Proxies from `HTTP_PROXY` / `HTTPS_PROXY` / `NO_PROXY`
///   (either case) unless set or turned off here; `https` goes through a
///   proxy by `CONNECT`.
/// - Every request is a `GET` with `Accept: text/event-stream`,
///   `Cache-Control: no-cache`, your headers and, once an id is known,
///   `Last-Event-ID` (never an empty one).
/// - Redirects are followed, up to 10. When one leaves the origin (scheme,
///   host or port), `Authorization`, `Cookie`, `Proxy-Authorization` and
///   every header marked [sensitive](Self::with_sensitive_header) are
///   dropped from then on; a redirect from `https` to `http` is refused.
/// - Between connections the client waits the server's latest `retry:`, or
///   the configured delay, backing off with jitter on failures in a row
///   ([`ReconnectOptions`]).
/// - `204 No Content` ends the stream for good. Final errors end it at once
///   and say why: an unsupported scheme, an untrusted certificate, a `4xx`,
///   a content type other than `text/event-stream`, a redirect that cannot
///   be followed, an oversized event. Transient ones (a refused or reset
///   connection, a `5xx`, silence past the idle timeout) are retried.
/// - Dropping the stream closes the connection at once.
///
/// ```no_run
/// use futures_util::StreamExt;
/// use sse_connector::EventSourceConnector;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let mut events = EventSourceConnector::new("https://example.com/events")?
///     .with_bearer_auth("secret")?
///     .with_header("x-client", "demo")?
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

/// A function that adjusts the request of every connection attempt.
pub(crate) type Customize = Arc<dyn Fn(&mut Request<()>) + Send + Sync>;

#[derive(Clone)]
pub(crate) struct Config {
    pub(crate) url: Uri,
    /// `None`: the default transport, built from `tls` and `proxy`.
    pub(crate) sender: Option<Arc<dyn SendRequest>>,
    pub(crate) tls: TlsSettings,
    pub(crate) proxy: ProxySettings,
    pub(crate) headers: HeaderMap,
    /// Dropped on a redirect that leaves the origin, with the usual ones.
    pub(crate) sensitive: Vec<HeaderName>,
    pub(crate) customize: Option<Customize>,
    pub(crate) last_event_id: Option<EventId>,
    pub(crate) reconnect: ReconnectOptions,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) one_shot: bool,
    pub(crate) max_redirects: u32,
    pub(crate) settings: ServerSentEventSettings,
    pub(crate) observer: Option<Observer>,
}

impl EventSourceConnector {
    /// The default limit on a line and on an event's data, in bytes.
    pub const MAX_EVENT_SIZE: usize = 32 * 1024 * 1024;

    /// A connector for `url` (a `&str`, `String` or [`Uri`]) with the
    /// default transport and options. Refuses a URL that does not parse,
    /// has no host, or whose scheme is not `http` or `https`.
    pub fn new<U>(url: U) -> Result<Self, Error>
    where
        U: TryInto<Uri>,
        U::Error: fmt::Display,
    {
        let url = url
            .try_into()
            .map_err(|error| Error::new(Kind::InvalidUrl(error.to_string())))?;
        check_url(&url)?;
        Ok(EventSourceConnector {
            config: Config {
                url,
                sender: None,
                tls: TlsSettings::default(),
                proxy: ProxySettings::default(),
                headers: HeaderMap::new(),
                sensitive: Vec::new(),
                customize: None,
                last_event_id: None,
                reconnect: ReconnectOptions::default(),
                idle_timeout: None,
                one_shot: false,
                max_redirects: 10,
                settings: default_settings(),
                observer: None,
            },
        })
    }

    /// Sends `name: value` with every request (appended, so a name may
    /// repeat). `Authorization`, `Cookie` and `Proxy-Authorization` are
    /// dropped when a redirect leaves the origin; mark others with
    /// [`with_sensitive_header`](Self::with_sensitive_header).
    pub fn with_header<N, V>(mut self, name: N, value: V) -> Result<Self, Error>
    where
        N: TryInto<HeaderName>,
        N::Error: fmt::Display,
        V: TryInto<HeaderValue>,
        V::Error: fmt::Display,
    {
        let name = name
            .try_into()
            .map_err(|error| Error::new(Kind::InvalidHeader(error.to_string())))?;
        let value = value
            .try_into()
            .map_err(|error| Error::new(Kind::InvalidHeader(format!("{name}: {error}"))))?;
        self.config.headers.append(name, value);
        Ok(self)
    }

    /// Sends `Authorization: Bearer <token>` with every request to the
    /// origin of the URL (never across a redirect to another origin).
    pub fn with_bearer_auth(self, token: impl fmt::Display) -> Result<Self, Error> {
        let mut value = HeaderValue::try_from(format!("Bearer {token}"))
            .map_err(|error| Error::new(Kind::InvalidHeader(format!("authorization: {error}"))))?;
        value.set_sensitive(true);
        let mut this = self;
        this.config.headers.insert(AUTHORIZATION, value);
        Ok(this)
    }

    /// Treats the header `name` as a credential: it is dropped, like
    /// `Authorization`, when a redirect leaves the origin.
    pub fn with_sensitive_header(mut self, name: HeaderName) -> Self {
        self.config.sensitive.push(name);
        self
    }

    /// Adjusts the request of every connection attempt (once per attempt,
    /// before its first redirect): headers that change between attempts,
    /// such as a fresh token. What it sets is subject to the redirect rules
    /// above, like [`with_header`](Self::with_header)'s headers.
    pub fn with_request(
        mut self,
        customize: impl Fn(&mut Request<()>) + Send + Sync + 'static,
    ) -> Self {
        self.config.customize = Some(Arc::new(customize));
        self
    }

    /// Sends requests with `sender` instead of the default transport (TLS,
    /// proxies and the settings for them are then the sender's). It gets
    /// every request of every redirect, after the connector has dropped the
    /// credentials that must not leave the origin: a sender adds no
    /// credentials of its own (use [`with_header`](Self::with_header) or
    /// [`with_request`](Self::with_request) for them).
    pub fn with_sender(mut self, sender: impl SendRequest) -> Self {
        self.config.sender = Some(Arc::new(sender));
        self
    }

    /// Trusts the CA certificates of this PEM text too, besides the Mozilla
    /// roots: for a server with a private CA or a self-signed certificate.
    pub fn with_root_certificates_pem(mut self, pem: &[u8]) -> Result<Self, Error> {
        self.config.tls = self.config.tls.add_pem(pem)?;
        Ok(self)
    }

    /// Uses this rustls configuration for HTTPS (its roots, client
    /// certificates, provider). If it offers no ALPN protocol, `h2` and
    /// `http/1.1` are offered.
    pub fn with_tls_config(mut self, config: Arc<tokio_rustls::rustls::ClientConfig>) -> Self {
        self.config.tls = TlsSettings::Custom(config);
        self
    }

    /// Goes through this proxy (`http://[user:password@]host:port`) for
    /// every URL, whatever the environment says: `http` forwarded by it,
    /// `https` through `CONNECT`.
    pub fn with_proxy<U>(mut self, proxy: U) -> Result<Self, Error>
    where
        U: TryInto<Uri>,
        U::Error: fmt::Display,
    {
        let proxy = proxy
            .try_into()
            .map_err(|error| Error::new(Kind::InvalidUrl(format!("proxy: {error}"))))?;
        if proxy.scheme() != Some(&http::uri::Scheme::HTTP) || proxy.host().is_none() {
            return Err(Error::new(Kind::InvalidUrl(format!(
                "proxy {proxy}: write http://host:port"
            ))));
        }
        self.config.proxy = ProxySettings::Url(proxy);
        Ok(self)
    }

    /// Ignores the proxy environment variables: connect directly.
    pub fn without_proxy(mut self) -> Self {
        self.config.proxy = ProxySettings::Off;
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

    /// The parser's limits. The default accepts lines and events of up to
    /// [`MAX_EVENT_SIZE`](Self::MAX_EVENT_SIZE) (32 MiB: LLM answers and
    /// base64 images arrive whole) and fails the stream beyond, which bounds
    /// the memory a server can make the client hold; an unmarshaller's
    /// defaults are Akka's 4096-byte lines and 8192-byte events.
    pub fn with_settings(mut self, settings: ServerSentEventSettings) -> Self {
        self.config.settings = settings;
        self
    }

    /// Calls `observer` at every step of the connection's life: connecting,
    /// open, ended, failed, retrying, and every comment line the server
    /// sends (heartbeats included), which never appear as events.
    pub fn with_observer(
        mut self,
        observer: impl Fn(&ConnectionEvent<'_>) + Send + Sync + 'static,
    ) -> Self {
        self.config.observer = Some(Observer::new(observer));
        self
    }

    /// The URL the stream starts from.
    pub fn url(&self) -> &Uri {
        &self.config.url
    }

    /// Starts the stream. Nothing is sent until it is first polled.
    pub fn connect(self) -> EventSource {
        self.connect_with_handle().0
    }

    /// Starts the stream, with a handle that can make it reconnect at once
    /// (after rotating credentials, say); see [`ReconnectHandle`].
    pub fn connect_with_handle(self) -> (EventSource, ReconnectHandle) {
        let handle = ReconnectHandle::new();
        let session = Session::new(self.config, handle.clone());
        let events = EventSource::new(futures_util::stream::unfold(
            session,
            |mut session| async move {
                let item = session.next().await?;
                Some((item, session))
            },
        ));
        (events, handle)
    }
}

/// The connector's parser settings: as the unmarshaller's, with limits for
/// large events.
fn default_settings() -> ServerSentEventSettings {
    ServerSentEventSettings::default()
        .with_max_line_size(EventSourceConnector::MAX_EVENT_SIZE)
        .with_max_event_size(EventSourceConnector::MAX_EVENT_SIZE)
}

/// An event stream URL: `http` or `https`, with a host.
fn check_url(url: &Uri) -> Result<(), Error> {
    match url.scheme_str() {
        Some("http" | "https") => {}
        Some(other) => return Err(Error::new(Kind::UnsupportedScheme(other.to_owned()))),
        None => {
            return Err(Error::new(Kind::InvalidUrl(format!(
                "{url:?} has no scheme: write http:// or https://"
            ))))
        }
    }
    match url.host() {
        Some(host) if !host.is_empty() => Ok(()),
        _ => Err(Error::new(Kind::InvalidUrl(format!("{url} has no host")))),
    }
}

impl fmt::Debug for EventSourceConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.config;
        f.debug_struct("EventSourceConnector")
            .field("url", &c.url)
            .field("headers", &c.headers.keys().collect::<Vec<_>>())
            .field("proxy", &c.proxy)
            .field("last_event_id", &c.last_event_id)
            .field("reconnect", &c.reconnect)
            .field("idle_timeout", &c.idle_timeout)
            .field("one_shot", &c.one_shot)
            .field("max_redirects", &c.max_redirects)
            .field("settings", &c.settings)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_when_the_connector_is_made() {
        assert!(EventSourceConnector::new("http://127.0.0.1:8000/events").is_ok());
        assert!(EventSourceConnector::new(String::from("https://example.com/")).is_ok());
        let uri: Uri = "https://example.com/e".parse().unwrap();
        assert!(EventSourceConnector::new(uri).is_ok());
        for (url, scheme) in [
            ("ftp://example.com/", true),
            ("ws://example.com/", true),
            ("/events", false),
            ("http://", false),
            ("not a url", false),
        ] {
            let error = EventSourceConnector::new(url).unwrap_err();
            assert_eq!(error.is_unsupported_scheme(), scheme, "{url}: {error}");
            assert!(error.is_final());
            assert!(
                error.is_unsupported_scheme() || error.is_invalid_url(),
                "{url}"
            );
        }
    }

    #[test]
    fn headers_are_checked_and_the_token_is_sensitive() {
        let connector = EventSourceConnector::new("http://a/")
            .unwrap()
            .with_header("x-a", "1")
            .unwrap()
            .with_bearer_auth("t0k")
            .unwrap();
        assert_eq!(connector.config.headers["x-a"], "1");
        assert!(connector.config.headers[AUTHORIZATION].is_sensitive());
        assert!(format!("{connector:?}").contains("authorization"));
        assert!(!format!("{connector:?}").contains("t0k"));
        let bad = EventSourceConnector::new("http://a/")
            .unwrap()
            .with_header("x a", "1")
            .unwrap_err();
        assert!(bad.is_invalid_header());
        let bad = EventSourceConnector::new("http://a/")
            .unwrap()
            .with_header("x-a", "line\nbreak")
            .unwrap_err();
        assert!(bad.is_invalid_header());
    }
}
