"""`vyr node key`: the node's identity, the key that signs its receipts."""

from __future__ import annotations

from pathlib import Path

import click

from vyr.cli._node import open_node


@click.group()
def node() -> None:
    """This node's identity (embedded, or the daemon's)."""


@node.command("key")
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    help="Write the public key (SubjectPublicKeyInfo PEM) to FILE instead of stdout.",
)
@click.pass_context
def key(ctx: click.Context, out: str | None) -> None:
    """Print the node's public key (PEM, stdout) and its key id (stderr), made at first use in
    <home>/node.key. Give the public key to whoever verifies this node's receipts.

    \b
    Examples:
      vyr node key > node.pub
      vyr node key --out node.pub && vyr receipt verify task.receipt.json --node-key node.pub
    """
    identity = open_node(ctx).node_key()
    if out is None:
        click.echo(identity.public_key, nl=False)
        click.echo(f"key id: {identity.key_id}", err=True)
        return
    try:
        Path(out).write_text(identity.public_key)
    except OSError as error:
        raise click.BadParameter(
            f"cannot write {out}: {error.strerror}", param_hint="--out"
        ) from None
    click.echo(identity.key_id)
