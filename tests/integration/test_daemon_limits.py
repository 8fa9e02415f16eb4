"""--max-concurrent-rpcs: the call over the limit gets RESOURCE_EXHAUSTED with a clear message
(`CapacityExceeded` from `vyr.Client`), health checks still answer, and freed slots are reused."""

from __future__ import annotations

import time

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from vyr.api.v0 import control_pb2 as pb
from vyr.client import Client
from vyr.errors import CapacityExceeded

from harness.daemon import start_daemon

FOREVER = ["--count", "2000000000", "--window", "4096"]
LIMIT = 3


def test_calls_over_the_limit_are_resource_exhausted(tmp_path, daemons, signed) -> None:
    daemon = start_daemon(tmp_path / "home", "--max-concurrent-rpcs", str(LIMIT), "--grace", "0")
    daemons.append(daemon)
    with Client(daemon.endpoint) as client:
        client.trust_add(signed.public_key)
        task = client.submit_task(
            client.put_module_file(signed.module("anomaly")).digest, args=FOREVER
        )
        # Each pending WaitTask holds a slot until the task ends.
        request = pb.WaitTaskRequest(task_id=task.id)
        waits = [client._stub.WaitTask.future(request, timeout=60) for _ in range(LIMIT)]
        deadline = time.monotonic() + 10
        while True:
            try:
                client.list_tasks()
            except CapacityExceeded as error:
                refused = error
                break
            # A wait that lost the race for a slot to the probe above is refused: send it again.
            for index, wait in enumerate(waits):
                if wait.done():
                    assert wait.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, wait.exception()
                    waits[index] = client._stub.WaitTask.future(request, timeout=60)
            assert time.monotonic() < deadline, "the limit never took effect"
            time.sleep(0.01)

        message = str(refused)
        assert f"at most {LIMIT}" in message and "--max-concurrent-rpcs" in message, message
        assert refused.hint and "retry" in refused.hint
        with pytest.raises(grpc.RpcError) as raw:
            client._stub.ListTasks(pb.ListTasksRequest(), timeout=10)
        assert raw.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "too many calls in flight" in raw.value.details()

        # The health service is not counted: a daemon at its limit still reports SERVING.
        with grpc.insecure_channel(daemon.endpoint) as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=5
            )
            assert reply.status == health_pb2.HealthCheckResponse.SERVING

        # A caller that leaves frees its slot: the next call (the cancel) gets through.
        waits[0].cancel()
        deadline = time.monotonic() + 10
        while True:
            try:
                assert client.cancel_task(task.id) is True
                break
            except CapacityExceeded:
                assert time.monotonic() < deadline, "a cancelled call never released its slot"
                time.sleep(0.01)
        for wait in waits[1:]:
            assert wait.result(timeout=30).status == "cancelled"
        assert [t.status for t in client.list_tasks()] == ["cancelled"]
    assert daemon.terminate() == 0, daemon.stderr
