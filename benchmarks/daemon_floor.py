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
import time

import grpc
import grpc.aio
import vyr
from vyr.api.v0 import control_pb2 as pb
from vyr.server.servicer import LoopWaker


async def serve(socket: str, node: vyr.Runtime) -> None:
    waker = LoopWaker(asyncio.get_running_loop())  # the daemon's own wake-up

    async def submit(
        request: pb.SubmitTaskRequest, context: grpc.aio.ServicerContext
    ) -> pb.SubmitTaskResponse:
        task = node.submit_task(request.artifact_digest, request.input_ref.inline)
        ended: asyncio.Future[None] = waker.loop.create_future()
        task.on_end(lambda: waker.resolve(ended, None))
        await ended
        result = task.result()
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
    node = vyr.Runtime(home)
    with open(public_key) as key:
        node.trust_add(key.read())
    node.put_artifact(*read_signed_module(module))
    time.sleep(1.1)  # as the daemon fixture: the trust store settles, Cranelift's code is in
    asyncio.run(serve(socket, node))


if __name__ == "__main__":
    main()
