//! Writing a response: its head, then its body framed by a length, by
//! chunks, or by the end of the connection.

use std::io::{self, IoSlice};
use std::time::SystemTime;

use http::header::{HeaderValue, CONNECTION, CONTENT_LENGTH, DATE, TRANSFER_ENCODING};
use http::{response, StatusCode, Version};
use http_body::SizeHint;
use tokio::net::TcpStream;

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
    let headers = &mut parts.headers;
    let mut keep_alive = exchange.keep_alive;
    let no_body = exchange.is_head
        || parts.status.is_informational()
        || parts.status == StatusCode::NO_CONTENT
        || parts.status == StatusCode::NOT_MODIFIED;
    // The framing is this writer's to decide, whatever a handler set.
    headers.remove(TRANSFER_ENCODING);
    headers.remove(CONNECTION);
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.parse::<u64>().ok());
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
    if !matches!(framing, Framing::Length(_)) && !no_body {
        headers.remove(CONTENT_LENGTH);
    }
    if !keep_alive {
        headers.insert(CONNECTION, HeaderValue::from_static("close"));
    } else if exchange.version == Version::HTTP_10 {
        headers.insert(CONNECTION, HeaderValue::from_static("keep-alive"));
    }
    if !headers.contains_key(DATE) {
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

/// The whole response for a request that cannot be read: `status`, no body,
/// and the connection closes.
pub(crate) fn reject(status: StatusCode) -> Vec<u8> {
    let reason = status.canonical_reason().unwrap_or("");
    format!(
        "HTTP/1.1 {} {reason}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
        status.as_str()
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

/// Writes all of `parts`, in order, with as few system calls as the socket
/// allows (one, unless it is full).
pub(crate) async fn write_all(stream: &TcpStream, parts: &mut [&[u8]]) -> io::Result<()> {
    loop {
        let Some(first) = parts.iter().position(|part| !part.is_empty()) else {
            return Ok(());
        };
        let parts = &mut parts[first..];
        stream.writable().await?;
        let written = if let [only] = parts {
            stream.try_write(only)
        } else {
            // A chunk is at most four parts (head, size, data, CRLF): no
            // allocation for the list.
            let mut slices = [IoSlice::new(&[]); 4];
            let count = parts.len().min(slices.len());
            for (slot, part) in slices.iter_mut().zip(parts.iter()) {
                *slot = IoSlice::new(part);
            }
            stream.try_write_vectored(&slices[..count])
        };
        let mut written = match written {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(written) => written,
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => continue,
            Err(error) => return Err(error),
        };
        for part in parts.iter_mut() {
            let taken = written.min(part.len());
            *part = &part[taken..];
            written -= taken;
        }
    }
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
        assert_eq!(
            reject(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE),
            b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        );
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
