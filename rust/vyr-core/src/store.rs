//! The local artifact store: `home/artifacts/<hex>/{module.wasm,manifest.json,signature}`.
//! An artifact directory is written complete under a temporary name and renamed into place,
//! so after a crash it either exists whole or not at all.

use std::fs;
use std::path::PathBuf;
use std::sync::Arc;

use crate::artifact::{verify, ArtifactParts, VerifiedArtifact};
use crate::digest::Digest;
use crate::error::{Result, VyrError};
use crate::fsutil::{ensure_private_dir, sync_dir, temp_name, write_synced};
use crate::manifest::Manifest;
use crate::trust::TrustStore;

const MODULE: &str = "module.wasm";
const MANIFEST: &str = "manifest.json";
const SIGNATURE: &str = "signature";

/// One stored artifact as listed.
#[derive(Clone, Debug)]
pub struct ArtifactInfo {
    pub digest: Digest,
    pub manifest: Manifest,
}

/// The artifact store directory.
pub struct ArtifactStore {
    dir: PathBuf,
}

impl ArtifactStore {
    /// Opens (creating) the store; removes temp directories left by a crashed put.
    pub fn open(dir: PathBuf) -> Result<Self> {
        ensure_private_dir(&dir)?;
        for entry in fs::read_dir(&dir).map_err(|e| VyrError::io(&dir, e))?.flatten() {
            if entry.file_name().to_string_lossy().starts_with('.') {
                let _ = fs::remove_dir_all(entry.path());
            }
        }
        Ok(ArtifactStore { dir })
    }

    fn path_for(&self, digest: &Digest) -> PathBuf {
        self.dir.join(digest.hex())
    }

    /// Whether an artifact with this digest is stored.
    pub fn contains(&self, digest: &Digest) -> bool {
        self.path_for(digest).is_dir()
    }

    /// Removes a stored artifact (one that was stored but then failed to compile).
    pub fn remove(&self, digest: &Digest) {
        let _ = fs::remove_dir_all(self.path_for(digest));
    }

    /// Stores a verified artifact. Idempotent for the same manifest; refuses a different
    /// manifest for a module that is already stored.
    pub fn put(&self, artifact: &VerifiedArtifact) -> Result<()> {
        let final_dir = self.path_for(&artifact.digest);
        if final_dir.is_dir() {
            return self.check_same_manifest(artifact);
        }
        let temp_dir = self.dir.join(temp_name("put"));
        fs::create_dir(&temp_dir).map_err(|e| VyrError::io(&temp_dir, e))?;
        let result = (|| {
            write_synced(&temp_dir.join(MODULE), &artifact.module, 0o444)?;
            write_synced(&temp_dir.join(MANIFEST), &artifact.manifest_bytes, 0o444)?;
            write_synced(&temp_dir.join(SIGNATURE), &artifact.signature, 0o444)?;
            sync_dir(&temp_dir)?;
            match fs::rename(&temp_dir, &final_dir) {
                Ok(()) => sync_dir(&self.dir),
                // Lost a race with a concurrent put of the same artifact.
                Err(_) if final_dir.is_dir() => Ok(()),
                Err(e) => Err(VyrError::io(&final_dir, e)),
            }
        })();
        if temp_dir.exists() {
            let _ = fs::remove_dir_all(&temp_dir);
        }
        result?;
        self.check_same_manifest(artifact)
    }

    fn check_same_manifest(&self, artifact: &VerifiedArtifact) -> Result<()> {
        let path = self.path_for(&artifact.digest).join(MANIFEST);
        let stored = fs::read(&path).map_err(|e| VyrError::io(&path, e))?;
        if stored.as_slice() != &*artifact.manifest_bytes {
            return Err(VyrError::ArtifactConflict(artifact.digest.to_string()));
        }
        Ok(())
    }

    /// Reads an artifact back and verifies it again (the trust store may have changed, and the
    /// disk may have been tampered with since it was put).
    pub fn load(&self, digest: &Digest, trust: &TrustStore, max_bytes: u64) -> Result<VerifiedArtifact> {
        let (module, manifest, signature) = self.read_signed_parts(digest)?;
        let module: Arc<[u8]> = module.into();
        let claimed = digest.to_string();
        verify(
            ArtifactParts { claimed_digest: &claimed, manifest: &manifest, signature: &signature, module },
            trust,
            max_bytes,
        )
    }

    /// The raw stored parts (module, manifest bytes, signature), unverified.
    pub fn read_signed_parts(&self, digest: &Digest) -> Result<(Vec<u8>, Vec<u8>, Vec<u8>)> {
        Ok((self.read_part(digest, MODULE)?, self.read_part(digest, MANIFEST)?, self.read_part(digest, SIGNATURE)?))
    }

    /// The stored manifest alone (unverified: the signature is checked when the module loads).
    pub fn read_manifest(&self, digest: &Digest) -> Result<Manifest> {
        Manifest::from_canonical_bytes(&self.read_part(digest, MANIFEST)?)
    }

    fn read_part(&self, digest: &Digest, name: &str) -> Result<Vec<u8>> {
        let path = self.path_for(digest).join(name);
        fs::read(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound if !self.path_for(digest).is_dir() => {
                VyrError::ArtifactNotFound(digest.to_string())
            }
            _ => VyrError::io(path, e),
        })
    }

    /// Every stored artifact, sorted by name then digest. Unreadable entries are skipped.
    pub fn list(&self) -> Result<Vec<ArtifactInfo>> {
        let mut all = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(|e| VyrError::io(&self.dir, e))?.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Ok(digest) = Digest::parse(&format!("sha256:{name}")) else { continue };
            let Ok(bytes) = fs::read(entry.path().join(MANIFEST)) else { continue };
            if let Ok(manifest) = Manifest::from_canonical_bytes(&bytes) {
                all.push(ArtifactInfo { digest, manifest });
            }
        }
        all.sort_by(|a, b| (&a.manifest.name, a.digest).cmp(&(&b.manifest.name, b.digest)));
        Ok(all)
    }
}
