//! `CONNECT` through an HTTP proxy: how an `https` stream crosses one.

use http::HeaderValue;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::error::{Error, Kind};

/// The longest proxy answer read: a `CONNECT` answer is a status line and a
/// few fields.
const MAX_ANSWER: usize = 8 * 1024;

/// Asks the proxy on `stream` for a tunnel to `host:port`; on a `2xx`
/// answer, the stream is the tunnel.
pub(crate) async fn connect(
    stream: &mut TcpStream,
    host: &str,
    port: u16,
    auth: Option<&HeaderValue>,
) -> Result<(), Error> {
    // An IPv6 literal keeps its brackets in the authority.
    let authority = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let mut request = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n").into_bytes();
    if let Some(auth) = auth {
        request.extend_from_slice(b"Proxy-Authorization: ");
        request.extend_from_slice(auth.as_bytes());
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"\r\n");
    let failed = |cause: std::io::Error| Error::new(Kind::Proxy { status: None }).with_cause(cause);
    stream.write_all(&request).await.map_err(failed)?;

    // A proxy sends nothing after its answer until the client speaks (TLS
    // starts with the client's hello), so reading what has arrived cannot
    // swallow bytes of the tunnel; a proxy that sent some is refused.
    let mut answer = Vec::with_capacity(512);
    let mut chunk = [0; 512];
    loop {
        let n = stream.read(&mut chunk).await.map_err(failed)?;
        if n == 0 {
            return Err(Error::new(Kind::Proxy { status: None })
                .with_cause("the proxy closed the connection before answering CONNECT"));
        }
        answer.extend_from_slice(&chunk[..n]);
        let mut fields = [httparse::EMPTY_HEADER; 64];
        let mut response = httparse::Response::new(&mut fields);
        match response.parse(&answer) {
            Ok(httparse::Status::Complete(len)) => {
                let status = response.code.unwrap_or(0);
                if !(200..300).contains(&status) {
                    return Err(Error::new(Kind::Proxy {
                        status: Some(status),
                    }));
                }
                if len != answer.len() {
                    return Err(Error::new(Kind::Proxy { status: None })
                        .with_cause("the proxy sent bytes after its CONNECT answer"));
                }
                return Ok(());
            }
            Ok(httparse::Status::Partial) if answer.len() < MAX_ANSWER => {}
            Ok(httparse::Status::Partial) => {
                return Err(Error::new(Kind::Proxy { status: None })
                    .with_cause("the proxy's CONNECT answer is too long"))
            }
            Err(error) => {
                return Err(Error::new(Kind::Proxy { status: None })
                    .with_cause(format!("the proxy's CONNECT answer is not HTTP: {error}")))
            }
        }
    }
}
