//! The server side: what a client can and cannot do to `sse-routing`.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::stream;
use sse_marshal::{EventStreamExt, ServerSentEventSettings};
use sse_model::{EventId, EventType, ServerSentEvent};
use sse_routing::path;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::task::JoinHandle;

use crate::support::*;

// ===========================================================================
// Server side: field injection through data, type and id
// ===========================================================================

/// Payloads that would inject fields or end an event early if a server wrote
/// them as they are.
const INJECTIONS: &[&str] = &[
    "\n\nevent: x\ndata: y",
    "\rid: 9",
    "\r\n\r\n",
    "a\n\nid: 1\n\ndata: b",
    "\n",
    "\r",
    "\r\n",
    "\n\r",
    "x\r\rretry: 1\r\r",
    ": comment\n:\n",
    "data: nested\n\nevent: evil",
    "\n\n\n\n",
    " leading space",
    "\n data: spaced",
    "trailing\r\n",
    "event:x",
    "\u{FEFF}data: bom",
    "\0\n\0",
];

/// What the receiver must rebuild from `data`: every CR, LF and CRLF is LF.
fn normalised(data: &str) -> String {
    data.replace("\r\n", "\n").replace('\r', "\n")
}

fn injection_events() -> Vec<ServerSentEvent> {
    let mut events = Vec::new();
    for (i, data) in INJECTIONS.iter().enumerate() {
        events.push(ServerSentEvent::new(*data));
        events.push(
            ServerSentEvent::new(*data)
                .with_event_type(EventType::new(format!("t{i}")).unwrap())
                .with_id(EventId::new(format!("id {i}")).unwrap())
                .with_retry(i as u64),
        );
    }
    events
}

#[tokio::test]
async fn injected_fields_arrive_as_the_data_that_was_sent() {
    let sent = injection_events();
    let route = {
        let sent = sent.clone();
        path("events")
            .get()
            .complete(move || stream::iter(sent.clone()))
    };
    let (addr, stop, server) = start(route).await;

    // Through our unmarshaller: exactly one event per event sent, with the
    // data sent (line breaks as LF) and nothing else.
    let items = within(
        "the events",
        collect(events_with(addr, ServerSentEventSettings::default()).await),
    )
    .await;
    let got: Vec<ServerSentEvent> = items.into_iter().map(|i| i.expect("no error")).collect();
    assert_eq!(got.len(), sent.len(), "one event per event sent");
    for (got, sent) in got.iter().zip(&sent) {
        assert_eq!(got.data(), normalised(sent.data()), "{:?}", sent.data());
        assert_eq!(got.event_type(), sent.event_type(), "{:?}", sent.data());
        assert_eq!(got.id(), sent.id(), "{:?}", sent.data());
        assert_eq!(got.retry(), sent.retry(), "{:?}", sent.data());
    }

    // On the wire: every line is a field this server meant to write, and
    // there is exactly one blank line per event.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /events HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut wire = Vec::new();
    within("the raw response", stream.read_to_end(&mut wire))
        .await
        .unwrap();
    let split = wire.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let body = dechunk(&wire[split + 4..]);
    let text = String::from_utf8(body).expect("the server writes UTF-8");
    assert!(!text.contains('\r'), "the server never writes CR");
    let lines: Vec<&str> = text.split_terminator('\n').collect();
    assert_eq!(lines.iter().filter(|l| l.is_empty()).count(), sent.len());
    for line in lines.iter().filter(|l| !l.is_empty()) {
        assert!(
            ["data:", "event:t", "id:id ", "retry:"]
                .iter()
                .any(|field| line.starts_with(field)),
            "an unexpected line on the wire: {line:?}"
        );
    }

    stop.send(()).unwrap();
    within("shutdown", server).await.unwrap().unwrap();
}

#[test]
fn types_and_ids_with_line_breaks_cannot_be_built() {
    for bad in [
        "\n",
        "\r",
        "\r\n",
        "a\nb",
        "a\rb",
        "x\n",
        "\rx",
        "chat\nevent: admin",
        "1\n\ndata: forged",
        "t\r\nid: 9",
    ] {
        let error = EventType::new(bad).expect_err(bad);
        assert!(error.is_invalid_event_type(), "{bad:?}: {error:?}");
        assert!(bad.parse::<EventType>().is_err(), "{bad:?}");
        assert!(EventType::try_from(bad.to_owned()).is_err(), "{bad:?}");
        let error = EventId::new(bad).expect_err(bad);
        assert!(error.is_invalid_event_id(), "{bad:?}: {error:?}");
        assert!(bad.parse::<EventId>().is_err(), "{bad:?}");
    }
    for bad in ["\0", "a\0", "\0b"] {
        assert!(
            EventId::new(bad).unwrap_err().is_invalid_event_id(),
            "{bad:?}"
        );
    }
    assert!(EventType::new("").unwrap_err().is_invalid_event_type());
    // Values without line breaks are fine, whatever else they hold.
    for good in [" ", "a:b", "event: x", "\u{FEFF}", "\t"] {
        assert!(EventType::new(good).is_ok(), "{good:?}");
        assert!(EventId::new(good).is_ok(), "{good:?}");
    }
}

// ===========================================================================
// Server side: a client that never reads
// ===========================================================================

/// A client sends its request and never reads, while the source produces 1
/// KiB events as fast as it is polled. With backpressure the server stops
/// polling the source once the socket buffers and hyper's write buffer are
/// full, so the source stalls after producing a bounded amount: at most the
/// kernel's largest send buffer (`tcp_wmem` max), the client's receive buffer
/// (set to 64 KiB, so the kernel does not grow it), hyper's write buffer
/// (about 400 KiB) and one coalesced frame (32 KiB), plus slack. Without
/// backpressure it would produce hundreds of megabytes a second until memory
/// ran out. Counting what the source produced is exact and does not depend on
/// how the allocator reports memory.
#[tokio::test]
async fn a_client_that_never_reads_cannot_make_the_server_buffer_without_bound() {
    const EVENT: usize = KIB;
    let produced = Arc::new(AtomicU64::new(0));
    let live = Live::default();
    let route = {
        let produced = Arc::clone(&produced);
        let live = live.clone();
        path("events").get().complete(move || {
            let produced = Arc::clone(&produced);
            let payload = "p".repeat(EVENT - 8); // "data:" + payload + "\n\n"
            let events = stream::repeat_with(move || {
                produced.fetch_add(1, Ordering::Relaxed);
                ServerSentEvent::new(payload.clone())
            });
            Guarded::new(events, &live)
        })
    };
    let (addr, stop, server) = start(route).await;

    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(64 * KIB as u32).unwrap();
    let mut client = socket.connect(addr).await.unwrap();
    client
        .write_all(b"GET /events HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();

    // Sample the counter until it has not moved for 300 ms.
    let started = Instant::now();
    let mut last = u64::MAX;
    let mut still_since = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = produced.load(Ordering::Relaxed);
        if now != last {
            last = now;
            still_since = Instant::now();
        } else if still_since.elapsed() >= Duration::from_millis(300) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the source never stalled: {now} events produced in {:?}",
            started.elapsed()
        );
    }
    let stalled_after = started.elapsed();
    let bytes = last as usize * EVENT;
    let wmem = sysctl_max("/proc/sys/net/ipv4/tcp_wmem", 4 * MIB);
    let bound = wmem + 2 * 64 * KIB + 420 * KIB + 32 * KIB + 4 * MIB;
    println!(
        "measured: a client that never reads: the source stalled after {} events ({:.1} MiB) \
         within {stalled_after:?}; bound {:.1} MiB (tcp_wmem max {:.1} MiB)",
        last,
        bytes as f64 / MIB as f64,
        bound as f64 / MIB as f64,
        wmem as f64 / MIB as f64
    );
    assert!(last > 0, "the source was never polled");
    assert!(bytes <= bound, "{bytes} bytes produced, bound {bound}");
    assert_eq!(live.now(), 1);

    // The client goes away: the server drops the source.
    drop(client);
    eventually("the source is dropped", || live.now() == 0).await;
    stop.send(()).unwrap();
    within("shutdown", server).await.unwrap().unwrap();
}

// ===========================================================================
// Server side: 10 000 connect/disconnect cycles
// ===========================================================================

/// 10 000 clients (50 at a time) connect, request an endless event stream
/// with heartbeats, read the response head and hang up. Afterwards every
/// source has been dropped, and the open file descriptors and the runtime's
/// live tasks are back to where they were.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_connect_disconnect_cycles_leak_nothing() {
    if isolated("server_side::ten_thousand_connect_disconnect_cycles_leak_nothing") {
        return;
    }
    const CYCLES: usize = 10_000;
    const CONCURRENCY: usize = 50;
    const FD_SLACK: usize = 4;

    let live = Live::default();
    let route = {
        let live = live.clone();
        path("events").get().complete(move || {
            let events = stream::pending::<ServerSentEvent>()
                .keep_alive(Duration::from_millis(100), ServerSentEvent::heartbeat);
            Guarded::new(events, &live)
        })
    };
    let (addr, stop, server) = start(route).await;
    // One round trip first, so that everything lazily set up is in place.
    cycle(addr).await;
    eventually("the warm-up source is dropped", || live.now() == 0).await;
    let metrics = tokio::runtime::Handle::current().metrics();
    let fds_before = open_fds();
    let tasks_before = metrics.num_alive_tasks();

    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let workers: Vec<JoinHandle<()>> = (0..CONCURRENCY)
        .map(|_| {
            let next = Arc::clone(&next);
            tokio::spawn(async move {
                while next.fetch_add(1, Ordering::Relaxed) < CYCLES {
                    cycle(addr).await;
                }
            })
        })
        .collect();
    within("10 000 cycles", async {
        for worker in workers {
            worker.await.unwrap();
        }
    })
    .await;
    let cycles_took = started.elapsed();
    let live_at_end = live.now();
    assert_eq!(live.created(), CYCLES + 1, "one source per request");

    eventually("every source is dropped", || live.now() == 0).await;
    eventually("the file descriptors are closed", || {
        open_fds() <= fds_before + FD_SLACK
    })
    .await;
    eventually("the connection tasks are gone", || {
        metrics.num_alive_tasks() <= tasks_before
    })
    .await;
    println!(
        "measured: {CYCLES} connect/disconnect cycles in {cycles_took:?}, {live_at_end} sources \
         live at the end, all dropped {:?} later; fds {fds_before} -> {}, tasks {tasks_before} -> {}",
        started.elapsed() - cycles_took,
        open_fds(),
        metrics.num_alive_tasks()
    );

    stop.send(()).unwrap();
    within("shutdown", server).await.unwrap().unwrap();
}

/// Connects, requests the event stream, reads the response head, hangs up.
async fn cycle(addr: SocketAddr) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /events HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let head = read_head(&mut stream).await;
    assert!(
        head.starts_with(b"HTTP/1.1 200 "),
        "{:?}",
        String::from_utf8_lossy(&head)
    );
}
