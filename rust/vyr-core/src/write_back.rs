//! Mirroring a committed state into a host directory (`vyr run --dir` after a rw task): the
//! host directory ends up holding exactly the state's tree. Each changed file is written to a
//! temporary file in its own directory and renamed over the old one, so a reader sees the old
//! or the new file, never a torn one; what the task removed is removed. Nothing is written
//! outside `host_dir`: symlinks found there are never followed, only replaced or removed.

use std::collections::HashSet;
use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{self, Read};
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;

use crate::error::{Result, VyrError};
use crate::fsutil::{remove_tree, temp_name};

/// Makes `host_dir` (an existing directory; itself may be reached through a link the user
/// gave) mirror the tree under `from`.
pub fn write_back(from: &Path, host_dir: &Path) -> Result<()> {
    let meta = fs::metadata(host_dir).map_err(|e| VyrError::io(host_dir, e))?;
    if !meta.is_dir() {
        return Err(VyrError::InvalidArgument(format!("{} is not a directory", host_dir.display())));
    }
    mirror(from, host_dir)
}

fn mirror(from: &Path, to: &Path) -> Result<()> {
    let mut wanted = HashSet::new();
    for entry in fs::read_dir(from).map_err(|e| VyrError::io(from, e))? {
        let entry = entry.map_err(|e| VyrError::io(from, e))?;
        let name = entry.file_name();
        let source = entry.path();
        let target = to.join(&name);
        let meta = fs::symlink_metadata(&source).map_err(|e| VyrError::io(&source, e))?;
        let existing = fs::symlink_metadata(&target).ok();
        wanted.insert(name);
        if meta.is_dir() {
            match &existing {
                Some(old) if old.is_dir() => {}
                Some(_) => {
                    remove(&target)?;
                    fs::create_dir(&target).map_err(|e| VyrError::io(&target, e))?;
                }
                None => fs::create_dir(&target).map_err(|e| VyrError::io(&target, e))?,
            }
            // Writable while it is filled; its own mode is restored after.
            let mode = meta.permissions().mode() & 0o7777;
            fs::set_permissions(&target, fs::Permissions::from_mode(mode | 0o700))
                .map_err(|e| VyrError::io(&target, e))?;
            mirror(&source, &target)?;
            fs::set_permissions(&target, fs::Permissions::from_mode(mode)).map_err(|e| VyrError::io(&target, e))?;
        } else if meta.is_symlink() {
            let text = fs::read_link(&source).map_err(|e| VyrError::io(&source, e))?;
            let same = existing.as_ref().is_some_and(|old| old.is_symlink())
                && fs::read_link(&target).is_ok_and(|old| old == text);
            if !same {
                replace_with(to, &target, existing.as_ref(), |temp| symlink(&text, temp))?;
            }
        } else if meta.is_file() {
            let mode = meta.permissions().mode() & 0o7777;
            let same_content = existing.as_ref().is_some_and(|old| old.is_file() && old.len() == meta.len())
                && same_bytes(&source, &target)?;
            if same_content {
                if existing.as_ref().is_some_and(|old| old.permissions().mode() & 0o7777 != mode) {
                    fs::set_permissions(&target, fs::Permissions::from_mode(mode))
                        .map_err(|e| VyrError::io(&target, e))?;
                }
            } else {
                replace_with(to, &target, existing.as_ref(), |temp| {
                    fs::copy(&source, temp)?;
                    File::open(temp)?.sync_all()
                })?;
            }
        }
    }
    // What the task removed.
    let present: Vec<OsString> = fs::read_dir(to)
        .map_err(|e| VyrError::io(to, e))?
        .filter_map(|entry| entry.ok().map(|e| e.file_name()))
        .collect();
    for name in present {
        if !wanted.contains(&name) {
            remove(&to.join(name))?;
        }
    }
    Ok(())
}

/// Builds the new entry at a temporary name in `dir` and renames it over `target` (a rename
/// replaces a file or a link itself, never what a link points to; a directory in the way is
/// removed first).
fn replace_with(
    dir: &Path,
    target: &Path,
    existing: Option<&fs::Metadata>,
    make: impl FnOnce(&Path) -> io::Result<()>,
) -> Result<()> {
    let temp = dir.join(temp_name("writeback"));
    if let Err(error) = make(&temp) {
        let _ = fs::remove_file(&temp);
        return Err(VyrError::io(target, error));
    }
    if existing.is_some_and(|old| old.is_dir()) {
        remove_tree(target);
    }
    fs::rename(&temp, target).map_err(|e| {
        let _ = fs::remove_file(&temp);
        VyrError::io(target, e)
    })
}

/// Removes a file, a link (not what it points to) or a whole directory.
fn remove(path: &Path) -> Result<()> {
    let meta = fs::symlink_metadata(path).map_err(|e| VyrError::io(path, e))?;
    if meta.is_dir() {
        remove_tree(path);
        if fs::symlink_metadata(path).is_ok() {
            return Err(VyrError::Io {
                path: path.to_path_buf(),
                source: io::Error::other("the directory could not be removed"),
            });
        }
        Ok(())
    } else {
        fs::remove_file(path).map_err(|e| VyrError::io(path, e))
    }
}

/// Whether two files of equal length hold the same bytes.
fn same_bytes(a: &Path, b: &Path) -> Result<bool> {
    let mut first = File::open(a).map_err(|e| VyrError::io(a, e))?;
    let mut second = File::open(b).map_err(|e| VyrError::io(b, e))?;
    let (mut x, mut y) = (vec![0u8; 1 << 16], vec![0u8; 1 << 16]);
    loop {
        let read = first.read(&mut x).map_err(|e| VyrError::io(a, e))?;
        if read == 0 {
            return Ok(true);
        }
        second.read_exact(&mut y[..read]).map_err(|e| VyrError::io(b, e))?;
        if x[..read] != y[..read] {
            return Ok(false);
        }
    }
}
