//! Sending the request: the role of Alpakka's `send` function.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use sse_marshal::BoxError;

/// The body of a response, boxed so that any client can be plugged in.
pub type ClientBody = UnsyncBoxBody<Bytes, BoxError>;

/// The future of a sent request.
pub type SendFuture = Pin<Box<dyn Future<Output = Result<Response<ClientBody>, BoxError>> + Send>>;

/// Sends one request and returns the response: how the client reaches the
/// server. The client prepares every request (method `GET`, the URI,
/// `Accept`, `Cache-Control` and `Last-Event-ID`); the sender may change
/// anything (add headers, use another method or a body, go through TLS or a
/// proxy) before sending it.
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
/// let connector = EventSourceConnector::new("http://127.0.0.1:8000/events".parse().unwrap())
///     .with_sender(move |request: http::Request<()>| {
///         let (mut parts, ()) = request.into_parts();
///         parts.headers.insert("authorization", "Bearer secret".parse().unwrap());
///         client.request(http::Request::from_parts(parts, Empty::new()))
///     });
/// # let _ = connector;
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

/// The default sender: a plain-HTTP hyper-util client (HTTP/1.1).
pub(crate) struct HyperSender {
    client: Client<HttpConnector, Empty<Bytes>>,
}

impl HyperSender {
    pub(crate) fn new() -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        HyperSender {
            client: Client::builder(TokioExecutor::new()).build(connector),
        }
    }
}

impl fmt::Debug for HyperSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HyperSender")
    }
}

impl SendRequest for HyperSender {
    fn send(&self, request: Request<()>) -> SendFuture {
        let (parts, ()) = request.into_parts();
        let future = self
            .client
            .request(Request::from_parts(parts, Empty::new()));
        Box::pin(async move {
            let response = future.await?;
            Ok(response.map(|body| body.map_err(Into::into).boxed_unsync()))
        })
    }
}
