"""The zone estimator: a forward filter per shopper over {outside, zone 1 .. zone n}.

Same API and events as :class:`~edge.presence.PresenceEngine` (``PresenceConfig.engine = "model"``), pure
and clock-injected, but no dBm threshold anywhere: each shopper carries a posterior over the states,

- **predicted** between samples with time-continuous transition rates (irregular sample times are fine):
  out of a zone to "outside" at :data:`~edge.constants.MODEL_ZONE_LEAVE_RATE_HZ`, into an adjacent zone
  (:mod:`edge.zone_layout`) at walking speed over a zone's width, from outside into each zone at
  :data:`~edge.constants.MODEL_ZONE_ENTER_RATE_HZ` / n;
- **updated** by every sighting with the likelihood of its RSSI at that scanner in each state
  (:mod:`edge.radio_model`: log-distance path loss, heavy-tailed), after correcting the RSSI for the
  advertiser's own calibrated power, the scanner's configured ``offset_db`` and a per-scanner offset
  learned online from rostered traffic (self-calibration, relative between scanners, bounded);
- **updated by silence** on the timer: the likelihood that a shopper still in a zone goes unheard this
  long, from the advertiser's own interval and loss (:mod:`edge.advert_rate`). Silence only ever moves
  probability from the zones to "outside", never into a zone.

Events come from the posterior with hysteresis: enter a zone at P >= :data:`~edge.constants.MODEL_ENTER_P`,
hand off when another zone reaches it, leave when P < :data:`~edge.constants.MODEL_LEAVE_P`, never within
:data:`~edge.constants.MODEL_MIN_HOLD_S` of entering; ``dwell`` as the threshold engine. Events carry the
posterior as ``probability``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

from edge import constants as c
from edge.advert_rate import AdvertRate
from edge.config import PresenceConfig, ScannerConfig, ZoneConfig
from edge.presence import Occupant, PresenceEvent, Sighting
from edge.radio_model import RSSI_MAX_DBM, RSSI_MIN_DBM
from edge.rssi import distance_m
from edge.self_calibration import SelfCalibration
from edge.zone_layout import Layout

__all__ = ["ZoneEstimator"]

_LEVEL_WEIGHT = 0.3
"""Weight of a new sample in the smoothed RSSI that events report (not used for decisions)."""


class _Track:
    __slots__ = (
        "dwell_at", "last_seen", "levels", "offset", "p", "power", "rate", "silence", "since", "t", "via", "zone",
    )  # fmt: skip

    def __init__(self, via: str, power: float, prior: list[float], at: float) -> None:
        self.p = prior
        self.t = at
        self.zone = 0
        self.since = at
        self.dwell_at = at
        self.via = via
        self.power = power
        self.offset = 0.0
        self.rate = AdvertRate(at)
        self.silence = 1.0
        self.last_seen = at
        self.levels: dict[str, float] = {}


class ZoneEstimator:
    """See the module docstring."""

    def __init__(
        self, zones: Sequence[ZoneConfig], presence: PresenceConfig, scanners: Sequence[ScannerConfig] = ()
    ) -> None:
        self._layout = layout = Layout(zones, presence, scanners)
        self._zones = tuple(zones)
        self._ids = layout.zone_ids
        n = self._n = len(zones)
        self._tables = layout.tables
        self._offsets = dict(layout.offsets)
        self._members = layout.members
        self._cal = SelfCalibration(tuple(layout.tables))
        self._reference = presence.measured_power_1m_dbm
        self._exponent = presence.path_loss_exponent
        self._leave = c.MODEL_ZONE_LEAVE_RATE_HZ
        self._enter_each = c.MODEL_ZONE_ENTER_RATE_HZ / n if n else 0.0
        self._handoff = c.MODEL_WALK_SPEED_M_S / c.MODEL_HANDOFF_DISTANCE_M
        self._adjacent = layout.adjacent
        self._out_rate = [n * self._enter_each] + [self._leave + self._handoff * len(a) for a in layout.adjacent[1:]]
        prior = [c.MODEL_PRIOR_ZONE_P] * (n + 1)
        prior[0] = 1.0 - n * c.MODEL_PRIOR_ZONE_P if n * c.MODEL_PRIOR_ZONE_P < 1 else 1.0 / (n + 1)
        if prior[0] == 1.0 / (n + 1):
            prior = [1.0 / (n + 1)] * (n + 1)
        self._prior = prior
        self._tracks: dict[str, _Track] = {}
        self._present: dict[str, _Track] = {}
        self._next_purge: float | None = None

    # --- hot path ----------------------------------------------------------------------------

    def observe(self, sighting: Sighting) -> list[PresenceEvent]:
        """Take one sighting; return the events it causes (entered, exited, or a hand-off's pair)."""
        scanner = sighting.scanner
        table = self._tables.get(scanner)
        if table is None or not self._n:
            return []
        token, at = sighting.token, sighting.at
        track = self._tracks.get(token)
        if track is None:
            track = self._tracks[token] = _Track(sighting.via, self._reference, list(self._prior), at)
        track.via = sighting.via
        power = sighting.measured_power_1m_dbm
        if power is not None and power != track.power:
            limit = c.MEASURED_POWER_CORRECTION_MAX_DB
            track.power = power
            track.offset = min(max(self._reference - power, -limit), limit)
        track.rate.heard(at)
        if at > track.last_seen:
            track.last_seen = at
        track.silence = 1.0
        if at > track.t:
            self._predict(track.p, at - track.t)
            track.t = at
        level = sighting.rssi + self._offsets.get(scanner, 0.0) + track.offset
        index = round(level + self._cal.offset(scanner)) - RSSI_MIN_DBM
        likelihood = table[min(max(index, 0), RSSI_MAX_DBM - RSSI_MIN_DBM)]
        p = track.p
        p[:] = [a * b for a, b in zip(p, likelihood, strict=True)]
        total = sum(p)
        if total <= 0.0 or not math.isfinite(total):
            p[:] = self._prior
        else:
            p[:] = [v / total for v in p]
        members = self._members.get(scanner)
        if members is not None:
            for k in members:
                if p[k] >= c.MODEL_CAL_CONFIDENT_P:
                    self._cal.add(scanner, level)
                    break
        old = track.levels.get(scanner)
        track.levels[scanner] = sighting.rssi if old is None else old + _LEVEL_WEIGHT * (sighting.rssi - old)
        return self._decide(token, track, at)

    def _predict(self, p: list[float], dt: float) -> None:
        """Move ``p`` forward by ``dt`` seconds: each state keeps exp(-rate dt), the rest flows by the rates."""
        flows = [0.0] * len(p)
        rates = self._out_rate
        stay0 = math.exp(-rates[0] * dt)
        inflow = p[0] * (1.0 - stay0) / self._n
        p0 = p[0] * stay0
        for k in range(1, len(p)):
            pk = p[k]
            if pk:
                rate = rates[k]
                gone = pk * (1.0 - math.exp(-rate * dt))
                p0 += gone * self._leave / rate
                adjacent = self._adjacent[k]
                if adjacent:
                    share = gone * self._handoff / rate
                    for j in adjacent:
                        flows[j] += share
                flows[k] += pk - gone
            flows[k] += inflow
        flows[0] = p0
        p[:] = flows

    def _decide(self, token: str, track: _Track, at: float) -> list[PresenceEvent]:
        p = track.p
        best, best_p = 0, -1.0
        for k in range(1, len(p)):
            if p[k] > best_p:
                best, best_p = k, p[k]
        current = track.zone
        held = at - track.since >= c.MODEL_MIN_HOLD_S
        if best != current and best_p >= c.MODEL_ENTER_P and (current == 0 or held):
            events = []
            if current:
                events.append(self._event("exited", token, track, current, at))
            else:
                self._present[token] = track
            track.zone = best
            track.since = track.dwell_at = at
            events.append(self._event("entered", token, track, best, at))
            return events
        if current and held and p[current] < c.MODEL_LEAVE_P:
            return [self._leave_zone(token, track, at)]
        return []

    def _leave_zone(self, token: str, track: _Track, at: float) -> PresenceEvent:
        event = self._event("exited", token, track, track.zone, at)
        track.zone = 0
        del self._present[token]
        return event

    def _event(
        self, kind: Literal["entered", "dwell", "exited"], token: str, track: _Track, k: int, at: float
    ) -> PresenceEvent:
        rssi = self._rssi(track, k)
        return PresenceEvent(
            kind,
            token,
            self._ids[k - 1],
            at,
            track.via,
            rssi,
            distance_m(rssi, track.power, self._exponent),
            max(0.0, at - track.since),
            round(track.p[k], 3),
        )

    def _rssi(self, track: _Track, k: int) -> float:
        """The zone's smoothed RSSI as heard: the loudest of its scanners (any scanner if none heard it)."""
        levels = track.levels
        heard = [levels[s] for s in self._zones[k - 1].scanners if s in levels]
        if not heard:
            heard = list(levels.values()) or [self._reference - 30.0]
        return max(heard)

    # --- timers ------------------------------------------------------------------------------

    def tick(self, now: float) -> list[PresenceEvent]:
        """Silence evidence and exits for shoppers in a zone; dwell every ``dwell_interval_s``."""
        events: list[PresenceEvent] = []
        leave = self._leave
        for token, track in list(self._present.items()):
            silence = track.rate.silence_likelihood(now)
            if silence < 1.0 and now > track.t:
                p = track.p
                keep = math.exp(-leave * (now - track.t))
                factor = silence / track.silence
                track.silence = silence
                track.t = now
                gone = 0.0
                for k in range(1, len(p)):
                    kept = p[k] * keep
                    gone += p[k] - kept
                    p[k] = kept * factor
                p[0] += gone
                total = sum(p)
                p[:] = [v / total for v in p]
                found = self._decide(token, track, now)
                if found:
                    events.extend(found)
                    continue
            zone = self._zones[track.zone - 1]
            if now - track.dwell_at >= zone.dwell_interval_s:
                track.dwell_at += zone.dwell_interval_s
                if now - track.dwell_at >= zone.dwell_interval_s:
                    track.dwell_at = now
                events.append(self._event("dwell", token, track, track.zone, now))
        self._purge(now)
        return events

    def _purge(self, now: float) -> None:
        if self._next_purge is not None and now < self._next_purge:
            return
        self._next_purge = now + c.MODEL_IDLE_S
        horizon = now - c.MODEL_IDLE_S
        idle = [token for token, t in self._tracks.items() if t.zone == 0 and t.last_seen < horizon]
        for token in idle:
            del self._tracks[token]

    # --- consent and queries -----------------------------------------------------------------

    def forget(self, token: str) -> None:
        """Drop everything about ``token`` at once (consent withdrawn); emits nothing."""
        self._tracks.pop(token, None)
        self._present.pop(token, None)

    def occupants(self, zone: str | None = None) -> list[Occupant]:
        """Who is where now (in one zone, or in all)."""
        found: list[Occupant] = []
        for token, track in self._present.items():
            zone_id = self._ids[track.zone - 1]
            if zone is None or zone_id == zone:
                rssi = self._rssi(track, track.zone)
                distance = distance_m(rssi, track.power, self._exponent)
                found.append(Occupant(token, zone_id, track.since, rssi, distance, track.via))
        return found

    def zone_of(self, token: str) -> str | None:
        track = self._present.get(token)
        return None if track is None else self._ids[track.zone - 1]

    def posterior(self, token: str) -> dict[str | None, float]:
        """The shopper's current posterior (None = outside every zone); empty if unknown."""
        track = self._tracks.get(token)
        if track is None:
            return {}
        return {None: track.p[0], **{zone_id: track.p[k] for k, zone_id in enumerate(self._ids, start=1)}}

    def scanner_offsets(self) -> dict[str, float]:
        """The offsets self-calibration has learned so far (dB added to each scanner's readings)."""
        return self._cal.offsets()
