"""The grid engine's shoppers on windows of the floor that follow their mass, stacked, and their motion step.

Each shopper's standing layer and walking layers (one per heading) live on a :data:`WINDOW_M` square window of the
1 m grid, moved when the mass's centre is :data:`RECENTRE_CELLS` off its centre; all shoppers' windows are rows of
one ``(slots, 1 + HEADINGS, cells along x, cells along y)`` array, so a motion step is about fifteen array
operations for everyone, not per shopper (docs/presence.md, "A cheap grid engine"):

- the walking layers move every :data:`PREDICT_S`: spread and carried along their heading (:data:`HEADINGS`) by a
  tridiagonal matrix along x and one along y per heading, each followed by the window's floor mask (walls and
  shelving absorb what the spread sends them); the walkers the carry sends into a wall stay, and turn (the window's
  blocked map, made when it is placed, gives them back);
- mass switches layers (standing about :data:`STAND_S`, walking about :data:`WALK_S`), the layers' exchange and the
  scaling to 1 one (1 + HEADINGS) square product per slot; cells under :data:`PRUNE_SHARE` of the mass are dropped.

Pure: no I/O, no clock (:mod:`edge.presence_grid` calls :meth:`Windows.predict` on its ticks).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from edge.errors import ConfigError
from edge.presence_grid_devices import Device
from edge.presence_grid_radio import TEMPER_LEVELS, GridRadio
from edge.presence_grid_shade import Shade

Vector = npt.NDArray[np.float64]

# --- constants (the sweep prototype's, which are the oracle's: physical, not tuned to the sweep) -----------
SPEED_M_S = 1.3
"""A walking shopper's speed (a typical indoor walking pace)."""
PERSIST_S = 0.7
"""How long a walker keeps a direction: the diffusion's variance is speed^2 x PERSIST_S per second."""
STAND_S = 30.0
"""Mean time a shopper stands before walking on (a stop at a shelf)."""
WALK_S = 8.0
"""Mean time a shopper walks before stopping (a few metres between shelves)."""
HEADINGS = 4
"""The walking layer is this many, one per heading (east, west, north, south: the grid's axes, along which a store's
aisles run), each carried :data:`HEADING_SPEED_M_S` along its heading every motion step as well as spread: a shopper
walking along an aisle is predicted ahead, not only around where they were (docs/presence.md, "The grid knows a
walker's heading (session 46)"). 1: one walking layer that only spreads, as before session 46."""
HEADING_SPEED_M_S = 0.8
"""How fast a heading's layer is carried: a slow walking pace (shoppers walk 0.6-1.5 m/s; the spread covers the
rest)."""
HEADING_SPREAD = 0.5
"""A heading layer's spread, as a share of the variance of the undirected walking layer's (:data:`PERSIST_S`):
who keeps a heading wanders less than who might go anywhere."""
TURN_S = 4.0
"""Mean time a walker keeps a heading before turning to another (any of the others alike)."""
PREDICT_S = 0.5
"""How often the walking layer moves: twice a second, a step shorter than a cell at walking pace."""
PRUNE_SHARE = 1e-6
"""Cells holding less than this share of a shopper's mass after a motion step are set to 0 (the prototype's
sparsity: a cell left empty can only be reached again by walking)."""
WINDOW_M = 24.0
"""Each shopper's filter runs on a square window of the floor this wide that follows their mass (bounded work
per shopper, whatever the store's size): wider than a scanner's reach is deep (a reading's likelihood is
spread over about 2-11 m from its scanner at 6 dB shadowing)."""
WINDOW_SHAPED = True
"""A window over a narrow box takes the shape of the box at the same number of cells (:func:`window_shape`)."""
RECENTRE_CELLS = 2.0
"""A window follows its mass once the mass's centre is this many cells off the window's centre."""


_ALONG_X = (1.0, -1.0, 0.0, 0.0)
"""Each heading's way along x, in the layers' order (east, west, north, south)..."""
_ALONG_Y = (0.0, 0.0, 1.0, -1.0)
"""...and along y."""


def _spread(n: int, w: float) -> Vector:
    """The matrix (on the left of a column) that spreads each of ``n`` cells' mass: it keeps 1 - 2w and gives w to each
    neighbour; an end cell's share off the end is lost."""
    spread: Vector = np.eye(n) * (1.0 - 2.0 * w) + (np.eye(n, k=1) + np.eye(n, k=-1)) * w
    return spread


def _shift(n: int, by: float) -> Vector:
    """The matrix (on the left of a column) that moves ``|by|`` of each of ``n`` cells' mass one cell up (``by`` > 0)
    or down (< 0); the last cell's share moves off the end."""
    diagonal = -abs(by) * np.eye(n)
    return diagonal + by * np.eye(n, k=-1) if by > 0 else diagonal - by * np.eye(n, k=1)


def _blocked_ahead(mask: Vector) -> Vector:
    """Per heading (the layers' order), each floor cell of a window that has no floor next to it that way (a wall,
    shelving, or the window's edge): the cells whose walkers a carry that way would lose."""
    floor = mask > 0.0
    ahead = np.zeros((HEADINGS, *mask.shape), dtype=bool)
    ahead[0, :-1] = floor[1:]  # east: the next cell along x
    ahead[1, 1:] = floor[:-1]  # west
    if HEADINGS == 4:
        ahead[2, :, :-1] = floor[:, 1:]  # north: the next cell along y
        ahead[3, :, 1:] = floor[:, :-1]  # south
    return (floor & ~ahead).astype(np.float64)


def window_shape(nx: int, ny: int, side: int) -> tuple[int, int]:
    """A window's cells along x and y over a box of ``nx`` x ``ny``: at most ``side`` x ``side`` cells (the
    per-shopper work bound), ``side`` square -- but a box narrower than ``side`` one way (a row of zones along one
    aisle) is covered the other way as far as those cells go (WINDOW_SHAPED), so that a new track's window holds
    the row and its street at both ends."""
    if not WINDOW_SHAPED:
        return min(nx, side), min(ny, side)
    cells = side * side
    if ny < side:
        return min(nx, cells // ny), ny
    if nx < side:
        return nx, min(ny, cells // nx)
    return side, side


@dataclass(slots=True)
class Kept:
    """A shopper's closed advert, kept a few seconds for readings that come late (edge.presence_grid
    ``LATE_JOIN_S``)."""

    at: float
    """Its time stamp."""
    heard: int
    """The scanners that heard it (bits), late ones included once their readings came."""
    key: int
    """Its declared power (dBm, rounded): which silence arrays weigh it."""
    quiet: int
    """How much its silences count (1 / TEMPER_LEVELS)."""
    deferred: int
    """The late scanners whose silence for it is not weighed yet (bits)."""
    found: tuple[list[int], list[float]] | None
    """The miss-rate learner's opportunities for it, not counted yet (edge.presence_grid_loss ``take``), or None."""


class Track:
    """One shopper followed by the grid engine: its row of the stacked arrays, its window, the advert being
    heard and its decision state (the fields :class:`~edge.presence_grid_radio.GridLearner` reads included)."""

    __slots__ = ("advert_at", "body", "born", "device", "dirty", "dwell_at", "gap", "heard", "heard_at", "key", "last",
                 "lean", "lean_at", "levels", "loudest", "origin", "past", "power", "quiet", "scanner", "shade_due",
                 "shaded", "shading", "shadows", "since", "slot", "state", "via", "window", "zone")  # fmt: skip

    def __init__(self, slot: int, origin: tuple[int, int], at: float, via: str, power: float) -> None:
        self.slot = slot
        """The track's row in the engine's stacked arrays."""
        self.origin = origin
        """The box cell at the window's corner (its lowest x and y)."""
        self.window = (slice(0, 0), slice(0, 0))
        """The box's rows and columns under the window (set with :attr:`origin` by :meth:`Windows.place`): a box
        array indexed by it is the window's part, with no slices built per sighting."""
        self.dirty = True
        """Evidence since the last decision."""
        self.last = at
        self.gap = math.inf
        """The time between the shopper's last two adverts heard: the advertiser's own interval (a multiple of it
        after adverts lost in between: never shorter), known from the second advert on (edge.presence_grid
        ``MISSED_LEAVE``)."""
        self.via = via
        self.power = power
        self.key = round(power)
        """The power (declared, plus :attr:`device`'s offset) as the caches key it."""
        self.device = Device()
        """How much louder than it declares the shopper's device is, learned (edge.presence_grid_devices)."""
        self.state: Vector = np.zeros(0)
        """A view of the track's row of the stacked layers (renewed when the stack grows)."""
        self.body = Shade()
        """Whether the shopper's body is in the way of their phone, as a probability (edge.presence_grid_shade)."""
        self.shaded: Vector = np.zeros(0)
        """The layers before the advert being heard, to be weighed as if the body were in the way (the same shape as
        :attr:`state`, allocated at the first advert; edge.presence_grid_shade)..."""
        self.shade_due = False
        """Whether the advert being heard is yet to be judged for weighing so (at its first reading)..."""
        self.shading = False
        """...while an advert is being heard and will be weighed so..."""
        self.shadows: list[tuple[int, int, int]] = []
        """...its readings as they would be with the body in the way (scanner, residual + SHADE_DB, temper level),
        weighed at its close if enough scanners heard it (edge.presence_grid_shade ``SHADE_HEARD``)."""
        self.scanner = -1
        """Where the window starts again if the evidence contradicts it: the scanner of the advert's loudest reading
        (edge.presence_grid ``RESTART_LOUDEST``; else the last scanner that heard the shopper)."""
        self.loudest = -math.inf
        """The loudest reading (calibrated RSSI) of the advert being heard, by :attr:`scanner`."""
        self.advert_at: float | None = None
        """The time stamp of the advert being heard (its sightings share it); None once closed."""
        self.heard = 0
        """The scanners that heard the advert being heard, as bits (1 << scanner index)."""
        self.quiet = TEMPER_LEVELS
        """How much the advert being heard's silences count, in 1 / TEMPER_LEVELS: by the gap to the shopper's
        advert before (edge.presence_grid_radio ``TEMPER_SILENCES``); all of it for a first advert."""
        self.past: list[Kept] = []
        """The adverts closed in the last few seconds, oldest first, kept only once readings come late
        (edge.presence_grid ``LATE_JOIN_S``)."""
        self.heard_at: dict[int, float] = {}
        """Per scanner index: when it last heard the shopper (the readings' coherence, COHERENCE_S)."""
        self.levels: dict[int, float] = {}
        """The last RSSI (calibrated) per scanner index, for the events' rssi and distance."""
        self.zone = -1
        self.since = at
        self.born = at
        """When the shopper was first heard (edge.presence_grid ``BIRTH_AFTER_LAG``)."""
        self.dwell_at = at
        self.lean = -1
        """A decision due but waiting for a later advert (edge.presence_grid ``ENTER_LEAN_P``, ``CONFIRM_LEAVE``):
        the zone leaned on while in none, or the zones' count ("no zone") while leaving one; -1 if none is..."""
        self.lean_at = at
        """...and the time of the last reading heard when it became due."""


class Windows:
    """Every track's layers over its window, stacked (one row per slot), and the motion step over all of them."""

    def __init__(self, radio: GridRadio, cell_m: float, at_cell: list[tuple[float, float]]) -> None:
        nx, ny = radio.shape
        self.mask = radio.mask.reshape(nx, ny)
        """The floor's cells over its box."""
        self.kx, self.ky = kx, ky = window_shape(nx, ny, math.ceil(WINDOW_M / cell_m))
        self._members = radio.members  # (zones, nx, ny)
        self._zones = len(radio.members)
        self._at_cell = at_cell
        """Per scanner: its box cell (where a track's window starts again)."""
        if HEADINGS not in (1, 2, 4):
            raise ConfigError(f"HEADINGS must be 1, 2 or 4, not {HEADINGS}")
        w = SPEED_M_S * SPEED_M_S * PREDICT_S * PERSIST_S / (2 * cell_m * cell_m)
        carry = 0.0
        if HEADINGS > 1:
            w *= HEADING_SPREAD
            carry = HEADING_SPEED_M_S * PREDICT_S / cell_m
        self._passes = passes = max(1, math.ceil(w / 0.4), math.ceil(carry))
        w, carry = w / passes, carry / passes

        spread_x, spread_y = _spread(kx, w), _spread(ky, w)
        self._pass_x = np.stack([spread_x + _shift(kx, carry * along) for along in _ALONG_X[:HEADINGS]])
        """A pass along x for each heading's layer (on its left): each cell keeps 1 - 2w and gives w to each
        neighbour, and an east or west walker's layer moves ``carry`` of a cell its way..."""
        self._pass_y = np.stack([spread_y + _shift(ky, carry * along).T for along in _ALONG_Y[:HEADINGS]])
        """...and along y (on its right), a north or south walker's layer moving its way."""
        self._carry = carry
        """How far each pass carries a heading's walkers (a share of a cell; 0 with one walking layer)."""
        to_walk, to_stand = PREDICT_S / STAND_S, PREDICT_S / WALK_S
        turn = PREDICT_S / TURN_S if HEADINGS > 1 else 0.0
        layers = 1 + HEADINGS
        switch = np.zeros((layers, layers))
        switch[0, 0], switch[1:, 0], switch[0, 1:] = 1.0 - to_walk, to_walk / HEADINGS, to_stand
        switch[1:, 1:] = (1.0 - to_stand) * turn / max(1, HEADINGS - 1)
        np.fill_diagonal(switch[1:, 1:], (1.0 - to_stand) * (1.0 - turn))
        self._switch = switch
        """One motion step's exchange between the standing (row 0) and the walking layers (a walker turns to
        another heading at :data:`TURN_S`), column to row."""
        self._xs, self._ys = np.arange(kx, dtype=np.float64), np.arange(ky, dtype=np.float64)
        self._ones_x, self._ones_y, self._ones_window = np.ones(kx), np.ones(ky), np.ones(kx * ky)
        self.state = np.zeros((0, 1 + HEADINGS, kx, ky))
        """Per slot: the standing layer and the walking layers (one per heading) over the track's window."""
        self._window_mask = np.zeros((0, kx, ky))
        self._blocked = np.zeros((0, HEADINGS, kx, ky))
        """Per slot and heading: the share of a floor cell's walkers the pass's carry sends into a wall, shelving or
        off the window (given back to the cell after the pass: they stay, and turn at :data:`TURN_S`)."""
        self.window_members = np.zeros((0, self._zones, kx * ky))
        """Per slot: each zone's share of each of the window's cells."""
        self.slot_zone = np.zeros(0, dtype=np.intp)
        """Per slot: the index of the zone its track is in (-1: none)."""
        self._corner = np.zeros((0, 2))
        """Per slot: its track's origin (x, y), for the motion step's recentring of every window at once."""
        self._free: list[int] = []
        self.used = 0
        """Slots below this may be in use (the stacked operations run over them)."""

    def slot(self, tracks: Iterable[Track]) -> int:
        """A free row (the stack grows when none is left: ``tracks``' views of their rows are renewed)."""
        if not self._free:
            old = len(self.state)
            grow = max(8, old)
            self.state = np.concatenate([self.state, np.zeros((grow, *self.state.shape[1:]))])
            self._window_mask = np.concatenate([self._window_mask, np.zeros((grow, *self._window_mask.shape[1:]))])
            self._blocked = np.concatenate([self._blocked, np.zeros((grow, *self._blocked.shape[1:]))])
            self.window_members = np.concatenate(
                [self.window_members, np.zeros((grow, *self.window_members.shape[1:]))]
            )
            self.slot_zone = np.concatenate([self.slot_zone, np.full(grow, -1, dtype=np.intp)])
            self._corner = np.concatenate([self._corner, np.zeros((grow, 2))])
            self._free = list(range(old + grow - 1, old - 1, -1))
            for track in tracks:  # the stack moved: renew the views of its rows
                track.state = self.state[track.slot]
        slot = self._free.pop()
        self.used = max(self.used, slot + 1)
        return slot

    def release(self, track: Track) -> None:
        """The track's row is zeroed and free again."""
        self.state[track.slot] = 0.0
        self.slot_zone[track.slot] = -1
        self._free.append(track.slot)
        self._free.sort(reverse=True)  # lowest first: keeps the stacked range short
        while self.used and self.used - 1 in self._free:
            self.used -= 1

    def origin(self, cx: float, cy: float) -> tuple[int, int]:
        """The window's corner that centres it on box cell (cx, cy), within the box."""
        nx, ny = self.mask.shape
        x0 = min(max(round(cx - self.kx / 2), 0), nx - self.kx)
        y0 = min(max(round(cy - self.ky / 2), 0), ny - self.ky)
        return x0, y0

    def start(self, track: Track) -> None:
        """Start the track's window again, uniform over the floor around the last scanner that heard it."""
        self.place(track, self.origin(*self._at_cell[track.scanner]), uniform=True)

    def place(self, track: Track, origin: tuple[int, int], uniform: bool) -> None:
        """Move the track's window to ``origin`` (keeping the mass that stays inside), or start it uniform."""
        slot, (x0, y0), kx, ky = track.slot, origin, self.kx, self.ky
        mask = self.mask[x0 : x0 + kx, y0 : y0 + ky]
        state = self.state[slot]
        if uniform:  # half standing, half walking
            state[0] = mask
            state[1:] = mask / HEADINGS
        else:
            (ox, oy), moved = track.origin, np.zeros_like(state)
            dx, dy = x0 - ox, y0 - oy
            moved[:, max(0, -dx) : kx - max(0, dx), max(0, -dy) : ky - max(0, dy)] = state[
                :, max(0, dx) : kx - max(0, -dx), max(0, dy) : ky - max(0, -dy)
            ]
            state[:] = moved
        track.origin = origin
        track.window = (slice(x0, x0 + kx), slice(y0, y0 + ky))
        self._corner[slot] = origin
        self._window_mask[slot] = mask
        if self._carry:
            self._blocked[slot] = self._carry * _blocked_ahead(mask)
        self.window_members[slot] = self._members[:, x0 : x0 + kx, y0 : y0 + ky].reshape(self._zones, -1)

    def predict(self, tracks: Collection[Track]) -> tuple[Vector, Vector]:
        """One motion step for every track at once: the walking layers spread (along x, then along y, each a
        tridiagonal matrix followed by the mask: walls and shelving absorb) and are carried along their headings
        in the same matrices (a heading's walkers the carry sends into a wall stay: the window's blocked map, made
        when it is placed, gives them back), the layers exchange, each track's
        mass is scaled to 1, cells under :data:`PRUNE_SHARE` dropped, and a window whose mass has moved off its
        centre follows it (mass walking off a window's edge is lost, like mass walking into a wall). A track
        whose evidence no cell explains starts again (:meth:`start`). Returns per slot the centre of its mass before
        any window moved (x, y), in the cells of the slot's window as it is after the step (the track's origin
        plus it is the box cell, whether or not the window moved)."""
        used = self.used
        state = self.state[:used]
        mask = self._window_mask[:used]
        walk = state[:, 1:]
        moved = walk
        masks = mask[:, None]
        blocked = self._blocked[:used] if self._carry else None
        for _ in range(self._passes):
            before = moved
            moved = np.matmul(self._pass_x, moved)
            moved *= masks
            if blocked is not None:  # the east and west walkers the carry sent into a wall stay
                moved[:, :2] += before[:, :2] * blocked[:, :2]
            before = moved
            moved = np.matmul(moved, self._pass_y)
            moved *= masks
            if blocked is not None and HEADINGS == 4:  # ... and the north and south walkers
                moved[:, 2:] += before[:, 2:] * blocked[:, 2:]
        stand = state[:, 0]
        # row and column sums of all layers (the exchange below keeps them: it moves mass between the layers of
        # a cell), by matrix products: numpy's reductions over inner axes are slower
        rows = stand @ self._ones_y + (moved @ self._ones_y).sum(axis=1)
        cols = self._ones_x @ stand + (self._ones_x @ moved).sum(axis=1)
        totals = rows.sum(axis=1)
        bad = ~((totals > 1e-250) & np.isfinite(totals))  # evidence that no cell explains (or a free slot)
        lost = [track for track in tracks if bad[track.slot]] if bad.any() else []
        totals[bad] = 1.0
        scale = 1.0 / totals
        walk[...] = moved
        # the layers' exchange and the scaling to 1 in one product per slot
        step = self._switch[None, :, :] * scale[:, None, None]
        state[...] = np.matmul(step, state.reshape(used, 1 + HEADINGS, -1)).reshape(state.shape)
        np.copyto(state, 0.0, where=state < PRUNE_SHARE)
        for track in lost:  # start again
            self.start(track)
        cx, cy = (rows @ self._xs) * scale, (cols @ self._ys) * scale
        half_x, half_y = (self.kx - 1) / 2, (self.ky - 1) / 2
        cx[bad], cy[bad] = half_x, half_y  # a window started again stays where it was put
        off = (np.abs(cx - half_x) >= RECENTRE_CELLS) | (np.abs(cy - half_y) >= RECENTRE_CELLS)
        if off.any():  # the windows off their mass: their corners as origin() puts them, every slot at once
            nx, ny = self.mask.shape
            corner = self._corner[:used]
            to_x = np.minimum(np.maximum(np.rint(corner[:, 0] + cx + 0.5 - self.kx / 2), 0.0), nx - self.kx)
            to_y = np.minimum(np.maximum(np.rint(corner[:, 1] + cy + 0.5 - self.ky / 2), 0.0), ny - self.ky)
            moves = (off & ((to_x != corner[:, 0]) | (to_y != corner[:, 1]))).tolist()
            for track in tracks:
                slot = track.slot
                if moves[slot]:
                    x0, y0 = track.origin
                    origin = (int(to_x[slot]), int(to_y[slot]))
                    self.place(track, origin, uniform=False)
                    # the centre is returned in the new window's cells (its readers add the track's origin)
                    cx[slot] += x0 - origin[0]
                    cy[slot] += y0 - origin[1]
        return cx, cy

    def shares(self) -> tuple[Vector, npt.NDArray[np.bool_]]:
        """Per slot: each zone's share of the slot's mass, and whether the slot holds no mass (a free slot)."""
        used = self.used
        layers = self.state[:used].reshape(used, 1 + HEADINGS, -1)
        both = layers.sum(axis=1)  # (the layers added first: one matrix-vector product per slot, not one a layer)
        masses = np.matmul(self.window_members[:used], both[:, :, None])[:, :, 0]
        totals = (layers @ self._ones_window).sum(axis=1)
        empty: npt.NDArray[np.bool_] = ~(totals > 0.0)
        totals[empty] = 1.0
        shares: Vector = masses / totals[:, None]
        return shares, empty

    def track_shares(self, track: Track) -> list[float]:
        """One track's share of its mass in each zone (zeros if it holds none)."""
        state = self.state[track.slot]
        both = state.sum(axis=0).reshape(-1)
        total = float(both.sum())
        masses = self.window_members[track.slot] @ both
        found: list[float] = (masses / total if total > 0.0 else masses * 0.0).tolist()
        return found
