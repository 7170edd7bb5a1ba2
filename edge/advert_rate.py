"""How often one advertiser is heard: its advert interval and loss, learned online, and what silence means.

A phone advertising at 10 Hz that goes quiet for 2 s has missed twenty adverts in a row: news. A loyalty
card at 1 Hz losing a quarter of its adverts is often silent for 2-3 s: no news at all. The zone
estimator (:mod:`edge.presence_model`) asks :class:`AdvertRate` how unlikely the current silence would be
for a shopper still standing in the zone, and this answer comes from the advertiser's own history.

- **interval**: the gaps between distinct adverts (sightings closer together than
  :data:`~edge.constants_model.MODEL_SAME_ADVERT_S` are one advert heard by several scanners) are whole
  multiples of the advert interval plus a little jitter. The estimate follows a shorter gap quickly and a
  longer one slowly (:data:`~edge.constants_model.MODEL_INTERVAL_RISE`), so it settles on the interval itself,
  not on the mean gap, and still follows a phone that changes its advertising mode.
- **loss**: the mean gap of an advertiser losing a fraction ``q`` of its adverts is ``interval / (1 - q)``,
  so ``q = 1 - interval / mean gap`` (bounded to [:data:`~edge.constants_model.MODEL_LOSS_MIN`,
  :data:`~edge.constants_model.MODEL_LOSS_MAX`]).
- **silence**: after a gap ``g`` the adverts missed in a row are ``(g - interval) / interval``; for a
  shopper in the zone that has likelihood ``q ** missed``, never below
  :data:`~edge.constants_model.MODEL_SILENCE_FLOOR` (the advertiser may pause: doze, a call, a pocket) for
  up to :data:`PAUSE_MAX_S`, falling again beyond. For a
  shopper outside the likelihood is 1 (they may be out of range), so silence only ever lowers a zone's
  probability.
"""

from __future__ import annotations

import math

from edge import constants_model as cm

__all__ = ["AdvertRate"]

PAUSE_MAX_S = 10.0
"""The floor of the silence likelihood (a doze, a call, a pocket) covers pauses up to this long (phones
pause advertising for 2-10 s); a longer silence of a shopper standing in a zone grows less likely again,
by e per this much more, so a phone that stopped in a zone is let go in 20-30 s, not only by the prior
leak of MODEL_ZONE_LEAVE_RATE_HZ."""


class AdvertRate:
    """The advert interval and loss of one advertiser, from the times it was heard."""

    __slots__ = ("interval_s", "last_at", "mean_gap_s", "samples")

    def __init__(self, at: float) -> None:
        self.interval_s = cm.MODEL_INTERVAL_PRIOR_S
        self.mean_gap_s = cm.MODEL_INTERVAL_PRIOR_S / (1.0 - cm.MODEL_LOSS_PRIOR)
        self.last_at = at
        self.samples = 0

    def heard(self, at: float) -> None:
        """One sighting at ``at`` (any scanner); repeats of the same advert are ignored."""
        gap = at - self.last_at
        if gap <= min(cm.MODEL_SAME_ADVERT_S, 0.5 * self.interval_s):
            return
        self.last_at = at
        if gap > cm.MODEL_GAP_MAX_S:  # a trip away, not a run of losses: says nothing about the radio
            return
        self.samples += 1
        interval = self.interval_s
        if gap < interval:
            self.interval_s = interval + cm.MODEL_INTERVAL_FALL * (gap - interval)
        else:
            self.interval_s = interval + cm.MODEL_INTERVAL_RISE * (gap - interval)
        self.mean_gap_s += cm.MODEL_MEAN_GAP_WEIGHT * (gap - self.mean_gap_s)

    @property
    def loss(self) -> float:
        """Fraction of adverts lost (no scanner heard them), bounded."""
        q = 1.0 - self.interval_s / max(self.mean_gap_s, 1e-6)
        return min(max(q, cm.MODEL_LOSS_MIN), cm.MODEL_LOSS_MAX)

    def silence_likelihood(self, now: float) -> float:
        """P(nothing heard since the last advert | still in the zone), in (0, 1]; 1 within one interval."""
        interval = self.interval_s
        missed = (now - self.last_at - interval * cm.MODEL_SILENCE_SLACK) / interval
        if missed <= 0.0:
            return 1.0
        likelihood = max(math.exp(missed * math.log(self.loss)), cm.MODEL_SILENCE_FLOOR)
        beyond = now - self.last_at - PAUSE_MAX_S
        return likelihood * math.exp(-beyond / PAUSE_MAX_S) if beyond > 0.0 else likelihood
