"""Simulated RuuviTag motion tags: tethered testers on two shelves, and one stray sensor.

A tagged article (a tester tethered to its shelf) is not seen by the shelf controller: when a
simulated shopper picks it up, the tag's movement counter runs and its acceleration leaves the
resting vector; when it is put back (a tether brings it back after :data:`TETHER_RETURN_S` if the
shopper walks off) it settles again. Now and then a resting tag is bumped: the counter moves but
the tag stays at rest (the gateway must not call that a pickup). The tags advertise data format 5
every :data:`ADVERT_INTERVAL_S`, heard by every scanner in range.

:data:`STRAY_TAG` is a Ruuvi temperature sensor in the drinks chiller that is *not* in the config:
the gateway must drop it like any unknown device.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from edge.beacons.build import ruuvi_v5_payload
from edge.sim.radio import HEARING_RANGE_M, MISS_PROBABILITY, PATH_LOSS_EXPONENT, SENSITIVITY_DBM, SHADOWING_SIGMA_DB

Point = tuple[float, float]

ADVERT_INTERVAL_S = 1.285
"""RuuviTag firmware's default advertising interval in data format 5."""
POWER_1M_DBM = -58.0
"""RSSI at 1 m of a RuuviTag at its default +4 dBm."""
TETHER_RETURN_S = 8.0
"""A tester the shopper did not put back is back on its shelf this long after the pickup."""
BUMP_PROBABILITY = 0.02
"""Chance per advert that a resting tag was bumped (counter + 1, still at rest)."""
REST_MG = (0, 0, 1000)
"""A tag lying flat on the shelf: 1 g on z."""
NOISE_MG = 12.0
"""The accelerometer's noise (standard deviation, per axis)."""


@dataclass(frozen=True, slots=True)
class SimTag:
    id: str
    mac: str
    shelf: str | None
    """None: not in the config (the stray sensor)."""
    sku: str | None
    position: Point


MOTION_TAGS = (
    SimTag("tag-a3-bottle", "E1:7A:33:00:A3:01", "shelf-a3", "4066447244320", (7.5, 21.0)),
    SimTag("tag-c2-wine", "E1:7A:33:00:C2:01", "shelf-c2", "3263280102605", (33.0, 21.5)),
)
"""Configured motion tags (in :func:`edge.sim.store.plan_config`)."""

STRAY_TAG = SimTag("chiller-sensor", "D5:11:0E:9F:00:17", None, None, (30.0, 22.0))


class TagRadio:
    """One tag's state and advertisements; its own random stream, so people's do not change."""

    def __init__(self, seed: int, tag: SimTag) -> None:
        self.tag = tag
        self.rng = random.Random(f"edge-sim:{seed}:tag:{tag.id}")  # noqa: S311 - a simulation
        self.counter = self.rng.randint(0, 254)
        self.sequence = self.rng.randint(0, 60_000)
        self.lifted_until = -math.inf
        self.lifted_from = math.inf

    def lift(self, at: float, until: float) -> None:
        """Picked up at ``at`` (now, in the stream), back at rest at ``until``."""
        if self.lifted_from <= at < self.lifted_until:
            self.lifted_until = max(self.lifted_until, until)
        else:
            self.lifted_from, self.lifted_until = at, until

    def payload(self, at: float) -> bytes:
        rng = self.rng
        lifted = self.lifted_from <= at < self.lifted_until
        if lifted:
            self.counter += rng.randint(2, 6)
            tilt = rng.uniform(0.4, 1.2)
            base = (math.sin(tilt) * 900, rng.uniform(-300, 300), math.cos(tilt) * 900)
        else:
            if rng.random() < BUMP_PROBABILITY:
                self.counter += 1
            base = (float(REST_MG[0]), float(REST_MG[1]), float(REST_MG[2]))
        self.counter %= 255
        self.sequence = (self.sequence + 1) % 65_535
        accel = (
            round(base[0] + rng.gauss(0, NOISE_MG)),
            round(base[1] + rng.gauss(0, NOISE_MG)),
            round(base[2] + rng.gauss(0, NOISE_MG)),
        )
        return ruuvi_v5_payload(
            temperature_c=rng.uniform(4.0, 6.0) if self.tag.shelf is None else rng.uniform(19.0, 22.0),
            humidity_pct=rng.uniform(35.0, 45.0),
            pressure_pa=101_325.0,
            acceleration_mg=accel,
            battery_mv=2_950.0,
            tx_power_dbm=4.0,
            movement_counter=self.counter,
            sequence=self.sequence,
            mac=self.tag.mac,
        )

    def heard(self, scanner: Point) -> int | None:
        distance = math.hypot(scanner[0] - self.tag.position[0], scanner[1] - self.tag.position[1])
        if distance > HEARING_RANGE_M or self.rng.random() < MISS_PROBABILITY:
            return None
        rssi = POWER_1M_DBM - 10.0 * PATH_LOSS_EXPONENT * math.log10(max(distance, 0.3))
        rssi += self.rng.gauss(0.0, SHADOWING_SIGMA_DB)
        return None if rssi < SENSITIVITY_DBM else round(rssi)

    def next_advert(self, at: float) -> float:
        return at + ADVERT_INTERVAL_S + self.rng.uniform(0.0, 0.01)
