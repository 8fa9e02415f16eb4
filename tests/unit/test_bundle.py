"""Artifact bundles: export from one store, import into another, and every way a bundle can be
damaged or forged is refused with a clear error."""

from __future__ import annotations

import dataclasses
import io
import json
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from vyr.bundle import (
    INDEX_NAME,
    BundledArtifact,
    export_bundle,
    import_bundle,
    read_bundle,
    write_bundle,
)
from vyr.cli import cli
from vyr.errors import InvalidBundle, InvalidSignature, UntrustedSigner
from vyr.runtime import Runtime


@pytest.fixture()
def bundle(node, put_guest, tmp_path: Path) -> tuple[Path, list[str]]:  # type: ignore[no-untyped-def]
    digests = [put_guest("hello"), put_guest("anomaly")]
    out = tmp_path / "site.vyrbundle"
    export_bundle(node, digests, out)
    return out, digests


@pytest.fixture()
def other(tmp_path: Path, key: Path):  # type: ignore[no-untyped-def]
    """A second node that trusts the same signer."""
    runtime = Runtime(tmp_path / "other-home")
    runtime.trust_add(Path(f"{key}.pub").read_text())
    yield runtime
    runtime.close()


def _rewrite(source: Path, target: Path, change) -> None:  # type: ignore[no-untyped-def]
    """Copies a bundle's tar entries, letting `change(name, data)` alter (or drop: None) each."""
    with tarfile.open(source) as tar_in, tarfile.open(target, "w") as tar_out:
        for member in tar_in.getmembers():
            handle = tar_in.extractfile(member)
            assert handle is not None
            data = change(member.name, handle.read())
            if data is not None:
                info = tarfile.TarInfo(member.name)
                info.size = len(data)
                tar_out.addfile(info, io.BytesIO(data))


def _flip_last_byte(data: bytes) -> bytes:
    return data[:-1] + bytes([data[-1] ^ 1])


def test_round_trip_same_digests_and_parts(node, other, bundle) -> None:  # type: ignore[no-untyped-def]
    path, digests = bundle
    stored = import_bundle(other, path)
    assert sorted(a.digest for a in stored) == sorted(digests)
    for digest in digests:
        assert other.artifact_parts(digest) == node.artifact_parts(digest)
    hello = next(a.digest for a in stored if a.name == "hello")
    assert other.run(hello, b"moved").stdout == b"MOVED"


def test_export_is_reproducible_and_deduplicates(node, bundle, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path, digests = bundle
    again = tmp_path / "again.vyrbundle"
    entries = export_bundle(node, [*digests, digests[0]], again)
    assert len(entries) == 2
    assert again.read_bytes() == path.read_bytes()
    with tarfile.open(path) as tar:
        names = tar.getnames()
    assert names[0] == INDEX_NAME and len(names) == 7


def test_import_again_is_idempotent(other, bundle) -> None:  # type: ignore[no-untyped-def]
    path, digests = bundle
    import_bundle(other, path)
    assert sorted(a.digest for a in import_bundle(other, path)) == sorted(digests)
    assert len(other.list_artifacts()) == 2


def test_untrusted_signer_is_refused_on_import(bundle, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path, _ = bundle
    with Runtime(tmp_path / "stranger") as stranger, pytest.raises(UntrustedSigner) as caught:
        import_bundle(stranger, path)
    assert "from bundle" in str(caught.value) and caught.value.hint
    assert stranger.list_artifacts() == []


def test_altered_entry_is_caught_by_the_index(other, bundle, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path, _ = bundle
    tampered = tmp_path / "tampered.vyrbundle"
    _rewrite(
        path,
        tampered,
        lambda name, data: _flip_last_byte(data) if name.endswith("module.wasm") else data,
    )
    with pytest.raises(InvalidBundle, match="corrupt or was altered"):
        import_bundle(other, tampered)
    assert other.list_artifacts() == []


def _forge(path: Path, target: Path, **changes: object) -> None:
    """A consistent forgery: parts changed and the index rewritten to match them."""
    entries = [
        dataclasses.replace(e, **{k: v(getattr(e, k)) for k, v in changes.items()})
        for e in read_bundle(path)
    ]  # type: ignore[operator]
    write_bundle(entries, target)


def test_forged_module_with_rewritten_index_fails_the_digest(other, bundle, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path, _ = bundle
    forged = tmp_path / "forged.vyrbundle"
    _forge(path, forged, module=_flip_last_byte)
    with pytest.raises(InvalidBundle, match="does not hash to that digest"):
        import_bundle(other, forged)


def test_forged_signature_is_reverified_by_the_node(other, bundle, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path, _ = bundle
    forged = tmp_path / "forged.vyrbundle"
    _forge(path, forged, signature=_flip_last_byte)
    with pytest.raises(InvalidSignature):
        import_bundle(other, forged)
    assert other.list_artifacts() == []


def test_forged_manifest_is_reverified_by_the_node(other, bundle, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path, _ = bundle
    forged = tmp_path / "forged.vyrbundle"
    _forge(
        path,
        forged,
        manifest=lambda m: m.replace(b'"hello"', b'"hellp"').replace(b'"anomaly"', b'"anomalx"'),
    )
    with pytest.raises(InvalidSignature):
        import_bundle(other, forged)


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda raw: raw[: len(raw) // 2], "truncated|corrupt|missing"),
        (lambda raw: b"not a tar archive at all" * 40, "not a VYR bundle"),
        (lambda raw: b"", "not a VYR bundle"),
    ],
    ids=["truncated", "garbage", "empty"],
)
def test_damaged_file_is_refused(other, bundle, tmp_path: Path, damage, message: str) -> None:  # type: ignore[no-untyped-def]
    path, _ = bundle
    damaged = tmp_path / "damaged.vyrbundle"
    damaged.write_bytes(damage(path.read_bytes()))
    with pytest.raises(InvalidBundle, match=message):
        import_bundle(other, damaged)


def test_a_file_that_is_not_a_bundle_is_named_for_what_it_is(guests: Path, tmp_path: Path) -> None:
    cases = {
        guests / "hello.wasm": ("a WebAssembly module", "vyr artifact put MODULE"),
        tmp_path: ("a directory", "vyr artifact export"),
    }
    archive = tmp_path / "plain.tar"
    with tarfile.open(archive, "w") as tar:
        info = tarfile.TarInfo("readme.txt")
        tar.addfile(info, io.BytesIO(b""))
    cases[archive] = ("a tar archive without vyr-bundle.json", "vyr artifact export")
    for path, (what, hint) in cases.items():
        with pytest.raises(InvalidBundle) as raised:
            read_bundle(path)
        assert str(raised.value) == f"{path} is not a VYR bundle: it is {what}"
        assert raised.value.hint is not None and hint in raised.value.hint
        assert "ReadError" not in str(raised.value) and "export it again" not in raised.value.hint


def test_structure_errors(bundle, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path, _ = bundle
    cases = {
        "no index": (
            lambda name, data: None if name == INDEX_NAME else data,
            "without vyr-bundle.json",
        ),
        "missing part": (
            lambda name, data: None if name.endswith("/signature") else data,
            "missing",
        ),
        "bad json": (lambda name, data: b"{" if name == INDEX_NAME else data, "not valid JSON"),
        "other version": (
            lambda name, data: (
                json.dumps({**json.loads(data), "version": 9}).encode()
                if name == INDEX_NAME
                else data
            ),
            "bundle version 9",
        ),
    }
    for label, (change, message) in cases.items():
        target = tmp_path / f"{label.replace(' ', '-')}.vyrbundle"
        _rewrite(path, target, change)
        with pytest.raises(InvalidBundle, match=message):
            read_bundle(target)


def test_unlisted_and_non_regular_entries_are_refused(bundle, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path, _ = bundle
    extra = tmp_path / "extra.vyrbundle"
    _rewrite(path, extra, lambda name, data: data)
    with tarfile.open(extra, "a") as tar:
        info = tarfile.TarInfo("../../etc/evil")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(InvalidBundle, match="not listed in the index"):
        read_bundle(extra)
    linked = tmp_path / "link.vyrbundle"
    _rewrite(path, linked, lambda name, data: data)
    with tarfile.open(linked, "a") as tar:
        link = tarfile.TarInfo("artifacts/link")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link)
    with pytest.raises(InvalidBundle, match="not a regular file"):
        read_bundle(linked)


def test_export_of_nothing_or_unknown(node, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from vyr.errors import ArtifactNotFound

    with pytest.raises(InvalidBundle):
        export_bundle(node, [], tmp_path / "empty.vyrbundle")
    with pytest.raises(ArtifactNotFound):
        export_bundle(node, ["sha256:" + "0" * 64], tmp_path / "unknown.vyrbundle")
    assert list(tmp_path.glob("*.vyrbundle*")) == []


def test_bundled_artifact_is_plain_data() -> None:
    entry = BundledArtifact("sha256:" + "a" * 64, "x", b"m", b"{}", b"s")
    assert dataclasses.asdict(entry)["name"] == "x"


def test_cli_export_then_import(key: Path, guests: Path, tmp_path: Path) -> None:
    from vyr.keys import sign_module

    module = tmp_path / "hello.wasm"
    module.write_bytes((guests / "hello.wasm").read_bytes())
    sign_module(module, key)
    runner = CliRunner()
    source, target = str(tmp_path / "source"), str(tmp_path / "target")
    for home in (source, target):
        assert runner.invoke(cli, ["--home", home, "trust", "add", f"{key}.pub"]).exit_code == 0
    digest = runner.invoke(cli, ["--home", source, "artifact", "put", str(module)]).stdout.strip()
    out = tmp_path / "b.vyrbundle"
    exported = runner.invoke(
        cli, ["--home", source, "artifact", "export", digest, "--out", str(out)]
    )
    assert exported.exit_code == 0, exported.output
    assert exported.stdout.strip() == digest
    imported = runner.invoke(cli, ["--home", target, "artifact", "import", str(out), "--json"])
    assert imported.exit_code == 0, imported.output
    assert [a["digest"] for a in json.loads(imported.stdout)] == [digest]

    out.write_bytes(out.read_bytes()[:700])
    broken = runner.invoke(cli, ["--home", target, "artifact", "import", str(out)])
    assert broken.exit_code == 1
    assert "error:" in broken.stderr and "hint:" in broken.stderr


def test_cli_export_refuses_an_endpoint(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        cli,
        [
            "--endpoint",
            "unix:/nonexistent.sock",
            "artifact",
            "export",
            "sha256:" + "0" * 64,
            "--out",
            str(tmp_path / "b"),
        ],
    )
    assert result.exit_code == 1
    assert "cannot export from a daemon" in result.stderr
    help_text = runner.invoke(cli, ["artifact", "export", "--help"]).stdout
    assert "Embedded only" in help_text
