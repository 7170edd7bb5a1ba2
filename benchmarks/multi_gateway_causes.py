"""Where the wrong seconds of several gateways go (issue 18): every second a stream places a shopper in
the wrong zone ("none" included), by cause, for the CDP's merged stream of three ``edge run``
processes beside the same store through ONE engine hearing every scanner and the sweep's oracle.

Reads runs saved by ``benchmarks/multi_gateway.py --save F`` (``--reference also`` adds the one-box
process); ``--seeds`` without ``--load``: the offline streams only. The streams:

- ``three``: the CDP's merged stream, each event at its stamp (as ``multi_gateway.py`` judges it);
  ``three_sent``: each event when the CDP got it (:func:`sent_rows`; a peer's sightings are stamped
  when the peer heard them, before the gateway had them);
- ``one``: one engine hearing every scanner, offline (:func:`offline_rows`: stamp = decision);
  ``one_process`` / ``one_process_sent``: the same as one ``edge run`` process (``--reference``);
- ``oracle``: the sweep's oracle, offline (:func:`oracle_rows`).

Every counted wrong stretch (:func:`counted_stretches`, the right-zone judge's own) gets one cause
from the settled truth:

- ``lag_entry`` / ``lag_exit`` / ``lag_handoff`` (a): the stream says what was true at some moment
  of the last :data:`LAG_MAX_S` (none while truly in a zone, a zone while truly in none, the previous
  zone while truly in the next): the entry, exit or hand-off latency;
- ``early``: it says what becomes true within :data:`LAG_MAX_S`;
- ``steady_wrong_zone`` (c): a zone, truly in another one, neither recent nor coming;
- ``zone_in_none`` / ``none_in_zone`` (d): a zone while truly in none / none while truly in a zone,
  beyond a lag;
- ``other`` (e).

Each stream's wrong seconds are then split, moment by moment, by what ``one`` said then. For the
three boxes: ``engine`` (``one`` said the same wrong thing: the engine's physics, whatever the boxes),
``peers`` (b: ``one`` was right: the several-gateways layer's own -- the summaries' slots, the
claims, the new owner's wait, the pipeline), ``both_wrong`` (wrong, differently), and ``peers_help``:
seconds the three boxes were right and ``one`` wrong; for the others ``as_one`` / ``one_right`` /
``right_one_wrong``.

The last stdout line is one JSON object (benchmarks/common.py).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import report
from benchmarks.multi_gateway import (
    SPACING_M,
    Row,
    _walks,
    changes_from,
    merged_rows,
    offline_rows,
    oracle_rows,
    sent_rows,
)
from benchmarks.presence_accuracy import _visits
from edge.sim.multi import MultiStore
from edge.sim.sweep.judge import Visit, counted_stretches, settle

LAG_MAX_S = 10.0
"""A stream still saying what was true before the last true change is a lag (the engine's entry, exit or
hand-off latency) up to this long after it: the exit goal's order (an exit judged on ~10 s of silence);
beyond, the same wrong answer is a missed or a stuck one, (c) or (d)."""
NO_PROCESSES_START = 1_800_000_000.0
"""``--seeds`` without saved runs: any start (as ``multi_gateway.py --only offline``)."""


def cause_of(real: str | None, placed: str | None, mid: float, truth: list[Visit]) -> str:
    """The cause of one wrong moment ``mid`` (``real`` != ``placed``) from the settled ``truth``."""
    if true_within(placed, truth, mid - LAG_MAX_S, mid):
        if real is None:
            return "lag_exit"
        return "lag_entry" if placed is None else "lag_handoff"
    if true_within(placed, truth, mid, mid + LAG_MAX_S):
        return "early"
    if real is not None and placed is not None:
        return "steady_wrong_zone"
    if real is None and placed is not None:
        return "zone_in_none"
    if real is not None and placed is None:
        return "none_in_zone"
    return "other"


def true_within(zone: str | None, truth: list[Visit], a: float, b: float) -> bool:
    """Was ``zone`` (``None``: no zone) the true answer at some moment of [a, b)?"""
    if zone is not None:
        return any(z == zone and t0 < b and t1 > a for z, t0, t1 in truth)
    covered = a
    for _, t0, t1 in sorted(truth, key=lambda v: v[1]):
        if t0 > covered:
            break
        covered = max(covered, t1)
    return covered < b


def shifted(rows: dict[str, list[Row]], by: float) -> dict[str, list[Row]]:
    return {token: [(at + by, kind, zone, g) for at, kind, zone, g in mine] for token, mine in rows.items()}


def seen_of(stream: list[Row], end: float) -> list[Visit]:
    return _visits(changes_from([(at, kind, zone, None) for at, kind, zone, _ in stream]), end)


def place(seen: list[Visit], t: float) -> str | None:
    return next((z for z, a, b in seen if a <= t < b), None)


def decompose(run: dict[str, Any], streams: dict[str, dict[str, list[Row]]]) -> dict[str, Any]:
    """Each stream's wrong seconds by cause, and the three boxes' (``streams["three"]``) split by what
    the one box (``streams["one"]``) said at the same moment."""
    start, seconds = run["start"], run["seconds"]
    end = start + seconds
    store = MultiStore(gateways=3, seed=run["seed"], start=start, spacing_m=SPACING_M)
    out: dict[str, Any] = {name: {} for name in streams}
    splits: dict[str, dict[str, float]] = {}
    counted = dict.fromkeys(streams, 0.0)
    for walk in _walks(store, run["shoppers"], seconds, run.get("walks", "row")):
        truth, transits = settle([v for v in store.visits(walk) if v[1] < end])
        came, left = store.inside(walk)
        inside = (min(came, end), min(left, end))
        seens = {name: seen_of(rows.get(walk.token, []), end) for name, rows in streams.items()}
        for name, seen in seens.items():
            for a, b, real, placed in counted_stretches(truth, transits, seen, inside, walk.start, end):
                counted[name] += b - a
                if real != placed:
                    cause = cause_of(real, placed, (a + b) / 2, truth)
                    out[name][cause] = out[name].get(cause, 0.0) + b - a
        for name, three in seens.items():
            if name == "one":
                continue
            split = splits.setdefault(f"{name}_vs_one", {})
            labels = (
                ("engine", "peers", "peers_help")
                if name.startswith("three")
                else ("as_one", "one_right", "right_one_wrong")
            )
            vs_one(split, labels, three, seens["one"], truth, transits, inside, walk.start, end)
    result: dict[str, Any] = {"seed": run["seed"], "walks": run.get("walks", "row")}
    for name in streams:
        wrong = sum(out[name].values())
        result[name] = {
            "right_zone_pct": round(100 * (1 - wrong / max(counted[name], 1e-9)), 2),
            "counted_s": round(counted[name], 1),
            "wrong_s": round(wrong, 1),
            "by_cause": {k: round(v, 1) for k, v in sorted(out[name].items(), key=lambda kv: -kv[1])},
        }
    for name, split in splits.items():
        result[name] = {k: round(v, 1) for k, v in sorted(split.items(), key=lambda kv: -kv[1])}
    return result


def vs_one(
    split: dict[str, float], labels: tuple[str, str, str], three: list[Visit], one: list[Visit],
    truth: list[Visit], transits: list[Visit], inside: tuple[float, float], start: float, end: float,
) -> None:  # fmt: skip
    """``three``'s wrong seconds split by what ``one`` said at the same moment (see the module docstring):
    ``labels`` name the same wrong answer, ``one`` right, and ``three`` right where ``one`` is wrong."""
    same, one_right, helps = labels
    for a, b, real, placed in counted_stretches(truth, transits, three, inside, start, end):
        marks = sorted({a, b, *(t for _, t0, t1 in one for t in (t0, t1) if a < t < b)})
        for c, d in itertools.pairwise(marks):
            mid = (c + d) / 2
            other = place(one, mid)
            if real == placed:
                if other != real:
                    split[helps] = split.get(helps, 0.0) + d - c
                continue
            cause = cause_of(real, placed, mid, truth)
            who = same if other == placed else one_right if other == real else "both_wrong"
            key = f"{who}:{cause}"
            split[key] = split.get(key, 0.0) + d - c


def total(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The seeds' seconds summed, per stream and cause."""
    out: dict[str, Any] = {}
    for r in results:
        for name, figs in r.items():
            if name in ("seed", "walks"):
                continue
            mine = out.setdefault(name, {})
            for k, v in (figs.get("by_cause", figs) if isinstance(figs, dict) else {}).items():
                if isinstance(v, (int, float)):
                    mine[k] = round(mine.get(k, 0.0) + v, 1)
            if "wrong_s" in figs:
                mine["=wrong_s"] = round(mine.get("=wrong_s", 0.0) + figs["wrong_s"], 1)
                mine["=counted_s"] = round(mine.get("=counted_s", 0.0) + figs["counted_s"], 1)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--load", type=Path, nargs="*", default=[], help="runs saved by multi_gateway.py --save")
    parser.add_argument("--seeds", type=int, nargs="*", default=[], help="without processes: one box and oracle only")
    parser.add_argument("--walks", choices=("row", "doors"), default="row", help="with --seeds")
    parser.add_argument("--seconds", type=float, default=90.0, help="with --seeds")
    parser.add_argument("--shoppers", type=int, default=8, help="with --seeds")
    parser.add_argument("--engine", default="threshold", help="the one box's engine (the runs' own)")
    parser.add_argument("--no-oracle", action="store_true", help="skip the oracle (its filter is the slow part)")
    args = parser.parse_args(argv)
    results = []
    loaded = [run for path in args.load for run in json.loads(path.read_text())]
    references = {(r["seed"], r.get("walks", "row")): r for r in loaded if r["reference"]}
    runs = [run for run in loaded if not run["reference"]]
    runs += [
        {"seed": seed, "start": NO_PROCESSES_START, "seconds": args.seconds, "shoppers": args.shoppers,
         "walks": args.walks, "reference": False, "engine": args.engine}
        for seed in args.seeds
    ]  # fmt: skip
    for run in runs:
        streams: dict[str, dict[str, list[Row]]] = {}
        if "events" in run:
            events = [(g, e, at) for g, e, at in run["events"]]
            streams["three"] = merged_rows(events)
            streams["three_sent"] = sent_rows(events)
        reference = references.get((run["seed"], run.get("walks", "row")))
        if reference is not None:  # its own run: its own start (the store and walks are the seed's)
            events = [(g, e, at) for g, e, at in reference["events"]]
            shift = run["start"] - reference["start"]
            streams["one_process"] = shifted(merged_rows(events), shift)
            streams["one_process_sent"] = shifted(sent_rows(events), shift)
        streams["one"] = offline_rows(run, run.get("engine", args.engine))
        if not args.no_oracle:
            streams["oracle"] = oracle_rows(run)
        one = decompose(run, streams)
        print(f"causes: {json.dumps(one)}", flush=True)
        results.append(one)
    report("multi_gateway_causes", {"runs": results, "total": total(results), "lag_max_s": LAG_MAX_S})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
