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
        }
    }
}

impl sse_marshal::ToResponse for Error {
    /// `503 Service Unavailable` once the hub is shut down (clients retry,
    /// perhaps elsewhere), `500 Internal Server Error` otherwise.
    fn to_response(self) -> http::Response<sse_marshal::ResponseBody> {
        let status = if self.is_closed() {
            http::StatusCode::SERVICE_UNAVAILABLE
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
    }
}
