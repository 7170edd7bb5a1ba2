"""The scripted opening of the simulated store: the first minute of ``edge demo`` shows every feature.

With ``SimulatedStore(seed, opening=True)`` the first three rostered shoppers follow a script (the
radio around them stays random, seeded), and the other rostered shoppers arrive only after
:data:`OPENING_S`, so nobody else reaches the baby zone's screen (``screen-1``) in the first minute:

- **Ada** (shopper 0, the app, every scope, segment ``families``): in the main aisle at the start,
  walks to the baby shelves (enters the zone after about 3 s, so her personalised offer is on
  screen within seconds), picks up a pack of nappies at :data:`ADA_PICKUP_S` (a shelf pickup
  attributed to her), leaves for the household aisle at :data:`ADA_LEAVES_S`, then the checkout.
- **Ben** (shopper 1, the app, ``presence`` scope only): comes along the aisle and stands at the baby
  shelves from about 30 s to 55 s: the screen shows him generic content
  (``generic:no-personalization-scope``).
- **Cem** (shopper 2, the app, every scope): comes in through the door at 20 s, stands at the
  entrance, and withdraws consent at :data:`WITHDRAW_AT_S` while there: the gateway forgets him.

Afterwards each of them shops at random like everybody else. Ada's token is drawn again (from the
same seeded stream) while it falls in a campaign's holdout group, so her offer is never withheld.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import msgspec

from edge.signage.rank import in_holdout
from edge.sim import catalogue
from edge.sim.plan import Point
from edge.sim.shoppers import Leg, ShelfAct, Trip

__all__ = [
    "ADA_LEAVES_S",
    "ADA_PICKUP_S",
    "OPENING_S",
    "SCRIPTED",
    "WITHDRAWING",
    "WITHDRAW_AT_S",
    "held_out",
    "scripted_profile",
    "scripted_trip",
]

OPENING_S = 30.0
"""Rostered shoppers other than the scripted ones arrive this long after the start at the
earliest: with the entrance's 20 s minimum dwell, none of them reaches the baby zone within the
first minute, so the script's screen story is not interrupted (anonymous phones arrive from the
start: they are invisible to the screen)."""

WITHDRAW_AT_S = 45.0
"""When Cem withdraws consent: within the first minute, while he stands at the entrance."""

ADA_PICKUP_S = 12.0
"""Ada picks up nappies at the baby shelf (shelf-a3) this long after the start."""

ADA_LEAVES_S = 22.0
"""Ada leaves the baby shelves: her exit frees the screen before Ben arrives."""

SCRIPT_SPEED_M_S = 1.1
"""Walking speed of the scripted shoppers (the middle of the random shoppers' range)."""

SCRIPTED = 3
"""Shoppers 0, 1, 2 follow the script."""

WITHDRAWING = 2
"""Cem, the shopper who withdraws consent."""

NAPPIES_SKU = "4006381333931"

# (where to walk to, how long to stand there: seconds, or minus the time to leave after the start)
_Path = Sequence[tuple[Point, float]]

_PATHS: dict[int, tuple[float, _Path]] = {
    # Ada: main aisle -> baby shelves -> aisle -> household -> aisle -> checkout -> out.
    0: (0.5, (((6.0, 14.5), 0.0), ((6.5, 19.0), -ADA_LEAVES_S), ((6.0, 12.0), 0.0), ((19.0, 12.0), 0.0),
              ((19.0, 19.0), 15.0), ((19.0, 12.0), 0.0), ((33.0, 12.0), 0.0), ((31.5, 4.5), 25.0),
              ((40.0, 4.0), 0.0), ((46.0, 4.0), 0.0))),
    # Ben: along the aisle -> baby shelves until 55 s -> aisle -> produce -> checkout -> out.
    1: (18.0, (((16.0, 12.0), 0.0), ((6.0, 12.0), 0.0), ((5.5, 19.5), -55.0), ((6.0, 12.0), 0.0),
               ((19.0, 12.0), 0.0), ((19.0, 5.0), 20.0), ((19.0, 12.0), 0.0), ((33.0, 12.0), 0.0),
               ((35.0, 4.5), 25.0), ((40.0, 4.0), 0.0), ((46.0, 4.0), 0.0))),
    # Cem: outside -> door -> entrance until 60 s -> aisle -> drinks -> checkout -> out.
    2: (20.0, (((-6.0, 4.0), 0.0), ((0.0, 4.0), 0.0), ((5.0, 4.5), -60.0), ((5.0, 12.0), 0.0),
               ((32.0, 12.0), 0.0), ((32.0, 19.0), 20.0), ((32.0, 12.0), 0.0), ((33.0, 12.0), 0.0),
               ((31.0, 4.5), 25.0), ((40.0, 4.0), 0.0), ((46.0, 4.0), 0.0))),
}  # fmt: skip
"""Per scripted shopper: when the trip starts (seconds after the start) and its waypoints with
how long to stand there; a negative stand time means "stand until this many seconds after the
start"."""


def scripted_trip(index: int, start: float) -> Trip:
    """The scripted first trip of shopper ``index`` (< :data:`SCRIPTED`) of a store starting at ``start``."""
    begin, path = _PATHS[index]
    t = start + begin
    trip = Trip(start=t)
    here = path[0][0]
    for point, stand in path:
        length = math.hypot(point[0] - here[0], point[1] - here[1])
        if length > 0:
            trip.legs.append(Leg(t, t + length / SCRIPT_SPEED_M_S, here, point))
            t += length / SCRIPT_SPEED_M_S
        here = point
        until = t + stand if stand >= 0 else start - stand
        if until > t:
            trip.legs.append(Leg(t, until, point, point))
            t = until
    if index == 0:
        trip.shelf_acts.append(ShelfAct(start + ADA_PICKUP_S, "shelf-a3", "pickup", NAPPIES_SKU))
    trip.starts = [leg.t0 for leg in trip.legs]
    return trip


def scripted_profile(index: int) -> tuple[list[str], list[str], dict[str, object]]:
    """Scopes, segments and preferences of scripted shopper ``index`` in the roster."""
    everything = ["presence", "personalization", "shelf"]
    if index == 0:
        return everything, ["families"], {"large_text": False, "language": "en"}
    if index == 1:
        return ["presence"], ["students"], {"large_text": False, "language": "en"}
    return everything, ["wine-lovers"], {"large_text": False, "language": "de"}


def held_out(token: str) -> bool:
    """Whether ``token`` is in the holdout group of any campaign of the simulated catalogue."""
    offers = msgspec.json.decode(catalogue.offers_payload(0.0, []))["offers"]
    return any(in_holdout(token, offer["campaign"], catalogue.HOLDOUT_SHARE) for offer in offers)
