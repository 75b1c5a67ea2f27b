//! Routes: the DSL's builders and the dispatch of a request to a route.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{HeaderValue, ALLOW};
use http::{Method, Request, Response, StatusCode};
use http_body::Body;
use http_body_util::BodyExt;
use sse_marshal::{BoxError, ResponseBody, ToResponse};

use crate::completion::{self, Completion, Handler};
use crate::path::PathPattern;
use crate::RequestContext;

/// Starts a route for exactly this path: `path("events")` matches `/events`;
/// `path("")` matches the root `/`; `path("a/b")` matches `/a/b`.
///
/// ```
/// use sse_routing::path;
///
/// let route = path("hello").get().complete("Hello!");
/// # let _ = route;
/// ```
pub fn path(path: &str) -> PathRoute {
    PathRoute {
        pattern: PathPattern::exact(path),
    }
}

/// Starts a route for a path prefix of whole segments: `path_prefix("files")`
/// matches `/files` and `/files/a/b` but not `/filesystem`. The rest of the
/// path is [`RequestContext::remaining_path`].
pub fn path_prefix(prefix: &str) -> PathRoute {
    PathRoute {
        pattern: PathPattern::prefix(prefix),
    }
}

/// A route that has its path and needs its method.
#[derive(Debug, Clone)]
#[must_use = "choose a method, e.g. `.get()`"]
pub struct PathRoute {
    pattern: PathPattern,
}

impl PathRoute {
    /// Matches `GET` (and `HEAD`, answered with the `GET` response's head).
    pub fn get(self) -> MethodRoute {
        self.method(Method::GET)
    }

    /// Matches `POST`.
    pub fn post(self) -> MethodRoute {
        self.method(Method::POST)
    }

    /// Matches `PUT`.
    pub fn put(self) -> MethodRoute {
        self.method(Method::PUT)
    }

    /// Matches `DELETE`.
    pub fn delete(self) -> MethodRoute {
        self.method(Method::DELETE)
    }

    /// Matches `PATCH`.
    pub fn patch(self) -> MethodRoute {
        self.method(Method::PATCH)
    }

    /// Matches any one method.
    pub fn method(self, method: Method) -> MethodRoute {
        MethodRoute {
            pattern: self.pattern,
            method,
        }
    }
}

/// A route that has its path and method and needs its completion.
#[derive(Debug, Clone)]
#[must_use = "complete the route, e.g. `.complete(source)`"]
pub struct MethodRoute {
    pattern: PathPattern,
    method: Method,
}

impl MethodRoute {
    /// Completes the route with a fresh response per request: `source` is a
    /// factory (`|| make_events()`) or a cloneable value (a string, a status,
    /// a cloneable stream of events), anything whose result is
    /// [`ToResponse`].
    ///
    /// ```
    /// use futures_util::stream;
    /// use sse_model::ServerSentEvent;
    /// use sse_routing::path;
    ///
    /// // A cloneable stream: every client gets its own copy.
    /// let source = stream::iter(vec![ServerSentEvent::new("a"), ServerSentEvent::new("b")]);
    /// let events = path("events").get().complete(source);
    ///
    /// // A factory: called for every request.
    /// let numbers = path("numbers")
    ///     .get()
    ///     .complete(|| stream::iter((1..=3u64).map(|n| ServerSentEvent::new(n.to_string()))));
    /// # let _ = events.or(numbers);
    /// ```
    pub fn complete<C, M>(self, source: C) -> Route
    where
        C: Completion<M>,
    {
        self.finish(completion::from_completion(source))
    }

    /// Completes the route with a function of the request, to read its
    /// headers (such as [`RequestContext::last_event_id`]) or path.
    ///
    /// ```
    /// use futures_util::stream;
    /// use sse_model::ServerSentEvent;
    /// use sse_routing::path;
    ///
    /// let route = path("events").get().complete_with(|request| {
    ///     let start: u64 = request
    ///         .last_event_id()
    ///         .and_then(|id| id.as_str().parse().ok())
    ///         .map_or(0, |last: u64| last + 1);
    ///     stream::iter((start..start + 3).map(|n| ServerSentEvent::new("tick").with_id(n)))
    /// });
    /// # let _ = route;
    /// ```
    pub fn complete_with<F, T, M>(self, f: F) -> Route
    where
        F: Fn(RequestContext) -> T + Send + Sync + 'static,
        T: ToResponse<M>,
    {
        self.finish(completion::from_sync(f))
    }

    /// Completes the route with an async function of the request, to read
    /// its body or wait for something before responding.
    pub fn handle<F, Fut, T, M>(self, f: F) -> Route
    where
        F: Fn(RequestContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = T> + Send + 'static,
        T: ToResponse<M>,
    {
        self.finish(completion::from_async(f))
    }

    fn finish(self, handler: Handler) -> Route {
        Route {
            entries: Arc::from(vec![Entry {
                pattern: self.pattern,
                method: self.method,
                handler,
            }]),
        }
    }
}

struct Entry {
    pattern: PathPattern,
    method: Method,
    handler: Handler,
}

/// A complete route: one or more paths with methods and completions. Cheap
/// to clone.
///
/// A request goes to the first entry whose path and method match; `HEAD` is
/// answered by a `GET` entry without its body. A path that matches with
/// another method gets `405 Method Not Allowed` with an `Allow` header; no
/// match at all gets `404 Not Found`.
#[derive(Clone)]
pub struct Route {
    entries: Arc<[Entry]>,
}

impl fmt::Debug for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.entries.iter().map(|e| (&e.method, &e.pattern)))
            .finish()
    }
}

impl Route {
    /// This route, then `other` for what this one does not match (Akka's `~`).
    pub fn or(self, other: Route) -> Route {
        let entries: Vec<Entry> = self
            .entries
            .iter()
            .chain(other.entries.iter())
            .map(|e| Entry {
                pattern: e.pattern.clone(),
                method: e.method.clone(),
                handler: Arc::clone(&e.handler),
            })
            .collect();
        Route {
            entries: Arc::from(entries),
        }
    }

    /// Answers one request, without any connection: the same dispatch that
    /// [`serve`](crate::serve) does, handy in tests.
    pub async fn respond<B>(&self, request: Request<B>) -> Response<ResponseBody>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let is_head = request.method() == Method::HEAD;
        let (handler, rest_start) = match self.find(request.method(), request.uri().path()) {
            Match::Found(handler, rest_start) => (handler, rest_start),
            Match::NotAllowed(allowed) => return method_not_allowed(allowed),
            Match::NotFound => return StatusCode::NOT_FOUND.to_response(),
        };
        let (parts, body) = request.into_parts();
        let body = body.map_err(Into::into).boxed_unsync();
        let response = handler(RequestContext::new(parts, body, rest_start)).await;
        if is_head {
            // Dropping the body drops an event stream's source at once.
            let (parts, _body) = response.into_parts();
            return Response::from_parts(parts, ResponseBody::empty());
        }
        response
    }

    fn find(&self, method: &Method, path: &str) -> Match<'_> {
        let mut allowed: Vec<&Method> = Vec::new();
        for entry in self.entries.iter() {
            let Some(rest_start) = entry.pattern.matches(path) else {
                continue;
            };
            let head_for_get = method == Method::HEAD && entry.method == Method::GET;
            if entry.method == method || head_for_get {
                return Match::Found(Arc::clone(&entry.handler), rest_start);
            }
            allowed.push(&entry.method);
        }
        if allowed.is_empty() {
            Match::NotFound
        } else {
            Match::NotAllowed(allowed)
        }
    }
}

/// How a request matched a route.
enum Match<'a> {
    /// An entry's path and method match; the rest of the path starts here.
    Found(Handler, usize),
    /// Entries match the path, with these other methods.
    NotAllowed(Vec<&'a Method>),
    NotFound,
}

fn method_not_allowed(mut allowed: Vec<&Method>) -> Response<ResponseBody> {
    if allowed.contains(&&Method::GET) {
        allowed.push(&Method::HEAD);
    }
    allowed.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    allowed.dedup();
    let list: Vec<&str> = allowed.iter().map(|m| m.as_str()).collect();
    let mut response = StatusCode::METHOD_NOT_ALLOWED.to_response();
    if let Ok(value) = HeaderValue::from_str(&list.join(", ")) {
        response.headers_mut().insert(ALLOW, value);
    }
    response
}
