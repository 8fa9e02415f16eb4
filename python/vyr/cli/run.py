"""`vyr run`: put (if needed), submit, wait, and relay the guest's output and exit code."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from vyr.cli._dirs import dir_option, parse_dir, prepare, write_back
from vyr.cli._node import open_node
from vyr.cli._output import EXIT_DEADLINE, EXIT_VYR_FAILURE, exit_code_for, fail, print_json
from vyr.cli._values import Count, Seconds, Size, UsageProblem, digest_problem


def task_options(command: Any) -> Any:
    """The options `vyr run` and `vyr task submit` share."""
    options = [
        click.option(
            "--input",
            "input_path",
            metavar="FILE|-",
            help="The task's stdin: a file, or - for this stdin. Default: this stdin when it is "
            "piped or redirected (not a terminal), else nothing.",
        ),
        click.option(
            "--state",
            "states",
            multiple=True,
            metavar="NAME:MODE[@PATH]",
            help="Bind a state (repeatable): MODE is ro or rw; the guest sees it at PATH, an "
            "absolute guest path (/ included), by default /state/NAME. Bindings need distinct, "
            "non-overlapping paths.",
        ),
        click.option(
            "--timeout",
            type=Seconds(),
            metavar="SECONDS",
            help="Wall-clock deadline (0.001 s up; the node sets the ceiling, 24 h by default).",
        ),
        click.option(
            "--memory",
            type=Size(),
            metavar="BYTES",
            help="Linear memory cap (e.g. 67108864, 64M; the node sets the ceiling).",
        ),
        click.option(
            "--fuel",
            type=Count(),
            metavar="N",
            help="Instruction budget (wasmtime fuel), 1 to 2**64-1.",
        ),
        click.option(
            "--env",
            "env",
            multiple=True,
            metavar="KEY=VALUE",
            help="Guest environment variable (repeatable).",
        ),
        click.option(
            "--deterministic",
            is_flag=True,
            help="Virtual clocks and seeded random: the same artifact, input and states give "
            "the same output on any node (docs/receipts.md).",
        ),
        click.argument("ref"),
        click.argument("guest_args", nargs=-1, metavar="[-- ARGS]..."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def build_submission(
    node: Any, ref: str, options: dict[str, Any], *, embedded_states: bool
) -> dict[str, Any]:
    """Resolves REF (digest or module path) and the shared options into submit arguments."""
    from vyr.types import Resources, StateBinding

    digest = resolve_ref(node, ref)
    bindings = [StateBinding.parse(text) for text in options["states"]]
    if embedded_states:
        # Embedded, a state lives only within this command: create the ones named.
        existing = {s.name for s in node.list_states()}
        for binding in bindings:
            if binding.state not in existing:
                node.create_state(binding.state)
                existing.add(binding.state)
    env = {}
    for item in options["env"]:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r}: expected KEY=VALUE", param_hint="--env")
        env[key] = value
    return {
        "artifact_digest": digest,
        "input_ref": read_input(options["input_path"]),
        "state_bindings": bindings,
        "resources": Resources(
            memory_bytes=options["memory"], timeout_s=options["timeout"], fuel=options["fuel"]
        ),
        "args": list(options["guest_args"]) or None,
        "env": env or None,
        "deterministic": options["deterministic"],
    }


def resolve_ref(node: Any, ref: str) -> str:
    """A digest as is; a module path is put first (with its .manifest.json and .sig)."""
    if ref.startswith("sha256:"):
        from vyr._core import parse_digest

        return str(parse_digest(ref))
    if not Path(ref).is_file():
        problem = digest_problem(ref)
        if problem is not None and problem[1].startswith("did you mean"):
            raise UsageProblem(problem[0], problem[1], param_hint="REF")
        raise click.BadParameter(
            f"{ref!r} is neither a sha256: digest nor a module file", param_hint="REF"
        )
    return str(node.put_module_file(ref).digest)


def read_input(path: str | None) -> bytes:
    """The task's input bytes: a file, this process's stdin (`-`, or by default when stdin is
    piped or redirected, as the wasmtime CLI passes it on), or nothing (stdin a terminal)."""
    if path is None:
        stdin = sys.stdin
        if stdin is None or stdin.isatty():
            return b""
        return stdin.buffer.read()
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise click.BadParameter(
            f"cannot read {path}: {error.strerror}", param_hint="--input"
        ) from None


def relay(result: Any, as_json: bool) -> None:
    """Writes the task's output and exits with the code `vyr run` promises."""
    if as_json:
        print_json(result.to_json(include_output=True))
    else:
        sys.stdout.buffer.write(result.stdout)
        sys.stdout.buffer.flush()
        sys.stderr.buffer.write(result.stderr)
        sys.stderr.buffer.flush()
    if result.status in ("succeeded", "failed"):
        sys.exit(result.exit_code & 0xFF if result.exit_code else 0)
    code = EXIT_DEADLINE if result.status == "deadline_exceeded" else EXIT_VYR_FAILURE
    if as_json:
        sys.exit(code)
    message = result.reason if code == EXIT_DEADLINE else f"task {result.status}: {result.reason}"
    fail(message, code=code)


@click.command()
@task_options
@dir_option
@click.option("--json", "as_json", is_flag=True, help="Print the result (with output) as JSON.")
@click.option(
    "--receipt",
    "receipt_file",
    type=click.Path(dir_okay=False),
    help="Write the task's receipt (a DSSE envelope signed by the node key) to FILE; the "
    "input is kept in the node home by digest, so 'vyr receipt replay' can run it again.",
)
@click.pass_context
def run(ctx: click.Context, /, as_json: bool, receipt_file: str | None, **options: Any) -> None:
    """Run REF (a sha256: digest, or a module path signed with `vyr sign`) and wait.

    The task's stdout and stderr are relayed; the exit status is the guest's exit code.
    A missed deadline exits 124; any other VYR-side failure (rejected, trapped, cancelled,
    a limit) exits 125 with `error: <reason>`; a usage error (a bad option value, a REF or
    --state that names nothing) exits 2. Arguments after `--` go to the guest. Piped or
    redirected stdin is the task's input unless --input says otherwise.

    \b
    Examples:
      echo hello | vyr run build/hello.wasm --input -
      vyr run sha256:9f2c... --input events.ndjson --timeout 5 --memory 64M
      vyr run build/collector.wasm --state site:rw -- collect site
      vyr run build/wc.wasm --dir ./books::/data:ro -- /data
    """
    from vyr.errors import VyrError

    mounts = [parse_dir(text) for text in options.pop("dirs")]
    try:
        node = open_node(ctx)
        submission = build_submission(
            node, options.pop("ref"), options, embedded_states=not hasattr(node, "endpoint")
        )
        submission["state_bindings"] += prepare(node, mounts)
        if receipt_file is not None:
            keep_input(node, submission)
        result = node.submit_task(**submission).wait()
        write_back(node, mounts, result)
        if receipt_file is not None:
            write_receipt(node, result.id, receipt_file)
    except VyrError as error:
        fail(error, code=exit_code_for(error, EXIT_VYR_FAILURE, starts_task=True))
    relay(result, as_json)


def keep_input(node: Any, submission: dict[str, Any]) -> None:
    """Stores the task's input in the node home's blob store (a daemon's by upload, the
    submit then naming it by digest), where a replay of its receipt finds it."""
    data = submission["input_ref"]
    if hasattr(node, "put_input"):
        submission["input_ref"] = node.put_input(data)
        return
    from vyr.blobs import BlobStore

    BlobStore(Path(node.home) / "blobs").put(data)


def write_receipt(node: Any, task_id: str, path: str) -> None:
    """Writes task `task_id`'s receipt to `path` (stderr says so)."""
    from vyr.errors import InvalidArgument

    receipt = node.task_receipt(task_id)
    try:
        Path(path).write_bytes(receipt)
    except OSError as error:
        raise InvalidArgument(f"cannot write the receipt to {path}: {error.strerror}") from None
    click.echo(f"receipt: {path}", err=True)
