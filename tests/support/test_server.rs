//! What the end-to-end tests share: a route served on `127.0.0.1:0` by
//! `serve_with_shutdown`, and a bound on anything that should happen
//! promptly. Included with `#[path = "support/test_server.rs"] mod ...;`.

// Each test binary uses a part of it.
#![allow(dead_code)]

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use sse_routing::{serve_with_shutdown, Route};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The upper bound on anything that should happen promptly.
pub(crate) const LIMIT: Duration = Duration::from_secs(5);

/// Awaits `future`, failing the test if it takes longer than [`LIMIT`].
pub(crate) async fn within<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(LIMIT, future).await {
        Ok(output) => output,
        Err(_) => panic!("timed out after {LIMIT:?}: {what}"),
    }
}

/// A route served on `127.0.0.1:0` by `serve_with_shutdown` on its own task.
pub(crate) struct TestServer {
    pub(crate) addr: SocketAddr,
    pub(crate) stop: oneshot::Sender<()>,
    pub(crate) task: JoinHandle<io::Result<()>>,
}

/// Serves `route` until [`TestServer::shutdown`].
pub(crate) async fn start(route: Route) -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve_with_shutdown(listener, route, async {
        let _ = stopped.await;
    }));
    TestServer { addr, stop, task }
}

impl TestServer {
    /// Triggers the shutdown signal; `serve_with_shutdown` must return `Ok`
    /// within [`LIMIT`].
    pub(crate) async fn shutdown(self) {
        self.stop.send(()).unwrap();
        within("serve_with_shutdown returns", self.task)
            .await
            .unwrap()
            .unwrap();
    }
}
