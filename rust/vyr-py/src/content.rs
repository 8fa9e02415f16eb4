//! State content on the client side: the tree digest, packing and (hostile-safe) unpacking of
//! tar archives, and writing a committed tree back into a host directory. Each releases the
//! GIL: they walk and hash whole trees.

use std::fs::File;
use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::PyDict;
use vyr_core::fill::{FillLimits, MAX_FILES};
use vyr_core::VyrError;

use crate::errors::detached;

/// The `vyrTreeV1` digest of the tree under `path` (64 lowercase hex digits).
#[pyfunction]
pub fn tree_digest(py: Python<'_>, path: PathBuf) -> PyResult<String> {
    detached(py, move || vyr_core::tree_digest::tree_digest(&path))
}

/// Writes the tree under `dir` to `out_tar` as a deterministic tar archive (atomically).
#[pyfunction]
pub fn pack_tar(py: Python<'_>, dir: PathBuf, out_tar: PathBuf) -> PyResult<()> {
    detached(py, move || vyr_core::export::write_tar_file(&dir, &out_tar))
}

/// Unpacks a tar or tar.gz file into `into_dir` (created; an existing one must be empty)
/// with the node's rules for hostile content; returns {"bytes", "files"}.
#[pyfunction]
#[pyo3(signature = (archive, into_dir, max_bytes, max_files=MAX_FILES))]
pub fn unpack_tar<'py>(
    py: Python<'py>,
    archive: PathBuf,
    into_dir: PathBuf,
    max_bytes: u64,
    max_files: u64,
) -> PyResult<Bound<'py, PyDict>> {
    let filled = detached(py, move || {
        let file = File::open(&archive).map_err(|e| VyrError::io(&archive, e))?;
        vyr_core::fill::unpack_tar(file, &into_dir, FillLimits { max_bytes, max_files })
    })?;
    let dict = PyDict::new(py);
    dict.set_item("bytes", filled.bytes)?;
    dict.set_item("files", filled.files)?;
    Ok(dict)
}

/// Makes `host_dir` mirror the tree under `from_dir` (atomically per file; nothing outside
/// `host_dir` is touched and no symlink in it is followed).
#[pyfunction]
pub fn write_back(py: Python<'_>, from_dir: PathBuf, host_dir: PathBuf) -> PyResult<()> {
    detached(py, move || vyr_core::write_back::write_back(&from_dir, &host_dir))
}
