"""`vyr artifact put|ls`: the local, digest-addressed artifact store."""

from __future__ import annotations

import click

from vyr.cli._node import open_node
from vyr.cli._output import print_json, print_table


@click.group()
def artifact() -> None:
    """Put and list signed artifacts (modules addressed by sha256 digest)."""


@artifact.command("put")
@click.argument("module", type=click.Path(exists=True, dir_okay=False))
@click.option("--manifest", type=click.Path(exists=True, dir_okay=False), help="Default: MODULE.manifest.json.")
@click.option("--signature", type=click.Path(exists=True, dir_okay=False), help="Default: MODULE.sig.")
@click.pass_context
def put(ctx: click.Context, module: str, manifest: str | None, signature: str | None) -> None:
    """Verify and store MODULE; prints its digest.

    The digest, the manifest and a trusted signature are checked before anything compiles.

    \b
    Example:
      vyr artifact put build/hello.wasm
    """
    stored = open_node(ctx).put_module_file(module, manifest, signature)
    click.echo(stored.digest)


@artifact.command("ls")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def ls(ctx: click.Context, as_json: bool) -> None:
    """List stored artifacts."""
    artifacts = open_node(ctx).list_artifacts()
    if as_json:
        print_json([{"digest": a.digest, "name": a.name, "size": a.size, "signer": a.signer} for a in artifacts])
    else:
        print_table([[a.digest, a.name, str(a.size), a.signer[:19] + "…"] for a in artifacts], ["DIGEST", "NAME", "BYTES", "SIGNER"])
