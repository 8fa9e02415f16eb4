"""Checks a built vyr wheel, installs it into a fresh venv outside the clone and uses it.

    python scripts/wheel_smoke.py dist/vyr-*.whl workloads/build/hello.wasm

First the wheel itself: a manylinux tag no newer than glibc 2.28, and the extension, the
.proto, the type stubs and the licence inside (and no glibc symbol newer than 2.28 in the
extension). Then, from a temp cwd with a fresh HOME and VYR_HOME, what the README shows: keygen
(into a directory that does not exist yet), trust, sign, an embedded run, and a round trip
through `vyr daemon` (submit, wait, Ctrl-C, exit 0). A failure prints the command with its
stdout and stderr and leaves the temp dir in place.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import zipfile
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_GLIBC = (2, 28)
COMMAND_TIMEOUT_S = 180.0
DAEMON_START_TIMEOUT_S = 60.0
# `name-version-python-abi-platform.whl`; the platform may be several tags joined by dots.
WHEEL_NAME = re.compile(
    r"^vyr-(?P<version>[^-]+)-(?P<python>[^-]+)-(?P<abi>[^-]+)-(?P<platform>[^-]+)\.whl$"
)
MUST_SHIP = ("vyr/api/v0/control.proto", "vyr/_core.pyi", "vyr/py.typed", "vyr/cli/__init__.py")


class SmokeFailure(Exception):
    """One check failed; the message says which and carries what the command printed."""


def check_wheel(wheel: Path) -> str:
    """The wheel's file name, tag and listing; returns its version."""
    match = WHEEL_NAME.match(wheel.name)
    if match is None:
        raise SmokeFailure(f"{wheel.name}: not a vyr wheel file name")
    for platform in match["platform"].split("."):
        tag = re.fullmatch(r"manylinux_(\d+)_(\d+)_x86_64|manylinux2014_x86_64", platform)
        glibc = (
            (2, 17) if platform == "manylinux2014_x86_64" else tag and tuple(map(int, tag.groups()))
        )
        if not glibc or glibc > MAX_GLIBC:
            raise SmokeFailure(f"{wheel.name}: platform tag {platform!r} is not manylinux <= 2.28")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        missing = [name for name in MUST_SHIP if name not in names]
        extensions = [name for name in names if re.fullmatch(r"vyr/_core\..*so", name)]
        licences = [name for name in names if re.search(r"\.dist-info/licenses/LICENSE$", name)]
        if missing or len(extensions) != 1 or not licences:
            listing = "\n".join(names)
            raise SmokeFailure(
                f"{wheel.name} lacks {missing or ''} {'' if extensions else 'vyr/_core*.so'}"
                f" {'' if licences else 'dist-info/licenses/LICENSE'}\nlisting:\n{listing}"
            )
        # The dynamic symbol versions the extension needs are plain strings in .dynstr.
        binary = archive.read(extensions[0])
    needed = {tuple(map(int, v)) for v in re.findall(rb"GLIBC_(\d+)\.(\d+)", binary)}
    if not needed:
        raise SmokeFailure(f"{extensions[0]}: no GLIBC_ symbol versions found (not a glibc build?)")
    if max(needed) > MAX_GLIBC:
        newest = ".".join(map(str, max(needed)))
        raise SmokeFailure(f"{extensions[0]} needs glibc {newest}, newer than the tag allows")
    newest = ".".join(map(str, max(needed)))
    print(f"ok: {wheel.name}: {len(names)} files, the .proto included, needs glibc {newest}")
    return match["version"]


def run(
    command: Sequence[str | Path],
    *,
    cwd: Path,
    env: dict[str, str],
    stdin: bytes = b"",
    expect_stdout: bytes | None = None,
    label: str | None = None,
) -> str:
    """Runs one command; raises SmokeFailure (with its output) on a non-zero exit, a timeout
    or an unexpected stdout. Returns stdout as text; `label` replaces the command in the log."""
    shown = " ".join(str(part) for part in command)
    try:
        done = subprocess.run(
            [str(part) for part in command],
            cwd=cwd,
            env=env,
            input=stdin,
            capture_output=True,
            timeout=COMMAND_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise SmokeFailure(
            f"timed out after {COMMAND_TIMEOUT_S:.0f} s: {shown}\n{_output(error.stdout, error.stderr)}"
        ) from None
    output = _output(done.stdout, done.stderr)
    if done.returncode != 0:
        raise SmokeFailure(f"exit {done.returncode}: {shown}\n{output}")
    if expect_stdout is not None and done.stdout != expect_stdout:
        raise SmokeFailure(f"expected stdout {expect_stdout!r}: {shown}\n{output}")
    print(f"ok: {label or shown}")
    return done.stdout.decode()


def _output(stdout: bytes | str | None, stderr: bytes | str | None) -> str:
    def text(data: bytes | str | None) -> str:
        return data.decode(errors="replace") if isinstance(data, bytes) else data or ""

    return f"--- stdout\n{text(stdout)}\n--- stderr\n{text(stderr)}"


def user_environment(venv: Path, work: Path) -> dict[str, str]:
    """A user's environment: the venv on PATH, a fresh HOME and VYR_HOME, nothing pointing
    back at the clone or at another daemon."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("VYR_", "XDG_", "PYTHON", "OTEL_")) and key != "VIRTUAL_ENV"
    }
    env.update(
        HOME=str(work / "home"),
        VYR_HOME=str(work / "vyr-home"),
        PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
    )
    return env


def install(wheel: Path, work: Path) -> Path:
    """A fresh venv in `work` with the wheel (and its dependencies) installed; returns it."""
    venv = work / "venv"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    run([sys.executable, "-m", "venv", venv], cwd=work, env=clean, label=f"venv {venv}")
    install = [venv / "bin/python", "-m", "pip", "install", "--quiet", wheel]
    run(install, cwd=work, env=clean, label=f"pip install {wheel.name} (and its dependencies)")
    return venv


def check_installed(venv: Path, work: Path, env: dict[str, str], version: str) -> None:
    """`vyr` and the package come from the venv (not the clone), the .proto is installed, and
    `vyr --version` reports the wheel's version."""
    found = shutil.which("vyr", path=env["PATH"])
    if found is None or not Path(found).is_relative_to(venv):
        raise SmokeFailure(f"`vyr` on PATH is {found}, not the venv's")
    where = run(
        [
            venv / "bin/python",
            "-c",
            "import importlib.resources as r, vyr._core as core;"
            "print(core.__file__, r.files('vyr.api.v0').joinpath('control.proto').is_file())",
        ],
        cwd=work,
        env=env,
        label="import vyr._core and find vyr/api/v0/control.proto",
    ).split()
    if not Path(where[0]).is_relative_to(venv) or where[1] != "True":
        raise SmokeFailure(f"vyr._core from {where[0]}, control.proto installed: {where[1]}")
    reported = run(["vyr", "--version"], cwd=work, env=env).strip()
    if version not in reported:
        raise SmokeFailure(f"vyr --version says {reported!r}, not version {version}")


def use_cli(work: Path, env: dict[str, str], hello: Path) -> Path:
    """keygen, trust, sign and an embedded run, as the README shows; returns the signed module."""
    key = work / "keys" / "nested" / "dev.key"  # neither directory exists yet
    run(["vyr", "keygen", key], cwd=work, env=env)
    run(["vyr", "trust", "add", f"{key}.pub"], cwd=work, env=env)
    module = work / "hello.wasm"
    shutil.copy(hello, module)
    run(["vyr", "sign", module.name, "--key", key], cwd=work, env=env)
    run(
        ["vyr", "run", module.name, "--input", "-"],
        cwd=work,
        env=env,
        stdin=b"hello\n",
        expect_stdout=b"HELLO\n",
    )
    return module


def daemon_round_trip(work: Path, env: dict[str, str], module: Path) -> None:
    """`vyr daemon` on the home socket; a task submitted and waited for; Ctrl-C; exit 0."""
    daemon = subprocess.Popen(
        ["vyr", "daemon"], cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    log: list[str] = []
    listening = threading.Event()

    def pump() -> None:  # drains stderr so the daemon never blocks on a full pipe
        assert daemon.stderr is not None
        for line in iter(daemon.stderr.readline, b""):
            log.append(line.decode(errors="replace"))
            if "listening on" in log[-1]:
                listening.set()

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        if not listening.wait(DAEMON_START_TIMEOUT_S):
            raise SmokeFailure(f"vyr daemon did not start in {DAEMON_START_TIMEOUT_S:.0f} s")
        print(f"ok: vyr daemon ({log[-1].strip()})")
        task_id = run(
            ["vyr", "task", "submit", module.name, "--input", "-"],
            cwd=work,
            env=env,
            stdin=b"daemon\n",
        ).strip()
        run(["vyr", "task", "wait", task_id], cwd=work, env=env, expect_stdout=b"DAEMON\n")
        daemon.send_signal(signal.SIGINT)
        code = daemon.wait(COMMAND_TIMEOUT_S)
        if code != 0:
            raise SmokeFailure(f"vyr daemon exited {code} after SIGINT")
        print("ok: vyr daemon stopped by SIGINT, exit 0")
    except SmokeFailure as failure:
        reader.join(5)
        raise SmokeFailure(f"{failure}\n--- vyr daemon stderr\n{''.join(log)}") from None
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
        reader.join(5)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheel", nargs="+", type=Path, help="the wheel (exactly one)")
    parser.add_argument("hello", type=Path, help="the built hello.wasm guest")
    options = parser.parse_args(argv)
    if len(options.wheel) != 1 or not options.wheel[0].is_file():
        given = " ".join(map(str, options.wheel))
        print(f"error: expected one built wheel, got: {given}", file=sys.stderr)
        print("hint: make wheel", file=sys.stderr)
        return 2
    wheel, hello = options.wheel[0].resolve(), options.hello.resolve()
    try:
        version = check_wheel(wheel)
    except SmokeFailure as failure:
        print(f"error: wheel smoke failed: {failure}", file=sys.stderr)
        return 1
    work = Path(tempfile.mkdtemp(prefix="vyr-wheel-smoke-")).resolve()
    try:
        if work.is_relative_to(ROOT):
            raise SmokeFailure(f"the temp dir {work} is inside the clone: set TMPDIR elsewhere")
        venv = install(wheel, work)
        env = user_environment(venv, work)
        check_installed(venv, work, env, version)
        daemon_round_trip(work, env, use_cli(work, env, hello))
    except SmokeFailure as failure:
        print(f"error: wheel smoke failed: {failure}", file=sys.stderr)
        print(f"hint: its files are in {work}", file=sys.stderr)
        return 1
    shutil.rmtree(work)
    print(f"wheel smoke passed: {wheel.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
