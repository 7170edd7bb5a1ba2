"""The player process headless (SDL's dummy driver) inside a running gateway: impressions from
presented frames go through the outbox, frames are written on request, and a killed player is
restarted while capture goes on."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sqlite3
import time
from pathlib import Path
from typing import Any

import pygame
import pytest

from edge import app
from edge.beacons.replay import ItemsSource
from edge.config import SignageConfig
from edge.events import OFFER_IMPRESSION, Event
from edge.outbox import OUTBOX_FILE
from edge.signage.decide import Play
from edge.sim.store import SimulatedStore

os.environ["PYGAME_HIDE_SUPPORT_PROMPT"] = "1"

SMALL = {"backend": "headless", "width": 480, "height": 270, "play_s": 4.0, "min_display_s": 2.0, "crossfade_s": 0.2}


async def wait_for(check: Any, within_s: float, what: str) -> None:
    deadline = time.monotonic() + within_s
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {within_s} s waiting for {what}")
        await asyncio.sleep(0.05)


def impressions_in_outbox(state: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(state / OUTBOX_FILE) as db:
        rows = db.execute("SELECT body FROM outbox WHERE type = ?", (OFFER_IMPRESSION,)).fetchall()
    return [json.loads(body)["data"] for (body,) in rows]


async def test_impressions_from_presented_frames_reach_the_outbox(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    store = SimulatedStore(seed=7)
    source = ItemsSource(store.items(), start=store.start, speed=10.0)
    events: list[Event] = []
    started: list[tuple[Play, float]] = []
    config = SignageConfig(screen="screen-3", **SMALL)  # type: ignore[arg-type]
    stop = asyncio.Event()
    gateway = app.Gateway(store.config, source, sinks=[events.append], state_dir=tmp_path, signage=config)
    async with gateway:
        signage = gateway.signage
        assert signage is not None
        signage.on_started.append(lambda play, mono: started.append((play, mono)))
        runner = asyncio.create_task(gateway.run(stop=stop))
        await signage.player.wait_ready()
        await wait_for(lambda: any(p.kind == "offer" for p, _ in started), 30, "a personalised offer on screen")
        shot = tmp_path / "shot.png"
        await signage.player.snapshot(str(shot))
        stop.set()
        await runner
        assert signage.decisions["personal"] >= 1  # the metrics endpoint's edge_decisions_total
        assert set(signage.decisions) <= {"personal", "holdout", "generic"}
    found = [e for e in events if e.type == OFFER_IMPRESSION]
    stored = impressions_in_outbox(tmp_path)
    assert found
    assert len(stored) == len(found), "every impression is in the outbox"
    personal = [d for d in stored if d["kind"] == "offer"]
    assert personal
    for data in stored:
        assert data["screen"] == "screen-3"
        assert data["duration_s"] >= 0
        assert data["end"] >= data["start"]
        assert data["reason"]
        assert isinstance(data["holdout"], bool)
        if data["kind"] == "offer":
            assert data["token"] is not None
        elif not data["holdout"]:
            assert data["token"] is None
    image = pygame.image.load(str(shot))
    assert image.get_size() == (480, 270)
    assert max(pygame.transform.average_color(image)[:3]) > 20
    tokens = {s.token for s in store.shoppers}
    for record in caplog.records:
        if record.levelno > logging.DEBUG:
            assert not any(t in record.getMessage() for t in tokens), "a token logged above debug"


async def test_a_killed_player_restarts_and_capture_never_stops(tmp_path: Path) -> None:
    store = SimulatedStore(seed=7)
    source = ItemsSource(store.items(), start=store.start, speed=4.0)
    events: list[Event] = []
    started: list[Play] = []
    config = SignageConfig(screen="screen-3", **SMALL)  # type: ignore[arg-type]
    stop = asyncio.Event()
    gateway = app.Gateway(store.config, source, sinks=[events.append], state_dir=tmp_path, signage=config)
    async with gateway:
        signage = gateway.signage
        assert signage is not None
        signage.on_started.append(lambda play, mono: started.append(play))
        runner = asyncio.create_task(gateway.run(stop=stop))
        await signage.player.wait_ready()
        await wait_for(lambda: bool(started), 15, "the first play on screen")
        first_pid = signage.player.pid
        assert first_pid is not None
        seen = gateway.core.counters.adverts_seen
        before = len(started)

        def impressions() -> int:
            return sum(e.type == OFFER_IMPRESSION for e in events)

        reported = impressions()
        os.kill(first_pid, signal.SIGKILL)
        await wait_for(lambda: signage.player.restarts == 1, 10, "the supervisor to notice the crash")
        await wait_for(lambda: impressions() > reported, 10, "the interrupted play's impression")
        await wait_for(lambda: gateway.core.counters.adverts_seen > seen + 20, 10, "capture to go on")
        await wait_for(lambda: signage.player.pid not in (None, first_pid), 20, "a new player process")
        await wait_for(lambda: len(started) > before, 20, "the restarted player to present again")
        assert not runner.done(), "the gateway kept running"
        stop.set()
        await runner
    assert gateway.core.counters.adverts_seen > seen + 20
