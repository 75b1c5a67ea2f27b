//! No loss end to end: the hub served over a real socket with
//! `sse-routing`, the reconnecting `sse-connector` connector on the other side,
//! and a TCP proxy between them that cuts the connection K times at
//! pseudo-random byte offsets (in the response head, between events, in the
//! middle of an event or of a chunk), sometimes with a reset. A publisher
//! publishes N events at a steady pace meanwhile; the client must receive all
//! N exactly once, in order.
//!
//! The offsets come from a seeded xorshift generator; the seed is printed,
//! and `HUB_NO_LOSS_SEED=<seed>` reproduces the cut points.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use sse_connector::{ConnectionEvent, EventSourceConnector, ReconnectOptions};
use sse_hub::{Hub, MemoryLog, MemoryLogOptions, RESYNC_EVENT_TYPE};
use sse_model::ServerSentEvent;
use sse_routing::{path, serve_with_shutdown};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const N: u64 = 2000;
const K: usize = 25;

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

fn seed() -> u64 {
    match std::env::var("HUB_NO_LOSS_SEED") {
        Ok(s) => s.trim().parse().expect("HUB_NO_LOSS_SEED is a u64"),
        Err(_) => {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        }
    }
}

/// Where the proxy cuts: each connection, while cuts remain, is cut after a
/// random number of bytes from the server.
struct Cutter {
    rng: XorShift,
    total: usize,
    max_offset: u64,
    /// The cuts made: (offset in the server-to-client bytes, reset?).
    made: Vec<(u64, bool)>,
    /// Where the cuts fell, by kind.
    kinds: Vec<&'static str>,
}

/// Where in the stream a cut at the end of `sent` falls.
fn kind_of_cut(sent: &[u8]) -> &'static str {
    let Some(head_end) = sent.windows(4).position(|w| w == b"\r\n\r\n") else {
        return "in the response head";
    };
    let body = &sent[head_end + 4..];
    let tail = match body.windows(2).rposition(|w| w == b"\n\n") {
        Some(end) => &body[end + 2..],
        None => body,
    };
    let contains = |needle: &[u8]| tail.windows(needle.len()).any(|w| w == needle);
    if contains(b"id:") && tail.ends_with(b"\n") {
        "after an id line, before the empty line"
    } else if contains(b"data:") {
        "inside an event"
    } else {
        "between events"
    }
}

impl Cutter {
    fn plan(&mut self) -> Option<(u64, bool)> {
        if self.made.len() >= self.total {
            return None;
        }
        let offset = 1 + self.rng.next() % self.max_offset;
        let reset = self.rng.next() % 2 == 0;
        Some((offset, reset))
    }
}

/// Forwards connections from `listener` to `upstream`, cutting them as the
/// cutter says.
async fn proxy(listener: TcpListener, upstream: SocketAddr, cutter: Arc<Mutex<Cutter>>) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            return;
        };
        let plan = cutter.lock().unwrap().plan();
        let cutter = Arc::clone(&cutter);
        tokio::spawn(async move {
            let Ok(server) = TcpStream::connect(upstream).await else {
                return;
            };
            forward(client, server, plan, &cutter).await;
        });
    }
}

async fn forward(
    mut client: TcpStream,
    mut server: TcpStream,
    plan: Option<(u64, bool)>,
    cutter: &Mutex<Cutter>,
) {
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let mut cut = None;
    {
        let (mut client_read, mut client_write) = client.split();
        let (mut server_read, mut server_write) = server.split();
        let mut up = vec![0u8; 4096];
        let mut down = vec![0u8; 16 * 1024];
        let mut forwarded = 0u64;
        let mut sent = Vec::new();
        let mut client_open = true;
        loop {
            tokio::select! {
                read = client_read.read(&mut up), if client_open => match read {
                    Ok(0) | Err(_) => client_open = false,
                    Ok(n) => {
                        if server_write.write_all(&up[..n]).await.is_err() {
                            break;
                        }
                    }
                },
                read = server_read.read(&mut down) => {
                    let n = match read {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n as u64,
                    };
                    if let Some((offset, reset)) = plan {
                        if forwarded + n >= offset {
                            let keep = (offset - forwarded) as usize;
                            let _ = client_write.write_all(&down[..keep]).await;
                            let _ = client_write.flush().await;
                            sent.extend_from_slice(&down[..keep]);
                            cut = Some((offset, reset, kind_of_cut(&sent)));
                            break;
                        }
                    }
                    if client_write.write_all(&down[..n as usize]).await.is_err() {
                        break;
                    }
                    if plan.is_some() {
                        sent.extend_from_slice(&down[..n as usize]);
                    }
                    forwarded += n;
                }
            }
        }
    }
    if let Some((offset, reset, kind)) = cut {
        let mut cutter = cutter.lock().unwrap();
        // Another connection may have used the last cut meanwhile.
        if cutter.made.len() < cutter.total {
            cutter.made.push((offset, reset));
            cutter.kinds.push(kind);
        }
        drop(cutter);
        if reset {
            // An abortive close: RST instead of FIN. A zero linger never
            // blocks.
            #[allow(deprecated)]
            {
                let _ = client.set_linger(Some(Duration::ZERO));
                let _ = server.set_linger(Some(Duration::ZERO));
            }
        }
    }
    drop(client);
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hub_no_loss_n2000_k25() {
    let seed = seed();
    println!(
        "hub no-loss: N = {N} events, K = {K} cuts, seed = {seed} \
         (HUB_NO_LOSS_SEED={seed} to reproduce)"
    );
    let started = std::time::Instant::now();

    // The server: the hub's topic on a route, on a real socket. The log
    // retains every event, so no resync is ever due.
    let hub = Hub::with_log(MemoryLog::with_options(
        MemoryLogOptions::default()
            .with_max_events(N as usize)
            .with_max_bytes(usize::MAX),
    ));
    let sub = hub.subscriber("t");
    let route = path("events")
        .get()
        .handle(move |request| sub(request.last_event_id()));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server_addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve_with_shutdown(listener, route, async {
        let _ = stopped.await;
    }));

    // The proxy. An event with its chunk framing is about 35 bytes, so the
    // whole stream is about 70 kB; offsets average half of 2 * 70 kB / K / 2,
    // so the K cuts are spent in about the first half of the stream.
    let cutter = Arc::new(Mutex::new(Cutter {
        rng: XorShift(seed),
        total: K,
        max_offset: (N * 35) / K as u64,
        made: Vec::new(),
        kinds: Vec::new(),
    }));
    let proxy_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_addr = proxy_listener.local_addr().unwrap();
    let proxy = tokio::spawn(proxy(proxy_listener, server_addr, Arc::clone(&cutter)));

    // The client, through the proxy. It starts from a first event published
    // before it, so that even its first connection (which may be cut before
    // it subscribes) resumes from a known id and misses nothing.
    let start = hub
        .publish("t", ServerSentEvent::new("start"))
        .await
        .unwrap();
    let losses = Arc::new(AtomicU64::new(0));
    let connects = Arc::new(AtomicU64::new(0));
    let observer = {
        let losses = Arc::clone(&losses);
        let connects = Arc::clone(&connects);
        move |step: &ConnectionEvent<'_>| match step {
            ConnectionEvent::Failed { .. } | ConnectionEvent::Ended => {
                losses.fetch_add(1, Ordering::Relaxed);
            }
            ConnectionEvent::Connecting { .. } => {
                connects.fetch_add(1, Ordering::Relaxed);
            }
            _ => {}
        }
    };
    let mut events = EventSourceConnector::new(format!("http://{proxy_addr}/events"))
        .unwrap()
        .with_reconnect(
            ReconnectOptions::default()
                .with_initial_delay(Duration::from_millis(5))
                .with_max_delay(Duration::from_millis(200))
                .with_jitter(0.0),
        )
        .with_last_event_id(start)
        .with_observer(observer)
        .connect();

    // The publisher: a steady pace, while the cuts happen.
    let publisher = {
        let hub = hub.clone();
        tokio::spawn(async move {
            for n in 0..N {
                hub.publish("t", ServerSentEvent::new(n.to_string()))
                    .await
                    .unwrap();
                if n % 2 == 1 {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
        })
    };

    let context = |cutter: &Mutex<Cutter>| {
        let cutter = cutter.lock().unwrap();
        let mut kinds = std::collections::BTreeMap::new();
        for kind in &cutter.kinds {
            *kinds.entry(*kind).or_insert(0) += 1;
        }
        format!(
            "seed {seed}; cuts made (offset, reset?) {:?}; where {kinds:?}; connection attempts {}; connections lost or ended {}",
            cutter.made,
            connects.load(Ordering::Relaxed),
            losses.load(Ordering::Relaxed)
        )
    };

    let mut received: Vec<u64> = Vec::with_capacity(N as usize);
    let receiving = async {
        while received.len() < N as usize {
            match events.next().await {
                Some(Ok(event)) => {
                    assert_ne!(
                        event.event_type(),
                        Some(RESYNC_EVENT_TYPE.as_str()),
                        "unexpected resync {event:?}; {}",
                        context(&cutter)
                    );
                    let n: u64 = event.data().parse().unwrap_or_else(|_| {
                        panic!("unexpected event {event:?}; {}", context(&cutter))
                    });
                    received.push(n);
                }
                Some(Err(error)) => panic!("the stream failed: {error}; {}", context(&cutter)),
                None => panic!("the stream ended; {}", context(&cutter)),
            }
        }
    };
    if tokio::time::timeout(Duration::from_secs(30), receiving)
        .await
        .is_err()
    {
        panic!(
            "timed out with {} of {N} events; {}",
            received.len(),
            context(&cutter)
        );
    }
    // Nothing more may come: a late duplicate would show here.
    if let Ok(extra) = tokio::time::timeout(Duration::from_millis(200), events.next()).await {
        panic!(
            "an event after the last one: {extra:?}; {}",
            context(&cutter)
        );
    }

    let want: Vec<u64> = (0..N).collect();
    if received != want {
        let first_bad = received
            .iter()
            .zip(&want)
            .position(|(got, want)| got != want)
            .unwrap_or(received.len().min(want.len()));
        panic!(
            "received {} events, want {N}; first difference at {first_bad}: {:?} vs {:?}; {}",
            received.len(),
            received.get(first_bad),
            want.get(first_bad),
            context(&cutter)
        );
    }
    let made = cutter.lock().unwrap().made.len();
    assert_eq!(made, K, "not every cut happened; {}", context(&cutter));
    publisher.await.unwrap();
    let metrics = hub.metrics("t").await.unwrap();
    assert_eq!(metrics.published, N + 1);
    assert_eq!(metrics.resyncs, 0);
    println!(
        "hub no-loss: all {N} events exactly once, in order, through {K} cuts in {:?}; {}; \
         lag disconnects {}",
        started.elapsed(),
        context(&cutter),
        metrics.lagged_disconnects
    );

    drop(events);
    hub.shutdown(None);
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("the server shuts down")
        .unwrap()
        .unwrap();
    proxy.abort();
}
