//! Reading a state back out: a deterministic tar archive (the same tree gives the same bytes
//! on every node) or a copy in a host directory. Both are built beside their destination and
//! renamed into place, so a reader never sees half an export.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::error::{Result, VyrError};
use crate::fill::{build_beside, Filled};
use crate::fsutil::{copy_tree, remove_tree, temp_name};

/// Whether an export destination means an archive (its name ends in `.tar`).
pub fn wants_archive(out: &Path) -> bool {
    out.as_os_str().as_bytes().ends_with(b".tar")
}

/// Exports `dir` to `out`: a `.tar` path gets an archive (replacing a file there), any other
/// a directory (created; an existing one must be empty).
pub fn export(dir: &Path, out: &Path) -> Result<()> {
    if wants_archive(out) {
        write_tar_file(dir, out)
    } else {
        build_beside(out, |temp| {
            remove_tree(temp); // copy_tree creates it, with the state root's mode
            copy_tree(dir, temp)?;
            Ok(Filled::default())
        })
        .map(|_| ())
    }
}

/// Writes `dir` as a tar archive to the file `out`, atomically (temp file, rename): a reader
/// sees no archive or the whole one. Not fsynced: an export is a copy of content the node
/// still holds (export it again after a power cut), and syncing 64 MiB doubled its cost
/// against `tar -cf`, which does not sync either.
pub fn write_tar_file(dir: &Path, out: &Path) -> Result<()> {
    if fs::symlink_metadata(out).is_ok_and(|meta| meta.is_dir()) {
        return Err(VyrError::InvalidArgument(format!(
            "{} is a directory; an archive needs a file path",
            out.display()
        )));
    }
    let parent = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf();
    fs::create_dir_all(&parent).map_err(|e| VyrError::io(&parent, e))?;
    let temp = parent.join(temp_name("export"));
    let result = (|| {
        let file = File::create(&temp).map_err(|e| VyrError::io(&temp, e))?;
        let mut writer = BufWriter::with_capacity(1 << 20, file);
        pack_tar(dir, &mut writer)?;
        writer.into_inner().map_err(|e| VyrError::io(&temp, e.into_error()))?;
        fs::rename(&temp, out).map_err(|e| VyrError::io(out, e))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// Writes the tree under `dir` as a tar stream: entries sorted by path (bytewise, as the tree
/// digest orders them), mtime 0, uid/gid 0, no owner names, the owner's permission bits only,
/// symlinks as symlinks. GNU long names carry paths over 100 bytes.
pub fn pack_tar(dir: &Path, out: impl Write) -> Result<()> {
    let mut entries = Vec::new();
    walk(dir, PathBuf::new(), &mut entries)?;
    entries.sort_by(|a, b| a.0.as_os_str().as_bytes().cmp(b.0.as_os_str().as_bytes()));
    let mut builder = tar::Builder::new(out);
    let failed = |e: io::Error| VyrError::io(dir, e);
    for (relative, meta) in entries {
        let full = dir.join(&relative);
        let mut header = tar::Header::new_gnu();
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mode(meta.permissions().mode() & 0o700);
        let kind = meta.file_type();
        if kind.is_symlink() {
            let text = fs::read_link(&full).map_err(|e| VyrError::io(&full, e))?;
            header.set_entry_type(tar::EntryType::Symlink);
            header.set_size(0);
            builder.append_link(&mut header, &relative, &text).map_err(failed)?;
        } else if kind.is_dir() {
            header.set_entry_type(tar::EntryType::Directory);
            header.set_size(0);
            builder.append_data(&mut header, &relative, io::empty()).map_err(failed)?;
        } else if kind.is_file() {
            let file = File::open(&full).map_err(|e| VyrError::io(&full, e))?;
            header.set_entry_type(tar::EntryType::Regular);
            header.set_size(meta.len());
            builder.append_data(&mut header, &relative, file).map_err(|e| VyrError::io(&full, e))?;
        } else {
            return Err(VyrError::InvalidArgument(format!(
                "{} is not a file, directory or link; it cannot be exported",
                full.display()
            )));
        }
    }
    builder.into_inner().and_then(|mut out| out.flush()).map_err(failed)
}

fn walk(dir: &Path, relative: PathBuf, entries: &mut Vec<(PathBuf, fs::Metadata)>) -> Result<()> {
    for entry in fs::read_dir(dir).map_err(|e| VyrError::io(dir, e))? {
        let entry = entry.map_err(|e| VyrError::io(dir, e))?;
        let path = entry.path();
        let meta = fs::symlink_metadata(&path).map_err(|e| VyrError::io(&path, e))?;
        let child = relative.join(entry.file_name());
        let is_dir = meta.is_dir();
        entries.push((child.clone(), meta));
        if is_dir {
            walk(&path, child, entries)?;
        }
    }
    Ok(())
}
