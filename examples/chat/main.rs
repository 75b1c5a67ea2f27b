//! A tiny chat on the SSE hub: the page's `EventSource` receives the room's
//! messages and a `POST` publishes one. Refreshing the page shows the
//! retained history again, and a client whose connection drops resumes with
//! `Last-Event-ID`, so no message is lost either way.
//!
//! `HUB_LOG` chooses where the room's messages are kept: unset, in this
//! process's memory; `redis://HOST:PORT`, in Redis Streams; `nats://HOST:PORT`,
//! in NATS JetStream. Chats on different ports with the same shared log are
//! one room: a message posted on one reaches the pages of all, and a page
//! whose server goes away resumes on another.
//!
//! ```text
//! cargo run --example chat            # then open http://127.0.0.1:8000/ in two windows
//! PORT=9000 cargo run --example chat
//! TLS_CERT=cert.pem TLS_KEY=key.pem cargo run --example chat   # https://, HTTP/2
//! HUB_LOG=redis://127.0.0.1:6379 PORT=8001 cargo run --example chat
//! HUB_LOG=nats://127.0.0.1:4222 PORT=8002 cargo run --example chat
//! ```

mod app;
#[path = "../support/serve.rs"]
mod serve;

use std::time::Duration;

use sse_hub::{EventLog, Hub};
use sse_hub_nats::{NatsLog, NatsLogOptions};
use sse_hub_redis::{RedisLog, RedisLogOptions};
use sse_model::{EventType, ServerSentEvent};

type BoxError = Box<dyn std::error::Error>;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let log = std::env::var("HUB_LOG").unwrap_or_default();
    let history = app::HISTORY;
    if log.is_empty() {
        run(app::hub()).await
    } else if log.starts_with("redis://") || log.starts_with("rediss://") {
        let options = RedisLogOptions::default().with_max_events(history);
        run(app::hub_on(RedisLog::with_options(&log, options)?)).await
    } else if log.starts_with("nats://") {
        let options = NatsLogOptions::default().with_max_events(history as u64);
        let nats = NatsLog::with_options(&log, options).await?;
        // Take traffic once the log is reachable; if it is not yet, serve
        // anyway (posts answer 503 until it is).
        if let Err(error) = nats.wait_until_connected(Duration::from_secs(5)).await {
            eprintln!("warning: {error}");
        }
        run(app::hub_on(nats)).await
    } else {
        Err(
            format!("HUB_LOG must be unset, redis://HOST:PORT or nats://HOST:PORT, not {log:?}")
                .into(),
        )
    }
}

async fn run<L: EventLog>(hub: Hub<L>) -> Result<(), BoxError> {
    let route = app::app(&hub);
    serve::serve("chat", route, move || {
        // Tell the pages why the stream ends; they reconnect by themselves.
        let bye = ServerSentEvent::new("server restarting")
            .with_event_type(EventType::from_static("shutdown"));
        hub.shutdown(Some(bye));
    })
    .await
}
