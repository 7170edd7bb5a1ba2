"""Hostile input on the store-local topics of several gateways (edge/peers/intake.py): what a peer,
or anything else that can publish on the store broker, sends never stops or bloats the gateway.

The CDP's topics have the router's checks (tests/test_hostile_*.py); these are the peers service's
own link: deep, huge, out-of-range and wrong-typed summaries, states and claims, retained ones that
every start reads again, and a flood past the inbox's bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge.app import Gateway
from edge.clock import ManualClock
from edge.config import from_mapping
from edge.peers import messages
from edge.peers.intake import INBOX_MAX_MESSAGES, SMALL_MESSAGE_MAX_BYTES, Intake
from edge.peers.summary import SUMMARY_MAX_BYTES, PeerSummaryError, decode
from edge.peers.topics import PeerTopics
from tests.helpers import FAR_FUTURE, roster_bytes
from tests.hostile_payloads import SECRET
from tests.mosquitto import Collector, Mosquitto
from tests.test_mqtt_sync import source, wait_until

PREFIX = "store-local/v1"
TOPICS = PeerTopics(PREFIX, "store-1", "gw-1")
PEER_OWNER = f"{PREFIX}/store-1/gw-2/owner/0123456789abcdef"
PEER_STATE = f"{PREFIX}/store-1/gw-2/state"
PEER_SIGHTINGS = f"{PREFIX}/store-1/gw-2/sightings"


def _deep(levels: int) -> bytes:
    return b'{"token": "%s", "x": %s}' % (SECRET.encode(), b"[" * levels + b"]" * levels)


def _intake() -> Intake:
    return Intake(TOPICS, frozenset({"gw-2"}), ManualClock(1_000.0))


def test_deep_and_huge_messages_are_refused_before_decoding_and_counted(caplog: pytest.LogCaptureFixture) -> None:
    intake = _intake()
    with caplog.at_level(logging.DEBUG):
        intake.take(PEER_OWNER, _deep(1_000))  # 2 kB: under the size limit, far over the depth limit
        intake.take(PEER_STATE, _deep(1_500))
        intake.take(PEER_SIGHTINGS, _deep(50_000))
        intake.take(PEER_STATE, b'{"gateway": "%s", "pad": "%s"}' % (SECRET.encode(), b"x" * SMALL_MESSAGE_MAX_BYTES))
        intake.take(PEER_SIGHTINGS, b"[" + b'"%s",' % SECRET.encode() * (SUMMARY_MAX_BYTES // 10) + b"0]")
        intake.take("store-local/v1/other-store/gw-2/state", _deep(100_000))  # not this store's: not read
    assert intake.health() == {"peers_rejected_too_deep": 3, "peers_rejected_too_large": 2}
    assert intake.waiting == 0
    assert SECRET not in caplog.text
    assert "0123456789abcdef" not in caplog.text  # a claim topic's token hash stays out of the log
    assert caplog.text.count("\n") == 5  # once per kind and reason (a minute): five pairs


async def test_the_inbox_is_bounded_and_a_flood_past_it_is_dropped_and_counted() -> None:
    intake = _intake()
    state = messages.state_payload("gw-2", "online")
    for _ in range(INBOX_MAX_MESSAGES + 500):
        intake.take(PEER_STATE, state)
    assert intake.waiting == INBOX_MAX_MESSAGES
    assert intake.health() == {"peers_rejected_inbox_full": 500}
    first = await intake.get()
    assert (first.gateway, first.kind, first.payload) == ("gw-2", "state", state)


_json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=20),
)
_json = st.recursive(
    _json_leaf,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


def _shaped(kind: str, value: Any, depth: int) -> bytes:
    """A message of ``kind``'s shape with one field replaced by ``value`` (any JSON), maybe buried deep."""
    if kind == "sightings":
        heard = [["tok", "ibeacon", None, [["s1", 3, -60, -61.5, 0.4]]]]
        body: dict[str, Any] = {"gateway": "gw-2", "slot": 7, "tokens": heard, "hands": [["tok", "gw-1"]]}
        field = ("slot", "tokens", "gateway", "hands")[depth % 4]
    elif kind == "state":
        body = {"gateway": "gw-2", "state": "online"}
        field = ("gateway", "state")[depth % 2]
    else:
        body = {"token": "tok", "owner": "gw-2", "epoch": 3, "zone": "baby", "hand": None}
        field = ("token", "owner", "epoch", "zone", "hand")[depth % 5]
    text = json.dumps(body).encode()
    buried = json.dumps(value).encode()
    buried = b"[" * depth + buried + b"]" * depth
    return text.replace(json.dumps(body[field]).encode(), buried, 1)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(("sightings", "state", "owner")),
    value=_json,
    depth=st.sampled_from((0, 1, 3, 40, 3_000, 60_000)),
)
def test_any_message_is_refused_cleanly_or_decoded(kind: str, value: Any, depth: int) -> None:
    """What passes the intake's checks decodes or fails with the decoder's own error: never
    ``RecursionError`` or anything else a handler would not expect."""
    intake = _intake()
    topic = {"sightings": PEER_SIGHTINGS, "state": PEER_STATE, "owner": PEER_OWNER}[kind]
    payload = _shaped(kind, value, depth)
    intake.take(topic, payload)
    if intake.waiting == 0:
        assert set(intake.health()) <= {"peers_rejected_too_deep", "peers_rejected_too_large"}
        return
    if kind == "sightings":
        with contextlib.suppress(PeerSummaryError):
            decode(payload, peer="gw-2")
    else:
        decoder = messages.states if kind == "state" else messages.claims
        with contextlib.suppress(msgspec.DecodeError):
            decoder.decode(payload)


# --- through a real mosquitto into a running gateway ----------------------------------------------


def _config(tmp_path: Path, url: str) -> Any:
    return from_mapping(
        {
            "gateway": {"store": "store-1", "gateway": "gw-1", "state_dir": str(tmp_path / "state")},
            "ble": {"backend": "replay", "trace": "unused.jsonl"},
            "zones": [{"id": "baby", "scanners": ["gw-1"]}],
            "mqtt": {"url": url, "reconnect_initial_s": 0.05, "reconnect_max_s": 0.5},
            "store": {"peers": ["gw-2"]},
        }
    )


async def test_retained_poison_and_a_flood_on_peer_topics_leave_the_gateway_working(
    mosquitto_server: Mosquitto, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A retained 1,500-level claim and state (read again at every start: before, ``edge run``
    ended with "service peers failed" each time), deep and huge summaries and a flood of states:
    the gateway goes on, counts each, and still hears its peer."""
    cdp = Collector(mosquitto_server, ("edge/v1/store-1/#",))
    try:
        cdp.publish("cdp/v1/store-1/roster", roster_bytes(version=5, expires=FAR_FUTURE), retain=True)
        cdp.publish(PEER_OWNER, _deep(1_500), retain=True)
        cdp.publish(PEER_STATE, _deep(1_500), retain=True)
        with caplog.at_level(logging.INFO):
            async with Gateway(_config(tmp_path, mosquitto_server.url), source()) as gateway:
                peers = gateway.peers
                assert peers is not None
                await asyncio.wait_for(peers.connected.wait(), 20.0)
                counts = peers.intake.rejections.counts
                await wait_until(lambda: counts.get("too_deep", 0) >= 2, within_s=20.0)
                cdp.publish(PEER_SIGHTINGS, _deep(60_000))
                cdp.publish(PEER_SIGHTINGS, b'{"gateway": "gw-2", "pad": "' + b"x" * (SUMMARY_MAX_BYTES + 1) + b'"}')
                flood = messages.state_payload("gw-2", "offline")
                for _ in range(2_000):
                    cdp.client.publish(PEER_STATE, flood, qos=0)
                await wait_until(
                    lambda: counts.get("too_deep", 0) >= 3 and counts.get("too_large", 0) >= 1, within_s=20.0
                )
                # Out of range: decoded, refused by the type, counted (an epoch past 2^53, a slot past 2^40).
                cdp.publish(PEER_OWNER, b'{"token": "%s", "owner": "gw-2", "epoch": %d}' % (SECRET.encode(), 2**60))
                cdp.publish(PEER_SIGHTINGS, b'{"gateway": "gw-2", "slot": %d, "tokens": []}' % 2**62)
                # A claim naming, as the CDP's last speaker, no gateway of the store (it would reach the CDP as a
                # hand-off's from_gateway): refused, counted.
                stranger = b'{"token": "%s", "owner": "gw-2", "epoch": 1, "said_by": "gw-9"}' % SECRET.encode()
                cdp.publish(PEER_OWNER, stranger)
                await wait_until(lambda: counts.get("invalid", 0) >= 3, within_s=20.0)
                # A handler that raises (a bug no check foresaw) is counted; the service goes on.
                handle = peers._on_state

                def broken(peer: str, payload: bytes) -> None:
                    raise KeyError(SECRET)

                peers._on_state = broken  # type: ignore[method-assign]
                cdp.publish(PEER_STATE, messages.state_payload("gw-2", "online"))
                await wait_until(lambda: counts.get("handler_error", 0) >= 1, within_s=20.0)
                peers._on_state = handle  # type: ignore[method-assign]
                # Still reading: the peer's "online" state is heard after all of that.
                cdp.publish(PEER_STATE, messages.state_payload("gw-2", "online"))
                await wait_until(lambda: "gw-2" in peers.alive, within_s=20.0)
                health = peers.health()
                assert health["peers_rejected_too_deep"] >= 3
                assert health["peers_rejected_too_large"] >= 1
                assert health["peers_rejected_invalid"] >= 3
                assert health["peers_summaries_rejected"] >= 1
    finally:
        for topic in (PEER_OWNER, PEER_STATE, "cdp/v1/store-1/roster"):
            cdp.publish(topic, b"", retain=True)
        cdp.close()
    assert SECRET not in caplog.text
    assert "service peers failed" not in caplog.text
