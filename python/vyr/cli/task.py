"""`vyr task submit|wait|cancel|show|ls`: tasks on a daemon, one step at a time."""

from __future__ import annotations

import sys
from typing import Any

import click

from vyr.cli._node import open_daemon
from vyr.cli._output import exit_code_for, fail, print_json, print_table
from vyr.cli._values import Seconds
from vyr.cli.run import build_submission, relay, task_options

# Without a daemon: why each command cannot work on a node embedded in this very command.
_NO_TASKS = "tasks live on a daemon, and an embedded node knows none from earlier commands"
_WOULD_END = (
    "a task submitted here would end with this command; 'vyr run' runs one and waits for it"
)


@click.group()
def task() -> None:
    """Submit, wait for, inspect and cancel tasks on a daemon.

    Uses --endpoint / VYR_ENDPOINT, else the daemon serving this home's socket
    (<home>/vyr.sock). Without a daemon these commands refuse: a task outlives the command
    that submitted it only on a daemon (`vyr run` runs one embedded and waits for it).
    """


@task.command("submit")
@task_options
@click.option(
    "--idempotency-key", metavar="K", help="Same key, same task id: the task never runs twice."
)
@click.pass_context
def submit(ctx: click.Context, /, idempotency_key: str | None, **options: Any) -> None:
    """Submit REF (a sha256: digest or a signed module path); prints the task id at once.

    Piped or redirected stdin is the task's input unless --input says otherwise.

    \b
    Example:
      vyr task submit build/hello.wasm --input in.txt --idempotency-key job-42
    """
    from vyr.errors import VyrError

    node = open_daemon(ctx, _WOULD_END)
    try:
        submission = build_submission(node, options.pop("ref"), options, embedded_states=False)
        task_id = node.submit_task(**submission, idempotency_key=idempotency_key).id
    except VyrError as error:
        fail(error, code=exit_code_for(error, starts_task=True))
    click.echo(task_id)


@task.command("wait")
@click.argument("task_id", metavar="ID")
@click.option(
    "--timeout",
    type=Seconds(),
    metavar="SECONDS",
    help="Give up after this long (exit 1).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result (with output) as JSON.")
@click.pass_context
def wait(ctx: click.Context, task_id: str, timeout: float | None, as_json: bool) -> None:
    """Wait for task ID, relay its output and exit like `vyr run` would.

    \b
    Example:
      vyr task wait t-0193a5c1e2f4a1b2c3d4e5
    """
    from vyr.errors import WaitTimeout

    try:
        result = open_daemon(ctx, _NO_TASKS).wait_task(task_id, timeout)
    except WaitTimeout as error:
        fail(error)
    relay(result, as_json)


@task.command("cancel")
@click.argument("task_id", metavar="ID")
@click.pass_context
def cancel(ctx: click.Context, task_id: str) -> None:
    """Cancel task ID if it is queued or running.

    \b
    Example:
      vyr task cancel t-0193a5c1e2f4a1b2c3d4e5
    """
    cancelled = open_daemon(ctx, _NO_TASKS).cancel_task(task_id)
    click.echo(f"{task_id}: {'cancel requested' if cancelled else 'had already ended'}", err=True)


@task.command("show")
@click.argument("task_id", metavar="ID")
@click.option(
    "--json", "as_json", is_flag=True, help="Print JSON (id, status, exit_code, reason, ...)."
)
@click.pass_context
def show(ctx: click.Context, task_id: str, as_json: bool) -> None:
    """Show task ID's status, exit code and reason (not its output: see `vyr task wait`).

    \b
    Example:
      vyr task show t-0193a5c1e2f4a1b2c3d4e5 --json
    """
    result = open_daemon(ctx, _NO_TASKS).task(task_id).result()
    data = result.to_json()
    if as_json:
        print_json(data)
        return
    for key in ("id", "artifact", "status", "exit_code", "trap_code", "reason"):
        value = data[key]
        click.echo(f"{key}: {'' if value is None else value}")
    for binding in data["bindings"]:
        click.echo(f"state: {binding['name']} ({binding['state_id']}) {binding['mode']}")


@task.command("ls")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def ls(ctx: click.Context, as_json: bool) -> None:
    """List known tasks, oldest first.

    \b
    Example:
      vyr task ls --json
    """
    tasks = open_daemon(ctx, _NO_TASKS).list_tasks()
    if as_json:
        print_json([t.to_json() for t in tasks])
        return
    rows = [
        [
            t.id,
            t.status,
            "" if t.exit_code is None else str(t.exit_code),
            t.artifact[:19] + "…",
            t.reason,
        ]
        for t in tasks
    ]
    print_table(rows, ["ID", "STATUS", "EXIT", "ARTIFACT", "REASON"])


@task.command("receipt")
@click.argument("task_id", metavar="ID")
@click.option("--out", type=click.Path(dir_okay=False), help="Write it to FILE instead of stdout.")
@click.pass_context
def receipt(ctx: click.Context, task_id: str, out: str | None) -> None:
    """Print (or write to --out) ended task ID's receipt: a DSSE envelope signed by the node
    key (check it with 'vyr receipt verify FILE --node-key PUB').

    \b
    Example:
      vyr task receipt t-0193a5c1e2f4a1b2c3d4e5 --out task.receipt.json
    """
    from vyr.cli.run import write_receipt

    node = open_daemon(ctx, _NO_TASKS)
    if out is None:
        sys.stdout.buffer.write(node.task_receipt(task_id))
        sys.stdout.buffer.flush()
        return
    write_receipt(node, task_id, out)
