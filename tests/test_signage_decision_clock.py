"""Signage decides on the core's time under a replay, not on the source's clock behind it.

A replay hands the core its items up to ``PACE_S x speed`` trace seconds before the source's clock
reaches them (edge.beacons.replay), so the entry that wakes a decision is stamped up to 1.0 s (speed 4)
ahead of the clock. The impression was already moved to start no earlier than its decision
(tests/test_signage_decision_time.py); the decision itself read the clock: the play's time, which the
frequency caps count from (the ``signage_plays`` row in signage.sqlite), the holdout draw and the play id
were 0.02-0.72 s before the entry that caused the play at ``--speed 4`` (5 runs), and before the
impression the CDP counts the same cap from. The decision now reads
:func:`edge.signage.measure.decision_time`, bounded by the replay's lead.

And the first decision waits for the player: decided at the gateway's start, the first play counted its
planned seconds while the player was still starting, and was cut by that much.

The example's own files through the real gateway, its replay source and the headless player (SDL's
dummy driver), a real SQLite file."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
from pathlib import Path

from edge import app
from edge import constants as c
from edge.beacons.replay import ReplaySource
from edge.config import load
from edge.events import OFFER_IMPRESSION, PRESENCE_ENTERED, Event
from edge.signage.decide import Play
from edge.signage.measure import decision_time
from edge.signage.service import Signage
from edge.timefmt import parse_start
from tests.test_signage_wiring import wait_for

os.environ["PYGAME_HIDE_SUPPORT_PROMPT"] = "1"

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SPEED = 4.0
"""The replay's speed: its lead is PACE_S x 4 = 1.0 trace s, the old decision 0.25-0.63 s before the entry."""
AFTER_THE_OFFER_S = 1.0
"""Real seconds the gateway runs on after the offer's first frame before it stops (the play ends then)."""
PUBLISHED_S = 0.0005
"""Times are published to the millisecond (edge.timefmt): a published start may read this much early."""
NEXT_DECISION_S = c.SIGNAGE_DECIDE_INTERVAL_S * SPEED
"""Trace seconds a play may be on screen short of its plan: the next play is decided at the first
interval after the clock reaches its end, and each play's first frame comes a render after its decision
(the two renders differ by tens of ms); a play decided before the player was ready lost its start-up
(0.4-2.3 real s, 1.6-9 trace s at speed 4)."""


OVERRIDE_AT_S = 30.0
"""Trace seconds into the example at which the CDP's override arrives (the shopper at the shelf)."""
OVERRIDE_TTL_S = 8.0


async def run_the_example(
    state_dir: Path, speed: float, trace: Path = EXAMPLES / "trace.jsonl", kind: str = "offer"
) -> tuple[Signage, list[Event], list[Play]]:
    """The example (its ``trace``) through the gateway at ``speed`` until the first card of ``kind`` has
    been on screen for AFTER_THE_OFFER_S: the screen, every event committed, the offer plays started."""
    config = load(EXAMPLES / "store.toml")
    source = ReplaySource(trace, speed=speed)
    events: list[Event] = []
    offers: list[Play] = []
    gateway = app.Gateway(config, source, sinks=[events.append], state_dir=state_dir, signage=config.signage)
    stop = asyncio.Event()
    async with gateway:
        signage = gateway.signage
        assert signage is not None
        signage.on_started.append(lambda play, _mono: offers.append(play) if play.kind == "offer" else None)
        kinds: set[str] = set()
        signage.on_presented.append(lambda entry, _mono: kinds.add(entry.kind))
        runner = asyncio.create_task(gateway.run(stop=stop))
        await wait_for(lambda: kind in kinds, 40 / speed + 10, f"the first {kind} on screen")
        await asyncio.sleep(AFTER_THE_OFFER_S)
        stop.set()
        await runner
    return signage, events, offers


async def test_an_offer_is_decided_and_capped_no_earlier_than_the_entry_that_caused_it(tmp_path: Path) -> None:
    signage, events, offers = await run_the_example(tmp_path, SPEED)
    zone = signage.place.zone
    entered: dict[str, float] = {}
    for event in events:
        if event.type == PRESENCE_ENTERED and event.data.get("zone") == zone and event.token is not None:
            entered.setdefault(event.token, event.time)
    for play in offers:
        assert play.token in entered
        ahead = entered[play.token] - play.at
        assert ahead <= 0.0, f"the offer was decided {ahead:.3f} s before the entry that caused it (speed {SPEED})"
    with sqlite3.connect(tmp_path / "signage.sqlite") as db:
        rows = db.execute("SELECT token, offer, at FROM signage_plays ORDER BY at").fetchall()
    assert [(token, offer) for token, offer, _ in rows] == [(p.token, p.content) for p in offers]
    impressions = [e.data for e in events if e.type == OFFER_IMPRESSION and e.data["kind"] == "offer"]
    assert len(impressions) == len(rows), "each capped play ended in an impression when the gateway stopped"
    for (token, offer, at), data in zip(rows, impressions, strict=True):
        assert (data["token"], data["offer"]) == (token, offer)
        assert at >= entered[token], f"the cap counts the play {entered[token] - at:.3f} s before its entry"
        start = parse_start(str(data["start"]))
        assert at <= start + PUBLISHED_S, "the cap counts the play no later than the impression the CDP counts"


async def test_the_first_play_is_decided_once_the_player_is_ready_and_keeps_its_planned_seconds(
    tmp_path: Path,
) -> None:
    _, events, _ = await run_the_example(tmp_path, SPEED)
    shown = sorted((e.data for e in events if e.type == OFFER_IMPRESSION), key=lambda d: parse_start(str(d["start"])))
    first, second = shown[0], shown[1]
    assert (first["kind"], second["kind"]) == ("generic", "generic"), "the welcome, then the next playlist item"
    on_screen = parse_start(str(second["start"])) - parse_start(str(first["start"]))
    planned = float(str(first["planned_s"]))
    assert on_screen >= planned - NEXT_DECISION_S, f"the first play was on screen {on_screen:.3f} s of {planned} s"
    assert first["completed"] is True


def trace_with_an_override(path: Path) -> Path:
    """The example's trace with the CDP's override (``ttl_s`` OVERRIDE_TTL_S) at OVERRIDE_AT_S, in order."""
    lines = (EXAMPLES / "trace.jsonl").read_text().splitlines()
    payload = {"id": "evac-1", "priority": 90, "title": "Bitte verlassen Sie den Markt", "ttl_s": OVERRIDE_TTL_S}
    topic = "cdp/v1/store-1/gw-1/override"
    line = json.dumps({"t": OVERRIDE_AT_S, "kind": "downlink", "topic": topic, "payload": payload})
    at = next(i for i, text in enumerate(lines) if i > 0 and float(json.loads(text)["t"]) > OVERRIDE_AT_S)
    path.write_text("\n".join([*lines[:at], line, *lines[at:]]) + "\n")
    return path


async def test_an_override_is_decided_no_earlier_than_its_message_and_plans_its_ttl(tmp_path: Path) -> None:
    """Before, at speed 4: the override's impression started 0.30 s before the message (at 29.696 s)
    and planned 8.527 s of an 8 s TTL (the decision read the clock behind the core's receipt)."""
    trace = trace_with_an_override(tmp_path / "trace.jsonl")
    state = tmp_path / "state"
    state.mkdir()
    _, events, _ = await run_the_example(state, SPEED, trace=trace, kind="override")
    received = parse_start(str(json.loads(trace.read_text().splitlines()[0])["start"])) + OVERRIDE_AT_S
    overrides = [e.data for e in events if e.type == OFFER_IMPRESSION and e.data["kind"] == "override"]
    assert len(overrides) == 1, "the override's play ended when the gateway stopped"
    start = parse_start(str(overrides[0]["start"]))
    assert start >= received - PUBLISHED_S, f"the override started {received - start:.3f} s before its message"
    planned = float(str(overrides[0]["planned_s"]))
    assert planned <= OVERRIDE_TTL_S + 0.001, f"planned {planned} s of a {OVERRIDE_TTL_S} s TTL"


def test_the_decision_time_is_the_cores_time_bounded_by_the_replays_lead() -> None:
    clock = 1_795_428_021.936
    assert decision_time(clock, [], float("-inf"), max_ahead=1.0) == clock, "nothing ahead: the clock"
    assert decision_time(clock, [clock + 0.6], clock + 0.2, max_ahead=1.0) == clock + 0.6, "the entry ahead"
    assert decision_time(clock, [clock - 9.0], clock + 0.4, max_ahead=1.0) == clock + 0.4, "the latest event ahead"
    assert decision_time(clock, [], clock + 30.0, max_ahead=1.0) == clock + 1.0, "an event far ahead: the bound"
    assert decision_time(clock, [clock + 0.6], clock + 0.2) == clock + 0.6, "unbounded by default"
