//! What ended, as Python sees it: `TaskOutcome` (frozen) over the core's shared outcome; its
//! typed parts are the `vyr.types` named tuples (`Phases`, `Usage`, `Granted`, `BoundState`),
//! built here so the Python side converts nothing.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyType};
use vyr_core::state::Mode;
use vyr_core::TaskOutcome;

/// A task's outcome, or a snapshot of a task still queued or running (no output, no digests).
#[pyclass(name = "TaskOutcome", frozen, module = "vyr._core")]
pub struct PyTaskOutcome {
    inner: Arc<TaskOutcome>,
    stdout: PyOnceLock<Py<PyBytes>>,
    stderr: PyOnceLock<Py<PyBytes>>,
}

impl PyTaskOutcome {
    pub fn new(inner: Arc<TaskOutcome>) -> Self {
        PyTaskOutcome { inner, stdout: PyOnceLock::new(), stderr: PyOnceLock::new() }
    }
}

static PHASES: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static USAGE: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static GRANTED: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static BOUND_STATE: PyOnceLock<Py<PyType>> = PyOnceLock::new();

fn build<'py>(
    py: Python<'py>,
    class: &'static PyOnceLock<Py<PyType>>,
    name: &str,
    fields: impl pyo3::call::PyCallArgs<'py>,
) -> PyResult<Bound<'py, PyAny>> {
    class.import(py, "vyr.types", name)?.call1(fields)
}

pub fn mode_str(mode: Mode) -> &'static str {
    match mode {
        Mode::Ro => "ro",
        Mode::Rw => "rw",
    }
}

#[pymethods]
impl PyTaskOutcome {
    #[getter]
    fn id(&self) -> &str {
        &self.inner.id
    }

    #[getter]
    fn artifact(&self) -> String {
        self.inner.artifact.to_string()
    }

    #[getter]
    fn status(&self) -> &'static str {
        self.inner.status.as_str()
    }

    #[getter]
    fn exit_code(&self) -> Option<i32> {
        self.inner.exit_code
    }

    #[getter]
    fn trap_code(&self) -> Option<&str> {
        self.inner.trap_code.as_deref()
    }

    #[getter]
    fn reason(&self) -> &str {
        &self.inner.reason
    }

    /// The captured stdout (copied into Python once, on first access).
    #[getter]
    fn stdout<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        self.stdout.get_or_init(py, || PyBytes::new(py, &self.inner.stdout).unbind()).bind(py).clone()
    }

    #[getter]
    fn stderr<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        self.stderr.get_or_init(py, || PyBytes::new(py, &self.inner.stderr).unbind()).bind(py).clone()
    }

    #[getter]
    fn stdout_digest(&self) -> Option<String> {
        self.inner.stdout_digest.map(|d| d.to_string())
    }

    #[getter]
    fn stderr_digest(&self) -> Option<String> {
        self.inner.stderr_digest.map(|d| d.to_string())
    }

    #[getter]
    fn input_digest(&self) -> Option<String> {
        self.inner.input_digest.map(|d| d.to_string())
    }

    /// `vyr.Phases`.
    #[getter]
    fn phases<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let p = self.inner.phases;
        build(py, &PHASES, "Phases", (p.queued, p.artifact_ready, p.scheduled, p.instantiated, p.started, p.ended))
    }

    /// `vyr.Usage`.
    #[getter]
    fn usage<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let u = self.inner.usage;
        let tier = u.tier.map(|tier| tier.as_str());
        build(py, &USAGE, "Usage", (u.wall_ns, u.peak_memory_bytes, u.fuel_used, u.compiled, u.cold, tier))
    }

    /// `vyr.Granted`.
    #[getter]
    fn granted<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let g = self.inner.granted;
        build(py, &GRANTED, "Granted", (g.memory_bytes, g.timeout_ms, g.fuel))
    }

    /// `vyr.BoundState`s, in binding order.
    #[getter]
    fn bindings<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyAny>>> {
        self.inner
            .bindings
            .iter()
            .map(|b| {
                let fields = (&b.state_id, &b.name, mode_str(b.mode), &b.path, &b.before, &b.after);
                build(py, &BOUND_STATE, "BoundState", fields)
            })
            .collect()
    }

    /// The guest's argv (argv[0] is the artifact's name) and environment, as it saw them.
    #[getter]
    fn args(&self) -> Vec<String> {
        self.inner.invocation.args.clone()
    }

    #[getter]
    fn env(&self) -> Vec<(String, String)> {
        self.inner.invocation.env.clone()
    }

    /// Whether clocks and random were virtual (a deterministic run).
    #[getter]
    fn deterministic(&self) -> bool {
        self.inner.invocation.deterministic
    }

    fn __repr__(&self) -> String {
        format!("TaskOutcome({:?}, status={:?})", self.inner.id, self.inner.status.as_str())
    }
}
