"""What presence engines take and give: a sighting, a peer's sightings, a presence event, an occupant.

Frozen values shared by every engine (:mod:`edge.presence`, :mod:`edge.presence_model`,
:mod:`edge.presence_grid`) and their callers; :mod:`edge.presence` re-exports them (its public names).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import msgspec

__all__ = ["Occupant", "PresenceEvent", "Sighting", "Sightings"]


class Sighting(msgspec.Struct, frozen=True, gc=False):
    """One advertisement resolved to an opted-in shopper, as heard by one scanner.

    A frozen msgspec Struct rather than a frozen dataclass: one is built per rostered advert, and a
    frozen dataclass's ``__init__`` sets each field through ``object.__setattr__`` (about 15 times
    the cost here). ``gc=False``: its fields are strings and numbers, which cannot form a cycle.
    """

    token: str
    via: str
    scanner: str
    rssi: int
    measured_power_1m_dbm: float | None
    at: float


@dataclass(frozen=True, slots=True)
class Sightings:
    """Sightings of another gateway's scanners (edge.peers), for the core's writer (``ports.deliver``)."""

    at: float
    items: tuple[Sighting, ...]


@dataclass(frozen=True, slots=True)
class PresenceEvent:
    """A presence change; ``rssi`` is smoothed, ``distance_m`` estimated from it, ``probability`` the posterior."""

    kind: Literal["entered", "dwell", "exited"]
    token: str
    zone: str
    at: float
    via: str
    rssi: float
    distance_m: float
    dwell_s: float
    probability: float | None = None
    """The model estimator's posterior of being in ``zone`` (None from the threshold engine)."""


@dataclass(frozen=True, slots=True)
class Occupant:
    """Who is in a zone now, since when, and how loud."""

    token: str
    zone: str
    since: float
    rssi: float
    distance_m: float
    via: str
