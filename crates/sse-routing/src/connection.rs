//! One connection, from accept to close: the direct HTTP/1.1 path first
//! (when it is on), hyper for what the direct path hands over, and the
//! shutdown grace period around both.

use std::sync::Arc;

use bytes::Bytes;
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;
use tokio_util::sync::CancellationToken;

use crate::direct_http1::{self, Outcome};
use crate::hyper_handoff::{self, Protocol, Rewind};
use crate::{Route, ServerConfig};

/// What every connection of a server shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) route: Route,
    pub(crate) config: ServerConfig,
    pub(crate) shutdown: CancellationToken,
    /// Present when the server speaks HTTPS.
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<crate::TlsConfig>,
}

/// Serves `stream` until it ends, or closes it once the shutdown grace
/// period is over. `_slot` is the connection's place under the server's
/// connection limit, given back when the connection closes.
pub(crate) async fn serve(
    stream: TcpStream,
    shared: Arc<Shared>,
    _slot: Option<OwnedSemaphorePermit>,
) {
    // A function of its own, the connection made and pinned in place: the
    // same `select!` written inline in the accept loop measured ~3 KiB more
    // per open connection in `examples/load`, which `size_of_val` did not
    // show. Measure before reshaping this.
    let connection = std::pin::pin!(serve_protocols(stream, &shared));
    let grace = async {
        shared.shutdown.cancelled().await;
        tokio::time::sleep(shared.config.shutdown_grace).await;
    };
    tokio::select! {
        () = connection => {}
        () = grace => tracing::debug!("closing a connection still busy after the grace period"),
    }
}

async fn serve_protocols(stream: TcpStream, shared: &Shared) {
    #[cfg(feature = "tls")]
    if let Some(tls) = &shared.tls {
        // Boxed: a TLS stream is large, and a future is as large as its
        // largest state; cleartext connections should not pay for it.
        return Box::pin(crate::tls::serve(stream, tls.acceptor(), shared)).await;
    }
    let Shared {
        route,
        config,
        shutdown,
        ..
    } = shared;
    if !config.direct_http1 {
        let io = Rewind::new(Bytes::new(), stream);
        let first_wait = config.first_byte_timeout;
        return hyper_handoff::serve(io, route, config, shutdown, Protocol::Detect, first_wait)
            .await;
    }
    match direct_http1::serve(stream, route, config, shutdown).await {
        Outcome::Done => {}
        Outcome::HandOver(stream, read) => {
            let io = Rewind::new(Bytes::from(read), stream);
            let first_wait = config.idle_timeout;
            hyper_handoff::serve(io, route, config, shutdown, Protocol::Detect, first_wait).await;
        }
    }
}
