"""The threshold presence engine's cost per resolved sighting, and proof that a change kept its outputs.

    python -m benchmarks.presence_engine_cost [--seeds 1 2 3] [--minutes 30] [--rounds 3]
                                              [--against DIR] [--inputs DIR]

Records what ``benchmarks/presence_accuracy.py``'s store gives the engine (``--minutes`` of seeds
``--seeds``, 40 rostered shoppers): every resolved sighting, every tick (``tick_interval_s`` of trace
time) and every withdrawal, in order, exactly as that benchmark feeds them. Then replays the inputs
through :class:`~edge.presence.PresenceEngine` ``--rounds`` times and reports **µs per sighting** of
``observe`` alone (the sightings are built before the clock starts; the time is taken around each
run of sightings between two ticks; best of the rounds) and a digest of every output: each event's
fields and the occupants after every tick, floats as ``repr`` (identical, not merely close).

``--against DIR`` replays the same inputs through the engine of another checkout too (``git archive
<commit> edge | tar -x -C DIR``), alternating round by round, and fails (exit 1) unless every digest of
both engines is the same. Each round of either tree runs in a process of its own whose ``edge`` is that
tree's (``PYTHONPATH``; the whole package, so an older tree reads its own ``edge.constants``, not this
tree's, where a constant may have moved), and hands back its figures as JSON; the process's start and
the reading of the inputs are outside the timed part. ``--inputs DIR`` keeps the recorded inputs there
(recording takes longer than a replay). Last stdout line: one JSON object.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SHOPPERS = 40
"""presence_accuracy's default store."""

Input = tuple[str, Any]
"""("s", (token, via, scanner, rssi, power, at)) | ("t", now) | ("f", token)."""


def record(seed: int, minutes: float) -> list[Input]:
    """What presence_accuracy's store gives the engine, in its order (the same resolver and ticks)."""
    from edge.beacons.advert import Advertisement
    from edge.identity import Resolver
    from edge.inputs import Downlink
    from edge.roster import parse_roster
    from edge.sim.store import SimulatedStore

    store = SimulatedStore(seed=seed, shoppers=SHOPPERS)
    tick_s = store.config.presence.tick_interval_s
    start, end = store.start, store.start + minutes * 60
    resolver = Resolver()
    inputs: list[Input] = []
    next_tick = start + tick_s
    for item in store.items():
        at = item.at
        while next_tick <= at and next_tick <= end:
            inputs.append(("t", next_tick))
            next_tick += tick_s
        if at > end:
            break
        if type(item) is Advertisement:
            found = resolver.resolve(item, at)
            if found is not None:
                inputs.append(("s", (found.token, found.via, item.scanner, item.rssi, found.measured_power_1m_dbm, at)))
        elif type(item) is Downlink:
            if item.topic.endswith("/roster"):
                resolver.set_roster(parse_roster(item.payload))
            elif item.topic.endswith("/consent/withdraw"):
                token = json.loads(item.payload)["token"]
                resolver.withdraw(token)
                inputs.append(("f", token))
    return inputs


WORKER = "--one-round"
"""The hidden command line of one round in a tree's own process: ``WORKER TREE INPUTS_PICKLE``."""


def one_round(tree: Path, inputs: Path) -> dict[str, Any]:
    """One replay of the recorded ``inputs`` through ``tree``'s engine, in a process whose ``edge`` is
    ``tree``'s own package (checked: the worker names the file it imported), figures back as JSON."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    command = [sys.executable, str(Path(__file__).resolve()), WORKER, str(tree), str(inputs)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{tree}: the engine's round failed (exit {done.returncode}):\n{done.stderr[-4000:]}")
    row: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    imported = Path(row.pop("edge")).resolve()
    if not imported.is_relative_to(tree.resolve()):
        raise SystemExit(f"{tree}: its round imported edge from {imported}, not from the tree")
    return row


def worker(tree: Path, inputs: Path) -> int:
    """:data:`WORKER`: one round of this process's ``edge`` (the tree's, by ``PYTHONPATH``) as one JSON line."""
    import edge
    from edge.presence import PresenceEngine

    row = replay(pickle.loads(inputs.read_bytes()), 1, {"engine": PresenceEngine})["engine"]
    print(json.dumps({"edge": edge.__file__, "tree": str(tree), **row}))
    return 0


def alternate(trees: dict[str, Path], inputs: Path, rounds: int) -> dict[str, dict[str, Any]]:
    """:func:`one_round` of each tree ``rounds`` times, alternating (old, new, new, old, ...), merged as
    :func:`replay` merges its rounds."""
    found_by: dict[str, dict[str, Any]] = {name: {"each_us": [], "digests": set()} for name in trees}
    order = list(trees.items())
    for index in range(rounds):
        for name, tree in order if index % 2 == 0 else reversed(order):
            one = one_round(tree, inputs)
            row = found_by[name]
            row["each_us"].extend(one["each_us"])
            row["digests"].update(one["digests"])
            for key in ("sightings", "events", "snapshots"):
                row[key] = one[key]
    for row in found_by.values():
        row["observe_us"] = min(row["each_us"])
        row["digests"] = sorted(row["digests"])
    return found_by


def replay(inputs: list[Input], rounds: int, engines: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each engine ``rounds`` times over ``inputs``, alternating (old, new, new, old, ...)."""
    from edge.presence import Sighting
    from edge.sim.store import default_config

    config = default_config()
    # runs of sightings between ticks/withdrawals, built before any clock starts
    steps: list[tuple[str, Any]] = []
    run: list[Sighting] = []
    for kind, value in inputs:
        if kind == "s":
            run.append(Sighting(*value))
            continue
        if run:
            steps.append(("s", run))
            run = []
        steps.append((kind, value))
    if run:
        steps.append(("s", run))
    sightings = sum(len(v) for k, v in steps if k == "s")
    found_by: dict[str, dict[str, Any]] = {
        name: {"sightings": sightings, "each_us": [], "digests": set()} for name in engines
    }
    clock = time.perf_counter
    order = list(engines.items())
    for index in range(rounds):
        for name, engine_class in order if index % 2 == 0 else reversed(order):
            engine = engine_class(config.zones, config.presence)
            observe = engine.observe
            digest = hashlib.sha256()
            spent = 0.0
            events_n = snapshots_n = 0
            for kind, value in steps:
                if kind == "s":
                    found = []
                    t0 = clock()
                    for sighting in value:
                        events = observe(sighting)
                        if events:
                            found.extend(events)
                    spent += clock() - t0
                elif kind == "t":
                    found = engine.tick(value)
                    digest.update(repr(("occupants", value, engine.occupants())).encode())
                    snapshots_n += 1
                else:
                    engine.forget(value)
                    found = []
                if found:
                    digest.update(repr(found).encode())
                    events_n += len(found)
            row = found_by[name]
            row["each_us"].append(round(spent / sightings * 1e6, 3))
            row["digests"].add(digest.hexdigest())
            row["events"], row["snapshots"] = events_n, snapshots_n
    for row in found_by.values():
        row["observe_us"] = min(row["each_us"])
        row["digests"] = sorted(row["digests"])
    return found_by


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--rounds", type=int, default=3, help="replays per engine; the best is taken")
    parser.add_argument("--against", type=Path, default=None, help="another checkout's root (its edge/)")
    parser.add_argument("--inputs", type=Path, default=None, help="where the recorded inputs are kept")
    args = parser.parse_args()
    from edge.presence import PresenceEngine

    engines: dict[str, Any] = {"new": PresenceEngine}
    trees = None if args.against is None else {"old": args.against.resolve(), "new": ROOT}
    results: dict[str, Any] = {}
    same = True
    with tempfile.TemporaryDirectory(prefix="edge-presence-cost-") as scratch:
        keep = args.inputs or Path(scratch)
        keep.mkdir(parents=True, exist_ok=True)
        for seed in args.seeds:
            path = keep / f"presence-inputs-seed{seed}-{args.minutes:g}min.pkl"
            if not path.exists():
                path.write_bytes(pickle.dumps(record(seed, args.minutes), protocol=pickle.HIGHEST_PROTOCOL))
            if trees is None:
                rows = replay(pickle.loads(path.read_bytes()), args.rounds, engines)
            else:
                rows = alternate(trees, path, args.rounds)
            digests = {d for row in rows.values() for d in row["digests"]}
            same = same and len(digests) == 1
            result: dict[str, Any] = {"identical": len(digests) == 1}
            for name, row in rows.items():
                result[name] = {key: row[key] for key in ("observe_us", "each_us", "sightings", "events", "snapshots")}
            if "old" in result:
                result["new_over_old"] = round(result["new"]["observe_us"] / result["old"]["observe_us"], 3)
            results[str(seed)] = result
            new = result["new"]
            figures = ", ".join(
                f"{name} {result[name]['observe_us']:.3f} us {result[name]['each_us']}" for name in rows
            )
            print(
                f"seed {seed}: {new['sightings']} sightings, {new['events']} events, {new['snapshots']} snapshots; "
                f"observe per sighting (best of {args.rounds}, alternating): {figures}; "
                f"outputs {'identical' if result['identical'] else 'DIFFER'}",
                flush=True,
            )
    from benchmarks.common import report

    report("presence_engine_cost", {"minutes": args.minutes, "identical": same, "seeds": results})
    return 0 if same else 1


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == WORKER:  # one round in a tree's own process: its edge, not ROOT's
        sys.exit(worker(Path(sys.argv[2]), Path(sys.argv[3])))
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
