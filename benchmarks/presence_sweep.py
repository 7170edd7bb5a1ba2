"""Presence SWEEP: every presence engine on many simulated stores, radios, advertisers and shoppers.

    python benchmarks/presence_sweep.py [--minutes 10] [--shoppers 20] [--seeds 3] [--first-seed 1] [--only TEXT]
                                        [--jobs N] [--png PATH] [--quick] [--engines all|NAME,...]
                                        [--stamp-jitter-ms MS] [--device-sigma-db DB] [--contradict-share P]
                                        [--json]

The sweep simulator (:mod:`edge.sim.sweep`) plays each cell (:data:`edge.sim.sweep.cells.CELLS`:
today's store as the base, then one axis changed at a time, then a few hard combinations) for
``--seeds`` seeds. Every engine gets the same resolved sightings, ticked every 0.25 s of trace
time, and the gateway config of the cell's layout (scanner positions, zone areas, the ``[floor]`` plan:
walkable rectangles and doors) but never its radio parameters:

- ``grid``: :class:`edge.presence_grid.GridEstimator` (the Bayes filter over floor positions; run by default
  since session 13, when the cell's floor plan is given, as it is unless ``GIVE_FLOOR`` is off);
- ``model``: :class:`edge.presence_model.ZoneEstimator` (only with ``--engines model,...`` or ``--engines all``:
  :data:`OPT_IN`);
- ``threshold``: :class:`edge.presence.PresenceEngine` (the gateway's default engine);
- ``nearest``, ``ema``: naive references (:mod:`edge.sim.sweep.references`);
- ``oracle``: a Bayes filter over positions given the TRUE radio model (:mod:`edge.sim.sweep.oracle`):
  the practical limit of the cell.

Figures per cell and engine, over all seeds, with presence_accuracy's definitions (a true visit
matched to the tracker's visit overlapping it most; ground truth = inside the zone's area): enter
and exit latency p95, right zone (% of the time in the building, or placed in a zone, that the
tracker's zone is the true one), spurious zone changes per shopper-hour -- except that the ground
truth is first settled (:func:`edge.sim.sweep.judge.settle`): visits of one zone less than 3 s apart
are one, and a visit shorter than 3 s is a transit no engine must report (nor is charged for).

Goals per cell: exit p95 <= 8 s and right zone >= 95 %; enter p95 <= 3 s and spurious <= 0.5 per
shopper-hour -- or, where the oracle itself misses those, enter p95 <= 1.25 x the oracle's and
spurious <= the oracle's + 0.5; and no worse than either naive reference on any figure (beyond the
measurement's grain, :data:`RESOLUTION`).

``--stamp-jitter-ms MS``: the engines under test hear each reading stamped up to MS later than it was heard (uniform,
one draw per reading, the same for every engine; in the order of the moved stamps), as a gateway's radios stamp one
advert a few ms apart -- every simulator here stamps one advert's readings with one time (docs/presence.md, "One
advert, several stamps (session 41)"). The references and the oracle hear the true stamps.

``--contradict-share P``: for a share P of each shopper's adverts, the engines under test hear one more reading that
contradicts the others -- by a scanner that did not hear the advert, at least 20 m from the one that heard it loudest,
10-20 dB under that reading: a reflection, a relayed advert, a scanner placed wrong in the config (docs/presence.md,
"Session 49: a contradicted track starts again at its loudest reading"). The references and the oracle hear the
true readings.

``--device-sigma-db DB``: every cell's devices DB (one standard deviation, per device) louder or quieter than the power
their adverts declare, where the sweep's own are within 1 dB -- as phone models differ at one declared power; the
oracle is told it (docs/presence.md, "The grid learns each shopper's device (session 44)").
The last line is one JSON object (``{"benchmark": "presence_sweep", ...}``) for ``edge bench``;
the exit status is 1 when the engine under test (``--under-test``; default ``grid``, else ``model``, else
``threshold``) misses a cell.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pickle
import random
import sys
import time
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import msgspec

from benchmarks.common import pin_to_one_core, report
from benchmarks.presence_accuracy import _pct, _visits
from edge.config import Config, chosen_engine
from edge.presence import PresenceEngine, PresenceEvent, Sighting
from edge.presence_model import ZoneEstimator
from edge.sim.sweep import Run, simulate
from edge.sim.sweep.cell import Cell
from edge.sim.sweep.cells import CELLS
from edge.sim.sweep.judge import (
    BADNESS_CAP,
    REFERENCES,
    TICK_S,
    Score,
    agreement,
    badness,
    cell_goals,
    judge,
    match,
    settle,
)
from edge.sim.sweep.references import EmaMargin, NearestScanner
from edge.sim.sweep.report import fmt, heat_map, table

try:  # the oracle needs numpy (the bench extra)
    from edge.sim.sweep.oracle import BayesOracle, silence_s
except ImportError:
    BayesOracle = None  # type: ignore[assignment,misc,unused-ignore]

QUICK_CELLS = (0, 1, 6, 11, 25, 42)
"""--quick: a few cells of different axes, for the plumbing."""

Engine = Any
"""Anything with observe(Sighting) -> events, tick(now) -> events, zone_of(token)."""


GIVE_FLOOR = True
"""Whether the engines' config carries the cell's floor plan (``[floor]``: walkable rectangles and doors);
``benchmarks/presence_model_tune.py --no-floor`` compares the model without it."""

ONLY_ENGINES: set[str] | None = None
"""--engines: run only these (the references and the oracle are still needed for the verdicts); ``all``: every
engine, the opt-in ones too."""

HEARD: Callable[[Run], list[tuple[float, Sighting]]] | None = None
"""How the engines under test get a run's sightings: None, each at its time (:func:`feed`); else the (arrival,
sighting) pairs this gives, in arrival order (:func:`feed_arrivals`: ``benchmarks/presence_peers.py``, a gateway
hearing most scanners through its peers' summaries). The references and the oracle always hear every sighting at
its time."""

OPT_IN = frozenset({"model", "grid-proto"})
"""Engines run only when ``--engines`` names them (or says ``all``). Issue #13's table needs the new engine (the grid),
today's (threshold), the two naive references and the oracle; the model engine passes no cell and cost 40.1 s of the
sweep's 267.3 s of CPU (8d5f804, alone), so it no longer rides along by default (``--engines all`` for the full
picture). ``grid-proto`` is the grid's pure-Python prototype, for its cost table only."""


def wanted(name: str) -> bool:
    """Whether this run makes the engine ``name``: by default every engine not in :data:`OPT_IN`."""
    if ONLY_ENGINES is None:
        return name not in OPT_IN
    return "all" in ONLY_ENGINES or name in ONLY_ENGINES


def engines(cell: Cell, config: Config) -> dict[str, Callable[[], Engine]]:
    """The engines of one cell, by name, the engine under test first."""
    found: dict[str, Callable[[], Engine]] = {}
    if wanted("model"):
        model_presence = msgspec.structs.replace(config.presence, engine="model")
        found["model"] = lambda: ZoneEstimator(config.zones, model_presence, config.scanners, config.floor)
    found["threshold"] = lambda: PresenceEngine(config.zones, config.presence, config.scanners)
    found["nearest"] = lambda: NearestScanner(config.zones, config.presence)
    found["ema"] = lambda: EmaMargin(config.zones, config.presence)
    if BayesOracle is not None:
        mix = cell.mix
        quiet = silence_s([mix.slowest_interval_s], mix.longest_pause_s)
        speed = cell.walk.speed_m_s[1]
        found["oracle"] = lambda: BayesOracle(cell.layout, cell.radio, speed_m_s=speed, silence_s=quiet, tick_s=TICK_S)
    if config.floor.known:  # the grid engines need a floor; the grid is the model-based engine that does best
        if wanted("grid"):
            from edge.presence_grid import GridEstimator

            found["grid"] = lambda: GridEstimator(config.zones, config.presence, config.scanners, config.floor)
        if wanted("grid-proto"):  # the pure-Python prototype, only when asked
            from edge.sim.sweep.grid import SparseGrid

            found["grid-proto"] = lambda: SparseGrid(config)
    return {name: make for name, make in found.items() if wanted(name)}


def schedule(run: Run) -> list[tuple[int, float]]:
    """The ticks of ``run`` in :func:`feed`'s order: (the number of sightings before it, its time) -- every
    ``TICK_S`` from ``run.start`` (the times summed as feed sums them) up to the last sighting or ``run.end``; a tick
    comes before a sighting of its own time. Made once per run (:data:`_SCHEDULE`), shared by its engines."""
    if _SCHEDULE and _SCHEDULE[0][0] is run:
        return _SCHEDULE[0][1]
    times = [s.at for s in run.sightings]
    top = max(run.end, times[-1]) if times else run.end
    ticks: list[tuple[int, float]] = []
    next_tick = run.start + TICK_S
    while next_tick <= top:
        ticks.append((bisect_left(times, next_tick), next_tick))
        next_tick += TICK_S
    _SCHEDULE[:] = [(run, ticks)]
    return ticks


_SCHEDULE: list[tuple[Run, list[tuple[int, float]]]] = []
"""The last run's :func:`schedule` (the run kept with it, so that it is never taken for another's)."""


Changes = dict[str, list[tuple[str | None, float]]]
"""Each token's zone changes as an engine said them: (zone, or None for an exit; its time)."""


def _changes() -> tuple[Changes, Callable[[Iterable[PresenceEvent]], None]]:
    """An empty :data:`Changes` and the function that notes events' zone changes in it (a dwell is none)."""
    changes: Changes = defaultdict(list)

    def note(events: Iterable[PresenceEvent]) -> None:
        for e in events:
            if e.kind == "entered":
                changes[e.token].append((e.zone, e.at))
            elif e.kind == "exited":
                changes[e.token].append((None, e.at))

    return changes, note


def feed(engine: Engine, run: Run) -> dict[str, list[tuple[str | None, float]]]:
    """Every sighting and tick into ``engine``, in time order (a tick before a sighting of its own time); its zone
    changes per token. The sightings between two ticks go through ``observe`` by ``map`` and the empty answers are
    dropped by ``filter``, at C speed (the same calls in the same order as a loop over them)."""
    changes, note = _changes()
    observe, tick, sightings = engine.observe, engine.tick, run.sightings
    done = 0
    for before, at in schedule(run):
        if before > done:
            for events in filter(None, map(observe, sightings[done:before])):
                note(events)
            done = before
        events = tick(at)
        if events:
            note(events)
    for events in filter(None, map(observe, sightings[done:])):
        note(events)
    return changes


DEVICE_SIGMA_MAX_DB = 10.0
"""``--device-sigma-db`` at most 10 dB: phone models differ by several dB at one declared power, not by tens."""
STAMP_JITTER_MAX_MS = 1000.0
"""``--stamp-jitter-ms`` at most a second: one advert's stamps, not a clock's error (a run whose stamps moved hours
would tick through them every 0.25 s)."""


def jittered(max_s: float) -> Callable[[Run], list[tuple[float, Sighting]]]:
    """A :data:`HEARD` for ``--stamp-jitter-ms``: each sighting of a run stamped (and arriving) up to ``max_s`` later,
    uniform, from a generator seeded by the run's start (the same stamps for every engine), in the moved order."""

    def heard(run: Run) -> list[tuple[float, Sighting]]:
        rng = random.Random(round(run.start * 1000))  # (a simulation)
        moved = []
        for s in run.sightings:
            at = s.at + rng.uniform(0.0, max_s)
            moved.append((at, Sighting(s.token, s.via, s.scanner, s.rssi, s.measured_power_1m_dbm, at)))
        moved.sort(key=lambda pair: pair[0])
        return moved

    return heard


CONTRADICT_MAX = 0.5
"""``--contradict-share`` at most half the adverts: a store where most adverts contradict is a misconfigured one."""
CONTRADICT_FROM_M = 20.0
"""The contradicting scanner is at least this far from the advert's loudest: no place hears both as they read."""
CONTRADICT_UNDER_DB = (10.0, 20.0)
"""How far under the advert's loudest reading the contradicting one is (uniform): a reflection's, or a relay's
heard from afar -- louder than the path to a scanner 20 m away would allow, quieter than the true loudest."""


def contradicted(
    share: float, then: Callable[[Run], list[tuple[float, Sighting]]] | None = None
) -> Callable[[Run], list[tuple[float, Sighting]]]:
    """A :data:`HEARD` for ``--contradict-share``: the run's readings, and for ``share`` of the adverts (a token's
    readings with one stamp) one more by a scanner that did not hear it, at least :data:`CONTRADICT_FROM_M` from the
    loudest one's, :data:`CONTRADICT_UNDER_DB` under it -- from a generator seeded by the run's start (the same for
    every engine); then ``then`` (``--stamp-jitter-ms``) if given, else each at its stamp."""

    def heard(run: Run) -> list[tuple[float, Sighting]]:
        rng = random.Random(round(run.start * 1000) + 1)  # (a simulation; not the jitter's draw)
        places = {s.id: (s.x_m, s.y_m) for s in run.cell.layout.config().scanners}
        adverts: dict[tuple[str, float], list[Sighting]] = defaultdict(list)
        for sighting in run.sightings:
            adverts[(sighting.token, sighting.at)].append(sighting)
        out: list[Sighting] = []
        for readings in adverts.values():
            out.extend(readings)
            if rng.random() >= share:
                continue
            loudest = max(readings, key=lambda s: s.rssi)
            heard_by = {s.scanner for s in readings}
            far = [
                scanner
                for scanner, place in places.items()
                if scanner not in heard_by and math.dist(place, places[loudest.scanner]) >= CONTRADICT_FROM_M
            ]
            if far:
                rssi = round(loudest.rssi - rng.uniform(*CONTRADICT_UNDER_DB))
                s = loudest
                out.append(Sighting(s.token, s.via, rng.choice(far), rssi, s.measured_power_1m_dbm, s.at))
        out.sort(key=lambda s: s.at)
        if then is not None:
            return then(replace(run, sightings=out))
        return [(s.at, s) for s in out]

    return heard


def feed_arrivals(
    engine: Engine, arrivals: list[tuple[float, Sighting]], run: Run
) -> dict[str, list[tuple[str | None, float]]]:
    """:func:`feed` for sightings that arrive after they were heard (``arrivals``: (arrival, sighting) in arrival
    order): each observed at its arrival, the ticks every ``TICK_S`` from ``run.start`` between them (a tick before
    an arrival of its own time) up to the run's end or the last arrival; its zone changes per token."""
    changes, note = _changes()
    top = max(run.end, arrivals[-1][0]) if arrivals else run.end
    next_tick = run.start + TICK_S  # (summed as schedule() sums it: the same ticks as feed's)
    for arrived, sighting in arrivals:
        while next_tick <= arrived:
            note(engine.tick(next_tick))
            next_tick += TICK_S
        note(engine.observe(sighting))
    while next_tick <= top:
        note(engine.tick(next_tick))
        next_tick += TICK_S
    return changes


@dataclass
class Tally:
    """One engine's score in one cell, summed over seeds."""

    score: Score = field(default_factory=Score)
    seconds: float = 0.0
    error: str | None = None
    notes: list[dict[str, Any]] = field(default_factory=list)
    """What an engine reports of itself per seed (the model's learned radio: presence_model_tune.py)."""


def fresh(
    name: str, make: Callable[[], Engine], built: dict[Hashable, bytes] | None, key: Hashable | None = None
) -> Engine:
    """A new engine: ``make()`` -- or, given ``built`` (engines as they were made, pickled, by ``key``: by default the
    name), one unpickled from it: an engine is pure, so a copy of a new one is a new one, and the floors the grid
    and the model precompute (5-60 ms) are made once instead of once per seed (a copy: 0.1-5 ms). An engine
    that cannot be pickled is made every time."""
    if built is None:
        return make()
    key = name if key is None else key
    blob = built.get(key)
    if blob is None:
        engine = make()
        try:
            built[key] = pickle.dumps(engine, protocol=pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, TypeError, AttributeError):
            built[key] = b""
        return engine
    return pickle.loads(blob) if blob else make()  # (our own engine, pickled in this process)


def run_one(
    index: int, seed: int, minutes: float, shoppers: int, built: dict[Hashable, bytes] | None = None
) -> tuple[int, dict[str, Tally], float]:
    """Simulate cell ``index`` with ``seed`` and score every engine on it (``built``: see :func:`fresh`; an engine but
    the oracle is kept by its name and the cell's config, all it is given, so cells of one layout share it; the oracle,
    told the cell's radio, by its name alone: the caller drops it when the cell changes)."""
    cell = CELLS[index]
    started = time.process_time()
    run = simulate(cell, seed, minutes=minutes, shoppers=shoppers)
    schedule(run)  # (the run's ticks, made once and shared by every engine: the run's cost, not the first engine's)
    sim_s = time.process_time() - started
    config = cell.layout.config(floor=GIVE_FLOOR)
    shared = msgspec.json.encode(config) if built is not None else b""
    tallies: dict[str, Tally] = {}
    for name, make in engines(cell, config).items():
        tally = tallies[name] = Tally()
        started = time.process_time()
        try:
            key = name if name == "oracle" else (name, shared)
            engine = fresh(name, make, built, key)
            if HEARD is None or name in REFERENCES or name == "oracle":
                changes = feed(engine, run)
            else:
                changes = feed_arrivals(engine, HEARD(run), run)
        except Exception as err:  # a new engine's bug must not hide the others' figures
            tally.error = f"{type(err).__name__}: {err}"
            continue
        tally.seconds = time.process_time() - started
        score = tally.score
        for shopper in run.shoppers:
            seen = _visits(changes.get(shopper.token, []), run.end)
            truth, transits = settle([v for v in shopper.truth if v[1] < run.end])
            match(score, truth, transits, seen, run.end)
            inside = (shopper.in_store[0], min(shopper.in_store[1], run.end))
            agreement(score, truth, transits, seen, inside, run.start, run.end)
            score.shopper_s += max(0.0, inside[1] - inside[0])
    return index, tallies, sim_s


def _merge(into: Tally, other: Tally) -> None:
    a, b = into.score, other.score
    a.enter += b.enter
    a.exit += b.exit
    a.missed += b.missed
    a.spurious_visits += b.spurious_visits
    a.right_s += b.right_s
    a.counted_s += b.counted_s
    a.shopper_s += b.shopper_s
    into.seconds += other.seconds
    into.error = into.error or other.error
    into.notes.extend(getattr(other, "notes", []))  # tallies cached before notes existed have none


def figures(tally: Tally) -> dict[str, Any]:
    s = tally.score
    hours = s.shopper_s / 3600

    def num(value: float) -> float | None:
        return round(value, 2) if math.isfinite(value) else None

    return {
        "enter_p95_s": num(_pct(s.enter, 95)),
        "exit_p95_s": num(_pct(s.exit, 95)),
        "right_zone_pct": round(100 * s.right_s / max(s.counted_s, 1e-9), 2),
        "spurious_per_shopper_hour": round(2 * s.spurious_visits / max(hours, 1e-9), 2),
        "visits": len(s.enter),
        "missed": s.missed,
        "shopper_hours": round(hours, 2),
        "cpu_s": round(tally.seconds, 2),
        "error": tally.error,
    }


def sweep(
    cells: list[int], seeds: int, minutes: float, shoppers: int, jobs: int, first_seed: int = 1
) -> tuple[list[dict[str, Any]], float]:
    tasks = [(i, seed, minutes, shoppers) for i in cells for seed in range(first_seed, first_seed + seeds)]
    merged: dict[int, dict[str, Tally]] = {i: {} for i in cells}
    sim_s = 0.0
    if jobs > 1:
        import multiprocessing

        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            results = pool.starmap(run_one, tasks, chunksize=1)
    else:  # one process: each layout's engines are made once, the oracle once per cell (fresh())
        built: dict[Hashable, bytes] = {}
        results = []
        for k, task in enumerate(tasks):
            if k and task[0] != tasks[k - 1][0]:
                built.pop("oracle", None)  # (the last cell's)
            results.append(run_one(*task, built=built))
    for index, tallies, took in results:
        sim_s += took
        for name, tally in tallies.items():
            _merge(merged[index].setdefault(name, Tally()), tally)
    rows: list[dict[str, Any]] = []
    for index in cells:
        cell = CELLS[index]
        figs = {name: figures(t) for name, t in merged[index].items()}
        goals = cell_goals(figs.get("oracle"))
        refs = {name: figs[name] for name in REFERENCES if name in figs}
        verdicts = {name: judge(name, f, goals, refs) for name, f in figs.items()}
        rows.append({
            "index": index, "cell": cell.name, "axis": cell.axis, "layout": cell.layout.name, "goals": goals,
            "engines": figs, "missed": verdicts, "pass": {n: not v for n, v in verdicts.items()},
            "default": chosen_engine(cell.layout.config(floor=GIVE_FLOOR)),
        })  # fmt: skip
    return rows, sim_s


def pin_threads() -> int:
    """Pin every thread of this process to the calling thread's cores; returns how many were moved. Linux's
    sched_setaffinity(0) (:func:`~benchmarks.common.pin_to_one_core`) pins the calling thread alone, and numpy's
    OpenBLAS starts a worker thread per other core at import, free to run there (in the sweep it works little: its
    products are small, and process_time() counts it either way -- 0.06 s of a 298 s run at 212f10f)."""
    try:
        cores = os.sched_getaffinity(0)
        threads = [int(tid) for tid in os.listdir("/proc/self/task")]
    except (AttributeError, OSError):  # not Linux
        return 0
    moved = 0
    for tid in threads:
        try:
            if os.sched_getaffinity(tid) != cores:
                os.sched_setaffinity(tid, cores)
                moved += 1
        except OSError:  # (a thread that ended meanwhile)
            continue
    return moved


YARDSTICK = "nearest"
"""The engine whose CPU time the sweep's is divided by (``runtime_per_yardstick``): the nearest-scanner reference,
unchanged since the sweep began, a few lines of pure Python fed the same sightings -- so the ratio says what the
sweep costs whatever the speed of a shared machine that hour (its runs of 2026-12-01 to 03 took 6.1-14.6 s)."""


def capped_badness(row: dict[str, Any], name: str) -> float:
    """How far engine ``name``'s worst figure in the cell ``row`` is from its goal, capped at 5 (1: met)."""
    return min(BADNESS_CAP, badness(row["engines"][name], row["goals"]))


def default_engine(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The gateway's default engine (``[presence] engine = "auto"``: :func:`edge.config.chosen_engine` of each cell's
    config) over the cells: passed, capped badness, in how many the grid runs; None unless both engines ran."""
    if not rows or any(row["default"] not in row["engines"] for row in rows):
        return None
    return {
        "passed": sum(1 for row in rows if row["pass"][row["default"]]),
        "capped_badness": round(sum(capped_badness(row, row["default"]) for row in rows), 2),
        "grid_cells": sum(1 for row in rows if row["default"] == "grid"),
    }


def per_yardstick(runtime_cpu_s: float, rows: list[dict[str, Any]]) -> float | None:
    """The sweep's CPU over :data:`YARDSTICK`'s in the same run, summed over the cells unrounded (None: it did not
    run, or too briefly to divide by)."""
    base = sum(r["engines"][YARDSTICK]["cpu_s"] for r in rows if YARDSTICK in r["engines"])
    return round(runtime_cpu_s / base, 1) if base > 0.05 else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--shoppers", type=int, default=20)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument(
        "--first-seed", type=int, default=1, help="seeds FIRST..FIRST+SEEDS-1 (another set: is a change general?)"
    )
    parser.add_argument("--only", default=None, help="cells whose name contains this text")
    parser.add_argument("--jobs", type=int, default=1, help="processes (the runtime goal is for one)")
    parser.add_argument("--png", type=Path, default=None, help="write a heat map of the sweep here")
    parser.add_argument("--quick", action="store_true", help="a few cells, one seed, 4 minutes: the plumbing")
    parser.add_argument("--under-test", default=None, help="the engine the worst cells and exit status are about")
    parser.add_argument(
        "--engines", default=None, help="comma-separated: run only these engines; all: every engine (the model too)"
    )
    parser.add_argument("--save", type=Path, default=None, help="also write the JSON report to this file")
    parser.add_argument(
        "--stamp-jitter-ms",
        type=float,
        default=0.0,
        help="the engines under test hear each reading stamped up to this much later (one advert's radios differ)",
    )
    parser.add_argument(
        "--device-sigma-db",
        type=float,
        default=None,
        help="every cell's devices this far (sd, dB) from the power they declare (the sweep's own: 1 dB; "
        "edge/presence_grid_devices.py)",
    )
    parser.add_argument(
        "--contradict-share",
        type=float,
        default=0.0,
        help="this share of adverts gets one more reading from a scanner 20 m or more from the loudest, 10-20 dB under "
        "it (a reflection, a relayed advert, a scanner placed wrong)",
    )
    parser.add_argument("--json", action="store_true", help="(the JSON line is always printed last)")
    args = parser.parse_args(argv)
    if not 0.0 <= args.contradict_share <= CONTRADICT_MAX:
        parser.error(f"--contradict-share: a share from 0 to {CONTRADICT_MAX:g}")
    if not 0.0 <= args.stamp_jitter_ms <= STAMP_JITTER_MAX_MS:  # (NaN fails both comparisons)
        parser.error(f"--stamp-jitter-ms: ms from 0 to {STAMP_JITTER_MAX_MS:g} (one advert's stamps)")
    if args.device_sigma_db is not None:
        if not 0.0 <= args.device_sigma_db <= DEVICE_SIGMA_MAX_DB:
            parser.error(f"--device-sigma-db: dB from 0 to {DEVICE_SIGMA_MAX_DB:g} (a phone model's spread)")
        global CELLS
        sigma = args.device_sigma_db
        CELLS = tuple(replace(c, radio=c.radio.but(calibration_sigma_db=sigma)) for c in CELLS)
    global HEARD
    if args.stamp_jitter_ms > 0.0:
        HEARD = jittered(args.stamp_jitter_ms / 1000.0)
    if args.contradict_share > 0.0:
        HEARD = contradicted(args.contradict_share, HEARD)
    if args.engines:
        global ONLY_ENGINES
        ONLY_ENGINES = set(args.engines.split(","))
    cells = list(range(len(CELLS)))
    if args.quick:
        cells, args.seeds, args.minutes, args.shoppers = list(QUICK_CELLS), 1, 4.0, 12
    if args.only:
        cells = [i for i in cells if args.only.lower() in CELLS[i].name.lower()]
    pinned = (
        f"{pin_to_one_core()}, {pin_threads()} other threads moved to it"
        if args.jobs == 1
        else f"{args.jobs} processes"
    )
    started, cpu_started = time.perf_counter(), time.process_time()
    rows, sim_s = sweep(cells, args.seeds, args.minutes, args.shoppers, args.jobs, args.first_seed)
    runtime = time.perf_counter() - started
    runtime_cpu = time.process_time() - cpu_started
    names = list(rows[0]["engines"]) if rows else []
    under_test = args.under_test or next((n for n in ("grid", "model", "threshold") if n in names), names[0])
    passes = {n: sum(1 for r in rows if r["pass"].get(n)) for n in names}
    cpu = {n: round(sum(r["engines"][n]["cpu_s"] for r in rows), 1) for n in names}
    if args.jobs > 1:  # the work was done by the pool's processes: add up what they measured
        runtime_cpu = sum(cpu.values()) + sim_s
    worst = sorted(rows, key=lambda r: -badness(r["engines"][under_test], r["goals"]))[:8]
    print(table(rows))
    print()
    print(f"worst cells for {under_test} (largest ratio of a figure to its goal):")
    for r in worst:
        f = r["engines"][under_test]
        print(
            f"  [{r['index']:2d}] {r['cell']}: enter {fmt(f['enter_p95_s'])} s, exit {fmt(f['exit_p95_s'])} s, "
            f"right {f['right_zone_pct']:.1f} %, spurious {f['spurious_per_shopper_hour']:.2f}/h "
            f"(oracle: {fmt(r['engines'].get('oracle', {}).get('enter_p95_s'))} s, "
            f"{r['engines'].get('oracle', {}).get('spurious_per_shopper_hour', 'n/a')}/h) -- "
            f"{', '.join(r['missed'][under_test]) or 'pass'}"
        )
    print()
    print(f"cells passed (of {len(rows)}): " + ", ".join(f"{n} {passes[n]}" for n in names))
    default = default_engine(rows)
    if default is not None:
        print(
            f'the default engine ([presence] engine = "auto": the grid in the {default["grid_cells"]} drawn stores, '
            f"the threshold engine in the rest): {default['passed']} cells passed, "
            f"capped badness {default['capped_badness']}"
        )
    print("CPU seconds per engine: " + ", ".join(f"{n} {cpu[n]}" for n in names) + f", simulation {sim_s:.1f}")
    print(
        f"runtime: {runtime:.1f} s wall, {runtime_cpu:.1f} s CPU ({len(rows)} cells x {args.seeds} seeds, "
        f"{args.minutes:g} min, {args.shoppers} shoppers, {pinned})"
    )
    yardstick = per_yardstick(runtime_cpu, rows)
    if yardstick is not None:
        print(
            f"the sweep's CPU is {yardstick:.1f}x the {YARDSTICK} reference's in this run ({cpu[YARDSTICK]} s): "
            "the machine's speed that hour cancels out of this ratio"
        )
    if BayesOracle is None:
        print("oracle: numpy not installed -- skipped; goals are the absolute ones")
    if args.png:
        heat_map(rows, args.png)
        print(f"heat map: {args.png}")
    summary = {
        "cells": len(rows), "seeds": args.seeds, "first_seed": args.first_seed, "minutes": args.minutes,
        "stamp_jitter_ms": args.stamp_jitter_ms, "contradict_share": args.contradict_share,
        "shoppers": args.shoppers,
        "runtime_s": round(runtime, 1), "runtime_cpu_s": round(runtime_cpu, 1), "jobs": args.jobs,
        "engines": names, "under_test": under_test,
        "runtime_per_yardstick": yardstick,
        "pass_count": passes, "default_engine": default, "cpu_s": cpu,
        "capped_badness": {n: round(sum(capped_badness(r, n) for r in rows), 2) for n in names},
        "goals_met": bool(rows) and passes.get(under_test, 0) == len(rows),
        "worst": [r["cell"] for r in worst],
        "results": [{k: v for k, v in r.items() if k != "goals"}
                    | {"goals": {k: (None if math.isinf(v) else v) for k, v in r["goals"].items()}} for r in rows],
    }  # fmt: skip
    if args.save:
        args.save.write_text(json.dumps({"benchmark": "presence_sweep", **summary}))
    report("presence_sweep", summary)
    return 0 if passes.get(under_test, 0) == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
