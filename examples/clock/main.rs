//! The documented Akka HTTP SSE example, in Rust: `/events` sends the current
//! local time every 2 seconds, with a heartbeat after 1 second of silence, and
//! `/` serves a page whose `EventSource` shows the ticks live.
//!
//! ```text
//! cargo run --example clock            # then open http://127.0.0.1:8000/
//! PORT=9000 cargo run --example clock
//! TLS_CERT=cert.pem TLS_KEY=key.pem cargo run --example clock   # https://, HTTP/2
//! ```

mod app;
#[path = "../support/serve.rs"]
mod serve;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    serve::serve("SSE clock", app::app(), || {}).await
}
