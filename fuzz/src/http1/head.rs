//! `check_head`: the direct path's decision on a request head, against
//! hyper's.
//!
//! Input: byte 0 picks the field limit (`1 + b % 100`), the rest is what a
//! client sent first on a connection. The direct path's decision
//! (`sse_routing::fuzzing::decide_head`, head limit 8 KiB) is compared with
//! hyper 1.x's HTTP/1.1 server on the same bytes (an in-memory pipe, the
//! same limits, a service that answers `200` and records what it saw):
//!
//! - **Answer**: hyper calls its service with the same method, target,
//!   version and fields, and keeps the connection open after the response
//!   exactly when the direct path does (hyper is given the head alone).
//! - **Reject(status)**: hyper answers `status` without calling its
//!   service, and closes.
//! - **Partial**: hyper has neither answered nor closed.
//! - **HandOver**: hyper reads the request anyway; nothing to compare.
//!
//! The documented differences, where the direct path is stricter than
//! hyper (RFC 9112 asks for them, hyper leaves them to the application):
//! 1. `400` for an HTTP/1.1 request without exactly one valid `Host`, or
//!    any request with two (hyper's path checks it in the service, after
//!    hyper has parsed the request);
//! 2. `414` for a request line that does not end within the head limit
//!    (hyper says `431`, as for any head too large);
//! 3. an HTTP/1.0 request whose `Connection` says both `keep-alive` and
//!    `close` closes (RFC 9112, 9.3: `close` wins; hyper keeps it open);
//! 4. the first bytes of a connection that may yet be the HTTP/2 preface
//!    wait for more, as hyper's auto-detecting server (which gets the
//!    preface) does; hyper's HTTP/1.1 server alone refuses `PRI * HTTP/2`;
//! 5. a refused head with the HTTP/2 preface somewhere after its start
//!    (after empty lines, or after a head hyper has consumed before
//!    refusing it) gets `400`; hyper, seeing the preface where it looks for
//!    the next message, closes in silence.
//!

use std::cell::RefCell;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode, Uri, Version};
use http_body_util::Empty;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use sse_routing::fuzzing::{self, HeadDecision};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What a cleartext HTTP/2 connection starts with.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// The head limit of both servers: hyper's smallest buffer.
const MAX_HEAD: usize = 8 * 1024;

/// What hyper's service saw of a request.
#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    uri: Uri,
    version: Version,
    headers: HeaderMap,
}

/// What hyper did with some bytes.
#[derive(Debug)]
struct HyperOutcome {
    seen: Vec<Seen>,
    /// The status of its first response, if it wrote one.
    status: Option<StatusCode>,
    /// Whether it closed the connection.
    closed: bool,
}

thread_local! {
    static RUNTIME: RefCell<tokio::runtime::Runtime> = RefCell::new(
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime"),
    );
}

/// Serves `input` with hyper's HTTP/1.1 server and watches what it does;
/// the client side stays open (no EOF), as a client waiting for an answer.
fn hyper_outcome(input: &[u8], max_headers: usize) -> HyperOutcome {
    RUNTIME.with(|runtime| {
        runtime.borrow().block_on(async {
            let (mut client, server) = tokio::io::duplex(4 * MAX_HEAD);
            let seen = Arc::new(Mutex::new(Vec::new()));
            let service = {
                let seen = Arc::clone(&seen);
                hyper::service::service_fn(move |request: Request<Incoming>| {
                    seen.lock().unwrap().push(Seen {
                        method: request.method().clone(),
                        uri: request.uri().clone(),
                        version: request.version(),
                        headers: request.headers().clone(),
                    });
                    async { Ok::<_, Infallible>(Response::new(Empty::<Bytes>::new())) }
                })
            };
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder.max_buf_size(MAX_HEAD);
            if max_headers != 100 {
                builder.max_headers(max_headers);
            }
            let connection = builder.serve_connection(TokioIo::new(server), service);
            let task = tokio::spawn(connection);
            client
                .write_all(input)
                .await
                .expect("the pipe holds the input");
            // Everything is in memory: a few turns of the runtime let hyper
            // do all it will do with these bytes.
            for _ in 0..16 {
                tokio::task::yield_now().await;
            }
            let closed = task.is_finished();
            task.abort();
            let mut wire = Vec::new();
            while let Some(Ok(n)) =
                futures_util::FutureExt::now_or_never(client.read_buf(&mut wire))
            {
                if n == 0 {
                    break;
                }
            }
            let status = status_of(&wire);
            let seen = seen.lock().unwrap().clone();
            HyperOutcome {
                seen,
                status,
                closed,
            }
        })
    })
}

/// The status of the response at the start of `wire`.
fn status_of(wire: &[u8]) -> Option<StatusCode> {
    let mut fields = [httparse::EMPTY_HEADER; 32];
    let mut response = httparse::Response::new(&mut fields);
    match response.parse(wire) {
        Ok(httparse::Status::Complete(_)) => StatusCode::from_u16(response.code?).ok(),
        _ => None,
    }
}

/// The head of `request` as hyper's service saw it.
fn same_request(request: &Request<()>, seen: &Seen) -> bool {
    request.method() == seen.method
        && request.uri() == &seen.uri
        && request.version() == seen.version
        && request.headers() == &seen.headers
}

/// Whether an HTTP/1.0 request says both `keep-alive` and `close` (the
/// third documented difference).
fn http10_keep_alive_and_close(request: &Request<()>) -> bool {
    let tokens: Vec<Vec<u8>> = request
        .headers()
        .get_all(http::header::CONNECTION)
        .iter()
        .flat_map(|value| value.as_bytes().split(|&b| b == b','))
        .map(|token| token.trim_ascii().to_ascii_lowercase())
        .collect();
    request.version() == Version::HTTP_10
        && tokens.iter().any(|t| t == b"keep-alive")
        && tokens.iter().any(|t| t == b"close")
}

/// The differential check; panics on a disagreement that is not one of the
/// documented differences.
pub fn check_head(data: &[u8]) {
    let Some((&limit, input)) = data.split_first() else {
        return;
    };
    let max_headers = 1 + usize::from(limit) % 100;
    if input.len() > MAX_HEAD || input.is_empty() {
        // Beyond the limit hyper's decision depends on how its reads fall.
        return;
    }
    let ours = fuzzing::decide_head(input, true, MAX_HEAD, max_headers);
    match ours {
        HeadDecision::HandOver => {}
        HeadDecision::Partial if H2_PREFACE.starts_with(input) => {
            // The fourth documented difference: hyper's HTTP/1.1 server
            // refuses `PRI * HTTP/2`, the server's auto-detection (which
            // the direct path hands the preface to) waits for the rest.
        }
        HeadDecision::Partial => {
            let hyper = hyper_outcome(input, max_headers);
            assert!(
                hyper.seen.is_empty() && hyper.status.is_none() && !hyper.closed,
                "ours: partial; hyper: {hyper:?}"
            );
        }
        HeadDecision::Answer {
            request,
            head_len,
            keep_alive,
        } => {
            let hyper = hyper_outcome(&input[..head_len], max_headers);
            let seen = hyper.seen.first().unwrap_or_else(|| {
                panic!("ours answers {request:?}; hyper: {hyper:?}");
            });
            assert!(
                same_request(&request, seen),
                "ours: {request:?}; hyper saw {seen:?}"
            );
            assert_eq!(hyper.status, Some(StatusCode::OK), "{hyper:?}");
            let documented = !keep_alive && http10_keep_alive_and_close(&request);
            assert!(
                keep_alive != hyper.closed || documented,
                "ours keeps the connection open: {keep_alive}; hyper closed it: {}; {request:?}",
                hyper.closed
            );
        }
        HeadDecision::Reject(status) => {
            let hyper = hyper_outcome(input, max_headers);
            if let Some(seen) = hyper.seen.first() {
                assert!(
                    status == StatusCode::BAD_REQUEST
                        && !fuzzing::host_is_acceptable(seen.version, &seen.headers),
                    "ours: {status}; hyper served {seen:?}"
                );
                return;
            }
            let documented_414 = status == StatusCode::URI_TOO_LONG
                && hyper.status == Some(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
            let documented_preface = status == StatusCode::BAD_REQUEST
                && hyper.status.is_none()
                && input[1..]
                    .windows(H2_PREFACE.len())
                    .any(|window| window == H2_PREFACE);
            assert!(
                hyper.status == Some(status) || documented_414 || documented_preface,
                "ours: {status}; hyper: {hyper:?}"
            );
            assert!(
                hyper.closed,
                "hyper kept the connection open after {status}"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::seeds;

    #[test]
    fn the_seed_heads_agree_with_hyper() {
        for (name, input) in seeds("http1_head") {
            eprintln!("{name}");
            check_head(&input);
        }
        let mut many_fields = vec![2];
        many_fields.extend_from_slice(b"GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n");
        check_head(&many_fields);
        let mut long = vec![99];
        long.extend_from_slice(b"GET /");
        long.resize(1 + MAX_HEAD, b'a');
        check_head(&long);
        let mut long_field = vec![99];
        long_field.extend_from_slice(b"GET / HTTP/1.1\r\nHost: a\r\nA: ");
        long_field.resize(1 + MAX_HEAD, b'a');
        check_head(&long_field);
    }
}
