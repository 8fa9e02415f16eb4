"""Pure-Python reference of the event-transform guest, byte for byte.

It mirrors ``event-transform/*.c`` rule for rule (same JSON subset, same
timestamp rules, same IEEE operations for unit conversion, same ``%.3f``
formatting), so tests can compare the guest's stdout and stderr against it.

Usage: ``python workloads/reference_transform.py LOOKUP_DIR < events.ndjson``
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass

MAX_LINE_BYTES = 65536
MAX_DEVICE_ID_BYTES = 64
MAX_SITE_BYTES = 128
MAX_TS_MS = 253402300799999  # 9999-12-31T23:59:59.999Z
SECONDS_MS_CUTOFF = 100_000_000_000

QUANTITIES = ("temperature", "pressure", "humidity")
CANONICAL_UNITS = {"temperature": "C", "pressure": "kPa", "humidity": "%"}
UNIT_QUANTITY = {
    b"C": "temperature", b"F": "temperature", b"K": "temperature",
    b"Pa": "pressure", b"hPa": "pressure", b"kPa": "pressure", b"mbar": "pressure",
    b"bar": "pressure", b"psi": "pressure", b"atm": "pressure",
    b"%": "humidity", b"%RH": "humidity",
}  # fmt: skip
FIELDS = (b"device", b"ts", b"value", b"unit")
_WS = b" \t\r\n"
_DIGITS = b"0123456789"
_HEX = b"0123456789abcdefABCDEF"
_DEVICE_CHARS = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.:")


class Malformed(Exception):
    """A line that breaks the input contract (counted, never fatal)."""


class LookupError_(ValueError):
    """The device table is unusable (the guest exits 2)."""


@dataclass(frozen=True)
class Device:
    """One row of devices.tsv."""

    site: str
    kind: str
    min: float
    max: float


def to_canonical(unit: bytes, value: float) -> float:
    """Convert value in unit to its quantity's canonical unit (same ops as the C code)."""
    if unit == b"F":
        return (value - 32.0) / 1.8
    if unit == b"K":
        return value - 273.15
    if unit == b"Pa":
        return value / 1000.0
    if unit in (b"hPa", b"mbar"):
        return value / 10.0
    if unit == b"bar":
        return value * 100.0
    if unit == b"psi":
        return value * 6.894757293168361
    if unit == b"atm":
        return value * 101.325
    return value


# ---- JSON subset scanner: returns (kind, raw bytes, is_plain_integer), new position ----


def _skip_ws(s: bytes, i: int) -> int:
    while i < len(s) and s[i] in _WS:
        i += 1
    return i


def _scan_string(s: bytes, i: int) -> tuple[bytes, int]:
    i += 1
    start = i
    while True:
        if i >= len(s) or s[i] < 0x20:
            raise Malformed("unterminated string or control byte")
        ch = s[i]
        if ch == 0x22:  # "
            return s[start:i], i + 1
        if ch == 0x5C:  # backslash
            i += 1
            if i < len(s) and s[i] == 0x75:  # u
                if i + 4 >= len(s) or any(b not in _HEX for b in s[i + 1 : i + 5]):
                    raise Malformed("bad \\u escape")
                i += 4
            elif i >= len(s) or s[i] not in b'"\\/bfnrt':
                raise Malformed("bad escape")
        i += 1


def _scan_digits(s: bytes, i: int) -> int:
    while i < len(s) and s[i] in _DIGITS:
        i += 1
    return i


def _scan_number(s: bytes, i: int) -> tuple[bytes, bool, int]:
    start, plain = i, True
    if i < len(s) and s[i] == 0x2D:  # -
        plain, i = False, i + 1
    if i < len(s) and s[i] == 0x30:  # 0
        i += 1
    elif i < len(s) and s[i] in _DIGITS:
        i = _scan_digits(s, i)
    else:
        raise Malformed("bad number")
    if i < len(s) and s[i] == 0x2E:  # .
        plain, i = False, i + 1
        if i >= len(s) or s[i] not in _DIGITS:
            raise Malformed("bad fraction")
        i = _scan_digits(s, i)
    if i < len(s) and s[i] in b"eE":
        plain, i = False, i + 1
        if i < len(s) and s[i] in b"+-":
            i += 1
        if i >= len(s) or s[i] not in _DIGITS:
            raise Malformed("bad exponent")
        i = _scan_digits(s, i)
    return s[start:i], plain, i


def _scan_value(s: bytes, i: int) -> tuple[tuple[str, bytes, bool], int]:
    ch = s[i] if i < len(s) else -1
    if ch == 0x22:
        raw, i = _scan_string(s, i)
        return ("string", raw, False), i
    if ch == 0x2D or (ch >= 0 and ch in _DIGITS):
        raw, plain, i = _scan_number(s, i)
        return ("number", raw, plain), i
    for word in (b"true", b"false", b"null"):
        if ch == word[0]:
            if s[i : i + len(word)] != word:
                raise Malformed("bad literal")
            return ("literal", word, False), i + len(word)
    raise Malformed("unsupported value")


def is_json_number(text: bytes) -> bool:
    """True when text is exactly one JSON number."""
    try:
        _, _, end = _scan_number(text, 0)
    except Malformed:
        return False
    return end == len(text)


def is_device_id(text: bytes) -> bool:
    """Device ids: 1..64 bytes of [A-Za-z0-9_.:-]."""
    return 0 < len(text) <= MAX_DEVICE_ID_BYTES and all(b in _DEVICE_CHARS for b in text)


# ---- timestamps ----


def days_from_civil(y: int, m: int, d: int) -> int:
    """Days since 1970-01-01 (proleptic Gregorian), H. Hinnant's algorithm."""
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def format_rfc3339_ms(ms: int) -> str:
    """ms >= 0 -> 'YYYY-MM-DDTHH:MM:SS.mmmZ'."""
    days, in_day = divmod(ms, 86_400_000)
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    y = yoe + era * 400 + (m <= 2)
    hh, mm, ss, milli = (
        in_day // 3_600_000,
        in_day // 60_000 % 60,
        in_day // 1000 % 60,
        in_day % 1000,
    )
    return f"{y:04d}-{m:02d}-{d:02d}T{hh:02d}:{mm:02d}:{ss:02d}.{milli:03d}Z"


def _digits(s: bytes) -> int:
    if not s or any(b not in _DIGITS for b in s):
        raise Malformed("expected digits")
    return int(s)


def parse_rfc3339(s: bytes) -> int:
    """YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|+HH:MM|-HH:MM) -> unix ms (fraction truncated)."""
    n = len(s)
    if n < 20 or s[4:5] != b"-" or s[7:8] != b"-" or s[10:11] != b"T" or s[13:14] != b":":
        raise Malformed("bad RFC 3339 layout")
    if s[16:17] != b":":
        raise Malformed("bad RFC 3339 layout")
    y, mo, d = _digits(s[0:4]), _digits(s[5:7]), _digits(s[8:10])
    h, mi, sec = _digits(s[11:13]), _digits(s[14:16]), _digits(s[17:19])
    if not (1 <= mo <= 12 and d >= 1 and h <= 23 and mi <= 59 and sec <= 59):
        raise Malformed("field out of range")
    leap = (y % 4 == 0 and y % 100 != 0) or y % 400 == 0
    month_days = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)[mo - 1] + (mo == 2 and leap)
    if d > month_days:
        raise Malformed("day out of range")
    i, frac_ms, offset = 19, 0, 0
    if s[i] == 0x2E:
        first = i = i + 1
        i = _scan_digits(s, i)
        if not 1 <= i - first <= 9:
            raise Malformed("bad fraction")
        frac_ms = int((s[first:i] + b"00")[:3])
    if i < n and s[i] == 0x5A:  # Z
        i += 1
    elif i < n and s[i] in b"+-":
        sign = 1 if s[i] == 0x2B else -1
        if n - i < 6 or s[i + 3] != 0x3A:
            raise Malformed("bad offset")
        off_h, off_m = _digits(s[i + 1 : i + 3]), _digits(s[i + 4 : i + 6])
        if off_h > 23 or off_m > 59:
            raise Malformed("bad offset")
        offset, i = sign * (off_h * 3600 + off_m * 60), i + 6
    else:
        raise Malformed("missing zone")
    if i != n:
        raise Malformed("trailing bytes")
    ms = (days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset) * 1000 + frac_ms
    if not 0 <= ms <= MAX_TS_MS:
        raise Malformed("timestamp out of range")
    return ms


def parse_unix_timestamp(raw: bytes, plain: bool) -> int:
    """Non-negative integer: < 1e11 is unix seconds, otherwise unix milliseconds."""
    if not plain or len(raw) > 15:
        raise Malformed("bad unix timestamp")
    n = int(raw)
    ms = n * 1000 if n < SECONDS_MS_CUTOFF else n
    if ms > MAX_TS_MS:
        raise Malformed("timestamp out of range")
    return ms


# ---- events ----


def parse_event(line: bytes) -> tuple[bytes, int, float, str]:
    """One line -> (device, ts_ms, canonical value, quantity); raises Malformed."""
    s, fields = line, {}
    i = _skip_ws(s, 0)
    if i >= len(s) or s[i] != 0x7B:
        raise Malformed("not an object")
    i = _skip_ws(s, i + 1)
    if i < len(s) and s[i] == 0x7D:
        i += 1
    else:
        while True:
            if i >= len(s) or s[i] != 0x22:
                raise Malformed("expected key")
            key, i = _scan_string(s, i)
            i = _skip_ws(s, i)
            if i >= len(s) or s[i] != 0x3A:
                raise Malformed("expected ':'")
            value, i = _scan_value(s, _skip_ws(s, i + 1))
            if key in FIELDS:  # raw bytes: an escaped spelling is an unknown key
                if key in fields:
                    raise Malformed("duplicate key")
                fields[key] = value
            i = _skip_ws(s, i)
            if i < len(s) and s[i] == 0x2C:
                i = _skip_ws(s, i + 1)
                continue
            if i < len(s) and s[i] == 0x7D:
                i += 1
                break
            raise Malformed("expected ',' or '}'")
    if _skip_ws(s, i) != len(s) or len(fields) != len(FIELDS):
        raise Malformed("trailing bytes or missing field")
    device, ts, value, unit = (fields[name] for name in FIELDS)
    if device[0] != "string" or not is_device_id(device[1]):
        raise Malformed("bad device")
    if unit[0] != "string" or value[0] != "number" or unit[1] not in UNIT_QUANTITY:
        raise Malformed("bad unit or value")
    if ts[0] == "string":
        ts_ms = parse_rfc3339(ts[1])
    elif ts[0] == "number":
        ts_ms = parse_unix_timestamp(ts[1], ts[2])
    else:
        raise Malformed("bad ts")
    return device[1], ts_ms, to_canonical(unit[1], float(value[1])), UNIT_QUANTITY[unit[1]]


def load_lookup(tsv: bytes) -> dict[bytes, Device]:
    """Parse devices.tsv (see event-transform/lookup.c); raises LookupError_."""
    if b"\0" in tsv:
        raise LookupError_("devices.tsv contains a NUL byte")
    devices: dict[bytes, Device] = {}
    for line_no, line in enumerate(tsv.split(b"\n"), start=1):
        line = line.removesuffix(b"\r")
        if not line or line.startswith(b"#"):
            continue
        f = line.split(b"\t")
        problem = None
        if len(f) != 5:
            problem = "expected 5 TAB-separated fields"
        elif not is_device_id(f[0]):
            problem = "bad device id"
        elif not 0 < len(f[1]) <= MAX_SITE_BYTES or any(
            b < 0x20 or b > 0x7E or b in b'"\\' for b in f[1]
        ):
            problem = "bad site"
        elif f[2].decode("latin-1") not in QUANTITIES:
            problem = "unknown kind"
        elif not is_json_number(f[3]) or not is_json_number(f[4]):
            problem = "min/max must be numbers"
        elif not float(f[3]) <= float(f[4]):
            problem = "min > max"
        elif f[0] in devices:
            problem = "duplicate device id"
        if problem:
            raise LookupError_(f"devices.tsv line {line_no}: {problem}")
        devices[f[0]] = Device(f[1].decode(), f[2].decode(), float(f[3]), float(f[4]))
    return devices


def transform(events: bytes, lookup_tsv: bytes) -> tuple[bytes, bytes]:
    """Return (stdout, stderr) exactly as the guest writes them; raises LookupError_."""
    devices = load_lookup(lookup_tsv)
    counts = dict.fromkeys(
        ("in", "out", "malformed", "unknown_device", "kind_mismatch", "out_of_range"), 0
    )
    out: list[str] = []
    lines = events.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for line in lines:
        if len(line) <= MAX_LINE_BYTES and not line.strip(b" \t\r"):
            continue
        counts["in"] += 1
        try:
            if len(line) > MAX_LINE_BYTES:
                raise Malformed("line too long")
            device_id, ts_ms, value, quantity = parse_event(line)
        except Malformed:
            counts["malformed"] += 1
            continue
        device = devices.get(device_id)
        if device is None:
            counts["unknown_device"] += 1
        elif device.kind != quantity:
            counts["kind_mismatch"] += 1
        elif not device.min <= value <= device.max:
            counts["out_of_range"] += 1
        else:
            counts["out"] += 1
            shown = f"{value:.3f}"  # correctly rounded, like C's printf("%.3f")
            shown = "0.000" if shown == "-0.000" else shown
            out.append(
                f'{{"device":"{device_id.decode()}","site":"{device.site}","kind":"{device.kind}",'
                f'"ts_ms":{ts_ms},"time":"{format_rfc3339_ms(ts_ms)}","value":{shown},'
                f'"unit":"{CANONICAL_UNITS[quantity]}"}}\n'
            )
    dropped = counts["unknown_device"] + counts["kind_mismatch"] + counts["out_of_range"]
    summary = {"in": counts["in"], "out": counts["out"], "dropped": dropped}
    summary.update(
        (k, counts[k]) for k in ("malformed", "unknown_device", "kind_mismatch", "out_of_range")
    )
    stderr = json.dumps(summary, separators=(",", ":")) + "\n"
    return "".join(out).encode(), stderr.encode()


def main(argv: list[str] | None = None) -> int:
    """CLI: transform stdin with LOOKUP_DIR/devices.tsv, like the guest."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lookup_dir", help="directory holding devices.tsv")
    args = parser.parse_args(argv)
    with open(f"{args.lookup_dir}/devices.tsv", "rb") as table:
        lookup = table.read()
    try:
        stdout, stderr = transform(sys.stdin.buffer.read(), lookup)
    except LookupError_ as error:
        sys.stderr.write(f"event-transform: error: {error}\n")
        return 2
    sys.stdout.buffer.write(stdout)
    sys.stderr.buffer.write(stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
