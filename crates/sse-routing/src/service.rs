//! A [`Route`] as a service: tower's, so that axum and any tower stack can
//! mount it, and hyper's, so that a hyper connection can serve it directly.
//!
//! Mounted elsewhere, a route answers requests exactly as under this
//! crate's [`Server`](crate::Server), but the connection is the host's: its
//! timeouts, limits, TLS and shutdown apply, not [`ServerConfig`](crate::ServerConfig)'s.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use sse_marshal::{BoxError, ResponseBody};

use crate::Route;

/// The future of a [`Route`] answering one request as a service; it never
/// fails.
#[must_use = "futures do nothing unless polled"]
pub struct RouteFuture {
    inner: Pin<Box<dyn Future<Output = Response<ResponseBody>> + Send>>,
}

impl RouteFuture {
    fn new<B>(route: Route, request: Request<B>) -> Self
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        RouteFuture {
            inner: Box::pin(async move { route.respond(request).await }),
        }
    }
}

impl Future for RouteFuture {
    type Output = Result<Response<ResponseBody>, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx).map(Ok)
    }
}

impl fmt::Debug for RouteFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RouteFuture").finish_non_exhaustive()
    }
}

/// A route is a tower service for any request body of [`Bytes`], always
/// ready and never failing: axum mounts it with `Router::fallback_service`,
/// `nest_service` or `route_service`, and tower's layers wrap it.
///
/// ```
/// use std::convert::Infallible;
/// use http_body_util::{BodyExt, Empty};
/// use sse_routing::path;
/// use tower_service::Service;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let mut route = path("hello").get().complete("hello");
/// let request = http::Request::get("/hello").body(Empty::<bytes::Bytes>::new()).unwrap();
/// let response = route.call(request).await?;
/// let body = response.into_body().collect().await.unwrap().to_bytes();
/// assert_eq!(&body[..], b"hello");
/// # Ok::<(), Infallible>(())
/// # }).unwrap();
/// ```
impl<B> tower_service::Service<Request<B>> for Route
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response<ResponseBody>;
    type Error = Infallible;
    type Future = RouteFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> RouteFuture {
        RouteFuture::new(self.clone(), request)
    }
}

/// A route is also a hyper service, so a connection of hyper's own (or
/// hyper-util's) serves it as it is.
impl<B> hyper::service::Service<Request<B>> for Route
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response<ResponseBody>;
    type Error = Infallible;
    type Future = RouteFuture;

    fn call(&self, request: Request<B>) -> RouteFuture {
        RouteFuture::new(self.clone(), request)
    }
}
