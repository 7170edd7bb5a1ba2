"""The screen on gateway B personalises for a shopper gateway A owns who stands in B's screen zone
(issue 18): signage reads the occupants of its own engine, which A's summaries feed; ownership only
decides who sends presence up. Two gateways on a real mosquitto, B's screen headless (SDL dummy).

An owner whose own engine places the shopper in B's zone hands the shopper to B (the summary's
``hands``), so here only B's engine does: B's zones have a 2 dB hand-off margin, A's the default 4 dB,
and the shopper stands 3 dB louder at B's scanner than at A's."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from edge.app import Gateway
from edge.beacons.advert import APPLE_COMPANY_ID, Advertisement
from edge.beacons.build import ibeacon_payload
from edge.beacons.replay import ItemsSource
from edge.config import SignageConfig, from_mapping
from edge.events import Event
from edge.inputs import Downlink, Item
from edge.signage.decide import Play
from edge.sim import catalogue
from edge.sim.multi import LOYALTY_UUID, POWER_1M_DBM, MultiStore
from edge.timefmt import format_time
from tests.mosquitto import Mosquitto

os.environ["PYGAME_HIDE_SUPPORT_PROMPT"] = "1"

SCREEN = {"backend": "headless", "width": 320, "height": 180, "play_s": 2.0, "min_display_s": 1.0, "crossfade_s": 0.2}
SECONDS = 22.0
BETWEEN_AT_S = 8.0
"""From here the shopper stands at the edge of z2: B's scanner hears it 3 dB louder than A's, under
the arbitration's 4 dB margin (A keeps it), over B's 2 dB zone hand-off margin (B's engine says z2)
and under A's 4 dB (A's engine keeps z1: A does not hand the shopper on)."""


def heard(scanner: str, start: float, levels: list[tuple[float, float, int]]) -> Iterator[Advertisement]:
    payload = ibeacon_payload(LOYALTY_UUID, 1, 1, POWER_1M_DBM)
    for begin, end, rssi in levels:
        t = start + begin
        while t < start + end:
            yield Advertisement(
                at=t,
                scanner=scanner,
                address="02:00:00:00:00:01",
                rssi=rssi,
                manufacturer_data={APPLE_COMPANY_ID: payload},
            )
            t += 0.25


def rules(start: float) -> bytes:
    return msgspec.json.encode({"version": 1, "issued_at": format_time(start), "holdout": {"share": 0.0}})


@pytest.mark.slow
@pytest.mark.timeout(60)
async def test_the_screen_on_b_shows_the_offer_for_a_shopper_a_owns(tmp_path: Path) -> None:
    start = time.time() + 0.5
    store = MultiStore(gateways=2, seed=1, start=start, spacing_m=7.0)
    roster = tmp_path / "roster.json"
    roster.write_bytes(store.roster(1))
    token = "shopper-0000"
    offers = catalogue.offers_payload(start, [token])
    a_levels = [(2.0, BETWEEN_AT_S, -62), (BETWEEN_AT_S, SECONDS, -69)]
    b_levels = [(2.0, BETWEEN_AT_S, -80), (BETWEEN_AT_S, SECONDS, -66)]
    items: list[list[Item]] = [
        list(heard("gw-1-s", start, a_levels)),
        [
            Downlink(start, "cdp/v1/store-1/offers", offers),
            Downlink(start, "cdp/v1/store-1/rules", rules(start)),
            *heard("gw-2-s", start, b_levels),
        ],
    ]
    with Mosquitto(tmp_path / "broker") as broker:
        gateways = []
        for g in range(2):
            mapping = store.config(
                g,
                gateway={"roster_file": str(roster), "state_dir": str(tmp_path / f"state-{g}")},
                ble={"backend": "replay", "trace": "unused.jsonl"},
                mqtt={"url": broker.url, "reconnect_initial_s": 0.05, "reconnect_max_s": 0.5},
            )
            for zone in mapping["zones"] if g == 1 else []:
                zone["handoff_margin_db"] = 2.0
            signage = SignageConfig(screen="screen-2", **SCREEN) if g == 1 else None  # type: ignore[arg-type]
            source = ItemsSource(iter(items[g]), start=start, speed=1.0)
            gateways.append(Gateway(from_mapping(mapping), source, signage=signage))
        a, b = gateways
        sent: list[Event] = []
        plays: list[tuple[Play, str | None, str | None]] = []
        async with a, b:
            assert b.signage is not None
            assert a.peers is not None
            assert b.peers is not None
            a.ports.subscribe(sent.append)
            b.ports.subscribe(sent.append)
            peers_a, peers_b = a.peers, b.peers
            shown = asyncio.Event()

            def on_started(play: Play, _mono: float) -> None:
                plays.append((play, peers_a.arbiter.owner(token), peers_b.arbiter.owner(token)))
                if play.token == token and play.at >= start + BETWEEN_AT_S + 4:
                    shown.set()

            b.signage.on_started.append(on_started)
            stop = asyncio.Event()
            runners = [asyncio.create_task(gw.run(stop=stop)) for gw in gateways]
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(shown.wait(), SECONDS)
            stop.set()
            await asyncio.gather(*runners)
            zone_a, zone_b = a.core.zone_of(token), b.core.zone_of(token)
    personal = [(p, owner_a, owner_b) for p, owner_a, owner_b in plays if p.token == token]
    late = [(p, oa, ob) for p, oa, ob in personal if p.at >= start + BETWEEN_AT_S + 4]
    assert late, [(p.kind, p.content, p.token) for p, _, _ in plays]
    play, owner_a, owner_b = late[0]
    assert play.kind == "offer"
    assert play.screen == "screen-2"
    assert (owner_a, owner_b) == ("gw-1", "gw-1"), "A owned the shopper while B's screen showed its offer"
    assert (zone_a, zone_b) == ("z1", "z2")
    presence = [e for e in sent if e.type.startswith("edge.presence.") and e.token == token]
    assert presence
    assert {e.subject for e in presence if e.type == "edge.presence.entered"} == {"z1"}  # A's word
    assert b.core.counters.presence_not_owned > 0  # B's engine had the shopper; A spoke for it
