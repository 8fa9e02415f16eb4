"""A `grpc.aio` server in this process, on its own event loop thread, for tests that need the
daemon's real interceptors in front of a servicer of their own (one that raises each error
class, fails on purpose, or records what it was sent) without starting a `vyr daemon`."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import grpc.aio

START_TIMEOUT_S = 10.0


@contextlib.contextmanager
def serve_in_thread(
    socket: Path,
    add_servicers: Callable[[grpc.aio.Server], None],
    interceptors: Sequence[Any] = (),
    options: Sequence[tuple[str, Any]] = (),
) -> Iterator[str]:
    """Serves on `unix:SOCKET` while the block runs and yields that endpoint; `add_servicers`
    registers the servicers on the server before it starts."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    failure: list[BaseException] = []
    holder: dict[str, grpc.aio.Server] = {}

    async def start() -> None:
        server = grpc.aio.server(interceptors=list(interceptors), options=list(options))
        add_servicers(server)
        server.add_insecure_port(f"unix:{socket}")
        await server.start()
        holder["server"] = server

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(start())
        except BaseException as error:  # reported to the test below, not lost in the thread
            failure.append(error)
            return
        finally:
            started.set()
        loop.run_forever()

    thread = threading.Thread(target=run, name="test-grpc-server", daemon=True)
    thread.start()
    if not started.wait(START_TIMEOUT_S) or failure:
        raise RuntimeError(f"the in-process server did not start: {failure}")
    try:
        yield f"unix:{socket}"
    finally:
        stopped = asyncio.run_coroutine_threadsafe(holder["server"].stop(grace=None), loop)
        stopped.result(START_TIMEOUT_S)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(START_TIMEOUT_S)
        loop.close()
