//! Per-store context: the WASI context and the memory limiter that enforces the task's cap
//! and records its peak linear memory.

use wasmtime::ResourceLimiter;
use wasmtime_wasi::p1::WasiP1Ctx;

/// Raised (as a trap) when a guest grows its memory past the task's cap.
#[derive(Debug, Clone, thiserror::Error)]
#[error("linear memory would grow to {desired} bytes, the task's cap is {cap} bytes")]
pub struct MemoryLimitExceeded {
    pub cap: u64,
    pub desired: u64,
}

/// Enforces the memory cap; a grow past it traps rather than returning -1, because WASI
/// programs rarely handle a failed `malloc` and the user deserves the real reason.
pub struct MemoryLimiter {
    pub cap: u64,
    pub peak: u64,
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        let desired = desired as u64;
        if desired > self.cap {
            return Err(wasmtime::Error::new(MemoryLimitExceeded { cap: self.cap, desired }));
        }
        self.peak = self.peak.max(desired);
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= 1_000_000)
    }
}

/// What each task's store holds.
pub struct TaskCtx {
    pub wasi: WasiP1Ctx,
    pub limiter: MemoryLimiter,
}
