"""The `vyr` command line. Subcommands load lazily so `vyr --help` stays fast."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Any

import click

from vyr.cli._output import fail, use_color
from vyr.errors import VyrError

# name -> (module, attribute): imported only when that command runs or is asked for help.
COMMANDS = {
    "keygen": ("vyr.cli.keys", "keygen"),
    "sign": ("vyr.cli.keys", "sign"),
    "trust": ("vyr.cli.keys", "trust"),
    "artifact": ("vyr.cli.artifact", "artifact"),
    "run": ("vyr.cli.run", "run"),
    "state": ("vyr.cli.state", "state"),
    "task": ("vyr.cli.task", "task"),
    "daemon": ("vyr.cli.daemon", "daemon"),
    "traces": ("vyr.cli.observe", "traces"),
    "metrics": ("vyr.cli.observe", "metrics"),
}
SUMMARIES = {
    "keygen": "Create a signing key pair (PATH and PATH.pub).",
    "sign": "Write MODULE.manifest.json and MODULE.sig for a Wasm module.",
    "trust": "Manage the public keys this node trusts.",
    "artifact": "Put, list, export and import signed artifacts.",
    "run": "Run an artifact (digest or module path) and print its output.",
    "state": "Create, list and bind ephemeral states.",
    "task": "Submit, wait for, inspect and cancel tasks.",
    "daemon": "Serve the Control API over gRPC.",
    "traces": "Show task trace spans.",
    "metrics": "Show runtime metrics.",
}


class LazyGroup(click.Group):
    """A group whose commands are imported on first use; turns `VyrError` into `error: ...`."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name in COMMANDS if _available(name)]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS or not _available(name):
            return None
        module, attribute = COMMANDS[name]
        command: click.Command = getattr(importlib.import_module(module), attribute)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, SUMMARIES[name]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except VyrError as error:
            fail(error)


def _available(name: str) -> bool:
    module = COMMANDS[name][0]
    return importlib.util.find_spec(module) is not None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--home",
    envvar="VYR_HOME",
    type=click.Path(file_okay=False),
    help="Node home (keys, artifacts, cache). Default: $VYR_HOME or ~/.local/share/vyr.",
)
@click.option(
    "--endpoint",
    envvar="VYR_ENDPOINT",
    help="Talk to a daemon (unix:PATH or https://HOST:PORT) instead of running embedded.",
)
@click.version_option(package_name="vyr", prog_name="vyr")
@click.pass_context
def cli(ctx: click.Context, home: str | None, endpoint: str | None) -> None:
    """VYR runs signed WebAssembly (WASI) tasks on this machine.

    \b
    Quick start:
      vyr keygen ~/.vyr/dev.key && vyr trust add ~/.vyr/dev.key.pub
      vyr sign app.wasm --key ~/.vyr/dev.key
      echo hello | vyr run app.wasm --input -
    """
    ctx.obj = {"home": home, "endpoint": endpoint, "color": use_color()}


def main() -> None:
    """Console entry point."""
    sys.exit(cli.main(prog_name="vyr", standalone_mode=True))
