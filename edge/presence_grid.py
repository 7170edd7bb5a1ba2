"""The grid presence engine: a Bayes filter over 1 m cells of the store's floor, in numpy -- its decisions.

The sweep prototype's filter (``edge/sim/sweep/grid.py``, ``SparseGrid``: the sweep oracle's algorithm told
only the gateway config) made cheap enough for the gateway (docs/presence.md, "A cheap grid engine"), in modules
of one concept each (among them):

- the grid and the radio (:mod:`edge.presence_grid_radio`): :data:`CELL_M` cells of the config's ``[floor]`` and of
  the street within :data:`STREET_M` outside each door, laid out as the box around them (row-major, x then y)
  with a mask of the cells that exist; a zone's share of a cell from 3 x 3 points; the radio the model engine
  assumes (the exponent ``presence.path_loss_exponent``, then learned from the posterior, as the model learns it;
  each advert's declared power, 6 dB shadowing with deep fades, 30 % of adverts lost, heard within 15 m above
  -95 dBm, a phone 1.2 m up; on the street, the building's wall's loss less);
- the building's wall (:mod:`edge.presence_grid_wall`): ``[floor] wall_loss_db`` where told, else learned from the
  readings whose posterior is on the street (docs/presence.md, "The grid's walls");
- the hearing range (:mod:`edge.presence_grid_range`): a reading from beyond 15 m impossible until the store's
  readings show that its scanners hear farther, then rare (docs/presence.md, "The grid's hearing range") -- a faint
  one rare from the first (docs/presence.md, "The grid's faint readings (session 39)");
- the shoppers' windows and their motion (:mod:`edge.presence_grid_windows`): per shopper a standing and a walking
  layer on a window that follows their mass, all windows stacked in one array, one motion step for everyone;
- the evidence (:mod:`edge.presence_grid_evidence`): per sighting one cached likelihood array, per advert's end
  one cached array of the scanners that did not hear it;
- the shopper's body (:mod:`edge.presence_grid_shade`): an advert two or more scanners heard whose readings fall
  weighed as well as if the body were in the way, the posterior the mixture of the two by the probability that it is
  (docs/presence.md, "The grid hears the shopper's body (session 45)");
- this module, the decisions: enter a zone at :data:`ENTER_P` of the mass, or at :data:`ENTER_LEAN_P` still held
  after one more advert; leave below :data:`STAY_P` to a zone that has reached :data:`HANDOFF_P`, or to "no zone"
  once it has held :data:`ENTER_P` over one more advert (:data:`CONFIRM_LEAVE`), heard or missed by every scanner
  (:data:`MISSED_LEAVE`), or at once at :data:`LEAVE_SURE_P` -- never within :data:`HOLD_S` of the entry; a track
  ends (and its zone is exited) after :data:`SILENCE_S` unheard; the events, the occupants and the queries.

A pure core: no I/O, time only from the sightings and ticks it is given. The same API as
:class:`edge.presence_model.ZoneEstimator` (``observe``, ``tick``, ``zone_of``, ``forget``, ``occupants``,
``posterior``); its events carry the posterior of their zone.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from typing import Literal

import numpy as np
import numpy.typing as npt

from edge import presence_grid_memory as memory_module
from edge import presence_grid_shade as shade_module
from edge.config import PresenceConfig, ScannerConfig, ZoneConfig
from edge.errors import ConfigError
from edge.floor import FloorConfig
from edge.presence import Occupant, PresenceEvent, Sighting
from edge.presence_grid_devices import LEARN_DEVICES
from edge.presence_grid_evidence import FAINT, READING, Evidence
from edge.presence_grid_learn import LEARN_RADIO as LEARN_RADIO
from edge.presence_grid_learn import LEARN_SIGMA, SAMPLE_BEFORE, GridLearner
from edge.presence_grid_loss import LossLearner
from edge.presence_grid_memory import RadioMemory
from edge.presence_grid_radio import TEMPER_LEVELS, GridRadio, temper_thresholds
from edge.presence_grid_range import FAR_P, RangeLearner, faint_edge_db
from edge.presence_grid_wall import WALL_PRIOR_DB, WallLearner
from edge.presence_grid_windows import PREDICT_S, Kept, Track, Windows
from edge.presence_timing import LAG_FORGET_S_PER_S
from edge.rssi import distance_m

Vector = npt.NDArray[np.float64]

# --- constants (the sweep prototype's, which are the oracle's: physical, not tuned to the sweep) -----------
CELL_M = 1.0
"""Grid resolution: 1 m. Coarser costs accuracy (2 m: tuning cells 91.7 -> 113.2, docs/presence.md)."""
STREET_M = 5.0
"""How far outside each door the grid reaches: a few steps of the street, where arriving shoppers are heard."""
ENTER_P = 0.8
"""A zone is entered, from no zone, when it holds this share of the shopper's mass (0.75 until session 46: a walker's
heading (edge.presence_grid_windows ``HEADINGS``) lets the posterior run a step ahead of a shopper walking up to a
zone, and 4 to 1 entered them a step early, then out and in again; docs/presence.md, "The grid knows a walker's
heading (session 46)")."""
ENTER_LEAN_P = 0.5
"""A zone that holds at least this share -- half the mass: the shopper is more likely in it than anywhere else --
at one decision, and still at a later one after one more advert has been heard, is entered without waiting for
:data:`ENTER_P` (docs/presence.md, "The grid's entry against the EMA (session 15)"). One advert can swing the share
by half (a deep fade, a body in the way); the next advert's noise is independent of it, so a lean that survives it
is not that advert's doing. The wait is the advertiser's own interval: 0.1 s for a 10 Hz phone, 1 s for a 1 Hz
card. 1.0 turns the rule off."""
CONFIRM_LEAVE = True
"""Leaving a zone for "no zone" waits, likewise, until "no zone" still holds :data:`ENTER_P` after one more advert:
a share that swings under :data:`STAY_P` for one advert just after a lean entry made a visit of two (entered, out,
in again). A hand-off to another zone at :data:`ENTER_P` is at once: confirming it too cost the tiled aisles,
whose zones touch, 1-5 points of right zone (sweep tuning cells 70.09 -> 73.59). False: leave at once."""
LEAVE_SURE_P = 0.9
"""...unless "no zone" already holds this share, 9 to 1: then the leaving is at once. The flaps the confirmation
stops are one advert's swing: session 16 found "no zone" under 0.85 at 75 of 83 of them, and at or over it at a third
of the true exits. Exit p95 0.02-1.85 s sooner in 29 of 42 tuning cells, right zone up in all 42 (by up to 0.84
points); capped badness 67.96 -> 67.63 on seeds 1-3, 68.29 -> 67.74 on seeds 4-6, held out 19.48 -> 19.36, no pass
lost; 0.95 gained half as much, 0.85 lost a pass to a flap, 0.8 three. docs/presence.md, "The grid's sure leaving
(session 27)". Over 1: every leaving confirmed."""
HANDOFF_P = 0.75
"""A shopper in a zone is handed to another when it holds this share (and theirs is under :data:`STAY_P`): 3 to 1, as
every entry was before session 46 -- at :data:`ENTER_P` a walker crossing a 4 m tile at 1 Hz more often went from the
tile before it to the one after (sweep [35], 43 visits missed against 23 over seeds 4-6)."""
HOLD_S = 2.0
"""A zone entered less than this long ago is not left for "no zone" (a hand-off to another zone is not held): the
posterior of a shopper walking into a zone swings about its edge for a second or two, and an entry a step early
followed by a leaving made a visit of two (docs/presence.md, "The grid knows a walker's heading (session 46)")."""
STAY_P = 0.25
"""The zone is kept while it holds at least this share (hysteresis against flicker at a boundary)."""
MISSED_LEAVE = True
"""The one more advert that confirms leaving for "no zone" (:data:`CONFIRM_LEAVE`) may be one that no scanner
heard: once the advertiser's own interval (the time between the shopper's last two adverts heard) and
:data:`ADVERT_DELAY_S` have passed since the last reading, the advert due was missed by every scanner -- an
observation too, and one a shopper who walked out of the scanners' hearing makes from then on. Without it such a
shopper waited for an advert that never came and was exited by :data:`SILENCE_S`, 27 s later (docs/presence.md,
"The grid's right zone against the oracle (session 16)"). False: only a heard advert confirms."""
ADVERT_DELAY_S = 0.01
"""How late an advert may come after its interval: BLE delays each advertising event by a random 0-10 ms
(advDelay) so that two advertisers do not collide for ever."""
RESTART_LOUDEST = True
"""A track whose evidence no cell of its window explains (readings of one advert from scanners too far apart to be
heard from one place: a reflection, a relayed advert, a scanner placed wrong in the config) starts again around the
scanner of its advert's loudest reading -- the strongest evidence of where the shopper is -- not the last one heard,
which put the window at whichever end of the contradiction spoke last (session 49)."""
SAME_ADVERT_S = 0.03
"""Readings of one shopper by different scanners this close in time (or half the advertiser's interval, if less) are
one advert: each radio stamps what it hears itself, so one advert's readings differ by a few ms of scanner and
transport latency (the model engine's ``MODEL_SAME_ADVERT_S``). Until session 41 only readings with one time stamp
were one advert, as every simulator here stamps them: with 0-5 ms between one advert's stamps, each reading was an
advert of its own with every other scanner silent, and the sweep went 86.77 -> 91.48 capped badness, 18 -> 10 cells
passed (``benchmarks/presence_sweep.py --stamp-jitter-ms 5``; 88.70 and 17 with this rule; docs/presence.md, "One
advert, several stamps (session 41)")."""
LATE_JOIN_S = 0.5
"""A reading older than the shopper's newest joins the advert it was a reading of, if one was heard within half the
advertiser's interval and at most this of it: a peer's scanners report a slot late (edge.peers), in samples rebuilt
from their summary; taken as adverts of their own, every advert heard here and there was once an advert heard here
with the peer's scanners silent and again one heard there with these silent. The late scanners' silences, and the
miss-rate learner's count of an advert, wait besides until their readings could have come (:meth:`GridEstimator.lag`
after it): counted at once, each gateway's scanners missed the other's adverts and the rate learned through peers
ran to its 0.6 bound (0.17-0.21 hearing every scanner; docs/presence.md, "What a peer's late samples cost (session
42)"). Half a 1 Hz card's interval. 0: every reading not of the open advert is a new one, as before session 42."""
PAST_S = 3.0
"""How long a closed advert is kept for late readings: a peer's slot (1 s) and its delivery, with room for a slow
broker."""
PAST_MAX = 64
"""At most this many closed adverts kept per shopper (a 10 Hz phone's 3 s and its peers' own)."""
BIRTH_AFTER_LAG = True
"""A shopper first heard less than the readings' lateness ago (:meth:`GridEstimator.lag`) enters no zone yet."""
SILENCE_S = 27.0
"""A shopper unheard this long has left: longer than any advertiser's pause (an app paused by its OS)."""


def _learn_range() -> bool:
    """:data:`edge.presence_grid_range.LEARN_RANGE`, read when an engine is built (``--set`` changes it)."""
    from edge import presence_grid_range

    return presence_grid_range.LEARN_RANGE


def _faint_far() -> bool:
    """:data:`edge.presence_grid_range.FAINT_FAR`, read when an engine is built (``--set`` changes it)."""
    from edge import presence_grid_range

    return presence_grid_range.FAINT_FAR


def _far_silence() -> bool:
    """:data:`edge.presence_grid_radio.FAR_SILENCE`, read at run time (``--set`` changes it)."""
    from edge import presence_grid_radio

    return presence_grid_radio.FAR_SILENCE


def _learn_miss() -> bool:
    """Whether to learn the store's miss rate (LEARN_MISS, read when an engine is made: ``--set`` may change it)."""
    from edge import presence_grid_loss

    return presence_grid_loss.LEARN_MISS


def _temper_silences() -> bool:
    """:data:`edge.presence_grid_radio.TEMPER_SILENCES`, read when an engine is built (``--set`` changes it)."""
    from edge import presence_grid_radio

    return presence_grid_radio.TEMPER_SILENCES


def _learn_wall() -> bool:
    """:data:`edge.presence_grid_wall.LEARN_WALL`, read when an engine is built (``--set`` changes it)."""
    from edge import presence_grid_wall

    return presence_grid_wall.LEARN_WALL


class GridEngineError(ConfigError):
    """The grid engine cannot run on this config (it needs a ``[floor]`` plan and positioned scanners)."""


class GridEstimator:
    """See the module docstring."""

    def __init__(
        self,
        zones: tuple[ZoneConfig, ...],
        presence: PresenceConfig,
        scanners: tuple[ScannerConfig, ...],
        floor: FloorConfig,
    ) -> None:
        if not floor.known:
            raise GridEngineError(
                "the grid engine needs the store's floor plan: add [[floor.area]] rectangles (and [[floor.door]])",
                where="presence.engine",
            )
        self._exponent = presence.path_loss_exponent
        self._zones = zones
        self._ids = [z.id for z in zones]
        self._dwell_s = [z.dwell_interval_s for z in zones]
        """Per zone: its dwell events' interval (s)."""
        told = floor.wall_loss_db
        wall = WALL_PRIOR_DB if told is None else told
        self._radio = radio = GridRadio(zones, scanners, floor, presence.path_loss_exponent, CELL_M, STREET_M, wall)
        self._sigma_start = radio.sigma_db
        """The shadowing sigma before anything is learned (:meth:`memory` keeps only what differs)."""
        self._miss_start, self._wall_start = radio.miss_p, radio.wall_db
        """The miss rate and the wall before anything is learned (:meth:`memory`)."""
        self._kept: RadioMemory | None = None
        """The radio this start began from (:meth:`recall`): what :meth:`memory` keeps of the values it did not use."""
        self._scanner = {s.id: k for k, s in enumerate(scanners)}
        self._offsets = [s.offset_db for s in scanners]
        """Per scanner: the dB added to its readings -- its configured ``offset_db`` plus, once learned and precise,
        its learned offset (:mod:`edge.presence_grid_offsets`: the learner updates this list in place)."""
        radio.offsets = self._offsets  # (the silences allow for it: a scanner reading low hears less far)
        self._power_default = presence.measured_power_1m_dbm
        self._windows = windows = Windows(radio, CELL_M, [radio.cell_of(s.x_m, s.y_m) for s in scanners])
        """Every track's layers over its window, stacked, and their motion."""
        self._kx, self._ky = windows.kx, windows.ky
        self._temper = temper_thresholds()
        """The readings' coherence (COHERENCE_S): the gaps past which a reading counts one more level."""
        self._quiet = self._temper if _temper_silences() else []
        """The same for an advert's silences, by the gap to the advert before (TEMPER_SILENCES; empty: in full)."""
        self._evidence = Evidence(radio, windows.kx, windows.ky)
        """The cached likelihood arrays."""
        self._tracks: dict[str, Track] = {}
        self._next_predict: float | None = None
        self._newest = -np.inf
        """The newest time seen (a tick's or a reading's)."""
        self._remote = 0
        """The scanners whose readings come late (bits): a peer's (edge.peers), their silences deferred."""
        self._all = (1 << len(scanners)) - 1
        self._lag = (0.0, 0.0)
        """The largest lateness of a reading seen (newest time seen minus its stamp, s) and when (forgotten at
        LAG_FORGET_S_PER_S: one slow delivery defers the next 20 s of silences, not all of them)."""
        self._learner = (
            GridLearner(radio, presence.path_loss_exponent, [s.offset_db for s in scanners], self._offsets)
            if LEARN_RADIO
            else None
        )
        """The store's path-loss exponent, learned from the posterior (docs/presence.md, "The grid's radio")."""
        self._wall = WallLearner(radio) if told is None and _learn_wall() and radio.outside.any() else None
        """The building's wall loss, learned from the posterior on the street (docs/presence.md, "The grid's walls")."""
        self._range = RangeLearner(radio) if _learn_range() else None
        """Whether readings beyond the range happen (docs/presence.md, "The grid's hearing range")."""
        self._faint_far = _faint_far()
        """Weigh faint readings with far readings rare from the first (docs/presence.md, "The grid's faint
        readings")."""
        self._faint_readings = 0
        """Faint readings weighed with far readings rare that the store had not learned to expect (``radio()``)."""
        self._loss = LossLearner(radio) if _learn_miss() else None
        """The share of adverts a scanner in range misses (docs/presence.md, "The grid learns its scanners' miss
        rate")."""

    # --- evidence ------------------------------------------------------------------------------

    def observe(self, sighting: Sighting) -> list[PresenceEvent]:
        scanner = self._scanner.get(sighting.scanner)
        if scanner is None:  # a scanner the config does not place: no evidence about where
            return []
        at = sighting.at
        if at >= self._newest:
            self._newest = at
            if self._remote >> scanner & 1:
                self._remote &= ~(1 << scanner)
        elif self._newest - at > SAME_ADVERT_S and LATE_JOIN_S:  # (a reading that came late: a peer's scanner)
            self._remote |= 1 << scanner
            if self._newest - at > self.lag():
                self._lag = (self._newest - at, self._newest)
        track = self._tracks.get(sighting.token)
        if track is None:
            track = self._track(sighting, scanner)
        advert_at = track.advert_at
        same = advert_at is not None and (
            at == advert_at
            or (not track.heard >> scanner & 1 and abs(at - advert_at) <= min(SAME_ADVERT_S, 0.5 * track.gap))
        )  # (another scanner's reading of the advert being heard: one advert's stamps differ by a few ms)
        if not same and LATE_JOIN_S and (at < track.last or (at == track.last and track.past)):
            self._late(track, scanner, at, sighting.measured_power_1m_dbm)  # (a reading older than the newest)
        else:
            if at > track.last and not same:  # (a new advert)
                track.gap = at - track.last
            track.last = at
            if not same:
                self._advert(track, sighting.measured_power_1m_dbm, at)
            track.heard |= 1 << scanner
        track.via = sighting.via
        self._reading(track, scanner, sighting.rssi + self._offsets[scanner], at)
        return []

    def _late(self, track: Track, scanner: int, at: float, power: float | None) -> None:
        """A reading stamped before the shopper's newest (a peer's sample, rebuilt from its summary a slot later; a
        radio whose callbacks lag): the advert it is a reading of is looked for among the open one and those closed
        in the last :data:`PAST_S` -- the nearest within half the advertiser's interval (at most
        :data:`LATE_JOIN_S`) that the scanner did not hear -- and its silence there divided back out; found none, it
        is an advert of its own, every other scanner silent."""
        bit = 1 << scanner
        reach = min(0.5 * track.gap, LATE_JOIN_S)
        advert_at = track.advert_at
        if advert_at is not None and not track.heard & bit and abs(at - advert_at) <= reach:
            track.heard |= bit  # (the open advert: its silences are not in yet)
            return
        best: Kept | None = None
        for past in track.past:
            if (
                not past.heard & bit
                and abs(at - past.at) <= reach
                and (best is None or abs(at - past.at) < abs(at - best.at))
            ):
                best = past
        if best is not None:
            best.heard |= bit
            if best.deferred & bit:  # (its silence not weighed yet)
                best.deferred &= ~bit
            else:
                self._evidence.unsilence(track, scanner, best.key, best.quiet)
            return
        key = track.key if power is None else round(power + track.device.applied)
        quiet = self._quiet
        level = 1 + bisect_left(quiet, track.gap) if quiet else TEMPER_LEVELS
        deferred = self._remote & ~bit
        self._evidence.silence(track, bit | deferred, key, level)
        self._remember(track, Kept(at, bit, key, level, deferred, None))

    def _remember(self, track: Track, advert: Kept) -> None:
        """A closed advert into the track's recent ones (:data:`PAST_S`, at most :data:`PAST_MAX`), in stamp order."""
        past = track.past
        past.append(advert)
        if len(past) > 1 and past[-2].at > advert.at:
            past.sort(key=lambda p: p.at)
        newest = past[-1].at
        while past and (past[0].at < newest - PAST_S or len(past) > PAST_MAX):
            self._weigh_deferred(track, past.pop(0))

    def _weigh_deferred(self, track: Track, advert: Kept) -> None:
        """The silences of a closed advert's late scanners that have not heard it (its readings could have come)."""
        deferred = advert.deferred
        if deferred:
            advert.deferred = 0
            self._evidence.silence(track, self._all & ~deferred, advert.key, advert.quiet)
        found = advert.found
        if found is not None:
            advert.found = None
            if self._loss is not None:
                self._loss.count(found, advert.heard)

    def _reading(self, track: Track, scanner: int, rssi: float, at: float) -> None:
        """One reading's evidence into the track (and the learners' samples)."""
        if rssi >= track.loudest or not RESTART_LOUDEST:
            track.scanner, track.loudest = scanner, rssi
        track.dirty = True
        if track.shade_due:
            self._shade(track, scanner, rssi, at)
        track.levels[scanner] = rssi
        power = track.power
        residual = round(rssi - power)
        heard_at = track.heard_at
        last = heard_at.get(scanner)
        heard_at[scanner] = at
        temper = self._temper
        level = TEMPER_LEVELS if last is None or not temper else 1 + bisect_left(temper, at - last)
        evidence = self._evidence
        device = track.device
        declared = power - device.applied  # (the learners of the store's radio read what the advert declared)
        if LEARN_DEVICES and device.due:  # (an advert sampled: against the posterior before it, Device.mass)
            radio = self._radio
            means = radio.means(scanner)[track.window]
            device.sample(rssi - declared, means, track.state, radio.sigma_db, power - radio.floor_dbm(scanner))
        # the learners, each about its shoppers (the radio's in a zone, the wall's in none by the street) and when its
        # rate allows: when the radio they learn moves, likelihoods are rebuilt as asked for
        if track.zone >= 0:
            learner = self._learner
            if (
                SAMPLE_BEFORE
                and learner is not None
                and at >= learner.next_at
                and learner.sample(at, scanner, declared - rssi, track, declared)
            ):
                self._retuned()  # (on the posterior before this reading's evidence: leave-one-out)
        else:
            learner = None
            wall = self._wall
            if (
                wall is not None
                and track.slot in wall.candidates
                and wall.sample(at, scanner, rssi - declared, declared, track)
            ):
                evidence.clear()
        far = self._range
        if far is not None and far.sample(at, scanner, residual, track):
            evidence.clear(silences=_far_silence())  # (far readings' density: a silence weighs it if FAR_SILENCE)
        self._weigh(track, track.state, scanner, residual, level, True)
        if track.shading:  # (weighed with the body in the way at the advert's close, if enough scanners heard it)
            track.shadows.append((scanner, residual + shade_module.SHADE_DB, level))
        if not SAMPLE_BEFORE and learner is not None and learner.sample(at, scanner, declared - rssi, track, declared):
            self._retuned()

    def _weigh(self, track: Track, state: Vector, scanner: int, residual: int, level: int, count: bool) -> None:
        """A reading ``residual`` dB off the track's power by ``scanner`` into ``state`` (the track's layers, or its
        advert's with the body in the way); ``count``: a faint one counts in ``radio()``."""
        radio, evidence = self._radio, self._evidence
        # a faint reading: from beyond the range, rare, not impossible (edge.presence_grid_range FAINT_SIGMAS)
        faint = self._faint_far and residual < faint_edge_db(radio.exponent, radio.sigma_db)
        if evidence.near:  # (over each scanner's reach; a faint reading over the track's window, not kept)
            if faint:
                self._faint_readings += count
                xs, ys = track.window
                box = (xs.start, xs.stop, ys.start, ys.stop)
                np.multiply(
                    state, radio.likelihood_within(scanner, residual, radio.far_p or FAR_P, box, level), out=state
                )
            else:
                found = evidence.cache.get((READING[level], scanner, residual))
                if found is None:
                    found = evidence.reading(scanner, residual, level)
                evidence.weigh_near(track, scanner, found, state)
        else:
            if faint and radio.far_p == 0.0:
                self._faint_readings += count
                found = evidence.cache.get((FAINT[level], scanner, residual))
                if found is None:
                    found = evidence.faint(scanner, residual, FAR_P, level)
            else:
                found = evidence.cache.get((READING[level], scanner, residual))
                if found is None:
                    found = evidence.reading(scanner, residual, level)
            np.multiply(state, found[track.window], out=state)

    def _retuned(self) -> None:
        """The exponent in use moved: the cached likelihoods are dropped, and every shopper's device offset starts
        again -- its samples were departures from a radio no longer in use (a store steeper than configured read, until
        its exponent was learned, as quiet phones: edge.presence_grid_devices)."""
        self._evidence.clear()
        for track in self._tracks.values():
            track.device.restart()

    def _track(self, sighting: Sighting, scanner: int) -> Track:
        """A new shopper's track, its window started around ``scanner`` (the one that heard it)."""
        windows, power = self._windows, sighting.measured_power_1m_dbm
        slot = windows.slot(self._tracks.values())
        track = Track(slot, (0, 0), sighting.at, sighting.via, self._power_default if power is None else power)
        track.state = windows.state[slot]
        track.scanner = scanner
        self._tracks[sighting.token] = track
        windows.start(track)
        return track

    def _advert(self, track: Track, power: float | None, at: float) -> None:
        """The track's first reading of a new advert (declared ``power``) at ``at``: the last one is closed."""
        if track.advert_at is not None:
            self._close(track)
        track.advert_at = at
        track.loudest = -math.inf
        quiet = self._quiet  # (its silences tempered by the gap to the advert before: TEMPER_SILENCES)
        track.quiet = 1 + bisect_left(quiet, track.gap) if quiet else TEMPER_LEVELS
        power = self._power_default if power is None else power
        device = track.device
        track.power = power = power + device.applied  # (the device's learned offset: edge.presence_grid_devices)
        device.advert(at)
        track.key = round(power)
        loss = self._loss  # (before the advert's first reading: the posterior from the earlier ones)
        if loss is not None and at >= loss.next_at:
            loss.begin(at, track.slot, track.key, track.state, track.origin)
        track.shade_due = shade_module.SHADE  # (whether the body is weighed too: at its first reading, _shade)

    # --- timers --------------------------------------------------------------------------------

    def lag(self) -> float:
        """How late readings come (s): the largest lateness seen lately, forgotten at LAG_FORGET_S_PER_S."""
        late, when = self._lag
        return max(0.0, late - (self._newest - when) * LAG_FORGET_S_PER_S) if late else 0.0

    def tick(self, now: float) -> list[PresenceEvent]:
        if now > self._newest:
            self._newest = now
        events: list[PresenceEvent] = []
        tracks = self._tracks
        due = now - self.lag() - SAME_ADVERT_S if self._remote else None
        for token, track in list(tracks.items()):
            if track.advert_at is not None:
                self._close(track)
            if due is not None:
                for advert in track.past:
                    if advert.at > due:
                        break
                    self._weigh_deferred(track, advert)
            if now - track.last >= SILENCE_S:
                if track.zone >= 0:
                    events.append(self._event("exited", token, track, track.zone, now, None))
                del tracks[token]
                self._windows.release(track)
        if self._loss is not None and self._loss.look(now):
            self._evidence.clear(readings=False)  # (the miss rate: only silences weigh it)
        predict = self._next_predict is None or now >= self._next_predict
        if predict:
            self._next_predict = now + PREDICT_S
            if tracks:
                cx, cy = self._windows.predict(tracks.values())
                if self._learner is not None or self._wall is not None or self._range is not None:
                    xs, ys = cx.tolist(), cy.tolist()
                    if self._range is not None:
                        self._range.centred(xs, ys, tracks.values())
                        learner = self._learner
                        self._range.judge_at(self._radio.exponent if learner is None else learner.guess())
                    if self._learner is not None:
                        self._learner.centred(xs, ys)
                    if self._wall is not None:
                        self._wall.centred(xs, ys, tracks.values())
        if tracks and (predict or any(track.dirty for track in tracks.values())):
            shares, act = self._shares()
        else:
            shares, act = None, None
        for token, track in tracks.items():
            if shares is not None and act is not None and (predict or track.dirty):
                track.dirty = False
                if act[track.slot]:
                    events += self._decide(token, track, now, shares[track.slot].tolist())
                    continue
                track.lean = -1  # (no decision was due: a lean, if any, is over)
            if track.zone >= 0 and now - track.dwell_at >= self._dwell_s[track.zone]:  # (else _dwell has nothing)
                events += self._dwell(token, track, now, None)
        if shares is not None and self._learner is not None:
            self._learner.settled(shares)
        return events

    def _close(self, track: Track) -> None:
        """The advert being heard is over: the miss rate's learner counts it, the silences go into the posterior."""
        loss = self._loss
        found = None
        if loss is not None and track.slot in loss.pending:
            if self._remote and LATE_JOIN_S:
                found = loss.take(track.slot)  # (counted with the late scanners' readings: _weigh_deferred)
            else:
                loss.end(track.slot, track.heard)
        far = self._range
        if far is not None and far.heard(track.heard):  # (proof that the store hears beyond the range)
            self._evidence.clear(silences=_far_silence())
        deferred = self._remote & ~track.heard
        stamp = track.last if track.advert_at is None else track.advert_at
        if self._remote and LATE_JOIN_S:  # (kept only where readings come late: a gateway alone keeps none)
            self._remember(track, Kept(stamp, track.heard, track.key, track.quiet, deferred, found))
        shading = track.shading and track.heard.bit_count() >= shade_module.SHADE_HEARD
        if shading:  # (the advert with the body in the way: every reading SHADE_DB louder than heard, heard less far)
            evidence, shaded, window = self._evidence, track.shaded, track.window
            radio = self._radio
            faint = faint_edge_db(radio.exponent, radio.sigma_db) if self._faint_far else -np.inf
            for scanner, residual, level in track.shadows:
                if evidence.near or residual < faint:  # (weighed as _reading weighs it)
                    self._weigh(track, shaded, scanner, residual, level, False)
                    continue
                likelihood = evidence.cache.get((READING[level], scanner, residual))
                if likelihood is None:
                    likelihood = evidence.reading(scanner, residual, level)
                np.multiply(shaded, likelihood[window], out=shaded)
            quieter = track.key - shade_module.SHADE_DB
            evidence.silence(track, track.heard | deferred, quieter, track.quiet, shaded)
        self._evidence.close(track, deferred)
        if shading:
            self._unshade(track, stamp)
        track.shading = False

    @staticmethod
    def _shade(track: Track, scanner: int, rssi: float, at: float) -> None:
        """The first reading of an advert (``rssi`` by ``scanner`` at ``at``): whether the advert is weighed with the
        body in the way as well (edge.presence_grid_shade) -- while a shadow is followed (SHADE_FOLLOW_P), or when
        the reading is SHADE_DROP_DB or more under the scanner's last one -- and if so, the posterior before it kept."""
        track.shade_due = False
        body = track.body
        prior = body.prior(at)
        if prior <= 0.0:
            return
        last = track.levels.get(scanner)
        if prior < shade_module.SHADE_FOLLOW_P and (last is None or rssi > last - shade_module.SHADE_DROP_DB):
            return
        if track.shaded.shape != track.state.shape:
            track.shaded = np.empty_like(track.state)
        np.copyto(track.shaded, track.state)  # (the posterior before the advert: weighed so at its close)
        track.shadows.clear()
        track.shading = True

    @staticmethod
    def _unshade(track: Track, at: float) -> None:
        """The advert at ``at`` weighed both ways (edge.presence_grid_shade): the body's probability is updated by
        how much of the posterior's mass each way kept, and the posterior becomes the mixture of the two by the
        probability before the advert."""
        state, shaded = track.state, track.shaded
        body = track.body
        prior = body.prior(at)
        body.update(at, prior, float(state.sum()), float(shaded.sum()))
        if prior >= 1.0:
            np.copyto(state, shaded)
            return
        np.multiply(shaded, prior / (1.0 - prior), out=shaded)  # (the layers' scale is the motion step's to set)
        np.add(state, shaded, out=state)

    # --- decisions -----------------------------------------------------------------------------

    def _shares(self) -> tuple[Vector, list[bool]]:
        """Per slot: each zone's share of the slot's mass, and whether a decision could change anything (a zone
        reached :data:`ENTER_P` while in none, or the zone held fell below :data:`STAY_P`; never without mass)."""
        shares, empty = self._windows.shares()
        used = len(shares)
        zone = self._windows.slot_zone[:used]
        held = shares[np.arange(used), np.maximum(zone, 0)] if shares.shape[1] else np.zeros(used)
        top = shares.max(axis=1) if shares.shape[1] else np.zeros(used)
        act = np.where(zone < 0, top >= min(ENTER_P, ENTER_LEAN_P), held < STAY_P) & ~empty
        return shares, act.tolist()

    def _decide(self, token: str, track: Track, now: float, shares: list[float]) -> list[PresenceEvent]:
        if not shares:
            return []
        best = max(range(len(shares)), key=shares.__getitem__)
        top = shares[best]
        current = track.zone
        if current < 0:
            if BIRTH_AFTER_LAG and now - track.born < self.lag():
                return []  # (its first readings by the late scanners are still on their way)
            if top >= ENTER_P or (top >= ENTER_LEAN_P and self._confirmed(track, best)):
                return self._set(token, track, best, now, shares)
            return []
        if shares[current] >= STAY_P:
            track.lean = -1
            return self._dwell(token, track, now, shares)
        if top >= HANDOFF_P:
            return self._set(token, track, best, now, shares)
        none = 1.0 - sum(shares)
        if now - track.since < HOLD_S:
            return self._dwell(token, track, now, shares)
        if none >= ENTER_P and (not CONFIRM_LEAVE or none >= LEAVE_SURE_P or self._confirmed(track, len(shares), now)):
            return self._set(token, track, -1, now, shares)
        if none < ENTER_P:
            track.lean = -1
        return self._dwell(token, track, now, shares)

    @staticmethod
    def _confirmed(track: Track, target: int, now: float | None = None) -> bool:
        """Whether the decision for ``target`` (a zone's index, or the zones' count for "no zone") was already
        due at an earlier decision and an advert has been heard since (:data:`ENTER_LEAN_P`, :data:`CONFIRM_LEAVE`)
        -- or, when leaving (``now`` given), the advert due since was heard by no scanner (:data:`MISSED_LEAVE`);
        if it was not due, it is due from now on."""
        if track.lean == target:
            if track.last > track.lean_at:
                return True
            return MISSED_LEAVE and now is not None and now - track.last > track.gap + ADVERT_DELAY_S
        track.lean, track.lean_at = target, track.last
        return False

    def _dwell(self, token: str, track: Track, now: float, shares: list[float] | None) -> list[PresenceEvent]:
        interval = self._dwell_s[track.zone]
        if now - track.dwell_at < interval:
            return []
        track.dwell_at += interval
        if now - track.dwell_at >= interval:
            track.dwell_at = now
        return [self._event("dwell", token, track, track.zone, now, shares)]

    def _set(self, token: str, track: Track, zone: int, at: float, shares: list[float]) -> list[PresenceEvent]:
        events: list[PresenceEvent] = []
        if track.zone >= 0:
            events.append(self._event("exited", token, track, track.zone, at, shares))
        track.zone = zone
        track.lean = -1
        self._windows.slot_zone[track.slot] = zone
        if zone >= 0:
            track.since = track.dwell_at = at
            events.append(self._event("entered", token, track, zone, at, shares))
        return events

    def _event(
        self,
        kind: Literal["entered", "dwell", "exited"],
        token: str,
        track: Track,
        k: int,
        at: float,
        shares: list[float] | None,
    ) -> PresenceEvent:
        """An event about zone ``k``, carrying the posterior of being in it (``shares``, else computed)."""
        if shares is None:
            shares = self._windows.track_shares(track)
        rssi = self._rssi(track, k)
        return PresenceEvent(
            kind,
            token,
            self._ids[k],
            at,
            track.via,
            rssi,
            distance_m(rssi, track.power, self._exponent),
            max(0.0, at - track.since),
            round(shares[k], 3),
        )

    def _rssi(self, track: Track, k: int) -> float:
        """The loudest last reading of the zone's scanners (of any scanner if none of them heard it)."""
        levels = track.levels
        heard = [levels[i] for s in self._zones[k].scanners if (i := self._scanner.get(s)) is not None and i in levels]
        if not heard:
            heard = list(levels.values()) or [track.power - 30.0]
        return max(heard)

    # --- consent and queries -------------------------------------------------------------------

    def forget(self, token: str) -> None:
        """Drop everything about ``token`` at once (consent withdrawn; its posterior zeroed); emits nothing."""
        track = self._tracks.pop(token, None)
        if track is not None:
            if self._loss is not None:
                self._loss.drop(track.slot)
            self._windows.release(track)

    def occupants(self, zone: str | None = None) -> list[Occupant]:
        found: list[Occupant] = []
        for token, track in self._tracks.items():
            if track.zone < 0 or zone not in (None, self._ids[track.zone]):
                continue
            rssi = self._rssi(track, track.zone)
            distance = distance_m(rssi, track.power, self._exponent)
            found.append(Occupant(token, self._ids[track.zone], track.since, rssi, distance, track.via))
        return found

    def zone_of(self, token: str) -> str | None:
        track = self._tracks.get(token)
        return None if track is None or track.zone < 0 else self._ids[track.zone]

    def radio(self) -> dict[str, float | None]:
        """What the radio learners know (the model engine's ``radio()``): exponent in use, learned, sigma, samples;
        the wall in use and, when it is learned, its estimate, standard error and samples; the faint readings weighed
        as possibly from beyond the range so far; the shoppers followed whose device's offset is applied
        (``devices_offset``: a count, never a token) and whose body is believed in the way of their phone at their last
        advert (``bodies_shadowed``, likewise: edge.presence_grid_shade) (empty with LEARN_RADIO off)."""
        if self._learner is None:  # (benchmarks read an empty report as "nothing learned")
            return {}
        found = self._learner.report()
        found.update({"wall_db": self._radio.wall_db} if self._wall is None else self._wall.report())
        found.update({"far_p": self._radio.far_p} if self._range is None else self._range.report())
        found.update({"miss_p": self._radio.miss_p} if self._loss is None else self._loss.report())
        found["faint_readings"] = float(self._faint_readings)
        found["devices_offset"] = float(sum(1 for track in self._tracks.values() if track.device.applied))
        believed = shade_module.BELIEVED_P
        found["bodies_shadowed"] = float(sum(1 for track in self._tracks.values() if track.body.p >= believed))
        offsets = self._learner.offsets
        if offsets is not None:  # per scanner: the offset learned (relative to the median) and the one applied
            for scanner, k in self._scanner.items():
                found[f"offset_db:{scanner}"] = offsets.learned[k]
                found[f"offset_applied_db:{scanner}"] = offsets.applied[k]
                found[f"offset_se_db:{scanner}"] = offsets.se[k]
        return found

    def device_offset(self, token: str) -> int | None:
        """How many dB louder than it declares the shopper's device is, as applied (edge.presence_grid_devices; None:
        the shopper is not followed)."""
        track = self._tracks.get(token)
        return None if track is None else track.device.applied

    def memory(self) -> RadioMemory | None:
        """The radio in use, to be kept across a restart (:mod:`edge.presence_grid_memory`); None when nothing is
        learned here (LEARN_RADIO off) or nothing yet differs from the configured start. A kept value this start did
        not use (KEEP_SIGMA, KEEP_MISS_WALL) stays the record until its learner moves the one in use."""
        learner = self._learner
        if learner is None:
            return None
        offsets = learner.offsets
        applied = (
            {} if offsets is None else {s: offsets.applied[k] for s, k in self._scanner.items() if offsets.applied[k]}
        )
        radio, kept = self._radio, self._kept
        sigma = kept.sigma_db if kept is not None and radio.sigma_db == self._sigma_start else radio.sigma_db
        miss: float | None = None
        if self._loss is not None:
            miss = radio.miss_p if radio.miss_p != self._miss_start else kept.miss_p if kept is not None else None
        wall: float | None = None
        if self._wall is not None:
            wall = radio.wall_db if radio.wall_db != self._wall_start else kept.wall_db if kept is not None else None
        far: float | None = None
        if self._range is not None:  # (a kept far hearing this start did not use stays the record until it moves)
            far = radio.far_p or (kept.far_p if kept is not None and not self._range.moved else None)
        exponent = learner.learner.exponent
        if (exponent, sigma, applied, miss, wall, far) == (self._exponent, self._sigma_start, {}, None, None, None):
            return None
        return RadioMemory(exponent=exponent, sigma_db=sigma, offsets_db=applied, miss_p=miss, wall_db=wall, far_p=far)

    def recall(self, memory: RadioMemory) -> None:
        """Start from a radio kept from an earlier run of this store (:meth:`memory`), before any sighting: its
        exponent and offsets; its sigma, miss rate, wall and far hearing only as
        :data:`~edge.presence_grid_memory.KEEP_SIGMA`, :data:`~edge.presence_grid_memory.KEEP_MISS_WALL` and
        :data:`~edge.presence_grid_memory.KEEP_FAR` say."""
        learner = self._learner
        if learner is None:
            return
        self._kept = memory
        offsets = {self._scanner[s]: v for s, v in memory.offsets_db.items() if s in self._scanner}
        keep_sigma = LEARN_SIGMA and memory_module.KEEP_SIGMA
        learner.recall(memory.exponent, memory.sigma_db if keep_sigma else None, offsets)
        radio = self._radio
        if memory_module.KEEP_MISS_WALL:
            if memory.miss_p is not None and self._loss is not None:
                radio.lose(memory.miss_p)
            if memory.wall_db is not None and self._wall is not None:  # (learned, not told by [floor])
                radio.retune(radio.exponent, None, memory.wall_db)
        if memory_module.KEEP_FAR and memory.far_p and self._range is not None:
            self._range.recall(memory.far_p)
        self._evidence.clear()

    def posterior(self, token: str) -> dict[str | None, float]:
        """The shopper's current posterior (None = outside every zone); empty if unknown."""
        track = self._tracks.get(token)
        if track is None:
            return {}
        shares = self._windows.track_shares(track)
        found: dict[str | None, float] = {None: max(0.0, 1.0 - sum(shares))}
        found.update(zip(self._ids, shares, strict=True))
        return found
