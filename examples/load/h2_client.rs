//! The load generator's HTTP/2 connections (cleartext, prior knowledge):
//! each carries many event streams, as a browser's does over TLS, to
//! measure what one open stream costs a server on HTTP/2.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpSocket;
use tokio::sync::OwnedSemaphorePermit;

use crate::client::{scan, Outcome, Shared, SOURCE_ADDRESSES};

/// One connection with `streams` event streams, until the run stops; one
/// outcome per stream.
pub(crate) async fn connection(
    port: u16,
    index: usize,
    streams: usize,
    shared: Arc<Shared>,
    permit: OwnedSemaphorePermit,
) -> Vec<Outcome> {
    match open(port, index).await {
        Ok(sender) => {
            let mut tasks = Vec::with_capacity(streams);
            for _ in 0..streams {
                let sender = sender.clone();
                let shared = Arc::clone(&shared);
                tasks.push(tokio::spawn(async move {
                    let mut outcome = Outcome::default();
                    if let Err(error) = stream(sender, &shared, &mut outcome).await {
                        if !outcome.connected {
                            shared.failed.fetch_add(1, Ordering::Relaxed);
                        }
                        outcome.error = Some(error);
                    }
                    outcome
                }));
            }
            drop(permit);
            let mut outcomes = Vec::with_capacity(streams);
            for task in tasks {
                outcomes.push(task.await.unwrap_or_default());
            }
            outcomes
        }
        Err(error) => {
            shared.failed.fetch_add(streams, Ordering::Relaxed);
            (0..streams)
                .map(|_| Outcome {
                    error: Some(error.clone()),
                    ..Outcome::default()
                })
                .collect()
        }
    }
}

type Sender = hyper::client::conn::http2::SendRequest<Empty<Bytes>>;

async fn open(port: u16, index: usize) -> Result<Sender, String> {
    let source = Ipv4Addr::new(127, 0, 0, 1 + (index % SOURCE_ADDRESSES) as u8);
    let socket = TcpSocket::new_v4().map_err(|e| e.to_string())?;
    socket
        .bind(SocketAddr::from((source, 0)))
        .map_err(|e| e.to_string())?;
    let connect = socket.connect(SocketAddr::from((Ipv4Addr::LOCALHOST, port)));
    let tcp = tokio::time::timeout(Duration::from_secs(20), connect)
        .await
        .map_err(|_| "connect timed out".to_owned())?
        .map_err(|e| e.to_string())?;
    tcp.set_nodelay(true).map_err(|e| e.to_string())?;
    let (sender, connection) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
        .handshake(TokioIo::new(tcp))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    Ok(sender)
}

async fn stream(mut sender: Sender, shared: &Shared, outcome: &mut Outcome) -> Result<(), String> {
    sender.ready().await.map_err(|e| e.to_string())?;
    let request = http::Request::get("http://127.0.0.1/events")
        .header("accept", "text/event-stream")
        .body(Empty::new())
        .map_err(|e| e.to_string())?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string())?;
    if response.status() != http::StatusCode::OK {
        return Err(format!("status {}", response.status()));
    }
    outcome.connected = true;
    shared.connected.fetch_add(1, Ordering::Relaxed);
    let mut body = response.into_body();
    let mut buf = Vec::new();
    loop {
        let frame = tokio::select! {
            frame = body.frame() => frame,
            () = shared.stop.cancelled() => {
                outcome.open_at_end = true;
                return Ok(());
            }
        };
        match frame {
            None => return Ok(()),
            Some(Err(error)) => return Err(error.to_string()),
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    buf.extend_from_slice(&data);
                    let consumed = scan(&buf, shared, outcome);
                    buf.drain(..consumed);
                }
            }
        }
    }
}
