"""The goals of the presence sweep (``benchmarks/presence_sweep.py``) and how a cell is judged.

Per cell, on the figures summed over its seeds: exit p95 <= 8 s and right zone >= 95 %; enter p95
<= 3 s and spurious <= 0.5 per shopper-hour -- or, where the oracle itself misses those, enter p95
<= :data:`ORACLE_ENTER_FACTOR` x the oracle's and spurious <= the oracle's +
:data:`ORACLE_SPURIOUS_SLACK`; and no worse than either naive reference on any figure (beyond the
measurement's grain, :data:`RESOLUTION`). A figure of ``None`` is an infinite latency (more than 5 %
of the true visits never matched).

**What counts as a visit** (:func:`settle`, the same for every engine, the oracle included): the exact
ground truth is first cleaned of changes too short to be anything a shopper did on purpose --

1. two visits of one zone less than :data:`MIN_GAP_S` apart are one visit (a step over the boundary
   and back while browsing a shelf end, the rim of a disc clipped on the way past);
2. a visit shorter than :data:`MIN_VISIT_S` is a **transit** (walking through a 3 m tile at 1-1.5 m/s
   takes 2-3 s): no engine is asked to report it -- it is not in the latencies, its seconds are not
   counted for right zone (neither answer is wrong while someone walks through) -- and an engine that
   does report it is not charged a spurious visit for it.

Why 3 s: one advert places a shopper only to a couple of metres at 6 dB shadowing, so an estimator
needs 3-6 adverts to tell a zone from its neighbour; from a 1-2 Hz card that is 3 s, and even the
oracle (told the true radio) cannot confirm a shorter stay without also confirming noise. Nothing a
store does with presence (offers on a screen, dwell, the visit record) is about a 2 s pass.

Matching (:func:`match`): each kept true visit is matched to the tracker's visit of the same zone
overlapping it most, within [-:data:`MATCH_BEFORE_S`, +:data:`MATCH_AFTER_S`] of it (as in
``benchmarks/presence_accuracy.py``); latency = tracker time - true time; an unmatched true visit is
an infinite enter latency; an unmatched tracker visit (not a transit's) is spurious: two zone changes
that did not happen.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

Visit = tuple[str, float, float]
"""(zone, entered, left)."""

TICK_S = 0.25
"""The timer tick every engine is driven with (the gateway's ``presence.tick_interval_s``)."""
REFERENCES = ("nearest", "ema")
FIGURES = ("enter_p95_s", "exit_p95_s", "right_zone_pct", "spurious_per_shopper_hour")
LOWER_IS_BETTER = {"enter_p95_s": True, "exit_p95_s": True, "right_zone_pct": False, "spurious_per_shopper_hour": True}
GOALS = {"enter_p95_s": 3.0, "exit_p95_s": 8.0, "right_zone_pct": 95.0, "spurious_per_shopper_hour": 0.5}
ORACLE_ENTER_FACTOR = 1.25
"""Where the oracle misses the enter goal, an engine may be this much slower than it..."""
ORACLE_SPURIOUS_SLACK = 0.5
"""...and have this many more spurious changes per shopper-hour."""
RESOLUTION = {"enter_p95_s": TICK_S, "exit_p95_s": TICK_S, "right_zone_pct": 0.5}
"""An engine is "worse than a reference" on a figure by more than this (one tick; half a point of right
zone) -- or, for spurious changes, by more than one spurious visit (two changes) over the cell's
shopper-hours: below these the difference is the measurement's grain, not the engine's."""


MIN_VISIT_S = 3.0
"""A true visit shorter than this is a transit (see the module docstring)."""
MIN_GAP_S = 3.0
"""Two true visits of one zone closer than this are one visit."""
MATCH_BEFORE_S = 5.0
"""A tracker visit may start this long before the true one and still be the same visit..."""
MATCH_AFTER_S = 10.0
"""...or end up to this long after it."""


def settle(truth: list[Visit]) -> tuple[list[Visit], list[Visit]]:
    """The exact ground truth -> (visits an engine must report, transits it may)."""
    merged: list[Visit] = []
    for zone, a, b in sorted(truth, key=lambda v: v[1]):
        last = next((i for i in range(len(merged) - 1, -1, -1) if merged[i][0] == zone), None)
        between = merged[last + 1 :] if last is not None else []
        if last is not None and a - merged[last][2] < MIN_GAP_S and all(v[2] - v[1] < MIN_VISIT_S for v in between):
            merged[last] = (zone, merged[last][1], max(b, merged[last][2]))
            del merged[last + 1 :]  # what lay between (transits of other zones) is inside the merged visit
        else:
            merged.append((zone, a, b))
    kept = [v for v in merged if v[2] - v[1] >= MIN_VISIT_S]
    transits = [v for v in merged if v[2] - v[1] < MIN_VISIT_S]
    return kept, transits


@dataclass
class Score:
    """Latencies, misses, spurious visits and right-zone seconds of one engine (summed over shoppers)."""

    enter: list[float] = field(default_factory=list)
    exit: list[float] = field(default_factory=list)
    missed: int = 0
    spurious_visits: int = 0
    right_s: float = 0.0
    counted_s: float = 0.0
    shopper_s: float = 0.0


def _best(zone: str, a: float, b: float, seen: list[Visit], used: set[int]) -> int | None:
    best, best_overlap = None, 0.0
    for index, (z, a2, b2) in enumerate(seen):
        if z != zone or index in used:
            continue
        overlap = min(b + MATCH_AFTER_S, b2) - max(a - MATCH_BEFORE_S, a2)
        if overlap > best_overlap:
            best, best_overlap = index, overlap
    return best


def match(score: Score, truth: list[Visit], transits: list[Visit], seen: list[Visit], end: float) -> None:
    """Score one shopper's tracker visits ``seen`` against the settled truth (see the module docstring)."""
    used: set[int] = set()
    for zone, a, b in truth:
        best = _best(zone, a, b, seen, used)
        if best is None:
            score.missed += 1
            score.enter.append(math.inf)
            continue
        used.add(best)
        _, a2, b2 = seen[best]
        score.enter.append(a2 - a)
        if b < end - MATCH_AFTER_S and b2 < math.inf:
            score.exit.append(b2 - b)
    for zone, a, b in transits:
        best = _best(zone, a, b, seen, used)
        if best is not None:
            used.add(best)
    score.spurious_visits += sum(1 for index, (_, a2, _) in enumerate(seen) if index not in used and a2 < end)


def agreement(
    score: Score, truth: list[Visit], transits: list[Visit], seen: list[Visit], inside: tuple[float, float],
    start: float, end: float,
) -> None:  # fmt: skip
    """Right-zone seconds: counted while in the building or placed in a zone, except during a transit."""
    for a, b, real, placed in counted_stretches(truth, transits, seen, inside, start, end):
        score.counted_s += b - a
        score.right_s += (b - a) * (real == placed)


def counted_stretches(
    truth: list[Visit], transits: list[Visit], seen: list[Visit], inside: tuple[float, float],
    start: float, end: float,
) -> Iterator[tuple[float, float, str | None, str | None]]:  # fmt: skip
    """The stretches right-zone time counts (in the building or placed in a zone, not during a
    transit), between consecutive visit boundaries: (from, to, true zone, placed zone)."""
    marks = {start, end, *inside}
    for _, a, b in (*truth, *transits, *seen):
        marks.update((a, b))
    points = sorted(m for m in marks if start <= m <= end)
    for a, b in itertools.pairwise(points):
        mid = (a + b) / 2
        if any(t0 <= mid < t1 for _, t0, t1 in transits):
            continue
        real = next((z for z, t0, t1 in truth if t0 <= mid < t1), None)
        placed = next((z for z, t0, t1 in seen if t0 <= mid < t1), None)
        if inside[0] <= mid < inside[1] or placed is not None:
            yield a, b, real, placed


def cell_goals(oracle: dict[str, Any] | None) -> dict[str, float]:
    """The cell's goals: the absolute ones, relaxed to the oracle's reach for enter and spurious."""
    goals = dict(GOALS)
    if oracle is not None:
        enter = oracle["enter_p95_s"]
        if enter is None or enter > GOALS["enter_p95_s"]:
            goals["enter_p95_s"] = math.inf if enter is None else round(ORACLE_ENTER_FACTOR * enter, 2)
        spurious = oracle["spurious_per_shopper_hour"]
        if spurious > GOALS["spurious_per_shopper_hour"]:
            goals["spurious_per_shopper_hour"] = round(spurious + ORACLE_SPURIOUS_SLACK, 2)
    return goals


def value_of(figs: dict[str, Any], key: str) -> float:
    value = figs[key]
    return (math.inf if LOWER_IS_BETTER[key] else -math.inf) if value is None else float(value)


def judge(name: str, figs: dict[str, Any], goals: dict[str, float], refs: dict[str, dict[str, Any]]) -> list[str]:
    """What ``name`` misses in a cell (empty: it passes)."""
    if figs["error"]:
        return ["error"]
    missed: list[str] = []
    for key in FIGURES:
        value, goal = value_of(figs, key), goals[key]
        if (value > goal) if LOWER_IS_BETTER[key] else (value < goal):
            missed.append(key)
    if name not in REFERENCES:
        grain = dict(RESOLUTION, spurious_per_shopper_hour=2 / max(figs["shopper_hours"], 1e-9))
        for ref_name, ref in refs.items():
            for key in FIGURES:
                mine, theirs = value_of(figs, key), value_of(ref, key)
                worse = mine > theirs + grain[key] if LOWER_IS_BETTER[key] else mine < theirs - grain[key]
                if worse and f"vs {ref_name}" not in missed:
                    missed.append(f"vs {ref_name}")
    return missed


BADNESS_CAP = 5.0
"""A cell's badness counts at most this much in a sum over cells ("capped badness"): one cell missed by far must not
drown the rest (docs/presence.md)."""


def badness(figs: dict[str, Any], goals: dict[str, float]) -> float:
    """How far the worst figure is from its goal, as a ratio (<= 1: every goal met)."""
    ratios = []
    for key in FIGURES:
        value, goal = value_of(figs, key), goals[key]
        if key == "right_zone_pct":
            ratios.append((100.0 - value) / (100.0 - goal))
        elif math.isinf(goal):
            ratios.append(1.0)
        else:
            ratios.append(value / goal if goal > 0 else math.inf)
    return max(ratios)
