"""The presence engine: resolved sightings in, ``entered`` / ``dwell`` / ``exited`` events out.

Pure and clock-injected: time comes only from ``Sighting.at`` and ``tick(now)``. Per shopper and
scanner an :class:`~edge.rssi.RssiWindow` keeps ``rssi_window_s`` of samples; a zone's level is
the loudest of its scanners. Two trimmed means are read from each window: the **fast** level, over
the last :data:`~edge.constants.ENTER_WINDOW_S` (quick to rise when a shopper walks in), and the
**slow** level, over the whole window (steady enough that a shopper standing at a shelf is not
thrown out by a few weak adverts).

The state machine, per shopper (one zone at a time, or none):

- **enter** (from no zone): the zone's fast level is at or above its enter bar (:func:`enter_bar`:
  ``enter_rssi_dbm``, or left unset, derived from the zone's floor and its scanner's height) over at least
  :data:`~edge.constants.ENTER_MIN_SAMPLES` samples (or over two, by
  :data:`~edge.constants.ENTER_FEW_SAMPLES_DB` more: a slow card after a miss), its slow level
  agrees (at least :data:`~edge.constants.ENTER_SLOW_MARGIN_DB` above ``exit_rssi_dbm``, over at
  least :data:`~edge.constants.ENTER_SLOW_SAMPLES` samples; above ``enter_rssi_dbm`` when coming
  back within :data:`~edge.constants.REENTRY_GUARD_S` of leaving that zone), and it leads every
  other zone's scanner by :data:`~edge.constants.ENTER_LEAD_DB` (not a shopper in the aisle
  between two zones) -- or, less than :data:`~edge.presence_timing.HANDOFF_AFTER_EXIT_S` after
  leaving a neighbouring zone, leads that zone's scanners by ``handoff_margin_db`` and the others'
  *slow* levels by ENTER_LEAD_DB for ``handoff_samples`` samples (one, on a clear trend; or as soon
  as the hand-off's sequential test passes: see hand-off): the old zone's exit came just before its
  hand-off would have, and the entry is judged as that hand-off, whose count and test the exit keeps.
- **stay**: while the slow level is at or above the zone's exit threshold (:func:`exit_bar`:
  ``exit_rssi_dbm``, lowered while the enter bar is derived for a zone whose edge lies further from its
  scanner than the default zone's -- a higher scanner, a larger floor), or under it but not surely (the
  level now, read from the trend, not one standard error under it: :func:`~edge.presence_sure.sure_out`;
  for an advertiser slower than a 2 Hz card, whose slow level lags seconds, the level now alone decides,
  by TREND_T standard errors).
  Between the two thresholds is the dead band: nothing changes there, whatever the noise does.
- **exit**, on a timer (:meth:`PresenceEngine.tick`): at the first tick after a sample whose slow
  level fell below the exit threshold, surely (the shopper walked away; the slow level reaches back for
  :data:`~edge.constants.EXIT_SLOW_SAMPLES` samples of a slow advertiser, and is judged only on at
  least :data:`~edge.constants.EXIT_MIN_SAMPLES`), or once the zone's scanners have been silent
  longer than this advertiser's own silence limit (:mod:`edge.presence_timing`: from its advert
  interval and loss, learned per scanner, plus the scanner's delivery lag; at least
  :data:`~edge.presence_timing.SILENCE_MIN_S`), and at the latest ``exit_timeout_s`` after the last
  sample of the zone (the shopper went silent: left the building, or the phone stopped) -- unless
  the silence is more likely a pause (:func:`~edge.presence_timing.hold_s`): it began while the slow
  level placed the shopper further inside than the slowest walker crosses in that time, or it is
  no longer than this advertiser's longest pause heard, or the longest recent one of its kind in the
  store (:mod:`edge.presence_pauses`, :data:`STORE_PAUSES`). No advertisement is needed for it to fire.
  For the first ``rssi_window_s`` after entering only the silence timer applies: the slow window must
  first fill with samples from inside the zone. An exit while a hand-off's
  candidate already passes the hand-off's test (on the samples counted so far:
  :meth:`~edge.presence_handoff.HandOff._handoff_stands`) is that hand-off, ``entered`` said in the same tick:
  which of the timer and the candidate's next sample came first (a peer's samples come late) decides nothing.
- **hand-off**: another zone's fast level is at or above its enter bar, and a sequential test on
  its lead over the current zone (:class:`~edge.presence_sure.LeadTest`: each advert of either zone
  read against the other's fast level, since the new zone reached its bar, the last
  HANDOFF_LEAD_MEMORY_S of them; after an exit that pre-empted it, the old zone's adverts too) puts the mean lead above
  0 by TREND_T standard errors over at least ``handoff_samples`` leads, with the fast level leading
  by ``handoff_margin_db`` at that sample and the new zone's slow level above the old one's
  (:meth:`~edge.presence_handoff.HandOff._handoff_due`, inherited) (on a clear trend, the margin alone for
  TREND_HOLD_SAMPLES samples: the entry just after an exit above, and a zone heard through a peer only with
  :data:`~edge.presence_timing.REMOTE_TREND_HOLD`, off since session 36); emits ``exited`` for the old zone then
  ``entered`` for the new one, at the same time.
- **dwell**: every ``dwell_interval_s`` while the shopper stays.

Thresholds are for a reference phone whose RSSI at 1 m is ``PresenceConfig.measured_power_1m_dbm``.
A sighting that carries its own calibrated power (iBeacon's measured power, Eddystone's ranging
data) is compared after shifting by the difference (capped at
:data:`~edge.constants.MEASURED_POWER_CORRECTION_MAX_DB`), so a weak loyalty card and a loud phone
enter at the same distance. A scanner's configured ``offset_db`` (``[[scanners]]``, measured by ``edge calibrate
--scanner``) is added to every reading it reports, as the other engines do. Events carry the slow level as heard
(``rssi``, the scanner's offset applied) and the distance estimated from it with the sender's own power.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from edge import constants as c
from edge.config import PresenceConfig, ScannerConfig, ZoneConfig
from edge.presence_handoff import HandOff
from edge.presence_offsets import SETTLED_S, OffsetLearner
from edge.presence_offsets_memory import OffsetsMemory
from edge.presence_pauses import Pauses
from edge.presence_reach import edge_radius_m, enter_bar, exit_bar, scanner_above_m
from edge.presence_sure import sure_out
from edge.presence_timing import (
    PENDING_MAX,
    SILENCE_MIN_S,
    TREND_T,
    DeliveryLag,
    SilenceRate,
    hold_s,
    pause_of,
    span_of_adverts,
    zone_silence_limit_s,
)
from edge.presence_track import ShopperTrack, ZoneRules
from edge.presence_values import Occupant, PresenceEvent, Sighting, Sightings
from edge.rssi import RssiWindow, distance_m

__all__ = ["Occupant", "PresenceEngine", "PresenceEvent", "Sighting", "Sightings"]

STORE_PAUSES = True
"""A shopper's silence is held as long as the longest recent pause of any advertiser of its kind in the store
(:mod:`edge.presence_pauses`), not only its own: its phone's first pause is no longer an exit (session 33). Only a
pause this gateway's own scanners heard both sides of teaches the store: a peer's summaries that stop (a broker
restart) are a silence of the store's messages, not of the phone. False: each shopper's own pauses only, the rule
before."""


class PresenceEngine(HandOff):
    """See the module docstring."""

    def __init__(
        self, zones: Sequence[ZoneConfig], presence: PresenceConfig, scanners: Sequence[ScannerConfig] = ()
    ) -> None:
        exponent = presence.path_loss_exponent
        reference = presence.measured_power_1m_dbm
        self._zones: dict[str, ZoneRules] = {}
        for config in zones:
            above_m = scanner_above_m(config, scanners)
            exit_dbm = exit_bar(config, exponent, scanners)
            edge_m = edge_radius_m(reference, exit_dbm, exponent, above_m)
            enter_dbm = enter_bar(config, exponent, scanners)
            self._zones[config.id] = ZoneRules(config, enter_dbm, exit_dbm, above_m, edge_m)
        by_scanner: dict[str, list[ZoneRules]] = {}
        for zone in self._zones.values():
            for scanner in zone.scanners:
                by_scanner.setdefault(scanner, []).append(zone)
        self._by_scanner = {scanner: tuple(found) for scanner, found in by_scanner.items()}
        self._window_s = presence.rssi_window_s
        self._history_s = max(presence.rssi_window_s, c.RSSI_HISTORY_S)
        self._fast_s = min(c.ENTER_WINDOW_S, presence.rssi_window_s)
        self._reference_dbm = presence.measured_power_1m_dbm
        self._exponent = presence.path_loss_exponent
        self._tracks: dict[str, ShopperTrack] = {}
        self._present: dict[str, ShopperTrack] = {}
        self._next_purge: float | None = None
        self._lag = DeliveryLag()
        self._pauses = Pauses()
        self._calibration = {s.id: s.offset_db for s in scanners if s.offset_db}
        """Per scanner: the configured ``offset_db`` added to every reading it reports (``edge calibrate
        --scanner``); empty when no scanner has one, the usual case, which costs the hot path one test."""
        self._offsets = OffsetLearner(
            zones, scanners, presence.path_loss_exponent, presence.measured_power_1m_dbm, presence.learn_offsets
        )
        self._learning = self._offsets.learning
        self._learned = self._offsets.applied  # (the learner updates it in place)
        for zone in self._zones.values():
            zone.expected = self._offsets.expected(zone.id)  # (read per sighting: no call for the others' scanners)

    # --- hot path ----------------------------------------------------------------------------

    def observe(self, sighting: Sighting) -> list[PresenceEvent]:
        """Take one sighting; return the events it causes (entered, or a hand-off's exited + entered)."""
        scanner = sighting.scanner
        zones = self._by_scanner.get(scanner)
        if zones is None:
            return []
        token = sighting.token
        at = sighting.at
        rssi: float = sighting.rssi
        if self._calibration:
            rssi += self._calibration.get(scanner, 0.0)
        track = self._tracks.get(token)
        if (
            track is not None
            and (settled := track.zone) is not None
            and scanner in settled.expected  # (empty unless the layout lets this zone teach the learner)
            and at - track.since >= SETTLED_S
        ):
            self._offsets.sample(track, track.since, scanner, rssi + track.offset, settled.expected[scanner])
        if self._learned:
            rssi += self._learned.get(scanner, 0.0)
        if track is None:
            track = self._tracks[token] = ShopperTrack(sighting.via, self._reference_dbm)
        track.via = sighting.via
        power = sighting.measured_power_1m_dbm
        if power is not None and power != track.power:
            limit = c.MEASURED_POWER_CORRECTION_MAX_DB
            track.power = power
            track.offset = min(max(self._reference_dbm - power, -limit), limit)
        window = track.windows.get(scanner)
        if window is None:
            window = track.windows[scanner] = RssiWindow(self._history_s)
        window.add(at, rssi)
        lag = self._lag
        if at >= lag.newest and scanner in lag.punctual:  # DeliveryLag.saw's usual case, in place
            lag.newest = at
        else:
            lag.saw(scanner, at)
        rate = track.rates.get(scanner)
        if rate is None:
            track.rates[scanner] = SilenceRate(at)
        else:  # counted when the silence limit is read (SilenceRate.settle)
            pending = rate.pending
            pending.append(at)
            if len(pending) >= PENDING_MAX:
                rate.settle()
        near = rssi + track.offset >= zones[0].exit
        if at > track.last_seen:
            local = scanner in lag.punctual
            if at - track.last_seen >= SILENCE_MIN_S:  # silent at every scanner: a pause of the advertiser?
                pause = pause_of(at - track.last_seen, track.near, near)
                if pause > track.pause_s:
                    track.pause_s = pause
                if pause > 0.0 and STORE_PAUSES and local and track.local:  # (not a peer's summaries that stopped)
                    self._pauses.heard(track.via, pause)
            track.last_seen = at
            track.near = near
            track.local = local
        events: list[PresenceEvent] = []
        for zone in zones:
            if track.zone is zone:
                self._stay(track, zone, at, rssi, window)
            else:
                self._consider(token, track, zone, at, events, rssi, window)
        return events

    def _stay(self, track: ShopperTrack, zone: ZoneRules, at: float, rssi: float, heard: RssiWindow) -> None:
        """A sample of the current zone: re-arm the silence timer, note whether the shopper is leaving."""
        if at > track.heard_at:  # a peer's samples may arrive older than one already heard
            track.heard_at = at
        slow: float | None = None
        count = 0
        windows = track.windows
        loudest: RssiWindow | None = None
        for scanner in zone.scanners:
            window = windows.get(scanner)
            if window is not None:
                value, used = window.level(at, self._window_s, 1, c.EXIT_SLOW_SAMPLES, True)
                if value is not None and (slow is None or value > slow):
                    slow, count, loudest = value, used, window
        if slow is None or loudest is None or count < c.EXIT_MIN_SAMPLES:
            track.weak = False  # too few samples to judge: the silence timer decides
            span_of_adverts(track.rates, windows, zone.scanners, c.EXIT_SLOW_SAMPLES, self._fast_s, self._history_s)
        else:
            track.rssi = slow
            track.weak = at - track.since >= self._window_s and (
                sure_out(loudest, at, zone.exit, track.offset)  # the level now, surely under (edge.presence_sure)
                if slow + track.offset < zone.exit
                # a slow advertiser's slow level reaches back seconds (its window stretched): the line alone
                else loudest.window_s > self._history_s and sure_out(loudest, at, zone.exit, track.offset, TREND_T)
            )
        candidate = track.candidate
        if candidate is not None:
            rival = self._level(track, candidate, at, self._fast_s)
            if rival is None or rival + track.offset < candidate.enter:
                track.candidate = None
                track.candidate_n = 0
                track.lead.clear()
                return
            held = self._level(track, zone, at, self._fast_s)
            if held is not None and rival < held + candidate.margin:
                track.candidate_n = 0  # the margin's streak (a trend's quick hand-off) is broken
            if zone.only is not None or heard is loudest:  # this advert of the zone, against the candidate
                track.lead.add(rival - rssi, at)

    def _consider(
        self,
        token: str,
        track: ShopperTrack,
        zone: ZoneRules,
        at: float,
        events: list[PresenceEvent],
        rssi: float,
        heard: RssiWindow,
    ) -> None:
        """A sample of another zone: count it towards entering it (or handing off to it)."""
        fast = self._level(track, zone, at, self._fast_s, c.ENTER_MIN_SAMPLES)
        current = track.zone
        bar = zone.enter
        if fast is None and current is None:  # a slow advertiser after a miss: fewer samples, a higher bar
            fast = self._level(track, zone, at, self._fast_s, c.ENTER_FEW_SAMPLES)
            bar += c.ENTER_FEW_SAMPLES_DB
        if fast is None:  # an advertiser too slow for ENTER_WINDOW_S: its fast level over its own adverts
            span = span_of_adverts(
                track.rates, track.windows, zone.scanners, c.ENTER_MIN_SAMPLES, self._fast_s, self._history_s
            )
            if span is not None:
                fast = self._level(track, zone, at, span, c.ENTER_MIN_SAMPLES)
                bar = zone.enter
        candidate = track.candidate
        if current is None and candidate is not None and candidate is not zone and track.left_zone is zone:
            self._lead_from_left(track, zone, candidate, at, rssi, heard)  # the zone just left, against its successor
        if current is not None and fast is not None and fast + track.offset >= bar:
            if not self._handoff_due(track, zone, current, fast, at, rssi, heard):
                return
        elif fast is None or fast + track.offset < bar or not self._steady(track, zone, current, fast, at):
            if track.candidate is zone:
                track.candidate = None
                track.candidate_n = 0
                track.lead.clear()
            return
        elif track.candidate is zone:
            track.candidate_n += 1
        else:
            track.candidate = zone
            track.candidate_n = 1
        if current is None:
            if track.candidate_n < c.ENTER_SAMPLES:
                return
            if self._louder_elsewhere(track, zone, fast, at):  # from the aisle: not yet...
                left = self._just_left(track, zone, at)  # ...but held like a hand-off from the zone just left?
                if left is None:
                    return
                if track.candidate_n < self._hold(track, zone, left, at, True) and not self._leads_left(
                    track, zone, left, fast, at, rssi, heard
                ):
                    return
                if self._louder_elsewhere(track, zone, fast, at, left):
                    return
        if current is not None:
            events.append(self._event("exited", token, track, current, at))
            track.left_zone, track.left_at = current, at
        else:
            self._present[token] = track
        self._enter(token, track, zone, at, fast, events)

    def _enter(
        self, token: str, track: ShopperTrack, zone: ZoneRules, at: float, fast: float, events: list[PresenceEvent]
    ) -> None:
        """Place the shopper in ``zone`` at ``at`` (an entry, or a hand-off's second half) and say so."""
        track.zone = zone
        track.since = track.heard_at = track.last_dwell = at
        track.weak = False
        track.rssi = fast
        track.candidate = None
        track.candidate_n = 0
        track.lead.clear()
        events.append(self._event("entered", token, track, zone, at))

    def _steady(self, track: ShopperTrack, zone: ZoneRules, current: ZoneRules | None, fast: float, at: float) -> bool:
        """Besides a fast level at the enter threshold: is the evidence steady enough to move?

        From no zone, the slow level must agree (above the exit threshold by
        ENTER_SLOW_MARGIN_DB; above the *enter* threshold when coming back into a zone left less
        than REENTRY_GUARD_S ago). From another zone, this one must lead it by the hand-off margin.
        """
        if current is not None:
            held = self._level(track, current, at, self._fast_s)
            return held is None or fast >= held + zone.margin
        slow = self._level(track, zone, at, self._window_s, 1, c.ENTER_SLOW_SAMPLES)
        if slow is None:
            return False
        back_soon = track.left_zone is zone and at - track.left_at < c.REENTRY_GUARD_S
        floor = zone.enter if back_soon else zone.exit + c.ENTER_SLOW_MARGIN_DB
        return slow + track.offset >= floor

    def _louder_elsewhere(
        self, track: ShopperTrack, zone: ZoneRules, fast: float, at: float, left: ZoneRules | None = None
    ) -> bool:
        """Does a scanner of another zone hear the shopper within ENTER_LEAD_DB of this zone's level?

        With ``left`` (the zone just left: the entry is its pre-empted hand-off) the scanners of
        ``left`` need only be the hand-off margin below, and a third zone's scanner is read over the
        slow window (robust, RSSI_WINDOW_S, as the exit reads it): 8-12 samples rather than the fast
        level's 5-7, which at a scanner two zones away withheld the aisle lead for seconds, and half
        a second more behind a level that rises as the shopper walks on into the new zone
        (docs/multi-gateway.md, "The threshold engine's slow hand-offs")."""
        for scanner, window in track.windows.items():
            if scanner not in zone.scanners:
                lead = c.ENTER_LEAD_DB
                if left is None:
                    other = window.level(at, self._fast_s)[0]
                elif scanner in left.scanners:
                    other, lead = window.level(at, self._fast_s)[0], zone.margin
                else:
                    other = window.level(at, self._window_s, 1, c.EXIT_SLOW_SAMPLES, True)[0]
                if other is not None and other > fast - lead:
                    return True
        return False

    def _event(
        self, kind: Literal["entered", "dwell", "exited"], token: str, track: ShopperTrack, zone: ZoneRules, at: float
    ) -> PresenceEvent:
        return PresenceEvent(
            kind,
            token,
            zone.id,
            at,
            track.via,
            track.rssi,
            distance_m(track.rssi, track.power, self._exponent),
            max(0.0, at - track.since),
        )

    # --- timers ------------------------------------------------------------------------------

    def tick(self, now: float) -> list[PresenceEvent]:
        """Fire the timers due at ``now``: exits (walked away, or silent), dwell (every ``dwell_interval_s``)."""
        events: list[PresenceEvent] = []
        gone: list[str] = []
        self._lag.ticked(now)
        for token, track in self._present.items():
            zone = track.zone
            assert zone is not None
            silent_s = now - track.heard_at
            if track.weak or (
                (silent_s >= SILENCE_MIN_S or silent_s >= zone.exit_timeout_s)
                and silent_s >= self._silence_limit_s(track, zone)
            ):
                events.append(self._event("exited", token, track, zone, now))
                successor = self._handoff_stands(track, zone, now)
                if successor is None:
                    gone.append(token)
                else:  # the hand-off the exit pre-empted, due now on the evidence counted: said with the exit
                    track.left_zone, track.left_at = zone, now
                    self._enter(token, track, successor[0], now, successor[1], events)
            elif now - track.last_dwell >= zone.dwell_s:
                track.last_dwell += zone.dwell_s
                if now - track.last_dwell >= zone.dwell_s:
                    track.last_dwell = now
                events.append(self._event("dwell", token, track, zone, now))
        for token in gone:
            track = self._present.pop(token)
            if track.cal:
                self._offsets.close(track)
            track.left_zone, track.left_at = track.zone, now
            track.zone = None
            track.weak = False
            # A hand-off counting towards another zone keeps its count: the exit came first, and the
            # entry that follows is that hand-off (_just_left), finished by the samples still due.
        self._purge(now)
        return events

    def _silence_limit_s(self, track: ShopperTrack, zone: ZoneRules) -> float:
        """How long the zone may stay silent before this shopper is gone (edge.presence_timing)."""
        level = track.rssi + track.offset  # the slow level at the zone's last sample, for the reference phone
        pause = track.pause_s
        kind = self._pauses.of(track.via)  # the store's phones of its kind pause alike (edge.presence_pauses)
        if kind > pause:
            pause = kind
        hold = hold_s(level, zone.edge_m, zone.above_m, self._reference_dbm, self._exponent, pause)
        return zone_silence_limit_s(track.rates, self._lag, zone.scanners, zone.exit_timeout_s, hold)

    def _purge(self, now: float) -> None:
        """Drop shoppers in no zone who have been silent for a while: memory stays bounded."""
        if self._next_purge is not None and now < self._next_purge:
            return
        idle_s = max(self._window_s, c.REENTRY_GUARD_S)
        self._next_purge = now + idle_s
        horizon = now - idle_s
        idle = [token for token, t in self._tracks.items() if t.zone is None and t.last_seen < horizon]
        for token in idle:
            del self._tracks[token]

    # --- consent and queries -----------------------------------------------------------------

    def radio(self) -> dict[str, float | None]:
        """What the engine has learned of the store's radio: per scanner its offset, once a scanner has enough
        visits (:meth:`edge.presence_offsets.OffsetLearner.report`); empty before, or with no layout to learn from."""
        return self._offsets.report()

    @property
    def learns_offsets(self) -> bool:
        """Whether the layout lets the engine learn its scanners' offsets (:mod:`edge.presence_offsets`)."""
        return self._learning

    def memory(self) -> OffsetsMemory | None:
        """The learned scanner offsets in use, to be kept across a restart (:mod:`edge.presence_offsets_memory`); None
        while there is nothing to keep (none learned, none recalled)."""
        if not self._learned and not self._offsets.base:
            return None
        return OffsetsMemory(offsets_db=dict(self._learned))

    def recall(self, memory: OffsetsMemory) -> None:
        """Start from scanner offsets learned before (:meth:`memory` of a run before in this store)."""
        self._offsets.recall(memory.offsets_db)

    def forget(self, token: str) -> None:
        """Drop everything about ``token`` at once (consent withdrawn); emits nothing (its visit's running sums
        for the offsets go with its track, unlearned)."""
        self._tracks.pop(token, None)
        self._present.pop(token, None)

    def occupants(self, zone: str | None = None) -> list[Occupant]:
        """Who is where now (in one zone, or in all)."""
        found: list[Occupant] = []
        for token, track in self._present.items():
            current = track.zone
            assert current is not None
            if zone is None or current.id == zone:
                distance = distance_m(track.rssi, track.power, self._exponent)
                found.append(Occupant(token, current.id, track.since, track.rssi, distance, track.via))
        return found

    def zone_of(self, token: str) -> str | None:
        track = self._present.get(token)
        return None if track is None or track.zone is None else track.zone.id
