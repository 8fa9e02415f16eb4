//! Per-task resource requests and the node's ceilings on them.

use serde::{Deserialize, Serialize};

use crate::error::{Result, VyrError};

/// What a task asks for. `None` means "the manifest's default, else the node's default".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    /// Cap on the guest's linear memory, in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_bytes: Option<u64>,
    /// Wall-clock deadline from the moment the task starts running, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// Optional instruction budget (wasmtime fuel). Without it, only the deadline bounds CPU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fuel: Option<u64>,
}

impl Resources {
    /// Fills unset fields from `fallback`.
    pub fn or(self, fallback: Resources) -> Resources {
        Resources {
            memory_bytes: self.memory_bytes.or(fallback.memory_bytes),
            timeout_ms: self.timeout_ms.or(fallback.timeout_ms),
            fuel: self.fuel.or(fallback.fuel),
        }
    }
}

/// Resources after defaults were applied and ceilings checked: what the task is granted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Granted {
    pub memory_bytes: u64,
    pub timeout_ms: u64,
    pub fuel: Option<u64>,
}

/// The node's defaults and hard ceilings.
#[derive(Clone, Copy, Debug)]
pub struct NodeLimits {
    pub default_memory_bytes: u64,
    pub max_memory_bytes: u64,
    pub default_timeout_ms: u64,
    pub max_timeout_ms: u64,
    pub max_stdout_bytes: usize,
    pub max_stderr_bytes: usize,
    pub max_input_bytes: usize,
    pub max_artifact_bytes: u64,
    pub max_state_bytes: u64,
    pub max_queued_tasks: usize,
}

impl Default for NodeLimits {
    fn default() -> Self {
        NodeLimits {
            default_memory_bytes: 64 << 20,
            max_memory_bytes: 1 << 30,
            default_timeout_ms: 30_000,
            max_timeout_ms: 24 * 3600 * 1000,
            max_stdout_bytes: 16 << 20,
            max_stderr_bytes: 1 << 20,
            max_input_bytes: 64 << 20,
            max_artifact_bytes: 64 << 20,
            max_state_bytes: 256 << 20,
            max_queued_tasks: 100_000,
        }
    }
}

impl NodeLimits {
    /// Applies defaults and refuses requests above the ceilings (never silently clamps: a task
    /// that asked for more than it gets would fail later in a confusing way).
    pub fn grant(&self, requested: Resources) -> Result<Granted> {
        let memory_bytes = requested.memory_bytes.unwrap_or(self.default_memory_bytes);
        let timeout_ms = requested.timeout_ms.unwrap_or(self.default_timeout_ms);
        if memory_bytes == 0 || memory_bytes > self.max_memory_bytes {
            return Err(VyrError::InvalidResources(format!(
                "memory {memory_bytes} bytes is outside 1..={} (the node's ceiling)",
                self.max_memory_bytes
            )));
        }
        if timeout_ms == 0 || timeout_ms > self.max_timeout_ms {
            return Err(VyrError::InvalidResources(format!(
                "timeout {timeout_ms} ms is outside 1..={} ms (the node's ceiling)",
                self.max_timeout_ms
            )));
        }
        if requested.fuel == Some(0) {
            return Err(VyrError::InvalidResources("fuel must be at least 1 when given".into()));
        }
        Ok(Granted { memory_bytes, timeout_ms, fuel: requested.fuel })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_and_ceilings_refuse() {
        let limits = NodeLimits::default();
        let granted = limits.grant(Resources::default()).unwrap();
        assert_eq!(granted.memory_bytes, limits.default_memory_bytes);
        let too_much = Resources { memory_bytes: Some(limits.max_memory_bytes + 1), ..Default::default() };
        assert!(matches!(limits.grant(too_much), Err(VyrError::InvalidResources(_))));
        let zero_time = Resources { timeout_ms: Some(0), ..Default::default() };
        assert!(limits.grant(zero_time).is_err());
    }
}
