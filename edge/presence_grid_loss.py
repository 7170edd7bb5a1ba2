"""The grid engine's miss rate: the share of adverts a scanner in range misses anyway, learned online per store.

The grid's silence of a scanner that did not hear an advert (:meth:`edge.presence_grid_radio.GridRadio.silent`)
assumed a fixed :data:`~edge.presence_grid_radio.MISS_P` (30 %) of adverts lost by a scanner that could hear them
(channel hopping, scan windows, collisions). Stores differ (the sweep's cells lose 10-40 %): a rate too high makes a
silence weak evidence, and the grid leaves a zone late after one walks away from its scanner (docs/presence.md,
"The grid's right zone against the oracle"). :class:`LossLearner` learns the rate from the store's own traffic:

- an **opportunity**: at the first reading of a shopper's advert (before its evidence: the posterior from every
  earlier advert, leave-one-out), each scanner whose chance of hearing the advert -- within
  :data:`OPPORTUNITY_M` and above the receiver's sensitivity at the path loss in use, averaged over the posterior --
  is at least :data:`OPPORTUNITY_P`; when the advert is over, whether it heard it;
- the **estimate**: the miss rate ``p`` of the maximum likelihood, each opportunity heard with chance
  ``(1 - p) a`` (``a`` its chance of hearing it: a scanner 0.9 audible misses 10 % for being out of earshot,
  not for losing the advert) -- and **the bias of the invisible adverts** taken out: an advert no scanner heard
  never reaches the engine, so when none but the opportunities could have made it visible (no other scanner heard
  it) the opportunities' outcomes are conditioned on at least one of them hearing it, and their likelihood is
  divided by that chance (a zero-truncated binomial). Counted naively, a shopper by one scanner alone would show
  a rate of 0 (an advert it missed is never seen); at 20 % lost and two scanners the naive rate is 11 %;
- **used** once its standard error (from the likelihood's curvature) is under :data:`LOSS_SE` of it and it moved by
  :data:`LOSS_DEADBAND` from the rate in use, bounded to :data:`LOSS_BOUNDS`; it starts at MISS_P. (Sooner, once
  MISS_P was 3 standard errors off the estimate, as the exponent's RADIO_REJECT_Z: tuning 68.21 -> 69.1, 11 -> 10
  passed -- the first minute's estimates are biased by uncertain posteriors; not kept.)

Per store: one rate for all scanners (the receivers of a store are one kind; a scanner that differs is not
modelled). The likelihood forgets with time constant :data:`LOSS_TAU_S` (a store's rate changes with its crowd).
Cheap: at most :data:`LOSS_SAMPLES_PER_S` adverts a second are sampled (one product of the window with a stack of
per-scanner arrays); the likelihood is kept as sufficient statistics -- opportunities heard and missed per chance of
hearing (:data:`A_STEP` bins), and the truncated adverts per set of their opportunities' bins -- and the fit is a
vectorised grid over the rates every :data:`LOSS_LOOK_S` (about 0.1 ms; keeping each opportunity and fitting over
12,000 of them doubled the grid's CPU in the sweep).

Pure: no I/O, the time from the sightings.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from edge.presence_grid_radio import MISS_P, GridRadio

Vector = npt.NDArray[np.float64]

LEARN_MISS = True
"""Learn the store's miss rate (``--set LEARN_MISS=0``: MISS_P throughout)."""
OPPORTUNITY_M = 10.0
"""A scanner has an opportunity only within this slant distance of the shopper (m): well inside the grid's RANGE_M
(15 m), so that a store whose shelving cuts hearing off sooner than the grid assumes does not count its far silences
as adverts lost."""
OPPORTUNITY_P = 0.9
"""... and only when its chance of hearing the advert under the posterior is at least this: where the chance is
lower, a silence says as much about where the shopper is (and about the radio model's range and path loss) as
about the advert being lost; the rest (at most 10 %) is modelled in the likelihood (``(1 - p) a``)."""
LOSS_SE = 0.1
"""The rate is used once its standard error is under this share of it: a silence's likelihood in a cell where the
scanner surely hears is the rate itself, so an error of a tenth of it is 0.1 nats per silence -- less than a tenth
of one reading's evidence (0.02 at 20 % lost, 0.04 at 40 %: the sweep's stores differ by 0.1)."""
LOSS_DEADBAND = 0.02
"""The rate in use moves only when the estimate is this far from it (each move drops the cached silences)."""
LOSS_BOUNDS = (0.05, 0.6)
"""The rate used stays within these: below 5 % a silence would be near-proof that the shopper is out of earshot
(one fade or a body in the way would then throw the posterior out of a zone; BLE's three advertising channels and a
scanner's duty cycle lose some adverts in any store); above 60 % a scanner hears too little to be worth modelling
as one that hears (and a silence is then almost no evidence, as in the fixed 30 %'s worst case)."""
LOSS_TAU_S = 300.0
"""The likelihood forgets with this time constant (s): 5 minutes of a store's sampled adverts (some 30,000
opportunities at a few shoppers: a standard error near 0.003 at 20 % lost) -- the rate follows a store's crowd
within minutes."""
A_STEP = 0.01
"""The chances of hearing (OPPORTUNITY_P to 1) are binned this finely in the statistics (an error of at most 0.005
in a chance: 0.5 % of a rate)."""
_BINS = round((1.0 - OPPORTUNITY_P) / A_STEP) + 1
_A = OPPORTUNITY_P + A_STEP * np.arange(_BINS)
"""Each bin's chance of hearing."""
LOSS_SAMPLES_PER_S = 5.0
"""At most this many adverts a second are sampled (the store's, whatever its crowd; about 10 us each in today's
store): the rate in use moved after 1-2 minutes in the sweep's stores (20 shoppers) -- the first minute's uncertain
posteriors, not the count, hold it back (at 40 a second as late as at 10) -- and the grid's CPU grew 30 % at 40 a
second, 15 % at 10. Not fewer: a store that loses few adverts needs the count, its bar (LOSS_SE) being a share of the
rate -- the base store losing 10 % moved its rate after 510 s at 5 a second and not within 12 minutes at 2 (650
opportunities kept, a standard error of 0.012 against the 0.0075 the bar asks at its estimate, 0.075; session 24)."""
LOSS_LOOK_S = 15.0
"""The fit is redone this often (s)."""
_RATES = np.arange(LOSS_BOUNDS[0], LOSS_BOUNDS[1] + 1e-9, 0.005)
"""The rates the fit evaluates (a 0.5 % grid over the bounds: a quarter of the bar LOSS_SE sets at 20 % lost)."""


class LossLearner:
    """See the module docstring. The caller calls :meth:`begin` at a track's new advert (before its first
    reading's evidence), :meth:`end` when it closes it (with the scanners that heard it), and :meth:`look` now and
    then; when :meth:`look` returns True the radio's rate moved (the caller drops its cached silences)."""

    __slots__ = ("_audible", "_decay_at", "_look_at", "_plain", "_radio", "_stack", "_truncated", "adverts", "estimate",
                 "next_at", "pending", "se")  # fmt: skip

    def __init__(self, radio: GridRadio) -> None:
        self._radio = radio
        self._stack: Vector = np.stack([(10.0 ** log_d <= OPPORTUNITY_M) * r for log_d, r in
                                        zip(radio.log_d, (radio.in_range(k) for k in range(len(radio.log_d))),
                                            strict=True)])  # fmt: skip
        """Per scanner and cell: 1 within OPPORTUNITY_M (and the grid's range, on the floor or its street)."""
        self._audible: dict[tuple[int, float, float, tuple[float, ...]], Vector] = {}
        """Per declared power (and the radio's exponent, sigma and scanners' offsets): per scanner and cell, the chance
        of hearing."""
        self.pending: dict[int, tuple[list[int], list[float]]] = {}
        """Per track slot: the advert's opportunities (scanners, their chances of hearing it); the caller need not
        call :meth:`end` for a slot not in it."""
        self._plain: Vector = np.zeros((2, _BINS))
        """Per chance of hearing's bin: the opportunities heard (row 0) and missed (row 1), decayed (LOSS_TAU_S)."""
        self._truncated: dict[tuple[int, ...], float] = {}
        """Per set of opportunities' bins (sorted): the adverts only they could have made visible, decayed."""
        self._decay_at: float | None = None
        self.next_at = -math.inf
        """No advert is sampled before this (LOSS_SAMPLES_PER_S); the caller need not call :meth:`begin` before it."""
        self._look_at: float | None = None
        self.adverts = 0
        """Adverts sampled so far."""
        self.estimate: float | None = None
        """The latest fit's rate (None before one)."""
        self.se = math.inf
        """... and its standard error."""

    def _chances(self, power: int) -> Vector:
        radio = self._radio
        # (keyed by the scanners' offsets, from which their floors follow: a tuple of them costs less than the floors)
        key = (power, radio.exponent, radio.sigma_db, tuple(radio.offsets))
        found = self._audible.get(key)
        if found is None:
            if len(self._audible) >= 16:
                self._audible.clear()
            floors = [radio.floor_dbm(k) for k in range(len(radio.log_d))]
            grid, _, cdf = radio.tables()
            limit = np.array(floors)[:, None, None] - power  # (per scanner: its receiver's floor, offset allowed for)
            means = np.stack([-10.0 * radio.exponent * log_d for log_d in radio.log_d])
            heard = 1.0 - np.clip(np.interp(limit - means, grid, cdf), 0.0, 1.0)
            found = self._audible[key] = heard * self._stack
        return found

    def begin(self, at: float, slot: int, power: int, state: Vector, origin: tuple[int, int]) -> None:
        """A new advert of declared ``power`` by the track in ``slot`` whose posterior (before the advert's first
        reading) is ``state`` (its layers over its window at ``origin``): its opportunities, when the rate allows
        (the track's previous advert was ended)."""
        if at < self.next_at:
            return
        mass = state.sum(axis=0)
        total = float(mass.sum())
        if not total > 0.0:
            return
        self.next_at = at + 1.0 / LOSS_SAMPLES_PER_S
        kx, ky = mass.shape
        x0, y0 = origin
        chances = self._chances(power)[:, x0 : x0 + kx, y0 : y0 + ky]
        if chances.shape[1:] != mass.shape:
            return
        mean = (np.einsum("skl,kl->s", chances, mass) / total).tolist()
        scanners = [k for k, a in enumerate(mean) if a >= OPPORTUNITY_P]
        if scanners:
            self.pending[slot] = (scanners, [mean[k] for k in scanners])

    def end(self, slot: int, heard: int) -> None:
        """The advert of the track in ``slot`` is over; ``heard``: the scanners that heard it (bits)."""
        found = self.pending.pop(slot, None)
        if found is not None:
            self.count(found, heard)

    def take(self, slot: int) -> tuple[list[int], list[float]] | None:
        """The advert of the track in ``slot`` is over, but who heard it is not known yet (a peer's scanners report
        late): its opportunities, for :meth:`count` once they could have."""
        return self.pending.pop(slot, None)

    def count(self, found: tuple[list[int], list[float]], heard: int) -> None:
        """An advert's opportunities (:meth:`take`) and the scanners that heard it (bits), counted."""
        scanners, chances = found
        mask = 0
        for s in scanners:
            mask |= 1 << s
        self.adverts += 1
        plain = self._plain
        bins = []
        for s, a in zip(scanners, chances, strict=True):
            k = min(max(round((a - OPPORTUNITY_P) / A_STEP), 0), _BINS - 1)
            plain[0 if heard >> s & 1 else 1, k] += 1.0
            bins.append(k)
        if not heard & ~mask:  # no other scanner heard it: visible only through these (truncated)
            key = tuple(sorted(bins))
            self._truncated[key] = self._truncated.get(key, 0.0) + 1.0

    def drop(self, slot: int) -> None:
        """The track in ``slot`` is gone (forgotten): its advert's opportunities with it."""
        self.pending.pop(slot, None)

    def look(self, at: float) -> bool:
        """Now and then (LOSS_LOOK_S): fit the rate; True when the radio's rate moved to it."""
        if self._look_at is None:
            self._look_at = at + LOSS_LOOK_S
            return False
        if at < self._look_at:
            return False
        self._look_at = at + LOSS_LOOK_S
        self._decay(at)
        if not self._plain.sum() > 0.0:
            return False
        self.estimate, self.se = fit(self._plain, self._truncated)
        used = self._radio.miss_p
        if self.se > LOSS_SE * self.estimate:
            return False
        low, high = LOSS_BOUNDS
        found = round(min(max(self.estimate, low), high), 2)
        if abs(found - used) < LOSS_DEADBAND:
            return False
        self._radio.lose(found)
        return True

    def _decay(self, at: float) -> None:
        """Forget the statistics by exp(-elapsed / LOSS_TAU_S) since the last time (dropping truncated sets gone
        under 0.01 of an advert)."""
        if self._decay_at is not None and at > self._decay_at:
            keep = math.exp(-(at - self._decay_at) / LOSS_TAU_S)
            self._plain *= keep
            self._truncated = {k: w * keep for k, w in self._truncated.items() if w * keep >= 0.01}
        self._decay_at = at

    def report(self) -> dict[str, float | None]:
        """The rate in use, the latest fit's and its standard error, and the opportunities kept."""
        return {
            "miss_p": self._radio.miss_p,
            "miss_learned": self.estimate,
            "miss_se": None if math.isinf(self.se) else self.se,
            "miss_opportunities": float(self._plain.sum()),
        }


def fit(plain: Vector, truncated: dict[tuple[int, ...], float]) -> tuple[float, float]:
    """The miss rate of the largest likelihood over LOSS_BOUNDS (its 0.5 % grid) and its standard error (from the
    likelihood's curvature), of the opportunities heard and missed per bin of their chance of hearing (``plain``)
    and the truncated adverts per set of bins (see the module docstring)."""
    hear = np.clip((1.0 - _RATES)[:, None] * _A[None, :], 1e-12, 1.0 - 1e-12)  # (rates, bins)
    ll = np.log(hear) @ plain[0] + np.log1p(-hear) @ plain[1]
    if truncated:
        keys = list(truncated)
        width = max(len(k) for k in keys)
        index = np.array([k + (-1,) * (width - len(k)) for k in keys])  # -1: no opportunity (pads)
        missed = np.concatenate([np.log1p(-hear), np.zeros((len(_RATES), 1))], axis=1)  # column -1: log 1
        none = missed[:, index].sum(axis=2)  # per rate and set: log(every opportunity missed)
        weights = np.array([truncated[k] for k in keys])
        ll = ll - np.log1p(-np.exp(np.minimum(none, -1e-12))) @ weights
    best = int(np.argmax(ll))
    step = float(_RATES[1] - _RATES[0])
    inner = min(max(best, 1), len(_RATES) - 2)  # (at a bound: the curvature just inside it)
    curvature = (ll[inner - 1] - 2.0 * ll[inner] + ll[inner + 1]) / (step * step)
    se = 1.0 / math.sqrt(-curvature) if curvature < 0.0 else math.inf
    return float(_RATES[best]), se


__all__ = ["LEARN_MISS", "MISS_P", "LossLearner", "fit"]
