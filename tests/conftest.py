"""Shared pytest fixtures; keep this small and put the logic in helper modules."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from central.cluster import PORT_SLICE_ENV
from tests.fake_bluez import FakeBlueZ, FakeBlueZFactory
from tests.mosquitto import Mosquitto

# `make test` runs the suite on pytest-xdist workers side by side (most tests wait on the processes they start, not
# the CPU): each worker, and every process its tests start, draws its servers' ports from a slice of its own.
_WORKER, _WORKERS = os.environ.get("PYTEST_XDIST_WORKER", ""), os.environ.get("PYTEST_XDIST_WORKER_COUNT", "")
if _WORKER.startswith("gw") and _WORKER[2:].isdigit() and _WORKERS.isdigit():
    os.environ.setdefault(PORT_SLICE_ENV, f"{_WORKER[2:]}/{_WORKERS}")

# Hypothesis times each example against a 200 ms deadline and fails a slow data generation
# (too_slow): on a loaded 2-core CI machine a pure function's example can be descheduled that long,
# and a re-run that passes is reported as a flaky failure. Timing is measured in benchmarks/, not
# asserted here. In CI (CI=true) the examples are also derandomised: the same ones every run (a
# failure there is then reproducible); elsewhere each run draws new ones.
settings.register_profile("edge", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("edge-ci", settings.get_profile("edge"), derandomize=True, database=None)
settings.load_profile("edge-ci" if os.environ.get("CI", "").lower() in ("1", "true", "yes") else "edge")


@pytest.fixture
def fake_bluez_factory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeBlueZFactory]:
    """Starts fake BlueZes on private D-Buses (see tests/fake_bluez.py); all stopped after the test."""
    factory = FakeBlueZFactory(tmp_path, monkeypatch)
    yield factory
    factory.close()


@pytest.fixture
def fake_bluez(fake_bluez_factory: FakeBlueZFactory) -> FakeBlueZ:
    """A fake BlueZ with a powered adapter hci0 (with the AdvertisementMonitor API)."""
    return fake_bluez_factory()


@pytest.fixture
def mosquitto_server(tmp_path: Path) -> Iterator[Mosquitto]:
    """A real mosquitto of its own for the test (tests/mosquitto.py), without persistence; stopped after it."""
    with Mosquitto(tmp_path / "broker", persistence=False) as broker:
        yield broker


@pytest.fixture(scope="session")
def store_trace_5min(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Five minutes of the bundled simulated store (seed 1) as a trace (tests.gateway_runs.store_trace)."""
    from tests.gateway_runs import store_trace

    return store_trace(tmp_path_factory.mktemp("trace"))
