//! The client's state machine: connect, read, and reconnect.

use std::time::{Duration, SystemTime};

use bytes::BytesMut;
use http::header::{HeaderMap, HeaderValue, ACCEPT, CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER};
use http::{Request, StatusCode, Uri};
use http_body_util::BodyExt;
use sse_marshal::{Error, EventStreamParser};
use sse_model::{EventId, LastEventId, ServerSentEvent};
use tokio_util::codec::Decoder;
use tracing::Instrument;

use crate::connector::Config;
use crate::redirect;
use crate::send::ClientBody;
use crate::ConnectionEvent;

/// The state that outlives connections.
pub(crate) struct Session {
    config: Config,
    /// Holds the last event id and the server's `retry:` across connections.
    parser: EventStreamParser,
    buf: BytesMut,
    connection: Option<Connection>,
    /// Attempts in a row without a healthy connection.
    streak: u32,
    /// The wait before the next attempt, when one is due.
    next_delay: Option<Duration>,
    done: bool,
}

struct Connection {
    body: ClientBody,
    /// The body has ended: drain the parser, then close.
    ended: bool,
}

/// What an attempt to connect gave.
enum Attempt {
    Open(ClientBody),
    /// `204 No Content`: the server wants no more reconnections.
    NoContent,
    /// A failure worth retrying, with the server's `Retry-After` if any.
    Retry(Error, Option<Duration>),
    /// A failure that ends the stream.
    Fatal(Error),
}

impl Session {
    pub(crate) fn new(config: Config) -> Self {
        let mut parser = EventStreamParser::with_settings(config.settings.clone());
        if let Some(id) = &config.last_event_id {
            parser = parser.with_last_event_id(id);
        }
        Session {
            config,
            parser,
            buf: BytesMut::new(),
            connection: None,
            streak: 0,
            next_delay: None,
            done: false,
        }
    }

    /// The next event; `None` once the stream is over for good.
    pub(crate) async fn next(&mut self) -> Option<Result<ServerSentEvent, Error>> {
        loop {
            if self.done {
                return None;
            }
            if self.connection.is_some() {
                match self.read().await {
                    Ok(Some(event)) => return Some(Ok(event)),
                    Ok(None) => continue,
                    Err(fatal) => {
                        // An oversized event (or line) under the Fail policy:
                        // reconnecting would only meet it again.
                        self.notify(&ConnectionEvent::Failed { error: &fatal });
                        tracing::warn!(error = %fatal, "giving up on the event stream");
                        return self.finish(Some(fatal));
                    }
                }
            }
            if let Some(delay) = self.next_delay.take() {
                self.notify(&ConnectionEvent::Retrying {
                    delay,
                    attempt: self.streak,
                });
                tracing::info!(?delay, attempt = self.streak, "reconnecting after a delay");
                tokio::time::sleep(delay).await;
            }
            match self.connect().await {
                Attempt::Open(body) => {
                    self.parser.reset_stream();
                    self.buf.clear();
                    self.connection = Some(Connection { body, ended: false });
                }
                Attempt::NoContent => {
                    self.notify(&ConnectionEvent::Ended);
                    tracing::info!("the server answered 204 No Content: the stream is over");
                    return self.finish(None);
                }
                Attempt::Retry(error, retry_after) => {
                    if let Some(fatal) = self.lost(error, retry_after) {
                        return self.finish(Some(fatal));
                    }
                }
                Attempt::Fatal(error) => {
                    self.notify(&ConnectionEvent::Failed { error: &error });
                    tracing::warn!(%error, "giving up on the event stream");
                    return self.finish(Some(error));
                }
            }
        }
    }

    /// Ends the stream, with a last error if there is one.
    fn finish(&mut self, error: Option<Error>) -> Option<Result<ServerSentEvent, Error>> {
        self.done = true;
        self.connection = None;
        self.buf = BytesMut::new();
        error.map(Err)
    }

    /// Reads from the open connection: `Ok(Some)` for an event, `Ok(None)`
    /// when there is nothing to return yet (including when the connection
    /// closed and a reconnection was scheduled), `Err` for a final error.
    async fn read(&mut self) -> Result<Option<ServerSentEvent>, Error> {
        let Some(connection) = self.connection.as_mut() else {
            return Ok(None);
        };
        if connection.ended {
            if let Some(event) = self.parser.decode_eof(&mut self.buf)? {
                return Ok(Some(event));
            }
            self.connection = None;
            self.notify(&ConnectionEvent::Ended);
            tracing::debug!("the server ended the event stream");
            if self.config.one_shot {
                self.done = true;
                return Ok(None);
            }
            self.schedule(None);
            return Ok(None);
        }
        if let Some(event) = self.parser.decode(&mut self.buf)? {
            return Ok(Some(event));
        }
        let frame = match self.config.idle_timeout {
            Some(idle) => match tokio::time::timeout(idle, connection.body.frame()).await {
                Ok(frame) => frame,
                Err(_elapsed) => {
                    tracing::warn!(?idle, "nothing arrived in time: the connection is dead");
                    return self.lost(Error::timeout(), None).map_or(Ok(None), Err);
                }
            },
            None => connection.body.frame().await,
        };
        match frame {
            None => connection.ended = true,
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    if !data.is_empty() {
                        // Data flows: this connection is healthy.
                        self.streak = 0;
                        self.buf.extend_from_slice(&data);
                    }
                }
            }
            Some(Err(cause)) => {
                return self.lost(Error::body(cause), None).map_or(Ok(None), Err);
            }
        }
        Ok(None)
    }

    /// The connection failed or was lost: schedules a reconnection, or
    /// returns the error that ends the stream.
    fn lost(&mut self, error: Error, retry_after: Option<Duration>) -> Option<Error> {
        self.connection = None;
        self.notify(&ConnectionEvent::Failed { error: &error });
        if self.config.one_shot {
            return Some(error);
        }
        let tolerated = self.config.reconnect.max_attempts();
        if tolerated.is_some_and(|max| self.streak >= max) {
            tracing::warn!(%error, attempts = self.streak, "giving up after failed attempts");
            return Some(error);
        }
        tracing::warn!(%error, "the event stream failed; reconnecting");
        self.schedule(retry_after);
        None
    }

    /// Schedules the next attempt, after the server's `retry:` (or the
    /// configured delay), backed off by the attempts in a row.
    fn schedule(&mut self, retry_after: Option<Duration>) {
        self.streak = self.streak.saturating_add(1);
        let options = &self.config.reconnect;
        let base = self
            .parser
            .retry()
            .map_or(options.initial_delay(), Duration::from_millis);
        let mut delay = options.delay(base, self.streak, fastrand::f64());
        if let Some(retry_after) = retry_after {
            delay = delay.max(retry_after.min(options.max_delay()));
        }
        self.next_delay = Some(delay);
    }

    /// Sends the request, following redirects, and sorts out the answer.
    async fn connect(&mut self) -> Attempt {
        let mut uri = self.config.uri.clone();
        let mut redirects = 0;
        loop {
            let request = self.request(&uri);
            let last_event_id = request
                .headers()
                .get(LastEventId::NAME)
                .and_then(|v| v.to_str().ok());
            self.notify(&ConnectionEvent::Connecting {
                uri: &uri,
                last_event_id,
            });
            let span = tracing::info_span!("sse_connect", %uri, last_event_id);
            let sent = self.config.sender.send(request).instrument(span);
            let response = match self.config.idle_timeout {
                Some(idle) => match tokio::time::timeout(idle, sent).await {
                    Ok(response) => response,
                    Err(_elapsed) => return Attempt::Retry(Error::timeout(), None),
                },
                None => sent.await,
            };
            let response = match response {
                Ok(response) => response,
                Err(cause) => return Attempt::Retry(Error::connect(cause), None),
            };
            let status = response.status();
            if redirect::is_redirect(status) {
                redirects += 1;
                if redirects > self.config.max_redirects {
                    return Attempt::Fatal(Error::redirect("too many redirects"));
                }
                match redirect::target(&uri, response.headers()) {
                    Some(target) => {
                        tracing::debug!(from = %uri, to = %target, %status, "following a redirect");
                        uri = target;
                        continue;
                    }
                    None => return Attempt::Fatal(Error::redirect("no usable Location header")),
                }
            }
            return self.classify(&uri, status, response);
        }
    }

    fn classify(
        &self,
        uri: &Uri,
        status: StatusCode,
        response: http::Response<ClientBody>,
    ) -> Attempt {
        if status == StatusCode::NO_CONTENT {
            return Attempt::NoContent;
        }
        if status.is_server_error() && self.config.reconnect.retry_server_errors() {
            let retry_after = retry_after(response.headers());
            return Attempt::Retry(Error::status(status), retry_after);
        }
        if !status.is_success() {
            return Attempt::Fatal(Error::status(status));
        }
        let content_type = response.headers().get(CONTENT_TYPE);
        if !content_type.is_some_and(sse_model::is_event_stream) {
            let found = content_type.map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
            return Attempt::Fatal(Error::content_type(found));
        }
        self.notify(&ConnectionEvent::Open { uri, status });
        tracing::debug!(%uri, %status, "event stream open");
        Attempt::Open(response.into_body())
    }

    fn request(&self, uri: &Uri) -> Request<()> {
        let mut request = Request::new(());
        *request.uri_mut() = uri.clone();
        let headers = request.headers_mut();
        headers.insert(ACCEPT, HeaderValue::from_static("text/event-stream"));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        if let Some(value) = self.last_event_id_header() {
            headers.insert(LastEventId::NAME, value);
        }
        request
    }

    /// The `Last-Event-ID` value to send: none while the id is empty, and
    /// none (with a warning) for an id that a header cannot carry.
    fn last_event_id_header(&self) -> Option<HeaderValue> {
        let id = self.parser.last_event_id();
        if id.is_empty() {
            return None;
        }
        let header = EventId::new(id)
            .and_then(LastEventId::new)
            .and_then(|h| h.to_header_value());
        match header {
            Ok(value) => Some(value),
            Err(error) => {
                tracing::warn!(%error, "cannot send the last event id as a header");
                None
            }
        }
    }

    fn notify(&self, event: &ConnectionEvent<'_>) {
        if let Some(observer) = &self.config.observer {
            observer.notify(event);
        }
    }
}

/// The `Retry-After` of a response: delay seconds or an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds_and_dates() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert(RETRY_AFTER, HeaderValue::from_static("120"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(120)));
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Sun, 06 Nov 1994 08:49:37 GMT"),
        );
        assert_eq!(retry_after(&headers), Some(Duration::ZERO));
        let later = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(3600));
        headers.insert(RETRY_AFTER, HeaderValue::from_str(&later).unwrap());
        let got = retry_after(&headers).unwrap();
        assert!(got > Duration::from_secs(3500) && got <= Duration::from_secs(3600));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers), None);
    }
}
