"""Signage operations wired into a running gateway (headless player on SDL's dummy driver, real
SQLite files, a real mosquitto): impressions to the measurement standard at --speed 4, caps and
holdout groups across a restart, the override across a restart and to its TTL, a screenshot over
the broker, and the frozen-screen watchdog restarting a stopped player."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import math
import os
import signal
import sqlite3
import time
from pathlib import Path
from typing import Any

import msgspec
import pygame
import pytest

from edge import app
from edge.beacons.replay import ItemsSource
from edge.config import SignageConfig
from edge.events import CONSENT_WITHDRAWN, OFFER_IMPRESSION, Event
from edge.inputs import Downlink
from edge.outbox import OUTBOX_FILE
from edge.signage.decide import Play
from edge.signage.measure import MAX_SHIFT_REAL_S, OnScreen
from edge.signage.state import STATE_FILE
from edge.sim.store import SimulatedStore
from edge.timefmt import parse_start
from tests.mosquitto import Collector, Mosquitto

os.environ["PYGAME_HIDE_SUPPORT_PROMPT"] = "1"

SMALL = {"backend": "headless", "width": 480, "height": 270, "play_s": 4.0, "min_display_s": 2.0, "crossfade_s": 0.2}


async def wait_for(check: Any, within_s: float, what: str) -> None:
    deadline = time.monotonic() + within_s
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {within_s} s waiting for {what}")
        await asyncio.sleep(0.02)


def outbox(state: Path, type_: str) -> list[dict[str, Any]]:
    with sqlite3.connect(state / OUTBOX_FILE) as db:
        rows = db.execute("SELECT body FROM outbox WHERE type = ?", (type_,)).fetchall()
    return [json.loads(body)["data"] for (body,) in rows]


def screen() -> SignageConfig:
    return SignageConfig(screen="screen-3", **SMALL)  # type: ignore[arg-type]


async def test_impressions_meet_the_standard_and_agree_at_speed_4(tmp_path: Path) -> None:
    store = SimulatedStore(seed=7)
    source = ItemsSource(store.items(), start=store.start, speed=4.0)
    events: list[Event] = []
    presented: list[tuple[Play, float, float]] = []
    gateway = app.Gateway(store.config, source, sinks=[events.append], state_dir=tmp_path, signage=screen())
    stop = asyncio.Event()
    async with gateway:
        signage = gateway.signage
        assert signage is not None

        def on_started(play: Play, mono: float) -> None:  # the clock's time of the first frame, now
            presented.append((play, mono, source.clock.now() - (time.monotonic() - mono) * 4.0))

        signage.on_started.append(on_started)
        runner = asyncio.create_task(gateway.run(stop=stop))
        await wait_for(
            lambda: any(e.type == OFFER_IMPRESSION and e.data["kind"] == "offer" for e in events), 40, "an offer ended"
        )
        stop.set()
        await runner
    stored = outbox(tmp_path, OFFER_IMPRESSION)
    assert stored
    zone_type = next(z.type for z in store.config.zones if z.id == signage.place.zone)
    for data in stored:
        start, end = parse_start(str(data["start"])), parse_start(str(data["end"]))
        assert abs((end - start) - data["duration_s"]) <= 0.002, "start, end and duration_s agree"
        assert data["actual_s"] == data["duration_s"]
        assert len(data["play_id"]) == 16
        assert data["store"] == store.config.gateway.store
        assert data["zone"] == signage.place.zone
        assert data["zone_type"] == zone_type
        assert data["creative"]["id"] == data["offer"]
        assert len(data["creative"]["version"]) == 8
        assert data["display"]["frames"] > 0
        assert data["audience"]["method"] == "opted_in_present"
        assert data["attribution_window_s"] == 604800
    offers = [d for d in stored if d["kind"] == "offer"]
    assert offers
    for data in offers:
        assert data["audience"]["count"] >= 1, "the shopper it was shown for was present"
        assert data["code"] is not None
        assert len(data["code"].rsplit("-", 1)[1]) == 6
    assert len({d["play_id"] for d in stored}) == len(stored)
    # the start is the first presented frame on the trace clock: not late by (speed - 1) x the play; it may be moved
    # up to its decision's time, by at most MAX_SHIFT_REAL_S x speed (a replay hands the core its items early)
    for data in offers:
        first = [at for play, _, at in presented if play.content == data["offer"]]
        assert min(abs(parse_start(str(data["start"])) - at) for at in first) < (0.2 + MAX_SHIFT_REAL_S) * 4
    completed = [d for d in offers if d["completed"]]
    for data in completed:
        assert data["actual_s"] >= data["planned_s"] - 0.5


async def test_caps_survive_a_restart_and_a_withdrawal_purges_them(tmp_path: Path) -> None:
    store = SimulatedStore(seed=7)
    config = screen()
    counted: dict[tuple[str, str], int] = {}
    played: list[Play] = []
    for attempt in range(2):
        source = ItemsSource(store.items(), start=store.start + attempt * 60, speed=10.0)
        gateway = app.Gateway(store.config, source, state_dir=tmp_path, signage=config)
        stop = asyncio.Event()
        async with gateway:
            signage = gateway.signage
            assert signage is not None
            ledger, now = signage.decider.ledger, source.clock.now()
            if attempt == 1:  # the plays of the first run are counted at once
                for (token, offer), plays in counted.items():
                    assert ledger.shopper_plays(token, offer, now) >= plays
                break
            signage.on_started.append(lambda play, _mono: played.append(play))
            runner = asyncio.create_task(gateway.run(stop=stop))
            await wait_for(lambda: any(p.kind == "offer" for p in played), 40, "a personalised offer")
            stop.set()
            await runner
            for play in played:
                if play.kind == "offer" and play.token is not None:
                    counted[(play.token, play.content)] = ledger.shopper_plays(play.token, play.content, now + 1)
    assert counted
    token = next(iter(counted))[0]
    with sqlite3.connect(tmp_path / STATE_FILE) as db:
        assert db.execute("SELECT COUNT(*) FROM signage_plays WHERE token = ?", (token,)).fetchone()[0] >= 1
    # a withdrawal purges the token's cap and holdout rows within a second
    source = ItemsSource(iter(()), start=store.start + 120, speed=1.0)
    gateway = app.Gateway(store.config, source, state_dir=tmp_path, signage=config)
    withdrawn: list[Event] = []
    async with gateway:
        gateway.pipeline.subscribe(lambda e: withdrawn.append(e) if e.type == CONSENT_WITHDRAWN else None)
        payload = json.dumps({"token": token}).encode()
        began = time.monotonic()
        await gateway.ports.deliver(Downlink(source.clock.now(), gateway.core.topics.withdraw, payload), None)

        def purged() -> bool:
            with sqlite3.connect(tmp_path / STATE_FILE) as db:
                plays = db.execute("SELECT COUNT(*) FROM signage_plays WHERE token = ?", (token,)).fetchone()[0]
                groups = db.execute("SELECT COUNT(*) FROM signage_holdout WHERE token = ?", (token,)).fetchone()[0]
            return plays == 0 and groups == 0

        await wait_for(purged, 1.0, "the token's cap rows to be purged")
        assert time.monotonic() - began < 1.0
        assert withdrawn


def override(ttl_s: float, **more: Any) -> bytes:
    return json.dumps(
        {"id": "evac-1", "priority": 90, "title": "Bitte verlassen Sie den Markt", "ttl_s": ttl_s, **more}
    ).encode()


async def test_override_on_screen_across_a_restart_until_its_ttl(tmp_path: Path) -> None:
    store = SimulatedStore(seed=7)
    config = screen()
    ttl_s = 6.0
    received = math.nan
    shown: list[tuple[OnScreen, float]] = []
    for attempt in range(2):
        source = ItemsSource(iter(()), start=time.time(), speed=1.0)
        gateway = app.Gateway(store.config, source, state_dir=tmp_path, signage=config)
        shown.clear()
        async with gateway:
            signage = gateway.signage
            assert signage is not None
            signage.on_presented.append(lambda entry, mono: shown.append((entry, mono)))
            if attempt == 0:
                await signage.player.wait_ready()
                arrived = time.monotonic()
                topic = gateway.core.topics.override
                received = time.time()  # the TTL counts from here, not from before the gateway started
                await gateway.ports.deliver(Downlink(source.clock.now(), topic, override(ttl_s)), None)
            else:
                arrived = time.monotonic()  # restored from the last good store before the first message
            await wait_for(lambda: any(e.kind == "override" for e, _ in shown), 10, "the override on screen")
            on_screen = next(m for e, m in shown if e.kind == "override")
            if attempt == 0:
                assert on_screen - arrived < 1.0
                await asyncio.sleep(1.0)
                continue
            # the TTL counts from the first receipt: it ends at received + ttl, not restart + ttl
            await wait_for(lambda: shown[-1][0].kind != "override", ttl_s + 5, "the screen back to its plays")
            ended = time.time()
            assert received + ttl_s - 0.5 <= ended <= received + ttl_s + 2.0
    overrides = [d for d in outbox(tmp_path, OFFER_IMPRESSION) if d["kind"] == "override"]
    assert len(overrides) == 2, "one impression of kind override per start"
    assert all(d["offer"] == "evac-1" and d["token"] is None for d in overrides)


async def test_an_empty_retained_message_clears_the_override(tmp_path: Path) -> None:
    store = SimulatedStore(seed=7)
    source = ItemsSource(iter(()), start=time.time(), speed=1.0)
    gateway = app.Gateway(store.config, source, state_dir=tmp_path, signage=screen())
    shown: list[OnScreen] = []
    async with gateway:
        signage = gateway.signage
        assert signage is not None
        signage.on_presented.append(lambda entry, _mono: shown.append(entry))
        await signage.player.wait_ready()
        topic = gateway.core.topics.override
        await gateway.ports.deliver(Downlink(source.clock.now(), topic, override(600)), None)
        await wait_for(lambda: bool(shown) and shown[-1].kind == "override", 5, "the override")
        await gateway.ports.deliver(Downlink(source.clock.now(), topic, b""), None)
        await wait_for(lambda: shown[-1].kind != "override", 5, "the screen back")
        await gateway.ports.deliver(Downlink(source.clock.now(), topic, override(600, id="note-2", clear=True)), None)
        await asyncio.sleep(0.5)
        assert shown[-1].kind != "override"


async def subscribed(collector: Collector, gateway: app.Gateway, within_s: float = 20.0) -> None:
    """Until the gateway's subscriptions are in place (one SUBSCRIBE carries them all): a reading of an
    unknown shelf, sent again every 0.25 s, reaches it (rejected, no event). A fixed 0.3 s sleep after
    the CONNACK raced the SUBSCRIBE on a loaded machine, and a request sent before it goes to nobody."""
    topic = gateway.core.topics.shelf("probe-unknown")
    before = gateway.core.counters.downlinks
    deadline = time.monotonic() + within_s
    while gateway.core.counters.downlinks == before:
        if time.monotonic() > deadline:
            pytest.fail(f"the gateway's subscriptions were not in place after {within_s} s")
        await asyncio.to_thread(collector.publish, topic, b"{}")
        await asyncio.sleep(0.25)


async def test_a_screenshot_over_the_broker_and_one_request_in_flight(tmp_path: Path) -> None:
    store = SimulatedStore(seed=7)
    with Mosquitto(tmp_path / "broker") as broker:
        config = msgspec.structs.replace(store.config, mqtt=msgspec.structs.replace(store.config.mqtt, url=broker.url))
        source = ItemsSource(iter(()), start=time.time(), speed=1.0)
        gateway = app.Gateway(config, source, state_dir=tmp_path / "state", signage=screen())
        async with gateway:
            signage, sync = gateway.signage, gateway.sync
            assert signage is not None
            assert sync is not None
            topics = gateway.core.topics
            collector = Collector(broker, (f"{topics.up}/screenshot/+",))
            try:
                await signage.player.wait_ready()
                async with asyncio.timeout(10):
                    await sync.connected.wait()
                await subscribed(collector, gateway)
                asked = time.monotonic()
                collector.publish(topics.screenshot, b'{"request_id": "r-1"}')
                await collector.until(lambda ms: bool(ms), 5)
                took = collector.arrived[0] - asked
                message = collector.messages[0]
                assert message.topic == topics.screenshot_reply("r-1")
                assert message.properties is not None
                assert message.properties.ContentType == "image/jpeg"
                assert message.payload[:2] == b"\xff\xd8"
                image = pygame.image.load(io.BytesIO(message.payload), "shot.jpg")
                assert image.get_size() == (480, 270)
                assert took < 2.0
                for n in range(5):  # a burst: one in flight, the rest refused and counted
                    collector.publish(topics.screenshot, json.dumps({"request_id": f"b-{n}"}).encode())
                await collector.until(lambda ms: len(ms) >= 2, 5)
                # every request counted and every reply sent arrived (a fixed 0.5 s sleep raced both)
                await wait_for(lambda: signage.health()["screenshot_requests"] == 6, 10, "all six requests")
                await wait_for(
                    lambda: signage.health()["screenshot_sent"] == len(collector.messages), 10, "the replies sent"
                )
                assert signage.health()["screenshot_rejected"] >= 1
            finally:
                collector.close()


async def test_a_stopped_player_is_restarted_by_the_watchdog(tmp_path: Path) -> None:
    store = SimulatedStore(seed=7)
    source = ItemsSource(iter(()), start=time.time(), speed=1.0)
    gateway = app.Gateway(store.config, source, state_dir=tmp_path, signage=screen())
    async with gateway:
        signage = gateway.signage
        assert signage is not None
        player = signage.player
        player.watchdog.frozen_after_s = 2.0  # 10 s in service; the path is the same
        await player.wait_ready()
        pid = player.pid
        assert pid is not None
        os.kill(pid, signal.SIGSTOP)
        try:
            stopped = time.monotonic()
            await wait_for(lambda: player.frozen_restarts == 1, 10, "the watchdog's verdict")
            await wait_for(lambda: player.pid not in (None, pid), 10, "a new player")
            await player.wait_ready()
            assert time.monotonic() - stopped < 30
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        assert signage.health()["player_frozen_restarts"] == 1


def test_a_pickup_of_the_offers_sku_by_the_same_shopper_redeems_its_code() -> None:
    from edge.clock import ManualClock
    from edge.signage.measure import Measure, Place

    clock = ManualClock(1_000.0)
    measure = Measure(Place("store-1", "screen-3", "dairy", "in-aisle"), clock, lambda: 1.0)
    entry = OnScreen("offer", "oat-25", "a" * 16, "v", 4.0, 1, token="s-1", code="OAT25-7KQ2XM", skus=frozenset({"42"}))
    measure.sent(1, entry)
    measure.started(1, time.monotonic())
    assert measure.pickup("s-2", "42", 1_010.0) is None, "another shopper"
    assert measure.pickup("s-1", "43", 1_010.0) is None, "another article"
    redeemed = measure.pickup("s-1", "42", 1_010.0)
    assert redeemed == {"code": "OAT25-7KQ2XM", "offer": "oat-25", "token": "s-1", "impression": "a" * 16}
    assert measure.pickup("s-1", "42", 1_020.0) is None, "each code once"
    assert measure.redeemed == 1


def test_a_check_in_carrying_a_code_redeems_it_for_the_shopper_it_was_shown_to_once() -> None:
    from edge.clock import ManualClock
    from edge.signage.measure import Measure, Place

    clock = ManualClock(1_000.0)
    measure = Measure(Place("store-1", "screen-3", "dairy", "in-aisle"), clock, lambda: 1.0)
    shown = {
        1: OnScreen("offer", "oat-25", "a" * 16, "v", 4.0, 1, token="s-1", code="OAT25-7KQ2XM", skus=frozenset({"42"})),
        2: OnScreen("offer", "oat-25", "b" * 16, "v", 4.0, 0, code="OAT25-NOBODY"),  # a play without a viewer
        3: OnScreen("offer", "oat-25", "c" * 16, "v", 4.0, 1, token="s-3", code="OAT25-WDRAWN"),
    }
    for number, entry in shown.items():
        measure.sent(number, entry)
        measure.started(number, time.monotonic())
    assert measure.checkin_code("s-2", "OAT25-7KQ2XM", 1_010.0) is None, "shown to another shopper"
    assert measure.codes_not_theirs == 1
    redeemed = measure.checkin_code("s-1", "OAT25-7KQ2XM", 1_011.0)
    assert redeemed == {"code": "OAT25-7KQ2XM", "offer": "oat-25", "token": "s-1", "impression": "a" * 16}
    assert measure.checkin_code("s-1", "OAT25-7KQ2XM", 1_012.0) is None, "a replayed code: nothing more"
    assert measure.pickup("s-1", "42", 1_013.0) is None, "nor by a pickup afterwards"
    assert measure.checkin_code("s-1", "OAT25-UNSEEN", 1_013.0) is None, "not shown here"
    assert measure.codes_unknown == 2
    nobody = measure.checkin_code("s-2", "OAT25-NOBODY", 1_014.0)
    assert nobody is not None, "shown to nobody in particular: whoever brings it"
    assert nobody["token"] == "s-2"
    measure.forget("s-3")
    assert measure.checkin_code("s-2", "OAT25-WDRAWN", 1_015.0) is None, "a withdrawn shopper's code stays theirs"
    assert measure.redeemed == 2


def test_a_code_is_set_without_the_fonts_positive_kerning_pairs() -> None:
    from edge.signage.render import render_unkerned

    pygame.font.init()
    font = pygame.font.Font(None, 64)
    advances = [m[4] for m in font.metrics("Q2") if m is not None]
    assert font.size("Q2")[0] > sum(advances), "FreeSans Bold kerns Q-2 apart: the gap on the old picture"
    code = "OAT25-7KQ2XM"
    glyphs = [font.render(ch, True, (0, 0, 0)) for ch in code]
    drawn = render_unkerned(font, code, (0, 0, 0))
    pen = sum(m[4] for m in font.metrics(code[:-1]) if m is not None)  # where the last glyph starts
    assert drawn.get_width() == pen + glyphs[-1].get_width()
    assert drawn.get_width() < font.size(code)[0]
