"""The grid engine's windows (edge/presence_grid_windows.py ``Windows``): pure, a real sweep store's floor."""

from __future__ import annotations

import numpy as np

from edge.presence_grid import CELL_M, STREET_M
from edge.presence_grid_radio import GridRadio
from edge.presence_grid_windows import RECENTRE_CELLS, Track, Windows
from edge.sim.sweep.cells import CELLS


def test_the_centre_after_a_recentre_is_in_the_new_windows_cells() -> None:
    """A shopper's mass well off its window's centre: the window follows it, and the centre ``predict`` returns
    plus the track's (new) origin is still the box cell of the mass's centre (it was the old origin's: 2 m and
    more off for the learner's "in the band" check until the next step)."""
    config = CELLS[0].layout.config()  # today's store: a 50 x 24 cell box, wider than a 24 m window
    radio = GridRadio(config.zones, config.scanners, config.floor, 2.2, CELL_M, STREET_M)
    cells = [radio.cell_of(s.x_m, s.y_m) for s in config.scanners]
    windows = Windows(radio, CELL_M, cells)
    track = Track(0, (0, 0), 0.0, "t", -59.0)
    track.slot = windows.slot([track])
    track.state = windows.state[track.slot]
    windows.place(track, (0, 0), uniform=False)
    floor = np.argwhere(windows.mask[: windows.kx, : windows.ky] > 0)
    far = floor[np.argmax(floor.sum(axis=1))]  # the window's floor cell farthest from its corner
    track.state[0, far[0], far[1]] = 1.0  # all the mass standing there (the standing layer does not spread)
    before = track.origin
    cx, cy = windows.predict([track])
    assert track.origin != before  # the window moved
    assert abs(far[0] - (windows.kx - 1) / 2) >= RECENTRE_CELLS or abs(far[1] - (windows.ky - 1) / 2) >= RECENTRE_CELLS
    x0, y0 = track.origin
    ox, oy = before
    # the mass's centre, in box cells: the standing cell (a walking share's diffusion keeps it within a cell)
    assert abs(x0 + cx[track.slot] - (ox + far[0])) < 0.05
    assert abs(y0 + cy[track.slot] - (oy + far[1])) < 0.05


def test_the_box_is_cropped_to_the_rows_and_columns_that_hold_a_cell() -> None:
    """The box is the floor's bounds widened by the street, cropped to the rows and columns that hold a floor or
    street cell (the street is a half-disc at each door): no row or column of it is empty, and it holds every cell
    the uncropped box held, on the same 1 m lattice."""
    for index, shape in ((0, (50, 24)), (2, (40, 9)), (6, (35, 35))):
        config = CELLS[index].layout.config()
        radio = GridRadio(config.zones, config.scanners, config.floor, 2.2, CELL_M, STREET_M)
        mask = radio.mask.reshape(radio.shape)
        assert radio.shape == shape
        assert mask.any(axis=1).all()
        assert mask.any(axis=0).all()
        floor = config.floor
        x0, y0, x1, y1 = floor.bounds()
        xs = np.arange(x0 - STREET_M, x1 + STREET_M, CELL_M) + CELL_M / 2
        ys = np.arange(y0 - STREET_M, y1 + STREET_M, CELL_M) + CELL_M / 2
        held = sum(1 for x in xs for y in ys if floor.walkable(x, y) or floor.street(x, y, STREET_M))
        assert radio.cells == held
        ox, oy = radio.cell_of(0.0, 0.0)  # (the box's corner, from where it puts a place: cell = (x - x0) / 1 m - 0.5)
        corner_x, corner_y = -(ox + 0.5) * CELL_M, -(oy + 0.5) * CELL_M
        for i in range(shape[0]):  # each cell is a cell of the floor or street exactly where its centre is one
            for j in range(shape[1]):
                x, y = corner_x + (i + 0.5) * CELL_M, corner_y + (j + 0.5) * CELL_M
                assert mask[i, j] == float(floor.walkable(x, y) or floor.street(x, y, STREET_M))
