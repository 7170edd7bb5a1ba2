"""The value types config keys share: ids, SKUs, durations, layout coordinates, thresholds, frame rectangles.

Annotated with msgspec ``Meta`` constraints, so a key of one of these types is checked as it is decoded
(and the constraint shows in the JSON schema); :func:`check_rect` and :func:`unique` are the two rules
several config types apply in their ``__post_init__``. Numbers are also refused when NaN or infinite,
anywhere in a document (:func:`edge.config_errors.first_non_finite`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Annotated

from msgspec import Meta

from edge.config_errors import InvalidConfigError
from edge.floor import LAYOUT_MAX_M

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
"""Store, gateway, zone, screen and shelf ids: they become MQTT topic levels, so no / + # or spaces."""
SKU_PATTERN = ID_PATTERN
"""A SKU (GTIN, PLU or the retailer's own article number): letters, digits, . _ -; at most 64."""
SKU = re.compile(SKU_PATTERN)

Id = Annotated[str, Meta(pattern=ID_PATTERN)]
Sku = Annotated[str, Meta(pattern=SKU_PATTERN)]
Seconds = Annotated[float, Meta(gt=0)]
"""A duration that must be > 0."""
Delay = Annotated[float, Meta(ge=0)]
"""A duration that may be 0."""
Positive = Annotated[float, Meta(gt=0)]
AtLeastOne = Annotated[int, Meta(ge=1)]
LayoutM = Annotated[float, Meta(ge=-LAYOUT_MAX_M, le=LAYOUT_MAX_M)]
"""A coordinate or offset on the store plan (finite: msgspec refuses NaN and inf against bounds)."""
OFFSET_DB_MAX = 20.0
"""The largest scanner calibration offset a config may carry (dB, either way): a receiver's RSSI is to be accurate
to +-6 dB (Bluetooth Core, HCI_Read_RSSI), and an external antenna or attenuator may add some 12 dB more; beyond 20 dB
a value is a slip (a missing decimal point, a coordinate in the wrong key) that would move every reading of the
scanner out of its zones or into all of them, so it is refused with the key's name. ``edge calibrate --scanner``
writes at most its own, narrower CALIBRATE_OFFSET_MAX_DB."""
OffsetDb = Annotated[float, Meta(ge=-OFFSET_DB_MAX, le=OFFSET_DB_MAX)]
"""A scanner's calibration offset, added to every reading it reports (finite, within +-OFFSET_DB_MAX)."""
ThresholdDbm = Annotated[float, Meta(ge=-127, le=20)]
"""A zone's RSSI threshold: within what a BLE controller reports (HCI, -127..+20 dBm); beyond it (or NaN) no
reading could ever cross it, so it is refused with the key's name instead of silently never firing."""
Rect = tuple[float, float, float, float]


def check_rect(rect: Rect, key: str) -> None:
    """A rectangle of a camera frame (``[x, y, width, height]`` as fractions) that lies inside it."""
    x, y, w, h = rect
    if not (0.0 <= x < 1.0 and 0.0 <= y < 1.0 and w > 0.0 and h > 0.0 and x + w <= 1.0 and y + h <= 1.0):
        raise InvalidConfigError(key, "must be [x, y, width, height] fractions of the frame, inside 0..1")


def unique(ids: Iterable[str], key: str, what: str = "id") -> None:
    """``key`` is formatted with the index of the first repeated id."""
    seen: set[str] = set()
    for index, value in enumerate(ids):
        if value in seen:
            raise InvalidConfigError(key.format(index), f"duplicate {what} {value!r}")
        seen.add(value)
