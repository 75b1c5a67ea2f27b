//! What a completion sees of the request.

use std::fmt;

use bytes::{Bytes, BytesMut};
use http::request::Parts;
use http::{HeaderMap, Method, Uri, Version};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::BodyExt;
use sse_marshal::BoxError;
use sse_model::LastEventId;

/// The body of a request, boxed so that routes serve any body type.
pub type RequestBody = UnsyncBoxBody<Bytes, BoxError>;

/// The request a route completes, as Akka's `RequestContext`: method, URI,
/// headers, the part of the path a prefix left unmatched, and the body.
pub struct RequestContext {
    parts: Parts,
    body: RequestBody,
    rest_start: usize,
}

impl RequestContext {
    pub(crate) fn new(parts: Parts, body: RequestBody, rest_start: usize) -> Self {
        RequestContext {
            parts,
            body,
            rest_start,
        }
    }

    /// The request method.
    pub fn method(&self) -> &Method {
        &self.parts.method
    }

    /// The HTTP version the request came in: HTTP/2 when a browser
    /// multiplexes its event streams over one TLS connection.
    pub fn version(&self) -> Version {
        self.parts.version
    }

    /// The request URI.
    pub fn uri(&self) -> &Uri {
        &self.parts.uri
    }

    /// The request headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.parts.headers
    }

    /// The part of the path after what a [`path_prefix`](crate::path_prefix)
    /// matched, without its leading slash; empty for an exact
    /// [`path`](crate::path).
    pub fn remaining_path(&self) -> &str {
        let path = self.parts.uri.path();
        path.get(self.rest_start..)
            .unwrap_or("")
            .trim_start_matches('/')
    }

    /// The `Last-Event-ID` the client resumes from, if it sent a valid one.
    ///
    /// A reconnecting `EventSource` sends the id of the last event it saw;
    /// serve the events after it. A missing, empty or malformed header gives
    /// `None`: the stream starts afresh.
    pub fn last_event_id(&self) -> Option<LastEventId> {
        LastEventId::from_headers(&self.parts.headers)
            .ok()
            .flatten()
    }

    /// Reads the whole body, refusing one larger than `limit` bytes.
    pub async fn body_bytes(self, limit: usize) -> Result<Bytes, BoxError> {
        // A plain loop rather than `http_body_util::Limited`: the `Into`
        // bound of `Limited`'s `Body` impl trips the compiler's `Send` check
        // of callers' futures (rust-lang/rust#64552).
        let mut body = self.body;
        let mut collected = BytesMut::new();
        while let Some(frame) = body.frame().await {
            let frame = match frame {
                Ok(frame) => frame,
                Err(error) => return Err(error),
            };
            if let Ok(data) = frame.into_data() {
                if collected.len() + data.len() > limit {
                    return Err(format!("the request body is larger than {limit} bytes").into());
                }
                collected.extend_from_slice(&data);
            }
        }
        Ok(collected.freeze())
    }

    /// Takes the body out, for streaming it.
    pub fn into_body(self) -> RequestBody {
        self.body
    }
}

impl fmt::Debug for RequestContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestContext")
            .field("method", &self.parts.method)
            .field("uri", &self.parts.uri)
            .field("headers", &self.parts.headers)
            .finish_non_exhaustive()
    }
}
