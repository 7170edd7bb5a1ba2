"""The ownership rule judged on families of simulated stores, without a broker (issue 18).

:class:`~edge.peers.arbitration.Arbiter` is pure: its inputs are the per-slot scores the gateways'
summaries carry. :meth:`edge.sim.multi.MultiStore.slot_scores` computes them from the simulated
radio, so a rule (margin, hold, window) can be judged on many layouts and seeds in a second:

- **hand-off**: a shopper walking the row enters gateway j's zone (the settled ground truth of the
  presence sweep, :mod:`edge.sim.sweep.judge`) → the arbiter
  names gateway j (evaluated when the slot ends plus :data:`EVALUATION_LAG_S`);
- **extra moves**: ownership changes beyond one per zone a walker enters (flaps);
- **half-way moves**: a shopper standing still between two boxes (in no zone), ownership changes
  per hour (every one is an ``entered`` with ``from_gateway`` for the CDP and a claim on the broker).

The presence engines and the broker's delays are not in it: benchmarks/multi_gateway.py runs the
whole thing (``edge run`` processes on a real mosquitto).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from edge.peers.arbitration import Arbiter
from edge.sim.multi import MultiStore, Walk, gateway_id
from edge.sim.sweep.judge import settle

EVALUATION_LAG_S = 0.3
"""A slot is evaluated once every live peer's summary of it is in: its end plus a broker round trip."""
HALF_WAY_S = 300.0
"""Seconds a shopper stands half-way between two boxes (per layout and seed)."""


@dataclass(frozen=True, slots=True)
class Family:
    """The rule's figures over a family of layouts and seeds."""

    handoffs: tuple[float, ...]
    extra_moves: int
    half_way_moves_per_hour: float

    def handoff_pct(self, q: float) -> float:
        ordered = sorted(self.handoffs)
        return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def owners(
    store: MultiStore, walks: list[Walk], seconds: float, arbiter: Arbiter
) -> dict[str, list[tuple[float, str]]]:
    """Per token, the arbiter's owner changes (time evaluated, new owner) over the simulated radio."""
    scores = store.slot_scores(walks, seconds)
    alive = {gateway_id(g) for g in range(store.gateways)}
    out: dict[str, list[tuple[float, str]]] = {}
    if not scores:
        return out
    for slot in range(min(scores), max(scores) + 1):
        for gateway, per_token in scores.get(slot, {}).items():
            arbiter.add(slot, gateway, per_token)
        for change in arbiter.evaluate(slot, alive):
            if change.new is not None:
                out.setdefault(change.token, []).append((slot + 1 + EVALUATION_LAG_S, change.new))
    return out


def _entries(store: MultiStore, walk: Walk, end: float) -> list[tuple[str, float]]:
    """The zones a walker settles in (the presence sweep's settled truth, :func:`edge.sim.sweep.judge.settle`:
    a visit under 3 s is a transit, not an entry), with the time, the first one included."""
    kept, _transits = settle([v for v in store.visits(walk) if v[1] < end])
    return [(zone, at) for zone, at, _ in kept]


def judge(
    rule: Callable[[], Arbiter],
    *,
    spacings_m: Iterable[float] = (6.0, 7.0, 8.0, 10.0),
    seeds: Iterable[int] = (1, 2, 3),
    shoppers: int = 8,
    seconds: float = 140.0,
) -> Family:
    """``rule()`` (a fresh arbiter per store) on every layout x seed: walkers, then a shopper half-way."""
    handoffs: list[float] = []
    extra = 0
    half_way = 0
    runs = 0
    for spacing in spacings_m:
        for seed in seeds:
            runs += 1
            store = MultiStore(gateways=3, seed=seed, spacing_m=spacing)
            walks = store.walks(shoppers, seconds / 2)
            changes = owners(store, walks, seconds, rule())
            for walk in walks:
                mine = changes.get(walk.token, [])
                entries = _entries(store, walk, store.start + seconds)
                extra += max(0, len(mine) - len(entries))
                for zone, at in entries[1:]:
                    owner = gateway_id(int(zone[1:]) - 1)
                    later = [t for t, new in mine if new == owner and t >= at - 3.0]
                    handoffs.append(later[0] - at if later else math.inf)
            still = [Walk(0, store.start, (0.5,), HALF_WAY_S)]
            half_way += max(0, len(owners(store, still, HALF_WAY_S, rule()).get(still[0].token, [])) - 1)
    return Family(tuple(handoffs), extra, half_way / (runs * HALF_WAY_S / 3600))
