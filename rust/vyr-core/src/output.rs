//! Captured stdout/stderr with a hard cap. Crossing the cap traps the guest at once with
//! [`OutputLimitExceeded`]: output is never silently truncated, and a flooding guest does not
//! spin until its deadline.

use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError, StreamResult};

/// The error carried by the trap when a stream passes its cap.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{stream} exceeded its cap of {cap} bytes")]
pub struct OutputLimitExceeded {
    pub stream: &'static str,
    pub cap: usize,
}

/// A shared, capped in-memory buffer; clones write to the same buffer.
#[derive(Clone)]
pub struct CappedPipe {
    stream: &'static str,
    cap: usize,
    buffer: Arc<Mutex<Vec<u8>>>,
}

impl CappedPipe {
    /// A pipe named `stream` ("stdout" or "stderr") that accepts at most `cap` bytes.
    pub fn new(stream: &'static str, cap: usize) -> Self {
        CappedPipe { stream, cap, buffer: Arc::new(Mutex::new(Vec::new())) }
    }

    /// Takes what was written so far.
    pub fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.lock())
    }

    fn lock(&self) -> MutexGuard<'_, Vec<u8>> {
        // A poisoned buffer still holds valid bytes; keep them.
        self.buffer.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn append(&self, bytes: &[u8]) -> Result<(), OutputLimitExceeded> {
        let mut buffer = self.lock();
        if buffer.len() + bytes.len() > self.cap {
            return Err(OutputLimitExceeded { stream: self.stream, cap: self.cap });
        }
        buffer.extend_from_slice(bytes);
        Ok(())
    }
}

impl IsTerminal for CappedPipe {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CappedPipe {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }

    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for CappedPipe {
    async fn ready(&mut self) {}
}

#[wasmtime_wasi::async_trait]
impl OutputStream for CappedPipe {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.append(&bytes).map_err(|error| StreamError::Trap(wasmtime::Error::new(error)))
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        // Permit one byte past the cap so that an over-long write reaches `write` and traps,
        // instead of being cut short to a partial write the guest might ignore.
        let used = self.lock().len();
        Ok(self.cap.saturating_sub(used) + 1)
    }
}

impl tokio::io::AsyncWrite for CappedPipe {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, bytes: &[u8]) -> Poll<std::io::Result<usize>> {
        Poll::Ready(
            self.append(bytes)
                .map(|()| bytes.len())
                .map_err(|error| std::io::Error::new(std::io::ErrorKind::StorageFull, error)),
        )
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
