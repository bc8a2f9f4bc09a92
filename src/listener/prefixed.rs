//! Telling HTTP/2 from HTTP/1.1 by a connection's first bytes, and handing those bytes on.
//!
//! An HTTP/2 client without TLS starts with the 24-byte preface `PRI * HTTP/2.0…`; anything
//! else is HTTP/1.1, usually known from the second byte (`POST` parts from `PRI` there). The
//! bytes read to decide are replayed to hyper ahead of the socket. Over TLS the same holds
//! inside the encrypted stream, when the client named no protocol by ALPN.

use std::{
    io,
    pin::Pin,
    task::{Context, Poll},
};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};

const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Protocol {
    Http1,
    Http2,
}

/// A stream with the bytes already read from it put back in front.
pub(super) struct Prefixed<S> {
    read: [u8; PREFACE.len()],
    /// `read[at..len]` is still to be replayed.
    at: usize,
    len: usize,
    stream: S,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Prefixed<S> {
    /// A stream whose protocol is already known (by ALPN): nothing to replay.
    pub(super) fn untouched(stream: S) -> Self {
        Self {
            read: [0; PREFACE.len()],
            at: 0,
            len: 0,
            stream,
        }
    }

    /// Reads until the protocol is known; `None` if the client closed first.
    pub(super) async fn detect(mut stream: S) -> io::Result<Option<(Protocol, Self)>> {
        let mut read = [0; PREFACE.len()];
        let mut len = 0;
        let protocol = loop {
            let n = stream.read(&mut read[len..]).await?;
            if n == 0 {
                return Ok(None);
            }
            len += n;
            if read[..len] != PREFACE[..len] {
                break Protocol::Http1;
            }
            if len == PREFACE.len() {
                break Protocol::Http2;
            }
        };
        let prefixed = Self {
            read,
            at: 0,
            len,
            stream,
        };
        Ok(Some((protocol, prefixed)))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Prefixed<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.at < this.len {
            let n = (this.len - this.at).min(buf.remaining());
            buf.put_slice(&this.read[this.at..this.at + n]);
            this.at += n;
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.stream).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Prefixed<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use tokio::{io::AsyncWriteExt, net::TcpStream};

    use super::*;

    /// What `detect` decides for `sent`, and the bytes hyper then reads.
    async fn detected(sent: &[u8]) -> Option<(Protocol, Vec<u8>)> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        client.write_all(sent).await.unwrap();
        client.shutdown().await.unwrap();
        let (protocol, mut prefixed) = Prefixed::detect(server).await.unwrap()?;
        let mut replayed = Vec::new();
        prefixed.read_to_end(&mut replayed).await.unwrap();
        Some((protocol, replayed))
    }

    #[tokio::test]
    async fn the_preface_means_http2_and_anything_else_http1_with_every_byte_replayed() {
        let h2 = [&PREFACE[..], b"\0\0\0\x04\0\0\0\0\0"].concat();
        assert_eq!(detected(&h2).await, Some((Protocol::Http2, h2.clone())));
        let post = b"POST /api/token/ HTTP/1.1\r\n\r\n".to_vec();
        assert_eq!(detected(&post).await, Some((Protocol::Http1, post.clone())));
        // A prefix of the preface that then stops is not HTTP/2.
        assert_eq!(detected(b"PRI").await, None);
        assert_eq!(detected(b"").await, None);
    }
}
