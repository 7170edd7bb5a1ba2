"""How long a silence ends a visit: from the advertiser's own advert interval and loss (issue #13, #18).

A phone advertising at 10 Hz that goes quiet for 3 s has missed thirty adverts: news. A loyalty card at
1 Hz losing a third of its adverts is often silent for 3 s: no news at all. The threshold engine
(:mod:`edge.presence`) keeps one :class:`~edge.advert_rate.AdvertRate` per shopper and scanner (its
interval follows shorter gaps quickly and longer ones slowly, so it settles on the advert interval, not
on the mean gap; the loss follows from the two) and asks :func:`silence_limit_s` how long the current
zone's scanners may stay silent before the shopper has gone.

**The rule.** Losses are not independent: a body turning between phone and scanner, a hand over the
phone or a trolley passing blanks every advert for 0.5-1 s (:data:`FADE_S`). So a silence is a run of
independent *chances* of ``tau = max(interval, FADE_S)`` each, every one lost with the observed loss
``q``. A shopper standing still offers ``3600 / tau`` chances an hour for a silence to begin; a silence
of ``k`` chances happens with probability ``q ** k``. The limit is the shortest ``k * tau`` that keeps
such silences -- each a false exit and a re-entry -- under :data:`FALSE_EXITS_PER_HOUR`::

    k = ln(FALSE_EXITS_PER_HOUR * tau / 3600) / ln(q)

never below :data:`SILENCE_MIN_S` (an app's own pauses), plus the scanner's delivery lag, and never
above the zone's ``exit_timeout_s`` (today's fixed timer stays the cap, so an exit always fires by
then). A scanner heard late (a peer's, through its once-a-second summaries, :mod:`edge.peers`: lag
over :data:`REMOTE_LAG_S`) keeps the zone's timer.

Figures: the row of docs/multi-gateway.md (cards at 3.3 Hz, 10 % lost): 3.5 s, was 6 s; a 10 Hz phone
losing 10 %: 3.5 s; a 1 Hz card losing 25 %: 7.6 s; losing 40 %: 11.4 s (each capped by the zone's
timer: the default 4 s).

**A pause, not an exit** (:func:`hold_s`). Losses are one cause of silence; the advertiser stopping
(a phone's OS dozing the app, a call: 2-10 s) is another, and it says nothing about where the shopper
is. A shopper who walks out of a zone is heard all the way to its edge and beyond (at 0.6-1.5 m/s, for
seconds, ever weaker), and the exit fires on that falling level; so a silence that begins while the last
level placed the shopper well inside is most likely such a pause. Whatever the loss rule says, a silence
is not taken for an exit before (a) the slowest walker (:data:`WALK_SPEED_MIN_M_S`) could have gone from
where the last level placed them to beyond the zone's exit radius, nor (b) the longest pause this
advertiser has been heard to make (a silence at every scanner between two adverts heard near a scanner:
:func:`pause_of`), each plus the advertiser's interval. A shopper whose last level was at the edge gets
no more than the loss rule; one standing by the scanner, up to the exit radius over the slowest pace
(7.5 s under a 2 m scanner). Bounded: the walk by the zone's exit radius, a pause by
:data:`~edge.constants_model.MODEL_GAP_MAX_S` (a longer silence is the shopper out of range, not a pause).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from edge import constants as c
from edge import constants_model as cm
from edge.advert_rate import AdvertRate
from edge.presence_reach import edge_radius_m

if TYPE_CHECKING:
    from edge.rssi import RssiWindow

__all__ = [
    "ADV_DELAY_MAX_S",
    "FADE_S",
    "FALSE_EXITS_PER_HOUR",
    "HANDOFF_AFTER_EXIT_S",
    "LAG_FORGET_S_PER_S",
    "LOSS_MAX",
    "LOSS_MIN",
    "PENDING_MAX",
    "RATE_MIN_GAPS",
    "REFERENCE_INTERVAL_S",
    "REMOTE_LAG_S",
    "REMOTE_TREND_HOLD",
    "SILENCE_MIN_S",
    "SLOW_GAP_WEIGHT",
    "TREND_HOLD_SAMPLES",
    "TREND_NOISE_MIN_DB",
    "TREND_SPAN_S",
    "TREND_T",
    "WALK_SPEED_MIN_M_S",
    "DeliveryLag",
    "SilenceRate",
    "hold_s",
    "in_adverts_s",
    "pause_of",
    "silence_limit_s",
    "slow_advertiser",
    "span_of_adverts",
    "zone_silence_limit_s",
]

# --- constants (module-local: the presence engine's silence rule) ------------------------------

SILENCE_MIN_S = 3.0
"""No silence shorter than this ends a visit, however fast the advertiser: a phone's OS pauses an app's
advertising for 1-3 s now and then (doze, a call; the sweep's app model pauses 1-3 s every 10 minutes),
and a shopper standing at a shelf must not leave with each pause."""

FADE_S = 0.75
"""Adverts lost within this long of each other are lost together (one chance, not several): body
shadowing as a shopper turns, a hand over the phone, a trolley between, last 0.5-1 s. A 10 Hz phone
is therefore not ten times quicker to let go than a 1 Hz card, only 1/FADE_S times the chances."""

FALSE_EXITS_PER_HOUR = 0.1
"""Budget of silence exits of a shopper standing in a zone: each is two spurious changes (exit, then
re-entry) of the 0.5 per shopper-hour the presence goals allow, so 0.1 leaves most of it for RSSI noise
(walking-away exits of a standing shopper). Ten times more (1 per hour) shortens a 3.3 Hz card's limit
only from 3.5 to 2.8 s (-> SILENCE_MIN_S), so the budget is not the figure that matters."""

LOSS_MIN = 0.1
"""An advertiser is never taken to lose fewer adverts than this: a scanner listens on one advertising
channel at a time and collisions happen, so 10 % is what a good link loses (the low end of the sweep's
10-40 % and the multi-gateway row's loss); a peer's samples, spread evenly over their second, look
lossless and must not make the limit shorter than a real link's."""

SLOW_GAP_WEIGHT = 0.005
"""Least weight of each gap in a second, slower mean gap (the mean of all gaps so far, then about the
last 200 adverts): AdvertRate's own mean gap (about 20 adverts, made for the model engine's quick
likelihoods) puts a 1 Hz card losing 40 % anywhere between 25 and 40 %, and an underestimated loss is a
false exit. The loss taken is the larger of the two: a burst of losses (the shopper turned away) counts
at once, a lucky run does not."""

LOSS_MAX = 0.7
"""...nor more than this: beyond, the limit is past any zone's timer anyway."""

RATE_MIN_GAPS = 8
"""Gaps an advertiser's rate must have been learned from (at this scanner) before it may shorten the
timer: AdvertRate starts from a pessimistic prior, and a few gaps say little about a loss rate."""

LAG_FORGET_S_PER_S = 0.05
"""How fast a scanner's delivery lag (the largest seen of: newest time seen - a sample's time) is
forgotten: a peer's scanner is a second late (its summary comes once a slot) plus the broker, and one
slow delivery should lengthen the limit for the next 20-30 s, not for good."""

HANDOFF_AFTER_EXIT_S = 3.0
"""An entry from no zone less than this after leaving another zone is that zone's hand-off, judged as
one (the new zone's fast level must lead the old zone's by the hand-off margin for ``handoff_samples``
samples, counted on from before the exit, or one on a clear trend; a third zone's scanner by
ENTER_LEAD_DB on its slow level) rather than as an entry from the aisle (an ENTER_LEAD_DB lead over
every other scanner's fast level). Between neighbouring zones the old zone's exit -- its slow level, which lags the
fast one by about 1.5 s of walking, falling below the exit threshold -- usually comes just before the
hand-off would: then the shopper walked 1-2 m further into the new zone before the 8 dB lead held
(the 4-8 s entries of docs/multi-gateway.md). 3 s is the walk of the slow level's lag plus a 1 m gap
between two zones; a shopper out of a zone for longer is in the aisle, and enters as from the aisle."""

REMOTE_LAG_S = 0.25
"""A scanner whose samples reach the engine later than this (a peer's, heard through its summaries:
a slot's early part half way through it and the rest at its end, :mod:`edge.peers.summary`) keeps
the zone's fixed timer: its silences are the summaries' timing (a part, the broker, a loaded peer)
as much as the advertiser's, and its jitter has no model here (its hand-offs were held shorter on a
clear trend until session 36: :data:`REMOTE_TREND_HOLD`). A peer's samples arrive up to a part (0.5 s) plus the
broker late, the largest lag kept (:class:`DeliveryLag`) 0.3-0.55 s for a 3 Hz card; a gateway's
own, tens of milliseconds (BlueZ, the loop). It was 0.5 s with one summary per 1 s slot. The
gateway whose own scanner covers the zone (no lag) is the one that exits the shopper who left
from there, first-hand."""

REMOTE_TREND_HOLD = False
"""Whether a hand-off with a zone heard through a peer (:data:`REMOTE_LAG_S`) may hold for TREND_HOLD_SAMPLES on a
clear trend instead of ``handoff_samples``, as the entry just after an exit does. It did from the row's tuning
(docs/multi-gateway.md, the hand-off's third pass) until session 36: on the presence sweep's stores as the middle
gateway of three (benchmarks/presence_peers.py) it made the aisle tiles on either side of a boundary between two
gateways flap as every hand-off did when it was tried on all of them ([47] aisle 3 m, 8 dB: 98.9 spurious changes
per shopper-hour through peers, 46.4 without it, 39.3 hearing every scanner; [2] 3.95 -> 0, [26] 4.93 -> 0.99), while
the three-gateway walks gain little from it now (offline, 192 hand-offs: doors p50 / p95 1.58 / 2.59 s with it, 1.66
/ 2.59 without; row 1.68 / 2.41, 1.75 / 2.49): the lead test and the hand-off at the exit's tick came since. A
noisy store's trend is "clear" by chance often enough; a delivery lag is no reason to believe it more."""

REFERENCE_INTERVAL_S = 0.5
"""The advert interval the engine's spans in seconds were set for: a 2 Hz loyalty card, the slowest
advertiser of the bundled store (RSSI_HISTORY_S, 5 s, is ten of its adverts; EXIT_TIMEOUT_S, 4 s,
eight). An advertiser heard to send more slowly (a 1 Hz or 0.5 Hz card) has such a span stretched by
its own interval over this (:func:`in_adverts_s`): the same number of *its* adverts. RSSI_HISTORY_S
holds 2-3 adverts of a 0.5 Hz card, fewer than EXIT_MIN_SAMPLES: the slow level could never say
"walked away". A faster advertiser keeps every span as it was."""

ADV_DELAY_MAX_S = 0.01
"""BLE's advDelay: every advertising event is sent 0-10 ms after its interval (the Bluetooth Core
specification's pseudo-random delay), so a gap is the interval plus up to this. A 2 Hz card's
shortest gap is 0.500-0.510 s: it is REFERENCE_INTERVAL_S, not slower (:func:`in_adverts_s` takes this
off before comparing)."""

PENDING_MAX = 64
"""Times a :class:`SilenceRate` keeps uncounted before counting them: bounds its memory (a shopper
standing in a zone for an hour at 10 Hz would otherwise keep 36,000) while counting in batches long
enough that the loop, not a call per time, is the cost (64 floats: half a kilobyte)."""

TREND_SPAN_S = 3.0
"""The hand-off's trend (:meth:`edge.presence_handoff.HandOff._hold`) is the least-squares slope of a
zone's samples over this long: the slow window (RSSI_WINDOW_S), about 10 samples of a 3 Hz card, a
walker's 3.6 m -- from the middle of one zone of the row into the next. Longer mixes in the dwell
before the walk (a flat stretch that halves the slope); shorter leaves 5-6 samples, whose slope's
standard error (3 dB of noise over 2 s: ~2 dB/s) is as large as a walker's slope at a zone's edge."""

TREND_NOISE_MIN_DB = 3.0
"""The noise a trend's standard error assumes at least (dB per sample about the trend line): indoor
BLE shadowing is 3-6 dB per advert (edge/sim/radio.py takes 5), and a peer's samples, rebuilt from
its summary's median and maximum (edge.peers.summary.to_sightings), look steadier than they were:
their residual spread alone would call noise a trend."""

TREND_T = 2.0
"""How many standard errors the new zone's rise and the old zone's fall (their slopes' difference)
must be apart: one-sided, noise passes it about 2 % of the time, and the shortened hold still needs
every other part of the hand-off (the enter threshold, the margin over the old zone)."""

TREND_HOLD_SAMPLES = 1
"""The hold while the trend is that clear: the margin's lead, once. The hold (``handoff_samples``,
3: ~1 s of a 3 Hz card) is for noise that puts a neighbour zone ahead for a moment; a shopper whose
levels rise and fall as they walk over is not that noise, and the margin is crossed when the walk
puts the new zone ahead."""

WALK_SPEED_MIN_M_S = 0.6
"""The slowest pace of a shopper leaving a zone (0.6-1.5 m/s: a browser with a trolley at the low end,
the sweep's slow walkers). The slowest, because the hold (:func:`hold_s`) is the time before which a
shopper *cannot* have left in silence: a faster walker leaving is heard going (the level falls) and
exits on that, sooner."""

_SECONDS_PER_HOUR = 3600.0


class SilenceRate(AdvertRate):
    """:class:`~edge.advert_rate.AdvertRate` (the interval, a quick mean gap) and a slower mean gap.

    Counted lazily: the engine appends each time heard to :attr:`pending` (a list append, no method
    frame per rostered advert) and the times are counted, in order, when the limit is read
    (:func:`silence_limit_s` calls :meth:`settle`) or once :data:`PENDING_MAX` have piled up. The
    limit is read only when a zone's scanners have been silent for :data:`SILENCE_MIN_S`, so most
    times are counted in batches of PENDING_MAX, in one loop without a frame each. :meth:`settle`
    gives the same floats as :meth:`heard` on each time (the same operations in the same order;
    tests/test_presence_timing_lazy.py); read the fields only after it.
    """

    __slots__ = ("block_min_s", "block_n", "pending", "shortest_gap_s", "slow_gap_s")

    def __init__(self, at: float) -> None:
        super().__init__(at)
        self.slow_gap_s = self.mean_gap_s
        self.pending: list[float] = []  # times heard, not yet counted
        self.block_min_s = math.inf  # the shortest gap of the current block of RATE_MIN_GAPS gaps...
        self.block_n = 0
        self.shortest_gap_s = math.inf  # ...and of the last whole one (see in_adverts_s)

    def heard(self, at: float) -> None:
        """One sighting at ``at``, counted at once (after any pending)."""
        if self.pending:
            self.settle()
        before, counted = self.last_at, self.samples
        AdvertRate.heard(self, at)  # not super(): one lookup less
        if self.samples != counted:
            gap = at - before
            weight = max(1.0 / self.samples, SLOW_GAP_WEIGHT)
            self.slow_gap_s += weight * (gap - self.slow_gap_s)
            if gap < self.block_min_s:
                self.block_min_s = gap
            self.block_n += 1
            if self.block_n == RATE_MIN_GAPS:
                self.shortest_gap_s, self.block_min_s, self.block_n = self.block_min_s, math.inf, 0

    def settle(self) -> None:
        """Count the pending times, in order: AdvertRate.heard and the slow gap's step, inlined."""
        pending = self.pending
        if not pending:
            return
        last, interval, mean, slow, n = self.last_at, self.interval_s, self.mean_gap_s, self.slow_gap_s, self.samples
        block_min, block_n, shortest = self.block_min_s, self.block_n, self.shortest_gap_s
        same_s, gap_max_s = cm.MODEL_SAME_ADVERT_S, cm.MODEL_GAP_MAX_S
        fall, rise, mean_weight = cm.MODEL_INTERVAL_FALL, cm.MODEL_INTERVAL_RISE, cm.MODEL_MEAN_GAP_WEIGHT
        for at in pending:  # min() and max() as comparisons: the same values, no call each
            gap = at - last
            half = 0.5 * interval
            if gap <= (half if half < same_s else same_s):
                continue
            last = at
            if gap > gap_max_s:
                continue
            n += 1
            interval += (fall if gap < interval else rise) * (gap - interval)
            mean += mean_weight * (gap - mean)
            weight = 1.0 / n
            slow += (weight if weight > SLOW_GAP_WEIGHT else SLOW_GAP_WEIGHT) * (gap - slow)
            if gap < block_min:
                block_min = gap
            block_n += 1
            if block_n == RATE_MIN_GAPS:
                shortest, block_min, block_n = block_min, math.inf, 0
        pending.clear()
        self.last_at, self.interval_s, self.mean_gap_s, self.slow_gap_s, self.samples = last, interval, mean, slow, n
        self.block_min_s, self.block_n, self.shortest_gap_s = block_min, block_n, shortest

    @property
    def silence_loss(self) -> float:
        """The share of adverts lost, the larger of the quick and the slow estimate, bounded."""
        gap = max(self.mean_gap_s, self.slow_gap_s, 1e-6)
        return min(max(1.0 - self.interval_s / gap, LOSS_MIN), LOSS_MAX)


def silence_limit_s(rate: SilenceRate) -> float | None:
    """How long this advertiser may go unheard at this scanner while standing still (before the lag and
    the zone's cap); ``None`` while its rate is not yet learned (:data:`RATE_MIN_GAPS`)."""
    rate.settle()
    if rate.samples < RATE_MIN_GAPS:
        return None
    interval = rate.interval_s
    loss = rate.silence_loss
    chance_s = max(interval, FADE_S)
    p = FALSE_EXITS_PER_HOUR * chance_s / _SECONDS_PER_HOUR
    return max(SILENCE_MIN_S, chance_s * math.log(p) / math.log(loss))


def in_adverts_s(rate: SilenceRate | None, seconds: float) -> float:
    """``seconds`` counted in this advertiser's adverts: stretched by its interval over
    :data:`REFERENCE_INTERVAL_S` when it sends more slowly than that, never shortened; as given
    until a block of :data:`RATE_MIN_GAPS` gaps is counted.

    The interval here is the shortest gap of the last whole block of RATE_MIN_GAPS gaps
    (:attr:`SilenceRate.shortest_gap_s`): a lost advert makes a gap longer, never shorter, so that is
    the interval (plus at most :data:`ADV_DELAY_MAX_S`, taken off) unless every gap of the block held
    a loss (40 % lost: 0.4 ** 8, 0.07 %). AdvertRate's interval starts from a 0.5 s prior and rises 1 %
    of the way per gap (made not to creep up to the mean gap): it reads 0.67 s after 40 adverts of a
    1 Hz card."""
    if rate is None:
        return seconds
    rate.settle()
    interval = rate.shortest_gap_s - ADV_DELAY_MAX_S
    if interval <= REFERENCE_INTERVAL_S or interval == math.inf:
        return seconds
    return seconds * interval / REFERENCE_INTERVAL_S


class DeliveryLag:
    """Per scanner, how late its samples reach the engine (0 for its own; about a slot for a peer's).

    The engine knows no wall clock: "now" is the newest time it has seen (a tick or a sample). A
    sample stamped ``at`` arriving when that is ``newest`` was ``newest - at`` late; the scanner's lag
    is the largest such, forgotten at :data:`LAG_FORGET_S_PER_S`. :attr:`punctual` holds the scanners
    whose lag is exactly 0 (a gateway's own): for them a sample not older than ``newest`` changes
    nothing but ``newest``, which the engine does in place (:meth:`saw`'s first case, without a frame).
    """

    __slots__ = ("_lags", "newest", "punctual")

    def __init__(self) -> None:
        self.newest = -math.inf
        self._lags: dict[str, tuple[float, float]] = {}  # scanner -> (lag, when)
        self.punctual: set[str] = set()  # scanners whose lag is 0.0

    def saw(self, scanner: str, at: float) -> None:
        newest = self.newest
        old = self._lags.get(scanner)
        if at >= newest:
            self.newest = at
            if old is not None and old[0] == 0.0:
                return  # the usual case of a gateway's own scanner: never late, nothing to keep
            late = 0.0
        else:
            late = newest - at
        if old is None or late >= old[0] - (self.newest - old[1]) * LAG_FORGET_S_PER_S:
            self._lags[scanner] = (late, self.newest)
            if late == 0.0:
                self.punctual.add(scanner)
            else:
                self.punctual.discard(scanner)

    def ticked(self, now: float) -> None:
        if now > self.newest:
            self.newest = now

    def of(self, scanner: str) -> float:
        old = self._lags.get(scanner)
        if old is None:
            return 0.0
        return max(0.0, old[0] - (self.newest - old[1]) * LAG_FORGET_S_PER_S)


# --- the threshold engine's slow-advertiser and silence rules, per shopper and zone ------------


def hold_s(
    level_dbm: float, edge_m: float, above_m: float, reference_dbm: float, exponent: float, pause_s: float
) -> float:
    """How long a silence that began at ``level_dbm`` (the zone's slow level, for the reference phone)
    says nothing yet: the slowest walker's time from where that level places the shopper (across the
    floor, under a scanner ``above_m`` over the phone) to the zone's exit radius ``edge_m``, or the
    advertiser's longest pause heard (``pause_s``), whichever is longer. The caller adds the interval."""
    walk_s = max(edge_m - edge_radius_m(reference_dbm, level_dbm, exponent, above_m), 0.0) / WALK_SPEED_MIN_M_S
    return walk_s if walk_s > pause_s else pause_s


def pause_of(gap_s: float, near_before: bool, near_after: bool) -> float:
    """The pause a silence of ``gap_s`` at every scanner shows (0.0: none): the advertiser stopped, if
    it was heard near a scanner (at a zone's exit threshold or louder) on both sides of the silence --
    not a shopper walking out of range and back, who is heard faint before and after -- and the silence
    was longer than any loss rule allows for (:data:`SILENCE_MIN_S`) but shorter than out of range
    (:data:`~edge.constants_model.MODEL_GAP_MAX_S`)."""
    if (near_before or near_after) and SILENCE_MIN_S <= gap_s <= cm.MODEL_GAP_MAX_S:
        return gap_s
    return 0.0


def zone_silence_limit_s(
    rates: Mapping[str, SilenceRate],
    lag: DeliveryLag,
    scanners: Sequence[str],
    exit_timeout_s: float,
    hold: float = 0.0,
) -> float:
    """How long the zone's ``scanners`` may stay silent before the shopper has gone: the most lenient
    of its scanners whose rate is learned (:func:`silence_limit_s`), plus that scanner's delivery lag
    (a scanner heard late, a peer's, keeps the zone's timer); the zone's ``exit_timeout_s`` when none is
    learned, and at most that timer counted in the advertiser's own adverts (:func:`in_adverts_s`: the
    timer itself but for an advertiser slower than a 2 Hz card, whose lost advert or two would otherwise
    end its visit) -- but never less than ``hold`` (:func:`hold_s`: the shopper cannot have walked out
    yet, or the advertiser pauses that long) plus the scanner's interval and lag."""
    best: float | None = None
    for scanner in scanners:
        rate = rates.get(scanner)
        limit = None if rate is None else silence_limit_s(rate)
        if limit is not None:
            assert rate is not None
            late = lag.of(scanner)
            cap = in_adverts_s(rate, exit_timeout_s)
            limit = cap if late > REMOTE_LAG_S else min(limit + late, cap)
            held = hold + rate.interval_s + late
            if held > limit:
                limit = held
            if best is None or limit > best:
                best = limit
    return exit_timeout_s if best is None else best


def span_of_adverts(
    rates: Mapping[str, SilenceRate],
    windows: Mapping[str, RssiWindow],
    scanners: Sequence[str],
    count: int,
    fast_s: float,
    history_s: float,
) -> float | None:
    """Seconds that hold ``count`` adverts of a slow advertiser (a card at 1 Hz or less) as the zone's
    ``scanners`` hear it -- its learned mean gap, losses included -- if longer than the fast window
    ``fast_s``; else None (a phone, a 2 Hz card however lossy, or a rate not yet learned: the levels as
    they were; :func:`slow_advertiser`).

    For such an advertiser the zone's ``windows`` also keep EXIT_SLOW_SAMPLES of its adverts, up to
    ``history_s`` (RSSI_HISTORY_S) counted in its adverts (:func:`in_adverts_s`): 5 s hold 2-3 samples
    of a 0.5 Hz card, too few (EXIT_MIN_SAMPLES) to tell a walk away, so only silence could end its
    visits. Called only where a level lacked samples: never for a phone near it.
    """
    for scanner in scanners:  # a phone's or a 2 Hz card's: said, as a rule, by the zone's own scanner
        rate = rates.get(scanner)
        if rate is not None and rate.shortest_gap_s - ADV_DELAY_MAX_S <= REFERENCE_INTERVAL_S:
            return None
    if not slow_advertiser(rates):
        return None
    gap: float | None = None
    for scanner in scanners:
        rate = rates.get(scanner)
        if rate is not None and rate.samples >= RATE_MIN_GAPS and (gap is None or rate.mean_gap_s < gap):
            gap = rate.mean_gap_s
    if gap is None or count * gap <= fast_s:
        return None
    for scanner in scanners:
        window = windows.get(scanner)
        if window is not None:
            reach = min(c.EXIT_SLOW_SAMPLES * gap, in_adverts_s(rates.get(scanner), history_s))
            if window.window_s < reach:
                window.window_s = reach
    return count * gap


def slow_advertiser(rates: Mapping[str, SilenceRate]) -> bool:
    """Is this shopper's advertiser slower than a 2 Hz card? Its interval is the same at every scanner,
    so every scanner that has learned it must say so: a scanner far off, missing most adverts, can see
    eight gaps in a row each with a loss (:func:`in_adverts_s`)."""
    learned = False
    for rate in rates.values():
        rate.settle()  # the times heard are counted once, now or later: no extra work
        shortest = rate.shortest_gap_s
        if shortest == math.inf:
            continue  # not a block of gaps yet
        if shortest - ADV_DELAY_MAX_S <= REFERENCE_INTERVAL_S:
            return False
        learned = True
    return learned
