"""The official WASI preview1 test suite (WebAssembly/wasi-testsuite), run through VYR as its
specification says: each program signed and put, its args and env given, a fresh copy of its
fixture directory as the state bound at `/` (`root`) or `/NAME` (`dirs`), its stdin, and its
exit code and output compared. Every program found is run, twice: through the SDK
(`vyr.Runtime`) and through the CLI's `vyr run --dir`, the shape wasmtime users know.

The suite is read from $VYR_WASI_TESTSUITE, else `../shared/wasi-testsuite` beside the clone
(or `/work/shared/wasi-testsuite`); point the variable at a full checkout of the suite to run
all of it. A missing suite fails the run: it is never skipped silently.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from wasi_spec import UnsupportedSpec, WasiCase, discover, read_case

REPO = Path(__file__).resolve().parents[2]
# $VYR_WASI_TESTSUITE, else the copy beside the clone, else the workplace's shared one.
_CANDIDATES = [REPO.parent / "shared" / "wasi-testsuite", Path("/work/shared/wasi-testsuite")]
SUITE = Path(
    os.environ.get("VYR_WASI_TESTSUITE")
    or next((path for path in _CANDIDATES if path.is_dir()), _CANDIDATES[0])
)
MODULES = discover(SUITE) if SUITE.is_dir() else []


def _case_id(module: Path) -> str:
    return str(module.relative_to(SUITE)).removesuffix(".wasm")


def test_suite_is_present() -> None:
    assert SUITE.is_dir(), (
        f"the WASI test suite is not at {SUITE}: set VYR_WASI_TESTSUITE to a checkout of"
        " WebAssembly/wasi-testsuite (branch prod/testsuite-base)"
    )
    assert MODULES, f"no .wasm test programs below {SUITE}"


@pytest.fixture(scope="module")
def signer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from vyr.keys import generate_key

    private, _ = generate_key(tmp_path_factory.mktemp("suite-key") / "suite.key")
    return private


@pytest.fixture(scope="module")
def suite_shell(tmp_path_factory: pytest.TempPathFactory, signer: Path):  # type: ignore[no-untyped-def]
    """A fresh HOME whose embedded node trusts the suite's signing key."""
    from cli_harness import make_shell

    shell = make_shell(tmp_path_factory.mktemp("suite-cli"))
    trusted = shell.vyr("trust", "add", f"{signer}.pub")
    assert trusted.returncode == 0, trusted.stderr
    return shell


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory, signer: Path) -> Iterator[object]:
    from vyr.runtime import Runtime

    base = tmp_path_factory.mktemp("suite-node")
    node = Runtime(base / "home", state_linger_s=0.5, state_dir=str(base / "states"))
    node.trust_add(Path(f"{signer}.pub").read_text())
    yield node
    node.close()


def _case(module: Path) -> WasiCase:
    try:
        return read_case(module)
    except UnsupportedSpec as why:
        pytest.fail(f"{module.name}: not runnable on VYR: {why} (docs/wasi.md)")


def _signed_copy(module: Path, key: Path, scratch: Path) -> Path:
    from vyr.keys import sign_module

    copy = scratch / module.name
    shutil.copy(module, copy)
    sign_module(copy, key, name=module.stem)
    return copy


def _fresh_fixtures(case: WasiCase, scratch: Path) -> list[tuple[Path, str]]:
    """A fresh copy of each directory the case mounts, without the `*.cleanup` files an
    earlier run of the suite may have left in the original."""
    copies = []
    for index, (relative, guest) in enumerate(case.mounts):
        copy = scratch / f"fixture-{index}"
        shutil.copytree(case.module.parent / relative, copy, symlinks=True)
        for leftover in copy.rglob("*.cleanup"):
            if leftover.is_dir() and not leftover.is_symlink():
                shutil.rmtree(leftover)
            else:
                leftover.unlink()
        copies.append((copy, guest))
    return copies


def _mismatches(case: WasiCase, exit_code: int | None, stdout: str, stderr: str) -> list[str]:
    problems = []
    if exit_code != case.exit_code:
        problems.append(f"exit code {exit_code}, expected {case.exit_code}")
    if case.stdout is not None and stdout != case.stdout:
        problems.append(f"stdout {stdout!r}, expected {case.stdout!r}")
    if case.stderr is not None and stderr != case.stderr:
        problems.append(f"stderr {stderr!r}, expected {case.stderr!r}")
    return problems


@pytest.mark.parametrize("module", MODULES, ids=_case_id)
def test_program_through_sdk(module: Path, runtime, signer: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from vyr.types import StateBinding

    case = _case(module)
    digest = runtime.put_module_file(_signed_copy(module, signer, tmp_path)).digest
    bindings = []
    for index, (fixture, guest) in enumerate(_fresh_fixtures(case, tmp_path)):
        state = runtime.create_state(f"{tmp_path.name[-40:]}-{index}", source=fixture)
        bindings.append(StateBinding(state.id, "rw", guest))
    result = runtime.run(digest, case.stdin, bindings, args=case.args, env=case.env)
    stdout = result.stdout.decode(errors="replace")
    stderr = result.stderr.decode(errors="replace")
    problems = _mismatches(case, result.exit_code, stdout, stderr)
    assert not problems, f"{case.name} ({result.status}: {result.reason}): " + "; ".join(problems)


@pytest.mark.parametrize("module", MODULES, ids=_case_id)
def test_program_through_cli_dir(module: Path, suite_shell, signer: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from cli_harness import vyr_command

    case = _case(module)
    shell = suite_shell
    command = [vyr_command(), "run", str(_signed_copy(module, signer, tmp_path))]
    for fixture, guest in _fresh_fixtures(case, tmp_path):
        command += ["--dir", f"{fixture}::{guest}"]
    for name, value in case.env.items():
        command += ["--env", f"{name}={value}"]
    done = subprocess.run(
        [*command, "--", *case.args],
        input=case.stdin,
        capture_output=True,
        env=shell.env,
        cwd=shell.cwd,
        timeout=120,
    )
    stdout = done.stdout.decode(errors="replace")
    stderr = done.stderr.decode(errors="replace")
    problems = _mismatches(case, done.returncode, stdout, stderr if case.stderr is not None else "")
    assert not problems, f"{case.name}: " + "; ".join(problems) + f"\nstderr: {stderr}"
