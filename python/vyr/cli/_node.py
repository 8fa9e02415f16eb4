"""Opens the node a command talks to: embedded by default, a daemon with --endpoint."""

from __future__ import annotations

from typing import Any

import click


def open_node(ctx: click.Context) -> Any:
    """The embedded `vyr.Runtime`, or a `vyr.Client` when --endpoint/VYR_ENDPOINT is set."""
    options = ctx.find_root().obj or {}
    if options.get("endpoint"):
        from vyr.client import Client

        return Client(options["endpoint"])
    from vyr.runtime import Runtime

    return Runtime(options.get("home"))
