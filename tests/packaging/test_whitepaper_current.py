"""The whitepaper's generated parts (blocks, charts, diagram) match what docs/data/ gives."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness import REPO as ROOT
from scripts.whitepaper.data import DATA_FILES
from scripts.whitepaper.diagram import SOURCE
from scripts.whitepaper.generate import BLOCKS, PAPER, UnknownBlock, render_paper, write


def _copy_inputs(target: Path) -> None:
    for name in (*DATA_FILES, SOURCE, PAPER):
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / name, target / name)


def test_the_committed_paper_and_images_are_current(tmp_path: Path) -> None:
    # Regenerate into a temp copy holding only the inputs, then compare file by file: a
    # difference means someone edited a generated part by hand or changed the data without
    # running `python -m scripts.whitepaper`.
    _copy_inputs(tmp_path)
    generated = write(tmp_path)
    assert generated, "the generator wrote nothing"
    stale = [
        path for path in generated if (tmp_path / path).read_text() != (ROOT / path).read_text()
    ]
    assert stale == [], f"stale (run: python -m scripts.whitepaper): {stale}"


def test_every_block_of_the_paper_is_generated_and_every_generator_used() -> None:
    text = (ROOT / PAPER).read_text()
    named = {
        line.split("generated: ")[1].split(" ")[0]
        for line in text.splitlines()
        if line.startswith("<!-- generated: ")
    }
    assert named == set(BLOCKS)


def test_a_changed_figure_changes_the_paper(tmp_path: Path) -> None:
    _copy_inputs(tmp_path)
    data_file = tmp_path / "docs/data/benchmarks.json"
    data_file.write_text(data_file.read_text().replace("0.46035430599840765", "0.9", 1))
    write(tmp_path)
    assert (tmp_path / PAPER).read_text() != (ROOT / PAPER).read_text()


def test_an_unknown_block_is_refused() -> None:
    with pytest.raises(UnknownBlock, match="nonsense"):
        render_paper("<!-- generated: nonsense -->\n<!-- /generated -->\n", None)  # type: ignore[arg-type]


def test_the_scope_comes_first_and_verbatim() -> None:
    seed_rows = [
        "| KYX (all components) | Requires accumulated telemetry history that does not exist at "
        "MVO stage | 12–18 months |",
        "| OCI runtime (full path) | Compatibility stub only; not a supported execution path at "
        "MVO | 6–12 months |",
    ]
    text = (ROOT / PAPER).read_text()
    first_section = text.index("\n## ")
    assert text[first_section:].startswith("\n## 1. Scope: what is explicitly excluded")
    for row in seed_rows:
        assert row in text
    assert text.index(seed_rows[0]) < text.index("## 2. ")
