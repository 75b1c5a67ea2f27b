//! A TCP load balancer in front of several servers, for tests of clients
//! that reconnect to another node: every new connection goes to the
//! backend chosen at that moment; connections already open stay where they
//! are until their backend drops them.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The balancer: stops when dropped.
#[derive(Debug)]
pub struct Balancer {
    addr: SocketAddr,
    current: Arc<AtomicUsize>,
    accepted: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Balancer {
    /// Listens on `127.0.0.1:0` and sends new connections to `backends[0]`.
    pub async fn start(backends: Vec<SocketAddr>) -> Balancer {
        assert!(!backends.is_empty(), "a balancer needs a backend");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("an address");
        let current = Arc::new(AtomicUsize::new(0));
        let accepted = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn({
            let current = Arc::clone(&current);
            let accepted = Arc::clone(&accepted);
            async move {
                while let Ok((mut inbound, _)) = listener.accept().await {
                    accepted.fetch_add(1, Ordering::SeqCst);
                    let backend = backends[current.load(Ordering::SeqCst) % backends.len()];
                    tokio::spawn(async move {
                        // A backend that is down: the client sees the
                        // connection close, as behind a real balancer.
                        if let Ok(mut outbound) = TcpStream::connect(backend).await {
                            let _ =
                                tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        }
                    });
                }
            }
        });
        Balancer {
            addr,
            current,
            accepted,
            task,
        }
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Sends new connections to backend `index` from now on.
    pub fn route_to(&self, index: usize) {
        self.current.store(index, Ordering::SeqCst);
    }

    /// How many connections it has accepted.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
