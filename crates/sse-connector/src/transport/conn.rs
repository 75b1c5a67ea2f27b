//! The connections the default transport makes: plain TCP (to the server,
//! or to a proxy that forwards `http`), or TLS (to the server, directly or
//! through a `CONNECT` tunnel).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// One connection of the default transport.
#[derive(Debug)]
pub(crate) enum Conn {
    Tcp {
        io: TokioIo<TcpStream>,
        /// To a proxy that forwards the request: hyper then writes the
        /// request target in absolute form.
        proxied: bool,
    },
    Tls {
        /// Boxed: a TLS session is large, a plain socket small.
        io: Box<TokioIo<TlsStream<TcpStream>>>,
        /// ALPN chose HTTP/2.
        h2: bool,
    },
}

impl Connection for Conn {
    fn connected(&self) -> Connected {
        match self {
            Conn::Tcp { proxied, .. } => Connected::new().proxy(*proxied),
            Conn::Tls { h2: true, .. } => Connected::new().negotiated_h2(),
            Conn::Tls { h2: false, .. } => Connected::new(),
        }
    }
}

impl Read for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Tcp { io, .. } => Pin::new(io).poll_read(cx, buf),
            Conn::Tls { io, .. } => Pin::new(&mut **io).poll_read(cx, buf),
        }
    }
}

impl Write for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Tcp { io, .. } => Pin::new(io).poll_write(cx, buf),
            Conn::Tls { io, .. } => Pin::new(&mut **io).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Tcp { io, .. } => Pin::new(io).poll_write_vectored(cx, bufs),
            Conn::Tls { io, .. } => Pin::new(&mut **io).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Conn::Tcp { io, .. } => io.is_write_vectored(),
            Conn::Tls { io, .. } => io.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Tcp { io, .. } => Pin::new(io).poll_flush(cx),
            Conn::Tls { io, .. } => Pin::new(&mut **io).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Tcp { io, .. } => Pin::new(io).poll_shutdown(cx),
            Conn::Tls { io, .. } => Pin::new(&mut **io).poll_shutdown(cx),
        }
    }
}
