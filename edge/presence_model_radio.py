"""The model engine's radio learning: the store's path-loss exponent, learned online from its own shoppers.

:class:`RadioTuning` is what :class:`~edge.presence_model.ZoneEstimator` keeps of it: when a shopper the model
places in a zone with confidence (:data:`~edge.constants_model.MODEL_CAL_CONFIDENT_P`) is heard by a positioned
scanner, the distance moments given the reading, over the zone's sub-places in the scanner's band weighted by the
posterior (EM's E-step), feed :class:`~edge.self_calibration.RadioLearner` (the M-step), at most
RADIO_SAMPLES_PER_S a second; every RADIO_RETUNE_S it says whether the exponent moved a step, and the estimator
rebuilds its emission tables for it. Pure: the caller passes the time.
"""

from __future__ import annotations

import math

from edge import constants_model as cm
from edge.self_calibration import RadioLearner

__all__ = ["LEARN_RADIO", "RadioTuning"]

LEARN_RADIO = True
"""Learn the store's path-loss exponent from rostered traffic (:class:`edge.self_calibration.RadioLearner`) and
rebuild the emission tables when it moves; ``presence_model_tune.py --set LEARN_RADIO=0`` compares without.
Only scanners with a position (``[[scanners]]``) give samples: without a layout there is no distance."""

RADIO_RETUNE_S = 30.0
"""The learned exponent is looked at (and the tables rebuilt when it moved a step) at most this often: a rebuild
costs 0.1-0.2 s of CPU on a store of 10-20 scanners."""

RADIO_SAMPLES_PER_S = 25.0
"""At most this many radio samples a second, store-wide (chosen by time, never by the reading, so no bias): a
spot store gives about 5 a second anyway, tiled aisles 50; the learner's memory (RADIO_TAU_S, 120 s) then
holds up to 1,200, and the hot path pays for the learner on a few sightings a second only."""

RADIO_PLACED_SHARE = 0.5
"""A sample is taken when at least this share of the zone's mass is on sub-places within the scanner's
RADIO_NEAR_M band (only those are weighed): a disc zone's far side may be in the band and its near side not."""


class RadioTuning:
    """The radio learner, its sampling ration and its retune cadence (one per estimator)."""

    __slots__ = ("learn_at", "learner", "retune_at")

    def __init__(self, exponent: float) -> None:
        self.learner = RadioLearner(exponent)
        self.retune_at: float | None = None
        """When the learned exponent is next looked at (set by the first sample)."""
        self.learn_at = -math.inf
        """No radio sample is taken before this (RADIO_SAMPLES_PER_S)."""

    def sample(
        self,
        p: list[float],
        lo: int,
        hi: int,
        moments: tuple[tuple[int, tuple[tuple[float, float], ...]], ...],
        index: int,
        loss_db: float,
        at: float,
        total: float,
    ) -> float | None:
        """A radio sample from a shopper whose zone's sub-places are ``p[lo:hi]`` (``p`` sums to ``total``), if the
        model places them there with confidence: the distance moments given the reading (table row ``index``),
        over the sub-places in the scanner's band (``moments``) weighted by the posterior after this advert (EM's
        E-step). Returns the new exponent when the tables are due to be rebuilt for it, else None."""
        mass = sum(p[lo:hi])
        if mass < cm.MODEL_CAL_CONFIDENT_P * total:
            return None
        first = second = weight = 0.0
        for i, m in moments:
            w = p[i]
            first += w * m[index][0]
            second += w * m[index][1]
            weight += w
        if weight < RADIO_PLACED_SHARE * mass:
            return None
        radio = self.learner
        radio.add(at, loss_db, first / weight, second / weight)
        self.learn_at = at + 1.0 / RADIO_SAMPLES_PER_S
        if self.retune_at is None:
            self.retune_at = at + RADIO_RETUNE_S
        elif at >= self.retune_at:
            self.retune_at = at + RADIO_RETUNE_S
            if radio.step():
                return radio.exponent
        return None
