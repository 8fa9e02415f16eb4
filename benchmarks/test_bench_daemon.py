"""The Control API over a unix socket: submit -> result round trip and throughput with 1, 16
and 64 calls in flight, next to a bare grpc.aio echo service (the framework's floor) measured
in the same run with the same message sizes.

A VYR round trip is one call: `SubmitTask` with `wait` (what `Client.run` sends), answered with
the ended task and its output once the outcome is in the journal. The floor is one echo call of
the same request and response sizes, made the same way:
- round trip (one call at a time): `vyr.Client.run` against a synchronous grpcio call;
- throughput: N calls kept in flight by N coroutines on one `grpc.aio` channel, for VYR (the
  same `SubmitTask` request `Client.run` builds) and the echo alike; plus `Client.run` from 16
  threads against 16 threads of synchronous echo calls, what a threaded `vyr.Client` user gets.
The daemon and the echo server each run in their own process (`vyr daemon`,
`python -c ECHO_SERVER`); the clients are this process, on the same two cores. A third server,
`benchmarks/daemon_floor.py`, is grpc.aio over the runtime with nothing else (no journal,
authentication, limits or telemetry): the floor for any grpc.aio daemon over this runtime.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import grpc.aio
import pytest

from harness.daemon import start_daemon
from harness.guests import Signed, sign_guests
from harness.stats import percentile

ROUND_TRIPS = 1000
IN_FLIGHT = (1, 16, 64)
THREADS = 16
THROUGHPUT_TASKS = 3200
THROUGHPUT_ROUNDS = 3
ECHO_METHOD = "/vyr.bench.Echo/Call"
SUBMIT_METHOD = "/vyr.api.v0.Control/SubmitTask"
FLOOR = Path(__file__).with_name("daemon_floor.py")  # a standalone script

# The floor: a grpc.aio server whose one method answers with as many bytes as the request's
# first 4 bytes ask for (so it mirrors VYR's request and response sizes). It logs its address
# as `vyr daemon` does, so the same launcher starts all three servers.
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
    print("listening on unix:" + sys.argv[1], file=sys.stderr, flush=True)
    await server.wait_for_termination()
asyncio.run(main())
"""


def _signed_hello(directory: Path) -> Signed:
    """`hello`, signed into `directory`."""
    return sign_guests(directory, ("hello",), key_name="bench.key")


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    """(a `vyr.Client` to a fresh `vyr daemon`, the digest of the signed `hello` guest); the
    client's `endpoint` is the socket the grpc.aio cases dial."""
    from vyr.client import Client

    directory = tmp_path_factory.mktemp("daemon-bench")
    signed = _signed_hello(directory)
    with (
        start_daemon(directory / "home", "--grace", "1") as daemon,
        Client(daemon.endpoint) as client,
    ):
        client.trust_add(signed.public_key)
        digest = client.put_module_file(signed.module("hello")).digest
        time.sleep(1.1)  # the trust store rescans its directory until it is 1 s old
        yield client, digest


@pytest.fixture(scope="module")
def floor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(endpoint, digest of `hello`) of the bare grpc.aio-over-runtime server."""
    from vyr import _core

    directory = tmp_path_factory.mktemp("floor")
    signed = _signed_hello(directory)
    module, home = signed.module("hello"), directory / "home"
    command = [sys.executable, str(FLOOR), str(directory / "floor.sock"), str(home), str(module),
               str(signed.public_key_file)]  # fmt: skip
    with start_daemon(home, command=command) as floor:
        yield floor.endpoint, _core.sha256_digest(module.read_bytes())


@pytest.fixture(scope="module")
def echo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The endpoint of the bare grpc.aio echo server."""
    directory = tmp_path_factory.mktemp("echo")
    command = [sys.executable, "-c", ECHO_SERVER, str(directory / "echo.sock")]
    with start_daemon(directory, command=command) as echo:
        yield echo.endpoint


@pytest.fixture(scope="module")
def submit(daemon: tuple[Any, str]) -> Any:
    """The `SubmitTask` request `Client.run(digest, b"hi")` sends."""
    client, digest = daemon
    from vyr.types import TaskSpec

    request = client._submit_request(TaskSpec.of(digest, b"hi"), None)
    request.wait = True
    return request


@pytest.fixture(scope="module")
def sizes(daemon: tuple[Any, str], submit: Any) -> dict[str, int]:
    """Serialized sizes of VYR's one call, to mirror in the echo."""
    client, _digest = daemon
    response = client._stub.SubmitTask(submit)
    assert response.task.stdout == b"HI"
    return {"request": submit.ByteSize(), "response": response.ByteSize()}


def _echo_request(sizes: dict[str, int]) -> bytes:
    return sizes["response"].to_bytes(4, "little").ljust(sizes["request"], b"r")


def _echo_round_trip(channel: grpc.Channel, sizes: dict[str, int]) -> Callable[[], None]:
    call = channel.unary_unary(ECHO_METHOD)
    request = _echo_request(sizes)

    def round_trip() -> None:
        assert len(call(request)) == sizes["response"]

    return round_trip


def _vyr_round_trip(daemon: tuple[Any, str]) -> Callable[[], None]:
    client, digest = daemon

    def round_trip() -> None:
        result = client.run(digest, b"hi")
        assert result.stdout == b"HI"

    return round_trip


def _spread(data: list[float]) -> dict[str, float]:
    return {"p50_s": percentile(data, 0.50), "p99_s": percentile(data, 0.99), "min_s": min(data)}


def _floor_round_trip(floor: tuple[str, str]) -> tuple[Callable[[], None], grpc.Channel]:
    from vyr.api.v0 import control_pb2 as pb

    endpoint, digest = floor
    channel = grpc.insecure_channel(endpoint)
    call = channel.unary_unary(
        SUBMIT_METHOD,
        request_serializer=pb.SubmitTaskRequest.SerializeToString,
        response_deserializer=pb.SubmitTaskResponse.FromString,
    )
    request = _floor_request(digest)

    def round_trip() -> None:
        assert call(request).task.stdout == b"HI"

    return round_trip, channel


def _floor_request(digest: str) -> Any:
    from vyr.api.v0 import control_pb2 as pb

    request = pb.SubmitTaskRequest(artifact_digest=digest, wait=True)
    request.input_ref.inline = b"hi"
    return request


@pytest.mark.parametrize("side", ["vyr", "floor", "echo"])
def test_round_trip(benchmark: Any, side: str, request: pytest.FixtureRequest) -> None:
    """One submit -> result at a time (p50/p99), synchronous clients."""
    sizes = request.getfixturevalue("sizes")
    channel = None
    if side == "vyr":
        round_trip = _vyr_round_trip(request.getfixturevalue("daemon"))
        label = "VYR daemon: Client.run(digest, b'hi') (one SubmitTask call with wait)"
    elif side == "floor":
        round_trip, channel = _floor_round_trip(request.getfixturevalue("floor"))
        label = "floor: bare grpc.aio over the runtime, SubmitTask(wait) (sync client)"
    else:
        channel = grpc.insecure_channel(request.getfixturevalue("echo"))
        round_trip = _echo_round_trip(channel, sizes)
        label = "grpcio echo: 1 unary call of the same sizes (sync client)"
    benchmark.group = "daemon"
    try:
        benchmark.pedantic(round_trip, rounds=ROUND_TRIPS, warmup_rounds=100, iterations=1)
    finally:
        if channel is not None:
            channel.close()
    benchmark.extra_info.update(
        key=f"daemon_round_trip_{side}",
        label=label,
        baseline=side == "echo",
        versus="daemon_round_trip_echo" if side != "echo" else None,
        message_bytes=sizes,
        **_spread(benchmark.stats.stats.data),
    )


def _aio_batch(
    endpoint: str,
    method: str,
    request: Any,
    serializer: Any,
    deserializer: Any,
    check: Callable[[Any], None],
    in_flight: int,
) -> tuple[Callable[[], None], Callable[[], None]]:
    """(one batch of THROUGHPUT_TASKS calls with `in_flight` coroutines on one grpc.aio
    channel, a closer). The loop runs on its own thread; the batch blocks until it is done."""
    loop = asyncio.new_event_loop()
    runner = threading.Thread(target=loop.run_forever, name="bench-aio", daemon=True)
    runner.start()

    def on_loop(coroutine: Awaitable[Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result()  # type: ignore[arg-type]

    async def open_channel() -> Any:
        channel = grpc.aio.insecure_channel(endpoint)
        return channel, channel.unary_unary(
            method, request_serializer=serializer, response_deserializer=deserializer
        )

    channel, call = on_loop(open_channel())
    per_caller = THROUGHPUT_TASKS // in_flight

    async def caller() -> None:
        for _ in range(per_caller):
            check(await call(request))

    async def batch() -> None:
        await asyncio.gather(*(caller() for _ in range(in_flight)))

    def close() -> None:
        on_loop(channel.close())
        loop.call_soon_threadsafe(loop.stop)
        runner.join(10)
        loop.close()

    return (lambda: on_loop(batch())), close


def _vyr_checked(response: Any) -> None:
    assert response.task.stdout == b"HI"


@pytest.mark.parametrize("in_flight", IN_FLIGHT)
@pytest.mark.parametrize("side", ["vyr", "floor", "echo"])
def test_throughput(
    benchmark: Any, side: str, in_flight: int, request: pytest.FixtureRequest
) -> None:
    """THROUGHPUT_TASKS round trips with `in_flight` calls outstanding on a grpc.aio channel."""
    sizes = request.getfixturevalue("sizes")
    if side == "vyr":
        from vyr.api.v0 import control_pb2 as pb

        client, _digest = request.getfixturevalue("daemon")
        batch, close = _aio_batch(
            client.endpoint,
            SUBMIT_METHOD,
            request.getfixturevalue("submit"),
            pb.SubmitTaskRequest.SerializeToString,
            pb.SubmitTaskResponse.FromString,
            _vyr_checked,
            in_flight,
        )
        what = "VYR daemon: SubmitTask(wait) via grpc.aio"
    elif side == "floor":
        from vyr.api.v0 import control_pb2 as pb

        endpoint, digest = request.getfixturevalue("floor")
        batch, close = _aio_batch(
            endpoint,
            SUBMIT_METHOD,
            _floor_request(digest),
            pb.SubmitTaskRequest.SerializeToString,
            pb.SubmitTaskResponse.FromString,
            _vyr_checked,
            in_flight,
        )
        what = "floor: bare grpc.aio over the runtime, SubmitTask(wait)"
    else:
        expected = sizes["response"]

        def check(response: bytes) -> None:
            assert len(response) == expected

        batch, close = _aio_batch(
            request.getfixturevalue("echo"),
            ECHO_METHOD,
            _echo_request(sizes),
            None,
            None,
            check,
            in_flight,
        )
        what = "grpc.aio echo: 1 call of the same sizes"
    benchmark.group = "daemon"
    try:
        benchmark.pedantic(batch, rounds=THROUGHPUT_ROUNDS, warmup_rounds=1, iterations=1)
    finally:
        close()
    tasks = (THROUGHPUT_TASKS // in_flight) * in_flight
    benchmark.extra_info.update(
        key=f"daemon_throughput_{side}_{in_flight}",
        label=f"{what} x {tasks}, {in_flight} in flight",
        baseline=side == "echo",
        versus=f"daemon_throughput_echo_{in_flight}" if side != "echo" else None,
        tasks=tasks,
        in_flight=in_flight,
        tasks_per_s=tasks / benchmark.stats.stats.median,
        cpus=os.cpu_count(),
    )


@pytest.mark.parametrize("side", ["vyr", "echo"])
def test_threaded_client(benchmark: Any, side: str, request: pytest.FixtureRequest) -> None:
    """THROUGHPUT_TASKS round trips from THREADS threads of synchronous calls (`vyr.Client`)."""
    sizes = request.getfixturevalue("sizes")
    channel = None
    if side == "vyr":
        round_trip = _vyr_round_trip(request.getfixturevalue("daemon"))
    else:
        channel = grpc.insecure_channel(request.getfixturevalue("echo"))
        round_trip = _echo_round_trip(channel, sizes)
    per_thread = THROUGHPUT_TASKS // THREADS

    def worker() -> None:
        for _ in range(per_thread):
            round_trip()

    pool = ThreadPoolExecutor(THREADS)

    def batch() -> None:
        for future in [pool.submit(worker) for _ in range(THREADS)]:
            future.result()

    benchmark.group = "daemon"
    try:
        benchmark.pedantic(batch, rounds=THROUGHPUT_ROUNDS, warmup_rounds=1, iterations=1)
    finally:
        pool.shutdown()
        if channel is not None:
            channel.close()
    tasks = per_thread * THREADS
    what = "VYR daemon: Client.run" if side == "vyr" else "grpcio echo: 1 sync call"
    benchmark.extra_info.update(
        key=f"daemon_threads_{side}_{THREADS}",
        label=f"{what} x {tasks}, {THREADS} client threads",
        baseline=side == "echo",
        versus=f"daemon_threads_echo_{THREADS}" if side == "vyr" else None,
        tasks=tasks,
        in_flight=THREADS,
        tasks_per_s=tasks / benchmark.stats.stats.median,
        cpus=os.cpu_count(),
    )
