"""The grid engine's evidence: cached likelihood arrays, multiplied into a track's window.

Each advert multiplies in the likelihood of every scanner that heard it (one cached array per scanner and reading,
from :class:`~edge.presence_grid_radio.GridRadio`) and, once it is over, of every scanner that did not (one cached
array per set of heard scanners and declared power, built as every scanner's silence with the heard ones' divided
back out): one array operation per sighting and one per advert. A floor larger than :data:`NEAR_BOX_CELLS` keeps
the readings over each scanner's reach instead, and divides the heard scanners' silence out of all scanners' where
they reach (a few operations more, a cache that holds a large store). The cache is bounded (:data:`CACHE_BYTES`);
each scanner's silences are kept apart (:data:`QUIET_POWERS`), so a store that overflows it degrades, not
collapses (docs/presence.md, "A cheap grid engine").

Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np
import numpy.typing as npt

from edge.presence_grid_radio import TEMPER_LEVELS, TEMPER_LEVELS_MAX, GridRadio
from edge.presence_grid_windows import Track

Vector = npt.NDArray[np.float64]
Key = tuple[str, int, int] | tuple[str, int, int, int]
"""A cached array's key: ("reading<level>" or "faint<level>", scanner, residual) or ("heard", scanners' bits, power,
level)."""

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
whatever the radio does; past it the oldest array goes first (a miss costs a few operations over the box). The
sweep's 10 Hz app (cell 30: 2,184 arrays asked for, 1,233 kept) rebuilt 24,615 per seed when a full cache started
again, 16,244 so (an LRU would rebuild 12,046, but the hot path's lookup is a plain dict's get, which cannot note a
hit; an OrderedDict's get costs half as much again)."""
QUIET_LEVELS = 4
"""Temper levels of the silences kept per declared power (edge.presence_grid_radio ``TEMPER_SILENCES``): an
advertiser's gaps take one or two (a 10 Hz app's 1/2 and 5/8), the full level is the base of the others."""
READING = tuple(f"reading{k}" for k in range(TEMPER_LEVELS_MAX + 1))
"""The cache's key of a reading's likelihood per temper level."""
FAINT = tuple(f"faint{k}" for k in range(TEMPER_LEVELS_MAX + 1))
"""... and of a faint reading's (far readings rare beyond the range: :meth:`Evidence.faint`)."""


class Evidence:
    """The cached likelihood arrays of a store's radio, and their product into a track's window (``kx`` x ``ky``
    cells at the track's origin)."""

    def __init__(self, radio: GridRadio, kx: int, ky: int) -> None:
        self._radio = radio
        self._kx, self._ky = kx, ky
        nx, ny = radio.shape
        self._scanners = len(radio.reach)
        self.cache: dict[Key, Vector] = {}
        """Likelihood arrays: of a ("reading", scanner, residual) over the box (or the scanner's reach, see
        :attr:`near`), of all scanners but the "heard" ones (bits) silent for a declared power, at a temper level
        (("heard", bits, power, level)), over the box."""
        self.near = nx * ny > NEAR_BOX_CELLS if NEAR is None else NEAR
        """Readings and silences over each scanner's reach rather than the floor's box (a large store)."""
        spans = [(x1 - x0) * (y1 - y0) for x0, x1, y0, y1 in radio.reach]
        self._cache_size = max(16, CACHE_BYTES // (8 * (max(spans, default=1) if self.near else nx * ny)))
        self._quiets: dict[tuple[int, int, int], Vector] = {}
        """Each scanner's silence (and all of them at once, scanner -1) per declared power and temper level: see
        :meth:`_quiet`."""

    def clear(self, *, readings: bool = True, silences: bool = True) -> None:
        """Drop cached arrays (the radio moved: they are rebuilt as they are asked for): the readings' likelihoods
        (they move with the exponent, the sigma, the wall and far readings' density) and the silences' (with the
        exponent, the sigma, the wall and the miss rate): a learner that moved one kept the other."""
        if readings and silences:
            self.cache.clear()
        elif readings or silences:
            for key in [key for key in self.cache if (key[0] == "heard") == silences]:
                del self.cache[key]
        if silences:
            self._quiets.clear()

    def _cached(self, key: Key, make: Callable[[], Vector]) -> Vector:
        found = self.cache.get(key)
        if found is None:
            cache = self.cache
            if len(cache) >= self._cache_size:  # full: the oldest array goes (a dict keeps the order of insertion)
                del cache[next(iter(cache))]
            found = cache[key] = make()
        return found

    def reading(self, scanner: int, residual: int, level: int = TEMPER_LEVELS) -> Vector:
        """The likelihood of a reading ``residual`` dB off the declared power by ``scanner`` (a cache miss),
        raised to ``level`` / TEMPER_LEVELS (keyed ``READING[level]``)."""
        make = partial(self._radio.likelihood, scanner, residual, near=self.near, level=level)
        return self._cached((READING[level], scanner, residual), make)

    def faint(self, scanner: int, residual: int, far_p: float, level: int = TEMPER_LEVELS) -> Vector:
        """As :meth:`reading`, over the box, with a reading's density beyond the range weighed by ``far_p`` whatever
        the store has learned (a faint reading: edge.presence_grid_range ``FAINT_SIGMAS``; keyed ``FAINT[level]``)."""
        make = partial(self._radio.likelihood, scanner, residual, level=level, far_p=far_p)
        return self._cached((FAINT[level], scanner, residual), make)

    def _quiet(self, scanner: int, power: int, level: int = TEMPER_LEVELS) -> Vector:
        """Over ``scanner``'s reach: its likelihood of missing an advert of declared ``power`` dBm (``scanner`` -1:
        every scanner's at once, their product, over the box), raised to ``level`` / TEMPER_LEVELS. Kept apart from
        the main cache, so that a store whose readings and sets of heard scanners overflow that cache does not lose
        these too."""
        key = (scanner, power, level)
        found = self._quiets.get(key)
        if found is None:
            if len(self._quiets) >= QUIET_LEVELS * QUIET_POWERS * (self._scanners + 1):
                self._quiets.clear()
            if level < TEMPER_LEVELS:
                found = self._quiet(scanner, power) ** (level / TEMPER_LEVELS)
            elif scanner >= 0:
                found = self._radio.silent(scanner, power)
            else:
                found = np.ones(self._radio.shape)
                for other, (x0, x1, y0, y1) in enumerate(self._radio.quiet_reach):
                    found[x0:x1, y0:y1] *= self._quiet(other, power)
            self._quiets[key] = found
        return found

    def _silence(self, heard: int, power: int, level: int = TEMPER_LEVELS) -> Vector:
        """Per cell: the likelihood that every scanner but the ``heard`` ones (bits) missed an advert of declared
        ``power`` dBm: every scanner's silence, the heard ones' divided back out (a silence is never below the
        loss rate, so the division is safe) -- one operation per heard scanner, whatever the store's size; raised
        to ``level`` / TEMPER_LEVELS (edge.presence_grid_radio ``TEMPER_SILENCES``)."""
        found = self.cache.get(("heard", heard, power, level))
        if found is not None:
            return found

        def make() -> Vector:
            product = self.cache.get(("heard", heard, power, TEMPER_LEVELS))  # (the full one, if kept)
            if product is None:
                product = self._quiet(-1, power).copy()
                for scanner, (x0, x1, y0, y1) in enumerate(self._radio.quiet_reach):
                    if heard >> scanner & 1:
                        product[x0:x1, y0:y1] /= self._quiet(scanner, power)
            if level < TEMPER_LEVELS:
                tempered: Vector = product ** (level / TEMPER_LEVELS)
                return tempered
            return product

        return self._cached(("heard", heard, power, level), make)

    def close(self, track: Track, deferred: int = 0) -> None:
        """The advert being heard is over: every scanner that did not hear it multiplies in its silence, tempered
        by the gap to the advert before (``track.quiet``) -- but the ``deferred`` ones (bits: scanners whose readings
        come late, whose silence is weighed once they could have come)."""
        track.advert_at = None
        heard, track.heard = track.heard, 0
        self.silence(track, heard | deferred, track.key, track.quiet)

    def silence(
        self, track: Track, heard: int, key: int, level: int = TEMPER_LEVELS, state: Vector | None = None
    ) -> None:
        """Every scanner but the ``heard`` ones (bits) missed an advert of declared power ``key`` dBm (into the
        track's layers, or ``state``: the layers of its advert with the body in the way, edge.presence_grid_shade)."""
        if state is None:
            state = track.state
        if not self.near:  # one cached array per set of heard scanners
            silence = self.cache.get(("heard", heard, key, level))
            if silence is None:
                silence = self._silence(heard, key, level)
            np.multiply(state, silence[track.window], out=state)
            return
        # over each scanner's reach (near): every scanner's silence, then each heard one's divided out where it reaches
        state *= self._quiet(-1, key, level)[track.window]
        while heard:
            bit = heard & -heard
            heard ^= bit
            self.unsilence(track, bit.bit_length() - 1, key, level, state)

    def unsilence(
        self, track: Track, scanner: int, key: int, level: int = TEMPER_LEVELS, state: Vector | None = None
    ) -> None:
        """``scanner``'s silence for an advert of declared power ``key`` dBm divided back out of the track (it heard
        the advert after all: a reading of it that came late; a silence is never below the loss rate, so the division
        is safe) -- or out of ``state``."""
        overlap = self._overlap(track.origin, scanner, quiet=True)
        if overlap is not None:
            (wx, wy), (rx, ry) = overlap
            (track.state if state is None else state)[:, wx, wy] /= self._quiet(scanner, key, level)[rx, ry]

    def _overlap(
        self, origin: tuple[int, int], scanner: int, quiet: bool = False
    ) -> tuple[tuple[slice, slice], tuple[slice, slice]] | None:
        """Where a window at ``origin`` meets ``scanner``'s reach (``quiet``: where its silence weighs): (the
        window's slices, the reach's), or None."""
        x0, y0 = origin
        rx0, rx1, ry0, ry1 = (self._radio.quiet_reach if quiet else self._radio.reach)[scanner]
        ix0, ix1 = max(x0, rx0), min(x0 + self._kx, rx1)
        iy0, iy1 = max(y0, ry0), min(y0 + self._ky, ry1)
        if ix0 >= ix1 or iy0 >= iy1:
            return None
        return (slice(ix0 - x0, ix1 - x0), slice(iy0 - y0, iy1 - y0)), (
            slice(ix0 - rx0, ix1 - rx0),
            slice(iy0 - ry0, iy1 - ry0),
        )

    def weigh_near(self, track: Track, scanner: int, found: Vector, state: Vector) -> None:
        """A reading's likelihood over the scanner's reach (``found``) into the track's window (its layers
        ``state``): 0 outside it."""
        overlap = self._overlap(track.origin, scanner)
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
