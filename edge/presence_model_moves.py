"""The model engine's motion: the rates at which a shopper moves between the places of the store's layout.

:func:`transitions` turns the places of an :class:`edge.zone_layout.Layout` (far, each zone's sub-places,
the rings beside each zone) and which of them touch into continuous-time rates, grouped for
:meth:`edge.presence_model.ZoneEstimator._predict`: out of a zone to what surrounds it at the leave rate,
from beside a zone into it at :data:`~edge.constants_model.MODEL_ZONE_ENTER_RATE_HZ`, zone to touching zone at
:data:`~edge.constants_model.MODEL_WALK_SPEED_M_S` over :data:`~edge.constants_model.MODEL_HANDOFF_DISTANCE_M`, and
the slower rates below between places in no zone and between a zone's sub-places. Pure; the constants are
read when the rates are built (``presence_model_tune.py --set`` changes them for a run).
"""

from __future__ import annotations

from dataclasses import dataclass

from edge import constants_model as cm
from edge.zone_layout import Layout

AISLE_RATE_HZ = 1.0 / 20.0
"""Rate of walking between places in no zone (far, a zone's surroundings a step away and further)."""

SUB_MOVE_RATE_HZ = 0.5
"""Rate of moving from one sub-place of a zone to another (a step along the shelf, out to its edge): a
shopper's spot within a zone changes within seconds, but crossing the zone takes a few of these steps, so
a shopper at its centre is not one step from leaving. Sweep tuning cells: 0.2 Hz 131, 0.5 Hz 126, 1 Hz 124
(with 0.5 taken for the fewer spurious changes)."""

RING_OUT_RATE_HZ = AISLE_RATE_HZ
"""Rate from a zone's inner surroundings (the ring beside it) out to its outer ones and far. Tried at a walker's
MODEL_WALK_SPEED_M_S over MODEL_RING_M (0.2 Hz) so that mass leaving a zone walks on instead of being pulled back
in at MODEL_ZONE_ENTER_RATE_HZ: 42 tuning cells x 3 seeds 92.9 -> 92.5, exits earlier in most cells, but the hard
family 21.6 -> 22.3 (the slow-walker L-shape: spurious changes up), so not kept (docs/presence.md, "Exits");
``presence_model_tune.py --set RING_OUT_RATE_HZ=0.2`` compares."""


@dataclass(frozen=True, slots=True)
class Moves:
    """A layout's motion model, as the prediction step reads it."""

    walk: float
    """Zone to touching zone, per second (a walker's speed over the hand-off distance)."""
    exits: tuple[tuple[tuple[int, float], ...], ...]
    """Per place: where its mass goes when the shopper leaves its zone (place, share); empty outside zones."""
    rates: tuple[float, ...]
    """The distinct total rates out of a place, ascending."""
    rate_of: tuple[int, ...]
    """Per place: the index of its total rate out in ``rates``."""
    shares: tuple[tuple[tuple[int, float], ...], ...]
    """Per place: (place, share of its total rate out) for every place it touches."""


def transitions(layout: Layout, leave_rate_hz: float) -> Moves:
    """The rates between the places of ``layout``; ``leave_rate_hz``: out of a zone to its surroundings."""
    zone_of = layout.zone_of
    walk = cm.MODEL_WALK_SPEED_M_S / cm.MODEL_HANDOFF_DISTANCE_M
    ring_set = frozenset(layout.rings)
    moves: list[tuple[tuple[int, float], ...]] = []
    for i, touching in enumerate(layout.touches):
        here = zone_of[i]
        per_zone: dict[int, int] = {}
        for j in touching:
            per_zone[zone_of[j]] = per_zone.get(zone_of[j], 0) + 1
        found: list[tuple[int, float]] = []
        for j in touching:
            there = zone_of[j]
            if i == 0:
                rate = AISLE_RATE_HZ / len(touching)
            elif here and there == here:  # moving within a zone
                rate = SUB_MOVE_RATE_HZ / per_zone[there]
            elif here and there == 0:  # out of a zone
                rate = leave_rate_hz / per_zone[0]
            elif here:  # into a neighbouring zone
                rate = walk / per_zone[there]
            elif there:  # from beside a zone into it
                rate = cm.MODEL_ZONE_ENTER_RATE_HZ / per_zone[there]
            elif i in ring_set and j not in ring_set:  # from beside a zone, walking on
                rate = RING_OUT_RATE_HZ
            else:
                rate = AISLE_RATE_HZ
            found.append((j, rate))
        moves.append(tuple(found))
    exits = tuple(
        tuple((j, 1.0 / len(out)) for j in out)
        for out in (
            [j for j in touching if zone_of[j] == 0] or [layout.rings[zone_of[i] - 1]] if zone_of[i] else []
            for i, touching in enumerate(layout.touches)
        )
    )
    out_rate = [sum(rate for _, rate in m) for m in moves]
    rates = tuple(sorted(set(out_rate)))
    rate_of = tuple(rates.index(rate) for rate in out_rate)
    shares = tuple(
        tuple((j, rate / total) for j, rate in m) if total else () for m, total in zip(moves, out_rate, strict=True)
    )
    return Moves(walk, exits, rates, rate_of, shares)
