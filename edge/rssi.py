"""RSSI smoothing and the distance estimate: small pure pieces of the presence engine.

One :class:`RssiWindow` per (shopper, scanner) keeps the samples of the last
``PresenceConfig.rssi_window_s`` seconds and gives their trimmed mean: the sorted window with
:data:`~edge.constants.RSSI_TRIM_FRACTION` dropped at each end, then averaged. It is nearly as
efficient as the mean against Gaussian shadowing noise and ignores the deep fades (multipath
nulls, a hand over the phone) and spikes that a plain mean would follow. Dropouts need no special
case: samples age out, and a window that has been silent for ``window_s`` is empty (``None``), which
the engine reads as "not heard here" rather than as a weak signal.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from edge import constants as c

__all__ = ["RssiWindow", "distance_m", "trimmed_mean"]


def trimmed_mean(values: Iterable[float], trim_fraction: float) -> float:
    """Mean of ``values`` with ``trim_fraction`` of them dropped at each end (at least one value kept)."""
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        raise ValueError("no values")
    cut = int(n * trim_fraction)
    if cut * 2 >= n:
        cut = (n - 1) // 2
    kept = ordered[cut : n - cut]
    return sum(kept) / len(kept)


class RssiWindow:
    """The recent samples of one transmitter at one scanner and their robust average.

    ``add`` and ``value`` take the time of the sample or of the query (trace or wall-clock seconds);
    samples older than ``window_s`` before that time are dropped. At most ``max_samples`` are kept, so a
    phone advertising at 20 Hz costs no more than one at 8 Hz.
    """

    __slots__ = (
        "_ats",
        "_dirty",
        "_max_age_s",
        "_max_samples",
        "_min_samples",
        "_rssis",
        "_trim",
        "_value",
        "window_s",
    )

    def __init__(
        self,
        window_s: float,
        *,
        min_samples: int | None = None,
        max_age_s: float | None = None,
        max_samples: int | None = None,
        trim_fraction: float | None = None,
    ) -> None:
        min_samples = c.RSSI_WINDOW_MIN_SAMPLES if min_samples is None else min_samples
        max_age_s = window_s * c.RSSI_WINDOW_STRETCH if max_age_s is None else max_age_s
        max_samples = c.RSSI_WINDOW_MAX_SAMPLES if max_samples is None else max_samples
        trim_fraction = c.RSSI_TRIM_FRACTION if trim_fraction is None else trim_fraction
        if window_s <= 0:
            raise ValueError("window_s must be > 0")
        if max_age_s < window_s:
            raise ValueError("max_age_s must be >= window_s")
        if not 1 <= min_samples <= max_samples:
            raise ValueError("need 1 <= min_samples <= max_samples")
        if not 0 <= trim_fraction < 0.5:
            raise ValueError("trim_fraction must be in [0, 0.5)")
        self.window_s = window_s
        self._min_samples = min_samples
        self._max_age_s = max_age_s
        self._max_samples = max_samples
        self._trim = trim_fraction
        self._ats: deque[float] = deque()
        self._rssis: deque[float] = deque()
        self._value: float | None = None
        self._dirty = False

    def __len__(self) -> int:
        return len(self._ats)

    @property
    def last_at(self) -> float | None:
        """When the newest sample was taken, or ``None`` when the window is empty."""
        return self._ats[-1] if self._ats else None

    def _age(self, now: float) -> None:
        ats = self._ats
        horizon = now - self.window_s
        oldest = now - self._max_age_s
        keep = self._min_samples
        while ats and ats[0] <= horizon and (ats[0] <= oldest or len(ats) > keep):
            ats.popleft()
            self._rssis.popleft()
            self._dirty = True

    def add(self, at: float, rssi: float) -> float:
        """Add one sample and return the smoothed value including it."""
        self._age(at)
        self._ats.append(at)
        self._rssis.append(rssi)
        if len(self._ats) > self._max_samples:
            self._ats.popleft()
            self._rssis.popleft()
        value = trimmed_mean(self._rssis, self._trim)
        self._value = value
        self._dirty = False
        return value

    def value(self, now: float) -> float | None:
        """The smoothed RSSI at ``now``, or ``None`` if nothing was heard in the last ``window_s``."""
        self._age(now)
        if not self._ats:
            self._value = None
        elif self._dirty:
            self._value = trimmed_mean(self._rssis, self._trim)
            self._dirty = False
        return self._value


def distance_m(rssi: float, measured_power_1m_dbm: float, path_loss_exponent: float) -> float:
    """Distance estimate from the log-distance path-loss model: ``10 ** ((P1m - rssi) / (10 n))``.

    Indoors this is a rough figure (5 dB of shadowing is a factor of about 1.7 at n = 2.2): good
    for "at the shelf" versus "across the aisle", not for centimetres.
    """
    if path_loss_exponent <= 0:
        raise ValueError("path_loss_exponent must be > 0")
    return float(10.0 ** ((measured_power_1m_dbm - rssi) / (10.0 * path_loss_exponent)))
