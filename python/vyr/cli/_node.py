"""Opens the node a command talks to: embedded by default, a daemon with --endpoint."""

from __future__ import annotations

from typing import Any

import click

from vyr.errors import InvalidArgument


def open_node(ctx: click.Context) -> Any:
    """The embedded `vyr.Runtime`, or a `vyr.Client` when --endpoint/VYR_ENDPOINT is set.

    A client reads its credentials from the environment: VYR_TOKEN_FILE (bearer token),
    VYR_CA_FILE (the CA that signed the daemon's certificate), VYR_CLIENT_CERT and
    VYR_CLIENT_KEY (mTLS).
    """
    options = ctx.find_root().obj or {}
    if options.get("endpoint"):
        from vyr.client import Client

        return Client(options["endpoint"])
    from vyr.runtime import Runtime

    return Runtime(options.get("home"))


def open_daemon(ctx: click.Context) -> Any:
    """A `vyr.Client` for commands that need a long-lived node (`vyr task ...`): --endpoint,
    else the daemon on this home's default socket."""
    options = ctx.find_root().obj or {}
    endpoint = options.get("endpoint")
    if not endpoint:
        from vyr.config import default_home

        home = options.get("home")
        socket = (click.format_filename(home) if home else str(default_home())) + "/vyr.sock"
        import os

        if not os.path.exists(socket):
            error = InvalidArgument(
                "tasks outlive this command only on a daemon, and none is running here"
            )
            error.hint = "start one with 'vyr daemon', or pass --endpoint / set VYR_ENDPOINT"
            raise error
        endpoint = f"unix:{socket}"
    from vyr.client import Client

    return Client(endpoint)
