//! Follows an event stream like `tail -f`: one JSON object per event on
//! stdout, `{"type":…,"data":…,"id":…}`, and connection trouble and
//! reconnections on stderr. It resumes with `Last-Event-ID` after every
//! reconnection, so no event is printed twice or skipped.
//!
//! ```text
//! cargo run --example clock &
//! cargo run --example tail                          # http://127.0.0.1:8000/events
//! cargo run --example tail -- http://host:port/path [last-event-id]
//! ```

use std::io::Write;
use std::time::Duration;

use futures_util::StreamExt;
use sse_connector::{ConnectionEvent, EventSourceConnector, ReconnectOptions};
use sse_model::EventId;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .unwrap_or_else(|| "http://127.0.0.1:8000/events".to_owned());
    let mut connector = EventSourceConnector::new(url)?
        .with_reconnect(ReconnectOptions::default().with_initial_delay(Duration::from_secs(1)))
        .with_idle_timeout(Duration::from_secs(30))
        .with_observer(report);
    if let Some(id) = args.next() {
        connector = connector.with_last_event_id(EventId::new(id)?);
    }

    let mut events = connector.connect();
    let mut stdout = std::io::stdout().lock();
    while let Some(event) = events.next().await {
        let event = event?;
        // Written field by field to keep the documented key order.
        writeln!(
            stdout,
            "{{\"type\":{},\"data\":{},\"id\":{}}}",
            serde_json::to_string(event.event_type().unwrap_or("message"))?,
            serde_json::to_string(event.data())?,
            serde_json::to_string(&event.id())?,
        )?;
        stdout.flush()?;
    }
    eprintln!("tail: the stream is over");
    Ok(())
}

/// Connection steps go to stderr, so stdout stays one JSON object per line.
fn report(step: &ConnectionEvent<'_>) {
    match step {
        ConnectionEvent::Open { uri, status } => eprintln!("tail: connected to {uri} ({status})"),
        ConnectionEvent::Failed { error } => eprintln!("tail: {error}"),
        ConnectionEvent::Retrying { delay, attempt } => {
            eprintln!("tail: reconnecting in {delay:?} (attempt {attempt})")
        }
        ConnectionEvent::Ended => eprintln!("tail: the server closed the stream"),
        _ => {}
    }
}
