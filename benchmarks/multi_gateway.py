"""Several gateways in one store (issue 18), as ``edge run`` processes on a real mosquitto.

1. **Accuracy** — a row of 3 zones 7 m apart (each scanner hears its neighbours' zones: overlapping
   coverage), shoppers walking the row end to end (edge/sim/multi.py), each gateway replaying only
   what its own scanner heard, in real time. Judged from the CDP's merged stream
   (``edge/v1/+/+/events/#``) against the simulator's ground truth, with
   benchmarks/presence_accuracy.py's matching: hand-off between gateways p95 (the shopper enters
   gateway j's zone → gateway j speaks for it; goal ≤ 3 s), spurious changes per shopper-hour
   (≤ 0.5), right zone (≥ 95 %), moments with two owners and duplicate ``entered`` (0).
2. **Cost** — 100 present shoppers spread over the row, at 3 and 8 gateways: store-local traffic
   per gateway (bytes/s sent, and received, per present shopper) and CPU per gateway process
   (``/proc/PID/stat`` utime + stime over the window), beside one gateway alone (no ``[store]``)
   with the same trace, the baseline of the same run.

The last stdout line is one JSON object (benchmarks/common.py).
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import report
from benchmarks.presence_accuracy import Score, _figures, _match, _pct, _visits
from edge.sim.multi import MultiStore, Walk, gateway_id
from tests.mosquitto import Collector, Mosquitto
from tests.multi_gateway_store import ProcessStore
from tests.test_multi_gateway import check_one_owner, presence_stream

GOALS = {"handoff_p95_s": 3.0, "spurious_per_shopper_hour": 0.5, "right_zone_pct": 95.0}
DWELL_S = 20.0
"""Accuracy run: seconds a shopper stays in each zone of the row (then walks 7 m to the next)."""
SAMPLE_S = 0.5
"""Ground truth and the CDP's view compared every half second."""
WARM_UP_S = 8.0
"""Cost runs: processes started, shoppers entered and ownership settled before the window opens."""
CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (``/proc/PID/stat`` fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def changes_from(stream: list[tuple[float, str, str, str | None]]) -> list[tuple[str | None, float]]:
    """The CDP's zone changes of one shopper: entered → its zone, exited → nowhere. A hand-off's
    ``entered`` naming the zone the shopper is already in changes nothing (one visit, two speakers)."""
    out: list[tuple[str | None, float]] = []
    for at, kind, zone, _ in stream:
        where = zone if kind == "entered" else None
        if not out or out[-1][0] != where:
            out.append((where, at))
    return out


def accuracy(work: Path, seconds: float, shoppers: int, seed: int) -> dict[str, Any]:
    start = time.time() + 1.0
    store = MultiStore(gateways=3, seed=seed, start=start, spacing_m=7.0)
    walks = store.walks(shoppers, seconds * 0.5, dwell_s=DWELL_S)
    walks = [Walk(w.index, w.start + 4.0, w.stops, w.dwell_s) for w in walks]  # after the processes start
    with (
        Mosquitto(work / "broker-accuracy") as broker,
        ProcessStore(work / "accuracy", broker, store, walks, seconds, shoppers=shoppers) as gateways,
    ):
        time.sleep(max(0.0, start + seconds + 8.0 - time.time()))  # the last exits
        events = gateways.events()
    end = start + seconds
    rows: dict[str, list[tuple[float, str, str, str | None]]] = {}
    for gateway, event, _ in events:
        if event["type"] in ("edge.presence.entered", "edge.presence.exited"):
            data = event["data"]
            at = _event_time(event)
            rows.setdefault(data["token"], []).append((at, event["type"].rsplit(".", 1)[1], data["zone"], gateway))
    score = Score()
    handoffs: list[float] = []
    right = counted = 0
    for walk in walks:
        stream = sorted(rows.get(walk.token, []))
        truth = _truth_visits(store, walk, end)
        seen = _visits(changes_from([(at, kind, zone, None) for at, kind, zone, _ in stream]), end)
        _match(score, truth, seen, end)
        score.shopper_s += SAMPLE_S * sum(
            store.position(walk, walk.start + i * SAMPLE_S) is not None
            for i in range(int((end - walk.start) / SAMPLE_S))
        )
        # Hand-off: the shopper enters gateway j's zone (not its first) → gateway j's first event after.
        for number, (zone, a, _b) in enumerate(truth):
            if number == 0:
                continue
            owner = gateway_id(int(zone[1:]) - 1)
            later = [at for at, _, _, g in stream if g == owner and at >= a - 2.0]
            handoffs.append(later[0] - a if later else math.inf)
        t = walk.start
        while t < end:
            here = store.truth(walk, t)
            said = _zone_at(stream, t)
            if here is not None or said is not None:
                counted += 1
                right += here == said
            t += SAMPLE_S
    score.right, score.counted = right, counted
    merged = presence_stream([(g, e) for g, e, _ in events])
    doubles, duplicates, n_handoffs = check_one_owner(merged)
    figures = _figures(score)
    return {
        "seconds": seconds,
        "shoppers": shoppers,
        "handoff_p50_s": _num(_pct(handoffs, 50)),
        "handoff_p95_s": _num(_pct(handoffs, 95)),
        "handoffs_judged": len(handoffs),
        "handoffs_missed": sum(1 for h in handoffs if not math.isfinite(h)),
        "handoffs_with_from_gateway": n_handoffs,
        "right_zone_pct": figures["right_zone_pct"],
        "spurious_per_shopper_hour": figures["spurious_per_shopper_hour"],
        "enter_p95_s": figures["enter_p95_s"],
        "visits": figures["visits"],
        "missed_visits": figures["missed_visits"],
        "double_owner_moments": doubles,
        "duplicate_entered": duplicates,
    }


def _num(value: float) -> float | None:
    return round(value, 2) if math.isfinite(value) else None


def _event_time(event: dict[str, Any]) -> float:
    from edge.timefmt import parse_start

    return parse_start(str(event["time"]))


def _truth_visits(store: MultiStore, walk: Walk, end: float) -> list[tuple[str, float, float]]:
    """Ground-truth visits (zone, in, out) sampled every :data:`SAMPLE_S`."""
    out: list[tuple[str, float, float]] = []
    current: tuple[str, float] | None = None
    t = walk.start
    while t < end:
        zone = store.truth(walk, t)
        if current is not None and zone != current[0]:
            out.append((current[0], current[1], t))
            current = None
        if zone is not None and current is None:
            current = (zone, t)
        t += SAMPLE_S
    if current is not None:
        out.append((current[0], current[1], math.inf))
    return out


def _zone_at(stream: list[tuple[float, str, str, str | None]], t: float) -> str | None:
    zone: str | None = None
    for at, kind, z, _ in stream:
        if at > t:
            break
        zone = z if kind == "entered" else None
    return zone


def cost(work: Path, gateways: int, shoppers: int, window_s: float, *, alone: bool = False) -> dict[str, Any]:
    """100 present shoppers, ``gateways`` processes (``alone``: gw-1 only, without ``[store]``)."""
    start = time.time() + 1.0
    store = MultiStore(gateways=gateways, seed=11, start=start, spacing_m=8.0)
    rng = random.Random(11)
    total = WARM_UP_S + window_s + 2.0
    walks = [Walk(i, start + rng.uniform(1.0, 3.0), (rng.randrange(gateways),), total) for i in range(shoppers)]
    name = f"cost-{gateways}{'-alone' if alone else ''}"
    with Mosquitto(work / f"broker-{name}") as broker:
        local = Collector(broker, ("store-local/v1/#",))
        try:
            with ProcessStore(
                work / name,
                broker,
                store,
                walks,
                total,
                shoppers=shoppers,
                gateways=1 if alone else None,
                sections={"store": {"peers": []}} if alone else None,
            ) as procs:
                time.sleep(max(0.0, start + WARM_UP_S - time.time()))
                pids = {g: p.pid for g, p in procs.procs.items()}
                cpu0 = {g: cpu_s(pid) for g, pid in pids.items()}
                t0, n0 = time.monotonic(), len(local.messages)
                time.sleep(window_s)
                cpu1 = {g: cpu_s(pid) for g, pid in pids.items()}
                t1, n1 = time.monotonic(), len(local.messages)
        finally:
            local.close()
    span = t1 - t0
    sent = dict.fromkeys(pids, 0)
    for message in local.messages[n0:n1]:
        sender = message.topic.split("/")[3]
        if sender in sent:
            sent[sender] += len(message.payload) + len(message.topic)
    cpu = [100 * (cpu1[g] - cpu0[g]) / span for g in pids]
    sent_per_s = [sent[g] / span for g in pids]
    total_sent = sum(sent_per_s)
    return {
        "gateways": 1 if alone else gateways,
        "shoppers": shoppers,
        "window_s": round(span, 1),
        "cpu_pct_mean": round(sum(cpu) / len(cpu), 1),
        "cpu_pct_max": round(max(cpu), 1),
        "sent_bytes_per_s_per_shopper": round(sum(sent_per_s) / len(sent_per_s) / shoppers, 1),
        # every gateway reads every other's summaries
        "received_bytes_per_s_per_shopper": round((total_sent - total_sent / len(pids)) / shoppers, 1)
        if len(pids) > 1
        else 0.0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=90.0, help="accuracy run, real seconds")
    parser.add_argument("--shoppers", type=int, default=8, help="accuracy run: shoppers walking the row")
    parser.add_argument("--present", type=int, default=100, help="cost runs: present shoppers")
    parser.add_argument("--window", type=float, default=20.0, help="cost runs: measured seconds")
    parser.add_argument("--gateways", type=int, nargs="*", default=[3, 8], help="cost runs: gateway counts")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--only", choices=("accuracy", "cost"), help="run one part (figures of the other: null)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="edge-multi-") as tmp:
        work = Path(tmp)
        judged: dict[str, Any] = dict.fromkeys(("handoff_p95_s", "spurious_per_shopper_hour", "right_zone_pct"))
        if args.only != "cost":
            judged = accuracy(work, args.seconds, args.shoppers, args.seed)
            print(f"accuracy: {judged}", flush=True)
        alone: dict[str, Any] = {"cpu_pct_mean": None}
        costs: dict[str, dict[str, Any]] = {}
        if args.only != "accuracy":
            alone = cost(work, max(args.gateways), args.present, args.window, alone=True)
            print(f"one gateway alone: {alone}", flush=True)
            for n in args.gateways:
                costs[str(n)] = cost(work, n, args.present, args.window)
                print(f"{n} gateways: {costs[str(n)]}", flush=True)
    ratio = {n: round(c["cpu_pct_mean"] / max(alone["cpu_pct_mean"], 0.1), 2) for n, c in costs.items()}
    goals_met = (
        judged["handoff_p95_s"] is not None
        and judged["spurious_per_shopper_hour"] is not None
        and judged["handoff_p95_s"] <= GOALS["handoff_p95_s"]
        and judged["spurious_per_shopper_hour"] <= GOALS["spurious_per_shopper_hour"]
        and judged["right_zone_pct"] >= GOALS["right_zone_pct"]
        and judged["double_owner_moments"] == 0
        and judged["duplicate_entered"] == 0
    )
    report(
        "multi_gateway",
        {
            "accuracy": judged,
            "alone": alone,
            "cost": costs,
            "cpu_ratio_to_alone": ratio,
            "goals": GOALS,
            "goals_met": goals_met,
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
