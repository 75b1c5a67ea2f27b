//! Real brokers for the shared-log tests: a `redis-server` or a
//! `nats-server -js` of the test's own, on a free port of 127.0.0.1, with
//! its own data directory, so that a test can kill it and start it again
//! (with its data, or without). `scripts/setup-brokers.sh` installs them
//! (Debian packages) the first time; a broker that cannot be started fails
//! the test with a message that says why, it never skips it.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Runs `scripts/setup-brokers.sh` once per test process.
fn ensure_installed() {
    static DONE: Mutex<bool> = Mutex::new(false);
    let mut done = DONE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if *done {
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/setup-brokers.sh");
    let status = Command::new("bash")
        .arg(&script)
        .status()
        .unwrap_or_else(|error| panic!("cannot run {}: {error}", script.display()));
    assert!(
        status.success(),
        "{} failed ({status}): the shared-log tests need redis-server and nats-server",
        script.display()
    );
    *done = true;
}

/// A free TCP port on 127.0.0.1, below Linux's ephemeral range (32768 and
/// up): a broker restarted on it finds it free again, since no other
/// test's `bind(0)` is ever given a port from there.
fn free_port() -> u16 {
    // Never the same port twice in one test process: two brokers starting
    // at once must not both find one port free.
    static GIVEN: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    let mut given = GIVEN
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    for _ in 0..1000 {
        let port = fastrand::u16(20_000..32_000);
        if !given.contains(&port) && TcpListener::bind(("127.0.0.1", port)).is_ok() {
            given.push(port);
            return port;
        }
    }
    panic!("no free port in 20000..32000 on 127.0.0.1");
}

/// Waits until something accepts connections on `addr`.
fn wait_for_port(addr: SocketAddr, child: &mut Child, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited before accepting connections: {status}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("{what} did not accept connections on {addr} within 20 s");
}

/// A data directory that is removed when dropped.
#[derive(Debug)]
struct DataDir(PathBuf);

impl DataDir {
    fn new(kind: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "sse-{kind}-{}-{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        std::fs::create_dir_all(&dir).expect("a data directory");
        DataDir(dir)
    }

    fn wipe(&self) {
        let _ = std::fs::remove_dir_all(&self.0);
        std::fs::create_dir_all(&self.0).expect("a data directory");
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The broker kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Redis,
    Nats,
}

/// A broker process of the test's own. Killed when dropped.
#[derive(Debug)]
pub struct Broker {
    kind: Kind,
    port: u16,
    dir: DataDir,
    child: Option<Child>,
}

impl Broker {
    /// A `redis-server` with append-only persistence (every write is
    /// fsynced), so a restart keeps what was acknowledged.
    pub fn redis() -> Self {
        Self::start(Kind::Redis)
    }

    /// A `nats-server` with JetStream, file storage in its own directory.
    pub fn nats() -> Self {
        Self::start(Kind::Nats)
    }

    fn start(kind: Kind) -> Self {
        ensure_installed();
        let mut broker = Broker {
            kind,
            port: free_port(),
            dir: DataDir::new(match kind {
                Kind::Redis => "redis",
                Kind::Nats => "nats",
            }),
            child: None,
        };
        broker.spawn();
        broker
    }

    fn spawn(&mut self) {
        let port = self.port.to_string();
        let dir = self.dir.0.to_str().expect("a UTF-8 path").to_owned();
        let mut command = match self.kind {
            Kind::Redis => {
                let mut command = Command::new("redis-server");
                command.args([
                    "--port",
                    &port,
                    "--bind",
                    "127.0.0.1",
                    "--dir",
                    &dir,
                    "--appendonly",
                    "yes",
                    "--appendfsync",
                    "always",
                    "--save",
                    "",
                    "--protected-mode",
                    "no",
                ]);
                command
            }
            Kind::Nats => {
                let mut command = Command::new("nats-server");
                command.args(["-a", "127.0.0.1", "-p", &port, "-js", "-sd", &dir]);
                command
            }
        };
        let mut child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {:?}: {error}", self.kind));
        wait_for_port(
            self.addr(),
            &mut child,
            &format!("{:?} on port {port}", self.kind),
        );
        self.child = Some(child);
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// Its URL: `redis://127.0.0.1:PORT` or `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        match self.kind {
            Kind::Redis => format!("redis://{}", self.addr()),
            Kind::Nats => format!("nats://{}", self.addr()),
        }
    }

    /// Kills it at once (SIGKILL): what was acknowledged is on disk.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port, with its data.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// Starts it again on the same port, without its data: a broker that
    /// lost everything.
    pub fn restart_empty(&mut self) {
        self.kill();
        self.dir.wipe();
        self.spawn();
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.kill();
    }
}
