"""Three ``edge run`` processes of one store on a real mosquitto, and their failures (issue 18):
``kill -9`` of the gateway that owns a shopper, the owner frozen for 15 s and resumed, and a restart of the store
broker.

What is judged is what the CDP sees: the events on ``edge/v1/+/+/events/#`` (tests/multi_gateway_store.py).
"""

from __future__ import annotations

import json
import math
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from edge.peers.topics import token_hash
from edge.sim.multi import MultiStore, Walk
from tests.mosquitto import Broker, Collector, Mosquitto, retained
from tests.multi_gateway_store import ProcessStore
from tests.test_multi_gateway import check_one_owner, presence_stream

TAKEOVER_MAX_S = 10.0
"""The issue's bound: another gateway speaks for the dead owner's shopper within this."""
FROZEN_S = 15.0
"""How long the owner is frozen (SIGSTOP: a box whose storage or swap stalled it): longer than the takeover bound,
shorter than the broker's 1.5 keep-alives (45 s), so no will is sent: its peers see only its summaries stop."""
FROZEN_TAKEOVER_MAX_S = 10.0
"""Another gateway claims a frozen owner's shopper within this: no will comes, so its peers count it silent at the
deadline of the fourth slot after its last summary (``SILENT_KEEP_SLOTS`` 3 + 1 slots + ``SLOT_DEADLINE_S`` 2.5 s,
and up to a slot of alignment: 6.5-7.5 s). The shopper's zone is covered only by the frozen owner's scanner, so the
new owner keeps its last word (``said_by``) and says nothing (session 32; until then it waited ``AGREE_S`` and said
the exit: 9.4-9.9 s). Measured: 5.9-6.0 s (the freeze lands mid-slot, after its summary of the slot before)."""
RESUMED_S = 10.0
"""How long the test watches after the frozen gateway goes on (it reads what queued meanwhile, then the store
settles)."""
SETTLED_S = 3.0
"""An owner counts as settled once it has spoken for the shopper this long with no event since (the
first speaker may hand the shopper to a louder box within a few seconds: arbitration over 2 s, 2 in a row)."""
AFTER_SLOTS = 3
"""Summaries of this many slots after its acknowledgement, from every gateway, before the withdrawal
test judges (they show each gateway kept summarising the others and left the withdrawn token out)."""


def wait(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout} s")
        time.sleep(0.1)


def stream_of(store: ProcessStore) -> dict[str, list[tuple[str, str, str, str | None]]]:
    return presence_stream([(gateway, event) for gateway, event, _ in store.events()])


def claimants(broker: Broker, token: str) -> set[str]:
    """The gateways whose retained claim for ``token`` is on the store broker now."""
    return {m.topic.split("/")[3] for m in retained(broker, claim_topic(token))}


def settled_owner(broker: Broker, store: ProcessStore, token: str, within_s: float) -> str:
    """The gateway that speaks for ``token``, once it is settled: its ``entered`` (or hand-off) is the
    last presence event for the token, :data:`SETTLED_S` old, and its claim is the only one retained.
    (Taking the last speaker after a fixed sleep raced a late hand-off.)"""
    deadline = time.monotonic() + within_s
    seen: tuple[list[tuple[str, str, float]], set[str]] = ([], set())
    while time.monotonic() < deadline:
        rows = [(g, e["type"], at) for g, e, at in store.presence(token)]
        if rows and rows[-1][1] == "edge.presence.entered" and time.time() - rows[-1][2] >= SETTLED_S:
            speaker = rows[-1][0]
            claims = claimants(broker, token)
            if claims == {speaker} and len(store.presence(token)) == len(rows):
                return speaker
            seen = (rows, claims)
        time.sleep(0.2)
    raise TimeoutError(f"no settled owner within {within_s} s (presence {seen[0]}, claims {seen[1]})")


@contextmanager
def standing_shopper(tmp_path: Path, seconds: float) -> Iterator[tuple[Broker, ProcessStore, str, str]]:
    """The kill and freeze tests' store: three gateways on a real mosquitto, shopper 0 standing in z1 (gw-1's zone,
    gw-2 hears it too) and shopper 1 in z3 (gw-3's) for ``seconds``; yields once shopper 0's owner has settled:
    (broker, gateways, shopper 0's token, its owner)."""
    start = time.time() + 1.0
    store = MultiStore(gateways=3, seed=5, start=start, spacing_m=7.0)
    walks = [Walk(0, start + 4.0, (0,), seconds), Walk(1, start + 4.0, (2,), seconds)]
    with (
        Mosquitto(tmp_path / "broker") as broker,
        ProcessStore(tmp_path / "store", broker, store, walks, seconds, shoppers=2) as gateways,
    ):
        token = walks[0].token
        wait(lambda: any(e["type"] == "edge.presence.entered" for _, e, _ in gateways.presence(token)), 25, "entered")
        yield broker, gateways, token, settled_owner(broker, gateways, token, 30.0)


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_kill_9_of_the_owner_another_takes_over_within_10_s(tmp_path: Path) -> None:
    with standing_shopper(tmp_path, 60.0) as (broker, gateways, token, owner):
        killed = gateways.kill(owner)

        def taken_over() -> bool:
            return any(g != owner and at > killed for g, _, at in gateways.presence(token))

        wait(taken_over, TAKEOVER_MAX_S, "another gateway takes over")
        takeover_s = min(at for g, _, at in gateways.presence(token) if g != owner and at > killed) - killed
        time.sleep(8.0)  # nothing more: the new owner's exit timer (6 s), if its engine loses the shopper
        after = [(g, e["type"], e["data"].get("from_gateway")) for g, e, at in gateways.presence(token) if at > killed]
        states = retained(broker, f"store-local/v1/store-1/{owner}/state")
        stream = stream_of(gateways)
    print(json.dumps({"takeover_s": round(takeover_s, 2), "after": after, "stream": stream}))
    assert takeover_s <= TAKEOVER_MAX_S
    assert sum(kind == "edge.presence.entered" for _, kind, _ in after) <= 1, after
    assert sum(kind == "edge.presence.exited" for _, kind, _ in after) <= 1, after
    assert after[0][2] == owner, after  # the hand-off names the dead owner
    assert [json.loads(m.payload)["state"] for m in states] == ["offline"]  # its last will
    doubles, duplicates, _ = check_one_owner(stream)
    assert (doubles, duplicates) == (0, 0), stream


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_an_owner_frozen_15_s_loses_its_shopper_and_resumes_without_a_second_speaker(tmp_path: Path) -> None:
    """Sessions 31-32. The owner stops for 15 s without dying (SIGSTOP: its connection stays open, no will) and then
    goes on with what it held. Another gateway takes its shopper over (the silent owner's rule,
    ``SILENT_KEEP_SLOTS``: :data:`FROZEN_TAKEOVER_MAX_S`): the shopper stands in z1, which only the frozen box hears,
    so it claims them keeping the box's last word and says nothing; when the box resumes -- its engine still placing
    the shopper, its claims at the epochs of 15 s before -- it reads the store's newer claims before it speaks
    (``edge.peers.timing.AWAY_S``) and is given the shopper back. Nothing is said about the shopper after the freeze,
    never two speakers, and the box's is the one claim on the broker once settled. Before session 31 the resumed
    box said an exit and an entry of its engine's backlog for the shopper another gateway had taken over; before
    session 32 the new owner said the exit after ``AGREE_S`` and the box the entry when it came back."""
    with standing_shopper(tmp_path, 75.0) as (broker, gateways, token, owner):
        frozen = gateways.procs[owner]
        frozen.send_signal(signal.SIGSTOP)
        stopped = time.time()
        try:
            kept: list[dict[str, Any]] = []

            def taken_over() -> bool:
                claims = [json.loads(m.payload) for m in retained(broker, claim_topic(token), 5.0)]
                kept[:] = [c for c in claims if c["owner"] != owner]
                return bool(kept)

            wait(taken_over, FROZEN_TAKEOVER_MAX_S, "another gateway claims the shopper")
            takeover_s = time.time() - stopped
            time.sleep(max(0.0, stopped + FROZEN_S - time.time()))
        finally:
            frozen.send_signal(signal.SIGCONT)
        resumed = time.time()
        time.sleep(RESUMED_S)
        rows = [(g, e["type"], e["data"].get("from_gateway"), at) for g, e, at in gateways.presence(token)]
        last_speaker = rows[-1][0]
        claims = claimants(broker, token)
        stream = stream_of(gateways)
    after = [(g, kind, origin, round(at - stopped, 2)) for g, kind, origin, at in rows if at > stopped]
    print(json.dumps({"takeover_s": round(takeover_s, 2), "kept": kept, "resumed_s": round(resumed - stopped, 2),
                      "after": after}))  # fmt: skip
    assert takeover_s <= FROZEN_TAKEOVER_MAX_S
    assert [c.get("said_by") for c in kept] == [owner], kept  # the frozen box's last word kept
    assert after == []  # the shopper stood in z1 throughout: the CDP hears nothing new (5 runs of 5, 3 loaded)
    doubles, duplicates, _ = check_one_owner(stream)
    assert (doubles, duplicates) == (0, 0), stream
    assert claims == {last_speaker} == {owner}, (claims, after)  # given back


def claim_topic(token: str) -> str:
    return f"store-local/v1/store-1/+/owner/{token_hash(token)}"


HEALTH = "edge.gateway.health"


def health(store: ProcessStore) -> list[tuple[str, dict[str, Any]]]:
    return [(g, e["data"]) for g, e, _ in store.events() if e["type"] == HEALTH]


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_broker_restart_every_gateway_standalone_and_back_without_duplicates(tmp_path: Path) -> None:
    start = time.time() + 1.0
    store = MultiStore(gateways=3, seed=6, start=start, spacing_m=7.0)
    # One shopper stands in z1, one in z3, one walks z1 -> z3 (hand-offs before, during and after the outage).
    walks = [Walk(0, start + 4.0, (0,), 60.0), Walk(1, start + 4.0, (2,), 60.0), Walk(2, start + 4.0, (0, 1, 2), 7.0)]
    with (
        Mosquitto(tmp_path / "broker") as broker,
        ProcessStore(tmp_path / "store", broker, store, walks, 60.0, shoppers=3, health_interval_s=1.0) as gateways,
    ):
        everyone = {w.token for w in walks}
        wait(lambda: everyone <= set(stream_of(gateways)), 25, "every shopper entered")
        time.sleep(2.0)
        ids = list(gateways.procs)
        before = {g: max((seq for seq, _ in gateways.outbox_events(g, HEALTH)), default=0) for g in ids}
        broker.stop()

        def standalone() -> bool:
            """Every gateway noticed and said so in a health event since the stop (kept in its outbox)."""
            return all(
                any(
                    seq > before[g] and e["data"].get("peers_standalone") == 1
                    for seq, e in gateways.outbox_events(g, HEALTH)
                )
                for g in ids
            )

        wait(standalone, 20, "every gateway's health says standalone")
        broker.start()

        def back() -> bool:
            seen: dict[str, list[int]] = {}
            for g, data in health(gateways):
                seen.setdefault(g, []).append(data.get("peers_standalone", -1))
            return all(1 in seen.get(g, []) and seen[g][-1] == 0 for g in ids)

        wait(back, 20, "every gateway standalone, then back on the store broker")
        time.sleep(6.0)  # hand-offs after the outage
        stream = stream_of(gateways)
        latest = dict(health(gateways))  # each gateway's last health
    print(json.dumps({"stream": stream}))
    # One store's time (ble.start_at): each gateway reads its peers' clocks within a second of its own, the
    # broker's outage notwithstanding (the least lag of a minute of summaries; edge/peers/clocks.py).
    offsets = {g: data.get("peers_clock_offset_ms") for g, data in latest.items()}
    assert set(offsets) == set(ids)
    assert all(ms is not None and 0 <= ms < 1000 for ms in offsets.values()), offsets
    print(json.dumps({"clock_offsets_ms": offsets}))
    doubles, duplicates, _ = check_one_owner(stream)
    assert (doubles, duplicates) == (0, 0), stream
    assert set(stream) == everyone
    assert all(rows[0][1] == "entered" for rows in stream.values()), stream


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_a_withdrawal_purges_summaries_and_claims_on_every_gateway(tmp_path: Path) -> None:
    start = time.time() + 1.0
    store = MultiStore(gateways=3, seed=7, start=start, spacing_m=7.0)
    # Shopper 0 stands in z2, heard by all three scanners: in every gateway's summaries.
    walks = [Walk(0, start + 4.0, (1,), 60.0), Walk(1, start + 4.0, (2,), 60.0)]
    token, other = walks[0].token, walks[1].token
    with (
        Mosquitto(tmp_path / "broker") as broker,
        ProcessStore(tmp_path / "store", broker, store, walks, 60.0, shoppers=2) as gateways,
    ):
        local = Collector(broker, ("store-local/v1/#",))
        try:
            ids = set(gateways.procs)

            def summarised_by_all() -> bool:
                with local._cond:
                    return ids <= {
                        m.topic.split("/")[3]
                        for m in local.messages
                        if m.topic.endswith("/sightings") and token.encode() in m.payload
                    }

            wait(summarised_by_all, 25, "every gateway's summary names the shopper")
            # Summaries come from the first slot; a claim only once some gateway has entered the shopper.
            wait(
                lambda: any(token.encode() in m.payload for m in retained(broker, "store-local/v1/store-1/+/owner/+")),
                25,
                "the owner's claim is retained",
            )
            local.publish("cdp/v1/store-1/consent/withdraw", json.dumps({"token": token}).encode())

            def acknowledged() -> dict[str, tuple[int, float]]:
                """Per gateway: the slot of its acknowledgement's own time (its clock, as its summaries'
                slots) and the wall time the acknowledgement reached the CDP."""
                return {
                    g: (math.floor(datetime.fromisoformat(e["time"]).timestamp()), at)
                    for g, e, at in gateways.events()
                    if e["type"] == "edge.consent.withdrawn" and e["data"]["token"] == token
                }

            wait(lambda: set(acknowledged()) == ids, 10, "every gateway acknowledged the withdrawal")
            acks = acknowledged()

            def summaries_after() -> dict[str, list[bytes]]:
                """Per gateway, its summaries of the slots after its acknowledgement's. Judged by the
                summary's slot, not by arrival: summaries travel on the peers' own connection, so one
                sent just before the acknowledgement may reach the CDP after it. (Not the slot of the
                acknowledgement itself: the summary forgets the token when the acknowledgement is
                committed, a writer's linger after its time.)"""
                out: dict[str, list[bytes]] = {g: [] for g in ids}
                with local._cond:
                    for m in local.messages:
                        g = m.topic.split("/")[3]
                        if m.topic.endswith("/sightings") and json.loads(m.payload)["slot"] > acks[g][0]:
                            out[g].append(bytes(m.payload))
                return out

            wait(
                lambda: all(len(p) >= AFTER_SLOTS for p in summaries_after().values()),
                20,
                f"{AFTER_SLOTS} summaries of later slots from every gateway",
            )
            summaries = [p for ps in summaries_after().values() for p in ps]
            wall_offset = time.time() - time.monotonic()
            hashed = token_hash(token)
            with local._cond:
                on_claim_topics: dict[str, bytes] = {}  # the last message on each topic of a claim for the token
                for m in local.messages:
                    if m.topic.endswith(f"/owner/{hashed}"):
                        on_claim_topics[m.topic] = bytes(m.payload)
                others_after = [
                    (m.topic, bytes(m.payload))
                    for m, at in zip(local.messages, local.arrived, strict=True)
                    if not m.topic.endswith(("/sightings", f"/owner/{hashed}"))
                    and at + wall_offset > acks[m.topic.split("/")[3]][1]
                ]
            claims = retained(broker, "store-local/v1/store-1/+/owner/+")
        finally:
            local.close()
    assert any(other.encode() in p for p in summaries), "summaries of the other shopper continue"
    assert not [p for p in summaries if token.encode() in p], "a later slot's summary names the withdrawn token"
    assert on_claim_topics, "the owner's claim was seen"
    assert not [t for t, p in on_claim_topics.items() if p], "the token's claim topics end with a clear"
    assert not [t for t, p in others_after if token.encode() in p], "a store-local message names the withdrawn token"
    assert not [m.topic for m in claims if token.encode() in m.payload], "a retained claim for it remains"


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_boxes_whose_clocks_are_4_and_8_s_behind_move_their_slots_to_one_time(tmp_path: Path) -> None:
    """Three processes whose clocks run 0 / 4 / 8 s behind the store's (their time service lost; each hears the
    store at the same moments: ``skew_s``). Each reads the others' clocks from their summaries and moves its slot
    clock to the median (edge/peers/storetime.py): gw-1 back 4 s, gw-3 forward 4 s, gw-2 not at all; then two
    shoppers stand in z1 and z3 and one walks z1 -> z2 -> z3 past all three boxes, and the CDP hears one owner at a
    time. Before session 29 such
    a store had 69-81 two-owner moments in 180 s of the doors walk (docs/multi-gateway.md)."""
    start = time.time() + 1.0
    store = MultiStore(gateways=3, seed=8, start=start, spacing_m=7.0)
    # Once the clocks have met (3 summaries read a clock seconds off, then 16 s of slew), one shopper stands in z1,
    # one in z3, and one walks z1 -> z3. Before that the store runs as it did before session 29.
    met_s = 24.0
    walks = [
        Walk(0, start + met_s, (0,), 40.0),
        Walk(1, start + met_s, (2,), 40.0),
        Walk(2, start + met_s + 2.0, (0, 1, 2), 7.0),
    ]
    with (
        Mosquitto(tmp_path / "broker") as broker,
        ProcessStore(
            tmp_path / "store", broker, store, walks, met_s + 45.0, shoppers=3, health_interval_s=1.0, skew_s=4.0
        ) as gateways,
    ):
        ids = list(gateways.procs)

        def moving() -> bool:
            """gw-1 and gw-3 started their moves (gw-2's clock is the median already)."""
            latest = dict(health(gateways))
            return set(latest) == set(ids) and all(latest[g].get("peers_clock_moves", 0) >= 1 for g in ("gw-1", "gw-3"))

        wait(moving, 40, "the gateways off the median moving their slot clocks")
        began = time.time() - start

        def met() -> bool:
            """gw-1 and gw-3 have moved the whole way (a slew of 4 s at 25 %: 16 s)."""
            latest = dict(health(gateways))
            return all(abs(abs(latest[g]["peers_clock_correction_ms"]) - 4000) < 500 for g in ("gw-1", "gw-3"))

        wait(met, 40, "the slot clocks at the median")
        print(json.dumps({"moves_began_s": round(began, 1), "met_s": round(time.time() - start, 1)}))
        wait(lambda: len(stream_of_arrival(gateways).get(walks[2].token, [])) >= 3, 75, "the walker entered 3 zones")
        time.sleep(3.0)
        latest = dict(health(gateways))
        stream = stream_of_arrival(gateways)
    moved = {g: data["peers_clock_correction_ms"] for g, data in latest.items()}
    offsets = {g: data["peers_clock_offset_ms"] for g, data in latest.items()}
    print(json.dumps({"corrections_ms": moved, "offsets_ms": offsets, "stream": stream}))
    expected = {"gw-1": 8000, "gw-2": 4000, "gw-3": 8000}  # the boxes' own clocks still disagree: reported
    assert offsets == {g: pytest.approx(ms, abs=500) for g, ms in expected.items()}
    assert moved["gw-1"] == pytest.approx(-4000, abs=500)
    assert moved["gw-2"] == pytest.approx(0, abs=500)
    assert moved["gw-3"] == pytest.approx(4000, abs=500)
    doubles, duplicates, _ = check_one_owner(stream)
    assert (doubles, duplicates) == (0, 0), stream
    assert {w.token for w in walks} <= set(stream)


def stream_of_arrival(store: ProcessStore) -> dict[str, list[tuple[str, str, str, str | None]]]:
    """The CDP's presence stream in arrival order (the boxes' stamps are on clocks seconds apart)."""
    return presence_stream([(gateway, event) for gateway, event, _ in store.events()], by_arrival=True)
