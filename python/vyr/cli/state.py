"""`vyr state create|export|ls|bind`: ephemeral state on the node."""

from __future__ import annotations

import click

from vyr.cli._node import open_daemon
from vyr.cli._output import print_json, print_table


@click.group()
def state() -> None:
    """Ephemeral state: a directory tasks see (at /state/NAME or --state NAME:MODE@PATH),
    filled from files or empty, exported back out, gone after its last task.

    States live on a daemon (--endpoint / VYR_ENDPOINT, else the one serving
    <home>/vyr.sock); without one these commands refuse, since a state made by an embedded
    node would be gone when the command exits. Embedded, `vyr run --state NAME:rw` makes the
    state for that one run.
    """


@state.command("create")
@click.argument("name")
@click.option(
    "--from",
    "source",
    metavar="DIR|FILE.tar",
    type=click.Path(exists=True, file_okay=True, dir_okay=True),
    help="Fill the state from a directory or a tar archive (.tar or .tar.gz): uploaded in "
    "chunks and unpacked by the node, which refuses paths or links leaving the state, device "
    "nodes, FIFOs, and content over its state size cap.",
)
@click.pass_context
def create(ctx: click.Context, name: str, source: str | None) -> None:
    """Create a state called NAME, empty or filled from files; prints its id.

    \b
    Examples:
      vyr state create lookup
      vyr state create site --from ./public
      vyr state create corpus --from corpus.tar
    """
    why = "a state made here would be freed when this command exits"
    created = open_daemon(ctx, why).create_state(name, source=source)
    click.echo(created.id)
    if source is not None:
        click.echo(
            f"filled {created.name} from {source}: {created.files} entries, {created.bytes} bytes,"
            f" tree digest {created.digest}",
            err=True,
        )


@state.command("export")
@click.argument("state_ref", metavar="STATE")
@click.option(
    "--out",
    required=True,
    metavar="DIR|FILE.tar",
    type=click.Path(),
    help="Where to write the content: a path ending in .tar gets an archive, any other a "
    "directory (created; it must be missing or empty).",
)
@click.pass_context
def export(ctx: click.Context, state_ref: str, out: str) -> None:
    """Write the committed content of STATE (id or name) to a directory or a tar archive:
    what the tasks that ran on it left there.

    \b
    Examples:
      vyr state export site --out ./site-after
      vyr state export site --out site.tar
    """
    from vyr import state_content
    from vyr.errors import InvalidArgument

    try:
        state_content.check_export_target(out)
    except InvalidArgument as problem:
        raise click.BadParameter(str(problem), param_hint="--out") from None
    node = open_daemon(ctx, "states live on a daemon; an embedded node has none")
    exported = node.export_state(state_ref, out)
    click.echo(
        f"exported {exported.name} to {out}: {exported.files} entries, {exported.bytes} bytes,"
        f" tree digest {exported.digest}",
        err=True,
    )


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
                    "files": s.files,
                    "digest": s.digest,
                }
                for s in states
            ]
        )
    else:
        print_table(
            [
                [s.id, s.name, s.cls, str(s.bound_tasks), str(s.bytes), s.digest[:16]]
                for s in states
            ],
            ["ID", "NAME", "CLASS", "TASKS", "BYTES", "DIGEST"],
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
