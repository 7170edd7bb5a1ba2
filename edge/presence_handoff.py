"""The threshold engine's hand-off rules: when a shopper in one zone has moved to another.

:class:`HandOff` is the part of :class:`~edge.presence.PresenceEngine` that reads one zone's level against
another's and decides a move between them (the module docstring of :mod:`edge.presence`, "hand-off"): the
zone's level (the loudest of its scanners), the sequential test on the new zone's lead with its margin and
slow levels (:meth:`HandOff._handoff_due`), the shorter hold on a clear trend or a zone heard through a peer
(:meth:`HandOff._hold`), and the entry just after an exit that pre-empted a hand-off, judged as that
hand-off (:meth:`HandOff._just_left`, :meth:`HandOff._leads_left`), and at an exit's tick the hand-off already
due (:meth:`HandOff._handoff_stands`). The engine inherits it: one object, the same calls on the hot path. Pure.
"""

from __future__ import annotations

import math

from edge import constants as c
from edge.presence_timing import (
    HANDOFF_AFTER_EXIT_S,
    REMOTE_LAG_S,
    REMOTE_TREND_HOLD,
    TREND_HOLD_SAMPLES,
    TREND_NOISE_MIN_DB,
    TREND_SPAN_S,
    TREND_T,
    DeliveryLag,
)
from edge.presence_track import ShopperTrack, ZoneRules
from edge.rssi import RssiWindow

__all__ = ["HandOff"]


class HandOff:
    """The hand-off rules of :class:`~edge.presence.PresenceEngine`, which sets these in its ``__init__``."""

    _fast_s: float
    """The fast level's span (s): ENTER_WINDOW_S, at most the window."""
    _window_s: float
    """The slow level's span (s): ``rssi_window_s``."""
    _lag: DeliveryLag
    """Each scanner's delivery lag (a zone heard through a peer arrives late)."""

    def _level(
        self,
        track: ShopperTrack,
        zone: ZoneRules,
        now: float,
        span_s: float | None,
        min_samples: int = 1,
        at_least: int = 0,
        robust: bool = False,
    ) -> float | None:
        """The zone's smoothed RSSI as heard (loudest of its scanners), or None if unheard.

        Called, and calling RssiWindow.level, with positional arguments only: a call with keywords
        is not specialised by CPython 3.11 and costs more, several times per rostered advert."""
        only = zone.only
        if only is not None:  # most zones have one scanner: no loop
            window = track.windows.get(only)
            return None if window is None else window.level(now, span_s, min_samples, at_least, robust)[0]
        best: float | None = None
        windows = track.windows
        for scanner in zone.scanners:
            window = windows.get(scanner)
            if window is not None:
                value = window.level(now, span_s, min_samples, at_least, robust)[0]
                if value is not None and (best is None or value > best):
                    best = value
        return best

    def _handoff_due(
        self,
        track: ShopperTrack,
        zone: ZoneRules,
        current: ZoneRules,
        fast: float,
        at: float,
        rssi: float,
        heard: RssiWindow,
    ) -> bool:
        """A sample of ``zone`` (its fast level at its enter threshold) while in ``current``: hand off now?

        The sample's lead (its RSSI over ``current``'s fast level) joins the candidate's
        :class:`~edge.presence_sure.LeadTest`, as the current zone's adverts do from the other side
        (:meth:`~edge.presence.PresenceEngine._stay`). The hand-off is due when the test passes (at least
        ``handoff_samples`` leads),
        this sample's fast level leads by ``handoff_margin_db`` and the slow levels agree (the new
        zone's above the old one's); or, on the margin alone, after TREND_HOLD_SAMPLES while the
        trend is clear (:meth:`_hold`), or after ``handoff_samples`` while ``current`` is unheard."""
        if track.candidate is not zone:
            track.candidate = zone
            track.candidate_n = 0
            track.lead.clear()
        held = self._level(track, current, at, self._fast_s)
        if held is None:  # nothing of the old zone to lead: the margin's streak as before
            track.candidate_n += 1
            return track.candidate_n >= self._hold(track, zone, current, at)
        steady = fast >= held + zone.margin
        track.candidate_n = track.candidate_n + 1 if steady else 0
        if zone.only is not None or heard.level(at, self._fast_s)[0] == fast:  # the zone's loudest scanner
            track.lead.add(rssi - held, at)
        return steady and self._leads_enough(track, zone, current, at)

    def _lead_from_left(
        self, track: ShopperTrack, left: ZoneRules, zone: ZoneRules, at: float, rssi: float, heard: RssiWindow
    ) -> None:
        """An advert of ``left``, the zone the shopper left less than HANDOFF_AFTER_EXIT_S ago, while ``zone`` (the
        candidate) is at its enter threshold: its lead (the candidate's fast level over this advert) joins the
        test, as the current zone's adverts do before the exit (:meth:`~edge.presence.PresenceEngine._stay`).
        The entry just after an exit that pre-empted the hand-off is judged by that test (:meth:`_leads_left`);
        with the candidate's adverts alone it waited for ``handoff_samples`` of them, 0.6-0.9 s of a 3 Hz
        advertiser, while the old zone's adverts, the other half of the same evidence, went unread
        (docs/presence.md, "a hand-off that forgets", session 23)."""
        if self._just_left(track, zone, at) is not left:
            return
        rival = self._level(track, zone, at, self._fast_s)
        if rival is None or rival + track.offset < zone.enter:
            return
        if left.only is not None or heard.level(at, self._fast_s)[0] == self._level(track, left, at, self._fast_s):
            track.lead.add(rival - rssi, at)

    def _leads_enough(self, track: ShopperTrack, zone: ZoneRules, current: ZoneRules, at: float) -> bool:
        """With the fast level leading by the margin: the hold's streak on a clear trend (:meth:`_hold`), or
        the sequential test passed with the new zone's slow level above the old one's."""
        hold = self._hold(track, zone, current, at)
        if hold < zone.samples and track.candidate_n >= hold:
            return True
        if not track.lead.passed(zone.samples):
            return False
        new = self._level(track, zone, at, self._window_s, 1, c.EXIT_SLOW_SAMPLES, True)
        old = self._level(track, current, at, self._window_s, 1, c.EXIT_SLOW_SAMPLES, True)
        return new is not None and (old is None or new > old)

    def _handoff_stands(self, track: ShopperTrack, current: ZoneRules, at: float) -> tuple[ZoneRules, float] | None:
        """At an exit from ``current`` (a timer's, at ``at``): the hand-off candidate whose test stands now, on
        the samples already counted, and its fast level -- :meth:`_handoff_due`'s decision as the candidate's next
        sample would take it, without a sample (none is added to the count or the test) -- or None.

        The exit (``current``'s slow level surely under its exit threshold, or its silence) and the hand-off
        race: whichever of the timer and the candidate's next sample comes first decides. With a zone heard
        through a peer, whose samples come in its summary's parts 0.5-1.2 s after they were heard, the timer
        often comes first, and the entry from no zone then asks a third zone for the aisle lead, which a
        hand-off does not (:meth:`_just_left`): a shopper the evidence already placed in the candidate stayed
        in no zone for 1.5-2 s more (docs/multi-gateway.md, "A starved owner's empty summary", session 19). The timer
        now asks first what the hand-off would say. An advertiser too slow for the fast window is left to the entry."""
        zone = track.candidate
        if zone is None:
            return None
        fast = self._level(track, zone, at, self._fast_s, c.ENTER_MIN_SAMPLES)
        if fast is None or fast + track.offset < zone.enter:
            return None
        held = self._level(track, current, at, self._fast_s)
        if held is None:  # nothing of the old zone to lead: the margin's streak, as _handoff_due
            return (zone, fast) if track.candidate_n >= self._hold(track, zone, current, at) else None
        if fast >= held + zone.margin and self._leads_enough(track, zone, current, at):
            return zone, fast
        return None

    def _leads_left(
        self,
        track: ShopperTrack,
        zone: ZoneRules,
        left: ZoneRules,
        fast: float,
        at: float,
        rssi: float,
        heard: RssiWindow,
    ) -> bool:
        """The entry just after leaving ``left``, judged as that hand-off by its sequential test: this
        sample's lead over ``left`` joins the test (begun before the exit), which must pass, with the
        fast level leading by ``handoff_margin_db`` (:meth:`_handoff_due`, without the slow levels:
        the exit has just said the old one fell)."""
        held = self._level(track, left, at, self._fast_s)
        if held is None:
            return False
        if zone.only is not None or heard.level(at, self._fast_s)[0] == fast:  # the zone's loudest scanner
            track.lead.add(rssi - held, at)
        return fast >= held + zone.margin and track.lead.passed(zone.samples)

    def _hold(self, track: ShopperTrack, zone: ZoneRules, old: ZoneRules, at: float, left: bool = False) -> int:
        """Consecutive samples ``zone`` must lead ``old`` for: its ``handoff_samples``, or only
        TREND_HOLD_SAMPLES while the shopper is visibly walking from ``old`` to ``zone``: over the
        last TREND_SPAN_S the new zone's level rises and the old one's falls, their slopes apart by
        TREND_T standard errors (:meth:`RssiWindow.trend`). The hold is there for noise that puts
        the new zone ahead for a moment; a trend that clear is not that noise. Read for the entry just
        after leaving ``old`` (``left``), whose exit already says the shopper walked away from it, and
        (:data:`~edge.presence_timing.REMOTE_TREND_HOLD`, off since session 36) for a hand-off with a
        zone heard through a peer; otherwise the hold stands between two zones, heard first-hand or not."""
        if track.candidate_n >= zone.samples or not (
            left or (REMOTE_TREND_HOLD and (self._remote(zone) or self._remote(old)))
        ):
            return zone.samples
        rising = self._trend(track, zone, at)
        falling = self._trend(track, old, at)
        if rising is None or falling is None:
            return zone.samples
        (rise, rise_se), (fall, fall_se) = rising, falling
        if rise <= 0.0 or fall >= 0.0 or rise - fall < TREND_T * math.hypot(rise_se, fall_se):
            return zone.samples
        return TREND_HOLD_SAMPLES

    def _remote(self, zone: ZoneRules) -> bool:
        """Is the zone heard through a peer's summaries (a scanner of it arrives late)?"""
        return any(self._lag.of(scanner) > REMOTE_LAG_S for scanner in zone.scanners)

    def _trend(self, track: ShopperTrack, zone: ZoneRules, at: float) -> tuple[float, float] | None:
        """The slope (dB/s) and its standard error of the zone's loudest scanner over TREND_SPAN_S."""
        best: RssiWindow | None = None
        loudest = -math.inf
        for scanner in zone.scanners:
            window = track.windows.get(scanner)
            level = None if window is None else window.level(at, self._fast_s)[0]
            if window is not None and level is not None and level > loudest:
                best, loudest = window, level
        return None if best is None else best.trend(at, TREND_SPAN_S, TREND_NOISE_MIN_DB)

    def _just_left(self, track: ShopperTrack, zone: ZoneRules, at: float) -> ZoneRules | None:
        """The zone the shopper left less than HANDOFF_AFTER_EXIT_S ago, if not ``zone``: an entry
        now is that zone's hand-off, which its exit (the slow level falling) came just before."""
        left = track.left_zone
        if left is None or left is zone or at - track.left_at >= HANDOFF_AFTER_EXIT_S:
            return None
        return left
