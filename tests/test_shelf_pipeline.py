"""Shelf interactions end to end: trace shelf lines, shelf-controller messages and motion tags in,
``edge.shelf.interaction`` events out (through ``edge replay`` and app.run), rejects counted,
unknown Ruuvi tags invisible, a withdrawal forgetting the shopper's recent interactions."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from edge import app
from edge.beacons.advert import RUUVI_COMPANY_ID, Advertisement
from edge.beacons.build import ruuvi_v5_payload
from edge.beacons.replay import ItemsSource
from edge.config import Config, load
from edge.events import Event
from edge.inputs import Downlink, Item, ShelfReading
from edge.outbox import OUTBOX_FILE
from edge.sim.store import SimulatedStore
from edge.sim.tags import STRAY_TAG
from tests.helpers import START, ble_line, card_advert, roster_bytes, write_trace

LAYOUT = Path(__file__).resolve().parent.parent / "hardware" / "layouts" / "example-store.toml"
ROSTER_TOPIC = "cdp/v1/store-1/roster"
TAG_MAC = "E1:7A:33:00:C2:01"  # tag-c2-wine in the layout: shelf-c2, sku 3263280102605
STRANGE_MAC = "C3:99:88:77:66:55"


@pytest.fixture(scope="module")
def layout() -> Config:
    return load(LAYOUT)


def tag(at: float, counter: int, seq: int, accel: tuple[int, int, int], mac: str = TAG_MAC) -> Advertisement:
    payload = ruuvi_v5_payload(acceleration_mg=accel, movement_counter=counter, sequence=seq, mac=mac)
    return Advertisement(at, "scn-drinks", mac, -66, manufacturer_data={RUUVI_COMPANY_ID: payload})


def scene() -> list[Item]:
    """s-card (shelf scope) stands in drinks; picks a wine tester (tag), a beer (controller, over
    MQTT), and a baby-shelf reading happens where nobody opted in is."""
    items: list[Item] = [Downlink(START, ROSTER_TOPIC, roster_bytes())]
    items += [card_advert(START + 0.5 * i, -52, scanner="scn-drinks") for i in range(1, 60)]
    items += [tag(START + 1.0 + i, 7, 100 + i, (3, -2, 1001)) for i in range(4)]
    items += [tag(START + 5.0 + i, 9 + i, 110 + i, (500, 120, 820)) for i in range(3)]  # pickup at 5
    items += [tag(START + 8.0 + i, 12, 120 + i, (1, 4, 998)) for i in range(6)]  # still from 9, settled at 13
    items += [tag(START + 2.0 + i, 40 + 3 * i, 200 + i, (700, 0, 300), STRANGE_MAC) for i in range(10)]
    topic = "edge/v1/store-1/shelf/shelf-c3"
    items.append(Downlink(START + 15.0, topic, b'{"action": "pickup", "sku": "4008287054207"}'))
    items.append(Downlink(START + 15.5, topic, b'{"action": "grab", "sku": "4008287054207"}'))  # rejected
    items.append(Downlink(START + 15.6, "edge/v1/store-1/shelf/shelf-zz", b'{"action": "touch", "sku": "1"}'))
    items.append(ShelfReading(START + 16.0, "shelf-a3", "pickup", "4006381333931"))
    items.append(ShelfReading(START + 16.5, "shelf-a3", "pickup", "9999999999999"))  # not on the shelf
    items.sort(key=lambda item: item.at)
    return items


def run(config: Config, items: list[Item], state: Path) -> tuple[list[Event], Any]:
    out: list[Event] = []
    core = app.build_core(config)
    asyncio.run(app.run(config, ItemsSource(iter(items), start=START, speed=None), sinks=[out.append], fast=True,
                        state_dir=state, core=core))  # fmt: skip
    return out, core


def test_readings_from_every_source_become_attributed_or_anonymous_events(
    layout: Config, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        events, core = run(layout, scene(), tmp_path)
    shelf = [(round(e.time - START, 1), e.subject, e.data) for e in events if e.type == "edge.shelf.interaction"]
    card = {"token": "s-card", "reason": "nearest"}
    nobody = {"token": None, "reason": "nobody-opted-in"}
    wine, beer, baby = "3263280102605", "4008287054207", "4006381333931"
    assert shelf == [
        (5.0, "shelf-c2", {"shelf": "shelf-c2", "zone": "drinks", "action": "pickup", "sku": wine} | card),
        (13.0, "shelf-c2", {"shelf": "shelf-c2", "zone": "drinks", "action": "putback", "sku": wine} | card),
        (15.0, "shelf-c3", {"shelf": "shelf-c3", "zone": "drinks", "action": "pickup", "sku": beer} | card),
        (16.0, "shelf-a3", {"shelf": "shelf-a3", "zone": "baby", "action": "pickup", "sku": baby} | nobody),
    ]  # fmt: skip
    c = core.counters
    assert (c.shelf_rejected, c.shelf_attributed, c.motion_adverts) == (3, 3, 13)
    assert "edge/v1/store-1/shelf/shelf-c3: action is not one of pickup, putback, touch" in caplog.text
    assert "grab" not in caplog.text  # the rejected value itself never reaches the log
    assert "edge/v1/store-1/shelf/shelf-a3: sku is not one of this shelf's skus" in caplog.text
    assert "9999999999999" not in caplog.text  # named by its field, not its value
    # The unknown Ruuvi tag was dropped like any stranger: no event, no log line, nothing stored.
    assert c.adverts_dropped == 10
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    for text in (STRANGE_MAC, STRANGE_MAC.replace(":", "").lower(), TAG_MAC, TAG_MAC.replace(":", "").lower()):
        assert text not in caplog.text
        assert text.encode() not in stored
        assert all(text not in e.to_json("x").decode() for e in events)
    assert [i.sku for i in core.recent_interactions("s-card")] == ["3263280102605"] * 2 + ["4008287054207"]
    assert core.shelf.recent.pickups("s-card") == ["4008287054207"]


def test_a_withdrawal_forgets_recent_interactions_and_purges_the_events(layout: Config, tmp_path: Path) -> None:
    items = [*scene(), Downlink(START + 20.0, "cdp/v1/store-1/consent/withdraw", b'{"token": "s-card"}')]
    items.append(ShelfReading(START + 20.5, "shelf-c3", "pickup", "4008287054207"))  # card still heard nearby
    items += [card_advert(START + 20.0 + 0.5 * i, -52, scanner="scn-drinks") for i in range(1, 4)]
    items.sort(key=lambda item: item.at)
    events, core = run(layout, items, tmp_path)
    assert core.recent_interactions("s-card") == []
    assert core.shelf.recent.pickups("s-card") == []
    ack = [e for e in events if e.type == "edge.consent.withdrawn"]
    assert ack[0].data["purged_rows"] >= 4  # entered + three attributed interactions
    last = [e for e in events if e.type == "edge.shelf.interaction"][-1]
    assert last.data["token"] is None
    stored = (tmp_path / OUTBOX_FILE).read_bytes()
    assert stored.count(b'"token":"s-card"') <= 1, "only the acknowledgement may still name the token"


def test_a_shopper_without_the_shelf_scope_is_never_attributed(layout: Config, tmp_path: Path) -> None:
    roster = json.loads(roster_bytes())
    roster["shoppers"][0]["scopes"] = ["presence", "personalization"]  # s-card without "shelf"
    items: list[Item] = [Downlink(START, ROSTER_TOPIC, json.dumps(roster).encode())]
    items += [card_advert(START + 0.5 * i, -50, scanner="scn-drinks") for i in range(1, 20)]
    items.append(ShelfReading(START + 8.0, "shelf-c3", "touch", "4008287054207"))
    events, core = run(layout, items, tmp_path)
    assert any(e.type == "edge.presence.entered" for e in events)
    (event,) = [e for e in events if e.type == "edge.shelf.interaction"]
    assert event.data["token"] is None
    assert event.data["reason"] == "nobody-opted-in"  # nobody with the scope: same as nobody at all
    assert core.recent_interactions("s-card") == []


def test_edge_replay_turns_shelf_lines_into_events(tmp_path: Path) -> None:
    lines: list[dict[str, Any]] = [
        {"t": 0.0, "kind": "downlink", "topic": ROSTER_TOPIC, "payload": json.loads(roster_bytes())}
    ]
    lines += [ble_line(0.5 * i, card_advert(START + 0.5 * i, -50, scanner="scn-baby")) for i in range(1, 20)]
    lines.append({"t": 3.0, "kind": "shelf", "shelf": "shelf-a3", "action": "pickup", "sku": "4006381333931"})
    lines.append({"t": 4.0, "kind": "downlink", "topic": "edge/v1/store-1/shelf/shelf-b1",
                  "payload": {"action": "pickup", "sku": "4011"}})  # fmt: skip
    lines.sort(key=lambda line: line["t"])
    trace = write_trace(tmp_path / "shelf.jsonl", lines)
    result = subprocess.run(
        [sys.executable, "-m", "edge", "replay", str(trace), "--config", str(LAYOUT)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    shelf = [e for e in events if e["type"] == "edge.shelf.interaction"]
    assert [(e["subject"], e["data"]["token"], e["data"]["reason"]) for e in shelf] == [
        ("shelf-a3", "s-card", "nearest"),
        ("shelf-b1", None, "nobody-opted-in"),
    ]
    assert shelf[0]["time"] == "2026-11-23T10:00:03.000Z"
    assert set(shelf[0]["data"]) == {"shelf", "zone", "action", "sku", "token", "reason"}


def test_the_simulated_store_shows_attributed_anonymous_and_tagged_interactions(tmp_path: Path) -> None:
    store = SimulatedStore(seed=0)
    end = store.start + 420
    items: list[Item] = []
    for item in store.items():
        if item.at > end:
            break
        items.append(item)
    out: list[Event] = []
    core = app.build_core(store.config)
    source = ItemsSource(iter(items), start=store.start, speed=None)
    asyncio.run(app.run(store.config, source, sinks=[out.append], fast=True, state_dir=tmp_path, core=core))
    shelf = [e for e in out if e.type == "edge.shelf.interaction"]
    reasons = Counter(e.data["reason"] for e in shelf)
    assert reasons["nearest"] > 0
    assert sum(reasons.values()) - reasons["nearest"] > 0
    tagged = {tag.sku for tag in store.config.motion_tags}
    assert {e.data["action"] for e in shelf if e.data["sku"] in tagged} == {"pickup", "putback"}
    assert any(e.subject == "shelf-b1" for e in shelf)  # the MQTT shelf
    assert core.counters.shelf_rejected == 0
    tokens = {s.token for s in store.shoppers}
    assert all(e.data["token"] in tokens | {None} for e in shelf)
    stray = STRAY_TAG.mac.replace(":", "").lower()
    assert all(stray not in e.to_json("x").decode().lower() for e in out)
