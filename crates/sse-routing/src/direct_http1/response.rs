//! Writing a response: its head, then its body framed by a length, by
//! chunks, or by the end of the connection.

use std::time::SystemTime;

use http::header::{HeaderValue, CONNECTION, CONTENT_LENGTH, DATE, TRANSFER_ENCODING};
use http::{response, StatusCode, Version};
use http_body::SizeHint;

/// How the body's end is marked on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// No body at all: `HEAD`, `204`, `304`.
    None,
    /// Exactly this many bytes (`content-length`).
    Length(u64),
    /// `transfer-encoding: chunked`, ended by the last chunk.
    Chunked,
    /// The body ends when the connection closes (an HTTP/1.0 client and a
    /// body of unknown length).
    UntilClose,
}

/// What the request asked of its response.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Exchange {
    pub(crate) is_head: bool,
    pub(crate) version: Version,
    pub(crate) keep_alive: bool,
}

/// Decides the framing, sets the headers that say it (and `date`,
/// `connection`), and returns the head's bytes with the framing and whether
/// the connection stays open afterwards.
pub(crate) fn head(
    parts: &mut response::Parts,
    size: &SizeHint,
    exchange: Exchange,
) -> (Vec<u8>, Framing, bool) {
    if parts.status.is_informational() {
        // A 1xx is never a final response: a client would wait for the
        // real one forever. hyper answers 500 here too.
        tracing::warn!(status = %parts.status, "a handler returned a 1xx status; sending 500");
        parts.status = StatusCode::INTERNAL_SERVER_ERROR;
        parts.headers.clear();
        return head(
            parts,
            &SizeHint::with_exact(0),
            Exchange {
                keep_alive: false,
                ..exchange
            },
        );
    }
    let headers = &mut parts.headers;
    // A handler may close the connection after its response.
    let handler_closes = headers.get_all(CONNECTION).iter().any(|value| {
        value
            .as_bytes()
            .split(|&b| b == b',')
            .any(|token| token.trim_ascii().eq_ignore_ascii_case(b"close"))
    });
    let mut keep_alive = exchange.keep_alive && !handler_closes;
    let no_body = exchange.is_head
        || parts.status == StatusCode::NO_CONTENT
        || parts.status == StatusCode::NOT_MODIFIED;
    // The framing is this writer's to decide, whatever a handler set.
    headers.remove(TRANSFER_ENCODING);
    headers.remove(CONNECTION);
    if parts.status == StatusCode::NO_CONTENT {
        // A 204 must not say a length (RFC 9110, 8.6).
        headers.remove(CONTENT_LENGTH);
    }
    let declared = declared_length(headers);
    let framing = if no_body {
        Framing::None
    } else if let Some(length) = declared {
        Framing::Length(length)
    } else if let Some(length) = size.exact() {
        headers.insert(CONTENT_LENGTH, HeaderValue::from(length));
        Framing::Length(length)
    } else if exchange.version == Version::HTTP_11 {
        headers.insert(TRANSFER_ENCODING, HeaderValue::from_static("chunked"));
        Framing::Chunked
    } else {
        keep_alive = false;
        Framing::UntilClose
    };
    if !keep_alive {
        headers.insert(CONNECTION, HeaderValue::from_static("close"));
    } else if exchange.version == Version::HTTP_10 {
        headers.insert(CONNECTION, HeaderValue::from_static("keep-alive"));
    }
    if !has_one_valid_date(headers) {
        // `Date` is a single HTTP-date (RFC 9110, 6.6.1): a handler's own
        // is kept only if it is one.
        let now = httpdate::fmt_http_date(SystemTime::now());
        if let Ok(value) = HeaderValue::try_from(now) {
            headers.insert(DATE, value);
        }
    }

    let mut head = Vec::with_capacity(256);
    head.extend_from_slice(b"HTTP/1.1 ");
    head.extend_from_slice(parts.status.as_str().as_bytes());
    head.push(b' ');
    let reason = parts.status.canonical_reason().unwrap_or("");
    head.extend_from_slice(reason.as_bytes());
    head.extend_from_slice(b"\r\n");
    for (name, value) in headers.iter() {
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"\r\n");
    (head, framing, keep_alive)
}

/// Whether `headers` hold exactly one `date`, and a valid one.
fn has_one_valid_date(headers: &http::HeaderMap) -> bool {
    let mut dates = headers.get_all(DATE).iter();
    match (dates.next(), dates.next()) {
        (Some(date), None) => date
            .to_str()
            .is_ok_and(|date| httpdate::parse_http_date(date).is_ok()),
        _ => false,
    }
}

/// The length a handler declared, if it is one plain decimal number; any
/// other `content-length` (several, signed, not a number) is removed, and
/// the body's own size decides.
fn declared_length(headers: &mut http::HeaderMap) -> Option<u64> {
    let mut values = headers.get_all(CONTENT_LENGTH).iter();
    let length = match (values.next(), values.next()) {
        (Some(value), None) => value
            .as_bytes()
            .iter()
            .all(u8::is_ascii_digit)
            .then(|| value.to_str().ok()?.parse::<u64>().ok())
            .flatten(),
        _ => None,
    };
    if length.is_none() {
        headers.remove(CONTENT_LENGTH);
    }
    length
}

/// The whole response for a request that cannot be read: `status`, no body,
/// and the connection closes.
pub(crate) fn reject(status: StatusCode) -> Vec<u8> {
    let reason = status.canonical_reason().unwrap_or("");
    format!(
        "HTTP/1.1 {} {reason}\r\ndate: {}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
        status.as_str(),
        httpdate::fmt_http_date(SystemTime::now()),
    )
    .into_bytes()
}

/// The line that starts a chunk of `len` bytes: its size in hex and CRLF.
pub(crate) fn chunk_size_line(len: usize, line: &mut [u8; 18]) -> &[u8] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digits = (usize::BITS - len.leading_zeros()).div_ceil(4).max(1) as usize;
    for (i, slot) in line[..digits].iter_mut().enumerate() {
        let shift = 4 * (digits - 1 - i);
        *slot = HEX[(len >> shift) & 0xf];
    }
    line[digits..digits + 2].copy_from_slice(b"\r\n");
    &line[..digits + 2]
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Response;

    fn head_of(
        response: Response<()>,
        size: SizeHint,
        exchange: Exchange,
    ) -> (String, Framing, bool) {
        let (mut parts, ()) = response.into_parts();
        let (head, framing, keep_alive) = head(&mut parts, &size, exchange);
        let head = String::from_utf8(head).unwrap();
        // The date changes every second: check its presence, then drop it.
        let date_line = head
            .lines()
            .find(|l| l.starts_with("date: "))
            .expect("a date");
        assert!(httpdate::parse_http_date(&date_line[6..]).is_ok());
        let head = head.replace(&format!("{date_line}\r\n"), "");
        (head, framing, keep_alive)
    }

    const GET11: Exchange = Exchange {
        is_head: false,
        version: Version::HTTP_11,
        keep_alive: true,
    };

    #[test]
    fn unknown_length_is_chunked_for_http11_and_until_close_for_http10() {
        let response = || Response::builder().header("content-type", "text/event-stream");
        let (head, framing, keep_alive) =
            head_of(response().body(()).unwrap(), SizeHint::new(), GET11);
        assert_eq!(
            head,
            "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
        );
        assert_eq!((framing, keep_alive), (Framing::Chunked, true));

        let http10 = Exchange {
            version: Version::HTTP_10,
            ..GET11
        };
        let (head, framing, keep_alive) =
            head_of(response().body(()).unwrap(), SizeHint::new(), http10);
        assert_eq!(
            head,
            "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n"
        );
        assert_eq!((framing, keep_alive), (Framing::UntilClose, false));
    }

    #[test]
    fn known_length_is_sent_and_a_handlers_framing_headers_are_replaced() {
        let response = Response::builder()
            .header("transfer-encoding", "gzip")
            .header("connection", "upgrade")
            .body(())
            .unwrap();
        let closing = Exchange {
            keep_alive: false,
            ..GET11
        };
        let (head, framing, keep_alive) = head_of(response, SizeHint::with_exact(5), closing);
        assert_eq!(
            head,
            "HTTP/1.1 200 OK\r\ncontent-length: 5\r\nconnection: close\r\n\r\n"
        );
        assert_eq!((framing, keep_alive), (Framing::Length(5), false));
    }

    #[test]
    fn head_204_and_304_have_no_body_and_keep_their_headers() {
        let head_request = Exchange {
            is_head: true,
            ..GET11
        };
        let (head, framing, _) = head_of(Response::new(()), SizeHint::with_exact(0), head_request);
        assert_eq!(head, "HTTP/1.1 200 OK\r\n\r\n");
        assert_eq!(framing, Framing::None);
        for status in [StatusCode::NO_CONTENT, StatusCode::NOT_MODIFIED] {
            let response = Response::builder().status(status).body(()).unwrap();
            let (head, framing, _) = head_of(response, SizeHint::new(), GET11);
            assert_eq!(head, format!("HTTP/1.1 {status}\r\n\r\n"));
            assert_eq!(framing, Framing::None);
        }
    }

    #[test]
    fn http10_keep_alive_is_said_and_odd_statuses_have_a_reason_or_none() {
        let http10 = Exchange {
            version: Version::HTTP_10,
            ..GET11
        };
        let response = Response::builder().status(599).body(()).unwrap();
        let (head, _, keep_alive) = head_of(response, SizeHint::with_exact(0), http10);
        assert_eq!(
            head,
            "HTTP/1.1 599 \r\ncontent-length: 0\r\nconnection: keep-alive\r\n\r\n"
        );
        assert!(keep_alive);
        let rejected =
            String::from_utf8(reject(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)).unwrap();
        let (date, rest) = rejected
            .strip_prefix("HTTP/1.1 431 Request Header Fields Too Large\r\ndate: ")
            .and_then(|rest| rest.split_once("\r\n"))
            .expect("a status line, then a date");
        assert!(httpdate::parse_http_date(date).is_ok(), "{date:?}");
        assert_eq!(rest, "content-length: 0\r\nconnection: close\r\n\r\n");
    }

    #[test]
    fn a_1xx_becomes_500_and_a_handler_may_close_the_connection() {
        let response = Response::builder()
            .status(103)
            .header("link", "x")
            .body(())
            .unwrap();
        let (head, framing, keep_alive) = head_of(response, SizeHint::new(), GET11);
        assert_eq!(
            head,
            "HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        );
        assert_eq!((framing, keep_alive), (Framing::Length(0), false));

        let response = Response::builder()
            .header("connection", "Close")
            .body(())
            .unwrap();
        let (head, _, keep_alive) = head_of(response, SizeHint::with_exact(3), GET11);
        assert_eq!(
            head,
            "HTTP/1.1 200 OK\r\ncontent-length: 3\r\nconnection: close\r\n\r\n"
        );
        assert!(!keep_alive);
    }

    #[test]
    fn only_one_plain_declared_length_is_trusted_and_a_204_has_none() {
        for (declared, want) in [
            (&["5"][..], "content-length: 5"),
            (&["+5"][..], "content-length: 3"),
            (&["3", "5"][..], "content-length: 3"),
            (&["x"][..], "content-length: 3"),
        ] {
            let mut builder = Response::builder();
            for value in declared {
                builder = builder.header("content-length", *value);
            }
            let (head, _, _) = head_of(builder.body(()).unwrap(), SizeHint::with_exact(3), GET11);
            assert_eq!(
                head,
                format!("HTTP/1.1 200 OK\r\n{want}\r\n\r\n"),
                "{declared:?}"
            );
        }
        let response = Response::builder()
            .status(204)
            .header("content-length", "0")
            .body(())
            .unwrap();
        let (head, framing, _) = head_of(response, SizeHint::with_exact(0), GET11);
        assert_eq!(head, "HTTP/1.1 204 No Content\r\n\r\n");
        assert_eq!(framing, Framing::None);
    }

    #[test]
    fn a_handlers_date_is_kept_only_when_it_is_one_valid_date() {
        let valid = "Sun, 06 Nov 1994 08:49:37 GMT";
        for (dates, kept) in [
            (&[valid][..], true),
            (&["yesterday"][..], false),
            (&[valid, valid][..], false),
        ] {
            let mut builder = Response::builder();
            for date in dates {
                builder = builder.header("date", *date);
            }
            let (mut parts, ()) = builder.body(()).unwrap().into_parts();
            let (head, _, _) = head(&mut parts, &SizeHint::with_exact(0), GET11);
            let head = String::from_utf8(head).unwrap();
            let sent: Vec<&str> = head
                .lines()
                .filter_map(|line| line.strip_prefix("date: "))
                .collect();
            assert_eq!(sent.len(), 1, "{head:?}");
            assert_eq!(sent[0] == valid, kept, "{dates:?}");
            assert!(httpdate::parse_http_date(sent[0]).is_ok());
        }
    }

    #[test]
    fn chunk_size_lines_are_lowercase_hex() {
        let mut line = [0; 18];
        for (len, want) in [
            (1usize, "1\r\n"),
            (15, "f\r\n"),
            (16, "10\r\n"),
            (4096, "1000\r\n"),
            (0xabcdef, "abcdef\r\n"),
            (usize::MAX, "ffffffffffffffff\r\n"),
        ] {
            assert_eq!(chunk_size_line(len, &mut line), want.as_bytes());
        }
    }
}
