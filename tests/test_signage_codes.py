"""Redemption codes shown on screen survive a restart of the gateway (a real SQLite file): redeemed
after it by a check-in or a pickup, once; purged with a withdrawal within a second; gone past the
7-day attribution window. Once with the store and the measure, once through a running gateway."""

from __future__ import annotations

import asyncio
import base64
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import msgspec

from edge import app
from edge.beacons.replay import ItemsSource
from edge.clock import ManualClock
from edge.config import Config, SignageConfig
from edge.config_ios import AdvertiseConfig, CheckinConfig
from edge.events import OFFER_IMPRESSION, Event
from edge.inputs import Downlink
from edge.outbox import OUTBOX_FILE
from edge.signage.code_store import EXPIRE_EVERY_S, open_code_store
from edge.signage.impression import ATTRIBUTION_WINDOW_S
from edge.signage.measure import OFFER_REDEEMED, CodeRow, Measure, OnScreen, Place
from edge.signage.state import STATE_FILE, open_signage_state
from edge.sim.store import SimulatedStore
from edge.timefmt import format_time
from tests.helpers import START
from tests.test_checkin_proof import MAJOR, STORE_UUID, public_key, sign
from tests.test_signage_wiring import outbox, screen, wait_for

OAT = "a" * 16
NOBODY = "b" * 16


def measure(at: float = START) -> Measure:
    return Measure(Place("store-1", "screen-3", "dairy", "in-aisle"), ManualClock(at), lambda: 1.0)


def show(m: Measure, number: int, entry: OnScreen) -> None:
    m.sent(number, entry)
    m.started(number, time.monotonic())


def oat(token: str | None = "s-1", code: str = "OAT25-7KQ2XM", pid: str = OAT) -> OnScreen:
    return OnScreen("offer", "oat-25", pid, "v", 4.0, 1, token=token, code=code, skus=frozenset({"42"}))


def rows(db: Path, where: str = "1", *args: object) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(f"SELECT code, token, redeemed FROM signage_codes WHERE {where}", args).fetchall()


async def test_a_code_shown_before_a_restart_is_redeemed_after_it_once(tmp_path: Path) -> None:
    db = tmp_path / STATE_FILE
    before = measure()
    show(before, 1, oat())
    show(before, 2, oat(None, "OAT25-NOBODY", NOBODY))  # a play without a viewer
    show(before, 3, oat("s-1", "OAT25-PICKUP", "c" * 16))
    async with open_code_store(db) as store:
        shown, redeemed = before.take_codes()
        assert [r.code for r in shown] == ["OAT25-7KQ2XM", "OAT25-NOBODY", "OAT25-PICKUP"]
        assert redeemed == []
        await store.save(shown, redeemed, START)
    assert before.take_codes() == ([], []), "handed over once"

    # the gateway restarts: a new measure, the codes from the file
    after = measure(START + 600)
    async with open_code_store(db) as store:
        kept = await store.load(START + 600)
        # Shown within microseconds of each other on a manual clock: their order is the monotonic reads' jitter,
        # so the row is found by its code (it failed once in CI when the second play's time came out first).
        (oat_row,) = (row for row in kept if row.code == "OAT25-7KQ2XM")
        assert oat_row == CodeRow("OAT25-7KQ2XM", "oat-25", "s-1", OAT, frozenset({"42"}), oat_row.shown_at)
        after.restore(kept)
        assert after.checkin_code("s-2", "OAT25-7KQ2XM", START + 601) is None, "still only its owner's"
        assert after.checkin_code("s-1", "oat25-7kq2xm", START + 602) == {
            "code": "OAT25-7KQ2XM",
            "offer": "oat-25",
            "token": "s-1",
            "impression": OAT,
        }
        nobody = after.checkin_code("s-9", "OAT25-NOBODY", START + 603)
        assert nobody is not None
        assert nobody["token"] == "s-9"
        pickup = after.pickup("s-1", "42", START + 604)  # the shelf reads no code: the restored one
        assert pickup is not None
        assert pickup["code"] == "OAT25-PICKUP"
        await store.save(*after.take_codes(), START + 604)
    assert sorted(rows(db)) == [("OAT25-7KQ2XM", "s-1", 1), ("OAT25-NOBODY", None, 1), ("OAT25-PICKUP", "s-1", 1)]

    # and again: each code was redeemed once, across the restart too
    again = measure(START + 1200)
    async with open_code_store(db) as store:
        again.restore(await store.load(START + 1200))
    assert again.checkin_code("s-1", "OAT25-7KQ2XM", START + 1201) is None
    assert again.pickup("s-1", "42", START + 1202) is None
    assert again.codes_unknown == 1
    assert again.redeemed == 0


async def test_a_withdrawal_purges_the_tokens_codes_within_a_second(tmp_path: Path) -> None:
    m = measure()
    show(m, 1, oat("s-1", "OAT25-AAAAAA", "1" * 16))
    show(m, 2, oat("s-2", "OAT25-BBBBBB", "2" * 16))
    async with open_signage_state(tmp_path) as state:
        assert await state.save_codes(m.take_codes, START) == 2
        show(m, 3, oat("s-1", "OAT25-CCCCCC", "3" * 16))  # shown, not yet written
        m.forget("s-1")  # the service's order: the measure forgets first, then the state purges
        began = time.monotonic()
        await state.forget("s-1")
        assert time.monotonic() - began < 1.0
        assert await state.save_codes(m.take_codes, START + 1) == 0, "nothing of s-1 is written after"
    assert rows(tmp_path / STATE_FILE) == [("OAT25-BBBBBB", "s-2", 0)]
    after = measure(START + 60)
    async with open_signage_state(tmp_path) as state:
        after.restore(await state.shown_codes(START + 60))
    assert after.checkin_code("s-1", "OAT25-AAAAAA", START + 61) is None, "unknown after the restart"
    assert after.checkin_code("s-2", "OAT25-BBBBBB", START + 62) is not None


async def test_codes_past_the_attribution_window_are_deleted(tmp_path: Path) -> None:
    db = tmp_path / STATE_FILE
    old = CodeRow("OAT25-OLDOLD", "oat-25", "s-1", "1" * 16, frozenset({"42"}), START)
    new = CodeRow("OAT25-NEWNEW", "oat-25", "s-1", "2" * 16, frozenset({"42"}), START + 3600)
    async with open_code_store(db) as store:
        await store.save([old, new], [], START + 3600)
        assert [r.code for r in await store.load(START + ATTRIBUTION_WINDOW_S)] == ["OAT25-OLDOLD", "OAT25-NEWNEW"]
        assert [r.code for r in await store.load(START + ATTRIBUTION_WINDOW_S + 1)] == ["OAT25-NEWNEW"]
    assert rows(db) == [("OAT25-NEWNEW", "s-1", 0)], "the expired row is deleted, not only skipped"
    # an idle screen (nothing new to write) still deletes them, at most once an hour
    async with open_signage_state(tmp_path) as state:
        nothing = measure().take_codes
        late = START + 3600 + ATTRIBUTION_WINDOW_S + 1
        assert await state.shown_codes(late - EXPIRE_EVERY_S / 2) == [new]
        await state.save_codes(nothing, late)
        assert rows(db) == [("OAT25-NEWNEW", "s-1", 0)], "expired within the hour: not yet"
        await state.save_codes(nothing, late + EXPIRE_EVERY_S)
    assert rows(db) == []


# --- through a running gateway -------------------------------------------------------------------


def with_checkin(config: Config) -> Config:
    return msgspec.structs.replace(
        config,
        advertise=AdvertiseConfig(uuid=str(STORE_UUID), major=MAJOR, minor=1, zone="entrance"),
        checkin=CheckinConfig(cdp_public_key=base64.b64encode(public_key()).decode()),
    )


def checkin(token: str, code: str, now: float, nonce: str) -> bytes:
    body = {
        "token": token,
        "event": "refresh",
        "region": {"uuid": str(STORE_UUID), "major": MAJOR, "minor": 1},
        "issued_at": format_time(now - 1),
        "expires_at": format_time(now + 299),
        "nonce": nonce,
        "code": code,
    }
    return json.dumps(sign(body)).encode()


async def until_a_code(
    store: SimulatedStore, config: Config, signage_config: SignageConfig, state_dir: Path
) -> tuple[dict[str, str], list[Event]]:
    """The simulated store through a gateway with a screen until a personalised offer with a code is on
    screen, then a clean stop: (token → the code its offer card showed, the events)."""
    codes: dict[str, str] = {}
    events: list[Event] = []
    source = ItemsSource(store.items(), start=store.start, speed=10.0)
    gateway = app.Gateway(config, source, sinks=[events.append], state_dir=state_dir, signage=signage_config)
    async with gateway:
        signage = gateway.signage
        assert signage is not None

        def on_presented(entry: OnScreen, _mono: float) -> None:
            if entry.token is not None and entry.code is not None:
                codes.setdefault(entry.token, entry.code)

        signage.on_presented.append(on_presented)
        stop = asyncio.Event()
        runner = asyncio.create_task(gateway.run(stop=stop))
        await wait_for(lambda: bool(codes), 40, "a personalised offer with a code on screen")
        stop.set()
        await runner
    return codes, events


async def test_a_gateway_restart_between_the_impression_and_the_check_in(tmp_path: Path) -> None:
    store = SimulatedStore(seed=7)
    config, signage_config = with_checkin(store.config), screen()
    codes, events = await until_a_code(store, config, signage_config, tmp_path)
    assert not [e for e in events if e.type == OFFER_REDEEMED]
    token, code = next(iter(codes.items()))
    (impression,) = [d for d in outbox(tmp_path, OFFER_IMPRESSION) if d["code"] == code]  # ended or cut by the stop
    assert rows(tmp_path / STATE_FILE, "code = ?", code) == [(code, token, 0)]

    # the box restarts; the shopper checks in with the code they scanned before
    source = ItemsSource(iter(()), start=store.start + 120, speed=1.0)
    gateway = app.Gateway(config, source, state_dir=tmp_path, signage=signage_config)
    async with gateway:
        signage = gateway.signage
        assert signage is not None
        assert gateway.core.roster is not None
        topic = gateway.core.topics.checkin
        now = source.clock.now()
        await gateway.ports.deliver(Downlink(now, topic, checkin(token, code.lower(), now, "n-after-0001")), None)
        await wait_for(lambda: bool(outbox(tmp_path, OFFER_REDEEMED)), 5, "the redemption in the outbox")
        (redeemed,) = outbox(tmp_path, OFFER_REDEEMED)
        assert redeemed["code"] == code
        assert redeemed["token"] == token
        assert redeemed["impression"] == impression["play_id"]
        await wait_for(lambda: rows(tmp_path / STATE_FILE, "code = ?", code) == [(code, token, 1)], 5, "redeemed=1")
        await gateway.ports.deliver(Downlink(now + 1, topic, checkin(token, code, now + 1, "n-after-0002")), None)
        await wait_for(lambda: signage.health()["redeem_codes_unknown"] == 1, 5, "the second check-in refused")
        assert len(outbox(tmp_path, OFFER_REDEEMED)) == 1
        # a withdrawal deletes the shopper's codes within a second
        began = time.monotonic()
        payload = json.dumps({"token": token}).encode()
        await gateway.ports.deliver(Downlink(now + 2, gateway.core.topics.withdraw, payload), None)
        await wait_for(lambda: not rows(tmp_path / STATE_FILE, "token = ?", token), 1.0, "the token's codes purged")
        assert time.monotonic() - began < 1.0


async def test_a_shopper_the_roster_dropped_while_the_box_was_down_leaves_no_rows(tmp_path: Path) -> None:
    """A withdrawal that reached the CDP while the gateway was off: the roster the gateway starts with no
    longer lists the shopper, so the screen's caps, holdout and code rows of that token go at start."""
    store = SimulatedStore(seed=7)
    config, signage_config = store.config, screen()
    codes, _ = await until_a_code(store, config, signage_config, tmp_path)
    token = next(iter(codes))
    db = tmp_path / STATE_FILE
    assert rows(db, "token = ?", token), "the code is kept across a restart"
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM signage_plays WHERE token = ?", (token,)).fetchone()[0] > 0
    others = {r[1] for r in rows(db, "token IS NOT NULL AND token != ?", token)}
    queued = tmp_path / OUTBOX_FILE  # no broker: every event is still in the outbox
    with sqlite3.connect(queued) as conn:
        assert conn.execute("SELECT count(*) FROM outbox WHERE token = ?", (token,)).fetchone()[0] > 0

    # meanwhile the CDP issued a roster without the shopper; the box starts with it
    roster = json.loads(store.roster_payload(store.start + 100, version=1_000))
    roster["shoppers"] = [s for s in roster["shoppers"] if s["token"] != token]
    roster_file = tmp_path / "roster.json"
    roster_file.write_text(json.dumps(roster))
    restarted = msgspec.structs.replace(
        config, gateway=msgspec.structs.replace(config.gateway, roster_file=str(roster_file))
    )
    gateway = app.Gateway(
        restarted, ItemsSource(iter(()), start=store.start + 120, speed=1.0), state_dir=tmp_path, signage=signage_config
    )
    async with gateway:
        assert gateway.core.roster is not None
        assert gateway.core.roster.version == 1_000
        await wait_for(lambda: not rows(db, "token = ?", token), 5, "the dropped shopper's codes purged at start")
    with sqlite3.connect(db) as conn:
        for table in ("signage_plays", "signage_holdout"):
            assert conn.execute(f"SELECT count(*) FROM {table} WHERE token = ?", (token,)).fetchone()[0] == 0, table
    assert {r[1] for r in rows(db, "token IS NOT NULL")} == others, "everyone else's codes stay"
    with sqlite3.connect(queued) as conn:
        assert conn.execute("SELECT count(*) FROM outbox WHERE token = ?", (token,)).fetchone()[0] == 0, "outbox"
        left = {r[0] for r in conn.execute("SELECT DISTINCT token FROM outbox WHERE token IS NOT NULL")}
    assert others <= left, "everyone else's queued events stay"
    (ack,) = [d for d in outbox(tmp_path, "edge.consent.withdrawn") if d["token"] == token]
    assert ack["purged_rows"] > 0


def test_the_player_s_monotonic_stamps_map_to_the_clock_through_injected_clocks() -> None:
    """A report stamped ``mono`` seconds on the player's monotonic clock happened (now_mono - mono) x speed
    before the gateway clock's now: both clocks injected, no wall or monotonic time read."""
    fake_mono = [1000.0]
    m = Measure(
        Place("store-1", "screen-3", "dairy", "in-aisle"),
        ManualClock(START),
        lambda: 2.0,
        monotonic=lambda: fake_mono[0],
    )
    assert m.to_clock(997.0) == START - 6.0
    fake_mono[0] = 1001.0
    assert m.to_clock(1001.0) == START
