//! The documented Akka HTTP SSE client example, in Rust: GET an event stream,
//! unmarshal the response to an `EventSource`, and print every event.
//!
//! ```text
//! cargo run --example clock &
//! cargo run --example client                       # http://127.0.0.1:$PORT/events (8000)
//! cargo run --example client -- http://host:port/path
//! ```

use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::Empty;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use sse_marshal::{EventSource, Unmarshal};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let url = std::env::args().nth(1).unwrap_or_else(|| {
        let port = std::env::var("PORT").unwrap_or_else(|_| "8000".to_owned());
        format!("http://127.0.0.1:{port}/events")
    });
    let request = http::Request::get(url.as_str())
        .header(http::header::ACCEPT, "text/event-stream")
        .body(Empty::<Bytes>::new())?;

    let client = Client::builder(TokioExecutor::new()).build_http();
    let response = client.request(request).await?;
    let mut events = Unmarshal::new(response).to::<EventSource>().await?;

    while let Some(event) = events.next().await {
        let event = event?;
        println!(
            "{} {:?}{}",
            event.event_type().unwrap_or("message"),
            event.data(),
            event
                .id()
                .map(|id| format!(" (id {id})"))
                .unwrap_or_default(),
        );
    }
    eprintln!("the server ended the stream");
    Ok(())
}
