//! The one error type of this crate.

use std::fmt;

/// Why a value of the model could not be built.
///
/// Opaque on purpose: ask what went wrong with the `is_*` predicates. The
/// [`Display`](fmt::Display) text is meant for people and its wording is not
/// stable.
pub struct Error {
    // Boxed so that `Result<T, Error>` stays small on the happy path.
    inner: Box<Inner>,
}

struct Inner {
    kind: Kind,
    detail: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    EventType,
    EventId,
    Header,
}

impl Error {
    fn new(kind: Kind, detail: &'static str) -> Self {
        Error {
            inner: Box::new(Inner { kind, detail }),
        }
    }

    pub(crate) fn event_type(detail: &'static str) -> Self {
        Error::new(Kind::EventType, detail)
    }

    pub(crate) fn event_id(detail: &'static str) -> Self {
        Error::new(Kind::EventId, detail)
    }

    pub(crate) fn header(detail: &'static str) -> Self {
        Error::new(Kind::Header, detail)
    }

    /// The value was refused as an event type (see [`EventType`](crate::EventType)).
    pub fn is_invalid_event_type(&self) -> bool {
        self.inner.kind == Kind::EventType
    }

    /// The value was refused as an event id (see [`EventId`](crate::EventId)).
    pub fn is_invalid_event_id(&self) -> bool {
        self.inner.kind == Kind::EventId
    }

    /// A `Last-Event-ID` header value could not be parsed or rendered.
    pub fn is_invalid_header(&self) -> bool {
        self.inner.kind == Kind::Header
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.inner.kind)
            .field("detail", &self.inner.detail)
            .finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.inner.kind {
            Kind::EventType => "invalid event type",
            Kind::EventId => "invalid event id",
            Kind::Header => "invalid Last-Event-ID header",
        };
        write!(f, "{what}: {}", self.inner.detail)
    }
}

impl std::error::Error for Error {}

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
    fn predicates_tell_kinds_apart() {
        let e = Error::event_type("x");
        assert!(e.is_invalid_event_type() && !e.is_invalid_event_id() && !e.is_invalid_header());
        let e = Error::event_id("x");
        assert!(e.is_invalid_event_id() && !e.is_invalid_event_type());
        let e = Error::header("x");
        assert!(e.is_invalid_header() && !e.is_invalid_event_id());
        assert_eq!(e.to_string(), "invalid Last-Event-ID header: x");
    }
}
