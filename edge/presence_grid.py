"""The grid presence engine: a Bayes filter over 1 m cells of the store's floor, in numpy.

The sweep prototype's filter (``edge/sim/sweep/grid.py``, ``SparseGrid``: the sweep oracle's algorithm told
only the gateway config) made cheap enough for the gateway (docs/presence.md, "A cheap grid engine"):

- the grid: :data:`CELL_M` cells of the config's ``[floor]`` and of the street within :data:`STREET_M` outside
  each door, laid out as the floor's bounding box (row-major, x then y) with a mask of the cells that exist;
  a zone's share of a cell from 3 x 3 points;
- per shopper a standing and a walking layer;
- the radio the model engine assumes (:mod:`edge.presence_grid_radio`): the exponent
  ``presence.path_loss_exponent`` (then learned from the posterior, as the model learns it), each advert's
  declared power, 6 dB shadowing with deep fades, 30 % of adverts lost, heard within 15 m above -95 dBm, a
  phone 1.2 m up;
- each advert multiplies in the likelihood of every scanner that heard it (one cached array per scanner and
  reading) and, once it is over, of every scanner that did not (one cached array per set of heard scanners and
  declared power): one array operation per sighting and one per advert; a floor larger than
  :data:`NEAR_BOX_CELLS` keeps the readings over each scanner's reach instead, and divides the heard scanners'
  silence out of all scanners' where they reach (a few operations more, a cache that holds a large store);
- each shopper's filter runs on a window :data:`WINDOW_M` wide that follows their mass, all shoppers' windows
  stacked in one array, so a motion step is a dozen array operations for everyone, not per shopper;
- the walking layer diffuses every :data:`PREDICT_S` (two tridiagonal matrices, along x and y, walls
  absorbing), mass switches layers (standing about 30 s, walking about 8 s), cells under a millionth of the
  mass are dropped;
- enter a zone at :data:`ENTER_P` of the mass, leave below :data:`STAY_P` to a zone or "no zone" that has
  reached :data:`ENTER_P`; a track ends (and its zone is exited) after :data:`SILENCE_S` unheard.

A pure core: no I/O, time only from the sightings and ticks it is given. The same API as
:class:`edge.presence_model.ZoneEstimator` (``observe``, ``tick``, ``zone_of``, ``forget``, ``occupants``,
``posterior``); its events carry the posterior of their zone.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import Literal

import numpy as np
import numpy.typing as npt

from edge.config import PresenceConfig, ScannerConfig, ZoneConfig
from edge.errors import ConfigError
from edge.floor import FloorConfig
from edge.presence import Occupant, PresenceEvent, Sighting
from edge.presence_grid_radio import LEARN_RADIO as LEARN_RADIO
from edge.presence_grid_radio import GridLearner, GridRadio
from edge.rssi import distance_m

Vector = npt.NDArray[np.float64]

# --- constants (the sweep prototype's, which are the oracle's: physical, not tuned to the sweep) -----------
CELL_M = 1.0
"""Grid resolution: 1 m. Coarser costs accuracy (2 m: tuning cells 91.7 -> 113.2, docs/presence.md)."""
STREET_M = 5.0
"""How far outside each door the grid reaches: a few steps of the street, where arriving shoppers are heard."""
SPEED_M_S = 1.3
"""A walking shopper's speed (a typical indoor walking pace)."""
PERSIST_S = 0.7
"""How long a walker keeps a direction: the diffusion's variance is speed^2 x PERSIST_S per second."""
STAND_S = 30.0
"""Mean time a shopper stands before walking on (a stop at a shelf)."""
WALK_S = 8.0
"""Mean time a shopper walks before stopping (a few metres between shelves)."""
PREDICT_S = 0.5
"""How often the walking layer moves: twice a second, a step shorter than a cell at walking pace."""
ENTER_P = 0.75
"""A zone is entered when it holds this share of the shopper's mass."""
STAY_P = 0.25
"""The zone is kept while it holds at least this share (hysteresis against flicker at a boundary)."""
SILENCE_S = 27.0
"""A shopper unheard this long has left: longer than any advertiser's pause (an app paused by its OS)."""
PRUNE_SHARE = 1e-6
"""Cells holding less than this share of a shopper's mass after a motion step are set to 0 (the prototype's
sparsity: a cell left empty can only be reached again by walking)."""
WINDOW_M = 24.0
"""Each shopper's filter runs on a square window of the floor this wide that follows their mass (bounded work
per shopper, whatever the store's size): wider than a scanner's reach is deep (a reading's likelihood is
spread over about 2-11 m from its scanner at 6 dB shadowing)."""
RECENTRE_CELLS = 2.0
"""A window follows its mass once the mass's centre is this many cells off the window's centre."""
NEAR_BOX_CELLS = 4096
"""A floor whose box has more cells than this (about 64 x 64 m) keeps its readings' likelihoods over each
scanner's reach (31 x 31 cells at most) and applies an advert's silence as every scanner's with the heard ones'
divided out where they reach: one or two operations more per sighting than over the box, but a cache that holds
a large store's readings (docs/presence.md)."""
NEAR: bool | None = None
"""Force the choice (True: over each scanner's reach, False: over the box) -- for comparing the two."""
QUIET_POWERS = 16
"""Declared powers whose silence arrays are kept, one per scanner and one for all of them (a store's cards and
phones declare a few; the sweep's ten): past it they are rebuilt."""
CACHE_BYTES = 16 * 1024 * 1024
"""The likelihood arrays kept (one per scanner and reading, one per set of heard scanners and declared power:
a few hundred in a store; 8 bytes per cell of the floor's box, 16 KB in a 40 x 50 m box): at most 16 MB
whatever the radio does; past it the cache starts again (a miss costs a few operations over the box)."""


class GridEngineError(ConfigError):
    """The grid engine cannot run on this config (it needs a ``[floor]`` plan and positioned scanners)."""


class _Track:
    __slots__ = ("advert_at", "dirty", "dwell_at", "heard", "key", "last", "levels", "origin", "power", "scanner",
                 "since", "slot", "state", "via", "zone")  # fmt: skip

    def __init__(self, slot: int, origin: tuple[int, int], at: float, via: str, power: float) -> None:
        self.slot = slot
        """The track's row in the engine's stacked arrays."""
        self.origin = origin
        """The box cell at the window's corner (its lowest x and y)."""
        self.dirty = True
        """Evidence since the last decision."""
        self.last = at
        self.via = via
        self.power = power
        self.key = round(power)
        """The declared power as the caches key it."""
        self.state: Vector = np.zeros(0)
        """A view of the track's row of the stacked layers (renewed when the stack grows)."""
        self.scanner = -1
        """The last scanner that heard the shopper (where the window goes if the evidence contradicts it)."""
        self.advert_at: float | None = None
        """The time stamp of the advert being heard (its sightings share it); None once closed."""
        self.heard = 0
        """The scanners that heard the advert being heard, as bits (1 << scanner index)."""
        self.levels: dict[int, float] = {}
        """The last RSSI (calibrated) per scanner index, for the events' rssi and distance."""
        self.zone = -1
        self.since = at
        self.dwell_at = at


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
        self._radio = radio = GridRadio(zones, scanners, floor, presence.path_loss_exponent, CELL_M, STREET_M)
        nx, ny = radio.shape
        self._mask = radio.mask.reshape(nx, ny)
        side = math.ceil(WINDOW_M / CELL_M)
        self._kx, self._ky = min(nx, side), min(ny, side)
        self._members = radio.members  # (zones, nx, ny)
        self._scanner = {s.id: k for k, s in enumerate(scanners)}
        self._at_cell = [radio.cell_of(s.x_m, s.y_m) for s in scanners]
        self._offsets = [s.offset_db for s in scanners]
        self._power_default = presence.measured_power_1m_dbm
        w = SPEED_M_S * SPEED_M_S * PREDICT_S * PERSIST_S / (2 * CELL_M * CELL_M)
        self._passes = max(1, math.ceil(w / 0.4))
        self._w = w / self._passes
        to_walk, to_stand = PREDICT_S / STAND_S, PREDICT_S / WALK_S
        self._switch = np.array([[1.0 - to_walk, to_stand], [to_walk, 1.0 - to_stand]])
        """One motion step's exchange between the standing (row 0) and the walking (row 1) layer."""
        kx, ky = self._kx, self._ky
        self._spread_x = np.eye(kx) * (1.0 - 2.0 * self._w) + (np.eye(kx, k=1) + np.eye(kx, k=-1)) * self._w
        """A pass of diffusion along x (on the left): each cell keeps 1 - 2w and gives w to each neighbour."""
        self._spread_y = np.eye(ky) * (1.0 - 2.0 * self._w) + (np.eye(ky, k=1) + np.eye(ky, k=-1)) * self._w
        """The same along y (on the right)."""
        self._xs, self._ys = np.arange(self._kx, dtype=np.float64), np.arange(ky, dtype=np.float64)
        self._ones_x, self._ones_y, self._ones_window = np.ones(self._kx), np.ones(ky), np.ones(self._kx * ky)
        self._state = np.zeros((0, 2, self._kx, ky))
        """Per slot: the standing and the walking layer over the track's window."""
        self._window_mask = np.zeros((0, self._kx, ky))
        self._window_members = np.zeros((0, len(zones), self._kx * ky))
        self._slot_zone = np.zeros(0, dtype=np.intp)
        """Per slot: the index of the zone its track is in (-1: none)."""
        self._free: list[int] = []
        self._used = 0
        """Slots below this may be in use (the stacked operations run over them)."""
        self._cache: dict[tuple[str, int, int], Vector] = {}
        """Likelihood arrays: of a ("reading", scanner, residual) over the box (or the scanner's reach, see
        :attr:`_near`), of all scanners but the "heard" ones (bits) silent for a declared power over the box."""
        self._near = nx * ny > NEAR_BOX_CELLS if NEAR is None else NEAR
        """Readings and silences over each scanner's reach rather than the floor's box (a large store)."""
        spans = [(x1 - x0) * (y1 - y0) for x0, x1, y0, y1 in radio.reach]
        self._cache_size = max(16, CACHE_BYTES // (8 * (max(spans, default=1) if self._near else nx * ny)))
        self._quiets: dict[tuple[int, int], Vector] = {}
        """Each scanner's silence (and all of them at once, scanner -1) per declared power: see :meth:`_quiet`."""
        self._tracks: dict[str, _Track] = {}
        self._next_predict: float | None = None
        self._learner = GridLearner(radio, presence.path_loss_exponent) if LEARN_RADIO else None
        """The store's path-loss exponent, learned from the posterior (docs/presence.md, "The grid's radio")."""

    # --- windows -------------------------------------------------------------------------------

    def _slot(self) -> int:
        if not self._free:
            old = len(self._state)
            grow = max(8, old)
            self._state = np.concatenate([self._state, np.zeros((grow, *self._state.shape[1:]))])
            self._window_mask = np.concatenate([self._window_mask, np.zeros((grow, *self._window_mask.shape[1:]))])
            self._window_members = np.concatenate(
                [self._window_members, np.zeros((grow, *self._window_members.shape[1:]))]
            )
            self._slot_zone = np.concatenate([self._slot_zone, np.full(grow, -1, dtype=np.intp)])
            self._free = list(range(old + grow - 1, old - 1, -1))
            for track in self._tracks.values():  # the stack moved: renew the views of its rows
                track.state = self._state[track.slot]
        slot = self._free.pop()
        self._used = max(self._used, slot + 1)
        return slot

    def _release(self, track: _Track) -> None:
        self._state[track.slot] = 0.0
        self._slot_zone[track.slot] = -1
        self._free.append(track.slot)
        self._free.sort(reverse=True)  # lowest first: keeps the stacked range short
        while self._used and self._used - 1 in self._free:
            self._used -= 1

    def _origin(self, cx: float, cy: float) -> tuple[int, int]:
        """The window's corner that centres it on box cell (cx, cy), within the box."""
        nx, ny = self._mask.shape
        x0 = min(max(round(cx - self._kx / 2), 0), nx - self._kx)
        y0 = min(max(round(cy - self._ky / 2), 0), ny - self._ky)
        return x0, y0

    def _place(self, track: _Track, origin: tuple[int, int], uniform: bool) -> None:
        """Move the track's window to ``origin`` (keeping the mass that stays inside), or start it uniform."""
        slot, (x0, y0), kx, ky = track.slot, origin, self._kx, self._ky
        mask = self._mask[x0 : x0 + kx, y0 : y0 + ky]
        state = self._state[slot]
        if uniform:
            state[:] = mask
        else:
            (ox, oy), moved = track.origin, np.zeros_like(state)
            dx, dy = x0 - ox, y0 - oy
            moved[:, max(0, -dx) : kx - max(0, dx), max(0, -dy) : ky - max(0, dy)] = state[
                :, max(0, dx) : kx - max(0, -dx), max(0, dy) : ky - max(0, -dy)
            ]
            state[:] = moved
        track.origin = origin
        self._window_mask[slot] = mask
        self._window_members[slot] = self._members[:, x0 : x0 + kx, y0 : y0 + ky].reshape(len(self._ids), -1)

    # --- evidence ------------------------------------------------------------------------------

    def _cached(self, key: tuple[str, int, int], make: Callable[[], Vector]) -> Vector:
        found = self._cache.get(key)
        if found is None:
            if len(self._cache) >= self._cache_size:
                self._cache.clear()
            found = self._cache[key] = make()
        return found

    def _quiet(self, scanner: int, power: int) -> Vector:
        """Over ``scanner``'s reach: its likelihood of missing an advert of declared ``power`` dBm (``scanner`` -1:
        every scanner's at once, their product, over the box). Kept apart from the main cache, so that a store
        whose readings and sets of heard scanners overflow that cache does not lose these too."""
        key = (scanner, power)
        found = self._quiets.get(key)
        if found is None:
            if len(self._quiets) >= QUIET_POWERS * (len(self._offsets) + 1):
                self._quiets.clear()
            if scanner >= 0:
                found = self._radio.silent(scanner, power)
            else:
                found = np.ones(self._radio.shape)
                for other, (x0, x1, y0, y1) in enumerate(self._radio.reach):
                    found[x0:x1, y0:y1] *= self._quiet(other, power)
            self._quiets[key] = found
        return found

    def _silence(self, heard: int, power: int) -> Vector:
        """Per cell: the likelihood that every scanner but the ``heard`` ones (bits) missed an advert of declared
        ``power`` dBm: every scanner's silence, the heard ones' divided back out (a silence is never below the
        loss rate, so the division is safe) -- one operation per heard scanner, whatever the store's size."""
        found = self._cache.get(("heard", heard, power))
        if found is not None:
            return found

        def make() -> Vector:
            product = self._quiet(-1, power).copy()
            for scanner, (x0, x1, y0, y1) in enumerate(self._radio.reach):
                if heard >> scanner & 1:
                    product[x0:x1, y0:y1] /= self._quiet(scanner, power)
            return product

        return self._cached(("heard", heard, power), make)

    def _close(self, track: _Track) -> None:
        """The advert being heard is over: every scanner that did not hear it multiplies in its silence."""
        track.advert_at = None
        heard, track.heard = track.heard, 0
        x0, y0 = track.origin
        if self._near:  # every scanner's silence, then each heard one's divided out where it reaches
            track.state *= self._quiet(-1, track.key)[x0 : x0 + self._kx, y0 : y0 + self._ky]
            while heard:
                bit = heard & -heard
                heard ^= bit
                scanner = bit.bit_length() - 1
                overlap = self._overlap(track.origin, scanner)
                if overlap is not None:
                    (wx, wy), (rx, ry) = overlap
                    track.state[:, wx, wy] /= self._quiet(scanner, track.key)[rx, ry]
            return
        silence = self._cache.get(("heard", heard, track.key))
        if silence is None:
            silence = self._silence(heard, track.key)
        track.state *= silence[x0 : x0 + self._kx, y0 : y0 + self._ky]

    def _overlap(self, origin: tuple[int, int], scanner: int) -> tuple[tuple[slice, slice], tuple[slice, slice]] | None:
        """Where a window at ``origin`` meets ``scanner``'s reach: (the window's slices, the reach's), or None."""
        x0, y0 = origin
        rx0, rx1, ry0, ry1 = self._radio.reach[scanner]
        ix0, ix1 = max(x0, rx0), min(x0 + self._kx, rx1)
        iy0, iy1 = max(y0, ry0), min(y0 + self._ky, ry1)
        if ix0 >= ix1 or iy0 >= iy1:
            return None
        return (slice(ix0 - x0, ix1 - x0), slice(iy0 - y0, iy1 - y0)), (
            slice(ix0 - rx0, ix1 - rx0),
            slice(iy0 - ry0, iy1 - ry0),
        )

    def observe(self, sighting: Sighting) -> list[PresenceEvent]:
        scanner = self._scanner.get(sighting.scanner)
        if scanner is None:  # a scanner the config does not place: no evidence about where
            return []
        at = sighting.at
        track = self._tracks.get(sighting.token)
        if track is None:
            power = sighting.measured_power_1m_dbm
            track = _Track(self._slot(), (0, 0), at, sighting.via, self._power_default if power is None else power)
            track.state = self._state[track.slot]
            self._tracks[sighting.token] = track
            self._place(track, self._origin(*self._at_cell[scanner]), uniform=True)
        track.last = at
        track.via = sighting.via
        track.scanner = scanner
        track.dirty = True
        rssi = sighting.rssi + self._offsets[scanner]
        track.levels[scanner] = rssi
        if track.advert_at != at:
            if track.advert_at is not None:
                self._close(track)
            track.advert_at = at
            power = sighting.measured_power_1m_dbm
            track.power = power = self._power_default if power is None else power
            track.key = round(power)
        residual = round(rssi - track.power)
        track.heard |= 1 << scanner
        found = self._cache.get(("reading", scanner, residual))
        if found is None:
            make = partial(self._radio.likelihood, scanner, residual, near=self._near)
            found = self._cached(("reading", scanner, residual), make)
        if self._near:
            self._weigh_near(track, scanner, found)
        else:
            x0, y0 = track.origin
            track.state *= found[x0 : x0 + self._kx, y0 : y0 + self._ky]
        learner = self._learner  # the radio, learned: when its exponent moves, likelihoods are rebuilt as asked for
        if learner is not None and track.zone >= 0 and learner.sample(at, scanner, track.power - rssi, track):
            self._cache.clear()
            self._quiets.clear()
        return []

    def _weigh_near(self, track: _Track, scanner: int, found: Vector) -> None:
        """A reading's likelihood over the scanner's reach (``found``) into the track's window: 0 outside it."""
        state, overlap = track.state, self._overlap(track.origin, scanner)
        if overlap is None:
            state[...] = 0.0
            return
        (wx, wy), (rx, ry) = overlap
        if wx.start:
            state[:, : wx.start] = 0.0
        if wx.stop < self._kx:
            state[:, wx.stop :] = 0.0
        if wy.start:
            state[:, wx, : wy.start] = 0.0
        if wy.stop < self._ky:
            state[:, wx, wy.stop :] = 0.0
        state[:, wx, wy] *= found[rx, ry]

    # --- motion --------------------------------------------------------------------------------

    def _predict(self) -> None:
        """One motion step for every track at once: the walking layer spreads (along x, then along y, each a
        tridiagonal matrix followed by the mask: walls and shelving absorb), the layers exchange, each track's
        mass is scaled to 1, cells under :data:`PRUNE_SHARE` dropped, and a window whose mass has moved off its
        centre follows it (mass walking off a window's edge is lost, like mass walking into a wall)."""
        used = self._used
        state = self._state[:used]
        mask = self._window_mask[:used]
        walk = state[:, 1]
        moved = walk
        for _ in range(self._passes):
            moved = np.matmul(self._spread_x, moved)
            moved *= mask
            moved = (moved.reshape(-1, self._ky) @ self._spread_y).reshape(mask.shape)
            moved *= mask
        stand = state[:, 0]
        # row and column sums of both layers (the exchange below keeps them: it moves mass between the layers of
        # a cell), by matrix products: numpy's reductions over inner axes are slower
        rows = stand @ self._ones_y + moved @ self._ones_y
        cols = self._ones_x @ stand + self._ones_x @ moved
        totals = rows.sum(axis=1)
        bad = ~((totals > 1e-250) & np.isfinite(totals))  # evidence that no cell explains (or a free slot)
        lost = [track for track in self._tracks.values() if bad[track.slot]] if bad.any() else []
        totals[bad] = 1.0
        scale = 1.0 / totals
        walk[...] = moved
        # the layers' exchange and the scaling to 1 in one product per slot
        step = self._switch[None, :, :] * scale[:, None, None]
        state[...] = np.matmul(step, state.reshape(used, 2, -1)).reshape(state.shape)
        np.copyto(state, 0.0, where=state < PRUNE_SHARE)
        for track in lost:  # start again
            self._place(track, self._origin(*self._at_cell[track.scanner]), uniform=True)
        cx, cy = (rows @ self._xs) * scale, (cols @ self._ys) * scale
        half_x, half_y = (self._kx - 1) / 2, (self._ky - 1) / 2
        cx[bad], cy[bad] = half_x, half_y  # a window started again stays where it was put
        if self._learner is not None:
            self._learner.centred(cx.tolist(), cy.tolist())
        off = (np.abs(cx - half_x) >= RECENTRE_CELLS) | (np.abs(cy - half_y) >= RECENTRE_CELLS)
        if off.any():
            for track in self._tracks.values():
                slot = track.slot
                if off[slot]:
                    x0, y0 = track.origin
                    origin = self._origin(x0 + cx[slot] + 0.5, y0 + cy[slot] + 0.5)
                    if origin != track.origin:
                        self._place(track, origin, uniform=False)

    # --- timers --------------------------------------------------------------------------------

    def tick(self, now: float) -> list[PresenceEvent]:
        events: list[PresenceEvent] = []
        tracks = self._tracks
        for token, track in list(tracks.items()):
            if track.advert_at is not None:
                self._close(track)
            if now - track.last >= SILENCE_S:
                if track.zone >= 0:
                    events.append(self._event("exited", token, track, track.zone, now, None))
                del tracks[token]
                self._release(track)
        predict = self._next_predict is None or now >= self._next_predict
        if predict:
            self._next_predict = now + PREDICT_S
            if tracks:
                self._predict()
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
            if track.zone >= 0:
                events += self._dwell(token, track, now, None)
        if shares is not None and self._learner is not None:
            self._learner.settled(shares)
        return events

    def _shares(self) -> tuple[Vector, list[bool]]:
        """Per slot: each zone's share of the slot's mass, and whether a decision could change anything (a zone
        reached :data:`ENTER_P` while in none, or the zone held fell below :data:`STAY_P`; never without mass)."""
        used = self._used
        layers = self._state[:used].reshape(used, 2, -1)
        masses = np.matmul(self._window_members[:used], layers.transpose(0, 2, 1)).sum(axis=2)
        totals = (layers @ self._ones_window).sum(axis=1)
        empty = ~(totals > 0.0)
        totals[empty] = 1.0
        shares: Vector = masses / totals[:, None]
        zone = self._slot_zone[:used]
        held = shares[np.arange(used), np.maximum(zone, 0)] if shares.shape[1] else np.zeros(used)
        top = shares.max(axis=1) if shares.shape[1] else np.zeros(used)
        act = np.where(zone < 0, top >= ENTER_P, held < STAY_P) & ~empty
        return shares, act.tolist()

    def _decide(self, token: str, track: _Track, now: float, shares: list[float]) -> list[PresenceEvent]:
        if not shares:
            return []
        best = max(range(len(shares)), key=shares.__getitem__)
        top = shares[best]
        current = track.zone
        if current < 0:
            return self._set(token, track, best, now, shares) if top >= ENTER_P else []
        if shares[current] >= STAY_P:
            return self._dwell(token, track, now, shares)
        if top >= ENTER_P:
            return self._set(token, track, best, now, shares)
        if 1.0 - sum(shares) >= ENTER_P:
            return self._set(token, track, -1, now, shares)
        return self._dwell(token, track, now, shares)

    def _dwell(self, token: str, track: _Track, now: float, shares: list[float] | None) -> list[PresenceEvent]:
        interval = self._zones[track.zone].dwell_interval_s
        if now - track.dwell_at < interval:
            return []
        track.dwell_at += interval
        if now - track.dwell_at >= interval:
            track.dwell_at = now
        return [self._event("dwell", token, track, track.zone, now, shares)]

    def _set(self, token: str, track: _Track, zone: int, at: float, shares: list[float]) -> list[PresenceEvent]:
        events: list[PresenceEvent] = []
        if track.zone >= 0:
            events.append(self._event("exited", token, track, track.zone, at, shares))
        track.zone = zone
        self._slot_zone[track.slot] = zone
        if zone >= 0:
            track.since = track.dwell_at = at
            events.append(self._event("entered", token, track, zone, at, shares))
        return events

    def _track_shares(self, track: _Track) -> list[float]:
        """One track's share of its mass in each zone (zeros if it holds none)."""
        state = self._state[track.slot]
        both = (state[0] + state[1]).reshape(-1)
        total = float(both.sum())
        masses = self._window_members[track.slot] @ both
        found: list[float] = (masses / total if total > 0.0 else masses * 0.0).tolist()
        return found

    def _event(
        self,
        kind: Literal["entered", "dwell", "exited"],
        token: str,
        track: _Track,
        k: int,
        at: float,
        shares: list[float] | None,
    ) -> PresenceEvent:
        """An event about zone ``k``, carrying the posterior of being in it (``shares``, else computed)."""
        if shares is None:
            shares = self._track_shares(track)
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

    def _rssi(self, track: _Track, k: int) -> float:
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
            self._release(track)

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
        """What the radio learner knows (the model engine's ``radio()``): exponent in use, learned, sigma, samples."""
        return {} if self._learner is None else self._learner.report()

    def posterior(self, token: str) -> dict[str | None, float]:
        """The shopper's current posterior (None = outside every zone); empty if unknown."""
        track = self._tracks.get(token)
        if track is None:
            return {}
        shares = self._track_shares(track)
        found: dict[str | None, float] = {None: max(0.0, 1.0 - sum(shares))}
        found.update(zip(self._ids, shares, strict=True))
        return found
