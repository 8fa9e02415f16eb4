"""Warm-task throughput with receipts off and on, side by side in one run (docs/benchmarks.md).

Receipts are made on request from what the node recorded at the task's end
(`vyr.receipts.issuer`), so "on" has two costs, both measured here against the same warm task:
- `receipts_node_off`: `node.run(hello, b"hi")`, nobody asks for a receipt (what every task
  pays: the embedded node records nothing extra; the daemon's journal adds four columns);
- `receipts_node_every`: the same task and its receipt, `node.task_receipt(id)`, for every
  task: the worst case, one statement and one signature per task.
"""

from __future__ import annotations

from typing import Any

ROUNDS = 2000


def _warm(node: Any, digest: str) -> None:
    for _ in range(200):
        node.run(digest, b"hi")


def test_receipts_node_off(benchmark: Any, node: Any, digests: dict[str, str]) -> None:
    """A warm task, no receipt asked for."""
    digest = digests["hello"]
    _warm(node, digest)
    benchmark.group = "receipts-node"
    result = benchmark.pedantic(node.run, args=(digest, b"hi"), rounds=ROUNDS, warmup_rounds=0)
    assert result.stdout == b"HI"
    benchmark.extra_info.update(
        key="receipts_node_off", label="warm task, receipts not asked for", baseline=True
    )


def test_receipts_node_every(benchmark: Any, node: Any, digests: dict[str, str]) -> None:
    """A warm task and its receipt, for every task."""
    digest = digests["hello"]
    _warm(node, digest)
    node.node_key()  # made once, at first use: not part of any task

    def run_with_receipt() -> bytes:
        return node.task_receipt(node.run(digest, b"hi").id)

    benchmark.group = "receipts-node"
    receipt = benchmark.pedantic(run_with_receipt, rounds=ROUNDS, warmup_rounds=20)
    assert receipt.startswith(b"{")
    benchmark.extra_info.update(
        key="receipts_node_every",
        versus="receipts_node_off",
        label="warm task + node.task_receipt(id) for every task",
        receipt_bytes=len(receipt),
    )
