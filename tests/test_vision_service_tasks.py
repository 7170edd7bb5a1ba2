"""The vision service's own tasks (its ticker, the publishes and deliveries it starts from the camera
process's messages) run in one task group: a task that fails ends the service with that error (the
gateway then stops naming the service) instead of dying silently; a stop finishes what is in flight."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from edge.app import build_core, build_ports
from edge.clock import ManualClock
from edge.config import from_mapping
from edge.inputs import Downlink, ShelfReading
from edge.outbox import Outbox
from edge.pipeline import Pipeline
from edge.presence import Sightings
from edge.router import Decision
from edge.vision.service import VisionService
from tests.helpers import START

CONFIG = {
    "gateway": {"store": "store-1", "gateway": "gw-1"},
    "zones": [{"id": "baby", "scanners": ["gw-1"]}],
    "shelves": [{"id": "shelf-a3", "zone": "baby"}],
}


async def _motion_then_wait(vision: VisionService) -> None:
    async with vision:
        vision._on_motion("shelf-a3", "4006381333931", "pickup")  # what a shelf region's motion does
        await asyncio.sleep(30)  # cancelled at once by the failing task


async def test_a_failing_delivery_ends_the_service_with_its_error(tmp_path: Path) -> None:
    config = from_mapping(CONFIG)
    core = build_core(config)

    async def broken(_message: Downlink | ShelfReading | Sightings, _max_bytes: int | None) -> Decision:
        raise RuntimeError("the writer is gone")

    async with Outbox(tmp_path / "outbox.sqlite", core.factory.source) as outbox:
        ports = build_ports(config, core, Pipeline(core, outbox, []), ManualClock(START), tmp_path)
        vision = VisionService(dataclasses.replace(ports, deliver=broken))
        with pytest.raises(BaseExceptionGroup) as caught:
            await _motion_then_wait(vision)
    assert caught.group_contains(RuntimeError, match="the writer is gone")


async def test_a_stop_lets_a_delivery_in_flight_finish(tmp_path: Path) -> None:
    config = from_mapping(CONFIG)
    core = build_core(config)
    done: list[str] = []

    async def slow(message: Downlink | ShelfReading | Sightings, _max_bytes: int | None) -> Decision:
        await asyncio.sleep(0.2)
        done.append("delivered")
        return Decision("shelf")

    async with Outbox(tmp_path / "outbox.sqlite", core.factory.source) as outbox:
        ports = build_ports(config, core, Pipeline(core, outbox, []), ManualClock(START), tmp_path)
        async with VisionService(dataclasses.replace(ports, deliver=slow)) as vision:
            vision._on_motion("shelf-a3", "4006381333931", "pickup")
    assert done == ["delivered"]
