"""The simulated store: a deterministic, endless stream of pipeline items with ground truth.

``SimulatedStore(seed)`` puts rostered shoppers (the retailer's app broadcasting Eddystone-EID, or
an iBeacon loyalty card) and several times as many other people (phones with random, rotating
addresses and random manufacturer data, which must resolve to nobody) into the floor plan of
:mod:`edge.sim.plan`. :meth:`~SimulatedStore.items` yields, in time order and lazily: the roster
downlink at t = 0 (re-issued every :data:`ROSTER_REISSUE_S`), every advert as heard by every scanner
in range (:mod:`edge.sim.radio`), shelf pickups and putbacks, and one consent withdrawal for one
shopper :data:`WITHDRAW_AT_S` after the start. :meth:`~SimulatedStore.truth` says which zone a
rostered shopper really is in (see :mod:`edge.sim.plan` for what that means). ``opening=True``
(``edge demo``): the first minute follows the script of :mod:`edge.sim.opening`.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from edge.beacons.advert import RUUVI_COMPANY_ID, Advertisement
from edge.config import (
    Config,
    Engine,
    GatewayConfig,
    MotionTagConfig,
    PresenceConfig,
    ScannerConfig,
    ScreenConfig,
    ShelfConfig,
    ZoneConfig,
)
from edge.floor import FloorArea, FloorConfig, FloorDoor
from edge.inputs import Downlink, Item, ShelfReading
from edge.sim import catalogue
from edge.sim import opening as opening_script
from edge.sim import plan as floor
from edge.sim.plan import DEFAULT_PLAN, FloorPlan
from edge.sim.radio import EID_K, LOYALTY_UUID, Device, Kind
from edge.sim.shoppers import Person, Trip, seeded, visits
from edge.sim.tags import MOTION_TAGS, STRAY_TAG, TETHER_RETURN_S, TagRadio
from edge.topics import Topics
from edge.trace import format_time, header_line, item_line, parse_start

__all__ = ["DEFAULT_START", "Engine", "SimulatedStore", "default_config"]


DEFAULT_START = parse_start("2026-11-23T10:00:00Z")
"""Wall-clock time of t = 0 unless told otherwise: a Monday morning."""

ANONYMOUS_PER_SHOPPER = 3
"""People without the app or a card per rostered shopper: most shoppers never opt in."""

CARD_EVERY = 4
"""Every fourth rostered shopper (i % 4 == 3) carries an iBeacon loyalty card, the others the
retailer's app: most programmes have moved to the app, cards remain for the rest."""

WITHDRAW_AT_S = 90.0
"""When shopper 0 (in the store from the first seconds) withdraws consent."""

ROSTER_REISSUE_S = 12 * 3600.0
"""The CDP re-issues the roster twice a day, well before each one expires (after a day)."""

ROSTER_VALIDITY_S = 24 * 3600.0
"""A roster's expires_at is its issued_at plus one day."""

_SEGMENTS = ("families", "wine-lovers", "vegan", "students", "seniors", "bargain-hunters")
_LANGUAGES = ("de", "en", "fr", "tr")
_ROSTER, _WITHDRAW, _SHELF, _ADVERT, _TAG, _TAG_LIFT = 0, 1, 2, 3, 4, 5
_OFFERS, _RULES = 6, 7

MQTT_SHELVES = frozenset({"shelf-b1"})
"""Shelves whose controller publishes on ``edge/v1/{store}/shelf/{shelf}`` (the produce weighing
shelf): their readings come as messages on that topic, the others' as trace ``shelf`` lines.
Articles with a motion tag (:mod:`edge.sim.tags`) are seen by their tag only."""


def default_config(engine: Engine | None = None) -> Config:
    """The embedded demo config: gateway store-1/gw-1 and the zones, screens, shelves, scanner positions and
    floor of the plan; ``engine``: the presence engine (default: the config's default, ``threshold``)."""
    return plan_config(DEFAULT_PLAN, engine=engine)


def plan_config(plan: FloorPlan = DEFAULT_PLAN, *, engine: Engine | None = None) -> Config:
    """The demo gateway's config: store-1/gw-1, one zone per plan zone, its screens and shelves; where each
    scanner hangs (``[[scanners]]``, at the default height) and the plan's floor (``[floor]``: the walkable
    rectangles and the doors, :attr:`FloorPlan.walkable`), so every engine can run on it (``grid`` needs the
    floor). ``engine`` sets ``presence.engine``; None keeps the default."""
    zones = tuple(
        ZoneConfig(id=zone.id, scanners=tuple(scanner for scanner, _ in zone.scanners), tags=zone.tags)
        for zone in plan.zones
    )
    screens = tuple(ScreenConfig(id=zone.screen, zone=zone.id) for zone in plan.zones if zone.screen)
    shelves = tuple(
        ShelfConfig(id=shelf.id, zone=zone.id, skus=shelf.skus) for zone in plan.zones for shelf in zone.shelves
    )
    on_shelves = {shelf.id for shelf in shelves}
    motion_tags = tuple(
        MotionTagConfig(id=tag.id, mac=tag.mac, shelf=tag.shelf, sku=tag.sku)
        for tag in MOTION_TAGS  # the configured ones; the stray sensor is left out on purpose
        if tag.shelf in on_shelves and tag.sku is not None
    )
    scanners = tuple(ScannerConfig(id=scanner, x_m=x, y_m=y) for scanner, (x, y) in plan.scanners)
    floor_plan = FloorConfig(
        area=tuple(FloorArea(rect_m=rect) for rect in plan.walkable),
        door=tuple(FloorDoor(at_m=door) for door in plan.doors),
    )
    return Config(
        gateway=GatewayConfig(store="store-1", gateway="gw-1", language="de", timezone="Europe/Berlin"),
        presence=PresenceConfig() if engine is None else PresenceConfig(engine=engine),
        zones=zones,
        scanners=scanners,
        floor=floor_plan,
        screens=screens,
        shelves=shelves,
        motion_tags=motion_tags,
    )


@dataclass(frozen=True, slots=True)
class SimShopper:
    """One rostered shopper: pseudonymous token, what they carry, and where they go."""

    index: int
    token: str
    kind: Kind
    person: Person


class SimulatedStore:
    """See the module docstring. ``shoppers`` is the number of rostered people; ``engine`` the presence engine
    of :attr:`config` (default: the config's default)."""

    def __init__(
        self,
        seed: int = 0,
        *,
        shoppers: int = 40,
        anonymous: int | None = None,
        start: float = DEFAULT_START,
        plan: FloorPlan = DEFAULT_PLAN,
        opening: bool = False,
        engine: Engine | None = None,
    ) -> None:
        if shoppers < 1:
            raise ValueError("the simulation needs at least one rostered shopper")
        if opening and (shoppers < opening_script.SCRIPTED or plan is not DEFAULT_PLAN):
            raise ValueError(f"the scripted opening needs the default plan and {opening_script.SCRIPTED} shoppers")
        self.seed = seed
        self.opening = opening
        self.start = start
        self.plan = plan
        self.config = plan_config(plan, engine=engine)
        rng = seeded(seed, "arrivals")
        tokens: set[str] = set()
        self.shoppers: list[SimShopper] = []
        for index in range(shoppers):
            token = f"s-{rng.randbytes(4).hex()}"
            while token in tokens or (opening and index == 0 and opening_script.held_out(token)):
                token = f"s-{rng.randbytes(4).hex()}"
            tokens.add(token)
            kind: Kind = "ibeacon" if index % CARD_EVERY == CARD_EVERY - 1 else "eid"
            first = start + (2.0 if index == 0 else rng.uniform(0.0, 600.0))
            if opening:
                first += opening_script.OPENING_S
            person = Person(plan, seed, index, kind, first_arrival=first)
            if opening and index < opening_script.SCRIPTED:
                person.begin_with(opening_script.scripted_trip(index, start))
            self.shoppers.append(SimShopper(index, token, kind, person))
        count = ANONYMOUS_PER_SHOPPER * shoppers if anonymous is None else anonymous
        self.anonymous = [
            Person(plan, seed, index, "anonymous", first_arrival=start + rng.uniform(0.0, 600.0))
            for index in range(count)
        ]
        self._by_token = {shopper.token: shopper for shopper in self.shoppers}
        scripted = opening_script.WITHDRAWING if opening else 0
        self.withdrawn_token = self.shoppers[scripted].token
        self.withdraw_at = start + (opening_script.WITHDRAW_AT_S if opening else WITHDRAW_AT_S)

    # --- the roster -------------------------------------------------------------------------

    def roster_payload(self, issued_at: float | None = None, *, version: int = 1) -> bytes:
        """The consent roster (JSON, as docs/mqtt.md describes) listing every rostered shopper."""
        issued = self.start if issued_at is None else issued_at
        entries: list[dict[str, Any]] = []
        for shopper in self.shoppers:
            profile = seeded(self.seed, shopper.index, "profile")
            if shopper.kind == "eid":
                device = Device(self.seed, shopper.index, "eid", self.start)
                ident: dict[str, Any] = {
                    "type": "eddystone-eid",
                    "tk": device.tk.hex(),
                    "k": EID_K,
                    "t0": device.t0,
                }
            else:
                ident = {"type": "ibeacon", "uuid": str(LOYALTY_UUID), "major": 1, "minor": shopper.index + 1}
            scopes = ["presence", "personalization", "shelf"] if profile.random() < 0.8 else ["presence"]
            skus = [sku for zone in self.plan.zones for shelf in zone.shelves for sku in shelf.skus]
            entry: dict[str, Any] = {
                "token": shopper.token,
                "scopes": scopes,
                "ids": [ident],
                "segments": profile.sample(_SEGMENTS, profile.randint(0, 2)),
                "recent_purchases": profile.sample(skus, profile.randint(0, 3)),
                "prefs": {"large_text": profile.random() < 0.15, "language": profile.choice(_LANGUAGES)},
            }
            if self.opening and shopper.index < opening_script.SCRIPTED:
                scopes, segments, prefs = opening_script.scripted_profile(shopper.index)
                entry.update(scopes=scopes, segments=segments, recent_purchases=[], prefs=prefs)
            entries.append(entry)
        return msgspec.json.encode(
            {
                "version": version,
                "issued_at": format_time(issued),
                "expires_at": format_time(issued + ROSTER_VALIDITY_S),
                "shoppers": entries,
            }
        )

    def offers_payload(self) -> bytes:
        """The offer catalogue (:mod:`edge.sim.catalogue`); shoppers 1 and 2 get a personal coupon."""
        return catalogue.offers_payload(self.start, [s.token for s in self.shoppers[1:3]])

    # --- the stream -------------------------------------------------------------------------

    def items(self) -> Iterator[Item]:
        """Every item of the simulation in time order, forever (see the module docstring)."""
        topics = Topics(self.config.gateway.store, self.config.gateway.gateway)
        channel = seeded(self.seed, "channel")
        scanners = self.plan.scanners
        inside = floor.inside_building
        hypot = math.hypot
        people = [shopper.person for shopper in self.shoppers] + self.anonymous
        devices = [Device(self.seed, s.index, s.kind, self.start) for s in self.shoppers]
        devices += [Device(self.seed, i, "anonymous", self.start) for i in range(len(self.anonymous))]
        trips: list[Trip] = [person.trip_from(self.start) for person in people]
        heap: list[tuple[float, int, int, Any]] = []
        seq = itertools.count()
        heapq.heappush(heap, (self.start, next(seq), _ROSTER, 1))
        withdraw = msgspec.json.encode({"token": self.withdrawn_token})
        heapq.heappush(heap, (self.withdraw_at, next(seq), _WITHDRAW, withdraw))
        # The offer catalogue and the rules (retained topics) right after the roster. Pushed after
        # the roster and withdrawal, so every later entry keeps its relative order: same adverts.
        heapq.heappush(heap, (self.start, next(seq), _OFFERS, None))
        heapq.heappush(heap, (self.start, next(seq), _RULES, None))

        radios = [TagRadio(self.seed, tag) for tag in (*MOTION_TAGS, STRAY_TAG)]
        tagged = {(r.tag.shelf, r.tag.sku): i for i, r in enumerate(radios) if r.tag.shelf is not None}
        for i, radio in enumerate(radios):
            heapq.heappush(heap, (radio.next_advert(self.start), next(seq), _TAG, i))

        def begin(index: int, trip: Trip) -> None:
            first = trip.start + channel.uniform(0.0, devices[index].interval_s)
            heapq.heappush(heap, (first, next(seq), _ADVERT, index))
            for act in trip.shelf_acts:
                tag = tagged.get((act.shelf, act.sku))
                if tag is not None:
                    if act.action == "pickup":
                        back = min(
                            [act.at + TETHER_RETURN_S]
                            + [
                                a.at
                                for a in trip.shelf_acts
                                if a.at > act.at and a.action == "putback" and (a.shelf, a.sku) == (act.shelf, act.sku)
                            ]
                        )
                        heapq.heappush(heap, (act.at, next(seq), _TAG_LIFT, (tag, back)))
                    continue
                item: Item
                if act.shelf in MQTT_SHELVES:
                    body = msgspec.json.encode({"action": act.action, "sku": act.sku})
                    item = Downlink(act.at, topics.shelf(act.shelf), body)
                else:
                    item = ShelfReading(act.at, act.shelf, act.action, act.sku)  # type: ignore[arg-type]
                heapq.heappush(heap, (act.at, next(seq), _SHELF, item))

        for index, trip in enumerate(trips):
            begin(index, trip)
        while True:
            at, _, what, ref = heapq.heappop(heap)
            if what == _ADVERT:
                trip = trips[ref]
                if at >= trip.end:
                    trips[ref] = trip = people[ref].trip_from(at)
                    begin(ref, trip)
                    continue
                x, y = trip.position(at)
                device = devices[ref]
                device.refresh(at)
                outside = not inside(x, y)
                for scanner, (sx, sy) in scanners:
                    rssi = device.heard(channel, at, hypot(x - sx, y - sy), outside)
                    if rssi is not None:
                        yield Advertisement(
                            at, scanner, device.address, rssi,
                            manufacturer_data=device.manufacturer, service_data=device.service,
                        )  # fmt: skip
                heapq.heappush(heap, (device.next_advert(channel, at), next(seq), _ADVERT, ref))
            elif what == _SHELF:
                yield ref
            elif what == _TAG:
                radio = radios[ref]
                payload = {RUUVI_COMPANY_ID: radio.payload(at)}
                for scanner, position in scanners:
                    rssi = radio.heard(position)
                    if rssi is not None:
                        yield Advertisement(at, scanner, radio.tag.mac, rssi, manufacturer_data=payload)
                heapq.heappush(heap, (radio.next_advert(at), next(seq), _TAG, ref))
            elif what == _TAG_LIFT:
                radios[ref[0]].lift(at, ref[1])
            elif what == _ROSTER:
                issued = self.start + (ref - 1) * ROSTER_REISSUE_S
                yield Downlink(at, topics.roster, self.roster_payload(issued, version=ref))
                heapq.heappush(heap, (at + ROSTER_REISSUE_S, next(seq), _ROSTER, ref + 1))
            elif what == _OFFERS:
                yield Downlink(at, topics.offers, self.offers_payload())
            elif what == _RULES:
                yield Downlink(at, topics.rules, catalogue.rules_payload(self.start))
            else:
                yield Downlink(at, topics.withdraw, ref)

    # --- ground truth -----------------------------------------------------------------------

    def _person(self, token: str) -> Person:
        shopper = self._by_token.get(token)
        if shopper is None:
            raise KeyError(f"{token!r} is not a rostered shopper of this simulation")
        return shopper.person

    def truth(self, token: str, at: float) -> str | None:
        """The zone the rostered shopper ``token`` really is in at ``at`` (Unix seconds), or None."""
        position = self._person(token).position(at)
        return None if position is None else self.plan.zone_at(*position)

    def trips(self, token: str, until: float) -> list[Trip]:
        """The shopper's trips that start before ``until``."""
        person = self._person(token)
        person.trip_from(until)
        return [trip for trip in person.trips if trip.start < until]

    def visits(self, token: str, until: float) -> list[tuple[str, float, float]]:
        """Exact ground-truth zone visits (zone, entered, left) of trips starting before ``until``."""
        return [visit for trip in self.trips(token, until) for visit in visits(self.plan, trip)]

    # --- traces -----------------------------------------------------------------------------

    def write_trace(self, path: Path, seconds: float) -> int:
        """Write the first ``seconds`` of the simulation as a trace file; returns the item count."""
        end = self.start + seconds
        count = 0
        with path.open("wb") as out:
            out.write(header_line(self.start))
            for item in self.items():
                if item.at > end:
                    break
                out.write(item_line(item, self.start))
                count += 1
        return count
