"""Seeded generators for the reference workloads' inputs (pure stdlib).

    python workloads/gen_events.py events --seed 1 --count 100000 --out DIR
        -> DIR/events.ndjson and DIR/lookup/devices.tsv (bind DIR/lookup as state "lookup")
    python workloads/gen_events.py readings --seed 1 --batches 20 --batch-size 500 --out DIR
        -> DIR/batch-0001.csv ... and DIR/truth.csv (every distinct reading, id order)

As a module: ``make_devices``, ``devices_tsv``, ``generate_events`` and
``generate_readings``. The same arguments always give the same bytes.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

KINDS = ("temperature", "pressure", "humidity")
# unit -> (canonical value -> value in that unit), the inverse of the guest's normalisation
UNITS: dict[str, dict[str, Callable[[float], float]]] = {
    "temperature": {"C": lambda v: v, "F": lambda v: v * 1.8 + 32.0, "K": lambda v: v + 273.15},
    "pressure": {
        "kPa": lambda v: v, "Pa": lambda v: v * 1000.0, "hPa": lambda v: v * 10.0,
        "mbar": lambda v: v * 10.0, "bar": lambda v: v / 100.0,
        "psi": lambda v: v / 6.894757293168361, "atm": lambda v: v / 101.325,
    },
    "humidity": {"%": lambda v: v, "%RH": lambda v: v},
}  # fmt: skip
# kind -> (min, max, typical baseline range) in canonical units (C, kPa, %)
LIMITS = {
    "temperature": (-40.0, 85.0, (-10.0, 35.0)),
    "pressure": (80.0, 120.0, (95.0, 105.0)),
    "humidity": (0.0, 100.0, (30.0, 80.0)),
}
SITES = ("north-yard", "south-yard", "dock-1", "dock-2", "cold-store", "roof", "plant-a", "plant-b")
START_MS = 1_709_251_200_000  # 2024-03-01T00:00:00Z


@dataclass(frozen=True)
class Device:
    """A sensor: id, site, kind, accepted canonical range and typical level."""

    id: str
    site: str
    kind: str
    min: float
    max: float
    baseline: float


def make_devices(seed: int, count: int, prefix: str = "dev") -> list[Device]:
    """count devices with kinds, sites and baselines drawn from seed."""
    rng = random.Random(f"devices:{seed}:{prefix}")
    devices = []
    for index in range(count):
        kind = KINDS[rng.randrange(len(KINDS))]
        low, high, (base_low, base_high) = LIMITS[kind]
        devices.append(
            Device(
                f"{prefix}-{kind[:3]}-{index:05d}",
                rng.choice(SITES),
                kind,
                low,
                high,
                round(rng.uniform(base_low, base_high), 2),
            )
        )
    return devices


def devices_tsv(devices: list[Device]) -> str:
    """The lookup table the event-transform guest reads (devices.tsv)."""
    rows = ["# device_id\tsite\tkind\tmin\tmax  (canonical units: C, kPa, %)"]
    rows += [f"{d.id}\t{d.site}\t{d.kind}\t{d.min:g}\t{d.max:g}" for d in devices]
    return "\n".join(rows) + "\n"


def _format_ts(rng: random.Random, ms: int) -> str:
    """One of the accepted timestamp spellings for ms."""
    choice = rng.random()
    if choice < 0.15:
        return str(ms // 1000)  # unix seconds
    if choice < 0.35:
        return str(ms)  # unix milliseconds
    seconds, milli = divmod(ms, 1000)
    offset_minutes = 0
    if choice >= 0.8:
        offset_minutes = rng.choice((-480, -300, -150, 60, 120, 330, 345, 540))
    local = seconds + offset_minutes * 60
    days, rest = divmod(local, 86400)
    year, month, day = _civil_from_days(days)
    text = (
        f"{year:04d}-{month:02d}-{day:02d}T{rest // 3600:02d}:{rest // 60 % 60:02d}:{rest % 60:02d}"
    )
    if choice < 0.6:
        text += f".{milli:03d}"
    elif choice < 0.7:
        text += f".{milli:03d}{rng.randrange(1000):03d}"  # microseconds: truncated to ms
    if offset_minutes == 0:
        return f'"{text}Z"'
    sign = "+" if offset_minutes > 0 else "-"
    return f'"{text}{sign}{abs(offset_minutes) // 60:02d}:{abs(offset_minutes) % 60:02d}"'


def _civil_from_days(days: int) -> tuple[int, int, int]:
    z = days + 719468
    era, doe = divmod(z, 146097)
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    month = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (month <= 2), month, doy - (153 * mp + 2) // 5 + 1


EXTRA_FIELDS = ('"seq":{n}', '"fw":"1.4.2"', '"battery":3.61', '"ok":true', '"meta":null',
                '"note":"caf\\u00e9 \\"x\\"\\n"', '"rssi":-71', '"gain":1.5e-3')  # fmt: skip
MALFORMED = (
    lambda ok: ok[: len(ok) // 2],  # truncated
    lambda ok: ok.replace('"unit"', '"units"'),  # missing field
    lambda ok: ok[:-1] + ",}",  # trailing comma
    lambda ok: ok[:-1] + ',"ts":0}',  # duplicate key
    lambda ok: ok + " x",  # trailing garbage
    lambda ok: "not json at all",
    lambda ok: "{}",
    lambda ok: ok.replace('"device":"', '"device":"\\u0041', 1),  # escape in a known field
)
BAD_VALUES = ('"ts":"2024-02-30T00:00:00Z"', '"ts":"2024-03-01T24:00:00Z"', '"ts":-5',
              '"ts":1.7e9', '"ts":"2024-03-01 10:00:00Z"', '"ts":"2024-03-01T10:00:00+0100"',
              '"unit":"degC"', '"unit":"c"', '"value":NaN', '"value":01.5', '"value":.5',
              '"ts":"2024-03-01T10:00:00.1234567890Z"', '"value":"21.5"', '"device":{"id":"x"}',
              '"device":null', '"ts":true', '"unit":["C"]')  # fmt: skip


def generate_events(
    seed: int,
    count: int,
    devices: list[Device],
    malformed_fraction: float = 0.02,
    unknown_fraction: float = 0.02,
    out_of_range_fraction: float = 0.01,
    mismatch_fraction: float = 0.005,
) -> Iterator[str]:
    """Yield count NDJSON lines (with '\\n') for the event-transform guest."""
    rng = random.Random(f"events:{seed}")
    unknown = make_devices(seed, 50, prefix="ghost")
    clock = START_MS
    for n in range(count):
        clock += rng.randrange(0, 200)
        roll = rng.random()
        device = rng.choice(unknown if roll < unknown_fraction else devices)
        low, high, _ = LIMITS[device.kind]
        value = device.baseline + rng.gauss(0.0, (high - low) / 100)
        if rng.random() < out_of_range_fraction:
            value = (
                high + rng.uniform(1.0, 50.0)
                if rng.random() < 0.5
                else low - rng.uniform(1.0, 50.0)
            )
        kind = device.kind
        if rng.random() < mismatch_fraction:
            kind = rng.choice([k for k in KINDS if k != kind])
            value = LIMITS[kind][2][0]
        unit, convert = rng.choice(list(UNITS[kind].items()))
        shown = f"{convert(value):.{rng.choice((1, 2, 3, 4))}f}"
        parts = [
            f'"device":"{device.id}"',
            f'"ts":{_format_ts(rng, clock)}',
            f'"value":{shown}',
            f'"unit":"{unit}"',
        ]
        if rng.random() < 0.3:
            parts.insert(rng.randrange(len(parts) + 1), rng.choice(EXTRA_FIELDS).format(n=n))
        if rng.random() < 0.2:
            rng.shuffle(parts)
        line = "{" + ",".join(parts) + "}"
        if rng.random() < 0.05:
            line = "{ " + ", ".join(p.replace(":", ": ", 1) for p in parts) + " }\r"
        if rng.random() < malformed_fraction:
            if rng.random() < 0.5:
                bad = rng.choice(BAD_VALUES)
                field = bad.split(":", 1)[0]
                line = "{" + ",".join(bad if p.startswith(field + ":") else p for p in parts) + "}"
            else:
                line = rng.choice(MALFORMED)("{" + ",".join(parts) + "}")
        if rng.random() < 0.002:
            yield "\n"  # blank lines are skipped, not counted
        yield line + "\n"


@dataclass(frozen=True)
class Reading:
    """A collector reading; value_milli is the value in thousandths."""

    id: int
    device: str
    ts_ms: int
    value_milli: int

    def to_line(self, rng: random.Random | None = None) -> str:
        """id,device,ts_ms,value; rng varies the (equivalent) spelling of the value."""
        sign = "-" if self.value_milli < 0 else ""
        whole, frac = divmod(abs(self.value_milli), 1000)
        text = f"{sign}{whole}.{frac:03d}"
        if rng is not None and rng.random() < 0.5:
            text = text.rstrip("0").rstrip(".")
            text = "0" if text in ("", "-", "-0") else text
        return f"{self.id},{self.device},{self.ts_ms},{text}"


def generate_readings(
    seed: int, batches: int, batch_size: int, duplicate_fraction: float = 0.1, devices: int = 12
) -> tuple[list[str], dict[int, Reading]]:
    """Collector input: (batches as CSV text, ground truth id -> Reading).

    Each batch holds about batch_size lines; a duplicate_fraction of them are
    re-sends of readings from this batch or one of the three before it.
    """
    rng = random.Random(f"readings:{seed}")
    names = [f"site-{seed % 97:02d}-sensor-{k:03d}" for k in range(devices)]
    clocks = {name: START_MS + rng.randrange(10_000) for name in names}
    levels = {name: rng.randrange(-20_000, 120_000) for name in names}
    truth: dict[int, Reading] = {}
    recent: list[list[Reading]] = []
    next_id = 1_000_000_000 + rng.randrange(1000)
    texts = []
    for _ in range(batches):
        fresh = []
        for _ in range(max(1, round(batch_size * (1 - duplicate_fraction)))):
            name = rng.choice(names)
            clocks[name] += 10_000 + rng.randrange(-50, 51)
            levels[name] += rng.randrange(-250, 251)
            reading = Reading(next_id, name, clocks[name], levels[name])
            next_id += rng.choice((1, 1, 1, 2, 17))  # gaps: ids are unique, not dense
            truth[reading.id] = reading
            fresh.append(reading)
        pool = [r for batch in recent[-3:] for r in batch] + fresh
        lines = [r.to_line(rng) for r in fresh]
        for _ in range(batch_size - len(fresh)):
            lines.insert(rng.randrange(len(lines) + 1), rng.choice(pool).to_line(rng))
        recent.append(fresh)
        texts.append("".join(line + "\n" for line in lines))
    return texts, truth


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    parser = argparse.ArgumentParser(description="Generate inputs for the VYR reference guests.")
    sub = parser.add_subparsers(dest="what", required=True)
    events = sub.add_parser("events", help="event-transform input + lookup table")
    events.add_argument("--count", type=int, default=10_000)
    events.add_argument("--devices", type=int, default=200)
    events.add_argument("--malformed", type=float, default=0.02, help="fraction of bad lines")
    events.add_argument("--unknown", type=float, default=0.02, help="fraction from unknown devices")
    readings = sub.add_parser("readings", help="collector batches + ground truth")
    readings.add_argument("--batches", type=int, default=10)
    readings.add_argument("--batch-size", type=int, default=500)
    readings.add_argument("--duplicates", type=float, default=0.1, help="fraction of re-sends")
    for command in (events, readings):
        command.add_argument("--seed", type=int, default=1)
        command.add_argument("--out", type=Path, required=True, help="output directory")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.what == "events":
        devices = make_devices(args.seed, args.devices)
        (args.out / "lookup").mkdir(exist_ok=True)
        (args.out / "lookup" / "devices.tsv").write_text(devices_tsv(devices))
        with open(args.out / "events.ndjson", "w", newline="") as out:
            out.writelines(
                generate_events(args.seed, args.count, devices, args.malformed, args.unknown)
            )
    else:
        batches, truth = generate_readings(
            args.seed, args.batches, args.batch_size, args.duplicates
        )
        for number, text in enumerate(batches, start=1):
            (args.out / f"batch-{number:04d}.csv").write_text(text)
        lines = (truth[key].to_line() + "\n" for key in sorted(truth))
        (args.out / "truth.csv").write_text("".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
