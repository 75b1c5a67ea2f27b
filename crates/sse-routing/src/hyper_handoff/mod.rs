//! The hand-over to hyper: HTTP/2, HTTP/1.1 requests with a body, upgrades
//! and `Expect`, and every HTTP/1.1 request when the direct path is off.
//!
//! hyper is configured from the [`ServerConfig`] so that a connection here is
//! bounded as one on the direct path: the head limits and timer, HTTP/2
//! keep-alive pings, and three waits hyper leaves open, added around it:
//! an idle connection ([`activity`]), a write to a client that stopped
//! reading and a request body that stopped arriving ([`timeouts`]).
//! Requests that break the `Host` rule get `400`, as on the direct path.

mod activity;
mod rewind;
mod timeouts;

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use http::header::{HeaderValue, CONNECTION};
use http::{Request, Response, StatusCode, Version};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use sse_marshal::{ResponseBody, ToResponse};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::sync::CancellationToken;

pub(crate) use self::rewind::Rewind;

use self::activity::{Activity, Tracked};
use self::timeouts::{BodyTimeout, WriteTimeout};
use crate::until_shutdown::UntilShutdown;
use crate::{host, Route, ServerConfig};

/// Which HTTP the connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    /// HTTP/2 if it starts with the preface, else HTTP/1.1 (cleartext).
    Detect,
    /// HTTP/1.1, as ALPN chose (or no ALPN).
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    Http1,
    /// HTTP/2, as ALPN chose.
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    Http2,
}

/// Serves the connection `io` with hyper until it ends, has been idle too
/// long, or `shutdown` is cancelled (then gracefully). `first_wait` bounds
/// the wait for the first request, `config.idle_timeout` the later ones.
pub(crate) async fn serve<I>(
    io: I,
    route: &Route,
    config: &ServerConfig,
    shutdown: &CancellationToken,
    protocol: Protocol,
    first_wait: Option<Duration>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let activity = Arc::new(Activity::default());
    let service = RouteService {
        route: route.clone(),
        shutdown: shutdown.clone(),
        activity: Arc::clone(&activity),
        body_timeout: config.request_body_timeout,
    };
    let builder = match protocol {
        Protocol::Detect => builder(config),
        Protocol::Http1 => builder(config).http1_only(),
        Protocol::Http2 => builder(config).http2_only(),
    };
    let io = TokioIo::new(WriteTimeout::new(io, config.write_timeout));
    let connection = builder.serve_connection(io, service);
    let mut connection = std::pin::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = activity.idle(first_wait, config.idle_timeout) => {
            tracing::debug!("closing a connection with no request in flight");
            connection.as_mut().graceful_shutdown();
            connection.await
        }
        () = shutdown.cancelled() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = result {
        tracing::debug!(%error, "connection ended with an error");
    }
}

/// hyper's connection builder with the limits of `config`.
fn builder(config: &ServerConfig) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    let mut http1 = builder.http1();
    http1
        .timer(TokioTimer::new())
        .header_read_timeout(config.head_timeout)
        // The head has to fit in the read buffer.
        .max_buf_size(config.max_head_size);
    if config.max_headers != DEFAULT_MAX_HEADERS {
        // Any value makes hyper allocate its field list per request.
        http1.max_headers(config.max_headers);
    }
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(config.http2_keep_alive_interval)
        .keep_alive_timeout(config.http2_keep_alive_timeout)
        .max_concurrent_streams(config.http2_max_concurrent_streams)
        .max_header_list_size(u32::try_from(config.max_head_size).unwrap_or(u32::MAX));
    builder
}

/// hyper's own limit on header fields.
const DEFAULT_MAX_HEADERS: usize = 100;

/// The hyper service of one connection.
#[derive(Clone)]
struct RouteService {
    route: Route,
    shutdown: CancellationToken,
    activity: Arc<Activity>,
    body_timeout: Option<Duration>,
}

type ServiceBody = UntilShutdown<Tracked<ResponseBody>>;

impl hyper::service::Service<Request<Incoming>> for RouteService {
    type Response = Response<ServiceBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let in_flight = self.activity.begin();
        let route = self.route.clone();
        let shutdown = self.shutdown.clone();
        let body_timeout = self.body_timeout;
        Box::pin(async move {
            let is_http1 = matches!(request.version(), Version::HTTP_10 | Version::HTTP_11);
            let response = if is_http1 && !host::is_acceptable(request.version(), request.headers())
            {
                bad_host()
            } else {
                let request = request.map(|body| BodyTimeout::new(body, body_timeout));
                route.respond(request).await
            };
            Ok(response.map(|body| UntilShutdown::new(Tracked::new(body, in_flight), &shutdown)))
        })
    }
}

/// The answer to a request that breaks the `Host` rule; the connection
/// closes after it, as after any malformed request.
fn bad_host() -> Response<ResponseBody> {
    let mut response = StatusCode::BAD_REQUEST.to_response();
    response
        .headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    response
}
