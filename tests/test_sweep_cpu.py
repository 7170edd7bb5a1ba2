"""The sweep's CPU savings (#13) change no decision: an engine copied from a new one decides as a new one, the radio
learner numbers visits as np.unique of its rows did, a learner's partial drop of the grid's cached arrays keeps
the kind that did not move, a full evidence cache drops its oldest array and decides the same, feed() makes the
plain loop's calls in its order, the oracle's moving slots decide each shopper as if alone and its motion step by
flat shifts is the plain one, and the simulator's shadowing drawn in line is random.gauss's."""

from __future__ import annotations

import math
import pickle
import random
from collections.abc import Callable, Hashable

import numpy as np
import pytest

import benchmarks.presence_sweep as sweep_module
from benchmarks.presence_sweep import engines, feed, feed_arrivals, fresh, run_one
from edge import presence_grid_evidence
from edge.presence import PresenceEvent, Sighting
from edge.presence_grid import GridEstimator
from edge.presence_grid_evidence import Vector
from edge.presence_grid_learn import visits
from edge.sim.sweep import Run, simulate
from edge.sim.sweep.cell import Cell
from edge.sim.sweep.cells import CELLS
from edge.sim.sweep.judge import TICK_S
from edge.sim.sweep.oracle import BayesOracle, _tables, silence_s
from edge.sim.sweep.peers import as_gateway, owners
from edge.sim.sweep.radio import MIN_DISTANCE_M, Radio
from edge.sim.sweep.references import EMA_TAU_S, EmaMargin

Scanners = list[tuple[str, float, float, float, float]]


def test_an_engine_unpickled_from_a_new_one_decides_as_a_new_one() -> None:
    cell = CELLS[6]  # the L-shaped store: the grid's windows move
    run = simulate(cell, 1, minutes=3.0, shoppers=8)
    config = cell.layout.config(floor=True)
    built: dict[Hashable, bytes] = {}
    for name, make in engines(cell, config).items():
        first = feed(fresh(name, make, built), run)  # made, and pickled as it was made
        assert built[name], name
        again = feed(fresh(name, make, built), run)  # unpickled
        assert again == feed(make(), run) == first, name


def test_visits_are_numbered_as_unique_rows_of_slot_and_entry() -> None:
    rng = np.random.default_rng(13)
    for _ in range(50):
        n = int(rng.integers(1, 400))
        slot = rng.integers(0, 12, n).astype(np.float64)
        since = rng.choice(1_795_428_000.0 + rng.random(20) * 600.0, n)
        _, rows = np.unique(np.stack([slot, since], axis=1), axis=0, return_inverse=True)
        assert visits(slot, since).tolist() == rows.reshape(-1).tolist()


def test_dropping_one_kind_of_cached_array_keeps_the_other() -> None:
    cell = CELLS[0]
    config = cell.layout.config(floor=True)
    run = simulate(cell, 1, minutes=1.0, shoppers=4)
    for readings in (True, False):
        grid = GridEstimator(config.zones, config.presence, config.scanners, config.floor)
        feed(grid, run)
        evidence = grid._evidence
        assert {key[0] == "heard" for key in evidence.cache} == {True, False}  # both kinds cached
        evidence.clear(readings=readings, silences=not readings)
        assert evidence.cache
        assert all((key[0] == "heard") == readings for key in evidence.cache)  # the other kind is kept
        evidence.clear()
        assert not evidence.cache


def _feed_plainly(engine: object, run: Run) -> list[tuple[str, object]]:
    """The loop feed() replaced: every sighting in turn, each tick due before it first."""
    calls: list[tuple[str, object]] = []
    next_tick = run.start + TICK_S
    for s in run.sightings:
        while next_tick <= s.at:
            calls.append(("tick", next_tick))
            next_tick += TICK_S
        calls.append(("observe", s))
    while next_tick <= run.end:
        calls.append(("tick", next_tick))
        next_tick += TICK_S
    return calls


class _Recorder:
    """An engine that answers nothing and notes every call, in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []

    def observe(self, s: Sighting) -> list[PresenceEvent]:
        self.calls.append(("observe", s))
        return []

    def tick(self, now: float) -> list[PresenceEvent]:
        self.calls.append(("tick", now))
        return []


def test_feed_makes_the_calls_of_the_plain_loop_in_its_order() -> None:
    real = simulate(CELLS[0], 2, minutes=1.0, shoppers=4)
    ticks = [real.start + TICK_S * k for k in (0, 1, 2, 2, 3, 9)]  # a sighting at a tick's time comes after it
    on_ticks = [Sighting("t", "app", "scn-entrance", -60, -59.0, at) for at in ticks]
    for run in (real, Run(real.cell, 2, real.start, real.end, [], on_ticks), Run(real.cell, 2, 0.0, 1.0, [], [])):
        recorder = _Recorder()
        feed(recorder, run)
        assert recorder.calls == _feed_plainly(recorder, run)
        assert feed(recorder, run) == {}  # (the schedule kept for the run: the same again)


def test_feed_arrivals_of_sightings_at_their_time_makes_feeds_calls() -> None:
    """benchmarks/presence_peers.py's way in (sightings that arrive late) with every sighting on time, as one gateway
    hearing every scanner gets them (edge.sim.sweep.peers): the same calls as feed, in its order."""
    real = simulate(CELLS[0], 2, minutes=1.0, shoppers=4)
    for arrivals in (as_gateway(real, owners(CELLS[0].layout, 1), 0), [(s.at, s) for s in real.sightings]):
        recorder = _Recorder()
        feed_arrivals(recorder, arrivals, real)
        assert recorder.calls == _feed_plainly(recorder, real)


def test_the_oracle_decides_each_shopper_as_if_alone() -> None:
    """Its slots move (a freed slot takes the last one's posterior) and its arrays cover only the tracked shoppers:
    each shopper's zone changes are those of a run of that shopper's sightings alone."""
    cell = CELLS[0]
    run = simulate(cell, 1, minutes=6.0, shoppers=12)  # three shoppers leave while a later slot is in use
    make = engines(cell, cell.layout.config(floor=True))["oracle"]
    together = feed(make(), run)
    assert len(together) >= 10
    for token in together:
        alone = Run(cell, 1, run.start, run.end, [], [s for s in run.sightings if s.token == token])
        assert feed(make(), alone) == {token: together[token]}, token


def test_a_full_evidence_cache_drops_its_oldest_array_and_decides_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    cell = CELLS[30]  # the 10 Hz app: the most arrays asked for
    config = cell.layout.config(floor=True)
    run = simulate(cell, 1, minutes=2.0, shoppers=6)
    make = engines(cell, config)["grid"]
    plenty = feed(make(), run)
    monkeypatch.setattr(presence_grid_evidence, "CACHE_BYTES", 1)  # 16 arrays: a miss on most sightings
    small = make()
    evidence = small._evidence
    assert evidence._cache_size == 16
    first = None
    made = 0

    def counting(key: tuple[str, int, int], make: Callable[[], Vector]) -> Vector:
        nonlocal first, made
        full = len(evidence.cache) >= 16 and key not in evidence.cache
        oldest = next(iter(evidence.cache)) if full else None
        found = cached(key, make)
        if oldest is not None:
            assert oldest not in evidence.cache
            assert key in evidence.cache
            assert len(evidence.cache) == 16
            made += 1
        return found

    cached = evidence._cached
    monkeypatch.setattr(evidence, "_cached", counting)
    assert feed(small, run) == plenty
    assert made > 1000


def _hear_plainly(
    radio: Radio, rng: random.Random, power: float, x: float, y: float, outside: bool, body: float, scanners: Scanners
) -> list[tuple[str, int]]:
    """Radio.hear as it was, with rng.gauss for the shadowing."""
    found: list[tuple[str, int]] = []
    for scanner, sx, sy, dh2, error in scanners:
        dx, dy = x - sx, y - sy
        distance = math.sqrt(dx * dx + dy * dy + dh2)
        if distance > radio.range_m or rng.random() < radio.miss:
            continue
        near = max(distance, MIN_DISTANCE_M)
        rssi = power - 10.0 * radio.exponent * math.log10(near) + rng.gauss(0.0, radio.sigma_db) + (error - body)
        if outside:
            rssi -= radio.wall_db
        if rng.random() < radio.fade_p:
            rssi -= rng.uniform(*radio.fade_db)
        if rssi >= radio.sensitivity_dbm:
            found.append((scanner, min(round(rssi), 20)))
    return found


def test_the_simulator_draws_its_shadowing_as_random_gauss_does() -> None:
    """Radio.hear draws N(0, sigma) in line (random.gauss's pairs, its kept second draw in gauss_next): the same
    readings and the same state of the generator after, calls to rng.gauss between included."""
    pick = random.Random(13)
    for n in range(300):
        radio = Radio(sigma_db=pick.uniform(3.0, 8.0), miss=pick.uniform(0.0, 0.4), fade_p=pick.uniform(0.0, 0.2))
        scanners: Scanners = [
            (f"s{k}", pick.uniform(0, 30), pick.uniform(0, 20), pick.uniform(0, 6), pick.uniform(-4, 4))
            for k in range(pick.randint(1, 9))
        ]
        ours, theirs = random.Random(n), random.Random(n)
        for _ in range(20):
            args = (pick.uniform(-70, -50), pick.uniform(-5, 35), pick.uniform(-5, 25), pick.random() < 0.2, 0.0)
            assert radio.hear(ours, *args, scanners) == _hear_plainly(radio, theirs, *args, scanners)
            assert ours.getstate() == theirs.getstate()
            if pick.random() < 0.3:
                assert ours.gauss(0.0, 1.0) == theirs.gauss(0.0, 1.0)


def _predict_plainly(oracle: BayesOracle, used: int) -> None:
    """The oracle's motion step with the slices of each axis (as it was before _shift_add)."""
    a, b, t = (np.empty((used, *oracle._shape)) for _ in range(3))
    both = oracle._post[:used]
    stand, post = both[:, 0], both[:, 1]
    w = oracle._w
    keep = 1.0 - 2.0 * w
    for _ in range(oracle._passes):
        np.multiply(post, keep, out=a)
        np.multiply(post, w, out=t)
        a[:, :, 1:] += t[:, :, :-1]
        a[:, :, :-1] += t[:, :, 1:]
        np.multiply(a, keep, out=b)
        np.multiply(a, w, out=t)
        b[:, 1:, :] += t[:, :-1, :]
        b[:, :-1, :] += t[:, 1:, :]
        post = b
    walk = both[:, 1]
    np.multiply(post, 1.0 - oracle._to_stand, out=walk)
    np.multiply(stand, oracle._to_walk, out=t)
    walk += t
    np.multiply(stand, 1.0 - oracle._to_walk, out=stand)
    np.multiply(post, oracle._to_stand, out=t)
    stand += t
    both *= oracle._kept
    both += oracle._floor_share


@pytest.mark.parametrize("index", [0, 2, 6, 10])
def test_the_oracles_motion_step_by_flat_shifts_is_the_plain_one(index: int) -> None:
    cell = CELLS[index]
    oracle = engines(cell, cell.layout.config(floor=True))["oracle"]()
    assert isinstance(oracle, BayesOracle)
    rng = np.random.default_rng(index)
    for used in (1, 2, 5, 9):
        while oracle._post.shape[0] < used:
            oracle._grow()
        oracle._post[:] = rng.random(oracle._post.shape) * oracle._mask
        plain = oracle._post.copy()
        oracle._predict(used)
        ours, oracle._post = oracle._post, plain
        _predict_plainly(oracle, used)
        assert np.array_equal(ours[:used], plain[:used])


def test_cells_of_one_layout_share_their_engines_and_decide_as_with_new_ones() -> None:
    """With one process the sweep keeps each engine as made, by its name and the cell's config (all an engine but the
    oracle is given), so the L-shape's three cells make the grid once; the oracle is kept per cell."""
    built: dict[Hashable, bytes] = {}
    for index in (6, 49, 54):  # the L-shaped store, three radios
        for seed in (1, 2):
            _, shared, _ = run_one(index, seed, 1.0, 4, built)
            _, new, _ = run_one(index, seed, 1.0, 4)
            assert {n: t.score for n, t in shared.items()} == {n: t.score for n, t in new.items()}, (index, seed)
        built.pop("oracle")
    assert sorted(key[0] for key in built if isinstance(key, tuple)) == ["ema", "grid", "nearest", "threshold"]


def test_the_model_engine_runs_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    """By default the sweep runs what issue #13's table needs (the grid, the threshold engine, the two naive references,
    the oracle); the model engine, which passes no cell, and the grid's prototype run when ``--engines`` names them
    or says ``all``."""
    cell = CELLS[6]
    config = cell.layout.config(floor=True)
    assert sorted(engines(cell, config)) == ["ema", "grid", "nearest", "oracle", "threshold"]
    monkeypatch.setattr(sweep_module, "ONLY_ENGINES", {"all"})
    assert sorted(engines(cell, config)) == ["ema", "grid", "grid-proto", "model", "nearest", "oracle", "threshold"]
    monkeypatch.setattr(sweep_module, "ONLY_ENGINES", {"model", "oracle"})
    assert sorted(engines(cell, config)) == ["model", "oracle"]


# --- session 22: the oracle's update and shared likelihoods, the EMA reference's loop, the harness's schedule ----


class _PlainOracle(BayesOracle):
    """The oracle's update as it was before session 22: ``ndarray.sum``, the ``*=`` and ``/=`` operators, the slot's
    layers indexed afresh at every tick."""

    def _update(self) -> None:
        for token, liks in self._pending.items():
            slot = self._slot[token] if token in self._slot else self._track(token)
            flat = self._post[slot].reshape(2, -1)
            product = liks[0]
            if len(liks) > 1:
                product = liks[0] * liks[1]
                for lik in liks[2:]:
                    product *= lik
            flat[0] *= product
            flat[1] *= product
            total = flat.sum()
            if total <= 0.0 or not math.isfinite(total):
                flat[:] = self._uniform.reshape(-1) / 2
            else:
                flat /= total
        self._pending.clear()


def _oracle(cell: Cell, kind: type[BayesOracle] = BayesOracle) -> BayesOracle:
    mix = cell.mix
    quiet = silence_s([mix.slowest_interval_s], mix.longest_pause_s)
    return kind(cell.layout, cell.radio, speed_m_s=cell.walk.speed_m_s[1], silence_s=quiet, tick_s=TICK_S)


class _Lockstep:
    """Two oracles fed the same calls; after every tick their posteriors must be the same, bit for bit."""

    def __init__(self, ours: BayesOracle, plain: BayesOracle) -> None:
        self.ours, self.plain, self.ticks = ours, plain, 0

    def observe(self, s: Sighting) -> list[PresenceEvent]:
        assert self.ours.observe(s) == self.plain.observe(s)
        return []

    def tick(self, now: float) -> list[PresenceEvent]:
        events = self.ours.tick(now)
        assert events == self.plain.tick(now)
        used = len(self.ours._slot)
        assert used == len(self.plain._slot)
        assert np.array_equal(self.ours._post[:used], self.plain._post[:used])
        self.ticks += 1
        return events


@pytest.mark.parametrize("index", [0, 6, 30])
def test_the_oracles_update_is_the_plain_one_at_every_tick(index: int) -> None:
    cell = CELLS[index]  # today's store, the L-shape (a new grid), the 10 Hz app (the most evidence per tick)
    run = simulate(cell, 1, minutes=3.0, shoppers=8)
    lockstep = _Lockstep(_oracle(cell), _oracle(cell, _PlainOracle))
    assert feed(lockstep, run)
    assert lockstep.ticks > 700


def test_oracles_sharing_their_likelihoods_decide_as_with_their_own() -> None:
    """Every oracle of one layout and radio shares one set of likelihood arrays (_tables), kept as the adverts ask for
    them: an oracle that finds them made by others (another seed, another cell, a copy unpickled) decides as one that
    makes its own; a copy unpickled shares them too."""
    cell, other = CELLS[0], CELLS[38]  # (38: short stops -- the same layout and radio, other shoppers)
    assert (cell.layout, cell.radio) == (other.layout, other.radio)
    runs = [simulate(c, seed, minutes=2.0, shoppers=6) for c in (cell, other) for seed in (1, 2)]
    alone = []
    for run in runs:
        _tables.cache_clear()
        alone.append(feed(_oracle(run.cell), run))
    _tables.cache_clear()
    first = _oracle(cell)
    copy = pickle.loads(pickle.dumps(first))
    assert copy._lik is first._lik
    assert copy._silent is first._silent
    assert copy._unheard is first._unheard
    shared = [feed(first, runs[0])] + [feed(_oracle(run.cell), run) for run in runs[1:]]
    assert len(first._lik) > 100
    assert shared == alone
    assert feed(copy, runs[0]) == alone[0]  # (the tables full of others' arrays by now)


class _PlainEma(EmaMargin):
    """The EMA reference's levels as they were before session 22: beside their times, the zone and timeout looked up
    per scanner, the leading zone by ``max(by_zone, key=by_zone.__getitem__)``; the decision is the reference's."""

    def observe(self, s: Sighting) -> list[PresenceEvent]:
        zone = self._zone_of_scanner.get(s.scanner)
        if zone is None:
            return []
        token, at, scanner = s.token, s.at, s.scanner
        self._heard[(token, zone)] = at
        levels = self._levels.setdefault(token, {})
        previous = levels.get(scanner)
        level = self._level(s)
        if previous is not None:
            alpha = 1.0 - math.exp(-(at - previous[1]) / EMA_TAU_S)
            level = previous[0] + alpha * (level - previous[0])
        levels[scanner] = (level, at)
        by_zone: dict[str, float] = {}
        for other, (value, when) in levels.items():
            z, expiry = self._timeout[other]
            if at - when < expiry and value > by_zone.get(z, -math.inf):
                by_zone[z] = value
        best = max(by_zone, key=by_zone.__getitem__)
        return self._decide(token, at, by_zone, best, by_zone[best])


@pytest.mark.parametrize("index", [0, 5, 6, 30, 42])
def test_the_ema_references_loop_decides_as_the_plain_one(index: int) -> None:
    cell = CELLS[index]  # (5: a zone with two scanners; 42: browsing across a boundary)
    config = cell.layout.config(floor=True)
    run = simulate(cell, 1, minutes=5.0, shoppers=10)
    ours = feed(EmaMargin(config.zones, config.presence), run)
    assert ours == feed(_PlainEma(config.zones, config.presence), run)
    assert sum(map(len, ours.values())) >= 15


def test_the_ema_reference_breaks_a_tie_between_zones_as_max_does() -> None:
    """Two zones level (the first reading of each scanner is its level): the first zone in the token's order of
    scanners leads, as ``max`` over the zones picks -- also when a later reading brings an earlier zone level."""
    config = CELLS[0].layout.config(floor=True)
    zones = [z for z in config.zones if z.scanners][:3]
    a, b, c = (z.scanners[0] for z in zones)
    for readings in ([(b, -40), (a, -40)], [(a, -50), (b, -40), (a, -30)], [(c, -45), (a, -45), (b, -45)]):
        sightings = [
            Sighting("t", "app", scanner, rssi, -59.0, 1000.0 + 0.3 * k + 0.01 * j)
            for k in range(12)
            for j, (scanner, rssi) in enumerate(readings)
        ]
        run = Run(CELLS[0], 1, 1000.0, 1010.0, [], sightings)
        ours = feed(EmaMargin(config.zones, config.presence), run)
        assert ours == feed(_PlainEma(config.zones, config.presence), run)


def test_the_runs_schedule_is_made_with_the_run_not_by_the_first_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    """run_one makes the run's schedule of ticks with the run, timed as the simulation: the first engine made (its
    timer already running) finds it made, so it is not charged for what every engine shares."""
    seen: list[list[int]] = []

    class Probe(_Recorder):
        def __init__(self) -> None:
            super().__init__()
            seen.append([run.seed for run, _ in sweep_module._SCHEDULE])

    monkeypatch.setattr(sweep_module, "engines", lambda cell, config: {"probe": Probe})
    run_one(0, 3, 0.5, 2)
    assert seen == [[3]]
