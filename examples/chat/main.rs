//! A tiny chat on the SSE hub: the page's `EventSource` receives the room's
//! messages and a `POST` publishes one. Refreshing the page shows the
//! retained history again, and a client whose connection drops resumes with
//! `Last-Event-ID`, so no message is lost either way.
//!
//! ```text
//! cargo run --example chat            # then open http://127.0.0.1:8000/ in two windows
//! PORT=9000 cargo run --example chat
//! TLS_CERT=cert.pem TLS_KEY=key.pem cargo run --example chat   # https://, HTTP/2
//! ```

mod app;
#[path = "../support/serve.rs"]
mod serve;

use sse_model::{EventType, ServerSentEvent};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let hub = app::hub();
    let route = app::app(&hub);
    serve::serve("chat", route, move || {
        // Tell the pages why the stream ends; they reconnect by themselves.
        let bye = ServerSentEvent::new("server restarting")
            .with_event_type(EventType::from_static("shutdown"));
        hub.shutdown(Some(bye));
    })
    .await
}
