//! How a route produces its response: the handler behind `complete`.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};

use http::Response;
use sse_marshal::{ResponseBody, ToResponse};

use crate::RequestContext;

pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// A route's handler, shared by every connection.
pub(crate) type Handler =
    Arc<dyn Fn(RequestContext) -> BoxFuture<Response<ResponseBody>> + Send + Sync>;

/// What [`complete`](crate::MethodRoute::complete) accepts: a factory called
/// for every request (`|| make_stream()`), or a cloneable value that is cloned
/// for every request (a `&'static str`, a status, a cloneable stream).
///
/// Either way every request gets a fresh response, as Akka's `complete`
/// re-evaluates its argument per request. The marker `M` only selects an
/// implementation; callers never name it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot complete a route",
    label = "neither a factory `Fn() -> T` nor a `Clone` value, with `T: ToResponse`",
    note = "pass `|| stream` to build a new stream per request, or use `complete_with(|request| ...)` to see the request"
)]
pub trait Completion<M>: Send + 'static {
    /// Converts the completion into a shared handler.
    #[doc(hidden)]
    fn into_handler(self) -> Box<dyn Fn() -> Response<ResponseBody> + Send + Sync>;
}

/// Marker for factories.
#[derive(Debug)]
#[doc(hidden)]
pub enum Factory {}

/// Marker for cloned values.
#[derive(Debug)]
#[doc(hidden)]
pub enum Cloned {}

impl<F, T, M> Completion<(Factory, M)> for F
where
    F: Fn() -> T + Send + Sync + 'static,
    T: ToResponse<M>,
{
    fn into_handler(self) -> Box<dyn Fn() -> Response<ResponseBody> + Send + Sync> {
        Box::new(move || self().to_response())
    }
}

impl<T, M> Completion<(Cloned, M)> for T
where
    T: ToResponse<M> + Clone + Send + 'static,
{
    fn into_handler(self) -> Box<dyn Fn() -> Response<ResponseBody> + Send + Sync> {
        // Many streams are Send but not Sync; the lock only guards the clone.
        let source = Mutex::new(self);
        Box::new(move || {
            let source = source.lock().unwrap_or_else(PoisonError::into_inner);
            source.clone().to_response()
        })
    }
}

pub(crate) fn from_completion<C, M>(completion: C) -> Handler
where
    C: Completion<M>,
{
    let respond = completion.into_handler();
    Arc::new(move |_request| {
        let response = respond();
        Box::pin(std::future::ready(response))
    })
}

pub(crate) fn from_sync<F, T, M>(f: F) -> Handler
where
    F: Fn(RequestContext) -> T + Send + Sync + 'static,
    T: ToResponse<M>,
{
    Arc::new(move |request| {
        let response = f(request).to_response();
        Box::pin(std::future::ready(response))
    })
}

pub(crate) fn from_async<F, Fut, T, M>(f: F) -> Handler
where
    F: Fn(RequestContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = T> + Send + 'static,
    T: ToResponse<M>,
{
    Arc::new(move |request| {
        let future = f(request);
        Box::pin(async move { future.await.to_response() })
    })
}
