"""The reference guests in workloads/, built with the pinned ziglang and run under
wasmtime's WASI (the same contract the VYR runtime gives them): reproducible builds,
event-transform against its Python reference, collector exactly-once forwarding,
anomaly native == wasm.

Needs the ``ziglang`` package (workloads/requirements.txt) and ``wasmtime``; skips
only when ziglang is missing.
"""

from __future__ import annotations

import datetime
import platform
import random
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest.importorskip("ziglang")
# Imported after the skip on purpose: without ziglang the module skips, without wasmtime it fails.
import wasmtime

from workloads import gen_events as gen
from workloads import reference_transform as reference
from workloads.collector import decode as decoder

# The first build on a machine compiles wasi-libc and musl into zig's cache (a minute or
# two on 2 cores), charged to whichever test first uses the session build.
pytestmark = pytest.mark.timeout(900)

WORKLOADS = Path(__file__).resolve().parents[2] / "workloads"
GUESTS = ("hello", "event-transform", "collector", "anomaly", "state-file", "textstats")


def _build(out: Path) -> dict[str, str]:
    """Run build.py into out; returns {file name: sha256} from its stdout."""
    result = subprocess.run(
        [sys.executable, str(WORKLOADS / "build.py"), "--out", str(out)],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    digests = dict(reversed(line.split("  ", 1)) for line in result.stdout.splitlines())
    assert (out / "SHA256SUMS").read_text() == result.stdout
    return digests


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("build")
    _build(out)
    return out


@dataclass
class Run:
    code: int
    stdout: bytes
    stderr: bytes


_engine = wasmtime.Engine()
_modules: dict[Path, wasmtime.Module] = {}


def _preopen(config: wasmtime.WasiConfig, host: str, guest: str, writable: bool) -> None:
    """preopen_dir across wasmtime-py versions (DirPerms/FilePerms, later fs_mutable)."""
    if hasattr(wasmtime, "DirPerms"):
        mode = "READ_WRITE" if writable else "READ_ONLY"
        dir_perms, file_perms = getattr(wasmtime.DirPerms, mode), getattr(wasmtime.FilePerms, mode)
        config.preopen_dir(host, guest, dir_perms, file_perms)
    else:
        config.preopen_dir(host, guest, fs_mutable=writable)


def run_wasm(
    wasm: Path,
    args: Sequence[str] = (),
    stdin: bytes = b"",
    states: dict[str, tuple[Path, bool]] | None = None,
    scratch: Path | None = None,
) -> Run:
    """Run a WASI command like VYR does: argv[0] = artifact name, stdin bytes,
    each state (host dir, writable) preopened at /state/<name>, nothing else."""
    if wasm not in _modules:
        _modules[wasm] = wasmtime.Module.from_file(_engine, str(wasm))
    scratch = scratch or wasm.parent
    io = {name: scratch / f".{wasm.stem}.{name}" for name in ("stdin", "stdout", "stderr")}
    io["stdin"].write_bytes(stdin)
    config = wasmtime.WasiConfig()
    config.argv = [wasm.stem, *args]
    config.stdin_file = str(io["stdin"])
    config.stdout_file = str(io["stdout"])
    config.stderr_file = str(io["stderr"])
    for name, (host_dir, writable) in (states or {}).items():
        _preopen(config, str(host_dir), f"/state/{name}", writable)
    store = wasmtime.Store(_engine)
    store.set_wasi(config)
    linker = wasmtime.Linker(_engine)
    linker.define_wasi()
    instance = linker.instantiate(store, _modules[wasm])
    start = instance.exports(store)["_start"]
    assert isinstance(start, wasmtime.Func)
    try:
        start(store)
        code = 0
    except wasmtime.ExitTrap as exit_trap:
        code = exit_trap.code
    return Run(code, io["stdout"].read_bytes(), io["stderr"].read_bytes())


# ---- build ----


def test_build_is_reproducible(built: Path, tmp_path: Path) -> None:
    sums = (built / "SHA256SUMS").read_text().splitlines()
    first = dict(reversed(line.split("  ", 1)) for line in sums)
    assert sorted(first) == sorted(f"{n}.{k}" for n in GUESTS for k in ("wasm", "native"))
    assert _build(tmp_path / "again") == first  # a second, independent build: same bytes


@pytest.mark.parametrize("name", GUESTS)
def test_guest_imports_only_wasi_preview1(built: Path, name: str) -> None:
    module = wasmtime.Module.from_file(_engine, str(built / f"{name}.wasm"))
    assert {item.module for item in module.imports} == {"wasi_snapshot_preview1"}
    assert {"_start", "memory"} <= {item.name for item in module.exports}


# ---- hello ----


def test_hello_uppercases_and_exits_with_argv1(built: Path) -> None:
    run = run_wasm(built / "hello.wasm", ["7"], b"Hello, vyr! \xc3\xa9\n")
    assert (run.code, run.stdout, run.stderr) == (
        7,
        b"HELLO, VYR! \xc3\xa9\n",
        b"hello: 15 bytes\n",
    )
    assert run_wasm(built / "hello.wasm").code == 0
    assert run_wasm(built / "hello.wasm", ["nope"]).code == 2


# ---- event-transform ----


def transform_both(
    built: Path, tmp_path: Path, events: bytes, table: str
) -> tuple[Run, tuple[bytes, bytes]]:
    lookup = tmp_path / "lookup"
    lookup.mkdir(exist_ok=True)
    (lookup / "devices.tsv").write_text(table)
    run = run_wasm(
        built / "event-transform.wasm", [], events, {"lookup": (lookup, False)}, tmp_path
    )
    return run, reference.transform(events, table.encode())


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_event_transform_matches_reference(built: Path, tmp_path: Path, seed: int) -> None:
    devices = gen.make_devices(seed, 40)
    events = "".join(
        gen.generate_events(seed, 3000, devices, malformed_fraction=0.1, unknown_fraction=0.05)
    ).encode()
    run, (stdout, stderr) = transform_both(built, tmp_path, events, gen.devices_tsv(devices))
    assert run.code == 0
    assert run.stderr == stderr
    assert run.stdout == stdout
    summary = reference.json.loads(stderr)
    assert summary["malformed"] > 100 and summary["unknown_device"] > 50 and summary["out"] > 2000


EDGE_TABLE = "dev-1\tsite A\ttemperature\t-40\t85\r\n# comment\n\ndev-2\tb\tpressure\t0\t1e3\n"
EDGE_LINES = [
    b'{"device":"dev-1","ts":"2024-02-29T23:59:59.9999+05:30","value":0.0625,"unit":"C"}',
    b'{"device":"dev-1","ts":0,"value":-0.0001,"unit":"C"}',
    b'{"device":"dev-1","ts":99999999999,"value":1.0625,"unit":"C"}',
    b'{"device":"dev-1","ts":100000000000,"value":212,"unit":"F"}',
    b'{"device":"dev-1","ts":253402300799999,"value":0,"unit":"K"}',
    b'{"device":"dev-1","ts":253402300800000,"value":0,"unit":"C"}',
    b'{"device":"dev-2","ts":"1970-01-01T00:00:00.123456789Z","value":14.6959,"unit":"psi"}',
    b'{"device":"dev-2","ts":"1970-01-01T00:00:00-00:01","value":1,"unit":"atm"}',
    b'{"device":"dev-2","ts":"1970-01-01T00:00:00+00:01","value":1,"unit":"atm"}',
    b'{"device":"dev-2","ts":"2023-02-29T00:00:00Z","value":1,"unit":"bar"}',
    b'{"device":"dev-2","ts":1,"value":1e400,"unit":"Pa"}',
    b'{"device":"dev-2","ts":1,"value":-0,"unit":"hPa","dev\\u0069ce":"x"}',
    b'{"device":"dev-2","ts":1,"value":1,"unit":"mbar","x":"\x00"}',
    b'{"device":"dev-2","ts":1,"value":1,"unit":"mbar","x":"\xff\xfe"}',
    b'{"device":"dev-1","ts":1,"value":1,"unit":"kPa"}',
    b'{"device":"dev-9","ts":1,"value":1,"unit":"C"}',
    b"\t \r",
    b'{"device":"dev-1","ts":1,"value":1,"unit":"C","pad":"' + b"x" * 65536 + b'"}',
    b"[1,2]",
    b'{"device":"dev-1","ts":1,"value":85.0004,"unit":"C"}\r',  # range check is before rounding
    b'{"device":"dev-1","ts":1,"value":84.9995,"unit":"C"}',
    b'{"device":"dev-1","ts":1,"value":-40.0005,"unit":"C"}',
]


def test_event_transform_edge_cases_match_reference(built: Path, tmp_path: Path) -> None:
    events = b"\n".join(EDGE_LINES)  # no final newline: the last line still counts
    run, (stdout, stderr) = transform_both(built, tmp_path, events, EDGE_TABLE)
    assert (run.code, run.stderr, run.stdout) == (0, stderr, stdout)
    assert stderr == (
        b'{"in":21,"out":8,"dropped":7,"malformed":6,"unknown_device":1,'
        b'"kind_mismatch":1,"out_of_range":5}\n'
    )
    first = stdout.splitlines()[0]
    assert first == (
        b'{"device":"dev-1","site":"site A","kind":"temperature","ts_ms":1709231399999,'
        b'"time":"2024-02-29T18:29:59.999Z","value":0.062,"unit":"C"}'
    )
    assert b'"value":0.000,' in stdout.splitlines()[1]  # negative zero printed without its sign


def test_event_transform_bad_table_is_fatal(built: Path, tmp_path: Path) -> None:
    lookup = tmp_path / "lookup"
    lookup.mkdir()
    (lookup / "devices.tsv").write_text("dev-1\tsite\tsoil\t0\t1\n")
    run = run_wasm(built / "event-transform.wasm", [], b"", {"lookup": (lookup, False)}, tmp_path)
    assert run.code == 2
    assert run.stderr == b"event-transform: error: devices.tsv line 1: unknown kind\n"
    with pytest.raises(reference.LookupError_, match="line 1: unknown kind"):
        reference.transform(b"", b"dev-1\tsite\tsoil\t0\t1\n")
    missing = run_wasm(built / "event-transform.wasm", ["nostate"], b"", {}, tmp_path)
    assert missing.code == 2 and b"cannot read /state/nostate/devices.tsv" in missing.stderr


def test_reference_timestamps_agree_with_datetime() -> None:
    rng = random.Random(5)
    epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
    for ms in [0, reference.MAX_TS_MS, 951_782_400_000] + [
        rng.randrange(reference.MAX_TS_MS) for _ in range(2000)
    ]:
        moment = epoch + datetime.timedelta(milliseconds=ms)
        text = reference.format_rfc3339_ms(ms)
        assert text == moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"
        assert reference.parse_rfc3339(text.encode()) == ms
        offset = datetime.timezone(datetime.timedelta(minutes=rng.randrange(-23 * 60, 23 * 60)))
        shifted = moment.astimezone(offset) if 2 <= moment.year <= 9998 else moment
        assert reference.parse_rfc3339(shifted.isoformat(timespec="milliseconds").encode()) == ms


# ---- collector ----


def collector(
    built: Path, state: Path, mode: str, stdin: bytes = b"", writable: bool = True
) -> Run:
    return run_wasm(
        built / "collector.wasm", [mode], stdin, {"site": (state, writable)}, state.parent
    )


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_collector_forwards_every_reading_exactly_once(
    built: Path, tmp_path: Path, seed: int
) -> None:
    batches, truth = gen.generate_readings(seed, batches=10, batch_size=150, duplicate_fraction=0.2)
    state = tmp_path / "site"
    state.mkdir()
    rng = random.Random(seed)
    forwarded: list[decoder.Reading] = []
    for batch in batches:
        assert collector(built, state, "collect", batch.encode()).code == 0
        for _ in range(rng.choice((0, 0, 1, 2))):  # sometimes none, sometimes twice in a row
            run = collector(built, state, "forward")
            assert run.code == 0, run.stderr
            forwarded += decoder.decode(run.stdout)
    run = collector(built, state, "forward")
    assert run.code == 0
    forwarded += decoder.decode(run.stdout)
    ids = [reading.id for reading in forwarded]
    assert len(ids) == len(set(ids)), "a reading was forwarded twice"
    assert set(ids) == set(truth), "a reading was lost"
    for reading in forwarded:
        expected = truth[reading.id]
        assert (reading.device, reading.ts_ms, reading.value_milli) == (
            expected.device,
            expected.ts_ms,
            expected.value_milli,
        )
    empty = collector(built, state, "forward")
    assert (empty.code, decoder.decode(empty.stdout)) == (0, [])


def test_collector_batch_is_compressed_and_checked(built: Path, tmp_path: Path) -> None:
    batches, truth = gen.generate_readings(9, batches=1, batch_size=2000, duplicate_fraction=0.0)
    state = tmp_path / "site"
    state.mkdir()
    collector(built, state, "collect", batches[0].encode())
    batch = collector(built, state, "forward").stdout
    assert len(batch) * 3 < len(batches[0])  # delta + varint beats the text by > 3x
    assert [r.to_line() for r in decoder.decode(batch)] == [
        truth[k].to_line() for k in sorted(truth)
    ]
    for position in (3, 9, 30, len(batch) - 1):  # magic, count, payload, last byte
        corrupt = bytearray(batch)
        corrupt[position] ^= 0x40
        with pytest.raises(decoder.BatchError):
            decoder.decode(bytes(corrupt))


def test_collector_rejects_a_malformed_batch_whole(built: Path, tmp_path: Path) -> None:
    state = tmp_path / "site"
    state.mkdir()
    assert collector(built, state, "collect", b"1,dev-a,10,1.5\n").code == 0
    before = (state / "buffer.log").read_bytes()
    for bad in (
        b"2,dev-a,10,1.5\n3,dev a,10,1\n",
        b"4,dev-a,10,1.2345\n",
        b"18446744073709551616,d,1,1\n",
    ):
        run = collector(built, state, "collect", bad)
        assert run.code == 65 and b"batch rejected" in run.stderr
        assert (state / "buffer.log").read_bytes() == before


def test_collector_repairs_an_interrupted_append(built: Path, tmp_path: Path) -> None:
    state = tmp_path / "site"
    state.mkdir()
    (state / "buffer.log").write_bytes(b"1,dev-a,10,1.5\n2,dev-a,2")  # torn write
    run = collector(built, state, "collect", b"3,dev-b,20,-2\r\n")
    assert run.code == 0 and b'"repaired_bytes":9' in run.stderr
    readings = decoder.decode(collector(built, state, "forward").stdout)
    assert [r.to_line() for r in readings] == ["1,dev-a,10,1.500", "3,dev-b,20,-2.000"]


def test_collector_read_only_state_fails_without_output(built: Path, tmp_path: Path) -> None:
    state = tmp_path / "site"
    state.mkdir()
    assert collector(built, state, "collect", b"1,dev-a,10,1.5\n").code == 0
    files = {p.name: p.read_bytes() for p in state.iterdir()}
    assert collector(built, state, "collect", b"2,dev-a,10,1\n", writable=False).code == 74
    run = collector(built, state, "forward", writable=False)
    assert (run.code, run.stdout) == (74, b"")
    assert {p.name: p.read_bytes() for p in state.iterdir()} == files


# ---- anomaly ----


needs_x86_64_linux = pytest.mark.skipif(
    not (sys.platform == "linux" and platform.machine() == "x86_64"),
    reason="the native build targets x86_64-linux-musl",
)


def run_native(binary: Path, args: list[str], stdin: bytes = b"") -> Run:
    result = subprocess.run(
        [str(binary), *args], input=stdin, capture_output=True, timeout=60, check=False
    )
    return Run(result.returncode, result.stdout, result.stderr)


@needs_x86_64_linux
@pytest.mark.parametrize(
    "args",
    [
        ["--count", "200000", "--window", "128", "--seed", "7", "--z", "3.5"],
        ["--count", "5000", "--window", "2"],
    ],
)
def test_anomaly_native_and_wasm_agree(built: Path, args: list[str]) -> None:
    wasm = run_wasm(built / "anomaly.wasm", args)
    native = run_native(built / "anomaly.native", args)
    assert wasm.code == native.code == 0
    assert wasm.stdout == native.stdout
    summary = reference.json.loads(wasm.stdout)
    assert summary["samples"] == int(args[1]) and summary["z_anomalies"] > 0


@needs_x86_64_linux
def test_anomaly_stdin_mode_agrees(built: Path) -> None:
    rng = random.Random(11)
    series = "".join(
        f"{rng.gauss(10, 2):.3f}\n" if i % 997 else "250\n" for i in range(20000)
    ).encode()
    args = ["--stdin", "--window", "64"]
    wasm, native = (
        run_wasm(built / "anomaly.wasm", args, series),
        run_native(built / "anomaly.native", args, series),
    )
    assert (wasm.code, wasm.stdout) == (native.code, native.stdout) == (0, wasm.stdout)
    assert reference.json.loads(wasm.stdout)["iqr_anomalies"] >= 20
    assert run_wasm(built / "anomaly.wasm", args, b"1\n2.5\nabc\n").code == 65
