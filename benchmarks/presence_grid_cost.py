"""The grid engine's cost per sighting on the sweep's stores, against the model engine (and the prototype).

    python benchmarks/presence_grid_cost.py [--cells 0,2,6,big] [--seed 1] [--minutes 5] [--shoppers 20]
                                            [--rounds 3] [--prototype] [--fixed]

Simulates each sweep cell (``edge/sim/sweep``: 20 rostered shoppers unless told, the cell's layout, its floor in the
config), then feeds the same sightings and ticks (every 0.25 s, as the sweep does) through the model engine
(:class:`~edge.presence_model.ZoneEstimator`, its radio learner on as by default), the grid engine
(:class:`~edge.presence_grid.GridEstimator`) and, with ``--prototype``, the sweep's pure-Python
``SparseGrid`` and, with ``--fixed``, the grid engine with its radio learner off (``grid-fixed``: the
configured exponent throughout), alternating round by round in the same process; the time includes the
ticks. Reports the best round's us per sighting of each and the grid's ratio to the model (the baseline
measured in the same run). ``big`` among the cells is a store larger than any of the sweep's
(:func:`big_store`: 100 x 60 m, 40 scanners). Last stdout line: one JSON object.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import msgspec

from benchmarks.common import report
from edge.config import Config
from edge.presence_grid import GridEstimator
from edge.presence_model import ZoneEstimator
from edge.sim.sweep import Run, simulate
from edge.sim.sweep.cell import Cell
from edge.sim.sweep.cells import CELLS
from edge.sim.sweep.grid import SparseGrid
from edge.sim.sweep.judge import TICK_S
from edge.sim.sweep.layouts import Layout, Scanner, Zone


def big_store() -> Cell:
    """A 100 x 60 m hall, 40 disc zones (3 m) around scanners on a 12 m grid, one walkway through the middle:
    its floor's box (110 x 70 cells) is 4.5 times today's store's, with 40 scanners instead of 7."""
    zones, scanners = [], []
    for i in range(8):
        for j in range(5):
            x, y, k = 8.0 + 12.0 * i, 6.0 + 12.0 * j, 5 * i + j
            scanners.append(Scanner(f"scn-{k}", x, y))
            zones.append(Zone(f"z-{k}", (f"scn-{k}",), (x, y + 3.0 if y < 54.0 else y - 3.0), discs=((x, y),)))
    layout = Layout(
        "big", ((0.0, 0.0, 100.0, 60.0),), tuple(zones), tuple(scanners), ((0.0, 30.0), (100.0, 30.0)),
        (-4.0, 30.0), (104.0, 30.0),
    )  # fmt: skip
    return Cell("a 100 x 60 m store, 40 scanners", "layout", layout)


def _model(config: Config) -> Any:
    presence = msgspec.structs.replace(config.presence, engine="model")
    return ZoneEstimator(config.zones, presence, config.scanners, config.floor)


def _grid(config: Config) -> Any:
    return GridEstimator(config.zones, config.presence, config.scanners, config.floor)


def _grid_fixed(config: Config) -> Any:
    """The grid engine told the configured exponent only (its radio learner off)."""
    import edge.presence_grid as pg

    pg.LEARN_RADIO = False
    try:
        return GridEstimator(config.zones, config.presence, config.scanners, config.floor)
    finally:
        pg.LEARN_RADIO = True


ENGINES: dict[str, Callable[[Config], Any]] = {
    "model": _model,
    "grid": _grid,
    "grid-fixed": _grid_fixed,
    "prototype": SparseGrid,
}


def once(make: Callable[[Config], Any], config: Config, run: Run) -> float:
    """CPU seconds to feed ``run`` (sightings and ticks) through a new engine."""
    engine = make(config)
    observe, tick = engine.observe, engine.tick
    next_tick = run.start + TICK_S
    started = time.process_time()
    for s in run.sightings:
        while next_tick <= s.at:
            tick(next_tick)
            next_tick += TICK_S
        observe(s)
    return time.process_time() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--cells", default="0,2,6", help="sweep cell indices (today's store, 4 m tiles, L-shape)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--shoppers", type=int, default=20, help="rostered shoppers in the store at a time")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--prototype", action="store_true", help="also the sweep's pure-Python prototype")
    parser.add_argument("--fixed", action="store_true", help="also the grid without its radio learner")
    args = parser.parse_args(argv)
    names = ["model", "grid"] + (["grid-fixed"] if args.fixed else []) + (["prototype"] if args.prototype else [])
    figures: dict[str, object] = {}
    for index in args.cells.split(","):
        cell = big_store() if index == "big" else CELLS[int(index)]
        run = simulate(cell, args.seed, minutes=args.minutes, shoppers=args.shoppers)
        config = cell.layout.config()
        best = dict.fromkeys(names, float("inf"))
        for _ in range(args.rounds):
            for name in names:
                best[name] = min(best[name], once(ENGINES[name], config, run))
        sightings = len(run.sightings)
        us = {name: 1e6 * best[name] / sightings for name in names}
        text = "  ".join(f"{name} {us[name]:6.2f} us" for name in names)
        ratio = us["grid"] / us["model"]
        print(f"[{index:>3}] {cell.name[:32]:32s} {sightings:7d} sightings  {text}  grid/model {ratio:5.2f}x")
        for name in names:
            figures[f"cell{index}_{name}_us"] = round(us[name], 2)
        figures[f"cell{index}_grid_to_model"] = round(ratio, 3)
    report("presence_grid_cost", figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
