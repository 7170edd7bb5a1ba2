"""App check-in → presence: a signed check-in's bytes to its ``edge.presence.entered`` committed in the outbox.

Measured per check-in, on one core: JSON decode, form check, Ed25519 verification with the CDP's
public key, time / store / nonce checks (:mod:`edge.checkin.proof`), the app-presence tracker
(:mod:`edge.checkin.app_presence`), the CloudEvent, and the SQLite outbox commit (WAL,
``synchronous=FULL``: durable before visible, as the pipeline does). Baseline from the same run: the
outbox commit alone of an event built beforehand, so the ratio is what the check-in path adds.
Goal p95 <= 100 ms.

Not measured here: check-in → offer on screen (goal p95 <= 300 ms). That needs the check-in handler
wired into the gateway (issue #17's wiring step, after #14's service wiring); until then it is the
figure above plus the presence → first presented frame latency of ``benchmarks/signage.py``.
The whole chain from walking in is bounded by iOS (region entry is reported seconds to tens of
seconds late, at iOS's discretion), not by the gateway.

    python benchmarks/checkin.py [--checkins N]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from benchmarks.common import pin_to_one_core, report
from edge import events as ev
from edge.checkin.app_presence import AppPresence, app_event_data
from edge.checkin.proof import ProofVerifier, decode_object, form_of, signed_text
from edge.events import EventFactory
from edge.outbox import Outbox
from edge.roster import parse_roster
from edge.trace import format_time

GOAL_PRESENCE_P95_MS = 100.0
GOAL_SCREEN_P95_MS = 300.0
STORE_UUID = uuid.UUID("8e1f3c52-6a4d-4b7e-9f10-2c5d7a3b9e41")
MAJOR = 7


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[94]


def proofs(key: Ed25519PrivateKey, count: int, now: float) -> list[bytes]:
    out = []
    for i in range(count):
        body = {
            "token": f"s-{i}",
            "event": "enter",
            "region": {"uuid": str(STORE_UUID), "major": MAJOR, "minor": 1},
            "issued_at": format_time(now - 1),
            "expires_at": format_time(now + 299),
            "nonce": f"nonce-{i:08d}-{random.getrandbits(32):08x}",
        }
        out.append(json.dumps({**body, "sig": base64.b64encode(key.sign(signed_text(body))).decode()}).encode())
    return out


def roster(count: int, now: float) -> bytes:
    shoppers = [{"token": f"s-{i}", "scopes": ["presence", "personalization"], "ids": []} for i in range(count)]
    return json.dumps(
        {
            "version": 1,
            "issued_at": format_time(now - 60),
            "expires_at": format_time(now + 86_400),
            "shoppers": shoppers,
        }
    ).encode()


async def measure(count: int) -> dict[str, float]:
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    now = time.time()
    payloads = proofs(key, count, now)
    shoppers = parse_roster(roster(count, now))
    verifier = ProofVerifier(public, STORE_UUID, MAJOR)
    tracker = AppPresence(1800.0, lambda minor: "entrance" if minor == 1 else None, ("entrance",))
    factory = EventFactory("store-1", "gw-1", random.Random(1))
    path_ms: list[float] = []
    commit_ms: list[float] = []
    with tempfile.TemporaryDirectory(prefix="edge-bench-checkin-") as state:
        async with Outbox(Path(state), factory.source) as outbox:
            for payload in payloads:
                started = time.perf_counter()
                obj = decode_object(payload)
                assert form_of(obj) == "presence"
                at = time.time()
                checkin = verifier.verify(obj, at)
                found = tracker.on_checkin(checkin, at, shoppers)
                events = [
                    factory.make(ev.PRESENCE_ENTERED, p.at, p.zone, app_event_data(p), token=p.token) for p in found
                ]
                await outbox.append(events)
                path_ms.append((time.perf_counter() - started) * 1000)
            for i in range(count):
                event = factory.make(
                    ev.PRESENCE_ENTERED, now, "entrance", {"token": f"b-{i}", "zone": "entrance", "via": "app"}
                )
                started = time.perf_counter()
                await outbox.append([event])
                commit_ms.append((time.perf_counter() - started) * 1000)
    assert verifier.counters["accepted"] == count
    return {
        "checkin_to_presence_p95_ms": round(p95(path_ms), 3),
        "checkin_to_presence_median_ms": round(statistics.median(path_ms), 3),
        "outbox_commit_p95_ms": round(p95(commit_ms), 3),
        "ratio_to_commit": round(p95(path_ms) / p95(commit_ms), 2),
    }


def verify_only(count: int) -> float:
    """Ed25519 verifications per second (the check-in's cryptographic cost on its own)."""
    key = Ed25519PrivateKey.generate()
    public = key.public_key()
    message = b"x" * 240
    signature = key.sign(message)
    started = time.perf_counter()
    for _ in range(count):
        public.verify(signature, message)
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkins", type=int, default=2000)
    args = parser.parse_args()
    cpu = pin_to_one_core()
    figures = asyncio.run(measure(args.checkins))
    per_s = verify_only(args.checkins)
    print(f"check-ins: {args.checkins} on {cpu}")
    print(
        f"  received -> presence event committed  p95 {figures['checkin_to_presence_p95_ms']:.2f} ms "
        f"(median {figures['checkin_to_presence_median_ms']:.2f} ms; goal <= {GOAL_PRESENCE_P95_MS:g} ms)"
    )
    print(
        f"  baseline: outbox commit alone          p95 {figures['outbox_commit_p95_ms']:.2f} ms "
        f"(ratio {figures['ratio_to_commit']:.2f}x)"
    )
    print(f"  Ed25519 verifications: {per_s:,.0f}/s")
    print("  received -> offer on screen: not measured (needs the check-in handler wired into the gateway)")
    report(
        "checkin",
        {
            **figures,
            "checkins": args.checkins,
            "ed25519_verify_per_s": round(per_s),
            "goal_presence_p95_ms": GOAL_PRESENCE_P95_MS,
            "checkin_to_screen_p95_ms": None,
            "goal_screen_p95_ms": GOAL_SCREEN_P95_MS,
        },
    )  # fmt: skip


if __name__ == "__main__":
    main()
