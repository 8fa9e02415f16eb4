"""`vyr daemon`: serve the Control API over gRPC (unix socket by default)."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

import click

from vyr.cli._values import Count, Seconds, Size

_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.command()
@click.option(
    "--listen",
    "listen",
    multiple=True,
    metavar="ADDR",
    help="unix:PATH or tcp://HOST:PORT, PORT 0..65535 (0: any free port; repeatable)."
    " Default: unix:<home>/vyr.sock.",
)
@click.option(
    "--insecure",
    is_flag=True,
    help="Allow plain-text TCP (trusted networks only); with --token-file the token is still"
    " required, but travels unencrypted.",
)
@click.option("--tls-cert", type=_FILE, help="Server certificate (PEM) for TCP listeners.")
@click.option("--tls-key", type=_FILE, help="Server private key (PEM) for TCP listeners.")
@click.option(
    "--client-ca", type=_FILE, help="Require client certificates signed by this CA (mTLS)."
)
@click.option(
    "--token-file", type=_FILE, help="Require 'authorization: Bearer <token>' from TCP clients."
)
@click.option(
    "--grace",
    type=Seconds(minimum=0),
    default=10.0,
    show_default=True,
    metavar="SECONDS",
    help="On SIGTERM, how long running tasks may finish.",
)
@click.option(
    "--max-message",
    type=Size(maximum=2**31 - 1),  # grpc takes message limits as a C int
    default="4M",
    show_default=True,
    metavar="BYTES",
    help="Largest request message.",
)
@click.option(
    "--max-concurrent-rpcs",
    type=Count(maximum=2**31 - 1),  # grpc counts calls in a C int
    default=1024,
    show_default=True,
    help="Calls in flight at once (excess: RESOURCE_EXHAUSTED).",
)
@click.option(
    "--max-queued-tasks",
    type=Count(),
    help="Tasks queued or running at once (excess: RESOURCE_EXHAUSTED).",
)
@click.pass_context
def daemon(
    ctx: click.Context,
    listen: tuple[str, ...],
    insecure: bool,
    tls_cert: Path | None,
    tls_key: Path | None,
    client_ca: Path | None,
    token_file: Path | None,
    grace: float,
    max_message: int,
    max_concurrent_rpcs: int,
    max_queued_tasks: int | None,
) -> None:
    """Serve the Control API over gRPC until SIGTERM, then drain and exit 0.

    TCP listeners need TLS and client authentication (a token file or mTLS) unless --insecure.

    \b
    Examples:
      vyr daemon
      vyr daemon --listen tcp://0.0.0.0:7443 --tls-cert srv.pem --tls-key srv.key --token-file token
    """
    from vyr.errors import InvalidArgument
    from vyr.server.app import ServerConfig, serve

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="vyr daemon: %(message)s")
    home = (ctx.find_root().obj or {}).get("home")
    config = ServerConfig(
        home=Path(home) if home else None,
        listen=list(listen),
        insecure=insecure,
        tls_cert=tls_cert,
        tls_key=tls_key,
        client_ca=client_ca,
        token_file=token_file,
        grace_s=grace,
        max_message_bytes=max_message,
        max_concurrent_rpcs=max_concurrent_rpcs,
        limits={"max_queued_tasks": max_queued_tasks} if max_queued_tasks else {},
    )
    try:
        config.addresses()  # a malformed --listen is a usage error (exit 2), found before start
    except InvalidArgument as error:
        raise click.UsageError(str(error), ctx) from None
    asyncio.run(serve(config))
