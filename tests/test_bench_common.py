"""benchmarks/common.py: the core a benchmark pins itself to."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks import common

ROOT = Path(__file__).resolve().parent.parent


def _pin_in_child(env_cpu: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != common.PIN_CPU_ENV}
    if env_cpu is not None:
        env[common.PIN_CPU_ENV] = env_cpu
    code = (
        "from benchmarks.common import pin_to_one_core; import os; "
        "print(pin_to_one_core(), sorted(os.sched_getaffinity(0)))"
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30, check=False
    )


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="Linux CPU affinity")
def test_pins_to_one_allowed_core() -> None:
    done = _pin_in_child(None)
    assert done.returncode == 0, done.stderr
    label, cores = done.stdout.split(" [")
    cpu = int(label.removeprefix("cpu "))
    assert cores == f"{cpu}]\n"
    assert cpu in os.sched_getaffinity(0)


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="Linux CPU affinity")
def test_the_environment_names_the_core() -> None:
    cpu = max(os.sched_getaffinity(0))
    done = _pin_in_child(str(cpu))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"cpu {cpu} [{cpu}]")


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="Linux CPU affinity")
def test_a_core_not_allowed_is_refused_by_name() -> None:
    done = _pin_in_child("9999")
    assert done.returncode != 0
    assert "EDGE_BENCH_CPU='9999'" in done.stderr


def test_the_least_busy_core_is_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    readings: Iterator[dict[int, int]] = iter([{0: 100, 1: 100, 2: 100}, {0: 101, 1: 118, 2: 118}])
    monkeypatch.setattr(common, "_idle_ticks", lambda: next(readings))
    assert common.least_busy_core({0, 1, 2}, sample_s=0.0) == 1  # 1 and 2 tie: the lower


def test_unreadable_idle_times_fall_back_to_the_lowest_core(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(common, "_idle_ticks", dict)
    assert common.least_busy_core({3, 5}, sample_s=0.0) == 3


def test_idle_ticks_read_every_cpu() -> None:
    ticks = common._idle_ticks()
    if Path("/proc/stat").exists():
        assert set(ticks) >= set(os.sched_getaffinity(0))
