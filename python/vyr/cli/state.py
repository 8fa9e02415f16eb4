"""`vyr state create|ls|bind`: ephemeral state on the node."""

from __future__ import annotations

import click

from vyr.cli._node import open_daemon
from vyr.cli._output import print_json, print_table


@click.group()
def state() -> None:
    """Ephemeral state: a directory tasks see at /state/NAME, gone after its last task.

    States live on a daemon (--endpoint / VYR_ENDPOINT, else the one serving
    <home>/vyr.sock); without one these commands refuse, since a state made by an embedded
    node would be gone when the command exits. Embedded, `vyr run --state NAME:rw` makes the
    state for that one run.
    """


@state.command("create")
@click.argument("name")
@click.pass_context
def create(ctx: click.Context, name: str) -> None:
    """Create a state called NAME; prints its id.

    \b
    Example:
      vyr state create lookup
    """
    why = "a state made here would be freed when this command exits"
    click.echo(open_daemon(ctx, why).create_state(name).id)


@state.command("ls")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def ls(ctx: click.Context, as_json: bool) -> None:
    """List live states."""
    states = open_daemon(ctx, "states live on a daemon; an embedded node has none").list_states()
    if as_json:
        print_json(
            [
                {
                    "id": s.id,
                    "name": s.name,
                    "class": s.cls,
                    "bound_tasks": s.bound_tasks,
                    "bytes": s.bytes,
                }
                for s in states
            ]
        )
    else:
        print_table(
            [[s.id, s.name, s.cls, str(s.bound_tasks), str(s.bytes)] for s in states],
            ["ID", "NAME", "CLASS", "TASKS", "BYTES"],
        )


@state.command("bind")
@click.argument("task_id")
@click.argument("state_ref", metavar="STATE")
@click.option(
    "--mode", type=click.Choice(["ro", "rw"]), required=True, help="Read-only or read-write."
)
@click.option(
    "--at",
    "guest_path",
    metavar="GUEST_PATH",
    help="Where the guest sees the state: an absolute path, / included. Default /state/NAME.",
)
@click.pass_context
def bind(
    ctx: click.Context, task_id: str, state_ref: str, mode: str, guest_path: str | None
) -> None:
    """Bind STATE (id or name) to a task that has not started yet.

    \b
    Examples:
      vyr state bind t-0193... lookup --mode ro
      vyr state bind t-0193... site --mode rw --at /
    """
    node = open_daemon(ctx, "tasks and states live on a daemon")
    node.bind_state(task_id, state_ref, mode, guest_path)
    where = f", at {guest_path}" if guest_path else ""
    click.echo(f"bound {state_ref} to {task_id} ({mode}{where})", err=True)
