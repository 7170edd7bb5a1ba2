"""The threshold engine's per-scanner calibration offsets, learned online from rostered traffic (#13).

A scanner reading 4 dB hot makes its zone enter passers-by and hold leavers (the sweep's cells [23] and [25]:
told the offset, both pass). ``edge calibrate --scanner`` measures it by hand; :class:`OffsetLearner` learns it
from the store's own shoppers, where the threshold engine knows where they are without a position estimate: a
shopper **settled in a zone** (present at least :data:`SETTLED_S`) stands somewhere on its floor, so another zone's
scanner at least :data:`NEAR_M` from every point of that floor (:data:`FAR_M` on average) should hear them at the
path-loss relation's mean level over the floor (the configured ``measured_power_1m_dbm`` and ``path_loss_exponent``:
the engine's own assumptions, never fitted here). A scanner's departure from it is its offset, with the care the grid
engine's learner takes (:mod:`edge.presence_grid_offsets`):

- **where, not what**: a sample is chosen by the zone the shopper is settled in, decided by that zone's own
  scanners, never by the reading itself; the zone's own scanners are never sampled (their readings placed the
  shopper). Least-squares positions from the readings were tried first and absorbed the offset they should find
  (a +4 dB scanner learned 0-1.5 dB: the fit moved the shopper towards it);
- **per visit**: one visit's samples share where in the zone the shopper stood, so a scanner's statistic is the
  mean over visits of each visit's mean departure (a visit counts with at least :data:`VISIT_MIN_SAMPLES`), and
  its standard error is the visits' spread over the root of their number; it counts once :data:`MIN_VISITS` visits
  of :data:`MIN_SHOPPERS` shoppers gave it samples;
- **relative**: the absolute level is not separable from the advertisers' declared power and the exponent
  assumed, so only a scanner's departure from the **median** of the scanners' means is learned (one scanner off in
  a store of 6-8 does not move it; at least :data:`MIN_SCANNERS` scanners with :data:`MIN_VISITS` visits each);
- **applied once sure**: only once it is :data:`Z` standard errors beyond :data:`APPLY_DB` from 0, in steps of
  :data:`STEP_DB`, at most :data:`BOUND_DB`; taken back as soon as it is no longer sure. The samples are
  the readings with the configured ``offset_db`` but never the learned one (no feedback).

Checked on the sweep's 55 cells before it was wired (seed 1, learned from the engine's own zones, not applied):
where no scanner is off every scanner's estimate lay within 1.5 dB of 0 but three (1.5-1.9 dB, all the central
scanner of today's store, which the scanners at the sample's far end hear near their range); the scanners 4 dB off
were learned within 1.3 dB ([23]-[26]); the L-shaped store with exponent 3.2 ([49], -4 dB) only about half of it.

Pure: no clock (time is the sightings'), no I/O. Holds no token: a visit's running sums live on the shopper's
track (dropped with it, on withdrawal too), the learner keeps per scanner three numbers.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from edge import constants_model as cm
from edge.config import ScannerConfig, ZoneConfig
from edge.presence_track import ShopperTrack

__all__ = ["OffsetLearner"]

LEARN_OFFSETS = True
"""Learn each scanner's offset from rostered traffic and apply it once sure (``--set LEARN_OFFSETS=0``: not)."""
SETTLED_S = 3.0
"""A shopper counts as standing in the zone once present this long (s): a slow window's worth (RSSI_WINDOW_S), so
an entry's first seconds, when the shopper may still be walking in from outside it, are not taken for its floor."""
NEAR_M = 4.5
"""Nearest a sampled scanner may be to any point of the zone's floor (m, in 3-D), as the grid's learner's 4.5 m:
nearer, where in the zone the shopper stands moves the expected level by more than the shadowing does. Judged over
the zone's floor, not its centre: a scanner 6 m from the centre of an 8 m zone lies 2 m from its end, and learned
-3 dB where it was not off (the sweep's [5])."""
FAR_M = 16.0
"""Furthest on average (m): the reference phone's mean level there is about -86 dBm (exponent 2.2), two shadowing
sigmas (5 dB) above a BLE receiver's -95 dBm floor; further, only the readings that fade upwards are heard and the
mean of what is heard lies above the path-loss line (the grid corrects for that truncation; this learner does not, it
stops there). In the sweep's spot stores the zones lie 14-16 m from the other zones' scanners: at the grid's 12 m
this learner had no sample there."""
FLOOR_STEP_M = 0.5
"""The expected level is the path-loss relation's mean over the zone's floor, in points this far apart (m): where a
settled shopper stands is not known, anywhere on it alike (the level at the centre is not the mean level: log is
concave, and a near end weighs more)."""
VISIT_MIN_SAMPLES = 4
"""A visit counts towards a scanner with at least this many of its readings (one reading's shadowing, 5 dB, would
weigh as much as a visit's worth)."""
MIN_VISITS = 16
"""A scanner's mean counts once this many visits gave it samples (its standard error is then a quarter of the visits'
spread). In the sweep at 8, two stores with no scanner off ([53], [47]) had 4-5.5 dB applied in their first minutes
from the few shoppers then in the store (8-12 visits whose departures agreed by chance), taken back a minute later;
at 16 none did (55 cells x seeds 1-3). A gateway keeps what it learned across restarts (``offsets.json``), so the
minutes this costs a new store are paid once."""
MIN_SHOPPERS = 8
"""... from at least this many shoppers: one shopper's visits share their way of walking and standing (and the same
phone), so sixteen visits of three shoppers are not sixteen independent departures."""
VISITS_KEPT = 400
"""A scanner's statistic weighs about its last this many visits (at this count, what it holds is halved: its mean
kept, its weight halved): an adapter replaced or a shelf moved changes a scanner's calibration, and its new offset
shows within a few hundred visits, not after all the visits since the gateway started."""
MIN_SCANNERS = 3
"""The median the offsets are relative to needs this many scanners with MIN_VISITS: with two, one scanner off would
be split half-and-half between them."""
APPLY_DB = 2.0
"""An offset is applied once it is surely (Z) further than this from 0 (dB). Higher than the grid's 1.5 dB: where no
scanner is off, this learner's estimates reached 1.9 dB (the central scanner of today's store)."""
Z = 2.0
"""... by this many standard errors (a two-sided test at the conventional 5 %)."""
STEP_DB = 0.5
"""The offset in use moves in steps of this (dB)."""
BOUND_DB = 8.0
"""A learned offset is at most this (dB): beyond the Bluetooth specification's 6 dB a receiver is broken, not
miscalibrated, and so large an estimate is more likely a geometry the path-loss line does not know (a wall)."""


class _Scanner:
    """One scanner's statistic over visits: how many (and of how many shoppers), the sum of their mean departures and
    of its squares."""

    __slots__ = ("shoppers", "square", "total", "visits")

    def __init__(self) -> None:
        self.visits = 0
        self.shoppers = 0
        self.total = 0.0
        self.square = 0.0


class OffsetLearner:
    """See the module docstring. ``applied`` is read per sighting by the engine (empty until one is sure)."""

    __slots__ = ("_expected", "_scanners", "applied", "base", "estimate", "standard_error")

    def __init__(
        self,
        zones: Sequence[ZoneConfig],
        scanners: Sequence[ScannerConfig],
        exponent: float,
        reference_dbm: float,
        enabled: bool = True,
    ) -> None:
        where = {s.id: s for s in scanners}
        self._expected: dict[str, dict[str, float]] = {}
        """Per zone, per scanner of another zone NEAR_M-FAR_M from its floor: the reference phone's mean level."""
        for zone in zones:
            floor = _floor(zone, where)
            if not floor:
                continue
            found: dict[str, float] = {}
            for scanner in scanners:
                if scanner.id in zone.scanners:
                    continue
                above = (max(scanner.height_m - cm.MODEL_DEVICE_HEIGHT_M, 0.0)) ** 2
                distances = [math.sqrt((scanner.x_m - x) ** 2 + (scanner.y_m - y) ** 2 + above) for x, y in floor]
                if min(distances) >= NEAR_M and sum(distances) / len(distances) <= FAR_M:
                    loss = sum(math.log10(d) for d in distances) / len(distances)
                    found[scanner.id] = reference_dbm - 10.0 * exponent * loss
            if found:
                self._expected[zone.id] = found
        heard = {scanner for found in self._expected.values() for scanner in found}
        if not (enabled and LEARN_OFFSETS) or len(heard) < MIN_SCANNERS:
            self._expected.clear()  # nothing to learn from: the engine's hot path sees an empty table
        self._scanners: dict[str, _Scanner] = {}
        self.base: dict[str, float] = {}
        """Per scanner: the offset this start began from (:meth:`recall`: kept from before), treated like a configured
        one: the samples carry it, and what is learned is the departure left on top of it."""
        self.applied: dict[str, float] = {}
        """Per scanner: the learned offset in use (dB added to its readings: the base and the departure learned on top
        of it once sure); only scanners with one."""
        self.estimate: dict[str, float] = {}
        """Per scanner with enough visits: its learned offset (dB, relative to the scanners' median), applied or not."""
        self.standard_error: dict[str, float] = {}

    @property
    def learning(self) -> bool:
        """Whether the layout gives anything to learn from (scanner positions, zones NEAR_M-FAR_M apart)."""
        return bool(self._expected)

    def expected(self, zone: str) -> dict[str, float]:
        """Per scanner that learns from shoppers settled in ``zone``: the level it should hear them at (dBm)."""
        return dict(self._expected.get(zone, {}))

    def sample(self, track: ShopperTrack, since: float, scanner: str, level: float, mean: float) -> None:
        """A reading ``level`` (dBm for the reference phone, the configured offset applied, not the learned one) by
        ``scanner`` of a shopper settled since ``since`` in a zone where it should read ``mean`` (:meth:`expected`)."""
        if track.cal_since != since:
            self.close(track)
            track.cal_since = since
        if self.base:
            level += self.base.get(scanner, 0.0)
        sums = track.cal.get(scanner)
        if sums is None:
            track.cal[scanner] = [level - mean, 1.0]
        else:
            sums[0] += level - mean
            sums[1] += 1.0

    def close(self, track: ShopperTrack) -> None:
        """The track's visit is over (another began, or the shopper left): its means join the scanners'."""
        if not track.cal:
            return
        changed = False
        for scanner, (total, count) in track.cal.items():
            if count >= VISIT_MIN_SAMPLES:
                stat = self._scanners.get(scanner)
                if stat is None:
                    stat = self._scanners[scanner] = _Scanner()
                departure = total / count
                seen = track.cal_seen
                if seen is None:
                    seen = track.cal_seen = set()
                if scanner not in seen:
                    seen.add(scanner)
                    stat.shoppers += 1
                if stat.visits >= VISITS_KEPT:  # the older half weighs half: a scanner's calibration may change
                    stat.visits //= 2
                    stat.shoppers //= 2
                    stat.total /= 2.0
                    stat.square /= 2.0
                stat.visits += 1
                stat.total += departure
                stat.square += departure * departure
                changed = True
        track.cal.clear()
        if changed:
            self._refresh()

    def _refresh(self) -> None:
        means: dict[str, float] = {}
        errors: dict[str, float] = {}
        for scanner, stat in self._scanners.items():
            n = stat.visits
            if n >= MIN_VISITS and stat.shoppers >= MIN_SHOPPERS:
                mean = stat.total / n
                variance = max(stat.square / n - mean * mean, 0.0) * n / (n - 1)
                means[scanner] = mean
                errors[scanner] = math.sqrt(variance / n)
        if len(means) < MIN_SCANNERS:
            return
        centre = statistics.median(means.values())
        for scanner, mean in means.items():
            base = self.base.get(scanner, 0.0)
            departure = centre - mean
            learned = max(min(base + departure, BOUND_DB), -BOUND_DB)
            self.estimate[scanner] = learned
            self.standard_error[scanner] = errors[scanner]
            if abs(departure) - Z * errors[scanner] >= APPLY_DB:  # what the readings say, on top of the base
                self.applied[scanner] = round(learned / STEP_DB) * STEP_DB
            elif base:
                self.applied[scanner] = base
            else:  # no longer sure (an early estimate from few visits): taken back, not left at its old value
                self.applied.pop(scanner, None)

    def recall(self, offsets: dict[str, float]) -> None:
        """Start from ``offsets`` (dB per scanner, kept from a run before): applied at once, and learned on."""
        self.base = {s: max(min(v, BOUND_DB), -BOUND_DB) for s, v in offsets.items() if v}
        self.applied.clear()
        self.applied.update(self.base)

    def report(self) -> dict[str, float | None]:
        """Per scanner with an estimate: ``offset_db:`` (learned), ``offset_applied_db:``, ``offset_se_db:``."""
        found: dict[str, float | None] = {}
        for scanner, learned in self.estimate.items():
            found[f"offset_db:{scanner}"] = round(learned, 2)
            found[f"offset_applied_db:{scanner}"] = self.applied.get(scanner, 0.0)
            found[f"offset_se_db:{scanner}"] = round(self.standard_error[scanner], 2)
        return found


def _floor(zone: ZoneConfig, where: dict[str, ScannerConfig]) -> list[tuple[float, float]]:
    """Points every FLOOR_STEP_M over the zone's floor on the plan: its ``area_m``, else the discs of ``radius_m``
    around its positioned scanners (empty: not placed)."""
    step = FLOOR_STEP_M
    if zone.area_m is not None:
        x0, y0, x1, y1 = zone.area_m
        nx, ny = max(1, round((x1 - x0) / step)), max(1, round((y1 - y0) / step))
        return [
            (x0 + (i + 0.5) * (x1 - x0) / nx, y0 + (j + 0.5) * (y1 - y0) / ny) for i in range(nx) for j in range(ny)
        ]
    placed = [where[s] for s in zone.scanners if s in where]
    r = zone.radius_m
    n = max(1, math.ceil(r / step))
    found: list[tuple[float, float]] = []
    for centre in placed:
        for i in range(-n, n + 1):
            for j in range(-n, n + 1):
                x, y = i * r / n, j * r / n
                if x * x + y * y <= r * r:
                    found.append((centre.x_m + x, centre.y_m + y))
    return found
