//! The one error type of the core. The Python binding maps each variant to exactly one
//! class of `vyr.errors`, so adding a variant means adding its mapping there too.

use std::path::PathBuf;

/// Everything that can go wrong in the core, by cause.
#[derive(Debug, thiserror::Error)]
pub enum VyrError {
    #[error("invalid digest {0:?}: expected 'sha256:' followed by 64 lowercase hex digits")]
    InvalidDigest(String),
    #[error("digest mismatch: {what} is {actual}, but {expected} was claimed")]
    DigestMismatch { what: String, expected: String, actual: String },
    #[error("invalid manifest: {0}")]
    InvalidManifest(String),
    #[error("invalid key: {0}")]
    InvalidKey(String),
    #[error("invalid signature: {0}")]
    InvalidSignature(String),
    #[error("untrusted signer {0}: add its public key with 'vyr trust add'")]
    UntrustedSigner(String),
    #[error("invalid module: {0}")]
    InvalidModule(String),
    #[error("artifact too large: {size} bytes, the node's limit is {limit} bytes")]
    ArtifactTooLarge { size: u64, limit: u64 },
    #[error("artifact {0} already exists with a different manifest; remove nothing, re-sign under a new module or keep the stored one")]
    ArtifactConflict(String),
    #[error("unknown artifact {0}")]
    ArtifactNotFound(String),
    #[error("unknown task {0}")]
    TaskNotFound(String),
    #[error("unknown state {0}")]
    StateNotFound(String),
    #[error("state {0} was freed: states live only while tasks use them (plus a linger)")]
    StateFreed(String),
    #[error("invalid state request: {0}")]
    InvalidState(String),
    #[error("task {task} has already {phase}: bindings can only change before it starts")]
    TaskAlreadyStarted { task: String, phase: String },
    #[error("invalid resources: {0}")]
    InvalidResources(String),
    #[error("invalid archive: {0}")]
    InvalidArchive(String),
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    #[error("the node is at capacity: {0}")]
    Capacity(String),
    #[error("the node is shutting down")]
    ShuttingDown,
    #[error("timed out waiting for task {0}")]
    WaitTimeout(String),
    #[error("I/O error on {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("internal error: {0}")]
    Internal(String),
}

impl VyrError {
    /// Wraps an I/O error with the path it happened on, which is what a user needs to act.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        VyrError::Io { path: path.into(), source }
    }
}

/// The core's result type.
pub type Result<T, E = VyrError> = std::result::Result<T, E>;
