"""The grid engine's per-scanner calibration offsets, learned online from the radio learner's samples.

A scanner whose receiver reads a few dB low (or high) -- a badly calibrated radio, an antenna behind a metal shelf
-- makes every one of its readings say "farther" (or "nearer") than the shopper is. The configured ``offset_db``
(``edge calibrate``) corrects it when someone measured it; :class:`OffsetLearner` learns it from the store's own
traffic, from the samples :class:`edge.presence_grid_learn.GridLearner` already draws for the path-loss exponent
(a reading of a shopper settled in a zone, 4.5-12 m from the scanner, its distance from the posterior before the
reading: chosen by place, never by the reading). A scanner's offset is its samples' mean departure from the fitted
path-loss line -- with the same care as the exponent's fit (docs/presence.md, "The grid learns each scanner's
offset (session 17)"):

- **truncated**: a sample is a reading that was heard, and a scanner reading low hears less far, so its quiet
  readings are missing and a plain mean would learn only part of its offset. Per scanner the offset ``o`` of the
  maximum likelihood of ``loss = 10 n E[log10 d] + o + N(0, sigma)`` heard only when ``loss`` is at most its limit
  (the truncated regression's model, at the exponent and sigma it fitted; the deep fades weighed out by it);
- **relative**: a scanner's offset is not separable from the advertisers' declared power nor from the path-loss
  line's level, so only a scanner's departure from the **median** of the scanners' estimates is learned (one
  scanner off in a store of 6-7 does not move the median; at least :data:`OFFSET_MIN_SCANNERS` precise ones);
- **a prior at 0**: the departure is shrunk towards 0 with the prior's sd :data:`OFFSET_PRIOR_DB` (a BLE receiver's
  RSSI calibration tolerance), bounded to :data:`OFFSET_BOUND_DB`;
- **used once sure**: its standard error clustered by the shoppers' visits (:data:`CLUSTERED`: one visit's samples
  share where the posterior put the shopper), from at least :data:`OFFSET_MIN_SHOPPERS` visits, under
  :data:`OFFSET_SE_DB`; applied in steps of :data:`OFFSET_STEP_DB` only once :data:`OFFSET_Z` standard errors
  beyond :data:`OFFSET_MIN_DB` from 0, on top of the configured ``offset_db`` (which stays: the learned offset is the
  departure left after it).

The model engine's self-calibration (an upper quantile of what a scanner hears of shoppers in its zone, no
place in it) learned 2-6 dB in stores where no scanner was off and hurt applied (docs/presence.md, "Self-calibration
hurt"): here a sample carries the shopper's distance, and the estimate is checked on stores with no scanner off.

Pure: arrays in, offsets out.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

Vector = npt.NDArray[np.float64]
Index = npt.NDArray[np.int64]

LEARN_OFFSETS = True
"""Learn (and report) each scanner's offset from the radio learner's samples (``--set LEARN_OFFSETS=0``: not)."""
APPLY_OFFSETS = True
"""Correct each scanner's readings by its learned offset, on top of its configured ``offset_db`` (``--set
APPLY_OFFSETS=0``: learned and reported, not applied)."""
OFFSET_PRIOR_DB = 3.0
"""The prior's standard deviation of a scanner's offset from the others (dB): the Bluetooth Core specification
asks an LE receiver's RSSI to be an absolute value in dBm to +-6 dB accuracy (HCI_Read_RSSI); taken as two
standard deviations, 3 dB. A scanner's estimate
from ``m`` samples at shadowing ``sigma`` is shrunk by ``tau^2 / (tau^2 + se^2)`` (at 5 dB and 100 samples: by 3 %)."""
OFFSET_BOUND_DB = 8.0
"""A learned offset is at most this (dB): beyond the specification's 6 dB a receiver is broken, not miscalibrated,
and a learned offset so large is more likely a geometry the radio model does not know (a wall, a shelf)."""
OFFSET_SE_DB = 1.0
"""An offset is learned (reported) once its standard error is at most this (dB): a fifth of the shadowing sigma,
reached after about 25 samples of the scanner at 5 dB (more when a few shoppers give them all: :data:`CLUSTERED`)."""
OFFSET_MIN_DB = 1.5
"""It is applied once it is surely (:data:`OFFSET_Z`) at least this far from 0 (dB): the devices' own calibration
(about 1 dB) and the readings' rounding are of that order, and the model engine's lesson was that small offsets
learned where nothing is off do harm, not good; and it is taken back once its estimate is under this."""
OFFSET_Z = 2.0
"""... by this many standard errors (a two-sided test at the conventional 5 %, as the exponent's RADIO_REJECT_Z): an
offset applied moves the posterior its way, and the samples after it then confirm it (in today's store an early
-2.2 +- 0.74 dB from 4 shoppers, applied, stayed at -2.5 for the rest of the run; not applied, it was not precise)."""
OFFSET_STEP_DB = 0.5
"""The offset in use moves in steps of this (dB), when the learned one is a step from it."""
OFFSET_MIN_SCANNERS = 3
"""The median that the offsets are relative to needs at least this many precise scanners: with two, one scanner off
would be split half-and-half between them."""
OFFSET_TAU_S = 600.0
"""The offsets' memory (s): a scanner's calibration does not change with the crowd, as the radio's exponent and
sigma may (RADIO_TAU_S, 120 s), and a scanner in a quiet corner gives few samples (the store's are rationed, 5 a
second): its samples are weighed by their age over this, as far back as the radio learner keeps them (FIT_SAMPLES)."""
CLUSTERED = True
"""The standard error is clustered by shopper's visit to a zone (a sandwich estimator): one visit's samples share the
error of where the posterior put the shopper, so they are not independent, and the likelihood's curvature alone
(as if they were) made offsets of 2-2.5 dB look 4-5 standard errors sure in stores where no scanner is off."""
OFFSET_MIN_SHOPPERS = 10
"""... from at least this many shoppers' visits to zones (a visit: its slot and entry time -- the cluster):
the clustered variance of ``m`` visits has ``m - 1`` degrees of freedom, and with 1-3 (the first minutes; a
scanner in a quiet corner) it is no estimate -- in the sweep a scanner sampled in 1-2 visits in a store with
nothing off was learned 3.5 dB off, 'sure' to 4 standard errors, applied, and its own samples then confirmed it
(an applied offset moves the posterior its way). At 10, the standard error is known within about 25 %."""
OFFSET_ITERATIONS = 12
"""Newton steps of the per-scanner fit (a concave one-parameter likelihood per scanner: a few suffice)."""

_Z = np.linspace(-12.0, 12.0, 4801)
_CDF = np.array([0.5 * math.erfc(-z / math.sqrt(2.0)) for z in _Z.tolist()])
_MILLS = np.array([math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi) for z in _Z.tolist()]) / _CDF


def _mills(z: Vector) -> Vector:
    """phi(z) / Phi(z) (tabulated; past the table's low end, -z)."""
    found: Vector = np.where(z < _Z[0], -z, np.interp(z, _Z, _MILLS))
    return found


def fit_offsets(
    weight: Vector, residual: Vector, room: Vector, scanner: Index, shopper: Index, count: int, sigma: float
) -> tuple[Vector, Vector]:
    """Per scanner (``count`` of them): the offset ``o`` (dB, in loss: a scanner reading low has a positive one) of
    the maximum likelihood of each sample's ``residual`` (its loss less the path-loss line) = ``o`` + N(0,
    ``sigma``), heard only while ``residual`` is at most ``room`` (its limit less the line), and its standard error
    (inf without samples) -- clustered by ``shopper`` (a visit's index: :data:`CLUSTERED`)."""
    total = np.bincount(scanner, weight, count)
    offset = np.bincount(scanner, weight * residual, count) / np.maximum(total, 1e-12)
    curve = total / (sigma * sigma)
    for _ in range(OFFSET_ITERATIONS):
        r = residual - offset[scanner]
        z = (room - offset[scanner]) / sigma
        lam = _mills(z)
        bend = lam * (z + lam)
        gradient = np.bincount(scanner, weight * (r / sigma + lam), count) / sigma
        curve = np.bincount(scanner, weight * (1.0 - bend), count) / (sigma * sigma)
        step = np.where(curve > 0.0, gradient / np.maximum(curve, 1e-12), 0.0)
        step = np.clip(step, -2.0, 2.0)
        offset = offset + step
        if float(np.abs(step).max(initial=0.0)) < 1e-3:
            break
    if CLUSTERED:  # the sandwich: the squared sum of each shopper's scores, over the curvature squared
        r = residual - offset[scanner]
        lam = _mills((room - offset[scanner]) / sigma)
        score = weight * (r / sigma + lam) / sigma
        _, group = np.unique(scanner * (int(shopper.max(initial=0)) + 1) + shopper, return_inverse=True)
        sums = np.bincount(group, score)
        owner = np.zeros(len(sums), np.int64)
        owner[group] = scanner
        spread = np.bincount(owner, sums * sums, count)
        shoppers = np.bincount(owner, minlength=count)
        curve = np.where(shoppers >= OFFSET_MIN_SHOPPERS, curve, 0.0)  # (too few shoppers: no estimate of its error)
        found: Vector = np.where(curve > 0.0, np.sqrt(spread) / np.maximum(curve, 1e-300), math.inf)
        # (never under the independent samples' own: a scanner heard in a single shopper's samples has no spread)
        return offset, np.maximum(found, np.where(curve > 0.0, 1.0 / np.sqrt(np.maximum(curve, 1e-300)), math.inf))
    se: Vector = np.where(curve > 0.0, 1.0 / np.sqrt(np.maximum(curve, 1e-300)), math.inf)
    return offset, se


class OffsetLearner:
    """The scanners' offsets: learned at each of the radio learner's looks (:meth:`look`), the ones in use (dB
    added to each scanner's readings on top of its configured offset) written into ``in_use`` (the engine's own
    list of per-scanner corrections, configured plus learned)."""

    __slots__ = ("applied", "configured", "in_use", "learned", "raw", "se")

    def __init__(self, configured: list[float], in_use: list[float]) -> None:
        self.configured = list(configured)
        """Per scanner: its configured ``offset_db``."""
        self.in_use = in_use
        """The engine's per-scanner correction (configured plus applied), updated in place."""
        count = len(configured)
        self.learned: list[float | None] = [None] * count
        """Per scanner: the learned offset relative to the median (dB added to its readings), None before precise."""
        self.se: list[float] = [math.inf] * count
        """Per scanner: the standard error of its estimate (dB; inf before a sample)."""
        self.raw: list[float] = [0.0] * count
        """Per scanner: its estimate before it is made relative (the level of the path-loss line included)."""
        self.applied = [0.0] * count
        """Per scanner: the learned offset in use (dB added to its readings on top of the configured one)."""

    def look(
        self,
        weight: Vector,
        loss: Vector,
        log_d: Vector,
        limit: Vector,
        scanner: Index,
        shopper: Index,
        exponent: float,
        sigma: float,
    ) -> bool:
        """The samples' ``loss`` and ``limit`` as read with the configured offsets only (the learned ones taken back
        out), their ``weight`` (time and fades), E[log10 d], scanner and shopper (its slot); the radio's fitted
        ``exponent`` and ``sigma``. True when an offset in use moved."""
        count = len(self.applied)
        if len(loss) == 0 or sigma <= 0.0:
            return False
        line = 10.0 * exponent * log_d
        offset, se = fit_offsets(weight, loss - line, limit - line, scanner, shopper, count, sigma)
        self.se = se.tolist()
        self.raw = offset.tolist()
        precise = se <= OFFSET_SE_DB
        if int(precise.sum()) < OFFSET_MIN_SCANNERS:
            return False
        centre = float(np.median(offset[precise]))
        moved = False
        for k in range(count):
            if not precise[k]:
                self.learned[k] = None
                continue
            relative = float(offset[k]) - centre
            shrunk = relative * OFFSET_PRIOR_DB**2 / (OFFSET_PRIOR_DB**2 + float(se[k]) ** 2)
            found = min(max(shrunk, -OFFSET_BOUND_DB), OFFSET_BOUND_DB)
            self.learned[k] = found
            if not APPLY_OFFSETS:
                continue
            if abs(found) - OFFSET_Z * float(se[k]) >= OFFSET_MIN_DB:  # surely at least OFFSET_MIN_DB off
                target = round(found / OFFSET_STEP_DB) * OFFSET_STEP_DB
            elif abs(found) < OFFSET_MIN_DB:  # surely not
                target = 0.0
            else:  # (unsure: as it is)
                target = self.applied[k]
            if abs(target - self.applied[k]) >= OFFSET_STEP_DB:
                self.applied[k] = target
                self.in_use[k] = self.configured[k] + target
                moved = True
        return moved
