"""The sweep's CPU savings (#13) change no decision: an engine copied from a new one decides as a new one, the radio
learner numbers visits as np.unique of its rows did, and a learner's partial drop of the grid's cached arrays keeps
the kind that did not move."""

from __future__ import annotations

import numpy as np

from benchmarks.presence_sweep import engines, feed, fresh
from edge.presence_grid import GridEstimator
from edge.presence_grid_learn import visits
from edge.sim.sweep import simulate
from edge.sim.sweep.cells import CELLS


def test_an_engine_unpickled_from_a_new_one_decides_as_a_new_one() -> None:
    cell = CELLS[6]  # the L-shaped store: the grid's windows move
    run = simulate(cell, 1, minutes=3.0, shoppers=8)
    config = cell.layout.config(floor=True)
    built: dict[str, bytes] = {}
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
