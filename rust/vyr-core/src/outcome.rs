//! What ended: a task's outcome, built once when it ends and shared (never copied) with every
//! waiter, the ended feed and the bindings.

use std::sync::Arc;

use bytes::Bytes;
use serde::Serialize;

use crate::digest::Digest;
use crate::engine::Tier;
use crate::resources::Granted;
use crate::state::Mode;

/// Where a task is in its life. The last six are terminal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
    Trapped,
    DeadlineExceeded,
    Cancelled,
    Rejected,
}

impl TaskStatus {
    /// The wire and CLI spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Queued => "queued",
            TaskStatus::Running => "running",
            TaskStatus::Succeeded => "succeeded",
            TaskStatus::Failed => "failed",
            TaskStatus::Trapped => "trapped",
            TaskStatus::DeadlineExceeded => "deadline_exceeded",
            TaskStatus::Cancelled => "cancelled",
            TaskStatus::Rejected => "rejected",
        }
    }

    /// Whether the task has ended.
    pub fn is_terminal(self) -> bool {
        !matches!(self, TaskStatus::Queued | TaskStatus::Running)
    }
}

/// Unix-nanosecond timestamps of each phase; 0 where a phase was not reached.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Phases {
    pub queued: u64,
    pub artifact_ready: u64,
    /// Got a run slot and its turn on every bound state.
    pub scheduled: u64,
    pub instantiated: u64,
    pub started: u64,
    pub ended: u64,
}

/// What a task consumed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    pub wall_ns: u64,
    pub peak_memory_bytes: u64,
    pub fuel_used: u64,
    /// The artifact had to be compiled (no in-memory or on-disk compiled code).
    pub compiled: bool,
    /// The artifact was loaded for this task (not already in memory): a cold start.
    pub cold: bool,
    /// Which compiler's code ran (None if it never started): baseline (Winch, until
    /// Cranelift's is ready) or optimized.
    pub tier: Option<Tier>,
}

/// A state as bound to one task.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BoundState {
    pub state_id: String,
    pub name: String,
    pub mode: Mode,
    /// Where the guest sees it.
    pub path: String,
    /// Digest (`vyrTreeV1`) of the version the task saw; None if it never started.
    pub before: Option<String>,
    /// For a writer, the digest of the version after it (the committed result, or `before`
    /// if it did not commit); None for a reader or a task that never started.
    pub after: Option<String>,
}

/// What the guest was started with: argv (argv[0] is the artifact's name), environment (the
/// manifest's, overridden per task) and whether clocks and random were virtual. Shared by the
/// record, the execution and the outcome.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Invocation {
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub deterministic: bool,
}

/// A task's outcome (or, for a task still queued or running, a snapshot without output).
#[derive(Clone, Debug)]
pub struct TaskOutcome {
    pub id: String,
    pub artifact: Digest,
    pub status: TaskStatus,
    pub exit_code: Option<i32>,
    pub trap_code: Option<String>,
    pub reason: String,
    pub stdout: Bytes,
    pub stderr: Bytes,
    /// sha256 of stdout / stderr / input, once the task has ended.
    pub stdout_digest: Option<Digest>,
    pub stderr_digest: Option<Digest>,
    pub input_digest: Option<Digest>,
    pub phases: Phases,
    pub usage: Usage,
    pub granted: Granted,
    pub bindings: Vec<BoundState>,
    pub invocation: Arc<Invocation>,
}

impl TaskOutcome {
    /// Whether this is a task's end (not a snapshot of a live task).
    pub fn ended(&self) -> bool {
        self.status.is_terminal()
    }
}
