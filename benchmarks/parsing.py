"""Advertisement parsing: ``edge.beacons.parse.parse_frames`` against beacontools and TheengsDecoder,
each on the same payloads and in the same run, on one core.

Each parser gets the advertisement in the form its own users hand it over, built before the clock
starts: ours an :class:`~edge.beacons.advert.Advertisement` (bleak's fields, as the scanner and a
replay produce it); beacontools the raw advertising-data bytes (``parse_packet``, as its scanner
passes them); TheengsDecoder the JSON document OpenMQTTGateway and Theengs Gateway pass
(``decodeBLE``, hex payloads). Each returns its decoded frames, so every parser does the whole job.

The payload sets are the formats both sides decode:
- vs beacontools: iBeacon and Eddystone UID / URL / TLM / EID (beacontools has no RuuviTag);
- vs TheengsDecoder: iBeacon and RuuviTag data format 5 (TheengsDecoder has no generic Eddystone).
Goals: ≥ 5× beacontools, ≥ 1× TheengsDecoder (adverts per second: after a warm-up pass, the best
pass over the whole set among those that fit in ``--seconds`` per parser, at least one).

    python benchmarks/parsing.py [--payloads N] [--seconds S] [--quick]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from uuid import UUID

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import beacontools
import TheengsDecoder

from benchmarks.common import pin_to_one_core, report
from edge.beacons.advert import APPLE_COMPANY_ID, EDDYSTONE_UUID, RUUVI_COMPANY_ID, Advertisement
from edge.beacons.build import (
    eddystone_eid_payload,
    eddystone_tlm_payload,
    eddystone_uid_payload,
    eddystone_url_payload,
    ibeacon_payload,
    ruuvi_v5_payload,
)
from edge.beacons.parse import parse_frames

GOAL_RATIO_BEACONTOOLS = 5.0
GOAL_RATIO_THEENGS = 1.0
_FLAGS = b"\x02\x01\x06"
_EDDYSTONE_HEADER = b"\x03\x03\xaa\xfe"


class Payload:
    """One advertisement in the three input forms."""

    __slots__ = ("advert", "packet", "theengs")

    def __init__(self, company_id: int | None, data: bytes, address: str) -> None:
        if company_id is None:  # Eddystone service data
            self.advert = Advertisement(0.0, "gw-1", address, -60, service_data={EDDYSTONE_UUID: data})
            self.packet = _FLAGS + _EDDYSTONE_HEADER + bytes([len(data) + 3, 0x16, 0xAA, 0xFE]) + data
            doc = {"id": address, "rssi": -60, "servicedatauuid": "0xfeaa", "servicedata": data.hex()}
        else:
            self.advert = Advertisement(0.0, "gw-1", address, -60, manufacturer_data={company_id: data})
            self.packet = _FLAGS + bytes([len(data) + 3, 0xFF]) + company_id.to_bytes(2, "little") + data
            doc = {"id": address, "rssi": -60, "manufacturerdata": company_id.to_bytes(2, "little").hex() + data.hex()}
        self.theengs = json.dumps(doc)


def _address(rng: random.Random) -> str:
    return ":".join(f"{rng.randrange(256):02X}" for _ in range(6))


def _ibeacon(rng: random.Random) -> Payload:
    data = ibeacon_payload(UUID(int=rng.getrandbits(128)), rng.randrange(65536), rng.randrange(65536), -59)
    return Payload(APPLE_COMPANY_ID, data, _address(rng))


def _eddystone(rng: random.Random) -> Payload:
    kind = rng.randrange(4)
    if kind == 0:
        data = eddystone_uid_payload(rng.randbytes(10), rng.randbytes(6), -20)
    elif kind == 1:
        data = eddystone_url_payload(f"https://shop{rng.randrange(1000)}.example.com/", -20)
    elif kind == 2:
        data = eddystone_tlm_payload(3000, rng.uniform(-10, 40), rng.randrange(1 << 20), rng.uniform(0, 1e5))
    else:
        data = eddystone_eid_payload(rng.randbytes(8), -20)
    return Payload(None, data, _address(rng))


def _ruuvi(rng: random.Random) -> Payload:
    data = ruuvi_v5_payload(
        temperature_c=rng.uniform(-20, 40),
        humidity_pct=rng.uniform(0, 100),
        pressure_pa=rng.uniform(90_000, 110_000),
        acceleration_mg=(rng.uniform(-1000, 1000), rng.uniform(-1000, 1000), rng.uniform(-1000, 1000)),
        battery_mv=2900,
        tx_power_dbm=4,
        movement_counter=rng.randrange(255),
        sequence=rng.randrange(65535),
        mac=_address(rng),
    )
    return Payload(RUUVI_COMPANY_ID, data, _address(rng))


def payload_sets(n: int, seed: int) -> tuple[list[Payload], list[Payload]]:
    """(iBeacon + Eddystone, iBeacon + RuuviTag): half iBeacon each, shuffled."""
    rng = random.Random(seed)
    vs_beacontools = [_ibeacon(rng) if i % 2 else _eddystone(rng) for i in range(n)]
    vs_theengs = [_ibeacon(rng) if i % 2 else _ruuvi(rng) for i in range(n)]
    rng.shuffle(vs_beacontools)
    rng.shuffle(vs_theengs)
    return vs_beacontools, vs_theengs


def check_agreement(vs_beacontools: Sequence[Payload], vs_theengs: Sequence[Payload]) -> None:
    """Every parser decodes every payload of its set (else the race would be unfair)."""
    for p in vs_beacontools:
        assert len(parse_frames(p.advert)) == 1, p.packet.hex()
        assert beacontools.parse_packet(p.packet) is not None, p.packet.hex()
    for p in vs_theengs:
        assert len(parse_frames(p.advert)) == 1, p.theengs
        assert TheengsDecoder.decodeBLE(p.theengs) is not None, p.theengs


def rate(fn: Callable[[Any], object], inputs: Sequence[Any], budget_s: float) -> float:
    """Inputs per second of the best pass among those that fit in ``budget_s`` (at least one)."""
    for item in inputs[:200]:  # warm-up: caches, lazily built tables
        fn(item)
    best = float("inf")
    until = time.perf_counter() + budget_s
    while True:
        started = time.perf_counter()
        for item in inputs:
            fn(item)
        ended = time.perf_counter()
        best = min(best, ended - started)
        if ended >= until:
            return len(inputs) / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--payloads", type=int, default=4_000, help="advertisements in each set")
    parser.add_argument("--seconds", type=float, default=2.0, help="time given to each parser")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="1,000 payloads, 0.3 s each")
    args = parser.parse_args()
    n, budget_s = (1_000, 0.3) if args.quick else (args.payloads, args.seconds)
    cpu = pin_to_one_core()
    vs_bt, vs_th = payload_sets(n, args.seed)
    check_agreement(vs_bt, vs_th)
    bt_adverts = [p.advert for p in vs_bt]
    bt_packets = [p.packet for p in vs_bt]
    th_adverts = [p.advert for p in vs_th]
    th_docs = [p.theengs for p in vs_th]
    ours_bt = rate(parse_frames, bt_adverts, budget_s)
    theirs_bt = rate(beacontools.parse_packet, bt_packets, budget_s)
    ours_th = rate(parse_frames, th_adverts, budget_s)
    theirs_th = rate(TheengsDecoder.decodeBLE, th_docs, budget_s)
    ratio_bt, ratio_th = ours_bt / theirs_bt, ours_th / theirs_th
    print(f"{n} payloads per set, best pass in {budget_s:g} s each, pinned to {cpu}")
    print(f"{'adverts/s':44}{'edge':>12}{'peer':>12}{'ratio':>8}  goal")
    print(
        f"{'iBeacon + Eddystone vs beacontools':44}{ours_bt:12,.0f}{theirs_bt:12,.0f}"
        f"{ratio_bt:8.2f}  >= {GOAL_RATIO_BEACONTOOLS}x"
    )
    print(
        f"{'iBeacon + RuuviTag v5 vs TheengsDecoder':44}{ours_th:12,.0f}{theirs_th:12,.0f}"
        f"{ratio_th:8.2f}  >= {GOAL_RATIO_THEENGS}x"
    )
    report(
        "parsing",
        {
            "payloads": n,
            "edge_per_s_vs_beacontools": round(ours_bt),
            "beacontools_per_s": round(theirs_bt),
            "ratio_to_beacontools": round(ratio_bt, 3),
            "edge_per_s_vs_theengs": round(ours_th),
            "theengs_per_s": round(theirs_th),
            "ratio_to_theengs": round(ratio_th, 3),
            "goal_ratio_beacontools": GOAL_RATIO_BEACONTOOLS,
            "goal_ratio_theengs": GOAL_RATIO_THEENGS,
        },
    )


if __name__ == "__main__":
    main()
