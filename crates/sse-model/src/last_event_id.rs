//! The typed `Last-Event-ID` request header.

use std::fmt;

use http::header::{HeaderName, HeaderValue};

use crate::{Error, EventId};

/// The `Last-Event-ID` request header: the id of the last event a client saw,
/// sent when it reconnects so the server can resume after it.
///
/// Never empty: a client whose last event id is empty sends no header at all.
/// HTTP trims spaces and tabs around header values, so an id that starts or
/// ends with one cannot travel in this header unchanged.
///
/// ```
/// use http::HeaderValue;
/// use sse_model::LastEventId;
///
/// let header = LastEventId::parse(&HeaderValue::from_static("42")).unwrap();
/// assert_eq!(header.as_str(), "42");
/// assert_eq!(header.to_header_value().unwrap(), "42");
/// assert_eq!(LastEventId::NAME, "last-event-id");
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct LastEventId(EventId);

impl LastEventId {
    /// The header name, `last-event-id`.
    pub const NAME: HeaderName = HeaderName::from_static("last-event-id");

    /// A header for a known event id; refuses the empty id.
    pub fn new(id: EventId) -> Result<Self, Error> {
        if id.is_empty() {
            return Err(Error::header("the last event id is empty"));
        }
        Ok(LastEventId(id))
    }

    /// Parses a header value: UTF-8, not empty, no NUL.
    pub fn parse(value: &HeaderValue) -> Result<Self, Error> {
        let text = std::str::from_utf8(value.as_bytes())
            .map_err(|_| Error::header("the value is not UTF-8"))?;
        let id = EventId::try_from(text).map_err(|_| Error::header("the value contains NUL"))?;
        LastEventId::new(id)
    }

    /// Finds and parses the header in a header map.
    ///
    /// `Ok(None)` when the header is absent; an error when it is present but
    /// invalid, or present more than once with different values.
    pub fn from_headers(headers: &http::HeaderMap) -> Result<Option<Self>, Error> {
        let mut values = headers.get_all(&Self::NAME).iter();
        let Some(first) = values.next() else {
            return Ok(None);
        };
        if values.any(|other| other != first) {
            return Err(Error::header(
                "the header is repeated with different values",
            ));
        }
        Self::parse(first).map(Some)
    }

    /// Renders the header value.
    ///
    /// Fails for ids that HTTP cannot carry in a header: control characters
    /// other than tab, or a leading or trailing space or tab.
    pub fn to_header_value(&self) -> Result<HeaderValue, Error> {
        let text = self.as_str();
        if text.starts_with([' ', '\t']) || text.ends_with([' ', '\t']) {
            return Err(Error::header(
                "the id starts or ends with white space, which HTTP trims",
            ));
        }
        HeaderValue::from_str(text)
            .map_err(|_| Error::header("the id holds characters a header value cannot carry"))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The id as a validated [`EventId`].
    pub fn event_id(&self) -> &EventId {
        &self.0
    }

    /// Takes the [`EventId`] out.
    pub fn into_event_id(self) -> EventId {
        self.0
    }
}

impl fmt::Debug for LastEventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("LastEventId").field(&self.as_str()).finish()
    }
}

impl fmt::Display for LastEventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderMap;

    #[test]
    fn parse_and_render_round_trip() {
        for id in ["1", "abc-é", "a b", "x:y"] {
            let h = LastEventId::parse(&HeaderValue::from_str(id).unwrap()).unwrap();
            assert_eq!(h.as_str(), id);
            assert_eq!(h.to_header_value().unwrap().as_bytes(), id.as_bytes());
        }
    }

    #[test]
    fn parse_refuses_bad_values() {
        assert!(LastEventId::parse(&HeaderValue::from_static(""))
            .unwrap_err()
            .is_invalid_header());
        let latin1 = HeaderValue::from_bytes(b"caf\xe9").unwrap();
        assert!(LastEventId::parse(&latin1).unwrap_err().is_invalid_header());
    }

    #[test]
    fn render_refuses_what_http_cannot_carry() {
        for id in [" 1", "1\t", "a\u{1}b", "\u{7f}"] {
            let h = LastEventId::new(EventId::new(id).unwrap()).unwrap();
            assert!(
                h.to_header_value().unwrap_err().is_invalid_header(),
                "{id:?}"
            );
        }
        assert!(LastEventId::new(EventId::from_static("")).is_err());
    }

    #[test]
    fn from_headers() {
        let mut map = HeaderMap::new();
        assert_eq!(LastEventId::from_headers(&map).unwrap(), None);
        map.append("Last-Event-ID", HeaderValue::from_static("5"));
        assert_eq!(
            LastEventId::from_headers(&map).unwrap().unwrap().as_str(),
            "5"
        );
        map.append("last-event-id", HeaderValue::from_static("5"));
        assert!(LastEventId::from_headers(&map).is_ok());
        map.append("last-event-id", HeaderValue::from_static("6"));
        assert!(LastEventId::from_headers(&map).is_err());
    }
}
