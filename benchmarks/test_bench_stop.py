"""How fast an endless loop (`guests/spin.c`) stops after its deadline or a cancel, on an idle
node and with both cores busy with two other endless loops.

Overshoot is measured on the unix-nanosecond timeline the core's phase timestamps use:
- deadline: the moment the result is back in Python minus (`artifact_ready` + timeout). The
  core starts the deadline clock a few µs after `artifact_ready` (once a run slot is free,
  just before instantiation), so this errs on the side of a larger overshoot.
- cancel: the moment the result is back in Python minus the moment before `Task.cancel()`.
The core-side figure (the `ended` phase instead of "back in Python") is recorded alongside.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from vyr import Resources

from harness.stats import spread

ROUNDS = 100
TIMEOUT_S = 0.020
RUNNING_SETTLE_S = 0.003  # let the guest get deep into its loop before cancelling


@pytest.fixture(params=["idle", "busy"])
def load(request: pytest.FixtureRequest, node: Any, digests: dict[str, str]) -> Iterator[str]:
    """`busy`: two more endless loops (one per core) run for the whole measurement."""
    background = []
    if request.param == "busy":
        background = [
            node.submit_task(digests["spin"], b"", resources=Resources(timeout_s=600))
            for _ in range(2)
        ]
        _wait_running(background)
    yield request.param
    for task in background:
        task.cancel()
    for task in background:
        assert task.wait(10).status == "cancelled"


def test_stop_deadline(benchmark: Any, node: Any, digests: dict[str, str], load: str) -> None:
    digest = digests["spin"]
    user_ns: list[int] = []
    core_ns: list[int] = []
    timeout_ns = round(TIMEOUT_S * 1e9)

    def run_until_deadline() -> Any:
        result = node.run(digest, b"", resources=Resources(timeout_s=TIMEOUT_S))
        back = time.time_ns()
        deadline = result.phases["artifact_ready"] + timeout_ns
        user_ns.append(back - deadline)
        core_ns.append(result.phases["ended"] - deadline)
        return result

    benchmark.group = "stop-latency"
    result = benchmark.pedantic(run_until_deadline, rounds=ROUNDS, warmup_rounds=2)
    assert result.status == "deadline_exceeded", result
    benchmark.extra_info.update(
        key=f"stop_deadline_{load}",
        label=f"deadline {TIMEOUT_S * 1000:g} ms, {load} node: whole run (overshoot in extra_info)",
        stop="deadline",
        load=load,
        timeout_s=TIMEOUT_S,
        overshoot=spread([ns / 1e9 for ns in user_ns[-ROUNDS:]]),
        overshoot_core=spread([ns / 1e9 for ns in core_ns[-ROUNDS:]]),
    )


def test_stop_cancel(benchmark: Any, node: Any, digests: dict[str, str], load: str) -> None:
    digest = digests["spin"]
    user_ns: list[int] = []
    core_ns: list[int] = []

    def running_task() -> tuple[tuple[Any, ...], dict[str, Any]]:
        task = node.submit_task(digest, b"", resources=Resources(timeout_s=60))
        _wait_running([task])
        time.sleep(RUNNING_SETTLE_S)
        return (task,), {}

    def cancel_and_wait(task: Any) -> Any:
        asked = time.time_ns()
        task.cancel()
        result = task.wait()
        user_ns.append(time.time_ns() - asked)
        core_ns.append(result.phases["ended"] - asked)
        return result

    benchmark.group = "stop-latency"
    result = benchmark.pedantic(cancel_and_wait, setup=running_task, rounds=ROUNDS, warmup_rounds=2)
    assert result.status == "cancelled", result
    benchmark.extra_info.update(
        key=f"stop_cancel_{load}",
        label=f"cancel of a running loop, {load} node: Task.cancel() + wait()",
        stop="cancel",
        load=load,
        overshoot=spread([ns / 1e9 for ns in user_ns[-ROUNDS:]]),
        overshoot_core=spread([ns / 1e9 for ns in core_ns[-ROUNDS:]]),
    )


def _wait_running(tasks: list[Any], limit_s: float = 10.0) -> None:
    give_up = time.monotonic() + limit_s
    while any(task.status != "running" for task in tasks):
        if time.monotonic() > give_up:
            raise AssertionError(f"tasks did not start: {tasks}")
        time.sleep(0.0002)
