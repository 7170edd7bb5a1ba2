"""Three gateways of one simulated store on a real mosquitto (edge.peers, issue 18).

Each gateway replays what its own scanner heard (edge/sim/multi.py: a row of three zones with
overlapping coverage) in real time; the test reads what reaches the broker: the events each
gateway sends up, the store-local summaries and the retained claims.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from edge.app import Gateway
from edge.beacons.replay import ItemsSource
from edge.config import from_mapping
from edge.sim.multi import MultiStore
from tests.mosquitto import Collector, Mosquitto

SECONDS = 24.0
DRAIN_WITHIN_S = 30.0
"""Bound on the outboxes' drain after the replay ends (a second or two when idle)."""


def sent_up(sub: Collector) -> list[tuple[str, dict[str, Any]]]:
    """(gateway, event) of every event the collector received, in arrival order."""
    with sub._cond:
        return [(m.topic.split("/")[3], json.loads(m.payload)) for m in sub.messages if "/events/" in m.topic]


async def committed_ids(gateway: Gateway) -> set[str]:
    async with gateway.outbox.lock, gateway.outbox.db.execute("SELECT id FROM outbox") as cursor:
        return {str(row[0]) for row in await cursor.fetchall()}


async def drained(sub: Collector, gateways: list[Gateway], within_s: float) -> None:
    """Wait until every event the gateways committed has reached the collector (a PUBACK says the
    broker has a message, not that a subscriber got it)."""
    deadline = time.monotonic() + within_s
    while True:
        committed = set().union(*[await committed_ids(gw) for gw in gateways])
        missing = committed - {e["id"] for _, e in sent_up(sub)}
        if not missing:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(missing)} of {len(committed)} committed events not received within {within_s} s")
        await asyncio.sleep(0.1)


def presence_stream(
    events: list[tuple[str, dict[str, Any]]], *, by_arrival: bool = False
) -> dict[str, list[tuple[str, str, str, str | None]]]:
    """Per token, in time order: (gateway, type, zone, from_gateway) of every presence event sent up.

    ``events`` come in arrival order, so each gateway's own are in its commit order; that order is kept
    (an engine may stamp an ``entered`` a little before the ``exited`` it committed first: a peer's
    sighting is stamped when the peer heard it, a second or so before it arrived) and the gateways'
    streams are merged by time. One more order is known: a hand-off (``from_gateway`` X) comes after
    every event of X that arrived before it (X's claim was cleared only once those were sent, and the
    new owner spoke on the clear), though X may have stamped one later: a replay hands items over up
    to ``PACE_S`` (0.25 s) early, and the timers run to the item's time. ``by_arrival``: in the order
    given, not by the events' own times (the caller merged them: gateways in different processes
    stamp events with clocks that may differ)."""
    out: dict[str, list[tuple[float, int, str, str, str, str | None]]] = {}
    latest: dict[tuple[str, str], float] = {}
    for index, (gateway, event) in enumerate(events):
        if event["type"].startswith("edge.presence.") and event["type"] != "edge.presence.dwell":
            data = event["data"]
            kind = event["type"].rsplit(".", 1)[1]
            stamp = datetime.fromisoformat(str(event["time"])).timestamp()
            # A gateway's order per token, not across tokens: a silence exit stamped "now" for one
            # shopper, committed first, must not push another's events stamped with older adverts.
            key = (gateway, data["token"])
            at = latest[key] = max(stamp, latest.get(key, -float("inf")))
            out.setdefault(data["token"], []).append((at, index, gateway, kind, data["zone"], data.get("from_gateway")))
    if by_arrival:
        return {token: [row[2:] for row in rows] for token, rows in out.items()}
    for rows in out.values():
        for at, index, _, _, _, previous in list(rows):
            if previous is not None:
                for r, row in enumerate(rows):
                    if row[2] == previous and row[1] < index and row[0] > at:
                        rows[r] = (at, *row[1:])
    return {token: [row[2:] for row in sorted(rows, key=lambda row: row[:2])] for token, rows in out.items()}


def check_one_owner(stream: dict[str, list[tuple[str, str, str, str | None]]]) -> tuple[int, int, int]:
    """(moments two gateways spoke for one token, duplicate entered, hand-offs) as the CDP sees them.

    A gateway speaks for a token from its entered until its exit, or until another gateway's
    entered with ``from_gateway`` naming it (a hand-off). Another gateway's event meanwhile is a
    moment of double ownership; an entered while the token is already in (not a hand-off) a duplicate."""
    doubles = duplicates = handoffs = 0
    for rows in stream.values():
        speaker: str | None = None
        inside = False
        for gateway, kind, _zone, from_gateway in rows:
            if from_gateway is not None:
                handoffs += 1
                if speaker not in (None, from_gateway):
                    doubles += 1
                speaker, inside = gateway, kind == "entered"
                continue
            if speaker is not None and gateway != speaker and inside:
                doubles += 1
            if kind == "entered":
                if inside and gateway == speaker:
                    duplicates += 1
                speaker, inside = gateway, True
            else:
                inside = False
    return doubles, duplicates, handoffs


@pytest.mark.slow
async def test_three_gateways_one_owner_and_hand_offs(tmp_path: Path) -> None:
    with Mosquitto(tmp_path / "broker") as broker:
        sub = Collector(broker, ("edge/v1/store-1/+/events/#", "store-local/v1/#"))
        start = time.time()
        store = MultiStore(gateways=3, seed=3, start=start, spacing_m=7.0)
        walks = store.walks(4, 4.0, dwell_s=5.0)
        roster = tmp_path / "roster.json"
        roster.write_bytes(store.roster(4))
        gateways, sources = [], []
        for g in range(3):
            config = from_mapping(
                store.config(
                    g,
                    gateway={"roster_file": str(roster), "state_dir": str(tmp_path / f"state-{g}")},
                    ble={"backend": "replay", "trace": "unused.jsonl"},
                    mqtt={"url": broker.url, "reconnect_initial_s": 0.05, "reconnect_max_s": 0.5},
                )
            )
            source = ItemsSource(store.adverts(walks, g, SECONDS), start=start, speed=1.0)
            gateways.append(Gateway(config, source))
            sources.append(source)
        try:
            async with gateways[0], gateways[1], gateways[2]:
                # One clock for the store, as NTP gives real boxes: each replay clock started with its
                # gateway, up to ~0.3 s apart on a loaded machine -- more than a hand-off's first word
                # follows the previous owner's last -- and a gateway stamps a peer's samples with the
                # peer's clock, so a merge by time across unequal clocks shows moments that never were.
                for source in sources[1:]:
                    source.clock = sources[0].clock
                await asyncio.gather(*(gw.run() for gw in gateways))
                await drained(sub, gateways, DRAIN_WITHIN_S)  # the replay ended: its last events go up
                health = [gw.peers.health() for gw in gateways if gw.peers is not None]
                suppressed = [gw.core.counters.presence_not_owned for gw in gateways]
                peer_sightings = [gw.core.counters.peer_sightings for gw in gateways]
        finally:
            sub.close()
    events = sent_up(sub)
    stream = presence_stream(events)
    doubles, duplicates, handoffs = check_one_owner(stream)
    arrived = presence_stream(events, by_arrival=True)  # as the CDP's subscriber got them
    print(json.dumps({"stream": stream, "arrived": arrived, "health": health}, indent=None))
    assert doubles == 0, stream
    assert check_one_owner(arrived)[:2] == (0, 0), arrived
    assert duplicates == 0, stream
    assert handoffs >= 2, stream
    assert len(stream) == 4
    assert all(h["peers_standalone"] == 0 and h["peers_summaries_sent"] >= 10 for h in health), health
    assert all(n > 0 for n in peer_sightings)
    assert sum(suppressed) > 0
    # Store-local summaries carry tokens, never an address.
    local = [m for m in sub.messages if m.topic.startswith("store-local/")]
    assert local
    assert not any(b"02:00:00:00" in m.payload for m in local)


def _event(token: str, kind: str, zone: str, at: str, from_gateway: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"token": token, "zone": zone}
    if from_gateway is not None:
        data["from_gateway"] = from_gateway
    return {"type": f"edge.presence.{kind}", "time": f"2026-01-01T00:00:{at}Z", "data": data}


def test_the_merge_keeps_a_gateways_order_per_token_and_a_hand_off_after_what_arrived_before_it() -> None:
    """The judge's merge (the CI failure of the fifth pass was mostly its own): gw-2's silence exit
    for shopper b, stamped "now", committed before shopper a's events stamped with older adverts,
    must not push them after gw-3's hand-off; and gw-2's last event for a, stamped after gw-3's first
    word (a replay's timers run ahead) but arrived before it, stays before the hand-off."""
    events = [
        ("gw-2", _event("a", "entered", "z2", "10.000")),
        ("gw-2", _event("b", "exited", "z2", "22.450")),
        ("gw-2", _event("a", "exited", "z2", "22.260")),
        ("gw-2", _event("a", "entered", "z3", "22.420")),
        ("gw-3", _event("a", "entered", "z3", "22.400", "gw-2")),
    ]
    stream = presence_stream(events)
    assert [row[:3] for row in stream["a"]] == [
        ("gw-2", "entered", "z2"),
        ("gw-2", "exited", "z2"),
        ("gw-2", "entered", "z3"),
        ("gw-3", "entered", "z3"),
    ]
    assert check_one_owner(stream) == (0, 0, 1)
    # The same events with gw-2's last word arriving after gw-3's: a two-owner moment in both orders.
    late = [events[0], events[1], events[2], events[4], events[3]]
    assert check_one_owner(presence_stream(late))[0] == 1
    assert check_one_owner(presence_stream(late, by_arrival=True))[0] == 1
