"""The grid engine's hearing range: whether a store's scanners hear shoppers beyond RANGE_M, learned online.

The grid treats a reading from beyond :data:`~edge.presence_grid_radio.RANGE_M` of its scanner as impossible
(shelving and walls cut far readings off). Some stores do; in others a scanner hears down to the receiver's floor
(20-40 m in the open), and one such reading of a shopper 27 m away, outside, puts the grid's mass inside within
the range of that scanner (docs/presence.md, "The grid's hearing range"). :class:`RangeLearner` learns which from
what the store's scanners hear:

- a **sample** is any reading of a shopper whose mass's centre is known (at the last motion step) once the radio
  learner has an estimate of the exponent, precise or not (:meth:`RangeLearner.judge_at`); it is **far** when
  that centre is beyond RANGE_M of the scanner that heard it, less than :data:`FAR_CONFIDENT_SHARE` of the mass
  (before the reading's evidence) is within the range, and the reading is :data:`FAR_SIGMAS` shadowing sigmas
  weaker than the path loss's mean at the range: a reading whose best explanation lies beyond the range --
  selection by the posterior from every other reading, and by the reading's strength only against the range;
- the **estimate** is the share of far samples, with a cautious prior (:data:`FAR_PRIOR_SAMPLES` samples none of
  them far) and its binomial standard error;
- readings beyond the range become **likely, not impossible** (their density x :data:`FAR_LEARNED_P`, 0.3 of
  the path loss's) once the share is above :data:`FAR_SHARE_MIN` by :data:`FAR_Z` standard errors, and impossible
  again once it is below it by as many (a range learned per store, not per scanner: a store's shelving and walls
  are one kind).

A **faint** reading -- weaker than the path loss's mean at the range by :data:`FAINT_SIGMAS` shadowing sigmas (the
exponent and the sigma in use, :func:`faint_edge_db`) -- is weighed with far readings rare (:data:`FAR_P`) from the
first, before the store has shown anything: a reading that weak is what a shopper beyond the range gives, and
without it a shopper heard through the front wall, 20-27 m from a scanner inside, was moved by one such reading
from the street onto the floor within the range, often into the zone at the far end of the store (docs/presence.md,
"The grid's faint readings (session 39)"). A strong reading keeps the range's cut-off until the store is learned
to hear far: the sweep's wrong posteriors beyond the range come with strong readings, and the cut-off is what
corrects them. Where the likelihoods are kept over each scanner's reach (a large store), a faint reading is weighed
over the track's window instead, with the learned ``far_p`` or :data:`FAR_P`.

Measured (docs/presence.md, "The grid's hearing range"): the three-gateway doors walk, whose simulator hears
down to the receiver's floor, moved to far readings (then at 0.01) in seeds 4-6 after 400-1050 counted readings
(5-7 of them far); the sweep's stores, whose simulator hears nobody beyond 15 m, count 0-6 far readings in 10
minutes and never move.

Pure: no I/O, the time from the sightings.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from edge.presence_grid_learn import Placed
from edge.presence_grid_radio import RANGE_M, GridRadio

Vector = npt.NDArray[np.float64]

LOG_RANGE = math.log10(RANGE_M)
"""log10 of RANGE_M (m), for the path loss's mean at the range."""
LEARN_RANGE = True
"""Learn whether readings beyond RANGE_M happen (``--set LEARN_RANGE=0``: they stay impossible)."""
FAR_P = 0.01
"""A faint reading's density beyond the range, as a share of its path loss's, before the store is learned to hear
far (:data:`FAINT_FAR`): rare, not impossible."""
FAR_LEARNED_P = 0.3
"""A reading's density beyond the range, as a share of its path loss's, once far readings are learned to happen: a
store shown to hear beyond 15 m still has shelving and walls between some scanners and some of its floor. Until
session 40 it was FAR_P's 0.01 (the value tried by hand when the learner was built), a pull of 100 to 1 into the
ranges of the scanners that heard a reading, which held a shopper walking out of the door on the end zone's scanner
for 17-27 s a run. Chosen among 0.01, 0.1, 0.3 and 1 on the doors walk's seeds 3-16 and the sweep heard to 60 m
(1, the path loss alone, is as good on both but slowed three hand-offs in 14 seeds to 3.8-5.9 s: the pull is also
what moves a standing posterior off a zone its shopper walks out of): doors right zone 91.54-93.44 ->
92.83-94.72 %, the sweep heard to 60 m 163.93 -> 149.27 capped badness, the sweep as it is identical (none of its
stores learns far readings); docs/presence.md, "The learned range: far readings at 0.3, not 0.01 (session 40)".
Session 41 weighs a scanner's silence beyond the range too (edge.presence_grid_radio ``FAR_SILENCE``); with it 1
no longer slows those hand-offs and is better offline (the sweep heard to 60 m 141.14 -> 137.94, the doors walk
93.98 -> 94.05 % on average) but gave three ``edge run`` gateways a spurious visit (doors seed 3, as 1 did in session
40): 0.3 stays ("Far hearing: the silences too (session 41)")."""
FAR_PRIOR_SAMPLES = 200.0
"""The cautious prior: as if this many samples had been seen, none of them far (a store is assumed to cut far
readings off, as the grid did, until it shows otherwise)."""
FAR_SIGMAS = 1.0
"""... and the reading is this many shadowing sigmas (the one in use) weaker than the path loss's mean at the range
(the exponent in use): a reading the range explains poorly."""
FAR_CONFIDENT_SHARE = 1e-4
"""... and the shopper's mass (before the reading) within the range is less than this share of it: a posterior
that is sure the shopper is beyond the range, not one spread over its edge."""
FAR_SHARE_MIN = 0.0004
"""Far readings are learned to happen when their share is above this (1 in 2500 readings)..."""
FAR_Z = 2.0
"""... by this many standard errors (and learned not to when below it by as many)."""
FAR_LOOK_S = 10.0
"""The estimate is looked at (and the likelihoods rebuilt when the answer changed) at most this often."""
FAR_PROOFS = 20
"""Adverts heard by scanners with no common cell within their ranges (:meth:`RangeLearner.heard`) after which the
range is dropped: a store whose scanners hear 30 m and more (an open hall, sensitive receivers). One could be a
scanner placed wrong in the config; twenty are a store. Such a store never bootstrapped the share above: with every
reading from beyond 15 m cut off, the posterior was lost so often that the radio learner never had an estimate to
judge by (docs/presence.md, "The grid's faint readings (session 39)": the sweep's stores heard to 60 m)."""
FAINT_FAR = True
"""Weigh a faint reading with far readings rare from the first (``--set FAINT_FAR=0``: only once learned)."""
FAINT_SIGMAS = 0.5
"""A reading is faint when it is this many shadowing sigmas weaker than the path loss's mean at the range: half a
sigma, so that about 69 % of the readings of a shopper at the range's edge are not faint (at 0 half of them would be,
and the sweep's spot stores lose a pass, [19]; at 1 the doors walk keeps two shoppers in 14 runs placed at the far
end: docs/presence.md, "The grid's faint readings (session 39)")."""


def faint_edge_db(exponent: float, sigma_db: float) -> float:
    """A reading (dB under the declared power) weaker than this is faint (:data:`FAINT_SIGMAS`), at path-loss
    ``exponent`` and shadowing ``sigma_db``."""
    return -10.0 * exponent * LOG_RANGE - FAINT_SIGMAS * sigma_db


class RangeLearner:
    """See the module docstring."""

    __slots__ = (
        "_centres", "_cx", "_cy", "_edge", "_feasible", "_look_at", "_places", "_radio", "far", "moved", "proofs",
        "proven", "samples"
    )  # fmt: skip

    def __init__(self, radio: GridRadio) -> None:
        self._radio = radio
        cell = radio.cell_m
        self._places = [(sx * cell, sy * cell, dz * dz) for sx, sy, dz in radio.places]
        """Per scanner: its place in the box (m from the first cell's centre) and its height above a phone, squared."""
        self._centres: dict[int, object] = {}
        """Per slot: its track at the last motion step..."""
        self._cx: list[float] = []
        self._cy: list[float] = []
        """... and per slot the centre of its mass then, in its window's cells (m from the first cell's centre as
        :attr:`_places`: plus the window's origin, times the cell)."""
        self.samples = 0
        """Readings counted."""
        self.far = 0
        """... of them far."""
        self.proofs = 0
        """Adverts heard by scanners whose ranges share no cell of the floor (:meth:`heard`)."""
        self.proven = False
        """Whether the range is dropped for good: :data:`FAR_PROOFS` such adverts were heard, or a kept radio said so
        (:meth:`recall`)."""
        self.moved = False
        """Whether this learner moved far readings' density since it started (a kept one is not its move)."""
        self._feasible: dict[int, bool] = {}
        """Per set of scanners (bits): whether some cell of the floor lies within the range of all of them."""
        self._look_at: float | None = None
        self._edge: float | None = None
        """A reading weaker than this (dB under the declared power) is weak for the range (:meth:`judge_at`); None:
        nothing is counted yet."""

    def centred(self, cx: list[float], cy: list[float], tracks: Iterable[Placed]) -> None:
        """After a motion step: per slot, the centre of its mass in its window's cells."""
        used = len(cx)
        self._centres = {track.slot: track for track in tracks if track.slot < used}
        self._cx, self._cy = cx, cy

    def judge_at(self, exponent: float | None) -> None:
        """After a motion step: judge readings' weakness at path-loss ``exponent`` (the radio learner's estimate,
        precise or not), or the one in use where that is steeper; None: count nothing (before an estimate, a steep
        store's weak readings, weighed at the configured exponent, look like far ones)."""
        if exponent is None:
            self._edge = None
            return
        radio = self._radio
        steepest = max(radio.exponent, exponent)
        self._edge = -10.0 * steepest * math.log10(RANGE_M) - FAR_SIGMAS * radio.sigma_db

    def sample(self, at: float, scanner: int, residual: int, track: Placed) -> bool:
        """A reading ``residual`` dB under the declared power by ``scanner`` of ``track`` (before its evidence):
        counted when its mass's centre is known and there is an exponent to judge it at (:meth:`judge_at`), far
        when that centre is beyond the range, the reading weak for the range (:data:`FAR_SIGMAS`) and the mass sure
        (:data:`FAR_CONFIDENT_SHARE`) -- the cheap checks first; True when far readings' density moved (the caller
        drops its cached arrays)."""
        edge = self._edge
        if edge is None:
            return False
        slot = track.slot
        if self._centres.get(slot) is not track:
            return False
        self.samples += 1
        if residual < edge:  # (its window has not moved since the motion step: only a motion step moves one)
            sx, sy, dz2 = self._places[scanner]
            (x0, y0), cell = track.origin, self._radio.cell_m
            dx, dy = (x0 + self._cx[slot]) * cell - sx, (y0 + self._cy[slot]) * cell - sy
            if dx * dx + dy * dy + dz2 > RANGE_M * RANGE_M:
                state, (x0, y0) = track.state, track.origin
                _, kx, ky = state.shape
                both = state.sum(axis=0)
                total = float(both.sum())
                near = float((both * self._radio.in_range(scanner)[x0 : x0 + kx, y0 : y0 + ky]).sum())
                if total > 0.0 and near < FAR_CONFIDENT_SHARE * total:
                    self.far += 1
        if self._look_at is None:
            self._look_at = at + FAR_LOOK_S
        if at < self._look_at:
            return False
        self._look_at = at + FAR_LOOK_S
        return self.step()

    def heard(self, scanners: int) -> bool:
        """An advert heard by the ``scanners`` (bits) is over: if no cell of the floor lies within the range of all
        of them, at least one heard it from beyond the range -- proof that this store's scanners hear farther,
        whatever the posterior says. After :data:`FAR_PROOFS` of them the range is dropped (``far_p`` 1: a reading
        is weighed by the path loss alone, as near as far); True when that happened (the caller drops its arrays)."""
        if scanners & (scanners - 1) == 0 or self.proven:  # (one scanner: always feasible)
            return False
        feasible = self._feasible.get(scanners)
        if feasible is None:
            radio, both = self._radio, None
            bits, k = scanners, 0
            while bits:
                if bits & 1:
                    share = radio.in_range(k)
                    both = share > 0.0 if both is None else both & (share > 0.0)
                bits >>= 1
                k += 1
            feasible = self._feasible[scanners] = bool(both is not None and both.any())
        if feasible:
            return False
        self.proofs += 1
        if self.proofs < FAR_PROOFS:
            return False
        self.proven = self.moved = True
        self._radio.reach_far(1.0)
        return True

    def recall(self, far_p: float) -> None:
        """Start from far readings' density ``far_p`` kept from an earlier run of this store
        (:mod:`edge.presence_grid_memory`): 1 is the range proven dropped (for good, as :meth:`heard` leaves it), less
        is what the share had learned (:data:`FAR_LEARNED_P`), which the share moves again as it would have."""
        if far_p >= 1.0:
            self.proven = True
        self._radio.reach_far(far_p)

    def share(self) -> tuple[float, float]:
        """The far readings' share (with the prior) and its standard error."""
        n = self.samples + FAR_PRIOR_SAMPLES
        p = self.far / n
        return p, math.sqrt(max(p * (1.0 - p), 1.0 / n) / n)

    def step(self) -> bool:
        """Move far readings' density when the evidence is clear; True when it moved."""
        p, se = self.share()
        radio = self._radio
        if self.proven:  # (proven by the adverts: no range, for good)
            return False
        if radio.far_p == 0.0 and p - FAR_Z * se > FAR_SHARE_MIN:
            radio.reach_far(FAR_LEARNED_P)
            self.moved = True
            return True
        if radio.far_p > 0.0 and p + FAR_Z * se < FAR_SHARE_MIN:
            radio.reach_far(0.0)
            self.moved = True
            return True
        return False

    def report(self) -> dict[str, float | None]:
        """Far readings' density in use, their share, its standard error and the samples so far."""
        p, se = self.share()
        return {
            "far_p": self._radio.far_p,
            "far_share": p,
            "far_se": se,
            "far_samples": float(self.samples),
            "far_proofs": float(self.proofs),
        }
