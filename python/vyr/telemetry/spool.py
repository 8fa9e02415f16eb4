"""A bounded on-disk spool of encoded OTLP trace requests, for when the collector is away.

Each batch that could not be delivered is one file `<sequence>-<spans>.otlp` (the serialized
`ExportTraceServiceRequest`), written to a temp name and renamed. When the total would pass
`max_bytes`, the oldest files go first and their spans are counted as dropped. Files left by an
earlier process are delivered too, so the spool also survives a restart.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

log = logging.getLogger("vyr.telemetry")
SUFFIX = ".otlp"


class Spool:
    """Oldest-first files in `directory`, at most `max_bytes` in all."""

    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.dropped_spans = 0
        self._lock = threading.Lock()
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._files: list[tuple[Path, int, int]] = []  # (path, spans, bytes), oldest first
        for path in sorted(directory.glob(f"*{SUFFIX}")):
            spans = _spans_in(path)
            if spans is not None:
                self._files.append((path, spans, path.stat().st_size))
        self._sequence = max((int(p.name.split("-", 1)[0]) for p, _, _ in self._files), default=0)

    @property
    def spans(self) -> int:
        """Spans waiting on disk."""
        with self._lock:
            return sum(spans for _, spans, _ in self._files)

    def put(self, payload: bytes, spans: int) -> None:
        """Keeps one encoded batch; evicts the oldest batches to stay within `max_bytes`."""
        if len(payload) > self.max_bytes:
            self.dropped_spans += spans
            return
        with self._lock:
            while (
                self._files
                and sum(size for _, _, size in self._files) + len(payload) > self.max_bytes
            ):
                path, old_spans, _ = self._files.pop(0)
                path.unlink(missing_ok=True)
                self.dropped_spans += old_spans
            self._sequence += 1
            path = self.directory / f"{self._sequence:020d}-{spans}{SUFFIX}"
            temporary = path.with_suffix(".tmp")
            try:
                with open(temporary, "wb") as file:
                    file.write(payload)
                    file.flush()
                    os.fsync(file.fileno())
                temporary.rename(path)
            except OSError as error:
                log.warning(
                    "telemetry spool: cannot write %s: %s; %d span(s) dropped", path, error, spans
                )
                temporary.unlink(missing_ok=True)
                self.dropped_spans += spans
                return
            self._files.append((path, spans, len(payload)))

    def oldest(self) -> tuple[Path, int, bytes] | None:
        """The oldest batch (path, spans, payload), or None when the spool is empty."""
        with self._lock:
            while self._files:
                path, spans, _ = self._files[0]
                try:
                    return path, spans, path.read_bytes()
                except OSError:
                    self._files.pop(0)
                    self.dropped_spans += spans
            return None

    def remove(self, path: Path) -> None:
        """Forgets a delivered batch."""
        with self._lock:
            self._files = [entry for entry in self._files if entry[0] != path]
        path.unlink(missing_ok=True)


def _spans_in(path: Path) -> int | None:
    try:
        return int(path.stem.split("-", 1)[1])
    except (IndexError, ValueError):
        return None
