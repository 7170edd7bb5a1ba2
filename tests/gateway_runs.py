"""A gateway run end to end over a replayed trace, on a real state directory (the kept-radio tests of both engines)."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any

from edge import app
from edge.beacons.replay import ReplaySource
from edge.config import Config
from edge.events import Event
from edge.sim import SimulatedStore


def run_gateway(state: Path, trace: Path, config: Config) -> list[Event]:
    """Every event of one ``edge run``-like gateway over ``trace`` (as fast as it goes), its state in ``state``."""
    out: list[Event] = []
    source = ReplaySource(trace, speed=None, strict=True)
    asyncio.run(app.run(config, source, sinks=[out.append], fast=True, rng=random.Random(1), state_dir=state))
    return out


def last_health(events: list[Event]) -> dict[str, Any]:
    return [e for e in events if e.type == "edge.gateway.health"][-1].data


def presence_of(events: list[Event]) -> list[tuple[str, dict[str, Any]]]:
    return [(e.type, e.data) for e in events if e.type.startswith("edge.presence.")]


def store_trace(folder: Path, seconds: float = 300.0) -> Path:
    """``seconds`` of the bundled simulated store (seed 1) as a trace in ``folder``."""
    path = folder / "store.jsonl"
    SimulatedStore(seed=1).write_trace(path, seconds)
    return path
