//! Filling a new state from untrusted content: a tar archive (plain or gzip) or a host
//! directory. Nothing in the content may reach outside the state or exceed its caps:
//!
//! - names are relative and never climb (`..`, absolute names are refused);
//! - a symlink's text is relative, its `..`s come first and never climb above the root (a
//!   `..` after a name could climb out through another link, so it is refused);
//! - a hard link copies a regular file extracted earlier from the same archive;
//! - device nodes, FIFOs and sockets are refused (no state holds one);
//! - no entry is placed below a symlink or a file, and no path appears twice;
//! - total file bytes and entries are capped, counted as the archive streams, so a gzip bomb
//!   is refused after at most the cap's worth of decompression.
//!
//! Everything is built in a temporary directory beside the destination and renamed into place
//! at the end: on any error nothing is left behind. Modes keep the owner's and read/execute
//! bits of group and others; a file always stays owner-readable and a directory owner-listable
//! (the node reads them to copy, digest and export).

use std::cell::Cell;
use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::error::{Result, VyrError};
use crate::fsutil::{remove_tree, temp_name};

/// Default cap on entries (files, directories and links) in one state: far above what real
/// data sets in a Wasm task's state hold, and low enough that walking, copying and hashing a
/// state stays well under a second of metadata work.
pub const MAX_FILES: u64 = 100_000;

/// Tar metadata allowed per entry on top of file bytes: a 512-byte header, up to 511 bytes of
/// padding and room for a long-name or PAX extension. Bounds the decompression work.
const STREAM_BYTES_PER_ENTRY: u64 = 3072;

/// The caps a fill is held to.
#[derive(Clone, Copy, Debug)]
pub struct FillLimits {
    pub max_bytes: u64,
    pub max_files: u64,
}

/// What a fill produced.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Filled {
    pub bytes: u64,
    pub files: u64,
}

/// Fills `into` (created; if it exists it must be an empty directory) from `source`: a
/// directory, or a file holding a tar archive (gzip-compressed or not, told by its magic).
pub fn fill(source: &Path, into: &Path, limits: FillLimits) -> Result<Filled> {
    let meta = fs::metadata(source).map_err(|e| VyrError::io(source, e))?;
    if meta.is_dir() {
        build_beside(into, |temp| copy_in(source, temp, limits))
    } else if meta.is_file() {
        let file = File::open(source).map_err(|e| VyrError::io(source, e))?;
        build_beside(into, |temp| unpack(file, temp, limits))
    } else {
        Err(VyrError::InvalidArgument(format!(
            "{}: a state is filled from a directory or a tar archive (.tar, .tar.gz)",
            source.display()
        )))
    }
}

/// Unpacks a tar stream (gzip or not) into `into`, with the rules above.
pub fn unpack_tar(reader: impl Read, into: &Path, limits: FillLimits) -> Result<Filled> {
    build_beside(into, |temp| unpack(reader, temp, limits))
}

/// Runs `build` on a fresh temporary directory beside `into`, then renames it to `into`
/// (replacing an empty directory). Any error removes the temporary directory.
pub(crate) fn build_beside(into: &Path, build: impl FnOnce(&Path) -> Result<Filled>) -> Result<Filled> {
    refuse_non_empty(into)?;
    let parent = into.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(|e| VyrError::io(parent, e))?;
    let temp = parent.join(temp_name("fill"));
    fs::create_dir(&temp).map_err(|e| VyrError::io(&temp, e))?;
    let result = build(&temp).and_then(|filled| {
        fs::rename(&temp, into).map_err(|e| VyrError::io(into, e))?;
        Ok(filled)
    });
    if result.is_err() {
        remove_tree(&temp);
    }
    result
}

/// A destination must be missing or an empty directory: content is never merged into a tree.
pub(crate) fn refuse_non_empty(into: &Path) -> Result<()> {
    match fs::symlink_metadata(into) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(VyrError::io(into, e)),
        Ok(meta) if !meta.is_dir() => Err(VyrError::InvalidArgument(format!(
            "{} exists and is not a directory; give a new path or an empty directory",
            into.display()
        ))),
        Ok(_) => {
            let mut entries = fs::read_dir(into).map_err(|e| VyrError::io(into, e))?;
            if entries.next().is_some() {
                return Err(VyrError::InvalidArgument(format!(
                    "{} is not empty; give a new path or an empty directory (nothing is merged or overwritten)",
                    into.display()
                )));
            }
            Ok(())
        }
    }
}

fn invalid(message: impl Into<String>) -> VyrError {
    VyrError::InvalidArchive(message.into())
}

/// Counts entries and bytes against the caps.
struct Budget {
    limits: FillLimits,
    filled: Filled,
}

impl Budget {
    fn entry(&mut self, path: &Path) -> Result<()> {
        self.filled.files += 1;
        if self.filled.files > self.limits.max_files {
            return Err(VyrError::Capacity(format!(
                "the content has more than {} entries (files, directories and links), the cap of a state; refused at {}",
                self.limits.max_files,
                path.display()
            )));
        }
        Ok(())
    }

    fn bytes(&mut self, size: u64, path: &Path) -> Result<()> {
        self.filled.bytes = self.filled.bytes.saturating_add(size);
        if self.filled.bytes > self.limits.max_bytes {
            return Err(VyrError::Capacity(format!(
                "the content holds more than {} bytes, the state size cap; refused at {}",
                self.limits.max_bytes,
                path.display()
            )));
        }
        Ok(())
    }
}

/// A reader that fails once more than `left` bytes were read, and says so in `exceeded`.
struct Capped<R> {
    inner: R,
    left: u64,
    exceeded: Rc<Cell<bool>>,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            // One probe byte tells a stream that ends exactly here from one that goes on.
            let mut probe = [0u8; 1];
            if self.inner.read(&mut probe)? == 0 {
                return Ok(0);
            }
            self.exceeded.set(true);
            return Err(io::Error::other("the archive is larger than the state's caps allow"));
        }
        let want = buffer.len().min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let read = self.inner.read(&mut buffer[..want])?;
        self.left -= read as u64;
        Ok(read)
    }
}

fn unpack(reader: impl Read, root: &Path, limits: FillLimits) -> Result<Filled> {
    let mut buffered = BufReader::with_capacity(1 << 16, reader);
    let gzip =
        buffered.fill_buf().map_err(|e| invalid(format!("cannot read the archive: {e}")))?.starts_with(&[0x1f, 0x8b]);
    let stream_cap =
        limits.max_bytes.saturating_add(limits.max_files.saturating_add(16).saturating_mul(STREAM_BYTES_PER_ENTRY));
    let exceeded = Rc::new(Cell::new(false));
    let source: Box<dyn Read> =
        if gzip { Box::new(flate2::read::GzDecoder::new(buffered)) } else { Box::new(buffered) };
    let capped = Capped { inner: source, left: stream_cap, exceeded: exceeded.clone() };
    let mut budget = Budget { limits, filled: Filled::default() };
    let result = unpack_entries(capped, root, &mut budget);
    if exceeded.get() {
        return Err(VyrError::Capacity(format!(
            "the archive unpacks to more than the state's caps allow ({} bytes, {} entries); refused while reading",
            limits.max_bytes, limits.max_files
        )));
    }
    result.map(|()| budget.filled)
}

fn unpack_entries(reader: impl Read, root: &Path, budget: &mut Budget) -> Result<()> {
    let mut archive = tar::Archive::new(reader);
    let mut dirs: Vec<(PathBuf, u32)> = Vec::new();
    let mut files: HashSet<PathBuf> = HashSet::new();
    let entries = archive.entries().map_err(|e| invalid(format!("not a tar archive: {e}")))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| invalid(format!("not a readable tar archive: {e}")))?;
        let raw = entry.path_bytes().into_owned();
        let kind = entry.header().entry_type();
        let Some(relative) = safe_relative(&raw)? else {
            if kind.is_dir() {
                continue; // "./": the root itself
            }
            return Err(invalid(format!("an entry with the empty name {:?}", String::from_utf8_lossy(&raw))));
        };
        let mode = entry.header().mode().unwrap_or(0o644);
        budget.entry(&relative)?;
        make_parents(root, &relative, budget, &mut dirs)?;
        let target = root.join(&relative);
        match kind {
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                budget.bytes(entry.size(), &relative)?;
                refuse_existing(&target, &relative)?;
                let mut file = create_file(&target, mode)?;
                io::copy(&mut entry, &mut file).map_err(|e| invalid(format!("{}: {e}", relative.display())))?;
                files.insert(relative);
            }
            tar::EntryType::Directory => match fs::symlink_metadata(&target) {
                Ok(meta) if meta.is_dir() => dirs.push((target, dir_mode(mode))),
                Ok(_) => return Err(duplicate(&relative)),
                Err(_) => {
                    fs::create_dir(&target).map_err(|e| VyrError::io(&target, e))?;
                    dirs.push((target, dir_mode(mode)));
                }
            },
            tar::EntryType::Symlink => {
                let text = entry.link_name_bytes().map(|t| t.into_owned()).unwrap_or_default();
                check_link(&relative, &text)?;
                refuse_existing(&target, &relative)?;
                symlink(std::ffi::OsStr::from_bytes(&text), &target).map_err(|e| VyrError::io(&target, e))?;
            }
            tar::EntryType::Link => {
                let text = entry.link_name_bytes().map(|t| t.into_owned()).unwrap_or_default();
                let earlier = safe_relative(&text)?.filter(|earlier| files.contains(earlier)).ok_or_else(|| {
                    invalid(format!(
                        "{}: a hard link to {:?}, which is not a file earlier in the archive",
                        relative.display(),
                        String::from_utf8_lossy(&text)
                    ))
                })?;
                let from = root.join(&earlier);
                let size = fs::symlink_metadata(&from).map_err(|e| VyrError::io(&from, e))?.len();
                budget.bytes(size, &relative)?;
                refuse_existing(&target, &relative)?;
                // A copy, not a link: a state's files are copied per writer anyway, and a copy
                // can never alias anything outside.
                fs::copy(&from, &target).map_err(|e| VyrError::io(&target, e))?;
                files.insert(relative);
            }
            tar::EntryType::XGlobalHeader => {}
            other => {
                return Err(invalid(format!(
                "{}: a {} entry; a state holds only files, directories and links (no device nodes, FIFOs or sockets)",
                relative.display(),
                kind_name(other)
            )))
            }
        }
    }
    set_dir_modes(dirs)
}

fn kind_name(kind: tar::EntryType) -> &'static str {
    match kind {
        tar::EntryType::Char => "character device",
        tar::EntryType::Block => "block device",
        tar::EntryType::Fifo => "FIFO",
        tar::EntryType::GNUSparse => "sparse file",
        _ => "special",
    }
}

/// The path below the root an archive name means; None for the root itself. Absolute names
/// and `..` are refused.
fn safe_relative(raw: &[u8]) -> Result<Option<PathBuf>> {
    let shown = || String::from_utf8_lossy(raw).into_owned();
    if raw.starts_with(b"/") {
        return Err(invalid(format!("{:?} is an absolute name; entries must stay inside the state", shown())));
    }
    let mut relative = PathBuf::new();
    for part in raw.split(|b| *b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => {
                return Err(invalid(format!("{:?} climbs out with '..'; entries must stay inside the state", shown())))
            }
            name => relative.push(std::ffi::OsStr::from_bytes(name)),
        }
    }
    Ok((!relative.as_os_str().is_empty()).then_some(relative))
}

/// Refuses a symlink whose text could resolve outside the root (see the module comment).
pub(crate) fn check_link(relative: &Path, text: &[u8]) -> Result<()> {
    let refuse = |why: &str| {
        Err(invalid(format!(
            "{}: a symlink to {:?} {why}; links must stay inside the state",
            relative.display(),
            String::from_utf8_lossy(text)
        )))
    };
    if text.is_empty() {
        return refuse("(empty)");
    }
    if text.starts_with(b"/") {
        return refuse("is absolute");
    }
    let mut depth = relative.components().count().saturating_sub(1);
    let mut named = false;
    for part in text.split(|b| *b == b'/') {
        match part {
            b"" | b"." => {}
            b".." if named => return refuse("has '..' after a name, which could climb out through another link"),
            b".." if depth == 0 => return refuse("climbs above the state's root"),
            b".." => depth -= 1,
            _ => named = true,
        }
    }
    Ok(())
}

/// Creates missing parent directories of `relative` (counted as entries); refuses a parent
/// that is a symlink or a file, so nothing is ever written through a link.
fn make_parents(root: &Path, relative: &Path, budget: &mut Budget, dirs: &mut Vec<(PathBuf, u32)>) -> Result<()> {
    let mut path = root.to_path_buf();
    let mut shown = PathBuf::new();
    let parts: Vec<_> = relative.components().collect();
    for part in &parts[..parts.len().saturating_sub(1)] {
        path.push(part);
        shown.push(part);
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => {
                return Err(invalid(format!(
                    "{}: placed below {}, which is not a directory (a file or a link)",
                    relative.display(),
                    shown.display()
                )))
            }
            Err(_) => {
                budget.entry(&shown)?;
                fs::create_dir(&path).map_err(|e| VyrError::io(&path, e))?;
                dirs.push((path.clone(), 0o755));
            }
        }
    }
    Ok(())
}

fn refuse_existing(target: &Path, relative: &Path) -> Result<()> {
    match fs::symlink_metadata(target) {
        Ok(_) => Err(duplicate(relative)),
        Err(_) => Ok(()),
    }
}

fn duplicate(relative: &Path) -> VyrError {
    invalid(format!("{} appears twice in the content", relative.display()))
}

/// Group/other write and special bits are dropped; the owner can always read a file.
fn file_mode(mode: u32) -> u32 {
    (mode & 0o755) | 0o400
}

/// Group/other write and special bits are dropped; the owner can always list a directory.
fn dir_mode(mode: u32) -> u32 {
    (mode & 0o755) | 0o500
}

/// Creates a new file; `create_new` (O_EXCL) never opens through an existing link.
fn create_file(target: &Path, mode: u32) -> Result<File> {
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(file_mode(mode))
        .open(target)
        .map_err(|e| VyrError::io(target, e))?;
    // The umask may have cleared bits the content asked for.
    fs::set_permissions(target, fs::Permissions::from_mode(file_mode(mode))).map_err(|e| VyrError::io(target, e))?;
    Ok(file)
}

/// Directory modes are set last, deepest first: a read-only directory must still be filled.
fn set_dir_modes(mut dirs: Vec<(PathBuf, u32)>) -> Result<()> {
    dirs.sort_by_key(|(path, _)| std::cmp::Reverse(path.components().count()));
    for (path, mode) in dirs {
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).map_err(|e| VyrError::io(&path, e))?;
    }
    Ok(())
}

/// Copies a host directory in, with the same rules as an archive (a file with several hard
/// links is copied once per name).
fn copy_in(source: &Path, root: &Path, limits: FillLimits) -> Result<Filled> {
    let mut budget = Budget { limits, filled: Filled::default() };
    let mut dirs = Vec::new();
    copy_level(source, root, Path::new(""), &mut budget, &mut dirs)?;
    set_dir_modes(dirs)?;
    Ok(budget.filled)
}

fn copy_level(
    from: &Path,
    to: &Path,
    relative: &Path,
    budget: &mut Budget,
    dirs: &mut Vec<(PathBuf, u32)>,
) -> Result<()> {
    let mut names: Vec<_> = fs::read_dir(from)
        .map_err(|e| VyrError::io(from, e))?
        .map(|entry| entry.map(|e| e.file_name()).map_err(|e| VyrError::io(from, e)))
        .collect::<Result<_>>()?;
    names.sort();
    for name in names {
        let source = from.join(&name);
        let target = to.join(&name);
        let shown = relative.join(&name);
        budget.entry(&shown)?;
        let meta = fs::symlink_metadata(&source).map_err(|e| VyrError::io(&source, e))?;
        let kind = meta.file_type();
        let mode = meta.permissions().mode();
        if kind.is_symlink() {
            let text = fs::read_link(&source).map_err(|e| VyrError::io(&source, e))?;
            check_link(&shown, text.as_os_str().as_bytes())?;
            symlink(&text, &target).map_err(|e| VyrError::io(&target, e))?;
        } else if kind.is_dir() {
            fs::create_dir(&target).map_err(|e| VyrError::io(&target, e))?;
            dirs.push((target.clone(), dir_mode(mode)));
            copy_level(&source, &target, &shown, budget, dirs)?;
        } else if kind.is_file() {
            budget.bytes(meta.len(), &shown)?;
            let mut input = File::open(&source).map_err(|e| VyrError::io(&source, e))?;
            let mut output = create_file(&target, mode)?;
            // Bounded by the cap even if the file grows while it is copied.
            let left = budget.limits.max_bytes - (budget.filled.bytes - meta.len());
            let copied =
                io::copy(&mut (&mut input).take(left + 1), &mut output).map_err(|e| VyrError::io(&target, e))?;
            if copied > meta.len() {
                budget.bytes(copied - meta.len(), &shown)?;
            }
        } else {
            return Err(invalid(format!(
                "{}: not a file, directory or link; a state holds only those (no device nodes, FIFOs or sockets)",
                shown.display()
            )));
        }
    }
    Ok(())
}
