//! Entry points for the fuzz crate (`fuzz/`), behind the `fuzzing` feature:
//! the direct HTTP/1.1 path's decisions as plain functions. Not a public
//! API: nothing here is stable, and nothing else should use it.

use http::{HeaderMap, Request, Response, StatusCode, Version};
use http_body::SizeHint;

use crate::direct_http1::head::{self, Limits, Parsed};
use crate::direct_http1::response::{self, Exchange, Framing};

/// What the direct path decides about the bytes at the head of a
/// connection.
#[derive(Debug)]
pub enum HeadDecision {
    /// Not a whole head yet: read more.
    Partial,
    /// A request without a body, answered by the direct path; its head
    /// took `head_len` bytes, and the connection stays open after it when
    /// `keep_alive`.
    Answer {
        /// The request as the route sees it.
        request: Request<()>,
        /// The head's length in bytes.
        head_len: usize,
        /// Whether the connection may carry another request.
        keep_alive: bool,
    },
    /// hyper reads it (a body, an upgrade, `Expect`, HTTP/2).
    HandOver,
    /// Refused with this status, and the connection closed.
    Reject(StatusCode),
}

/// The direct path's decision on `buf`, the first bytes of a connection
/// when `first`, with the given head limits.
pub fn decide_head(buf: &[u8], first: bool, max_head: usize, max_headers: usize) -> HeadDecision {
    let limits = Limits {
        max_head,
        max_headers,
    };
    match head::parse(buf, first, limits) {
        Parsed::Partial => HeadDecision::Partial,
        Parsed::Request {
            request,
            head_len,
            keep_alive,
        } => HeadDecision::Answer {
            request,
            head_len,
            keep_alive,
        },
        Parsed::Handoff => HeadDecision::HandOver,
        Parsed::Reject(status) => HeadDecision::Reject(status),
    }
}

/// Whether a request satisfies the `Host` rule both paths enforce.
pub fn host_is_acceptable(version: Version, headers: &HeaderMap) -> bool {
    crate::host::is_acceptable(version, headers)
}

/// How the direct path frames a response body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFraming {
    /// No body (`HEAD`, `204`, `304`).
    None,
    /// `content-length` bytes.
    Length(u64),
    /// Chunked.
    Chunked,
    /// Until the connection closes.
    UntilClose,
}

/// The head the direct path writes for `response`, whose body has `size`,
/// answering a request of `version` (a `HEAD` when `is_head`) that allows
/// keep-alive when `keep_alive`; with the framing and whether the
/// connection stays open.
pub fn response_head(
    response: Response<()>,
    size: SizeHint,
    is_head: bool,
    version: Version,
    keep_alive: bool,
) -> (Vec<u8>, BodyFraming, bool) {
    let (mut parts, ()) = response.into_parts();
    let exchange = Exchange {
        is_head,
        version,
        keep_alive,
    };
    let (head, framing, keep_alive) = response::head(&mut parts, &size, exchange);
    let framing = match framing {
        Framing::None => BodyFraming::None,
        Framing::Length(length) => BodyFraming::Length(length),
        Framing::Chunked => BodyFraming::Chunked,
        Framing::UntilClose => BodyFraming::UntilClose,
    };
    (head, framing, keep_alive)
}

/// The refusal the direct path writes for `status`.
pub fn reject(status: StatusCode) -> Vec<u8> {
    response::reject(status)
}

/// The line that starts a chunk of `len` bytes.
pub fn chunk_size_line(len: usize) -> Vec<u8> {
    let mut line = [0; 18];
    response::chunk_size_line(len, &mut line).to_vec()
}
