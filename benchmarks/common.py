"""Shared by the benchmarks: one core, the machine's description, the final JSON line."""

from __future__ import annotations

import json
import os
import platform
from typing import Any


def pin_to_one_core() -> str:
    """Pin this process (and the threads it starts) to one CPU, so "per core" figures mean that."""
    try:
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
    except (AttributeError, OSError):
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
