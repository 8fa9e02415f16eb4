//! What is submitted, as Python hands it over: `vyr.TaskSpec` (with its `vyr.StateBinding`s
//! and `vyr.Resources`), read by attribute into the core's `TaskSpec`.

use std::collections::HashMap;

use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use vyr_core::resources::Resources;
use vyr_core::state::Mode;
use vyr_core::{BindingSpec, TaskSpec};

use crate::errors::to_py;

/// `vyr.Resources`: one unit per quantity (bytes, milliseconds, fuel units).
#[derive(FromPyObject)]
pub struct PyResources {
    memory_bytes: Option<u64>,
    timeout_ms: Option<u64>,
    fuel: Option<u64>,
}

/// `vyr.StateBinding`.
#[derive(FromPyObject)]
pub struct PyBindingSpec {
    state: String,
    mode: String,
    path: Option<String>,
}

impl PyBindingSpec {
    pub fn into_core(self) -> PyResult<BindingSpec> {
        let mode = Mode::parse(&self.mode).map_err(to_py)?;
        Ok(BindingSpec { state: self.state, mode, path: self.path })
    }
}

/// `vyr.TaskSpec`.
#[derive(FromPyObject)]
pub struct PyTaskSpec {
    artifact_digest: String,
    /// Held, not copied: the core reads the Python bytes object directly.
    input: PyBackedBytes,
    input_digest: Option<String>,
    args: Option<Vec<String>>,
    env: HashMap<String, String>,
    state_bindings: Vec<PyBindingSpec>,
    resources: PyResources,
    deterministic: bool,
}

impl PyTaskSpec {
    /// The core's spec; `publish_end` is the node's choice, not the caller's.
    pub fn into_core(self, publish_end: bool) -> PyResult<TaskSpec> {
        let input_digest = self.input_digest.map(|text| vyr_core::Digest::parse(&text)).transpose().map_err(to_py)?;
        let bindings = self.state_bindings.into_iter().map(PyBindingSpec::into_core).collect::<PyResult<_>>()?;
        let mut env: Vec<(String, String)> = self.env.into_iter().collect();
        env.sort();
        let resources = Resources {
            memory_bytes: self.resources.memory_bytes,
            timeout_ms: self.resources.timeout_ms,
            fuel: self.resources.fuel,
        };
        Ok(TaskSpec {
            artifact: self.artifact_digest,
            input: bytes::Bytes::from_owner(self.input),
            input_digest,
            args: self.args,
            env,
            bindings,
            resources,
            deterministic: self.deterministic,
            publish_end,
        })
    }
}
