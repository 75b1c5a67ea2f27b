//! The two waits hyper does not bound: a write to a client that stopped
//! reading, and a request body that stopped arriving.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use sse_marshal::BoxError;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// A timer armed while something waits, disarmed by progress.
#[derive(Debug)]
struct Stall {
    timeout: Option<Duration>,
    /// Allocated at the first wait and reused after.
    timer: Option<Pin<Box<Sleep>>>,
    armed: bool,
}

impl Stall {
    fn new(timeout: Option<Duration>) -> Self {
        Stall {
            timeout,
            timer: None,
            armed: false,
        }
    }

    fn progressed(&mut self) {
        self.armed = false;
    }

    /// Called when the wait goes on; `true` once it has lasted the timeout.
    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(timeout) = self.timeout else {
            return false;
        };
        let deadline = Instant::now() + timeout;
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if !self.armed {
            self.armed = true;
            timer.as_mut().reset(deadline);
        }
        timer.as_mut().poll(cx).is_ready()
    }
}

pin_project! {
    /// An IO whose writes fail with `TimedOut` once the peer has accepted
    /// no byte for the timeout: hyper then drops the connection, and the
    /// response bodies on it.
    #[derive(Debug)]
    pub(crate) struct WriteTimeout<I> {
        #[pin]
        io: I,
        stall: Stall,
    }
}

impl<I> WriteTimeout<I> {
    pub(crate) fn new(io: I, timeout: Option<Duration>) -> Self {
        WriteTimeout {
            io,
            stall: Stall::new(timeout),
        }
    }
}

fn timed_out() -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        "the client accepted no bytes within the write timeout",
    )
}

impl<I> WriteTimeout<I> {
    fn watch<T>(
        stall: &mut Stall,
        cx: &mut Context<'_>,
        poll: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        match poll {
            Poll::Ready(result) => {
                stall.progressed();
                Poll::Ready(result)
            }
            Poll::Pending if stall.expired(cx) => Poll::Ready(Err(timed_out())),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<I: AsyncRead> AsyncRead for WriteTimeout<I> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.project().io.poll_read(cx, buf)
    }
}

impl<I: AsyncWrite> AsyncWrite for WriteTimeout<I> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.project();
        let poll = this.io.poll_write(cx, buf);
        Self::watch(this.stall, cx, poll)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.project();
        let poll = this.io.poll_write_vectored(cx, bufs);
        Self::watch(this.stall, cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.project();
        let poll = this.io.poll_flush(cx);
        Self::watch(this.stall, cx, poll)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.project();
        let poll = this.io.poll_shutdown(cx);
        Self::watch(this.stall, cx, poll)
    }
}

pin_project! {
    /// A request body that fails once its client has sent nothing for the
    /// timeout.
    #[derive(Debug)]
    pub(crate) struct BodyTimeout<B> {
        #[pin]
        body: B,
        stall: Stall,
        failed: bool,
    }
}

impl<B> BodyTimeout<B> {
    pub(crate) fn new(body: B, timeout: Option<Duration>) -> Self {
        BodyTimeout {
            body,
            stall: Stall::new(timeout),
            failed: false,
        }
    }
}

impl<B> Body for BodyTimeout<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.project();
        if *this.failed {
            return Poll::Ready(None);
        }
        match this.body.poll_frame(cx) {
            Poll::Ready(frame) => {
                this.stall.progressed();
                Poll::Ready(frame.map(|frame| frame.map_err(Into::into)))
            }
            Poll::Pending if this.stall.expired(cx) => {
                *this.failed = true;
                Poll::Ready(Some(Err(
                    "the client sent no part of the request body within the timeout".into(),
                )))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.failed || self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{BodyExt, StreamBody};
    use tokio::io::AsyncWriteExt;

    #[tokio::test(start_paused = true)]
    async fn a_write_that_waits_too_long_fails_and_progress_resets_the_timer() {
        // A pipe whose reader takes nothing: the second write waits.
        let (writer, mut reader) = tokio::io::duplex(4);
        let mut writer = WriteTimeout::new(writer, Some(Duration::from_secs(5)));
        writer.write_all(b"1234").await.unwrap();
        let start = Instant::now();
        let error = writer.write_all(b"5").await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert_eq!(start.elapsed(), Duration::from_secs(5));

        // Reading makes room: the next stall gets the whole timeout again.
        let mut sink = [0; 4];
        tokio::io::AsyncReadExt::read_exact(&mut reader, &mut sink)
            .await
            .unwrap();
        writer.write_all(b"abcd").await.unwrap();
        let start = Instant::now();
        assert!(writer.write_all(b"e").await.is_err());
        assert_eq!(start.elapsed(), Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_stalls_fails_once_then_ends() {
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, BoxError>>(1);
        let frames = tokio_stream::wrappers::ReceiverStream::new(rx);
        let mut body = BodyTimeout::new(StreamBody::new(frames), Some(Duration::from_secs(3)));
        tx.send(Ok(Frame::data(Bytes::from_static(b"a"))))
            .await
            .unwrap();
        let first = body.frame().await.unwrap().unwrap();
        assert_eq!(first.into_data().unwrap(), "a");
        let start = Instant::now();
        assert!(body.frame().await.unwrap().is_err());
        assert_eq!(start.elapsed(), Duration::from_secs(3));
        assert!(body.frame().await.is_none());
        drop(tx);
    }
}
