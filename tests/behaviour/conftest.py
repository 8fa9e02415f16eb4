"""One behaviour suite, two implementations: every test here runs against the embedded
`vyr.Runtime` and against `vyr.Client` talking to a real daemon (a subprocess) over a unix
socket. Both nodes get the same limits: a 1 s state linger and states in the temp dir.

`node` overrides the root conftest's embedded-only fixture, so the root `put_guest` (sign a
reference guest, put it) works unchanged on either implementation.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.daemon import start_daemon

STATE_LINGER_S = 1.0  # short, yet long enough that a slow run does not lose a state between tasks

# `vyr daemon` has no flags for the state linger or directory: start the same server (app.serve)
# with the limits the embedded fixture uses, and its `listening on` log lines.
_LAUNCH = """
import asyncio, logging, sys
from pathlib import Path
from vyr.server.app import ServerConfig, serve
logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="vyr daemon: %(message)s")
limits = {"state_linger_s": float(sys.argv[3]), "state_dir": sys.argv[2]}
asyncio.run(serve(ServerConfig(home=Path(sys.argv[1]), grace_s=1.0, limits=limits)))
"""


@pytest.fixture(params=["embedded", "daemon"])
def node(request: pytest.FixtureRequest, tmp_path: Path, key: Path) -> Iterator[Any]:
    """A node that trusts `key`: `vyr.Runtime` in-process, or `vyr.Client` to a daemon."""
    public_key = Path(f"{key}.pub").read_text()
    home, states = tmp_path / "home", tmp_path / "states"
    if request.param == "embedded":
        from vyr.runtime import Runtime

        runtime = Runtime(home, state_linger_s=STATE_LINGER_S, state_dir=str(states))
        runtime.trust_add(public_key)
        yield runtime
        runtime.close()
        return
    from vyr.client import Client

    command = [sys.executable, "-c", _LAUNCH, str(home), str(states), str(STATE_LINGER_S)]
    daemon = start_daemon(home, command=command)
    try:
        with Client(daemon.endpoint) as client:
            client.trust_add(public_key)
            yield client
        assert daemon.terminate() == 0, daemon.stderr
        assert "Traceback" not in daemon.stderr, daemon.stderr
    finally:
        daemon.kill()
