//! State content: hostile archives and directories are refused and leave nothing behind;
//! packing and unpacking round-trip; write-back mirrors a tree without leaving its directory.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::Path;

use vyr_core::export::{pack_tar, write_tar_file};
use vyr_core::fill::{fill, unpack_tar, FillLimits};
use vyr_core::tree_digest::tree_digest;
use vyr_core::write_back::write_back;
use vyr_core::VyrError;

const LIMITS: FillLimits = FillLimits { max_bytes: 1 << 20, max_files: 100 };

/// One raw tar entry: the name (and link) bytes are written as given, unchecked.
struct Raw<'a> {
    kind: tar::EntryType,
    name: &'a [u8],
    link: &'a [u8],
    data: &'a [u8],
}

fn raw(kind: tar::EntryType, name: &'static str) -> Raw<'static> {
    Raw { kind, name: name.as_bytes(), link: b"", data: b"" }
}

fn archive(entries: &[Raw<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    for entry in entries {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(entry.kind);
        header.set_mode(0o644);
        header.set_size(entry.data.len() as u64);
        let gnu = header.as_gnu_mut().expect("gnu");
        gnu.name[..entry.name.len()].copy_from_slice(entry.name);
        gnu.linkname[..entry.link.len()].copy_from_slice(entry.link);
        header.set_cksum();
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(entry.data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}

/// Unpacks `bytes` into `parent/state` and checks the error; `parent` must then be empty.
fn refused(bytes: &[u8], limits: FillLimits) -> VyrError {
    let parent = tempfile::tempdir().expect("tempdir");
    let error = unpack_tar(bytes, &parent.path().join("state"), limits).expect_err("must be refused");
    assert_nothing_left(parent.path());
    error
}

fn assert_nothing_left(parent: &Path) {
    let left: Vec<_> = fs::read_dir(parent).expect("list").flatten().map(|e| e.file_name()).collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

fn invalid_archive(error: VyrError, needle: &str) {
    match error {
        VyrError::InvalidArchive(message) => assert!(message.contains(needle), "{message}"),
        other => panic!("expected InvalidArchive, got {other:?}"),
    }
}

fn capacity(error: VyrError) {
    assert!(matches!(error, VyrError::Capacity(_)), "expected Capacity, got {error:?}");
}

#[test]
fn traversal_is_refused() {
    let file = Raw { kind: tar::EntryType::Regular, name: b"ok.txt", link: b"", data: b"fine" };
    let evil = Raw { kind: tar::EntryType::Regular, name: b"sub/../../evil", link: b"", data: b"x" };
    invalid_archive(refused(&archive(&[file, evil]), LIMITS), "climbs out");
}

#[test]
fn absolute_names_are_refused() {
    invalid_archive(refused(&archive(&[raw(tar::EntryType::Regular, "/tmp/evil")]), LIMITS), "absolute");
}

#[test]
fn escaping_symlinks_are_refused() {
    // From sub/, one `..` is the root (fine), two are outside.
    for (link, why) in
        [(&b"../../outside"[..], "climbs above"), (b"/etc/passwd", "absolute"), (b"d/../../x", "after a name")]
    {
        let dir = raw(tar::EntryType::Directory, "sub/");
        let entry = Raw { kind: tar::EntryType::Symlink, name: b"sub/link", link, data: b"" };
        invalid_archive(refused(&archive(&[dir, entry]), LIMITS), why);
    }
}

#[test]
fn symlinks_inside_are_kept() {
    let parent = tempfile::tempdir().expect("tempdir");
    let into = parent.path().join("state");
    let file = Raw { kind: tar::EntryType::Regular, name: b"a.txt", link: b"", data: b"alpha" };
    let up = Raw { kind: tar::EntryType::Symlink, name: b"sub/up", link: b"../a.txt", data: b"" };
    let here = Raw { kind: tar::EntryType::Symlink, name: b"here", link: b"./a.txt", data: b"" };
    unpack_tar(&archive(&[file, up, here])[..], &into, LIMITS).expect("unpack");
    assert_eq!(fs::read_link(into.join("sub/up")).expect("link").as_os_str(), "../a.txt");
    assert_eq!(fs::read(into.join("sub/up")).expect("read"), b"alpha");
}

#[test]
fn writing_through_a_symlink_is_refused() {
    let link = Raw { kind: tar::EntryType::Symlink, name: b"sub", link: b".", data: b"" };
    let below = Raw { kind: tar::EntryType::Regular, name: b"sub/x", link: b"", data: b"x" };
    invalid_archive(refused(&archive(&[link, below]), LIMITS), "not a directory");
}

#[test]
fn escaping_hard_links_are_refused() {
    let link = Raw { kind: tar::EntryType::Link, name: b"hl", link: b"../../etc/passwd", data: b"" };
    invalid_archive(refused(&archive(&[link]), LIMITS), "climbs out");
    let later = Raw { kind: tar::EntryType::Link, name: b"hl", link: b"later.txt", data: b"" };
    let file = Raw { kind: tar::EntryType::Regular, name: b"later.txt", link: b"", data: b"x" };
    invalid_archive(refused(&archive(&[later, file]), LIMITS), "not a file earlier");
}

#[test]
fn hard_links_to_earlier_files_are_copies() {
    let parent = tempfile::tempdir().expect("tempdir");
    let into = parent.path().join("state");
    let file = Raw { kind: tar::EntryType::Regular, name: b"a.txt", link: b"", data: b"alpha" };
    let link = Raw { kind: tar::EntryType::Link, name: b"b.txt", link: b"a.txt", data: b"" };
    let filled = unpack_tar(&archive(&[file, link])[..], &into, LIMITS).expect("unpack");
    assert_eq!(fs::read(into.join("b.txt")).expect("read"), b"alpha");
    assert_eq!((filled.files, filled.bytes), (2, 10));
}

#[test]
fn device_nodes_and_fifos_are_refused() {
    invalid_archive(refused(&archive(&[raw(tar::EntryType::Char, "null")]), LIMITS), "character device");
    invalid_archive(refused(&archive(&[raw(tar::EntryType::Block, "sda")]), LIMITS), "block device");
    invalid_archive(refused(&archive(&[raw(tar::EntryType::Fifo, "pipe")]), LIMITS), "FIFO");
}

#[test]
fn duplicates_are_refused() {
    let first = raw(tar::EntryType::Regular, "a");
    let second = raw(tar::EntryType::Regular, "a");
    invalid_archive(refused(&archive(&[first, second]), LIMITS), "twice");
}

#[test]
fn too_many_files_are_refused() {
    let names: Vec<String> = (0..11).map(|i| format!("f{i}")).collect();
    let entries: Vec<Raw<'_>> =
        names.iter().map(|n| Raw { kind: tar::EntryType::Regular, name: n.as_bytes(), link: b"", data: b"" }).collect();
    capacity(refused(&archive(&entries), FillLimits { max_bytes: 1 << 20, max_files: 10 }));
}

#[test]
fn too_many_bytes_are_refused() {
    let data = vec![7u8; 600 << 10];
    let a = Raw { kind: tar::EntryType::Regular, name: b"a", link: b"", data: &data };
    let b = Raw { kind: tar::EntryType::Regular, name: b"b", link: b"", data: &data };
    capacity(refused(&archive(&[a, b]), LIMITS));
}

#[test]
fn a_gzip_bomb_is_refused_without_inflating_it() {
    // 64 MiB of zeros in one file, a few hundred KiB compressed, against a 1 MiB cap: refused
    // at the header, before the content is inflated.
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let mut header = tar::Header::new_gnu();
    header.set_path("zeros").expect("path");
    header.set_size(64 << 20);
    header.set_mode(0o644);
    header.set_cksum();
    encoder.write_all(header.as_bytes()).expect("write");
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        encoder.write_all(&zeros).expect("write");
    }
    encoder.write_all(&[0u8; 1024]).expect("write");
    let bomb = encoder.finish().expect("finish");
    assert!(bomb.len() < 1 << 20);
    capacity(refused(&bomb, LIMITS));
    // The same content spread over many small entries is stopped by the stream cap.
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let chunk = vec![0u8; 64 << 10];
    for i in 0..1024 {
        let mut header = tar::Header::new_gnu();
        header.set_path(format!("z{i}")).expect("path");
        header.set_size(chunk.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        encoder.write_all(header.as_bytes()).expect("write");
        encoder.write_all(&chunk).expect("write");
    }
    let bomb = encoder.finish().expect("finish");
    capacity(refused(&bomb, FillLimits { max_bytes: 1 << 20, max_files: 100_000 }));
}

#[test]
fn not_a_tar_is_refused() {
    invalid_archive(refused(&[b'x'; 2048], LIMITS), "tar");
}

#[test]
fn a_hostile_directory_is_refused() {
    let source = tempfile::tempdir().expect("tempdir");
    fs::write(source.path().join("ok"), b"fine").expect("write");
    symlink("../../etc/passwd", source.path().join("escape")).expect("symlink");
    let parent = tempfile::tempdir().expect("tempdir");
    invalid_archive(fill(source.path(), &parent.path().join("state"), LIMITS).expect_err("refused"), "climbs above");
    assert_nothing_left(parent.path());

    fs::remove_file(source.path().join("escape")).expect("rm");
    let status = std::process::Command::new("mkfifo").arg(source.path().join("pipe")).status().expect("mkfifo");
    assert!(status.success());
    invalid_archive(fill(source.path(), &parent.path().join("state"), LIMITS).expect_err("refused"), "FIFO");
    assert_nothing_left(parent.path());
}

#[test]
fn a_non_empty_destination_is_refused() {
    let parent = tempfile::tempdir().expect("tempdir");
    fs::create_dir(parent.path().join("state")).expect("mkdir");
    fs::write(parent.path().join("state/old"), b"x").expect("write");
    let error = unpack_tar(&archive(&[raw(tar::EntryType::Regular, "a")])[..], &parent.path().join("state"), LIMITS)
        .expect_err("refused");
    assert!(matches!(error, VyrError::InvalidArgument(ref m) if m.contains("not empty")), "{error:?}");
}

fn sample_tree(root: &Path) {
    fs::write(root.join("a.txt"), b"alpha\n").expect("write");
    fs::create_dir(root.join("bin")).expect("mkdir");
    fs::write(root.join("bin/run.sh"), b"#!/bin/sh\necho hi\n").expect("write");
    fs::set_permissions(root.join("bin/run.sh"), fs::Permissions::from_mode(0o755)).expect("chmod");
    symlink("a.txt", root.join("link")).expect("symlink");
    symlink("../a.txt", root.join("bin/up")).expect("symlink");
    fs::create_dir(root.join("ro")).expect("mkdir");
    fs::write(root.join("ro/b.bin"), (0..=255).collect::<Vec<u8>>()).expect("write");
    fs::set_permissions(root.join("ro/b.bin"), fs::Permissions::from_mode(0o400)).expect("chmod");
    fs::set_permissions(root.join("ro"), fs::Permissions::from_mode(0o500)).expect("chmod");
    let long = "d".repeat(120);
    fs::create_dir(root.join(&long)).expect("mkdir");
    fs::write(root.join(&long).join("f".repeat(120)), b"long").expect("write");
}

#[test]
fn pack_and_unpack_round_trip_content_modes_and_symlinks() {
    let source = tempfile::tempdir().expect("tempdir");
    sample_tree(source.path());
    let digest = tree_digest(source.path()).expect("digest");
    let work = tempfile::tempdir().expect("tempdir");
    let out = work.path().join("state.tar");
    write_tar_file(source.path(), &out).expect("pack");
    let into = work.path().join("unpacked");
    let filled = fill(&out, &into, LIMITS).expect("unpack");
    assert_eq!(tree_digest(&into).expect("digest"), digest);
    assert_eq!(filled.files, 9);
    assert_eq!(fs::read_link(into.join("bin/up")).expect("link").as_os_str(), "../a.txt");
    assert_eq!(fs::symlink_metadata(into.join("bin/run.sh")).expect("meta").permissions().mode() & 0o700, 0o700);
    assert_eq!(fs::symlink_metadata(into.join("ro")).expect("meta").permissions().mode() & 0o700, 0o500);

    // Gzip too, and a directory source gives the same tree.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    pack_tar(source.path(), &mut gz).expect("pack");
    let gz_path = work.path().join("state.tar.gz");
    fs::write(&gz_path, gz.finish().expect("gzip")).expect("write");
    fill(&gz_path, &work.path().join("from-gz"), LIMITS).expect("unpack gz");
    assert_eq!(tree_digest(&work.path().join("from-gz")).expect("digest"), digest);
    fill(source.path(), &work.path().join("from-dir"), LIMITS).expect("copy dir");
    assert_eq!(tree_digest(&work.path().join("from-dir")).expect("digest"), digest);
}

#[test]
fn packing_is_deterministic() {
    let first = tempfile::tempdir().expect("tempdir");
    let second = tempfile::tempdir().expect("tempdir");
    sample_tree(first.path());
    sample_tree(second.path());
    fs::set_permissions(second.path().join("a.txt"), fs::Permissions::from_mode(0o600)).expect("chmod");
    let (mut a, mut b) = (Vec::new(), Vec::new());
    pack_tar(first.path(), &mut a).expect("pack");
    pack_tar(second.path(), &mut b).expect("pack");
    // Group/other bits and mtimes differ; the archives do not.
    assert_eq!(a, b);
}

#[test]
fn write_back_mirrors_and_stays_inside() {
    let outside = tempfile::tempdir().expect("tempdir");
    fs::write(outside.path().join("secret"), b"keep").expect("write");
    let host = tempfile::tempdir().expect("tempdir");
    fs::write(host.path().join("same.txt"), b"same").expect("write");
    fs::write(host.path().join("changed.txt"), b"old").expect("write");
    fs::write(host.path().join("removed.txt"), b"gone").expect("write");
    fs::create_dir(host.path().join("olddir")).expect("mkdir");
    fs::write(host.path().join("olddir/x"), b"x").expect("write");
    // A link in the host directory pointing outside: replaced, never written through.
    symlink(outside.path().join("secret"), host.path().join("result.txt")).expect("symlink");
    symlink(outside.path(), host.path().join("out")).expect("symlink");

    let committed = tempfile::tempdir().expect("tempdir");
    fs::write(committed.path().join("same.txt"), b"same").expect("write");
    fs::write(committed.path().join("changed.txt"), b"new content").expect("write");
    fs::write(committed.path().join("result.txt"), b"result").expect("write");
    fs::create_dir(committed.path().join("out")).expect("mkdir");
    fs::write(committed.path().join("out/secret"), b"overwritten?").expect("write");
    symlink("same.txt", committed.path().join("alias")).expect("symlink");
    let same_inode = fs::metadata(host.path().join("same.txt")).expect("meta").ino();

    write_back(committed.path(), host.path()).expect("write back");
    assert_eq!(tree_digest(host.path()).expect("digest"), tree_digest(committed.path()).expect("digest"));
    assert_eq!(fs::read(outside.path().join("secret")).expect("read"), b"keep");
    assert_eq!(fs::read_dir(outside.path()).expect("list").count(), 1);
    assert!(!fs::symlink_metadata(host.path().join("result.txt")).expect("meta").is_symlink());
    // An unchanged file is left alone (same inode); changed ones were renamed into place.
    assert_eq!(fs::metadata(host.path().join("same.txt")).expect("meta").ino(), same_inode);
    let leftovers: Vec<_> = fs::read_dir(host.path())
        .expect("list")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn a_registry_state_keeps_a_digest_per_version_and_symlinks_in_working_copies() {
    use std::time::Duration;
    use vyr_core::state::{Mode, StateRegistry};
    use vyr_core::tree_digest::EMPTY_TREE;

    let base = tempfile::tempdir().expect("tempdir");
    let registry = StateRegistry::open(base.path(), Duration::from_secs(30), 1 << 20).expect("open");
    assert_eq!(registry.create("empty", "ephemeral", None).expect("create").digest, EMPTY_TREE);
    let source = tempfile::tempdir().expect("tempdir");
    sample_tree(source.path());
    let info = registry.create("data", "ephemeral", Some(source.path())).expect("create");
    assert_eq!(info.digest, tree_digest(source.path()).expect("digest"));
    assert_eq!(info.files, 9);

    let ticket = registry.acquire("data", Mode::Rw, None).expect("acquire");
    let (work, before) = registry.open_for(&ticket).expect("open");
    assert_eq!(before, info.digest);
    assert_eq!(fs::read_link(work.join("bin/up")).expect("link").as_os_str(), "../a.txt");
    assert_eq!(fs::symlink_metadata(work.join("ro")).expect("meta").permissions().mode() & 0o777, 0o500);
    fs::write(work.join("a.txt"), b"changed\n").expect("write");
    let after = registry.commit(&ticket, &work).expect("commit");
    registry.release(&ticket);
    assert_ne!(after, before);
    let listed = registry.list().into_iter().find(|s| s.name == "data").expect("listed");
    assert_eq!(listed.digest, after);

    let out = tempfile::tempdir().expect("tempdir");
    let reader = registry.acquire("data", Mode::Ro, None).expect("acquire");
    let exported = registry.export(&reader, &out.path().join("copy")).expect("export");
    registry.release(&reader);
    assert_eq!(exported.digest, after);
    assert_eq!(tree_digest(&out.path().join("copy")).expect("digest"), after);
    assert_eq!(fs::read_link(out.path().join("copy/link")).expect("link").as_os_str(), "a.txt");
}

#[test]
fn a_refused_fill_creates_no_state() {
    use std::time::Duration;
    use vyr_core::state::StateRegistry;

    let base = tempfile::tempdir().expect("tempdir");
    let registry = StateRegistry::open(base.path(), Duration::from_secs(30), 1 << 20).expect("open");
    let source = tempfile::tempdir().expect("tempdir");
    let evil = source.path().join("evil.tar");
    fs::write(&evil, archive(&[raw(tar::EntryType::Regular, "/etc/evil")])).expect("write");
    let error = registry.create("evil", "ephemeral", Some(&evil)).expect_err("refused");
    invalid_archive(error, "absolute");
    assert!(registry.list().is_empty());
    let (registry_dir,) = {
        let dirs: Vec<_> = fs::read_dir(base.path()).expect("list").flatten().map(|e| e.path()).collect();
        assert_eq!(dirs.len(), 1);
        (dirs[0].clone(),)
    };
    assert_nothing_left(&registry_dir);
}
