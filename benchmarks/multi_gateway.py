"""Several gateways in one store (issue 18), as ``edge run`` processes on a real mosquitto.

1. **Accuracy** — a row of 3 zones 7 m apart (each scanner hears its neighbours' zones: overlapping
   coverage), shoppers walking the row end to end (edge/sim/multi.py), each gateway replaying only
   what its own scanner heard, in real time. Judged from the CDP's merged stream
   (``edge/v1/+/+/events/#``) against the simulator's ground truth, judged like the presence sweep
   (:mod:`edge.sim.sweep.judge`: settled truth, its matching and right-zone time; the definition is
   in docs/multi-gateway.md): hand-off between gateways p95 (the shopper enters
   gateway j's zone → gateway j says it is in zone j; goal ≤ 3 s; beside it the zone hand-off: the
   CDP's stream shows zone j, whichever gateway says it), spurious changes per shopper-hour (≤ 0.5),
   right zone (≥ 95 %), moments with two owners and duplicate ``entered`` (0), and from the retained
   claims on the store broker, moments two gateways held a claim on one token. The processes' events
   are merged on one clock (:func:`in_order`). ``--seeds`` runs several stores (the figures: the
   worst seed, and each); ``--reference also|only`` plays each through ONE gateway hearing every
   scanner (no ``[store]``): the presence engine's own figures, the best the store of three can reach.
   ``--oracle`` judges the sweep's ORACLE on each seed's adverts too (:func:`edge.sim.engines.oracle`,
   offline: a Bayes filter over positions told the true radio; the limit of the scenario), ``--only
   oracle`` only that. ``--walks doors`` plays shoppers who walk in through a door at one end of the
   row and out through the other, dwelling 10-60 s per zone (:meth:`MultiStore.door_walks`; use
   ``--seconds 180`` so most visits finish), instead of the row walks that appear and vanish mid-zone.
   A hand-off that starts less than the goal (3 s) before the run's end is not judged, only counted
   (``handoffs_unjudged_at_end``: on time, it may still come after the end).
   Figures and their history: docs/multi-gateway.md.
2. **Cost** — 100 present shoppers spread over the row, at 3 and 8 gateways: store-local traffic
   per gateway (bytes/s sent, and received, per present shopper) and CPU per gateway process
   (``/proc/PID/stat`` utime + stime over the window), beside one gateway alone (no ``[store]``)
   with the same trace, the baseline of the same run.

The last stdout line is one JSON object (benchmarks/common.py).
"""

from __future__ import annotations

import argparse
import dataclasses
import heapq
import itertools
import json
import math
import os
import random
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import report
from benchmarks.presence_accuracy import _pct, _visits
from edge.sim import engines
from edge.sim.multi import ENGINES, MultiStore, Walk, gateway_id
from edge.sim.sweep.judge import Score as SweepScore
from edge.sim.sweep.judge import Visit, agreement, counted_stretches, match, settle
from tests import multi_gateway_store
from tests.mosquitto import Collector, Mosquitto
from tests.multi_gateway_store import ProcessStore
from tests.test_multi_gateway import check_one_owner, presence_stream

GOALS = {"handoff_p95_s": 3.0, "spurious_per_shopper_hour": 0.5, "right_zone_pct": 95.0}
DWELL_S = 20.0
"""Accuracy run: seconds a shopper stays in each zone of the row (then walks 7 m to the next)."""
HANDOFF_UNJUDGED_AT_END_S = GOALS["handoff_p95_s"]
"""Accuracy run: a hand-off whose true start (the shopper settling in the next gateway's zone) is less than
this before the run's end is not judged, but counted (``handoffs_unjudged_at_end``): on time by the goal it may
still come after the end, where nobody listens, and the judge took it for missed (doors seeds 3 and 5 at 90 s,
hand-offs starting under a second before the end). The goal is the judge's deadline: a shorter cut would still
judge hand-offs the run ends in the middle of."""
SPACING_M = 7.0
"""Accuracy run: between neighbouring scanners (each hears its neighbours' zones)."""
DOOR_ARRIVALS_S = 40.0
"""Accuracy run, ``--walks doors``: shoppers appear outside a door over this many first seconds (a visit
takes 60-210 s: with ``--seconds 180`` about three in four finish inside the run)."""
WARM_UP_S = 8.0
"""Cost runs: from the moment every gateway is on the store broker (its retained ``online``) to the
window: the shoppers (1-3 s into each process's replay) are heard, owned and entered. It was counted
from the processes' launch: on this loaded 2-core machine 8 processes take longer than that to start,
so the window held their start-up (every first claim and its zone update: 519 of 852 claims)."""
START_UP_S = 60.0
"""Cost runs: the longest the processes may take to come up (the trace runs this much longer than the
warm-up and window; every replay plays from one ``ble.start_at``, a late process skipping what it missed)."""
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


Row = tuple[float, str, str, str | None]
"""One presence event of a token as the CDP saw it: (time, entered|exited, zone, gateway)."""


def run_accuracy(
    work: Path,
    seconds: float,
    shoppers: int,
    seed: int,
    *,
    reference: bool = False,
    walk: str = "row",
    stop: tuple[str, float, str] | None = None,
    engine: str = "threshold",
    skew_s: float = 0.0,
) -> dict[str, Any]:
    """Play the store through 3 ``edge run`` processes (``reference``: ONE gateway, no ``[store]``, hearing
    every scanner); every event the CDP received and every ownership claim seen on the store broker.
    ``stop``: (gateway, seconds into the run, ``kill`` | ``term`` | ``stallD``): that gateway is killed (-9: the
    broker sends its last will), stopped cleanly (its claims cleared, then ``offline``) or frozen for ``D`` seconds
    (SIGSTOP, then SIGCONT: a box whose storage or swap stalled it, which then goes on from where it was) then.
    ``engine``: every gateway's presence engine (``model`` and ``grid`` told the row's true layout)."""
    start = time.time() + 1.0
    store = MultiStore(gateways=3, seed=seed, start=start, spacing_m=SPACING_M, engine=engine)
    walks = _walks(store, shoppers, seconds, walk)
    name = f"accuracy-{walk}-{engine}-{seed}{'-reference' if reference else ''}"
    with Mosquitto(work / f"broker-{name}") as broker:
        claims = Collector(broker, ("store-local/v1/+/+/owner/#",))
        try:
            with ProcessStore(
                work / name,
                broker,
                store,
                walks,
                seconds,
                shoppers=shoppers,
                gateways=1 if reference else None,
                sections={"store": {"peers": []}} if reference else None,
                hear_all=reference,
                skew_s=0.0 if reference else skew_s,
            ) as gateways:
                at = gateways.start_at  # the wall-clock moment every gateway's trace starts at
                if stop is not None and not reference:
                    time.sleep(max(0.0, at + stop[1] - time.time()))
                    if stop[2] == "kill":
                        gateways.kill(stop[0])
                    elif stop[2].startswith("stall"):
                        frozen = gateways.procs[stop[0]]
                        frozen.send_signal(signal.SIGSTOP)
                        time.sleep(float(stop[2].removeprefix("stall")))
                        frozen.send_signal(signal.SIGCONT)
                    else:
                        gateways.procs[stop[0]].send_signal(signal.SIGTERM)
                time.sleep(max(0.0, at + seconds + 8.0 - time.time()))  # the last exits
                events = gateways.events()
        finally:
            claims.close()
        wall_offset = time.time() - time.monotonic()
        owner_rows = [
            (m.topic, bytes(m.payload).decode(), at + wall_offset)
            for m, at in zip(claims.messages, claims.arrived, strict=True)
        ]
    return {
        "seed": seed,
        "start": start,
        "seconds": seconds,
        "shoppers": shoppers,
        "reference": reference,
        "walks": walk,
        "engine": engine,
        "stop": list(stop) if stop is not None and not reference else None,
        "skew_s": 0.0 if reference else skew_s,
        "events": [[g, e, at] for g, e, at in events],
        "claims": owner_rows,
    }


def _walks(store: MultiStore, shoppers: int, seconds: float, walk: str = "row") -> list[Walk]:
    if walk == "doors":
        walks = store.door_walks(shoppers, DOOR_ARRIVALS_S)
    else:
        walks = store.walks(shoppers, seconds * 0.5, dwell_s=DWELL_S)
    return [dataclasses.replace(w, start=w.start + 4.0) for w in walks]  # after the processes start


def in_order(events: list[tuple[str, dict[str, Any], float]]) -> list[tuple[str, dict[str, Any], float]]:
    """The events in the order they were SENT, on one clock. Every process's replay clock now plays from
    one wall-clock moment (``ble.start_at``; until session 26 each started with its process, up to 4 s
    apart on a loaded machine), but an engine stamps an event with its deciding advert's time, so the
    events' own times are still not the order sent; the CDP's arrival times are, but a process's pipeline may hold an
    event a few hundred ms (a loaded machine), enough to put a previous owner's last word after the
    new owner's hand-off. So: each event's own time plus its process's offset to the wall clock
    (:func:`clock_lags`, the least arrival - time, i.e. the replay starts aligned after the fact).
    Within one process the order is its own (the arrival order: an engine may stamp an ``entered`` a
    little before the ``exited`` it committed first); the processes' streams are merged on that clock.
    One more order is known: a hand-off (``from_gateway`` X) comes after every event of X that reached
    the CDP before it (X stopped speaking before the new owner spoke; an engine stamps an event with
    its deciding advert's time, up to a second before it sends it, so a new owner speaking 50 ms after
    X's last event was otherwise placed before it)."""
    lags = clock_lags(events)
    streams: dict[str, list[tuple[float, float, str, dict[str, Any]]]] = {}
    for gateway, event, arrival in sorted(events, key=lambda row: row[2]):
        mine = streams.setdefault(gateway, [])
        sent = max(_event_time(event) + lags[gateway], mine[-1][0] if mine else -math.inf)
        data = event.get("data")
        previous = streams.get(data.get("from_gateway", "")) if isinstance(data, dict) else None
        if previous:
            sent = max(sent, previous[-1][0] + 1e-6)
        mine.append((sent, arrival, gateway, event))
    return [(g, e, arrival) for _, arrival, g, e in heapq.merge(*streams.values(), key=lambda row: row[:2])]


def merged_rows(events: list[tuple[str, dict[str, Any], float]]) -> dict[str, list[Row]]:
    """Per token, the presence events in the order sent (:func:`in_order`); times are each event's own
    (trace time, the ground truth's time base), made monotonic along that order."""
    rows: dict[str, list[Row]] = {}
    for gateway, event, _arrival in in_order(events):
        if event["type"] in ("edge.presence.entered", "edge.presence.exited"):
            data = event["data"]
            mine = rows.setdefault(data["token"], [])
            at = max(_event_time(event), mine[-1][0] if mine else -math.inf)
            mine.append((at, event["type"].rsplit(".", 1)[1], data["zone"], gateway))
    return rows


def sent_rows(events: list[tuple[str, dict[str, Any], float]]) -> dict[str, list[Row]]:
    """Per token, the presence events placed when the CDP got them (arrival order), on the trace's clock:
    each arrival minus its process's offset (:func:`clock_lags`: the least arrival - stamp). The judge
    (:func:`merged_rows`) places an event at its stamp, the time of the advert that decided it; a
    peer's sightings are stamped when the peer heard them, up to a summary's slot before the gateway's
    engine had them, so a stamp can be earlier than anything the CDP could know."""
    lags = clock_lags(events)
    rows: dict[str, list[Row]] = {}
    for gateway, event, arrival in sorted(events, key=lambda row: row[2]):
        if event["type"] in ("edge.presence.entered", "edge.presence.exited"):
            data = event["data"]
            mine = rows.setdefault(data["token"], [])
            at = max(arrival - lags[gateway], mine[-1][0] if mine else -math.inf)
            mine.append((at, event["type"].rsplit(".", 1)[1], data["zone"], gateway))
    return rows


def clock_lags(events: list[tuple[str, dict[str, Any], float]]) -> dict[str, float]:
    """Per gateway, how far its replay clock ran behind the wall clock (arrival - event time, least). Since every
    gateway plays from one wall-clock moment (``ble.start_at``, session 26) this is the least delay of its events to
    the CDP, not its clock; the gateways' own view of each other's clocks is :func:`peers_clocks`."""
    lags: dict[str, float] = {}
    for gateway, event, arrival in events:
        lag = arrival - _event_time(event)
        lags[gateway] = min(lags.get(gateway, math.inf), lag)
    return dict(sorted(lags.items()))


def peers_clocks(events: list[tuple[str, dict[str, Any], float]]) -> dict[str, dict[str, int]]:
    """Per gateway, from its last ``edge.gateway.health`` event: ``peers_clock_offset_ms`` (how far the peer whose clock
    is furthest from its own looks off, by the summaries' arrival: edge/peers/clocks.py; -1 until measured) and
    ``peers_clock_warnings``, and since session 29 ``peers_clock_correction_ms`` (how far it moved its slot clock
    towards the store's median: edge/peers/storetime.py). A gateway without such a health event (an older run, or one
    stopped before its first) is left out."""
    out: dict[str, dict[str, int]] = {
        "peers_clock_offset_ms": {},
        "peers_clock_warnings": {},
        "peers_clock_correction_ms": {},
    }
    for gateway, event, _arrival in events:
        data = event.get("data")
        if event.get("type") != "edge.gateway.health" or not isinstance(data, dict):
            continue
        for key, found in out.items():
            value = data.get(key)
            if isinstance(value, int):
                found[gateway] = value
    return {key: dict(sorted(found.items())) for key, found in out.items()}


def claim_overlaps(claims: list[tuple[str, str, float]]) -> tuple[int, float]:
    """From the retained claims seen on the store broker (arrival order): how many times a token was
    claimed by two gateways at once, and the longest such overlap (s). Each gateway evaluates the
    same slot at its own moment, so a hand-off's claim and the previous owner's clear arrive a few
    milliseconds apart in either order; anything longer would be real double ownership."""
    token_of: dict[str, str] = {}
    held: dict[str, dict[str, float]] = {}
    count, longest = 0, 0.0
    for topic, payload, at in claims:
        gateway = topic.split("/")[3]
        if payload:
            token = json.loads(payload)["token"]
            token_of[topic] = token
            owners = held.setdefault(token, {})
            if owners and gateway not in owners:
                count += 1
            owners.setdefault(gateway, at)
        elif topic in token_of:
            owners = held.setdefault(token_of[topic], {})
            since = owners.pop(gateway, None)
            if since is not None and owners:
                longest = max(longest, at - max(owners.values()) if max(owners.values()) > since else at - since)
    return count, round(longest, 3)


def judge(run: dict[str, Any]) -> dict[str, Any]:
    """The figures of one run, judged like the presence sweep (:mod:`edge.sim.sweep.judge`, see
    docs/multi-gateway.md): the exact ground truth settled (visits of one zone < 3 s apart merged, a
    visit < 3 s a transit nobody must report), matched to the CDP's visits, right zone over the time
    the shopper is in the store or placed in a zone."""
    events = on_store_clock([(g, e, at) for g, e, at in run["events"]], run.get("skew_s") or 0.0)
    figures = judge_rows(run, merged_rows(events), by_gateway=not run["reference"])
    sent = judge_rows(run, sent_rows(events), by_gateway=not run["reference"])
    doubles, duplicates, n_handoffs, by_clock = one_owner(events)
    overlaps, longest = claim_overlaps([(t, p, at) for t, p, at in run["claims"]])
    clocks = peers_clocks(events)
    stopped = run.get("stop")
    return {
        **figures,
        # the same stream with each event when the CDP got it, not at its stamp (sent_rows)
        "right_zone_sent_pct": sent["right_zone_pct"],
        "handoff_sent_p95_s": sent["handoff_p95_s"],
        **hand_off_words(events, stopped[0] if stopped else None),
        "handoffs_with_from_gateway": n_handoffs,
        "double_owner_moments": doubles,
        "double_owner_moments_by_clock": by_clock,
        "duplicate_entered": duplicates,
        "claim_overlaps": overlaps,
        "claim_overlap_longest_s": longest,
        "clock_lag_s": {g: round(v, 2) for g, v in clock_lags(events).items()},
        **clocks,
    }


def hand_off_words(events: list[tuple[str, dict[str, Any], float]], gone: str | None) -> dict[str, int]:
    """What new owners said (``from_gateway``), in the order sent (:func:`in_order`): ``handoff_steps_back``,
    an ``entered`` for the zone the stream's last word had just left (the previous owner's ``exited``
    of it: a visit the CDP did not need, doors seed 6's end); with a gateway ``gone`` (stopped or
    killed, ``--stop``), the words of its takeovers (``from_gateway`` = it) and their steps back."""
    last: dict[str, tuple[str, str]] = {}
    out = {"handoff_steps_back": 0, "takeover_words": 0, "takeover_entered_same_zone": 0, "takeover_steps_back": 0}
    for _gateway, event, _arrival in in_order(events):
        if event["type"] not in ("edge.presence.entered", "edge.presence.exited"):
            continue
        data = event["data"]
        kind, zone, token = event["type"].rsplit(".", 1)[1], data["zone"], data["token"]
        before = last.get(token)
        last[token] = (kind, zone)
        origin = data.get("from_gateway")
        if origin is None:
            continue
        back = kind == "entered" and before == ("exited", zone)
        out["handoff_steps_back"] += back
        if origin == gone:
            out["takeover_words"] += 1
            out["takeover_entered_same_zone"] += kind == "entered" and before == ("entered", zone)
            out["takeover_steps_back"] += back
    return out


def judge_oracle(run: dict[str, Any]) -> dict[str, Any]:
    """The sweep's ORACLE on the same store and adverts as ``run`` (offline, :func:`edge.sim.engines.oracle`),
    judged as :func:`judge` judges the gateways (a hand-off: zone j shown, as for the reference)."""
    return judge_rows(run, oracle_rows(run), by_gateway=False)


def oracle_rows(run: dict[str, Any]) -> dict[str, list[Row]]:
    """The sweep's ORACLE's stream per token on the same store and adverts as ``run`` (offline)."""
    seconds = run["seconds"]
    store = MultiStore(gateways=3, seed=run["seed"], start=run["start"], spacing_m=SPACING_M)
    walks = _walks(store, run["shoppers"], seconds, run.get("walks", "row"))
    said = engines.oracle(store, walks, seconds)
    return {token: [(e.at, str(e.kind), e.zone, None) for e in events] for token, events in said.items()}


def judge_offline(run: dict[str, Any], engine: str) -> dict[str, Any]:
    """ONE ``engine`` hearing every scanner (the reference) on the same store and adverts as ``run``, offline
    (:func:`edge.sim.engines.run`, fed as ``edge run`` feeds it, no processes), judged as :func:`judge_oracle`."""
    return {"engine": engine, **judge_rows(run, offline_rows(run, engine), by_gateway=False)}


def offline_rows(run: dict[str, Any], engine: str) -> dict[str, list[Row]]:
    """ONE ``engine`` hearing every scanner: its stream per token on the same store and adverts as ``run``
    (offline, :func:`edge.sim.engines.run`), in the order emitted, times made monotonic (as :func:`merged_rows`)."""
    seconds = run["seconds"]
    store = MultiStore(gateways=3, seed=run["seed"], start=run["start"], spacing_m=SPACING_M, engine=engine)
    walks = _walks(store, run["shoppers"], seconds, run.get("walks", "row"))
    one = engines.run(store, walks, seconds, hear_all=True)["all"]
    rows: dict[str, list[Row]] = {}
    for _emitted, event in one.said:
        if event.kind not in ("entered", "exited"):
            continue  # a dwell: no change of zone
        mine = rows.setdefault(event.token, [])
        mine.append((max(event.at, mine[-1][0] if mine else -math.inf), str(event.kind), event.zone, None))
    return rows


def judge_rows(run: dict[str, Any], rows: dict[str, list[Row]], *, by_gateway: bool) -> dict[str, Any]:
    """Right zone, spurious, hand-offs and the wrong seconds by cause of one stream per token (``rows``:
    the CDP's merged stream, or an engine's); ``by_gateway``: a hand-off to zone j counts when gateway j
    says it (else when anyone does)."""
    seconds, shoppers = run["seconds"], run["shoppers"]
    start = run["start"]
    store = MultiStore(gateways=3, seed=run["seed"], start=start, spacing_m=SPACING_M)
    walks = _walks(store, shoppers, seconds, run.get("walks", "row"))
    end = start + seconds
    score = SweepScore()
    handoffs: list[float] = []
    zone_handoffs: list[float] = []
    unjudged = 0  # hand-offs starting within HANDOFF_UNJUDGED_AT_END_S of the end
    wrong: dict[str, float] = {}
    for walk in walks:
        stream = rows.get(walk.token, [])
        truth, transits = settle([v for v in store.visits(walk) if v[1] < end])
        seen = _visits(changes_from([(at, kind, zone, None) for at, kind, zone, _ in stream]), end)
        match(score, truth, transits, seen, end)
        came, left = store.inside(walk)
        inside = (min(came, end), min(left, end))
        agreement(score, truth, transits, seen, inside, walk.start, end)
        score.shopper_s += inside[1] - inside[0]
        misplaced(wrong, truth, transits, seen, inside, end)
        # Hand-off: the shopper settles in gateway j's zone after another zone → the CDP hears of the
        # shopper in that zone from gateway j (the reference's one gateway: in that zone).
        for number, (zone, a, _b) in enumerate(truth):
            if number == 0:
                continue
            if a > end - HANDOFF_UNJUDGED_AT_END_S:
                unjudged += 1
                continue
            owner = gateway_id(int(zone[1:]) - 1)
            said = [at for at, kind, z, g in stream if z == zone and kind == "entered" and at >= a - 2.0]
            by_owner = [at for at, kind, z, g in stream if (not by_gateway or g == owner) and z == zone
                        and kind == "entered" and at >= a - 2.0]  # fmt: skip
            handoffs.append(by_owner[0] - a if by_owner else math.inf)
            zone_handoffs.append(said[0] - a if said else math.inf)
    hours = score.shopper_s / 3600
    return {
        "seed": run["seed"],
        "walks": run.get("walks", "row"),
        "handoff_p50_s": _num(_pct(handoffs, 50)),
        "handoff_p95_s": _num(_pct(handoffs, 95)),
        "zone_handoff_p95_s": _num(_pct(zone_handoffs, 95)),
        "handoffs_s": [_num(h) for h in handoffs],
        "zone_handoffs_s": [_num(h) for h in zone_handoffs],
        "handoffs_judged": len(handoffs),
        "handoffs_missed": sum(1 for h in handoffs if not math.isfinite(h)),
        "handoffs_unjudged_at_end": unjudged,
        "right_zone_pct": round(100 * score.right_s / max(score.counted_s, 1e-9), 2),
        "wrong_s": {k: round(v, 1) for k, v in sorted(wrong.items())},
        "counted_s": round(score.counted_s, 1),
        "spurious_per_shopper_hour": round(2 * score.spurious_visits / max(hours, 1e-9), 2),
        "spurious_visits": score.spurious_visits,
        "enter_p95_s": _num(_pct(score.enter, 95)),
        "visits": len(score.enter),
        "missed_visits": score.missed,
        "finished": sum(1 for walk in walks if store.inside(walk)[1] <= end),
    }


def timelines(run: dict[str, Any]) -> list[dict[str, Any]]:
    """Each hand-off of one run, seconds after the shopper entered zone j (trace time; the claims'
    broker arrival moved onto their sender's replay clock with :func:`clock_lags`): ``cleared``, the
    previous owner's clear (the arbitration's decision), ``claimed`` and the zone in it, gateway j's
    claim, ``shown``, the CDP's first ``entered`` for zone j from anyone, ``said``, from gateway j;
    slowest first. Where a hand-off's time goes: decision → claim is the new owner's wait for
    agreement, claim → said (when the claim names no zone) its engine's own entry."""
    store = MultiStore(gateways=3, seed=run["seed"], start=run["start"], spacing_m=SPACING_M)
    end = run["start"] + run["seconds"]
    events = [(g, e, at) for g, e, at in run["events"]]
    lags, rows = clock_lags(events), merged_rows(events)
    kind = run.get("walks", "row")
    token_of: dict[str, str] = {}
    claims: dict[str, list[tuple[float, str, str | None, bool]]] = {}
    for topic, payload, at in run["claims"]:
        gateway = topic.split("/")[3]
        if payload:
            body = json.loads(payload)
            token_of[topic] = body["token"]
            claims.setdefault(body["token"], []).append((at - lags.get(gateway, 0.0), gateway, body["zone"], True))
        elif topic in token_of:
            claims.setdefault(token_of[topic], []).append((at - lags.get(gateway, 0.0), gateway, None, False))
    out = []
    for walk in _walks(store, run["shoppers"], run["seconds"], kind):
        stream = rows.get(walk.token, [])
        truth, _ = settle([v for v in store.visits(walk) if v[1] < end])
        for (before, _, _), (zone, a, _) in itertools.pairwise(truth):
            owner = gateway_id(int(zone[1:]) - 1)
            mine = [c for c in claims.get(walk.token, []) if a - 2.0 <= c[0]]

            def first(rows: list[float], a: float = a) -> float | None:
                return round(min(rows) - a, 2) if rows else None

            out.append(
                {
                    "seed": run["seed"],
                    "token": walk.token,
                    "from": before,
                    "to": zone,
                    "cleared": first([t for t, g, _, held in mine if g != owner and not held]),
                    "claimed": first([t for t, g, _, held in mine if g == owner and held]),
                    "claimed_zone": next((z for _, g, z, held in mine if g == owner and held), None),
                    "shown": first([t for t, k, z, _ in stream if k == "entered" and z == zone and t >= a - 2.0]),
                    "said": first(
                        [t for t, k, z, g in stream if k == "entered" and z == zone and g == owner and t >= a - 2.0]
                    ),
                }
            )
    return sorted(out, key=lambda row: -math.inf if row["said"] is None else -row["said"])


def one_owner(events: list[tuple[str, dict[str, Any], float]]) -> tuple[int, int, int, dict[str, int]]:
    """(two-owner moments, duplicate ``entered``, hand-offs, the moments by each order) of the CDP's
    stream, judged in two orders: merged on one clock (:func:`in_order`: each event's own time plus
    its process's offset) and as it arrived at the CDP. Neither is the order the events were sent in:
    an engine stamps an event with the time of the advert that decided it, up to a second before it
    sends it (a peer's summary arrives that late), so a previous owner's last event can be stamped
    after a new owner's hand-off that followed it by 50 ms (the new owner now speaks on the clear);
    and an outbox may hold an event a few hundred ms, so arrival can misplace it the other way. A
    moment counts (per token) only when both orders show it; ``by_clock`` gives each order's count."""
    merged = presence_stream([(g, e) for g, e, _ in in_order(events)], by_arrival=True)
    arrived = presence_stream([(g, e) for g, e, _ in sorted(events, key=lambda row: row[2])], by_arrival=True)
    doubles = duplicates = handoffs = 0
    counts = {"merged": 0, "arrival": 0}
    for token, rows in merged.items():
        d1, dup1, n = check_one_owner({token: rows})
        d2, dup2, _ = check_one_owner({token: arrived.get(token, [])})
        counts["merged"] += d1
        counts["arrival"] += d2
        doubles += min(d1, d2)
        duplicates += min(dup1, dup2)
        handoffs += n
    return doubles, duplicates, handoffs, counts


def misplaced(
    into: dict[str, float], truth: list[Visit], transits: list[Visit], seen: list[Visit], inside: tuple[float, float],
    end: float,
) -> None:  # fmt: skip
    """Where the wrong seconds of :func:`edge.sim.sweep.judge.agreement` go, by cause: ``entering``
    (in the store, not yet placed), ``left`` (gone, still placed: the exit timer), ``gap`` (between
    two zones, still placed in one), ``behind`` (placed in a zone the shopper was in before),
    ``other``."""
    for a, b, real, placed in counted_stretches(truth, transits, seen, inside, inside[0], end):
        if real == placed:
            continue
        mid = (a + b) / 2
        if mid >= inside[1]:
            cause = "left"
        elif placed is None:
            cause = "entering" if not any(t1 <= mid for _, _, t1 in seen) else "other"
        elif real is None:
            cause = "gap"
        elif any(z == placed and t1 <= mid for z, _, t1 in truth):
            cause = "behind"
        else:
            cause = "other"
        into[cause] = into.get(cause, 0.0) + b - a


def pooled(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Several seeds' figures: the worst of each (and each seed's, for the record)."""
    if not runs:
        return {}
    worst: dict[str, Any] = {"seeds": [r["seed"] for r in runs], "walks": runs[0].get("walks", "row")}
    worst["wrong_s_each"] = [r["wrong_s"] for r in runs]
    for key, pick in (
        ("handoff_p95_s", max),
        ("zone_handoff_p95_s", max),
        ("spurious_per_shopper_hour", max),
        ("right_zone_pct", min),
        ("right_zone_sent_pct", min),
        ("handoff_sent_p95_s", max),
        ("double_owner_moments", sum),
        ("duplicate_entered", sum),
        ("claim_overlap_longest_s", max),
        ("handoff_steps_back", sum),
        ("takeover_words", sum),
        ("takeover_steps_back", sum),
        ("handoffs_unjudged_at_end", sum),
    ):
        if key not in runs[0]:
            continue  # an engine's stream (the oracle): no owners, no claims
        values = [r[key] for r in runs]
        worst[key] = None if any(v is None for v in values) else pick(values)
        worst[f"{key}_each"] = values
    for key in ("peers_clock_offset_ms", "peers_clock_warnings"):  # the worst gateway of each seed
        if key in runs[0]:
            worst[f"{key}_each"] = [max(r[key].values(), default=None) for r in runs]
    if "peers_clock_correction_ms" in runs[0]:  # each gateway's, per seed
        worst["peers_clock_correction_ms_each"] = [r["peers_clock_correction_ms"] for r in runs]
    # 16 hand-offs per seed: a seed's p95 is its slowest hand-off; the seeds' hand-offs pooled give a p95
    # that is not one shopper's.
    for key in ("handoffs_s", "zone_handoffs_s"):
        every = [math.inf if h is None else h for r in runs for h in r[key]]
        worst[f"{key[:-2]}_pooled_p50_s"] = _num(_pct(every, 50))
        worst[f"{key[:-2]}_pooled_p95_s"] = _num(_pct(every, 95))
    return worst


def _num(value: float) -> float | None:
    return round(value, 2) if math.isfinite(value) else None


def on_store_clock(
    events: list[tuple[str, dict[str, Any], float]], skew_s: float
) -> list[tuple[str, dict[str, Any], float]]:
    """The events with each gateway's stamps put back on the store's clock (``--skew``: gateway g's clock runs
    ``g * skew_s`` behind gw-1's, which is the store's; its events are stamped on it)."""
    if not skew_s:
        return events
    from edge.timefmt import format_time

    out = []
    for gateway, event, arrival in events:
        behind = (int(gateway.rsplit("-", 1)[1]) - 1) * skew_s
        out.append((gateway, {**event, "time": format_time(_event_time(event) + behind)}, arrival))
    return out


def _event_time(event: dict[str, Any]) -> float:
    from edge.timefmt import parse_start

    return parse_start(str(event["time"]))


def cost(
    work: Path, gateways: int, shoppers: int, window_s: float, *, alone: bool = False, engine: str = "threshold"
) -> dict[str, Any]:
    """100 present shoppers, ``gateways`` processes (``alone``: gw-1 only, without ``[store]``), each running
    ``engine``."""
    start = time.time() + 1.0
    store = MultiStore(gateways=gateways, seed=11, start=start, spacing_m=8.0, engine=engine)
    rng = random.Random(11)
    total = START_UP_S + WARM_UP_S + window_s + 2.0
    walks = [Walk(i, start + rng.uniform(1.0, 3.0), (rng.randrange(gateways),), total) for i in range(shoppers)]
    name = f"cost-{engine}-{gateways}{'-alone' if alone else ''}"
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
                online = {f"store-local/v1/store-1/{g}/state" for g in procs.procs} if not alone else set()
                local.wait_for(
                    lambda ms: online <= {m.topic for m in ms if b'"online"' in bytes(m.payload)}, START_UP_S
                )
                procs.cdp.wait_for(lambda ms: bool(ms), START_UP_S)  # the first entered: replaying
                time.sleep(WARM_UP_S)
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
    kinds = traffic_by_kind([(m.topic, bytes(m.payload)) for m in local.messages[:n1]], n0)
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
        # per kind, all gateways together over the window: messages, and bytes/s per present shopper per gateway
        "by_kind": {
            kind: {"messages": n, "bytes_per_s_per_shopper": round(b / span / len(pids) / shoppers, 2)}
            for kind, (n, b) in sorted(kinds.items())
        },
    }


def traffic_by_kind(messages: list[tuple[str, bytes]], first: int) -> dict[str, tuple[int, int]]:
    """Store-local messages from index ``first`` on, by kind: ``summary``, ``summary-early`` (a slot's
    first part, for the peers' engines), ``state``, and the claims as
    ``claim-new`` (a topic not held, or a new epoch: an owner move), ``claim-zone`` (same owner and epoch,
    another zone), ``claim-hand`` (naming a gateway the shopper is handed to at once), ``claim-same``
    (the payload already retained: a refresh), ``claim-clear``; each
    (messages, bytes of topic + payload). The messages before ``first`` give the retained state."""
    held: dict[str, bytes] = {}
    out: dict[str, tuple[int, int]] = {}
    for i, (topic, payload) in enumerate(messages):
        kind = topic.rsplit("/", 1)[1] if "/owner/" not in topic else "claim"
        if kind == "claim":
            before = held.get(topic)
            if not payload:
                kind = "claim-clear"
                held.pop(topic, None)
            else:
                if b'"hand"' in payload:
                    kind = "claim-hand"  # the owner hands the shopper on at once (a hand-off)
                elif before == payload:
                    kind = "claim-same"
                elif before is not None and json.loads(before)["epoch"] == json.loads(payload)["epoch"]:
                    kind = "claim-zone"
                else:
                    kind = "claim-new"
                held[topic] = payload
        elif kind == "sightings":
            kind = "summary-early" if b'"early":true' in payload else "summary"
        if i >= first:
            n, b = out.get(kind, (0, 0))
            out[kind] = (n + 1, b + len(topic) + len(payload))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=90.0, help="accuracy run, real seconds")
    parser.add_argument("--shoppers", type=int, default=8, help="accuracy run: shoppers walking the row")
    parser.add_argument("--present", type=int, default=100, help="cost runs: present shoppers")
    parser.add_argument("--window", type=float, default=20.0, help="cost runs: measured seconds")
    parser.add_argument("--gateways", type=int, nargs="*", default=[3, 8], help="cost runs: gateway counts")
    parser.add_argument("--seeds", type=int, nargs="*", default=[3], help="accuracy runs, one per seed")
    parser.add_argument(
        "--reference",
        choices=("no", "also", "only"),
        default="no",
        help="run each seed through ONE gateway hearing every scanner too (or only), the presence engine's own figures",
    )
    parser.add_argument("--save", type=Path, help="write the runs' raw events and claims (JSON) here")
    parser.add_argument("--load", type=Path, help="judge runs saved with --save instead of running")
    parser.add_argument(
        "--only",
        choices=("accuracy", "cost", "oracle", "offline"),
        help="run one part (oracle: no processes, the oracle alone; offline: the --engine reference, no processes)",
    )
    parser.add_argument(
        "--engine",
        choices=ENGINES,
        default="threshold",
        help="accuracy runs: every gateway's presence engine (model, grid: told the row's true floor and scanners)",
    )
    parser.add_argument(
        "--walks",
        choices=("row", "doors"),
        default="row",
        help="accuracy runs: shoppers appearing and vanishing mid-zone (row) or walking in and out through doors",
    )
    parser.add_argument("--oracle", action="store_true", help="judge the sweep's oracle on each seed's adverts too")
    parser.add_argument(
        "--skew",
        type=float,
        default=0.0,
        help="accuracy runs: gateway g's clock runs g x SKEW seconds behind gw-1's (boxes without a time service)",
    )
    parser.add_argument("--timelines", type=int, default=0, help="print each seed's N slowest hand-offs' timelines")
    parser.add_argument(
        "--stop",
        metavar="GATEWAY@SECONDS[:kill|term|stallD]",
        help="accuracy runs: kill -9 (default), cleanly stop (its will) or freeze for D seconds (SIGSTOP, then SIGCONT)"
        " one gateway this far into each run",
    )
    parser.add_argument(
        "--full-screens",
        action="store_true",
        help="every simulated box's player at the default 1920 x 1080, 30 frames a second (until session 37: on a"
        " 2-core machine eight of them starve the gateways) instead of tests.multi_gateway_store.SCREEN",
    )
    args = parser.parse_args(argv)
    if args.full_screens:
        multi_gateway_store.SCREEN = {}
    stop: tuple[str, float, str] | None = None
    if args.stop:
        where_, _, how = args.stop.partition(":")
        gateway, _, at = where_.partition("@")
        how = how or "kill"
        try:
            seconds = float(at)
            frozen_s = float(how.removeprefix("stall")) if how.startswith("stall") else 0.0
        except ValueError:
            seconds = frozen_s = math.nan
        if not gateway or not seconds >= 0 or not (how in ("kill", "term") or frozen_s > 0):
            parser.error(f"--stop {args.stop!r}: expected GATEWAY@SECONDS[:kill|term|stallD], D seconds > 0")
        stop = (gateway, seconds, how)
    with tempfile.TemporaryDirectory(prefix="edge-multi-") as tmp:
        work = Path(tmp)
        judged: dict[str, Any] = dict.fromkeys(("handoff_p95_s", "spurious_per_shopper_hour", "right_zone_pct"))
        reference: dict[str, Any] | None = None
        oracle: dict[str, Any] | None = None
        runs: list[dict[str, Any]]
        if args.only == "oracle":
            start = 1_800_000_000.0  # no processes: any start
            runs = [
                {"seed": seed, "start": start, "seconds": args.seconds, "shoppers": args.shoppers, "walks": args.walks}
                for seed in args.seeds
            ]
            oracles = [judge_oracle(run) for run in runs]
            for one in oracles:
                print(f"oracle (told the true radio): {one}", flush=True)
            oracle = pooled(oracles)
        elif args.only == "offline":
            start = 1_800_000_000.0  # no processes: any start
            runs = [
                {"seed": seed, "start": start, "seconds": args.seconds, "shoppers": args.shoppers, "walks": args.walks}
                for seed in args.seeds
            ]
            refs = [judge_offline(run, args.engine) for run in runs]
            for one in refs:
                print(f"offline reference ({args.engine}, one engine hearing every scanner): {one}", flush=True)
            reference = pooled(refs)
            if args.oracle:
                oracle = pooled([judge_oracle(run) for run in runs])
        elif args.only != "cost":
            if args.load is not None:
                runs = json.loads(args.load.read_text())
            else:
                runs = []
                for seed in args.seeds:
                    for ref in {"no": (False,), "also": (False, True), "only": (True,)}[args.reference]:
                        runs.append(
                            run_accuracy(
                                work,
                                args.seconds,
                                args.shoppers,
                                seed,
                                reference=ref,
                                walk=args.walks,
                                stop=stop,
                                engine=args.engine,
                                skew_s=args.skew,
                            )
                        )
                        if args.save is not None:
                            args.save.write_text(json.dumps(runs))
            each = [judge(run) for run in runs if not run["reference"]]
            for run in runs:
                for row in timelines(run)[: args.timelines] if not run["reference"] else []:
                    print(f"hand-off: {row}", flush=True)
            for one in each:
                print(f"accuracy: {one}", flush=True)
            judged = pooled(each) or judged
            refs = [judge(run) for run in runs if run["reference"]]
            for one in refs:
                print(f"reference (one gateway hearing every scanner): {one}", flush=True)
            reference = pooled(refs) if refs else None
            if args.oracle:
                oracles = [judge_oracle(run) for run in runs if not run["reference"]]
                for one in oracles:
                    print(f"oracle (told the true radio): {one}", flush=True)
                oracle = pooled(oracles)
        alone: dict[str, Any] = {"cpu_pct_mean": None}
        costs: dict[str, dict[str, Any]] = {}
        if args.only not in ("accuracy", "oracle", "offline"):
            alone = cost(work, max(args.gateways), args.present, args.window, alone=True, engine=args.engine)
            print(f"one gateway alone: {alone}", flush=True)
            for n in args.gateways:
                costs[str(n)] = cost(work, n, args.present, args.window, engine=args.engine)
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
            "engine": args.engine,
            "accuracy": judged,
            "reference": reference,
            "oracle": oracle,
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
