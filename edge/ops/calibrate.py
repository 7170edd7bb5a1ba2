"""``edge calibrate``: the median RSSI of one beacon held 1 m from the gateway, written to the config.

Procedure (hardware/README.md): put the beacon or phone 1 m from the gateway's antenna, at the
height it is usually carried, in line of sight, and run
``edge calibrate --config edge.toml --token s-8f2c --seconds 30`` (a rostered shopper's device) or
``--beacon '{"type": "ibeacon", "uuid": "…", "major": 1, "minor": 2}'`` (any beacon, by its
roster id). The beacon is recognised exactly as the gateway does (the roster's resolution, EID
included); every other advertisement is ignored. The median of the RSSI samples (robust against
a passing person's body shadowing) becomes ``presence.measured_power_1m_dbm`` — the value the
distance estimate uses for beacons that do not advertise their own calibrated power.

With ``--scanner ID`` the beacon is held 1 m from that scanner instead, only its readings count, and what is
written is that scanner's ``offset_db`` (``[[scanners]]``): the dB that brings its median to the beacon's own
power at 1 m (or, for a beacon without one, to ``presence.measured_power_1m_dbm``). Every engine adds it to the
scanner's readings, so a scanner that reads 4 dB hot (an antenna, an enclosure, a metal shelf behind it) is
judged like the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import statistics
import time
import tomllib
from collections.abc import Callable
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


def summarise(samples: list[float], advertised: float | None) -> Measurement:
    if len(samples) < c.CALIBRATE_MIN_SAMPLES:
        raise CalibrationError(
            f"only {len(samples)} samples (need {c.CALIBRATE_MIN_SAMPLES}): is the beacon on and 1 m away? "
            "run longer with --seconds"
        )
    quartiles = statistics.quantiles(samples, n=4)
    return Measurement(len(samples), float(statistics.median(samples)), quartiles[2] - quartiles[0], advertised)


async def measure(
    config: Config, roster: Roster, token: str, seconds: float, scanner: str | None = None
) -> Measurement:
    """Listen for ``seconds`` (of the source's clock: a replay runs fast) and summarise the samples: only
    ``scanner``'s, raw (its offset is what is measured), when given; else every scanner's, each corrected by its
    configured ``offset_db``, as the engines read them."""
    resolver = Resolver()
    resolver.set_roster(roster)
    samples: list[float] = []
    offsets = {} if scanner is not None else {s.id: s.offset_db for s in config.scanners if s.offset_db}
    advertised: float | None = None
    fast = config.ble.backend == "replay"
    source = open_source(config, fast=fast)
    deadline = time.monotonic() + seconds

    async def listen() -> None:
        nonlocal advertised
        start: float | None = None
        async for item in source:
            if type(item) is not Advertisement or (scanner is not None and item.scanner != scanner):
                continue
            start = item.at if start is None else start
            if fast and item.at - start > seconds:
                return
            found = resolver.resolve(item, item.at)
            if found is not None and found.shopper.token == token:
                samples.append(item.rssi + offsets.get(item.scanner, 0.0))
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


_ARRAY_TABLE = re.compile(r"^\s*\[\[([^\[\]]+)\]\]\s*(#.*)?$")


def set_scanner_value(text: str, scanner: str, key: str, value: str) -> str:
    """``text`` with ``key = value`` in the ``[[scanners]]`` table whose ``id`` is ``scanner`` (replaced, or added
    after its last line), everything else as it was. The caller checks the result parses to what was meant."""
    lines = text.splitlines()
    start: int | None = None  # the first line of the wanted [[scanners]] table's body, once its id is seen
    key_line = re.compile(rf"^\s*{re.escape(key)}\s*=")
    id_line = re.compile(r"^\s*id\s*=\s*(\"([^\"]*)\"|'([^']*)')\s*(#.*)?$")
    body: int | None = None  # the current [[scanners]] table's first body line
    end: int | None = None
    for index, line in enumerate([*lines, "[end]"]):
        header = _ARRAY_TABLE.match(line) or _TABLE.match(line)
        if header:
            if start is not None:
                break
            body = index + 1 if _ARRAY_TABLE.match(line) and header.group(1).strip() == "scanners" else None
            continue
        if body is None:
            continue
        found = id_line.match(line)
        if found and (found.group(2) if found.group(2) is not None else found.group(3)) == scanner:
            start = body
        if line.strip() and not line.lstrip().startswith("#"):
            end = index + 1
    if start is None or end is None:
        raise CalibrationError(
            f"no [[scanners]] table with id = {scanner!r} to write offset_db into: add one (id, x_m, y_m), "
            "or write offset_db by hand if the scanners are an inline array"
        )
    for index in range(start, end):
        if key_line.match(lines[index]):
            lines[index] = f"{key} = {value}"
            return "\n".join(lines) + "\n"
    lines.insert(end, f"{key} = {value}")
    return "\n".join(lines) + "\n"


def _write_checked(path: Path, new: str, meant: Callable[[Config], bool] = lambda _: True) -> None:
    """Write ``new`` over ``path`` only if it is a valid config and says what was ``meant``."""
    try:
        config = from_mapping(tomllib.loads(new), source=str(path))  # the file changes only if the result is valid
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"not valid TOML: {err}", where=str(path)) from None
    if not meant(config):
        raise CalibrationError(f"could not write the value in {path} as meant: write it by hand")
    write_atomic(path, new.encode("utf-8"), mode=path.stat().st_mode & 0o777)


def write_measured_power(path: Path, dbm: float) -> None:
    text = path.read_text(encoding="utf-8")
    _write_checked(path, set_toml_value(text, "presence", "measured_power_1m_dbm", f"{dbm:.1f}"))


def scanner_offset(config: Config, m: Measurement) -> float:
    """The dB to add to the scanner's readings: its median brought to the beacon's own power at 1 m (the config's
    reference for a beacon that advertises none)."""
    target = config.presence.measured_power_1m_dbm if m.advertised_dbm is None else m.advertised_dbm
    offset = target - m.median_dbm
    if abs(offset) > c.CALIBRATE_OFFSET_MAX_DB:
        raise CalibrationError(
            f"the scanner reads {m.median_dbm:.1f} dBm at 1 m, {offset:+.1f} dB from the {target:.1f} dBm expected: "
            f"more than {c.CALIBRATE_OFFSET_MAX_DB:g} dB off is not a calibration (is the beacon 1 m away, "
            "in line of sight, and the right one?); nothing written"
        )
    return round(offset, 1)


def write_scanner_offset(path: Path, scanner: str, offset_db: float) -> None:
    new = set_scanner_value(path.read_text(encoding="utf-8"), scanner, "offset_db", f"{offset_db:.1f}")

    def meant(config: Config) -> bool:  # (the scanner's own table edited: never write what was not meant)
        return {s.id: s.offset_db for s in config.scanners}.get(scanner) == offset_db

    _write_checked(path, new, meant)


def calibrate(
    path: Path,
    *,
    token: str | None,
    beacon: str | None,
    seconds: float,
    write: bool = True,
    scanner: str | None = None,
) -> int:
    config = load(path)
    if scanner is not None and scanner not in {s.id for s in config.scanners}:
        raise CalibrationError(
            f"no [[scanners]] entry with id = {scanner!r} in {path}: add it (id, x_m, y_m) to hold its offset_db"
        )
    roster = beacon_roster(beacon) if beacon else stored_roster(config)
    wanted = "calibration" if beacon else token
    assert wanted is not None
    if not beacon and wanted not in {s.token for s in roster.shoppers}:
        raise CalibrationError(f"no shopper {wanted!r} in the roster (version {roster.version})")
    where = "the gateway" if scanner is None else f"scanner {scanner}"
    print(f"listening for {seconds:g} s: hold the beacon 1 m from {where}, in line of sight")
    m = asyncio.run(measure(config, roster, wanted, seconds, scanner))
    print(f"{m.samples} samples: median {m.median_dbm:.1f} dBm at 1 m (interquartile range {m.spread_db:.1f} dB)")
    if m.advertised_dbm is not None:
        print(f"the beacon advertises {m.advertised_dbm:.0f} dBm itself (used for it instead of the config value)")
    if m.spread_db > 6:
        print("the samples spread widely: repeat with nobody between the beacon and the gateway")
    if scanner is not None:
        offset = scanner_offset(config, m)
        print(f"scanner {scanner}'s offset: {offset:+.1f} dB (added to every reading it reports)")
        if write:
            write_scanner_offset(path, scanner, offset)
            print(f"written: offset_db = {offset:.1f} in [[scanners]] id = {scanner!r} of {path}")
    elif write:
        write_measured_power(path, m.median_dbm)
        print(f"written: presence.measured_power_1m_dbm = {m.median_dbm:.1f} in {path}")
    return 0
