//! Sending the request: the role of Alpakka's `send` function.

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::BodyExt;
use sse_marshal::BoxError;

/// The body of a response, boxed so that any client can be plugged in.
pub type ClientBody = UnsyncBoxBody<Bytes, BoxError>;

/// The future of a sent request.
pub type SendFuture = Pin<Box<dyn Future<Output = Result<Response<ClientBody>, BoxError>> + Send>>;

/// Sends one request and returns the response: how the client reaches the
/// server, when the default transport (HTTP/1.1 and HTTP/2, rustls, proxies)
/// will not do. The connector prepares every request (method `GET`, the URI,
/// `Accept`, `Cache-Control`, `Last-Event-ID` and the caller's headers) and
/// calls the sender for each one, redirects included, after removing the
/// credentials that must not follow a redirect to another origin. A sender
/// transports; it adds no credentials of its own (they would follow every
/// redirect): give them to
/// [`with_header`](crate::EventSourceConnector::with_header) or
/// [`with_request`](crate::EventSourceConnector::with_request).
///
/// Any `Fn(Request<()>) -> impl Future<Output = Result<Response<B>, E>>` is a
/// sender:
///
/// ```
/// use bytes::Bytes;
/// use http_body_util::Empty;
/// use hyper_util::client::legacy::Client;
/// use hyper_util::rt::TokioExecutor;
/// use sse_connector::EventSourceConnector;
///
/// let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
/// let connector = EventSourceConnector::new("http://127.0.0.1:8000/events")?
///     .with_sender(move |request: http::Request<()>| {
///         let (parts, ()) = request.into_parts();
///         client.request(http::Request::from_parts(parts, Empty::new()))
///     });
/// # let _ = connector;
/// # Ok::<(), sse_connector::Error>(())
/// ```
pub trait SendRequest: Send + Sync + 'static {
    /// Sends the request.
    fn send(&self, request: Request<()>) -> SendFuture;
}

impl<F, Fut, B, E> SendRequest for F
where
    F: Fn(Request<()>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Response<B>, E>> + Send + 'static,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
    E: Into<BoxError>,
{
    fn send(&self, request: Request<()>) -> SendFuture {
        let future = self(request);
        Box::pin(async move {
            let response = future.await.map_err(Into::into)?;
            Ok(response.map(|body| body.map_err(Into::into).boxed_unsync()))
        })
    }
}
