"""The grid engine's building wall: how much weaker a shopper on the street is heard, learned online.

A shopper outside the building is heard through its outer wall (glass, brick, a metal frame): each reading of a
cell on the street (:attr:`~edge.presence_grid_radio.GridRadio.outside`) expects ``wall_db`` less than the path
loss alone says. Without it the grid explains a faint reading from the street by a cell inside, far from the
scanner that heard it (docs/presence.md, "The grid's walls"). ``[floor] wall_loss_db`` tells it where known;
otherwise :class:`WallLearner` learns it from the grid's own posterior, as :class:`~edge.presence_grid_learn.
GridLearner` learns the exponent:

- a **sample** is a reading of a shopper in no zone whose posterior (before the reading's evidence: leave-one-out)
  holds :data:`WALL_CONFIDENT_P` of its mass on street cells the scanner reaches -- selection by place, never by
  the reading: the reading, the advert's declared power and E[log10 d] over those cells;
- the **estimate** is the wall loss that makes the samples most likely under the radio's own density (shadowing
  and deep fades at the sigma in use), each reading conditioned on having been heard at all (above the receiver's
  sensitivity: a faint reading from the street is heard only when its shadowing is kind, so a plain mean of the
  residuals would learn a thinner wall); its standard error from the likelihood's curvature;
- it is **used** once its standard error is :data:`WALL_SE_DB` or less, in steps of :data:`WALL_STEP_DB`; the
  engine asks only about shoppers whose mass's centre is by the street (:attr:`WallLearner.candidates`).

Pure: no I/O, the time from the sightings.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from edge.presence_grid_learn import RADIO_SAMPLES_PER_S, Placed, ration
from edge.presence_grid_radio import SENSITIVITY_DBM, GridRadio

Vector = npt.NDArray[np.float64]

LEARN_WALL = True
"""Learn the wall's loss when ``[floor] wall_loss_db`` does not tell it (``--set LEARN_WALL=0``: the prior stays)."""
WALL_PRIOR_DB = 0.0
"""The wall loss in use until one is learned: none (no claim about a building's walls; the grid before it had
walls)."""
WALL_MAX_DB = 40.0
"""The estimate's range, 0 to this (a metal-clad or coated-glass wall takes 30-40 dB at 2.4 GHz)."""
WALL_COARSE_DB = 2.0
"""The estimate is searched on this grid first (the likelihood is smooth and has one peak)..."""
WALL_GRID_DB = 0.5
"""... then on this one, a coarse step either side of the coarse best (half a WALL_STEP_DB)."""
WALL_CONFIDENT_P = 0.8
"""A reading is a sample when at least this share of the shopper's mass is on street cells the scanner reaches."""
WALL_NEAR_CELLS = 1
"""... looked at only when the centre of the mass (at the last motion step) is within this many cells of the
street: most readings are then passed over at the cost of a lookup."""
WALL_SAMPLES_MAX = 600
"""The samples kept (the newest): a store's wall does not change, but the radio the samples were weighed
with does while it is learned."""
WALL_MIN_SAMPLES = 30
"""No estimate before this many samples (the curvature's standard error is itself an estimate)."""
WALL_SE_DB = 2.0
"""The estimate is used once its standard error is at most this: a step's worth."""
WALL_STEP_DB = 2.0
"""The wall in use moves in steps of this, when the estimate is a step from it: a 2 dB error is a third of the
shadowing's spread, and each move rebuilds every cached likelihood (in 1 dB steps today's store moved 0 -> 1 dB
and rebuilt 1.7x the arrays: +7 % per sighting)."""
WALL_SAMPLES_PER_S = RADIO_SAMPLES_PER_S
"""At most this many samples a second, store-wide, rationed over a burst as the exponent's (RADIO_BURST_S): each
costs a few array operations over a shopper's window."""
WALL_LOOK_S = 0.2
"""After a look at a shopper's posterior that was no sample (not enough of it on the street), none for this long,
store-wide (a look is a few array operations over a window, about 10-20 us)."""
WALL_RETUNE_S = 10.0
"""The estimate is looked at (and the likelihoods rebuilt when it moved a step) at most this often."""


class WallLearner:
    """See the module docstring."""

    __slots__ = ("_empty_at", "_learn_at", "_near", "_radio", "_retune_at", "_samples", "candidates", "estimate",
                 "se_db")  # fmt: skip

    def __init__(self, radio: GridRadio) -> None:
        self._radio = radio
        outside = radio.outside > 0.0
        near = outside.copy()
        for _ in range(WALL_NEAR_CELLS):  # the street widened by a cell each way, WALL_NEAR_CELLS times
            grown = near.copy()
            grown[1:, :] |= near[:-1, :]
            grown[:-1, :] |= near[1:, :]
            grown[:, 1:] |= near[:, :-1]
            grown[:, :-1] |= near[:, 1:]
            near = grown
        self._near: list[list[bool]] = near.tolist()
        self.candidates: set[int] = set()
        """The slots whose mass's centre was near the street at the last motion step (the caller asks
        :meth:`sample` only about these)."""
        self._samples: deque[tuple[float, float, float]] = deque(maxlen=WALL_SAMPLES_MAX)
        """Per sample: E[log10 d] over the street cells, the residual (reading less declared power) and the
        residual the receiver's sensitivity cuts at (dB)."""
        self._learn_at = -math.inf
        self._empty_at = -math.inf
        self._retune_at: float | None = None
        self.estimate: float | None = None
        """The last estimate (dB), None before WALL_MIN_SAMPLES."""
        self.se_db: float | None = None
        """Its standard error (dB)."""

    def centred(self, cx: list[float], cy: list[float], tracks: Iterable[Placed]) -> None:
        """After a motion step: per slot, the centre of its mass in its window's cells; the tracks whose centre is
        within WALL_NEAR_CELLS of the street become the candidates (:attr:`candidates`) until the next step."""
        near, found = self._near, set()
        for track in tracks:
            slot, (x0, y0) = track.slot, track.origin
            if slot < len(cx):
                ix, iy = round(x0 + cx[slot]), round(y0 + cy[slot])
                if 0 <= ix < len(near) and 0 <= iy < len(near[0]) and near[ix][iy]:
                    found.add(slot)
        self.candidates = found

    def sample(self, at: float, scanner: int, residual_db: float, power_dbm: float, track: Placed) -> bool:
        """A reading ``residual_db`` under the declared power ``power_dbm`` by ``scanner`` of a shopper in no zone
        among the :attr:`candidates`, before its evidence: a sample when the rate allows and the posterior is on the
        street; True when the wall in use moved (the caller drops its cached arrays)."""
        if at < self._learn_at:
            return False
        x0, y0 = track.origin
        state = track.state
        _, kx, ky = state.shape
        radio = self._radio
        both = state.sum(axis=0)
        total = float(both.sum())
        reached = both * radio.outside[x0 : x0 + kx, y0 : y0 + ky] * radio.in_range(scanner)[x0 : x0 + kx, y0 : y0 + ky]
        weight = float(reached.sum())
        if not total > 0.0 or weight < WALL_CONFIDENT_P * total:
            self._learn_at = at + WALL_LOOK_S  # a look costs the window's arrays: rationed
            return False
        log_d = float((reached * radio.log_d[scanner][x0 : x0 + kx, y0 : y0 + ky]).sum()) / weight
        self._samples.append((log_d, residual_db, SENSITIVITY_DBM - power_dbm))
        self._empty_at = ration(self._empty_at, at)
        self._learn_at = self._empty_at + 1.0 / WALL_SAMPLES_PER_S
        if self._retune_at is None:
            self._retune_at = at + WALL_RETUNE_S
            return False
        if at < self._retune_at:
            return False
        self._retune_at = at + WALL_RETUNE_S
        return self._step()

    def _step(self) -> bool:
        """Estimate the wall from the samples; move the one in use when it is precise and a step away."""
        found = self.fit()
        if found is None:
            return False
        self.estimate, self.se_db = found
        if self.se_db > WALL_SE_DB:
            return False
        radio = self._radio
        wall = round(self.estimate / WALL_STEP_DB) * WALL_STEP_DB
        if abs(self.estimate - radio.wall_db) < WALL_STEP_DB or wall == radio.wall_db:
            return False
        radio.retune(radio.exponent, None, wall)
        return True

    def fit(self) -> tuple[float, float] | None:
        """The most likely wall loss of the samples (dB) and its standard error, or None before
        :data:`WALL_MIN_SAMPLES`: each reading Gaussian about its street mean less the wall (the sigma in use),
        over the chance of hearing it at all (above the receiver's sensitivity), at the exponent in use. The deep
        fades are left out: their flat tail would let any thick wall explain a loud reading as a lucky one."""
        if len(self._samples) < WALL_MIN_SAMPLES:
            return None
        radio = self._radio
        sigma = radio.sigma_db
        log_d, residual, limit = np.array(self._samples).T
        mean = -10.0 * radio.exponent * log_d
        gap, cut = (residual - mean) / sigma, (limit - mean) / sigma  # a reading's and the floor's score at 0 dB
        n, first, second = len(gap), float(gap.sum()), float((gap * gap).sum())

        def likelihood(walls: Vector) -> Vector:
            """The log-likelihood of each wall: the Gaussian part from the scores' sums, the floor's per sample."""
            w = walls / sigma
            tails = np.interp(cut[None, :] + w[:, None], _Z, _LOG_TAIL).sum(axis=1)
            found: Vector = -0.5 * (second + 2.0 * w * first + n * w * w) - tails
            return found

        coarse = np.arange(0.0, WALL_MAX_DB + WALL_COARSE_DB / 2, WALL_COARSE_DB)
        centre = float(coarse[int(likelihood(coarse).argmax())])
        low = max(0.0, centre - WALL_COARSE_DB)
        walls = np.arange(low, min(WALL_MAX_DB, centre + WALL_COARSE_DB) + WALL_GRID_DB / 2, WALL_GRID_DB)
        ll = likelihood(walls)
        best = int(ll.argmax())
        inner = min(max(best, 1), len(ll) - 2)
        curvature = (ll[inner - 1] - 2.0 * ll[inner] + ll[inner + 1]) / (WALL_GRID_DB * WALL_GRID_DB)
        se = 1.0 / math.sqrt(-curvature) if curvature < 0.0 else math.inf
        return float(walls[best]), se

    def report(self) -> dict[str, float | None]:
        """The wall in use, the estimate, its standard error and the samples so far."""
        return {
            "wall_db": self._radio.wall_db,
            "wall_learned_db": self.estimate,
            "wall_se_db": self.se_db,
            "wall_samples": float(len(self._samples)),
        }


_Z: Vector = np.arange(-10.0, 10.0 + 0.005, 0.01)
"""Standard scores, tabulated (beyond them the tail is 1, or the table's end: a reading 10 sigma under the
receiver's floor is never a sample's)."""
_LOG_TAIL: Vector = np.log(np.array([0.5 * math.erfc(z / math.sqrt(2.0)) for z in _Z.tolist()]))
"""log P(Z > z) of a standard normal over :data:`_Z`."""
