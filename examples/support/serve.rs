//! What the examples share: the address from `PORT` (default 8000, on
//! 127.0.0.1), HTTPS when `TLS_CERT` and `TLS_KEY` name PEM files (a
//! certificate chain and its private key), and a graceful stop on Ctrl-C.

use std::net::{Ipv4Addr, SocketAddr};

use sse_routing::{Route, Server, TlsConfig};
use tokio::net::TcpListener;

/// Serves `route` as the example `name` until Ctrl-C; `on_shutdown` runs
/// when the signal comes, before open streams end.
pub(crate) async fn serve(
    name: &str,
    route: Route,
    on_shutdown: impl FnOnce() + Send,
) -> Result<(), Box<dyn std::error::Error>> {
    let port = match std::env::var("PORT") {
        Ok(port) => port
            .parse()
            .map_err(|_| format!("PORT must be a port number, not {port:?}"))?,
        Err(_) => 8000,
    };
    let mut server = Server::new(route);
    let scheme = match (std::env::var_os("TLS_CERT"), std::env::var_os("TLS_KEY")) {
        (Some(cert), Some(key)) => {
            server = server.with_tls(TlsConfig::from_pem_files(cert, key)?);
            "https"
        }
        (None, None) => "http",
        _ => return Err("set both TLS_CERT and TLS_KEY (PEM files), or neither".into()),
    };
    let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await?;
    let addr = listener.local_addr()?;
    eprintln!("{name} on {scheme}://{addr}/ (Ctrl-C to stop)");
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
        eprintln!("shutting down");
        on_shutdown();
    };
    server.serve_with_shutdown(listener, ctrl_c).await?;
    Ok(())
}
