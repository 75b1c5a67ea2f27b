//! The server side of one connection: an HTTP/1.1 writer of its own for
//! requests without a body, hyper for everything else.
//!
//! An event stream connection spends its whole life writing one response.
//! hyper's HTTP/1.1 connection keeps an 8 KiB read buffer and an 8 KiB write
//! buffer for all of it, 16 of the ~19 KiB a connection costs; this writer
//! keeps no buffer while a response streams (the request head's buffer is
//! freed once it is read) and writes each frame straight to the socket, the
//! chunk's size line and the frame's shared bytes in one `writev`. Requests
//! with a body, upgrades, `Expect` and HTTP/2 go to hyper, with the bytes
//! already read replayed in front of the socket ([`Rewind`]).

mod head;
mod response;
mod rewind;

use std::io;
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Response, StatusCode};
use http_body::Body;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use self::head::{Parsed, MAX_HEAD};
use self::response::{Exchange, Framing};
use self::rewind::Rewind;
use crate::serve::{RouteService, UntilShutdown};
use crate::Route;

/// How much to read at a time while waiting for a request head.
const READ_SIZE: usize = 1024;

/// How long a request head may take to arrive, from its first byte: a client
/// that trickles a head in forever is answered `408` and disconnected.
/// Waiting for the first byte of the next request on a kept-alive
/// connection has no limit (browsers keep idle connections open).
const HEAD_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves every request of `stream` until it closes, the client leaves, or
/// `shutdown` is cancelled.
pub(crate) async fn serve_connection(stream: TcpStream, route: Route, shutdown: CancellationToken) {
    // Bytes read and not yet answered: a head, and what a client sent after
    // it. Empty (no allocation) while a response streams.
    let mut pending = Vec::new();
    // Only a connection's first bytes may be the HTTP/2 preface.
    let mut first = true;
    loop {
        let parsed = tokio::select! {
            parsed = read_head(&stream, &mut pending, first) => parsed,
            () = shutdown.cancelled() => return,
        };
        first = false;
        let (request, head_len, keep_alive) = match parsed {
            Ok(Parsed::Request {
                request,
                head_len,
                keep_alive,
            }) => (request, head_len, keep_alive),
            Ok(Parsed::Handoff) => return hand_over(stream, pending, route, shutdown).await,
            Ok(Parsed::Reject(status)) => {
                let reject = response::reject(status);
                if response::write_all(&stream, &mut [&reject]).await.is_ok() {
                    linger(stream).await;
                }
                return;
            }
            Ok(Parsed::Partial) | Err(_) => return,
        };
        // What follows the head (a pipelined request) moves to a buffer of
        // its own size: a large head's buffer is not kept for a stream's
        // whole life. Usually nothing follows, and nothing is kept.
        pending = pending.split_off(head_len);
        let exchange = Exchange {
            is_head: request.method() == Method::HEAD,
            version: request.version(),
            keep_alive,
        };
        let response = route
            .respond(request.map(|()| Empty::<Bytes>::new()))
            .await
            .map(|body| UntilShutdown::new(body, &shutdown));
        let exchange = Exchange {
            keep_alive: exchange.keep_alive && !shutdown.is_cancelled(),
            ..exchange
        };
        match write_response(&stream, response, exchange, &mut pending).await {
            Ok(true) if !shutdown.is_cancelled() => continue,
            Ok(_) => {
                // The client may have sent more (pipelined requests that
                // will not be answered): closing over unread bytes would
                // reset the connection and destroy the response's tail.
                linger(stream).await;
                return;
            }
            Err(error) => {
                tracing::debug!(%error, "connection ended during a response");
                return;
            }
        }
    }
}

/// Reads until `pending` holds a whole request head (or something that is
/// not one); `Ok(Parsed::Partial)` means the client closed the connection.
async fn read_head(stream: &TcpStream, pending: &mut Vec<u8>, first: bool) -> io::Result<Parsed> {
    let mut old_len = 0;
    let mut deadline = None;
    loop {
        // Past the limit the head is refused even if it has not ended.
        let worth_parsing = pending.len() > MAX_HEAD || head::may_be_complete(pending, old_len);
        if !pending.is_empty() && worth_parsing {
            // A client pipelining without end gets its turn taken now and
            // then, like any task.
            tokio::task::coop::consume_budget().await;
            match head::parse(pending, first) {
                Parsed::Partial => {}
                parsed => return Ok(parsed),
            }
        }
        old_len = pending.len();
        if !pending.is_empty() && deadline.is_none() {
            deadline = Some(tokio::time::Instant::now() + HEAD_TIMEOUT);
        }
        // The buffer is allocated once a request starts arriving, not while
        // a kept-alive connection waits for one.
        match deadline {
            None => stream.readable().await?,
            Some(deadline) => match tokio::time::timeout_at(deadline, stream.readable()).await {
                Ok(ready) => ready?,
                Err(_elapsed) => return Ok(Parsed::Reject(StatusCode::REQUEST_TIMEOUT)),
            },
        }
        pending.reserve(READ_SIZE);
        match stream.try_read_buf(pending) {
            Ok(0) => return Ok(Parsed::Partial),
            Ok(_) => {}
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
            Err(error) => return Err(error),
        }
    }
}

/// Closes a connection whose client may still be sending (a refused head):
/// says it is done, then reads and drops what arrives for a short while.
/// Closing with unread bytes would reset the connection, and the client could
/// lose the response before reading it.
async fn linger(mut stream: TcpStream) {
    const MAX_BYTES: usize = 256 * 1024;
    const MAX_TIME: std::time::Duration = std::time::Duration::from_secs(1);
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

/// Writes `response`; returns whether the connection can carry another
/// request. While the body streams, the client is watched: when it closes
/// the connection the body (an event stream's source with it) is dropped at
/// once; bytes it sends (a pipelined request) are kept for later.
async fn write_response<B>(
    stream: &TcpStream,
    response: Response<B>,
    exchange: Exchange,
    pending: &mut Vec<u8>,
) -> io::Result<bool>
where
    B: Body<Data = Bytes>,
    B::Error: std::fmt::Display,
{
    let (mut parts, body) = response.into_parts();
    let (head, framing, keep_alive) = response::head(&mut parts, &body.size_hint(), exchange);
    drop(parts);
    let mut writer = BodyWriter {
        stream,
        head: Some(head),
        framing,
        left: match framing {
            Framing::Length(length) => length,
            _ => u64::MAX,
        },
        keep_alive,
    };
    if framing == Framing::None || writer.left == 0 {
        writer.write(&mut []).await?;
        return Ok(keep_alive);
    }
    let mut body = std::pin::pin!(body);
    // The head goes out with the first frame if that is ready at once (a
    // whole body; the events a stream has waiting), else on its own: an
    // event stream client waits for the head to open.
    let first = std::future::poll_fn(|cx| Poll::Ready(body.as_mut().poll_frame(cx))).await;
    match first {
        Poll::Ready(frame) => {
            if let Some(done) = writer.frame(frame).await? {
                return Ok(done);
            }
        }
        Poll::Pending => writer.write(&mut []).await?,
    }
    let mut watching = true;
    loop {
        let frame = tokio::select! {
            biased;
            frame = BodyExt::frame(&mut body) => frame,
            peer = watch_peer(stream, pending), if watching => match peer? {
                Peer::Gone => return Ok(false),
                Peer::Sent => {
                    // A client that sends without end is not read any
                    // further; a write will tell when it leaves.
                    watching = pending.len() < MAX_HEAD;
                    continue;
                }
            },
        };
        if let Some(done) = writer.frame(frame).await? {
            return Ok(done);
        }
        // A body that is always ready, to a client that always reads, would
        // otherwise never let the worker thread run anything else: socket
        // readiness and `try_write` do not count against tokio's budget.
        tokio::task::coop::consume_budget().await;
    }
}

/// Writes a body's frames with the framing chosen for it.
struct BodyWriter<'a> {
    stream: &'a TcpStream,
    /// The response head, until it has been written.
    head: Option<Vec<u8>>,
    framing: Framing,
    /// Bytes still to write of a `Length` body.
    left: u64,
    keep_alive: bool,
}

impl BodyWriter<'_> {
    /// Writes one frame (or the end of the body); returns `Some(keep_alive)`
    /// once the response is over.
    async fn frame<E: std::fmt::Display>(
        &mut self,
        frame: Option<Result<http_body::Frame<Bytes>, E>>,
    ) -> io::Result<Option<bool>> {
        let data = match frame {
            None => {
                return match self.framing {
                    Framing::Chunked => {
                        self.write(&mut [b"0\r\n\r\n"]).await?;
                        Ok(Some(self.keep_alive))
                    }
                    // A body shorter than its declared length: the
                    // response is broken, only closing can say so.
                    _ => {
                        self.write(&mut []).await?;
                        Ok(Some(false))
                    }
                };
            }
            Some(Err(error)) => {
                // As hyper does: the response ends without its proper end,
                // so the client sees it fail.
                tracing::debug!(%error, "response body failed; closing the connection");
                return Ok(Some(false));
            }
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) if !data.is_empty() => data,
                // Trailers (not sent over HTTP/1.1 here) and empty frames (a
                // zero-size chunk would end the body). The head must not
                // wait for the next frame, though.
                _ => {
                    if self.head.is_some() {
                        self.write(&mut []).await?;
                    }
                    return Ok(None);
                }
            },
        };
        match self.framing {
            Framing::Chunked => {
                let mut size_line = [0; 18];
                let size_line = response::chunk_size_line(data.len(), &mut size_line);
                self.write(&mut [size_line, &data, b"\r\n"]).await?;
                Ok(None)
            }
            Framing::Length(_) => {
                let len = u64::try_from(data.len()).unwrap_or(u64::MAX);
                let take = len.min(self.left);
                // `take` is at most `data.len()`.
                let take = usize::try_from(take).unwrap_or(data.len());
                self.write(&mut [&data[..take]]).await?;
                self.left -= take as u64;
                if len > take as u64 {
                    tracing::debug!("response body longer than its content-length; closing");
                    return Ok(Some(false));
                }
                Ok((self.left == 0).then_some(self.keep_alive))
            }
            Framing::UntilClose | Framing::None => {
                self.write(&mut [&data]).await?;
                Ok(None)
            }
        }
    }

    /// Writes `parts`, after the head if it has not gone out yet.
    async fn write(&mut self, parts: &mut [&[u8]]) -> io::Result<()> {
        match self.head.take() {
            None => response::write_all(self.stream, parts).await,
            Some(head) => {
                let mut all: [&[u8]; 4] = [&head, &[], &[], &[]];
                for (slot, part) in all[1..].iter_mut().zip(parts.iter()) {
                    *slot = part;
                }
                response::write_all(self.stream, &mut all).await
            }
        }
    }
}

/// What the client did while a response was being written.
enum Peer {
    /// It closed the connection.
    Gone,
    /// It sent more bytes (now in `pending`).
    Sent,
}

async fn watch_peer(stream: &TcpStream, pending: &mut Vec<u8>) -> io::Result<Peer> {
    loop {
        stream.readable().await?;
        pending.reserve(READ_SIZE);
        match stream.try_read_buf(pending) {
            Ok(0) => return Ok(Peer::Gone),
            Ok(_) => return Ok(Peer::Sent),
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
            Err(error) => return Err(error),
        }
    }
}

/// Lets hyper serve the rest of the connection, starting with the bytes
/// already read.
async fn hand_over(stream: TcpStream, pending: Vec<u8>, route: Route, shutdown: CancellationToken) {
    let service = RouteService::new(route, shutdown.clone());
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // The same limit on a request head as this module's own.
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEAD_TIMEOUT);
    let io = TokioIo::new(Rewind::new(Bytes::from(pending), stream));
    let connection = builder.serve_connection(io, service);
    let mut connection = std::pin::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = shutdown.cancelled() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = result {
        tracing::debug!(%error, "connection ended with an error");
    }
}
