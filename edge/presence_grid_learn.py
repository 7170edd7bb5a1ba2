"""The grid engine's radio, learned online: the store's path-loss exponent and shadowing sigma.

:class:`GridLearner` feeds the model engine's :class:`edge.self_calibration.RadioLearner` from the grid's own
posterior (EM's E-step over the window's cells in a scanner's RADIO_NEAR_M band) and retunes the
:class:`~edge.presence_grid_radio.GridRadio` when the exponent or the sigma in use should move. Samples are
rationed store-wide (:func:`ration`, a token bucket shared with :mod:`edge.presence_grid_wall`), chosen by place
(the posterior), never by the reading. The exponent is fitted as a truncated regression (:data:`TRUNCATED`: the
receiver hears nothing under its sensitivity) and used once precise or once the one in use is clearly wrong
(:data:`RADIO_REJECT_Z`). Pure: the caller passes the time.
"""

from __future__ import annotations

import math
from typing import Protocol

import numpy as np
import numpy.typing as npt

from edge.presence_grid_offsets import LEARN_OFFSETS as LEARN_OFFSETS
from edge.presence_grid_offsets import OFFSET_TAU_S, OffsetLearner
from edge.presence_grid_radio import FADE_DB, FADE_P, SENSITIVITY_DBM, GridRadio, Vector
from edge.self_calibration import (
    RADIO_CLIP_DB,
    RADIO_DEADBAND,
    RADIO_EXPONENT_MAX,
    RADIO_EXPONENT_MIN,
    RADIO_MIN_WEIGHT,
    RADIO_NEAR_M,
    RADIO_STEP,
    RADIO_TAU_S,
    RadioLearner,
)

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
(RADIO_TAU_S, 120 s) still holds up to 600 samples, three times the RADIO_MIN_WEIGHT it needs. At 2.5 (session 24)
the grid's CPU fell only 1.4-1.9 % while the 4 m tiles at 8 dB, where the cap binds, learned their sigma later and
made up to twice the spurious changes (cell 27: 6.9 -> 9.4 and 4.8 -> 9.7 per shopper-hour, seeds 1-3 and 4-6)."""
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
150 samples (the old rule's 200 are 0.045). There the learned exponent was then used after 207-328 s (seeds 1,
4, 5: 219, 328, 207 s); with :data:`RADIO_REJECT_Z` after 121 and 108 s (seeds 1, 4)."""
RADIO_REJECT_Z = 2.0
"""... or sooner, once the exponent in use is outside the estimate's 95 % interval (this many standard errors) by
more than RADIO_DEADBAND: a store far from the configured exponent (3.2 against 2.2) says so long before its
estimate is precise to half a step, and a far move needs less precision than a fine one (later looks refine it).
A two-sided test at the conventional 5 %, not a tuned figure. ``--set RADIO_REJECT_Z=1e9`` compares without."""
RADIO_SE_MIN_SAMPLES = 30.0
"""... and not before this much decayed weight: the residual sigma the standard error divides is itself an
estimate (about 13 % off at 30)."""


TRUNCATED = True
"""Fit the exponent as a **truncated** regression: a sample is a reading that was heard, and a scanner hears nothing
under its sensitivity (SENSITIVITY_DBM), so a sample's loss is at most its advert's declared power less the
sensitivity and the scanner's offset (its limit). In a steep store the far band's quiet readings are never heard: the
plain regression (the sums' M-step) learns a flatter exponent and a narrower sigma (exponent 3.2: 2.9-3.0 and 4.0-4.9
dB where the truth is 5.1). Each look (RADIO_RETUNE_S) maximises the likelihood of the kept samples (at most
:data:`FIT_SAMPLES`, weighed by the same RADIO_TAU_S decay), each one's density divided by its chance of being heard,
Phi((limit - 10 n E[log10 d]) / sigma), its deep fades taken out (:data:`FADE_ROUNDS`); without a sample near its
limit this is the plain regression. It learns 3.1-3.3 there (docs/presence.md, "The grid's worst families against
the oracle"): with :data:`RADIO_REJECT_Z`, 42 tuning cells x 3 seeds 72.50 -> 72.06 ([49] 1.47 -> 1.16).
``--set TRUNCATED=0`` compares without."""
FIT_SIGMA = False
"""Use the truncated fit's sigma too (5.0-5.5 dB in the sweep's 5 dB stores, 7.3-8.1 at 8: nearer the truth) -- not
by default: the filter does better with the plain M-step's narrower sigma (here at the fit's exponent): the fit's
made the tuning cells 72.33 but the held-out cells 18.83 -> 22.02 (4 m tiles with 1 Hz cards missed their entries)."""
FIT_SAMPLES = 2400
"""The samples kept for the truncated fit: four RADIO_TAU_S (120 s) at RADIO_SAMPLES_PER_S (5), past which a
sample's weight is under 2 %."""
FIT_TOLERANCE = 1e-3
"""The fit stops when a step moves 10 n and sigma (dB) by less than this together (a hundredth of RADIO_STEP)."""
FIT_ITERATIONS = 25
"""Newton steps of the truncated fit (it starts from the plain regression and converges in a few)."""
_Z = np.linspace(-12.0, 12.0, 4801)
_PHI = np.array([math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi) for z in _Z.tolist()])
_CDF = np.array([0.5 * math.erfc(-z / math.sqrt(2.0)) for z in _Z.tolist()])
_LOG_CDF = np.log(_CDF)
_MILLS = _PHI / _CDF
"""phi(z) / Phi(z) and log Phi(z) over z (tabulated: numpy has no erf); past the table's low end
phi / Phi is -z (asymptotically) and log Phi follows it."""


def _mills(z: Vector) -> Vector:
    found: Vector = np.where(z < _Z[0], -z, np.interp(z, _Z, _MILLS))
    return found


def _log_cdf(z: Vector) -> Vector:
    low = np.minimum(z, _Z[0])  # (the asymptote's branch only where it is taken)
    tail = -0.5 * low * low - np.log(-low) - 0.5 * math.log(2.0 * math.pi)
    found: Vector = np.where(z < _Z[0], tail, np.interp(z, _Z, _LOG_CDF))
    return found


def truncated_fit(
    weight: Vector, loss: Vector, log_d: Vector, log_d2: Vector, limit: Vector, exponent: float, sigma: float
) -> tuple[float, float]:
    """The exponent and sigma (dB) that maximise the samples' likelihood, each sample ``loss`` =
    10 n log10 d + N(0, sigma) known to be at most ``limit`` (heard: :data:`TRUNCATED`), ``log_d`` and ``log_d2``
    the posterior's E[log10 d] and E[(log10 d)^2], ``weight`` each sample's; from (``exponent``, ``sigma``)."""

    def value(b: float, s: float) -> float:
        q = loss * loss - 2.0 * b * loss * log_d + b * b * log_d2
        z = (limit - b * log_d) / s
        return float(weight @ (-0.5 * q / (s * s) - math.log(s) - _log_cdf(z)))

    def derivatives(b: float, s: float) -> tuple[float, float, Vector]:
        """The gradient and the Hessian in (10 n, sigma), with lambda = phi / Phi at z and lambda' = -lambda (z +
        lambda): one pass over the samples."""
        q = loss * loss - 2.0 * b * loss * log_d + b * b * log_d2
        r = loss * log_d - b * log_d2
        z = (limit - b * log_d) / s
        lam = _mills(z)
        bend = lam * (z + lam)
        gb = float(weight @ (r / (s * s) + lam * log_d / s))
        gs = float(weight @ (q / s**3 - 1.0 / s + lam * z / s))
        hbb = float(weight @ ((bend * log_d * log_d - log_d2) / (s * s)))
        hbs = float(weight @ (-2.0 * r / s**3 + log_d * (bend * z - lam) / (s * s)))
        hss = float(weight @ (-3.0 * q / s**4 + (1.0 + z * (bend * z - 2.0 * lam)) / (s * s)))
        return gb, gs, np.array([[hbb, hbs], [hbs, hss]])

    b, s = 10.0 * exponent, sigma
    now = value(b, s)
    for _ in range(FIT_ITERATIONS):
        gb, gs, hessian = derivatives(b, s)
        try:
            step = -np.linalg.solve(hessian, (gb, gs))
        except np.linalg.LinAlgError:
            break
        if step @ (gb, gs) <= 0.0:  # not an ascent direction: a small gradient step instead
            step = np.array((gb, gs)) / max(1.0, abs(gb) + abs(gs))
        scale = 1.0
        while scale > 1e-3:
            nb, ns = b + scale * float(step[0]), max(1.0, s + scale * float(step[1]))
            found = value(nb, ns)
            if found >= now:
                break
            scale *= 0.5
        else:
            break
        moved = abs(nb - b) + abs(ns - s)
        b, s, now = nb, ns, found
        if moved < FIT_TOLERANCE:
            break
    return b / 10.0, s


FADE_ROUNDS = 3
"""Rounds of EM over the deep fades (:func:`fade_share`) at the first look: each sample's chance of being a fade, then
the truncated fit of the rest (a fade is not shadowing, and the filter's density has its own share of them, FADE_P);
each later look does one round from the last look's fit (about 0.7 ms for 2,300 samples, Newton's steps with the
Hessian in closed form; with it by differences 1.3 ms, from the plain estimate 7 ms)."""


def fade_share(loss: Vector, log_d: Vector, exponent: float, sigma: float) -> Vector:
    """Per sample: the posterior chance that its loss is a deep fade (FADE_P of the readings, FADE_DB deeper, blurred
    by the shadowing), not shadowing -- the filter's own density (:func:`edge.presence_grid_radio._density`)."""
    r = loss - 10.0 * exponent * log_d
    low, high = FADE_DB
    fade = (np.interp((r - low) / sigma, _Z, _CDF) - np.interp((r - high) / sigma, _Z, _CDF)) / (high - low)
    shadow = np.exp(-0.5 * (r / sigma) ** 2) / (sigma * math.sqrt(2.0 * math.pi))
    both = FADE_P * fade + (1.0 - FADE_P) * shadow
    found: Vector = np.where(both > 0.0, FADE_P * fade / np.maximum(both, 1e-300), 0.0)
    return found


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
        if sw < RADIO_MIN_WEIGHT:
            se = math.sqrt(max(0.0, residual) / sw / sxx) / 10.0  # the slope's standard error
            if se > RADIO_SE and abs(n - self.exponent) < RADIO_DEADBAND + RADIO_REJECT_Z * se:
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


def visits(slot: Vector, since: Vector) -> npt.NDArray[np.int64]:
    """Per sample, its visit's index (a visit: a slot and its time of entry) in the order of (slot, entry): as
    ``np.unique`` of the (slot, entry) rows would number them, from two one-dimensional ones (a tenth of the time)."""
    _, entry = np.unique(since, return_inverse=True)
    key = slot.astype(np.int64) * (int(entry.max(initial=0)) + 1) + entry.reshape(-1)
    _, found = np.unique(key, return_inverse=True)
    index: npt.NDArray[np.int64] = found.reshape(-1).astype(np.int64)
    return index


def ration(empty_at: float, at: float) -> float:
    """A sample taken at ``at`` from a token bucket that was empty at ``empty_at`` (it fills at
    RADIO_SAMPLES_PER_S, up to RADIO_BURST_S of it): when it is empty now. The next sample may be taken
    1 / RADIO_SAMPLES_PER_S after that."""
    spacing = 1.0 / RADIO_SAMPLES_PER_S
    return max(empty_at, at - max(RADIO_BURST_S, spacing)) + spacing


class Placed(Protocol):
    """What the grid's learners (:class:`~edge.presence_grid_wall.WallLearner`,
    :class:`~edge.presence_grid_range.RangeLearner`) read of a grid engine's track."""

    slot: int
    state: Vector
    """Its layers over its window (2, cells along x, along y)."""
    origin: tuple[int, int]
    """The box cell at its window's corner."""


class InZone(Placed, Protocol):
    """What :class:`GridLearner` reads of a grid engine's track: its place, its zone and its advert's power."""

    zone: int
    """The zone it is in (-1: none)."""
    power: float
    """The declared power at 1 m of the advert being heard (dBm)."""
    since: float
    """When it entered the zone it is in (with its slot: the visit, a cluster of samples for the offsets)."""


class GridLearner:
    """Feeds :class:`~edge.self_calibration.RadioLearner` from the grid's posterior: per sample, E[log10 d] and
    E[(log10 d)^2] of the slant distance to the scanner that heard the reading, over the window's cells in the
    scanner's RADIO_NEAR_M band, weighted by the posterior after the reading (EM's E-step, as the model's over its
    sub-places). Pure: the caller passes the time."""

    __slots__ = ("_boxes", "_cx", "_cy", "_empty_at", "_end", "_fit", "_kept", "_kernels", "_near", "_offsets",
                 "_pairs", "_radio", "_retune_at", "_shares", "learner", "next_at", "offsets")  # fmt: skip

    def __init__(
        self, radio: GridRadio, exponent: float, offsets: list[float] | None = None, in_use: list[float] | None = None
    ) -> None:
        self._radio = radio
        self._offsets = in_use if in_use is not None else list(offsets or [0.0] * len(radio.band))
        """Per scanner: the offset (dB) added to its readings, configured plus learned (a sample's limit, TRUNCATED);
        the engine's own list when given (``in_use``), which :attr:`offsets` updates in place."""
        configured = list(offsets or [0.0] * len(radio.band))
        self.offsets = OffsetLearner(configured, self._offsets) if LEARN_OFFSETS and TRUNCATED else None
        """The scanners' offsets learned from the same samples (:mod:`edge.presence_grid_offsets`)."""
        self.learner: RadioLearner = _Learner(exponent) if RADIO_SE > 0.0 else RadioLearner(exponent)
        self.next_at = -math.inf
        """No sample is taken before this (RADIO_SAMPLES_PER_S, RADIO_BURST_S): the bucket holds a token (the caller
        need not call :meth:`sample` before it)."""
        self._empty_at = -math.inf
        """When the token bucket was (or would have been) empty: it holds (t - this) x RADIO_SAMPLES_PER_S tokens
        at time t, at most RADIO_BURST_S x RADIO_SAMPLES_PER_S."""
        self._retune_at: float | None = None
        self._kept: Vector = np.empty((2 * FIT_SAMPLES, 9))
        """The recent samples, rows ``[_end - FIT_SAMPLES, _end)`` (time, loss clipped as the learner clips it,
        E[log10 d], E[(log10 d)^2], limit, scanner, its learned offset in use then, the shopper's visit: slot and
        time in the zone) for the truncated fit (:data:`TRUNCATED`) and the offsets: twice as many rows as are kept,
        the newest moved to the top when the last is written, so that the kept ones are one slice, never copied per
        look."""
        self._end = 0
        self._fit: tuple[float, float] | None = None
        """The truncated fit's exponent and sigma at the last look (None before one)."""
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

    def sample(self, at: float, scanner: int, loss_db: float, track: InZone, declared: float | None = None) -> bool:
        """A reading ``loss_db`` dB under the declared power by ``scanner`` of ``track`` (after the reading's
        evidence): a sample when the rate allows, the (scanner, zone) pair is one, the centre of the mass at the
        last motion step is in the band (CENTRE_MARGIN_M) and the zone held RADIO_CONFIDENT_P of the mass at the
        last tick -- cheap checks first; True when the exponent in use moved (the caller drops its arrays).
        The sample's limit (:data:`TRUNCATED`): the largest loss the scanner could have heard, the advert's declared
        power (``declared``, or the track's) less the receiver's sensitivity and the scanner's offset."""
        zone = track.zone
        if zone < 0 or at < self.next_at or not self._pairs[scanner][zone]:
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
        limit = (track.power if declared is None else declared) - SENSITIVITY_DBM - self._offsets[scanner]
        return self.add(at, scanner, loss_db, track.state, origin, limit, (slot, track.since))

    def add(
        self,
        at: float,
        scanner: int,
        loss_db: float,
        state: Vector,
        origin: tuple[int, int],
        limit_db: float = math.inf,
        visit: tuple[int, float] = (0, 0.0),
    ) -> bool:
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
        weight, first, second = (kernels * window.sum(axis=0)).sum(axis=(1, 2)).tolist()
        if weight < RADIO_PLACED_SHARE * float(state.sum()) or not weight > 0.0:
            return False
        learner = self.learner
        log_d, log_d2 = first / weight, second / weight
        learner.add(at, loss_db, log_d, log_d2)
        if TRUNCATED:
            bound = 10.0 * learner.exponent * log_d
            learned = 0.0 if self.offsets is None else self.offsets.applied[scanner]
            clipped = min(max(loss_db, bound - RADIO_CLIP_DB), bound + RADIO_CLIP_DB)
            if self._end == len(self._kept):  # (the newest FIT_SAMPLES - 1 to the top: the next row follows them)
                self._kept[: FIT_SAMPLES - 1] = self._kept[self._end - FIT_SAMPLES + 1 : self._end]
                self._end = FIT_SAMPLES - 1
            self._kept[self._end] = (at, clipped, log_d, log_d2, limit_db, float(scanner), learned, *visit)
            self._end += 1
        self._empty_at = ration(self._empty_at, at)
        self.next_at = self._empty_at + 1.0 / RADIO_SAMPLES_PER_S
        if self._retune_at is None:
            self._retune_at = at + RADIO_RETUNE_S
        elif at >= self._retune_at:
            self._retune_at = at + RADIO_RETUNE_S
            before = list(self._offsets)
            moved = self._step(at) if TRUNCATED else learner.step()
            sigma = self._sigma() if LEARN_SIGMA else None
            if moved or sigma is not None:
                self._radio.retune(learner.exponent, sigma)
                return True
            return self._offsets != before  # (an offset applied moves its scanner's floor: the silences are rebuilt)
        return False

    def _step(self, at: float) -> bool:
        """The truncated fit (:data:`TRUNCATED`) once the plain estimate is precise enough (RADIO_SE): the exponent in
        use moved to it as ``RadioLearner.step`` moves it to the plain one; True when it moved."""
        learner = self.learner
        plain = learner.learned()
        if plain is None:
            return False
        kept = self._kept[max(0, self._end - FIT_SAMPLES) : self._end]
        weight = np.exp((kept[:, 0] - at) / RADIO_TAU_S)
        loss, log_d, log_d2, limit = kept[:, 1], kept[:, 2], kept[:, 3], kept[:, 4]
        offsets = self.offsets
        if offsets is not None:  # each as read with today's learned offsets (the one in use then taken back out)
            scanner = kept[:, 5].astype(np.int64)
            raw_loss, raw_limit = loss + kept[:, 6], limit + kept[:, 6]
            now = np.array(offsets.applied)[scanner]
            loss, limit = raw_loss - now, raw_limit - now
        if self._fit is None:  # from the plain estimate, a few rounds of EM over the fades
            sigma = learner.em_sigma(plain) if isinstance(learner, _Learner) else self._radio.sigma_db
            n, sigma, rounds = plain, max(sigma, 1.0), FADE_ROUNDS
        else:  # from the last look's fit: one round (EM goes on from look to look)
            (n, sigma), rounds = self._fit, 1
        for _ in range(max(1, rounds)):
            shadow = weight if FADE_ROUNDS == 0 else weight * (1.0 - fade_share(loss, log_d, n, sigma))
            n, sigma = truncated_fit(shadow, loss, log_d, log_d2, limit, n, sigma)
        self._fit = n, sigma
        if offsets is not None:  # (the readings are corrected from now on; the next look fits the exponent on them)
            memory = np.exp((kept[:, 0] - at) / OFFSET_TAU_S) * (shadow / np.maximum(weight, 1e-300))
            offsets.look(memory, raw_loss, log_d, raw_limit, scanner, visits(kept[:, 7], kept[:, 8]), n, sigma)
        found = max(min(max(n, RADIO_EXPONENT_MIN), RADIO_EXPONENT_MAX), learner.configured)
        if abs(found - learner.exponent) < RADIO_DEADBAND:
            return False
        learner.exponent = round(round(found / RADIO_STEP) * RADIO_STEP, 3)
        return True

    def _sigma(self) -> float | None:
        """The shadowing sigma to use when it should move (:data:`LEARN_SIGMA`), else None."""
        learner = self.learner
        n = learner.learned()
        if n is None or not isinstance(learner, _Learner):
            return None
        if TRUNCATED and self._fit is not None:
            sigma = self._fit[1] if FIT_SIGMA else learner.em_sigma(self._fit[0])
        else:
            sigma = learner.em_sigma(n)
        found = min(max(sigma, SIGMA_MIN_DB), SIGMA_MAX_DB)
        if abs(found - self._radio.sigma_db) < SIGMA_DEADBAND_DB:
            return None
        return round(found / SIGMA_STEP_DB) * SIGMA_STEP_DB

    def recall(self, exponent: float, sigma_db: float | None, offsets: dict[int, float]) -> None:
        """Start from a radio learned before (:mod:`edge.presence_grid_memory`): ``exponent`` and ``sigma_db`` (None:
        the sigma is not learned here) in use, and per scanner the learned offset applied (dB on top of its configured
        one). The statistics start afresh: the next looks move these as they would move a configured radio."""
        self.learner.exponent = exponent
        learned = self.offsets
        if learned is not None:
            for k, value in offsets.items():
                learned.applied[k] = value
                learned.in_use[k] = learned.configured[k] + value
        self._radio.retune(exponent, sigma_db)

    def guess(self) -> float | None:
        """The exponent learned so far, precise or not (None before a few samples; the model engine's learner:
        its precise estimate)."""
        learner = self.learner
        return learner.guess() if isinstance(learner, _Learner) else learner.learned()

    def report(self) -> dict[str, float | None]:
        """The exponent in use, the learned one, the shadowing sigma and the samples so far."""
        learner = self.learner
        found = {"exponent": learner.exponent, "learned": learner.learned(), "sigma_db": learner.sigma_db()}
        if self._fit is not None:
            found["fit_exponent"], found["fit_sigma_db"] = self._fit
        found["sigma_in_use_db"] = self._radio.sigma_db
        return {**found, "samples": float(learner.samples)}
