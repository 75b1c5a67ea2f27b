//! The direct HTTP/1.1 path: requests without a body, every event stream
//! request among them, read and answered on the socket itself.
//!
//! An event stream connection spends its whole life writing one response.
//! hyper's HTTP/1.1 connection keeps an 8 KiB read buffer and an 8 KiB write
//! buffer for all of it, most of what such a connection costs; this path
//! keeps no buffer while a response streams (the request head's buffer is
//! freed once it is read) and writes each frame straight to the socket, the
//! chunk's size line and the frame's shared bytes in one `writev`.
//!
//! The path knows nothing of hyper: what it does not answer itself (a
//! request with a body, an upgrade, `Expect`, the HTTP/2 preface) it gives
//! back as [`Outcome::HandOver`], with the bytes it has read, and the
//! connection module passes both to hyper.
//!
//! - [`head`]: parse a request head and decide who answers it;
//! - [`response`]: a response head's bytes and framing, a refusal, a chunk's
//!   size line;
//! - [`body_writer`]: write one response while watching the client;
//! - [`socket`]: bounded reads and timed writes on the socket.

mod body_writer;
pub(crate) mod head;
pub(crate) mod response;
mod socket;

use std::io;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, StatusCode};
use http_body_util::Empty;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use self::body_writer::Written;
use self::head::{Limits, Parsed};
use self::response::Exchange;
use self::socket::Read;
use crate::until_shutdown::UntilShutdown;
use crate::{Route, ServerConfig};

/// How the direct path left a connection.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Done with: closed, or to be dropped.
    Done,
    /// hyper must serve the rest of the connection, starting with these
    /// bytes, already read from it.
    HandOver(TcpStream, Vec<u8>),
}

/// Serves requests on `stream` until it closes, the client leaves, a request
/// needs hyper, or `shutdown` is cancelled.
pub(crate) async fn serve(
    stream: TcpStream,
    route: &Route,
    config: &ServerConfig,
    shutdown: &CancellationToken,
) -> Outcome {
    let limits = Limits {
        max_head: config.max_head_size,
        max_headers: config.max_headers,
    };
    // Bytes read and not yet answered: a head, and what a client sent after
    // it. Empty (no allocation) while a response streams.
    let mut pending = Vec::new();
    // Only a connection's first bytes may be the HTTP/2 preface.
    let mut first = true;
    loop {
        let silence = if first {
            config.first_byte_timeout
        } else {
            config.idle_timeout
        };
        let waits = Waits {
            silence,
            head: config.head_timeout,
        };
        let arrival = tokio::select! {
            arrival = read_head(&stream, &mut pending, first, limits, waits) => arrival,
            () = shutdown.cancelled() => return Outcome::Done,
        };
        first = false;
        let (request, head_len, keep_alive) = match arrival {
            Ok(Some(Parsed::Request {
                request,
                head_len,
                keep_alive,
            })) => (request, head_len, keep_alive),
            Ok(Some(Parsed::Handoff)) => return Outcome::HandOver(stream, pending),
            Ok(Some(Parsed::Reject(status))) => {
                let reject = response::reject(status);
                let mut parts = [&reject[..]];
                let written = socket::write_all(&stream, &mut parts, config.write_timeout);
                if written.await.is_ok() {
                    linger(stream).await;
                }
                return Outcome::Done;
            }
            Ok(Some(Parsed::Partial) | None) | Err(_) => return Outcome::Done,
        };
        // What follows the head (a pipelined request) moves to a buffer of
        // its own size: a large head's buffer is not kept for a stream's
        // whole life. Usually nothing follows, and nothing is kept.
        pending = pending.split_off(head_len);
        let is_head = request.method() == Method::HEAD;
        let version = request.version();
        let response = route
            .respond(request.map(|()| Empty::<Bytes>::new()))
            .await
            .map(|body| UntilShutdown::new(body, shutdown));
        let exchange = Exchange {
            is_head,
            version,
            keep_alive: keep_alive && !shutdown.is_cancelled(),
        };
        let written = body_writer::write_response(
            &stream,
            response,
            exchange,
            &mut pending,
            config.write_timeout,
        );
        match written.await {
            Ok(Written::KeepAlive) if !shutdown.is_cancelled() => continue,
            Ok(Written::KeepAlive | Written::Close) => {
                // The client may have sent more (pipelined requests that
                // will not be answered): closing over unread bytes would
                // reset the connection and destroy the response's tail.
                linger(stream).await;
                return Outcome::Done;
            }
            Ok(Written::Abort) => return Outcome::Done,
            Err(error) => {
                tracing::debug!(%error, "connection ended during a response");
                return Outcome::Done;
            }
        }
    }
}

/// How long a connection may wait for a request: `silence` until its first
/// byte, then `head` for the whole head.
#[derive(Debug, Clone, Copy)]
struct Waits {
    silence: Option<Duration>,
    head: Option<Duration>,
}

/// Reads until `pending` holds a whole request head (or something that is
/// not one). `None`: nothing to answer, close (the client closed the
/// connection, or sent nothing for `waits.silence`).
async fn read_head(
    stream: &TcpStream,
    pending: &mut Vec<u8>,
    first: bool,
    limits: Limits,
    waits: Waits,
) -> io::Result<Option<Parsed>> {
    let mut started = !pending.is_empty();
    let wait = if started { waits.head } else { waits.silence };
    let mut deadline = wait.map(|wait| Instant::now() + wait);
    let mut old_len = 0;
    loop {
        // Past the limit the head is refused even if it has not ended.
        let worth_parsing =
            pending.len() >= limits.max_head || head::may_be_complete(pending, old_len);
        if !pending.is_empty() && worth_parsing {
            // A client pipelining without end gets its turn taken now and
            // then, like any task.
            tokio::task::coop::consume_budget().await;
            match head::parse(pending, first, limits) {
                Parsed::Partial => {}
                parsed => return Ok(Some(parsed)),
            }
        }
        old_len = pending.len();
        if !started && !pending.is_empty() {
            started = true;
            deadline = waits.head.map(|wait| Instant::now() + wait);
        }
        // The buffer is allocated once a request starts arriving, not while
        // a kept-alive connection waits for one.
        let read = socket::read_some(stream, pending, limits.max_head);
        let read = match deadline {
            None => read.await?,
            Some(deadline) => match tokio::time::timeout_at(deadline, read).await {
                Ok(read) => read?,
                Err(_elapsed) if started => {
                    return Ok(Some(Parsed::Reject(StatusCode::REQUEST_TIMEOUT)))
                }
                Err(_elapsed) => {
                    tracing::debug!("closing a connection that sent no request in time");
                    return Ok(None);
                }
            },
        };
        if read == Read::Closed {
            return Ok(None);
        }
    }
}

/// Closes a connection whose client may still be sending (a refused head):
/// says it is done, then reads and drops what arrives for a short while.
/// Closing with unread bytes would reset the connection, and the client could
/// lose the response before reading it.
async fn linger(mut stream: TcpStream) {
    const MAX_BYTES: usize = 256 * 1024;
    const MAX_TIME: Duration = Duration::from_secs(1);
    if stream.shutdown().await.is_err() {
        return;
    }
    let drain = async {
        let mut sink = [0; 1024];
        let mut drained = 0;
        while drained < MAX_BYTES {
            match tokio::io::AsyncReadExt::read(&mut stream, &mut sink).await {
                Ok(0) | Err(_) => return,
                Ok(n) => drained += n,
            }
        }
    };
    let _ = tokio::time::timeout(MAX_TIME, drain).await;
}
