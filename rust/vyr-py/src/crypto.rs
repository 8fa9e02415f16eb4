//! Digests, keys, manifests and signatures: the artifact model's free functions.

use std::collections::BTreeMap;

use pyo3::prelude::*;
use pyo3::types::PyBytes;
use vyr_core::manifest::Manifest;
use vyr_core::resources::Resources;
use vyr_core::signing::{KeyPair, PublicKey};
use vyr_core::Digest;

use crate::errors::{detached, to_py};

/// Bytes at or above this size are hashed without the GIL; below it, releasing costs more.
const DETACH_THRESHOLD: usize = 64 * 1024;

/// `sha256:<hex>` of `data`.
#[pyfunction]
pub fn sha256_digest(py: Python<'_>, data: &[u8]) -> PyResult<String> {
    if data.len() < DETACH_THRESHOLD {
        return Ok(Digest::of(data).to_string());
    }
    // `&[u8]` from `bytes` is immutable, so reading it without the GIL is sound.
    detached(py, || Ok(Digest::of(data).to_string()))
}

/// Validates a digest string and returns it unchanged.
#[pyfunction]
pub fn parse_digest(text: &str) -> PyResult<String> {
    Digest::parse(text).map(|d| d.to_string()).map_err(to_py)
}

/// A fresh key pair as (private key text, public key text).
#[pyfunction]
pub fn generate_keypair() -> (String, String) {
    let pair = KeyPair::generate();
    (pair.private_key_text(), pair.public_key().to_text())
}

/// The public key text for a private key text.
#[pyfunction]
pub fn public_key_of(private_text: &str) -> PyResult<String> {
    Ok(KeyPair::from_text(private_text).map_err(to_py)?.public_key().to_text())
}

/// The key id (`sha256:` of the raw public key) of a public key text.
#[pyfunction]
pub fn key_id(public_text: &str) -> PyResult<String> {
    Ok(PublicKey::from_text(public_text).map_err(to_py)?.key_id().to_string())
}

/// Canonical manifest bytes for `module`, signed (later) by `private_text`'s key.
#[pyfunction]
#[pyo3(signature = (name, module, private_text, args=None, env=None, memory_bytes=None, timeout_ms=None, fuel=None))]
#[allow(clippy::too_many_arguments)]
pub fn make_manifest<'py>(
    py: Python<'py>,
    name: &str,
    module: &[u8],
    private_text: &str,
    args: Option<Vec<String>>,
    env: Option<BTreeMap<String, String>>,
    memory_bytes: Option<u64>,
    timeout_ms: Option<u64>,
    fuel: Option<u64>,
) -> PyResult<Bound<'py, PyBytes>> {
    let signer = KeyPair::from_text(private_text).map_err(to_py)?.public_key().key_id();
    let mut manifest = Manifest::new(name, module, signer).map_err(to_py)?;
    manifest.args = args.unwrap_or_default();
    manifest.env = env.unwrap_or_default();
    manifest.resources = Resources { memory_bytes, timeout_ms, fuel };
    let bytes = manifest.to_canonical_bytes();
    // Re-parse so a manifest this function writes is always one `put_artifact` accepts.
    Manifest::from_canonical_bytes(&bytes).map_err(to_py)?;
    Ok(PyBytes::new(py, &bytes))
}

/// The parsed manifest as JSON text (for display), after checking it is canonical.
#[pyfunction]
pub fn manifest_json(manifest: &[u8]) -> PyResult<String> {
    Manifest::from_canonical_bytes(manifest).map_err(to_py)?;
    Ok(String::from_utf8_lossy(manifest).into_owned())
}

/// An ed25519 signature over `message`.
#[pyfunction]
pub fn sign<'py>(py: Python<'py>, private_text: &str, message: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
    let pair = KeyPair::from_text(private_text).map_err(to_py)?;
    Ok(PyBytes::new(py, &pair.sign(message)))
}

/// Verifies strictly; raises `InvalidSignature` (never returns a bool).
#[pyfunction]
pub fn verify(public_text: &str, message: &[u8], signature: &[u8]) -> PyResult<()> {
    PublicKey::from_text(public_text).map_err(to_py)?.verify(message, signature).map_err(to_py)
}
