"""A simulated store with several gateways (issue 18): a row of zones, one gateway and scanner each.

Gateway ``gw-{i+1}`` hangs its scanner ``gw-{i+1}-s`` above zone ``z{i+1}``, ``spacing_m`` apart, so
neighbouring gateways hear the same shopper (overlapping coverage). Every gateway's config lists
every zone with its scanner (the store-wide view: a peer's scanner is just another scanner id);
each gateway's trace holds only the adverts its own scanner heard. Shoppers carry loyalty cards
(iBeacon, ``minor`` = index + 1) and walk from zone to zone, dwelling in each; :func:`truth` is the
zone whose centre is within ``zone_radius_m``. Seeded: the same seed gives the same store.

Two kinds of walk (``walks``): the **row** walks (:meth:`MultiStore.walks`) appear in the middle of
their first zone and vanish from the middle of their last one (every figure of docs/multi-gateway.md
before the doors was measured on them); the **doors** walks (:meth:`MultiStore.door_walks`) come in
from outside through a door at one end of the row (:data:`DOOR_M` past the end scanner; the store's
front wall takes :data:`WALL_LOSS_DB` off whatever is heard from outside), dwell a spread of times in
each zone and walk out through the door at the other end.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
import statistics
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from edge.beacons.advert import APPLE_COMPANY_ID, Advertisement
from edge.beacons.build import ibeacon_payload
from edge.sim import radio
from edge.timefmt import format_time
from edge.trace import header_line, item_line

LOYALTY_UUID = uuid.UUID("2f234454-cf6d-4a0f-adf2-f4911ba9ffa6")
SPACING_M = 8.0
"""Between neighbouring scanners: a scanner hears its neighbour's zone at about -80 dBm."""
ZONE_RADIUS_M = 3.0
WALK_M_S = 1.2
ADVERT_INTERVAL_S = 0.3
POWER_1M_DBM = -59
PATH_LOSS_EXPONENT = 2.2
NOISE_DB = 3.0
LOSS = 0.1
HEARING_FLOOR_DBM = -95
SCANNER_HEIGHT_M = 2.5
TRUTH_STEP_S = 0.05
"""Zone crossings are found to this step (a walker moves 6 cm in it)."""
WALL_LOSS_DB = radio.WALL_LOSS_DB
"""The doors walks: the store's front wall, off every advert heard from outside (the bundled store's wall)."""
DOOR_M = 5.0
"""The doors walks: from the end scanner to the door at that end of the row (2 m of floor past the end
zone's 3 m edge: an entrance area, not a zone)."""
OUTSIDE_M = 10.0
"""The doors walks: where a shopper appears, this far outside the door. With the front wall's
:data:`WALL_LOSS_DB` the end scanner's mean level there (15 m away) is -95 dBm, the hearing floor:
shoppers walk into the scanners' reach, as from a street or a mall."""
DOOR_DWELL_S = (10.0, 60.0)
"""The doors walks: seconds in each zone, uniform in this range (a glance at a shelf to a real look)."""
AISLE_HALF_WIDTH_M = 1.5
"""The row's floor for the layout-aware engines: the 3 m wide aisle the zones sit on (the shoppers walk its
middle), from door to door."""
PHONE_HEIGHT_M = 1.2
"""Where the phone is carried; the simulator's :data:`SCANNER_HEIGHT_M` is counted above it, a config's
``[[scanners]] height_m`` from the floor."""
ENGINES = ("threshold", "model", "grid")


def gateway_id(index: int) -> str:
    return f"gw-{index + 1}"


@dataclass(frozen=True, slots=True)
class Walk:
    """One shopper's visit: appears at ``start`` at ``stops[0]`` (or at ``enter_x``), dwells ``dwell_s``
    (or ``dwells``) in each stop, then vanishes (or walks to ``leave_x`` first)."""

    index: int
    start: float
    stops: tuple[float, ...]
    """Zone indices (a fraction: between two zones, e.g. 0.5 half-way from the first to the second)."""
    dwell_s: float
    dwells: tuple[float, ...] = ()
    """Seconds in each stop, one per stop (empty: ``dwell_s`` in each)."""
    enter_x: float | None = None
    """Where (m along the row) the shopper appears, walking from there to the first stop (None: at it)."""
    leave_x: float | None = None
    """Where the shopper vanishes after the last stop, walking there (None: at the last stop)."""

    @property
    def token(self) -> str:
        return f"shopper-{self.index:04d}"


@dataclass(frozen=True, slots=True)
class MultiStore:
    gateways: int = 3
    seed: int = 1
    start: float = 1_800_000_000.0
    spacing_m: float = SPACING_M
    engine: str = "threshold"
    """Every gateway's ``[presence] engine``; ``model`` and ``grid`` get the row's true layout
    (:meth:`layout`): the scanners' positions and the floor from door to door."""

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ValueError(f"engine {self.engine!r}: one of {', '.join(ENGINES)}")

    def zone_x(self, zone: float) -> float:
        return zone * self.spacing_m

    def config(self, index: int, /, **sections: Any) -> dict[str, Any]:
        """The config mapping of gateway ``index`` (merge ``mqtt``, ``ble``, ``gateway`` keys in)."""
        me = gateway_id(index)
        data: dict[str, Any] = {
            "gateway": {"store": "store-1", "gateway": me},
            "zones": [
                {"id": f"z{z + 1}", "scanners": [f"{gateway_id(z)}-s"], "exit_timeout_s": 6.0}
                for z in range(self.gateways)
            ],
            "screens": [{"id": f"screen-{index + 1}", "zone": f"z{index + 1}"}],
            "store": {"peers": [gateway_id(g) for g in range(self.gateways) if g != index]},
            **self.layout(),
        }
        for key, value in sections.items():
            data[key] = {**data.get(key, {}), **value}
        return data

    def layout(self) -> dict[str, Any]:
        """The config sections of :attr:`engine`: ``presence.engine`` and, for ``model`` and ``grid``, the
        row's TRUE layout: each scanner at its zone's centre, :data:`SCANNER_HEIGHT_M` above the phone;
        the floor the aisle from door to door, a door across each end (the zones are the default 3 m
        discs around their scanners, as :func:`truth`'s)."""
        if self.engine == "threshold":
            return {}
        low, high = self.building()
        half = AISLE_HALF_WIDTH_M
        return {
            "presence": {"engine": self.engine},
            "scanners": [
                {"id": f"{gateway_id(g)}-s", "x_m": self.zone_x(g), "y_m": 0.0,
                 "height_m": SCANNER_HEIGHT_M + PHONE_HEIGHT_M}
                for g in range(self.gateways)
            ],
            "floor": {
                "area": [{"rect_m": [low, -half, high, half]}],
                "door": [{"at_m": [x, -half, x, half]} for x in (low, high)],
            },
        }  # fmt: skip

    def roster(self, shoppers: int, *, version: int = 1) -> bytes:
        entries = [
            {
                "token": Walk(i, 0.0, (), 0.0).token,
                "scopes": ["presence", "personalization"],
                "ids": [{"type": "ibeacon", "uuid": str(LOYALTY_UUID), "major": 1, "minor": i + 1}],
            }
            for i in range(shoppers)
        ]
        return msgspec.json.encode(
            {
                "version": version,
                "issued_at": format_time(self.start - 60),
                "expires_at": format_time(self.start + 86_400),
                "shoppers": entries,
            }
        )

    def walks(self, shoppers: int, seconds: float, *, dwell_s: float = 20.0) -> list[Walk]:
        """Shoppers arriving over the first half, each walking the row end to end (a hand-off at each step)."""
        rng = random.Random(self.seed)  # noqa: S311 - a simulation, not a secret
        out = []
        for i in range(shoppers):
            stops = tuple(range(self.gateways)) if rng.random() < 0.5 else tuple(reversed(range(self.gateways)))
            out.append(Walk(i, self.start + rng.uniform(0, seconds / 2), stops, dwell_s))
        return out

    def door_walks(
        self, shoppers: int, arrivals_s: float, *, dwell_s: tuple[float, float] = DOOR_DWELL_S
    ) -> list[Walk]:
        """Shoppers appearing outside a door at either end over the first ``arrivals_s``, walking in,
        dwelling ``dwell_s`` (uniform) in each zone of the row in turn, and out through the other door."""
        rng = random.Random(f"doors-{self.seed}")  # noqa: S311 - a simulation, not a secret
        low, high = self.building()
        out = []
        for i in range(shoppers):
            forward = rng.random() < 0.5
            stops = tuple(range(self.gateways)) if forward else tuple(reversed(range(self.gateways)))
            dwells = tuple(round(rng.uniform(*dwell_s), 2) for _ in stops)
            enter, leave = (low - OUTSIDE_M, high + OUTSIDE_M) if forward else (high + OUTSIDE_M, low - OUTSIDE_M)
            start = self.start + rng.uniform(0, arrivals_s)
            out.append(Walk(i, start, stops, 0.0, dwells=dwells, enter_x=enter, leave_x=leave))
        return out

    def waypoints(self, walk: Walk) -> list[tuple[float, float]]:
        """The walk as (x, seconds stood there) points, walked between at :data:`WALK_M_S`."""
        dwells = walk.dwells or (walk.dwell_s,) * len(walk.stops)
        points = [(self.zone_x(stop), dwell) for stop, dwell in zip(walk.stops, dwells, strict=True)]
        if walk.enter_x is not None:
            points.insert(0, (walk.enter_x, 0.0))
        if walk.leave_x is not None:
            points.append((walk.leave_x, 0.0))
        return points

    def position(self, walk: Walk, at: float) -> float | None:
        """The shopper's x at ``at`` (None: not there yet, or gone)."""
        t = at - walk.start
        if t < 0:
            return None
        points = self.waypoints(walk)
        for (here, dwell), there in zip(points, [*(x for x, _ in points[1:]), None], strict=True):
            if t < dwell:
                return here
            t -= dwell
            if there is None:
                return None
            leg = abs(there - here) / WALK_M_S
            if t < leg:
                return here + math.copysign(t * WALK_M_S, there - here)
            t -= leg
        return None

    def leaves(self, walk: Walk) -> float:
        """When the shopper vanishes (after the last stop's dwell, or at ``leave_x``)."""
        points = self.waypoints(walk)
        legs = sum(abs(b - a) for (a, _), (b, _) in itertools.pairwise(points)) / WALK_M_S
        return walk.start + sum(dwell for _, dwell in points) + legs

    def building(self) -> tuple[float, float]:
        """The store along the row: from the door at one end to the door at the other."""
        return (-DOOR_M, self.zone_x(self.gateways - 1) + DOOR_M)

    def outside(self, x: float) -> bool:
        low, high = self.building()
        return not low <= x <= high

    def inside(self, walk: Walk) -> tuple[float, float]:
        """When the shopper is in the store: from the door walked in through to the door walked out of
        (a row walk: from appearing to vanishing)."""
        low, high = self.building()
        start, end = walk.start, self.leaves(walk)
        if walk.enter_x is not None and self.outside(walk.enter_x):
            start += min(abs(walk.enter_x - low), abs(walk.enter_x - high)) / WALK_M_S
        if walk.leave_x is not None and self.outside(walk.leave_x):
            end -= min(abs(walk.leave_x - low), abs(walk.leave_x - high)) / WALK_M_S
        return start, end

    def visits(self, walk: Walk, step_s: float = TRUTH_STEP_S) -> list[tuple[str, float, float]]:
        """The exact ground truth of one shopper: visits (zone, in, out), found every ``step_s``."""
        out: list[tuple[str, float, float]] = []
        current: tuple[str, float] | None = None
        end = self.leaves(walk)
        for i in range(math.ceil((end - walk.start) / step_s) + 1):
            t = min(walk.start + i * step_s, end)
            zone = self.truth(walk, t) if t < end else None
            if current is not None and zone != current[0]:
                out.append((current[0], current[1], t))
                current = None
            if zone is not None and current is None:
                current = (zone, t)
        return out

    def truth(self, walk: Walk, at: float) -> str | None:
        x = self.position(walk, at)
        if x is None:
            return None
        zone = min(max(round(x / self.spacing_m), 0), self.gateways - 1)
        return f"z{zone + 1}" if abs(x - self.zone_x(zone)) <= ZONE_RADIUS_M else None

    def adverts(self, walks: list[Walk], gateway: int, seconds: float) -> Iterator[Advertisement]:
        """What gateway ``gateway``'s scanner hears, in time order."""
        rng = random.Random(f"{self.seed}-{gateway}")  # noqa: S311 - a simulation
        scanner = f"{gateway_id(gateway)}-s"
        sx = self.zone_x(gateway)
        heard: list[Advertisement] = []
        for walk in walks:
            payload = ibeacon_payload(LOYALTY_UUID, 1, walk.index + 1, POWER_1M_DBM)
            t = walk.start + rng.uniform(0, ADVERT_INTERVAL_S)
            while t < self.start + seconds:
                x = self.position(walk, t)
                if x is None and t > walk.start:
                    break
                if x is not None and rng.random() > LOSS:
                    d = math.hypot(x - sx, SCANNER_HEIGHT_M)
                    rssi = POWER_1M_DBM - 10 * PATH_LOSS_EXPONENT * math.log10(d) + rng.gauss(0, NOISE_DB)
                    rssi -= WALL_LOSS_DB if self.outside(x) else 0.0
                    if rssi >= HEARING_FLOOR_DBM:
                        heard.append(
                            Advertisement(
                                at=t,
                                scanner=scanner,
                                address=f"02:00:00:00:{walk.index >> 8:02X}:{walk.index & 255:02X}",
                                rssi=round(rssi),
                                manufacturer_data={APPLE_COMPANY_ID: payload},
                            )
                        )
                t += ADVERT_INTERVAL_S
        heard.sort(key=lambda a: a.at)
        yield from heard

    def slot_scores(self, walks: list[Walk], seconds: float) -> dict[int, dict[str, dict[str, float]]]:
        """Slot → gateway → token → the score its summary would carry (the median RSSI of its one
        scanner in that second, :func:`edge.peers.summary.loudest`): the arbitration's input without
        a broker, for judging the rule on many layouts at once."""
        heard: dict[int, dict[str, dict[str, list[int]]]] = {}
        tokens = {walk.index: walk.token for walk in walks}
        for g in range(self.gateways):
            for advert in self.adverts(walks, g, seconds):
                index = int(advert.address.replace(":", "")[-4:], 16)
                per_gateway = heard.setdefault(math.floor(advert.at), {}).setdefault(gateway_id(g), {})
                per_gateway.setdefault(tokens[index], []).append(advert.rssi)
        return {
            slot: {g: {t: float(statistics.median(v)) for t, v in per.items()} for g, per in gateways.items()}
            for slot, gateways in sorted(heard.items())
        }

    def write_trace(
        self, path: Path, walks: list[Walk], gateway: int | None, seconds: float, clock_off_s: float = 0.0
    ) -> int:
        """Gateway ``gateway``'s trace (what its scanner heard) for ``edge run``'s replay backend;
        ``None``: every scanner's, merged (one gateway hearing the whole row: the reference).
        ``clock_off_s``: the gateway's clock runs this far from the store's (a box without its time service):
        the trace's start, and so every stamp, moves by it; played from one ``ble.start_at``, its adverts still
        come when the store's shoppers send them."""
        count = 0
        every = range(self.gateways) if gateway is None else (gateway,)
        adverts = heapq.merge(*(self.adverts(walks, g, seconds) for g in every), key=lambda a: a.at)
        with path.open("wb") as out:
            out.write(header_line(self.start + clock_off_s))
            for advert in adverts:
                out.write(item_line(advert, self.start))
                count += 1
        return count


def toml_text(mapping: Mapping[str, Any]) -> str:
    """A config mapping (:meth:`MultiStore.config`'s: tables of scalars and lists, arrays of tables)
    as TOML, for ``edge run --config``."""
    lines: list[str] = []
    for name, table in mapping.items():
        rows = table if isinstance(table, list) else [table]
        for row in rows:
            lines.append(f"[[{name}]]" if isinstance(table, list) else f"[{name}]")
            lines += [f"{key} = {_toml_value(value)}" for key, value in row.items()]
            lines.append("")
    return "\n".join(lines)


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return msgspec.json.encode(value).decode()  # a JSON string is a TOML basic string
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):  # an inline table: [floor]'s areas and doors
        return "{" + ", ".join(f"{key} = {_toml_value(v)}" for key, v in value.items()) + "}"
    raise TypeError(f"no TOML form for {type(value).__name__}")
