"""Shared by the benchmarks: one core, the machine's description, the final JSON line."""

from __future__ import annotations

import json
import os
import platform
import time
from typing import Any

#: How long the cores' idle time is sampled to choose the least busy one (s): long enough for the kernel's
#: tick counters (100 Hz, 10 ms a tick) to show a busy core, short beside any benchmark.
IDLE_SAMPLE_S = 0.2

#: Names a core to pin to (an integer among the allowed ones), overriding the least-busy choice.
PIN_CPU_ENV = "EDGE_BENCH_CPU"


def _idle_ticks() -> dict[int, int]:
    """Idle + iowait ticks per CPU since boot, from /proc/stat (Linux); empty where it cannot be read."""
    ticks: dict[int, int] = {}
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            for line in stat:
                name, *fields = line.split()
                if name.startswith("cpu") and name[3:].isdigit() and len(fields) >= 5:
                    ticks[int(name[3:])] = int(fields[3]) + int(fields[4])
    except (OSError, ValueError):
        return {}
    return ticks


def least_busy_core(allowed: set[int], sample_s: float = IDLE_SAMPLE_S) -> int:
    """The allowed CPU idle the longest over `sample_s` (ties: the lowest number). Always min(allowed) made two
    pinned benchmarks started side by side share one core while the other idled."""
    before = _idle_ticks()
    time.sleep(sample_s)
    after = _idle_ticks()
    idle = {cpu: after[cpu] - before[cpu] for cpu in allowed if cpu in before and cpu in after}
    if not idle:
        return min(allowed)
    return max(sorted(idle), key=lambda cpu: idle[cpu])


def pin_to_one_core() -> str:
    """Pin this process (and the threads it starts) to one CPU, so "per core" figures mean that: the one named by
    $EDGE_BENCH_CPU, else the least busy one now."""
    try:
        allowed = os.sched_getaffinity(0)
    except (AttributeError, OSError):
        return "unpinned"
    wanted = os.environ.get(PIN_CPU_ENV, "").strip()
    if wanted:
        if not wanted.isdigit() or int(wanted) not in allowed:
            raise SystemExit(f"{PIN_CPU_ENV}={wanted!r}: not one of the allowed CPUs {sorted(allowed)}")
        cpu = int(wanted)
    else:
        cpu = least_busy_core(allowed)
    try:
        os.sched_setaffinity(0, {cpu})
    except OSError:
        return "unpinned"
    return f"cpu {cpu}"


def machine() -> str:
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_implementation()} "
        f"{platform.python_version()}, {platform.system()} {platform.release()}"
    )


def report(name: str, figures: dict[str, Any]) -> None:
    """The last line a benchmark prints: what `edge bench` and the README table read."""
    print(json.dumps({"benchmark": name, "machine": machine(), **figures}, sort_keys=True))
