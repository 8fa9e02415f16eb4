"""Receipts at the cost of a hash per task: one signature per batch, not per receipt.

An ed25519 signature costs about half a warm task here (docs/receipts.md, "Cost"), so a busy
node does not sign each statement. It appends the statement's digest to an RFC 9162
Merkle tree (a hash or two), and every `max_receipts` receipts or `max_delay_ms` after the
first unsigned one, whichever comes first, signs one checkpoint (tree size + root hash) and
hands out each batched receipt: the statement, its inclusion proof and that checkpoint.

Receipts reach `on_receipts` in log order, one call per checkpoint, on the thread that sealed
the batch: the background thread once `start()` ran, else the caller of `add` that filled the
batch (which then pays for sealing it: a node should `start()`) or of `flush`. Like task-end
callbacks it must be quick; what it raises is logged (background thread) or propagates, and
those receipts are not issued again.
"""

from __future__ import annotations

import functools
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from vyr.receipts import _json, batched, dsse
from vyr.receipts.checkpoint import CHECKPOINT_PAYLOAD_TYPE, ORIGIN_PREFIX, Checkpoint
from vyr.receipts.compact_tree import CompactTree, SealedBatch
from vyr.receipts.signing import ReceiptSigner

log = logging.getLogger("vyr")


@dataclass(frozen=True)
class IssuedReceipt:
    """A receipt the batcher issued: the `tag` given to `add`, the statement's log index and
    bytes. The receipt file (`receipt`, what `verify` takes) is assembled on first use: a node
    keeps many more receipts than anyone asks for, so issuing one costs its leaf, not its
    proof and encoding."""

    tag: Any
    log_index: int
    payload: bytes
    batch: SealedBatch = field(repr=False)
    checkpoint: bytes = field(repr=False)  # the signed checkpoint envelope, as JSON

    @property
    def proof(self) -> list[bytes]:
        """The inclusion proof (audit path) of this receipt's statement."""
        return self.batch.proof(self.log_index)

    @functools.cached_property
    def receipt(self) -> bytes:
        """The batched receipt file's bytes."""
        return batched.encode(
            self.payload, self.log_index, self.batch.tree_size, self.proof, self.checkpoint
        )


class ReceiptBatcher:
    """Batches statements under signed checkpoints (see the module docstring)."""

    def __init__(
        self,
        signer: ReceiptSigner,
        on_receipts: Callable[[list[IssuedReceipt]], None],
        *,
        max_receipts: int = 256,
        max_delay_ms: float = 20.0,
        origin: str | None = None,
    ) -> None:
        if max_receipts < 1 or max_delay_ms <= 0:
            raise ValueError("max_receipts must be at least 1 and max_delay_ms above 0")
        self.signer = signer
        self.origin = origin or ORIGIN_PREFIX + secrets.token_hex(16)
        self.max_receipts = max_receipts
        self.max_delay_s = max_delay_ms / 1000
        self._on_receipts = on_receipts
        self._tree = CompactTree()  # touched only under _seal_lock
        self._lock = threading.Condition()  # guards the pending batch below
        self._pending: list[tuple[Any, bytes]] = []  # (tag, payload), in log order
        self._oldest = 0.0  # time.monotonic() of the first pending add
        self._seal_lock = threading.Lock()  # one seal at a time, so batches stay in order
        self._thread: threading.Thread | None = None
        self._closing = False

    def add(self, payload: bytes, tag: Any = None) -> None:
        """Queues one statement's bytes (`statement_bytes(facts)`) for the next checkpoint."""
        with self._lock:
            if self._closing:
                raise RuntimeError("the receipt batcher is closed")
            if not self._pending:
                self._oldest = time.monotonic()
                self._lock.notify()  # the flusher now has a deadline to wait for
            self._pending.append((tag, payload))
            full = len(self._pending) >= self.max_receipts
            if full and self._thread is not None:
                self._lock.notify()
        if full and self._thread is None:
            self.flush()

    def flush(self) -> Checkpoint | None:
        """Signs a checkpoint over everything added so far and issues its receipts now;
        None when nothing was pending."""
        with self._seal_lock:
            with self._lock:
                pending, self._pending = self._pending, []
            if not pending:
                return None
            leaf = batched.statement_leaf
            self._tree.extend([leaf(payload) for _, payload in pending])
            sealed = self._tree.seal()
            checkpoint = Checkpoint(self.origin, sealed.tree_size, sealed.root_hash)
            envelope = _json.dumps(
                dsse.seal(CHECKPOINT_PAYLOAD_TYPE, checkpoint.body(), self.signer)
            )
            issued = [
                IssuedReceipt(tag, sealed.first_index + offset, payload, sealed, envelope)
                for offset, (tag, payload) in enumerate(pending)
            ]
            self._on_receipts(issued)
            return checkpoint

    def start(self) -> ReceiptBatcher:
        """Starts the background thread that seals a batch when it is full or `max_delay_ms`
        old; returns self."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="vyr-receipts", daemon=True)
                self._thread.start()
        return self

    def close(self) -> None:
        """Issues what is pending and stops the background thread; `add` refuses afterwards."""
        with self._lock:
            self._closing = True
            self._lock.notify()
            thread = self._thread
        if thread is not None:
            thread.join()
        self.flush()

    def __enter__(self) -> ReceiptBatcher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._closing and not self._due():
                    wait = self._oldest + self.max_delay_s - time.monotonic()
                    self._lock.wait(max(0.0, wait) if self._pending else None)
                if self._closing:
                    return
            try:
                self.flush()
            except Exception:  # the thread must outlive one failing callback or seal
                log.exception("sealing a receipt batch failed")

    def _due(self) -> bool:
        """Whether the pending batch must be sealed now (called under _lock)."""
        if not self._pending:
            return False
        full = len(self._pending) >= self.max_receipts
        return full or time.monotonic() - self._oldest >= self.max_delay_s
