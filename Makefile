# The two README commands (`make demo`, `make test`) and the dev loop. `make help` lists them.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
export CARGO_TARGET_DIR ?= $(HOME)/.cache/vyr-target
RUST_SOURCES := $(shell find rust -name '*.rs' -o -name Cargo.toml) Cargo.toml pyproject.toml

.PHONY: help demo test test-rust test-python lint typecheck build wheel wheel-smoke bench bench-deps bench-quick clean
help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Every pin lives in pyproject.toml: the package's dependencies plus the `dev` extra (tools,
# test runners, the pinned ruff and ziglang), installed without building the package, so the
# Rust build happens once, in `maturin develop`.
$(VENV)/.deps: $(PY) pyproject.toml scripts/install_deps.py
	$(PY) scripts/install_deps.py dev
	touch $@

$(VENV)/.built: $(VENV)/.deps $(RUST_SOURCES)
	VIRTUAL_ENV=$(abspath $(VENV)) PATH=$(abspath $(VENV))/bin:$$PATH \
		$(VENV)/bin/maturin develop --release --quiet
	touch $@

build: $(VENV)/.built ## build the extension into .venv (editable install)

workloads/build/.stamp: $(VENV)/.deps $(shell find workloads -name '*.c' -o -name '*.h') workloads/build.py
	$(PY) workloads/build.py
	touch $@

# The set-up (venv, pip, maturin, the guests' build: hundreds of lines on a first run) goes to
# build/setup.log, so the demo's own output is what shows; on failure its tail is printed.
SETUP_LOG := build/setup.log
demo: ## what VYR claims, shown embedded (no daemon): workloads, start latency, a tampered artifact refused
	@mkdir -p $(dir $(SETUP_LOG))
	@echo "setting up .venv, the extension and the guests (first time: a few minutes); log: $(SETUP_LOG)"
	@$(MAKE) --no-print-directory build workloads/build/.stamp >$(SETUP_LOG) 2>&1 || \
		{ tail -n 40 $(SETUP_LOG); echo "set-up failed; the whole log: $(SETUP_LOG)"; exit 1; }
	$(PY) -m workloads.demo

.PHONY: environments
environments: workloads/build/.stamp ## every workload in every environment (root: cgroup, netns); writes docs/portability.md
	$(PY) -m environments.run

test: build workloads/build/.stamp test-rust test-python ## run every test (Rust core + Python)

test-rust:
	cargo test --release -p vyr-core

lint: $(VENV)/.deps typecheck ## ruff check + format (pinned), cargo fmt, clippy with warnings as errors, mypy, stubtest
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	cargo fmt --all --check
	cargo clippy --release -p vyr-core -p vyr-py -- -D warnings

# mypy --strict over python/vyr ([tool.mypy] in pyproject.toml: the generated gRPC code is left
# out), then stubtest: _core.pyi against the built extension, so the stubs cannot drift from it.
typecheck: build ## mypy --strict on python/vyr, stubtest of vyr._core against python/vyr/_core.pyi
	$(PY) -m mypy
	$(PY) -m mypy.stubtest vyr._core

test-python: build
	$(PY) -m pytest tests

# The release wheel links with zig (the pinned ziglang) against glibc 2.28's symbols, so it
# installs on manylinux_2_28 systems (RHEL 8, Debian 10, Ubuntu 20.04 and newer) and not only
# on this machine's glibc. Its own target dir: the wheel build never invalidates the dev build.
WHEEL_TARGET_DIR ?= $(HOME)/.cache/vyr-target-wheel

wheel: $(VENV)/.deps ## release wheel for manylinux_2_28 (via zig) into dist/
	rm -f dist/vyr-*.whl
	CARGO_TARGET_DIR=$(WHEEL_TARGET_DIR) PATH=$(abspath $(VENV))/bin:$$PATH \
		$(VENV)/bin/maturin build --release --zig --compatibility manylinux_2_28 --out dist

wheel-smoke: wheel workloads/build/.stamp ## install the wheel in a fresh venv outside the clone; CLI + daemon round trip
	$(PY) scripts/wheel_smoke.py dist/vyr-*.whl workloads/build/hello.wasm

# The container comparison (issue 6) needs containerd, runc, buildah and debootstrap (Debian
# packages, installed when missing; root) and matplotlib for its charts (the `bench` extra, not
# in .deps). It starts its own containerd under /tmp/vyr-bench-containerd and stops it afterwards.
BENCH_TOOLS := containerd runc buildah debootstrap

bench-deps: $(VENV)/.deps ## install what the comparison needs (apt packages, matplotlib)
	@missing=""; for tool in $(BENCH_TOOLS); do command -v $$tool >/dev/null || missing="$$missing $$tool"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(BENCH_TOOLS) >/dev/null; fi
	$(PY) scripts/install_deps.py --only-extras bench

bench: build workloads/build/.stamp bench-deps ## micro-benchmarks + container comparison (full, ~10 min)
	$(PY) -m pytest benchmarks --ignore=benchmarks/compare --benchmark-only --benchmark-json=docs/data/bench-raw.json
	[ ! -f docs/data/benchmarks.json ] || cp docs/data/benchmarks.json docs/data/benchmarks-previous.json
	$(PY) -m pytest benchmarks/compare -q -p no:cacheprovider --compare-profile full --compare-json docs/data/benchmarks.json
	$(PY) -m benchmarks.report  # docs/benchmarks.md: the micro-benchmarks, then the comparison

bench-quick: build workloads/build/.stamp bench-deps ## the container comparison, quick (≤ 3 min) -> build/bench-quick/
	$(PY) -m pytest benchmarks/compare -q -p no:cacheprovider --compare-profile quick --compare-json build/bench-quick/benchmarks.json
	$(PY) -m benchmarks.report --standalone --compare-input build/bench-quick/benchmarks.json \
		--output build/bench-quick/benchmarks.md

clean: ## remove the venv and build outputs
	rm -rf $(VENV) dist workloads/build

# The hostile suite (issue 13, docs/hostile.md). `make test` runs its short forms (tests/hostile);
# `make hostile` adds short runs of the coverage-guided fuzzers (cargo fuzz on the manifest and
# digest parsers, atheris on the bundle reader); `make hostile-long` runs the long forms.
HOSTILE_FUZZ_S ?= 30
HOSTILE_CASES ?= 10000
HOSTILE_MODULES ?= 2000
HOSTILE_KILL9_RUNS ?= 4
HOSTILE_STOP_ROUNDS ?= 300
HOSTILE_SEED ?= 13
.PHONY: hostile hostile-long
$(VENV)/.hostile-deps: $(VENV)/.deps pyproject.toml
	$(PY) scripts/install_deps.py --only-extras hostile
	command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
	touch $@

hostile: build workloads/build/.stamp $(VENV)/.hostile-deps ## hostile suite, short: tests/hostile + 30 s per fuzzer (HOSTILE_FUZZ_S)
	nice -n 10 $(PY) -m pytest tests/hostile -q
	cd rust/vyr-core && for target in manifest digest; do mkdir -p fuzz/corpus/$$target && \
		RUSTC_BOOTSTRAP=1 nice -n 10 cargo fuzz run -O $$target fuzz/corpus/$$target \
		$$(ls -d fuzz/seeds/$$target 2>/dev/null) -- -max_total_time=$(HOSTILE_FUZZ_S) || exit 1; done
	nice -n 10 $(PY) -m hostile.fuzz_bundle -max_total_time=$(HOSTILE_FUZZ_S) build/hostile/bundle-corpus

hostile-long: build workloads/build/.stamp $(VENV)/.hostile-deps ## hostile suite, long: 10,000 mutations, 2,000 random modules, 220 kill -9s, 300 stops under load
	nice -n 10 $(PY) -m hostile.mutate --cases $(HOSTILE_CASES) --seed $(HOSTILE_SEED)
	nice -n 10 $(PY) -m hostile.smith --modules $(HOSTILE_MODULES) --seed $(HOSTILE_SEED)
	for run in $$(seq $(HOSTILE_KILL9_RUNS)); do \
		VYR_KILL9_ROUNDS=55 nice -n 10 $(PY) -m pytest tests/integration/test_kill9.py -q -s -p no:cacheprovider || exit 1; done
	VYR_HOSTILE_STOP_ROUNDS=$(HOSTILE_STOP_ROUNDS) nice -n 10 $(PY) -m pytest tests/hostile/test_stop_latency.py -q -s -rxX -p no:cacheprovider

# The whitepaper's figures are generated (python -m scripts.whitepaper, stdlib only, no venv);
# the PDF needs pandoc and WeasyPrint (Debian packages, installed when missing; root).
WHITEPAPER_TOOLS := pandoc weasyprint
WHITEPAPER_PANDOC := --standalone --toc --toc-depth=2 --shift-heading-level-by=-1 \
	--metadata subtitle="A single-node runtime for signed WebAssembly tasks: what was built and measured" \
	--resource-path=docs --self-contained --css=docs/whitepaper.css

.PHONY: whitepaper
whitepaper: ## render docs/whitepaper.md to build/whitepaper.pdf (installs pandoc + WeasyPrint when missing)
	@missing=""; for tool in $(WHITEPAPER_TOOLS); do command -v $$tool >/dev/null || missing="$$missing $$tool"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi
	python3 -m scripts.whitepaper --check
	mkdir -p build
	pandoc docs/whitepaper.md $(WHITEPAPER_PANDOC) --metadata date="$$(git log -1 --format=%cs -- docs/whitepaper.md 2>/dev/null)" -o build/whitepaper.html
	weasyprint build/whitepaper.html build/whitepaper.pdf
	@echo "wrote build/whitepaper.pdf"
