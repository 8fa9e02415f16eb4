"""Disconnected site: the daemon in a network namespace with no usable interface (only `lo`,
left down); artifacts arrive as the exported bundle, imported inside the namespace; telemetry is
spooled while offline and delivered once the site gets a link.

Set-up, all in namespaces made here (named with this process id, so a killed run's leftovers
can be recognised and removed by the next run):

1. `ip netns add vyrenv-site-<pid>`; the daemon (unix socket) and the workload driver
   (`python -m environments.driver`: trust, `vyr artifact import`, the workloads) run inside it with
   `ip netns exec`. The driver first records that the uplink address is unreachable.
2. The uplink: `ip netns add vyrenv-uplink-<pid>` and a veth pair created directly inside the two
   namespaces (nothing ever appears in the host's namespace), 10.213.7.1/30 on the uplink side,
   10.213.7.2/30 on the site side. The OTLP receiver listens on 10.213.7.1:4318 in the uplink
   namespace; the site daemon was configured from the start to export there.
3. Teardown: the daemon and receiver stop, both namespaces are deleted (which deletes the veth).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from environments.common import (
    Artifacts,
    Inputs,
    Outcome,
    daemon,
    otel_environment,
    otlp_receiver,
    pid_alive,
    records,
    run_command,
)
from harness import REPO

NAME = "disconnected"
PREFIX = "vyrenv-"
UPLINK_ADDRESS, SITE_ADDRESS, PREFIX_LENGTH = "10.213.7.1", "10.213.7.2", 30
OTLP_PORT = 4318
DELIVERY_WAIT_S = 20.0
# The telemetry spool (python/vyr/telemetry/config.py): batches that cannot be delivered while
# offline are written there and sent once the collector is reachable again.
SPOOL_ENV = "VYR_TELEMETRY_SPOOL_DIR"


def unavailable_reason() -> str | None:
    """Why this environment cannot be set up here, or None."""
    if os.geteuid() != 0:
        return "needs root (ip netns)"
    if shutil.which("ip") is None:
        return "the `ip` command (iproute2) is missing"
    probe = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"`ip netns` does not work here: {probe.stderr.strip()}"
    return None


def remove_stale() -> None:
    """Deletes namespaces left by a killed run (their owner pid is gone)."""
    listed = run_command("ip", "netns", "list", check=False).stdout.split("\n")
    for line in listed:
        name = line.split(" ", 1)[0]
        owner = name.rsplit("-", 1)[-1]
        if name.startswith(PREFIX) and owner.isdigit() and not pid_alive(int(owner)):
            run_command("ip", "netns", "delete", name, check=False)


@contextlib.contextmanager
def namespace(name: str) -> Iterator[str]:
    """A new, empty network namespace; deleted afterwards (with any interface in it)."""
    run_command("ip", "netns", "add", name)
    try:
        yield name
    finally:
        run_command("ip", "netns", "delete", name, check=False)


def connect(site: str, uplink: str) -> None:
    """The uplink comes back: a veth pair between the two namespaces, addresses on both ends."""
    suffix = str(os.getpid())[-7:]
    site_end, uplink_end = f"vyrs{suffix}", f"vyru{suffix}"
    run_command(
        "ip",
        "link",
        "add",
        site_end,
        "netns",
        site,
        "type",
        "veth",
        "peer",
        "name",
        uplink_end,
        "netns",
        uplink,
    )
    for ns, device, address in (
        (site, site_end, SITE_ADDRESS),
        (uplink, uplink_end, UPLINK_ADDRESS),
    ):
        run_command("ip", "-n", ns, "address", "add", f"{address}/{PREFIX_LENGTH}", "dev", device)
        run_command("ip", "-n", ns, "link", "set", device, "up")
        run_command("ip", "-n", ns, "link", "set", "lo", "up")


def interfaces(ns: str) -> list[str]:
    """`ip -o link` inside NS: interface name and state."""
    lines = run_command("ip", "-n", ns, "-o", "link").stdout.splitlines()
    return [
        " ".join(line.split(":", 2)[1].split()[:1])
        + (" UP" if ",UP" in line or "<UP" in line else " DOWN")
        for line in lines
    ]


def run(work: Path, artifacts: Artifacts, inputs: Inputs) -> list[dict[str, Any]]:
    """Sets up the site, runs the workloads inside it, reconnects it; returns records."""
    reason = unavailable_reason()
    if reason:
        raise RuntimeError(f"disconnected environment unavailable: {reason}")
    remove_stale()
    pid = os.getpid()
    spool = work / "telemetry-spool"
    spool.mkdir(parents=True)
    notes: dict[str, Any] = {}
    with contextlib.ExitStack() as stack:
        site = stack.enter_context(namespace(f"{PREFIX}site-{pid}"))
        notes["interfaces_offline"] = interfaces(site)
        telemetry_env = {
            **otel_environment(f"http://{UPLINK_ADDRESS}:{OTLP_PORT}", "vyr-disconnected-site"),
            SPOOL_ENV: str(spool),
        }
        node = stack.enter_context(
            daemon(work / "home", [], wrapper=["ip", "netns", "exec", site], env=telemetry_env)
        )
        endpoint = node.addresses[0]
        result = work / "driver.json"
        driver = [
            "ip", "netns", "exec", site, sys.executable, "-m", "environments.driver",
            "--endpoint", endpoint, "--bundle", str(artifacts.bundle), "--public-key", str(artifacts.public_key),
            "--scale", json.dumps(asdict(inputs.scale)), "--daemon-pid", str(node.pid), "--probe", f"{UPLINK_ADDRESS}:{OTLP_PORT}",
            "--out", str(result), "--receipts", str(work / "receipts"),
        ]  # fmt: skip
        # cwd: `-m environments.driver` imports from the repository root
        done = subprocess.run(driver, capture_output=True, text=True, timeout=1800, cwd=REPO)
        if done.returncode != 0:
            raise RuntimeError(f"driver inside {site} failed ({done.returncode}):\n{done.stderr}")
        report = json.loads(result.read_text())
        outcomes = [Outcome.from_json(raw) for raw in report["outcomes"]]
        notes["offline_probe"] = report["probe"]
        notes["imported_in_namespace"] = len(report["imported"])

        # Give the exporter time to fail and spool the last batch (a batch delay plus the
        # exporter's own retries) before the link comes back.
        deadline = time.monotonic() + DELIVERY_WAIT_S
        while time.monotonic() < deadline and _spooled(spool)["spans"] == 0:
            time.sleep(0.25)
        notes["spooled_while_offline"] = _spooled(spool)

        # The link comes back: the spooled telemetry should now reach the receiver.
        uplink = stack.enter_context(namespace(f"{PREFIX}uplink-{pid}"))
        connect(site, uplink)
        notes["interfaces_online"] = interfaces(site)
        receiver = stack.enter_context(
            otlp_receiver(
                work / "otlp-summary.json",
                host=UPLINK_ADDRESS,
                port=OTLP_PORT,
                wrapper=["ip", "netns", "exec", uplink],
            )
        )
        deadline = time.monotonic() + DELIVERY_WAIT_S
        while time.monotonic() < deadline and receiver.read()["spans"] == 0:
            time.sleep(0.25)
        node.stop()  # a clean stop flushes whatever is still queued
        delivered = receiver.read()
        notes["otlp_after_reconnect"] = {
            key: delivered[key] for key in ("requests", "spans", "metric_points", "services")
        }
        notes["spooled_after_reconnect"] = _spooled(spool)
    return records(NAME, outcomes, transport=f"unix socket inside netns ({endpoint})", **notes)


def _spooled(spool: Path) -> dict[str, int]:
    """Files and spans waiting in the telemetry spool (`<sequence>-<spans>.otlp` files)."""
    files = [p for p in spool.rglob("*.otlp") if p.is_file()]
    spans = sum(
        int(p.stem.rsplit("-", 1)[-1]) for p in files if p.stem.rsplit("-", 1)[-1].isdigit()
    )
    return {"files": len(files), "spans": spans}
