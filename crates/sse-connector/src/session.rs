//! The client's state machine: connect, read, and reconnect.
//!
//! The response is judged by sse-marshal's
//! [`EventStreamUnmarshalling::classify`] and the body read by its
//! [`EventReader`], the same code that unmarshals a single response; the
//! session only adds what outlives a connection: the parser (last event id,
//! `retry:`), the delays, redirects, and the idle timeout.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_util::StreamExt;
use http::header::{HeaderMap, HeaderValue, ACCEPT, CACHE_CONTROL, RETRY_AFTER};
use http::{Request, Uri};
use sse_marshal::{
    CommentCallback, Error, EventReader, EventStreamParser, EventStreamUnmarshalling, ResponseKind,
};
use sse_model::{EventId, LastEventId, ServerSentEvent};
use tokio::time::Instant;
use tracing::Instrument;

use crate::connector::Config;
use crate::error::Kind;
use crate::handle::ReconnectHandle;
use crate::send::{ClientBody, SendRequest};
use crate::transport::DefaultSender;
use crate::{redirect, ConnectionEvent};

/// The state that outlives connections.
pub(crate) struct Session {
    config: Config,
    handle: ReconnectHandle,
    /// The transport, made when the stream first runs.
    sender: Option<Arc<dyn SendRequest>>,
    /// Holds the last event id and the server's `retry:` between
    /// connections; lent to the reader of the open one.
    parser: Option<EventStreamParser>,
    connection: Option<Connection>,
    /// Attempts in a row without a healthy connection.
    streak: u32,
    /// The wait before the next attempt, when one is due.
    next_delay: Option<Duration>,
    done: bool,
}

struct Connection {
    reader: EventReader<ClientBody>,
    opened_at: Instant,
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

/// How waiting on the open connection ended.
enum Outcome {
    Item(Option<Result<ServerSentEvent, Error>>),
    /// Nothing arrived within the idle timeout.
    Silent,
    /// The caller asked for a reconnection.
    Asked,
}

/// What reading the open connection gave.
enum Read {
    Event(ServerSentEvent),
    /// Nothing to return yet: the connection ended or was dropped, and a
    /// reconnection is scheduled (or the stream is over).
    Nothing,
}

fn connector_error(error: crate::Error) -> Error {
    Error::from_connector(error)
}

impl Session {
    pub(crate) fn new(config: Config, handle: ReconnectHandle) -> Self {
        let mut settings = config.settings.clone();
        if let Some(observer) = config.observer.clone() {
            // Comments go to the observer, after any callback of the
            // caller's settings.
            let theirs = settings.comments().cloned();
            settings = settings.with_comments(CommentCallback::new(move |text| {
                if let Some(theirs) = &theirs {
                    theirs.call(text);
                }
                observer.notify(&ConnectionEvent::Comment { text });
            }));
        }
        let mut parser = EventStreamParser::with_settings(settings);
        if let Some(id) = &config.last_event_id {
            parser = parser.with_last_event_id(id);
        }
        Session {
            sender: config.sender.clone(),
            config,
            handle,
            parser: Some(parser),
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
                    Ok(Read::Event(event)) => return Some(Ok(event)),
                    Ok(Read::Nothing) => continue,
                    Err(fatal) => return self.fail(fatal),
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
                    let mut parser = self.parser.take().expect("the parser is home");
                    parser.reset_stream();
                    self.connection = Some(Connection {
                        reader: EventReader::new(body, parser),
                        opened_at: Instant::now(),
                    });
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
                Attempt::Fatal(error) => return self.fail(error),
            }
        }
    }

    fn fail(&mut self, error: Error) -> Option<Result<ServerSentEvent, Error>> {
        self.notify(&ConnectionEvent::Failed {
            error: &error,
            retrying: false,
        });
        tracing::warn!(%error, "giving up on the event stream");
        self.finish(Some(error))
    }

    /// Ends the stream, with a last error if there is one.
    fn finish(&mut self, error: Option<Error>) -> Option<Result<ServerSentEvent, Error>> {
        self.done = true;
        self.close();
        error.map(Err)
    }

    /// Drops the open connection, taking the parser back.
    fn close(&mut self) {
        if let Some(connection) = self.connection.take() {
            self.parser = Some(connection.reader.into_parser());
        }
    }

    /// The parser in effect, lent out or not.
    fn parser(&self) -> &EventStreamParser {
        match (&self.connection, &self.parser) {
            (Some(connection), _) => connection.reader.parser(),
            (None, Some(parser)) => parser,
            (None, None) => unreachable!("the parser is either lent or home"),
        }
    }

    /// Reads the open connection: an event, or nothing when the connection
    /// ended (and a reconnection is scheduled), or a final error.
    async fn read(&mut self) -> Result<Read, Error> {
        let idle = self.config.idle_timeout;
        let handle = self.handle.clone();
        let Some(connection) = self.connection.as_mut() else {
            return Ok(Read::Nothing);
        };
        let outcome = loop {
            let since = connection
                .reader
                .last_data_at()
                .unwrap_or(connection.opened_at);
            let deadline = idle.map(|idle| since + idle);
            let silence = async {
                match deadline {
                    Some(deadline) => tokio::time::sleep_until(deadline).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                // A reconnection asked for happens now, before any event
                // already waiting: those are sent again after the last id.
                biased;
                () = handle.requested() => break Outcome::Asked,
                item = connection.reader.next() => break Outcome::Item(item),
                () = silence => {
                    // Bytes that yielded no event (a comment, a heartbeat,
                    // half an event) count as life too.
                    if connection.reader.last_data_at().is_some_and(|at| at > since) {
                        continue;
                    }
                    break Outcome::Silent;
                }
            }
        };
        if connection.reader.last_data_at().is_some() {
            // Data flows: this connection is healthy.
            self.streak = 0;
        }
        match outcome {
            Outcome::Item(Some(Ok(event))) => Ok(Read::Event(event)),
            Outcome::Item(None) => {
                self.close();
                self.notify(&ConnectionEvent::Ended);
                tracing::debug!("the server ended the event stream");
                if self.config.one_shot {
                    self.done = true;
                } else {
                    self.schedule(None);
                }
                Ok(Read::Nothing)
            }
            // The body broke: the connection is lost, not the stream.
            Outcome::Item(Some(Err(error))) if error.is_body() => {
                self.lost(error, None).map_or(Ok(Read::Nothing), Err)
            }
            // An oversized event (or line) under the Fail policy:
            // reconnecting would only meet it again.
            Outcome::Item(Some(Err(fatal))) => Err(fatal),
            Outcome::Silent => {
                tracing::warn!(?idle, "nothing arrived in time: the connection is dead");
                let timeout = connector_error(crate::Error::new(Kind::Timeout));
                self.lost(timeout, None).map_or(Ok(Read::Nothing), Err)
            }
            Outcome::Asked => {
                tracing::info!("reconnecting now, as asked");
                self.close();
                self.notify(&ConnectionEvent::Ended);
                Ok(Read::Nothing)
            }
        }
    }

    /// The connection failed or was lost: schedules a reconnection, or
    /// returns the error that ends the stream.
    fn lost(&mut self, error: Error, retry_after: Option<Duration>) -> Option<Error> {
        self.close();
        let tolerated = self.config.reconnect.max_attempts();
        let gives_up = self.config.one_shot || tolerated.is_some_and(|max| self.streak >= max);
        self.notify(&ConnectionEvent::Failed {
            error: &error,
            retrying: !gives_up,
        });
        if gives_up {
            if !self.config.one_shot {
                tracing::warn!(%error, attempts = self.streak, "giving up after failed attempts");
            }
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
            .parser()
            .retry()
            .map_or(options.initial_delay(), Duration::from_millis);
        let mut delay = options.delay(base, self.streak, fastrand::f64());
        if let Some(retry_after) = retry_after {
            delay = delay.max(retry_after.min(options.max_delay()));
        }
        self.next_delay = Some(delay);
    }

    /// The transport: the caller's sender, or the default one, made once.
    fn sender(&mut self) -> Result<Arc<dyn SendRequest>, Error> {
        if let Some(sender) = &self.sender {
            return Ok(Arc::clone(sender));
        }
        let sender: Arc<dyn SendRequest> = Arc::new(
            DefaultSender::new(&self.config.tls, &self.config.proxy).map_err(connector_error)?,
        );
        self.sender = Some(Arc::clone(&sender));
        Ok(sender)
    }

    /// Sends the request, following redirects, and sorts out the answer.
    async fn connect(&mut self) -> Attempt {
        let sender = match self.sender() {
            Ok(sender) => sender,
            Err(error) => return Attempt::Fatal(error),
        };
        // The request of this attempt, adjusted once by the caller; every
        // redirect re-sends it to its new target.
        let first = self.request();
        let mut uri = first.uri().clone();
        let (parts, ()) = first.into_parts();
        let mut headers = parts.headers;
        let mut redirects = 0;
        loop {
            let mut request = Request::new(());
            *request.uri_mut() = uri.clone();
            *request.method_mut() = parts.method.clone();
            *request.headers_mut() = headers.clone();
            let last_event_id = request
                .headers()
                .get(LastEventId::NAME)
                .and_then(|v| v.to_str().ok());
            self.notify(&ConnectionEvent::Connecting {
                uri: &uri,
                last_event_id,
            });
            let span = tracing::info_span!("sse_connect", %uri, last_event_id);
            let sent = sender.send(request).instrument(span);
            let response = match self.config.idle_timeout {
                Some(idle) => match tokio::time::timeout(idle, sent).await {
                    Ok(response) => response,
                    Err(_elapsed) => {
                        let timeout = crate::Error::new(Kind::Timeout).with_url(&uri);
                        return Attempt::Retry(connector_error(timeout), None);
                    }
                },
                None => sent.await,
            };
            let response = match response {
                Ok(response) => response,
                Err(cause) => return send_failed(cause, &uri),
            };
            let status = response.status();
            if !redirect::is_redirect(status) {
                return self.classify(&uri, response);
            }
            redirects += 1;
            if redirects > self.config.max_redirects {
                let error = crate::Error::new(Kind::TooManyRedirects(self.config.max_redirects));
                return Attempt::Fatal(connector_error(error.with_url(&uri)));
            }
            let Some(target) = redirect::target(&uri, response.headers()) else {
                let error = crate::Error::new(Kind::RedirectWithoutLocation).with_url(&uri);
                return Attempt::Fatal(connector_error(error));
            };
            if redirect::is_downgrade(&uri, &target) {
                let error = crate::Error::new(Kind::RedirectToHttp { to: target }).with_url(&uri);
                return Attempt::Fatal(connector_error(error));
            }
            if !redirect::same_origin(&uri, &target) {
                // Credentials stay with the origin they were meant for, on
                // this hop and every later one.
                for name in redirect::CREDENTIALS.iter().chain(&self.config.sensitive) {
                    headers.remove(name);
                }
            }
            tracing::debug!(from = %uri, to = %target, %status, "following a redirect");
            uri = target;
        }
    }

    fn classify(&self, uri: &Uri, response: http::Response<ClientBody>) -> Attempt {
        let status = response.status();
        match EventStreamUnmarshalling::classify(&response) {
            Ok(ResponseKind::NoContent) => Attempt::NoContent,
            Ok(_) => {
                self.notify(&ConnectionEvent::Open { uri, status });
                tracing::debug!(%uri, %status, "event stream open");
                Attempt::Open(response.into_body())
            }
            Err(error)
                if status.is_server_error() && self.config.reconnect.retry_server_errors() =>
            {
                Attempt::Retry(error, retry_after(response.headers()))
            }
            Err(error) => Attempt::Fatal(error),
        }
    }

    /// The request of one attempt: what the protocol needs, the caller's
    /// headers, then the caller's adjustments.
    fn request(&self) -> Request<()> {
        let mut request = Request::new(());
        *request.uri_mut() = self.config.url.clone();
        let headers = request.headers_mut();
        headers.insert(ACCEPT, HeaderValue::from_static("text/event-stream"));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        for (name, value) in &self.config.headers {
            headers.append(name, value.clone());
        }
        if let Some(value) = self.last_event_id_header() {
            headers.insert(LastEventId::NAME, value);
        }
        if let Some(customize) = &self.config.customize {
            customize(&mut request);
        }
        request
    }

    /// The `Last-Event-ID` value to send: none while the id is empty, and
    /// none (with a warning) for an id that a header cannot carry.
    fn last_event_id_header(&self) -> Option<HeaderValue> {
        let id = self.parser().last_event_id();
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

/// Sorts a failure to send: the transport's own verdict when it gave one (a
/// refused certificate is final), otherwise a connection failure, retried.
fn send_failed(cause: sse_marshal::BoxError, uri: &Uri) -> Attempt {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&*cause);
    while let Some(error) = source {
        if let Some(ours) = error.downcast_ref::<crate::Error>() {
            let error = connector_error(ours.detach());
            return if ours.is_final() {
                Attempt::Fatal(error)
            } else {
                Attempt::Retry(error, None)
            };
        }
        source = error.source();
    }
    let error = crate::Error::new(Kind::Connect)
        .with_url(uri)
        .with_cause(cause);
    Attempt::Retry(connector_error(error), None)
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
