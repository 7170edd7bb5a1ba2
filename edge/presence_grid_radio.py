"""The grid engine's floor and radio: its cells, its zones' shares of them, and its likelihood tables.

:class:`GridRadio` lays the config's ``[floor]`` (and the street outside its doors) out as 1 m cells of the
floor's bounding box and precomputes, per scanner, the mean RSSI residual (reading less the advert's declared
power) at every cell. Its likelihoods are arrays over the box, ``shape`` (0 where there is no cell):

- :meth:`GridRadio.likelihood`: a scanner heard a reading ``residual`` dB under the declared power -- the
  shadowing density (6 dB, 5 % deep fades of 10-25 dB) around each cell's mean, 0 beyond the scanner's range;
- :meth:`GridRadio.silent`: a scanner did not hear an advert of a declared power -- lost (30 %), or below the
  sensitivity, or out of range.

The generic radio the model engine assumes too (the sweep oracle's ``GENERIC``): physical parameters, never
fitted to a store. The engine caches what it asks for (a store has a few declared powers, readings in a 100 dB
span and a few sets of scanners that hear one advert).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from edge.config import ScannerConfig, ZoneConfig
from edge.floor import FloorConfig

Vector = npt.NDArray[np.float64]

SIGMA_DB = 6.0
"""Shadowing of a reading around its path-loss mean (bodies, shelving): typical indoors at 2.4 GHz."""
FADE_P = 0.05
"""The share of readings in a deep multipath fade."""
FADE_DB = (10.0, 25.0)
"""How deep a fade is (uniform between these)."""
MISS_P = 0.3
"""The share of adverts a scanner in range misses anyway (BLE channel hopping, scan windows)."""
RANGE_M = 15.0
"""A scanner hears nobody farther than this (walls and shelving in between)."""
SENSITIVITY_DBM = -95.0
"""A scanner hears nothing weaker (a typical BLE receiver's floor)."""
PHONE_M = 1.2
"""How high a shopper carries a phone or card (a pocket, a hand)."""
NEAREST_M = 0.3
"""Distances are clamped here: path loss is not defined at 0 m."""
_STEP_DB, _LOW_DB, _HIGH_DB = 0.1, -80.0, 60.0
"""The density's table: 0.1 dB steps over the residuals a reading can have about its mean."""


def _density(x: Vector) -> Vector:
    """A reading ``x`` dB from its mean: Gaussian shadowing, or a deep fade (a uniform depth)."""
    erf = np.vectorize(math.erf)
    main = np.exp(-0.5 * (x / SIGMA_DB) ** 2) / (SIGMA_DB * math.sqrt(2.0 * math.pi))
    low, high = FADE_DB
    root2 = math.sqrt(2.0)
    faded = 0.5 * (erf((x + high) / SIGMA_DB / root2) - erf((x + low) / SIGMA_DB / root2)) / (high - low)
    result: Vector = (1.0 - FADE_P) * main + FADE_P * faded + 1e-9
    return result


class GridRadio:
    """See the module docstring. ``shape`` is the box (cells along x, along y); ``mask`` marks its cells."""

    def __init__(
        self,
        zones: tuple[ZoneConfig, ...],
        scanners: tuple[ScannerConfig, ...],
        floor: FloorConfig,
        exponent: float,
        cell_m: float,
        street_m: float,
    ) -> None:
        x0, y0, x1, y1 = floor.bounds()
        x0, y0, x1, y1 = x0 - street_m, y0 - street_m, x1 + street_m, y1 + street_m
        nx, ny = math.ceil((x1 - x0) / cell_m), math.ceil((y1 - y0) / cell_m)
        self.shape = (nx, ny)
        self._x0, self._y0, self._cell_m = x0, y0, cell_m
        self.size = nx * ny
        xs = x0 + (np.arange(nx) + 0.5) * cell_m
        ys = y0 + (np.arange(ny) + 0.5) * cell_m
        cx = np.repeat(xs, ny)
        cy = np.tile(ys, nx)
        mask = np.array(
            [
                floor.walkable(x, y) or floor.street(x, y, street_m)
                for x, y in zip(cx.tolist(), cy.tolist(), strict=True)
            ],
            dtype=np.float64,
        )
        self.mask: Vector = mask
        self.cells = int(mask.sum())
        """How many cells the floor and its street have."""
        positions = {s.id: s for s in scanners}
        sub = [((a + 0.5) / 3 - 0.5) * cell_m for a in range(3)]
        members = np.zeros((len(zones), self.size))
        for c in np.flatnonzero(mask).tolist():
            for ox in sub:
                for oy in sub:
                    k = _zone_at(zones, positions, float(cx[c]) + ox, float(cy[c]) + oy)
                    if k is not None:
                        members[k, c] += 1.0 / 9.0
        self.members: Vector = members.reshape(len(zones), nx, ny)
        """Per zone and cell: the zone's share of the cell."""
        self._means: list[Vector] = []
        self._in_range: list[Vector] = []
        for s in scanners:
            dz = s.height_m - PHONE_M
            d = np.sqrt((cx - s.x_m) ** 2 + (cy - s.y_m) ** 2 + dz * dz)
            self._means.append((-10.0 * exponent * np.log10(np.maximum(d, NEAREST_M))).reshape(nx, ny))
            self._in_range.append(((d <= RANGE_M) * mask).reshape(nx, ny))
        self._grid = np.arange(_LOW_DB, _HIGH_DB + _STEP_DB / 2, _STEP_DB)
        self._pdf = _density(self._grid)
        self._cdf = np.cumsum(self._pdf) * _STEP_DB
        self.reach: list[tuple[int, int, int, int]] = []
        """Per scanner: the box's rows x0:x1 and columns y0:y1 around the cells within its reach (a reading's
        likelihood is 0 outside them, a silence 1); all zero for a scanner that reaches no floor."""
        for in_range in self._in_range:
            rows, cols = np.flatnonzero(in_range.any(axis=1)), np.flatnonzero(in_range.any(axis=0))
            if len(rows):
                self.reach.append((int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1))
            else:
                self.reach.append((0, 0, 0, 0))
        self._steps = [np.rint(m / _STEP_DB).astype(np.intp) for m in self._means]
        """Per scanner and cell: the mean residual in table steps."""
        self._all_silent: dict[int, Vector] = {}

    def cell_of(self, x: float, y: float) -> tuple[float, float]:
        """The box's (fractional) cell coordinates of point (x, y)."""
        return (x - self._x0) / self._cell_m - 0.5, (y - self._y0) / self._cell_m - 0.5

    def likelihood(self, scanner: int, residual: int, *, near: bool = False) -> Vector:
        """Per cell: the density of ``scanner`` reading ``residual`` dB under the declared power (the table's
        nearest 0.1 dB step: one gather, not an interpolation); over the whole box, or ``near``: over the
        scanner's :attr:`reach` only."""
        at = round((residual - _LOW_DB) / _STEP_DB)
        steps, in_range = self._steps[scanner], self._in_range[scanner]
        if near:
            x0, x1, y0, y1 = self.reach[scanner]
            steps, in_range = steps[x0:x1, y0:y1], in_range[x0:x1, y0:y1]
        found: Vector = self._pdf.take(at - steps, mode="clip") * in_range
        return found

    def silent(self, scanner: int, power: int) -> Vector:
        """Over the scanner's :attr:`reach` (1 everywhere else): the likelihood that ``scanner`` did not hear an
        advert of declared ``power`` dBm -- lost, or below the sensitivity, or out of range; never below
        :data:`MISS_P`."""
        x0, x1, y0, y1 = self.reach[scanner]
        limit = SENSITIVITY_DBM - power
        means, in_range = self._means[scanner][x0:x1, y0:y1], self._in_range[scanner][x0:x1, y0:y1]
        heard = 1.0 - np.clip(np.interp(limit - means, self._grid, self._cdf), 0.0, 1.0)
        found: Vector = 1.0 - (1.0 - MISS_P) * in_range * heard
        return found


def _zone_at(zones: tuple[ZoneConfig, ...], positions: dict[str, ScannerConfig], x: float, y: float) -> int | None:
    """The first zone whose area (else whose scanners' discs) holds (x, y)."""
    for k, zone in enumerate(zones):
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
