"""The goals of the presence sweep (``benchmarks/presence_sweep.py``) and how a cell is judged.

Per cell, on the figures summed over its seeds: exit p95 <= 8 s and right zone >= 95 %; enter p95
<= 3 s and spurious <= 0.5 per shopper-hour -- or, where the oracle itself misses those, enter p95
<= :data:`ORACLE_ENTER_FACTOR` x the oracle's and spurious <= the oracle's +
:data:`ORACLE_SPURIOUS_SLACK`; and no worse than either naive reference on any figure (beyond the
measurement's grain, :data:`RESOLUTION`). A figure of ``None`` is an infinite latency (more than 5 %
of the true visits never matched).
"""

from __future__ import annotations

import math
from typing import Any

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
