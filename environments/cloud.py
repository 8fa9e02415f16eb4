"""Cloud node: `vyr daemon` on TCP with TLS (a CA and server certificate made here, bearer token)
and OpenTelemetry export over OTLP/HTTP to a local receiver.

Set-up: a throw-away CA signs a server certificate for 127.0.0.1; a random token file; the OTLP
receiver on 127.0.0.1 (an ephemeral port); the daemon on tcp://127.0.0.1:0 with the standard
OTEL_* variables pointing at the receiver. The bundle is imported over TLS with the CLI, then the
workloads run through `vyr.Client`. Everything is stopped and deleted on the way out.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import secrets
import time
from pathlib import Path
from typing import Any

from environments.common import (
    Artifacts,
    Inputs,
    PeakRss,
    daemon,
    otel_environment,
    otlp_receiver,
    records,
    run_workloads,
    vyr_cli,
)

NAME = "cloud"
TELEMETRY_WAIT_S = 10.0


def make_certificates(directory: Path) -> tuple[Path, Path, Path]:
    """Writes ca.pem, server.pem and server.key (EC P-256, valid one day, for 127.0.0.1)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    validity = (now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=1))

    def certificate(
        subject: str, key: Any, issuer: x509.Name | None, issuer_key: Any, is_ca: bool
    ) -> x509.Certificate:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
        builder = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(issuer or name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(validity[0])
            .not_valid_after(validity[1])
            .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
        )
        if not is_ca:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(
                    [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
                ),
                critical=False,
            ).add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
            )
        return builder.sign(issuer_key, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = certificate("vyr environments CA", ca_key, None, ca_key, True)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = certificate("vyr cloud node", server_key, ca.subject, ca_key, False)
    directory.mkdir(parents=True, exist_ok=True)
    ca_path, cert_path, key_path = (
        directory / "ca.pem",
        directory / "server.pem",
        directory / "server.key",
    )
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    key_path.touch(mode=0o600)
    key_path.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return ca_path, cert_path, key_path


def run(work: Path, artifacts: Artifacts, inputs: Inputs) -> list[dict[str, Any]]:
    """Sets up the cloud node, runs the workloads, tears everything down; returns records."""
    from vyr.client import Client

    ca, cert, key = make_certificates(work / "tls")
    token = work / "tls" / "token"
    token.touch(mode=0o600)
    token.write_text(secrets.token_urlsafe(32) + "\n")
    with contextlib.ExitStack() as stack:
        receiver = stack.enter_context(otlp_receiver(work / "otlp-summary.json"))
        node = stack.enter_context(
            daemon(
                work / "home",
                [
                    "--listen",
                    "tcp://127.0.0.1:0",
                    "--tls-cert",
                    str(cert),
                    "--tls-key",
                    str(key),
                    "--token-file",
                    str(token),
                ],
                env=otel_environment(receiver.endpoint, "vyr-cloud"),
            )
        )
        endpoint = node.addresses[0]
        credentials = {"VYR_CA_FILE": str(ca), "VYR_TOKEN_FILE": str(token)}
        vyr_cli(None, "trust", "add", str(artifacts.public_key), endpoint=endpoint, env=credentials)
        vyr_cli(
            None, "artifact", "import", str(artifacts.bundle), endpoint=endpoint, env=credentials
        )
        client = stack.enter_context(Client(endpoint, ca_file=ca, token_file=token))
        outcomes = run_workloads(
            client, artifacts.digests, inputs, PeakRss(node.pid), work / "receipts"
        )
        _wait_for_spans(receiver)
        stack.pop_all().close()  # stop the daemon (it flushes telemetry on exit), then the receiver
    telemetry = receiver.read()
    notes: dict[str, Any] = {
        "transport": f"TLS over TCP ({endpoint}), bearer token",
        "otlp": {
            key_: telemetry[key_] for key_ in ("requests", "spans", "metric_points", "services")
        },
    }
    return records(NAME, outcomes, **notes)


def _wait_for_spans(receiver: Any) -> None:
    deadline = time.monotonic() + TELEMETRY_WAIT_S
    while time.monotonic() < deadline and receiver.read()["spans"] == 0:
        time.sleep(0.2)
