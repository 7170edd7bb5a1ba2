"""The pure policy of the MQTT sync, the outbox bound and sequence, and the published schemas."""

from __future__ import annotations

import json
import random
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge import events as ev
from edge.events import EventFactory
from edge.outbox import Outbox
from edge.sync.messages import SCHEMA_DIR, SCHEMA_TYPES, render
from edge.sync.policy import Backoff, drop_rank, pick_victims, with_sequence
from edge.sync.topics import Topics


def test_backoff_doubles_up_to_the_cap_with_jitter() -> None:
    backoff = Backoff(0.5, 8.0, 0.5, random.Random(1))
    delays = [backoff.next_delay() for _ in range(10)]
    ceilings = [min(8.0, 0.5 * 2**i) for i in range(10)]
    assert all(c / 2 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert len(set(delays)) == len(delays)
    backoff.reset()
    assert backoff.next_delay() <= 0.5
    with pytest.raises(ValueError, match="initial_s"):
        Backoff(2.0, 1.0)


def test_drop_policy_ranks_the_least_valuable_first() -> None:
    assert drop_rank(ev.GATEWAY_HEALTH) < drop_rank(ev.PRESENCE_DWELL) < drop_rank(ev.PRESENCE_ENTERED)
    assert drop_rank(ev.PRESENCE_EXITED) < drop_rank(ev.CONSENT_WITHDRAWN)
    assert drop_rank("edge.something.new") == drop_rank(ev.OFFER_IMPRESSION)


@given(st.lists(st.integers(1, 500), max_size=40), st.integers(0, 50), st.integers(0, 5000))
def test_pick_victims_takes_the_fewest_in_order(sizes: list[int], rows: int, size: int) -> None:
    candidates = list(enumerate(sizes))
    victims = pick_victims(candidates, rows, size)
    assert victims == list(range(len(victims)))
    taken = sum(sizes[: len(victims)])
    if len(victims) < len(sizes):
        assert len(victims) >= rows
        assert taken >= size
    if victims:
        shorter = victims[:-1]
        assert len(shorter) < rows or sum(sizes[: len(shorter)]) < size


def test_sequence_is_a_cloudevents_extension_string() -> None:
    body = with_sequence(b'{"id":"x","data":{"a":1}}', 42)
    assert json.loads(body) == {"id": "x", "data": {"a": 1}, "sequence": "42"}


def test_topics_follow_the_contract_and_refuse_wildcards() -> None:
    topics = Topics("store-1", "gw-1")
    assert topics.event(ev.PRESENCE_ENTERED) == "edge/v1/store-1/gw-1/events/edge.presence.entered"
    assert topics.status == "edge/v1/store-1/gw-1/status"
    assert topics.config == "cdp/v1/store-1/gw-1/config"
    assert topics.withdraw == "cdp/v1/store-1/consent/withdraw"
    assert topics.shelf("shelf-a3") == "edge/v1/store-1/shelf/shelf-a3"
    for bad in ("a/b", "+", "#", ""):
        with pytest.raises(ValueError, match="topic level"):
            Topics(bad, "gw-1")


def test_published_schemas_are_up_to_date() -> None:
    for name in SCHEMA_TYPES:
        assert (SCHEMA_DIR / f"{name}.json").read_text() == render(name), "run: python -m edge.sync.messages"


async def test_outbox_bound_drops_by_policy_and_counts(tmp_path: Path) -> None:
    factory = EventFactory("store-1", "gw-1", random.Random(4))

    def make(type_: str, at: float) -> ev.Event:
        return factory.make(type_, at, "baby", {"token": "s-1"}, token="s-1")

    async with Outbox(tmp_path, factory.source, max_rows=10, max_bytes=1 << 30) as outbox:
        keep = [make(ev.PRESENCE_ENTERED, i) for i in range(6)] + [make(ev.CONSENT_WITHDRAWN, 6)]
        await outbox.append(keep[:3])
        claimed = await outbox.claim(0, 2)  # published once: never dropped (no sequence gap)
        assert [r.sequence for r in claimed] == [1, 2]
        await outbox.append([make(ev.GATEWAY_HEALTH, 10), make(ev.PRESENCE_DWELL, 11)])
        await outbox.append([*keep[3:], make(ev.PRESENCE_DWELL, 12), make(ev.GATEWAY_HEALTH, 13)])
        assert outbox.rows == 10
        await outbox.append([make(ev.PRESENCE_EXITED, 14), make(ev.PRESENCE_EXITED, 15), make(ev.PRESENCE_EXITED, 16)])
        assert outbox.rows == 10
        assert outbox.dropped == 4  # both health events, then both dwell events
        with sqlite3.connect(tmp_path / "outbox.sqlite") as db:
            types = [r[0] for r in db.execute("SELECT type FROM outbox ORDER BY seq")]
        assert ev.GATEWAY_HEALTH not in types
        assert ev.PRESENCE_DWELL not in types
        assert ev.CONSENT_WITHDRAWN in types
        # Bytes bound too.
        outbox.max_bytes = outbox.bytes - 1
        await outbox.append([make(ev.PRESENCE_EXITED, 17)])
        assert outbox.bytes <= outbox.max_bytes
        assert outbox.dropped >= 5


async def test_sequence_is_persisted_without_gaps(tmp_path: Path) -> None:
    factory = EventFactory("store-1", "gw-1", random.Random(5))
    events = [factory.make(ev.SHELF_INTERACTION, float(i), "shelf", {}) for i in range(5)]
    async with Outbox(tmp_path, factory.source) as outbox:
        await outbox.append(events)
        first = await outbox.claim(0, 3)
        await outbox.mark_sent([first[0].seq])
    async with Outbox(tmp_path, factory.source) as outbox:
        again = await outbox.claim(0, 10)  # after a restart: same numbers, then new ones
        assert [r.sequence for r in again] == [2, 3, 4, 5]
        assert again[0].body == first[1].body
        assert await outbox.depth() == 4
        assert await outbox.next_session() == 1
        assert await outbox.next_session() == 2
