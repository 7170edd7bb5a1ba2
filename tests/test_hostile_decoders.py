"""Hostile input, in-process: deep, huge, out-of-range and wrong-typed messages for every downlink
type (through the core's one router) and every trace line kind (through the trace reader). Nothing
raises, every rejection has a reason, the last good roster stays, no payload value is logged."""

from __future__ import annotations

import json
import logging
import random
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge.config import from_mapping
from edge.core import Core
from edge.errors import TraceError
from edge.events import EventFactory
from edge.inputs import Downlink
from edge.limits import JSON_DEPTH_MAX, scrub, too_deep
from edge.router import Route
from edge.signage.offers import parse_offers, parse_rules
from edge.sync.replay import decode_replay
from edge.trace import TraceReader, header_line
from tests.helpers import START, card_advert, roster_bytes
from tests.hostile_payloads import KINDS, SECRET, bad_payload, topic_kinds

CONFIG_MAPPING: dict[str, Any] = {
    "zones": [{"id": "baby", "scanners": ["gw-1"]}],
    "shelves": [{"id": "shelf-a3", "zone": "baby"}],
}
CONFIG = from_mapping(CONFIG_MAPPING)
TOPICS = topic_kinds("store-1", "gw-1")
NOW = START + 10.0


def _boom(value: object, now: float) -> list[Any]:
    raise KeyError(SECRET)  # a part's bug, quoting a value


def core_with_routes() -> Core:
    """The core (roster, withdrawals, check-ins, shelves) and the other parts' real decoders."""
    core = Core(CONFIG, EventFactory("store-1", "gw-1", random.Random(1)))
    router = core.router
    router.register(Route(TOPICS["offers"], parse_offers, lambda v, now: [], retain=True, owner="signage"))
    router.register(Route(TOPICS["rules"], parse_rules, lambda v, now: [], retain=True, owner="signage"))
    router.register(Route(TOPICS["replay"], decode_replay, lambda v, now: [], owner="mqtt"))
    router.register(Route(TOPICS["screenshot"], lambda b: json.loads(b), _boom, owner="signage"))
    decision = core.decide(Downlink(START, TOPICS["roster"], roster_bytes(version=5)))
    assert decision.rejected is None
    return core


def resolves(core: Core) -> bool:
    return core.resolver.resolve(card_advert(NOW), NOW) is not None


# --- the pre-scan ------------------------------------------------------------------------------


def reference_depth(text: bytes) -> int | None:
    """Max nesting outside strings, None if it does not balance (a slow, obvious scanner)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in text:
        char = chr(byte)
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
            if depth < 0:
                return None
    return deepest if depth == 0 and not in_string else None


bracket_texts = st.lists(
    st.sampled_from(["[", "]", "{", "}", '"[["', '"]\\""', '"\\\\"', ",", "1", '"x"']), max_size=120
).map(lambda parts: "".join(parts).encode())


@given(bracket_texts, st.integers(min_value=1, max_value=40))
def test_the_depth_pre_scan_agrees_with_a_plain_scanner(text: bytes, limit: int) -> None:
    depth = reference_depth(text)
    if depth is not None and depth <= limit:
        assert not too_deep(text, limit)
    elif depth is not None:
        assert too_deep(text, limit)
    # unbalanced: either answer is safe (msgspec rejects it as malformed, and it was scanned bounded)


def test_deep_and_legit_payloads() -> None:
    assert too_deep(b"[" * 100_000)
    assert too_deep(b"[" * (JSON_DEPTH_MAX + 1) + b"]" * (JSON_DEPTH_MAX + 1))
    assert not too_deep(b"[" * JSON_DEPTH_MAX + b"]" * JSON_DEPTH_MAX)
    assert not too_deep(json.dumps({"a": "[" * 1000, "b": [[1]] * 1000}).encode())
    assert not too_deep(roster_bytes(version=1))


def test_scrub_takes_quoted_values_out() -> None:
    assert scrub(f"Invalid enum value '{SECRET}' - at `$.k`") == "Invalid enum value '…' - at `$.k`"
    assert SECRET not in scrub(f'bad "{SECRET}"')


# --- every downlink type --------------------------------------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(topic=st.sampled_from(sorted(TOPICS)), kind=st.sampled_from(KINDS), seed=st.integers(0, 2**16))
def test_bad_downlinks_of_every_kind_are_rejected_with_a_reason(
    topic: str, kind: str, seed: int, caplog: pytest.LogCaptureFixture
) -> None:
    core = core_with_routes()
    good = core.resolver.roster
    payload = bad_payload(topic, kind, random.Random(seed), now=NOW, version=5)
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        decision = core.decide(Downlink(NOW, TOPICS[topic], payload))
    assert core.resolver.roster is good
    assert resolves(core)
    if decision.rejected is not None and topic != "checkin":  # a check-in's refusals: edge.checkin's reasons
        assert decision.reason in {"too_large", "too_deep", "malformed", "invalid", "stale", "expired", "failed"}
    assert SECRET not in caplog.text


@settings(max_examples=40, deadline=None)
@given(
    topic=st.sampled_from(sorted(TOPICS)),
    value=st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
        lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
        max_leaves=40,
    ),
)
def test_any_json_on_any_topic_never_raises(topic: str, value: object) -> None:
    core = core_with_routes()
    good = core.resolver.roster
    decision = core.decide(Downlink(NOW, TOPICS[topic], json.dumps(value).encode()))
    assert core.resolver.roster is good or decision.rejected is None
    assert resolves(core)


def test_a_handler_bug_is_counted_and_its_message_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    core = core_with_routes()
    with caplog.at_level(logging.DEBUG):
        decision = core.decide(Downlink(NOW, TOPICS["screenshot"], b'{"request_id": "r1"}'))
    assert decision.reason == "failed"
    assert "KeyError at test_hostile_decoders.py" in caplog.text
    assert SECRET not in caplog.text


def test_rejections_are_logged_once_a_minute_with_a_count(caplog: pytest.LogCaptureFixture) -> None:
    core = core_with_routes()
    deep = b"[" * 2000
    with caplog.at_level(logging.ERROR, logger="edge.router"):
        for i in range(1000):
            core.decide(Downlink(NOW + i * 0.01, TOPICS["withdraw"], deep))
        core.decide(Downlink(NOW + 61, TOPICS["withdraw"], deep))
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert "999 more since the last line" in lines[1]
    assert core.router.rejections.health()["rejected_too_deep"] == 1001
    health = core.health_event(NOW, {})
    assert health.data["rejected_too_deep"] == 1001


async def test_rejections_cause_at_most_one_extra_health_event_a_minute(tmp_path: Any) -> None:
    """A flood of bad downlinks is counted, not echoed: the first rejection is answered with an
    ``edge.gateway.health`` event, the next only a minute later (REJECTION_HEALTH_MIN_S), through the
    pipeline and a real outbox as the MQTT downlinks take them (periodic health set to an hour)."""
    from edge import constants as c
    from edge.events import Event
    from edge.outbox import Outbox
    from edge.pipeline import Pipeline

    config = from_mapping({**CONFIG_MAPPING, "presence": {"health_interval_s": 3600.0}})
    core = Core(config, EventFactory("store-1", "gw-1", random.Random(1)))
    out: list[Event] = []
    deep = b"[" * 2000
    async with Outbox(tmp_path, "edge://store-1/gw-1") as outbox:
        pipeline = Pipeline(core, outbox, sinks=[out.append])
        assert (await pipeline.deliver(Downlink(START, TOPICS["roster"], roster_bytes(version=5)))).rejected is None
        for i in range(200):  # within the first minute
            decision = await pipeline.deliver(Downlink(NOW + i * 0.25, TOPICS["withdraw"], deep))
            assert decision.reason == "too_deep"
        later = NOW + c.REJECTION_HEALTH_MIN_S + 1
        for i in range(200):  # the next minute
            await pipeline.deliver(Downlink(later + i * 0.25, TOPICS["roster"], b"{bad"))
    health = [e for e in out if e.type == "edge.gateway.health"]
    assert [(e.time, e.data["downlinks_rejected"]) for e in health] == [(NOW, 1), (later, 201)]
    assert core.router.rejections.health()["rejected_too_deep"] == 200


# --- roster rules ---------------------------------------------------------------------------------


def roster_at(version: int, *, shoppers: list[dict[str, Any]] | None = None, expires: float = NOW + 86_400) -> bytes:
    return roster_bytes(version=version, shoppers=shoppers, expires=expires)


def test_the_roster_version_must_grow_and_an_expired_one_is_refused() -> None:
    core = core_with_routes()
    in_force = core.resolver.roster
    older = core.decide(Downlink(NOW, TOPICS["roster"], roster_at(4)))
    assert older.reason == "stale"
    same = core.decide(Downlink(NOW, TOPICS["roster"], roster_at(5)))
    assert same.rejected is None
    assert same.keep is None  # idempotent: nothing changes, nothing is stored again
    assert core.resolver.roster is in_force
    expired = core.decide(Downlink(NOW, TOPICS["roster"], roster_at(6, expires=NOW - 1)))
    assert expired.reason == "expired"
    assert core.resolver.roster is in_force
    assert resolves(core)
    newer = core.decide(Downlink(NOW, TOPICS["roster"], roster_at(6)))
    assert newer.rejected is None
    assert newer.keep is not None
    assert core.resolver.roster is not None
    assert core.resolver.roster.version == 6


def test_a_withdrawal_holds_until_a_newer_roster_omits_the_token() -> None:
    core = core_with_routes()
    withdrawn = core.decide(Downlink(NOW, TOPICS["withdraw"], b'{"token": "s-card"}'))
    assert withdrawn.purge == ("s-card",)
    assert not resolves(core)
    for version in (5, 6, 7):  # the same, and newer ones still listing it (the CDP lags): still withdrawn
        core.decide(Downlink(NOW, TOPICS["roster"], roster_at(version)))
        assert not resolves(core)
        assert "s-card" in core.withdrawals
    without = [{"token": "s-other", "scopes": ["presence"], "ids": []}]
    core.decide(Downlink(NOW, TOPICS["roster"], roster_at(8, shoppers=without)))
    assert "s-card" not in core.withdrawals  # the roster that omits it is newer: the tombstone goes
    core.decide(Downlink(NOW, TOPICS["roster"], roster_at(9)))  # opted in again later
    assert resolves(core)


@pytest.mark.parametrize(
    ("field", "value", "where"),
    [
        ("version", 2**63, "$.version"),
        ("version", 10**40, "$.version"),
        ("t0", 10**40, "t0"),
        ("t0", -1, "t0"),
    ],
)
def test_out_of_range_roster_numbers_are_rejected_by_the_schema(field: str, value: int, where: str) -> None:
    core = core_with_routes()
    body = json.loads(roster_at(6))
    if field == "version":
        body["version"] = value
    else:
        body["shoppers"][1]["ids"][0]["t0"] = value
    decision = core.decide(Downlink(NOW, TOPICS["roster"], json.dumps(body).encode()))
    assert decision.reason == "invalid"
    assert decision.rejected is not None
    assert where in decision.rejected
    assert resolves(core)


def test_an_eid_t0_of_1e309_is_rejected() -> None:
    core = core_with_routes()
    text = roster_at(6).decode()
    text = re.sub(r'"t0": \d+', '"t0": 1e309', text)
    decision = core.decide(Downlink(NOW, TOPICS["roster"], text.encode()))
    assert decision.rejected is not None
    assert resolves(core)


# --- every trace line kind ------------------------------------------------------------------------

LINE_KINDS = ("ble", "shelf", "downlink", "header")


def hostile_line(kind: str, how: str, rng: random.Random) -> bytes:
    deep = b"[" * rng.choice((2000, 20_000)) + b"]" * 10
    base: dict[str, Any] = {
        "ble": {"t": 1, "kind": "ble", "scanner": "gw-1", "address": SECRET, "rssi": -60},
        "shelf": {"t": 1, "kind": "shelf", "shelf": "shelf-a3", "action": "pickup", "sku": SECRET},
        "downlink": {"t": 1, "kind": "downlink", "topic": "cdp/v1/store-1/roster", "payload": {"x": SECRET}},
        "header": {"kind": "header", "start": SECRET},
    }[kind]
    if how == "deep":
        return json.dumps(base).encode()[:-1] + b', "extra": ' + deep + b"}"
    if how == "deep_payload" and kind == "downlink":
        return b'{"t": 1, "kind": "downlink", "topic": "x", "payload": ' + b"[" * 20_000 + b"]" * 20_000 + b"}"
    if how == "range":
        base.update(t=1e309 if rng.random() < 0.5 else -1, rssi=10**30, tx_power=2**70)
        return json.dumps(base).replace("Infinity", "1e309").encode()
    if how == "type":
        base.update(t=SECRET, scanner=[SECRET], rssi={"v": SECRET}, action=SECRET)
        return json.dumps(base).encode()
    if how == "long":
        base.update(
            scanner=SECRET * 100, service_uuids=[SECRET] * 100, manufacturer_data={str(i): "00" for i in range(100)}
        )
        return json.dumps(base).encode()
    return json.dumps(base).encode()[: rng.randrange(1, 30)]  # truncated


@settings(max_examples=80, deadline=None)
@given(
    kind=st.sampled_from(LINE_KINDS),
    how=st.sampled_from(("deep", "deep_payload", "range", "type", "long", "truncated")),
    seed=st.integers(0, 2**16),
)
def test_every_bad_trace_line_is_file_and_line(kind: str, how: str, seed: int) -> None:
    line = hostile_line(kind, how, random.Random(seed))
    raw = header_line(START) + line + b"\n"
    reader = TraceReader(iter(raw.splitlines(keepends=True)), path="t.jsonl")
    message = ""
    try:
        list(reader)
    except TraceError as err:
        message = str(err)
    if message:
        assert message.startswith(("t.jsonl:2: ", "t.jsonl:1: "))
        assert SECRET not in message


def test_a_line_without_an_end_is_cut_not_read_whole(tmp_path: Any) -> None:
    from edge import trace

    path = tmp_path / "t.jsonl"
    with path.open("wb") as out:
        out.write(header_line(START))
        out.write(b'{"t": 1, "kind": "ble", "scanner": "' + b"x" * (trace.LINE_MAX_BYTES + 10))
    reader = TraceReader.open(path)
    try:
        with pytest.raises(TraceError, match=r"t.jsonl:2: the line is over"):
            list(reader)
    finally:
        reader.close()
