"""A gateway of several, on the sweep's stores (issues #13 and #18): an engine hearing most of a store's scanners
through its peers' summaries, against the same engine hearing every scanner itself.

    python benchmarks/presence_peers.py [--engine threshold|grid] [--gateways 3] [--me 1]
                                        [--delivery summaries|stream] [--delay-s 0.05]
                                        [--cells all] [--seeds 1,2,3] [--jobs 2] [--cache DIR]

Every cell of the presence sweep (``benchmarks/presence_sweep.py``, :mod:`edge.sim.sweep`) is run for each seed
twice with the engine under test: hearing every sighting at its time (the sweep's own judgement: the baseline), and
as gateway ``--me`` of ``--gateways`` gets them (:func:`edge.sim.sweep.peers.as_gateway`: the zones cut into runs of
neighbouring zones, one run per gateway; its own scanners at once, each other gateway's through its store-local
summaries -- the early half-slot part and the slot's whole -- rebuilt into samples on arrival, 50 ms after each
part's end, as ``edge run`` feeds them). The references and the oracle hear every sighting in both, from the tuning
cache (``--cache``, shared with ``benchmarks/presence_model_tune.py``).

``--delay-s``: from a part's end to its arrival (the store broker's trip; default 0.05 s). ``--delivery stream``:
each peer's sightings as heard, ``--delay-s`` after it -- not what ``edge run`` does, the bound of a store that
forwarded every rostered reading instead of its summaries (what the summaries' latency costs: docs/presence.md,
"What a peer's late samples cost (session 42)").

Per cell: both runs' four figures and capped badness (each figure's miss of its goal, capped at 5 a cell:
:func:`edge.sim.sweep.judge.badness`). The figure is the sum of capped badness through peers, the baseline the same
engine hearing every scanner, the ratio the one over the other (1.0: peers cost nothing). The last stdout line is one
JSON object (benchmarks/common.py).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import presence_model_tune as tune
from benchmarks import presence_sweep as ps
from benchmarks.common import report
from edge.sim.sweep.cells import CELLS
from edge.sim.sweep.judge import badness, judge
from edge.sim.sweep.peers import DELAY_S, as_gateway, owners
from edge.sim.sweep.report import fmt

PEERS = "@peers"
"""The suffix of the engine's tally through peers."""
DELAY_MAX_S = 10.0
"""``--delay-s`` at most this: ten slots late, a peer's samples are older than any decision they could change."""


def one(task: tuple[int, int, float, int, str, str, int, int, float, bool]) -> tuple[int, dict[str, ps.Tally]]:
    """One cell and seed: the cached references, the engine alone, the engine as gateway ``me`` (its peers' sightings
    ``delay_s`` after each part, or after each reading if ``stream``)."""
    index, seed, minutes, shoppers, cache, engine, gateways, me, delay_s, stream = task
    tallies = dict(tune._others(index, seed, minutes, shoppers, Path(cache)))
    ps.ONLY_ENGINES = {engine}
    ps.HEARD = None
    _, alone, _ = ps.run_one(index, seed, minutes, shoppers)
    split = owners(CELLS[index].layout, gateways)
    ps.HEARD = lambda run: as_gateway(run, split, me, delay_s=delay_s, stream=stream)
    try:
        _, shared, _ = ps.run_one(index, seed, minutes, shoppers)
    finally:
        ps.HEARD = None
    tallies[engine] = alone[engine]
    tallies[engine + PEERS] = shared[engine]
    return index, tallies


def main(argv: list[str] | None = None) -> int:
    parser = tune.cell_parser(__doc__, cells="all", seeds="1,2,3", jobs=2)
    parser.add_argument("--engine", default="threshold", choices=("threshold", "grid"))
    parser.add_argument("--gateways", type=int, default=3)
    parser.add_argument("--me", type=int, default=1, help="the gateway whose hearing is judged (0-based)")
    parser.add_argument(
        "--delivery",
        default="summaries",
        choices=("summaries", "stream"),
        help="a peer's sightings in its summaries' parts (edge run), or each as heard (a bound)",
    )
    parser.add_argument(
        "--delay-s", type=float, default=DELAY_S, help=f"a part's (or reading's) delivery delay, s (default {DELAY_S})"
    )
    args = parser.parse_args(argv)
    if not 0.0 <= args.delay_s <= DELAY_MAX_S:  # (NaN fails both)
        parser.error(f"--delay-s must be 0-{DELAY_MAX_S:g} s, not {args.delay_s}")
    if args.gateways < 1:
        parser.error(f"--gateways must be at least 1, not {args.gateways}")
    if not 0 <= args.me < args.gateways:
        parser.error("--me must name one of the --gateways")
    args.cache.mkdir(parents=True, exist_ok=True)
    cells = tune.pick(args.cells)
    seeds = [int(s) for s in args.seeds.split(",")]
    tasks = [
        (
            i,
            s,
            args.minutes,
            args.shoppers,
            str(args.cache),
            args.engine,
            args.gateways,
            args.me,
            args.delay_s,
            args.delivery == "stream",
        )
        for i in cells
        for s in seeds
    ]
    merged = tune.run_cells(one, tasks, args.jobs, cells)
    totals = {"alone": 0.0, "peers": 0.0}
    passed = {"alone": 0, "peers": 0}
    per_cell: list[dict[str, Any]] = []
    for index in cells:
        figs, goals, refs = tune.cell_inputs(merged[index])
        row: dict[str, Any] = {"index": index}
        for way, name in (("alone", args.engine), ("peers", args.engine + PEERS)):
            f = figs[name]
            missed = judge(name, f, goals, refs)
            bad = min(tune.CAP, badness(f, goals))
            totals[way] += bad
            passed[way] += not missed
            row[way] = {**{k: f[k] for k in ("enter_p95_s", "exit_p95_s", "right_zone_pct",
                                              "spurious_per_shopper_hour")},
                        "badness": round(bad, 3), "missed": missed}  # fmt: skip
        a, p = row["alone"], row["peers"]
        print(
            f"[{index:2d}] {CELLS[index].name[:40]:40s} alone {fmt(a['enter_p95_s']):>6} {fmt(a['exit_p95_s']):>6} "
            f"{a['right_zone_pct']:6.2f} {a['spurious_per_shopper_hour']:6.2f} bad {a['badness']:4.2f} | peers "
            f"{fmt(p['enter_p95_s']):>6} {fmt(p['exit_p95_s']):>6} {p['right_zone_pct']:6.2f} "
            f"{p['spurious_per_shopper_hour']:6.2f} bad {p['badness']:4.2f}"
        )
        per_cell.append(row)
    print(
        f"{args.engine}, gateway {args.me} of {args.gateways} ({args.delivery}, {args.delay_s:g} s late): "
        f"capped badness {totals['peers']:.2f} through peers "
        f"({passed['peers']} cells passed), {totals['alone']:.2f} hearing every scanner ({passed['alone']} passed)"
    )
    report(
        "presence_peers",
        {
            "engine": args.engine,
            "gateways": args.gateways,
            "me": args.me,
            "delivery": args.delivery,
            "delay_s": args.delay_s,
            "seeds": seeds,
            "cells": len(cells),
            "figure": round(totals["peers"], 2),
            "unit": "capped badness, through peers",
            "baseline": round(totals["alone"], 2),
            "baseline_unit": "capped badness, the same engine hearing every scanner",
            "ratio": round(totals["peers"] / totals["alone"], 3) if totals["alone"] else None,
            "passed": passed["peers"],
            "passed_alone": passed["alone"],
            "per_cell": per_cell,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
