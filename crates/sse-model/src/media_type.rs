//! The `text/event-stream` media type.

/// The media type of an event stream, `text/event-stream`. Event streams are
/// always UTF-8, so no `charset` parameter is needed.
pub const TEXT_EVENT_STREAM: mime::Mime = mime::TEXT_EVENT_STREAM;

/// Whether a `Content-Type` value names `text/event-stream`, in any letter
/// case, with or without parameters.
///
/// Takes `&str`, `&[u8]` or an [`http::HeaderValue`].
///
/// ```
/// use http::HeaderValue;
/// use sse_model::is_event_stream;
///
/// assert!(is_event_stream("text/event-stream"));
/// assert!(is_event_stream("Text/Event-Stream ; charset=utf-8"));
/// assert!(is_event_stream(&HeaderValue::from_static("TEXT/EVENT-STREAM;x=y")));
/// assert!(!is_event_stream("text/event-streams"));
/// assert!(!is_event_stream("text/plain"));
/// ```
pub fn is_event_stream(content_type: impl AsRef<[u8]>) -> bool {
    let value = content_type.as_ref();
    let essence = match value.iter().position(|&b| b == b';') {
        Some(semicolon) => &value[..semicolon],
        None => value,
    };
    trim_ows(essence).eq_ignore_ascii_case(b"text/event-stream")
}

/// Trims HTTP optional white space (spaces and tabs) from both ends.
fn trim_ows(mut bytes: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = bytes {
        bytes = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = bytes {
        bytes = rest;
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_type_table() {
        let yes = [
            "text/event-stream",
            "TEXT/EVENT-STREAM",
            "text/Event-Stream;charset=utf-8",
            " text/event-stream ",
            "text/event-stream\t; a=b; c=d",
            "text/event-stream;",
        ];
        let no = [
            "",
            "text/event",
            "text/event-stream-x",
            "text /event-stream",
            "application/json",
            "text/plain; x=text/event-stream",
            "event-stream",
        ];
        for v in yes {
            assert!(is_event_stream(v), "{v:?}");
        }
        for v in no {
            assert!(!is_event_stream(v), "{v:?}");
        }
    }

    #[test]
    fn constant_matches() {
        assert_eq!(TEXT_EVENT_STREAM.essence_str(), "text/event-stream");
        assert!(is_event_stream(TEXT_EVENT_STREAM.as_ref()));
    }
}
