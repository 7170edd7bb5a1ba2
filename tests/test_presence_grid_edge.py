"""The grid's hearing range judged over each cell's area, not its centre, and an offset scanner's floor in its
silences (edge/presence_grid_radio.py ``RANGE_POINTS``, ``GridRadio.floor_dbm``; docs/presence.md, "The grid's
range, judged over each cell (session 19)"). Real stores of the sweep, real sightings; pure."""

from __future__ import annotations

import math

import numpy as np
import pytest

from edge import presence_grid_radio, presence_grid_range
from edge.presence_grid import CELL_M, STREET_M, GridEstimator
from edge.presence_grid_radio import RANGE_M, GridRadio
from edge.presence_grid_windows import Windows
from edge.sim.sweep import simulate
from edge.sim.sweep.cells import CELLS
from tests.test_presence_grid_learn import replay


def _radio(index: int = 0) -> GridRadio:
    config = CELLS[index].layout.config()
    return GridRadio(config.zones, config.scanners, config.floor, 2.2, CELL_M, STREET_M)


def _distances(radio: GridRadio, scanner: int) -> np.ndarray:
    """Per cell of the box: the slant distance (m) from its centre to ``scanner``."""
    sx, sy, dz = radio.places[scanner]
    ix, iy = np.meshgrid(np.arange(radio.shape[0]), np.arange(radio.shape[1]), indexing="ij")
    return np.sqrt(((ix - sx) * radio.cell_m) ** 2 + ((iy - sy) * radio.cell_m) ** 2 + dz * dz)


def test_a_cell_is_in_range_by_the_share_of_its_area_within_it() -> None:
    """Today's store: cells wholly within RANGE_M of a scanner count 1, cells wholly beyond it 0, and a cell whose
    centre is just beyond the range but whose near side is within it counts a share between -- its readings' density
    weighed by that share, its silence as likely as that share allows (heard only there)."""
    radio = _radio()
    mask = radio.mask.reshape(radio.shape) > 0
    half = radio.cell_m / math.sqrt(2.0)
    for scanner in range(len(radio.places)):
        share, d = radio.in_range(scanner), _distances(radio, scanner)
        assert np.all(share[mask & (d <= RANGE_M - half)] == 1.0)
        assert np.all(share[mask & (d >= RANGE_M + half)] == 0.0)
        assert np.all(share[~mask] == 0.0)
    share, d = radio.in_range(4), _distances(radio, 4)  # scn-baby, in a corner: its range ends on the floor
    edge = mask & (d > RANGE_M) & (d < RANGE_M + 0.35)  # (a third of a cell beyond: a quarter of it is within)
    assert edge.any()
    assert np.all(share[edge] > 0.0)
    assert np.all(share[edge] < 1.0)
    cell = tuple(int(i) for i in np.argwhere(edge)[0])
    whole = radio.density(4, -30, 0, radio.shape[0], 0, radio.shape[1])
    assert radio.likelihood(4, -30)[cell] == pytest.approx(share[cell] * whole[cell])
    silent = radio.silent(4, -59)
    x0, _, y0, _ = radio.reach[4]
    assert 1.0 - silent[cell[0] - x0, cell[1] - y0] <= (1.0 - radio.miss_p) * share[cell] + 1e-12


def _starts(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts every window started (a new track's, or one whose evidence no cell explained) from now on."""
    started: list[int] = []
    start = Windows.start

    def counted(self: Windows, track: object) -> None:
        started.append(1)
        start(self, track)  # type: ignore[arg-type]

    monkeypatch.setattr(Windows, "start", counted)
    return started


@pytest.mark.parametrize("points", [presence_grid_radio.RANGE_POINTS, 1])
def test_a_shopper_heard_near_the_edge_of_two_ranges_is_not_lost(monkeypatch: pytest.MonkeyPatch, points: int) -> None:
    """Today's store, 3 minutes of 10 shoppers (seed 1): a shopper on the walkway is heard by scanners 25-30 m apart,
    at the edge of both ranges. Judged over each cell's area the posterior follows every shopper from their first
    sighting to the end (a window started once per track); judged at the cells' centres (RANGE_POINTS 1, the grid
    before session 19) their intersection held no cell now and then, the posterior was lost and started again
    uniform over the window (and the shopper entered a zone on the restarted posterior's first lean). The defect is
    shown without session 39's faint readings (a faint reading from beyond the range is rare, not impossible: that
    alone spares some of these restarts, 4 more than the tracks instead of 6 and more)."""
    monkeypatch.setattr(presence_grid_radio, "RANGE_POINTS", points)
    monkeypatch.setattr(presence_grid_range, "FAINT_FAR", points != 1)
    cell = CELLS[0]
    config = cell.layout.config()
    engine = GridEstimator(config.zones, config.presence, config.scanners, config.floor)
    started = _starts(monkeypatch)
    run = simulate(cell, 1, minutes=3.0, shoppers=10)
    replay(engine, run)
    tracks = len({s.token for s in run.sightings})
    if points == 1:
        assert len(started) > tracks + 5  # (the defect)
    else:
        assert len(started) == tracks


def test_an_offset_scanner_hears_less_far_in_its_silences() -> None:
    """A scanner whose readings are corrected by +4 dB (it reads 4 dB low) hears nothing under -91 dBm on the
    corrected scale: its silence is that of a receiver 4 dB less sensitive (as likely near it as before, likelier
    far from it), and with no correction the same as before."""
    radio, deaf = _radio(), _radio()
    before = radio.silent(5, -59)
    radio.offsets[5] = 4.0
    assert radio.floor_dbm(5) == presence_grid_radio.SENSITIVITY_DBM + 4.0
    after = radio.silent(5, -59)
    assert np.all(after >= before - 1e-12)
    assert float((after - before).max()) > 0.05  # far cells: a weak advert is now below its floor
    assert np.array_equal(radio.silent(4, -59), deaf.silent(4, -59))  # another scanner: as it was
    original = presence_grid_radio.SENSITIVITY_DBM
    try:
        presence_grid_radio.SENSITIVITY_DBM = original + 4.0
        assert np.allclose(deaf.silent(5, -59), after)
    finally:
        presence_grid_radio.SENSITIVITY_DBM = original


def test_the_engines_learned_offsets_reach_the_radio() -> None:
    """The engine's per-scanner corrections (configured ``offset_db`` plus the learned offset applied) are the list
    the radio's floors read: one list, updated in place by the offsets' learner."""
    config = CELLS[0].layout.config()
    engine = GridEstimator(config.zones, config.presence, config.scanners, config.floor)
    assert engine._radio.offsets is engine._offsets
