"""VYR's hostile suite: the probes of issue 13 kept as tools (docs/hostile.md).

`mutate` (mutation fuzzer over signed artifacts and bundles), `smith` (random valid modules
from `wasm-tools smith` run under limits in one process), `guests` (the small hostile guests:
traps, an endless loop, a state filler), `faults` (fault-injection helpers: a small tmpfs home,
dropping root's file-permission override). The tests in tests/hostile run short forms of each;
`make hostile-long` runs the long forms.
"""
