//! Parsing a request head, and deciding who answers the request: this
//! module's writer (a request without a body, the case of every event
//! stream) or hyper (everything else).

use http::header::{HeaderName, HeaderValue, CONNECTION, CONTENT_LENGTH, EXPECT};
use http::header::{TRANSFER_ENCODING, UPGRADE};
use http::{HeaderMap, Method, Request, StatusCode, Uri, Version};

use crate::host;

/// The limits on a request head: its size, request line and fields
/// together, and the number of its fields.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) max_head: usize,
    pub(crate) max_headers: usize,
}

/// The longest request target `http::Uri` holds (as hyper, `414` beyond).
const MAX_TARGET: usize = u16::MAX as usize - 1;

/// How many header fields fit in the parser's stack array; a larger limit
/// costs an allocation per head.
const STACK_HEADERS: usize = 100;

/// What a cleartext HTTP/2 connection starts with (RFC 9113, 3.4).
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// What the bytes at the head of a connection are.
// Made once per request and moved once: boxing the request would only add an
// allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(crate) enum Parsed {
    /// Not a whole head yet.
    Partial,
    /// A request without a body; its head took `head_len` bytes.
    Request {
        request: Request<()>,
        head_len: usize,
        keep_alive: bool,
    },
    /// HTTP/2, a request with a body, an upgrade or `Expect`: hyper's job.
    Handoff,
    /// Not a request this server can read: answer with this status and
    /// close.
    Reject(StatusCode),
}

/// Reads the request at the head of `buf`; `first`: these are the
/// connection's first bytes, which may be the HTTP/2 preface.
pub(crate) fn parse(buf: &[u8], first: bool, limits: Limits) -> Parsed {
    let shared = buf.len().min(H2_PREFACE.len());
    if first && buf[..shared] == H2_PREFACE[..shared] {
        return if shared == H2_PREFACE.len() {
            Parsed::Handoff
        } else {
            Parsed::Partial
        };
    }
    let mut on_stack = [httparse::EMPTY_HEADER; STACK_HEADERS];
    let mut on_heap = Vec::new();
    let fields = if limits.max_headers <= STACK_HEADERS {
        &mut on_stack[..limits.max_headers]
    } else {
        on_heap.resize(limits.max_headers, httparse::EMPTY_HEADER);
        &mut on_heap[..]
    };
    let mut head = httparse::Request::new(fields);
    let too_large = || {
        // A request line that has not ended within the limit is a target
        // too long to serve (the method and version are short).
        let line_ended = buf[..buf.len().min(limits.max_head)].contains(&b'\n');
        Parsed::Reject(if line_ended {
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
        } else {
            StatusCode::URI_TOO_LONG
        })
    };
    let head_len = match head.parse(buf) {
        Ok(httparse::Status::Complete(len)) if len <= limits.max_head => len,
        // As hyper: a buffer that reached the limit without a whole head is
        // refused.
        Ok(httparse::Status::Partial) if buf.len() < limits.max_head => return Parsed::Partial,
        Ok(_) => return too_large(),
        Err(httparse::Error::TooManyHeaders) => {
            return Parsed::Reject(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
        }
        Err(_) => return Parsed::Reject(StatusCode::BAD_REQUEST),
    };
    match build(&head) {
        Ok(Some((request, keep_alive))) => Parsed::Request {
            request,
            head_len,
            keep_alive,
        },
        Ok(None) => Parsed::Handoff,
        Err(status) => Parsed::Reject(status),
    }
}

/// The request and whether the connection stays open after it, or `None`
/// when hyper should answer it.
fn build(head: &httparse::Request<'_, '_>) -> Result<Option<(Request<()>, bool)>, StatusCode> {
    let bad = StatusCode::BAD_REQUEST;
    let method = Method::from_bytes(head.method.unwrap_or_default().as_bytes()).map_err(|_| bad)?;
    if method == Method::CONNECT {
        return Ok(None);
    }
    let target = head.path.unwrap_or_default();
    if target.len() > MAX_TARGET {
        return Err(StatusCode::URI_TOO_LONG);
    }
    let uri = Uri::try_from(target).map_err(|_| bad)?;
    let version = match head.version {
        Some(0) => Version::HTTP_10,
        _ => Version::HTTP_11,
    };
    let mut headers = HeaderMap::with_capacity(head.headers.len());
    let (mut close, mut keep_alive) = (false, false);
    for field in head.headers.iter() {
        let name = HeaderName::from_bytes(field.name.as_bytes()).map_err(|_| bad)?;
        let value = HeaderValue::from_bytes(field.value).map_err(|_| bad)?;
        if name == TRANSFER_ENCODING || name == EXPECT || name == UPGRADE {
            return Ok(None);
        }
        let no_length =
            |value: &HeaderValue| !value.is_empty() && value.as_bytes().iter().all(|&b| b == b'0');
        if name == CONTENT_LENGTH {
            if !no_length(&value) {
                // A body, or a malformed length (empty, signed, a list),
                // which hyper answers with 400.
                return Ok(None);
            }
            if headers.contains_key(CONTENT_LENGTH) {
                // A repeated length that agrees (every one here is zero):
                // kept once, as hyper does.
                continue;
            }
        }
        // A `Connection` value with bytes outside visible ASCII is no list
        // of tokens, and says nothing (as hyper reads it).
        if let (true, Ok(tokens)) = (name == CONNECTION, value.to_str()) {
            for token in tokens.split(',') {
                let token = token.trim();
                close |= token.eq_ignore_ascii_case("close");
                keep_alive |= token.eq_ignore_ascii_case("keep-alive");
            }
        }
        headers.append(name, value);
    }
    if !host::is_acceptable(version, &headers) {
        return Err(bad);
    }
    let keep_alive = match version {
        Version::HTTP_10 => keep_alive && !close,
        _ => !close,
    };
    let mut request = Request::new(());
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.version_mut() = version;
    *request.headers_mut() = headers;
    Ok(Some((request, keep_alive)))
}

/// Whether `buf`, which was `old_len` bytes long before the last read, may
/// now hold a whole head: only then is it worth parsing again. A head ends
/// with an empty line (`\n\r\n` or `\n\n`), and only the new bytes and the
/// two before them can complete one, so a head that trickles in byte by byte
/// is not parsed over and over.
pub(crate) fn may_be_complete(buf: &[u8], old_len: usize) -> bool {
    if buf.len() < H2_PREFACE.len() && H2_PREFACE.starts_with(buf) {
        return buf.len() == H2_PREFACE.len();
    }
    let from = old_len.saturating_sub(2);
    let new = &buf[from..];
    old_len < H2_PREFACE.len()
        || new.windows(2).any(|w| w == b"\n\n")
        || new.windows(3).any(|w| w == b"\n\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        max_head: 64 * 1024,
        max_headers: 100,
    };

    fn request(head: &str) -> (Request<()>, usize, bool) {
        match parse(head.as_bytes(), true, LIMITS) {
            Parsed::Request {
                request,
                head_len,
                keep_alive,
            } => (request, head_len, keep_alive),
            other => panic!("{head:?}: {other:?}"),
        }
    }

    #[test]
    fn a_get_is_parsed_with_its_headers_and_length() {
        let head = "GET /events?x=1 HTTP/1.1\r\nHost: a\r\nLast-Event-ID: 7\r\n\r\nGET";
        let (request, len, keep_alive) = request(head);
        assert_eq!(request.method(), Method::GET);
        assert_eq!(request.uri().path(), "/events");
        assert_eq!(request.uri().query(), Some("x=1"));
        assert_eq!(request.headers()["last-event-id"], "7");
        assert_eq!(len, head.len() - 3);
        assert!(keep_alive);
    }

    #[test]
    fn keep_alive_follows_the_version_and_connection_header() {
        let cases = [
            ("GET / HTTP/1.1\r\nHost: a\r\n\r\n", true),
            (
                "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
                false,
            ),
            (
                "GET / HTTP/1.1\r\nConnection: foo, Close\r\nHost: a\r\n\r\n",
                false,
            ),
            ("GET / HTTP/1.0\r\n\r\n", false),
            ("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true),
            (
                "GET / HTTP/1.0\r\nConnection: a\r\nConnection: Keep-Alive\r\n\r\n",
                true,
            ),
            // Not a token list: ignored.
            (
                "GET / HTTP/1.0\r\nConnection: keep-alive, \u{e9}\r\n\r\n",
                false,
            ),
        ];
        for (head, want) in cases {
            assert_eq!(request(head).2, want, "{head:?}");
        }
    }

    #[test]
    fn bodies_upgrades_and_http2_go_to_hyper() {
        for head in [
            "POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: +0\r\n\r\n",
            "PUT / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n",
            "GET / HTTP/1.1\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n",
            "CONNECT a:443 HTTP/1.1\r\n\r\n",
            "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        ] {
            assert!(
                matches!(parse(head.as_bytes(), true, LIMITS), Parsed::Handoff),
                "{head:?}"
            );
        }
        let (post, _, _) = request("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(post.method(), Method::POST);
        // Repeated zero lengths are one, as hyper reads them.
        let (repeated, _, _) = request(
            "POST / HTTP/1.1\r\nContent-Length: 00\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
        );
        let lengths: Vec<_> = repeated
            .headers()
            .get_all("content-length")
            .iter()
            .collect();
        assert_eq!(lengths, ["00"]);
    }

    #[test]
    fn the_http2_preface_counts_only_at_the_start_and_lengths_must_be_digits() {
        let preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
        assert!(matches!(
            parse(preface, false, LIMITS),
            Parsed::Reject(StatusCode::BAD_REQUEST)
        ));
        for length in ["", "+0", "0, 0", "-0"] {
            let head = format!("GET / HTTP/1.1\r\nContent-Length: {length}\r\n\r\n");
            assert!(
                matches!(parse(head.as_bytes(), true, LIMITS), Parsed::Handoff),
                "{length:?}"
            );
        }
    }

    #[test]
    fn partial_and_malformed_heads() {
        for partial in [
            "",
            "G",
            "GET / HTTP/1.1\r\n",
            "PRI * HTTP/2",
            "GET / HTTP/1.1\r\nA: b\r\n",
        ] {
            assert!(
                matches!(parse(partial.as_bytes(), true, LIMITS), Parsed::Partial),
                "{partial:?}"
            );
        }
        for bad in [
            "GET / HTTP/3.0\r\n\r\n",
            "G@T / HTTP/1.1\r\n\r\n",
            "GET / HTTP/1.1\r\nA b\r\n\r\n",
        ] {
            assert!(
                matches!(
                    parse(bad.as_bytes(), true, LIMITS),
                    Parsed::Reject(StatusCode::BAD_REQUEST)
                ),
                "{bad:?}"
            );
        }
        let long = format!("GET / HTTP/1.1\r\nA: {}\r\n", "x".repeat(LIMITS.max_head));
        assert!(matches!(
            parse(long.as_bytes(), true, LIMITS),
            Parsed::Reject(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
        ));
        let many: String = (0..=LIMITS.max_headers)
            .map(|i| format!("A{i}: b\r\n"))
            .collect();
        let many = format!("GET / HTTP/1.1\r\n{many}\r\n");
        assert!(matches!(
            parse(many.as_bytes(), true, LIMITS),
            Parsed::Reject(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
        ));
    }

    #[test]
    fn an_http11_request_needs_one_valid_host() {
        for bad in [
            "GET / HTTP/1.1\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: user@a\r\n\r\n",
            "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n",
        ] {
            assert!(
                matches!(
                    parse(bad.as_bytes(), true, LIMITS),
                    Parsed::Reject(StatusCode::BAD_REQUEST)
                ),
                "{bad:?}"
            );
        }
        request("GET / HTTP/1.0\r\n\r\n");
        request("GET / HTTP/1.1\r\nHost: [::1]:8000\r\n\r\n");
    }

    #[test]
    fn a_target_too_long_gets_414_and_a_long_head_431() {
        let long_target = format!("GET /{} HTTP/1.1\r\n", "a".repeat(LIMITS.max_head));
        assert!(matches!(
            parse(long_target.as_bytes(), true, LIMITS),
            Parsed::Reject(StatusCode::URI_TOO_LONG)
        ));
        // Whole, with the head limit raised past what `Uri` holds.
        let huge = Limits {
            max_head: 128 * 1024,
            ..LIMITS
        };
        let whole = format!("GET /{} HTTP/1.1\r\nHost: a\r\n\r\n", "a".repeat(70_000));
        assert!(matches!(
            parse(whole.as_bytes(), true, huge),
            Parsed::Reject(StatusCode::URI_TOO_LONG)
        ));
        let fits = format!("GET /{} HTTP/1.1\r\nHost: a\r\n\r\n", "a".repeat(60_000));
        assert!(matches!(
            parse(fits.as_bytes(), true, LIMITS),
            Parsed::Request { .. }
        ));
    }

    #[test]
    fn more_fields_than_the_stack_holds_may_be_allowed() {
        let fields: String = (0..150).map(|i| format!("A{i}: b\r\n")).collect();
        let head = format!("GET / HTTP/1.1\r\nHost: a\r\n{fields}\r\n");
        let many = Limits {
            max_headers: 200,
            ..LIMITS
        };
        assert!(matches!(
            parse(head.as_bytes(), true, many),
            Parsed::Request { .. }
        ));
        assert!(matches!(
            parse(head.as_bytes(), true, LIMITS),
            Parsed::Reject(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
        ));
    }

    #[test]
    fn a_head_is_parsed_again_only_when_it_may_have_ended() {
        let head = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
        let complete_at: Vec<usize> = (1..=head.len())
            .filter(|&len| may_be_complete(&head[..len], len - 1))
            .collect();
        // Every length up to the preface's is checked (it is short), then
        // only the end.
        assert!(complete_at.contains(&head.len()));
        assert!(complete_at
            .iter()
            .all(|&len| len <= H2_PREFACE.len() || len == head.len()));
        assert!(may_be_complete(b"GET / HTTP/1.1\nHost: a\n\n", 20));
        assert!(!may_be_complete(b"PRI * HTTP/2.0\r\n", 15));
    }
}
