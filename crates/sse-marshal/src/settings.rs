//! Parser settings: limits, and what happens when input exceeds them.

use std::fmt;
use std::sync::Arc;

/// How the parser is configured: one value, built in the builder style.
///
/// The names follow Akka HTTP's `ServerSentEventSettings`; the handling of
/// oversized input follows Pekko HTTP's choices. A limit of `0` means
/// unlimited. Limits hold on the unterminated tail too: however the peer
/// chunks its bytes, the parser holds at most about `max_line_size` bytes of
/// an unfinished line and `max_event_size` bytes of an unfinished event.
///
/// ```
/// use sse_marshal::{OversizePolicy, ServerSentEventSettings};
///
/// let settings = ServerSentEventSettings::default()
///     .with_max_line_size(64 * 1024)
///     .with_max_event_size(1024 * 1024)
///     .with_oversized_line(OversizePolicy::Truncate)
///     .with_oversized_event(OversizePolicy::Skip);
/// assert_eq!(settings.max_line_size(), 65_536);
/// assert!(settings.emit_empty_events());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct ServerSentEventSettings {
    max_line_size: usize,
    max_event_size: usize,
    emit_empty_events: bool,
    oversized_line: OversizePolicy,
    oversized_event: OversizePolicy,
    comments: Option<CommentCallback>,
}

impl Default for ServerSentEventSettings {
    /// 4096-byte lines, 8192-byte events, empty events emitted, and an
    /// oversized line or event fails the stream.
    fn default() -> Self {
        ServerSentEventSettings {
            max_line_size: 4096,
            max_event_size: 8192,
            emit_empty_events: true,
            oversized_line: OversizePolicy::Fail,
            oversized_event: OversizePolicy::Fail,
            comments: None,
        }
    }
}

impl ServerSentEventSettings {
    /// The default settings (see [`Default`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// Settings without limits. Only for trusted peers: memory then grows with
    /// whatever the peer sends.
    pub fn unlimited() -> Self {
        Self::default().with_max_line_size(0).with_max_event_size(0)
    }

    /// The most bytes one line may have, its line break not counted; `0` for
    /// no limit. Default 4096.
    pub fn with_max_line_size(mut self, bytes: usize) -> Self {
        self.max_line_size = bytes;
        self
    }

    /// The most bytes of data one event may collect (its `data` values
    /// joined by LF, as decoded text); `0` for no limit. Default 8192.
    pub fn with_max_event_size(mut self, bytes: usize) -> Self {
        self.max_event_size = bytes;
        self
    }

    /// Whether an event whose data is empty (`data:` followed by an empty
    /// line) is emitted. Default `true`, as the specification and browsers do;
    /// `false` drops such events, like Akka HTTP's default.
    pub fn with_emit_empty_events(mut self, emit: bool) -> Self {
        self.emit_empty_events = emit;
        self
    }

    /// What to do with a line longer than `max_line_size`. Default
    /// [`OversizePolicy::Fail`].
    pub fn with_oversized_line(mut self, policy: OversizePolicy) -> Self {
        self.oversized_line = policy;
        self
    }

    /// What to do with an event larger than `max_event_size`. Default
    /// [`OversizePolicy::Fail`].
    pub fn with_oversized_event(mut self, policy: OversizePolicy) -> Self {
        self.oversized_event = policy;
        self
    }

    /// Calls `callback` with the text of every comment line (after its
    /// `:`; a heartbeat `:` gives `""`), as it is parsed: for debugging and
    /// for watching heartbeats. Comments are never events.
    pub fn with_comments(mut self, callback: CommentCallback) -> Self {
        self.comments = Some(callback);
        self
    }

    /// The comment callback, if any.
    pub fn comments(&self) -> Option<&CommentCallback> {
        self.comments.as_ref()
    }

    /// The line limit in bytes; `0` is unlimited.
    pub fn max_line_size(&self) -> usize {
        self.max_line_size
    }

    /// The event data limit in bytes; `0` is unlimited.
    pub fn max_event_size(&self) -> usize {
        self.max_event_size
    }

    /// Whether events with empty data are emitted.
    pub fn emit_empty_events(&self) -> bool {
        self.emit_empty_events
    }

    /// The policy for oversized lines.
    pub fn oversized_line(&self) -> &OversizePolicy {
        &self.oversized_line
    }

    /// The policy for oversized events.
    pub fn oversized_event(&self) -> &OversizePolicy {
        &self.oversized_event
    }
}

/// What the parser does with a line or an event that exceeds its limit.
///
/// Whatever the choice, the parser never holds more than the limit: the rest
/// of an oversized line or event is dropped as it arrives.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OversizePolicy {
    /// Report an error once. A caller that keeps decoding after it finds the
    /// parser past the oversized line or event, ready for the next one.
    Fail,
    /// Drop the oversized line (or the whole event) and log a warning through
    /// `tracing`.
    Skip,
    /// Keep the first `limit` bytes, cut at a UTF-8 character boundary, and
    /// drop the rest. A truncated line is then interpreted as usual; a
    /// truncated event is dispatched when its block ends.
    Truncate,
    /// Hand the first `limit` bytes to a callback, then drop the line or event
    /// as [`Skip`](Self::Skip) does.
    Callback(OversizeCallback),
}

/// What kind of input exceeded its limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OversizedKind {
    /// A line exceeded `max_line_size`.
    Line,
    /// An event's data exceeded `max_event_size`.
    Event,
}

/// An oversized line or event, as handed to an [`OversizeCallback`].
#[derive(Debug)]
pub struct Oversized<'a> {
    kind: OversizedKind,
    limit: usize,
    prefix: &'a [u8],
}

impl<'a> Oversized<'a> {
    pub(crate) fn new(kind: OversizedKind, limit: usize, prefix: &'a [u8]) -> Self {
        Oversized {
            kind,
            limit,
            prefix,
        }
    }

    /// Whether a line or an event was too large.
    pub fn kind(&self) -> OversizedKind {
        self.kind
    }

    /// The limit that was exceeded, in bytes.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The start of the oversized input, at most `limit` bytes: the raw bytes
    /// of a line (which need not be valid UTF-8), or the data an event had
    /// collected before it overflowed.
    pub fn prefix(&self) -> &'a [u8] {
        self.prefix
    }
}

/// A function called with each oversized line or event, for
/// [`OversizePolicy::Callback`]. Cheap to clone.
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
/// use sse_marshal::{OversizeCallback, OversizePolicy};
///
/// let seen = Arc::new(AtomicUsize::new(0));
/// let counter = Arc::clone(&seen);
/// let policy = OversizePolicy::Callback(OversizeCallback::new(move |oversized| {
///     counter.fetch_add(oversized.prefix().len(), Ordering::Relaxed);
/// }));
/// # let _ = policy;
/// ```
#[derive(Clone)]
pub struct OversizeCallback(Arc<dyn Fn(Oversized<'_>) + Send + Sync>);

impl OversizeCallback {
    /// Wraps a function.
    pub fn new(f: impl Fn(Oversized<'_>) + Send + Sync + 'static) -> Self {
        OversizeCallback(Arc::new(f))
    }

    pub(crate) fn call(&self, oversized: Oversized<'_>) {
        (self.0)(oversized)
    }
}

impl fmt::Debug for OversizeCallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OversizeCallback(..)")
    }
}

impl PartialEq for OversizeCallback {
    /// Two callbacks are equal when they are clones of one another.
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for OversizeCallback {}

/// What the parser calls with every comment line; see
/// [`ServerSentEventSettings::with_comments`].
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use bytes::BytesMut;
/// use sse_marshal::{CommentCallback, EventStreamParser, ServerSentEventSettings};
/// use tokio_util::codec::Decoder;
///
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let log = Arc::clone(&seen);
/// let settings = ServerSentEventSettings::default()
///     .with_comments(CommentCallback::new(move |text| log.lock().unwrap().push(text.to_owned())));
/// let mut parser = EventStreamParser::with_settings(settings);
/// let mut buf = BytesMut::from(&b": hello\n:\ndata: x\n\n"[..]);
/// assert_eq!(parser.decode(&mut buf)?.unwrap().data(), "x");
/// assert_eq!(*seen.lock().unwrap(), [" hello", ""]);
/// # Ok::<(), sse_marshal::Error>(())
/// ```
#[derive(Clone)]
pub struct CommentCallback(Arc<dyn Fn(&str) + Send + Sync>);

impl CommentCallback {
    /// Wraps a function.
    pub fn new(f: impl Fn(&str) + Send + Sync + 'static) -> Self {
        CommentCallback(Arc::new(f))
    }

    /// Calls the function: what the parser does with each comment.
    pub fn call(&self, text: &str) {
        (self.0)(text)
    }
}

impl fmt::Debug for CommentCallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CommentCallback(..)")
    }
}

impl PartialEq for CommentCallback {
    /// Two callbacks are equal when they are clones of one another.
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for CommentCallback {}
