"""The floor of a grpc.aio server over VYR's core, for the daemon benchmark: `SubmitTask` with
`wait` answered by submitting to `vyr.Runtime` and waking the call when the task ends, with
nothing else (no journal, authentication, limits, telemetry or output digests). Whatever the
daemon adds to grpc.aio and the runtime shows as the distance between it and this.

    python benchmarks/daemon_floor.py SOCKET HOME MODULE PUBLIC_KEY

logs "listening on unix:SOCKET" on stderr once it serves, as `vyr daemon` does (so
`harness.daemon.start_daemon` starts it).
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time

import grpc
import grpc.aio
import vyr
from vyr.api.v0 import control_pb2 as pb
from vyr.server.servicer import LoopWaker
from vyr.types import TaskResult, TaskSpec


async def serve(socket: str, node: vyr.Runtime) -> None:
    waker = LoopWaker(asyncio.get_running_loop())  # the daemon's own wake-up
    waiting: dict[str, asyncio.Future[TaskResult]] = {}
    early: dict[str, TaskResult] = {}
    lock = threading.Lock()

    def deliver() -> None:
        # The daemon's journal thread without the journal: one reader of the ended feed.
        while True:
            outcomes, closed = node.next_ended(256, None)
            for outcome in outcomes:
                result = TaskResult.from_core(outcome)
                with lock:
                    future = waiting.pop(result.id, None)
                    if future is None:
                        early[result.id] = result
                if future is not None:
                    waker.resolve(future, result)
            if closed:
                return

    threading.Thread(target=deliver, name="floor-ended", daemon=True).start()

    async def submit(
        request: pb.SubmitTaskRequest, context: grpc.aio.ServicerContext
    ) -> pb.SubmitTaskResponse:
        spec = TaskSpec(request.artifact_digest, request.input_ref.inline)
        task = node.submit(spec, publish_end=True)
        ended: asyncio.Future[TaskResult] = waker.loop.create_future()
        with lock:
            result = early.pop(task.id, None)
            if result is None:
                waiting[task.id] = ended
        if result is None:
            result = await ended
        message = pb.Task(
            id=result.id, status=result.status, exit_code=result.exit_code, stdout=result.stdout
        )
        return pb.SubmitTaskResponse(task_id=result.id, task=message)

    server = grpc.aio.server()
    handler = grpc.unary_unary_rpc_method_handler(
        submit,
        request_deserializer=pb.SubmitTaskRequest.FromString,
        response_serializer=pb.SubmitTaskResponse.SerializeToString,
    )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler("vyr.api.v0.Control", {"SubmitTask": handler}),)
    )
    server.add_insecure_port(f"unix:{socket}")
    await server.start()
    print(f"listening on unix:{socket}", file=sys.stderr, flush=True)
    await server.wait_for_termination()


def main() -> None:
    from vyr.keys import read_signed_module

    socket, home, module, public_key = sys.argv[1:5]
    node = vyr.Runtime(home, end_consumer=False)
    with open(public_key) as key:
        node.trust_add(key.read())
    node.put_artifact(*read_signed_module(module))
    time.sleep(1.1)  # as the daemon fixture: the trust store settles, Cranelift's code is in
    asyncio.run(serve(socket, node))


if __name__ == "__main__":
    main()
