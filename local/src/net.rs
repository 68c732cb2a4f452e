//! Sockets for the local servers, tuned so the emulator adds no latency of its own.
//!
//! Streams are many small writes (an SSE frame per token). With Nagle's algorithm a small
//! write waits for the peer to acknowledge the previous one, and Linux delays an
//! acknowledgement up to 40 ms: a streamed answer's second frame then arrives ~40 ms late.
//! Our servers send with `TCP_NODELAY`, and acknowledge at once (`TCP_QUICKACK`, re-armed
//! after every read since the kernel clears it) because the clients they serve (the Lambda
//! runtime's HTTP client posting a streamed response) cannot be told to set `TCP_NODELAY`.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// Serves `app` on `listener` with prompt sends and acknowledgements (see the module docs).
pub async fn serve(listener: TcpListener, app: axum::Router) -> io::Result<()> {
    axum::serve(Prompt(listener), app).await
}

/// A listener whose connections are [`PromptStream`]s.
struct Prompt(TcpListener);

impl axum::serve::Listener for Prompt {
    type Io = PromptStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.0.accept().await {
                Ok((stream, address)) => {
                    if let Err(error) = stream.set_nodelay(true) {
                        tracing::debug!(%error, "TCP_NODELAY not set");
                    }
                    let stream = PromptStream(stream);
                    stream.acknowledge_promptly();
                    return (stream, address);
                }
                // Too many open files and the like: wait a moment rather than spin.
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

/// An accepted connection that acknowledges what it receives at once.
pub struct PromptStream(TcpStream);

impl PromptStream {
    fn acknowledge_promptly(&self) {
        // Best effort: on a system without TCP_QUICKACK the stream works as before.
        let _ = socket2::SockRef::from(&self.0).set_tcp_quickack(true);
    }
}

impl AsyncRead for PromptStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let read = Pin::new(&mut self.0).poll_read(cx, buf);
        if read.is_ready() {
            self.acknowledge_promptly();
        }
        read
    }
}

impl AsyncWrite for PromptStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }
}
