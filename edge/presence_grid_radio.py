"""The grid engine's floor and radio: its cells, its zones' shares of them, and its likelihood tables.

:class:`GridRadio` lays the config's ``[floor]`` (and the street outside its doors) out as 1 m cells of the
box around them -- the floor's bounding box widened by the street, then cropped to the rows and columns that hold a
cell (the street is a half-disc at each door: the square around it held rows no shopper can stand on, a third of an
aisle's box; every array and every shopper's window is that much smaller, the sweep's figures unchanged)
-- and precomputes, per scanner, the mean RSSI residual (reading less the advert's declared
power) at every cell (on the street, :attr:`GridRadio.outside`, less the building's wall: ``wall_db``). Its
likelihoods are arrays over the box, ``shape`` (0 where there is no cell):

- :meth:`GridRadio.likelihood`: a scanner heard a reading ``residual`` dB under the declared power -- the
  shadowing density (6 dB, 5 % deep fades of 10-25 dB) around each cell's mean, 0 beyond the scanner's range
  (or :attr:`GridRadio.far_p` of it, once :class:`edge.presence_grid_range.RangeLearner` learned far readings),
  weighed by the share of the cell within the range where its edge crosses the cell (:data:`RANGE_POINTS`);
- :meth:`GridRadio.silent`: a scanner did not hear an advert of a declared power -- lost (30 %, or the store's
  rate once :class:`edge.presence_grid_loss.LossLearner` learned it), or below its receiver's floor (the
  sensitivity of its own readings: :meth:`GridRadio.floor_dbm`), or out of range.

The generic radio the model engine assumes too (the sweep oracle's ``GENERIC``): physical parameters, never
fitted to a store -- but for the path-loss exponent, which :class:`GridLearner` learns online from the grid's
own posterior (:class:`edge.presence_grid_learn.GridLearner`), and :meth:`GridRadio.retune` rebuilds the
means for. The engine caches what it asks for (a store has a few declared
powers, readings in a 100 dB span and a few sets of scanners that hear one advert).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from edge.config import ScannerConfig, ZoneConfig
from edge.floor import FloorConfig
from edge.self_calibration import RADIO_NEAR_M

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
FAR_SILENCE = True
"""Once far readings are weighed (:attr:`GridRadio.far_p` over 0: the store is learned or proven to hear beyond
RANGE_M), a scanner's silence weighs beyond RANGE_M too, as the complement of those readings: a scanner that would
hear a shopper 25 m away at ``far_p`` of the path loss's rate and did not is evidence, as near. Until session 41 a
silence weighed within RANGE_M only, so that once far readings were allowed a shopper was pulled towards scanners
that did not hear them (their silence said nothing there) -- an improper model: the sweep heard to 60 m 149.27 ->
141.14 capped badness, the doors walk's 14 seeds within 0.05 points, the sweep as it is identical (no store of it
learns far readings); docs/presence.md, "Far hearing: the silences too (session 41)". False: as before."""
RANGE_POINTS = 8
"""A cell is within a scanner's range by the share of its area that is (this many points a side, spread evenly over
the cell): a 1 m cell whose centre is 15.3 m from a scanner holds points 14.6 m from it, where a shopper is heard.
Judged at the centre alone, the range's edge cut off shoppers a reading had just placed in it: a shopper heard by two
scanners 25-30 m apart stands near the edge of both ranges, their intersection held no cell centre now and then, and
the posterior was lost and started again uniform over the window (today's store, 20 shoppers, 10 minutes: 32-46 times
a run, seeds 1-3; docs/presence.md, "The grid's range, judged over each cell (session 19)"). 1: the centre alone."""
SENSITIVITY_DBM = -95.0
"""A scanner hears nothing weaker (a typical BLE receiver's floor)."""
FLOOR_OFFSET = True
"""A scanner's silence allows for its offset (:meth:`GridRadio.floor_dbm`): its receiver's floor is SENSITIVITY_DBM of
its own readings, not of the corrected ones (docs/presence.md, "The grid's range, judged over each cell (session
19)"). False: -95 dBm for every scanner, the correction ignored."""
PHONE_M = 1.2
"""How high a shopper carries a phone or card (a pocket, a hand)."""
NEAREST_M = 0.3
"""Distances are clamped here: path loss is not defined at 0 m."""
COHERENCE_S = 0.15
"""How long a scanner's readings of one shopper stay correlated (s): a reading ``dt`` seconds after the same
scanner's last of that shopper counts as ``1 - exp(-dt / COHERENCE_S)`` of an independent one (its likelihood
raised to that power, rounded up to :data:`TEMPER_LEVELS`). At 0.15 s the app's 4 Hz adverts count 7/8 each,
a card's 2 Hz ones fully: the evidence per second of a fast advertiser no longer outruns its information (a phone
held still reads the same multipath twice in 0.25 s). With the sigma learned both ways (:data:`SIGMA_MIN_DB`)
it takes back most of the boundary flicker the narrower sigma brought (docs/presence.md, "The grid's sigma, both
ways"): 42 tuning cells x 3 seeds 75.92 -> 72.96. 0: every reading counts fully."""
TEMPER_SILENCES = True
"""An advert's silences are tempered as its readings are (:data:`COHERENCE_S`), by the gap to the shopper's advert
before: a phone held still is missed for the same reason twice in 0.1 s (it reads the same multipath, it stands in
the same deep fade, behind the same body), so a scanner's silence soon after its last chance to hear the shopper
counts as ``1 - exp(-gap / COHERENCE_S)`` of an independent one -- the app's 10 Hz adverts 1/2-5/8 each, 6 Hz 3/4,
4 Hz 7/8, a card's 2 Hz fully. Untempered, a 10 Hz app's ten silences a second outweighed its readings and drove a
standing shopper just beyond two scanners' ranges into a wall cell (docs/presence.md, "The grid's silences,
tempered like its readings (session 20)"): 42 tuning cells x seeds 1-3 67.81 -> 67.96, passed 12 -> 13; seeds 4-6
67.79 -> 68.29, 9 -> 11; spurious changes 3-8 % fewer. False: every silence counts fully."""
TEMPER_LEVELS = 8
"""The powers a reading's likelihood is raised to: k / TEMPER_LEVELS, k = 1..TEMPER_LEVELS."""
TEMPER_LEVELS_MAX = 32
"""TEMPER_LEVELS is at most this."""
_STEP_DB, _LOW_DB, _HIGH_DB = 0.1, -80.0, 60.0
"""The density's table: 0.1 dB steps over the residuals a reading can have about its mean."""


def _density(x: Vector, sigma: float) -> Vector:
    """A reading ``x`` dB from its mean: Gaussian shadowing of ``sigma`` dB, or a deep fade (a uniform depth)."""
    erf = np.vectorize(math.erf)
    main = np.exp(-0.5 * (x / sigma) ** 2) / (sigma * math.sqrt(2.0 * math.pi))
    low, high = FADE_DB
    root2 = math.sqrt(2.0)
    faded = 0.5 * (erf((x + high) / sigma / root2) - erf((x + low) / sigma / root2)) / (high - low)
    result: Vector = (1.0 - FADE_P) * main + FADE_P * faded + 1e-9
    return result


def _tempered(pdf: Vector) -> list[Vector]:
    """The density raised to k / TEMPER_LEVELS for k = 1..TEMPER_LEVELS - 1 (:data:`COHERENCE_S`)."""
    return [pdf ** (k / TEMPER_LEVELS) for k in range(1, TEMPER_LEVELS)]


def temper_level(dt: float) -> int:
    """How much of an independent reading one ``dt`` seconds after the same scanner's last of the same shopper is
    worth, in 1 / TEMPER_LEVELS (:data:`COHERENCE_S`; TEMPER_LEVELS: all of it), rounded up."""
    if COHERENCE_S <= 0.0 or dt >= 8.0 * COHERENCE_S:
        return TEMPER_LEVELS
    return max(1, math.ceil(TEMPER_LEVELS * (1.0 - math.exp(-dt / COHERENCE_S)) - 1e-9))


def temper_thresholds() -> list[float]:
    """The gaps (s) past which a reading counts one more 1 / TEMPER_LEVELS: ``1 + bisect_left(these, dt)`` is
    :func:`temper_level` (``dt``) without an exponential per reading; empty when COHERENCE_S is 0."""
    if COHERENCE_S <= 0.0:
        return []
    return [-COHERENCE_S * math.log(1.0 - k / TEMPER_LEVELS) for k in range(1, TEMPER_LEVELS)]


def _cells(
    floor: FloorConfig, x0: float, y0: float, nx: int, ny: int, cell_m: float, street_m: float
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Per cell of the ``nx`` x ``ny`` box from (``x0``, ``y0``), row-major: whether its centre is on the floor, and
    whether it is on the street within ``street_m`` of a door."""
    xs = x0 + (np.arange(nx) + 0.5) * cell_m
    ys = y0 + (np.arange(ny) + 0.5) * cell_m
    points = list(zip(np.repeat(xs, ny).tolist(), np.tile(ys, nx).tolist(), strict=True))
    walkable = np.array([floor.walkable(x, y) for x, y in points], dtype=bool)
    street = np.array([not floor.walkable(x, y) and floor.street(x, y, street_m) for x, y in points], dtype=bool)
    return walkable, street


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
        wall_db: float = 0.0,
    ) -> None:
        x0, y0, x1, y1 = floor.bounds()
        x0, y0, x1, y1 = x0 - street_m, y0 - street_m, x1 + street_m, y1 + street_m
        nx, ny = math.ceil((x1 - x0) / cell_m), math.ceil((y1 - y0) / cell_m)
        walkable, street = _cells(floor, x0, y0, nx, ny, cell_m, street_m)
        used = (walkable | street).reshape(nx, ny)
        rows, cols = np.flatnonzero(used.any(axis=1)), np.flatnonzero(used.any(axis=0))
        if len(rows):  # (the box cropped to its floor and street)
            kept = (slice(int(rows[0]), int(rows[-1]) + 1), slice(int(cols[0]), int(cols[-1]) + 1))
            x0, y0 = x0 + kept[0].start * cell_m, y0 + kept[1].start * cell_m
            walkable = walkable.reshape(nx, ny)[kept].reshape(-1)
            street = street.reshape(nx, ny)[kept].reshape(-1)
            nx, ny = kept[0].stop - kept[0].start, kept[1].stop - kept[1].start
        self.shape = (nx, ny)
        self._x0, self._y0, self.cell_m = x0, y0, cell_m
        self.size = nx * ny
        xs = x0 + (np.arange(nx) + 0.5) * cell_m
        ys = y0 + (np.arange(ny) + 0.5) * cell_m
        cx = np.repeat(xs, ny)
        cy = np.tile(ys, nx)
        mask = (walkable | street).astype(np.float64)
        self.mask: Vector = mask
        self.outside: Vector = street.astype(np.float64).reshape(nx, ny)
        """Per cell: 1 on the street (outside the building's walls: a reading from there comes through them)."""
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
        self.log_d: list[Vector] = []
        """Per scanner and cell: log10 of the slant distance (m; the phone 1.2 m up, clamped at 0.3 m)."""
        self.band: list[Vector] = []
        """Per scanner and cell: 1 where the slant distance is within the radio learner's RADIO_NEAR_M band."""
        low, high = RADIO_NEAR_M
        self.places: list[tuple[float, float, float]] = []
        """Per scanner: its (fractional) box cell and its height above a phone (m)."""
        for s in scanners:
            dz = s.height_m - PHONE_M
            self.places.append(((s.x_m - x0) / cell_m - 0.5, (s.y_m - y0) / cell_m - 0.5, dz))
            d = np.sqrt((cx - s.x_m) ** 2 + (cy - s.y_m) ** 2 + dz * dz)
            self.log_d.append(np.log10(np.maximum(d, NEAREST_M)).reshape(nx, ny))
            self.band.append(((d >= low) * (d <= high) * mask).reshape(nx, ny))
            self._in_range.append((_share_within(cx - s.x_m, cy - s.y_m, dz, cell_m) * mask).reshape(nx, ny))
        self._reachable: list[Vector] = list(self._in_range)
        """Per scanner and cell: the weight of a reading's density there -- 1 in range, :attr:`far_p` beyond it."""
        self.far_p = 0.0
        """A reading's density beyond RANGE_M is this share of its path loss's (0: impossible; learned by
        :class:`edge.presence_grid_range.RangeLearner`)."""
        self._mask = mask.reshape(nx, ny)
        self.exponent = exponent
        self.wall_db = wall_db
        """The wall loss in use (dB): a cell on the street expects its readings this much weaker."""
        self._means = self._build_means()
        self._grid = np.arange(_LOW_DB, _HIGH_DB + _STEP_DB / 2, _STEP_DB)
        self.sigma_db = SIGMA_DB
        """The shadowing sigma of the tables in use (SIGMA_DB until one is learned)."""
        self._pdf = _density(self._grid, SIGMA_DB)
        self._cdf = np.cumsum(self._pdf) * _STEP_DB
        self._tempered = _tempered(self._pdf)
        self.reach: list[tuple[int, int, int, int]] = []
        """Per scanner: the box's rows x0:x1 and columns y0:y1 around the cells within its reach (a reading's
        likelihood is 0 outside them, a silence 1); all zero for a scanner that reaches no floor."""
        for in_range in self._in_range:
            rows, cols = np.flatnonzero(in_range.any(axis=1)), np.flatnonzero(in_range.any(axis=0))
            if len(rows):
                self.reach.append((int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1))
            else:
                self.reach.append((0, 0, 0, 0))
        self.quiet_reach: list[tuple[int, int, int, int]] = list(self.reach)
        """Per scanner: where its silence weighs (1 elsewhere): its :attr:`reach`, or the whole box once far readings
        happen (:data:`FAR_SILENCE`)."""
        self._steps = [np.rint(m / _STEP_DB).astype(np.intp) for m in self._means]
        """Per scanner and cell: the mean residual in table steps."""
        self.miss_p = MISS_P
        """The share of adverts a scanner in range misses anyway, in use (MISS_P until
        :class:`edge.presence_grid_loss.LossLearner` learns the store's)."""
        self.offsets: list[float] = [0.0] * len(scanners)
        """Per scanner: the dB added to its readings (configured ``offset_db`` plus the learned offset applied; the
        engine's own list, updated in place). A scanner corrected by +o dB reads o dB low: its receiver's floor,
        SENSITIVITY_DBM of its own readings, is SENSITIVITY_DBM + o of the corrected ones (:meth:`floor_dbm`)."""

    def lose(self, miss_p: float) -> None:
        """Use miss rate ``miss_p`` in :meth:`silent`; the caller drops the silences it cached."""
        self.miss_p = miss_p

    def _build_means(self) -> list[Vector]:
        """Per scanner and cell: the mean residual (the exponent's path loss, less the wall's on the street)."""
        wall = self.wall_db * self.outside
        return [-10.0 * self.exponent * log_d - wall for log_d in self.log_d]

    def retune(self, exponent: float, sigma_db: float | None = None, wall_db: float | None = None) -> None:
        """Rebuild the mean residuals for path-loss ``exponent`` (the learned one) and ``wall_db`` when given, and
        the density for shadowing ``sigma_db`` when given; the caller drops the arrays it cached from the old ones."""
        self.exponent = exponent
        if wall_db is not None:
            self.wall_db = wall_db
        self._means = self._build_means()
        self._steps = [np.rint(m / _STEP_DB).astype(np.intp) for m in self._means]
        if sigma_db is not None and sigma_db != self.sigma_db:
            self.sigma_db = sigma_db
            self._pdf = _density(self._grid, sigma_db)
            self._cdf = np.cumsum(self._pdf) * _STEP_DB
            self._tempered = _tempered(self._pdf)

    def reach_far(self, far_p: float) -> None:
        """Weigh a reading's density beyond RANGE_M by ``far_p`` (0: impossible there); the caller drops the arrays
        it cached. Over the floor's box only: a reading over a scanner's reach (``near``) is 0 beyond it still. A
        silence weighs over the whole box from then on (:attr:`quiet_reach`, :data:`FAR_SILENCE`)."""
        self.far_p = far_p
        self._reachable = [r + far_p * (self._mask - r) for r in self._in_range]
        whole = (0, self.shape[0], 0, self.shape[1])
        self.quiet_reach = [
            whole if FAR_SILENCE and far_p > 0.0 and reach[1] > reach[0] else reach for reach in self.reach
        ]

    def tables(self) -> tuple[Vector, Vector, Vector]:
        """The density of a reading about its mean, tabulated (the sigma in use): its grid (dB), density, cumulative."""
        return self._grid, self._pdf, self._cdf

    def means(self, scanner: int) -> Vector:
        """Per cell: ``scanner``'s mean residual (the path loss at the exponent in use, less the wall on the street)."""
        return self._means[scanner]

    def in_range(self, scanner: int) -> Vector:
        """Per cell: 1 where ``scanner`` can hear a shopper (within RANGE_M, on the floor or its street)."""
        return self._in_range[scanner]

    def cell_of(self, x: float, y: float) -> tuple[float, float]:
        """The box's (fractional) cell coordinates of point (x, y)."""
        return (x - self._x0) / self.cell_m - 0.5, (y - self._y0) / self.cell_m - 0.5

    def likelihood(
        self, scanner: int, residual: int, *, near: bool = False, level: int = TEMPER_LEVELS, far_p: float | None = None
    ) -> Vector:
        """Per cell: the density of ``scanner`` reading ``residual`` dB under the declared power (the table's
        nearest 0.1 dB step: one gather, not an interpolation), raised to ``level`` / :data:`TEMPER_LEVELS`
        (:data:`COHERENCE_S`); over the whole box, or ``near``: over the scanner's :attr:`reach` only. Beyond
        RANGE_M the density is weighed by :attr:`far_p`, or by ``far_p`` where given (a faint reading's,
        edge.presence_grid_range ``FAINT_SIGMAS``)."""
        if far_p is not None:
            return self.likelihood_within(scanner, residual, far_p, (0, self.shape[0], 0, self.shape[1]), level)
        at = round((residual - _LOW_DB) / _STEP_DB)
        steps, in_range = self._steps[scanner], self._reachable[scanner]
        if near:
            x0, x1, y0, y1 = self.reach[scanner]
            steps, in_range = steps[x0:x1, y0:y1], in_range[x0:x1, y0:y1]
        pdf = self._pdf if level >= TEMPER_LEVELS else self._tempered[level - 1]
        found: Vector = pdf.take(at - steps, mode="clip") * in_range
        return found

    def likelihood_within(
        self, scanner: int, residual: int, far_p: float, box: tuple[int, int, int, int], level: int = TEMPER_LEVELS
    ) -> Vector:
        """Over the box's rows x0:x1 and columns y0:y1 (``box``): as :meth:`likelihood`, a reading's density beyond
        RANGE_M weighed by ``far_p`` -- a faint reading's (edge.presence_grid_range ``FAINT_SIGMAS``), over the whole
        box or, where the likelihoods are kept over each scanner's reach, over a track's window."""
        x0, x1, y0, y1 = box
        at = round((residual - _LOW_DB) / _STEP_DB)
        steps = self._steps[scanner][x0:x1, y0:y1]
        share = self._in_range[scanner][x0:x1, y0:y1]
        reach = share + far_p * (self._mask[x0:x1, y0:y1] - share)
        pdf = self._pdf if level >= TEMPER_LEVELS else self._tempered[level - 1]
        found: Vector = pdf.take(at - steps, mode="clip") * reach
        return found

    def density(self, scanner: int, residual: int, x0: int, x1: int, y0: int, y1: int) -> Vector:
        """Over the box's rows x0:x1 and columns y0:y1: the density of ``scanner`` reading ``residual`` dB under the
        declared power at each cell, in range or not (0 off the floor and its street)."""
        at = round((residual - _LOW_DB) / _STEP_DB)
        steps = self._steps[scanner][x0:x1, y0:y1]
        found: Vector = self._pdf.take(at - steps, mode="clip") * self._mask[x0:x1, y0:y1]
        return found

    def floor_dbm(self, scanner: int) -> float:
        """The weakest reading ``scanner`` reports, on the corrected scale its readings are weighed on: the
        receiver's SENSITIVITY_DBM plus the dB its readings are corrected by (:attr:`offsets`) -- a scanner that reads
        4 dB low (corrected by +4) hears nothing under -91 dBm of the corrected readings, so it hears less far."""
        return SENSITIVITY_DBM + (self.offsets[scanner] if FLOOR_OFFSET else 0.0)

    def silent(self, scanner: int, power: int) -> Vector:
        """Over the scanner's :attr:`quiet_reach` (1 everywhere else): the likelihood that ``scanner`` did not hear
        an advert of declared ``power`` dBm -- lost, or below the sensitivity, or out of range (beyond RANGE_M heard
        at :attr:`far_p` of the rate, :data:`FAR_SILENCE`); never below the miss rate in use (:attr:`miss_p`)."""
        x0, x1, y0, y1 = self.quiet_reach[scanner]
        limit = self.floor_dbm(scanner) - power
        means, in_range = self._means[scanner][x0:x1, y0:y1], self._in_range[scanner][x0:x1, y0:y1]
        if FAR_SILENCE and self.far_p > 0.0:
            in_range = in_range + self.far_p * (self._mask[x0:x1, y0:y1] - in_range)
        heard = 1.0 - np.clip(np.interp(limit - means, self._grid, self._cdf), 0.0, 1.0)
        found: Vector = 1.0 - (1.0 - self.miss_p) * in_range * heard
        return found


def _share_within(dx: Vector, dy: Vector, dz: float, cell_m: float) -> Vector:
    """Per cell (its centre ``dx``, ``dy`` m from a scanner ``dz`` m above the phone): the share of its area within
    RANGE_M of the scanner, from RANGE_POINTS x RANGE_POINTS points spread evenly over it."""
    k = max(1, RANGE_POINTS)
    offsets = [((a + 0.5) / k - 0.5) * cell_m for a in range(k)]
    inside = np.zeros(dx.shape)
    for ox in offsets:
        for oy in offsets:
            inside += (dx + ox) ** 2 + (dy + oy) ** 2 + dz * dz <= RANGE_M * RANGE_M
    found: Vector = inside / (k * k)
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
