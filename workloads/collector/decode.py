"""Decoder for the collector's forwarded batch (format: workloads/README.md).

    python workloads/collector/decode.py BATCH_FILE   # prints id,device,ts_ms,value lines

Importable: ``decode(data) -> list[Reading]`` raises ``BatchError`` on any
inconsistency (magic, version, lengths, both CRC-32s, count, trailing bytes).
"""

from __future__ import annotations

import struct
import sys
import zlib
from typing import NamedTuple

MAGIC = b"VYRB"
VERSION = 1
HEADER = struct.Struct("<4sBBHIIII")  # magic, version, flags, header_len, count, len, crc, hcrc
MASK64 = (1 << 64) - 1


class BatchError(ValueError):
    """The bytes are not one valid collector batch."""


class Reading(NamedTuple):
    """One sensor reading; value is in thousandths (value_milli)."""

    id: int
    device: str
    ts_ms: int
    value_milli: int

    def to_line(self) -> str:
        """Canonical text form: id,device,ts_ms,value with exactly 3 decimals."""
        sign = "-" if self.value_milli < 0 else ""
        whole, frac = divmod(abs(self.value_milli), 1000)
        return f"{self.id},{self.device},{self.ts_ms},{sign}{whole}.{frac:03d}"


def _to_signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


class _Cursor:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def uvarint(self) -> int:
        result = shift = 0
        while True:
            if self.pos >= len(self.data) or shift > 63:
                raise BatchError("truncated or overlong varint")
            byte = self.data[self.pos]
            self.pos += 1
            result |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                if result > MASK64:
                    raise BatchError("varint exceeds 64 bits")
                return result

    def delta(self, previous: int) -> int:
        """Undo zigzag, add mod 2^64 to the previous value (unsigned)."""
        z = self.uvarint()
        diff = (z >> 1) ^ (-(z & 1) & MASK64)
        return (previous + diff) & MASK64

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise BatchError("truncated payload")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk


def decode(data: bytes) -> list[Reading]:
    """Decode one batch, verifying every header field and checksum."""
    if len(data) < HEADER.size:
        raise BatchError("shorter than the header")
    magic, version, flags, header_len, count, length, crc, header_crc = HEADER.unpack_from(data)
    if magic != MAGIC or version != VERSION or flags != 0 or header_len != HEADER.size:
        raise BatchError("bad magic, version, flags or header length")
    if zlib.crc32(data[:20]) != header_crc:
        raise BatchError("header checksum mismatch")
    payload = data[HEADER.size :]
    if len(payload) != length:
        raise BatchError(f"payload is {len(payload)} bytes, header says {length}")
    if zlib.crc32(payload) != crc:
        raise BatchError("payload checksum mismatch")
    cursor = _Cursor(payload)
    devices = [cursor.take(cursor.uvarint()).decode("ascii") for _ in range(cursor.uvarint())]
    last_ts = [0] * len(devices)
    last_value = [0] * len(devices)
    last_id = 0
    readings = []
    for _ in range(count):
        last_id = cursor.delta(last_id)
        index = cursor.uvarint()
        if index >= len(devices):
            raise BatchError("device index out of range")
        last_ts[index] = cursor.delta(last_ts[index])
        last_value[index] = cursor.delta(last_value[index])
        readings.append(
            Reading(
                last_id, devices[index], _to_signed(last_ts[index]), _to_signed(last_value[index])
            )
        )
    if cursor.pos != len(payload):
        raise BatchError("trailing bytes after the last record")
    return readings


def main(argv: list[str]) -> int:
    """CLI: decode a batch file and print canonical reading lines."""
    if len(argv) != 1:
        sys.stderr.write("usage: decode.py BATCH_FILE\n")
        return 2
    with open(argv[0], "rb") as batch:
        data = batch.read()
    try:
        readings = decode(data)
    except BatchError as error:
        sys.stderr.write(f"decode: error: {error}\n")
        return 1
    sys.stdout.write("".join(reading.to_line() + "\n" for reading in readings))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
