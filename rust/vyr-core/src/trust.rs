//! The trust store: public keys allowed to sign artifacts, one file per key under `home/trust`.

use std::collections::HashMap;
use std::fs;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::SystemTime;

use crate::digest::Digest;
use crate::error::{Result, VyrError};
use crate::fsutil::{ensure_private_dir, write_atomic};
use crate::signing::PublicKey;

/// How often the trust directory is checked for changes made by other processes.
const CHECK_INTERVAL: std::time::Duration = std::time::Duration::from_millis(100);

/// Trusted keys, re-read when the directory changes so that `vyr trust rm` in one process
/// takes effect in a running node without a restart.
pub struct TrustStore {
    dir: PathBuf,
    cache: Mutex<Cached>,
}

/// What was read, the directory's mtime then, and when it was read and last checked.
#[derive(Default)]
struct Cached {
    modified: Option<SystemTime>,
    read_at: Option<SystemTime>,
    checked_at: Option<std::time::Instant>,
    keys: HashMap<Digest, PublicKey>,
}

impl TrustStore {
    /// Opens (creating) the store in `dir`.
    pub fn open(dir: PathBuf) -> Result<Self> {
        ensure_private_dir(&dir)?;
        Ok(TrustStore { dir, cache: Mutex::new(Cached::default()) })
    }

    /// Adds a key; returns its id. Adding a key twice is not an error.
    pub fn add(&self, key: &PublicKey) -> Result<Digest> {
        let id = key.key_id();
        write_atomic(&self.path_for(&id), key.to_text().as_bytes(), 0o644)?;
        self.invalidate();
        Ok(id)
    }

    /// Removes a key by id.
    pub fn remove(&self, id: &Digest) -> Result<()> {
        let path = self.path_for(id);
        let removed = fs::remove_file(&path);
        self.invalidate();
        match removed {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(VyrError::InvalidArgument(format!("key {id} is not in the trust store")))
            }
            Err(e) => Err(VyrError::io(path, e)),
        }
    }

    /// The trusted key with this id, if any.
    pub fn get(&self, id: &Digest) -> Result<Option<PublicKey>> {
        self.with_keys(|keys| keys.get(id).cloned())
    }

    /// All trusted keys, sorted by id.
    pub fn list(&self) -> Result<Vec<(Digest, PublicKey)>> {
        self.with_keys(|keys| {
            let mut all: Vec<_> = keys.iter().map(|(id, key)| (*id, key.clone())).collect();
            all.sort_by_key(|(id, _)| *id);
            all
        })
    }

    fn invalidate(&self) {
        if let Ok(mut cache) = self.cache.lock() {
            *cache = Cached::default();
        }
    }

    fn path_for(&self, id: &Digest) -> PathBuf {
        self.dir.join(format!("{}.pub", id.hex()))
    }

    fn with_keys<T>(&self, f: impl FnOnce(&HashMap<Digest, PublicKey>) -> T) -> Result<T> {
        {
            // Changes made through this store invalidate the cache at once; changes made by
            // another process are seen within CHECK_INTERVAL (one stat per interval, not per task).
            let cache = self.cache.lock().map_err(|_| VyrError::Internal("trust store lock poisoned".into()))?;
            if cache.checked_at.is_some_and(|checked| checked.elapsed() < CHECK_INTERVAL) {
                return Ok(f(&cache.keys));
            }
        }
        let modified = fs::metadata(&self.dir).and_then(|m| m.modified()).map_err(|e| VyrError::io(&self.dir, e))?;
        let mut cache = self.cache.lock().map_err(|_| VyrError::Internal("trust store lock poisoned".into()))?;
        // An mtime only proves "unchanged" once the clock has moved well past it: two changes
        // within one timestamp tick would otherwise look like one.
        let settled = cache
            .read_at
            .and_then(|read| read.duration_since(modified).ok())
            .is_some_and(|age| age > std::time::Duration::from_secs(1));
        if cache.modified != Some(modified) || !settled {
            cache.keys = self.read_all()?;
            cache.modified = Some(modified);
            cache.read_at = Some(SystemTime::now());
        }
        cache.checked_at = Some(std::time::Instant::now());
        Ok(f(&cache.keys))
    }

    fn read_all(&self) -> Result<HashMap<Digest, PublicKey>> {
        let mut keys = HashMap::new();
        for entry in fs::read_dir(&self.dir).map_err(|e| VyrError::io(&self.dir, e))? {
            let path = entry.map_err(|e| VyrError::io(&self.dir, e))?.path();
            if path.extension().and_then(|e| e.to_str()) != Some("pub") {
                continue;
            }
            let text = fs::read_to_string(&path).map_err(|e| VyrError::io(&path, e))?;
            // A file whose content does not match its name was tampered with: ignore it
            // rather than trust a key under someone else's id.
            if let Ok(key) = PublicKey::from_text(&text) {
                if path.file_stem().and_then(|s| s.to_str()) == Some(key.key_id().hex().as_str()) {
                    keys.insert(key.key_id(), key);
                }
            }
        }
        Ok(keys)
    }
}
