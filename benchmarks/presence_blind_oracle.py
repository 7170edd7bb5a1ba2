"""The BLIND ORACLE: the sweep oracle's algorithm, told only what the model engine is told.

    python benchmarks/presence_blind_oracle.py [--cells tuning|held-out|all|0,5,9] [--seeds 1,2,3]
                                               [--jobs N] [--cache DIR] [--no-model]

A diagnostic that separates *structure* from *knowledge*. The sweep's oracle
(:mod:`edge.sim.sweep.oracle`) is a Bayes filter over a 1 m grid of the floor with a standing and a
walking layer, the silence of scanners that missed an advert, and hysteresis 0.75 / 0.25 -- and it is
told the cell's TRUE radio (exponent, shadowing, fades, body shadowing, scanner errors, wall loss,
hearing range, sensitivity), the true floor (rooms less shelving, the doors) and the walking speed.
The model engine is told none of that: only the gateway config (scanner positions and heights, zone
areas or radii). This engine (``blind``) runs the oracle's code on

- **the floor the model knows**: the bounding box of the zones and scanners widened by
  :data:`~edge.constants_model.MODEL_OUTSIDE_MARGIN_M` (the margin the model's own plan grid has), all of it
  walkable, no walls, the doors at the two ends of its long axis;
- **the radio the model assumes**: :data:`~edge.constants.PATH_LOSS_EXPONENT` and
  :data:`~edge.constants.MEASURED_POWER_1M_DBM` via each advert's declared power (as the model does),
  :data:`~edge.constants_model.MODEL_SIGMA_DB` of shadowing (covering device calibration too),
  :data:`~edge.constants_model.MODEL_OUTLIER_SHARE` of deep fades, no body shadowing, every scanner right,
  :data:`~edge.constants_model.MODEL_LOSS_PRIOR` of lost adverts, hearing range
  :data:`~edge.constants_model.MODEL_FAR_MAX_M` and a generic receiver sensitivity (:data:`SENSITIVITY_DBM`);
  a phone at :data:`~edge.constants_model.MODEL_DEVICE_HEIGHT_M` (the scanner heights are lowered by the
  difference from the oracle's own phone height);
- **a generic shopper**: :data:`WALK_SPEED_M_S`, and a track ended after :data:`SILENCE_S` unheard.

If the blind oracle passes clearly more cells (lower badness) than the model, the grid + walking
structure is the model's gap; if not, the radio knowledge is. The other engines' figures are the
sweep's (cached as in ``benchmarks/presence_model_tune.py``, same cache directory); the model is run
beside (``--no-model`` leaves it out). Needs numpy (the bench extra). The last line is one JSON object.
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path
from typing import Any

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import presence_model_tune as tune
from benchmarks import presence_sweep as ps
from benchmarks.common import report
from edge import constants as c
from edge import constants_model as cm
from edge.config import Config
from edge.presence_model import ZoneEstimator
from edge.sim.sweep.cell import Cell
from edge.sim.sweep.cells import CELLS
from edge.sim.sweep.judge import TICK_S, badness, judge
from edge.sim.sweep.layouts import PHONE_HEIGHT_M, Layout, Scanner, Zone
from edge.sim.sweep.oracle import BayesOracle
from edge.sim.sweep.radio import Radio
from edge.sim.sweep.report import fmt

SENSITIVITY_DBM = -95.0
"""A BLE receiver's sensitivity from its data sheet (-95 to -100 dBm): generic, not the cell's."""
WALK_SPEED_M_S = 1.3
"""The faster end of shoppers' walking speed with a trolley (0.8-1.3 m/s): the oracle is given a cell's
fastest walker, so the blind one assumes a fast one too."""
STREET_M = 4.0
"""blind-plan: where a shopper is before coming in (and after leaving), this far outside each door."""
SILENCE_S = 27.0
"""When a track ends unheard: the oracle's rule (twice the longest pause plus three adverts plus a second)
for the slowest advertiser a store might have, a 0.5 Hz card with 10 s pauses."""
FADE_DB = (10.0, 25.0)
"""Depth of a deep fade (a multipath null): the range BLE measurements in stores show."""

GENERIC_RADIO = Radio(
    exponent=c.PATH_LOSS_EXPONENT,
    sigma_db=cm.MODEL_SIGMA_DB,
    miss=cm.MODEL_LOSS_PRIOR,
    fade_p=cm.MODEL_OUTLIER_SHARE,
    fade_db=FADE_DB,
    body_rate_hz=0.0,
    wall_db=0.0,
    range_m=cm.MODEL_FAR_MAX_M,
    sensitivity_dbm=SENSITIVITY_DBM,
    calibration_sigma_db=0.0,
    scanner_error_db=(),
)
"""The radio the model engine assumes (see the module docstring)."""


class DeafToMisses(BayesOracle):
    """The oracle without the evidence of scanners that did NOT hear an advert (``--no-misses``): which part
    of the grid filter's structure makes it exit sooner than the model."""

    def _close(self, token: str) -> None:
        self._advert.pop(token, None)


VARIANTS: dict[str, tuple[Radio, bool]] = {"blind": (GENERIC_RADIO, False)}
"""Engine name -> (the radio it is told, whether it is told the cell's TRUE floor -- rooms, shelving, doors --
instead of the config's): ``--true-floor`` adds ``blind-floor`` (generic radio, true floor), which splits
what the blind oracle lacks into the floor and the radio; ``--plan`` adds ``blind-plan`` (generic radio, the floor
the config's ``[floor]`` gives: its walkable rectangles and doors); ``--no-misses`` adds ``blind-floor-deaf`` (the
same without the evidence of scanners that missed an advert); ``--variant NAME=FIELD:VALUE,...`` a radio change."""


def blind_layout(config: Config, *, plan: bool = False) -> Layout:
    """The sweep :class:`Layout` of what a gateway config says: zones, scanners, and the floor around them --
    the bounding box with a margin, or with ``plan`` the config's ``[floor]`` (walkable rectangles, doors)."""
    height_shift = cm.MODEL_DEVICE_HEIGHT_M - PHONE_HEIGHT_M
    positions = {s.id: (s.x_m, s.y_m) for s in config.scanners}
    scanners = tuple(Scanner(s.id, s.x_m, s.y_m, s.height_m - height_shift) for s in config.scanners)
    zones: list[Zone] = []
    boxes: list[tuple[float, float, float, float]] = [(x, y, x, y) for x, y in positions.values()]
    for z in config.zones:
        discs = tuple(positions[s] for s in z.scanners if s in positions)
        if z.area_m is not None:
            x0, y0, x1, y1 = z.area_m
            zones.append(Zone(z.id, tuple(z.scanners), ((x0 + x1) / 2, (y0 + y1) / 2), rect=(x0, y0, x1, y1)))
            boxes.append((x0, y0, x1, y1))
        else:
            zones.append(Zone(z.id, tuple(z.scanners), discs[0], discs=discs, radius_m=z.radius_m))
            boxes += [(x - z.radius_m, y - z.radius_m, x + z.radius_m, y + z.radius_m) for x, y in discs]
    floor = config.floor
    if plan and floor.known and len(floor.door) >= 1:
        areas = tuple(area.rect_m for area in floor.area)
        doors = [((d.ends[0][0] + d.ends[1][0]) / 2, (d.ends[0][1] + d.ends[1][1]) / 2) for d in floor.door]
        out = [floor.outward(d) for d in floor.door]
        street = [(x + ox * STREET_M, y + oy * STREET_M) for (x, y), (ox, oy) in zip(doors, out, strict=True)]
        walkway = (doors[0], doors[-1])
        return Layout("blind-plan", areas, tuple(zones), scanners, walkway, street[0], street[-1], areas)
    m = cm.MODEL_OUTSIDE_MARGIN_M
    x0, y0 = min(b[0] for b in boxes) - m, min(b[1] for b in boxes) - m
    x1, y1 = max(b[2] for b in boxes) + m, max(b[3] for b in boxes) + m
    if x1 - x0 >= y1 - y0:
        ends = ((x0, (y0 + y1) / 2), (x1, (y0 + y1) / 2))
    else:
        ends = (((x0 + x1) / 2, y0), ((x0 + x1) / 2, y1))
    room = (x0, y0, x1, y1)
    return Layout("blind", (room,), tuple(zones), scanners, ends, ends[0], ends[1], (room,))


_engines = ps.engines


def engines(cell: Cell, config: Config) -> dict[str, Any]:
    """The sweep's engines plus the blind ones (the sweep's ``--engines`` filter applies to all)."""
    found = _engines(cell, config)
    only = ps.ONLY_ENGINES
    for name, (radio, true_floor) in VARIANTS.items():
        if only is None or name in only:
            layout = cell.layout if true_floor else blind_layout(config, plan=name == "blind-plan")
            kind = DeafToMisses if name.endswith("-deaf") else BayesOracle
            found[name] = lambda layout=layout, radio=radio, kind=kind: kind(
                layout, radio, speed_m_s=WALK_SPEED_M_S, silence_s=SILENCE_S, tick_s=TICK_S
            )
    if TOLD and (only is None or "model-told" in only):
        exponent = cell.radio.exponent if ASSUME is None else ASSUME
        told = msgspec.structs.replace(config.presence, engine="model", path_loss_exponent=exponent)
        found["model-told"] = lambda: ZoneEstimator(config.zones, told, config.scanners)
    return found


TOLD = False
"""``--told``: also ``model-told``, the model engine told the cell's TRUE path-loss exponent (what learning it
online could gain at best)."""
ASSUME: float | None = None
"""``--assume N``: ``model-told`` is told exponent N in every cell instead (a different fixed default)."""

ps.engines = engines  # run_one looks the engines up in its module


def one(task: tuple[int, int, float, int, str, tuple[str, ...]]) -> tuple[int, dict[str, ps.Tally]]:
    index, seed, minutes, shoppers, cache, mine = task
    tallies = dict(tune._others(index, seed, minutes, shoppers, Path(cache)))
    for name in mine:
        path = Path(cache) / f"{name}-{index}-{seed}-{minutes:g}-{shoppers}.pickle"
        if not name.startswith("model") and path.exists():
            tallies.update(pickle.loads(path.read_bytes()))
            continue
        ps.ONLY_ENGINES = {name}
        _, found, _ = ps.run_one(index, seed, minutes, shoppers)
        if not name.startswith("model"):  # the model changes while it is tuned; the blind oracle does not
            path.write_bytes(pickle.dumps(found))
        tallies.update(found)
    return index, tallies


def main(argv: list[str] | None = None) -> int:
    parser = tune.cell_parser(__doc__, cells="all", seeds="1,2,3", jobs=1)
    parser.add_argument("--no-model", action="store_true", help="leave the model engine out")
    parser.add_argument("--told", action="store_true", help="also model-told: the model given the true exponent")
    parser.add_argument("--assume", type=float, default=None, help="model-told: this exponent in every cell")
    parser.add_argument("--no-misses", action="store_true", help="also blind-floor-deaf: no missed-advert evidence")
    parser.add_argument("--true-floor", action="store_true", help="also blind-floor: generic radio, the true floor")
    parser.add_argument("--plan", action="store_true", help="also blind-plan: generic radio, the config's [floor]")
    parser.add_argument(
        "--variant", action="append", default=[], help="NAME=FIELD:VALUE,...: another blind oracle, radio changed"
    )
    args = parser.parse_args(argv)
    for spec in args.variant:
        name, _, changes = spec.partition("=")
        fields = dict(part.split(":") for part in changes.split(",") if part)
        VARIANTS[name] = (GENERIC_RADIO.but(**{k: float(v) for k, v in fields.items()}), False)
    global TOLD
    global ASSUME
    TOLD = args.told or args.assume is not None
    ASSUME = args.assume
    if args.true_floor:
        VARIANTS["blind-floor"] = (GENERIC_RADIO, True)
    if args.plan:
        VARIANTS["blind-plan"] = (GENERIC_RADIO, False)
    if args.no_misses:
        VARIANTS["blind-floor-deaf"] = (GENERIC_RADIO, True)
    args.cache.mkdir(parents=True, exist_ok=True)
    cells = tune.pick(args.cells)
    seeds = [int(s) for s in args.seeds.split(",")]
    mine = (*VARIANTS, *(() if args.no_model else ("model",)), *(("model-told",) if TOLD else ()))
    tasks = [(i, s, args.minutes, args.shoppers, str(args.cache), mine) for i in cells for s in seeds]
    merged = tune.run_cells(one, tasks, args.jobs, cells)
    names = [n for n in ("model", "model-told", "threshold", "oracle", *VARIANTS) if n in merged[cells[0]]]
    total = dict.fromkeys(names, 0.0)
    held = dict.fromkeys(names, 0.0)
    passed = dict.fromkeys(names, 0)
    missing: dict[str, dict[str, int]] = {n: {} for n in names}
    cpu = dict.fromkeys(names, 0.0)
    per_cell: list[dict[str, Any]] = []
    for index in cells:
        figs, goals, refs = tune.cell_inputs(merged[index])
        row: dict[str, Any] = {"index": index}
        print(f"[{index:2d}] {CELLS[index].name[:70]}")
        for name in names:
            f = figs[name]
            missed = judge(name, f, goals, refs)
            bad = min(tune.CAP, badness(f, goals))
            total[name] += bad
            held[name] += bad if tune.held_out(index) else 0.0
            passed[name] += not missed
            cpu[name] += f["cpu_s"]
            for goal in missed:
                missing[name][goal] = missing[name].get(goal, 0) + 1
            row[name] = {**f, "badness": round(bad, 3), "goals_missed": missed}
            print(
                f"     {name:10s} enter {fmt(f['enter_p95_s']):>6} exit {fmt(f['exit_p95_s']):>6} right "
                f"{f['right_zone_pct']:6.2f} spur {f['spurious_per_shopper_hour']:6.2f} bad {bad:5.2f} "
                f"{','.join(missed) or 'pass'}"
            )
        per_cell.append(row)
    print()
    for name in names:
        print(
            f"{name:10s} passed {passed[name]:2d} of {len(cells)}, sum of capped badness {total[name]:6.1f} "
            f"(held out {held[name]:5.1f}), CPU {cpu[name]:6.1f} s; cells missing: "
            + ", ".join(f"{k} {v}" for k, v in sorted(missing[name].items()))
        )
    summary = {
        "cells": len(cells), "seeds": seeds,
        "passed": passed, "badness": {n: round(v, 2) for n, v in total.items()},
        "badness_held_out": {n: round(v, 2) for n, v in held.items()},
        "cpu_s": {n: round(v, 1) for n, v in cpu.items()},
        "missing": missing, "per_cell": per_cell,
    }  # fmt: skip
    report("presence_blind_oracle", summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
