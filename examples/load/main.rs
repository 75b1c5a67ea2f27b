//! Load test: N concurrent event streams from a server on 127.0.0.1, fed at a
//! fixed rate through a broadcast, against our server and an axum `Sse`
//! server in turn. `scripts/load.sh` runs the whole set; BENCHMARKS.md holds
//! the results.
//!
//! ```text
//! cargo run --release --example load -- run --server ours --connections 10000
//! cargo run --release --example load -- run --server axum --connections 10000 \
//!     --rate 10 --warmup 3 --duration 15 --payload 100
//! cargo run --release --example load -- run --server ours --connections 10000 \
//!     --http2-streams 100
//! ```
//!
//! `--http2-streams K` opens the N streams as HTTP/2 streams (cleartext,
//! prior knowledge), K per connection, instead of one HTTP/1.1 connection
//! each.
//!
//! `--hub-log URL` puts our server's hub on a shared log: `memory` (the
//! default), `redis://HOST:PORT` or `nats://HOST:PORT` (a broker you
//! started; `scripts/load-logs.sh` starts its own). Latency then covers the
//! append to the broker and the tail back from it.
//!
//! `run` starts the server as a child process (this binary, `server` mode),
//! so the server's CPU time and memory are its own, opens the connections,
//! waits for all of them, lets the stream settle, then measures for
//! `--duration` seconds:
//!
//! - delivered events per second, counting events scheduled in the window;
//! - p50 / p99 / max latency from each event's *scheduled* send time to its
//!   arrival (so a publisher that falls behind shows up, no coordinated
//!   omission);
//! - server CPU time per delivered event (from `/proc/<pid>/stat`);
//! - server memory per stream: its resident set with the streams open,
//!   less before they were opened, over N (on HTTP/1.1, per connection).
//!
//! Every run is bounded: connecting gives up after 60 s, the server exits by
//! itself soon after the run's length, and the driver kills it at the end.
//! It raises its own open-file limit and only ever talks to 127.0.0.1.

mod client;
mod h2_client;
mod servers;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::client::Shared;
use crate::servers::{unix_nanos, ServerOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let options = Options::parse(&args)?;
    match args.first().map(String::as_str) {
        Some("server") => servers::run(ServerOptions {
            lifetime: options.lifetime(),
            kind: options.server,
            rate: options.rate,
            payload: options.payload,
            hub_log: options.hub_log.clone(),
        }),
        Some("run") => drive(&options),
        _ => Err(
            "usage: load run|server [--server ours|axum] [--connections N] [--rate R] \
                  [--warmup S] [--duration S] [--payload BYTES] [--http2-streams K] \
                  [--hub-log memory|redis://HOST:PORT|nats://HOST:PORT]"
                .into(),
        ),
    }
}

struct Options {
    server: String,
    connections: usize,
    /// Events per second on the topic (each connection gets all of them).
    rate: f64,
    warmup: u64,
    duration: u64,
    payload: usize,
    /// 0: HTTP/1.1, one stream per connection. K: HTTP/2 (cleartext), K
    /// streams per connection, `connections` streams in all.
    http2_streams: usize,
    /// Where our hub keeps its log: `memory`, `redis://…` or `nats://…`.
    hub_log: String,
}

impl Options {
    fn parse(args: &[String]) -> Result<Self, Box<dyn std::error::Error>> {
        let mut options = Options {
            server: "ours".to_owned(),
            connections: 1000,
            rate: 10.0,
            warmup: 3,
            duration: 15,
            payload: 100,
            http2_streams: 0,
            hub_log: "memory".to_owned(),
        };
        let mut args = args.iter().skip(1);
        while let Some(flag) = args.next() {
            let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
            match flag.as_str() {
                "--server" => options.server = value.clone(),
                "--connections" => options.connections = value.parse()?,
                "--rate" => options.rate = value.parse()?,
                "--warmup" => options.warmup = value.parse()?,
                "--duration" => options.duration = value.parse()?,
                "--payload" => options.payload = value.parse()?,
                "--http2-streams" => options.http2_streams = value.parse()?,
                "--hub-log" => options.hub_log = value.clone(),
                _ => return Err(format!("unknown option {flag}").into()),
            }
        }
        if !(options.rate > 0.0 && options.rate <= 10_000.0) {
            return Err("--rate must be in (0, 10000]".into());
        }
        if options.duration == 0 || options.duration > 300 || options.warmup > 60 {
            return Err("--duration must be 1..=300 s and --warmup at most 60 s".into());
        }
        Ok(options)
    }

    /// How long a server may live: the connecting phase, the run, a margin.
    fn lifetime(&self) -> Duration {
        Duration::from_secs(CONNECT_LIMIT.as_secs() + self.warmup + self.duration + 30)
    }
}

/// How long connecting may take before the run goes on with what it has.
const CONNECT_LIMIT: Duration = Duration::from_secs(60);

/// Connection attempts in flight at once (the server's accept queue is 4096).
const CONNECTING_AT_ONCE: usize = 512;

/// Raises the soft and hard open-file limits (root may raise the hard one),
/// or at least the soft limit to the hard one.
pub(crate) fn raise_open_file_limit() {
    const WANT: u64 = 400_000;
    if rlimit::setrlimit(rlimit::Resource::NOFILE, WANT, WANT).is_err() {
        let _ = rlimit::increase_nofile_limit(WANT);
    }
}

/// A process's `/proc` files, opened once before the run opens thousands of
/// sockets (later opens could fail for want of file descriptors).
struct ProcFiles {
    stat: std::fs::File,
    status: std::fs::File,
}

impl ProcFiles {
    fn open(pid: u32) -> std::io::Result<Self> {
        Ok(ProcFiles {
            stat: std::fs::File::open(format!("/proc/{pid}/stat"))?,
            status: std::fs::File::open(format!("/proc/{pid}/status"))?,
        })
    }

    fn read(file: &mut std::fs::File) -> String {
        use std::io::{Read, Seek};
        let mut text = String::new();
        let _ = file.rewind().and_then(|()| file.read_to_string(&mut text));
        text
    }

    /// CPU time (user + system) in seconds.
    fn cpu_seconds(&mut self) -> f64 {
        let stat = Self::read(&mut self.stat);
        // Fields after the command name, which is in parentheses: utime and
        // stime are the 12th and 13th of them, in clock ticks (100 per
        // second on Linux).
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map_or(vec![], |(_, rest)| rest.split_whitespace().collect());
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<u64>().ok())
                .unwrap_or(0)
        };
        (ticks(11) + ticks(12)) as f64 / 100.0
    }

    /// The resident set in KiB.
    fn rss_kib(&mut self) -> u64 {
        Self::read(&mut self.status)
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }
}

/// The soft limit on open files in effect.
fn open_file_limit() -> u64 {
    rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(0, |(soft, _)| soft)
}

/// The server child; killed when dropped, so no run leaves one behind.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(options: &Options) -> Result<Self, Box<dyn std::error::Error>> {
        let mut child = Command::new(std::env::current_exe()?)
            .args(["server", "--server", &options.server])
            .args(["--rate", &options.rate.to_string()])
            .args(["--payload", &options.payload.to_string()])
            .args(["--warmup", &options.warmup.to_string()])
            .args(["--duration", &options.duration.to_string()])
            .args(["--hub-log", &options.hub_log])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let port = line
            .trim()
            .strip_prefix("PORT ")
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| format!("the server said {line:?}, not its port"))?;
        Ok(Server { child, port })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn drive(options: &Options) -> Result<(), Box<dyn std::error::Error>> {
    raise_open_file_limit();
    let server = Server::start(options)?;
    let mut proc_files = ProcFiles::open(server.pid())?;
    std::thread::sleep(Duration::from_millis(500));
    let rss_idle = proc_files.rss_kib();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let shared = Arc::new(Shared {
        connected: Default::default(),
        failed: Default::default(),
        window_start: Default::default(),
        window_end: Default::default(),
        stop: CancellationToken::new(),
    });
    let n = options.connections;
    let began = Instant::now();
    let outcomes = runtime.block_on(async {
        let gate = Arc::new(tokio::sync::Semaphore::new(CONNECTING_AT_ONCE));
        let mut tasks = Vec::with_capacity(n);
        let per_connection = options.http2_streams;
        let connections = if per_connection == 0 {
            n
        } else {
            n.div_ceil(per_connection)
        };
        for index in 0..connections {
            let shared = Arc::clone(&shared);
            let gate = Arc::clone(&gate);
            let port = server.port;
            let streams = per_connection.min(n - index * per_connection.max(1));
            tasks.push(tokio::spawn(async move {
                // Held until this connection has its response head (or fails).
                let permit = gate.acquire_owned().await.expect("never closed");
                if per_connection == 0 {
                    vec![client::connection(port, index, shared, permit).await]
                } else {
                    h2_client::connection(port, index, streams, shared, permit).await
                }
            }));
        }
        // Wait for every connection to succeed or fail, within the limit.
        let deadline = Instant::now() + CONNECT_LIMIT;
        while shared.connected.load(Ordering::Relaxed) + shared.failed.load(Ordering::Relaxed) < n
            && Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let connect_secs = began.elapsed().as_secs_f64();
        let connected = shared.connected.load(Ordering::Relaxed);
        eprintln!(
            "{}: {connected}/{n} connected in {connect_secs:.1} s (open-file limit {})",
            options.server,
            open_file_limit()
        );
        tokio::time::sleep(Duration::from_secs(options.warmup)).await;

        let window = Duration::from_secs(options.duration);
        let start = unix_nanos();
        let rss_start = proc_files.rss_kib();
        let cpu_start = proc_files.cpu_seconds();
        shared.window_start.store(start, Ordering::Relaxed);
        shared
            .window_end
            .store(start + window.as_nanos() as u64, Ordering::Relaxed);
        tokio::time::sleep(window).await;
        let cpu_end = proc_files.cpu_seconds();
        let rss_end = proc_files.rss_kib();
        // Late events of the window may still be on their way.
        tokio::time::sleep(Duration::from_secs(2)).await;
        shared.stop.cancel();
        let mut outcomes = Vec::with_capacity(n);
        for task in tasks {
            if let Ok(outcome) = task.await {
                outcomes.extend(outcome);
            }
        }
        let measured = Measured {
            connected,
            connect_secs,
            rss_idle,
            rss_start,
            rss_end,
            cpu: cpu_end - cpu_start,
        };
        (outcomes, measured)
    });
    drop(server);
    report(options, outcomes.0, outcomes.1);
    runtime.shutdown_timeout(Duration::from_secs(1));
    Ok(())
}

struct Measured {
    connected: usize,
    connect_secs: f64,
    rss_idle: u64,
    rss_start: u64,
    rss_end: u64,
    cpu: f64,
}

fn report(options: &Options, outcomes: Vec<client::Outcome>, m: Measured) {
    let open_at_end = outcomes.iter().filter(|o| o.open_at_end).count();
    let mut errors: Vec<&str> = outcomes.iter().filter_map(|o| o.error.as_deref()).collect();
    errors.sort_unstable();
    errors.dedup();
    let mut latencies: Vec<u32> = outcomes
        .iter()
        .flat_map(|o| o.latencies_us.iter().copied())
        .collect();
    latencies.sort_unstable();
    let percentile = |p: f64| -> f64 {
        if latencies.is_empty() {
            return f64::NAN;
        }
        let i = ((latencies.len() - 1) as f64 * p).round() as usize;
        f64::from(latencies[i]) / 1000.0
    };
    let delivered = latencies.len() as f64;
    let expected = m.connected as f64 * options.rate * options.duration as f64;
    let events_per_sec = delivered / options.duration as f64;
    let cpu_us_per_event = m.cpu * 1e6 / delivered.max(1.0);
    // Per stream: per connection on HTTP/1.1.
    let kib_per_connection =
        m.rss_end.saturating_sub(m.rss_idle) as f64 / m.connected.max(1) as f64;
    let protocol = if options.http2_streams == 0 {
        "HTTP/1.1".to_owned()
    } else {
        format!("HTTP/2, {} streams per connection", options.http2_streams)
    };
    println!(
        "{server} ({protocol}, log {log}): N={n} connected={connected} (in {connect:.1} s) open_at_end={open_at_end} \
         delivered={events_per_sec:.0}/s ({ratio:.1}% of expected) \
         latency p50={p50:.2} ms p99={p99:.2} ms max={max:.2} ms \
         server CPU={cpu_us:.2} us/event ({cpu_pct:.0}% of a core) \
         server RSS idle={idle} KiB, start={start} KiB, end={end} KiB, {kib:.1} KiB/stream",
        server = options.server,
        log = options.hub_log,
        n = options.connections,
        connected = m.connected,
        connect = m.connect_secs,
        ratio = 100.0 * delivered / expected.max(1.0),
        p50 = percentile(0.50),
        p99 = percentile(0.99),
        max = percentile(1.0),
        cpu_us = cpu_us_per_event,
        cpu_pct = 100.0 * m.cpu / options.duration as f64,
        idle = m.rss_idle,
        start = m.rss_start,
        end = m.rss_end,
        kib = kib_per_connection,
    );
    if !errors.is_empty() {
        println!(
            "  connection errors: {} (open-file limit {})",
            errors.join("; "),
            open_file_limit()
        );
    }
    // One JSON line per run for scripts/load.sh to collect.
    println!(
        "RESULT {{\"server\":\"{}\",\"hub_log\":\"{}\",\"http2_streams\":{},\"n\":{},\"connected\":{},\"open_at_end\":{},\"rate\":{},\
         \"duration\":{},\"events_per_sec\":{:.1},\"delivered_ratio\":{:.4},\"p50_ms\":{:.3},\
         \"p99_ms\":{:.3},\"max_ms\":{:.3},\"cpu_us_per_event\":{:.3},\"cpu_core_share\":{:.3},\
         \"rss_idle_kib\":{},\"rss_end_kib\":{},\"kib_per_connection\":{:.2}}}",
        options.server,
        options.hub_log,
        options.http2_streams,
        options.connections,
        m.connected,
        open_at_end,
        options.rate,
        options.duration,
        events_per_sec,
        delivered / expected.max(1.0),
        percentile(0.50),
        percentile(0.99),
        percentile(1.0),
        cpu_us_per_event,
        m.cpu / options.duration as f64,
        m.rss_idle,
        m.rss_end,
        kib_per_connection,
    );
}
