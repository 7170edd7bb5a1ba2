"""An exit on the level only once it is sure: the level *now*, read from the trend (issue #13).

The threshold engine (:mod:`edge.presence`) lets a shopper go when the zone's slow level (a trimmed mean
of the last ``rssi_window_s``) falls below the exit threshold. That mean answers "where was the shopper,
on average, over the last three seconds": for a shopper standing still the best estimate there is, for
a walker leaving it lags by half the window (1.5 s of walking). And it is one noisy number: a shopper
standing at a zone's edge reads a few dB over the exit threshold, and a fade, a -4 dB scanner or a
steeper path loss than the engine's puts the mean under it for a moment -- an exit, and the entry back
seconds later (a split visit: the sweep's radio cells, docs/presence.md "The threshold engine: a sure
exit (session 13)").

**The rule** (:func:`sure_out`). A slow level under the exit threshold is acted on only when the level
at the present moment is under it by one standard error of its estimate: the least-squares line
through the samples the scanner's window still holds (``RSSI_HISTORY_S``, up to
``RSSI_WINDOW_MAX_SAMPLES``), read at ``now``, with the standard error of that reading from the
samples' spread about the line, ``s * sqrt(1/n + (now - t_mean)^2 / Sxx)``. Both kinds of shopper get
the test they need from one formula, with no threshold of its own:

- a walker leaving has a falling line; read at the present it is dB below the lagging mean (at 1 m/s,
  1.5 s of a 2 dB/s fall), so the exit comes about when it came before;
- a shopper standing has a flat line (the slope is noise); read at the present its standard error is
  about twice the mean's (the line does not know that the shopper is still), so a dip of the mean by
  a fade or two is not enough: the level must be well under the threshold, or stay under it.

**A slow advertiser** (a card at 1 Hz or 0.5 Hz, issue #13, docs/presence.md "slow cards and
lingerers"): its slow level reaches back for EXIT_SLOW_SAMPLES of its adverts (its window stretched to
6-12 s by :func:`~edge.presence_timing.span_of_adverts`), so it lags a walker by 3-6 s. Its line, read
at the present, has no such lag; it decides alone, without the slow level under the threshold, when it
lies under the threshold by TREND_T standard errors (the hand-off's trend test: noise passes it about
2 % of the time, one-sided). Behind the slow level's gate one error is enough; without it the line must
carry the whole error budget (one error alone: a 1 Hz card standing still split 3.6 times an hour).

One standard error, as the rule tried last session (one standard error of the mean, which made every
exit later: a walker's mean is 1.5 s behind the walker). Not a tuned number: the figure the engine is
judged on is the spurious changes a shopper standing still shows, and a standard error is the scale
of the noise that makes them. Not on the hot path: read only while the slow level is under the exit
threshold (a shopper leaving, or a dip).

**Deep fades** (:data:`FADE_DB`, session 33): readings far under a robust line through the window are left
out of the line read at the present; a shopper standing through a run of multipath nulls is not shown out.

**A hand-off only once sure** (:class:`LeadTest`, issues #13 and #18): the same measure of noise for the
other change of zone -- the new zone's lead over the old one, sample by sample, must be above 0 by
TREND_T standard errors of its mean.
"""

from __future__ import annotations

import math
from collections import deque
from typing import TYPE_CHECKING

from edge import constants as c
from edge.presence_timing import TREND_NOISE_MIN_DB, TREND_T

if TYPE_CHECKING:
    from edge.rssi import RssiWindow

__all__ = ["present_level", "sure_out"]

FADE_DB: float | None = 12.0
"""dB under a robust line through the window (the median of the pairwise slopes, the median intercept) at which a
reading is taken for a deep fade and left out of the line read at the present: a multipath null takes 10-30 dB off
one advert, shadowing a few dB either way (3-8 dB sigma indoors), so 12 dB under is two sigma of 6 dB shadowing,
one-sided -- a reading a shopper's position seldom explains and a fade usually does. Only the low side: nothing
makes a reading louder than where the phone is. The robust line first because the least-squares one is the thing
fades drag down (three fades of twenty, one of them recent, pull it 4-8 dB: an exit). Not tuned: 9 and 15 dB were
run beside it on the sweep (docs/presence.md, "The threshold engine: deep fades set aside (session 33)"). None: no
reading set aside (the rule before)."""


def present_level(window: RssiWindow, now: float) -> tuple[float, float] | None:
    """The least-squares line through the window's samples, read at ``now``, and the standard error
    of that reading (dB): ``None`` with fewer than three samples, or all at one time. The samples'
    spread about the line is taken as at least TREND_NOISE_MIN_DB (3 dB, the least indoor shadowing
    per advert): a peer's samples, rebuilt from its summary's median and maximum, and three to six
    samples of a slow card can look steadier than any advert is.

    The samples are :meth:`RssiWindow.samples` (the caller has just read a level at ``now``, so
    nothing aged out is among them), less the deep fades (:data:`FADE_DB`, :func:`_unfaded`)."""
    ats, rssis = window.samples()
    if FADE_DB is not None and len(ats) >= 3:
        ats, rssis = _unfaded(ats, rssis, FADE_DB)
    found = _line(ats, rssis, now)
    return None if found is None else (found[0], found[1])


def _unfaded(ats: list[float], rssis: list[float], fade_db: float) -> tuple[list[float], list[float]]:
    """The samples less those ``fade_db`` or more under a robust line through them (Theil-Sen: the median of the
    pairwise slopes, the median intercept), which a few deep fades do not drag down as they drag a least-squares
    line; all of them if fewer than three would be left. Not on the hot path (read while a level is under a bar)."""
    n = len(ats)
    t0 = ats[0]
    times = [t - t0 for t in ats]
    slopes = sorted(
        (rssis[j] - rssis[i]) / (times[j] - times[i]) for i in range(n) for j in range(i + 1, n) if times[j] > times[i]
    )
    if not slopes:
        return ats, rssis
    slope = slopes[len(slopes) // 2]
    base = sorted(r - slope * t for t, r in zip(times, rssis, strict=True))[n // 2]
    kept = [k for k in range(n) if rssis[k] - base - slope * times[k] > -fade_db]
    if len(kept) == n or len(kept) < 3:
        return ats, rssis
    return [ats[k] for k in kept], [rssis[k] for k in kept]


def _line(ats: list[float], rssis: list[float], now: float) -> tuple[float, float] | None:
    """The least-squares line through the samples read at ``now`` and its standard error (see
    :func:`present_level`)."""
    n = len(ats)
    if n < 3:
        return None
    mean_t = sum(ats) / n
    mean_r = sum(rssis) / n
    sxx = 0.0
    sxy = 0.0
    for t, r in zip(ats, rssis, strict=True):
        dt = t - mean_t
        sxx += dt * dt
        sxy += dt * (r - mean_r)
    if sxx <= 0.0:
        return None
    slope = sxy / sxx
    residual = 0.0
    for t, r in zip(ats, rssis, strict=True):
        miss = r - mean_r - slope * (t - mean_t)
        residual += miss * miss
    spread = max(math.sqrt(residual / (n - 2)), TREND_NOISE_MIN_DB)
    ahead = now - mean_t
    return mean_r + slope * ahead, spread * math.sqrt(1.0 / n + ahead * ahead / sxx)


def sure_out(window: RssiWindow, now: float, bar_dbm: float, offset_db: float, errors: float = 1.0) -> bool:
    """Is the shopper surely beyond ``bar_dbm`` now: the present level (:func:`present_level`, shifted by
    the sender's ``offset_db`` to the reference phone) under the bar by ``errors`` standard errors of it
    (one behind a slow level already under the bar; TREND_T for a slow advertiser's line alone)?"""
    found = present_level(window, now)
    if found is None:
        return False
    level, error = found
    return level + offset_db < bar_dbm - errors * error


class LeadTest:
    """The hand-off's sequential test: is the new zone ahead of the old one, over all samples since it began?

    Each sample is one lead in dB: the new zone's level minus the old zone's, one side read from the
    advert just heard (its own RSSI), the other from the other zone's fast level. The test passes when
    the leads' mean is above 0 by TREND_T standard errors, the noise taken from the leads' own spread
    (at least TREND_NOISE_MIN_DB): a true lead of 6 dB under 5 dB of noise per advert passes in 4-6
    samples, one of 0-2 dB seldom. The engine starts it again when the new zone's fast level falls under
    its enter threshold or a hand-off (either way) is made (docs/presence.md, "The threshold engine: a
    hand-off by sequential test (session 13)"). It remembers the leads of the last HANDOFF_LEAD_MEMORY_S
    only (session 23): older ones, read where the shopper no longer is, drop out of the sums."""

    __slots__ = ("leads", "n", "squares", "total")

    def __init__(self) -> None:
        self.n = 0
        self.total = 0.0
        self.squares = 0.0
        self.leads: deque[tuple[float, float]] = deque()  # (at, lead) of the leads in the sums, oldest first

    def clear(self) -> None:
        self.n = 0
        self.total = 0.0
        self.squares = 0.0
        self.leads.clear()

    def add(self, lead_db: float, at: float) -> None:
        """One lead, read at ``at``; the leads older than HANDOFF_LEAD_MEMORY_S before it leave the sums."""
        leads = self.leads
        horizon = at - c.HANDOFF_LEAD_MEMORY_S
        while leads and leads[0][0] < horizon:
            old = leads.popleft()[1]
            self.n -= 1
            self.total -= old
            self.squares -= old * old
        leads.append((at, lead_db))
        self.n += 1
        self.total += lead_db
        self.squares += lead_db * lead_db

    def passed(self, at_least: int) -> bool:
        """Do at least ``at_least`` leads (and 2) put their mean above 0 by TREND_T standard errors?"""
        n = self.n
        if n < at_least or n < 2:
            return False
        mean = self.total / n
        spread = math.sqrt(max(0.0, (self.squares - n * mean * mean) / (n - 1)))
        return mean > TREND_T * max(spread, TREND_NOISE_MIN_DB) / math.sqrt(n)
