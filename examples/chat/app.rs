//! The chat app: kept apart from `main` so tests drive the same app.

use std::time::Duration;

use http::StatusCode;
use sse_hub::{Hub, MemoryLog, MemoryLogOptions};
use sse_marshal::Html;
use sse_model::ServerSentEvent;
use sse_routing::{path, RequestContext, Route};

/// The page at `/`.
pub(crate) const PAGE: &str = include_str!("index.html");

/// The one topic of this chat.
const ROOM: &str = "room";

/// The longest message body accepted, in bytes.
const MAX_MESSAGE: usize = 4096;

/// A hub that keeps the last 1000 messages of the room, with heartbeats
/// every 15 s so proxies keep quiet connections open.
pub(crate) fn hub() -> Hub {
    let log = MemoryLog::with_options(MemoryLogOptions::default().with_max_events(1000));
    Hub::with_log(log).with_keep_alive(Duration::from_secs(15))
}

/// `/` serves the page, `/events` the room's messages (the retained history
/// first for a new page, or everything after `Last-Event-ID` for a client
/// that reconnects), and `POST /messages` publishes a message.
pub(crate) fn app(hub: &Hub) -> Route {
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
async fn post(hub: &Hub, request: RequestContext) -> (StatusCode, String) {
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
        Err(error) => (StatusCode::SERVICE_UNAVAILABLE, error.to_string()),
    }
}
