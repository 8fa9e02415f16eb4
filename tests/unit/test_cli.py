"""The `vyr` CLI as a user runs it: exact command shapes, output streams and exit codes."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture()
def vyr(tmp_path: Path):  # type: ignore[no-untyped-def]
    """vyr(*args, input=b"") -> CompletedProcess, with VYR_HOME in tmp_path."""
    env = {**os.environ, "VYR_HOME": str(tmp_path / "home"), "NO_COLOR": "1"}
    env.pop("VYR_ENDPOINT", None)

    def run(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [sys.executable, "-m", "vyr.cli", *args],
            input=stdin,
            capture_output=True,
            env=env,
            timeout=120,
        )

    return run


@pytest.fixture()
def signed_hello(vyr, guests: Path, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    key = tmp_path / "dev.key"
    assert vyr("keygen", str(key)).returncode == 0
    assert vyr("trust", "add", f"{key}.pub").returncode == 0
    module = tmp_path / "hello.wasm"
    shutil.copy(guests / "hello.wasm", module)
    assert vyr("sign", str(module), "--key", str(key)).returncode == 0
    return module


def test_keygen_writes_a_private_key_only_its_owner_can_read(vyr, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = vyr("keygen", str(tmp_path / "k"))
    assert result.returncode == 0
    assert stat.S_IMODE((tmp_path / "k").stat().st_mode) == 0o600
    assert (tmp_path / "k.pub").read_text().strip()
    again = vyr("keygen", str(tmp_path / "k"))
    assert again.returncode == 1
    assert again.stderr.startswith(b"error: ")


def test_trust_ls_and_rm(vyr, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    vyr("keygen", str(tmp_path / "k"))
    key_id = vyr("trust", "add", str(tmp_path / "k.pub")).stdout.decode().strip()
    listed = json.loads(vyr("trust", "ls", "--json").stdout)
    assert [entry["key_id"] for entry in listed] == [key_id]
    assert vyr("trust", "rm", key_id).returncode == 0
    assert json.loads(vyr("trust", "ls", "--json").stdout) == []


def test_sign_writes_manifest_and_signature(vyr, signed_hello: Path) -> None:  # type: ignore[no-untyped-def]
    manifest = json.loads(Path(f"{signed_hello}.manifest.json").read_bytes())
    assert manifest["name"] == "hello"
    assert manifest["abi"] == "wasi_snapshot_preview1/command"
    assert len(Path(f"{signed_hello}.sig").read_text().strip()) == 128


def test_artifact_put_prints_the_digest(vyr, signed_hello: Path) -> None:  # type: ignore[no-untyped-def]
    import hashlib

    result = vyr("artifact", "put", str(signed_hello))
    expected = "sha256:" + hashlib.sha256(signed_hello.read_bytes()).hexdigest()
    assert result.stdout.decode().strip() == expected
    assert expected in vyr("artifact", "ls").stdout.decode()


def test_run_relays_output_and_exit_code(vyr, signed_hello: Path) -> None:  # type: ignore[no-untyped-def]
    ok = vyr("run", str(signed_hello), "--input", "-", stdin=b"abc")
    assert (ok.returncode, ok.stdout, ok.stderr) == (0, b"ABC", b"hello: 3 bytes\n")
    digest = vyr("artifact", "put", str(signed_hello)).stdout.decode().strip()
    failed = vyr("run", digest, "--", "3")
    assert failed.returncode == 3


def test_run_json(vyr, signed_hello: Path) -> None:  # type: ignore[no-untyped-def]
    result = vyr("run", str(signed_hello), "--input", "-", "--json", stdin=b"x")
    data = json.loads(result.stdout)
    assert data["status"] == "succeeded" and data["stdout"] == "X" and data["exit_code"] == 0


def test_deadline_exits_124(vyr, guests: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    key = tmp_path / "k"
    vyr("keygen", str(key))
    vyr("trust", "add", f"{key}.pub")
    module = tmp_path / "anomaly.wasm"
    shutil.copy(guests / "anomaly.wasm", module)
    vyr("sign", str(module), "--key", str(key))
    result = vyr("run", str(module), "--timeout", "0.05", "--", "--count", "2000000000")
    assert result.returncode == 124
    assert b"error: deadline" in result.stderr


def test_vyr_side_failures_exit_125(vyr, signed_hello: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    trapped = vyr("run", str(signed_hello), "--memory", "64K")
    assert trapped.returncode == 125
    assert b"error: task trapped" in trapped.stderr
    unsigned = tmp_path / "unsigned.wasm"
    shutil.copy(signed_hello, unsigned)
    missing = vyr("run", str(unsigned))
    assert missing.returncode == 125
    assert b"vyr sign" in missing.stderr
    # An unknown REF is the command line's mistake, like a missing file: a usage error.
    unknown = vyr("run", "sha256:" + "a" * 64)
    assert unknown.returncode == 2 and b"hint:" in unknown.stderr


def test_bad_input_is_an_error_not_a_traceback(vyr, signed_hello: Path) -> None:  # type: ignore[no-untyped-def]
    for args in (
        ("run", str(signed_hello), "--memory", "lots"),
        ("run", "not-a-file"),
        ("run", str(signed_hello), "--state", "nomode"),
        ("trust", "rm", "sha256:zz"),
        ("run", str(signed_hello), "--input", "/nonexistent"),
    ):
        result = vyr(*args)
        assert result.returncode != 0, args
        assert b"Traceback" not in result.stderr, args
        assert b"rror" in result.stderr, args


def test_help_lists_commands_without_loading_the_extension() -> None:
    code = "import sys; from vyr.cli import cli; print('vyr._core' in sys.modules)"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "False"
    result = subprocess.run(
        [sys.executable, "-m", "vyr.cli", "--help"], capture_output=True, text=True
    )
    for command in ("keygen", "sign", "trust", "artifact", "run", "state"):
        assert command in result.stdout


# -- value types and error wording (in-process) ------------------------------------------------
@pytest.mark.parametrize(
    "make, text, expected",
    [
        ("seconds", "0.001", 0.001),
        ("seconds", "30", 30.0),
        ("size", "64M", 64 << 20),
        ("size", "64KiB", 64 << 10),
        ("size", str(2**64 - 1), 2**64 - 1),
        ("count", str(2**64 - 1), 2**64 - 1),
        ("count", "1", 1),
    ],
)
def test_value_types_accept_their_range(make: str, text: str, expected: float) -> None:
    from vyr.cli._values import Count, Seconds, Size

    kind = {"seconds": Seconds(), "size": Size(), "count": Count()}[make]
    assert kind.convert(text, None, None) == expected


@pytest.mark.parametrize(
    "make, text",
    [
        ("seconds", "nan"),
        ("seconds", "-inf"),
        ("seconds", "0.0009"),
        ("seconds", str(2**63)),
        ("size", str(2**64)),
        ("size", "0"),
        ("size", "1.5G"),
        ("count", str(2**64)),
        ("count", "0"),
        ("count", "ten"),
    ],
)
def test_value_types_refuse_outside_their_range(make: str, text: str) -> None:
    import click
    from vyr.cli._values import Count, Seconds, Size

    kind = {"seconds": Seconds(), "size": Size(), "count": Count()}[make]
    with pytest.raises(click.BadParameter, match="valid: "):
        kind.convert(text, None, None)


def test_digest_problems_suggest_the_canonical_form() -> None:
    from vyr.cli._values import digest_problem

    hex_digits = "ab" * 32
    assert digest_problem(f"sha256:{hex_digits}") is None
    for almost in (hex_digits, hex_digits.upper(), f"SHA256:{hex_digits.upper()}"):
        problem = digest_problem(almost)
        assert problem is not None and problem[1] == f"did you mean sha256:{hex_digits}?"
    problem = digest_problem("sha256:zz")
    assert problem is not None and "did you mean" not in problem[1]


def test_core_messages_are_rewritten_so_each_hint_appears_once() -> None:
    from vyr.cli._explain import explain
    from vyr.errors import ArtifactConflict, InvalidDigest, UntrustedSigner

    signer, trusted, digest = "sha256:" + "1" * 64, "sha256:" + "2" * 64, "sha256:" + "3" * 64

    class Node:
        def trust_list(self) -> list[tuple[str, str]]:
            return [(trusted, "")]

    untrusted = UntrustedSigner(
        f"untrusted signer {signer}: add its public key with 'vyr trust add'"
    )
    message, hint = explain(untrusted, Node())
    assert message == f"untrusted signer {signer}; this node trusts {trusted}"
    assert hint is not None and (message + hint).count("vyr trust add") == 1
    conflict = ArtifactConflict(
        f"artifact {digest} already exists with a different manifest; remove nothing, re-sign"
        " under a new module or keep the stored one"
    )
    message, hint = explain(conflict)
    assert "remove nothing" not in message and hint is not None and f"vyr run {digest}" in hint
    invalid = InvalidDigest(
        f"invalid digest \"{digest.upper()}\": expected 'sha256:' followed by 64 lowercase hex digits"
    )
    assert explain(invalid)[1] == f"did you mean {digest}?"
