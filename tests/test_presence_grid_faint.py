"""The grid's faint readings (edge/presence_grid_range.py ``FAINT_SIGMAS``): a reading weaker than the path loss's
mean at the range is weighed with far readings rare from the first, so a shopper heard through the front wall from
the street is not moved onto the floor within the range of the scanner that heard them; a strong reading keeps the
cut-off (the correction of a wrong posterior)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from edge import presence_grid_evidence, presence_grid_range
from edge.config import from_mapping
from edge.presence import Sighting
from edge.presence_grid import GridEstimator
from edge.presence_grid_radio import RANGE_M
from edge.presence_grid_range import FAINT_SIGMAS, FAR_P, FAR_PROOFS, faint_edge_db
from edge.sim import engines
from edge.sim.multi import POWER_1M_DBM, MultiStore
from edge.sim.sweep import simulate
from edge.sim.sweep.cells import CELLS
from tests.test_presence_grid_learn import replay

START = 1_800_000_000.0


def _row() -> tuple[MultiStore, GridEstimator]:
    """The three-gateway row (scanners 7 m apart, a door 5 m past each end scanner, the street 5 m beyond), told."""
    store = MultiStore(gateways=3, seed=3, start=START, engine="grid")
    mapping = store.config(0)
    mapping.pop("store")
    config = from_mapping(mapping)
    return store, GridEstimator(config.zones, config.presence, config.scanners, config.floor)


def _on_the_street(store: MultiStore, engine: GridEstimator) -> tuple[str, tuple[int, int]]:
    """A shopper whose whole mass stands on the street outside the far door, beyond the first scanner's range;
    returns the token and that cell in the track's window."""
    token = "tok-street"
    engine.observe(Sighting(token, "ibeacon", "gw-3-s", -70, float(POWER_1M_DBM), START))
    track = engine._tracks[token]
    radio = engine._radio
    x = store.building()[1] + 4.0  # 4 m outside the door past the last zone
    assert x - store.zone_x(0) > RANGE_M
    cx, cy = radio.cell_of(x, 0.0)
    cell = (round(cx) - track.origin[0], round(cy) - track.origin[1])
    assert radio.outside[round(cx), round(cy)] == 1.0
    track.state[...] = 0.0
    track.state[0][cell] = 1.0
    return token, cell


def test_a_faint_reading_is_weighed_with_far_readings_rare_whatever_the_store_has_learned() -> None:
    _store, engine = _row()
    radio = engine._radio
    assert radio.far_p == 0.0
    box = (0, radio.shape[0], 0, radio.shape[1])
    density = radio.density(0, -40, *box)
    beyond = (radio.in_range(0) == 0.0) & (radio.mask.reshape(radio.shape) > 0)
    assert beyond.any()
    assert np.all(radio.likelihood(0, -40)[beyond] == 0.0)  # the store's own: impossible beyond the range
    assert np.allclose(radio.likelihood(0, -40, far_p=FAR_P)[beyond], FAR_P * density[beyond])
    inside = radio.in_range(0) == 1.0
    assert np.array_equal(radio.likelihood(0, -40, far_p=FAR_P)[inside], density[inside])
    # faint: half a sigma under the path loss's mean at the range, at the exponent and sigma in use
    edge = faint_edge_db(radio.exponent, radio.sigma_db)
    assert math.isclose(edge, -10 * radio.exponent * math.log10(RANGE_M) - FAINT_SIGMAS * radio.sigma_db)


@pytest.mark.parametrize("near", [False, True])
def test_a_faint_reading_leaves_a_shopper_on_the_street_a_strong_one_does_not(
    near: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Mass outside the far door, 20+ m from the first scanner: a faint reading by that scanner (as through the
    front wall) keeps it there; a strong one, which nobody beyond the range gives, moves it within the range. The
    same where the likelihoods are kept over each scanner's reach (``near``: a large store's)."""
    monkeypatch.setattr(presence_grid_evidence, "NEAR", near)
    store, engine = _row()
    assert engine._evidence.near is near
    radio = engine._radio
    faint = math.floor(faint_edge_db(radio.exponent, radio.sigma_db)) - 3
    token, cell = _on_the_street(store, engine)
    engine.observe(Sighting(token, "ibeacon", "gw-1-s", POWER_1M_DBM + faint, float(POWER_1M_DBM), START + 0.5))
    state = engine._tracks[token].state
    assert engine.radio()["faint_readings"] == 1.0  # (edge_presence_radio{quantity="faint_readings"})
    assert state[0][cell] > 0.0
    assert state[0][cell] == pytest.approx(state.sum(), rel=1e-9)  # nowhere else had mass: it stays on the street

    store, engine = _row()
    token, cell = _on_the_street(store, engine)
    engine.observe(Sighting(token, "ibeacon", "gw-1-s", POWER_1M_DBM - 20, float(POWER_1M_DBM), START + 0.5))
    assert engine._tracks[token].state[0][cell] == 0.0
    assert engine.radio()["faint_readings"] == 0.0


def _far_end_entries(faint_far: bool, seed: int, near: bool = False) -> int:
    """Doors walk of ``seed`` (8 shoppers from 10 m outside either door), one grid hearing every scanner: how many
    shoppers' first ``entered`` is for the zone at the other end of the store from the door they came in by."""
    store = MultiStore(gateways=3, seed=seed, start=START, engine="grid")
    walks = store.door_walks(8, 40.0)
    mp = pytest.MonkeyPatch()
    mp.setattr(presence_grid_range, "FAINT_FAR", faint_far)
    mp.setattr(presence_grid_evidence, "NEAR", near)
    try:
        said = engines.run(store, walks, 180.0, hear_all=True)["all"].said
    finally:
        mp.undo()
    wrong = 0
    for walk in walks:
        first = next((e for _, e in said if e.token == walk.token and e.kind == "entered"), None)
        assert first is not None
        far_end = f"z{int(walk.stops[-1]) + 1}"  # the zone they walk out of the store from
        wrong += first.zone == far_end
    return wrong


def test_shoppers_walking_in_from_the_street_are_not_placed_at_the_far_end_of_the_store() -> None:
    """The three-gateway row's doors walk (the simulator hears down to the receiver's floor, 20-40 m, through a
    10 dB front wall): before faint readings, shoppers walking in at one door were entered first in the zone at
    the other end (23 of 32 such visits once); now none on these seeds."""
    assert sum(_far_end_entries(True, seed) for seed in (3, 4)) == 0
    assert sum(_far_end_entries(False, seed) for seed in (3, 4)) >= 2


def test_the_same_where_the_likelihoods_are_kept_over_each_scanners_reach() -> None:
    """A store larger than NEAR_BOX_CELLS keeps each reading's likelihood over its scanner's reach, beyond which it
    was 0 whatever the store had learned: a faint reading is weighed over the track's window there (forced on the
    row, the doors walk as over the whole box)."""
    assert sum(_far_end_entries(True, seed, near=True) for seed in (3, 4)) == 0
    assert sum(_far_end_entries(False, seed, near=True) for seed in (3, 4)) >= 2


def _hall(range_m: float) -> GridEstimator:
    """Today's store (the sweep's spots, scanners up to 40 m apart) simulated for 3 minutes with its scanners
    hearing ``range_m``, one grid engine fed every sighting and tick."""
    cell = CELLS[0]
    cell = dataclasses.replace(cell, radio=dataclasses.replace(cell.radio, range_m=range_m))
    run = simulate(cell, 1, minutes=3.0, shoppers=10)
    config = cell.layout.config()
    engine = GridEstimator(config.zones, config.presence, config.scanners, config.floor)
    replay(engine, run)
    return engine


def test_a_store_heard_beyond_twice_the_range_drops_the_range_one_that_is_not_keeps_it() -> None:
    """An advert heard by scanners whose ranges share no cell of the floor proves the store hears farther than the
    range: after FAR_PROOFS of them the range is dropped (a reading weighed by the path loss alone). A store whose
    scanners hear 60 m shows it within minutes; the same store cut off at 15 m never does."""
    far = _hall(60.0).radio()
    assert far["far_p"] == 1.0
    assert far["far_proofs"] == FAR_PROOFS
    near = _hall(RANGE_M).radio()
    assert near["far_proofs"] == 0.0
    assert near["far_p"] is not None
    assert near["far_p"] < 1.0
