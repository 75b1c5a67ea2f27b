//! Serving a route on a TCP listener, with graceful shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use pin_project_lite::pin_project;
use sse_marshal::{BoxError, ResponseBody};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};
use tokio_util::task::TaskTracker;

use crate::{http1, Route};

/// Serves `route` on `listener` until the process ends: HTTP/1.1, and HTTP/2
/// over cleartext (prior knowledge), on every accepted connection.
///
/// HTTP/1.1 requests without a body, which is every event stream request,
/// are read and answered by this crate's own HTTP/1.1 writer: it holds no
/// buffer while a response streams and writes each frame straight to the
/// socket, so an open event stream costs about a quarter of the memory
/// hyper's HTTP/1.1 connection needs (~5 KiB against ~20 KiB, measured in
/// `BENCHMARKS.md`). Requests with a body, upgrades, `Expect: 100-continue`
/// and HTTP/2 are served by hyper. Request heads are limited to 64 KiB and
/// 100 fields (`431` beyond), and to 30 seconds from their first byte (`408`
/// beyond, against clients that trickle a head in forever); a malformed one
/// gets `400`. A kept-alive connection may wait for its next request without
/// a limit.
///
/// ```no_run
/// use sse_routing::{path, serve};
///
/// # async fn run() -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
/// serve(listener, path("").get().complete("hello")).await
/// # }
/// ```
pub async fn serve(listener: TcpListener, route: Route) -> io::Result<()> {
    serve_with_shutdown(listener, route, std::future::pending()).await
}

/// Serves `route` on `listener` until `signal` completes, then shuts down
/// gracefully: it stops accepting, ends every open event stream (cleanly, so
/// its client reconnects, to another instance if there is one), lets the
/// connections finish their responses, closes those still busy ten seconds
/// later (a client that stopped reading), and returns.
///
/// A client that disconnects has its response dropped at once, event stream
/// source included, as soon as the connection notices (a closed socket is
/// seen on the next read or write; a heartbeat guarantees a write).
pub async fn serve_with_shutdown<F>(
    listener: TcpListener,
    route: Route,
    signal: F,
) -> io::Result<()>
where
    F: Future<Output = ()> + Send,
{
    let shutdown = CancellationToken::new();
    let connections = TaskTracker::new();
    let mut signal = std::pin::pin!(signal);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut signal => break,
        };
        let stream = match accepted {
            Ok((stream, _peer)) => stream,
            Err(error) => {
                // Out of file descriptors and the like: back off and go on
                // rather than bring the whole server down.
                tracing::warn!(%error, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // Events are small writes that must go out at once.
        let _ = stream.set_nodelay(true);
        connections.spawn(connection_task(stream, route.clone(), shutdown.clone()));
    }
    drop(listener);
    tracing::debug!("shutting down: ending open responses");
    shutdown.cancel();
    connections.close();
    connections.wait().await;
    Ok(())
}

/// How long connections may take to finish after the shutdown signal:
/// event streams end at once, but a client that stopped reading can keep a
/// write waiting for ever.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// One connection's task: served until it ends, or closed once the shutdown
/// grace period is over.
async fn connection_task(stream: TcpStream, route: Route, shutdown: CancellationToken) {
    // A function of its own, the connection made and pinned in place:
    // the same `select!` written inline in `serve_with_shutdown` cost
    // ~3 KiB more per open connection in `examples/load` (7.9 against
    // 5.1 KiB), which `size_of_val` did not show. Measure before
    // reshaping this.
    let connection = std::pin::pin!(http1::serve_connection(stream, route, shutdown.clone()));
    let grace = async {
        shutdown.cancelled().await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    tokio::select! {
        () = connection => {}
        () = grace => tracing::debug!("closing a connection still busy after the grace period"),
    }
}

/// The hyper service of one connection.
#[derive(Clone)]
pub(crate) struct RouteService {
    route: Route,
    shutdown: CancellationToken,
}

impl RouteService {
    pub(crate) fn new(route: Route, shutdown: CancellationToken) -> Self {
        RouteService { route, shutdown }
    }
}

impl hyper::service::Service<Request<Incoming>> for RouteService {
    type Response = Response<UntilShutdown<ResponseBody>>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let route = self.route.clone();
        let shutdown = self.shutdown.clone();
        Box::pin(async move {
            let response = route.respond(request).await;
            Ok(response.map(|body| UntilShutdown::new(body, &shutdown)))
        })
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every open connection is one task of this size: a future that grows
    /// (a buffer held across an `await`) costs that much per open stream.
    /// The load test remains the real measure (see `connection_task`).
    #[tokio::test]
    async fn a_connection_task_stays_small() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let _client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (stream, _) = listener.accept().await.unwrap();
        let route = crate::path("").get().complete("hello");
        let task = connection_task(stream, route, CancellationToken::new());
        let size = std::mem::size_of_val(&task);
        assert!(size < 4 * 1024, "a connection task takes {size} bytes");
    }
}
