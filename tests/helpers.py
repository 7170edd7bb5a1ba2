"""Small builders shared by the tests: rosters, adverts and traces."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from edge.beacons.advert import APPLE_COMPANY_ID, EDDYSTONE_UUID, Advertisement
from edge.beacons.build import eddystone_eid_payload, eddystone_uid_payload, ibeacon_payload
from edge.eid import eid_at
from edge.trace import format_time

START = 1_795_428_000.0
"""2026-11-23T10:00:00Z, the trace start the tests use."""
FAR_FUTURE = START + 10 * 365 * 86_400.0
"""A roster expiry for tests on the wall clock: a roster already expired on arrival is refused."""

CARD_UUID = uuid.UUID("f7826da6-4fa2-4e98-8024-bc5b71e0893e")
TK = bytes.fromhex("00112233445566778899aabbccddeeff")
T0 = 1_795_000_000
NAMESPACE = bytes.fromhex("edd1ebeac04e5defa017")
INSTANCE = bytes.fromhex("0badc0ffee01")


def roster_dict(
    *,
    issued: float = START - 60,
    expires: float = START + 86_400,
    shoppers: list[dict[str, Any]] | None = None,
    version: int = 1,
) -> dict[str, Any]:
    if shoppers is None:
        shoppers = [
            {
                "token": "s-card",
                "scopes": ["presence", "personalization", "shelf"],
                "ids": [{"type": "ibeacon", "uuid": str(CARD_UUID), "major": 1, "minor": 2}],
                "segments": ["families"],
            },
            {
                "token": "s-app",
                "scopes": ["presence", "personalization"],
                "ids": [{"type": "eddystone-eid", "tk": TK.hex(), "k": 10, "t0": T0}],
            },
            {
                "token": "s-uid",
                "scopes": ["presence"],
                "ids": [{"type": "eddystone-uid", "namespace": NAMESPACE.hex(), "instance": INSTANCE.hex()}],
            },
        ]
    return {
        "version": version,
        "issued_at": format_time(issued),
        "expires_at": format_time(expires),
        "shoppers": shoppers,
    }


def roster_bytes(**kwargs: Any) -> bytes:
    return json.dumps(roster_dict(**kwargs)).encode()


def card_advert(at: float, rssi: int = -60, scanner: str = "gw-1", minor: int = 2) -> Advertisement:
    payload = ibeacon_payload(CARD_UUID, 1, minor, -59)
    return Advertisement(at, scanner, "C0:FF:EE:00:00:01", rssi, manufacturer_data={APPLE_COMPANY_ID: payload})


def app_advert(at: float, rssi: int = -60, scanner: str = "gw-1", tk: bytes = TK) -> Advertisement:
    payload = eddystone_eid_payload(eid_at(tk, 10, T0, at), -18)
    return Advertisement(at, scanner, "5A:11:22:33:44:55", rssi, service_data={EDDYSTONE_UUID: payload})


def uid_advert(at: float, rssi: int = -60, scanner: str = "gw-1") -> Advertisement:
    payload = eddystone_uid_payload(NAMESPACE, INSTANCE, -18)
    return Advertisement(at, scanner, "D0:00:00:00:00:02", rssi, service_data={EDDYSTONE_UUID: payload})


def write_trace(path: Path, lines: Iterable[dict[str, Any]], start: float = START) -> Path:
    with path.open("w") as out:
        out.write(json.dumps({"kind": "header", "start": format_time(start)}) + "\n")
        for line in lines:
            out.write(json.dumps(line) + "\n")
    return path


def ble_line(t: float, adv: Advertisement) -> dict[str, Any]:
    return {
        "t": t,
        "kind": "ble",
        "scanner": adv.scanner,
        "address": adv.address,
        "rssi": adv.rssi,
        "tx_power": adv.tx_power,
        "local_name": adv.local_name,
        "manufacturer_data": {str(k): v.hex() for k, v in adv.manufacturer_data.items()},
        "service_data": {k: v.hex() for k, v in adv.service_data.items()},
        "service_uuids": [],
    }


MISSING = object()
"""For :func:`put`: the key is deleted instead of set."""


def put(document: Any, path: tuple[str | int, ...], value: object) -> None:
    """Set (or, with :data:`MISSING`, delete) the key at ``path`` of a parsed JSON or TOML ``document``, in place:
    the mutation tests' one edit."""
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    if value is MISSING:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
