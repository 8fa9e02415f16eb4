"""`vyr traces` and `vyr metrics`: the observation streams, as text or JSON lines."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from vyr.cli._node import open_daemon
from vyr.cli._values import Count, Digest

_Command = TypeVar("_Command", bound=Callable[..., Any])

# Without a daemon there is nothing to read: the history belongs to a long-lived node.
_NO_HISTORY = (
    "an embedded node's trace and metric history starts empty, so there is nothing to show"
)
_CONTEXT_NOTE = (
    "Reads the daemon (--endpoint / VYR_ENDPOINT, else the one serving <home>/vyr.sock); "
    "without one it says so and exits 1, since a node embedded in this command has no history."
)
TRACES_HELP = f"""Show the spans of ended tasks from the node's trace history.

One trace per task: vyr.submit (root) with vyr.artifact.load, vyr.instantiate, vyr.execute and
vyr.complete. Each --json line has name, trace_id, span_id, parent_span_id,
start_time_unix_nano, end_time_unix_nano, attributes, status, task_id and cursor. Without
--follow it prints the history and exits. {_CONTEXT_NOTE}

\b
Examples:
  vyr traces --task t-0193a5c1e2f4 --json
  vyr traces --follow --span vyr.execute --limit 5
"""
METRICS_HELP = f"""Show the node's metrics: tasks by status, duration, queue wait, start latency,
memory, fuel, compile cache, dropped spans. Without --follow it prints one snapshot and exits.
{_CONTEXT_NOTE}

\b
Examples:
  vyr metrics --json
  vyr metrics --follow --interval 1000 --limit 2 --name vyr.task.finished
"""


def _limit_option(what: str) -> Callable[[_Command], _Command]:
    return click.option(
        "--limit",
        type=Count(),
        metavar="N",
        help=f"Stop after {what} (with --follow: a way to end it without Ctrl-C).",
    )


@click.command(help=TRACES_HELP)
@click.option(
    "--task", "task_ids", multiple=True, metavar="ID", help="Only this task (repeatable)."
)
@click.option("--artifact", type=Digest(), metavar="DIGEST", help="Only tasks of this artifact.")
@click.option(
    "--status",
    "statuses",
    multiple=True,
    metavar="STATUS",
    help="Only tasks that ended so (repeatable).",
)
@click.option(
    "--span",
    "span_names",
    multiple=True,
    metavar="NAME",
    help="Only spans with this name, e.g. vyr.execute (repeatable).",
)
@click.option(
    "--after",
    type=Count(minimum=0),
    metavar="CURSOR",
    help="Resume after this cursor (default: the whole history).",
)
@click.option(
    "--follow/--no-follow",
    "-f",
    default=False,
    help="Keep printing spans of tasks as they end (Ctrl-C stops), or (default) print the "
    "history and exit.",
)
@_limit_option("N spans")
@click.option(
    "--json", "as_json", is_flag=True, help='One JSON object per line (gaps as {"gap": ...}).'
)
@click.pass_context
def traces(
    ctx: click.Context,
    task_ids: tuple[str, ...],
    artifact: str | None,
    statuses: tuple[str, ...],
    span_names: tuple[str, ...],
    after: int | None,
    follow: bool,
    limit: int | None,
    as_json: bool,
) -> None:
    node = open_daemon(ctx, _NO_HISTORY)
    items = node.stream_traces(
        task_ids,
        artifact or "",
        statuses,
        span_names,
        after=0 if after is None else after,
        follow=follow,
    )
    _print_all(items, as_json, _span_line, limit)


@click.command(help=METRICS_HELP)
@click.option(
    "--name",
    "names",
    multiple=True,
    metavar="NAME",
    help="Only this metric, e.g. vyr.task.finished (repeatable).",
)
@click.option(
    "--interval",
    type=Count(minimum=0, maximum=2**32 - 1),
    default=0,
    metavar="MS",
    help="With --follow: at most one snapshot per interval.",
)
@click.option(
    "--follow/--no-follow",
    "-f",
    default=False,
    help="Keep printing a snapshot per interval (Ctrl-C stops), or (default) one and exit.",
)
@_limit_option("N snapshots")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_context
def metrics(
    ctx: click.Context,
    names: tuple[str, ...],
    interval: int,
    follow: bool,
    limit: int | None,
    as_json: bool,
) -> None:
    node = open_daemon(ctx, _NO_HISTORY)
    points = node.stream_metrics(names, interval_ms=interval, follow=follow)
    _print_all(points, as_json, _point_line, limit, per_snapshot=True)


def _print_all(
    items: Any, as_json: bool, line: Any, limit: int | None, *, per_snapshot: bool = False
) -> None:
    """Prints items (and gaps) until the stream ends or `limit` spans, or snapshots (the
    points of one history cursor), were shown."""
    from vyr.telemetry.hub import Gap

    shown, snapshot = 0, None
    try:
        for item in items:
            if isinstance(item, Gap):
                _print_gap(item, as_json)
                continue
            if per_snapshot and limit is not None and item.cursor != snapshot:
                # A snapshot is complete only when the next one starts.
                if shown == limit:
                    break
                shown, snapshot = shown + 1, item.cursor
            click.echo(json.dumps(item.to_json(), sort_keys=True) if as_json else line(item))
            sys.stdout.flush()
            if not per_snapshot and limit is not None:
                shown += 1
                if shown == limit:
                    break
    except KeyboardInterrupt:
        sys.exit(130)


def _print_gap(gap: Any, as_json: bool) -> None:
    if as_json:
        missed = {"missed": gap.missed, "reason": gap.reason, "cursor": gap.cursor}
        click.echo(json.dumps({"gap": missed}))
    else:
        click.echo(
            f"warning: {gap.missed} item(s) missed ({gap.reason}) up to cursor {gap.cursor}",
            err=True,
        )


def _span_line(span: Any) -> str:
    micros = (span.end_time_unix_nano - span.start_time_unix_nano) / 1000
    status = "" if span.status == "unset" else f" [{span.status}]"
    depth = "  " if span.parent_span_id and span.name != "vyr.submit" else ""
    return f"{span.task_id}  {depth}{span.name}  {micros:.1f} µs{status}  trace={span.trace_id} span={span.span_id}"


def _point_line(point: Any) -> str:
    labels = ",".join(f"{k}={v}" for k, v in sorted(point.attributes.items()))
    name = f"{point.name}{{{labels}}}" if labels else point.name
    if point.kind == "histogram":
        return f"{name}  count={point.count} sum={point.sum:g} min={point.min:g} max={point.max:g}"
    return f"{name}  {point.value:g}"
