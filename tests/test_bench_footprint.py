"""What ``benchmarks/footprint.py`` found: ``edge run`` stopped on SIGTERM while the scanner queue
was full (a replay backlog) hung, because the cancelled feeder still waited to queue its end
marker. A stop must end the run promptly whatever the backlog."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge import constants as c
from edge.app import Gateway
from edge.beacons.advert import Advertisement
from edge.beacons.replay import ItemsSource
from edge.config import from_mapping

STOP_BUDGET_S = 3.0


def _endless(start: float) -> Iterator[Advertisement]:
    while True:
        yield Advertisement(start, "gw-1", "AA:BB:CC:DD:EE:FF", -60)


async def test_a_stop_with_a_full_scanner_queue_ends_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(c, "SCANNER_QUEUE_MAX", 20)
    start = time.time()
    config = from_mapping(
        {
            "gateway": {"store": "store-1", "gateway": "gw-1", "state_dir": str(tmp_path)},
            "ble": {"backend": "replay", "trace": "unused"},
        }
    )
    stop = asyncio.Event()
    async with Gateway(config, ItemsSource(_endless(start), start=start, speed=1.0)) as gateway:
        run = asyncio.create_task(gateway.run(stop=stop))
        await asyncio.sleep(0.3)  # the feeder outruns the pipeline: the queue is full
        stop.set()
        stopped = time.monotonic()
        done, _ = await asyncio.wait({run}, timeout=STOP_BUDGET_S)
        took = time.monotonic() - stopped
        if not done:
            run.cancel()
    assert done, f"the run had not ended {STOP_BUDGET_S} s after the stop"
    assert took < STOP_BUDGET_S
    assert gateway.core.counters.adverts_seen > 0
