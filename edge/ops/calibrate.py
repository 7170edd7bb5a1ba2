"""``edge calibrate``: the median RSSI of one beacon held 1 m from the gateway, written to the config.

Procedure (hardware/README.md): put the beacon or phone 1 m from the gateway's antenna, at the
height it is usually carried, in line of sight, and run
``edge calibrate --config edge.toml --token s-8f2c --seconds 30`` (a rostered shopper's device) or
``--beacon '{"type": "ibeacon", "uuid": "…", "major": 1, "minor": 2}'`` (any beacon, by its
roster id). The beacon is recognised exactly as the gateway does (the roster's resolution, EID
included); every other advertisement is ignored. The median of the RSSI samples (robust against
a passing person's body shadowing) becomes ``presence.measured_power_1m_dbm`` — the value the
distance estimate uses for beacons that do not advertise their own calibrated power.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import statistics
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

from edge import constants as c
from edge.atomic import write_atomic
from edge.beacons.advert import Advertisement
from edge.beacons.backends import open_source
from edge.config import Config, from_mapping, load
from edge.errors import ConfigError, EdgeError, RosterError
from edge.identity import Resolver
from edge.roster import Roster, load_roster_file, parse_roster
from edge.timefmt import format_time


class CalibrationError(EdgeError):
    """Calibration could not measure (no such beacon, too few samples)."""


@dataclass(frozen=True, slots=True)
class Measurement:
    samples: int
    median_dbm: float
    spread_db: float
    """Interquartile range of the samples: above ~6 dB the setup was not steady (people, reflections)."""
    advertised_dbm: float | None
    """The beacon's own calibrated power at 1 m, when its frames carry one (iBeacon)."""


def beacon_roster(beacon: str) -> Roster:
    """A one-entry roster for a beacon given as its roster id (JSON), valid for a century."""
    try:
        ident = json.loads(beacon)
    except ValueError as err:
        raise CalibrationError(f"--beacon is not JSON: {err}") from None
    doc = {
        "version": 1,
        "issued_at": format_time(0),
        "expires_at": format_time(4_102_444_800),
        "shoppers": [{"token": "calibration", "scopes": ["presence"], "ids": [ident]}],
    }
    try:
        return parse_roster(json.dumps(doc).encode())
    except RosterError as err:
        raise CalibrationError(f"--beacon is not a roster id: {err}") from None


def stored_roster(config: Config) -> Roster:
    """The roster the gateway would use: its roster file, else the last one it received."""
    from edge.laststate import read_last_good
    from edge.topics import Topics

    if config.gateway.roster_file:
        return load_roster_file(Path(config.gateway.roster_file))
    stored = read_last_good(config.state_path()).payloads.get(
        Topics(config.gateway.store, config.gateway.gateway).roster
    )
    if stored is not None:
        return parse_roster(stored)
    raise CalibrationError("no roster to find --token in (gateway.roster_file or a received one): use --beacon")


def summarise(samples: list[int], advertised: float | None) -> Measurement:
    if len(samples) < c.CALIBRATE_MIN_SAMPLES:
        raise CalibrationError(
            f"only {len(samples)} samples (need {c.CALIBRATE_MIN_SAMPLES}): is the beacon on and 1 m away? "
            "run longer with --seconds"
        )
    quartiles = statistics.quantiles(samples, n=4)
    return Measurement(len(samples), float(statistics.median(samples)), quartiles[2] - quartiles[0], advertised)


async def measure(config: Config, roster: Roster, token: str, seconds: float) -> Measurement:
    """Listen for ``seconds`` (of the source's clock: a replay runs fast) and summarise the samples."""
    resolver = Resolver()
    resolver.set_roster(roster)
    samples: list[int] = []
    advertised: float | None = None
    fast = config.ble.backend == "replay"
    source = open_source(config, fast=fast)
    deadline = time.monotonic() + seconds

    async def listen() -> None:
        nonlocal advertised
        start: float | None = None
        async for item in source:
            if type(item) is not Advertisement:
                continue
            start = item.at if start is None else start
            if fast and item.at - start > seconds:
                return
            found = resolver.resolve(item, item.at)
            if found is not None and found.shopper.token == token:
                samples.append(item.rssi)
                advertised = found.measured_power_1m_dbm or advertised

    async with source:
        with contextlib.suppress(TimeoutError):  # the listening time is over
            async with asyncio.timeout(None if fast else max(0.0, deadline - time.monotonic())):
                await listen()
    return summarise(samples, advertised)


_TABLE = re.compile(r"^\s*\[([^\[\]]+)\]\s*(#.*)?$")


def set_toml_value(text: str, table: str, key: str, value: str) -> str:
    """``text`` with ``key = value`` in ``[table]`` (replaced, added to the table, or a new table),
    everything else (comments, order) as it was."""
    lines = text.splitlines()
    current = None
    end_of_table = None
    key_line = re.compile(rf"^\s*{re.escape(key)}\s*=")
    for index, line in enumerate(lines):
        match = _TABLE.match(line)
        if match:
            if current == table:
                break
            current = match.group(1).strip()
            if current == table:
                end_of_table = index + 1
            continue
        if current == table:
            if key_line.match(line):
                lines[index] = f"{key} = {value}"
                return "\n".join(lines) + "\n"
            if line.strip():
                end_of_table = index + 1
    if end_of_table is None:
        return text.rstrip("\n") + f"\n\n[{table}]\n{key} = {value}\n"
    lines.insert(end_of_table, f"{key} = {value}")
    return "\n".join(lines) + "\n"


def write_measured_power(path: Path, dbm: float) -> None:
    text = path.read_text(encoding="utf-8")
    new = set_toml_value(text, "presence", "measured_power_1m_dbm", f"{dbm:.1f}")
    try:
        from_mapping(tomllib.loads(new), source=str(path))  # the file changes only if the result is valid
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"not valid TOML: {err}", where=str(path)) from None
    write_atomic(path, new.encode("utf-8"), mode=path.stat().st_mode & 0o777)


def calibrate(path: Path, *, token: str | None, beacon: str | None, seconds: float, write: bool = True) -> int:
    config = load(path)
    roster = beacon_roster(beacon) if beacon else stored_roster(config)
    wanted = "calibration" if beacon else token
    assert wanted is not None
    if not beacon and wanted not in {s.token for s in roster.shoppers}:
        raise CalibrationError(f"no shopper {wanted!r} in the roster (version {roster.version})")
    print(f"listening for {seconds:g} s: hold the beacon 1 m from the gateway, in line of sight")
    m = asyncio.run(measure(config, roster, wanted, seconds))
    print(f"{m.samples} samples: median {m.median_dbm:.1f} dBm at 1 m (interquartile range {m.spread_db:.1f} dB)")
    if m.advertised_dbm is not None:
        print(f"the beacon advertises {m.advertised_dbm:.0f} dBm itself (used for it instead of the config value)")
    if m.spread_db > 6:
        print("the samples spread widely: repeat with nobody between the beacon and the gateway")
    if write:
        write_measured_power(path, m.median_dbm)
        print(f"written: presence.measured_power_1m_dbm = {m.median_dbm:.1f} in {path}")
    return 0
