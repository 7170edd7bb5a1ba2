"""Self-calibration of scanner offsets from rostered traffic: a scanner that reads 4 dB hot is found out.

Every sample of a shopper the zone estimator is confident is in a zone (posterior >=
:data:`~edge.constants.MODEL_CAL_CONFIDENT_P`), heard by one of that zone's own scanners, is compared with
the RSSI the layout says that scanner hears on average from where the estimator places the shopper within
the zone (its sub-places, :attr:`edge.zone_layout.Layout.expected`); the difference (how much louder than
expected) feeds a streaming estimate of that scanner's :data:`~edge.constants.MODEL_CAL_QUANTILE` quantile (a
sign-step tracker, :data:`~edge.constants.MODEL_CAL_STEP_DB` per sample: O(1), no sample kept). A scanner's
learned offset is the median of all calibrated scanners' quantiles minus its own, bounded by
:data:`~edge.constants.MODEL_CAL_MAX_DB`. Only differences *between* scanners are learned (never the
absolute level, which the path-loss model would otherwise chase), and only once
:data:`~edge.constants.MODEL_CAL_MIN_SCANNERS` scanners each have
:data:`~edge.constants.MODEL_CAL_MIN_SAMPLES` samples. The samples are corrected for the configured
``offset_db`` and the advertiser's own power but not for the learned offset (no feedback loop).

Comparing with the expected level rather than with the other scanners' raw levels takes some of the
layout out (a zone with two scanners, a scanner mounted higher), but not where shoppers actually stand in
each zone: on the sweep's stores with no calibration error it still learns offsets of 2-4 dB. So the
estimator reports the offsets and, unless ``[presence] self_calibration = "apply"`` (edge.config), does not
apply them.
"""

from __future__ import annotations

from collections.abc import Iterable

from edge import constants as c

__all__ = ["SelfCalibration"]

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
            self._quantile[scanner] = q + c.MODEL_CAL_STEP_DB * c.MODEL_CAL_QUANTILE
        else:
            self._quantile[scanner] = q - c.MODEL_CAL_STEP_DB * (1.0 - c.MODEL_CAL_QUANTILE)
        self._count[scanner] = self._count.get(scanner, 0) + 1
        self._since_refresh += 1
        if self._since_refresh >= _REFRESH_EVERY:
            self._since_refresh = 0
            self._refresh()

    def _refresh(self) -> None:
        ready = sorted((q, s) for s, q in self._quantile.items() if self._count.get(s, 0) >= c.MODEL_CAL_MIN_SAMPLES)
        if len(ready) < c.MODEL_CAL_MIN_SCANNERS:
            self.learned.clear()
            return
        values = [q for q, _ in ready]
        mid = len(values) // 2
        median = values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2
        limit = c.MODEL_CAL_MAX_DB
        self.learned.clear()
        self.learned.update({s: min(max(median - q, -limit), limit) for q, s in ready})

    def offset(self, scanner: str) -> float:
        """The learned correction for ``scanner`` (dB to add to its readings); 0 until calibrated."""
        return self.learned.get(scanner, 0.0)

    def offsets(self) -> dict[str, float]:
        return dict(self.learned)
