//! A small HTTP proxy for tests: `CONNECT` tunnels and forwarded requests,
//! each logged with its `Proxy-Authorization`.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One request the test proxy saw: its request line, and its
/// `Proxy-Authorization`.
pub type ProxyRequest = (String, Option<String>);

/// What the test proxy saw.
#[derive(Debug, Clone, Default)]
pub struct ProxyLog(Arc<Mutex<Vec<ProxyRequest>>>);

impl ProxyLog {
    /// Every request so far.
    pub fn requests(&self) -> Vec<ProxyRequest> {
        self.0.lock().unwrap().clone()
    }
}

/// A small HTTP proxy on `127.0.0.1:0`: `CONNECT host:port` opens a tunnel
/// (`200`), any other request is forwarded as it is to the host of its
/// absolute URI. Bounded: one head of at most 16 KiB per connection.
pub async fn start_proxy(log: &ProxyLog) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let log = log.clone();
    tokio::spawn(async move {
        loop {
            let Ok((client, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(proxy_connection(client, log.clone()));
        }
    });
    addr
}

async fn proxy_connection(mut client: TcpStream, log: ProxyLog) {
    let mut head = Vec::new();
    let mut buf = [0; 1024];
    let end = loop {
        let Ok(n) = client.read(&mut buf).await else {
            return;
        };
        if n == 0 || head.len() > 16 * 1024 {
            return;
        }
        head.extend_from_slice(&buf[..n]);
        if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
    };
    let text = String::from_utf8_lossy(&head[..end]).into_owned();
    let line = text.lines().next().unwrap_or_default().to_owned();
    let auth = text.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case("proxy-authorization")
            .then(|| value.trim().to_owned())
    });
    log.0.lock().unwrap().push((line.clone(), auth));
    let mut words = line.split_whitespace();
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let upstream = if method == "CONNECT" {
        target.to_owned()
    } else {
        let uri: http::Uri = target.parse().unwrap();
        format!("{}:{}", uri.host().unwrap(), uri.port_u16().unwrap_or(80))
    };
    let upstream = upstream.replace("localhost", "127.0.0.1");
    let Ok(mut server) = TcpStream::connect(&upstream).await else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
        return;
    };
    if method == "CONNECT" {
        let _ = client
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .await;
        let _ = client.write_all(&head[end..]).await;
    } else {
        let _ = server.write_all(&head).await;
    }
    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
}
