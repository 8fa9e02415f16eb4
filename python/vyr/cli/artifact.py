"""`vyr artifact put|ls|export|import`: the digest-addressed artifact store and bundles."""

from __future__ import annotations

import click

from vyr.cli._node import open_embedded, open_node
from vyr.cli._output import print_json, print_table
from vyr.cli._values import Digest
from vyr.errors import InvalidArgument


@click.group()
def artifact() -> None:
    """Put, list, export and import signed artifacts (modules addressed by sha256 digest)."""


@artifact.command("put")
@click.argument("module", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--manifest",
    type=click.Path(exists=True, dir_okay=False),
    help="Default: MODULE.manifest.json.",
)
@click.option(
    "--signature", type=click.Path(exists=True, dir_okay=False), help="Default: MODULE.sig."
)
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
        print_json(
            [
                {"digest": a.digest, "name": a.name, "size": a.size, "signer": a.signer}
                for a in artifacts
            ]
        )
    else:
        print_table(
            [[a.digest, a.name, str(a.size), a.signer[:19] + "…"] for a in artifacts],
            ["DIGEST", "NAME", "BYTES", "SIGNER"],
        )


@artifact.command("export")
@click.argument("digests", nargs=-1, required=True, type=Digest(), metavar="DIGEST...")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, writable=True),
    help="Bundle file to write.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def export(ctx: click.Context, digests: tuple[str, ...], out: str, as_json: bool) -> None:
    """Write stored artifacts (module, manifest, signature) to one bundle file.

    Embedded only: it reads this home's store (--home / VYR_HOME) directly, because the
    Control API v0 has no verb that returns an artifact's parts; --endpoint is refused. A
    daemon serving this home's own socket shares that store, so it does not stand in the way;
    for a remote daemon, export on the node where the artifacts were put.

    \b
    Example:
      vyr artifact export sha256:3f9a... sha256:81c2... --out site.vyrbundle
    """
    from vyr.bundle import export_bundle

    if (ctx.find_root().obj or {}).get("endpoint"):
        error = InvalidArgument(
            "'vyr artifact export' reads a local store; it cannot export from a daemon"
        )
        error.hint = "run it without --endpoint / VYR_ENDPOINT, with --home set to the node's home"
        raise error
    node = open_embedded(ctx)
    try:
        entries = export_bundle(node, list(digests), out)
    finally:
        node.close()
    if as_json:
        print_json([{"digest": e.digest, "name": e.name, "size": len(e.module)} for e in entries])
    else:
        for entry in entries:
            click.echo(entry.digest)
    click.echo(f"wrote {len(entries)} artifact(s) to {out}", err=True)


@artifact.command("import")
@click.argument("bundle", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def import_(ctx: click.Context, bundle: str, as_json: bool) -> None:
    """Check a bundle and put each artifact in it; prints their digests.

    The node re-verifies every digest, manifest and signature, and the signer must be trusted
    there (vyr trust add). Works embedded and against a daemon (--endpoint).

    \b
    Example:
      vyr artifact import site.vyrbundle
    """
    from vyr.bundle import import_bundle

    node = open_node(ctx)
    try:
        stored = import_bundle(node, bundle)
    finally:
        node.close()
    if as_json:
        print_json(
            [
                {"digest": a.digest, "name": a.name, "size": a.size, "signer": a.signer}
                for a in stored
            ]
        )
    else:
        for stored_artifact in stored:
            click.echo(stored_artifact.digest)
