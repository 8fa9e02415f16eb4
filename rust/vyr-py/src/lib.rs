//! `vyr._core`: the PyO3 binding of `vyr-core`. It converts types, releases the GIL and maps
//! errors; behaviour lives in the core and the Python package.

use pyo3::prelude::*;

mod content;
mod crypto;
mod errors;
mod outcome;
mod runtime;
mod spec;

#[pymodule]
fn _core(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<runtime::PyRuntime>()?;
    module.add_class::<runtime::PyTaskHandle>()?;
    module.add_class::<outcome::PyTaskOutcome>()?;
    module.add_function(wrap_pyfunction!(crypto::sha256_digest, module)?)?;
    module.add_function(wrap_pyfunction!(crypto::parse_digest, module)?)?;
    module.add_function(wrap_pyfunction!(crypto::generate_keypair, module)?)?;
    module.add_function(wrap_pyfunction!(crypto::public_key_of, module)?)?;
    module.add_function(wrap_pyfunction!(crypto::key_id, module)?)?;
    module.add_function(wrap_pyfunction!(crypto::make_manifest, module)?)?;
    module.add_function(wrap_pyfunction!(crypto::manifest_json, module)?)?;
    module.add_function(wrap_pyfunction!(crypto::sign, module)?)?;
    module.add_function(wrap_pyfunction!(crypto::verify, module)?)?;
    module.add_function(wrap_pyfunction!(content::tree_digest, module)?)?;
    module.add_function(wrap_pyfunction!(content::pack_tar, module)?)?;
    module.add_function(wrap_pyfunction!(content::unpack_tar, module)?)?;
    module.add_function(wrap_pyfunction!(content::write_back, module)?)?;
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
