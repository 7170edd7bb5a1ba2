"""Shelf regions: motion in configured parts of a shelf camera's view → shelf touches. No identity.

Each frame is reduced at once to a small blurred grey image per region; a region "moves" when
enough of its pixels changed by more than a grey-level threshold since the previous frame (frame
differencing). Only the region's previous grey image is kept, never a colour frame, and nothing
about who moved: the interaction is attributed (or not) by the shelf module from BLE presence.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from edge import constants as c
from edge.vision.detect import Frame


@dataclass(frozen=True, slots=True)
class Region:
    id: str
    shelf: str
    sku: str
    rect: tuple[float, float, float, float]
    action: str = "touch"
    motion_fraction: float = c.SHELF_MOTION_FRACTION
    debounce_s: float = c.SHELF_MOTION_DEBOUNCE_S


@dataclass(frozen=True, slots=True)
class Motion:
    """Motion seen in one region at ``at`` (the fraction of its pixels that changed)."""

    region: str
    shelf: str
    sku: str
    action: str
    at: float
    fraction: float


class RegionWatcher:
    """Frame differencing per region, with a debounce; ``observe`` is pure apart from its own state."""

    def __init__(self, regions: tuple[Region, ...], *, pixel_delta: int = c.SHELF_MOTION_PIXEL_DELTA) -> None:
        self._regions = regions
        self._pixel_delta = pixel_delta
        self._previous: dict[str, npt.NDArray[np.uint8]] = {}
        self._last: dict[str, float] = {}

    def observe(self, frame: Frame, now: float) -> list[Motion]:
        import cv2

        height, width = frame.shape[:2]
        grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        found: list[Motion] = []
        for region in self._regions:
            x, y, w, h = region.rect
            x0, y0 = int(x * width), int(y * height)
            x1, y1 = max(x0 + 1, int((x + w) * width)), max(y0 + 1, int((y + h) * height))
            patch = np.asarray(cv2.GaussianBlur(grey[y0:y1, x0:x1], (5, 5), 0), dtype=np.uint8)
            previous = self._previous.get(region.id)
            self._previous[region.id] = patch
            if previous is None or previous.shape != patch.shape:
                continue
            changed = cv2.absdiff(patch, previous) > self._pixel_delta
            fraction = float(np.count_nonzero(changed)) / changed.size
            if fraction < region.motion_fraction:
                continue
            last = self._last.get(region.id)
            if last is not None and now - last < region.debounce_s:
                continue
            self._last[region.id] = now
            found.append(Motion(region.id, region.shelf, region.sku, region.action, now, fraction))
        grey.fill(0)
        return found

    def reset(self) -> None:
        for patch in self._previous.values():
            patch.fill(0)
        self._previous.clear()
