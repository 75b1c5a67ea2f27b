//! A small curl for event streams: follows a URL like `tail -f`, one JSON
//! object per event on stdout (`{"type":…,"data":…,"id":…}`), diagnostics on
//! stderr. It resumes with `Last-Event-ID` after every reconnection, so no
//! event is printed twice or skipped; it exits 0 when the server ends the
//! stream with `204 No Content`, and non-zero at once on a final error (a bad
//! URL or scheme, an untrusted certificate, a `4xx`, a wrong content type).
//!
//! ```text
//! cargo run --example clock &
//! cargo run --example tail                                   # http://127.0.0.1:$PORT/events
//! cargo run --example tail -- -H 'Authorization: Bearer t' --cacert ca.pem https://host/events
//! cargo run --example tail -- --proxy http://proxy:3128 --last-event-id 41 http://host/events
//! ```

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use futures_util::StreamExt;
use sse_connector::{ConnectionEvent, EventSourceConnector, ReconnectOptions};
use sse_model::EventId;

/// Follows a Server-Sent Events stream and prints one JSON object per event.
#[derive(Debug, Parser)]
#[command(name = "tail", version)]
struct Args {
    /// The event stream (default: http://127.0.0.1:$PORT/events, PORT 8000).
    url: Option<String>,
    /// A request header, `Name: value`; repeatable.
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    headers: Vec<String>,
    /// Trust the CA certificates of this PEM file too.
    #[arg(long, value_name = "PATH")]
    cacert: Option<PathBuf>,
    /// Resume after this event id.
    #[arg(long, value_name = "ID")]
    last_event_id: Option<String>,
    /// Go through this proxy (http://[user:password@]host:port) instead of
    /// the environment's.
    #[arg(long, value_name = "URL")]
    proxy: Option<String>,
}

/// One event, as printed.
#[derive(serde::Serialize)]
struct Printed<'a> {
    #[serde(rename = "type")]
    event_type: &'a str,
    data: &'a str,
    id: Option<&'a str>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("tail: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let url = args.url.unwrap_or_else(|| {
        let port = std::env::var("PORT").unwrap_or_else(|_| "8000".to_owned());
        format!("http://127.0.0.1:{port}/events")
    });
    let mut connector = EventSourceConnector::new(url)?
        .with_reconnect(ReconnectOptions::default().with_initial_delay(Duration::from_secs(1)))
        .with_idle_timeout(Duration::from_secs(60))
        .with_observer(report);
    for header in &args.headers {
        let (name, value) = header
            .split_once(':')
            .ok_or_else(|| format!("--header {header:?}: write `Name: value`"))?;
        connector = connector.with_header(name.trim(), value.trim())?;
    }
    if let Some(path) = &args.cacert {
        let pem =
            std::fs::read(path).map_err(|error| format!("--cacert {}: {error}", path.display()))?;
        connector = connector
            .with_root_certificates_pem(&pem)
            .map_err(|error| format!("--cacert {}: {error}", path.display()))?;
    }
    if let Some(proxy) = args.proxy {
        connector = connector.with_proxy(proxy)?;
    }
    if let Some(id) = args.last_event_id {
        connector = connector.with_last_event_id(EventId::new(id)?);
    }

    let mut events = connector.connect();
    let mut stdout = std::io::stdout().lock();
    while let Some(event) = events.next().await {
        let event = event?;
        let printed = Printed {
            event_type: event.event_type().unwrap_or("message"),
            data: event.data(),
            id: event.id(),
        };
        serde_json::to_writer(&mut stdout, &printed)?;
        writeln!(stdout)?;
        stdout.flush()?;
    }
    eprintln!("tail: the server ended the stream (204 No Content)");
    Ok(())
}

/// Connection steps go to stderr, so stdout stays one JSON object per line.
fn report(step: &ConnectionEvent<'_>) {
    match step {
        ConnectionEvent::Open { uri, status } => eprintln!("tail: connected to {uri} ({status})"),
        // A final error is printed once, when the stream ends with it.
        ConnectionEvent::Failed {
            error,
            retrying: true,
        } => eprintln!("tail: {error}"),
        ConnectionEvent::Retrying { delay, attempt } => {
            eprintln!("tail: reconnecting in {delay:?} (attempt {attempt})")
        }
        ConnectionEvent::Ended => eprintln!("tail: the server closed the stream"),
        _ => {}
    }
}
