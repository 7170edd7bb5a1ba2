"""The model engine alone on the sweep's cells, the other engines' figures cached: a quick loop for tuning.

    python benchmarks/presence_model_tune.py [--cells tuning|held-out|all|0,5,9] [--seeds 1,2]
                                             [--cache DIR] [--jobs N] [--set NAME=VALUE ...] [--warm]
                                             [--warm-minutes M]

Runs :mod:`benchmarks.presence_sweep`'s cell runner with the ``model`` engine only; the threshold engine,
the naive references and the oracle do not change while the model is tuned, so their tallies per (cell,
seed) are computed once and kept in ``--cache`` (a directory; by default one under the system's temp
directory). Prints, per cell, the model's figures, its badness (the worst figure's ratio to its goal,
capped at 5) and the goals it misses, then the sum of capped badness and the cells passed. Tuning cells
are every cell but the held-out ones (index 3, 7, 11, ...), as in docs/presence.md. The last line is one
JSON object.

``--set NAME=VALUE`` overrides a constant of the model engine for this run (in :mod:`edge.constants`,
:mod:`edge.constants_model` or a module-level one of the engine's modules), to compare one physical choice
against another side by side.

``--warm`` (the grid and the threshold engines): each (cell, seed) is first run cold on another seed of the cell, and
the seed's run starts from the radio that run ended with (:meth:`edge.presence_grid.GridEstimator.memory`; the
threshold engine's scanner offsets, :meth:`edge.presence.PresenceEngine.memory`): a gateway restarted in a store it
has learned (``{state_dir}/radio.json`` / ``offsets.json``, :mod:`edge.radio_keeper`). Twice the time;
``--warm-minutes`` lets the cold run learn longer (with shoppers in proportion).
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import presence_sweep as ps
from edge.presence_model import ZoneEstimator
from edge.sim.sweep.cells import CELLS
from edge.sim.sweep.judge import BADNESS_CAP, REFERENCES, badness, cell_goals, judge
from edge.sim.sweep.report import fmt

CAP = BADNESS_CAP
"""Badness per cell is capped here (as in docs/presence.md) so one hopeless cell does not drown the rest."""

OTHERS = ("threshold", "nearest", "ema", "oracle")

MODULES = (
    "edge.constants",
    "edge.constants_model",
    "edge.presence_model",
    "edge.presence_model_moves",
    "edge.presence_model_radio",
    "edge.zone_layout",
    "edge.radio_model",
    "edge.advert_rate",
    "edge.sim.sweep.grid",
    "edge.presence_grid",
    "edge.presence_grid_windows",
    "edge.presence_grid_evidence",
    "edge.presence_grid_radio",
    "edge.presence_grid_learn",
    "edge.presence_grid_wall",
    "edge.presence_grid_range",
    "edge.presence_grid_loss",
    "edge.presence_grid_offsets",
    "edge.presence_grid_memory",
    "edge.presence_grid_devices",
    "edge.presence_grid_shade",
    "edge.presence_sure",
    "edge.presence",
    "edge.presence_pauses",
    "edge.presence_offsets",
)
"""Where ``--set`` looks for a constant (every module that has it gets the new value)."""


def override(assignments: list[str]) -> None:
    """Apply ``NAME=VALUE`` (a Python literal or expression of numbers) to every engine module that has NAME."""
    import importlib

    for assignment in assignments:
        name, _, text = assignment.partition("=")
        value = eval(text, {"__builtins__": {}})  # a number or a fraction from the command line
        hit = False
        for module_name in MODULES:
            module = importlib.import_module(module_name)
            if hasattr(module, name):
                setattr(module, name, value)
                hit = True
        if not hit:
            raise SystemExit(f"--set: no constant {name} in {', '.join(MODULES)}")


def held_out(index: int) -> bool:
    return index % 4 == 3


def pick(spec: str) -> list[int]:
    every = range(len(CELLS))
    if spec == "tuning":
        return [i for i in every if not held_out(i)]
    if spec == "held-out":
        return [i for i in every if held_out(i)]
    if spec == "all":
        return list(every)
    return [int(part) for part in spec.split(",")]


def _others(index: int, seed: int, minutes: float, shoppers: int, cache: Path) -> dict[str, ps.Tally]:
    path = cache / f"{index}-{seed}-{minutes:g}-{shoppers}.pickle"
    if path.exists():
        found: dict[str, ps.Tally] = pickle.loads(path.read_bytes())
        return found
    ps.ONLY_ENGINES = set(OTHERS)
    _, tallies, _ = ps.run_one(index, seed, minutes, shoppers)
    path.write_bytes(pickle.dumps(tallies))
    return tallies


ENGINE = "model"
"""``--engine``: the engine tuned (``model``, ``grid`` or the grid's pure-Python prototype ``grid-proto``)."""


class _Recorded(ZoneEstimator):
    """The model engine, remembered so that what its radio learner found can be reported per cell."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        MADE.append(self)


MADE: list[Any] = []
"""The model engines built in this process (the last one's radio() is reported per cell and seed)."""

WARM_SEED = 1000
"""``--warm``: each (cell, seed) is first run cold on seed + this (other shoppers, another radio draw of the same
store), and the seed's run starts from the radio that run ended with (a gateway restarted in the store it learned)."""
WARM = False
WARM_MINUTES: float | None = None
"""``--warm-minutes``: how long the cold run learns (default: as long as the run judged). A gateway keeps what it
learned across restarts, so "restarted in a store it has learned" may mean after hours of traffic, not minutes."""
RECALL: list[Any] = []
"""The radio the next grid engine built starts from (``--warm``), if any."""


def _recorded(engine: type[Any]) -> type[Any]:
    """``engine`` that starts from the radio in RECALL (``--warm``) and is remembered in MADE (its radio reported)."""

    class Recorded(engine):  # type: ignore[misc,valid-type]
        recorded = True

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            if RECALL:
                self.recall(RECALL[0])
            MADE.append(self)

    return Recorded


def one(task: tuple[int, int, float, int, str]) -> tuple[int, dict[str, ps.Tally]]:
    index, seed, minutes, shoppers, cache = task
    tallies = dict(_others(index, seed, minutes, shoppers, Path(cache)))
    ps.ONLY_ENGINES = {ENGINE}
    ps.ZoneEstimator = _Recorded  # type: ignore[attr-defined]  # presence_sweep builds the model engine by this name
    if ENGINE == "grid":  # presence_sweep imports the grid engine from its module when it builds one
        import edge.presence_grid as pg

        if not getattr(pg.GridEstimator, "recorded", False):
            pg.GridEstimator = _recorded(pg.GridEstimator)  # type: ignore[misc]
    if ENGINE == "threshold" and not getattr(ps.PresenceEngine, "recorded", False):
        ps.PresenceEngine = _recorded(ps.PresenceEngine)  # type: ignore[misc]
    RECALL.clear()
    if WARM and ENGINE in ("grid", "threshold"):
        MADE.clear()
        warm_minutes = minutes if WARM_MINUTES is None else WARM_MINUTES
        ps.run_one(index, seed + WARM_SEED, warm_minutes, round(shoppers * warm_minutes / minutes))
        memory = MADE[-1].memory() if MADE else None
        if memory is not None:
            RECALL.append(memory)
    MADE.clear()
    _, mine, _ = ps.run_one(index, seed, minutes, shoppers)
    # (the grid's radio with LEARN_RADIO off: {}; the threshold engine's offsets are not reported here)
    if MADE and ENGINE in mine and ENGINE != "threshold" and (radio := MADE[-1].radio()):
        mine[ENGINE].notes.append({"seed": seed, **radio})
    tallies.update(mine)
    return index, tallies


def cell_inputs(
    tallies: dict[str, ps.Tally],
) -> tuple[dict[str, dict[str, Any]], dict[str, float], dict[str, dict[str, Any]]]:
    """A cell's figures per engine (its seeds merged), its goals (relaxed to the oracle's reach) and the naive
    references' figures: what :func:`edge.sim.sweep.judge.judge` and ``badness`` read."""
    figs = {name: ps.figures(t) for name, t in tallies.items()}
    goals = cell_goals(figs.get("oracle"))
    return figs, goals, {name: figs[name] for name in REFERENCES if name in figs}


def cell_parser(doc: str | None, *, cells: str, seeds: str, jobs: int) -> argparse.ArgumentParser:
    """The options of a run over the sweep's cells with the other engines cached (shared with
    benchmarks/presence_blind_oracle.py)."""
    parser = argparse.ArgumentParser(description=doc.split("\n")[0] if doc else None)
    parser.add_argument("--cells", default=cells, help="tuning, held-out, all, or indices 0,5,9")
    parser.add_argument("--seeds", default=seeds, help="comma-separated seeds")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--shoppers", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=jobs)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "presence-sweep-cache")
    return parser


def run_cells(
    one: Callable[[Any], tuple[int, dict[str, ps.Tally]]], tasks: list[Any], jobs: int, cells: list[int]
) -> dict[int, dict[str, ps.Tally]]:
    """``one`` over ``tasks`` (forked processes when ``jobs`` > 1), the tallies merged per cell."""
    if jobs > 1:
        import multiprocessing

        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            results = pool.map(one, tasks, chunksize=1)
    else:
        results = [one(task) for task in tasks]
    merged: dict[int, dict[str, ps.Tally]] = {i: {} for i in cells}
    for index, tallies in results:
        for name, tally in tallies.items():
            ps._merge(merged[index].setdefault(name, ps.Tally()), tally)
    return merged


def main(argv: list[str] | None = None) -> int:
    parser = cell_parser(__doc__, cells="tuning", seeds="1", jobs=2)
    parser.add_argument("--set", action="append", default=[], help="NAME=VALUE: override a model constant")
    parser.add_argument("--no-floor", action="store_true", help="the model without the cell's floor plan")
    parser.add_argument(
        "--engine",
        default="model",
        help="model, grid (edge/presence_grid.py), or grid-proto (its prototype, edge/sim/sweep/grid.py)",
    )
    parser.add_argument(
        "--warm",
        action="store_true",
        help="grid, threshold: start each run from the radio (the threshold engine: the scanner offsets) a cold run "
        "of the cell learned",
    )
    parser.add_argument(
        "--warm-minutes",
        type=float,
        default=None,
        help="with --warm: how long the cold run learns (default: --minutes), with shoppers in proportion",
    )
    args = parser.parse_args(argv)
    global ENGINE, WARM, WARM_MINUTES
    ENGINE = args.engine
    WARM = args.warm
    WARM_MINUTES = args.warm_minutes
    override(args.set)
    ps.GIVE_FLOOR = not args.no_floor
    args.cache.mkdir(parents=True, exist_ok=True)
    cells = pick(args.cells)
    seeds = [int(s) for s in args.seeds.split(",")]
    tasks = [(i, s, args.minutes, args.shoppers, str(args.cache)) for i in cells for s in seeds]
    merged = run_cells(one, tasks, args.jobs, cells)
    total, passed, per_cell = 0.0, 0, []
    missing: dict[str, int] = {}
    cpu = 0.0
    for index in cells:
        figs, goals, refs = cell_inputs(merged[index])
        figs["model"] = figs[ENGINE]
        missed = judge("model", figs["model"], goals, refs)
        bad = min(CAP, badness(figs["model"], goals))
        total += bad
        passed += not missed
        cpu += figs["model"]["cpu_s"]
        for goal in missed:
            missing[goal] = missing.get(goal, 0) + 1
        f = figs["model"]
        print(
            f"[{index:2d}] {CELLS[index].name[:48]:48s} enter {fmt(f['enter_p95_s']):>6} exit "
            f"{fmt(f['exit_p95_s']):>6} right {f['right_zone_pct']:6.2f} spur {f['spurious_per_shopper_hour']:6.2f}"
            f" bad {bad:5.2f} {','.join(missed)}"
        )
        radio = CELLS[index].radio
        notes = merged[index][ENGINE].notes
        if notes:
            learned = " ".join(
                f"s{n['seed']}:{n['exponent']:.1f}/{fmt(n['learned'])}/{fmt(n['sigma_db'])}/{n['samples']:.0f}"
                for n in notes
            )
            print(
                f"     radio: true n {radio.exponent:g} sigma {radio.sigma_db:g}; "
                f"in use/learned/sigma/samples {learned}"
            )
        per_cell.append(
            {"index": index, "badness": round(bad, 3), "missed": missed, "model": f, "radio": notes,
             "true_exponent": radio.exponent, "true_sigma_db": radio.sigma_db}
        )  # fmt: skip
    print(f"sum of capped badness {total:.1f} over {len(cells)} cells, passed {passed}; model CPU {cpu:.1f} s")
    print("cells missing: " + ", ".join(f"{k} {v}" for k, v in sorted(missing.items())))
    summary: dict[str, Any] = {"badness": round(total, 2), "passed": passed, "cells": len(cells), "seeds": seeds}
    print(json.dumps({"benchmark": "presence_model_tune", **summary, "per_cell": per_cell}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
