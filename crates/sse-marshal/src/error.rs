//! The one error type of this crate.

use std::fmt;

use crate::BoxError;

/// What went wrong while parsing, marshalling or unmarshalling an event stream.
///
/// Opaque on purpose: ask what went wrong with the `is_*` predicates and reach
/// an underlying cause through [`source`](std::error::Error::source). The
/// [`Display`](fmt::Display) text is meant for people and its wording is not
/// stable.
pub struct Error {
    // Boxed so that `Result<T, Error>` stays pointer-sized on the happy path.
    inner: Box<Inner>,
}

struct Inner {
    kind: Kind,
    cause: Option<BoxError>,
}

#[derive(Debug)]
pub(crate) enum Kind {
    LineTooLong { limit: usize },
    EventTooLarge { limit: usize },
    Io,
    ContentType { found: Option<String> },
    Body,
    Status { status: http::StatusCode },
    Connector,
}

impl Error {
    pub(crate) fn new(kind: Kind) -> Self {
        Error {
            inner: Box::new(Inner { kind, cause: None }),
        }
    }

    pub(crate) fn with_cause(mut self, cause: impl Into<BoxError>) -> Self {
        self.inner.cause = Some(cause.into());
        self
    }

    pub(crate) fn line_too_long(limit: usize) -> Self {
        Error::new(Kind::LineTooLong { limit })
    }

    pub(crate) fn event_too_large(limit: usize) -> Self {
        Error::new(Kind::EventTooLarge { limit })
    }

    /// The response was not `text/event-stream`; `found` is the content type it
    /// had, if any.
    pub(crate) fn content_type(found: Option<String>) -> Self {
        Error::new(Kind::ContentType { found })
    }

    /// Reading the response body failed with `cause`.
    pub(crate) fn body(cause: BoxError) -> Self {
        Error::new(Kind::Body).with_cause(cause)
    }

    /// The server answered with a status that does not start an event
    /// stream.
    pub(crate) fn status(status: http::StatusCode) -> Self {
        Error::new(Kind::Status { status })
    }

    /// An error of a connector (a client that yields an
    /// [`EventSource`](crate::EventSource) of its own, such as
    /// `sse-connector`'s reconnecting one): its message is the cause's, and
    /// the cause is its [`source`](std::error::Error::source), where the
    /// connector's own error type can be found.
    pub fn from_connector(cause: impl Into<BoxError>) -> Self {
        Error::new(Kind::Connector).with_cause(cause)
    }

    /// An error of a connector; see [`from_connector`](Self::from_connector).
    pub fn is_connector(&self) -> bool {
        matches!(self.inner.kind, Kind::Connector)
    }

    /// A line was longer than the configured `max_line_size`.
    pub fn is_line_too_long(&self) -> bool {
        matches!(self.inner.kind, Kind::LineTooLong { .. })
    }

    /// An event's data grew beyond the configured `max_event_size`.
    pub fn is_event_too_large(&self) -> bool {
        matches!(self.inner.kind, Kind::EventTooLarge { .. })
    }

    /// A line or an event exceeded its limit.
    pub fn is_oversized(&self) -> bool {
        self.is_line_too_long() || self.is_event_too_large()
    }

    /// The response was not `text/event-stream`.
    pub fn is_content_type(&self) -> bool {
        matches!(self.inner.kind, Kind::ContentType { .. })
    }

    /// Reading the response body failed; the cause is the body's error.
    pub fn is_body(&self) -> bool {
        matches!(self.inner.kind, Kind::Body)
    }

    /// The response status was not one that starts an event stream; see
    /// [`status_code`](Self::status_code).
    pub fn is_status(&self) -> bool {
        matches!(self.inner.kind, Kind::Status { .. })
    }

    /// The offending status, for [`is_status`](Self::is_status) errors.
    pub fn status_code(&self) -> Option<http::StatusCode> {
        match self.inner.kind {
            Kind::Status { status } => Some(status),
            _ => None,
        }
    }

    /// Reading the underlying transport failed.
    pub fn is_io(&self) -> bool {
        matches!(self.inner.kind, Kind::Io)
    }
}

impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Self {
        Error::new(Kind::Io).with_cause(err)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.inner.kind);
        if let Some(cause) = &self.inner.cause {
            d.field("cause", cause);
        }
        d.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner.kind {
            Kind::LineTooLong { limit } => {
                write!(
                    f,
                    "event stream line longer than the limit of {limit} bytes \
                     (ServerSentEventSettings::with_max_line_size raises it)"
                )
            }
            Kind::EventTooLarge { limit } => {
                write!(
                    f,
                    "event data larger than the limit of {limit} bytes \
                     (ServerSentEventSettings::with_max_event_size raises it)"
                )
            }
            Kind::Io => f.write_str("reading the event stream failed"),
            Kind::ContentType { found: Some(found) } => {
                write!(
                    f,
                    "expected content type text/event-stream, found {found:?}"
                )
            }
            Kind::ContentType { found: None } => {
                f.write_str("expected content type text/event-stream, found none")
            }
            Kind::Body => f.write_str("reading the event stream body failed"),
            Kind::Status { status } => write!(f, "the server answered {status}"),
            Kind::Connector => match &self.inner.cause {
                Some(cause) => fmt::Display::fmt(cause, f),
                None => f.write_str("the connector failed"),
            },
        }
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
    fn error_is_send_sync_static() {
        fn assert_bounds<T: Send + Sync + 'static + std::error::Error>() {}
        assert_bounds::<Error>();
    }

    #[test]
    fn error_is_pointer_sized() {
        assert_eq!(std::mem::size_of::<Error>(), std::mem::size_of::<usize>());
        assert_eq!(
            std::mem::size_of::<Result<(), Error>>(),
            std::mem::size_of::<usize>()
        );
    }

    #[test]
    fn predicates_and_source() {
        let e = Error::line_too_long(10);
        assert!(e.is_line_too_long() && e.is_oversized() && !e.is_event_too_large());
        assert!(e.to_string().contains("10"));
        let e = Error::event_too_large(20);
        assert!(e.is_event_too_large() && e.is_oversized() && !e.is_io());
        let e = Error::from(std::io::Error::other("boom"));
        assert!(e.is_io() && !e.is_oversized());
        assert_eq!(std::error::Error::source(&e).unwrap().to_string(), "boom");
        let e = Error::content_type(Some("text/html".into()));
        assert!(e.is_content_type() && e.to_string().contains("text/html"));
        let e = Error::body("reset".into());
        assert!(e.is_body() && std::error::Error::source(&e).is_some());
        let e = Error::status(http::StatusCode::NOT_FOUND);
        assert!(e.is_status() && e.status_code() == Some(http::StatusCode::NOT_FOUND));
        let e = Error::from_connector("refused by 127.0.0.1:1");
        assert!(e.is_connector() && e.status_code().is_none());
        assert_eq!(e.to_string(), "refused by 127.0.0.1:1");
    }
}
