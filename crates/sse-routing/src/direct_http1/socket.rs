//! The socket calls of the direct path: reads that append to a bounded
//! buffer, and vectored writes that give up when the client accepts nothing
//! for too long. Both wait on readiness and then try the call, so no buffer
//! is held while they wait.

use std::io::{self, IoSlice};
use std::time::Duration;

use bytes::BufMut;
use tokio::net::TcpStream;

/// What one read may add to a buffer at most.
const READ_SIZE: usize = 1024;

/// What a read found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Read {
    /// Bytes were appended.
    Bytes,
    /// The client closed its side.
    Closed,
}

/// Waits until the socket is readable, then appends what it holds to
/// `buf`, at most [`READ_SIZE`] bytes and never past `limit` bytes of `buf`
/// (a full buffer reads nothing and reports [`Read::Bytes`]).
pub(crate) async fn read_some(
    stream: &TcpStream,
    buf: &mut Vec<u8>,
    limit: usize,
) -> io::Result<Read> {
    loop {
        stream.readable().await?;
        let room = limit.saturating_sub(buf.len()).min(READ_SIZE);
        if room == 0 {
            return Ok(Read::Bytes);
        }
        // `reserve_exact` keeps the capacity near what is used: a buffer
        // that doubled would cost up to twice the limit.
        buf.reserve_exact(room);
        match stream.try_read_buf(&mut (&mut *buf).limit(room)) {
            Ok(0) => return Ok(Read::Closed),
            Ok(_) => return Ok(Read::Bytes),
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
            Err(error) => return Err(error),
        }
    }
}

/// Writes all of `parts`, in order, with as few system calls as the socket
/// allows (one, unless it is full). Fails with `TimedOut` when the socket
/// stays full for `timeout`: the client stopped reading.
pub(crate) async fn write_all(
    stream: &TcpStream,
    parts: &mut [&[u8]],
    timeout: Option<Duration>,
) -> io::Result<()> {
    loop {
        let Some(first) = parts.iter().position(|part| !part.is_empty()) else {
            return Ok(());
        };
        let parts = &mut parts[first..];
        let written = if let [only] = parts {
            stream.try_write(only)
        } else {
            // A chunk is at most four parts (head, size, data, CRLF): no
            // allocation for the list.
            let mut slices = [IoSlice::new(&[]); 4];
            let count = parts.len().min(slices.len());
            for (slot, part) in slices.iter_mut().zip(parts.iter()) {
                *slot = IoSlice::new(part);
            }
            stream.try_write_vectored(&slices[..count])
        };
        let mut written = match written {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(written) => written,
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                writable(stream, timeout).await?;
                continue;
            }
            Err(error) => return Err(error),
        };
        for part in parts.iter_mut() {
            let taken = written.min(part.len());
            *part = &part[taken..];
            written -= taken;
        }
    }
}

/// Waits until the socket takes bytes again, for at most `timeout`.
async fn writable(stream: &TcpStream, timeout: Option<Duration>) -> io::Result<()> {
    let Some(timeout) = timeout else {
        return stream.writable().await;
    };
    match tokio::time::timeout(timeout, stream.writable()).await {
        Ok(ready) => ready,
        Err(_elapsed) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the client accepted no bytes within the write timeout",
        )),
    }
}
