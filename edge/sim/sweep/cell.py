"""One sweep cell (a store, its radio, what shoppers carry and how they move) and one run of it.

:func:`simulate` plays ``minutes`` of a cell with ``shoppers`` rostered people, each making one
trip (arrivals spread over the first :data:`ARRIVAL_SHARE` of the run), and returns what every
engine is fed -- the resolved :class:`~edge.presence.Sighting` stream, time-ordered, each advert
as heard by every scanner in range -- with the ground truth beside it (each shopper's exact zone
visits and the span they are inside the building). Deterministic per (cell, seed): every shopper
has their own random streams, for the walk and for the radio.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from operator import attrgetter

from edge.presence import Sighting
from edge.sim.shoppers import Trip, seeded
from edge.sim.store import DEFAULT_START
from edge.sim.sweep.advertisers import VIA, Kind, Mix
from edge.sim.sweep.layouts import PHONE_HEIGHT_M, Layout
from edge.sim.sweep.radio import Radio
from edge.sim.sweep.shoppers import Walk, plan_trip, visits

ARRIVAL_SHARE = 0.6
"""Shoppers arrive uniformly within this share of the run: most finish their trip before it ends."""


@dataclass(frozen=True, slots=True)
class Cell:
    name: str
    axis: str
    """``base``, ``layout``, ``radio``, ``advertisers``, ``shoppers`` or ``hard`` (several at once)."""
    layout: Layout
    radio: Radio = field(default_factory=Radio)
    mix: Mix = field(default_factory=Mix)
    walk: Walk = field(default_factory=Walk)


@dataclass(frozen=True, slots=True)
class Shopper:
    token: str
    kind: Kind
    trip: Trip
    speed_m_s: float
    in_store: tuple[float, float]
    truth: list[tuple[str, float, float]]


@dataclass(slots=True)
class Run:
    cell: Cell
    seed: int
    start: float
    end: float
    shoppers: list[Shopper]
    sightings: list[Sighting]


def simulate(cell: Cell, seed: int, *, minutes: float = 10.0, shoppers: int = 20) -> Run:
    """See the module docstring."""
    start = DEFAULT_START
    end = start + minutes * 60.0
    layout, radio, mix = cell.layout, cell.radio, cell.mix
    people: list[Shopper] = []
    sightings: list[Sighting] = []
    arrivals = seeded("sweep", seed, "arrivals")
    for index in range(shoppers):
        token = f"s-{index:03d}-{arrivals.randbytes(3).hex()}"
        arrival = start + arrivals.uniform(0.0, ARRIVAL_SHARE * (end - start))
        planned = plan_trip(layout, cell.walk, seeded("sweep", seed, index, "walk"), arrival)
        kind = mix.of(index).kind
        shopper = Shopper(
            token, kind, planned.trip, planned.speed_m_s, (planned.entered, planned.left), visits(layout, planned.trip)
        )
        people.append(shopper)
        sightings += _adverts(layout, radio, mix, shopper, index, seed, end)
    sightings.sort(key=attrgetter("at"))
    return Run(cell, seed, start, end, people, sightings)


def _adverts(
    layout: Layout, radio: Radio, mix: Mix, shopper: Shopper, index: int, seed: int, end: float
) -> list[Sighting]:
    rng = seeded("sweep", seed, index, "radio")
    advertiser = mix.of(index)
    declared = rng.randint(*advertiser.declared_dbm)
    power = declared + rng.gauss(0.0, radio.calibration_sigma_db)
    errors = radio.errors()
    scanners = [(s.id, s.x, s.y, (s.height_m - PHONE_HEIGHT_M) ** 2, errors.get(s.id, 0.0)) for s in layout.scanners]
    trip = shopper.trip
    via = VIA[advertiser.kind]
    token = shopper.token
    interval = advertiser.interval_s
    found: list[Sighting] = []
    shadow_until, shadow_db = -math.inf, 0.0
    t = trip.start + rng.uniform(0.0, interval)
    stop = min(trip.end, end)
    inside, hear, declared_dbm = layout.inside, radio.hear, float(declared)
    legs, starts, leg, last = trip.legs, trip.starts, 0, len(trip.starts) - 1
    moved, still, x, y, outside = True, False, 0.0, 0.0, False
    while t < stop:
        while leg < last and starts[leg + 1] <= t:  # (trip.position(t), for a time that only grows)
            leg += 1
            moved = True
        if moved or not still:  # (a standing leg's Leg.at(t) is its start whatever t: placed once)
            if moved:
                piece, moved = legs[leg], False
                still = piece.a == piece.b or piece.t1 <= piece.t0
            x, y = piece.at(t)
            outside = not inside(x, y)
        body = shadow_db if t < shadow_until else 0.0
        for scanner, rssi in hear(rng, power, x, y, outside, body, scanners):
            found.append(Sighting(token, via, scanner, rssi, declared_dbm, t))
        step = interval + rng.uniform(0.0, 0.01)  # BLE's 0-10 ms advDelay
        if t >= shadow_until and rng.random() < radio.body_rate_hz * step:
            shadow_until = t + rng.uniform(*radio.body_s)
            shadow_db = rng.uniform(*radio.body_db)
        if advertiser.pause_rate_hz and rng.random() < advertiser.pause_rate_hz * step:
            step += rng.uniform(*advertiser.pause_s)
        t += step
    return found
