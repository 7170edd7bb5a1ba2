"""The model engine's cost per sighting on the sweep's stores, with and without the radio learner.

    python benchmarks/presence_model_cost.py [--cells 0,2,6,13] [--seed 1] [--minutes 5] [--rounds 3]

Simulates each sweep cell (``edge/sim/sweep``: 20 rostered shoppers, the cell's layout, its floor in the
config), then feeds the same sightings and ticks (every 0.25 s, as the sweep does) through
:class:`~edge.presence_model.ZoneEstimator` with the radio learner on (``LEARN_RADIO``, the default) and off,
alternating round by round in the same process; the time includes the ticks, the learner's samples and its
table rebuilds. Reports the best round's µs per sighting of each and their ratio. Last stdout line: one
JSON object.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import msgspec

from benchmarks.common import report
from edge import presence_model
from edge.presence_model import ZoneEstimator
from edge.sim.sweep import Run, simulate
from edge.sim.sweep.cells import CELLS
from edge.sim.sweep.judge import TICK_S


def once(index: int, run: Run, learn: bool) -> tuple[float, float | None]:
    """Seconds to feed ``run`` through a new model engine, and the exponent it ended with."""
    presence_model.LEARN_RADIO = learn
    config = CELLS[index].layout.config()
    est = ZoneEstimator(
        config.zones, msgspec.structs.replace(config.presence, engine="model"), config.scanners, config.floor
    )
    observe, tick = est.observe, est.tick
    next_tick = run.start + TICK_S
    started = time.process_time()
    for s in run.sightings:
        while next_tick <= s.at:
            tick(next_tick)
            next_tick += TICK_S
        observe(s)
    elapsed = time.process_time() - started
    return elapsed, est.radio()["exponent"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--cells", default="0,2,6,13", help="sweep cell indices")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    figures: dict[str, object] = {}
    for index in (int(part) for part in args.cells.split(",")):
        run = simulate(CELLS[index], args.seed, minutes=args.minutes, shoppers=20)
        best = {True: float("inf"), False: float("inf")}
        exponent: float | None = None
        for _ in range(args.rounds):
            for learn in (False, True):
                seconds, found = once(index, run, learn)
                best[learn] = min(best[learn], seconds)
                if learn:
                    exponent = found
        sightings = len(run.sightings)
        off_us, on_us = (1e6 * best[learn] / sightings for learn in (False, True))
        print(
            f"[{index:2d}] {CELLS[index].name[:40]:40s} {sightings:7d} sightings  learner off {off_us:6.2f} us  "
            f"on {on_us:6.2f} us  ratio {on_us / off_us:5.2f}x  (exponent in use at the end {exponent})"
        )
        figures[f"cell{index}_us_off"] = round(off_us, 2)
        figures[f"cell{index}_us_on"] = round(on_us, 2)
        figures[f"cell{index}_ratio"] = round(on_us / off_us, 3)
    presence_model.LEARN_RADIO = True
    report("presence_model_cost", figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
