"""The zone estimator: a forward filter per shopper over the store's places {far, zone 1 .. n, beside zone 1 .. n}.

Same API and events as :class:`~edge.presence.PresenceEngine` (``PresenceConfig.engine = "model"``), pure
and clock-injected, but no dBm threshold anywhere: each shopper carries a posterior over the places
(:mod:`edge.zone_layout`: a zone, the floor beside one, or far from all),

- **predicted** between samples with time-continuous transition rates (irregular sample times are fine)
  between places that touch: out of a zone to what surrounds it at
  :data:`~edge.constants_model.MODEL_ZONE_LEAVE_RATE_HZ`, from beside a zone into it at
  :data:`~edge.constants_model.MODEL_ZONE_ENTER_RATE_HZ`, every other walk (zone to touching zone, along the
  aisle, to and from far) at :data:`~edge.constants_model.MODEL_WALK_SPEED_M_S` over
  :data:`~edge.constants_model.MODEL_HANDOFF_DISTANCE_M`;
- **updated** by every sighting with the likelihood of its RSSI at that scanner in each place
  (:mod:`edge.radio_model`: log-distance path loss, heavy-tailed), tempered
  (:data:`~edge.constants_model.MODEL_CORRELATION_S`: consecutive adverts are correlated), after correcting the RSSI
  for the advertiser's own calibrated power and the scanner's configured ``offset_db`` (self-calibration learns
  and reports a per-scanner offset from rostered traffic, but it is not applied: ``[presence] self_calibration``);
- **updated by silence** on the timer: the likelihood that a shopper still in a zone goes unheard this
  long, from the advertiser's own interval and loss (:mod:`edge.advert_rate`). Silence only ever moves
  probability from the zones and their surroundings to "far", never into a zone.

Events come from the posterior with hysteresis: enter a zone at P >= :data:`~edge.constants_model.MODEL_ENTER_P`,
hand off when another zone reaches it, leave when P < :data:`~edge.constants_model.MODEL_LEAVE_P`, never within
:data:`~edge.constants_model.MODEL_MIN_HOLD_S` of entering; ``dwell`` as the threshold engine. Events carry the
posterior as ``probability``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from operator import mul
from typing import Literal

import msgspec

from edge import constants as c
from edge import constants_model as cm
from edge.advert_rate import AdvertRate
from edge.config import PresenceConfig, ScannerConfig, ZoneConfig
from edge.floor import FloorConfig
from edge.presence import Occupant, PresenceEvent, Sighting
from edge.presence_model_moves import transitions
from edge.presence_model_radio import LEARN_RADIO, RadioTuning
from edge.radio_model import RSSI_MAX_DBM, RSSI_MIN_DBM
from edge.rssi import distance_m
from edge.self_calibration import SelfCalibration
from edge.zone_layout import Layout

__all__ = ["ZoneEstimator"]

_TOP = RSSI_MAX_DBM - RSSI_MIN_DBM
"""Last index of a likelihood table."""

_LEVEL_WEIGHT = 0.3
"""Weight of a new sample in the smoothed RSSI that events report (not used for decisions)."""

_PREDICT_STEP_S = 0.4
"""The motion model is applied once this much time has gathered, not before every advert: over a few
tenths of a second a shopper's places move by a few per cent at most (rates of 0.1-0.3 Hz), so the
order of "move, then weigh" within that time hardly matters, and a 10 Hz phone costs a quarter."""

_TINY = 1e-100
"""A posterior is renormalised once its sum falls below this (far from underflow), not after every advert."""

_NEGLIGIBLE = 1e-6
"""A place holding less than this share of the probability keeps it through a prediction (it would send on less than
one millionth): most of a shopper's places are this unlikely, and the prediction only walks the rest."""

MISS_EVIDENCE = False
"""Weigh in the silence of scanners that did not hear an advert (on a floor plan only). Off: on the sweep's 42
tuning cells it cost more than it gave (docs/presence.md, "this round"); ``presence_model_tune.py --set
MISS_EVIDENCE=1`` turns it on for a comparison."""

MISS_ALIVE_S = 5.0
"""A scanner counts as listening (its silence is evidence) if it heard anyone this recently."""

MISS_CACHE_MAX = 4096
"""Bound on the cached products of silent scanners' miss tables (a few per store in practice)."""


class _Track:
    __slots__ = (
        "advert", "dwell_at", "heard_at", "last_seen", "levels", "miss_at", "offset", "p", "power", "rate", "silence",
        "since", "t", "via", "zone",
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
        self.heard_at: dict[str, float] = {}
        self.advert: set[str] = set()
        """The scanners that heard the shopper's current advert (missed-advert evidence, on a floor plan)."""
        self.miss_at = at


class ZoneEstimator:
    """See the module docstring."""

    def __init__(
        self,
        zones: Sequence[ZoneConfig],
        presence: PresenceConfig,
        scanners: Sequence[ScannerConfig] = (),
        floor: FloorConfig | None = None,
    ) -> None:
        self._layout = layout = Layout(zones, presence, scanners, floor)
        self._zones = tuple(zones)
        self._ids = layout.zone_ids
        n = self._n = len(zones)
        self._tables = layout.tables
        self._offsets = dict(layout.offsets)
        self._members = layout.members
        self._cal = SelfCalibration(tuple(layout.tables))
        self._learned: dict[str, float] = self._cal.learned if presence.self_calibration == "apply" else {}
        """Applied only with ``[presence] self_calibration = "apply"`` (edge.config says why not by default)."""
        self._expected = layout.expected
        self._presence = presence
        self._tuning = RadioTuning(presence.path_loss_exponent)
        self._moments = layout.log_distance if LEARN_RADIO else {}
        self._reference = presence.measured_power_1m_dbm
        self._exponent = presence.path_loss_exponent
        self._steps = cm.MODEL_EVIDENCE_STEPS
        self._per_second = cm.MODEL_EVIDENCE_STEPS / cm.MODEL_CORRELATION_S
        self._leave = cm.MODEL_ZONE_LEAVE_RATE_HZ
        self._spans = tuple((group[0], group[-1] + 1) for group in layout.subs)
        """Zone k's sub-places are p[lo:hi] with (lo, hi) = _spans[k - 1]."""
        self._rings = tuple(range(layout.rings[0], layout.places)) if n else ()
        """Every place beside a zone (inner and outer surroundings): the places after the zones'."""
        moves = transitions(layout, self._leave)
        self._walk = moves.walk
        self._exits = moves.exits
        self._rates = moves.rates
        self._rate_of = moves.rate_of
        self._shares = moves.shares
        prior = [0.0] * layout.places
        for lo, hi in self._spans:
            for a in range(lo, hi):
                prior[a] = cm.MODEL_PRIOR_ZONE_P / (hi - lo)
        for ring in self._rings:
            prior[ring] = 0.0 if ring in layout.empty else cm.MODEL_PRIOR_ZONE_P / 2
        prior[0] = 1.0 - sum(prior)
        if prior[0] <= 0.0:
            prior = [1.0 / layout.places] * layout.places
        self._prior = prior
        self._tracks: dict[str, _Track] = {}
        self._present: dict[str, _Track] = {}
        self._misses = layout.misses if MISS_EVIDENCE else {}
        self._alive: dict[str, float] = {}
        """Per scanner with a miss table: when it last heard anyone (a scanner that is down says nothing)."""
        self._silent: dict[tuple[frozenset[str], int], list[float]] = {}
        """Product of the miss tables of a set of silent scanners, per evidence weight (bounded cache)."""
        self._next_purge: float | None = None
        self._steady_p = max(cm.MODEL_LEAVE_P, 1.0 - cm.MODEL_ENTER_P)
        """A shopper's zone holding at least this has no hand-off (another zone >= MODEL_ENTER_P) nor exit
        (outside > 1 - MODEL_LEAVE_P) to decide."""

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
        if self._misses:
            self._missed(track, scanner, at)
        power = sighting.measured_power_1m_dbm
        if power is not None and power != track.power:
            limit = c.MEASURED_POWER_CORRECTION_MAX_DB
            track.power = power
            track.offset = min(max(self._reference - power, -limit), limit)
        track.rate.heard(at)
        if at > track.last_seen:
            track.last_seen = at
        track.silence = 1.0
        if at - track.t >= _PREDICT_STEP_S:
            self._predict(track.p, at - track.t)
            track.t = at
        rssi = sighting.rssi
        level = rssi + self._offsets.get(scanner, 0.0) + track.offset
        learned = self._learned
        index = round(level + learned.get(scanner, 0.0) if learned else level) - RSSI_MIN_DBM  # (+ 0.0: the same)
        index = 0 if index < 0 else _TOP if index > _TOP else index
        heard_at = track.heard_at
        before = heard_at.get(scanner)
        heard_at[scanner] = at
        top = self._steps - 1
        if before is None:
            weight = top
        else:
            weight = int((at - before) * self._per_second)
            weight = top if weight > top else weight if weight > 0 else 0
        p = list(map(mul, track.p, table[weight][index]))  # (the products of a comprehension over zip, at C speed)
        total = sum(p)
        if not _TINY < total <= 1.0:  # kept unnormalised (every likelihood is at most 1) until it gets small
            p = [v / total for v in p] if total > 0.0 and math.isfinite(total) else list(self._prior)
            total = 1.0
        track.p = p
        members = self._members.get(scanner)
        if members is not None:
            spans = self._spans
            for k in members:
                lo, hi = spans[k - 1]
                mass = sum(p[lo:hi])
                if mass >= cm.MODEL_CAL_CONFIDENT_P * total:  # how much louder than expected from where they are
                    here = sum(map(mul, p[lo:hi], self._expected[scanner][lo:hi]))
                    self._cal.add(scanner, level - here / mass)
                    break
        current = track.zone
        if current and at >= self._tuning.learn_at:
            moments = self._moments.get(scanner)
            if moments is not None:
                band = moments.get(current)
                if band is not None:
                    lo, hi = self._spans[current - 1]
                    exponent = self._tuning.sample(p, lo, hi, band, index, self._reference - level, at, total)
                    if exponent is not None:
                        self._retune(exponent)
        levels = track.levels
        old = levels.get(scanner)
        levels[scanner] = rssi if old is None else old + _LEVEL_WEIGHT * (rssi - old)
        if current:  # (_decide's first test, inline: most sightings decide nothing)
            lo, hi = self._spans[current - 1]
            if sum(p[lo:hi]) >= self._steady_p * total:
                return []
        elif p[0] + sum(p[self._rings[0] :]) > (1.0 - cm.MODEL_ENTER_P) * total:
            return []
        return self._choose(token, track, at, total)

    def _retune(self, exponent: float) -> None:
        """Rebuild the emission tables for ``exponent`` (the places and every posterior stay)."""
        layout = self._layout
        layout.retune(msgspec.structs.replace(self._presence, path_loss_exponent=exponent))
        self._tables = layout.tables
        self._expected = layout.expected
        self._moments = layout.log_distance
        if self._misses:
            self._misses = layout.misses
            self._silent.clear()

    def _missed(self, track: _Track, scanner: str, at: float) -> None:
        """On a floor plan: when the shopper's next advert begins, weigh in the silence of every live scanner that
        did not hear the previous one (a scanner 3 m away that heard nothing is evidence too)."""
        if scanner in self._misses:
            self._alive[scanner] = at
        rate = track.rate
        if at - rate.last_at <= min(cm.MODEL_SAME_ADVERT_S, 0.5 * rate.interval_s):  # the same advert, another scanner
            track.advert.add(scanner)
            return
        heard = track.advert
        track.advert = {scanner}
        if not heard:
            return
        horizon = at - MISS_ALIVE_S
        silent = frozenset(s for s, t in self._alive.items() if t >= horizon and s not in heard)
        if not silent:
            return
        top = self._steps - 1
        weight = min(top, int((at - track.miss_at) * self._per_second))
        track.miss_at = at
        key = (silent, weight)
        table = self._silent.get(key)
        if table is None:
            if len(self._silent) >= MISS_CACHE_MAX:
                self._silent.clear()
            table = [1.0] * len(track.p)
            for s in silent:
                table = [a * b for a, b in zip(table, self._misses[s][weight], strict=True)]
            self._silent[key] = table
        track.p = [a * b for a, b in zip(track.p, table, strict=True)]

    def _predict(self, p: list[float], dt: float) -> None:
        """Move ``p`` forward by ``dt`` seconds: each place keeps exp(-rate dt), the rest flows by the rates."""
        flows = [0.0] * len(p)
        exp = math.exp
        stays = [exp(-rate * dt) for rate in self._rates]
        floor = _NEGLIGIBLE * sum(p)
        for i, (pi, rate, shares) in enumerate(zip(p, self._rate_of, self._shares, strict=True)):  # one per place
            if pi > floor:
                kept = pi * stays[rate]
                flows[i] += kept
                gone = pi - kept
                for j, share in shares:
                    flows[j] += gone * share
            else:
                flows[i] += pi
        p[:] = flows

    def _outside(self, p: list[float]) -> float:
        """P(in no zone): far and every zone's surroundings."""
        return p[0] + sum(p[self._rings[0] :]) if self._n else 1.0

    def _mass(self, p: list[float], k: int) -> float:
        lo, hi = self._spans[k - 1]
        return sum(p[lo:hi])

    def _decide(self, token: str, track: _Track, at: float, total: float = 1.0) -> list[PresenceEvent]:
        """Events from the posterior ``track.p`` (which sums to ``total``)."""
        p = track.p
        current = track.zone
        if current:  # nothing to do while the zone holds enough that no other can be entered nor it be left
            lo, hi = self._spans[current - 1]
            if sum(p[lo:hi]) >= self._steady_p * total:
                return []
        elif self._outside(p) > (1.0 - cm.MODEL_ENTER_P) * total:  # no zone can reach MODEL_ENTER_P
            return []
        return self._choose(token, track, at, total)

    def _choose(self, token: str, track: _Track, at: float, total: float) -> list[PresenceEvent]:
        """:meth:`_decide` past its first test: the best zone, and whether to enter it, hand off or leave."""
        p = track.p
        current = track.zone
        best, best_p = 0, -1.0
        for k, (lo, hi) in enumerate(self._spans, start=1):
            mass = sum(p[lo:hi])
            if mass > best_p:
                best, best_p = k, mass
        held = at - track.since >= cm.MODEL_MIN_HOLD_S
        if best != current and best_p >= cm.MODEL_ENTER_P * total and (current == 0 or held):
            events = []
            if current:
                events.append(self._event("exited", token, track, current, at))
            else:
                self._present[token] = track
            track.zone = best
            track.since = track.dwell_at = at
            events.append(self._event("entered", token, track, best, at))
            return events
        if current and held and self._outside(p) > (1.0 - cm.MODEL_LEAVE_P) * total:
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
            round(self._mass(track.p, k) / sum(track.p), 3),
        )

    def _rssi(self, track: _Track, k: int) -> float:
        """The zone's smoothed RSSI as heard: the loudest of its scanners (any scanner if none heard it)."""
        levels = track.levels
        heard = [levels[s] for s in self._zones[k - 1].scanners if s in levels]
        if not heard:
            heard = list(levels.values()) or [self._reference - 30.0]
        return max(heard)

    # --- timers ------------------------------------------------------------------------------

    def _drift_out(self, p: list[float], dt: float) -> None:
        """The outward half of the prediction, for silence: zones leak to what surrounds them, surroundings to
        far; nothing flows into a zone (silence must never raise one). A silent shopper's mass walks out the
        way a shopper does -- a 1 Hz card losing a few adverts in a row has not teleported out of range."""
        exp = math.exp
        stay = exp(-self._leave * dt)
        exits = self._exits
        for lo, hi in self._spans:
            for a in range(lo, hi):
                gone = p[a] * (1.0 - stay)
                if gone:
                    p[a] -= gone
                    for j, share in exits[a]:
                        p[j] += gone * share
        stay = exp(-self._walk * dt)
        for ring in self._rings:
            gone = p[ring] * (1.0 - stay)
            p[ring] -= gone
            p[0] += gone

    def tick(self, now: float) -> list[PresenceEvent]:
        """Silence evidence and exits for shoppers in a zone; dwell every ``dwell_interval_s``."""
        events: list[PresenceEvent] = []
        for token, track in list(self._present.items()):
            silence = track.rate.silence_likelihood(now)
            if silence < 1.0 and now > track.t:
                p = track.p
                self._drift_out(p, now - track.t)
                factor = silence / track.silence
                track.silence = silence
                track.t = now
                for k in range(1, len(p)):  # the zones and their surroundings: within earshot
                    p[k] *= factor
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
        self._next_purge = now + cm.MODEL_IDLE_S
        horizon = now - cm.MODEL_IDLE_S
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
        total = sum(track.p)
        p = [v / total for v in track.p]
        found: dict[str | None, float] = {None: self._outside(p)}
        found.update((zone_id, self._mass(p, k)) for k, zone_id in enumerate(self._ids, start=1))
        return found

    def radio(self) -> dict[str, float | None]:
        """What the radio learner knows: the exponent in use, the learned one, the shadowing sigma, the samples."""
        radio = self._tuning.learner
        return {
            "exponent": radio.exponent,
            "learned": radio.learned(),
            "sigma_db": radio.sigma_db(),
            "samples": float(radio.samples),
        }

    def scanner_offsets(self) -> dict[str, float]:
        """The offsets self-calibration has learned so far (dB added to each scanner's readings)."""
        return self._cal.offsets()
