"""``edge record``: advertisements from the BLE adapter into a trace file.

By default only advertisements that resolve against a roster are kept (nothing about bystanders
is stored); ``--all`` keeps everything, for a shielded lab. Addresses are always replaced by a
per-recording pseudonym (edge.beacons.record), so real MACs never leave the process.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from edge.beacons.advert import Advertisement
from edge.config import Config
from edge.errors import ConfigError
from edge.identity import Resolver
from edge.roster import load_roster_file

log = logging.getLogger(__name__)


def run_record(*, out: Path, seconds: float, config: Config | None, roster: Path | None, everything: bool) -> int:
    from edge.beacons.bleak_backend import BleakSource
    from edge.beacons.record import record

    if roster is None and not everything:
        raise ConfigError(
            "give --roster FILE to record the rostered shoppers' adverts, or --all in a shielded lab "
            "(--all records bystanders' devices too)"
        )
    resolver: Resolver | None = None
    if roster is not None:
        resolver = Resolver(load_roster_file(roster))

    def keep(adv: Advertisement) -> bool:
        return resolver is None or resolver.resolve(adv, adv.at) is not None

    ble = config.ble if config else None
    gateway = config.gateway.gateway if config else "gw-1"
    source = BleakSource(
        scanner_id=(ble.scanner if ble and ble.scanner else gateway),
        adapter=ble.adapter if ble else None,
        watchdog_s=ble.watchdog_s if ble else 30.0,
        start_timeout_s=ble.start_timeout_s if ble else 10.0,
    )
    lines = asyncio.run(record(out, seconds, source, keep=keep))
    print(f"recorded {lines} advertisements to {out}")
    return 0
