//! The tree digest (`vyrTreeV1`, defined in docs/receipts.md, "Tree digest"): one sha256 for a
//! directory tree, the same on every node for the same content. Only what a WASI guest can see
//! or change is covered: paths, kinds, file content, symlink text and the owner's rwx bits.

use std::fs::{self, File};
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use sha2::{Digest as _, Sha256};

use crate::error::{Result, VyrError};

/// What the digest starts with; alone, it is the empty tree's digest.
const HEADER: &[u8] = b"vyr-tree-v1\0";

/// The empty tree's digest (sha256 of the header), e.g. a state just created.
pub const EMPTY_TREE: &str = "2f2ad4ea7f197352ac71dc5b3584e6755c646eca7193eed7156e043ccb768644";

/// A tree's digest and size, from one walk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeSummary {
    /// `vyrTreeV1`, 64 lowercase hex digits.
    pub digest: String,
    /// Bytes of regular files.
    pub bytes: u64,
    /// Entries: files, directories and symlinks.
    pub files: u64,
}

/// The `vyrTreeV1` digest of the tree under `root` (64 lowercase hex digits).
pub fn tree_digest(root: &Path) -> Result<String> {
    summarize(root).map(|summary| summary.digest)
}

/// The digest, bytes and entry count of the tree under `root`.
pub fn summarize(root: &Path) -> Result<TreeSummary> {
    let meta = fs::symlink_metadata(root).map_err(|e| VyrError::io(root, e))?;
    if !meta.is_dir() {
        return Err(VyrError::InvalidArgument(format!(
            "{} is not a directory: a tree digest needs one",
            root.display()
        )));
    }
    let mut records = Vec::new();
    let mut bytes = 0;
    collect(root, &[], &mut records, &mut bytes)?;
    records.sort_by(|a, b| a.0.cmp(&b.0));
    let mut hasher = Sha256::new();
    hasher.update(HEADER);
    for (_, record) in &records {
        hasher.update(record);
    }
    Ok(TreeSummary { digest: hex::encode(hasher.finalize()), bytes, files: records.len() as u64 })
}

/// Appends (relative path, record) for every entry below `dir`; `prefix` is `dir`'s relative
/// path with a trailing `/` (empty at the root).
fn collect(dir: &Path, prefix: &[u8], records: &mut Vec<(Vec<u8>, Vec<u8>)>, bytes: &mut u64) -> Result<()> {
    for entry in fs::read_dir(dir).map_err(|e| VyrError::io(dir, e))? {
        let entry = entry.map_err(|e| VyrError::io(dir, e))?;
        let path = entry.path();
        let meta = fs::symlink_metadata(&path).map_err(|e| VyrError::io(&path, e))?;
        let mut relative = prefix.to_vec();
        relative.extend_from_slice(entry.file_name().as_bytes());
        let kind = meta.file_type();
        let mut record = Vec::with_capacity(relative.len() + 96);
        if kind.is_symlink() {
            let target = fs::read_link(&path).map_err(|e| VyrError::io(&path, e))?;
            record.extend_from_slice(b"l ");
            record.extend_from_slice(&relative);
            record.push(0);
            record.extend_from_slice(target.as_os_str().as_bytes());
            record.push(0);
        } else if kind.is_dir() {
            record.extend_from_slice(b"d ");
            record.extend_from_slice(&perm(meta.permissions().mode()));
            record.push(b' ');
            record.extend_from_slice(&relative);
            record.push(0);
            let mut child_prefix = relative.clone();
            child_prefix.push(b'/');
            collect(&path, &child_prefix, records, bytes)?;
        } else if kind.is_file() {
            let (size, content) = file_digest(&path)?;
            *bytes += size;
            record.extend_from_slice(b"f ");
            record.extend_from_slice(&perm(meta.permissions().mode()));
            record.extend_from_slice(format!(" {size} {content} ").as_bytes());
            record.extend_from_slice(&relative);
            record.push(0);
        } else {
            return Err(VyrError::InvalidArgument(format!(
                "{} is neither a file, a directory nor a symlink: a tree digest covers only those",
                path.display()
            )));
        }
        records.push((relative, record));
    }
    Ok(())
}

/// The owner's read, write and execute bits as three characters ("rw-", "r-x").
fn perm(mode: u32) -> [u8; 3] {
    [
        if mode & 0o400 != 0 { b'r' } else { b'-' },
        if mode & 0o200 != 0 { b'w' } else { b'-' },
        if mode & 0o100 != 0 { b'x' } else { b'-' },
    ]
}

/// (size, sha256 hex) of a file's content, streamed.
pub(crate) fn file_digest(path: &Path) -> Result<(u64, String)> {
    let mut file = File::open(path).map_err(|e| VyrError::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let read = file.read(&mut buffer).map_err(|e| VyrError::io(path, e))?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
        size += read as u64;
    }
    Ok((size, hex::encode(hasher.finalize())))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    fn write(path: &Path, bytes: &[u8], mode: u32) {
        fs::write(path, bytes).expect("write");
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
    }

    #[test]
    fn empty_tree_is_the_header_digest() {
        let root = tempfile::tempdir().expect("tempdir");
        assert_eq!(tree_digest(root.path()).expect("digest"), EMPTY_TREE);
    }

    #[test]
    fn matches_the_documented_test_vector() {
        let root = tempfile::tempdir().expect("tempdir");
        let root = root.path();
        write(&root.join("a.txt"), b"alpha\n", 0o644);
        fs::create_dir(root.join("bin")).expect("mkdir");
        write(&root.join("bin/run.sh"), b"#!/bin/sh\necho hi\n", 0o755);
        fs::set_permissions(root.join("bin"), fs::Permissions::from_mode(0o755)).expect("chmod");
        fs::create_dir(root.join("empty")).expect("mkdir");
        fs::set_permissions(root.join("empty"), fs::Permissions::from_mode(0o500)).expect("chmod");
        symlink("a.txt", root.join("link")).expect("symlink");
        fs::create_dir(root.join("sub")).expect("mkdir");
        let bytes: Vec<u8> = (0..=255).collect();
        write(&root.join("sub/b.bin"), &bytes, 0o400);
        fs::set_permissions(root.join("sub"), fs::Permissions::from_mode(0o700)).expect("chmod");
        write(&root.join("sub.txt"), b"", 0o600);
        assert_eq!(
            tree_digest(root).expect("digest"),
            "b49056937d3c4cc872a09c4abaea1bc8c83148e28baa76bdebe5499143571848"
        );
    }

    #[test]
    fn refuses_a_fifo_and_a_non_directory() {
        let root = tempfile::tempdir().expect("tempdir");
        let fifo = root.path().join("pipe");
        let status = std::process::Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
        assert!(status.success());
        assert!(matches!(tree_digest(root.path()), Err(VyrError::InvalidArgument(_))));
        fs::remove_file(&fifo).expect("rm");
        write(&root.path().join("f"), b"x", 0o644);
        assert!(matches!(tree_digest(&root.path().join("f")), Err(VyrError::InvalidArgument(_))));
    }
}
