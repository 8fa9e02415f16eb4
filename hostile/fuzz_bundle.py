"""Coverage-guided fuzzing of the bundle reader (python/vyr/bundle.py) with atheris.

Every input is written to a file and read with `vyr.bundle.read_bundle`: it must return or
raise `InvalidBundle`; anything else (a traceback for a user) is a finding, and atheris stops
with the input saved as `crash-*`. The corpus starts from a real exported bundle.

    python -m hostile.fuzz_bundle -max_total_time=30 build/hostile/bundle-corpus
    (libFuzzer options: -runs=N, -max_total_time=S, -jobs=N, a corpus directory)
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["vyr.bundle", "tarfile", "json"]):
    import tarfile  # noqa: F401  (instrumented for coverage)

    from vyr.bundle import read_bundle
    from vyr.errors import InvalidBundle

_SCRATCH = Path(tempfile.mkdtemp(prefix="vyr-fuzz-bundle-"))
_CANDIDATE = _SCRATCH / "candidate.bundle"


def one_input(data: bytes) -> None:
    """The fuzz target: read `data` as a bundle file."""
    _CANDIDATE.write_bytes(data)
    try:
        read_bundle(_CANDIDATE)
    except InvalidBundle:
        pass


def seed_corpus(directory: Path) -> None:
    """Puts a real bundle (hello, signed by a fresh key) in `directory` if it is empty."""
    directory.mkdir(parents=True, exist_ok=True)
    if any(directory.iterdir()):
        return
    from hostile.mutate import prepare

    with tempfile.TemporaryDirectory() as workdir:
        (directory / "reference.bundle").write_bytes(prepare(Path(workdir)).bundle)


def main() -> None:
    """libFuzzer's command line; the first non-option argument is the corpus directory."""
    corpus = next((arg for arg in sys.argv[1:] if not arg.startswith("-")), None)
    if corpus is not None:
        seed_corpus(Path(corpus))
    os.environ.setdefault("PYTHONHASHSEED", "0")
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
