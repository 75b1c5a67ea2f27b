//! A tiny chat on the SSE hub: the page's `EventSource` receives the room's
//! messages and a `POST` publishes one. Refreshing the page shows the
//! retained history again, and a client whose connection drops resumes with
//! `Last-Event-ID`, so no message is lost either way.
//!
//! ```text
//! cargo run --example chat            # then open http://127.0.0.1:8000/ in two windows
//! PORT=9000 cargo run --example chat
//! ```

mod app;

use std::net::{Ipv4Addr, SocketAddr};

use sse_model::{EventType, ServerSentEvent};
use sse_routing::serve_with_shutdown;
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port = match std::env::var("PORT") {
        Ok(port) => port
            .parse()
            .map_err(|_| format!("PORT must be a port number, not {port:?}"))?,
        Err(_) => 8000,
    };
    let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await?;
    eprintln!(
        "chat on http://{}/ (Ctrl-C to stop)",
        listener.local_addr()?
    );
    let hub = app::hub();
    let route = app::app(&hub);
    let shutdown = async move {
        let _ = tokio::signal::ctrl_c().await;
        eprintln!("shutting down");
        // Tell the pages why the stream ends; they reconnect by themselves.
        let bye = ServerSentEvent::new("server restarting")
            .with_event_type(EventType::from_static("shutdown"));
        hub.shutdown(Some(bye));
    };
    serve_with_shutdown(listener, route, shutdown).await?;
    Ok(())
}
