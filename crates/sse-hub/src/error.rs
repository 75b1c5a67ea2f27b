//! The one error type of this crate.

use std::fmt;

use sse_marshal::BoxError;

/// Why publishing or subscribing failed.
///
/// Opaque on purpose: ask with the `is_*` predicates. The
/// [`Display`](fmt::Display) text is meant for people and its wording is not
/// stable.
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: Kind,
    cause: Option<BoxError>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    DuplicateId(String),
    Closed,
    Log,
    Unavailable,
    PublisherId(String),
}

impl Error {
    fn new(kind: Kind, cause: Option<BoxError>) -> Self {
        Error {
            inner: Box::new(Inner { kind, cause }),
        }
    }

    pub(crate) fn duplicate_id(id: &str) -> Self {
        Error::new(Kind::DuplicateId(id.to_owned()), None)
    }

    pub(crate) fn closed() -> Self {
        Error::new(Kind::Closed, None)
    }

    /// A storage failure of an [`EventLog`](crate::EventLog) implementation,
    /// for logs other than the built-in one.
    pub fn log(cause: impl Into<BoxError>) -> Self {
        Error::new(Kind::Log, Some(cause.into()))
    }

    /// The log's broker cannot be reached (down, or not answering in time),
    /// for logs other than the built-in one. Publishing fails fast with it
    /// while the broker is away; a server answers `503`.
    pub fn unavailable(cause: impl Into<BoxError>) -> Self {
        Error::new(Kind::Unavailable, Some(cause.into()))
    }

    /// A shared log refuses an event that carries its own id: it assigns
    /// every id itself (checking a publisher's for uniqueness would need a
    /// read before every write).
    pub fn publisher_id(id: &str) -> Self {
        Error::new(Kind::PublisherId(id.to_owned()), None)
    }

    /// The log's broker cannot be reached; see
    /// [`unavailable`](Self::unavailable).
    pub fn is_unavailable(&self) -> bool {
        self.inner.kind == Kind::Unavailable
    }

    /// A shared log refused an event with its own id; see
    /// [`publisher_id`](Self::publisher_id).
    pub fn is_publisher_id(&self) -> bool {
        matches!(self.inner.kind, Kind::PublisherId(_))
    }

    /// The publisher gave an id that an event still in the log already has.
    pub fn is_duplicate_id(&self) -> bool {
        matches!(self.inner.kind, Kind::DuplicateId(_))
    }

    /// The hub has been shut down.
    pub fn is_closed(&self) -> bool {
        self.inner.kind == Kind::Closed
    }

    /// The event log failed; the cause is its error.
    pub fn is_log(&self) -> bool {
        self.inner.kind == Kind::Log
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.inner.kind)
            .field("cause", &self.inner.cause)
            .finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner.kind {
            Kind::DuplicateId(id) => write!(f, "an event with id {id:?} is already in the log"),
            Kind::Closed => f.write_str("the hub is shut down"),
            Kind::Log => f.write_str("the event log failed"),
            Kind::Unavailable => f.write_str("the event log's broker is unavailable"),
            Kind::PublisherId(id) => write!(
                f,
                "a shared log assigns every id itself: the event's own id {id:?} is refused"
            ),
        }?;
        // The cause in the message: a log line should say why.
        if let Some(cause) = &self.inner.cause {
            write!(f, ": {cause}")?;
        }
        Ok(())
    }
}

impl sse_marshal::ToResponse for Error {
    /// `503 Service Unavailable` once the hub is shut down or its log's
    /// broker is unavailable (clients retry, perhaps elsewhere), `400 Bad
    /// Request` for an event a shared log refuses, `500 Internal Server
    /// Error` otherwise.
    fn to_response(self) -> http::Response<sse_marshal::ResponseBody> {
        let status = if self.is_closed() || self.is_unavailable() {
            http::StatusCode::SERVICE_UNAVAILABLE
        } else if self.is_publisher_id() {
            http::StatusCode::BAD_REQUEST
        } else {
            http::StatusCode::INTERNAL_SERVER_ERROR
        };
        (status, self.to_string()).to_response()
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
    fn predicates() {
        assert!(Error::duplicate_id("7").is_duplicate_id());
        assert!(Error::closed().is_closed());
        let e = Error::log("disk full");
        assert!(e.is_log() && std::error::Error::source(&e).is_some());
        assert!(Error::duplicate_id("7").to_string().contains("\"7\""));
        let e = Error::unavailable("connection refused");
        assert!(e.is_unavailable() && e.to_string().ends_with(": connection refused"));
        assert!(Error::publisher_id("x").is_publisher_id());
    }
}
