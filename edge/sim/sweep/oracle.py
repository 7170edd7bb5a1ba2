"""The ORACLE reference: a Bayes filter over positions, given the cell's TRUE radio model and layout.

The floor (where shoppers can be: the building less its shelving, plus a few metres outside each
door) is a grid of :data:`CELL_M` cells. Per shopper, a posterior over (cell, motion mode):

- **prediction** every tick: shoppers in the sim stand at shelves (20-120 s) and walk between them
  (0.6-1.5 m/s), so the posterior has a *standing* and a *walking* layer. Standing mass stays put;
  walking mass spreads as a persistent walker does (a Gaussian step whose variance per tick is
  ``v^2 x tick x`` :data:`PERSIST_S`: the diffusion of a walker who keeps a heading for that long,
  so the spread keeps up with a shopper walking past instead of lagging a random walk of ``v x tick``
  steps); mass switches between the layers at the rates of :data:`STAND_S` / :data:`WALK_S`; walls absorb;
- **update** by each advert: the likelihood of every scanner that heard it -- the exact mixture the
  simulator draws from (shadowing plus the device's calibration error, deep fades, body shadowing,
  the scanner's own calibration error, the wall loss outside) -- and of every scanner that did
  *not* hear it (lost, beyond the hearing range, or below the sensitivity: silence from a scanner
  3 m away is evidence too);
- **decision** from the posterior mass inside each zone's area, with hysteresis of the strength the
  production engines use: enter at :data:`ENTER_P`; below :data:`STAY_P` hand off to the zone -- or to
  "no zone" -- that has reached :data:`ENTER_P` (while the mass is spread, the shopper stays put);
  out after ``silence_s`` unheard.

No engine can know more than this one does (it is told the radio parameters, the walking speed and
the layout the others must do without), so it is the practical limit of a cell: where it misses a
goal, the goal is out of reach. It does not know the aisles' directions (a walker's heading), so a
shopper walking past is still followed a little late. Needs numpy (the bench extra brings it).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from edge.presence import Occupant, PresenceEvent, Sighting
from edge.sim.sweep.layouts import PHONE_HEIGHT_M, Layout
from edge.sim.sweep.radio import MIN_DISTANCE_M, Radio

Array = npt.NDArray[np.float64]

CELL_M = 1.0
"""Grid resolution: a third of a zone's 3 m radius; 0.75 m gave the same figures (the noise is 3-8 dB,
metres of position) at 1.7x the time."""
MARGIN_M = 5.0
"""How far outside the building the grid reaches (shoppers arrive and leave through doors)."""
PERSIST_S = 0.7
"""The walking layer's diffusion: v^2 x PERSIST_S of variance per second (the diffusion of a walker who
keeps a heading this long). 0.7 s follows a walker along an aisle; 2 s (a walker's real persistence)
spread the mass faster than the adverts could pin it and flapped (19 spurious changes per hour in the
base cell); the old random walk of 1.5 v x tick steps with 70 % standing still lagged walkers (exit
p95 4.1 s there, 12 spurious per hour in the 4 m tiles)."""
STAND_S = 30.0
"""Mean time a shopper stands before walking on (the sim's stops are 5-120 s)..."""
WALK_S = 8.0
"""...and mean time they walk before stopping (a walk between departments, a few tiles)."""
PREDICT_TICKS = 2
"""The motion is predicted every this many ticks (0.5 s: a walker moves half a cell), the adverts
multiplied in and the zones decided every tick: the prediction is most of the cost."""
UNIFORM_SHARE = 1e-4
"""Share of the posterior re-spread uniformly each tick: the filter can recover from a wrong lock."""
ENTER_P = 0.75
"""Posterior mass in a zone at which the shopper is placed in it (the most probable zone)..."""
STAY_P = 0.25
"""...and below which they leave it: the band between is the hysteresis, of the strength the production
engines use (0.45 / 0.25 flapped at zone edges: 3-6x the spurious changes in the tiled aisles)."""
TABLES_KEPT = 4
"""How many layouts-and-radios' likelihood arrays (:class:`_Tables`) are kept, the latest used: 5-30 MB each."""
RESIDUAL_STEP_DB = 0.1
"""Resolution of the tabulated likelihood of a residual (RSSI minus the model's mean)."""


def _phi(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def residual_pdf(radio: Radio, x: float) -> float:
    """Density of RSSI minus the model's mean (for the device's declared power), per the true radio model."""
    sigma = math.hypot(radio.sigma_db, radio.calibration_sigma_db)
    body = min(0.5, radio.body_rate_hz * sum(radio.body_s) / 2)
    main = math.exp(-0.5 * (x / sigma) ** 2) / (sigma * math.sqrt(2.0 * math.pi))

    def shifted(low: float, high: float) -> float:  # the main density shifted down by U(low, high)
        return (_phi((x + high) / sigma) - _phi((x + low) / sigma)) / (high - low)

    value = (1.0 - radio.fade_p) * ((1.0 - body) * main + body * shifted(*radio.body_db))
    return value + radio.fade_p * shifted(*radio.fade_db) + 1e-9


@functools.cache
def _floor(layout: Layout) -> tuple[tuple[int, int], Array, Array, npt.NDArray[np.bool_], Array, Array]:
    """The grid of a layout, computed once per process and shared by every cell and seed on that layout:
    (shape, x and y of each cell, inside the building, walkable mask, share of each cell in each zone)."""
    bx0, by0, bx1, by1 = layout.bounds
    x0, y0 = bx0 - MARGIN_M, by0 - MARGIN_M
    width = math.ceil((bx1 - bx0 + 2 * MARGIN_M) / CELL_M)
    height = math.ceil((by1 - by0 + 2 * MARGIN_M) / CELL_M)
    shape = (height, width)
    xs = x0 + (np.arange(width) + 0.5) * CELL_M
    ys = y0 + (np.arange(height) + 0.5) * CELL_M
    gx, gy = np.meshgrid(xs, ys)
    cx, cy = gx.ravel(), gy.ravel()
    points = list(zip(cx.tolist(), cy.tolist(), strict=True))
    inside = np.array([layout.inside(x, y) for x, y in points])
    doors = (layout.walkway[0], layout.walkway[-1], layout.outside_in, layout.outside_out)
    near_door = np.zeros(cx.shape, dtype=bool)
    for dx, dy in doors:
        near_door |= np.hypot(cx - dx, cy - dy) <= MARGIN_M
    floor = np.array([layout.walkable(x, y) for x, y in points])
    mask: Array = (floor | near_door).astype(np.float64).reshape(shape)
    sub = (np.arange(3) + 0.5) / 3 * CELL_M - CELL_M / 2
    membership = np.zeros((len(layout.zones), cx.size))
    for zi, zone in enumerate(layout.zones):
        for ox in sub:
            for oy in sub:
                hits = [zone.contains(x + ox, y + oy) for x, y in points]
                membership[zi] += np.array(hits, dtype=np.float64) / 9.0
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if len(rows):  # the grid cropped to the box of the cells that can hold mass (CROP)
        keep = (slice(int(rows[0]), int(rows[-1]) + 1), slice(int(cols[0]), int(cols[-1]) + 1))
        mask = mask[keep].copy()
        cells = np.arange(cx.size).reshape(shape)[keep].ravel()
        shape = (mask.shape[0], mask.shape[1])
        cx, cy, inside, membership = cx[cells], cy[cells], inside[cells], membership[:, cells]
    return shape, cx, cy, inside, mask, membership.T.copy()


@functools.cache
def _residuals(radio: Radio) -> tuple[Array, Array, Array]:
    """The tabulated density of a residual and its cumulative, once per radio."""
    table_x: Array = np.arange(-80.0, 60.0 + RESIDUAL_STEP_DB, RESIDUAL_STEP_DB)
    table: Array = np.array([residual_pdf(radio, float(x)) for x in table_x])
    return table_x, table, np.cumsum(table) * RESIDUAL_STEP_DB


class _Tables:
    """The likelihood arrays of one layout and radio, made as the adverts ask for them and shared by every oracle of
    that layout and radio (every seed of a cell, and cells that change only the shoppers or the advertisers): each
    array is a function of its key alone -- a reading's of (scanner, residual dB), a silence's of (the scanners that
    heard, declared power dBm), one scanner's not hearing of (scanner, declared power) -- so a shared array is the
    array an oracle would have made itself (about 3 % of the oracle's time in the sweep when each made its own).
    Pickled as a reference (:func:`_tables` of its key), so an oracle unpickled in this process shares them too."""

    def __init__(self, layout: Layout, radio: Radio) -> None:
        self.key = (layout, radio)
        self.lik: dict[tuple[int, int], Array] = {}
        self.unheard: dict[tuple[int, int], Array] = {}
        self.silent: dict[tuple[int, int], Array] = {}

    def parts(
        self,
    ) -> tuple[dict[tuple[int, int], Array], dict[tuple[int, int], Array], dict[tuple[int, int], Array]]:
        return self.lik, self.unheard, self.silent

    def __reduce__(self) -> tuple[object, tuple[Layout, Radio]]:
        return _tables, self.key


@functools.lru_cache(maxsize=TABLES_KEPT)
def _tables(layout: Layout, radio: Radio) -> _Tables:
    return _Tables(layout, radio)


class BayesOracle:
    """See the module docstring; the presence engine's API (``observe``, ``tick``, ``zone_of``, ...)."""

    def __init__(
        self,
        layout: Layout,
        radio: Radio,
        *,
        speed_m_s: float,
        silence_s: float,
        tick_s: float = 0.25,
        enter_p: float = ENTER_P,
        stay_p: float = STAY_P,
        persist_s: float = PERSIST_S,
    ) -> None:
        self._silence_s = silence_s
        self._enter_p, self._stay_p = enter_p, stay_p
        step_s = PREDICT_TICKS * tick_s
        self._to_walk = step_s / STAND_S
        self._to_stand = step_s / WALK_S
        self._ticks = 0
        self._shape, cx, cy, inside, self._mask, membership = _floor(layout)
        self._zone_cells = np.flatnonzero(membership.any(axis=1))
        """The cells any zone has a share of (the zones' masses are sums over these alone)..."""
        self._membership: Array = membership[self._zone_cells]
        """...and each zone's share of each of them."""
        self._uniform: Array = self._mask / self._mask.sum()
        errors = radio.errors()
        self._scanner = {s.id: i for i, s in enumerate(layout.scanners)}
        self._means: list[Array] = []
        self._heard: list[Array] = []
        for s in layout.scanners:
            d = np.sqrt((cx - s.x) ** 2 + (cy - s.y) ** 2 + (s.height_m - PHONE_HEIGHT_M) ** 2)
            mean = -10.0 * radio.exponent * np.log10(np.maximum(d, MIN_DISTANCE_M)) + errors.get(s.id, 0.0)
            self._means.append(mean - radio.wall_db * (~inside))
            self._heard.append((d <= radio.range_m).astype(np.float64))
        self._table_x, self._table, self._cdf = _residuals(radio)
        self._miss = radio.miss
        self._sensitivity = radio.sensitivity_dbm
        self._tables = _tables(layout, radio)
        self._lik, self._unheard, self._silent = self._tables.parts()
        self._advert: dict[str, list[float]] = {}
        """Per token, the advert being collected: its time, declared power and the scanners that heard it (bits)."""
        self._zones = [z.id for z in layout.zones]
        variance = speed_m_s * speed_m_s * step_s * persist_s
        w = variance / (2 * CELL_M * CELL_M)
        self._passes = max(1, math.ceil(w / 0.4))
        self._w = w / self._passes
        self._post: Array = np.zeros((4, 2, *self._shape))  # slot, (standing, walking), grid
        self._rows = _rows(self._post)
        self._work: list[Array] = [np.empty(0)] * 3
        self._product: Array = np.empty(self._mask.size)
        """An advert's evidence, multiplied up (reused)."""
        """The prediction's work arrays, a walking layer per slot each (reused: the prediction is most of the cost)."""
        self._floor_share: Array = (UNIFORM_SHARE / 2) * self._uniform
        self._kept: Array = self._mask * (1.0 - UNIFORM_SHARE)
        """The mask times the share kept (the mask is 0 or 1: the same products as one after the other)."""
        self._kept_row, self._floor_row = self._kept.reshape(-1), self._floor_share.reshape(-1)
        self._slot: dict[str, int] = {}
        """Per tracked token, its slot of the posterior: the slots in use are always the first ``len(self._slot)`` (a
        freed slot takes the last one's posterior, :meth:`_release`), so the prediction and the zones' masses cover
        tracked shoppers alone."""
        self._tokens: list[str] = []
        """The token of each slot in use."""
        self._zone_index: dict[str, int] = {}
        for k, zone_id in enumerate(self._zones):
            self._zone_index.setdefault(zone_id, k)
        self._pending: dict[str, list[Array]] = {}
        self._last: dict[str, float] = {}
        self._zone: dict[str, tuple[str, float]] = {}

    def __getstate__(self) -> dict[str, object]:
        """Pickled without the likelihood arrays (an unpickled copy takes its layout's and radio's shared ones) nor
        the views of the posterior's slots (pickled, each would be an array of its own: made anew)."""
        state = self.__dict__.copy()
        for name in ("_lik", "_unheard", "_silent", "_rows"):
            del state[name]
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._lik, self._unheard, self._silent = self._tables.parts()
        self._rows = _rows(self._post)

    def _reading(self, index: int, residual: int) -> Array:
        """Likelihood per cell of scanner ``index`` reading ``residual`` dB off the declared power (cached)."""
        lik = self._lik[(index, residual)] = np.interp(residual - self._means[index], self._table_x, self._table)
        lik *= self._heard[index]
        return lik

    def _not_heard(self, index: int, power: float) -> Array:
        """Likelihood per cell that scanner ``index`` did not hear an advert of declared ``power``."""
        key = (index, round(power))
        found = self._unheard.get(key)
        if found is None:
            below = np.interp(self._sensitivity - key[1] - self._means[index], self._table_x, self._cdf)
            heard = (1.0 - self._miss) * self._heard[index] * (1.0 - np.clip(below, 0.0, 1.0))
            found = self._unheard[key] = 1.0 - heard
        return found

    def observe(self, s: Sighting) -> list[PresenceEvent]:
        index = self._scanner.get(s.scanner)
        if index is None:
            return []
        token, at = s.token, s.at
        power = s.measured_power_1m_dbm if s.measured_power_1m_dbm is not None else -59.0
        residual = round(s.rssi - power)
        lik = self._lik.get((index, residual))
        if lik is None:
            lik = self._reading(index, residual)
        pending = self._pending.get(token)
        if pending is None:
            self._pending[token] = [lik]
        else:
            pending.append(lik)
        self._last[token] = at
        advert = self._advert.get(token)
        if advert is None or advert[0] != at:
            self._close(token)
            advert = self._advert[token] = [at, power, 0]
        advert[2] = int(advert[2]) | 1 << index
        return []

    def _close(self, token: str) -> None:
        """The advert of ``token`` being collected is complete: the scanners that missed it speak too."""
        advert = self._advert.pop(token, None)
        if advert is not None:
            _, power, bits = advert
            heard = int(bits)
            key = (heard, round(power))
            silent = self._silent.get(key)
            if silent is None:
                silent = np.ones_like(self._means[0])
                for i in range(len(self._means)):
                    if not heard >> i & 1:
                        silent = silent * self._not_heard(i, power)
                self._silent[key] = silent
            self._pending.setdefault(token, []).append(silent)

    def _update(self) -> None:
        """Bayes' update of every shopper heard since the last tick: the product of their evidence in its order, times
        their posterior, normalised -- numpy's functions called directly (``np.add.reduce`` is what ``ndarray.sum``
        calls, less its Python wrapper; ``np.multiply(..., out=)`` is ``*=`` less the operator's dispatch) on flat
        views of each slot's layers made once per posterior array (:func:`_rows`): the same numbers as before
        session 22, about 3 % less of the oracle's time (tests/test_sweep_cpu.py compares them at every tick)."""
        multiply, divide, add_reduce = np.multiply, np.divide, np.add.reduce
        for token, liks in self._pending.items():
            slot = self._slot.get(token)
            if slot is None:
                slot = self._track(token)
            standing, walking, flat = self._rows[slot]
            if len(liks) > 1:  # (into a work array: the products in the same order as one copy multiplied on)
                product = multiply(liks[0], liks[1], out=self._product)
                for lik in liks[2:]:
                    multiply(product, lik, out=product)
            else:
                product = liks[0]
            multiply(standing, product, out=standing)  # (layer by layer: faster than one broadcast over both)
            multiply(walking, product, out=walking)
            total = add_reduce(flat)  # (flat.sum() without its Python wrapper: the same pairwise sum)
            if total <= 0.0 or not math.isfinite(total):
                flat.reshape(2, -1)[:] = self._uniform.reshape(-1) / 2
            else:
                divide(flat, total, out=flat)
        self._pending.clear()

    def _track(self, token: str) -> int:
        """A slot for a new ``token``, its posterior the uniform one."""
        slot = self._slot[token] = len(self._tokens)
        self._tokens.append(token)
        if slot == self._post.shape[0]:
            self._grow()
        self._post[slot] = self._uniform / 2
        return slot

    def _grow(self) -> None:
        self._post = np.concatenate([self._post, np.zeros_like(self._post)])
        self._rows = _rows(self._post)

    def _release(self, token: str) -> None:
        """Free ``token``'s slot: the last slot in use moves into it (a copy: a slot's arithmetic is its own, so the
        numbers are those it would have had where it was)."""
        slot = self._slot.pop(token)
        last = len(self._slot)
        moved = self._tokens.pop()
        if slot != last:
            self._post[slot] = self._post[last]
            self._tokens[slot] = moved
            self._slot[moved] = slot  # (an existing key: the order of the tokens is kept)
        self._post[last] = 0.0

    def _predict(self, used: int) -> None:
        """The motion step of slots ``[0, used)`` in place, in the work arrays (no allocation per tick)."""
        if self._work[0].shape[0] < used:
            self._work = [np.empty((self._post.shape[0], *self._shape)) for _ in range(3)]
        a, b, t = (buffer[:used] for buffer in self._work)
        a1, b1, t1 = a.reshape(-1), b.reshape(-1), t.reshape(-1)
        width = self._shape[1]
        both = self._post[:used]
        stand, post = both[:, 0], both[:, 1]
        w = self._w
        keep = 1.0 - 2.0 * w
        for _ in range(self._passes):  # the walking layer spreads along x (into a), then along y (into b)
            np.multiply(post, keep, out=a)
            np.multiply(post, w, out=t)  # (each neighbour's share once: the same product goes left and right)
            _shift_add(a1, t1, 1, a[:, :, 0])  # a[:, :, 1:] += t[:, :, :-1]
            _shift_add(a1, t1, -1, a[:, :, -1])  # a[:, :, :-1] += t[:, :, 1:]
            np.multiply(a, keep, out=b)
            np.multiply(a, w, out=t)
            _shift_add(b1, t1, width, b[:, 0, :])  # b[:, 1:, :] += t[:, :-1, :]
            _shift_add(b1, t1, -width, b[:, -1, :])  # b[:, :-1, :] += t[:, 1:, :]
            post = b
        walk = both[:, 1]  # (its old mass spread is in post: the new walking layer goes in its place) ...
        np.multiply(post, 1.0 - self._to_stand, out=walk)
        np.multiply(stand, self._to_walk, out=t)
        walk += t
        np.multiply(stand, 1.0 - self._to_walk, out=stand)  # ... and the new standing layer, in place
        np.multiply(post, self._to_stand, out=t)
        stand += t
        layers = self._post[:used].reshape(2 * used, -1)  # (one row per layer: the same products, no 2-D broadcast)
        layers *= self._kept_row  # (the mask is 0 or 1: one product is the mask's, then the re-spread share's)
        layers += self._floor_row

    def tick(self, now: float) -> list[PresenceEvent]:
        events: list[PresenceEvent] = []
        for token in list(self._advert):
            self._close(token)
        self._ticks += 1
        if self._slot and self._ticks % PREDICT_TICKS == 0:
            self._predict(len(self._slot))
        if self._pending:
            self._update()
        if not self._slot:
            return events
        used = len(self._slot)
        picked = self._post[:used].reshape(used, 2, -1)[:, :, self._zone_cells]
        masses = np.add(picked[:, 0], picked[:, 1]) @ self._membership
        bests, tops, rows = masses.argmax(axis=1).tolist(), masses.max(axis=1).tolist(), masses.tolist()
        last, silence, enter_p, stay_p = self._last, self._silence_s, self._enter_p, self._stay_p
        for token, slot in list(self._slot.items()):  # (slot: where its masses are, even if a release moved it)
            current = self._zone.get(token)
            if now - last[token] >= silence:
                if current is not None:
                    events += self._set(token, None, now)
                self._release(token)
                continue
            best, top = bests[slot], tops[slot]
            if current is None:
                if top >= enter_p:
                    events += self._set(token, self._zones[best], now)
                continue
            if rows[slot][self._zone_index[current[0]]] >= stay_p:
                continue
            if top >= self._enter_p:
                events += self._set(token, self._zones[best], now)
            elif 1.0 - float(masses[slot].sum()) >= self._enter_p:
                events += self._set(token, None, now)
        return events

    def _set(self, token: str, zone: str | None, at: float) -> list[PresenceEvent]:
        events: list[PresenceEvent] = []
        current = self._zone.pop(token, None)
        if current is not None:
            events.append(PresenceEvent("exited", token, current[0], at, "", 0.0, 0.0, at - current[1]))
        if zone is not None:
            self._zone[token] = (zone, at)
            events.append(PresenceEvent("entered", token, zone, at, "", 0.0, 0.0, 0.0))
        return events

    def zone_of(self, token: str) -> str | None:
        current = self._zone.get(token)
        return None if current is None else current[0]

    def forget(self, token: str) -> None:
        if token in self._slot:
            self._release(token)
        self._pending.pop(token, None)
        self._advert.pop(token, None)
        self._zone.pop(token, None)

    def occupants(self, zone: str | None = None) -> list[Occupant]:
        return [Occupant(t, z, since, 0.0, 0.0, "") for t, (z, since) in self._zone.items() if zone in (None, z)]


def _rows(post: Array) -> list[tuple[Array, Array, Array]]:
    """Per slot of ``post``, flat views of its standing and walking layers and of both (made once per array)."""
    return [(slot[0].reshape(-1), slot[1].reshape(-1), slot.reshape(-1)) for slot in post]


def _shift_add(flat: Array, source: Array, by: int, edge: Array) -> None:
    """``flat`` += ``source`` shifted ``by`` cells, both a block of slots' grids flattened: +1 from the left neighbour,
    -1 from the right, +/- the row length from the row before / after. One 1-D operation (a shifted slice of a 3-D
    array is 2-5x slower); the cells the shift reaches across a row's or a slot's end -- ``edge``, the first or last
    column or row of every slot -- are put back as they were, so each cell gets exactly the additions the slice of
    each axis gives it (tests/test_sweep_cpu.py compares them): 97 -> 76 us for 10 slots of today's store."""
    kept = edge.copy()
    if by > 0:
        flat[by:] += source[:-by]
    else:
        flat[:by] += source[-by:]
    edge[...] = kept


def silence_s(intervals_s: Sequence[float], longest_pause_s: float) -> float:
    """How long the oracle waits unheard before a shopper is gone: twice the longest pause of the
    slowest advertiser plus three of its adverts, plus a second. Generous: a shopper who walks out is
    followed out of every zone by the filter long before; this only ends the track."""
    return 2.0 * longest_pause_s + 3.0 * max(intervals_s) + 1.0
