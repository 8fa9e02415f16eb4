"""The one context every command runs in: a daemon when there is one, else an embedded node.

A daemon is used when --endpoint / VYR_ENDPOINT names one, or when a daemon is serving the
node home's socket (`<home>/vyr.sock`, home = --home / VYR_HOME / the default; checked by
connecting, so a stale socket file does not count). Otherwise commands run an embedded node in
this process, and those whose result cannot outlive the command (a state, a submitted task, the
trace and metric history) refuse with `DaemonRequired` instead of printing what is already gone.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from vyr.errors import DaemonRequired

if TYPE_CHECKING:
    from vyr.client import Client
    from vyr.protocol import Node
    from vyr.runtime import Runtime

# How long the socket probe may take: a listening unix socket accepts at once.
_PROBE_TIMEOUT_S = 1.0


def home_socket(ctx: click.Context) -> Path:
    """`<home>/vyr.sock`, where `vyr daemon` listens by default for this home."""
    from vyr.config import default_home

    home = _options(ctx).get("home")
    return (Path(home) if home else default_home()) / "vyr.sock"


def daemon_endpoint(ctx: click.Context) -> str | None:
    """The daemon this command talks to (--endpoint / VYR_ENDPOINT, else the home's socket
    when a daemon serves it), or None: embedded. Probed once per command."""
    options = _options(ctx)
    if "resolved_endpoint" not in options:
        endpoint = options.get("endpoint") or None
        if endpoint is None and _serving(home_socket(ctx)):
            endpoint = f"unix:{home_socket(ctx)}"
        options["resolved_endpoint"] = endpoint
    resolved: str | None = options["resolved_endpoint"]
    return resolved


def open_node(ctx: click.Context) -> Node:
    """A `vyr.Client` to the daemon (see `daemon_endpoint`), else the embedded `vyr.Runtime`.

    A client reads its credentials from the environment: VYR_TOKEN_FILE (bearer token),
    VYR_CA_FILE (the CA that signed the daemon's certificate), VYR_CLIENT_CERT and
    VYR_CLIENT_KEY (mTLS).
    """
    endpoint = daemon_endpoint(ctx)
    node: Node = _client(ctx, endpoint) if endpoint is not None else open_embedded(ctx)
    return node


def open_embedded(ctx: click.Context) -> Runtime:
    """An embedded `vyr.Runtime` on this home, whether or not a daemon serves it (for what
    only the local store can do, like `vyr artifact export`)."""
    from vyr.runtime import Runtime

    node = Runtime(_options(ctx).get("home"))
    _options(ctx)["node"] = node
    return node


def open_daemon(ctx: click.Context, why: str) -> Client:
    """A `vyr.Client` for a command that needs a long-lived node; without a daemon, raises
    `DaemonRequired` saying `why` (what an embedded node would lose)."""
    endpoint = daemon_endpoint(ctx)
    if endpoint is None:
        raise DaemonRequired(f"no daemon is serving {home_socket(ctx)}: {why}")
    return _client(ctx, endpoint)


def _client(ctx: click.Context, endpoint: str) -> Client:
    from vyr.client import Client

    node = Client(endpoint)
    _options(ctx)["node"] = node
    return node


def current_node(ctx: click.Context | None) -> Any:
    """The node this command opened, if any (used to explain errors, e.g. who is trusted)."""
    return _options(ctx).get("node") if ctx is not None else None


def _options(ctx: click.Context) -> dict[str, Any]:
    root = ctx.find_root()
    if root.obj is None:
        root.obj = {}
    options: dict[str, Any] = root.obj
    return options


def _serving(path: Path) -> bool:
    """Whether something accepts connections on the unix socket `path` (what `vyr daemon`
    itself checks before it replaces a stale socket file)."""
    if not path.exists():
        return False
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(_PROBE_TIMEOUT_S)
    try:
        probe.connect(str(path))
    except PermissionError:
        return True  # a daemon of someone else: talking to it will say so clearly
    except OSError:
        return False  # refused (stale file), not a socket, path too long, ...
    finally:
        probe.close()
    return True
