//! Writing one response: its head, then its body's frames as they come,
//! while watching the client.

use std::io;
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use http::Response;
use http_body::Body;
use http_body_util::BodyExt;
use tokio::net::TcpStream;

use super::response::{self, Exchange, Framing};
use super::socket::{self, Read};
use crate::config::MAX_READ_AHEAD;

/// How a response ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Written {
    /// Whole; the connection may carry another request.
    KeepAlive,
    /// Whole, or ended as the protocol allows, and the connection must
    /// close (gracefully: the client may still be reading).
    Close,
    /// The client left or misbehaved: close at once.
    Abort,
}

/// Writes `response`. While the body is written, the client is watched:
/// when it closes the connection the body (an event stream's source with
/// it) is dropped at once. What it sends meanwhile (a pipelined request) is
/// kept in `pending`, up to [`MAX_READ_AHEAD`] bytes: beyond that a response
/// of known length stops reading (the kernel holds the rest until the next
/// request is read), and a streaming one, which may never end, closes the
/// connection.
pub(crate) async fn write_response<B>(
    stream: &TcpStream,
    response: Response<B>,
    exchange: Exchange,
    pending: &mut Vec<u8>,
    write_timeout: Option<Duration>,
) -> io::Result<Written>
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
        write_timeout,
    };
    if framing == Framing::None || writer.left == 0 {
        writer.write(&mut []).await?;
        return Ok(writer.ended(keep_alive));
    }
    let streaming = matches!(framing, Framing::Chunked | Framing::UntilClose);
    let mut body = std::pin::pin!(body);
    // The head goes out with the first frame if that is ready at once (a
    // whole body; the events a stream has waiting), else on its own: an
    // event stream client waits for the head to open.
    let first = std::future::poll_fn(|cx| Poll::Ready(body.as_mut().poll_frame(cx))).await;
    match first {
        Poll::Ready(frame) => {
            if let Some(written) = writer.frame(frame).await? {
                return Ok(written);
            }
        }
        Poll::Pending => writer.write(&mut []).await?,
    }
    let mut watching = true;
    loop {
        let frame = tokio::select! {
            biased;
            frame = BodyExt::frame(&mut body) => frame,
            read = socket::read_some(stream, pending, MAX_READ_AHEAD + 1), if watching => {
                if read? == Read::Closed {
                    return Ok(Written::Abort);
                }
                if pending.len() > MAX_READ_AHEAD {
                    if streaming {
                        tracing::debug!("a client sent too much during a stream; closing");
                        return Ok(Written::Abort);
                    }
                    // The rest waits in the kernel; a write will tell if
                    // the client leaves meanwhile.
                    watching = false;
                }
                continue;
            }
        };
        if let Some(written) = writer.frame(frame).await? {
            return Ok(written);
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
    write_timeout: Option<Duration>,
}

impl BodyWriter<'_> {
    fn ended(&self, keep_alive: bool) -> Written {
        if keep_alive {
            Written::KeepAlive
        } else {
            Written::Close
        }
    }

    /// Writes one frame (or the end of the body); returns how the response
    /// ended once it has.
    async fn frame<E: std::fmt::Display>(
        &mut self,
        frame: Option<Result<http_body::Frame<Bytes>, E>>,
    ) -> io::Result<Option<Written>> {
        let data = match frame {
            None => {
                return match self.framing {
                    Framing::Chunked => {
                        self.write(&mut [b"0\r\n\r\n"]).await?;
                        Ok(Some(self.ended(self.keep_alive)))
                    }
                    // A body shorter than its declared length: the
                    // response is broken, only closing can say so.
                    _ => {
                        self.write(&mut []).await?;
                        Ok(Some(Written::Close))
                    }
                };
            }
            Some(Err(error)) => {
                // As hyper does: the response ends without its proper end,
                // so the client sees it fail.
                tracing::debug!(%error, "response body failed; closing the connection");
                return Ok(Some(Written::Close));
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
                    return Ok(Some(Written::Close));
                }
                Ok((self.left == 0).then(|| self.ended(self.keep_alive)))
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
            None => socket::write_all(self.stream, parts, self.write_timeout).await,
            Some(head) => {
                let mut all: [&[u8]; 4] = [&head, &[], &[], &[]];
                for (slot, part) in all[1..].iter_mut().zip(parts.iter()) {
                    *slot = part;
                }
                socket::write_all(self.stream, &mut all, self.write_timeout).await
            }
        }
    }
}
