"""Where an engine's lost right-zone seconds go, per sweep cell family: entering late, handing off late, exiting
late, or placed where the shopper is not.

    python benchmarks/presence_model_rightzone.py [--cells tuning|held-out|all|0,5,9] [--seeds 1] [--engine model]
                                                  [--jobs 2]
                                                  [--set NAME=VALUE ...]

Runs the sweep's cells (``benchmarks/presence_sweep.py``'s simulation and feed, the judge's settled truth and
right-zone stretches, :func:`edge.sim.sweep.judge.counted_stretches`) with one engine and sorts every counted
second where the engine's zone is not the true one:

- **first entry**: in a zone, placed nowhere, before the engine first places the shopper there in this visit,
  and no other true visit ended within 3 s before it began;
- **hand-off, entering**: the same, but the shopper came straight from another zone (a true visit ended
  within 3 s before this one began);
- **hand-off, old zone held**: in a zone, placed in the zone the shopper was in before;
- **dropped mid-visit**: in a zone, placed nowhere, after the engine had placed the shopper there in this visit;
- **exit late**: in no zone, placed in the zone the shopper last left;
- **wrong zone**: in a zone, placed in a zone that is neither it nor the previous one (flapping, a neighbour);
- **spurious**: in no zone, placed in a zone the shopper did not just leave.

Prints seconds per category per family and as a share of the lost seconds; last line one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import presence_sweep as ps
from benchmarks.presence_accuracy import _visits
from benchmarks.presence_model_tune import override, pick
from edge.sim.sweep import simulate
from edge.sim.sweep.cells import CELLS
from edge.sim.sweep.judge import Visit, counted_stretches, settle

HANDOFF_GAP_S = 3.0
"""A true visit that begins within this of another's end is a hand-off (the judge's MIN_GAP_S)."""

CATEGORIES = (
    "first entry",
    "hand-off, entering",
    "hand-off, old zone held",
    "dropped mid-visit",
    "exit late",
    "wrong zone",
    "spurious",
)

ENGINE = "model"


def family(index: int) -> str:
    """The cell's family, as docs/presence.md's tables group them."""
    cell = CELLS[index]
    if cell.axis == "hard":
        return "hard"
    if "L-shape" in cell.name:
        return "L-shape, layout"
    if "aisle" in cell.name:
        return "tiled aisles, " + ("layout" if cell.axis == "layout" else "other axes")
    return "spot stores, " + ("layout + base" if cell.axis in ("layout", "base") else cell.axis)


def classify(truth: list[Visit], seen: list[Visit], mid: float, real: str | None, placed: str | None) -> str:
    """The category of one wrong stretch at time ``mid`` (see the module docstring)."""
    before = [v for v in truth if v[2] <= mid]
    previous = max(before, key=lambda v: v[2]) if before else None
    if real is None:
        return "exit late" if previous is not None and previous[0] == placed else "spurious"
    visit = next(v for v in truth if v[0] == real and v[1] <= mid < v[2])
    if placed is None:
        placed_before = any(z == real and t0 < mid and t1 > visit[1] for z, t0, t1 in seen)
        if placed_before:
            return "dropped mid-visit"
        came = [v for v in truth if v[0] != real and visit[1] - HANDOFF_GAP_S <= v[2] <= visit[1]]
        return "hand-off, entering" if came else "first entry"
    earlier = [v for v in truth if v[2] <= visit[1] and v[0] != real]
    last = max(earlier, key=lambda v: v[2]) if earlier else None
    return "hand-off, old zone held" if last is not None and last[0] == placed else "wrong zone"


def one(task: tuple[int, int, float, int]) -> tuple[int, dict[str, float]]:
    index, seed, minutes, shoppers = task
    cell = CELLS[index]
    run = simulate(cell, seed, minutes=minutes, shoppers=shoppers)
    config = cell.layout.config()
    ps.ONLY_ENGINES = {ENGINE}
    make = ps.engines(cell, config)[ENGINE]
    changes = ps.feed(make(), run)
    lost: dict[str, float] = defaultdict(float)
    for shopper in run.shoppers:
        seen = _visits(changes.get(shopper.token, []), run.end)
        truth, transits = settle([v for v in shopper.truth if v[1] < run.end])
        inside = (shopper.in_store[0], min(shopper.in_store[1], run.end))
        for a, b, real, placed in counted_stretches(truth, transits, seen, inside, run.start, run.end):
            lost["counted"] += b - a
            if real != placed:
                lost[classify(truth, seen, (a + b) / 2, real, placed)] += b - a
    return index, dict(lost)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--cells", default="tuning")
    parser.add_argument("--seeds", default="1")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--shoppers", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--engine", default="model")
    parser.add_argument("--set", action="append", default=[], help="NAME=VALUE: override a model constant")
    args = parser.parse_args(argv)
    override(args.set)
    global ENGINE
    ENGINE = args.engine
    tasks = [(i, int(s), args.minutes, args.shoppers) for i in pick(args.cells) for s in args.seeds.split(",")]
    if args.jobs > 1:
        import multiprocessing

        with multiprocessing.get_context("fork").Pool(args.jobs) as pool:
            results = pool.map(one, tasks, chunksize=1)
    else:
        results = [one(task) for task in tasks]
    per_family: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for index, lost in results:
        for key, seconds in lost.items():
            per_family[family(index)][key] += seconds
            per_family["all"][key] += seconds
    header = f"{'family':28}{'lost %':>8}" + "".join(f"{name[:14]:>16}" for name in CATEGORIES)
    print(f"{ENGINE}: share of counted seconds lost, then each category's share of the lost seconds")
    print(header)
    out: dict[str, Any] = {}
    for name in sorted(per_family, key=lambda f: (f == "all", f)):
        lost = per_family[name]
        total = sum(lost[k] for k in CATEGORIES)
        share = 100 * total / max(lost["counted"], 1e-9)
        row = "".join(f"{100 * lost[k] / max(total, 1e-9):15.1f}%" for k in CATEGORIES)
        print(f"{name:28}{share:7.2f}%{row}")
        out[name] = {"lost_pct": round(share, 2), **{k: round(lost[k], 1) for k in CATEGORIES}}
    print(json.dumps({"benchmark": "presence_model_rightzone", "engine": ENGINE, "families": out}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
