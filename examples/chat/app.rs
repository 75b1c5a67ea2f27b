//! The chat app: kept apart from `main` so tests drive the same app.

use std::time::Duration;

use http::StatusCode;
use sse_hub::{EventLog, Hub, MemoryLog, MemoryLogOptions};
use sse_marshal::Html;
use sse_model::ServerSentEvent;
use sse_routing::{path, RequestContext, Route};

/// The page at `/`.
pub(crate) const PAGE: &str = include_str!("index.html");

/// The one topic of this chat.
const ROOM: &str = "room";

/// The longest message body accepted, in bytes.
const MAX_MESSAGE: usize = 4096;

/// How many messages of the room are kept, whichever log keeps them.
pub(crate) const HISTORY: usize = 1000;

/// A hub on `log`, with heartbeats every 15 s so proxies keep quiet
/// connections open.
pub(crate) fn hub_on<L: EventLog>(log: L) -> Hub<L> {
    Hub::with_log(log).with_keep_alive(Duration::from_secs(15))
}

/// The hub of a single server: the log in memory.
pub(crate) fn hub() -> Hub {
    hub_on(MemoryLog::with_options(
        MemoryLogOptions::default().with_max_events(HISTORY),
    ))
}

/// `/` serves the page, `/events` the room's messages (the retained history
/// first for a new page, or everything after `Last-Event-ID` for a client
/// that reconnects), and `POST /messages` publishes a message.
pub(crate) fn app<L: EventLog>(hub: &Hub<L>) -> Route {
    let messages = hub.subscriber_with_history(ROOM);
    let publisher = hub.clone();
    path("")
        .get()
        .complete(Html(PAGE))
        .or(path("events")
            .get()
            .handle(move |request| messages(request.last_event_id())))
        .or(path("messages").post().handle(move |request| {
            let hub = publisher.clone();
            async move { post(&hub, request).await }
        }))
}

/// Publishes a message: a JSON body `{"name": …, "text": …}`, re-encoded so
/// that only those two strings reach the other clients.
async fn post<L: EventLog>(hub: &Hub<L>, request: RequestContext) -> (StatusCode, String) {
    let Ok(body) = request.body_bytes(MAX_MESSAGE).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "message too long".into());
    };
    let Ok(message) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "expected JSON".into());
    };
    let field = |name: &str| message.get(name).and_then(|v| v.as_str()).map(str::trim);
    let (Some(name), Some(text)) = (field("name"), field("text")) else {
        return (StatusCode::BAD_REQUEST, "expected name and text".into());
    };
    if name.is_empty() || text.is_empty() {
        return (
            StatusCode::BAD_REQUEST,
            "name and text must not be empty".into(),
        );
    }
    let data = serde_json::json!({ "name": name, "text": text }).to_string();
    match hub.publish(ROOM, ServerSentEvent::new(data)).await {
        Ok(id) => (StatusCode::CREATED, id.to_string()),
        // The shared log's broker is down: the message was not posted, the
        // page may try again.
        Err(error) if error.is_unavailable() || error.is_closed() => {
            (StatusCode::SERVICE_UNAVAILABLE, error.to_string())
        }
        Err(error) => (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()),
    }
}
