"""Privacy invariants as properties: nothing derived from an unrostered device is emitted, stored or
logged; MAC addresses never leave the process; withdrawal and expiry take effect at once."""

from __future__ import annotations

import asyncio
import json
import logging
import tempfile
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge import app
from edge.beacons.advert import APPLE_COMPANY_ID, EDDYSTONE_UUID, Advertisement
from edge.beacons.build import eddystone_eid_payload, eddystone_uid_payload, ibeacon_payload
from edge.beacons.replay import ItemsSource
from edge.config import from_mapping
from edge.events import Event
from edge.inputs import Downlink, Item, ShelfReading
from edge.outbox import OUTBOX_FILE
from tests.helpers import START, app_advert, card_advert, roster_bytes, uid_advert

CONFIG = from_mapping(
    {
        "zones": [
            {"id": "baby", "scanners": ["gw-1"], "tags": ["baby"]},
            {"id": "drinks", "scanners": ["gw-2"], "tags": ["alcohol"]},
        ],
        "shelves": [{"id": "shelf-a3", "zone": "baby"}],
        "presence": {"health_interval_s": 5.0},
    }
)
ROSTER_TOKENS = {"s-card", "s-app", "s-uid"}
ROSTER_TOPIC = "cdp/v1/store-1/roster"


def macs() -> st.SearchStrategy[str]:
    return st.binary(min_size=6, max_size=6).map(lambda b: ":".join(f"{x:02X}" for x in b))


@st.composite
def stranger(draw: st.DrawFn, at: float) -> Advertisement:
    """A device that is not on the roster: valid beacon frames with other ids, or random payloads."""
    kind = draw(st.sampled_from(["ibeacon", "eid", "uid", "random"]))
    rssi = draw(st.integers(-100, -30))
    scanner = draw(st.sampled_from(["gw-1", "gw-2", "gw-9"]))
    address = draw(macs())
    if kind == "ibeacon":
        payload = ibeacon_payload(uuid.UUID(bytes=draw(st.binary(min_size=16, max_size=16))), 1, 2, -59)
        return Advertisement(at, scanner, address, rssi, manufacturer_data={APPLE_COMPANY_ID: payload})
    if kind == "eid":
        payload = eddystone_eid_payload(draw(st.binary(min_size=8, max_size=8)), -20)
        return Advertisement(at, scanner, address, rssi, service_data={EDDYSTONE_UUID: payload})
    if kind == "uid":
        payload = eddystone_uid_payload(draw(st.binary(min_size=10, max_size=10)), b"\x00" * 6, -20)
        return Advertisement(at, scanner, address, rssi, service_data={EDDYSTONE_UUID: payload})
    return Advertisement(
        at,
        scanner,
        address,
        rssi,
        local_name=draw(st.none() | st.text(max_size=8)),
        manufacturer_data=draw(st.dictionaries(st.integers(0, 0xFFFF), st.binary(max_size=30), max_size=2)),
        service_data=draw(st.dictionaries(st.just(EDDYSTONE_UUID), st.binary(max_size=20), max_size=1)),
    )


@st.composite
def traces(draw: st.DrawFn) -> list[Item]:
    items: list[Item] = [Downlink(START, ROSTER_TOPIC, roster_bytes())]
    at = START
    for _ in range(draw(st.integers(10, 120))):
        at += draw(st.floats(0.0, 3.0))
        choice = draw(st.integers(0, 9))
        if choice < 5:
            items.append(draw(stranger(at)))
        elif choice < 8:
            make = draw(st.sampled_from([card_advert, app_advert, uid_advert]))
            items.append(make(at, draw(st.integers(-95, -40)), draw(st.sampled_from(["gw-1", "gw-2"]))))
        elif choice == 8:
            items.append(ShelfReading(at, "shelf-a3", draw(st.sampled_from(["pickup", "putback", "touch"])), "1"))
        else:
            items.append(Downlink(at, "cdp/v1/store-1/consent/withdraw", b'{"token": "s-uid"}'))
    return items


def run_trace(items: list[Item], state: Path) -> list[Event]:
    out: list[Event] = []
    source = ItemsSource(iter(items), start=START, speed=None)
    asyncio.run(app.run(CONFIG, source, sinks=[out.append], fast=True, state_dir=state))
    return out


def secrets_of(item: Item) -> list[str]:
    """Strings derived from a stranger that must appear nowhere."""
    assert isinstance(item, Advertisement)
    found = [item.address, item.address.lower(), item.address.replace(":", "").lower()]
    found += [p.hex() for p in item.manufacturer_data.values() if len(p) >= 4]
    found += [p.hex() for p in item.service_data.values() if len(p) >= 4]
    return found


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(items=traces())
def test_nothing_about_an_unrostered_device_is_emitted_stored_or_logged(
    items: list[Item], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.clear()
    with caplog.at_level(logging.DEBUG), tempfile.TemporaryDirectory() as state:
        events = run_trace(items, Path(state))
        stored = b""
        for path in Path(state).iterdir():
            stored += path.read_bytes()
    source = "urn:edge:store-1:gw-1"
    emitted = "\n".join(e.to_json(source).decode() for e in events)
    logged = caplog.text
    for event in events:
        token = event.data.get("token")
        assert token is None or token in ROSTER_TOKENS
        assert event.subject not in ROSTER_TOKENS, "subject is a zone, shelf or screen, never a person"
    rostered_addresses = {card_advert(START).address, app_advert(START).address, uid_advert(START).address}
    strangers = [i for i in items if isinstance(i, Advertisement) and i.address not in rostered_addresses]
    for item in items:
        if not isinstance(item, Advertisement):
            continue
        # No address at all, rostered or not, leaves the process.
        for text in (item.address, item.address.replace(":", "")):
            assert text not in emitted
            assert text.encode() not in stored
            assert text not in logged
    for item in strangers:
        for secret in secrets_of(item)[3:]:
            assert secret not in emitted
            assert secret.encode() not in stored
            assert secret not in logged


def test_withdrawal_stops_events_and_purges_rows(tmp_path: Path) -> None:
    items: list[Item] = [Downlink(START, ROSTER_TOPIC, roster_bytes())]
    items += [app_advert(START + i * 0.25, -50) for i in range(1, 40)]
    items += [card_advert(START + i * 0.25, -50) for i in range(1, 40)]
    items.sort(key=lambda i: i.at)
    withdraw_at = START + 10.05
    items.append(Downlink(withdraw_at, "cdp/v1/store-1/consent/withdraw", b'{"token": "s-app"}'))
    items += [app_advert(withdraw_at + i * 0.25, -50) for i in range(1, 80)]
    events = run_trace(items, tmp_path)
    after = [e for e in events if e.time >= withdraw_at and e.data.get("token") == "s-app"]
    acks = [e for e in events if e.type == "edge.consent.withdrawn"]
    assert [e.type for e in after] == ["edge.consent.withdrawn"]
    assert acks[0].data == {"token": "s-app", "purged_rows": 1}  # its entered event
    raw = (tmp_path / OUTBOX_FILE).read_bytes()
    rows = raw.count(b'"token":"s-app"')
    assert rows <= 1, "only the acknowledgement may still name the token"
    assert any(e.data.get("token") == "s-card" for e in events if e.type == "edge.presence.entered")


def test_a_roster_without_a_token_withdraws_it(tmp_path: Path) -> None:
    smaller = json.loads(roster_bytes())
    smaller["shoppers"] = [s for s in smaller["shoppers"] if s["token"] != "s-card"]
    smaller["version"] = 2
    items: list[Item] = [Downlink(START, ROSTER_TOPIC, roster_bytes())]
    items += [card_advert(START + i * 0.25, -50) for i in range(1, 20)]
    items.append(Downlink(START + 5.1, ROSTER_TOPIC, json.dumps(smaller).encode()))
    items += [card_advert(START + 5.1 + i * 0.25, -50) for i in range(1, 20)]
    events = run_trace(items, tmp_path)
    card = [e for e in events if e.data.get("token") == "s-card"]
    assert [e.type for e in card] == ["edge.consent.withdrawn"]


def test_an_expired_roster_resolves_nobody_end_to_end(tmp_path: Path) -> None:
    items: list[Item] = [Downlink(START, ROSTER_TOPIC, roster_bytes(expires=START + 1))]
    items += [card_advert(START + 1 + i * 0.25, -45) for i in range(40)]
    events = run_trace(items, tmp_path)
    assert [e for e in events if e.type.startswith("edge.presence")] == []


def test_a_bad_roster_keeps_the_last_good_one(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    items: list[Item] = [Downlink(START, ROSTER_TOPIC, roster_bytes()), Downlink(START + 0.1, ROSTER_TOPIC, b"{bad")]
    items += [card_advert(START + 1 + i * 0.25, -45) for i in range(20)]
    with caplog.at_level(logging.ERROR):
        events = run_trace(items, tmp_path)
    assert any(e.type == "edge.presence.entered" for e in events)
    assert "cdp/v1/store-1/roster: roster rejected" in caplog.text
    health = [e for e in events if e.type == "edge.gateway.health"]
    assert health
    assert health[-1].data["downlinks_rejected"] == 1
