//! The load generator's connections: raw HTTP/1.1 over TCP, as light as a
//! client can be, so that the two cores go to the server under test.
//!
//! A connection sends one `GET /events`, checks for `200`, then scans what
//! arrives for `data:` lines. Both servers write whole events per chunk of
//! the chunked body, so a chunk-size line never falls inside an event and
//! the scan needs no de-chunking.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;
use tokio::sync::OwnedSemaphorePermit;
use tokio_util::sync::CancellationToken;

use crate::servers::unix_nanos;

const REQUEST: &[u8] =
    b"GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n";

/// Connections take turns among this many source addresses 127.0.0.x: one
/// address has only 28 000 ephemeral ports (32768-60999), and the ports of a
/// run just ended stay in TIME_WAIT for a minute.
pub(crate) const SOURCE_ADDRESSES: usize = 32;

/// What every connection shares with the driver.
pub(crate) struct Shared {
    /// Connections that got their response head.
    pub(crate) connected: AtomicUsize,
    /// Connections that failed before that.
    pub(crate) failed: AtomicUsize,
    /// The measurement window, in Unix nanoseconds of scheduled send time
    /// (0 until the driver opens it).
    pub(crate) window_start: AtomicU64,
    pub(crate) window_end: AtomicU64,
    pub(crate) stop: CancellationToken,
}

/// What one connection saw.
#[derive(Default)]
pub(crate) struct Outcome {
    pub(crate) connected: bool,
    /// Whether the stream was still open when the run stopped.
    pub(crate) open_at_end: bool,
    /// Latency in microseconds of each event scheduled inside the window.
    pub(crate) latencies_us: Vec<u32>,
    pub(crate) error: Option<String>,
}

/// One connection, until the run stops. `permit` limits how many connect at
/// once; it is released as soon as the response head has arrived.
pub(crate) async fn connection(
    port: u16,
    index: usize,
    shared: Arc<Shared>,
    permit: OwnedSemaphorePermit,
) -> Outcome {
    let mut outcome = Outcome::default();
    if let Err(error) = run(port, index, &shared, &mut outcome, permit).await {
        if !outcome.connected {
            shared.failed.fetch_add(1, Ordering::Relaxed);
        }
        outcome.error = Some(error.to_string());
    }
    outcome
}

async fn run(
    port: u16,
    index: usize,
    shared: &Shared,
    outcome: &mut Outcome,
    permit: OwnedSemaphorePermit,
) -> std::io::Result<()> {
    let source = Ipv4Addr::new(127, 0, 0, 1 + (index % SOURCE_ADDRESSES) as u8);
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from((source, 0)))?;
    let connect = socket.connect(SocketAddr::from((Ipv4Addr::LOCALHOST, port)));
    let mut stream = tokio::time::timeout(Duration::from_secs(20), connect)
        .await
        .map_err(|_| std::io::Error::other("connect timed out"))??;
    stream.set_nodelay(true)?;
    stream.write_all(REQUEST).await?;

    let mut buf = Vec::with_capacity(4096);
    // The response head.
    let body_start = loop {
        if let Some(end) = find(&buf, b"\r\n\r\n") {
            if !buf.starts_with(b"HTTP/1.1 200") {
                return Err(std::io::Error::other("status is not 200"));
            }
            break end + 4;
        }
        if read(&mut stream, &mut buf, shared).await? == 0 {
            return Err(std::io::Error::other("closed before the response head"));
        }
    };
    buf.drain(..body_start);
    outcome.connected = true;
    shared.connected.fetch_add(1, Ordering::Relaxed);
    drop(permit);

    loop {
        let consumed = scan(&buf, shared, outcome);
        buf.drain(..consumed);
        match read(&mut stream, &mut buf, shared).await {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {
                outcome.open_at_end = true;
                return Ok(());
            }
            Err(error) => return Err(error),
        }
    }
}

/// Records the latency of every whole `data:` line in `buf` scheduled inside
/// the window; returns how many bytes it consumed (whole lines).
pub(crate) fn scan(buf: &[u8], shared: &Shared, outcome: &mut Outcome) -> usize {
    let now = unix_nanos();
    let start = shared.window_start.load(Ordering::Relaxed);
    let end = shared.window_end.load(Ordering::Relaxed);
    let mut consumed = 0;
    while let Some(len) = memchr::memchr(b'\n', &buf[consumed..]) {
        let line = &buf[consumed..consumed + len];
        consumed += len + 1;
        let Some(data) = line.strip_prefix(b"data:") else {
            continue;
        };
        // axum writes `data: `, we write `data:`: one space is optional.
        let data = data.strip_prefix(b" ").unwrap_or(data);
        let scheduled = data
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
        if start != 0 && scheduled >= start && scheduled < end {
            let micros = now.saturating_sub(scheduled) / 1_000;
            outcome
                .latencies_us
                .push(micros.min(u64::from(u32::MAX)) as u32);
        }
    }
    consumed
}

/// Reads more bytes, or fails with `Interrupted` when the run stops.
async fn read(
    stream: &mut tokio::net::TcpStream,
    buf: &mut Vec<u8>,
    shared: &Shared,
) -> std::io::Result<usize> {
    tokio::select! {
        read = stream.read_buf(buf) => read,
        () = shared.stop.cancelled() => Err(std::io::ErrorKind::Interrupted.into()),
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
