"""TCP listeners: TLS with a test-made certificate, bearer tokens, mTLS, and refusals."""

from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path

import pytest
from vyr.client import AuthenticationFailed, Client, ConnectionFailed

from harness.daemon import DaemonFailed, start_daemon

x509 = pytest.importorskip("cryptography.x509")
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402

TOKEN = "s3cret-token-for-tests-only"


def _issue(
    directory: Path, name: str, *, ca: tuple[object, object] | None = None, is_ca: bool = False
) -> tuple[Path, Path, object, object]:
    """Writes NAME.pem / NAME.key: self-signed (or signed by `ca`), valid for 127.0.0.1."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    issuer_cert, issuer_key = ca if ca else (None, key)
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_cert.subject if issuer_cert else subject)  # type: ignore[attr-defined]
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
    )
    if not is_ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
    cert = builder.sign(issuer_key, hashes.SHA256())  # type: ignore[arg-type]
    cert_path, key_path = directory / f"{name}.pem", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path, cert, key


def test_tls_with_token(tmp_path: Path, daemons, signed) -> None:
    cert, key, _, _ = _issue(tmp_path, "server")
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    token_file.chmod(0o600)
    daemon = start_daemon(
        tmp_path / "home",
        "--listen",
        "tcp://127.0.0.1:0",
        "--tls-cert",
        str(cert),
        "--tls-key",
        str(key),
        "--token-file",
        str(token_file),
    )
    daemons.append(daemon)
    endpoint = daemon.endpoint
    assert endpoint.startswith("https://127.0.0.1:")

    with Client(endpoint, ca_file=cert, token_file=token_file) as client:
        client.trust_add(signed.public_key)
        digest = client.put_module_file(signed.module("hello")).digest
        assert client.run(digest, b"tls").stdout == b"TLS"

    with Client(endpoint, ca_file=cert) as anonymous, pytest.raises(AuthenticationFailed) as caught:
        anonymous.list_tasks()
    assert caught.value.grpc_status == "UNAUTHENTICATED"

    wrong = tmp_path / "wrong"
    wrong.write_text("not-the-token-at-all")
    with (
        Client(endpoint, ca_file=cert, token_file=wrong) as impostor,
        pytest.raises(AuthenticationFailed),
    ):
        impostor.list_tasks()

    plain = endpoint.replace("https://", "http://")
    with Client(plain) as cleartext, pytest.raises(ConnectionFailed):
        cleartext.list_tasks()


def test_mutual_tls(tmp_path: Path, daemons) -> None:
    ca_cert_path, _, ca_cert, ca_key = _issue(tmp_path, "ca", is_ca=True)
    server_cert, server_key, _, _ = _issue(tmp_path, "server", ca=(ca_cert, ca_key))
    client_cert, client_key, _, _ = _issue(tmp_path, "client", ca=(ca_cert, ca_key))
    daemon = start_daemon(
        tmp_path / "home",
        "--listen", "tcp://127.0.0.1:0",
        "--tls-cert", str(server_cert), "--tls-key", str(server_key), "--client-ca", str(ca_cert_path),
    )  # fmt: skip
    daemons.append(daemon)
    with Client(
        daemon.endpoint, ca_file=ca_cert_path, client_cert=client_cert, client_key=client_key
    ) as client:
        assert client.list_tasks() == []
    with (
        Client(daemon.endpoint, ca_file=ca_cert_path) as no_cert,
        pytest.raises(ConnectionFailed) as refused,
    ):
        no_cert.list_tasks()
    assert "VYR_CLIENT_CERT" in (refused.value.hint or ""), refused.value


def test_plain_tcp_is_refused_without_insecure(tmp_path: Path, daemons) -> None:
    with pytest.raises(DaemonFailed) as caught:
        start_daemon(tmp_path / "home", "--listen", "tcp://127.0.0.1:0")
    assert "refusing to listen on TCP" in caught.value.stderr
    assert "Traceback" not in caught.value.stderr

    cert, key, _, _ = _issue(tmp_path, "server")
    with pytest.raises(DaemonFailed) as caught:  # TLS but nobody authenticates clients
        start_daemon(
            tmp_path / "home",
            "--listen",
            "tcp://127.0.0.1:0",
            "--tls-cert",
            str(cert),
            "--tls-key",
            str(key),
        )
    assert "client authentication" in caught.value.stderr


def test_insecure_tcp_warns_loudly(tmp_path: Path, daemons) -> None:
    daemon = start_daemon(tmp_path / "home", "--listen", "tcp://127.0.0.1:0", "--insecure")
    daemons.append(daemon)
    assert "INSECURE" in daemon.stderr
    with Client(daemon.endpoint) as client:
        assert client.list_states() == []


def test_a_certificate_that_does_not_verify_gets_a_tls_hint(tmp_path: Path, daemons) -> None:
    cert, key, _, _ = _issue(tmp_path, "server")
    other, _, _, _ = _issue(tmp_path, "other")
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    token_file.chmod(0o600)
    daemon = start_daemon(
        tmp_path / "home",
        "--listen", "tcp://127.0.0.1:0",
        "--tls-cert", str(cert), "--tls-key", str(key), "--token-file", str(token_file),
    )  # fmt: skip
    daemons.append(daemon)
    with Client(daemon.endpoint, ca_file=other, token_file=token_file) as client:
        with pytest.raises(ConnectionFailed) as refused:
            client.list_artifacts()
    told = f"{refused.value} | {refused.value.hint}"
    assert "TLS handshake" in str(refused.value), told
    assert "running" not in told and "VYR_CA_FILE" in (refused.value.hint or ""), told
