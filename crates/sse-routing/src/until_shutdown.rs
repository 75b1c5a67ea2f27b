//! A response body that ends cleanly when the server shuts down.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use sse_marshal::BoxError;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

pin_project! {
    /// A body that ends cleanly when the server shuts down.
    pub(crate) struct UntilShutdown<B> {
        #[pin]
        body: B,
        #[pin]
        shutdown: WaitForCancellationFutureOwned,
    }
}

impl<B> UntilShutdown<B> {
    pub(crate) fn new(body: B, shutdown: &CancellationToken) -> Self {
        UntilShutdown {
            body,
            shutdown: shutdown.clone().cancelled_owned(),
        }
    }
}

impl<B> Body for UntilShutdown<B>
where
    B: Body<Data = Bytes, Error = BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.project();
        // Only a body of unknown length (an event stream) ends early: a
        // response that announced its length is sent whole.
        if this.body.size_hint().exact().is_none() && this.shutdown.poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        this.body.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
