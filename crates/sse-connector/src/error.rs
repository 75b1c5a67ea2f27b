//! The connector's own error: what a URL, a connection, TLS, a proxy or a
//! redirect did wrong.

use std::fmt;

use http::Uri;
use sse_marshal::BoxError;

/// Why a connection attempt failed, or a connector could not be built.
///
/// In the event stream it arrives inside an [`sse_marshal::Error`] (whose
/// message is this one's; [`Error::find`] gets it back). Opaque on purpose:
/// ask with the `is_*` predicates; the message says what happened and where,
/// and its wording is not stable.
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: Kind,
    /// The URL concerned, when there is one.
    url: Option<Uri>,
    cause: Option<BoxError>,
}

#[derive(Debug, Clone)]
pub(crate) enum Kind {
    InvalidUrl(String),
    UnsupportedScheme(String),
    InvalidHeader(String),
    InvalidCertificate(String),
    Connect,
    Tls,
    Proxy { status: Option<u16> },
    Timeout,
    TooManyRedirects(u32),
    RedirectWithoutLocation,
    RedirectToHttp { to: Uri },
}

impl Error {
    pub(crate) fn new(kind: Kind) -> Self {
        Error {
            inner: Box::new(Inner {
                kind,
                url: None,
                cause: None,
            }),
        }
    }

    pub(crate) fn with_url(mut self, url: &Uri) -> Self {
        self.inner.url = Some(url.clone());
        self
    }

    pub(crate) fn with_cause(mut self, cause: impl Into<BoxError>) -> Self {
        self.inner.cause = Some(cause.into());
        self
    }

    pub(crate) fn has_url(&self) -> bool {
        self.inner.url.is_some()
    }

    /// A copy of this error, to take out of a chain of errors it is buried
    /// in (a transport wraps the connector's errors in its own): the same
    /// kind and URL, and as cause the TLS layer's error when there is one,
    /// or the text of the causes.
    pub(crate) fn detach(&self) -> Error {
        let mut copy = Error::new(self.inner.kind.clone());
        copy.inner.url = self.inner.url.clone();
        let mut texts = Vec::new();
        let mut tls = None;
        let mut source = std::error::Error::source(self);
        while let Some(error) = source {
            if let Some(rustls) = error.downcast_ref::<tokio_rustls::rustls::Error>() {
                tls = Some(rustls.clone());
            }
            texts.push(error.to_string());
            source = error.source();
        }
        copy.inner.cause = match tls {
            Some(tls) => Some(Box::new(tls)),
            None if texts.is_empty() => None,
            None => Some(texts.join(": ").into()),
        };
        copy
    }

    /// The connector's error inside an event stream's error, if that is
    /// where it came from.
    ///
    /// ```
    /// use sse_connector::EventSourceConnector;
    ///
    /// let error = EventSourceConnector::new("ftp://example.com/events").unwrap_err();
    /// assert!(error.is_unsupported_scheme());
    /// let in_stream = sse_marshal::Error::from_connector(error);
    /// assert!(sse_connector::Error::find(&in_stream).unwrap().is_final());
    /// ```
    pub fn find(error: &sse_marshal::Error) -> Option<&Error> {
        let mut source = std::error::Error::source(error);
        while let Some(error) = source {
            if let Some(ours) = error.downcast_ref::<Error>() {
                return Some(ours);
            }
            source = error.source();
        }
        None
    }

    /// Whether the stream ends with this error rather than reconnecting:
    /// a bad URL or scheme, a certificate that is not trusted, a proxy that
    /// wants credentials, a redirect that cannot be followed.
    pub fn is_final(&self) -> bool {
        match &self.inner.kind {
            Kind::Connect | Kind::Timeout => false,
            // A proxy that is down or failing may come back; one that asks
            // for credentials or refuses the destination will not.
            Kind::Proxy { status } => status.is_some_and(|status| status < 500),
            _ => true,
        }
    }

    /// The URL could not be parsed, or has no host.
    pub fn is_invalid_url(&self) -> bool {
        matches!(self.inner.kind, Kind::InvalidUrl(_))
    }

    /// The URL's scheme is neither `http` nor `https`.
    pub fn is_unsupported_scheme(&self) -> bool {
        matches!(self.inner.kind, Kind::UnsupportedScheme(_))
    }

    /// A header name or value given to the connector is not valid HTTP.
    pub fn is_invalid_header(&self) -> bool {
        matches!(self.inner.kind, Kind::InvalidHeader(_))
    }

    /// A CA certificate given to the connector could not be read.
    pub fn is_invalid_certificate(&self) -> bool {
        matches!(self.inner.kind, Kind::InvalidCertificate(_))
    }

    /// The connection could not be made or broke before a response (refused,
    /// reset, name not found): retried.
    pub fn is_connect(&self) -> bool {
        matches!(self.inner.kind, Kind::Connect)
    }

    /// The TLS handshake failed: the server's certificate is not trusted or
    /// not for this host, or the two sides share no protocol. Final.
    pub fn is_tls(&self) -> bool {
        matches!(self.inner.kind, Kind::Tls)
    }

    /// The proxy could not be reached or refused the tunnel; see
    /// [`proxy_status`](Self::proxy_status).
    pub fn is_proxy(&self) -> bool {
        matches!(self.inner.kind, Kind::Proxy { .. })
    }

    /// The status the proxy refused a tunnel with (`407` wants credentials).
    pub fn proxy_status(&self) -> Option<u16> {
        match self.inner.kind {
            Kind::Proxy { status } => status,
            _ => None,
        }
    }

    /// Nothing arrived within the idle timeout: retried.
    pub fn is_timeout(&self) -> bool {
        matches!(self.inner.kind, Kind::Timeout)
    }

    /// A redirect could not be followed: too many, no `Location`, or from
    /// `https` to `http`. Final.
    pub fn is_redirect(&self) -> bool {
        matches!(
            self.inner.kind,
            Kind::TooManyRedirects(_) | Kind::RedirectWithoutLocation | Kind::RedirectToHttp { .. }
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner.kind {
            Kind::InvalidUrl(why) => write!(f, "invalid URL: {why}")?,
            Kind::UnsupportedScheme(scheme) => write!(
                f,
                "unsupported URL scheme {scheme:?}: an event stream is fetched over http or https"
            )?,
            Kind::InvalidHeader(why) => write!(f, "invalid header: {why}")?,
            Kind::InvalidCertificate(why) => write!(f, "invalid CA certificate: {why}")?,
            Kind::Connect => f.write_str("connecting failed")?,
            Kind::Tls => f.write_str("the TLS handshake failed")?,
            Kind::Proxy { status: Some(407) } => {
                f.write_str("the proxy requires authentication (407)")?
            }
            Kind::Proxy {
                status: Some(status),
            } => write!(f, "the proxy refused the tunnel with status {status}")?,
            Kind::Proxy { status: None } => f.write_str("the proxy failed")?,
            Kind::Timeout => {
                f.write_str("the event stream was silent for longer than the idle timeout")?
            }
            Kind::TooManyRedirects(max) => write!(f, "more than {max} redirects")?,
            Kind::RedirectWithoutLocation => f.write_str("a redirect without a usable Location")?,
            Kind::RedirectToHttp { to } => write!(
                f,
                "refusing a redirect from https to plain http ({to}): it would expose the stream"
            )?,
        }
        match &self.inner.url {
            // A connection's URL is only its scheme and authority.
            Some(url) if url.path() == "/" && url.query().is_none() => match url.authority() {
                Some(authority) => {
                    write!(f, " ({}://{authority})", url.scheme_str().unwrap_or("?"))?
                }
                None => write!(f, " ({url})")?,
            },
            Some(url) => write!(f, " ({url})")?,
            None => {}
        }
        // The cause says why, in the message itself: a reader of a log line
        // should not have to walk `source()`.
        let mut cause = self
            .inner
            .cause
            .as_deref()
            .map(|c| c as &dyn std::error::Error);
        while let Some(error) = cause {
            write!(f, ": {error}")?;
            cause = error.source();
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.inner.kind)
            .field("url", &self.inner.url)
            .field("cause", &self.inner.cause)
            .finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .cause
            .as_deref()
            .map(|cause| cause as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_is_send_sync_static_and_pointer_sized() {
        fn assert_bounds<T: Send + Sync + 'static + std::error::Error>() {}
        assert_bounds::<Error>();
        assert_eq!(std::mem::size_of::<Error>(), std::mem::size_of::<usize>());
    }

    #[test]
    fn the_message_names_the_url_and_every_cause() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let url: Uri = "http://127.0.0.1:1/events".parse().unwrap();
        let error = Error::new(Kind::Connect).with_url(&url).with_cause(io);
        assert_eq!(
            error.to_string(),
            "connecting failed (http://127.0.0.1:1/events): refused"
        );
        assert!(error.is_connect() && !error.is_final());
    }

    #[test]
    fn final_and_transient_kinds() {
        let finals = [
            Error::new(Kind::InvalidUrl("x".into())),
            Error::new(Kind::UnsupportedScheme("ftp".into())),
            Error::new(Kind::Tls),
            Error::new(Kind::Proxy { status: Some(407) }),
            Error::new(Kind::TooManyRedirects(10)),
            Error::new(Kind::RedirectToHttp {
                to: "http://a/".parse().unwrap(),
            }),
        ];
        assert!(finals.iter().all(Error::is_final));
        let transient = [
            Error::new(Kind::Connect),
            Error::new(Kind::Timeout),
            Error::new(Kind::Proxy { status: Some(502) }),
            Error::new(Kind::Proxy { status: None }),
        ];
        assert!(transient.iter().all(|e| !e.is_final()));
    }
}
