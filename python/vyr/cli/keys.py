"""`vyr keygen`, `vyr sign` and `vyr trust`: the author's and the operator's key commands."""

from __future__ import annotations

import click

from vyr.cli._node import open_node
from vyr.cli._output import print_json, print_table
from vyr.cli._values import Digest


@click.command()
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Overwrite an existing key pair.")
def keygen(path: str, force: bool) -> None:
    """Create an ed25519 key pair and print its key id: PATH (private, PKCS#8 PEM, mode 0600)
    and PATH.pub (public, SubjectPublicKeyInfo PEM). Missing directories are made (0700).

    Both are standard PEM files: OpenSSL reads them, and a key from
    `openssl genpkey -algorithm ed25519` works with `vyr sign --key` just as well.

    \b
    Example:
      vyr keygen ~/.vyr/dev.key && vyr trust add ~/.vyr/dev.key.pub
    """
    from vyr.keys import generate_key, key_id

    private_path, public_path = generate_key(path, overwrite=force)
    click.echo(key_id(public_path.read_text()))
    click.echo(f"wrote {private_path} (private, keep it) and {public_path} (public)", err=True)


@click.command()
@click.argument("module", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--key",
    "key_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Private key file (PKCS#8 PEM, from vyr keygen or openssl genpkey).",
)
@click.option("--name", help="Artifact name (default: the file name without .wasm).")
@click.option("--arg", "args", multiple=True, help="Default guest argument (repeatable).")
@click.option(
    "--env", "env", multiple=True, metavar="KEY=VALUE", help="Default guest env var (repeatable)."
)
def sign(
    module: str, key_path: str, name: str | None, args: tuple[str, ...], env: tuple[str, ...]
) -> None:
    """Write MODULE.manifest.json and MODULE.sig for a Wasm module, signed with the private
    key KEY (PKCS#8 PEM from `vyr keygen` or `openssl genpkey -algorithm ed25519`).

    A node stores an artifact with the manifest it was first put with: re-signing a stored
    module with other options makes a manifest that node refuses (give per-run options to
    `vyr run` instead).

    \b
    Example:
      vyr sign build/hello.wasm --key ~/.vyr/dev.key --name hello
    """
    from pathlib import Path

    from vyr.keys import sign_module

    environment = {}
    for item in env:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r}: expected KEY=VALUE", param_hint="--env")
        environment[key] = value
    previous_path = Path(f"{module}.manifest.json")
    previous = previous_path.read_bytes() if previous_path.is_file() else None
    manifest, signature = sign_module(
        module, key_path, name=name, args=list(args) or None, env=environment or None
    )
    click.echo(str(manifest))
    click.echo(str(signature))
    if previous is not None and previous != manifest.read_bytes():
        click.echo(
            f"note: {manifest} changed (other options or another key): a node that already "
            "stores this module keeps its first manifest and refuses the new one",
            err=True,
        )


@click.group()
def trust() -> None:
    """Manage the public keys whose signatures this node accepts.

    Nothing runs unless its manifest is signed by a trusted key.
    """


@trust.command("add")
@click.argument("pubfile", type=click.Path(exists=True, dir_okay=False))
@click.pass_context
def trust_add(ctx: click.Context, pubfile: str) -> None:
    """Trust the public key in PUBFILE (SubjectPublicKeyInfo PEM, e.g. from `vyr keygen` or
    `openssl pkey -in KEY -pubout`); prints its key id. A private key file is refused.

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
    """List trusted keys (key id and raw public key in hex).

    \b
    Example:
      vyr trust ls --json
    """
    keys = open_node(ctx).trust_list()
    if as_json:
        print_json([{"key_id": kid, "public_key": pub.strip()} for kid, pub in keys])
    else:
        print_table([[kid, pub.strip()] for kid, pub in keys], ["KEY ID", "PUBLIC KEY"])


@trust.command("rm")
@click.argument("keyid", type=Digest())
@click.pass_context
def trust_rm(ctx: click.Context, keyid: str) -> None:
    """Stop trusting KEYID: artifacts it signed no longer run.

    \b
    Example:
      vyr trust rm sha256:3f1c...
    """
    from vyr.errors import NotFound

    node = open_node(ctx)
    trusted = [kid for kid, _ in node.trust_list()]
    if keyid not in trusted:
        error = NotFound(
            f"key {keyid} is not trusted on this node; it trusts "
            + (", ".join(trusted) if trusted else "no key")
        )
        error.hint = "'vyr trust ls' lists the trusted keys"
        raise error
    node.trust_remove(keyid)
    click.echo(f"removed {keyid}", err=True)
