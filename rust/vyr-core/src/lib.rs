//! VYR's runtime core: content digests, ed25519 signatures, the trust and artifact stores, the
//! wasmtime engine, task execution with limits, and ephemeral state. No Python here: the
//! `vyr-py` crate binds this to `vyr._core`.

pub mod artifact;
pub mod cancel;
pub mod clock;
pub mod digest;
pub mod engine;
pub mod error;
pub mod exec;
pub mod fsutil;
pub mod limits;
pub mod manifest;
pub mod output;
pub mod resources;
pub mod signing;
pub mod store;
pub mod trust;

pub use digest::Digest;
pub use error::{Result, VyrError};
pub mod runtime;
pub mod state;
pub mod task;

pub use runtime::{PutOutcome, Runtime, RuntimeConfig, SubmitRequest};
