"""`vyr.keys`: standard key files (PKCS#8 / SubjectPublicKeyInfo PEM), legacy hex still read,
keys of the wrong kind or algorithm refused, and `trust_add` taking the same texts."""

from __future__ import annotations

import hashlib
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from vyr import _core
from vyr.errors import InvalidArgument, InvalidKey
from vyr.keys import (
    generate_key,
    key_id,
    private_key_hex,
    public_key_hex,
    read_private_key,
    read_public_key,
    sign_module,
)


def _pem_private(key: object) -> str:
    return key.private_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _pem_public(key: object) -> str:
    return key.public_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def test_generate_key_writes_standard_pem_with_private_modes(tmp_path: Path) -> None:
    private, public = generate_key(tmp_path / "new" / "nested" / "dev.key")
    loaded = serialization.load_pem_private_key(private.read_bytes(), password=None)
    assert isinstance(loaded, ed25519.Ed25519PrivateKey)
    assert public.read_text() == _pem_public(loaded.public_key())
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert stat.S_IMODE(public.stat().st_mode) == 0o644
    for directory in (tmp_path / "new", tmp_path / "new" / "nested"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert sorted(private.parent.iterdir()) == [private, public]  # no temp file left behind


def test_generate_key_refuses_to_overwrite_unless_forced(tmp_path: Path) -> None:
    private, _ = generate_key(tmp_path / "k")
    first = private.read_text()
    with pytest.raises(InvalidArgument, match="refusing to overwrite"):
        generate_key(tmp_path / "k")
    assert private.read_text() == first
    generate_key(tmp_path / "k", overwrite=True)
    assert private.read_text() != first


def test_key_id_is_the_sha256_of_the_raw_public_key(tmp_path: Path) -> None:
    _, public = generate_key(tmp_path / "k")
    loaded = serialization.load_pem_public_key(public.read_bytes())
    raw = loaded.public_bytes_raw()  # type: ignore[union-attr]
    expected = "sha256:" + hashlib.sha256(raw).hexdigest()
    assert key_id(public.read_text()) == expected == _core.key_id(raw.hex())


def test_pem_and_legacy_hex_give_the_same_key(tmp_path: Path) -> None:
    private_path, public_path = generate_key(tmp_path / "k")
    seed = serialization.load_pem_private_key(private_path.read_bytes(), None)
    seed_hex = seed.private_bytes_raw().hex()  # type: ignore[union-attr]
    assert private_key_hex(private_path.read_text()) == seed_hex == private_key_hex(seed_hex)
    public_hex = _core.public_key_of(seed_hex).strip()
    assert public_key_hex(public_path.read_text()) == public_hex == public_key_hex(public_hex)


def test_openssl_keys_are_read(tmp_path: Path) -> None:
    openssl = shutil.which("openssl")
    assert openssl is not None, "openssl is part of the test environment"
    private = tmp_path / "o.pem"
    subprocess.run([openssl, "genpkey", "-algorithm", "ed25519", "-out", private], check=True)
    public = subprocess.run(
        [openssl, "pkey", "-in", private, "-pubout"], check=True, capture_output=True, text=True
    ).stdout
    seed_hex = read_private_key(private)
    assert public_key_hex(public) == _core.public_key_of(seed_hex).strip()


def test_a_key_of_the_wrong_kind_is_refused_by_name(tmp_path: Path) -> None:
    private, public = generate_key(tmp_path / "dev.key")
    with pytest.raises(InvalidKey, match=r"holds a private key \(PKCS#8 PEM\), but a public") as e:
        read_public_key(private)
    assert e.value.hint == f"trust its public key instead: vyr trust add {public}"
    with pytest.raises(InvalidKey, match=r"holds a public key \(SubjectPublicKeyInfo PEM\)") as e:
        read_private_key(public)
    assert e.value.hint == f"sign with the private key: --key {private}"
    with pytest.raises(InvalidKey, match="holds a private key"):
        public_key_hex(private.read_text())


@pytest.mark.parametrize(
    "key, says",
    [
        (rsa.generate_private_key(public_exponent=65537, key_size=2048), "of type RSA"),
        (ec.generate_private_key(ec.SECP256R1()), r"of type EC \(secp256r1\)"),
    ],
    ids=["rsa", "ec"],
)
def test_other_algorithms_are_refused(key: object, says: str) -> None:
    with pytest.raises(InvalidKey, match=f"private key {says}: VYR signs with ed25519 only"):
        private_key_hex(_pem_private(key))
    with pytest.raises(InvalidKey, match=f"public key {says}: VYR trusts ed25519 keys only"):
        public_key_hex(_pem_public(key.public_key()))  # type: ignore[attr-defined]


def test_unreadable_key_texts_are_refused(tmp_path: Path) -> None:
    for text, says in [
        ("not a key", "no key VYR can read"),
        ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI me@host", "an OpenSSH public key"),
        ("-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n", "a PEM certificate"),
        ("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "malformed"),
    ]:
        with pytest.raises(InvalidKey, match=says):
            private_key_hex(text)
    binary = tmp_path / "k.der"
    binary.write_bytes(b"\x30\x2e\x02\x01\x00\xff")
    with pytest.raises(InvalidKey, match="is a binary file") as e:
        read_private_key(binary)
    assert e.value.hint is not None and "-inform DER" in e.value.hint


def test_legacy_files_are_told_apart_by_name(tmp_path: Path) -> None:
    seed_hex, public_hex = _core.generate_keypair()
    (tmp_path / "old.key").write_text(seed_hex)
    (tmp_path / "old.key.pub").write_text(public_hex)
    assert read_private_key(tmp_path / "old.key") == seed_hex.strip()
    assert public_key_hex(read_public_key(tmp_path / "old.key.pub")) == public_hex.strip()
    with pytest.raises(InvalidKey, match=r"holds a private key \(legacy hex\)"):
        read_public_key(tmp_path / "old.key")
    with pytest.raises(InvalidKey, match=r"holds a public key \(legacy hex\)"):
        read_private_key(tmp_path / "old.key.pub")


def test_a_refused_key_writes_nothing(tmp_path: Path, guests: Path) -> None:
    private, public = generate_key(tmp_path / "k")
    module = tmp_path / "hello.wasm"
    shutil.copy(guests / "hello.wasm", module)
    manifest_path, signature_path = sign_module(module, private)
    good = manifest_path.read_bytes(), signature_path.read_bytes()
    with pytest.raises(InvalidKey):
        sign_module(module, public, args=["other"])
    assert (manifest_path.read_bytes(), signature_path.read_bytes()) == good
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "hello.wasm",
        "hello.wasm.manifest.json",
        "hello.wasm.sig",
        "k",
        "k.pub",
    ]


def test_runtime_trust_add_takes_pem_and_legacy_hex(tmp_path: Path) -> None:
    from vyr.runtime import Runtime

    private, public = generate_key(tmp_path / "k")
    with Runtime(tmp_path / "home") as node:
        expected = key_id(public.read_text())
        assert node.trust_add(public.read_text()) == expected
        assert node.trust_add(public_key_hex(public.read_text())) == expected
        assert [k for k, _ in node.trust_list()] == [expected]
        with pytest.raises(InvalidKey, match="holds a private key"):
            node.trust_add(private.read_text())
        assert [k for k, _ in node.trust_list()] == [expected]
