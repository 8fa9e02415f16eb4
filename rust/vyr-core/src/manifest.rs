//! The signed manifest: what an artifact is and how to run it, in canonical bytes.
//!
//! Canonical means: compact JSON, fields in the order of these structs, `env` sorted by key.
//! Parsing re-serialises and refuses any input whose bytes differ, so the bytes that were signed
//! are the only spelling of that manifest that VYR accepts.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::error::{Result, VyrError};
use crate::resources::Resources;

/// The only manifest version this node understands.
pub const MANIFEST_VERSION: u32 = 1;
/// The only ABI VYR runs at MVO: a WASI preview1 command module.
pub const ABI_WASI_P1_COMMAND: &str = "wasi_snapshot_preview1/command";

/// The module a manifest describes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModuleRef {
    pub digest: Digest,
    pub size: u64,
}

/// A signed description of one artifact.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub vyr_manifest: u32,
    pub name: String,
    pub module: ModuleRef,
    pub abi: String,
    pub entrypoint: String,
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub resources: Resources,
    pub signer: Digest,
}

impl Manifest {
    /// A manifest for `module` with VYR's defaults.
    pub fn new(name: &str, module: &[u8], signer: Digest) -> Result<Self> {
        let manifest = Manifest {
            vyr_manifest: MANIFEST_VERSION,
            name: name.to_owned(),
            module: ModuleRef { digest: Digest::of(module), size: module.len() as u64 },
            abi: ABI_WASI_P1_COMMAND.to_owned(),
            entrypoint: "_start".to_owned(),
            args: Vec::new(),
            env: BTreeMap::new(),
            resources: Resources::default(),
            signer,
        };
        manifest.validate()?;
        Ok(manifest)
    }

    /// The canonical bytes (what gets signed).
    pub fn to_canonical_bytes(&self) -> Vec<u8> {
        // Serialising plain structs, strings and a BTreeMap cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Parses canonical bytes; refuses unknown fields, other versions and non-canonical spelling.
    pub fn from_canonical_bytes(bytes: &[u8]) -> Result<Self> {
        let manifest: Manifest =
            serde_json::from_slice(bytes).map_err(|error| VyrError::InvalidManifest(error.to_string()))?;
        manifest.validate()?;
        if manifest.to_canonical_bytes() != bytes {
            return Err(VyrError::InvalidManifest(
                "not in canonical form (compact JSON, fixed field order, no extra spaces): \
                 write it with 'vyr sign'"
                    .into(),
            ));
        }
        Ok(manifest)
    }

    fn validate(&self) -> Result<()> {
        let invalid = |message: String| Err(VyrError::InvalidManifest(message));
        if self.vyr_manifest != MANIFEST_VERSION {
            return invalid(format!("version {} is not supported (expected {MANIFEST_VERSION})", self.vyr_manifest));
        }
        let name_ok = !self.name.is_empty()
            && self.name.len() <= 128
            && self.name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        if !name_ok {
            return invalid(format!("name {:?} must be 1-128 characters of [A-Za-z0-9._-]", self.name));
        }
        if self.abi != ABI_WASI_P1_COMMAND {
            return invalid(format!("abi {:?} is not supported (expected {ABI_WASI_P1_COMMAND:?})", self.abi));
        }
        if self.entrypoint != "_start" {
            return invalid(format!("entrypoint {:?}: a WASI command's entrypoint is \"_start\"", self.entrypoint));
        }
        if self.env.keys().any(|key| key.is_empty() || key.contains('=')) {
            return invalid("env names must be non-empty and contain no '='".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Manifest {
        Manifest::new("hello", b"\0asm", Digest::of(b"key")).unwrap()
    }

    #[test]
    fn canonical_bytes_round_trip_and_are_stable() {
        let manifest = sample();
        let bytes = manifest.to_canonical_bytes();
        assert_eq!(Manifest::from_canonical_bytes(&bytes).unwrap(), manifest);
        assert_eq!(manifest.clone().to_canonical_bytes(), bytes);
    }

    #[test]
    fn non_canonical_spelling_is_refused() {
        let bytes = sample().to_canonical_bytes();
        let spaced = String::from_utf8(bytes).unwrap().replace(",", ", ");
        assert!(matches!(Manifest::from_canonical_bytes(spaced.as_bytes()), Err(VyrError::InvalidManifest(_))));
    }

    #[test]
    fn unknown_fields_and_bad_names_are_refused() {
        let text = String::from_utf8(sample().to_canonical_bytes()).unwrap();
        let extra = text.replacen('{', "{\"x\":1,", 1);
        assert!(Manifest::from_canonical_bytes(extra.as_bytes()).is_err());
        assert!(Manifest::new("../evil", b"", Digest::of(b"k")).is_err());
    }
}
