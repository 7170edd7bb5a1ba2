"""Why the model engine enters late: adverts and seconds from a true entry until it enters, and where its
posterior is at the true entry.

    python benchmarks/presence_model_entry.py [--minutes 15] [--seed 1] [--shoppers 40]

Plays the bundled simulated store (:mod:`edge.sim.store`, as ``benchmarks/presence_accuracy.py``) through the
real resolver into :class:`edge.presence_model.ZoneEstimator`. For every true visit of at least
:data:`MIN_VISIT_S` that the estimator enters, it counts the shopper's resolved adverts from the true entry
until the zone's posterior reached ``MODEL_ENTER_P``, and records the posterior at the first advert after the
true entry: the zone, a step outside it, further out, far, and every other zone's places. Prints the
percentiles and the mean split; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.presence_accuracy import _pct
from edge.beacons.advert import Advertisement
from edge.identity import Resolver
from edge.inputs import Downlink
from edge.presence import Sighting
from edge.presence_model import ZoneEstimator
from edge.roster import parse_roster
from edge.sim.store import SimulatedStore

MIN_VISIT_S = 5.0
"""Visits shorter than this are left out (a shopper passing through is not what is asked about)."""

PARTS = ("zone", "step outside", "further out", "far", "other zones")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--minutes", type=float, default=15.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--shoppers", type=int, default=40)
    args = parser.parse_args(argv)
    store = SimulatedStore(seed=args.seed, shoppers=args.shoppers)
    config = store.config
    engine = ZoneEstimator(config.zones, config.presence, config.scanners)
    layout, tick_s = engine._layout, config.presence.tick_interval_s
    start, end = store.start, store.start + args.minutes * 60
    pending = {s.token: [v for v in store.visits(s.token, end) if v[2] - v[1] >= MIN_VISIT_S] for s in store.shoppers}
    watching: dict[str, tuple[str, float, list[int], list[float]]] = {}
    found: list[tuple[float, int, list[float]]] = []
    resolver = Resolver()

    def split(token: str, zone: str) -> list[float]:
        p = engine._tracks[token].p
        total = sum(p)
        k = layout.zone_ids.index(zone) + 1
        parts = [engine._mass(p, k), p[layout.rings[k - 1]], p[layout.outer[k - 1]], p[0]]
        return [v / total for v in parts] + [1.0 - sum(parts) / total]

    next_tick = start + tick_s
    for item in store.items():
        at = item.at
        while next_tick <= at and next_tick <= end:
            engine.tick(next_tick)
            next_tick += tick_s
        if at > end:
            break
        if type(item) is Downlink:
            if item.topic.endswith("/roster"):
                resolver.set_roster(parse_roster(item.payload))
            continue
        if type(item) is not Advertisement:
            continue
        hit = resolver.resolve(item, at)
        if hit is None:
            continue
        token = hit.token
        visits = pending.get(token, [])
        while visits and visits[0][1] <= at:
            zone, began, _ = visits.pop(0)
            watching[token] = (zone, began, [0], [])
        events = engine.observe(Sighting(token, hit.via, item.scanner, item.rssi, hit.measured_power_1m_dbm, at))
        watch = watching.get(token)
        if watch is None:
            continue
        zone, began, count, first = watch
        count[0] += 1
        if not first:
            first.extend(split(token, zone))
        if any(e.kind == "entered" and e.zone == zone for e in events):
            found.append((at - began, count[0], first))
            del watching[token]
    seconds = [f[0] for f in found]
    adverts = [float(f[1]) for f in found]
    mean = [round(sum(f[2][i] for f in found) / max(len(found), 1), 3) for i in range(len(PARTS))]
    print(f"{len(found)} visits entered (of >= {MIN_VISIT_S:g} s), seed {args.seed}, {args.minutes:g} min")
    print(f"seconds from the true entry: p50 {_pct(seconds, 50):.2f}, p95 {_pct(seconds, 95):.2f}")
    print(f"adverts from the true entry: p50 {_pct(adverts, 50):.0f}, p95 {_pct(adverts, 95):.0f}")
    print("posterior at the true entry (mean): " + ", ".join(f"{n} {v}" for n, v in zip(PARTS, mean, strict=True)))
    summary = {
        "visits": len(found),
        "seconds_p50": round(_pct(seconds, 50), 2),
        "seconds_p95": round(_pct(seconds, 95), 2),
        "adverts_p50": _pct(adverts, 50),
        "adverts_p95": _pct(adverts, 95),
        "posterior_at_entry": dict(zip(PARTS, mean, strict=True)),
    }
    print(json.dumps({"benchmark": "presence_model_entry", **summary}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
