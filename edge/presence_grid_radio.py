"""The grid engine's floor and radio: its cells, its zones' shares of them, and its likelihood tables.

:class:`GridRadio` lays the config's ``[floor]`` (and the street outside its doors) out as 1 m cells of the
floor's bounding box and precomputes, per scanner, the mean RSSI residual (reading less the advert's declared
power) at every cell (on the street, :attr:`GridRadio.outside`, less the building's wall: ``wall_db``). Its
likelihoods are arrays over the box, ``shape`` (0 where there is no cell):

- :meth:`GridRadio.likelihood`: a scanner heard a reading ``residual`` dB under the declared power -- the
  shadowing density (6 dB, 5 % deep fades of 10-25 dB) around each cell's mean, 0 beyond the scanner's range
  (or :attr:`GridRadio.far_p` of it, once :class:`edge.presence_grid_range.RangeLearner` learned far readings);
- :meth:`GridRadio.silent`: a scanner did not hear an advert of a declared power -- lost (30 %), or below the
  sensitivity, or out of range.

The generic radio the model engine assumes too (the sweep oracle's ``GENERIC``): physical parameters, never
fitted to a store -- but for the path-loss exponent, which :class:`GridLearner` learns online from the grid's
own posterior, as the model engine learns it (:class:`edge.self_calibration.RadioLearner`), and
:meth:`GridRadio.retune` rebuilds the means for. The engine caches what it asks for (a store has a few declared
powers, readings in a 100 dB span and a few sets of scanners that hear one advert).
"""

from __future__ import annotations

import math
from typing import Protocol

import numpy as np
import numpy.typing as npt

from edge.config import ScannerConfig, ZoneConfig
from edge.floor import FloorConfig
from edge.self_calibration import RADIO_EXPONENT_MAX, RADIO_EXPONENT_MIN, RADIO_MIN_WEIGHT, RADIO_NEAR_M, RadioLearner

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
COHERENCE_S = 0.15
"""How long a scanner's readings of one shopper stay correlated (s): a reading ``dt`` seconds after the same
scanner's last of that shopper counts as ``1 - exp(-dt / COHERENCE_S)`` of an independent one (its likelihood
raised to that power, rounded up to :data:`TEMPER_LEVELS`). At 0.15 s the app's 4 Hz adverts count 7/8 each,
a card's 2 Hz ones fully: the evidence per second of a fast advertiser no longer outruns its information (a phone
held still reads the same multipath twice in 0.25 s). With the sigma learned both ways (:data:`SIGMA_MIN_DB`)
it takes back most of the boundary flicker the narrower sigma brought (docs/presence.md, "The grid's sigma, both
ways"): 42 tuning cells x 3 seeds 75.92 -> 72.96. 0: every reading counts fully."""
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
        self.shape = (nx, ny)
        self._x0, self._y0, self.cell_m = x0, y0, cell_m
        self.size = nx * ny
        xs = x0 + (np.arange(nx) + 0.5) * cell_m
        ys = y0 + (np.arange(ny) + 0.5) * cell_m
        cx = np.repeat(xs, ny)
        cy = np.tile(ys, nx)
        points = list(zip(cx.tolist(), cy.tolist(), strict=True))
        walkable = np.array([floor.walkable(x, y) for x, y in points], dtype=bool)
        street = np.array([not floor.walkable(x, y) and floor.street(x, y, street_m) for x, y in points], dtype=bool)
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
            self._in_range.append(((d <= RANGE_M) * mask).reshape(nx, ny))
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
        self._steps = [np.rint(m / _STEP_DB).astype(np.intp) for m in self._means]
        """Per scanner and cell: the mean residual in table steps."""

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
        it cached. Over the floor's box only: a reading over a scanner's reach (``near``) is 0 beyond it still."""
        self.far_p = far_p
        self._reachable = [r + far_p * (self._mask - r) for r in self._in_range]

    def tables(self) -> tuple[Vector, Vector, Vector]:
        """The density of a reading about its mean, tabulated (the sigma in use): its grid (dB), density, cumulative."""
        return self._grid, self._pdf, self._cdf

    def in_range(self, scanner: int) -> Vector:
        """Per cell: 1 where ``scanner`` can hear a shopper (within RANGE_M, on the floor or its street)."""
        return self._in_range[scanner]

    def cell_of(self, x: float, y: float) -> tuple[float, float]:
        """The box's (fractional) cell coordinates of point (x, y)."""
        return (x - self._x0) / self.cell_m - 0.5, (y - self._y0) / self.cell_m - 0.5

    def likelihood(self, scanner: int, residual: int, *, near: bool = False, level: int = TEMPER_LEVELS) -> Vector:
        """Per cell: the density of ``scanner`` reading ``residual`` dB under the declared power (the table's
        nearest 0.1 dB step: one gather, not an interpolation), raised to ``level`` / :data:`TEMPER_LEVELS`
        (:data:`COHERENCE_S`); over the whole box, or ``near``: over the scanner's :attr:`reach` only."""
        at = round((residual - _LOW_DB) / _STEP_DB)
        steps, in_range = self._steps[scanner], self._reachable[scanner]
        if near:
            x0, x1, y0, y1 = self.reach[scanner]
            steps, in_range = steps[x0:x1, y0:y1], in_range[x0:x1, y0:y1]
        pdf = self._pdf if level >= TEMPER_LEVELS else self._tempered[level - 1]
        found: Vector = pdf.take(at - steps, mode="clip") * in_range
        return found

    def density(self, scanner: int, residual: int, x0: int, x1: int, y0: int, y1: int) -> Vector:
        """Over the box's rows x0:x1 and columns y0:y1: the density of ``scanner`` reading ``residual`` dB under the
        declared power at each cell, in range or not (0 off the floor and its street)."""
        at = round((residual - _LOW_DB) / _STEP_DB)
        steps = self._steps[scanner][x0:x1, y0:y1]
        found: Vector = self._pdf.take(at - steps, mode="clip") * self._mask[x0:x1, y0:y1]
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


# --- the store's path-loss exponent, learned online (as the model engine learns it) -------------------------

LEARN_RADIO = True
"""Learn the store's path-loss exponent from rostered traffic and rebuild the likelihoods when it moves (the model
engine's :class:`edge.self_calibration.RadioLearner`); ``presence_model_tune.py --engine grid --set
LEARN_RADIO=0`` compares without."""
RADIO_RETUNE_S = 30.0
"""The learned exponent is looked at (and the likelihoods rebuilt when it moved a step) at most this often (the
model engine's figure)."""
RADIO_SAMPLES_PER_S = 5.0
"""At most this many samples a second, store-wide, chosen by time, never by the reading. The model takes up to
25; here a sample costs a few array operations (about 8 us), and 4 m tiles give 13 a second: at 25 the learning
cost 1.5 us per sighting there (+30 %), at 5 it holds the per-sighting cost within ~10 %. The learner's memory
(RADIO_TAU_S, 120 s) still holds up to 600 samples, three times the RADIO_MIN_WEIGHT it needs."""
RADIO_BURST_S = 30.0
"""... averaged over this long (a token bucket holding this many seconds of the rate; RADIO_RETUNE_S, the period
each look at the learned exponent sums over): candidates come in bursts (a shopper settling in a zone within a
scanner's band is heard by it several times a second, then nobody is for a while), and a sample at most every
0.2 s passed over most of a burst -- today's store at exponent 3.2 took 2.3 samples a second, not 5, and used the
configured exponent for the first 250-315 s of 600. The CPU is the same on average; a burst costs at most
150 samples' arrays (about 1.2 ms) once. 0 is the old spacing."""
RADIO_PLACED_SHARE = 0.5
"""A sample is taken when at least this share of the shopper's mass is on cells in the scanner's RADIO_NEAR_M
band (only those are weighed; the model's figure)."""
CENTRE_MARGIN_M = 0.5
"""A reading is a candidate sample only when the centre of the shopper's mass (at the last motion step) is within
RADIO_NEAR_M widened by this: most readings (a shopper by the scanner that hears them) are then passed over at
the cost of a few float operations, not the 11-14 us of the sample's arrays (without it, today's store's
learning cost 14 % per sighting). Selection by place (the posterior), never by the reading."""
RADIO_CONFIDENT_P = 0.95
"""... and the shopper is in a zone holding at least this share of their mass (the model's MODEL_CAL_CONFIDENT_P):
a posterior that has not settled would teach the learner its prior."""


LEARN_SIGMA = True
"""Learn the shadowing sigma too (EM's M-step over the same samples as the exponent) and use it for the likelihoods
(within :data:`SIGMA_MIN_DB` and :data:`SIGMA_MAX_DB`). At the sweep's sigma of 8 dB the grid learns 6.8-7.0 and, using
7, makes 4.8 -> 2.8 spurious changes per shopper-hour (42 tuning cells x 3 seeds 77.33 -> 76.15, no other cell
moved). ``--set LEARN_SIGMA=0`` compares without."""
SIGMA_MIN_DB, SIGMA_MAX_DB = 3.0, 10.0
"""The sigma in use is learned both ways (the previous round's floor was the assumed :data:`SIGMA_DB`), within a
quiet store in line of sight (3 dB) and a crowded one of metal shelving. Alone, narrower (the sweep's 5 dB stores
learn 4.7-5.3) enters and exits 0.2-1 s sooner nearly everywhere but flaps at zone boundaries (three families
worse); with the readings' coherence (:data:`COHERENCE_S`) and the leave-one-out samples (:data:`SAMPLE_BEFORE`)
the 42 tuning cells x 3 seeds go 75.92 -> 72.96, 7 cells passed instead of 1 (docs/presence.md)."""
SAMPLE_BEFORE = True
"""A reading is a sample of the radio on the shopper's posterior before its own evidence (leave-one-out): after
it, the posterior leans to where that reading's residual is small, and the sigma learned is biased low (measured:
by only 0.05-0.1 dB in the sweep's 5 dB stores; the steep stores' 4.0-4.6 at a true 5.1 is not this)."""
SIGMA_STEP_DB = 0.5
"""It moves the tables in steps of this..."""
SIGMA_DEADBAND_DB = 0.5
"""... when it is this far from the one in use (its noise between runs of one store is about 0.3-0.5 dB)."""
RADIO_SE = 0.05
"""The learned exponent is used once its standard error is at most this -- half a RADIO_STEP (0.75 dB at 5 m), a
third of the RADIO_DEADBAND it must move by -- rather than after RADIO_MIN_WEIGHT samples of decayed weight:
the grid takes about 2 samples a second in a steep store, and a decayed weight (RADIO_TAU_S, 120 s) grows to
200 at 2 a second only after 215 s (today's store at exponent 3.2 used the configured 2.2 for the first 220-315 s
of 600, and flapped meanwhile). The standard error is the slope's: the residual sigma over 10 sqrt(sum of
(log10 d)^2), on the same decayed sums; with 5 dB of shadowing and samples 5-8 m out it is reached after about
150 samples (the old rule's 200 are 0.045). There the learned exponent is now used after 87-225 s."""
RADIO_SE_MIN_SAMPLES = 30.0
"""... and not before this much decayed weight: the residual sigma the standard error divides is itself an
estimate (about 13 % off at 30)."""


class _Learner(RadioLearner):
    """The model engine's :class:`~edge.self_calibration.RadioLearner` with a readiness by the estimate's precision
    (:data:`RADIO_SE`) instead of by a count of samples (RADIO_MIN_WEIGHT): the same sums and estimate."""

    __slots__ = ()

    def learned(self) -> float | None:
        sw, sxx = self._sw, self._sxx
        if sw < min(RADIO_SE_MIN_SAMPLES, RADIO_MIN_WEIGHT) or sxx <= 0.0:
            return None
        n = self._sxy / (10.0 * sxx)
        residual = self._syy - 20.0 * n * self._sxy + 100.0 * n * n * sxx  # sum of (loss - 10 n log d)^2
        if sw < RADIO_MIN_WEIGHT and max(0.0, residual) / sw > (RADIO_SE * 10.0) ** 2 * sxx:
            return None
        return min(max(n, RADIO_EXPONENT_MIN), RADIO_EXPONENT_MAX)

    def guess(self) -> float | None:
        """The estimate before it is precise enough to use (:data:`RADIO_SE`): after RADIO_SE_MIN_SAMPLES of
        decayed weight, else None."""
        if self._sw < RADIO_SE_MIN_SAMPLES or self._sxx <= 0.0:
            return None
        return min(max(self._sxy / (10.0 * self._sxx), RADIO_EXPONENT_MIN), RADIO_EXPONENT_MAX)

    def em_sigma(self, exponent: float) -> float:
        """The shadowing sigma EM's M-step gives at ``exponent``: the root mean square of loss less 10 n log10 d
        over the samples' posteriors (their spread of distances included, unlike ``sigma_db()``, which reports
        the shadowing alone for the model's coarser places)."""
        n, sw = exponent, max(self._sw, 1e-9)
        residual = self._syy - 20.0 * n * self._sxy + 100.0 * n * n * self._sxx
        return math.sqrt(max(0.0, residual) / sw)


def ration(empty_at: float, at: float) -> float:
    """A sample taken at ``at`` from a token bucket that was empty at ``empty_at`` (it fills at
    RADIO_SAMPLES_PER_S, up to RADIO_BURST_S of it): when it is empty now. The next sample may be taken
    1 / RADIO_SAMPLES_PER_S after that."""
    spacing = 1.0 / RADIO_SAMPLES_PER_S
    return max(empty_at, at - max(RADIO_BURST_S, spacing)) + spacing


class Placed(Protocol):
    """What :class:`GridLearner` reads of a grid engine's track."""

    zone: int
    """The zone it is in (-1: none)."""
    slot: int
    state: Vector
    """Its layers over its window (2, cells along x, along y)."""
    origin: tuple[int, int]
    """The box cell at its window's corner."""


class GridLearner:
    """Feeds :class:`~edge.self_calibration.RadioLearner` from the grid's posterior: per sample, E[log10 d] and
    E[(log10 d)^2] of the slant distance to the scanner that heard the reading, over the window's cells in the
    scanner's RADIO_NEAR_M band, weighted by the posterior after the reading (EM's E-step, as the model's over its
    sub-places). Pure: the caller passes the time."""

    __slots__ = ("_boxes", "_cx", "_cy", "_empty_at", "_kernels", "_learn_at", "_near", "_pairs", "_radio",
                 "_retune_at", "_shares", "learner")  # fmt: skip

    def __init__(self, radio: GridRadio, exponent: float) -> None:
        self._radio = radio
        self.learner: RadioLearner = _Learner(exponent) if RADIO_SE > 0.0 else RadioLearner(exponent)
        self._learn_at = -math.inf
        """No sample is taken before this (RADIO_SAMPLES_PER_S, RADIO_BURST_S): the bucket holds a token."""
        self._empty_at = -math.inf
        """When the token bucket was (or would have been) empty: it holds (t - this) x RADIO_SAMPLES_PER_S tokens
        at time t, at most RADIO_BURST_S x RADIO_SAMPLES_PER_S."""
        self._retune_at: float | None = None
        low, high = RADIO_NEAR_M
        self._near = ((low - CENTRE_MARGIN_M) ** 2, (high + CENTRE_MARGIN_M) ** 2)
        self._cx: list[float] = []
        self._cy: list[float] = []
        self._shares: Vector = np.zeros((0, len(radio.members)))
        """Per slot and zone: the zone's share of the slot's mass at the last tick (:meth:`settled`)."""
        area = radio.members.reshape(len(radio.members), -1)
        self._pairs: list[list[bool]] = [((area @ band.reshape(-1)) > 0.0).tolist() for band in radio.band]
        """Per scanner and zone: whether any of the zone's area is in the scanner's band (the model's selection
        of (scanner, zone) pairs by place)."""
        self._boxes: list[tuple[int, int, int, int]] = []
        """Per scanner: the box's rows x0:x1 and columns y0:y1 around its band's cells."""
        self._kernels: list[Vector] = []
        """Per scanner, over its band's box: the band, the band x log10 d and the band x (log10 d)^2."""
        for band, log_d in zip(radio.band, radio.log_d, strict=True):
            rows, cols = np.flatnonzero(band.any(axis=1)), np.flatnonzero(band.any(axis=0))
            x0, x1 = (int(rows[0]), int(rows[-1]) + 1) if len(rows) else (0, 0)
            y0, y1 = (int(cols[0]), int(cols[-1]) + 1) if len(cols) else (0, 0)
            b, d = band[x0:x1, y0:y1], log_d[x0:x1, y0:y1]
            self._boxes.append((x0, x1, y0, y1))
            self._kernels.append(np.stack([b, b * d, b * d * d]))

    def settled(self, shares: Vector) -> None:
        """After a tick's decisions: per slot, each zone's share of its mass (read by :meth:`sample`)."""
        self._shares = shares

    def centred(self, cx: list[float], cy: list[float]) -> None:
        """After a motion step: per slot, the centre of its mass in its window's cells (read by :meth:`sample`)."""
        self._cx, self._cy = cx, cy

    def sample(self, at: float, scanner: int, loss_db: float, track: Placed) -> bool:
        """A reading ``loss_db`` dB under the declared power by ``scanner`` of ``track`` (after the reading's
        evidence): a sample when the rate allows, the (scanner, zone) pair is one, the centre of the mass at the
        last motion step is in the band (CENTRE_MARGIN_M) and the zone held RADIO_CONFIDENT_P of the mass at the
        last tick -- cheap checks first; True when the exponent in use moved (the caller drops its arrays)."""
        zone = track.zone
        if zone < 0 or at < self._learn_at or not self._pairs[scanner][zone]:
            return False
        slot, origin, cx = track.slot, track.origin, self._cx
        if slot >= len(cx):
            return False
        sx, sy, dz = self._radio.places[scanner]
        cell = self._radio.cell_m
        dx, dy = (origin[0] + cx[slot] - sx) * cell, (origin[1] + self._cy[slot] - sy) * cell
        low, high = self._near
        if not low <= dx * dx + dy * dy + dz * dz <= high:
            return False
        shares = self._shares
        if slot >= len(shares) or shares[slot, zone] < RADIO_CONFIDENT_P:
            return False
        return self.add(at, scanner, loss_db, track.state, origin)

    def add(self, at: float, scanner: int, loss_db: float, state: Vector, origin: tuple[int, int]) -> bool:
        """One reading ``loss_db`` dB under the declared power by ``scanner`` of a shopper whose posterior over
        the window at ``origin`` is ``state`` (its layers, any scale), after :meth:`sample`; True when the exponent
        in use moved (the caller rebuilds its likelihoods)."""
        _, kx, ky = state.shape
        x0, y0 = origin
        bx0, bx1, by0, by1 = self._boxes[scanner]
        ix0, ix1, iy0, iy1 = max(x0, bx0), min(x0 + kx, bx1), max(y0, by0), min(y0 + ky, by1)
        if ix0 >= ix1 or iy0 >= iy1:
            return False
        window = state[:, ix0 - x0 : ix1 - x0, iy0 - y0 : iy1 - y0]
        kernels = self._kernels[scanner][:, ix0 - bx0 : ix1 - bx0, iy0 - by0 : iy1 - by0]
        weight, first, second = (kernels * (window[0] + window[1])).sum(axis=(1, 2)).tolist()
        if weight < RADIO_PLACED_SHARE * float(state.sum()) or not weight > 0.0:
            return False
        learner = self.learner
        learner.add(at, loss_db, first / weight, second / weight)
        self._empty_at = ration(self._empty_at, at)
        self._learn_at = self._empty_at + 1.0 / RADIO_SAMPLES_PER_S
        if self._retune_at is None:
            self._retune_at = at + RADIO_RETUNE_S
        elif at >= self._retune_at:
            self._retune_at = at + RADIO_RETUNE_S
            moved = learner.step()
            sigma = self._sigma() if LEARN_SIGMA else None
            if moved or sigma is not None:
                self._radio.retune(learner.exponent, sigma)
                return True
        return False

    def _sigma(self) -> float | None:
        """The shadowing sigma to use when it should move (:data:`LEARN_SIGMA`), else None."""
        learner = self.learner
        n = learner.learned()
        if n is None or not isinstance(learner, _Learner):
            return None
        found = min(max(learner.em_sigma(n), SIGMA_MIN_DB), SIGMA_MAX_DB)
        if abs(found - self._radio.sigma_db) < SIGMA_DEADBAND_DB:
            return None
        return round(found / SIGMA_STEP_DB) * SIGMA_STEP_DB

    def guess(self) -> float | None:
        """The exponent learned so far, precise or not (None before a few samples; the model engine's learner:
        its precise estimate)."""
        learner = self.learner
        return learner.guess() if isinstance(learner, _Learner) else learner.learned()

    def report(self) -> dict[str, float | None]:
        """The exponent in use, the learned one, the shadowing sigma and the samples so far."""
        learner = self.learner
        found = {"exponent": learner.exponent, "learned": learner.learned(), "sigma_db": learner.sigma_db()}
        found["sigma_in_use_db"] = self._radio.sigma_db
        return {**found, "samples": float(learner.samples)}
