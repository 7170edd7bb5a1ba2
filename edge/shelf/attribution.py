"""Who a shelf interaction belongs to: the pure rule, clock and consent injected.

An interaction at shelf S in zone Z at time t belongs to the opted-in shopper who

1. has the ``shelf`` scope in the roster in force at t (``consents(token, t)``),
2. is present in Z at t according to the presence engine (which keeps a shopper in a zone while
   their smoothed RSSI over ``rssi_window_s`` holds it, and for at most ``exit_timeout_s`` after),
3. and is *clearly* nearest: nearer than every other shopper present in Z -- with the scope or
   without it -- by more than ``margin_db`` of path loss, compared on each device's estimated
   distance (so a weak loyalty card and a loud phone are compared fairly).

Otherwise the token is null, with the reason:

- ``nobody-opted-in``: no shopper with the ``shelf`` scope is present in Z (people who did not opt
  in are invisible, so an interaction by one of them is anonymous too);
- ``too-close-to-call``: the nearest shopper with the scope does not lead by the margin;
- ``someone-else-nearer``: a shopper without the scope is clearly nearer (the interaction is
  theirs, and they did not consent to it being tracked).

An attributed interaction has the reason ``nearest``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal, TypeAlias

from edge.presence import Occupant

__all__ = ["MIN_DISTANCE_M", "Attribution", "Reason", "attribute"]

Reason: TypeAlias = Literal["nearest", "nobody-opted-in", "too-close-to-call", "someone-else-nearer"]

MIN_DISTANCE_M = 0.05
"""Distances below this are taken as this (an estimate of 0 m would make every ratio infinite)."""


@dataclass(frozen=True, slots=True)
class Attribution:
    """The shopper an interaction belongs to (``token``), or None; ``reason`` says why."""

    token: str | None
    reason: Reason

    def __post_init__(self) -> None:
        if (self.token is None) == (self.reason == "nearest"):
            raise ValueError("a token goes with the reason 'nearest', and only with it")


def attribute(
    at: float,
    zone: str,
    occupants: Iterable[Occupant],
    consents: Callable[[str, float], bool],
    *,
    margin_db: float,
    path_loss_exponent: float,
) -> Attribution:
    """Apply the rule of the module docstring. ``occupants`` may hold other zones' (ignored)."""
    present: dict[str, float] = {}
    for occupant in occupants:
        if occupant.zone == zone:
            present[occupant.token] = max(occupant.distance_m, MIN_DISTANCE_M)
    best: str | None = None
    best_m = math.inf
    for token, distance in sorted(present.items()):
        if distance < best_m and consents(token, at):
            best, best_m = token, distance
    if best is None:
        return Attribution(None, "nobody-opted-in")
    rival_m = min((d for token, d in present.items() if token != best), default=math.inf)
    if rival_m == math.inf:
        return Attribution(best, "nearest")
    lead_db = 10.0 * path_loss_exponent * math.log10(rival_m / best_m)
    if lead_db > margin_db:
        return Attribution(best, "nearest")
    if lead_db < -margin_db:
        return Attribution(None, "someone-else-nearer")
    return Attribution(None, "too-close-to-call")
