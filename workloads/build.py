"""Build every reference guest to <out>/<name>.wasm and <out>/<name>.native.

    python workloads/build.py [--out DIR] [--only NAME ...] [--no-native]

Uses the pinned ``ziglang`` package (workloads/requirements.txt) as the C
toolchain; it installs nothing. Output is reproducible: the same sources and
the same ziglang version give byte-identical files (symbols and debug info are
stripped, so no path or timestamp is embedded). Prints ``<sha256>  <file>`` for
each output, and writes the same lines to <out>/SHA256SUMS.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORKLOADS = ("hello", "event-transform", "collector", "anomaly", "state-file", "textstats")
# -ffp-contract=off: no fused multiply-add, so floating-point results are the
# same on every target (the anomaly native-vs-wasm comparison depends on it).
COMMON_FLAGS = [
    "-O2",
    "-s",
    "-std=c11",
    "-D_GNU_SOURCE",
    "-ffp-contract=off",
    "-Wall",
    "-Wextra",
    "-Werror",
]
TARGET_FLAGS = {
    "wasm": ["-target", "wasm32-wasi"],
    "native": ["-target", "x86_64-linux-musl", "-mcpu=baseline", "-static"],
}


def zig_cc() -> list[str]:
    """The compiler command, or exit with a clear message when ziglang is missing."""
    if importlib.util.find_spec("ziglang") is None:
        sys.exit(
            "error: the 'ziglang' package is not installed in this Python.\n"
            "hint: pip install -r workloads/requirements.txt"
        )
    return [sys.executable, "-m", "ziglang", "cc"]


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_one(compiler: list[str], name: str, kind: str, out_dir: Path) -> Path:
    """Compile workloads/<name>/*.c for one target; returns the output path."""
    source_dir = HERE / name
    sources = sorted(path.name for path in source_dir.glob("*.c"))
    return compile_c(compiler, source_dir, sources, kind, (out_dir / f"{name}.{kind}").resolve())


def compile_c(
    compiler: list[str], source_dir: Path, sources: list[str], kind: str, output: Path
) -> Path:
    """Compile `sources` (names in `source_dir`) for one target into `output` (absolute).
    Also used for the benchmarks' one-file guests (harness.guests)."""
    # Relative source names, compiled from the source directory: nothing about
    # the checkout location reaches the compiler.
    command = [*compiler, *TARGET_FLAGS[kind], *COMMON_FLAGS, "-o", str(output), *sources]
    result = subprocess.run(command, cwd=source_dir, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        sys.exit(f"error: building {output.name} failed (exit {result.returncode})")
    return output


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    parser = argparse.ArgumentParser(description="Build the VYR reference guests.")
    parser.add_argument("--out", type=Path, default=HERE / "build", help="output directory")
    parser.add_argument("--only", action="append", choices=WORKLOADS, help="build just these")
    parser.add_argument("--no-native", action="store_true", help="skip the native builds")
    args = parser.parse_args(argv)
    compiler = zig_cc()
    args.out.mkdir(parents=True, exist_ok=True)
    kinds = ("wasm",) if args.no_native else ("wasm", "native")
    lines = []
    for name in args.only or WORKLOADS:
        for kind in kinds:
            print(f"building {name}.{kind}", file=sys.stderr)
            output = build_one(compiler, name, kind, args.out)
            lines.append(f"{sha256(output)}  {output.name}")
            print(lines[-1])
    (args.out / "SHA256SUMS").write_text("".join(line + "\n" for line in lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
