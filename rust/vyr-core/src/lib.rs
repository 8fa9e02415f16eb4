//! VYR's runtime core: content digests, ed25519 signatures, the trust and artifact stores, the
//! wasmtime engine, task execution with limits, and ephemeral state. No Python here: the
//! `vyr-py` crate binds this to `vyr._core`.

mod admission;
pub mod artifact;
pub mod cancel;
pub mod clock;
pub mod determinism;
pub mod digest;
pub mod ended_feed;
pub mod engine;
pub mod error;
pub mod exec;
mod execution;
pub mod export;
pub mod fill;
pub mod fsutil;
pub mod guest_path;
pub mod limits;
pub mod manifest;
mod node;
pub mod outcome;
pub mod output;
pub mod resources;
pub mod runtime;
pub mod signals;
pub mod signing;
pub mod spec;
pub mod state;
pub mod store;
pub mod task;
mod ticker;
mod tiering;
pub mod tree_digest;
pub mod trust;
pub mod write_back;

pub use digest::Digest;
pub use error::{Result, VyrError};
pub use outcome::{Invocation, TaskOutcome, TaskStatus};
pub use runtime::{PutOutcome, Runtime, RuntimeConfig};
pub use spec::{BindingSpec, TaskSpec};
