"""The grid engine's per-shopper device offset: how much louder or quieter a shopper's phone or card is than its
adverts declare, learned online from that shopper's own readings.

Every advert declares its device's power at 1 m (iBeacon's measured power, Eddystone's ranging data) and the engine
reads each reading as that power less the path's loss. A card is calibrated at the factory, but an app declares what
its developers measured on a few phones, while phone models' radios and antennas differ by several dB (Android's
beacon libraries keep per-model distance tables for it; ESPresense asks its users to calibrate each device's RSSI at
1 m by hand). A phone 5 dB louder than it says reads as nearer every scanner than it is, one quieter as farther:
the grid placed the sweep's shoppers worse the more their devices differ (``benchmarks/presence_sweep.py
--device-sigma-db``; docs/presence.md, "The grid learns each shopper's device (session 44)").

Per track, :class:`Device`: from adverts sampled by time (at most one per :data:`DEVICE_SAMPLE_S`, the first after
it, never chosen by its level) and heard by at least :data:`DEVICE_MIN_READINGS` scanners, each reading's departure
from what the posterior before the advert expects of that scanner (its mean residual over the track's window),
weighed by the inverse of the shadowing's variance plus the posterior's spread of that mean (a shopper the engine
places only roughly says little), clipped :data:`DEVICE_CLIP_SD` predictive standard deviations from the estimate so
far (a deep fade is not a quiet phone), and only where the scanner would have heard the reading even
:data:`DEVICE_HEARD_SD` standard deviations quieter (truncation: a scanner at the edge of its hearing hears the loud
readings only). The offset is the weighted mean of the departures shrunk towards 0 by a prior of sd
:data:`DEVICE_PRIOR_DB`; it applies in whole dB (the caches key powers so), once its standard error is at most
:data:`DEVICE_MAX_SE_DB` and it is :data:`DEVICE_MIN_DB` or more from 0, to the track's power -- readings and
silences alike -- from the shopper's next advert. It starts again when the exponent in use moves (its departures
were from the old radio), and the store's radio learners read what the adverts declared, never the offset (two
learners of one level would feed each other).

A common offset of every scanner's readings is told apart from a place only where several scanners at different
distances hear the shopper: a loud phone is learned to within a dB, a quiet one by about half (the posterior, placing
it farther from every scanner, expects it quieter too). Pure: arrays in, an offset out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Vector = npt.NDArray[np.float64]

LEARN_DEVICES = True
"""Learn and apply each shopper's device offset (``--set LEARN_DEVICES=0``: every device as loud as it declares)."""
DEVICE_PRIOR_DB = 4.0
"""The prior's standard deviation of a device's real power at 1 m from the power its adverts declare (dB): phone
models differ by up to about 8 dB at one declared power (two standard deviations)."""
DEVICE_BOUND_DB = 12.0
"""An offset is at most this (dB): beyond it the device is broken or the store's radio is not the model's."""
DEVICE_SAMPLE_S = 1.0
"""At most one advert sampled per shopper per this (s): a 1 Hz card's every advert, a 4-10 Hz phone's every 4th-10th
-- readings close in time share the posterior's error of the shopper's place, so more of them would not tell much
more, and each costs four operations over the shopper's window per reading (every 0.5 s: the sweep's grid CPU
+25 %)."""
DEVICE_CLIP_SD = 2.5
"""A departure is clipped this many predictive standard deviations from the estimate so far: the 5 % of readings in a
deep fade (10-25 dB) would otherwise pull a phone's offset down by a dB."""
DEVICE_HEARD_SD = 2.0
"""A reading is sampled only where the scanner would hear the shopper's advert this many standard deviations quieter
than expected (above its receiver's floor): under it the quiet readings go unheard and the mean of the heard ones is
too loud (2.3 % of them lost at 2)."""
DEVICE_MIN_READINGS = 3
"""An advert sampled counts only if at least this many scanners heard it: a reading's departure is the offset plus
the error of the place the posterior gives, which the offset moves. Scanners at different distances tell an offset
(every reading too loud or too quiet) from a place (one too loud, the others too quiet) only as far as the posterior
is where the readings say: with two, a shopper standing by one scanner, the posterior pulled 2 m off by the others'
silences, drifted round that loop to a 4-5 dB offset and out of their zone (tests/test_presence_grid_silences.py,
seed 7); with three, none of its ten seeds did."""
DEVICE_MAX_SE_DB = 1.5
"""An offset applies once its standard error is at most this (dB; about a dozen readings: four or five adverts of
three scanners, as many seconds): a few loud readings are a shopper near a scanner as likely as a loud phone."""
DEVICE_MIN_DB = 2.0
"""...and only where it is at least this far from 0 (dB): a device within 2 dB of what it declares is left as it says
(its offset's error would cost as much as it corrects, and each step moves the shopper's posterior: in a first
version, which sampled one reading at a time and applied every offset, the sweep's shoppers, whose devices are within
1 dB of what they declare, made 1-2 more spurious changes an hour, 86.77 -> 97.04 capped badness; with this rule and
:data:`DEVICE_MAX_SE_DB` 87.68)."""


@dataclass(slots=True)
class Device:
    """One shopper's device offset: the weighted sums of its samples and the offset applied (whole dB)."""

    total: float = 0.0
    """Sum of weight x departure (dB / dB^2)."""
    weight: float = 0.0
    """Sum of the samples' weights (1 / dB^2)."""
    applied: int = 0
    """The offset added to the declared power (dB), from the shopper's next advert."""
    next_at: float = -math.inf
    """The earliest time of the next sampled advert."""
    due: bool = False
    """The advert being heard is sampled: each of its readings."""
    mass: Vector | None = None
    """The sampled advert's posterior before it (its layers summed, normalised), taken at its first reading."""
    pending: tuple[float, float, int] = (0.0, 0.0, 0)
    """The sampled advert's weighted departures so far, their weights and its readings sampled: added once the advert
    is over, if at least :data:`DEVICE_MIN_READINGS` of its readings were."""

    @property
    def estimate(self) -> float:
        """The posterior mean of the offset (dB): the samples' weighted mean shrunk towards 0."""
        return self.total / (self.weight + 1.0 / (DEVICE_PRIOR_DB * DEVICE_PRIOR_DB))

    @property
    def se(self) -> float:
        """The offset's posterior standard deviation (dB)."""
        return 1.0 / math.sqrt(self.weight + 1.0 / (DEVICE_PRIOR_DB * DEVICE_PRIOR_DB))

    def restart(self) -> None:
        """Forget the samples and the offset (the store's radio in use moved: they were departures from the old one)."""
        self.total = self.weight = 0.0
        self.applied = 0
        self.pending = (0.0, 0.0, 0)
        self.mass = None

    def advert(self, at: float) -> None:
        """The shopper's next advert, heard at ``at``: sampled (all its readings) if :data:`DEVICE_SAMPLE_S` has passed
        since the last one sampled. The advert before, if sampled, is added now (:attr:`pending`)."""
        self.mass = None
        total, weight, readings = self.pending
        if readings:
            self.pending = (0.0, 0.0, 0)
            if readings >= DEVICE_MIN_READINGS:
                self._add(total, weight)
        self.due = at >= self.next_at
        if self.due:
            self.next_at = at + DEVICE_SAMPLE_S

    def sample(self, departure_of: float, means: Vector, state: Vector, sigma_db: float, headroom_db: float) -> None:
        """A reading of the advert sampled, ``departure_of`` dB over the declared power (its calibrated level less the
        declared power), by a scanner whose mean residual over the track's window is ``means`` (cells x cells), with the
        track's posterior ``state`` (its layers; the one before the advert's first reading is kept for the rest) and
        the shadowing ``sigma_db``. ``headroom_db``: how far the advert's power as applied stands above the scanner's
        receiver floor."""
        mass = self.mass
        if mass is None:  # (the advert's first reading: the posterior before the advert, for each of its readings)
            mass = state.sum(axis=0)
            total = float(mass.sum())
            if not total > 0.0:
                return
            mass = self.mass = mass / total
        weighted = mass * means
        mean = float(weighted.sum())
        if headroom_db + mean - DEVICE_HEARD_SD * sigma_db < 0.0:
            return  # (near the edge of its hearing: the quiet ones go unheard)
        spread = max(0.0, float((weighted * means).sum()) - mean * mean)
        variance = sigma_db * sigma_db + spread
        sd = math.sqrt(variance)
        estimate = self.estimate
        departure = min(max(departure_of - mean, estimate - DEVICE_CLIP_SD * sd), estimate + DEVICE_CLIP_SD * sd)
        total, weight, readings = self.pending
        self.pending = (total + departure / variance, weight + 1.0 / variance, readings + 1)

    def _add(self, total: float, weight: float) -> None:
        """A sampled advert's weighted departures and weights into the estimate; the offset applied follows it."""
        self.total += total
        self.weight += weight
        if self.se > DEVICE_MAX_SE_DB:
            return
        estimate = self.estimate
        self.applied = (
            0 if abs(estimate) < DEVICE_MIN_DB else round(max(-DEVICE_BOUND_DB, min(DEVICE_BOUND_DB, estimate)))
        )
