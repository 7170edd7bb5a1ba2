"""The check-in route in the core: the presence form becomes app presence in the one writer, the camera
form goes to its route (edge.vision) untouched, refusals are counted once by reason."""

from __future__ import annotations

import base64
import json
import random
from typing import Any

import msgspec

from edge import events as ev
from edge.checkin.intake import APP_OCCUPANT_DISTANCE_M
from edge.config import Config, from_mapping
from edge.core import Core
from edge.events import EventFactory
from edge.inputs import Downlink
from edge.messages import Checkin, schema_of
from edge.roster import parse_roster
from edge.router import Route
from edge.timefmt import format_time
from tests.helpers import START, card_advert, roster_bytes
from tests.test_checkin_proof import MAJOR, STORE_UUID, public_key, sign

ADA = "s-ada"
SHOPPERS = [
    {"token": ADA, "scopes": ["presence", "personalization"], "ids": []},
    {"token": "s-card", "scopes": ["presence", "personalization"], "ids": []},
]


def config(**checkin: Any) -> Config:
    return from_mapping(
        {
            "gateway": {"store": "store-1", "gateway": "gw-1"},
            "zones": [{"id": "entrance", "scanners": ["gw-1"]}, {"id": "baby", "scanners": ["gw-2"]}],
            "advertise": {"uuid": str(STORE_UUID), "major": MAJOR, "minor": 1, "zone": "entrance"},
            "checkin": {"cdp_public_key": base64.b64encode(public_key()).decode(), **checkin},
        }
    )


def core(cfg: Config | None = None, *, expires: float = START + 86_400) -> Core:
    c = Core(cfg or config(), EventFactory("store-1", "gw-1", random.Random(1)))
    c.set_roster(parse_roster(roster_bytes(shoppers=SHOPPERS, expires=expires)), START)
    return c


def proof(at: float = START, *, event: str = "enter", nonce: str = "nonce-0001", **changes: Any) -> bytes:
    body: dict[str, Any] = {
        "token": ADA,
        "event": event,
        "region": {"uuid": str(STORE_UUID), "major": MAJOR, "minor": 1},
        "issued_at": format_time(at - 1),
        "expires_at": format_time(at + 299),
        "nonce": nonce,
    }
    body.update(changes)
    return json.dumps(sign(body)).encode()


def checkin(c: Core, payload: bytes, at: float = START) -> Any:
    return c.decide(Downlink(at, c.topics.checkin, payload))


def test_a_signed_check_in_is_app_presence_seen_by_signage_and_vision() -> None:
    c = core()
    decision = checkin(c, proof())
    assert decision.rejected is None
    (event,) = decision.events
    assert (event.type, event.token, event.data) == (
        ev.PRESENCE_ENTERED,
        ADA,
        {"token": ADA, "zone": "entrance", "via": "app"},
    )
    (occupant,) = c.occupants("entrance")
    assert (occupant.token, occupant.via, occupant.distance_m) == (ADA, "app", APP_OCCUPANT_DISTANCE_M)
    assert c.occupants("baby") == []
    assert c.zone_of(ADA) == "entrance"
    # exit ends it
    (gone,) = checkin(c, proof(START + 60, event="exit", nonce="nonce-0002"), START + 60).events
    assert (gone.type, gone.data["via"], gone.data["dwell_s"]) == (ev.PRESENCE_EXITED, "app", 60.0)
    assert c.occupants() == []
    assert c.zone_of(ADA) is None


def test_refusals_are_counted_once_by_reason_and_make_no_event() -> None:
    c = core()
    assert checkin(c, proof()).events
    cases = {
        "replayed": proof(),
        "expired": proof(START - 400, nonce="nonce-0003"),
        "foreign_store": proof(region={"uuid": str(STORE_UUID), "major": MAJOR + 1, "minor": 1}, nonce="nonce-0004"),
        "unsigned": json.dumps({k: v for k, v in json.loads(proof(nonce="nonce-0005")).items() if k != "sig"}).encode(),
        "malformed": b"{not json",
    }
    for reason, payload in cases.items():
        decision = checkin(c, payload)
        assert decision.events == [], reason
        assert decision.rejected is not None, reason
    health = c.health_event(START, {}).data
    for reason in cases:
        assert health[f"checkin_rejected_{reason}"] == 1, reason
    assert health["checkin_accepted"] == 1
    assert health["downlinks_rejected"] == len(cases)
    assert ADA not in json.dumps(health)


def test_the_camera_form_goes_to_its_route_and_the_presence_form_never_does() -> None:
    c = core()
    seen: list[bytes] = []

    def decode(payload: bytes) -> bytes:
        seen.append(payload)
        return payload

    c.router.register(Route(c.topics.checkin, decode, lambda _v, _at: [], owner="vision"))
    camera = json.dumps({"token": ADA, "screen": "screen-1"}).encode()
    assert checkin(c, camera).rejected is None
    assert checkin(c, proof()).events
    assert seen == [camera]
    assert c.app.health()["checkin_accepted"] == 1


def test_withdrawal_timeout_and_roster_expiry_end_app_presence_in_the_one_writer() -> None:
    c = core(config(presence_timeout_s=120.0))
    c.advance(START)
    checkin(c, proof())
    c.withdraw(ADA)  # the core's withdrawal: no event, nothing left
    assert c.occupants() == []
    assert c.advance(START + 5) == []
    # back on a newer roster, a check-in and then silence: the timeout ends it
    c.set_roster(parse_roster(roster_bytes(shoppers=SHOPPERS, version=2)), START + 6)
    checkin(c, proof(START + 6, nonce="nonce-0010"), START + 6)
    ended = [e for e in c.advance(START + 6 + 121) if e.type == ev.PRESENCE_EXITED]
    assert [(e.token, e.data["via"]) for e in ended] == [(ADA, "app")]
    # roster expiry ends every app presence at the next tick
    short = core(expires=START + 30)
    short.advance(START)
    checkin(short, proof())
    assert [e.type for e in short.advance(START + 31)] == [ev.PRESENCE_EXITED]


def test_ble_refines_an_app_presence_without_a_second_entered() -> None:
    shoppers = [
        {"token": "s-card", "scopes": ["presence", "personalization"], "ids": [
            {"type": "ibeacon", "uuid": "f7826da6-4fa2-4e98-8024-bc5b71e0893e", "major": 1, "minor": 2}]},
    ]  # fmt: skip
    c = core()
    c.set_roster(parse_roster(roster_bytes(shoppers=shoppers, version=3)), START)
    assert checkin(c, proof(token="s-card")).events
    found = [e for t in range(10) for e in c.on_advert(card_advert(START + 1 + t * 0.5, rssi=-50))]
    assert [e.type for e in found if e.type == ev.PRESENCE_ENTERED] == []
    assert c.zone_of("s-card") == "entrance"
    assert [o.via for o in c.occupants("entrance")] == ["ibeacon"]


def test_the_schema_keeps_the_camera_form_and_adds_the_presence_form() -> None:
    camera = msgspec.json.decode(json.dumps({"token": ADA, "screen": "screen-1"}), type=Checkin)
    presence = msgspec.json.decode(proof(), type=Checkin)
    assert (camera.screen, camera.event) == ("screen-1", None)
    assert (presence.screen, presence.event, presence.region and presence.region.major) == (None, "enter", MAJOR)
    forms = {f["title"]: set(f["required"]) for f in schema_of("checkin")["$defs"]["Checkin"]["anyOf"]}
    assert forms["camera"] == {"token", "screen"}
    assert forms["presence"] == {"token", "event", "region", "issued_at", "expires_at", "nonce", "sig"}


def test_a_counted_check_in_hands_its_redemption_code_to_the_listeners() -> None:
    cfg = config()
    c = core(cfg)
    shoppers = [*SHOPPERS, {"token": "s-nopresence", "scopes": ["personalization"], "ids": []}]
    c.set_roster(parse_roster(roster_bytes(shoppers=shoppers, version=2)), START)
    heard: list[tuple[str, str, float]] = []
    stop = c.app.listen_codes(lambda token, code, at: heard.append((token, code, at)))
    assert checkin(c, proof(nonce="nonce-0101")).events, "an older check-in without a code still counts"
    checkin(c, proof(START + 1, event="refresh", nonce="nonce-0102", code="oat25-7kq2xm"), START + 1)
    # not counted: no presence scope, not on the roster, refused: the code goes nowhere
    checkin(c, proof(START + 2, token="s-nopresence", nonce="nonce-0103", code="OAT25-7KQ2XM"), START + 2)
    checkin(c, proof(START + 2, token="s-stranger", nonce="nonce-0104", code="OAT25-7KQ2XM"), START + 2)
    checkin(c, proof(START + 3, event="refresh", nonce="nonce-0102", code="oat25-7kq2xm"), START + 3)  # replayed
    assert heard == [(ADA, "OAT25-7KQ2XM", START + 1)]
    stop()
    checkin(c, proof(START + 4, event="refresh", nonce="nonce-0105", code="OAT25-7KQ2XM"), START + 4)
    assert len(heard) == 1, "unsubscribed"
    assert c.app.health()["checkin_codes"] == 2
    assert "OAT25" not in json.dumps(c.health_event(START + 5, {}).data)


def test_the_schema_has_the_optional_code() -> None:
    presence = msgspec.json.decode(proof(code="OAT25-7KQ2XM"), type=Checkin)
    assert presence.code == "OAT25-7KQ2XM"
    prop = schema_of("checkin")["$defs"]["Checkin"]["properties"]["code"]
    assert {"pattern": "^[A-Za-z0-9-]{3,48}$", "type": "string"} in prop["anyOf"]
