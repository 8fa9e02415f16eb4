//! Crash-safe file writes: a reader (or a node restarted after `kill -9`) sees either the old
//! state or the complete new one, never a torn file.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::error::{Result, VyrError};

/// A name unlikely to collide between concurrent writers (pid + random).
pub fn temp_name(prefix: &str) -> String {
    let mut random = [0u8; 8];
    fill_random(&mut random);
    format!(".{prefix}-{}-{}", std::process::id(), hex::encode(random))
}

/// How long a temp file of a writer that is still alive may sit unchanged before it counts as
/// left over: the pid may have been reused since a `kill -9`, and no live writer goes this long
/// between its last write and its rename.
const STALE_AFTER: Duration = Duration::from_secs(60);

/// Removes files `.<prefix>-<pid>-<random>` in `dir` that a writer killed half-way left: those
/// whose writer process is gone, or that were last changed a minute or more before `started`
/// (the node's start). A concurrent writer's fresh file is kept. Best effort: a file that
/// cannot be removed stays and is tried again at the next start.
pub fn remove_stale_temp_files(dir: &Path, prefix: &str, started: SystemTime) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    let marker = format!(".{prefix}-");
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|name| name.strip_prefix(&marker)) else { continue };
        let Some(pid) = rest.split('-').next().and_then(|pid| pid.parse::<u32>().ok()) else { continue };
        let Ok(meta) = entry.metadata() else { continue };
        let stale = meta.modified().is_ok_and(|changed| changed + STALE_AFTER <= started);
        if meta.is_file() && (stale || !process_alive(pid)) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Whether process `pid` exists (from /proc; without /proc, assume it does).
pub fn process_alive(pid: u32) -> bool {
    pid == std::process::id() || !Path::new("/proc/self").exists() || Path::new("/proc").join(pid.to_string()).exists()
}

/// Fills `buffer` from the OS CSPRNG.
pub fn fill_random(buffer: &mut [u8]) {
    use rand_core::RngCore;
    rand_core::OsRng.fill_bytes(buffer);
}

/// The prefix of [`write_atomic`]'s temp files.
pub const WRITE_PREFIX: &str = "write";

/// Writes `bytes` to `path` atomically: temp file, fsync, rename, fsync the directory.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let dir = parent(path)?;
    let temp = dir.join(temp_name(WRITE_PREFIX));
    let result = (|| {
        write_synced(&temp, bytes, mode)?;
        fs::rename(&temp, path).map_err(|e| VyrError::io(path, e))?;
        sync_dir(&dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// Creates `path` (it must not exist yet), writes `bytes` and fsyncs the file.
pub fn write_synced(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let mut file =
        OpenOptions::new().write(true).create_new(true).mode(mode).open(path).map_err(|e| VyrError::io(path, e))?;
    file.write_all(bytes).map_err(|e| VyrError::io(path, e))?;
    file.sync_all().map_err(|e| VyrError::io(path, e))
}

/// fsyncs a directory so a rename inside it survives a power cut.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| VyrError::io(dir, e))
}

/// Creates `dir` (and parents) with owner-only permissions if missing.
pub fn ensure_private_dir(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).map_err(|e| VyrError::io(dir, e))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(|e| VyrError::io(dir, e))
}

fn parent(path: &Path) -> Result<PathBuf> {
    path.parent()
        .map(Path::to_path_buf)
        .ok_or_else(|| VyrError::Internal(format!("{} has no parent directory", path.display())))
}

/// Total bytes of regular files below `dir` (symlinks are not followed).
pub fn tree_size(dir: &Path) -> Result<u64> {
    let mut total = 0;
    for entry in fs::read_dir(dir).map_err(|e| VyrError::io(dir, e))? {
        let entry = entry.map_err(|e| VyrError::io(dir, e))?;
        let meta = entry.metadata().map_err(|e| VyrError::io(entry.path(), e))?;
        if meta.is_dir() {
            total += tree_size(&entry.path())?;
        } else if meta.is_file() {
            total += meta.len();
        }
    }
    Ok(total)
}

/// Copies a directory tree the node made (a state): files, directories and symlinks (same
/// link text, never followed), with their modes. Directory modes are set after their content
/// is in, so a read-only directory is copied too.
pub fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir(to).map_err(|e| VyrError::io(to, e))?;
    for entry in fs::read_dir(from).map_err(|e| VyrError::io(from, e))? {
        let entry = entry.map_err(|e| VyrError::io(from, e))?;
        let kind = entry.file_type().map_err(|e| VyrError::io(entry.path(), e))?;
        let target = to.join(entry.file_name());
        if kind.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else if kind.is_file() {
            fs::copy(entry.path(), &target).map_err(|e| VyrError::io(&target, e))?;
        } else if kind.is_symlink() {
            let text = fs::read_link(entry.path()).map_err(|e| VyrError::io(entry.path(), e))?;
            std::os::unix::fs::symlink(&text, &target).map_err(|e| VyrError::io(&target, e))?;
        }
    }
    let mode = fs::symlink_metadata(from).map_err(|e| VyrError::io(from, e))?.permissions().mode();
    fs::set_permissions(to, fs::Permissions::from_mode(mode & 0o7777)).map_err(|e| VyrError::io(to, e))
}

/// Removes a tree, best effort, including below directories without the owner's write bit
/// (which a plain `remove_dir_all` cannot empty unless run as root). Symlinks are removed,
/// never followed.
pub fn remove_tree(path: &Path) {
    if fs::remove_dir_all(path).is_ok() || fs::symlink_metadata(path).is_err() {
        return;
    }
    make_writable(path);
    let _ = fs::remove_dir_all(path);
}

fn make_writable(dir: &Path) {
    let Ok(meta) = fs::symlink_metadata(dir) else { return };
    if !meta.is_dir() {
        return;
    }
    let _ = fs::set_permissions(dir, fs::Permissions::from_mode((meta.permissions().mode() & 0o7777) | 0o700));
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            make_writable(&entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leftovers_of_dead_writers_go_and_fresh_files_of_live_ones_stay() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut child = std::process::Command::new("true").spawn().expect("spawn");
        let dead = child.id();
        child.wait().expect("wait");
        let dead_file = dir.path().join(format!(".write-{dead}-00"));
        let live_file = dir.path().join(format!(".write-{}-00", std::process::id()));
        let other = dir.path().join("kept.cwasm");
        for path in [&dead_file, &live_file, &other] {
            fs::write(path, b"x").expect("write");
        }
        remove_stale_temp_files(dir.path(), WRITE_PREFIX, SystemTime::now());
        assert!(!dead_file.exists() && live_file.exists() && other.exists());
        // A minute later even a live pid's file is a leftover (a pid reused after a kill).
        remove_stale_temp_files(dir.path(), WRITE_PREFIX, SystemTime::now() + STALE_AFTER);
        assert!(!live_file.exists() && other.exists());
    }
}
