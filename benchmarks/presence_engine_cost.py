"""The threshold presence engine's cost per resolved sighting, and proof that a change kept its outputs.

    python -m benchmarks.presence_engine_cost [--seeds 1 2 3] [--minutes 30] [--rounds 3]
                                              [--against DIR] [--pairs 2] [--inputs DIR]

Records what ``benchmarks/presence_accuracy.py``'s store gives the engine (``--minutes`` of seeds
``--seeds``, 40 rostered shoppers): every resolved sighting, every tick (``tick_interval_s`` of trace
time) and every withdrawal, in order, exactly as that benchmark feeds them. Then replays the inputs
through :class:`~edge.presence.PresenceEngine` ``--rounds`` times in a child process and reports
**µs per sighting** of ``observe`` alone (the sightings are built before the clock starts; the time
is taken around each run of sightings between two ticks, best of the rounds) and a digest of every
output: each event's fields and the occupants after every tick, floats as ``repr`` (identical, not
merely close).

``--against DIR`` replays the same inputs through the engine of another checkout too (``git archive
<commit> edge | tar -x -C DIR``: ``edge`` is imported from DIR), alternating the two trees ``--pairs``
times per seed, and fails (exit 1) unless every digest of both trees is the same. ``--inputs DIR``
keeps the recorded inputs there (the store's simulation takes longer than the replays).
Last stdout line: one JSON object.
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


def replay(inputs: list[Input], rounds: int) -> dict[str, Any]:
    """In the child: the engine of whichever ``edge`` is on the path, ``rounds`` times over ``inputs``."""
    from edge.presence import PresenceEngine, Sighting
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
    best_s = float("inf")
    digests: set[str] = set()
    events_n = snapshots_n = 0
    clock = time.perf_counter
    for _ in range(rounds):
        engine = PresenceEngine(config.zones, config.presence)
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
                occupants = engine.occupants()
                digest.update(repr(("occupants", value, occupants)).encode())
                snapshots_n += 1
            else:
                engine.forget(value)
                found = []
            if found:
                digest.update(repr(found).encode())
                events_n += len(found)
        best_s = min(best_s, spent)
        digests.add(digest.hexdigest())
    return {
        "sightings": sightings,
        "events": events_n,
        "snapshots": snapshots_n,
        "observe_us": round(best_s / sightings * 1e6, 3),
        "digests": sorted(digests),
    }


def _child(tree: Path, inputs_file: Path, rounds: int) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": f"{tree}{os.pathsep}{ROOT}"}
    code = (
        "import json, pickle, sys\n"
        "from benchmarks.presence_engine_cost import replay\n"
        "import edge\n"
        "inputs = pickle.loads(open(sys.argv[1], 'rb').read())\n"
        "print(json.dumps({'edge': edge.__file__, **replay(inputs, int(sys.argv[2]))}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(inputs_file), str(rounds)],
        env=env,
        cwd=tree,  # "-c" puts the working directory first on the path
        capture_output=True,
        text=True,
        check=True,
        timeout=1800,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    expected = tree / "edge" / "__init__.py"
    if Path(result["edge"]).resolve() != expected.resolve():
        raise RuntimeError(f"the child imported {result['edge']}, not {expected}")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--rounds", type=int, default=3, help="replays per child; the best is taken")
    parser.add_argument("--pairs", type=int, default=2, help="children per tree and seed, alternating")
    parser.add_argument("--against", type=Path, default=None, help="another checkout's root (its edge/)")
    parser.add_argument("--inputs", type=Path, default=None, help="where the recorded inputs are kept")
    args = parser.parse_args()
    trees: dict[str, Path] = {"new": ROOT}
    if args.against is not None:
        trees = {"old": args.against.resolve(), "new": ROOT}
    results: dict[str, Any] = {}
    same = True
    with tempfile.TemporaryDirectory(prefix="edge-presence-cost-") as scratch:
        keep = args.inputs or Path(scratch)
        keep.mkdir(parents=True, exist_ok=True)
        for seed in args.seeds:
            path = keep / f"presence-inputs-seed{seed}-{args.minutes:g}min.pkl"
            if not path.exists():
                path.write_bytes(pickle.dumps(record(seed, args.minutes), protocol=pickle.HIGHEST_PROTOCOL))
            runs: dict[str, list[dict[str, Any]]] = {name: [] for name in trees}
            for pair in range(args.pairs):
                order = list(trees.items()) if pair % 2 == 0 else list(reversed(trees.items()))
                for name, tree in order:
                    runs[name].append(_child(tree, path, args.rounds))
            digests = {d for found in runs.values() for r in found for d in r["digests"]}
            same = same and len(digests) == 1
            row: dict[str, Any] = {"identical": len(digests) == 1}
            for name, found in runs.items():
                row[name] = {
                    "observe_us": min(r["observe_us"] for r in found),
                    "each_us": [r["observe_us"] for r in found],
                    "sightings": found[0]["sightings"],
                    "events": found[0]["events"],
                    "snapshots": found[0]["snapshots"],
                }
            if "old" in row:
                row["new_over_old"] = round(row["new"]["observe_us"] / row["old"]["observe_us"], 3)
            results[str(seed)] = row
            figures = ", ".join(f"{name} {row[name]['observe_us']:.3f} us {row[name]['each_us']}" for name in trees)
            print(
                f"seed {seed}: {row['new']['sightings']} sightings, {row['new']['events']} events, "
                f"{row['new']['snapshots']} snapshots; observe per sighting (best of {args.rounds} x {args.pairs}): "
                f"{figures}; outputs {'identical' if row['identical'] else 'DIFFER'}",
                flush=True,
            )
    from benchmarks.common import report

    report("presence_engine_cost", {"minutes": args.minutes, "identical": same, "seeds": results})
    return 0 if same else 1


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
