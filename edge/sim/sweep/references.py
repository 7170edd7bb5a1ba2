"""Two naive reference engines, with the presence engine's API, for the sweep to beat.

- :class:`NearestScanner`: every sample at or above the midpoint of the (fixed) enter and exit thresholds
  places the shopper in the zone of the loudest such sample of the last :data:`NEAREST_RECENT_S`
  (no smoothing, no margin: how ESPresense-style room presence behaves); out when the zone has
  heard no such sample for its ``exit_timeout_s``.
- :class:`EmaMargin`: an exponential moving average per scanner (time constant :data:`EMA_TAU_S`),
  a zone's level the loudest of its scanners'; in at ``enter_rssi_dbm`` (unset: the fixed
  ``ENTER_RSSI_DBM``, never the engine's derived bar), out below it minus
  :data:`EMA_MARGIN_DB`, a hand-off when another zone leads by the margin; every change must hold
  for :data:`EMA_HOLD_S`; out after ``exit_timeout_s`` of silence.

Both shift a sighting by its declared power's difference from ``measured_power_1m_dbm``, as the
engine does. Events carry no smoothed RSSI worth reading (``rssi`` is the level, ``distance_m`` 0).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from edge import constants as c
from edge.config import PresenceConfig, ZoneConfig
from edge.presence import Occupant, PresenceEvent, Sighting

NEAREST_RECENT_S = 1.0
"""A scanner's last sample counts for the nearest-scanner choice while younger than this."""
EMA_TAU_S = 1.5
"""Time constant of the moving average: about 6 samples of the app at 4 Hz."""
EMA_MARGIN_DB = 3.0
"""Hysteresis: out below ``enter - margin``; a rival zone must lead by it."""
EMA_HOLD_S = 1.0
"""A change must be wanted this long before it is made."""


class _Base:
    def __init__(self, zones: Sequence[ZoneConfig], presence: PresenceConfig) -> None:
        self._zones = {z.id: z for z in zones}
        # The naive references keep the fixed bar (ENTER_RSSI_DBM unless the operator set one): the derived
        # bar is the threshold engine's own refinement, not a baseline's.
        self._enter = {z.id: c.ENTER_RSSI_DBM if z.enter_rssi_dbm is None else z.enter_rssi_dbm for z in zones}
        self._zone_of_scanner = {s: z.id for z in zones for s in z.scanners}
        self._reference = presence.measured_power_1m_dbm
        self._zone: dict[str, tuple[str, float]] = {}
        self._heard: dict[tuple[str, str], float] = {}
        """Per (token, zone): when the zone last heard the token (a sample that counts)."""
        self._levels: dict[str, dict[str, tuple[float, float]]] = {}

    def _level(self, s: Sighting) -> float:
        power = s.measured_power_1m_dbm
        return s.rssi + (0.0 if power is None else self._reference - power)

    def _set(self, token: str, zone: str | None, at: float, level: float) -> list[PresenceEvent]:
        events: list[PresenceEvent] = []
        current = self._zone.get(token)
        if current is not None and current[0] != zone:
            events.append(PresenceEvent("exited", token, current[0], at, "", level, 0.0, at - current[1]))
            del self._zone[token]
        if zone is not None and (current is None or current[0] != zone):
            self._zone[token] = (zone, at)
            events.append(PresenceEvent("entered", token, zone, at, "", level, 0.0, 0.0))
        return events

    def tick(self, now: float) -> list[PresenceEvent]:
        events: list[PresenceEvent] = []
        for token, (zone, _) in list(self._zone.items()):
            if now - self._heard.get((token, zone), -math.inf) >= self._zones[zone].exit_timeout_s:
                events += self._set(token, None, now, -math.inf)
        return events

    def zone_of(self, token: str) -> str | None:
        current = self._zone.get(token)
        return None if current is None else current[0]

    def forget(self, token: str) -> None:
        self._zone.pop(token, None)
        self._levels.pop(token, None)

    def occupants(self, zone: str | None = None) -> list[Occupant]:
        return [
            Occupant(token, z, since, 0.0, 0.0, "")
            for token, (z, since) in self._zone.items()
            if zone is None or zone == z
        ]


class NearestScanner(_Base):
    """See the module docstring."""

    def __init__(self, zones: Sequence[ZoneConfig], presence: PresenceConfig) -> None:
        super().__init__(zones, presence)
        self._bar: dict[str, float] = {}
        """Per zone: the midpoint of its enter and (fixed) exit thresholds, which a sample must reach."""
        for z in zones:
            exit_dbm = c.EXIT_RSSI_DBM if z.exit_rssi_dbm is None else z.exit_rssi_dbm  # the fixed bar
            self._bar[z.id] = (self._enter[z.id] + exit_dbm) / 2

    def observe(self, s: Sighting) -> list[PresenceEvent]:
        scanner = s.scanner
        zone = self._zone_of_scanner.get(scanner)
        if zone is None:
            return []
        power = s.measured_power_1m_dbm  # (_level, inline)
        level = s.rssi + (0.0 if power is None else self._reference - power)
        if level < self._bar[zone]:
            return []
        token, now = s.token, s.at
        self._heard[(token, zone)] = now
        heard = self._levels.get(token)
        if heard is None:
            heard = self._levels[token] = {}
        heard[scanner] = (level, now)
        best, best_level = zone, level
        for other, (value, at) in heard.items():
            if now - at < NEAREST_RECENT_S and value > best_level:
                best, best_level = self._zone_of_scanner[other], value
        current = self._zone.get(token)
        if current is not None and current[0] == best:
            return []  # (_set would change nothing)
        return self._set(token, best, now, best_level)


class EmaMargin(_Base):
    """See the module docstring."""

    def __init__(self, zones: Sequence[ZoneConfig], presence: PresenceConfig) -> None:
        super().__init__(zones, presence)
        self._wanted: dict[str, tuple[str | None, float]] = {}
        self._timeout = {s: (z, self._zones[z].exit_timeout_s) for s, z in self._zone_of_scanner.items()}
        """Per scanner: its zone and the zone's exit timeout (a level older than it no longer counts)."""
        self._averages: dict[str, dict[str, tuple[float, float, str, float]]] = {}
        """Per token, per scanner: its moving average, when it was last moved, and the scanner's zone and timeout
        (carried beside the level: the loop over a token's scanners looks nothing up)."""

    def observe(self, s: Sighting) -> list[PresenceEvent]:
        scanner = s.scanner
        found = self._timeout.get(scanner)
        if found is None:
            return []
        zone, timeout = found
        token, at = s.token, s.at
        self._heard[(token, zone)] = at
        levels = self._averages.get(token)
        if levels is None:
            levels = self._averages[token] = {}
        previous = levels.get(scanner)
        power = s.measured_power_1m_dbm  # (_level, inline)
        level = s.rssi + (0.0 if power is None else self._reference - power)
        if previous is not None:
            alpha = 1.0 - math.exp(-(at - previous[1]) / EMA_TAU_S)
            level = previous[0] + alpha * (level - previous[0])
        levels[scanner] = (level, at, zone, timeout)
        by_zone: dict[str, float] = {}  # (per zone, the loudest level of its scanners still counting)
        loudest = by_zone.get
        for value, when, z, expiry in levels.values():
            if at - when < expiry:
                top = loudest(z)
                if top is None or value > top:
                    by_zone[z] = value
        if len(by_zone) == 1:  # (the zone that leads: the first of the loudest, as max(by_zone, key=...) picks)
            ((best, top),) = by_zone.items()
        else:
            top = max(by_zone.values())
            for name, value in by_zone.items():
                if value == top:
                    best = name
                    break
        return self._decide(token, at, by_zone, best, top)

    def _decide(self, token: str, at: float, by_zone: dict[str, float], best: str, top: float) -> list[PresenceEvent]:
        """The change ``token`` wants, given each zone's level (``by_zone``) and the zone that leads, at ``top``;
        made once it has been wanted for :data:`EMA_HOLD_S`."""
        held_now = self._zone.get(token)
        current = None if held_now is None else held_now[0]
        want: str | None = current
        if current is None:
            if top >= self._enter[best]:
                want = best
        else:
            held = by_zone.get(current, -math.inf)
            if best != current and top >= max(self._enter[best], held + EMA_MARGIN_DB):
                want = best
            elif held < self._enter[current] - EMA_MARGIN_DB:
                want = None
        if want == current:
            self._wanted.pop(token, None)
            return []
        since = self._wanted.get(token)
        if since is None or since[0] != want:
            self._wanted[token] = (want, at)
            return []
        if at - since[1] < EMA_HOLD_S:
            return []
        del self._wanted[token]
        return self._set(token, want, at, by_zone.get(want or "", -math.inf))

    def forget(self, token: str) -> None:
        super().forget(token)
        self._averages.pop(token, None)
        self._wanted.pop(token, None)
