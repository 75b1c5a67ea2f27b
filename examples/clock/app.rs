//! The clock app: kept apart from `main` so the tests drive the same app.

use std::time::Duration;

use futures_util::StreamExt;
use sse_marshal::{EventStreamExt, Html};
use sse_model::ServerSentEvent;
use sse_routing::{path, Route};
use tokio::time::{interval_at, Instant, MissedTickBehavior};
use tokio_stream::wrappers::IntervalStream;

/// The page at `/`: an `EventSource` on `/events` that lists every tick.
pub(crate) const PAGE: &str = include_str!("index.html");

/// `/events` sends the local time every 2 s, with a heartbeat after 1 s of
/// silence; `/` serves the page that shows the ticks.
pub(crate) fn app() -> Route {
    app_with(Duration::from_secs(2), Duration::from_secs(1))
}

/// The clock with other timings, for tests.
pub(crate) fn app_with(period: Duration, keep_alive: Duration) -> Route {
    // A factory: every client gets its own ticking stream, dropped when it
    // disconnects.
    let ticks = move || {
        // Like Akka's `Source.tick(2.seconds, 2.seconds, NotUsed)`: the first
        // tick comes one period after the client connects.
        let mut interval = interval_at(Instant::now() + period, period);
        interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
        IntervalStream::new(interval)
            .map(|_| ServerSentEvent::new(local_time()))
            .keep_alive(keep_alive, ServerSentEvent::heartbeat)
    };
    path("events")
        .get()
        .complete(ticks)
        .or(path("").get().complete(Html(PAGE)))
}

/// The local time as ISO 8601 (`14:05:09.123`), like Java's `ISO_LOCAL_TIME`.
fn local_time() -> String {
    chrono::Local::now().format("%H:%M:%S%.3f").to_string()
}
