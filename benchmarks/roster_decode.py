"""A roster as large as a downlink may be, decoded and checked, beside the bare JSON decode of the same bytes.

The roster arrives retained on ``cdp/v1/{store}/roster`` and is decoded on the gateway's event loop: the time
it takes is a pause in presence. The payload is the largest that fits the 4 MiB downlink bound
(``MQTT_DOWNLINK_MAX_BYTES``): shoppers with the fields the example roster carries (three scopes, two segments,
two recent purchases, preferences), half with an Eddystone-EID key, half with an iBeacon. Measured:
:func:`edge.roster.parse_roster` (the decode, the unknown-field walk, the typed conversion and the per-shopper
checks) against ``msgspec.json.decode`` of the same bytes untyped (the peer: reading the JSON at all), best
of ``--rounds``, alternating.

    python benchmarks/roster_decode.py [--rounds N] [--quick]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import msgspec

from benchmarks.common import report
from edge import constants as c
from edge.roster import parse_roster
from edge.timefmt import format_time

NOW = 1_800_000_000.0
QUICK_BYTES = 256 * 1024
"""``--quick``: a roster of this size (the plumbing, in a fraction of a second)."""


def _shopper(i: int) -> dict[str, Any]:
    if i % 2:
        ident: dict[str, Any] = {"type": "ibeacon", "uuid": "f7826da6-4fa2-4e98-8024-bc5b71e0893e",
                                 "major": i // 65536, "minor": i % 65536}  # fmt: skip
    else:
        ident = {"type": "eddystone-eid", "tk": f"{i:032x}", "k": 10, "t0": int(NOW) - 86_400}
    return {
        "token": f"s-{i:08d}-5c8e2a7f1b3d4e6a9c0b7d2e",
        "scopes": ["presence", "personalization", "shelf"],
        "ids": [ident],
        "segments": ["families", "wine"],
        "recent_purchases": ["4006381333931", "4062300020719"],
        "prefs": {"language": "de", "large_text": False},
    }


def roster_bytes(limit: int) -> tuple[bytes, int]:
    """The largest roster of :func:`_shopper` entries under ``limit`` bytes, and its number of shoppers."""
    head = {"version": 1, "issued_at": format_time(NOW - 60), "expires_at": format_time(NOW + 86_400)}
    one = len(json.dumps(_shopper(10**7))) + 2
    count = max(1, (limit - len(json.dumps(head)) - 20) // one)
    payload = json.dumps({**head, "shoppers": [_shopper(i) for i in range(count)]}).encode()
    while len(payload) > limit:
        count -= 1
        payload = json.dumps({**head, "shoppers": [_shopper(i) for i in range(count)]}).encode()
    return payload, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="a 256 KiB roster, 3 rounds")
    args = parser.parse_args()
    rounds = 3 if args.quick else args.rounds
    payload, count = roster_bytes(QUICK_BYTES if args.quick else c.MQTT_DOWNLINK_MAX_BYTES)
    assert len(parse_roster(payload).shoppers) == count
    best_parse = best_json = float("inf")
    for _ in range(rounds):
        began = time.perf_counter()
        msgspec.json.decode(payload)
        best_json = min(best_json, time.perf_counter() - began)
        began = time.perf_counter()
        parse_roster(payload)
        best_parse = min(best_parse, time.perf_counter() - began)
    ratio = best_parse / best_json
    print(f"roster of {count:,} shoppers ({len(payload):,} bytes): parse_roster {best_parse * 1e3:.0f} ms, "
          f"msgspec.json.decode {best_json * 1e3:.0f} ms ({ratio:.1f}x), best of {rounds}")  # fmt: skip
    report(
        "roster_decode",
        {
            "shoppers": count,
            "bytes": len(payload),
            "parse_ms": round(best_parse * 1e3, 1),
            "json_decode_ms": round(best_json * 1e3, 1),
            "ratio_to_json_decode": round(ratio, 2),
            "rounds": rounds,
        },
    )


if __name__ == "__main__":
    main()
