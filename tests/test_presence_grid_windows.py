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
    config = CELLS[0].layout.config()  # today's store: a 50 x 34 cell box, wider than a 24 m window
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
