"""The model's zone posterior around each true exit: how fast it falls, how silent the shopper is, how much is heard.

    python benchmarks/presence_model_exits.py [--cells 0,17,24] [--seed 1] [--set NAME=VALUE ...]

Runs the sweep's cells (``benchmarks/presence_sweep.py``'s simulation, fed as ``presence_sweep.feed`` feeds it)
with the model engine and, every tick, notes each shopper's posterior. At every true exit not followed by another
zone within 3 s (a hand-off is another question), it reads the posterior of the zone just left at fixed offsets
from the exit, the silence then (seconds since the shopper's last advert) and the sightings of the shopper (any
scanner) in the second before. Prints one row per offset (medians, the share still at or above MODEL_LEAVE_P);
last line one JSON object. docs/presence.md, "Exits: why the model leaves late".
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import presence_sweep as ps
from benchmarks.presence_model_tune import override
from edge import constants_model as cm
from edge.sim.sweep import simulate
from edge.sim.sweep.cells import CELLS
from edge.sim.sweep.judge import TICK_S, settle

OFFSETS_S = (-2, 0, 1, 2, 3, 4, 5, 6, 8, 10)
"""Seconds after the true exit at which the posterior is read."""

HANDOFF_GAP_S = 3.0
"""An exit followed by another zone within this is a hand-off, left out (the judge's MIN_GAP_S)."""


def probe(index: int, seed: int, minutes: float, shoppers: int) -> dict[int, list[tuple[float, float, int]]]:
    """Per offset: (P(zone just left), silence s, adverts in the second before) at every counted exit."""
    cell = CELLS[index]
    run = simulate(cell, seed, minutes=minutes, shoppers=shoppers)
    ps.ONLY_ENGINES = {"model"}
    engine = ps.engines(cell, cell.layout.config())["model"]()
    series: dict[str, list[tuple[float, dict[str | None, float], float]]] = defaultdict(list)
    last: dict[str, float] = {}
    heard: dict[str, list[float]] = defaultdict(list)
    next_tick = run.start + TICK_S
    for s in run.sightings:
        while next_tick <= s.at:
            engine.tick(next_tick)
            for token in last:
                series[token].append((next_tick, engine.posterior(token), last[token]))
            next_tick += TICK_S
        engine.observe(s)
        last[s.token] = s.at
        heard[s.token].append(s.at)
    found: dict[int, list[tuple[float, float, int]]] = defaultdict(list)
    for shopper in run.shoppers:
        truth, _ = settle([v for v in shopper.truth if v[1] < run.end])
        rows = series.get(shopper.token, [])
        for zone, _, end in truth:
            if end > run.end - max(OFFSETS_S) - 1 or not rows:
                continue
            if any(z != zone and end <= t0 <= end + HANDOFF_GAP_S for z, t0, _ in truth):
                continue
            for offset in OFFSETS_S:
                t = end + offset
                _, posterior, seen = min(rows, key=lambda r: abs(r[0] - t))
                count = sum(1 for h in heard[shopper.token] if t - 1.0 < h <= t)
                found[offset].append((posterior.get(zone, 0.0), t - seen, count))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--cells", default="0,17,24")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--shoppers", type=int, default=20)
    parser.add_argument("--set", action="append", default=[], help="NAME=VALUE: override a model constant")
    args = parser.parse_args(argv)
    override(args.set)
    pooled: dict[int, list[tuple[float, float, int]]] = defaultdict(list)
    for index in (int(i) for i in args.cells.split(",")):
        for offset, rows in probe(index, args.seed, args.minutes, args.shoppers).items():
            pooled[offset].extend(rows)
    exits = len(pooled[0])
    print(f"cells {args.cells}, seed {args.seed}: {exits} exits")
    print(f"{'s after':>8}{'P(zone) median':>16}{'>= leave P':>12}{'silence s':>11}{'sightings/s':>12}")
    out = []
    for offset in OFFSETS_S:
        rows = pooled[offset]
        if not rows:
            continue
        p = statistics.median(r[0] for r in rows)
        held = sum(r[0] >= cm.MODEL_LEAVE_P for r in rows) / len(rows)
        silence = statistics.median(r[1] for r in rows)
        rate = statistics.mean(r[2] for r in rows)
        print(f"{offset:8}{p:16.2f}{held:12.2f}{silence:11.2f}{rate:12.1f}")
        out.append({"offset_s": offset, "p_zone": round(p, 3), "held": round(held, 3), "silence_s": round(silence, 3),
                    "sightings_per_s": round(rate, 2)})  # fmt: skip
    print(json.dumps({"benchmark": "presence_model_exits", "exits": exits, "rows": out}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
