"""Run as a child process: prints the RSS (bytes) a runtime adds to a bare Python process.

    python footprint_probe.py vyr-embedded|wasmtime-py GUEST_DIR HOME [KEYFILE]

The three benchmark guests are loaded and each is run once (with empty stdin), so the figure
is a warm, idle runtime holding its compiled code, not an empty import."""

from __future__ import annotations

import json
import sys
from pathlib import Path

GUESTS = ("hello", "event-transform", "anomaly")


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def main() -> None:
    system, guests, home = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    before = rss_bytes()
    if system == "vyr-embedded":
        import vyr

        node = vyr.Runtime(home=home)
        node.trust_add(Path(sys.argv[4]).read_text())
        for guest in GUESTS:
            digest = node.put_module_file(guests / f"{guest}.wasm").digest
            node.run(digest, b"", args=["--count", "1000"] if guest == "anomaly" else [])
    else:
        import wasmtime

        engine = wasmtime.Engine()
        for guest in GUESTS:
            module = wasmtime.Module(engine, (guests / f"{guest}.wasm").read_bytes())
            store = wasmtime.Store(engine)
            config = wasmtime.WasiConfig()
            config.argv = [guest, "--count", "1000"] if guest == "anomaly" else [guest]
            store.set_wasi(config)
            linker = wasmtime.Linker(engine)
            linker.define_wasi()
            start = linker.instantiate(store, module).exports(store)["_start"]
            try:
                start(store)  # type: ignore[operator]
            except wasmtime.ExitTrap:
                pass
    print(json.dumps({"before": before, "after": rss_bytes()}))


if __name__ == "__main__":
    main()
