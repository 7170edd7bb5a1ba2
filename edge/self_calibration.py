"""Self-calibration of scanner offsets from rostered traffic: a scanner that reads 4 dB hot is found out.

Every sample of a shopper the zone estimator is confident is in a zone (posterior >=
:data:`~edge.constants_model.MODEL_CAL_CONFIDENT_P`), heard by one of that zone's own scanners, is compared with
the RSSI the layout says that scanner hears on average from where the estimator places the shopper within
the zone (its sub-places, :attr:`edge.zone_layout.Layout.expected`); the difference (how much louder than
expected) feeds a streaming estimate of that scanner's :data:`~edge.constants_model.MODEL_CAL_QUANTILE` quantile (a
sign-step tracker, :data:`~edge.constants_model.MODEL_CAL_STEP_DB` per sample: O(1), no sample kept). A scanner's
learned offset is the median of all calibrated scanners' quantiles minus its own, bounded by
:data:`~edge.constants_model.MODEL_CAL_MAX_DB`. Only differences *between* scanners are learned (never the
absolute level, which the path-loss model would otherwise chase), and only once
:data:`~edge.constants_model.MODEL_CAL_MIN_SCANNERS` scanners each have
:data:`~edge.constants_model.MODEL_CAL_MIN_SAMPLES` samples. The samples are corrected for the configured
``offset_db`` and the advertiser's own power but not for the learned offset (no feedback loop).

Comparing with the expected level rather than with the other scanners' raw levels takes some of the
layout out (a zone with two scanners, a scanner mounted higher), but not where shoppers actually stand in
each zone: on the sweep's stores with no calibration error it still learns offsets of 2-4 dB. So the
estimator reports the offsets and, unless ``[presence] self_calibration = "apply"`` (edge.config), does not
apply them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from edge import constants_model as cm

__all__ = ["RadioLearner", "SelfCalibration"]

_REFRESH_EVERY = 64
"""Samples between two recomputations of the consensus (cheap, but not per sample)."""


class SelfCalibration:
    """Per-scanner quantile trackers and the offsets derived from them."""

    __slots__ = ("_count", "_quantile", "_since_refresh", "learned")

    def __init__(self, scanners: Iterable[str]) -> None:
        self._quantile: dict[str, float] = {}
        self._count: dict[str, int] = dict.fromkeys(scanners, 0)
        self.learned: dict[str, float] = {}
        """The offsets in use (dB to add to each scanner's readings); updated in place, never replaced."""
        self._since_refresh = 0

    def add(self, scanner: str, rssi: float) -> None:
        """One confident in-zone sample heard by ``scanner`` (corrected, but not by the learned offset)."""
        q = self._quantile.get(scanner)
        if q is None:
            self._quantile[scanner] = rssi
        elif rssi >= q:
            self._quantile[scanner] = q + cm.MODEL_CAL_STEP_DB * cm.MODEL_CAL_QUANTILE
        else:
            self._quantile[scanner] = q - cm.MODEL_CAL_STEP_DB * (1.0 - cm.MODEL_CAL_QUANTILE)
        self._count[scanner] = self._count.get(scanner, 0) + 1
        self._since_refresh += 1
        if self._since_refresh >= _REFRESH_EVERY:
            self._since_refresh = 0
            self._refresh()

    def _refresh(self) -> None:
        ready = sorted((q, s) for s, q in self._quantile.items() if self._count.get(s, 0) >= cm.MODEL_CAL_MIN_SAMPLES)
        if len(ready) < cm.MODEL_CAL_MIN_SCANNERS:
            self.learned.clear()
            return
        values = [q for q, _ in ready]
        mid = len(values) // 2
        median = values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2
        limit = cm.MODEL_CAL_MAX_DB
        self.learned.clear()
        self.learned.update({s: min(max(median - q, -limit), limit) for q, s in ready})

    def offset(self, scanner: str) -> float:
        """The learned correction for ``scanner`` (dB to add to its readings); 0 until calibrated."""
        return self.learned.get(scanner, 0.0)

    def offsets(self) -> dict[str, float]:
        return dict(self.learned)


# --- the store's path-loss exponent, learned online --------------------------------------------------------

RADIO_EXPONENT_MIN = 2.0
RADIO_EXPONENT_MAX = 4.0
"""The learned exponent is bounded to free space (2) .. dense shelving and people (4). Below 2 (a corridor's
waveguide, measured 1.6-1.8) the model's emission would let every scanner hear every zone: told the true 1.8
of the sweep's 8 m tiles under 2.5 m-high scanners, the model heard everyone everywhere (docs/presence.md).
The exponent *in use* is further never flatter than the configured one (:meth:`RadioLearner.step`): a flatter
table widens every scanner's likelihood, and on the sweep the model lost wherever it assumed a flatter radio
-- told the true 1.8, or learning 2.0-2.1 (0.1 low) under 2.5 m-high scanners over 4 m tiles (badness 3.1 ->
5.0) -- while a steeper store is where it gains (exponent 3.2: 5.0 -> 1.5)."""

RADIO_TAU_S = 120.0
"""The learner's memory (its sums decay with this time constant): slow to move -- a store's radio changes
with its stock and its crowd over hours, not in a shopper's visit -- yet a 10-minute sweep run learns it."""

RADIO_MIN_WEIGHT = 200.0
"""Samples (decayed weight) before the learned exponent is used: below this the configured one stands."""

RADIO_NEAR_M = (4.5, 12.0)
"""Only a scanner's samples from a zone's sub-places this far from it (on average, in log distance) are taken
(:attr:`edge.zone_layout.Layout.log_distance`; the selection is by place, never by the reading). Nearer, where
in the place the shopper stands decides the distance -- shoppers stop at the shelf, by its scanner, while the
place is metres wide -- so the samples would learn where people stand (a flat exponent), as the offsets did;
further, a quiet advert is often below the receiver's sensitivity and unheard, and what is heard is the loud
share (a flat exponent again). Between, the distance is mostly the distance between zones, which the layout
knows."""

RADIO_CLIP_DB = 15.0
"""A residual beyond this (2.5 sigma of shadowing) is clipped: deep fades and reflections are the outlier share
of the emission, not evidence of a steeper store."""

RADIO_STEP = 0.1
"""The learned exponent moves the model's tables in steps of this (0.1 is 1.5 dB at 5 m): each step rebuilds them."""

RADIO_DEADBAND = 0.15
"""The exponent in use moves only when the learned one is this far from it: the learner's noise on a store at the
configured exponent is about +-0.1 (sweep, 10 minutes), and a table rebuilt for noise only costs."""


class RadioLearner:
    """The path-loss exponent (and the shadowing sigma) by maximum likelihood over the model's own posterior.

    Each sample is one advert of a shopper the model places with confidence, heard by a positioned scanner:
    ``loss_db`` = the advertiser's power at 1 m less the reading (both corrected as the model corrects them),
    and, over where the posterior places the shopper, ``log_d`` = E[log10 d] and ``log_d2`` = E[(log10 d)^2]
    with ``d`` the 3-D (slant) distance from the scanner, its height above the phone included -- a scanner
    2.5 m up is never closer than 2.5 m, so a tile's centre and edge differ little, and the learner must not
    read that as a flat exponent. The M-step of EM for ``loss = 10 n log10 d + N(0, sigma)`` given those
    responsibilities is ``n = sum(loss log_d) / (10 sum(log_d2))`` over the samples, pooled over scanners and
    shoppers, with time-decayed sums (:data:`RADIO_TAU_S`), residuals clipped (:data:`RADIO_CLIP_DB`), bounded
    to :data:`RADIO_EXPONENT_MIN`..:data:`RADIO_EXPONENT_MAX`. Pure: the caller passes the time."""

    __slots__ = ("_at", "_spread", "_sw", "_sxx", "_sxy", "_syy", "configured", "exponent", "samples")

    def __init__(self, exponent: float) -> None:
        self.configured = exponent
        self.exponent = exponent
        """The exponent in use: the configured one until RADIO_MIN_WEIGHT samples, then the learned one."""
        self.samples = 0
        self._at: float | None = None
        self._sw = self._sxx = self._sxy = self._syy = self._spread = 0.0

    def add(self, at: float, loss_db: float, log_d: float, log_d2: float) -> None:
        """One sample (see the class docstring) at time ``at`` (seconds, the caller's clock)."""
        if log_d2 <= 0.0:
            return
        if self._at is not None and at > self._at:
            keep = math.exp(-(at - self._at) / RADIO_TAU_S)
            self._sw *= keep
            self._sxx *= keep
            self._sxy *= keep
            self._syy *= keep
            self._spread *= keep
        if self._at is None or at > self._at:
            self._at = at
        n = self.exponent
        residual = loss_db - 10.0 * n * log_d
        residual = min(max(residual, -RADIO_CLIP_DB), RADIO_CLIP_DB)
        loss_db = 10.0 * n * log_d + residual
        self._sw += 1.0
        self._sxx += log_d2
        self._sxy += loss_db * log_d
        self._syy += loss_db * loss_db
        self._spread += max(0.0, log_d2 - log_d * log_d)
        self.samples += 1

    def learned(self) -> float | None:
        """The maximum-likelihood exponent so far, bounded; None before RADIO_MIN_WEIGHT samples."""
        if self._sw < RADIO_MIN_WEIGHT or self._sxx <= 0.0:
            return None
        return min(max(self._sxy / (10.0 * self._sxx), RADIO_EXPONENT_MIN), RADIO_EXPONENT_MAX)

    def sigma_db(self) -> float | None:
        """The shadowing sigma left once the path loss at the learned exponent is taken out, less the spread of
        distances within the places (reported only; the model's MODEL_SIGMA_DB also covers device calibration)."""
        n = self.learned()
        if n is None:
            return None
        residual = self._syy - 20.0 * n * self._sxy + 100.0 * n * n * self._sxx  # sum of (loss - 10 n log d)^2
        return math.sqrt(max(0.0, residual - 100.0 * n * n * self._spread) / self._sw)

    def step(self) -> bool:
        """Move the exponent in use to the learned one (rounded to RADIO_STEP) when they differ by RADIO_DEADBAND;
        True when it moved (the caller rebuilds its tables)."""
        found = self.learned()
        if found is None:
            return False
        found = max(found, self.configured)  # never flatter than configured: see RADIO_EXPONENT_MIN
        if abs(found - self.exponent) < RADIO_DEADBAND:
            return False
        target = round(found / RADIO_STEP) * RADIO_STEP
        self.exponent = round(target, 3)
        return True
