"""`vyr receipt verify|show`: check and read receipts, the signed proof of what a task ran.

Both work on files alone: no node, no daemon. Producing receipts (`vyr run --receipt`) and
replaying them are the runtime's part; `vyr.receipts.replay_plan` is the seam for the latter.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from vyr.cli._output import fail, print_json


@click.group()
def receipt() -> None:
    """Verify and show receipts: signed in-toto statements of what a task ran, with which
    inputs, and what it produced (docs/receipts.md)."""


@receipt.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--key",
    "keys",
    multiple=True,
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Public key of the signing node (SubjectPublicKeyInfo PEM); repeatable, any one may sign.",
)
@click.option(
    "--stdout",
    "stdout_file",
    type=click.Path(exists=True, dir_okay=False),
    help="Also check that the run's stdout was exactly this file.",
)
@click.option(
    "--stderr",
    "stderr_file",
    type=click.Path(exists=True, dir_okay=False),
    help="Also check that the run's stderr was exactly this file.",
)
@click.option(
    "--state",
    "states",
    multiple=True,
    metavar="NAME=DIR",
    help="Also check that read-write state NAME ended as the tree in DIR (repeatable).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def verify(
    file: str,
    keys: tuple[str, ...],
    stdout_file: str | None,
    stderr_file: str | None,
    states: tuple[str, ...],
    as_json: bool,
) -> None:
    """Verify receipt FILE: signed by one of the --key public keys (directly, or through a
    signed checkpoint and an inclusion proof), and of a VYR run. With --stdout, --stderr or
    --state, also check those outputs against the receipt's subjects. Exits 0 when everything
    holds, 1 when anything does not (the error says what).

    \b
    Example:
      vyr receipt verify task.receipt.json --key node.pub --stdout out.txt --state cache=./cache
    """
    from vyr.errors import InvalidKey, UntrustedSigner
    from vyr.receipts import TrustedKeys
    from vyr.receipts import verify as verify_receipt

    subjects: dict[str, Any] = {}
    if stdout_file is not None:
        subjects["stdout"] = Path(stdout_file)
    if stderr_file is not None:
        subjects["stderr"] = Path(stderr_file)
    for item in states:
        name, directory = _state_option(item)
        subjects[f"state:{name}"] = directory
    try:
        trusted = TrustedKeys.from_files(keys)
    except InvalidKey as error:
        public = next((f"{key}.pub" for key in keys if Path(f"{key}.pub").is_file()), None)
        # vyr.keys' own hint is about the trust store; here the key is a --key option.
        fail(error, hint=f"give the public key: --key {public}" if public else error.hint)
    try:
        verified = verify_receipt(_read(file), trusted, subjects=subjects)
    except UntrustedSigner as error:
        fail(error, hint=error.hint)  # not the trust store's hint: receipts name their keys
    if as_json:
        print_json(
            {
                "verified": True,
                "form": verified.form,
                "signer": verified.signer,
                "statement_digest": verified.statement_digest,
                "log": None if verified.log is None else vars(verified.log),
                "checked": list(verified.checked),
                "statement": verified.statement,
            }
        )
        return
    predicate = verified.predicate
    click.echo(f"verified: receipt of task {predicate.get('taskId', '?')}, {_outcome(predicate)}")
    click.echo(f"signed by {verified.signer}" + _log_text(verified.log))
    if verified.checked:
        click.echo(f"matches: {', '.join(verified.checked)}")


@receipt.command("show")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show(file: str, as_json: bool) -> None:
    """Show what receipt FILE claims, without verifying it (`vyr receipt verify` does).

    \b
    Example:
      vyr receipt show task.receipt.json
    """
    import hashlib

    from vyr.receipts import decode_receipt

    decoded = decode_receipt(_read(file))
    statement = decoded.statement()
    digest = "sha256:" + hashlib.sha256(decoded.payload).hexdigest()
    log = None
    if decoded.batched is not None:
        log = {"log_index": decoded.batched.log_index, "tree_size": decoded.batched.tree_size}
    click.echo(f"note: not verified; check it with 'vyr receipt verify {file} --key KEY'", err=True)
    if as_json:
        print_json(
            {
                "verified": False,
                "form": decoded.form,
                "key_ids": decoded.key_ids,
                "statement_digest": digest,
                "log": log,
                "statement": statement,
            }
        )
        return
    from vyr.cli._receipt_text import summary_rows

    form: str = decoded.form
    if log is not None:
        form += f" (leaf {log['log_index']} of {log['tree_size']})"
    rows = [
        ("form", form),
        ("signed by", ", ".join(decoded.key_ids) or "(no key id given)"),
        ("statement", digest),
    ]
    for label, value in rows + summary_rows(statement):
        click.echo(f"{label:<14}{value}".rstrip())


def _read(file: str) -> bytes:
    from vyr.errors import InvalidArgument

    try:
        return Path(file).read_bytes()
    except OSError as error:
        raise InvalidArgument(f"cannot read {file}: {error.strerror}") from None


def _state_option(item: str) -> tuple[str, Path]:
    name, sep, directory = item.partition("=")
    if not sep or not name or not directory:
        raise click.BadParameter(f"{item!r}: expected NAME=DIR", param_hint="--state")
    path = Path(directory)
    if not path.is_dir():
        raise click.BadParameter(f"{directory} is not a directory", param_hint="--state")
    return name, path


def _outcome(predicate: dict[str, Any]) -> str:
    """`artifact hello (sha256:...), succeeded, exit 0`"""
    from vyr.cli._receipt_text import outcome

    artifact = predicate.get("artifact") or {}
    name, digest = artifact.get("name") or "?", artifact.get("digest", "?")
    return f"artifact {name} ({digest}), {outcome(predicate)}"


def _log_text(log: Any) -> str:
    if log is None:
        return ""
    return f" (batched: leaf {log.log_index} of {log.tree_size}, log {log.origin})"
