"""A PROTOTYPE grid engine in pure Python: the sweep oracle's filter, told only the gateway config.

What ``benchmarks/presence_blind_oracle.py --plan`` runs with numpy (``blind-plan``: the oracle's
algorithm on the config's ``[floor]`` with a generic radio), written without numpy and **sparse**: per
shopper, a standing and a walking layer as dicts {cell: mass} over the cells that hold more than
:data:`PRUNE_SHARE` of the shopper's mass (about a hundred of a thousand in today's store), so an advert
multiplies a hundred numbers and a motion step spreads them, not the floor.

- the grid: :data:`CELL_M` cells of the config's floor (``[[floor.area]]``) and of the street within
  :data:`STREET_M` outside each door; a zone's share of a cell from 3 x 3 points;
- the radio the model engine assumes (the blind oracle's :data:`GENERIC`): exponent
  ``presence.path_loss_exponent``, each advert's declared power, 6 dB shadowing, 5 % deep fades of
  10-25 dB, 30 % lost, heard within 15 m above -95 dBm, a phone 1.2 m up;
- each advert multiplies in the likelihood of every scanner that heard it and of every scanner that did
  not; the walking layer diffuses every 0.5 s (variance v^2 x 0.7 s per second), mass switches layers
  (standing about 30 s, walking about 8 s), walls absorb; enter a zone at 0.75 of the mass, leave below
  0.25 to a zone or "no zone" that has reached 0.75; a track ends after 27 s unheard.

The gateway's grid engine is :mod:`edge.presence_grid` (``[presence] engine = "grid"``): the same filter in
numpy, about eight times cheaper (docs/presence.md, "A cheap grid engine"). This prototype stays as the
reference the port is checked against (``tests/test_presence_grid.py``; ``presence_sweep.py --engines
grid-proto``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from edge.config import Config, ScannerConfig
from edge.presence import Occupant, PresenceEvent, Sighting

CELL_M = 1.0
"""Grid resolution (the oracle's)."""
STREET_M = 5.0
"""How far outside each door the grid reaches (the oracle's margin)."""
SPEED_M_S = 1.3
PERSIST_S = 0.7
STAND_S = 30.0
WALK_S = 8.0
PREDICT_S = 0.5
ENTER_P = 0.75
STAY_P = 0.25
SILENCE_S = 27.0
SIGMA_DB = 6.0
FADE_P = 0.05
FADE_DB = (10.0, 25.0)
MISS = 0.3
RANGE_M = 15.0
SENSITIVITY_DBM = -95.0
PHONE_M = 1.2
PRUNE_SHARE = 1e-6
"""Cells holding less than this share of a shopper's mass after a motion step are dropped."""
_STEP = 0.1
_X0, _X1 = -80.0, 60.0


def _phi(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def _pdf(x: float) -> float:
    main = math.exp(-0.5 * (x / SIGMA_DB) ** 2) / (SIGMA_DB * math.sqrt(2.0 * math.pi))
    low, high = FADE_DB
    faded = (_phi((x + high) / SIGMA_DB) - _phi((x + low) / SIGMA_DB)) / (high - low)
    return (1.0 - FADE_P) * main + FADE_P * faded + 1e-9


class _Track:
    __slots__ = ("advert", "last", "stand", "walk", "zone")

    def __init__(self, stand: dict[int, float], walk: dict[int, float], at: float) -> None:
        self.stand, self.walk = stand, walk
        self.last = at
        self.advert: tuple[float, float, set[int]] | None = None
        self.zone: tuple[str, float] | None = None


class SparseGrid:
    """See the module docstring; the presence engine's API (``observe``, ``tick``, ``zone_of``...)."""

    def __init__(self, config: Config) -> None:
        floor = config.floor
        if not floor.known:
            raise ValueError("the grid engine needs a [floor] plan")
        self._exponent = config.presence.path_loss_exponent
        x0, y0, x1, y1 = floor.bounds()
        x0, y0, x1, y1 = x0 - STREET_M, y0 - STREET_M, x1 + STREET_M, y1 + STREET_M
        nx, ny = math.ceil((x1 - x0) / CELL_M), math.ceil((y1 - y0) / CELL_M)
        index: dict[tuple[int, int], int] = {}
        centres: list[tuple[float, float]] = []
        for i in range(nx):
            for j in range(ny):
                x, y = x0 + (i + 0.5) * CELL_M, y0 + (j + 0.5) * CELL_M
                if floor.walkable(x, y) or floor.street(x, y, STREET_M):
                    index[i, j] = len(centres)
                    centres.append((x, y))
        self._n = len(centres)
        self._x_nbrs = tuple(
            tuple(index[k] for k in ((i - 1, j), (i + 1, j)) if k in index)
            for (i, j) in index  # insertion order is the cell index
        )
        self._y_nbrs = tuple(
            tuple(index[k] for k in ((i, j - 1), (i, j + 1)) if k in index)
            for (i, j) in index  # insertion order is the cell index
        )
        self._zones = [z.id for z in config.zones]
        positions = {s.id: s for s in config.scanners}
        sub = [((a + 0.5) / 3 - 0.5) * CELL_M for a in range(3)]
        members: list[tuple[tuple[int, float], ...]] = []
        for x, y in centres:
            shares: dict[int, float] = {}
            for ox in sub:
                for oy in sub:
                    k = self._zone_at(config, positions, x + ox, y + oy)
                    if k is not None:
                        shares[k] = shares.get(k, 0.0) + 1.0 / 9.0
            members.append(tuple(shares.items()))
        self._members = tuple(members)
        self._scanner = {s.id: i for i, s in enumerate(config.scanners)}
        self._means: list[list[float]] = []
        self._heard: list[list[float]] = []
        for s in config.scanners:
            dz = s.height_m - PHONE_M
            d = [math.sqrt((x - s.x_m) ** 2 + (y - s.y_m) ** 2 + dz * dz) for x, y in centres]
            self._means.append([-10.0 * self._exponent * math.log10(max(v, 0.3)) for v in d])
            self._heard.append([1.0 if v <= RANGE_M else 0.0 for v in d])
        count = round((_X1 - _X0) / _STEP) + 1
        self._table = [_pdf(_X0 + k * _STEP) for k in range(count)]
        cdf, total = [], 0.0
        for v in self._table:
            total += v * _STEP
            cdf.append(total)
        self._cdf = cdf
        self._lik: dict[tuple[int, int], list[float]] = {}
        self._unheard: dict[tuple[int, int], list[float]] = {}
        step = PREDICT_S
        w = SPEED_M_S * SPEED_M_S * step * PERSIST_S / (2 * CELL_M * CELL_M)
        self._passes = max(1, math.ceil(w / 0.4))
        self._w = w / self._passes
        self._to_walk, self._to_stand = step / STAND_S, step / WALK_S
        self._tracks: dict[str, _Track] = {}
        self._next_predict: float | None = None

    @staticmethod
    def _zone_at(config: Config, positions: dict[str, ScannerConfig], x: float, y: float) -> int | None:
        for k, zone in enumerate(config.zones):
            if zone.area_m is not None:
                a, b, c, d = zone.area_m
                if a <= x <= c and b <= y <= d:
                    return k
                continue
            for sid in zone.scanners:
                s = positions.get(sid)
                if s is not None and (x - s.x_m) ** 2 + (y - s.y_m) ** 2 <= zone.radius_m**2:
                    return k
        return None

    def _at(self, x: float, table: Sequence[float]) -> float:
        k = (x - _X0) / _STEP
        if k <= 0:
            return table[0]
        if k >= len(table) - 1:
            return table[-1]
        i = int(k)
        f = k - i
        return table[i] * (1.0 - f) + table[i + 1] * f

    def _likelihood(self, scanner: int, residual: int) -> list[float]:
        key = (scanner, residual)
        found = self._lik.get(key)
        if found is None:
            table = self._table
            found = self._lik[key] = [
                self._at(residual - m, table) * h
                for m, h in zip(self._means[scanner], self._heard[scanner], strict=True)
            ]
        return found

    def _not_heard(self, scanner: int, power: float) -> list[float]:
        """Per cell: the likelihood that ``scanner`` did not hear an advert of declared ``power`` (cached)."""
        key = (scanner, round(power))
        found = self._unheard.get(key)
        if found is None:
            limit = SENSITIVITY_DBM - key[1]
            found = self._unheard[key] = [
                1.0 - (1.0 - MISS) * h * (1.0 - min(1.0, max(0.0, self._at(limit - m, self._cdf))))
                for m, h in zip(self._means[scanner], self._heard[scanner], strict=True)
            ]
        return found

    @staticmethod
    def _weigh(track: _Track, lik: Sequence[float]) -> None:
        for layer in (track.stand, track.walk):
            for c in layer:
                layer[c] *= lik[c]

    def _close(self, track: _Track) -> None:
        if track.advert is not None:
            _, power, heard = track.advert
            track.advert = None
            for scanner in range(len(self._means)):
                if scanner not in heard:
                    self._weigh(track, self._not_heard(scanner, power))

    def observe(self, s: Sighting) -> list[PresenceEvent]:
        scanner = self._scanner.get(s.scanner)
        if scanner is None:
            return []
        track = self._tracks.get(s.token)
        if track is None:
            half = 0.5 / self._n
            track = self._tracks[s.token] = _Track(
                dict.fromkeys(range(self._n), half), dict.fromkeys(range(self._n), half), s.at
            )
        track.last = s.at
        power = s.measured_power_1m_dbm if s.measured_power_1m_dbm is not None else -59.0
        if track.advert is None or track.advert[0] != s.at:
            self._close(track)
            track.advert = (s.at, power, set())
        track.advert[2].add(scanner)
        self._weigh(track, self._likelihood(scanner, round(s.rssi - power)))
        return []

    def _predict(self, track: _Track) -> None:
        walk = track.walk
        w, keep = self._w, 1.0 - 2.0 * self._w
        for nbrs in (self._x_nbrs, self._y_nbrs) * self._passes:
            moved: dict[int, float] = {}
            for c, m in walk.items():
                moved[c] = moved.get(c, 0.0) + m * keep
                for d in nbrs[c]:
                    moved[d] = moved.get(d, 0.0) + m * w
            walk = moved
        stand = track.stand
        new_stand = {c: m * (1.0 - self._to_walk) for c, m in stand.items()}
        new_walk = {c: m * (1.0 - self._to_stand) for c, m in walk.items()}
        for c, m in walk.items():
            new_stand[c] = new_stand.get(c, 0.0) + m * self._to_stand
        for c, m in stand.items():
            new_walk[c] = new_walk.get(c, 0.0) + m * self._to_walk
        total = sum(new_stand.values()) + sum(new_walk.values())
        floor = PRUNE_SHARE * total
        track.stand = {c: m for c, m in new_stand.items() if m > floor}
        track.walk = {c: m for c, m in new_walk.items() if m > floor}

    def tick(self, now: float) -> list[PresenceEvent]:
        events: list[PresenceEvent] = []
        predict = self._next_predict is None or now >= self._next_predict
        if predict:
            self._next_predict = now + PREDICT_S
        for token, track in list(self._tracks.items()):
            self._close(track)
            if now - track.last >= SILENCE_S:
                if track.zone is not None:
                    events += self._set(token, track, None, now)
                del self._tracks[token]
                continue
            total = sum(track.stand.values()) + sum(track.walk.values())
            if not total > 1e-250 or not math.isfinite(total):
                half = 0.5 / self._n
                track.stand = dict.fromkeys(range(self._n), half)
                track.walk = dict.fromkeys(range(self._n), half)
                total = 1.0
            scale = 1.0 / total
            track.stand = {c: m * scale for c, m in track.stand.items()}
            track.walk = {c: m * scale for c, m in track.walk.items()}
            if predict:
                self._predict(track)
            events += self._decide(token, track, now)
        return events

    def _decide(self, token: str, track: _Track, now: float) -> list[PresenceEvent]:
        masses = [0.0] * len(self._zones)
        total = 0.0
        members = self._members
        for layer in (track.stand, track.walk):
            for c, m in layer.items():
                total += m
                for k, share in members[c]:
                    masses[k] += m * share
        if total <= 0.0:
            return []
        best = max(range(len(masses)), key=masses.__getitem__) if masses else 0
        top = masses[best] / total if masses else 0.0
        if track.zone is None:
            return self._set(token, track, self._zones[best], now) if top >= ENTER_P else []
        held = masses[self._zones.index(track.zone[0])] / total
        if held >= STAY_P:
            return []
        if top >= ENTER_P:
            return self._set(token, track, self._zones[best], now)
        if 1.0 - sum(masses) / total >= ENTER_P:
            return self._set(token, track, None, now)
        return []

    @staticmethod
    def _set(token: str, track: _Track, zone: str | None, at: float) -> list[PresenceEvent]:
        events: list[PresenceEvent] = []
        if track.zone is not None:
            events.append(PresenceEvent("exited", token, track.zone[0], at, "", 0.0, 0.0, at - track.zone[1]))
        track.zone = None
        if zone is not None:
            track.zone = (zone, at)
            events.append(PresenceEvent("entered", token, zone, at, "", 0.0, 0.0, 0.0))
        return events

    def zone_of(self, token: str) -> str | None:
        track = self._tracks.get(token)
        return None if track is None or track.zone is None else track.zone[0]

    def forget(self, token: str) -> None:
        self._tracks.pop(token, None)

    def occupants(self, zone: str | None = None) -> list[Occupant]:
        return [
            Occupant(t, tr.zone[0], tr.zone[1], 0.0, 0.0, "")
            for t, tr in self._tracks.items()
            if tr.zone is not None and zone in (None, tr.zone[0])
        ]
