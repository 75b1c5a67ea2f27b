//! The servers under load, each in its own process: ours (`sse-routing` and
//! an `sse-hub` topic) and axum's `Sse` over a tokio broadcast channel, the
//! way each is meant to be used.
//!
//! Both publish `rate` events a second on a fixed schedule. An event's data
//! starts with the time it was *scheduled* to be sent (Unix nanoseconds), so
//! the client measures latency from the schedule, including any delay in the
//! publisher itself (no coordinated omission).

use std::convert::Infallible;
use std::io::BufRead;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use sse_hub::{EventLog, Hub};
use sse_hub_nats::NatsLog;
use sse_hub_redis::RedisLog;
use sse_model::ServerSentEvent;
use sse_routing::{path, serve_with_shutdown};
use tokio::net::{TcpListener, TcpSocket};
use tokio::time::{Instant, MissedTickBehavior};

/// The topic (ours) every connection subscribes to.
const TOPIC: &str = "load";

/// What the server is told by the driver.
pub(crate) struct ServerOptions {
    pub(crate) kind: String,
    pub(crate) rate: f64,
    pub(crate) payload: usize,
    pub(crate) lifetime: Duration,
    pub(crate) hub_log: String,
}

pub(crate) fn unix_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// A listener with a long accept queue: thousands of clients connect at once.
fn listener() -> std::io::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))?;
    socket.listen(4096)
}

/// Runs a server until `lifetime` passes or the driver closes our stdin.
pub(crate) fn run(options: ServerOptions) -> Result<(), Box<dyn std::error::Error>> {
    crate::raise_open_file_limit();
    // A hard bound: a graceful shutdown waits for open streams, which an
    // event stream never ends by itself.
    let hard_stop = options.lifetime + Duration::from_secs(5);
    std::thread::spawn(move || {
        std::thread::sleep(hard_stop);
        std::process::exit(0);
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = listener()?;
        // The driver reads the port from this line.
        println!("PORT {}", listener.local_addr()?.port());
        let stop = stop_signal(options.lifetime);
        let period = Duration::from_secs_f64(1.0 / options.rate);
        match options.kind.as_str() {
            "ours" => {
                let log = options.hub_log.as_str();
                if log == "memory" {
                    ours(Hub::new(), listener, period, options.payload, stop).await
                } else if log.starts_with("redis://") {
                    let hub = Hub::with_log(RedisLog::connect(log)?);
                    ours(hub, listener, period, options.payload, stop).await
                } else if log.starts_with("nats://") {
                    let nats = NatsLog::connect(log).await?;
                    nats.wait_until_connected(Duration::from_secs(5)).await?;
                    ours(Hub::with_log(nats), listener, period, options.payload, stop).await
                } else {
                    Err(
                        format!("--hub-log must be memory, redis://… or nats://…, not {log:?}")
                            .into(),
                    )
                }
            }
            "axum" => axum(listener, period, options.payload, stop).await,
            other => Err(format!("unknown server {other:?}").into()),
        }
    })
}

/// Completes when the lifetime has passed or stdin closes (the driver died
/// or is done): the server never outlives its run.
fn stop_signal(lifetime: Duration) -> impl std::future::Future<Output = ()> + Send + 'static {
    let (closed_tx, closed_rx) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let mut line = String::new();
        let mut stdin = std::io::stdin().lock();
        while stdin.read_line(&mut line).is_ok_and(|n| n > 0) {
            line.clear();
        }
        let _ = closed_tx.send(());
    });
    async move {
        tokio::select! {
            _ = closed_rx => {}
            () = tokio::time::sleep(lifetime) => {}
        }
    }
}

/// The data of event `seq`: its scheduled send time, its number, padding.
fn payload(scheduled: u64, seq: u64, size: usize) -> String {
    let mut data = format!("{scheduled} {seq} ");
    while data.len() < size {
        data.push('x');
    }
    data
}

/// Calls `publish` with each event's data on a fixed schedule; a late tick
/// is sent at once (burst), and its latency still counts from its schedule.
async fn publisher<F, Fut>(period: Duration, size: usize, mut publish: F)
where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let start = Instant::now();
    let start_unix = unix_nanos();
    let mut ticks = tokio::time::interval_at(start + period, period);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Burst);
    for seq in 1u64.. {
        let due = ticks.tick().await;
        let scheduled = start_unix + (due - start).as_nanos() as u64;
        publish(payload(scheduled, seq, size)).await;
    }
}

async fn ours<L: EventLog>(
    hub: Hub<L>,
    listener: TcpListener,
    period: Duration,
    size: usize,
    stop: impl std::future::Future<Output = ()> + Send,
) -> Result<(), Box<dyn std::error::Error>> {
    let subscribe = hub.subscriber(TOPIC);
    let route = path("events")
        .get()
        .handle(move |request| subscribe(request.last_event_id()));
    let publishing = hub.clone();
    tokio::spawn(publisher(period, size, move |data| {
        let hub = publishing.clone();
        async move {
            if let Err(error) = hub.publish(TOPIC, ServerSentEvent::new(data)).await {
                eprintln!("publish failed: {error}");
            }
        }
    }));
    serve_with_shutdown(listener, route, stop).await?;
    Ok(())
}

async fn axum(
    listener: TcpListener,
    period: Duration,
    size: usize,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), Box<dyn std::error::Error>> {
    use axum::response::sse::{Event, Sse};
    use axum::routing::get;
    use axum::serve::ListenerExt;
    use tokio_stream::wrappers::BroadcastStream;

    // The same bound as the hub's subscriber queue.
    let (sender, _) = tokio::sync::broadcast::channel::<(u64, Arc<str>)>(256);
    let subscribe = sender.clone();
    let app = axum::Router::new().route(
        "/events",
        get(move || {
            let events = BroadcastStream::new(subscribe.subscribe()).filter_map(|item| {
                std::future::ready(item.ok().map(|(seq, data): (u64, Arc<str>)| {
                    Ok::<_, Infallible>(Event::default().id(seq.to_string()).data(&*data))
                }))
            });
            std::future::ready(Sse::new(events))
        }),
    );
    let mut seq = 0;
    tokio::spawn(publisher(period, size, move |data| {
        seq += 1;
        let _ = sender.send((seq, Arc::from(data)));
        std::future::ready(())
    }));
    // Events are small writes that must go out at once (ours does the same).
    let listener = listener.tap_io(|stream| {
        let _ = stream.set_nodelay(true);
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(stop)
        .await?;
    Ok(())
}
