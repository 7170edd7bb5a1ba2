"""Writes examples/trace.jsonl and examples/roster.json: a 90-second morning in a three-zone store.

Deterministic (a fixed seed and start time): running it again gives the same bytes. The beacons
are built with the project's own encoders (:mod:`edge.beacons.build`, :func:`edge.eid.eid_at`) and
the lines with the trace writer (:mod:`edge.trace`), so every payload is one the gateway parses.

Who is in the store (positions in metres; scanners at y = 0, the main aisle at y = 7):

- ``shopper-a1c9`` (the retailer's app, Eddystone-EID, scopes presence/personalization/shelf) walks
  in along the aisle, turns into the baby zone at t ≈ 24 s, picks up a packet of nappies at
  shelf-a3 at t = 40 s and leaves again at t ≈ 58 s;
- ``shopper-b7e2`` (a loyalty card, iBeacon, scope presence) walks to the drinks zone and stays;
  the CDP withdraws their consent at t = 55 s, while the card goes on advertising;
- a phone nobody rostered (random address, Apple continuity data) browses the baby zone too and
  touches a product at t = 72 s after the opted-in shopper has left: it must leave no trace.

Run from the repository root: ``.venv/bin/python examples/make_trace.py``.
"""

from __future__ import annotations

import itertools
import json
import math
import random
import uuid
from collections.abc import Iterator
from pathlib import Path

from edge.beacons.advert import APPLE_COMPANY_ID, EDDYSTONE_UUID, Advertisement
from edge.beacons.build import eddystone_eid_payload, ibeacon_payload
from edge.eid import eid_at
from edge.inputs import Downlink, Item, ShelfReading
from edge.trace import format_time, header_line, item_line, parse_start

HERE = Path(__file__).resolve().parent
START = parse_start("2026-11-23T10:00:00Z")
"""t = 0 of the trace: a Monday morning (the replay's "now" is the trace's own time)."""
END_S = 90.0
SEED = 12

STORE = "store-1"
SCANNERS = {"scn-entrance": (0.0, 0.0), "scn-baby": (14.0, 0.0), "scn-drinks": (28.0, 0.0)}
"""Scanner id → position; each zone of store.toml has one."""

PATH_LOSS_EXPONENT = 2.2
SHADOWING_SIGMA_DB = 3.0
MISS_PROBABILITY = 0.15
HEARING_RANGE_M = 12.0
SENSITIVITY_DBM = -95

APP_TOKEN = "shopper-a1c9"  # noqa: S105 - a pseudonymous roster token, not a password
APP_TK = bytes.fromhex("5c8e2a7f1b3d4e6a9c0b7d2e4f6a8c1e")
"""The app's temporary key for the current 2^16 s window (what the roster carries; never the identity key)."""
APP_K = 10
APP_T0 = int(START) - 5_000
APP_ADDRESS = "5D:21:8A:4C:E0:13"
APP_POWER_1M_DBM = -59

CARD_TOKEN = "shopper-b7e2"  # noqa: S105 - a pseudonymous roster token, not a password
CARD_UUID = uuid.UUID("2f234454-cf6d-4a0f-adf2-f4911ba9ffa6")
CARD_MAJOR, CARD_MINOR = 1, 4711
CARD_ADDRESS = "C7:3B:09:51:A2:6E"
CARD_POWER_1M_DBM = -62

UID_TOKEN = "shopper-c4d0"  # noqa: S105 - a pseudonymous roster token, not a password
"""A third opted-in shopper (an Eddystone-UID tag) who is not in the store this morning."""
UID_NAMESPACE = bytes.fromhex("edd1ebeac04e5defa017")
UID_INSTANCE = bytes.fromhex("0badc0ffee01")

STRANGER_ADDRESS = "4E:9A:21:C3:77:10"
"""The phone nobody rostered: this address must appear in no event, row or log line."""

WITHDRAW_AT_S = 55.0
PICKUP_AT_S = 40.0
TOUCH_AT_S = 72.0
SHELF = "shelf-a3"

Waypoints = list[tuple[float, float, float]]
"""(t, x, y): where someone is at t; straight lines at walking pace in between."""

APP_PATH: Waypoints = [(2, -6, 7), (8, 0, 7), (20, 12, 7), (24, 14, 1.5), (58, 14, 1.5), (62, 14, 7), (76, 0, 7)]
CARD_PATH: Waypoints = [(5, -6, 7), (35, 24, 7), (39, 28, 1.8), (END_S, 28, 1.8)]
STRANGER_PATH: Waypoints = [(10, -6, 7), (30, 14, 7), (34, 15, 2.2), (74, 15, 2.2), (78, 14, 7), (END_S, 2, 7)]


def position(path: Waypoints, t: float) -> tuple[float, float] | None:
    """Where on ``path`` at ``t``, or None before its first or after its last waypoint (out of the store)."""
    for (t1, x1, y1), (t2, x2, y2) in itertools.pairwise(path):
        if t1 <= t <= t2:
            f = (t - t1) / (t2 - t1)
            return x1 + f * (x2 - x1), y1 + f * (y2 - y1)
    return None


def heard(
    rng: random.Random, power_1m_dbm: float, where: tuple[float, float], scanner: tuple[float, float]
) -> int | None:
    """The RSSI a scanner reads for one advert (log-distance path loss, shadowing, misses), or None."""
    distance = max(math.dist(where, scanner), 0.3)
    if distance > HEARING_RANGE_M or rng.random() < MISS_PROBABILITY:
        return None
    rssi = round(power_1m_dbm - 10 * PATH_LOSS_EXPONENT * math.log10(distance) + rng.gauss(0, SHADOWING_SIGMA_DB))
    return None if rssi < SENSITIVITY_DBM else min(rssi, 20)


def heard_adverts(
    rng: random.Random, path: Waypoints, interval_s: float, power_1m_dbm: float
) -> Iterator[tuple[float, str, int]]:
    """(time, scanner, RSSI) for every advert of a device on ``path``, as each scanner hears it."""
    t = path[0][0] + rng.uniform(0, interval_s)
    while t <= path[-1][0]:
        where = position(path, t)
        if where is not None:
            for scanner, place in SCANNERS.items():
                rssi = heard(rng, power_1m_dbm, where, place)
                if rssi is not None:
                    yield t, scanner, rssi
        t += interval_s + rng.uniform(0, 0.01)  # BLE's 0-10 ms advDelay


def app_payload(at: float) -> dict[str, bytes]:
    """The app's Eddystone-EID service data at ``at`` (ranging data is the power at 0 m: +41 dB)."""
    return {EDDYSTONE_UUID: eddystone_eid_payload(eid_at(APP_TK, APP_K, APP_T0, at), APP_POWER_1M_DBM + 41)}


def device_items(
    rng: random.Random, path: Waypoints, interval_s: float, power_1m_dbm: float, address: str, kind: str
) -> list[Item]:
    """One device's advertisements: ``kind`` is ``eid`` (the app), ``ibeacon`` (the card) or ``other``."""
    card = {APPLE_COMPANY_ID: ibeacon_payload(CARD_UUID, CARD_MAJOR, CARD_MINOR, CARD_POWER_1M_DBM)}
    continuity = {APPLE_COMPANY_ID: bytes.fromhex("1005031c8e2a47")}  # Apple's own traffic, not an iBeacon
    out: list[Item] = []
    for t, scanner, rssi in heard_adverts(rng, path, interval_s, power_1m_dbm):
        at = round(START + t, 3)
        if kind == "eid":
            out.append(Advertisement(at, scanner, address, rssi, service_data=app_payload(at)))
        else:
            out.append(
                Advertisement(at, scanner, address, rssi, manufacturer_data=card if kind == "ibeacon" else continuity)
            )
    return out


def roster() -> dict[str, object]:
    return {
        "version": 42,
        "issued_at": format_time(START - 4 * 3600),
        "expires_at": format_time(START + 20 * 3600),
        "shoppers": [
            {
                "token": APP_TOKEN,
                "scopes": ["presence", "personalization", "shelf"],
                "ids": [{"type": "eddystone-eid", "tk": APP_TK.hex(), "k": APP_K, "t0": APP_T0}],
                "segments": ["families"],
                "recent_purchases": ["4062300020719"],
                "prefs": {"language": "de", "large_text": False},
            },
            {
                "token": CARD_TOKEN,
                "scopes": ["presence"],
                "ids": [{"type": "ibeacon", "uuid": str(CARD_UUID), "major": CARD_MAJOR, "minor": CARD_MINOR}],
            },
            {
                "token": UID_TOKEN,
                "scopes": ["presence", "shelf"],
                "ids": [{"type": "eddystone-uid", "namespace": UID_NAMESPACE.hex(), "instance": UID_INSTANCE.hex()}],
                "segments": ["wine-lovers"],
            },
        ],
    }


def items() -> list[Item]:
    rng = random.Random(SEED)  # noqa: S311 - a reproducible sample, not a secret
    out: list[Item] = []
    out += device_items(rng, APP_PATH, 0.5, APP_POWER_1M_DBM, APP_ADDRESS, "eid")
    out += device_items(rng, CARD_PATH, 0.5, CARD_POWER_1M_DBM, CARD_ADDRESS, "ibeacon")
    out += device_items(rng, STRANGER_PATH, 1.0, -58, STRANGER_ADDRESS, "other")
    for name in ("offers", "rules"):  # the signage's downlinks (`edge run` shows them; `edge replay` has no screen)
        payload = json.dumps(json.loads((HERE / f"{name}.json").read_bytes()), separators=(",", ":")).encode()
        out.append(Downlink(START, f"cdp/v1/{STORE}/{name}", payload))
    out.append(ShelfReading(START + PICKUP_AT_S, SHELF, "pickup", "4006381333931"))
    withdraw = json.dumps({"token": CARD_TOKEN}).encode()
    out.append(Downlink(START + WITHDRAW_AT_S, f"cdp/v1/{STORE}/consent/withdraw", withdraw))
    touch = json.dumps({"action": "touch", "sku": "4062300020719"}).encode()
    out.append(Downlink(START + TOUCH_AT_S, f"edge/v1/{STORE}/shelf/{SHELF}", touch))
    out.sort(key=lambda item: item.at)
    return out


def main() -> None:
    with (HERE / "trace.jsonl").open("wb") as trace:
        trace.write(header_line(START))
        for item in items():
            trace.write(item_line(item, START))
    (HERE / "roster.json").write_text(json.dumps(roster(), indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
