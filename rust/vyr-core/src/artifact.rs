//! Verification of an artifact (module + manifest + signature) against the trust store.
//! Nothing is compiled or stored before [`verify`] has returned a [`VerifiedArtifact`].

use std::sync::Arc;

use crate::digest::Digest;
use crate::error::{Result, VyrError};
use crate::manifest::Manifest;
use crate::trust::TrustStore;

/// The three parts of an artifact as they travel.
pub struct ArtifactParts<'a> {
    pub claimed_digest: &'a str,
    pub manifest: &'a [u8],
    pub signature: &'a [u8],
    pub module: Arc<[u8]>,
}

/// An artifact whose module hashes to its digest and whose manifest is signed by a trusted key.
/// Holds the very bytes that were hashed, so they are the bytes that get compiled.
#[derive(Clone)]
pub struct VerifiedArtifact {
    pub digest: Digest,
    pub manifest: Manifest,
    pub manifest_bytes: Arc<[u8]>,
    pub signature: Arc<[u8]>,
    pub module: Arc<[u8]>,
}

/// Hashes, checks digests and size, and verifies the signature with a trusted key.
pub fn verify(parts: ArtifactParts<'_>, trust: &TrustStore, max_bytes: u64) -> Result<VerifiedArtifact> {
    let claimed = Digest::parse(parts.claimed_digest)?;
    let size = parts.module.len() as u64;
    if size > max_bytes {
        return Err(VyrError::ArtifactTooLarge { size, limit: max_bytes });
    }
    let actual = Digest::of(&parts.module);
    if actual != claimed {
        return Err(VyrError::DigestMismatch {
            what: "the module".into(),
            expected: claimed.to_string(),
            actual: actual.to_string(),
        });
    }
    let manifest = Manifest::from_canonical_bytes(parts.manifest)?;
    if manifest.module.digest != actual {
        return Err(VyrError::DigestMismatch {
            what: "the module".into(),
            expected: format!("{} (in the manifest)", manifest.module.digest),
            actual: actual.to_string(),
        });
    }
    if manifest.module.size != size {
        return Err(VyrError::InvalidManifest(format!(
            "the manifest says the module has {} bytes, it has {size}",
            manifest.module.size
        )));
    }
    let key = trust.get(&manifest.signer)?.ok_or_else(|| VyrError::UntrustedSigner(manifest.signer.to_string()))?;
    key.verify(parts.manifest, parts.signature)?;
    Ok(VerifiedArtifact {
        digest: actual,
        manifest,
        manifest_bytes: parts.manifest.into(),
        signature: parts.signature.into(),
        module: parts.module,
    })
}
