"""The Control API over a unix socket: submit -> result round trip and throughput with 1, 16
and 64 calls in flight, next to a bare grpc.aio echo service (the framework's floor) measured
in the same run with the same message sizes.

A VYR round trip is two calls (SubmitTask, then WaitTask returning the task with its output),
so the floor is two echo calls of those request/response sizes, made with the same synchronous
grpcio client from the same number of threads. The daemon and the echo server each run in
their own process (`vyr daemon`, `python -c ECHO_SERVER`); the client is this process.
"""

from __future__ import annotations

import math
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import pytest

REPO = Path(__file__).resolve().parent.parent
HELLO_WASM = REPO / "workloads" / "build" / "hello.wasm"
ROUND_TRIPS = 1000
IN_FLIGHT = (1, 16, 64)
THROUGHPUT_TASKS = 1600
THROUGHPUT_ROUNDS = 3
ECHO_METHOD = "/vyr.bench.Echo/Call"

# The floor: a grpc.aio server whose one method answers with as many bytes as the request's
# first 4 bytes ask for (so one server can mirror both of VYR's calls' sizes).
ECHO_SERVER = """
import asyncio, os, sys
import grpc
async def call(request, context):
    return b"t" * int.from_bytes(request[:4], "little")
async def main():
    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    handler = grpc.unary_unary_rpc_method_handler(call)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("vyr.bench.Echo", {"Call": handler}),))
    server.add_insecure_port("unix:" + sys.argv[1])
    await server.start()
    print("listening", flush=True)
    await server.wait_for_termination()
asyncio.run(main())
"""


def _start(command: list[str], marker: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    for line in process.stdout:
        if marker in line:
            # Keep draining the log, so a chatty server never blocks on a full pipe.
            threading.Thread(target=process.stdout.read, daemon=True).start()
            return process
    raise RuntimeError(f"{command[:4]} exited with {process.wait()}")


def _stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stdout is not None:
        process.stdout.close()


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    """(a `vyr.Client` to a fresh `vyr daemon`, the digest of the signed `hello` guest)."""
    from vyr.client import Client
    from vyr.keys import generate_key, sign_module

    if not HELLO_WASM.exists():
        pytest.skip(f"{HELLO_WASM} is not built")
    directory = tmp_path_factory.mktemp("daemon-bench")
    key, public = generate_key(directory / "bench.key")
    shutil.copy(HELLO_WASM, directory / "hello.wasm")
    sign_module(directory / "hello.wasm", key)
    home = directory / "home"
    env_command = [sys.executable, "-m", "vyr", "--home", str(home), "daemon", "--grace", "1"]
    process = _start(env_command, "listening on")
    try:
        with Client(f"unix:{home / 'vyr.sock'}") as client:
            client.trust_add(public.read_text())
            digest = client.put_module_file(directory / "hello.wasm").digest
            time.sleep(1.1)  # the trust store rescans its directory until it is 1 s old
            yield client, digest
    finally:
        _stop(process)


@pytest.fixture(scope="module")
def echo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[grpc.Channel]:
    """A channel to the bare grpc.aio echo server."""
    socket = tmp_path_factory.mktemp("echo") / "echo.sock"
    process = _start([sys.executable, "-c", ECHO_SERVER, str(socket)], "listening")
    try:
        with grpc.insecure_channel(f"unix:{socket}") as channel:
            yield channel
    finally:
        _stop(process)


@pytest.fixture(scope="module")
def sizes(daemon: tuple[Any, str]) -> dict[str, int]:
    """Serialized sizes of VYR's two calls for `run(digest, b"hi")`, to mirror in the echo."""
    from vyr.api.v0 import control_pb2 as pb

    client, digest = daemon
    task = client.submit_task(digest, b"hi")
    submit = pb.SubmitTaskRequest(artifact_digest=digest, input_ref=pb.InputRef(inline=b"hi"), resources=pb.Resources())
    wait = pb.WaitTaskRequest(task_id=task.id, include_output=True)
    response = client._stub.WaitTask(wait)
    return {
        "submit_request": submit.ByteSize(),
        "submit_response": pb.SubmitTaskResponse(task_id=task.id).ByteSize(),
        "wait_request": wait.ByteSize(),
        "wait_response": response.ByteSize(),
    }


def _echo_round_trip(channel: grpc.Channel, sizes: dict[str, int]) -> Callable[[], None]:
    call = channel.unary_unary(ECHO_METHOD)
    first = sizes["submit_response"].to_bytes(4, "little").ljust(sizes["submit_request"], b"r")
    second = sizes["wait_response"].to_bytes(4, "little").ljust(sizes["wait_request"], b"r")

    def round_trip() -> None:
        call(first)
        assert len(call(second)) == sizes["wait_response"]

    return round_trip


def _vyr_round_trip(daemon: tuple[Any, str]) -> Callable[[], None]:
    client, digest = daemon

    def round_trip() -> None:
        result = client.run(digest, b"hi")
        assert result.stdout == b"HI"

    return round_trip


def _spread(data: list[float]) -> dict[str, float]:
    ordered = sorted(data)

    def rank(fraction: float) -> float:  # nearest rank, as benchmarks/report.py
        return ordered[max(0, math.ceil(len(ordered) * fraction) - 1)]

    return {"p50_s": rank(0.50), "p99_s": rank(0.99), "min_s": ordered[0]}


@pytest.mark.parametrize("side", ["vyr", "echo"])
def test_round_trip(benchmark: Any, side: str, request: pytest.FixtureRequest) -> None:
    """One submit -> result at a time (p50/p99)."""
    sizes = request.getfixturevalue("sizes")
    if side == "vyr":
        round_trip = _vyr_round_trip(request.getfixturevalue("daemon"))
        label = "VYR daemon: Client.run(digest, b'hi') (SubmitTask + WaitTask)"
    else:
        round_trip = _echo_round_trip(request.getfixturevalue("echo"), sizes)
        label = "grpc.aio echo: 2 unary calls of the same sizes"
    benchmark.group = "daemon"
    benchmark.pedantic(round_trip, rounds=ROUND_TRIPS, warmup_rounds=100, iterations=1)
    benchmark.extra_info.update(
        key=f"daemon_round_trip_{side}",
        label=label,
        baseline=side == "echo",
        versus="daemon_round_trip_echo" if side == "vyr" else None,
        message_bytes=sizes,
        **_spread(benchmark.stats.stats.data),
    )


@pytest.mark.parametrize("in_flight", IN_FLIGHT)
@pytest.mark.parametrize("side", ["vyr", "echo"])
def test_throughput(benchmark: Any, side: str, in_flight: int, request: pytest.FixtureRequest) -> None:
    """THROUGHPUT_TASKS round trips from `in_flight` client threads; tasks/s."""
    sizes = request.getfixturevalue("sizes")
    if side == "vyr":
        round_trip = _vyr_round_trip(request.getfixturevalue("daemon"))
    else:
        round_trip = _echo_round_trip(request.getfixturevalue("echo"), sizes)
    per_thread = THROUGHPUT_TASKS // in_flight

    def worker() -> None:
        for _ in range(per_thread):
            round_trip()

    pool = ThreadPoolExecutor(in_flight)

    def batch() -> None:
        for future in [pool.submit(worker) for _ in range(in_flight)]:
            future.result()

    benchmark.group = "daemon"
    try:
        benchmark.pedantic(batch, rounds=THROUGHPUT_ROUNDS, warmup_rounds=1, iterations=1)
    finally:
        pool.shutdown()
    tasks = per_thread * in_flight
    benchmark.extra_info.update(
        key=f"daemon_throughput_{side}_{in_flight}",
        label=f"{'VYR daemon: Client.run' if side == 'vyr' else 'grpc.aio echo: 2 calls'} x {tasks}, {in_flight} in flight",
        baseline=side == "echo",
        versus=f"daemon_throughput_echo_{in_flight}" if side == "vyr" else None,
        tasks=tasks,
        in_flight=in_flight,
        tasks_per_s=tasks / benchmark.stats.stats.median,
        cpus=os.cpu_count(),
    )
