"""`vyr keygen`, `vyr sign` and `vyr trust`: the author's and the operator's key commands."""

from __future__ import annotations

import click

from vyr.cli._node import open_node
from vyr.cli._output import print_json, print_table


@click.command()
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Overwrite an existing key.")
def keygen(path: str, force: bool) -> None:
    """Create an ed25519 key pair: PATH (private, mode 0600) and PATH.pub.

    \b
    Example:
      vyr keygen ~/.vyr/dev.key
    """
    from vyr._core import key_id
    from vyr.keys import generate_key

    private_path, public_path = generate_key(path, overwrite=force)
    click.echo(f"{private_path}")
    click.echo(f"wrote {public_path} (key id {key_id(public_path.read_text())})", err=True)


@click.command()
@click.argument("module", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--key",
    "key_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Private key file (from vyr keygen).",
)
@click.option("--name", help="Artifact name (default: the file name without .wasm).")
@click.option("--arg", "args", multiple=True, help="Default guest argument (repeatable).")
@click.option(
    "--env", "env", multiple=True, metavar="KEY=VALUE", help="Default guest env var (repeatable)."
)
def sign(
    module: str, key_path: str, name: str | None, args: tuple[str, ...], env: tuple[str, ...]
) -> None:
    """Write MODULE.manifest.json and MODULE.sig for a Wasm module.

    \b
    Example:
      vyr sign build/hello.wasm --key ~/.vyr/dev.key --name hello
    """
    from vyr.keys import sign_module

    environment = {}
    for item in env:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r}: expected KEY=VALUE", param_hint="--env")
        environment[key] = value
    manifest, signature = sign_module(
        module, key_path, name=name, args=list(args) or None, env=environment or None
    )
    click.echo(str(manifest))
    click.echo(str(signature))


@click.group()
def trust() -> None:
    """Manage the public keys whose signatures this node accepts.

    Nothing runs unless its manifest is signed by a trusted key.
    """


@trust.command("add")
@click.argument("pubfile", type=click.Path(exists=True, dir_okay=False))
@click.pass_context
def trust_add(ctx: click.Context, pubfile: str) -> None:
    """Trust the public key in PUBFILE; prints its key id.

    \b
    Example:
      vyr trust add ~/.vyr/dev.key.pub
    """
    from vyr.keys import read_public_key

    click.echo(open_node(ctx).trust_add(read_public_key(pubfile)))


@trust.command("ls")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def trust_ls(ctx: click.Context, as_json: bool) -> None:
    """List trusted keys (key id and public key)."""
    keys = open_node(ctx).trust_list()
    if as_json:
        print_json([{"key_id": kid, "public_key": pub.strip()} for kid, pub in keys])
    else:
        print_table([[kid, pub.strip()] for kid, pub in keys], ["KEY ID", "PUBLIC KEY"])


@trust.command("rm")
@click.argument("keyid")
@click.pass_context
def trust_rm(ctx: click.Context, keyid: str) -> None:
    """Stop trusting KEYID: artifacts it signed no longer run.

    \b
    Example:
      vyr trust rm sha256:3f1c...
    """
    open_node(ctx).trust_remove(keyid)
    click.echo(f"removed {keyid}", err=True)
