"""`vyr traces` and `vyr metrics`: the observation streams, as text or JSON lines."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from vyr.cli._node import open_node

_EMBEDDED_NOTE = (
    "History is per process: without --endpoint this reads a node embedded in this very "
    "command, whose history starts empty, so point it at a daemon (--endpoint / VYR_ENDPOINT)."
)
TRACES_HELP = f"""Show the spans of ended tasks from the node's trace history.

One trace per task: vyr.submit (root) with vyr.artifact.load, vyr.instantiate, vyr.execute and
vyr.complete. Each --json line has name, trace_id, span_id, parent_span_id,
start_time_unix_nano, end_time_unix_nano, attributes, status, task_id and cursor. {_EMBEDDED_NOTE}

\b
Examples:
  vyr --endpoint unix:$HOME/.local/share/vyr/vyr.sock traces --task t-0193a5c1e2f4 --json
  vyr traces --follow --span vyr.execute
"""
METRICS_HELP = f"""Show the node's metrics: tasks by status, duration, queue wait, start latency,
memory, fuel, compile cache, dropped spans. {_EMBEDDED_NOTE}

\b
Examples:
  vyr --endpoint unix:$HOME/.local/share/vyr/vyr.sock metrics --json
  vyr metrics --follow --interval 5000 --name vyr.task.finished
"""


@click.command(help=TRACES_HELP)
@click.option(
    "--task", "task_ids", multiple=True, metavar="ID", help="Only this task (repeatable)."
)
@click.option("--artifact", default="", metavar="DIGEST", help="Only tasks of this artifact.")
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
    type=click.IntRange(min=0),
    metavar="CURSOR",
    help="Resume after this cursor (default: the whole history).",
)
@click.option(
    "--follow", "-f", is_flag=True, help="Keep printing spans of tasks as they end (Ctrl-C stops)."
)
@click.option(
    "--json", "as_json", is_flag=True, help='One JSON object per line (gaps as {"gap": ...}).'
)
@click.pass_context
def traces(
    ctx: click.Context,
    task_ids: tuple[str, ...],
    artifact: str,
    statuses: tuple[str, ...],
    span_names: tuple[str, ...],
    after: int | None,
    follow: bool,
    as_json: bool,
) -> None:
    node = open_node(ctx)
    items = node.stream_traces(
        task_ids, artifact, statuses, span_names, after=0 if after is None else after, follow=follow
    )
    _print_all(items, as_json, _span_line)


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
    type=click.IntRange(min=0),
    default=0,
    metavar="MS",
    help="With --follow: at most one snapshot per interval.",
)
@click.option(
    "--follow", "-f", is_flag=True, help="Keep printing a snapshot per interval (Ctrl-C stops)."
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_context
def metrics(
    ctx: click.Context, names: tuple[str, ...], interval: int, follow: bool, as_json: bool
) -> None:
    node = open_node(ctx)
    _print_all(
        node.stream_metrics(names, interval_ms=interval, follow=follow), as_json, _point_line
    )


def _print_all(items: Any, as_json: bool, line: Any) -> None:
    from vyr.telemetry.hub import Gap

    try:
        for item in items:
            if isinstance(item, Gap):
                if as_json:
                    click.echo(
                        json.dumps(
                            {
                                "gap": {
                                    "missed": item.missed,
                                    "reason": item.reason,
                                    "cursor": item.cursor,
                                }
                            }
                        )
                    )
                else:
                    click.echo(
                        f"warning: {item.missed} item(s) missed ({item.reason}) up to cursor {item.cursor}",
                        err=True,
                    )
                continue
            click.echo(json.dumps(item.to_json(), sort_keys=True) if as_json else line(item))
            sys.stdout.flush()
    except KeyboardInterrupt:
        sys.exit(130)


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
