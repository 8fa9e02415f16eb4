"""Key files through the CLI: OpenSSL reads what `vyr keygen` writes and `vyr` uses what OpenSSL
writes, and a key of the wrong kind or algorithm is refused without changing anything."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from cli_harness import Shell, keyed


def openssl(*args: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    done = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done


def test_a_key_made_by_openssl_signs_and_is_trusted(shell: Shell) -> None:
    work = shell.cwd
    openssl("genpkey", "-algorithm", "ed25519", "-out", "author.pem", cwd=work)
    openssl("pkey", "-in", "author.pem", "-pubout", "-out", "author.pub", cwd=work)
    module = work / "workloads" / "build" / "hello.wasm"
    signed = shell.vyr("sign", str(module), "--key", "author.pem")
    assert signed.returncode == 0, signed.stderr
    trusted = shell.vyr("trust", "add", "author.pub")
    assert trusted.returncode == 0, trusted.stderr
    ran = shell.vyr("run", str(module), stdin=b"openssl")
    assert (ran.returncode, ran.stdout) == (0, "OPENSSL")
    (stored,) = json.loads(shell.vyr("artifact", "ls", "--json").stdout)
    assert stored["signer"] == trusted.stdout.strip()


def test_openssl_reads_vyr_keys_and_verifies_vyr_signatures(shell: Shell) -> None:
    module = keyed(shell)
    keys, work = shell.home / ".vyr", shell.cwd
    derived = openssl("pkey", "-in", str(keys / "dev.key"), "-pubout", cwd=work).stdout
    assert derived.decode() == (keys / "dev.key.pub").read_text()
    # The docs/cli.md recipe: MODULE.sig is the plain ed25519 signature of the manifest.
    (work / "sig.bin").write_bytes(bytes.fromhex(Path(f"{module}.sig").read_text()))
    verified = openssl(
        "pkeyutl",
        "-verify",
        "-pubin",
        "-inkey",
        str(keys / "dev.key.pub"),
        "-rawin",
        "-in",
        f"{module}.manifest.json",
        "-sigfile",
        "sig.bin",
        cwd=work,
    )
    assert b"Signature Verified Successfully" in verified.stdout


def test_trusting_a_private_key_is_refused(shell: Shell) -> None:
    keyed(shell)
    private = shell.home / ".vyr" / "dev.key"
    before = shell.vyr("trust", "ls", "--json").stdout
    done = shell.vyr("trust", "add", str(private))
    assert done.returncode == 2
    assert f"error: {private} holds a private key (PKCS#8 PEM)" in done.stderr
    assert "a public key (SubjectPublicKeyInfo PEM) was expected" in done.stderr
    assert f"hint: trust its public key instead: vyr trust add {private}.pub" in done.stderr
    assert shell.vyr("trust", "ls", "--json").stdout == before


def test_signing_with_a_public_key_is_refused_and_keeps_the_good_signature(shell: Shell) -> None:
    module = keyed(shell)
    public = shell.home / ".vyr" / "dev.key.pub"
    signature, manifest = Path(f"{module}.sig"), Path(f"{module}.manifest.json")
    good = (signature.read_bytes(), manifest.read_bytes())
    done = shell.vyr("sign", str(module), "--key", str(public), "--arg", "other")
    assert done.returncode == 2
    assert f"error: {public} holds a public key (SubjectPublicKeyInfo PEM)" in done.stderr
    assert "a private key (PKCS#8 PEM) was expected" in done.stderr
    assert f"hint: sign with the private key: --key {public.with_suffix('')}" in done.stderr
    assert (signature.read_bytes(), manifest.read_bytes()) == good
    assert shell.vyr("run", str(module), stdin=b"still").stdout == "STILL"


_RSA = ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]


@pytest.mark.parametrize(
    "make, role, says, why",
    [
        (_RSA, "sign", "of type RSA", "ed25519 only"),
        (
            ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
            "sign",
            "EC",
            "ed25519",
        ),
        (["genpkey", "-algorithm", "ed448"], "sign", "of type Ed448", "ed25519 only"),
        (_RSA, "trust", "public key of type RSA", "ed25519 keys only"),
        (
            ["genpkey", "-algorithm", "ed25519", "-aes-256-cbc", "-pass", "pass:x"],
            "sign",
            "encrypted",
            "unencrypted",
        ),
    ],
    ids=["rsa-sign", "ec-sign", "ed448-sign", "rsa-trust", "encrypted-sign"],
)
def test_keys_vyr_cannot_use_are_refused_clearly(
    shell: Shell, make: list[str], role: str, says: str, why: str
) -> None:
    work = shell.cwd
    openssl(*make, "-out", "other.pem", cwd=work)
    module = work / "workloads" / "build" / "hello.wasm"
    if role == "sign":
        done = shell.vyr("sign", str(module), "--key", "other.pem")
        assert not Path(f"{module}.sig").exists()
    else:
        openssl("pkey", "-in", "other.pem", "-pubout", "-out", "other.pub", cwd=work)
        done = shell.vyr("trust", "add", "other.pub")
    assert done.returncode == 2, done.stderr
    error, hint = done.stderr.splitlines()
    assert error.startswith("error: other.") and says in error and why in error
    assert hint.startswith("hint: ")


def test_legacy_hex_keys_are_still_read(shell: Shell) -> None:
    from vyr import _core

    seed_hex, public_hex = _core.generate_keypair()
    work = shell.cwd
    (work / "old.key").write_text(seed_hex)
    (work / "old.key.pub").write_text(public_hex)
    module = work / "workloads" / "build" / "hello.wasm"
    assert shell.vyr("sign", str(module), "--key", "old.key").returncode == 0
    assert shell.vyr("trust", "add", "old.key.pub").returncode == 0
    assert shell.vyr("run", str(module), stdin=b"legacy").stdout == "LEGACY"
    # The name tells which kind a legacy file holds: both swaps are refused.
    assert shell.vyr("trust", "add", "old.key").returncode == 2
    assert shell.vyr("sign", str(module), "--key", "old.key.pub").returncode == 2
