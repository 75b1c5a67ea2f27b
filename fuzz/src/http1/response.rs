//! `check_response_head`: the direct path's response head writer.
//!
//! A response built from the fuzzed status, fields, body size and request
//! kind, through the direct path's head writer: the bytes parse as exactly
//! one complete HTTP/1.1 response head with the same status (`500` for a
//! 1xx), exactly one `date`, framing headers that agree with the chosen
//! framing (never both `content-length` and `transfer-encoding`, no length
//! on a `204`, chunked only for HTTP/1.1, `connection: close` exactly when
//! the connection will close), and every other field as given. Chunk size
//! lines read back as their length, in lowercase hex without leading zeros.

use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Response, StatusCode, Version};
use http_body::SizeHint;
use sse_routing::fuzzing::{self, BodyFraming};

/// A small reader of fuzz bytes.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }

    fn take(&mut self, n: usize) -> &[u8] {
        let n = n.min(self.0.len());
        let (taken, rest) = self.0.split_at(n);
        self.0 = rest;
        taken
    }
}

/// Framing headers the writer decides; the others must come out as given.
fn is_framing(name: &HeaderName) -> bool {
    use http::header::{CONNECTION, CONTENT_LENGTH, DATE, TRANSFER_ENCODING};
    [CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING, DATE].contains(name)
}

/// The response head writer and the chunk size line; panics on a broken
/// head.
pub fn check_response_head(data: &[u8]) {
    let mut input = Reader(data);
    let status = 100 + u16::from_le_bytes([input.byte(), input.byte()]) % 500;
    let flags = input.byte();
    let is_head = flags & 1 != 0;
    let version = if flags & 2 != 0 {
        Version::HTTP_10
    } else {
        Version::HTTP_11
    };
    let keep_alive = flags & 4 != 0;
    let size_bytes: [u8; 4] = input.take(4).try_into().unwrap_or([0; 4]);
    let size = u64::from(u32::from_le_bytes(size_bytes));
    let hint = if flags & 8 != 0 {
        SizeHint::with_exact(size)
    } else {
        SizeHint::new()
    };
    let mut builder = Response::builder().status(status);
    let mut given = HeaderMap::new();
    let names = [
        "content-length",
        "transfer-encoding",
        "connection",
        "date",
        "content-type",
        "x-a",
        "cache-control",
    ];
    for _ in 0..input.byte() % 8 {
        let name = names[usize::from(input.byte()) % names.len()];
        let len = usize::from(input.byte() % 16);
        let Ok(value) = HeaderValue::from_bytes(input.take(len)) else {
            continue;
        };
        let name = HeaderName::from_static(name);
        given.append(name.clone(), value.clone());
        builder = builder.header(name, value);
    }
    let response = builder.body(()).expect("valid parts");
    let (head, framing, keeps_alive) =
        fuzzing::response_head(response, hint, is_head, version, keep_alive);

    let mut fields = [httparse::EMPTY_HEADER; 64];
    let mut parsed = httparse::Response::new(&mut fields);
    let len = match parsed.parse(&head) {
        Ok(httparse::Status::Complete(len)) => len,
        other => panic!(
            "not a response head ({other:?}): {:?}",
            String::from_utf8_lossy(&head)
        ),
    };
    assert_eq!(len, head.len(), "bytes after the head");
    let want_status = if (100..200).contains(&status) {
        500
    } else {
        status
    };
    assert_eq!(parsed.code, Some(want_status));
    let count = |name: &str| {
        parsed
            .headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case(name))
            .count()
    };
    let value = |name: &str| {
        parsed
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.to_vec())
    };
    assert_eq!(count("date"), 1, "{:?}", String::from_utf8_lossy(&head));
    assert!(count("content-length") <= 1 && count("transfer-encoding") <= 1);
    assert!(count("content-length") == 0 || count("transfer-encoding") == 0);
    if want_status == 204 {
        assert_eq!(count("content-length") + count("transfer-encoding"), 0);
    }
    match framing {
        BodyFraming::Chunked => {
            assert_eq!(version, Version::HTTP_11);
            assert_eq!(value("transfer-encoding").as_deref(), Some(&b"chunked"[..]));
        }
        BodyFraming::Length(length) => {
            // A handler's own length may have leading zeros.
            let sent = value("content-length")
                .and_then(|v| String::from_utf8(v).ok())
                .and_then(|v| v.parse::<u64>().ok());
            assert_eq!(sent, Some(length));
        }
        BodyFraming::UntilClose => {
            assert!(!keeps_alive);
            assert_eq!(count("content-length") + count("transfer-encoding"), 0);
        }
        BodyFraming::None => {
            assert!(is_head || want_status == 204 || want_status == 304);
            assert_eq!(count("transfer-encoding"), 0);
        }
    }
    let says_close = value("connection").is_some_and(|v| v.eq_ignore_ascii_case(b"close"));
    assert_eq!(
        says_close,
        !keeps_alive,
        "{:?}",
        String::from_utf8_lossy(&head)
    );
    assert!(keeps_alive <= keep_alive, "a closing request kept alive");
    if want_status == status {
        for (name, value) in given.iter().filter(|(name, _)| !is_framing(name)) {
            assert!(
                // A parser drops the whitespace around a field's value.
                parsed.headers.iter().any(|h| {
                    h.name.eq_ignore_ascii_case(name.as_str())
                        && h.value.trim_ascii() == value.as_bytes().trim_ascii()
                }),
                "{name}: {value:?} is missing"
            );
        }
    }

    let len = usize::from_le_bytes(
        input
            .take(8)
            .iter()
            .chain([0u8; 8].iter())
            .take(8)
            .copied()
            .collect::<Vec<u8>>()
            .try_into()
            .expect("8 bytes"),
    );
    let line = fuzzing::chunk_size_line(len);
    let digits = line.strip_suffix(b"\r\n").expect("ends with CRLF");
    assert!(digits
        .iter()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b)));
    assert!(digits.len() == 1 || digits[0] != b'0', "a leading zero");
    let read = usize::from_str_radix(std::str::from_utf8(digits).unwrap(), 16).unwrap();
    assert_eq!(read, len);

    let reject = fuzzing::reject(StatusCode::from_u16(want_status.max(400)).unwrap());
    let mut fields = [httparse::EMPTY_HEADER; 8];
    let mut parsed = httparse::Response::new(&mut fields);
    assert!(
        matches!(parsed.parse(&reject), Ok(httparse::Status::Complete(n)) if n == reject.len())
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::seeds;

    #[test]
    fn response_heads_of_every_kind_are_well_formed() {
        for (name, input) in seeds("response_head") {
            eprintln!("{name}");
            check_response_head(&input);
        }
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..5_000 {
            let input: Vec<u8> = (0..64)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect();
            check_response_head(&input);
        }
    }
}
