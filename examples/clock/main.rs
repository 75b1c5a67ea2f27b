//! The documented Akka HTTP SSE example, in Rust: `/events` sends the current
//! local time every 2 seconds, with a heartbeat after 1 second of silence, and
//! `/` serves a page whose `EventSource` shows the ticks live.
//!
//! ```text
//! cargo run --example clock            # then open http://127.0.0.1:8000/
//! PORT=9000 cargo run --example clock
//! ```

mod app;

use std::net::{Ipv4Addr, SocketAddr};

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
        "SSE clock on http://{}/ (Ctrl-C to stop)",
        listener.local_addr()?
    );
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
        eprintln!("shutting down");
    };
    serve_with_shutdown(listener, app::app(), ctrl_c).await?;
    Ok(())
}
