//! What is submitted: one task request, the same for `submit_task`, `run_task` and every binding
//! of them (the PyO3 `TaskSpec`, the Control API's `SubmitTaskRequest`).

use bytes::Bytes;

use crate::digest::Digest;
use crate::resources::Resources;
use crate::state::Mode;

/// A state bound to a task: by id or name, read-only or read-write, seen by the guest at
/// `path` (an absolute guest path; `None`: `/state/<name>`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BindingSpec {
    pub state: String,
    pub mode: Mode,
    pub path: Option<String>,
}

impl BindingSpec {
    /// A binding at the default guest path.
    pub fn new(state: impl Into<String>, mode: Mode) -> Self {
        BindingSpec { state: state.into(), mode, path: None }
    }

    /// The same binding seen at `path`.
    pub fn at(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }
}

/// One task request. Input bytes are already resolved (inline, or read from a blob).
#[derive(Clone, Debug, Default)]
pub struct TaskSpec {
    /// `sha256:` digest of the artifact to run.
    pub artifact: String,
    /// The task's stdin.
    pub input: Bytes,
    /// The digest of `input` when the caller knows it already (a stored blob); else the core
    /// computes it once, on the worker, after the task ends.
    pub input_digest: Option<Digest>,
    /// Replaces the manifest's args (after argv[0], which is always the artifact's name).
    pub args: Option<Vec<String>>,
    /// Added to (and overriding) the manifest's env.
    pub env: Vec<(String, String)>,
    pub bindings: Vec<BindingSpec>,
    pub resources: Resources,
    /// Run with virtual clocks and seeded random (see `determinism.rs`), so the same artifact,
    /// input and states give the same output on any node.
    pub deterministic: bool,
    /// Deliver this task's outcome on the node's ended feed (`Runtime::next_ended`), for a
    /// journal or telemetry; tasks nobody listens for cost nothing there.
    pub publish_end: bool,
}
