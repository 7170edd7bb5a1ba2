"""Bad downlinks of every kind, deterministic from a seed: shared by benchmarks/hostile.py and the
hostile-input tests (tests/test_hostile_mqtt.py).

Kinds: deep (JSON nesting 5,000-50,000 levels, in a known field and in an unknown one), huge (over
the topic's size limit), out of range (roster version >= 2^63, Eddystone-EID t0 = 1e309 or 10^40,
iBeacon major 70000, negative sequence), wrong types, malformed JSON, long strings and arrays, an
older roster, an expired one. Each payload carries :data:`SECRET` so a test can check that no
payload value reaches the log.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

from edge.timefmt import format_time

SECRET = "SECRET-VALUE-7f3a"
"""In every payload: it must never appear in a log line."""

KINDS = ("deep", "deep_unknown", "huge", "range", "type", "malformed", "long", "stale", "expired")


def roster(version: int, issued: float, expires: float, token: str = "s-card", **id_fields: Any) -> dict[str, Any]:
    ident = {"type": "ibeacon", "uuid": "f7826da6-4fa2-4e98-8024-bc5b71e0893e", "major": 1, "minor": 2}
    ident.update(id_fields)
    return {
        "version": version,
        "issued_at": format_time(issued),
        "expires_at": format_time(expires),
        "shoppers": [{"token": token, "scopes": ["presence", "personalization"], "ids": [ident]}],
    }


def _deep(levels: int, inner: bytes = b"1") -> bytes:
    return b"[" * levels + inner + b"]" * levels


def bad_payload(topic_kind: str, kind: str, rng: random.Random, *, now: float, version: int) -> bytes:
    """One bad payload for a downlink of ``topic_kind`` (roster, withdraw, checkin, offers, rules, config,
    replay, override, screenshot, shelf) of ``kind`` (:data:`KINDS`)."""
    levels = rng.choice((5_000, 20_000, 50_000))
    if kind == "deep":
        field = {"roster": "shoppers", "withdraw": "token", "replay": "from_sequence"}.get(topic_kind, "version")
        return b'{"%s": %s, "note": "%s"}' % (field.encode(), _deep(levels), SECRET.encode())
    if kind == "deep_unknown":
        return b'{"token": "%s", "x-unknown": %s}' % (SECRET.encode(), _deep(levels, b"{}"))
    if kind == "huge":
        size = rng.randint(4 * 1024 * 1024 + 1, 4 * 1024 * 1024 + 9)
        return json.dumps({"token": SECRET, "pad": "x" * size}).encode()
    if kind == "range":
        if topic_kind == "roster":
            choice = rng.randrange(4)
            if choice == 0:
                body = roster(2**63 + rng.randrange(1000), now - 60, now + 86_400, SECRET)
            elif choice == 1:
                body = roster(version + 1, now - 60, now + 86_400, SECRET, type="eddystone-eid", tk="00" * 16, k=10)
                text = json.dumps(body).replace('"k": 10', '"k": 10, "t0": 1e309')
                return text.encode()
            elif choice == 2:
                body = roster(version + 1, now - 60, now + 86_400, SECRET, type="eddystone-eid", tk="00" * 16, k=10)
                body["shoppers"][0]["ids"][0]["t0"] = 10**40
            else:
                body = roster(version + 1, now - 60, now + 86_400, SECRET, major=70_000)
            return json.dumps(body).encode()
        if topic_kind == "replay":
            return json.dumps({"from_sequence": -5, "to_sequence": 2**70, "note": SECRET}).encode()
        return json.dumps(
            {"version": 2**64, "token": 10**30, "note": SECRET, "priority": -(2**70), "t": 1e308}
        ).encode()
    if kind == "type":
        return json.dumps({"version": SECRET, "token": [SECRET], "from_sequence": SECRET, "shoppers": {}}).encode()
    if kind == "malformed":
        return rng.choice((b"{", b'{"token": "' + SECRET.encode(), b"\xff\xfe" + SECRET.encode(), b"", b"[]]"))
    if kind == "long":
        # Just past the string and array limits (a token of 128 characters, 256 labels, 1,000 offers).
        return json.dumps(
            {"token": SECRET * 10, "request_id": SECRET * 10, "sku": SECRET * 5, "shoppers": [SECRET] * 300,
             "offers": [{}] * 1001, "from_sequence": [1] * 300}
        ).encode()  # fmt: skip
    if kind == "stale":
        return json.dumps(roster(max(0, version - 1), now - 60, now + 86_400, SECRET)).encode()
    assert kind == "expired"
    return json.dumps(roster(version + 1, now - 7200, now - 3600, SECRET)).encode()


def topic_kinds(store: str, gateway: str) -> dict[str, str]:
    """Downlink topic kind → topic."""
    down = f"cdp/v1/{store}"
    return {
        "roster": f"{down}/roster",
        "withdraw": f"{down}/consent/withdraw",
        "checkin": f"{down}/checkin",
        "offers": f"{down}/offers",
        "rules": f"{down}/rules",
        "config": f"{down}/{gateway}/config",
        "replay": f"{down}/{gateway}/replay",
        "override": f"{down}/{gateway}/override",
        "screenshot": f"{down}/{gateway}/screenshot",
        "shelf": f"edge/v1/{store}/shelf/shelf-a3",
    }


def flood(
    store: str, gateway: str, count: int, *, now: float, version: int, seed: int = 0, huge: bool = False
) -> Iterator[tuple[str, bytes]]:
    """``count`` (topic, payload) pairs cycling through every topic and kind (``huge``: include the
    over-the-limit ones, 4 MiB each). Retained topics get the roster-shaped kinds too."""
    rng = random.Random(seed)
    topics = topic_kinds(store, gateway)
    kinds = [k for k in KINDS if huge or k != "huge"]
    pairs = [(t, k) for t in topics for k in kinds]
    cache: dict[tuple[str, str], list[bytes]] = {}
    for index in range(count):
        topic_kind, kind = pairs[index % len(pairs)]
        variants = cache.setdefault((topic_kind, kind), [])
        if len(variants) < 4:  # a few variants each: building 50,000-level payloads is not free
            variants.append(bad_payload(topic_kind, kind, rng, now=now, version=version))
        yield topics[topic_kind], variants[index // len(pairs) % len(variants)]
