"""RSSI smoothing and the distance estimate: small pure pieces of the presence engine.

One :class:`RssiWindow` per (shopper, scanner) keeps the samples of the last ``window_s`` seconds
(``PresenceConfig.rssi_window_s``) and gives the trimmed mean of the whole window or of its most
recent part: the sorted samples with :data:`~edge.constants.RSSI_TRIM_FRACTION` dropped at each end,
then averaged. That is nearly as efficient as the mean against Gaussian shadowing noise and ignores
the deep fades (multipath nulls, a hand over the phone) that a plain mean would follow. Dropouts
need no special case: samples age out, and a window with nothing recent is ``None`` ("not heard
here"), never mistaken for a weak signal.
"""

from __future__ import annotations

from collections import deque
from itertools import islice

from edge import constants as c

__all__ = ["RssiWindow", "distance_m", "trimmed_mean"]


def trimmed_mean(values: list[float], trim_fraction: float, *, robust: bool = False) -> float:
    """Mean of ``values`` without ``trim_fraction`` of them at each end (one value is always kept).

    ``robust`` drops at least the extreme ones when there are three or more (three samples give
    their median): one deep fade among few samples must not decide alone.
    """
    n = len(values)
    if n == 0:
        raise ValueError("no values")
    ordered = sorted(values)
    cut = int(n * trim_fraction)
    if robust and n >= 3:
        cut = max(cut, 1)
    if cut * 2 >= n:
        cut = (n - 1) // 2
    if cut:
        ordered = ordered[cut : n - cut]
    return sum(ordered) / len(ordered)


class RssiWindow:
    """The recent samples of one transmitter at one scanner, and their robust average.

    Times are trace or wall-clock seconds; samples older than ``window_s`` are dropped, and at most
    ``max_samples`` are kept, so a phone advertising at 20 Hz costs no more than one at 8 Hz.
    """

    __slots__ = ("_ats", "_max_samples", "_rssis", "_trim", "window_s")

    def __init__(
        self,
        window_s: float,
        *,
        max_samples: int = c.RSSI_WINDOW_MAX_SAMPLES,
        trim_fraction: float = c.RSSI_TRIM_FRACTION,
    ) -> None:
        if window_s <= 0:
            raise ValueError("window_s must be > 0")
        if max_samples < 1:
            raise ValueError("max_samples must be >= 1")
        if not 0 <= trim_fraction < 0.5:
            raise ValueError("trim_fraction must be in [0, 0.5)")
        self.window_s = window_s
        self._max_samples = max_samples
        self._trim = trim_fraction
        self._ats: deque[float] = deque()
        self._rssis: deque[float] = deque()

    def __len__(self) -> int:
        return len(self._ats)

    @property
    def last_at(self) -> float | None:
        """When the newest sample was taken, or ``None`` when the window is empty."""
        return self._ats[-1] if self._ats else None

    def _age(self, now: float) -> None:
        horizon = now - self.window_s
        ats = self._ats
        while ats and ats[0] <= horizon:
            ats.popleft()
            self._rssis.popleft()

    def add(self, at: float, rssi: float) -> None:
        """Add one sample taken at ``at``."""
        self._age(at)
        self._ats.append(at)
        self._rssis.append(rssi)
        if len(self._ats) > self._max_samples:
            self._ats.popleft()
            self._rssis.popleft()

    def value(
        self,
        now: float,
        span_s: float | None = None,
        *,
        min_samples: int = 1,
        at_least: int = 0,
        robust: bool = False,
    ) -> float | None:
        """Trimmed mean (see :func:`trimmed_mean`) of the samples of the last ``span_s`` (default: the
        whole window) before ``now``; ``None`` if there are fewer than ``min_samples`` (at least one).

        ``at_least``: when the span holds fewer samples than that, reach further back (within the
        window) for the last ``at_least`` samples -- a slow advertiser gets as many samples behind
        a decision as a fast one, at the cost of a longer look back.
        """
        return self.level(now, span_s, min_samples=min_samples, at_least=at_least, robust=robust)[0]

    def level(
        self,
        now: float,
        span_s: float | None = None,
        *,
        min_samples: int = 1,
        at_least: int = 0,
        robust: bool = False,
    ) -> tuple[float | None, int]:
        """:meth:`value` and the number of samples it averaged (0 with ``None``)."""
        self._age(now)
        ats = self._ats
        n = len(ats)
        if n == 0 or n < min_samples:
            return None, 0
        first = 0
        if span_s is not None and span_s < self.window_s:
            horizon = now - span_s
            first = n
            while first > 0 and ats[first - 1] > horizon:
                first -= 1
            first = min(first, max(0, n - at_least))
        used = n - first
        if used == 0 or used < min_samples:
            return None, 0
        values = list(self._rssis) if first == 0 else list(islice(self._rssis, first, n))
        return trimmed_mean(values, self._trim, robust=robust), used


def distance_m(rssi: float, measured_power_1m_dbm: float, path_loss_exponent: float) -> float:
    """Distance estimate from the log-distance path-loss model: ``10 ** ((P1m - rssi) / (10 n))``.

    Indoors this is a rough figure (5 dB of shadowing is a factor of about 1.7 at n = 2.2): good
    for "at the shelf" versus "across the aisle", not for centimetres.
    """
    if path_loss_exponent <= 0:
        raise ValueError("path_loss_exponent must be > 0")
    return float(10.0 ** ((measured_power_1m_dbm - rssi) / (10.0 * path_loss_exponent)))
