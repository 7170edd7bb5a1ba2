"""The presence engine: resolved sightings in, ``entered`` / ``dwell`` / ``exited`` events out.

Pure and clock-injected: time comes only from ``Sighting.at`` and ``tick(now)``. Per shopper and
scanner an :class:`~edge.rssi.RssiWindow` smooths the RSSI (trimmed mean over
``rssi_window_s``); a zone's value is the strongest of its scanners' smoothed values.

The state machine, per shopper (one zone at a time, or none):

- **enter** (from no zone): the zone's smoothed RSSI is at or above ``enter_rssi_dbm`` for
  :data:`~edge.constants.ENTER_SAMPLES` consecutive samples of that zone, and no other zone hears
  the shopper louder.
- **stay**: every sample of the current zone at or above ``exit_rssi_dbm`` re-arms the exit timer.
  Between the two thresholds is the dead band: nothing changes there, whatever the noise does.
- **exit** (on a timer, in :meth:`PresenceEngine.tick`): ``exit_timeout_s`` after the last sample
  of the current zone at or above ``exit_rssi_dbm`` -- the shopper walked away (samples went weak)
  or went silent (no samples at all). No advertisement is needed for it to fire.
- **hand-off**: another zone is at or above its ``enter_rssi_dbm`` *and* louder than the current
  zone by ``handoff_margin_db`` for ``handoff_samples`` consecutive samples; emits ``exited`` for
  the old zone then ``entered`` for the new one, at the same time.
- **dwell**: every ``dwell_interval_s`` while the shopper stays.

Thresholds are for a reference phone whose RSSI at 1 m is ``PresenceConfig.measured_power_1m_dbm``.
A sighting that carries its own calibrated power (iBeacon's measured power, Eddystone's ranging
data) is compared after shifting by the difference (capped at
:data:`~edge.constants.MEASURED_POWER_CORRECTION_MAX_DB`), so a weak loyalty card and a loud phone
enter at the same distance. Events carry the smoothed RSSI as heard, and the distance estimated
from it with the sender's own power.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from edge import constants as c
from edge.config import PresenceConfig, ZoneConfig
from edge.rssi import RssiWindow, distance_m

__all__ = ["Occupant", "PresenceEngine", "PresenceEvent", "Sighting"]


@dataclass(frozen=True, slots=True)
class Sighting:
    """One advertisement resolved to an opted-in shopper, as heard by one scanner."""

    token: str
    via: str
    scanner: str
    rssi: int
    measured_power_1m_dbm: float | None
    at: float


@dataclass(frozen=True, slots=True)
class PresenceEvent:
    """A presence change; ``rssi`` is smoothed, ``distance_m`` estimated from it."""

    kind: Literal["entered", "dwell", "exited"]
    token: str
    zone: str
    at: float
    via: str
    rssi: float
    distance_m: float
    dwell_s: float


@dataclass(frozen=True, slots=True)
class Occupant:
    """Who is in a zone now, since when, and how loud."""

    token: str
    zone: str
    since: float
    rssi: float
    distance_m: float
    via: str


class _Zone:
    __slots__ = ("dwell_s", "enter", "exit", "exit_timeout_s", "id", "margin", "samples", "scanners")

    def __init__(self, config: ZoneConfig) -> None:
        self.id = config.id
        self.scanners = config.scanners
        self.enter = config.enter_rssi_dbm
        self.exit = config.exit_rssi_dbm
        self.exit_timeout_s = config.exit_timeout_s
        self.margin = config.handoff_margin_db
        self.samples = config.handoff_samples
        self.dwell_s = config.dwell_interval_s


class _Track:
    """Everything the engine knows about one shopper."""

    __slots__ = (
        "candidate",
        "candidate_n",
        "last_dwell",
        "last_seen",
        "offset",
        "power",
        "rssi",
        "since",
        "strong_at",
        "via",
        "windows",
        "zone",
    )

    def __init__(self, via: str, power: float, offset: float) -> None:
        self.windows: dict[str, RssiWindow] = {}
        self.zone: _Zone | None = None
        self.since = 0.0
        self.strong_at = 0.0
        self.last_dwell = 0.0
        self.last_seen = 0.0
        self.rssi = 0.0
        self.candidate: _Zone | None = None
        self.candidate_n = 0
        self.via = via
        self.power = power
        self.offset = offset


class PresenceEngine:
    """See the module docstring."""

    def __init__(self, zones: Sequence[ZoneConfig], presence: PresenceConfig) -> None:
        self._zones = {zone.id: _Zone(zone) for zone in zones}
        by_scanner: dict[str, list[_Zone]] = {}
        for zone in self._zones.values():
            for scanner in zone.scanners:
                by_scanner.setdefault(scanner, []).append(zone)
        self._by_scanner = {scanner: tuple(found) for scanner, found in by_scanner.items()}
        self._window_s = presence.rssi_window_s
        self._reference_dbm = presence.measured_power_1m_dbm
        self._exponent = presence.path_loss_exponent
        self._tracks: dict[str, _Track] = {}
        self._present: dict[str, _Track] = {}
        self._next_purge: float | None = None

    # --- hot path ----------------------------------------------------------------------------

    def observe(self, sighting: Sighting) -> list[PresenceEvent]:
        """Take one sighting; return the events it causes (entered, or a hand-off's exited + entered)."""
        zones = self._by_scanner.get(sighting.scanner)
        if zones is None:
            return []
        token = sighting.token
        at = sighting.at
        track = self._tracks.get(token)
        if track is None:
            track = self._tracks[token] = _Track(sighting.via, self._reference_dbm, 0.0)
        track.via = sighting.via
        power = sighting.measured_power_1m_dbm
        if power is not None and power != track.power:
            self._set_power(track, power)
        window = track.windows.get(sighting.scanner)
        if window is None:
            window = track.windows[sighting.scanner] = RssiWindow(self._window_s)
        smoothed = window.add(at, sighting.rssi)
        if at > track.last_seen:
            track.last_seen = at
        events: list[PresenceEvent] = []
        for zone in zones:
            value = smoothed if len(zone.scanners) == 1 else self._value(track, zone, at)
            if value is not None:
                self._step(token, track, zone, value, at, events)
        return events

    def _set_power(self, track: _Track, power: float) -> None:
        limit = c.MEASURED_POWER_CORRECTION_MAX_DB
        track.power = power
        track.offset = min(max(self._reference_dbm - power, -limit), limit)

    def _value(self, track: _Track, zone: _Zone, now: float) -> float | None:
        """The zone's smoothed RSSI for this shopper: the loudest of its scanners, None if unheard."""
        best: float | None = None
        windows = track.windows
        for scanner in zone.scanners:
            window = windows.get(scanner)
            if window is not None:
                value = window.value(now)
                if value is not None and (best is None or value > best):
                    best = value
        return best

    def _step(
        self, token: str, track: _Track, zone: _Zone, value: float, at: float, events: list[PresenceEvent]
    ) -> None:
        level = value + track.offset
        current = track.zone
        if current is zone:
            track.rssi = value
            if level >= zone.exit:
                track.strong_at = at
            candidate = track.candidate
            if candidate is not None:
                rival = self._value(track, candidate, at)
                if rival is None or rival + track.offset < level + candidate.margin:
                    track.candidate = None
                    track.candidate_n = 0
            return
        qualifies = level >= zone.enter
        if qualifies and current is not None:
            held = self._value(track, current, at)
            qualifies = held is None or level >= held + track.offset + zone.margin
        if not qualifies:
            if track.candidate is zone:
                track.candidate = None
                track.candidate_n = 0
            return
        if track.candidate is zone:
            track.candidate_n += 1
        else:
            track.candidate = zone
            track.candidate_n = 1
        if current is None:
            if track.candidate_n < c.ENTER_SAMPLES or self._louder_elsewhere(track, zone, value, at):
                return
        elif track.candidate_n < zone.samples:
            return
        if current is not None:
            events.append(self._event("exited", token, track, current, at))
        else:
            self._present[token] = track
        track.zone = zone
        track.since = at
        track.strong_at = at
        track.last_dwell = at
        track.rssi = value
        track.candidate = None
        track.candidate_n = 0
        events.append(self._event("entered", token, track, zone, at))

    def _louder_elsewhere(self, track: _Track, zone: _Zone, value: float, at: float) -> bool:
        for scanner, window in track.windows.items():
            if scanner in zone.scanners:
                continue
            other = window.value(at)
            if other is not None and other > value - c.ENTER_LEAD_DB:
                return True
        return False

    def _event(
        self, kind: Literal["entered", "dwell", "exited"], token: str, track: _Track, zone: _Zone, at: float
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
        """Fire the timers due at ``now``: exits (``exit_timeout_s``), dwell (every ``dwell_interval_s``)."""
        events: list[PresenceEvent] = []
        gone: list[str] = []
        for token, track in self._present.items():
            zone = track.zone
            assert zone is not None
            if now - track.strong_at >= zone.exit_timeout_s:
                events.append(self._event("exited", token, track, zone, now))
                gone.append(token)
            elif now - track.last_dwell >= zone.dwell_s:
                track.last_dwell += zone.dwell_s
                if now - track.last_dwell >= zone.dwell_s:
                    track.last_dwell = now
                events.append(self._event("dwell", token, track, zone, now))
        for token in gone:
            track = self._present.pop(token)
            track.zone = None
            track.candidate = None
            track.candidate_n = 0
        self._purge(now)
        return events

    def _purge(self, now: float) -> None:
        """Drop shoppers in no zone who have not been heard for a window: bounded memory."""
        if self._next_purge is not None and now < self._next_purge:
            return
        self._next_purge = now + self._window_s
        horizon = now - self._window_s
        idle = [token for token, t in self._tracks.items() if t.zone is None and t.last_seen < horizon]
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
            current = track.zone
            assert current is not None
            if zone is None or current.id == zone:
                found.append(
                    Occupant(
                        token,
                        current.id,
                        track.since,
                        track.rssi,
                        distance_m(track.rssi, track.power, self._exponent),
                        track.via,
                    )
                )
        return found

    def zone_of(self, token: str) -> str | None:
        track = self._present.get(token)
        return None if track is None or track.zone is None else track.zone.id
