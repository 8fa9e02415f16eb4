"""The `vyr` command line. Subcommands load lazily so `vyr --help` stays fast."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Sequence
from typing import Any

import click

from vyr.cli._output import fail, report_usage, use_color
from vyr.errors import VyrError

# click >= 8.2 raises this for a group called without a command (it prints the help).
_NO_ARGS_IS_HELP: Any = getattr(click.exceptions, "NoArgsIsHelpError", ())

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
    "receipt": ("vyr.cli.receipt", "receipt"),
    "node": ("vyr.cli.node", "node"),
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
    "receipt": "Verify, show and replay receipts (signed proof of what a task ran).",
    "node": "Show this node's identity (the key that signs its receipts).",
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

    def main(  # one signature for both of click's overloads
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """click's main, with usage errors reported as `error:`/`hint:` (exit 2) like every
        other error; the rest of standalone mode (Abort, EPIPE, exit codes) as click does it."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, **extra)
        except click.UsageError as error:
            if isinstance(error, _NO_ARGS_IS_HELP):
                error.show()  # `vyr` alone: the help text itself
            else:
                report_usage(error)
            sys.exit(error.exit_code)
        except click.ClickException as error:
            error.show()
            sys.exit(error.exit_code)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


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
    help="The daemon to talk to (unix:PATH or https://HOST:PORT); default: the daemon serving "
    "<home>/vyr.sock, if one is.",
)
@click.version_option(None, "-V", "--version", package_name="vyr", prog_name="vyr")
@click.pass_context
def cli(ctx: click.Context, home: str | None, endpoint: str | None) -> None:
    """VYR runs signed WebAssembly (WASI) tasks on this machine.

    \b
    Quick start:
      vyr keygen ~/.vyr/dev.key && vyr trust add ~/.vyr/dev.key.pub
      vyr sign app.wasm --key ~/.vyr/dev.key
      echo hello | vyr run app.wasm --input -

    Every command talks to a daemon when there is one (--endpoint / VYR_ENDPOINT, else a
    `vyr daemon` serving <home>/vyr.sock) and runs an embedded node otherwise; what must
    outlive the command (states, submitted tasks, trace and metric history) needs the daemon.

    \b
    Shell completion (bash; zsh and fish alike, see docs/cli.md):
      eval "$(_VYR_COMPLETE=bash_source vyr)"
    """
    ctx.obj = {
        "home": os.path.expanduser(home) if home else None,
        "endpoint": endpoint,
        "color": use_color(),
    }


def main() -> None:
    """Console entry point."""
    sys.exit(cli.main(prog_name="vyr", standalone_mode=True))
