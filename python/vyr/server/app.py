"""The daemon's lifecycle: listeners, TLS and auth, limits, health, reflection, graceful SIGTERM
drain."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import grpc.aio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection

from vyr.api.v0 import control_pb2_grpc as pb_grpc
from vyr.config import default_home
from vyr.errors import InvalidArgument
from vyr.server.interceptors import ControlInterceptor
from vyr.server.node import Node
from vyr.server.servicer import ControlServicer
from vyr.telemetry import server_interceptors

log = logging.getLogger("vyr.server")

SERVICE_NAME = "vyr.api.v0.Control"
DEFAULT_MAX_MESSAGE_BYTES = 4 << 20
DEFAULT_MAX_CONCURRENT_RPCS = 1024
DEFAULT_GRACE_S = 10.0
# Calls the gRPC core holds before the event loop accepts them. Past its default soft limit
# (1,000) the core refuses a random share of new calls, and past the hard one (3,000) all of
# them, with a bare CANCELLED: a burst of 2,000 calls lost 6-9 % of them that way, before the
# interceptor could answer RESOURCE_EXHAUSTED. Accepting is quick (each call gets a slot or a
# RESOURCE_EXHAUSTED at once), so the backlog only has to absorb bursts; one limit (soft = hard)
# keeps the refusal deterministic: only a burst of more than this many calls sees CANCELLED.
MAX_PENDING_CALLS = 20_000


@dataclass
class ServerConfig:
    """Everything `vyr daemon` can be told. Listen addresses: `unix:PATH` or `tcp://HOST:PORT`."""

    home: Path | None = None
    listen: list[str] = field(default_factory=list)
    insecure: bool = False
    tls_cert: Path | None = None
    tls_key: Path | None = None
    client_ca: Path | None = None
    token_file: Path | None = None
    grace_s: float = DEFAULT_GRACE_S
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    max_concurrent_rpcs: int = DEFAULT_MAX_CONCURRENT_RPCS
    limits: dict[str, Any] = field(default_factory=dict)

    def resolved_home(self) -> Path:
        """The node home this daemon serves."""
        return Path(self.home) if self.home is not None else default_home()

    def addresses(self) -> list[tuple[str, str]]:
        """Parsed listen addresses as (scheme, target); default: the home's `vyr.sock`."""
        raw = self.listen or [f"unix:{self.resolved_home() / 'vyr.sock'}"]
        parsed = []
        for address in raw:
            if address.startswith("unix:"):
                path = address.removeprefix("unix:").removeprefix("//")
                if not path:
                    raise InvalidArgument(f"--listen {address}: expected unix:PATH")
                parsed.append(("unix", str(Path(path).expanduser().absolute())))
            elif address.startswith("tcp://"):
                host, sep, port = address.removeprefix("tcp://").rpartition(":")
                if not sep or not host or not port.isdigit():
                    raise InvalidArgument(f"--listen {address}: expected tcp://HOST:PORT")
                if int(port) > 65535:
                    raise InvalidArgument(
                        f"--listen {address}: port {port} is outside 0..65535 (0: any free port)"
                    )
                parsed.append(("tcp", f"{host}:{port}"))
            else:
                raise InvalidArgument(f"--listen {address}: expected unix:PATH or tcp://HOST:PORT")
        return parsed

    def check_transport(self) -> None:
        """TCP needs TLS and client auth (mTLS or a token), unless --insecure."""
        if (self.tls_cert is None) != (self.tls_key is None):
            raise InvalidArgument("--tls-cert and --tls-key go together")
        if self.client_ca is not None and self.tls_cert is None:
            raise InvalidArgument("--client-ca (mTLS) needs --tls-cert and --tls-key")
        if self.insecure or not any(scheme == "tcp" for scheme, _ in self.addresses()):
            return
        if self.tls_cert is None:
            raise _refuse("TCP needs TLS: pass --tls-cert and --tls-key")
        if self.client_ca is None and self.token_file is None:
            raise _refuse("TCP needs client authentication: pass --token-file or --client-ca")


def _refuse(message: str) -> InvalidArgument:
    error = InvalidArgument(f"refusing to listen on TCP: {message}")
    error.hint = (
        "--insecure serves plain text to anyone who can reach the port (trusted networks only)"
    )
    return error


def read_token(path: Path) -> str:
    """The bearer token in `path` (whitespace stripped; refuses short or world-readable tokens)."""
    try:
        token = path.read_text().strip()
        mode = path.stat().st_mode
    except OSError as error:
        raise InvalidArgument(f"cannot read token file {path}: {error.strerror}") from None
    if len(token) < 16:
        raise InvalidArgument(f"token file {path}: a token needs at least 16 characters")
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("token file %s is readable by other users; chmod 600 it", path)
    return token


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise InvalidArgument(f"cannot read {what} {path}: {error.strerror}") from None


def _server_credentials(config: ServerConfig) -> grpc.ServerCredentials | None:
    if config.tls_cert is None or config.tls_key is None:
        return None
    pair = (_read(config.tls_key, "TLS key"), _read(config.tls_cert, "TLS certificate"))
    client_ca = _read(config.client_ca, "client CA") if config.client_ca else None
    return grpc.ssl_server_credentials(
        [pair], root_certificates=client_ca, require_client_auth=client_ca is not None
    )


def _claim_socket(path: str) -> None:
    """Removes a stale socket file; refuses when a daemon answers on it or it is not a socket."""
    target = Path(path)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        return
    if not stat.S_ISSOCK(target.stat().st_mode):
        raise InvalidArgument(f"{path} exists and is not a socket; refusing to replace it")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)
    except (ConnectionRefusedError, FileNotFoundError):
        target.unlink(missing_ok=True)
        return
    finally:
        probe.close()
    raise InvalidArgument(f"another daemon is listening on unix:{path}")


def _bind(server: grpc.aio.Server, config: ServerConfig) -> tuple[list[str], list[str]]:
    """Adds every listener; returns (the addresses bound, the socket files to remove at exit)."""
    credentials = _server_credentials(config)
    bound, sockets = [], []
    for scheme, target in config.addresses():
        if scheme == "unix":
            _claim_socket(target)
            previous = os.umask(0o177)  # the socket is created 0600, never briefly wider
            try:
                server.add_insecure_port(f"unix:{target}")
            finally:
                os.umask(previous)
            sockets.append(target)
            bound.append(f"unix:{target}")
            continue
        if credentials is None:
            _warn_plain_text(target, token_enforced=config.token_file is not None)
            scheme_name = "http"
        else:
            scheme_name = "https"
        try:
            if credentials is None:
                port = server.add_insecure_port(target)
            else:
                port = server.add_secure_port(target, credentials)
        except RuntimeError:  # grpc's "Failed to bind": the port is taken or the host not ours
            port = 0
        if port == 0:
            raise InvalidArgument(
                f"cannot listen on tcp://{target}: the address is in use or not on this host"
            )
        host = target.rpartition(":")[0]
        bound.append(f"{scheme_name}://{host}:{port}")
    return bound, sockets


def _warn_plain_text(target: str, *, token_enforced: bool) -> None:
    if token_enforced:
        log.warning(
            "INSECURE: serving plain-text gRPC on tcp://%s; the bearer token is required, but it"
            " and every request travel unencrypted (trusted networks only)",
            target,
        )
        return
    log.warning(
        "!!! INSECURE: serving plain-text gRPC on tcp://%s with no authentication: anyone who"
        " can reach it runs code on this node !!!",
        target,
    )


async def serve(
    config: ServerConfig,
    ready: Callable[[list[str]], None] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Runs the daemon until SIGTERM/SIGINT (or `stop` is set), then drains and returns."""
    config.check_transport()
    token = read_token(config.token_file) if config.token_file else None
    node = await asyncio.to_thread(Node, config.resolved_home(), **config.limits)
    limits = node.limits()
    # Responses carry a task's whole stdout and stderr: allow them, whatever requests may be.
    max_send = max(
        config.max_message_bytes,
        limits["max_stdout_bytes"] + limits["max_stderr_bytes"] + (1 << 20),
    )
    server = grpc.aio.server(
        # RPC spans first: they see the status the ControlInterceptor sets (docs/telemetry.md).
        interceptors=[
            *server_interceptors(node.telemetry()),
            ControlInterceptor(token, config.max_concurrent_rpcs),
        ],
        options=[
            ("grpc.max_receive_message_length", config.max_message_bytes),
            ("grpc.max_send_message_length", max_send),
            ("grpc.so_reuseport", 0),
            ("grpc.server.max_pending_requests", MAX_PENDING_CALLS),
            ("grpc.server.max_pending_requests_hard_limit", MAX_PENDING_CALLS),
        ],
        # The interceptor enforces --max-concurrent-rpcs with a clear message; grpc's own limit
        # (whose refusal explains nothing) is only a backstop, with room for health checks.
        maximum_concurrent_rpcs=2 * config.max_concurrent_rpcs + 64,
    )
    servicer = ControlServicer(node)
    pb_grpc.add_ControlServicer_to_server(servicer, server)
    health = HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    # `grpcurl list` / `describe` (from the generated descriptors: no .proto file is read).
    reflection.enable_server_reflection(
        (
            SERVICE_NAME,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        ),
        server,
    )
    sockets: list[str] = []
    try:
        addresses, sockets = _bind(server, config)
        await server.start()
        for path in sockets:
            os.chmod(path, 0o600)
        for service in ("", SERVICE_NAME):
            await health.set(service, health_pb2.HealthCheckResponse.SERVING)
        stop = stop or asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, stop.set)
        for address in addresses:
            log.info("listening on %s", address)
        if ready:
            ready(addresses)
        await stop.wait()
        log.info("stopping: no new work; running tasks get %.1f s to finish", config.grace_s)
        servicer.accepting = False
        await health.enter_graceful_shutdown()
        await asyncio.to_thread(node.drain, config.grace_s)
        await server.stop(grace=1.0)  # let waiters receive their tasks' outcomes
        log.info("stopped: every outcome is in the journal")
    finally:
        await server.stop(grace=None)
        await asyncio.to_thread(node.drain, 0.0)
        node.close()
        for path in sockets:
            Path(path).unlink(missing_ok=True)
