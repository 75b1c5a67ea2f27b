//! The documented Akka HTTP Java SSE example, in Rust: a route that completes
//! with a fixed list of events. Every request gets the whole list; then the
//! stream ends (and a browser's `EventSource` reconnects and gets it again).
//!
//! ```text
//! cargo run --example from_list       # then: curl -N http://127.0.0.1:8000/events
//! ```

use std::net::{Ipv4Addr, SocketAddr};

use futures_util::stream;
use sse_model::ServerSentEvent;
use sse_routing::{path, serve_with_shutdown, Route};
use tokio::net::TcpListener;

/// `/events` serves the events `1` and `2`.
fn app() -> Route {
    let events = vec![ServerSentEvent::new("1"), ServerSentEvent::new("2")];
    // A cloneable stream is cloned for every request.
    path("events").get().complete(stream::iter(events))
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8000);
    let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await?;
    eprintln!(
        "events on http://{}/events (Ctrl-C to stop)",
        listener.local_addr()?
    );
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    serve_with_shutdown(listener, app(), ctrl_c).await
}
