//! The one conversion from core errors to the Python classes of `vyr.errors`.

use pyo3::prelude::*;
use vyr_core::VyrError;

mod py {
    pyo3::import_exception!(vyr.errors, InvalidDigest);
    pyo3::import_exception!(vyr.errors, DigestMismatch);
    pyo3::import_exception!(vyr.errors, InvalidManifest);
    pyo3::import_exception!(vyr.errors, InvalidKey);
    pyo3::import_exception!(vyr.errors, InvalidSignature);
    pyo3::import_exception!(vyr.errors, UntrustedSigner);
    pyo3::import_exception!(vyr.errors, InvalidModule);
    pyo3::import_exception!(vyr.errors, ArtifactTooLarge);
    pyo3::import_exception!(vyr.errors, ArtifactConflict);
    pyo3::import_exception!(vyr.errors, ArtifactNotFound);
    pyo3::import_exception!(vyr.errors, TaskNotFound);
    pyo3::import_exception!(vyr.errors, StateNotFound);
    pyo3::import_exception!(vyr.errors, StateFreed);
    pyo3::import_exception!(vyr.errors, InvalidState);
    pyo3::import_exception!(vyr.errors, TaskAlreadyStarted);
    pyo3::import_exception!(vyr.errors, InvalidResources);
    pyo3::import_exception!(vyr.errors, InvalidArgument);
    pyo3::import_exception!(vyr.errors, InvalidArchive);
    pyo3::import_exception!(vyr.errors, CapacityExceeded);
    pyo3::import_exception!(vyr.errors, ShuttingDown);
    pyo3::import_exception!(vyr.errors, WaitTimeout);
    pyo3::import_exception!(vyr.errors, StorageError);
    pyo3::import_exception!(vyr.errors, InternalError);
}

/// Maps every core error to exactly one `vyr.errors` class (exhaustive on purpose).
pub fn to_py(error: VyrError) -> PyErr {
    let message = error.to_string();
    match error {
        VyrError::InvalidDigest(_) => py::InvalidDigest::new_err(message),
        VyrError::DigestMismatch { .. } => py::DigestMismatch::new_err(message),
        VyrError::InvalidManifest(_) => py::InvalidManifest::new_err(message),
        VyrError::InvalidKey(_) => py::InvalidKey::new_err(message),
        VyrError::InvalidSignature(_) => py::InvalidSignature::new_err(message),
        VyrError::UntrustedSigner(_) => py::UntrustedSigner::new_err(message),
        VyrError::InvalidModule(_) => py::InvalidModule::new_err(message),
        VyrError::ArtifactTooLarge { .. } => py::ArtifactTooLarge::new_err(message),
        VyrError::ArtifactConflict(_) => py::ArtifactConflict::new_err(message),
        VyrError::ArtifactNotFound(_) => py::ArtifactNotFound::new_err(message),
        VyrError::TaskNotFound(_) => py::TaskNotFound::new_err(message),
        VyrError::StateNotFound(_) => py::StateNotFound::new_err(message),
        VyrError::StateFreed(_) => py::StateFreed::new_err(message),
        VyrError::InvalidState(_) => py::InvalidState::new_err(message),
        VyrError::TaskAlreadyStarted { .. } => py::TaskAlreadyStarted::new_err(message),
        VyrError::InvalidResources(_) => py::InvalidResources::new_err(message),
        VyrError::InvalidArgument(_) => py::InvalidArgument::new_err(message),
        VyrError::InvalidArchive(_) => py::InvalidArchive::new_err(message),
        VyrError::Capacity(_) => py::CapacityExceeded::new_err(message),
        VyrError::ShuttingDown => py::ShuttingDown::new_err(message),
        VyrError::WaitTimeout(_) => py::WaitTimeout::new_err(message),
        VyrError::Io { .. } => py::StorageError::new_err(message),
        VyrError::Internal(_) => py::InternalError::new_err(message),
    }
}

/// Runs short core work (microseconds, no waiting) with the GIL held, catching panics. For
/// calls like accepting a task, releasing the GIL costs more than it frees: another Python
/// thread takes it, and getting it back waits for that thread (up to the switch interval).
pub fn attached<T>(work: impl FnOnce() -> Result<T, VyrError>) -> PyResult<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(work))
        .map_err(|_| py::InternalError::new_err("internal error: a panic in the VYR core (please report it)"))?
        .map_err(to_py)
}

/// Runs `work` without the GIL and converts its error; a panic becomes `InternalError`
/// instead of tearing down the interpreter.
pub fn detached<T: Send>(py: Python<'_>, work: impl FnOnce() -> Result<T, VyrError> + Send) -> PyResult<T> {
    py.detach(|| std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)))
        .map_err(|_| py::InternalError::new_err("internal error: a panic in the VYR core (please report it)"))?
        .map_err(to_py)
}
