"""`vyr receipt verify|show`: check and read receipts, the signed proof of what a task ran.

`verify` and `show` work on files alone: no node, no daemon. `replay` runs the receipt's task
again on this node (embedded, or the daemon) and compares what it produces.
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
    type=click.Path(exists=True, dir_okay=False),
    help="Public key of the signing node (SubjectPublicKeyInfo PEM); repeatable, any one may sign.",
)
@click.option(
    "--node-key",
    "node_keys",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="The node's public key file, as 'vyr node key --out FILE' writes it (same as --key).",
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
    node_keys: tuple[str, ...],
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
      vyr receipt verify task.receipt.json --node-key node.pub --stdout out.txt --state cache=./cache
    """
    from vyr.errors import InvalidKey, UntrustedSigner
    from vyr.receipts import TrustedKeys
    from vyr.receipts import verify as verify_receipt

    keys = keys + node_keys
    if not keys:
        raise click.UsageError("give the signing node's public key: --node-key PUB (or --key)")
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


@receipt.command("replay")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--bundle",
    type=click.Path(exists=True, dir_okay=False),
    help="Take the artifact from this bundle ('vyr artifact export') if the node lacks it.",
)
@click.option(
    "--input",
    "input_file",
    type=click.Path(exists=True, dir_okay=False),
    help="The task's input, if the node home's blob store does not hold it by digest.",
)
@click.option(
    "--node-key",
    "node_keys",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Verify the receipt with this public key first (else it is replayed unverified).",
)
@click.option(
    "--state",
    "states",
    multiple=True,
    metavar="NAME=DIR",
    help="The content bound state NAME held before the run: a directory whose tree digest "
    "is the receipt's (repeatable; one per state the task had bound).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def replay(
    ctx: click.Context,
    file: str,
    bundle: str | None,
    input_file: str | None,
    node_keys: tuple[str, ...],
    states: tuple[str, ...],
    as_json: bool,
) -> None:
    """Run receipt FILE's task again, from its content-addressed artifact and input (in the
    node home, or from --bundle / --input), and compare every subject digest. Exits 0 only
    when every one matches, 1 otherwise. A receipt of a run that was not deterministic is
    replayed too, with a note: its outputs may legitimately differ.

    \b
    Example:
      vyr receipt replay task.receipt.json --node-key node.pub --bundle app.vyrb
    """
    from vyr.cli._node import home_socket, open_node
    from vyr.receipts.replay_run import replay_receipt

    receipt_bytes = _read(file)
    if node_keys:
        from vyr.receipts import TrustedKeys
        from vyr.receipts import verify as verify_receipt

        statement = verify_receipt(receipt_bytes, TrustedKeys.from_files(node_keys)).statement
    else:
        from vyr.receipts import decode_receipt

        statement = decode_receipt(receipt_bytes).statement()
        click.echo("note: replaying an unverified receipt (give --node-key to check it)", err=True)
    input_bytes = Path(input_file).read_bytes() if input_file else None
    outcome = replay_receipt(
        open_node(ctx),
        statement,
        bundle=bundle,
        input_bytes=input_bytes,
        home=home_socket(ctx).parent,
        states=dict(_state_option(item) for item in states),
    )
    if not outcome.deterministic:
        click.echo(
            "note: the receipt's run was not deterministic (no --deterministic): a mismatch "
            "may be legitimate (clocks, random)",
            err=True,
        )
    if as_json:
        print_json(outcome.to_json())
    else:
        for name, (expected, got) in outcome.compared.items():
            verdict = (
                "matches" if expected == got else f"differs: {got}, the receipt says {expected}"
            )
            click.echo(f"{name:<14}{verdict}")
        click.echo(f"replayed as task {outcome.task_id}: {outcome.status}")
    if not outcome.matches:
        fail(f"the replay does not reproduce the receipt: {', '.join(outcome.mismatched)}")
