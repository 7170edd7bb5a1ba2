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

from bisect import bisect_right

from edge import constants as c

__all__ = ["RssiWindow", "distance_m", "trimmed_mean"]

_COMPACT_AT = 32
"""Dropped samples an :class:`RssiWindow` lets pile up before it deletes them from its lists: one
slice deletion per 32 samples instead of a deque pop per sample (32 floats of a window of at most
``RSSI_WINDOW_MAX_SAMPLES`` are a few hundred bytes)."""


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

    Cheap per sample (the presence engine adds one and reads one or two levels per rostered
    advert): the samples sit in two plain lists behind a start index (aged or surplus samples move
    the index; the lists are compacted now and then), a span's first sample is found by bisection
    while the times only grow (as they do from one scanner; a linear scan otherwise, with the
    same answer as before), and the last level read is kept until the next sample (a zone of
    several scanners reads its unchanged windows again). Nothing is computed on :meth:`add`; a
    level is the same trimmed mean of the same samples, summed in the same order, as
    :func:`trimmed_mean` gives: identical floats, not merely close ones.
    """

    __slots__ = (
        "_ats",
        "_head",
        "_max_samples",
        "_memo",
        "_memo_key",
        "_monotonic",
        "_rssis",
        "_trim",
        "window_s",
    )

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
        self._ats: list[float] = []
        self._rssis: list[float] = []
        self._head = 0  # index of the oldest sample kept; those before it are gone
        self._monotonic = True  # times never went back since the window was last empty
        self._memo_key = -1  # (first sample's index) * 2 + robust of the last level read; -1: none
        self._memo: tuple[float, int] = (0.0, 0)

    def __len__(self) -> int:
        return len(self._ats) - self._head

    @property
    def last_at(self) -> float | None:
        """When the newest sample was taken, or ``None`` when the window is empty."""
        return self._ats[-1] if len(self._ats) > self._head else None

    def _age(self, now: float) -> None:
        ats = self._ats
        head = self._head
        horizon = now - self.window_s
        if head == len(ats) or ats[head] > horizon:
            return  # nothing to drop: the usual case
        if self._monotonic:
            head = bisect_right(ats, horizon, head)
        else:  # drop from the oldest on, up to the first younger sample (as a deque's popleft would)
            end = len(ats)
            while head < end and ats[head] <= horizon:
                head += 1
        self._head = head
        if head >= _COMPACT_AT or head == len(ats):
            self._compact()

    def _compact(self) -> None:
        head = self._head
        del self._ats[:head]
        del self._rssis[:head]
        self._head = 0
        self._memo_key = -1  # indices moved
        if not self._ats:
            self._monotonic = True

    def add(self, at: float, rssi: float) -> None:
        """Add one sample taken at ``at``."""
        ats = self._ats
        head = self._head
        horizon = at - self.window_s
        if head < len(ats) and ats[head] <= horizon:  # something to drop: _age, inline while times grow
            if self._monotonic:
                head = self._head = bisect_right(ats, horizon, head)
                if head >= _COMPACT_AT or head == len(ats):
                    self._compact()
                    head = 0
            else:
                self._age(at)
                head = self._head
        if len(ats) > head and at < ats[-1]:
            self._monotonic = False
        ats.append(at)
        self._rssis.append(rssi)
        self._memo_key = -1
        if len(ats) - head > self._max_samples:
            self._head = head = head + 1
            if head >= _COMPACT_AT:
                self._compact()

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
        return self.level(now, span_s, min_samples, at_least, robust)[0]

    def level(
        self,
        now: float,
        span_s: float | None = None,
        min_samples: int = 1,
        at_least: int = 0,
        robust: bool = False,
    ) -> tuple[float | None, int]:
        """:meth:`value` and the number of samples it averaged (0 with ``None``). Its arguments may
        be passed by position (the engine does, several times per rostered advert: cheaper)."""
        ats = self._ats
        head = self._head
        if head < len(ats) and ats[head] <= now - self.window_s:  # something to drop (_age's test, inline)
            self._age(now)
            head = self._head
        end = len(ats)
        n = end - head
        if n == 0 or n < min_samples:
            return None, 0
        first = head
        if span_s is not None and span_s < self.window_s:
            horizon = now - span_s
            if self._monotonic:
                first = bisect_right(ats, horizon, head)
            else:  # the newest run of samples younger than the horizon
                first = end
                while first > head and ats[first - 1] > horizon:
                    first -= 1
            if first > end - at_least:
                first = max(head, end - at_least)
        used = end - first
        if used == 0 or used < min_samples:
            return None, 0
        key = first * 2 + robust
        if key == self._memo_key:
            return self._memo
        ordered = sorted(self._rssis[first:])
        cut = int(used * self._trim)
        if robust and used >= 3 and cut < 1:
            cut = 1
        if cut * 2 >= used:
            cut = (used - 1) // 2
        if cut:
            ordered = ordered[cut : used - cut]
        found = (sum(ordered) / len(ordered), used)
        self._memo_key = key
        self._memo = found
        return found

    def samples(self) -> tuple[list[float], list[float]]:
        """The times and RSSIs of the samples the window holds (oldest first; new lists): the ones a
        level would average, as last aged by :meth:`add` or :meth:`level` (read a level at ``now``
        first for the window as of ``now``)."""
        head = self._head
        return self._ats[head:], self._rssis[head:]

    def trend(self, now: float, span_s: float, noise_min_db: float = 0.0) -> tuple[float, float] | None:
        """The least-squares slope (dB/s) of the samples of the last ``span_s`` before ``now`` and its
        standard error (dB/s, from the residuals' spread, taken as at least ``noise_min_db``);
        ``None`` with fewer than three samples (or all at one time). Not on the hot path: read only
        while a hand-off is pending."""
        ats = self._ats
        horizon = now - span_s
        pairs = [(t, r) for t, r in zip(ats[self._head :], self._rssis[self._head :], strict=True) if t > horizon]
        n = len(pairs)
        if n < 3:
            return None
        mean_t = sum(t for t, _ in pairs) / n
        mean_r = sum(r for _, r in pairs) / n
        sxx = sum((t - mean_t) ** 2 for t, _ in pairs)
        if sxx <= 0.0:
            return None
        slope = sum((t - mean_t) * (r - mean_r) for t, r in pairs) / sxx
        residual = sum((r - mean_r - slope * (t - mean_t)) ** 2 for t, r in pairs)
        return slope, max((residual / (n - 2)) ** 0.5, noise_min_db) / sxx**0.5


def distance_m(rssi: float, measured_power_1m_dbm: float, path_loss_exponent: float) -> float:
    """Distance estimate from the log-distance path-loss model: ``10 ** ((P1m - rssi) / (10 n))``.

    Indoors this is a rough figure (5 dB of shadowing is a factor of about 1.7 at n = 2.2): good
    for "at the shelf" versus "across the aisle", not for centimetres.
    """
    if path_loss_exponent <= 0:
        raise ValueError("path_loss_exponent must be > 0")
    return float(10.0 ** ((measured_power_1m_dbm - rssi) / (10.0 * path_loss_exponent)))
