"""Claims churn of a store's gateways (issue 18), quiet and under CPU load: why ownership moves.

The cost run's setup (:func:`benchmarks.multi_gateway.cost`: 100 standing shoppers spread over a row of
``--gateways`` ``edge run`` processes on a real mosquitto, threshold engine), optionally beside ``--hog N``
busy-loop processes (a modest CPU load on a shared machine), with the gateways' health every
:data:`HEALTH_S`. Over the window it counts the claims on the store broker by kind
(:func:`benchmarks.multi_gateway.traffic_by_kind`), scaled to 20 s; the ownership changes per present
shopper (claims with a new owner, and the hands at once); the ``entered`` / ``exited`` the CDP received per
shopper (what those moves cost upstream: every shopper stands still); the bounces (the same owner's claim at a new
epoch: moved and moved back, ``deaf`` then ``lead``); and, from each gateway's health, the rule that
moved each change it applied (``peers_moves_*``: :data:`edge.peers.arbitration.WHY`), the slots it
evaluated past the deadline without a live peer's summary (``peers_slots_unwaited``) and the summaries
that came after their slot was evaluated (``peers_summaries_late``). Each gateway applies every change,
so the per-rule counts are the mean over the gateways. ``summaries.accounting``: over the whole run, the slots
missing at the idle subscriber against those the senders skipped, and the summaries sent against those received.

``--changes``: every owner change in the window is listed (:func:`owner_changes`: when, the token shortened, from
and to, the move's kind as the broker shows it, the zone the claim names, and ``far`` when the new owner's index is
2 or more from the zone's, 16 m or more at the 8 m spacing) and the far ones are counted in the summary line.

``--join``: the last gateway joins a store whose others already hold the shoppers (beside ``--hog`` busy
loops): its longest silence at the idle subscriber, the slots missing, its own slot counters, its peers' moves.

The last stdout line is one JSON object (benchmarks/common.py).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import report
from benchmarks.multi_gateway import START_UP_S, WARM_UP_S, clock_lags, traffic_by_kind
from edge.sim.multi import MultiStore, Walk, gateway_id
from tests import multi_gateway_store
from tests.mosquitto import Collector, Mosquitto
from tests.multi_gateway_store import ProcessStore

HEALTH_S = 5.0
"""How often each gateway reports its counters: the window's start and end are read to within this."""
PER_S = 20.0
"""Claims are reported per 20 s (the cost run's window, the figure in docs/multi-gateway.md)."""
HOG = "while True: pass"
THIN = 0.5
"""A whole summary naming fewer than this share of its gateway's median tokens is ``thin`` (session 16: a loop
woken late left the next slot's summary a moment's sightings; the standing shoppers are heard every slot)."""
JOIN_WATCH_S = 20.0
"""``--join``: how long the joining gateway is watched from its first summary (its gains fall in the first slots)."""
COUNTERS = (
    "peers_moves_",
    "peers_slots_",
    "peers_summaries_late",
    "peers_hands_at_once",
    "peers_rejected",
    "peers_deliver",
)


def _health(procs: ProcessStore) -> list[tuple[float, str, dict[str, Any]]]:
    """(monotonic arrival, gateway, counters) of every health event the CDP received."""
    with procs.cdp._cond:
        pairs = list(zip(procs.cdp.messages, procs.cdp.arrived, strict=True))
    out = []
    for message, at in pairs:
        if b"edge.gateway.health" in bytes(message.payload):
            body = json.loads(bytes(message.payload))
            if body.get("type") == "edge.gateway.health":
                out.append((at, message.topic.split("/")[3], body["data"]))
    return out


def _presence_words(procs: ProcessStore, t0: float, t1: float) -> dict[str, int]:
    """The ``edge.presence.entered`` / ``exited`` events the CDP received between ``t0`` and ``t1`` (monotonic
    arrival), by kind: what the store's ownership moves cost the CDP. The shoppers stand still, so every one
    of them is a word about a shopper who did not move (a keep, session 32, spares some under a stall)."""
    with procs.cdp._cond:
        pairs = list(zip(procs.cdp.messages, procs.cdp.arrived, strict=True))
    words: dict[str, int] = {}
    for message, at in pairs:
        payload = bytes(message.payload)
        if t0 <= at < t1 and b"edge.presence." in payload:
            kind = json.loads(payload).get("type", "")
            if kind in ("edge.presence.entered", "edge.presence.exited"):
                words[kind.rsplit(".", 1)[1]] = words.get(kind.rsplit(".", 1)[1], 0) + 1
    return words


def _delta(health: list[tuple[float, str, dict[str, Any]]], t0: float, t1: float) -> dict[str, dict[str, int]]:
    """Per gateway (the health's topic), each ``peers_*`` counter's growth from its last report at or
    before ``t0`` (the first after it, if none) to its last at or before ``t1``."""
    by: dict[str, list[tuple[float, dict[str, Any]]]] = {}
    for at, who, data in health:
        by.setdefault(who, []).append((at, data))
    out: dict[str, dict[str, int]] = {}
    for who, rows in by.items():
        before = [d for at, d in rows if at <= t0] or [rows[0][1]]
        after = [d for at, d in rows if at <= t1] or [rows[-1][1]]
        a, b = before[-1], after[-1]
        out[who] = {k: int(b[k]) - int(a.get(k, 0)) for k in b if k.startswith("peers_") and isinstance(b[k], int)}
    return out


def _summaries(local: Collector, n0: int, n1: int, lags: dict[str, float]) -> dict[str, Any]:
    """Each gateway's whole-slot summaries as an idle subscriber got them over the window: how late (arrival
    minus the slot's end on the sender's clock, less its clock's least lag), the slots that never came,
    the ``thin`` ones (:data:`THIN`) and the empty ones."""
    wall = time.time() - time.monotonic()
    late: list[float] = []
    slots: dict[str, list[int]] = {}
    sizes: dict[str, list[int]] = {}
    heard_to: dict[str, list[float | None]] = {}
    for message, at in zip(local.messages[n0:n1], local.arrived[n0:n1], strict=True):
        payload = bytes(message.payload)
        if not message.topic.endswith("/sightings") or b'"early":true' in payload:
            continue
        gateway = message.topic.split("/")[3]
        body = json.loads(payload)
        slot = int(body["slot"])
        slots.setdefault(gateway, []).append(slot)
        sizes.setdefault(gateway, []).append(len(body.get("tokens", ())))
        heard_to.setdefault(gateway, []).append(body.get("heard_to"))
        late.append(at + wall - lags.get(gateway, 0.0) - (slot + 1))
    missing = {g: (max(s) - min(s) + 1 - len(set(s))) for g, s in slots.items() if s}
    thin = sum(1 for g, n in sizes.items() for k in n if k < THIN * statistics.median(n))
    late.sort()

    def q(p: float) -> float | None:
        return round(late[min(len(late) - 1, int(p * len(late)))], 2) if late else None

    return {
        "count": len(late),
        "late_p50_s": q(0.5),
        "late_p95_s": q(0.95),
        "late_max_s": round(late[-1], 2) if late else None,
        "over_deadline": sum(1 for x in late if x > 2.5),
        "missing_slots": sum(missing.values()),
        "thin": thin,
        "empty": sum(1 for n in sizes.values() for k in n if k == 0),  # naming nobody (session 16's mechanism)
        "empty_traced": _empties(slots, sizes, heard_to),
    }


def _empties(
    slots: dict[str, list[int]], sizes: dict[str, list[int]], heard_to: dict[str, list[float | None]]
) -> dict[str, int]:
    """The empty whole summaries by what came before them from the same gateway: the slot before with at least
    1.5 times the gateway's median tokens (``after_double``: a late close put this slot's sightings in it), or
    not; and by their ``heard_to`` (session 17: absent, below the slot's end, or past it)."""
    out = {"after_double": 0, "after_other": 0, "heard_to_absent": 0, "heard_to_short": 0, "heard_to_reached": 0}
    for gateway, n in sizes.items():
        median = statistics.median(n)
        for i, k in enumerate(n):
            if k or not median:  # a gateway that hears nobody most slots: its empty summaries are its store's
                continue
            before = i > 0 and slots[gateway][i - 1] == slots[gateway][i] - 1 and n[i - 1] >= 1.5 * median
            out["after_double" if before else "after_other"] += 1
            h = heard_to[gateway][i]
            out[
                "heard_to_absent"
                if h is None
                else "heard_to_short"
                if h < slots[gateway][i] + 1
                else "heard_to_reached"
            ] += 1
    return out


def _accounting(local: Collector, health: list[tuple[float, str, dict[str, Any]]]) -> dict[str, int]:
    """Over the whole run, up to each gateway's last health report: the slots missing between its first and
    last whole summary at the idle subscriber, the slots it skipped (its ``peers_slots_skipped``), what it
    sent (``peers_summaries_sent``: whole and early parts published) and what the subscriber received of
    them before that report arrived (the report leaves its process a moment after it is made: a summary or
    two per gateway sent after it count as received, so ``sent - received`` is a floor of the lost ones); the
    summaries not published (``peers_summaries_unsent``: cut off) and the store connections made."""
    last: dict[str, tuple[float, dict[str, Any]]] = {}
    for at, who, data in health:
        last[who] = (at, data)
    out = {"missing": 0, "skipped": 0, "sent": 0, "received": 0, "unsent": 0, "connections": 0}
    for who, (until, data) in last.items():
        topic = f"store-local/v1/store-1/{who}/sightings"
        slots: list[int] = []
        received = 0
        for message, at in zip(local.messages, local.arrived, strict=False):
            if message.topic != topic or at > until:
                continue
            received += 1
            if b'"early":true' not in bytes(message.payload):
                slots.append(int(json.loads(bytes(message.payload))["slot"]))
        out["missing"] += (max(slots) - min(slots) + 1 - len(set(slots))) if slots else 0
        out["skipped"] += int(data.get("peers_slots_skipped", 0))
        out["sent"] += int(data.get("peers_summaries_sent", 0))
        out["received"] += received
        out["unsent"] += int(data.get("peers_summaries_unsent", 0))
        out["connections"] += int(data.get("peers_connections", 0))
    return out


FAR = 2
"""An owner this many gateways or more from the zone its claim names (16 m at the 8 m spacing) is ``far``: its
scanner hears the shopper's zone near the floor (-86 dBm and below), another gateway's zone lies between."""


def _index(name: str | None) -> int | None:
    """``gw-3`` or ``z3`` -> 3; None for anything else."""
    if not name:
        return None
    tail = name.rsplit("-", 1)[-1].lstrip("z")
    return int(tail) if tail.isdigit() else None


def _kind(body: dict[str, Any], old: str, new: str, summaries: list[tuple[str, int, dict[str, Any]]]) -> str:
    """How an owner change came, as far as the broker shows it: ``at_once`` (the claim names ``hand``); else by the
    old owner's last two whole summaries before the claim (``summaries``: gateway, slot, body, as they arrived):
    ``hand`` (the last hands the token to the new owner), ``silent`` (none), ``deaf`` (neither names the token),
    or ``lead`` (the old owner heard it and did not hand it on: a loudness lead, or a gateway's own decision that
    the others adopted -- which, the broker cannot tell)."""
    if body.get("hand"):
        return "at_once"
    token = body["token"]
    last = [b for g, _, b in summaries if g == old][-2:]
    if not last:
        return "silent"
    if any(h[0] == token and h[1] == new for h in last[-1].get("hands", ())):
        return "hand"
    if not any(t[0] == token for b in last for t in b.get("tokens", ())):
        return "deaf"
    return "lead"


def owner_changes(messages: list[tuple[str, bytes, float]], n0: int, t0: float) -> list[dict[str, Any]]:
    """Every owner change among the claims from message ``n0`` on (``messages``: topic, payload, monotonic arrival,
    the store broker's in order): seconds after ``t0``, the token (its last 6 characters), from and to (a hand at
    once: to the gateway it names), the kind (:func:`_kind`), the zone the claim names and ``far`` (:data:`FAR`)."""
    owners: dict[str, str] = {}
    summaries: list[tuple[str, int, dict[str, Any]]] = []
    out: list[dict[str, Any]] = []
    for i, (topic, payload, at) in enumerate(messages):
        if topic.endswith("/sightings") and b'"early":true' not in payload:
            body = json.loads(payload)
            summaries.append((topic.split("/")[3], int(body["slot"]), body))
            continue
        if "/owner/" not in topic or not payload:
            continue
        body = json.loads(payload)
        token, new = body["token"], body.get("hand") or body["owner"]
        old = owners.get(token)
        owners[token] = new
        if i < n0 or old is None or old == new:
            continue
        zone = body.get("zone")
        z, g = _index(zone), _index(new)
        out.append(
            {
                "t": round(at - t0, 2),
                "token": token[-6:],
                "from": old,
                "to": new,
                "kind": _kind(body, old, new, summaries),
                "zone": zone,
                "epoch": int(body["epoch"]),
                "far": z is not None and g is not None and abs(g - z) >= FAR,
            }
        )
    return out


def churn(
    work: Path, gateways: int, shoppers: int, window_s: float, hogs: int, settle_s: float = 0.0, changes: bool = False
) -> dict[str, Any]:
    """``settle_s``: seconds more after the warm-up before the window (on a loaded machine the store's first
    claims still fall in the window after :data:`WARM_UP_S`: 45-136 ``claim-new`` per 20 s in session 17)."""
    start = time.time() + 1.0
    store = MultiStore(gateways=gateways, seed=11, start=start, spacing_m=8.0, engine="threshold")
    rng = random.Random(11)
    total = START_UP_S + WARM_UP_S + settle_s + window_s + 2.0
    walks = [Walk(i, start + rng.uniform(1.0, 3.0), (rng.randrange(gateways),), total) for i in range(shoppers)]
    name = f"churn-{gateways}-hog{hogs}"
    hog_procs: list[subprocess.Popen[bytes]] = []
    with Mosquitto(work / f"broker-{name}") as broker:
        local = Collector(broker, ("store-local/v1/#",))
        try:
            with ProcessStore(
                work / name, broker, store, walks, total, shoppers=shoppers, health_interval_s=HEALTH_S
            ) as procs:
                online = {f"store-local/v1/store-1/{g}/state" for g in procs.procs}
                local.wait_for(
                    lambda ms: online <= {m.topic for m in ms if b'"online"' in bytes(m.payload)}, START_UP_S
                )
                procs.cdp.wait_for(lambda ms: bool(ms), START_UP_S)
                hog_procs = [subprocess.Popen([sys.executable, "-c", HOG]) for _ in range(hogs)]
                time.sleep(WARM_UP_S + settle_s)
                t0, n0 = time.monotonic(), len(local.messages)
                time.sleep(window_s)
                t1, n1 = time.monotonic(), len(local.messages)
                time.sleep(HEALTH_S + 1.0)  # the report that covers the window's end
                health = _health(procs)
                words = _presence_words(procs, t0, t1)
                lags = clock_lags(procs.events())
        finally:
            for hog in hog_procs:
                hog.kill()
                hog.wait()
            local.close()
    span = t1 - t0
    kinds = traffic_by_kind([(m.topic, bytes(m.payload)) for m in local.messages[:n1]], n0)
    claims = {k: round(n * PER_S / span, 1) for k, (n, _) in sorted(kinds.items()) if k.startswith("claim")}
    owners: dict[str, tuple[str, int]] = {}
    moves = bounces = 0
    for i, message in enumerate(local.messages[:n1]):
        topic, payload = message.topic, bytes(message.payload)
        if "/owner/" not in topic or not payload:
            continue
        body = json.loads(payload)
        token, owner, epoch = body["token"], body["owner"], int(body["epoch"])
        if body.get("hand"):
            owner = body["hand"]
        if token in owners and i >= n0:
            moves += owners[token][0] != owner
            bounces += owners[token][0] == owner and epoch > owners[token][1]  # moved and back: a new epoch
        owners[token] = (owner, epoch)
    deltas = _delta(health, t0, t1)
    late = _summaries(local, n0, n1, lags)
    late["accounting"] = _accounting(local, health)
    n = max(len(deltas), 1)
    counters = sorted({k for d in deltas.values() for k in d})
    mean = {k: round(sum(d.get(k, 0) for d in deltas.values()) / n * PER_S / span, 1) for k in counters}
    listed = (
        owner_changes(
            [(m.topic, bytes(m.payload), a) for m, a in zip(local.messages[:n1], local.arrived[:n1], strict=True)],
            n0,
            t0,
        )
        if changes
        else []
    )
    if changes:
        for row in listed:
            print("change", json.dumps(row), flush=True)
    return {
        "gateways": gateways,
        "hogs": hogs,
        "shoppers": shoppers,
        "window_s": round(span, 1),
        **({"far_changes": sum(r["far"] for r in listed), "changes_listed": len(listed)} if changes else {}),
        "settle_s": settle_s,
        "claims_per_20s": claims,
        "claims_per_20s_total": round(sum(claims.values()), 1),
        "owner_changes_per_shopper_per_20s": round(moves / shoppers * PER_S / span, 3),
        # the same owner's claim at a new epoch: the arbitration moved the shopper and back (deaf, then lead)
        "owner_bounces_per_20s": round(bounces * PER_S / span, 1),
        # what the CDP heard of those standing shoppers in the window: entered / exited per shopper per 20 s
        "cdp_presence_per_shopper_per_20s": round(sum(words.values()) / shoppers * PER_S / span, 3),
        "cdp_presence_words": words,
        "per_gateway_per_20s": {
            k: v
            for k, v in mean.items()
            if k.startswith(("peers_moves_", "peers_slots", "peers_summaries_late", "peers_changes_"))
        },
        "gateways_reporting": len(deltas),
        # how far apart the processes' replay clocks run (one ble.start_at for all since session 26; before,
        # each started with its process): a summary's slot is its sender's clock's, so a spread above
        # SLOT_DEADLINE_S makes the late gateway's summaries late
        "summaries": late,
        "clock_lag_spread_s": round(max(lags.values()) - min(lags.values()), 2) if lags else None,
        "clock_lags_s": {g: round(v, 2) for g, v in lags.items()},
        # since the start (not the window): gateways that moved their slot clocks, though every box here runs on
        # one clock -- a starved loop's late summaries read as a clock behind (edge/peers/clocks.py)
        "slot_clock_moves": _moves(health),
        # since the start: gateways whose slot loop stopped for AWAY_S or more (a starved process) and which so said
        # nothing to the CDP until they had caught up -- [peers_rejoins, peers_silent_away (events held),
        # peers_rejoin_words (changes said once caught up)] (edge/peers/timing.py AWAY_S, session 31)
        "rejoins": _rejoins(health),
    }


def _rejoins(health: list[tuple[float, str, dict[str, Any]]]) -> dict[str, list[int]]:
    """Per gateway that came back from a stall, its last report's rejoin counters (see ``rejoins`` above)."""
    last = {who: data for _, who, data in health}
    keys = ("peers_rejoins", "peers_silent_away", "peers_rejoin_words")
    return {who: [int(data.get(k, 0)) for k in keys] for who, data in sorted(last.items()) if data.get(keys[0])}


def _moves(health: list[tuple[float, str, dict[str, Any]]]) -> dict[str, list[int]]:
    """Per gateway that moved its slot clock, its last report's ``[peers_clock_moves, peers_clock_correction_ms]``."""
    last = {who: data for _, who, data in health}
    return {
        who: [int(data.get("peers_clock_moves", 0)), int(data.get("peers_clock_correction_ms", 0))]
        for who, data in sorted(last.items())
        if data.get("peers_clock_moves")
    }


def _start(procs: ProcessStore, me: str) -> None:
    """Start one gateway's ``edge run`` (as :meth:`ProcessStore.__enter__` does for all)."""
    with (procs.dir / f"{me}.log").open("ab") as log:
        procs.procs[me] = subprocess.Popen(
            [sys.executable, "-m", "edge", "run", "--config", str(procs.configs[me])],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )


def _offsets(local: Collector, n0: int, n1: int) -> dict[str, float]:
    """Per gateway, how far its clock runs behind the wall clock by its whole-slot summaries (a summary of slot
    ``k`` goes out at ``k + 1`` on its clock): the least of arrival minus ``k + 1``."""
    wall = time.time() - time.monotonic()
    out: dict[str, float] = {}
    for message, at in zip(local.messages[n0:n1], local.arrived[n0:n1], strict=True):
        payload = bytes(message.payload)
        if message.topic.endswith("/sightings") and b'"early":true' not in payload:
            gateway = message.topic.split("/")[3]
            lag = at + wall - (int(json.loads(payload)["slot"]) + 1)
            out[gateway] = round(min(out.get(gateway, lag), lag), 2)
    return dict(sorted(out.items()))


def join(work: Path, gateways: int, shoppers: int, hogs: int) -> dict[str, Any]:
    """The last gateway joins a store whose others already hold the standing shoppers: how long it is silent
    (its whole-slot summaries at an idle subscriber over :data:`JOIN_WATCH_S` from its first), its own slot
    counters, and the moves its peers make meanwhile. It plays the store's time like its peers (``ble.start_at``),
    skipping what played before it was up, as a box that boots into a busy store."""
    start = time.time() + 1.0
    store = MultiStore(gateways=gateways, seed=11, start=start, spacing_m=8.0, engine="threshold")
    rng = random.Random(11)
    total = 3 * START_UP_S + WARM_UP_S + JOIN_WATCH_S
    walks = [Walk(i, start + rng.uniform(1.0, 3.0), (rng.randrange(gateways),), total) for i in range(shoppers)]
    name = f"join-{gateways}-hog{hogs}"
    joiner = gateway_id(gateways - 1)
    hog_procs: list[subprocess.Popen[bytes]] = []
    with Mosquitto(work / f"broker-{name}") as broker:
        local = Collector(broker, ("store-local/v1/#",))
        procs = ProcessStore(work / name, broker, store, walks, total, shoppers=shoppers, health_interval_s=HEALTH_S)
        try:
            for me in procs.configs:
                if me != joiner:
                    _start(procs, me)
            online = {f"store-local/v1/store-1/{g}/state" for g in procs.procs}
            local.wait_for(lambda ms: online <= {m.topic for m in ms if b'"online"' in bytes(m.payload)}, START_UP_S)
            hog_procs = [subprocess.Popen([sys.executable, "-c", HOG]) for _ in range(hogs)]
            time.sleep(WARM_UP_S)
            t0, n0 = time.monotonic(), len(local.messages)
            _start(procs, joiner)
            mine = f"store-local/v1/store-1/{joiner}/sightings"
            local.wait_for(lambda ms: any(m.topic == mine for m in ms[n0:]), START_UP_S)
            time.sleep(JOIN_WATCH_S)
            t1, n1 = time.monotonic(), len(local.messages)
            time.sleep(HEALTH_S + 1.0)
            health = _health(procs)
            lags = _offsets(local, n0, len(local.messages))
        finally:
            for hog in hog_procs:
                hog.kill()
                hog.wait()
            procs.__exit__()
            local.close()
    arrivals: list[tuple[float, int]] = []
    for message, arrived in zip(local.messages[n0:n1], local.arrived[n0:n1], strict=True):
        payload = bytes(message.payload)
        if message.topic == mine and b'"early":true' not in payload:
            arrivals.append((arrived, int(json.loads(payload)["slot"])))
    slots = [s for _, s in arrivals]
    gaps = [b - a for (a, _), (b, _) in itertools.pairwise(arrivals)]
    deltas = _delta(health, t0, t1)
    own = [d for at, who, d in health if who == joiner and at <= t1 + HEALTH_S + 1.0]
    peers_silent = [d.get("peers_moves_silent", 0) for who, d in deltas.items() if who != joiner]
    others = [d for who, d in deltas.items() if who != joiner]
    keys = sorted({k for d in others for k in d if k.startswith(("peers_moves_", "peers_slots_"))})
    owners: dict[str, str] = {}
    moved = 0
    for i, message in enumerate(local.messages[:n1]):
        if "/owner/" in message.topic and bytes(message.payload):
            body = json.loads(bytes(message.payload))
            owner = body.get("hand") or body["owner"]
            moved += i >= n0 and body["token"] in owners and owners[body["token"]] != owner
            owners[body["token"]] = owner
    return {
        "gateways": gateways,
        "hogs": hogs,
        "joiner": joiner,
        "joiner_summaries": len(slots),
        "joiner_slots_missing": (max(slots) - min(slots) + 1 - len(set(slots))) if slots else None,
        "joiner_longest_gap_s": round(max(gaps), 2) if gaps else None,
        "joiner_counters": {
            k: v
            for k, v in (own[-1] if own else {}).items()
            if k.startswith(("peers_slots", "peers_moves", "peers_owned"))
        },
        "peers_moves_silent_mean": round(sum(peers_silent) / max(len(peers_silent), 1), 1),
        "others_mean": {k: round(sum(d.get(k, 0) for d in others) / max(len(others), 1), 1) for k in keys},
        "owner_changes_per_shopper": round(moved / shoppers, 3),
        "claimed_by_joiner_at_end": sum(1 for o in owners.values() if o == joiner),
        "clock_lags_by_summaries_s": lags,
        "slot_clock_moves": _moves(health),  # a joiner starting on a loaded machine must not read as a clock off
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gateways", type=int, nargs="*", default=[3, 8])
    parser.add_argument("--present", type=int, default=100)
    parser.add_argument("--window", type=float, default=20.0)
    parser.add_argument("--hog", type=int, nargs="*", default=[0, 1], help="busy-loop processes beside the run")
    parser.add_argument("--join", action="store_true", help="the last gateway joins a busy store: its silence")
    parser.add_argument("--settle", type=float, default=0.0, help="seconds more before the window (a loaded machine)")
    parser.add_argument("--changes", action="store_true", help="list every owner change in the window; count far ones")
    parser.add_argument(
        "--full-screens",
        action="store_true",
        help="every box's player at 1920 x 1080, 30 fps (until session 37; on 2 cores eight starve the gateways)",
    )
    args = parser.parse_args(argv)
    if args.full_screens:
        multi_gateway_store.SCREEN = {}
    runs = []
    with tempfile.TemporaryDirectory(prefix="edge-churn-") as tmp:
        for hogs in args.hog:
            for n in args.gateways:
                if args.join:
                    one = join(Path(tmp), n, args.present, hogs)
                else:
                    one = churn(Path(tmp), n, args.present, args.window, hogs, args.settle, args.changes)
                print(json.dumps(one), flush=True)
                runs.append(one)
    report("multi_gateway_churn", {"runs": runs})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
