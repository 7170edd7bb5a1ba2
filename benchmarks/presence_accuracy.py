"""Presence accuracy on the simulated store, against ground truth, engine versus a naive baseline.

    python benchmarks/presence_accuracy.py [--minutes 60] [--seed 1] [--shoppers 40]
                                           [--engine threshold|model|grid] [--layout plan|positions|none]

The simulator (:mod:`edge.sim`) plays ``--minutes`` of a store with ``--shoppers`` rostered people
(and three times as many anonymous phones). Every item goes through the real :class:`Resolver`
and :class:`PresenceEngine`, ticked every ``TICK_INTERVAL_S`` of trace time, exactly as the
pipeline does. In the same run a BASELINE sees the same sightings: a naive nearest-scanner tracker
(the loudest raw RSSI wins, one threshold for in and out, no smoothing, no dead band, no
hand-off margin -- how ESPresense-style room presence behaves), with the same exit timeout.
``--engine`` picks the presence engine under test (default: the configured ``presence.engine``), built from
the simulated store's config as the gateway builds it (``edge.core``: the model and grid engines are given the
scanners' positions and the floor plan). ``--layout`` says how much of the store's layout that config
carries: ``plan`` (default) the scanners' positions and the floor (``[floor]``: walkable rectangles, doors),
``positions`` the positions only, ``none`` neither (the bundled config before it had a floor plan; the grid
engine needs ``plan``). The threshold engine reads neither.

What is measured, for rostered shoppers (the withdrawn one only until the withdrawal):

- **ground truth** (:mod:`edge.sim.plan`): in zone Z while within ``ZONE_RADIUS_M`` (3 m) of one of Z's scanners;
  in no zone in the aisle, the doorways and outside. Visits are computed exactly from the walks.
- **enter / exit latency**: each true visit is matched to the tracker's visit of the same zone
  overlapping it most (within [-5 s, +10 s] of it); latency = tracker time - true time. A true
  visit the tracker never matched counts as an infinite enter latency.
- **right zone**: every tick, the tracker's zone (None included) against the true one, over the
  seconds the shopper is inside the building, plus any second the tracker places them in a zone
  while they are not (a ghost after they left costs too).
- **spurious zone changes**: each tracker visit not matched to a true visit (a ghost, a flap in and
  out, a detour to a neighbour) is two zone changes that did not happen, per shopper-hour in store.

Goals: enter p95 <= 2 s, exit p95 <= 10 s, right zone >= 95 %, spurious <= 1 per shopper-hour.
The last line is one JSON object (``{"benchmark": "presence_accuracy", ...}``) for ``edge bench``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import msgspec

from edge import constants as c
from edge.beacons.advert import Advertisement
from edge.config import Config, chosen_engine
from edge.floor import FloorConfig
from edge.identity import Resolver
from edge.inputs import Downlink
from edge.presence import PresenceEngine, PresenceEvent, Sighting
from edge.presence_model import ZoneEstimator
from edge.roster import parse_roster
from edge.sim.store import SimulatedStore

if TYPE_CHECKING:
    from edge.presence_grid import GridEstimator

LAYOUTS = ("plan", "positions", "none")
"""``--layout``: what of the store's layout the config tells the engine (see the module docstring)."""

MATCH_BEFORE_S = 5.0
"""A tracker visit may start this long before the true one and still be the same visit."""
MATCH_AFTER_S = 10.0
"""...or end up to this long after it."""
GOALS = {"enter_p95_s": 2.0, "exit_p95_s": 10.0, "right_zone_pct": 95.0, "spurious_per_shopper_hour": 1.0}


class NaiveTracker:
    """The baseline: the loudest raw RSSI wins; in and out at one threshold; timeout when unheard."""

    def __init__(self, config: Config) -> None:
        self._zone_of_scanner = {s: z.id for z in config.zones for s in z.scanners}
        self._threshold = (c.ENTER_RSSI_DBM + c.EXIT_RSSI_DBM) / 2
        self._timeout = c.EXIT_TIMEOUT_S
        self._reference = config.presence.measured_power_1m_dbm
        self._last: dict[str, dict[str, tuple[float, float]]] = {}
        self.zone: dict[str, str] = {}
        self.changes: list[tuple[str, str | None, float]] = []

    def _set(self, token: str, zone: str | None, at: float) -> None:
        if self.zone.get(token) != zone:
            if zone is None:
                del self.zone[token]
            else:
                self.zone[token] = zone
            self.changes.append((token, zone, at))

    def observe(self, s: Sighting) -> None:
        zone = self._zone_of_scanner.get(s.scanner)
        if zone is None:
            return
        level = s.rssi + (0.0 if s.measured_power_1m_dbm is None else self._reference - s.measured_power_1m_dbm)
        heard = self._last.setdefault(s.token, {})
        heard[zone] = (level, s.at)
        current = self.zone.get(s.token)
        if level >= self._threshold:
            held = heard.get(current) if current is not None else None
            if current is None or zone == current or held is None or held[1] < s.at - 1.0 or level > held[0]:
                self._set(s.token, zone, s.at)
        elif zone == current:
            self._set(s.token, None, s.at)

    def tick(self, now: float) -> None:
        for token, zone in list(self.zone.items()):
            if now - self._last[token][zone][1] >= self._timeout:
                self._set(token, None, now)

    def forget(self, token: str) -> None:
        self._last.pop(token, None)
        self.zone.pop(token, None)


@dataclass
class Score:
    enter: list[float] = field(default_factory=list)
    exit: list[float] = field(default_factory=list)
    missed: int = 0
    spurious_visits: int = 0
    right: int = 0
    counted: int = 0
    shopper_s: float = 0.0


def _pct(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def _num(value: float) -> float | None:
    """Rounded for the report; None where there is no finite figure (JSON has no inf or NaN)."""
    return round(value, 2) if math.isfinite(value) else None


def _visits(changes: list[tuple[str | None, float]], end: float) -> list[tuple[str, float, float]]:
    """A tracker's zone changes of one shopper → visits (zone, in, out); out = inf if still there."""
    found: list[tuple[str, float, float]] = []
    current: tuple[str, float] | None = None
    for zone, at in changes:
        if current is not None:
            found.append((current[0], current[1], at))
        current = (zone, at) if zone is not None else None
    if current is not None:
        found.append((current[0], current[1], math.inf))
    return found


def _match(
    score: Score, truth: list[tuple[str, float, float]], seen: list[tuple[str, float, float]], end: float
) -> None:
    used: set[int] = set()
    for zone, a, b in truth:
        best, best_overlap = None, 0.0
        for index, (z, a2, b2) in enumerate(seen):
            if z != zone or index in used:
                continue
            overlap = min(b + MATCH_AFTER_S, b2) - max(a - MATCH_BEFORE_S, a2)
            if overlap > best_overlap:
                best, best_overlap = index, overlap
        if best is None:
            score.missed += 1
            score.enter.append(math.inf)
            continue
        used.add(best)
        _, a2, b2 = seen[best]
        score.enter.append(a2 - a)
        if b < end - MATCH_AFTER_S and b2 < math.inf:
            score.exit.append(b2 - b)
    score.spurious_visits += sum(1 for index, (_, a2, _) in enumerate(seen) if index not in used and a2 < end)


def _figures(score: Score) -> dict[str, object]:
    hours = score.shopper_s / 3600
    return {
        "enter_p50_s": _num(_pct(score.enter, 50)),
        "enter_p95_s": _num(_pct(score.enter, 95)),
        "exit_p50_s": _num(_pct(score.exit, 50)),
        "exit_p95_s": _num(_pct(score.exit, 95)),
        "right_zone_pct": round(100 * score.right / max(1, score.counted), 2),
        "spurious_per_shopper_hour": round(2 * score.spurious_visits / max(hours, 1e-9), 2),
        "visits": len(score.enter),
        "missed_visits": score.missed,
    }


def layout_config(config: Config, layout: str) -> Config:
    """``config`` with the layout ``--layout`` names: ``plan`` as it is, ``positions`` without ``[floor]``,
    ``none`` without ``[floor]`` and ``[[scanners]]``."""
    if layout == "plan":
        return config
    scanners = config.scanners if layout == "positions" else ()
    return msgspec.structs.replace(config, floor=FloorConfig(), scanners=scanners)


def make_engine(config: Config, name: str) -> PresenceEngine | ZoneEstimator | GridEstimator:
    """The presence engine ``name`` on ``config``, as :class:`edge.core.Core` builds it."""
    if name == "model":
        return ZoneEstimator(config.zones, config.presence, config.scanners, config.floor)
    if name == "grid":  # numpy only for the engine that uses it, as edge.core imports it
        from edge.presence_grid import GridEstimator

        return GridEstimator(config.zones, config.presence, config.scanners, config.floor)
    return PresenceEngine(config.zones, config.presence, config.scanners)


def run(
    minutes: float, seed: int, shoppers: int, engine_name: str | None = None, layout: str = "plan"
) -> dict[str, object]:
    store = SimulatedStore(seed=seed, shoppers=shoppers)
    config = layout_config(store.config, layout)
    start, end = store.start, store.start + minutes * 60
    resolver = Resolver()
    under_test = engine_name or chosen_engine(config)  # (the default, "auto": as edge.core chooses)
    engine = make_engine(config, under_test)
    naive = NaiveTracker(config)
    tick_s = config.presence.tick_interval_s
    tokens = [s.token for s in store.shoppers]
    stop_at = dict.fromkeys(tokens, end)
    engine_changes: dict[str, list[tuple[str | None, float]]] = {token: [] for token in tokens}
    in_store = {t: [(trip.legs[0].t1, trip.legs[-1].t0) for trip in store.trips(t, end)] for t in tokens}
    truths = {t: store.visits(t, end) for t in tokens}
    cursor = dict.fromkeys(tokens, 0)
    vcursor = dict.fromkeys(tokens, 0)
    via = {s.token: "eddystone-eid" if s.kind == "eid" else "ibeacon" for s in store.shoppers}
    groups = [(name, kind) for name in ("engine", "baseline") for kind in ("all", "eddystone-eid", "ibeacon")]
    scores = {group: Score() for group in groups}
    adverts = resolved_n = 0

    def note(events: list[PresenceEvent]) -> None:
        for event in events:
            if event.kind != "dwell" and event.token in engine_changes:
                engine_changes[event.token].append((event.zone if event.kind == "entered" else None, event.at))

    def sample(now: float) -> None:
        for token in tokens:
            if now >= stop_at[token]:
                continue
            trips = in_store[token]
            i = cursor[token]
            while i < len(trips) and trips[i][1] < now:
                i += 1
            cursor[token] = i
            inside = i < len(trips) and trips[i][0] <= now
            visits = truths[token]
            j = vcursor[token]
            while j < len(visits) and visits[j][2] < now:
                j += 1
            vcursor[token] = j
            truth = visits[j][0] if j < len(visits) and visits[j][1] <= now else None
            for name, zone in (("engine", engine.zone_of(token)), ("baseline", naive.zone.get(token))):
                if inside or zone is not None:
                    for group in ((name, "all"), (name, via[token])):
                        score = scores[group]
                        score.counted += 1
                        score.right += zone == truth

    started = time.perf_counter()
    next_tick = start + tick_s
    for item in store.items():
        at = item.at
        while next_tick <= at and next_tick <= end:
            note(engine.tick(next_tick))
            naive.tick(next_tick)
            sample(next_tick)
            next_tick += tick_s
        if at > end:
            break
        if type(item) is Advertisement:
            adverts += 1
            found = resolver.resolve(item, at)
            if found is None:
                continue
            resolved_n += 1
            sighting = Sighting(found.token, found.via, item.scanner, item.rssi, found.measured_power_1m_dbm, at)
            events = engine.observe(sighting)
            if events:
                note(events)
            naive.observe(sighting)
        elif type(item) is Downlink:
            if item.topic.endswith("/roster"):
                resolver.set_roster(parse_roster(item.payload))
            elif item.topic.endswith("/consent/withdraw"):
                token = json.loads(item.payload)["token"]
                resolver.withdraw(token)
                engine.forget(token)
                naive.forget(token)
                stop_at[token] = at
    elapsed = time.perf_counter() - started

    naive_changes: dict[str, list[tuple[str | None, float]]] = {token: [] for token in tokens}
    for token, zone, at in naive.changes:
        naive_changes[token].append((zone, at))
    for token in tokens:
        stop = stop_at[token]
        truth = [v for v in truths[token] if v[1] < stop]
        in_store_s = sum(max(0.0, min(b, stop) - a) for a, b in in_store[token] if a < stop)
        for name, changes in (("engine", engine_changes[token]), ("baseline", naive_changes[token])):
            seen = _visits([ch for ch in changes if ch[1] < stop], stop)
            for group in ((name, "all"), (name, via[token])):
                _match(scores[group], truth, seen, stop)
                scores[group].shopper_s += in_store_s
    shopper_s = scores["engine", "all"].shopper_s
    hours = shopper_s / 3600
    report: dict[str, object] = {
        "benchmark": "presence_accuracy",
        "engine_name": under_test,
        "layout": layout,
        "minutes": minutes,
        "seed": seed,
        "shoppers": shoppers,
        "adverts": adverts,
        "resolved": resolved_n,
        "shopper_hours": round(hours, 2),
        "runtime_s": round(elapsed, 1),
    }
    by_via: dict[str, dict[str, dict[str, object]]] = {"engine": {}, "baseline": {}}
    for (name, kind), score in scores.items():
        if kind == "all":
            report[name] = _figures(score)
        else:
            by_via[name][kind] = _figures(score)
    report["engine_by_via"], report["baseline_by_via"] = by_via["engine"], by_via["baseline"]
    engine_figures = report["engine"]
    assert isinstance(engine_figures, dict)
    enter95, exit95 = engine_figures["enter_p95_s"], engine_figures["exit_p95_s"]
    report["goals_met"] = (
        enter95 is not None
        and enter95 <= GOALS["enter_p95_s"]
        and exit95 is not None
        and exit95 <= GOALS["exit_p95_s"]
        and engine_figures["right_zone_pct"] >= GOALS["right_zone_pct"]
        and engine_figures["spurious_per_shopper_hour"] <= GOALS["spurious_per_shopper_hour"]
    )
    return report


def _table(report: dict[str, object]) -> str:
    engine, baseline = report["engine"], report["baseline"]
    assert isinstance(engine, dict)
    assert isinstance(baseline, dict)
    rows = [
        ("enter latency p50 (s)", "enter_p50_s", None),
        ("enter latency p95 (s)", "enter_p95_s", "<= 2"),
        ("exit latency p50 (s)", "exit_p50_s", None),
        ("exit latency p95 (s)", "exit_p95_s", "<= 10"),
        ("shopper-seconds in the right zone (%)", "right_zone_pct", ">= 95"),
        ("spurious zone changes / shopper-hour", "spurious_per_shopper_hour", "<= 1"),
        ("true visits (missed)", "visits", None),
    ]
    lines = [
        f"presence accuracy ({report['engine_name']} engine, layout {report['layout']}): "
        f"{report['minutes']} min, seed {report['seed']}, "
        f"{report['shoppers']} rostered shoppers ({report['shopper_hours']} shopper-hours in store), "
        f"{report['adverts']} adverts "
        f"({report['resolved']} resolved), {report['runtime_s']} s",
        f"{'metric':40} {'engine':>10} {'baseline':>10}  goal",
    ]
    for label, key, goal in rows:
        if key == "visits":
            e, b = (
                f"{engine[key]} ({engine['missed_visits']})",
                f"{baseline[key]} ({baseline['missed_visits']})",
            )
        else:
            e, b = (f"{v:.2f}" if v is not None else "n/a" for v in (engine[key], baseline[key]))
        lines.append(f"{label:40} {e:>10} {b:>10}  {goal or ''}")
    by_via = report.get("engine_by_via")
    if isinstance(by_via, dict):
        for kind, figures in by_via.items():
            lines.append(
                f"  engine, {kind} only: enter p95 {figures['enter_p95_s']} s, exit p95 {figures['exit_p95_s']} s, "
                f"right {figures['right_zone_pct']} %, spurious {figures['spurious_per_shopper_hour']}/h"
            )
    lines.append(f"goals met: {'yes' if report['goals_met'] else 'NO'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--shoppers", type=int, default=40)
    parser.add_argument("--engine", choices=("threshold", "model", "grid"), default=None, help="default: the config's")
    parser.add_argument("--layout", choices=LAYOUTS, default="plan", help="what of the layout the config tells")
    args = parser.parse_args(argv)
    report = run(args.minutes, args.seed, args.shoppers, args.engine, args.layout)
    print(_table(report))
    print(json.dumps(report, allow_nan=False, default=str))
    return 0 if report["goals_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
