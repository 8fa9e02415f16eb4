//! `Runtime` and `TaskHandle`: the embedded node, exposed with owned inputs and the GIL
//! released around every call that can block or run guest code.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use vyr_core::state::StateInfo;
use vyr_core::task::TaskRecord;
use vyr_core::{Runtime, RuntimeConfig};

use crate::errors::{attached, detached, to_py};
use crate::outcome::PyTaskOutcome;
use crate::spec::{PyBindingSpec, PyTaskSpec};

/// An embedded VYR node.
#[pyclass(name = "Runtime", frozen, module = "vyr._core")]
pub struct PyRuntime {
    inner: Arc<Runtime>,
}

#[pymethods]
impl PyRuntime {
    #[new]
    #[pyo3(signature = (home, *, workers=None, max_running=None, state_linger_s=None, state_dir=None,
        max_artifact_bytes=None, max_memory_bytes=None, max_state_bytes=None, max_stdout_bytes=None,
        max_queued_tasks=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        home: PathBuf,
        workers: Option<usize>,
        max_running: Option<usize>,
        state_linger_s: Option<f64>,
        state_dir: Option<PathBuf>,
        max_artifact_bytes: Option<u64>,
        max_memory_bytes: Option<u64>,
        max_state_bytes: Option<u64>,
        max_stdout_bytes: Option<usize>,
        max_queued_tasks: Option<usize>,
    ) -> PyResult<Self> {
        let mut config = RuntimeConfig::new(home);
        if let Some(workers) = workers {
            config.workers = workers;
        }
        if let Some(max_running) = max_running {
            config.max_running = max_running;
        }
        if let Some(linger) = state_linger_s {
            config.state_linger = Duration::try_from_secs_f64(linger).map_err(|_| {
                to_py(vyr_core::VyrError::InvalidArgument(format!("state linger {linger} s is not a duration")))
            })?;
        }
        config.state_dir = state_dir;
        let limits = &mut config.limits;
        if let Some(value) = max_artifact_bytes {
            limits.max_artifact_bytes = value;
        }
        if let Some(value) = max_memory_bytes {
            limits.max_memory_bytes = value;
            limits.default_memory_bytes = limits.default_memory_bytes.min(value);
        }
        if let Some(value) = max_state_bytes {
            limits.max_state_bytes = value;
        }
        if let Some(value) = max_stdout_bytes {
            limits.max_stdout_bytes = value;
        }
        if let Some(value) = max_queued_tasks {
            limits.max_queued_tasks = value;
        }
        let runtime = detached(py, || Runtime::open(config))?;
        Ok(PyRuntime { inner: Arc::new(runtime) })
    }

    /// The node's home directory.
    #[getter]
    fn home(&self) -> PathBuf {
        self.inner.home().to_path_buf()
    }

    /// Verifies, compiles and stores an artifact; returns (digest, manifest JSON text).
    fn put_artifact(
        &self,
        py: Python<'_>,
        digest: &str,
        manifest: &[u8],
        signature: &[u8],
        module: &[u8],
    ) -> PyResult<(String, String)> {
        let module: Arc<[u8]> = module.into();
        let (digest, manifest, signature) = (digest.to_owned(), manifest.to_vec(), signature.to_vec());
        let runtime = self.inner.clone();
        let outcome = detached(py, move || runtime.put_artifact(&digest, &manifest, &signature, module))?;
        Ok((outcome.digest.to_string(), String::from_utf8_lossy(&outcome.manifest.to_canonical_bytes()).into_owned()))
    }

    /// Stored artifacts as (digest, manifest JSON text) pairs.
    fn list_artifacts(&self, py: Python<'_>) -> PyResult<Vec<(String, String)>> {
        let runtime = self.inner.clone();
        let all = detached(py, move || runtime.list_artifacts())?;
        Ok(all
            .into_iter()
            .map(|info| {
                (info.digest.to_string(), String::from_utf8_lossy(&info.manifest.to_canonical_bytes()).into_owned())
            })
            .collect())
    }

    /// The stored (module, manifest, signature) bytes of an artifact.
    fn artifact_parts<'py>(
        &self,
        py: Python<'py>,
        digest: &str,
    ) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyBytes>, Bound<'py, PyBytes>)> {
        let digest = vyr_core::Digest::parse(digest).map_err(to_py)?;
        let runtime = self.inner.clone();
        let (module, manifest, signature) = detached(py, move || runtime.artifact_parts(&digest))?;
        Ok((PyBytes::new(py, &module), PyBytes::new(py, &manifest), PyBytes::new(py, &signature)))
    }

    /// Accepts a `vyr.TaskSpec`; returns its handle at once. With `publish_end`, the outcome
    /// is also delivered (once) by `next_ended`.
    #[pyo3(signature = (spec, *, publish_end=false))]
    fn submit_task(&self, spec: PyTaskSpec, publish_end: bool) -> PyResult<PyTaskHandle> {
        let spec = spec.into_core(publish_end)?;
        // Accepting only validates, records and queues the task: hold the GIL (see `attached`).
        let record = attached(|| self.inner.submit_task(spec))?;
        Ok(PyTaskHandle { record })
    }

    /// Runs a `vyr.TaskSpec` to its end on this thread (without the GIL); returns its outcome.
    #[pyo3(signature = (spec, *, publish_end=false))]
    fn run_task(&self, py: Python<'_>, spec: PyTaskSpec, publish_end: bool) -> PyResult<PyTaskOutcome> {
        let spec = spec.into_core(publish_end)?;
        let runtime = self.inner.clone();
        let record = detached(py, move || runtime.run_task(spec))?;
        Ok(PyTaskOutcome::new(record.snapshot()))
    }

    /// Waits (without the GIL, up to `timeout_s`) for outcomes of tasks submitted with
    /// `publish_end`; returns (up to `max` outcomes, whether the node has shut down and every
    /// outcome was taken). An empty list: a timeout or a `wake_ended`.
    #[pyo3(signature = (max=256, timeout_s=None))]
    fn next_ended(&self, py: Python<'_>, max: usize, timeout_s: Option<f64>) -> PyResult<(Vec<PyTaskOutcome>, bool)> {
        let timeout = timeout_s.map(|s| Duration::try_from_secs_f64(s.max(0.0)).unwrap_or(Duration::MAX));
        let runtime = self.inner.clone();
        let batch = detached(py, move || Ok(runtime.next_ended(max, timeout)))?;
        Ok((batch.outcomes.into_iter().map(PyTaskOutcome::new).collect(), batch.closed))
    }

    /// Tasks (queued, running) now.
    fn task_counts(&self) -> (usize, usize) {
        self.inner.task_counts()
    }

    /// How many outcomes `next_ended` has had to deliver so far (taken or not).
    fn ended_published(&self) -> u64 {
        self.inner.ended_published()
    }

    /// Wakes the caller of `next_ended` without an outcome (another of its sources has work).
    fn wake_ended(&self) {
        self.inner.wake_ended();
    }

    /// Cancels a queued or running task; False if it had already ended.
    fn cancel_task(&self, task_id: &str) -> PyResult<bool> {
        self.inner.cancel_task(task_id).map_err(to_py)
    }

    /// The handle of a remembered task.
    fn task(&self, task_id: &str) -> PyResult<PyTaskHandle> {
        Ok(PyTaskHandle { record: self.inner.task(task_id).map_err(to_py)? })
    }

    /// Remembered tasks, oldest first.
    fn list_tasks(&self) -> Vec<PyTaskHandle> {
        self.inner.list_tasks().into_iter().map(|record| PyTaskHandle { record }).collect()
    }

    /// Creates an ephemeral state, empty or filled from `source` (a directory, or a tar or
    /// tar.gz file); returns its description.
    #[pyo3(signature = (name, class_="ephemeral", source=None))]
    fn create_state<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        class_: &str,
        source: Option<PathBuf>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let runtime = self.inner.clone();
        let (name, class_) = (name.to_owned(), class_.to_owned());
        let info = detached(py, move || runtime.create_state(&name, &class_, source.as_deref()))?;
        state_dict(py, &info)
    }

    /// Writes a state's committed content to `out` (`.tar`: an archive; else a directory);
    /// returns its description.
    fn export_state<'py>(&self, py: Python<'py>, state: &str, out: PathBuf) -> PyResult<Bound<'py, PyDict>> {
        let runtime = self.inner.clone();
        let state = state.to_owned();
        let info = detached(py, move || runtime.export_state(&state, &out))?;
        state_dict(py, &info)
    }

    /// Live states.
    fn list_states<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        self.inner.list_states().iter().map(|info| state_dict(py, info)).collect()
    }

    /// Binds a `vyr.StateBinding` to a task that has not started.
    fn bind_state(&self, task_id: &str, binding: PyBindingSpec) -> PyResult<()> {
        let binding = binding.into_core()?;
        attached(|| self.inner.bind_state(task_id, &binding))
    }

    /// Frees states whose linger has passed; returns how many.
    fn sweep_states(&self) -> usize {
        self.inner.sweep_states()
    }

    /// Trusts a public key (text form); returns its key id.
    fn trust_add(&self, public_text: &str) -> PyResult<String> {
        let key = vyr_core::signing::PublicKey::from_text(public_text).map_err(to_py)?;
        Ok(self.inner.trust().add(&key).map_err(to_py)?.to_string())
    }

    /// Trusted keys as (key id, public key text).
    fn trust_list(&self) -> PyResult<Vec<(String, String)>> {
        let keys = self.inner.trust().list().map_err(to_py)?;
        Ok(keys.into_iter().map(|(id, key)| (id.to_string(), key.to_text())).collect())
    }

    /// Removes a trusted key by id.
    fn trust_remove(&self, key_id: &str) -> PyResult<()> {
        let id = vyr_core::Digest::parse(key_id).map_err(to_py)?;
        self.inner.trust().remove(&id).map_err(to_py)
    }

    /// What ran the node's tasks: (wasmtime version, engine fingerprint).
    fn engine(&self) -> (&'static str, String) {
        (vyr_core::engine::WASMTIME_VERSION, self.inner.engine_fingerprint().to_owned())
    }

    /// The node's effective limits.
    fn limits<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let limits = self.inner.limits();
        let dict = PyDict::new(py);
        dict.set_item("default_memory_bytes", limits.default_memory_bytes)?;
        dict.set_item("max_memory_bytes", limits.max_memory_bytes)?;
        dict.set_item("default_timeout_ms", limits.default_timeout_ms)?;
        dict.set_item("max_timeout_ms", limits.max_timeout_ms)?;
        dict.set_item("max_stdout_bytes", limits.max_stdout_bytes)?;
        dict.set_item("max_stderr_bytes", limits.max_stderr_bytes)?;
        dict.set_item("max_input_bytes", limits.max_input_bytes)?;
        dict.set_item("max_artifact_bytes", limits.max_artifact_bytes)?;
        dict.set_item("max_state_bytes", limits.max_state_bytes)?;
        dict.set_item("max_queued_tasks", limits.max_queued_tasks)?;
        Ok(dict)
    }

    /// Stops accepting tasks, lets running ones finish for `grace_s`, cancels the rest.
    #[pyo3(signature = (grace_s=0.0))]
    fn shutdown(&self, py: Python<'_>, grace_s: f64) -> PyResult<()> {
        let runtime = self.inner.clone();
        let grace = Duration::try_from_secs_f64(grace_s.max(0.0)).unwrap_or(Duration::ZERO);
        detached(py, move || {
            runtime.shutdown(grace);
            Ok(())
        })
    }
}

impl Drop for PyRuntime {
    fn drop(&mut self) {
        // Task-end listeners may need the GIL, so never wait for tasks while holding it.
        let runtime = self.inner.clone();
        Python::attach(|py| py.detach(move || runtime.shutdown(Duration::ZERO)));
    }
}

fn state_dict<'py>(py: Python<'py>, info: &StateInfo) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("id", &info.id)?;
    dict.set_item("name", &info.name)?;
    dict.set_item("class", info.class)?;
    dict.set_item("created_unix_nanos", info.created_unix_nanos)?;
    dict.set_item("bound_tasks", info.bound_tasks)?;
    dict.set_item("bytes", info.bytes)?;
    dict.set_item("files", info.files)?;
    dict.set_item("digest", &info.digest)?;
    Ok(dict)
}

/// A submitted task.
#[pyclass(name = "TaskHandle", frozen, module = "vyr._core")]
pub struct PyTaskHandle {
    record: Arc<TaskRecord>,
}

#[pymethods]
impl PyTaskHandle {
    /// The task id.
    #[getter]
    fn id(&self) -> &str {
        &self.record.id
    }

    /// The artifact digest.
    #[getter]
    fn artifact(&self) -> String {
        self.record.artifact.to_string()
    }

    /// The current status string.
    #[getter]
    fn status(&self) -> &'static str {
        self.record.status().as_str()
    }

    /// Requests cancellation.
    fn cancel(&self) {
        self.record.cancel.cancel();
    }

    /// The outcome if the task ended, else a snapshot (status, phases; no output).
    fn snapshot(&self) -> PyTaskOutcome {
        PyTaskOutcome::new(self.record.snapshot())
    }

    /// Blocks (without the GIL) until the task ends; raises `WaitTimeout` after `timeout_s`.
    #[pyo3(signature = (timeout_s=None))]
    fn wait(&self, py: Python<'_>, timeout_s: Option<f64>) -> PyResult<PyTaskOutcome> {
        let timeout = timeout_s.map(|s| Duration::try_from_secs_f64(s.max(0.0)).unwrap_or(Duration::MAX));
        let record = self.record.clone();
        Ok(PyTaskOutcome::new(detached(py, move || record.wait(timeout))?))
    }
}
