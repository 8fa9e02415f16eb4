"""Regenerates the committed gRPC Python code from `proto/` (run after editing a .proto).

    python scripts/gen_protos.py            # writes python/vyr/api/v0/control_pb2*.py(i)
    python scripts/gen_protos.py --out DIR  # writes DIR/vyr/api/v0/... (the drift check)

The output path mirrors the proto path, so generated imports read `from vyr.api.v0 import ...`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "proto"
DEFAULT_OUT = ROOT / "python"


def proto_files() -> list[Path]:
    """Every .proto under proto/, sorted (stable output)."""
    return sorted(PROTO_ROOT.rglob("*.proto"))


def generate(out: Path) -> list[Path]:
    """Runs grpc_tools.protoc into `out`; returns the files written."""
    from grpc_tools import protoc

    out.mkdir(parents=True, exist_ok=True)
    # Relative proto paths keep absolute checkout paths out of the generated code.
    sources = [str(path.relative_to(PROTO_ROOT)) for path in proto_files()]
    include = Path(protoc.__file__).parent / "_proto"
    arguments = [
        "grpc_tools.protoc",
        f"-I{PROTO_ROOT}",
        f"-I{include}",
        f"--python_out={out}",
        f"--pyi_out={out}",
        f"--grpc_python_out={out}",
        *sources,
    ]
    if protoc.main(arguments) != 0:
        raise SystemExit("protoc failed")
    return sorted(p for p in out.rglob("*_pb2*.py*"))


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="output root (default: python/)"
    )
    written = generate(parser.parse_args().out)
    for path in written:
        print(path, file=sys.stderr)


if __name__ == "__main__":
    main()
